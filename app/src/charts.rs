//! The one safe wrapper around the d3 glue in `app/js/charts.js`. Nothing else touches JS charts.
//!
//! JS exceptions come back as `Result`s; closures handed to JS live as long as the chart.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/charts.js")]
extern "C" {
    type Icicle;

    #[wasm_bindgen(constructor, catch)]
    fn new(
        container: &web_sys::HtmlElement,
        inverted: bool,
        on_select: &js_sys::Function,
        on_zoom: &js_sys::Function,
    ) -> Result<Icicle, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setData)]
    fn set_data(this: &Icicle, json: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = setSelected)]
    fn set_selected(this: &Icicle, func: Option<u32>) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = setSearch)]
    fn set_search(this: &Icicle, text: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    fn destroy(this: &Icicle);
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "chart error".to_owned())
}

/// An icicle (top-down) or flame (inverted) chart mounted in a container element.
pub struct IcicleChart {
    inner: Icicle,
    _on_select: Closure<dyn FnMut(u32)>,
    _on_zoom: Closure<dyn FnMut(String)>,
}

impl IcicleChart {
    /// Mounts a chart. `on_select(func)` fires on a click on a function's node; `on_zoom(path)`
    /// after the zoom transition to a node ends.
    pub fn mount(
        container: &web_sys::HtmlElement,
        inverted: bool,
        on_select: impl FnMut(u32) + 'static,
        on_zoom: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let on_select = Closure::<dyn FnMut(u32)>::new(on_select);
        let on_zoom = Closure::<dyn FnMut(String)>::new(on_zoom);
        let inner = Icicle::new(container, inverted, on_select.as_ref().unchecked_ref(), on_zoom.as_ref().unchecked_ref())
            .map_err(js_err)?;
        Ok(IcicleChart { inner, _on_select: on_select, _on_zoom: on_zoom })
    }

    /// Shows a tree slice (its JSON, as the server sent it).
    pub fn set_data(&self, json: &str) -> Result<(), String> {
        self.inner.set_data(json).map_err(js_err)
    }

    /// Outlines every node of the selected function.
    pub fn set_selected(&self, func: Option<u32>) -> Result<(), String> {
        self.inner.set_selected(func).map_err(js_err)
    }

    /// Highlights nodes whose name or file contains the text.
    pub fn set_search(&self, text: &str) -> Result<(), String> {
        self.inner.set_search(text).map_err(js_err)
    }
}

impl Drop for IcicleChart {
    fn drop(&mut self) {
        self.inner.destroy();
    }
}
