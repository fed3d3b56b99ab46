//! The hosted page: sign in through a token endpoint (or a pasted token), then the full-screen
//! softphone.

use std::rc::Rc;

use ds_core::view_model::embeds::HistoryFilter;
use ds_core::{CallPhase, PhoneEvent};
use ds_protocol::json::Json;
use ds_ui::i18n::Locale;
use ds_web::{DriverEvent, PhoneHandle, PhoneOptions, StreamEvent, StreamNotice, TokenProvider};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Where the page's token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    /// A token endpoint (`POST`, or `GET` when it answers 405).
    Endpoint(String),
    /// A token pasted by the user (demos and support).
    Token(String),
}

impl Credential {
    fn provider(&self) -> TokenProvider {
        match self {
            Credential::Endpoint(url) => TokenProvider::Endpoint(url.clone()),
            Credential::Token(token) => TokenProvider::Fixed(token.clone()),
        }
    }
}

fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Whether the page is served from this machine, where ds-local's demo token route may exist.
fn is_local_demo() -> bool {
    let host = web_sys::window().and_then(|w| w.location().hostname().ok()).unwrap_or_default();
    matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

fn page_locale() -> Locale {
    let tag = query_param("locale")
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_default();
    Locale::from_tag(&tag)
}

fn input_value(event: &web_sys::Event) -> String {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value())
        .unwrap_or_default()
}

/// The sign-in form: a token URL (prefilled from `?token-url=`), or a pasted token.
#[component]
fn SignIn(
    /// Called with the credential the user chose.
    on_sign_in: Callback<Credential>,
) -> impl IntoView {
    let token_url = RwSignal::new(query_param("token-url").unwrap_or_default());
    let token = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<&'static str>);
    view! {
        <main class="ds-signin">
            <h1>"DialStack Softphone"</h1>
            <form on:submit=move |event| {
                event.prevent_default();
                let (url, token) = (token_url.get_untracked(), token.get_untracked());
                if !token.trim().is_empty() {
                    on_sign_in.run(Credential::Token(token.trim().to_owned()));
                } else if !url.trim().is_empty() {
                    on_sign_in.run(Credential::Endpoint(url.trim().to_owned()));
                } else {
                    problem.set(Some("Enter your token URL, or paste a token."));
                }
            }>
                <label>
                    <span>"Token URL"</span>
                    <input
                        type="text"
                        inputmode="url"
                        spellcheck="false"
                        name="token-url"
                        autocomplete="url"
                        placeholder="https://your-app.example/dialstack/token"
                        prop:value=move || token_url.get()
                        on:input=move |event| token_url.set(input_value(&event))
                    />
                </label>
                <label>
                    <span>"Or paste a token"</span>
                    <input
                        type="password"
                        name="token"
                        autocomplete="off"
                        prop:value=move || token.get()
                        on:input=move |event| token.set(input_value(&event))
                    />
                </label>
                <p class="ds-hint" role="alert">{move || problem.get()}</p>
                <button type="submit">"Sign in"</button>
            </form>
            {is_local_demo().then(|| view! {
                <p class="ds-hint">
                    "Running ds-local with --demo? Sign in as "
                    <a href="?token-url=/_ds/demo/tokens/alice">"Alice (demo)"</a>
                    " or "
                    <a href="?token-url=/_ds/demo/tokens/bob">"Bob (demo)"</a>
                    "."
                </p>
            })}
        </main>
    }
}

/// The page: the sign-in form until a credential is chosen, then the softphone.
/// The account event a change of the phone's calls stands for, as far as the user's history is
/// concerned: a call appeared, was answered (its live row; the server may not have logged it yet
/// when the call was only added) or ended (its final status). `answered` holds the calls already
/// reported answered: a resume or a mute is an update to `Active` too, and must not refetch.
fn history_event_of(event: &DriverEvent, answered: &mut ds_web::CallMap<()>) -> Option<&'static str> {
    match event {
        DriverEvent::Phone(PhoneEvent::CallAdded(_)) => Some("call.initiated"),
        DriverEvent::Phone(PhoneEvent::CallUpdated(info)) if info.phase == CallPhase::Active => {
            answered.insert(info.handle, ()).is_none().then_some("call.answered")
        }
        DriverEvent::Phone(PhoneEvent::CallRemoved(info)) => {
            answered.remove(&info.handle);
            Some("call.end")
        }
        _ => None,
    }
}

#[component]
pub fn App() -> impl IntoView {
    let api_base = ds_web::page_origin().unwrap_or_default();
    let locale = page_locale();
    let credential = RwSignal::new(query_param("token-url").map(Credential::Endpoint));
    let phone = StoredValue::new_local(None::<PhoneHandle>);
    let sign_out = move |_| {
        phone.update_value(|phone| {
            if let Some(phone) = phone.take() {
                phone.disconnect();
            }
        });
        credential.set(None);
    };
    move || match credential.get() {
        None => view! { <SignIn on_sign_in=Callback::new(move |c| credential.set(Some(c))) /> }.into_any(),
        Some(credential) => {
            // Tabs of the page signed in as one user share one registration (the first tab
            // holds it, the others show and control its calls) instead of replacing each other.
            let mut options = PhoneOptions::new(api_base.clone(), credential.provider());
            options.multi_tab = true;
            let handle = PhoneHandle::new(options);
            let connecting = handle.clone();
            leptos::task::spawn_local(async move {
                let _ = connecting.connect().await;
            });
            phone.set_value(Some(handle.clone()));
            // The user's own calls (a user token lists only them); "call back" dials here. A user
            // token has no account event stream, so the phone's own call events keep the list live.
            let link =
                ds_ui::AccountLink::for_user(&api_base, ds_web::AccountSession::new(credential.provider()));
            let live = link.clone();
            let answered = std::cell::RefCell::new(ds_web::CallMap::new());
            let phone_events = handle.subscribe(move |event| {
                if let Some(name) = history_event_of(event, &mut answered.borrow_mut()) {
                    live.dispatch(&StreamNotice::Event(StreamEvent {
                        name: name.to_owned(),
                        id: None,
                        data: Json::Null,
                    }));
                }
            });
            // Owned by this view: dropped (unsubscribed) when the user signs out.
            let _keep = StoredValue::new_local(phone_events);
            let dialer = handle.clone();
            let call_back: ds_ui::history::CallBackHandler = Rc::new(move |number, _call_id| {
                dialer.dial(number);
            });
            let filter = HistoryFilter { limit: 20, ..HistoryFilter::default() };
            view! {
                <main class="ds-app">
                    <ds_ui::Softphone phone=handle locale=Signal::stored(locale) />
                    <div class="ds-history">
                        <ds_ui::CallHistory
                            link=link
                            filter=Signal::stored(filter)
                            locale=Signal::stored(locale)
                            on_call_back=call_back
                        />
                    </div>
                    <button type="button" class="ds-signout" on:click=sign_out>"Sign out"</button>
                </main>
            }
            .into_any()
        }
    }
}
