//! Calls on screen: incoming and call-waiting cards, the current call with its controls, DTMF
//! keypad and transfer panel, and the cards of held calls.

use ds_core::view_model::{
    CallControls, CallStateKind, Control, call_controls, call_duration_secs, call_state_kind, caller_display,
    format_call_duration, transfer_pair,
};
use ds_core::{CallHandle, CallInfo, CallPhase, Command};
use ds_protocol::signalling::RejectReason;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::SoftphoneCtx;
use super::dialpad::Keys;
use super::strings::{Text, disabled_text, state_text, text};
use crate::i18n::Locale;
use crate::{handler, reactive};

/// The big line for a caller: name, else formatted number, else "Unknown" in `locale`.
pub(crate) fn caller_primary(locale: Locale, call: &CallInfo) -> String {
    let display = caller_display(call.remote_name.as_deref(), &call.remote_number);
    if call.remote_name.as_deref().is_none_or(|n| n.trim().is_empty()) && call.remote_number.trim().is_empty()
    {
        text(locale, Text::Unknown).to_owned()
    } else {
        display.primary
    }
}

fn find(ctx: SoftphoneCtx, handle: CallHandle) -> Option<CallInfo> {
    ctx.state.calls.read().iter().find(|c| c.handle == handle).cloned()
}

/// Name and number of the other party.
#[component]
fn Caller(call: Memo<Option<CallInfo>>) -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let primary = move || call.read().as_ref().map(|c| caller_primary(ctx.lang(), c));
    let secondary = move || {
        call.read()
            .as_ref()
            .and_then(|c| caller_display(c.remote_name.as_deref(), &c.remote_number).secondary)
    };
    view! {
        <p class="ds-caller" data-testid="caller">{reactive(primary)}</p>
        <p class="ds-caller-number">{reactive(secondary)}</p>
    }
}

/// Ringing inbound calls: the full incoming screen, or call-waiting cards during a call.
#[component]
pub fn IncomingStack(
    /// The ringing calls, oldest first.
    ringing: Vec<CallHandle>,
    /// True while another call is in progress (answering holds it).
    waiting: bool,
) -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let heading = if waiting { Text::CallWaiting } else { Text::IncomingCall };
    let cards = ringing
        .into_iter()
        .map(|handle| {
            let call = Memo::new(move |_| find(ctx, handle));
            let who = move || call.read().as_ref().map(|c| caller_primary(ctx.lang(), c));
            let answering = move || call.read().as_ref().is_some_and(|c| c.answering || c.ending);
            view! {
                <li class="ds-incoming-card" part="incoming-card" data-testid="incoming-card">
                    <Caller call=call />
                    <p class="ds-call-state">
                        {move || {
                            call.read().as_ref().map(|c| state_text(ctx.lang(), call_state_kind(c)))
                        }}
                    </p>
                    <div class="ds-actions">
                        <button
                            type="button"
                            class="ds-answer"
                            disabled=reactive(answering)
                            aria-label=move || format!("{} {}", ctx.t(Text::Answer), who().unwrap_or_default())
                            on:click=handler(move |_| ctx.command(Command::Answer { call: handle }))
                        >
                            {ctx.t(Text::Answer)}
                        </button>
                        <button
                            type="button"
                            class="ds-decline"
                            disabled=reactive(answering)
                            aria-label=move || format!("{} {}", ctx.t(Text::Decline), who().unwrap_or_default())
                            on:click=handler(move |_| {
                                ctx.command(Command::Reject { call: handle, reason: RejectReason::Decline })
                            })
                        >
                            {ctx.t(Text::Decline)}
                        </button>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section
            class="ds-incoming"
            class:ds-waiting=waiting
            aria-label=ctx.t(heading)
        >
            <h2 class="ds-heading">{ctx.t(heading)}</h2>
            <ul class="ds-cards">{cards}</ul>
        </section>
    }
}

/// A button for one in-call control: disabled with its reason as the tooltip.
fn control_button(
    ctx: SoftphoneCtx,
    controls: Memo<Option<CallControls>>,
    pick: fn(&CallControls) -> &Control,
    label: Box<dyn Fn() -> &'static str + Send + Sync>,
    pressed: Option<Box<dyn Fn() -> bool + Send + Sync>>,
    on_click: Box<dyn Fn()>,
) -> impl IntoView {
    // Concrete (not generic) parameters: one copy of this button's code serves all four.
    let control = move || controls.read().as_ref().map(|c| pick(c).clone());
    let disabled = move || control().is_none_or(|c| !c.enabled);
    let title = move || control().and_then(|c| c.why).map(|why| disabled_text(ctx.lang(), why));
    view! {
        <button
            type="button"
            class="ds-control"
            aria-pressed=move || pressed.as_ref().map(|p| if p() { "true" } else { "false" })
            disabled=reactive(disabled)
            title=reactive(title)
            on:click=handler(move |_| on_click())
        >
            {reactive(label)}
        </button>
    }
}

/// The current call: who, state and timer, controls, DTMF keypad, transfer and quality.
#[component]
pub fn InCall(
    /// The call the screen shows.
    current: CallHandle,
) -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let call = Memo::new(move |_| find(ctx, current));
    let controls = Memo::new(move |_| call.read().as_ref().map(|c| call_controls(c, state.status.get())));
    // Plain closures rather than memos below: cheap to recompute, and every distinct memo type
    // costs bundle size.
    let kind = move || call.read().as_ref().map(call_state_kind);
    let timer = move || {
        let now = state.now_ms.get();
        call.read()
            .as_ref()
            .filter(|c| c.phase.is_connected())
            .and_then(|c| call_duration_secs(c, now))
            .map(format_call_duration)
    };
    let keypad_open = RwSignal::new(false);
    let transfer_open = RwSignal::new(false);
    let digits = RwSignal::new(String::new());
    let transfer_to = RwSignal::new(String::new());
    let muted = move || call.read().as_ref().is_some_and(|c| c.muted);
    let held = move || controls.read().as_ref().is_some_and(|c| c.shows_resume);
    let pair = move || transfer_pair(&state.calls.read(), current);

    let mute = control_button(
        ctx,
        controls,
        |c| &c.mute,
        Box::new(move || if muted() { ctx.t(Text::Unmute) } else { ctx.t(Text::Mute) }),
        Some(Box::new(muted)),
        Box::new(move || ctx.command(Command::SetMuted { call: current, muted: !untrack(muted) })),
    );
    let hold = control_button(
        ctx,
        controls,
        |c| &c.hold,
        Box::new(move || if held() { ctx.t(Text::Resume) } else { ctx.t(Text::Hold) }),
        None,
        Box::new(move || {
            ctx.command(if untrack(held) {
                Command::Resume { call: current }
            } else {
                Command::Hold { call: current }
            })
        }),
    );
    let keypad = control_button(
        ctx,
        controls,
        |c| &c.keypad,
        Box::new(move || ctx.t(Text::Keypad)),
        Some(Box::new(move || keypad_open.get())),
        Box::new(move || keypad_open.set(!keypad_open.get_untracked())),
    );
    let transfer = control_button(
        ctx,
        controls,
        |c| &c.transfer,
        Box::new(move || ctx.t(Text::Transfer)),
        Some(Box::new(move || transfer_open.get())),
        Box::new(move || transfer_open.set(!transfer_open.get_untracked())),
    );
    let hangup_disabled = move || controls.read().as_ref().is_none_or(|c| !c.hangup.enabled);

    let send_digit = Callback::new(move |key: char| {
        let mut buffer = [0u8; 4];
        ctx.command(Command::SendDtmf { call: current, digits: key.encode_utf8(&mut buffer).to_owned() });
        digits.write().push(key);
    });
    let transfer_panel = move || {
        transfer_open.get().then(|| {
            let input_label = ctx.t(Text::TransferTo);
            let empty = move || ds_core::view_model::strip_to_dial_string(&transfer_to.read()).is_empty();
            view! {
                <div class="ds-transfer" role="group" aria-label=input_label>
                    <input
                        type="tel"
                        inputmode="tel"
                        class="ds-destination"
                        aria-label=input_label
                        placeholder=input_label
                        prop:value=move || transfer_to.get()
                        on:input=handler(move |event: web_sys::Event| {
                            let input: web_sys::HtmlInputElement = event.target().unwrap().unchecked_into();
                            transfer_to.set(input.value());
                        })
                    />
                    <div class="ds-actions">
                        <button
                            type="button"
                            disabled=reactive(empty)
                            on:click=handler(move |_| {
                                ctx.command(Command::BlindTransfer {
                                    call: current,
                                    destination: transfer_to.get_untracked(),
                                });
                                transfer_open.set(false);
                            })
                        >
                            {ctx.t(Text::TransferNow)}
                        </button>
                        <button
                            type="button"
                            disabled=reactive(empty)
                            on:click=handler(move |_| {
                                ctx.command(Command::ConsultTransfer {
                                    call: current,
                                    destination: transfer_to.get_untracked(),
                                });
                                transfer_open.set(false);
                            })
                        >
                            {ctx.t(Text::ConsultFirst)}
                        </button>
                    </div>
                </div>
            }
            .into_any()
        })
    };
    let attended = move || {
        pair().map(|(original, consult)| {
            let complete = move || {
                find(ctx, consult).is_some_and(|c| c.phase.is_connected())
                    && find(ctx, original).is_some_and(|c| c.phase.is_connected())
            };
            view! {
                <div class="ds-actions ds-attended" role="group" aria-label=ctx.t(Text::Transfer)>
                    <button
                        type="button"
                        disabled=move || !complete()
                        on:click=handler(move |_| ctx.command(Command::CompleteTransfer { call: current }))
                    >
                        {ctx.t(Text::CompleteTransfer)}
                    </button>
                    <button type="button" on:click=handler(move |_| ctx.command(Command::CancelTransfer { call: current }))>
                        {ctx.t(Text::CancelTransfer)}
                    </button>
                </div>
            }.into_any()
        })
    };
    view! {
        <section class="ds-call" aria-label=ctx.t(Text::CurrentCall) data-testid="current-call">
            <Caller call=call />
            <p
                class="ds-call-state"
                data-state=move || match kind() {
                    Some(CallStateKind::Connected) => "active",
                    Some(CallStateKind::OnHold | CallStateKind::HeldByRemote) => "held",
                    _ => "progress",
                }
                data-testid="call-state"
            >
                <span>{move || kind().map(|k| state_text(ctx.lang(), k))}</span>
                " "
                <span class="ds-timer" role="timer">{reactive(timer)}</span>
            </p>
            <div class="ds-controls" part="controls" role="group" aria-label=ctx.t(Text::CallControls)>
                {mute}
                {hold}
                {keypad}
                {transfer}
                <button
                    type="button"
                    class="ds-hangup"
                    part="hangup-button"
                    disabled=reactive(hangup_disabled)
                    on:click=handler(move |_| ctx.command(Command::Hangup { call: current }))
                >
                    {ctx.t(Text::HangUp)}
                </button>
            </div>
            {reactive(attended)}
            {move || {
                keypad_open.get().then(|| {
                    view! {
                        <output class="ds-readout" aria-label=ctx.t(Text::DigitsSent)>
                            {move || digits.get()}
                        </output>
                        <Keys label=ctx.t(Text::Keypad) on_key=send_digit />
                    }.into_any()
                })
            }}
            {reactive(transfer_panel)}
        </section>
    }
}

/// Cards of the other connected calls, each with a button to switch to it.
#[component]
pub fn HeldCards(
    /// The other connected calls.
    held: Vec<CallHandle>,
) -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    if held.is_empty() {
        return ().into_any();
    }
    let cards = held
        .into_iter()
        .map(|handle| {
            let call = Memo::new(move |_| find(ctx, handle));
            let who = move || call.read().as_ref().map(|c| caller_primary(ctx.lang(), c));
            let can_switch = move || {
                call.read().as_ref().is_some_and(|c| {
                    c.phase == CallPhase::Held && call_state_kind(c) == CallStateKind::OnHold
                })
            };
            view! {
                <li class="ds-held-card" data-testid="held-card">
                    <span class="ds-caller">{reactive(who)}</span>
                    <span class="ds-call-state">
                        {move || call.read().as_ref().map(|c| state_text(ctx.lang(), call_state_kind(c)))}
                    </span>
                    <button
                        type="button"
                        disabled=move || !can_switch()
                        aria-label=move || format!("{} {}", ctx.t(Text::SwitchTo), who().unwrap_or_default())
                        on:click=handler(move |_| ctx.command(Command::Resume { call: handle }))
                    >
                        {ctx.t(Text::SwitchTo)}
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="ds-held" aria-label=ctx.t(Text::CallsOnHold)>
            <ul class="ds-cards">{cards}</ul>
        </section>
    }
    .into_any()
}
