//! `profview collate` and `profview diff` against Python's `pstats` on real profiles: two
//! versions of one program and two sets of per-request dumps (`tests/fixtures/compare/`, written
//! by its `make.py`, whose `truth.json` is what `pstats` says about them).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/compare")
}

fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(dir().join("truth.json")).unwrap()).unwrap()
}

fn profview(args: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_profview")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

type Key = (String, i64, String);
/// `[file, line, name, cc, nc, tt, ct]` rows by key: (ncalls, primcalls, tottime, cumtime).
fn rows(v: &Value) -> HashMap<Key, [f64; 4]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap(), r[2].as_str().unwrap().to_owned());
            (key, [r[4].as_f64().unwrap(), r[3].as_f64().unwrap(), r[5].as_f64().unwrap(), r[6].as_f64().unwrap()])
        })
        .collect()
}

fn key_of(row: &Value) -> Key {
    (row["file"].as_str().unwrap().to_owned(), row["line"].as_i64().unwrap(), row["name"].as_str().unwrap().to_owned())
}

const FIELDS: [&str; 4] = ["ncalls", "primcalls", "tottime", "cumtime"];

fn files_of(t: &Value, set: &str) -> Vec<String> {
    t[set]["files"].as_array().unwrap().iter().map(|f| dir().join(f.as_str().unwrap()).display().to_string()).collect()
}

/// numpy's linear quantile, written out plainly.
fn plain_quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[test]
fn collate_sums_equal_pstats_and_spreads_equal_a_plain_computation() {
    let t = truth();
    let files = files_of(&t, "requests_base");
    let mut args = vec!["collate".to_owned(), "--json".to_owned()];
    args.extend(files.iter().cloned());
    let rep = profview(&args);
    assert_eq!(rep["files"].as_u64(), Some(files.len() as u64));
    let sum = rows(&t["requests_base"]["sum"]);
    let each: Vec<HashMap<Key, [f64; 4]>> = t["requests_base"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| rows(&t["requests_base"]["each"][f.as_str().unwrap()]))
        .collect();
    let funcs = rep["functions"].as_array().unwrap();
    assert_eq!(funcs.len(), sum.len(), "one row per function of pstats.Stats(*files)");
    for row in funcs {
        let k = key_of(row);
        let want = sum[&k];
        for (i, field) in FIELDS.iter().enumerate() {
            // Bit for bit: the same additions in the same order as pstats.Stats.add.
            assert_eq!(row["sum"][field].as_f64().unwrap().to_bits(), want[i].to_bits(), "{k:?} {field}");
            let mut per: Vec<f64> = each.iter().map(|e| e.get(&k).map_or(0.0, |v| v[i])).collect();
            per.sort_by(f64::total_cmp);
            let s = &row[field];
            assert_eq!(s["min"].as_f64().unwrap(), per[0], "{k:?} {field} min");
            assert_eq!(s["max"].as_f64().unwrap(), per[per.len() - 1], "{k:?} {field} max");
            for (name, q) in [("median", 0.5), ("p90", 0.9), ("p95", 0.95)] {
                let got = s[name].as_f64().unwrap();
                let want = plain_quantile(&per, q);
                assert!((got - want).abs() <= 1e-15 * want.abs().max(1e-300), "{k:?} {field} {name}: {got} vs {want}");
            }
            let mean = per.iter().sum::<f64>() / per.len() as f64;
            assert!((s["mean"].as_f64().unwrap() - mean).abs() <= 1e-15 * mean.abs().max(1e-300), "{k:?} {field} mean");
        }
        let present = each.iter().filter(|e| e.contains_key(&k)).count() as u64;
        assert_eq!(row["present"].as_u64(), Some(present), "{k:?}");
    }
    // The handler is in every dump; the default order is by summed tottime, largest first.
    let top: Vec<f64> = funcs.iter().map(|r| r["sum"]["tottime"].as_f64().unwrap()).collect();
    assert!(top.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn diff_of_two_versions_separates_more_calls_from_slower_calls() {
    let t = truth();
    let (v1, v2) = (rows(&t["program_v1.prof"]), rows(&t["program_v2.prof"]));
    let d = |f: &str| dir().join(f).display().to_string();
    let rep = profview(&["diff".into(), d("program_v1.prof"), d("program_v2.prof"), "--json".into()]);
    assert_eq!(rep["test"], "none", "two single pstats profiles have no noise estimate");
    let rows = rep["rows"].as_array().unwrap();
    let keys: std::collections::HashSet<Key> = v1.keys().chain(v2.keys()).cloned().collect();
    assert_eq!(rows.len(), keys.len(), "the union of both sides");
    let by_name = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap_or_else(|| panic!("{n}"));
    for row in rows {
        let k = key_of(row);
        for (side, truth) in [("base", &v1), ("new", &v2)] {
            match truth.get(&k) {
                None => assert!(row[side].is_null(), "{k:?} is absent from {side}"),
                Some(w) => {
                    for (i, field) in FIELDS.iter().enumerate() {
                        assert_eq!(row[side][field].as_f64().unwrap().to_bits(), w[i].to_bits(), "{k:?} {side} {field}");
                    }
                }
            }
        }
        let b = v1.get(&k).map_or(0.0, |v| v[2]);
        let n = v2.get(&k).map_or(0.0, |v| v[2]);
        assert_eq!(row["delta"]["tottime"].as_f64().unwrap(), n - b, "{k:?}");
        let s = &row["split"]["tottime"];
        let sum = s["more_calls"].as_f64().unwrap() + s["slower_per_call"].as_f64().unwrap();
        assert!((sum - (n - b)).abs() <= 1e-12, "{k:?}: the two causes add up to the change");
    }
    // query: three times the calls at about the same time per call.
    let q = by_name("query");
    assert_eq!(q["base"]["ncalls"].as_f64(), Some(30.0));
    assert_eq!(q["new"]["ncalls"].as_f64(), Some(90.0));
    let s = &q["split"]["tottime"];
    assert!(s["more_calls"].as_f64().unwrap() > 4.0 * s["slower_per_call"].as_f64().unwrap().abs(), "{s}");
    // parse: as many calls, each slower.
    let p = by_name("parse");
    assert_eq!(p["base"]["ncalls"], p["new"]["ncalls"]);
    let s = &p["split"]["tottime"];
    assert_eq!(s["more_calls"].as_f64(), Some(0.0));
    assert!(s["slower_per_call"].as_f64().unwrap() > 0.0);
    assert!(by_name("legacy_format")["new"].is_null());
    assert!(by_name("cache_lookup")["base"].is_null());
    assert!(by_name("cache_lookup")["relative"]["tottime"].is_null());
}

#[test]
fn diff_of_request_sets_finds_the_slower_function_and_not_the_noise() {
    let t = truth();
    let mut args = vec!["diff".to_owned(), "--json".to_owned(), "--normalize".to_owned(), "profile".to_owned(), "--base".to_owned()];
    args.extend(files_of(&t, "requests_base"));
    args.push("--new".to_owned());
    args.extend(files_of(&t, "requests_new"));
    let rep = profview(&args);
    assert_eq!(rep["test"], "mann-whitney");
    assert_eq!(rep["base"]["profiles"].as_u64(), Some(24));
    assert_eq!(rep["new"]["profiles"].as_u64(), Some(20));
    let rows = rep["rows"].as_array().unwrap();
    let row = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap_or_else(|| panic!("{n}"));
    // render's work is in spin, which it calls: its cumtime is what got slower.
    let render = &row("render")["significance"]["cumtime"];
    assert_eq!(render["significant"], true, "{}", row("render"));
    assert!(render["q"].as_f64().unwrap() < 0.05);
    assert_eq!(row("spin")["significance"]["cumtime"]["significant"], true);
    // Call counts are the same on both sides (the same seeded requests): never significant.
    for r in rows {
        assert_eq!(r["significance"]["ncalls"]["significant"], false, "{r}");
    }
    // (Whether pure noise stays insignificant is checked on seeded data, where the truth is
    // known: profview-compare's an_injected_slowdown_is_significant_and_noise_is_not.)
    // Per profile: each side's sum over its number of profiles, equal to pstats' sums / n.
    let sum_b = rows_sum(&t, "requests_base", "render");
    let b = row("render")["base"]["tottime"].as_f64().unwrap();
    assert_eq!(b, sum_b / 24.0);
    assert_eq!(row("render")["base"]["present"].as_u64(), Some(24));
    assert!(row("render")["new"]["spread"]["tottime"]["p95"].is_number());
}

fn rows_sum(t: &Value, set: &str, name: &str) -> f64 {
    rows(&t[set]["sum"]).iter().find(|(k, _)| k.2 == name).map(|(_, v)| v[2]).unwrap()
}

#[test]
fn bad_input_names_the_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_profview"))
        .args(["collate", "--json"])
        .arg(dir().join("program_v1.prof"))
        .arg(dir().join("make.py"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("make.py"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_profview")).args(["diff", "--json"]).arg(dir().join("program_v1.prof")).output().unwrap();
    assert!(!out.status.success());
}

/// `stats` of several files sums like `pstats.Stats(*files)` too: the first file, then the rest
/// in reverse (`Stats.add` walks `reversed(arg_list)`), so the floats agree bit for bit.
#[test]
fn stats_of_many_files_sums_in_pstats_order() {
    let t = truth();
    let mut args = vec!["stats".to_owned(), "--json".to_owned()];
    args.extend(files_of(&t, "requests_base"));
    let rep = profview(&args);
    let sum = rows(&t["requests_base"]["sum"]);
    let funcs = rep["functions"].as_array().unwrap();
    assert_eq!(funcs.len(), sum.len());
    for row in funcs {
        let k = key_of(row);
        for (i, field) in FIELDS.iter().enumerate() {
            assert_eq!(row[field].as_f64().unwrap().to_bits(), sum[&k][i].to_bits(), "{k:?} {field}");
        }
    }
    // And in pstats' order of first appearance.
    let order: Vec<Key> = funcs.iter().map(key_of).collect();
    let want: Vec<Key> = t["requests_base"]["sum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap(), r[2].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(order, want);
}

/// Sampled profiles collate to exact sums: each function's self and total (samples whose stack
/// holds it, once per sample) summed over the files, from the corpus ground truth of each file.
#[test]
fn sampled_collate_sums_are_exact() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/corpus/folded");
    let files = ["pyspy_cpu_raw_default.txt", "pyspy_recursion_raw_function.txt", "pyspy_cpu_raw_default.txt"];
    let truths: Vec<HashMap<String, (f64, f64)>> = files
        .iter()
        .map(|f| {
            let t: Value = serde_json::from_slice(&std::fs::read(corpus.join(format!("{f}.truth.json"))).unwrap()).unwrap();
            t["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_str().unwrap().to_owned(), (r[1].as_f64().unwrap(), r[2].as_f64().unwrap())))
                // An empty frame (`a;;b`) is no function: the importer drops it.
                .filter(|(frame, _)| !frame.is_empty())
                .collect()
        })
        .collect();
    let mut args = vec!["collate".to_owned(), "--json".to_owned()];
    args.extend(files.iter().map(|f| corpus.join(f).display().to_string()));
    let rep = profview(&args);
    assert_eq!(rep["kind"], "samples");
    let funcs = rep["functions"].as_array().unwrap();
    let distinct: std::collections::HashSet<&String> = truths.iter().flat_map(|t| t.keys()).collect();
    assert_eq!(funcs.len(), distinct.len());
    for row in funcs {
        let frame = format!("{} ({}:{})", row["name"].as_str().unwrap(), row["file"].as_str().unwrap(), row["line"]);
        let per: Vec<(f64, f64)> = truths.iter().map(|t| t.get(&frame).copied().unwrap_or((0.0, 0.0))).collect();
        let (s, t): (f64, f64) = per.iter().fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
        assert_eq!(row["sum"]["self"].as_f64(), Some(s), "{frame}");
        assert_eq!(row["sum"]["total"].as_f64(), Some(t), "{frame}");
        let present = truths.iter().filter(|t| t.contains_key(&frame)).count() as u64;
        assert_eq!(row["present"].as_u64(), Some(present), "{frame}");
        let max = per.iter().map(|v| v.1).fold(0.0, f64::max);
        assert_eq!(row["total"]["max"].as_f64(), Some(max), "{frame}");
    }
}
