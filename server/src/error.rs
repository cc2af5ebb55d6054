//! One error type for every handler, converted to a response in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use profview_api::ErrorBody;

/// What a handler can fail with. User errors keep their message; internal errors are logged and
/// answered with a generic message.
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
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            other => other.to_string(),
        };
        (status, Json(ErrorBody { error })).into_response()
    }
}
