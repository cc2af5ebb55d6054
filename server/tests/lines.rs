//! Functions, not lines (issue 14, item 3) through the routes and the CLI: a py-spy profile's
//! table has one row per function, `/lines` breaks it down, `by=line` brings the lines back with
//! the truth file's numbers; pstats is never grouped; a bad `by` is a JSON 400.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{corpus, get_json, state_with, truth};
use profview_server::AppState;
use serde_json::Value;

const PYSPY: &str = "folded/pyspy_cpu_raw_default.txt";

async fn ok(state: &AppState, uri: &str) -> Value {
    let (s, v) = get_json(state, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

/// The py-spy frames of the truth file, parsed here: (name, file) → its distinct lines.
fn lines_by_name(rel: &str) -> Vec<((String, String), BTreeSet<i64>)> {
    let mut out: Vec<((String, String), BTreeSet<i64>)> = Vec::new();
    for f in truth(rel)["frames"].as_array().unwrap() {
        let raw = f[0].as_str().unwrap();
        let Some((name, inner)) = raw.strip_suffix(')').and_then(|b| b.rsplit_once(" (")) else { continue };
        let Some((file, line)) = inner.rsplit_once(':').and_then(|(f, l)| Some((f, l.parse::<i64>().ok()?))) else { continue };
        let key = (name.to_owned(), file.to_owned());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ls)) => {
                ls.insert(line);
            }
            None => out.push((key, BTreeSet::from([line]))),
        }
    }
    out
}

fn is(r: &Value, (name, file): &(String, String)) -> bool {
    r["name"] == name.as_str() && r["file"] == file.as_str()
}

#[tokio::test]
async fn a_function_with_several_lines_is_one_row_whose_lines_add_up() {
    let (state, ids) = state_with(&[PYSPY]);
    let base = format!("/api/profiles/{}", ids[0]);
    let several: Vec<_> = lines_by_name(PYSPY).into_iter().filter(|(_, ls)| ls.len() > 1).collect();
    assert!(several.len() >= 3, "the fixture has functions seen at several lines");
    for (key, lines) in &several {
        let name = &key.0;
        let q = format!("{base}/functions?q={}&limit=100", urlencode(name));
        let page = ok(&state, &q).await;
        assert_eq!(page["current_lines"], true);
        let rows: Vec<&Value> = page["rows"].as_array().unwrap().iter().filter(|r| is(r, key)).collect();
        assert_eq!(rows.len(), 1, "{name}: one row");
        let row = rows[0];
        assert_eq!(row["line"].as_i64(), lines.first().copied(), "{name}: the lowest line");
        let fid = row["id"].as_u64().unwrap();
        let l = ok(&state, &format!("{base}/functions/{fid}/lines")).await;
        let lrows = l["rows"].as_array().unwrap();
        let got: Vec<i64> = lrows.iter().map(|r| r["line"].as_i64().unwrap()).collect();
        assert_eq!(got, lines.iter().copied().collect::<Vec<_>>(), "{name}: its lines, sorted");
        let self_sum: f64 = lrows.iter().map(|r| r["self"].as_f64().unwrap()).sum();
        assert_eq!(Some(self_sum), row["self_weight"].as_f64(), "{name}: Σ lines' self = self");
        let total = row["total_weight"].as_f64().unwrap();
        assert!(lrows.iter().all(|r| r["total"].as_f64().unwrap() <= total), "{name}");
        // by=line: one row per line again, each with its own id.
        let by_line = ok(&state, &format!("{q}&by=line")).await;
        let n = by_line["rows"].as_array().unwrap().iter().filter(|r| is(r, key)).count();
        assert_eq!(n, lines.len(), "{name}: by=line rows");
        assert_eq!(by_line["current_lines"], true);
    }
}

#[tokio::test]
async fn unknown_function_lines_are_404() {
    let (state, ids) = state_with(&[PYSPY]);
    let (s, v) = get_json(&state, &format!("/api/profiles/{}/functions/999999/lines", ids[0])).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn by_line_gives_the_truth_files_frames_and_numbers() {
    let (state, ids) = state_with(&[PYSPY]);
    let base = format!("/api/profiles/{}", ids[0]);
    let t = truth(PYSPY);
    // An empty frame (`a;;b`) is no function: the importer drops it.
    let frames: Vec<&Value> = t["frames"].as_array().unwrap().iter().filter(|f| f[0] != "").collect();
    let page = ok(&state, &format!("{base}/functions?by=line&limit=10000")).await;
    assert_eq!(page["total"].as_u64(), Some(frames.len() as u64), "by=line rows = the truth's distinct frames");
    let grouped = ok(&state, &format!("{base}/functions?limit=10000")).await;
    let pairs: BTreeSet<(String, String)> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r["file"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(grouped["total"].as_u64(), Some(pairs.len() as u64), "grouped rows = distinct (name, file)");
    for f in frames {
        let raw = f[0].as_str().unwrap();
        let row = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                let label = format!("{} ({}:{})", r["name"].as_str().unwrap(), r["file"].as_str().unwrap(), r["line"]);
                label == raw
            })
            .unwrap_or_else(|| panic!("no by=line row for {raw}"));
        assert_eq!(row["self_weight"].as_f64(), f[1].as_f64(), "{raw} self");
        assert_eq!(row["total_weight"].as_f64(), f[2].as_f64(), "{raw} total");
        // The detail, trees and graph answer with line-level ids.
        let fid = row["id"].as_u64().unwrap();
        let d = ok(&state, &format!("{base}/functions/{fid}?by=line")).await;
        assert_eq!(d["function"]["line"], row["line"]);
    }
    let tree = ok(&state, &format!("{base}/tree?by=line&min_frac=0&max_nodes=50000")).await;
    assert_eq!(tree["grand_total"].as_f64(), t["total_samples_or_metric"].as_f64());
    let grouped_tree = ok(&state, &format!("{base}/tree?min_frac=0&max_nodes=50000")).await;
    assert!(tree["nodes"].as_array().unwrap().len() > grouped_tree["nodes"].as_array().unwrap().len());
    for uri in ["graph?by=line", "threads?by=line", "functions/0/sandwich?by=line", "functions/0/all-callers?by=line"] {
        ok(&state, &format!("{base}/{uri}")).await;
    }
    // A by=line id's lines: itself.
    let l = ok(&state, &format!("{base}/functions/0/lines?by=line")).await;
    assert_eq!(l["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pstats_is_not_grouped_and_answers_one_line() {
    let rel = "pstats/cprofile_recursion.prof";
    let (state, ids) = state_with(&[rel]);
    let base = format!("/api/profiles/{}", ids[0]);
    let a = ok(&state, &format!("{base}/functions?limit=10000")).await;
    let b = ok(&state, &format!("{base}/functions?limit=10000&by=line")).await;
    assert_eq!(a["current_lines"], false);
    assert_eq!(a["rows"], b["rows"]);
    let row = &a["rows"][0];
    let l = ok(&state, &format!("{base}/functions/{}/lines", row["id"])).await;
    let rows = l["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line"], row["line"]);
    assert_eq!(rows[0]["self"].as_f64(), row["tottime"].as_f64());
    assert_eq!(rows[0]["total"].as_f64(), row["cumtime"].as_f64());
}

#[tokio::test]
async fn a_bad_by_is_a_json_400_on_every_view_route() {
    let (state, ids) = state_with(&[PYSPY]);
    let base = format!("/api/profiles/{}", ids[0]);
    for uri in [
        "functions",
        "functions/0",
        "functions/0/lines",
        "functions/0/sandwich",
        "functions/0/all-callers",
        "functions/0/all-callees",
        "tree",
        "graph",
        "threads",
    ] {
        let (s, v) = get_json(&state, &format!("{base}/{uri}?by=lines")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains("function") && msg.contains("line"), "{uri}: {msg}");
        // Empty and `function` are the default.
        ok(&state, &format!("{base}/{uri}?by=")).await;
        ok(&state, &format!("{base}/{uri}?by=function")).await;
    }
}

#[test]
fn stats_json_rows_of_a_pyspy_profile_carry_their_lines() {
    let p = corpus(PYSPY);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_profview")).args(["stats", p.to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let names = lines_by_name(PYSPY);
    let rows = v["functions"].as_array().unwrap();
    assert!(rows.len() >= names.len());
    for r in rows {
        let lines = r["lines"].as_array().unwrap_or_else(|| panic!("no lines in {r}"));
        let self_sum: f64 = lines.iter().map(|l| l["self"].as_f64().unwrap()).sum();
        assert_eq!(Some(self_sum), r["self"].as_f64(), "{r}");
        if let Some((_, want)) = names.iter().find(|(k, _)| is(r, k)) {
            let got: Vec<i64> = lines.iter().map(|l| l["line"].as_i64().unwrap()).collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "{r}");
        }
    }
    // Keys stay sorted: `lines` between `line` and `name`.
    let first = text.find("\"line\":").unwrap();
    assert!(first < text.find("\"lines\":").unwrap() && text.find("\"lines\":").unwrap() < text.find("\"name\":").unwrap());
    // A pstats profile's rows have no `lines`.
    let p = corpus("pstats/cprofile_recursion.prof");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_profview")).args(["stats", p.to_str().unwrap(), "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["functions"].as_array().unwrap().iter().all(|r| r.get("lines").is_none()));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
