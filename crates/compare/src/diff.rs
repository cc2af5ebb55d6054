//! Diffing two sides, each one profile or a set: per function the two sides' numbers, the
//! change, its causes (more calls or slower calls) and whether it is bigger than the noise.

use profview_api::{
    DiffReport, DiffRow, Fields, Metric, Normalize, SideInfo, SideValues, Significance, SortOrder, Split,
};

use crate::stats::{benjamini_hochberg, binomial_p, mann_whitney_p, spread};
use crate::values::{common_kind, slot, CompareError, Kind, Matrix, ProfileValues, Union, Vals};

/// The false discovery rate below which a difference is called significant.
pub const ALPHA: f64 = 0.05;

/// A computed diff, before it is cut into pages. Rows are made on demand ([`Diff::row`]): a
/// diff of two 200k-function profiles keeps numbers, not 200k rows of strings.
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
    /// What the base side's fields were divided by (per metric slot).
    pub base_div: Vals,
    /// The new side's.
    pub new_div: Vals,
    mb: Matrix,
    mn: Matrix,
    sum_b: Vec<Vals>,
    sum_n: Vec<Vals>,
    /// Per function, per metric slot: the test, where one applies.
    sig: Option<Vec<[Significance; 4]>>,
    sets: bool,
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
    let union = Union::of(&all);
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
    let n_funcs = union.len();
    let sum_b: Vec<Vals> = (0..n_funcs).map(|f| mb.sum(f)).collect();
    let sum_n: Vec<Vals> = (0..n_funcs).map(|f| mn.sum(f)).collect();
    // Binomial: each side's number of samples (self counts sum to it; total counts are tested
    // against the same denominators, as each sample holds a function or not).
    let (base_n, new_n) = if test == "binomial" {
        (base[0].total * base[0].samples_per_unit, new[0].total * new[0].samples_per_unit)
    } else {
        (0.0, 0.0)
    };
    // Per profile, for the rank test: the profile's own total when normalizing by total (each
    // profile's divisors computed once, not per function).
    let own = |set: &[&ProfileValues]| -> Vec<Vals> {
        set.iter()
            .map(|p| if normalize == Normalize::Total { side_divisor(kind, normalize, std::slice::from_ref(p)) } else { [1.0; 4] })
            .collect()
    };
    let (own_b, own_n) = (own(base), own(new));
    let per_profile = |mat: &Matrix, divs: &[Vals], f: usize, k: usize| -> Vec<f64> {
        mat.row(f).iter().zip(divs).map(|(v, d)| divide(v[k], d[k])).collect()
    };
    let sig = (test != "none").then(|| {
        let mut out = vec![[Significance::default(); 4]; n_funcs];
        for &m in metrics {
            let k = slot(m);
            let p: Vec<f64> = (0..n_funcs)
                .map(|f| match test {
                    "mann-whitney" => mann_whitney_p(&per_profile(&mb, &own_b, f, k), &per_profile(&mn, &own_n, f, k)),
                    _ => {
                        let a = (sum_b[f][k] * base[0].samples_per_unit).round().max(0.0);
                        let b = (sum_n[f][k] * new[0].samples_per_unit).round().max(0.0);
                        let p0 = if base_n + new_n > 0.0 { new_n / (base_n + new_n) } else { 0.5 };
                        binomial_p(b as u64, (a + b) as u64, p0)
                    }
                })
                .collect();
            let q = benjamini_hochberg(&p);
            for f in 0..n_funcs {
                out[f][k] = Significance { p: p[f], q: q[f], significant: q[f] < ALPHA };
            }
        }
        out
    });
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
        base_div: bs,
        new_div: ns,
        mb,
        mn,
        sum_b,
        sum_n,
        sig,
        sets,
    })
}

impl Diff {
    /// One function's normalized value on each side (an absent side is 0).
    fn sides(&self, f: usize, m: Metric) -> (f64, f64) {
        let k = slot(m);
        (divide(self.sum_b[f][k], self.base_div[k]), divide(self.sum_n[f][k], self.new_div[k]))
    }

    fn side(&self, f: usize, mat: &Matrix, sum: Vals, div: &Vals) -> Option<SideValues> {
        (mat.present[f] > 0).then(|| SideValues {
            values: scaled(self.kind, sum, div),
            present: self.sets.then_some(mat.present[f]),
            spread: (mat.profiles > 1).then(|| {
                let mut s = Fields::default();
                for &mt in self.kind.metrics() {
                    s.set(mt, spread(&mut mat.column(f, mt)));
                }
                s
            }),
        })
    }

    /// The row of union function `f`.
    pub fn row(&self, f: usize) -> DiffRow {
        let kind = self.kind;
        let func = &self.union.funcs[f];
        let (bv, nv) = (scaled(kind, self.sum_b[f], &self.base_div), scaled(kind, self.sum_n[f], &self.new_div));
        let mut delta = Fields::default();
        let mut relative = Fields::default();
        for &m in kind.metrics() {
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
        let significance = self.sig.as_ref().map(|sig| {
            let mut s = Fields::default();
            for &m in kind.metrics() {
                s.set(m, sig[f][slot(m)]);
            }
            s
        });
        DiffRow {
            id: f as u32,
            name: func.name.clone(),
            file: func.file.clone(),
            line: func.line,
            base: self.side(f, &self.mb, self.sum_b[f], &self.base_div),
            new: self.side(f, &self.mn, self.sum_n[f], &self.new_div),
            delta,
            relative,
            split: split_fields,
            significant: self.sig.as_ref().map(|sig| sig[f][slot(kind.primary())].significant),
            significance,
        }
    }

    /// Per union function, whether the change of its inclusive number (`cumtime`, or sampled
    /// `total`: what a call tree's widths show) is significant; `None` when no test applies.
    pub fn inclusive_significance(&self) -> Option<Vec<bool>> {
        let k = slot(match self.kind {
            Kind::Pstats => Metric::Cumtime,
            Kind::Samples => Metric::TotalWeight,
        });
        self.sig.as_ref().map(|sig| sig.iter().map(|s| s[k].significant).collect())
    }

    /// Every row, in union order.
    pub fn rows(&self) -> impl Iterator<Item = DiffRow> + '_ {
        (0..self.union.len()).map(|f| self.row(f))
    }
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
        let funcs = &self.union.funcs;
        let mut ids: Vec<usize> =
            (0..funcs.len()).filter(|&i| needle.is_none_or(|n| funcs[i].name.contains(n) || funcs[i].file.contains(n))).collect();
        let k = slot(metric);
        let size = |i: usize| {
            let (b, n) = self.sides(i, metric);
            (n - b).abs()
        };
        let val = |i: usize| -> f64 {
            let (b, n) = self.sides(i, metric);
            match sort {
                // By size of the change: the sign is the direction, the order is the magnitude.
                "delta" => (n - b).abs(),
                // New functions: an infinite relative change.
                "relative" if b == 0.0 && n != 0.0 => f64::INFINITY,
                "relative" if b == 0.0 => 0.0,
                "relative" => ((n - b) / b).abs(),
                "significance" => self.sig.as_ref().map_or(f64::INFINITY, |s| s[i][k].q),
                "base" => b,
                "new" => n,
                _ => 0.0,
            }
        };
        let keys: Vec<f64> = (0..funcs.len()).map(val).collect();
        let sizes: Vec<f64> = (0..funcs.len()).map(size).collect();
        ids.sort_by(|&a, &b| {
            let c = match sort {
                "name" => funcs[a].name.cmp(&funcs[b].name),
                "file" => funcs[a].file.cmp(&funcs[b].file).then(funcs[a].line.cmp(&funcs[b].line)),
                _ => keys[a].total_cmp(&keys[b]),
            };
            let c = if order == SortOrder::Desc { c.reverse() } else { c };
            // Ties (equal q-values, say): the bigger change first.
            c.then_with(|| sizes[b].total_cmp(&sizes[a])).then(a.cmp(&b))
        });
        let total = ids.len() as u64;
        let page = ids.into_iter().skip(q.offset).take(q.limit.unwrap_or(usize::MAX)).map(|i| self.row(i)).collect();
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
