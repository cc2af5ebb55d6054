//! Query routes through `router().oneshot()`: detail, reach lists, sandwich, tree slices,
//! threads, transforms, and the OpenAPI document.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::http::StatusCode;
use common::{get_json, state_with, truth};
use profview_server::AppState;
use serde_json::Value;

async fn ok(state: &AppState, uri: &str) -> Value {
    let (s, v) = get_json(state, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

async fn err(state: &AppState, uri: &str, want: StatusCode) -> String {
    let (s, v) = get_json(state, uri).await;
    assert_eq!(s, want, "{uri}: {v}");
    v["error"].as_str().unwrap_or_else(|| panic!("{uri}: no error field in {v}")).to_owned()
}


fn check_slice(v: &Value) {
    let nodes = v["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(nodes[0]["parent"].is_null());
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n["id"].as_u64(), Some(i as u64));
        if let Some(p) = n["parent"].as_u64() {
            assert!((p as usize) < i, "parents first");
            assert_eq!(n["depth"].as_u64().unwrap(), nodes[p as usize]["depth"].as_u64().unwrap() + 1);
        }
        for k in ["name", "file", "line", "path", "total", "self_value", "exactness", "truncated", "merged"] {
            assert!(!n[k].is_null(), "node field {k}");
        }
    }
}

#[tokio::test]
async fn folded_tree_slices_are_exact_and_zoomable() {
    let rel = "folded/pyspy_cpu_raw_default.txt";
    let (state, ids) = state_with(&[rel]);
    let total = truth(rel)["total_samples_or_metric"].as_f64().unwrap();
    let base = format!("/api/profiles/{}/tree", ids[0]);
    let v = ok(&state, &base).await;
    check_slice(&v);
    assert_eq!(v["mode"], "top-down");
    assert_eq!(v["unit"], "samples");
    assert_eq!(v["estimated"], false);
    assert_eq!(v["grand_total"].as_f64(), Some(total));
    assert_eq!(v["nodes"][0]["name"], "all");
    assert_eq!(v["nodes"][0]["total"].as_f64(), Some(total));
    let nodes = v["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["exactness"] == "exact"));
    // Zoom into the biggest child.
    let child = nodes.iter().find(|n| n["parent"] == 0 && !n["func"].is_null()).unwrap();
    let path = child["path"].as_str().unwrap();
    let z = ok(&state, &format!("{base}?root={path}&max_nodes=50&min_frac=0")).await;
    check_slice(&z);
    assert_eq!(z["nodes"][0]["path"], path);
    assert_eq!(z["nodes"][0]["total"], child["total"]);
    assert!(z["nodes"].as_array().unwrap().len() <= 50);
    // Inverted: leaves first; their totals add up to everything.
    let inv = ok(&state, &format!("{base}?mode=inverted&min_frac=0&max_nodes=50000")).await;
    check_slice(&inv);
    assert_eq!(inv["mode"], "inverted");
    let leaves: f64 = inv["nodes"].as_array().unwrap().iter().filter(|n| n["parent"] == 0).map(|n| n["total"].as_f64().unwrap()).sum();
    let empty_stacks = inv["nodes"][0]["self_value"].as_f64().unwrap();
    assert!((leaves + empty_stacks - total).abs() < 1e-9, "{leaves} + {empty_stacks} vs {total}");
    // The level of detail merges narrow children into one "other" per parent.
    let lod = ok(&state, &format!("{base}?min_frac=0.2")).await;
    let lnodes = lod["nodes"].as_array().unwrap();
    assert!(lnodes.iter().any(|n| n["name"].as_str().unwrap().starts_with("other (") && n["func"].is_null() && n["merged"].as_u64().unwrap() > 0));
    assert!(lnodes.iter().any(|n| n["truncated"] == true));
}

#[tokio::test]
async fn pstats_trees_are_estimates_with_bounds() {
    let (state, ids) = state_with(&["pstats/cprofile_pydoc.prof"]);
    let base = format!("/api/profiles/{}/tree", ids[0]);
    let v = ok(&state, &format!("{base}?max_nodes=3000&min_frac=0")).await;
    check_slice(&v);
    assert_eq!(v["estimated"], true);
    assert_eq!(v["unit"], "seconds");
    let nodes = v["nodes"].as_array().unwrap();
    assert!(nodes.len() <= 3000);
    assert!(nodes.iter().any(|n| n["exactness"] == "estimated"));
    assert!(nodes.iter().any(|n| n["exactness"] == "exact"));
    for n in nodes.iter().filter(|n| !n["func"].is_null()) {
        let (lo, t, hi) = (n["total_min"].as_f64().unwrap(), n["total"].as_f64().unwrap(), n["total_max"].as_f64().unwrap());
        assert!(lo <= t + 1e-12 && t <= hi + 1e-12, "{n}");
        assert!(n["calls"].is_number());
        assert!(n["package"].is_string());
    }
    let inv = ok(&state, &format!("{base}?mode=inverted&max_nodes=100")).await;
    check_slice(&inv);
    assert_eq!(inv["mode"], "inverted");
    // pstats has no stacks and no threads: clear 400s.
    let e = err(&state, &format!("{base}?tf=grp:pkg"), StatusCode::BAD_REQUEST).await;
    assert!(e.contains("grp:pkg") && e.contains("pstats"), "{e}");
    let e = err(&state, &format!("{base}?thread=0"), StatusCode::BAD_REQUEST).await;
    assert!(e.contains("thread"), "{e}");
    // Edge-graph transforms apply.
    let (_, top) = get_json(&state, &format!("/api/profiles/{}/functions?limit=3", ids[0])).await;
    let fid = top["rows"][2]["id"].as_u64().unwrap();
    let f = ok(&state, &format!("{base}?tf=f:{fid}")).await;
    assert_eq!(f["nodes"][1]["func"].as_u64(), Some(fid));
    let m = ok(&state, &format!("{base}?tf=m:{fid}~rec~d:4~t:0.5")).await;
    assert!(m["nodes"].as_array().unwrap().iter().all(|n| n["func"].as_u64() != Some(fid)));
    assert!(m["nodes"].as_array().unwrap().iter().all(|n| n["depth"].as_u64().unwrap() <= 4));
}

#[tokio::test]
async fn tree_parameters_are_checked() {
    let (state, ids) = state_with(&["folded/pyspy_cpu_raw_default.txt"]);
    let base = format!("/api/profiles/{}/tree", ids[0]);
    for (q, code) in [
        ("mode=sideways", StatusCode::BAD_REQUEST),
        ("min_frac=2", StatusCode::BAD_REQUEST),
        ("min_frac=x", StatusCode::BAD_REQUEST),
        ("max_nodes=0", StatusCode::BAD_REQUEST),
        ("max_nodes=-1", StatusCode::BAD_REQUEST),
        ("root=a.b", StatusCode::BAD_REQUEST),
        ("root=999999", StatusCode::NOT_FOUND),
        ("tf=zzz", StatusCode::BAD_REQUEST),
        ("tf=h:re:(", StatusCode::BAD_REQUEST),
        ("thread=99", StatusCode::NOT_FOUND),
        ("thread=x", StatusCode::BAD_REQUEST),
    ] {
        let e = err(&state, &format!("{base}?{q}"), code).await;
        assert!(!e.is_empty(), "{q}");
    }
    err(&state, "/api/profiles/0000/tree", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn function_detail_reach_and_sandwich() {
    let (state, ids) = state_with(&["pstats/cprofile_pydoc.prof"]);
    let p = &ids[0];
    let (_, top) = get_json(&state, &format!("/api/profiles/{p}/functions?limit=5")).await;
    let fid = top["rows"][3]["id"].as_u64().unwrap();
    let d = ok(&state, &format!("/api/profiles/{p}/functions/{fid}")).await;
    assert_eq!(d["function"]["id"].as_u64(), Some(fid));
    assert_eq!(d["function"]["cumtime"], top["rows"][3]["cumtime"]);
    let callers = d["callers"].as_array().unwrap();
    let callees = d["callees"].as_array().unwrap();
    assert!(!callers.is_empty() || !callees.is_empty());
    for e in callers.iter().chain(callees) {
        for k in ["id", "name", "file", "line", "ncalls", "cumtime", "tottime"] {
            assert!(!e[k].is_null(), "{k} in {e}");
        }
    }
    // Every direct callee is an all-callee at distance 1, and the list is nearest first.
    let all = ok(&state, &format!("/api/profiles/{p}/functions/{fid}/all-callees")).await;
    let rows = all["rows"].as_array().unwrap();
    assert!(rows.windows(2).all(|w| w[0]["distance"].as_u64() <= w[1]["distance"].as_u64()));
    for c in callees.iter().filter(|c| c["id"].as_u64() != Some(fid)) {
        assert!(rows.iter().any(|r| r["id"] == c["id"] && r["distance"] == 1), "{c}");
    }
    let up = ok(&state, &format!("/api/profiles/{p}/functions/{fid}/all-callers")).await;
    for c in callers.iter().filter(|c| c["id"].as_u64() != Some(fid)) {
        assert!(up["rows"].as_array().unwrap().iter().any(|r| r["id"] == c["id"] && r["distance"] == 1));
    }
    let s = ok(&state, &format!("/api/profiles/{p}/functions/{fid}/sandwich?max_nodes=200")).await;
    check_slice(&s["callers"]);
    check_slice(&s["callees"]);
    assert_eq!(s["callers"]["mode"], "inverted");
    assert_eq!(s["callees"]["mode"], "top-down");
    assert_eq!(s["callers"]["nodes"][0]["func"].as_u64(), Some(fid));
    assert_eq!(s["callees"]["nodes"][0]["func"].as_u64(), Some(fid));
    assert_eq!(s["callees"]["nodes"][0]["total"], d["function"]["cumtime"]);
    // Costliest edges first, `limit` cuts, the totals say how many there are.
    assert!(callees.windows(2).all(|w| w[0]["cumtime"].as_f64() >= w[1]["cumtime"].as_f64()));
    assert_eq!(d["callees_total"].as_u64(), Some(callees.len() as u64));
    let one = ok(&state, &format!("/api/profiles/{p}/functions/{fid}?limit=1")).await;
    assert!(one["callees"].as_array().unwrap().len() <= 1);
    assert_eq!(one["callees_total"], d["callees_total"]);
    if let Some(first) = callees.first() {
        assert_eq!(&one["callees"][0], first);
    }
    // Errors.
    err(&state, &format!("/api/profiles/{p}/functions/{fid}?limit=x"), StatusCode::BAD_REQUEST).await;
    err(&state, &format!("/api/profiles/{p}/functions/abc"), StatusCode::BAD_REQUEST).await;
    err(&state, &format!("/api/profiles/{p}/functions/99999999"), StatusCode::NOT_FOUND).await;
    err(&state, &format!("/api/profiles/{p}/functions/99999999/all-callers"), StatusCode::NOT_FOUND).await;
    err(&state, &format!("/api/profiles/{p}/functions/{fid}/sandwich?min_frac=-1"), StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn threads_and_per_thread_queries() {
    let rel = "folded/pyspy_threads_raw_threads_idle_nolineno.txt";
    let (state, ids) = state_with(&[rel, "pstats/cprofile_tiny.prof"]);
    let total = truth(rel)["total_samples_or_metric"].as_f64().unwrap();
    let t = ok(&state, &format!("/api/profiles/{}/threads", ids[0])).await;
    let threads = t["threads"].as_array().unwrap();
    assert!(threads.len() > 1);
    let sum: f64 = threads.iter().map(|t| t["total"].as_f64().unwrap()).sum();
    assert!((sum - total).abs() < 1e-9);
    let mut tree_sum = 0.0;
    let mut fn_rows = 0;
    for th in threads {
        let i = th["index"].as_u64().unwrap();
        let v = ok(&state, &format!("/api/profiles/{}/tree?thread={i}&max_nodes=1", ids[0])).await;
        assert_eq!(v["nodes"][0]["total"], th["total"]);
        tree_sum += v["nodes"][0]["total"].as_f64().unwrap();
        let f = ok(&state, &format!("/api/profiles/{}/functions?thread={i}&limit=1", ids[0])).await;
        fn_rows += f["rows"].as_array().unwrap().len();
    }
    assert!((tree_sum - total).abs() < 1e-9);
    assert_eq!(fn_rows, threads.len());
    let all = ok(&state, &format!("/api/profiles/{}/tree?thread=all&max_nodes=1", ids[0])).await;
    assert_eq!(all["nodes"][0]["total"].as_f64(), Some(total));
    // Transforms on the function table: idle frames dropped, packages filtered.
    let idle = ok(&state, &format!("/api/profiles/{}/functions?tf=idle&limit=10000", ids[0])).await;
    assert!(idle["rows"].as_array().unwrap().iter().all(|r| r["name"] != "Condition.wait" || r["tottime"] == 0.0));
    let std = ok(&state, &format!("/api/profiles/{}/functions?package=stdlib&limit=10000", ids[0])).await;
    assert!(std["total"].as_u64().unwrap() > 0);
    assert!(std["rows"].as_array().unwrap().iter().all(|r| r["package"] == "stdlib"));
    err(&state, &format!("/api/profiles/{}/functions?package=bogus", ids[0]), StatusCode::BAD_REQUEST).await;
    err(&state, &format!("/api/profiles/{}/functions?tf=bogus", ids[0]), StatusCode::BAD_REQUEST).await;
    err(&state, &format!("/api/profiles/{}/functions?offset=x", ids[0]), StatusCode::BAD_REQUEST).await;
    let grp = ok(&state, &format!("/api/profiles/{}/functions?tf=grp:pkg&limit=10000", ids[0])).await;
    assert!(grp["rows"].as_array().unwrap().iter().any(|r| r["name"] == "[stdlib]"));
    // pstats: no threads.
    let none = ok(&state, &format!("/api/profiles/{}/threads", ids[1])).await;
    assert_eq!(none["threads"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn function_table_contract_is_kept() {
    let (state, ids) = state_with(&["pstats/cprofile_tiny.prof"]);
    let v = ok(&state, &format!("/api/profiles/{}/functions", ids[0])).await;
    assert!(v["total"].is_u64());
    for r in v["rows"].as_array().unwrap() {
        for k in ["name", "file", "line", "ncalls", "primcalls", "tottime", "cumtime"] {
            assert!(r.get(k).is_some(), "{k}");
        }
    }
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let (state, _) = state_with(&[]);
    let doc = ok(&state, "/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes/mod.rs")).unwrap();
    let mut n = 0;
    for line in src.lines().map(str::trim).filter(|l| l.starts_with(".route(\"")) {
        let path = line.trim_start_matches(".route(\"").split('"').next().unwrap();
        let full = format!("/api{path}");
        let item = paths.get(&full).unwrap_or_else(|| panic!("{full} missing from server/src/routes/openapi.json"));
        for method in ["get", "post", "put", "patch", "delete"] {
            if line.contains(&format!("{method}(")) {
                assert!(item.get(method).is_some(), "{method} {full} missing from openapi.json");
            }
        }
        n += 1;
    }
    assert!(n >= 10, "found {n} routes");
    // Every schema reference resolves.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "{name}");
    }
    for s in ["TreeSlice", "TreeNode", "Sandwich", "FunctionDetail", "EdgeRow", "ReachList", "ThreadList"] {
        assert!(schemas.contains_key(s), "{s}");
    }
}

/// The vocabularies are one list each (`profview_api`'s enums): the OpenAPI document names the
/// same values wherever it lists them, so a value added to an enum and not documented fails here.
#[tokio::test]
async fn openapi_enums_are_the_api_vocabularies() {
    use profview_api::{By, Package, SortKey, SortOrder, TreeMode};
    let (state, _) = state_with(&[]);
    let doc = ok(&state, "/api/openapi.json").await;
    let names = |all: Vec<&'static str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let packages = names(Package::ALL.iter().map(|p| p.as_str()).collect());
    let sorts = names(SortKey::ALL.iter().map(|p| p.as_str()).collect());
    let orders = names(SortOrder::ALL.iter().map(|p| p.as_str()).collect());
    let modes = names(TreeMode::ALL.iter().map(|p| p.as_str()).collect());
    let enum_of = |v: &Value| -> Vec<String> {
        v["enum"].as_array().unwrap().iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()
    };
    let schemas = &doc["components"]["schemas"];
    for s in ["FunctionRow", "EdgeRow", "TreeNode", "GraphNode", "DiffNode"] {
        assert_eq!(enum_of(&schemas[s]["properties"]["package"]), packages, "{s}.package");
    }
    assert_eq!(enum_of(&schemas["TreeSlice"]["properties"]["mode"]), modes);
    let param = |path: &str, name: &str| -> Vec<String> {
        let ps = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let p = ps.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} has no {name}"));
        enum_of(&p["schema"])
    };
    assert_eq!(param("/api/profiles/{id}/functions", "package"), packages);
    assert_eq!(param("/api/profiles/{id}/functions", "sort"), sorts);
    assert_eq!(param("/api/profiles/{id}/functions", "order"), orders);
    assert_eq!(param("/api/profiles/{id}/tree", "mode"), modes);
    let bys = names(By::ALL.iter().map(|p| p.as_str()).collect());
    for path in ["export", "functions", "functions/{fid}", "functions/{fid}/all-callers", "functions/{fid}/all-callees",
        "functions/{fid}/sandwich", "functions/{fid}/lines", "tree", "threads", "graph"] {
        assert_eq!(param(&format!("/api/profiles/{{id}}/{path}"), "by"), bys, "{path} by");
    }
}

/// issue_4: a tiny caller-less function must not hide a recursion cycle that carries the time
/// (`exec` → `<module>` → … → `exec` in cProfile files): the top level holds the real cost.
#[tokio::test]
async fn pstats_top_level_holds_the_cost_of_a_recursion_cycle() {
    let rel = "pstats/cprofile_sympy_big.prof";
    let (state, ids) = state_with(&[rel]);
    let v = ok(&state, &format!("/api/profiles/{}/tree?mode=top-down&min_frac=0.001&max_nodes=50", ids[0])).await;
    let nodes = v["nodes"].as_array().unwrap();
    let grand = v["grand_total"].as_f64().unwrap();
    let top: f64 = nodes.iter().filter(|n| n["parent"] == 0).map(|n| n["total"].as_f64().unwrap()).sum();
    assert!(top >= 0.5 * grand, "top level {top} of {grand}");
    let exec = truth(rel)["top10_cumulative"][0].clone();
    assert!(nodes.iter().any(|n| n["parent"] == 0 && n["name"] == exec["key"][2]), "no {} at the top", exec["key"][2]);
}
