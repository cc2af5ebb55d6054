//! callgrind text (yappi `save(type="callgrind")`, pyprof2calltree, valgrind's format in general)
//! into the pstats part of the model: per-function own time, calls and cumulative time, and the
//! caller→callee edges with their call counts and inclusive times.
//!
//! What the format gives and what is derived:
//! * A function is `fl=` (file) + `fn=` (name). yappi writes the name as `name file:line`, which
//!   is split back when the suffix is the function's own file; pyprof2calltree makes a repeated
//!   name unique as `name:line`, which is stripped when `line` is the function's own position.
//!   Functions that end with the same `(file, line, name)` are one function (yappi writes one per
//!   thread context).
//! * Name compression: `(id) name` defines an id, `(id)` reuses it; files (`fl`, `fi`, `fe`,
//!   `cfl`, `cfi`), functions (`fn`, `cfn`) and objects (`ob`, `cob`) have separate id spaces.
//! * A cost line (`POSITION... COST...`) in a function's block adds its first cost column to the
//!   function's own time. `cfl=`/`cfn=` name the callee of the next `calls=COUNT TARGET` only, and
//!   the cost line after `calls=` is the **inclusive** cost of those calls: it goes to the edge,
//!   not to the caller's own time. Positions may be absolute, `+N`, `-N` or `*`; missing trailing
//!   cost columns are 0.
//! * Calls of a function = Σ calls on its incoming edges; primitive calls = Σ over incoming
//!   edges from other functions (a self-edge is recursion, nested in an outer call); a function
//!   nobody calls (a root) gets 1 call. Cumulative time = own time + Σ inclusive cost of its calls
//!   to other functions: exact unless the function is on a call cycle through other functions
//!   (`a → b → a`), where nested calls may be counted again (an upper bound, said in a warning;
//!   the file holds no per-function cumulative time). The sum over callers instead would miss
//!   calls from outside the profile (the outermost `exec` of a cProfile run).
//! * Events: the first `events:` column is the time; yappi's `Ticks` and `us` are µs, `ns` ns,
//!   `ms` ms, `s` s; another event is shown as if it were seconds (warning).

use profview_model::{CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit};

use crate::hash::FxMap;
use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

/// Header keys (`key: value`) that start a callgrind file.
const HEADER_KEYS: &[&str] = &[
    "version", "creator", "pid", "cmd", "part", "desc", "events", "event", "positions", "summary", "totals", "thread",
];

/// `Some(true)` when the first lines are callgrind header lines or `fl=`/`fn=` lines and an
/// `events:` line or a `fn=` line is among the first 64 lines; `Some(false)` for binary data;
/// `None` otherwise.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let head = &bytes[..bytes.len().min(16 * 1024)];
    if head.contains(&0) {
        return Some(false);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut first = true;
    let mut seen = 0;
    for line in head.split(|&b| b == b'\n').take(200) {
        let t = line.trim_ascii();
        if t.is_empty() || t.starts_with(b"#") {
            continue;
        }
        seen += 1;
        if seen > 64 {
            break;
        }
        let header = header_key(t).is_some_and(|k| HEADER_KEYS.contains(&k));
        let spec = [&b"fl="[..], b"fn=", b"ob="].iter().any(|p| t.starts_with(p));
        if first && !header && !spec {
            return None;
        }
        first = false;
        if t.starts_with(b"events:") || t.starts_with(b"fn=") {
            return Some(true);
        }
    }
    None
}

/// The key of a `key: value` line (letters, digits, `_`, spaces, parentheses before the colon).
fn header_key(t: &[u8]) -> Option<&str> {
    let colon = t.iter().position(|&b| b == b':')?;
    let key = &t[..colon];
    let ok = !key.is_empty()
        && key[0].is_ascii_alphabetic()
        && key.iter().all(|b| b.is_ascii_alphanumeric() || b" _()".contains(b));
    if ok {
        std::str::from_utf8(key).ok().map(str::trim)
    } else {
        None
    }
}

fn err(line: u64, message: impl Into<String>) -> ImportError {
    ImportError::Callgrind { line, message: message.into() }
}

/// One function as the file names it, before functions with the same key are joined.
struct Raw {
    file: String,
    name: String,
    own: u64,
    /// The position of the first cost line in its own block.
    own_pos: Option<i64>,
    /// The target position of the first call to it.
    call_pos: Option<i64>,
}

#[derive(Default)]
struct State {
    files: FxMap<u64, String>,
    funcs: FxMap<u64, String>,
    objs: FxMap<u64, String>,
    raw: Vec<Raw>,
    raw_ids: FxMap<(String, String), u32>,
    /// (caller, callee) raw ids → (calls, inclusive cost), and their first-seen order.
    edges: FxMap<(u32, u32), (u64, u64)>,
    edge_order: Vec<(u32, u32)>,
    file: Option<String>,
    /// The current `fn=` block: its raw id, or its (file, name) until a line of it needs the id
    /// (yappi defines every name before any block, under whatever `fl=` came last).
    func: Option<u32>,
    pending_fn: Option<(String, String)>,
    cfile: Option<String>,
    cfunc: Option<String>,
    /// A `calls=` line waiting for its cost line: (callee, count, its line).
    call: Option<(u32, u64, u64)>,
    /// A `jump=`/`jcnd=` line: the next line is a position line without cost.
    jump: bool,
    /// Number of position columns and which one is the line.
    npos: usize,
    line_col: Option<usize>,
    last_pos: Vec<i64>,
    events: Vec<String>,
    creator: Option<String>,
    redefined: u64,
    long_names: u64,
    ignored: u64,
    first_ignored: u64,
}

enum Space {
    File,
    Func,
    Obj,
}

impl State {
    /// Resolves a compressed name: `(id) name` defines, `(id)` looks up, a plain name is itself.
    fn name(&mut self, space: Space, v: &str, line: u64, limits: &Limits) -> Result<String, ImportError> {
        let Some(rest) = v.strip_prefix('(') else {
            return Ok(self.cap(v.to_owned(), limits));
        };
        let close = rest.find(')').ok_or_else(|| err(line, format!("`({}`: no closing `)` after the id", short(v))))?;
        let id: u64 = rest[..close]
            .trim()
            .parse()
            .map_err(|_| err(line, format!("`({}`: the id is not a number", short(v))))?;
        let text = rest[close + 1..].trim_start_matches([' ', '\t']);
        let map = match space {
            Space::File => &mut self.files,
            Space::Func => &mut self.funcs,
            Space::Obj => &mut self.objs,
        };
        if text.is_empty() {
            return map.get(&id).cloned().ok_or_else(|| err(line, format!("name id ({id}) is used before it is defined")));
        }
        let mut s = text.to_owned();
        if truncate_name(&mut s, limits.max_name_len) {
            self.long_names += 1;
        }
        if let Some(old) = map.insert(id, s.clone()) {
            if old != s {
                self.redefined += 1;
            }
        }
        Ok(s)
    }

    fn cap(&mut self, mut s: String, limits: &Limits) -> String {
        if truncate_name(&mut s, limits.max_name_len) {
            self.long_names += 1;
        }
        s
    }

    fn raw_id(&mut self, file: String, name: String) -> Result<u32, ImportError> {
        if let Some(&i) = self.raw_ids.get(&(file.clone(), name.clone())) {
            return Ok(i);
        }
        let i = u32::try_from(self.raw.len()).map_err(|_| err(0, "too many functions"))?;
        self.raw.push(Raw { file: file.clone(), name: name.clone(), own: 0, own_pos: None, call_pos: None });
        self.raw_ids.insert((file, name), i);
        Ok(i)
    }

    /// Parses the position columns of a cost or calls line; `update` moves the relative base.
    fn positions<'a>(
        &mut self,
        fields: &mut impl Iterator<Item = &'a str>,
        line: u64,
        update: bool,
    ) -> Result<Option<i64>, ImportError> {
        let mut line_value = None;
        for k in 0..self.npos {
            let Some(f) = fields.next() else {
                if k == 0 {
                    return Err(err(line, "a cost line without a position"));
                }
                break;
            };
            let last = self.last_pos.get(k).copied().unwrap_or(0);
            let v = if f == "*" {
                last
            } else if let Some(d) = f.strip_prefix('+') {
                last.checked_add(number(d, line)?).ok_or_else(|| err(line, "position out of range"))?
            } else if let Some(d) = f.strip_prefix('-') {
                last.checked_sub(number(d, line)?).ok_or_else(|| err(line, "position out of range"))?
            } else {
                number(f, line)?
            };
            if update {
                if let Some(p) = self.last_pos.get_mut(k) {
                    *p = v;
                }
            }
            if Some(k) == self.line_col {
                line_value = Some(v);
            }
        }
        Ok(line_value)
    }
}

/// A decimal or `0x` hexadecimal number that fits `i64`.
fn number(s: &str, line: u64) -> Result<i64, ImportError> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse::<u64>(),
    };
    v.ok()
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| err(line, format!("`{}` is not a number (or out of range)", short(s))))
}

/// A cost: a non-negative integer that fits `u64`.
fn cost(s: &str, line: u64) -> Result<u64, ImportError> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse::<u64>(),
    };
    v.map_err(|_| err(line, format!("cost `{}` is not a non-negative integer below 2^64", short(s))))
}

fn short(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Seconds per unit of a time event, by its name.
fn scale(event: &str, yappi: bool) -> Option<f64> {
    match event {
        "Ticks" if yappi => Some(1e-6),
        "ns" | "nsec" | "nanoseconds" | "Nanoseconds" => Some(1e-9),
        "us" | "usec" | "µs" | "microseconds" | "Microseconds" => Some(1e-6),
        "ms" | "msec" | "milliseconds" | "Milliseconds" => Some(1e-3),
        "s" | "sec" | "seconds" | "Seconds" => Some(1.0),
        _ => None,
    }
}

/// Parses a callgrind file.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
        err(line, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut st = State { npos: 1, line_col: Some(0), last_pos: vec![0], ..State::default() };
    let mut line_no = 0u64;
    for raw_line in text.split('\n') {
        line_no += 1;
        let t = raw_line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if st.jump {
            st.jump = false;
            st.positions(&mut t.split_ascii_whitespace(), line_no, true)?;
            continue;
        }
        let c = t.as_bytes()[0];
        if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'*' {
            cost_line(&mut st, t, line_no)?;
            continue;
        }
        if let Some((_, _, line)) = st.call {
            return Err(err(line, "this `calls=` line is not followed by its cost line"));
        }
        if let Some((key, v)) = t.split_once('=') {
            spec_line(&mut st, key, v, line_no, limits)?;
            continue;
        }
        if let Some(key) = header_key(t.as_bytes()) {
            let v = t[t.find(':').unwrap_or(0) + 1..].trim();
            match key {
                "events" => st.events = v.split_ascii_whitespace().map(str::to_owned).collect(),
                "creator" => st.creator = Some(v.to_owned()),
                "positions" => {
                    let cols: Vec<&str> = v.split_ascii_whitespace().collect();
                    if cols.is_empty() || cols.len() > 2 || cols.iter().any(|c| !["line", "instr"].contains(c)) {
                        return Err(err(line_no, format!("unsupported `positions: {}`", short(v))));
                    }
                    st.npos = cols.len();
                    st.line_col = cols.iter().position(|c| *c == "line");
                    st.last_pos = vec![0; cols.len()];
                }
                _ => {}
            }
            continue;
        }
        return Err(err(line_no, format!("not a callgrind line: `{}`", short(t))));
    }
    if let Some((_, _, line)) = st.call {
        return Err(err(line, "the file ends after this `calls=` line, before its cost line"));
    }
    build(st)
}

impl State {
    /// The raw id of the current `fn=` block, interned on first use.
    fn current(&mut self, line: u64, what: &str) -> Result<u32, ImportError> {
        if let Some((file, name)) = self.pending_fn.take() {
            self.func = Some(self.raw_id(file, name)?);
        }
        self.func.ok_or_else(|| err(line, format!("{what} before any `fn=`")))
    }
}

fn cost_line(st: &mut State, t: &str, line: u64) -> Result<(), ImportError> {
    let f = st.current(line, "a cost line")?;
    let mut fields = t.split_ascii_whitespace();
    let call = st.call.take();
    let pos = st.positions(&mut fields, line, true)?;
    let first = match fields.next() {
        Some(s) => cost(s, line)?,
        None => 0, // missing trailing cost columns are 0
    };
    for s in fields {
        cost(s, line)?;
    }
    match call {
        Some((callee, n, _)) => {
            let key = (f, callee);
            let e = match st.edges.entry(key) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    st.edge_order.push(key);
                    v.insert((0, 0))
                }
            };
            e.0 = e.0.checked_add(n).ok_or_else(|| err(line, "call count sum out of range (over 2^64)"))?;
            e.1 = e.1.checked_add(first).ok_or_else(|| err(line, "inclusive cost sum out of range (over 2^64)"))?;
        }
        None => {
            let r = &mut st.raw[f as usize];
            r.own = r.own.checked_add(first).ok_or_else(|| err(line, "own cost sum out of range (over 2^64)"))?;
            if r.own_pos.is_none() {
                r.own_pos = pos;
            }
        }
    }
    Ok(())
}

fn spec_line(st: &mut State, key: &str, v: &str, line: u64, limits: &Limits) -> Result<(), ImportError> {
    match key {
        "fl" => st.file = Some(st.name(Space::File, v, line, limits)?),
        "fi" | "fe" => {
            st.name(Space::File, v, line, limits)?; // inlined code: defines ids, same function
        }
        "fn" => {
            let name = st.name(Space::Func, v, line, limits)?;
            let file = st.file.clone().unwrap_or_default();
            st.func = None;
            st.pending_fn = Some((file, name));
            st.cfile = None;
            st.cfunc = None;
        }
        "ob" | "cob" => {
            st.name(Space::Obj, v, line, limits)?;
        }
        "cfl" | "cfi" => st.cfile = Some(st.name(Space::File, v, line, limits)?),
        "cfn" => st.cfunc = Some(st.name(Space::Func, v, line, limits)?),
        "calls" => {
            st.current(line, "`calls=`")?;
            let name = st.cfunc.take().ok_or_else(|| err(line, "`calls=` without a `cfn=` naming the callee"))?;
            let file = st.cfile.take().or_else(|| st.file.clone()).unwrap_or_default();
            let mut fields = v.split_ascii_whitespace();
            let n = fields.next().ok_or_else(|| err(line, "`calls=` without a count"))?;
            let n = cost(n, line).map_err(|_| err(line, format!("call count `{}` is not a non-negative integer below 2^64", short(n))))?;
            let target = st.positions(&mut fields, line, false).unwrap_or(None);
            let callee = st.raw_id(file, name)?;
            let r = &mut st.raw[callee as usize];
            if r.call_pos.is_none() {
                r.call_pos = target;
            }
            st.call = Some((callee, n, line));
        }
        "jump" | "jcnd" => st.jump = true,
        _ => {
            if st.ignored == 0 {
                st.first_ignored = line;
            }
            st.ignored += 1;
        }
    }
    Ok(())
}

/// The function's `(name, line)`: yappi's `name file:line` split, pyprof2calltree's `name:line`
/// stripped, else the first position of its own block or of a call to it.
fn key_of(r: &Raw) -> (String, i64) {
    if let Some(rest) = r.name.strip_suffix(|c: char| c.is_ascii_digit()) {
        let digits_start = rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let all = &r.name[digits_start..];
        let before = &r.name[..digits_start];
        if let (Some(head), Ok(n)) = (before.strip_suffix(':'), all.parse::<i64>()) {
            if !r.file.is_empty() {
                if let Some(name) = head.strip_suffix(r.file.as_str()).and_then(|h| h.strip_suffix(' ')) {
                    return (name.to_owned(), n);
                }
            }
            if r.own_pos.or(r.call_pos) == Some(n) && !head.is_empty() {
                return (head.to_owned(), n);
            }
        }
    }
    (r.name.clone(), r.own_pos.or(r.call_pos).unwrap_or(0))
}

/// (caller, callee) → (calls, inclusive cost).
type Edge = ((FuncId, FuncId), (u64, u64));

fn build(st: State) -> Result<Imported, ImportError> {
    if st.raw.is_empty() {
        return Err(err(0, "no function with a cost line (`fn=` then `POSITION COST`) in the file"));
    }
    let mut warnings = Vec::new();
    let yappi = st.creator.as_deref().is_some_and(|c| c.starts_with("yappi"));
    let event = st.events.first().cloned().unwrap_or_default();
    let scale = match scale(&event, yappi) {
        Some(s) => s,
        None => {
            warnings.push(ImportWarning::new(format!(
                "the event `{event}` is not a time unit: its values are shown as if they were seconds"
            )));
            1.0
        }
    };
    if st.events.len() > 1 {
        warnings.push(ImportWarning::new(format!(
            "{} event columns ({}): the first, `{event}`, is used as the time",
            st.events.len(),
            st.events.join(", ")
        )));
    }
    // Join raw functions with the same key.
    let mut ids: FxMap<(String, String, i64), FuncId> = FxMap::default();
    let mut functions = Vec::new();
    let mut map = Vec::with_capacity(st.raw.len());
    for r in &st.raw {
        let (name, line) = key_of(r);
        let k = (r.file.clone(), name, line);
        let id = match ids.get(&k) {
            Some(&id) => id,
            None => {
                let id = FuncId(functions.len() as u32);
                functions.push(Function { name: k.1.clone(), file: k.0.clone(), line });
                ids.insert(k, id);
                id
            }
        };
        map.push(id);
    }
    let n = functions.len();
    let mut own = vec![0u64; n];
    for (i, r) in st.raw.iter().enumerate() {
        let o = &mut own[map[i].idx()];
        *o = o.checked_add(r.own).ok_or_else(|| err(0, "own cost sum out of range (over 2^64)"))?;
    }
    let mut edges: Vec<Edge> = Vec::new();
    let mut edge_ids: FxMap<(FuncId, FuncId), usize> = FxMap::default();
    for k in &st.edge_order {
        let Some(&(c, i)) = st.edges.get(k) else { continue };
        let key = (map[k.0 as usize], map[k.1 as usize]);
        match edge_ids.get(&key) {
            Some(&j) => {
                let e = &mut edges[j].1;
                e.0 = e.0.checked_add(c).ok_or_else(|| err(0, "call count sum out of range (over 2^64)"))?;
                e.1 = e.1.checked_add(i).ok_or_else(|| err(0, "inclusive cost sum out of range (over 2^64)"))?;
            }
            None => {
                edge_ids.insert(key, edges.len());
                edges.push((key, (c, i)));
            }
        }
    }
    // Per function: calls in (all, from others), inclusive cost in from others, calls out.
    let mut calls_in = vec![0u64; n];
    let mut prim_in = vec![0u64; n];
    let mut has_caller = vec![false; n];
    let mut incl_out = vec![0u128; n];
    for &((a, b), (c, i)) in &edges {
        calls_in[b.idx()] = calls_in[b.idx()].checked_add(c).ok_or_else(|| err(0, "call count sum out of range (over 2^64)"))?;
        if a != b {
            prim_in[b.idx()] += c; // ≤ calls_in, checked above
            incl_out[a.idx()] += i as u128;
            has_caller[b.idx()] = true;
        }
    }
    let mut stats = Vec::with_capacity(n);
    let mut roots = 0u64;
    for f in 0..n {
        let ct = own[f] as u128 + incl_out[f];
        let (nc, cc) = if has_caller[f] {
            (calls_in[f], prim_in[f])
        } else {
            roots += 1;
            (calls_in[f].max(1), 1)
        };
        stats.push(Some(PstatsStats {
            primcalls: cc,
            ncalls: nc.max(cc),
            tottime: own[f] as f64 * scale,
            cumtime: ct as f64 * scale,
        }));
    }
    if roots > 0 {
        warnings.push(ImportWarning::new(format!(
            "{roots} function(s) have no caller in the file: their call count is not recorded (shown as 1)"
        )));
    }
    let cyc = in_cycles(n, &edges);
    if cyc > 0 {
        warnings.push(ImportWarning::new(format!(
            "{cyc} function(s) call themselves through other functions (call cycles): callgrind holds no per-function cumulative time, so theirs (own time + the inclusive cost of their calls to others) may count nested calls again: an upper bound; their primitive calls (calls from other functions) may too"
        )));
    }
    if st.redefined > 0 {
        warnings.push(ImportWarning::new(format!("{} name id(s) were redefined with another name (the last one is used)", st.redefined)));
    }
    if st.long_names > 0 {
        warnings.push(ImportWarning::new(format!("{} name(s) were truncated to the name length limit", st.long_names)));
    }
    if st.ignored > 0 {
        warnings.push(ImportWarning::new(format!(
            "{} line(s) with an unknown `key=` were ignored (first on line {})",
            st.ignored, st.first_ignored
        )));
    }
    // Edges grouped by callee in function order, each group in first-seen order.
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by_key(|&j| (edges[j].0 .1, j));
    let call_edges = order
        .into_iter()
        .map(|j| {
            let ((a, b), (c, i)) = edges[j];
            CallEdge { caller: a, callee: b, ncalls: c, primcalls: None, tottime: None, cumtime: Some(i as f64 * scale) }
        })
        .collect();
    let mut total_calls = 0u64;
    let mut prim_calls = 0u64;
    let mut total_time = 0.0;
    for s in stats.iter().flatten() {
        total_calls = total_calls.checked_add(s.ncalls).ok_or_else(|| err(0, "total calls out of range (over 2^64)"))?;
        prim_calls = prim_calls.checked_add(s.primcalls).ok_or_else(|| err(0, "total calls out of range (over 2^64)"))?;
        total_time += s.tottime;
    }
    let profile = Profile {
        format: Format::Pstats,
        dialect: if yappi { Dialect::YappiCallgrind } else { Dialect::Callgrind },
        unit: Unit::Seconds,
        functions,
        threads: Vec::new(),
        pstats: Some(PstatsData { stats, edges: call_edges, total_calls, prim_calls, total_time }),
        samples: None,
        lines_are_current: false,
    };
    finish(profile, warnings)
}

/// Number of functions in a strongly connected component of two or more functions (Tarjan's
/// algorithm, iterative: no recursion on untrusted depth).
fn in_cycles(n: usize, edges: &[Edge]) -> usize {
    let mut succ: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &((a, b), _) in edges {
        if a != b {
            succ[a.idx()].push(b.0);
        }
    }
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut next = 0u32;
    let mut count = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut work: Vec<(u32, usize)> = vec![(root as u32, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root as u32);
        on[root] = true;
        while let Some(&mut (v, ref mut k)) = work.last_mut() {
            let v = v as usize;
            if let Some(&w) = succ[v].get(*k) {
                *k += 1;
                let w = w as usize;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w as u32);
                    on[w] = true;
                    work.push((w as u32, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(p, _)) = work.last() {
                low[p as usize] = low[p as usize].min(low[v]);
            }
            if low[v] == index[v] {
                let mut size = 0;
                while let Some(w) = stack.pop() {
                    on[w as usize] = false;
                    size += 1;
                    if w as usize == v {
                        break;
                    }
                }
                if size > 1 {
                    count += size;
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Imported, ImportError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn calls_cost_is_inclusive_and_goes_to_the_edge() {
        let i = p("events: ns\nfl=a.py\nfn=main\n1 10\ncfn=work\ncalls=2 5\n1 30\n\nfn=work\n5 30\n").unwrap();
        let f = &i.profile.functions;
        assert_eq!((f[0].name.as_str(), f[0].line, f[1].name.as_str(), f[1].line), ("main", 1, "work", 5));
        let ps = i.profile.pstats.unwrap();
        let m = ps.stats[0].unwrap();
        let w = ps.stats[1].unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-18;
        assert!(close(m.tottime, 10e-9) && close(m.cumtime, 40e-9), "{m:?}");
        assert_eq!((w.ncalls, w.primcalls), (2, 2));
        assert!(close(w.tottime, 30e-9) && close(w.cumtime, 30e-9), "{w:?}");
        assert_eq!(ps.edges.len(), 1);
        assert_eq!(ps.edges[0].ncalls, 2);
        assert!(close(ps.edges[0].cumtime.unwrap(), 30e-9));
    }

    #[test]
    fn compressed_names_relative_positions_and_missing_columns() {
        let s = "events: us x\nfl=(1) a.py\nfn=(1) f\n10 5 7\n+2 5\n*\n-1 1\ncfl=(2) b.py\ncfn=(2) g\ncalls=1 3\n* 4\nfl=(2)\nfn=(2)\n3 4\n";
        let i = p(s).unwrap();
        assert_eq!(i.profile.functions[0].line, 10);
        assert_eq!(i.profile.functions[1].file, "b.py");
        let ps = i.profile.pstats.unwrap();
        assert!((ps.stats[0].unwrap().tottime - 11e-6).abs() < 1e-15);
        assert!(i.warnings.iter().any(|w| w.message.contains("2 event columns")));
        // file ids and function ids are separate spaces: (2) is b.py and g.
        assert_eq!(i.profile.functions[1].name, "g");
    }

    #[test]
    fn errors_name_the_line() {
        for (s, want) in [
            ("events: ns\nfn=(3)\n", "line 2"),
            ("events: ns\nfn=f\ncalls=1 1\n", "line 3"),
            ("events: ns\nfn=f\ncfn=g\ncalls=1 1\nfn=h\n", "line 4"),
            ("events: ns\n1 2\n", "line 2"),
            ("events: ns\nfn=f\n1 99999999999999999999999\n", "line 3"),
            ("events: ns\nfn=f\nwhat is this\n", "line 3"),
        ] {
            let e = p(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s:?}: {e}");
        }
    }

    #[test]
    fn yappi_names_and_pyprof2calltree_names_are_split() {
        let r = Raw { file: "<frozen runpy>".into(), name: "run_path <frozen runpy>:262".into(), own: 0, own_pos: Some(262), call_pos: None };
        assert_eq!(key_of(&r), ("run_path".into(), 262));
        let r = Raw { file: "x.py".into(), name: "<genexpr>:165".into(), own: 0, own_pos: Some(165), call_pos: None };
        assert_eq!(key_of(&r), ("<genexpr>".into(), 165));
        let r = Raw { file: "x.py".into(), name: "odd:7".into(), own: 0, own_pos: Some(3), call_pos: None };
        assert_eq!(key_of(&r), ("odd:7".into(), 3));
    }

    #[test]
    fn sniff_knows_callgrind_headers() {
        assert_eq!(sniff(b"version: 1\ncreator: yappi\npid: 1\n\nevents: Ticks\n"), Some(true));
        assert_eq!(sniff(b"event: ns : Nanoseconds\nevents: ns\nsummary: 1\nfl=a\nfn=b\n"), Some(true));
        assert_eq!(sniff(b"main;work 3\n"), None);
        assert_eq!(sniff(b"\x00\x01"), Some(false));
    }
}
