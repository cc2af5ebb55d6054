//! View state in the query string: a reload or a pasted link restores it exactly.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// Reads one query parameter reactively.
pub fn param(name: &'static str) -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.with(|m| m.get(name)))
}

/// Returns a setter that writes query parameters (a `None` removes one) and pushes a history
/// entry, so back and forward walk through the changes.
pub fn setter() -> impl Fn(&[(&str, Option<String>)]) + Clone {
    let q = use_query_map();
    let navigate = use_navigate();
    move |changes: &[(&str, Option<String>)]| {
        let mut pairs: Vec<(String, String)> =
            q.with_untracked(|m| m.clone().into_iter().map(|(k, v)| (k.to_string(), v)).collect());
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
