//! What a shared server needs: write tokens, /healthz, /readyz, /metrics, request ids and JSON
//! logs, private-page headers, the body deadline, the import queue, graceful shutdown.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use profview_server::state::StoreConfig;
use profview_server::{router, AppState};
use tower::ServiceExt;

use common::process::{http, request_head, start_replica, wait_for};

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(state: &AppState, req: Request<Body>) -> Resp {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Resp { status, headers, body }
}

fn req(method: &str, uri: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if method == "PATCH" {
        r = r.header(header::CONTENT_TYPE, "application/json");
    }
    r.body(Body::from(body)).unwrap()
}

fn tmpfile(tag: &str, text: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let p = std::env::temp_dir().join(format!("profview-test-{tag}-{}-{nanos}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

fn profile() -> Vec<u8> {
    std::fs::read(common::corpus("pstats/cprofile_recursion.prof")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_file_writes_need_a_bearer_token_and_reads_stay_open() {
    let tokens = tmpfile("tokens", "# the team\nsecret-one\nsecret-two\n");
    let state = AppState::open(StoreConfig { token_file: Some(tokens.clone()), ..Default::default() }).unwrap();
    for token in [None, Some("wrong"), Some("secret-on"), Some("secret-one2")] {
        let r = send(&state, req("POST", "/api/profiles?name=a.prof", token, profile())).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}: {}", r.body);
        let challenge = r.headers.get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(r.body.contains("\"error\""), "{}", r.body);
    }
    assert_eq!(state.list_meta().unwrap().len(), 0, "nothing stored without a token");
    let r = send(&state, req("POST", "/api/profiles?name=a.prof", Some("secret-two"), profile())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_str().unwrap().to_owned();
    // Reads need nothing.
    for uri in ["/api/profiles".to_owned(), format!("/api/profiles/{id}"), format!("/api/profiles/{id}/tree")] {
        assert_eq!(send(&state, req("GET", &uri, None, vec![])).await.status, StatusCode::OK, "{uri}");
    }
    let rename = || br#"{"name":"b.prof"}"#.to_vec();
    let uri = format!("/api/profiles/{id}");
    assert_eq!(send(&state, req("PATCH", &uri, None, rename())).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&state, req("DELETE", &uri, Some("nope"), vec![])).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&state, req("PATCH", &uri, Some("secret-one"), rename())).await.status, StatusCode::OK);
    // The file is read again when it changes: an old token stops working, a new one works.
    std::fs::write(&tokens, "rotated-token-3\n").unwrap();
    assert_eq!(send(&state, req("DELETE", &uri, Some("secret-one"), vec![])).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&state, req("DELETE", &uri, Some("rotated-token-3"), vec![])).await.status, StatusCode::NO_CONTENT);
    std::fs::remove_file(tokens).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_request_ids_and_private_page_headers() {
    let state = AppState::new();
    let h = send(&state, req("GET", "/healthz", None, vec![])).await;
    assert_eq!((h.status, h.body.as_str()), (StatusCode::OK, "ok\n"));
    assert_eq!(send(&state, req("GET", "/readyz", None, vec![])).await.status, StatusCode::OK);
    let up = send(&state, req("POST", "/api/profiles?name=a.prof", None, profile())).await;
    assert_eq!(up.status, StatusCode::CREATED);
    let id = serde_json::from_str::<serde_json::Value>(&up.body).unwrap()["id"].as_str().unwrap().to_owned();
    let bad = send(&state, req("POST", "/api/profiles?name=x.prof", None, b"not a profile".to_vec())).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..2 {
        assert_eq!(send(&state, req("GET", &format!("/api/profiles/{id}/tree"), None, vec![])).await.status, StatusCode::OK);
    }
    assert_eq!(send(&state, req("GET", "/api/profiles/0123/tree", None, vec![])).await.status, StatusCode::NOT_FOUND);
    let m = send(&state, req("GET", "/metrics", None, vec![])).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let has = |line: &str| m.body.lines().any(|l| l == line);
    for line in [
        "profview_http_requests_total{route=\"/api/profiles/{id}/tree\",method=\"GET\",status=\"200\"} 2",
        "profview_http_requests_total{route=\"/api/profiles/{id}/tree\",method=\"GET\",status=\"404\"} 1",
        "profview_http_requests_total{route=\"/api/profiles\",method=\"POST\",status=\"201\"} 1",
        "profview_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
        "profview_http_request_duration_seconds_count{route=\"/api/profiles/{id}/tree\",method=\"GET\"} 3",
        "profview_uploads_total 2",
        &format!("profview_upload_bytes_total {}", profile().len() + b"not a profile".len()),
        "profview_imports_total{result=\"stored\"} 1",
        "profview_imports_total{result=\"refused\"} 1",
        "profview_import_duration_seconds_count 2",
        "profview_index_cache_hits_total 2",
        "profview_index_cache_misses_total 0",
        "profview_index_cache_evictions_total 0",
    ] {
        assert!(has(line), "missing {line:?} in\n{}", m.body);
    }
    assert!(!m.body.contains("profview_store_errors_total{"), "no store failed:\n{}", m.body);
    // Every response has a request id; one the client sends is kept.
    let r = send(&state, Request::get("/api/profiles").header("x-request-id", "req-42").body(Body::empty()).unwrap()).await;
    assert_eq!(r.headers["x-request-id"], "req-42");
    let r = send(&state, req("GET", &format!("/p/{id}"), None, vec![])).await;
    assert!(!r.headers["x-request-id"].is_empty());
    // Profile pages and their API: no referrer, not indexed.
    for uri in [format!("/p/{id}"), format!("/api/profiles/{id}"), "/".to_owned()] {
        let r = send(&state, req("GET", &uri, None, vec![])).await;
        assert_eq!(r.headers[header::REFERRER_POLICY], "no-referrer", "{uri}");
        assert!(r.headers["x-robots-tag"].to_str().unwrap().contains("noindex"), "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_408_and_nothing_is_stored() {
    let state = AppState::open(StoreConfig { body_timeout: Duration::from_millis(300), ..Default::default() }).unwrap();
    let first = futures::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"main;a 1\n"))]);
    let body = Body::from_stream(futures::StreamExt::chain(first, futures::stream::pending()));
    let r = send(&state, Request::post("/api/profiles?name=slow.txt").body(body).unwrap()).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.body);
    assert!(r.body.contains("--body-timeout"), "{}", r.body);
    assert!(state.list_meta().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_beyond_the_cap_wait_in_a_bounded_queue_then_503() {
    let cfg = StoreConfig { max_imports: 1, import_queue: 1, ..Default::default() };
    let state = AppState::open(cfg).unwrap();
    let held = state.import_slot().await.expect("a free slot");
    // The queue has room for one: that upload waits for the slot...
    let st = state.clone();
    let waiting = tokio::spawn(async move { send(&st, req("POST", "/api/profiles?name=a.prof", None, profile())).await });
    let st = state.clone();
    wait_for("the upload to queue", Duration::from_secs(30), || {
        st.metrics().render().lines().any(|l| l == "profview_imports_queued 1").then_some(())
    });
    // ...and one more is refused at once, with Retry-After.
    let r = send(&state, req("POST", "/api/profiles?name=b.txt", None, b"main;b 1\n".to_vec())).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.headers[header::RETRY_AFTER], "5");
    assert!(!waiting.is_finished());
    drop(held);
    assert_eq!(waiting.await.unwrap().status, StatusCode::CREATED);
    assert_eq!(state.list_meta().unwrap().len(), 1);
}

#[test]
fn sigterm_lets_an_upload_in_flight_finish_and_json_logs_carry_request_ids() {
    use std::io::Write;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("profview-test-sigterm-{}-{nanos}", std::process::id()));
    let dir_s = dir.to_str().unwrap().to_owned();
    let mut r = start_replica(&["--store", &dir_s, "--log-format", "json"], &[]);
    let a = http(r.addr, "GET", "/api/profiles", &[("X-Request-Id", "trace-me-7")], b"");
    assert_eq!(a.status, 200);
    let logged = wait_for("the request's log line", Duration::from_secs(30), || {
        r.proc.stderr_text().lines().find(|l| l.contains("trace-me-7")).map(str::to_owned)
    });
    let line: serde_json::Value = serde_json::from_str(&logged).unwrap_or_else(|e| panic!("not JSON ({e}): {logged}"));
    assert_eq!(line["request_id"], "trace-me-7", "{logged}");
    assert_eq!(line["status"], 200, "{logged}");
    assert_eq!(line["route"], "/api/profiles", "{logged}");

    // Half an upload, then SIGTERM, then the rest: it is stored and answered before the exit.
    let bytes = profile();
    let mut s = std::net::TcpStream::connect(r.addr).unwrap();
    s.write_all(request_head(r.addr, "POST", "/api/profiles?name=inflight.prof", &[], bytes.len()).as_bytes()).unwrap();
    s.write_all(&bytes[..bytes.len() / 2]).unwrap();
    s.flush().unwrap();
    wait_for("the upload to be staged", Duration::from_secs(30), || {
        std::fs::read_dir(dir.join("tmp")).ok()?.flatten().any(|e| e.metadata().is_ok_and(|m| m.len() > 0)).then_some(())
    });
    r.proc.signal("TERM");
    wait_for("the shutdown to begin", Duration::from_secs(30), || {
        r.proc.stderr_text().contains("shutting down").then_some(())
    });
    s.write_all(&bytes[bytes.len() / 2..]).unwrap();
    let answer = common::process::read_answer(&mut s).unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let status = wait_for("the process to exit", Duration::from_secs(30), || r.proc.child.try_wait().unwrap());
    assert!(status.success(), "{status:?}: {}", r.proc.stderr_text());
    // It is in the store.
    let again = start_replica(&["--store", &dir_s], &[]);
    let list = http(again.addr, "GET", "/api/profiles", &[], b"").json();
    assert_eq!(list[0]["name"], "inflight.prof", "{list}");
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn openapi_documents_the_operations_routes_and_the_token() {
    let state = AppState::new();
    let r = send(&state, req("GET", "/api/openapi.json", None, vec![])).await;
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing from openapi.json");
    }
    for (path, method) in [("/api/profiles", "post"), ("/api/profiles/{id}", "patch"), ("/api/profiles/{id}", "delete")] {
        assert!(doc["paths"][path][method]["responses"]["401"].is_object(), "{method} {path}: no 401");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}
