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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{import, Limits};

    /// Export, import again: the same numbers under the same keys.
    fn round_trip(p: &Profile) -> Profile {
        let bytes = write(p).unwrap();
        import("out.prof", &bytes, &Limits::default()).unwrap().profile
    }

    /// One caller entry: caller key, then its numbers.
    type CallerRow = (String, u64, Option<u64>, Option<u64>, Option<u64>);
    /// One function: file, name, line, its numbers and its caller entries.
    type StatRow = (String, String, i64, u64, u64, u64, u64, Vec<CallerRow>);

    fn by_key(p: &Profile) -> Vec<StatRow> {
        let ps = p.pstats.as_ref().unwrap();
        let mut rows: Vec<_> = ps
            .stats
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = (*s)?;
                let f = &p.functions[i];
                let mut edges: Vec<_> = ps
                    .edges
                    .iter()
                    .filter(|e| e.callee.idx() == i)
                    .map(|e| {
                        let c = p.func(e.caller);
                        (format!("{}:{}:{}", c.file, c.line, c.name), e.ncalls, e.primcalls, e.tottime.map(f64::to_bits), e.cumtime.map(f64::to_bits))
                    })
                    .collect();
                edges.sort_by(|a, b| a.0.cmp(&b.0));
                Some((f.file.clone(), f.name.clone(), f.line, s.primcalls, s.ncalls, s.tottime.to_bits(), s.cumtime.to_bits(), edges))
            })
            .collect();
        rows.sort_by(|a, b| (&a.0, a.2, &a.1).cmp(&(&b.0, b.2, &b.1)));
        rows
    }

    #[test]
    fn round_trips_a_hybrid_recordings_cprofile_part() {
        let rec = br#"{"format": "profview-recording", "version": 1,
          "functions": [["a.py", 1, "main"], ["a.py", -5, "neg"], ["~", 0, "<built-in method big>"], ["b\u00e9.py", 70000, "\u00fcber"]],
          "threads": [[1, 2, "MainThread"]], "stacks": [[0, [0], 1, 0, 0, 1, 0.5, 0.5]],
          "cprofile": {"stats": [[0, 1, 1, 0.25, 1.5], [2, 3000000000, 5000000000, 0.125, 0.125], [1, 2, 2, 0.1, 0.2], [3, 1, 1, 0.0, 0.0]],
                       "edges": [[0, 2, 3000000000, 5000000000, 0.125, 0.125], [0, 1, 2, 2, 0.1, 0.2], [1, 3, 1, 1, 0.0, 0.0]]}}"#;
        let p = import("r.pvrec", rec, &Limits::default()).unwrap().profile;
        let back = round_trip(&p);
        assert_eq!(back.format, profview_model::Format::Pstats);
        assert_eq!(by_key(&back), by_key(&p));
        let (a, b) = (back.pstats.unwrap(), p.pstats.unwrap());
        assert_eq!((a.total_calls, a.prim_calls, a.total_time.to_bits()), (b.total_calls, b.prim_calls, b.total_time.to_bits()));
    }

    #[test]
    fn lines_beyond_32_bits_round_trip_as_marshal_longs() {
        // Lines past i32 (either sign) take the long path, base-2^15 digits with a signed count.
        for line in [5_000_000_000i64, -5_000_000_000, i32::MAX as i64 + 1, i32::MIN as i64 - 1, 32768, -32769] {
            let rec = format!(
                r#"{{"format": "profview-recording", "version": 1, "functions": [["a.py", {line}, "f"]],
                    "cprofile": {{"stats": [[0, 1, 1, 0.5, 0.5]]}}}}"#
            );
            let p = import("r.pvrec", rec.as_bytes(), &Limits::default()).unwrap().profile;
            let back = round_trip(&p);
            assert_eq!(back.functions[0].line, line, "line {line}");
        }
    }

    #[test]
    fn sampled_profiles_have_no_pstats_to_write() {
        let p = import("x.folded", b"a;b 3\n", &Limits::default()).unwrap().profile;
        assert!(write(&p).is_none());
    }
}
