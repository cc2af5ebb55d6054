//! The parallel and streaming folded drivers, and fork/join by hand, give exactly the profile
//! (and warnings, or error) of a serial parse: on the corpus, the hostile files and random text.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use common::*;
use profview_import::{
    folded, import, import_reader, parse_folded_parallel, parse_folded_reader, FoldedParser,
    ImportError, Imported, Limits, StreamOptions,
};
use proptest::prelude::*;

fn same(a: &Result<Imported, ImportError>, b: &Result<Imported, ImportError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x.profile == y.profile && x.warnings == y.warnings && x.nested == y.nested,
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

/// The nested bits a folded profile should carry: node `i`'s function among its ancestors'.
fn nested_by_walking(p: &profview_model::Profile) -> Vec<u64> {
    let t = &p.samples.as_ref().unwrap().stacks;
    let mut bits = vec![0u64; t.len().div_ceil(64)];
    for i in 0..t.len() {
        let mut a = t.parent[i];
        while a != profview_model::NO_PARENT {
            if t.func[a as usize] == t.func[i] {
                bits[i / 64] |= 1 << (i % 64);
                break;
            }
            a = t.parent[a as usize];
        }
    }
    bits
}

/// Serial parse vs every driver, with blocks small enough that files split into many; the
/// serial parse's nested bits vs a walk up each node's ancestors.
fn check_all(name: &str, bytes: &[u8], limits: &Limits) {
    let serial = folded::parse(bytes, limits);
    if let Ok(s) = &serial {
        assert_eq!(s.nested.as_ref(), Some(&nested_by_walking(&s.profile)), "{name}: nested bits");
    }
    for (threads, block) in [(1, 4096), (2, 4096), (3, 5000), (2, 1 << 20)] {
        let opts = StreamOptions {
            threads,
            block_size: block,
            in_flight: 0,
        };
        let par = parse_folded_parallel(bytes, limits, &opts);
        assert!(same(&serial, &par), "{name}: parallel ({threads}, {block}) differs");
        let rd = parse_folded_reader(bytes, limits, &opts);
        assert!(same(&serial, &rd), "{name}: reader ({threads}, {block}) differs");
    }
}

/// Fork/join by hand at every given line-end cut (and one cut inside a line, which acts as a
/// line end: compared against a serial parse with a newline inserted there).
fn fork_join(bytes: &[u8], cuts: &[usize], limits: &Limits) -> Result<Imported, ImportError> {
    let mut main = FoldedParser::new(limits.clone());
    let used = main.feed_until_forkable(bytes);
    let mut at = used;
    let mut parts = Vec::new();
    for &c in cuts {
        if c > at && c <= bytes.len() {
            let mut p = main.fork();
            p.feed(&bytes[at..c]);
            parts.push(p);
            at = c;
        }
    }
    let mut p = main.fork();
    p.feed(&bytes[at..]);
    parts.push(p);
    for p in parts {
        main.join(p);
    }
    main.finish()
}

#[test]
fn corpus_and_hostile_files() {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let folded_dir = std::fs::read_dir(corpus().join("folded")).unwrap().map(|e| e.unwrap().path());
    for p in folded_dir.chain(bad_files()) {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.ends_with(".json") || n.ends_with(".md") || n.starts_with("pstats") {
            continue;
        }
        files.push(p);
    }
    files.sort();
    assert!(files.len() > 10);
    for f in &files {
        let bytes = read(f);
        let name = f.display().to_string();
        check_all(&name, &bytes, &Limits::default());
        // Every line end a cut point (the smaller files), against the serial parse.
        if bytes.len() < 200_000 {
            let cuts: Vec<usize> = memchr_all(&bytes);
            let serial = folded::parse(&bytes, &Limits::default());
            assert!(same(&serial, &fork_join(&bytes, &cuts, &Limits::default())), "{name}: fork/join");
        }
    }
}

/// Frames that keep appearing through the file (so the frames shared with the forks are
/// renewed many times while it is parsed), some of them first seen in a later block as
/// lossy UTF-8, as over-long names or as a second spelling of a known function (also under a
/// parent new to the block, and below the function itself): every driver still gives the
/// serial parse's profile, nested bits and warnings. Gregg and py-spy dialects.
#[test]
fn frames_first_seen_in_later_blocks() {
    let limits = Limits { max_name_len: 40, ..Limits::default() };
    for pyspy in [false, true] {
        let mut text = Vec::new();
        for i in 0..20_000u32 {
            let frame = |k: u32| -> Vec<u8> {
                if pyspy {
                    format!("f{k} (m{}.py:{})", k % 7, 1 + k % 3).into_bytes()
                } else {
                    format!("f{k}").into_bytes()
                }
            };
            // New names keep coming (i / 8), old ones recur (i % 97), and every 1000th line
            // brings a frame of its own kind.
            let mut frames = vec![b"main".to_vec(), frame(i % 97), frame(i / 8)];
            // Names cut to the same 40 bytes are one function: `y…A` is known early, each
            // `y…B{i}` is a new raw frame of it, under a new parent and below itself.
            let (ya, yb) = (format!("{}A", "y".repeat(45)).into_bytes(), format!("{}B{i}", "y".repeat(45)).into_bytes());
            match i % 1000 {
                10 => frames = vec![b"main".to_vec(), ya],
                500 => frames.push([b"bad".as_slice(), &[0xff], i.to_string().as_bytes()].concat()),
                600 => frames.push(format!("{}{i}", "x".repeat(60)).into_bytes()),
                700 if !pyspy => frames.push(format!("f{}_[k]", i / 8).into_bytes()),
                800 => frames = vec![b"main".to_vec(), format!("n{i}").into_bytes(), ya],
                801 => frames = vec![b"main".to_vec(), format!("n{}", i - 1).into_bytes(), yb],
                802 => frames = vec![b"main".to_vec(), ya, yb],
                _ => {}
            }
            text.extend(frames.join(&b';'));
            text.extend(format!(" {}\n", 1 + i % 5).into_bytes());
        }
        check_all(if pyspy { "py-spy frames over time" } else { "frames over time" }, &text, &limits);
    }
}

/// The input fuzzing found (`fuzz/fuzz_targets/folded.rs`, names cut at 32 bytes): in a later
/// block, a new spelling of a function the forks already knew became a second function, and the
/// node under it a second child of the same parent.
#[test]
fn a_function_cut_to_a_known_name_in_a_later_block() {
    let bytes = read(&fixtures().join("fuzz/folded_cut_names_across_blocks.folded"));
    let limits = Limits { max_stack_depth: 64, max_name_len: 32, ..Limits::default() };
    check_all("fuzz/folded_cut_names_across_blocks.folded", &bytes, &limits);
}

#[test]
fn limits_apply_the_same_way() {
    let limits = Limits {
        max_stack_depth: 3,
        max_name_len: 4,
        ..Limits::default()
    };
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("main;a{};b;c;d;e{} {}\n", i % 7, i % 5, i % 9 + 1));
        text.push_str("longname;é\u{1}x;;q; 2\n");
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"bad\xffname;x 1\n");
    check_all("limits", &bytes, &limits);
}

#[test]
fn import_reader_matches_import() {
    let f = bad("folded_200k_distinct_stacks.folded");
    let bytes = read(&f);
    let want = import("x.folded", &bytes, &Limits::default());
    let got = import_reader("x.folded", &bytes[..], &Limits::default(), &StreamOptions::default());
    assert!(same(&want, &got));
    // gzip and pstats through the reader
    let gz = bad("pstats_gzip_of_valid.prof.gz");
    let gzb = read(&gz);
    let want = import("v.prof.gz", &gzb, &Limits::default());
    let got = import_reader("v.prof.gz", &gzb[..], &Limits::default(), &StreamOptions::default());
    assert!(same(&want, &got));
    let tiny = Limits {
        max_decompressed_bytes: 10,
        ..Limits::default()
    };
    let got = import_reader("v.prof.gz", &gzb[..], &tiny, &StreamOptions::default());
    assert!(matches!(got, Err(ImportError::DecompressedTooLarge { .. })), "{got:?}");
    assert!(matches!(
        import_reader("e", &b""[..], &Limits::default(), &StreamOptions::default()),
        Err(ImportError::Empty)
    ));
}

fn memchr_all(b: &[u8]) -> Vec<usize> {
    b.iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

fn folded_lines() -> impl Strategy<Value = String> {
    let frame = prop_oneof![
        Just("main".to_string()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just("f (a.py:3)".to_string()),
        Just("a.py:f:3".to_string()),
        Just("x_[k]".to_string()),
        Just("python-1/2".to_string()),
        Just("thread (7): T".to_string()),
        Just("P1;T0:1".to_string()),
        Just("tid:3".to_string()),
        Just("".to_string()),
        Just("é".to_string()),
    ];
    let line = (
        proptest::collection::vec(frame, 0..6),
        prop_oneof![
            Just("1".to_string()),
            Just("2".to_string()),
            Just("0".to_string()),
            Just("x".to_string()),
            Just("-3".to_string()),
            Just("1.5".to_string()),
            Just("".to_string())
        ],
        prop_oneof![Just("\n"), Just("\r\n"), Just(" \n")],
        prop_oneof![Just(""), Just(""), Just(""), Just("# c\n"), Just("\n"), Just("# mode: memory\n")],
    )
        .prop_map(|(fr, c, nl, extra)| format!("{extra}{} {c}{nl}", fr.join(";")));
    (prop_oneof![Just(""), Just("# austin: 3\n"), Just("\u{feff}")], proptest::collection::vec(line, 0..80))
        .prop_map(|(h, v)| format!("{h}{}", v.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_parallel_equals_serial(text in folded_lines(), cuts in proptest::collection::vec(0usize..4000, 0..8)) {
        let bytes = text.as_bytes();
        let serial = folded::parse(bytes, &Limits::default());
        if let Ok(s) = &serial {
            prop_assert_eq!(s.nested.as_ref(), Some(&nested_by_walking(&s.profile)));
        }
        // cuts at line ends only
        let ends = memchr_all(bytes);
        let mut cs: Vec<usize> = cuts.iter().filter_map(|c| ends.get(c % ends.len().max(1)).copied()).collect();
        cs.sort_unstable();
        prop_assert!(same(&serial, &fork_join(bytes, &cs, &Limits::default())));
        // One fork per line: no line can reuse the state of the line before (the serial
        // parser's prefix shortcut), so this checks that shortcut too.
        prop_assert!(same(&serial, &fork_join(bytes, &ends, &Limits::default())));
        for threads in [1, 2] {
            let opts = StreamOptions { threads, block_size: 1, in_flight: 2 };
            prop_assert!(same(&serial, &parse_folded_parallel(bytes, &Limits::default(), &opts)));
            prop_assert!(same(&serial, &parse_folded_reader(bytes, &Limits::default(), &opts)));
        }
    }
}
