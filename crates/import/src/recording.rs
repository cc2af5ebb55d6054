//! profview recordings (`docs/recording-format.md`): what the `profview` Python package writes.
//! One JSON document holding the sampler's aggregated stacks per thread (weighted by real time,
//! with a recorded idle flag), and optionally the exact numbers of a cProfile run over the same
//! program. A hybrid recording becomes a [`Profile`] with both [`SampleData`] (trees are real
//! paths) and [`PstatsData`] (exact calls and times per function).
//!
//! [`SampleData`]: profview_model::SampleData

use std::collections::HashSet;

use profview_model::{
    CallEdge, Dialect, Format, FuncId, Profile, PstatsData, PstatsStats, SampleBuilder, Unit,
};
use serde::Deserialize;

use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

/// The value of the leading `"format"` key.
pub const FORMAT_TAG: &str = "profview-recording";
/// The one version this importer reads.
pub const VERSION: u64 = 1;
/// Name of the synthetic leaf frame under a stack recorded as idle.
pub const IDLE_FRAME: &str = "<idle>";
/// Name of the synthetic frame that marks a stack cut at the recorder's depth cap.
pub const TRUNCATED_FRAME: &str = "<truncated>";
/// Deepest stack accepted.
pub const MAX_FRAMES: usize = 4096;

/// `Some(true)` when the input starts (after whitespace) with `{"format": "profview-recording"`.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let head = &bytes[..bytes.len().min(256)];
    let compact: Vec<u8> = head.iter().copied().filter(|b| !b" \t\r\n".contains(b)).collect();
    Some(compact.starts_with(br#"{"format":"profview-recording""#))
}

#[derive(Deserialize)]
struct Doc {
    format: String,
    version: serde_json::Value,
    #[serde(default)]
    functions: Vec<(String, i64, String)>,
    #[serde(default)]
    threads: Vec<(u64, Option<u64>, Option<String>)>,
    #[serde(default)]
    stacks: Vec<StackEntry>,
    #[serde(default)]
    cprofile: Option<CProfile>,
    #[serde(default)]
    meta: Meta,
}

/// The few `meta` keys the importer reports on (as warnings); the rest is for humans.
#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    dropped_stacks: Option<u64>,
    #[serde(default)]
    dropped_samples: Option<u64>,
    #[serde(default)]
    dropped_weight: Option<f64>,
    #[serde(default)]
    truncated_samples: Option<u64>,
    #[serde(default)]
    max_depth: Option<u64>,
}

/// `[thread, frames, leaf_line, idle, truncated, count, wall, cpu]`.
#[derive(Deserialize)]
struct StackEntry(u32, Vec<u32>, i64, u8, u8, u64, f64, Option<f64>);

#[derive(Deserialize)]
struct CProfile {
    stats: Vec<(u32, u64, u64, f64, f64)>,
    #[serde(default)]
    edges: Vec<(u32, u32, u64, u64, f64, f64)>,
}

fn bad(message: impl Into<String>) -> ImportError {
    ImportError::Recording(message.into())
}

fn check_time(what: &str, i: usize, v: f64) -> Result<f64, ImportError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(bad(format!("{what} {i}: time {v} is negative or not finite")))
    }
}

/// Parses a recording (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if sniff(bytes) != Some(true) {
        return Err(bad(format!("not a profview recording (expected a JSON object starting with {{\"format\": \"{FORMAT_TAG}\"}})")));
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| bad(format!("bad JSON: {e}")))?;
    if doc.format != FORMAT_TAG {
        return Err(bad(format!("format is {:?}, expected {FORMAT_TAG:?}", doc.format)));
    }
    if doc.version.as_u64() != Some(VERSION) {
        return Err(bad(format!("unsupported recording version {} (this profview reads version {VERSION})", doc.version)));
    }
    let mut warnings = Vec::new();
    let m = &doc.meta;
    if let (Some(n), Some(k)) = (m.dropped_samples.filter(|&n| n > 0), m.dropped_stacks) {
        let secs = m.dropped_weight.filter(|w| w.is_finite()).unwrap_or(0.0);
        warnings.push(ImportWarning::new(format!(
            "the recorder's cap on distinct stacks was reached: {n} samples ({secs:.3} s) of {k} further stacks are not in this profile"
        )));
    }
    if let Some(n) = m.truncated_samples.filter(|&n| n > 0) {
        let depth = m.max_depth.map_or_else(|| "the".to_owned(), |d| d.to_string());
        warnings.push(ImportWarning::new(format!("{n} samples were deeper than {depth} frames: their stacks end in {TRUNCATED_FRAME}")));
    }
    let mut b = SampleBuilder::new();
    let mut truncated_names = 0usize;
    let fids: Vec<FuncId> = doc
        .functions
        .into_iter()
        .map(|(mut file, line, mut name)| {
            if truncate_name(&mut name, limits.max_name_len) | truncate_name(&mut file, limits.max_name_len) {
                truncated_names += 1;
            }
            b.function(&name, &file, line)
        })
        .collect();
    if truncated_names > 0 {
        warnings.push(ImportWarning::new(format!("{truncated_names} function names or files longer than {} bytes were truncated", limits.max_name_len)));
    }
    let func = |what: &str, i: usize, f: u32| -> Result<FuncId, ImportError> {
        fids.get(f as usize).copied().ok_or_else(|| bad(format!("{what} {i}: function {f} is not in the function table ({} functions)", fids.len())))
    };

    let mut seen_ids = HashSet::new();
    let mut tids = Vec::with_capacity(doc.threads.len());
    for (ident, native, name) in doc.threads {
        let mut id = native.map_or_else(|| ident.to_string(), |n| n.to_string());
        if !seen_ids.insert(id.clone()) {
            id = format!("{id}/{ident}");
            seen_ids.insert(id.clone());
        }
        let name = name.map(|mut n| {
            truncate_name(&mut n, limits.max_name_len);
            n
        });
        tids.push(b.thread(&id, name));
    }

    let has_stacks = !doc.stacks.is_empty();
    let mut frames: Vec<FuncId> = Vec::new();
    let (mut idle_fn, mut trunc_fn) = (None, None);
    for (i, StackEntry(thread, stack, _line, idle, truncated, _count, wall, cpu)) in doc.stacks.into_iter().enumerate() {
        let t = *tids.get(thread as usize).ok_or_else(|| bad(format!("stack {i}: thread {thread} is not in the thread table ({} threads)", tids.len())))?;
        if stack.is_empty() {
            return Err(bad(format!("stack {i} has no frames")));
        }
        if stack.len() > MAX_FRAMES {
            return Err(bad(format!("stack {i} has {} frames (limit {MAX_FRAMES})", stack.len())));
        }
        if idle > 1 || truncated > 1 {
            return Err(bad(format!("stack {i}: idle and truncated must be 0 or 1")));
        }
        let wall = check_time("stack", i, wall)?;
        if let Some(c) = cpu {
            check_time("stack", i, c)?;
        }
        frames.clear();
        for &f in &stack {
            frames.push(func("stack", i, f)?);
        }
        if truncated == 1 {
            frames.push(*trunc_fn.get_or_insert_with(|| b.function(TRUNCATED_FRAME, "", 0)));
        }
        if idle == 1 {
            frames.push(*idle_fn.get_or_insert_with(|| b.function(IDLE_FRAME, "", 0)));
        }
        b.add_sample(&frames, t, wall);
    }

    let mut profile = b.finish(Dialect::Profview, Unit::Seconds);
    profile.format = Format::Recording;
    if !has_stacks {
        profile.samples = None;
        profile.threads.clear();
    }
    if let Some(cp) = doc.cprofile {
        profile.pstats = Some(pstats_part(&profile, cp, &fids)?);
    }
    if profile.samples.is_none() && profile.pstats.is_none() {
        return Err(bad("the recording holds no samples and no cProfile data (was the program too short to sample?)"));
    }
    finish(profile, warnings)
}

fn pstats_part(profile: &Profile, cp: CProfile, fids: &[FuncId]) -> Result<PstatsData, ImportError> {
    let func = |what: &str, i: usize, f: u32| -> Result<FuncId, ImportError> {
        fids.get(f as usize).copied().ok_or_else(|| bad(format!("cprofile {what} {i}: function {f} is not in the function table ({} functions)", fids.len())))
    };
    let mut out = PstatsData { stats: vec![None; profile.functions.len()], ..Default::default() };
    // Position of each callee in `stats` order, to keep the edges grouped by callee in that order.
    let mut order = vec![u32::MAX; profile.functions.len()];
    for (i, &(f, cc, nc, tt, ct)) in cp.stats.iter().enumerate() {
        let id = func("stats", i, f)?;
        if out.stats[id.idx()].is_some() {
            return Err(bad(format!("cprofile stats {i}: function {f} appears twice")));
        }
        let tottime = check_time("cprofile stats", i, tt)?;
        let cumtime = check_time("cprofile stats", i, ct)?;
        out.stats[id.idx()] = Some(PstatsStats { primcalls: cc, ncalls: nc, tottime, cumtime });
        order[id.idx()] = i as u32;
        out.total_calls = out.total_calls.checked_add(nc).ok_or_else(|| bad("cprofile: call count overflows"))?;
        out.prim_calls = out.prim_calls.checked_add(cc).ok_or_else(|| bad("cprofile: call count overflows"))?;
        out.total_time += tottime;
    }
    let mut edges = Vec::with_capacity(cp.edges.len());
    for (i, &(caller, callee, cc, nc, tt, ct)) in cp.edges.iter().enumerate() {
        let (caller, callee) = (func("edge", i, caller)?, func("edge", i, callee)?);
        if order[callee.idx()] == u32::MAX {
            return Err(bad(format!("cprofile edge {i}: callee {} has no stats entry", callee.0)));
        }
        edges.push(CallEdge {
            caller,
            callee,
            ncalls: nc,
            primcalls: Some(cc),
            tottime: Some(check_time("cprofile edge", i, tt)?),
            cumtime: Some(check_time("cprofile edge", i, ct)?),
        });
    }
    edges.sort_by_key(|e| order[e.callee.idx()]);
    out.edges = edges;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> Vec<u8> {
        format!(r#"{{"format": "profview-recording", "version": 1, {body}}}"#).into_bytes()
    }

    #[test]
    fn sniffs_only_recordings() {
        assert_eq!(sniff(&doc(r#""stacks": []"#)), Some(true));
        assert_eq!(sniff(b"  {\n \"format\" :\"profview-recording\"}"), Some(true));
        assert_eq!(sniff(br#"{"version": 1, "format": "profview-recording"}"#), Some(false));
        assert_eq!(sniff(b"main;work 3\n"), Some(false));
    }

    #[test]
    fn hybrid_has_both_parts_and_marks_idle() {
        let b = doc(
            r#""functions": [["a.py", 1, "main"], ["a.py", 5, "Work.spin"], ["~", 0, "<built-in method time.sleep>"]],
               "threads": [[11, 101, "MainThread"], [12, 102, "worker"]],
               "stacks": [[0, [0, 1], 7, 0, 0, 3, 0.03, 0.03], [1, [0], 2, 1, 0, 2, 0.5, 0.0], [1, [0, 1], 6, 0, 1, 1, 0.01, null]],
               "cprofile": {"stats": [[2, 4, 4, 0.5, 0.5], [1, 2, 3, 0.25, 0.75], [0, 1, 1, 0.0, 1.0]],
                            "edges": [[1, 2, 4, 4, 0.5, 0.5], [0, 1, 2, 3, 0.25, 0.75]]}"#,
        );
        let p = parse(&b, &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.dialect, p.unit), (Format::Recording, Dialect::Profview, Unit::Seconds));
        assert_eq!(p.threads.iter().map(|t| (t.id.as_str(), t.name.as_deref())).collect::<Vec<_>>(), vec![("101", Some("MainThread")), ("102", Some("worker"))]);
        let s = p.samples.as_ref().unwrap();
        assert!((s.total() - 0.54).abs() < 1e-12);
        let names = |i: usize| -> Vec<&str> { s.stacks.frames(s.samples[i].stack().unwrap()).iter().map(|f| p.func(*f).name.as_str()).collect() };
        assert_eq!(names(0), vec!["main", "Work.spin"]);
        assert_eq!(names(1), vec!["main", IDLE_FRAME]);
        assert_eq!(names(2), vec!["main", "Work.spin", TRUNCATED_FRAME]);
        assert_eq!(s.samples[1].weight, 0.5);
        let ps = p.pstats.as_ref().unwrap();
        assert_eq!(ps.stats[1], Some(PstatsStats { primcalls: 2, ncalls: 3, tottime: 0.25, cumtime: 0.75 }));
        assert_eq!(ps.stats[0].unwrap().ncalls, 1);
        assert_eq!((ps.total_calls, ps.prim_calls), (8, 7));
        assert_eq!(ps.total_time, 0.75);
        // Edges grouped by callee in stats order: time.sleep's callers first.
        assert_eq!(ps.edges.iter().map(|e| (e.caller.0, e.callee.0)).collect::<Vec<_>>(), vec![(1, 2), (0, 1)]);
        assert_eq!(ps.edges[1].primcalls, Some(2));
    }

    #[test]
    fn caps_reached_by_the_recorder_are_warnings() {
        let b = doc(r#""meta": {"dropped_stacks": 4, "dropped_samples": 9, "dropped_weight": 0.09, "truncated_samples": 2, "max_depth": 256},
            "functions": [["a.py", 1, "f"]], "threads": [[1, 2, "T"]], "stacks": [[0, [0], 1, 0, 1, 2, 0.02, null]]"#);
        let w: Vec<String> = parse(&b, &Limits::default()).unwrap().warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("9 samples (0.090 s) of 4 further stacks"), "{w:?}");
        assert!(w[1].contains("2 samples were deeper than 256 frames"), "{w:?}");
        let quiet = doc(r#""meta": {"dropped_stacks": 0, "dropped_samples": 0, "truncated_samples": 0}, "functions": [["a.py", 1, "f"]], "threads": [[1, 2, "T"]], "stacks": [[0, [0], 1, 0, 0, 1, 0.01, null]]"#);
        assert!(parse(&quiet, &Limits::default()).unwrap().warnings.is_empty());
    }

    #[test]
    fn long_names_are_cut_and_counted() {
        // Both parts of the first function are cut, one of the second: two functions counted.
        let b = doc(r#""functions": [["abcdefgh.py", 1, "shortname"], ["a.py", 2, "a_very_long_name"], ["b.py", 3, "ok"]],
            "threads": [[1, 2, "T"]], "stacks": [[0, [0, 1, 2], 1, 0, 0, 1, 0.01, null]]"#);
        let limits = Limits { max_name_len: 8, ..Limits::default() };
        let out = parse(&b, &limits).unwrap();
        let names: Vec<(&str, &str)> = out.profile.functions.iter().map(|f| (f.file.as_str(), f.name.as_str())).collect();
        assert_eq!(names, vec![("abcdefgh", "shortnam"), ("a.py", "a_very_l"), ("b.py", "ok")]);
        assert_eq!(out.warnings.len(), 1);
        assert!(out.warnings[0].to_string().starts_with("2 function names or files"), "{}", out.warnings[0]);
        assert!(parse(&b, &Limits::default()).unwrap().warnings.is_empty());
    }

    #[test]
    fn the_depth_limit_is_inclusive() {
        let at = |n: usize| {
            let frames = vec![0u32; n];
            doc(&format!(r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, {frames:?}, 0, 0, 0, 1, 0.1, null]]"#))
        };
        assert!(parse(&at(MAX_FRAMES), &Limits::default()).is_ok());
        assert!(parse(&at(MAX_FRAMES + 1), &Limits::default()).is_err());
    }

    #[test]
    fn cprofile_only_is_a_pstats_profile() {
        let p = parse(&doc(r#""functions": [["a.py", 1, "f"]], "stacks": [], "cprofile": {"stats": [[0, 1, 1, 0.1, 0.1]]}"#), &Limits::default()).unwrap().profile;
        assert!(p.samples.is_none());
        assert_eq!(p.pstats.unwrap().stats[0].unwrap().cumtime, 0.1);
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        let cases = [
            (r#""functions": [], "stacks": []"#, "no samples"),
            (r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, [3], 0, 0, 0, 1, 0.1, null]]"#, "function 3"),
            (r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[1, [0], 0, 0, 0, 1, 0.1, null]]"#, "thread 1"),
            (r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, [], 0, 0, 0, 1, 0.1, null]]"#, "no frames"),
            (r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, [0], 0, 0, 0, 1, -0.1, null]]"#, "negative"),
            (r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, [0], 0, 2, 0, 1, 0.1, null]]"#, "0 or 1"),
            (r#""functions": [["a", 1, "f"]], "cprofile": {"stats": [[0, 1, 1, 0.1, 0.1], [0, 1, 1, 0.1, 0.1]]}"#, "twice"),
            (r#""functions": [["a", 1, "f"], ["a", 2, "g"]], "cprofile": {"stats": [[0, 1, 1, 0.1, 0.1]], "edges": [[0, 1, 1, 1, 0.1, 0.1]]}"#, "no stats entry"),
            (r#""functions": "x""#, "bad JSON"),
        ];
        for (body, want) in cases {
            let e = parse(&doc(body), &Limits::default()).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
        let e = parse(br#"{"format": "profview-recording", "version": 2}"#, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
        let deep = format!(r#"{{"format": "profview-recording", "version": 1, "x": {}{}}}"#, "[".repeat(5000), "]".repeat(5000));
        assert!(parse(deep.as_bytes(), &Limits::default()).is_err());
        let long: Vec<u32> = vec![0; MAX_FRAMES + 1];
        let body = format!(r#""functions": [["a", 1, "f"]], "threads": [[1, null, null]], "stacks": [[0, {long:?}, 0, 0, 0, 1, 0.1, null]]"#);
        assert!(parse(&doc(&body), &Limits::default()).unwrap_err().to_string().contains("limit"));
    }

    #[test]
    fn detected_by_content_whatever_the_name() {
        let b = doc(r#""functions": [["a.py", 1, "f"]], "threads": [[1, 2, "T"]], "stacks": [[0, [0], 1, 0, 0, 1, 0.1, 0.1]]"#);
        assert_eq!(crate::detect("x.prof", &b), Some(crate::Kind::Recording));
        let p = crate::import("x.txt", &b, &Limits::default()).unwrap().profile;
        assert_eq!(p.format, Format::Recording);
    }
}
