//! Details of detection and of the formats importers (callgrind, pprof, the JSON ones) that the
//! corpus tests left unchecked, found by mutation testing (`docs/testing.md`). Every expected
//! value is worked out by hand from the small input built here.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_import::{callgrind, detect, folded, speedscope, FoldedParser, Kind, Limits};
use profview_model::{Dialect, Profile};

/// Content no sniffer decides: `N` is a marshal code (pstats undecided), the first data line has
/// no count and the second has one (folded undecided), `N` = field 9 with wire type 6 (not
/// pprof), the first line is no callgrind header, and the bytes are not UTF-8.
const UNDECIDED: &[u8] = b"N\xff abc\nmain 3\n";

// ---- detection by name -----------------------------------------------------------------------

#[test]
fn perf_script_names_decide_undecided_content() {
    // Only a comment: no sniffer decides (pstats rules it out), so the name does.
    let comment = b"# just a comment\n";
    assert_eq!(profview_import::perf::sniff(comment), None);
    assert_eq!(folded::sniff(comment), None);
    assert_eq!(detect("x.perf", comment), Some(Kind::PerfScript));
    assert_eq!(detect("x.perf-script", comment), Some(Kind::PerfScript));
    assert_eq!(detect("x.perf-script.gz", comment), Some(Kind::PerfScript));
    // Without such a name, text goes to the folded importer.
    assert_eq!(detect("x.log", comment), Some(Kind::Folded));
}

#[test]
fn a_pprof_name_does_not_override_content_that_is_not_protobuf() {
    assert_eq!(profview_import::pprof::sniff(UNDECIDED), Some(false));
    // Not pprof, whatever the name: the last resort (binary → the pstats importer) decides.
    assert_eq!(detect("x.pb", UNDECIDED), Some(Kind::Pstats));
    assert_eq!(detect("x.pb.gz", UNDECIDED), Some(Kind::Pstats));
}

#[test]
fn binary_that_is_not_folded_goes_to_the_pstats_importer() {
    // A NUL rules folded out; `N` leaves pstats undecided; no name helps.
    let bytes = b"N\0\x01\x02";
    assert_eq!(folded::sniff(bytes), Some(false));
    assert_eq!(profview_import::pstats::sniff(bytes), None);
    assert_eq!(detect("x.bin", bytes), Some(Kind::Pstats));
}

// ---- names cut at the length limit -----------------------------------------------------------

#[test]
fn a_name_is_cut_at_a_character_boundary_at_or_below_the_limit() {
    let lim = Limits { max_name_len: 2, ..Limits::default() };
    // `é` is two bytes (c3 a9): a cut at byte 2 would split it, so the name keeps only `a`.
    let i = callgrind::parse("events: Ticks\nfl=a.py\nfn=a\u{e9}b\n1 5\n".as_bytes(), &lim).unwrap();
    assert_eq!(i.profile.functions[0].name, "a");
    // The folded importer cuts at a boundary too.
    let p = folded::parse("a\u{e9}b;x 1\n".as_bytes(), &lim).unwrap().profile;
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.iter().all(|n| n.len() <= 2), "{names:?}");
}

// ---- folded parser: dialects and join --------------------------------------------------------

fn parsed(p: FoldedParser) -> Profile {
    p.finish().unwrap().profile
}

#[test]
fn a_parser_for_py_spy_splits_py_spy_frames() {
    let mut p = FoldedParser::with_dialect(Limits::default(), Dialect::PySpy);
    p.feed(b"main (app.py:3);work (app.py:7) 2\n");
    let prof = parsed(p);
    let f: Vec<(&str, &str, i64)> = prof.functions.iter().map(|f| (f.name.as_str(), f.file.as_str(), f.line)).collect();
    assert_eq!(f, [("main", "app.py", 3), ("work", "app.py", 7)]);
    assert_eq!(prof.dialect, Dialect::PySpy);
}

#[test]
fn a_byte_order_mark_is_stripped_only_at_the_start_of_the_input() {
    // The first piece had no lines; the joined piece had one; the next input is not the start.
    let mut first = FoldedParser::new(Limits::default());
    let mut later = first.fork();
    later.feed(b"a 1\n");
    first.join(later);
    first.feed("\u{feff}b 2\n".as_bytes());
    let prof = parsed(first);
    let names: Vec<&str> = prof.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a", "\u{feff}b"]);
    // At the start it is stripped.
    let mut p = FoldedParser::new(Limits::default());
    p.feed("\u{feff}b 2\n".as_bytes());
    assert_eq!(parsed(p).functions[0].name, "b");
}

// ---- callgrind -------------------------------------------------------------------------------

fn cg(text: &str) -> profview_import::Imported {
    callgrind::parse(text.as_bytes(), &Limits::default()).unwrap()
}

fn warnings(i: &profview_import::Imported) -> Vec<String> {
    i.warnings.iter().map(|w| w.message.clone()).collect()
}

/// (name, line, ncalls, primcalls, tottime, cumtime) per function, in function order.
fn rows(p: &Profile) -> Vec<(String, i64, u64, u64, f64, f64)> {
    let ps = p.pstats.as_ref().unwrap();
    p.functions
        .iter()
        .zip(&ps.stats)
        .map(|(f, s)| {
            let s = s.as_ref().unwrap();
            (f.name.clone(), f.line, s.ncalls, s.primcalls, s.tottime, s.cumtime)
        })
        .collect()
}

#[test]
fn callgrind_sniffing_looks_at_the_first_64_data_lines_only() {
    let near = format!("version: 1\n{}events: Ticks\n", "x\n".repeat(62));
    assert_eq!(callgrind::sniff(near.as_bytes()), Some(true)); // `events:` is data line 64
    let far = format!("version: 1\n{}events: Ticks\n", "x\n".repeat(63));
    assert_eq!(callgrind::sniff(far.as_bytes()), None); // data line 65: not looked at
}

#[test]
fn callgrind_counts_names_cut_at_the_limit_plain_and_compressed() {
    let text = "events: Ticks\nfl=a.py\nfn=abcdefghijklmnop\n1 5\nfn=(1) qrstuvwxyz0123\n2 7\n";
    let lim = Limits { max_name_len: 4, ..Limits::default() };
    let i = callgrind::parse(text.as_bytes(), &lim).unwrap();
    let names: Vec<&str> = i.profile.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["abcd", "qrst"]);
    assert!(warnings(&i).contains(&"2 name(s) were truncated to the name length limit".to_owned()), "{:?}", warnings(&i));
    // Under the limit: no such warning.
    let i = cg(text);
    assert!(!warnings(&i).iter().any(|w| w.contains("truncated")), "{:?}", warnings(&i));
}

#[test]
fn callgrind_positions_instr_line_reads_the_line_from_the_second_column() {
    // Own cost 100 at line 5 (after the instruction address 0x10), a call to g at line 6 costing 30.
    let text = "positions: instr line\nevents: Ticks\nfl=a.py\nfn=f\n0x10 5 100\ncfn=g\ncalls=1 0x20 9\n0x14 6 30\nfn=g\n0x20 9 30\n";
    let i = cg(text);
    let r = rows(&i.profile);
    let f = r.iter().find(|r| r.0 == "f").unwrap();
    let g = r.iter().find(|r| r.0 == "g").unwrap();
    assert_eq!(f.1, 5);
    assert_eq!(g.1, 9);
    // Ticks are whole units of the cost: f's own 100, its cumulative 130; g's own and cumulative 30.
    assert_eq!((f.4 / g.4, f.5 / g.4), (100.0 / 30.0, 130.0 / 30.0));
    assert_eq!(g.4, g.5);
    // An unknown column is refused, naming the line.
    let e = callgrind::parse(b"positions: line column\nfn=f\n1 1\n", &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("positions: line column"), "{e}");
}

#[test]
fn callgrind_names_the_first_line_of_ignored_keys() {
    let text = "events: Ticks\nfl=a.py\nfn=f\nzz=1\n1 5\nyy=2\n";
    assert!(
        warnings(&cg(text)).contains(&"2 line(s) with an unknown `key=` were ignored (first on line 4)".to_owned()),
        "{:?}",
        warnings(&cg(text))
    );
}

// ---- the JSON importers ----------------------------------------------------------------------

#[test]
fn json_importers_count_the_names_they_cut() {
    // Two frames whose names pass 4 bytes (one of them twice in the samples), one that does not.
    let text = format!(
        r#"{{"$schema": "{}", "shared": {{"frames": [{{"name": "alpha"}}, {{"name": "bet"}}, {{"name": "gamma", "file": "g.py"}}]}}, "profiles": [{{"type": "sampled", "name": "t", "unit": "none", "startValue": 0, "endValue": 3, "samples": [[0, 1], [0, 2], [1]], "weights": [1, 1, 1]}}]}}"#,
        speedscope::SCHEMA
    );
    let lim = Limits { max_name_len: 4, ..Limits::default() };
    let i = speedscope::parse(text.as_bytes(), &lim).unwrap();
    let mut names: Vec<&str> = i.profile.functions.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alph", "bet", "gamm"]);
    assert!(
        warnings(&i).contains(&"2 function names or files longer than 4 bytes were truncated".to_owned()),
        "{:?}",
        warnings(&i)
    );
}

// ---- merging pstats-shaped profiles ----------------------------------------------------------

#[test]
fn merged_callgrind_files_add_each_functions_times() {
    // a: f own 5 and a call to g of 3 (f's cumulative 8); g own 3. b: f own 1, no calls.
    let a = b"events: Ticks\nfl=a.py\nfn=f\n1 5\ncfn=g\ncalls=1 1\n1 3\nfn=g\n1 3\n";
    let b = b"events: Ticks\nfl=a.py\nfn=f\n1 1\n";
    let one = rows(&cg(std::str::from_utf8(a).unwrap()).profile);
    let unit = one.iter().find(|r| r.0 == "g").unwrap().4 / 3.0; // seconds per tick
    let m = profview_import::import_many(&[("a.callgrind", &a[..]), ("b.callgrind", &b[..])], &Limits::default()).unwrap();
    let r = rows(&m.profile);
    let f = r.iter().find(|r| r.0 == "f").unwrap();
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
    assert!(close(f.4, 6.0 * unit) && close(f.5, 9.0 * unit), "{f:?}, unit {unit}");
    let g = r.iter().find(|r| r.0 == "g").unwrap();
    assert!(close(g.4, 3.0 * unit) && close(g.5, 3.0 * unit), "{g:?}");
}

// ---- pprof -----------------------------------------------------------------------------------

#[test]
fn pprof_sniffing_checks_the_wire_type_of_comments() {
    // string_table [""] (field 6, length 0), then field 13 (comment: int64 indices).
    let base = [0x32u8, 0x00];
    let with = |tail: &[u8]| [&base[..], tail].concat();
    // As a varint (wire 0) or packed (wire 2): a profile.
    assert_eq!(profview_import::pprof::sniff(&with(&[13 << 3, 0x01])), Some(true));
    assert_eq!(profview_import::pprof::sniff(&with(&[13 << 3 | 2, 0x01, 0x01])), Some(true));
    // As a fixed64 (wire 1) or fixed32 (wire 5): not a profile.
    assert_eq!(profview_import::pprof::sniff(&with(&[13 << 3 | 1, 1, 2, 3, 4, 5, 6, 7, 8])), None);
    assert_eq!(profview_import::pprof::sniff(&with(&[13 << 3 | 5, 1, 2, 3, 4])), None);
}

/// A pprof profile of one function `f` (a.py:3) with one sample of `value` in the unit `unit`.
fn pprof_of(unit: &str, value: i64) -> Vec<u8> {
    use profview_import::pprof_proto as pb;
    use prost::Message;
    let p = pb::Profile {
        sample_type: vec![pb::ValueType { r#type: 1, unit: 2 }],
        sample: vec![pb::Sample { location_id: vec![1], value: vec![value], ..Default::default() }],
        location: vec![pb::Location { id: 1, line: vec![pb::Line { function_id: 1, line: 3, ..Default::default() }], ..Default::default() }],
        function: vec![pb::Function { id: 1, name: 3, filename: 4, start_line: 3, ..Default::default() }],
        string_table: ["", "cpu", unit, "f", "a.py"].map(String::from).to_vec(),
        ..Default::default()
    };
    p.encode_to_vec()
}

#[test]
fn pprof_units_are_read_by_their_names() {
    use profview_model::Unit;
    for (unit, want_unit, want) in [
        ("seconds", Unit::Seconds, 7.0),
        ("s", Unit::Seconds, 7.0),
        ("milliseconds", Unit::Seconds, 0.007),
        ("nanoseconds", Unit::Seconds, 7e-9),
        ("microseconds", Unit::Microseconds, 7.0),
        ("bytes", Unit::Bytes, 7.0),
        ("count", Unit::Samples, 7.0),
    ] {
        let p = profview_import::pprof::parse(&pprof_of(unit, 7), &Limits::default()).unwrap().profile;
        assert_eq!(p.unit, want_unit, "{unit}");
        let total = p.samples.as_ref().unwrap().total();
        assert!((total - want).abs() <= 1e-12 * want, "{unit}: {total}");
    }
}

#[test]
fn pprof_sniffing_checks_wire_types_of_known_fields() {
    let base = [0x32u8, 0x00]; // string_table [""]
    // Field 7 (time_nanos) is an int64: as a varint a profile, length-delimited not.
    assert_eq!(profview_import::pprof::sniff(&[&base[..], &[7 << 3, 5]].concat()), Some(true));
    assert_eq!(profview_import::pprof::sniff(&[&base[..], &[7 << 3 | 2, 1, 0]].concat()), None);
}

#[test]
fn pprof_counts_the_names_it_cuts() {
    // `f` fits in 4 bytes, `a.py` too: nothing cut. With a 2-byte limit the file name is cut.
    let i = profview_import::pprof::parse(&pprof_of("count", 1), &Limits { max_name_len: 4, ..Limits::default() }).unwrap();
    assert!(!warnings(&i).iter().any(|w| w.contains("truncated")), "{:?}", warnings(&i));
    let i = profview_import::pprof::parse(&pprof_of("count", 1), &Limits { max_name_len: 2, ..Limits::default() }).unwrap();
    assert!(warnings(&i).contains(&"1 name(s) longer than 2 bytes were truncated".to_owned()), "{:?}", warnings(&i));
    assert_eq!(i.profile.functions[0].file, "a.");
}

#[test]
fn folded_counts_every_empty_frame_it_drops() {
    // Line 1 has one empty frame (`;;`), line 2 two (`;;;`, after a prefix shared with line 1):
    // 3 dropped; both lines are the stack main → work.
    let i = folded::parse(b"main;;work 2\nmain;;;work 1\n", &Limits::default()).unwrap();
    assert!(
        warnings(&i).contains(&"3 empty frame(s) (`;;`, leading or trailing `;`) were dropped (first on line 1)".to_owned()),
        "{:?}",
        warnings(&i)
    );
    let names: Vec<&str> = i.profile.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["main", "work"]);
    assert_eq!(i.profile.samples.as_ref().unwrap().samples.len(), 1);
    assert_eq!(i.profile.samples.unwrap().total(), 3.0);
}

#[test]
fn frames_written_differently_for_one_function_are_one_function() {
    // `f\xff` and `f\xfe` are two raw frames that both decode (lossily) to the one name `f\u{fffd}`.
    let i = folded::parse(b"main;f\xff 1\nmain;f\xfe 2\n", &Limits::default()).unwrap();
    let names: Vec<&str> = i.profile.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["main", "f\u{fffd}"], "{:?}", i.profile.functions);
    assert_eq!(i.profile.samples.as_ref().unwrap().samples.len(), 1);
}

#[test]
fn speedscope_sniffing_without_the_schema_wants_all_three_keys() {
    assert_eq!(speedscope::sniff(br#"{"shared": {"frames": []}, "profiles": []}"#), Some(true));
    assert_eq!(speedscope::sniff(br#"{"shared": {"frames": []}}"#), Some(false));
    assert_eq!(speedscope::sniff(br#"{"shared": {}, "profiles": []}"#), Some(false));
}

#[test]
fn chrome_events_that_do_not_nest_name_the_event_that_ends_over_an_open_one() {
    // a (event 0) runs 0-10, b (event 1) 5-15 on the same thread: a ends while b is still open.
    let text = br#"[{"ph": "X", "ts": 0, "dur": 10, "pid": 1, "tid": 1, "name": "a"}, {"ph": "X", "ts": 5, "dur": 10, "pid": 1, "tid": 1, "name": "b"}]"#;
    let e = profview_import::chrome::parse(text, &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("event 0 on thread 1 ends while a frame begun inside it is still open"), "{e}");
}

#[test]
fn only_frames_with_lines_make_a_profile_line_level() {
    // py-spy with line numbers: the current line of each frame; with --nolineno: none.
    let with = folded::parse(b"main (a.py:1);f (a.py:3) 1\n", &Limits::default()).unwrap().profile;
    assert_eq!(with.dialect, Dialect::PySpy);
    assert!(with.lines_are_current);
    let without = folded::parse(b"main (a.py);f (a.py) 1\n", &Limits::default()).unwrap().profile;
    assert_eq!(without.dialect, Dialect::PySpy);
    assert!(!without.lines_are_current, "{:?}", without.functions);
    // Gregg frames carry no line.
    assert!(!folded::parse(b"main;f 1\n", &Limits::default()).unwrap().profile.lines_are_current);
}
