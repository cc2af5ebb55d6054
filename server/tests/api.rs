//! Server tests through `router().oneshot()`: no socket, real corpus files.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{corpus, get, get_json, state_with, truth};
use profview_server::{router, AppState};
use tower::ServiceExt;

#[tokio::test]
async fn lists_profiles_with_id_name_format() {
    let (state, ids) = state_with(&["pstats/cprofile_tiny.prof", "folded/pyspy_cpu_raw_default.txt"]);
    let (s, v) = get_json(&state, "/api/profiles").await;
    assert_eq!(s, StatusCode::OK);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], ids[0].as_str());
    assert_eq!(arr[0]["name"], "pstats/cprofile_tiny.prof");
    assert_eq!(arr[0]["format"], "pstats");
    assert_eq!(arr[1]["format"], "folded");
}

#[tokio::test]
async fn function_table_sorted_by_cumtime_matches_pstats() {
    let rel = "pstats/cprofile_black_one_file.prof";
    let (state, ids) = state_with(&[rel]);
    let t = truth(rel);
    let top = t["top10_cumulative"].as_array().unwrap();
    let (s, v) = get_json(&state, &format!("/api/profiles/{}/functions?sort=cumtime&order=desc&limit=10", ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], t["function_count"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for (row, want) in rows.iter().zip(top) {
        assert_eq!(row["file"], want["key"][0]);
        assert_eq!(row["line"], want["key"][1]);
        assert_eq!(row["name"], want["key"][2]);
        assert_eq!(row["ncalls"], want["nc"]);
        assert_eq!(row["primcalls"], want["cc"]);
        assert_eq!(row["tottime"].as_f64(), want["tt"].as_f64());
        assert_eq!(row["cumtime"].as_f64(), want["ct"].as_f64());
    }
}

#[tokio::test]
async fn paging_and_ascending_order_agree_with_the_full_sort() {
    let (state, ids) = state_with(&["pstats/cprofile_pydoc.prof"]);
    let base = format!("/api/profiles/{}/functions?sort=tottime", ids[0]);
    let (_, all) = get_json(&state, &format!("{base}&order=asc&limit=10000")).await;
    let all = all["rows"].as_array().unwrap().clone();
    assert!(all.windows(2).all(|w| w[0]["tottime"].as_f64() <= w[1]["tottime"].as_f64()));
    let (_, page) = get_json(&state, &format!("{base}&order=asc&offset=100&limit=25")).await;
    assert_eq!(page["rows"].as_array().unwrap()[..], all[100..125]);
}

#[tokio::test]
async fn q_keeps_rows_whose_name_or_file_contains_the_text() {
    let (state, ids) = state_with(&["pstats/cprofile_pydoc.prof"]);
    let (_, v) = get_json(&state, &format!("/api/profiles/{}/functions?q=inspect&limit=10000", ids[0])).await;
    let rows = v["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(v["total"].as_u64().unwrap() as usize, rows.len());
    for r in rows {
        let (n, f) = (r["name"].as_str().unwrap(), r["file"].as_str().unwrap());
        assert!(n.contains("inspect") || f.contains("inspect"), "{n} {f}");
    }
    let (_, none) = get_json(&state, &format!("/api/profiles/{}/functions?q=zzzz-no-such", ids[0])).await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn errors_are_json_with_4xx() {
    let (state, ids) = state_with(&["pstats/cprofile_tiny.prof"]);
    let (s, v) = get_json(&state, &format!("/api/profiles/{}/functions?sort=bogus", ids[0])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("bogus"));
    let (s, v) = get_json(&state, &format!("/api/profiles/{}/functions?order=sideways", ids[0])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].is_string());
    let (s, v) = get_json(&state, "/api/profiles/0000/functions").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].as_str().unwrap().contains("0000"));
    let (s, _) = get_json(&state, "/api/no-such-route").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = get_json(&state, &format!("/api/profiles/{}/functions?q=(&regex=1", ids[0])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("regex"));
}

#[tokio::test]
async fn app_routes_fall_back_to_the_app() {
    let (state, ids) = state_with(&["pstats/cprofile_tiny.prof"]);
    for uri in ["/".to_owned(), format!("/p/{}?sort=tottime", ids[0]), "/some/deep/route".to_owned()] {
        let (s, body, ctype) = get(&state, &uri).await;
        // Built without dist/ the server says so with a 503; with it, every app route is the app.
        if s == StatusCode::SERVICE_UNAVAILABLE {
            assert!(body.contains("trunk build"));
        } else {
            assert_eq!(s, StatusCode::OK, "{uri}");
            assert!(ctype.unwrap().starts_with("text/html"));
            assert!(body.contains("<html"), "{uri}");
        }
    }
}

#[tokio::test]
async fn security_headers_are_set() {
    let (state, _) = state_with(&["pstats/cprofile_tiny.prof"]);
    let resp = router(state).oneshot(Request::get("/api/profiles").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn same_content_gets_the_same_id() {
    let bytes = std::fs::read(corpus("pstats/cprofile_tiny.prof")).unwrap();
    let state = AppState::new();
    let a = state.add_bytes("a.prof", &bytes).unwrap();
    let b = state.add_bytes("b.prof", &bytes).unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(state.list().len(), 1);
    assert_eq!(a.id.len(), 32);
}
