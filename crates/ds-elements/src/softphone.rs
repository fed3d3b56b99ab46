//! `<ds-softphone>`: the batteries-included softphone element.
//!
//! Softphones on one page with the same `api-base` and the same token source (the same
//! `token-url`, or the same `tokenProvider` value) share one [`PhoneHandle`]: one socket, one
//! registration. The phone connects when its first element connects and hangs up when its last
//! element leaves the page.

use std::cell::RefCell;
use std::rc::Rc;

use ds_core::{Direction, PhoneEvent};
use ds_ui::i18n::Locale;
use ds_web::{CallMap, DriverEvent, PhoneHandle, PhoneOptions, Subscription, VecMap};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::events::{detail, emit};
use crate::host::{TokenSource, api_base_of, locale_of};
use crate::registry::ElementSpec;

/// Tag of the batteries-included softphone element.
pub const SOFTPHONE_TAG: &str = "ds-softphone";

pub(crate) const SPEC: ElementSpec = ElementSpec {
    tag: SOFTPHONE_TAG,
    observed_attributes: &["api-base", "locale", "theme", "token-url", "handle-tel-links", "multi-tab"],
    properties: &["tokenProvider"],
    connected,
    disconnected,
    attribute_changed,
    property_changed,
};

/// The stylesheet of the softphone's shadow root (after the shared theme tokens).
const CSS: &str = include_str!("css/softphone.css");

/// One phone and how many elements use it.
struct SharedPhone {
    api_base: String,
    source: TokenSource,
    phone: PhoneHandle,
    users: usize,
}

/// A listener on the document, removed when the element leaves the page.
type PageListener = (&'static str, Closure<dyn FnMut(web_sys::Event)>);

/// One live `<ds-softphone>`: dropping it unmounts the view and stops its listeners.
struct SoftphoneInstance {
    shared: Option<(String, TokenSource)>,
    locale: ArcRwSignal<Locale>,
    _mount: crate::Mounted,
    _events: Option<Subscription>,
    listeners: Vec<PageListener>,
}

thread_local! {
    static INSTANCES: RefCell<VecMap<u32, SoftphoneInstance>> = RefCell::new(VecMap::new());
    static PHONES: RefCell<Vec<SharedPhone>> = const { RefCell::new(Vec::new()) };
}

/// The shared phone of `api_base` + `source`, created (and connecting) for the first element; its
/// `multi_tab` setting is that first element's.
fn acquire(api_base: &str, source: &TokenSource, multi_tab: bool) -> PhoneHandle {
    PHONES.with(|phones| {
        let mut phones = phones.borrow_mut();
        if let Some(shared) = phones.iter_mut().find(|p| p.api_base == api_base && p.source.same(source)) {
            shared.users += 1;
            return shared.phone.clone();
        }
        let mut options = PhoneOptions::new(api_base, source.provider());
        options.multi_tab = multi_tab;
        let phone = PhoneHandle::new(options);
        let connecting = phone.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // A failure is reported through the phone's own error event and status.
            let _ = connecting.connect().await;
        });
        phones.push(SharedPhone {
            api_base: api_base.to_owned(),
            source: source.clone(),
            phone: phone.clone(),
            users: 1,
        });
        phone
    })
}

fn release(api_base: &str, source: &TokenSource) {
    let last = PHONES.with(|phones| {
        let mut phones = phones.borrow_mut();
        let index = phones.iter().position(|p| p.api_base == api_base && p.source.same(source))?;
        phones[index].users -= 1;
        (phones[index].users == 0).then(|| phones.remove(index).phone)
    });
    if let Some(phone) = last {
        phone.disconnect();
    }
}

fn js_opt(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Turns the phone's events into the element's `ds-…` events (docs/elements.md).
fn emit_phone_events(host: web_sys::HtmlElement, phone: &PhoneHandle) -> Subscription {
    let started = RefCell::new(CallMap::new());
    phone.subscribe(move |event| {
        let DriverEvent::Phone(event) = event else { return };
        match event {
            PhoneEvent::ConnectionChanged(status) => {
                let detail = detail(&[("status", ds_web::status_name(*status).into())]);
                emit(&host, "ds-connection-change", &detail, false);
            }
            PhoneEvent::CallAdded(call) if call.direction == Direction::Inbound => {
                let detail = detail(&[
                    ("callId", js_opt(call.call_id.as_deref())),
                    ("from", call.remote_number.as_str().into()),
                    ("fromName", js_opt(call.remote_name.as_deref())),
                ]);
                emit(&host, "ds-incoming", &detail, false);
            }
            PhoneEvent::CallAdded(call) | PhoneEvent::CallUpdated(call) => {
                // Placed (the server accepted it) or answered, once per call.
                let placed = call.direction == Direction::Outbound && call.call_id.is_some();
                let answered = call.direction == Direction::Inbound && call.phase.is_connected();
                if (placed || answered) && started.borrow_mut().insert(call.handle, ()).is_none() {
                    let direction = if call.direction == Direction::Inbound { "inbound" } else { "outbound" };
                    let detail = detail(&[
                        ("callId", js_opt(call.call_id.as_deref())),
                        ("direction", direction.into()),
                        ("remote", call.remote_number.as_str().into()),
                    ]);
                    emit(&host, "ds-call-started", &detail, false);
                }
            }
            PhoneEvent::CallRemoved(call) => {
                started.borrow_mut().remove(&call.handle);
                let now = js_sys::Date::now() as u64;
                let seconds = ds_core::view_model::call_duration_secs(call, now).unwrap_or(0);
                let reason = call.end_reason.as_ref().map(|r| r.as_str().to_owned());
                let detail = detail(&[
                    ("callId", js_opt(call.call_id.as_deref())),
                    ("reason", js_opt(reason.as_deref())),
                    ("durationSeconds", JsValue::from_f64(seconds as f64)),
                ]);
                emit(&host, "ds-call-ended", &detail, false);
            }
            PhoneEvent::Error(error) => {
                let detail = detail(&[
                    ("code", error.code.as_str().into()),
                    ("message", error.message.as_str().into()),
                ]);
                emit(&host, "ds-error", &detail, false);
            }
            _ => {}
        }
    })
}

/// Emits the cancelable `ds-call-request`; true when the host did not veto the call.
fn request_call(host: &web_sys::HtmlElement, destination: &str) -> bool {
    emit(host, "ds-call-request", &detail(&[("destination", destination.into())]), true)
}

/// Whether `id` is the softphone that answers page-level requests (`ds-call-back`, `tel:` links):
/// the oldest live one, so that two softphones never both dial.
fn is_page_handler(id: u32) -> bool {
    INSTANCES.with(|all| all.borrow().keys().min().copied()) == Some(id)
}

/// Dials `number` on this element's phone after a `ds-call-request` the host may veto.
fn dial_from_page(id: u32, host: &web_sys::HtmlElement, number: &str) {
    let phone = INSTANCES.with(|all| {
        let all = all.borrow();
        let (api_base, source) = all.get(&id)?.shared.clone()?;
        PHONES.with(|phones| {
            phones
                .borrow()
                .iter()
                .find(|p| p.api_base == api_base && p.source.same(&source))
                .map(|p| p.phone.clone())
        })
    });
    if let Some(phone) = phone
        && request_call(host, number)
    {
        phone.dial(number);
    }
}

fn page_listeners(id: u32, host: &web_sys::HtmlElement) -> Vec<PageListener> {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return Vec::new() };
    let mut listeners = Vec::new();
    let for_call_back = host.clone();
    let call_back = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        if event.default_prevented() || !is_page_handler(id) {
            return;
        }
        let Some(event) = event.dyn_ref::<web_sys::CustomEvent>() else { return };
        let number = js_sys::Reflect::get(&event.detail(), &"number".into()).ok().and_then(|n| n.as_string());
        if let Some(number) = number {
            dial_from_page(id, &for_call_back, &number);
        }
    });
    listeners.push(("ds-call-back", call_back));
    if host.has_attribute("handle-tel-links") {
        let for_tel = host.clone();
        let tel = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            if event.default_prevented() || !is_page_handler(id) {
                return;
            }
            let link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest("a[href^='tel:']").ok().flatten());
            let Some(href) = link.and_then(|a| a.get_attribute("href")) else { return };
            let number = js_sys::decode_uri_component(href.trim_start_matches("tel:"))
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default();
            event.prevent_default();
            dial_from_page(id, &for_tel, &number);
        });
        listeners.push(("click", tel));
    }
    for (name, closure) in &listeners {
        let _ = document.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
    }
    listeners
}

fn connected(host: web_sys::HtmlElement) {
    if crate::instance_id(&host).is_some_and(|id| INSTANCES.with(|all| all.borrow().contains_key(&id))) {
        return;
    }
    let Some(container) = crate::shadow_container(&host, &[CSS]) else { return };
    let id = crate::assign_instance_id(&host);
    let locale = ArcRwSignal::new(locale_of(&host));
    let locale_for_view = locale.clone();
    let api_base = api_base_of(&host);
    let source = TokenSource::of(&host);
    let (mount, events, shared) = match source {
        Some(source) => {
            let phone = acquire(&api_base, &source, host.has_attribute("multi-tab"));
            let events = emit_phone_events(host.clone(), &phone);
            let for_request = host.clone();
            let before_dial: ds_ui::BeforeDial =
                Rc::new(move |destination| request_call(&for_request, destination));
            let mount = crate::mount(
                container,
                Box::new(move || {
                    let locale: Signal<Locale> = Signal::from(locale_for_view);
                    view! { <ds_ui::Softphone phone=phone locale=locale before_dial=before_dial /> }
                        .into_any()
                }),
            );
            (mount, Some(events), Some((api_base, source)))
        }
        None => {
            let mount = crate::mount(
                container,
                Box::new(move || {
                    use ds_ui::softphone::strings::{Text, text};
                    let locale: Signal<Locale> = Signal::from(locale_for_view);
                    let words = move || text(locale.get(), Text::NoCredentials);
                    let region = move || text(locale.get(), Text::Softphone);
                    view! {
                    <section class="ds-softphone" part="base" aria-label=ds_ui::reactive(region)>
                        <p class="ds-error" role="alert" data-testid="error-chip">{ds_ui::reactive(words)}</p>
                    </section>
                }
                .into_any()
                }),
            );
            (mount, None, None)
        }
    };
    let listeners = if shared.is_some() { page_listeners(id, &host) } else { Vec::new() };
    INSTANCES.with(|all| {
        all.borrow_mut()
            .insert(id, SoftphoneInstance { shared, locale, _mount: mount, _events: events, listeners })
    });
}

fn disconnected(host: web_sys::HtmlElement) {
    let Some(id) = crate::instance_id(&host) else { return };
    // Dropping the instance unmounts the view; clear the shadow root so a re-insert mounts anew.
    let instance = INSTANCES.with(|all| all.borrow_mut().remove(&id));
    let Some(instance) = instance else { return };
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        for (name, closure) in &instance.listeners {
            let _ = document.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
    }
    let shared = instance.shared.clone();
    drop(instance);
    crate::clear_shadow(&host);
    if let Some((api_base, source)) = shared {
        release(&api_base, &source);
    }
}

fn attribute_changed(host: web_sys::HtmlElement, name: String) {
    match name.as_str() {
        // Styling only: `:host([theme=…])` in the theme sheet.
        "theme" => {}
        "locale" => {
            let locale = locale_of(&host);
            if let Some(id) = crate::instance_id(&host) {
                INSTANCES.with(|all| {
                    if let Some(instance) = all.borrow().get(&id) {
                        instance.locale.set(locale);
                    }
                });
            }
        }
        // The phone or the page listeners change: start over with the new settings.
        _ => remount(host),
    }
}

fn property_changed(host: web_sys::HtmlElement, _name: String) {
    remount(host);
}

fn remount(host: web_sys::HtmlElement) {
    disconnected(host.clone());
    connected(host);
}
