//! `/`: the stored profiles, with their size, date and totals; rename, export and delete.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use profview_api::ProfileSummary;

use crate::api;
use crate::format;
use crate::components::upload::{ProfilesChanged, Selected};

/// `1.2 MB`-style sizes.
fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Local date and time, `2024-05-01 13:45`.
fn local_time(ms: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// The grand total in the profile's unit.
fn total_text(p: &ProfileSummary) -> String {
    match (p.total, p.unit.as_str()) {
        (None, _) => String::new(),
        // Times and sizes in readable units (`30.4 s`, `412 µs`, `12.3 MB`), counts with their unit.
        (Some(t), "seconds" | "milliseconds" | "microseconds" | "nanoseconds" | "bytes") => format::value(t, &p.unit),
        (Some(t), unit) => format!("{} {unit}", format::weight(Some(t))),
    }
}

/// The profiles page.
#[component]
pub fn Home() -> impl IntoView {
    let changed = ProfilesChanged::get();
    let profiles = LocalResource::new(move || {
        changed.0.track();
        api::list_profiles()
    });
    // Row being renamed (id) and the draft name; row whose delete awaits confirmation.
    let editing = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    let confirming = RwSignal::new(None::<String>);
    let action_error = RwSignal::new(None::<String>);
    let selected = Selected::get().0;
    let collections = LocalResource::new(move || {
        changed.0.track();
        api::list_collections()
    });
    let toggle = move |id: String, on: bool| {
        selected.update(|s| {
            s.retain(|x| *x != id);
            if on {
                s.push(id);
            }
        })
    };
    let select_box = move |id: String| {
        let id2 = id.clone();
        view! {
            <input type="checkbox" data-testid="profile-select" aria-label="Select to compare or collect"
                prop:checked=move || selected.with(|s| s.contains(&id2))
                on:change=move |ev| toggle(id.clone(), event_target_checked(&ev))/>
        }
    };

    let save = move || {
        let Some(id) = editing.get_untracked() else { return };
        let name = draft.get_untracked();
        spawn_local(async move {
            match api::rename_profile(&id, &name).await {
                Ok(_) => {
                    editing.set(None);
                    action_error.set(None);
                    changed.bump();
                }
                Err(e) => action_error.set(Some(e.to_string())),
            }
        });
    };
    let remove = move |id: String| {
        spawn_local(async move {
            match api::delete_profile(&id).await {
                Ok(()) => {
                    confirming.set(None);
                    action_error.set(None);
                    changed.bump();
                }
                Err(e) => action_error.set(Some(e.to_string())),
            }
        });
    };

    let row = move |p: ProfileSummary| {
        let href = format!("/p/{}", p.id);
        let id = p.id.clone();
        let (id_edit, id_is_editing, id_confirm, id_is_confirming, id_delete) =
            (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
        let name_for_edit = p.name.clone();
        let is_editing = move || editing.with(|e| e.as_deref() == Some(id_is_editing.as_str()));
        let is_confirming = move || confirming.with(|c| c.as_deref() == Some(id_is_confirming.as_str()));
        let name_cell = {
            let is_editing = is_editing.clone();
            let name = p.name.clone();
            move || {
                if is_editing() {
                    view! {
                        <input class="rename-input" data-testid="rename-input" aria-label="New name"
                            prop:value=move || draft.get()
                            on:input=move |e| draft.set(event_target_value(&e))
                            on:keydown=move |e: ev::KeyboardEvent| match e.key().as_str() {
                                "Enter" => save(),
                                "Escape" => editing.set(None),
                                _ => {}
                            }/>
                        <button data-testid="rename-save" on:click=move |_| save()>"Save"</button>
                        <button on:click=move |_| editing.set(None)>"Cancel"</button>
                    }
                    .into_any()
                } else {
                    view! { <a href=href.clone() data-testid="profile-name">{name.clone()}</a> }.into_any()
                }
            }
        };
        let export = |fmt: &'static str, id: &str| {
            view! {
                <a href=api::export_url(id, fmt) download="" data-testid=format!("export-{fmt}") title=format!("Download as {fmt}")>{fmt}</a>
            }
        };
        view! {
            <tr data-testid="profile-row" data-id=id.clone()>
                <td>{select_box(id.clone())}</td>
                <td class="name">{name_cell}</td>
                <td>{p.format.clone()}</td>
                <td>{p.dialect.clone()}</td>
                <td class="num">{p.functions}</td>
                <td class="num" data-testid="profile-total" title=format::exact(p.total, &p.unit)>{total_text(&p)}</td>
                <td class="num" data-testid="profile-size">{p.size.map(human_size).unwrap_or_default()}</td>
                <td data-testid="profile-date">{p.created.map(local_time).unwrap_or_default()}</td>
                <td class="exports">{export("svg", &id)}" "{export("folded", &id)}" "{export("json", &id)}
                    // pstats files, merged ones and a recording's cProfile part open in pstats and SnakeViz.
                    {p.calls.is_some().then(|| view! { " " {export("pstats", &id)} })}
                    // Sampled profiles (stacks) move to speedscope and pprof's tools; pstats has no stacks.
                    {(p.format != "pstats").then(|| view! { " " {export("speedscope", &id)} " " {export("pprof", &id)} })}
                    " " {export("html", &id)}</td>
                <td class="actions">
                    <button data-testid="rename" title="Rename" on:click=move |_| {
                        draft.set(name_for_edit.clone());
                        confirming.set(None);
                        editing.set(Some(id_edit.clone()));
                    }>"Rename"</button>
                    {move || if is_confirming() {
                        let id = id_delete.clone();
                        view! {
                            <button class="danger" data-testid="delete-confirm" on:click=move |_| remove(id.clone())>"Delete for good"</button>
                            <button on:click=move |_| confirming.set(None)>"Keep"</button>
                        }.into_any()
                    } else {
                        let id = id_confirm.clone();
                        view! {
                            <button data-testid="delete" title="Delete" on:click=move |_| {
                                editing.set(None);
                                confirming.set(Some(id.clone()));
                            }>"Delete"</button>
                        }.into_any()
                    }}
                </td>
            </tr>
        }
    };

    view! {
        <section class="page">
            <h1>"Profiles"</h1>
            <SelectionBar selected=selected action_error=action_error/>
            <Show when=move || action_error.with(|e| e.is_some())>
                <p class="error" data-testid="error">{move || action_error.get().unwrap_or_default()}</p>
            </Show>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || profiles.get().map(|r| match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty" data-testid="empty">
                            "No profiles yet. Drop a pstats or folded file anywhere on this page, use "
                            <b>"Upload…"</b>", or run " <code>"profview serve FILE.prof"</code> "."
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                        <table class="profiles" data-testid="profile-list">
                            <thead><tr>
                                <th></th><th>"name"</th><th>"format"</th><th>"dialect"</th><th class="num">"functions"</th>
                                <th class="num">"total"</th><th class="num">"size"</th><th>"stored"</th>
                                <th>"export"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(row).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <p class="muted hint">"Drop files anywhere on the page to add profiles. Each has a permanent link, " <code>"/p/<id>"</code> ". Select two profiles or collections to compare them, or several profiles to make a collection."</p>
                    }.into_any(),
                })}
            </Suspense>
            {move || collections.get().and_then(|r| r.ok()).filter(|l| !l.is_empty()).map(|list| view! {
                <h2>"Collections"</h2>
                <div class="table-wrap">
                <table class="profiles" data-testid="collection-list">
                    <thead><tr><th></th><th>"name"</th><th>"kind"</th><th class="num">"profiles"</th><th>"made"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|c| view! {
                            <tr data-testid="collection-list-row" data-id=c.id.clone()>
                                <td>{select_box(c.id.clone())}</td>
                                <td class="name"><a href=format!("/c/{}", c.id) data-testid="collection-link">{c.name.clone()}</a></td>
                                <td>{c.kind.clone()}</td>
                                <td class="num">{c.profiles.len()}</td>
                                <td>{c.created.map(local_time).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
        </section>
    }
}

/// What to do with the selection: compare two (profiles or collections), or make a collection
/// of several profiles (offered right after several files are dropped together).
#[component]
fn SelectionBar(selected: RwSignal<Vec<String>>, action_error: RwSignal<Option<String>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let navigate = leptos_router::hooks::use_navigate();
    let nav2 = navigate.clone();
    let compare = move |_| {
        let s = selected.get_untracked();
        if let [a, b] = s.as_slice() {
            nav2(&format!("/compare?base={}&new={}", api::enc(a), api::enc(b)), Default::default());
        }
    };
    let collect = move |_| {
        let ids = selected.get_untracked();
        let n = name.get_untracked();
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_collection(n.trim(), &ids).await {
                Ok(c) => {
                    selected.set(Vec::new());
                    navigate(&c.url, Default::default());
                }
                Err(e) => action_error.set(Some(e.to_string())),
            }
        });
    };
    move || {
        (!selected.with(Vec::is_empty)).then(|| {
            let (compare, collect) = (compare.clone(), collect.clone());
            view! {
                <div class="selection-bar" data-testid="selection-bar">
                    <span data-testid="selection-count">{move || format!("{} selected", selected.with(Vec::len))}</span>
                    <button data-testid="compare-selected" disabled=move || selected.with(|s| s.len() != 2)
                        title="Compare the first selected (base) with the second (new)" on:click=compare>"Compare"</button>
                    <input data-testid="collection-name-input" placeholder="collection name" prop:value=move || name.get()
                        on:input=move |e| name.set(event_target_value(&e))/>
                    <button data-testid="make-collection" disabled=move || name.with(|n| n.trim().is_empty())
                        title="A named, permanent set of these profiles: collated with its spread, and summed" on:click=collect>"Make a collection"</button>
                    <button on:click=move |_| selected.set(Vec::new())>"Clear"</button>
                </div>
            }
        })
    }
}
