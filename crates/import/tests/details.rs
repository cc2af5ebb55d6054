//! Details the other tests left unchecked, found by mutation testing (`docs/testing.md`): the
//! sniffers' answers, detection by name, marshal type codes and error offsets, code-object
//! layouts, the fast pstats path on long callers dicts, folded dialect rules, per-line problem
//! counts, fork/join at a partial line, and the streaming gzip cap. Every expected number is
//! worked out by hand from the input built here.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::io::Write;

use profview_import::{
    detect, folded, import, import_reader, marshal, pstats, FoldedParser, ImportError, Kind,
    Limits, StreamOptions,
};
use profview_model::{Dialect, Unit};

// ---- marshal bytes, written by hand ----------------------------------------------------------

fn le(v: i32) -> [u8; 4] {
    v.to_le_bytes()
}

/// `u` (utf-8 str) with a 4-byte length.
fn ustr(s: &[u8]) -> Vec<u8> {
    let mut o = vec![b'u'];
    o.extend_from_slice(&le(s.len() as i32));
    o.extend_from_slice(s);
    o
}

/// `s` (bytes) with a 4-byte length.
fn bytes_obj(s: &[u8]) -> Vec<u8> {
    let mut o = vec![b's'];
    o.extend_from_slice(&le(s.len() as i32));
    o.extend_from_slice(s);
    o
}

fn int_obj(v: i32) -> Vec<u8> {
    let mut o = vec![b'i'];
    o.extend_from_slice(&le(v));
    o
}

fn float_obj(v: f64) -> Vec<u8> {
    let mut o = vec![b'g'];
    o.extend_from_slice(&v.to_le_bytes());
    o
}

/// A small tuple `)` of already-encoded items.
fn tuple(items: &[Vec<u8>]) -> Vec<u8> {
    let mut o = vec![b')', items.len() as u8];
    for i in items {
        o.extend_from_slice(i);
    }
    o
}

/// A pstats key `(file, line, name)`.
fn key(name: &str) -> Vec<u8> {
    tuple(&[ustr(b"m.py"), int_obj(1), ustr(name.as_bytes())])
}

fn read(bytes: &[u8]) -> marshal::Marshal {
    marshal::read(bytes, 100).unwrap()
}

fn marshal_err(bytes: &[u8]) -> (usize, String) {
    match marshal::read(bytes, 100) {
        Err(ImportError::Marshal { offset, message }) => (offset, message),
        other => panic!("expected a marshal error, got {other:?}"),
    }
}

fn code_info(m: &marshal::Marshal) -> marshal::CodeInfo {
    match m.get(m.root) {
        marshal::Obj::Code(c) => (**c).clone(),
        other => panic!("expected a code object, got {other:?}"),
    }
}

// ---- sniffing and detection ------------------------------------------------------------------

#[test]
fn folded_sniff_answers_from_the_first_data_line() {
    assert_eq!(folded::sniff(b"main;work 3\n"), Some(true));
    assert_eq!(folded::sniff(b"# a comment\n\n  \nmain 12\n"), Some(true));
    assert_eq!(folded::sniff(b"main;work 2.5\n"), Some(true));
    assert_eq!(folded::sniff(b"# austin: 3.6\n"), Some(true));
    // The first data line decides, even when a later one would fit.
    assert_eq!(folded::sniff(b"hello world\nmain 3\n"), None);
    // A text whose data lines are mostly malformed is not folded (refused, naming what it looks like).
    assert_eq!(folded::sniff(b"main;work x3\n"), Some(false));
    assert_eq!(folded::sniff(b"a\0b 1\n"), Some(false));
    assert_eq!(folded::sniff(b"  {\"x\": 1}"), Some(false));
}

#[test]
fn pstats_sniff_wants_a_dict_whose_first_key_is_a_tuple() {
    assert_eq!(pstats::sniff(b"{)\x03"), Some(true));
    assert_eq!(pstats::sniff(b"{(\x03\0\0\0"), Some(true));
    assert_eq!(pstats::sniff(b"{0"), Some(true)); // the empty dict
    assert_eq!(pstats::sniff(b"\xfb\xa9\x03"), Some(true)); // both with the ref flag
    assert_eq!(pstats::sniff(b"{u"), None); // a dict with a str key: not pstats-shaped
    assert_eq!(pstats::sniff(b"{"), None);
    assert_eq!(pstats::sniff(b"N"), None); // another marshal type code
    assert_eq!(pstats::sniff(b"\x01\x02"), Some(false));
}

#[test]
fn the_name_decides_when_the_content_is_undecided() {
    // `N` is a marshal code (pstats undecided), the line has no count (folded undecided), and
    // the bytes are not UTF-8 (so the last-resort rule would pick pstats).
    // (One good line beside the bad one: a text that is mostly malformed is refused as folded.)
    let undecided = b"N\xff abc\nmain 3\n";
    assert_eq!(pstats::sniff(undecided), None);
    assert_eq!(folded::sniff(undecided), None);
    assert_eq!(detect("x.folded", undecided), Some(Kind::Folded));
    assert_eq!(detect("x.prof", undecided), Some(Kind::Pstats));
    assert_eq!(detect("x.bin", undecided), Some(Kind::Pstats));
}

// ---- marshal ---------------------------------------------------------------------------------

#[test]
fn marshal_reads_binary_complex_and_slice_objects() {
    // (1+2j, 7): `y` holds two doubles (16 bytes).
    let mut b = vec![b')', 2, b'y'];
    b.extend_from_slice(&1.0f64.to_le_bytes());
    b.extend_from_slice(&2.0f64.to_le_bytes());
    b.extend_from_slice(&int_obj(7));
    let m = read(&b);
    assert_eq!(m.consumed, 2 + 17 + 5);
    let marshal::Obj::Tuple(items) = m.get(m.root) else {
        panic!("not a tuple")
    };
    assert_eq!(m.get(items[0]), &marshal::Obj::Complex);
    assert_eq!(m.get(items[1]), &marshal::Obj::Int(7));

    // slice(None, 1, None): `:` and three objects.
    let mut b = vec![b':', b'N'];
    b.extend_from_slice(&int_obj(1));
    b.push(b'N');
    b.extend_from_slice(b"trailing");
    let m = read(&b);
    assert_eq!(m.consumed, 1 + 1 + 5 + 1);
    assert_eq!(m.get(m.root).type_name(), "slice");
}

#[test]
fn marshal_errors_name_the_offending_byte() {
    // Invalid UTF-8 in a `u` string: the tuple header is 2 bytes, the string header 5, and the
    // bad byte follows "abc".
    let mut b = vec![b')', 1];
    b.extend_from_slice(&ustr(b"abc\xffd"));
    let (off, msg) = marshal_err(&b);
    assert_eq!((off, msg.as_str()), (2 + 5 + 3, "invalid UTF-8 in a str object"));

    // A long whose second 15-bit digit is out of range: `l` at byte 2, 4 size bytes, then
    // digit 0 at byte 7 and digit 1 at byte 9.
    let mut b = vec![b')', 1, b'l'];
    b.extend_from_slice(&le(2));
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0x8000u16.to_le_bytes());
    let (off, msg) = marshal_err(&b);
    assert_eq!((off, msg.as_str()), (9, "digit out of range in long"));

    // An unnormalized long (last digit 0) of three digits: the last one is at byte 2+5+4.
    let mut b = vec![b')', 1, b'l'];
    b.extend_from_slice(&le(-3));
    for d in [5u16, 6, 0] {
        b.extend_from_slice(&d.to_le_bytes());
    }
    let (off, msg) = marshal_err(&b);
    assert_eq!((off, msg.as_str()), (11, "unnormalized long data"));
}

#[test]
fn marshal_longs_keep_value_and_sign() {
    // -(5 + 6·2^15) and 2^45 (digits 0, 0, 0, 1).
    let mut b = vec![b')', 2, b'l'];
    b.extend_from_slice(&le(-2));
    b.extend_from_slice(&5u16.to_le_bytes());
    b.extend_from_slice(&6u16.to_le_bytes());
    b.push(b'l');
    b.extend_from_slice(&le(4));
    for d in [0u16, 0, 0, 1] {
        b.extend_from_slice(&d.to_le_bytes());
    }
    let m = read(&b);
    let marshal::Obj::Tuple(items) = m.get(m.root) else {
        panic!("not a tuple")
    };
    assert_eq!(m.get(items[0]), &marshal::Obj::Int(-(5 + 6 * 32768)));
    assert_eq!(m.get(items[1]), &marshal::Obj::Int(1 << 45));
}

/// The objects of a code object from `co_code` on, for the layouts below.
fn code_tail(n_tuples: usize, co_code: &[u8]) -> Vec<u8> {
    let mut o = bytes_obj(co_code);
    for _ in 0..n_tuples {
        o.extend_from_slice(&[b')', 0]);
    }
    o
}

#[test]
fn code_objects_of_python_3_8_with_empty_bytecode() {
    // 3.8–3.10: six ints, co_code, consts, names, varnames, freevars, cellvars, filename, name,
    // firstlineno, lnotab. An empty co_code (length 0) is still a code object.
    let mut b = vec![b'c'];
    for v in [0, 0, 0, 1, 2, 64] {
        b.extend_from_slice(&le(v));
    }
    b.extend_from_slice(&code_tail(5, b""));
    b.extend_from_slice(&ustr(b"pkg/a.py"));
    b.extend_from_slice(&ustr(b"handler"));
    b.extend_from_slice(&le(37));
    b.extend_from_slice(&bytes_obj(b""));
    let m = read(&b);
    assert_eq!(m.consumed, b.len());
    let c = code_info(&m);
    assert_eq!(c.filename.as_deref(), Some("pkg/a.py"));
    assert_eq!(c.name.as_deref(), Some("handler"));
    assert_eq!(c.qualname, None);
    assert_eq!(c.firstlineno, 37);
}

#[test]
fn code_objects_of_python_3_0_to_3_7() {
    // Five ints like 3.11+, but the fifth object is the freevars tuple (3.11+: bytes), then
    // cellvars, filename, name, firstlineno, lnotab.
    for tuple_code in [b')', b'(' | 0x80] {
        let mut b = vec![b'c'];
        for v in [1, 0, 2, 3, 67] {
            b.extend_from_slice(&le(v));
        }
        b.extend_from_slice(&code_tail(3, b"d\0S\0"));
        // freevars: the tuple code under test, then cellvars
        if tuple_code == b')' {
            b.extend_from_slice(&[b')', 0]);
        } else {
            b.push(tuple_code);
            b.extend_from_slice(&le(0));
        }
        b.extend_from_slice(&[b')', 0]);
        b.extend_from_slice(&ustr(b"old.py"));
        b.extend_from_slice(&ustr(b"f"));
        b.extend_from_slice(&le(12));
        b.extend_from_slice(&bytes_obj(b"\x02\x01"));
        let m = read(&b);
        assert_eq!(m.consumed, b.len(), "freevars code {tuple_code:#x}");
        let c = code_info(&m);
        assert_eq!(c.filename.as_deref(), Some("old.py"));
        assert_eq!(c.name.as_deref(), Some("f"));
        assert_eq!(c.qualname, None);
        assert_eq!(c.firstlineno, 12);
    }
}

#[test]
fn code_objects_of_python_3_0_to_3_7_whose_freevars_refer_back_to_a_tuple() {
    // As above, but consts is an empty tuple stored with the ref flag (ref 0) and freevars is
    // `r 0`, a back-reference to it: still a tuple, so still the 3.0–3.7 layout.
    let mut b = vec![b'c'];
    for v in [1, 0, 2, 3, 67] {
        b.extend_from_slice(&le(v));
    }
    b.extend_from_slice(&bytes_obj(b"d\0S\0"));
    b.extend_from_slice(&[b')' | 0x80, 0]); // consts, ref 0
    b.extend_from_slice(&[b')', 0, b')', 0]); // names, varnames
    b.push(b'r'); // freevars: ref 0
    b.extend_from_slice(&le(0));
    b.extend_from_slice(&[b')', 0]); // cellvars
    b.extend_from_slice(&ustr(b"old.py"));
    b.extend_from_slice(&ustr(b"g"));
    b.extend_from_slice(&le(40));
    b.extend_from_slice(&bytes_obj(b"\x02\x01"));
    let m = read(&b);
    assert_eq!(m.consumed, b.len());
    let c = code_info(&m);
    assert_eq!((c.filename.as_deref(), c.name.as_deref(), c.firstlineno), (Some("old.py"), Some("g"), 40));
}

#[test]
fn marshal_decodes_interned_strings_lossily_and_says_so() {
    // `t` (an interned string of Python 2's marshal): invalid UTF-8 is decoded with U+FFFD and
    // noted; `u` (a str) with the same bytes is an error naming the bad byte.
    let mut b = vec![b't'];
    b.extend_from_slice(&le(3));
    b.extend_from_slice(b"a\xffb");
    let m = read(&b);
    assert_eq!(m.get(m.root), &marshal::Obj::Str("a\u{fffd}b".into()));
    assert_eq!(m.notes, ["invalid UTF-8 in a string at byte 0, decoded lossily"]);
    b[0] = b'u';
    assert_eq!(marshal_err(&b).0, 6); // 5 header bytes, then `a`
}

#[test]
fn marshal_reads_text_floats() {
    // `f`: a one-byte length and the float as text (marshal versions 0 and 1).
    let m = read(b"f\x031.5");
    assert_eq!(m.consumed, 5);
    assert_eq!(m.get(m.root), &marshal::Obj::Float(1.5));
    let m = read(b"f\x05 -2e3");
    assert_eq!(m.get(m.root), &marshal::Obj::Float(-2000.0));
    assert!(marshal::read(b"f\x03abc", 100).is_err());
}

// ---- pstats ----------------------------------------------------------------------------------

/// One entry: the encoded key, the `(cc, nc, tt, ct, ` head, and the encoded `(key, stats)`
/// pairs of its callers dict.
type Entry = (Vec<u8>, Vec<u8>, Vec<Vec<u8>>);

/// `{key: (cc, nc, tt, ct, callers)}`.
fn pstats_dict(entries: &[Entry]) -> Vec<u8> {
    let mut o = vec![b'{'];
    for (k, head, callers) in entries {
        o.extend_from_slice(k);
        o.extend_from_slice(head);
        o.push(b'{');
        for c in callers {
            o.extend_from_slice(c);
        }
        o.push(b'0');
    }
    o.push(b'0');
    o
}

/// The `(cc, nc, tt, ct, ` head of an entry (its callers dict follows).
fn stats_head(cc: Vec<u8>, nc: i32, tt: f64) -> Vec<u8> {
    let mut o = vec![b')', 5];
    o.extend_from_slice(&cc);
    o.extend_from_slice(&int_obj(nc));
    o.extend_from_slice(&float_obj(tt));
    o.extend_from_slice(&float_obj(tt));
    o
}

#[test]
fn plain_count_callers_mean_the_profile_module_even_without_its_profiler_entry() {
    // f is called 3 times by g: the callers dict holds a plain count (the `profile` module's
    // shape); no `profile:0(profiler)` entry anywhere.
    let mut caller = key("g");
    caller.extend_from_slice(&int_obj(3));
    let b = pstats_dict(&[(key("f"), stats_head(int_obj(3), 3, 0.5), vec![caller]), (key("g"), stats_head(int_obj(1), 1, 0.25), vec![])]);
    let p = pstats::parse(&b, &Limits::default()).unwrap().profile;
    assert_eq!(p.dialect, Dialect::Profile);
    // The same shape with (nc, cc, tt, ct) tuples is cProfile.
    let mut caller = key("g");
    caller.extend_from_slice(&tuple(&[int_obj(3), int_obj(3), float_obj(0.5), float_obj(0.5)]));
    let b = pstats_dict(&[(key("f"), stats_head(int_obj(3), 3, 0.5), vec![caller]), (key("g"), stats_head(int_obj(1), 1, 0.25), vec![])]);
    assert_eq!(pstats::parse(&b, &Limits::default()).unwrap().profile.dialect, Dialect::Cprofile);
}

#[test]
fn pstats_counts_every_name_it_cuts() {
    // Names over 4 bytes: `m.py` (4) is not cut; `alpha` and `gamma` are, each once as a key
    // and `gamma` once more as alpha's caller: 3 cuts.
    let mut caller = key("gamma");
    caller.extend_from_slice(&tuple(&[int_obj(1), int_obj(1), float_obj(0.5), float_obj(0.5)]));
    let b = pstats_dict(&[
        (key("alpha"), stats_head(int_obj(1), 1, 0.5), vec![caller]),
        (key("gamma"), stats_head(int_obj(1), 1, 0.25), vec![]),
        (key("bet"), stats_head(int_obj(1), 1, 0.25), vec![]),
    ]);
    let lim = Limits { max_name_len: 4, ..Limits::default() };
    let i = pstats::parse(&b, &lim).unwrap();
    let mut names: Vec<&str> = i.profile.functions.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alph", "bet", "gamm"]);
    let w: Vec<&str> = i.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(w.contains(&"3 name(s) longer than 4 bytes were truncated"), "{w:?}");
}

#[test]
fn pstats_counts_cut_names_of_a_caller_key_met_again_through_a_reference() {
    // alpha's caller `gamma` is a key tuple stored with the ref flag (ref 0); bet's callers dict
    // names the same key by `r 0`. Cuts at 4 bytes: alpha (key), gamma (caller), gamma (the
    // reference: counted again, like a repeated key), gamma (its own key) = 4.
    let stats = tuple(&[int_obj(1), int_obj(1), float_obj(0.5), float_obj(0.5)]);
    let mut gamma_ref = key("gamma");
    gamma_ref[0] |= 0x80;
    gamma_ref.extend_from_slice(&stats);
    let mut again = vec![b'r'];
    again.extend_from_slice(&le(0));
    again.extend_from_slice(&stats);
    let b = pstats_dict(&[
        (key("alpha"), stats_head(int_obj(1), 1, 0.5), vec![gamma_ref]),
        (key("bet"), stats_head(int_obj(1), 1, 0.5), vec![again]),
        (key("gamma"), stats_head(int_obj(2), 2, 0.25), vec![]),
    ]);
    let lim = Limits { max_name_len: 4, ..Limits::default() };
    let i = pstats::parse(&b, &lim).unwrap();
    let w: Vec<&str> = i.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(w.contains(&"4 name(s) longer than 4 bytes were truncated"), "{w:?}");
    // Both callers dicts name the one function gamma.
    let gamma = i.profile.functions.iter().position(|f| f.name == "gamm").unwrap();
    let callers_of_gamma = i.profile.pstats.as_ref().unwrap().edges.iter().filter(|e| e.caller.idx() == gamma).count();
    assert_eq!(callers_of_gamma, 2);
}

#[test]
fn the_fast_path_reads_numbers_met_again_through_a_reference() {
    // f's tottime 0.5 is a float stored with the ref flag (ref 0), its cumtime `r 0`; g's nc is an
    // int with the ref flag (ref 1) and its cc `r 1`: both paths read 0.5 and 7.
    let mut head = vec![b')', 5];
    head.extend_from_slice(&int_obj(1));
    head.extend_from_slice(&int_obj(1));
    let mut tt = float_obj(0.5);
    tt[0] |= 0x80;
    head.extend_from_slice(&tt);
    head.push(b'r');
    head.extend_from_slice(&le(0));
    let mut g_head = vec![b')', 5];
    let mut nc = int_obj(7);
    nc[0] |= 0x80;
    g_head.extend_from_slice(&nc);
    g_head.push(b'r');
    g_head.extend_from_slice(&le(1));
    g_head.extend_from_slice(&float_obj(0.25));
    g_head.extend_from_slice(&float_obj(0.25));
    let b = pstats_dict(&[(key("f"), head, vec![]), (key("g"), g_head, vec![])]);
    let lim = Limits::default();
    let fast = pstats::parse_fast_only(&b, &lim).expect("the fast path gives up").unwrap();
    assert_eq!(fast.profile, pstats::parse_generic(&b, &lim).unwrap().profile);
    let ps = fast.profile.pstats.as_ref().unwrap();
    let f = ps.stats[0].unwrap();
    assert_eq!((f.tottime, f.cumtime), (0.5, 0.5));
    let g = ps.stats[1].unwrap();
    assert_eq!((g.primcalls, g.ncalls), (7, 7));
}

#[test]
fn the_fast_path_leaves_names_over_the_limit_and_mixed_callers_to_the_generic_reader() {
    let lim = Limits { max_name_len: 4, ..Limits::default() };
    // `m.py` is exactly 4 bytes, `f` 1: the fast path takes the file.
    let b = pstats_dict(&[(key("f"), stats_head(int_obj(1), 1, 0.5), vec![])]);
    assert!(pstats::parse_fast_only(&b, &lim).is_some());
    // A 5-byte file name is cut by the generic reader, so the fast path gives up.
    let k = tuple(&[ustr(b"mm.py"), int_obj(1), ustr(b"f")]);
    let b = pstats_dict(&[(k, stats_head(int_obj(1), 1, 0.5), vec![])]);
    assert!(pstats::parse_fast_only(&b, &lim).is_none());
    assert_eq!(pstats::parse(&b, &lim).unwrap().profile.functions[0].file, "mm.p");
    // Plain-count callers in one dict, tuples in another: refused, whichever path reads it.
    let mut plain = key("g");
    plain.extend_from_slice(&int_obj(3));
    let mut tupled = key("h");
    tupled.extend_from_slice(&tuple(&[int_obj(1), int_obj(1), float_obj(0.5), float_obj(0.5)]));
    let b = pstats_dict(&[
        (key("f"), stats_head(int_obj(3), 3, 0.5), vec![plain]),
        (key("g"), stats_head(int_obj(1), 1, 0.5), vec![tupled]),
        (key("h"), stats_head(int_obj(1), 1, 0.5), vec![]),
    ]);
    assert!(pstats::parse_fast_only(&b, &Limits::default()).is_none());
    let e = pstats::parse(&b, &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("callers mix plain counts"), "{e}");
}

#[test]
fn a_negative_big_count_is_called_negative() {
    // cc = -(2^64): five 15-bit digits 0, 0, 0, 0, 16 (2^60 · 16).
    let mut cc = vec![b'l'];
    cc.extend_from_slice(&le(-5));
    for d in [0u16, 0, 0, 0, 16] {
        cc.extend_from_slice(&d.to_le_bytes());
    }
    let b = pstats_dict(&[(key("f"), stats_head(cc, 1, 0.5), vec![])]);
    let e = pstats::parse(&b, &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("is negative"), "{e}");
}

#[test]
fn fast_path_takes_a_callers_dict_of_forty_distinct_callers() {
    // The first entry (callee 0) has 40 callers: more than the 32 the fast path scans, so it
    // stamps them; every caller is distinct, so nothing is a repeat.
    let callers: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            let mut c = key(&format!("caller{i}"));
            c.extend_from_slice(&tuple(&[
                int_obj(i + 1),
                int_obj(i + 1),
                float_obj(0.25),
                float_obj(0.5),
            ]));
            c
        })
        .collect();
    let b = pstats_dict(&[(key("hub"), stats_head(int_obj(820), 820, 10.0), callers)]);
    let lim = Limits::default();
    let fast = pstats::parse_fast_only(&b, &lim)
        .expect("the fast path gives up")
        .unwrap();
    let generic = pstats::parse_generic(&b, &lim).unwrap();
    assert_eq!(fast.profile, generic.profile);
    let ps = fast.profile.pstats.as_ref().unwrap();
    assert_eq!(ps.edges.len(), 40);
    for (i, e) in ps.edges.iter().enumerate() {
        assert_eq!(fast.profile.func(e.caller).name, format!("caller{i}"));
        assert_eq!(fast.profile.func(e.callee).name, "hub");
        assert_eq!(e.ncalls, i as u64 + 1);
    }
    // Σ ncalls over the edges is the callee's nc: 1 + 2 + … + 40.
    assert_eq!(ps.edges.iter().map(|e| e.ncalls).sum::<u64>(), 40 * 41 / 2);
    assert_eq!(ps.total_calls, 820);
}

#[test]
fn a_caller_repeated_after_the_thirty_second_keeps_its_first_place_and_last_value() {
    // Like a Python dict read from the stream: 39 distinct callers, the 40th entry names the
    // third again with ncalls 99.
    let caller = |i: i32, nc: i32| {
        let mut c = key(&format!("caller{i}"));
        c.extend_from_slice(&tuple(&[
            int_obj(nc),
            int_obj(nc),
            float_obj(0.25),
            float_obj(0.5),
        ]));
        c
    };
    let mut callers: Vec<Vec<u8>> = (0..39).map(|i| caller(i, i + 1)).collect();
    callers.push(caller(2, 99));
    let b = pstats_dict(&[
        (key("first"), stats_head(int_obj(1), 1, 1.0), vec![]),
        (key("hub"), stats_head(int_obj(5), 5, 1.0), callers),
    ]);
    let lim = Limits::default();
    let generic = pstats::parse_generic(&b, &lim).unwrap();
    let out = pstats::parse(&b, &lim).unwrap();
    assert_eq!(out.profile, generic.profile);
    if let Some(fast) = pstats::parse_fast_only(&b, &lim) {
        assert_eq!(fast.unwrap().profile, generic.profile);
    }
    let ps = out.profile.pstats.as_ref().unwrap();
    assert_eq!(ps.edges.len(), 39);
    assert_eq!(out.profile.func(ps.edges[2].caller).name, "caller2");
    assert_eq!(ps.edges[2].ncalls, 99);
    assert_eq!(
        ps.edges.iter().map(|e| e.ncalls).sum::<u64>(),
        39 * 40 / 2 - 3 + 99
    );
}

// ---- folded ----------------------------------------------------------------------------------

fn folded(text: &str) -> profview_model::Profile {
    folded::parse(text.as_bytes(), &Limits::default()).unwrap().profile
}

fn names(p: &profview_model::Profile) -> Vec<&str> {
    p.functions.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn austin_is_recognised_without_its_header() {
    let p = folded("P42;T7;main.py:main:3;main.py:work:9 5\nP42;T7;main.py:main:3 2\n");
    assert_eq!(p.dialect, Dialect::Austin);
    assert_eq!(p.unit, Unit::Microseconds);
    assert_eq!(p.threads.len(), 1);
    let f: Vec<(&str, &str, i64)> = p
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.file.as_str(), f.line))
        .collect();
    assert_eq!(f, [("main", "main.py", 3), ("work", "main.py", 9)]);
    assert_eq!(p.samples.as_ref().unwrap().total(), 7.0);
    // `P` without digits before the `;` is an ordinary frame.
    let p = folded("P;T7;f 1\n");
    assert_eq!(p.dialect, Dialect::Gregg);
    assert_eq!(names(&p), ["P", "T7", "f"]);
}

#[test]
fn a_thread_pseudo_frame_needs_a_numeric_id() {
    // `thread ()` has no id: an ordinary frame, so the file is Gregg's.
    let p = folded("thread ();main 3\n");
    assert_eq!(p.dialect, Dialect::Gregg);
    assert_eq!(names(&p), ["thread ()", "main"]);
    let p = folded("thread (12);main (a.py:4) 3\n");
    assert_eq!(p.dialect, Dialect::PySpy);
    assert_eq!(names(&p), ["main"]);
    assert_eq!(p.threads[0].id, "12");
}

#[test]
fn pyspy_line_numbers_have_at_most_eighteen_digits() {
    let p = folded("main (a.py:1);f (a.py:999999999999999999);g (a.py:1000000000000000000) 2\n");
    assert_eq!(p.dialect, Dialect::PySpy);
    let f: Vec<(&str, &str, i64)> = p
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.file.as_str(), f.line))
        .collect();
    assert_eq!(
        f,
        [
            ("main", "a.py", 1),
            ("f", "a.py", 999_999_999_999_999_999),
            ("g", "a.py:1000000000000000000", 0),
        ]
    );
}

#[test]
fn bad_counts_and_missing_counts_are_told_apart() {
    // (Good lines are the majority: a text of mostly bad lines is refused, not skipped through.)
    let out = folded::parse(b"a 1.2.3\nb -4\nc 2\nd x7\ne 1.5e3\nf 3\ng 1\nh 1\ni 1\n", &Limits::default())
        .unwrap();
    let w: Vec<String> = out.warnings.iter().map(|w| w.message.clone()).collect();
    assert_eq!(
        w,
        [
            "2 line(s) without a `COUNT` after the last space were skipped (first on line 4)",
            "1 line(s) with an invalid count were skipped (first on line 1)",
            "1 line(s) with a negative count were skipped (only austin memory deltas may be \
             negative) (first on line 2)",
        ]
        .map(|s| s.to_string())
    );
    assert_eq!(out.profile.samples.unwrap().total(), 8.0); // c, f, g, h, i
}

#[test]
fn text_that_is_mostly_not_folded_is_refused_with_its_counts() {
    let e = folded::parse(b"no count here\nalso none\nlast 1\n", &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        ImportError::Folded {
            line: 1,
            message: "not folded stacks: 2 of 3 data lines have no `COUNT` after the last space; looks like prose / not a profile"
                .into(),
        }
    );
}

#[test]
fn a_fork_after_a_partial_first_line_keeps_a_bom_in_a_name() {
    // The parent has seen part of line 1 only; the fork's input starts line 2, where U+FEFF is
    // part of the frame (only the first line of a file may start with a BOM).
    let lim = Limits::default();
    let mut main = FoldedParser::new(lim.clone());
    main.feed(b"a 1");
    let mut fork = main.fork();
    fork.feed("\u{feff}b 2\n".as_bytes());
    main.join(fork);
    let joined = main.finish().unwrap().profile;
    let serial = folded("a 1\n\u{feff}b 2\n");
    assert_eq!(names(&joined), ["a", "\u{feff}b"]);
    assert_eq!(joined, serial);
}

// ---- streaming gzip --------------------------------------------------------------------------

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn streamed_gzip_counts_every_byte_against_the_cap() {
    // 3 MB of folded text under a 1.5 MB cap; no single read is larger than the cap.
    let line = b"main;work;leaf 1\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(line.len() * 180_000).collect();
    let lim = Limits {
        max_decompressed_bytes: 1_500_000,
        ..Limits::default()
    };
    let r = import_reader("big.folded.gz", &gz(&text)[..], &lim, &StreamOptions::default());
    assert_eq!(
        r.unwrap_err(),
        ImportError::DecompressedTooLarge { limit: 1_500_000 }
    );
    // Under the cap the same stream imports, with every sample.
    let lim = Limits {
        max_decompressed_bytes: 4_000_000,
        ..Limits::default()
    };
    let r = import_reader("big.folded.gz", &gz(&text)[..], &lim, &StreamOptions::default());
    assert_eq!(r.unwrap().profile.samples.unwrap().total(), 180_000.0);
}

#[test]
fn streamed_gzip_keeps_errors_that_are_not_about_size() {
    // A chrome trace without events: its importer's own error, not a size error nor "unknown".
    let want = ImportError::Json {
        format: "chrome trace",
        message: "no B/E or X events (nothing to show)".into(),
    };
    let r = import_reader(
        "x.json.gz",
        &gz(b"{\"traceEvents\": []}")[..],
        &Limits::default(),
        &StreamOptions::default(),
    );
    assert_eq!(r.unwrap_err(), want);
    // The same bytes in memory give the same answer.
    assert_eq!(import("x.json.gz", &gz(b"{\"traceEvents\": []}"), &Limits::default()).unwrap_err(), want);
    // Text that is no profile keeps the folded refusal (naming what it looks like) through the stream.
    let r = import_reader("x.txt.gz", &gz(b"not a profile\n")[..], &Limits::default(), &StreamOptions::default());
    assert!(matches!(r.unwrap_err(), ImportError::Folded { ref message, .. } if message.contains("looks like prose")));
}
