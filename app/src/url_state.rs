//! View state in the query string: a reload or a pasted link restores it exactly. In the HTML
//! report (a `file://` page, see `report.rs`) the same keys live in the URL fragment instead.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// Reads one query parameter reactively.
pub fn param(name: &'static str) -> Memo<Option<String>> {
    if crate::report::active() {
        let frag = crate::report::fragment();
        return Memo::new(move |_| {
            frag.with(|f| crate::report::pairs(f).into_iter().find(|(k, _)| k == name).map(|(_, v)| v))
        });
    }
    let q = use_query_map();
    Memo::new(move |_| q.with(|m| m.get(name)))
}

/// Returns a setter that writes query parameters (a `None` removes one) and pushes a history
/// entry, so back and forward walk through the changes.
pub fn setter() -> impl Fn(&[(&str, Option<String>)]) + Clone {
    // The report has no router: its state is the fragment.
    let navigate = (!crate::report::active()).then(use_navigate);
    move |changes: &[(&str, Option<String>)]| {
        let Some(navigate) = &navigate else {
            crate::report::set_fragment(changes);
            return;
        };
        // Start from the address bar, not the router's memo: two changes made in the same tick
        // (select, then zoom) must both land.
        let search = window().location().search().unwrap_or_default();
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) {
            let entries = js_sys::try_iter(&params.entries()).ok().flatten();
            for entry in entries.into_iter().flatten().flatten() {
                let pair = js_sys::Array::from(&entry);
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    pairs.push((k, v));
                }
            }
        }
        for (k, v) in changes {
            pairs.retain(|(pk, _)| pk != k);
            if let Some(v) = v {
                pairs.push(((*k).to_owned(), v.clone()));
            }
        }
        pairs.sort();
        let qs: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", crate::api::enc(k), crate::api::enc(v))).collect();
        let path = window().location().pathname().unwrap_or_default();
        let url = if qs.is_empty() { path } else { format!("{path}?{}", qs.join("&")) };
        navigate(&url, NavigateOptions { scroll: false, ..Default::default() });
    }
}
