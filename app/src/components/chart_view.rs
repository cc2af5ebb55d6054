//! The chart views: icicle (top-down), flame (inverted), circle packing, squaremap and the bubble
//! call graph. Data comes from the server (tree slices or the call graph); drawing goes through
//! the one d3 wrapper (`crate::charts`). Zoom root, selection, search and thread come from the URL.

use leptos::html::Div;
use leptos::prelude::*;

use crate::api::{self, TreeRequest};
use crate::charts::{Chart, ChartKind};
use profview_api::TreeMode;
use crate::url_state;

/// Level of detail and node budget per chart kind: `(min_frac, max_nodes)`.
fn budget(kind: ChartKind) -> (f64, usize) {
    match kind {
        ChartKind::Icicle | ChartKind::Flame | ChartKind::DiffFlame | ChartKind::DiffIcicle => profview_api::FLAME_LOD,
        ChartKind::CirclePack | ChartKind::Squaremap => profview_api::PACK_LOD,
        ChartKind::BubbleGraph => (0.0, 0),
    }
}

/// Default number of functions in the bubble graph.
pub const DEFAULT_BUBBLES: usize = 150;

/// One chart view.
#[component]
pub fn ChartView(id: String, kind: ChartKind) -> impl IntoView {
    let root = url_state::param("root");
    let sel = url_state::param("sel");
    let q = url_state::param("q");
    let thread = url_state::param("thread");
    let tf = url_state::param("tf");
    let n_param = url_state::param("n");
    // `by=line`: api.rs sends it; tracked here so that the chart refetches.
    let by = url_state::param("by");
    let set = url_state::setter();
    let container = NodeRef::<Div>::new();
    let chart = StoredValue::new_local(None::<Chart>);
    let error = RwSignal::new(None::<String>);
    let estimated = RwSignal::new(false);
    let loading = RwSignal::new(false);

    let data = LocalResource::new(move || {
        let id = id.clone();
        let (root, thread, tf) = (root.get(), thread.get(), tf.get());
        by.track();
        let n = n_param.get().and_then(|n| n.parse::<usize>().ok()).unwrap_or(DEFAULT_BUBBLES);
        loading.set(true);
        async move {
            if kind == ChartKind::BubbleGraph {
                let g = api::graph(&id, n, &thread, &tf).await?;
                Ok::<_, api::ApiError>((serde_json::to_string(&g).unwrap_or_default(), false))
            } else {
                let (min_frac, max_nodes) = budget(kind);
                let req = TreeRequest {
                    mode: if kind == ChartKind::Flame { TreeMode::Inverted } else { TreeMode::TopDown },
                    root,
                    thread,
                    tf,
                    min_frac,
                    max_nodes,
                };
                let s = api::tree(&id, &req).await?;
                Ok((serde_json::to_string(&s).unwrap_or_default(), s.estimated))
            }
        }
    });

    mount_when_ready(kind, container, chart, error);
    Effect::new(move |_| {
        let d = data.get();
        container.track();
        match d {
            Some(Ok((json, est))) => {
                loading.set(false);
                estimated.set(est);
                error.set(None);
                chart.with_value(|c| {
                    if let Some(Err(e)) = c.as_ref().map(|c| c.set_data(&json)) {
                        error.set(Some(e));
                    }
                });
            }
            Some(Err(e)) => {
                loading.set(false);
                error.set(Some(e.to_string()));
            }
            None => {}
        }
    });
    follow_selection_and_search(chart, container, data, sel, q);

    let set_n = set.clone();
    let set_hot = set.clone();
    // Hot path: from the slice root, follow the heaviest child while it carries at least half of
    // its parent; select and zoom to where the cost spreads out.
    let hot_path = move |_| {
        let Some(Ok((json, _))) = data.get_untracked() else { return };
        let Ok(slice) = serde_json::from_str::<profview_api::TreeSlice>(&json) else { return };
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); slice.nodes.len()];
        for (i, n) in slice.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                children[p as usize].push(i);
            }
        }
        let mut cur = 0usize;
        loop {
            let best = children[cur]
                .iter()
                .copied()
                .filter(|&c| slice.nodes[c].func.is_some())
                .max_by(|&a, &b| slice.nodes[a].total.total_cmp(&slice.nodes[b].total));
            match best {
                Some(c) if slice.nodes[c].total >= 0.5 * slice.nodes[cur].total => cur = c,
                _ => break,
            }
        }
        let node = &slice.nodes[cur];
        if let Some(f) = node.func {
            set_hot(&[("sel", Some(f.to_string())), ("root", (!node.path.is_empty()).then(|| node.path.clone()))]);
        }
    };
    view! {
        {(kind == ChartKind::Icicle || kind == ChartKind::Flame).then(|| view! {
            <button class="hot-path" data-testid="hot-path" title="follow the heaviest child while it carries at least half of its parent" on:click=hot_path>
                "Hot path"
            </button>
        })}
        {move || estimated.get().then(|| view! {
            <div class="estimate-banner" data-testid="estimate-banner">
                "Estimated tree: pstats stores caller→callee edges, not stacks. Nodes marked ≈ split a function's time across its callers in proportion to the edge data; hover for bounds."
            </div>
        })}
        {(kind == ChartKind::BubbleGraph).then(|| {
            let set_n = set_n.clone();
            view! {
                <div class="chart-controls">
                    <label>"Functions "
                        <select data-testid="bubble-count" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            set_n(&[("n", Some(v))]);
                        }>
                            {[50usize, 150, 300, 1000, 2000].into_iter().map(|n| {
                                let cur = n_param.get_untracked().and_then(|v| v.parse::<usize>().ok()).unwrap_or(DEFAULT_BUBBLES);
                                view! { <option value=n.to_string() selected=cur == n>{n.to_string()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <span class="muted">" circle area ∝ own cost · edge width ∝ inclusive cost · drag, wheel to zoom"</span>
                </div>
            }
        })}
        {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
        {move || loading.get().then(|| view! { <div class="loading chart-loading" data-testid="loading">"Loading…"</div> })}
        // data-testid values: icicle, flame, circle-pack, squaremap, bubble-graph
        <div class="chart" class:tall=kind != ChartKind::Icicle && kind != ChartKind::Flame
            data-testid=kind.as_str() data-mode=if kind == ChartKind::Flame { TreeMode::Inverted.as_str() } else { TreeMode::TopDown.as_str() } node_ref=container></div>
    }
}

/// A chart held by a view until the view goes.
pub type ChartSlot = StoredValue<Option<Chart>, LocalStorage>;

/// Mounts a chart of `kind` in `container` once it exists: a click selects (`sel=`), a zoom sets
/// `root=`. A chart that cannot be drawn says why in `error`.
pub fn mount_when_ready(kind: ChartKind, container: NodeRef<Div>, chart: ChartSlot, error: RwSignal<Option<String>>) {
    let set = url_state::setter();
    Effect::new(move |_| {
        let Some(el) = container.get() else { return };
        if chart.with_value(|c| c.is_some()) {
            return;
        }
        let (set_sel, set_root) = (set.clone(), set.clone());
        match Chart::mount(
            kind,
            &el,
            move |func| set_sel(&[("sel", Some(func.to_string()))]),
            move |path: String| set_root(&[("root", (!path.is_empty()).then_some(path))]),
        ) {
            Ok(c) => chart.set_value(Some(c)),
            Err(e) => error.set(Some(format!("cannot draw the chart: {e}"))),
        }
    });
}

/// Keeps a mounted chart's selection and search in step with `sel=` and `q=`, again whenever its
/// data changes.
pub fn follow_selection_and_search<T: 'static>(
    chart: ChartSlot,
    container: NodeRef<Div>,
    data: LocalResource<T>,
    sel: Memo<Option<String>>,
    q: Memo<Option<String>>,
) {
    Effect::new(move |_| {
        let s = sel.get().and_then(|s| s.parse::<u32>().ok());
        data.track();
        container.track();
        chart.with_value(|c| c.as_ref().map(|c| c.set_selected(s)));
    });
    Effect::new(move |_| {
        let text = q.get().unwrap_or_default();
        data.track();
        container.track();
        chart.with_value(|c| c.as_ref().map(|c| c.set_search(&text)));
    });
}
