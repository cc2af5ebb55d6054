//! `/compare?base=<ids>&new=<ids>`: the diff of two sides (each a profile, a collection or a
//! set): the diff table and the diff flame graph / icicle. The whole view state is in the URL:
//! `normalize`, `metric`, `sort`, `order`, `q`, `sel`, `root`, `view`.

use leptos::html::Div;
use leptos::prelude::*;
use profview_api::{ChartKind, DiffReport, DiffRow, Metric, Normalize, SideValues, SortOrder, TreeMode};

use crate::api::{self, Sides, TableRequest};
use crate::charts::Chart;
use crate::components::chart_view::{follow_selection_and_search, mount_when_ready};
use crate::format;
use crate::url_state;

/// Rows of the diff table fetched at once.
const ROWS: usize = 500;

fn side_value(s: &Option<SideValues>, m: Metric) -> Option<f64> {
    s.as_ref().and_then(|s| s.values.get(m).copied())
}

fn signed(v: f64, unit: &str, normalize: Normalize) -> String {
    let sign = if v > 0.0 { "+" } else if v < 0.0 { "−" } else { "" };
    format!("{sign}{}", value(v.abs(), unit, normalize))
}

fn value(v: f64, unit: &str, normalize: Normalize) -> String {
    if normalize == Normalize::Total {
        format!("{:.2} %", v * 100.0)
    } else {
        format::value(v, unit)
    }
}

/// The compare page.
#[component]
pub fn ComparePage() -> impl IntoView {
    let base = url_state::param("base");
    let new = url_state::param("new");
    let normalize = url_state::param("normalize");
    let metric = url_state::param("metric");
    let sort = url_state::param("sort");
    let order = url_state::param("order");
    let q = url_state::param("q");
    let sel = url_state::param("sel");
    let view_name = url_state::param("view");
    let set = url_state::setter();

    let sides = Memo::new(move |_| Sides {
        base: base.get().unwrap_or_default(),
        new: new.get().unwrap_or_default(),
        normalize: normalize.get().and_then(|n| Normalize::parse(&n)).unwrap_or_default(),
    });
    let metric_v = Memo::new(move |_| metric.get().and_then(|m| Metric::parse(&m)));
    let table = LocalResource::new(move || {
        let s = sides.get();
        let r = TableRequest {
            sort: sort.get(),
            metric: metric_v.get(),
            order: order.get().and_then(|o| SortOrder::parse(&o)),
            q: q.get(),
            limit: ROWS,
        };
        async move { api::compare(&s, &r).await }
    });
    // Ids to names (profiles and collections), for the header.
    let names = LocalResource::new(|| async {
        let mut out: Vec<(String, String)> = Vec::new();
        if let Ok(list) = api::list_profiles().await {
            out.extend(list.into_iter().map(|p| (p.id, p.name)));
        }
        if let Ok(list) = api::list_collections().await {
            out.extend(list.into_iter().map(|c| (c.id, format!("{} (collection of {})", c.name, c.profiles.len()))));
        }
        out
    });
    let kind = Memo::new(move |_| {
        view_name.get().as_deref().and_then(ChartKind::parse).filter(|k| ChartKind::COMPARE.contains(k)).unwrap_or(ChartKind::DiffFlame)
    });

    let set_norm = set.clone();
    let set_metric = set.clone();
    let set_q = set.clone();
    let set_view = set.clone();
    view! {
        <section class="page compare-page">
            <h1>"Compare"</h1>
            <div class="compare-head">
                <span class="side">"base: " <span data-testid="compare-base" title=move || base.get().unwrap_or_default()>{move || side_names(base.get(), &names)}</span></span>
                <span class="side">"new: " <span data-testid="compare-new" title=move || new.get().unwrap_or_default()>{move || side_names(new.get(), &names)}</span></span>
                <label>"scale "
                    <select data-testid="normalize" on:change=move |ev| set_norm(&[("normalize", Some(event_target_value(&ev)))])>
                        {Normalize::ALL.iter().map(|&n| view! {
                            <option value=n.as_str() selected=move || sides.get().normalize == n>{match n {
                                Normalize::Absolute => "absolute",
                                Normalize::Total => "share of each side's total",
                                Normalize::Profile => "per profile",
                            }}</option>
                        }).collect_view()}
                    </select>
                </label>
                {move || table.get().and_then(|r| r.ok()).map(|rep| {
                    let kind = if rep.kind == "pstats" { Metric::PSTATS } else { Metric::SAMPLES };
                    let cur = metric_v.get();
                    let set_metric = set_metric.clone();
                    view! {
                        <label>"number "
                            <select data-testid="metric" on:change=move |ev| set_metric(&[("metric", Some(event_target_value(&ev)))])>
                                {kind.iter().enumerate().map(|(i, &m)| {
                                    let chosen = cur.map_or(i == if rep.kind == "pstats" { 2 } else { 0 }, |c| c == m);
                                    view! { <option value=m.as_str() selected=chosen>{m.as_str()}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        <span class="muted" data-testid="compare-test">{test_text(&rep)}</span>
                    }
                })}
                <span class="legend" data-testid="diff-legend">
                    <span><i class="sw faster"></i>"faster"</span><span><i class="sw slower"></i>"slower"</span>
                    <span><i class="sw same"></i>"same, or within the noise"</span><span><i class="sw gone"></i>"gone"</span><span><i class="sw added"></i>"new"</span>
                </span>
            </div>
            <div class="tabs">
                {ChartKind::COMPARE.iter().map(|&k| {
                    let set = set_view.clone();
                    view! {
                        <button class:active=move || kind.get() == k data-testid=format!("view-{k}")
                            on:click=move |_| set(&[("view", Some(k.to_string())), ("root", None)])>{k.label()}</button>
                    }
                }).collect_view()}
            </div>
            {move || { let k = kind.get(); view! { <DiffChart sides=sides kind=k/> } }}
            <div class="table-tools">
                <input type="search" class="search" data-testid="search" placeholder="Search name or file"
                    prop:value=move || q.get().unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev); set_q(&[("q", (!v.is_empty()).then_some(v))]); }/>
                <span class="muted" data-testid="row-count">
                    {move || table.get().and_then(|r| r.ok()).map(|p| format!("{} functions", p.total))}
                </span>
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || table.get().map(|r| match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(rep) => view! { <DiffTable rep=rep sel=sel sort=sort order=order metric=metric_v/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// A side's ids as names where known: `a.prof`, or `a.prof, b.prof +3 more`.
fn side_names(ids: Option<String>, names: &LocalResource<Vec<(String, String)>>) -> String {
    let ids = ids.unwrap_or_default();
    let known = names.get().unwrap_or_default();
    let list: Vec<String> = ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|id| known.iter().find(|(k, _)| k == id).map(|(_, n)| n.clone()).unwrap_or_else(|| id.to_owned()))
        .collect();
    match list.len() {
        0..=3 => list.join(", "),
        n => format!("{} +{} more", list[..2].join(", "), n - 2),
    }
}

fn test_text(r: &DiffReport) -> String {
    match r.test.as_str() {
        "mann-whitney" => format!(
            "{} vs {} profiles · Mann–Whitney U per function, Benjamini–Hochberg at {}: greyed rows are within the noise",
            r.base.profiles, r.new.profiles, r.alpha
        ),
        "binomial" => format!("binomial test of the sample counts, Benjamini–Hochberg at {}: greyed rows are within the noise", r.alpha),
        _ => "one profile a side: no noise estimate (compare sets of profiles to test significance)".to_owned(),
    }
}

#[component]
fn DiffTable(
    rep: DiffReport,
    sel: Memo<Option<String>>,
    sort: Memo<Option<String>>,
    order: Memo<Option<String>>,
    metric: Memo<Option<Metric>>,
) -> impl IntoView {
    let set = url_state::setter();
    let pstats = rep.kind == "pstats";
    let m = metric.get_untracked().unwrap_or(if pstats { Metric::Tottime } else { Metric::SelfWeight });
    let unit = rep.unit.clone();
    let normalize = rep.normalize;
    let set_sort = set.clone();
    let header = move |key: &'static str, label: &'static str, title: &'static str| {
        let set_sort = set_sort.clone();
        let arrow = move || {
            if sort.get().as_deref().unwrap_or("delta") == key {
                if order.get().as_deref() == Some("asc") { " ▲" } else { " ▼" }
            } else {
                ""
            }
        };
        view! {
            <th data-sort=key title=title on:click=move |_| {
                let cur = sort.get_untracked().unwrap_or_else(|| "delta".to_owned());
                let asc_first = matches!(key, "name" | "significance");
                let new_order = if cur == key {
                    if order.get_untracked().as_deref() == Some("asc") { "desc" } else { "asc" }
                } else if asc_first { "asc" } else { "desc" };
                set_sort(&[("sort", Some(key.to_owned())), ("order", Some(new_order.to_owned()))]);
            }>{label}{arrow}</th>
        }
    };
    let rows = rep.rows.clone();
    let row = move |r: DiffRow| {
        let id = r.id;
        let set = set.clone();
        let (b, n) = (side_value(&r.base, m), side_value(&r.new, m));
        let d = r.delta.get(m).copied().unwrap_or(0.0);
        let rel = match (r.relative.get(m), &r.base, &r.new) {
            (_, _, None) => "gone".to_owned(),
            (None, None, _) => "new".to_owned(),
            (Some(v), _, _) => format!("{}{:.1} %", if *v > 0.0 { "+" } else { "" }, v * 100.0),
            (None, _, _) => String::new(),
        };
        let sig = r.significance.as_ref().and_then(|s| s.get(m).copied());
        let insignificant = sig.is_some_and(|s| !s.significant);
        let split = r.split.as_ref().and_then(|s| s.get(if m == Metric::Cumtime { Metric::Cumtime } else { Metric::Tottime }).copied());
        let is_sel = move || sel.get().and_then(|s| s.parse::<u32>().ok()) == Some(id);
        let (unit1, unit2, unit3, unit4, unit5) = (unit.clone(), unit.clone(), unit.clone(), unit.clone(), unit.clone());
        let loc = if r.file.is_empty() { String::new() } else { format!("{}:{}", format::short_path(&r.file), r.line) };
        view! {
            <tr data-testid="compare-row" data-id=id.to_string() class:insignificant=insignificant class:selected=is_sel
                data-significant=sig.map(|s| s.significant.to_string()).unwrap_or_default()
                on:click=move |_| set(&[("sel", Some(id.to_string()))])>
                <td class="name" title=r.file.clone()>{r.name.clone()}<span class="muted">" "{loc}</span></td>
                <td class="num" data-col="base">{b.map(|v| value(v, &unit1, normalize)).unwrap_or_else(|| "–".into())}</td>
                <td class="num" data-col="new">{n.map(|v| value(v, &unit2, normalize)).unwrap_or_else(|| "–".into())}</td>
                <td class="num" class:up={d > 0.0} class:down={d < 0.0} data-col="delta" data-value=d.to_string()>{signed(d, &unit3, normalize)}</td>
                <td class="num" data-col="relative">{rel}</td>
                {pstats.then(|| view! {
                    <td class="num" data-col="more-calls" title="Δ calls × base time per call">{split.map(|s| signed(s.more_calls, &unit4, normalize)).unwrap_or_default()}</td>
                    <td class="num" data-col="slower-per-call" title="new calls × Δ time per call">{split.map(|s| signed(s.slower_per_call, &unit5, normalize)).unwrap_or_default()}</td>
                })}
                <td class="num" data-col="q" title="Benjamini–Hochberg adjusted p-value">{sig.map(|s| format!("{:.3}", s.q)).unwrap_or_default()}</td>
            </tr>
        }
    };
    view! {
        <div class="table-wrap">
            <table class="compare" data-testid="compare-table">
                <thead><tr>
                    {header("name", "function", "function name")}
                    {header("base", "base", "the base side")}
                    {header("new", "new", "the new side")}
                    {header("delta", "change", "new − base, by size")}
                    {header("relative", "relative", "change / base")}
                    {pstats.then(|| view! { <th title="the part of the change from more (or fewer) calls">"more calls"</th><th title="the part from slower (or faster) calls">"slower calls"</th> })}
                    {header("significance", "q", "significance: Benjamini–Hochberg adjusted p-value; smallest first")}
                </tr></thead>
                <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
}

/// The diff flame graph or icicle.
#[component]
fn DiffChart(sides: Memo<Sides>, kind: ChartKind) -> impl IntoView {
    let root = url_state::param("root");
    let sel = url_state::param("sel");
    let q = url_state::param("q");
    let set = url_state::setter();
    let container = NodeRef::<Div>::new();
    let chart = StoredValue::new_local(None::<Chart>);
    let error = RwSignal::new(None::<String>);
    let data = LocalResource::new(move || {
        let (s, root) = (sides.get(), root.get());
        async move {
            let t = api::compare_tree(&s, TreeMode::TopDown, &root).await?;
            Ok::<_, api::ApiError>(serde_json::to_string(&t).unwrap_or_default())
        }
    });
    mount_when_ready(kind, container, chart, error);
    Effect::new(move |_| {
        let d = data.get();
        container.track();
        match d {
            Some(Ok(json)) => {
                error.set(None);
                chart.with_value(|c| {
                    if let Some(Err(e)) = c.as_ref().map(|c| c.set_data(&json)) {
                        error.set(Some(e));
                    }
                });
            }
            Some(Err(e)) => error.set(Some(e.to_string())),
            None => {}
        }
    });
    follow_selection_and_search(chart, container, data, sel, q);
    let set_out = set.clone();
    view! {
        {move || root.get().filter(|r| !r.is_empty()).map(|_| {
            let set_out = set_out.clone();
            view! { <button data-testid="diff-zoom-out" on:click=move |_| set_out(&[("root", None)])>"Whole tree"</button> }
        })}
        {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
        <div class="chart" data-testid="diff-flame" data-kind=kind.as_str() node_ref=container></div>
    }
}
