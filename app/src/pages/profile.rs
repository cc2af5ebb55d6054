//! `/p/<id>`: one profile's dashboard. Its view state lives in the query string.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::function_table::FunctionTable;

/// The dashboard of one profile.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let summary = LocalResource::new(move || {
        let id = id.get();
        async move { api::profile(&id).await }
    });
    view! {
        <section class="page profile">
            <Suspense fallback=|| view! { <p class="loading">"Loading profile…"</p> }>
                {move || summary.get().map(|r| match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let warnings = s.warnings.clone();
                        view! {
                            <div class="profile-head">
                                <h1 data-testid="profile-name">{s.name.clone()}</h1>
                                <span class="badge">{s.format.clone()}</span>
                                <span class="badge">{s.dialect.clone()}</span>
                                <span class="muted">{format!("{} functions · unit: {}", s.functions, s.unit)}</span>
                            </div>
                            {(!warnings.is_empty()).then(|| view! {
                                <details class="warnings"><summary>{format!("{} import warning(s)", warnings.len())}</summary>
                                    <ul>{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                                </details>
                            })}
                            <FunctionTable id=id.get_untracked() summary=s/>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
