//! pyinstrument sessions (`pyinstrument -r session`, `.pyisession`): JSON whose `frame_records`
//! are `[[frame ids, root first], seconds]`. A frame id is `function\x00file\x00line` (the
//! function's first line) followed by optional attributes, each `\x01` plus a marker (`c` class,
//! `l` current line, `h` hidden); an id without `\x00` is a synthetic frame (`[await]`,
//! `[out-of-context]`), kept as a frame of that name.
//!
//! A function is its id without attributes, as pyinstrument's frame tree groups them: the class
//! attribute names the receiver's class (so one function can carry several) and is not part of
//! the name. A root frame whose file is `<thread>` (`name\x00<thread>\x00ident`) is the thread,
//! not a frame: its ident and name become the thread; records without one are thread `0`.
//! Weights are the records' times in seconds.

use profview_model::{Dialect, Format, SampleBuilder, Unit};
use serde::Deserialize;

use super::{err, finish_json, first_byte, has_key, head, serde_err, Funcs};
use crate::{ImportError, Imported, Limits};

const FMT: &str = "pyinstrument session";

/// `Some(true)` for a JSON object with `frame_records` and `start_call_stack` keys in its first
/// MiB.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let h = head(bytes);
    Some(first_byte(bytes) == Some(b'{') && has_key(h, "frame_records") && has_key(h, "start_call_stack"))
}

#[derive(Deserialize)]
struct Doc {
    frame_records: Vec<(Vec<String>, f64)>,
}

/// `(function, file, line)` of a frame id, attributes dropped.
fn split_id(id: &str) -> Option<(&str, &str, i64)> {
    let ident = id.split('\x01').next().unwrap_or(id);
    let mut parts = ident.split('\x00');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None, None) => Some((name, "", 0)),
        (Some(name), Some(file), Some(line), None) => Some((name, file, line.parse().ok()?)),
        _ => None,
    }
}

/// Parses a session (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
    if doc.frame_records.is_empty() {
        return Err(err(FMT, "the session has no frame records (was the program too short to sample?)"));
    }
    let mut b = SampleBuilder::new();
    let mut funcs = Funcs::new(limits);
    let mut stack = Vec::new();
    let mut no_thread = None;
    for (i, (frames, time)) in doc.frame_records.iter().enumerate() {
        if !time.is_finite() || *time < 0.0 {
            return Err(err(FMT, format!("frame record {i}: time {time} is negative or not finite")));
        }
        if frames.len() > limits.max_stack_depth {
            return Err(err(FMT, format!("frame record {i} has {} frames (limit {})", frames.len(), limits.max_stack_depth)));
        }
        let mut ids = frames.iter().map(|id| {
            split_id(id).ok_or_else(|| {
                let shown: String = id.chars().take(80).map(|c| if c.is_control() { '·' } else { c }).collect();
                err(FMT, format!("frame record {i}: frame id {shown:?} is not function\\0file\\0line"))
            })
        });
        let first = ids.next().transpose()?;
        let thread = match first {
            Some((name, "<thread>", ident)) => {
                let name = (!name.is_empty()).then(|| funcs.cap(name.to_owned()));
                b.thread(&ident.to_string(), name)
            }
            _ => *no_thread.get_or_insert_with(|| b.thread("0", None)),
        };
        stack.clear();
        if let Some((name, file, line)) = first.filter(|f| f.1 != "<thread>") {
            stack.push(funcs.intern(&mut b, name, file, line));
        }
        for id in ids {
            let (name, file, line) = id?;
            stack.push(funcs.intern(&mut b, name, file, line));
        }
        b.add_sample(&stack, thread, *time);
    }
    let mut warnings = Vec::new();
    funcs.warn(&mut warnings);
    let mut profile = b.finish(Dialect::Pyinstrument, Unit::Seconds);
    profile.format = Format::Pyinstrument;
    finish_json(FMT, profile, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_and_threads_come_from_thread_frames() {
        assert_eq!(split_id("f\x00a.py\x003\x01cWork\x01l9"), Some(("f", "a.py", 3)));
        assert_eq!(split_id("[await]"), Some(("[await]", "", 0)));
        assert_eq!(split_id("f\x00a.py"), None);
        assert_eq!(split_id("f\x00a.py\x00x"), None);
        let b = br#"{"start_call_stack": [], "frame_records": [
            [["MainThread\u0000<thread>\u000042", "main\u0000a.py\u00001", "spin\u0000a.py\u00005\u0001cWork\u0001l7"], 0.25],
            [["MainThread\u0000<thread>\u000042", "main\u0000a.py\u00001\u0001l2", "[await]"], 0.5],
            [["main\u0000a.py\u00001"], 0.125]]}"#;
        assert_eq!(sniff(b), Some(true));
        let p = parse(b, &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.unit), (Format::Pyinstrument, Unit::Seconds));
        let t: Vec<(&str, Option<&str>)> = p.threads.iter().map(|t| (t.id.as_str(), t.name.as_deref())).collect();
        assert_eq!(t, vec![("42", Some("MainThread")), ("0", None)]);
        let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["main", "spin", "[await]"]);
        assert_eq!(p.samples.as_ref().unwrap().total(), 0.875);
    }

    #[test]
    fn refuses_with_a_reason() {
        let cases = [
            (r#"{"frame_records": []}"#, "no frame records"),
            (r#"{"frame_records": [[["f\u0000a.py"], 1]]}"#, "is not function"),
            (r#"{"frame_records": [[["f\u0000a.py\u00001"], -1]]}"#, "negative"),
            (r#"{"frame_records": [["f", 1]]}"#, "wrong shape"),
        ];
        for (input, want) in cases {
            let e = parse(input.as_bytes(), &Limits::default()).unwrap_err().to_string();
            assert!(e.starts_with("pyinstrument session: ") && e.contains(want), "{input}: {e}");
        }
    }
}
