//! `/api/profiles` and the function table.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use profview_api::{FunctionPage, FunctionRow, ProfileSummary};
use profview_index::{FunctionQuery, SortKey, SortOrder, TextFilter};
use serde::Deserialize;

use crate::error::AppError;
use crate::state::{AppState, Entry};
use crate::store::ProfileMeta;

/// Largest page the function table hands out at once.
pub const MAX_PAGE: usize = 10_000;

/// The summary of a stored profile, from its metadata row alone (no index is built).
pub(crate) fn summary_of_meta(m: &ProfileMeta) -> ProfileSummary {
    ProfileSummary {
        id: m.id.clone(),
        name: m.name.clone(),
        format: m.format.clone(),
        dialect: m.dialect.clone(),
        unit: m.unit.clone(),
        functions: m.functions,
        warnings: m.warnings.clone(),
        size: Some(m.size),
        created: Some(m.created_ms),
        total: m.total,
        calls: m.calls,
    }
}

pub(crate) fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no profile with id {id:?}"))
}

/// A profile with its index, loaded on the blocking pool: 404 only when the id is not stored;
/// a stored one that cannot be loaded is 500 (503 when the store did not answer).
pub(crate) async fn entry(state: &AppState, id: &str) -> Result<Arc<Entry>, AppError> {
    state.load(id).await?.ok_or_else(|| not_found(id))
}

/// `GET /api/profiles`: every stored profile, oldest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ProfileSummary>>, AppError> {
    let rows = state.list_meta().map_err(AppError::Internal)?;
    Ok(Json(rows.iter().map(summary_of_meta).collect()))
}

/// `GET /api/profiles/{id}`.
pub async fn summary(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ProfileSummary>, AppError> {
    let m = state.find_meta(&id)?.ok_or_else(|| not_found(&id))?;
    Ok(Json(summary_of_meta(&m)))
}

/// Query string of the function table.
#[derive(Debug, Default, Deserialize)]
pub struct FunctionsParams {
    sort: Option<String>,
    order: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    q: Option<String>,
    /// `1`/`true`: `q` is a regular expression.
    regex: Option<String>,
    /// One thread index (`all`/absent = all threads merged).
    thread: Option<String>,
    /// Transform string (`docs/transforms.md`).
    tf: Option<String>,
    /// `user`, `stdlib`, `site-packages` or `builtin`.
    package: Option<String>,
    /// A function id: the answer's `rank` says where it stands in this order (for scrolling to it).
    find: Option<u32>,
}

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "yes" | "on"))
}

/// Turns the query string into an index query.
pub(crate) fn function_query(p: &FunctionsParams) -> Result<FunctionQuery, AppError> {
    let sort = match p.sort.as_deref() {
        None | Some("") => None,
        Some(s) => Some(SortKey::parse(s).ok_or_else(|| AppError::BadRequest(format!("unknown sort column {s:?}")))?),
    };
    let order = match p.order.as_deref() {
        None | Some("") => None,
        Some("asc") => Some(SortOrder::Asc),
        Some("desc") => Some(SortOrder::Desc),
        Some(o) => return Err(AppError::BadRequest(format!("order must be asc or desc, not {o:?}"))),
    };
    let filter = match p.q.as_deref() {
        None | Some("") => None,
        Some(q) if truthy(&p.regex) => Some(TextFilter::Regex(
            regex::RegexBuilder::new(q)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| AppError::BadRequest(format!("bad regex: {e}")))?,
        )),
        Some(q) => Some(TextFilter::Substring(q.to_owned())),
    };
    let package = match p.package.as_deref() {
        None | Some("") => None,
        Some(s) => Some(profview_index::Package::parse(s).ok_or_else(|| {
            AppError::BadRequest(format!("package must be user, stdlib, site-packages or builtin, not {s:?}"))
        })?),
    };
    Ok(FunctionQuery {
        sort,
        order,
        filter,
        package,
        offset: p.offset.unwrap_or(0),
        limit: p.limit.unwrap_or(100).min(MAX_PAGE),
    })
}

/// `GET /api/profiles/{id}/functions?sort=&order=&offset=&limit=&q=&regex=&package=&thread=&tf=`.
pub async fn functions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    super::query::Q(params): super::query::Q<FunctionsParams>,
) -> Result<Json<FunctionPage>, AppError> {
    let e = entry(&state, &id).await?;
    let q = function_query(&params)?;
    let sel = super::query::selection(params.thread.as_deref(), params.tf.as_deref())?;
    super::query::on_blocking_pool(move || {
        let v = e.index.view(&sel).map_err(super::query::query_err)?;
        let (total, ids) = e.index.query_functions_in(&v, &q);
        let rows: Vec<FunctionRow> =
            ids.into_iter().filter_map(|fid| super::query::function_row(&e.index, &v, fid)).collect();
        let rank = params.find.and_then(|want| {
            let all = FunctionQuery { offset: 0, limit: usize::MAX, ..q.clone() };
            let (_, order) = e.index.query_functions_in(&v, &all);
            order.iter().position(|f| f.0 == want).map(|r| r as u64)
        });
        Ok(FunctionPage { total: total as u64, rows, rank })
    })
    .await
    .map(Json)
}
