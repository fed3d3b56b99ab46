//! The softphone: status chip, dial pad, outbound progress, incoming and call-waiting cards,
//! in-call controls (mute, hold, DTMF, blind and attended transfer), held-call cards, audio
//! devices, live quality, the E911 banner and address form, and the error chip.
//!
//! [`Softphone`] subscribes to a [`PhoneHandle`] and mirrors its snapshot into signals
//! ([`PhoneState`]); the parts read those signals through [`SoftphoneCtx`] and dispatch
//! [`Command`]s. Every decision (which screen, which button is enabled and why, what an error
//! means) comes from `ds_core::view_model`.

mod calls;
mod dialpad;
mod emergency;
mod extras;
pub mod strings;

use std::rc::Rc;
use std::time::Duration;

use ds_core::view_model::{END_SUMMARY_MS, Layout, select_layout};
use ds_core::{CallHandle, CallInfo, Command, PhoneError, PhoneEvent};
use ds_web::quality::QualityReport;
use ds_web::{AudioDevice, DriverEvent, PhoneHandle};
use leptos::prelude::*;

use crate::i18n::Locale;
use crate::{StatusChip, reactive};
use strings::{Text, text};

/// Asked before dialing with the cleaned destination; `false` vetoes the call (the element's
/// cancelable `ds-call-request`).
pub type BeforeDial = Rc<dyn Fn(&str) -> bool>;

/// The phone's state as signals, refreshed from [`PhoneHandle::snapshot`] on every event.
#[derive(Debug, Clone, Copy)]
pub struct PhoneState {
    pub status: RwSignal<ds_core::view_model::ConnectionStatus>,
    pub calls: RwSignal<Vec<CallInfo>>,
    pub active: RwSignal<Option<CallHandle>>,
    pub quality: RwSignal<ds_web::CallMap<QualityReport>>,
    pub error: RwSignal<Option<PhoneError>>,
    pub audio_blocked: RwSignal<bool>,
    /// The call that just ended, shown for [`END_SUMMARY_MS`].
    pub ended: RwSignal<Option<CallInfo>>,
    pub devices: RwSignal<Vec<AudioDevice>>,
    /// The E911 address id the phone presents.
    pub emergency_id: RwSignal<Option<String>>,
    /// The current session's (presented address id, `network.changed` seen).
    pub emergency_session: RwSignal<(Option<String>, bool)>,
    /// (id, one-line summary) of the chosen address, once loaded or saved.
    pub emergency_summary: RwSignal<Option<(String, String)>>,
    /// The address form is open.
    pub emergency_form: RwSignal<bool>,
    /// The banner's open-the-form button, where the focus returns when the form closes.
    pub emergency_button: NodeRef<leptos::html::Button>,
    /// Text of the assertive live region (incoming calls, unplugged devices).
    pub announcement: RwSignal<String>,
    /// Wall clock (ms) for call timers, ticking once a second.
    pub now_ms: RwSignal<u64>,
    /// This tab follows another tab that holds the phone (multi-tab): it shows and controls the
    /// calls, the other tab plays the audio.
    pub follower: RwSignal<bool>,
}

impl PhoneState {
    fn new() -> Self {
        PhoneState {
            status: RwSignal::new(ds_core::view_model::ConnectionStatus::Idle),
            calls: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            quality: RwSignal::new(ds_web::CallMap::new()),
            error: RwSignal::new(None),
            audio_blocked: RwSignal::new(false),
            ended: RwSignal::new(None),
            devices: RwSignal::new(Vec::new()),
            emergency_id: RwSignal::new(None),
            emergency_session: RwSignal::new((None, false)),
            emergency_summary: RwSignal::new(None),
            emergency_form: RwSignal::new(false),
            emergency_button: NodeRef::new(),
            announcement: RwSignal::new(String::new()),
            now_ms: RwSignal::new(js_sys_now()),
            follower: RwSignal::new(false),
        }
    }

    /// Copies the phone's snapshot into the signals; unchanged parts notify nobody (quality
    /// reports arrive every second and must not re-run everything that reads the calls).
    fn refresh(&self, phone: &PhoneHandle) {
        let snapshot = phone.snapshot();
        set_if_changed(self.status, snapshot.status);
        set_if_changed(self.calls, snapshot.calls);
        set_if_changed(self.active, snapshot.active);
        set_if_changed(self.quality, snapshot.quality);
        set_if_changed(self.audio_blocked, snapshot.audio_blocked);
        set_if_changed(self.emergency_id, phone.emergency_address_id());
        set_if_changed(self.emergency_session, phone.emergency_session());
        set_if_changed(self.follower, !phone.is_tab_leader());
    }
}

fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if *signal.read_untracked() != value {
        signal.set(value);
    }
}

fn js_sys_now() -> u64 {
    js_sys::Date::now() as u64
}

/// What the softphone's parts share: the phone, its state as signals, and the language.
#[derive(Clone, Copy)]
pub struct SoftphoneCtx {
    phone: StoredValue<PhoneHandle, LocalStorage>,
    before_dial: StoredValue<Option<BeforeDial>, LocalStorage>,
    pub state: PhoneState,
    pub locale: Signal<Locale>,
    /// Distinguishes ids (for `aria-describedby`) of several softphones in one document.
    pub uid: u32,
}

impl SoftphoneCtx {
    /// Sends a command to the phone.
    pub fn command(&self, command: Command) {
        self.phone.read_value().command(command);
    }

    pub fn with_phone<R>(&self, f: impl FnOnce(&PhoneHandle) -> R) -> R {
        f(&self.phone.read_value())
    }

    /// Dials `destination` unless the host vetoes it.
    pub fn dial(&self, destination: &str) -> bool {
        let allowed = self.before_dial.read_value().as_ref().is_none_or(|hook| hook(destination));
        if allowed {
            self.state.error.set(None);
            self.phone.read_value().dial(destination);
        }
        allowed
    }

    /// The current language's word for `key`. Untracked: [`Softphone`] renders its parts anew
    /// when the locale changes, so fixed words are plain text rather than one reactive closure
    /// each (which would cost bundle size for something that changes almost never).
    pub fn t(&self, key: Text) -> &'static str {
        text(self.lang(), key)
    }

    /// The current language, read untracked, for the parts' reactive closures. Untracked because
    /// [`Softphone`] renders every part anew when the locale changes, and because a tracked read
    /// subscribes the closure to the locale signal, which almost never changes: reactive_graph
    /// drops a disposed closure's entry from a signal's subscriber list only when that signal
    /// next notifies, so each per-call view (the in-call screen, the ended-call notice) left its
    /// effects' allocations behind in the locale's list, call after call (benchmark figure 6).
    pub fn lang(&self) -> Locale {
        self.locale.get_untracked()
    }

    /// An id unique to this softphone instance.
    pub fn id(&self, name: &str) -> String {
        format!("ds-{}-{name}", self.uid)
    }
}

fn next_uid() -> u32 {
    thread_local! { static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(1) } }
    NEXT.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    })
}

/// Keeps the state in step with the phone's events.
fn follow(phone: &PhoneHandle, state: PhoneState, locale: Signal<Locale>) -> ds_web::Subscription {
    let weak = phone.downgrade();
    phone.subscribe(move |event| {
        let Some(phone) = weak.upgrade() else { return };
        match event {
            DriverEvent::Phone(PhoneEvent::Error(error)) => {
                state.error.set(Some(error.clone()));
                if error.code == ds_core::PhoneErrorCode::EmergencyAddressRequired {
                    phone.forget_refused_emergency_address(error);
                    state.emergency_form.set(true);
                }
            }
            DriverEvent::Phone(PhoneEvent::CallAdded(call))
                if call.direction == ds_core::Direction::Inbound =>
            {
                let who = calls::caller_primary(locale.get_untracked(), call);
                state.announcement.set(strings::incoming_from(locale.get_untracked(), &who));
            }
            DriverEvent::Phone(PhoneEvent::CallRemoved(call)) => {
                let handle = call.handle;
                state.ended.set(Some(call.clone()));
                set_timeout(
                    move || {
                        if let Some(mut ended) = state.ended.try_write()
                            && ended.as_ref().is_some_and(|c| c.handle == handle)
                        {
                            *ended = None;
                        }
                    },
                    Duration::from_millis(END_SUMMARY_MS),
                );
            }
            DriverEvent::Phone(PhoneEvent::ConnectionChanged(
                ds_core::view_model::ConnectionStatus::Connected,
            )) => {
                // Being connected makes a stale "connection lost" or "could not sign in" chip wrong.
                use ds_core::view_model::{ErrorKind, error_kind_for};
                let mut error = state.error.write();
                if error.as_ref().is_some_and(|e| {
                    matches!(
                        error_kind_for(e),
                        ErrorKind::NotConnected | ErrorKind::Network | ErrorKind::SignInFailed
                    )
                }) {
                    *error = None;
                }
                drop(error);
            }
            DriverEvent::DevicesChanged(devices) => {
                let chosen = [phone.input_device(), phone.output_device()];
                let missing = chosen.iter().flatten().any(|id| !devices.iter().any(|d| &d.id == id));
                if missing {
                    state.announcement.set(text(locale.get_untracked(), Text::DeviceUnplugged).to_owned());
                }
                state.devices.set(devices.clone());
            }
            _ => {}
        }
        state.refresh(&phone);
    })
}

/// The softphone, driven by `phone` (created and connected by the host: the hosted page or the
/// `<ds-softphone>` element).
#[component]
pub fn Softphone(
    /// The phone to show and control.
    phone: PhoneHandle,
    /// Language of the words (default English).
    #[prop(optional, into)]
    locale: Option<Signal<Locale>>,
    /// Asked before every dial; returning `false` cancels it.
    #[prop(optional)]
    before_dial: Option<BeforeDial>,
) -> impl IntoView {
    let locale = locale.unwrap_or_else(|| Signal::stored(Locale::En));
    let state = PhoneState::new();
    state.refresh(&phone);
    let subscription = follow(&phone, state, locale);
    let _keep = StoredValue::new_local(subscription);
    let tick = set_interval_with_handle(move || state.now_ms.set(js_sys_now()), Duration::from_secs(1)).ok();
    on_cleanup(move || {
        if let Some(tick) = tick {
            tick.clear();
        }
    });
    {
        let phone = phone.clone();
        leptos::task::spawn_local(async move {
            let devices = phone.audio_devices().await;
            state.devices.try_set(devices);
        });
    }
    let ctx = SoftphoneCtx {
        phone: StoredValue::new_local(phone),
        before_dial: StoredValue::new_local(before_dial),
        state,
        locale,
        uid: next_uid(),
    };
    provide_context(ctx);
    emergency::follow_chosen_address(ctx);

    let layout = Memo::new(move |_| select_layout(&state.calls.read(), state.active.get()));
    // Three parts re-render independently, so that a call-waiting ring or a held call changing
    // does not rebuild the current call's screen (an open DTMF keypad or transfer field stays).
    let current = Memo::new(move |_| match layout.get() {
        Layout::InCall { current, .. } => Some(current),
        _ => None,
    });
    let others = Memo::new(move |_| match layout.get() {
        Layout::Dialpad => (Vec::new(), Vec::new(), false),
        Layout::Incoming { ringing } => (Vec::new(), ringing, false),
        Layout::InCall { held, waiting, .. } => (held, waiting, true),
    });
    let screen = move || match current.get() {
        Some(current) => view! { <calls::InCall current=current /> }.into_any(),
        None if others.read().1.is_empty() => view! { <dialpad::Dialpad /> }.into_any(),
        None => ().into_any(),
    };
    let cards = move || {
        let (held, ringing, waiting) = others.get();
        view! {
            <calls::HeldCards held=held />
            {(!ringing.is_empty()).then(|| view! { <calls::IncomingStack ringing=ringing waiting=waiting /> })}
        }
    };
    // Rendered anew when the language changes (see `SoftphoneCtx::t`).
    reactive(move || {
        locale.track();
        view! {
        <section class="ds-softphone" part="base" aria-label=ctx.t(Text::Softphone)>
            <header class="ds-bar">
                <StatusChip status=state.status locale=locale />
                <extras::ReconnectButton />
                <extras::QualityIndicator />
            </header>
            <extras::SharedTabNote />
            <div class="ds-visually-hidden" aria-live="assertive" aria-atomic="true">
                {move || state.announcement.get()}
            </div>
            <emergency::EmergencyBanner />
            <emergency::EmergencyForm />
            <extras::ErrorChip />
            <extras::EnableAudio />
            <extras::EndedNotice />
            {reactive(screen)}
            {reactive(cards)}
            // The devices are the leader tab's business: a follower's choice would not reach it.
            {reactive(move || (!state.follower.get()).then(|| view! { <extras::DevicePicker /> }.into_any()))}
        </section>
        }
    })
}
