//! The direct pstats reader (fast path) against the generic marshal reader: on every corpus and
//! bad file, on every truncation and on random mutations, `pstats::parse` gives exactly what
//! `pstats::parse_generic` gives (profile bit for bit, warnings, error texts), and the fast path
//! is really taken on the common cProfile / `profile` files.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use common::*;
use profview_import::{pstats, ImportError, Imported, Limits};
use proptest::prelude::*;

/// Debug text: compares floats bit for bit (`-0.0` vs `0.0`, every digit).
fn show(r: &Result<Imported, ImportError>) -> String {
    match r {
        Ok(i) => format!("{:?}\n{:?}", i.profile, i.warnings),
        Err(e) => format!("error: {e}"),
    }
}

fn same(bytes: &[u8], limits: &Limits, what: &str) {
    let a = pstats::parse(bytes, limits);
    let b = pstats::parse_generic(bytes, limits);
    assert_eq!(show(&a), show(&b), "{what}");
    if let Some(f) = pstats::parse_fast_only(bytes, limits) {
        let f = show(&f);
        assert_eq!(f, show(&b), "{what}: fast path differs");
    }
}

fn pstats_files() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(corpus().join("pstats"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain(bad_files())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            !n.ends_with(".json") && (n.contains("prof") || n.contains("pstat"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn fast_path_equals_generic_on_every_file() {
    let files = pstats_files();
    assert!(files.len() >= 40, "found {}", files.len());
    let mut fast = 0;
    for f in &files {
        let b = read(f);
        same(&b, &Limits::default(), &f.display().to_string());
        let small = Limits {
            max_name_len: 12,
            max_depth: 3,
            ..Limits::default()
        };
        same(&b, &small, &format!("{} (small limits)", f.display()));
        if pstats::parse_fast_only(&b, &Limits::default()).is_some() {
            fast += 1;
        }
    }
    // cProfile and `profile` files of the corpus are read by the fast path.
    assert!(fast >= 10, "fast path taken on only {fast} files");
}

#[test]
fn fast_path_is_taken_on_the_corpus() {
    for name in [
        "cprofile_tiny.prof",
        "cprofile_recursion.prof",
        "cprofile_sympy_big.prof",
        "profile_run_string_recursion.prof",
        "merged_cprofile_flask_2runs.prof",
        "yappi_threads_cpu.pstat",
    ] {
        let b = read(&corpus().join("pstats").join(name));
        let r = pstats::parse_fast_only(&b, &Limits::default());
        assert!(matches!(r, Some(Ok(_))), "{name}: fast path not taken");
    }
}

#[test]
fn fast_path_equals_generic_on_every_truncation_and_byte_flip() {
    for name in [
        "cprofile_tiny.prof",
        "cprofile_recursion.prof",
        "profile_recursion.prof",
    ] {
        let b = read(&corpus().join("pstats").join(name));
        for cut in 0..b.len() {
            same(
                &b[..cut],
                &Limits::default(),
                &format!("{name} cut at {cut}"),
            );
        }
        // Every byte set to a few interesting values.
        for i in 0..b.len() {
            for v in [
                0u8,
                b'0',
                b'r',
                b'i',
                b'g',
                0xff,
                b[i] ^ 0x80,
                b[i].wrapping_add(1),
            ] {
                let mut m = b.clone();
                m[i] = v;
                same(&m, &Limits::default(), &format!("{name} byte {i} = {v:#x}"));
            }
        }
        // Trailing bytes.
        let mut t = b.clone();
        t.extend_from_slice(b"xyz");
        same(&t, &Limits::default(), &format!("{name} + trailing"));
    }
}

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            "pstats/cprofile_tiny.prof",
            "pstats/cprofile_recursion.prof",
            "pstats/profile_recursion.prof",
            "pstats/yappi_recursion_cpu.pstat",
        ]
        .iter()
        .map(|f| read(&corpus().join(f)))
        .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn mutated_files_agree(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let mut b = seeds()[which].clone();
        for (at, v, op) in edits {
            if b.is_empty() {
                break;
            }
            let i = at.index(b.len());
            match op {
                0 => b[i] = v,
                1 => b.insert(i, v),
                2 => { b.remove(i); }
                _ => {
                    // Duplicate a slice (repeated keys, repeated callers, shifted refs).
                    let j = (i + 1 + v as usize).min(b.len());
                    let s = b[i..j].to_vec();
                    b.splice(j..j, s);
                }
            }
        }
        same(&b, &Limits::default(), "mutated");
    }
}
