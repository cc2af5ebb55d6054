//! What a shared server needs around the API: health and readiness, metrics, request logs with
//! request ids, write tokens, a time limit for receiving a body, and headers that keep profile
//! pages out of referrers and search engines.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body::Frame;
use profview_api::ErrorBody;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store answers (503 with the reason otherwise).
pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::task::spawn_blocking(move || state.ready()).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], state.metrics().render()).into_response()
}

fn is_write(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// With `--token-file`: a write without a valid bearer token is answered 401 with
/// `WWW-Authenticate: Bearer`.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(tokens) = state.tokens().filter(|_| is_write(req.method())) {
        let auth = req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        if !tokens.allows(auth) {
            let error = if auth.is_some() {
                "the token was not accepted"
            } else {
                "writing needs a token: send Authorization: Bearer <token>"
            };
            let mut resp = (StatusCode::UNAUTHORIZED, Json(ErrorBody { error: error.into() })).into_response();
            let challenge = if auth.is_some() { "Bearer error=\"invalid_token\"" } else { "Bearer" };
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            return resp;
        }
    }
    next.run(req).await
}

/// Counts and times every request by its route pattern, and logs it (with the request id set by
/// the request-id layer) as one `profview::access` event.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("app", MatchedPath::as_str).to_owned();
    let method = req.method().clone();
    let uri = req.uri().path().to_owned();
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let resp = next.run(req).await;
    let took = start.elapsed();
    let status = resp.status().as_u16();
    state.metrics().request(&route, method.as_str(), status, took);
    tracing::info!(
        target: "profview::access",
        request_id = %id,
        method = %method,
        path = %uri,
        route = %route,
        status,
        ms = took.as_secs_f64() * 1e3,
        "request"
    );
    resp
}

/// The body of a request took longer than `--body-timeout` to arrive.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0:?} (--body-timeout)")]
pub struct BodyDeadline(pub Duration);

/// A request body that fails once its deadline passes (a slow client cannot hold an upload slot,
/// a staged file and a connection for ever, however it trickles its bytes).
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(r) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadline(self.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the `--body-timeout` deadline on every request body.
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.body_timeout();
    let (parts, body) = req.into_parts();
    let body = Body::new(DeadlineBody { inner: body, sleep: Box::pin(tokio::time::sleep(limit)), limit });
    next.run(Request::from_parts(parts, body)).await
}

/// Is `e` (a body error) the deadline of [`body_deadline`]?
pub fn is_deadline(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<BodyDeadline>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// `Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex` on every response: a profile's
/// link is its only secret, so no page leaks it to another site or gets it indexed.
pub async fn private_pages(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    resp
}
