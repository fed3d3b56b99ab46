//! Custom elements `<ds-…>` around the `ds-ui` components.
//!
//! Definition is separate from registration: loading this module registers nothing. The embed
//! bundle's entry (`index.js`) and the hosted page call [`define_all`], which is idempotent.
//! One file per element (`softphone.rs`, …) holds its [`registry::ElementSpec`] and lifecycle;
//! `registry` is the JS class shim, `styles` the constructable stylesheets, `events` the one
//! helper every `ds-…` event goes through.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

mod dialer;
mod events;
mod history;
mod host;
mod provider;
pub mod reference;
pub mod reference_code;
mod registry;
mod screen_pop;
mod softphone;
mod styles;

pub use dialer::DIALER_TAG;
pub use history::CALL_HISTORY_TAG;
pub use provider::live_link_count;
pub use screen_pop::SCREEN_POP_TAG;
pub use softphone::SOFTPHONE_TAG;

/// Every element this bundle can define, in registration order.
const ELEMENTS: &[&registry::ElementSpec] =
    &[&softphone::SPEC, &dialer::SPEC, &history::SPEC, &screen_pop::SPEC];

/// Registers every `<ds-…>` element that is not registered yet. Safe to call more than once.
#[wasm_bindgen(js_name = defineAll)]
pub fn define_all() {
    for spec in ELEMENTS {
        registry::define_element(spec);
    }
}

/// Registers one element by tag name; returns whether this call registered it.
#[wasm_bindgen]
pub fn define(tag: &str) -> bool {
    ELEMENTS.iter().find(|spec| spec.tag == tag).is_some_and(|spec| registry::define_element(spec))
}

/// Whether `tag` is currently registered in this document's custom element registry.
#[wasm_bindgen(js_name = isDefined)]
pub fn is_defined(tag: &str) -> bool {
    registry::is_defined(tag)
}

const INSTANCE_KEY: &str = "__dsInstanceId";

thread_local! {
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// The id under which an element's live instance is kept, if it has been connected.
pub(crate) fn instance_id(host: &web_sys::HtmlElement) -> Option<u32> {
    js_sys::Reflect::get(host, &INSTANCE_KEY.into()).ok()?.as_f64().map(|id| id as u32)
}

/// Gives `host` a fresh instance id (on every connect: a re-inserted element is a new instance).
pub(crate) fn assign_instance_id(host: &web_sys::HtmlElement) -> u32 {
    let id = NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    });
    let _ = js_sys::Reflect::set(host, &INSTANCE_KEY.into(), &id.into());
    id
}

/// Opens (or reuses) `host`'s shadow root, adopts the theme plus `sheets`, and returns a fresh
/// container to mount a view into.
pub(crate) fn shadow_container(
    host: &web_sys::HtmlElement,
    sheets: &[&'static str],
) -> Option<web_sys::HtmlElement> {
    let shadow = match host.shadow_root() {
        Some(shadow) => shadow,
        None => host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open)).ok()?,
    };
    styles::adopt(&shadow, sheets);
    let document = web_sys::window().and_then(|w| w.document())?;
    let container: web_sys::HtmlElement = document.create_element("div").ok()?.unchecked_into();
    container.set_class_name("ds-root");
    shadow.append_child(&container).ok()?;
    Some(container)
}

/// A mounted view; dropping it unmounts.
pub(crate) type Mounted = leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>;

/// Mounts `view` into `container`. Boxed so that every element shares one copy of Leptos' mount
/// code (it is generic over the view function).
pub(crate) fn mount(
    container: web_sys::HtmlElement,
    view: Box<dyn FnOnce() -> leptos::prelude::AnyView>,
) -> Mounted {
    leptos::mount::mount_to(container, view)
}

/// Empties `host`'s shadow root after its view was unmounted.
pub(crate) fn clear_shadow(host: &web_sys::HtmlElement) {
    if let Some(shadow) = host.shadow_root() {
        shadow.set_inner_html("");
    }
}
