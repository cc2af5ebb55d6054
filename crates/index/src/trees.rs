//! Tree sources: sampled top-down (prefix tree, merged over node groups), sampled inverted
//! (callers of leaves), pstats top-down and inverted (derived from edges, see
//! `docs/pstats-tree.md`).

use profview_model::{PstatsData, StackTable, NO_PARENT};

use crate::pgraph::{edge_ct, edge_tt, stats_of, PstatsView};
use crate::samples::SampleView;
use crate::slice::{Cand, Exactness, Source};
use crate::table::FunctionStats;

// ---------------------------------------------------------------- samples, top-down

/// Dense grouping scratch: function id → group index (reset after use).
pub(crate) struct Groups {
    slot: Vec<u32>,
    used: Vec<u32>,
}

impl Groups {
    pub fn new(nfuncs: usize) -> Self {
        Groups { slot: vec![u32::MAX; nfuncs], used: Vec::new() }
    }
    /// Group index of `f`, creating it (as the next index) when new.
    fn get(&mut self, f: u32) -> (usize, bool) {
        let s = &mut self.slot[f as usize];
        if *s == u32::MAX {
            *s = self.used.len() as u32;
            self.used.push(f);
            (*s as usize, true)
        } else {
            (*s as usize, false)
        }
    }
    fn funcs(&self) -> &[u32] {
        &self.used
    }
    fn reset(&mut self) {
        for &f in &self.used {
            self.slot[f as usize] = u32::MAX;
        }
        self.used.clear();
    }
}

/// State: the stack node a tree node stands for, the group of nodes (every outermost
/// occurrence of a function for the sandwich, merged), or the roots.
pub(crate) enum TdState {
    Roots,
    Node(u32),
    Nodes(Vec<u32>),
}

/// Which of `items` (|total|, function) at or above `cutoff` to keep when at most `limit` fit:
/// the biggest (ties: smaller function id). Returns a keep mask and whether any were clipped.
pub(crate) fn keep_top(items: &[(f64, u32)], cutoff: f64, limit: usize) -> (Vec<bool>, bool) {
    let mut keep: Vec<bool> = items.iter().map(|x| x.0 >= cutoff).collect();
    let big: Vec<usize> = (0..items.len()).filter(|&i| keep[i]).collect();
    if big.len() <= limit {
        return (keep, false);
    }
    let mut order = big;
    let cmp = |a: &usize, b: &usize| items[*b].0.total_cmp(&items[*a].0).then(items[*a].1.cmp(&items[*b].1));
    order.select_nth_unstable_by(limit, cmp);
    for &i in &order[limit..] {
        keep[i] = false;
    }
    (keep, true)
}

/// Children of a sampled tree node, made from `n` items grouped by function: `item(i)` gives
/// item `i`'s function, inclusive and own value, and what goes into its group's list (`None`:
/// the item has no child here). Groups at or above `cutoff` (at most `limit`, the biggest) become
/// candidates whose state `make` builds from their lists; narrower ones are summed into one
/// "other" candidate. Two passes over the items: sums, then lists of the kept groups only.
fn emit_groups<P, S>(
    groups: &mut Groups,
    n: usize,
    item: impl Fn(usize) -> Option<(u32, f64, f64, P)>,
    make: impl Fn(Vec<P>) -> S,
    (cutoff, limit): (f64, usize),
    clipped: &mut bool,
    out: &mut Vec<Cand<S>>,
) {
    // (total, own, items) per group, in first-seen order.
    let mut totals: Vec<(f64, f64, u32)> = Vec::new();
    for i in 0..n {
        let Some((f, total, own, _)) = item(i) else { continue };
        let (g, new) = groups.get(f);
        if new {
            totals.push((0.0, 0.0, 0));
        }
        let e = &mut totals[g];
        e.0 += total;
        e.1 += own;
        e.2 += 1;
    }
    let sizes: Vec<(f64, u32)> = totals.iter().zip(groups.funcs()).map(|(e, &f)| (e.0.abs(), f)).collect();
    let (keep, clip) = keep_top(&sizes, cutoff, limit);
    *clipped |= clip;
    let mut lists: Vec<Option<Vec<P>>> =
        totals.iter().zip(&keep).map(|(e, &k)| k.then(|| Vec::with_capacity(e.2 as usize))).collect();
    for i in 0..n {
        let Some((f, _, _, x)) = item(i) else { continue };
        let (g, _) = groups.get(f);
        if let Some(l) = lists[g].as_mut() {
            l.push(x);
        }
    }
    let mut small = Small::default();
    for (k, &f) in groups.funcs().iter().enumerate() {
        let (total, own, _) = totals[k];
        if total.abs() < cutoff {
            small.add_many(1, total, own, false);
        } else if let Some(l) = lists[k].take() {
            out.push(Cand::exact(f, total, own, Some(make(l))));
        }
    }
    if small.n > 0 {
        out.push(small.cand());
    }
    groups.reset();
}

pub(crate) struct SampleTopDown<'a> {
    pub v: &'a SampleView,
    pub t: &'a StackTable,
    pub groups: Groups,
}

impl SampleTopDown<'_> {
    /// Children of several nodes merged by function (`kids`: a flat child list; or, when
    /// `multi` is non-empty, the children of every node in `multi`).
    fn group(&mut self, kids: &[u32], multi: &[u32], cutoff: f64, limit: usize, clipped: &mut bool, out: &mut Vec<Cand<TdState>>) {
        // Every child once, with its weights and function: (node, inclusive, own), function.
        let mut all: Vec<(u32, f64, f64)> = Vec::new();
        if multi.is_empty() {
            all.extend(kids.iter().map(|&c| (c, self.v.incl(c as usize), self.v.own(c as usize))));
        } else {
            for &n in multi {
                self.v.kids_weighted(n, &mut all);
            }
        }
        let fk: Vec<u32> = all.iter().map(|k| self.t.func[k.0 as usize].0).collect();
        let make = |l: Vec<u32>| if l.len() == 1 { TdState::Node(l[0]) } else { TdState::Nodes(l) };
        emit_groups(&mut self.groups, all.len(), |i| Some((fk[i], all[i].1, all[i].2, all[i].0)), make, (cutoff, limit), clipped, out);
    }
}

impl Source for SampleTopDown<'_> {
    type S = TdState;
    fn children(
        &mut self,
        _node: &Cand<TdState>,
        state: &TdState,
        _path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        out: &mut Vec<Cand<TdState>>,
    ) -> f64 {
        match state {
            TdState::Roots => {
                let roots = &self.v.roots;
                self.group(roots, &[], cutoff, limit, clipped, out)
            }
            TdState::Node(n) => {
                // Children of one node are distinct functions already.
                let mut kids = Vec::new();
                self.v.kids_weighted(*n, &mut kids);
                let sizes: Vec<(f64, u32)> = kids.iter().map(|k| (k.1.abs(), self.t.func[k.0 as usize].0)).collect();
                let (keep, clip) = keep_top(&sizes, cutoff, limit);
                *clipped |= clip;
                let mut small = Small::default();
                for (i, &(c, total, own)) in kids.iter().enumerate() {
                    if total.abs() < cutoff {
                        small.add_many(1, total, own, false);
                    } else if keep[i] {
                        out.push(Cand::exact(sizes[i].1, total, own, Some(TdState::Node(c))));
                    }
                }
                if small.n > 0 {
                    out.push(small.cand());
                }
            }
            TdState::Nodes(ns) => self.group(&[], ns, cutoff, limit, clipped, out),
        }
        0.0
    }
}

/// Finds the node of a top-down path (function ids from a root frame).
pub(crate) fn sample_node_at(v: &SampleView, t: &StackTable, path: &[u32]) -> Option<u32> {
    let mut cur: Option<u32> = None;
    for &f in path {
        let n = match cur {
            None => {
                let k = v.roots.binary_search_by_key(&f, |&c| t.func[c as usize].0).ok()?;
                v.roots[k]
            }
            // Children come in function order.
            Some(p) => v.kids(p).find(|&c| t.func[c as usize].0 >= f).filter(|&c| t.func[c as usize].0 == f)?,
        };
        cur = Some(n);
    }
    cur
}

// ---------------------------------------------------------------- samples, inverted

/// One seed of an inverted node: the weight of a stack (`w`) and the parent of the frame this
/// tree node stands for in it (`par`, the next frame up; `NO_PARENT` at a root frame). The
/// frame itself is not needed: its function is the tree node's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seed {
    pub par: u32,
    pub w: f64,
}

impl Seed {
    pub fn at(t: &StackTable, cur: u32, w: f64) -> Seed {
        Seed { par: t.parent[cur as usize], w }
    }
}

/// State of an inverted node.
pub(crate) enum InvState {
    /// The synthetic root: every function with self weight.
    AllLeaves,
    /// Leaf level, not materialised yet: every node of `f` with self weight.
    Leaf(u32),
    /// Explicit seeds.
    Seeds(Vec<Seed>),
}

pub(crate) struct SampleInverted<'a> {
    pub v: &'a SampleView,
    pub t: &'a StackTable,
    pub stats: &'a [FunctionStats],
    pub groups: Groups,
}

/// Seeds per thread below which a step stays on one thread.
const PAR_SEEDS: usize = 1 << 16;

/// For each seed, the function of its parent frame and the grandparent (`NO_PARENT` when the
/// cursor is a root frame: then the function is meaningless). Only independent loads, so
/// the cache misses of many seeds overlap; split over two threads for big sets.
fn gather(t: &StackTable, seeds: &[Seed], out: &mut [(u32, u32)]) {
    fn run(t: &StackTable, seeds: &[Seed], out: &mut [(u32, u32)]) {
        for (o, s) in out.iter_mut().zip(seeds) {
            *o = if s.par == NO_PARENT { (0, NO_PARENT) } else { (t.func[s.par as usize].0, t.parent[s.par as usize]) };
        }
    }
    if seeds.len() < 2 * PAR_SEEDS {
        return run(t, seeds, out);
    }
    let mid = seeds.len() / 2;
    let (sa, sb) = seeds.split_at(mid);
    let (oa, ob) = out.split_at_mut(mid);
    crate::par::join2(|| run(t, sa, oa), || run(t, sb, ob));
}

impl SampleInverted<'_> {
    pub fn leaf_seeds(&self, f: u32) -> Vec<Seed> {
        self.v.leaves(self.t).slice(f as usize).iter().map(|&n| Seed::at(self.t, n, self.v.own(n as usize))).collect()
    }
    /// Children of a seed set: group by the function of each cursor's parent.
    pub fn step(&mut self, seeds: &[Seed], cutoff: f64, limit: usize, clipped: &mut bool, out: &mut Vec<Cand<InvState>>) {
        let mut up = vec![(0u32, 0u32); seeds.len()];
        gather(self.t, seeds, &mut up);
        // A seed whose cursor is a root frame has no parent to go to; one whose new cursor is a
        // root frame counts as own value there.
        let item = |i: usize| {
            let (s, (f, gp)) = (seeds[i], up[i]);
            (s.par != NO_PARENT).then_some((f, s.w, if gp == NO_PARENT { s.w } else { 0.0 }, Seed { par: gp, w: s.w }))
        };
        emit_groups(&mut self.groups, seeds.len(), item, InvState::Seeds, (cutoff, limit), clipped, out);
    }
    /// Self value of the leaf-level node of `f`: its self weight at root frames.
    fn leaf_root_self(&self, f: u32) -> f64 {
        // Roots are sorted by function.
        let r = &self.v.roots;
        let lo = r.partition_point(|&n| self.t.func[n as usize].0 < f);
        r[lo..].iter().take_while(|&&n| self.t.func[n as usize].0 == f).map(|&n| self.v.own(n as usize)).sum()
    }
}

impl Source for SampleInverted<'_> {
    type S = InvState;
    fn children(
        &mut self,
        _node: &Cand<InvState>,
        state: &InvState,
        _path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        out: &mut Vec<Cand<InvState>>,
    ) -> f64 {
        match state {
            InvState::AllLeaves => {
                let mut small = Small::default();
                for (f, s) in self.stats.iter().enumerate() {
                    let w = s.self_weight.unwrap_or(0.0);
                    if w != 0.0 {
                        let f = f as u32;
                        let c = Cand::exact(f, w, self.leaf_root_self(f), Some(InvState::Leaf(f)));
                        if w.abs() < cutoff {
                            small.add(&c);
                        } else {
                            out.push(c);
                        }
                    }
                }
                if small.n > 0 {
                    out.push(small.cand());
                }
            }
            InvState::Leaf(f) => {
                let seeds = self.leaf_seeds(*f);
                self.step(&seeds, cutoff, limit, clipped, out);
            }
            InvState::Seeds(s) => self.step(s, cutoff, limit, clipped, out),
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
            exactness: Exactness::of(cut, exact),
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
            exactness: Exactness::of(cut, exact),
            min: Some(min),
            max: Some(max),
            merged: 0,
            state: (!cut).then_some(PState { func: c, full: exact, level: st.level + 1 }),
        }
    }

    /// Children of a node; the node's own candidate is needed for its value and bounds.
    /// Children narrower than `cutoff` are summed into `small`.
    #[allow(clippy::too_many_arguments)]
    pub fn expand(
        &self,
        n: &Cand<PState>,
        st: &PState,
        path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        small: &mut Small,
        out: &mut Vec<Cand<PState>>,
    ) -> f64 {
        let depth = path.len().saturating_sub(self.path_offset);
        let mut folded = 0.0;
        let fold_below = self.v.threshold.map(|t| self.grand_total.abs() * t / 100.0);
        let too_deep = self.v.depth_limit.is_some_and(|d| depth >= d as usize);
        let g = st.func as usize;
        if self.inverted && st.level == 1 {
            // Leaf level → callers: measured own times, not proportional to the sorted cumtimes.
            for &k in self.v.callers.slice(g) {
                let c = self.inv_child(n, st, k, path);
                if too_deep || fold_below.is_some_and(|cut| c.total.abs() < cut) {
                    continue;
                }
                if c.total.abs() < cutoff {
                    small.add(&c);
                } else {
                    out.push(c);
                }
            }
            return 0.0;
        }
        // Children are proportional to the edge cumtime: walk the row largest first and sum the
        // narrow tail from the suffix sums.
        let ctg = self.ct(st.func);
        let scale = if self.inverted {
            if ctg > 0.0 {
                n.total / ctg
            } else {
                0.0
            }
        } else if st.full {
            1.0
        } else if ctg > 0.0 {
            (n.total / ctg).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (row, sfx) = if self.inverted {
            (self.v.callers_by_ct.slice(g), self.v.callers_sfx.slice(g))
        } else {
            (self.v.callees_by_ct.slice(g), self.v.callees_sfx.slice(g))
        };
        if too_deep {
            if !self.inverted {
                folded += scale * sfx.first().map_or(0.0, |s| s.0);
            }
            return folded;
        }
        let lo = cutoff.min(fold_below.unwrap_or(f64::INFINITY));
        // Children at or above both thresholds are emitted as nodes; only `limit` more fit in the
        // budget and the row is sorted, so the rest of that region is skipped (binary search).
        let hi = cutoff.max(fold_below.unwrap_or(0.0));
        let key = |k: u32| {
            let e = edge_ct(self.d, &self.v.caller_nc, &self.d.edges[k as usize]).0;
            scale * if self.inverted { e.min(ctg.max(0.0)) } else { e }
        };
        let big_end = if hi > 0.0 { row.partition_point(|&k| key(k) >= hi) } else { row.len() };
        let mut pushed = 0usize;
        let mut j0 = 0usize;
        while j0 < big_end && pushed < limit {
            let k = row[j0];
            let c = if self.inverted { self.inv_child(n, st, k, path) } else { self.td_child(n, st, k, path) };
            if c.total.abs() < lo {
                break;
            }
            if fold_below.is_some_and(|cut| c.total.abs() < cut) {
                if !self.inverted {
                    folded += c.total;
                }
            } else if c.total.abs() < cutoff {
                small.add(&c);
            } else {
                out.push(c);
                pushed += 1;
            }
            j0 += 1;
        }
        if pushed >= limit && j0 < big_end {
            // Out of budget: the rest of the big region cannot be emitted.
            *clipped = true;
            j0 = big_end;
        }
        for (j, &k) in row.iter().enumerate().skip(j0) {
            let c = if self.inverted { self.inv_child(n, st, k, path) } else { self.td_child(n, st, k, path) };
            if c.total.abs() < lo {
                let (tail_total, tail_own) = (scale * sfx[j].0, scale * sfx[j].1);
                if fold_below.is_some() {
                    if !self.inverted {
                        folded += tail_total;
                    }
                } else {
                    small.add_many((row.len() - j) as u32, tail_total, tail_own, !st.full || self.inverted);
                }
                break;
            }
            if fold_below.is_some_and(|cut| c.total.abs() < cut) {
                if !self.inverted {
                    folded += c.total;
                }
                continue;
            }
            if c.total.abs() < cutoff {
                small.add(&c);
            } else {
                out.push(c);
            }
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

/// The pstats source state: the synthetic root, or a node (its numbers are in the candidate).
pub(crate) enum PNode {
    Root,
    Node(PState),
}

/// Converts a pstats candidate into a slicer candidate.
pub(crate) fn wrap(c: Cand<PState>) -> Cand<PNode> {
    Cand {
        func: c.func,
        total: c.total,
        self_value: c.self_value,
        calls: c.calls,
        exactness: c.exactness,
        min: c.min,
        max: c.max,
        merged: c.merged,
        state: c.state.map(PNode::Node),
    }
}

impl Source for PstatsTree<'_> {
    type S = PNode;
    fn children(
        &mut self,
        node: &Cand<PNode>,
        state: &PNode,
        path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        out: &mut Vec<Cand<PNode>>,
    ) -> f64 {
        let mut tmp: Vec<Cand<PState>> = Vec::new();
        let mut small = Small::default();
        let folded = match state {
            PNode::Root => {
                for f in self.top_level() {
                    let c = self.top(f);
                    if c.total.abs() < cutoff {
                        small.add(&c);
                    } else {
                        tmp.push(c);
                    }
                }
                0.0
            }
            PNode::Node(st) => {
                let me = Cand {
                    func: node.func,
                    total: node.total,
                    self_value: node.self_value,
                    calls: node.calls,
                    exactness: node.exactness,
                    min: node.min,
                    max: node.max,
                    merged: 0,
                    state: Some(*st),
                };
                self.expand(&me, st, path, cutoff, limit, clipped, &mut small, &mut tmp)
            }
        };
        // Parallel edges (same neighbour twice, from merged files) are merged into one child.
        if tmp.windows(2).any(|w| w[0].func >= w[1].func) {
            tmp.sort_by_key(|c| c.func);
        }
        let mut last_func = None;
        for c in tmp {
            if last_func == c.func {
                if let Some(last) = out.last_mut() {
                    last.total += c.total;
                    last.self_value += c.self_value;
                    last.calls = Some(last.calls.unwrap_or(0.0) + c.calls.unwrap_or(0.0));
                    last.min = Some(last.min.unwrap_or(0.0) + c.min.unwrap_or(0.0));
                    last.max = Some(last.max.unwrap_or(0.0) + c.max.unwrap_or(0.0));
                    continue;
                }
            }
            last_func = c.func;
            out.push(wrap(c));
        }
        if small.n > 0 {
            out.push(small.cand());
        }
        folded
    }
}

/// Narrow children summed by the source (handed to the slicer as one pre-merged "other").
#[derive(Default)]
pub(crate) struct Small {
    n: u32,
    total: f64,
    own: f64,
    estimated: bool,
}

impl Small {
    pub fn add<S>(&mut self, c: &Cand<S>) {
        self.n += 1;
        self.total += c.total;
        self.own += c.self_value;
        self.estimated |= c.exactness != Exactness::Exact;
    }
    pub fn add_many(&mut self, n: u32, total: f64, own: f64, estimated: bool) {
        self.n += n;
        self.total += total;
        self.own += own;
        self.estimated |= estimated;
    }
    pub fn cand<S>(&self) -> Cand<S> {
        Cand {
            func: None,
            total: self.total,
            self_value: self.own,
            calls: None,
            exactness: if self.estimated { Exactness::Estimated } else { Exactness::Exact },
            min: None,
            max: None,
            merged: self.n,
            state: None,
        }
    }
}
