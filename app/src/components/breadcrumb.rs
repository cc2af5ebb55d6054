//! The zoom breadcrumb: every step of the zoom root's path, each a link back up.

use leptos::prelude::*;

use crate::api;
use crate::url_state;

/// Breadcrumb for the `root` path in the URL.
#[component]
pub fn Breadcrumb(id: String) -> impl IntoView {
    let root = url_state::param("root");
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let set = url_state::setter();
    let names = LocalResource::new(move || {
        let path = root.get().unwrap_or_default();
        // Path ids belong to the current view (a grouping transform makes new ids).
        let (thread, tf) = (thread.get(), tf.get());
        let id = id.clone();
        async move {
            let mut out = Vec::new();
            for seg in path.split('.').filter(|s| !s.is_empty()) {
                let name = match seg.parse::<u32>() {
                    Ok(fid) => api::function_name(&id, fid, &thread, &tf).await.unwrap_or_else(|_| format!("#{seg}")),
                    Err(_) => seg.to_owned(),
                };
                out.push(name);
            }
            out
        }
    });
    view! {
        <nav class="breadcrumb" data-testid="breadcrumb">
            <a href="#" data-depth="0" on:click={let set = set.clone(); move |ev: web_sys::MouseEvent| {
                ev.prevent_default();
                set(&[("root", None)]);
            }}>"all"</a>
            {move || {
                let path = root.get().unwrap_or_default();
                let segs: Vec<String> = path.split('.').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                let labels = names.get().unwrap_or_default();
                segs.iter().enumerate().map(|(i, seg)| {
                    let label = labels.get(i).cloned().unwrap_or_else(|| format!("#{seg}"));
                    let target = segs[..=i].join(".");
                    let set = set.clone();
                    let last = i + 1 == segs.len();
                    let title = label.clone();
                    view! {
                        <span class="sep">"›"</span>
                        <a href="#" class:current=last data-depth=(i + 1).to_string() title=title
                            on:click=move |ev: web_sys::MouseEvent| {
                                ev.prevent_default();
                                set(&[("root", Some(target.clone()))]);
                            }>{label}</a>
                    }
                }).collect_view()
            }}
        </nav>
    }
}
