//! Node budgets on wide trees: a slice cut by `max_nodes` is exactly the first nodes of the
//! unlimited slice at the same level of detail, and every node that lost children to the budget
//! says so (`truncated`). Wide fan-outs make the slicer drop waiting nodes early, which this
//! checks against the unlimited slice.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_index::*;
use profview_model::*;

/// A root calling `fan` functions, each calling up to 7 others; weights from a fixed LCG (with
/// ties on purpose), whole or fractional.
fn wide(fan: u32, fractional: bool) -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let th = b.thread("main", None);
    let ids: Vec<FuncId> = (0..fan + 8).map(|i| b.function(&format!("f{i}"), "/app/m.py", i as i64)).collect();
    let mut x: u64 = 12345;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    for i in 0..fan {
        let kids = next() % 8;
        for k in 0..=kids {
            let w = (next() % 50 + 1) as f64 + if fractional { (next() % 4) as f64 * 0.25 } else { 0.0 };
            let frames: Vec<FuncId> =
                if k == 0 { vec![ids[0], ids[i as usize + 1]] } else { vec![ids[0], ids[i as usize + 1], ids[(fan + k) as usize]] };
            b.add_sample(&frames, th, w);
        }
    }
    let p = b.finish(Dialect::Gregg, Unit::Samples);
    assert!(p.check_valid().is_ok());
    ProfileIndex::build(p)
}

#[test]
fn budget_slices_are_prefixes_of_the_unlimited_slice() {
    for fractional in [false, true] {
        let idx = wide(400, fractional);
        let v = idx.default_view();
        for mode in [TreeMode::TopDown, TreeMode::Inverted] {
            for min_frac in [0.0, 0.0005, 0.002, 0.05] {
                let q = |max_nodes| TreeQuery { mode, lod: Lod { min_frac, max_nodes }, ..Default::default() };
                let full = idx.tree(&v, &q(1_000_000)).unwrap();
                assert!(full.nodes.len() > 20 || min_frac > 0.0, "{mode:?} {min_frac}: {} nodes", full.nodes.len());
                for max_nodes in [1, 2, 3, 7, 10, 33, 100, 401, 1000, 2000] {
                    let s = idx.tree(&v, &q(max_nodes)).unwrap();
                    let ctx = format!("{mode:?} min_frac {min_frac} max_nodes {max_nodes} fractional {fractional}");
                    assert_eq!(s.nodes.len(), max_nodes.min(full.nodes.len()), "{ctx}");
                    for (a, u) in s.nodes.iter().zip(&full.nodes) {
                        assert_eq!((&a.path, a.func, a.parent, a.merged), (&u.path, u.func, u.parent, u.merged), "{ctx}");
                        assert_eq!(a.total, u.total, "{ctx}");
                        assert_eq!(a.self_value, u.self_value, "{ctx}");
                    }
                    // A node whose children (in the unlimited slice) did not all make it is truncated.
                    for (i, a) in s.nodes.iter().enumerate() {
                        let lost = full.nodes[s.nodes.len()..].iter().any(|u| u.parent == Some(i as u32));
                        assert!(!lost || a.truncated, "{ctx}: node {i} ({}) lost children but is not truncated", a.path);
                        assert!(a.truncated || !full.nodes[i].truncated, "{ctx}: node {i} ({}) truncated only in the full slice", a.path);
                    }
                }
            }
        }
    }
}

#[test]
fn prepared_and_repeated_slices_equal_fresh_ones() {
    let (a, b) = (wide(300, true), wide(300, true));
    let (va, vb) = (a.default_view(), b.default_view());
    let top = b.tree(&vb, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 3 }, ..Default::default() }).unwrap();
    let root = parse_path(&top.nodes[1].path).unwrap();
    let mut queries = Vec::new();
    for mode in [TreeMode::TopDown, TreeMode::Inverted] {
        for (min_frac, max_nodes) in [(0.0005, 20_000), (0.0, 50), (0.01, 3000), (0.01, 2999)] {
            queries.push(TreeQuery { mode, root: Vec::new(), lod: Lod { min_frac, max_nodes } });
        }
    }
    queries.push(TreeQuery { mode: TreeMode::TopDown, root, lod: Lod::default() });
    a.prepare(&queries[..2]);
    for round in 0..3 {
        for q in &queries {
            assert_eq!(a.tree(&va, q).unwrap(), b.tree(&vb, q).unwrap(), "round {round}: {q:?}");
        }
    }
    // Different requests stay different (the key covers mode, root, min_frac and max_nodes).
    let n = |i: usize| a.tree(&va, &queries[i]).unwrap().nodes.len();
    assert_ne!(n(0), n(1));
    assert_ne!(n(2), n(6));
}

#[test]
fn slices_cut_from_a_kept_finer_slice_equal_fresh_walks() {
    // A kept complete slice at a finer level of detail answers coarser requests (whole weights);
    // each answer must be what a fresh index walks.
    for fine in [0.0, 0.0005, 0.003] {
        for mode in [TreeMode::TopDown, TreeMode::Inverted] {
            let a = wide(400, false);
            let va = a.default_view();
            let base = a.tree(&va, &TreeQuery { mode, root: Vec::new(), lod: Lod { min_frac: fine, max_nodes: 1_000_000 } }).unwrap();
            assert!(base.nodes.len() > 10, "{} nodes", base.nodes.len());
            for min_frac in [fine, 0.001, 0.004, 0.02, 0.3] {
                if min_frac < fine {
                    continue;
                }
                for max_nodes in [1, 2, 9, 40, 333, 5000] {
                    let q = TreeQuery { mode, root: Vec::new(), lod: Lod { min_frac, max_nodes } };
                    let fresh = wide(400, false);
                    let want = fresh.tree(&fresh.default_view(), &q).unwrap();
                    assert_eq!(a.tree(&va, &q).unwrap(), want, "{mode:?} fine {fine} -> {min_frac} / {max_nodes}");
                }
            }
        }
    }
}
