//! The detail panel's "Source" tab: the selected function's source file around its line, read
//! by the server from under its `--source-root` directories (off by default: the tab says how).

use leptos::prelude::*;

use crate::api;

/// The source of function `fid`, its line marked.
#[component]
pub fn SourceTab(id: String, fid: u32) -> impl IntoView {
    let src = LocalResource::new(move || {
        let id = id.clone();
        async move { api::function_source(&id, fid).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || src.get().map(|r| match r {
                Err(e) => view! { <p class="muted empty-list" data-testid="source-off">{e.to_string()}</p> }.into_any(),
                Ok(s) => {
                    let mark = s.line;
                    view! {
                        <div class="source muted" title=s.path.clone()>{s.file.clone()}</div>
                        <div class="source-scroll">
                            <table class="source" data-testid="function-source">
                                <tbody>
                                    {s.lines.into_iter().enumerate().map(|(i, text)| {
                                        let n = i64::from(s.first_line) + i as i64;
                                        view! {
                                            <tr data-testid="source-line" data-line=n.to_string() class:mark=n == mark>
                                                <td class="num lineno">{n}</td>
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
