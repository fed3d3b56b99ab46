//! What the wasm-bindgen tests of ds-web and ds-ui share. They run in headless Chromium against
//! a real ds-local started by `cargo xtask test wasm` (`--demo --fast-timers` on
//! 127.0.0.1:18787, or `DS_TEST_BASE_URL` at build time), and create their own users and tokens
//! through the platform API so that concurrently running tests never share a user.
#![cfg(target_arch = "wasm32")]

use gloo_net::http::{Request, RequestBuilder};
use wasm_bindgen_futures::JsFuture;

/// The test ds-local's platform key (its default).
pub const PLATFORM_KEY: &str = "sk_test_local";
/// The simulated number that sends the caller's audio back (protocol.md §15).
pub const ECHO: &str = "+15005550001";
/// The simulated IVR that answers each DTMF digit and records it on the call log.
pub const IVR: &str = "+15005550006";

/// The test ds-local's origin.
pub fn base() -> &'static str {
    option_env!("DS_TEST_BASE_URL").unwrap_or("http://127.0.0.1:18787")
}

pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("tests run in a window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout works");
    });
    JsFuture::from(promise).await.expect("a timer promise never rejects");
}

/// Polls `condition` every 50 ms; panics naming `what` after `timeout_ms`.
pub async fn wait_for(what: &str, timeout_ms: f64, mut condition: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !condition() {
        assert!(
            js_sys::Date::now() - start < timeout_ms,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        sleep(50).await;
    }
}

/// `request` with the platform key, and `DialStack-Account` when `account` is given.
pub fn as_platform(request: RequestBuilder, account: Option<&str>) -> RequestBuilder {
    let request = request.header("Authorization", &format!("Bearer {PLATFORM_KEY}"));
    match account {
        Some(account) => request.header("DialStack-Account", account),
        None => request,
    }
}

/// `GET path` with the platform key; the JSON reply.
pub async fn platform_get(path: &str, account: Option<&str>) -> serde_json::Value {
    as_platform(Request::get(&format!("{}{path}", base())), account)
        .send()
        .await
        .expect("ds-local answers")
        .json()
        .await
        .expect("a JSON reply")
}

/// `POST path` with the platform key and a JSON body; panics unless the reply is 2xx.
pub async fn platform_post(path: &str, account: Option<&str>, body: &serde_json::Value) -> serde_json::Value {
    let response = as_platform(Request::post(&format!("{}{path}", base())), account)
        .json(body)
        .expect("a JSON body")
        .send()
        .await
        .expect("ds-local answers");
    assert!(response.ok(), "POST {path} answered {}", response.status());
    response.json().await.expect("a JSON reply")
}

/// (user id, account id) of the demo user whose name starts with `name` (ds-local `--demo`):
/// listed through the platform API so no test hard-codes ids.
pub async fn demo_user(name: &str) -> (String, String) {
    let accounts = platform_get("/v1/accounts?limit=100", None).await;
    for account in accounts["data"].as_array().expect("a list envelope") {
        let account_id = account["id"].as_str().expect("accounts have ids");
        let users = platform_get("/v1/users?limit=100", Some(account_id)).await;
        for user in users["data"].as_array().expect("a list envelope") {
            if user["name"].as_str().is_some_and(|n| n.starts_with(name)) {
                return (user["id"].as_str().expect("users have ids").to_owned(), account_id.to_owned());
            }
        }
    }
    panic!("ds-local runs without the demo user {name}; start it with --demo");
}

/// A new user of the demo account, so that calls to it ring only this test's phone
/// (wasm-bindgen-test runs async tests concurrently). Returns (user id, account id).
pub async fn fresh_user(name: &str) -> (String, String) {
    let (_, account) = demo_user("Alice").await;
    let user = platform_post("/v1/users", Some(&account), &serde_json::json!({ "name": name })).await;
    (user["id"].as_str().expect("users have ids").to_owned(), account)
}

/// A user token for `user`, valid for `ttl_seconds` (the server's default when `None`).
pub async fn mint_token(user: &str, ttl_seconds: Option<u32>) -> String {
    let mut body = serde_json::json!({ "user": user });
    if let Some(ttl) = ttl_seconds {
        body["ttl_seconds"] = ttl.into();
    }
    let reply = platform_post("/v1/user_sessions", None, &body).await;
    reply["client_secret"].as_str().expect("client_secret in the reply").to_owned()
}
