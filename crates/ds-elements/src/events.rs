//! The one helper every `ds-…` event goes through, so the defaults cannot drift: `CustomEvent`,
//! bubbling and composed (it crosses shadow roots), with a JSON-like `detail` object.
//! Event names and detail shapes are catalogued in `docs/elements.md`.

use wasm_bindgen::JsValue;

/// Dispatches `name` on `host`. Returns `false` when the event was cancelable and a listener
/// called `preventDefault()` (the host vetoed the action), `true` otherwise.
pub(crate) fn emit(host: &web_sys::EventTarget, name: &str, detail: &JsValue, cancelable: bool) -> bool {
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_cancelable(cancelable);
    init.set_detail(detail);
    match web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        Ok(event) => host.dispatch_event(&event).unwrap_or(true),
        Err(_) => true,
    }
}

/// Builds a plain `detail` object from string/JS pairs.
pub(crate) fn detail(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}
