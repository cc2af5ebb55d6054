//! API routes, one module per group.

mod graph;
pub(crate) mod profiles;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Everything under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/profiles", get(profiles::list))
        .route("/profiles/{id}", get(profiles::summary))
        .route("/profiles/{id}/functions", get(profiles::functions))
        .route("/profiles/{id}/graph", get(graph::graph))
        .fallback(|uri: axum::http::Uri| async move {
            crate::error::AppError::NotFound(format!("no API route {}", uri.path()))
        })
}
