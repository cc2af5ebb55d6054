//! The profview web app (Leptos CSR). See ARCHITECTURE.md.
//!
//! - `api`: the only module that talks HTTP; it speaks the `profview-api` wire types.
//! - `url_state`: the view state, kept in the query string so a link restores it.
//! - `pages/`: one file per route. `components/`: the views.

mod api;
mod charts;
mod components;
mod format;
mod pages;
mod url_state;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    provide_context(components::upload::ProfilesChanged(RwSignal::new(0)));
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
                </Routes>
            </main>
        </Router>
    }
}
