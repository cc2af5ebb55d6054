//! pprof `profile.proto` import against the truth `tests/fixtures/formats/make_pprof.py` wrote
//! with its own protobuf encoder, and hostile inputs (made here with prost: they only need to be
//! valid or broken protobuf, not independent truth).
#![cfg(test)]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::fixtures;
use prost::Message;
use profview_import::pprof_proto as pb;
use profview_import::{detect, import, pprof, ImportError, Kind, Limits};
use profview_model::{Format, Profile};
use serde_json::Value;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("formats/pprof").join(name)).unwrap()
}

/// Per function (name, file, line): (self, total once per sample).
pub fn per_function(p: &Profile) -> BTreeMap<(String, String, i64), (f64, f64)> {
    let s = p.samples.as_ref().unwrap();
    let mut out: BTreeMap<(String, String, i64), (f64, f64)> = BTreeMap::new();
    for smp in &s.samples {
        let Some(st) = smp.stack() else { continue };
        let frames = s.stacks.frames(st);
        let key = |f: profview_model::FuncId| {
            let f = p.func(f);
            (f.name.clone(), f.file.clone(), f.line)
        };
        for f in frames.iter().copied().collect::<HashSet<_>>() {
            out.entry(key(f)).or_default().1 += smp.weight;
        }
        out.entry(key(*frames.last().unwrap())).or_default().0 += smp.weight;
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300) + 1e-18
}

fn check(file: &str, truth: &str) {
    let bytes = read(file);
    let t: Value = serde_json::from_slice(&read(truth)).unwrap();
    let i = import(file, &bytes, &Limits::default()).unwrap();
    let p = &i.profile;
    assert_eq!(p.format, Format::Pprof);
    assert_eq!((p.format.as_str(), p.dialect.as_str()), ("pprof", "pprof"));
    assert_eq!(p.unit.as_str(), t["unit"].as_str().unwrap(), "{file}");
    let s = p.samples.as_ref().unwrap();
    assert!(close(s.total(), t["total"].as_f64().unwrap()), "{file}: total {}", s.total());
    // Threads: id, name and weight.
    let mut threads: BTreeMap<String, (Option<String>, f64)> = BTreeMap::new();
    for smp in &s.samples {
        let th = &p.threads[smp.thread.idx()];
        threads.entry(th.id.clone()).or_insert((th.name.clone(), 0.0)).1 += smp.weight;
    }
    let want = t["threads"].as_array().unwrap();
    assert_eq!(threads.len(), want.len(), "{file}: {threads:?}");
    for w in want {
        let (name, weight) = &threads[w["id"].as_str().unwrap()];
        assert_eq!(name.as_deref(), w["name"].as_str(), "{file}");
        assert!(close(*weight, w["weight"].as_f64().unwrap()), "{file}: thread {w}");
    }
    // Functions: self and total (inlined frames expanded, recursion counted once per sample).
    let ours = per_function(p);
    let want = t["functions"].as_array().unwrap();
    assert_eq!(ours.len(), want.len(), "{file}: {ours:?}");
    for w in want {
        let k = (w["name"].as_str().unwrap().to_owned(), w["file"].as_str().unwrap().to_owned(), w["line"].as_i64().unwrap());
        let (sf, tot) = ours[&k];
        assert!(close(sf, w["self"].as_f64().unwrap()) && close(tot, w["total"].as_f64().unwrap()), "{file}: {k:?} {sf} {tot} vs {w}");
    }
    // The sample types not shown are named.
    for o in t["other_sample_types"].as_array().unwrap() {
        assert!(i.warnings.iter().any(|w| w.message.contains(o.as_str().unwrap())), "{file}: {:?}", i.warnings);
    }
}

#[test]
fn pprof_fixtures_equal_the_generator_truth() {
    check("cpu_inlined_threads.pb", "cpu_inlined_threads.truth.json");
    check("cpu_inlined_threads.pb.gz", "cpu_inlined_threads.truth.json");
    check("heap_default_last.pb", "heap_default_last.truth.json");
}

#[test]
fn pprof_is_detected_by_content() {
    for f in ["cpu_inlined_threads.pb", "heap_default_last.pb"] {
        let b = read(f);
        assert_eq!(pprof::sniff(&b), Some(true));
        assert_eq!(detect("upload", &b), Some(Kind::Pprof), "{f}");
    }
    // Gzipped without a telling name: gunzipped, then detected.
    let p = import("upload", &read("cpu_inlined_threads.pb.gz"), &Limits::default()).unwrap().profile;
    assert_eq!(p.format, Format::Pprof);
    assert_eq!(pprof::sniff(b"main;a 1\n"), Some(false));
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A valid little profile to break.
fn base() -> pb::Profile {
    pb::Profile {
        sample_type: vec![pb::ValueType { r#type: 1, unit: 2 }],
        sample: vec![pb::Sample { location_id: vec![10, 20], value: vec![5], label: vec![] }],
        location: vec![
            pb::Location { id: 10, line: vec![pb::Line { function_id: 7, line: 3, column: 0 }], ..Default::default() },
            pb::Location { id: 20, line: vec![pb::Line { function_id: 8, line: 1, column: 0 }], ..Default::default() },
        ],
        function: vec![
            pb::Function { id: 7, name: 3, filename: 5, ..Default::default() },
            pb::Function { id: 8, name: 4, filename: 5, ..Default::default() },
        ],
        string_table: strings(&["", "samples", "count", "work", "main", "a.py"]),
        ..Default::default()
    }
}

fn parse(p: &pb::Profile) -> Result<profview_import::Imported, ImportError> {
    pprof::parse(&p.encode_to_vec(), &Limits::default())
}

#[test]
fn hostile_pprof_is_refused_with_a_reason() {
    let ok = parse(&base()).unwrap();
    assert_eq!(ok.profile.samples.unwrap().total(), 5.0);
    let cases: Vec<(pb::Profile, &str)> = vec![
        ({ let mut p = base(); p.string_table[0] = "x".into(); p }, "string_table[0]"),
        ({ let mut p = base(); p.sample[0].location_id = vec![99]; p }, "location id 99"),
        ({ let mut p = base(); p.location[0].line[0].function_id = 42; p }, "function id 42"),
        ({ let mut p = base(); p.function[1].id = 7; p }, "used twice"),
        ({ let mut p = base(); p.location[1].id = 0; p }, "id 0"),
        ({ let mut p = base(); p.function[0].name = 1000; p }, "string index 1000"),
        ({ let mut p = base(); p.function[0].name = -1; p }, "string index -1"),
        ({ let mut p = base(); p.sample[0].value = vec![1, 2]; p }, "2 value(s) for 1 sample type"),
        ({ let mut p = base(); p.sample_type.clear(); p }, "no sample_type"),
    ];
    for (p, want) in cases {
        let e = parse(&p).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
    // Truncated anywhere: refused (the string table comes last); inside a field, the error
    // names the byte offset (a cut between fields is well-formed protobuf, refused by content).
    let bytes = base().encode_to_vec();
    let mut with_offset = 0;
    for cut in 1..bytes.len() {
        let e = pprof::parse(&bytes[..cut], &Limits::default()).unwrap_err();
        with_offset += matches!(e, ImportError::Pprof { offset: Some(_), .. }) as usize;
    }
    assert!(with_offset > bytes.len() / 2, "{with_offset} of {}", bytes.len());
    for cut in [1, bytes.len() - 1] {
        let e = pprof::parse(&bytes[..cut], &Limits::default()).unwrap_err();
        assert!(matches!(e, ImportError::Pprof { offset: Some(_), .. }), "cut {cut}: {e}");
    }
    // Huge values: i64::MAX on every sample stays finite.
    let mut p = base();
    p.sample = vec![pb::Sample { location_id: vec![10], value: vec![i64::MAX], label: vec![] }; 1000];
    let s = parse(&p).unwrap().profile.samples.unwrap();
    assert!(s.total().is_finite() && s.total() > 9e21);
    // A stack of a million frames is cut to the depth limit, root side kept.
    let mut p = base();
    p.sample[0].location_id = std::iter::repeat_n(10u64, 1_000_000).chain([20]).collect();
    let i = pprof::parse(&p.encode_to_vec(), &Limits { max_stack_depth: 1000, ..Limits::default() }).unwrap();
    assert!(i.warnings.iter().any(|w| w.message.contains("deeper than 1000")));
    let s = i.profile.samples.unwrap();
    let frames = s.stacks.frames(s.samples[0].stack().unwrap());
    assert_eq!(frames.len(), 1000);
    assert_eq!(i.profile.functions[frames[0].idx()].name, "main");
}

#[test]
fn a_pprof_gzip_bomb_is_capped() {
    // 64 MiB of zeros in a string field, gzipped to a few KiB.
    let mut p = base();
    p.string_table.push("\0".repeat(64 << 20));
    let raw = p.encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 1 << 20);
    let l = Limits { max_decompressed_bytes: 1 << 20, ..Limits::default() };
    let e = import("bomb.pb.gz", &gz, &l).unwrap_err();
    assert_eq!(e, ImportError::DecompressedTooLarge { limit: 1 << 20 });
}

/// Per thread id: the summed weight.
fn per_thread(p: &Profile) -> BTreeMap<(String, Option<String>), f64> {
    let mut out = BTreeMap::new();
    for smp in &p.samples.as_ref().unwrap().samples {
        let t = &p.threads[smp.thread.idx()];
        *out.entry((t.id.clone(), t.name.clone())).or_insert(0.0) += smp.weight;
    }
    out
}

#[test]
fn pprof_export_round_trips_every_sampled_corpus_file() {
    let l = Limits::default();
    let files = common::truth_files("folded");
    assert!(files.len() >= 10);
    for truth in files {
        let path = std::path::PathBuf::from(truth.to_string_lossy().strip_suffix(".truth.json").unwrap());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let a = import(&name, &common::read(&path), &l).unwrap().profile;
        let gz = profview_import::export_pprof::write(&a).unwrap();
        assert!(gz.starts_with(&[0x1f, 0x8b]), "{name}: not gzipped");
        let b = import("export.pb.gz", &gz, &l).unwrap().profile;
        assert_eq!(b.format, Format::Pprof);
        assert_eq!(a.unit, b.unit, "{name}");
        let (fa, fb) = (per_function(&a), per_function(&b));
        assert_eq!(fa.len(), fb.len(), "{name}: function count");
        for (k, (s, t)) in &fa {
            let (s2, t2) = fb[k];
            assert!(*s == s2 && *t == t2, "{name} {k:?}: self {s} vs {s2}, total {t} vs {t2}");
        }
        assert_eq!(per_thread(&a), per_thread(&b), "{name}: threads");
        assert_eq!(a.samples.as_ref().unwrap().total(), b.samples.as_ref().unwrap().total(), "{name}");
    }
}

#[test]
fn pprof_export_refuses_pstats_profiles() {
    let bytes = std::fs::read(fixtures().join("corpus/pstats/cprofile_tiny.prof")).unwrap();
    let p = import("x.prof", &bytes, &Limits::default()).unwrap().profile;
    let e = profview_import::export_pprof::write(&p).unwrap_err();
    assert!(e.contains("no samples") && e.contains("export it as pstats"), "{e}");
}
