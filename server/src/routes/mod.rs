//! API routes, one module per group.

mod compare;
mod graph;
pub(crate) mod profiles;
pub(crate) mod query;
mod source;
pub mod upload;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Everything under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route(
            "/profiles",
            get(profiles::list).post(upload::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/profiles/{id}", get(profiles::summary).patch(upload::rename).delete(upload::delete))
        .route("/profiles/{id}/export", get(upload::export))
        .route("/profiles/{id}/functions", get(profiles::functions))
        .route("/profiles/{id}/graph", get(graph::graph))
        .route("/profiles/{id}/functions/{fid}", get(query::function_detail))
        .route("/profiles/{id}/functions/{fid}/all-callers", get(query::all_callers))
        .route("/profiles/{id}/functions/{fid}/all-callees", get(query::all_callees))
        .route("/profiles/{id}/functions/{fid}/sandwich", get(query::sandwich))
        .route("/profiles/{id}/functions/{fid}/lines", get(query::function_lines))
        .route("/profiles/{id}/functions/{fid}/source", get(source::source))
        .route("/profiles/{id}/tree", get(query::tree))
        .route("/profiles/{id}/threads", get(query::threads))
        .route("/collections", get(compare::list).post(compare::create))
        .route("/collections/{id}", get(compare::get))
        .route("/collections/{id}/table", get(compare::table))
        .route("/compare", get(compare::compare))
        .route("/compare/tree", get(compare::tree))
        .route("/openapi.json", get(query::openapi))
        .fallback(|uri: axum::http::Uri| async move {
            crate::error::AppError::NotFound(format!("no API route {}", uri.path()))
        })
}
