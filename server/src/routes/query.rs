//! Query routes over the index: function detail (direct callers/callees), transitive callers and
//! callees, sandwich, tree slices, threads, and the OpenAPI document.
//!
//! Every handler: extract (errors → `AppError` JSON 4xx) → run the query in `spawn_blocking` →
//! the wire types of `profview-api`, converted by `profview-answer` (the same code the HTML
//! report runs in the browser).

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use profview_answer::AnswerError;
use profview_api::{By, FunctionDetail, FunctionLines, ReachList, Sandwich, ThreadList, TreeMode, TreeSlice};
use profview_index::{Lod, ProfileIndex, Selection};
use profview_model::FuncId;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::AppError;
use crate::routes::profiles::entry;
use crate::state::AppState;

pub use profview_answer::{DEFAULT_MAX_NODES, DEFAULT_MIN_FRAC, MAX_MAX_NODES};

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

/// `by=` (`function`, the default, or `line`), read from the query string beside each route's
/// own parameters: every profile view route takes it. Anything else is a JSON 400.
#[derive(Clone, Copy, Debug)]
pub struct ByParam(pub By);

impl ByParam {
    /// The index that answers in this unit.
    pub fn pick(self, idx: &ProfileIndex) -> &ProfileIndex {
        profview_answer::pick(idx, self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ByParam {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        #[derive(Deserialize)]
        struct P {
            by: Option<String>,
        }
        let Q(p) = Q::<P>::from_request_parts(parts, state).await?;
        profview_answer::by(p.by.as_deref()).map(ByParam).map_err(answer_err)
    }
}

/// Maps an answer error to the HTTP error.
pub(crate) fn answer_err(e: AnswerError) -> AppError {
    match e {
        AnswerError::NotFound(m) => AppError::NotFound(m),
        AnswerError::BadRequest(m) => AppError::BadRequest(m),
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

pub(crate) fn lod(min_frac: Option<&str>, max_nodes: Option<&str>) -> Result<Lod, AppError> {
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

/// `thread` and `tf`.
#[derive(Debug, Default, Deserialize)]
pub struct ViewParams {
    thread: Option<String>,
    tf: Option<String>,
}

/// Default and largest number of callers / callees in a function detail.
pub const DEFAULT_EDGE_ROWS: usize = profview_answer::DEFAULT_EDGE_ROWS;
/// Largest `limit` of a function detail.
pub const MAX_EDGE_ROWS: usize = profview_answer::MAX_EDGE_ROWS;

/// `thread`, `tf` and `limit` of the function detail.
#[derive(Debug, Default, Deserialize)]
pub struct DetailParams {
    thread: Option<String>,
    tf: Option<String>,
    limit: Option<String>,
}

/// `GET /api/profiles/{id}/functions/{fid}?thread=&tf=&limit=`: callers and callees costliest
/// first (cumtime, or sample weight), at most `limit` (default 1000) of each.
pub async fn function_detail(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    by: ByParam,
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
        profview_answer::function_detail(by.pick(&e.index), &sel, fid.0, Some(limit)).map_err(answer_err)
    })
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callers?thread=&tf=`.
pub async fn all_callers(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    by: ByParam,
    Q(p): Q<ViewParams>,
) -> Result<Json<ReachList>, AppError> {
    reach(state, id, fid, p, by, true).await
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callees?thread=&tf=`.
pub async fn all_callees(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    by: ByParam,
    Q(p): Q<ViewParams>,
) -> Result<Json<ReachList>, AppError> {
    reach(state, id, fid, p, by, false).await
}

async fn reach(state: AppState, id: String, fid: String, p: ViewParams, by: ByParam, callers: bool) -> Result<Json<ReachList>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    on_blocking_pool(move || profview_answer::reach(by.pick(&e.index), &sel, fid.0, callers).map_err(answer_err))
    .await
    .map(Json)
}

/// Query string of the tree and sandwich routes.
#[derive(Debug, Default, Deserialize)]
pub struct TreeParams {
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    mode: Option<TreeMode>,
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
    by: ByParam,
    Q(p): Q<TreeParams>,
) -> Result<Json<Sandwich>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    let lod = lod(p.min_frac.as_deref(), p.max_nodes.as_deref())?;
    on_blocking_pool(move || profview_answer::sandwich(by.pick(&e.index), &sel, fid.0, &lod).map_err(answer_err))
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/tree?mode=top-down|inverted&root=<path>&min_frac=&max_nodes=&thread=&tf=`.
pub async fn tree(
    State(state): State<AppState>,
    Path(id): Path<String>,
    by: ByParam,
    Q(p): Q<TreeParams>,
) -> Result<Json<TreeSlice>, AppError> {
    let e = entry(&state, &id).await?;
    // Checked in this order: mode, root, thread/tf, level of detail.
    let unchecked = Lod { min_frac: DEFAULT_MIN_FRAC, max_nodes: DEFAULT_MAX_NODES };
    let mut q = profview_answer::tree_query(p.mode, p.root.as_deref(), unchecked).map_err(answer_err)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    q.lod = lod(p.min_frac.as_deref(), p.max_nodes.as_deref())?;
    on_blocking_pool(move || profview_answer::tree(by.pick(&e.index), &sel, &q).map_err(answer_err))
    .await
    .map(Json)
}

/// `GET /api/profiles/{id}/threads`.
pub async fn threads(State(state): State<AppState>, Path(id): Path<String>, by: ByParam) -> Result<Json<ThreadList>, AppError> {
    let e = entry(&state, &id).await?;
    // The same threads and totals either way; the line-level index is not built for them.
    let _ = by;
    Ok(Json(profview_answer::threads(&e.index)))
}

/// `GET /api/profiles/{id}/functions/{fid}/lines?thread=&by=`: the function's lines with their
/// self and total, by line (one row, its own, when the profile's lines are not current).
pub async fn function_lines(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    by: ByParam,
    Q(p): Q<ViewParams>,
) -> Result<Json<FunctionLines>, AppError> {
    let e = entry(&state, &id).await?;
    let fid = parse_fid(&fid)?;
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    on_blocking_pool(move || profview_answer::function_lines(by.pick(&e.index), &sel, fid.0).map_err(answer_err))
        .await
        .map(Json)
}

/// The OpenAPI 3 document of the whole API (hand-written, kept in sync by a test that checks
/// every registered route appears).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI_JSON).into_response()
}
