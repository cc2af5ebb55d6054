//! `profview collate` and `profview diff`: read files, reduce each to its per-function numbers,
//! and print the collation or the diff as JSON or a text table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use profview_api::{CollateReport, DiffReport, Metric, Normalize, SortOrder};
use profview_compare::{collate, diff, values_of, CollateQuery, DiffQuery, ProfileValues};

/// Reads and imports files on every core, naming the file in any error. Each is reduced to its
/// per-function numbers as soon as it is imported, so a thousand dumps are never all in memory.
pub fn read_values(files: &[PathBuf]) -> anyhow::Result<Vec<ProfileValues>> {
    let limits = profview_import::Limits::default();
    let one = |path: &Path| -> anyhow::Result<ProfileValues> {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let name = path.display().to_string();
        let imported = profview_import::import(&name, &bytes, &limits).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        Ok(values_of(&imported.profile))
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<anyhow::Result<Vec<ProfileValues>>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            files.chunks(chunk).map(|c| s.spawn(move || c.iter().map(|p| one(p)).collect::<anyhow::Result<Vec<_>>>())).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("an import thread panicked")))).collect()
    });
    let mut out = Vec::with_capacity(files.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|p| p.display().to_string()).collect()
}

/// The listing flags both commands share (each has its own `--sort`).
#[derive(Debug, Default, clap::Args)]
pub struct Listing {
    /// The number sorted by and shown: ncalls, primcalls, tottime (default), cumtime; self
    /// (default) or total for sampled profiles.
    #[arg(long)]
    pub metric: Option<String>,
    /// asc or desc (default: desc for numbers, asc for names).
    #[arg(long)]
    pub order: Option<String>,
    /// Print at most N functions.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn metric(s: &Option<String>) -> anyhow::Result<Option<Metric>> {
    s.as_deref().map(|m| m.parse::<Metric>().map_err(anyhow::Error::msg)).transpose()
}

fn order(s: &Option<String>) -> anyhow::Result<Option<SortOrder>> {
    s.as_deref().map(|m| m.parse::<SortOrder>().map_err(anyhow::Error::msg)).transpose()
}

/// `profview collate FILE...`.
pub fn collate_files(files: &[PathBuf], sort: Option<String>, l: &Listing) -> anyhow::Result<String> {
    let vals = read_values(files)?;
    let refs: Vec<&ProfileValues> = vals.iter().collect();
    let c = collate(&refs, &names(files)).map_err(anyhow::Error::msg)?;
    let q = CollateQuery { sort, metric: metric(&l.metric)?, order: order(&l.order)?, limit: l.limit, ..Default::default() };
    let rep = c.report(&q).map_err(anyhow::Error::msg)?;
    Ok(if l.json { serde_json::to_string(&rep)? + "\n" } else { collate_text(&rep, q.metric.unwrap_or(c.kind.primary())) })
}

/// `profview diff BASE NEW` or `--base A... --new B...`.
pub fn diff_files(base: &[PathBuf], new: &[PathBuf], normalize: Normalize, sort: Option<String>, l: &Listing) -> anyhow::Result<String> {
    // Both sides read together, so two single files are read on two cores.
    let all: Vec<PathBuf> = base.iter().chain(new).cloned().collect();
    let vals = read_values(&all)?;
    let (bv, nv) = vals.split_at(base.len());
    let (b, n): (Vec<&ProfileValues>, Vec<&ProfileValues>) = (bv.iter().collect(), nv.iter().collect());
    let d = diff(&b, &n, &names(base), &names(new), normalize).map_err(anyhow::Error::msg)?;
    let q = DiffQuery { sort, metric: metric(&l.metric)?, order: order(&l.order)?, limit: l.limit, ..Default::default() };
    let rep = d.report(&q).map_err(anyhow::Error::msg)?;
    Ok(if l.json { serde_json::to_string(&rep)? + "\n" } else { diff_text(&rep, q.metric.unwrap_or(d.kind.primary())) })
}

fn num(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.6}")
    }
}

fn location(name: &str, file: &str, line: i64) -> String {
    if file.is_empty() {
        name.to_owned()
    } else {
        format!("{file}:{line}({name})")
    }
}

fn collate_text(r: &CollateReport, m: Metric) -> String {
    let mut out = format!("{} profiles collated ({}, {} functions); {m} in {}\n\n", r.files, r.kind, r.total, r.unit);
    let _ = writeln!(out, "{:>8} {:>14} {:>12} {:>12} {:>12} {:>12}  function", "present", "sum", "median", "p95", "max", "mean");
    for f in &r.functions {
        let s = f.spread.get(m).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>8} {:>14} {:>12} {:>12} {:>12} {:>12}  {}",
            format!("{}/{}", f.present, r.files),
            num(f.sum.get(m).copied().unwrap_or(0.0)),
            num(s.median),
            num(s.p95),
            num(s.max),
            num(s.mean),
            location(&f.name, &f.file, f.line)
        );
    }
    out
}

fn diff_text(r: &DiffReport, m: Metric) -> String {
    let mut out = format!(
        "base: {} profile(s), new: {} profile(s); {m} in {} ({} normalization); test: {}\n\n",
        r.base.profiles, r.new.profiles, r.unit, r.normalize, r.test
    );
    let _ = writeln!(out, "{:>12} {:>12} {:>12} {:>8} {:>5}  function", "base", "new", "delta", "rel", "sig");
    for row in &r.rows {
        let side = |s: &Option<profview_api::SideValues>| match s {
            None => "-".to_owned(),
            Some(s) => num(s.values.get(m).copied().unwrap_or(0.0)),
        };
        let rel = row.relative.get(m).map(|v| format!("{:+.0}%", v * 100.0)).unwrap_or_else(|| "new".to_owned());
        let rel = if row.new.is_none() { "gone".to_owned() } else { rel };
        let sig = match row.significance.as_ref().and_then(|s| s.get(m)) {
            None => "",
            Some(s) if s.significant => "*",
            Some(_) => "·",
        };
        let _ = writeln!(
            out,
            "{:>12} {:>12} {:>12} {:>8} {:>5}  {}",
            side(&row.base),
            side(&row.new),
            num(row.delta.get(m).copied().unwrap_or(0.0)),
            rel,
            sig,
            location(&row.name, &row.file, row.line)
        );
    }
    if r.test != "none" {
        let _ = writeln!(out, "\n* significant at a false discovery rate of {} ({} test, Benjamini-Hochberg); · not", r.alpha, r.test);
    }
    out
}
