//! Exactness against the ground truth: every `*.truth.json` under `tests/fixtures/corpus/pstats`
//! and `tests/fixtures/corpus/folded` (discovered at run time: a new corpus file is a new check).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::collections::HashMap;

use common::*;
use profview_import::{import, FoldedParser, Limits};
use profview_model::{Dialect, FuncId, Unit};
use serde_json::Value;

fn as_u64(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}
fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// (file, line, name) of a truth key; a code object is labelled as `pstats` prints it.
fn truth_key(k: &Value) -> (String, i64, String) {
    let a = k.as_array().unwrap();
    let name = match &a[2] {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let c = &o["code_object"];
            format!(
                "<code object {}, file \"{}\", line {}>",
                c["co_name"].as_str().unwrap(),
                c["co_filename"].as_str().unwrap(),
                c["co_firstlineno"].as_i64().unwrap()
            )
        }
        other => panic!("unexpected key name {other}"),
    };
    (
        a[0].as_str().unwrap().to_owned(),
        a[1].as_i64().unwrap(),
        name,
    )
}

fn check_pstats(truth_path: &std::path::Path) -> usize {
    let truth: Value = serde_json::from_slice(&read(truth_path)).unwrap();
    let data_path = truth_path
        .to_string_lossy()
        .trim_end_matches(".truth.json")
        .to_owned();
    let bytes = read(std::path::Path::new(&data_path));
    let name = std::path::Path::new(&data_path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = import(&name, &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let p = &out.profile;
    let ps = p.pstats.as_ref().unwrap();
    let ctx = |what: &str| format!("{name}: {what}");

    // Dialect from the producer.
    let producer = truth["producer"].as_str().unwrap();
    let want = if producer.starts_with("profile") {
        Dialect::Profile
    } else if producer.starts_with("yappi") {
        Dialect::Yappi
    } else {
        Dialect::Cprofile
    };
    assert_eq!(p.dialect, want, "{}", ctx("dialect"));
    assert_eq!(p.unit, Unit::Seconds);

    // Totals: exact, total_tt bit for bit.
    assert_eq!(
        ps.total_calls,
        as_u64(&truth["total_calls"]),
        "{}",
        ctx("total_calls")
    );
    assert_eq!(
        ps.prim_calls,
        as_u64(&truth["prim_calls"]),
        "{}",
        ctx("prim_calls")
    );
    assert_eq!(
        ps.total_time.to_bits(),
        as_f64(&truth["total_tt"]).to_bits(),
        "{}",
        ctx("total_tt")
    );

    let funcs = truth["functions"].as_array().unwrap();
    assert_eq!(funcs.len() as u64, as_u64(&truth["function_count"]));
    let n = funcs.len();
    // Our first n functions are the top-level entries in file order.
    for (i, f) in funcs.iter().enumerate() {
        let (file, line, fname) = truth_key(&f[0]);
        let ours = &p.functions[i];
        assert_eq!(
            (&ours.file, ours.line, &ours.name),
            (&file, line, &fname),
            "{}",
            ctx(&format!("key of function {i}"))
        );
        let s = ps.stats[i].unwrap();
        assert_eq!(s.primcalls, as_u64(&f[1]), "{}", ctx(&format!("cc of {i}")));
        assert_eq!(s.ncalls, as_u64(&f[2]), "{}", ctx(&format!("nc of {i}")));
        assert_eq!(
            s.tottime.to_bits(),
            as_f64(&f[3]).to_bits(),
            "{}",
            ctx(&format!("tt of {i}"))
        );
        assert_eq!(
            s.cumtime.to_bits(),
            as_f64(&f[4]).to_bits(),
            "{}",
            ctx(&format!("ct of {i}"))
        );
    }
    // Functions beyond n are callers that are not top-level keys: stats None.
    for i in n..p.functions.len() {
        assert!(
            ps.stats[i].is_none(),
            "{}",
            ctx("external caller has stats")
        );
    }
    // Caller edges: grouped by callee in file order, each in callers-dict order.
    let mut by_callee: HashMap<FuncId, Vec<&profview_model::CallEdge>> = HashMap::new();
    for e in &ps.edges {
        by_callee.entry(e.callee).or_default().push(e);
    }
    let mut edge_count = 0;
    let mut expected_order = Vec::new();
    for (i, f) in funcs.iter().enumerate() {
        let callers = f[5].as_array().unwrap();
        let ours = by_callee.remove(&FuncId(i as u32)).unwrap_or_default();
        assert_eq!(
            ours.len(),
            callers.len(),
            "{}",
            ctx(&format!("caller count of {i}"))
        );
        for (c, e) in callers.iter().zip(&ours) {
            let c = c.as_array().unwrap();
            match &c[0] {
                Value::Number(r) => assert_eq!(
                    e.caller.0 as u64,
                    r.as_u64().unwrap(),
                    "{}",
                    ctx("caller ref")
                ),
                key => {
                    let (file, line, fname) = truth_key(key);
                    let f = p.func(e.caller);
                    assert!(
                        e.caller.idx() >= n,
                        "{}",
                        ctx("external caller inside the top-level range")
                    );
                    assert_eq!(
                        (&f.file, f.line, &f.name),
                        (&file, line, &fname),
                        "{}",
                        ctx("external caller key")
                    );
                }
            }
            assert_eq!(e.ncalls, as_u64(&c[1]), "{}", ctx("edge nc"));
            if want == Dialect::Profile {
                assert_eq!(c.len(), 2);
                assert!(e.primcalls.is_none() && e.tottime.is_none() && e.cumtime.is_none());
            } else {
                assert_eq!(e.primcalls, Some(as_u64(&c[2])), "{}", ctx("edge cc"));
                assert_eq!(
                    e.tottime.map(f64::to_bits),
                    Some(as_f64(&c[3]).to_bits()),
                    "{}",
                    ctx("edge tt")
                );
                assert_eq!(
                    e.cumtime.map(f64::to_bits),
                    Some(as_f64(&c[4]).to_bits()),
                    "{}",
                    ctx("edge ct")
                );
            }
            expected_order.push(i);
            edge_count += 1;
        }
    }
    assert!(
        by_callee.is_empty(),
        "{}",
        ctx("edges for callees that are not top-level")
    );
    assert_eq!(edge_count as u64, as_u64(&truth["caller_edge_count"]));
    // Grouped by callee in file order.
    let got_order: Vec<usize> = ps.edges.iter().map(|e| e.callee.idx()).collect();
    assert_eq!(got_order, expected_order, "{}", ctx("edge order"));
    1
}

#[test]
fn pstats_corpus_exact() {
    let files = truth_files("pstats");
    assert!(
        files.len() >= 10,
        "expected the pstats corpus, found {}",
        files.len()
    );
    let checked: usize = files.iter().map(|f| check_pstats(f)).sum();
    assert_eq!(checked, files.len());
}

fn check_folded(truth_path: &std::path::Path, chunked: bool) {
    let truth: Value = serde_json::from_slice(&read(truth_path)).unwrap();
    let data_path = truth_path
        .to_string_lossy()
        .trim_end_matches(".truth.json")
        .to_owned();
    let bytes = read(std::path::Path::new(&data_path));
    let name = std::path::Path::new(&data_path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = if chunked {
        // Odd chunk sizes so lines (and UTF-8 characters) are split across chunks.
        let mut p = FoldedParser::new(Limits::default());
        for c in bytes.chunks(997) {
            p.feed(c);
        }
        p.finish()
    } else {
        import(&name, &bytes, &Limits::default())
    }
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let p = &out.profile;
    let ctx = |what: &str| format!("{name}: {what}");

    // Dialect and unit.
    let d = truth["dialect"].as_str().unwrap();
    match d {
        "austin" => {
            assert_eq!(p.dialect, Dialect::Austin, "{}", ctx("dialect"));
            let mode = truth["austin_header"]["mode"].as_str().unwrap();
            let unit = if mode == "memory" {
                Unit::Bytes
            } else {
                Unit::Microseconds
            };
            assert_eq!(p.unit, unit, "{}", ctx("unit"));
        }
        "py-spy raw" => assert_eq!(
            (p.dialect, p.unit),
            (Dialect::PySpy, Unit::Samples),
            "{}",
            ctx("dialect")
        ),
        "inferno-collapse-perf" => {
            assert!(
                matches!(p.dialect, Dialect::Perf | Dialect::Gregg),
                "{}",
                ctx("dialect")
            );
            assert_eq!(p.unit, Unit::Samples);
        }
        "tachyon" => assert_eq!(p.dialect, Dialect::Tachyon, "{}", ctx("dialect")),
        other => assert_eq!(p.dialect.as_str(), other, "{}", ctx("dialect")),
    }

    // Total: exact.
    let s = p.samples.as_ref().unwrap();
    let total = truth["total_samples_or_metric"].as_i64().unwrap() as f64;
    assert_eq!(s.total(), total, "{}", ctx("total"));

    // No line was skipped unless the truth calls it malformed.
    let malformed = as_u64(&truth["malformed_lines"]);
    let skipped: u64 = out
        .warnings
        .iter()
        .filter(|w| w.message.contains("skipped"))
        .map(|w| w.message.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(skipped, malformed, "{}", ctx("skipped lines"));

    // Threads.
    let mut thread_totals: HashMap<String, f64> = HashMap::new();
    for smp in &s.samples {
        *thread_totals
            .entry(p.threads[smp.thread.idx()].id.clone())
            .or_default() += smp.weight;
    }
    let mut pseudo: Vec<String> = Vec::new();
    match &truth["threads"] {
        Value::Array(ts) => {
            let mut want: HashMap<String, f64> = HashMap::new();
            for t in ts {
                let id = match p.dialect {
                    Dialect::Austin => format!("P{};T{}", t["pid"], t["thread"].as_str().unwrap()),
                    _ => t["id"].as_str().unwrap().to_owned(),
                };
                *want.entry(id).or_default() += as_f64(&t["total"]);
                if let Some(f) = t.get("frame").and_then(Value::as_str) {
                    pseudo.push(f.to_owned());
                }
            }
            assert_eq!(thread_totals, want, "{}", ctx("per-thread totals"));
            for t in ts {
                if let (Some(id), Some(nm)) = (
                    t.get("id").and_then(Value::as_str),
                    t.get("name").and_then(Value::as_str),
                ) {
                    let th = p.threads.iter().find(|x| x.id == id).unwrap();
                    assert_eq!(th.name.as_deref(), Some(nm), "{}", ctx("thread name"));
                }
            }
        }
        Value::Null => assert_eq!(
            p.threads.len(),
            1,
            "{}",
            ctx("a file without threads has one thread")
        ),
        other => panic!("threads: {other}"),
    }
    if let Value::Array(ps) = &truth["processes"] {
        for pr in ps {
            if let Some(f) = pr.get("frame").and_then(Value::as_str) {
                pseudo.push(f.to_owned());
            }
        }
    }

    // Per raw frame: self and total, for every frame the producer wrote (pseudo-frames that
    // our model turns into thread ids are compared through the per-thread totals above).
    let ours = raw_frame_view(p);
    let mut want: HashMap<String, (f64, f64)> = HashMap::new();
    for f in truth["frames"].as_array().unwrap() {
        let text = f[0].as_str().unwrap().to_owned();
        if p.dialect == Dialect::PySpy && pseudo.contains(&text) {
            continue;
        }
        want.insert(text, (as_f64(&f[1]), as_f64(&f[2])));
    }
    let mut missing: Vec<&String> = want.keys().filter(|k| !ours.contains_key(*k)).collect();
    missing.sort();
    let mut extra: Vec<&String> = ours.keys().filter(|k| !want.contains_key(*k)).collect();
    extra.sort();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}",
        ctx(&format!("frames missing {missing:?}, extra {extra:?}"))
    );
    for (k, v) in &want {
        assert_eq!(
            ours[k],
            *v,
            "{}",
            ctx(&format!("self/total of frame {k:?}"))
        );
    }
    // Distinct stacks: where thread pseudo-frames are recovered exactly, one sample per
    // distinct raw stack.
    if p.dialect != Dialect::PySpy || truth["threads"].is_null() {
        assert_eq!(
            s.samples.len() as u64,
            as_u64(&truth["distinct_stacks"]),
            "{}",
            ctx("distinct stacks")
        );
    }
    // Depth.
    let max_depth = s.stacks.depths().iter().max().map_or(0, |d| d + 1) as u64;
    let pseudo_depth = if p.dialect == Dialect::Austin { 2 } else { 0 };
    if p.dialect != Dialect::PySpy || truth["threads"].is_null() {
        assert_eq!(
            max_depth + pseudo_depth,
            as_u64(&truth["max_depth"]),
            "{}",
            ctx("max depth")
        );
    }
}

#[test]
fn folded_corpus_exact() {
    let files = truth_files("folded");
    assert!(
        files.len() >= 10,
        "expected the folded corpus, found {}",
        files.len()
    );
    for f in &files {
        check_folded(f, false);
    }
}

#[test]
fn folded_corpus_exact_when_streamed_in_chunks() {
    for f in &truth_files("folded") {
        check_folded(f, true);
    }
}
