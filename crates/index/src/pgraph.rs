//! pstats profiles: the caller→callee edge graph, edge-graph transforms (merge/hide a function
//! into its callers, drop self-recursion edges, focus) and the per-view data the trees use.

use profview_model::{CallEdge, FuncId, Profile, PstatsData, PstatsStats};
use rustc_hash::FxHashMap;

use crate::samples::Funcs;
use crate::transform::Op;
use crate::Csr;
use crate::par::join2;
use crate::table::total_key;

/// Most edges a merge may create before it is refused.
pub const MAX_MERGED_EDGES: usize = 8_000_000;

/// A pstats profile under one transform list.
#[derive(Debug)]
pub(crate) struct PstatsView {
    /// Rewritten data; `None` = the profile's own.
    pub data: Option<PstatsData>,
    /// Edge indices per callee, sorted by caller id.
    pub callers: Csr<u32>,
    /// Edge indices per caller, sorted by callee id.
    pub callees: Csr<u32>,
    /// Number of distinct callers other than the function itself.
    pub ncallers: Vec<u32>,
    /// Σ of the callers' edge cumtime (measured or estimated) per function, excluding self edges.
    pub caller_ct: Vec<f64>,
    /// Σ of the callers' edge tottime (measured or estimated) per function, excluding self edges.
    pub caller_tt: Vec<f64>,
    /// Σ of edge ncalls per callee (for the `profile` module's time-less edges).
    pub caller_nc: Vec<u64>,
    /// Listed functions without callers (other than themselves): the tree's top level.
    pub roots: Vec<u32>,
    /// Edge indices per caller sorted by edge cumtime, largest first, and the suffix sums of
    /// (cumtime, tottime) from each position to the end of the row: children narrower than the
    /// level of detail are summed in O(1) instead of one by one.
    pub callees_by_ct: Csr<u32>,
    pub callees_sfx: Csr<(f64, f64)>,
    /// Edge indices per callee sorted by edge cumtime (capped at the callee's cumtime), largest
    /// first, and the suffix sums of (capped cumtime, capped cumtime × caller's uncovered part).
    pub callers_by_ct: Csr<u32>,
    pub callers_sfx: Csr<(f64, f64)>,
    /// `f:` focus: the tree's single top-level function.
    pub focus: Option<u32>,
    /// `d:` depth limit for trees.
    pub depth_limit: Option<u32>,
    /// `t:` threshold (percent of the grand total) for trees.
    pub threshold: Option<f64>,
}

impl PstatsView {
    pub fn data<'a>(&'a self, p: &'a Profile) -> &'a PstatsData {
        match &self.data {
            Some(d) => d,
            None => p.pstats.as_ref().unwrap_or(&EMPTY.0),
        }
    }
}

struct Empty(PstatsData);
static EMPTY: Empty = Empty(PstatsData { stats: Vec::new(), edges: Vec::new(), total_calls: 0, prim_calls: 0, total_time: 0.0 });

/// Edge cumtime: measured, or (for the `profile` module) the callee's cumtime split by calls.
pub(crate) fn edge_ct(d: &PstatsData, caller_nc: &[u64], e: &CallEdge) -> (f64, bool) {
    match e.cumtime {
        Some(t) => (t, true),
        None => {
            let ct = d.stats[e.callee.idx()].map_or(0.0, |s| s.cumtime);
            let n = caller_nc[e.callee.idx()];
            (if n > 0 { ct * e.ncalls as f64 / n as f64 } else { 0.0 }, false)
        }
    }
}

/// Edge tottime: measured, or the callee's tottime split by calls.
pub(crate) fn edge_tt(d: &PstatsData, caller_nc: &[u64], e: &CallEdge) -> (f64, bool) {
    match e.tottime {
        Some(t) => (t, true),
        None => {
            let tt = d.stats[e.callee.idx()].map_or(0.0, |s| s.tottime);
            let n = caller_nc[e.callee.idx()];
            (if n > 0 { tt * e.ncalls as f64 / n as f64 } else { 0.0 }, false)
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Acc {
    nc: f64,
    cc: Option<f64>,
    tt: Option<f64>,
    ct: Option<f64>,
    order: u64,
}

fn add_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    }
}

/// Merges every masked function into its callers (see `docs/transforms.md`): a caller's tottime
/// grows by the merged function's tottime in proportion to the caller edges' tottime; the merged
/// function's callees become callees of each caller, scaled by the caller's share of its cumtime.
/// Functions without callers cannot be merged and stay.
pub(crate) fn merge_into_callers(d: &PstatsData, mask: &[bool]) -> Result<PstatsData, String> {
    let nf = d.stats.len();
    let mut stats = d.stats.clone();
    let mut map: FxHashMap<(u32, u32), Acc> = FxHashMap::default();
    let mut callers_of: Vec<Vec<u32>> = vec![Vec::new(); nf];
    let mut callees_of: Vec<Vec<u32>> = vec![Vec::new(); nf];
    for (k, e) in d.edges.iter().enumerate() {
        let key = (e.caller.0, e.callee.0);
        let a = map.entry(key).or_insert(Acc { order: k as u64, ..Default::default() });
        a.nc += e.ncalls as f64;
        a.cc = add_opt(a.cc, e.primcalls.map(|x| x as f64));
        a.tt = add_opt(a.tt, e.tottime);
        a.ct = add_opt(a.ct, e.cumtime);
        callers_of[e.callee.idx()].push(e.caller.0);
        callees_of[e.caller.idx()].push(e.callee.0);
    }
    let mut next_order = d.edges.len() as u64;
    for m in 0..nf as u32 {
        if !mask.get(m as usize).copied().unwrap_or(false) {
            continue;
        }
        let mut callers: Vec<u32> = callers_of[m as usize].clone();
        callers.sort_unstable();
        callers.dedup();
        callers.retain(|&c| c != m && map.contains_key(&(c, m)));
        if callers.is_empty() {
            continue;
        }
        let ce: Vec<Acc> = callers.iter().filter_map(|&c| map.get(&(c, m)).copied()).collect();
        // Own time goes to the callers by edge tottime (then cumtime, calls, equal shares).
        let pick = |f: &dyn Fn(&Acc) -> f64| -> Option<Vec<f64>> {
            let w: Vec<f64> = ce.iter().map(|a| f(a).max(0.0)).collect();
            let s: f64 = w.iter().sum();
            (s > 0.0 && s.is_finite()).then(|| w.iter().map(|x| x / s).collect())
        };
        let equal = vec![1.0 / ce.len() as f64; ce.len()];
        let tt_share = pick(&|a| a.tt.unwrap_or(0.0))
            .or_else(|| pick(&|a| a.ct.unwrap_or(0.0)))
            .or_else(|| pick(&|a| a.nc))
            .unwrap_or_else(|| equal.clone());
        let ct_share = pick(&|a| a.ct.unwrap_or(0.0)).or_else(|| pick(&|a| a.nc)).unwrap_or(equal);
        let m_tt = stats[m as usize].map_or(0.0, |s| s.tottime);
        for (k, &c) in callers.iter().enumerate() {
            if let Some(s) = stats[c as usize].as_mut() {
                s.tottime += m_tt * tt_share[k];
            }
        }
        let mut callees: Vec<u32> = callees_of[m as usize].clone();
        callees.sort_unstable();
        callees.dedup();
        callees.retain(|&x| x != m && map.contains_key(&(m, x)));
        for &x in &callees {
            let Some(e) = map.get(&(m, x)).copied() else { continue };
            for (k, &c) in callers.iter().enumerate() {
                let s = ct_share[k];
                let a = map.entry((c, x)).or_insert_with(|| {
                    next_order += 1;
                    Acc { order: next_order, ..Default::default() }
                });
                a.nc += e.nc * s;
                a.cc = add_opt(a.cc, e.cc.map(|v| v * s));
                a.tt = add_opt(a.tt, e.tt.map(|v| v * s));
                a.ct = add_opt(a.ct, e.ct.map(|v| v * s));
                callees_of[c as usize].push(x);
                callers_of[x as usize].push(c);
            }
            if map.len() > MAX_MERGED_EDGES {
                return Err(format!("merging would create more than {MAX_MERGED_EDGES} call edges; narrow the pattern"));
            }
        }
        for &c in &callers {
            map.remove(&(c, m));
        }
        for &x in &callees {
            map.remove(&(m, x));
        }
        map.remove(&(m, m));
        stats[m as usize] = None;
        callers_of[m as usize].clear();
        callees_of[m as usize].clear();
    }
    let mut entries: Vec<((u32, u32), Acc)> = map.into_iter().collect();
    entries.sort_unstable_by_key(|(_, a)| a.order);
    let edges = entries
        .into_iter()
        .map(|((c, x), a)| CallEdge {
            caller: FuncId(c),
            callee: FuncId(x),
            ncalls: a.nc.round().max(0.0) as u64,
            primcalls: a.cc.map(|v| v.round().max(0.0) as u64),
            tottime: a.tt,
            cumtime: a.ct,
        })
        .collect();
    Ok(PstatsData { stats, edges, total_calls: d.total_calls, prim_calls: d.prim_calls, total_time: d.total_time })
}

/// Builds a pstats view. Operations that need stacks are refused with a message. `job` runs on
/// the view's data beside the graph's last step (on the other core for a big graph).
pub(crate) fn build_view<R: Send>(
    p: &Profile,
    ops: &[Op],
    funcs: &Funcs<'_>,
    job: impl FnOnce(&PstatsData) -> R + Send,
) -> Result<(PstatsView, R), String> {
    let base = p.pstats.as_ref().unwrap_or(&EMPTY.0);
    let mut data: Option<PstatsData> = None;
    let mut focus = None;
    let mut depth_limit = None;
    let mut threshold = None;
    for op in ops {
        let cur = data.as_ref().unwrap_or(base);
        match op {
            Op::Focus(f) => {
                if cur.stats.get(f.idx()).is_none_or(|s| s.is_none()) {
                    return Err(format!("focus: no function {} in this profile", f.0));
                }
                focus = Some(f.0);
            }
            Op::Hide(m) => {
                let mask = funcs.mask(m);
                data = Some(merge_into_callers(cur, &mask)?);
            }
            Op::CollapseDirectRecursion => {
                let mut d = cur.clone();
                d.edges.retain(|e| e.caller != e.callee);
                data = Some(d);
            }
            Op::Depth(n) => depth_limit = Some(*n),
            Op::Threshold(t) => threshold = Some(*t),
            other => {
                return Err(format!(
                    "transform {:?} needs sampled stacks; a pstats profile only has caller→callee edges \
                     (pstats supports f, h, m, rec, d, t)",
                    other.keyword()
                ))
            }
        }
    }
    if let (Some(f), Some(d)) = (focus, &data) {
        if d.stats.get(f as usize).is_none_or(|s| s.is_none()) {
            return Err(format!("focus: function {f} was merged away by an earlier transform"));
        }
    }
    Ok(derive(p, data, focus, depth_limit, threshold, job))
}

fn derive<R: Send>(
    p: &Profile,
    data: Option<PstatsData>,
    focus: Option<u32>,
    depth_limit: Option<u32>,
    threshold: Option<f64>,
    job: impl FnOnce(&PstatsData) -> R + Send,
) -> (PstatsView, R) {
    let base = p.pstats.as_ref().unwrap_or(&EMPTY.0);
    let d = data.as_ref().unwrap_or(base);
    let nf = d.stats.len();
    let ne = d.edges.len();
    let mut cc = vec![0u32; nf];
    let mut ce = vec![0u32; nf];
    let mut caller_nc = vec![0u64; nf];
    // Compact copies of the edge endpoints and times, in one pass over the edge table: the row
    // sorts below read them at random.
    let mut ecaller_v: Vec<u32> = Vec::with_capacity(ne);
    let mut ecallee_v: Vec<u32> = Vec::with_capacity(ne);
    let mut ects_v: Vec<f64> = Vec::with_capacity(ne);
    let mut etts_v: Vec<f64> = Vec::with_capacity(ne);
    let mut estimated = false;
    for e in &d.edges {
        cc[e.callee.idx()] += 1;
        ce[e.caller.idx()] += 1;
        caller_nc[e.callee.idx()] = caller_nc[e.callee.idx()].saturating_add(e.ncalls);
        ecaller_v.push(e.caller.0);
        ecallee_v.push(e.callee.0);
        ects_v.push(e.cumtime.unwrap_or(0.0));
        etts_v.push(e.tottime.unwrap_or(0.0));
        estimated |= e.cumtime.is_none() || e.tottime.is_none();
    }
    if estimated {
        // Edges without times (the `profile` module): estimates from the calls of every edge.
        for (k, e) in d.edges.iter().enumerate() {
            ects_v[k] = edge_ct(d, &caller_nc, e).0;
            etts_v[k] = edge_tt(d, &caller_nc, e).0;
        }
    }
    let (ects, etts) = (&ects_v[..], &etts_v[..]);
    let (ecaller, ecallee) = (&ecaller_v[..], &ecallee_v[..]);
    let callers = Csr::from_counts(&cc, ecallee.iter().enumerate().map(|(k, &c)| (c as usize, k as u32)));
    let callees = Csr::from_counts(&ce, ecaller.iter().enumerate().map(|(k, &c)| (c as usize, k as u32)));
    // Two independent halves, one per core: the callers side (rows by caller, caller sums,
    // rows by capped cumtime with their suffix sums) and the callees side.
    let callers_side = move || {
        let mut callers = callers;
        let mut ncallers = vec![0u32; nf];
        let mut caller_ct = vec![0.0f64; nf];
        let mut caller_tt = vec![0.0f64; nf];
        let mut keys: Vec<u64> = Vec::new();
        for f in 0..nf {
            let row = callers.slice_mut(f);
            sort_row(row, ecaller, &mut keys);
            let mut last = None;
            for &k in row.iter() {
                let c = ecaller[k as usize];
                if c as usize == f {
                    continue;
                }
                if last != Some(c) {
                    ncallers[f] += 1;
                    last = Some(c);
                }
                caller_ct[f] += ects[k as usize];
                caller_tt[f] += etts[k as usize];
            }
        }
        let ct_of = |f: usize| d.stats[f].map_or(0.0, |s| s.cumtime);
        // Per function, once: the uncovered part of its cumtime (read once per caller edge).
        let unc: Vec<f64> = (0..nf)
            .map(|f| {
                let ct = ct_of(f);
                if ct <= 0.0 {
                    if ncallers[f] == 0 { 1.0 } else { 0.0 }
                } else {
                    (1.0 - caller_ct[f] / ct).clamp(0.0, 1.0)
                }
            })
            .collect();
        let mut callers_by_ct = callers.clone();
        let mut sfx_in: Vec<(f64, f64)> = Vec::with_capacity(ne);
        let mut buf: Vec<(f64, u32, f64)> = Vec::new();
        for f in 0..nf {
            let cap = ct_of(f).max(0.0);
            let row = callers_by_ct.slice_mut(f);
            buf.clear();
            buf.extend(row.iter().map(|&k| (ects[k as usize].min(cap), k, unc[ecaller[k as usize] as usize])));
            by_value(row, &mut buf);
            let start = sfx_in.len();
            let (mut sc, mut so) = (0.0, 0.0);
            for &(c, _, u) in buf.iter().rev() {
                sc += c;
                so += c * u;
                sfx_in.push((sc, so));
            }
            sfx_in[start..].reverse();
        }
        (callers, ncallers, caller_ct, caller_tt, callers_by_ct, sfx_in)
    };
    let callees_side = move || {
        let mut callees = callees;
        let mut keys: Vec<u64> = Vec::new();
        for f in 0..nf {
            sort_row(callees.slice_mut(f), ecallee, &mut keys);
        }
        let mut callees_by_ct = callees.clone();
        let mut sfx_out: Vec<(f64, f64)> = Vec::with_capacity(ne);
        let mut buf: Vec<(f64, u32, f64)> = Vec::new();
        for f in 0..nf {
            let row = callees_by_ct.slice_mut(f);
            buf.clear();
            buf.extend(row.iter().map(|&k| (ects[k as usize], k, etts[k as usize])));
            by_value(row, &mut buf);
            let start = sfx_out.len();
            let (mut sc, mut st) = (0.0, 0.0);
            for &(ct, _, tt) in buf.iter().rev() {
                sc += ct;
                st += tt;
                sfx_out.push((sc, st));
            }
            sfx_out[start..].reverse();
        }
        (callees, callees_by_ct, sfx_out)
    };
    let ((callers, ncallers, caller_ct, caller_tt, callers_by_ct, sfx_in), (callees, callees_by_ct, sfx_out)) =
        if ne >= 1 << 16 { join2(callers_side, callees_side) } else { (callers_side(), callees_side()) };
    let (ecaller, ecallee) = (&ecaller_v[..], &ecallee_v[..]);
    let (roots, r) = if ne >= 1 << 16 {
        join2(|| find_roots(d, &callers, &callees, ecaller, ecallee), || job(d))
    } else {
        (find_roots(d, &callers, &callees, ecaller, ecallee), job(d))
    };
    // The suffix sums are laid out row by row exactly like the rows they follow.
    let callees_sfx = Csr::from_parts(crate::csr::row_offsets(&ce), sfx_out);
    let callers_sfx = Csr::from_parts(crate::csr::row_offsets(&cc), sfx_in);
    let view = PstatsView {
        data,
        callers,
        callees,
        ncallers,
        caller_ct,
        caller_tt,
        caller_nc,
        roots,
        callees_by_ct,
        callees_sfx,
        callers_by_ct,
        callers_sfx,
        focus,
        depth_limit,
        threshold,
    };
    (view, r)
}

/// Sorts a row of edge indices by (endpoint, index); rows are filled in index order, so an
/// already ordered row is left alone.
fn sort_row(row: &mut [u32], end: &[u32], keys: &mut Vec<u64>) {
    if row.windows(2).all(|w| end[w[0] as usize] <= end[w[1] as usize]) {
        return;
    }
    keys.clear();
    keys.extend(row.iter().map(|&k| (end[k as usize] as u64) << 32 | k as u64));
    keys.sort_unstable();
    for (r, &k) in row.iter_mut().zip(keys.iter()) {
        *r = k as u32;
    }
}

/// Sorts a row by value, largest first, then by edge index (the order of
/// `sort_unstable_by(|a, b| v(b).total_cmp(&v(a)).then(a.cmp(&b)))`); `buf` holds
/// (value, edge index, payload) for the row and is sorted along.
fn by_value(row: &mut [u32], buf: &mut [(f64, u32, f64)]) {
    buf.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (r, &(_, k, _)) in row.iter_mut().zip(buf.iter()) {
        *r = k;
    }
}



/// The top level of the derived tree: listed functions whose callers are only themselves or
/// unlisted functions; then, while some listed function is not reachable from the top level
/// (a recursion cycle with no outside entry, e.g. `exec` → `<module>` → … → `exec`), the
/// unreached function with the largest cumtime joins the top level. Sorted by id.
fn find_roots(d: &PstatsData, callers: &Csr<u32>, callees: &Csr<u32>, ecaller: &[u32], ecallee: &[u32]) -> Vec<u32> {
    let nf = d.stats.len();
    let listed_v: Vec<bool> = d.stats.iter().map(|s| s.is_some()).collect();
    let listed = |f: usize| listed_v[f];
    let mut roots: Vec<u32> = (0..nf as u32)
        .filter(|&f| {
            listed(f as usize)
                && callers.slice(f as usize).iter().all(|&k| {
                    let c = ecaller[k as usize];
                    c == f || !listed(c as usize)
                })
        })
        .collect();
    let mut reached = vec![false; nf];
    let mut stack: Vec<u32> = Vec::new();
    let reach_from = |r: u32, reached: &mut Vec<bool>, stack: &mut Vec<u32>| {
        if reached[r as usize] {
            return;
        }
        reached[r as usize] = true;
        stack.push(r);
        while let Some(g) = stack.pop() {
            for &k in callees.slice(g as usize) {
                let h = ecallee[k as usize] as usize;
                if !reached[h] {
                    reached[h] = true;
                    stack.push(h as u32);
                }
            }
        }
    };
    for &r in &roots {
        reach_from(r, &mut reached, &mut stack);
    }
    let mut rest: Vec<u32> = (0..nf as u32).filter(|&f| listed(f as usize) && !reached[f as usize]).collect();
    if !rest.is_empty() {
        rest.sort_unstable_by(|&a, &b| {
            let (ca, cb) = (d.stats[a as usize].map_or(0.0, |s| s.cumtime), d.stats[b as usize].map_or(0.0, |s| s.cumtime));
            cb.total_cmp(&ca).then(a.cmp(&b))
        });
        for f in rest {
            if !reached[f as usize] {
                roots.push(f);
                reach_from(f, &mut reached, &mut stack);
            }
        }
        roots.sort_unstable();
    }
    // Reachable is not enough: a tiny root that calls into a recursion cycle (`exec` →
    // `<module>` → … → `exec`) reaches everything but carries none of its time. While the
    // top level holds less than half of the total own time, the function with the largest
    // cumtime joins it (pstats counts cumtime once per outermost call, so this is its real cost).
    let ct = |f: u32| d.stats[f as usize].map_or(0.0, |s| s.cumtime);
    let mut covered: f64 = roots.iter().map(|&r| ct(r)).sum();
    if covered < 0.5 * d.total_time {
        // In order of (cumtime, largest first; id), stopping at the first that is not above
        // `covered`. `covered` only grows, so only functions above its first value can ever be
        // taken: a heap of those pops them in that order without sorting the whole table.
        let floor = covered;
        let mut by_ct: std::collections::BinaryHeap<(u64, std::cmp::Reverse<u32>)> = (0..nf as u32)
            .filter(|&f| listed(f as usize) && ct(f) > floor)
            .map(|f| (total_key(ct(f)), std::cmp::Reverse(f)))
            .collect();
        while let Some((_, std::cmp::Reverse(f))) = by_ct.pop() {
            if covered >= 0.5 * d.total_time || ct(f) <= covered {
                break;
            }
            if roots.binary_search(&f).is_err() {
                let at = roots.binary_search(&f).unwrap_or_else(|i| i);
                roots.insert(at, f);
                covered += ct(f);
            }
        }
    }
    roots
}

/// The stats of a function in a view's data.
pub(crate) fn stats_of(d: &PstatsData, f: u32) -> Option<PstatsStats> {
    d.stats.get(f as usize).copied().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use profview_model::{Dialect, Format, Function, Unit};

    fn st(tt: f64, ct: f64, n: u64) -> Option<PstatsStats> {
        Some(PstatsStats { primcalls: n, ncalls: n, tottime: tt, cumtime: ct })
    }
    fn edge(a: u32, b: u32, n: u64, tt: f64, ct: f64) -> CallEdge {
        CallEdge { caller: FuncId(a), callee: FuncId(b), ncalls: n, primcalls: Some(n), tottime: Some(tt), cumtime: Some(ct) }
    }

    #[test]
    fn total_key_orders_like_total_cmp() {
        let v = [f64::NEG_INFINITY, -1e300, -2.5, -f64::MIN_POSITIVE, -0.0, 0.0, f64::MIN_POSITIVE, 1.0, 2.5, 1e300, f64::INFINITY];
        for a in v {
            for b in v {
                assert_eq!(total_key(a).cmp(&total_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn merge_conserves_total_tottime() {
        // main -> {a, b} -> m -> x
        let d = PstatsData {
            stats: vec![st(1.0, 10.0, 1), st(1.0, 4.0, 1), st(1.0, 5.0, 1), st(3.0, 7.0, 2), st(4.0, 4.0, 2)],
            edges: vec![
                edge(0, 1, 1, 1.0, 4.0),
                edge(0, 2, 1, 1.0, 5.0),
                edge(1, 3, 1, 1.0, 3.0),
                edge(2, 3, 1, 2.0, 4.0),
                edge(3, 4, 2, 4.0, 4.0),
            ],
            total_calls: 7,
            prim_calls: 7,
            total_time: 10.0,
        };
        let mask = vec![false, false, false, true, false];
        let out = merge_into_callers(&d, &mask).unwrap();
        assert!(out.stats[3].is_none());
        let tt: f64 = out.stats.iter().flatten().map(|s| s.tottime).sum();
        assert!((tt - 10.0).abs() < 1e-12);
        assert!((out.stats[1].unwrap().tottime - 2.0).abs() < 1e-12);
        assert!((out.stats[2].unwrap().tottime - 3.0).abs() < 1e-12);
        let ax = out.edges.iter().find(|e| e.caller.0 == 1 && e.callee.0 == 4).unwrap();
        assert!((ax.cumtime.unwrap() - 4.0 * 3.0 / 7.0).abs() < 1e-12);
        let _ = Profile {
            format: Format::Pstats,
            dialect: Dialect::Cprofile,
            unit: Unit::Seconds,
            functions: vec![Function { name: "x".into(), file: "x".into(), line: 0 }],
            threads: vec![],
            pstats: None,
            samples: None,
            lines_are_current: false,
        };
    }
}
