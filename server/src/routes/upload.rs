//! Upload, rename, delete and export of stored profiles.
//!
//! - `POST /api/profiles?name=<file name>`: the file as the raw body (or `multipart/form-data`,
//!   first file field). Streamed to a staged file while hashed, never held whole in memory;
//!   over `--max-upload-bytes` → 413. Import + index run on the blocking pool; a file that does
//!   not import → 422 (413 when its gunzipped size is over the cap) and nothing is stored.
//!   `201 {"id", "url"}`.
//! - `PATCH /api/profiles/{id}` `{"name"}` → 200 with the summary.
//! - `DELETE /api/profiles/{id}` → 204.
//! - `GET /api/profiles/{id}/export?format=svg|folded|json|pstats|html` → the file, as an attachment.

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use profview_api::{ProfileSummary, RenameRequest, UploadResponse};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::profiles::summary_of_meta;
use crate::error::AppError;
use crate::export::ExportFormat;
use crate::state::{AppState, IngestError, Staged, StagingGuard};

/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A display name from untrusted input: control characters dropped, trimmed, at most
/// [`MAX_NAME_CHARS`]; `base_only` keeps only the last path component (uploads send file names,
/// and a browser may send a path).
pub fn clean_name(raw: &str, base_only: bool) -> String {
    let base = if base_only { raw.rsplit(['/', '\\']).next().unwrap_or(raw) } else { raw };
    let s: String = base.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    s.trim().to_owned()
}

/// Query string of an upload.
#[derive(Debug, Default, Deserialize)]
pub struct UploadParams {
    /// The file's name (used for the display name and, when the content cannot tell, the format).
    name: Option<String>,
}

/// Writes the body to the staged file, hashing and counting as it goes.
struct Sink {
    file: tokio::fs::File,
    hasher: blake3::Hasher,
    size: u64,
    max: u64,
}

fn too_large(max: u64) -> AppError {
    AppError::TooLarge(format!("upload is larger than the limit of {max} bytes (--max-upload-bytes)"))
}

impl Sink {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(too_large(self.max));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(|e| AppError::Internal(format!("staging upload: {e}")))
    }
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn body_error(e: impl std::error::Error + 'static) -> AppError {
    if crate::ops::is_deadline(&e) {
        return AppError::Timeout(format!("reading the upload failed: {e}"));
    }
    AppError::BadRequest(format!("reading the upload failed: {e}"))
}

/// `POST /api/profiles?name=`.
pub async fn upload(
    State(state): State<AppState>,
    Query(params): Query<UploadParams>,
    req: Request,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    let max = state.max_upload_bytes();
    if content_length(req.headers()).is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let path = state.staging_path();
    // From here on, any early return (or the client going away) removes the staged file.
    let guard = StagingGuard(path.clone());
    let file = tokio::fs::File::create(&path).await.map_err(|e| AppError::Internal(format!("staging upload: {e}")))?;
    let mut sink = Sink { file, hasher: blake3::Hasher::new(), size: 0, max };
    let mut field_name = None;
    if multipart {
        let mut form = Multipart::from_request(req, &state).await.map_err(body_error)?;
        let mut found = false;
        while let Some(mut field) = form.next_field().await.map_err(body_error)? {
            if field.file_name().is_none() && field.name() != Some("file") {
                continue;
            }
            field_name = field.file_name().map(str::to_owned);
            while let Some(chunk) = field.chunk().await.map_err(body_error)? {
                sink.write(&chunk).await?;
            }
            found = true;
            break;
        }
        if !found {
            return Err(AppError::BadRequest("the multipart body has no file field".into()));
        }
    } else {
        let mut body: Body = req.into_body();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(body_error)?.into_data() {
                sink.write(&data).await?;
            }
        }
    }
    sink.file.flush().await.map_err(|e| AppError::Internal(format!("staging upload: {e}")))?;
    drop(sink.file);
    let raw_name = params.name.or(field_name).unwrap_or_default();
    let mut name = clean_name(&raw_name, true);
    if name.is_empty() {
        name = "upload".into();
    }
    let m = state.metrics();
    m.uploads.inc();
    m.upload_bytes.inc_by(sink.size);
    let staged = Staged { path, hash: sink.hasher.finalize(), size: sink.size };
    // A bounded number of imports at once; a bounded queue waits for a slot; beyond it, 503.
    let Some(slot) = state.import_slot().await else {
        return Err(AppError::Busy("too many uploads are being imported; try again shortly".into()));
    };
    m.imports_in_flight.inc();
    let started = std::time::Instant::now();
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = st.ingest_staged(&name, &staged);
        drop(guard);
        drop(slot);
        r
    })
    .await
    .map_err(|e| AppError::Internal(format!("import task: {e}")));
    m.imports_in_flight.dec();
    m.import_seconds.observe(started.elapsed().as_secs_f64());
    let outcome = match &result {
        Ok(Ok(_)) => "stored",
        Ok(Err(IngestError::Import { .. })) => "refused",
        _ => "failed",
    };
    m.imports.get_or_create(&crate::metrics::ResultLabels { result: outcome }).inc();
    match result? {
        Ok(entry) => {
            let url = format!("/p/{}", entry.id);
            Ok((StatusCode::CREATED, Json(UploadResponse { id: entry.id.clone(), url })))
        }
        Err(e) if e.is_too_large() => Err(AppError::TooLarge(e.to_string())),
        Err(e @ IngestError::Import { .. }) => Err(AppError::Unprocessable(e.to_string())),
        Err(IngestError::Storage(e)) => Err(AppError::Unavailable(format!("storing the profile failed: {e}"))),
    }
}

/// A store that failed to write: 503 with what it said (worth retrying).
fn store_failed(e: String) -> AppError {
    AppError::Unavailable(format!("the profile store failed: {e}"))
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no profile with id {id:?}"))
}

/// `PATCH /api/profiles/{id}` with `{"name": "..."}`.
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RenameRequest>, JsonRejection>,
) -> Result<Json<ProfileSummary>, AppError> {
    let Json(req) = body.map_err(|e| AppError::BadRequest(format!("expected {{\"name\": \"...\"}}: {}", e.body_text())))?;
    let name = clean_name(&req.name, false);
    if name.is_empty() {
        return Err(AppError::BadRequest("the name must not be empty".into()));
    }
    let st = state.clone();
    let id2 = id.clone();
    let row = tokio::task::spawn_blocking(move || st.rename(&id2, &name))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(store_failed)?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(summary_of_meta(&row)))
}

/// `DELETE /api/profiles/{id}`.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let st = state.clone();
    let id2 = id.clone();
    let existed = tokio::task::spawn_blocking(move || st.delete(&id2))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(store_failed)?;
    if existed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

/// Query string of an export.
#[derive(Debug, Default, Deserialize)]
pub struct ExportParams {
    format: Option<String>,
}

/// A file name safe inside a `Content-Disposition` header.
fn download_name(name: &str, ext: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(100)
        .collect();
    let stem = stem.trim_matches('.');
    format!("{}.{ext}", if stem.is_empty() { "profile" } else { stem })
}

/// `GET /api/profiles/{id}/export?format=svg|folded|json|pstats|html`.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    by: super::query::ByParam,
    Query(params): Query<ExportParams>,
) -> Result<Response, AppError> {
    let fmt_name = params.format.as_deref().unwrap_or("svg");
    let format = ExportFormat::parse(fmt_name)
        .ok_or_else(|| AppError::BadRequest(format!("format must be svg, folded, json, pstats or html, not {fmt_name:?}")))?;
    let entry = super::profiles::entry(&state, &id).await?;
    let title = entry.name.clone();
    let body = tokio::task::spawn_blocking(move || {
        if format == ExportFormat::Html {
            // The report carries the stored file itself and imports it in the browser.
            let bytes = state
                .stored_file_blocking(&entry.id)
                .map_err(AppError::from)?
                .ok_or_else(|| super::profiles::not_found(&entry.id))?;
            return crate::html_report::build(&bytes, &entry.name).map_err(AppError::Unprocessable);
        }
        crate::export::export(by.pick(&entry.index), &entry.name, format).map_err(AppError::Unprocessable)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let disposition = format!("attachment; filename=\"{}\"", download_name(&title, format.extension()));
    Ok((
        [(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\me\\run.prof", true), "run.prof");
        assert_eq!(clean_name("../../etc/passwd", true), "passwd");
        assert_eq!(clean_name("a\u{0}b\nc.prof ", false), "abc.prof");
        assert_eq!(clean_name(&"x".repeat(1000), false).len(), MAX_NAME_CHARS);
        assert_eq!(download_name("<script>\".prof", "svg"), "_script__.prof.svg");
        assert_eq!(download_name("..", "json"), "profile.json");
    }
}
