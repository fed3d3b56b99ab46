//! The browser phone against a real ds-local, in headless Chromium with fake media devices.
//! Run by `cargo xtask test wasm` (ds-local `--demo --fast-timers` on 127.0.0.1:18787 inside a
//! loopback-only network namespace) or by hand: start that ds-local inside `unshare -n`, then
//! `cargo test --target wasm32-unknown-unknown -p ds-web` with CHROMEDRIVER and
//! WASM_BINDGEN_TEST_WEBDRIVER_JSON=tests/webdriver.json in the same namespace.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ds_core::view_model::ConnectionStatus;
use ds_core::{CallHandle, CallPhase, Command, PhoneEvent};
use ds_protocol::signalling::HeldBy;
use ds_wasm_test_support::{
    ECHO, IVR, as_platform, base, demo_user, mint_token, platform_get, platform_post, sleep, wait_for,
};
use ds_web::{DriverEvent, PhoneHandle, PhoneOptions, TokenProvider};
use gloo_net::http::Request;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A phone for `user`, connected, with every event it emits recorded.
struct TestPhone {
    phone: PhoneHandle,
    events: Rc<RefCell<Vec<DriverEvent>>>,
    _subscription: ds_web::Subscription,
}

impl TestPhone {
    fn new(tokens: TokenProvider) -> TestPhone {
        let phone = PhoneHandle::new(PhoneOptions::new(base(), tokens));
        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = events.clone();
        let subscription = phone.subscribe(move |event| sink.borrow_mut().push(event.clone()));
        TestPhone { phone, events, _subscription: subscription }
    }

    async fn connected(tokens: TokenProvider) -> TestPhone {
        let test = TestPhone::new(tokens);
        test.phone.connect().await.expect("the token provider answers");
        let phone = test.phone.clone();
        wait_for("the phone to connect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
        test
    }

    fn phase(&self, call: CallHandle) -> Option<CallPhase> {
        self.phone.call(call).map(|c| c.phase)
    }

    async fn dial_until_active(&self, destination: &str) -> CallHandle {
        let call = self.phone.dial(destination).expect("the core accepts the destination");
        wait_for("the call to be answered", 20_000.0, || self.phase(call) == Some(CallPhase::Active)).await;
        call
    }

    /// Dials the echo number and waits until its audio comes back.
    async fn echo_call_with_audio(&self) -> CallHandle {
        let call = self.dial_until_active(ECHO).await;
        wait_for("echo audio", 15_000.0, || self.phone.quality(call).is_some_and(|q| q.packets_received > 0))
            .await;
        call
    }

    async fn hang_up(&self, call: CallHandle) {
        self.phone.command(Command::Hangup { call });
        wait_for("the call to end", 10_000.0, || self.phone.call(call).is_none()).await;
    }

    fn errors(&self) -> Vec<String> {
        self.events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                DriverEvent::Phone(PhoneEvent::Error(error)) => Some(error.to_string()),
                _ => None,
            })
            .collect()
    }
}

impl Drop for TestPhone {
    fn drop(&mut self) {
        self.phone.disconnect();
    }
}

#[wasm_bindgen_test]
async fn connect_with_a_minted_token_reaches_connected() {
    let (alice, _) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    assert_eq!(test.phone.snapshot().user_id.as_deref(), Some(alice.as_str()));
    let statuses: Vec<ConnectionStatus> = test
        .events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            DriverEvent::Phone(PhoneEvent::ConnectionChanged(status)) => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.first(), Some(&ConnectionStatus::Connecting), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&ConnectionStatus::Connected), "{statuses:?}");
    assert!(test.errors().is_empty(), "{:?}", test.errors());
}

#[wasm_bindgen_test]
async fn echo_call_plays_inbound_audio_with_energy() {
    let (alice, _) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    let call = test.dial_until_active(ECHO).await;
    let phone = test.phone.clone();
    wait_for("remote audio energy from the echo", 15_000.0, || {
        phone.quality(call).is_some_and(|q| q.packets_received > 0 && q.total_audio_energy > 0.0)
    })
    .await;
    let quality = test.phone.quality(call).expect("measured above");
    assert!(quality.mos >= 1.0 && quality.mos <= 4.5, "{quality:?}");
    assert_eq!(test.phone.debug_peer_state(call).as_deref(), Some("connected"));
    test.hang_up(call).await;
    assert!(test.errors().is_empty(), "{:?}", test.errors());
}

/// A long-lived page (figure 6 makes 100 calls in one) must not keep anything per ended call,
/// including for calls hung up while their microphone and peer connection were still being set
/// up (the media layer used to remember every such call for the page's life).
#[wasm_bindgen_test]
async fn ended_calls_leave_no_media_state_behind_even_when_hung_up_during_setup() {
    let (alice, _) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    for _ in 0..3 {
        // Hung up in the same turn as the dial: the setup is still awaiting getUserMedia.
        let call = test.phone.dial(ECHO).expect("the core accepts the destination");
        test.phone.command(Command::Hangup { call });
        let phone = test.phone.clone();
        wait_for("the call to end", 10_000.0, || phone.call(call).is_none()).await;
        wait_for("the aborted setup to finish", 10_000.0, || phone.debug_media_calls() == 0).await;
        assert_eq!(test.phone.debug_peer_state(call), None);
    }
    let call = test.echo_call_with_audio().await;
    assert_eq!(test.phone.debug_media_calls(), 1, "the live call's media is kept while it runs");
    test.hang_up(call).await;
    assert_eq!(test.phone.debug_media_calls(), 0);
    assert!(test.errors().is_empty(), "{:?}", test.errors());
}

#[wasm_bindgen_test]
async fn dtmf_sent_to_the_ivr_is_recorded_on_the_call_log() {
    let (alice, account) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    let call = test.dial_until_active(IVR).await;
    let phone = test.phone.clone();
    wait_for("media to flow to the IVR", 15_000.0, || {
        phone.quality(call).is_some_and(|q| q.packets_received > 0)
    })
    .await;
    let call_id = test.phone.call(call).and_then(|c| c.call_id).expect("an answered call has a server id");
    test.phone.command(Command::SendDtmf { call, digits: "42#".into() });
    // 3 digits × (100 ms + 70 ms) plus the far end's processing.
    let mut digits = String::new();
    for _ in 0..60 {
        sleep(250).await;
        let log = platform_get(&format!("/v1/calls/{call_id}"), Some(&account)).await;
        digits = log["dtmf_digits"].as_str().unwrap_or_default().to_owned();
        if digits == "42#" {
            break;
        }
    }
    assert_eq!(digits, "42#");
    test.hang_up(call).await;
}

#[wasm_bindgen_test]
async fn hold_and_resume_follow_the_server() {
    let (alice, _) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    let call = test.dial_until_active(ECHO).await;
    test.phone.command(Command::Hold { call });
    wait_for("the call to be held", 10_000.0, || test.phase(call) == Some(CallPhase::Held)).await;
    assert_eq!(test.phone.call(call).and_then(|c| c.held_by), Some(HeldBy::Local));
    test.phone.command(Command::Resume { call });
    wait_for("the call to be resumed", 10_000.0, || test.phase(call) == Some(CallPhase::Active)).await;
    test.hang_up(call).await;
    assert!(test.errors().is_empty(), "{:?}", test.errors());
}

#[wasm_bindgen_test]
async fn a_60_second_token_is_refreshed_twice_in_band_without_dropping() {
    let (alice, _) = demo_user("Alice").await;
    let minted = Rc::new(Cell::new(0u32));
    let counter = minted.clone();
    let provider = Closure::<dyn FnMut() -> js_sys::Promise>::new(move || {
        counter.set(counter.get() + 1);
        let alice = alice.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            Ok(JsValue::from_str(&mint_token(&alice, Some(60)).await))
        })
    });
    let function: js_sys::Function = provider.as_ref().unchecked_ref::<js_sys::Function>().clone();
    let test = TestPhone::connected(TokenProvider::Function(function)).await;
    let connected_at = test.events.borrow().len();
    // Refresh runs 60 s before expiry, but never sooner than 5 s from now: about every 5 s.
    wait_for("two in-band refreshes", 30_000.0, || minted.get() >= 3).await;
    // Let the second refresh's `auth.refreshed` arrive.
    sleep(1_000).await;
    assert_eq!(test.phone.status(), ConnectionStatus::Connected);
    let after: Vec<DriverEvent> = test.events.borrow()[connected_at..].to_vec();
    assert!(
        !after.iter().any(|e| matches!(e, DriverEvent::Phone(PhoneEvent::ConnectionChanged(_)))),
        "the connection changed during refreshes: {after:?}"
    );
    assert!(test.errors().is_empty(), "{:?}", test.errors());
    drop(test);
    drop(provider);
}

#[wasm_bindgen_test]
async fn a_socket_killed_by_ds_local_reconnects_and_keeps_the_call() {
    let (alice, account) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    let call = test.echo_call_with_audio().await;
    let phone = test.phone.clone();
    // ds-local cuts the socket without a close frame, as a network failure would.
    let cut: serde_json::Value =
        as_platform(Request::post(&format!("{}/_ds/users/{alice}/drop_signalling", base())), Some(&account))
            .send()
            .await
            .expect("ds-local answers")
            .json()
            .await
            .expect("the drop reply is JSON");
    assert_eq!(cut["sockets_dropped"], 1, "{cut}");
    wait_for("the phone to notice the drop", 5_000.0, || {
        matches!(phone.status(), ConnectionStatus::Reconnecting { .. })
    })
    .await;
    wait_for("the phone to reconnect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
    // The call survived (call.restored) and its media keeps flowing.
    let before = test.phone.quality(call).map(|q| q.packets_received).unwrap_or(0);
    sleep(2_500).await;
    let info = test.phone.call(call).expect("the call survived the reconnect");
    assert_eq!(info.phase, CallPhase::Active);
    let after = test.phone.quality(call).map(|q| q.packets_received).unwrap_or(0);
    assert!(after > before, "media stopped across the reconnect: {before} → {after}");
    test.hang_up(call).await;
}

async fn ring_user(user: &str, account: &str) -> String {
    let body = serde_json::json!({ "user": user, "from_number": "+16195550177", "from_name": "JANE ROE" });
    let reply = platform_post("/v1/test_helpers/calls", Some(account), &body).await;
    reply["id"].as_str().unwrap_or_default().to_owned()
}

#[wasm_bindgen_test]
async fn an_inbound_test_call_rings_and_is_answered_with_media() {
    let (alice, account) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    ring_user(&alice, &account).await;
    let phone = test.phone.clone();
    wait_for("the incoming call", 10_000.0, || {
        phone
            .snapshot()
            .calls
            .iter()
            .any(|c| c.direction == ds_core::Direction::Inbound && c.phase == CallPhase::Ringing)
    })
    .await;
    let info = test
        .phone
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.direction == ds_core::Direction::Inbound)
        .expect("seen");
    assert_eq!(info.remote_number, "+16195550177");
    test.phone.command(Command::Answer { call: info.handle });
    wait_for("the answered call", 15_000.0, || test.phase(info.handle) == Some(CallPhase::Active)).await;
    wait_for("caller audio", 15_000.0, || phone.quality(info.handle).is_some_and(|q| q.packets_received > 0))
        .await;
    test.hang_up(info.handle).await;
}

#[wasm_bindgen_test]
async fn the_account_event_stream_delivers_call_incoming_and_resumes_after_a_reconnect() {
    let (alice, account) = demo_user("Alice").await;
    let account_for_provider = account.clone();
    let provider = Closure::<dyn FnMut() -> js_sys::Promise>::new(move || {
        let account = account_for_provider.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let reply: serde_json::Value = as_platform(Request::post(&format!("{}/v1/account_sessions", base())), None)
                .json(&serde_json::json!({ "account": account, "components": { "call_history": { "enabled": true } } }))
                .map_err(|e| JsValue::from_str(&e.to_string()))?
                .send()
                .await
                .map_err(|e| JsValue::from_str(&e.to_string()))?
                .json()
                .await
                .map_err(|e| JsValue::from_str(&e.to_string()))?;
            Ok(reply["client_secret"].clone().as_str().map(JsValue::from_str).unwrap_or(JsValue::NULL))
        })
    });
    let function: js_sys::Function = provider.as_ref().unchecked_ref::<js_sys::Function>().clone();
    let session = ds_web::AccountSession::new(TokenProvider::Function(function));
    let seen = Rc::new(RefCell::new(Vec::<ds_web::StreamEvent>::new()));
    let sink = seen.clone();
    let stream = ds_web::AccountEventStream::open(base(), session, move |notice| {
        if let ds_web::StreamNotice::Event(event) = notice {
            sink.borrow_mut().push(event);
        }
    });
    wait_for("the connected event", 10_000.0, || seen.borrow().iter().any(|e| e.name == "connected")).await;
    ring_user(&alice, &account).await;
    wait_for("call.incoming on the stream", 10_000.0, || {
        seen.borrow().iter().any(|e| e.name == "call.incoming")
    })
    .await;
    let incoming = seen.borrow().iter().find(|e| e.name == "call.incoming").cloned().expect("seen");
    assert_eq!(incoming.data["user_id"].as_str(), Some(alice.as_str()));
    let last_id = stream.last_event_id().expect("events carry ids (§16.11)");

    // A blip: the stream reconnects with last_event_id and delivers what follows, once.
    stream.debug_reconnect();
    ring_user(&alice, &account).await;
    wait_for("the second call.incoming", 10_000.0, || {
        seen.borrow().iter().filter(|e| e.name == "call.incoming").count() >= 2
    })
    .await;
    // `connected` carries the resume point (the last id before it), so it repeats an id by design.
    let ids: Vec<String> =
        seen.borrow().iter().filter(|e| e.name != "connected").filter_map(|e| e.id.clone()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "no event was delivered twice");
    assert!(ids.contains(&last_id));
    drop(stream);
    drop(provider);
}

#[wasm_bindgen_test]
async fn switching_the_microphone_mid_call_keeps_audio_flowing_and_is_remembered() {
    let (alice, _) = demo_user("Alice").await;
    let test = TestPhone::connected(TokenProvider::Fixed(mint_token(&alice, None).await)).await;
    let call = test.echo_call_with_audio().await;
    let phone = test.phone.clone();
    let before = test.phone.sending_microphone(call).expect("the call sends from a microphone");
    // Chromium's fake devices list several inputs once permission was granted.
    let inputs: Vec<ds_web::AudioDevice> = test
        .phone
        .audio_devices()
        .await
        .into_iter()
        .filter(|d| d.kind == ds_web::AudioDeviceKind::Input && d.id != "default" && !d.label.is_empty())
        .collect();
    let other = inputs.iter().find(|d| d.label != before).expect("a second fake microphone");
    test.phone.set_input_device(Some(other.id.clone()));
    wait_for("the call to send from the new microphone", 10_000.0, || {
        phone.sending_microphone(call).as_deref() == Some(other.label.as_str())
    })
    .await;
    let stored = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(ds_web::INPUT_DEVICE_KEY).ok().flatten());
    assert_eq!(stored.as_deref(), Some(other.id.as_str()));
    // Audio keeps coming back through the echo after the switch.
    let received = test.phone.quality(call).map(|q| q.packets_received).unwrap_or(0);
    wait_for("echo audio after the switch", 10_000.0, || {
        phone.quality(call).is_some_and(|q| q.packets_received > received)
    })
    .await;
    test.hang_up(call).await;
    test.phone.set_input_device(None);
    assert!(test.errors().is_empty(), "{:?}", test.errors());
}
