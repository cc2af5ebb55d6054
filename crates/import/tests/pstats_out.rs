//! `--format pstats` round trips: every pstats file of the corpus, and a recording's cProfile part,
//! written back as marshal and read again, has the same numbers under the same keys (cProfile,
//! `profile` with plain-int callers, yappi, merged files; counts and lines past 32 bits).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use profview_import::{import, pstats_out, Limits};
use profview_model::Profile;

type Row = (String, u64, u64, u64, u64, Vec<(String, u64, Option<u64>, Option<u64>, Option<u64>)>);

fn key(p: &Profile, i: usize) -> String {
    let f = &p.functions[i];
    format!("{}:{}({})", f.file, f.line, f.name)
}

fn rows(p: &Profile) -> Vec<Row> {
    let ps = p.pstats.as_ref().unwrap();
    let mut out: Vec<Row> = ps
        .stats
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let s = (*s)?;
            let mut edges: Vec<_> = ps
                .edges
                .iter()
                .filter(|e| e.callee.idx() == i)
                .map(|e| (key(p, e.caller.idx()), e.ncalls, e.primcalls, e.tottime.map(f64::to_bits), e.cumtime.map(f64::to_bits)))
                .collect();
            edges.sort();
            Some((key(p, i), s.primcalls, s.ncalls, s.tottime.to_bits(), s.cumtime.to_bits(), edges))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn corpus_pstats_round_trip() {
    let dir = common::corpus().join("pstats");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            continue;
        }
        let orig = import(&name, &std::fs::read(&path).unwrap(), &Limits::default()).unwrap().profile;
        let bytes = pstats_out::write(&orig).unwrap();
        let back = import("back.prof", &bytes, &Limits::default()).unwrap().profile;
        let (a, b) = (rows(&orig), rows(&back));
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(&b) {
            // yappi's file swaps cc and nc in the outer tuple; the import puts them right, and the
            // export writes cProfile's order, so the numbers agree whatever the dialect.
            assert_eq!(x, y, "{name}");
        }
        let (pa, pb) = (orig.pstats.as_ref().unwrap(), back.pstats.as_ref().unwrap());
        assert_eq!((pa.total_calls, pa.prim_calls), (pb.total_calls, pb.prim_calls), "{name}");
        n += 1;
    }
    assert!(n >= 5, "only {n} pstats files in {}", dir.display());
}

fn round_trip(p: &Profile) -> Profile {
    let bytes = pstats_out::write(p).unwrap();
    import("out.prof", &bytes, &Limits::default()).unwrap().profile
}

#[test]
fn a_hybrid_recordings_cprofile_part_round_trips() {
    let rec = br#"{"format": "profview-recording", "version": 1,
      "functions": [["a.py", 1, "main"], ["a.py", -5, "neg"], ["~", 0, "<built-in method big>"], ["b\u00e9.py", 70000, "\u00fcber"]],
      "threads": [[1, 2, "MainThread"]], "stacks": [[0, [0], 1, 0, 0, 1, 0.5, 0.5]],
      "cprofile": {"stats": [[0, 1, 1, 0.25, 1.5], [2, 3000000000, 5000000000, 0.125, 0.125], [1, 2, 2, 0.1, 0.2], [3, 1, 1, 0.0, 0.0]],
                   "edges": [[0, 2, 3000000000, 5000000000, 0.125, 0.125], [0, 1, 2, 2, 0.1, 0.2], [1, 3, 1, 1, 0.0, 0.0]]}}"#;
    let p = import("r.pvrec", rec, &Limits::default()).unwrap().profile;
    let back = round_trip(&p);
    assert_eq!(back.format, profview_model::Format::Pstats);
    assert_eq!(rows(&back), rows(&p));
    let (a, b) = (back.pstats.unwrap(), p.pstats.unwrap());
    assert_eq!((a.total_calls, a.prim_calls, a.total_time.to_bits()), (b.total_calls, b.prim_calls, b.total_time.to_bits()));
}

#[test]
fn lines_beyond_32_bits_round_trip_as_marshal_longs() {
    // Lines past i32 (either sign) take the long path, base-2^15 digits with a signed count.
    for line in [5_000_000_000i64, -5_000_000_000, i32::MAX as i64 + 1, i32::MIN as i64 - 1, 32768, -32769] {
        let rec = format!(
            r#"{{"format": "profview-recording", "version": 1, "functions": [["a.py", {line}, "f"]],
                "cprofile": {{"stats": [[0, 1, 1, 0.5, 0.5]]}}}}"#
        );
        let p = import("r.pvrec", rec.as_bytes(), &Limits::default()).unwrap().profile;
        assert_eq!(round_trip(&p).functions[0].line, line, "line {line}");
    }
}

#[test]
fn sampled_profiles_have_no_pstats_to_write() {
    let p = import("x.folded", b"a;b 3\n", &Limits::default()).unwrap().profile;
    assert!(pstats_out::write(&p).is_none());
}
