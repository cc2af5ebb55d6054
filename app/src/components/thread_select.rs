//! Per-thread selection: all threads merged by default.

use leptos::prelude::*;

use crate::api;
use crate::format;
use crate::url_state;

/// A thread selector, shown only for profiles that have threads.
#[component]
pub fn ThreadSelect(id: String, unit: String) -> impl IntoView {
    let thread = url_state::param("thread");
    let set = url_state::setter();
    let list = LocalResource::new(move || {
        let id = id.clone();
        async move { api::threads(&id).await }
    });
    move || {
        list.get().and_then(|r| r.ok()).filter(|l| l.threads.len() > 1).map(|l| {
            let set = set.clone();
            let current = thread.get().unwrap_or_default();
            view! {
                <label class="thread-label">"Thread "
                    <select data-testid="thread-select" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&[("thread", (!v.is_empty()).then_some(v))]);
                    }>
                        <option value="" selected=current.is_empty()>{format!("all {} threads merged", l.threads.len())}</option>
                        {l.threads.into_iter().map(|t| {
                            let v = t.index.to_string();
                            let label = format!("{} {} ({})", t.id, t.name.unwrap_or_default(), format::value(t.total, &unit));
                            view! { <option value=v.clone() selected=current == v>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }
        })
    }
}
