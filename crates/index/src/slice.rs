//! The level-of-detail slicer shared by every tree: breadth-first by size under a node budget,
//! children narrower than `min_frac` of the slice root merged into one "other" node per parent.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// How much a tree node can be trusted (mirrors the wire `Exactness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exactness {
    /// Measured.
    Exact,
    /// Split across callers in proportion to pstats edge data.
    Estimated,
    /// A recursion cycle was cut here (no children).
    Cut,
}

impl Exactness {
    /// A cut wins over everything; otherwise exact or estimated.
    pub fn of(cut: bool, exact: bool) -> Exactness {
        if cut {
            Exactness::Cut
        } else if exact {
            Exactness::Exact
        } else {
            Exactness::Estimated
        }
    }
}

/// One node of a slice. Parents come before their children; `nodes[0]` is the slice root.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceNode {
    /// Index of the parent in the slice.
    pub parent: Option<u32>,
    /// Function id; `None` for the synthetic root `all` and for "other".
    pub func: Option<u32>,
    /// Function ids from the tree root joined by `.`; `""` for the synthetic root. An "other"
    /// node carries its parent's path.
    pub path: String,
    /// Depth below the slice root.
    pub depth: u32,
    /// Inclusive value.
    pub total: f64,
    /// Own value.
    pub self_value: f64,
    /// pstats: calls along the path.
    pub calls: Option<f64>,
    /// Trust level.
    pub exactness: Exactness,
    /// Lower bound of `total` (pstats).
    pub total_min: Option<f64>,
    /// Upper bound of `total` (pstats).
    pub total_max: Option<f64>,
    /// Children were cut by the level of detail or the budget.
    pub truncated: bool,
    /// Number of tree nodes merged into this "other" node (0 otherwise).
    pub merged: u32,
}

/// A tree slice.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// Value of the whole tree (for percentages).
    pub grand_total: f64,
    /// True for trees derived from pstats edges.
    pub estimated: bool,
    /// Nodes, parents first.
    pub nodes: Vec<SliceNode>,
}

/// Level-of-detail parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lod {
    /// Children narrower than this fraction of the slice root's |total| are merged into "other".
    pub min_frac: f64,
    /// Most nodes in a slice (at least 1).
    pub max_nodes: usize,
}

impl Default for Lod {
    fn default() -> Self {
        Lod { min_frac: 0.001, max_nodes: 3000 }
    }
}

/// A candidate node produced by a tree source.
#[derive(Clone, Debug)]
pub(crate) struct Cand<S> {
    pub func: Option<u32>,
    pub total: f64,
    pub self_value: f64,
    pub calls: Option<f64>,
    pub exactness: Exactness,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub merged: u32,
    /// `None`: not expandable (cut, "other", or known leaf).
    pub state: Option<S>,
}

impl<S> Cand<S> {
    pub fn exact(func: u32, total: f64, self_value: f64, state: Option<S>) -> Self {
        Cand { func: Some(func), total, self_value, calls: None, exactness: Exactness::Exact, min: None, max: None, merged: 0, state }
    }
}

/// A tree: expands a node into its children.
pub(crate) trait Source {
    type S;
    /// Children of `node` whose path (tree root first, this node last; synthetic root = empty)
    /// is `path`. Children narrower than `cutoff` will be merged into "other", so their state
    /// need not be built; a source may also sum them itself into one candidate with `func: None`
    /// and `merged` = their number. Returns extra own value of the node (children folded by a
    /// transform).
    ///
    /// At most `limit` children at or above `cutoff` can still be emitted (the remaining node
    /// budget); a source may leave out smaller ones beyond that and must then set `clipped`.
    #[allow(clippy::too_many_arguments)]
    fn children(
        &mut self,
        node: &Cand<Self::S>,
        state: &Self::S,
        path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        out: &mut Vec<Cand<Self::S>>,
    ) -> f64;
}

struct Item<S> {
    key: f64,
    seq: u64,
    parent: u32,
    cand: Cand<S>,
}
impl<S> PartialEq for Item<S> {
    #[mutants::skip] // mutants: never called; the heap and its pruning order items by `Ord::cmp` only
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<S> Eq for Item<S> {}
impl<S> PartialOrd for Item<S> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<S> Ord for Item<S> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key.total_cmp(&o.key).then(o.seq.cmp(&self.seq))
    }
}

fn by_size<S>(a: &Cand<S>, b: &Cand<S>) -> Ordering {
    b.total.abs().total_cmp(&a.total.abs()).then(a.func.cmp(&b.func))
}

/// Most bytes of node paths in one slice (the slice stops there as if the budget were spent).
pub const MAX_PATH_BYTES: usize = 16 << 20;

/// Builds a slice from `root` (whose path from the tree root is `root_path`).
pub(crate) fn slice<Src: Source>(src: &mut Src, root: Cand<Src::S>, root_path: &[u32], lod: &Lod) -> Vec<SliceNode> {
    let max_nodes = lod.max_nodes.max(1);
    let min_frac = effective_min_frac(lod);
    let cutoff = root.total.abs() * min_frac;
    let mut nodes: Vec<SliceNode> = Vec::new();
    let mut funcs: Vec<Option<u32>> = Vec::new();
    let mut heap: BinaryHeap<Item<Src::S>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf: Vec<Cand<Src::S>> = Vec::new();
    let path_string = |p: &[u32]| p.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(".");

    let emit = |nodes: &mut Vec<SliceNode>, funcs: &mut Vec<Option<u32>>, parent: Option<u32>, c: &Cand<Src::S>| -> u32 {
        let (path, depth) = match parent {
            None => (path_string(root_path), 0),
            Some(p) => {
                let pn = &nodes[p as usize];
                let path = match c.func {
                    Some(f) if pn.path.is_empty() => f.to_string(),
                    Some(f) => format!("{}.{}", pn.path, f),
                    None => pn.path.clone(),
                };
                (path, pn.depth + 1)
            }
        };
        let id = nodes.len() as u32;
        nodes.push(SliceNode {
            parent,
            func: c.func,
            path,
            depth,
            total: c.total,
            self_value: c.self_value,
            calls: c.calls,
            exactness: c.exactness,
            total_min: c.min,
            total_max: c.max,
            truncated: false,
            merged: c.merged,
        });
        funcs.push(c.func);
        id
    };

    // Full path (tree root first) of an emitted node.
    let full_path = |nodes: &[SliceNode], funcs: &[Option<u32>], idx: u32| -> Vec<u32> {
        let mut p = Vec::new();
        let mut cur = Some(idx);
        while let Some(i) = cur {
            if let Some(f) = funcs[i as usize] {
                if i != 0 || root_path.is_empty() {
                    p.push(f);
                }
            }
            cur = nodes[i as usize].parent;
        }
        p.reverse();
        let mut out = root_path.to_vec();
        out.extend(p);
        out
    };

    let root_id = emit(&mut nodes, &mut funcs, None, &root);
    let mut expand = |nodes: &mut Vec<SliceNode>,
                      funcs: &Vec<Option<u32>>,
                      heap: &mut BinaryHeap<Item<Src::S>>,
                      seq: &mut u64,
                      idx: u32,
                      node: &Cand<Src::S>,
                      state: &Src::S,
                      budget_left: bool,
                      floor: f64| {
        buf.clear();
        let path = full_path(nodes, funcs, idx);
        let limit = max_nodes.saturating_sub(nodes.len()).max(1);
        let mut clipped = false;
        let extra = src.children(node, state, &path, cutoff, limit, &mut clipped, &mut buf);
        nodes[idx as usize].self_value += extra;
        if clipped {
            nodes[idx as usize].truncated = true;
        }
        if buf.is_empty() {
            return;
        }
        if !budget_left {
            nodes[idx as usize].truncated = true;
            return;
        }
        let mut small_total = 0.0;
        let mut small_self = 0.0;
        let mut small_n = 0u32;
        let mut small_exact = Exactness::Exact;
        let mut big: Vec<Cand<Src::S>> = Vec::new();
        for c in buf.drain(..) {
            // A source may hand over its narrow children already summed (`func: None`).
            let premerged = c.func.is_none() && c.merged > 0;
            if premerged || c.total.abs() < cutoff || (c.total == 0.0 && cutoff == 0.0 && min_frac > 0.0) {
                small_total += c.total;
                small_self += c.self_value;
                small_n += if premerged { c.merged } else { 1 };
                if c.exactness != Exactness::Exact {
                    small_exact = Exactness::Estimated;
                }
            } else if c.total.abs() <= floor {
                // Ranks below `left` waiting nodes: can never be emitted.
                nodes[idx as usize].truncated = true;
            } else {
                big.push(c);
            }
        }
        big.sort_by(by_size);
        for c in big {
            *seq += 1;
            heap.push(Item { key: c.total.abs(), seq: *seq, parent: idx, cand: c });
        }
        if small_n > 0 {
            nodes[idx as usize].truncated = true;
            *seq += 1;
            heap.push(Item {
                key: small_total.abs(),
                seq: *seq,
                parent: idx,
                cand: Cand {
                    func: None,
                    total: small_total,
                    self_value: small_self,
                    calls: None,
                    exactness: small_exact,
                    min: None,
                    max: None,
                    merged: small_n,
                    state: None,
                },
            });
        }
    };

    if let Some(st) = &root.state {
        expand(&mut nodes, &funcs, &mut heap, &mut seq, root_id, &root, st, max_nodes > 1, f64::NEG_INFINITY);
    }
    // Paths repeat their prefix, so a very deep chain could make them quadratic: the budget
    // also counts their bytes.
    let mut path_bytes: usize = nodes[0].path.len();
    let mut full = false;
    // Waiting nodes at or below this size can never be emitted (see the pruning below).
    let mut floor = f64::NEG_INFINITY;
    loop {
        // Only the `left` biggest waiting nodes can still be emitted (each of them is popped
        // before anything smaller, and every pop spends budget), so the rest is dropped now,
        // marking its parents truncated as popping it would: keeps the heap at O(budget)
        // when a node has far more children than the budget (`min_frac=0`, wide trees). The
        // smallest kept size is a floor for later nodes: they come with a higher `seq`, so one
        // of that size or smaller ranks below all `left` kept ones, and every emission since
        // spends budget as it takes one of those away.
        let left = max_nodes.saturating_sub(nodes.len());
        if heap.len() > 2 * left + 8 {
            let mut items = std::mem::take(&mut heap).into_vec();
            items.select_nth_unstable_by(left, |a, b| b.cmp(a));
            floor = floor.max(items[..left].iter().map(|it| it.key).fold(f64::INFINITY, f64::min));
            for it in items.drain(left..) {
                nodes[it.parent as usize].truncated = true;
            }
            heap = BinaryHeap::from(items);
        }
        let Some(it) = heap.pop() else { break };
        if full || nodes.len() >= max_nodes {
            nodes[it.parent as usize].truncated = true;
            continue;
        }
        let id = emit(&mut nodes, &mut funcs, Some(it.parent), &it.cand);
        path_bytes += nodes[id as usize].path.len();
        full = path_bytes >= MAX_PATH_BYTES;
        if let Some(st) = &it.cand.state {
            let left = nodes.len() < max_nodes && !full;
            expand(&mut nodes, &funcs, &mut heap, &mut seq, id, &it.cand, st, left, floor);
        }
    }
    nodes
}

/// Whether a slice built with `lod` holds every node at or above its cutoff: its budget was
/// never reached (so no children were clipped or left waiting) and its paths stayed under
/// their byte limit.
pub(crate) fn is_complete(nodes: &[SliceNode], lod: &Lod) -> bool {
    nodes.len() < lod.max_nodes.max(1) && nodes.iter().map(|n| n.path.len()).sum::<usize>() < MAX_PATH_BYTES
}

/// Level of detail as the slicer applies it (a negative or non-finite `min_frac` is 0).
pub(crate) fn effective_min_frac(lod: &Lod) -> f64 {
    if lod.min_frac.is_finite() {
        lod.min_frac.max(0.0)
    } else {
        0.0
    }
}

/// A complete slice (see [`is_complete`]) as a tree source: a slice of the same root at an equal
/// or coarser level of detail is cut from it without walking the profile again. Every child at
/// or above the finer cutoff is among its nodes; what is below sits in its "other" nodes,
/// which come through already summed. Only for trees whose sums do not depend on their order
/// (whole weights), so the result is the one a fresh walk gives.
pub(crate) struct FromSlice<'a> {
    nodes: &'a [SliceNode],
    kids: Vec<Vec<u32>>,
}

impl<'a> FromSlice<'a> {
    pub fn new(nodes: &'a [SliceNode]) -> Self {
        let mut kids = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                kids[p as usize].push(i as u32);
            }
        }
        FromSlice { nodes, kids }
    }
    /// The slice root as a candidate.
    pub fn root(&self) -> Cand<u32> {
        let n = &self.nodes[0];
        Cand {
            func: n.func,
            total: n.total,
            self_value: n.self_value,
            calls: n.calls,
            exactness: n.exactness,
            min: n.total_min,
            max: n.total_max,
            merged: n.merged,
            state: Some(0),
        }
    }
}

impl Source for FromSlice<'_> {
    type S = u32;
    fn children(
        &mut self,
        _node: &Cand<u32>,
        state: &u32,
        _path: &[u32],
        cutoff: f64,
        limit: usize,
        clipped: &mut bool,
        out: &mut Vec<Cand<u32>>,
    ) -> f64 {
        let ks = &self.kids[*state as usize];
        let real: Vec<u32> = ks.iter().copied().filter(|&k| self.nodes[k as usize].func.is_some()).collect();
        let sizes: Vec<(f64, u32)> =
            real.iter().map(|&k| (self.nodes[k as usize].total.abs(), self.nodes[k as usize].func.unwrap_or(0))).collect();
        let (keep, clip) = crate::trees::keep_top(&sizes, cutoff, limit);
        *clipped |= clip;
        for (i, &k) in real.iter().enumerate() {
            let n = &self.nodes[k as usize];
            // Below the cutoff: the slicer merges it; at or above: kept unless the budget clips it.
            if n.total.abs() < cutoff || keep[i] {
                let mut c = Cand::exact(n.func.unwrap_or(0), n.total, n.self_value, Some(k));
                c.exactness = n.exactness;
                out.push(c);
            }
        }
        for &k in ks.iter().filter(|&&k| self.nodes[k as usize].func.is_none()) {
            let n = &self.nodes[k as usize];
            out.push(Cand {
                func: None,
                total: n.total,
                self_value: n.self_value,
                calls: None,
                exactness: n.exactness,
                min: None,
                max: None,
                merged: n.merged,
                state: None,
            });
        }
        0.0
    }
}
