//! Builds a [`SampleView`] from a table and its self weights: inclusive weights, children,
//! outermost occurrences, per-function stats and caller→callee weights, by a walk over the CSR
//! children (any weights) or, for whole weights, one pass over a pre-order table.

use profview_model::{Profile, StackTable, NO_PARENT};
use rustc_hash::FxHashMap;

use super::preorder::{ends_of, is_preorder, to_preorder, PRE_MAX};
use super::profile_table;
use super::view::{EdgeRows, Ends, SampleView, Shape, Weights};
use super::weights::{inclusive_sparse, whole_u32, Incl, SelfWeights};
use crate::par::join2;
use crate::table::FunctionStats;
use crate::Csr;

/// Views with more functions keep [`derive`] (a (caller, callee) pair must fit in a `u32` key).
const PAIR_FUNCS_MAX: usize = 65_535;

/// Whole weights on a table below 2^31 nodes go to [`derive_pre`] (the table put in pre-order
/// first when it is not), any other to [`derive`]. `base_pre`: the profile's own table (used
/// when `table` is `None`) is known to be in pre-order.
pub(super) fn finish_view(p: &Profile, table: Option<StackTable>, w: SelfWeights, root_self: f64, nfuncs: usize, base_pre: bool) -> (SampleView, Vec<FunctionStats>) {
    let base_table = profile_table(p);
    let n = table.as_ref().unwrap_or(base_table).len();
    if n >= PRE_MAX || nfuncs > PAIR_FUNCS_MAX || !whole_u32(&w) {
        return derive(p, table, w, root_self, nfuncs);
    }
    let known = table.is_none() && base_pre;
    let (table, perm) = if known || is_preorder(table.as_ref().unwrap_or(base_table)) {
        (table, None)
    } else {
        let mut t = table.unwrap_or_else(|| base_table.clone());
        let perm = to_preorder(&mut t);
        (Some(t), perm)
    };
    let ends = ends_of(table.as_ref().unwrap_or(base_table));
    // Self weights as u32 at k + 1, then the prefix sum in place.
    let mut pre = vec![0u32; n + 1];
    for (i, v) in w.iter() {
        let k = perm.as_ref().map_or(i, |pm| pm[i] as usize);
        pre[k + 1] = v as u32;
    }
    drop(perm);
    drop(w);
    for k in 1..=n {
        pre[k] += pre[k - 1];
    }
    derive_pre(p, table, ends, pre, root_self, nfuncs)
}

/// Children per node sorted by function id, and the roots sorted by function id.
fn children_of(t: &StackTable) -> (Csr<u32>, Vec<u32>) {
    let n = t.len();
    let mut roots = Vec::new();
    // off[p + 2] counts p's children; after the prefix sum off[p + 1] is the start of row p and
    // serves as its fill cursor, ending at the start of row p + 1.
    let mut off = vec![0u32; n + 2];
    for i in 0..n {
        let par = t.parent[i];
        if par == NO_PARENT {
            roots.push(i as u32);
        } else {
            off[par as usize + 2] += 1;
        }
    }
    for k in 2..n + 2 {
        off[k] += off[k - 1];
    }
    let mut items = vec![0u32; n - roots.len()];
    for i in 0..n {
        let par = t.parent[i];
        if par != NO_PARENT {
            let c = &mut off[par as usize + 1];
            items[*c as usize] = i as u32;
            *c += 1;
        }
    }
    off.pop();
    let mut children = Csr::from_parts(off, items);
    for k in 0..n {
        let row = children.slice_mut(k);
        if row.len() > 1 {
            row.sort_unstable_by_key(|&c| t.func[c as usize]);
        }
    }
    roots.sort_unstable_by_key(|&c| t.func[c as usize]);
    (children, roots)
}


fn derive(p: &Profile, table: Option<StackTable>, at: SelfWeights, root_self: f64, nfuncs: usize) -> (SampleView, Vec<FunctionStats>) {
    let base_table = profile_table(p);
    let t = table.as_ref().unwrap_or(base_table);
    let n = t.len();
    let big = n >= 1 << 16;
    let whole = whole_u32(&at);
    let ((incl, leaves), (children, roots)) = if big {
        join2(|| (inclusive_sparse(t, &at, whole), leaves_of(t, &at, nfuncs)), || children_of(t))
    } else {
        ((inclusive_sparse(t, &at, whole), leaves_of(t, &at, nfuncs)), children_of(t))
    };
    let total = at.iter().map(|x| x.1).fold(0.0, |a, b| a + b) + root_self;

    // Depth-first walk: outermost occurrence per function and per (caller, callee) pair. With
    // f64 weights the edge weights are summed here, in walk order; with whole weights any order
    // gives the same sums, so they are summed afterwards in node order (on two threads).
    let mut outer = vec![0u64; n.div_ceil(64)];
    let mut first = if whole { vec![0u64; n.div_ceil(64)] } else { Vec::new() };
    let mut on_path = vec![0u32; nfuncs];
    let mut edge_w: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let mut stack: Vec<(u32, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((node, leaving)) = stack.pop() {
        let i = node as usize;
        let f = t.func[i].0;
        if leaving {
            on_path[f as usize] -= 1;
            continue;
        }
        let recursive = on_path[f as usize] > 0;
        if !recursive {
            outer[i >> 6] |= 1 << (i & 63);
        }
        let par = t.parent[i];
        if par != NO_PARENT {
            let pf = t.func[par as usize].0;
            // A (caller, callee) pair counts once per stack: only its outermost occurrence. It can
            // only repeat when the callee is already on the path; then look for it above.
            let mut first_pair = true;
            if recursive {
                let mut a = par;
                while a != NO_PARENT {
                    let b = t.parent[a as usize];
                    if b != NO_PARENT && t.func[a as usize].0 == f && t.func[b as usize].0 == pf {
                        first_pair = false;
                        break;
                    }
                    a = b;
                }
            }
            if first_pair {
                if whole {
                    first[i >> 6] |= 1 << (i & 63);
                } else {
                    *edge_w.entry((pf, f)).or_insert(0.0) += incl.get(i);
                }
            }
        }
        on_path[f as usize] += 1;
        stack.push((node, true));
        for &c in children.slice(i).iter().rev() {
            stack.push((c, false));
        }
    }
    drop(on_path);
    drop(stack);

    let stats_of = || {
        let mut stats = vec![FunctionStats::default(); nfuncs];
        let mut hits = at.iter().peekable();
        for i in 0..n {
            let o = &mut stats[t.func[i].idx()];
            o.listed = true;
            let s = o.self_weight.get_or_insert(0.0);
            if hits.peek().is_some_and(|h| h.0 == i) {
                if let Some((_, v)) = hits.next() {
                    *s += v;
                }
            }
            let tot = o.total_weight.get_or_insert(0.0);
            if (outer[i >> 6] >> (i & 63)) & 1 == 1 {
                *tot += incl.get(i);
            }
        }
        stats
    };
    let (stats, edge_w): (Vec<FunctionStats>, Vec<(u32, u32, f64)>) = if whole {
        let Incl::U32(iv) = &incl else { unreachable!("whole weights give u32 inclusive weights") };
        // Per (caller, callee): Σ of the inclusive weights of the pair's outermost nodes, as u64.
        let part = |half: u32| {
            let mut m: FxHashMap<(u32, u32), u64> = FxHashMap::default();
            for (wi, &word) in first.iter().enumerate() {
                let mut w = word;
                while w != 0 {
                    let i = wi * 64 + w.trailing_zeros() as usize;
                    w &= w - 1;
                    let f = t.func[i].0;
                    if f & 1 != half {
                        continue;
                    }
                    let pf = t.func[t.parent[i] as usize].0;
                    *m.entry((pf, f)).or_insert(0) += iv[i] as u64;
                }
            }
            m
        };
        let ((stats, m0), m1) = if big { join2(|| (stats_of(), part(0)), || part(1)) } else { ((stats_of(), part(0)), part(1)) };
        let mut e: Vec<(u32, u32, f64)> = Vec::with_capacity(m0.len() + m1.len());
        e.extend(m0.into_iter().chain(m1).map(|((a, b), w)| (a, b, w as f64)));
        (stats, e)
    } else {
        (stats_of(), edge_w.into_iter().map(|((a, b), w)| (a, b, w)).collect())
    };
    drop(first);

    let mut edges: Vec<(u32, u32, f64)> = edge_w;
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let mut cc = vec![0u32; nfuncs];
    let mut ce = vec![0u32; nfuncs];
    for e in &edges {
        cc[e.1 as usize] += 1;
        ce[e.0 as usize] += 1;
    }
    let callers = Csr::from_counts(&cc, edges.iter().map(|e| (e.1 as usize, (e.0, e.2))));
    let callees = Csr::from_counts(&ce, edges.iter().map(|e| (e.0 as usize, (e.1, e.2))));

    (
        SampleView {
            table,
            w: Weights::Sparse { at, incl },
            shape: Shape::Csr(children),
            root_self,
            total,
            roots,
            by_func: std::sync::OnceLock::new(),
            nfuncs,
            leaves: std::sync::OnceLock::from(leaves),
            outer,
            edges: EdgeRows::F64 { callers, callees },
        },
        stats,
    )
}

/// [`derive`] for whole weights on a pre-order table: children are implicit (a subtree end per
/// node), inclusive and self weights come from one prefix sum, and the depth-first walk is a
/// single pass in node order.
fn derive_pre(p: &Profile, table: Option<StackTable>, end: Ends, pre: Vec<u32>, root_self: f64, nfuncs: usize) -> (SampleView, Vec<FunctionStats>) {
    let base_table = profile_table(p);
    let t = table.as_ref().unwrap_or(base_table);
    let n = t.len();
    let mut roots = Vec::new();
    let mut c = 0usize;
    while c < n {
        roots.push(c as u32);
        c = end.get(c) as usize;
    }
    let total = pre[n] as f64 + root_self;
    let incl = |i: usize| pre[end.get(i) as usize] - pre[i];

    // One pass in node order with the path from the root: outermost occurrence per function and
    // per (caller, callee) pair (whole weights: the sums are exact in any order).
    let mut outer = vec![0u64; n.div_ceil(64)];
    let mut on_path = vec![0u32; nfuncs];
    let mut path: Vec<u32> = Vec::new();
    // Nodes that are the outermost occurrence of their (caller, callee) pair on their stack.
    let mut first = vec![0u64; n.div_ceil(64)];
    for i in 0..n {
        while let Some(&top) = path.last() {
            if end.get(top as usize) as usize > i {
                break;
            }
            on_path[t.func[top as usize].idx()] -= 1;
            path.pop();
        }
        let f = t.func[i].0;
        let recursive = on_path[f as usize] > 0;
        if !recursive {
            outer[i >> 6] |= 1 << (i & 63);
        }
        if let Some(&par) = path.last() {
            let pf = t.func[par as usize].0;
            let mut first_pair = true;
            if recursive {
                // Is (pf, f) already on the path above? path[k] has function f and path[k-1] pf.
                for k in (1..path.len()).rev() {
                    if t.func[path[k] as usize].0 == f && t.func[path[k - 1] as usize].0 == pf {
                        first_pair = false;
                        break;
                    }
                }
            }
            if first_pair {
                first[i >> 6] |= 1 << (i & 63);
            }
        }
        on_path[f as usize] += 1;
        path.push(i as u32);
    }
    drop(on_path);
    drop(path);

    let stats_of = || {
        let mut stats = vec![FunctionStats::default(); nfuncs];
        for i in 0..n {
            let o = &mut stats[t.func[i].idx()];
            o.listed = true;
            *o.self_weight.get_or_insert(0.0) += (pre[i + 1] - pre[i]) as f64;
            let tot = o.total_weight.get_or_insert(0.0);
            if (outer[i >> 6] >> (i & 63)) & 1 == 1 {
                *tot += incl(i) as f64;
            }
        }
        stats
    };
    // (caller, callee) sums for callers in lo..hi, as sorted (caller * nfuncs + callee, weight).
    let nf = nfuncs as u32;
    let part = |lo: u32, hi: u32| {
        let mut sums = PairSums::new();
        for (wi, &word) in first.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                let i = wi * 64 + w.trailing_zeros() as usize;
                w &= w - 1;
                let pf = t.func[t.parent[i] as usize].0;
                if pf >= lo && pf < hi {
                    sums.add(pf * nf + t.func[i].0, incl(i));
                }
            }
        }
        sums.into_sorted()
    };
    let mid = nf / 2;
    let ((stats, mut items), hi) =
        if n >= 1 << 16 { join2(|| (stats_of(), part(0, mid)), || part(mid, nf)) } else { ((stats_of(), part(0, mid)), part(mid, nf)) };
    drop(first);
    items.extend_from_slice(&hi);
    drop(hi);
    // Callees: the sorted pairs themselves, keyed down to the callee.
    let mut ce = vec![0u32; nfuncs];
    let mut cc = vec![0u32; nfuncs];
    for e in items.iter_mut() {
        let (a, b) = (e.0 / nf, e.0 % nf);
        ce[a as usize] += 1;
        cc[b as usize] += 1;
        e.0 = b;
    }
    let mut off = Vec::with_capacity(nfuncs + 1);
    let mut acc = 0u32;
    off.push(0);
    for &c in &ce {
        acc += c;
        off.push(acc);
    }
    let callees = Csr::from_parts(off, items);
    let callers = Csr::from_counts(&cc, (0..nfuncs).flat_map(|a| callees.slice(a).iter().map(move |&(b, w)| (b as usize, (a as u32, w)))));

    (
        SampleView {
            table,
            w: Weights::Prefix(pre),
            shape: Shape::Pre(end),
            root_self,
            total,
            roots,
            by_func: std::sync::OnceLock::new(),
            nfuncs,
            leaves: std::sync::OnceLock::new(),
            outer,
            edges: EdgeRows::U32 { callers, callees },
        },
        stats,
    )
}

/// Sums of `u32` values keyed by a `u32` (not `u32::MAX`) in an open-addressing table (8 bytes
/// per slot, at most 3/4 full).
struct PairSums {
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl PairSums {
    const EMPTY: u32 = u32::MAX;
    fn new() -> Self {
        PairSums { slots: vec![(Self::EMPTY, 0); 1 << 12], len: 0 }
    }
    #[inline]
    fn add(&mut self, key: u32, v: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut h = (key.wrapping_mul(0x9E37_79B1) as usize ^ (key as usize >> 15)) & mask;
        loop {
            let s = &mut self.slots[h];
            if s.0 == key {
                s.1 += v;
                return;
            }
            if s.0 == Self::EMPTY {
                *s = (key, v);
                self.len += 1;
                return;
            }
            h = (h + 1) & mask;
        }
    }
    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![(Self::EMPTY, 0); cap]);
        self.len = 0;
        for (k, v) in old {
            if k != Self::EMPTY {
                self.add(k, v);
            }
        }
    }
    /// The (key, sum) pairs sorted by key, in the table's own memory.
    fn into_sorted(self) -> Vec<(u32, u32)> {
        let mut s = self.slots;
        s.retain(|e| e.0 != Self::EMPTY);
        s.sort_unstable_by_key(|e| e.0);
        s.shrink_to_fit();
        s
    }
}

/// Nodes with a non-zero self weight, per function, in node order.
fn leaves_of(t: &StackTable, at: &SelfWeights, nfuncs: usize) -> Csr<u32> {
    let mut lcount = vec![0u32; nfuncs];
    for (i, v) in at.iter() {
        if v != 0.0 {
            lcount[t.func[i].idx()] += 1;
        }
    }
    Csr::from_counts(&lcount, at.iter().filter(|x| x.1 != 0.0).map(|(i, _)| (t.func[i].idx(), i as u32)))
}
