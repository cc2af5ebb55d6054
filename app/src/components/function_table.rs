//! The sortable function table (RunSnakeRun / `print_stats` columns).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use profview_api::{FunctionRow, Package, ProfileSummary, SortKey, SortOrder, TreeMode};

use crate::api::{self, FunctionsRequest};
use crate::format;
use crate::url_state;

struct Column {
    /// The sort key; numeric columns are the ones that sort largest first by default.
    key: SortKey,
    label: &'static str,
    title: &'static str,
}

const PSTATS_COLUMNS: &[Column] = &[
    Column { key: SortKey::Ncalls, label: "ncalls", title: "calls (total/primitive when recursive)" },
    Column { key: SortKey::Tottime, label: "tottime", title: "time in the function itself (s)" },
    Column { key: SortKey::PercallTottime, label: "percall", title: "tottime / ncalls" },
    Column { key: SortKey::Cumtime, label: "cumtime", title: "time including callees (s)" },
    Column { key: SortKey::PercallCumtime, label: "percall", title: "cumtime / primitive calls" },
    Column { key: SortKey::Name, label: "function", title: "function name" },
    Column { key: SortKey::File, label: "file:line", title: "where it is defined" },
];

const SAMPLE_COLUMNS: &[Column] = &[
    Column { key: SortKey::SelfWeight, label: "self", title: "weight of samples where this is the leaf" },
    Column { key: SortKey::SelfWeight, label: "self %", title: "self / profile total" },
    Column { key: SortKey::TotalWeight, label: "total", title: "weight of samples whose stack holds this function" },
    Column { key: SortKey::TotalWeight, label: "total %", title: "total / profile total" },
    Column { key: SortKey::Name, label: "function", title: "function name" },
    Column { key: SortKey::File, label: "file:line", title: "where it is defined" },
];

/// A hybrid recording: the sampled columns (real paths, real seconds) and cProfile's exact ones
/// side by side.
const HYBRID_COLUMNS: &[Column] = &[
    Column { key: SortKey::SelfWeight, label: "self", title: "sampled: seconds of samples where this is the leaf" },
    Column { key: SortKey::SelfWeight, label: "self %", title: "self / sampled total" },
    Column { key: SortKey::TotalWeight, label: "total", title: "sampled: seconds of samples whose stack holds this function" },
    Column { key: SortKey::TotalWeight, label: "total %", title: "total / sampled total" },
    Column { key: SortKey::Ncalls, label: "ncalls", title: "exact (cProfile): calls (total/primitive when recursive)" },
    Column { key: SortKey::Tottime, label: "tottime", title: "exact (cProfile): time in the function itself (s)" },
    Column { key: SortKey::Cumtime, label: "cumtime", title: "exact (cProfile): time including callees (s)" },
    Column { key: SortKey::Name, label: "function", title: "function name" },
    Column { key: SortKey::File, label: "file:line", title: "where it is defined" },
];

/// The package filter's label of a class.
fn package_label(p: Package) -> &'static str {
    match p {
        Package::User => "your code",
        Package::Stdlib => "stdlib",
        Package::SitePackages => "site-packages",
        Package::Builtin => "built-ins",
        Package::Native => "native code",
    }
}

/// Which numbers a profile's rows carry.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// pstats: calls and times.
    Pstats,
    /// Sampled: self and total weight.
    Samples,
    /// Both (a recording with its cProfile part).
    Hybrid,
}

impl Mode {
    fn of(summary: &ProfileSummary) -> Mode {
        match (summary.format.as_str(), summary.calls.is_some()) {
            ("pstats", _) => Mode::Pstats,
            (_, true) => Mode::Hybrid,
            _ => Mode::Samples,
        }
    }
    fn columns(self) -> &'static [Column] {
        match self {
            Mode::Pstats => PSTATS_COLUMNS,
            Mode::Samples => SAMPLE_COLUMNS,
            Mode::Hybrid => HYBRID_COLUMNS,
        }
    }
}

/// Fixed row height (px), so the table can be virtualized: only a block of rows around the
/// viewport exists in the DOM, between two spacer rows.
const ROW_H: f64 = 21.0;
/// Rows per fetched block; blocks start at multiples of `BLOCK / 2`.
const BLOCK: usize = 240;

/// The function table of one profile.
#[component]
pub fn FunctionTable(id: String, summary: ProfileSummary) -> impl IntoView {
    let mode = Mode::of(&summary);
    // The unit of self/total weights (times in pstats columns are always seconds).
    let unit = summary.unit.clone();
    let columns: &'static [Column] = mode.columns();
    let sort = url_state::param("sort");
    let order = url_state::param("order");
    let q = url_state::param("q");
    let regex = url_state::param("re");
    let sel = url_state::param("sel");
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let package = url_state::param("pkg");
    // `by=line` (api.rs sends it with every request; read here so that the views refetch).
    let by = url_state::param("by");
    let by_line = Memo::new(move |_| by.get().as_deref() == Some("line"));
    // Whether the profile's functions are grouped from current lines (py-spy, austin): the last
    // page says so; the "by line" toggle is shown for those only.
    let current_lines = RwSignal::new(false);
    // The URL's words as the API's values (an unknown word is ignored, as if absent).
    let sort_key = Memo::new(move |_| sort.get().and_then(|s| SortKey::parse(&s)));
    let sort_order = Memo::new(move |_| order.get().and_then(|s| SortOrder::parse(&s)));
    let package_class = Memo::new(move |_| package.get().and_then(|s| Package::parse(&s)));
    let set = url_state::setter();
    // First visible row, from the scroll position; the fetched block follows it.
    let scroll_row = RwSignal::new(0usize);
    let block_start = Memo::new(move |_| (scroll_row.get().saturating_sub(BLOCK / 4) / (BLOCK / 2)) * (BLOCK / 2));
    let wrap = NodeRef::<leptos::html::Div>::new();
    // A new query starts at the top.
    Effect::new(move |_| {
        sort.track();
        order.track();
        q.track();
        regex.track();
        thread.track();
        tf.track();
        package.track();
        by_line.track();
        scroll_row.set(0);
        if let Some(w) = wrap.get_untracked() {
            w.set_scroll_top(0);
        }
    });

    // Selected elsewhere (a chart, a link): scroll the table to the function's row.
    let pending_scroll = RwSignal::new(None::<u32>);
    {
        let id = id.clone();
        Effect::new(move |_| {
            let Some(fid) = sel.get().and_then(|s| s.parse::<u32>().ok()) else { return };
            let shown = document()
                .query_selector(&format!("[data-testid=function-table] tr[data-id=\"{fid}\"]"))
                .ok()
                .flatten()
                .is_some();
            if shown {
                return;
            }
            let req = FunctionsRequest {
                sort: sort_key.get_untracked(),
                order: sort_order.get_untracked(),
                q: q.get_untracked(),
                regex: regex.get_untracked().as_deref() == Some("1"),
                offset: 0,
                limit: 1,
                thread: thread.get_untracked(),
                tf: tf.get_untracked(),
                package: package_class.get_untracked(),
                find: Some(fid),
            };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                if let Ok(Some(rank)) = api::functions(&id, &req).await.map(|p| p.rank) {
                    // Fetch the block holding the row; the scroll happens once it is rendered.
                    pending_scroll.set(Some(fid));
                    scroll_row.set(rank as usize);
                }
            });
        });
    }

    let id2 = id.clone();
    let page = LocalResource::new(move || {
        let req = FunctionsRequest {
            sort: sort_key.get(),
            order: sort_order.get(),
            q: q.get(),
            regex: regex.get().as_deref() == Some("1"),
            offset: block_start.get(),
            limit: BLOCK,
            thread: thread.get(),
            tf: tf.get(),
            package: package_class.get(),
            find: None,
        };
        by_line.track();
        let id = id2.clone();
        async move {
            let page = api::functions(&id, &req).await;
            if let Ok(p) = &page {
                current_lines.set(p.current_lines);
            }
            page
        }
    });
    // Apply a pending scroll once the row is in the DOM (after the block holding it renders).
    Effect::new(move |_| {
        page.track();
        let Some(fid) = pending_scroll.get() else { return };
        let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
            let sel = format!("[data-testid=function-table] tr[data-id=\"{fid}\"]");
            if let (Some(row), Some(w)) = (document().query_selector(&sel).ok().flatten(), wrap.get_untracked()) {
                // Scroll the table only (scrollIntoView would move the whole page too): centre the row.
                let (r, b) = (row.get_bounding_client_rect(), w.get_bounding_client_rect());
                let delta = r.top() - b.top() - (b.height() - r.height()) / 2.0;
                w.set_scroll_top(w.scroll_top() + delta as i32);
                pending_scroll.set(None);
            }
        });
        let _ = window().request_animation_frame(cb.unchecked_ref());
    });
    // The denominator for percentages: the whole tree's value under the current thread and
    // transforms (the profile total, not the largest row).
    let grand_total = LocalResource::new({
        let id = id.clone();
        move || {
            let id = id.clone();
            let req = api::TreeRequest {
                mode: TreeMode::TopDown,
                root: None,
                thread: thread.get(),
                tf: tf.get(),
                min_frac: 1.0,
                max_nodes: 1,
            };
            by_line.track();
            async move { api::tree(&id, &req).await.ok().map(|t| t.grand_total) }
        }
    });

    let set_sort = set.clone();
    let on_header = move |key: SortKey| {
        let new_order = if sort_key.get_untracked() == Some(key) {
            sort_order.get_untracked().unwrap_or(key.default_order()).flipped()
        } else {
            key.default_order()
        };
        set_sort(&[("sort", Some(key.to_string())), ("order", Some(new_order.to_string()))]);
    };

    let set_q = set.clone();
    let search_value = move || q.get().unwrap_or_default();
    let set_sel = set.clone();

    view! {
        <div class="table-tools">
            <input
                type="search"
                class="search"
                data-testid="search"
                placeholder="Search name or file  ( / )"
                prop:value=search_value
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_q(&[("q", (!v.is_empty()).then_some(v))]);
                }
            />
            <label class="muted">
                <input type="checkbox" prop:checked=move || regex.get().as_deref() == Some("1")
                    on:change={let set = set.clone(); move |ev| {
                        let on = event_target_checked(&ev);
                        set(&[("re", on.then(|| "1".to_owned()))]);
                    }}/>
                " regex"
            </label>
            <select class="pkg" data-testid="package-filter" title="filter by package"
                on:change={let set = set.clone(); move |ev| {
                    let v = event_target_value(&ev);
                    set(&[("pkg", (!v.is_empty()).then_some(v))]);
                }}>
                <option value="" selected=move || package_class.get().is_none()>"all code"</option>
                {Package::ALL.iter().map(|&p| view! {
                    <option value=p.as_str() selected=move || package_class.get() == Some(p)>{package_label(p)}</option>
                }).collect_view()}
            </select>
            <Show when=move || current_lines.get()>
                <label class="muted" title="py-spy and austin record the line each frame was at: one row per function (its lines in the detail), or one row per line">
                    <input type="checkbox" data-testid="by-line" prop:checked=move || by_line.get()
                        on:change={let set = set.clone(); move |ev| {
                            let on = event_target_checked(&ev);
                            // Function ids differ between the two tables: drop the selection, the
                            // zoom and the transforms that name ids.
                            let kept = tf.get_untracked().as_deref().and_then(crate::components::transforms::without_ids);
                            set(&[("by", on.then(|| "line".to_owned())), ("sel", None), ("root", None), ("tf", kept)]);
                        }}/>
                    " by line"
                </label>
            </Show>
            <span class="muted" data-testid="row-count">
                {move || page.get().and_then(|r| r.ok()).map(|p| format!("{} functions", p.total))}
            </span>
        </div>
        <div class="table-wrap" node_ref=wrap on:scroll=move |_| {
            if let Some(w) = wrap.get_untracked() {
                scroll_row.set((w.scroll_top() as f64 / ROW_H).floor() as usize);
            }
        }>
            <table class="functions" data-testid="function-table">
                <thead>
                    <tr>
                        {columns.iter().map(|c| {
                            let key = c.key;
                            let numeric = key.default_order() == SortOrder::Desc;
                            let on_header = on_header.clone();
                            let arrow = move || {
                                if sort_key.get() == Some(key) {
                                    if sort_order.get() == Some(SortOrder::Asc) { " ▲" } else { " ▼" }
                                } else { "" }
                            };
                            view! {
                                <th class:num=numeric title=c.title data-sort=key.as_str()
                                    on:click=move |_| on_header(key)>
                                    {c.label}{arrow}
                                </th>
                            }
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    <Transition fallback=|| view! { <tr><td class="loading">"Loading…"</td></tr> }>
                        {move || {
                            let total = grand_total.get().flatten();
                            page.get().map(|r| match r {
                                Err(e) => view! { <tr><td class="error" data-testid="error" colspan="7">{e.to_string()}</td></tr> }.into_any(),
                                Ok(p) => {
                                    let start = block_start.get_untracked().min(p.total as usize);
                                    let after = (p.total as usize).saturating_sub(start + p.rows.len());
                                    let cols = columns.len().to_string();
                                    view! {
                                        <tr class="spacer" style=format!("height:{}px", start as f64 * ROW_H)><td colspan=cols.clone()></td></tr>
                                        {p.rows.into_iter().enumerate().map(|(i, row)| {
                                            let rid = row.id.to_string();
                                            let rid2 = rid.clone();
                                            let set_sel = set_sel.clone();
                                            let selected = move || sel.get().as_deref() == Some(rid2.as_str());
                                            view! {
                                                <tr data-testid="function-row" data-id=rid.clone() data-rank=(start + i).to_string() class:selected=selected
                                                    on:click=move |_| set_sel(&[("sel", Some(rid.clone()))])>
                                                    {cells(&row, mode, total, &unit)}
                                                </tr>
                                            }
                                        }).collect_view()}
                                        <tr class="spacer" style=format!("height:{}px", after as f64 * ROW_H)><td colspan=cols></td></tr>
                                    }.into_any()
                                }
                            })
                        }}
                    </Transition>
                </tbody>
            </table>
        </div>
    }
}

/// A number cell: readable text, the exact value with its unit on hover, the raw value in
/// `data-value`.
fn num_cell(value: Option<f64>, unit: &str, col: &'static str) -> impl IntoView {
    let v = value.map(|v| v.to_string()).unwrap_or_default();
    view! { <td class="num" data-col=col data-value=v title=format::exact(value, unit)>{format::amount(value, unit)}</td> }
}

fn cells(row: &FunctionRow, mode: Mode, total: Option<f64>, unit: &str) -> impl IntoView {
    let full = if row.line != 0 { format!("{}:{}", row.file, row.line) } else { row.file.clone() };
    let short = format::short_path(&row.file);
    let loc = if row.line != 0 { format!("{short}:{}", row.line) } else { short };
    let name = view! { <td class="name" data-col="name" title=row.name.clone()>{row.name.clone()}</td> };
    let file = view! { <td class="file" data-col="file" title=full>{loc}</td> };
    let pct = move |v: Option<f64>| match (v, total) {
        (Some(v), Some(t)) if t != 0.0 => format!("{:.1}%", 100.0 * v / t),
        _ => String::new(),
    };
    let ncalls = || {
        view! {
            <td class="num" data-col="ncalls" data-value=row.ncalls.map(|v| v.to_string()).unwrap_or_default()>
                {format::ncalls(row.ncalls, row.primcalls)}
            </td>
        }
    };
    if mode == Mode::Hybrid {
        view! {
            {num_cell(row.self_weight, unit, "self")}
            <td class="num pct">{pct(row.self_weight)}</td>
            {num_cell(row.total_weight, unit, "total")}
            <td class="num pct">{pct(row.total_weight)}</td>
            {ncalls()}
            {num_cell(row.tottime, "seconds", "tottime")}
            {num_cell(row.cumtime, "seconds", "cumtime")}
            {name}
            {file}
        }
        .into_any()
    } else if mode == Mode::Pstats {
        view! {
            <td class="num" data-col="ncalls" data-value=row.ncalls.map(|v| v.to_string()).unwrap_or_default()>
                {format::ncalls(row.ncalls, row.primcalls)}
            </td>
            {num_cell(row.tottime, "seconds", "tottime")}
            {num_cell(format::ratio(row.tottime, row.ncalls), "seconds", "percall_tottime")}
            {num_cell(row.cumtime, "seconds", "cumtime")}
            {num_cell(format::ratio(row.cumtime, row.primcalls), "seconds", "percall_cumtime")}
            {name}
            {file}
        }
        .into_any()
    } else {
        view! {
            {num_cell(row.self_weight, unit, "self")}
            <td class="num pct">{pct(row.self_weight)}</td>
            {num_cell(row.total_weight, unit, "total")}
            <td class="num pct">{pct(row.total_weight)}</td>
            {name}
            {file}
        }
        .into_any()
    }
}
