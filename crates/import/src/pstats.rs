//! pstats files: one `marshal.dump` of `{(file, line, func): (cc, nc, tt, ct, callers)}`.
//!
//! Dialects: cProfile (callers `(nc, cc, tt, ct)`), the pure-Python `profile` module (callers are
//! plain ints), yappi (cc/nc swapped in the outer tuple; imported as stored, with a warning).

use profview_model::{
    CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit,
};

use crate::hash::FxMap;
use crate::marshal::{self, Marshal, Obj, ObjId};
use crate::pstats_fast;
use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

/// `Some(true)` when the bytes start like a marshalled dict (possibly with the ref flag) that
/// reads as a pstats dict; `Some(false)` when they cannot be a marshal dict; `None` otherwise.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first & 0x7f != b'{' {
        // Another marshal type code: a marshal dump of the wrong shape, or text. Undecided.
        const CODES: &[u8] = b"0NTFS.ilIgfyxzZaAutsRr([<>):c}";
        return if CODES.contains(&(first & 0x7f)) {
            None
        } else {
            Some(false)
        };
    }
    // A dict whose first key is a 3-tuple (or the empty dict `{0`).
    match bytes.get(1).map(|c| c & 0x7f) {
        Some(b')') | Some(b'(') | Some(b'0') => Some(true),
        _ => None,
    }
}

/// Key of a pstats entry: `(file, line, name)`; a code object as the name is labelled like
/// `pstats` prints it: `<code object NAME, file "FILE", line N>`.
pub(crate) type Key = (String, i64, String);

/// Parses a pstats dump.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if let Some(f) = pstats_fast::parse(bytes, limits) {
        if let Some(out) = finish_fast(f, bytes.len()) {
            return out;
        }
    }
    parse_generic(bytes, limits)
}

/// The fast path alone: `None` when it gives up (then [`parse`] uses the generic path). For
/// tests that compare it with [`parse_generic`].
#[doc(hidden)]
pub fn parse_fast_only(bytes: &[u8], limits: &Limits) -> Option<Result<Imported, ImportError>> {
    if bytes.is_empty() {
        return None;
    }
    finish_fast(pstats_fast::parse(bytes, limits)?, bytes.len())
}

/// The tail of the fast path: the same warnings, dialect and totals as [`build`].
fn finish_fast(f: pstats_fast::Fast, input_len: usize) -> Option<Result<Imported, ImportError>> {
    let mut warnings = Vec::new();
    if f.consumed < input_len {
        warnings.push(trailing_warning(input_len, f.consumed));
    }
    let dialect = dialect(
        &f.stats,
        &f.functions[..f.n_top],
        f.int_callers,
        f.has_profiler_key,
        &mut warnings,
    );
    let data = pstats_fast::Fast::data(f.stats, f.edges)?;
    let profile = Profile {
        format: Format::Pstats,
        dialect,
        unit: Unit::Seconds,
        functions: f.functions,
        threads: Vec::new(),
        pstats: Some(data),
        samples: None,
        lines_are_current: false,
    };
    Some(finish(profile, warnings))
}

fn trailing_warning(input_len: usize, consumed: usize) -> ImportWarning {
    ImportWarning::new(format!(
        "{} trailing byte(s) after the pstats dict (from byte {}) ignored",
        input_len - consumed,
        consumed
    ))
}

/// The producer dialect, plus the warning about swapped cc/nc.
fn dialect(
    stats: &[Option<PstatsStats>],
    top: &[Function],
    int_callers: bool,
    has_profiler_key: bool,
    warnings: &mut Vec<ImportWarning>,
) -> Dialect {
    let swapped = stats
        .iter()
        .flatten()
        .filter(|s| s.primcalls > s.ncalls)
        .count();
    let yappi_builtins = top.iter().any(|f| f.file == "builtins" && f.line == 0);
    let dialect = if int_callers || has_profiler_key {
        Dialect::Profile
    } else if yappi_builtins || swapped > 0 {
        Dialect::Yappi
    } else {
        Dialect::Cprofile
    };
    if swapped > 0 {
        warnings.push(ImportWarning::new(format!(
            "{swapped} function(s) have more primitive calls than calls (cc > nc): yappi stores them swapped; shown as stored"
        )));
    }
    dialect
}

/// Parses a pstats dump with the generic marshal reader only (the reference for the fast path;
/// exposed for tests).
#[doc(hidden)]
pub fn parse_generic(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let m = marshal::read(bytes, limits.max_depth)?;
    let mut warnings: Vec<ImportWarning> = m.notes.iter().map(ImportWarning::new).collect();
    if m.consumed < bytes.len() {
        warnings.push(trailing_warning(bytes.len(), m.consumed));
    }
    let profile = build(&m, bytes.len(), limits, &mut warnings)?;
    finish(profile, warnings)
}

/// Runs `f` without an error context; only when it fails, runs it again with the context
/// `what()` (the checks are pure, so the second run fails the same way). Keeps the hot path
/// free of per-entry `format!`s.
fn lazy<T>(
    mut f: impl FnMut(&str) -> Result<T, ImportError>,
    what: impl FnOnce() -> String,
) -> Result<T, ImportError> {
    match f("") {
        Ok(v) => Ok(v),
        Err(_) => f(&what()),
    }
}

fn perr(msg: impl Into<String>) -> ImportError {
    ImportError::Pstats(msg.into())
}

struct Ctx<'a> {
    m: &'a Marshal,
    limits: &'a Limits,
    truncated_names: usize,
}

impl Ctx<'_> {
    fn text(&mut self, id: ObjId) -> Option<String> {
        let mut s = match self.m.get(id) {
            Obj::Str(s) => s.clone(),
            Obj::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            _ => return None,
        };
        if truncate_name(&mut s, self.limits.max_name_len) {
            self.truncated_names += 1;
        }
        Some(s)
    }

    fn key(&mut self, id: ObjId, what: &str) -> Result<Key, ImportError> {
        let items = match self.m.get(id) {
            Obj::Tuple(t) => t,
            o => {
                return Err(perr(format!(
                    "{what}: key is not a (file, line, function) tuple (got {})",
                    o.type_name()
                )))
            }
        };
        if items.len() != 3 {
            return Err(perr(format!(
                "{what}: key is not a (file, line, function) tuple (got a tuple of {} item(s))",
                items.len()
            )));
        }
        let file = self.text(items[0]).ok_or_else(|| {
            perr(format!(
                "{what}: key file name is not a string (got {})",
                self.m.get(items[0]).type_name()
            ))
        })?;
        let line = match self.m.get(items[1]) {
            Obj::Int(v) => *v,
            Obj::Bool(b) => *b as i64,
            o => {
                return Err(perr(format!(
                    "{what}: key line number is not an int (got {})",
                    o.type_name()
                )))
            }
        };
        let name = match self.m.get(items[2]) {
            Obj::Code(c) => {
                let mut s = match (&c.name, &c.filename) {
                    (Some(n), Some(f)) => {
                        format!("<code object {n}, file \"{f}\", line {}>", c.firstlineno)
                    }
                    _ => "<code object>".to_owned(),
                };
                if truncate_name(&mut s, self.limits.max_name_len) {
                    self.truncated_names += 1;
                }
                s
            }
            _ => self.text(items[2]).ok_or_else(|| {
                perr(format!(
                    "{what}: key function name is not a string (got {})",
                    self.m.get(items[2]).type_name()
                ))
            })?,
        };
        Ok((file, line, name))
    }

    fn count(&self, id: ObjId, what: &str) -> Result<u64, ImportError> {
        match self.m.get(id) {
            Obj::Int(v) if *v >= 0 => Ok(*v as u64),
            Obj::Int(v) => Err(perr(format!("{what} is negative ({v})"))),
            Obj::Bool(b) => Ok(*b as u64),
            Obj::BigInt { value: Some(v), .. } if *v >= 0 => u64::try_from(*v).map_err(|_| {
                perr(format!(
                    "{what}: count out of range ({v} does not fit 64 bits)"
                ))
            }),
            Obj::BigInt { negative: true, .. } => Err(perr(format!("{what} is negative"))),
            Obj::BigInt { .. } => Err(perr(format!(
                "{what}: count out of range (does not fit 64 bits)"
            ))),
            Obj::Float(f) => Err(perr(format!(
                "{what} is a float ({f}), expected an integer count"
            ))),
            o => Err(perr(format!(
                "{what} is not an integer (got {})",
                o.type_name()
            ))),
        }
    }

    fn time(&self, id: ObjId, what: &str) -> Result<f64, ImportError> {
        let v = match self.m.get(id) {
            Obj::Float(f) => *f,
            Obj::Int(v) => *v as f64,
            Obj::Bool(b) => *b as i64 as f64,
            o => {
                return Err(perr(format!(
                    "{what} is not a number (got {})",
                    o.type_name()
                )))
            }
        };
        if !v.is_finite() {
            return Err(perr(format!("{what} is not a finite number ({v})")));
        }
        Ok(v)
    }
}

struct Interner {
    ids: FxMap<Key, FuncId>,
    functions: Vec<Function>,
}

impl Interner {
    fn get_or_add(&mut self, k: Key) -> (FuncId, bool) {
        if let Some(&id) = self.ids.get(&k) {
            return (id, false);
        }
        let id = FuncId(self.functions.len() as u32);
        self.functions.push(Function {
            name: k.2.clone(),
            file: k.0.clone(),
            line: k.1,
        });
        self.ids.insert(k, id);
        (id, true)
    }
}

fn build(
    m: &Marshal,
    input_len: usize,
    limits: &Limits,
    warnings: &mut Vec<ImportWarning>,
) -> Result<Profile, ImportError> {
    let entries = match m.get(m.root) {
        Obj::Dict(d) => d,
        o => return Err(perr(format!("not a pstats dict (got {})", o.type_name()))),
    };
    if entries.is_empty() {
        return Err(perr("profile contains no functions (empty pstats dict)"));
    }
    let mut cx = Ctx {
        m,
        limits,
        truncated_names: 0,
    };
    let mut int = Interner {
        ids: FxMap::default(),
        functions: Vec::new(),
    };

    // Pass 1: every top-level key, in file order. A repeated key keeps its first position and
    // its last value, like a Python dict built from the stream.
    let mut value_of: Vec<ObjId> = Vec::new();
    // Key object → (function, names it truncated). cProfile writes each key tuple once and
    // refers back to it (marshal `r`) in every callers dict, so most keys are found here
    // without building their strings again.
    let mut key_ids: FxMap<ObjId, (FuncId, usize)> = FxMap::default();
    for (i, (k, v)) in entries.iter().enumerate() {
        let before = cx.truncated_names;
        let key = lazy(|w| cx.key(*k, w), || format!("entry {}", i + 1))?;
        let (id, new) = int.get_or_add(key);
        key_ids.insert(*k, (id, cx.truncated_names - before));
        if new {
            value_of.push(*v);
        } else {
            value_of[id.0 as usize] = *v;
        }
    }
    let n_top = int.functions.len();

    // Pass 2: values and callers.
    let mut stats: Vec<Option<PstatsStats>> = vec![None; n_top];
    let mut callers_of: Vec<Vec<(FuncId, CallerVal)>> = vec![Vec::new(); n_top];
    let mut total_edges: usize = 0;
    let mut int_callers = false;
    let mut tuple_callers = false;
    for (i, &v) in value_of.iter().enumerate() {
        let what = |int: &Interner| {
            let f = &int.functions[i];
            format!("entry {} ({}:{}({}))", i + 1, f.file, f.line, f.name)
        };
        let items = match m.get(v) {
            Obj::Tuple(t) => t,
            o => {
                return Err(perr(format!(
                    "{}: value is not a (cc, nc, tt, ct, callers) tuple (got {})",
                    what(&int),
                    o.type_name()
                )))
            }
        };
        if items.len() != 5 {
            return Err(perr(format!(
                "{}: value is not a (cc, nc, tt, ct, callers) tuple (got a tuple of {} item(s))",
                what(&int),
                items.len()
            )));
        }
        let cc = lazy(|w| cx.count(items[0], w), || format!("{}: cc", what(&int)))?;
        let nc = lazy(|w| cx.count(items[1], w), || format!("{}: nc", what(&int)))?;
        let tt = lazy(|w| cx.time(items[2], w), || format!("{}: tt", what(&int)))?;
        let ct = lazy(|w| cx.time(items[3], w), || format!("{}: ct", what(&int)))?;
        stats[i] = Some(PstatsStats {
            primcalls: cc,
            ncalls: nc,
            tottime: tt,
            cumtime: ct,
        });
        let cdict = match m.get(items[4]) {
            Obj::Dict(d) => d,
            o => {
                return Err(perr(format!(
                    "{}: callers is not a dict (got {})",
                    what(&int),
                    o.type_name()
                )))
            }
        };
        total_edges = total_edges.saturating_add(cdict.len());
        // Every distinct edge costs at least ~10 input bytes; more edges than input bytes means
        // shared (referenced) callers dicts: a reference bomb.
        if total_edges > input_len.max(1024) {
            return Err(perr(
                "too many caller edges for the file size (shared callers dicts: reference bomb?)",
            ));
        }
        let mut list: Vec<(FuncId, CallerVal)> = Vec::with_capacity(cdict.len());
        let mut pos_of: FxMap<FuncId, usize> = FxMap::default();
        for (j, (ck, cv)) in cdict.iter().enumerate() {
            let cwhat = |int: &Interner| format!("{}: caller {}", what(int), j + 1);
            let cid = match key_ids.get(ck) {
                Some(&(id, truncs)) => {
                    cx.truncated_names += truncs;
                    id
                }
                None => {
                    let before = cx.truncated_names;
                    let ckey = lazy(|w| cx.key(*ck, w), || cwhat(&int))?;
                    let (cid, _) = int.get_or_add(ckey);
                    key_ids.insert(*ck, (cid, cx.truncated_names - before));
                    cid
                }
            };
            let val = match m.get(*cv) {
                Obj::Tuple(t) if t.len() == 4 => {
                    tuple_callers = true;
                    CallerVal::Tuple {
                        nc: lazy(|w| cx.count(t[0], w), || format!("{}: nc", cwhat(&int)))?,
                        cc: lazy(|w| cx.count(t[1], w), || format!("{}: cc", cwhat(&int)))?,
                        tt: lazy(|w| cx.time(t[2], w), || format!("{}: tt", cwhat(&int)))?,
                        ct: lazy(|w| cx.time(t[3], w), || format!("{}: ct", cwhat(&int)))?,
                    }
                }
                Obj::Int(_) | Obj::Bool(_) | Obj::BigInt { .. } | Obj::Float(_) => {
                    int_callers = true;
                    CallerVal::Count(lazy(|w| cx.count(*cv, w), || format!("{}: count", cwhat(&int)))?)
                }
                Obj::Tuple(t) => return Err(perr(format!(
                    "{}: value is not an (nc, cc, tt, ct) tuple (got a tuple of {} item(s))",
                    cwhat(&int),
                    t.len()
                ))),
                o => {
                    return Err(perr(format!(
                        "{}: value is not an (nc, cc, tt, ct) tuple or a count (got {})",
                        cwhat(&int),
                        o.type_name()
                    )))
                }
            };
            // Duplicate callers (a later value wins): a scan for short lists, a map beyond.
            let found = if list.len() <= 16 {
                list.iter().position(|e| e.0 == cid)
            } else {
                if pos_of.is_empty() {
                    pos_of.extend(list.iter().enumerate().map(|(p, e)| (e.0, p)));
                }
                pos_of.get(&cid).copied()
            };
            match found {
                Some(p) => list[p].1 = val,
                None => {
                    if !pos_of.is_empty() {
                        pos_of.insert(cid, list.len());
                    }
                    list.push((cid, val));
                }
            }
        }
        callers_of[i] = list;
    }
    if int_callers && tuple_callers {
        return Err(perr(
            "callers mix plain counts (profile module) and (nc, cc, tt, ct) tuples (cProfile)",
        ));
    }
    if cx.truncated_names > 0 {
        warnings.push(ImportWarning::new(format!(
            "{} name(s) longer than {} bytes were truncated",
            cx.truncated_names, limits.max_name_len
        )));
    }

    // Dialect.
    let has_profiler_key = int
        .ids
        .contains_key(&("profile".to_owned(), 0, "profiler".to_owned()));
    let dialect = dialect(
        &stats,
        &int.functions[..n_top],
        int_callers,
        has_profiler_key,
        warnings,
    );

    // Totals in file order (dict order).
    let mut total_calls: u64 = 0;
    let mut prim_calls: u64 = 0;
    let mut total_time = 0.0f64;
    for s in stats.iter().flatten() {
        total_calls = total_calls
            .checked_add(s.ncalls)
            .ok_or_else(|| perr("total calls: count out of range (sum overflows 64 bits)"))?;
        prim_calls = prim_calls
            .checked_add(s.primcalls)
            .ok_or_else(|| perr("primitive calls: count out of range (sum overflows 64 bits)"))?;
        total_time += s.tottime;
    }

    let nf = int.functions.len();
    stats.resize(nf, None);
    let mut edges = Vec::with_capacity(total_edges);
    for (i, list) in callers_of.into_iter().enumerate() {
        for (caller, v) in list {
            edges.push(v.edge(caller, FuncId(i as u32)));
        }
    }
    Ok(Profile {
        format: Format::Pstats,
        dialect,
        unit: Unit::Seconds,
        functions: int.functions,
        threads: Vec::new(),
        pstats: Some(PstatsData {
            stats,
            edges,
            total_calls,
            prim_calls,
            total_time,
        }),
        samples: None,
        lines_are_current: false,
    })
}

/// One entry of a callers dict: cProfile's `(nc, cc, tt, ct)` or `profile`'s plain count.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CallerVal {
    Tuple { nc: u64, cc: u64, tt: f64, ct: f64 },
    Count(u64),
}

impl CallerVal {
    /// The entry an edge was read from.
    pub(crate) fn of(e: &CallEdge) -> CallerVal {
        match (e.primcalls, e.tottime, e.cumtime) {
            (Some(cc), Some(tt), Some(ct)) => CallerVal::Tuple { nc: e.ncalls, cc, tt, ct },
            _ => CallerVal::Count(e.ncalls),
        }
    }
    pub(crate) fn edge(self, caller: FuncId, callee: FuncId) -> CallEdge {
        match self {
            CallerVal::Tuple { nc, cc, tt, ct } => CallEdge {
                caller,
                callee,
                ncalls: nc,
                primcalls: Some(cc),
                tottime: Some(tt),
                cumtime: Some(ct),
            },
            CallerVal::Count(n) => CallEdge {
                caller,
                callee,
                ncalls: n,
                primcalls: None,
                tottime: None,
                cumtime: None,
            },
        }
    }
}
