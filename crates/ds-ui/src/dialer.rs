//! The REST dialer: a destination field and keypad that place a click-to-call
//! (`POST /v1/calls` with `dial_string` and `user_id`: the user's devices ring first, then the
//! destination), with progress from the account's events and errors in words.

use std::rc::Rc;

use ds_core::view_model::embeds::{DialProgress, dial_progress_after};
use ds_core::view_model::{format_as_you_type, strip_to_dial_string};
use ds_protocol::json_object;
use ds_web::StreamNotice;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::account_link::{AccountLink, LinkError, error_code, error_words};
use crate::i18n::Locale;
use crate::{handler, reactive};

/// Asked before the request with the destination; returning `false` cancels it.
pub type BeforeCall = Rc<dyn Fn(&str) -> bool>;
/// The platform accepted the call: `(destination, call_id)`.
pub type CallStarted = Rc<dyn Fn(&str, &str)>;
/// The request failed: `(code, message)`.
pub type DialError = Rc<dyn Fn(&str, &str)>;

const KEYS: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

#[derive(Debug, Clone, Copy)]
pub enum Text {
    Region,
    Destination,
    Keypad,
    Call,
    Delete,
    Requesting,
    RingingYou,
    Connected,
    Ended,
    NeedDestination,
    NeedUser,
}

pub fn text(locale: Locale, key: Text) -> &'static str {
    use Locale::{En, Es};
    match (key, locale) {
        (Text::Region, En) => "Dialer",
        (Text::Region, Es) => "Marcador",
        (Text::Destination, En) => "Number to call",
        (Text::Destination, Es) => "Número a llamar",
        (Text::Keypad, En) => "Keypad",
        (Text::Keypad, Es) => "Teclado",
        (Text::Call, En) => "Call",
        (Text::Call, Es) => "Llamar",
        (Text::Delete, En) => "Delete last digit",
        (Text::Delete, Es) => "Borrar el último dígito",
        (Text::Requesting, En) => "Placing the call…",
        (Text::Requesting, Es) => "Realizando la llamada…",
        (Text::RingingYou, En) => "Your phone is ringing: answer it to be connected.",
        (Text::RingingYou, Es) => "Su teléfono está sonando: conteste para conectar.",
        (Text::Connected, En) => "Connected.",
        (Text::Connected, Es) => "Conectado.",
        (Text::Ended, En) => "The call ended.",
        (Text::Ended, Es) => "La llamada terminó.",
        (Text::NeedDestination, En) => "Enter a number to call.",
        (Text::NeedDestination, Es) => "Introduzca un número.",
        (Text::NeedUser, En) => "No user: set the user-id attribute.",
        (Text::NeedUser, Es) => "Sin usuario: configure el atributo user-id.",
    }
}

fn progress_text(locale: Locale, progress: DialProgress) -> Option<&'static str> {
    match progress {
        DialProgress::Idle | DialProgress::Failed => None,
        DialProgress::Requesting => Some(text(locale, Text::Requesting)),
        DialProgress::RingingYou => Some(text(locale, Text::RingingYou)),
        DialProgress::Connected => Some(text(locale, Text::Connected)),
        DialProgress::Ended => Some(text(locale, Text::Ended)),
    }
}

fn progress_name(progress: DialProgress) -> &'static str {
    match progress {
        DialProgress::Idle => "idle",
        DialProgress::Requesting => "requesting",
        DialProgress::RingingYou => "ringing",
        DialProgress::Connected => "connected",
        DialProgress::Ended => "ended",
        DialProgress::Failed => "failed",
    }
}

/// The click-to-call dialer.
#[component]
pub fn Dialer(
    /// API base + credential + shared event stream.
    link: Rc<AccountLink>,
    /// Language of the words.
    #[prop(into)]
    locale: Signal<Locale>,
    /// Whose devices ring first (`user_…`).
    #[prop(into)]
    user_id: Signal<Option<String>>,
    /// Prefills the destination.
    #[prop(optional, into)]
    initial: Option<String>,
    /// Asked before the request; `false` cancels.
    #[prop(optional)]
    before_call: Option<BeforeCall>,
    /// The platform accepted the call.
    #[prop(optional)]
    on_started: Option<CallStarted>,
    /// The request failed.
    #[prop(optional)]
    on_error: Option<DialError>,
) -> impl IntoView {
    let destination = RwSignal::new(strip_to_dial_string(initial.as_deref().unwrap_or_default()));
    let progress = RwSignal::new(DialProgress::Idle);
    let error = RwSignal::new(None::<String>);
    let placed = RwSignal::new(None::<String>);
    let before_call = StoredValue::new_local(before_call);
    let on_started = StoredValue::new_local(on_started);
    let on_error = StoredValue::new_local(on_error);
    let link = StoredValue::new_local(link);

    let subscription = link.get_value().subscribe(move |notice| {
        let StreamNotice::Event(event) = notice else { return };
        let call_id = event.data.get("call_id").and_then(|v| v.as_str());
        let current = progress.get_untracked();
        let next = dial_progress_after(current, &event.name, call_id, placed.read_untracked().as_deref());
        if next != current {
            progress.set(next);
        }
    });
    let _keep = StoredValue::new_local(subscription);

    let report = move |code: &str, words: String| {
        error.set(Some(words.clone()));
        progress.set(DialProgress::Failed);
        if let Some(handler) = on_error.get_value() {
            handler(code, &words);
        }
    };

    let call = move || {
        let dial = destination.get_untracked();
        let locale = locale.get_untracked();
        if dial.is_empty() {
            return report("invalid_destination", text(locale, Text::NeedDestination).to_owned());
        }
        let Some(user) = user_id.get_untracked().filter(|u| !u.trim().is_empty()) else {
            return report("missing_user", text(locale, Text::NeedUser).to_owned());
        };
        if let Some(ask) = before_call.get_value()
            && !ask(&dial)
        {
            return;
        }
        error.set(None);
        placed.set(None);
        progress.set(DialProgress::Requesting);
        let link = link.get_value();
        leptos::task::spawn_local(async move {
            let body = json_object!( "dial_string": &dial, "user_id": user );
            match link.post("/v1/calls", &body).await {
                Ok(reply) => {
                    let id = reply.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                    placed.set(Some(id.clone()));
                    if progress.get_untracked() == DialProgress::Requesting {
                        progress.set(DialProgress::RingingYou);
                    }
                    if let Some(handler) = on_started.get_value() {
                        handler(&dial, &id);
                    }
                }
                Err(failure) => {
                    let words = match &failure {
                        LinkError::Api(ds_web::ApiError::Status {
                            status: 400 | 404 | 422, message, ..
                        }) => message.clone(),
                        other => error_words(locale, other),
                    };
                    report(&error_code(&failure), words);
                }
            }
        });
    };

    let keys = KEYS
        .iter()
        .map(|&key| {
            view! {
                <button
                    type="button"
                    class="ds-key"
                    part="key"
                    aria-label=key.to_string()
                    on:click=handler(move |_| destination.write().push(key))
                >
                    {key.to_string()}
                </button>
            }
        })
        .collect_view();

    let busy = move || matches!(progress.get(), DialProgress::Requesting);
    view! {
        <form
            class="ds-dialer"
            part="base"
            aria-label=move || text(locale.get(), Text::Region)
            on:submit=handler(move |event: leptos::ev::SubmitEvent| {
                event.prevent_default();
                call();
            })
        >
            <div class="ds-destination-row">
                <input
                    class="ds-destination"
                    part="destination"
                    type="tel"
                    inputmode="tel"
                    autocomplete="tel"
                    aria-label=move || text(locale.get(), Text::Destination)
                    placeholder=move || text(locale.get(), Text::Destination)
                    prop:value=move || format_as_you_type(&destination.get())
                    on:input=handler(move |event: web_sys::Event| {
                        if let Some(input) = event
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                        {
                            destination.set(strip_to_dial_string(&input.value()));
                        }
                    })
                />
                <button
                    type="button"
                    class="ds-backspace"
                    aria-label=move || text(locale.get(), Text::Delete)
                    disabled=move || destination.read().is_empty()
                    on:click=handler(move |_| {
                        destination.write().pop();
                    })
                >
                    "⌫"
                </button>
            </div>
            <div class="ds-keypad" part="keypad" role="group" aria-label=move || text(locale.get(), Text::Keypad)>
                {keys}
            </div>
            <button type="submit" class="ds-call-button" part="call-button" disabled=reactive(busy)>
                {move || text(locale.get(), Text::Call)}
            </button>
            <p class="ds-progress" part="progress" role="status" data-state=move || progress_name(progress.get())>
                {move || progress_text(locale.get(), progress.get())}
            </p>
            <p class="ds-error" role="alert">
                {move || error.get()}
            </p>
        </form>
    }
}
