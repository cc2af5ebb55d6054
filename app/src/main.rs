//! The profview web app (Leptos CSR). See ARCHITECTURE.md.
//!
//! - `api`: the only module that talks HTTP; it speaks the `profview-api` wire types.
//! - `url_state`: the view state, kept in the query string so a link restores it.
//! - `pages/`: one file per route. `components/`: the views.
//! - `report`: the self-contained HTML report mode (the profile inlined, answers computed here).

mod api;
mod charts;
mod components;
mod format;
mod pages;
mod report;
mod url_state;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

fn main() {
    console_error_panic_hook::set_once();
    report::init();
    if report::active() {
        leptos::mount::mount_to_body(ReportApp);
    } else {
        leptos::mount::mount_to_body(App);
    }
}

/// The HTML report: one profile, no router, no uploads, renames or deletes.
#[component]
fn ReportApp() -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">"profview"</span>
            <span class="muted" data-testid="report-badge">"report"</span>
        </header>
        <main>
            <pages::profile::ProfilePage/>
        </main>
    }
}

#[component]
fn App() -> impl IntoView {
    provide_context(components::upload::ProfilesChanged(RwSignal::new(0)));
    provide_context(components::upload::Selected(RwSignal::new(Vec::new())));
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"profview"</a>
                <components::upload::UploadZone/>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="error">"No such page."</p> }>
                    <Route path=path!("/") view=pages::home::Home/>
                    <Route path=path!("/p/:id") view=pages::profile::ProfilePage/>
                    <Route path=path!("/c/:id") view=pages::collection::CollectionPage/>
                    <Route path=path!("/compare") view=pages::compare::ComparePage/>
                </Routes>
            </main>
        </Router>
    }
}
