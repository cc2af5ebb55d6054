//! The API client: the only place the app makes HTTP requests. In the HTML report
//! (`crate::report`) every read is answered in the browser from the inlined profile instead,
//! through `profview-answer`, the same conversions the server's routes make.

use gloo_net::http::Request;
use profview_api::{
    By, CallGraph, CollateReport, CollectionCreated, CollectionRequest, CollectionSummary, DiffReport, DiffTree, ErrorBody,
    FunctionDetail, FunctionLines, FunctionPage, Metric, Normalize, Package, ProfileSummary, ReachList, RenameRequest, SortKey, SortOrder,
    ThreadList, TreeMode, TreeSlice, UploadResponse,
};
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

/// In the report: the answer computed from the inlined profile (`None` in the served app).
fn local<T>(f: impl FnOnce(&crate::report::Report) -> Result<T, profview_answer::AnswerError>) -> Option<Result<T, ApiError>> {
    let r = crate::report::get()?;
    Some(match r {
        Ok(r) => f(&r).map_err(|e| ApiError(e.to_string())),
        Err(e) => Err(ApiError(e)),
    })
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn sel(thread: &Option<String>, tf: &Option<String>) -> Result<profview_index::Selection, profview_answer::AnswerError> {
    profview_answer::selection(opt(thread), opt(tf))
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).as_string().unwrap_or_default()
}

/// `GET /api/profiles`.
pub async fn list_profiles() -> Result<Vec<ProfileSummary>, ApiError> {
    if let Some(a) = local(|r| Ok(vec![r.summary.clone()])) {
        return a;
    }
    get_json("/api/profiles").await
}

/// `GET /api/profiles/{id}`.
pub async fn profile(id: &str) -> Result<ProfileSummary, ApiError> {
    if let Some(a) = local(|r| Ok(r.summary.clone())) {
        return a;
    }
    get_json(&format!("/api/profiles/{}", enc(id))).await
}

/// Parameters of a function-table page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionsRequest {
    /// Sort column (`None` = the profile's default order).
    pub sort: Option<SortKey>,
    /// Direction (`None` = the column's default).
    pub order: Option<SortOrder>,
    /// Search text.
    pub q: Option<String>,
    /// Treat `q` as a regex.
    pub regex: bool,
    /// First row.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
    /// Thread index (`None` = all threads merged).
    pub thread: Option<String>,
    /// Transform string.
    pub tf: Option<String>,
    /// Package filter.
    pub package: Option<Package>,
    /// Ask for this function's position in the order (`rank` in the answer).
    pub find: Option<u32>,
}

/// `by=` of the page's address (in the report: its fragment) when the request is made: every
/// view request carries it, so that `by=line` answers with one function per line.
pub fn by_now() -> By {
    let value = if crate::report::active() {
        use leptos::prelude::GetUntracked;
        crate::report::pairs(&crate::report::fragment().get_untracked()).into_iter().find(|(k, _)| k == "by").map(|(_, v)| v)
    } else {
        let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        web_sys::UrlSearchParams::new_with_str(&search).ok().and_then(|p| p.get("by"))
    };
    value.and_then(|v| By::parse(&v)).unwrap_or(By::Function)
}

/// The index that answers the report's requests in the current unit.
fn picked(rep: &crate::report::Report) -> &profview_index::ProfileIndex {
    profview_answer::pick(&rep.index, by_now())
}

fn push_common(url: &mut String, thread: &Option<String>, tf: &Option<String>) {
    if by_now() == By::Line {
        url.push_str("&by=line");
    }
    if let Some(t) = thread.as_deref().filter(|t| !t.is_empty()) {
        url.push_str(&format!("&thread={}", enc(t)));
    }
    if let Some(t) = tf.as_deref().filter(|t| !t.is_empty()) {
        url.push_str(&format!("&tf={}", enc(t)));
    }
}

/// `GET /api/profiles/{id}/functions`.
pub async fn functions(id: &str, r: &FunctionsRequest) -> Result<FunctionPage, ApiError> {
    if let Some(a) = local(|rep| {
        let p = profview_answer::FunctionsParams {
            sort: r.sort,
            order: r.order,
            offset: r.offset,
            limit: Some(r.limit),
            q: r.q.clone(),
            regex: r.regex,
            package: r.package,
            find: r.find,
            thread: r.thread.clone(),
            tf: r.tf.clone(),
            by: Some(by_now()),
        };
        profview_answer::functions(&rep.index, &p)
    }) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/functions?offset={}&limit={}", enc(id), r.offset, r.limit);
    if let Some(s) = r.sort {
        url.push_str(&format!("&sort={s}"));
    }
    if let Some(o) = r.order {
        url.push_str(&format!("&order={o}"));
    }
    if let Some(q) = r.q.as_deref().filter(|q| !q.is_empty()) {
        url.push_str(&format!("&q={}", enc(q)));
        if r.regex {
            url.push_str("&regex=1");
        }
    }
    if let Some(p) = r.package {
        url.push_str(&format!("&package={p}"));
    }
    if let Some(f) = r.find {
        url.push_str(&format!("&find={f}"));
    }
    push_common(&mut url, &r.thread, &r.tf);
    get_json(&url).await
}

/// Parameters of a tree slice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeRequest {
    /// Orientation.
    pub mode: TreeMode,
    /// Path of the slice root (`""` = the whole tree).
    pub root: Option<String>,
    /// Thread index.
    pub thread: Option<String>,
    /// Transform string.
    pub tf: Option<String>,
    /// Level of detail: children narrower than this fraction of the root are merged.
    pub min_frac: f64,
    /// Node budget.
    pub max_nodes: usize,
}

/// `GET /api/profiles/{id}/tree`.
pub async fn tree(id: &str, r: &TreeRequest) -> Result<TreeSlice, ApiError> {
    if let Some(a) = local(|rep| {
        let lod = profview_answer::lod(Some(r.min_frac), Some(r.max_nodes))?;
        let q = profview_answer::tree_query(Some(r.mode), opt(&r.root), lod)?;
        profview_answer::tree(picked(rep), &sel(&r.thread, &r.tf)?, &q)
    }) {
        return a;
    }
    let mut url = format!(
        "/api/profiles/{}/tree?mode={}&min_frac={}&max_nodes={}",
        enc(id),
        r.mode,
        r.min_frac,
        r.max_nodes
    );
    if let Some(root) = r.root.as_deref().filter(|s| !s.is_empty()) {
        url.push_str(&format!("&root={}", enc(root)));
    }
    push_common(&mut url, &r.thread, &r.tf);
    get_json(&url).await
}

/// `GET /api/profiles/{id}/functions/{fid}`.
pub async fn function_detail(id: &str, fid: u32, thread: &Option<String>, tf: &Option<String>) -> Result<FunctionDetail, ApiError> {
    if let Some(a) = local(|rep| profview_answer::function_detail(picked(rep), &sel(thread, tf)?, fid, None)) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/functions/{fid}?", enc(id));
    push_common(&mut url, thread, tf);
    get_json(&url).await
}

/// A function's name only: the detail with `limit=0`, so no caller or callee rows are sent
/// (breadcrumbs and transform chips ask for one name per step).
pub async fn function_name(id: &str, fid: u32, thread: &Option<String>, tf: &Option<String>) -> Result<String, ApiError> {
    if let Some(a) = local(|rep| profview_answer::function_detail(picked(rep), &sel(thread, tf)?, fid, Some(0))) {
        return a.map(|d| d.function.name);
    }
    let mut url = format!("/api/profiles/{}/functions/{fid}?limit=0", enc(id));
    push_common(&mut url, thread, tf);
    get_json::<FunctionDetail>(&url).await.map(|d| d.function.name)
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callers` (or `all-callees`).
pub async fn reach(id: &str, fid: u32, which: &str, thread: &Option<String>, tf: &Option<String>) -> Result<ReachList, ApiError> {
    if let Some(a) = local(|rep| profview_answer::reach(picked(rep), &sel(thread, tf)?, fid, which == "all-callers")) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/functions/{fid}/{which}?", enc(id));
    push_common(&mut url, thread, tf);
    get_json(&url).await
}

/// `GET /api/profiles/{id}/functions/{fid}/lines`: the function's lines with their numbers.
pub async fn function_lines(id: &str, fid: u32, thread: &Option<String>) -> Result<FunctionLines, ApiError> {
    if let Some(a) = local(|rep| profview_answer::function_lines(picked(rep), &sel(thread, &None)?, fid)) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/functions/{fid}/lines?", enc(id));
    push_common(&mut url, thread, &None);
    get_json(&url).await
}

/// Both halves of a sandwich.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Sandwich {
    /// Inverted tree rooted at the function: who calls it.
    pub callers: TreeSlice,
    /// Top-down tree under the function: what it calls.
    pub callees: TreeSlice,
}

/// `GET /api/profiles/{id}/functions/{fid}/sandwich`.
/// Lines of a function's source file (`serve --source-root`; the HTML report has no server to
/// read files, so it says so).
pub async fn function_source(id: &str, fid: u32) -> Result<profview_api::SourceView, ApiError> {
    if crate::report::get().is_some() {
        return Err(ApiError("the source view needs a server started with --source-root DIR".into()));
    }
    get_json(&format!("/api/profiles/{}/functions/{fid}/source", enc(id))).await
}

pub async fn sandwich(id: &str, fid: u32, thread: &Option<String>, tf: &Option<String>) -> Result<Sandwich, ApiError> {
    if let Some(a) = local(|rep| {
        let lod = profview_answer::lod(Some(0.002), Some(2000))?;
        let s = profview_answer::sandwich(picked(rep), &sel(thread, tf)?, fid, &lod)?;
        Ok(Sandwich { callers: s.callers, callees: s.callees })
    }) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/functions/{fid}/sandwich?min_frac=0.002&max_nodes=2000", enc(id));
    push_common(&mut url, thread, tf);
    get_json(&url).await
}

/// `GET /api/profiles/{id}/threads`.
pub async fn threads(id: &str) -> Result<ThreadList, ApiError> {
    if let Some(a) = local(|rep| Ok(profview_answer::threads(&rep.index))) {
        return a;
    }
    get_json(&format!("/api/profiles/{}/threads", enc(id))).await
}

/// `GET /api/profiles/{id}/graph`.
pub async fn graph(id: &str, n: usize, thread: &Option<String>, tf: &Option<String>) -> Result<CallGraph, ApiError> {
    if let Some(a) = local(|rep| profview_answer::graph(picked(rep), &sel(thread, tf)?, n)) {
        return a;
    }
    let mut url = format!("/api/profiles/{}/graph?n={n}", enc(id));
    push_common(&mut url, thread, tf);
    get_json(&url).await
}

/// Where an upload is, for the progress bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UploadPhase {
    /// Bytes sent so far out of the total.
    Sending {
        /// Sent.
        loaded: f64,
        /// Total.
        total: f64,
    },
    /// All bytes sent; the server is importing and indexing.
    Indexing,
}

fn js_err(e: wasm_bindgen::JsValue) -> ApiError {
    ApiError(format!("upload failed: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

/// Where the write token is kept: this tab's session only (never `localStorage`, never a cookie).
const TOKEN_KEY: &str = "profview-token";

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The write token this session was given, if any.
fn token() -> Option<String> {
    session()?.get_item(TOKEN_KEY).ok().flatten().filter(|t| !t.is_empty())
}

/// A write was refused (401): asks for a token once (a prompt), keeps it for the session and
/// says whether to try again. A refused stored token is forgotten first.
fn ask_token(had_token: bool) -> bool {
    let Some(store) = session() else { return false };
    let _ = store.remove_item(TOKEN_KEY);
    let msg = if had_token {
        "The server did not accept the token. Token for uploading, renaming and deleting profiles:"
    } else {
        "This server needs a token for uploading, renaming and deleting profiles. Token:"
    };
    let answer = web_sys::window().and_then(|w| w.prompt_with_message(msg).ok().flatten());
    match answer.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(t) => store.set_item(TOKEN_KEY, &t).is_ok(),
        None => false,
    }
}

/// `POST /api/profiles?name=<file name>` with the file as the raw body, through
/// `XMLHttpRequest` so upload progress can be reported (`fetch` has no upload progress).
/// Refused for want of a token, it asks for one and sends the file again.
pub async fn upload(file: &web_sys::File, on_phase: impl Fn(UploadPhase) + 'static) -> Result<UploadResponse, ApiError> {
    let on_phase = std::rc::Rc::new(on_phase);
    let p = on_phase.clone();
    let sent = token();
    match upload_once(file, sent.as_deref(), move |ph| p(ph)).await {
        Err((401, _)) if ask_token(sent.is_some()) => {
            upload_once(file, token().as_deref(), move |ph| on_phase(ph)).await.map_err(|(_, e)| e)
        }
        other => other.map_err(|(_, e)| e),
    }
}

async fn upload_once(
    file: &web_sys::File,
    token: Option<&str>,
    on_phase: impl Fn(UploadPhase) + 'static,
) -> Result<UploadResponse, (u16, ApiError)> {
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let js_err = |e| (0, js_err(e));
    let xhr = web_sys::XmlHttpRequest::new().map_err(js_err)?;
    xhr.open("POST", &format!("/api/profiles?name={}", enc(&file.name()))).map_err(js_err)?;
    xhr.set_request_header("Content-Type", "application/octet-stream").map_err(js_err)?;
    if let Some(t) = token {
        xhr.set_request_header("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
    }
    let on_phase = Rc::new(on_phase);
    let p = on_phase.clone();
    let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        if e.length_computable() {
            p(UploadPhase::Sending { loaded: e.loaded(), total: e.total() });
        }
    });
    let p = on_phase.clone();
    let sent = Closure::<dyn FnMut()>::new(move || p(UploadPhase::Indexing));
    let up = xhr.upload().map_err(js_err)?;
    up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    up.set_onload(Some(sent.as_ref().unchecked_ref()));
    let x = xhr.clone();
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        x.set_onload(Some(&resolve));
        x.set_onerror(Some(&reject));
        x.set_onabort(Some(&reject));
    });
    on_phase(UploadPhase::Sending { loaded: 0.0, total: file.size() });
    xhr.send_with_opt_blob(Some(file)).map_err(js_err)?;
    let finished = wasm_bindgen_futures::JsFuture::from(done).await;
    up.set_onprogress(None);
    up.set_onload(None);
    drop((progress, sent));
    if finished.is_err() {
        return Err((0, ApiError(format!(
            "{}: upload failed (connection closed; is the file larger than the server's upload limit?)",
            file.name()
        ))));
    }
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if !(200..300).contains(&status) {
        let msg = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("{}: {}", file.name(), xhr.status_text().unwrap_or_default()));
        return Err((status, ApiError(format!("{msg} (HTTP {status})"))));
    }
    serde_json::from_str(&text).map_err(|e| (0, ApiError(format!("bad answer from the server: {e}"))))
}

/// Sends a write (`make` builds it, given the token to send); refused for want of a token, asks
/// for one once and sends it again.
async fn write(make: impl Fn(Option<&str>) -> Result<Request, ApiError>) -> Result<gloo_net::http::Response, ApiError> {
    let send = |req: Request| async move { req.send().await.map_err(|e| ApiError(format!("request failed: {e}"))) };
    let sent = token();
    let resp = send(make(sent.as_deref())?).await?;
    if resp.status() == 401 && ask_token(sent.is_some()) {
        return check(send(make(token().as_deref())?).await?).await;
    }
    check(resp).await
}

fn bearer(builder: gloo_net::http::RequestBuilder, token: Option<&str>) -> gloo_net::http::RequestBuilder {
    match token {
        Some(t) => builder.header("Authorization", &format!("Bearer {t}")),
        None => builder,
    }
}

async fn check(resp: gloo_net::http::Response) -> Result<gloo_net::http::Response, ApiError> {
    if resp.ok() {
        return Ok(resp);
    }
    let status = resp.status();
    let msg = match resp.json::<ErrorBody>().await {
        Ok(b) => b.error,
        Err(_) => resp.status_text(),
    };
    Err(ApiError(format!("{msg} (HTTP {status})")))
}

/// `PATCH /api/profiles/{id}` `{"name"}`.
pub async fn rename_profile(id: &str, name: &str) -> Result<ProfileSummary, ApiError> {
    let body = RenameRequest { name: name.to_owned() };
    let resp = write(|t| {
        bearer(Request::patch(&format!("/api/profiles/{}", enc(id))), t)
            .json(&body)
            .map_err(|e| ApiError(format!("request failed: {e}")))
    })
    .await?;
    resp.json().await.map_err(|e| ApiError(format!("bad answer from the server: {e}")))
}

/// `DELETE /api/profiles/{id}`.
pub async fn delete_profile(id: &str) -> Result<(), ApiError> {
    write(|t| {
        bearer(Request::delete(&format!("/api/profiles/{}", enc(id))), t)
            .build()
            .map_err(|e| ApiError(format!("request failed: {e}")))
    })
    .await
    .map(|_| ())
}

/// The download URL of an export (`svg`, `folded`, `json`, `pstats` or `html`), for a plain link.
pub fn export_url(id: &str, format: &str) -> String {
    format!("/api/profiles/{}/export?format={}", enc(id), enc(format))
}

/// The profile page of the report holds no other profiles: comparing needs the server.
fn served_only<T>() -> Option<Result<T, ApiError>> {
    crate::report::active().then(|| Err(ApiError("comparing needs the profview server".into())))
}

/// `GET /api/collections`.
pub async fn list_collections() -> Result<Vec<CollectionSummary>, ApiError> {
    if crate::report::active() {
        return Ok(Vec::new());
    }
    get_json("/api/collections").await
}

/// `GET /api/collections/{id}`.
pub async fn collection(id: &str) -> Result<CollectionSummary, ApiError> {
    if let Some(e) = served_only() {
        return e;
    }
    get_json(&format!("/api/collections/{}", enc(id))).await
}

/// Paging, order and filter of a collated or diff table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableRequest {
    /// Sort field (`sum`, `p95`, …; `delta`, `relative`, `significance`, …).
    pub sort: Option<String>,
    /// The number sorted by.
    pub metric: Option<Metric>,
    /// Direction.
    pub order: Option<SortOrder>,
    /// Search text.
    pub q: Option<String>,
    /// Page size.
    pub limit: usize,
}

fn push_table(url: &mut String, r: &TableRequest) {
    url.push_str(&format!("&limit={}", r.limit));
    if let Some(s) = opt(&r.sort) {
        url.push_str(&format!("&sort={}", enc(s)));
    }
    if let Some(m) = r.metric {
        url.push_str(&format!("&metric={m}"));
    }
    if let Some(o) = r.order {
        url.push_str(&format!("&order={o}"));
    }
    if let Some(q) = opt(&r.q) {
        url.push_str(&format!("&q={}", enc(q)));
    }
}

/// `GET /api/collections/{id}/table`.
pub async fn collection_table(id: &str, r: &TableRequest) -> Result<CollateReport, ApiError> {
    if let Some(e) = served_only() {
        return e;
    }
    let mut url = format!("/api/collections/{}/table?", enc(id));
    push_table(&mut url, r);
    get_json(&url).await
}

/// `POST /api/collections`.
pub async fn create_collection(name: &str, profiles: &[String]) -> Result<CollectionCreated, ApiError> {
    let body = CollectionRequest { name: name.to_owned(), profiles: profiles.to_vec() };
    let resp = write(|t| {
        bearer(Request::post("/api/collections"), t).json(&body).map_err(|e| ApiError(format!("request failed: {e}")))
    })
    .await?;
    resp.json().await.map_err(|e| ApiError(format!("bad answer from the server: {e}")))
}

/// The two sides of a comparison and their scaling.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sides {
    /// Base ids, comma-separated (profiles or collections).
    pub base: String,
    /// New ids, comma-separated.
    pub new: String,
    /// Scaling.
    pub normalize: Normalize,
}

impl Sides {
    fn query(&self) -> String {
        format!("base={}&new={}&normalize={}", enc(&self.base), enc(&self.new), self.normalize)
    }
}

/// `GET /api/compare`.
pub async fn compare(s: &Sides, r: &TableRequest) -> Result<DiffReport, ApiError> {
    if let Some(e) = served_only() {
        return e;
    }
    let mut url = format!("/api/compare?{}", s.query());
    push_table(&mut url, r);
    get_json(&url).await
}

/// `GET /api/compare/tree`.
pub async fn compare_tree(s: &Sides, mode: TreeMode, root: &Option<String>) -> Result<DiffTree, ApiError> {
    if let Some(e) = served_only() {
        return e;
    }
    let (min_frac, max_nodes) = profview_api::FLAME_LOD;
    let mut url = format!("/api/compare/tree?{}&mode={mode}&min_frac={min_frac}&max_nodes={max_nodes}", s.query());
    if let Some(root) = opt(root) {
        url.push_str(&format!("&root={}", enc(root)));
    }
    get_json(&url).await
}
