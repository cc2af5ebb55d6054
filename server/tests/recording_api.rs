//! A hybrid recording over HTTP: rows carry cProfile's numbers where cProfile saw the function and
//! none where it did not (never a sampled stand-in), the sampled ones everywhere; tree nodes carry
//! the function's exact call count.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use profview_server::AppState;

fn state() -> (AppState, String) {
    let state = AppState::new();
    let p = common::fixtures().join("recordings/hybrid_threads.pvrec");
    let id = state.add_bytes("hybrid_threads.pvrec", &std::fs::read(p).unwrap()).unwrap().id.clone();
    (state, id)
}

#[tokio::test]
async fn rows_and_nodes_keep_exact_and_sampled_apart() {
    let (state, id) = state();
    let (status, page) = common::get_json(&state, &format!("/api/profiles/{id}/functions?limit=500")).await;
    assert_eq!(status, 200);
    let rows = page["rows"].as_array().unwrap();
    let idle = rows.iter().find(|r| r["name"] == "<idle>").unwrap();
    assert!(idle["self_weight"].as_f64().unwrap() > 0.0);
    assert!(idle["tottime"].is_null() && idle["cumtime"].is_null() && idle["ncalls"].is_null(), "{idle}");
    let fib = rows.iter().find(|r| r["name"] == "fib").unwrap();
    assert!(fib["ncalls"].as_u64().unwrap() > 1000 && fib["tottime"].as_f64().unwrap() > 0.0);
    assert!(fib["total_weight"].as_f64().unwrap() > 0.0);
    let (status, tree) = common::get_json(&state, &format!("/api/profiles/{id}/tree?max_nodes=5000&min_frac=0")).await;
    assert_eq!(status, 200);
    let nodes = tree["nodes"].as_array().unwrap();
    let fib_node = nodes.iter().find(|n| n["name"] == "fib").unwrap();
    assert_eq!(fib_node["func_ncalls"], fib["ncalls"]);
    assert_eq!(fib_node["exactness"], "exact");
    assert!(nodes.iter().filter(|n| n["name"] == "<idle>").all(|n| n.get("func_ncalls").is_none()));
}

#[tokio::test]
async fn sampled_profiles_keep_their_tottime_fallback() {
    let (state, ids) = common::state_with(&["folded/pyspy_cpu_raw_default.txt"]);
    let (_, page) = common::get_json(&state, &format!("/api/profiles/{}/functions?limit=5", ids[0])).await;
    let r = &page["rows"][0];
    assert_eq!(r["tottime"], r["self_weight"]);
    assert_eq!(r["cumtime"], r["total_weight"]);
}
