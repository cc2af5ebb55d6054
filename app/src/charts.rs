//! The one safe wrapper around the d3 glue in `app/js/charts.js`. Nothing else touches JS charts.
//!
//! JS exceptions come back as `Result`s; closures handed to JS live as long as the chart.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/charts.js")]
extern "C" {
    type JsChart;

    #[wasm_bindgen(catch, js_name = mountChart)]
    fn mount_chart(
        kind: &str,
        container: &web_sys::HtmlElement,
        on_select: &js_sys::Function,
        on_zoom: &js_sys::Function,
    ) -> Result<JsChart, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setData)]
    fn set_data(this: &JsChart, json: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = setSelected)]
    fn set_selected(this: &JsChart, func: Option<u32>) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = setSearch)]
    fn set_search(this: &JsChart, text: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    fn destroy(this: &JsChart);
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "chart error".to_owned())
}

pub use profview_api::ChartKind;

/// A chart mounted in a container element.
pub struct Chart {
    inner: JsChart,
    _on_select: Closure<dyn FnMut(u32)>,
    _on_zoom: Closure<dyn FnMut(String)>,
}

impl Chart {
    /// Mounts a chart. `on_select(func)` fires on a click on a function; `on_zoom(path)` when the
    /// user drills into a tree node.
    pub fn mount(
        kind: ChartKind,
        container: &web_sys::HtmlElement,
        on_select: impl FnMut(u32) + 'static,
        on_zoom: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let on_select = Closure::<dyn FnMut(u32)>::new(on_select);
        let on_zoom = Closure::<dyn FnMut(String)>::new(on_zoom);
        let inner =
            mount_chart(kind.as_str(), container, on_select.as_ref().unchecked_ref(), on_zoom.as_ref().unchecked_ref())
                .map_err(js_err)?;
        Ok(Chart { inner, _on_select: on_select, _on_zoom: on_zoom })
    }

    /// Shows data (a tree slice, or a call graph for the bubble chart), as JSON text.
    pub fn set_data(&self, json: &str) -> Result<(), String> {
        self.inner.set_data(json).map_err(js_err)
    }

    /// Marks the selected function.
    pub fn set_selected(&self, func: Option<u32>) -> Result<(), String> {
        self.inner.set_selected(func).map_err(js_err)
    }

    /// Highlights functions whose name or file contains the text.
    pub fn set_search(&self, text: &str) -> Result<(), String> {
        self.inner.set_search(text).map_err(js_err)
    }
}

impl Drop for Chart {
    fn drop(&mut self) {
        self.inner.destroy();
    }
}
