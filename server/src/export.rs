//! Exports of a profile: folded stacks, an SVG flame graph (inferno), the JSON report of
//! `profview stats --json`, pstats and speedscope files. Used by `GET /api/profiles/{id}/export`
//! and `profview export`.
//!
//! Folded stacks of a pstats profile are derived from its caller→callee edge table (pstats holds
//! no stacks): see [`PSTATS_FOLDED_METHOD`].

use std::fmt::Write as _;

use profview_index::ProfileIndex;
use profview_model::{FuncId, Profile};

/// How folded stacks are made from a pstats profile (also the SVG's subtitle).
pub const PSTATS_FOLDED_METHOD: &str = "estimated from pstats caller→callee edges: each edge is a two-frame stack \
     caller;callee weighted by the callee's own time under that caller (edge tottime) in µs; functions without \
     callers are one-frame stacks of their own time";

/// Subtitle of a pstats flame graph (the SVG is 1200 px wide by default).
pub const PSTATS_SVG_SUBTITLE: &str = "estimate: pstats caller→callee edges drawn as two-frame stacks, own time in µs";

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// SVG flame graph.
    Svg,
    /// Folded (collapsed) stacks, one `frame;frame;... WEIGHT` per line.
    Folded,
    /// The `profview stats --json` report.
    Json,
    /// The pstats part (pstats files, merged pstats, a recording's cProfile part) as the marshal
    /// dump `pstats.Stats` reads.
    Pstats,
    /// A speedscope JSON file of the sampled part (`profview_import::export_speedscope`; a
    /// pstats-only profile is refused: it has no stacks).
    Speedscope,
    /// The samples as gzipped pprof `profile.proto` (`go tool pprof` reads it); a profile
    /// without samples is refused.
    Pprof,
    /// The self-contained HTML report (`html_report.rs`): made from the profile file itself, so
    /// [`export`] refuses it; `profview export FILE --format html` writes it.
    Html,
}

impl ExportFormat {
    /// Parses `svg`, `folded`, `json`, `pstats`, `speedscope` or `html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "svg" => Some(Self::Svg),
            "folded" | "collapsed" => Some(Self::Folded),
            "json" => Some(Self::Json),
            "pstats" | "prof" => Some(Self::Pstats),
            "speedscope" => Some(Self::Speedscope),
            "pprof" | "pb" => Some(Self::Pprof),
            "html" => Some(Self::Html),
            _ => None,
        }
    }
    /// The `Content-Type` to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Folded => "text/plain; charset=utf-8",
            Self::Json => "application/json",
            Self::Pstats => "application/octet-stream",
            Self::Speedscope => "application/json",
            Self::Pprof => "application/octet-stream",
            Self::Html => "text/html; charset=utf-8",
        }
    }
    /// File name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Folded => "folded",
            Self::Json => "json",
            Self::Pstats => "prof",
            Self::Speedscope => "speedscope.json",
            Self::Pprof => "pb.gz",
            Self::Html => "html",
        }
    }
}

/// Exports `index` (named `title`) in `format`.
pub fn export(index: &ProfileIndex, title: &str, format: ExportFormat) -> Result<Vec<u8>, String> {
    match format {
        // Stacks as the producer wrote them: a py-spy or austin profile's frames keep their lines
        // (the line-level profile of an index that groups them by function).
        ExportFormat::Folded => Ok(folded(index.by_line().profile()).into_bytes()),
        ExportFormat::Svg => svg(index.by_line().profile(), title),
        ExportFormat::Json => {
            let mut out = serde_json::to_vec(&crate::report::JsonReport::new(index, None, None)).map_err(|e| e.to_string())?;
            out.push(b'\n');
            Ok(out)
        }
        ExportFormat::Html => Err("the HTML report is made from the profile file: profview export FILE --format html".to_owned()),
        ExportFormat::Speedscope => profview_import::export_speedscope::write(index.profile(), title).ok_or_else(|| {
            "this profile has no samples (pstats holds call counts and times per function, not stacks): \
             it can be exported as pstats, or as folded or svg drawn from its caller→callee edges (an estimate)"
                .to_owned()
        }),
        ExportFormat::Pprof => profview_import::export_pprof::write(index.profile()),
        ExportFormat::Pstats => profview_import::pstats_out::write(index.profile()).ok_or_else(|| {
            "this profile has no pstats data (call counts and times of a deterministic profiler): \
             a sampled profile can be exported as folded, svg or json"
                .to_owned()
        }),
    }
}

/// A frame label: `name (file:line)`, or the bare name for built-ins (`~`) and frames without a
/// file. `;` and line breaks, which would break the folded format, become `:` and spaces.
fn label(p: &Profile, f: FuncId) -> String {
    let func = p.func(f);
    let raw = if func.file.is_empty() || func.file == "~" {
        func.name.clone()
    } else if func.line > 0 {
        format!("{} ({}:{})", func.name, func.file, func.line)
    } else {
        format!("{} ({})", func.name, func.file)
    };
    raw.chars().map(|c| match c {
        ';' => ':',
        c if c.is_control() => ' ',
        c => c,
    })
    .collect()
}

fn weight_text(out: &mut String, w: f64) {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        let _ = write!(out, "{}", w as i64);
    } else {
        let _ = write!(out, "{w}");
    }
}

/// (stack frames, weight) pairs.
fn stacks(p: &Profile) -> Vec<(Vec<String>, f64)> {
    let mut out = Vec::new();
    if let Some(s) = &p.samples {
        let mut per_stack = vec![0.0f64; s.stacks.len()];
        // Samples with no frame at all (a folded line ` 1`) are kept as an empty stack.
        let mut empty = 0.0;
        for sample in &s.samples {
            match sample.stack() {
                Some(st) => per_stack[st.idx()] += sample.weight,
                None => empty += sample.weight,
            }
        }
        if empty > 0.0 {
            out.push((Vec::new(), empty));
        }
        let labels: Vec<String> = (0..p.functions.len()).map(|i| label(p, FuncId(i as u32))).collect();
        for (i, w) in per_stack.iter().enumerate() {
            if *w > 0.0 {
                let frames = s.stacks.frames(profview_model::StackId(i as u32));
                out.push((frames.iter().map(|f| labels[f.idx()].clone()).collect(), *w));
            }
        }
    } else if let Some(ps) = &p.pstats {
        let labels: Vec<String> = (0..p.functions.len()).map(|i| label(p, FuncId(i as u32))).collect();
        let mut has_caller = vec![false; p.functions.len()];
        // Calls per callee over edges without their own time (the `profile` module's edges), to
        // split that callee's tottime in proportion.
        let mut untimed_calls = vec![0u64; p.functions.len()];
        for e in &ps.edges {
            has_caller[e.callee.idx()] = true;
            if e.tottime.is_none() {
                untimed_calls[e.callee.idx()] = untimed_calls[e.callee.idx()].saturating_add(e.ncalls);
            }
        }
        let tottime = |f: FuncId| ps.stats.get(f.idx()).copied().flatten().map(|s| s.tottime).unwrap_or(0.0);
        for e in &ps.edges {
            let secs = match e.tottime {
                Some(t) => t,
                None if untimed_calls[e.callee.idx()] > 0 => {
                    tottime(e.callee) * e.ncalls as f64 / untimed_calls[e.callee.idx()] as f64
                }
                None => 0.0,
            };
            let us = (secs * 1e6).round();
            if us > 0.0 {
                out.push((vec![labels[e.caller.idx()].clone(), labels[e.callee.idx()].clone()], us));
            }
        }
        for (i, called) in has_caller.iter().enumerate() {
            let us = (tottime(FuncId(i as u32)) * 1e6).round();
            if !called && us > 0.0 {
                out.push((vec![labels[i].clone()], us));
            }
        }
    }
    out
}

/// Folded stacks, sorted. Sampled profiles: every distinct stack with its total weight (threads
/// merged). pstats: see [`PSTATS_FOLDED_METHOD`].
pub fn folded(p: &Profile) -> String {
    let mut lines: Vec<String> = stacks(p)
        .into_iter()
        .map(|(frames, w)| {
            let mut line = frames.join(";");
            line.push(' ');
            weight_text(&mut line, w);
            line
        })
        .collect();
    lines.sort_unstable();
    let mut out = String::new();
    if p.pstats.is_some() && p.samples.is_none() {
        // Folded readers (inferno, speedscope, flamegraph.pl) skip lines that do not end in a count;
        // profview reads `#` lines as comments.
        let _ = writeln!(out, "# {PSTATS_FOLDED_METHOD}");
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// An SVG flame graph drawn by inferno. Every name is escaped by inferno's XML writer.
pub fn svg(p: &Profile, title: &str) -> Result<Vec<u8>, String> {
    let lines: Vec<String> = stacks(p)
        .into_iter()
        .filter_map(|(frames, w)| {
            let w = w.round();
            (w >= 1.0 && !frames.is_empty()).then(|| format!("{} {}", frames.join(";"), w as u64))
        })
        .collect();
    if lines.is_empty() {
        return Err("nothing to draw: the profile has no time or samples".into());
    }
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.chars().filter(|c| !c.is_control()).collect();
    if p.samples.is_none() {
        opts.subtitle = Some(PSTATS_SVG_SUBTITLE.to_owned());
        opts.count_name = "µs".to_owned();
    } else {
        opts.count_name = p.unit.as_str().to_owned();
    }
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), &mut out)
        .map_err(|e| format!("flame graph: {e}"))?;
    Ok(out)
}
