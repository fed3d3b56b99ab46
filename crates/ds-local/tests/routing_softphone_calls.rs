//! A softphone dialling an extension whose target routes (a dial plan, a ring group, a voice
//! app) walks the same routing as an inbound PSTN call, end to end on 127.0.0.1: the caller is a
//! real str0m peer on a real signalling socket, and what it sends is what the member hears, what
//! the mailbox records and what the voice app receives.

mod signalling_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ds_local::signalling::Timers;
use ds_media::{Recording, Source, tone_power};
use serde_json::{Value, json};
use signalling_support::{Client, KEY, Peer, World, test_timers};

/// Routing seconds last 40 ms here.
async fn world() -> World {
    world_with(Duration::from_millis(40)).await
}

async fn world_with(routing_second: Duration) -> World {
    World::start_with(Timers {
        routing_second,
        voice_app_wait: Duration::from_secs(3),
        voice_app_reattach: Duration::from_millis(300),
        ..test_timers()
    })
    .await
}

async fn extension(world: &World, number: &str, target: &str) {
    world.post("/v1/extensions", Some(&world.account), json!({ "number": number, "target": target })).await;
}

/// Places `call.create` to `destination` from `client` with a fresh peer; returns the caller's
/// call id (after `call.trying`) and the peer.
async fn dial(client: &mut Client, destination: &str) -> (String, Peer) {
    let (peer, offer) = Peer::offerer();
    let req_id = client.req_id();
    client
        .send(json!({ "type": "call.create", "req_id": req_id, "destination": destination, "sdp": offer }))
        .await;
    let trying = client.next().await.expect("call.trying");
    assert_eq!(
        (trying["type"].as_str(), trying["req_id"].as_str()),
        (Some("call.trying"), Some(req_id.as_str()))
    );
    (trying["call_id"].as_str().unwrap().to_owned(), peer)
}

/// The network (or a member) answered the caller: its peer takes ds-local's answer.
async fn answered(client: &mut Client, peer: &Peer, call_id: &str) {
    let answer = client.until(json!({ "type": "sdp.answer", "call_id": call_id })).await;
    peer.accept_answer(answer["sdp"].as_str().unwrap());
    client.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    peer.audio_flows().await;
}

/// The routed call's CallLog row: the `internal` row of the account other than the caller's.
async fn routed_row(world: &World, caller_call: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) =
            world.request(reqwest::Method::GET, "/v1/calls?limit=100", Some(&world.account), None).await;
        if let Some(row) = list["data"].as_array().unwrap().iter().find(|row| {
            row["id"] != caller_call && row["direction"] == "internal" && !row["status"].is_null()
        }) {
            return row.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no finished routed row: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_softphone_dialling_an_extension_that_routes_to_a_mailbox_leaves_a_message_of_its_own_audio() {
    let world = world().await;
    // Extension 300 → a ring group of Alice, who has no phone online: on no answer the group's
    // timeout action is her voicemail.
    let group = world
        .post(
            "/v1/ring_groups",
            Some(&world.account),
            json!({ "name": "Alice or her mailbox", "timeout_seconds": 5,
                    "timeout_action": "voicemail", "timeout_target": world.alice }),
        )
        .await;
    world
        .post(
            &format!("/v1/ring_groups/{}/members", group["id"].as_str().unwrap()),
            Some(&world.account),
            json!({ "extension": world.alice }),
        )
        .await;
    extension(&world, "300", group["id"].as_str().unwrap()).await;
    let mut bob = world.client(&world.bob).await;

    let (call_id, peer) = dial(&mut bob, "300").await;
    answered(&mut bob, &peer, &call_id).await;
    // Bob speaks (his peer's 440 Hz tone) for a while, then hangs up: the message is complete.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bob.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    let ended = bob.until(json!({ "type": "call.ended", "call_id": call_id })).await;
    assert_eq!(ended["reason"], "hangup");

    let row = routed_row(&world, &call_id).await;
    assert_eq!(
        (row["status"].as_str(), row["to_number"].as_str()),
        (Some("voicemail"), Some("300")),
        "{row}"
    );
    assert_eq!(row["from_number"], "102", "the caller's extension: {row}");
    let routed_id = row["id"].as_str().unwrap().to_owned();

    // Listed with the call log inlined (`expand[]=call`), and by id both ways.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let list = loop {
        let (status, list) = world
            .request(
                reqwest::Method::GET,
                &format!("/v1/voicemails?owner={}&expand[]=call", world.alice),
                Some(&world.account),
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        if !list["data"].as_array().unwrap().is_empty() {
            break list;
        }
        assert!(tokio::time::Instant::now() < deadline, "no voicemail listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let voicemail = &list["data"][0];
    assert_eq!(voicemail["call"]["id"], routed_id.as_str(), "{voicemail}");
    assert_eq!(voicemail["call"]["status"], "voicemail");
    assert_eq!(voicemail["call"]["direction"], "internal");
    assert_eq!(voicemail["from_number"], "102");
    assert!(voicemail["duration_seconds"].as_i64().unwrap() >= 1, "{voicemail}");
    let id = voicemail["id"].as_str().unwrap();
    let (_, plain) = world
        .request(reqwest::Method::GET, &format!("/v1/voicemails/{id}"), Some(&world.account), None)
        .await;
    assert_eq!(plain["call"], routed_id.as_str(), "without expand, `call` is the id: {plain}");
    let (_, expanded) = world
        .request(
            reqwest::Method::GET,
            &format!("/v1/voicemails/{id}?expand[]=call"),
            Some(&world.account),
            None,
        )
        .await;
    assert_eq!(expanded["call"]["id"], routed_id.as_str(), "{expanded}");

    // The message is Bob's voice: the 440 Hz tone his browser sent, not silence.
    let wav = reqwest::get(voicemail["audio_url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    let message = Recording::from_wav(&wav).expect("a WAV");
    assert!(message.duration_ms() >= 1000, "{} ms", message.duration_ms());
    let loudest = message.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(loudest > 2000, "the message is not silent (peak {loudest})");
    assert!(
        tone_power(&message.samples, 440.0) > 20.0 * tone_power(&message.samples, 1000.0),
        "the caller's tone"
    );
}

#[tokio::test]
async fn a_softphone_dialling_a_ring_group_extension_rings_the_other_members_and_the_answer_bridges_them() {
    let world = world().await;
    front_desk(&world, &[&world.alice, &world.bob]).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    // Bob, a member himself, dials the group: Alice rings, Bob's own phone does not.
    let (call_id, bob_peer) = dial(&mut bob, "200").await;
    bob.until(json!({ "type": "call.ringing", "call_id": call_id })).await;
    let incoming = alice.until(json!({ "type": "call.incoming" })).await;
    assert_eq!((incoming["from"].as_str(), incoming["from_name"].as_str()), (Some("102"), Some("Bob Jones")));
    let leg = incoming["call_id"].as_str().unwrap().to_owned();
    let offer = alice.until(json!({ "type": "sdp.offer", "call_id": leg })).await;
    assert!(!bob.seen.iter().any(|f| f["type"] == "call.incoming"), "the caller never rings: {:?}", bob.seen);

    // Alice answers: both hear each other (bridged), then she hangs up and Bob's call ends.
    let (alice_peer, answer) = Peer::answerer(offer["sdp"].as_str().unwrap());
    alice.send(json!({ "type": "call.answer", "call_id": leg })).await;
    alice.send(json!({ "type": "sdp.answer", "call_id": leg, "sdp": answer })).await;
    alice.until(json!({ "type": "call.answered", "call_id": leg })).await;
    answered(&mut bob, &bob_peer, &call_id).await;
    alice_peer.audio_flows().await;
    let heard = alice_peer.packets_received();
    alice_peer.audio_flows_after(heard + 10).await;
    alice.send(json!({ "type": "call.hangup", "call_id": leg })).await;
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": call_id })).await["reason"], "hangup");

    let row = routed_row(&world, &call_id).await;
    assert_eq!(
        (row["status"].as_str(), row["user_id"].as_str(), row["to_number"].as_str()),
        (Some("completed"), Some(world.alice.as_str()), Some("200")),
        "{row}"
    );
    let caller_row = world.finished_call_log(&call_id).await;
    assert_eq!(
        (caller_row["status"].as_str(), caller_row["user_id"].as_str()),
        (Some("completed"), Some(world.bob.as_str()))
    );
}

#[tokio::test]
async fn a_softphone_dialling_a_menu_extension_picks_an_option_with_its_keypad() {
    // Routing seconds of 200 ms: the menu waits 33 of them (6.6 s) for a key.
    let world = world_with(Duration::from_millis(200)).await;
    let plan = world
        .post(
            "/v1/dialplans",
            Some(&world.account),
            json!({ "name": "Menu", "entry_node": "menu", "nodes": [
                { "id": "menu", "type": "menu", "config": { "prompt_clip": "clip_ds_menu", "timeout": 30,
                  "options": [{ "digit": "1", "next_node": "desk" }], "timeout_next_node": "bye" } },
                { "id": "desk", "type": "internal_dial", "config": { "target": world.alice, "timeout": 30, "next": "bye" } },
                { "id": "bye", "type": "hang_up", "config": {} } ] }),
        )
        .await;
    extension(&world, "500", plan["id"].as_str().unwrap()).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    // The menu answers Bob; his keypad's 1 (RFC 4733) rings Alice.
    let (call_id, peer) = dial(&mut bob, "500").await;
    answered(&mut bob, &peer, &call_id).await;
    peer.press(1);
    let incoming = alice.until(json!({ "type": "call.incoming" })).await;
    let leg = incoming["call_id"].as_str().unwrap().to_owned();
    let offer = alice.until(json!({ "type": "sdp.offer", "call_id": leg })).await;
    let (alice_peer, answer) = Peer::answerer(offer["sdp"].as_str().unwrap());
    alice.send(json!({ "type": "call.answer", "call_id": leg })).await;
    alice.send(json!({ "type": "sdp.answer", "call_id": leg, "sdp": answer })).await;
    alice.until(json!({ "type": "call.answered", "call_id": leg })).await;
    alice_peer.audio_flows().await;
    // Bob hangs up: Alice's leg ends too.
    bob.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    alice.until(json!({ "type": "call.ended", "call_id": leg })).await;

    let row = routed_row(&world, &call_id).await;
    assert_eq!(
        (row["status"].as_str(), row["user_id"].as_str()),
        (Some("completed"), Some(world.alice.as_str())),
        "{row}"
    );
    // The key is logged on the caller's own row (protocol.md §11.5 `dtmf_digits`).
    let caller_row = world.finished_call_log(&call_id).await;
    assert_eq!(caller_row["dtmf_digits"], "1", "{caller_row}");
}

/// A voice app that attaches on `call.received` and keeps every frame its media socket gets.
#[derive(Clone)]
struct App {
    ds_local: String,
    account: String,
    media_url: String,
    received: Arc<Mutex<Vec<Value>>>,
    frames: Arc<Mutex<Vec<Value>>>,
    /// How long the app's greeting (660 Hz) lasts; 0: the app only listens.
    greeting_ms: u32,
    /// The app hangs up (closes its socket) after this many audio frames from ds-local.
    hangs_up_after: Option<usize>,
}

/// The pitch of the app's greeting.
const GREETING_HZ: f32 = 660.0;

async fn app_webhook(State(app): State<App>, body: String) -> StatusCode {
    let event: Value = serde_json::from_str(&body).unwrap();
    app.received.lock().unwrap().push(event.clone());
    if event["event"] != "call.received" {
        return StatusCode::OK;
    }
    let call_id = event["call_id"].as_str().unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/calls/{call_id}", app.ds_local))
        .bearer_auth(KEY)
        .header("DialStack-Account", &app.account)
        .json(&json!({ "actions": [{ "type": "attach", "url": app.media_url }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    StatusCode::OK
}

async fn app_media(State(app): State<App>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| listen(app, socket))
}

async fn listen(app: App, mut socket: WebSocket) {
    let greeting = Recording::of_source(&Source::Tone { freq_hz: GREETING_HZ }, app.greeting_ms).to_mulaw();
    let mut audio_frames = 0;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(15), socket.recv()).await {
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        if frame["event"] == "audio" {
            audio_frames += 1;
        }
        app.frames.lock().unwrap().push(frame);
        if audio_frames == 1 {
            // All at once, in 50 ms payloads: ds-local queues it and plays it in real time.
            for chunk in greeting.chunks(400) {
                let audio = json!({ "event": "audio", "payload": BASE64.encode(chunk) });
                socket.send(Message::Text(audio.to_string().into())).await.unwrap();
            }
        }
        if Some(audio_frames) == app.hangs_up_after {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}

/// Starts a voice app on 127.0.0.1 and points extension `number` at it.
async fn start_app(world: &World, number: &str, greeting_ms: u32, hangs_up_after: Option<usize>) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App {
        ds_local: world.base(),
        account: world.account.clone(),
        media_url: format!("ws://{addr}/media"),
        received: Arc::default(),
        frames: Arc::default(),
        greeting_ms,
        hangs_up_after,
    };
    let router = axum::Router::new()
        .route("/hook", post(app_webhook))
        .route("/media", get(app_media))
        .with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let voice_app = world
        .post(
            "/v1/voice-apps",
            Some(&world.account),
            json!({ "name": "Receptionist", "url": format!("http://{addr}/hook") }),
        )
        .await;
    extension(world, number, voice_app["id"].as_str().unwrap()).await;
    app
}

/// The strongest power of `freq` over half-second windows of 8 kHz PCM.
fn peak_tone_power(samples: &[i16], freq: f32) -> f32 {
    (0..samples.len().saturating_sub(4_000))
        .step_by(400)
        .map(|start| tone_power(&samples[start..start + 4_000], freq))
        .fold(0.0, f32::max)
}

#[tokio::test]
async fn a_softphone_caller_hears_the_voice_app_and_the_app_hears_it_until_the_app_hangs_up() {
    let world = world().await;
    // 1.5 s of greeting; three seconds in, the app hangs up.
    let app = start_app(&world, "401", 1_500, Some(150)).await;
    let mut bob = world.client(&world.bob).await;

    let (call_id, peer) = dial(&mut bob, "401").await;
    answered(&mut bob, &peer, &call_id).await;
    // The app greets, listens for three seconds and closes its socket: after the re-attach
    // grace the hand-over has failed and the caller's call ends.
    let ended = bob.until(json!({ "type": "call.ended", "call_id": call_id })).await;
    assert_eq!(ended["call_id"], call_id.as_str(), "{ended}");

    // What Bob's browser decoded carries the app's greeting, not his own voice.
    let heard = peer.heard();
    let greeting = peak_tone_power(&heard, GREETING_HZ);
    assert!(greeting > 0.01, "the caller heard the app's 660 Hz at power {greeting}");
    assert!(greeting > 20.0 * peak_tone_power(&heard, 440.0), "not the caller's own 440 Hz");

    // The app heard Bob's 440 Hz, frame by frame.
    let frames = app.frames.lock().unwrap().clone();
    assert_eq!(frames[0]["event"], "begin");
    let audio: Vec<u8> = frames
        .iter()
        .filter(|f| f["event"] == "audio")
        .flat_map(|f| BASE64.decode(f["payload"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(audio.len(), 150 * 160, "20 ms frames of 160 bytes");
    let caller = Recording::from_mulaw(&audio);
    let voice = peak_tone_power(&caller.samples, 440.0);
    assert!(voice > 0.01, "the app heard the caller's 440 Hz at power {voice}");
    assert!(voice > 20.0 * peak_tone_power(&caller.samples, GREETING_HZ), "no echo of its own greeting");

    // The routed call was handed over and failed when the app left for good.
    let routed_id = app.received.lock().unwrap()[0]["call_id"].as_str().unwrap().to_owned();
    let row = world.finished_call_log(&routed_id).await;
    assert_eq!(row["status"], "failed", "{row}");
}

#[tokio::test]
async fn a_softphone_dialling_a_voice_app_extension_is_attached_and_the_app_hears_its_audio_and_keys() {
    let world = world().await;
    let app = start_app(&world, "400", 0, None).await;
    let mut bob = world.client(&world.bob).await;

    let (call_id, peer) = dial(&mut bob, "400").await;
    answered(&mut bob, &peer, &call_id).await;
    // The app gets `call.received` for the routed call, attaches and hears Bob's tone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.frames.lock().unwrap().iter().filter(|f| f["event"] == "audio").count() < 75 {
        assert!(tokio::time::Instant::now() < deadline, "the app never heard the caller");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Keys travel out of band to the attached app, one `dtmf` frame each.
    for (key, count) in [(5, 1), (11, 2)] {
        // An RFC 4733 event lasts 100 ms: the next key comes after it, as a finger would.
        tokio::time::sleep(Duration::from_millis(300)).await;
        peer.press(key);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while app.frames.lock().unwrap().iter().filter(|f| f["event"] == "dtmf").count() < count {
            assert!(tokio::time::Instant::now() < deadline, "the app never got key {key}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    bob.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    bob.until(json!({ "type": "call.ended", "call_id": call_id })).await;

    let received = app.received.lock().unwrap()[0].clone();
    assert_eq!(
        (received["event"].as_str(), received["from_number"].as_str(), received["to_number"].as_str()),
        (Some("call.received"), Some("102"), Some("400"))
    );
    let routed_id = received["call_id"].as_str().unwrap().to_owned();
    let row = world.finished_call_log(&routed_id).await;
    assert_eq!(
        (row["status"].as_str(), row["direction"].as_str()),
        (Some("completed"), Some("internal")),
        "{row}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !app.frames.lock().unwrap().iter().any(|f| f["event"] == "end") {
        assert!(tokio::time::Instant::now() < deadline, "no `end` after the caller hung up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let frames = app.frames.lock().unwrap().clone();
    assert_eq!(
        (frames[0]["event"].as_str(), frames[0]["call_id"].as_str()),
        (Some("begin"), Some(routed_id.as_str()))
    );
    let keys: Vec<&str> =
        frames.iter().filter(|f| f["event"] == "dtmf").map(|f| f["digit"].as_str().unwrap()).collect();
    assert_eq!(keys, ["5", "#"]);
    assert!(frames.iter().filter(|f| f["event"] == "dtmf").all(|f| f["timestamp"].is_u64()));
    assert_eq!(frames.last().unwrap()["reason"], "call_ended");
    let audio: Vec<u8> = frames
        .iter()
        .filter(|f| f["event"] == "audio")
        .flat_map(|f| BASE64.decode(f["payload"].as_str().unwrap()).unwrap())
        .collect();
    let heard = Recording::from_mulaw(&audio);
    assert!(
        tone_power(&heard.samples, 440.0) > 20.0 * tone_power(&heard.samples, 1000.0),
        "the app hears the caller's tone"
    );
}

/// Waits until what `peer` heard after sample `from` carries the app's greeting.
async fn hears_the_greeting(peer: &Peer, from: usize) {
    hears_tone(peer, from, GREETING_HZ, 0.01).await;
}

#[tokio::test]
async fn a_softphone_caller_that_holds_and_resumes_hears_the_voice_app_again() {
    let world = world().await;
    let app = start_app(&world, "402", 6_000, None).await;
    let mut bob = world.client(&world.bob).await;

    let (call_id, peer) = dial(&mut bob, "402").await;
    answered(&mut bob, &peer, &call_id).await;
    hears_the_greeting(&peer, 0).await;
    bob.send(json!({ "type": "call.hold", "call_id": call_id })).await;
    bob.until(json!({ "type": "call.held", "call_id": call_id })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.send(json!({ "type": "call.resume", "call_id": call_id })).await;
    bob.until(json!({ "type": "call.resumed", "call_id": call_id })).await;
    // Back from hold, the greeting (still playing: it lasts six seconds) is heard again.
    hears_the_greeting(&peer, peer.heard().len()).await;
    assert!(app.frames.lock().unwrap().iter().all(|f| f["event"] != "end"), "the session stayed open");

    bob.send(json!({ "type": "call.hangup", "call_id": call_id })).await;
    bob.until(json!({ "type": "call.ended", "call_id": call_id })).await;
}

#[tokio::test]
async fn call_control_takes_the_platform_key_and_refuses_account_sessions_and_user_tokens() {
    let world = world().await;
    let session = world
        .post(
            "/v1/account_sessions",
            None,
            json!({ "account": world.account, "components": { "call_history": { "enabled": true } } }),
        )
        .await["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = world.token(&world.bob).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/calls/call_unknown", world.base());
    for (name, bearer) in [("account session", &session), ("user token", &user)] {
        let reply =
            client.post(&url).bearer_auth(bearer).json(&json!({ "actions": [] })).send().await.unwrap();
        assert_eq!(reply.status(), 403, "{name}");
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["code"], "platform_key_required", "{name}: {body}");
    }
    // The platform key with the account header reaches the handler (an unknown call: 404).
    let (status, _) = world
        .request(
            reqwest::Method::POST,
            "/v1/calls/call_unknown",
            Some(&world.account),
            Some(json!({ "actions": [] })),
        )
        .await;
    assert_eq!(status, 404);
}

/// A call-log row's status, answering user, to and from numbers and direction, in that order.
fn row_parties(row: &Value) -> [Option<&str>; 5] {
    ["status", "user_id", "to_number", "from_number", "direction"].map(|field| row[field].as_str())
}

/// The "Front desk" ring group of `members` behind extension 200; returns its id.
async fn front_desk(world: &World, members: &[&String]) -> String {
    let group = world.front_desk(members).await;
    extension(world, "200", &group).await;
    group
}

#[tokio::test]
async fn a_blind_transfer_of_an_outside_caller_to_a_ring_group_extension_rings_its_members_afresh() {
    let world = world().await;
    front_desk(&world, &[&world.bob]).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    // A simulated outside caller rings Alice, the receptionist, who answers.
    let created = world
        .post(
            "/v1/test_helpers/calls",
            Some(&world.account),
            json!({ "user": world.alice, "from_number": "+16195550177", "from_name": "JANE ROE" }),
        )
        .await;
    let alice_call = created["id"].as_str().unwrap().to_owned();
    let (answered_id, _, alice_peer) = alice.pick_up().await;
    assert_eq!(answered_id, alice_call);
    alice_peer.audio_flows().await;

    // She blind-transfers the caller to the front desk's extension: her call ends transferred.
    alice.send(json!({ "type": "call.transfer", "call_id": alice_call, "destination": "200" })).await;
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"],
        "transferred"
    );

    // Bob, the group's member, rings with the caller's identity, answers and hears the caller.
    let (bob_call, incoming, bob_peer) = bob.pick_up().await;
    assert_eq!(
        (incoming["from"].as_str(), incoming["from_name"].as_str()),
        (Some("+16195550177"), Some("JANE ROE")),
        "{incoming}"
    );
    hears_440(&bob_peer, 0).await;

    // The transfer is published on Alice's call and names the routed call now carrying the caller.
    let events = world.state.events().replay(&world.account, 0, 1000).await.unwrap();
    let transfer = events
        .iter()
        .find(|e| e.event_type == "call.transfer" && e.data["call_id"] == alice_call.as_str())
        .expect("a call.transfer event");
    assert_eq!(
        (transfer.data["transfer_type"].as_str(), transfer.data["transferred_to"].as_str()),
        (Some("blind"), Some("200")),
        "{:?}",
        transfer.data
    );
    let routed_id = transfer.data["related_call_id"].as_str().expect("related_call_id").to_owned();
    assert_eq!(world.finished_call_log(&alice_call).await["status"], "completed");

    // Bob hangs up: the routed call's row is completed, answered by Bob, to extension 200.
    bob.send(json!({ "type": "call.hangup", "call_id": bob_call })).await;
    bob.until(json!({ "type": "call.ended", "call_id": bob_call })).await;
    let row = world.finished_call_log(&routed_id).await;
    assert_eq!(
        row_parties(&row),
        [Some("completed"), Some(world.bob.as_str()), Some("200"), Some("+16195550177"), Some("inbound")],
        "{row}"
    );
}

#[tokio::test]
async fn a_blind_transfer_of_another_users_leg_to_a_ring_group_extension_rings_the_group_and_bridges_them() {
    let world = world().await;
    let carol = world
        .post("/v1/users", Some(&world.account), json!({ "name": "Carol White", "extension": "103" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    front_desk(&world, &[&carol]).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    let mut carol_phone = world.client(&carol).await;

    // Bob calls Alice (extension 101), she answers, then holds him.
    let (bob_call, bob_peer) = dial(&mut bob, "101").await;
    let (alice_call, _, alice_peer) = alice.pick_up().await;
    answered(&mut bob, &bob_peer, &bob_call).await;
    alice_peer.audio_flows().await;
    alice.send(json!({ "type": "call.hold", "call_id": alice_call })).await;
    bob.until(json!({ "type": "call.held", "call_id": bob_call })).await;

    // Alice hands Bob to the front desk: her call ends transferred; Bob's call stays up, no
    // longer held, and Carol, the group's member, rings with Bob's identity.
    alice.send(json!({ "type": "call.transfer", "call_id": alice_call, "destination": "200" })).await;
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": alice_call })).await["reason"],
        "transferred"
    );
    bob.until(json!({ "type": "call.resumed", "call_id": bob_call })).await;
    let ringing_mark = bob_peer.heard().len();
    let incoming = carol_phone.until(json!({ "type": "call.incoming" })).await;
    assert_eq!(
        (incoming["from"].as_str(), incoming["from_name"].as_str()),
        (Some("102"), Some("Bob Jones")),
        "{incoming}"
    );
    // Bob's call is already up, so his browser plays no ringback: ds-local plays it on his leg
    // while the group rings (440 + 480 Hz at half a tone's level each; the peers' own tone is
    // 440 Hz only).
    hears_tone(&bob_peer, ringing_mark, 480.0, RINGBACK_POWER).await;
    let carol_call = incoming["call_id"].as_str().unwrap().to_owned();
    let offer = carol_phone.until(json!({ "type": "sdp.offer", "call_id": carol_call })).await;
    let (carol_peer, answer) = Peer::answerer(offer["sdp"].as_str().unwrap());
    carol_phone.send(json!({ "type": "call.answer", "call_id": carol_call })).await;
    carol_phone.send(json!({ "type": "sdp.answer", "call_id": carol_call, "sdp": answer })).await;
    carol_phone.until(json!({ "type": "call.answered", "call_id": carol_call })).await;

    // Carol and Bob are bridged: each hears the other's peer (its 440 Hz tone), and Bob's
    // ringback has stopped.
    hears_440(&carol_peer, 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bob_mark = bob_peer.heard().len();
    hears_440(&bob_peer, bob_mark).await;
    let bridged = bob_peer.heard();
    assert!(
        peak_tone_power(&bridged[bob_mark.min(bridged.len())..], 480.0) < RINGBACK_POWER,
        "Bob still hears ringback after Carol answered"
    );
    assert!(!bob.seen.iter().any(|f| f["type"] == "call.ended"), "Bob's call stays: {:?}", bob.seen);

    let events = world.state.events().replay(&world.account, 0, 1000).await.unwrap();
    let transfer = events
        .iter()
        .find(|e| e.event_type == "call.transfer" && e.data["call_id"] == alice_call.as_str())
        .expect("a call.transfer event");
    assert_eq!(transfer.data["transfer_type"], "blind", "{:?}", transfer.data);
    let routed_id = transfer.data["related_call_id"].as_str().expect("related_call_id").to_owned();

    // Carol hangs up: Bob's call ends, and the routed row is Carol's completed call from Bob.
    carol_phone.send(json!({ "type": "call.hangup", "call_id": carol_call })).await;
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": bob_call })).await["reason"], "hangup");
    let row = world.finished_call_log(&routed_id).await;
    assert_eq!(
        row_parties(&row),
        [Some("completed"), Some(carol.as_str()), Some("200"), Some("102"), Some("internal")],
        "{row}"
    );
}

/// Goertzel power above which ringback's 480 Hz component counts as heard (it measures ~0.0056;
/// a peer's 440 Hz tone alone leaves far less in the 480 Hz bin).
const RINGBACK_POWER: f32 = 0.002;

/// Waits until `peer` hears another peer's 440 Hz tone in what it heard after `from` samples.
async fn hears_440(peer: &Peer, from: usize) {
    hears_tone(peer, from, 440.0, 0.01).await;
}

/// Waits until `peer` hears `freq` at `power` or more in what it heard after `from` samples.
async fn hears_tone(peer: &Peer, from: usize, freq: f32, power: f32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let heard = peer.heard();
        if peak_tone_power(&heard[from.min(heard.len())..], freq) > power {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {freq} Hz heard after sample {from} (peak power {}, 440 Hz {})",
            peak_tone_power(&heard[from.min(heard.len())..], freq),
            peak_tone_power(&heard[from.min(heard.len())..], 440.0)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
