//! Registration tests in headless Chromium.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn loading_the_module_registers_nothing_until_define_all() {
    // This must run before any define call in this test binary; it is the only test that checks
    // the pure entry, and wasm-bindgen-test runs tests of one file in declaration order.
    assert!(!ds_elements::is_defined("ds-softphone"));
    ds_elements::define_all();
    assert!(ds_elements::is_defined("ds-softphone"));
    // Idempotent: a second call neither throws nor re-registers.
    ds_elements::define_all();
    assert!(!ds_elements::define("ds-softphone"));

    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("ds-softphone").unwrap().unchecked_into();
    host.set_attribute("api-base", "http://127.0.0.1:9").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    leptos::task::tick().await;
    let shadow = host.shadow_root().expect("the element renders into an open shadow root");
    // No token-url and no tokenProvider: the element says what is missing instead of connecting.
    let chip = shadow.query_selector("[data-testid=error-chip]").unwrap().expect("error chip rendered");
    assert!(chip.text_content().unwrap().contains("token-url or tokenProvider"));

    host.remove();
    assert_eq!(shadow.child_element_count(), 0, "removing the element unmounts its view");
}
