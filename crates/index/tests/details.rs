//! Details found unchecked by mutation testing (`docs/testing.md`): numbers no golden, property
//! or topical test looked at. Every expected value is worked out by hand from the tiny input of
//! its test, not taken from the program.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use profview_index::*;
use profview_model::{
    CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, SampleBuilder, Unit, NO_PARENT,
};

/// A cProfile pstats profile from per-function (nc, tt, ct) and (caller, callee, nc, tt, ct)
/// edges; total time = Σ tt.
fn pstats(funcs: &[(u64, f64, f64)], edges: &[(u32, u32, u64, f64, f64)]) -> ProfileIndex {
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
            primcalls: Some(nc),
            tottime: Some(tt),
            cumtime: Some(ct),
        })
        .collect();
    let total_calls = funcs.iter().map(|f| f.0).sum();
    let p = Profile {
        format: Format::Pstats,
        dialect: Dialect::Cprofile,
        unit: Unit::Seconds,
        functions: (0..funcs.len())
            .map(|i| Function { name: format!("f{i}"), file: "app.py".into(), line: i as i64 + 1 })
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

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// (path, function, total, self, merged) of every node of a slice, parents first.
type Row = (String, Option<u32>, f64, f64, u32);

fn rows(s: &Slice) -> Vec<Row> {
    s.nodes.iter().map(|n| (n.path.clone(), n.func, n.total, n.self_value, n.merged)).collect()
}

fn check_rows(got: &[Row], want: &[(&str, Option<u32>, f64, f64, u32)]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        let ok = g.0 == w.0 && g.1 == w.1 && close(g.2, w.2) && close(g.3, w.3) && g.4 == w.4;
        assert!(ok, "got {g:?}, want {w:?} (all: {got:?})");
    }
}

/// Functions r1 0, r2 1, r3 2, p 3, g 4, f 5. Call chains (one call each, time at the leaf f):
///
/// | chain        | time |
/// |--------------|------|
/// | r1 g f       | 8    |
/// | p g f        | 1    |
/// | r2 p g f     | 1    |
/// | r3 g f       | 1    |
///
/// Per function (nc, tt, ct): r1 (1, 0, 8), r2 (1, 0, 1), r3 (1, 0, 1), p (2, 0, 2),
/// g (4, 0, 11), f (4, 11, 11). Edges (nc, tt, ct): r1→g (1, 0, 8), r2→p (1, 0, 1),
/// p→g (2, 0, 2), r3→g (1, 0, 1), g→f (4, 11, 11). p is half a top-level call: its callers
/// cover 1 of its cumtime 2.
fn half_root() -> ProfileIndex {
    pstats(
        &[(1, 0.0, 8.0), (1, 0.0, 1.0), (1, 0.0, 1.0), (2, 0.0, 2.0), (4, 0.0, 11.0), (4, 11.0, 11.0)],
        &[(0, 4, 1, 0.0, 8.0), (1, 3, 1, 0.0, 1.0), (3, 4, 2, 0.0, 2.0), (2, 4, 1, 0.0, 1.0), (4, 5, 4, 11.0, 11.0)],
    )
}

fn inverted(idx: &ProfileIndex, min_frac: f64) -> Slice {
    let v = idx.default_view();
    (*idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, root: vec![], lod: Lod { min_frac, max_nodes: 100 } }).unwrap())
        .clone()
}

#[test]
fn an_inverted_callers_other_node_holds_the_top_level_part_of_its_callers() {
    let idx = half_root();
    // The whole inverted tree. f's own 11 is all under g (edge tt 11); g's callers split it by
    // edge cumtime / g's cumtime: r1 8/11, p 2/11, r3 1/11 of 11. A caller's own value is the
    // part of it that is a top-level call: r1 and r3 have no callers (all of it), p half
    // (1 of 2 covered by r2); under p, r2 gets p's 2 × r2→p's 1/2 = 1, all its own.
    let all = rows(&inverted(&idx, 0.0));
    check_rows(
        &all,
        &[
            ("", None, 11.0, 0.0, 0),
            ("5", Some(5), 11.0, 0.0, 0),
            ("5.4", Some(4), 11.0, 0.0, 0),
            ("5.4.0", Some(0), 8.0, 8.0, 0),
            ("5.4.3", Some(3), 2.0, 1.0, 0),
            ("5.4.2", Some(2), 1.0, 1.0, 0),
            ("5.4.3.1", Some(1), 1.0, 1.0, 0),
        ],
    );
    // min_frac 0.25 of 11 → cutoff 2.75: under g only r1 (8) stays; p (2) and r3 (1) are the
    // narrow tail of g's callers, one "other" of 2 nodes: total 2 + 1 = 3, own 2 × 1/2 + 1 × 1
    // = 2 (the suffix sums of cumtime × uncovered part).
    let coarse = rows(&inverted(&idx, 0.25));
    check_rows(
        &coarse,
        &[
            ("", None, 11.0, 0.0, 0),
            ("5", Some(5), 11.0, 0.0, 0),
            ("5.4", Some(4), 11.0, 0.0, 0),
            ("5.4.0", Some(0), 8.0, 8.0, 0),
            ("5.4", None, 3.0, 2.0, 2),
        ],
    );
}

/// (total, self, calls) of the function node at `path`.
fn tcs(s: &Slice, path: &str) -> (f64, f64, f64) {
    let n = s.nodes.iter().find(|n| n.path == path && n.func.is_some()).unwrap_or_else(|| panic!("no node {path}"));
    (n.total, n.self_value, n.calls.unwrap())
}

fn check_tcs(s: &Slice, path: &str, want: (f64, f64, f64)) {
    let got = tcs(s, path);
    assert!(close(got.0, want.0) && close(got.1, want.1) && close(got.2, want.2), "{path}: got {got:?}, want {want:?}");
}

fn tree_tf(idx: &ProfileIndex, tf: &str, mode: TreeMode) -> Slice {
    let v = idx.view(&Selection { thread: None, tf: tf.into() }).unwrap();
    (*idx.tree(&v, &TreeQuery { mode, root: vec![], lod: Lod { min_frac: 0.0, max_nodes: 1000 } }).unwrap()).clone()
}

/// Functions main 0, a 1, b 2, c 3, d 4; c's calls and time are split unevenly between its
/// callers: a calls c once for 9 s, b twice for 3 s. Per function (nc, tt, ct): main (1, 0, 12),
/// a (1, 0, 9), b (1, 0, 3), c (3, 0, 12), d (3, 12, 12). Edges (nc, tt, ct): main→a (1, 0, 9),
/// main→b (1, 0, 3), a→c (1, 0, 9), b→c (2, 0, 3), c→d (3, 12, 12).
fn uneven() -> ProfileIndex {
    pstats(
        &[(1, 0.0, 12.0), (1, 0.0, 9.0), (1, 0.0, 3.0), (3, 0.0, 12.0), (3, 12.0, 12.0)],
        &[(0, 1, 1, 0.0, 9.0), (0, 2, 1, 0.0, 3.0), (1, 3, 1, 0.0, 9.0), (2, 3, 2, 0.0, 3.0), (3, 4, 3, 12.0, 12.0)],
    )
}

#[test]
fn pstats_calls_below_a_shared_callee_follow_its_calls_not_its_time() {
    let s = tree_tf(&uneven(), "", TreeMode::TopDown);
    // c under a: 1 of c's 3 calls, 9 of its 12 s; d below it gets 9/12 of d's time (all d's
    // own) but 1/3 of its 3 calls = 1. Under b: 3/12 of the time, 2/3 of the calls = 2.
    check_tcs(&s, "0.1.3", (9.0, 0.0, 1.0));
    check_tcs(&s, "0.1.3.4", (9.0, 9.0, 1.0));
    check_tcs(&s, "0.2.3", (3.0, 0.0, 2.0));
    check_tcs(&s, "0.2.3.4", (3.0, 3.0, 2.0));
    // Inverted: d's own 12 s and 3 calls, all under c (edge tt 12, 3 calls); c's callers split
    // them by edge cumtime (a 9/12, b 3/12) and by edge calls (a 1/3, b 2/3 of 3).
    let s = tree_tf(&uneven(), "", TreeMode::Inverted);
    check_tcs(&s, "4", (12.0, 0.0, 3.0));
    check_tcs(&s, "4.3", (12.0, 0.0, 3.0));
    check_tcs(&s, "4.3.1", (9.0, 0.0, 1.0));
    check_tcs(&s, "4.3.2", (3.0, 0.0, 2.0));
}

#[test]
fn a_pstats_depth_limit_folds_the_callees_time_into_the_last_level() {
    // d:3 on the profile of `pstats_numbers.rs` (main 0, a 1, b 2, c 3, d 4; c: ct 12, tt 2,
    // called by a (edge 4 s, tt 0) and b (edge 8 s, tt 2); c→d 10 s). The nodes of c are at
    // the third level: their children fold into them, scaled by the node's share of c.
    // c under a: 4/12 of c; own = edge tt 0 + 4/12 × 10 (c's callees) = 10/3.
    // c under b: 8/12 of c; own = edge tt 2 + 8/12 × 10 = 26/3.
    let idx = pstats(
        &[(4, 0.0, 13.0), (2, 1.0, 5.0), (2, 0.0, 8.0), (3, 2.0, 12.0), (2, 10.0, 10.0)],
        &[(0, 1, 2, 1.0, 5.0), (0, 2, 2, 0.0, 8.0), (1, 3, 1, 0.0, 4.0), (2, 3, 2, 2.0, 8.0), (3, 4, 2, 10.0, 10.0)],
    );
    let s = tree_tf(&idx, "d:3", TreeMode::TopDown);
    let t_s = |p: &str| (tcs(&s, p).0, tcs(&s, p).1);
    let got = [t_s("0.1.3"), t_s("0.2.3")];
    assert!(close(got[0].0, 4.0) && close(got[0].1, 10.0 / 3.0), "{got:?}");
    assert!(close(got[1].0, 8.0) && close(got[1].1, 26.0 / 3.0), "{got:?}");
    assert!(s.nodes.iter().all(|n| n.depth <= 3), "nothing below the third level");
}

#[test]
fn an_inverted_pstats_threshold_drops_light_callers_of_a_leaf() {
    // x (2) has 10 s of own time: 9 s called from p (0), 1 s from q (1). t:20 → cut 2 s of
    // the 10: q's 1 s under x is dropped (inverted trees do not fold it anywhere); p's 9 s stay,
    // all p's own (p has no callers).
    let idx = pstats(&[(1, 0.0, 9.0), (1, 0.0, 1.0), (2, 10.0, 10.0)], &[(0, 2, 1, 9.0, 9.0), (1, 2, 1, 1.0, 1.0)]);
    let s = tree_tf(&idx, "t:20", TreeMode::Inverted);
    let got: Vec<(&str, Option<u32>, f64, f64)> = s.nodes.iter().map(|n| (n.path.as_str(), n.func, n.total, n.self_value)).collect();
    assert_eq!(got, [("", None, 10.0, 0.0), ("2", Some(2), 10.0, 0.0), ("2.0", Some(0), 9.0, 9.0)]);
}

#[test]
fn a_sampled_child_exactly_at_the_cutoff_is_kept() {
    // main → x1 12, x2 2, x3 1, x4 1 (total 16); min_frac 1/8 → cutoff 2: under main, x2 (2)
    // stays a node, x3 and x4 become one "other" of 2 (own 2: they are leaves).
    let idx = common::main_calling(&[12.0, 2.0, 1.0, 1.0]);
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.125, max_nodes: 100 } }).unwrap();
    check_rows(
        &rows(&s),
        &[
            ("", None, 16.0, 0.0, 0),
            ("0", Some(0), 16.0, 0.0, 0),
            ("0.1", Some(1), 12.0, 12.0, 0),
            ("0.2", Some(2), 2.0, 2.0, 0),
            ("0", None, 2.0, 2.0, 2),
        ],
    );
}

#[test]
fn an_inverted_step_over_many_stacks_groups_every_caller() {
    // 140,000 stacks `x_i;leaf` (more than the 2 × 65,536 seeds a step takes on one thread):
    // x_i weighs 1, except the last, 140,000. Total 139,999 + 140,000 = 279,999. Under leaf,
    // at min_frac 0.1 (cutoff 27,999.9) the last x (function 140,000) is the one node; the
    // other 139,999 callers are one "other" of 139,999, all own weight (x_i are root frames).
    const N: u32 = 140_000;
    let mut b = SampleBuilder::new();
    let leaf = b.function("leaf", "app.py", 1);
    let t = b.thread("1", None);
    for i in 1..=N {
        let x = b.function(&format!("x{i}"), "lib.py", i as i64);
        b.add_sample(&[x, leaf], t, if i == N { N as f64 } else { 1.0 });
    }
    let idx = ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples));
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, root: vec![], lod: Lod { min_frac: 0.1, max_nodes: 100 } }).unwrap();
    let n = N as f64;
    check_rows(
        &rows(&s),
        &[
            ("", None, 2.0 * n - 1.0, 0.0, 0),
            ("0", Some(0), 2.0 * n - 1.0, 0.0, 0),
            ("0.140000", Some(N), n, n, 0),
            ("0", None, n - 1.0, n - 1.0, N - 1),
        ],
    );
}

/// The profile of `pstats_numbers.rs`: main 0, a 1, b 2, c 3, d 4. Per function (nc, tt, ct):
/// main (4, 0, 13), a (2, 1, 5), b (2, 0, 8), c (3, 2, 12), d (2, 10, 10). Edges (nc, tt,
/// ct): main→a (2, 1, 5), main→b (2, 0, 8), a→c (1, 0, 4), b→c (2, 2, 8), c→d (2, 10, 10).
fn shared_callee() -> ProfileIndex {
    pstats(
        &[(4, 0.0, 13.0), (2, 1.0, 5.0), (2, 0.0, 8.0), (3, 2.0, 12.0), (2, 10.0, 10.0)],
        &[(0, 1, 2, 1.0, 5.0), (0, 2, 2, 0.0, 8.0), (1, 3, 1, 0.0, 4.0), (2, 3, 2, 2.0, 8.0), (3, 4, 2, 10.0, 10.0)],
    )
}

#[test]
fn a_pstats_threshold_folds_light_callees_into_their_caller() {
    // t:30 → cut 3.9 s of 13. c under a holds 4/12 of c, so d below it gets 4/12 × 10 = 10/3,
    // under the cut: folded into c's own (edge tt 0 + 10/3). Under b, d gets 20/3 and stays.
    let s = tree_tf(&shared_callee(), "t:30", TreeMode::TopDown);
    let mut got: Vec<(&str, f64, f64)> = s.nodes.iter().filter(|n| n.func.is_some()).map(|n| (n.path.as_str(), n.total, n.self_value)).collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    let want = [
        ("0", 13.0, 0.0),
        ("0.1", 5.0, 1.0),
        ("0.1.3", 4.0, 10.0 / 3.0),
        ("0.2", 8.0, 0.0),
        ("0.2.3", 8.0, 2.0),
        ("0.2.3.4", 20.0 / 3.0, 20.0 / 3.0),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.0 == w.0 && close(g.1, w.1) && close(g.2, w.2), "got {got:?}");
    }
}

#[test]
fn a_pstats_other_node_below_a_partial_node_holds_its_share_of_own_time() {
    // min_frac 0.3 → cutoff 3.9: c under a holds 4/12 of c; its one callee d is 10/3 (narrow),
    // summed into an "other" whose own value is 4/12 of the edge c→d's tt 10 = 10/3.
    let idx = shared_callee();
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.3, max_nodes: 100 } }).unwrap();
    let other: Vec<Row> = rows(&s).into_iter().filter(|r| r.1.is_none() && r.4 > 0).collect();
    check_rows(&other, &[("0.1.3", None, 10.0 / 3.0, 10.0 / 3.0, 1)]);
}

/// main (0) calls f (1) through two rows of the edge table (two files merged without summing):
/// 3 calls with 1 s and 2 calls with 2 s (tt = ct: f calls nothing). main: (1, 1, 4); f: (5, 3, 3).
fn parallel_edges() -> ProfileIndex {
    pstats(&[(1, 1.0, 4.0), (5, 3.0, 3.0)], &[(0, 1, 3, 1.0, 1.0), (0, 1, 2, 2.0, 2.0)])
}

#[test]
fn parallel_pstats_edges_are_one_tree_node() {
    // f under main: 1 + 2 = 3 s (all own), 3 + 2 = 5 calls; both rows measured under a whole
    // main, so bounds 3..3 — in the full tree and as a resolved root.
    let idx = parallel_edges();
    let v = idx.default_view();
    let full = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.0, max_nodes: 100 } }).unwrap();
    let at = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![FuncId(0), FuncId(1)], lod: Lod { min_frac: 0.0, max_nodes: 100 } }).unwrap();
    let fs: Vec<&SliceNode> = full.nodes.iter().filter(|n| n.func == Some(1)).collect();
    assert_eq!(fs.len(), 1);
    for n in [fs[0], &at.nodes[0]] {
        let got = (n.path.as_str(), n.total, n.self_value, n.calls, n.total_min, n.total_max);
        assert_eq!(got, ("0.1", 3.0, 3.0, Some(5.0), Some(3.0), Some(3.0)));
    }
}

#[test]
fn whole_weights_summing_to_u32_max_are_still_renumbered_in_pre_order() {
    // Functions main 0, a 1, b 2, c 3; stacks `main;c` 1 and `main;a;b` 4,294,967,294, built
    // in that order (main, main;c, main;a, main;a;b). Their sum is u32::MAX, the most whole
    // weights may add up to, so the table is renumbered: main, main;a, main;a;b, main;c.
    let mut b = SampleBuilder::new();
    let f: Vec<FuncId> = ["main", "a", "b", "c"].iter().enumerate().map(|(i, n)| b.function(n, "app.py", i as i64 + 1)).collect();
    let t = b.thread("1", None);
    b.add_sample(&[f[0], f[3]], t, 1.0);
    b.add_sample(&[f[0], f[1], f[2]], t, u32::MAX as f64 - 1.0);
    let idx = ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples));
    let sd = idx.profile().samples.as_ref().unwrap();
    let funcs: Vec<u32> = sd.stacks.func.iter().map(|f| f.0).collect();
    assert_eq!(funcs, [0, 1, 2, 3]);
    assert_eq!(sd.stacks.parent, [NO_PARENT, 0, 1, 0]);
    // The samples keep their order, now pointing at main;c = 3 and main;a;b = 2.
    let samples: Vec<(u32, f64)> = sd.samples.iter().map(|s| (s.node, s.weight)).collect();
    assert_eq!(samples, [(3, 1.0), (2, 4_294_967_294.0)]);
    // The tree's numbers are exact at that size.
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.0, max_nodes: 100 } }).unwrap();
    let got: Vec<(&str, f64)> = s.nodes.iter().map(|n| (n.path.as_str(), n.total)).collect();
    assert_eq!(got, [("", 4_294_967_295.0), ("0", 4_294_967_295.0), ("0.1", 4_294_967_294.0), ("0.1.2", 4_294_967_294.0), ("0.3", 1.0)]);
}

#[test]
fn an_inverted_pstats_threshold_never_adds_dropped_callers_to_own_time() {
    // p (0) and q (1) call g (2), g calls leaf L (3). Per function (nc, tt, ct): p (1, 0, 7),
    // q (1, 0, 3), g (2, 7, 10), L (2, 3, 3); edges p→g (1, 4.9, 7), q→g (1, 2.1, 3),
    // g→L (2, 3, 3). Σ tt = 10; t:21 → cut 2.1.
    // Inverted, L's 3 s are all under g ("3.2", 3 of g's 10); g's callers split them 7/10 to p
    // and 3/10 to q. p's share is 21% of the total, exactly the cut: its sort key 3/10 × 7
    // computes as 2.1 (so it is taken as a big child) but the share itself, 3 × 7/10, as
    // 2.0999999999999996, under the cut, and is dropped there; q's 0.9 is dropped too. An
    // inverted tree drops what is under the threshold and adds it nowhere: "3.2" keeps its own
    // value, 3 × (g's uncovered part, 0) = 0.
    let idx = pstats(
        &[(1, 0.0, 7.0), (1, 0.0, 3.0), (2, 7.0, 10.0), (2, 3.0, 3.0)],
        &[(0, 2, 1, 4.9, 7.0), (1, 2, 1, 2.1, 3.0), (2, 3, 2, 3.0, 3.0)],
    );
    let s = tree_tf(&idx, "t:21", TreeMode::Inverted);
    let (total, own, _) = tcs(&s, "3.2");
    assert_eq!((total, own), (3.0, 0.0));
    // Whatever stays under it is at or above the cut.
    let at = s.nodes.iter().position(|n| n.path == "3.2" && n.func.is_some()).unwrap() as u32;
    assert!(s.nodes.iter().filter(|n| n.parent == Some(at)).all(|n| n.func.is_some() && n.total >= 2.1), "{:?}", rows(&s));
}

/// main (0) → x1 (1) 0.1, x2 (2) 0.2, x3 (3) 0.3, big (4) 10: fractional weights.
fn fractional() -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let main = b.function("main", "app.py", 1);
    let t = b.thread("1", None);
    for (i, w) in [0.1, 0.2, 0.3, 10.0].iter().enumerate() {
        let x = b.function(&format!("x{}", i + 1), "app.py", i as i64 + 2);
        b.add_sample(&[main, x], t, *w);
    }
    ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples))
}

#[test]
fn a_fractional_slice_does_not_depend_on_an_earlier_finer_one() {
    let lod = |min_frac: f64| TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac, max_nodes: 100 } };
    // At min_frac 0.06 (cutoff ≈ 0.64 of ≈ 10.6) x1, x2, x3 are one "other" under main, summed
    // in function order: (0.1 + 0.2) + 0.3, which in f64 is 0.6000000000000001.
    let fresh = fractional();
    let v = fresh.default_view();
    let want = (*fresh.tree(&v, &lod(0.06)).unwrap()).clone();
    let other: Vec<(f64, u32)> = want.nodes.iter().filter(|n| n.func.is_none() && n.merged > 0).map(|n| (n.total, n.merged)).collect();
    assert_eq!(other, [(0.1 + 0.2 + 0.3, 3)]);
    assert_ne!(0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1);
    // After a finer slice (min_frac 0.015: x2 and x3 are nodes, x1 an "other"), the same query
    // gives the same numbers to the bit: cutting the coarse slice from the fine one would sum
    // 0.3 + 0.2 + 0.1 = 0.6 instead (fractional sums depend on their order).
    let idx = fractional();
    let v = idx.default_view();
    let fine = idx.tree(&v, &lod(0.015)).unwrap();
    assert_eq!(fine.nodes.iter().filter(|n| n.func.is_some()).count(), 4, "main, big, x3, x2");
    assert_eq!(*idx.tree(&v, &lod(0.06)).unwrap(), want);
}
