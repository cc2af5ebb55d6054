//! A sampled profile under one thread selection and one transform list, and the tree queries
//! over it: children, self and inclusive weights, caller→callee weights, nodes per function.

use profview_model::{Profile, StackTable};

use super::weights::{Incl, SelfWeights};
use crate::Csr;

/// Self and inclusive weights per node.
#[derive(Debug)]
pub(crate) enum Weights {
    /// Sparse self weights and inclusive weights (any table order).
    Sparse { at: SelfWeights, incl: Incl },
    /// Whole weights on a pre-order table ([`Shape::Pre`]): `p[k]` = Σ of the self weights of
    /// nodes `0..k` (`n + 1` entries, at most `u32::MAX`). Self weight of `i` = `p[i + 1] - p[i]`,
    /// inclusive = `p[end[i]] - p[i]`: exact integers, the values the f64 sums give.
    Prefix(Vec<u32>),
}

/// How the children of a node are found.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Children per node, sorted by function id.
    Csr(Csr<u32>),
    /// The table is in pre-order with the children of a node sorted by function id: node `i`'s
    /// subtree is `i..end[i]`, its first child `i + 1`, the sibling after child `c` is `end[c]`.
    Pre(Ends),
}

/// Subtree ends of a pre-order table, 2 bytes per node: `end[i] - i` when below `u16::MAX`,
/// else looked up among the few large subtrees.
#[derive(Debug, Default)]
pub(crate) struct Ends {
    small: Vec<u16>,
    /// (node, end) of the subtrees of `u16::MAX` nodes or more, by node.
    big: Vec<(u32, u32)>,
}

impl Ends {
    pub(super) fn from_u32(end: &[u32]) -> Self {
        let mut e = Ends { small: Vec::with_capacity(end.len()), big: Vec::new() };
        for (i, &x) in end.iter().enumerate() {
            let size = x - i as u32;
            if size < u16::MAX as u32 {
                e.small.push(size as u16);
            } else {
                e.small.push(u16::MAX);
                e.big.push((i as u32, x));
            }
        }
        e
    }
    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        match self.small.get(i) {
            Some(&s) if s != u16::MAX => i as u32 + s as u32,
            Some(_) => self.big.binary_search_by_key(&(i as u32), |b| b.0).map_or(i as u32 + 1, |k| self.big[k].1),
            None => 0,
        }
    }
    #[mutants::skip] // mutants: a memory estimate for the view cache's budget; no query result depends on it
    fn heap_bytes(&self) -> usize {
        self.small.capacity() * 2 + self.big.capacity() * 8
    }
}

/// The children of one node, in function order.
pub(crate) enum Kids<'a> {
    Slice(std::slice::Iter<'a, u32>),
    Pre { end: &'a Ends, c: u32, stop: u32 },
}

impl Iterator for Kids<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            Kids::Slice(it) => it.next().copied(),
            Kids::Pre { end, c, stop } => {
                if *c < *stop {
                    let x = *c;
                    *c = end.get(x as usize);
                    Some(x)
                } else {
                    None
                }
            }
        }
    }
}

/// A sampled profile under one thread selection and one transform list.
#[derive(Debug)]
pub(crate) struct SampleView {
    /// The rewritten table; `None` = the profile's own table.
    pub table: Option<StackTable>,
    /// Self and inclusive weights per node.
    pub w: Weights,
    pub shape: Shape,
    pub root_self: f64,
    /// Σ of every selected sample (including empty stacks).
    pub total: f64,
    /// Root nodes, sorted by function id.
    pub roots: Vec<u32>,
    /// Nodes per function, built on first use (sandwich).
    pub(super) by_func: std::sync::OnceLock<Csr<u32>>,
    pub(super) nfuncs: usize,
    /// Nodes with self weight per function (the leaves of the inverted tree), built on first
    /// use for pre-order views.
    pub(super) leaves: std::sync::OnceLock<Csr<u32>>,
    /// Bit i: no ancestor of node i has the same function.
    pub(super) outer: Vec<u64>,
    /// Caller→callee weights.
    pub(super) edges: EdgeRows,
}

/// Per callee: (caller, weight); per caller: (callee, weight). Sorted by the other id. Whole
/// weights are stored as `u32` (a pair's weight is at most the total, which fits).
#[derive(Debug)]
pub(crate) enum EdgeRows {
    F64 { callers: Csr<(u32, f64)>, callees: Csr<(u32, f64)> },
    U32 { callers: Csr<(u32, u32)>, callees: Csr<(u32, u32)> },
}

/// One row of [`EdgeRows`] as (other function, weight).
pub(crate) enum EdgeIter<'a> {
    F(std::slice::Iter<'a, (u32, f64)>),
    U(std::slice::Iter<'a, (u32, u32)>),
}

impl Iterator for EdgeIter<'_> {
    type Item = (u32, f64);
    #[inline]
    fn next(&mut self) -> Option<(u32, f64)> {
        match self {
            EdgeIter::F(it) => it.next().copied(),
            EdgeIter::U(it) => it.next().map(|&(o, w)| (o, w as f64)),
        }
    }
}

impl SampleView {
    pub fn table<'a>(&'a self, p: &'a Profile) -> &'a StackTable {
        match &self.table {
            Some(t) => t,
            None => super::profile_table(p),
        }
    }
    /// Inclusive weight of node `i`.
    #[inline]
    pub fn incl(&self, i: usize) -> f64 {
        match (&self.w, &self.shape) {
            (Weights::Sparse { incl, .. }, _) => incl.get(i),
            (Weights::Prefix(p), Shape::Pre(end)) => (p[end.get(i) as usize] - p[i]) as f64,
            (Weights::Prefix(_), Shape::Csr(_)) => unreachable!("prefix weights need a pre-order table"),
        }
    }
    /// Weight of samples ending at node `i`.
    #[inline]
    pub fn own(&self, i: usize) -> f64 {
        match &self.w {
            Weights::Sparse { at, .. } => at.get(i),
            Weights::Prefix(p) => (p[i + 1] - p[i]) as f64,
        }
    }
    /// Children of node `n`, sorted by function id.
    #[inline]
    pub fn kids(&self, n: u32) -> Kids<'_> {
        match &self.shape {
            Shape::Csr(c) => Kids::Slice(c.slice(n as usize).iter()),
            Shape::Pre(end) => Kids::Pre { end, c: n + 1, stop: end.get(n as usize) },
        }
    }
    /// The children of `n` as (node, inclusive, own), in function order: one pass that reads
    /// each child's subtree end and prefix sums once (the sibling walk of a pre-order table).
    pub fn kids_weighted(&self, n: u32, out: &mut Vec<(u32, f64, f64)>) {
        if let (Weights::Prefix(p), Shape::Pre(end)) = (&self.w, &self.shape) {
            let stop = end.get(n as usize);
            let mut c = n + 1;
            while c < stop {
                let e = end.get(c as usize);
                let pc = p[c as usize];
                out.push((c, (p[e as usize] - pc) as f64, (p[c as usize + 1] - pc) as f64));
                c = e;
            }
        } else {
            out.extend(self.kids(n).map(|c| (c, self.incl(c as usize), self.own(c as usize))));
        }
    }
    /// Whole weights summed as integers (`Weights::Prefix`): any order of additions gives the
    /// same values.
    pub fn whole(&self) -> bool {
        matches!(self.w, Weights::Prefix(_))
    }
    /// Callers (`callers`) or callees of function `f` with the edge weights.
    pub fn edges(&self, f: usize, callers: bool) -> EdgeIter<'_> {
        match (&self.edges, callers) {
            (EdgeRows::F64 { callers, .. }, true) => EdgeIter::F(callers.slice(f).iter()),
            (EdgeRows::F64 { callees, .. }, false) => EdgeIter::F(callees.slice(f).iter()),
            (EdgeRows::U32 { callers, .. }, true) => EdgeIter::U(callers.slice(f).iter()),
            (EdgeRows::U32 { callees, .. }, false) => EdgeIter::U(callees.slice(f).iter()),
        }
    }
    /// Nodes with a non-zero self weight per function, in node order (built on first use).
    pub fn leaves(&self, t: &StackTable) -> &Csr<u32> {
        self.leaves.get_or_init(|| {
            let n = t.len();
            let mut lcount = vec![0u32; self.nfuncs];
            for i in 0..n {
                if self.own(i) != 0.0 {
                    lcount[t.func[i].idx()] += 1;
                }
            }
            Csr::from_counts(&lcount, (0..n).filter(|&i| self.own(i) != 0.0).map(|i| (t.func[i].idx(), i as u32)))
        })
    }
    /// No ancestor of node `i` has the same function.
    pub fn is_outer(&self, i: usize) -> bool {
        self.outer.get(i >> 6).is_some_and(|w| (w >> (i & 63)) & 1 == 1)
    }
    /// Nodes per function (built on first use).
    pub fn by_func(&self, t: &StackTable) -> &Csr<u32> {
        self.by_func.get_or_init(|| {
            let n = t.len();
            let mut fcount = vec![0u32; self.nfuncs];
            for f in &t.func {
                fcount[f.idx()] += 1;
            }
            Csr::from_counts(&fcount, (0..n).map(|i| (t.func[i].idx(), i as u32)))
        })
    }
    /// Approximate heap size in bytes.
    #[mutants::skip] // mutants: a memory estimate for the view cache's budget; no query result depends on it
    pub fn heap_bytes(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.len() * 8)
            + match &self.w {
                Weights::Sparse { at, incl } => at.heap_bytes() + incl.heap_bytes(),
                Weights::Prefix(p) => p.capacity() * 4,
            }
            + match &self.shape {
                Shape::Csr(c) => c.heap_bytes(),
                Shape::Pre(e) => e.heap_bytes(),
            }
            + self.by_func.get().map_or(0, |c| c.heap_bytes())
            + self.leaves.get().map_or(0, |c| c.heap_bytes())
            + self.outer.capacity() * 8
            + match &self.edges {
                EdgeRows::F64 { callers, callees } => callers.heap_bytes() + callees.heap_bytes(),
                EdgeRows::U32 { callers, callees } => callers.heap_bytes() + callees.heap_bytes(),
            }
    }
}
