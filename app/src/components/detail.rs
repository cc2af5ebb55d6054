//! The selected function: its numbers, direct callers and callees (as RunSnakeRun shows them),
//! all callers / all callees, and a sandwich (callers above, callees below).

use leptos::prelude::*;
use profview_api::{EdgeRow, FunctionLines, FunctionRow, TreeSlice};

use crate::api;
use crate::components::source_view::SourceTab;
use crate::format;
use crate::url_state;

fn location(file: &str, line: i64) -> String {
    if line != 0 { format!("{file}:{line}") } else { file.to_owned() }
}

/// The detail panel for the `sel` function.
#[component]
pub fn FunctionDetailPanel(id: String, pstats: bool, unit: String) -> impl IntoView {
    let sel = url_state::param("sel");
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let tab = url_state::param("dtab");
    let set = url_state::setter();
    let id1 = id.clone();
    let detail = LocalResource::new(move || {
        let fid = sel.get().and_then(|s| s.parse::<u32>().ok());
        let (thread, tf) = (thread.get(), tf.get());
        let id = id1.clone();
        async move {
            let f = fid?;
            let detail = api::function_detail(&id, f, &thread, &tf).await;
            // A sampled function's lines (py-spy, austin: one function, several lines).
            let lines = match (&detail, pstats) {
                (Ok(_), false) => api::function_lines(&id, f, &thread).await.ok(),
                _ => None,
            };
            Some(detail.map(|d| (d, lines)))
        }
    });
    let set_edges = set.clone();
    let unit_tabs = unit.clone();
    view! {
        <aside class="detail" data-testid="function-detail">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || detail.get().map(|d| match d {
                    None => view! { <p class="muted hint">"Select a function in the table or a chart to see its callers and callees."</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Some(Ok((d, lines))) => {
                        let f = d.function.clone();
                        view! {
                            <h2 class="detail-name" data-testid="detail-name" title=f.name.clone()>{f.name.clone()}</h2>
                            <div class="detail-loc muted" data-testid="detail-location">{location(&f.file, f.line)}</div>
                            {stats_line(&f, pstats, &unit)}
                            {lines.filter(|l| l.rows.len() > 1).map(|l| lines_table(l, &unit))}
                            {
                                let set = set_edges.clone();
                                let fid = f.id;
                                let act = move |op: String| {
                                    let set = set.clone();
                                    move |_| crate::components::transforms::push_op(&set, tf.get_untracked(), op.clone())
                                };
                                view! {
                                    <div class="actions">
                                        <button data-testid="tf-focus" title="show only stacks through this function" on:click=act(format!("f:{fid}"))>"Focus"</button>
                                        <button data-testid="tf-merge" title="merge this function into its callers" on:click=act(format!("m:{fid}"))>"Merge into callers"</button>
                                        {(!pstats).then(|| view! {
                                            <button data-testid="tf-drop" title="drop every stack through this function" on:click=act(format!("x:{fid}"))>"Drop stacks"</button>
                                        })}
                                    </div>
                                }
                            }
                            <h3>"Callers " <span class="muted">{format!("({})", d.callers.len())}</span></h3>
                            {edge_table(d.callers.clone(), "callers", pstats, &unit, set_edges.clone())}
                            <h3>"Callees " <span class="muted">{format!("({})", d.callees.len())}</span></h3>
                            {edge_table(d.callees.clone(), "callees", pstats, &unit, set_edges.clone())}
                        }.into_any()
                    }
                })}
            </Transition>
            {
                let set = set.clone();
                let id = id.clone();
                let unit = unit_tabs;
                move || sel.get().map(|s| {
                    let fid: u32 = s.parse().unwrap_or(0);
                    let current = tab.get().unwrap_or_else(|| "all-callers".into());
                    let tabs = [("all-callers", "All callers"), ("all-callees", "All callees"), ("sandwich", "Sandwich"), ("source", "Source")];
                    let id = id.clone();
                    view! {
                        <div class="tabs small">
                            {tabs.into_iter().map(|(key, label)| {
                                let set = set.clone();
                                let active = current == key;
                                view! {
                                    <button class:active=active data-testid=format!("tab-{key}")
                                        on:click=move |_| set(&[("dtab", Some(key.to_owned()))])>{label}</button>
                                }
                            }).collect_view()}
                        </div>
                        {if current == "sandwich" {
                            view! { <SandwichView id=id.clone() fid=fid/> }.into_any()
                        } else if current == "source" {
                            view! { <SourceTab id=id.clone() fid=fid unit=unit.clone()/> }.into_any()
                        } else {
                            view! { <ReachView id=id.clone() fid=fid unit=unit.clone() which=if current == "all-callees" { "all-callees" } else { "all-callers" }/> }.into_any()
                        }}
                    }
                })
            }
        </aside>
    }
}

/// One figure of the detail's stats line: its label, a number with its unit, or else a text.
type StatItem = (&'static str, Option<(f64, String)>, String);

fn stats_line(f: &FunctionRow, pstats: bool, unit: &str) -> impl IntoView {
    // (label, value, unit): times of pstats columns are seconds, sampled weights are in the
    // profile's unit; ncalls is text.
    let calls = || ("ncalls", None, format::ncalls(f.ncalls, f.primcalls));
    let num = |k: &'static str, v: Option<f64>, u: &str| (k, v.map(|x| (x, u.to_owned())), String::new());
    let items: Vec<StatItem> = if pstats {
        vec![
            calls(),
            num("tottime", f.tottime, "seconds"),
            num("cumtime", f.cumtime, "seconds"),
            num("percall", format::ratio(f.cumtime, f.primcalls), "seconds"),
        ]
    } else if f.ncalls.is_some() {
        // A hybrid recording: sampled seconds, then cProfile's exact numbers for the whole run.
        vec![
            num("self", f.self_weight, unit),
            num("total", f.total_weight, unit),
            calls(),
            num("tottime", f.tottime, "seconds"),
            num("cumtime", f.cumtime, "seconds"),
        ]
    } else {
        vec![num("self", f.self_weight, unit), num("total", f.total_weight, unit)]
    };
    view! {
        <dl class="stats">
            {items.into_iter().map(|(k, v, text)| {
                let (shown, title) = match v {
                    Some((x, u)) => (format::amount(Some(x), &u), format::exact(Some(x), &u)),
                    None => (text, String::new()),
                };
                view! { <dt>{k}</dt><dd data-stat=k title=title>{shown}</dd> }
            }).collect_view()}
        </dl>
    }
}

/// The lines of a function grouped from the lines its frames were at (py-spy, austin).
fn lines_table(l: FunctionLines, unit: &str) -> impl IntoView {
    view! {
        <h3>"Lines " <span class="muted">{format!("({})", l.rows.len())}</span></h3>
        <table class="edges" data-testid="function-lines">
            <thead><tr><th class="num">"line"</th><th class="num">"self"</th><th class="num">"total"</th></tr></thead>
            <tbody>
                {l.rows.into_iter().map(|r| view! {
                    <tr data-testid="line-row" data-line=r.line.to_string()>
                        <td class="num">{r.line}</td>
                        <td class="num" data-value=r.self_value.to_string() title=format::exact(Some(r.self_value), unit)>{format::amount(Some(r.self_value), unit)}</td>
                        <td class="num" data-value=r.total.to_string() title=format::exact(Some(r.total), unit)>{format::amount(Some(r.total), unit)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn edge_table(rows: Vec<EdgeRow>, testid: &'static str, pstats: bool, unit: &str, set: impl Fn(&[(&str, Option<String>)]) + Clone + 'static) -> impl IntoView {
    let empty = rows.is_empty().then(|| {
        view! { <p class="muted empty-list">{if testid == "callers" { "None: a root (nothing calls it)." } else { "None: a leaf (it calls nothing)." }}</p> }
    });
    view! {
        {empty}
        // data-testid values: callers, callees
        <table class="edges" data-testid=testid>
            <thead><tr>
                {if pstats {
                    view! { <th class="num">"ncalls"</th><th class="num">"tottime"</th><th class="num">"cumtime"</th> }.into_any()
                } else {
                    view! { <th class="num">"weight"</th> }.into_any()
                }}
                <th>"function"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let set = set.clone();
                    let fid = r.id.to_string();
                    let loc = location(&r.file, r.line);
                    view! {
                        <tr data-testid="edge-row" data-id=fid.clone() title=loc
                            on:click=move |_| set(&[("sel", Some(fid.clone()))])>
                            {if pstats {
                                view! {
                                    <td class="num">{format::ncalls(r.ncalls, r.primcalls)}</td>
                                    <td class="num" data-value=r.tottime.map(|v| v.to_string()).unwrap_or_default() title=format::exact(r.tottime, "seconds")>{format::secs(r.tottime)}</td>
                                    <td class="num" data-value=r.cumtime.map(|v| v.to_string()).unwrap_or_default() title=format::exact(r.cumtime, "seconds")>{format::secs(r.cumtime)}</td>
                                }.into_any()
                            } else {
                                view! { <td class="num" data-value=r.weight.map(|v| v.to_string()).unwrap_or_default() title=format::exact(r.weight, unit)>{format::amount(r.weight, unit)}</td> }.into_any()
                            }}
                            <td class="name">{r.name}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// All callers or all callees, nearest first.
#[component]
fn ReachView(id: String, fid: u32, unit: String, which: &'static str) -> impl IntoView {
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let set = url_state::setter();
    let list = LocalResource::new(move || {
        let id = id.clone();
        let (thread, tf) = (thread.get(), tf.get());
        async move { api::reach(&id, fid, which, &thread, &tf).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                Ok(l) if l.rows.is_empty() => view! {
                    // data-testid values: all-callers, all-callees
                    <p class="muted empty-list" data-testid=which>{if which == "all-callers" { "Nothing calls it." } else { "It calls nothing." }}</p>
                }.into_any(),
                Ok(l) => view! {
                    // data-testid values: all-callers, all-callees
                    <table class="edges" data-testid=which>
                        <thead><tr><th class="num">"dist"</th><th class="num">"inclusive"</th><th>"function"</th></tr></thead>
                        <tbody>
                            {l.rows.into_iter().map(|r| {
                                let set = set.clone();
                                let fid = r.id.to_string();
                                view! {
                                    <tr data-testid="reach-row" title=location(&r.file, r.line)
                                        on:click=move |_| set(&[("sel", Some(fid.clone()))])>
                                        <td class="num">{r.distance}</td>
                                        <td class="num" title=format::exact(r.inclusive, &unit)>{format::amount(r.inclusive, &unit)}</td>
                                        <td class="name">{r.name}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Callers tree above, callees tree below, as indented lists.
#[component]
fn SandwichView(id: String, fid: u32) -> impl IntoView {
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let set = url_state::setter();
    let data = LocalResource::new(move || {
        let id = id.clone();
        let (thread, tf) = (thread.get(), tf.get());
        async move { api::sandwich(&id, fid, &thread, &tf).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                Ok(s) => view! {
                    <div class="sandwich" data-testid="sandwich">
                        <h3>"Callers (inverted)"</h3>
                        {tree_list(s.callers, true, set.clone())}
                        <h3>"Callees"</h3>
                        {tree_list(s.callees, false, set.clone())}
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}

fn tree_list(t: TreeSlice, up: bool, set: impl Fn(&[(&str, Option<String>)]) + Clone + 'static) -> impl IntoView {
    let grand = t.grand_total;
    let mut nodes: Vec<_> = t.nodes.into_iter().filter(|n| n.depth <= 12).collect();
    if up {
        // Callers read upward: deepest caller first.
        nodes.reverse();
    }
    view! {
        <ul class="tree-list">
            {nodes.into_iter().map(|n| {
                let set = set.clone();
                let pct = if grand > 0.0 { format!("{:.1}%", 100.0 * n.total / grand) } else { String::new() };
                let mark = match n.exactness { profview_api::Exactness::Estimated => "≈ ", profview_api::Exactness::Cut => "↻ ", _ => "" };
                let func = n.func;
                view! {
                    <li style=format!("padding-left:{}px", n.depth * 12) on:click=move |_| {
                        if let Some(f) = func { set(&[("sel", Some(f.to_string()))]); }
                    }>
                        <span class="pct">{pct}</span>" "{mark}{n.name}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
