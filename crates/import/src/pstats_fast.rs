//! The fast path of the pstats importer: walks the marshal byte stream of the common shape
//! (`{(file, line, name): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct) | count})}`) straight
//! into the model's tables, without building generic marshal objects.
//!
//! It accepts only a strict subset of what [`crate::marshal`] + [`crate::pstats`] accept, and
//! gives up (`None`) on anything else: another type code, a shape that the generic path would
//! reject or warn about, a repeated key, a name longer than the limit, a reference to anything
//! but an int, a float, a string or a key tuple. The caller then parses the file again with the
//! generic path from the start, so every error and warning text comes from there. On success
//! the result is exactly what the generic path gives (same function order, edge order, totals
//! summed in the same order, same warnings).
//!
//! References (`r`, FLAG_REF) are kept in a compact table of small enums: ints, floats, string
//! slices of the input and key ids; containers that the fast path never accepts as a reference
//! target are registered as `Opaque` so that the indices stay aligned with CPython's.

use profview_model::{CallEdge, FuncId, Function, PstatsData, PstatsStats};

use std::hash::Hasher;

use crate::hash::{FxHasher, IdTable};
use crate::Limits;

const FLAG_REF: u8 = 0x80;

/// A reference-table entry: a 3-bit tag and a 29-bit payload (a key id, or an index into
/// [`Rd::ints`], [`Rd::floats`], [`Rd::strs`]). Four bytes, so the table of a big file stays in
/// cache while callers dicts refer back to key tuples all over it.
type Ref = u32;
/// A container that is still being read, or one the fast path never accepts by reference.
const OPAQUE: Ref = 0;
const T_INT: u32 = 1;
const T_FLOAT: u32 = 2;
const T_STR: u32 = 3;
/// A (file, line, name) key tuple, by key id.
const T_KEY: u32 = 4;
const TAG_SHIFT: u32 = 29;
const PAYLOAD: u32 = (1 << TAG_SHIFT) - 1;

#[inline]
fn mk(tag: u32, payload: usize) -> Option<Ref> {
    let p = u32::try_from(payload).ok().filter(|&p| p <= PAYLOAD)?;
    Some(tag << TAG_SHIFT | p)
}

#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

/// What the fast path produced; the caller adds the shared tail (dialect, warnings, totals).
pub(crate) struct Fast {
    pub functions: Vec<Function>,
    pub stats: Vec<Option<PstatsStats>>,
    pub edges: Vec<CallEdge>,
    pub n_top: usize,
    pub int_callers: bool,
    pub has_profiler_key: bool,
    pub consumed: usize,
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
    refs: Vec<Ref>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    strs: Vec<&'a str>,
    max_name: usize,
    /// Key content → key id (in order of first appearance in the stream), by hash; the
    /// table holds ids only, so growing it never reads the strings again.
    keys: IdTable,
    /// Key id → content.
    key_list: Vec<(&'a str, i64, &'a str)>,
    /// Key id → hash of its content.
    key_hash: Vec<u64>,
    /// Key id → function.
    funcs: Vec<Function>,
}

impl<'a> Rd<'a> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    #[inline]
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Some(a)
    }

    #[inline]
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.arr::<4>()?))
    }

    #[inline]
    fn len32(&mut self) -> Option<usize> {
        usize::try_from(self.i32()?).ok()
    }

    #[inline]
    fn deref(&mut self, tag: u32) -> Option<usize> {
        let idx = usize::try_from(self.i32()?).ok()?;
        let r = *self.refs.get(idx)?;
        (r >> TAG_SHIFT == tag).then_some((r & PAYLOAD) as usize)
    }

    #[inline]
    fn deref_num(&mut self) -> Option<Num> {
        let idx = usize::try_from(self.i32()?).ok()?;
        let r = *self.refs.get(idx)?;
        let p = (r & PAYLOAD) as usize;
        match r >> TAG_SHIFT {
            T_INT => Some(Num::Int(*self.ints.get(p)?)),
            T_FLOAT => Some(Num::Float(*self.floats.get(p)?)),
            _ => None,
        }
    }

    /// An int or a float (`i`, `I`, `g`, or a reference to one).
    #[inline]
    fn num(&mut self) -> Option<Num> {
        let c = self.byte()?;
        let v = match c & !FLAG_REF {
            b'i' => Num::Int(self.i32()? as i64),
            b'g' => Num::Float(f64::from_le_bytes(self.arr::<8>()?)),
            b'I' => Num::Int(i64::from_le_bytes(self.arr::<8>()?)),
            b'r' => return self.deref_num(),
            _ => return None,
        };
        if c & FLAG_REF != 0 {
            let r = match v {
                Num::Int(i) => {
                    self.ints.push(i);
                    mk(T_INT, self.ints.len() - 1)?
                }
                Num::Float(f) => {
                    self.floats.push(f);
                    mk(T_FLOAT, self.floats.len() - 1)?
                }
            };
            self.refs.push(r);
        }
        Some(v)
    }

    /// A non-negative integer count.
    #[inline]
    fn count(&mut self) -> Option<u64> {
        match self.num()? {
            Num::Int(v) => u64::try_from(v).ok(),
            Num::Float(_) => None,
        }
    }

    /// A finite time (float or int).
    #[inline]
    fn time(&mut self) -> Option<f64> {
        let v = match self.num()? {
            Num::Int(v) => v as f64,
            Num::Float(f) => f,
        };
        v.is_finite().then_some(v)
    }

    /// A text string (`z`, `Z`, `a`, `A` when ASCII; `u` when valid UTF-8; or a reference).
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        let c = self.byte()?;
        let s = match c & !FLAG_REF {
            b'z' | b'Z' => {
                let n = self.byte()? as usize;
                ascii(self.take(n)?)?
            }
            b'a' | b'A' => {
                let n = self.len32()?;
                ascii(self.take(n)?)?
            }
            b'u' => {
                let n = self.len32()?;
                std::str::from_utf8(self.take(n)?).ok()?
            }
            b'r' => {
                let i = self.deref(T_STR)?;
                return self.strs.get(i).copied();
            }
            _ => return None,
        };
        if c & FLAG_REF != 0 {
            self.strs.push(s);
            let r = mk(T_STR, self.strs.len() - 1)?;
            self.refs.push(r);
        }
        Some(s)
    }

    /// A tuple header of exactly `n` items; registers the tuple as an opaque reference target.
    #[inline]
    fn tuple_of(&mut self, c: u8, n: usize) -> Option<()> {
        let len = match c & !FLAG_REF {
            b')' => self.byte()? as usize,
            b'(' => self.len32()?,
            _ => return None,
        };
        if len != n {
            return None;
        }
        if c & FLAG_REF != 0 {
            self.refs.push(OPAQUE);
        }
        Some(())
    }

    /// A `(file, line, name)` key tuple (inline or by reference) → key id.
    #[inline]
    fn key(&mut self) -> Option<u32> {
        let c = self.byte()?;
        match c & !FLAG_REF {
            b'r' => Some(self.deref(T_KEY)? as u32),
            b')' | b'(' => {
                self.tuple_of(c, 3)?;
                let slot = self.refs.len().wrapping_sub(1);
                let file = self.string()?;
                let line = match self.num()? {
                    Num::Int(v) => v,
                    Num::Float(_) => return None,
                };
                let name = self.string()?;
                if file.len() > self.max_name || name.len() > self.max_name {
                    return None;
                }
                let k = self.intern(file, line, name);
                if c & FLAG_REF != 0 {
                    self.refs[slot] = mk(T_KEY, k as usize)?;
                }
                Some(k)
            }
            _ => None,
        }
    }

    #[inline]
    fn intern(&mut self, file: &'a str, line: i64, name: &'a str) -> u32 {
        let h = key_hash(file, line, name);
        let list = &self.key_list;
        if let Some(k) = self
            .keys
            .find(h, |k| list[k as usize] == (file, line, name))
        {
            return k;
        }
        let k = self.key_list.len() as u32;
        let hashes = &self.key_hash;
        self.keys.insert(h, k, || {
            hashes.iter().enumerate().map(|(i, &h)| (h, i as u32))
        });
        self.key_list.push((file, line, name));
        self.key_hash.push(h);
        // Copied now, while the bytes are in cache (later they would be read all over the input).
        self.funcs.push(Function {
            name: name.to_owned(),
            file: file.to_owned(),
            line,
        });
        k
    }

    /// A dict header (`{`, or a version-6 frozendict `}`); registered as opaque.
    #[inline]
    fn dict(&mut self) -> Option<()> {
        let c = self.byte()?;
        if !matches!(c & !FLAG_REF, b'{' | b'}') {
            return None;
        }
        if c & FLAG_REF != 0 {
            self.refs.push(OPAQUE);
        }
        Some(())
    }

    /// True (and consumed) at the NULL that ends a dict.
    #[inline]
    fn dict_end(&mut self) -> Option<bool> {
        if self.peek()? == b'0' {
            self.pos += 1;
            return Some(true);
        }
        Some(false)
    }
}

#[inline]
fn key_hash(file: &str, line: i64, name: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(file.as_bytes());
    h.write_u64(line as u64);
    h.write(name.as_bytes());
    h.write_usize(name.len());
    h.finish()
}

#[inline]
fn ascii(raw: &[u8]) -> Option<&str> {
    if raw.is_ascii() {
        std::str::from_utf8(raw).ok()
    } else {
        None
    }
}

const NONE: u32 = u32::MAX;

/// Parses the common pstats shape; `None` means "use the generic path".
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Option<Fast> {
    // Nesting of the common shape: root dict → value tuple → callers dict → tuple.
    if limits.max_depth < 4 {
        return None;
    }
    // Sizes from the input (cProfile files hold a few hundred bytes per function and a
    // reference per 40 or so bytes): fewer regrowth copies of the big tables.
    let est_keys = bytes.len() / 192;
    let est_refs = bytes.len() / 32;
    let mut r = Rd {
        b: bytes,
        pos: 0,
        refs: Vec::with_capacity(est_refs),
        ints: Vec::new(),
        floats: Vec::new(),
        strs: Vec::new(),
        max_name: limits.max_name_len,
        keys: IdTable::default(),
        key_list: Vec::with_capacity(est_keys),
        key_hash: Vec::with_capacity(est_keys),
        funcs: Vec::with_capacity(est_keys),
    };
    r.dict()?;
    // Key id → position among the top-level entries.
    let mut top_of_key: Vec<u32> = Vec::new();
    // Key id → 1 + the entry whose callers dict last named it (repeated callers).
    let mut seen: Vec<u32> = Vec::new();
    let mut top_keys: Vec<u32> = Vec::with_capacity(est_keys);
    let mut stats: Vec<Option<PstatsStats>> = Vec::with_capacity(est_keys);
    // About 30 bytes per edge in cProfile files; the spare capacity is never touched.
    let mut edges: Vec<CallEdge> = Vec::with_capacity(bytes.len() / 24);
    let (mut int_callers, mut tuple_callers) = (false, false);
    while !r.dict_end()? {
        let k = r.key()?;
        let ku = k as usize;
        if ku >= top_of_key.len() {
            top_of_key.resize(r.key_list.len(), NONE);
        }
        if top_of_key[ku] != NONE {
            return None; // a repeated key: the generic path merges it
        }
        let callee = top_keys.len() as u32;
        top_of_key[ku] = callee;
        top_keys.push(k);
        let c = r.byte()?;
        r.tuple_of(c, 5)?;
        let primcalls = r.count()?;
        let ncalls = r.count()?;
        let tottime = r.time()?;
        let cumtime = r.time()?;
        stats.push(Some(PstatsStats {
            primcalls,
            ncalls,
            tottime,
            cumtime,
        }));
        r.dict()?;
        let first_edge = edges.len();
        while !r.dict_end()? {
            let ck = r.key()?;
            // A repeated caller: the generic path merges it. Short dicts scan their own edges
            // (no random access); long ones stamp a per-key array.
            let here = &edges[first_edge..];
            if here.len() < 32 {
                if here.iter().any(|e| e.caller.0 == ck) {
                    return None;
                }
            } else {
                if here.len() == 32 {
                    if seen.len() < r.key_list.len() {
                        seen.resize(r.key_list.len(), 0);
                    }
                    for e in here {
                        seen[e.caller.0 as usize] = callee + 1;
                    }
                }
                let cu = ck as usize;
                if cu >= seen.len() {
                    seen.resize(r.key_list.len(), 0);
                }
                if seen[cu] == callee + 1 {
                    return None;
                }
                seen[cu] = callee + 1;
            }
            let c = r.peek()?;
            let e = if matches!(c & !FLAG_REF, b')' | b'(') {
                r.pos += 1;
                r.tuple_of(c, 4)?;
                tuple_callers = true;
                let nc = r.count()?;
                let cc = r.count()?;
                let tt = r.time()?;
                let ct = r.time()?;
                CallEdge {
                    caller: FuncId(ck),
                    callee: FuncId(callee),
                    ncalls: nc,
                    primcalls: Some(cc),
                    tottime: Some(tt),
                    cumtime: Some(ct),
                }
            } else {
                int_callers = true;
                CallEdge {
                    caller: FuncId(ck),
                    callee: FuncId(callee),
                    ncalls: r.count()?,
                    primcalls: None,
                    tottime: None,
                    cumtime: None,
                }
            };
            edges.push(e);
        }
    }
    if top_keys.is_empty() || (int_callers && tuple_callers) || edges.len() > bytes.len().max(1024)
    {
        return None;
    }
    // Function ids: the top-level keys in file order, then the keys seen only as callers in
    // the order the edges name them (callee order, then callers-dict order), as the generic
    // path numbers them.
    let n_top = top_keys.len();
    let nk = r.key_list.len();
    let mut fid_of_key = top_of_key;
    fid_of_key.resize(nk, NONE);
    let mut order: Vec<u32> = top_keys;
    for e in &mut edges {
        let k = e.caller.0 as usize;
        let mut f = fid_of_key[k];
        if f == NONE {
            f = order.len() as u32;
            fid_of_key[k] = f;
            order.push(k as u32);
        }
        e.caller = FuncId(f);
    }
    let mut funcs = std::mem::take(&mut r.funcs);
    let functions: Vec<Function> = order
        .iter()
        .map(|&k| {
            let f = &mut funcs[k as usize];
            Function {
                name: std::mem::take(&mut f.name),
                file: std::mem::take(&mut f.file),
                line: f.line,
            }
        })
        .collect();
    drop(funcs);
    stats.resize(functions.len(), None);
    let has_profiler_key = {
        let list = &r.key_list;
        let key = ("profile", 0, "profiler");
        r.keys
            .find(key_hash(key.0, key.1, key.2), |k| list[k as usize] == key)
            .is_some()
    };
    Some(Fast {
        functions,
        stats,
        edges,
        n_top,
        int_callers,
        has_profiler_key,
        consumed: r.pos,
    })
}

impl Fast {
    /// The pstats table part, with totals; `None` when a total overflows (the generic path
    /// reports it).
    pub(crate) fn data(
        stats: Vec<Option<PstatsStats>>,
        edges: Vec<CallEdge>,
    ) -> Option<PstatsData> {
        let (mut total_calls, mut prim_calls, mut total_time) = (0u64, 0u64, 0.0f64);
        for s in stats.iter().flatten() {
            total_calls = total_calls.checked_add(s.ncalls)?;
            prim_calls = prim_calls.checked_add(s.primcalls)?;
            total_time += s.tottime;
        }
        Some(PstatsData {
            stats,
            edges,
            total_calls,
            prim_calls,
            total_time,
        })
    }
}
