//! Icicle (top-down) and flame (inverted) views: a tree slice from the server drawn on canvas
//! through the d3 wrapper. Zoom root, selection and search come from the URL.

use leptos::html::Div;
use leptos::prelude::*;

use crate::api::{self, TreeRequest};
use crate::charts::IcicleChart;
use crate::url_state;

/// Level of detail: children narrower than this share of the slice root are merged server-side.
const MIN_FRAC: f64 = 0.0005;
/// Node budget per slice.
const MAX_NODES: usize = 20_000;

/// The icicle/flame chart.
#[component]
pub fn IcicleView(id: String, inverted: bool) -> impl IntoView {
    let root = url_state::param("root");
    let sel = url_state::param("sel");
    let q = url_state::param("q");
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let set = url_state::setter();
    let container = NodeRef::<Div>::new();
    let chart = StoredValue::new_local(None::<IcicleChart>);
    let error = RwSignal::new(None::<String>);
    let estimated = RwSignal::new(false);
    let loading = RwSignal::new(false);

    let slice = LocalResource::new(move || {
        let req = TreeRequest {
            mode: if inverted { "inverted" } else { "top-down" },
            root: root.get(),
            thread: thread.get(),
            tf: tf.get(),
            min_frac: MIN_FRAC,
            max_nodes: MAX_NODES,
        };
        let id = id.clone();
        loading.set(true);
        async move { api::tree(&id, &req).await }
    });

    // Mount the chart once the container exists.
    let set_sel = set.clone();
    let set_root = set.clone();
    Effect::new(move |_| {
        let Some(el) = container.get() else { return };
        if chart.with_value(|c| c.is_some()) {
            return;
        }
        let set_sel = set_sel.clone();
        let set_root = set_root.clone();
        match IcicleChart::mount(
            &el,
            inverted,
            move |func| set_sel(&[("sel", Some(func.to_string()))]),
            move |path: String| set_root(&[("root", (!path.is_empty()).then_some(path))]),
        ) {
            Ok(c) => chart.set_value(Some(c)),
            Err(e) => error.set(Some(format!("cannot draw the chart: {e}"))),
        }
    });
    // Feed data, selection and search to the chart.
    Effect::new(move |_| {
        let data = slice.get();
        container.track();
        loading.set(false);
        match data {
            Some(Ok(s)) => {
                estimated.set(s.estimated);
                error.set(None);
                let json = serde_json::to_string(&s).unwrap_or_default();
                chart.with_value(|c| {
                    if let Some(c) = c {
                        if let Err(e) = c.set_data(&json) {
                            error.set(Some(e));
                        }
                    }
                });
            }
            Some(Err(e)) => error.set(Some(e.to_string())),
            None => {}
        }
    });
    Effect::new(move |_| {
        let s = sel.get().and_then(|s| s.parse::<u32>().ok());
        slice.track();
        container.track();
        chart.with_value(|c| c.as_ref().map(|c| c.set_selected(s)));
    });
    Effect::new(move |_| {
        let text = q.get().unwrap_or_default();
        slice.track();
        container.track();
        chart.with_value(|c| c.as_ref().map(|c| c.set_search(&text)));
    });

    let testid = if inverted { "flame" } else { "icicle" };
    view! {
        {move || estimated.get().then(|| view! {
            <div class="estimate-banner" data-testid="estimate-banner">
                "Estimated tree: pstats stores caller→callee edges, not stacks. Nodes marked ≈ split a function's time across its callers in proportion to the edge data; hover for bounds."
            </div>
        })}
        {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
        {move || loading.get().then(|| view! { <div class="loading chart-loading">"Loading…"</div> })}
        <div class="chart" data-testid=testid data-mode=if inverted { "inverted" } else { "top-down" } node_ref=container></div>
    }
}
