//! `GET /api/profiles/{id}/graph`: the bubble call graph (plop): the top `n` functions by own cost
//! and the caller→callee edges among them.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use profview_api::{CallGraph, GraphEdge, GraphNode};
use profview_index::{FunctionQuery, Selection, SortKey, SortOrder};
use profview_model::FuncId;
use serde::Deserialize;

use crate::error::AppError;
use crate::routes::profiles::entry;
use crate::routes::query::{on_blocking_pool, query_err, selection, Q};
use crate::state::AppState;

/// Most functions one graph may hold; the page switches to a notice above this.
pub const MAX_GRAPH_NODES: usize = 2_000;

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
    Q(p): Q<GraphParams>,
) -> Result<Json<CallGraph>, AppError> {
    let e = entry(&state, &id).await?;
    let n = p.n.unwrap_or(150).clamp(1, MAX_GRAPH_NODES);
    let sel = selection(p.thread.as_deref(), p.tf.as_deref())?;
    on_blocking_pool(move || build(&e.index, &sel, n)).await.map(Json)
}

fn build(index: &profview_index::ProfileIndex, sel: &Selection, n: usize) -> Result<CallGraph, AppError> {
    let v = index.view(sel).map_err(query_err)?;
    let pstats = index.profile().pstats.is_some();
    let own_key = if pstats { SortKey::Tottime } else { SortKey::SelfWeight };
    let available = (0..v.function_count() as u32)
        .filter(|&i| index.stats_in(&v, FuncId(i)).is_some_and(|s| s.own() > 0.0))
        .count();
    let q = FunctionQuery { sort: Some(own_key), order: Some(SortOrder::Desc), offset: 0, limit: n, ..Default::default() };
    let (_, ids) = index.query_functions_in(&v, &q);
    let mut nodes = Vec::new();
    let mut pos = HashMap::new();
    for fid in ids {
        let Some(s) = index.stats_in(&v, fid) else { continue };
        if s.own() <= 0.0 {
            continue;
        }
        let Some(f) = index.function_in(&v, fid) else { continue };
        pos.insert(fid, nodes.len());
        nodes.push(GraphNode {
            id: fid.0,
            name: f.name.clone(),
            file: f.file.clone(),
            line: f.line,
            self_value: s.own(),
            total: s.inclusive(),
        });
    }
    let mut edges = Vec::new();
    for node in &nodes {
        for c in index.callees(&v, FuncId(node.id)).map_err(query_err)? {
            if c.func.0 == node.id || !pos.contains_key(&c.func) {
                continue;
            }
            let weight = c.cumtime.or(c.weight).unwrap_or(0.0);
            edges.push(GraphEdge { source: node.id, target: c.func.0, weight });
        }
    }
    Ok(CallGraph {
        unit: index.profile().unit.as_str().to_owned(),
        capped: available > nodes.len(),
        available: available as u64,
        nodes,
        edges,
    })
}
