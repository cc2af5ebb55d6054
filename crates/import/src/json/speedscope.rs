//! speedscope's JSON file format (`src/lib/file-format-spec.ts` in speedscope): `shared.frames`
//! (`name`, optional `file`, `line`) and `profiles`, each `sampled` (stacks of frame indices,
//! root first, with `weights`) or `evented` (`O`/`C` events at non-decreasing `at` that nest; a
//! frame's self weight is the time between events while it is innermost).
//!
//! One profile is one thread: py-spy names them `Thread <tid> "<name>"`, kept as the thread's id
//! and name; any other profile is thread `<index>` named after the profile. Units: `none` →
//! samples, `bytes` → bytes, `seconds` → seconds; milliseconds and nanoseconds are converted to
//! microseconds (the model's and the app's time units are seconds and microseconds), and so are
//! seconds when the file mixes them with another time unit.

use profview_model::{Dialect, Format, SampleBuilder, Unit};
use serde::Deserialize;

use super::{err, finish_json, first_byte, has_key, head, pyspy_thread_name, serde_err, span, Funcs, OpenStack};
use crate::{ImportError, ImportWarning, Imported, Limits};

const FMT: &str = "speedscope";
/// The `$schema` URL every speedscope file carries.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// `Some(true)` for a JSON object naming speedscope's schema (or with `shared` and `profiles`
/// keys) in its first MiB.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    if first_byte(bytes) != Some(b'{') {
        return Some(false);
    }
    let h = head(bytes);
    let schema = memchr::memmem::find(h, SCHEMA.as_bytes()).is_some();
    Some(schema || (has_key(h, "shared") && has_key(h, "profiles") && has_key(h, "frames")))
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    shared: Option<Shared>,
    profiles: Vec<ProfileDoc>,
}

#[derive(Deserialize)]
struct Shared {
    frames: Vec<FrameDoc>,
}

#[derive(Deserialize)]
struct FrameDoc {
    name: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<i64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum SUnit {
    None,
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Bytes,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum PType {
    Sampled,
    Evented,
}

#[derive(Deserialize)]
struct ProfileDoc {
    #[serde(rename = "type")]
    kind: PType,
    #[serde(default)]
    name: Option<String>,
    unit: SUnit,
    #[serde(default)]
    samples: Option<Vec<Vec<u64>>>,
    #[serde(default)]
    weights: Option<Vec<f64>>,
    #[serde(default)]
    events: Option<Vec<Event>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
enum EvType {
    O,
    C,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: EvType,
    at: f64,
    frame: u64,
}

/// The model unit for the file's units and each unit's factor into it.
fn units(list: &[SUnit]) -> Result<(Unit, Vec<f64>), ImportError> {
    let time = |u: SUnit| matches!(u, SUnit::Nanoseconds | SUnit::Microseconds | SUnit::Milliseconds | SUnit::Seconds);
    let first = list.first().copied().unwrap_or(SUnit::None);
    if let Some(&other) = list.iter().find(|&&u| u != first && !(time(u) && time(first))) {
        return Err(err(FMT, format!("profiles in units {first:?} and {other:?} cannot be shown together")));
    }
    let unit = match first {
        SUnit::None => Unit::Samples,
        SUnit::Bytes => Unit::Bytes,
        SUnit::Seconds if list.iter().all(|&u| u == SUnit::Seconds) => Unit::Seconds,
        _ => Unit::Microseconds,
    };
    let factor = |u: SUnit| match (unit, u) {
        (Unit::Microseconds, SUnit::Seconds) => 1e6,
        (Unit::Microseconds, SUnit::Milliseconds) => 1e3,
        (Unit::Microseconds, SUnit::Nanoseconds) => 1e-3,
        _ => 1.0,
    };
    Ok((unit, list.iter().map(|&u| factor(u)).collect()))
}

/// Parses a speedscope file (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let doc: File = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
    if doc.profiles.is_empty() {
        return Err(err(FMT, "the file has no profiles"));
    }
    let (unit, factors) = units(&doc.profiles.iter().map(|p| p.unit).collect::<Vec<_>>())?;
    let mut b = SampleBuilder::new();
    let mut funcs = Funcs::new(limits);
    let frames = doc.shared.map(|s| s.frames).unwrap_or_default();
    let fids: Vec<_> = frames
        .iter()
        .map(|f| funcs.intern(&mut b, &f.name, f.file.as_deref().unwrap_or(""), f.line.unwrap_or(0)))
        .collect();
    let frame = |p: usize, i: u64| {
        usize::try_from(i).ok().and_then(|i| fids.get(i).copied()).ok_or_else(|| {
            err(FMT, format!("profile {p}: frame index {i} is not in shared.frames ({} frames)", fids.len()))
        })
    };
    let mut warnings = Vec::new();
    let mut stack = Vec::new();
    let mut any = false;
    for (pi, (prof, factor)) in doc.profiles.into_iter().zip(factors).enumerate() {
        let name = prof.name.unwrap_or_default();
        let thread = match pyspy_thread_name(&name) {
            Some((id, tname)) => {
                let id = funcs.cap(id.to_owned());
                b.thread(&id, tname.map(|n| funcs.cap(n.to_owned())))
            }
            None => b.thread(&pi.to_string(), (!name.is_empty()).then(|| funcs.cap(name.clone()))),
        };
        let negative_ok = prof.unit == SUnit::Bytes;
        match prof.kind {
            PType::Sampled => {
                let samples = prof.samples.ok_or_else(|| err(FMT, format!("profile {pi} is sampled but has no samples")))?;
                if let Some(w) = &prof.weights {
                    if w.len() != samples.len() {
                        return Err(err(FMT, format!("profile {pi} has {} samples but {} weights", samples.len(), w.len())));
                    }
                }
                for (si, s) in samples.iter().enumerate() {
                    let w = prof.weights.as_ref().map_or(1.0, |w| w[si]);
                    if !w.is_finite() || (w < 0.0 && !negative_ok) {
                        return Err(err(FMT, format!("profile {pi} sample {si}: weight {w} is negative or not finite")));
                    }
                    if s.len() > limits.max_stack_depth {
                        return Err(err(FMT, format!("profile {pi} sample {si} has {} frames (limit {})", s.len(), limits.max_stack_depth)));
                    }
                    stack.clear();
                    for &f in s {
                        stack.push(frame(pi, f)?);
                    }
                    let w = w * factor;
                    if !w.is_finite() {
                        return Err(err(FMT, format!("profile {pi} sample {si}: weight is too large")));
                    }
                    b.add_sample(&stack, thread, w);
                    any = true;
                }
            }
            PType::Evented => {
                let events = prof.events.ok_or_else(|| err(FMT, format!("profile {pi} is evented but has no events")))?;
                let mut open = OpenStack::default();
                let mut last: Option<f64> = None;
                for (ei, e) in events.iter().enumerate() {
                    if !e.at.is_finite() {
                        return Err(err(FMT, format!("profile {pi} event {ei}: time {} is not finite", e.at)));
                    }
                    if let Some(t) = last {
                        if e.at < t {
                            return Err(err(FMT, format!("profile {pi} event {ei} goes back in time ({} after {t})", e.at)));
                        }
                        open.spend(&mut b, thread, span(FMT, t, e.at, factor)?);
                    }
                    last = Some(e.at);
                    let f = frame(pi, e.frame)?;
                    match e.kind {
                        EvType::O => open.open(&mut b, f, e.frame, limits.max_stack_depth).map_err(|n| {
                            err(FMT, format!("profile {pi} event {ei}: frames nest deeper than {n}"))
                        })?,
                        EvType::C => match open.nodes.pop() {
                            Some((_, g)) if g == e.frame => {}
                            Some((_, g)) => {
                                return Err(err(FMT, format!("profile {pi} event {ei} closes frame {} but frame {g} is the innermost open one (events do not nest)", e.frame)))
                            }
                            None => return Err(err(FMT, format!("profile {pi} event {ei} closes frame {} that is not open", e.frame))),
                        },
                    }
                    any = true;
                }
                if !open.nodes.is_empty() {
                    warnings.push(ImportWarning::new(format!(
                        "profile {pi}: {} frames are still open after the last event (their time ends there)",
                        open.nodes.len()
                    )));
                }
            }
        }
    }
    if !any {
        return Err(err(FMT, "the profiles hold no samples and no events"));
    }
    funcs.warn(&mut warnings);
    let mut profile = b.finish(Dialect::Speedscope, unit);
    profile.format = Format::Speedscope;
    // Events only (no sampled profile) whose frames are never open while time passes: nothing
    // to show, and no file to export (found by fuzzing: the export of such a profile was refused).
    if profile.samples.as_ref().is_none_or(|s| s.samples.is_empty()) {
        return Err(err(FMT, "the events span no time (no frame is open while time passes)"));
    }
    finish_json(FMT, profile, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(frames: &str, profiles: &str) -> Vec<u8> {
        format!(r#"{{"$schema": "{SCHEMA}", "shared": {{"frames": [{frames}]}}, "profiles": [{profiles}]}}"#).into_bytes()
    }

    #[test]
    fn evented_time_goes_to_the_innermost_frame() {
        let b = doc(
            r#"{"name": "main", "file": "a.py", "line": 1}, {"name": "work"}"#,
            r#"{"type": "evented", "name": "Thread 5 \"Main\"", "unit": "milliseconds", "startValue": 0, "endValue": 10,
                "events": [{"type": "O", "at": 0, "frame": 0}, {"type": "O", "at": 2, "frame": 1},
                           {"type": "C", "at": 5, "frame": 1}, {"type": "C", "at": 10, "frame": 0}]}"#,
        );
        let p = parse(&b, &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.unit), (Format::Speedscope, Unit::Microseconds));
        assert_eq!((p.threads[0].id.as_str(), p.threads[0].name.as_deref()), ("5", Some("Main")));
        let s = p.samples.as_ref().unwrap();
        let per: Vec<(Vec<&str>, f64)> = s
            .samples
            .iter()
            .map(|x| (s.stacks.frames(x.stack().unwrap()).iter().map(|f| p.func(*f).name.as_str()).collect(), x.weight))
            .collect();
        assert_eq!(per, vec![(vec!["main"], 7000.0), (vec!["main", "work"], 3000.0)]);
        assert_eq!((p.functions[0].file.as_str(), p.functions[0].line, p.functions[1].line), ("a.py", 1, 0));
    }

    #[test]
    fn refuses_with_a_reason() {
        let f = r#"{"name": "a"}, {"name": "b"}"#;
        let ev = |events: &str| format!(r#"{{"type": "evented", "unit": "none", "startValue": 0, "endValue": 1, "events": [{events}]}}"#);
        let cases = [
            (ev(r#"{"type": "O", "at": 1, "frame": 0}, {"type": "C", "at": 0, "frame": 0}"#), "back in time"),
            (ev(r#"{"type": "O", "at": 0, "frame": 0}, {"type": "O", "at": 0, "frame": 1}, {"type": "C", "at": 1, "frame": 0}"#), "do not nest"),
            (ev(r#"{"type": "C", "at": 0, "frame": 0}"#), "not open"),
            (ev(r#"{"type": "O", "at": 0, "frame": 9}"#), "frame index 9"),
            (r#"{"type": "sampled", "unit": "seconds", "samples": [[0, 7]], "weights": [1]}"#.into(), "frame index 7"),
            (r#"{"type": "sampled", "unit": "seconds", "samples": [[0]], "weights": [1, 2]}"#.into(), "1 samples but 2 weights"),
            (r#"{"type": "sampled", "unit": "seconds", "samples": [[0]], "weights": [-1]}"#.into(), "negative"),
            (r#"{"type": "sampled", "unit": "parsecs", "samples": [], "weights": []}"#.into(), "unknown variant"),
            (r#"{"type": "timed", "unit": "none"}"#.into(), "unknown variant"),
            (r#"{"type": "sampled", "unit": "none", "samples": [], "weights": []}"#.into(), "no samples"),
            // fuzz/seeds/speedscope/crash-open-frame-no-time.json: one frame opened, never closed,
            // at the profile's only instant.
            (r#"{"type": "evented", "name": "x", "unit": "none", "endValue": 5, "events": [{"type": "O", "at": 0, "frame": 1}]}"#.into(), "span no time"),
            (r#"{"type": "evented", "unit": "none", "events": [{"type": "O", "at": 2, "frame": 0}, {"type": "C", "at": 2, "frame": 0}]}"#.into(), "span no time"),
            (r#"{"type": "sampled", "unit": "bytes", "samples": [[0]], "weights": [1]}, {"type": "sampled", "unit": "seconds", "samples": [[0]], "weights": [1]}"#.into(), "cannot be shown together"),
        ];
        for (profiles, want) in cases {
            let e = parse(&doc(f, &profiles), &Limits::default()).unwrap_err().to_string();
            assert!(e.starts_with("speedscope: ") && e.contains(want), "{profiles}: {e}");
        }
    }

    #[test]
    fn units_map_and_mix() {
        use SUnit::*;
        assert_eq!(units(&[Seconds]).unwrap(), (Unit::Seconds, vec![1.0]));
        assert_eq!(units(&[None, None]).unwrap().0, Unit::Samples);
        assert_eq!(units(&[Bytes]).unwrap().0, Unit::Bytes);
        assert_eq!(units(&[Seconds, Nanoseconds, Milliseconds, Microseconds]).unwrap(), (Unit::Microseconds, vec![1e6, 1e-3, 1e3, 1.0]));
        assert!(units(&[None, Seconds]).is_err());
    }
}
