//! The dashboard's routes for a callgrind upload (pstats mode: table, callers, callees) and a
//! pprof upload (sampled mode, threads), and the pprof export route.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{get_json, state_with, truth};
use http_body_util::BodyExt;
use profview_import::{import, Limits};
use profview_server::{router, AppState};
use tower::ServiceExt;

async fn get_bytes(state: &AppState, uri: &str) -> (StatusCode, Vec<u8>) {
    let resp = router(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn a_callgrind_upload_gets_the_pstats_dashboard() {
    let (state, ids) = state_with(&["callgrind/yappi_recursion_cpu.callgrind"]);
    let p = &ids[0];
    let (s, list) = get_json(&state, "/api/profiles").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list[0]["format"], "pstats");
    // The table has pstats columns; the run's root has the numbers of the pstat of the same run
    // (yappi swaps cc/nc there: its cc is all calls). It is not the top row: builtins.exec is on
    // a call cycle, where callgrind gives an upper bound.
    let t = truth("pstats/yappi_recursion_cpu.pstat");
    let top = &t["top10_cumulative"][0];
    let (_, v) = get_json(&state, &format!("/api/profiles/{p}/functions?sort=cumtime&order=desc&limit=10")).await;
    let (_, root) = get_json(&state, &format!("/api/profiles/{p}/functions?q=run_path")).await;
    let row = &root["rows"][0];
    assert_eq!((&row["file"], &row["line"], &row["name"]), (&top["key"][0], &top["key"][1], &top["key"][2]));
    assert_eq!(row["ncalls"], top["cc"]);
    assert!((row["cumtime"].as_f64().unwrap() - top["ct"].as_f64().unwrap()).abs() < 2e-5, "{row}");
    assert!(row["tottime"].as_f64().is_some() && row["primcalls"].as_u64().is_some());
    // Callers and callees of a function in the middle: the detail lists both with call counts.
    let mid = v["rows"].as_array().unwrap().iter().find(|r| r["name"] == "_run_module_code").unwrap();
    let fid = mid["id"].as_u64().unwrap();
    let (s, d) = get_json(&state, &format!("/api/profiles/{p}/functions/{fid}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let callers = d["callers"].as_array().unwrap();
    let callees = d["callees"].as_array().unwrap();
    assert!(!callers.is_empty() && !callees.is_empty(), "{d}");
    assert!(callers.iter().chain(callees).all(|e| e["ncalls"].as_u64().is_some_and(|n| n > 0)), "{d}");
    // A tree is drawn (estimated, as for every pstats profile).
    let (s, _) = get_json(&state, &format!("/api/profiles/{p}/tree")).await;
    assert_eq!(s, StatusCode::OK);
    // pprof export of pstats data is refused with the reason.
    let (s, body) = get_bytes(&state, &format!("/api/profiles/{p}/export?format=pprof")).await;
    assert!(s.is_client_error(), "{s}");
    assert!(String::from_utf8_lossy(&body).contains("no samples"));
}

#[tokio::test]
async fn pprof_upload_and_export_round_trip() {
    let (state, ids) = state_with(&["../formats/pprof/cpu_inlined_threads.pb.gz", "folded/pyspy_cpu_raw_default.txt"]);
    let (_, list) = get_json(&state, "/api/profiles").await;
    assert_eq!(list[0]["format"], "pprof");
    let (s, th) = get_json(&state, &format!("/api/profiles/{}/threads", ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(th.as_array().map(|a| a.len()).or_else(|| th["threads"].as_array().map(|a| a.len())), Some(3), "{th}");
    // Export the folded profile as pprof through the route, import it again: same total.
    let (s, gz) = get_bytes(&state, &format!("/api/profiles/{}/export?format=pprof", ids[1])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(gz.starts_with(&[0x1f, 0x8b]));
    let back = import("x.pb.gz", &gz, &Limits::default()).unwrap().profile;
    let orig = import("x.txt", &std::fs::read(common::corpus("folded/pyspy_cpu_raw_default.txt")).unwrap(), &Limits::default())
        .unwrap()
        .profile;
    assert_eq!(back.samples.unwrap().total(), orig.samples.unwrap().total());
}
