//! Query details the golden and property tests leave unchecked (found by mutation testing,
//! `docs/testing.md`): the words of refused queries, the synthetic root of sample trees, parallel
//! pstats edges, and how many views the index keeps.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::sync::Arc;

use profview_index::*;
use profview_model::{
    CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, SampleBuilder, Unit,
};

/// `main;work 3`, `main;rest 1` on each of `threads` threads.
fn samples(threads: usize) -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let main = b.function("main", "app.py", 1);
    let work = b.function("work", "app.py", 5);
    let rest = b.function("rest", "app.py", 9);
    for t in 0..threads {
        let t = b.thread(&t.to_string(), None);
        b.add_sample(&[main, work], t, 3.0);
        b.add_sample(&[main, rest], t, 1.0);
    }
    ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples))
}

fn lod() -> Lod {
    Lod { min_frac: 0.0, max_nodes: 100 }
}

#[test]
fn refused_queries_say_what_is_missing() {
    let idx = samples(1);
    let v = idx.default_view();
    for mode in [TreeMode::TopDown, TreeMode::Inverted] {
        let q = TreeQuery { mode, root: vec![FuncId(0), FuncId(2), FuncId(1)], lod: lod() };
        let e = idx.tree(&v, &q).unwrap_err();
        let want = match mode {
            TreeMode::TopDown => "no tree node at path \"0.2.1\"",
            TreeMode::Inverted => "no inverted tree node at path \"0.2.1\"",
        };
        assert_eq!(e, QueryError::NotFound(want.into()));
        assert_eq!(e.to_string(), want);
    }
    let e = idx.view(&Selection { thread: Some(5), tf: String::new() }).unwrap_err();
    assert_eq!(e.to_string(), "no thread 5 (the profile has 1)");
}

#[test]
fn the_synthetic_root_of_a_sample_tree_has_no_function() {
    let idx = samples(1);
    let v = idx.default_view();
    for mode in [TreeMode::TopDown, TreeMode::Inverted] {
        let s = idx.tree(&v, &TreeQuery { mode, root: vec![], lod: lod() }).unwrap();
        let r = &s.nodes[0];
        assert_eq!((r.func, r.path.as_str(), r.total), (None, "", 4.0), "{mode:?}");
        let top: Vec<(Option<u32>, f64)> =
            s.nodes.iter().filter(|n| n.depth == 1).map(|n| (n.func, n.total)).collect();
        match mode {
            TreeMode::TopDown => assert_eq!(top, [(Some(0), 4.0)]),
            TreeMode::Inverted => assert_eq!(top, [(Some(1), 3.0), (Some(2), 1.0)]),
        }
    }
}

#[test]
fn parallel_pstats_edges_are_summed() {
    // Two files merged without summing: main→f appears twice (3 + 2 calls, 1 + 1 primitive).
    let st = |nc: u64, tt: f64, ct: f64| Some(PstatsStats { primcalls: nc, ncalls: nc, tottime: tt, cumtime: ct });
    let edge = |nc: u64, pc: u64, tt: f64, ct: f64| CallEdge {
        caller: FuncId(0),
        callee: FuncId(1),
        ncalls: nc,
        primcalls: Some(pc),
        tottime: Some(tt),
        cumtime: Some(ct),
    };
    let p = Profile {
        format: Format::Pstats,
        dialect: Dialect::Cprofile,
        unit: Unit::Seconds,
        functions: ["main", "f"].iter().map(|n| Function { name: (*n).into(), file: "a.py".into(), line: 1 }).collect(),
        threads: vec![],
        pstats: Some(PstatsData {
            stats: vec![st(2, 1.0, 4.0), st(5, 3.0, 3.0)],
            edges: vec![edge(3, 1, 1.0, 1.0), edge(2, 1, 2.0, 2.0)],
            total_calls: 7,
            prim_calls: 7,
            total_time: 4.0,
        }),
        samples: None,
        lines_are_current: false,
    };
    p.check_valid().unwrap();
    let idx = ProfileIndex::build(p);
    let v = idx.default_view();
    let want = EdgeInfo {
        func: FuncId(0),
        ncalls: Some(5),
        primcalls: Some(2),
        tottime: Some(3.0),
        cumtime: Some(3.0),
        weight: None,
    };
    assert_eq!(idx.callers(&v, FuncId(1)).unwrap(), [want]);
    let callees = idx.callees(&v, FuncId(0)).unwrap();
    assert_eq!((callees.len(), callees[0].func, callees[0].ncalls, callees[0].primcalls), (1, FuncId(1), Some(5), Some(2)));
}

#[test]
fn the_index_keeps_the_most_recent_views() {
    let n = VIEW_CACHE_ENTRIES;
    let idx = samples(n + 1);
    let sel = |t: usize| Selection { thread: Some(t as u32), tf: String::new() };
    let first: Vec<Arc<View>> = (0..=n).map(|t| idx.view(&sel(t)).unwrap()).collect();
    // Views 1..=n are still kept (the same view comes back); view 0, the oldest, was dropped.
    for (t, v) in first.iter().enumerate().skip(1) {
        assert!(Arc::ptr_eq(v, &idx.view(&sel(t)).unwrap()), "view {t} was not kept");
    }
    assert!(!Arc::ptr_eq(&first[0], &idx.view(&sel(0)).unwrap()));
    // Each thread view holds that thread's 4 samples.
    assert_eq!(idx.tree(&first[3], &TreeQuery { root: vec![], mode: TreeMode::TopDown, lod: lod() }).unwrap().nodes[0].total, 4.0);
}
