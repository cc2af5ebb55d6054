//! The function table: per-function aggregates, sorting, filtering and paging.

use std::cmp::Ordering;

use profview_model::{FuncId, Function, Profile, NO_PARENT};
use regex::Regex;

use crate::classify::Package;

pub use profview_api::{SortKey, SortOrder};

/// Aggregates of one function. pstats fields are `None` for sampled profiles and vice versa.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FunctionStats {
    /// pstats `nc`.
    pub ncalls: Option<u64>,
    /// pstats `cc`.
    pub primcalls: Option<u64>,
    /// pstats `tt` (seconds).
    pub tottime: Option<f64>,
    /// pstats `ct` (seconds).
    pub cumtime: Option<f64>,
    /// Sampled: weight of samples whose leaf is this function.
    pub self_weight: Option<f64>,
    /// Sampled: weight of samples whose stack holds this function (once per stack).
    pub total_weight: Option<f64>,
    /// False for functions that only appear as a pstats caller (not a key of the stats dict).
    pub listed: bool,
}

impl FunctionStats {
    /// `tottime / ncalls`, as pstats prints it.
    pub fn percall_tottime(&self) -> Option<f64> {
        match (self.tottime, self.ncalls) {
            (Some(t), Some(n)) if n > 0 => Some(t / n as f64),
            _ => None,
        }
    }
    /// `cumtime / primcalls`, as pstats prints it.
    pub fn percall_cumtime(&self) -> Option<f64> {
        match (self.cumtime, self.primcalls) {
            (Some(t), Some(n)) if n > 0 => Some(t / n as f64),
            _ => None,
        }
    }
    /// The "own cost" whatever the format: self weight (samples, and a hybrid recording whose
    /// graph is drawn from its samples) or tottime (pstats).
    pub fn own(&self) -> f64 {
        self.self_weight.or(self.tottime).unwrap_or(0.0)
    }
    /// The "inclusive cost" whatever the format: total weight or cumtime.
    pub fn inclusive(&self) -> f64 {
        self.total_weight.or(self.cumtime).unwrap_or(0.0)
    }
}

/// Copies the pstats numbers of every listed function into `out`.
pub(crate) fn fill_pstats(out: &mut [FunctionStats], ps: &profview_model::PstatsData) {
    for (o, s) in out.iter_mut().zip(&ps.stats) {
        if let Some(s) = s {
            o.ncalls = Some(s.ncalls);
            o.primcalls = Some(s.primcalls);
            o.tottime = Some(s.tottime);
            o.cumtime = Some(s.cumtime);
            o.listed = true;
        }
    }
}

/// Computes the aggregates of every function directly from the profile (the reference the
/// view-based aggregates are tested against).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn function_stats(p: &Profile) -> Vec<FunctionStats> {
    let mut out = vec![FunctionStats::default(); p.functions.len()];
    if let Some(ps) = &p.pstats {
        fill_pstats(&mut out, ps);
    }
    if let Some(sd) = &p.samples {
        let t = &sd.stacks;
        let n = t.len();
        // Weight ending exactly at each node.
        let mut at = vec![0.0f64; n];
        for s in &sd.samples {
            if let Some(st) = s.stack() {
                at[st.idx()] += s.weight;
            }
        }
        // Inclusive weight per node: parents precede children, so walk backwards.
        let mut incl = at.clone();
        for i in (0..n).rev() {
            let par = t.parent[i];
            if par != NO_PARENT {
                incl[par as usize] += incl[i];
            }
        }
        // A node counts toward its function's total only if no ancestor is the same function
        // (recursion counts once per stack). `outer[i]` = node i is the outermost of its function.
        let mut outer = vec![true; n];
        // Depth-first with an on-path counter per function, iteratively over the children lists.
        let mut first_child = vec![u32::MAX; n];
        let mut next_sibling = vec![u32::MAX; n];
        let mut roots = Vec::new();
        for i in (0..n).rev() {
            let par = t.parent[i];
            if par == NO_PARENT {
                roots.push(i as u32);
            } else {
                next_sibling[i] = first_child[par as usize];
                first_child[par as usize] = i as u32;
            }
        }
        let mut on_path = vec![0u32; p.functions.len()];
        let mut stack: Vec<(u32, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
        while let Some((node, leaving)) = stack.pop() {
            let f = t.func[node as usize].idx();
            if leaving {
                on_path[f] -= 1;
                continue;
            }
            outer[node as usize] = on_path[f] == 0;
            on_path[f] += 1;
            stack.push((node, true));
            let mut c = first_child[node as usize];
            while c != u32::MAX {
                stack.push((c, false));
                c = next_sibling[c as usize];
            }
        }
        for i in 0..n {
            let f = t.func[i].idx();
            let o = &mut out[f];
            o.listed = true;
            *o.self_weight.get_or_insert(0.0) += at[i];
            let tot = o.total_weight.get_or_insert(0.0);
            if outer[i] {
                *tot += incl[i];
            }
        }
    }
    out
}

/// A text filter on name or file.
#[derive(Clone, Debug)]
pub enum TextFilter {
    /// Keep rows whose name or file contains the text.
    Substring(String),
    /// Keep rows whose name or file matches the regex.
    Regex(Regex),
}

impl TextFilter {
    /// True when the name or the file matches.
    pub fn matches(&self, name: &str, file: &str) -> bool {
        match self {
            TextFilter::Substring(s) => name.contains(s.as_str()) || file.contains(s.as_str()),
            TextFilter::Regex(r) => r.is_match(name) || r.is_match(file),
        }
    }
}

/// A function-table request.
#[derive(Clone, Debug)]
pub struct FunctionQuery {
    /// Column to sort by. Default: cumtime for pstats, total weight for samples.
    pub sort: Option<SortKey>,
    /// Direction. Default: descending for numbers, ascending for text.
    pub order: Option<SortOrder>,
    /// Optional filter.
    pub filter: Option<TextFilter>,
    /// Keep only functions of this package class.
    pub package: Option<Package>,
    /// First row of the page.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

impl Default for FunctionQuery {
    fn default() -> Self {
        FunctionQuery { sort: None, order: None, filter: None, package: None, offset: 0, limit: 100 }
    }
}

fn cmp_opt_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn query(p: &Profile, stats: &[FunctionStats], q: &FunctionQuery) -> (usize, Vec<FuncId>) {
    let pkg: Vec<Package> = if q.package.is_some() {
        p.functions.iter().map(|f| crate::classify::classify_function(&f.name, &f.file)).collect()
    } else {
        Vec::new()
    };
    query_with(
        &|i| &p.functions[i as usize],
        &|i| pkg.get(i as usize).copied().unwrap_or(Package::User),
        &|_| true,
        p.pstats.is_some(),
        stats,
        q,
    )
}

/// The table over any function list: `func`/`pkg`/`visible` look functions up by id.
pub(crate) fn query_with<'f>(
    func: &dyn Fn(u32) -> &'f Function,
    pkg: &dyn Fn(u32) -> Package,
    visible: &dyn Fn(u32) -> bool,
    pstats: bool,
    stats: &[FunctionStats],
    q: &FunctionQuery,
) -> (usize, Vec<FuncId>) {
    let default_sort = if pstats { SortKey::Cumtime } else { SortKey::TotalWeight };
    let key = q.sort.unwrap_or(default_sort);
    let textual = matches!(key, SortKey::Name | SortKey::File);
    let order = q.order.unwrap_or(if textual { SortOrder::Asc } else { SortOrder::Desc });
    let mut ids: Vec<u32> = (0..stats.len() as u32)
        .filter(|&i| {
            let s = &stats[i as usize];
            if !s.listed || !visible(i) {
                return false;
            }
            if q.package.is_some_and(|want| pkg(i) != want) {
                return false;
            }
            match &q.filter {
                None => true,
                Some(f) => {
                    let func = func(i);
                    f.matches(&func.name, &func.file)
                }
            }
        })
        .collect();
    let total = ids.len();
    let cmp = |a: &u32, b: &u32| -> Ordering {
        let (fa, fb) = (func(*a), func(*b));
        let (sa, sb) = (&stats[*a as usize], &stats[*b as usize]);
        let o = match key {
            SortKey::Name => fa.name.cmp(&fb.name),
            SortKey::File => fa.file.cmp(&fb.file).then(fa.line.cmp(&fb.line)),
            SortKey::Line => fa.line.cmp(&fb.line),
            SortKey::Ncalls => sa.ncalls.cmp(&sb.ncalls),
            SortKey::Primcalls => sa.primcalls.cmp(&sb.primcalls),
            SortKey::Tottime => cmp_opt_f64(sa.tottime, sb.tottime),
            SortKey::Cumtime => cmp_opt_f64(sa.cumtime, sb.cumtime),
            SortKey::PercallTottime => cmp_opt_f64(sa.percall_tottime(), sb.percall_tottime()),
            SortKey::PercallCumtime => cmp_opt_f64(sa.percall_cumtime(), sb.percall_cumtime()),
            SortKey::SelfWeight => cmp_opt_f64(sa.self_weight, sb.self_weight),
            SortKey::TotalWeight => cmp_opt_f64(sa.total_weight, sb.total_weight),
        };
        // Ties keep file order, like pstats' stable sort.
        match order {
            SortOrder::Asc => o,
            SortOrder::Desc => o.reverse(),
        }
        .then(a.cmp(b))
    };
    let end = q.offset.saturating_add(q.limit).min(total);
    let start = q.offset.min(end);
    if end < total / 4 && end > 0 {
        // Only the first rows are wanted: partial selection, then sort the head.
        ids.select_nth_unstable_by(end - 1, cmp);
        ids.truncate(end);
    }
    ids.sort_unstable_by(cmp);
    let page = ids[start..end.min(ids.len())].iter().map(|&i| FuncId(i)).collect();
    (total, page)
}

/// The effective sort column and direction of a query.
pub(crate) fn effective_sort(pstats: bool, q: &FunctionQuery) -> (SortKey, SortOrder) {
    let key = q.sort.unwrap_or(if pstats { SortKey::Cumtime } else { SortKey::TotalWeight });
    let textual = matches!(key, SortKey::Name | SortKey::File);
    (key, q.order.unwrap_or(if textual { SortOrder::Asc } else { SortOrder::Desc }))
}

fn numeric_key(s: &FunctionStats, f: &Function, key: SortKey) -> f64 {
    let o = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
    match key {
        SortKey::Line => f.line as f64,
        SortKey::Ncalls => o(s.ncalls.map(|v| v as f64)),
        SortKey::Primcalls => o(s.primcalls.map(|v| v as f64)),
        SortKey::Tottime => o(s.tottime),
        SortKey::Cumtime => o(s.cumtime),
        SortKey::PercallTottime => o(s.percall_tottime()),
        SortKey::PercallCumtime => o(s.percall_cumtime()),
        SortKey::SelfWeight => o(s.self_weight),
        SortKey::TotalWeight => o(s.total_weight),
        SortKey::Name | SortKey::File => 0.0,
    }
}

/// A key whose unsigned order is `f64::total_cmp`'s order.
pub(crate) fn total_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

/// Every listed, visible function in table order for one column and direction (ties by id, the
/// file order). Built once per view and column, then pages are cut from it.
pub(crate) fn full_order<'f>(
    func: &(dyn Fn(u32) -> &'f Function + Sync),
    visible: &dyn Fn(u32) -> bool,
    stats: &[FunctionStats],
    key: SortKey,
    order: SortOrder,
) -> Vec<u32> {
    let ids = (0..stats.len() as u32).filter(|&i| stats[i as usize].listed && visible(i));
    match key {
        SortKey::Name | SortKey::File => {
            let text = |f: &'f Function| if key == SortKey::Name { f.name.as_str() } else { f.file.as_str() };
            let cmp = |a: u32, b: u32| {
                let (fa, fb) = (func(a), func(b));
                let o = text(fa).cmp(text(fb)).then(if key == SortKey::File { fa.line.cmp(&fb.line) } else { Ordering::Equal });
                match order {
                    SortOrder::Asc => o,
                    SortOrder::Desc => o.reverse(),
                }
                .then(a.cmp(&b))
            };
            text_order(ids, |i| text(func(i)), order == SortOrder::Desc, cmp)
        }
        _ => {
            // (value in `total_cmp` order, id), as integers: plain tuple comparisons sort faster.
            let desc = order == SortOrder::Desc;
            let mut v: Vec<(u64, u32)> = ids
                .map(|i| {
                    let k = total_key(numeric_key(&stats[i as usize], func(i), key));
                    (if desc { !k } else { k }, i)
                })
                .collect();
            v.sort_unstable();
            v.into_iter().map(|x| x.1).collect()
        }
    }
}

/// 8 bytes of `s` from `at`, big-endian, zero-padded: for strings equal before `at`,
/// `a < b` implies `chunk(a, at) <= chunk(b, at)`.
fn chunk(s: &str, at: usize) -> u64 {
    let b = s.as_bytes().get(at..).unwrap_or(&[]);
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(w)
}

/// Sorts `v` (items whose texts agree before byte `at`, keys = their chunk at `at`) by the
/// keys as integers, then each run of equal keys by the next chunk, and so on for 64 bytes;
/// what is still tied then goes to `cmp`, the full comparison.
fn sort_by_chunks<'t>(v: &mut [(u64, u32)], at: usize, text: &impl Fn(u32) -> &'t str, desc: bool, cmp: &impl Fn(u32, u32) -> Ordering) {
    v.sort_unstable();
    let mut i = 0;
    while i < v.len() {
        let j = i + v[i..].iter().take_while(|x| x.0 == v[i].0).count();
        if j - i > 1 {
            let run = &mut v[i..j];
            if at >= 56 || run.iter().all(|x| text(x.1).len() <= at + 8) {
                run.sort_unstable_by(|x, y| cmp(x.1, y.1));
            } else {
                for x in run.iter_mut() {
                    let k = chunk(text(x.1), at + 8);
                    x.0 = if desc { !k } else { k };
                }
                sort_by_chunks(run, at + 8, text, desc, cmp);
            }
        }
        i = j;
    }
}

/// Ids in the order of `cmp` (a total order that compares `text` first, then anything): an
/// integer sort on 8-byte chunks of the texts (string comparisons of 200k names with a long
/// shared prefix take ~40 ms); big tables in two halves on two cores, then merged.
fn text_order<'t>(ids: impl Iterator<Item = u32>, text: impl Fn(u32) -> &'t str + Sync, desc: bool, cmp: impl Fn(u32, u32) -> Ordering + Sync) -> Vec<u32> {
    let mut v: Vec<(u64, u32)> = ids.map(|i| (if desc { !chunk(text(i), 0) } else { chunk(text(i), 0) }, i)).collect();
    if v.len() < 1 << 15 {
        sort_by_chunks(&mut v, 0, &text, desc, &cmp);
        return v.into_iter().map(|x| x.1).collect();
    }
    let mid = v.len() / 2;
    let (a, b) = v.split_at_mut(mid);
    crate::par::join2(|| sort_by_chunks(a, 0, &text, desc, &cmp), || sort_by_chunks(b, 0, &text, desc, &cmp));
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len() + b.len());
    while i < a.len() && j < b.len() {
        // The keys were overwritten by deeper chunks inside runs: compare in full.
        let (x, y) = (a[i].1, b[j].1);
        if cmp(x, y) == Ordering::Greater {
            out.push(y);
            j += 1;
        } else {
            out.push(x);
            i += 1;
        }
    }
    out.extend(a[i..].iter().chain(&b[j..]).map(|x| x.1));
    out
}

/// Names and files of the profile's functions in one buffer (`name \0 file \0` per function), so
/// that a text filter scans memory sequentially instead of chasing 2 pointers per function.
#[derive(Debug, Default)]
pub(crate) struct SearchText {
    text: Vec<u8>,
    /// Start of function `i`'s entry; `off[n]` = end.
    off: Vec<usize>,
}

impl SearchText {
    pub fn build(funcs: &[Function]) -> Self {
        let mut text = Vec::with_capacity(funcs.iter().map(|f| f.name.len() + f.file.len() + 2).sum());
        let mut off = Vec::with_capacity(funcs.len() + 1);
        for f in funcs {
            off.push(text.len());
            text.extend_from_slice(f.name.as_bytes());
            text.push(0);
            text.extend_from_slice(f.file.as_bytes());
            text.push(0);
        }
        off.push(text.len());
        SearchText { text, off }
    }

    /// Which of the first `n` functions match the filter (name or file).
    pub fn matches(&self, filter: &TextFilter) -> Vec<bool> {
        let n = self.off.len().saturating_sub(1);
        let mut out = vec![false; n];
        match filter {
            TextFilter::Substring(s) if !s.as_bytes().contains(&0) => {
                // One pass over the whole buffer; an entry can only match inside its own name or file
                // because the needle has no NUL.
                let fd = memchr::memmem::Finder::new(s.as_bytes());
                let mut from = 0;
                while let Some(pos) = fd.find(&self.text[from..]) {
                    let at = from + pos;
                    let i = self.off.partition_point(|&o| o <= at).saturating_sub(1);
                    if i < n {
                        out[i] = true;
                    }
                    // Skip to the next function.
                    from = self.off.get(i + 1).copied().unwrap_or(self.text.len()).max(at + 1);
                    if from >= self.text.len() {
                        break;
                    }
                }
            }
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    let entry = &self.text[self.off[i]..self.off[i + 1]];
                    let mut parts = entry.split(|&b| b == 0);
                    let name = std::str::from_utf8(parts.next().unwrap_or(&[])).unwrap_or("");
                    let file = std::str::from_utf8(parts.next().unwrap_or(&[])).unwrap_or("");
                    *o = filter.matches(name, file);
                }
            }
        }
        out
    }
}

/// Cuts a page out of a full order, applying the query's filters. `text_ok` answers the text
/// filter for a function id (precomputed).
pub(crate) fn page_from_order(
    ordered: &[u32],
    text_ok: &dyn Fn(u32) -> bool,
    pkg: &dyn Fn(u32) -> Package,
    q: &FunctionQuery,
) -> (usize, Vec<FuncId>) {
    if q.filter.is_none() && q.package.is_none() {
        let end = q.offset.saturating_add(q.limit).min(ordered.len());
        let start = q.offset.min(end);
        return (ordered.len(), ordered[start..end].iter().map(|&i| FuncId(i)).collect());
    }
    let mut total = 0usize;
    let mut page = Vec::new();
    for &i in ordered {
        if q.package.is_some_and(|want| pkg(i) != want) {
            continue;
        }
        if q.filter.is_some() && !text_ok(i) {
            continue;
        }
        if total >= q.offset && page.len() < q.limit {
            page.push(FuncId(i));
        }
        total += 1;
    }
    (total, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use profview_model::{Dialect, SampleBuilder, Unit};

    #[test]
    fn recursion_counts_once_per_stack() {
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        let a = b.function("a", "x.py", 1);
        let r = b.function("r", "x.py", 2);
        b.add_sample(&[a, r, r, r], t, 5.0);
        b.add_sample(&[a, r], t, 2.0);
        b.add_sample(&[a], t, 1.0);
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        let st = function_stats(&p);
        assert_eq!(st[a.idx()].total_weight, Some(8.0));
        assert_eq!(st[a.idx()].self_weight, Some(1.0));
        assert_eq!(st[r.idx()].total_weight, Some(7.0));
        assert_eq!(st[r.idx()].self_weight, Some(7.0));
    }

    #[test]
    fn paging_matches_full_sort() {
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        for i in 0..200 {
            let f = b.function(&format!("f{i}"), "x.py", i);
            b.add_sample(&[f], t, ((i * 37) % 101) as f64);
        }
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        let st = function_stats(&p);
        let full = query(&p, &st, &FunctionQuery { limit: 1000, ..Default::default() }).1;
        let head = query(&p, &st, &FunctionQuery { limit: 10, ..Default::default() }).1;
        let mid = query(&p, &st, &FunctionQuery { offset: 20, limit: 10, ..Default::default() }).1;
        assert_eq!(&full[..10], &head[..]);
        assert_eq!(&full[20..30], &mid[..]);
        for w in full.windows(2) {
            assert!(st[w[0].idx()].total_weight >= st[w[1].idx()].total_weight);
        }
    }

    #[test]
    fn an_empty_page_still_counts_the_rows() {
        // Found unchecked by mutation testing: a limit of 0 asks for no rows (none to select
        // before sorting) but the count of matching functions is still all 8.
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        for i in 0..8 {
            let f = b.function(&format!("f{i}"), "x.py", i);
            b.add_sample(&[f], t, 1.0 + i as f64);
        }
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        let st = function_stats(&p);
        assert_eq!(query(&p, &st, &FunctionQuery { limit: 0, ..Default::default() }), (8, vec![]));
        // One row: the heaviest, f7 (weight 8).
        assert_eq!(query(&p, &st, &FunctionQuery { limit: 1, ..Default::default() }), (8, vec![FuncId(7)]));
    }
}

#[cfg(test)]
mod text_order_tests {
    use super::*;

    #[test]
    fn prefix_then_full_comparison_equals_a_plain_sort() {
        let names = [
            "", "a", "ab", "ab\0", "ab\0\0\0\0\0\0x", "abcdefgh", "abcdefgh", "abcdefghi", "abcdefgha", "abcdefg", "Zeta",
            "ébène", "é", "func_1", "func_10", "func_100", "func_1000000", "<built-in method builtins.len>", "<built-in method x>",
            "\u{10FFFF}", "\u{7f}",
        ];
        for desc in [false, true] {
            let cmp = |a: u32, b: u32| {
                let o = names[a as usize].cmp(names[b as usize]);
                if desc { o.reverse() } else { o }.then(a.cmp(&b))
            };
            let mut want: Vec<u32> = (0..names.len() as u32).collect();
            want.sort_by(|&a, &b| cmp(a, b));
            let got = text_order(0..names.len() as u32, |i| names[i as usize], desc, cmp);
            assert_eq!(got, want, "desc {desc}");
        }
        // Big enough for the two-core path: long shared prefixes, duplicates.
        let big: Vec<String> = (0..100_000u32)
            .map(|i| format!("<built-in method mod{}.{}f_{}>", i % 7, "x".repeat((i % 90) as usize), (i * 7919) % 50_000))
            .collect();
        for desc in [false, true] {
            let cmp = |a: u32, b: u32| {
                let o = big[a as usize].cmp(&big[b as usize]);
                if desc { o.reverse() } else { o }.then(a.cmp(&b))
            };
            let mut want: Vec<u32> = (0..big.len() as u32).collect();
            want.sort_by(|&a, &b| cmp(a, b));
            assert_eq!(text_order(0..big.len() as u32, |i| big[i as usize].as_str(), desc, cmp), want, "big, desc {desc}");
        }
    }
}
