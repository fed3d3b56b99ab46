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
            data-state=state
            role="status"
            aria-label=move || softphone::strings::text(locale.get(), softphone::strings::Text::ConnectionStatus)
            data-testid="status-chip"
        >
            {label}
        </span>
    }
}
