//! Rate limits per credential (protocol.md §3.5, §9): REST answers `429` with `Retry-After`
//! (seconds) and the platform error body; the signalling socket answers a non-fatal
//! `rate_limited` error and keeps the socket. Limits are set low through `Config::rate_limits`
//! and time is moved by hand.

mod common;
mod signalling_support;

use axum::http::{Method, StatusCode};
use common::{KEY, Platform, manual_clock};
use ds_local::Config;
use ds_local::rate_limit::{Limit, RateLimits};
use ds_local::signalling::SignallingConfig;
use serde_json::json;
use signalling_support::Client;

const SECOND_KEY: &str = "sk_test_second_backend";

fn low_limits(config: &mut Config) {
    config.rate_limits = RateLimits {
        api_key: Limit::new(1.0, 3.0),
        token: Limit::new(1.0, 2.0),
        signalling: Limit::new(1.0, 3.0),
    };
    config.platform_keys.push(SECOND_KEY.to_owned());
}

#[tokio::test]
async fn an_api_key_over_its_limit_gets_429_with_retry_after_and_other_keys_do_not() {
    let mut config = Config::in_memory();
    low_limits(&mut config);
    let clock = manual_clock(&mut config);
    let platform = Platform::with_config(config).await;
    for _ in 0..3 {
        assert_eq!(platform.get("/v1/accounts", KEY, None).await.status, StatusCode::OK);
    }
    let limited = platform.get("/v1/accounts", KEY, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_code(), "rate_limited");
    assert_eq!(limited.headers["retry-after"], "1");
    // Writes are refused the same way, before they change anything.
    let write = platform.post("/v1/accounts", KEY, None, json!({ "email": "late@clinic.test" })).await;
    assert_eq!(write.status, StatusCode::TOO_MANY_REQUESTS);
    // Another key has its own bucket; made-up keys are 401s and cost nobody anything.
    assert_eq!(platform.get("/v1/accounts", SECOND_KEY, None).await.status, StatusCode::OK);
    for _ in 0..20 {
        assert_eq!(
            platform.get("/v1/accounts", "sk_test_made_up", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    clock.advance(chrono::Duration::seconds(1));
    let after = platform.get("/v1/accounts", KEY, None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(after.body["data"].as_array().map(Vec::len), Some(0), "the refused create created nothing");
}

#[tokio::test]
async fn user_tokens_are_limited_per_user_and_sessions_per_account() {
    let mut config = Config::in_memory();
    low_limits(&mut config);
    config.rate_limits.api_key = Limit::OFF;
    let clock = manual_clock(&mut config);
    let platform = Platform::with_config(config).await;
    let account = platform.create_account("o@clinic.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let bob = platform.create_user(&account, "Bob").await;
    // Two tokens of one user share a bucket: minting more tokens buys no more requests.
    let alice_first = platform.user_token(&alice).await;
    let alice_second = platform.user_token(&alice).await;
    assert_eq!(platform.get("/v1/me/directory", &alice_first, None).await.status, StatusCode::OK);
    assert_eq!(platform.get("/v1/me/directory", &alice_second, None).await.status, StatusCode::OK);
    let limited = platform.get("/v1/me/directory", &alice_first, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    let bob_token = platform.user_token(&bob).await;
    assert_eq!(platform.get("/v1/me/directory", &bob_token, None).await.status, StatusCode::OK);
    let session = platform.session(&account).await;
    for _ in 0..2 {
        assert_eq!(platform.get("/v1/calls", &session, None).await.status, StatusCode::OK);
    }
    let other_session = platform.session(&account).await;
    assert_eq!(platform.get("/v1/calls", &other_session, None).await.status, StatusCode::TOO_MANY_REQUESTS);
    // The API key (limits off here) is unaffected by the account's session bucket.
    assert_eq!(platform.get("/v1/calls", KEY, Some(&account)).await.status, StatusCode::OK);
    clock.advance(chrono::Duration::seconds(2));
    assert_eq!(platform.get("/v1/calls", &session, None).await.status, StatusCode::OK);
    assert_eq!(platform.get("/v1/me/directory", &alice_first, None).await.status, StatusCode::OK);
    // The 429 carries CORS exposure of Retry-After, so a browser component can read it. Bob's
    // bucket refilled to 2 while the clock moved: the third request is refused.
    let from_a_page = || {
        axum::http::Request::builder()
            .method(Method::GET)
            .uri("/v1/me/directory")
            .header("origin", "https://partner.test")
            .header("authorization", format!("Bearer {bob_token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(platform.send(from_a_page()).await.status, StatusCode::OK);
    }
    let limited = platform.send(from_a_page()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let exposed = limited.headers["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
}

#[tokio::test]
async fn a_signalling_user_over_the_frame_limit_gets_a_non_fatal_rate_limited_and_keeps_the_socket() {
    let mut config = Config::in_memory();
    low_limits(&mut config);
    config.rate_limits.api_key = Limit::OFF;
    let clock = manual_clock(&mut config);
    let platform = Platform::with_config(config).await;
    ds_local::signalling::attach(
        &platform.state,
        SignallingConfig { media_ip: [127, 0, 0, 1].into(), timers: signalling_support::test_timers() },
    )
    .unwrap();
    let account = platform.create_account("o@clinic.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let bob = platform.create_user(&account, "Bob").await;
    let (addr, server) = platform.serve().await;
    let mut first = Client::connect(addr).await;
    // authenticate counts against the socket; then three pings use the user's burst of 3.
    assert_eq!(first.authenticate(&platform.user_token(&alice).await).await["type"], "authenticated");
    for n in 0..3 {
        first.send(json!({ "type": "ping", "req_id": format!("p{n}") })).await;
        assert_eq!(first.next().await.unwrap()["type"], "pong");
    }
    first.send(json!({ "type": "ping", "req_id": "over" })).await;
    let refused = first.next().await.unwrap();
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["req_id"], "over");
    assert!(refused.get("fatal").is_none(), "{refused}");
    // A second socket of the same user shares the bucket once authenticated.
    let mut second = Client::connect(addr).await;
    assert_eq!(second.authenticate(&platform.user_token(&alice).await).await["type"], "authenticated");
    second.send(json!({ "type": "ping", "req_id": "second" })).await;
    assert_eq!(second.next().await.unwrap()["code"], "rate_limited");
    // Another user is not affected.
    let mut bobs = Client::connect(addr).await;
    assert_eq!(bobs.authenticate(&platform.user_token(&bob).await).await["type"], "authenticated");
    bobs.send(json!({ "type": "ping", "req_id": "bob" })).await;
    assert_eq!(bobs.next().await.unwrap()["type"], "pong");
    // Time refills the bucket; the first socket was never closed.
    clock.advance(chrono::Duration::seconds(1));
    first.send(json!({ "type": "ping", "req_id": "later" })).await;
    assert_eq!(first.next().await.unwrap(), json!({ "type": "pong", "req_id": "later" }));
    server.abort();
}
