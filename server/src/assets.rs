//! The embedded web app (Trunk's `dist/`), served with an SPA fallback.
//!
//! In release builds the files are inside the binary; in debug builds rust-embed reads `dist/`
//! at run time.

use axum::body::Body;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Dist;

/// Serves a file of the app, or `index.html` for any app route (`/`, `/p/<id>`, ...).
pub async fn serve_app(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") || path == "api" {
        return AppError::NotFound(format!("no API route {}", uri.path())).into_response();
    }
    if !path.is_empty() && !path.contains("..") {
        if let Some(file) = Dist::get(path) {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            // Trunk names assets by content hash, so they can be cached for long.
            let cache = if path.ends_with(".html") { "no-cache" } else { "public, max-age=31536000, immutable" };
            return Response::builder()
                .header(header::CONTENT_TYPE, mime.as_ref())
                .header(header::CACHE_CONTROL, cache)
                .body(Body::from(file.data.into_owned()))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    }
    index_html()
}

fn index_html() -> Response {
    match Dist::get("index.html") {
        Some(file) => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from(file.data.into_owned()))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "profview was built without its web app: run `trunk build --release` first, then rebuild the server.",
        )
            .into_response(),
    }
}
