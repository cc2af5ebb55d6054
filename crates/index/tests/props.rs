//! Property tests: every query equals a brute-force computation over the raw samples or edges.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use profview_index::*;
use profview_model::*;
use proptest::prelude::*;

const NF: u32 = 6;
const NT: u32 = 3;

/// Names/files chosen to cover every package class and an idle leaf.
const FUNCS: [(&str, &str); NF as usize] = [
    ("main", "/home/user/app/main.py"),
    ("loads", "/usr/lib/python3.11/json/__init__.py"),
    ("get", "/home/user/.venv/lib/python3.11/site-packages/requests/api.py"),
    ("<built-in method builtins.len>", "~"),
    ("work", "/home/user/app/main.py"),
    ("Condition.wait", "/usr/lib/python3.11/threading.py"),
];

type Samples = Vec<(Vec<u32>, u32, f64)>;

fn arb_samples() -> impl Strategy<Value = Samples> {
    prop::collection::vec(
        (prop::collection::vec(0..NF, 0..6), 0..NT, 1u32..10).prop_map(|(s, t, w)| (s, t, w as f64)),
        1..30,
    )
}

fn build_samples(samples: &Samples) -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let threads: Vec<ThreadId> = (0..NT).map(|t| b.thread(&t.to_string(), None)).collect();
    let ids: Vec<FuncId> = FUNCS.iter().enumerate().map(|(i, (n, f))| b.function(n, f, i as i64)).collect();
    for (s, t, w) in samples {
        let frames: Vec<FuncId> = s.iter().map(|&f| ids[f as usize]).collect();
        b.add_sample(&frames, threads[*t as usize], *w);
    }
    let p = b.finish(Dialect::Gregg, Unit::Samples);
    assert!(p.check_valid().is_ok());
    ProfileIndex::build(p)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn path_of(n: &SliceNode) -> Vec<u32> {
    if n.path.is_empty() {
        Vec::new()
    } else {
        n.path.split('.').map(|x| x.parse().unwrap()).collect()
    }
}

fn full() -> Lod {
    Lod { min_frac: 0.0, max_nodes: 1_000_000 }
}

/// Brute force over a list of stacks.
struct Brute<'a>(Vec<(&'a [u32], f64)>);

impl Brute<'_> {
    fn total(&self) -> f64 {
        self.0.iter().map(|s| s.1).sum()
    }
    fn self_w(&self, f: u32) -> Option<f64> {
        let present = self.0.iter().any(|(s, _)| s.contains(&f));
        present.then(|| self.0.iter().filter(|(s, _)| s.last() == Some(&f)).map(|s| s.1).sum())
    }
    fn total_w(&self, f: u32) -> f64 {
        self.0.iter().filter(|(s, _)| s.contains(&f)).map(|s| s.1).sum()
    }
    fn edges(&self) -> BTreeMap<(u32, u32), f64> {
        let mut m = BTreeMap::new();
        for (s, w) in &self.0 {
            let pairs: BTreeSet<(u32, u32)> = s.windows(2).map(|p| (p[0], p[1])).collect();
            for p in pairs {
                *m.entry(p).or_insert(0.0) += w;
            }
        }
        m
    }
    fn prefix(&self, p: &[u32]) -> f64 {
        self.0.iter().filter(|(s, _)| s.starts_with(p)).map(|s| s.1).sum()
    }
    fn suffix(&self, p: &[u32]) -> f64 {
        let rev: Vec<u32> = p.iter().rev().copied().collect();
        self.0.iter().filter(|(s, _)| s.ends_with(&rev)).map(|s| s.1).sum()
    }
    fn prefixes(&self) -> BTreeSet<Vec<u32>> {
        self.0.iter().flat_map(|(s, _)| (1..=s.len()).map(|k| s[..k].to_vec())).collect()
    }
    fn suffixes(&self) -> BTreeSet<Vec<u32>> {
        self.0.iter().flat_map(|(s, _)| (1..=s.len()).map(|k| s[s.len() - k..].iter().rev().copied().collect())).collect()
    }
}

fn bfs(edges: &BTreeMap<(u32, u32), f64>, start: u32, up: bool) -> BTreeMap<u32, u32> {
    let mut dist = BTreeMap::new();
    let mut q = VecDeque::from([(start, 0u32)]);
    let mut seen = BTreeSet::from([start]);
    while let Some((f, d)) = q.pop_front() {
        for &(a, b) in edges.keys() {
            let (from, to) = if up { (b, a) } else { (a, b) };
            if from == f && seen.insert(to) {
                dist.insert(to, d + 1);
                q.push_back((to, d + 1));
            }
        }
    }
    dist
}

/// Checks every query of a sampled view against the brute force over `stacks`.
fn check_view(idx: &ProfileIndex, v: &View, stacks: &Brute<'_>) -> Result<(), TestCaseError> {
    // Function aggregates.
    for f in 0..NF {
        let s = idx.stats_in(v, FuncId(f));
        match stacks.self_w(f) {
            None => prop_assert!(s.is_none(), "f{f} should be absent"),
            Some(sw) => {
                let s = s.expect("present");
                prop_assert!(close(s.self_weight.unwrap(), sw), "self f{f}");
                prop_assert!(close(s.total_weight.unwrap(), stacks.total_w(f)), "total f{f}");
            }
        }
    }
    // Direct callers/callees and transitive reach.
    let edges = stacks.edges();
    for f in 0..NF {
        if stacks.self_w(f).is_none() {
            prop_assert!(idx.callers(v, FuncId(f)).is_err());
            continue;
        }
        let got: BTreeMap<(u32, u32), f64> =
            idx.callees(v, FuncId(f)).unwrap().iter().map(|e| ((f, e.func.0), e.weight.unwrap())).collect();
        let want: BTreeMap<(u32, u32), f64> = edges.iter().filter(|(k, _)| k.0 == f).map(|(k, w)| (*k, *w)).collect();
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, w) in &want {
            prop_assert!(close(got[k], *w));
        }
        let got: BTreeMap<(u32, u32), f64> =
            idx.callers(v, FuncId(f)).unwrap().iter().map(|e| ((e.func.0, f), e.weight.unwrap())).collect();
        let want: BTreeMap<(u32, u32), f64> = edges.iter().filter(|(k, _)| k.1 == f).map(|(k, w)| (*k, *w)).collect();
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, w) in &want {
            prop_assert!(close(got[k], *w));
        }
        for up in [true, false] {
            let got: BTreeMap<u32, u32> = if up { idx.all_callers(v, FuncId(f)) } else { idx.all_callees(v, FuncId(f)) }
                .unwrap()
                .iter()
                .map(|r| (r.func.0, r.distance))
                .collect();
            let mut want = bfs(&edges, f, up);
            want.remove(&f);
            prop_assert_eq!(got, want);
        }
    }
    // Full trees: every node's total is the brute-force prefix / suffix sum.
    let td = idx.tree(v, &TreeQuery { lod: full(), ..Default::default() }).unwrap();
    prop_assert!(close(td.nodes[0].total, stacks.total()));
    prop_assert_eq!(td.nodes.len() - 1, stacks.prefixes().len());
    for n in &td.nodes[1..] {
        prop_assert!(close(n.total, stacks.prefix(&path_of(n))), "top-down {}", n.path);
        prop_assert_eq!(n.exactness, Exactness::Exact);
    }
    let inv = idx.tree(v, &TreeQuery { mode: TreeMode::Inverted, lod: full(), ..Default::default() }).unwrap();
    prop_assert_eq!(inv.nodes.len() - 1, stacks.suffixes().len());
    for n in &inv.nodes[1..] {
        prop_assert!(close(n.total, stacks.suffix(&path_of(n))), "inverted {}", n.path);
    }
    // Sandwich: callers above the outermost occurrence, callees below it.
    for f in 0..NF {
        let Ok((up, down)) = idx.sandwich(v, FuncId(f), &full()) else {
            prop_assert!(stacks.self_w(f).is_none());
            continue;
        };
        prop_assert!(close(up.nodes[0].total, stacks.total_w(f)));
        prop_assert!(close(down.nodes[0].total, stacks.total_w(f)));
        let outer: Vec<(&[u32], &[u32], f64)> = stacks
            .0
            .iter()
            .filter_map(|(s, w)| s.iter().position(|&x| x == f).map(|i| (&s[..i], &s[i + 1..], *w)))
            .collect();
        for n in &up.nodes[1..] {
            let p = path_of(n);
            let above: Vec<u32> = p[1..].iter().rev().copied().collect();
            let want: f64 = outer.iter().filter(|(a, _, _)| a.ends_with(&above)).map(|x| x.2).sum();
            prop_assert!(close(n.total, want), "sandwich callers {}", n.path);
        }
        for n in &down.nodes[1..] {
            let p = path_of(n);
            let want: f64 = outer.iter().filter(|(_, b, _)| b.starts_with(&p[1..])).map(|x| x.2).sum();
            prop_assert!(close(n.total, want), "sandwich callees {}", n.path);
        }
    }
    Ok(())
}

/// Level-of-detail slices: parents first, budget kept, children (with "other") add up.
fn check_lod(s: &Slice, lod: &Lod) -> Result<(), TestCaseError> {
    prop_assert!(s.nodes.len() <= lod.max_nodes.max(1));
    let mut kids: HashMap<u32, Vec<&SliceNode>> = HashMap::new();
    for (i, n) in s.nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            prop_assert!((p as usize) < i, "parent after child");
            prop_assert_eq!(n.depth, s.nodes[p as usize].depth + 1);
            kids.entry(p).or_default().push(n);
        }
    }
    let cutoff = s.nodes[0].total.abs() * lod.min_frac;
    for (i, n) in s.nodes.iter().enumerate() {
        let ks = kids.get(&(i as u32)).map(|v| v.as_slice()).unwrap_or(&[]);
        prop_assert!(ks.iter().filter(|k| k.func.is_none()).count() <= 1, "one other per parent");
        for k in ks {
            if k.func.is_some() {
                prop_assert!(k.total.abs() >= cutoff);
            }
        }
        if !n.truncated && (n.func.is_some() || i == 0) {
            let sum: f64 = ks.iter().map(|k| k.total).sum::<f64>() + n.self_value;
            prop_assert!(close(sum, n.total), "children of {} add up: {} vs {}", n.path, sum, n.total);
        }
    }
    Ok(())
}

fn brute_transform(op: &str, s: &[u32]) -> Option<Vec<u32>> {
    let (k, a) = op.split_once(':').unwrap_or((op, ""));
    let f: u32 = a.parse().unwrap_or(u32::MAX);
    match k {
        "rec" if a.is_empty() => {
            let mut v = s.to_vec();
            v.dedup();
            Some(v)
        }
        "rec" => {
            let mut out: Vec<u32> = Vec::new();
            for &x in s {
                match out.iter().position(|&y| y == f) {
                    Some(i) if x == f => out.truncate(i + 1),
                    _ => out.push(x),
                }
            }
            Some(out)
        }
        "h" | "m" => Some(s.iter().copied().filter(|&x| x != f).collect()),
        "x" => (!s.contains(&f)).then(|| s.to_vec()),
        "f" => s.iter().position(|&x| x == f).map(|i| s[i..].to_vec()),
        "d" => Some(s[..s.len().min(f as usize)].to_vec()),
        "idle" => (s.last().is_none_or(|&l| !is_idle_name(FUNCS[l as usize].0))).then(|| s.to_vec()),
        _ => unreachable!("{op}"),
    }
}

fn arb_tf() -> impl Strategy<Value = Vec<String>> {
    let op = prop_oneof![
        Just("rec".to_owned()),
        (0..NF).prop_map(|f| format!("rec:{f}")),
        (0..NF).prop_map(|f| format!("h:{f}")),
        (0..NF).prop_map(|f| format!("m:{f}")),
        (0..NF).prop_map(|f| format!("x:{f}")),
        (0..NF).prop_map(|f| format!("f:{f}")),
        (1u32..5).prop_map(|d| format!("d:{d}")),
        Just("idle".to_owned()),
    ];
    prop::collection::vec(op, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn sampled_queries_match_brute_force(samples in arb_samples(), thread in prop::option::of(0..NT)) {
        let idx = build_samples(&samples);
        let v = idx.view(&Selection { thread, tf: String::new() }).unwrap();
        let stacks = Brute(samples.iter().filter(|s| thread.is_none_or(|t| t == s.1)).map(|s| (s.0.as_slice(), s.2)).collect());
        check_view(&idx, &v, &stacks)?;
    }

    #[test]
    fn transforms_match_brute_force(samples in arb_samples(), ops in arb_tf()) {
        let idx = build_samples(&samples);
        let tf = ops.join("~");
        let v = idx.view(&Selection { thread: None, tf: tf.clone() }).unwrap();
        let rewritten: Vec<(Vec<u32>, f64)> = samples
            .iter()
            .filter_map(|(s, _, w)| {
                let mut cur = s.clone();
                for op in &ops {
                    cur = brute_transform(op, &cur)?;
                }
                Some((cur, *w))
            })
            .collect();
        let stacks = Brute(rewritten.iter().map(|(s, w)| (s.as_slice(), *w)).collect());
        check_view(&idx, &v, &stacks)?;
    }

    #[test]
    fn conserving_transforms_keep_the_total(samples in arb_samples(), f in 0..NF, d in 1u32..5, t in 0.0f64..30.0) {
        let idx = build_samples(&samples);
        let total: f64 = samples.iter().map(|s| s.2).sum();
        for tf in [
            "rec".to_owned(), format!("rec:{f}"), format!("h:{f}"), format!("m:{f}"), "grp:pkg".into(), "grp:mod".into(),
            format!("d:{d}"), format!("t:{t}"), "h:re:^(main|work)$".into(), format!("rec~grp:pkg~h:{f}~t:{t}"),
        ] {
            let v = idx.view(&Selection { thread: None, tf: tf.clone() }).unwrap();
            let s = idx.tree(&v, &TreeQuery { lod: full(), ..Default::default() }).unwrap();
            prop_assert!(close(s.nodes[0].total, total), "{tf}: {} vs {total}", s.nodes[0].total);
            let own: f64 = s.nodes.iter().map(|n| n.self_value).sum();
            prop_assert!(close(own, total), "{tf}: self sum");
            let selfs: f64 = v.function_stats().iter().filter_map(|s| s.self_weight).sum();
            prop_assert!(close(selfs + s.nodes[0].self_value, total), "{tf}: function self sum");
        }
        // Grouping leaves only user functions and group functions.
        let v = idx.view(&Selection { thread: None, tf: "grp:pkg".into() }).unwrap();
        for (i, s) in v.function_stats().iter().enumerate() {
            if s.listed {
                let f = idx.function_in(&v, FuncId(i as u32)).unwrap();
                prop_assert!(f.name.starts_with('[') || idx.package_in(&v, FuncId(i as u32)) == Package::User, "{}", f.name);
            }
        }
    }

    #[test]
    fn thread_merge_is_the_sum_of_threads(samples in arb_samples()) {
        let idx = build_samples(&samples);
        let all = idx.view(&Selection::default()).unwrap();
        let per: Vec<_> = (0..NT).map(|t| idx.view(&Selection { thread: Some(t), tf: String::new() }).unwrap()).collect();
        for f in 0..NF {
            let a = idx.stats_in(&all, FuncId(f));
            let sum_self: f64 = per.iter().filter_map(|v| idx.stats_in(v, FuncId(f))).map(|s| s.self_weight.unwrap()).sum();
            let sum_total: f64 = per.iter().filter_map(|v| idx.stats_in(v, FuncId(f))).map(|s| s.total_weight.unwrap()).sum();
            prop_assert_eq!(a.is_some(), per.iter().any(|v| idx.stats_in(v, FuncId(f)).is_some()));
            if let Some(a) = a {
                prop_assert!(close(a.self_weight.unwrap(), sum_self));
                prop_assert!(close(a.total_weight.unwrap(), sum_total));
            }
        }
        let threads = idx.threads();
        let total: f64 = samples.iter().map(|s| s.2).sum();
        prop_assert!(close(threads.iter().map(|t| t.total).sum::<f64>(), total));
        for (t, v) in per.iter().enumerate() {
            let s = idx.tree(v, &TreeQuery::default()).unwrap();
            prop_assert!(close(s.nodes[0].total, threads[t].total));
        }
    }

    #[test]
    fn lod_slices_are_consistent(samples in arb_samples(), min_frac in 0.0f64..0.5, max_nodes in 1usize..12, inverted: bool) {
        let idx = build_samples(&samples);
        let v = idx.default_view();
        let lod = Lod { min_frac, max_nodes };
        let mode = if inverted { TreeMode::Inverted } else { TreeMode::TopDown };
        let s = idx.tree(&v, &TreeQuery { mode, lod, ..Default::default() }).unwrap();
        check_lod(&s, &lod)?;
        // The biggest nodes are kept: every emitted real node is at least as big as any node cut
        // by the budget alone (checked against the full tree).
        let fulls = idx.tree(&v, &TreeQuery { mode, lod: Lod { min_frac, max_nodes: 1_000_000 }, ..Default::default() }).unwrap();
        if fulls.nodes.len() > s.nodes.len() {
            let kept: BTreeSet<&str> = s.nodes.iter().filter(|n| n.func.is_some()).map(|n| n.path.as_str()).collect();
            let smallest_kept = s.nodes[1..].iter().map(|n| n.total.abs()).fold(f64::INFINITY, f64::min);
            for n in fulls.nodes.iter().filter(|n| n.func.is_some() && !kept.contains(n.path.as_str())) {
                prop_assert!(n.total.abs() <= smallest_kept + 1e-9 || s.nodes.iter().all(|k| k.path != n.path));
            }
        }
        // A budget-limited slice is the first nodes of the unlimited one with the same level of
        // detail (sources skip children that cannot fit in the budget).
        let unl = idx.tree(&v, &TreeQuery { mode, lod: Lod { min_frac, max_nodes: 1_000_000 }, ..Default::default() }).unwrap();
        prop_assert_eq!(s.nodes.len(), max_nodes.min(unl.nodes.len()));
        for (a, u) in s.nodes.iter().zip(&unl.nodes) {
            prop_assert_eq!(&a.path, &u.path);
            prop_assert!(close(a.total, u.total));
        }
        // Zooming: a slice rooted at a node has that node's total.
        for n in s.nodes.iter().filter(|n| n.func.is_some()).take(3) {
            let root = parse_path(&n.path).unwrap();
            let z = idx.tree(&v, &TreeQuery { mode, root, lod }).unwrap();
            prop_assert!(close(z.nodes[0].total, n.total));
            prop_assert_eq!(&z.nodes[0].path, &n.path);
        }
    }

    #[test]
    fn table_pages_match_a_brute_force_sort(samples in arb_samples(), key in 0usize..5, asc: bool, offset in 0usize..6, limit in 0usize..6, pkg in prop::option::of(0usize..4), text in prop::option::of(0usize..6)) {
        let idx = build_samples(&samples);
        let v = idx.default_view();
        let keys = [SortKey::TotalWeight, SortKey::SelfWeight, SortKey::Name, SortKey::File, SortKey::Line];
        let key = keys[key];
        let order = if asc { SortOrder::Asc } else { SortOrder::Desc };
        let package = pkg.map(|i| Package::ALL[i]);
        let texts = ["ma", "o", "json", "zz", "", "wait"];
        let filter = text.map(|i| if i == 1 { TextFilter::Regex(regex::Regex::new("^(w|m)").unwrap()) } else { TextFilter::Substring(texts[i].into()) });
        let keep = |f: u32| filter.as_ref().is_none_or(|t| t.matches(FUNCS[f as usize].0, FUNCS[f as usize].1));
        let q = FunctionQuery { sort: Some(key), order: Some(order), package, offset, limit, filter: filter.clone() };
        let (total, page) = idx.query_functions_in(&v, &q);
        let mut want: Vec<u32> = (0..NF)
            .filter(|&f| idx.stats_in(&v, FuncId(f)).is_some())
            .filter(|&f| package.is_none_or(|p| classify_function(FUNCS[f as usize].0, FUNCS[f as usize].1) == p))
            .filter(|&f| keep(f))
            .collect();
        want.sort_by(|&a, &b| {
            let (sa, sb) = (idx.stats_in(&v, FuncId(a)).unwrap(), idx.stats_in(&v, FuncId(b)).unwrap());
            let o = match key {
                SortKey::TotalWeight => sa.total_weight.unwrap().total_cmp(&sb.total_weight.unwrap()),
                SortKey::SelfWeight => sa.self_weight.unwrap().total_cmp(&sb.self_weight.unwrap()),
                SortKey::Name => FUNCS[a as usize].0.cmp(FUNCS[b as usize].0),
                SortKey::File => FUNCS[a as usize].1.cmp(FUNCS[b as usize].1).then(a.cmp(&b)),
                _ => a.cmp(&b),
            };
            if asc { o } else { o.reverse() }.then(a.cmp(&b))
        });
        prop_assert_eq!(total, want.len());
        let want_page: Vec<u32> = want.iter().skip(offset).take(limit).copied().collect();
        prop_assert_eq!(page.iter().map(|f| f.0).collect::<Vec<_>>(), want_page);
    }
}

// ---------------------------------------------------------------- pstats

/// Non-recursive stacks under one root function 0, turned into exactly what cProfile records.
fn arb_calls() -> impl Strategy<Value = Vec<(Vec<u32>, f64)>> {
    prop::collection::vec(
        (Just((1..7u32).collect::<Vec<_>>()).prop_shuffle(), 0usize..5, 1u32..10)
            .prop_map(|(perm, k, w)| (std::iter::once(0).chain(perm.into_iter().take(k)).collect(), w as f64)),
        1..20,
    )
}

fn build_pstats(calls: &[(Vec<u32>, f64)]) -> ProfileIndex {
    let n = 7usize;
    let mut stats: Vec<Option<PstatsStats>> = vec![None; n];
    let mut edges: BTreeMap<(u32, u32), (u64, f64, f64)> = BTreeMap::new();
    for (s, w) in calls {
        for (i, &f) in s.iter().enumerate() {
            let st = stats[f as usize].get_or_insert(PstatsStats { primcalls: 0, ncalls: 0, tottime: 0.0, cumtime: 0.0 });
            st.ncalls += 1;
            st.primcalls += 1;
            st.cumtime += w;
            if i + 1 == s.len() {
                st.tottime += w;
            }
            if i > 0 {
                let e = edges.entry((s[i - 1], f)).or_insert((0, 0.0, 0.0));
                e.0 += 1;
                e.2 += w;
                if i + 1 == s.len() {
                    e.1 += w;
                }
            }
        }
    }
    let total_time = stats.iter().flatten().map(|s| s.tottime).sum();
    let edges = edges
        .into_iter()
        .map(|((c, f), (nc, tt, ct))| CallEdge {
            caller: FuncId(c),
            callee: FuncId(f),
            ncalls: nc,
            primcalls: Some(nc),
            tottime: Some(tt),
            cumtime: Some(ct),
        })
        .collect();
    let p = Profile {
        format: Format::Pstats,
        dialect: Dialect::Cprofile,
        unit: Unit::Seconds,
        functions: (0..n).map(|i| Function { name: format!("f{i}"), file: "app.py".into(), line: i as i64 }).collect(),
        threads: vec![],
        pstats: Some(PstatsData { stats, edges, total_calls: 0, prim_calls: 0, total_time }),
        samples: None,
        lines_are_current: false,
    };
    assert!(p.check_valid().is_ok());
    ProfileIndex::build(p)
}

fn check_estimates(s: &Slice, truth: &dyn Fn(&[u32]) -> f64, skip_first: bool) -> Result<(), TestCaseError> {
    let eps = 1e-9;
    for n in s.nodes.iter().skip(if skip_first { 1 } else { 0 }) {
        if n.func.is_none() || n.exactness == Exactness::Cut {
            continue;
        }
        let p = path_of(n);
        let t = truth(&p);
        let (lo, hi) = (n.total_min.unwrap(), n.total_max.unwrap());
        prop_assert!(lo <= n.total + eps && n.total <= hi + eps, "{}: {lo} <= {} <= {hi}", n.path, n.total);
        prop_assert!(lo <= t + eps && t <= hi + eps, "{}: truth {t} outside [{lo}, {hi}]", n.path);
        if n.exactness == Exactness::Exact {
            prop_assert!(close(n.total, t), "{}: exact {} but truth {t}", n.path, n.total);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn pstats_queries_match_the_edges(calls in arb_calls()) {
        let idx = build_pstats(&calls);
        let v = idx.default_view();
        let d = idx.profile().pstats.as_ref().unwrap();
        let emap: BTreeMap<(u32, u32), f64> = d.edges.iter().map(|e| ((e.caller.0, e.callee.0), e.cumtime.unwrap())).collect();
        for f in 0..7u32 {
            if d.stats[f as usize].is_none() {
                continue;
            }
            let callers: Vec<(u32, Option<f64>)> = idx.callers(&v, FuncId(f)).unwrap().iter().map(|e| (e.func.0, e.cumtime)).collect();
            let want: Vec<(u32, Option<f64>)> = emap.iter().filter(|(k, _)| k.1 == f).map(|(k, w)| (k.0, Some(*w))).collect();
            prop_assert_eq!(callers, want);
            let callees: Vec<(u32, Option<f64>)> = idx.callees(&v, FuncId(f)).unwrap().iter().map(|e| (e.func.0, e.cumtime)).collect();
            let want: Vec<(u32, Option<f64>)> = emap.iter().filter(|(k, _)| k.0 == f).map(|(k, w)| (k.1, Some(*w))).collect();
            prop_assert_eq!(callees, want);
            for up in [true, false] {
                let got: BTreeMap<u32, u32> = if up { idx.all_callers(&v, FuncId(f)) } else { idx.all_callees(&v, FuncId(f)) }
                    .unwrap().iter().map(|r| (r.func.0, r.distance)).collect();
                let mut want = bfs(&emap, f, up);
                want.remove(&f);
                prop_assert_eq!(got, want);
            }
        }
        let (total, page) = idx.query_functions_in(&v, &FunctionQuery { limit: 100, ..Default::default() });
        prop_assert_eq!(total, d.stats.iter().flatten().count());
        for w in page.windows(2) {
            prop_assert!(idx.stats_in(&v, w[0]).unwrap().cumtime >= idx.stats_in(&v, w[1]).unwrap().cumtime);
        }
    }

    #[test]
    fn pstats_trees_are_honest(calls in arb_calls()) {
        let idx = build_pstats(&calls);
        let v = idx.default_view();
        let td = idx.tree(&v, &TreeQuery { lod: full(), ..Default::default() }).unwrap();
        prop_assert!(td.estimated);
        let total: f64 = calls.iter().map(|c| c.1).sum();
        prop_assert!(close(td.nodes[0].total, total));
        prop_assert_eq!(td.nodes[1].func, Some(0));
        prop_assert_eq!(td.nodes[1].exactness, Exactness::Exact);
        let prefix = |p: &[u32]| calls.iter().filter(|(s, _)| s.starts_with(p)).map(|c| c.1).sum::<f64>();
        check_estimates(&td, &prefix, true)?;
        // No function repeats on a path except at a cut node, which has no children.
        let parents: BTreeSet<u32> = td.nodes.iter().filter_map(|k| k.parent).collect();
        for (i, n) in td.nodes.iter().enumerate() {
            let p = path_of(n);
            let distinct: BTreeSet<u32> = p.iter().copied().collect();
            if n.exactness == Exactness::Cut {
                prop_assert_eq!(distinct.len() + 1, p.len());
                prop_assert!(!parents.contains(&(i as u32)), "a cut node has no children");
            } else if n.func.is_some() {
                prop_assert_eq!(distinct.len(), p.len());
            }
        }
        let inv = idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, lod: full(), ..Default::default() }).unwrap();
        let suffix = |p: &[u32]| {
            let rev: Vec<u32> = p.iter().rev().copied().collect();
            calls.iter().filter(|(s, _)| s.ends_with(&rev)).map(|c| c.1).sum::<f64>()
        };
        check_estimates(&inv, &suffix, true)?;
        // Sandwich: callers of f (cumulative) and callees under f, against the stacks.
        for f in 0..7u32 {
            let Ok((up, down)) = idx.sandwich(&v, FuncId(f), &full()) else { continue };
            let through = |s: &Vec<u32>| s.iter().position(|&x| x == f);
            let above = |p: &[u32]| {
                let rev: Vec<u32> = p[1..].iter().rev().copied().collect();
                calls.iter().filter_map(|(s, w)| through(s).filter(|&i| s[..i].ends_with(&rev)).map(|_| *w)).sum::<f64>()
            };
            let below = |p: &[u32]| {
                calls.iter().filter_map(|(s, w)| through(s).filter(|&i| s[i + 1..].starts_with(&p[1..])).map(|_| *w)).sum::<f64>()
            };
            check_estimates(&up, &above, false)?;
            check_estimates(&down, &below, false)?;
        }
        // LOD on the estimated tree keeps the slicer's invariants.
        let lod = Lod { min_frac: 0.05, max_nodes: 6 };
        let s = idx.tree(&v, &TreeQuery { lod, ..Default::default() }).unwrap();
        prop_assert!(s.nodes.len() <= 6);
        // A budget-limited slice is the first nodes of the unlimited one (the sources skip children
        // that cannot fit in the budget).
        for mode in [TreeMode::TopDown, TreeMode::Inverted] {
            let unl = idx.tree(&v, &TreeQuery { mode, lod: Lod { min_frac: 0.02, max_nodes: 1_000_000 }, ..Default::default() }).unwrap();
            for b in [1usize, 2, 3, 5, 8, 13] {
                let lim = idx.tree(&v, &TreeQuery { mode, lod: Lod { min_frac: 0.02, max_nodes: b }, ..Default::default() }).unwrap();
                prop_assert_eq!(lim.nodes.len(), b.min(unl.nodes.len()));
                for (a, u) in lim.nodes.iter().zip(&unl.nodes) {
                    prop_assert_eq!(&a.path, &u.path);
                    prop_assert!(close(a.total, u.total));
                }
            }
        }
        // "other" (summed by the source from sorted edges) is the sum of the children it replaces.
        for mode in [TreeMode::TopDown, TreeMode::Inverted] {
            let fulls = idx.tree(&v, &TreeQuery { mode, lod: full(), ..Default::default() }).unwrap();
            let by_path: HashMap<&str, usize> = fulls.nodes.iter().enumerate().filter(|(_, n)| n.func.is_some()).map(|(i, n)| (n.path.as_str(), i)).collect();
            let s = idx.tree(&v, &TreeQuery { mode, lod: Lod { min_frac: 0.15, max_nodes: 100_000 }, ..Default::default() }).unwrap();
            for (i, n) in s.nodes.iter().enumerate() {
                let Some(other) = s.nodes.iter().find(|k| k.parent == Some(i as u32) && k.func.is_none()) else { continue };
                let Some(&fi) = (if n.path.is_empty() { Some(&0) } else { by_path.get(n.path.as_str()) }) else { continue };
                let all: f64 = fulls.nodes.iter().filter(|k| k.parent == Some(fi as u32)).map(|k| k.total).sum();
                let big: f64 = s.nodes.iter().filter(|k| k.parent == Some(i as u32) && k.func.is_some()).map(|k| k.total).sum();
                prop_assert!(close(other.total, all - big), "{:?} other under {:?}: {} vs {}", mode, n.path, other.total, all - big);
            }
        }
    }

    #[test]
    fn pstats_merge_conserves_total_time(calls in arb_calls(), f in 1..7u32) {
        let idx = build_pstats(&calls);
        let d = idx.profile().pstats.as_ref().unwrap();
        let before: f64 = d.stats.iter().flatten().map(|s| s.tottime).sum();
        for tf in [format!("m:{f}"), format!("h:{f}"), "h:re:^f[2-4]$".into(), "rec".into(), format!("m:{f}~rec~d:3~t:1")] {
            let v = idx.view(&Selection { thread: None, tf: tf.clone() }).unwrap();
            let after: f64 = v.function_stats().iter().filter_map(|s| s.tottime).sum();
            prop_assert!(close(before, after), "{tf}: {before} vs {after}");
            if tf.starts_with('m') {
                prop_assert!(idx.stats_in(&v, FuncId(f)).is_none());
            }
            // Cumulative times of the other functions are unchanged.
            for g in 0..7u32 {
                if g != f {
                    if let (Some(a), Some(b)) = (d.stats[g as usize], idx.stats_in(&v, FuncId(g))) {
                        prop_assert_eq!(Some(a.cumtime), b.cumtime);
                    }
                }
            }
            let t = idx.tree(&v, &TreeQuery { lod: full(), ..Default::default() }).unwrap();
            prop_assert!(close(t.nodes[0].total, before));
        }
        for bad in ["grp:pkg", "idle", "x:1", "fp:0.1", "rec:2"] {
            let e = idx.view(&Selection { thread: None, tf: bad.into() }).unwrap_err();
            prop_assert!(matches!(e, QueryError::BadRequest(_)), "{bad}");
        }
        let threaded = idx.view(&Selection { thread: Some(0), tf: String::new() });
        prop_assert!(threaded.is_err());
    }
}


#[test]
fn deep_recursion_stays_bounded() {
    // A 20,000-frame stack: paths would be quadratic; the slice stops at the path-byte budget.
    let mut b = SampleBuilder::new();
    let t = b.thread("1", None);
    let fs: Vec<FuncId> = (0..20_000).map(|i| b.function(&format!("f{i}"), "deep.py", i)).collect();
    b.add_sample(&fs, t, 1.0);
    let idx = ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples));
    let v = idx.default_view();
    let s = idx.tree(&v, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 50_000 }, ..Default::default() }).unwrap();
    let bytes: usize = s.nodes.iter().map(|n| n.path.len()).sum();
    assert!(bytes < 17 << 20, "{bytes}");
    assert!(s.nodes.len() < 20_001);
    assert!(s.nodes.last().unwrap().parent.is_some());
    assert!(s.nodes.last().unwrap().truncated, "the deepest emitted node says there is more");
    let c = idx.view(&Selection { thread: None, tf: "rec".into() }).unwrap();
    assert_eq!(idx.tree(&c, &TreeQuery::default()).unwrap().nodes[0].total, 1.0);
}
