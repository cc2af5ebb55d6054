//! Golden tests on the real corpus: the index's call graph, trees and threads against the
//! numbers pstats / the ground-truth scripts computed from the same files.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use profview_index::*;
use profview_model::FuncId;
use serde_json::Value;

/// The repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`).
fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

fn corpus() -> PathBuf {
    fixtures().join("corpus")
}

fn load(rel: &str) -> (ProfileIndex, Value) {
    let path = corpus().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let imp = profview_import::import(rel, &bytes, &Default::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus().join(format!("{rel}.truth.json"))).unwrap()).unwrap();
    (ProfileIndex::build(imp.profile), truth)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

const PSTATS: &[&str] = &[
    "pstats/cprofile_tiny.prof",
    "pstats/cprofile_recursion.prof",
    "pstats/cprofile_pydoc.prof",
    "pstats/cprofile_black_one_file.prof",
    "pstats/cprofile_edge_names.prof",
    "pstats/merged_cprofile_flask_2runs.prof",
    "pstats/yappi_recursion_cpu.pstat",
];

/// Key of a truth function: `[file, line, name]` with a string name (code objects skipped).
fn key(k: &Value) -> Option<(String, i64, String)> {
    Some((k[0].as_str()?.to_owned(), k[1].as_i64()?, k[2].as_str()?.to_owned()))
}

#[test]
fn pstats_callers_and_callees_are_the_edge_table() {
    for rel in PSTATS {
        let (idx, truth) = load(rel);
        let v = idx.default_view();
        let p = idx.profile();
        let by_key: HashMap<(String, i64, String), FuncId> = p
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| ((f.file.clone(), f.line, f.name.clone()), FuncId(i as u32)))
            .collect();
        let funcs = truth["functions"].as_array().unwrap();
        let keys: Vec<Option<(String, i64, String)>> = funcs.iter().map(|f| key(&f[0])).collect();
        let mut edges = 0usize;
        let mut callee_truth: BTreeMap<FuncId, BTreeMap<FuncId, u64>> = BTreeMap::new();
        for (i, f) in funcs.iter().enumerate() {
            let Some(k) = &keys[i] else { continue };
            let id = by_key[k];
            let callers = idx.callers(&v, id).unwrap();
            let want = f[5].as_array().unwrap();
            assert_eq!(callers.len(), want.len(), "{rel} {k:?}");
            edges += callers.len();
            for c in want {
                let Some(ck) = &keys[c[0].as_u64().unwrap() as usize] else { continue };
                let cid = by_key[ck];
                let got = callers.iter().find(|e| e.func == cid).unwrap_or_else(|| panic!("{rel}: caller {ck:?} of {k:?}"));
                assert_eq!(got.ncalls, c[1].as_u64(), "{rel}");
                assert_eq!(got.cumtime, c[4].as_f64(), "{rel}");
                callee_truth.entry(cid).or_default().insert(id, c[1].as_u64().unwrap());
            }
            // The function's own numbers are the truth's.
            let s = idx.stats_in(&v, id).unwrap();
            assert_eq!(s.cumtime, f[4].as_f64(), "{rel}");
            assert_eq!(s.ncalls, f[2].as_u64(), "{rel}");
        }
        assert_eq!(edges as u64, truth["caller_edge_count"].as_u64().unwrap(), "{rel}");
        for (caller, want) in callee_truth {
            let got: BTreeMap<FuncId, u64> =
                idx.callees(&v, caller).unwrap().iter().filter(|e| want.contains_key(&e.func)).map(|e| (e.func, e.ncalls.unwrap())).collect();
            assert_eq!(got, want, "{rel}");
        }
    }
}

#[test]
fn pstats_trees_start_at_the_roots_and_keep_their_bounds() {
    for rel in PSTATS {
        let (idx, truth) = load(rel);
        let v = idx.default_view();
        let t = idx.tree(&v, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 5000 }, ..Default::default() }).unwrap();
        assert!(t.estimated);
        assert!(t.nodes[0].total >= truth["total_tt"].as_f64().unwrap() - 1e-12, "{rel}");
        // Top level: the functions nobody calls, with their whole cumtime, exact.
        let funcs = truth["functions"].as_array().unwrap();
        let roots: Vec<f64> = funcs
            .iter()
            .enumerate()
            .filter(|(i, f)| f[5].as_array().unwrap().iter().all(|c| c[0].as_u64() == Some(*i as u64)))
            .map(|(_, f)| f[4].as_f64().unwrap())
            .collect();
        let d1 = idx.view(&Selection { thread: None, tf: "d:1".into() }).unwrap();
        let t1 = idx.tree(&d1, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 100_000 }, ..Default::default() }).unwrap();
        assert!(t1.nodes.iter().all(|n| n.depth <= 1), "{rel}: d:1 keeps the top level only");
        let top: Vec<&SliceNode> = t1.nodes.iter().filter(|n| n.parent == Some(0) && n.func.is_some()).collect();
        assert!(top.iter().all(|n| n.exactness == Exactness::Exact));
        // Every callerless function is at the top level with its whole cumtime...
        let mut top_totals: Vec<f64> = top.iter().map(|n| n.total).collect();
        for r in &roots {
            let k = top_totals.iter().position(|t| t == r).unwrap_or_else(|| panic!("{rel}: root with ct {r} not on top"));
            top_totals.swap_remove(k);
        }
        // ... and every function is reachable from the top level (cycles without an outside
        // entry get their biggest function on top).
        let mut reached: std::collections::BTreeSet<u32> = top.iter().filter_map(|n| n.func).collect();
        for n in &top {
            let f = FuncId(n.func.unwrap());
            reached.extend(idx.all_callees(&v, f).unwrap().iter().map(|r| r.func.0));
        }
        let listed = (0..idx.profile().functions.len() as u32).filter(|&f| idx.stats_in(&v, FuncId(f)).is_some()).count();
        assert_eq!(reached.len(), listed, "{rel}");
        for n in &t.nodes {
            assert_eq!(n.exactness == Exactness::Exact, n.exactness == Exactness::Exact && n.total_min == n.total_max, "{rel}");
            if let (Some(lo), Some(hi)) = (n.total_min, n.total_max) {
                assert!(lo <= n.total + 1e-12 && n.total <= hi + 1e-12, "{rel} {}: {lo} {} {hi}", n.path, n.total);
            }
            // Zooming into any node gives the same node back.
            if n.func.is_some() && n.depth <= 3 && n.exactness != Exactness::Cut {
                let z = idx.tree(&v, &TreeQuery { root: parse_path(&n.path).unwrap(), lod: Lod { min_frac: 0.0, max_nodes: 2 }, ..Default::default() }).unwrap();
                assert!(close(z.nodes[0].total, n.total), "{rel} zoom {}", n.path);
            }
        }
        // Inverted: the leaf level is every function's own time.
        let inv = idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, lod: Lod { min_frac: 0.01, max_nodes: 100_000 }, ..Default::default() }).unwrap();
        let leaf_sum: f64 = inv.nodes.iter().filter(|n| n.parent == Some(0)).map(|n| n.total).sum();
        assert!(close(leaf_sum, truth["total_tt"].as_f64().unwrap()), "{rel}: {leaf_sum}");
        // Recursion is cut, never expanded.
        if rel.contains("recursion") {
            assert!(t.nodes.iter().any(|n| n.exactness == Exactness::Cut), "{rel}");
        }
    }
}

#[test]
fn pstats_sandwich_of_the_top_function() {
    let (idx, _) = load("pstats/cprofile_pydoc.prof");
    let v = idx.default_view();
    let (_, ids) = idx.query_functions(&FunctionQuery { limit: 20, ..Default::default() });
    for f in ids {
        let ct = idx.stats_in(&v, f).unwrap().cumtime.unwrap();
        let (up, down) = idx.sandwich(&v, f, &Lod::default()).unwrap();
        assert_eq!(up.nodes[0].total, ct);
        assert_eq!(down.nodes[0].total, ct);
        // Level 1 of the callers tree is the measured caller edges.
        for n in up.nodes.iter().filter(|n| n.parent == Some(0) && n.func.is_some() && n.func != Some(f.0)) {
            assert_eq!(n.exactness, Exactness::Exact);
            let e = idx.callers(&v, f).unwrap().into_iter().find(|e| Some(e.func.0) == n.func).unwrap();
            assert_eq!(Some(n.total), e.cumtime);
        }
    }
}

const FOLDED: &[&str] = &[
    "folded/pyspy_cpu_raw_default.txt",
    "folded/pyspy_recursion_raw_function.txt",
    "folded/pyspy_threads_raw_threads_idle_nolineno.txt",
    "folded/austin_cpu_sleepless.austin",
    "folded/austin_multiprocessing_children.austin",
    "folded/austin_sympy_memory.austin",
    "folded/inferno_perf_python.folded",
];

#[test]
fn folded_totals_threads_and_trees() {
    for rel in FOLDED {
        let (idx, truth) = load(rel);
        let v = idx.default_view();
        let total = truth["total_samples_or_metric"].as_f64().unwrap();
        let t = idx.tree(&v, &TreeQuery::default()).unwrap();
        assert!(close(t.nodes[0].total, total), "{rel}: {} vs {total}", t.nodes[0].total);
        assert!(!t.estimated);
        assert!(t.nodes.iter().all(|n| n.exactness == Exactness::Exact));
        // Threads add up to the whole, and each thread's tree is its total.
        let threads = idx.threads();
        let sum: f64 = threads.iter().map(|t| t.total).sum();
        assert!(close(sum, total), "{rel}");
        for th in &threads {
            let tv = idx.view(&Selection { thread: Some(th.index), tf: String::new() }).unwrap();
            let tt = idx.tree(&tv, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 1 }, ..Default::default() }).unwrap();
            assert!(close(tt.nodes[0].total, th.total), "{rel} thread {}", th.id);
        }
        // py-spy threads: per-thread totals are the truth's (grouped by thread id).
        if rel.contains("pyspy_threads") {
            let mut want: BTreeMap<String, f64> = BTreeMap::new();
            for t in truth["threads"].as_array().unwrap() {
                *want.entry(t["id"].as_str().unwrap().to_owned()).or_default() += t["total"].as_f64().unwrap();
            }
            let mut got: Vec<f64> = threads.iter().map(|t| t.total).collect();
            let mut w: Vec<f64> = want.values().copied().collect();
            got.sort_by(f64::total_cmp);
            w.sort_by(f64::total_cmp);
            assert_eq!(got, w, "{rel}");
            // Dropping idle frames removes the Condition.wait samples.
            let idle = idx.view(&Selection { thread: None, tf: "idle".into() }).unwrap();
            let it = idx.tree(&idle, &TreeQuery::default()).unwrap();
            assert!(it.nodes[0].total < total, "{rel}: idle samples dropped");
        }
        // Transforms that conserve the total.
        for tf in ["rec", "grp:pkg", "grp:mod", "d:5", "t:1", "h:re:^<"] {
            let tv = idx.view(&Selection { thread: None, tf: tf.into() }).unwrap();
            let tt = idx.tree(&tv, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 1 }, ..Default::default() }).unwrap();
            assert!(close(tt.nodes[0].total, total), "{rel} {tf}");
        }
        // Top of the table: total weight equals the truth's frame total for the biggest frame
        // (the truth's frames are the producer's, one per line: the table by line).
        let frames = truth["frames"].as_array().unwrap();
        let max_total = frames.iter().map(|f| f[2].as_f64().unwrap()).fold(f64::MIN, f64::max);
        let li = idx.by_line();
        let (_, top) = li.query_functions(&FunctionQuery { limit: 1, ..Default::default() });
        let got = li.stats_in(&li.default_view(), top[0]).unwrap().total_weight.unwrap();
        assert!(got <= max_total + 1e-9, "{rel}: {got} vs {max_total}");
    }
}

#[test]
fn package_classes_on_real_paths() {
    let (idx, _) = load("pstats/cprofile_black_one_file.prof");
    let mut seen = BTreeMap::new();
    for (i, f) in idx.profile().functions.iter().enumerate() {
        let p = idx.package(FuncId(i as u32)).unwrap();
        *seen.entry(p).or_insert(0) += 1;
        if f.file.contains("site-packages") {
            assert_eq!(p, Package::SitePackages, "{}", f.file);
        } else if f.file.starts_with("/usr/lib/python3.11/") {
            assert_eq!(p, Package::Stdlib, "{}", f.file);
        } else if f.file == "~" {
            assert_eq!(p, Package::Builtin, "{}", f.name);
        }
    }
    assert!(seen.len() >= 3, "{seen:?}");
    let v = idx.default_view();
    let (n, ids) = idx.query_functions_in(&v, &FunctionQuery { package: Some(Package::SitePackages), limit: 10_000, ..Default::default() });
    assert_eq!(n, ids.len());
    assert!(ids.iter().all(|&f| idx.package(f) == Some(Package::SitePackages)));
}

/// Group functions of `grp:pkg` (ids past the profile's own) carry their group's class, and the
/// profile's own functions keep theirs: the charts colour a `[stdlib]` box as stdlib and a
/// `[native]` one as native, from the `package` field.
#[test]
fn grouped_functions_carry_their_groups_package() {
    let (idx, _) = load("folded/pyspy_sympy_raw_native.txt");
    let v = idx.view(&Selection { thread: None, tf: "grp:pkg".into() }).unwrap();
    let own = idx.profile().functions.len();
    let mut seen = BTreeMap::new();
    for i in 0..v.function_count() as u32 {
        let Some(f) = idx.function_in(&v, FuncId(i)) else { continue };
        let p = idx.package_in(&v, FuncId(i));
        if (i as usize) < own {
            assert_eq!(p, classify_function(&f.name, &f.file), "{}", f.name);
            continue;
        }
        let want = match f.name.as_str() {
            "[stdlib]" => Package::Stdlib,
            "[builtin]" => Package::Builtin,
            "[native]" => Package::Native,
            _ => Package::SitePackages, // `[<distribution>]`
        };
        assert_eq!(p, want, "{}", f.name);
        *seen.entry(p).or_insert(0) += 1;
    }
    assert!(seen.contains_key(&Package::Stdlib) && seen.contains_key(&Package::Native), "{seen:?}");
}

/// The per-call columns are pstats' own: `tottime / ncalls` and `cumtime / primcalls` (pstats'
/// `print_stats` divides cumtime by the primitive calls), absent when the divisor is 0.
#[test]
fn per_call_columns_divide_as_pstats_does() {
    for rel in PSTATS {
        let (idx, truth) = load(rel);
        let v = idx.default_view();
        for (i, f) in truth["functions"].as_array().unwrap().iter().enumerate() {
            let Some(s) = idx.stats_in(&v, FuncId(i as u32)) else { continue };
            let (cc, nc, tt, ct) = (f[1].as_f64().unwrap(), f[2].as_f64().unwrap(), f[3].as_f64().unwrap(), f[4].as_f64().unwrap());
            let want_tt = (nc > 0.0).then(|| tt / nc);
            let want_ct = (cc > 0.0).then(|| ct / cc);
            assert_eq!(s.percall_tottime(), want_tt, "{rel} #{i}");
            assert_eq!(s.percall_cumtime(), want_ct, "{rel} #{i}");
        }
    }
}

/// A refused query says what is wrong, in the words the API answers with.
#[test]
fn query_errors_say_what_is_wrong() {
    let (idx, _) = load("pstats/cprofile_tiny.prof");
    let e = idx.view(&Selection { thread: Some(7), tf: String::new() }).unwrap_err();
    assert!(matches!(e, QueryError::BadRequest(_)), "{e:?}");
    assert!(e.to_string().contains("no threads"), "{e}");
    let e = idx.view(&Selection { thread: None, tf: "bogus:1".into() }).unwrap_err();
    assert!(matches!(e, QueryError::BadRequest(_)), "{e:?}");
    assert!(e.to_string().contains("bogus"), "{e}");
}
