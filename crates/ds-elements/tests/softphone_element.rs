//! `<ds-softphone>` in headless Chromium against a demo ds-local (`cargo xtask test wasm`): two
//! softphones with the same api-base and token source share one phone.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn base() -> &'static str {
    option_env!("DS_TEST_BASE_URL").unwrap_or("http://127.0.0.1:18787")
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

fn chip_state(host: &web_sys::HtmlElement) -> Option<String> {
    host.shadow_root()?.query_selector("[data-testid=status-chip]").ok()??.get_attribute("data-state")
}

async fn wait_connected(host: &web_sys::HtmlElement) {
    let start = js_sys::Date::now();
    while chip_state(host).as_deref() != Some("connected") {
        assert!(js_sys::Date::now() - start < 15_000.0, "timed out waiting for the softphone to connect");
        sleep(50).await;
    }
}

fn token_calls() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"__dsTokenCalls".into()).unwrap().as_f64().unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn softphones_with_the_same_token_provider_share_one_phone_until_the_last_leaves() {
    ds_elements::define_all();
    // A host's provider function, counting how often the phone asks it for a token.
    let provider = js_sys::Function::new_no_args(&format!(
        "globalThis.__dsTokenCalls = (globalThis.__dsTokenCalls || 0) + 1; \
         return fetch('{}/_ds/demo/tokens/alice', {{ method: 'POST' }}).then(r => r.json()).then(j => j.token);",
        base()
    ));
    let document = web_sys::window().unwrap().document().unwrap();
    let statuses = Rc::new(RefCell::new(Vec::<String>::new()));
    let record = statuses.clone();
    let on_status = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
        let status = js_sys::Reflect::get(&event.detail(), &"status".into()).unwrap();
        record.borrow_mut().push(status.as_string().unwrap_or_default());
    });
    let make = || {
        let host: web_sys::HtmlElement = document.create_element("ds-softphone").unwrap().unchecked_into();
        host.set_attribute("api-base", base()).unwrap();
        js_sys::Reflect::set(&host, &"tokenProvider".into(), &provider).unwrap();
        host
    };
    let (first, second) = (make(), make());
    first
        .add_event_listener_with_callback("ds-connection-change", on_status.as_ref().unchecked_ref())
        .unwrap();
    document.body().unwrap().append_child(&first).unwrap();
    document.body().unwrap().append_child(&second).unwrap();
    wait_connected(&first).await;
    wait_connected(&second).await;
    assert_eq!(token_calls(), 1.0, "one phone, so one token fetch for both elements");
    assert!(statuses.borrow().iter().any(|s| s == "connected"), "ds-connection-change reported {statuses:?}");

    // The phone stays while one element still uses it.
    first.remove();
    sleep(300).await;
    assert_eq!(chip_state(&second).as_deref(), Some("connected"));
    second.remove();
}
