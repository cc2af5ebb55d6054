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

/// Decodes one top-level message field, naming its byte offset when it cannot.
fn decode<M: Message + Default>(bytes: &[u8], f: &Field, what: &str) -> Result<M, ImportError> {
    M::decode(&bytes[f.start..f.end]).map_err(|e| err(Some(f.start), format!("{what} (bytes {}..{}): {e}", f.start, f.end)))
}

/// The value of a top-level varint field, as the `int64` it encodes.
fn int64(bytes: &[u8], f: &Field) -> Result<i64, ImportError> {
    if f.wire != 0 {
        return Err(err(Some(f.start), format!("field {}: wire type {}, expected a varint", f.number, f.wire)));
    }
    let mut pos = f.start;
    varint(bytes, &mut pos).map(|v| v as i64).ok_or_else(|| err(Some(f.start), format!("field {}: truncated varint", f.number)))
}

/// Everything but the samples and locations, read in a first pass (the string table usually
/// comes last); samples and locations are then decoded one at a time, so a file of millions of
/// samples never holds them all decoded.
#[derive(Default)]
struct Header {
    sample_type: Vec<pb::ValueType>,
    mapping: Vec<pb::Mapping>,
    function: Vec<pb::Function>,
    string_table: Vec<String>,
    default_sample_type: i64,
    samples: u64,
}

fn header(bytes: &[u8]) -> Result<Header, ImportError> {
    let mut h = Header::default();
    walk(bytes, |f| {
        let msg = |f: &Field| {
            if f.wire == 2 {
                Ok(())
            } else {
                Err(err(Some(f.start), format!("field {}: wire type {}, expected a message", f.number, f.wire)))
            }
        };
        match f.number {
            1 => h.sample_type.push(decode(bytes, &f, "sample_type")?),
            2 => {
                msg(&f)?;
                h.samples += 1;
            }
            3 => h.mapping.push(decode(bytes, &f, "mapping")?),
            4 | 11 | 16 => msg(&f)?,
            5 => h.function.push(decode(bytes, &f, "function")?),
            6 => {
                msg(&f)?;
                let t = std::str::from_utf8(&bytes[f.start..f.end])
                    .map_err(|_| err(Some(f.start), format!("string_table[{}] is not valid UTF-8", h.string_table.len())))?;
                h.string_table.push(t.to_owned());
            }
            14 => h.default_sample_type = int64(bytes, &f)?,
            7..=10 | 12 | 15 => {
                int64(bytes, &f)?;
            }
            _ => {} // comment (13, packed or not) and fields this reader does not know
        }
        Ok(())
    })?;
    Ok(h)
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
    let p = header(bytes)?;
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
    let mut n_loc = 0usize;
    walk(bytes, |f| {
        if f.number != 4 {
            return Ok(());
        }
        let l: pb::Location = decode(bytes, &f, "location")?;
        let i = n_loc;
        n_loc += 1;
        if l.id == 0 {
            return Err(err(Some(f.start), format!("location[{i}] has id 0 (ids are nonzero)")));
        }
        let mut frames = Vec::with_capacity(l.line.len().max(1));
        if l.line.is_empty() {
            let file = maps.get(&l.mapping_id).cloned().unwrap_or_default();
            frames.push(b.function(&format!("0x{:x}", l.address), &file, 0));
        }
        for line in l.line.iter().rev() {
            let (fname, file, start) = funcs.get(&line.function_id).ok_or_else(|| {
                err(Some(f.start), format!("location id {} refers to function id {}, which is not in the profile", l.id, line.function_id))
            })?;
            let at = if *start != 0 { *start } else { line.line };
            frames.push(b.function(fname, file, at));
        }
        if locs.insert(l.id, frames).is_some() {
            return Err(err(Some(f.start), format!("location id {} is used twice", l.id)));
        }
        Ok(())
    })?;
    let key_is = |k: i64, want: &[&str]| s.get(k, String::new).is_ok_and(|x| want.contains(&x));
    let mut deep = 0u64;
    let mut threads: FxMap<(String, Option<String>), ThreadId> = FxMap::default();
    let mut stack: Vec<FuncId> = Vec::new();
    let mut n = 0usize;
    walk(bytes, |f| {
        if f.number != 2 {
            return Ok(());
        }
        let smp: pb::Sample = decode(bytes, &f, "sample")?;
        let smp = &smp;
        if smp.value.len() != types.len() {
            return Err(err(Some(f.start), format!("sample {n} has {} value(s) for {} sample type(s)", smp.value.len(), types.len())));
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
                .ok_or_else(|| err(Some(f.start), format!("sample {n} refers to location id {id}, which is not in the profile")))?;
            stack.extend_from_slice(frames);
            if stack.len() > limits.max_stack_depth {
                stack.truncate(limits.max_stack_depth);
                deep += 1;
                break; // the root side is kept; the rest is not even looked up
            }
        }
        b.add_sample(&stack, t, smp.value[chosen] as f64 * scale);
        n += 1;
        Ok(())
    })?;
    if p.samples == 0 {
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
