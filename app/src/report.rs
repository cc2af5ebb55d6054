//! The self-contained HTML report (`profview export FILE --format html`).
//!
//! The report is the same app and WASM as the served dashboard; the mode is decided at run time:
//! when the page holds `<script type="application/octet-stream" id="profview-profile">` (base64
//! of the gzipped profile file, its display name in `data-name`), [`init`] imports it and builds
//! the index here, in the browser, and `api.rs` answers every request from it through
//! `profview-answer` (the same conversions the server's routes make) instead of `fetch`.
//! The view state then lives in the URL fragment (`#view=...&sel=...`), since a `file://` page
//! has no server routes.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use profview_api::ProfileSummary;
use profview_index::ProfileIndex;

/// The profile of a report, indexed.
pub struct Report {
    /// The index every answer comes from.
    pub index: ProfileIndex,
    /// The summary the profile page shows.
    pub summary: ProfileSummary,
}

thread_local! {
    static REPORT: OnceCell<Option<Result<Rc<Report>, String>>> = const { OnceCell::new() };
    static FRAGMENT: RefCell<Option<ArcRwSignal<String>>> = const { RefCell::new(None) };
}

/// The id the report's single profile answers to.
pub const REPORT_ID: &str = "report";

fn load() -> Option<Result<Rc<Report>, String>> {
    let el = document().get_element_by_id("profview-profile")?;
    Some((|| {
        use base64::Engine as _;
        let name = el.get_attribute("data-name").unwrap_or_else(|| "profile".to_owned());
        let text = el.text_content().unwrap_or_default();
        let text: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| format!("the report's profile is damaged: {e}"))?;
        let size = bytes.len() as u64;
        let imported = profview_import::import(&name, &bytes, &profview_import::Limits::default())
            .map_err(|e| format!("{name}: {e}"))?;
        let warnings = imported.warnings.iter().map(|w| w.to_string()).collect();
        let index = ProfileIndex::build(imported.profile);
        let summary = profview_answer::summary(&index, REPORT_ID, &name, Some(size), warnings);
        Ok(Rc::new(Report { index, summary }))
    })())
}

/// Reads and indexes the inlined profile, once; call before mounting.
pub fn init() {
    REPORT.with(|r| {
        r.get_or_init(load);
    });
}

/// The report's profile, when this page is a report (`None` in the served app).
pub fn get() -> Option<Result<Rc<Report>, String>> {
    REPORT.with(|r| r.get_or_init(load).clone())
}

/// Whether this page is a report.
pub fn active() -> bool {
    get().is_some()
}

fn current_hash() -> String {
    let h = window().location().hash().unwrap_or_default();
    h.strip_prefix('#').unwrap_or(&h).to_owned()
}

/// The fragment (without `#`) as a signal; back and forward (`hashchange`) update it.
pub fn fragment() -> ArcRwSignal<String> {
    FRAGMENT.with(|f| {
        f.borrow_mut()
            .get_or_insert_with(|| {
                let sig = ArcRwSignal::new(current_hash());
                let s = sig.clone();
                let handle = window_event_listener_untyped("hashchange", move |_| {
                    let now = current_hash();
                    if s.with_untracked(|cur| *cur != now) {
                        s.set(now);
                    }
                });
                // Lives as long as the page.
                std::mem::forget(handle);
                sig
            })
            .clone()
    })
}

/// Decoded `key=value` pairs of a fragment or query string.
pub fn pairs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(params) = web_sys::UrlSearchParams::new_with_str(s) {
        let entries = js_sys::try_iter(&params.entries()).ok().flatten();
        for entry in entries.into_iter().flatten().flatten() {
            let pair = js_sys::Array::from(&entry);
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((k, v));
            }
        }
    }
    out
}

/// Applies changes to the fragment: a new history entry, and the signal at once (two changes in
/// the same tick must both land).
pub fn set_fragment(changes: &[(&str, Option<String>)]) {
    let mut p = pairs(&current_hash());
    for (k, v) in changes {
        p.retain(|(pk, _)| pk != k);
        if let Some(v) = v {
            p.push(((*k).to_owned(), v.clone()));
        }
    }
    p.sort();
    let qs: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", crate::api::enc(k), crate::api::enc(v))).collect();
    let qs = qs.join("&");
    if qs != current_hash() {
        let _ = window().location().set_hash(&qs);
    }
    let sig = fragment();
    if sig.with_untracked(|cur| *cur != qs) {
        sig.set(qs);
    }
}
