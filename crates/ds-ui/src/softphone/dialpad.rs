//! The dial pad: destination field (type=tel, cleaned on input and paste, formatted as you type),
//! 12 keys with letters, backspace, Enter or the Call button to call.

use ds_core::view_model::{
    KEYPAD, can_place_call, dial_busy, dial_input_notice, format_as_you_type, strip_to_dial_string,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::SoftphoneCtx;
use super::strings::{Text, cannot_call_text, dial_notice_text};
use crate::{handler, reactive};

/// The 12 keys; `on_key` gets the key's character.
#[component]
pub fn Keys(
    /// Accessible name of the key group.
    label: &'static str,
    /// Called with the pressed key.
    on_key: Callback<char>,
) -> impl IntoView {
    let keys = KEYPAD
        .iter()
        .map(|&(key, letters)| {
            let mut name = [0u8; 4];
            let name: &str = key.encode_utf8(&mut name);
            let name = name.to_owned();
            view! {
                <button type="button" class="ds-key" part="key" aria-label=name on:click=handler(move |_| on_key.run(key))>
                    <span class="ds-key-digit" aria-hidden="true">{key.to_string()}</span>
                    <span class="ds-key-letters" aria-hidden="true">{letters}</span>
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="ds-keypad" part="keypad" role="group" aria-label=label>
            {keys}
        </div>
    }
}

#[component]
pub fn Dialpad() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let destination = RwSignal::new(String::new());
    let notice = RwSignal::new(None);
    let busy = move || dial_busy(&state.calls.read());
    let verdict = move || can_place_call(state.status.get(), &destination.read(), busy());
    let reason = move || verdict().err().map(|why| cannot_call_text(ctx.lang(), &why));
    let reason_id = ctx.id("call-reason");
    let notice_id = ctx.id("dial-notice");
    let set_from_raw = move |raw: &str| {
        notice.set(dial_input_notice(raw));
        destination.set(strip_to_dial_string(raw));
    };
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let call = move || {
        if untrack(verdict).is_ok() {
            let typed = destination.get_untracked();
            if ctx.dial(&typed) {
                destination.set(String::new());
                notice.set(None);
            }
        }
    };
    let on_key = Callback::new(move |key: char| {
        let mut typed = destination.write();
        if typed.len() < ds_core::destination::MAX_DESTINATION_LEN {
            typed.push(key)
        }
        drop(typed);
        notice.set(None);
    });
    view! {
        <form
            class="ds-dialpad"
            on:submit=handler(move |event: leptos::ev::SubmitEvent| {
                event.prevent_default();
                call();
            })
        >
            <div class="ds-destination-row">
                <input
                    node_ref=input_ref
                    class="ds-destination"
                    part="destination"
                    type="tel"
                    inputmode="tel"
                    autocomplete="tel"
                    aria-label=ctx.t(Text::NumberToCall)
                    placeholder=ctx.t(Text::NumberToCall)
                    aria-describedby=notice_id.clone()
                    prop:value=move || format_as_you_type(&destination.get())
                    on:input=handler(move |event: web_sys::Event| {
                        let input: web_sys::HtmlInputElement = event.target().unwrap().unchecked_into();
                        set_from_raw(&input.value());
                    })
                />
                <button
                    type="button"
                    class="ds-backspace"
                    aria-label=ctx.t(Text::DeleteDigit)
                    disabled=move || destination.read().is_empty()
                    on:click=handler(move |_| {
                        destination.write().pop();
                        notice.set(None);
                    })
                >
                    "⌫"
                </button>
            </div>
            <p class="ds-hint" id=notice_id aria-live="polite">
                {move || notice.get().map(|n| dial_notice_text(ctx.lang(), n))}
            </p>
            <Keys label=ctx.t(Text::DialPad) on_key=on_key />
            <button
                type="submit"
                class="ds-call-button"
                part="call-button"
                disabled=move || verdict().is_err()
                aria-describedby=reason_id.clone()
            >
                {ctx.t(Text::Call)}
            </button>
            <p class="ds-hint" id=reason_id data-testid="call-reason">
                {reactive(reason)}
            </p>
        </form>
    }
}
