//! `/c/<id>`: a collection. The collated table (per function: in how many profiles it appears,
//! the sum, the median, p95 and max, and the distribution over the profiles), then the whole
//! dashboard over the summed profile (the collection's id is its summed profile's id). The
//! table's state is in the URL as `csort`, `corder`, `cmetric`, `cq`.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use profview_api::{CollateReport, CollateRow, Metric, SortOrder};

use crate::api::{self, TableRequest};
use crate::format;
use crate::pages::profile::ProfilePage;
use crate::url_state;

/// Rows of the collated table fetched at once.
const ROWS: usize = 500;

/// The collection page.
#[component]
pub fn CollectionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let info = LocalResource::new(move || {
        let id = id.get();
        async move { api::collection(&id).await }
    });
    let sort = url_state::param("csort");
    let order = url_state::param("corder");
    let metric = url_state::param("cmetric");
    let cq = url_state::param("cq");
    let metric_v = Memo::new(move |_| metric.get().and_then(|m| Metric::parse(&m)));
    let table = LocalResource::new(move || {
        let id = id.get();
        let r = TableRequest {
            sort: sort.get(),
            metric: metric_v.get(),
            order: order.get().and_then(|o| SortOrder::parse(&o)),
            q: cq.get(),
            limit: ROWS,
        };
        async move { api::collection_table(&id, &r).await }
    });
    let set = url_state::setter();
    let set_q = set.clone();
    view! {
        <section class="page collection-page">
            {move || info.get().map(|r| match r {
                Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                Ok(c) => view! {
                    <h1 data-testid="collection-name">{c.name.clone()}</h1>
                    <p class="muted">{format!("{} profiles ({}, {}); every number is over all of them, a profile without the function counting as 0.", c.profiles.len(), c.kind, c.unit)}</p>
                }.into_any(),
            })}
            <div class="table-tools">
                <input type="search" class="search" data-testid="collection-search" placeholder="Search name or file"
                    prop:value=move || cq.get().unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev); set_q(&[("cq", (!v.is_empty()).then_some(v))]); }/>
                {move || table.get().and_then(|r| r.ok()).map(|rep| {
                    let list = if rep.kind == "pstats" { Metric::PSTATS } else { Metric::SAMPLES };
                    let default = if rep.kind == "pstats" { Metric::Tottime } else { Metric::SelfWeight };
                    let cur = metric_v.get().unwrap_or(default);
                    let set = set.clone();
                    view! {
                        <label>"number "
                            <select data-testid="collection-metric" on:change=move |ev| set(&[("cmetric", Some(event_target_value(&ev)))])>
                                {list.iter().map(|&m| view! { <option value=m.as_str() selected=cur == m>{m.as_str()}</option> }).collect_view()}
                            </select>
                        </label>
                        <span class="muted">{format!("{} functions", rep.total)}</span>
                    }
                })}
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || table.get().map(|r| match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(rep) => view! { <CollateTable rep=rep sort=sort order=order metric=metric_v/> }.into_any(),
                })}
            </Suspense>
            <h2>"The summed profile"</h2>
        </section>
        <ProfilePage/>
    }
}

/// A row's distribution over the profiles: a line from min to max, a dot per profile, ticks at
/// the median and p95. Drawn from numbers only (no names), as SVG.
fn distribution(values: &[f64], median: f64, p95: f64, max: f64) -> impl IntoView {
    const W: f64 = 120.0;
    const H: f64 = 14.0;
    let x = move |v: f64| if max > 0.0 { 2.0 + (W - 4.0) * v / max } else { 2.0 };
    let dots: Vec<f64> = values.iter().take(400).map(|&v| x(v)).collect();
    view! {
        <svg class="dist" data-testid="distribution" width=W height=H viewBox=format!("0 0 {W} {H}")
            data-count=values.len().to_string()>
            <line x1="2" y1="7" x2=(W - 2.0).to_string() y2="7"/>
            {dots.into_iter().map(|cx| view! { <circle cx=format!("{cx:.1}") cy="7" r="1.6"/> }).collect_view()}
            <rect class="median" x=format!("{:.1}", x(median) - 0.75) y="2" width="1.5" height="10"/>
            <rect class="p95" x=format!("{:.1}", x(p95) - 0.75) y="2" width="1.5" height="10"/>
        </svg>
    }
}

#[component]
fn CollateTable(
    rep: CollateReport,
    sort: Memo<Option<String>>,
    order: Memo<Option<String>>,
    metric: Memo<Option<Metric>>,
) -> impl IntoView {
    let set = url_state::setter();
    let m = metric.get_untracked().unwrap_or(if rep.kind == "pstats" { Metric::Tottime } else { Metric::SelfWeight });
    let files = rep.files;
    let unit = rep.unit.clone();
    let header = move |key: &'static str, label: &'static str, title: &'static str| {
        let set = set.clone();
        let arrow = move || {
            if sort.get().as_deref().unwrap_or("sum") == key {
                if order.get().as_deref() == Some("asc") { " ▲" } else { " ▼" }
            } else {
                ""
            }
        };
        view! {
            <th data-sort=key title=title on:click=move |_| {
                let cur = sort.get_untracked().unwrap_or_else(|| "sum".to_owned());
                let new_order = if cur == key {
                    if order.get_untracked().as_deref() == Some("asc") { "desc" } else { "asc" }
                } else if key == "name" { "asc" } else { "desc" };
                set(&[("csort", Some(key.to_owned())), ("corder", Some(new_order.to_owned()))]);
            }>{label}{arrow}</th>
        }
    };
    let row = move |r: CollateRow| {
        let s = r.spread.get(m).copied().unwrap_or_default();
        let sum = r.sum.get(m).copied().unwrap_or(0.0);
        let fmt = |v: f64| format::value(v, &unit);
        let loc = if r.file.is_empty() { String::new() } else { format!("{}:{}", format::short_path(&r.file), r.line) };
        let values = r.values.clone().unwrap_or_default();
        view! {
            <tr data-testid="collection-row" data-id=r.id.to_string()>
                <td class="name" title=r.file.clone()>{r.name.clone()}<span class="muted">" "{loc}</span></td>
                <td class="num" data-col="present">{format!("{}/{files}", r.present)}</td>
                <td class="num" data-col="sum">{fmt(sum)}</td>
                <td class="num" data-col="median">{fmt(s.median)}</td>
                <td class="num" data-col="p95">{fmt(s.p95)}</td>
                <td class="num" data-col="max">{fmt(s.max)}</td>
                <td>{distribution(&values, s.median, s.p95, s.max)}</td>
            </tr>
        }
    };
    view! {
        <div class="table-wrap">
            <table class="collection" data-testid="collection-table">
                <thead><tr>
                    {header("name", "function", "function name")}
                    {header("present", "present", "in how many profiles it appears")}
                    {header("sum", "sum", "over all profiles (pstats.Stats(*files))")}
                    {header("median", "median", "per profile")}
                    {header("p95", "p95", "per profile")}
                    {header("max", "max", "per profile")}
                    <th title="one dot per profile; ticks at the median and p95">"distribution"</th>
                </tr></thead>
                <tbody>{rep.functions.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
}
