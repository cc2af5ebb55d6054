//! A profile's samples as pprof `profile.proto`, gzipped as `go tool pprof` reads it
//! (`profview export FILE --format pprof`).
//!
//! * One sample type, from the profile's unit: samples → `samples/count`, seconds →
//!   `cpu/nanoseconds` (weights × 10⁹, rounded), µs → `time/microseconds`, bytes →
//!   `space/bytes`; `period_type` is the same and `period` 1. Weights are rounded to integers
//!   (pprof values are `int64`; folded counts, austin µs and bytes already are).
//! * One `Function` and one `Location` (with one `Line`) per model function, ids from 1; each
//!   sample lists its stack leaf first, with `thread_id`/`thread_name` labels.
//! * A profile without samples (pstats data: cProfile, yappi, callgrind) is refused: pprof holds
//!   stacks, and pstats has only caller→callee edges, so any stack made from it would be invented.

use std::io::Write;

use prost::Message;
use profview_model::{Profile, Unit, NO_PARENT};

use crate::pprof_proto as pb;

/// Interns strings into a string table whose index 0 is `""`.
struct Table {
    strings: Vec<String>,
    ids: crate::hash::FxMap<String, i64>,
}

impl Table {
    fn new() -> Self {
        let mut t = Table { strings: Vec::new(), ids: Default::default() };
        t.id("");
        t
    }
    fn id(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }
}

/// The uncompressed protobuf bytes of `p`'s samples.
pub fn encode(p: &Profile) -> Result<Vec<u8>, String> {
    let s = p.samples.as_ref().ok_or_else(|| {
        "this profile has no samples (pstats data: per-function numbers and caller→callee edges, no stacks); \
         pprof holds stacks, so it is not exported as pprof: export it as pstats"
            .to_owned()
    })?;
    let mut t = Table::new();
    let (ty, unit, scale) = match p.unit {
        Unit::Samples => ("samples", "count", 1.0),
        Unit::Seconds => ("cpu", "nanoseconds", 1e9),
        Unit::Microseconds => ("time", "microseconds", 1.0),
        Unit::Bytes => ("space", "bytes", 1.0),
    };
    let vt = pb::ValueType { r#type: t.id(ty), unit: t.id(unit) };
    let function = p
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| pb::Function {
            id: i as u64 + 1,
            name: t.id(&f.name),
            system_name: 0,
            filename: t.id(&f.file),
            start_line: f.line,
        })
        .collect();
    let location = p
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| pb::Location {
            id: i as u64 + 1,
            line: vec![pb::Line { function_id: i as u64 + 1, line: f.line, column: 0 }],
            ..Default::default()
        })
        .collect();
    let (k_id, k_name) = (t.id("thread_id"), t.id("thread_name"));
    let labels: Vec<Vec<pb::Label>> = p
        .threads
        .iter()
        .map(|th| {
            let mut v = vec![pb::Label { key: k_id, str: t.id(&th.id), ..Default::default() }];
            if let Some(n) = &th.name {
                v.push(pb::Label { key: k_name, str: t.id(n), ..Default::default() });
            }
            v
        })
        .collect();
    let st = &s.stacks;
    let mut sample = Vec::with_capacity(s.samples.len());
    for smp in &s.samples {
        let mut location_id = Vec::new();
        let mut cur = smp.node;
        let mut guard = st.len() + 1;
        while cur != NO_PARENT && guard > 0 {
            let n = cur as usize;
            let f = st.func.get(n).ok_or("a sample points outside the stack table")?;
            location_id.push(f.0 as u64 + 1);
            cur = st.parent[n];
            guard -= 1;
        }
        let v = (smp.weight * scale).round();
        let value = if v >= i64::MAX as f64 {
            i64::MAX
        } else if v <= i64::MIN as f64 {
            i64::MIN
        } else {
            v as i64
        };
        let label = labels.get(smp.thread.idx()).cloned().unwrap_or_default();
        sample.push(pb::Sample { location_id, value: vec![value], label });
    }
    let profile = pb::Profile {
        sample_type: vec![vt.clone()],
        sample,
        location,
        function,
        period_type: Some(vt),
        period: 1,
        default_sample_type: t.id(ty),
        string_table: t.strings,
        ..Default::default()
    };
    Ok(profile.encode_to_vec())
}

/// [`encode`], gzipped.
pub fn write(p: &Profile) -> Result<Vec<u8>, String> {
    let raw = encode(p)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}
