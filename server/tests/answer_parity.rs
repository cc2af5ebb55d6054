//! The server's routes and `profview-answer` (what the HTML report computes in the browser) give
//! the same JSON for the same questions.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::http::StatusCode;
use common::{corpus, get_json, state_with};
use profview_answer as answer;
use profview_api::{SortKey, TreeMode};
use profview_index::ProfileIndex;
use serde_json::Value;

fn index_of(rel: &str) -> ProfileIndex {
    let bytes = std::fs::read(corpus(rel)).unwrap();
    let imported = profview_import::import(rel, &bytes, &profview_import::Limits::default()).unwrap();
    ProfileIndex::build(imported.profile)
}

async fn route(state: &profview_server::AppState, uri: &str) -> Value {
    let (s, v) = get_json(state, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

fn json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap()
}

async fn same_answers(rel: &str, thread: Option<&str>) {
    let (state, ids) = state_with(&[rel]);
    let id = &ids[0];
    let idx = index_of(rel);
    let sel = answer::selection(thread, None).unwrap();
    let th = thread.map(|t| format!("&thread={t}")).unwrap_or_default();

    let s = route(&state, &format!("/api/profiles/{id}")).await;
    let a = json(answer::summary(&idx, id, rel, None, Vec::new()));
    for k in ["format", "dialect", "unit", "functions", "total", "calls"] {
        assert_eq!(s[k], a[k], "{rel}: summary {k}");
    }

    for (sort, q) in [("", ""), ("tottime", ""), ("name", "a"), ("cumtime", "")] {
        let uri = format!("/api/profiles/{id}/functions?sort={sort}&q={q}&limit=50{th}");
        let p = answer::FunctionsParams {
            sort: SortKey::parse(sort),
            q: Some(q.to_owned()),
            limit: Some(50),
            thread: thread.map(str::to_owned),
            ..Default::default()
        };
        // `tottime` is not a sort key of sampled profiles: both must refuse it alike.
        match answer::functions(&idx, &p) {
            Ok(page) => assert_eq!(route(&state, &uri).await, json(page), "{rel}: {uri}"),
            Err(e) => {
                let (st, v) = get_json(&state, &uri).await;
                assert_eq!(st, StatusCode::BAD_REQUEST);
                assert_eq!(v["error"].as_str(), Some(e.to_string().as_str()));
            }
        }
    }

    let tq = answer::tree_query(None, None, answer::lod(Some(0.001), Some(3000)).unwrap()).unwrap();
    let tree = route(&state, &format!("/api/profiles/{id}/tree?min_frac=0.001&max_nodes=3000{th}")).await;
    assert_eq!(tree, json(answer::tree(&idx, &sel, &tq).unwrap()), "{rel}: tree");
    let tq = answer::tree_query(Some(TreeMode::Inverted), None, answer::lod(Some(0.002), Some(500)).unwrap()).unwrap();
    let flame = route(&state, &format!("/api/profiles/{id}/tree?mode=inverted&min_frac=0.002&max_nodes=500{th}")).await;
    assert_eq!(flame, json(answer::tree(&idx, &sel, &tq).unwrap()), "{rel}: inverted tree");

    assert_eq!(route(&state, &format!("/api/profiles/{id}/threads")).await, json(answer::threads(&idx)));
    let graph = route(&state, &format!("/api/profiles/{id}/graph?n=40{th}")).await;
    assert_eq!(graph, json(answer::graph(&idx, &sel, 40).unwrap()), "{rel}: graph");

    // The three costliest functions: detail, reach both ways, sandwich.
    let top = answer::functions(&idx, &answer::FunctionsParams { limit: Some(3), thread: thread.map(str::to_owned), ..Default::default() })
        .unwrap();
    assert!(!top.rows.is_empty());
    for row in &top.rows {
        let f = row.id;
        let d = route(&state, &format!("/api/profiles/{id}/functions/{f}?x=1{th}")).await;
        assert_eq!(d, json(answer::function_detail(&idx, &sel, f, None).unwrap()), "{rel}: detail {f}");
        for (which, callers) in [("all-callers", true), ("all-callees", false)] {
            let r = route(&state, &format!("/api/profiles/{id}/functions/{f}/{which}?x=1{th}")).await;
            assert_eq!(r, json(answer::reach(&idx, &sel, f, callers).unwrap()), "{rel}: {which} {f}");
        }
        let lod = answer::lod(Some(0.002), Some(2000)).unwrap();
        let s = route(&state, &format!("/api/profiles/{id}/functions/{f}/sandwich?min_frac=0.002&max_nodes=2000{th}")).await;
        assert_eq!(s, json(answer::sandwich(&idx, &sel, f, &lod).unwrap()), "{rel}: sandwich {f}");
    }
}

#[tokio::test]
async fn pstats_answers_match_the_routes() {
    same_answers("pstats/cprofile_pip_list.prof", None).await;
}

#[tokio::test]
async fn sampled_answers_match_the_routes_per_thread() {
    same_answers("folded/pyspy_threads_raw_threads_idle_nolineno.txt", None).await;
    same_answers("folded/pyspy_threads_raw_threads_idle_nolineno.txt", Some("0")).await;
}
