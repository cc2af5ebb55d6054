//! Uploading profiles: a file picker in the top bar, and drag-and-drop of one or several files
//! anywhere on the page (an overlay shows where they will go). A progress bar follows the upload
//! and then the server's import + indexing (indeterminate). One file → its page; several → the
//! profiles list. A refused file shows the server's message (file name and problem).

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;

use crate::api::{self, UploadPhase};

/// Bumped after uploads, renames and deletes, so lists refetch. Provided by the app root.
#[derive(Clone, Copy, Debug)]
pub struct ProfilesChanged(pub RwSignal<u32>);

/// The profiles and collections selected on the profiles page (to compare, or to collect); set
/// to the uploaded profiles when several files are dropped at once.
#[derive(Clone, Copy)]
pub struct Selected(pub RwSignal<Vec<String>>);

impl Selected {
    /// The app's selection.
    pub fn get() -> Self {
        use_context::<Selected>().unwrap_or_else(|| Selected(RwSignal::new(Vec::new())))
    }
}

impl ProfilesChanged {
    /// From context, or a detached one when none is provided.
    pub fn get() -> Self {
        use_context::<Self>().unwrap_or_else(|| Self(RwSignal::new(0)))
    }
    /// Tells every list to refetch.
    pub fn bump(self) {
        self.0.update(|n| *n += 1);
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Progress {
    name: String,
    nth: usize,
    of: usize,
    phase: UploadPhase,
}

fn drag_has_files(e: &web_sys::DragEvent) -> bool {
    e.data_transfer().is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

/// The upload button, the drop overlay, the progress bar and the error message.
#[component]
pub fn UploadZone() -> impl IntoView {
    let dragging = RwSignal::new(false);
    let depth = RwSignal::new(0i32);
    let progress = RwSignal::new(None::<Progress>);
    let error = RwSignal::new(None::<String>);
    let changed = ProfilesChanged::get();
    let selected = Selected::get();
    let navigate = use_navigate();

    let start = move |files: Vec<web_sys::File>| {
        if files.is_empty() || progress.get_untracked().is_some() {
            return;
        }
        error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            let of = files.len();
            let mut done = Vec::new();
            let mut errors = Vec::new();
            for (i, file) in files.iter().enumerate() {
                let name = file.name();
                progress.set(Some(Progress { name: name.clone(), nth: i + 1, of, phase: UploadPhase::Indexing }));
                let on_phase = move |phase| {
                    progress.update(|p| {
                        if let Some(p) = p {
                            p.phase = phase;
                        }
                    })
                };
                match api::upload(file, on_phase).await {
                    Ok(r) => done.push(r),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            progress.set(None);
            if !done.is_empty() {
                changed.bump();
            }
            if !errors.is_empty() {
                error.set(Some(errors.join("\n")));
            } else if let [one] = done.as_slice() {
                navigate(&one.url, Default::default());
            } else if !done.is_empty() {
                // Several files dropped together: the profiles page selects them and offers to
                // make them a collection.
                selected.0.set(done.iter().map(|r| r.id.clone()).collect());
                navigate("/", Default::default());
            }
        });
    };

    // Drag and drop anywhere on the page. Only drags that carry files are taken over.
    let enter = window_event_listener(ev::dragenter, move |e| {
        if drag_has_files(&e) {
            e.prevent_default();
            depth.update(|d| *d += 1);
            dragging.set(true);
        }
    });
    let over = window_event_listener(ev::dragover, move |e| {
        if drag_has_files(&e) {
            e.prevent_default();
            if let Some(dt) = e.data_transfer() {
                dt.set_drop_effect("copy");
            }
        }
    });
    let leave = window_event_listener(ev::dragleave, move |_| {
        // enter/leave pair up per element crossed; at zero the drag has left the window.
        depth.update(|d| *d = (*d - 1).max(0));
        if depth.get_untracked() == 0 {
            dragging.set(false);
        }
    });
    let start_drop = start.clone();
    let drop = window_event_listener(ev::drop, move |e| {
        depth.set(0);
        dragging.set(false);
        let files = files_of(e.data_transfer().and_then(|dt| dt.files()));
        if !files.is_empty() {
            e.prevent_default();
            start_drop(files);
        }
    });
    on_cleanup(move || {
        enter.remove();
        over.remove();
        leave.remove();
        drop.remove();
    });

    let on_pick = move |e: ev::Event| {
        let input = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(input) = input {
            let files = files_of(input.files());
            input.set_value("");
            start(files);
        }
    };

    let percent = move || {
        progress.with(|p| match p.as_ref().map(|p| p.phase) {
            Some(UploadPhase::Sending { loaded, total }) if total > 0.0 => Some((loaded / total * 100.0).clamp(0.0, 100.0)),
            _ => None,
        })
    };
    let label = move || {
        progress.with(|p| {
            p.as_ref().map(|p| {
                let of = if p.of > 1 { format!(" ({}/{})", p.nth, p.of) } else { String::new() };
                match p.phase {
                    UploadPhase::Sending { loaded, total } if total > 0.0 => {
                        format!("Uploading {}{of} {:.0}%", p.name, loaded / total * 100.0)
                    }
                    UploadPhase::Sending { .. } => format!("Uploading {}{of}", p.name),
                    UploadPhase::Indexing => format!("Indexing {}{of}…", p.name),
                }
            })
        })
    };

    view! {
        <div class="upload">
            <label class="upload-button" title="Upload pstats or folded files (or drop them anywhere on the page)">
                "Upload…"
                <input type="file" multiple class="visually-hidden" data-testid="upload-input" on:change=on_pick/>
            </label>
            <Show when=move || progress.with(|p| p.is_some())>
                <div class="upload-status" data-testid="upload-status">
                    <progress data-testid="upload-progress" max="100" value=move || percent().map(|v| v.to_string())></progress>
                    <span class="upload-label">{label}</span>
                </div>
            </Show>
        </div>
        <Show when=move || error.with(|e| e.is_some())>
            <div class="upload-error" role="alert" data-testid="upload-error">
                <span class="upload-error-text">{move || error.get().unwrap_or_default()}</span>
                <button class="upload-error-close" title="Dismiss" on:click=move |_| error.set(None)>"×"</button>
            </div>
        </Show>
        <Show when=move || dragging.get()>
            <div class="drop-zone" data-testid="drop-zone">
                <div class="drop-zone-box">"Drop profiles to upload"<br/>
                    <span class="muted">"pstats (.prof), folded stacks, gzipped or not"</span>
                </div>
            </div>
        </Show>
    }
}
