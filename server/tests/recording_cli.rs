//! Recordings of the `profview` Python package through the CLI: `stats --json` rows carry the
//! sampled and the exact numbers (checked against the recording itself, read independently),
//! `export --format pstats` opens in Python's `pstats` with the same numbers, and the folded
//! export sums the samples exactly.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/recordings").join(rel)
}

fn profview(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_profview")).args(args).output().unwrap()
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Per display name: Σ wall of the stacks whose leaf is it (self) and of those that hold it (total).
fn sampled_truth(rec: &serde_json::Value) -> HashMap<String, (f64, f64)> {
    let funcs = rec["functions"].as_array().unwrap();
    let name = |i: &serde_json::Value| funcs[i.as_u64().unwrap() as usize][2].as_str().unwrap().to_owned();
    let mut out: HashMap<String, (f64, f64)> = HashMap::new();
    for s in rec["stacks"].as_array().unwrap() {
        let frames: Vec<String> = s[1].as_array().unwrap().iter().map(name).collect();
        let (idle, wall) = (s[3].as_u64().unwrap() == 1, s[6].as_f64().unwrap());
        let mut seen = std::collections::HashSet::new();
        for f in &frames {
            if seen.insert(f.clone()) {
                out.entry(f.clone()).or_default().1 += wall;
            }
        }
        let leaf = if idle { "<idle>".to_owned() } else { frames.last().unwrap().clone() };
        out.entry(leaf.clone()).or_default().0 += wall;
        if idle {
            out.entry(leaf).or_default().1 += wall;
        }
    }
    out
}

#[test]
fn stats_json_rows_carry_sampled_and_exact_numbers() {
    let path = fixture("hybrid_threads.pvrec");
    let rec = read_json(&path);
    let o = profview(&["stats", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["format"], "recording");
    assert_eq!(rep["dialect"], "profview");
    let names: Vec<&str> = rep["threads"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["spinner", "MainThread", "sleeper"]);
    let rows: HashMap<String, &serde_json::Value> =
        rep["functions"].as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap().to_owned(), r)).collect();
    let by_key: HashMap<(String, i64, String), &serde_json::Value> = rep["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| ((r["file"].as_str().unwrap().to_owned(), r["line"].as_i64().unwrap(), r["name"].as_str().unwrap().to_owned()), r))
        .collect();
    // Exact numbers: the recording's cprofile section, entry by entry.
    let funcs = rec["functions"].as_array().unwrap();
    let mut checked = 0;
    for st in rec["cprofile"]["stats"].as_array().unwrap() {
        let f = &funcs[st[0].as_u64().unwrap() as usize];
        let name = f[2].as_str().unwrap();
        let key = (f[0].as_str().unwrap().to_owned(), f[1].as_i64().unwrap(), name.to_owned());
        let row = by_key.get(&key).unwrap_or_else(|| panic!("{key:?} missing"));
        assert_eq!(row["primcalls"], st[1], "{name}");
        assert_eq!(row["ncalls"], st[2], "{name}");
        assert_eq!(row["tottime"].as_f64(), st[3].as_f64(), "{name}");
        assert_eq!(row["cumtime"].as_f64(), st[4].as_f64(), "{name}");
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
    // fib(20), called 3 times from main: 3 × (2·F(21) − 1) calls, 3 of them primitive.
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..21 {
        (a, b) = (b, a + b);
    }
    assert_eq!(rows["fib"]["ncalls"], 3 * (2 * a - 1));
    assert_eq!(rows["fib"]["primcalls"], 3);
    // Sampled numbers: exact sums of the stacks' wall seconds.
    for (name, (sw, tw)) in sampled_truth(&rec) {
        let row = rows[name.as_str()];
        assert!((row["self"].as_f64().unwrap_or(0.0) - sw).abs() < 1e-9, "{name} self");
        assert!((row["total"].as_f64().unwrap() - tw).abs() < 1e-9, "{name} total");
    }
    // The spinning thread's function is the leaf of its busy samples; the sleeper is idle.
    assert!(rows["spin"]["self"].as_f64().unwrap() > 0.3);
    assert!(rows["<idle>"]["self"].as_f64().unwrap() > 0.5);
    // The text report shows both too.
    let t = profview(&["stats", path.to_str().unwrap(), "--sort", "cumtime", "--limit", "5"]);
    let text = String::from_utf8(t.stdout).unwrap();
    assert!(text.contains("sampled in 3 threads") && text.contains("self    total"), "{text}");
}

#[test]
fn pstats_export_opens_in_python_pstats_with_the_same_numbers() {
    let path = fixture("hybrid_threads.pvrec");
    let rec = read_json(&path);
    let out = std::env::temp_dir().join(format!("profview-rec-{}.prof", std::process::id()));
    let o = profview(&["export", path.to_str().unwrap(), "--format", "pstats", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py = "import pstats, sys, json\n\
              s = pstats.Stats(sys.argv[1])\n\
              print(json.dumps({'total_calls': s.total_calls, 'prim_calls': s.prim_calls,\n\
                  'rows': sorted([k[0], k[1], k[2], v[0], v[1], v[2], v[3]] for k, v in s.stats.items())}))";
    let r = Command::new("python3").args(["-c", py, out.to_str().unwrap()]).output().unwrap();
    assert!(r.status.success(), "python3 pstats: {}", String::from_utf8_lossy(&r.stderr));
    let got: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let funcs = rec["functions"].as_array().unwrap();
    let mut want: Vec<serde_json::Value> = rec["cprofile"]["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            let f = &funcs[st[0].as_u64().unwrap() as usize];
            serde_json::json!([f[0], f[1], f[2], st[1], st[2], st[3], st[4]])
        })
        .collect();
    want.sort_by_key(|v| v.to_string());
    let mut got_rows = got["rows"].as_array().unwrap().clone();
    got_rows.sort_by_key(|v| v.to_string());
    assert_eq!(got_rows, want);
    let nc: u64 = rec["cprofile"]["stats"].as_array().unwrap().iter().map(|s| s[2].as_u64().unwrap()).sum();
    assert_eq!(got["total_calls"], nc);
    // A sampled-only recording has nothing to write as pstats, and says so.
    let s = profview(&["export", fixture("sampled_threads.pvrec").to_str().unwrap(), "--format", "pstats"]);
    assert!(!s.status.success());
    assert!(String::from_utf8_lossy(&s.stderr).contains("no pstats data"));
}

#[test]
fn folded_export_sums_the_samples() {
    let path = fixture("sampled_threads.pvrec");
    let rec = read_json(&path);
    let o = profview(&["export", path.to_str().unwrap(), "--format", "folded"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let want: f64 = rec["stacks"].as_array().unwrap().iter().map(|s| s[6].as_f64().unwrap()).sum();
    let got: f64 = text.lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap()).sum();
    assert!((got - want).abs() / want < 1e-6, "{got} vs {want}");
    assert!(text.contains("spin"), "{text}");
}

#[test]
fn bad_recordings_are_refused_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("profview-badrec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(fixture("sampled_threads.pvrec")).unwrap();
    let cases = [
        ("truncated.pvrec", good[..good.len() / 2].to_owned(), "bad JSON"),
        ("v9.pvrec", good.replacen("\"version\":1", "\"version\":9", 1), "version 9"),
        ("nan.pvrec", r#"{"format": "profview-recording", "version": 1, "functions": [["a", 1, "f"]], "threads": [[1, 2, "T"]], "stacks": [[0, [0], 1, 0, 0, 1, -1.0, null]]}"#.to_owned(), "negative"),
    ];
    for (name, body, want) in cases {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        let o = profview(&["stats", p.to_str().unwrap()]);
        assert!(!o.status.success(), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}
