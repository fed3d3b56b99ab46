//! Component tests in headless Chromium (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use ds_core::view_model::ConnectionStatus;
use ds_ui::StatusChip;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

#[wasm_bindgen_test]
async fn status_chip_follows_the_connection_status() {
    let parent = container();
    let (status, set_status) = signal(ConnectionStatus::Connecting);
    let _mount = leptos::mount::mount_to(parent.clone(), move || view! { <StatusChip status=status /> });
    leptos::task::tick().await;
    let chip = parent.query_selector("[data-testid=status-chip]").unwrap().unwrap();
    assert_eq!(chip.text_content().unwrap(), "Connecting…");
    assert_eq!(chip.get_attribute("data-state").as_deref(), Some("connecting"));

    set_status.set(ConnectionStatus::Reconnecting { attempt: 2 });
    leptos::task::tick().await;
    assert_eq!(chip.text_content().unwrap(), "Reconnecting (attempt 2)…");

    set_status.set(ConnectionStatus::Connected);
    leptos::task::tick().await;
    assert_eq!(chip.get_attribute("data-state").as_deref(), Some("connected"));
}

#[wasm_bindgen_test]
fn regional_spanish_tags_select_spanish_and_unknown_tags_fall_back_to_english() {
    use ds_ui::i18n::Locale;
    assert_eq!(Locale::from_tag("es-MX"), Locale::Es);
    assert_eq!(Locale::from_tag("ES"), Locale::Es);
    assert_eq!(Locale::from_tag("en-GB"), Locale::En);
    assert_eq!(Locale::from_tag("fr"), Locale::En);
    assert_eq!(Locale::from_tag(""), Locale::En);
}
