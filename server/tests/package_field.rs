//! The `package` field is the index's classification (`crates/index/src/classify.rs`) on every
//! row, edge, tree node and graph node the routes send, for every corpus file: the charts colour
//! from that field (app/js/charts.js has no classifier of its own), so the table and a chart can
//! no longer disagree about a function.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{corpus, get_json, state_with};
use profview_api::Package;
use profview_index::classify_function;
use serde_json::Value;

async fn ok(state: &profview_server::AppState, uri: &str) -> Value {
    let (s, v) = get_json(state, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

/// Checks one object with `name`, `file` and `package` (absent `package` only where allowed).
fn check(what: &str, v: &Value, seen: &mut BTreeSet<Package>) {
    let name = v["name"].as_str().unwrap();
    let file = v["file"].as_str().unwrap();
    let got: Package = serde_json::from_value(v["package"].clone()).unwrap_or_else(|e| panic!("{what} {name}: {e}: {v}"));
    assert_eq!(got, classify_function(name, file), "{what}: {name} in {file:?}");
    seen.insert(got);
}

async fn packages_of(rel: &str) -> BTreeSet<Package> {
    assert!(corpus(rel).exists(), "{rel}");
    let (state, ids) = state_with(&[rel]);
    let id = &ids[0];
    let mut seen = BTreeSet::new();
    let page = ok(&state, &format!("/api/profiles/{id}/functions?limit=10000")).await;
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len() as u64, page["total"].as_u64().unwrap(), "{rel}: one page holds every row");
    for r in rows {
        check("row", r, &mut seen);
    }
    for mode in ["top-down", "inverted"] {
        let t = ok(&state, &format!("/api/profiles/{id}/tree?mode={mode}&min_frac=0&max_nodes=50000")).await;
        for n in t["nodes"].as_array().unwrap() {
            if n["func"].is_null() {
                assert!(n["package"].is_null(), "{rel}: the root and merged nodes have no package: {n}");
            } else {
                check("tree node", n, &mut BTreeSet::new());
            }
        }
    }
    let g = ok(&state, &format!("/api/profiles/{id}/graph?n=200")).await;
    for n in g["nodes"].as_array().unwrap() {
        check("graph node", n, &mut BTreeSet::new());
    }
    for r in rows.iter().take(5) {
        let d = ok(&state, &format!("/api/profiles/{id}/functions/{}", r["id"])).await;
        check("detail", &d["function"], &mut BTreeSet::new());
        for e in d["callers"].as_array().unwrap().iter().chain(d["callees"].as_array().unwrap()) {
            check("edge", e, &mut BTreeSet::new());
        }
    }
    seen
}

#[tokio::test]
async fn pstats_rows_nodes_and_edges_carry_the_index_classification() {
    let mut all = BTreeSet::new();
    for rel in ["pstats/cprofile_pip_list.prof", "pstats/cprofile_black_one_file.prof", "pstats/yappi_threads_cpu.pstat"] {
        all.extend(packages_of(rel).await);
    }
    // cProfile's `~` built-ins, the stdlib and site-packages (pip's vendored code) all occur.
    for p in [Package::Builtin, Package::Stdlib, Package::SitePackages] {
        assert!(all.contains(&p), "{p} not seen: {all:?}");
    }
}

#[tokio::test]
async fn sampled_rows_nodes_and_edges_carry_the_index_classification_with_native_frames() {
    let mut all = BTreeSet::new();
    for rel in [
        "folded/pyspy_sympy_raw_native.txt",
        "folded/inferno_perf_xz_addrs.folded",
        "folded/austin_flask_full.austin",
        "other/perf6.1_xz.perf-script.txt",
    ] {
        all.extend(packages_of(rel).await);
    }
    // Shared objects, kernel frames and raw addresses are `native`, apart from Python's built-ins.
    for p in [Package::Native, Package::User, Package::Stdlib] {
        assert!(all.contains(&p), "{p} not seen: {all:?}");
    }
}
