//! `/api/profiles` and the function table.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use profview_api::{FunctionPage, Package, ProfileSummary, SortKey, SortOrder};
use serde::Deserialize;

use crate::error::AppError;
use crate::state::{AppState, Entry};
use crate::store::ProfileMeta;

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
    let st = state.clone();
    let rows = tokio::task::spawn_blocking(move || st.list_meta())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Unavailable(format!("listing the profiles failed: {e}")))?;
    Ok(Json(rows.iter().map(summary_of_meta).collect()))
}

/// `GET /api/profiles/{id}`.
pub async fn summary(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ProfileSummary>, AppError> {
    if let Some(m) = state.find_meta(&id)? {
        return Ok(Json(summary_of_meta(&m)));
    }
    // A collection's id names its summed profile.
    let c = state.collection(&id)?.ok_or_else(|| not_found(&id))?;
    let e = entry(&state, &id).await?;
    let created = Some(c.created_ms);
    Ok(Json(ProfileSummary { created, ..profview_answer::summary(&e.index, &id, &e.name, None, e.warnings.clone()) }))
}

/// Query string of the function table.
#[derive(Debug, Default, Deserialize)]
pub struct FunctionsParams {
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    sort: Option<SortKey>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    order: Option<SortOrder>,
    offset: Option<usize>,
    limit: Option<usize>,
    q: Option<String>,
    /// `1`/`true`: `q` is a regular expression.
    regex: Option<String>,
    /// One thread index (`all`/absent = all threads merged).
    thread: Option<String>,
    /// Transform string (`docs/transforms.md`).
    tf: Option<String>,
    /// Only functions of this package class.
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    package: Option<Package>,
    /// A function id: the answer's `rank` says where it stands in this order (for scrolling to it).
    find: Option<u32>,
}

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "yes" | "on"))
}

/// The query string as the answer's parameters (the vocabularies were checked by serde).
pub(crate) fn functions_params(p: &FunctionsParams) -> profview_answer::FunctionsParams {
    profview_answer::FunctionsParams {
        sort: p.sort,
        order: p.order,
        offset: p.offset.unwrap_or(0),
        limit: p.limit,
        q: p.q.clone(),
        regex: truthy(&p.regex),
        package: p.package,
        find: p.find,
        thread: p.thread.clone(),
        tf: p.tf.clone(),
        by: None,
    }
}

/// `GET /api/profiles/{id}/functions?sort=&order=&offset=&limit=&q=&regex=&package=&thread=&tf=`.
pub async fn functions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    by: super::query::ByParam,
    super::query::Q(params): super::query::Q<FunctionsParams>,
) -> Result<Json<FunctionPage>, AppError> {
    let e = entry(&state, &id).await?;
    let p = profview_answer::FunctionsParams { by: Some(by.0), ..functions_params(&params) };
    super::query::on_blocking_pool(move || profview_answer::functions(&e.index, &p).map_err(super::query::answer_err))
    .await
    .map(Json)
}
