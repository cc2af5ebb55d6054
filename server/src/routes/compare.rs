//! `/api/collections` and `/api/compare`: collate a stored set, diff two sides, and the union
//! tree of two sides for the diff flame graph.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use profview_api::{
    CollateReport, CollectionCreated, CollectionRequest, CollectionSummary, DiffReport, DiffTree, Metric, Normalize,
    SortOrder, TreeMode,
};
use profview_compare::{diff_tree, parse_root, CollateQuery, DiffQuery, TreeSide};
use serde::Deserialize;

use super::query::{lod, on_blocking_pool, Q};
use crate::error::AppError;
use crate::state::{AppState, Side};
use crate::store::CollectionMeta;

/// Largest page of a collated or diff table.
pub const MAX_ROWS: usize = 10_000;

fn summary(c: CollectionMeta) -> CollectionSummary {
    CollectionSummary {
        summed: c.id.clone(),
        id: c.id,
        name: c.name,
        profiles: c.profiles,
        kind: c.kind,
        unit: c.unit,
        created: Some(c.created_ms),
    }
}

/// `POST /api/collections` `{"name", "profiles": [ids]}`: `201 {"id", "url"}`.
pub async fn create(
    State(state): State<AppState>,
    Json(req): Json<CollectionRequest>,
) -> Result<(StatusCode, Json<CollectionCreated>), AppError> {
    let c = on_blocking_pool(move || state.create_collection_blocking(&req.name, &req.profiles)).await?;
    Ok((StatusCode::CREATED, Json(CollectionCreated { url: format!("/c/{}", c.id), id: c.id })))
}

/// `GET /api/collections`: every collection, oldest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CollectionSummary>>, AppError> {
    let rows = state.list_collections().map_err(AppError::Unavailable)?;
    Ok(Json(rows.into_iter().map(summary).collect()))
}

/// `GET /api/collections/{id}`.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<CollectionSummary>, AppError> {
    let c = state.collection(&id)?.ok_or_else(|| AppError::NotFound(format!("no collection with id {id:?}")))?;
    Ok(Json(summary(c)))
}

/// Query string of the collated table.
#[derive(Debug, Default, Deserialize)]
pub struct TableParams {
    sort: Option<String>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    metric: Option<Metric>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    order: Option<SortOrder>,
    q: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

fn page(limit: Option<usize>) -> Result<Option<usize>, AppError> {
    match limit {
        Some(n) if n > MAX_ROWS => Err(AppError::BadRequest(format!("limit must be at most {MAX_ROWS}"))),
        Some(n) => Ok(Some(n)),
        None => Ok(Some(100)),
    }
}

/// `GET /api/collections/{id}/table?sort=&metric=&order=&q=&offset=&limit=`: the collated
/// table, each row with its per-profile values of `metric` (for its distribution).
pub async fn table(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Q(p): Q<TableParams>,
) -> Result<Json<CollateReport>, AppError> {
    let c = state.collection(&id)?.ok_or_else(|| AppError::NotFound(format!("no collection with id {id:?}")))?;
    let limit = page(p.limit)?;
    on_blocking_pool(move || {
        let side = Side { ids: vec![c.id.clone()], members: c.profiles };
        let col = state.collation_blocking(&side)?;
        let q = CollateQuery { sort: p.sort, metric: p.metric, order: p.order, q: p.q, offset: p.offset.unwrap_or(0), limit, values: true };
        col.report(&q).map_err(|e| AppError::BadRequest(e.0))
    })
    .await
    .map(Json)
}

fn ids(s: &Option<String>, which: &str) -> Result<Vec<String>, AppError> {
    let ids: Vec<String> = s.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if ids.is_empty() {
        return Err(AppError::BadRequest(format!("{which}= needs one or more profile or collection ids, comma-separated")));
    }
    Ok(ids)
}

/// Query string of the diff table.
#[derive(Debug, Default, Deserialize)]
pub struct CompareParams {
    base: Option<String>,
    new: Option<String>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    normalize: Option<Normalize>,
    sort: Option<String>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    metric: Option<Metric>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    order: Option<SortOrder>,
    q: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `GET /api/compare?base=<ids>&new=<ids>&normalize=&sort=&metric=&order=&q=&offset=&limit=`.
pub async fn compare(State(state): State<AppState>, Q(p): Q<CompareParams>) -> Result<Json<DiffReport>, AppError> {
    let (b, n) = (ids(&p.base, "base")?, ids(&p.new, "new")?);
    let limit = page(p.limit)?;
    on_blocking_pool(move || {
        let (base, new) = (state.side_blocking(&b)?, state.side_blocking(&n)?);
        let d = state.diff_blocking(&base, &new, p.normalize.unwrap_or_default())?;
        let q = DiffQuery { sort: p.sort, metric: p.metric, order: p.order, q: p.q, offset: p.offset.unwrap_or(0), limit };
        let mut rep = d.report(&q).map_err(|e| AppError::BadRequest(e.0))?;
        rep.base.names = base.ids;
        rep.new.names = new.ids;
        Ok(rep)
    })
    .await
    .map(Json)
}

/// Query string of the diff tree.
#[derive(Debug, Default, Deserialize)]
pub struct CompareTreeParams {
    base: Option<String>,
    new: Option<String>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    normalize: Option<Normalize>,
    #[serde(default, deserialize_with = "profview_api::empty_as_none")]
    mode: Option<TreeMode>,
    root: Option<String>,
    min_frac: Option<String>,
    max_nodes: Option<String>,
}

/// `GET /api/compare/tree?base=&new=&normalize=&mode=&root=&min_frac=&max_nodes=`: a slice of
/// the union of both sides' call trees, every node with its base and new values.
pub async fn tree(State(state): State<AppState>, Q(p): Q<CompareTreeParams>) -> Result<Json<DiffTree>, AppError> {
    let (b, n) = (ids(&p.base, "base")?, ids(&p.new, "new")?);
    let root = parse_root(p.root.as_deref().unwrap_or("")).map_err(|e| AppError::BadRequest(e.0))?;
    let lod = lod(p.min_frac.as_deref(), p.max_nodes.as_deref())?;
    let normalize = p.normalize.unwrap_or_default();
    let mode = p.mode.unwrap_or_default();
    on_blocking_pool(move || {
        let (base, new) = (state.side_blocking(&b)?, state.side_blocking(&n)?);
        let d = state.diff_blocking(&base, &new, normalize)?;
        let (bi, ni) = (state.side_index_blocking(&base)?, state.side_index_blocking(&new)?);
        // Tree values are times (pstats) or weights (samples): the diff's divisor of that field.
        let k = profview_compare::slot(d.kind.primary());
        let bs = TreeSide { index: &bi, divisor: d.base_div[k] };
        let ns = TreeSide { index: &ni, divisor: d.new_div[k] };
        let sig = d.inclusive_significance();
        diff_tree(&d.union, &bs, &ns, mode, &root, lod, normalize, sig.as_deref()).map_err(|e| AppError::BadRequest(e.0))
    })
    .await
    .map(Json)
}
