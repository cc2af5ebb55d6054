//! API routes, one module per group.

mod profiles;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Everything under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/profiles", get(profiles::list))
        .route("/profiles/{id}", get(profiles::summary))
        .route("/profiles/{id}/functions", get(profiles::functions))
        .fallback(|uri: axum::http::Uri| async move {
            crate::error::AppError::NotFound(format!("no API route {}", uri.path()))
        })
}
