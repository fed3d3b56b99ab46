//! `<ds-screen-pop>`: the ringing caller, the host's record of them, their recent calls.

use std::rc::Rc;

use ds_core::view_model::embeds::parse_limit;
use ds_ui::AccountLink;
use ds_ui::i18n::Locale;
use ds_ui::screen_pop::{Caller, CallerRecord};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::events::{detail, emit};
use crate::provider;
use crate::registry::{ElementSpec, property};

pub const SCREEN_POP_TAG: &str = "ds-screen-pop";

pub(crate) const SPEC: ElementSpec = ElementSpec {
    tag: SCREEN_POP_TAG,
    observed_attributes: &["api-base", "locale", "theme", "token-url", "history-limit"],
    properties: &["tokenProvider", "lookup"],
    connected,
    disconnected: provider::disconnect,
    attribute_changed,
    property_changed,
};

const CSS: &str = include_str!("css/screen_pop.css");
const DEFAULT_HISTORY_LIMIT: u32 = 5;

fn text_of(object: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).ok()?.as_string().filter(|t| !t.trim().is_empty())
}

fn js_opt(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

/// Emits the cancelable `ds-lookup`, then (unless prevented) awaits the host's `lookup`
/// function with `{ callId, number, name }`.
async fn run_lookup(host: web_sys::HtmlElement, caller: Caller) -> Option<CallerRecord> {
    let detail = detail(&[
        ("callId", js_opt(caller.call_id.as_deref())),
        ("number", caller.number.as_str().into()),
        ("name", js_opt(caller.name.as_deref())),
    ]);
    if !emit(&host, "ds-lookup", &detail, true) {
        return None;
    }
    let function = property(&host, "lookup").dyn_into::<js_sys::Function>().ok()?;
    let mut result = function.call1(&host, &detail).ok()?;
    if let Some(promise) = result.dyn_ref::<js_sys::Promise>() {
        result = wasm_bindgen_futures::JsFuture::from(promise.clone()).await.ok()?;
    }
    if result.is_null() || result.is_undefined() {
        return None;
    }
    Some(CallerRecord {
        name: text_of(&result, "name"),
        url: text_of(&result, "url"),
        notes: text_of(&result, "notes"),
    })
}

fn record_js(record: &CallerRecord) -> JsValue {
    detail(&[
        ("name", js_opt(record.name.as_deref())),
        ("url", js_opt(record.url.as_deref())),
        ("notes", js_opt(record.notes.as_deref())),
    ])
}

fn build(host: &web_sys::HtmlElement, link: Rc<AccountLink>, locale: Signal<Locale>) -> AnyView {
    let limit = parse_limit(host.get_attribute("history-limit").as_deref(), DEFAULT_HISTORY_LIMIT, 100);
    let limit = if host.get_attribute("history-limit").is_some_and(|v| v.trim() == "0") { 0 } else { limit };
    let (lookup_host, dismiss_host, open_host) = (host.clone(), host.clone(), host.clone());
    let lookup: ds_ui::screen_pop::LookupHandler =
        Rc::new(move |caller| Box::pin(run_lookup(lookup_host.clone(), caller)));
    let on_dismiss: ds_ui::screen_pop::DismissHandler = Rc::new(move |call_id, reason| {
        let detail = detail(&[("callId", js_opt(call_id)), ("reason", reason.as_str().into())]);
        emit(&dismiss_host, "ds-dismiss", &detail, false);
    });
    let on_open_record: ds_ui::screen_pop::OpenRecordHandler = Rc::new(move |number, record| {
        let detail = detail(&[("number", number.into()), ("record", record_js(record))]);
        emit(&open_host, "ds-open-record", &detail, false);
    });
    view! {
        <ds_ui::ScreenPop
            link=link
            locale=locale
            history_limit=Signal::stored(limit)
            lookup=lookup
            on_dismiss=on_dismiss
            on_open_record=on_open_record
        />
    }
    .into_any()
}

fn connected(host: web_sys::HtmlElement) {
    provider::connect(host, CSS, build);
}

fn attribute_changed(host: web_sys::HtmlElement, name: String) {
    provider::attribute_changed(host, &name, CSS, build);
}

fn property_changed(host: web_sys::HtmlElement, name: String) {
    // `lookup` is read at every ring; only a new credential starts over.
    if name == "tokenProvider" {
        provider::remount(host, CSS, build);
    }
}
