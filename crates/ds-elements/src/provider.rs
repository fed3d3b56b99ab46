//! The page-level provider of the account-side elements (`<ds-dialer>`, `<ds-call-history>`,
//! `<ds-screen-pop>`): one [`AccountLink`] (one account session, one `/v1/events` stream) per
//! `(api-base, token source)`, shared by every element on the page that names the same pair, and
//! the lifecycle those elements have in common (mount in `connectedCallback`, unmount in
//! `disconnectedCallback`, `locale` live, anything else remounts).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use ds_ui::AccountLink;
use ds_ui::i18n::Locale;
use ds_web::{AccountSession, TokenProvider};
use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::registry::property;

/// Styles shared by the account-side elements (before each element's own sheet).
const ACCOUNT_CSS: &str = include_str!("css/account.css");

/// Where an element's credential comes from; elements share a link when these are equal.
#[derive(Clone)]
enum TokenSource {
    /// `token-url`, or a `tokenProvider` string that is a URL: the host's token endpoint.
    Endpoint(String),
    /// A `tokenProvider` string that is not a URL: the secret itself.
    Token(String),
    /// A `tokenProvider` function, compared by identity.
    Function(js_sys::Function),
}

impl TokenSource {
    fn same(&self, other: &TokenSource) -> bool {
        match (self, other) {
            (TokenSource::Endpoint(a), TokenSource::Endpoint(b))
            | (TokenSource::Token(a), TokenSource::Token(b)) => a == b,
            (TokenSource::Function(a), TokenSource::Function(b)) => js_sys::Object::is(a, b),
            _ => false,
        }
    }

    fn provider(&self) -> TokenProvider {
        match self {
            TokenSource::Endpoint(url) => TokenProvider::Endpoint(url.clone()),
            TokenSource::Token(token) => TokenProvider::Fixed(token.clone()),
            TokenSource::Function(function) => TokenProvider::Function(function.clone()),
        }
    }

    /// `tokenProvider` wins over `token-url`.
    fn of(host: &web_sys::HtmlElement) -> Option<TokenSource> {
        let value = property(host, "tokenProvider");
        if let Some(function) = value.dyn_ref::<js_sys::Function>() {
            return Some(TokenSource::Function(function.clone()));
        }
        if let Some(text) = value.as_string().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
            let is_url = text.starts_with("http://")
                || text.starts_with("https://")
                || text.starts_with('/')
                || text.starts_with('.');
            return Some(if is_url { TokenSource::Endpoint(text) } else { TokenSource::Token(text) });
        }
        host.get_attribute("token-url")
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .map(TokenSource::Endpoint)
    }
}

/// A mounted element: dropping it unmounts the view (and releases its link).
struct Instance {
    locale: ArcRwSignal<Locale>,
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

thread_local! {
    static LINKS: RefCell<Vec<(String, TokenSource, Weak<AccountLink>)>> = const { RefCell::new(Vec::new()) };
    static INSTANCES: RefCell<HashMap<u32, Instance>> = RefCell::new(HashMap::new());
}

/// The page's link for `host`'s `api-base` and credential: shared when another element already
/// holds one for the same pair; a credential-less link (components show the error) otherwise.
pub(crate) fn link_for(host: &web_sys::HtmlElement) -> Rc<AccountLink> {
    let api_base = api_base_of(host);
    let Some(source) = TokenSource::of(host) else { return AccountLink::new(&api_base, None) };
    LINKS.with(|links| {
        let mut links = links.borrow_mut();
        links.retain(|(_, _, link)| link.strong_count() > 0);
        if let Some(link) = links
            .iter()
            .find(|(base, s, _)| *base == api_base && s.same(&source))
            .and_then(|(_, _, link)| link.upgrade())
        {
            return link;
        }
        let link = AccountLink::new(&api_base, Some(AccountSession::new(source.provider())));
        links.push((api_base, source, Rc::downgrade(&link)));
        link
    })
}

/// How many distinct links are alive on the page (tests: elements share one).
pub fn live_link_count() -> usize {
    LINKS.with(|links| links.borrow().iter().filter(|(_, _, link)| link.strong_count() > 0).count())
}

pub(crate) fn api_base_of(host: &web_sys::HtmlElement) -> String {
    host.get_attribute("api-base")
        .filter(|value| !value.trim().is_empty())
        .or_else(ds_web::page_origin)
        .unwrap_or_default()
}

pub(crate) fn locale_of(host: &web_sys::HtmlElement) -> Locale {
    let tag = host
        .get_attribute("locale")
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_default();
    Locale::from_tag(&tag)
}

/// Builds an element's view from its host, its link and the live locale.
pub(crate) type Build = fn(&web_sys::HtmlElement, Rc<AccountLink>, Signal<Locale>) -> AnyView;

/// `connectedCallback`: opens the shadow root with `css`, and mounts `build`'s view.
pub(crate) fn connect(host: web_sys::HtmlElement, css: &'static str, build: Build) {
    if crate::instance_id(&host).is_some_and(|id| INSTANCES.with(|all| all.borrow().contains_key(&id))) {
        return;
    }
    let Some(container) = crate::shadow_container(&host, &[ACCOUNT_CSS, css]) else { return };
    let id = crate::assign_instance_id(&host);
    let locale = ArcRwSignal::new(locale_of(&host));
    let for_view = locale.clone();
    let link = link_for(&host);
    let mount = mount_to(container, move || {
        let locale = Signal::derive(move || for_view.get());
        build(&host, link, locale)
    });
    INSTANCES.with(|all| all.borrow_mut().insert(id, Instance { locale, _mount: mount }));
}

/// `disconnectedCallback`: unmounts and empties the shadow root.
pub(crate) fn disconnect(host: web_sys::HtmlElement) {
    let Some(id) = crate::instance_id(&host) else { return };
    let instance = INSTANCES.with(|all| all.borrow_mut().remove(&id));
    if instance.is_some() {
        drop(instance);
        crate::clear_shadow(&host);
    }
}

/// `attributeChangedCallback`: `locale` is live, `theme` is CSS only, the rest remounts.
pub(crate) fn attribute_changed(host: web_sys::HtmlElement, name: &str, css: &'static str, build: Build) {
    match name {
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
        _ => remount(host, css, build),
    }
}

pub(crate) fn remount(host: web_sys::HtmlElement, css: &'static str, build: Build) {
    disconnect(host.clone());
    connect(host, css, build);
}

/// Reports a component's failure as `ds-error` on `host`.
pub(crate) fn emit_error(host: &web_sys::HtmlElement, code: &str, message: &str) {
    let detail = crate::events::detail(&[("code", code.into()), ("message", message.into())]);
    crate::events::emit(host, "ds-error", &detail, false);
}
