//! The thin JS shim that turns lifecycle callbacks of a custom element class into Rust calls.
//! Custom element classes must be real JS classes extending `HTMLElement`; everything else is Rust.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function ds_define_element(tag, observed, connected, disconnected, attributeChanged) {
  if (customElements.get(tag)) return false;
  class DsElement extends HTMLElement {
    static get observedAttributes() { return observed; }
    connectedCallback() { connected(this); }
    disconnectedCallback() { disconnected(this); }
    attributeChangedCallback(name, oldValue, newValue) {
      if (oldValue !== newValue && this.isConnected) attributeChanged(this, name);
    }
  }
  customElements.define(tag, DsElement);
  return true;
}
export function ds_is_defined(tag) { return customElements.get(tag) !== undefined; }
"#)]
extern "C" {
    fn ds_define_element(
        tag: &str,
        observed: Vec<JsValue>,
        connected: &Closure<dyn Fn(web_sys::HtmlElement)>,
        disconnected: &Closure<dyn Fn(web_sys::HtmlElement)>,
        attribute_changed: &Closure<dyn Fn(web_sys::HtmlElement, String)>,
    ) -> bool;
    fn ds_is_defined(tag: &str) -> bool;
}

pub(crate) fn is_defined(tag: &str) -> bool {
    ds_is_defined(tag)
}

/// Defines `tag` unless it is already defined. The closures live as long as the page: a custom
/// element definition can never be removed, so leaking them is the correct lifetime.
pub(crate) fn define_element(
    tag: &str,
    observed: &[&str],
    connected: fn(web_sys::HtmlElement),
    disconnected: fn(web_sys::HtmlElement),
    attribute_changed: fn(web_sys::HtmlElement, String),
) -> bool {
    if ds_is_defined(tag) {
        return false;
    }
    let connected = Closure::<dyn Fn(web_sys::HtmlElement)>::new(connected);
    let disconnected = Closure::<dyn Fn(web_sys::HtmlElement)>::new(disconnected);
    let attribute_changed = Closure::<dyn Fn(web_sys::HtmlElement, String)>::new(attribute_changed);
    let observed = observed.iter().map(|name| JsValue::from_str(name)).collect();
    let defined = ds_define_element(tag, observed, &connected, &disconnected, &attribute_changed);
    connected.forget();
    disconnected.forget();
    attribute_changed.forget();
    defined
}
