//! `--format pstats` round trips: every pstats file of the corpus, written back as marshal and
//! read again, has the same numbers under the same keys (cProfile, `profile` with plain-int
//! callers, yappi, merged files).
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
