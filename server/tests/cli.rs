//! `profview stats` and the CLI contract, run as a real process on the corpus.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`).
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn profview(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_profview")).args(args).output().expect("runs")
}

fn corpus_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("corpus").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".truth.json"))
        .filter(|p| p.with_file_name(format!("{}.truth.json", p.file_name().unwrap().to_string_lossy())).exists())
        .collect();
    v.sort();
    v
}

fn truth(p: &Path) -> Value {
    let t = std::fs::read_to_string(p.with_file_name(format!("{}.truth.json", p.file_name().unwrap().to_string_lossy()))).unwrap();
    serde_json::from_str(&t).unwrap()
}

fn stats_json(p: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["stats", p.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = profview(&args);
    assert!(out.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every pstats corpus file: totals bit for bit, and every function's numbers in file order.
#[test]
fn stats_json_matches_pstats_on_every_corpus_file() {
    let files = corpus_files("pstats");
    assert!(files.len() >= 10);
    for p in files {
        let t = truth(&p);
        let v = stats_json(&p, &[]);
        let name = p.display();
        assert_eq!(v["format"], "pstats", "{name}");
        assert_eq!(v["unit"], "seconds");
        assert_eq!(v["total_calls"], t["total_calls"], "{name}");
        assert_eq!(v["prim_calls"], t["prim_calls"], "{name}");
        assert_eq!(v["total_time"].as_f64().unwrap().to_bits(), t["total_tt"].as_f64().unwrap().to_bits(), "{name}");
        let funcs = v["functions"].as_array().unwrap();
        let want = t["functions"].as_array().unwrap();
        assert_eq!(funcs.len(), want.len(), "{name}");
        for (got, w) in funcs.iter().zip(want) {
            let key = &w[0];
            if key[2].is_string() {
                assert_eq!(got["name"], key[2], "{name}");
            }
            assert_eq!(got["file"], key[0], "{name}");
            assert_eq!(got["line"], key[1], "{name}");
            assert_eq!(got["primcalls"], w[1], "{name} {}", got["name"]);
            assert_eq!(got["ncalls"], w[2], "{name} {}", got["name"]);
            assert_eq!(got["tottime"].as_f64().map(f64::to_bits), w[3].as_f64().map(f64::to_bits), "{name}");
            assert_eq!(got["cumtime"].as_f64().map(f64::to_bits), w[4].as_f64().map(f64::to_bits), "{name}");
            let callers = got["callers"].as_array().unwrap();
            assert_eq!(callers.len(), w[5].as_array().unwrap().len(), "{name} {}", got["name"]);
            for (c, wc) in callers.iter().zip(w[5].as_array().unwrap()) {
                assert_eq!(c["ncalls"], wc[1], "{name}");
                if wc.as_array().unwrap().len() == 5 {
                    assert_eq!(c["primcalls"], wc[2], "{name}");
                    assert_eq!(c["tottime"].as_f64().map(f64::to_bits), wc[3].as_f64().map(f64::to_bits), "{name}");
                    assert_eq!(c["cumtime"].as_f64().map(f64::to_bits), wc[4].as_f64().map(f64::to_bits), "{name}");
                } else {
                    assert!(c["tottime"].is_null(), "{name}: profile-module callers carry only a count");
                }
            }
        }
    }
}

#[test]
fn sort_cumulative_with_limit_is_pstats_top10() {
    for p in corpus_files("pstats") {
        let t = truth(&p);
        let v = stats_json(&p, &["--sort", "cumulative", "--limit", "10"]);
        let funcs = v["functions"].as_array().unwrap();
        let top = t["top10_cumulative"].as_array().unwrap();
        assert_eq!(funcs.len(), top.len().min(10));
        for (got, w) in funcs.iter().zip(top) {
            assert_eq!(got["cumtime"].as_f64(), w["ct"].as_f64(), "{}", p.display());
        }
    }
}

#[test]
fn stats_json_totals_match_every_folded_corpus_file() {
    let files = corpus_files("folded");
    assert!(files.len() >= 5);
    for p in files {
        let t = truth(&p);
        let v = stats_json(&p, &[]);
        assert_eq!(v["format"], "folded", "{}", p.display());
        assert!(v["total_calls"].is_null());
        assert_eq!(v["total"].as_f64(), t["total_samples_or_metric"].as_f64(), "{}", p.display());
        let thread_sum: f64 = v["threads"].as_array().unwrap().iter().map(|t| t["total"].as_f64().unwrap()).sum();
        assert_eq!(thread_sum, v["total"].as_f64().unwrap(), "{}", p.display());
    }
}

#[test]
fn text_output_reads_like_print_stats() {
    let p = fixtures().join("corpus/pstats/cprofile_recursion.prof");
    let out = profview(&["stats", p.to_str().unwrap(), "--sort", "cumtime", "--limit", "3"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("132078 function calls (3300 primitive calls) in 0.259 seconds"), "{text}");
    assert!(text.contains("   ncalls  tottime  percall  cumtime  percall filename:lineno(function)"));
    assert!(text.contains("List reduced from 18 to 3"));
    assert_eq!(text.lines().filter(|l| l.contains('(') && l.trim_start().starts_with(char::is_numeric)).count(), 3);
}

#[test]
fn bad_files_exit_1_with_one_error_line_naming_the_file() {
    for name in ["pstats_truncated_at_100_of_2067.prof", "pstats_empty_file.prof", "random_4096_bytes.bin", "folded_empty_file.folded"] {
        let p = fixtures().join("bad").join(name);
        let out = profview(&["stats", p.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        let line = err.lines().find(|l| l.starts_with("error: ")).expect("an error line");
        assert!(line.starts_with(&format!("error: {}: ", p.display())), "{line}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn merged_files_sum_like_pstats_add() {
    let p = fixtures().join("corpus/pstats/cprofile_recursion.prof");
    let one = stats_json(&p, &[]);
    let out = profview(&["stats", p.to_str().unwrap(), p.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let two: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(two["total_calls"].as_u64().unwrap(), 2 * one["total_calls"].as_u64().unwrap());
    assert_eq!(two["total_time"].as_f64().unwrap(), one["total_time"].as_f64().unwrap() * 2.0);
}

#[test]
fn help_and_version() {
    let out = profview(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("serve") && text.contains("stats"));
    let out = profview(&["--version"]);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("profview "));
    let out = profview(&["serve", "--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--host", "--port", "--no-browser"] {
        assert!(text.contains(flag), "{flag}");
    }
}
