//! Sampled profiles: thread selection and stack-rewriting transforms, then the derived data every
//! query uses (inclusive weights, children, per-function totals, caller→callee weights).
//!
//! `rewrite` applies the transforms to a weighted stack table, `weights` holds self and
//! inclusive weights compactly, `preorder` renumbers a table so that subtrees are ranges,
//! `derive` computes the view's data and per-function stats, and `view` answers the tree
//! queries over it.

mod derive;
mod preorder;
mod rewrite;
mod view;
mod weights;

use std::borrow::Cow;

use profview_model::{Function, Profile, StackTable, ThreadId};
use rustc_hash::FxHashMap;

use crate::classify::Package;
use crate::table::FunctionStats;
use crate::transform::{Matcher, Op};

pub(crate) use preorder::preorder_profile;
pub(crate) use weights::add_whole_u32;
pub(crate) use view::SampleView;

use derive::finish_view;
use rewrite::{apply, compact, initial_weights, WeightedStacks};
use weights::{all_live, initial_sparse, SelfWeights};

/// The synthetic leaf frame under a sample a recording marks idle (`profview_import::recording::IDLE_FRAME`).
pub(crate) const RECORDED_IDLE_FRAME: &str = "<idle>";

/// The function table of a view: the profile's functions plus synthetic ones (groups).
pub(crate) struct Funcs<'a> {
    pub base: &'a [Function],
    pub base_pkg: &'a [Package],
    pub extra: Vec<Function>,
    pub extra_pkg: Vec<Package>,
    /// The profile records which samples were idle (a profview recording marks them with a
    /// synthetic `<idle>` leaf): the `idle` transform drops exactly those, with no name heuristic.
    pub recorded_idle: bool,
}

impl Funcs<'_> {
    pub fn len(&self) -> usize {
        self.base.len() + self.extra.len()
    }
    pub fn get(&self, i: u32) -> &Function {
        let i = i as usize;
        if i < self.base.len() {
            &self.base[i]
        } else {
            &self.extra[i - self.base.len()]
        }
    }
    pub fn pkg(&self, i: u32) -> Package {
        let i = i as usize;
        if i < self.base.len() {
            self.base_pkg[i]
        } else {
            self.extra_pkg[i - self.base.len()]
        }
    }
    pub fn mask(&self, m: &Matcher) -> Vec<bool> {
        (0..self.len() as u32)
            .map(|i| {
                let f = self.get(i);
                m.matches(i, &f.name, &f.file)
            })
            .collect()
    }
    /// Interns a synthetic function by (name, file).
    fn synthetic(&mut self, name: String, file: String, pkg: Package, cache: &mut FxHashMap<(String, String), u32>) -> u32 {
        if let Some(&id) = cache.get(&(name.clone(), file.clone())) {
            return id;
        }
        let id = (self.base.len() + self.extra.len()) as u32;
        self.extra.push(Function { name: name.clone(), file: file.clone(), line: 0 });
        self.extra_pkg.push(pkg);
        cache.insert((name, file), id);
        id
    }
}

struct EmptyTable(StackTable);
static EMPTY_TABLE: EmptyTable = EmptyTable(StackTable { parent: Vec::new(), func: Vec::new() });

/// The profile's own stack table (an empty one for a pstats profile).
fn profile_table(p: &Profile) -> &StackTable {
    p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE.0)
}

/// Builds the view data; returns the view and the per-function stats (len = `nfuncs`). `pre`:
/// the profile's own stack table is known to be in pre-order (not checked again).
pub(crate) fn build_view(
    p: &Profile,
    thread: Option<ThreadId>,
    ops: &[Op],
    funcs: &mut Funcs<'_>,
    pre: bool,
) -> Result<(SampleView, Vec<FunctionStats>), String> {
    let base_table = profile_table(p);
    if thread.is_none() && ops.is_empty() {
        // The default view: no dense per-node weight vector, no copy of the table.
        if let Some((w, rs)) = initial_sparse(p, base_table.len()) {
            if all_live(base_table, &w) {
                return Ok(finish_view(p, None, w, rs, funcs.len(), pre));
            }
        }
    }
    let (at, hit, rs, rh) = initial_weights(p, thread);
    if ops.is_empty() {
        let (table, at, hit) = match compact(base_table, &at, &hit) {
            None => (None, at, hit),
            Some((t, a)) => {
                let h = a.iter().map(|&x| x.to_bits() != 0).collect::<Vec<bool>>();
                (Some(t), a, h)
            }
        };
        let w = SelfWeights::from_dense(&at, &hit);
        drop((at, hit));
        return Ok(finish_view(p, table, w, rs, funcs.len(), pre));
    }
    let mut s = WeightedStacks { table: Cow::Borrowed(base_table), self_weight: at, has_self: hit, root_self: rs, root_has_self: rh };
    for op in ops {
        s = apply(op, &s, funcs)?;
    }
    let (t, a) = match compact(&s.table, &s.self_weight, &s.has_self) {
        None => (s.table.into_owned(), s.self_weight),
        Some(x) => x,
    };
    let h: Vec<bool> = a.iter().map(|&x| x.to_bits() != 0).collect();
    let w = SelfWeights::from_dense(&a, &h);
    drop((a, h));
    Ok(finish_view(p, Some(t), w, s.root_self, funcs.len(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    use profview_model::{Dialect, SampleBuilder, Unit};
    use view::Weights;

    /// Per-sample weights that are not whole (so the build leaves the table as it is) but whose
    /// per-node sums are (so the view takes the pre-order path): the table, not in pre-order,
    /// is renumbered for the view, and the numbers are the reference's.
    #[test]
    fn whole_node_sums_of_fractional_samples_on_a_table_not_in_preorder() {
        let mut b = SampleBuilder::new();
        let f: Vec<_> = ["main", "c", "a", "b"].iter().map(|n| b.function(n, "x.py", 1)).collect();
        let (t1, t2) = (b.thread("1", None), b.thread("2", None));
        for (st, w) in [(vec![f[0], f[3]], 0.5), (vec![f[0], f[2], f[1]], 1.5), (vec![f[0], f[1]], 0.5), (vec![f[0], f[2], f[2]], 2.5)] {
            b.add_sample(&st, t1, w);
            b.add_sample(&st, t2, w);
        }
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        assert!(!preorder::is_preorder(&p.samples.as_ref().unwrap().stacks), "the fixture must not be in pre-order");
        let reference = crate::table::function_stats(&p);
        let idx = crate::ProfileIndex::build(p);
        assert!(!idx.pre(), "fractional samples: the build leaves the table");
        for (a, r) in idx.function_stats().iter().zip(&reference) {
            assert_eq!(a.self_weight, r.self_weight);
            assert_eq!(a.total_weight, r.total_weight);
        }
    }

    /// The whole-weight path (u32 inclusive weights, edges summed after the walk on 2 threads)
    /// and the f64 path give the reference aggregates: bit-for-bit for whole weights, and the
    /// f64 path's edge weights match a brute-force sum.
    #[test]
    fn whole_and_fractional_weights_agree_with_reference() {
        for frac in [false, true] {
            let mut b = SampleBuilder::new();
            let t = b.thread("1", None);
            let fs: Vec<_> = (0..7).map(|i| b.function(&format!("f{i}"), "x.py", i)).collect();
            let mut seed = 12345u64;
            let mut rnd = |m: u64| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 33) % m
            };
            let mut stacks = Vec::new();
            // Enough nodes for the two-thread path (n >= 65536).
            for _ in 0..60_000 {
                let d = 1 + rnd(12) as usize;
                let st: Vec<_> = (0..d).map(|_| fs[rnd(7) as usize]).collect();
                let w = if frac { rnd(1000) as f64 / 8.0 + 0.1 } else { rnd(1000) as f64 };
                b.add_sample(&st, t, w);
                stacks.push((st, w));
            }
            let p = b.finish(Dialect::Gregg, Unit::Samples);
            let nodes = p.samples.as_ref().unwrap().stacks.len();
            assert!(nodes >= 1 << 16, "{nodes} nodes");
            let pkg = vec![Package::User; p.functions.len()];
            let mut funcs = Funcs { base: &p.functions, base_pkg: &pkg, extra: vec![], extra_pkg: vec![], recorded_idle: false };
            let (sv, stats) = build_view(&p, None, &[], &mut funcs, false).unwrap();
            assert_eq!(matches!(sv.w, Weights::Prefix(_)), !frac);
            let reference = crate::table::function_stats(&p);
            for (a, r) in stats.iter().zip(&reference) {
                assert_eq!(a.self_weight.map(f64::to_bits), r.self_weight.map(f64::to_bits));
                assert_eq!(a.total_weight.map(f64::to_bits), r.total_weight.map(f64::to_bits));
            }
            // Edge weights: once per stack per (caller, callee) pair.
            let mut want: FxHashMap<(u32, u32), f64> = FxHashMap::default();
            for (st, w) in &stacks {
                let mut seen = Vec::new();
                for pair in st.windows(2) {
                    let k = (pair[0].0, pair[1].0);
                    if !seen.contains(&k) {
                        seen.push(k);
                        *want.entry(k).or_insert(0.0) += w;
                    }
                }
            }
            let mut got = 0;
            for (&(a, c), &w) in &want {
                let e = sv.edges(a as usize, false).find(|e| e.0 == c).unwrap();
                if frac {
                    assert!((e.1 - w).abs() <= 1e-9 * w.abs().max(1.0), "{a}->{c}: {} vs {w}", e.1);
                } else {
                    assert_eq!(e.1.to_bits(), w.to_bits(), "{a}->{c}");
                }
                got += 1;
            }
            assert_eq!(got, (0..7).map(|f| sv.edges(f, false).count()).sum::<usize>());
        }
    }

}
