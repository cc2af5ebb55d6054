//! Collapsed ("folded") stacks: `frame;frame;...;leaf COUNT`, one line per stack.
//!
//! Dialects (decided from the header comments and the first line with frames):
//! * Gregg / inferno: plain frames. A trailing `_[k]`/`_[j]`/`_[i]`/`_[w]` annotation is
//!   stripped from the name and kept in [`Function::file`] as `[kernel]`/`[jit]`/`[inlined]`/
//!   `[waker]`; a `comm-pid/tid` root frame becomes the thread. Either makes the dialect perf.
//! * py-spy: `func (file:line)` / `func (file)`; leading `process PID:"cmd"` and
//!   `thread (TID)[: name]` frames become the thread (id `TID`, or `PID/.../TID`).
//! * austin: `# key: value` header (mode → unit), `P<pid>;T<iid>:<tid>` → thread (id is that
//!   text), frames `file:func:line` split on the last two colons, metric `time,idle,rss` → first
//!   component, negative memory deltas allowed.
//! * Tachyon (CPython 3.15 `profiling.sampling` collapsed): `tid:N;file:func:line`.
//!
//! Lines: CRLF, a BOM, blank lines and `#` comments are skipped; the count is the text after the
//! last space or tab (integer or fraction); the stack before it is trimmed. Empty frames (`a;;b`)
//! are dropped with a warning; a line with an empty stack (py-spy ` 35`) is a sample with no
//! frames; a line without a count is skipped with a warning. Counts are checked (no wrap).
//! Frames are interned by their raw bytes, so the hot loop does one hash lookup per frame.
//!
//! `dialect` decides the dialect and splits frames into name, file and line; `lines` parses a
//! line (comments, the count); `threads` takes the thread from a line's pseudo-frames; `stacks`
//! interns frames and functions into the prefix tree and aggregates the samples.

mod dialect;
mod lines;
mod stacks;
mod threads;

use std::sync::Arc;

use memchr::{memchr, memrchr2};
use profview_model::{Dialect, Format, FuncId, Function, Profile, Sample, SampleData, StackTable, Thread, Unit, NO_PARENT};

use crate::hash::{FxMap, IdTable};
use crate::{finish_nested, ImportError, ImportWarning, Imported, Limits};

use dialect::Mode;
use lines::{is_ws, trim};
use stacks::{PrevFrame, LONG, LOSSY};

/// No thread / no node yet.
const NONE: u32 = u32::MAX;

/// The raw frames a parser had interned, shared read-only with the forks that parse the next
/// pieces ([`FoldedParser::fork_known`]). A fork takes a known frame's function from here (the
/// merged profile's id) instead of decoding and interning it again, and its join then maps only
/// the frames that were new to it: the frames of a big file are mostly the same few thousand
/// in every piece.
#[derive(Debug, Default)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))] // only the parallel drivers (native) fork so
pub(crate) struct KnownFrames {
    bytes: Vec<u8>,
    span: Vec<(usize, usize)>,
    func: Vec<u32>,
    table: IdTable,
    /// Functions of the parser when the frames were taken: a fork numbers its own from here.
    funcs: u32,
    /// Those functions and their (name, file, line) table: a frame new to the fork whose
    /// function is known (another spelling of it, a name cut to the same prefix) takes the
    /// known id, so that one function has one id in the fork as in the merged profile (a
    /// node's children and its nested bit depend on it).
    functions: Vec<Function>,
    func_table: IdTable,
}

impl KnownFrames {
    /// The id of a known function.
    #[inline]
    fn find_function(&self, h: u64, name: &str, file: &str, line: i64) -> Option<u32> {
        stacks::find_function(&self.func_table, &self.functions, h, name, file, line)
    }

    /// The function of a known raw frame (`h`: its `hash_bytes`).
    #[inline]
    fn find(&self, h: u64, raw: &[u8]) -> Option<u32> {
        let r = stacks::find_raw(&self.table, &self.bytes, &self.span, h, raw)?;
        Some(self.func[r as usize])
    }
}

/// How many nodes (and samples) ahead a merge starts the loads of its table lookups
/// (`prefetch.rs`): far enough for a cache miss to complete, near enough to stay in cache.
const AHEAD: usize = 8;

/// `Some(true)` when the first data line ends with a count (or an austin header is present);
/// `Some(false)` for binary data, and for text most of whose first data lines (up to 200 in the
/// first 64 KiB) have no count (callgrind, prose, JSON: see [`refusal`]); `None` when undecided.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    if bytes.is_empty() {
        return None;
    }
    let head = &bytes[..bytes.len().min(4096)];
    if head.contains(&0) {
        return Some(false);
    }
    let mut rest = bytes;
    if rest.starts_with(b"\xEF\xBB\xBF") {
        rest = &rest[3..];
    }
    if let Some(&c) = rest.iter().find(|b| !is_ws(**b) && **b != b'\n') {
        if c == b'{' {
            return Some(false); // JSON (speedscope, chrome trace, cpuprofile)
        }
    }
    let h = head_stats(rest);
    if h.austin {
        return Some(true);
    }
    if h.bad > h.good {
        return Some(false);
    }
    h.first
}

/// What the first data lines of a text look like.
struct HeadStats {
    /// The first data line's verdict, as `sniff` has always given it.
    first: Option<bool>,
    good: u64,
    bad: u64,
    first_bad_line: u64,
    austin: bool,
}

fn has_count(t: &[u8]) -> bool {
    let Some(sp) = memrchr2(b' ', b'\t', t) else { return false };
    let c = &t[sp + 1..];
    let c = match memchr(b',', c) {
        Some(i) => &c[..i],
        None => c,
    };
    let c = c.strip_prefix(b"-").unwrap_or(c);
    !c.is_empty() && c.iter().all(|b| b.is_ascii_digit() || *b == b'.') && c[0].is_ascii_digit()
}

fn head_stats(bytes: &[u8]) -> HeadStats {
    // The first data line is read whole (it may be megabytes long); further lines only while
    // within the first 64 KiB.
    let mut rest = bytes;
    let mut h = HeadStats { first: None, good: 0, bad: 0, first_bad_line: 0, austin: false };
    let mut line_no = 0u64;
    let mut seen_data = false;
    while !rest.is_empty() && h.good + h.bad < 200 {
        if seen_data && bytes.len() - rest.len() > 64 * 1024 {
            break;
        }
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        line_no += 1;
        let t = trim(line);
        if t.is_empty() {
            continue;
        }
        if t[0] == b'#' {
            if t.starts_with(b"# austin:") && !seen_data {
                h.austin = true;
                return h;
            }
            continue;
        }
        let ok = has_count(t);
        if !seen_data {
            seen_data = true;
            // As before: no space at all = undecided, a space without a count = undecided.
            h.first = if ok { Some(true) } else { None };
        }
        if ok {
            h.good += 1;
        } else {
            if h.bad == 0 {
                h.first_bad_line = line_no;
            }
            h.bad += 1;
        }
    }
    h
}

/// The error for text that is not folded stacks because most of its first data lines have no
/// count, naming what it looks like; `None` when it is not such text.
pub fn refusal(bytes: &[u8]) -> Option<ImportError> {
    let head = &bytes[..bytes.len().min(4096)];
    let texty = !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
    if !texty {
        return None;
    }
    let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let h = head_stats(rest);
    if h.austin || h.bad <= h.good {
        return None;
    }
    let lines: Vec<&[u8]> = rest
        .split(|&b| b == b'\n')
        .map(trim)
        .filter(|t| !t.is_empty() && t[0] != b'#')
        .take(HEAD_LINES)
        .collect();
    Some(not_folded(h.first_bad_line, h.bad, h.good + h.bad, &lines, bytes))
}

/// How many data lines are kept for naming what a refused file looks like.
pub(crate) const HEAD_LINES: usize = 32;

fn not_folded(line: u64, bad: u64, total: u64, head: &[&[u8]], whole: &[u8]) -> ImportError {
    ImportError::Folded {
        line,
        message: format!(
            "not folded stacks: {bad} of {total} data lines have no `COUNT` after the last space; looks like {}",
            looks_like(head, whole)
        ),
    }
}

/// What a text that is not folded stacks looks like, from its first data lines.
fn looks_like(head: &[&[u8]], whole: &[u8]) -> &'static str {
    let mut joined = Vec::new();
    for l in head {
        joined.extend_from_slice(l);
        joined.push(b'\n');
    }
    let first = head.first().and_then(|l| l.first()).copied();
    if crate::callgrind::sniff(&joined) == Some(true) {
        "callgrind text"
    } else if matches!(first, Some(b'{' | b'[')) {
        "JSON"
    } else if first == Some(b'<') {
        "HTML or XML"
    } else if perf_like(if whole.is_empty() { &joined } else { whole }) {
        "perf script text (not collapsed)"
    } else {
        "prose / not a profile"
    }
}

#[cfg(all(feature = "perf-script", not(target_arch = "wasm32")))]
fn perf_like(whole: &[u8]) -> bool {
    crate::perf::sniff(whole) == Some(true)
}

#[cfg(not(all(feature = "perf-script", not(target_arch = "wasm32"))))]
fn perf_like(_: &[u8]) -> bool {
    false
}

/// Parses a whole folded file.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let mut p = FoldedParser::new(limits.clone());
    p.feed(bytes);
    p.finish()
}

/// A problem counter: how often, and the first line.
#[derive(Default, Debug)]
struct Tally {
    count: u64,
    first_line: u64,
}

impl Tally {
    fn hit(&mut self, line: u64) {
        self.hit_n(line, 1);
    }
    fn hit_n(&mut self, line: u64, n: u64) {
        if n == 0 {
            return;
        }
        if self.count == 0 {
            self.first_line = line;
        }
        self.count += n;
    }
    /// Adds the counts of a later part of the input whose line 1 is line `offset + 1` here.
    fn absorb(&mut self, later: &Tally, offset: u64) {
        self.hit_n(later.first_line + offset, later.count);
    }
}


/// Incremental parser for folded stacks: feed chunks of any size (lines may be split across
/// chunks), then call [`finish`](FoldedParser::finish). Memory is proportional to the distinct
/// frames, stacks and (stack, thread) pairs, not to the input size.
///
/// ```
/// use profview_import::{FoldedParser, Limits};
/// let mut p = FoldedParser::new(Limits::default());
/// p.feed(b"main;wo");
/// p.feed(b"rk 3\nmain 1");
/// let out = p.finish().unwrap();
/// assert_eq!(out.profile.samples.unwrap().total(), 4.0);
/// ```
#[derive(Debug)]
pub struct FoldedParser {
    limits: Limits,
    carry: Vec<u8>,
    line_no: u64,
    at_start: bool,
    mode: Option<Mode>,
    forced: Option<Dialect>,
    austin_header: bool,
    austin_mode: Option<String>,
    // interning: raw frame bytes (arena) → function
    frame_bytes: Vec<u8>,
    frame_span: Vec<(usize, usize)>,
    frame_hash: Vec<u64>,
    frame_func: Vec<u32>,
    frame_table: IdTable,
    /// Raw frames that were decoded lossily or truncated: (raw frame, line, flags). Kept so a
    /// [`join`](FoldedParser::join) counts each such frame once, at its first line.
    flagged: Vec<(u32, u64, u8)>,
    /// (name, file, line) → function (its index in `functions`).
    func_table: IdTable,
    functions: Vec<Function>,
    /// A fork's view of the frames its merge knew when it began (see [`KnownFrames`]); the
    /// fork's own functions are numbered from `func_base` (their count) on.
    known: Option<Arc<KnownFrames>>,
    func_base: u32,
    prefixes: FxMap<Box<[u8]>, u32>,
    threads: Vec<Thread>,
    thread_ids: FxMap<String, u32>,
    default_thread: u32,
    // stacks: the prefix tree as columns (depths are computed in `finish`)
    parent: Vec<u32>,
    func: Vec<u32>,
    /// (parent, func) → node.
    child_table: IdTable,
    /// Bit per node: its function is on its parent's stack already (recursion), see
    /// [`Imported::nested`].
    nested: Vec<u64>,
    /// Per function (one entry each, pushed as it is interned): how many entries of
    /// `prev_state` (the current line's path) added it.
    path_count: Vec<u32>,
    // samples, aggregated per (node, thread)
    samples: Vec<Sample>,
    sample_table: IdTable,
    /// The frames part of the previous sample line and the parse state after each of its
    /// frames: a line that starts with the same bytes resumes there without any lookup.
    prev: Vec<u8>,
    prev_state: Vec<PrevFrame>,
    // bookkeeping
    sample_lines: u64,
    abs_total: f64,
    saw_annotation: bool,
    saw_perf_thread: bool,
    malformed: Tally,
    bad_count: Tally,
    overflow: Tally,
    negative: Tally,
    empty_frames: Tally,
    lossy: Tally,
    long_names: Tally,
    deep: Tally,
    /// The first data lines (each cut at 256 bytes), to name what a refused file looks like.
    head: Vec<Vec<u8>>,
}

impl FoldedParser {
    /// A parser that detects the dialect from the input.
    pub fn new(limits: Limits) -> Self {
        FoldedParser {
            limits,
            carry: Vec::new(),
            line_no: 0,
            at_start: true,
            mode: None,
            forced: None,
            austin_header: false,
            austin_mode: None,
            frame_bytes: Vec::new(),
            frame_span: Vec::new(),
            frame_hash: Vec::new(),
            frame_func: Vec::new(),
            frame_table: IdTable::default(),
            flagged: Vec::new(),
            func_table: IdTable::default(),
            functions: Vec::new(),
            known: None,
            func_base: 0,
            prefixes: FxMap::default(),
            threads: Vec::new(),
            thread_ids: FxMap::default(),
            default_thread: NONE,
            parent: Vec::new(),
            func: Vec::new(),
            child_table: IdTable::default(),
            nested: Vec::new(),
            path_count: Vec::new(),
            samples: Vec::new(),
            sample_table: IdTable::default(),
            prev: Vec::new(),
            prev_state: Vec::new(),
            sample_lines: 0,
            abs_total: 0.0,
            saw_annotation: false,
            saw_perf_thread: false,
            malformed: Tally::default(),
            bad_count: Tally::default(),
            overflow: Tally::default(),
            negative: Tally::default(),
            empty_frames: Tally::default(),
            lossy: Tally::default(),
            long_names: Tally::default(),
            deep: Tally::default(),
            head: Vec::new(),
        }
    }

    /// A parser for a known dialect (frames are split the way that producer writes them).
    pub fn with_dialect(limits: Limits, dialect: Dialect) -> Self {
        let mut p = Self::new(limits);
        p.mode = Some(match dialect {
            Dialect::PySpy => Mode::PySpy,
            Dialect::Austin => Mode::Austin,
            Dialect::Tachyon => Mode::Tachyon,
            _ => Mode::Gregg,
        });
        p.forced = Some(dialect);
        p
    }

    /// Feeds the next chunk of input.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if !self.carry.is_empty() {
            match memchr(b'\n', rest) {
                Some(i) => {
                    self.carry.extend_from_slice(&rest[..i]);
                    rest = &rest[i + 1..];
                    let line = std::mem::take(&mut self.carry);
                    self.line(&line);
                    self.carry = line;
                    self.carry.clear();
                }
                None => {
                    self.carry.extend_from_slice(rest);
                    return;
                }
            }
        }
        while let Some(i) = memchr(b'\n', rest) {
            self.line(&rest[..i]);
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            self.carry.extend_from_slice(rest);
        }
    }

    /// True once the input seen so far fixes the dialect (the first line with frames, or an
    /// austin header, or [`with_dialect`](FoldedParser::with_dialect)) and no partial line is
    /// pending: from here on the rest of the input may be cut at line ends and parsed in
    /// pieces by [`fork`](FoldedParser::fork)ed parsers, then [`join`](FoldedParser::join)ed,
    /// with the same result as feeding it all to this parser.
    pub fn can_fork(&self) -> bool {
        self.mode.is_some() && self.carry.is_empty()
    }

    /// Feeds whole lines from the start of `bytes` until [`can_fork`](FoldedParser::can_fork)
    /// holds (or `bytes` has no further complete line); returns how many bytes were consumed
    /// (always at a line end). Feed the rest to forks, or call this again with more input.
    pub fn feed_until_forkable(&mut self, bytes: &[u8]) -> usize {
        let mut used = 0;
        while !self.can_fork() {
            match memchr(b'\n', &bytes[used..]) {
                Some(i) => {
                    self.feed(&bytes[used..used + i + 1]);
                    used += i + 1;
                }
                None => break,
            }
        }
        used
    }

    /// A new, empty parser for input that continues this one's: same limits and dialect, line
    /// numbers counted from its own start (fixed by [`join`](FoldedParser::join)). Forks are
    /// independent (each interns its own frames and stacks) and can run on other threads.
    /// Forking before [`can_fork`](FoldedParser::can_fork) holds is allowed, but then a fork
    /// decides the dialect from its own lines, which may differ from a serial parse.
    pub fn fork(&self) -> FoldedParser {
        let mut p = FoldedParser::new(self.limits.clone());
        p.mode = self.mode;
        p.forced = self.forced;
        p.austin_header = self.austin_header;
        p.at_start = self.at_start && self.carry.is_empty() && self.line_no == 0;
        p
    }

    /// [`fork`](Self::fork), for a piece that will be joined into the parser `known` was taken
    /// from ([`known_frames`](Self::known_frames)) or into one that has parsed more since.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn fork_known(&self, known: Arc<KnownFrames>) -> FoldedParser {
        let mut p = self.fork();
        p.func_base = known.funcs;
        p.path_count = vec![0; known.funcs as usize];
        p.known = Some(known);
        p
    }

    /// The frames interned so far, for forks ([`fork_known`](Self::fork_known)): a fork then
    /// interns (and its join looks up) only the frames that are new to them.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn known_frames(&self) -> KnownFrames {
        KnownFrames {
            bytes: self.frame_bytes.clone(),
            span: self.frame_span.clone(),
            func: self.frame_func.clone(),
            table: self.frame_table.clone(),
            funcs: self.func_base + self.functions.len() as u32,
            functions: self.functions.clone(),
            func_table: self.func_table.clone(),
        }
    }

    /// Raw frames interned so far.
    #[cfg(not(target_arch = "wasm32"))]
    #[mutants::skip] // mutants: when the forks' frames are renewed; any answer gives the same profile
    pub(crate) fn frame_count(&self) -> usize {
        self.frame_span.len()
    }

    /// In a join's pass over `later`'s nodes, at node `n`: starts the loads of the lookup of
    /// node `n + AHEAD` when its parent is mapped already (`nmap`; `ours` maps functions).
    #[inline]
    #[mutants::skip] // mutants: a cache hint; no result can depend on it
    fn prefetch_ahead(&self, later: &FoldedParser, nmap: &[u32], ours: &impl Fn(u32) -> u32, n: usize) {
        if let Some(&q) = later.parent.get(n + AHEAD) {
            if q != NO_PARENT && (q as usize) < n {
                self.prefetch_child(nmap[q as usize], ours(later.func[n + AHEAD]));
            }
        }
    }

    /// Appends a fork's result: `later` parsed the input that directly follows everything fed
    /// to `self` (cut at a line end; if it was not, the cut counts as a line end). Functions,
    /// threads, stacks and samples are merged in first-seen order, warnings keep global line
    /// numbers, so feeding pieces to forks and joining them in input order gives the profile a
    /// serial parse gives. (Sample weights are summed per piece and then across pieces; with
    /// integer counts below 2^53 — every sampler's output — that is bit-identical, otherwise
    /// it may differ in the last bits.)
    pub fn join(&mut self, mut later: FoldedParser) {
        self.flush();
        later.flush();
        if self.mode.is_none() {
            self.mode = later.mode;
        }
        self.austin_header |= later.austin_header;
        if later.austin_mode.is_some() {
            self.austin_mode = later.austin_mode.take();
        }
        let offset = self.line_no;
        if later.line_no > 0 {
            self.at_start = false;
        }
        // Raw frames and functions. A fork's functions below its `func_base` are ours already
        // (frames it found in its `known`); `fmap` maps the others, by index from there.
        let base = later.func_base;
        let mut fmap = vec![NONE; later.functions.len()];
        let mut new_raw = vec![NONE; later.frame_span.len()];
        for (r, &(s, l)) in later.frame_span.iter().enumerate() {
            let raw = &later.frame_bytes[s..s + l];
            let h = later.frame_hash[r];
            // The fork's function: one of ours (below `base`) or its own, by index in `fmap`.
            let lf = later.frame_func[r];
            let own = lf.checked_sub(base).map(|i| i as usize);
            let gf = match stacks::find_raw(&self.frame_table, &self.frame_bytes, &self.frame_span, h, raw) {
                Some(g) => self.frame_func[g as usize],
                None => {
                    let gf = match own {
                        None => lf,
                        Some(i) => {
                            let f = &later.functions[i];
                            self.intern_function(&f.name, &f.file, f.line)
                        }
                    };
                    new_raw[r] = self.push_frame(raw, h, gf);
                    gf
                }
            };
            if let Some(i) = own {
                fmap[i] = gf;
            }
        }
        for &(r, line, flags) in &later.flagged {
            let g = new_raw[r as usize];
            if g != NONE {
                if flags & LOSSY != 0 {
                    self.lossy.hit(line + offset);
                }
                if flags & LONG != 0 {
                    self.long_names.hit(line + offset);
                }
                self.flagged.push((g, line + offset, flags));
            }
        }
        // Threads.
        let tmap: Vec<u32> = std::mem::take(&mut later.threads)
            .into_iter()
            .map(|t| self.thread_named(t.id, t.name))
            .collect();
        // Stacks: parents precede children, so one pass in node order.
        let mut nmap: Vec<u32> = Vec::with_capacity(later.parent.len());
        // Nodes new here: no sample of theirs is here yet (and `later` has one per thread).
        let mut created: Vec<bool> = Vec::with_capacity(later.parent.len());
        let mut fresh_prev = false;
        // A function of the fork as ours.
        let ours = |lf: u32| if lf < base { lf } else { fmap[(lf - base) as usize] };
        for n in 0..later.parent.len() {
            self.prefetch_ahead(&later, &nmap, &ours, n);
            let p = later.parent[n];
            let gp = if p == NO_PARENT { NO_PARENT } else { nmap[p as usize] };
            let gf = ours(later.func[n]);
            // A node whose parent is the node created just before it and was new here is new
            // and sequential here too; a node whose parent was new here is new.
            let parent_new = p != NO_PARENT && created[p as usize];
            let parent_fresh = fresh_prev && parent_new && p as usize + 1 == n;
            let (g, fresh) = self.child(gp, gf, parent_fresh, parent_new, later.is_nested(n));
            nmap.push(g);
            created.push(fresh);
            fresh_prev = fresh;
        }
        drop(std::mem::take(&mut later.parent));
        drop(std::mem::take(&mut later.func));
        drop(std::mem::take(&mut later.nested));
        later.child_table.clear();
        // Samples.
        let samples = std::mem::take(&mut later.samples);
        let place = |smp: &Sample| smp.stack().map_or((NO_PARENT, false), |s| (nmap[s.idx()], created[s.idx()]));
        for (i, smp) in samples.iter().enumerate() {
            if let Some(ahead) = samples.get(i + AHEAD) {
                let (node, _) = place(ahead);
                self.prefetch_sample(node, tmap[ahead.thread.idx()]);
            }
            let (node, new) = place(smp);
            self.add_sample(node, tmap[smp.thread.idx()], smp.weight, new);
        }
        // Per-line problem counts and totals.
        self.malformed.absorb(&later.malformed, offset);
        self.bad_count.absorb(&later.bad_count, offset);
        self.overflow.absorb(&later.overflow, offset);
        self.negative.absorb(&later.negative, offset);
        self.empty_frames.absorb(&later.empty_frames, offset);
        self.deep.absorb(&later.deep, offset);
        self.sample_lines += later.sample_lines;
        self.abs_total += later.abs_total;
        self.saw_annotation |= later.saw_annotation;
        self.saw_perf_thread |= later.saw_perf_thread;
        self.line_no += later.line_no;
        if self.head.len() < HEAD_LINES {
            let room = HEAD_LINES - self.head.len();
            self.head.extend(later.head.into_iter().take(room));
        }
    }

    /// Parses a pending partial line (the input ends, or a join cuts there).
    pub(crate) fn flush(&mut self) {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line);
        }
    }

    /// Ends the input and builds the profile.
    pub fn finish(mut self) -> Result<Imported, ImportError> {
        self.flush();
        let mut w = Vec::new();
        let t = |w: &mut Vec<ImportWarning>, t: &Tally, what: &str| {
            if t.count > 0 {
                w.push(ImportWarning::new(format!(
                    "{} {what} (first on line {})",
                    t.count, t.first_line
                )));
            }
        };
        t(
            &mut w,
            &self.malformed,
            "line(s) without a `COUNT` after the last space were skipped",
        );
        t(
            &mut w,
            &self.bad_count,
            "line(s) with an invalid count were skipped",
        );
        t(
            &mut w,
            &self.overflow,
            "line(s) with a count out of range (over 2^64) were skipped",
        );
        t(&mut w, &self.negative, "line(s) with a negative count were skipped (only austin memory deltas may be negative)");
        t(
            &mut w,
            &self.empty_frames,
            "empty frame(s) (`;;`, leading or trailing `;`) were dropped",
        );
        t(
            &mut w,
            &self.lossy,
            "frame(s) with invalid UTF-8 were decoded lossily (U+FFFD)",
        );
        let ml = self.limits.max_name_len;
        t(
            &mut w,
            &self.long_names,
            &format!("name(s) longer than {ml} bytes were truncated"),
        );
        let md = self.limits.max_stack_depth;
        t(
            &mut w,
            &self.deep,
            &format!("stack(s) deeper than {md} frames were cut (root side kept)"),
        );
        if self.abs_total > 9_007_199_254_740_992.0 {
            w.push(ImportWarning::new(
                "weights sum beyond 2^53: totals are rounded to the nearest double",
            ));
        }
        // Mostly lines without a count: this is not folded text (callgrind, JSON, a README, ...),
        // a few lines of which happen to end in a number.
        let bad_lines = self.malformed.count + self.bad_count.count;
        if bad_lines > self.sample_lines {
            let head: Vec<&[u8]> = self.head.iter().map(|l| &l[..]).collect();
            let first = self.malformed.first_line.min(if self.bad_count.count > 0 { self.bad_count.first_line } else { u64::MAX });
            return Err(not_folded(first, bad_lines, bad_lines + self.sample_lines, &head, &[]));
        }
        if self.sample_lines == 0 {
            return Err(ImportError::NoSamples);
        }
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let dialect = match (self.forced, mode) {
            (Some(d), _) => d,
            (None, Mode::PySpy) => Dialect::PySpy,
            (None, Mode::Austin) => Dialect::Austin,
            (None, Mode::Tachyon) => Dialect::Tachyon,
            (None, Mode::Gregg) if self.saw_annotation || self.saw_perf_thread => Dialect::Perf,
            (None, Mode::Gregg) => Dialect::Gregg,
        };
        let unit = match dialect {
            Dialect::Austin => match self.austin_mode.as_deref() {
                Some("memory") => Unit::Bytes,
                _ => Unit::Microseconds,
            },
            _ => Unit::Samples,
        };
        // py-spy, austin and Tachyon write the line each frame was executing, not where its
        // function starts; Gregg and perf frames carry no line (always 0), so any line says so.
        let lines_are_current = self.functions.iter().any(|f| f.line > 0);
        let profile = Profile {
            format: Format::Folded,
            dialect,
            unit,
            functions: self.functions,
            threads: self.threads,
            pstats: None,
            samples: Some(SampleData {
                stacks: StackTable::default(),
                samples: Vec::new(),
            }),
            lines_are_current,
        };
        // Free the lookup tables before the profile is handed on (peak memory).
        self.child_table.clear();
        self.sample_table.clear();
        self.frame_table.clear();
        self.frame_bytes = Vec::new();
        self.prev = Vec::new();
        self.path_count = Vec::new();
        let nested = std::mem::take(&mut self.nested);
        let func: Vec<FuncId> = std::mem::take(&mut self.func).into_iter().map(FuncId).collect();
        let mut profile = profile;
        profile.samples = Some(SampleData {
            stacks: StackTable {
                parent: std::mem::take(&mut self.parent),
                func,
            },
            samples: std::mem::take(&mut self.samples),
        });
        finish_nested(profile, w, Some(nested))
    }
}
