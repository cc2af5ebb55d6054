//! `bench-index FILE [REPS]`: index and query benchmark (see BENCHMARKS.md, "Index and queries").
//!
//! Measures, in one process: store + import + index of the file through `AppState::add_file`
//! into a fresh data directory (exactly what `profview serve FILE` does before it listens), the first table page and the first tree slice through the router (JSON bytes =
//! the first screen's payload), RSS after the first answers and the peak, then latencies of
//! repeated queries (median and max over REPS runs): table pages, tree slices top-down and
//! inverted, a zoom, a sandwich, a transformed view (first build and cached).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use profview_server::{router, AppState};
use tower::ServiceExt;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn get(state: &AppState, uri: &str) -> (Duration, Vec<u8>) {
    let t = Instant::now();
    let req = match Request::get(uri).body(Body::empty()) {
        Ok(r) => r,
        Err(e) => panic!("{uri}: {e}"),
    };
    let resp = match router(state.clone()).oneshot(req).await {
        Ok(r) => r,
        Err(e) => panic!("{uri}: {e}"),
    };
    let status = resp.status();
    let body = match axum::body::to_bytes(resp.into_body(), usize::MAX).await {
        Ok(b) => b.to_vec(),
        Err(e) => panic!("{uri}: {e}"),
    };
    assert!(status.is_success(), "{uri}: {status} {}", String::from_utf8_lossy(&body));
    (t.elapsed(), body)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// First, median and max of `reps` requests. A `{n}` in `uri` becomes `max_nodes` 3000, 2999, …
/// so that no run of a tree slice is a plain cache hit: the first run walks the profile (unless
/// a kept slice covers it), later ones may be cut from the kept complete slice of an earlier run.
async fn latency(state: &AppState, label: &str, uri: &str, reps: usize) -> Vec<u8> {
    let mut times = Vec::with_capacity(reps);
    let mut body = Vec::new();
    for rep in 0..reps {
        let (d, b) = get(state, &uri.replace("{n}", &(3000 - rep).to_string())).await;
        times.push(d);
        body = b;
    }
    let first = times[0];
    times.sort();
    println!(
        "  {label:<44} first {:>10}  median {:>10}  max {:>10}  ({} bytes)",
        ms(first),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        body.len()
    );
    body
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: bench-index FILE [REPS]");
        std::process::exit(2);
    };
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20).max(1);
    let data_dir = std::env::temp_dir().join(format!("profview-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let cfg = profview_server::state::StoreConfig { data_dir: Some(data_dir.clone()), ..Default::default() };
    let state = match AppState::open(cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let name = std::path::Path::new(&path).file_name().and_then(|n| n.to_str()).unwrap_or("profile").to_owned();
    let t0 = Instant::now();
    let entry = match state.add_file(&name, std::path::Path::new(&path)) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let t_index = t0.elapsed();
    let id = entry.id.clone();
    let p = entry.index.profile();
    let nodes = p.samples.as_ref().map_or(0, |s| s.stacks.len());
    let edges = p.pstats.as_ref().map_or(0, |s| s.edges.len());
    println!("{path}: {} functions, {nodes} stack nodes, {edges} call edges", p.functions.len());
    let (d_table, table) = get(&state, &format!("/api/profiles/{id}/functions?limit=100")).await;
    let (d_tree, tree) = get(&state, &format!("/api/profiles/{id}/tree")).await;
    let (fmf, fmn) = profview_api::FLAME_LOD;
    let (d_icicle, _) = get(&state, &format!("/api/profiles/{id}/tree?mode=top-down&min_frac={fmf}&max_nodes={fmn}")).await;
    let t_first = t0.elapsed();
    println!("  store + import + index (add_file)            {}", ms(t_index));
    println!("  first table page (100 rows)                  {}  ({} bytes)", ms(d_table), table.len());
    println!("  first tree slice (min_frac 0.001, 3000)      {}  ({} bytes)", ms(d_tree), tree.len());
    println!("  dashboard icicle slice, right after loading  {}", ms(d_icicle));
    println!("  start -> first complete answers              {}", ms(t_first));
    println!("  first-screen payload (table + tree JSON)     {} bytes", table.len() + tree.len());
    println!("  RSS after first answers {} MiB, peak {} MiB", rss_kib("VmRSS:") / 1024, rss_kib("VmHWM:") / 1024);

    let top: serde_json::Value = serde_json::from_slice(&table).unwrap_or_default();
    let fid = top["rows"][0]["id"].as_u64().unwrap_or(0);
    let fid2 = top["rows"][5]["id"].as_u64().unwrap_or(fid);
    // Zoom target: the biggest top-level function (from a small slice without level of detail).
    let (_, small) = get(&state, &format!("/api/profiles/{id}/tree?min_frac=0&max_nodes=20")).await;
    let t: serde_json::Value = serde_json::from_slice(&small).unwrap_or_default();
    let zoom = t["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["parent"] == 0 && !n["func"].is_null()).map(|n| n["path"].as_str().unwrap_or("").to_owned()))
        .unwrap_or_default();
    println!("latency over {reps} runs (through the router, JSON included):");
    let b = format!("/api/profiles/{id}");
    latency(&state, "table page, default sort", &format!("{b}/functions?limit=100"), reps).await;
    latency(&state, "table page 50, offset 1000, sort=tottime", &format!("{b}/functions?limit=50&offset=1000&sort=tottime"), reps).await;
    latency(&state, "table page, sort=name asc", &format!("{b}/functions?limit=100&sort=name"), reps).await;
    latency(&state, "table page, q=func_1 filter", &format!("{b}/functions?limit=100&q=func_1"), reps).await;
    println!("  (tree slices: max_nodes 3000, 2999, … per run, so none is a plain cache hit; min_frac 0.001 unless given)");
    latency(&state, "tree slice top-down", &format!("{b}/tree?max_nodes={{n}}"), reps).await;
    latency(&state, "tree slice top-down min_frac=0", &format!("{b}/tree?min_frac=0&max_nodes={{n}}"), reps).await;
    latency(&state, "tree slice inverted", &format!("{b}/tree?mode=inverted&max_nodes={{n}}"), reps).await;
    latency(&state, "tree slice zoom root=<biggest top-level>", &format!("{b}/tree?root={zoom}&max_nodes={{n}}"), reps).await;
    latency(&state, "tree slice inverted zoom root=<top leaf>", &format!("{b}/tree?mode=inverted&root={fid2}&max_nodes={{n}}"), reps).await;
    // The dashboard's icicle and flame requests (prepared in the background at load).
    let (mf, mn) = profview_api::FLAME_LOD;
    latency(&state, "dashboard icicle (prepared)", &format!("{b}/tree?mode=top-down&min_frac={mf}&max_nodes={mn}"), reps).await;
    latency(&state, "dashboard flame (prepared)", &format!("{b}/tree?mode=inverted&min_frac={mf}&max_nodes={mn}"), reps).await;
    latency(&state, "flame at the dashboard's LOD, other budgets", &format!("{b}/tree?mode=inverted&min_frac={mf}&max_nodes=1{{n}}"), reps).await;
    latency(&state, "function detail (top function)", &format!("{b}/functions/{fid}"), reps).await;
    latency(&state, "sandwich (6th function)", &format!("{b}/functions/{fid2}/sandwich"), reps).await;
    latency(&state, "all-callees (top function)", &format!("{b}/functions/{fid}/all-callees"), reps).await;
    let tf = if p.samples.is_some() { "rec~h:re:^_" } else { "rec" };
    let (d, _) = get(&state, &format!("{b}/tree?tf={tf}")).await;
    println!("  tf={tf}: first tree slice (builds the view) {}", ms(d));
    latency(&state, &format!("tf={tf}: tree slice (cached view)"), &format!("{b}/tree?tf={tf}"), reps).await;
    println!("  peak RSS {} MiB", rss_kib("VmHWM:") / 1024);
    drop(state);
    let _ = std::fs::remove_dir_all(&data_dir);
}
