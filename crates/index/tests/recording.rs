//! Hybrid recordings (sampled stacks + the same run's cProfile numbers): the table carries both
//! sets of numbers, trees come from the samples, and the `idle` transform uses the recorded flag.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_import::{import, Limits};
use profview_index::{FunctionQuery, ProfileIndex, Selection, TreeQuery};
use profview_model::FuncId;

/// main → spin on MainThread (busy); main → wait on a worker, once busy and once recorded idle.
/// `threading.wait` is a name the heuristic calls idle: the recorded flag must win over it.
const REC: &str = r#"{"format": "profview-recording", "version": 1,
  "functions": [["app.py", 1, "main"], ["app.py", 10, "spin"], ["/usr/lib/python3.12/threading.py", 300, "wait"], ["~", 0, "<built-in method time.sleep>"]],
  "threads": [[1, 100, "MainThread"], [2, 200, "worker"]],
  "stacks": [[0, [0, 1], 12, 0, 0, 30, 0.30, 0.30],
             [1, [0, 2], 301, 0, 0, 5, 0.05, 0.05],
             [1, [0, 2], 305, 1, 0, 40, 0.40, 0.001]],
  "cprofile": {"stats": [[3, 7, 7, 0.4, 0.4], [1, 1000, 1000, 0.29, 0.29], [2, 3, 3, 0.05, 0.45], [0, 1, 1, 0.0, 0.75]],
               "edges": [[2, 3, 7, 7, 0.4, 0.4], [0, 1, 1000, 1000, 0.29, 0.29], [0, 2, 3, 3, 0.05, 0.45]]}}"#;

fn index() -> ProfileIndex {
    ProfileIndex::build(import("rec.pvrec", REC.as_bytes(), &Limits::default()).unwrap().profile)
}

fn fid(idx: &ProfileIndex, name: &str) -> FuncId {
    let i = idx.profile().functions.iter().position(|f| f.name == name).unwrap();
    FuncId(i as u32)
}

#[test]
fn rows_carry_sampled_and_exact_numbers() {
    let idx = index();
    let v = idx.default_view();
    assert!(!v.is_pstats(), "trees come from the samples");
    let spin = idx.stats_in(&v, fid(&idx, "spin")).unwrap();
    assert_eq!(spin.ncalls, Some(1000));
    assert_eq!(spin.tottime, Some(0.29));
    assert_eq!(spin.self_weight, Some(0.30));
    assert_eq!(spin.total_weight, Some(0.30));
    let main = idx.stats_in(&v, fid(&idx, "main")).unwrap();
    assert_eq!((main.ncalls, main.cumtime), (Some(1), Some(0.75)));
    assert!((main.total_weight.unwrap() - 0.75).abs() < 1e-12);
    // A function only cProfile saw (a C built-in) is listed with its exact numbers.
    let sleep = idx.stats_in(&v, fid(&idx, "<built-in method time.sleep>")).unwrap();
    assert_eq!(sleep.ncalls, Some(7));
    // The tree is exact and sums the samples.
    let t = idx.tree(&v, &TreeQuery::default()).unwrap();
    assert!(!t.estimated);
    assert!((t.nodes[0].total - 0.75).abs() < 1e-12);
    let (n, _) = idx.query_functions(&FunctionQuery { limit: 100, ..Default::default() });
    assert_eq!(n, 5, "4 functions + the <idle> marker, all listed");
}

#[test]
fn idle_filter_uses_the_recorded_flag() {
    let idx = index();
    let idle = idx.view(&Selection { thread: None, tf: "idle".into() }).unwrap();
    let t = idx.tree(&idle, &TreeQuery::default()).unwrap();
    // Only the 0.40 s flagged idle go; the busy samples in `wait` (an idle name) stay.
    assert!((t.nodes[0].total - 0.35).abs() < 1e-12, "{}", t.nodes[0].total);
    let wait = idx.stats_in(&idle, fid(&idx, "wait")).unwrap();
    assert!((wait.total_weight.unwrap() - 0.05).abs() < 1e-12);
}

#[test]
fn threads_are_listed_by_name() {
    let idx = index();
    let th = idx.threads();
    let names: Vec<_> = th.iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, vec![Some("MainThread".to_owned()), Some("worker".to_owned())]);
    assert!((th[1].total - 0.45).abs() < 1e-12);
}
