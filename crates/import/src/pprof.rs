//! pprof `profile.proto` (gunzipped by [`crate::import`] like any input) into sampled stacks.
//!
//! * `string_table[0]` must be `""`; every string index, function id and location id is checked
//!   (ids are not indexes: they are looked up, and must be unique and nonzero).
//! * One value column becomes the sample weight: the `default_sample_type` when it names one of
//!   the `sample_type`s, else the last column (the `.proto`'s rule). The model holds one weight
//!   per sample, so the other columns are not kept (a warning names them). Values are used as
//!   stored: the `.proto`'s convention is that they are already unsampled, so `period` is not
//!   applied. Units: `nanoseconds`/`milliseconds`/`seconds` → seconds, `microseconds` → µs,
//!   `bytes` → bytes, `count`/`samples` → samples (another unit: samples, with a warning).
//! * `location_id[0]` is the leaf; a location's `line[]` lists inlined frames innermost first and
//!   the caller last, so each location expands to its lines in reverse. A function is its name,
//!   file and `start_line` (the line of the `Line` when `start_line` is 0). A location without
//!   lines is the frame `0x<address>` in its mapping's file.
//! * The thread is the sample's `thread_id` (or `thread`) label, named by `thread_name`; samples
//!   without them are on the thread `all`.

use prost::Message;
use profview_model::{Dialect, Format, FuncId, SampleBuilder, ThreadId, Unit};

use crate::hash::FxMap;
use crate::pprof_proto as pb;
use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

fn err(offset: Option<usize>, message: impl Into<String>) -> ImportError {
    ImportError::Pprof { offset, message: message.into() }
}

/// Wire type of each top-level `Profile` field (1–16); `None` for a field number it lacks.
fn wire_type_of(field: u64) -> Option<u8> {
    match field {
        1..=6 | 11 | 16 => Some(2),
        7..=10 | 12 | 14 | 15 => Some(0),
        13 => Some(0), // repeated int64: also packed (2), checked by the caller
        _ => None,
    }
}

/// A top-level field: number, wire type, and the byte range of its value.
struct Field {
    number: u64,
    wire: u8,
    start: usize,
    end: usize,
}

/// Reads a varint at `*pos`; `None` when it is truncated or longer than 10 bytes.
fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Walks the top-level fields; the error names the byte offset.
fn walk(b: &[u8], mut each: impl FnMut(Field) -> Result<(), ImportError>) -> Result<(), ImportError> {
    let mut pos = 0;
    while pos < b.len() {
        let at = pos;
        let key = varint(b, &mut pos).ok_or_else(|| err(Some(at), "truncated field key"))?;
        let (number, wire) = (key >> 3, (key & 7) as u8);
        if number == 0 {
            return Err(err(Some(at), "field number 0"));
        }
        let start = pos;
        match wire {
            0 => {
                varint(b, &mut pos).ok_or_else(|| err(Some(start), format!("field {number}: truncated varint")))?;
            }
            1 => pos = pos.checked_add(8).filter(|&p| p <= b.len()).ok_or_else(|| err(Some(start), format!("field {number}: truncated")))?,
            5 => pos = pos.checked_add(4).filter(|&p| p <= b.len()).ok_or_else(|| err(Some(start), format!("field {number}: truncated")))?,
            2 => {
                let len = varint(b, &mut pos).ok_or_else(|| err(Some(start), format!("field {number}: truncated length")))?;
                let s = pos;
                pos = usize::try_from(len)
                    .ok()
                    .and_then(|l| s.checked_add(l))
                    .filter(|&p| p <= b.len())
                    .ok_or_else(|| err(Some(start), format!("field {number}: length {len} runs past the end ({} bytes)", b.len())))?;
                each(Field { number, wire, start: s, end: pos })?;
                continue;
            }
            w => return Err(err(Some(at), format!("field {number}: wire type {w} is not valid here"))),
        }
        each(Field { number, wire, start, end: pos })?;
    }
    Ok(())
}

/// `Some(true)` when the bytes walk as a `Profile` whose fields have the right wire types and
/// whose string table starts with `""`; `Some(false)` when the first byte cannot start one;
/// `None` otherwise.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first & 0x80 != 0 || wire_type_of(u64::from(first >> 3)).is_none_or(|w| w != first & 7) {
        return Some(false);
    }
    let mut strings = 0u64;
    let mut first_empty = false;
    let ok = walk(bytes, |f| {
        let want = wire_type_of(f.number);
        let fits = want == Some(f.wire) || (f.number == 13 && f.wire == 2) || want.is_none();
        if !fits {
            return Err(err(None, ""));
        }
        if f.number == 6 {
            if strings == 0 {
                first_empty = f.start == f.end;
            }
            strings += 1;
        }
        Ok(())
    });
    (ok.is_ok() && strings > 0 && first_empty).then_some(true)
}

/// The offset and message of the first top-level field prost cannot decode.
fn locate(bytes: &[u8], whole: prost::DecodeError) -> ImportError {
    let mut found = None;
    let _ = walk(bytes, |f| {
        if found.is_some() || f.wire != 2 {
            return Ok(());
        }
        let body = &bytes[f.start..f.end];
        let r = match f.number {
            1 | 11 => pb::ValueType::decode(body).map(drop).map_err(|e| e.to_string()),
            2 => pb::Sample::decode(body).map(drop).map_err(|e| e.to_string()),
            3 => pb::Mapping::decode(body).map(drop).map_err(|e| e.to_string()),
            4 => pb::Location::decode(body).map(drop).map_err(|e| e.to_string()),
            5 => pb::Function::decode(body).map(drop).map_err(|e| e.to_string()),
            6 => std::str::from_utf8(body).map(drop).map_err(|_| "a string of string_table is not valid UTF-8".to_owned()),
            _ => Ok(()),
        };
        if let Err(e) = r {
            found = Some(err(Some(f.start), format!("field {} (byte {}..{}): {e}", f.number, f.start, f.end)));
        }
        Ok(())
    })
    .map_err(|e| found.get_or_insert(e).clone());
    found.unwrap_or_else(|| err(None, whole.to_string()))
}

struct Strings<'a>(&'a [String]);

impl Strings<'_> {
    fn get(&self, i: i64, what: impl Fn() -> String) -> Result<&str, ImportError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(String::as_str)
            .ok_or_else(|| err(None, format!("{}: string index {i} is outside the string table ({} strings)", what(), self.0.len())))
    }
}

/// Seconds (or other unit) per value, by the sample type's unit.
fn unit_of(unit: &str) -> Option<(Unit, f64)> {
    Some(match unit {
        "nanoseconds" | "nanosecond" | "ns" => (Unit::Seconds, 1e-9),
        "microseconds" | "microsecond" | "us" => (Unit::Microseconds, 1.0),
        "milliseconds" | "millisecond" | "ms" => (Unit::Seconds, 1e-3),
        "seconds" | "second" | "s" => (Unit::Seconds, 1.0),
        "bytes" | "byte" => (Unit::Bytes, 1.0),
        "count" | "samples" | "sample" => (Unit::Samples, 1.0),
        _ => return None,
    })
}

/// Parses a (gunzipped) pprof profile.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let p = pb::Profile::decode(bytes).map_err(|e| locate(bytes, e))?;
    let mut warnings = Vec::new();
    if p.string_table.first().map(String::as_str) != Some("") {
        return Err(err(None, "string_table[0] must be the empty string"));
    }
    let s = Strings(&p.string_table);
    if p.sample_type.is_empty() {
        return Err(err(None, "no sample_type: the samples' values have no meaning"));
    }
    let mut types = Vec::with_capacity(p.sample_type.len());
    for (i, t) in p.sample_type.iter().enumerate() {
        types.push((s.get(t.r#type, || format!("sample_type[{i}].type"))?, s.get(t.unit, || format!("sample_type[{i}].unit"))?));
    }
    let chosen = match p.default_sample_type {
        0 => types.len() - 1,
        d => {
            let name = s.get(d, || "default_sample_type".into())?;
            match types.iter().position(|t| t.0 == name) {
                Some(i) => i,
                None => {
                    warnings.push(ImportWarning::new(format!(
                        "default_sample_type `{name}` is not among the sample types: the last, `{}`, is used",
                        types[types.len() - 1].0
                    )));
                    types.len() - 1
                }
            }
        }
    };
    let (unit, scale) = unit_of(types[chosen].1).unwrap_or_else(|| {
        warnings.push(ImportWarning::new(format!("unit `{}` of `{}` is not known: shown as samples", types[chosen].1, types[chosen].0)));
        (Unit::Samples, 1.0)
    });
    if types.len() > 1 {
        let others: Vec<String> =
            types.iter().enumerate().filter(|(i, _)| *i != chosen).map(|(_, t)| format!("{}/{}", t.0, t.1)).collect();
        warnings.push(ImportWarning::new(format!(
            "{} sample types: `{}/{}` is shown; {} not imported (one value per sample)",
            types.len(),
            types[chosen].0,
            types[chosen].1,
            others.join(", ")
        )));
    }
    let mut b = SampleBuilder::new();
    let mut long_names = 0u64;
    let mut name = |x: &str| {
        let mut n = x.to_owned();
        if truncate_name(&mut n, limits.max_name_len) {
            long_names += 1;
        }
        n
    };
    // Functions by id: (name, file, start line).
    let mut funcs: FxMap<u64, (String, String, i64)> = FxMap::default();
    for (i, f) in p.function.iter().enumerate() {
        if f.id == 0 {
            return Err(err(None, format!("function[{i}] has id 0 (ids are nonzero)")));
        }
        let what = || format!("function id {}", f.id);
        let v = (name(s.get(f.name, what)?), name(s.get(f.filename, what)?), f.start_line);
        if funcs.insert(f.id, v).is_some() {
            return Err(err(None, format!("function id {} is used twice", f.id)));
        }
    }
    let mut maps: FxMap<u64, String> = FxMap::default();
    for m in &p.mapping {
        maps.insert(m.id, name(s.get(m.filename, || format!("mapping id {}", m.id))?));
    }
    // Locations by id: their frames, outermost first.
    let mut locs: FxMap<u64, Vec<FuncId>> = FxMap::default();
    for (i, l) in p.location.iter().enumerate() {
        if l.id == 0 {
            return Err(err(None, format!("location[{i}] has id 0 (ids are nonzero)")));
        }
        let mut frames = Vec::with_capacity(l.line.len().max(1));
        if l.line.is_empty() {
            let file = maps.get(&l.mapping_id).cloned().unwrap_or_default();
            frames.push(b.function(&format!("0x{:x}", l.address), &file, 0));
        }
        for line in l.line.iter().rev() {
            let (fname, file, start) = funcs.get(&line.function_id).ok_or_else(|| {
                err(None, format!("location id {} refers to function id {}, which is not in the profile", l.id, line.function_id))
            })?;
            let at = if *start != 0 { *start } else { line.line };
            frames.push(b.function(fname, file, at));
        }
        if locs.insert(l.id, frames).is_some() {
            return Err(err(None, format!("location id {} is used twice", l.id)));
        }
    }
    let key_is = |k: i64, want: &[&str]| s.get(k, String::new).is_ok_and(|x| want.contains(&x));
    let mut deep = 0u64;
    let mut threads: FxMap<(String, Option<String>), ThreadId> = FxMap::default();
    let mut stack: Vec<FuncId> = Vec::new();
    for (n, smp) in p.sample.iter().enumerate() {
        if smp.value.len() != types.len() {
            return Err(err(None, format!("sample {n} has {} value(s) for {} sample type(s)", smp.value.len(), types.len())));
        }
        // Thread from the labels.
        let mut id: Option<String> = None;
        let mut tname: Option<String> = None;
        for l in &smp.label {
            let text = || -> Result<String, ImportError> {
                Ok(if l.str != 0 { s.get(l.str, || format!("sample {n} label"))?.to_owned() } else { l.num.to_string() })
            };
            if key_is(l.key, &["thread_id", "thread id", "tid"]) || (id.is_none() && key_is(l.key, &["thread"])) {
                id = Some(text()?);
            } else if key_is(l.key, &["thread_name", "thread name"]) {
                tname = Some(text()?);
            }
        }
        let key = (id.or_else(|| tname.clone()).unwrap_or_else(|| "all".to_owned()), tname);
        let t = match threads.get(&key) {
            Some(&t) => t,
            None => {
                let t = b.thread(&key.0, key.1.clone());
                threads.insert(key, t);
                t
            }
        };
        stack.clear();
        for id in smp.location_id.iter().rev() {
            let frames = locs
                .get(id)
                .ok_or_else(|| err(None, format!("sample {n} refers to location id {id}, which is not in the profile")))?;
            stack.extend_from_slice(frames);
        }
        if stack.len() > limits.max_stack_depth {
            stack.truncate(limits.max_stack_depth);
            deep += 1;
        }
        b.add_sample(&stack, t, smp.value[chosen] as f64 * scale);
    }
    if p.sample.is_empty() {
        return Err(ImportError::NoSamples);
    }
    if deep > 0 {
        warnings.push(ImportWarning::new(format!(
            "{deep} stack(s) deeper than {} frames were cut (root side kept)",
            limits.max_stack_depth
        )));
    }
    if long_names > 0 {
        warnings.push(ImportWarning::new(format!("{long_names} name(s) longer than {} bytes were truncated", limits.max_name_len)));
    }
    let mut profile = b.finish(Dialect::Pprof, unit);
    profile.format = Format::Pprof;
    finish(profile, warnings)
}
