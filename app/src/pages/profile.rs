//! `/p/<id>`: one profile's dashboard. Its whole view state lives in the query string:
//! `view`, `sel`, `root`, `sort`, `order`, `q`, `re`, `thread`, `tf`, `dtab`.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::breadcrumb::Breadcrumb;
use crate::components::detail::FunctionDetailPanel;
use crate::components::function_table::FunctionTable;
use crate::components::chart_view::ChartView;
use crate::charts::ChartKind;
use crate::components::thread_select::ThreadSelect;
use crate::components::transforms::TransformBar;
use crate::url_state;

/// The chart a `view=` value names (the icicle when absent or unknown).
fn chart_kind(view: Option<String>) -> ChartKind {
    view.as_deref().and_then(ChartKind::parse).unwrap_or(ChartKind::Icicle)
}

/// The dashboard of one profile.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let id = if crate::report::active() {
        Memo::new(|_| crate::report::REPORT_ID.to_owned())
    } else {
        let params = use_params_map();
        Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()))
    };
    let summary = LocalResource::new(move || {
        let id = id.get();
        async move { api::profile(&id).await }
    });
    let view_name = url_state::param("view");
    let root = url_state::param("root");
    let set = url_state::setter();

    // Keyboard: `/` focuses search, Esc zooms out one level.
    let set_kb = set.clone();
    let handle = window_event_listener(ev::keydown, move |e| {
        let target_is_input = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
            .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
            .unwrap_or(false);
        if e.key() == "/" && !target_is_input {
            if let Some(el) = document().query_selector("[data-testid=search]").ok().flatten() {
                if let Ok(input) = el.dyn_into::<web_sys::HtmlElement>() {
                    e.prevent_default();
                    let _ = input.focus();
                }
            }
        } else if e.key() == "Escape" && !target_is_input {
            let cur = root.get_untracked().unwrap_or_default();
            if !cur.is_empty() {
                let up = cur.rsplit_once('.').map(|(a, _)| a.to_owned());
                set_kb(&[("root", up)]);
            }
        }
    });
    on_cleanup(move || handle.remove());

    let copied = RwSignal::new(false);
    let copy_link = move |_| {
        let href = window().location().href().unwrap_or_default();
        let clip = window().navigator().clipboard();
        let _ = clip.write_text(&href);
        copied.set(true);
    };

    view! {
        <section class="page profile">
            // No <Suspense> here: the charts' own requests must not blank the whole page.
            {move || match summary.get() {
                None => view! { <p class="loading">"Loading profile…"</p> }.into_any(),
                Some(r) => match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let pid = id.get_untracked();
                        let pstats = s.format == "pstats";
                        let unit = s.unit.clone();
                        let warnings = s.warnings.clone();
                        let set = set.clone();
                        view! {
                            <div class="profile-head">
                                <h1 data-testid="profile-name">{s.name.clone()}</h1>
                                <span class="badge">{s.format.clone()}</span>
                                <span class="badge">{s.dialect.clone()}</span>
                                {(!pstats && s.calls.is_some()).then(|| view! {
                                    <span class="badge" data-testid="hybrid-badge"
                                        title="Trees and self/total come from the samples (real paths, real seconds); ncalls, tottime and cumtime are cProfile's exact numbers for the same run">
                                        "sampled + exact calls"
                                    </span>
                                })}
                                <span class="muted">{format!("{} functions · unit: {}", s.functions, s.unit)}</span>
                                <ThreadSelect id=pid.clone() unit=unit.clone()/>
                                <button class="copy-link" data-testid="copy-link" on:click=copy_link>
                                    {move || if copied.get() { "Link copied" } else { "Copy link" }}
                                </button>
                            </div>
                            {(!warnings.is_empty()).then(|| view! {
                                <details class="warnings" data-testid="warnings"><summary>{format!("{} import warning(s)", warnings.len())}</summary>
                                    <ul>{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                                </details>
                            })}
                            <TransformBar id=pid.clone() sampled=!pstats/>
                            <div class="tabs">
                                {ChartKind::PROFILE.iter().map(|&kind| {
                                    let set = set.clone();
                                    let active = move || chart_kind(view_name.get()) == kind;
                                    view! {
                                        <button class:active=active data-testid=format!("view-{kind}")
                                            on:click=move |_| set(&[("view", Some(kind.to_string())), ("root", None)])>{kind.label()}</button>
                                    }
                                }).collect_view()}
                                <Breadcrumb id=pid.clone()/>
                            </div>
                            <div class="chart-area">
                                {
                                    let pid = pid.clone();
                                    move || {
                                        let kind = chart_kind(view_name.get());
                                        view! { <ChartView id=pid.clone() kind=kind/> }
                                    }
                                }
                            </div>
                            <div class="split">
                                <div class="split-main"><FunctionTable id=pid.clone() summary=s/></div>
                                <FunctionDetailPanel id=pid.clone() pstats=pstats unit=unit.clone()/>
                            </div>
                        }.into_any()
                    }
                },
            }}
        </section>
    }
}
