//! The account-side elements in headless Chromium: they share one link (one session, one event
//! stream) per api-base + token source, render into shadow roots, and report failures as
//! `ds-error`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Nothing listens on port 9: token fetches fail fast.
const NOWHERE: &str = "http://127.0.0.1:9";

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn element(tag: &str, token_url: &str) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element(tag).unwrap().unchecked_into();
    host.set_attribute("api-base", NOWHERE).unwrap();
    host.set_attribute("token-url", token_url).unwrap();
    host
}

#[wasm_bindgen_test]
async fn elements_with_the_same_api_base_and_token_url_share_one_link_and_report_errors() {
    ds_elements::define_all();
    let document = web_sys::window().unwrap().document().unwrap();
    let body = document.body().unwrap();
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = errors.clone();
    let on_error = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
        let code = js_sys::Reflect::get(&event.detail(), &"code".into()).unwrap();
        sink.borrow_mut().push(code.as_string().unwrap_or_default());
    });
    body.add_event_listener_with_callback("ds-error", on_error.as_ref().unchecked_ref()).unwrap();

    let first_token = format!("{NOWHERE}/token-a");
    let history = element("ds-call-history", &first_token);
    let dialer = element("ds-dialer", &first_token);
    let pop = element("ds-screen-pop", &format!("{NOWHERE}/token-b"));
    for host in [&history, &dialer, &pop] {
        body.append_child(host).unwrap();
    }
    leptos::task::tick().await;
    assert_eq!(ds_elements::live_link_count(), 2, "history and dialer share a link; the pop has its own");

    // The token endpoint is unreachable: the history says so and reports ds-error (bubbling out
    // of the shadow root to the page).
    let shadow = history.shadow_root().expect("an open shadow root");
    let start = js_sys::Date::now();
    while shadow.query_selector("[data-state=error]").unwrap().is_none() {
        assert!(js_sys::Date::now() - start < 10_000.0, "no error state");
        sleep(50).await;
    }
    let words = shadow.query_selector("[data-state=error]").unwrap().unwrap().text_content().unwrap();
    assert!(words.contains("account session"), "{words}");
    assert_eq!(*errors.borrow(), ["token_provider_failed"]);
    assert!(dialer.shadow_root().unwrap().query_selector("[part=keypad]").unwrap().is_some());
    assert!(pop.shadow_root().unwrap().query_selector("[part=base]").unwrap().is_some());

    for host in [&history, &dialer, &pop] {
        host.remove();
    }
    assert_eq!(ds_elements::live_link_count(), 0, "the last element to leave releases its link");
    assert_eq!(shadow.child_element_count(), 0, "removing the element unmounts its view");
}
