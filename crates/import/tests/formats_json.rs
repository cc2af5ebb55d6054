//! The JSON importers (speedscope, Chrome trace events, V8 `.cpuprofile`) against real files and
//! an independent computation, hostile input, detection by content, and the speedscope export's
//! round trip.
//!
//! Truth: `tests/fixtures/formats/<file>.functions.json`, written by `tests/fixtures/formats/truth.py`
//! (a second implementation in Python of the per-function arithmetic) and, for the pyinstrument
//! session, by `pyi_truth.py` (pyinstrument's own API), and the producers' own counts in
//! `tests/fixtures/corpus/other/<file>.truth.json`.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use profview_import::{detect, export_speedscope, import, speedscope, ImportError, Kind, Limits};
use profview_model::{Format, FuncId, Profile};
use serde_json::Value;

/// The real files: three copied from the reference corpus, the pyinstrument session recorded here
/// (`tests/fixtures/formats/make_pyisession.sh`).
const FILES: [(&str, Kind, Format); 4] = [
    ("pyspy_edge_names.speedscope.json", Kind::Speedscope, Format::Speedscope),
    ("pyspy_cpu.chrometrace.json", Kind::ChromeTrace, Format::ChromeTrace),
    ("node20_js_work.cpuprofile", Kind::Cpuprofile, Format::Cpuprofile),
    ("pyi_workload.pyisession", Kind::Pyinstrument, Format::Pyinstrument),
];

fn path_of(name: &str) -> std::path::PathBuf {
    if name.starts_with("pyi_") {
        fixtures().join("formats").join(name)
    } else {
        corpus().join("other").join(name)
    }
}

fn other(name: &str) -> Vec<u8> {
    read(&path_of(name))
}

type Key = (String, String, i64);

/// Per function: (self, total), each stack counted once per function in it.
fn per_function(p: &Profile) -> BTreeMap<Key, (f64, f64)> {
    let s = p.samples.as_ref().unwrap();
    let mut out: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    let key = |f: FuncId| {
        let f = p.func(f);
        (f.name.clone(), f.file.clone(), f.line)
    };
    for smp in &s.samples {
        let Some(st) = smp.stack() else { continue };
        let frames = s.stacks.frames(st);
        out.entry(key(*frames.last().unwrap())).or_default().0 += smp.weight;
        let mut seen = HashSet::new();
        for f in frames {
            if seen.insert(f) {
                out.entry(key(f)).or_default().1 += smp.weight;
            }
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn threads(p: &Profile) -> Vec<(String, Option<String>)> {
    p.threads.iter().map(|t| (t.id.clone(), t.name.clone())).collect()
}

#[test]
fn corpus_files_match_the_independent_computation() {
    for (name, kind, format) in FILES {
        let bytes = other(name);
        let truth: Value = serde_json::from_slice(&read(&fixtures().join("formats").join(format!("{name}.functions.json")))).unwrap();
        // Detected by content under a wrong name.
        assert_eq!(detect("x.txt", &bytes), Some(kind), "{name}");
        let out = import("x.txt", &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.warnings.is_empty(), "{name}: {:?}", out.warnings);
        let p = &out.profile;
        assert_eq!(p.format, format);
        assert_eq!(p.unit.as_str(), truth["unit"].as_str().unwrap(), "{name}");
        let want_threads: Vec<(String, Option<String>)> = truth["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t[0].as_str().unwrap().to_owned(), t[1].as_str().map(str::to_owned)))
            .collect();
        assert_eq!(threads(p), want_threads, "{name}");
        let total = p.samples.as_ref().unwrap().total();
        assert!(close(total, truth["total"].as_f64().unwrap()), "{name}: total {total} vs {}", truth["total"]);
        let got = per_function(p);
        let rows = truth["functions"].as_array().unwrap();
        assert_eq!(got.len(), rows.len(), "{name}: function count");
        for r in rows {
            let k = (r["name"].as_str().unwrap().to_owned(), r["file"].as_str().unwrap().to_owned(), r["line"].as_i64().unwrap());
            let (s, t) = *got.get(&k).unwrap_or_else(|| panic!("{name}: {k:?} missing"));
            assert!(close(s, r["self"].as_f64().unwrap()) && close(t, r["total"].as_f64().unwrap()), "{name}: {k:?}: ({s}, {t}) vs {r}");
        }
    }
}

#[test]
fn corpus_files_agree_with_their_producers_counts() {
    let ss: Value = serde_json::from_slice(&other("pyspy_edge_names.speedscope.json.truth.json")).unwrap();
    let p = import("a", &other("pyspy_edge_names.speedscope.json"), &Limits::default()).unwrap().profile;
    let prof = &ss["profiles"][0];
    assert!(close(p.samples.as_ref().unwrap().total(), prof["total_weight"].as_f64().unwrap()));
    assert_eq!(p.functions.len() as u64, ss["shared_frames"].as_u64().unwrap());
    assert_eq!(p.threads.len(), ss["profiles"].as_array().unwrap().len());
    assert_eq!(format!("Thread {} \"\"", p.threads[0].id), prof["name"].as_str().unwrap());

    // The cpuprofile's samples span endTime - startTime minus the time before the first sample.
    let cp: Value = serde_json::from_slice(&other("node20_js_work.cpuprofile.truth.json")).unwrap();
    let raw: Value = serde_json::from_slice(&other("node20_js_work.cpuprofile")).unwrap();
    assert_eq!(raw["nodes"].as_array().unwrap().len() as u64, cp["nodes"].as_u64().unwrap());
    let first = raw["timeDeltas"][0].as_f64().unwrap();
    let p = import("a", &other("node20_js_work.cpuprofile"), &Limits::default()).unwrap().profile;
    assert_eq!(p.samples.as_ref().unwrap().total(), cp["duration_us"].as_f64().unwrap() - first);

    // pyinstrument's own count of samples is the number of records read.
    let pyi: Value = serde_json::from_slice(&read(&fixtures().join("formats/pyi_workload.pyisession.functions.json"))).unwrap();
    let raw: Value = serde_json::from_slice(&other("pyi_workload.pyisession")).unwrap();
    assert_eq!(raw["frame_records"].as_array().unwrap().len() as u64, pyi["sample_count"].as_u64().unwrap());

    // Every B has its E: nothing is left open.
    let ct: Value = serde_json::from_slice(&other("pyspy_cpu.chrometrace.json.truth.json")).unwrap();
    assert_eq!(ct["phases"]["B"], ct["phases"]["E"]);
}

fn err_of(bytes: &[u8]) -> String {
    match import("x.json", bytes, &Limits::default()) {
        Ok(_) => panic!("accepted: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_corpus_files_are_refused_without_panicking() {
    for (name, _, _) in FILES {
        let bytes = other(name);
        let n = bytes.trim_ascii_end().len();
        for cut in [1, 2, 10, 100, n / 3, n / 2, n - 2, n - 1] {
            let r = import("x.json", &bytes[..cut], &Limits::default());
            // A bare trace array may end early (it is closed and read); anything else is refused
            // with the format's name or as not recognised.
            if let Err(e) = r {
                let m = e.to_string();
                assert!(
                    matches!(e, ImportError::UnknownFormat | ImportError::Folded { .. } | ImportError::NoSamples | ImportError::Pstats(_) | ImportError::Marshal { .. })
                        || m.contains("ends too early"),
                    "{name} cut at {cut}: {m}"
                );
            } else {
                assert_eq!(name, "pyspy_cpu.chrometrace.json", "{name} cut at {cut} was accepted");
            }
        }
    }
    // Cut after a whole event: read, with a warning for the frames left open.
    let t = other("pyspy_cpu.chrometrace.json");
    let at = t.len() / 2;
    let end = at + t[at..].windows(3).position(|w| w == b"},{").unwrap() + 2;
    let out = import("x.json", &t[..end], &Limits::default()).unwrap();
    assert!(out.warnings.iter().any(|w| w.message.contains("never ended")), "{:?}", out.warnings);
}

#[test]
fn hostile_inputs_name_the_problem() {
    let ss = |frames: &str, profiles: &str| format!(r#"{{"$schema": "{}", "shared": {{"frames": [{frames}]}}, "profiles": [{profiles}]}}"#, speedscope::SCHEMA);
    let cp = |samples: &str, deltas: &str| {
        format!(r#"{{"nodes": [{{"id": 1, "callFrame": {{"functionName": "(root)", "url": "", "lineNumber": -1}}, "children": [2]}}, {{"id": 2, "callFrame": {{"functionName": "f", "url": "a.js", "lineNumber": 0}}}}], "startTime": 0, "endTime": 10, "samples": [{samples}], "timeDeltas": [{deltas}]}}"#)
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(String, &str)> = vec![
        (ss(r#"{"name": "a"}"#, r#"{"type": "sampled", "unit": "none", "samples": [[0, 1]], "weights": [1]}"#), "frame index 1 is not in shared.frames"),
        (ss(r#"{"name": "a"}"#, r#"{"type": "sampled", "unit": "none", "samples": [[18446744073709551615]], "weights": [1]}"#), "frame index 18446744073709551615"),
        (ss(r#"{"name": "a"}"#, r#"{"type": "sampled", "unit": "none", "samples": [[0]], "weights": [1e400]}"#), "speedscope: not valid JSON: number out of range"),
        (ss(r#"{"name": "a"}"#, r#"{"type": "evented", "unit": "none", "startValue": 0, "endValue": 9, "events": [{"type": "O", "at": 5, "frame": 0}, {"type": "C", "at": 2, "frame": 0}]}"#), "goes back in time"),
        (ss(r#"{"name": "a"}"#, r#"{"type": "evented", "unit": "none", "startValue": 0, "endValue": 9, "events": [{"type": "C", "at": 5, "frame": 0}]}"#), "not open"),
        (ss(r#"{"name": "a"}"#, &format!(r#"{{"type": "sampled", "unit": "none", "samples": {deep}, "weights": [1]}}"#)), "speedscope: JSON of the wrong shape"),
        (format!(r#"[{{"ph": "B", "ts": 5, "pid": {deep}, "tid": 1, "name": "f"}}]"#), "chrome trace: not valid JSON: recursion limit exceeded"),
        (r#"[{"ph": "E", "ts": 5, "pid": 1, "tid": 1, "name": "f"}]"#.into(), "E without B"),
        (r#"[{"ph": "B", "ts": 5, "pid": 1, "tid": 1, "name": "f"}, {"ph": "E", "ts": 4, "pid": 1, "tid": 1, "name": "f"}]"#.into(), "E without B"),
        (r#"[{"ph": "X", "ts": 5, "dur": -3, "pid": 1, "tid": 1, "name": "f"}]"#.into(), "cannot end before it begins"),
        (format!(r#"{{"traceEvents": {deep}, "x": 1}}"#), "chrome trace: JSON of the wrong shape"),
        (r#"{"traceEvents": [{"ph": "B", "ts": "soon", "tid": 1}]}"#.into(), "chrome trace: JSON of the wrong shape"),
        (cp("2, 3", "1, 1"), "sample 1 is node 3, which is not a node"),
        (cp("2", "1, 1"), "1 samples but 2 timeDeltas"),
        (cp("2", "1e400"), "cpuprofile: not valid JSON: number out of range"),
        (cp("2", "1").replace(r#""children": [2]"#, r#""children": [2, 2]"#), "child of both"),
        ("{\"nodes\": [{\"callFrame\": ]}\u{1}\u{0}garbage".into(), "cpuprofile: not valid JSON"),
        ("{\"traceEvents\" : nonsense\u{0}\u{ff}".into(), "chrome trace: not valid JSON"),
    ];
    for (input, want) in cases {
        let e = err_of(input.as_bytes());
        assert!(e.contains(want), "{}: {e}", &input[..input.len().min(150)]);
    }
    // Deeply nested JSON in a field no importer reads is skipped (serde_json skips it without
    // recursing) and the file is read.
    let skipped = ss(r#"{"name": "a"}"#, &format!(r#"{{"type": "sampled", "unit": "none", "samples": [[0]], "weights": [1], "x": {deep}}}"#));
    assert!(import("x", skipped.as_bytes(), &Limits::default()).is_ok());
    // Deep but legal nesting of frames: cut at the stack-depth limit.
    let limits = Limits { max_stack_depth: 1000, ..Limits::default() };
    let evs: Vec<String> = (0..2000).map(|i| format!(r#"{{"ph": "B", "ts": {i}, "tid": 1, "name": "f{i}"}}"#)).collect();
    let e = import("x", format!("[{}]", evs.join(",")).as_bytes(), &limits).unwrap_err().to_string();
    assert!(e.contains("deeper than 1000"), "{e}");
    let stack: Vec<String> = (0..2000).map(|_| "0".to_owned()).collect();
    let e = import("x", ss(r#"{"name": "a"}"#, &format!(r#"{{"type": "sampled", "unit": "none", "samples": [[{}]], "weights": [1]}}"#, stack.join(","))).as_bytes(), &limits).unwrap_err().to_string();
    assert!(e.contains("2000 frames (limit 1000)"), "{e}");
}

#[test]
fn files_of_one_json_format_merge_and_of_two_are_refused() {
    let ss = other("pyspy_edge_names.speedscope.json");
    let cp = other("node20_js_work.cpuprofile");
    let one = import("a", &ss, &Limits::default()).unwrap().profile;
    let two = profview_import::import_many(&[("a", &ss[..]), ("b", &ss[..])], &Limits::default()).unwrap().profile;
    assert_eq!(two.format, Format::Speedscope);
    assert_eq!(threads(&two), threads(&one));
    assert!(close(two.samples.as_ref().unwrap().total(), 2.0 * one.samples.as_ref().unwrap().total()));
    let e = profview_import::import_many(&[("a", &ss[..]), ("b", &cp[..])], &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("b is cpuprofile but a is speedscope"), "{e}");
}

#[test]
fn json_of_no_known_format_is_refused() {
    for junk in [&br#"{"foo": 1, "bar": [1, 2]}"#[..], br#"[{"a": 1}]"#, br#"{"nodes": [1]}"#, br#"[[1, 2]]"#] {
        assert_eq!(detect("x.json", junk), None);
        assert_eq!(import("x.speedscope.json", junk, &Limits::default()).unwrap_err(), ImportError::UnknownFormat);
    }
    assert!(ImportError::UnknownFormat.to_string().contains("speedscope"));
}

#[test]
fn speedscope_export_round_trips_every_sampled_corpus_file() {
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(corpus().join("folded")).unwrap().map(|e| e.unwrap().path()).collect();
    paths.extend(FILES.iter().map(|(n, _, _)| path_of(n)));
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".truth.json") {
            continue;
        }
        let p = import(&name, &read(&path), &Limits::default()).unwrap().profile;
        let out = export_speedscope::write(&p, &name).unwrap();
        assert_eq!(detect("x.txt", &out), Some(Kind::Speedscope));
        let q = import("x.txt", &out, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}")).profile;
        assert_eq!(q.unit, p.unit, "{name}");
        assert_eq!(threads(&q), threads(&p), "{name}");
        let (a, b) = (per_function(&p), per_function(&q));
        assert_eq!(a.len(), b.len(), "{name}");
        for (k, (s, t)) in &a {
            let (s2, t2) = b[k];
            assert!(close(*s, s2) && close(*t, t2), "{name}: {k:?}: ({s}, {t}) vs ({s2}, {t2})");
        }
        checked += 1;
    }
    assert!(checked >= 17, "{checked}");
}
