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

use memchr::{memchr, memrchr2};
use profview_model::{
    Dialect, Format, FuncId, Function, Profile, Sample, SampleData, StackTable, Thread,
    ThreadId, Unit, NO_PARENT,
};

use crate::hash::{hash_bytes, hash_pair, FxMap, IdTable};
use crate::{finish, ImportError, ImportWarning, Imported, Limits};

/// `Some(true)` when the first data line ends with a count (or an austin header is present);
/// `Some(false)` for binary data; `None` when undecided.
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
    let mut budget = 1000;
    while !rest.is_empty() && budget > 0 {
        budget -= 1;
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let t = trim(line);
        if t.is_empty() {
            continue;
        }
        if t[0] == b'#' {
            if t.starts_with(b"# austin:") {
                return Some(true);
            }
            continue;
        }
        let sp = memrchr2(b' ', b'\t', t)?;
        let c = &t[sp + 1..];
        let c = match memchr(b',', c) {
            Some(i) => &c[..i],
            None => c,
        };
        let c = c.strip_prefix(b"-").unwrap_or(c);
        let ok = !c.is_empty()
            && c.iter().all(|b| b.is_ascii_digit() || *b == b'.')
            && c[0].is_ascii_digit();
        return if ok { Some(true) } else { None };
    }
    None
}

/// Parses a whole folded file.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let mut p = FoldedParser::new(limits.clone());
    p.feed(bytes);
    p.finish()
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Gregg,
    PySpy,
    Austin,
    Tachyon,
}

const NONE: u32 = u32::MAX;

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

/// The parse state after one frame of the previous line (see `FoldedParser::prev`).
#[derive(Clone, Copy, Debug)]
struct PrevFrame {
    /// Where the frame ends (exclusive; the byte there, if any, is the `;`).
    end: usize,
    /// Empty frames met so far on the line.
    empties: usize,
    /// The node reached.
    node: u32,
    /// Frames kept so far.
    depth: u32,
}

const LOSSY: u8 = 1;
const LONG: u8 = 2;

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
    /// (name, file, line) → function.
    func_table: IdTable,
    functions: Vec<Function>,
    prefixes: FxMap<Box<[u8]>, u32>,
    threads: Vec<Thread>,
    thread_ids: FxMap<String, u32>,
    default_thread: u32,
    // stacks: the prefix tree as columns (depths are computed in `finish`)
    parent: Vec<u32>,
    func: Vec<u32>,
    /// (parent, func) → node.
    child_table: IdTable,
    // samples, aggregated per (node, thread)
    samples: Vec<Sample>,
    sample_table: IdTable,
    /// The frames part of the previous sample line and the parse state after each of its
    /// frames: a line that starts with the same bytes resumes there without any lookup.
    prev: Vec<u8>,
    prev_state: Vec<PrevFrame>,
    // bookkeeping
    sample_lines: u64,
    first_sample_line: u64,
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
            prefixes: FxMap::default(),
            threads: Vec::new(),
            thread_ids: FxMap::default(),
            default_thread: NONE,
            parent: Vec::new(),
            func: Vec::new(),
            child_table: IdTable::default(),
            samples: Vec::new(),
            sample_table: IdTable::default(),
            prev: Vec::new(),
            prev_state: Vec::new(),
            sample_lines: 0,
            first_sample_line: 0,
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
        // Raw frames and functions.
        let mut fmap = vec![NONE; later.functions.len()];
        let mut new_raw = vec![NONE; later.frame_span.len()];
        for (r, &(s, l)) in later.frame_span.iter().enumerate() {
            let raw = &later.frame_bytes[s..s + l];
            let h = later.frame_hash[r];
            let lf = later.frame_func[r] as usize;
            let (fb, span) = (&self.frame_bytes, &self.frame_span);
            let found = self.frame_table.find(h, |x| {
                let (s, l) = span[x as usize];
                fb[s..s + l] == *raw
            });
            let gf = match found {
                Some(g) => self.frame_func[g as usize],
                None => {
                    let gf = if fmap[lf] != NONE {
                        fmap[lf]
                    } else {
                        let f = &later.functions[lf];
                        self.intern_function(&f.name, &f.file, f.line)
                    };
                    new_raw[r] = self.push_frame(raw, h, gf);
                    gf
                }
            };
            fmap[lf] = gf;
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
        let mut fresh_prev = false;
        for n in 0..later.parent.len() {
            let p = later.parent[n];
            let gp = if p == NO_PARENT { NO_PARENT } else { nmap[p as usize] };
            let gf = fmap[later.func[n] as usize];
            // A node whose parent is the node created just before it and was new here is new
            // and sequential here too.
            let parent_fresh = fresh_prev && p != NO_PARENT && p as usize + 1 == n;
            let (g, fresh) = self.child(gp, gf, parent_fresh);
            nmap.push(g);
            fresh_prev = fresh;
        }
        drop(std::mem::take(&mut later.parent));
        drop(std::mem::take(&mut later.func));
        later.child_table.clear();
        // Samples.
        for smp in std::mem::take(&mut later.samples) {
            let node = smp.stack().map_or(NO_PARENT, |s| nmap[s.idx()]);
            self.add_sample(node, tmap[smp.thread.idx()], smp.weight, false);
        }
        // Per-line problem counts and totals.
        self.malformed.absorb(&later.malformed, offset);
        self.bad_count.absorb(&later.bad_count, offset);
        self.overflow.absorb(&later.overflow, offset);
        self.negative.absorb(&later.negative, offset);
        self.empty_frames.absorb(&later.empty_frames, offset);
        self.deep.absorb(&later.deep, offset);
        if self.sample_lines == 0 && later.sample_lines > 0 {
            self.first_sample_line = later.first_sample_line + offset;
        }
        self.sample_lines += later.sample_lines;
        self.abs_total += later.abs_total;
        self.saw_annotation |= later.saw_annotation;
        self.saw_perf_thread |= later.saw_perf_thread;
        self.line_no += later.line_no;
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
        if self.sample_lines == 0 {
            return Err(ImportError::NoSamples);
        }
        // Mostly lines without a count, starting with one: this is not folded text (JSON, a
        // README, ...), a few lines of which happen to end in a number.
        let bad_lines = self.malformed.count + self.bad_count.count;
        if bad_lines > self.sample_lines && self.malformed.first_line < self.first_sample_line {
            return Err(ImportError::Folded {
                line: self.malformed.first_line,
                message: format!(
                    "not folded stacks: {bad_lines} of {} data lines have no `COUNT` after the last space",
                    bad_lines + self.sample_lines
                ),
            });
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
        };
        // Free the lookup tables before the profile is handed on (peak memory).
        self.child_table.clear();
        self.sample_table.clear();
        self.frame_table.clear();
        self.frame_bytes = Vec::new();
        self.prev = Vec::new();
        let func: Vec<FuncId> = std::mem::take(&mut self.func).into_iter().map(FuncId).collect();
        let mut profile = profile;
        profile.samples = Some(SampleData {
            stacks: StackTable {
                parent: std::mem::take(&mut self.parent),
                func,
            },
            samples: std::mem::take(&mut self.samples),
        });
        finish(profile, w)
    }

    fn line(&mut self, raw: &[u8]) {
        self.line_no += 1;
        let mut l = raw;
        if self.at_start {
            self.at_start = false;
            if let Some(r) = l.strip_prefix(b"\xEF\xBB\xBF") {
                l = r;
            }
        }
        // Trailing whitespace (and the `\r` of CRLF).
        while let [rest @ .., last] = l {
            if is_ws(*last) {
                l = rest;
            } else {
                break;
            }
        }
        let Some(&first_nonws) = l.iter().find(|b| !is_ws(**b)) else {
            return;
        };
        if first_nonws == b'#' {
            self.comment(trim(l));
            return;
        }
        let line_no = self.line_no;
        let Some(sp) = memrchr2(b' ', b'\t', l) else {
            self.malformed.hit(line_no);
            return;
        };
        let stack = trim(&l[..sp]);
        if self.mode.is_none() && !stack.is_empty() {
            self.mode = Some(decide(stack));
        }
        let Some(weight) = self.count(&l[sp + 1..]) else {
            return;
        };
        if self.sample_lines == 0 {
            self.first_sample_line = line_no;
        }
        self.sample_lines += 1;
        self.abs_total += weight.abs();
        let (thread, frames) = self.thread_of(stack);
        self.frames_of(frames, thread, weight);
    }

    fn comment(&mut self, t: &[u8]) {
        // austin metadata: `# key: value`.
        let Some(body) = t.strip_prefix(b"# ") else {
            return;
        };
        let Some(colon) = memchr(b':', body) else {
            return;
        };
        let key = &body[..colon];
        let value = String::from_utf8_lossy(trim(&body[colon + 1..])).into_owned();
        if key == b"austin" {
            self.austin_header = true;
            if self.mode.is_none() {
                self.mode = Some(Mode::Austin);
            }
        } else if key == b"mode" && (self.austin_header || self.mode == Some(Mode::Austin)) {
            self.austin_mode = Some(value);
        }
    }

    /// Parses the count; counts problems. `None` = skip the line.
    fn count(&mut self, c: &[u8]) -> Option<f64> {
        let line = self.line_no;
        // austin full mode: `time,idle,rss` → first component.
        let c = match memchr(b',', c) {
            Some(i) if self.mode == Some(Mode::Austin) => &c[..i],
            _ => c,
        };
        let (neg, digits) = match c.strip_prefix(b"-") {
            Some(d) => (true, d),
            None => (false, c),
        };
        let (int_part, frac) = match memchr(b'.', digits) {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        if int_part.is_empty()
            || !int_part.iter().all(u8::is_ascii_digit)
            || frac.is_some_and(|f| !f.iter().all(u8::is_ascii_digit))
        {
            if c.iter()
                .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-')
            {
                self.bad_count.hit(line);
            } else {
                self.malformed.hit(line);
            }
            return None;
        }
        let mut v: u64 = 0;
        for &d in int_part {
            match v
                .checked_mul(10)
                .and_then(|x| x.checked_add((d - b'0') as u64))
            {
                Some(x) => v = x,
                None => {
                    self.overflow.hit(line);
                    return None;
                }
            }
        }
        if neg && self.mode != Some(Mode::Austin) {
            self.negative.hit(line);
            return None;
        }
        let mut w = match frac {
            Some(f) if !f.is_empty() => {
                // Exact decimal → nearest double.
                let s = std::str::from_utf8(&digits[..int_part.len() + 1 + f.len()]).ok()?;
                s.parse::<f64>().ok()?
            }
            _ => v as f64,
        };
        if neg {
            w = -w;
        }
        Some(w)
    }

    fn thread_named(&mut self, id: String, name: Option<String>) -> u32 {
        if let Some(&t) = self.thread_ids.get(&id) {
            let th = &mut self.threads[t as usize];
            if th.name.is_none() {
                th.name = name;
            }
            return t;
        }
        let t = self.threads.len() as u32;
        self.threads.push(Thread {
            id: id.clone(),
            name,
        });
        self.thread_ids.insert(id, t);
        t
    }

    fn default_thread(&mut self) -> u32 {
        if self.default_thread == NONE {
            self.default_thread = self.thread_named("all".to_owned(), None);
        }
        self.default_thread
    }

    /// Splits the leading thread/process pseudo-frames off a stack.
    fn thread_of<'s>(&mut self, stack: &'s [u8]) -> (u32, &'s [u8]) {
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let cut = match mode {
            Mode::Austin => {
                // `P<pid>;T<iid>:<tid>`
                if stack.first() == Some(&b'P') {
                    match memchr(b';', stack) {
                        Some(i) if stack.get(i + 1) == Some(&b'T') => {
                            let j =
                                memchr(b';', &stack[i + 1..]).map_or(stack.len(), |j| i + 1 + j);
                            Some(j)
                        }
                        _ => None,
                    }
                } else {
                    None
                }
            }
            Mode::Tachyon => {
                if stack.starts_with(b"tid:") {
                    Some(memchr(b';', stack).unwrap_or(stack.len()))
                } else {
                    None
                }
            }
            Mode::PySpy => {
                let mut end = 0;
                let mut pos = 0;
                loop {
                    let f = &stack[pos..];
                    if !(f.starts_with(b"thread (") || f.starts_with(b"process ")) {
                        break;
                    }
                    let next = memchr(b';', f).map_or(stack.len(), |j| pos + j);
                    if !is_pyspy_pseudo(&stack[pos..next]) {
                        break;
                    }
                    end = next;
                    if next >= stack.len() {
                        break;
                    }
                    pos = next + 1;
                }
                (end > 0).then_some(end)
            }
            Mode::Gregg => {
                let root_end = memchr(b';', stack).unwrap_or(stack.len());
                let root = &stack[..root_end];
                if root.is_empty() {
                    None
                } else if let Some(&t) = self.prefixes.get(root) {
                    if t == NONE {
                        None
                    } else {
                        return (t, rest_after(stack, root_end));
                    }
                } else if let Some(comm) = perf_thread_root(root) {
                    let id = String::from_utf8_lossy(root).into_owned();
                    let name = String::from_utf8_lossy(comm).into_owned();
                    let t = self.thread_named(id, Some(name));
                    self.prefixes.insert(root.into(), t);
                    self.saw_perf_thread = true;
                    return (t, rest_after(stack, root_end));
                } else {
                    self.prefixes.insert(root.into(), NONE);
                    None
                }
            }
        };
        let Some(end) = cut else {
            return (self.default_thread(), stack);
        };
        let prefix = &stack[..end];
        let t = match self.prefixes.get(prefix) {
            Some(&t) => t,
            None => {
                let (id, name) = thread_identity(mode, prefix);
                let t = self.thread_named(id, name);
                self.prefixes.insert(prefix.into(), t);
                t
            }
        };
        (t, rest_after(stack, end))
    }

    fn frames_of(&mut self, frames: &[u8], thread: u32, weight: f64) {
        let line = self.line_no;
        let max_depth = self.limits.max_stack_depth;
        let len = frames.len();
        // Resume after the longest prefix of whole frames shared with the previous line.
        let common = common_prefix(frames, &self.prev);
        // (An empty stack has no frames at all, not an empty first frame.)
        let mut keep = if len == 0 {
            0
        } else {
            self.prev_state.partition_point(|s| s.end <= common)
        };
        let mut node = NO_PARENT;
        let mut depth: u32 = 0;
        let mut empties = 0usize;
        let mut pos = 0usize;
        let mut fresh = false;
        let mut done = len == 0;
        while keep > 0 {
            let st = self.prev_state[keep - 1];
            if st.end == len {
                // The same stack as the previous line (up to here, which is its end).
                (node, depth, empties, done) = (st.node, st.depth, st.empties, true);
                break;
            }
            if frames[st.end] == b';' {
                (node, depth, empties, pos) = (st.node, st.depth, st.empties, st.end + 1);
                if pos == len {
                    empties += 1; // trailing `;`
                    done = true;
                }
                break;
            }
            keep -= 1;
        }
        self.prev_state.truncate(keep);
        let reuse = common.min(self.prev.len());
        self.prev.truncate(reuse);
        self.prev.extend_from_slice(&frames[reuse..]);
        loop {
            if done {
                break;
            }
            let (end, more) = match memchr(b';', &frames[pos..]) {
                Some(i) => (pos + i, true),
                None => (len, false),
            };
            let f = &frames[pos..end];
            if f.is_empty() {
                empties += 1;
            } else {
                if depth as usize >= max_depth {
                    self.deep.hit(line);
                    break;
                }
                let h = hash_bytes(f);
                let fb = &self.frame_bytes;
                let span = &self.frame_span;
                let raw = match self.frame_table.find(h, |r| {
                    let (s, l) = span[r as usize];
                    fb[s..s + l] == *f
                }) {
                    Some(r) => r,
                    None => self.new_frame(f, h),
                };
                let func = self.frame_func[raw as usize];
                (node, fresh) = self.child(node, func, fresh);
                depth += 1;
            }
            self.prev_state.push(PrevFrame {
                end,
                empties,
                node,
                depth,
            });
            if !more {
                break;
            }
            pos = end + 1;
            if pos == len {
                empties += 1; // trailing `;`
                break;
            }
        }
        self.empty_frames.hit_n(line, empties as u64);
        self.add_sample(node, thread, weight, fresh);
    }

    /// Adds `weight` to the (node, thread) sample; `fresh` = the node was created just now,
    /// so it has no sample yet.
    #[inline]
    fn add_sample(&mut self, node: u32, thread: u32, weight: f64, fresh: bool) {
        let h = hash_pair(node, thread);
        let samples = &self.samples;
        if !fresh {
            let found = self.sample_table.find(h, |i| {
                let s = &samples[i as usize];
                s.thread.0 == thread && s.node == node
            });
            if let Some(i) = found {
                self.samples[i as usize].weight += weight;
                return;
            }
        }
        let i = self.samples.len() as u32;
        self.samples.push(Sample {
            node,
            thread: ThreadId(thread),
            weight,
        });
        let samples = &self.samples;
        self.sample_table.insert(h, i, || {
            samples[..i as usize].iter().enumerate().map(|(j, s)| {
                (hash_pair(s.node, s.thread.0), j as u32)
            })
        });
    }

    /// The node for `func` under `parent`, and whether it was created now.
    ///
    /// A node created right after its parent (`n == parent + 1`, the usual case when a line
    /// adds new frames below a new node) is found by looking at `parent + 1` and is not put in
    /// the hash table; only the other children are. A new stack therefore costs no table access
    /// below its first new frame, and the table stays small.
    #[inline]
    fn child(&mut self, parent: u32, func: u32, parent_fresh: bool) -> (u32, bool) {
        let n = self.parent.len() as u32;
        if parent_fresh && parent != NO_PARENT {
            // `parent` was created just now: it has no children yet, and `n == parent + 1`.
            self.parent.push(parent);
            self.func.push(func);
            return (n, true);
        }
        let (pc, fc) = (&self.parent, &self.func);
        if parent != NO_PARENT {
            let next = parent as usize + 1;
            if next < pc.len() && pc[next] == parent && fc[next] == func {
                return (next as u32, false);
            }
        }
        let h = hash_pair(parent, func);
        if let Some(n) = self
            .child_table
            .find(h, |n| pc[n as usize] == parent && fc[n as usize] == func)
        {
            return (n, false);
        }
        self.parent.push(parent);
        self.func.push(func);
        if parent == NO_PARENT || n != parent + 1 {
            let (pc, fc) = (&self.parent, &self.func);
            // Members: the nodes that are not their parent's successor.
            self.child_table.insert(h, n, || {
                (0..n as usize)
                    .filter(|&m| pc[m] == NO_PARENT || pc[m] as usize + 1 != m)
                    .map(|m| (hash_pair(pc[m], fc[m]), m as u32))
            });
        }
        (n, true)
    }

    #[cold]
    fn new_frame(&mut self, raw: &[u8], h: u64) -> u32 {
        let line = self.line_no;
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let mut lossy = false;
        let text = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                self.lossy.hit(line);
                lossy = true;
                String::from_utf8_lossy(raw)
            }
        };
        let (name, file, lineno) = match mode {
            Mode::Gregg => {
                let (n, marker) = split_annotation(&text);
                if marker.is_some() {
                    self.saw_annotation = true;
                }
                (n, marker.unwrap_or(""), 0)
            }
            Mode::PySpy => split_pyspy(&text),
            Mode::Austin | Mode::Tachyon => split_austin(&text),
        };
        let max = self.limits.max_name_len;
        let (name, cut_a) = cut_name(name, max);
        let (file, cut_b) = cut_name(file, max);
        if cut_a || cut_b {
            self.long_names.hit(line);
        }
        let id = self.intern_function(name, file, lineno);
        let r = self.push_frame(raw, h, id);
        let flags = if lossy { LOSSY } else { 0 } | if cut_a || cut_b { LONG } else { 0 };
        if flags != 0 {
            self.flagged.push((r, line, flags));
        }
        r
    }

    /// The id of function (name, file, line), added when new.
    fn intern_function(&mut self, name: &str, file: &str, line: i64) -> u32 {
        let h = hash_function(name, file, line);
        let fs = &self.functions;
        if let Some(id) = self.func_table.find(h, |i| {
            let f = &fs[i as usize];
            f.line == line && f.name == name && f.file == file
        }) {
            return id;
        }
        let id = self.functions.len() as u32;
        self.functions.push(Function {
            name: name.to_owned(),
            file: file.to_owned(),
            line,
        });
        let fs = &self.functions;
        self.func_table.insert(h, id, || {
            fs[..id as usize]
                .iter()
                .enumerate()
                .map(|(i, f)| (hash_function(&f.name, &f.file, f.line), i as u32))
        });
        id
    }

    /// Interns raw frame bytes (not present yet) for function `func`; returns the raw id.
    fn push_frame(&mut self, raw: &[u8], h: u64, func: u32) -> u32 {
        let r = self.frame_span.len() as u32;
        self.frame_span.push((self.frame_bytes.len(), raw.len()));
        self.frame_bytes.extend_from_slice(raw);
        self.frame_hash.push(h);
        self.frame_func.push(func);
        let hashes = &self.frame_hash;
        self.frame_table.insert(h, r, || {
            hashes[..r as usize].iter().enumerate().map(|(x, &h)| (h, x as u32))
        });
        r
    }
}

fn hash_function(name: &str, file: &str, line: i64) -> u64 {
    hash_bytes(name.as_bytes())
        ^ hash_bytes(file.as_bytes()).rotate_left(21)
        ^ hash_pair(line as u32, (line >> 32) as u32).rotate_left(42)
}

/// `s` cut to at most `max` bytes at a character boundary, and whether it was cut.
fn cut_name(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    (&s[..cut], true)
}

/// Length of the common prefix of two byte strings.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        let d = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

fn rest_after(stack: &[u8], end: usize) -> &[u8] {
    if end >= stack.len() {
        &stack[stack.len()..]
    } else {
        &stack[end + 1..]
    }
}

fn decide(stack: &[u8]) -> Mode {
    // austin: `P<digits>;T`
    if stack.first() == Some(&b'P') {
        if let Some(i) = memchr(b';', stack) {
            if i > 1
                && stack[1..i].iter().all(u8::is_ascii_digit)
                && stack.get(i + 1) == Some(&b'T')
            {
                return Mode::Austin;
            }
        }
    }
    if let Some(r) = stack.strip_prefix(b"tid:") {
        let end = memchr(b';', r).unwrap_or(r.len());
        if end > 0 && r[..end].iter().all(u8::is_ascii_digit) {
            return Mode::Tachyon;
        }
    }
    let root_end = memchr(b';', stack).unwrap_or(stack.len());
    if is_pyspy_pseudo(&stack[..root_end]) {
        return Mode::PySpy;
    }
    let leaf_start = memchr::memrchr(b';', stack).map_or(0, |i| i + 1);
    let leaf = &stack[leaf_start..];
    let root = &stack[..root_end];
    let looks = |f: &[u8]| {
        f.ends_with(b")") && memchr::memmem::rfind(f, b" (").is_some_and(|i| i + 3 < f.len())
    };
    if looks(leaf) && looks(root) {
        return Mode::PySpy;
    }
    Mode::Gregg
}

/// `thread (TID)`, `thread (TID): NAME` or `process PID:"cmd"`.
fn is_pyspy_pseudo(f: &[u8]) -> bool {
    if let Some(r) = f.strip_prefix(b"thread (") {
        let Some(close) = memchr(b')', r) else {
            return false;
        };
        return close > 0
            && r[..close].iter().all(u8::is_ascii_digit)
            && (close + 1 == r.len() || r[close + 1..].starts_with(b": "));
    }
    if let Some(r) = f.strip_prefix(b"process ") {
        let Some(colon) = memchr(b':', r) else {
            return false;
        };
        return colon > 0 && r[..colon].iter().all(u8::is_ascii_digit);
    }
    false
}

/// `comm-PID/TID` (PID may be `?`) → `Some(comm)`.
fn perf_thread_root(root: &[u8]) -> Option<&[u8]> {
    let slash = memchr::memrchr(b'/', root)?;
    let tid = &root[slash + 1..];
    if tid.is_empty() || !tid.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let head = &root[..slash];
    let dash = memchr::memrchr(b'-', head)?;
    let pid = &head[dash + 1..];
    if pid != b"?" && (pid.is_empty() || !pid.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    Some(&head[..dash])
}

/// The thread id and name for a pseudo-frame prefix.
fn thread_identity(mode: Mode, prefix: &[u8]) -> (String, Option<String>) {
    let text = String::from_utf8_lossy(prefix).into_owned();
    match mode {
        Mode::Tachyon => (text.strip_prefix("tid:").unwrap_or(&text).to_owned(), None),
        Mode::PySpy => {
            let mut pids = Vec::new();
            let mut cmd = None;
            let mut tid = None;
            let mut name = None;
            for f in text.split(';') {
                if let Some(r) = f.strip_prefix("process ") {
                    if let Some((pid, c)) = r.split_once(':') {
                        pids.push(pid.to_owned());
                        cmd = Some(c.trim_matches('"').to_owned());
                    }
                } else if let Some(r) = f.strip_prefix("thread (") {
                    if let Some((t, n)) = r.split_once(')') {
                        tid = Some(t.to_owned());
                        name = n.strip_prefix(": ").map(str::to_owned);
                    }
                }
            }
            let mut id = pids.join("/");
            if let Some(t) = tid {
                if !id.is_empty() {
                    id.push('/');
                }
                id.push_str(&t);
            }
            (id, name.or(cmd))
        }
        _ => (text, None),
    }
}

/// Strips a perf/inferno annotation: `name_[k]` → (`name`, `[kernel]`).
pub(crate) fn split_annotation(s: &str) -> (&str, Option<&'static str>) {
    for (suffix, marker) in [
        ("_[k]", "[kernel]"),
        ("_[j]", "[jit]"),
        ("_[i]", "[inlined]"),
        ("_[w]", "[waker]"),
    ] {
        if let Some(head) = s.strip_suffix(suffix) {
            if !head.is_empty() {
                return (head, Some(marker));
            }
        }
    }
    (s, None)
}

fn valid_line(d: &str, allow_zero: bool) -> Option<i64> {
    if d.is_empty() || d.len() > 18 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if d.len() > 1 && d.starts_with('0') {
        return None;
    }
    let v: i64 = d.parse().ok()?;
    (allow_zero || v != 0).then_some(v)
}

/// py-spy: `func (file:line)`, `func (file)`; anything else is all name.
pub(crate) fn split_pyspy(s: &str) -> (&str, &str, i64) {
    if let Some(body) = s.strip_suffix(')') {
        if let Some(p) = body.rfind(" (") {
            let inner = &body[p + 2..];
            if !inner.is_empty() {
                let name = &body[..p];
                if let Some(c) = inner.rfind(':') {
                    if c > 0 {
                        if let Some(l) = valid_line(&inner[c + 1..], false) {
                            return (name, &inner[..c], l);
                        }
                    }
                }
                return (name, inner, 0);
            }
        }
    }
    (s, "", 0)
}

/// austin / Tachyon: `file:func:line` split on the last two colons; anything else is all name.
pub(crate) fn split_austin(s: &str) -> (&str, &str, i64) {
    if let Some(c2) = s.rfind(':') {
        if let Some(l) = valid_line(&s[c2 + 1..], true) {
            let head = &s[..c2];
            if let Some(c1) = head.rfind(':') {
                let file = &head[..c1];
                if !(file.is_empty() && l == 0) {
                    return (&head[c1 + 1..], file, l);
                }
            }
        }
    }
    (s, "", 0)
}
