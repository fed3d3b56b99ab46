//! The softphone's smaller parts: reconnect button, quality indicator, error chip,
//! "click to enable audio", the end reason of the last call, and the audio device pickers.

use ds_core::view_model::{
    ConnectionStatus, ErrorKind, QualityLevel, end_summary, error_kind_for, hears_audio, quality_level,
    select_layout,
};
use ds_web::AudioDeviceKind;
use ds_web::quality::QualityReport;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::SoftphoneCtx;
use super::strings::{Text, end_text, error_text, quality_text};
use crate::i18n::Locale;
use crate::{handler, reactive, show};

/// Offered when the connection ended (error, or disconnected) so the user can try again.
#[component]
pub fn ReconnectButton() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let offline =
        move || matches!(ctx.state.status.get(), ConnectionStatus::Error | ConnectionStatus::Disconnected);
    reactive(move || {
        offline().then(|| {
            view! {
                <button
                    type="button"
                    class="ds-reconnect"
                    on:click=handler(move |_| {
                        ctx.state.error.set(None);
                        let phone = ctx.with_phone(Clone::clone);
                        leptos::task::spawn_local(async move {
                            let _ = phone.connect().await;
                        });
                    })
                >
                    {ctx.t(Text::Reconnect)}
                </button>
            }
            .into_any()
        })
    })
}

/// Live quality of the current call: a word, details on demand, and the one-way warning.
#[component]
pub fn QualityIndicator() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let open = RwSignal::new(false);
    let report = move || {
        let current = match select_layout(&state.calls.read(), state.active.get()) {
            ds_core::view_model::Layout::InCall { current, .. } => Some(current),
            _ => None,
        }?;
        state.quality.read().get(&current).copied()
    };
    let details_id = ctx.id("quality");
    let level = move || report().map(|r| quality_level(r.mos, r.one_way_audio));
    let word = move || level().map(|l| quality_text(ctx.lang(), l)).unwrap_or_default();
    let key = move || match level() {
        Some(QualityLevel::Good) | None => "good",
        Some(QualityLevel::Fair) => "fair",
        Some(QualityLevel::Poor) => "poor",
    };
    // One figure of the current report, formatted; the button and list stay put (keeping focus)
    // while the figures update every second.
    let figure = move |format: fn(&QualityReport) -> String| reactive(move || report().map(|r| format(&r)));
    let heard = move || {
        report().map(|r| {
            ctx.t(if hears_audio(r.packets_received, r.total_audio_energy) { Text::Yes } else { Text::No })
        })
    };
    let one_way = move || report().is_some_and(|r| r.one_way_audio);
    let shown = move || {
        view! {
            <div class="ds-quality" data-level=reactive(key)>
                <button
                    type="button"
                    class="ds-quality-button"
                    aria-label=move || format!("{}: {}", ctx.t(Text::CallQuality), word())
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    aria-controls=details_id.clone()
                    title=ctx.t(Text::QualityDetails)
                    on:click=handler(move |_| open.set(!open.get_untracked()))
                >
                    <span class="ds-quality-dot" aria-hidden="true"></span>
                    {reactive(word)}
                </button>
                <dl class="ds-quality-details" id=details_id.clone() hidden=move || !open.get()>
                    <dt>"MOS"</dt>
                    <dd>{figure(|r| tenths(r.mos))}</dd>
                    <dt>{ctx.t(Text::Jitter)}</dt>
                    <dd>{figure(|r| millis(r.jitter_ms))}</dd>
                    <dt>{ctx.t(Text::PacketLoss)}</dt>
                    <dd>{figure(|r| tenths(r.packet_loss_pct) + " %")}</dd>
                    <dt>{ctx.t(Text::RoundTrip)}</dt>
                    <dd>{figure(|r| r.rtt_ms.map_or_else(|| "–".to_owned(), millis))}</dd>
                    <dt>{ctx.t(Text::SoundReceived)}</dt>
                    <dd>{reactive(heard)}</dd>
                </dl>
            </div>
            {show(Box::new(one_way), Box::new(move || {
                view! { <p class="ds-warning" role="alert">{ctx.t(Text::OneWayAudio)}</p> }.into_any()
            }))}
        }
        .into_any()
    };
    show(Box::new(move || report().is_some()), Box::new(shown))
}

/// The last error, in words a user understands (the detail stays in the tooltip).
#[component]
pub fn ErrorChip() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let shown = move || {
        ctx.state.error.read().as_ref().and_then(|e| {
            let kind = error_kind_for(e);
            // Autoplay has its own button; E911 has its banner.
            (!matches!(kind, ErrorKind::AudioBlocked | ErrorKind::EmergencyAddress))
                .then(|| (kind, e.message.clone()))
        })
    };
    reactive(move || {
        shown().map(|(kind, detail)| {
            let locale = ctx.lang();
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
                        on:click=handler(move |_| ctx.state.error.set(None))
                    >
                        "×"
                    </button>
                </div>
            }
            .into_any()
        })
    })
}

/// `x` with one decimal, without float formatting (which would add kilobytes to the bundle).
fn tenths(x: f64) -> String {
    let t = (x * 10.0).round() as i64;
    let sign = if t < 0 { "-" } else { "" };
    format!("{sign}{}.{}", (t / 10).abs(), (t % 10).abs())
}

/// Whole milliseconds, e.g. `12 ms`.
fn millis(ms: f64) -> String {
    format!("{} ms", ms.round() as i64)
}

/// Shown when the browser's autoplay policy blocked call audio.
#[component]
pub fn EnableAudio() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    reactive(move || {
        ctx.state.audio_blocked.get().then(|| {
            view! {
                <button
                    type="button"
                    class="ds-enable-audio"
                    on:click=handler(move |_| {
                        ctx.with_phone(|phone| phone.resume_audio());
                        ctx.with_phone(|phone| ctx.state.refresh(phone));
                    })
                >
                    {ctx.t(Text::EnableAudio)}
                </button>
            }
            .into_any()
        })
    })
}

/// The end reason of the call that just ended (busy, no answer, failed…), for a few seconds.
#[component]
pub fn EndedNotice() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    reactive(move || {
        ctx.state.ended.get().map(|call| {
            let summary = end_summary(&call);
            view! {
                <p class="ds-ended" role="status" data-testid="end-reason">
                    {move || end_text(ctx.lang(), summary)}
                </p>
            }
            .into_any()
        })
    })
}

/// In a follower tab (multi-tab): says that another tab holds the phone and plays the audio.
#[component]
pub fn SharedTabNote() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    reactive(move || {
        ctx.state.follower.get().then(|| {
            view! { <p class="ds-tab-note" role="note">{ctx.t(Text::SharedWithOtherTab)}</p> }.into_any()
        })
    })
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
            ctx.state
                .devices
                .read()
                .iter()
                .filter(|d| d.kind == kind && !d.id.is_empty() && d.id != "default")
                .map(|d| {
                    let is_selected = d.id == selected;
                    view! { <option value=d.id.clone() selected=is_selected>{d.label.clone()}</option> }
                })
                .collect_view()
        };
        view! {
            <label class="ds-device">
                <span>{reactive(label)}</span>
                <select on:change=handler(move |event: web_sys::Event| {
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
                })>
                    <option value="" selected=move || chosen().is_empty()>{ctx.t(Text::SystemDefault)}</option>
                    {reactive(options)}
                </select>
            </label>
        }
    };
    view! {
        <details class="ds-devices">
            <summary>{ctx.t(Text::AudioSettings)}</summary>
            {picker(AudioDeviceKind::Input)}
            {picker(AudioDeviceKind::Output)}
        </details>
    }
}
