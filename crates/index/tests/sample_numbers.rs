//! Sampled profiles on a small input whose numbers are worked out by hand: the pre-order
//! renumbering of whole-weight profiles, the focus-path and threshold transforms, and the
//! callers and callees they leave, once with fractional weights and once with whole ones (the
//! index takes different paths for each).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::BTreeMap;

mod common;

use profview_index::*;
use profview_model::{Dialect, FuncId, SampleBuilder, Unit, NO_PARENT};

/// Functions main 0, a 1, b 2, c 3. Stacks (weights × `scale`):
/// `main;a;b` 2.5, `main;a` 0.5, `main;c` 0.25, `main;a;c` 0.75 (total 4). `main;c` comes
/// before `main;a`, so the stack table is not in pre-order as built.
fn index(scale: f64) -> ProfileIndex {
    index_with(scale, 0)
}

/// [`index`] with `unused` more functions that no sample names (many functions take another
/// path through the index).
fn index_with(scale: f64, unused: usize) -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let f: Vec<FuncId> = ["main", "a", "b", "c"].iter().enumerate().map(|(i, n)| b.function(n, "app.py", i as i64 + 1)).collect();
    for i in 0..unused {
        b.function(&format!("unused{i}"), "lib.py", i as i64 + 1);
    }
    let t = b.thread("1", None);
    b.add_sample(&[f[0], f[3]], t, 0.25 * scale);
    b.add_sample(&[f[0], f[1], f[2]], t, 2.5 * scale);
    b.add_sample(&[f[0], f[1]], t, 0.5 * scale);
    b.add_sample(&[f[0], f[1], f[3]], t, 0.75 * scale);
    ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// path → (total, self) of every function node of the full tree.
fn tree(idx: &ProfileIndex, tf: &str, mode: TreeMode) -> BTreeMap<String, (f64, f64)> {
    let v = idx.view(&Selection { thread: None, tf: tf.into() }).unwrap();
    let s = idx.tree(&v, &TreeQuery { mode, root: vec![], lod: Lod { min_frac: 0.0, max_nodes: 1000 } }).unwrap();
    s.nodes.iter().filter(|n| n.func.is_some()).map(|n| (n.path.clone(), (n.total, n.self_value))).collect()
}

fn check(got: &BTreeMap<String, (f64, f64)>, want: &[(&str, f64, f64)], scale: f64, what: &str) {
    let keys: Vec<&str> = got.keys().map(String::as_str).collect();
    let want_keys: Vec<&str> = want.iter().map(|w| w.0).collect();
    assert_eq!(keys, want_keys, "{what} ×{scale}");
    for (p, t, s) in want {
        let (gt, gs) = got[*p];
        assert!(close(gt, t * scale) && close(gs, s * scale), "{what} ×{scale} {p}: got ({gt}, {gs}), want ({}, {})", t * scale, s * scale);
    }
}

#[test]
fn whole_weights_renumber_the_stacks_in_pre_order() {
    // Pre-order with children by function id: main, main;a, main;a;b, main;a;c, main;c.
    let idx = index(4.0);
    let sd = idx.profile().samples.as_ref().unwrap();
    let funcs: Vec<u32> = sd.stacks.func.iter().map(|f| f.0).collect();
    assert_eq!(funcs, [0, 1, 2, 3, 3]);
    assert_eq!(sd.stacks.parent, [NO_PARENT, 0, 1, 1, 0]);
    // The samples keep their order and weights, with the new ids.
    let samples: Vec<(u32, f64)> = sd.samples.iter().map(|s| (s.node, s.weight)).collect();
    assert_eq!(samples, [(4, 1.0), (2, 10.0), (1, 2.0), (3, 3.0)]);
    // Fractional weights are left as built: main, main;c, main;a, main;a;b, main;a;c.
    let idx = index(1.0);
    let sd = idx.profile().samples.as_ref().unwrap();
    let funcs: Vec<u32> = sd.stacks.func.iter().map(|f| f.0).collect();
    assert_eq!(funcs, [0, 3, 1, 2, 3]);
}

#[test]
fn trees_callers_and_callees_of_the_input() {
    // Fractional weights, whole weights, and whole weights among more than 65,535 functions.
    for (scale, unused) in [(1.0, 0), (4.0, 0), (4.0, 70_000)] {
        let idx = index_with(scale, unused);
        let td = tree(&idx, "", TreeMode::TopDown);
        check(&td, &[("0", 4.0, 0.0), ("0.1", 3.75, 0.5), ("0.1.2", 2.5, 2.5), ("0.1.3", 0.75, 0.75), ("0.3", 0.25, 0.25)], scale, "top-down");
        // Inverted: own value is the weight of the stacks that are exactly this path (reversed).
        let inv = tree(&idx, "", TreeMode::Inverted);
        check(
            &inv,
            &[
                ("1", 0.5, 0.0),
                ("1.0", 0.5, 0.5),
                ("2", 2.5, 0.0),
                ("2.1", 2.5, 0.0),
                ("2.1.0", 2.5, 2.5),
                ("3", 1.0, 0.0),
                ("3.0", 0.25, 0.25),
                ("3.1", 0.75, 0.0),
                ("3.1.0", 0.75, 0.75),
            ],
            scale,
            "inverted",
        );
        let v = idx.default_view();
        let edges = |f: u32, up: bool| -> Vec<(u32, f64)> {
            let e = if up { idx.callers(&v, FuncId(f)) } else { idx.callees(&v, FuncId(f)) };
            e.unwrap().iter().map(|e| (e.func.0, e.weight.unwrap() / scale)).collect()
        };
        assert_eq!(edges(0, false), [(1, 3.75), (3, 0.25)]);
        assert_eq!(edges(1, false), [(2, 2.5), (3, 0.75)]);
        assert_eq!(edges(3, true), [(0, 0.25), (1, 0.75)]);
        assert_eq!(edges(2, true), [(1, 2.5)]);
        // Self and total per function: c is a leaf under main and under a.
        let st = |f: u32| {
            let s = idx.stats_in(&v, FuncId(f)).unwrap();
            (s.self_weight.unwrap() / scale, s.total_weight.unwrap() / scale)
        };
        assert_eq!([st(0), st(1), st(2), st(3)], [(0.0, 4.0), (0.5, 3.75), (2.5, 2.5), (1.0, 1.0)]);
    }
}

#[test]
fn focus_path_keeps_the_subtree_rerooted() {
    for scale in [1.0, 4.0] {
        let idx = index(scale);
        // fp:0.1: the samples under main;a, re-rooted at a.
        let td = tree(&idx, "fp:0.1", TreeMode::TopDown);
        check(&td, &[("1", 3.75, 0.5), ("1.2", 2.5, 2.5), ("1.3", 0.75, 0.75)], scale, "fp:0.1");
        let td = tree(&idx, "fp:0.3", TreeMode::TopDown);
        check(&td, &[("3", 0.25, 0.25)], scale, "fp:0.3");
        // A path that is not a prefix of any stack keeps nothing.
        let v = idx.view(&Selection { thread: None, tf: "fp:1".into() }).unwrap();
        let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod::default() }).unwrap();
        assert_eq!(s.nodes[0].total, 0.0);
    }
}

#[test]
fn threshold_folds_light_subtrees_into_their_parents() {
    for scale in [1.0, 4.0] {
        let idx = index(scale);
        // t:10 → cut 0.4: main;c (0.25) folds into main.
        let td = tree(&idx, "t:10", TreeMode::TopDown);
        check(&td, &[("0", 4.0, 0.25), ("0.1", 3.75, 0.5), ("0.1.2", 2.5, 2.5), ("0.1.3", 0.75, 0.75)], scale, "t:10");
        // t:20 → cut 0.8: main;a;c (0.75) folds into main;a as well.
        let td = tree(&idx, "t:20", TreeMode::TopDown);
        check(&td, &[("0", 4.0, 0.25), ("0.1", 3.75, 1.25), ("0.1.2", 2.5, 2.5)], scale, "t:20");
        // t:70 → cut 2.8: only main (4) and its subtree main;a (3.75) stay.
        let td = tree(&idx, "t:70", TreeMode::TopDown);
        check(&td, &[("0", 4.0, 0.25), ("0.1", 3.75, 3.75)], scale, "t:70");
    }
}

#[test]
fn narrow_children_are_summed_into_one_other_node() {
    // main → x1 10, x2 1, x3 1, x4 1 (total 13). At min_frac 0.2 (cutoff 2.6) x2..x4 become
    // one "other" node of 3 merged nodes weighing 3.
    let idx = common::main_calling(&[10.0, 1.0, 1.0, 1.0]);
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.2, max_nodes: 100 } }).unwrap();
    // x2..x4 are leaves: the "other" node's own weight is theirs, 3.
    let other: Vec<(f64, f64, u32, &str)> =
        s.nodes.iter().filter(|n| n.func.is_none() && n.merged > 0).map(|n| (n.total, n.self_value, n.merged, n.path.as_str())).collect();
    assert_eq!(other, [(3.0, 3.0, 3, "0")]);
    let named: Vec<(&str, f64)> = s.nodes.iter().filter(|n| n.func.is_some()).map(|n| (n.path.as_str(), n.total)).collect();
    assert_eq!(named, [("0", 13.0), ("0.1", 10.0)]);
    assert!(s.nodes.iter().find(|n| n.path == "0" && n.func.is_some()).unwrap().truncated);
}

#[test]
fn a_slice_that_used_its_whole_budget_is_not_reused_for_a_bigger_one() {
    // The full top-down tree has 6 nodes (the root and five). A 3-node slice is clipped; a
    // later 100-node query on the same view must still give all 6. (Whole weights: only their
    // views cut slices from kept ones.)
    let idx = index(4.0);
    let v = idx.default_view();
    let q = |max_nodes: usize| TreeQuery { mode: TreeMode::TopDown, root: vec![], lod: Lod { min_frac: 0.0, max_nodes } };
    let small = idx.tree(&v, &q(3)).unwrap();
    assert_eq!(small.nodes.len(), 3);
    assert_eq!(idx.tree(&v, &q(100)).unwrap().nodes.len(), 6);
    // Exactly as many nodes as the budget: complete, and the same as a bigger query.
    let six = idx.tree(&v, &q(6)).unwrap();
    assert_eq!(six.nodes.len(), 6);
    assert!(six.nodes.iter().all(|n| !n.truncated));
}

#[test]
fn an_inverted_leaf_exactly_at_the_cutoff_is_kept() {
    // Leaves x1 12, x2 2, x3 1, x4 1 (total 16); min_frac 1/8 → cutoff 2: x2 stays a node,
    // x3 and x4 become one "other" of 2.
    let mut b = SampleBuilder::new();
    let main = b.function("main", "app.py", 1);
    let t = b.thread("1", None);
    for (i, w) in [12.0, 2.0, 1.0, 1.0].iter().enumerate() {
        let x = b.function(&format!("x{}", i + 1), "app.py", i as i64 + 2);
        b.add_sample(&[main, x], t, *w);
    }
    let idx = ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples));
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, root: vec![], lod: Lod { min_frac: 0.125, max_nodes: 100 } }).unwrap();
    let top: Vec<(Option<u32>, f64, u32)> = s.nodes.iter().filter(|n| n.depth == 1).map(|n| (n.func, n.total, n.merged)).collect();
    assert_eq!(top, [(Some(1), 12.0, 0), (Some(2), 2.0, 0), (None, 2.0, 2)]);
}
