//! `serve --source-root DIR` (issue 14, item 4): the detail panel's source comes from files under
//! the roots only. Off by default; a name outside the roots, a traversal or a symlink out of a
//! root answers 404 without reading anything.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::http::StatusCode;
use common::get_json;
use profview_server::source::SourceRoots;
use profview_server::state::StoreConfig;
use profview_server::AppState;
use serde_json::Value;

/// A py-spy style profile (frames `name (file:line)`) naming files inside and outside a root.
const PROFILE: &str = "main (app/work.py:12);helper (app/work.py:3) 5\n\
main (app/work.py:12);escape (../secret/key.py:1) 2\n\
main (app/work.py:12);absolute (SECRET/key.py:1) 1\n\
main (app/work.py:12);linked (app/link.py:1) 1\n\
main (app/work.py:12);frozen (<frozen importlib._bootstrap>:5) 1\n";

fn source_lines() -> String {
    (1..=40).map(|i| format!("line {i} of work.py\n")).collect()
}

/// A root `srv/` with `app/work.py` and a symlink `app/link.py` to `secret/key.py` beside the root.
fn tree() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("srv");
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::create_dir_all(d.path().join("secret")).unwrap();
    std::fs::write(root.join("app/work.py"), source_lines()).unwrap();
    std::fs::write(d.path().join("secret/key.py"), "TOKEN = 'do not show'\n").unwrap();
    std::os::unix::fs::symlink(d.path().join("secret/key.py"), root.join("app/link.py")).unwrap();
    (d, root)
}

fn state(roots: &[std::path::PathBuf], secret_dir: &std::path::Path) -> (AppState, String) {
    let cfg = StoreConfig { source_roots: SourceRoots::new(roots).unwrap(), ..Default::default() };
    let state = AppState::open(cfg).unwrap();
    let text = PROFILE.replace("SECRET", secret_dir.to_str().unwrap());
    let id = state.add_bytes("work.txt", text.as_bytes()).unwrap().id.clone();
    (state, id)
}

/// The id of the function called `name`, from the table.
async fn fid(state: &AppState, id: &str, name: &str) -> u64 {
    let (s, page) = get_json(state, &format!("/api/profiles/{id}/functions?limit=100")).await;
    assert_eq!(s, StatusCode::OK);
    let rows = page["rows"].as_array().unwrap();
    rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no {name} in {page}"))["id"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn source_is_read_from_under_the_roots_only() {
    let (d, root) = tree();
    let (state, id) = state(std::slice::from_ref(&root), &d.path().join("secret"));
    let helper = fid(&state, &id, "helper").await;
    let (s, v) = get_json(&state, &format!("/api/profiles/{id}/functions/{helper}/source")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // helper is at line 3: the answer starts at line 1 (5 above, clamped) and holds the file's lines.
    let want: Vec<String> = source_lines().lines().map(str::to_owned).collect();
    assert_eq!(v["first_line"], 1);
    assert_eq!(v["line"], 3);
    assert_eq!(v["line_count"], want.len());
    assert_eq!(v["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect::<Vec<_>>(), want);
    assert!(v["path"].as_str().unwrap().ends_with("srv/app/work.py"));
    // An asked range.
    let main = fid(&state, &id, "main").await;
    let (_, v) = get_json(&state, &format!("/api/profiles/{id}/functions/{main}/source?from=10&to=12")).await;
    assert_eq!(v["first_line"], 10);
    assert_eq!(v["lines"].as_array().unwrap().len(), 3);
    assert_eq!(v["lines"][0], want[9]);
    // Outside the roots: a traversal, an absolute path, a symlink out, a frozen module: 404, and
    // the secret's text never appears.
    for name in ["escape", "absolute", "linked", "frozen"] {
        let f = fid(&state, &id, name).await;
        let (s, v) = get_json(&state, &format!("/api/profiles/{id}/functions/{f}/source")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{name}: {v}");
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{name}: {v}");
        assert!(!v.to_string().contains("do not show"), "{name}: {v}");
    }
    // Bad requests.
    let (s, _) = get_json(&state, &format!("/api/profiles/{id}/functions/{main}/source?from=9&to=3")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = get_json(&state, &format!("/api/profiles/{id}/functions/99999/source")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn source_view_is_off_by_default() {
    let (d, _root) = tree();
    let (state, id) = state(&[], &d.path().join("secret"));
    let helper = fid(&state, &id, "helper").await;
    let (s, v): (StatusCode, Value) = get_json(&state, &format!("/api/profiles/{id}/functions/{helper}/source")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].as_str().unwrap().contains("--source-root"), "{v}");
}
