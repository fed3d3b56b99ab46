//! `<ds-dialer>`: click-to-call through REST, with progress from the account's events.

use std::rc::Rc;

use ds_ui::AccountLink;
use ds_ui::i18n::Locale;
use leptos::prelude::*;

use crate::events::{detail, emit};
use crate::provider;
use crate::registry::ElementSpec;

pub const DIALER_TAG: &str = "ds-dialer";

pub(crate) const SPEC: ElementSpec = ElementSpec {
    tag: DIALER_TAG,
    observed_attributes: &["api-base", "locale", "theme", "token-url", "user-id", "phone-number"],
    properties: &["tokenProvider"],
    connected,
    disconnected: provider::disconnect,
    attribute_changed,
    property_changed,
};

const CSS: &str = include_str!("css/dialer.css");

fn build(host: &web_sys::HtmlElement, link: Rc<AccountLink>, locale: Signal<Locale>) -> AnyView {
    let user = host.get_attribute("user-id").filter(|u| !u.trim().is_empty());
    let initial = host.get_attribute("phone-number").unwrap_or_default();
    let (request_host, started_host, error_host) = (host.clone(), host.clone(), host.clone());
    let before_call: ds_ui::dialer::BeforeCall = Rc::new(move |destination| {
        let detail = detail(&[("destination", destination.into())]);
        emit(&request_host, "ds-call-request", &detail, true)
    });
    let on_started: ds_ui::dialer::CallStarted = Rc::new(move |destination, call_id| {
        let detail = detail(&[("destination", destination.into()), ("callId", call_id.into())]);
        emit(&started_host, "ds-call-started", &detail, false);
    });
    let on_error: ds_ui::dialer::DialError =
        Rc::new(move |code, message| provider::emit_error(&error_host, code, message));
    view! {
        <ds_ui::Dialer
            link=link
            locale=locale
            user_id=Signal::stored(user)
            initial=initial
            before_call=before_call
            on_started=on_started
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
