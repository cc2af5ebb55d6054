//! Writes a profile's sampled part as a speedscope file (`export --format speedscope`): every
//! function is a shared frame (`name`, `file` when not empty, `line` when not 0), every thread one
//! `sampled` profile named `Thread <id> "<name>"` (py-spy's form, which [`crate::speedscope`]
//! reads back as the thread's id and name) holding its aggregated samples, one weighted stack
//! per (stack, thread). Units: samples → `none`, seconds, microseconds, bytes as themselves.
//!
//! A pstats-only profile has no stacks and is refused (`None`): drawing a sampled view from its
//! caller→callee edges would be an estimate dressed as measured stacks.

use profview_model::{Profile, Unit};
use serde::Serialize;

use crate::speedscope::SCHEMA;

#[derive(Serialize)]
struct File<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    exporter: String,
    name: &'a str,
    #[serde(rename = "activeProfileIndex")]
    active_profile_index: usize,
    shared: Shared<'a>,
    profiles: Vec<Sampled>,
}

#[derive(Serialize)]
struct Shared<'a> {
    frames: Vec<Frame<'a>>,
}

#[derive(Serialize)]
struct Frame<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<i64>,
}

#[derive(Serialize)]
struct Sampled {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    #[serde(rename = "startValue")]
    start_value: f64,
    #[serde(rename = "endValue")]
    end_value: f64,
    samples: Vec<Vec<u32>>,
    weights: Vec<f64>,
}

/// The speedscope JSON of `p`'s samples, named `name`; `None` when `p` has no samples.
pub fn write(p: &Profile, name: &str) -> Option<Vec<u8>> {
    let s = p.samples.as_ref()?;
    let unit = match p.unit {
        Unit::Samples => "none",
        Unit::Seconds => "seconds",
        Unit::Microseconds => "microseconds",
        Unit::Bytes => "bytes",
    };
    let frames = p
        .functions
        .iter()
        .map(|f| Frame {
            name: &f.name,
            file: (!f.file.is_empty()).then_some(f.file.as_str()),
            line: (f.line != 0).then_some(f.line),
        })
        .collect();
    let mut profiles: Vec<Sampled> = p
        .threads
        .iter()
        .map(|t| Sampled {
            kind: "sampled",
            name: match &t.name {
                Some(n) => format!("Thread {} \"{n}\"", t.id),
                None => format!("Thread {}", t.id),
            },
            unit,
            start_value: 0.0,
            end_value: 0.0,
            samples: Vec::new(),
            weights: Vec::new(),
        })
        .collect();
    for sample in &s.samples {
        let prof = profiles.get_mut(sample.thread.idx())?;
        let stack = sample.stack().map_or_else(Vec::new, |st| s.stacks.frames(st).iter().map(|f| f.0).collect());
        prof.samples.push(stack);
        prof.weights.push(sample.weight);
        prof.end_value += sample.weight;
    }
    let file = File {
        schema: SCHEMA,
        exporter: format!("profview@{}", env!("CARGO_PKG_VERSION")),
        name,
        active_profile_index: 0,
        shared: Shared { frames },
        profiles,
    };
    let mut out = serde_json::to_vec(&file).ok()?;
    out.push(b'\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{import, Limits};

    #[test]
    fn folded_threads_and_empty_stacks_come_back() {
        let src = b"thread (7): Main;a (x.py:3);b (x.py:9) 3\nthread (7): Main;a (x.py:3) 2\nthread (8);c (y.py:1) 1\n 4\n";
        let p = import("x.txt", src, &Limits::default()).unwrap().profile;
        let out = write(&p, "t").unwrap();
        let q = crate::speedscope::parse(&out, &Limits::default()).unwrap().profile;
        assert_eq!(q.threads, p.threads);
        assert_eq!(q.functions, p.functions);
        let sum = |p: &Profile| p.samples.as_ref().unwrap().total();
        assert_eq!(sum(&q), sum(&p));
        let pstats_only = Profile { samples: None, pstats: Some(Default::default()), threads: vec![], ..p };
        assert!(write(&pstats_only, "t").is_none());
    }
}
