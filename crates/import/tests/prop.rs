//! Property tests ("fuzz smoke" on stable): no input makes the importers panic, and every
//! accepted profile passes `check_valid`.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use common::*;
use profview_import::{folded, import, pstats, recording, FoldedParser, Limits};
use proptest::prelude::*;

fn check(r: Result<profview_import::Imported, profview_import::ImportError>) {
    if let Ok(i) = r {
        i.profile.check_valid().unwrap();
    } else if let Err(e) = r {
        assert!(!e.to_string().is_empty());
    }
}

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(load_seeds)
}

fn load_seeds() -> Vec<Vec<u8>> {
    [
        "pstats/cprofile_tiny.prof",
        "pstats/cprofile_recursion.prof",
        "pstats/profile_recursion.prof",
    ]
    .iter()
    .map(|f| read(&corpus().join(f)))
    .collect()
}

fn recordings() -> &'static [Vec<u8>] {
    static RECS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    RECS.get_or_init(|| {
        ["hybrid_threads.pvrec", "sampled_threads.pvrec"].iter().map(|f| read(&fixtures().join("recordings").join(f))).collect()
    })
}

fn folded_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("main".to_string()),
            Just(";".to_string()),
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("#".to_string()),
            Just("P1;T0:1".to_string()),
            Just("thread (1): x".to_string()),
            Just("f (a.py:3)".to_string()),
            Just("a.py:f:3".to_string()),
            Just("tid:3".to_string()),
            Just("_[k]".to_string()),
            Just("-".to_string()),
            Just(".".to_string()),
            Just(",".to_string()),
            "[0-9]{1,22}",
            "[a-z:()\\t]{0,4}",
            Just("\u{feff}".to_string()),
            Just("é".to_string()),
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    // FUZZ_SMOKE_CASES=100000 for a long stable-toolchain fuzz run; the default keeps the
    // suite fast.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_SMOKE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(import("x", &b, &Limits::default()));
        check(pstats::parse(&b, &Limits::default()));
        check(folded::parse(&b, &Limits::default()));
    }

    #[test]
    fn random_marshal_after_a_dict_code_never_panics(
        flag in any::<bool>(),
        b in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b')'), Just(b'u'), Just(b'i'), Just(b'r'), Just(b'0'), Just(0u8), Just(1u8)], 0..256),
    ) {
        let mut v = vec![if flag { 0xfb } else { b'{' }];
        v.extend_from_slice(&b);
        check(pstats::parse(&v, &Limits::default()));
    }

    #[test]
    fn mutated_recordings_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"0123456789-.e,[]{}\"nN".to_vec()), 0u8..3), 1..6),
    ) {
        // Edits by JSON's own bytes: numbers out of range or negative, indices past the tables,
        // arrays of the wrong arity, broken nesting.
        let mut b = recordings()[which].clone();
        for (at, byte, op) in edits {
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => { b.remove(i); }
                _ => b.insert(i, byte),
            }
        }
        check(recording::parse(&b, &Limits::default()));
        check(import("x.pvrec", &b, &Limits::default()));
    }

    #[test]
    fn mutated_pstats_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let mut b = seeds()[which].clone();
        for (at, byte, op) in edits {
            if b.is_empty() { break; }
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => b[i] ^= 0x80,
                2 => { b.remove(i); }
                _ => b.insert(i, byte),
            }
        }
        check(pstats::parse(&b, &Limits::default()));
    }

    #[test]
    fn folded_like_text_never_panics_and_streams_identically(t in folded_text(), cut in 1usize..17) {
        let whole = folded::parse(t.as_bytes(), &Limits::default());
        let mut p = FoldedParser::new(Limits::default());
        for c in t.as_bytes().chunks(cut) {
            p.feed(c);
        }
        let streamed = p.finish();
        match (&whole, &streamed) {
            (Ok(a), Ok(b)) => prop_assert_eq!(&a.profile, &b.profile),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "whole and streamed disagree"),
        }
        check(whole);
        check(import("x.folded", t.as_bytes(), &Limits { max_stack_depth: 5, max_name_len: 6, ..Limits::default() }));
    }
}
