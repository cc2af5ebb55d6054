//! Classes of hostile input (built here, not files), truncation of real files at every
//! offset, merging, streaming and raw perf script.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use common::*;
use profview_import::{
    detect, folded, import, import_many, marshal, pstats, FoldedParser, ImportError, Kind, Limits,
};
use profview_model::Dialect;

// ---- tiny marshal writer -------------------------------------------------------------

fn w_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'u');
    out.extend_from_slice(&(s.len() as i32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}
fn w_int(out: &mut Vec<u8>, v: i32) {
    out.push(b'i');
    out.extend_from_slice(&v.to_le_bytes());
}
fn w_float(out: &mut Vec<u8>, v: f64) {
    out.push(b'g');
    out.extend_from_slice(&v.to_le_bytes());
}
fn w_key(out: &mut Vec<u8>, file: &str, line: i32, name: &str) {
    out.extend_from_slice(b")\x03");
    w_str(out, file);
    w_int(out, line);
    w_str(out, name);
}
/// `{key: (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}` for a list of functions.
fn w_pstats(funcs: &[(&str, i32, i32, f64, &[&str])]) -> Vec<u8> {
    let mut o = vec![b'{'];
    for (name, cc, nc, tt, callers) in funcs {
        w_key(&mut o, "a.py", 1, name);
        o.extend_from_slice(b")\x05");
        w_int(&mut o, *cc);
        w_int(&mut o, *nc);
        w_float(&mut o, *tt);
        w_float(&mut o, *tt);
        o.push(b'{');
        for c in *callers {
            w_key(&mut o, "a.py", 1, c);
            o.extend_from_slice(b")\x04");
            w_int(&mut o, *nc);
            w_int(&mut o, *cc);
            w_float(&mut o, *tt);
            w_float(&mut o, *tt);
        }
        o.push(b'0');
    }
    o.push(b'0');
    o
}

fn lim() -> Limits {
    Limits::default()
}

fn err_of(bytes: &[u8]) -> String {
    pstats::parse(bytes, &lim()).unwrap_err().to_string()
}

#[test]
fn huge_declared_lengths_fail_before_allocating() {
    for code in [b'a', b'A', b'u', b't', b's', b'(', b'[', b'{', b'<', b'>'] {
        for n in [i32::MAX, 1 << 30, 1_000_000, -1, i32::MIN] {
            let mut b = vec![code];
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(b"xyz");
            let e = marshal::read(&b, 2000);
            if code == b'{' {
                // `{` has no length: the bytes after it are read as a key.
                assert!(e.is_err());
                continue;
            }
            let e = e.unwrap_err().to_string();
            assert!(
                e.contains("truncated") || e.contains("out of range"),
                "{code} {n}: {e}"
            );
        }
    }
    // Long with a huge digit count.
    let mut b = vec![b'l'];
    b.extend_from_slice(&i32::MAX.to_le_bytes());
    assert!(marshal::read(&b, 2000)
        .unwrap_err()
        .to_string()
        .contains("truncated"));
    let mut b = vec![b'l'];
    b.extend_from_slice(&i32::MIN.to_le_bytes());
    assert!(marshal::read(&b, 2000).is_err());
}

#[test]
fn nesting_is_capped_at_the_depth_limit() {
    let nest = |n: usize| {
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend_from_slice(b")\x01");
        }
        b.push(b'N');
        b
    };
    assert!(marshal::read(&nest(1999), 2000).is_ok());
    assert!(marshal::read(&nest(2000), 2000).is_ok());
    let e = marshal::read(&nest(2001), 2000).unwrap_err().to_string();
    assert!(e.contains("recursion limit exceeded"), "{e}");
    // A million levels: an error, quickly, without native recursion.
    let e = marshal::read(&nest(1_000_000), 2000)
        .unwrap_err()
        .to_string();
    assert!(e.contains("recursion limit exceeded"), "{e}");
    // The limit is configurable.
    assert!(marshal::read(&nest(50), 10).is_err());
}

#[test]
fn self_references_and_cycles_are_rejected() {
    // A flagged tuple whose only item refers to itself (ref 0 while it is being read).
    let mut b = vec![b')' | 0x80, 1, b'r'];
    b.extend_from_slice(&0i32.to_le_bytes());
    let e = marshal::read(&b, 2000).unwrap_err().to_string();
    assert!(e.contains("still being read"), "{e}");
    // A callers dict that contains itself.
    let mut b = vec![b'{' | 0x80];
    w_key(&mut b, "a.py", 1, "f");
    b.extend_from_slice(b")\x05");
    w_int(&mut b, 1);
    w_int(&mut b, 1);
    w_float(&mut b, 0.0);
    w_float(&mut b, 0.0);
    b.push(b'r');
    b.extend_from_slice(&0i32.to_le_bytes());
    b.push(b'0');
    let e = err_of(&b);
    assert!(e.contains("still being read"), "{e}");
}

#[test]
fn reference_bombs_stay_linear() {
    // t0 = (1,)*200 flagged; t1 = (r t0)*200 flagged; ... 8 levels: 200^8 leaves if copied.
    let mut b = Vec::new();
    let levels: i32 = 8;
    for lvl in 0..levels {
        b.push(b')' | 0x80);
        b.push(200);
        for _ in 0..200 {
            if lvl == 0 {
                w_int(&mut b, 1);
            } else {
                b.push(b'r');
                b.extend_from_slice(&(lvl - 1).to_le_bytes());
            }
        }
    }
    // Wrap into one tuple so it is one object: read only the last level.
    let start = std::time::Instant::now();
    let m = marshal::read(&b, 2000).unwrap();
    assert!(m.objs.len() < b.len());
    assert!(start.elapsed().as_secs() < 5);

    // pstats level: many entries sharing one big callers dict by reference.
    let mut o = vec![b'{'];
    let n = 2000;
    for i in 0..n {
        w_key(&mut o, "a.py", i, "f");
        o.extend_from_slice(b")\x05");
        w_int(&mut o, 1);
        w_int(&mut o, 1);
        w_float(&mut o, 0.0);
        w_float(&mut o, 0.0);
        if i == 0 {
            o.push(b'{' | 0x80);
            // ref index 0 is this dict (only flagged object so far)
            for j in 0..n {
                w_key(&mut o, "b.py", j, "g");
                w_int(&mut o, 1);
            }
            o.push(b'0');
        } else {
            o.push(b'r');
            o.extend_from_slice(&0i32.to_le_bytes());
        }
    }
    o.push(b'0');
    let e = err_of(&o);
    assert!(e.contains("reference bomb"), "{e}");
}

#[test]
fn overflowing_counts_are_errors_not_wraps() {
    // Two functions with nc = 2^63 each: the sum overflows u64.
    let mut o = vec![b'{'];
    for name in ["f", "g"] {
        w_key(&mut o, "a.py", 1, name);
        o.extend_from_slice(b")\x05");
        w_int(&mut o, 1);
        // 2^63 as a long: 5 digits of 15 bits (2^60 * 8 → digit[4] = 8)
        o.push(b'l');
        o.extend_from_slice(&5i32.to_le_bytes());
        for d in [0u16, 0, 0, 0, 8] {
            o.extend_from_slice(&d.to_le_bytes());
        }
        w_float(&mut o, 0.0);
        w_float(&mut o, 0.0);
        o.extend_from_slice(b"{0");
    }
    o.push(b'0');
    let e = err_of(&o);
    assert!(e.contains("count out of range"), "{e}");

    // Folded: a count over 2^64 skips the line with a warning; the rest is kept.
    let i = folded::parse(b"a;b 99999999999999999999999\na 5\n", &lim()).unwrap();
    assert_eq!(i.profile.samples.as_ref().unwrap().total(), 5.0);
    assert!(i
        .warnings
        .iter()
        .any(|w| w.message.contains("out of range")));
    // Many near-max counts: no wrap (f64 sum), and a warning about precision.
    let line = format!("a {}\n", u64::MAX);
    let i = folded::parse(line.repeat(3).as_bytes(), &lim()).unwrap();
    assert!(i.profile.samples.as_ref().unwrap().total() > 5.0e19);
    assert!(i.warnings.iter().any(|w| w.message.contains("2^53")));
}

#[test]
fn concatenated_dumps_read_the_first_with_a_warning() {
    let one = read(&corpus().join("pstats/cprofile_tiny.prof"));
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let a = import("x.prof", &one, &lim()).unwrap();
    let b = import("x.prof", &two, &lim()).unwrap();
    assert_eq!(a.profile, b.profile);
    assert!(b.warnings.iter().any(|w| w.message.contains("trailing")));
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    for f in [
        "pstats/cprofile_recursion.prof",
        "pstats/profile_recursion.prof",
        "pstats/cprofile_tiny.prof",
    ] {
        let b = read(&corpus().join(f));
        assert!(pstats::parse(&b, &lim()).is_ok());
        for cut in 0..b.len() {
            let r = pstats::parse(&b[..cut], &lim());
            assert!(r.is_err(), "{f} cut at {cut} was accepted");
        }
    }
    // Folded: any prefix either imports (valid) or is a clean error.
    let b = read(&corpus().join("folded/pyspy_cpu_raw_default.txt"));
    for cut in 0..b.len() {
        if let Ok(i) = import("x.txt", &b[..cut], &lim()) {
            i.profile.check_valid().unwrap();
        }
    }
}

#[test]
fn code_object_keys_are_labelled() {
    let i = import(
        "p.prof",
        &read(&corpus().join("pstats/profile_recursion.prof")),
        &lim(),
    )
    .unwrap();
    assert_eq!(i.profile.dialect, Dialect::Profile);
    assert!(i
        .profile
        .functions
        .iter()
        .any(|f| f.name == "<code object <module>, file \"recursion_work.py\", line 1>"));
}

#[test]
fn python2_string_table_and_old_tuples() {
    // Python 2 style: `(` tuples, `s` file names, `t` interned names + `R` references.
    let mut o = vec![b'{'];
    for (i, name) in ["f", "f"].iter().enumerate() {
        o.push(b'(');
        o.extend_from_slice(&3i32.to_le_bytes());
        o.push(b's');
        o.extend_from_slice(&4i32.to_le_bytes());
        o.extend_from_slice(b"a.py");
        w_int(&mut o, 1 + i as i32);
        if i == 0 {
            o.push(b't');
            o.extend_from_slice(&1i32.to_le_bytes());
            o.extend_from_slice(name.as_bytes());
        } else {
            o.push(b'R');
            o.extend_from_slice(&0i32.to_le_bytes());
        }
        o.push(b'(');
        o.extend_from_slice(&5i32.to_le_bytes());
        w_int(&mut o, 1);
        w_int(&mut o, 2);
        w_float(&mut o, 0.25);
        w_float(&mut o, 0.5);
        o.extend_from_slice(b"{0");
    }
    o.push(b'0');
    let i = pstats::parse(&o, &lim()).unwrap();
    let p = &i.profile;
    assert_eq!(p.functions.len(), 2);
    assert!(p
        .functions
        .iter()
        .all(|f| f.name == "f" && f.file == "a.py"));
    assert_eq!(p.pstats.as_ref().unwrap().total_calls, 4);
}

#[test]
fn merging_pstats_sums_like_stats_add() {
    let a = w_pstats(&[("f", 1, 2, 0.5, &["g"]), ("g", 1, 1, 0.25, &[])]);
    let b = w_pstats(&[("h", 3, 3, 1.0, &[]), ("f", 1, 1, 0.125, &["g", "h"])]);
    let m = import_many(&[("a.prof", &a), ("b.prof", &b)], &lim()).unwrap();
    let p = &m.profile;
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f", "g", "h"]);
    let ps = p.pstats.as_ref().unwrap();
    let f = ps.stats[0].unwrap();
    assert_eq!((f.primcalls, f.ncalls, f.tottime), (2, 3, 0.625));
    assert_eq!(ps.total_calls, 2 + 1 + 3 + 1);
    assert_eq!(ps.total_time, (0.5 + 0.25) + (1.0 + 0.125));
    // f's callers: g (summed: nc 2+1), then h (new).
    let fe: Vec<_> = ps.edges.iter().filter(|e| e.callee.0 == 0).collect();
    assert_eq!(fe.len(), 2);
    assert_eq!(
        (fe[0].caller.0, fe[0].ncalls, fe[0].primcalls),
        (1, 3, Some(2))
    );
    assert_eq!(fe[1].caller.0, 2);

    // The same corpus file twice doubles every count.
    let one = read(&corpus().join("pstats/cprofile_recursion.prof"));
    let m = import_many(&[("a.prof", &one), ("b.prof", &one)], &lim()).unwrap();
    let s = import("a.prof", &one, &lim()).unwrap();
    let (x, y) = (m.profile.pstats.unwrap(), s.profile.pstats.unwrap());
    assert_eq!(x.total_calls, 2 * y.total_calls);
    assert_eq!(x.total_time, y.total_time + y.total_time);
    assert_eq!(x.edges.len(), y.edges.len());
}

#[test]
fn merging_refuses_mixed_inputs() {
    let cp = read(&corpus().join("pstats/cprofile_recursion.prof"));
    let pr = read(&corpus().join("pstats/profile_recursion.prof"));
    let fo = read(&corpus().join("folded/pyspy_cpu_raw_default.txt"));
    let e = import_many(&[("a.prof", &cp), ("b.prof", &pr)], &lim()).unwrap_err();
    assert!(matches!(e, ImportError::Merge(_)), "{e}");
    assert!(e.to_string().contains("profile"), "{e}");
    let e = import_many(&[("a.prof", &cp), ("b.txt", &fo)], &lim()).unwrap_err();
    assert!(e.to_string().contains("cannot be combined"), "{e}");
    let au = read(&corpus().join("folded/austin_cpu_sleepless.austin"));
    let e = import_many(&[("a.txt", &fo), ("b.austin", &au)], &lim()).unwrap_err();
    assert!(e.to_string().contains("measured in"), "{e}");
    // An error in one file names it.
    let e = import_many(&[("a.prof", &cp), ("broken.prof", &cp[..100])], &lim()).unwrap_err();
    assert!(e.to_string().contains("broken.prof"), "{e}");
}

#[test]
fn merging_folded_concatenates_samples() {
    let a = b"main;a 1\nmain;b 2\n";
    let b = b"main;a 3\nmain;c 4\n";
    let m = import_many(&[("a.folded", a), ("b.folded", b)], &lim()).unwrap();
    let s = m.profile.samples.as_ref().unwrap();
    assert_eq!(s.total(), 10.0);
    assert_eq!(m.profile.functions.len(), 4);
    assert_eq!(s.samples.len(), 3);
    assert_eq!(m.profile.threads.len(), 1);
}

#[test]
fn streaming_in_any_chunk_size_gives_the_same_profile() {
    let b = read(&corpus().join("folded/pyspy_threads_raw_threads_idle_nolineno.txt"));
    let whole = folded::parse(&b, &lim()).unwrap().profile;
    for size in [1, 2, 3, 64, 4096] {
        let mut p = FoldedParser::new(lim());
        for c in b.chunks(size) {
            p.feed(c);
        }
        assert_eq!(p.finish().unwrap().profile, whole, "chunk size {size}");
    }
}

#[test]
fn folded_dialects_recover_threads_files_and_lines() {
    let i = folded::parse(
        b"thread (7): Main;f (a.py:3);thread (8);g (b.py) 2\n",
        &lim(),
    )
    .unwrap();
    let p = &i.profile;
    assert_eq!(p.dialect, Dialect::PySpy);
    assert_eq!(
        (p.threads[0].id.as_str(), p.threads[0].name.as_deref()),
        ("7", Some("Main"))
    );
    assert_eq!(
        (
            p.functions[0].name.as_str(),
            p.functions[0].file.as_str(),
            p.functions[0].line
        ),
        ("f", "a.py", 3)
    );
    // Only *leading* pseudo-frames are threads; later ones are ordinary frames.
    assert_eq!(
        (p.functions[1].name.as_str(), p.functions[1].file.as_str()),
        ("thread", "8")
    );
    assert_eq!(
        (
            p.functions[2].name.as_str(),
            p.functions[2].file.as_str(),
            p.functions[2].line
        ),
        ("g", "b.py", 0)
    );

    let i = folded::parse(
        b"process 10:\"python x.py\";thread (7);f (a.py:3) 2\n",
        &lim(),
    )
    .unwrap();
    assert_eq!(i.profile.threads[0].id, "10/7");
    assert_eq!(i.profile.threads[0].name.as_deref(), Some("python x.py"));

    let i = folded::parse(b"tid:42;app.py:main:1;app.py:work:5 3\n", &lim()).unwrap();
    let p = &i.profile;
    assert_eq!(
        (p.dialect, p.threads[0].id.as_str()),
        (Dialect::Tachyon, "42")
    );
    assert_eq!(
        (
            p.functions[1].name.as_str(),
            p.functions[1].file.as_str(),
            p.functions[1].line
        ),
        ("work", "app.py", 5)
    );

    let i = folded::parse(b"python-12/34;main;sys_read_[k] 5\n", &lim()).unwrap();
    let p = &i.profile;
    assert_eq!(p.dialect, Dialect::Perf);
    assert_eq!(
        (p.threads[0].id.as_str(), p.threads[0].name.as_deref()),
        ("python-12/34", Some("python"))
    );
    assert_eq!(
        (p.functions[1].name.as_str(), p.functions[1].file.as_str()),
        ("sys_read", "[kernel]")
    );

    let i = folded::parse(
        b"# austin: 3.7.0\n# mode: memory\n\nP1;T0:1;<frozen x>:f:3;a.py:g:9 -4096\nP1;T0:1 100\nP1;T0:1;:GC: 5\n",
        &lim(),
    )
    .unwrap();
    let p = &i.profile;
    assert_eq!(
        (p.dialect, p.unit),
        (Dialect::Austin, profview_model::Unit::Bytes)
    );
    assert_eq!(p.samples.as_ref().unwrap().total(), -3991.0);
    assert_eq!(
        (
            p.functions[0].name.as_str(),
            p.functions[0].file.as_str(),
            p.functions[0].line
        ),
        ("f", "<frozen x>", 3)
    );
    assert!(p
        .functions
        .iter()
        .any(|f| f.name == ":GC:" && f.file.is_empty()));

    // Fractional counts, invalid UTF-8 (lossy + warning), lines without a count.
    let i = folded::parse(b"a;b 1.5\na\xff;c 2\nno-count\n", &lim()).unwrap();
    assert_eq!(i.profile.samples.as_ref().unwrap().total(), 3.5);
    assert!(i.warnings.iter().any(|w| w.message.contains("UTF-8")));
    assert!(i
        .warnings
        .iter()
        .any(|w| w.message.contains("first on line 3")));
    // Negative counts outside austin are skipped.
    let i = folded::parse(b"a -1\nb 1\n", &lim()).unwrap();
    assert_eq!(i.profile.samples.as_ref().unwrap().total(), 1.0);
}

#[test]
fn detection_uses_content_first_then_the_name() {
    let cp = read(&corpus().join("pstats/cprofile_tiny.prof"));
    assert_eq!(detect("whatever.txt", &cp), Some(Kind::Pstats));
    assert_eq!(detect("x.prof", b"main;a 1\n"), Some(Kind::Folded));
    assert_eq!(detect("x", b"{\"a\": 1}"), None);
    let ps = read(&corpus().join("other/perf6.1_xz.perf-script.txt"));
    assert_eq!(detect("x.txt", &ps), Some(Kind::PerfScript));
}

#[test]
fn gzip_is_capped() {
    let gz = read(&bad("pstats_gzip_of_valid.prof.gz"));
    let small = Limits {
        max_decompressed_bytes: 1000,
        ..Limits::default()
    };
    let e = import("x.prof.gz", &gz, &small).unwrap_err();
    assert_eq!(e, ImportError::DecompressedTooLarge { limit: 1000 });
    assert!(e.to_string().contains("exceeds the limit"));
    let e = import("x.gz", &gz[..100], &lim()).unwrap_err();
    assert!(matches!(e, ImportError::Gzip(_)), "{e}");
}

#[cfg(feature = "perf-script")]
#[test]
fn raw_perf_script_is_collapsed_like_inferno() {
    // Same perf.data as folded/inferno_perf_xz_all.folded (collapsed with --all).
    let raw = read(&corpus().join("other/perf6.1_xz.perf-script.txt"));
    let i = import("perf6.1_xz.perf-script.txt", &raw, &lim()).unwrap();
    let p = &i.profile;
    assert_eq!(p.dialect, Dialect::Perf);
    let folded = import(
        "x.folded",
        &read(&corpus().join("folded/inferno_perf_xz_all.folded")),
        &lim(),
    )
    .unwrap();
    assert_eq!(
        p.samples.as_ref().unwrap().total(),
        folded.profile.samples.as_ref().unwrap().total()
    );
    // The comm-pid/tid root became the thread.
    assert!(p.threads.iter().all(|t| t.name.as_deref() == Some("xz")));
}
