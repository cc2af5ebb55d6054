//! Collating a set of profiles: per function, in how many it appears, the sums, and the spread
//! of each number over all of them.

use profview_api::{CollateReport, CollateRow, Fields, Metric, SortOrder, Spread};

use crate::stats::spread;
use crate::values::{common_kind, slot, CompareError, Kind, Matrix, ProfileValues, Union};

/// A collated set, before it is cut into pages.
#[derive(Clone, Debug)]
pub struct Collation {
    /// The profiles' kind.
    pub kind: Kind,
    /// Their unit.
    pub unit: profview_model::Unit,
    /// Every function of any of them.
    pub union: Union,
    /// Their numbers.
    pub matrix: Matrix,
}

/// Collates profiles of one kind and unit. `names` label the profiles in errors.
pub fn collate(set: &[&ProfileValues], names: &[String]) -> Result<Collation, CompareError> {
    let (kind, unit) = common_kind(set, names)?;
    let union = Union::of(set);
    let matrix = Matrix::new(&union, set);
    Ok(Collation { kind, unit, union, matrix })
}

/// What to list of a collation.
#[derive(Clone, Debug, Default)]
pub struct CollateQuery {
    /// Sort field: `present`, `name`, `file`, `sum` of the metric (default), or a spread statistic
    /// of it: `min`, `median`, `p90`, `p95`, `max`, `mean`.
    pub sort: Option<String>,
    /// The metric sorted by and whose per-profile values rows carry (default: the kind's primary).
    pub metric: Option<Metric>,
    /// Direction (default: descending for numbers, ascending for names).
    pub order: Option<SortOrder>,
    /// Substring of name or file.
    pub q: Option<String>,
    /// First row.
    pub offset: usize,
    /// Most rows (`None` = all).
    pub limit: Option<usize>,
    /// Include each row's per-profile values of the metric.
    pub values: bool,
}

impl Collation {
    /// One function's row.
    pub fn row(&self, f: usize, with_values: Option<Metric>) -> CollateRow {
        let func = &self.union.funcs[f];
        let mut sum = Fields::default();
        let mut spreads = Fields::default();
        let s = self.matrix.sum(f);
        for &m in self.kind.metrics() {
            sum.set(m, s[slot(m)]);
            spreads.set(m, spread(&mut self.matrix.column(f, m)));
        }
        CollateRow {
            id: f as u32,
            name: func.name.clone(),
            file: func.file.clone(),
            line: func.line,
            present: self.matrix.present[f],
            sum,
            spread: spreads,
            values: with_values.map(|m| self.matrix.column(f, m)),
        }
    }

    /// The report: rows filtered, sorted and paged.
    pub fn report(&self, q: &CollateQuery) -> Result<CollateReport, CompareError> {
        let metric = q.metric.unwrap_or(self.kind.primary());
        if !self.kind.metrics().contains(&metric) {
            return Err(CompareError(format!("{} profiles have no {metric}", self.kind.as_str())));
        }
        let needle = q.q.as_deref().filter(|s| !s.is_empty());
        let mut ids: Vec<usize> = (0..self.union.len())
            .filter(|&f| {
                let func = &self.union.funcs[f];
                needle.is_none_or(|n| func.name.contains(n) || func.file.contains(n))
            })
            .collect();
        let sort = q.sort.as_deref().unwrap_or("sum");
        let textual = matches!(sort, "name" | "file");
        let order = q.order.unwrap_or(if textual { SortOrder::Asc } else { SortOrder::Desc });
        let k = slot(metric);
        let stat: Option<fn(&Spread) -> f64> = match sort {
            "sum" | "present" | "name" | "file" => None,
            "min" => Some(|s| s.min),
            "median" => Some(|s| s.median),
            "p90" => Some(|s| s.p90),
            "p95" => Some(|s| s.p95),
            "max" => Some(|s| s.max),
            "mean" => Some(|s| s.mean),
            other => {
                return Err(CompareError(format!(
                    "sort must be one of sum, present, min, median, p90, p95, max, mean, name, file, not {other:?}"
                )))
            }
        };
        let key: Vec<f64> = match (sort, stat) {
            ("sum", _) => (0..self.union.len()).map(|f| self.matrix.sum(f)[k]).collect(),
            ("present", _) => self.matrix.present.iter().map(|&p| p as f64).collect(),
            (_, Some(stat)) => (0..self.union.len()).map(|f| stat(&spread(&mut self.matrix.column(f, metric)))).collect(),
            _ => Vec::new(), // by name or file
        };
        let funcs = &self.union.funcs;
        ids.sort_by(|&a, &b| {
            let c = match sort {
                "name" => funcs[a].name.cmp(&funcs[b].name),
                "file" => funcs[a].file.cmp(&funcs[b].file).then(funcs[a].line.cmp(&funcs[b].line)),
                _ => key[a].total_cmp(&key[b]),
            };
            let c = if order == SortOrder::Desc { c.reverse() } else { c };
            c.then_with(|| funcs[a].name.cmp(&funcs[b].name)).then(a.cmp(&b))
        });
        let total = ids.len() as u64;
        let functions = ids
            .into_iter()
            .skip(q.offset)
            .take(q.limit.unwrap_or(usize::MAX))
            .map(|f| self.row(f, q.values.then_some(metric)))
            .collect();
        Ok(CollateReport {
            files: self.matrix.profiles as u64,
            unit: self.unit.as_str().to_owned(),
            kind: self.kind.as_str().to_owned(),
            total,
            functions,
        })
    }
}
