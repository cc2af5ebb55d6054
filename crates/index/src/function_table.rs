//! The function table straight from the stack table, for [`ProfileIndex::build_deferred`]: every
//! function's self and total without the views (trees, edges) the dashboard queries, so that
//! `profview stats` skips the index's pre-order renumbering and derivation, and the server
//! answers its table before the views exist (BENCHMARKS.md, "A fast CLI").
//!
//! A sampled profile whose sample weights are whole and sum to at most `u32::MAX`, and whose every
//! node has a sample at or below it (every sampler's output), gets its numbers from the table as
//! the importer built it (parents before children): self from one pass over the samples,
//! inclusive weights from one backward pass, and whether a node's function is already on its
//! stack (only the outermost occurrence counts towards the total) from the folded parser's
//! nested bits or, without them, a walk that keeps the last node's path, the nodes split over
//! both cores. The walks are bounded (32 ancestor steps per node plus a constant): a profile of
//! deep recursion, like any other profile (pstats, fractional or negative weights, nodes without
//! samples), gets `None` and is built whole. Either way the numbers are those of
//! [`ProfileIndex::function_stats`], bit for bit (whole weights sum exactly in any order).
//!
//! [`ProfileIndex::build_deferred`]: crate::ProfileIndex::build_deferred
//! [`ProfileIndex::function_stats`]: crate::ProfileIndex::function_stats

use profview_model::{Profile, NO_PARENT};

use crate::par;
use crate::samples::add_whole_u32;
use crate::table::FunctionStats;

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
        if !add_whole_u32(&mut sum, w) {
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
