//! Functions, not lines (issue 14, item 3): a py-spy or austin profile's functions are grouped by
//! (name, file); each function's numbers are those of its lines; `by_line()` gives the lines back
//! with the numbers of the fixtures' truth files.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::{BTreeSet, HashMap};

use profview_import::{import, Limits};
use profview_index::{FunctionQuery, ProfileIndex, Selection};
use profview_model::FuncId;
use serde_json::Value;

fn fixture(rel: &str) -> (Vec<u8>, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/corpus/folded/");
    let bytes = std::fs::read(format!("{dir}{rel}")).unwrap();
    let truth = serde_json::from_slice(&std::fs::read(format!("{dir}{rel}.truth.json")).unwrap()).unwrap();
    (bytes, truth)
}

/// py-spy `name (file:line)` / `name (file)`; thread and process pseudo-frames are `None`.
fn pyspy_frame(f: &str) -> Option<(String, String, i64)> {
    if f.starts_with("thread (") || f.starts_with("process ") {
        return None;
    }
    let body = f.strip_suffix(')')?;
    let (name, inner) = body.rsplit_once(" (")?;
    match inner.rsplit_once(':') {
        Some((file, line)) if line.parse::<i64>().is_ok() => Some((name.into(), file.into(), line.parse().unwrap())),
        _ => Some((name.into(), inner.into(), 0)),
    }
}

/// austin `file:func:line` (anything else, `:INVALID:`, is all name); `P<pid>` and `T<tid>`
/// are `None`.
fn austin_frame(f: &str) -> Option<(String, String, i64)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b':');
    if f.strip_prefix('P').is_some_and(digits) || f.strip_prefix('T').is_some_and(digits) {
        return None;
    }
    let parsed = f.rsplit_once(':').and_then(|(head, line)| {
        let line: i64 = line.parse().ok()?;
        let (file, name) = head.rsplit_once(':')?;
        (!file.is_empty()).then(|| (name.to_owned(), file.to_owned(), line))
    });
    Some(parsed.unwrap_or_else(|| (f.to_owned(), String::new(), 0)))
}

/// Every (name, file, line) of the raw text, parsed here and not by the importer.
fn frames_of_text(text: &str, frame: fn(&str) -> Option<(String, String, i64)>) -> BTreeSet<(String, String, i64)> {
    let mut out = BTreeSet::new();
    for l in text.lines() {
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((stack, _count)) = l.rsplit_once(' ') else { continue };
        out.extend(stack.split(';').filter_map(frame));
    }
    out
}

fn check(rel: &str, frame: fn(&str) -> Option<(String, String, i64)>) {
    let (bytes, truth) = fixture(rel);
    let profile = import(rel, &bytes, &Limits::default()).unwrap().profile;
    assert!(profile.lines_are_current, "{rel}: the importer marks current lines");
    let idx = ProfileIndex::build(profile);
    assert!(idx.groups_lines());
    let line_idx = idx.by_line();
    assert!(!line_idx.groups_lines());
    let text = String::from_utf8(bytes).unwrap();
    let frames = frames_of_text(&text, frame);
    let pairs: BTreeSet<(String, String)> = frames.iter().map(|(n, f, _)| (n.clone(), f.clone())).collect();
    let sel = Selection::default();

    // One row per (name, file); one per (name, file, line) by line.
    let (rows, _) = idx.query_functions(&FunctionQuery { limit: 0, ..Default::default() });
    let extra: Vec<_> = idx.profile().functions.iter().filter(|f| !pairs.contains(&(f.name.clone(), f.file.clone()))).collect();
    assert_eq!(rows, pairs.len(), "{rel}: grouped rows ({extra:?} not in the text)");
    let (line_rows, _) = line_idx.query_functions(&FunctionQuery { limit: 0, ..Default::default() });
    assert_eq!(line_rows, frames.len(), "{rel}: line-level rows");
    let truth_frames: HashMap<String, (f64, f64)> = truth["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), (r[1].as_f64().unwrap(), r[2].as_f64().unwrap())))
        .collect();
    let counted = truth_frames.keys().filter(|k| frame(k).is_some()).count();
    assert_eq!(line_rows, counted, "{rel}: line-level rows = the truth's distinct frames");

    // by line: every frame's self and total are the truth's.
    let lv = line_idx.default_view();
    for (raw, (want_self, want_total)) in &truth_frames {
        let Some((name, file, line)) = frame(raw) else { continue };
        let i = line_idx.profile().functions.iter().position(|f| f.name == name && f.file == file && f.line == line);
        let s = line_idx.stats_in(&lv, FuncId(i.unwrap() as u32)).unwrap();
        assert_eq!(s.self_weight, Some(*want_self), "{rel}: self of {raw}");
        assert_eq!(s.total_weight, Some(*want_total), "{rel}: total of {raw}");
    }

    // Grouped: self = Σ lines' self, max line total ≤ total ≤ Σ lines' totals; lowest line.
    let v = idx.default_view();
    let mut several = 0;
    for (i, f) in idx.profile().functions.iter().enumerate() {
        let id = FuncId(i as u32);
        let s = idx.stats_in(&v, id).unwrap();
        let lines = idx.function_lines(&sel, id).unwrap();
        assert!(!lines.is_empty(), "{rel}: {} has no lines", f.name);
        several += usize::from(lines.len() > 1);
        let self_sum: f64 = lines.iter().map(|l| l.self_value).sum();
        assert_eq!(s.self_weight, Some(self_sum), "{rel}: self of {}", f.name);
        let total = s.total_weight.unwrap();
        let total_sum: f64 = lines.iter().map(|l| l.total).sum();
        for l in &lines {
            assert!(total >= l.total, "{rel}: {} total {total} < line {} total {}", f.name, l.line, l.total);
        }
        assert!(total <= total_sum, "{rel}: {} total {total} > Σ lines {total_sum}", f.name);
        let min_line = frames.iter().filter(|(n, fl, l)| *n == f.name && *fl == f.file && *l > 0).map(|x| x.2).min();
        assert_eq!(f.line, min_line.unwrap_or(0), "{rel}: line of {}", f.name);
        assert!(lines.windows(2).all(|w| w[0].line < w[1].line), "{rel}: lines sorted");
    }
    assert!(several > 0, "{rel}: some function has several lines");

    // The grand total is unchanged.
    let sum = |p: &profview_model::Profile| p.samples.as_ref().unwrap().total();
    assert_eq!(sum(idx.profile()), sum(line_idx.profile()));
    assert_eq!(sum(idx.profile()), truth["total_samples_or_metric"].as_f64().unwrap());
}

#[test]
fn pyspy_functions_are_the_sum_of_their_lines() {
    check("pyspy_cpu_raw_default.txt", pyspy_frame);
}

#[test]
fn austin_functions_are_the_sum_of_their_lines() {
    check("austin_cpu_sleepless.austin", austin_frame);
}

#[test]
fn pyspy_threads_keep_their_numbers_when_grouped() {
    let (bytes, _) = fixture("pyspy_cpu_raw_default.txt");
    let idx = ProfileIndex::build(import("a.txt", &bytes, &Limits::default()).unwrap().profile);
    let line_idx = idx.by_line();
    assert_eq!(idx.threads(), line_idx.threads());
}

#[test]
fn a_grouped_function_takes_its_lowest_known_line() {
    // f is seen at lines 7 and 5, then with no line (`f (a.py)`): one function f at line 5; h
    // first without a line, then at 9: line 9; g, only without a line, stays at 0.
    let text = b"main (a.py:1);f (a.py:7) 1\nmain (a.py:1);f (a.py:5) 1\nmain (a.py:1);f (a.py) 1\nmain (a.py:1);g (a.py) 1\nmain (a.py:1);h (a.py) 1\nmain (a.py:1);h (a.py:9) 1\n";
    let profile = import("x.txt", text, &Limits::default()).unwrap().profile;
    assert!(profile.lines_are_current);
    let idx = ProfileIndex::build(profile);
    let mut f: Vec<(String, i64)> = idx.profile().functions.iter().map(|f| (f.name.clone(), f.line)).collect();
    f.sort();
    assert_eq!(f, [("f".to_owned(), 5), ("g".to_owned(), 0), ("h".to_owned(), 9), ("main".to_owned(), 1)]);
}
