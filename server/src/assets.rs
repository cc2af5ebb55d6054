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

/// A file of the embedded app (`index.html`, the hashed CSS/JS/WASM, `snippets/...`).
pub fn dist_file(path: &str) -> Option<Vec<u8>> {
    Dist::get(path).map(|f| f.data.into_owned())
}

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

/// The `Content-Security-Policy` of every response: scripts only from our origin plus the inline
/// bootstrap `<script type="module">` Trunk writes into `index.html` (allowed by its SHA-256,
/// computed from the embedded file at startup), WebAssembly compilation, and nothing else:
/// no `eval`, no plugins, no framing, no foreign connections. Inline `style` attributes stay
/// allowed (the views set widths and colours through them); they cannot run code.
pub fn content_security_policy() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        let html = Dist::get("index.html").map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
        let hashes: String = inline_scripts(&html).iter().map(|s| format!(" 'sha256-{}'", sha256_base64(s))).collect();
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        )
    })
}

/// The text of every `<script>` without a `src` attribute, exactly as the browser hashes it.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else { break };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script") else { break };
        if !tag.contains(" src=") && !tag.contains("\tsrc=") && !tag.contains("\nsrc=") {
            out.push(&body[..close]);
        }
        rest = &body[close..];
    }
    out
}

/// Base64 of the SHA-256 of `s`, the form CSP hash sources take.
pub fn sha256_base64(s: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()))
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
