//! callgrind files against the pstats truth of the same run (`tests/fixtures/corpus/callgrind/`,
//! `MANIFEST.md`): yappi's callgrind and pstat saves of one run, pyprof2calltree's conversion of
//! `cprofile_recursion.prof`. Times in callgrind are truncated (yappi: whole µs, pyprof2calltree:
//! whole ns), so each number is compared within one unit per truncated value summed into it.
#![cfg(test)]

mod common;

use std::collections::{HashMap, HashSet};

use common::corpus;
use profview_import::{callgrind, detect, folded, import, ImportError, Kind, Limits};
use profview_model::{Dialect, Format, Profile};
use serde_json::Value;

type Key = (String, i64, String);

fn read(p: &str) -> Vec<u8> {
    std::fs::read(corpus().join(p)).unwrap()
}

fn truth(p: &str) -> Value {
    serde_json::from_slice(&read(p)).unwrap()
}

/// The truth's functions: key → (cc, nc, tt, ct, callers [(caller key, nc, ct)]).
#[allow(clippy::type_complexity)]
struct Truth {
    funcs: HashMap<Key, (u64, u64, f64, f64, Vec<(Key, u64, f64)>)>,
}

fn load_truth(p: &str) -> Truth {
    let t = truth(p);
    let fs = t["functions"].as_array().unwrap();
    let key = |f: &Value| -> Key {
        let k = f[0].as_array().unwrap();
        (k[0].as_str().unwrap().to_owned(), k[1].as_i64().unwrap(), k[2].as_str().unwrap().to_owned())
    };
    let mut funcs = HashMap::new();
    for f in fs {
        let callers = f[5]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (key(&fs[c[0].as_u64().unwrap() as usize]), c[1].as_u64().unwrap(), c[4].as_f64().unwrap()))
            .collect();
        funcs.insert(
            key(f),
            (f[1].as_u64().unwrap(), f[2].as_u64().unwrap(), f[3].as_f64().unwrap(), f[4].as_f64().unwrap(), callers),
        );
    }
    Truth { funcs }
}

/// Our profile as key → (ncalls, primcalls, tt, ct) and (caller, callee) → (ncalls, ct).
#[allow(clippy::type_complexity)]
fn ours(p: &Profile) -> (HashMap<Key, (u64, u64, f64, f64)>, HashMap<(Key, Key), (u64, f64)>) {
    let key = |i: usize| -> Key {
        let f = &p.functions[i];
        (f.file.clone(), f.line, f.name.clone())
    };
    let ps = p.pstats.as_ref().unwrap();
    let funcs = ps
        .stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.unwrap();
            (key(i), (s.ncalls, s.primcalls, s.tottime, s.cumtime))
        })
        .collect();
    let edges = ps
        .edges
        .iter()
        .map(|e| ((key(e.caller.idx()), key(e.callee.idx())), (e.ncalls, e.cumtime.unwrap())))
        .collect();
    (funcs, edges)
}

/// Functions on a call cycle through another function (b reaches a for some edge a → b, a ≠ b),
/// by plain reachability over the truth's caller edges.
fn in_cycles(t: &Truth) -> HashSet<Key> {
    let pairs: Vec<(Key, Key)> =
        t.funcs.iter().flat_map(|(callee, v)| v.4.iter().map(move |(caller, _, _)| (caller.clone(), callee.clone()))).collect();
    cycles_of(&pairs)
}

fn cycles_of(pairs: &[(Key, Key)]) -> HashSet<Key> {
    let mut succ: HashMap<&Key, Vec<&Key>> = HashMap::new();
    for (caller, callee) in pairs {
        if caller != callee {
            succ.entry(caller).or_default().push(callee);
        }
    }
    let reaches = |from: &Key, to: &Key| {
        let mut seen = HashSet::new();
        let mut todo = vec![from];
        while let Some(x) = todo.pop() {
            if x == to {
                return true;
            }
            if seen.insert(x) {
                todo.extend(succ.get(x).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut out = HashSet::new();
    for (a, bs) in &succ {
        for b in bs {
            if reaches(b, a) {
                out.insert((*a).clone());
                out.insert((*b).clone());
            }
        }
    }
    out
}

/// yappi writes one `fn=(id) name file:line` definition per function and thread context;
/// the number of definitions of a key is the number of truncated values summed into it.
fn yappi_defs(text: &str) -> HashMap<Key, u32> {
    let mut files: HashMap<&str, &str> = HashMap::new();
    let mut out = HashMap::new();
    for l in text.lines() {
        if let Some(r) = l.strip_prefix("fl=(") {
            if let Some((id, name)) = r.split_once(") ") {
                files.insert(id, name);
            }
        }
        if let Some(r) = l.strip_prefix("fn=(") {
            if let Some((id, t)) = r.split_once(") ") {
                let file = files[id];
                let (name, line) = t.strip_suffix(&format!(":{}", t.rsplit(':').next().unwrap())).map(|h| (h, t.rsplit(':').next().unwrap())).unwrap();
                let name = name.strip_suffix(&format!(" {file}")).unwrap();
                *out.entry((file.to_owned(), line.parse().unwrap(), name.to_owned())).or_insert(0) += 1;
            }
        }
    }
    out
}

fn check_yappi(name: &str) {
    let bytes = read(&format!("callgrind/{name}.callgrind"));
    assert_eq!(detect(&format!("{name}.callgrind"), &bytes), Some(Kind::Callgrind));
    assert_eq!(detect("no-extension", &bytes), Some(Kind::Callgrind));
    let p = import(name, &bytes, &Limits::default()).unwrap().profile;
    assert_eq!((p.format, p.dialect), (Format::Pstats, Dialect::YappiCallgrind));
    assert_eq!(p.format.as_str(), "pstats");
    assert_eq!(p.dialect.as_str(), "yappi-callgrind");
    let t = load_truth(&format!("pstats/{name}.pstat.truth.json"));
    let defs = yappi_defs(std::str::from_utf8(&bytes).unwrap());
    let cyc = in_cycles(&t);
    let (f, e) = ours(&p);
    assert_eq!(f.len(), t.funcs.len(), "{name}: function count");
    assert_eq!(e.len(), t.funcs.values().map(|v| v.4.len()).sum::<usize>(), "{name}: edge count");
    let us = 1e-6 * (1.0 + 1e-9);
    let (mut exact_ct, mut bounded_ct) = (0, 0);
    for (k, &(cc, nc, tt, ct, ref callers)) in &t.funcs {
        // yappi's pstat holds (ncall, nactualcall) in the (cc, nc) slots: cc is all calls.
        let (ncalls, prim, mtt, mct) = f[k];
        let d = defs[k] as f64;
        assert!((mtt - tt).abs() <= d * us + 1e-12, "{name} {k:?}: tottime {mtt} vs {tt}");
        let root = callers.is_empty();
        if !root {
            assert_eq!(ncalls, cc, "{name} {k:?}: calls");
        }
        for (ck, enc, ect) in callers {
            let (n, c) = e[&(ck.clone(), k.clone())];
            assert_eq!(n, *enc, "{name} {ck:?} -> {k:?}: edge calls");
            let tol = (defs[ck] * defs[k]) as f64 * us + 1e-12;
            assert!((c - ect).abs() <= tol, "{name} {ck:?} -> {k:?}: edge ct {c} vs {ect}");
        }
        // Truncation: one µs per own value and per call edge to others summed.
        let parts = d + t
            .funcs
            .iter()
            .filter(|(b, _)| *b != k)
            .filter(|(_, v)| v.4.iter().any(|(c, _, _)| c == k))
            .map(|(b, _)| (defs[k] * defs[b]) as f64)
            .sum::<f64>();
        let tol = parts * us + 1e-12;
        if cyc.contains(k) {
            assert!(mct >= ct - tol, "{name} {k:?}: a cycle's cumtime {mct} is below pstats' {ct}");
            bounded_ct += 1;
        } else {
            assert!((mct - ct).abs() <= tol, "{name} {k:?}: cumtime {mct} vs {ct} (tol {tol})");
            if !root {
                assert_eq!(prim, nc, "{name} {k:?}: primitive calls");
            }
            exact_ct += 1;
        }
    }
    assert!(exact_ct > bounded_ct * 5, "{name}: {exact_ct} exact, {bounded_ct} bounded");
}

#[test]
fn yappi_recursion_callgrind_equals_the_pstat_of_the_same_run() {
    check_yappi("yappi_recursion_cpu");
}

#[test]
fn yappi_threads_callgrind_equals_the_pstat_of_the_same_run() {
    check_yappi("yappi_threads_cpu");
}

#[test]
fn pyprof2calltree_recursion_equals_the_cprofile_file_it_was_made_from() {
    let bytes = read("callgrind/pyprof2calltree_recursion.callgrind");
    assert_eq!(detect("x", &bytes), Some(Kind::Callgrind));
    let i = import("x.callgrind", &bytes, &Limits::default()).unwrap();
    let p = i.profile;
    assert_eq!((p.format, p.dialect), (Format::Pstats, Dialect::Callgrind));
    let t = load_truth("pstats/cprofile_recursion.prof.truth.json");
    let cyc = in_cycles(&t);
    let (f, e) = ours(&p);
    assert_eq!(f.len(), t.funcs.len());
    let ns = 1e-9 * (1.0 + 1e-9);
    for (k, &(cc, nc, tt, ct, ref callers)) in &t.funcs {
        let (ncalls, prim, mtt, mct) = f[k];
        assert!((mtt - tt).abs() <= ns, "{k:?}: tottime {mtt} vs {tt}");
        let root = callers.is_empty();
        if !root {
            assert_eq!(ncalls, nc, "{k:?}: calls");
        }
        for (ck, enc, ect) in callers {
            let (n, c) = e[&(ck.clone(), k.clone())];
            assert_eq!(n, *enc);
            assert!((c - ect).abs() <= ns, "{ck:?} -> {k:?}: {c} vs {ect}");
        }
        let parts = 1 + e.keys().filter(|(a, b)| a == k && b != k).count();
        let tol = parts as f64 * ns;
        if cyc.contains(k) {
            assert!(mct >= ct - tol, "{k:?}");
        } else {
            assert!((mct - ct).abs() <= tol, "{k:?}: cumtime {mct} vs {ct}");
            if !root {
                assert_eq!(prim, cc, "{k:?}: primitive calls");
            }
        }
    }
    // The names pyprof2calltree made unique (`<genexpr>:20`) are split back: every key is the
    // cProfile key, checked above; and the warnings say which numbers are estimates.
    assert!(i.warnings.iter().any(|w| w.message.contains("no caller")), "{:?}", i.warnings);
    assert!(i.warnings.iter().any(|w| w.message.contains("call cycles")), "{:?}", i.warnings);
}

#[test]
fn pyprof2calltree_flask_loop_matches_its_records_and_summary() {
    let bytes = read("callgrind/pyprof2calltree_flask_loop.callgrind");
    let t = truth("callgrind/pyprof2calltree_flask_loop.callgrind.truth.json");
    let p = import("x", &bytes, &Limits::default()).unwrap().profile;
    let ps = p.pstats.as_ref().unwrap();
    assert_eq!(p.functions.len() as u64, t["fn_records"].as_u64().unwrap());
    assert_eq!(ps.edges.len() as u64, t["cfn_records"].as_u64().unwrap());
    // `summary:` is the cumulative time of the run's root (builtins.exec) in ns. exec is on a
    // call cycle (imports run module code that calls exec), so ours is an upper bound of it; no
    // function off every cycle has more.
    let summary = t["summary_or_totals"].as_str().unwrap().parse::<f64>().unwrap() * 1e-9;
    let (f, e) = ours(&p);
    let cyc = cycles_of(&e.keys().cloned().collect::<Vec<_>>());
    let exec = f[&("~".to_owned(), 0, "<built-in method builtins.exec>".to_owned())];
    assert!(cyc.contains(&("~".to_owned(), 0, "<built-in method builtins.exec>".to_owned())));
    assert!(exec.3 >= summary - 1e-9, "{} vs {summary}", exec.3);
    for (k, v) in &f {
        if !cyc.contains(k) {
            assert!(v.3 <= summary + 1e-9, "{k:?}: {} over the run's {summary}", v.3);
        }
    }
    // Σ own time equals the Σ of the cost lines that do not follow a `calls=` line.
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut own = 0u64;
    let mut after_calls = false;
    for l in text.lines() {
        if l.starts_with("calls=") {
            after_calls = true;
        } else if l.starts_with(|c: char| c.is_ascii_digit()) {
            if !after_calls {
                own += l.split(' ').nth(1).unwrap().parse::<u64>().unwrap();
            }
            after_calls = false;
        }
    }
    assert!((ps.total_time - own as f64 * 1e-9).abs() < 1e-6, "{} vs {own}", ps.total_time);
    // Σ calls equals the Σ of every `calls=` line plus one per root.
    let calls: u64 = text.lines().filter_map(|l| l.strip_prefix("calls=")).map(|l| l.split(' ').next().unwrap().parse::<u64>().unwrap()).sum();
    let roots = ps.stats.iter().enumerate().filter(|(i, _)| !ps.edges.iter().any(|e| e.callee.idx() == *i && e.caller != e.callee)).count() as u64;
    assert_eq!(ps.total_calls, calls + roots);
}

#[test]
fn the_folded_parser_refuses_callgrind_and_names_it() {
    let bytes = read("callgrind/yappi_recursion_cpu.callgrind");
    let e = folded::parse(&bytes, &Limits::default()).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, ImportError::Folded { .. }), "{m}");
    assert!(m.contains("looks like callgrind text"), "{m}");
    assert_eq!(folded::sniff(&bytes), Some(false));
}

#[test]
fn hostile_callgrind_is_refused_with_the_line_or_bounded() {
    let l = Limits::default();
    // Truncated after `calls=`, undefined ids, huge counts and sums, a cost before any `fn=`.
    for (s, line) in [
        ("events: ns\nfn=a\ncfn=b\ncalls=1 0\n", 4u64),
        ("events: ns\nfl=(7)\n", 2),
        ("events: ns\nfn=a\ncfn=(99)\n", 3),
        ("events: ns\nfn=a\ncfn=b\ncalls=99999999999999999999 0\n0 1\n", 4),
        ("events: ns\nfn=a\n0 18446744073709551615\n0 1\n", 4),
        ("events: ns\n0 1\n", 2),
        ("events: ns\nfn=a\n+99999999999999999999 1\n", 3),
    ] {
        let e = callgrind::parse(s.as_bytes(), &l).unwrap_err();
        assert!(matches!(e, ImportError::Callgrind { line: n, .. } if n == line), "{s:?}: {e}");
    }
    // Deep call chains and long cycles: no recursion in the parser.
    let mut s = String::from("events: ns\n");
    for i in 0..100_000 {
        s.push_str(&format!("fn=f{i}\n0 1\ncfn=f{}\ncalls=1 0\n0 1\n", (i + 1) % 100_000));
    }
    let i = callgrind::parse(s.as_bytes(), &l).unwrap();
    assert_eq!(i.profile.functions.len(), 100_000);
    assert!(i.warnings.iter().any(|w| w.message.starts_with("100000 function(s) call themselves")));
    // Invalid UTF-8 names the line.
    let e = callgrind::parse(b"events: ns\nfn=a\xff\n", &l).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}

#[test]
fn prose_is_refused_as_folded_and_named() {
    let prose = "Release notes\n\nThis version fixes 3 bugs and adds 2 features.\nThanks to everyone who helped;\nsee the changelog for details,\nand the README for the list of 12 supported inputs\n";
    let l = Limits::default();
    assert_eq!(folded::sniff(prose.as_bytes()), Some(false));
    assert_eq!(detect("notes.txt", prose.as_bytes()), None);
    for e in [import("notes.txt", prose.as_bytes(), &l).unwrap_err(), folded::parse(prose.as_bytes(), &l).unwrap_err()] {
        let m = e.to_string();
        assert!(m.contains("looks like prose / not a profile") && m.starts_with("line 1: not folded stacks"), "{m}");
    }
    // A folded file with a stray line is still folded.
    let ok = folded::parse(b"a;b 3\nsome note\na 1\n", &l).unwrap();
    assert_eq!(ok.profile.samples.unwrap().total(), 4.0);
}
