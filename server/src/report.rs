//! `profview stats`: the JSON report (a stable contract) and the `print_stats`-like text.

use std::fmt::Write as _;

use profview_index::{FunctionQuery, ProfileIndex, SortKey};
use profview_model::{FuncId, Profile};
use serde_json::{json, Map, Value};

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

/// The `--json` report. Keys are a contract: add, never rename.
pub fn json_report(index: &ProfileIndex, sort: Option<SortKey>, limit: Option<usize>) -> Value {
    let p = index.profile();
    let pstats = p.pstats.as_ref();
    let totals = thread_totals(p);
    let threads: Vec<Value> = p
        .threads
        .iter()
        .zip(&totals)
        .map(|(t, tot)| json!({"id": t.id, "name": t.name, "total": num(*tot)}))
        .collect();
    let mut callers_of: Vec<Vec<usize>> = Vec::new();
    if let Some(ps) = pstats {
        callers_of = vec![Vec::new(); p.functions.len()];
        for (i, e) in ps.edges.iter().enumerate() {
            callers_of[e.callee.idx()].push(i);
        }
    }
    let functions: Vec<Value> = ordered(index, sort, limit)
        .into_iter()
        .map(|fid| {
            let f = p.func(fid);
            let s = index.function(fid).copied().unwrap_or_default();
            let callers: Vec<Value> = match pstats {
                Some(ps) => callers_of[fid.idx()]
                    .iter()
                    .map(|&i| {
                        let e = &ps.edges[i];
                        let c = p.func(e.caller);
                        json!({"name": c.name, "file": c.file, "line": c.line, "ncalls": e.ncalls,
                               "primcalls": e.primcalls, "tottime": e.tottime, "cumtime": e.cumtime})
                    })
                    .collect(),
                None => Vec::new(),
            };
            let mut m = Map::new();
            m.insert("name".into(), json!(f.name));
            m.insert("file".into(), json!(f.file));
            m.insert("line".into(), json!(f.line));
            m.insert("ncalls".into(), json!(s.ncalls));
            m.insert("primcalls".into(), json!(s.primcalls));
            m.insert("tottime".into(), json!(s.tottime));
            m.insert("cumtime".into(), json!(s.cumtime));
            m.insert("self".into(), s.self_weight.map(num).unwrap_or(Value::Null));
            m.insert("total".into(), s.total_weight.map(num).unwrap_or(Value::Null));
            m.insert("callers".into(), Value::Array(callers));
            Value::Object(m)
        })
        .collect();
    json!({
        "format": p.format.as_str(),
        "dialect": p.dialect.as_str(),
        "unit": p.unit.as_str(),
        "total_calls": pstats.map(|s| s.total_calls),
        "prim_calls": pstats.map(|s| s.prim_calls),
        "total_time": pstats.map(|s| s.total_time),
        "total": p.samples.as_ref().map(|s| num(s.total())),
        "function_count": index.function_stats().iter().filter(|s| s.listed).count(),
        "threads": threads,
        "functions": functions,
    })
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
    let p = index.profile();
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
    if let Some(ps) = &p.pstats {
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
    } else if let Some(sd) = &p.samples {
        let total = sd.total();
        let _ = writeln!(out, "         {} {} in {} threads\n", crate::report::num(total), p.unit.as_str(), p.threads.len());
        order_line(&mut out);
        let _ = writeln!(out, "{:>14} {:>7} {:>14} {:>7} function (file:line)", "self", "self%", "total", "total%");
        for fid in ids {
            let f = p.func(fid);
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
