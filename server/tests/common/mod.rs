//! Helpers shared by the server's integration tests: corpus files, a state holding them, and
//! JSON requests through `router().oneshot()`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use profview_server::{router, AppState};
use serde_json::Value;
use tower::ServiceExt;

/// The repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`).
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A file of `tests/fixtures/corpus`.
pub fn corpus(rel: &str) -> std::path::PathBuf {
    fixtures().join("corpus").join(rel)
}

/// The ground truth beside a corpus file.
pub fn truth(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(corpus(&format!("{rel}.truth.json"))).unwrap()).unwrap()
}

/// An in-memory state with the given corpus files registered; their ids in order.
pub fn state_with(files: &[&str]) -> (AppState, Vec<String>) {
    let state = AppState::new();
    let ids = files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(corpus(f)).expect("corpus file");
            state.add_bytes(f, &bytes).expect("imports").id.clone()
        })
        .collect();
    (state, ids)
}

/// A GET: status, body text and content type.
pub async fn get(state: &AppState, uri: &str) -> (StatusCode, String, Option<String>) {
    let resp = router(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), ctype)
}

/// A GET that must answer JSON.
pub async fn get_json(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let (s, body, ctype) = get(state, uri).await;
    assert_eq!(ctype.as_deref(), Some("application/json"), "{uri} answered {body}");
    (s, serde_json::from_str(&body).unwrap())
}
pub mod process;
