//! The Firefox Profiler's processed format, version 57 (`meta.preprocessedProfileVersion`), as
//! CPython 3.15's sampler writes it (`python -m profiling.sampling … --gecko`,
//! `Lib/profiling/sampling/gecko_collector.py`: `GECKO_PREPROCESSED_VERSION = 57`). Other
//! versions are refused: the tables change shape between versions.
//!
//! Per thread, struct-of-arrays tables: `samples` (`stack` indices or null, optional `weight`,
//! `weightType` `samples`/`tracing-ms`/`bytes`), `stackTable` (`frame`, `prefix`: the caller's
//! stack, which must precede it), `frameTable` (`func`) and `funcTable` (`name`, `fileName`,
//! `lineNumber`: indices into `shared.stringArray`, or null). A function is its funcTable entry
//! (CPython writes the file's base name and the line of the first sample seen in it); a frame's
//! own line is dropped. Each sample weighs its `weight` (1 when `weight` is null): unit samples,
//! `tracing-ms` as microseconds, bytes. A thread is its `tid` named by its `name`.

use profview_model::{Dialect, Format, SampleBuilder, StackId, Unit};
use serde::Deserialize;
use serde_json::Value;

use super::{err, finish_json, first_byte, has_key, head, serde_err, Funcs};
use crate::{ImportError, Imported, Limits};

const FMT: &str = "gecko (Firefox Profiler)";
/// The one `meta.preprocessedProfileVersion` read (CPython 3.15's).
pub const VERSION: u64 = 57;

/// `Some(true)` for a JSON object with `meta` and `threads` keys and a
/// `preprocessedProfileVersion`, `stackTable` or `samples` key in its first MiB (so that a raw
/// Gecko profile or another version is refused by [`parse`], naming the version).
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let h = head(bytes);
    Some(
        first_byte(bytes) == Some(b'{')
            && has_key(h, "meta")
            && has_key(h, "threads")
            && (has_key(h, "preprocessedProfileVersion") || has_key(h, "stackTable") || has_key(h, "samples")),
    )
}

#[derive(Deserialize)]
struct Head {
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "preprocessedProfileVersion", default)]
    version: Option<Value>,
}

#[derive(Deserialize)]
struct Doc {
    threads: Vec<ThreadDoc>,
    shared: Shared,
}

#[derive(Deserialize)]
struct Shared {
    #[serde(rename = "stringArray")]
    string_array: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadDoc {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tid: Option<Value>,
    samples: Samples,
    stack_table: StackTable,
    frame_table: FrameTable,
    func_table: FuncTable,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Samples {
    stack: Vec<Option<u64>>,
    #[serde(default)]
    weight: Option<Vec<f64>>,
    #[serde(default)]
    weight_type: Option<String>,
}

#[derive(Deserialize)]
struct StackTable {
    frame: Vec<u64>,
    prefix: Vec<Option<u64>>,
}

#[derive(Deserialize)]
struct FrameTable {
    func: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FuncTable {
    name: Vec<u64>,
    #[serde(default)]
    file_name: Vec<Option<u64>>,
    #[serde(default)]
    line_number: Vec<Option<i64>>,
}

/// Parses a processed profile (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let head: Head = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
    match head.meta.version.as_ref().and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(err(FMT, format!("meta.preprocessedProfileVersion {v} is not supported (this profview reads version {VERSION}, as CPython 3.15's sampler writes)")))
        }
        None => {
            return Err(err(FMT, format!("no meta.preprocessedProfileVersion: not a processed profile (this profview reads version {VERSION}, as CPython 3.15's sampler writes)")))
        }
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
    let strings = &doc.shared.string_array;
    let string = |t: usize, what: &str, i: Option<u64>| -> Result<&str, ImportError> {
        match i {
            None => Ok(""),
            Some(i) => usize::try_from(i).ok().and_then(|i| strings.get(i)).map(String::as_str).ok_or_else(|| {
                err(FMT, format!("thread {t}: {what} is string {i}, not in shared.stringArray ({} strings)", strings.len()))
            }),
        }
    };
    let weight_types: Vec<&str> = doc.threads.iter().map(|t| t.samples.weight_type.as_deref().unwrap_or("samples")).collect();
    let wt = weight_types.first().copied().unwrap_or("samples");
    if let Some(other) = weight_types.iter().find(|&&w| w != wt) {
        return Err(err(FMT, format!("threads weigh samples as {wt:?} and {other:?}, which cannot be shown together")));
    }
    let (unit, factor) = match wt {
        "samples" => (Unit::Samples, 1.0),
        "tracing-ms" => (Unit::Microseconds, 1e3),
        "bytes" => (Unit::Bytes, 1.0),
        other => return Err(err(FMT, format!("weightType {other:?} is not one of samples, tracing-ms, bytes"))),
    };
    let mut b = SampleBuilder::new();
    let mut funcs = Funcs::new(limits);
    let mut any = false;
    for (t, th) in doc.threads.iter().enumerate() {
        let id = match &th.tid {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => t.to_string(),
        };
        let thread = b.thread(&funcs.cap(id), th.name.clone().map(|n| funcs.cap(n)));
        let ft = &th.func_table;
        let nf = ft.name.len();
        if (!ft.file_name.is_empty() && ft.file_name.len() != nf) || (!ft.line_number.is_empty() && ft.line_number.len() != nf) {
            return Err(err(FMT, format!("thread {t}: funcTable columns differ in length")));
        }
        let mut fids = Vec::with_capacity(nf);
        for f in 0..nf {
            let name = string(t, "a function name", Some(ft.name[f]))?;
            let file = string(t, "a file name", ft.file_name.get(f).copied().flatten())?;
            let line = ft.line_number.get(f).copied().flatten().unwrap_or(0);
            fids.push(funcs.intern(&mut b, name, file, line));
        }
        let st = &th.stack_table;
        if st.frame.len() != st.prefix.len() {
            return Err(err(FMT, format!("thread {t}: stackTable has {} frames but {} prefixes", st.frame.len(), st.prefix.len())));
        }
        let mut nodes: Vec<(StackId, usize)> = Vec::with_capacity(st.frame.len());
        for (s, (&frame, &prefix)) in st.frame.iter().zip(&st.prefix).enumerate() {
            let func = usize::try_from(frame).ok().and_then(|fr| th.frame_table.func.get(fr)).ok_or_else(|| {
                err(FMT, format!("thread {t}: stack {s} is frame {frame}, not in the frameTable ({} frames)", th.frame_table.func.len()))
            })?;
            let fid = usize::try_from(*func).ok().and_then(|f| fids.get(f).copied()).ok_or_else(|| {
                err(FMT, format!("thread {t}: frame {frame} is function {func}, not in the funcTable ({nf} functions)"))
            })?;
            let (parent, depth) = match prefix {
                None => (None, 0),
                Some(p) => match usize::try_from(p).ok().filter(|&p| p < s) {
                    Some(p) => (Some(nodes[p].0), nodes[p].1),
                    None => return Err(err(FMT, format!("thread {t}: stack {s} has prefix {p}, which does not precede it"))),
                },
            };
            if depth >= limits.max_stack_depth {
                return Err(err(FMT, format!("thread {t}: stack {s} is deeper than {} frames", limits.max_stack_depth)));
            }
            nodes.push((b.child(parent, fid), depth + 1));
        }
        let sm = &th.samples;
        if let Some(w) = &sm.weight {
            if w.len() != sm.stack.len() {
                return Err(err(FMT, format!("thread {t}: {} samples but {} weights", sm.stack.len(), w.len())));
            }
        }
        for (i, &s) in sm.stack.iter().enumerate() {
            let w = sm.weight.as_ref().map_or(1.0, |w| w[i]) * factor;
            if !w.is_finite() || (w < 0.0 && unit != Unit::Bytes) {
                return Err(err(FMT, format!("thread {t}: sample {i} has weight {w}, negative or not finite")));
            }
            let node = match s {
                None => None,
                Some(s) => Some(usize::try_from(s).ok().and_then(|s| nodes.get(s)).map(|n| n.0).ok_or_else(|| {
                    err(FMT, format!("thread {t}: sample {i} is stack {s}, not in the stackTable ({} stacks)", nodes.len()))
                })?),
            };
            b.add_at(node, thread, w);
            any = true;
        }
    }
    if !any {
        return Err(err(FMT, "the threads hold no samples"));
    }
    let mut warnings = Vec::new();
    funcs.warn(&mut warnings);
    let mut profile = b.finish(Dialect::Gecko, unit);
    profile.format = Format::Gecko;
    finish_json(FMT, profile, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads in the shape `gecko_collector.py` writes (most of its constant columns left out:
    /// the importer does not read them).
    fn tachyon_shape(version: u64, extra: &str) -> String {
        format!(
            r#"{{"meta": {{"interval": 1.0, "version": 32, "preprocessedProfileVersion": {version}, "importedFrom": "Tachyon Sampling Profiler"}}, "libs": [],
              "threads": [
                {{"name": "Thread-11", "isMainThread": true, "pid": "7", "tid": 11,
                  "samples": {{"stack": [1, 2, 1, 0], "time": [0, 1, 2, 3], "eventDelay": [null, null, null, null], "weight": null, "weightType": "samples", "length": 4}},
                  "stackTable": {{"frame": [0, 1, 2], "category": [1, 1, 1], "subcategory": [0, 0, 0], "prefix": [null, 0, 1], "length": 3}},
                  "frameTable": {{"func": [0, 1, 2], "line": [3, 9, 20], "length": 3}},
                  "funcTable": {{"name": [1, 2, 3], "fileName": [4, 4, null], "lineNumber": [3, 8, null], "length": 3}}{extra}}},
                {{"name": "Thread-12", "isMainThread": false, "pid": "7", "tid": 12,
                  "samples": {{"stack": [0, null], "time": [0, 1], "weight": null, "weightType": "samples", "length": 2}},
                  "stackTable": {{"frame": [0], "prefix": [null], "length": 1}},
                  "frameTable": {{"func": [0], "length": 1}},
                  "funcTable": {{"name": [2], "fileName": [4], "lineNumber": [8], "length": 1}}}}],
              "pages": [], "shared": {{"stringArray": ["(root)", "<module>", "work", "<native>", "app.py"], "sources": {{"length": 0, "uuid": [], "filename": []}}}}}}"#
        )
    }

    #[test]
    fn reads_cpython_s_shape() {
        let b = tachyon_shape(VERSION, "");
        assert_eq!(crate::detect("x.txt", b.as_bytes()), Some(crate::Kind::Gecko));
        let p = parse(b.as_bytes(), &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.unit), (Format::Gecko, Unit::Samples));
        let t: Vec<(&str, Option<&str>)> = p.threads.iter().map(|t| (t.id.as_str(), t.name.as_deref())).collect();
        assert_eq!(t, vec![("11", Some("Thread-11")), ("12", Some("Thread-12"))]);
        let s = p.samples.as_ref().unwrap();
        type Row<'a> = (Vec<(&'a str, &'a str, i64)>, u32, f64);
        let got: Vec<Row> = s
            .samples
            .iter()
            .map(|x| {
                let frames = x.stack().map_or_else(Vec::new, |st| s.stacks.frames(st));
                (frames.iter().map(|f| (p.func(*f).name.as_str(), p.func(*f).file.as_str(), p.func(*f).line)).collect(), x.thread.0, x.weight)
            })
            .collect();
        let (m, w, n) = (("<module>", "app.py", 3), ("work", "app.py", 8), ("<native>", "", 0));
        assert_eq!(got, vec![(vec![m, w], 0, 2.0), (vec![m, w, n], 0, 1.0), (vec![m], 0, 1.0), (vec![w], 1, 1.0), (vec![], 1, 1.0)]);
    }

    #[test]
    fn refuses_with_a_reason() {
        let e = parse(tachyon_shape(49, "").as_bytes(), &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("preprocessedProfileVersion 49 is not supported") && e.contains("57"), "{e}");
        let raw = br#"{"meta": {"version": 27}, "threads": [{"samples": {"schema": {}, "data": []}}]}"#;
        assert_eq!(crate::detect("x.json", raw), Some(crate::Kind::Gecko));
        let e = parse(raw, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("not a processed profile"), "{e}");
        let bad = |from: &str, to: &str, want: &str| {
            let b = tachyon_shape(VERSION, "").replacen(from, to, 1);
            let e = parse(b.as_bytes(), &Limits::default()).unwrap_err().to_string();
            assert!(e.starts_with("gecko (Firefox Profiler): ") && e.contains(want), "{from} -> {to}: {e}");
        };
        bad(r#""stack": [1, 2, 1, 0]"#, r#""stack": [1, 5, 1, 0]"#, "sample 1 is stack 5");
        bad(r#""prefix": [null, 0, 1]"#, r#""prefix": [null, 2, 1]"#, "stack 1 has prefix 2, which does not precede it");
        bad(r#""frame": [0, 1, 2], "category""#, r#""frame": [0, 1, 7], "category""#, "stack 2 is frame 7");
        bad(r#""func": [0, 1, 2]"#, r#""func": [0, 1, 9]"#, "function 9");
        bad(r#""name": [1, 2, 3]"#, r#""name": [1, 2, 30]"#, "string 30");
        bad(r#""weight": null, "weightType": "samples", "length": 4"#, r#""weight": [1, 2], "weightType": "samples", "length": 4"#, "4 samples but 2 weights");
        bad(r#""weightType": "samples", "length": 2"#, r#""weightType": "bytes", "length": 2"#, "cannot be shown together");
        bad(r#""prefix": [null, 0, 1]"#, r#""prefix": [null, 0]"#, "3 frames but 2 prefixes");
        // Negative weights are memory freed (bytes), never samples or time.
        bad(r#""weight": null, "weightType": "samples", "length": 4"#, r#""weight": [1, -2, 1, 1], "weightType": "samples", "length": 4"#, "sample 1 has weight -2");
        let freed = tachyon_shape(VERSION, "")
            .replacen(r#""weight": null, "weightType": "samples", "length": 4"#, r#""weight": [8, -2, 1, 1], "weightType": "bytes", "length": 4"#, 1)
            .replacen(r#""weight": null, "weightType": "samples", "length": 2"#, r#""weight": [4, 4], "weightType": "bytes", "length": 2"#, 1);
        let p = parse(freed.as_bytes(), &Limits::default()).unwrap().profile;
        assert_eq!(p.unit, Unit::Bytes);
        assert_eq!(p.samples.unwrap().total(), 8.0 - 2.0 + 1.0 + 1.0 + 4.0 + 4.0);
        let limits = Limits { max_stack_depth: 2, ..Limits::default() };
        let e = parse(tachyon_shape(VERSION, "").as_bytes(), &limits).unwrap_err().to_string();
        assert!(e.contains("deeper than 2"), "{e}");
    }
}
