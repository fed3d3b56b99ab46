//! Screen pop: on the account's `call.incoming` it shows the caller (formatted number, CNAM)
//! right away, asks the host's lookup for its own record (applied only while the same call
//! still rings: the race guard), lists the caller's recent calls, and closes when the call is
//! answered (here or elsewhere), ends, or the user dismisses it.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use ds_core::view_model::embeds::{DismissReason, HistoryFilter, lookup_applies, pop_dismissal};
use ds_core::view_model::{caller_display, format_for_display};
use ds_protocol::events::CallIncomingData;
use ds_web::StreamNotice;
use leptos::prelude::*;

use crate::account_link::AccountLink;
use crate::history::CallHistory;
use crate::i18n::Locale;
use crate::{handler, reactive};

/// The ringing caller, as handed to the lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub call_id: Option<String>,
    /// E.164 as received.
    pub number: String,
    /// CNAM, when the network sent one.
    pub name: Option<String>,
}

/// The host's record of a caller (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerRecord {
    pub name: Option<String>,
    pub url: Option<String>,
    pub notes: Option<String>,
}

/// The host's lookup: a future of its record (or none).
pub type LookupHandler = Rc<dyn Fn(Caller) -> Pin<Box<dyn Future<Output = Option<CallerRecord>>>>>;
/// The pop closed: `(call_id, reason)`.
pub type DismissHandler = Rc<dyn Fn(Option<&str>, DismissReason)>;
/// The user opened the caller's record: `(number, record)`.
pub type OpenRecordHandler = Rc<dyn Fn(&str, &CallerRecord)>;

#[derive(Debug, Clone, Copy)]
pub enum Text {
    Region,
    Waiting,
    IncomingFrom,
    Dismiss,
    OpenRecord,
    RecentCalls,
    LookingUp,
}

pub fn text(locale: Locale, key: Text) -> &'static str {
    use Locale::{En, Es};
    match (key, locale) {
        (Text::Region, En) => "Screen pop",
        (Text::Region, Es) => "Ficha de llamada",
        (Text::Waiting, En) => "No incoming call.",
        (Text::Waiting, Es) => "Ninguna llamada entrante.",
        (Text::IncomingFrom, En) => "Incoming call from",
        (Text::IncomingFrom, Es) => "Llamada entrante de",
        (Text::Dismiss, En) => "Dismiss",
        (Text::Dismiss, Es) => "Descartar",
        (Text::OpenRecord, En) => "Open record",
        (Text::OpenRecord, Es) => "Abrir ficha",
        (Text::RecentCalls, En) => "Recent calls of this caller",
        (Text::RecentCalls, Es) => "Llamadas recientes de este número",
        (Text::LookingUp, En) => "Looking up the caller…",
        (Text::LookingUp, Es) => "Buscando al llamante…",
    }
}

/// One ring being shown.
#[derive(Debug, Clone, PartialEq)]
struct Ring {
    /// Increases with every ring: the race guard's key.
    seq: u64,
    caller: Caller,
    record: Option<CallerRecord>,
    looking_up: bool,
}

/// The screen pop.
#[component]
pub fn ScreenPop(
    /// API base + credential + shared event stream.
    link: Rc<AccountLink>,
    /// Language of the words and formats.
    #[prop(into)]
    locale: Signal<Locale>,
    /// How many recent calls of the caller to list (0: none).
    #[prop(into)]
    history_limit: Signal<u32>,
    /// The host's lookup, run for every ring.
    #[prop(optional)]
    lookup: Option<LookupHandler>,
    /// The pop closed.
    #[prop(optional)]
    on_dismiss: Option<DismissHandler>,
    /// The user opened the caller's record.
    #[prop(optional)]
    on_open_record: Option<OpenRecordHandler>,
) -> impl IntoView {
    let ring = RwSignal::new(None::<Ring>);
    let next_seq = StoredValue::new(0u64);
    let lookup = StoredValue::new_local(lookup);
    let on_dismiss = StoredValue::new_local(on_dismiss);
    let on_open_record = StoredValue::new_local(on_open_record);
    let history_link = StoredValue::new_local(link.clone());

    let dismiss = move |reason: DismissReason| {
        let Some(shown) = ring.get_untracked() else { return };
        ring.set(None);
        if let Some(handler) = on_dismiss.get_value() {
            handler(shown.caller.call_id.as_deref(), reason);
        }
    };

    let show = move |caller: Caller| {
        *next_seq.write_value() += 1;
        let seq = next_seq.get_value();
        let handler = lookup.get_value();
        ring.set(Some(Ring { seq, caller: caller.clone(), record: None, looking_up: handler.is_some() }));
        let Some(handler) = handler else { return };
        leptos::task::spawn_local(async move {
            let record = handler(caller).await;
            let shown = ring.try_read_untracked().and_then(|r| r.as_ref().map(|r| r.seq));
            if !lookup_applies(seq, shown) {
                return; // another call rang meanwhile, or this one was dismissed
            }
            if let Some(r) = ring.write().as_mut() {
                r.record = record;
                r.looking_up = false;
            }
        });
    };

    let subscription = link.subscribe(move |notice| {
        let StreamNotice::Event(event) = notice else { return };
        if event.name == "call.incoming" {
            if let Ok(data) = CallIncomingData::from_json(&event.data) {
                show(Caller { call_id: data.call_id, number: data.from_number, name: data.from_name });
            }
            return;
        }
        let event_call = event.data.get("call_id").and_then(|v| v.as_str());
        let shown_call = ring.read_untracked().as_ref().and_then(|r| r.caller.call_id.clone());
        if let Some(reason) = pop_dismissal(&event.name, event_call, shown_call.as_deref()) {
            dismiss(reason);
        }
    });
    let _keep = StoredValue::new_local(subscription);

    let card = move || {
        let Some(shown) = ring.get() else {
            return view! {
                <p class="ds-state" role="status" data-state="waiting">{move || text(locale.get(), Text::Waiting)}</p>
            }
            .into_any();
        };
        let locale_now = locale.get();
        let network = caller_display(shown.caller.name.as_deref(), &shown.caller.number);
        let record_name = shown.record.as_ref().and_then(|r| r.name.clone());
        // The host's name wins over CNAM; the network's line stays visible under it.
        let (primary, secondary) = match &record_name {
            Some(name) => (name.clone(), Some(network.primary.clone())),
            None => (network.primary.clone(), network.secondary.clone()),
        };
        let notes = shown.record.as_ref().and_then(|r| r.notes.clone());
        let number = shown.caller.number.clone();
        let open = shown.record.clone().map(|record| {
            let number = number.clone();
            view! {
                <button
                    type="button"
                    class="ds-button ds-primary"
                    on:click=handler(move |_| {
                        if let Some(handler) = on_open_record.get_value() {
                            handler(&number, &record);
                        }
                    })
                >
                    {text(locale_now, Text::OpenRecord)}
                </button>
            }
            .into_any()
        });
        view! {
            <div class="ds-pop-card" data-state="ringing" data-number=number.clone()>
                <div class="ds-caller" part="caller" role="status" aria-live="assertive">
                    <span class="ds-visually-hidden">{text(locale_now, Text::IncomingFrom)} " "</span>
                    <span class="ds-caller-primary" data-testid="caller-primary">{primary}</span>
                    {secondary.map(|s| view! { <span class="ds-caller-secondary">{s}</span> }.into_any())}
                    <span class="ds-caller-number">{format_for_display(&number)}</span>
                </div>
                {shown.looking_up.then(|| view! { <p class="ds-hint">{text(locale_now, Text::LookingUp)}</p> }.into_any())}
                {notes.map(|n| view! { <p class="ds-notes" data-testid="record-notes">{n}</p> }.into_any())}
                <div class="ds-actions" part="actions">
                    {open}
                    <button type="button" class="ds-button" on:click=handler(move |_| dismiss(DismissReason::User))>
                        {text(locale_now, Text::Dismiss)}
                    </button>
                </div>
            </div>
        }
        .into_any()
    };

    // The caller's recent calls depend on the ring only (not on the lookup's answer), so the list
    // is built once per ring and does not reload when the record arrives.
    let shown_caller = Memo::new(move |_| {
        ring.read().as_ref().map(|r| (r.seq, r.caller.number.clone(), r.caller.call_id.clone()))
    });
    let recent = move || {
        let (_, number, ringing_call) = shown_caller.get()?;
        let limit = history_limit.get();
        (limit > 0).then(|| {
            // The ringing call is on the card above: "recent" means the caller's earlier calls.
            let filter = HistoryFilter {
                phone_number: Some(number),
                limit,
                exclude_call_id: ringing_call,
                ..Default::default()
            };
            let label = Signal::derive(move || text(locale.get(), Text::RecentCalls).to_owned());
            view! {
                <CallHistory
                    link=history_link.get_value()
                    filter=Signal::stored(filter)
                    locale=locale
                    label=label
                />
            }
        })
    };

    view! {
        <section class="ds-screen-pop" part="base" aria-label=move || text(locale.get(), Text::Region)>
            {reactive(card)}
            {reactive(recent)}
        </section>
    }
}
