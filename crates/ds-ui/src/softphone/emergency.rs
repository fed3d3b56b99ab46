//! The E911 emergency address (protocol.md §7.13): the banner that says where the user's address
//! stands (none, not bound yet, network changed, bound) and the form that adds or changes it.
//! Decisions come from `ds_core::view_model::emergency`; REST and the remembered id from
//! `ds_web::emergency`. Everything from the network is rendered as text.

use ds_core::view_model::emergency::{
    AddressDraft, AddressField, AddressProblem, EmergencyBanner as Banner, address_input, address_problems,
    address_summary, emergency_banner,
};
use ds_core::view_model::{ErrorKind, error_kind_for};
use ds_web::{ApiError, EmergencyAddresses, PhoneHandle};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::SoftphoneCtx;
use super::strings::{Text, address_problem_text};
use crate::{handler, reactive};

/// Keeps the banner's one-line summary in step with the chosen address id: loads it when the id
/// changes, and forgets an id the server no longer knows (deleted, or from another account).
pub(super) fn follow_chosen_address(ctx: SoftphoneCtx) {
    let state = ctx.state;
    Effect::new(move |_| {
        let Some(id) = state.emergency_id.get() else { return };
        if state.emergency_summary.read_untracked().as_ref().is_some_and(|(known, _)| *known == id) {
            return;
        }
        let phone = ctx.with_phone(Clone::clone);
        spawn_local(async move {
            match EmergencyAddresses::for_phone(&phone).get(&id).await {
                Ok(Some(address)) => {
                    state.emergency_summary.try_set(Some((id, address_summary(&address.address))));
                }
                Ok(None) => phone.use_emergency_address(None),
                // Unreachable for now: the banner shows the address without its summary.
                Err(_) => {}
            }
        });
    });
}

/// Gives the focus back to the banner's button (after the form closed).
fn focus_banner(ctx: SoftphoneCtx) {
    let button = ctx.state.emergency_button;
    request_animation_frame(move || {
        if let Some(button) = button.get_untracked() {
            let _ = button.focus();
        }
    });
}

/// Where the user's emergency address stands, with the action that fits.
#[component]
pub fn EmergencyBanner() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let banner = Memo::new(move |_| {
        let chosen = state.emergency_id.get();
        state
            .emergency_session
            .with(|(presented, changed)| emergency_banner(chosen.as_deref(), presented.as_deref(), *changed))
    });
    let summary =
        move || state.emergency_summary.read().as_ref().map(|(_, line)| line.clone()).unwrap_or_default();
    let confirming = RwSignal::new(false);
    let failed = RwSignal::new(false);
    // After `network.changed`: forget the old network, then re-present the same address (§7.13).
    let confirm = move |_| {
        let Some(id) = state.emergency_id.get_untracked() else { return };
        if confirming.get_untracked() {
            return;
        }
        confirming.set(true);
        failed.set(false);
        let phone: PhoneHandle = ctx.with_phone(Clone::clone);
        spawn_local(async move {
            let result = phone.confirm_emergency_address(id).await;
            confirming.try_set(false);
            if result.is_err() {
                failed.try_set(true);
            }
        });
    };
    let form_id = ctx.id("e911-form");
    reactive(move || {
        let kind = banner.get();
        let words = move || match kind {
            Banner::NoAddress => ctx.t(Text::EmergencyNoAddress).to_owned(),
            Banner::NotBound => {
                format!(
                    "{}: {}. {}",
                    ctx.t(Text::EmergencyAddress),
                    summary(),
                    ctx.t(Text::EmergencyNotBound)
                )
            }
            Banner::NetworkChanged => format!("{} {}", ctx.t(Text::EmergencyConfirm), summary()),
            Banner::Bound => format!("{}: {}", ctx.t(Text::EmergencyAddress), summary()),
        };
        let state_name = match kind {
            Banner::NoAddress => "none",
            Banner::NotBound => "not-bound",
            Banner::NetworkChanged => "network-changed",
            Banner::Bound => "bound",
        };
        let open_label =
            ctx.t(if kind == Banner::NoAddress { Text::AddAddress } else { Text::ChangeAddress });
        let confirm_button = (kind == Banner::NetworkChanged).then(|| {
            view! {
                <button
                    type="button"
                    aria-disabled=move || confirming.get().then_some("true")
                    on:click=handler(confirm)
                >
                    {move || ctx.t(if confirming.get() { Text::Saving } else { Text::ConfirmOnNetwork })}
                </button>
            }
            .into_any()
        });
        view! {
            <div
                class="ds-banner"
                role=(kind == Banner::NetworkChanged).then_some("alert")
                data-testid="e911-banner"
                data-state=state_name
            >
                <p>
                    {reactive(words)}
                    {move || failed.get().then(|| format!(" {}", ctx.t(Text::AddressNotSaved)))}
                </p>
                {confirm_button}
                <button
                    type="button"
                    node_ref=state.emergency_button
                    aria-expanded=move || if state.emergency_form.get() { "true" } else { "false" }
                    aria-controls=form_id.clone()
                    on:click=handler(move |_| state.emergency_form.set(true))
                >
                    {open_label}
                </button>
            </div>
        }
    })
}

/// The form, while open.
#[component]
pub fn EmergencyForm() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    reactive(move || ctx.state.emergency_form.get().then(|| view! { <AddressForm /> }))
}

/// Form fields in order: the field, its label, its `autocomplete` token.
const FIELDS: [(AddressField, Text, &str); 5] = [
    (AddressField::Street, Text::Street, "address-line1"),
    (AddressField::Unit, Text::Unit, "address-line2"),
    (AddressField::City, Text::City, "address-level2"),
    (AddressField::State, Text::State, "address-level1"),
    (AddressField::PostalCode, Text::ZipCode, "postal-code"),
];

/// Street, unit, city, state and ZIP code, checked before sending; the server's refusal (422) is
/// shown as it said it.
#[component]
fn AddressForm() -> impl IntoView {
    let ctx = expect_context::<SoftphoneCtx>();
    let state = ctx.state;
    let problems = RwSignal::new(Vec::<(AddressField, AddressProblem)>::new());
    let saving = RwSignal::new(false);
    let server_error = RwSignal::new(None::<String>);
    let inputs: [NodeRef<html::Input>; 5] = std::array::from_fn(|_| NodeRef::new());
    inputs[0].on_load(|input| {
        let _ = input.focus();
    });
    let value =
        move |index: usize| inputs[index].get_untracked().map(|input| input.value()).unwrap_or_default();
    let close = move || {
        state.emergency_form.set(false);
        focus_banner(ctx);
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let draft = AddressDraft {
            street: value(0),
            unit: value(1),
            city: value(2),
            state: value(3),
            postal_code: value(4),
        };
        let found = address_problems(&draft);
        let first = found.first().map(|(field, _)| *field);
        problems.set(found);
        server_error.set(None);
        if let Some(first) = first {
            let index = FIELDS.iter().position(|(field, ..)| *field == first).unwrap_or(0);
            if let Some(input) = inputs[index].get_untracked() {
                let _ = input.focus();
            }
            return;
        }
        saving.set(true);
        let phone = ctx.with_phone(Clone::clone);
        let body = address_input(&draft);
        spawn_local(async move {
            let result = EmergencyAddresses::for_phone(&phone).create(&body).await;
            saving.try_set(false);
            match result {
                Ok(address) => {
                    state
                        .emergency_summary
                        .try_set(Some((address.id.clone(), address_summary(&address.address))));
                    phone.use_emergency_address(Some(address.id));
                    // `try_set` hands the value back when the softphone is gone.
                    if state.emergency_form.try_set(false).is_none() {
                        focus_banner(ctx);
                    }
                }
                // 422: the server could not validate it; 400: a field it refused. Its words.
                Err(ApiError::Status { status: 400 | 422, message, .. }) => {
                    server_error.try_set(Some(format!("{} {message}", ctx.t(Text::AddressNotVerified))));
                }
                Err(_) => {
                    server_error.try_set(Some(ctx.t(Text::AddressNotSaved).to_owned()));
                }
            }
        });
    };
    let heading_id = ctx.id("e911-heading");
    let labelled_by = heading_id.clone();
    let fields = FIELDS
        .iter()
        .enumerate()
        .map(|(index, &(field, label, autocomplete))| {
            let input_id = ctx.id(autocomplete);
            let error_id = ctx.id(&format!("{autocomplete}-error"));
            let problem =
                move || problems.read().iter().find(|(f, _)| *f == field).map(|(_, problem)| *problem);
            view! {
                <div class="ds-device">
                    <label for=input_id.clone()>{ctx.t(label)}</label>
                    <input
                        node_ref=inputs[index]
                        id=input_id
                        type="text"
                        autocomplete=autocomplete
                        inputmode=(field == AddressField::PostalCode).then_some("numeric")
                        maxlength=(field == AddressField::State).then_some("2")
                        aria-required=(field != AddressField::Unit).then_some("true")
                        aria-invalid=move || problem().map(|_| "true")
                        aria-describedby=error_id.clone()
                    />
                    <p class="ds-hint" id=error_id>
                        {move || problem().map(|p| address_problem_text(ctx.lang(), field, p))}
                    </p>
                </div>
            }
        })
        .collect_view();
    // Opened because a call was refused for want of an address: say so.
    let required = state
        .error
        .with_untracked(|e| e.as_ref().is_some_and(|e| error_kind_for(e) == ErrorKind::EmergencyAddress));
    view! {
        <form
            class="ds-transfer"
            id=ctx.id("e911-form")
            novalidate
            aria-labelledby=labelled_by
            aria-busy=move || saving.get().then_some("true")
            on:submit=handler(submit)
            on:keydown=handler(move |event: leptos::ev::KeyboardEvent| {
                if event.key() == "Escape" {
                    close();
                }
            })
        >
            <h2 class="ds-heading" id=heading_id>{ctx.t(Text::EmergencyAddress)}</h2>
            {required.then(|| view! { <p class="ds-hint">{ctx.t(Text::EmergencyRequired)}</p> }.into_any())}
            {fields}
            {move || server_error.get().map(|message| view! { <p class="ds-error" role="alert">{message}</p> }.into_any())}
            <div class="ds-actions">
                <button
                    type="submit"
                    class="ds-call-button"
                    aria-disabled=move || saving.get().then_some("true")
                >
                    {move || ctx.t(if saving.get() { Text::Saving } else { Text::SaveAddress })}
                </button>
                <button type="button" on:click=handler(move |_| close())>
                    {ctx.t(Text::Cancel)}
                </button>
            </div>
        </form>
    }
}
