//! Importers for Python performance profiles: pstats (cProfile, `profile`, yappi) through an own,
//! hardened `marshal` reader, and collapsed ("folded") stacks (Gregg/inferno, py-spy, austin,
//! Tachyon, perf via inferno), raw `perf script` text (feature `perf-script`), profview
//! recordings (the Python package's sampler, optionally with cProfile; `docs/recording-format.md`),
//! and the JSON formats of other profilers ([`json`]: speedscope, Chrome trace events, V8
//! `.cpuprofile`, pyinstrument sessions, the Firefox Profiler's processed format), each detected
//! by content.
//!
//! Pure: no I/O, input is `&[u8]`, builds for `wasm32-unknown-unknown`. Every importer module has
//! the same shape: `sniff(bytes) -> Option<bool>` (`Some(true)` = mine, `Some(false)` = not mine,
//! `None` = cannot tell) and `parse(bytes, limits) -> Result<Imported, ImportError>`; a successful
//! parse always ends with [`Profile::check_valid`](profview_model::Profile::check_valid).
//!
//! ```
//! use profview_import::*;
//! let out = import("x.folded", b"main;work 3\nmain 1\n", &Limits::default()).unwrap();
//! assert_eq!(out.profile.samples.as_ref().unwrap().total(), 4.0);
//! ```
#![deny(missing_docs)]

use std::fmt;

use profview_model::{Format, Profile};

pub mod callgrind;
pub mod export_pprof;
pub mod folded;
pub mod export_speedscope;
mod hash;
pub mod json;
pub mod marshal;
mod merge;
#[cfg(not(target_arch = "wasm32"))]
pub mod parallel;
#[cfg(all(feature = "perf-script", not(target_arch = "wasm32")))]
pub mod perf;
pub mod pprof;
mod prefetch;
pub mod pprof_proto;
pub mod pstats;
mod pstats_fast;
pub mod pstats_out;
pub mod recording;

pub use folded::FoldedParser;
pub use json::{chrome, cpuprofile, gecko, pyinstrument, speedscope};
#[cfg(not(target_arch = "wasm32"))]
pub use parallel::{import_reader, parse_folded_parallel, parse_folded_reader, StreamOptions};

/// A successfully imported profile plus the non-fatal problems met on the way.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The profile; it passed `check_valid`.
    pub profile: Profile,
    /// Non-fatal problems (skipped lines, truncated names, trailing bytes, …).
    pub warnings: Vec<ImportWarning>,
    /// Folded stacks only (`None` otherwise): bit `i` (`nested[i / 64] >> (i % 64) & 1`) is set
    /// when the function of stack node `i` is on its parent's stack already, as the parser saw
    /// while it built the table; it spares a report of totals (each function counted once per
    /// stack) the walk up every node's ancestors. It describes `profile` as returned: stale once
    /// its stack table or functions change (merged, grouped or renumbered).
    pub nested: Option<Vec<u64>>,
}

/// A non-fatal problem met while importing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    /// Human-readable text, naming the line (text) or byte offset (binary) where it applies.
    pub message: String,
}

impl ImportWarning {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why an import failed. The message says what is wrong and where (byte offset for binary
/// input, 1-based line number for text); the caller prefixes the file name.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum ImportError {
    /// The input has no bytes at all.
    #[error("empty file")]
    Empty,
    /// No importer recognised the content.
    #[error(
        "format not recognised (expected a pstats/marshal dump, callgrind text, pprof profile.proto, a profview recording, folded stacks, perf script text, a speedscope file, Chrome trace events, a V8 .cpuprofile, a pyinstrument session or a Firefox Profiler processed profile)"
    )]
    UnknownFormat,
    /// The gzip stream is corrupt.
    #[error("gzip: {0}")]
    Gzip(String),
    /// Decompression would exceed [`Limits::max_decompressed_bytes`].
    #[error("gzip: decompressed size exceeds the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit in force.
        limit: u64,
    },
    /// The marshal stream is malformed (truncated, bad type code, bad reference, too deep, …).
    #[error("bad marshal data at byte {offset}: {message}")]
    Marshal {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The marshal data is well-formed but is not a pstats dict of the expected shape.
    #[error("{0}")]
    Pstats(String),
    /// A folded/collapsed text problem that makes the whole file unusable.
    #[error("line {line}: {message}")]
    Folded {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The file holds no samples at all.
    #[error("no samples (no line of the form `frame;frame;... COUNT`)")]
    NoSamples,
    /// `perf script` text could not be collapsed.
    #[error("perf script: {0}")]
    Perf(String),
    /// Several files cannot be combined.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// callgrind text that cannot be read.
    #[error("callgrind{}: {message}", if *line > 0 { format!(" line {line}") } else { String::new() })]
    Callgrind {
        /// 1-based line number (0 when the problem is not on one line).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A pprof `profile.proto` that cannot be read.
    #[error("pprof: {}{message}", offset.map(|o| format!("at byte {o}: ")).unwrap_or_default())]
    Pprof {
        /// Byte offset of the problem in the (gunzipped) protobuf, when it is one place.
        offset: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A profview recording (`docs/recording-format.md`) that cannot be read.
    #[error("profview recording: {0}")]
    Recording(String),
    /// A file detected as one of the JSON formats ([`json`]) that cannot be read.
    #[error("{format}: {message}")]
    Json {
        /// The format it was read as (`speedscope`, `chrome trace`, `cpuprofile`, …).
        format: &'static str,
        /// What is wrong (and where, for a JSON syntax error: line and column).
        message: String,
    },
    /// Reading the input failed (streaming import only; see [`import_reader`]).
    #[error("read error: {0}")]
    Io(String),
    /// The produced profile violated an invariant (a bug in the importer).
    #[error("internal error: imported profile is invalid: {0}")]
    Invalid(String),
}

/// Resource limits for untrusted input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a gunzipped input. Default 4 GiB.
    pub max_decompressed_bytes: u64,
    /// Maximum marshal container nesting. Default 2000 (CPython's `MAX_MARSHAL_STACK_DEPTH`).
    pub max_depth: usize,
    /// Maximum frames kept per folded stack; deeper stacks are cut (root side kept) with a
    /// warning. Default 100,000.
    pub max_stack_depth: usize,
    /// Maximum length in bytes of a function name / file name; longer ones are truncated (at a
    /// character boundary) with a warning. Default 64 KiB.
    pub max_name_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 4 << 30,
            max_depth: 2000,
            max_stack_depth: 100_000,
            max_name_len: 64 * 1024,
        }
    }
}

/// Which importer handles an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A marshal dump of a pstats dict.
    Pstats,
    /// Collapsed stacks, one `frames COUNT` per line.
    Folded,
    /// Raw `perf script` text (collapsed with inferno).
    PerfScript,
    /// A profview recording (the Python package's sampler, optionally with cProfile).
    Recording,
    /// callgrind text (yappi, pyprof2calltree), read into pstats data.
    Callgrind,
    /// pprof `profile.proto`.
    Pprof,
    /// A speedscope file.
    Speedscope,
    /// Chrome trace events.
    ChromeTrace,
    /// A V8 `.cpuprofile`.
    Cpuprofile,
    /// A pyinstrument session.
    Pyinstrument,
    /// A Firefox Profiler processed profile (CPython 3.15's `--gecko`).
    Gecko,
}

impl Kind {
    /// The model format this importer produces.
    pub fn format(self) -> Format {
        match self {
            Kind::Pstats | Kind::Callgrind => Format::Pstats,
            Kind::Folded | Kind::PerfScript => Format::Folded,
            Kind::Recording => Format::Recording,
            Kind::Pprof => Format::Pprof,
            Kind::Speedscope => Format::Speedscope,
            Kind::ChromeTrace => Format::ChromeTrace,
            Kind::Cpuprofile => Format::Cpuprofile,
            Kind::Pyinstrument => Format::Pyinstrument,
            Kind::Gecko => Format::Gecko,
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when `bytes` starts with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Gunzips `bytes` with a hard cap on the output size (multi-member streams are concatenated,
/// like `gzip -d`).
pub fn gunzip(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, ImportError> {
    use std::io::Read;
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let cap = limits.max_decompressed_bytes;
    let mut limited = decoder.take(cap.saturating_add(1));
    limited
        .read_to_end(&mut out)
        .map_err(|e| ImportError::Gzip(e.to_string()))?;
    if out.len() as u64 > cap {
        return Err(ImportError::DecompressedTooLarge { limit: cap });
    }
    Ok(out)
}

/// Decides which importer handles the input: content first, file name second. `bytes` must
/// already be decompressed (see [`import`], which gunzips first). Returns `None` when nothing
/// fits.
pub fn detect(file_name: &str, bytes: &[u8]) -> Option<Kind> {
    if recording::sniff(bytes) == Some(true) {
        return Some(Kind::Recording);
    }
    if looks_like_json(bytes) {
        // JSON goes to the JSON importers by content only; JSON of no known shape is refused.
        return json_kind(bytes);
    }
    if callgrind::sniff(bytes) == Some(true) {
        return Some(Kind::Callgrind);
    }
    let p = pstats::sniff(bytes);
    if p != Some(true) && pprof::sniff(bytes) == Some(true) {
        return Some(Kind::Pprof);
    }
    let f = folded::sniff(bytes);
    #[cfg(all(feature = "perf-script", not(target_arch = "wasm32")))]
    let s = perf::sniff(bytes);
    #[cfg(not(all(feature = "perf-script", not(target_arch = "wasm32"))))]
    let s: Option<bool> = Some(false);
    if p == Some(true) {
        return Some(Kind::Pstats);
    }
    if s == Some(true) {
        return Some(Kind::PerfScript);
    }
    if f == Some(true) {
        return Some(Kind::Folded);
    }
    // Undecided by content: use the file name.
    let name = file_name.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let by_name = if [".prof", ".pstats", ".pstat", ".cprof", ".profile", ".stats"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        Some(Kind::Pstats)
    } else if [".folded", ".collapsed", ".austin", ".txt", ".stacks"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        Some(Kind::Folded)
    } else if name.ends_with(".perf-script") || name.ends_with(".perf") {
        Some(Kind::PerfScript)
    } else if [".pb", ".pprof", ".pb.gz"].iter().any(|e| name.ends_with(e)) {
        Some(Kind::Pprof)
    } else if name.ends_with(".callgrind") || name.rsplit('/').next().is_some_and(|b| b.starts_with("callgrind.out")) {
        Some(Kind::Callgrind)
    } else {
        None
    };
    match by_name {
        Some(Kind::Pstats) if p != Some(false) => return by_name,
        Some(Kind::Folded) if f != Some(false) => return by_name,
        Some(Kind::PerfScript) if s != Some(false) => return by_name,
        Some(Kind::Callgrind) if callgrind::sniff(bytes) != Some(false) => return by_name,
        Some(Kind::Pprof) if pprof::sniff(bytes) != Some(false) => return by_name,
        _ => {}
    }
    // Last resort: anything not ruled out; text goes to the folded importer (whose errors name
    // lines), binary to the pstats importer (whose errors name byte offsets).
    let head = &bytes[..bytes.len().min(4096)];
    let texty = !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(), // only cut inside a character at the end
        };
    if texty && f.is_none() {
        Some(Kind::Folded)
    } else if texty && f == Some(false) {
        None // text that is not folded stacks: `import` names what it looks like
    } else if p.is_none() {
        Some(Kind::Pstats)
    } else if f.is_none() {
        Some(Kind::Folded)
    } else if s.is_none() {
        Some(Kind::PerfScript)
    } else {
        None
    }
}

/// Which JSON importer recognises the content (keys in the first MiB).
fn json_kind(bytes: &[u8]) -> Option<Kind> {
    if speedscope::sniff(bytes) == Some(true) {
        Some(Kind::Speedscope)
    } else if cpuprofile::sniff(bytes) == Some(true) {
        Some(Kind::Cpuprofile)
    } else if pyinstrument::sniff(bytes) == Some(true) {
        Some(Kind::Pyinstrument)
    } else if gecko::sniff(bytes) == Some(true) {
        Some(Kind::Gecko)
    } else if chrome::sniff(bytes) == Some(true) {
        Some(Kind::ChromeTrace)
    } else {
        None
    }
}

/// `{"` / `[{` / `[[` / `{}` after optional whitespace: JSON text, not marshal data (whose dict
/// is followed by a type code) nor folded stacks.
fn looks_like_json(bytes: &[u8]) -> bool {
    let mut it = bytes.iter().copied().filter(|b| !b" \t\r\n".contains(b));
    matches!(
        (it.next(), it.next()),
        (Some(b'{'), Some(b'"' | b'}')) | (Some(b'['), Some(b'{' | b'[' | b']'))
    )
}

/// Imports one file: gunzips it (when it starts with the gzip magic, within
/// [`Limits::max_decompressed_bytes`]), detects the format ([`detect`]) and parses it.
pub fn import(file_name: &str, bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if is_gzip(bytes) {
        let raw = gunzip(bytes, limits)?;
        let name = file_name.strip_suffix(".gz").unwrap_or(file_name);
        return import_plain(name, &raw, limits);
    }
    import_plain(file_name, bytes, limits)
}

pub(crate) fn import_plain(file_name: &str, bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    match detect(file_name, bytes) {
        Some(Kind::Pstats) => pstats::parse(bytes, limits),
        Some(Kind::Folded) => folded::parse(bytes, limits),
        Some(Kind::Recording) => recording::parse(bytes, limits),
        Some(Kind::Callgrind) => callgrind::parse(bytes, limits),
        Some(Kind::Pprof) => pprof::parse(bytes, limits),
        Some(Kind::Speedscope) => speedscope::parse(bytes, limits),
        Some(Kind::ChromeTrace) => chrome::parse(bytes, limits),
        Some(Kind::Cpuprofile) => cpuprofile::parse(bytes, limits),
        Some(Kind::Pyinstrument) => pyinstrument::parse(bytes, limits),
        Some(Kind::Gecko) => gecko::parse(bytes, limits),
        #[cfg(all(feature = "perf-script", not(target_arch = "wasm32")))]
        Some(Kind::PerfScript) => perf::parse(bytes, limits),
        #[cfg(not(all(feature = "perf-script", not(target_arch = "wasm32"))))]
        Some(Kind::PerfScript) => Err(ImportError::Perf(
            "support for raw perf script text is not built in".into(),
        )),
        // JSON of no known shape stays "not recognised"; other text says what it looks like.
        None if looks_like_json(bytes) => Err(ImportError::UnknownFormat),
        None => Err(folded::refusal(bytes).unwrap_or(ImportError::UnknownFormat)),
    }
}

/// Imports several files as one profile. pstats files are summed like `pstats.Stats.add`
/// (element-wise stats and callers, union of functions in first-seen order, totals added);
/// folded files have their samples concatenated (functions and threads interned by value).
/// Mixing pstats with folded input, cProfile with `profile` callers, or folded files of
/// different units is an error. Errors from one file are prefixed with its name.
pub fn import_many(inputs: &[(&str, &[u8])], limits: &Limits) -> Result<Imported, ImportError> {
    if inputs.is_empty() {
        return Err(ImportError::Merge("no input files".into()));
    }
    let mut parts = Vec::with_capacity(inputs.len());
    for (name, bytes) in inputs {
        let one = import(name, bytes, limits).map_err(|e| {
            if inputs.len() > 1 {
                ImportError::Merge(format!("{name}: {e}"))
            } else {
                e
            }
        })?;
        parts.push((*name, one));
    }
    if parts.len() == 1 {
        let (_, one) = parts
            .pop()
            .ok_or_else(|| ImportError::Merge("no input files".into()))?;
        return Ok(one);
    }
    merge::merge(parts)
}

pub(crate) fn finish(
    profile: Profile,
    warnings: Vec<ImportWarning>,
) -> Result<Imported, ImportError> {
    finish_nested(profile, warnings, None)
}

/// [`finish`] with the folded parser's [`Imported::nested`] bits.
pub(crate) fn finish_nested(
    profile: Profile,
    warnings: Vec<ImportWarning>,
    nested: Option<Vec<u64>>,
) -> Result<Imported, ImportError> {
    profile.check_valid().map_err(ImportError::Invalid)?;
    Ok(Imported { profile, warnings, nested })
}

/// Truncates `s` to at most `max` bytes at a character boundary; returns whether it cut.
pub(crate) fn truncate_name(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    s.truncate(boundary_at_or_below(s, max));
    true
}

/// The largest character boundary of `s` at or below `max` (0 always is one).
pub(crate) fn boundary_at_or_below(s: &str, max: usize) -> usize {
    let mut cut = max.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}
