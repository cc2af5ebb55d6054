//! Comparing profiles: collate a set (per function: presence, sums and the spread over the set),
//! diff two sides (each one profile or a set: the change, split into more calls and slower calls,
//! normalized three ways, with a significance test corrected across functions), and the union of
//! two sides' call trees for the diff flame graph.
//!
//! Pure: profiles in, wire types (`profview-api`) out; no I/O, builds for wasm32.

mod collate;
mod diff;
pub mod stats;
mod tree;
mod values;

pub use collate::{collate, CollateQuery, Collation};
pub use diff::{diff, split, Diff, DiffQuery, ALPHA};
pub use tree::{diff_tree, parse_root, TreeSide};
pub use values::{slot, values_of, CompareError, Kind, Matrix, ProfileValues, Union, Vals};

#[cfg(test)]
mod tests {
    use super::*;
    use profview_api::{Metric, Normalize, SortOrder};
    use profview_model::{Dialect, Format, Function, Profile, PstatsData, PstatsStats, SampleBuilder, Unit};


    fn f(name: &str) -> Function {
        Function { name: name.to_owned(), file: "app.py".to_owned(), line: 1 }
    }

    /// A pstats profile: (name, ncalls, tottime, cumtime).
    fn pstats(rows: &[(&str, u64, f64, f64)]) -> ProfileValues {
        let functions: Vec<Function> = rows.iter().map(|r| f(r.0)).collect();
        let stats = rows
            .iter()
            .map(|r| Some(PstatsStats { primcalls: r.1, ncalls: r.1, tottime: r.2, cumtime: r.3 }))
            .collect();
        let total_time = rows.iter().map(|r| r.2).sum();
        let total_calls = rows.iter().map(|r| r.1).sum();
        let p = Profile {
            format: Format::Pstats,
            dialect: Dialect::Cprofile,
            unit: Unit::Seconds,
            functions,
            threads: Vec::new(),
            pstats: Some(PstatsData { stats, edges: Vec::new(), total_calls, prim_calls: total_calls, total_time }),
            samples: None,
            lines_are_current: false,
        };
        values_of(&p)
    }

    /// A sampled profile from (stack, count) with frames `;`-separated.
    fn sampled(stacks: &[(&str, u64)]) -> ProfileValues {
        let mut b = SampleBuilder::new();
        let t = b.thread("main", None);
        for (stack, n) in stacks {
            let frames: Vec<_> = stack.split(';').map(|name| b.function(name, "app.py", 1)).collect();
            b.add_sample(&frames, t, *n as f64);
        }
        values_of(&b.finish(Dialect::Gregg, Unit::Samples))
    }

    fn get(v: &profview_api::Fields<f64>, m: Metric) -> f64 {
        *v.get(m).unwrap()
    }

    #[test]
    fn sampled_self_and_total_count_each_sample_once() {
        let p = sampled(&[("main;a;b", 3), ("main;a", 2), ("main;rec;rec;rec", 5)]);
        let row = |n: &str| p.rows.iter().find(|r| r.0.name == n).unwrap().1;
        assert_eq!(row("main")[..2], [0.0, 10.0]);
        assert_eq!(row("a")[..2], [2.0, 5.0]);
        assert_eq!(row("b")[..2], [3.0, 3.0]);
        // Recursion: total counts the 5 samples once, not three times.
        assert_eq!(row("rec")[..2], [5.0, 5.0]);
        assert_eq!(p.total, 10.0);
    }

    #[test]
    fn collate_sums_in_order_and_spreads_count_absent_as_zero() {
        let a = pstats(&[("x", 1, 0.1, 0.3), ("y", 2, 0.2, 0.2)]);
        let b = pstats(&[("x", 3, 0.7, 0.9)]);
        let c = pstats(&[("x", 2, 0.2, 0.25), ("y", 1, 0.05, 0.05)]);
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let col = collate(&[&a, &b, &c], &names).unwrap();
        let rep = col.report(&CollateQuery { sort: Some("name".into()), ..Default::default() }).unwrap();
        assert_eq!(rep.files, 3);
        let x = &rep.functions[0];
        assert_eq!((x.name.as_str(), x.present), ("x", 3));
        assert_eq!(get(&x.sum, Metric::Tottime), 0.1 + 0.7 + 0.2);
        assert_eq!(get(&x.sum, Metric::Ncalls), 6.0);
        let y = &rep.functions[1];
        assert_eq!(y.present, 2);
        let s = y.spread.get(Metric::Tottime).unwrap();
        // y's tottime over a, b, c: 0.2, 0 (absent), 0.05 → sorted 0, .05, .2
        assert_eq!((s.min, s.median, s.max), (0.0, 0.05, 0.2));
        assert_eq!(s.mean, (0.2 + 0.05) / 3.0);
        // Sorted by sum of tottime, descending by default.
        let rep = col.report(&CollateQuery::default()).unwrap();
        assert_eq!(rep.functions[0].name, "x");
        let rep = col.report(&CollateQuery { sort: Some("present".into()), order: Some(SortOrder::Asc), ..Default::default() }).unwrap();
        assert_eq!(rep.functions[0].name, "y");
        assert!(col.report(&CollateQuery { sort: Some("bogus".into()), ..Default::default() }).is_err());
        assert!(col.report(&CollateQuery { metric: Some(Metric::SelfWeight), ..Default::default() }).is_err());
    }

    #[test]
    fn kinds_do_not_mix() {
        let a = pstats(&[("x", 1, 0.1, 0.1)]);
        let b = sampled(&[("x", 1)]);
        let e = collate(&[&a, &b], &["a.prof".into(), "b.txt".into()]).unwrap_err();
        assert!(e.0.contains("b.txt is a samples profile"), "{e}");
    }

    #[test]
    fn diff_splits_time_into_calls_and_per_call_and_keeps_one_sided_functions() {
        // f: 10 calls of 0.1 s → 20 calls of 0.15 s; g only in base; h only in new.
        let base = pstats(&[("f", 10, 1.0, 1.0), ("g", 1, 0.5, 0.5)]);
        let new = pstats(&[("f", 20, 3.0, 3.0), ("h", 4, 0.25, 0.25)]);
        let d = diff(&[&base], &[&new], &["b".into()], &["n".into()], Normalize::Absolute).unwrap();
        assert_eq!(d.test, "none");
        let rep = d.report(&DiffQuery::default()).unwrap();
        assert_eq!(rep.rows[0].name, "f", "largest change first");
        let fr = &rep.rows[0];
        assert_eq!(get(&fr.delta, Metric::Tottime), 2.0);
        let sp = fr.split.as_ref().unwrap().get(Metric::Tottime).unwrap();
        // more calls: +10 × 0.1 = 1.0; slower: 20 × (0.15 − 0.1) = 1.0
        assert!((sp.more_calls - 1.0).abs() < 1e-12 && (sp.slower_per_call - 1.0).abs() < 1e-12, "{sp:?}");
        assert_eq!(fr.significant, None);
        let g = rep.rows.iter().find(|r| r.name == "g").unwrap();
        assert!(g.new.is_none() && g.base.is_some());
        assert_eq!(get(&g.delta, Metric::Tottime), -0.5);
        assert_eq!(g.split.as_ref().unwrap().get(Metric::Tottime).unwrap().more_calls, -0.5);
        let h = rep.rows.iter().find(|r| r.name == "h").unwrap();
        assert!(h.base.is_none() && h.relative.get(Metric::Tottime).is_none());
        // Normalized by each side's total time: f is 1/1.5 of base and 3/3.25 of new.
        let d = diff(&[&base], &[&new], &[], &[], Normalize::Total).unwrap();
        let fr = d.rows().find(|r| r.name == "f").unwrap();
        assert!((get(&fr.delta, Metric::Tottime) - (3.0 / 3.25 - 1.0 / 1.5)).abs() < 1e-12);
    }

    /// A tiny deterministic generator for the noise of the significance tests.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `n` per-request dumps; `slow` is `slowdown` times slower; every time jitters ±20%.
    fn requests(rng: &mut Lcg, n: usize, slowdown: f64) -> Vec<ProfileValues> {
        (0..n)
            .map(|_| {
                let j = |rng: &mut Lcg| 0.8 + 0.4 * rng.next();
                pstats(&[
                    ("handler", 1, 0.01 * j(rng), 0.1),
                    ("query", 3, 0.03 * j(rng), 0.03),
                    ("render", 1, 0.02 * j(rng), 0.02),
                    ("slow", 2, 0.02 * slowdown * j(rng), 0.04),
                    ("json", 5, 0.005 * j(rng), 0.005),
                ])
            })
            .collect()
    }

    #[test]
    fn an_injected_slowdown_is_significant_and_noise_is_not() {
        let mut rng = Lcg(42);
        let base = requests(&mut rng, 20, 1.0);
        let new = requests(&mut rng, 25, 1.5);
        let (b, n): (Vec<&ProfileValues>, Vec<&ProfileValues>) = (base.iter().collect(), new.iter().collect());
        let d = diff(&b, &n, &[], &[], Normalize::Profile).unwrap();
        assert_eq!(d.test, "mann-whitney");
        let rep = d.report(&DiffQuery { sort: Some("significance".into()), ..Default::default() }).unwrap();
        assert_eq!(rep.rows[0].name, "slow");
        assert_eq!(rep.rows[0].significant, Some(true));
        for r in &rep.rows[1..] {
            assert_eq!(r.significant, Some(false), "{} is noise: {:?}", r.name, r.significance);
        }
        // Per profile: sets of unequal size compare by their means.
        let slow = rep.rows.iter().find(|r| r.name == "slow").unwrap();
        let bm = base.iter().map(|p| p.rows[3].1[2]).sum::<f64>() / 20.0;
        assert!((get(&slow.base.as_ref().unwrap().values, Metric::Tottime) - bm).abs() < 1e-15);
        assert_eq!(slow.new.as_ref().unwrap().present, Some(25));
        assert!(slow.new.as_ref().unwrap().spread.is_some());
        // Pure noise on both sides: nothing is significant.
        let again = requests(&mut rng, 20, 1.0);
        let a: Vec<&ProfileValues> = again.iter().collect();
        let d = diff(&b, &a, &[], &[], Normalize::Profile).unwrap();
        assert!(d.rows().all(|r| r.significant == Some(false)));
    }

    #[test]
    fn two_single_sampled_profiles_get_a_binomial_test() {
        // `hot` doubles its share; `cold` stays at its share.
        let base = sampled(&[("main;hot", 100), ("main;cold", 900)]);
        let new = sampled(&[("main;hot", 200), ("main;cold", 810)]);
        let d = diff(&[&base], &[&new], &[], &[], Normalize::Total).unwrap();
        assert_eq!(d.test, "binomial");
        let hot = d.rows().find(|r| r.name == "hot").unwrap();
        assert_eq!(hot.significant, Some(true));
        let same = sampled(&[("main;hot", 101), ("main;cold", 899)]);
        let d = diff(&[&base], &[&same], &[], &[], Normalize::Total).unwrap();
        assert!(d.rows().all(|r| r.significant == Some(false)));
    }

    #[test]
    fn split_adds_up() {
        for (bc, bt, nc, nt) in [(3.0, 0.3, 5.0, 1.0), (0.0, 0.0, 2.0, 1.0), (4.0, 2.0, 0.0, 0.0), (7.0, 0.7, 7.0, 0.35)] {
            let s = split(bc, bt, nc, nt);
            assert!((s.more_calls + s.slower_per_call - (nt - bt)).abs() < 1e-12, "{s:?}");
        }
        let s = split(7.0, 0.7, 7.0, 0.35);
        assert_eq!(s.more_calls, 0.0);
    }
}
