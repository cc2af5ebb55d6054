//! Writes the pstats part of a profile as the `marshal` dump `pstats.Stats.dump_stats` writes, so
//! a recording's cProfile part (or a merged profile) opens in `pstats`, SnakeViz and friends.
//!
//! The dict is `{(file, line, name): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}` (cProfile's
//! `create_stats`: a callers entry has the call counts the other way round) in function
//! order; callers of the `profile` module (plain call counts) are written as plain ints.

use profview_model::{Profile, PstatsData};

const TYPE_NULL: u8 = b'0';
const TYPE_INT: u8 = b'i';
const TYPE_LONG: u8 = b'l';
const TYPE_BINARY_FLOAT: u8 = b'g';
const TYPE_UNICODE: u8 = b'u';
const TYPE_TUPLE: u8 = b'(';
const TYPE_DICT: u8 = b'{';

struct Out(Vec<u8>);

impl Out {
    fn len_prefix(&mut self, code: u8, n: usize) {
        self.0.push(code);
        // Lengths are bounded by the profile's own sizes (< 2^31 for any real file); saturate
        // rather than wrap so a reader sees a refused length, never a wrong one.
        self.0.extend_from_slice(&(n.min(i32::MAX as usize) as i32).to_le_bytes());
    }
    fn int(&mut self, v: u64) {
        if v <= i32::MAX as u64 {
            self.0.push(TYPE_INT);
            self.0.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            // Base 2^15 digits, least significant first; the count's sign is the number's.
            let mut digits = Vec::new();
            let mut x = v;
            while x > 0 {
                digits.push((x & 0x7fff) as u16);
                x >>= 15;
            }
            self.len_prefix(TYPE_LONG, digits.len());
            for d in digits {
                self.0.extend_from_slice(&d.to_le_bytes());
            }
        }
    }
    fn signed(&mut self, v: i64) {
        if let Ok(small) = i32::try_from(v) {
            self.0.push(TYPE_INT);
            self.0.extend_from_slice(&small.to_le_bytes());
        } else if v >= 0 {
            self.int(v as u64);
        } else {
            let mut digits = Vec::new();
            let mut x = v.unsigned_abs();
            while x > 0 {
                digits.push((x & 0x7fff) as u16);
                x >>= 15;
            }
            self.0.push(TYPE_LONG);
            self.0.extend_from_slice(&(-(digits.len() as i32)).to_le_bytes());
            for d in digits {
                self.0.extend_from_slice(&d.to_le_bytes());
            }
        }
    }
    fn float(&mut self, v: f64) {
        self.0.push(TYPE_BINARY_FLOAT);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.len_prefix(TYPE_UNICODE, s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn key(&mut self, p: &Profile, f: profview_model::FuncId) {
        let func = p.func(f);
        self.len_prefix(TYPE_TUPLE, 3);
        self.str(&func.file);
        self.signed(func.line);
        self.str(&func.name);
    }
}

/// The marshal bytes of `p`'s pstats part; `None` when it has none (a sampled profile has no
/// call counts to write).
pub fn write(p: &Profile) -> Option<Vec<u8>> {
    let ps: &PstatsData = p.pstats.as_ref()?;
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); p.functions.len()];
    for (i, e) in ps.edges.iter().enumerate() {
        if let Some(c) = callers.get_mut(e.callee.idx()) {
            c.push(i);
        }
    }
    let mut out = Out(Vec::with_capacity(64 * ps.stats.len() + 48 * ps.edges.len()));
    out.0.push(TYPE_DICT);
    for (i, s) in ps.stats.iter().enumerate() {
        let Some(s) = s else { continue };
        let fid = profview_model::FuncId(i as u32);
        out.key(p, fid);
        out.len_prefix(TYPE_TUPLE, 5);
        out.int(s.primcalls);
        out.int(s.ncalls);
        out.float(s.tottime);
        out.float(s.cumtime);
        out.0.push(TYPE_DICT);
        for &k in &callers[i] {
            let e = &ps.edges[k];
            out.key(p, e.caller);
            match (e.primcalls, e.tottime, e.cumtime) {
                (Some(cc), Some(tt), Some(ct)) => {
                    // A callers entry is (nc, cc, tt, ct): the outer tuple's first two swapped.
                    out.len_prefix(TYPE_TUPLE, 4);
                    out.int(e.ncalls);
                    out.int(cc);
                    out.float(tt);
                    out.float(ct);
                }
                _ => out.int(e.ncalls),
            }
        }
        out.0.push(TYPE_NULL);
    }
    out.0.push(TYPE_NULL);
    Some(out.0)
}
