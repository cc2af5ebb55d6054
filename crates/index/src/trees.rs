//! Tree sources: sampled top-down (prefix tree, merged over node groups), sampled inverted
//! (callers of leaves), pstats top-down and inverted (derived from edges, see
//! `docs/pstats-tree.md`).

use profview_model::{PstatsData, StackTable, NO_PARENT};
use rustc_hash::FxHashMap;

use crate::pgraph::{edge_ct, edge_tt, stats_of, PstatsView};
use crate::samples::SampleView;
use crate::slice::{Cand, Exactness, Source};
use crate::table::FunctionStats;

// ---------------------------------------------------------------- samples, top-down

/// State: the group of stack nodes a tree node stands for (one node, or every outermost
/// occurrence of a function for the sandwich), or the roots.
pub(crate) enum TdState {
    Roots,
    Nodes(Vec<u32>),
}

pub(crate) struct SampleTopDown<'a> {
    pub v: &'a SampleView,
    pub t: &'a StackTable,
}

impl SampleTopDown<'_> {
    fn group(&self, kids: &mut dyn Iterator<Item = u32>, out: &mut Vec<Cand<TdState>>) {
        let mut groups: FxHashMap<u32, usize> = FxHashMap::default();
        let mut lists: Vec<(u32, Vec<u32>)> = Vec::new();
        for c in kids {
            let f = self.t.func[c as usize].0;
            match groups.get(&f) {
                Some(&g) => lists[g].1.push(c),
                None => {
                    groups.insert(f, lists.len());
                    lists.push((f, vec![c]));
                }
            }
        }
        for (f, nodes) in lists {
            let total = nodes.iter().map(|&n| self.v.incl[n as usize]).sum();
            let own = nodes.iter().map(|&n| self.v.at[n as usize]).sum();
            out.push(Cand::exact(f, total, own, Some(TdState::Nodes(nodes))));
        }
    }
}

impl Source for SampleTopDown<'_> {
    type S = TdState;
    fn children(&mut self, state: &TdState, _path: &[u32], out: &mut Vec<Cand<TdState>>) -> f64 {
        match state {
            TdState::Roots => self.group(&mut self.v.roots.iter().copied(), out),
            TdState::Nodes(ns) if ns.len() == 1 => {
                for &c in self.v.children.slice(ns[0] as usize) {
                    let f = self.t.func[c as usize].0;
                    out.push(Cand::exact(f, self.v.incl[c as usize], self.v.at[c as usize], Some(TdState::Nodes(vec![c]))));
                }
            }
            TdState::Nodes(ns) => {
                let mut it = ns.iter().flat_map(|&n| self.v.children.slice(n as usize).iter().copied());
                self.group(&mut it, out)
            }
        }
        0.0
    }
}

/// Finds the node of a top-down path (function ids from a root frame).
pub(crate) fn sample_node_at(v: &SampleView, t: &StackTable, path: &[u32]) -> Option<u32> {
    let mut level: &[u32] = &v.roots;
    let mut cur = None;
    for &f in path {
        let k = level.binary_search_by_key(&f, |&c| t.func[c as usize].0).ok()?;
        let n = level[k];
        cur = Some(n);
        level = v.children.slice(n as usize);
    }
    cur
}

// ---------------------------------------------------------------- samples, inverted

/// State of an inverted node: seeds (a stack node whose weight counts, and the cursor: the frame
/// this tree node stands for, walking up towards the root).
pub(crate) enum InvState {
    /// The synthetic root: every function with self weight.
    AllLeaves,
    /// Leaf level, not materialised yet: every node of `f` with self weight.
    Leaf(u32),
    /// Explicit (cursor, weight) pairs.
    Seeds(Vec<(u32, f64)>),
}

pub(crate) struct SampleInverted<'a> {
    pub v: &'a SampleView,
    pub t: &'a StackTable,
    pub stats: &'a [FunctionStats],
}

impl SampleInverted<'_> {
    pub fn leaf_seeds(&self, f: u32) -> Vec<(u32, f64)> {
        self.v
            .by_func
            .slice(f as usize)
            .iter()
            .filter(|&&n| self.v.at[n as usize] != 0.0)
            .map(|&n| (n, self.v.at[n as usize]))
            .collect()
    }
    /// Children of a seed set: group by the function of each cursor's parent.
    pub fn step(&self, seeds: &[(u32, f64)], out: &mut Vec<Cand<InvState>>) {
        let mut groups: FxHashMap<u32, usize> = FxHashMap::default();
        let mut lists: Vec<(u32, f64, f64, Vec<(u32, f64)>)> = Vec::new();
        for &(cur, w) in seeds {
            let p = self.t.parent[cur as usize];
            if p == NO_PARENT {
                continue;
            }
            let f = self.t.func[p as usize].0;
            let top = self.t.parent[p as usize] == NO_PARENT;
            let g = match groups.get(&f) {
                Some(&g) => g,
                None => {
                    groups.insert(f, lists.len());
                    lists.push((f, 0.0, 0.0, Vec::new()));
                    lists.len() - 1
                }
            };
            let e = &mut lists[g];
            e.1 += w;
            if top {
                e.2 += w;
            }
            e.3.push((p, w));
        }
        for (f, total, own, s) in lists {
            out.push(Cand::exact(f, total, own, Some(InvState::Seeds(s))));
        }
    }
    /// Self value of the leaf-level node of `f`: its self weight at root frames.
    fn leaf_root_self(&self, f: u32) -> f64 {
        // Roots are sorted by function.
        let r = &self.v.roots;
        let lo = r.partition_point(|&n| self.t.func[n as usize].0 < f);
        r[lo..].iter().take_while(|&&n| self.t.func[n as usize].0 == f).map(|&n| self.v.at[n as usize]).sum()
    }
}

impl Source for SampleInverted<'_> {
    type S = InvState;
    fn children(&mut self, state: &InvState, _path: &[u32], out: &mut Vec<Cand<InvState>>) -> f64 {
        match state {
            InvState::AllLeaves => {
                for (f, s) in self.stats.iter().enumerate() {
                    let w = s.self_weight.unwrap_or(0.0);
                    if w != 0.0 {
                        let f = f as u32;
                        out.push(Cand::exact(f, w, self.leaf_root_self(f), Some(InvState::Leaf(f))));
                    }
                }
            }
            InvState::Leaf(f) => {
                let seeds = self.leaf_seeds(*f);
                self.step(&seeds, out);
            }
            InvState::Seeds(s) => self.step(s, out),
        }
        0.0
    }
}

// ---------------------------------------------------------------- pstats

/// State of a pstats node: its function and whether its value is the function's whole cumtime
/// (top-down) / whether the split below it is still measured (inverted).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PState {
    pub func: u32,
    /// Top-down: the node's value is all of `func`'s time. Inverted: the node is exact.
    pub full: bool,
    /// Tree level (1 = top-level function / inverted leaf level).
    pub level: u32,
}

/// Which metric an inverted pstats tree starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InvMetric {
    /// `mode=inverted`: own time at the leaves.
    SelfTime,
    /// Sandwich callers: cumulative time of the selected function.
    CumTime,
}

pub(crate) struct PstatsTree<'a> {
    pub v: &'a PstatsView,
    pub d: &'a PstatsData,
    pub grand_total: f64,
    /// Top-down (callees) or inverted (callers).
    pub inverted: bool,
    pub metric: InvMetric,
    /// Depth at which the first level sits in paths (for `d:`): the number of path entries above
    /// this tree's top level (0 for mode trees).
    pub path_offset: usize,
}

impl PstatsTree<'_> {
    fn ct(&self, f: u32) -> f64 {
        stats_of(self.d, f).map_or(0.0, |s| s.cumtime)
    }
    fn tt(&self, f: u32) -> f64 {
        stats_of(self.d, f).map_or(0.0, |s| s.tottime)
    }
    fn nc(&self, f: u32) -> u64 {
        stats_of(self.d, f).map_or(0, |s| s.ncalls)
    }
    /// Part of a function's cumtime not explained by its callers (1 - covered fraction).
    fn uncovered(&self, f: u32) -> f64 {
        let ct = self.ct(f);
        if ct <= 0.0 {
            return if self.v.ncallers[f as usize] == 0 { 1.0 } else { 0.0 };
        }
        (1.0 - self.v.caller_ct[f as usize] / ct).clamp(0.0, 1.0)
    }

    /// A top-level node: the function's whole cumtime (top-down) or own time / cumtime (inverted).
    pub fn top(&self, f: u32) -> Cand<PState> {
        let s = stats_of(self.d, f);
        let (total, own) = if !self.inverted {
            (self.ct(f), self.tt(f))
        } else {
            match self.metric {
                InvMetric::SelfTime => {
                    let tt = self.tt(f);
                    (tt, (tt - self.v.caller_tt[f as usize]).max(0.0))
                }
                InvMetric::CumTime => {
                    let ct = self.ct(f);
                    (ct, ct * self.uncovered(f))
                }
            }
        };
        Cand {
            func: Some(f),
            total,
            self_value: own,
            calls: s.map(|s| s.ncalls as f64),
            exactness: Exactness::Exact,
            min: Some(total),
            max: Some(total),
            merged: 0,
            state: Some(PState { func: f, full: true, level: 1 }),
        }
    }

    /// Top-down child of node `n` (function `g`) along edge `k`.
    fn td_child(&self, n: &Cand<PState>, st: &PState, k: u32, path: &[u32]) -> Cand<PState> {
        let e = &self.d.edges[k as usize];
        let g = st.func;
        let h = e.callee.0;
        let (ect, m1) = edge_ct(self.d, &self.v.caller_nc, e);
        let (ett, m2) = edge_tt(self.d, &self.v.caller_nc, e);
        let measured = m1 && m2;
        let ctg = self.ct(g);
        let phi = if st.full {
            1.0
        } else if ctg > 0.0 {
            (n.total / ctg).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let ncg = self.nc(g);
        let psi = match n.calls {
            Some(c) if ncg > 0 => (c / ncg as f64).clamp(0.0, 1.0),
            _ => phi,
        };
        let total = ect * phi;
        let cut = path.contains(&h);
        let exact = st.full && measured && !cut;
        let (min, max) = if exact {
            (total, total)
        } else {
            let pmax = n.max.unwrap_or(f64::INFINITY);
            let pmin = n.min.unwrap_or(0.0);
            let max = ect.min(pmax).max(total);
            let min = if measured { (ect - (ctg - pmin)).max(0.0).min(total) } else { 0.0 };
            (min, max)
        };
        let full = exact && self.v.ncallers[h as usize] == 1;
        Cand {
            func: Some(h),
            total,
            self_value: ett * phi,
            calls: Some(e.ncalls as f64 * psi),
            exactness: if cut {
                Exactness::Cut
            } else if exact {
                Exactness::Exact
            } else {
                Exactness::Estimated
            },
            min: Some(min),
            max: Some(max),
            merged: 0,
            state: (!cut).then_some(PState { func: h, full, level: st.level + 1 }),
        }
    }

    /// Inverted child of node `n` (function `g`) along caller edge `k`.
    fn inv_child(&self, n: &Cand<PState>, st: &PState, k: u32, path: &[u32]) -> Cand<PState> {
        let e = &self.d.edges[k as usize];
        let g = st.func;
        let c = e.caller.0;
        let (ect, mct) = edge_ct(self.d, &self.v.caller_nc, e);
        let cut = path.contains(&c);
        let (total, calls, exact, min, max);
        if st.level == 1 {
            let (v, m) = match self.metric {
                InvMetric::SelfTime => edge_tt(self.d, &self.v.caller_nc, e),
                InvMetric::CumTime => (ect, mct),
            };
            total = v;
            calls = e.ncalls as f64;
            exact = m && !cut;
            min = if m { v } else { 0.0 };
            max = if m { v } else { n.max.unwrap_or(f64::INFINITY).min(ect).max(v) };
        } else {
            let ctg = self.ct(g);
            let ratio = if ctg > 0.0 { (ect / ctg).clamp(0.0, 1.0) } else { 0.0 };
            total = n.total * ratio;
            let ncg = self.nc(g);
            calls = n.calls.unwrap_or(0.0) * if ncg > 0 { e.ncalls as f64 / ncg as f64 } else { ratio };
            exact = st.full && mct && self.v.ncallers[g as usize] == 1 && !cut;
            if exact {
                min = total;
                max = total;
            } else {
                max = n.max.unwrap_or(f64::INFINITY).min(ect).max(total);
                min = if mct { (n.min.unwrap_or(0.0) - (ctg - ect)).max(0.0).min(total) } else { 0.0 };
            }
        }
        Cand {
            func: Some(c),
            total,
            self_value: total * self.uncovered(c),
            calls: Some(calls),
            exactness: if cut {
                Exactness::Cut
            } else if exact {
                Exactness::Exact
            } else {
                Exactness::Estimated
            },
            min: Some(min),
            max: Some(max),
            merged: 0,
            state: (!cut).then_some(PState { func: c, full: exact, level: st.level + 1 }),
        }
    }

    /// Children of a node; the node's own candidate is needed for its value and bounds.
    pub fn expand(&self, n: &Cand<PState>, st: &PState, path: &[u32], out: &mut Vec<Cand<PState>>) -> f64 {
        let depth = path.len().saturating_sub(self.path_offset);
        let mut folded = 0.0;
        let cutoff = self.v.threshold.map(|t| self.grand_total.abs() * t / 100.0);
        let too_deep = self.v.depth_limit.is_some_and(|d| depth >= d as usize);
        let row = if self.inverted { self.v.callers.slice(st.func as usize) } else { self.v.callees.slice(st.func as usize) };
        for &k in row {
            let c = if self.inverted { self.inv_child(n, st, k, path) } else { self.td_child(n, st, k, path) };
            if too_deep || cutoff.is_some_and(|cut| c.total.abs() < cut) {
                if !self.inverted {
                    folded += c.total;
                }
                continue;
            }
            out.push(c);
        }
        folded
    }

    /// The top-level functions of this tree (synthetic root's children).
    pub fn top_level(&self) -> Vec<u32> {
        if let Some(f) = self.v.focus {
            return vec![f];
        }
        if self.inverted {
            (0..self.d.stats.len() as u32).filter(|&f| stats_of(self.d, f).is_some_and(|s| s.tottime != 0.0)).collect()
        } else {
            self.v.roots.clone()
        }
    }

    /// Resolves a path (top-level function first) to a candidate.
    pub fn resolve(&self, path: &[u32]) -> Result<Cand<PState>, String> {
        let Some((&first, rest)) = path.split_first() else { return Err("empty path".into()) };
        if !self.top_level_contains(first) {
            return Err(format!("function {first} is not at the top level of this tree"));
        }
        let mut cur = self.top(first);
        for (i, &f) in rest.iter().enumerate() {
            let Some(st) = cur.state else {
                return Err(format!("the path goes through a cut recursion at function {}", path[i]));
            };
            let row = if self.inverted { self.v.callers.slice(st.func as usize) } else { self.v.callees.slice(st.func as usize) };
            let other = |k: &u32| {
                let e = &self.d.edges[*k as usize];
                if self.inverted {
                    e.caller.0
                } else {
                    e.callee.0
                }
            };
            let lo = row.partition_point(|k| other(k) < f);
            let Some(&k) = row.get(lo).filter(|k| other(k) == f) else {
                return Err(format!("function {f} is not a {} of function {}", if self.inverted { "caller" } else { "callee" }, st.func));
            };
            let prefix = &path[..=i];
            let mut next = if self.inverted { self.inv_child(&cur, &st, k, prefix) } else { self.td_child(&cur, &st, k, prefix) };
            // Parallel edges (merged files) are summed.
            for &k2 in &row[lo + 1..] {
                if other(&k2) != f {
                    break;
                }
                let more = if self.inverted { self.inv_child(&cur, &st, k2, prefix) } else { self.td_child(&cur, &st, k2, prefix) };
                next.total += more.total;
                next.self_value += more.self_value;
                next.calls = Some(next.calls.unwrap_or(0.0) + more.calls.unwrap_or(0.0));
                next.min = Some(next.min.unwrap_or(0.0) + more.min.unwrap_or(0.0));
                next.max = Some(next.max.unwrap_or(0.0) + more.max.unwrap_or(0.0));
            }
            cur = next;
        }
        Ok(cur)
    }

    fn top_level_contains(&self, f: u32) -> bool {
        if let Some(x) = self.v.focus {
            return x == f;
        }
        if self.inverted {
            stats_of(self.d, f).is_some()
        } else {
            self.v.roots.binary_search(&f).is_ok()
        }
    }
}

/// The pstats source state: the synthetic root, or a node with its own candidate numbers.
pub(crate) enum PNode {
    Root,
    Node(Box<Cand<PState>>),
}

impl Source for PstatsTree<'_> {
    type S = PNode;
    fn children(&mut self, state: &PNode, path: &[u32], out: &mut Vec<Cand<PNode>>) -> f64 {
        let mut tmp: Vec<Cand<PState>> = Vec::new();
        let folded = match state {
            PNode::Root => {
                for f in self.top_level() {
                    tmp.push(self.top(f));
                }
                0.0
            }
            PNode::Node(c) => match &c.state {
                Some(st) => self.expand(c, st, path, &mut tmp),
                None => 0.0,
            },
        };
        // Parallel edges (same neighbour twice) are merged into one child.
        tmp.sort_by_key(|c| c.func);
        let mut merged: Vec<Cand<PState>> = Vec::with_capacity(tmp.len());
        for c in tmp {
            if let Some(last) = merged.last_mut() {
                if last.func == c.func {
                    last.total += c.total;
                    last.self_value += c.self_value;
                    last.calls = Some(last.calls.unwrap_or(0.0) + c.calls.unwrap_or(0.0));
                    last.min = Some(last.min.unwrap_or(0.0) + c.min.unwrap_or(0.0));
                    last.max = Some(last.max.unwrap_or(0.0) + c.max.unwrap_or(0.0));
                    continue;
                }
            }
            merged.push(c);
        }
        for c in merged {
            let expandable = c.state.is_some();
            let node = Cand {
                func: c.func,
                total: c.total,
                self_value: c.self_value,
                calls: c.calls,
                exactness: c.exactness,
                min: c.min,
                max: c.max,
                merged: 0,
                state: None,
            };
            let boxed = Box::new(c);
            out.push(Cand { state: expandable.then_some(PNode::Node(boxed)), ..node });
        }
        folded
    }
}
