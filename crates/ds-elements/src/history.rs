//! `<ds-call-history>`: the account's (or the user's) calls, live and virtualized.

use std::rc::Rc;

use ds_core::view_model::embeds::{DEFAULT_HISTORY_LIMIT, HistoryFilter, MAX_HISTORY_LIMIT, parse_limit};
use ds_ui::AccountLink;
use ds_ui::i18n::Locale;
use leptos::prelude::*;

use crate::events::{detail, emit};
use crate::provider;
use crate::registry::ElementSpec;

pub const CALL_HISTORY_TAG: &str = "ds-call-history";

pub(crate) const SPEC: ElementSpec = ElementSpec {
    tag: CALL_HISTORY_TAG,
    observed_attributes: &[
        "api-base",
        "locale",
        "theme",
        "token-url",
        "phone-number",
        "direction",
        "missed",
        "limit",
    ],
    properties: &["tokenProvider"],
    connected,
    disconnected: provider::disconnect,
    attribute_changed,
    property_changed,
};

const CSS: &str = include_str!("css/history.css");

fn filter_of(host: &web_sys::HtmlElement) -> HistoryFilter {
    HistoryFilter {
        phone_number: host.get_attribute("phone-number").filter(|n| !n.trim().is_empty()),
        direction: host
            .get_attribute("direction")
            .and_then(|d| ds_protocol::rest::CallDirection::parse(d.trim())),
        missed: host.has_attribute("missed"),
        limit: parse_limit(host.get_attribute("limit").as_deref(), DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT),
        exclude_call_id: None,
    }
}

fn build(host: &web_sys::HtmlElement, link: Rc<AccountLink>, locale: Signal<Locale>) -> AnyView {
    let filter = filter_of(host);
    let (back_host, error_host) = (host.clone(), host.clone());
    let on_call_back: ds_ui::history::CallBackHandler = Rc::new(move |number, call_id| {
        let detail = detail(&[("number", number.into()), ("callId", call_id.into())]);
        emit(&back_host, "ds-call-back", &detail, true);
    });
    let on_error: ds_ui::history::ErrorHandler =
        Rc::new(move |code, message| provider::emit_error(&error_host, code, message));
    view! {
        <ds_ui::CallHistory
            link=link
            filter=Signal::stored(filter)
            locale=locale
            on_call_back=on_call_back
            on_error=on_error
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

fn property_changed(host: web_sys::HtmlElement, _name: String) {
    provider::remount(host, CSS, build);
}
