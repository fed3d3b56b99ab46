//! Leptos components of the DialStack browser phone. Components read signals and dispatch
//! commands; every decision comes from `ds_core::view_model`.

pub mod i18n;

use ds_core::view_model::{ConnectionStatus, connection_label};
use leptos::prelude::*;

/// The always-visible connection status chip.
#[component]
pub fn StatusChip(
    /// The phone's connection status.
    #[prop(into)]
    status: Signal<ConnectionStatus>,
) -> impl IntoView {
    let label = Memo::new(move |_| connection_label(status.get()));
    let state = move || match status.get() {
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::Connecting | ConnectionStatus::Reconnecting { .. } => "connecting",
        ConnectionStatus::Idle | ConnectionStatus::Disconnected => "disconnected",
        ConnectionStatus::Error => "error",
    };
    view! {
        <span class="ds-status-chip" part="status" data-state=state role="status" data-testid="status-chip">
            {label}
        </span>
    }
}

/// Whether the platform answered its health check, shown under the status chip.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerCheck {
    Reachable { version: String },
    Unreachable { reason: String },
}

/// The softphone shell. For now it shows the connection status and whether the platform at
/// `api_base` answers; the dial pad and calls come with the components issue.
#[component]
pub fn Softphone(
    /// Base URL of the DialStack API, e.g. `http://127.0.0.1:8787`.
    #[prop(into)]
    api_base: Signal<String>,
) -> impl IntoView {
    let (status, _set_status) = signal(ConnectionStatus::Idle);
    let check = LocalResource::new(move || {
        let base = api_base.get();
        async move {
            match ds_web::fetch_health(&base).await {
                Ok(health) => ServerCheck::Reachable { version: health.version },
                Err(error) => ServerCheck::Unreachable { reason: error.to_string() },
            }
        }
    });
    let server_line = move || match check.get() {
        None => "Checking the server…".to_owned(),
        Some(ServerCheck::Reachable { version }) => format!("Server reachable (ds-local {version})"),
        Some(ServerCheck::Unreachable { reason }) => format!("Server problem: {reason}"),
    };
    view! {
        <section class="ds-softphone" part="base" aria-label="Softphone">
            <StatusChip status=status />
            <p class="ds-server-line" data-testid="server-line">{server_line}</p>
        </section>
    }
}
