//! Chrome trace events (the Trace Event Format): `{"traceEvents": [...]}` or a bare array, which
//! may lack its closing `]` (a trace cut off while being written). Read: phases `B`/`E`
//! (begin/end; an `E` closes the innermost open frame of its thread), `X` (complete, with
//! `dur`) and `M` `thread_name` (the thread's name); every other phase is ignored. `ts` and `dur`
//! are microseconds. Events need not be sorted: per (pid, tid) they are sorted by time (ties in
//! file order, `X` ends before and `X` begins after the `B`/`E` events of the same instant, an
//! enclosing `X` before the ones it encloses), must nest, and the time between two events goes
//! to the innermost open frame: self time per stack, in microseconds.
//!
//! A frame is the event's `name` with `args.filename` and `args.line` when present (py-spy
//! writes them). A thread is its `tid` (`pid/tid` when the file has several processes).

use std::collections::HashMap;

use profview_model::{Dialect, Format, SampleBuilder, Unit};
use serde::Deserialize;
use serde_json::Value;

use super::{err, finish_json, first_byte, has_key, head, serde_err, span, Funcs, OpenStack};
use crate::{ImportError, ImportWarning, Imported, Limits};

const FMT: &str = "chrome trace";
/// The token of a frame opened by `B`.
const BEGIN: u64 = u64::MAX;

/// `Some(true)` for `{"traceEvents": ...}` or an array of objects with a `"ph"` key in its first
/// MiB.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let h = head(bytes);
    Some(match first_byte(bytes) {
        Some(b'{') => has_key(h, "traceEvents"),
        Some(b'[') => {
            let after = h.iter().position(|&b| b == b'[').map_or(&h[..0], |i| &h[i + 1..]);
            first_byte(after) == Some(b'{') && has_key(h, "ph")
        }
        _ => false,
    })
}

#[derive(Deserialize)]
struct Wrapped {
    #[serde(rename = "traceEvents")]
    trace_events: Vec<Ev>,
}

#[derive(Deserialize)]
struct Ev {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ph: Option<String>,
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    dur: Option<f64>,
    #[serde(default)]
    pid: Option<Value>,
    #[serde(default)]
    tid: Option<Value>,
    #[serde(default)]
    args: Option<Args>,
}

#[derive(Deserialize, Default)]
struct Args {
    #[serde(default)]
    filename: Option<Value>,
    #[serde(default)]
    line: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
}

fn events(bytes: &[u8]) -> Result<Vec<Ev>, ImportError> {
    if first_byte(bytes) == Some(b'{') {
        let w: Wrapped = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
        return Ok(w.trace_events);
    }
    match serde_json::from_slice::<Vec<Ev>>(bytes) {
        Ok(v) => Ok(v),
        Err(e) if e.classify() == serde_json::error::Category::Eof => {
            // The array form may end without its `]`: close it and try again.
            let mut end = bytes.len();
            while end > 0 && matches!(bytes[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
                end -= 1;
            }
            if end > 0 && bytes[end - 1] == b',' {
                end -= 1;
            }
            let mut closed = Vec::with_capacity(end + 1);
            closed.extend_from_slice(&bytes[..end]);
            closed.push(b']');
            // Cut inside an event: report the truncation, not the closed copy's error.
            serde_json::from_slice(&closed).map_err(|_| serde_err(FMT, &e))
        }
        Err(e) => Err(serde_err(FMT, &e)),
    }
}

fn id_text(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    /// Opens the frame of event `.0` (a `B`, or an `X` when `.1`).
    Open(usize, bool),
    /// An `E`.
    End,
    /// The end of the `X` event `.0`.
    EndX(usize),
}

struct Point {
    ts: f64,
    /// 0: `X` end, 1: `B`/`E`, 2: `X` begin.
    rank: u8,
    /// `X` begins: minus the end time (the enclosing one first); others 0.
    tie: f64,
    seq: usize,
    kind: Kind,
}

/// Parses a trace (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let evs = events(bytes)?;
    let pids: Vec<String> = evs.iter().filter(|e| e.pid.is_some()).map(|e| id_text(&e.pid)).take(1).collect();
    let several_pids = evs.iter().any(|e| e.pid.is_some() && pids.first().is_some_and(|p| *p != id_text(&e.pid)));
    let thread_key = |e: &Ev| {
        if several_pids {
            format!("{}/{}", id_text(&e.pid), id_text(&e.tid))
        } else {
            id_text(&e.tid)
        }
    };
    let mut names: HashMap<String, String> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut per_thread: HashMap<String, Vec<Point>> = HashMap::new();
    for (i, e) in evs.iter().enumerate() {
        let ph = e.ph.as_deref().unwrap_or("");
        if ph == "M" {
            if e.name.as_deref() == Some("thread_name") {
                if let Some(Value::String(n)) = e.args.as_ref().and_then(|a| a.name.as_ref()) {
                    names.insert(thread_key(e), n.clone());
                }
            }
            continue;
        }
        if !matches!(ph, "B" | "E" | "X") {
            continue;
        }
        let ts = e.ts.ok_or_else(|| err(FMT, format!("event {i} ({ph}) has no ts")))?;
        if !ts.is_finite() {
            return Err(err(FMT, format!("event {i} ({ph}): ts {ts} is not finite")));
        }
        let key = thread_key(e);
        let points = per_thread.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        match ph {
            "B" => points.push(Point { ts, rank: 1, tie: 0.0, seq: i, kind: Kind::Open(i, false) }),
            "E" => points.push(Point { ts, rank: 1, tie: 0.0, seq: i, kind: Kind::End }),
            _ => {
                let dur = e.dur.ok_or_else(|| err(FMT, format!("event {i} (X) has no dur")))?;
                let end = ts + dur;
                if !(dur >= 0.0 && end.is_finite()) {
                    return Err(err(FMT, format!("event {i} (X): dur {dur} is negative or not finite (an event cannot end before it begins)")));
                }
                if dur > 0.0 {
                    points.push(Point { ts, rank: 2, tie: -end, seq: i, kind: Kind::Open(i, true) });
                    points.push(Point { ts: end, rank: 0, tie: 0.0, seq: i, kind: Kind::EndX(i) });
                }
            }
        }
    }
    if per_thread.is_empty() {
        return Err(err(FMT, "no B/E or X events (nothing to show)"));
    }

    let mut b = SampleBuilder::new();
    let mut funcs = Funcs::new(limits);
    let mut warnings = Vec::new();
    let mut left_open = 0usize;
    for key in order {
        let Some(mut points) = per_thread.remove(&key) else { continue };
        let name = names.get(&key).map(|n| funcs.cap(n.clone()));
        let thread = b.thread(&funcs.cap(key.clone()), name);
        points.sort_by(|a, b| a.ts.total_cmp(&b.ts).then(a.rank.cmp(&b.rank)).then(a.tie.total_cmp(&b.tie)).then(a.seq.cmp(&b.seq)));
        let mut open = OpenStack::default();
        let mut prev: Option<f64> = None;
        let mut i = 0;
        while i < points.len() {
            let p = &points[i];
            if let Some(t) = prev {
                open.spend(&mut b, thread, span(FMT, t, p.ts, 1.0)?);
            }
            prev = Some(p.ts);
            match p.kind {
                Kind::Open(ev, is_x) => {
                    let e = &evs[ev];
                    let args = e.args.as_ref();
                    let file = args.and_then(|a| a.filename.as_ref()).and_then(Value::as_str).unwrap_or("");
                    let line = args.and_then(|a| a.line.as_ref()).and_then(Value::as_i64).unwrap_or(0);
                    let f = funcs.intern(&mut b, e.name.as_deref().unwrap_or(""), file, line);
                    open.open(&mut b, f, if is_x { ev as u64 } else { BEGIN }, limits.max_stack_depth)
                        .map_err(|n| err(FMT, format!("event {ev}: thread {key} nests deeper than {n} frames")))?;
                    i += 1;
                }
                Kind::End | Kind::EndX(_) => {
                    // Every end at this instant, in one group: their order among themselves does
                    // not matter (no time passes), only that they close exactly the open frames
                    // that are innermost.
                    let start = i;
                    while i < points.len() && points[i].ts == p.ts && matches!(points[i].kind, Kind::End | Kind::EndX(_)) {
                        i += 1;
                    }
                    close(&mut open, &points[start..i], &key)?;
                }
            }
        }
        left_open += open.nodes.len();
    }
    if left_open > 0 {
        warnings.push(ImportWarning::new(format!("{left_open} B events were never ended (their time ends at their thread's last event)")));
    }
    funcs.warn(&mut warnings);
    let mut profile = b.finish(Dialect::ChromeTrace, Unit::Microseconds);
    profile.format = Format::ChromeTrace;
    if profile.samples.as_ref().is_none_or(|s| s.samples.is_empty()) {
        return Err(err(FMT, "the events span no time (every frame begins and ends at once)"));
    }
    finish_json(FMT, profile, warnings)
}

/// Closes the frames of one instant's group of ends.
fn close(open: &mut OpenStack, group: &[Point], thread: &str) -> Result<(), ImportError> {
    let n = group.len();
    let first = group.first().map_or(0, |p| p.seq);
    if open.nodes.len() < n {
        let e = group.iter().find(|p| matches!(p.kind, Kind::End)).map_or(first, |p| p.seq);
        return Err(err(FMT, format!("event {e} (E) on thread {thread} ends a frame that was never begun (E without B)")));
    }
    let popped = open.nodes.split_off(open.nodes.len() - n);
    let mut want: Vec<u64> = group.iter().filter_map(|p| if let Kind::EndX(i) = p.kind { Some(i as u64) } else { None }).collect();
    let mut got: Vec<u64> = popped.iter().map(|&(_, t)| t).filter(|&t| t != BEGIN).collect();
    want.sort_unstable();
    got.sort_unstable();
    if want != got {
        let bad = want.iter().find(|w| !got.contains(w)).or_else(|| got.iter().find(|g| !want.contains(g))).copied().unwrap_or(first as u64);
        let e = if want.is_empty() { first as u64 } else { bad };
        return Err(err(FMT, format!("event {e} on thread {thread} ends while a frame begun inside it is still open (events do not nest)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stacks(p: &profview_model::Profile) -> Vec<(String, f64)> {
        let s = p.samples.as_ref().unwrap();
        let mut v: Vec<(String, f64)> = s
            .samples
            .iter()
            .map(|x| (s.stacks.frames(x.stack().unwrap()).iter().map(|f| p.func(*f).name.as_str()).collect::<Vec<_>>().join(";"), x.weight))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn unsorted_mixed_phases_nest_into_self_time() {
        let b = br#"{"traceEvents": [
            {"ph": "X", "name": "inner", "ts": 20, "dur": 10, "pid": 1, "tid": 2},
            {"ph": "B", "name": "main", "ts": 0, "pid": 1, "tid": 2, "args": {"filename": "a.py", "line": 3}},
            {"ph": "E", "ts": 50, "pid": 1, "tid": 2},
            {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "MainThread"}},
            {"ph": "X", "name": "outer", "ts": 10, "dur": 30, "pid": 1, "tid": 2},
            {"ph": "i", "name": "mark", "ts": 12, "pid": 1, "tid": 2},
            {"ph": "X", "name": "other", "ts": 5, "dur": 1.5, "pid": 1, "tid": 3}
        ]}"#;
        let p = parse(b, &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.unit), (Format::ChromeTrace, Unit::Microseconds));
        assert_eq!(stacks(&p), vec![("main".into(), 20.0), ("main;outer".into(), 20.0), ("main;outer;inner".into(), 10.0), ("other".into(), 1.5)]);
        assert_eq!((p.threads[0].id.as_str(), p.threads[0].name.as_deref()), ("2", Some("MainThread")));
        assert_eq!((p.functions[0].name.as_str(), p.functions[0].file.as_str(), p.functions[0].line), ("main", "a.py", 3));
    }

    #[test]
    fn a_bare_array_may_lack_its_end() {
        let b = br#"[{"ph": "B", "name": "f", "ts": 0, "pid": 1, "tid": 1}, {"ph": "E", "ts": 4, "pid": 1, "tid": 1},
            "#;
        assert_eq!(sniff(b), Some(true));
        assert_eq!(stacks(&parse(b, &Limits::default()).unwrap().profile), vec![("f".into(), 4.0)]);
        let cut = br#"[{"ph": "B", "name": "f", "ts": 0, "pid": 1, "tid": 1}, {"ph": "E", "ts""#;
        assert!(parse(cut, &Limits::default()).unwrap_err().to_string().contains("ends too early"));
    }

    #[test]
    fn refuses_with_a_reason() {
        let cases: [(&str, &str); 7] = [
            (r#"[{"ph": "E", "ts": 1, "tid": 1}]"#, "E without B"),
            (r#"[{"ph": "B", "name": "f", "ts": 5, "tid": 1}, {"ph": "E", "ts": 1, "tid": 1}]"#, "E without B"),
            (r#"[{"ph": "X", "name": "f", "ts": 5, "dur": -1, "tid": 1}]"#, "cannot end before it begins"),
            (r#"[{"ph": "X", "name": "f", "ts": 0, "dur": 10, "tid": 1}, {"ph": "X", "name": "g", "ts": 5, "dur": 10, "tid": 1}]"#, "do not nest"),
            (r#"[{"ph": "X", "name": "f", "ts": 0, "tid": 1}]"#, "no dur"),
            (r#"[{"ph": "i", "name": "f", "ts": 0, "tid": 1}]"#, "no B/E or X"),
            (r#"{"traceEvents": 3}"#, "wrong shape"),
        ];
        for (input, want) in cases {
            let e = parse(input.as_bytes(), &Limits::default()).unwrap_err().to_string();
            assert!(e.starts_with("chrome trace: ") && e.contains(want), "{input}: {e}");
        }
        let deep: String = (0..50).map(|i| format!(r#"{{"ph": "B", "name": "f", "ts": {i}, "tid": 1}},"#)).collect();
        let limits = Limits { max_stack_depth: 10, ..Limits::default() };
        assert!(parse(format!("[{deep}]").as_bytes().strip_suffix(b",]").map(|s| [s, b"]"].concat()).unwrap().as_slice(), &limits).unwrap_err().to_string().contains("deeper than 10"));
    }
}
