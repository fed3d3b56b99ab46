//! Calls through `/v1/webrtc` with real media: a second ds-media engine plays the browser,
//! making real offers/answers and exchanging RTP with ds-local's engine over 127.0.0.1.
//! Each test also checks the CallLog row and the account events (SSE + webhooks share the log).

mod signalling_support;

use std::time::Duration;

use serde_json::{Value, json};
use signalling_support::{Client, Peer, World};

/// Dials `destination` with a real offer; returns the call id and the caller's media peer.
async fn dial(client: &mut Client, destination: &str) -> (String, Peer) {
    let (peer, offer) = Peer::offerer();
    let req_id = client.req_id();
    client
        .send(json!({ "type": "call.create", "req_id": req_id, "destination": destination, "sdp": offer }))
        .await;
    let trying = client.next().await.expect("call.trying");
    assert_eq!(trying["type"], "call.trying", "{trying}");
    assert_eq!(trying["req_id"], req_id.as_str());
    (trying["call_id"].as_str().unwrap().to_owned(), peer)
}

/// Applies the `sdp.answer` of `call_id` to the caller's peer.
async fn take_answer(client: &mut Client, peer: &Peer, call_id: &str) {
    let answer = client.until(json!({ "type": "sdp.answer", "call_id": call_id })).await;
    peer.accept_answer(answer["sdp"].as_str().unwrap());
}

fn frame_types(client: &Client, call_id: &str) -> Vec<String> {
    client
        .seen
        .iter()
        .filter(|f| f["call_id"] == call_id)
        .map(|f| f["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_echo_number_answers_with_media_and_the_call_is_logged_and_announced() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550001").await;
    take_answer(&mut alice, &peer, &call_id).await;
    let answered = alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    assert!(answered["answered_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(frame_types(&alice, &call_id), ["call.trying", "call.ringing", "sdp.answer", "call.answered"]);
    peer.audio_flows().await;
    let live = world.call_log(&call_id).await;
    assert_eq!(live["status"], Value::Null);
    assert!(!live["answered_at"].is_null());

    alice.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    let ended = alice.until(json!({ "type": "call.ended", "call_id": call_id })).await;
    assert_eq!(ended["reason"], "hangup");
    assert!(ended["duration_seconds"].is_u64());
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "completed");
    assert_eq!(row["direction"], "outbound");
    assert_eq!(row["to_number"], "+15005550001");
    assert_eq!(row["from_label"], "Alice Smith");
    assert_eq!(row["user"], world.alice.as_str());
    assert_eq!(world.events_of(&call_id).await, ["call.initiated", "call.answered", "call.end"]);
}

#[tokio::test]
async fn busy_no_answer_and_failing_numbers_end_with_their_reasons_and_statuses() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;

    let (busy, _) = dial(&mut alice, "+15005550003").await;
    let ended = alice.until(json!({ "type": "call.ended", "call_id": busy })).await;
    assert_eq!((ended["reason"].as_str(), &ended["duration_seconds"]), (Some("busy"), &Value::Null));
    assert_eq!(world.finished_call_log(&busy).await["status"], "busy");

    let (silent, _) = dial(&mut alice, "+15005550004").await;
    alice.until(json!({ "type": "call.ringing", "call_id": silent })).await;
    let ended = alice.until(json!({ "type": "call.ended", "call_id": silent })).await;
    assert_eq!(ended["reason"], "no-answer");
    let row = world.finished_call_log(&silent).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("no-answer"), Some(19)));

    let (_peer, offer) = Peer::offerer();
    alice.send(json!({ "type": "call.create", "req_id": "req_fail", "destination": "+15005550009", "sdp": offer })).await;
    let error = alice.next().await.unwrap();
    assert_eq!((error["code"].as_str(), error["req_id"].as_str()), (Some("call_failed"), Some("req_fail")));
    assert!(error.get("fatal").is_none());

    // Cancelling an unanswered outbound call.
    let (cancelled, _) = dial(&mut alice, "+15005550004").await;
    alice.send(json!({ "type": "call.hangup", "call_id": cancelled })).await;
    let ended = alice.until(json!({ "type": "call.ended", "call_id": cancelled })).await;
    assert_eq!((ended["reason"].as_str(), &ended["duration_seconds"]), (Some("hangup"), &Value::Null));
}

#[tokio::test]
async fn early_media_arrives_as_pranswer_before_the_answer() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550005").await;
    let pranswer = alice.until(json!({ "type": "sdp.pranswer", "call_id": call_id })).await;
    peer.accept_answer(pranswer["sdp"].as_str().unwrap());
    // Ringback flows before the answer.
    peer.audio_flows().await;
    alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    assert_eq!(frame_types(&alice, &call_id), ["call.trying", "sdp.pranswer", "sdp.answer", "call.answered"]);
}

#[tokio::test]
async fn the_hang_up_number_ends_the_call_by_itself() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550007").await;
    take_answer(&mut alice, &peer, &call_id).await;
    let ended = alice.until(json!({ "type": "call.ended", "call_id": call_id })).await;
    assert_eq!(ended["reason"], "hangup");
    assert_eq!(world.finished_call_log(&call_id).await["status"], "completed");
}

#[tokio::test]
async fn a_user_call_rings_every_device_the_first_answer_wins_and_media_is_bridged() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob_desk = world.client(&world.bob).await;
    let mut bob_laptop = world.client(&world.bob).await;

    let (alice_call, alice_peer) = dial(&mut alice, "102").await;
    alice.until(json!({ "type": "call.ringing", "call_id": alice_call })).await;
    let on_laptop = bob_laptop.until(json!({ "type": "call.incoming" })).await;
    assert_eq!(on_laptop["from"], "101");
    assert_eq!(on_laptop["from_name"], "Alice Smith");
    assert_eq!(on_laptop["to"], "102");
    let (bob_call, _, bob_peer) = bob_desk.pick_up().await;
    assert_eq!(on_laptop["call_id"], bob_call.as_str());
    let lost = bob_laptop.until(json!({ "type": "call.ended", "call_id": bob_call })).await;
    assert_eq!((lost["reason"].as_str(), &lost["duration_seconds"]), (Some("hangup"), &Value::Null));

    take_answer(&mut alice, &alice_peer, &alice_call).await;
    alice.until(json!({ "type": "call.answered", "call_id": alice_call })).await;
    // RTP crosses the bridge both ways.
    alice_peer.audio_flows().await;
    bob_peer.audio_flows().await;

    // Hold from Alice: Bob is told it is a remote hold; resume clears it.
    alice.send(json!({ "type": "call.hold", "call_id": alice_call })).await;
    assert_eq!(alice.until(json!({ "type": "call.held", "call_id": alice_call })).await["held_by"], "local");
    assert_eq!(
        bob_desk.until(json!({ "type": "call.held", "call_id": bob_call })).await["held_by"],
        "remote"
    );
    // Bob cannot resume Alice's hold (§16.4).
    bob_desk.send(json!({ "type": "call.resume", "call_id": bob_call })).await;
    assert_eq!(
        bob_desk.until(json!({ "type": "error", "call_id": bob_call })).await["code"],
        "invalid_message"
    );
    alice.send(json!({ "type": "call.resume", "call_id": alice_call })).await;
    alice.until(json!({ "type": "call.resumed", "call_id": alice_call })).await;
    bob_desk.until(json!({ "type": "call.resumed", "call_id": bob_call })).await;

    bob_desk.send(json!({ "type": "call.hangup", "call_id": bob_call })).await;
    assert_eq!(alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"], "hangup");
    assert_eq!(
        bob_desk.until(json!({ "type": "call.ended", "call_id": bob_call })).await["reason"],
        "hangup"
    );
    let alice_row = world.finished_call_log(&alice_call).await;
    let bob_row = world.finished_call_log(&bob_call).await;
    assert_eq!(
        (alice_row["direction"].as_str(), alice_row["status"].as_str()),
        (Some("internal"), Some("completed"))
    );
    assert_eq!(
        (bob_row["user"].as_str(), bob_row["status"].as_str()),
        (Some(world.bob.as_str()), Some("completed"))
    );
    assert_eq!(
        world.events_of(&bob_call).await,
        ["call.incoming", "call.ringing", "call.answered", "call.end"]
    );
}

#[tokio::test]
async fn declining_ends_rejected_and_a_busy_decline_ends_busy_for_both_sides() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    for (reason, expected) in [("decline", "rejected"), ("busy", "busy")] {
        let (alice_call, _) = dial(&mut alice, "102").await;
        let incoming = bob.until(json!({ "type": "call.incoming", "from": "101" })).await;
        let bob_call = incoming["call_id"].as_str().unwrap().to_owned();
        bob.seen.clear();
        bob.send(json!({ "type": "call.reject", "call_id": bob_call, "reason": reason })).await;
        assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": bob_call })).await["reason"], expected);
        assert_eq!(
            alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"],
            expected
        );
    }
}

#[tokio::test]
async fn an_unanswered_user_call_ends_no_answer_after_the_ring_timeout() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    let (alice_call, _) = dial(&mut alice, &world.bob.clone()).await;
    let bob_call =
        bob.until(json!({ "type": "call.incoming" })).await["call_id"].as_str().unwrap().to_owned();
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"],
        "no-answer"
    );
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": bob_call })).await["reason"], "no-answer");
    assert_eq!(world.finished_call_log(&bob_call).await["status"], "no-answer");
}

#[tokio::test]
async fn a_call_survives_a_dropped_socket_and_is_restored_to_the_next_session() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550002").await;
    take_answer(&mut alice, &peer, &call_id).await;
    alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    peer.audio_flows().await;
    alice.drop_socket();

    let mut again = Client::connect(world.addr).await;
    let reply = again.authenticate(&world.token(&world.alice).await).await;
    assert_eq!(reply["reconnected"], true, "{reply}");
    let restored = again.next().await.unwrap();
    assert_eq!(restored["type"], "call.restored");
    assert_eq!(restored["call_id"], call_id.as_str());
    assert_eq!(restored["state"], "active");
    assert_eq!(restored["direction"], "outbound");
    assert_eq!(restored["to"], "+15005550002");
    assert!(restored["answered_at"].as_str().is_some());
    // The restored call is controllable from the new socket.
    again.send(json!({ "type": "call.hold", "call_id": call_id })).await;
    again.until(json!({ "type": "call.held", "call_id": call_id })).await;
    again.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    assert_eq!(again.until(json!({ "type": "call.ended", "call_id": call_id })).await["reason"], "hangup");
}

#[tokio::test]
async fn calls_of_a_session_that_never_comes_back_end_failed_after_the_grace_period() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550002").await;
    take_answer(&mut alice, &peer, &call_id).await;
    alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    alice.drop_socket();
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "completed");
    assert_eq!(row["hangup_cause"], 41);
    // A later session of the same user is no reconnect.
    let mut later = Client::connect(world.addr).await;
    assert!(later.authenticate(&world.token(&world.alice).await).await.get("reconnected").is_none());
}

#[tokio::test]
async fn a_blind_transfer_hands_the_far_party_to_another_user() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    let (call_id, alice_peer) = dial(&mut alice, "+16175551234").await;
    take_answer(&mut alice, &alice_peer, &call_id).await;
    alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;

    // Refused transfer: the call stays.
    alice.send(json!({ "type": "call.transfer", "call_id": call_id, "destination": "+15005550003" })).await;
    let refused = alice.until(json!({ "type": "error", "call_id": call_id })).await;
    assert_eq!(refused["code"], "call_failed");
    alice.send(json!({ "type": "call.transfer", "call_id": call_id, "destination": "102" })).await;
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": call_id })).await["reason"],
        "transferred"
    );
    let incoming = bob.until(json!({ "type": "call.incoming" })).await;
    assert_eq!(incoming["from"], "+16175551234");
    let (bob_call, _, bob_peer) = bob.pick_up().await;
    bob_peer.audio_flows().await;
    assert!(world.events_of(&call_id).await.contains(&"call.transfer".to_owned()));
    bob.send(json!({ "type": "call.hangup", "call_id": bob_call })).await;
    assert_eq!(world.finished_call_log(&bob_call).await["direction"], "inbound");
}

#[tokio::test]
async fn an_attended_transfer_joins_the_two_far_parties() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    // Bob calls Alice; Alice consults the tone number, then completes.
    let (bob_call, bob_peer) = dial(&mut bob, "101").await;
    let (alice_call, _, _alice_peer) = alice.pick_up().await;
    take_answer(&mut bob, &bob_peer, &bob_call).await;
    bob.until(json!({ "type": "call.answered", "call_id": bob_call })).await;

    let (consult_peer, offer) = Peer::offerer();
    alice
        .send(json!({ "type": "call.transfer.attended", "req_id": "req_consult", "call_id": alice_call, "step": "consult", "destination": "+15005550002", "sdp": offer }))
        .await;
    assert_eq!(alice.until(json!({ "type": "call.held", "call_id": alice_call })).await["held_by"], "local");
    assert_eq!(bob.until(json!({ "type": "call.held", "call_id": bob_call })).await["held_by"], "remote");
    let trying = alice.until(json!({ "type": "call.trying", "req_id": "req_consult" })).await;
    let consult = trying["call_id"].as_str().unwrap().to_owned();
    take_answer(&mut alice, &consult_peer, &consult).await;
    alice.until(json!({ "type": "call.answered", "call_id": consult })).await;

    alice.send(json!({ "type": "call.transfer.attended", "call_id": alice_call, "step": "complete" })).await;
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"],
        "transferred"
    );
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": consult })).await["reason"],
        "transferred"
    );
    // Bob is now with the tone party and off hold.
    bob.until(json!({ "type": "call.resumed", "call_id": bob_call })).await;
    bob.send(json!({ "type": "ping", "req_id": "p" })).await;
    bob.until(json!({ "type": "pong" })).await;
    assert!(!bob.seen.iter().any(|f| f["type"] == "call.ended"), "Bob's call goes on: {:?}", bob.seen);
}

#[tokio::test]
async fn click_to_call_rings_the_user_then_dials_the_destination() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let created = world
        .post(
            "/v1/calls",
            Some(&world.account.clone()),
            json!({ "user": world.alice, "dial_string": "+15005550002" }),
        )
        .await;
    let call_id = created["id"].as_str().unwrap().to_owned();
    let incoming = alice.until(json!({ "type": "call.incoming" })).await;
    assert_eq!(incoming["call_id"], call_id.as_str());
    assert_eq!(incoming["from"], "+15005550002");
    assert_eq!(incoming["from_name"], "Click-to-call");
    let (_, _, peer) = alice.pick_up().await;
    peer.audio_flows().await;
    // The destination answers after the user: the log shows the far answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.call_log(&call_id).await["answered_at"].is_null() {
        assert!(tokio::time::Instant::now() < deadline, "destination never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alice.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    assert_eq!(world.finished_call_log(&call_id).await["status"], "completed");
    assert_eq!(
        world.events_of(&call_id).await,
        ["call.initiated", "call.ringing", "call.answered", "call.end"]
    );
}

#[tokio::test]
async fn click_to_call_without_a_live_device_ends_failed() {
    let world = World::start().await;
    let created = world
        .post(
            "/v1/calls",
            Some(&world.account.clone()),
            json!({ "user": world.bob, "dial_string": "+15005550002" }),
        )
        .await;
    let row = world.finished_call_log(created["id"].as_str().unwrap()).await;
    assert_eq!(row["status"], "failed");
}

#[tokio::test]
async fn a_test_helper_call_rings_the_user_and_the_simulated_caller_hangs_up_after_talking() {
    let world = World::start().await;
    let mut bob = world.client(&world.bob).await;
    let account = world.account.clone();
    let created = world
        .post(
            "/v1/test_helpers/calls",
            Some(&account),
            json!({ "user": world.bob, "from_number": "+16195550177", "from_name": "JANE ROE", "scenario": { "talk_seconds": 1 } }),
        )
        .await;
    assert_eq!(created["scenario"], "answered");
    let call_id = created["id"].as_str().unwrap().to_owned();
    let (answered_id, _, peer) = bob.pick_up().await;
    assert_eq!(answered_id, call_id);
    let incoming = bob.seen.iter().find(|f| f["type"] == "call.incoming").unwrap().clone();
    assert_eq!(
        (incoming["from"].as_str(), incoming["from_name"].as_str()),
        (Some("+16195550177"), Some("JANE ROE"))
    );
    peer.audio_flows().await;
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": call_id })).await["reason"], "hangup");
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["direction"].as_str(), row["status"].as_str()), (Some("inbound"), Some("completed")));
    assert_eq!(
        world.events_of(&call_id).await,
        ["call.incoming", "call.ringing", "call.answered", "call.end"]
    );
}

#[tokio::test]
async fn test_helper_scenarios_without_a_device_are_simulated_and_bad_input_is_refused() {
    let world = World::start().await;
    let account = world.account.clone();
    let busy = world
        .post(
            "/v1/test_helpers/calls",
            Some(&account),
            json!({ "user": world.alice, "scenario": { "outcome": "busy" } }),
        )
        .await;
    assert_eq!(busy["scenario"], "busy");
    assert_eq!(world.finished_call_log(busy["id"].as_str().unwrap()).await["status"], "busy");
    let answered = world
        .post(
            "/v1/test_helpers/calls",
            Some(&account),
            json!({ "user": world.alice, "scenario": { "outcome": "answered", "ring_seconds": 0, "talk_seconds": 0 } }),
        )
        .await;
    assert_eq!(world.finished_call_log(answered["id"].as_str().unwrap()).await["status"], "completed");
    let (status, body) = world
        .request(
            reqwest::Method::POST,
            "/v1/test_helpers/calls",
            Some(&account),
            Some(json!({ "user": world.alice, "from_number": "12" })),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_sandbox_phone_number")));
    let (status, _) = world
        .request(
            reqwest::Method::POST,
            "/v1/test_helpers/calls",
            Some(&account),
            Some(json!({ "user": "user_00000000000000000000000000" })),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn call_events_reach_the_platform_webhook_signed() {
    use std::sync::{Arc, Mutex};
    let world = World::start().await;
    type Deliveries = Arc<Mutex<Vec<(Option<String>, Value)>>>;
    let received: Deliveries = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let signature =
                    headers.get("x-dialstack-signature").and_then(|v| v.to_str().ok()).map(str::to_owned);
                sink.lock().unwrap().push((signature, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    world.post("/_ds/platform", None, json!({ "webhook_url": format!("http://{receiver}/hooks") })).await;

    let mut alice = world.client(&world.alice).await;
    let (busy, _peer) = dial(&mut alice, "+15005550003").await;
    alice.until(json!({ "type": "call.ended", "call_id": busy })).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let end = loop {
        let found = received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, e)| e["type"] == "call.end" && e["data"]["call_id"] == busy.as_str())
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(tokio::time::Instant::now() < deadline, "no call.end webhook");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (signature, envelope) = end;
    assert!(signature.is_some_and(|s| s.starts_with("t=") && s.contains(",v1=")));
    assert!(envelope["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(envelope["account_id"], world.account.as_str());
    let data = &envelope["data"];
    assert_eq!((data["status"].as_str(), data["direction"].as_str()), (Some("busy"), Some("outbound")));
    assert_eq!(
        (data["user_id"].as_str(), data["to_number"].as_str()),
        (Some(world.alice.as_str()), Some("+15005550003"))
    );
    assert_eq!(data["duration_seconds"], 0);
    server.abort();
}

/// The hub queues its CallLog writes rather than awaiting them (`cdr::Journal`): calls placed
/// back to back and hung up while their `call.initiated` may still be queued keep §5's frame
/// order (`call.trying` first, in request order; `call.ended` last), and each row is still
/// written before it ends: it finishes with exactly one `call.end`, its last event.
#[tokio::test]
async fn calls_hung_up_while_their_log_writes_are_queued_keep_frame_order_and_are_logged_once() {
    const CALLS: usize = 8;
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut req_ids = Vec::new();
    for _ in 0..CALLS {
        let (_peer, offer) = Peer::offerer();
        let req_id = alice.req_id();
        alice
            .send(json!({ "type": "call.create", "req_id": req_id, "destination": "+15005550004", "sdp": offer }))
            .await;
        req_ids.push(req_id);
    }
    let mut calls = Vec::new();
    for req_id in &req_ids {
        let trying = alice.until(json!({ "type": "call.trying", "req_id": req_id })).await;
        let call_id = trying["call_id"].as_str().unwrap().to_owned();
        alice.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
        calls.push(call_id);
    }
    for call_id in &calls {
        let ended = alice.until(json!({ "type": "call.ended", "call_id": call_id })).await;
        assert_eq!(ended["reason"], "hangup");
    }
    let tryings: Vec<&Value> =
        alice.seen.iter().filter(|f| f["type"] == "call.trying").map(|f| &f["req_id"]).collect();
    assert_eq!(tryings, req_ids.iter().map(|r| json!(r)).collect::<Vec<_>>().iter().collect::<Vec<_>>());
    for call_id in &calls {
        let frames = frame_types(&alice, call_id);
        assert_eq!(frames.first().map(String::as_str), Some("call.trying"), "{frames:?}");
        assert_eq!(frames.last().map(String::as_str), Some("call.ended"), "{frames:?}");
        assert!(frames.iter().all(|f| ["call.trying", "call.ringing", "call.ended"].contains(&f.as_str())));
        let row = world.finished_call_log(call_id).await;
        assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("no-answer"), Some(19)));
        let events = world.events_of(call_id).await;
        assert_eq!(events.first().map(String::as_str), Some("call.initiated"), "{events:?}");
        assert_eq!(events.last().map(String::as_str), Some("call.end"), "{events:?}");
        assert_eq!(events.iter().filter(|e| *e == "call.end").count(), 1, "{events:?}");
    }
}

/// A `call.create` whose socket drops before `call.trying` (its setup reads may still be
/// running in their own task) still becomes a call of that session: it survives the drop, is
/// restored to the next session, and hangs up and is logged like any other.
#[tokio::test]
async fn a_call_placed_just_before_its_socket_drops_is_restored_to_the_next_session() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (_peer, offer) = Peer::offerer();
    alice
        .send(json!({ "type": "call.create", "req_id": "req_drop", "destination": "+15005550004", "sdp": offer }))
        .await;
    alice.drop_socket();

    let mut again = Client::connect(world.addr).await;
    let reply = again.authenticate(&world.token(&world.alice).await).await;
    assert_eq!(reply["reconnected"], true, "{reply}");
    let restored = again.next().await.unwrap();
    assert_eq!(
        (restored["type"].as_str(), restored["direction"].as_str()),
        (Some("call.restored"), Some("outbound"))
    );
    assert_eq!(restored["to"], "+15005550004");
    let call_id = restored["call_id"].as_str().unwrap().to_owned();
    again.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    assert_eq!(again.until(json!({ "type": "call.ended", "call_id": call_id })).await["reason"], "hangup");
    assert_eq!(world.finished_call_log(&call_id).await["status"], "no-answer");
    let events = world.events_of(&call_id).await;
    assert_eq!(
        (events.first().map(String::as_str), events.last().map(String::as_str)),
        (Some("call.initiated"), Some("call.end")),
        "{events:?}"
    );
}

#[tokio::test]
async fn calls_read_right_after_their_frames_read_as_the_frames_say() {
    // The hub writes call logs through a queue; REST reads wait for it, so a client reading a
    // call as soon as `call.answered` or `call.ended` arrives never sees an older row, even with
    // a burst of calls' writes still queued.
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let (call_id, peer) = dial(&mut alice, "+15005550001").await;
    take_answer(&mut alice, &peer, &call_id).await;
    alice.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    assert!(!world.call_log(&call_id).await["answered_at"].is_null(), "answered in the log at once");

    // A burst: 30 calls to the silent number, each hung up as soon as it is trying.
    let mut peers = Vec::new();
    for n in 0..30 {
        let (peer, offer) = Peer::offerer();
        peers.push(peer);
        let frame = json!({ "type": "call.create", "req_id": format!("burst_{n}"), "destination": "+15005550004", "sdp": offer });
        alice.send(frame).await;
    }
    let mut burst = Vec::new();
    for n in 0..30 {
        let trying = alice.until(json!({ "type": "call.trying", "req_id": format!("burst_{n}") })).await;
        let id = trying["call_id"].as_str().unwrap().to_owned();
        alice.send(json!({ "type": "call.hangup", "call_id": id })).await;
        burst.push(id);
    }
    alice.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    for id in burst.iter().chain([&call_id]) {
        alice.until(json!({ "type": "call.ended", "call_id": id })).await;
    }
    // Read at once, newest first (the writes queued last).
    for id in [&call_id].into_iter().chain(burst.iter().rev()) {
        let row = world.call_log(id).await;
        assert!(!row["status"].is_null(), "ended in the log as soon as call.ended arrived: {row}");
    }
}
