//! `/`: the registered profiles.

use leptos::prelude::*;

use crate::api;

/// The profiles page.
#[component]
pub fn Home() -> impl IntoView {
    let profiles = LocalResource::new(|| api::list_profiles());
    view! {
        <section class="page">
            <h1>"Profiles"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || profiles.get().map(|r| match r {
                    Err(e) => view! { <p class="error" data-testid="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">"No profiles yet. Start with " <code>"profview serve FILE.prof"</code> "."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="profiles" data-testid="profile-list">
                            <thead><tr><th>"name"</th><th>"format"</th><th>"dialect"</th><th class="num">"functions"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|p| {
                                    let href = format!("/p/{}", p.id);
                                    view! {
                                        <tr data-testid="profile-row">
                                            <td><a href=href>{p.name}</a></td>
                                            <td>{p.format}</td>
                                            <td>{p.dialect}</td>
                                            <td class="num">{p.functions}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
