//! The thin JS shim that turns lifecycle callbacks of a custom element class into Rust calls.
//! Custom element classes must be real JS classes extending `HTMLElement`; everything else is Rust.
//!
//! Properties (rich settings such as `tokenProvider` or `lookup`) are accessors on the class that
//! store the value on the element and notify Rust; a value assigned before the element was
//! defined (an "unupgraded" own property) is re-applied through the accessor on connect, the
//! upgrade rule of Lit and Shoelace.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function ds_define_element(tag, observed, properties, callbacks) {
  if (customElements.get(tag)) return false;
  class DsElement extends HTMLElement {
    static get observedAttributes() { return observed; }
    connectedCallback() {
      for (const name of properties) {
        if (Object.prototype.hasOwnProperty.call(this, name)) {
          const value = this[name];
          delete this[name];
          this[name] = value;
        }
      }
      callbacks.connected(this);
    }
    disconnectedCallback() { callbacks.disconnected(this); }
    attributeChangedCallback(name, oldValue, newValue) {
      if (oldValue !== newValue && this.isConnected) callbacks.attributeChanged(this, name);
    }
  }
  for (const name of properties) {
    Object.defineProperty(DsElement.prototype, name, {
      configurable: true,
      enumerable: true,
      get() { return this.__dsProps ? this.__dsProps[name] : undefined; },
      set(value) {
        if (!this.__dsProps) this.__dsProps = {};
        const old = this.__dsProps[name];
        this.__dsProps[name] = value;
        if (old !== value && this.isConnected) callbacks.propertyChanged(this, name);
      },
    });
  }
  customElements.define(tag, DsElement);
  return true;
}
export function ds_is_defined(tag) { return customElements.get(tag) !== undefined; }
export function ds_property(host, name) { return host.__dsProps ? host.__dsProps[name] : undefined; }
"#)]
extern "C" {
    fn ds_define_element(
        tag: &str,
        observed: Vec<JsValue>,
        properties: Vec<JsValue>,
        callbacks: &JsValue,
    ) -> bool;
    fn ds_is_defined(tag: &str) -> bool;
    fn ds_property(host: &web_sys::HtmlElement, name: &str) -> JsValue;
}

pub(crate) fn is_defined(tag: &str) -> bool {
    ds_is_defined(tag)
}

/// The current value of a property declared in [`ElementSpec::properties`] (`undefined` if unset).
pub(crate) fn property(host: &web_sys::HtmlElement, name: &str) -> JsValue {
    ds_property(host, name)
}

/// Everything the registry needs to define one element.
pub(crate) struct ElementSpec {
    pub tag: &'static str,
    /// Attributes whose changes reach `attribute_changed`.
    pub observed_attributes: &'static [&'static str],
    /// JS properties (camelCase) whose assignments reach `property_changed`.
    pub properties: &'static [&'static str],
    pub connected: fn(web_sys::HtmlElement),
    pub disconnected: fn(web_sys::HtmlElement),
    pub attribute_changed: fn(web_sys::HtmlElement, String),
    pub property_changed: fn(web_sys::HtmlElement, String),
}

/// Defines the element unless its tag is already defined; returns whether this call defined it.
/// The closures live as long as the page: a custom element definition can never be removed, so
/// leaking them is the correct lifetime.
pub(crate) fn define_element(spec: &ElementSpec) -> bool {
    if ds_is_defined(spec.tag) {
        return false;
    }
    let callbacks = js_sys::Object::new();
    let set = |name: &str, value: &JsValue| {
        js_sys::Reflect::set(&callbacks, &name.into(), value).expect("setting a key on a plain object");
    };
    let connected = Closure::<dyn Fn(web_sys::HtmlElement)>::new(spec.connected);
    let disconnected = Closure::<dyn Fn(web_sys::HtmlElement)>::new(spec.disconnected);
    let attribute_changed = Closure::<dyn Fn(web_sys::HtmlElement, String)>::new(spec.attribute_changed);
    let property_changed = Closure::<dyn Fn(web_sys::HtmlElement, String)>::new(spec.property_changed);
    set("connected", connected.as_ref());
    set("disconnected", disconnected.as_ref());
    set("attributeChanged", attribute_changed.as_ref());
    set("propertyChanged", property_changed.as_ref());
    let observed = spec.observed_attributes.iter().map(|name| JsValue::from_str(name)).collect();
    let properties = spec.properties.iter().map(|name| JsValue::from_str(name)).collect();
    let defined = ds_define_element(spec.tag, observed, properties, &callbacks);
    connected.forget();
    disconnected.forget();
    attribute_changed.forget();
    property_changed.forget();
    defined
}
