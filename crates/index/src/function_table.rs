//! The function table alone: every function's numbers without the views (trees, edges, cached
//! orders) the dashboard queries. `profview stats` prints only this table, so it skips the
//! index's pre-order renumbering and derivation (BENCHMARKS.md, "A fast CLI").
//!
//! A sampled profile whose sample weights are whole and sum to at most `u32::MAX`, and whose every
//! node has a sample at or below it (every sampler's output), gets its self and total weights
//! straight from the stack table as the importer built it (parents before children):
//! self from one pass over the samples, inclusive weights from one backward pass, and for each
//! node a walk up its ancestors to learn whether its function is already on its stack (only the
//! outermost occurrence counts towards the total), the nodes split over both cores. The walks are
//! bounded (32 steps per node plus a constant): a profile of deep recursion, like any other
//! profile (pstats, fractional or negative weights, nodes without samples), builds the full
//! [`ProfileIndex`] and takes its table. Either way the numbers are those of
//! [`ProfileIndex::function_stats`], bit for bit (whole weights sum exactly in any order).

use profview_model::{FuncId, Function, Profile, NO_PARENT};

use crate::table::{self, FunctionQuery, FunctionStats};
use crate::{classify_function, group_by_function, par, ProfileIndex};

/// What a report of the function table reads: the profile (grouped by function when its frames
/// carry current lines), every function's numbers, and pages of the table in a chosen order.
pub trait FunctionRows {
    /// The profile the rows describe.
    fn profile(&self) -> &Profile;
    /// Per function, indexed by [`FuncId`].
    fn function_stats(&self) -> &[FunctionStats];
    /// A page of the table: (rows matching, the page's ids), as [`ProfileIndex::query_functions`].
    fn query_functions(&self, q: &FunctionQuery) -> (usize, Vec<FuncId>);
}

impl FunctionRows for ProfileIndex {
    fn profile(&self) -> &Profile {
        ProfileIndex::profile(self)
    }
    fn function_stats(&self) -> &[FunctionStats] {
        ProfileIndex::function_stats(self)
    }
    fn query_functions(&self, q: &FunctionQuery) -> (usize, Vec<FuncId>) {
        ProfileIndex::query_functions(self, q)
    }
}

/// The function table of a profile (see the module docs).
pub struct FunctionTable {
    inner: Inner,
}

enum Inner {
    Direct { profile: Box<Profile>, stats: Vec<FunctionStats> },
    Full(Box<ProfileIndex>),
}

impl FunctionTable {
    /// Builds the table; the profile is grouped by function first, as [`ProfileIndex::build`]
    /// does, when its frames carry current lines.
    pub fn build(profile: Profile) -> Self {
        Self::build_nested(profile, None)
    }

    /// [`build`](Self::build) with the importer's bits (`profview_import::Imported::nested`):
    /// bit `i` set when node `i`'s function is on its parent's stack already. They replace the
    /// walk up the ancestors; bits of the wrong length, or a profile grouped by function here,
    /// fall back to the walk.
    pub fn build_nested(profile: Profile, nested: Option<Vec<u64>>) -> Self {
        let (profile, nested) = match profile.lines_are_current.then(|| group_by_function(&profile)).flatten() {
            Some(g) => (g.profile, None),
            None => (profile, nested),
        };
        let inner = match direct_stats(&profile, nested.as_deref()) {
            Some(stats) => Inner::Direct { profile: Box::new(profile), stats },
            None => Inner::Full(Box::new(ProfileIndex::build_plain(profile))),
        };
        FunctionTable { inner }
    }

    /// True when the numbers came straight from the stack table (no index was built).
    pub fn is_direct(&self) -> bool {
        matches!(self.inner, Inner::Direct { .. })
    }
}

impl FunctionRows for FunctionTable {
    fn profile(&self) -> &Profile {
        match &self.inner {
            Inner::Direct { profile, .. } => profile,
            Inner::Full(idx) => idx.profile(),
        }
    }
    fn function_stats(&self) -> &[FunctionStats] {
        match &self.inner {
            Inner::Direct { stats, .. } => stats,
            Inner::Full(idx) => idx.function_stats(),
        }
    }
    fn query_functions(&self, q: &FunctionQuery) -> (usize, Vec<FuncId>) {
        let (profile, stats) = match &self.inner {
            Inner::Direct { profile, stats } => (profile, stats),
            Inner::Full(idx) => return idx.query_functions(q),
        };
        let funcs = &profile.functions;
        let func = |i: u32| -> &Function { &funcs[i as usize] };
        let key = table::effective_sort(false, q);
        let ordered = table::full_order(&func, &|_| true, stats, key.0, key.1);
        let text_ok = |i: u32| q.filter.as_ref().is_none_or(|f| f.matches(&funcs[i as usize].name, &funcs[i as usize].file));
        let pkg = |i: u32| classify_function(&funcs[i as usize].name, &funcs[i as usize].file);
        table::page_from_order(&ordered, &text_ok, &pkg, q)
    }
}

/// Ancestor steps allowed per node on average before the walk gives up (plus [`STEPS_BASE`]).
const STEPS_PER_NODE: u64 = 32;
const STEPS_BASE: u64 = 1 << 20;

/// Self and total weight per function straight from the stack table, or `None` when the profile
/// is not one this path handles (see the module docs).
pub(crate) fn direct_stats(p: &Profile, nested: Option<&[u64]>) -> Option<Vec<FunctionStats>> {
    let sd = p.samples.as_ref()?;
    if p.pstats.is_some() {
        return None;
    }
    let (parent, func) = (&sd.stacks.parent, &sd.stacks.func);
    let n = func.len();
    let nf = p.functions.len();
    if parent.len() != n || func.iter().any(|f| f.idx() >= nf) {
        return None;
    }
    // Self weight per function and per node (the node's becomes its inclusive weight below).
    let mut incl = vec![0u32; n];
    let mut live = vec![false; n];
    let mut self_w = vec![0u64; nf];
    let mut sum = 0u64;
    for s in &sd.samples {
        let w = s.weight;
        if !(w >= 0.0 && w.fract() == 0.0 && w <= u32::MAX as f64) {
            return None;
        }
        sum += w as u64;
        if sum > u32::MAX as u64 {
            return None;
        }
        if let Some(st) = s.stack() {
            let i = st.idx();
            if i >= n {
                return None;
            }
            incl[i] += w as u32;
            live[i] = true;
            self_w[func[i].idx()] += w as u64;
        }
    }
    // Inclusive weights, backwards (parents precede children); every node must be live, as the
    // index's default view keeps every node only then. A node's weight is complete when the
    // pass reaches it (its descendants come after it), so with the importer's bits the totals
    // are summed in the same pass.
    let bits = nested.filter(|b| b.len() == n.div_ceil(64));
    let mut tot = vec![0u64; nf];
    let mut seen = vec![false; nf];
    for i in (0..n).rev() {
        if !live[i] {
            return None;
        }
        if let Some(bits) = bits {
            let f = func[i].idx();
            seen[f] = true;
            if (bits[i / 64] >> (i % 64)) & 1 == 0 {
                tot[f] += incl[i] as u64;
            }
        }
        let par = parent[i];
        if par != NO_PARENT {
            if par as usize >= i {
                return None;
            }
            live[par as usize] = true;
            incl[par as usize] += incl[i];
        }
    }
    drop(live);
    if bits.is_some() {
        return Some(rows(&self_w, &tot, &seen));
    }
    // Totals: a node counts when no ancestor has its function. Each half walks its nodes in
    // order keeping the path of the last one (a count per function on it): a node whose parent
    // is on that path only pops to it; otherwise the parent's missing ancestors are looked up and
    // pushed (the bounded steps).
    let totals = |lo: usize, hi: usize| -> Option<(Vec<u64>, Vec<bool>)> {
        let mut tot = vec![0u64; nf];
        let mut seen = vec![false; nf];
        let mut on_path = vec![0u32; nf];
        let mut on_stack = vec![0u64; n.div_ceil(64)];
        let mut stack: Vec<u32> = Vec::new();
        let mut missing: Vec<u32> = Vec::new();
        let mut budget = (hi - lo) as u64 * STEPS_PER_NODE + STEPS_BASE;
        let is_on = |bits: &[u64], a: u32| (bits[a as usize >> 6] >> (a & 63)) & 1 == 1;
        for i in lo..hi {
            let p = parent[i];
            missing.clear();
            let mut a = p;
            while a != NO_PARENT && !is_on(&on_stack, a) {
                budget = budget.checked_sub(1)?;
                missing.push(a);
                a = parent[a as usize];
            }
            // Pop down to `a` (the deepest ancestor on the path; all of it when there is none).
            while let Some(&top) = stack.last() {
                if top == a {
                    break;
                }
                stack.pop();
                on_stack[top as usize >> 6] &= !(1 << (top & 63));
                on_path[func[top as usize].idx()] -= 1;
            }
            for &m in missing.iter().rev() {
                stack.push(m);
                on_stack[m as usize >> 6] |= 1 << (m & 63);
                on_path[func[m as usize].idx()] += 1;
            }
            let f = func[i].idx();
            seen[f] = true;
            if on_path[f] == 0 {
                tot[f] += incl[i] as u64;
            }
            stack.push(i as u32);
            on_stack[i >> 6] |= 1 << (i & 63);
            on_path[f] += 1;
        }
        Some((tot, seen))
    };
    let mid = n / 2;
    let (a, b) = if n >= 1 << 16 { par::join2(|| totals(0, mid), || totals(mid, n)) } else { (totals(0, mid), totals(mid, n)) };
    let ((mut tot, mut seen), (tot_b, seen_b)) = (a?, b?);
    for f in 0..nf {
        tot[f] += tot_b[f];
        seen[f] |= seen_b[f];
    }
    Some(rows(&self_w, &tot, &seen))
}

/// The table's rows from the per-function sums (`seen`: the function has a node).
fn rows(self_w: &[u64], tot: &[u64], seen: &[bool]) -> Vec<FunctionStats> {
    (0..seen.len())
        .map(|f| {
            if !seen[f] {
                return FunctionStats::default();
            }
            FunctionStats { self_weight: Some(self_w[f] as f64), total_weight: Some(tot[f] as f64), listed: true, ..Default::default() }
        })
        .collect()
}
