//! Custom elements `<ds-…>` around the `ds-ui` components.
//!
//! Definition is separate from registration: loading this module registers nothing. The embed
//! bundle's entry (`index.js`) and the hosted page call [`define_all`], which is idempotent.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

mod registry;

/// Tag of the batteries-included softphone element.
pub const SOFTPHONE_TAG: &str = "ds-softphone";

/// Attributes `<ds-softphone>` observes.
const SOFTPHONE_ATTRIBUTES: &[&str] = &["api-base"];

/// One live `<ds-softphone>`: dropping it unmounts the view and disposes its reactive owner.
struct SoftphoneInstance {
    api_base: ArcRwSignal<String>,
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

thread_local! {
    static INSTANCES: RefCell<HashMap<u32, SoftphoneInstance>> = RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

const INSTANCE_KEY: &str = "__dsInstanceId";

fn instance_id(host: &web_sys::HtmlElement) -> Option<u32> {
    js_sys::Reflect::get(host, &INSTANCE_KEY.into()).ok()?.as_f64().map(|id| id as u32)
}

fn api_base_of(host: &web_sys::HtmlElement) -> String {
    host.get_attribute("api-base")
        .filter(|value| !value.trim().is_empty())
        .or_else(ds_web::page_origin)
        .unwrap_or_default()
}

fn softphone_connected(host: web_sys::HtmlElement) {
    if instance_id(&host).is_some_and(|id| INSTANCES.with(|all| all.borrow().contains_key(&id))) {
        return;
    }
    let shadow = host.shadow_root().unwrap_or_else(|| {
        host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
            .expect("a fresh autonomous custom element accepts a shadow root")
    });
    let document = web_sys::window().and_then(|w| w.document()).expect("custom elements live in a document");
    let container: web_sys::HtmlElement =
        document.create_element("div").expect("creating a div cannot fail").unchecked_into();
    shadow.append_child(&container).expect("a shadow root accepts children");

    let api_base = ArcRwSignal::new(api_base_of(&host));
    let signal_for_view = api_base.clone();
    let mount = mount_to(container, move || {
        let api_base = Signal::derive(move || signal_for_view.get());
        view! { <ds_ui::Softphone api_base=api_base /> }.into_any()
    });
    let id = NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    });
    let _ = js_sys::Reflect::set(&host, &INSTANCE_KEY.into(), &id.into());
    INSTANCES.with(|all| all.borrow_mut().insert(id, SoftphoneInstance { api_base, _mount: mount }));
}

fn softphone_disconnected(host: web_sys::HtmlElement) {
    if let Some(id) = instance_id(&host) {
        // Dropping the instance unmounts the view; clear the shadow root so a re-insert mounts anew.
        INSTANCES.with(|all| all.borrow_mut().remove(&id));
        if let Some(shadow) = host.shadow_root() {
            shadow.set_inner_html("");
        }
    }
}

fn softphone_attribute_changed(host: web_sys::HtmlElement, name: String) {
    if name != "api-base" {
        return;
    }
    if let Some(id) = instance_id(&host) {
        let value = api_base_of(&host);
        INSTANCES.with(|all| {
            if let Some(instance) = all.borrow().get(&id) {
                instance.api_base.set(value);
            }
        });
    }
}

/// Registers every `<ds-…>` element that is not registered yet. Safe to call more than once.
#[wasm_bindgen(js_name = defineAll)]
pub fn define_all() {
    define(SOFTPHONE_TAG);
}

/// Registers one element by tag name; returns whether this call registered it.
#[wasm_bindgen]
pub fn define(tag: &str) -> bool {
    match tag {
        SOFTPHONE_TAG => registry::define_element(
            SOFTPHONE_TAG,
            SOFTPHONE_ATTRIBUTES,
            softphone_connected,
            softphone_disconnected,
            softphone_attribute_changed,
        ),
        _ => false,
    }
}

/// Whether `tag` is currently registered in this document's custom element registry.
#[wasm_bindgen(js_name = isDefined)]
pub fn is_defined(tag: &str) -> bool {
    registry::is_defined(tag)
}
