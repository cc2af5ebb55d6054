//! The profview server: HTTP API over the index, plus the embedded web app.
//!
//! Layout:
//! - `router()` builds the whole app; tests drive it with `oneshot()`.
//! - `routes/` has one file per group of endpoints: extract → query the index → convert → JSON.
//! - `state` holds the registered profiles; `assets` the embedded app; `error` the one error type.
//!
//! This crate is the only one that knows HTTP or tokio.

pub mod assets;
pub mod compare_cli;
pub mod error;
pub mod export;
pub mod html_report;
pub mod report;
pub mod routes;
pub mod state;
pub mod store;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::AppState;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api", routes::api_router())
        .fallback(get(assets::serve_app))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::content_security_policy()),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}
