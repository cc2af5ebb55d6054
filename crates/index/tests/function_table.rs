//! `ProfileIndex::build_deferred` (the function table straight from the stack table, the views
//! left for later: what `profview stats` prints and the server answers first) against `build`: every function's numbers bit for bit and the same pages in every order, on the
//! corpus files (with the importer's nested bits, without them, and with wrong ones) and on
//! profiles that must take the index's path (fractional weights, nodes without samples, pstats,
//! recursion deeper than the walk's budget).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::path::PathBuf;

use profview_import::{import, Limits};
use profview_index::*;
use profview_model::{Dialect, FuncId, Profile, SampleBuilder, Unit};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.to_string_lossy().ends_with(".json")).collect();
    v.sort();
    assert!(!v.is_empty(), "{}", root.display());
    v
}

/// Every corpus file (folded and other formats) that imports as a sampled profile, by name.
fn sampled_corpus() -> Vec<(String, profview_import::Imported)> {
    let mut out = Vec::new();
    for dir in ["folded", "other"] {
        for path in corpus(dir) {
            let name = path.display().to_string();
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(imp) = import(&name, &bytes, &Limits::default()) {
                if imp.profile.samples.is_some() {
                    out.push((name, imp));
                }
            }
        }
    }
    out
}

/// The table equals the built index's: stats bit for bit, and the first 25 rows of every order.
fn assert_same(table: &ProfileIndex, p: Profile, what: &str) {
    let idx = ProfileIndex::build(p);
    let (a, b) = (table.function_stats(), idx.function_stats());
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.listed, y.listed, "{what}: function {i} listed");
        assert_eq!(x.self_weight.map(f64::to_bits), y.self_weight.map(f64::to_bits), "{what}: function {i} self");
        assert_eq!(x.total_weight.map(f64::to_bits), y.total_weight.map(f64::to_bits), "{what}: function {i} total");
        assert_eq!((x.ncalls, x.tottime.map(f64::to_bits), x.cumtime.map(f64::to_bits)), (y.ncalls, y.tottime.map(f64::to_bits), y.cumtime.map(f64::to_bits)), "{what}: function {i} pstats");
    }
    assert_eq!(table.profile().functions, idx.profile().functions, "{what}: functions (grouped alike)");
    for sort in [None, Some(SortKey::SelfWeight), Some(SortKey::TotalWeight), Some(SortKey::Name), Some(SortKey::Cumtime)] {
        for order in [None, Some(SortOrder::Asc)] {
            let q = FunctionQuery { sort, order, limit: 25, ..Default::default() };
            assert_eq!(table.query_functions(&q), idx.query_functions(&q), "{what}: {sort:?} {order:?}");
        }
    }
    let q = FunctionQuery { filter: Some(TextFilter::Substring("a".into())), limit: 10, ..Default::default() };
    assert_eq!(table.query_functions(&q), idx.query_functions(&q), "{what}: filtered");
}

#[test]
fn sampled_corpus_files_give_the_index_numbers_straight_from_the_stack_table() {
    let mut direct = 0;
    for (name, imp) in sampled_corpus() {
        let is_folded = imp.profile.format == profview_model::Format::Folded;
        assert_eq!(imp.nested.is_some(), is_folded, "{name}: the folded parser, and only it, gives nested bits");
        // With the importer's bits, with the walk, and with bits of the wrong length.
        let with = ProfileIndex::build_deferred(imp.profile.clone(), imp.nested.clone());
        let walked = ProfileIndex::build_deferred(imp.profile.clone(), None);
        let words = imp.profile.samples.as_ref().unwrap().stacks.len().div_ceil(64);
        let wrong = ProfileIndex::build_deferred(imp.profile.clone(), Some(vec![0; words + 1]));
        assert_eq!(with.table_is_direct(), walked.table_is_direct(), "{name}");
        direct += usize::from(with.table_is_direct());
        assert_same(&with, imp.profile.clone(), &format!("{name} (nested bits)"));
        assert_same(&walked, imp.profile.clone(), &format!("{name} (walk)"));
        assert_same(&wrong, imp.profile, &format!("{name} (bits of the wrong length)"));
    }
    assert!(direct >= 10, "only {direct} corpus files took the direct path");
}

/// The nested bits decide the totals: flipping one changes a total (so they are read).
#[test]
fn the_nested_bits_are_what_the_totals_follow() {
    let text = b"main;f;g;f 3\nmain;f 1\n";
    let imp = import("r.folded", text, &Limits::default()).unwrap();
    let bits = imp.nested.clone().unwrap();
    // Nodes: main 0, f 1, g 2, f 3: only node 3 is nested.
    assert_eq!(bits, vec![0b1000]);
    let good = ProfileIndex::build_deferred(imp.profile.clone(), Some(bits));
    let f = imp.profile.functions.iter().position(|x| x.name == "f").unwrap();
    assert_eq!(good.function_stats()[f].total_weight, Some(4.0));
    let bad = ProfileIndex::build_deferred(imp.profile.clone(), Some(vec![0]));
    assert_eq!(bad.function_stats()[f].total_weight, Some(7.0), "a cleared bit counts the inner f again");
    assert_same(&good, imp.profile, "r.folded");
}

fn built(stacks: &[(&[usize], f64)], nfuncs: usize) -> Profile {
    let mut b = SampleBuilder::new();
    let f: Vec<FuncId> = (0..nfuncs).map(|i| b.function(&format!("f{i}"), "m.py", i as i64 + 1)).collect();
    let t = b.thread("1", None);
    for (st, w) in stacks {
        let s: Vec<FuncId> = st.iter().map(|&i| f[i]).collect();
        b.add_sample(&s, t, *w);
    }
    b.finish(Dialect::Gregg, Unit::Samples)
}

#[test]
fn other_profiles_take_the_index_path_with_the_same_numbers() {
    // Fractional and negative weights.
    for w in [0.5, -1.0] {
        let p = built(&[(&[0, 1, 2], 2.0), (&[0, 1], w), (&[0, 2, 1], 1.0)], 3);
        let t = ProfileIndex::build_deferred(p.clone(), None);
        assert!(!t.table_is_direct(), "weight {w}");
        assert_same(&t, p, &format!("weight {w}"));
    }
    // Whole weights: direct, with recursion counted once per stack.
    let p = built(&[(&[0, 1, 0, 1], 2.0), (&[0, 1], 1.0), (&[0, 2, 1], 1.0)], 3);
    let t = ProfileIndex::build_deferred(p.clone(), None);
    assert!(t.table_is_direct());
    assert_eq!(t.function_stats()[0].total_weight, Some(4.0));
    assert_eq!(t.function_stats()[1].total_weight, Some(4.0));
    assert_eq!(t.function_stats()[1].self_weight, Some(4.0));
    assert_same(&t, p, "recursion");
    // A node with no sample at or below it.
    let mut p = built(&[(&[0, 1], 2.0)], 3);
    let sd = p.samples.as_mut().unwrap();
    sd.stacks.parent.push(0);
    sd.stacks.func.push(FuncId(2));
    let t = ProfileIndex::build_deferred(p.clone(), None);
    assert!(!t.table_is_direct());
    assert_same(&t, p, "a node without samples");
}

#[test]
fn paths_rebuilt_beyond_the_walk_budget_build_the_index() {
    // Two chains of depth `d`, then leaves added alternately under the deepest node of each: each
    // leaf's parent is off the path the walk holds, so all `d` ancestors are looked up again —
    // `leaves × d` steps, over the budget of 32 per node plus 2^20.
    let table = |d: usize, leaves: usize| {
        let a: Vec<usize> = (0..d).collect();
        let b: Vec<usize> = std::iter::once(d).chain(0..d - 1).collect();
        let mut stacks: Vec<(Vec<usize>, f64)> = vec![(a.clone(), 1.0), (b.clone(), 1.0)];
        for k in 0..leaves {
            let leaf = d + 1 + k;
            stacks.push((a.iter().copied().chain([leaf]).collect(), 1.0));
            stacks.push((b.iter().copied().chain([leaf]).collect(), 1.0));
        }
        let refs: Vec<(&[usize], f64)> = stacks.iter().map(|(s, w)| (s.as_slice(), *w)).collect();
        built(&refs, d + 1 + leaves)
    };
    let p = table(3000, 1000);
    let t = ProfileIndex::build_deferred(p.clone(), None);
    assert!(!t.table_is_direct(), "the walk gives up");
    assert_same(&t, p, "paths rebuilt 2,000 times at depth 3,000");
    let p = table(100, 50);
    let t = ProfileIndex::build_deferred(p.clone(), None);
    assert!(t.table_is_direct(), "within the budget");
    assert_same(&t, p, "paths rebuilt 100 times at depth 100");
}

#[test]
fn a_pstats_profile_reads_the_index_table() {
    let path = corpus("pstats").into_iter().next().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let imp = import(&path.display().to_string(), &bytes, &Limits::default()).unwrap();
    let t = ProfileIndex::build_deferred(imp.profile.clone(), None);
    assert!(!t.table_is_direct());
    assert_same(&t, imp.profile, "pstats");
}

/// `ProfileIndex::build_deferred` (the server's: the table at once, the default view's graph
/// and trees on first use) answers exactly as `build`: table, trees both ways, zoomed trees,
/// callers and callees, sandwich; and the same again from several threads at once.
#[test]
fn a_deferred_index_answers_as_the_built_one() {
    let mut deferred_seen = 0;
    for (name, imp) in sampled_corpus() {
        let built = ProfileIndex::build(imp.profile.clone());
        let deferred = ProfileIndex::build_deferred(imp.profile, imp.nested);
        deferred_seen += 1;
        let (a, b) = (deferred.function_stats(), built.function_stats());
        assert_eq!(a, b, "{name}: stats");
        let q = FunctionQuery { limit: 30, ..Default::default() };
        let (va, vb) = (deferred.default_view(), built.default_view());
        assert_eq!(deferred.query_functions_in(&va, &q), built.query_functions_in(&vb, &q), "{name}: table");
        // The table, its search, the names and the totals answer without touching the stacks.
        let fq = FunctionQuery { filter: Some(TextFilter::Substring("a".into())), limit: 30, ..Default::default() };
        assert_eq!(deferred.query_functions_in(&va, &fq), built.query_functions_in(&vb, &fq), "{name}: search");
        assert_eq!(deferred.functions(), &built.profile().functions[..], "{name}: functions");
        assert_eq!(deferred.info(), built.info(), "{name}: info");
        assert_eq!(deferred.threads(), built.threads(), "{name}: threads before");
        assert!(deferred.is_pending() == deferred.table_is_direct(), "{name}: a direct table left the stacks alone");
        let top: Vec<FuncId> = built.query_functions_in(&vb, &FunctionQuery { limit: 4, ..Default::default() }).1;
        let mut queries = vec![TreeQuery::default(), TreeQuery { mode: TreeMode::Inverted, ..Default::default() }];
        let lod = Lod { min_frac: 0.0, max_nodes: 500 };
        queries.push(TreeQuery { lod, ..Default::default() });
        if let Some(&f) = top.first() {
            queries.push(TreeQuery { root: vec![f], lod, ..Default::default() });
        }
        // Two threads ask at once: one builds the view, the other waits for it.
        let answers = std::thread::scope(|s| {
            let h = s.spawn(|| queries.iter().map(|q| deferred.tree(&va, q).map(|x| (*x).clone())).collect::<Vec<_>>());
            let mine: Vec<_> = queries.iter().map(|q| deferred.tree(&va, q).map(|x| (*x).clone())).collect();
            (mine, h.join().unwrap())
        });
        for (i, q) in queries.iter().enumerate() {
            let want = built.tree(&vb, q).map(|x| (*x).clone());
            assert_eq!(answers.0[i], want, "{name}: tree {q:?}");
            assert_eq!(answers.1[i], want, "{name}: tree {q:?} (other thread)");
        }
        for &f in &top {
            assert_eq!(deferred.callers(&va, f), built.callers(&vb, f), "{name}: callers of {f:?}");
            assert_eq!(deferred.callees(&va, f), built.callees(&vb, f), "{name}: callees of {f:?}");
            assert_eq!(deferred.sandwich(&va, f, &lod), built.sandwich(&vb, f, &lod), "{name}: sandwich of {f:?}");
        }
        assert_eq!(deferred.threads(), built.threads(), "{name}: threads");
        assert!(!deferred.is_pending(), "{name}: the trees read the stacks");
        // Renumbered in place, the profile is the one the whole build renumbered.
        assert!(deferred.profile() == built.profile(), "{name}: profile");
        let t0 = Selection { thread: Some(0), tf: String::new() };
        let (ta, tb) = (deferred.view(&t0).unwrap(), built.view(&t0).unwrap());
        assert_eq!(deferred.tree(&ta, &TreeQuery::default()), built.tree(&tb, &TreeQuery::default()), "{name}: thread 0");
    }
    assert!(deferred_seen >= 10, "{deferred_seen}");
}
