//! `<ds-softphone>`: the batteries-included softphone element.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::mount::mount_to;
use leptos::prelude::*;

use crate::registry::ElementSpec;

/// Tag of the batteries-included softphone element.
pub const SOFTPHONE_TAG: &str = "ds-softphone";

pub(crate) const SPEC: ElementSpec = ElementSpec {
    tag: SOFTPHONE_TAG,
    observed_attributes: &["api-base"],
    properties: &[],
    connected,
    disconnected,
    attribute_changed,
    property_changed,
};

/// The stylesheet of the softphone's shadow root (after the shared theme tokens).
const CSS: &str = include_str!("css/softphone.css");

/// One live `<ds-softphone>`: dropping it unmounts the view and disposes its reactive owner.
struct SoftphoneInstance {
    api_base: ArcRwSignal<String>,
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

thread_local! {
    static INSTANCES: RefCell<HashMap<u32, SoftphoneInstance>> = RefCell::new(HashMap::new());
}

fn api_base_of(host: &web_sys::HtmlElement) -> String {
    host.get_attribute("api-base")
        .filter(|value| !value.trim().is_empty())
        .or_else(ds_web::page_origin)
        .unwrap_or_default()
}

fn connected(host: web_sys::HtmlElement) {
    if crate::instance_id(&host).is_some_and(|id| INSTANCES.with(|all| all.borrow().contains_key(&id))) {
        return;
    }
    let Some(container) = crate::shadow_container(&host, &[CSS]) else { return };
    let api_base = ArcRwSignal::new(api_base_of(&host));
    let signal_for_view = api_base.clone();
    let mount = mount_to(container, move || {
        let api_base = Signal::derive(move || signal_for_view.get());
        view! { <ds_ui::Softphone api_base=api_base /> }.into_any()
    });
    let id = crate::assign_instance_id(&host);
    INSTANCES.with(|all| all.borrow_mut().insert(id, SoftphoneInstance { api_base, _mount: mount }));
}

fn disconnected(host: web_sys::HtmlElement) {
    if let Some(id) = crate::instance_id(&host) {
        // Dropping the instance unmounts the view; clear the shadow root so a re-insert mounts anew.
        INSTANCES.with(|all| all.borrow_mut().remove(&id));
        crate::clear_shadow(&host);
    }
}

fn attribute_changed(host: web_sys::HtmlElement, name: String) {
    if name != "api-base" {
        return;
    }
    if let Some(id) = crate::instance_id(&host) {
        let value = api_base_of(&host);
        INSTANCES.with(|all| {
            if let Some(instance) = all.borrow().get(&id) {
                instance.api_base.set(value);
            }
        });
    }
}

fn property_changed(_host: web_sys::HtmlElement, _name: String) {}
