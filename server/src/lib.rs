//! The profview server: HTTP API over the index, plus the embedded web app.
//!
//! Layout:
//! - `router()` builds the whole app; tests drive it with `oneshot()`.
//! - `routes/` has one file per group of endpoints: extract → query the index → convert → JSON.
//! - `state` holds the registered profiles; `assets` the embedded app; `error` the one error type.
//!
//! This crate is the only one that knows HTTP or tokio.

pub mod assets;
pub mod auth;
pub mod compare_cli;
pub mod error;
pub mod export;
pub mod html_report;
pub mod metrics;
pub mod objstore;
pub mod ops;
pub mod report;
pub mod routes;
pub mod source;
pub mod state;
pub mod store;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::AppState;

/// The whole HTTP application. Around every route, outermost first: a request id (taken from
/// `X-Request-Id` or made, and sent back), the access log and metrics, the headers, the write
/// token check, and the body deadline.
pub fn router(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    Router::new()
        .nest("/api", routes::api_router())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(get(assets::serve_app))
        .layer(from_fn_with_state(state.clone(), ops::body_deadline))
        .layer(from_fn_with_state(state.clone(), ops::require_token))
        .layer(axum::middleware::from_fn(ops::private_pages))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::content_security_policy()),
        ))
        .layer(from_fn_with_state(state.clone(), ops::observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
