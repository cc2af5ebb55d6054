//! `profview stats`: the JSON report (a stable contract) and the `print_stats`-like text.

use std::fmt::Write as _;

use profview_index::{FunctionQuery, ProfileIndex, Selection, SortKey};
use profview_model::{CallEdge, FuncId, Profile};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Value};

/// A number as JSON: integral values print as integers, others as the shortest round-trip float.
pub fn num(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// Parses a `--sort` column: the API's names plus pstats' (`cumulative`, `time`, `calls`, ...).
pub fn parse_sort(s: &str) -> Option<SortKey> {
    SortKey::parse(s).or(match s {
        "time" => Some(SortKey::Tottime),
        "calls" => Some(SortKey::Ncalls),
        "pcalls" => Some(SortKey::Primcalls),
        "filename" | "module" => Some(SortKey::File),
        "nfl" | "stdname" => Some(SortKey::Name),
        _ => None,
    })
}

/// The functions to report, in order: file order without `sort`, else sorted (descending for
/// numbers, as pstats does).
pub fn ordered(index: &ProfileIndex, sort: Option<SortKey>, limit: Option<usize>) -> Vec<FuncId> {
    match sort {
        None => {
            let ids = index
                .function_stats()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.listed)
                .map(|(i, _)| FuncId(i as u32));
            match limit {
                Some(n) => ids.take(n).collect(),
                None => ids.collect(),
            }
        }
        Some(key) => {
            let order = key.default_order();
            let q = FunctionQuery { sort: Some(key), order: Some(order), offset: 0, limit: limit.unwrap_or(usize::MAX), ..Default::default() };
            index.query_functions(&q).1
        }
    }
}

fn thread_totals(p: &Profile) -> Vec<f64> {
    let mut totals = vec![0.0; p.threads.len()];
    if let Some(s) = &p.samples {
        for smp in &s.samples {
            totals[smp.thread.idx()] += smp.weight;
        }
    }
    totals
}

/// A number as `num` writes it (integral values as integers), without building a `Value`.
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

/// The `--json` report, serialized as it is written: rows are never collected into a document
/// (174 MB of JSON for a 200k-function pstats file stays a stream). Keys are a contract: add,
/// never rename; they come out sorted, as `serde_json::Value` (a `BTreeMap`) wrote them before.
pub struct JsonReport<'a> {
    index: &'a ProfileIndex,
    ids: Vec<FuncId>,
    /// Caller edges by callee (CSR): callee `f`'s edges are `edge_of[start[f]..start[f + 1]]`,
    /// in file order.
    start: Vec<u32>,
    edge_of: Vec<u32>,
}

impl<'a> JsonReport<'a> {
    /// The report of `index`'s functions in the order of `sort` (file order without), at most `limit`.
    pub fn new(index: &'a ProfileIndex, sort: Option<SortKey>, limit: Option<usize>) -> Self {
        let p = index.profile();
        let (mut start, mut edge_of) = (Vec::new(), Vec::new());
        if let Some(ps) = &p.pstats {
            start = vec![0u32; p.functions.len() + 1];
            for e in &ps.edges {
                start[e.callee.idx() + 1] += 1;
            }
            for i in 1..start.len() {
                start[i] += start[i - 1];
            }
            let mut next = start.clone();
            edge_of = vec![0u32; ps.edges.len()];
            for (i, e) in ps.edges.iter().enumerate() {
                let slot = &mut next[e.callee.idx()];
                edge_of[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        JsonReport { index, ids: ordered(index, sort, limit), start, edge_of }
    }
}

struct Threads<'a>(&'a Profile);
struct Functions<'a>(&'a JsonReport<'a>);
struct Function<'a>(&'a JsonReport<'a>, FuncId);
struct Callers<'a>(&'a Profile, &'a [CallEdge], &'a [u32]);
struct Caller<'a>(&'a Profile, &'a CallEdge);

impl Serialize for JsonReport<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.index.profile();
        let pstats = p.pstats.as_ref();
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("dialect", p.dialect.as_str())?;
        m.serialize_entry("format", p.format.as_str())?;
        m.serialize_entry("function_count", &self.index.function_stats().iter().filter(|s| s.listed).count())?;
        m.serialize_entry("functions", &Functions(self))?;
        m.serialize_entry("prim_calls", &pstats.map(|s| s.prim_calls))?;
        m.serialize_entry("threads", &Threads(p))?;
        m.serialize_entry("total", &p.samples.as_ref().map(|s| Num(s.total())))?;
        m.serialize_entry("total_calls", &pstats.map(|s| s.total_calls))?;
        m.serialize_entry("total_time", &pstats.map(|s| s.total_time))?;
        m.serialize_entry("unit", p.unit.as_str())?;
        m.end()
    }
}

impl Serialize for Threads<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let totals = thread_totals(self.0);
        let mut seq = s.serialize_seq(Some(self.0.threads.len()))?;
        for (t, tot) in self.0.threads.iter().zip(totals) {
            seq.serialize_element(&json!({"id": t.id, "name": t.name, "total": num(tot)}))?;
        }
        seq.end()
    }
}

impl Serialize for Functions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.ids.len()))?;
        for &fid in &self.0.ids {
            seq.serialize_element(&Function(self.0, fid))?;
        }
        seq.end()
    }
}

impl Serialize for Function<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, fid) = (self.0, self.1);
        let p = r.index.profile();
        let f = p.func(fid);
        let st = r.index.function(fid).copied().unwrap_or_default();
        let (edges, which): (&[CallEdge], &[u32]) = match (&p.pstats, r.start.get(fid.idx()..fid.idx() + 2)) {
            (Some(ps), Some(&[a, b])) => (&ps.edges, &r.edge_of[a as usize..b as usize]),
            _ => (&[], &[]),
        };
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("callers", &Callers(p, edges, which))?;
        m.serialize_entry("cumtime", &st.cumtime)?;
        m.serialize_entry("file", &f.file)?;
        m.serialize_entry("line", &f.line)?;
        if r.index.groups_lines() {
            // A function grouped from the lines its frames were executing: those lines.
            let rows = r.index.function_lines(&Selection::default(), fid).unwrap_or_default();
            let lines: Vec<Value> =
                rows.iter().map(|l| json!({"line": l.line, "self": num(l.self_value), "total": num(l.total)})).collect();
            m.serialize_entry("lines", &lines)?;
        }
        m.serialize_entry("name", &f.name)?;
        m.serialize_entry("ncalls", &st.ncalls)?;
        m.serialize_entry("primcalls", &st.primcalls)?;
        m.serialize_entry("self", &st.self_weight.map(Num))?;
        m.serialize_entry("total", &st.total_weight.map(Num))?;
        m.serialize_entry("tottime", &st.tottime)?;
        m.end()
    }
}

impl Serialize for Callers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.2.len()))?;
        for &i in self.2 {
            seq.serialize_element(&Caller(self.0, &self.1[i as usize]))?;
        }
        seq.end()
    }
}

impl Serialize for Caller<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, e) = (self.0, self.1);
        let c = p.func(e.caller);
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("cumtime", &e.cumtime)?;
        m.serialize_entry("file", &c.file)?;
        m.serialize_entry("line", &c.line)?;
        m.serialize_entry("name", &c.name)?;
        m.serialize_entry("ncalls", &e.ncalls)?;
        m.serialize_entry("primcalls", &e.primcalls)?;
        m.serialize_entry("tottime", &e.tottime)?;
        m.end()
    }
}

/// The `--json` report as a `Value` (for tests and small profiles; `profview stats --json`
/// streams [`JsonReport`] instead).
pub fn json_report(index: &ProfileIndex, sort: Option<SortKey>, limit: Option<usize>) -> Value {
    serde_json::to_value(JsonReport::new(index, sort, limit)).unwrap_or(Value::Null)
}

/// `pstats.func_std_string`: `{built-in}` for `~` keys, else `file:line(name)`.
pub fn func_std_string(name: &str, file: &str, line: i64) -> String {
    if file == "~" && line == 0 {
        if name.starts_with('<') && name.ends_with('>') && name.len() >= 2 {
            format!("{{{}}}", &name[1..name.len() - 1])
        } else {
            name.to_owned()
        }
    } else if file.is_empty() && line == 0 {
        // A synthetic frame (a recording's `<idle>`, `<truncated>`): no place to name.
        name.to_owned()
    } else {
        format!("{file}:{line}({name})")
    }
}

fn f8(x: f64) -> String {
    format!("{x:8.3}")
}

/// How pstats names a sort order.
fn sort_label(k: SortKey) -> &'static str {
    match k {
        SortKey::Name => "function name",
        SortKey::File => "file name",
        SortKey::Line => "line number",
        SortKey::Ncalls => "call count",
        SortKey::Primcalls => "primitive call count",
        SortKey::Tottime => "internal time",
        SortKey::Cumtime => "cumulative time",
        SortKey::PercallTottime => "internal time per call",
        SortKey::PercallCumtime => "cumulative time per call",
        SortKey::SelfWeight => "self",
        SortKey::TotalWeight => "total",
        #[allow(unreachable_patterns)]
        _ => "column",
    }
}

/// Text like `pstats.Stats.print_stats`.
pub fn text_report(index: &ProfileIndex, file_label: &str, sort: Option<SortKey>, limit: Option<usize>) -> String {
    // A deferred index (`stats`) answers without renumbering its stacks: only a pstats profile
    // (never deferred) reads the profile itself.
    let info = index.info();
    let mut out = String::new();
    let listed = index.function_stats().iter().filter(|s| s.listed).count();
    let ids = ordered(index, sort, limit);
    let _ = writeln!(out, "{file_label}\n");
    let order_line = |out: &mut String| {
        if let Some(k) = sort {
            let _ = writeln!(out, "   Ordered by: {}\n", sort_label(k));
        }
        if ids.len() < listed {
            let _ = writeln!(out, "   List reduced from {listed} to {} due to restriction <{}>\n", ids.len(), ids.len());
        }
    };
    if let Some(ps) = index.pstats() {
        let p = index.profile();
        if ps.total_calls != ps.prim_calls {
            let _ = write!(out, "         {} function calls ({} primitive calls)", ps.total_calls, ps.prim_calls);
        } else {
            let _ = write!(out, "         {} function calls", ps.total_calls);
        }
        let _ = writeln!(out, " in {:.3} seconds\n", ps.total_time);
        // A hybrid recording: the sampled self/total (real seconds, from the stacks) next to
        // cProfile's exact numbers.
        let sampled = p.samples.as_ref().map(|sd| sd.total());
        if let Some(total) = sampled {
            let _ = writeln!(out, "         {} s sampled in {} threads (self/total: sampled; the rest: exact, from cProfile)\n", num(total), p.threads.len());
        }
        order_line(&mut out);
        let extra = if sampled.is_some() { "     self    total " } else { "" };
        let _ = writeln!(out, "   ncalls  tottime  percall  cumtime  percall {extra}filename:lineno(function)");
        for fid in ids {
            let f = p.func(fid);
            let s = index.function(fid).copied().unwrap_or_default();
            let (nc, cc) = (s.ncalls.unwrap_or(0), s.primcalls.unwrap_or(0));
            let (tt, ct) = (s.tottime.unwrap_or(0.0), s.cumtime.unwrap_or(0.0));
            let c = if nc != cc { format!("{nc}/{cc}") } else { nc.to_string() };
            let pt = if nc == 0 { " ".repeat(8) } else { f8(tt / nc as f64) };
            let pc = if cc == 0 { " ".repeat(8) } else { f8(ct / cc as f64) };
            let extra = if sampled.is_some() {
                format!("{} {} ", f8(s.self_weight.unwrap_or(0.0)), f8(s.total_weight.unwrap_or(0.0)))
            } else {
                String::new()
            };
            let _ = writeln!(out, "{c:>9} {} {pt} {} {pc} {extra}{}", f8(tt), f8(ct), func_std_string(&f.name, &f.file, f.line));
        }
    } else if let Some(total) = info.sample_total {
        let fs = index.functions();
        let _ = writeln!(out, "         {} {} in {} threads\n", crate::report::num(total), info.unit.as_str(), index.threads().len());
        order_line(&mut out);
        let _ = writeln!(out, "{:>14} {:>7} {:>14} {:>7} function (file:line)", "self", "self%", "total", "total%");
        for fid in ids {
            let f = &fs[fid.idx()];
            let s = index.function(fid).copied().unwrap_or_default();
            let (sw, tw) = (s.self_weight.unwrap_or(0.0), s.total_weight.unwrap_or(0.0));
            let pct = |v: f64| if total != 0.0 { format!("{:6.2}%", 100.0 * v / total) } else { "      -".into() };
            let loc = if f.file.is_empty() { String::new() } else { format!(" ({}:{})", f.file, f.line) };
            let _ = writeln!(out, "{:>14} {} {:>14} {} {}{loc}", num(sw).to_string(), pct(sw), num(tw).to_string(), pct(tw), f.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn func_std_string_matches_pstats() {
        assert_eq!(func_std_string("<built-in method builtins.exec>", "~", 0), "{built-in method builtins.exec}");
        assert_eq!(func_std_string("exec", "~", 0), "exec");
        assert_eq!(func_std_string("f", "a.py", 3), "a.py:3(f)");
        assert_eq!(func_std_string("<idle>", "", 0), "<idle>");
    }

    #[test]
    fn integral_numbers_print_as_integers() {
        assert_eq!(num(713.0).to_string(), "713");
        assert_eq!(num(0.5).to_string(), "0.5");
        assert_eq!(num(-4.0).to_string(), "-4");
    }
}
