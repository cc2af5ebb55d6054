//! The API client: the only place the app makes HTTP requests.

use gloo_net::http::Request;
use profview_api::{ErrorBody, FunctionPage, ProfileSummary};
use serde::de::DeserializeOwned;

/// A failed request, with a message fit for the page.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError(pub String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let resp = Request::get(url).send().await.map_err(|e| ApiError(format!("request failed: {e}")))?;
    if !resp.ok() {
        let status = resp.status();
        let msg = match resp.json::<ErrorBody>().await {
            Ok(b) => b.error,
            Err(_) => resp.status_text(),
        };
        return Err(ApiError(format!("{msg} (HTTP {status})")));
    }
    resp.json::<T>().await.map_err(|e| ApiError(format!("bad answer from the server: {e}")))
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).as_string().unwrap_or_default()
}

/// `GET /api/profiles`.
pub async fn list_profiles() -> Result<Vec<ProfileSummary>, ApiError> {
    get_json("/api/profiles").await
}

/// `GET /api/profiles/{id}`.
pub async fn profile(id: &str) -> Result<ProfileSummary, ApiError> {
    get_json(&format!("/api/profiles/{}", enc(id))).await
}

/// Parameters of a function-table page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionsRequest {
    /// Sort column.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// Search text.
    pub q: Option<String>,
    /// Treat `q` as a regex.
    pub regex: bool,
    /// First row.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

/// `GET /api/profiles/{id}/functions`.
pub async fn functions(id: &str, r: &FunctionsRequest) -> Result<FunctionPage, ApiError> {
    let mut url = format!("/api/profiles/{}/functions?offset={}&limit={}", enc(id), r.offset, r.limit);
    if let Some(s) = &r.sort {
        url.push_str(&format!("&sort={}", enc(s)));
    }
    if let Some(o) = &r.order {
        url.push_str(&format!("&order={}", enc(o)));
    }
    if let Some(q) = r.q.as_deref().filter(|q| !q.is_empty()) {
        url.push_str(&format!("&q={}", enc(q)));
        if r.regex {
            url.push_str("&regex=1");
        }
    }
    get_json(&url).await
}
