//! `GET /api/profiles/{id}/graph`: the bubble call graph (plop): the top `n` functions by own cost
//! and the caller→callee edges among them (built by `profview-answer`).

use axum::extract::{Path, State};
use axum::Json;
use profview_api::CallGraph;
use serde::Deserialize;

use crate::error::AppError;
use crate::routes::profiles::entry;
use crate::routes::query::{answer_err, on_blocking_pool, selection, Q};
use crate::state::AppState;

/// Most functions one graph may hold; the page switches to a notice above this.
pub const MAX_GRAPH_NODES: usize = profview_answer::MAX_GRAPH_NODES;

/// Query string.
#[derive(Debug, Default, Deserialize)]
pub struct GraphParams {
    n: Option<usize>,
    thread: Option<String>,
    tf: Option<String>,
}

/// Handler.
pub async fn graph(
    State(state): State<AppState>,
    Path(id): Path<String>,
    by: super::query::ByParam,
    Q(p): Q<GraphParams>,
) -> Result<Json<CallGraph>, AppError> {
    let e = entry(&state, &id).await?;
    let n = p.n.unwrap_or(150).clamp(1, MAX_GRAPH_NODES);
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    on_blocking_pool(move || profview_answer::graph(by.pick(&e.index), &sel, n).map_err(answer_err)).await.map(Json)
}
