//! Query routes over the index: function detail (direct callers/callees), transitive callers and
//! callees, sandwich, tree slices, threads, and the OpenAPI document.
//!
//! Every handler: extract (errors → `AppError` JSON 4xx) → run the query in `spawn_blocking` →
//! convert index results to the wire types of `profview-api` here.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use profview_api::{
    EdgeRow, Exactness as WireExactness, FunctionDetail, FunctionRow, ReachList, ReachRow, Sandwich, ThreadList,
    ThreadRow, TreeNode, TreeSlice,
};
use profview_index::{
    EdgeInfo, Exactness, Lod, Package, ProfileIndex, QueryError, Reach, Selection, Slice, TreeMode, TreeQuery, View,
};
use profview_model::FuncId;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::AppError;
use crate::routes::profiles::entry;
use crate::state::AppState;

/// Default level of detail: children narrower than this fraction of the slice root are merged.
pub const DEFAULT_MIN_FRAC: f64 = 0.001;
/// Default node budget of a slice.
pub const DEFAULT_MAX_NODES: usize = 3000;
/// Largest node budget a client may ask for.
pub const MAX_MAX_NODES: usize = 50_000;
/// Most rows of an all-callers / all-callees answer.
pub const MAX_REACH_ROWS: usize = 100_000;

/// `Query` whose rejection is an [`AppError`] (JSON 400) instead of axum's plain text.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Q(v)),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// Maps an index error to the HTTP error.
pub(crate) fn query_err(e: QueryError) -> AppError {
    match e {
        QueryError::NotFound(m) => AppError::NotFound(m),
        QueryError::BadRequest(m) => AppError::BadRequest(m),
    }
}

/// Runs CPU-heavy work off the async threads.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("query task failed: {e}")))?
}

/// `thread=` (`""`/`all` = all threads merged) and `tf=` into a selection.
pub(crate) fn selection(thread: Option<&str>, tf: Option<&str>) -> Result<Selection, AppError> {
    let thread = match thread.map(str::trim) {
        None | Some("" | "all") => None,
        Some(t) => Some(
            t.parse::<u32>()
                .map_err(|_| AppError::BadRequest(format!("thread must be a thread index or \"all\", not {t:?}")))?,
        ),
    };
    Ok(Selection { thread, tf: tf.unwrap_or("").to_owned() })
}

fn parse_fid(s: &str) -> Result<FuncId, AppError> {
    s.parse::<u32>().map(FuncId).map_err(|_| AppError::BadRequest(format!("function id must be a number, not {s:?}")))
}

fn lod(min_frac: Option<&str>, max_nodes: Option<&str>) -> Result<Lod, AppError> {
    let min_frac = match min_frac.map(str::trim) {
        None | Some("") => DEFAULT_MIN_FRAC,
        Some(s) => {
            let v: f64 = s.parse().map_err(|_| AppError::BadRequest(format!("min_frac must be a number, not {s:?}")))?;
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(AppError::BadRequest(format!("min_frac must be between 0 and 1, not {s}")));
            }
            v
        }
    };
    let max_nodes = match max_nodes.map(str::trim) {
        None | Some("") => DEFAULT_MAX_NODES,
        Some(s) => {
            let v: usize = s
                .parse()
                .map_err(|_| AppError::BadRequest(format!("max_nodes must be a whole number, not {s:?}")))?;
            if v == 0 || v > MAX_MAX_NODES {
                return Err(AppError::BadRequest(format!("max_nodes must be between 1 and {MAX_MAX_NODES}")));
            }
            v
        }
    };
    Ok(Lod { min_frac, max_nodes })
}

fn package_str(p: Package) -> Option<String> {
    Some(p.as_str().to_owned())
}

/// The wire row of a function under a view (`None` when absent from the view).
pub(crate) fn function_row(idx: &ProfileIndex, v: &View, fid: FuncId) -> Option<FunctionRow> {
    let f = idx.function_in(v, fid)?;
    let s = idx.stats_in(v, fid).unwrap_or_default();
    // A sampled profile's tottime/cumtime are its self/total weights; a hybrid recording's are
    // cProfile's only (a function cProfile did not see has none, rather than a sampled stand-in).
    let sampled_only = idx.profile().pstats.is_none();
    let (tottime, cumtime) = if sampled_only { (s.tottime.or(s.self_weight), s.cumtime.or(s.total_weight)) } else { (s.tottime, s.cumtime) };
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
        package: package_str(idx.package_in(v, fid)),
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
        package: package_str(idx.package_in(v, e.func)),
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
pub(crate) fn tree_slice(idx: &ProfileIndex, v: &View, s: &Slice, mode: TreeMode) -> TreeSlice {
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
                package: func.as_ref().and_then(|(f, _)| package_str(idx.package_in(v, FuncId(*f)))),
                func_ncalls: if v.is_pstats() { None } else { func.as_ref().and_then(|(f, _)| idx.stats_in(v, FuncId(*f)).and_then(|s| s.ncalls)) },
            }
        })
        .collect();
    TreeSlice {
        mode: mode.as_str().to_owned(),
        unit: idx.profile().unit.as_str().to_owned(),
        grand_total: s.grand_total,
        estimated: s.estimated,
        nodes,
    }
}

/// `thread` and `tf`.
#[derive(Debug, Default, Deserialize)]
pub struct ViewParams {
    thread: Option<String>,
    tf: Option<String>,
}

/// Default and largest number of callers / callees in a function detail.
pub const DEFAULT_EDGE_ROWS: usize = 1000;
/// Largest `limit` of a function detail.
pub const MAX_EDGE_ROWS: usize = 100_000;

/// `thread`, `tf` and `limit` of the function detail.
#[derive(Debug, Default, Deserialize)]
pub struct DetailParams {
    thread: Option<String>,
    tf: Option<String>,
    limit: Option<String>,
}

fn edge_cost(e: &EdgeInfo) -> f64 {
    e.cumtime.or(e.weight).unwrap_or(0.0).abs()
}

/// `GET /api/profiles/{id}/functions/{fid}?thread=&tf=&limit=`: callers and callees costliest
/// first (cumtime, or sample weight), at most `limit` (default 1000) of each.
pub async fn function_detail(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Q(p): Q<DetailParams>,
) -> Result<Json<FunctionDetail>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_EDGE_ROWS,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_EDGE_ROWS)
            .ok_or_else(|| AppError::BadRequest(format!("limit must be a whole number up to {MAX_EDGE_ROWS}, not {s:?}")))?,
    };
    on_blocking_pool(move || {
        let idx = &e.index;
        let v = idx.view(&sel).map_err(query_err)?;
        let mut callers = idx.callers(&v, fid).map_err(query_err)?;
        let mut callees = idx.callees(&v, fid).map_err(query_err)?;
        let function = function_row(idx, &v, fid)
            .ok_or_else(|| AppError::NotFound(format!("no function {} in this view", fid.0)))?;
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
    })
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callers?thread=&tf=`.
pub async fn all_callers(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Q(p): Q<ViewParams>,
) -> Result<Json<ReachList>, AppError> {
    reach(state, id, fid, p, true).await
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callees?thread=&tf=`.
pub async fn all_callees(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Q(p): Q<ViewParams>,
) -> Result<Json<ReachList>, AppError> {
    reach(state, id, fid, p, false).await
}

async fn reach(state: AppState, id: String, fid: String, p: ViewParams, callers: bool) -> Result<Json<ReachList>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    on_blocking_pool(move || {
        let idx = &e.index;
        let v = idx.view(&sel).map_err(query_err)?;
        let list = if callers { idx.all_callers(&v, fid) } else { idx.all_callees(&v, fid) }.map_err(query_err)?;
        Ok(reach_rows(idx, &v, &list))
    })
    .await
    .map(Json)
}

/// Query string of the tree and sandwich routes.
#[derive(Debug, Default, Deserialize)]
pub struct TreeParams {
    mode: Option<String>,
    root: Option<String>,
    min_frac: Option<String>,
    max_nodes: Option<String>,
    thread: Option<String>,
    tf: Option<String>,
}

/// `GET /api/profiles/{id}/functions/{fid}/sandwich?min_frac=&max_nodes=&thread=&tf=`.
pub async fn sandwich(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Q(p): Q<TreeParams>,
) -> Result<Json<Sandwich>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    let lod = lod(p.min_frac.as_deref(), p.max_nodes.as_deref())?;
    on_blocking_pool(move || {
        let idx = &e.index;
        let v = idx.view(&sel).map_err(query_err)?;
        let (up, down) = idx.sandwich(&v, fid, &lod).map_err(query_err)?;
        Ok(Sandwich {
            callers: tree_slice(idx, &v, &up, TreeMode::Inverted),
            callees: tree_slice(idx, &v, &down, TreeMode::TopDown),
        })
    })
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/tree?mode=top-down|inverted&root=<path>&min_frac=&max_nodes=&thread=&tf=`.
pub async fn tree(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Q(p): Q<TreeParams>,
) -> Result<Json<TreeSlice>, AppError> {
    let e = entry(&state, &id).await?;
    let mode = match p.mode.as_deref().map(str::trim) {
        None | Some("") => TreeMode::TopDown,
        Some(m) => TreeMode::parse(m)
            .ok_or_else(|| AppError::BadRequest(format!("mode must be top-down or inverted, not {m:?}")))?,
    };
    let root = profview_index::parse_path(p.root.as_deref().unwrap_or("").trim()).map_err(AppError::BadRequest)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    let lod = lod(p.min_frac.as_deref(), p.max_nodes.as_deref())?;
    on_blocking_pool(move || {
        let idx = &e.index;
        let v = idx.view(&sel).map_err(query_err)?;
        let s = idx.tree(&v, &TreeQuery { mode, root, lod }).map_err(query_err)?;
        Ok(tree_slice(idx, &v, &s, mode))
    })
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/threads`.
pub async fn threads(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ThreadList>, AppError> {
    let e = entry(&state, &id).await?;
    let threads = e
        .index
        .threads()
        .into_iter()
        .map(|t| ThreadRow { index: t.index, id: t.id, name: t.name, total: t.total })
        .collect();
    Ok(Json(ThreadList { threads }))
}

/// The OpenAPI 3 document of the whole API (hand-written, kept in sync by a test that checks
/// every registered route appears).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI_JSON).into_response()
}
