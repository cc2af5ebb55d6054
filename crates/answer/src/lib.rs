//! Answers: index queries turned into the wire types of `profview-api`.
//!
//! The same conversions the server's route handlers make (`server/src/routes/`), as plain
//! functions over a [`ProfileIndex`] with typed parameters, so that the self-contained HTML
//! report can answer the app's requests inside the browser (the importer and the index build for
//! wasm32). No I/O, no HTTP: errors are [`AnswerError`] values, which the server would map to
//! 404/400 and the report shows as text.

use std::collections::HashMap;

use profview_api::{
    By, CallGraph, EdgeRow, FunctionLines, LineRow, Exactness as WireExactness, FunctionDetail, FunctionPage, FunctionRow, GraphEdge, GraphNode,
    ProfileSummary, ReachList, ReachRow, Sandwich, ThreadList, ThreadRow, TreeNode, TreeSlice,
};
use profview_index::{
    EdgeInfo, Exactness, FunctionQuery, Lod, Package, ProfileIndex, QueryError, Reach, Selection, Slice, SortKey,
    SortOrder, TextFilter, TreeMode, TreeQuery, View,
};
use profview_model::FuncId;

/// Default level of detail: children narrower than this fraction of the slice root are merged.
pub const DEFAULT_MIN_FRAC: f64 = 0.001;
/// Default node budget of a slice.
pub const DEFAULT_MAX_NODES: usize = 3000;
/// Largest node budget a client may ask for.
pub const MAX_MAX_NODES: usize = 50_000;
/// Most rows of an all-callers / all-callees answer.
pub const MAX_REACH_ROWS: usize = 100_000;
/// Largest page the function table hands out at once.
pub const MAX_PAGE: usize = 10_000;
/// Default number of callers / callees in a function detail.
pub const DEFAULT_EDGE_ROWS: usize = 1000;
/// Largest `limit` of a function detail.
pub const MAX_EDGE_ROWS: usize = 100_000;
/// Most functions one bubble graph may hold.
pub const MAX_GRAPH_NODES: usize = 2_000;

/// Why a question has no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// Something named does not exist (HTTP 404).
    NotFound(String),
    /// The question itself is malformed (HTTP 400).
    BadRequest(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(m) | Self::BadRequest(m) => f.write_str(m),
        }
    }
}

impl From<QueryError> for AnswerError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::NotFound(m) => Self::NotFound(m),
            QueryError::BadRequest(m) => Self::BadRequest(m),
        }
    }
}

/// Result of every answer.
pub type Answer<T> = Result<T, AnswerError>;

/// `thread` (`""`/`all` = all threads merged) and `tf` into a selection.
pub fn selection(thread: Option<&str>, tf: Option<&str>) -> Answer<Selection> {
    let thread = match thread.map(str::trim) {
        None | Some("" | "all") => None,
        Some(t) => Some(t.parse::<u32>().map_err(|_| {
            AnswerError::BadRequest(format!("thread must be a thread index or \"all\", not {t:?}"))
        })?),
    };
    Ok(Selection { thread, tf: tf.unwrap_or("").to_owned() })
}

/// A level of detail from its two optional parameters, checked like the server checks them.
pub fn lod(min_frac: Option<f64>, max_nodes: Option<usize>) -> Answer<Lod> {
    let min_frac = min_frac.unwrap_or(DEFAULT_MIN_FRAC);
    if !(min_frac.is_finite() && (0.0..=1.0).contains(&min_frac)) {
        return Err(AnswerError::BadRequest(format!("min_frac must be between 0 and 1, not {min_frac}")));
    }
    let max_nodes = max_nodes.unwrap_or(DEFAULT_MAX_NODES);
    if max_nodes == 0 || max_nodes > MAX_MAX_NODES {
        return Err(AnswerError::BadRequest(format!("max_nodes must be between 1 and {MAX_MAX_NODES}")));
    }
    Ok(Lod { min_frac, max_nodes })
}

/// The summary of a profile held in memory (what a stored profile's metadata row records).
pub fn summary(idx: &ProfileIndex, id: &str, name: &str, size: Option<u64>, warnings: Vec<String>) -> ProfileSummary {
    // `info`, not `profile`: a deferred index is summarised before its stacks are renumbered.
    let p = idx.info();
    let pstats = idx.pstats();
    ProfileSummary {
        id: id.to_owned(),
        name: name.to_owned(),
        format: p.format.as_str().to_owned(),
        dialect: p.dialect.as_str().to_owned(),
        unit: p.unit.as_str().to_owned(),
        functions: idx.function_stats().iter().filter(|s| s.listed).count() as u64,
        warnings,
        size,
        created: None,
        // Sampled first: a hybrid recording's percentages are of its sampled seconds.
        total: p.sample_total.or_else(|| pstats.map(|s| s.total_time)),
        calls: pstats.map(|s| s.total_calls),
    }
}

/// The wire row of a function under a view (`None` when absent from the view).
pub fn function_row(idx: &ProfileIndex, v: &View, fid: FuncId) -> Option<FunctionRow> {
    let f = idx.function_in(v, fid)?;
    let s = idx.stats_in(v, fid).unwrap_or_default();
    // A sampled profile's tottime/cumtime are its self/total weights; a hybrid recording's are
    // cProfile's only (a function cProfile did not see has none, rather than a sampled stand-in).
    let sampled_only = !idx.info().has_pstats;
    let (tottime, cumtime) =
        if sampled_only { (s.tottime.or(s.self_weight), s.cumtime.or(s.total_weight)) } else { (s.tottime, s.cumtime) };
    Some(FunctionRow {
        id: fid.0,
        name: f.name.clone(),
        file: f.file.clone(),
        line: f.line,
        ncalls: s.ncalls,
        primcalls: s.primcalls,
        tottime,
        cumtime,
        self_weight: s.self_weight,
        total_weight: s.total_weight,
        package: Some(idx.package_in(v, fid)),
    })
}

fn edge_row(idx: &ProfileIndex, v: &View, e: &EdgeInfo) -> Option<EdgeRow> {
    let f = idx.function_in(v, e.func)?;
    Some(EdgeRow {
        id: e.func.0,
        name: f.name.clone(),
        file: f.file.clone(),
        line: f.line,
        ncalls: e.ncalls,
        primcalls: e.primcalls,
        tottime: e.tottime,
        cumtime: e.cumtime,
        weight: e.weight,
        package: Some(idx.package_in(v, e.func)),
    })
}

fn reach_rows(idx: &ProfileIndex, v: &View, list: &[Reach]) -> ReachList {
    let rows = list
        .iter()
        .take(MAX_REACH_ROWS)
        .filter_map(|r| {
            let f = idx.function_in(v, r.func)?;
            Some(ReachRow {
                id: r.func.0,
                name: f.name.clone(),
                file: f.file.clone(),
                line: f.line,
                distance: r.distance,
                inclusive: idx.stats_in(v, r.func).map(|s| s.inclusive()),
            })
        })
        .collect();
    ReachList { rows }
}

/// Converts a slice to the wire shape.
pub fn tree_slice(idx: &ProfileIndex, v: &View, s: &Slice, mode: TreeMode) -> TreeSlice {
    let nodes = s
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let func = n.func.and_then(|f| idx.function_in(v, FuncId(f)).map(|x| (f, x)));
            let (name, file, line) = match (&func, n.parent) {
                (Some((_, f)), _) => (f.name.clone(), f.file.clone(), f.line),
                (None, None) => ("all".to_owned(), String::new(), 0),
                (None, Some(_)) => (format!("other ({})", n.merged), String::new(), 0),
            };
            TreeNode {
                id: i as u32,
                parent: n.parent,
                func: func.as_ref().map(|(f, _)| *f),
                name,
                file,
                line,
                path: n.path.clone(),
                depth: n.depth,
                total: n.total,
                self_value: n.self_value,
                calls: n.calls,
                exactness: match n.exactness {
                    Exactness::Exact => WireExactness::Exact,
                    Exactness::Estimated => WireExactness::Estimated,
                    Exactness::Cut => WireExactness::Cut,
                },
                total_min: n.total_min,
                total_max: n.total_max,
                truncated: n.truncated,
                merged: n.merged,
                package: func.as_ref().map(|(f, _)| idx.package_in(v, FuncId(*f))),
                func_ncalls: if v.is_pstats() {
                    None
                } else {
                    func.as_ref().and_then(|(f, _)| idx.stats_in(v, FuncId(*f)).and_then(|s| s.ncalls))
                },
            }
        })
        .collect();
    TreeSlice {
        mode,
        unit: idx.info().unit.as_str().to_owned(),
        grand_total: s.grand_total,
        estimated: s.estimated,
        nodes,
    }
}

/// Parameters of a function-table page (the query string of `GET .../functions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionsParams {
    /// Sort column (`None` = the profile's default order).
    pub sort: Option<SortKey>,
    /// Direction (`None` = the column's default).
    pub order: Option<SortOrder>,
    /// First row.
    pub offset: usize,
    /// Page size (at most [`MAX_PAGE`]; `None` = 100).
    pub limit: Option<usize>,
    /// Search text.
    pub q: Option<String>,
    /// `q` is a regular expression.
    pub regex: bool,
    /// Only functions of this package class.
    pub package: Option<Package>,
    /// A function id whose position in this order is wanted (`rank`).
    pub find: Option<u32>,
    /// Thread index (`None`/`all` = all threads merged).
    pub thread: Option<String>,
    /// Transform string.
    pub tf: Option<String>,
    /// Functions or lines (`None` = functions).
    pub by: Option<By>,
}

/// `by=`: `function` (also absent or empty) or `line`.
pub fn by(s: Option<&str>) -> Answer<By> {
    match s.map(str::trim) {
        None | Some("") => Ok(By::Function),
        Some(s) => s.parse().map_err(AnswerError::BadRequest),
    }
}

/// The index that answers in unit `by`: with `by=line`, the line-level index of a profile whose
/// functions are grouped from its lines (function ids are then those of its table).
pub fn pick(idx: &ProfileIndex, by: By) -> &ProfileIndex {
    match by {
        By::Line => idx.by_line(),
        By::Function => idx,
    }
}

/// A function's lines, by line: under the selection's thread (transforms are not applied:
/// their ids name the grouped functions). Not grouped: one row, the function's own.
pub fn function_lines(idx: &ProfileIndex, sel: &Selection, fid: u32) -> Answer<FunctionLines> {
    let rows = idx.function_lines(sel, FuncId(fid))?;
    Ok(FunctionLines { rows: rows.into_iter().map(|r| LineRow { line: r.line, self_value: r.self_value, total: r.total }).collect() })
}

/// Turns the table parameters into an index query.
pub fn function_query(p: &FunctionsParams) -> Answer<FunctionQuery> {
    let filter = match p.q.as_deref() {
        None | Some("") => None,
        Some(q) if p.regex => Some(TextFilter::Regex(
            regex::RegexBuilder::new(q)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| AnswerError::BadRequest(format!("bad regex: {e}")))?,
        )),
        Some(q) => Some(TextFilter::Substring(q.to_owned())),
    };
    Ok(FunctionQuery { sort: p.sort, order: p.order, filter, package: p.package, offset: p.offset, limit: p.limit.unwrap_or(100).min(MAX_PAGE) })
}

/// A page of the function table.
pub fn functions(idx: &ProfileIndex, p: &FunctionsParams) -> Answer<FunctionPage> {
    let current_lines = idx.groups_lines();
    let idx = pick(idx, p.by.unwrap_or(By::Function));
    let q = function_query(p)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    let v = idx.view(&sel)?;
    let (total, ids) = idx.query_functions_in(&v, &q);
    let rows: Vec<FunctionRow> = ids.into_iter().filter_map(|fid| function_row(idx, &v, fid)).collect();
    let rank = p.find.and_then(|want| {
        let all = FunctionQuery { offset: 0, limit: usize::MAX, ..q.clone() };
        let (_, order) = idx.query_functions_in(&v, &all);
        order.iter().position(|f| f.0 == want).map(|r| r as u64)
    });
    Ok(FunctionPage { total: total as u64, rows, rank, current_lines })
}

fn edge_cost(e: &EdgeInfo) -> f64 {
    e.cumtime.or(e.weight).unwrap_or(0.0).abs()
}

/// A function with its direct callers and callees, costliest first (cumtime, or sample
/// weight), at most `limit` (default [`DEFAULT_EDGE_ROWS`]) of each.
pub fn function_detail(idx: &ProfileIndex, sel: &Selection, fid: u32, limit: Option<usize>) -> Answer<FunctionDetail> {
    let fid = FuncId(fid);
    let limit = limit.unwrap_or(DEFAULT_EDGE_ROWS);
    if limit > MAX_EDGE_ROWS {
        return Err(AnswerError::BadRequest(format!("limit must be a whole number up to {MAX_EDGE_ROWS}, not {limit}")));
    }
    let v = idx.view(sel)?;
    let mut callers = idx.callers(&v, fid)?;
    let mut callees = idx.callees(&v, fid)?;
    let function =
        function_row(idx, &v, fid).ok_or_else(|| AnswerError::NotFound(format!("no function {} in this view", fid.0)))?;
    let (nc, ne) = (callers.len() as u64, callees.len() as u64);
    for list in [&mut callers, &mut callees] {
        list.sort_by(|a, b| edge_cost(b).total_cmp(&edge_cost(a)).then(a.func.cmp(&b.func)));
        list.truncate(limit);
    }
    Ok(FunctionDetail {
        function,
        callers: callers.iter().filter_map(|c| edge_row(idx, &v, c)).collect(),
        callees: callees.iter().filter_map(|c| edge_row(idx, &v, c)).collect(),
        callers_total: Some(nc),
        callees_total: Some(ne),
    })
}

/// Every function that reaches `fid` (`callers`) or that `fid` reaches, with the distance.
pub fn reach(idx: &ProfileIndex, sel: &Selection, fid: u32, callers: bool) -> Answer<ReachList> {
    let v = idx.view(sel)?;
    let fid = FuncId(fid);
    let list = if callers { idx.all_callers(&v, fid) } else { idx.all_callees(&v, fid) }?;
    Ok(reach_rows(idx, &v, &list))
}

/// Both halves of a sandwich: who calls `fid` (inverted) and what it calls (top-down).
pub fn sandwich(idx: &ProfileIndex, sel: &Selection, fid: u32, lod: &Lod) -> Answer<Sandwich> {
    let v = idx.view(sel)?;
    let (up, down) = idx.sandwich(&v, FuncId(fid), lod)?;
    Ok(Sandwich {
        callers: tree_slice(idx, &v, &up, TreeMode::Inverted),
        callees: tree_slice(idx, &v, &down, TreeMode::TopDown),
    })
}

/// `mode` (`top-down` when absent), the path `root` and a level of detail as a tree query.
pub fn tree_query(mode: Option<TreeMode>, root: Option<&str>, lod: Lod) -> Answer<TreeQuery> {
    let mode = mode.unwrap_or_default();
    let root = profview_index::parse_path(root.unwrap_or("").trim()).map_err(AnswerError::BadRequest)?;
    Ok(TreeQuery { mode, root, lod })
}

/// A tree slice.
pub fn tree(idx: &ProfileIndex, sel: &Selection, q: &TreeQuery) -> Answer<TreeSlice> {
    let v = idx.view(sel)?;
    let s = idx.tree(&v, q)?;
    Ok(tree_slice(idx, &v, &s, q.mode))
}

/// The threads of the profile.
pub fn threads(idx: &ProfileIndex) -> ThreadList {
    let threads =
        idx.threads().into_iter().map(|t| ThreadRow { index: t.index, id: t.id, name: t.name, total: t.total }).collect();
    ThreadList { threads }
}

/// The bubble call graph: the top `n` functions by own cost (clamped to 1..=[`MAX_GRAPH_NODES`])
/// and the caller→callee edges among them.
pub fn graph(idx: &ProfileIndex, sel: &Selection, n: usize) -> Answer<CallGraph> {
    let n = n.clamp(1, MAX_GRAPH_NODES);
    let v = idx.view(sel)?;
    let pstats = idx.info().has_pstats;
    let own_key = if pstats { SortKey::Tottime } else { SortKey::SelfWeight };
    let available =
        (0..v.function_count() as u32).filter(|&i| idx.stats_in(&v, FuncId(i)).is_some_and(|s| s.own() > 0.0)).count();
    let q = FunctionQuery { sort: Some(own_key), order: Some(SortOrder::Desc), offset: 0, limit: n, ..Default::default() };
    let (_, ids) = idx.query_functions_in(&v, &q);
    let mut nodes = Vec::new();
    let mut pos = HashMap::new();
    for fid in ids {
        let Some(s) = idx.stats_in(&v, fid) else { continue };
        if s.own() <= 0.0 {
            continue;
        }
        let Some(f) = idx.function_in(&v, fid) else { continue };
        pos.insert(fid, nodes.len());
        nodes.push(GraphNode {
            id: fid.0,
            name: f.name.clone(),
            file: f.file.clone(),
            line: f.line,
            self_value: s.own(),
            total: s.inclusive(),
            package: Some(idx.package_in(&v, fid)),
        });
    }
    let mut edges = Vec::new();
    for node in &nodes {
        for c in idx.callees(&v, FuncId(node.id))? {
            if c.func.0 == node.id || !pos.contains_key(&c.func) {
                continue;
            }
            let weight = c.cumtime.or(c.weight).unwrap_or(0.0);
            edges.push(GraphEdge { source: node.id, target: c.func.0, weight });
        }
    }
    Ok(CallGraph {
        unit: idx.info().unit.as_str().to_owned(),
        capped: available > nodes.len(),
        available: available as u64,
        nodes,
        edges,
    })
}
