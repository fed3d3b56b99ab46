//! The softphone's E911 banner and address form in headless Chromium against a real ds-local
//! (`--demo` on 127.0.0.1:18787; `cargo xtask test wasm`): the empty form, field errors with the
//! focus on the first, saving, the server's 422, and a saved address bound and shown in the banner.
#![cfg(target_arch = "wasm32")]

use ds_core::view_model::ConnectionStatus;
use ds_ui::Softphone;
use ds_ui::i18n::Locale;
use ds_wasm_test_support::{base, fresh_user, mint_token, sleep, wait_for};
use ds_web::{PhoneHandle, PhoneOptions, TokenProvider};
use gloo_net::http::Request;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

struct Mounted {
    root: web_sys::HtmlElement,
    phone: PhoneHandle,
    token: String,
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.phone.disconnect();
        self.root.remove();
    }
}

/// A connected softphone of a fresh user.
async fn connected_softphone(name: &str, locale: Locale) -> Mounted {
    let (user, _) = fresh_user(name).await;
    let token = mint_token(&user, None).await;
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed(token.clone())));
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let for_view = phone.clone();
    let mount = leptos::mount::mount_to(root.clone(), move || {
        view! { <Softphone phone=for_view locale=Signal::stored(locale) /> }.into_any()
    });
    phone.connect().await.expect("the token provider answers");
    wait_for("the phone to connect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
    leptos::task::tick().await;
    Mounted { root, phone, token, _mount: mount }
}

impl Mounted {
    fn find(&self, selector: &str) -> Option<web_sys::HtmlElement> {
        self.root.query_selector(selector).unwrap().map(JsCast::unchecked_into)
    }

    fn text(&self, selector: &str) -> String {
        self.find(selector).and_then(|e| e.text_content()).unwrap_or_default()
    }

    fn button(&self, name: &str) -> web_sys::HtmlButtonElement {
        let buttons = self.root.query_selector_all("button").unwrap();
        (0..buttons.length())
            .filter_map(|i| buttons.item(i))
            .map(JsCast::unchecked_into::<web_sys::HtmlButtonElement>)
            .find(|b| b.text_content().unwrap_or_default().trim() == name)
            .unwrap_or_else(|| panic!("a button named {name:?}"))
    }

    /// The input whose `<label>` says `label`.
    fn field(&self, label: &str) -> web_sys::HtmlInputElement {
        let labels = self.root.query_selector_all("label").unwrap();
        let label = (0..labels.length())
            .filter_map(|i| labels.item(i))
            .map(JsCast::unchecked_into::<web_sys::Element>)
            .find(|l| l.text_content().unwrap_or_default().trim() == label)
            .unwrap_or_else(|| panic!("a label {label:?}"));
        let id = label.get_attribute("for").expect("labels name their input");
        self.find(&format!("[id='{id}']")).expect("the labelled input exists").unchecked_into()
    }

    /// The field's error, read through its `aria-describedby`.
    fn field_error(&self, label: &str) -> String {
        let described = self.field(label).get_attribute("aria-describedby").expect("fields are described");
        self.text(&format!("[id='{described}']"))
    }

    fn fill(&self, label: &str, value: &str) {
        self.field(label).set_value(value);
    }

    fn focused_id(&self) -> String {
        web_sys::window().unwrap().document().unwrap().active_element().map(|e| e.id()).unwrap_or_default()
    }

    async fn wait_banner(&self, state: &str) {
        let root = self.root.clone();
        let selector = format!("[data-testid=e911-banner][data-state={state}]");
        wait_for(&format!("the E911 banner to say {state}"), 20_000.0, || {
            root.query_selector(&selector).unwrap().is_some()
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn without_an_address_the_banner_offers_one_and_the_empty_form_names_every_missing_field() {
    let ui = connected_softphone("E911 Empty", Locale::En).await;
    ui.wait_banner("none").await;
    assert_eq!(
        ui.text("[data-testid=e911-banner] p"),
        "Add your emergency address so emergency services can find you."
    );
    assert!(ui.find("form[aria-labelledby]").is_none(), "the form starts closed");
    let add = ui.button("Add address");
    assert_eq!(add.get_attribute("aria-expanded").as_deref(), Some("false"));
    add.click();
    leptos::task::tick().await;
    sleep(50).await;
    assert_eq!(add.get_attribute("aria-expanded").as_deref(), Some("true"));
    assert_eq!(ui.focused_id(), ui.field("Street address").id(), "the first field takes the focus");
    ui.button("Save address").click();
    leptos::task::tick().await;
    assert_eq!(ui.field_error("Street address"), "Enter the street address.");
    assert_eq!(ui.field_error("City"), "Enter the city.");
    assert_eq!(ui.field_error("State"), "Enter the state.");
    assert_eq!(ui.field_error("ZIP code"), "Enter the ZIP code.");
    assert_eq!(ui.field_error("Apartment, suite or floor (optional)"), "");
    assert_eq!(ui.field("Street address").get_attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(ui.focused_id(), ui.field("Street address").id());
    // Nothing was sent: the user still has no address.
    assert_eq!(ui.phone.emergency_address_id(), None);
}

#[wasm_bindgen_test]
async fn a_bad_state_and_zip_code_are_explained_and_the_focus_moves_to_the_first_of_them() {
    let ui = connected_softphone("E911 Invalid", Locale::En).await;
    ui.wait_banner("none").await;
    ui.button("Add address").click();
    leptos::task::tick().await;
    ui.fill("Street address", "12 Main St");
    ui.fill("City", "Boston");
    ui.fill("State", "M1");
    ui.fill("ZIP code", "2110");
    ui.button("Save address").click();
    leptos::task::tick().await;
    assert_eq!(ui.field_error("Street address"), "");
    assert_eq!(ui.field_error("State"), "Use the two-letter state code, such as MA.");
    assert_eq!(ui.field_error("ZIP code"), "Use a 5-digit ZIP code, such as 02110.");
    assert_eq!(ui.field("Street address").get_attribute("aria-invalid"), None);
    assert_eq!(ui.focused_id(), ui.field("State").id());
}

#[wasm_bindgen_test]
async fn the_servers_refusal_is_shown_in_its_words_after_saving_shows_progress() {
    let ui = connected_softphone("E911 Refused", Locale::En).await;
    ui.wait_banner("none").await;
    ui.button("Add address").click();
    leptos::task::tick().await;
    // ds-local's validator refuses a street with "INVALID" in it (422 address_invalid).
    ui.fill("Street address", "1 INVALID Road");
    ui.fill("City", "Boston");
    ui.fill("State", "ma");
    ui.fill("ZIP code", "02110");
    ui.button("Save address").click();
    leptos::task::tick().await;
    let form = ui.find("form[aria-labelledby]").expect("the form");
    assert_eq!(form.get_attribute("aria-busy").as_deref(), Some("true"), "saving is in progress");
    assert_eq!(ui.button("Saving…").get_attribute("aria-disabled").as_deref(), Some("true"));
    let root = ui.root.clone();
    wait_for("the server's refusal", 20_000.0, || {
        root.query_selector("form [role=alert]").unwrap().is_some()
    })
    .await;
    assert_eq!(
        ui.text("form [role=alert]"),
        "This address could not be verified: the address could not be validated"
    );
    assert_eq!(form.get_attribute("aria-busy"), None);
    assert!(ui.button("Save address").get_attribute("aria-disabled").is_none());
    assert_eq!(ui.phone.emergency_address_id(), None);
    ui.wait_banner("none").await;
}

#[wasm_bindgen_test]
async fn a_saved_address_is_remembered_bound_on_a_new_session_and_summarised_in_the_banner() {
    let ui = connected_softphone("E911 Saved", Locale::En).await;
    ui.wait_banner("none").await;
    ui.button("Add address").click();
    leptos::task::tick().await;
    ui.fill("Street address", "12 Main St");
    ui.fill("Apartment, suite or floor (optional)", "Apt 4");
    ui.fill("City", "Boston");
    ui.fill("State", "ma");
    ui.fill("ZIP code", "02110");
    ui.button("Save address").click();
    ui.wait_banner("bound").await;
    assert!(ui.find("form[aria-labelledby]").is_none(), "the form closes");
    let banner = ui.text("[data-testid=e911-banner] p");
    assert!(banner.starts_with("Emergency address: 12 Main St Apt 4, Boston, MA 02110"), "{banner}");
    let id = ui.phone.emergency_address_id().expect("the phone presents the new address");
    assert_eq!(ui.phone.emergency_session(), (Some(id.clone()), false));
    assert_eq!(ui.phone.status(), ConnectionStatus::Connected);
    // Remembered for this user in this browser, for the next connect.
    let user = ui.phone.snapshot().user_id.expect("signed in");
    assert_eq!(ds_web::emergency::stored_address_id(&user).as_deref(), Some(id.as_str()));
    // The server bound it to this session's network.
    let stored: serde_json::Value = Request::get(&format!("{}/v1/me/emergency-addresses/{id}", base()))
        .header("Authorization", &format!("Bearer {}", ui.token))
        .send()
        .await
        .expect("ds-local answers")
        .json()
        .await
        .expect("an address");
    assert!(stored["registered_ip"].is_string(), "{stored}");
    ds_web::emergency::store_address_id(&user, None);
}

#[wasm_bindgen_test]
async fn the_form_speaks_spanish() {
    let ui = connected_softphone("E911 Spanish", Locale::Es).await;
    ui.wait_banner("none").await;
    ui.button("Añadir dirección").click();
    leptos::task::tick().await;
    ui.button("Guardar dirección").click();
    leptos::task::tick().await;
    assert_eq!(ui.field_error("Calle y número"), "Escriba la calle y el número.");
    assert_eq!(ui.field_error("Código postal"), "Escriba el código postal.");
}
