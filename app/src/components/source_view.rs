//! The detail panel's "Source" tab: the selected function's source file around its line, read
//! by the server from under its `--source-root` directories (off by default: the tab says how),
//! with the function's per-line costs (`…/functions/{fid}/lines`) as a heat column.

use std::collections::HashMap;

use leptos::prelude::*;
use profview_api::LineRow;

use crate::{api, format, url_state};

/// The source of function `fid`, its line marked, each line with a cost beside its self and total
/// weight, shaded by its share of the function's biggest line total.
#[component]
pub fn SourceTab(id: String, fid: u32, unit: String) -> impl IntoView {
    let thread = url_state::param("thread");
    let src = LocalResource::new(move || {
        let id = id.clone();
        let thread = thread.get();
        async move {
            let source = api::function_source(&id, fid).await;
            // No costs is not an error of the source: the column stays empty.
            let lines = match &source {
                Ok(_) => api::function_lines(&id, fid, &thread).await.map(|l| l.rows).unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            source.map(|s| (s, lines))
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || src.get().map(|r| match r {
                Err(e) => view! { <p class="muted empty-list" data-testid="source-off">{e.to_string()}</p> }.into_any(),
                Ok((s, lines)) => {
                    let mark = s.line;
                    let hottest = lines.iter().map(|r| r.total).fold(0.0_f64, f64::max);
                    let cost: HashMap<i64, LineRow> = lines.into_iter().map(|r| (r.line, r)).collect();
                    let unit = unit.clone();
                    view! {
                        <div class="source muted" title=s.path.clone()>{s.file.clone()}</div>
                        <div class="source-scroll">
                            <table class="source" data-testid="function-source">
                                <thead><tr><th class="num">"line"</th><th class="num" title="self / total of this line">"cost"</th><th></th></tr></thead>
                                <tbody>
                                    {s.lines.into_iter().enumerate().map(|(i, text)| {
                                        let n = i64::from(s.first_line) + i as i64;
                                        let heat = cost.get(&n).map(|r| heat_cell(r, hottest, &unit));
                                        view! {
                                            <tr data-testid="source-line" data-line=n.to_string() class:mark=n == mark>
                                                <td class="num lineno">{n}</td>
                                                <td class="num heat">{heat}</td>
                                                <td class="code"><pre>{text}</pre></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// A line's cost: its total (self on hover, both exact in `data-*`), on a background whose
/// strength is the line's share of the hottest line's total.
fn heat_cell(r: &LineRow, hottest: f64, unit: &str) -> impl IntoView {
    let share = if hottest > 0.0 { (r.total / hottest).clamp(0.0, 1.0) } else { 0.0 };
    let style = format!("background: rgba(220, 80, 40, {:.3})", 0.08 + 0.6 * share);
    let title = format!("self {} · total {}", format::exact(Some(r.self_value), unit), format::exact(Some(r.total), unit));
    view! {
        <span data-testid="source-cost" data-self=r.self_value.to_string() data-total=r.total.to_string()
            style=style title=title>{format::amount(Some(r.total), unit)}</span>
    }
}
