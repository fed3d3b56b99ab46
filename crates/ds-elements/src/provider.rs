//! The page-level provider of the account-side elements (`<ds-dialer>`, `<ds-call-history>`,
//! `<ds-screen-pop>`): one [`AccountLink`] (one account session, one `/v1/events` stream) per
//! `(api-base, token source)`, shared by every element on the page that names the same pair, and
//! the lifecycle those elements have in common (mount in `connectedCallback`, unmount in
//! `disconnectedCallback`, `locale` live, anything else remounts).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use ds_ui::AccountLink;
use ds_ui::i18n::Locale;
use ds_web::{AccountSession, VecMap};
use leptos::prelude::*;

use crate::host::{TokenSource, api_base_of, locale_of};

/// Styles shared by the account-side elements (before each element's own sheet).
const ACCOUNT_CSS: &str = include_str!("css/account.css");

/// A mounted element: dropping it unmounts the view (and releases its link).
struct Instance {
    locale: ArcRwSignal<Locale>,
    _mount: crate::Mounted,
}

thread_local! {
    static LINKS: RefCell<Vec<(String, TokenSource, Weak<AccountLink>)>> = const { RefCell::new(Vec::new()) };
    static INSTANCES: RefCell<VecMap<u32, Instance>> = RefCell::new(VecMap::new());
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
    let mount = crate::mount(
        container,
        Box::new(move || {
            let locale: Signal<Locale> = Signal::from(for_view);
            build(&host, link, locale)
        }),
    );
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
