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
    Dialect, Format, FuncId, Function, Profile, Sample, SampleData, StackId, StackTable, Thread,
    ThreadId, Unit, NO_PARENT,
};

use crate::hash::FxMap;
use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

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
        if self.count == 0 {
            self.first_line = line;
        }
        self.count += 1;
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
    // interning
    frames: FxMap<Box<[u8]>, u32>,
    func_ids: FxMap<(String, String, i64), u32>,
    functions: Vec<Function>,
    prefixes: FxMap<Box<[u8]>, u32>,
    threads: Vec<Thread>,
    thread_ids: FxMap<String, u32>,
    default_thread: u32,
    // stacks and samples
    stacks: StackTable,
    children: FxMap<(u32, u32), u32>,
    /// Hot path: (parent node, hash of the raw frame bytes) → node, verified against the raw
    /// bytes the node's function was first seen with (`func_raw`).
    fast: FxMap<(u32, u64), u32>,
    func_raw: Vec<Box<[u8]>>,
    /// Per node: the index of its most recent sample (checked against the thread).
    node_sample: Vec<u32>,
    root_sample: FxMap<u32, u32>,
    samples: Vec<Sample>,
    sample_ids: FxMap<(u32, u32), u32>,
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
            frames: FxMap::default(),
            func_ids: FxMap::default(),
            functions: Vec::new(),
            prefixes: FxMap::default(),
            threads: Vec::new(),
            thread_ids: FxMap::default(),
            default_thread: NONE,
            stacks: StackTable::default(),
            children: FxMap::default(),
            fast: FxMap::default(),
            func_raw: Vec::new(),
            node_sample: Vec::new(),
            root_sample: FxMap::default(),
            samples: Vec::new(),
            sample_ids: FxMap::default(),
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

    /// Ends the input and builds the profile.
    pub fn finish(mut self) -> Result<Imported, ImportError> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line);
        }
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
                stacks: self.stacks,
                samples: self.samples,
            }),
        };
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
        let mut node = NO_PARENT;
        let mut depth: usize = 0;
        let max_depth = self.limits.max_stack_depth;
        let mut rest = frames;
        let line = self.line_no;
        loop {
            if rest.is_empty() {
                break;
            }
            let (f, next, more) = match memchr(b';', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            rest = next;
            if f.is_empty() {
                self.empty_frames.hit(line);
            } else {
                if depth == max_depth {
                    self.deep.hit(line);
                    break;
                }
                let h = hash_bytes(f);
                node = match self.fast.get(&(node, h)) {
                    Some(&n) if *self.func_raw[self.stacks.func[n as usize].idx()] == *f => n,
                    _ => {
                        let func = match self.frames.get(f) {
                            Some(&id) => id,
                            None => self.new_frame(f),
                        };
                        let n = self.child(node, func);
                        if *self.func_raw[func as usize] == *f {
                            self.fast.insert((node, h), n);
                        }
                        n
                    }
                };
                depth += 1;
            }
            if !more {
                break;
            }
            if rest.is_empty() {
                // trailing `;`
                self.empty_frames.hit(line);
            }
        }
        let cached = if node == NO_PARENT {
            self.root_sample.get(&thread).copied()
        } else {
            Some(self.node_sample[node as usize])
        };
        if let Some(i) = cached {
            if let Some(smp) = self.samples.get_mut(i as usize) {
                if smp.thread.0 == thread && smp.stack.map_or(NO_PARENT, |s| s.0) == node {
                    smp.weight += weight;
                    return;
                }
            }
        }
        let key = (node, thread);
        match self.sample_ids.get(&key) {
            Some(&i) => {
                self.samples[i as usize].weight += weight;
                if node != NO_PARENT {
                    self.node_sample[node as usize] = i;
                }
            }
            None => {
                let i = self.samples.len() as u32;
                if node == NO_PARENT {
                    self.root_sample.insert(thread, i);
                } else {
                    self.node_sample[node as usize] = i;
                }
                self.sample_ids.insert(key, i);
                self.samples.push(Sample {
                    stack: (node != NO_PARENT).then_some(StackId(node)),
                    thread: ThreadId(thread),
                    weight,
                });
            }
        }
    }

    #[inline]
    fn child(&mut self, parent: u32, func: u32) -> u32 {
        if let Some(&n) = self.children.get(&(parent, func)) {
            return n;
        }
        let n = self.stacks.func.len() as u32;
        let depth = if parent == NO_PARENT {
            0
        } else {
            self.stacks.depth[parent as usize] + 1
        };
        self.stacks.parent.push(parent);
        self.stacks.func.push(FuncId(func));
        self.stacks.depth.push(depth);
        self.node_sample.push(NONE);
        self.children.insert((parent, func), n);
        n
    }

    #[cold]
    fn new_frame(&mut self, raw: &[u8]) -> u32 {
        let line = self.line_no;
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let text = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                self.lossy.hit(line);
                String::from_utf8_lossy(raw)
            }
        };
        let (name, file, lineno) = match mode {
            Mode::Gregg => {
                let (n, marker) = split_annotation(&text);
                if marker.is_some() {
                    self.saw_annotation = true;
                }
                (n.to_owned(), marker.unwrap_or("").to_owned(), 0)
            }
            Mode::PySpy => {
                let (n, f, l) = split_pyspy(&text);
                (n.to_owned(), f.to_owned(), l)
            }
            Mode::Austin | Mode::Tachyon => {
                let (n, f, l) = split_austin(&text);
                (n.to_owned(), f.to_owned(), l)
            }
        };
        let mut name = name;
        let mut file = file;
        let cut_a = truncate_name(&mut name, self.limits.max_name_len);
        let cut_b = truncate_name(&mut file, self.limits.max_name_len);
        if cut_a || cut_b {
            self.long_names.hit(line);
        }
        let key = (name, file, lineno);
        let id = match self.func_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.functions.len() as u32;
                self.func_raw.push(raw.into());
                self.functions.push(Function {
                    name: key.0.clone(),
                    file: key.1.clone(),
                    line: lineno,
                });
                self.func_ids.insert(key, id);
                id
            }
        };
        self.frames.insert(raw.into(), id);
        id
    }
}

#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::hash::FxHasher::default();
    h.write(b);
    h.finish()
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
