//! Leptos components of the DialStack browser phone. Components read signals and dispatch
//! commands; every decision comes from `ds_core::view_model`.

pub mod account_link;
pub mod dialer;
pub mod format;
pub mod history;
pub mod i18n;
pub mod screen_pop;
pub mod softphone;

use ds_core::view_model::ConnectionStatus;
use leptos::prelude::*;

pub use account_link::AccountLink;
pub use dialer::Dialer;
pub use history::CallHistory;
pub use screen_pop::ScreenPop;

pub use softphone::{BeforeDial, PhoneState, Softphone, SoftphoneCtx};

/// A reactive value (a child or an attribute) behind one shared function type. Under
/// `erase_components`, `view!` does this itself for closures written inline (`{move || …}`), so
/// that tachys' render code is compiled once per output type instead of once per closure; a
/// closure held in a variable (`{label}`) or returned by a component needs it by hand.
pub fn reactive<T: 'static>(
    f: impl FnMut() -> T + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<dyn FnMut() -> T + Send>> {
    std::sync::Arc::new(std::sync::Mutex::new(f))
}

/// An event handler behind one boxed type per event. Each `on:click=move |_| …` is an attribute
/// type of its own, with its own copy of tachys' event and attribute code; boxed, all the click
/// handlers share one.
pub(crate) fn handler<E: 'static>(f: impl FnMut(E) + 'static) -> Box<dyn FnMut(E)> {
    Box::new(f)
}

/// What `<Show>` does: `view` while `when` is true, rebuilt only when `when` changes. Boxed so
/// that one copy of the code serves every use (`<Show>` is compiled once per condition and child
/// type).
pub(crate) fn show(
    when: Box<dyn Fn() -> bool + Send + Sync>,
    view: Box<dyn Fn() -> AnyView + Send + Sync>,
) -> AnyView {
    let shown = ArcMemo::new(move |_| when());
    reactive(move || shown.get().then(&view)).into_any()
}

/// The always-visible connection status chip.
#[component]
pub fn StatusChip(
    /// The phone's connection status.
    #[prop(into)]
    status: Signal<ConnectionStatus>,
    /// Language of the label (default English).
    #[prop(optional, into)]
    locale: Option<Signal<i18n::Locale>>,
) -> impl IntoView {
    let locale = locale.unwrap_or_else(|| Signal::stored(i18n::Locale::En));
    let label = move || softphone::strings::status_text(locale.get(), status.get());
    let state = move || match status.get() {
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::Connecting | ConnectionStatus::Reconnecting { .. } => "connecting",
        ConnectionStatus::Idle | ConnectionStatus::Disconnected => "disconnected",
        ConnectionStatus::Error => "error",
    };
    view! {
        <span
            class="ds-status-chip"
            part="status"
            data-state=reactive(state)
            role="status"
            aria-label=move || softphone::strings::text(locale.get(), softphone::strings::Text::ConnectionStatus)
            data-testid="status-chip"
        >
            {reactive(label)}
        </span>
    }
}
