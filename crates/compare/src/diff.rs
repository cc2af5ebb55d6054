//! Diffing two sides, each one profile or a set: per function the two sides' numbers, the
//! change, its causes (more calls or slower calls) and whether it is bigger than the noise.

use profview_api::{
    DiffReport, DiffRow, Fields, Metric, Normalize, SideInfo, SideValues, Significance, SortOrder, Split,
};

use crate::stats::{benjamini_hochberg, binomial_p, mann_whitney_p, spread};
use crate::values::{common_kind, slot, CompareError, Kind, Matrix, ProfileValues, Union, Vals};

/// The false discovery rate below which a difference is called significant.
pub const ALPHA: f64 = 0.05;

/// A computed diff, before it is cut into pages.
#[derive(Clone, Debug)]
pub struct Diff {
    /// The profiles' kind.
    pub kind: Kind,
    /// Their unit.
    pub unit: profview_model::Unit,
    /// The scaling.
    pub normalize: Normalize,
    /// Every function of either side.
    pub union: Union,
    /// The test used (`mann-whitney`, `binomial` or `none`).
    pub test: &'static str,
    /// Side summaries.
    pub base_info: SideInfo,
    /// Side summaries.
    pub new_info: SideInfo,
    /// One row per union function, in union order.
    pub rows: Vec<DiffRow>,
    /// What the base side's fields were divided by (per metric slot).
    pub base_div: Vals,
    /// The new side's.
    pub new_div: Vals,
}

/// What each of a side's fields is divided by: 1 (absolute), the side's number of profiles
/// (per profile) or its total time, calls or weight (total). Division, not multiplication by a
/// reciprocal, so `sum / n` is exactly what one would compute by hand.
fn side_divisor(kind: Kind, normalize: Normalize, set: &[&ProfileValues]) -> Vals {
    let n = set.len().max(1) as f64;
    let total: f64 = set.iter().map(|p| p.total).sum();
    let calls: f64 = set.iter().map(|p| p.total_calls).sum();
    match (normalize, kind) {
        (Normalize::Absolute, _) => [1.0; 4],
        (Normalize::Profile, _) => [n; 4],
        (Normalize::Total, Kind::Pstats) => [calls, calls, total, total],
        (Normalize::Total, Kind::Samples) => [total, total, 1.0, 1.0],
    }
}

fn divide(v: f64, d: f64) -> f64 {
    if d == 0.0 {
        0.0
    } else {
        v / d
    }
}

fn scaled(kind: Kind, v: Vals, div: &Vals) -> Fields<f64> {
    let mut f = Fields::default();
    for &m in kind.metrics() {
        let k = slot(m);
        f.set(m, divide(v[k], div[k]));
    }
    f
}

/// Splits a change in time into more calls (Δncalls × base time per call) and slower calls
/// (new ncalls × Δ time per call). The two add up to the change.
pub fn split(base_calls: f64, base_time: f64, new_calls: f64, new_time: f64) -> Split {
    let delta = new_time - base_time;
    if base_calls <= 0.0 || new_calls <= 0.0 {
        // Appeared or disappeared: all of it is calls.
        return Split { more_calls: delta, slower_per_call: 0.0 };
    }
    let base_per = base_time / base_calls;
    let more_calls = (new_calls - base_calls) * base_per;
    Split { more_calls, slower_per_call: new_calls * (new_time / new_calls - base_per) }
}

/// Diffs two sides of one kind and unit. `base_names`/`new_names` label the profiles.
pub fn diff(
    base: &[&ProfileValues],
    new: &[&ProfileValues],
    base_names: &[String],
    new_names: &[String],
    normalize: Normalize,
) -> Result<Diff, CompareError> {
    if base.is_empty() || new.is_empty() {
        return Err(CompareError("a diff needs at least one profile on each side".into()));
    }
    let all: Vec<&ProfileValues> = base.iter().chain(new).copied().collect();
    let names: Vec<String> = base_names.iter().chain(new_names).cloned().collect();
    let (kind, unit) = common_kind(&all, &names)?;
    let mut union = Union::default();
    for p in &all {
        for (f, _) in &p.rows {
            union.intern(f);
        }
    }
    let mb = Matrix::new(&union, base);
    let mn = Matrix::new(&union, new);
    let (bs, ns) = (side_divisor(kind, normalize, base), side_divisor(kind, normalize, new));
    let sets = base.len() > 1 || new.len() > 1;
    let test = if sets {
        "mann-whitney"
    } else if kind == Kind::Samples {
        "binomial"
    } else {
        "none"
    };
    let metrics = kind.metrics();
    let mut rows = Vec::with_capacity(union.len());
    // p-values per metric, for the correction across functions.
    let mut pvals: Vec<Vec<f64>> = vec![Vec::with_capacity(union.len()); metrics.len()];
    // Binomial: each side's number of samples (self counts sum to it; total counts are tested
    // against the same denominators, as each sample holds a function or not).
    let (base_n, new_n) = if test == "binomial" {
        (base[0].total * base[0].samples_per_unit, new[0].total * new[0].samples_per_unit)
    } else {
        (0.0, 0.0)
    };
    for (f, func) in union.funcs.iter().enumerate() {
        let (sb, sn) = (mb.sum(f), mn.sum(f));
        let side = |m: &Matrix, sum: Vals, scale: &Vals| -> Option<SideValues> {
            (m.present[f] > 0).then(|| SideValues {
                values: scaled(kind, sum, scale),
                present: sets.then_some(m.present[f]),
                spread: (m.profiles > 1).then(|| {
                    let mut s = Fields::default();
                    for &mt in metrics {
                        s.set(mt, spread(&mut m.column(f, mt)));
                    }
                    s
                }),
            })
        };
        let (bv, nv) = (scaled(kind, sb, &bs), scaled(kind, sn, &ns));
        let mut delta = Fields::default();
        let mut relative = Fields::default();
        for &m in metrics {
            let (b, n) = (*bv.get(m).unwrap_or(&0.0), *nv.get(m).unwrap_or(&0.0));
            delta.set(m, n - b);
            if b != 0.0 {
                relative.set(m, (n - b) / b);
            }
        }
        let split_fields = (kind == Kind::Pstats).then(|| {
            let mut s = Fields::default();
            let g = |v: &Fields<f64>, m: Metric| *v.get(m).unwrap_or(&0.0);
            for t in [Metric::Tottime, Metric::Cumtime] {
                s.set(t, split(g(&bv, Metric::Ncalls), g(&bv, t), g(&nv, Metric::Ncalls), g(&nv, t)));
            }
            s
        });
        for (mi, &m) in metrics.iter().enumerate() {
            let k = slot(m);
            let p = match test {
                "mann-whitney" => {
                    let per = |mat: &Matrix, set: &[&ProfileValues]| -> Vec<f64> {
                        mat.vals[f]
                            .iter()
                            .zip(set)
                            .map(|(v, p)| {
                                // Per profile: the profile's own total when normalizing by total.
                                let d = side_divisor(kind, normalize, std::slice::from_ref(p));
                                if normalize == Normalize::Total { divide(v[k], d[k]) } else { v[k] }
                            })
                            .collect()
                    };
                    mann_whitney_p(&per(&mb, base), &per(&mn, new))
                }
                "binomial" => {
                    let a = (sb[k] * base[0].samples_per_unit).round().max(0.0);
                    let b = (sn[k] * new[0].samples_per_unit).round().max(0.0);
                    let trials = a + b;
                    let p0 = if base_n + new_n > 0.0 { new_n / (base_n + new_n) } else { 0.5 };
                    binomial_p(b as u64, trials as u64, p0)
                }
                _ => f64::NAN,
            };
            pvals[mi].push(p);
        }
        rows.push(DiffRow {
            id: f as u32,
            name: func.name.clone(),
            file: func.file.clone(),
            line: func.line,
            base: side(&mb, sb, &bs),
            new: side(&mn, sn, &ns),
            delta,
            relative,
            split: split_fields,
            significance: None,
            significant: None,
        });
    }
    if test != "none" {
        let qs: Vec<Vec<f64>> = pvals.iter().map(|p| benjamini_hochberg(p)).collect();
        for (f, row) in rows.iter_mut().enumerate() {
            let mut s = Fields::default();
            for (mi, &m) in metrics.iter().enumerate() {
                let (p, q) = (pvals[mi][f], qs[mi][f]);
                s.set(m, Significance { p, q, significant: q < ALPHA });
            }
            row.significant = s.get(kind.primary()).map(|s| s.significant);
            row.significance = Some(s);
        }
    }
    let info = |set: &[&ProfileValues], names: &[String]| SideInfo {
        profiles: set.len() as u64,
        total: set.iter().map(|p| p.total).sum(),
        names: names.to_vec(),
    };
    Ok(Diff {
        kind,
        unit,
        normalize,
        union,
        test,
        base_info: info(base, base_names),
        new_info: info(new, new_names),
        rows,
        base_div: bs,
        new_div: ns,
    })
}

/// What to list of a diff.
#[derive(Clone, Debug, Default)]
pub struct DiffQuery {
    /// `delta` (default: by size, largest change first), `relative`, `significance` (smallest q
    /// first), `base`, `new`, `name` or `file`.
    pub sort: Option<String>,
    /// The field sorted by (default: the kind's primary).
    pub metric: Option<Metric>,
    /// Direction (default: descending for sizes, ascending for names and significance).
    pub order: Option<SortOrder>,
    /// Substring of name or file.
    pub q: Option<String>,
    /// First row.
    pub offset: usize,
    /// Most rows (`None` = all).
    pub limit: Option<usize>,
}

impl Diff {
    /// The report: rows filtered, sorted and paged.
    pub fn report(&self, q: &DiffQuery) -> Result<DiffReport, CompareError> {
        let metric = q.metric.unwrap_or(self.kind.primary());
        if !self.kind.metrics().contains(&metric) {
            return Err(CompareError(format!("{} profiles have no {metric}", self.kind.as_str())));
        }
        let sort = q.sort.as_deref().unwrap_or("delta");
        let ascending_first = matches!(sort, "name" | "file" | "significance");
        if !matches!(sort, "delta" | "relative" | "significance" | "base" | "new" | "name" | "file") {
            return Err(CompareError(format!(
                "sort must be one of delta, relative, significance, base, new, name, file, not {sort:?}"
            )));
        }
        let order = q.order.unwrap_or(if ascending_first { SortOrder::Asc } else { SortOrder::Desc });
        let needle = q.q.as_deref().filter(|s| !s.is_empty());
        let mut ids: Vec<usize> = (0..self.rows.len())
            .filter(|&i| needle.is_none_or(|n| self.rows[i].name.contains(n) || self.rows[i].file.contains(n)))
            .collect();
        let val = |i: usize| -> f64 {
            let r = &self.rows[i];
            let side = |s: &Option<SideValues>| s.as_ref().and_then(|s| s.values.get(metric).copied()).unwrap_or(0.0);
            match sort {
                // By size of the change: the sign is the direction, the order is the magnitude.
                "delta" => r.delta.get(metric).copied().unwrap_or(0.0).abs(),
                "relative" => match r.relative.get(metric) {
                    Some(v) => v.abs(),
                    // New functions: an infinite relative change.
                    None if r.delta.get(metric).is_some_and(|d| *d != 0.0) => f64::INFINITY,
                    None => 0.0,
                },
                "significance" => r
                    .significance
                    .as_ref()
                    .and_then(|s| s.get(metric).map(|s| s.q))
                    .unwrap_or(f64::INFINITY),
                "base" => side(&r.base),
                "new" => side(&r.new),
                _ => 0.0,
            }
        };
        let keys: Vec<f64> = (0..self.rows.len()).map(val).collect();
        let rows = &self.rows;
        ids.sort_by(|&a, &b| {
            let c = match sort {
                "name" => rows[a].name.cmp(&rows[b].name),
                "file" => rows[a].file.cmp(&rows[b].file).then(rows[a].line.cmp(&rows[b].line)),
                _ => keys[a].total_cmp(&keys[b]),
            };
            let c = if order == SortOrder::Desc { c.reverse() } else { c };
            // Ties (equal q-values, say): the bigger change first.
            c.then_with(|| keys_delta(rows, b, metric).total_cmp(&keys_delta(rows, a, metric))).then(a.cmp(&b))
        });
        let total = ids.len() as u64;
        let page = ids.into_iter().skip(q.offset).take(q.limit.unwrap_or(usize::MAX)).map(|i| self.rows[i].clone()).collect();
        Ok(DiffReport {
            kind: self.kind.as_str().to_owned(),
            unit: self.unit.as_str().to_owned(),
            normalize: self.normalize,
            test: self.test.to_owned(),
            alpha: ALPHA,
            base: self.base_info.clone(),
            new: self.new_info.clone(),
            total,
            rows: page,
        })
    }
}

fn keys_delta(rows: &[DiffRow], i: usize, m: Metric) -> f64 {
    rows[i].delta.get(m).copied().unwrap_or(0.0).abs()
}
