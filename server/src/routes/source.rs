//! `GET /api/profiles/{id}/functions/{fid}/source`: a function's source, from under the
//! `--source-root` directories only (`crate::source`).

use axum::extract::{Path, State};
use axum::Json;
use profview_api::SourceView;
use serde::Deserialize;

use crate::error::AppError;
use crate::routes::profiles::entry;
use crate::routes::query::{on_blocking_pool, Q};
use crate::source::SourceError;
use crate::state::AppState;

/// Query of the source route: which lines (1-based, inclusive); by default from a few lines
/// above the function's line, 300 lines.
#[derive(Debug, Deserialize)]
pub struct SourceParams {
    from: Option<u32>,
    to: Option<u32>,
}

/// Lines shown above the function's line by default.
const ABOVE: u32 = 5;
/// Lines shown by default.
const DEFAULT_LINES: u32 = 300;

/// Handler.
pub async fn source(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Q(p): Q<SourceParams>,
) -> Result<Json<SourceView>, AppError> {
    if !state.source_roots().is_on() {
        return Err(AppError::NotFound(SourceError::Off.to_string()));
    }
    let fid: u32 = fid.parse().map_err(|_| AppError::BadRequest(format!("function id must be a number, not {fid:?}")))?;
    let e = entry(&state, &id).await?;
    let f = e
        .index
        .functions()
        .get(fid as usize)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("no function {fid} in profile {id}")))?;
    let line = u32::try_from(f.line).unwrap_or(0);
    let from = p.from.unwrap_or_else(|| line.saturating_sub(ABOVE).max(1));
    let to = p.to.unwrap_or_else(|| from.saturating_add(DEFAULT_LINES - 1));
    if to < from {
        return Err(AppError::BadRequest(format!("to ({to}) is before from ({from})")));
    }
    let roots = state.source_roots().clone();
    on_blocking_pool(move || {
        let t = roots.read(&f.file, from, to).map_err(|e| match e {
            SourceError::Unreadable(m) => AppError::Unprocessable(m),
            other => AppError::NotFound(other.to_string()),
        })?;
        Ok(Json(SourceView {
            file: f.file,
            path: t.path.display().to_string(),
            line: f.line,
            first_line: t.first_line,
            lines: t.lines,
            line_count: t.line_count,
        }))
    })
    .await
}
