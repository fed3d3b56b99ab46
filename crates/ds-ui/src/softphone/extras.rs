//! The softphone's smaller parts: reconnect button, quality indicator, E911 banner, error chip,
//! "click to enable audio", the end reason of the last call, and the audio device pickers.

use ds_core::view_model::{
    ConnectionStatus, ErrorKind, QualityLevel, end_summary, error_kind, quality_level, select_layout,
};
use ds_web::AudioDeviceKind;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::strings::{Text, end_text, error_text, quality_text};
use super::{EmergencyPrompt, SoftphoneCtx};
use crate::i18n::Locale;

/// Offered when the connection ended (error, or disconnected) so the user can try again.
#[component]
pub fn ReconnectButton() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let offline =
        move || matches!(ctx.state.status.get(), ConnectionStatus::Error | ConnectionStatus::Disconnected);
    move || {
        offline().then(|| {
            view! {
                <button
                    type="button"
                    class="ds-reconnect"
                    on:click=move |_| {
                        ctx.state.error.set(None);
                        let phone = ctx.with_phone(Clone::clone);
                        leptos::task::spawn_local(async move {
                            let _ = phone.connect().await;
                        });
                    }
                >
                    {move || ctx.t(Text::Reconnect)}
                </button>
            }
        })
    }
}

/// Live quality of the current call: a word with details on demand, and the one-way warning.
#[component]
pub fn QualityIndicator() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let report = Memo::new(move |_| {
        let current = state.calls.with(|calls| match select_layout(calls, state.active.get()) {
            ds_core::view_model::Layout::InCall { current, .. } => Some(current),
            _ => None,
        })?;
        state.quality.with(|q| q.get(&current).copied())
    });
    move || {
        report.get().map(|report| {
            let locale = ctx.locale.get();
            let level = quality_level(report.mos, report.one_way_audio);
            let word = quality_text(locale, level);
            let summary = format!("{}: {word}", ctx.t(Text::CallQuality));
            let key = match level {
                QualityLevel::Good => "good",
                QualityLevel::Fair => "fair",
                QualityLevel::Poor => "poor",
            };
            let rtt = report.rtt_ms.map_or_else(|| "–".to_owned(), |rtt| format!("{rtt:.0} ms"));
            view! {
                <details class="ds-quality" data-level=key>
                    <summary aria-label=summary.clone() title=ctx.t(Text::QualityDetails)>
                        <span class="ds-quality-dot" aria-hidden="true"></span>
                        {word}
                    </summary>
                    <dl class="ds-quality-details">
                        <dt>"MOS"</dt>
                        <dd>{format!("{:.1}", report.mos)}</dd>
                        <dt>{ctx.t(Text::Jitter)}</dt>
                        <dd>{format!("{:.0} ms", report.jitter_ms)}</dd>
                        <dt>{ctx.t(Text::PacketLoss)}</dt>
                        <dd>{format!("{:.1} %", report.packet_loss_pct)}</dd>
                        <dt>{ctx.t(Text::RoundTrip)}</dt>
                        <dd>{rtt}</dd>
                    </dl>
                </details>
                {report.one_way_audio.then(|| view! { <p class="ds-warning" role="alert">{ctx.t(Text::OneWayAudio)}</p> })}
            }
        })
    }
}

/// The E911 prompt after `network.changed` or a refused outside call.
#[component]
pub fn EmergencyBanner() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    move || {
        ctx.state.emergency.get().map(|prompt| {
            let words = match prompt {
                EmergencyPrompt::Confirm => Text::EmergencyConfirm,
                EmergencyPrompt::Required => Text::EmergencyRequired,
            };
            view! {
                <div class="ds-banner" role="alert" data-testid="e911-banner">
                    <p>{move || ctx.t(words)}</p>
                    <button type="button" on:click=move |_| ctx.state.emergency.set(None)>
                        {move || ctx.t(Text::Dismiss)}
                    </button>
                </div>
            }
        })
    }
}

/// The last error, in words a user understands (the detail stays in the tooltip).
#[component]
pub fn ErrorChip() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let shown = Memo::new(move |_| {
        ctx.state.error.with(|error| {
            error.as_ref().and_then(|e| {
                let kind = error_kind(&e.code);
                // Autoplay has its own button; E911 has its banner.
                (!matches!(kind, ErrorKind::AudioBlocked | ErrorKind::EmergencyAddress))
                    .then(|| (kind, e.message.clone()))
            })
        })
    });
    move || {
        shown.get().map(|(kind, detail)| {
            let locale = ctx.locale.get();
            // The core's own English sentences for refused actions are already plain words.
            let words = if kind == ErrorKind::InvalidNumber && locale == Locale::En {
                detail.clone()
            } else {
                error_text(locale, kind).to_owned()
            };
            view! {
                <div class="ds-error" part="error" role="alert" title=detail data-testid="error-chip">
                    <span>{words}</span>
                    <button
                        type="button"
                        class="ds-dismiss"
                        aria-label=ctx.t(Text::DismissError)
                        on:click=move |_| ctx.state.error.set(None)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}

/// Shown when the browser's autoplay policy blocked call audio.
#[component]
pub fn EnableAudio() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    move || {
        ctx.state.audio_blocked.get().then(|| {
            view! {
                <button
                    type="button"
                    class="ds-enable-audio"
                    on:click=move |_| {
                        ctx.with_phone(|phone| phone.resume_audio());
                        ctx.with_phone(|phone| ctx.state.refresh(phone));
                    }
                >
                    {move || ctx.t(Text::EnableAudio)}
                </button>
            }
        })
    }
}

/// The end reason of the call that just ended (busy, no answer, failed…), for a few seconds.
#[component]
pub fn EndedNotice() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    move || {
        ctx.state.ended.get().map(|call| {
            let summary = end_summary(&call);
            view! {
                <p class="ds-ended" role="status" data-testid="end-reason">
                    {move || end_text(ctx.locale.get(), summary)}
                </p>
            }
        })
    }
}

/// Microphone and speaker pickers with "System default"; choices are remembered by ds-web.
#[component]
pub fn DevicePicker() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let picker = move |kind: AudioDeviceKind| {
        let label =
            move || ctx.t(if kind == AudioDeviceKind::Input { Text::Microphone } else { Text::Speaker });
        let chosen = move || {
            ctx.state.devices.track();
            ctx.with_phone(|phone| {
                if kind == AudioDeviceKind::Input { phone.input_device() } else { phone.output_device() }
            })
            .unwrap_or_default()
        };
        let options = move || {
            let selected = chosen();
            ctx.state.devices.with(|devices| {
                devices
                    .iter()
                    .filter(|d| d.kind == kind && !d.id.is_empty() && d.id != "default")
                    .map(|d| {
                        let is_selected = d.id == selected;
                        view! { <option value=d.id.clone() selected=is_selected>{d.label.clone()}</option> }
                    })
                    .collect_view()
            })
        };
        view! {
            <label class="ds-device">
                <span>{label}</span>
                <select on:change=move |event| {
                    let select: web_sys::HtmlSelectElement = event.target().unwrap().unchecked_into();
                    let value = select.value();
                    let choice = (!value.is_empty()).then_some(value);
                    ctx.with_phone(|phone| {
                        if kind == AudioDeviceKind::Input {
                            phone.set_input_device(choice)
                        } else {
                            phone.set_output_device(choice)
                        }
                    });
                }>
                    <option value="" selected=move || chosen().is_empty()>{move || ctx.t(Text::SystemDefault)}</option>
                    {options}
                </select>
            </label>
        }
    };
    view! {
        <details class="ds-devices">
            <summary>{move || ctx.t(Text::AudioSettings)}</summary>
            {picker(AudioDeviceKind::Input)}
            {picker(AudioDeviceKind::Output)}
        </details>
    }
}
