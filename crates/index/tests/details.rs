//! Details found unchecked by mutation testing (`docs/testing.md`): numbers no golden, property
//! or topical test looked at. Every expected value is worked out by hand from the tiny input of
//! its test, not taken from the program.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_index::*;
use profview_model::{
    CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit,
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
