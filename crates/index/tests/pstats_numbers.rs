//! The numbers of pstats trees where they are estimates (a callee shared by two callers, the
//! `profile` module's edges without times): every expected value below is worked out by hand
//! from the four call chains of [`profile`], not taken from the program.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_index::*;
use profview_model::{
    CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit,
};

/// Call chains (each one call, its time at the leaf):
///
/// | chain          | time |
/// |----------------|------|
/// | main a c d     | 4    |
/// | main b c       | 2    |
/// | main b c d     | 6    |
/// | main a         | 1    |
///
/// Functions 0 main, 1 a, 2 b, 3 c, 4 d. Per function (nc, tt, ct): main (4, 0, 13),
/// a (2, 1, 5), b (2, 0, 8), c (3, 2, 12), d (2, 10, 10). Edges (nc, tt, ct): main→a (2, 1, 5),
/// main→b (2, 0, 8), a→c (1, 0, 4), b→c (2, 2, 8), c→d (2, 10, 10). With `timed = false` the
/// edges carry calls only, as the `profile` module writes them.
fn profile(timed: bool) -> ProfileIndex {
    index_of(
        &[(4, 0.0, 13.0), (2, 1.0, 5.0), (2, 0.0, 8.0), (3, 2.0, 12.0), (2, 10.0, 10.0)],
        &[(0, 1, 2, 1.0, 5.0), (0, 2, 2, 0.0, 8.0), (1, 3, 1, 0.0, 4.0), (2, 3, 2, 2.0, 8.0), (3, 4, 2, 10.0, 10.0)],
        timed,
    )
}

/// A pstats profile from per-function (nc, tt, ct) and (caller, callee, nc, tt, ct) edges
/// (grouped by callee, as the importer stores them); total time = Σ tt.
fn index_of(funcs: &[(u64, f64, f64)], edges: &[(u32, u32, u64, f64, f64)], timed: bool) -> ProfileIndex {
    let stats: Vec<Option<PstatsStats>> = funcs
        .iter()
        .map(|&(nc, tt, ct)| Some(PstatsStats { primcalls: nc, ncalls: nc, tottime: tt, cumtime: ct }))
        .collect();
    let edges: Vec<CallEdge> = edges
        .iter()
        .map(|&(caller, callee, nc, tt, ct)| CallEdge {
            caller: FuncId(caller),
            callee: FuncId(callee),
            ncalls: nc,
            primcalls: timed.then_some(nc),
            tottime: timed.then_some(tt),
            cumtime: timed.then_some(ct),
        })
        .collect();
    let names = ["main", "a", "b", "c", "d", "e", "f", "g"];
    let total_calls = funcs.iter().map(|f| f.0).sum();
    let p = Profile {
        format: Format::Pstats,
        dialect: if timed { Dialect::Cprofile } else { Dialect::Profile },
        unit: Unit::Seconds,
        functions: (0..funcs.len())
            .map(|i| Function { name: names[i].into(), file: "app.py".into(), line: i as i64 + 1 })
            .collect(),
        threads: vec![],
        pstats: Some(PstatsData {
            stats,
            edges,
            total_calls,
            prim_calls: total_calls,
            total_time: funcs.iter().map(|f| f.1).sum(),
        }),
        samples: None,
        lines_are_current: false,
    };
    p.check_valid().unwrap();
    ProfileIndex::build(p)
}

fn full() -> Lod {
    Lod { min_frac: 0.0, max_nodes: 1000 }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// (total, self, calls, min, max) of the node at `path` (function ids joined by `.`).
fn node(s: &Slice, path: &str) -> (f64, f64, f64, f64, f64) {
    let n = s.nodes.iter().find(|n| n.path == path && n.func.is_some()).unwrap_or_else(|| panic!("no node {path}"));
    (n.total, n.self_value, n.calls.unwrap(), n.total_min.unwrap(), n.total_max.unwrap())
}

fn check(s: &Slice, path: &str, want: (f64, f64, f64, f64, f64)) {
    let got = node(s, path);
    let pairs = [(got.0, want.0), (got.1, want.1), (got.2, want.2), (got.3, want.3), (got.4, want.4)];
    assert!(pairs.iter().all(|(a, b)| close(*a, *b)), "{path}: got {got:?}, want {want:?}");
}

fn tree(idx: &ProfileIndex, mode: TreeMode) -> Slice {
    let v = idx.default_view();
    (*idx.tree(&v, &TreeQuery { mode, root: vec![], lod: full() }).unwrap()).clone()
}

#[test]
fn top_down_splits_a_shared_callee_by_its_callers() {
    let s = tree(&profile(true), TreeMode::TopDown);
    assert!(close(s.grand_total, 13.0));
    // (total, self, calls, min, max)
    check(&s, "0", (13.0, 0.0, 4.0, 13.0, 13.0));
    check(&s, "0.1", (5.0, 1.0, 2.0, 5.0, 5.0));
    check(&s, "0.2", (8.0, 0.0, 2.0, 8.0, 8.0));
    // c under a and under b: the measured edges, exact.
    check(&s, "0.1.3", (4.0, 0.0, 1.0, 4.0, 4.0));
    check(&s, "0.2.3", (8.0, 2.0, 2.0, 8.0, 8.0));
    // d under c: c's node holds 4/12 (via a) and 8/12 (via b) of c, and 1/3 and 2/3 of its calls.
    // Bounds: at most c's node (4, 8); at least the edge minus the rest of c (10 - 8, 10 - 4).
    check(&s, "0.1.3.4", (10.0 / 3.0, 10.0 / 3.0, 2.0 / 3.0, 2.0, 4.0));
    check(&s, "0.2.3.4", (20.0 / 3.0, 20.0 / 3.0, 4.0 / 3.0, 6.0, 8.0));
    let mut exact: Vec<&str> = s.nodes.iter().filter(|n| n.func.is_some() && n.exactness == Exactness::Exact).map(|n| n.path.as_str()).collect();
    exact.sort();
    assert_eq!(exact, ["0", "0.1", "0.1.3", "0.2", "0.2.3"]);
    // The true values of the estimated nodes (4 and 6) lie within their bounds.
    let (_, _, _, lo, hi) = node(&s, "0.1.3.4");
    assert!(lo <= 4.0 && 4.0 <= hi);
    let (_, _, _, lo, hi) = node(&s, "0.2.3.4");
    assert!(lo <= 6.0 && 6.0 <= hi);
}

#[test]
fn inverted_splits_own_time_up_the_callers() {
    let s = tree(&profile(true), TreeMode::Inverted);
    // Leaves: the functions with own time (a 1, c 2, d 10); none of it is outside the edges.
    check(&s, "1", (1.0, 0.0, 2.0, 1.0, 1.0));
    check(&s, "3", (2.0, 0.0, 3.0, 2.0, 2.0));
    check(&s, "4", (10.0, 0.0, 2.0, 10.0, 10.0));
    // d's own time: all under c (edge tt 10, 2 calls); c is wholly called from a and b.
    check(&s, "4.3", (10.0, 0.0, 2.0, 10.0, 10.0));
    // Then split by c's callers' edge cumtimes, 4/12 and 8/12 (calls 1/3 and 2/3 of 2).
    check(&s, "4.3.1", (10.0 / 3.0, 0.0, 2.0 / 3.0, 2.0, 4.0));
    check(&s, "4.3.2", (20.0 / 3.0, 0.0, 4.0 / 3.0, 6.0, 8.0));
    // main calls a and b only; main is called by nobody, so what reaches it is its own.
    let (t, own, calls, _, _) = node(&s, "4.3.1.0");
    assert!(close(t, 10.0 / 3.0) && close(own, 10.0 / 3.0) && close(calls, 2.0 / 3.0), "{t} {own} {calls}");
    let (t, own, calls, _, _) = node(&s, "4.3.2.0");
    assert!(close(t, 20.0 / 3.0) && close(own, 20.0 / 3.0) && close(calls, 4.0 / 3.0), "{t} {own} {calls}");
    // c's own time (2) is all under b: the measured edge tt.
    check(&s, "3.2", (2.0, 0.0, 2.0, 2.0, 2.0));
    check(&s, "3.1", (0.0, 0.0, 1.0, 0.0, 0.0));
}

#[test]
fn resolved_roots_carry_the_same_numbers_as_the_full_tree() {
    let idx = profile(true);
    let v = idx.default_view();
    for (mode, path, want) in [
        (TreeMode::TopDown, vec![0, 2, 3, 4], (20.0 / 3.0, 20.0 / 3.0, 4.0 / 3.0)),
        (TreeMode::TopDown, vec![0, 1, 3], (4.0, 0.0, 1.0)),
        (TreeMode::Inverted, vec![4, 3, 2], (20.0 / 3.0, 0.0, 4.0 / 3.0)),
    ] {
        let root: Vec<FuncId> = path.iter().map(|&f| FuncId(f)).collect();
        let s = idx.tree(&v, &TreeQuery { mode, root, lod: full() }).unwrap();
        let r = &s.nodes[0];
        assert!(
            close(r.total, want.0) && close(r.self_value, want.1) && close(r.calls.unwrap(), want.2),
            "{mode:?} {path:?}: {} {} {:?}",
            r.total,
            r.self_value,
            r.calls
        );
    }
}

#[test]
fn profile_module_edges_split_the_callee_by_calls() {
    // Without edge times, an edge gets the callee's times in proportion to its calls: c (ct 12,
    // tt 2, 3 calls) gives 1/3 to a and 2/3 to b; d (ct 10, tt 10) all to c.
    let idx = profile(false);
    let v = idx.default_view();
    let callers: Vec<(u32, Option<u64>)> = idx.callers(&v, FuncId(3)).unwrap().iter().map(|e| (e.func.0, e.ncalls)).collect();
    assert_eq!(callers, [(1, Some(1)), (2, Some(2))]);
    let s = tree(&idx, TreeMode::TopDown);
    let total = |p: &str| node(&s, p).0;
    let own = |p: &str| node(&s, p).1;
    assert!(close(total("0.1"), 5.0) && close(total("0.2"), 8.0));
    assert!(close(total("0.1.3"), 4.0) && close(own("0.1.3"), 2.0 / 3.0));
    assert!(close(total("0.2.3"), 8.0) && close(own("0.2.3"), 4.0 / 3.0));
    assert!(close(total("0.1.3.4"), 10.0 / 3.0) && close(total("0.2.3.4"), 20.0 / 3.0));
    // Estimated edges: nothing below the top level is exact.
    let exact: Vec<&str> = s.nodes.iter().filter(|n| n.func.is_some() && n.exactness == Exactness::Exact).map(|n| n.path.as_str()).collect();
    assert_eq!(exact, ["0"]);
}

#[test]
fn merging_a_shared_callee_moves_its_times_to_its_callers() {
    // m:3 merges c into a and b. c's own time (2) goes by the edges' own times (0 from a, 2
    // from b); its callee d goes to a and b by their share of c's cumtime (4/12, 8/12): edges
    // a→d (2/3 call → 1, tt 10/3, ct 10/3) and b→d (4/3 → 1, tt 20/3, ct 20/3).
    let idx = profile(true);
    let v = idx.view(&Selection { thread: None, tf: "m:3".into() }).unwrap();
    assert!(idx.stats_in(&v, FuncId(3)).is_none());
    let tt = |f: u32| idx.stats_in(&v, FuncId(f)).unwrap().tottime.unwrap();
    assert!(close(tt(1), 1.0) && close(tt(2), 2.0) && close(tt(4), 10.0), "{} {} {}", tt(1), tt(2), tt(4));
    let callees = |f: u32| -> Vec<(u32, Option<u64>, f64, f64)> {
        idx.callees(&v, FuncId(f))
            .unwrap()
            .iter()
            .map(|e| (e.func.0, e.ncalls, e.tottime.unwrap(), e.cumtime.unwrap()))
            .collect()
    };
    let a = callees(1);
    assert_eq!(a.len(), 1);
    assert!(a[0].0 == 4 && a[0].1 == Some(1) && close(a[0].2, 10.0 / 3.0) && close(a[0].3, 10.0 / 3.0), "{a:?}");
    let b = callees(2);
    assert_eq!(b.len(), 1);
    assert!(b[0].0 == 4 && b[0].1 == Some(1) && close(b[0].2, 20.0 / 3.0) && close(b[0].3, 20.0 / 3.0), "{b:?}");
    let callers: Vec<u32> = idx.callers(&v, FuncId(4)).unwrap().iter().map(|e| e.func.0).collect();
    assert_eq!(callers, [1, 2]);
    // The tree: d's time under a and under b, now measured edges.
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: full() }).unwrap();
    assert!(close(node(&s, "0.1.4").0, 10.0 / 3.0) && close(node(&s, "0.2.4").0, 20.0 / 3.0));
}

/// The top level of a top-down tree: the functions at depth 1.
fn top_level(idx: &ProfileIndex) -> Vec<u32> {
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: full() }).unwrap();
    let mut t: Vec<u32> = s.nodes.iter().filter(|n| n.depth == 1).filter_map(|n| n.func).collect();
    t.sort_unstable();
    t
}

#[test]
fn a_recursion_cycle_without_an_entry_joins_the_top_level() {
    // main (0) calls nothing listed; a (1) ↔ b (2) call each other and nobody else calls them:
    // the cycle's largest cumtime, a, becomes a root and reaches b.
    let idx = index_of(
        &[(1, 100.0, 100.0), (2, 6.0, 10.0), (2, 4.0, 8.0)],
        &[(2, 1, 1, 3.0, 5.0), (1, 2, 1, 2.0, 4.0)],
        true,
    );
    assert_eq!(top_level(&idx), [0, 1]);
}

#[test]
fn roots_are_added_by_cumtime_until_they_hold_half_the_time() {
    // main (ct 1) enters the cycle a → b → c → a; own times 40, 30, 30 (total 100). The top
    // level takes the largest cumtime (a, 30) and stops at b: b's 20 is not above the 31
    // already covered, though that is under half of 100.
    let idx = index_of(
        &[(1, 0.0, 1.0), (2, 40.0, 30.0), (2, 30.0, 20.0), (1, 30.0, 15.0)],
        &[(0, 1, 1, 1.0, 1.0), (3, 1, 1, 1.0, 1.0), (1, 2, 2, 1.0, 1.0), (2, 3, 1, 1.0, 1.0)],
        true,
    );
    assert_eq!(top_level(&idx), [0, 1]);
}

#[test]
fn the_edge_table_order_does_not_matter() {
    // The same profile with its edges listed backwards: rows are sorted by endpoint, so every
    // tree node, and every path resolved as a slice root, has the same numbers.
    let fwd = profile(true);
    let funcs = [(4, 0.0, 13.0), (2, 1.0, 5.0), (2, 0.0, 8.0), (3, 2.0, 12.0), (2, 10.0, 10.0)];
    let mut edges = vec![(0, 1, 2, 1.0, 5.0), (0, 2, 2, 0.0, 8.0), (1, 3, 1, 0.0, 4.0), (2, 3, 2, 2.0, 8.0), (3, 4, 2, 10.0, 10.0)];
    edges.reverse();
    let bwd = index_of(&funcs, &edges, true);
    for mode in [TreeMode::TopDown, TreeMode::Inverted] {
        let (a, b) = (tree(&fwd, mode), tree(&bwd, mode));
        let key = |s: &Slice| {
            let mut v: Vec<(String, f64, f64, Option<f64>)> =
                s.nodes.iter().map(|n| (n.path.clone(), n.total, n.self_value, n.calls)).collect();
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        };
        assert_eq!(key(&a), key(&b), "{mode:?}");
        let v = bwd.default_view();
        for n in a.nodes.iter().filter(|n| n.func.is_some()) {
            let root: Vec<FuncId> = n.path.split('.').map(|x| FuncId(x.parse().unwrap())).collect();
            let r = bwd.tree(&v, &TreeQuery { mode, root, lod: full() }).unwrap();
            assert!(close(r.nodes[0].total, n.total), "{mode:?} {}: {} vs {}", n.path, r.nodes[0].total, n.total);
        }
    }
}

#[test]
fn an_other_node_of_estimated_children_is_estimated() {
    // min_frac 0.3 of 13 → cutoff 3.9: d under main;a;c (10/3, an estimate) is the one narrow
    // node; its "other" carries that value and is an estimate too.
    let idx = profile(true);
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.3, max_nodes: 100 } }).unwrap();
    let other: Vec<(&str, f64, u32, Exactness)> =
        s.nodes.iter().filter(|n| n.func.is_none() && n.merged > 0).map(|n| (n.path.as_str(), n.total, n.merged, n.exactness)).collect();
    assert_eq!(other.len(), 1, "{other:?}");
    assert_eq!((other[0].0, other[0].2, other[0].3), ("0.1.3", 1, Exactness::Estimated));
    assert!(close(other[0].1, 10.0 / 3.0));
}

#[test]
fn an_edge_without_calls_carries_no_time() {
    // `profile` module edges split the callee's times by calls; the only edge into a records
    // 0 calls, so it carries none of a's time (not 0/0).
    let idx = index_of(&[(1, 0.0, 6.0), (1, 6.0, 6.0)], &[(0, 1, 0, 0.0, 0.0)], false);
    let s = tree(&idx, TreeMode::TopDown);
    let (t, own, _, _, _) = node(&s, "0.1");
    assert_eq!((t, own), (0.0, 0.0));
}

#[test]
fn the_root_of_a_pstats_tree_has_no_own_time_when_the_top_level_holds_the_total() {
    // Σ tt = 13 = main's cumtime (the only top-level function): nothing is left for the root.
    let s = tree(&profile(true), TreeMode::TopDown);
    let root = s.nodes.iter().find(|n| n.depth == 0 && n.func.is_none()).unwrap();
    assert!(close(root.total, 13.0) && close(root.self_value, 0.0), "{} {}", root.total, root.self_value);
}

#[test]
fn a_focused_pstats_view_lists_the_focus_and_what_it_reaches_only() {
    // Focus on a (1): a calls c (3), c calls d (4); main (0) and b (2) are out of view.
    let idx = profile(true);
    let v = idx.view(&Selection { thread: None, tf: "f:1".into() }).unwrap();
    let (total, ids) = idx.query_functions_in(&v, &FunctionQuery { limit: 100, ..Default::default() });
    let mut ids: Vec<u32> = ids.iter().map(|f| f.0).collect();
    ids.sort_unstable();
    assert_eq!((total, ids), (3, vec![1, 3, 4]));
}

#[test]
fn edges_a_merge_creates_carry_their_callees_whole_time() {
    // main (0) → m (1) → z (4), y (3), x (2), each callee 2 s of own time; merging m gives main
    // three new edges, each with its callee's whole time (main is m's only caller), and the
    // tree lists them under main (ties of cost by function id).
    let idx = index_of(
        &[(1, 0.0, 7.0), (1, 1.0, 7.0), (1, 2.0, 2.0), (1, 2.0, 2.0), (1, 2.0, 2.0)],
        &[(0, 1, 1, 1.0, 7.0), (1, 4, 1, 2.0, 2.0), (1, 3, 1, 2.0, 2.0), (1, 2, 1, 2.0, 2.0)],
        true,
    );
    let v = idx.view(&Selection { thread: None, tf: "m:1".into() }).unwrap();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: full() }).unwrap();
    let under_main: Vec<u32> = s.nodes.iter().filter(|n| n.depth == 2).filter_map(|n| n.func).collect();
    assert_eq!(under_main, [2, 3, 4]);
    let e: Vec<(u32, f64, f64)> = idx.callees(&v, FuncId(0)).unwrap().iter().map(|e| (e.func.0, e.tottime.unwrap(), e.cumtime.unwrap())).collect();
    assert_eq!(e.len(), 3);
    assert!(e.iter().zip([2, 3, 4]).all(|(e, f)| e.0 == f && close(e.1, 2.0) && close(e.2, 2.0)), "{e:?}");
    // main's own time grew by m's (1 s, main being its only caller).
    assert!(close(idx.stats_in(&v, FuncId(0)).unwrap().tottime.unwrap(), 1.0));
}
