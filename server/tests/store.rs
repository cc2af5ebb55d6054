//! Upload, store and share through `router().oneshot()`: the upload contract, the on-disk store
//! surviving a restart, limits, exports and security headers.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use profview_server::state::StoreConfig;
use profview_server::{router, AppState};
use serde_json::Value;
use tower::ServiceExt;

/// The repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`).
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}
fn corpus(rel: &str) -> PathBuf {
    fixtures().join("corpus").join(rel)
}
fn bad(rel: &str) -> PathBuf {
    fixtures().join("bad").join(rel)
}

/// A fresh, empty directory under the system temp dir.
fn tmpdir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("profview-test-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn disk_state(dir: &Path, max_upload: u64) -> AppState {
    AppState::open(StoreConfig { data_dir: Some(dir.to_path_buf()), max_upload_bytes: max_upload, ..Default::default() })
        .unwrap()
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{}",
            self.text()
        );
        serde_json::from_slice(&self.body).unwrap()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Resp {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp { status, headers, body }
}

async fn get(state: &AppState, uri: &str) -> Resp {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn upload(state: &AppState, name: &str, bytes: Vec<u8>) -> Resp {
    let req = Request::post(format!("/api/profiles?name={name}"))
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Body::from(bytes))
        .unwrap();
    send(state, req).await
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Files left in the staging directory (nothing must stay behind a finished or failed upload).
fn staged_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tmp"))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_upload_answers_201_and_the_profile_is_listed_queried_and_survives_a_restart() {
    let dir = tmpdir("upload");
    let bytes = read(corpus("pstats/cprofile_black_one_file.prof"));
    let id = {
        let state = disk_state(&dir, 1 << 30);
        let r = upload(&state, "black.prof", bytes.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let v = r.json();
        let id = v["id"].as_str().unwrap().to_owned();
        assert_eq!(id, profview_server::state::content_id(&bytes), "id is the content hash");
        assert_eq!(v["url"], format!("/p/{id}"));
        let list = get(&state, "/api/profiles").await.json();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["name"], "black.prof");
        assert_eq!(list[0]["format"], "pstats");
        assert_eq!(list[0]["size"], bytes.len() as u64);
        assert!(list[0]["created"].as_u64().unwrap() > 1_600_000_000_000);
        assert!(list[0]["total"].as_f64().unwrap() > 0.0);
        assert!(list[0]["calls"].as_u64().unwrap() > 0);
        assert!(staged_files(&dir).is_empty(), "{:?}", staged_files(&dir));
        id
    };
    // Restart: a new state over the same directory serves the profile, building its index lazily.
    let state = disk_state(&dir, 1 << 30);
    assert_eq!(state.cached_indexes(), 0);
    let s = get(&state, &format!("/api/profiles/{id}")).await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.json()["name"], "black.prof");
    let page = get(&state, &format!("/api/profiles/{id}/functions?sort=cumtime&order=desc&limit=5")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.json()["rows"].as_array().unwrap().len(), 5);
    assert_eq!(state.cached_indexes(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn multipart_upload_takes_the_file_name_from_the_form() {
    let state = AppState::new();
    let bytes = read(corpus("folded/pyspy_cpu_raw_default.txt"));
    let boundary = "XyZzY0123";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"spy.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post("/api/profiles")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let r = send(&state, req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(id, profview_server::state::content_id(&bytes));
    let s = get(&state, &format!("/api/profiles/{id}")).await.json();
    assert_eq!(s["name"], "spy.txt");
    assert_eq!(s["format"], "folded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_refused_with_its_name_and_the_problem_and_nothing_is_stored() {
    let dir = tmpdir("bad");
    let state = disk_state(&dir, 1 << 30);
    for (file, want) in [
        ("pstats_truncated_at_100_of_2067.prof", "byte"),
        ("random_4096_bytes.bin", ""),
        ("folded_empty_file.folded", "empty"),
    ] {
        let r = upload(&state, file, read(bad(file))).await;
        assert!(matches!(r.status.as_u16(), 400 | 422), "{file}: {} {}", r.status, r.text());
        let msg = r.json()["error"].as_str().unwrap().to_owned();
        assert!(msg.starts_with(&format!("{file}: ")), "{msg}");
        assert!(msg.contains(want), "{msg}");
    }
    assert_eq!(get(&state, "/api/profiles").await.json(), serde_json::json!([]));
    assert!(staged_files(&dir).is_empty(), "{:?}", staged_files(&dir));
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413_whether_announced_or_streamed() {
    let dir = tmpdir("big");
    let state = disk_state(&dir, 1000);
    let bytes = read(corpus("pstats/cprofile_black_one_file.prof"));
    assert!(bytes.len() > 1000);
    // Announced by Content-Length: refused before reading.
    let r = upload(&state, "big.prof", bytes.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["error"].as_str().unwrap().contains("1000 bytes"));
    // No Content-Length (chunked): refused once the count passes the limit.
    let req = Request::post("/api/profiles?name=big.prof").body(Body::from(bytes)).unwrap();
    let r = send(&state, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(staged_files(&dir).is_empty());
    assert_eq!(get(&state, "/api/profiles").await.json(), serde_json::json!([]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_gzip_over_the_decompressed_cap_is_refused_with_a_message() {
    let limits = profview_import::Limits { max_decompressed_bytes: 1000, ..Default::default() };
    let state = AppState::open(StoreConfig { limits, ..Default::default() }).unwrap();
    let r = upload(&state, "x.prof.gz", read(bad("pstats_gzip_of_valid.prof.gz"))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let msg = r.json()["error"].as_str().unwrap().to_owned();
    assert!(msg.contains("x.prof.gz") && msg.contains("decompressed size exceeds the limit of 1000 bytes"), "{msg}");
    // Under the default cap the same file imports.
    let r = upload(&AppState::new(), "x.prof.gz", read(bad("pstats_gzip_of_valid.prof.gz"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_of_the_same_file_store_it_once() {
    let dir = tmpdir("concurrent");
    let state = disk_state(&dir, 1 << 30);
    let bytes = read(corpus("pstats/cprofile_black_one_file.prof"));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, b) = (state.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move { upload(&s, &format!("copy{i}.prof"), b).await }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.insert(r.json()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(get(&state, "/api/profiles").await.json().as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 1);
    assert!(staged_files(&dir).is_empty(), "{:?}", staged_files(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_and_delete() {
    let dir = tmpdir("rename");
    let state = disk_state(&dir, 1 << 30);
    let r = upload(&state, "a.prof", read(corpus("pstats/cprofile_tiny.prof"))).await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let patch = |body: &str| {
        Request::patch(format!("/api/profiles/{id}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let r = send(&state, patch(r#"{"name": "nightly run\u0007"}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "nightly run");
    let r = send(&state, patch(r#"{"name": "   "}"#)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("empty"));
    let r = send(&state, patch("not json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.json();
    // The new name survives a restart, and the index still builds from the stored file.
    drop(state);
    let state = disk_state(&dir, 1 << 30);
    assert_eq!(get(&state, &format!("/api/profiles/{id}")).await.json()["name"], "nightly run");
    assert_eq!(get(&state, &format!("/api/profiles/{id}/functions")).await.status, StatusCode::OK);

    let del = || Request::delete(format!("/api/profiles/{id}")).body(Body::empty()).unwrap();
    let r = send(&state, del()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(&state, del()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains(&id));
    assert_eq!(get(&state, &format!("/api/profiles/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&state, &format!("/api/profiles/{id}/functions")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 0);
    drop(state);
    let state = disk_state(&dir, 1 << 30);
    assert_eq!(get(&state, "/api/profiles").await.json(), serde_json::json!([]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn exports_folded_json_and_svg() {
    let state = AppState::new();
    let folded_bytes = read(corpus("folded/pyspy_cpu_raw_default.txt"));
    let fid = state.add_bytes("spy.txt", &folded_bytes).unwrap().id.clone();
    // Folded of a sampled profile: re-imports to the same total.
    let r = get(&state, &format!("/api/profiles/{fid}/export?format=folded")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment; filename=\"spy.txt.folded\""));
    let orig = profview_import::import("a.txt", &folded_bytes, &Default::default()).unwrap().profile;
    let back = profview_import::import("b.folded", &r.body, &Default::default()).unwrap().profile;
    assert_eq!(back.samples.unwrap().total(), orig.samples.as_ref().unwrap().total());
    let mut want: Vec<&str> = std::str::from_utf8(&folded_bytes).unwrap().lines().collect();
    let mut got: Vec<&str> = std::str::from_utf8(&r.body).unwrap().lines().collect();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "py-spy frames come back as they were written");

    // pstats: two-frame caller;callee stacks in µs; the weights add up to the total own time.
    let pbytes = read(corpus("pstats/cprofile_black_one_file.prof"));
    let pid = state.add_bytes("black.prof", &pbytes).unwrap().id.clone();
    let r = get(&state, &format!("/api/profiles/{pid}/export?format=folded")).await;
    let text = r.text();
    assert!(text.starts_with("# estimated from pstats caller→callee edges"));
    let mut sum = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (stack, w) = line.rsplit_once(' ').unwrap();
        assert!(stack.split(';').count() <= 2, "{line}");
        sum += w.parse::<f64>().unwrap();
    }
    let p = profview_import::import("x.prof", &pbytes, &Default::default()).unwrap().profile;
    let total_us = p.pstats.as_ref().unwrap().total_time * 1e6;
    assert!((sum - total_us).abs() / total_us < 0.01, "{sum} vs {total_us}");

    // JSON: the `profview stats --json` report.
    let r = get(&state, &format!("/api/profiles/{pid}/export?format=json")).await;
    let v = r.json();
    let index = profview_index::ProfileIndex::build(p);
    assert_eq!(v, profview_server::report::json_report(&index, None, None));

    // SVG.
    let r = get(&state, &format!("/api/profiles/{pid}/export?format=svg")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(r.text().starts_with("<?xml") && r.text().contains("<svg"));

    let r = get(&state, &format!("/api/profiles/{pid}/export?format=pdf")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = get(&state, "/api/profiles/0123456789abcdef0123456789abcdef/export?format=svg").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn script_bearing_names_come_out_escaped_in_every_export() {
    let state = AppState::new();
    let r = upload(&state, "%3Cimg%20src%3Dx%20onerror%3Dalert(9)%3E.prof", read(bad("pstats_xss_names.prof"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let svg = get(&state, &format!("/api/profiles/{id}/export?format=svg")).await.text();
    // inferno's own interactivity script is the only script element.
    assert_eq!(svg.matches("<script").count(), 1, "{svg}");
    assert!(!svg.contains("<img"), "{svg}");
    assert!(!svg.contains("</script><script>"));
    assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;"), "names are present, escaped");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!svg.contains('\0'));
    for fmt in ["json", "folded"] {
        let r = get(&state, &format!("/api/profiles/{id}/export?format={fmt}")).await;
        assert_eq!(r.status, StatusCode::OK);
        let cd = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
        assert!(!cd.contains('<') && !cd.contains('>'), "{cd}");
    }
    // The summary keeps the name as data (JSON-escaped by serde); the app renders it as text.
    let s = get(&state, &format!("/api/profiles/{id}")).await.json();
    assert_eq!(s["name"], "<img src=x onerror=alert(9)>.prof");
}

#[tokio::test]
async fn security_headers_and_no_traversal() {
    let state = AppState::new();
    let r = get(&state, "/").await;
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("'unsafe-eval'") || csp.contains("'wasm-unsafe-eval'"));
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    if r.status == StatusCode::OK {
        // The embedded index.html's inline bootstrap is allowed by its hash.
        let html = r.text();
        let scripts = profview_server::assets::inline_scripts(&html);
        assert!(!scripts.is_empty());
        for s in scripts {
            assert!(csp.contains(&format!("'sha256-{}'", profview_server::assets::sha256_base64(s))), "{csp}");
        }
    }
    let api = get(&state, "/api/profiles").await;
    assert!(api.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    for uri in [
        "/..%2f..%2fetc/passwd",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/api/profiles/..%2f..%2fetc%2fpasswd",
        "/api/profiles/..%2f..%2fetc%2fpasswd/export?format=folded",
        "/api/profiles/..%2f..%2fmeta.redb/functions",
    ] {
        let r = get(&state, uri).await;
        assert!(!r.text().contains("root:"), "{uri}");
        assert!(r.status == StatusCode::NOT_FOUND || r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html")
            || r.status == StatusCode::SERVICE_UNAVAILABLE, "{uri}: {}", r.status);
    }
}

#[test]
fn csp_hashes_exactly_the_inline_script_text() {
    let html = "<script src=\"/a.js\"></script>\n<script type=\"module\">\nimport x from '/b.js';\n</script>";
    let s = profview_server::assets::inline_scripts(html);
    assert_eq!(s, vec!["\nimport x from '/b.js';\n"]);
    // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
    assert_eq!(profview_server::assets::sha256_base64("alert(1)"), "bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=");
}
