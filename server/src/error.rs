//! One error type for every handler, converted to a response in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use profview_api::ErrorBody;

use crate::state::LoadError;

/// What a handler can fail with. User errors keep their message; internal errors are logged and
/// answered with a generic message; a stored profile that cannot be loaded is logged and answered
/// with what is wrong with it (500, or 503 when the store did not answer).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 422: the body was read but is not a profile we can import.
    #[error("{0}")]
    Unprocessable(String),
    /// 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// 500 with its message: a stored profile that cannot be loaded (its file is missing,
    /// unreadable, corrupt or no longer imports).
    #[error("{0}")]
    Unreadable(String),
    /// 503: the store did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// 503 with `Retry-After`: too many imports are waiting.
    #[error("{0}")]
    Busy(String),
    /// 408: the request body did not arrive in time (`--body-timeout`).
    #[error("{0}")]
    Timeout(String),
}

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Unavailable(m) => AppError::Unavailable(m),
            LoadError::Unreadable(m) => AppError::Unreadable(m),
        }
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal(_) | AppError::Unreadable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) | AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = match &self {
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "something went wrong on the server".to_owned()
            }
            AppError::Unreadable(detail) | AppError::Unavailable(detail) => {
                tracing::error!(%detail, "cannot load a stored profile");
                detail.clone()
            }
            other => other.to_string(),
        };
        let busy = matches!(self, AppError::Busy(_));
        let mut resp = (status, Json(ErrorBody { error })).into_response();
        if busy {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        resp
    }
}
