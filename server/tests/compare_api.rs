//! `/api/collections` and `/api/compare` on the compare fixtures (`tests/fixtures/compare/`):
//! the routes give what the CLI gives, a collection is permanent and its id is the dashboard of
//! its sum, and bad requests are 4xx with a message.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{fixtures, get_json};
use http_body_util::BodyExt;
use profview_server::{router, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

fn add(state: &AppState, rel: &str) -> String {
    let path = fixtures().join("compare").join(rel);
    let bytes = std::fs::read(&path).unwrap();
    state.add_bytes(rel, &bytes).unwrap().id.clone()
}

fn set(state: &AppState, dir: &str) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("compare").join(dir)).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    files.iter().map(|f| add(state, &format!("{dir}/{}", f.to_string_lossy()))).collect()
}

async fn post(state: &AppState, uri: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::post(uri).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_collection_is_collated_permanent_and_its_id_is_the_summed_dashboard() {
    let state = AppState::new();
    let ids = set(&state, "requests_base");
    let (s, made) = post(&state, "/api/collections", json!({"name": "checkout requests", "profiles": ids})).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let cid = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["url"], format!("/c/{cid}"));
    // The same set again: the same collection.
    let (_, again) = post(&state, "/api/collections", json!({"name": "checkout requests", "profiles": ids})).await;
    assert_eq!(again["id"], made["id"]);
    let (s, c) = get_json(&state, &format!("/api/collections/{cid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["profiles"].as_array().unwrap().len(), 24);
    assert_eq!(c["kind"], "pstats");
    let (_, list) = get_json(&state, "/api/collections").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The table: sums as pstats.Stats(*files) (checked against the CLI, itself checked
    // against pstats in compare_cli.rs), with each row's per-profile values.
    let (s, t) = get_json(&state, &format!("/api/collections/{cid}/table?limit=1000")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["files"], 24);
    let render = t["functions"].as_array().unwrap().iter().find(|r| r["name"] == "render").unwrap();
    assert_eq!(render["present"], 24);
    let values: Vec<f64> = render["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(values.len(), 24);
    let max = values.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(render["tottime"]["max"].as_f64().unwrap(), max);
    // Sorted by p95, descending.
    let (_, t) = get_json(&state, &format!("/api/collections/{cid}/table?sort=p95&limit=1000")).await;
    let p95: Vec<f64> = t["functions"].as_array().unwrap().iter().map(|r| r["tottime"]["p95"].as_f64().unwrap()).collect();
    assert!(p95.windows(2).all(|w| w[0] >= w[1]));

    // /p/<collection id>: the dashboard of the sum.
    let (s, sum) = get_json(&state, &format!("/api/profiles/{cid}")).await;
    assert_eq!(s, StatusCode::OK, "{sum}");
    assert_eq!(sum["format"], "pstats");
    assert!(sum["name"].as_str().unwrap().contains("sum of 24"));
    let (s, rows) = get_json(&state, &format!("/api/profiles/{cid}/functions?q=render")).await;
    assert_eq!(s, StatusCode::OK);
    let summed = rows["rows"][0]["tottime"].as_f64().unwrap();
    assert_eq!(summed, render["sum"]["tottime"].as_f64().unwrap());
}

#[tokio::test]
async fn compare_table_and_tree_of_two_versions() {
    let state = AppState::new();
    let (v1, v2) = (add(&state, "program_v1.prof"), add(&state, "program_v2.prof"));
    let (s, d) = get_json(&state, &format!("/api/compare?base={v1}&new={v2}&limit=1000")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let rows = d["rows"].as_array().unwrap();
    let gone = rows.iter().find(|r| r["name"] == "legacy_format").unwrap();
    assert!(gone["new"].is_null() && gone["base"].is_object());
    // Sorted by the size of the tottime change, largest first.
    let sizes: Vec<f64> = rows.iter().map(|r| r["delta"]["tottime"].as_f64().unwrap().abs()).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
    let (_, by_name) = get_json(&state, &format!("/api/compare?base={v1}&new={v2}&sort=name&limit=2")).await;
    assert_eq!(by_name["rows"].as_array().unwrap().len(), 2);
    assert!(by_name["total"].as_u64().unwrap() > 2);

    // The union tree: a path that disappeared (legacy_format) is there with new = 0.
    let (s, t) = get_json(&state, &format!("/api/compare/tree?base={v1}&new={v2}&min_frac=0&max_nodes=5000")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let nodes = t["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["name"], "all");
    let legacy = nodes.iter().find(|n| n["name"] == "legacy_format").expect("removed path still drawn");
    assert_eq!(legacy["new"].as_f64(), Some(0.0));
    assert!(legacy["base"].as_f64().unwrap() > 0.0);
    let cache = nodes.iter().find(|n| n["name"] == "cache_lookup").expect("added path");
    assert_eq!(cache["base"].as_f64(), Some(0.0));
    // Zoom: root= a node's path gives a slice rooted there.
    let path = legacy["path"].as_str().unwrap();
    let parent_path = path.rsplit_once('.').map(|p| p.0).unwrap_or("");
    let (s, z) = get_json(&state, &format!("/api/compare/tree?base={v1}&new={v2}&root={parent_path}&min_frac=0")).await;
    assert_eq!(s, StatusCode::OK, "{z}");
    assert_eq!(z["nodes"][0]["path"], parent_path);
    assert!(z["nodes"].as_array().unwrap().iter().any(|n| n["name"] == "legacy_format"));
}

#[tokio::test]
async fn sets_and_collections_compare_with_significance() {
    let state = AppState::new();
    let base = set(&state, "requests_base");
    let new = set(&state, "requests_new");
    let (_, c) = post(&state, "/api/collections", json!({"name": "after", "profiles": new})).await;
    let cid = c["id"].as_str().unwrap();
    let uri = format!("/api/compare?base={}&new={cid}&normalize=profile&metric=cumtime&sort=significance&limit=5", base.join(","));
    let (s, d) = get_json(&state, &uri).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["test"], "mann-whitney");
    assert_eq!(d["new"]["profiles"], 20);
    // Sorted by the cumtime q, smallest first: render (whose callee does the slower work) is
    // in the first five, and significant.
    let rows = d["rows"].as_array().unwrap();
    let qs: Vec<f64> = rows.iter().map(|r| r["significance"]["cumtime"]["q"].as_f64().unwrap()).collect();
    assert!(qs.windows(2).all(|w| w[0] <= w[1]), "{qs:?}");
    let render = rows.iter().find(|r| r["name"] == "render").expect("render in the first five");
    assert_eq!(render["significance"]["cumtime"]["significant"], true);
    let (s, t) = get_json(&state, &format!("/api/compare/tree?base={}&new={cid}&normalize=profile", base.join(","))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let nodes = t["nodes"].as_array().unwrap();
    let render = nodes.iter().find(|n| n["name"] == "render").unwrap();
    assert!(render["new"].as_f64().unwrap() > render["base"].as_f64().unwrap());
    // The tree carries the test of each function's inclusive number: render's is real, and the
    // root has none.
    assert_eq!(render["significant"], true);
    assert!(nodes[0]["significant"].is_null());
    assert!(nodes.iter().any(|n| n["significant"] == false), "some paths are within the noise");
}

#[tokio::test]
async fn bad_requests_are_4xx_with_a_message() {
    let state = AppState::new();
    let v1 = add(&state, "program_v1.prof");
    let sampled = state.add_bytes("s.txt", &std::fs::read(common::corpus("folded/pyspy_cpu_raw_default.txt")).unwrap()).unwrap().id.clone();
    let missing = "0".repeat(32);
    for (uri, status, words) in [
        (format!("/api/compare?base={v1}"), StatusCode::BAD_REQUEST, "new="),
        (format!("/api/compare?base={v1}&new={missing}"), StatusCode::NOT_FOUND, "no profile or collection"),
        (format!("/api/compare?base={v1}&new={sampled}"), StatusCode::BAD_REQUEST, "cannot be collated or diffed"),
        (format!("/api/compare?base={v1}&new={v1}&sort=bogus"), StatusCode::BAD_REQUEST, "sort must be"),
        (format!("/api/compare?base={v1}&new={v1}&normalize=bogus"), StatusCode::BAD_REQUEST, "normalize must be"),
        (format!("/api/compare/tree?base={v1}&new={v1}&root=x"), StatusCode::BAD_REQUEST, "root must be"),
        (format!("/api/collections/{missing}"), StatusCode::NOT_FOUND, "no collection"),
    ] {
        let (s, v) = get_json(&state, &uri).await;
        assert_eq!(s, status, "{uri}: {v}");
        assert!(v["error"].as_str().unwrap().contains(words), "{uri}: {v}");
    }
    let (s, v) = post(&state, "/api/collections", json!({"name": "mixed", "profiles": [v1, sampled]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("cannot be collated"));
    let (s, _) = post(&state, "/api/collections", json!({"name": "", "profiles": [v1]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(&state, "/api/collections", json!({"name": "x", "profiles": [missing]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
