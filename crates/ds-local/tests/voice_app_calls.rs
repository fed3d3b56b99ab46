//! Voice apps taking routed calls, end to end on 127.0.0.1: a tiny voice app (axum: a signed
//! webhook endpoint and a media WebSocket server) receives `call.received` / `call.notify`,
//! steers the call with `POST /v1/calls/{id}` from inside its webhook handler, and exchanges
//! μ-law 8 kHz audio with ds-local.

mod signalling_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ds_local::signalling::Timers;
use ds_media::{Recording, Source, tone_power};
use serde_json::{Value, json};
use signalling_support::{Client, KEY, World, test_timers};

const MAIN_NUMBER: &str = "+16175550142";
const APP: &str = "va_ai_receptionist";

/// What the voice app does when it receives `call.received`.
#[derive(Clone)]
enum Behaviour {
    /// Attach its media socket; the socket plays a 660 Hz greeting for a second, then hangs up.
    Attach,
    /// Transfer the call to this target (an extension number or an id).
    Transfer(String),
    /// Answer 500: the hand-over fails.
    Refuse,
}

#[derive(Clone)]
struct App {
    ds_local: String,
    account: String,
    behaviour: Behaviour,
    media_url: Arc<Mutex<String>>,
    webhooks: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Frames the media socket received from ds-local (JSON), in order.
    frames: Arc<Mutex<Vec<Value>>>,
}

async fn webhook(State(app): State<App>, headers: HeaderMap, body: String) -> StatusCode {
    app.webhooks.lock().unwrap().push((headers, body.clone()));
    let event: Value = serde_json::from_str(&body).unwrap();
    if event["event"] != "call.received" {
        return StatusCode::OK;
    }
    let call_id = event["call_id"].as_str().unwrap();
    let action = match &app.behaviour {
        Behaviour::Refuse => return StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Attach => json!({ "type": "attach", "url": app.media_url.lock().unwrap().clone() }),
        Behaviour::Transfer(target) => json!({ "type": "transfer", "target": target }),
    };
    // Like the reference example: act through REST before replying to the webhook.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/calls/{call_id}", app.ds_local))
        .bearer_auth(KEY)
        .header("DialStack-Account", &app.account)
        .json(&json!({ "actions": [action] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    StatusCode::OK
}

async fn media(State(app): State<App>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| talk(app, socket))
}

/// Reads ds-local's frames; after the first 25 audio frames, plays one second of 660 Hz in
/// 20 ms frames, keeps reading briefly, then closes (the app hangs up).
async fn talk(app: App, mut socket: WebSocket) {
    let greeting = Recording::of_source(&Source::Tone { freq_hz: 660.0 }, 1_000).to_mulaw();
    let mut audio_frames = 0;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await {
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        let is_audio = frame["event"] == "audio";
        app.frames.lock().unwrap().push(frame);
        if is_audio {
            audio_frames += 1;
        }
        if audio_frames == 25 {
            for chunk in greeting.chunks(160) {
                let audio = json!({ "event": "audio", "payload": BASE64.encode(chunk) });
                socket.send(Message::Text(audio.to_string().into())).await.unwrap();
            }
        }
        if audio_frames == 60 {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}

/// Starts the voice app on 127.0.0.1; returns it and its webhook URL.
async fn start_app(world: &World, behaviour: Behaviour) -> (App, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App {
        ds_local: world.base(),
        account: world.account.clone(),
        behaviour,
        media_url: Arc::new(Mutex::new(format!("ws://{addr}/media"))),
        webhooks: Arc::default(),
        frames: Arc::default(),
    };
    let router =
        axum::Router::new().route("/hook", post(webhook)).route("/media", get(media)).with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (app, format!("http://{addr}/hook"))
}

async fn world() -> World {
    World::start_with(Timers {
        routing_second: Duration::from_millis(40),
        voice_app_wait: Duration::from_secs(3),
        voice_app_reattach: Duration::from_millis(300),
        ..test_timers()
    })
    .await
}

/// Open around the clock, every day.
fn always_open() -> Option<Vec<Value>> {
    Some((0..=6).map(|day| json!({ "day": day, "start": "00:00", "end": "24:00" })).collect())
}

/// The seed's objects with their seed ids: the voice app (and, when given, `sch_business_hours`
/// with these weekly ranges, New York time) through `/_ds/fixtures`, the plan verbatim, the
/// number routed to it.
async fn seed(world: &World, hook: &str, business_hours: Option<Vec<Value>>) -> String {
    let mut objects = vec![json!({ "kind": "voice_app", "id": APP, "name": "AI receptionist", "url": hook })];
    if let Some(ranges) = business_hours {
        objects.push(json!({ "kind": "schedule", "id": "sch_business_hours", "name": "Business hours",
                             "timezone": "America/New_York", "ranges": ranges }));
    }
    let created =
        world.post("/_ds/fixtures", None, json!({ "account": world.account, "objects": objects })).await;
    assert_eq!(created["objects"][0]["id"], APP);
    let secret = created["objects"][0]["secret"].as_str().unwrap().to_owned();
    let plan = world
        .post(
            "/v1/dialplans",
            Some(&world.account),
            json!({ "name": "Main number", "entry_node": "hours", "nodes": [
                { "id": "hours", "type": "schedule",
                  "config": { "schedule_id": "sch_business_hours", "open": "ring_team", "closed": "ai_reception" } },
                { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
                { "id": "ai_reception", "type": "internal_dial", "config": { "target_id": APP } } ] }),
        )
        .await;
    let order = world
        .post("/v1/phone-number-orders", Some(&world.account), json!({ "phone_numbers": [MAIN_NUMBER] }))
        .await;
    assert_eq!(order["status"], "complete");
    let (_, numbers) =
        world.request(reqwest::Method::GET, "/v1/phone-numbers", Some(&world.account), None).await;
    let did = numbers["data"][0]["id"].as_str().unwrap().to_owned();
    world
        .post(
            &format!("/v1/phone-numbers/{did}/route"),
            Some(&world.account),
            json!({ "routing_target": plan["id"] }),
        )
        .await;
    secret
}

async fn call_main_number(world: &World, scenario: Value) -> String {
    let created = world
        .post(
            "/v1/test_helpers/calls",
            Some(&world.account),
            json!({ "to_number": MAIN_NUMBER, "from_number": "+16195550177", "from_name": "JANE ROE", "scenario": scenario }),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn outside_hours_the_voice_app_gets_a_signed_call_received_attaches_and_audio_flows_both_ways() {
    let world = world().await;
    let (app, hook) = start_app(&world, Behaviour::Attach).await;
    let secret = seed(&world, &hook, None).await;
    let call_id = call_main_number(&world, json!({ "talk_seconds": 30 })).await;

    // The app closes its socket after the greeting and never attaches again: after the
    // re-attach grace the hand-over has failed, and the seed's `ai_reception` has no fallback
    // (rest.md §14.4).
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("failed"), Some(21)), "{row}");
    assert!(!row["answered_at"].is_null() && row["connected_at"].is_null(), "no person answered: {row}");

    let (headers, body) = app.webhooks.lock().unwrap()[0].clone();
    let signature = headers["x-dialstack-signature"].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        ds_local::webhooks::verify_signature(&secret, signature, body.as_bytes(), now),
        "signed with the app's secret"
    );
    assert_eq!(headers["x-dialstack-account-id"], world.account.as_str());
    let received: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(received["event"], "call.received");
    assert_eq!(
        (received["call_id"].as_str(), received["call"]["id"].as_str()),
        (Some(call_id.as_str()), Some(call_id.as_str()))
    );
    assert_eq!(
        (received["voice_app_id"].as_str(), received["to_number"].as_str()),
        (Some(APP), Some(MAIN_NUMBER))
    );

    // ds-local → app: `begin`, then the caller's audio (its 440 Hz tone) in 160-byte frames.
    let frames = app.frames.lock().unwrap().clone();
    assert_eq!(frames[0]["event"], "begin");
    assert_eq!(
        frames[0]["audio_format"],
        json!({ "encoding": "audio/x-mulaw", "sample_rate": 8000, "channels": 1 })
    );
    assert_eq!(
        (frames[0]["call_id"].as_str(), frames[0]["voice_app_id"].as_str()),
        (Some(call_id.as_str()), Some(APP))
    );
    let audio: Vec<&Value> = frames.iter().filter(|f| f["event"] == "audio").collect();
    assert!(audio.len() >= 60, "{} audio frames", audio.len());
    assert_eq!((audio[0]["timestamp"].as_u64(), audio[1]["timestamp"].as_u64()), (Some(0), Some(20)));
    let caller: Vec<u8> =
        audio.iter().flat_map(|f| BASE64.decode(f["payload"].as_str().unwrap()).unwrap()).collect();
    assert_eq!(caller.len(), audio.len() * 160);
    let caller = Recording::from_mulaw(&caller);
    assert!(
        tone_power(&caller.samples, 440.0) > 20.0 * tone_power(&caller.samples, 660.0),
        "the caller's tone"
    );

    // App → ds-local: what the caller heard is the call's recording, announced and downloadable.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let recording = loop {
        let events = world.state.events().replay(&world.account, 0, 1000).await.unwrap();
        if let Some(event) = events.iter().find(|e| e.event_type == "recording.available") {
            break event.data.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no recording.available");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(recording["call_id"], call_id.as_str());
    let wav = reqwest::get(format!("{}{}", world.base(), recording["download_url"].as_str().unwrap()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let heard = Recording::from_wav(&wav).expect("a WAV");
    assert!(heard.duration_ms() >= 900, "{} ms", heard.duration_ms());
    assert!(
        tone_power(&heard.samples, 660.0) > 20.0 * tone_power(&heard.samples, 440.0),
        "the app's greeting"
    );
}

async fn ringing(client: &mut Client) -> (String, String) {
    let incoming = client.until(json!({ "type": "call.incoming" })).await;
    let call_id = incoming["call_id"].as_str().unwrap().to_owned();
    let offer = client.until(json!({ "type": "sdp.offer", "call_id": call_id })).await;
    (call_id, offer["sdp"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn inside_hours_nobody_answers_the_team_so_the_app_transfers_the_caller_to_bobs_extension() {
    let world = world().await;
    let (app, hook) = start_app(&world, Behaviour::Transfer("102".to_owned())).await;
    seed(&world, &hook, always_open()).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    let call_id = call_main_number(&world, json!({ "talk_seconds": 1 })).await;

    // The team rings for 25 routing seconds, unanswered.
    let (alice_leg, _) = ringing(&mut alice).await;
    let (first_bob_leg, _) = ringing(&mut bob).await;
    alice.until(json!({ "type": "call.ended", "call_id": alice_leg })).await;
    bob.until(json!({ "type": "call.ended", "call_id": first_bob_leg })).await;
    // Overflow: the app transfers to extension 102, Bob's phone rings again and he answers.
    let incoming = loop {
        let frame = bob.next().await.expect("bob's socket stays open");
        if frame["type"] == "call.incoming" && frame["call_id"] != first_bob_leg.as_str() {
            break frame;
        }
    };
    let (leg, peer) = bob.answer(&incoming).await;
    peer.audio_flows().await;
    bob.until(json!({ "type": "call.ended", "call_id": leg })).await;

    let row = world.finished_call_log(&call_id).await;
    assert_eq!(
        (row["status"].as_str(), row["user_id"].as_str()),
        (Some("completed"), Some(world.bob.as_str())),
        "{row}"
    );
    let events = world.events_of(&call_id).await;
    assert!(events.contains(&"call.transfer".to_owned()), "{events:?}");
    assert_eq!(app.webhooks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refusing_app_fails_the_hand_over_and_a_notify_node_moves_on_at_once() {
    let world = world().await;
    let (app, hook) = start_app(&world, Behaviour::Refuse).await;
    seed(&world, &hook, None).await;
    // The seed's `ai_reception` has no fallback: a refused hand-over hangs up failed.
    let call_id = call_main_number(&world, json!({})).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("failed"), Some(21)), "{row}");

    // Control of a finished call is a 409; of an unknown call a 404; bad actions 400/422.
    let control = |id: &str, body: Value| {
        let url = format!("/v1/calls/{id}");
        let world = &world;
        async move { world.request(reqwest::Method::POST, &url, Some(&world.account), Some(body)).await }
    };
    let (status, body) =
        control(&call_id, json!({ "actions": [{ "type": "attach", "url": "ws://127.0.0.1:9/x" }] })).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("call_not_active")), "{body}");
    let (status, _) = control("call_unknown", json!({ "actions": [] })).await;
    assert_eq!(status, 404);
    let (status, _) = control(&call_id, json!({ "actions": [{ "type": "dance" }] })).await;
    assert_eq!(status, 400);
    let (status, _) =
        control(&call_id, json!({ "actions": [{ "type": "attach", "url": "http://x" }] })).await;
    assert_eq!(status, 422);

    // A notify node: the app hears `call.notify` and the plan goes on to hang up.
    let plan = world
        .post(
            "/v1/dialplans",
            Some(&world.account),
            json!({ "name": "Notify", "entry_node": "tell", "nodes": [
                { "id": "tell", "type": "voice_app", "config": { "voice_app": APP, "mode": "notify", "next": "bye" } },
                { "id": "bye", "type": "hang_up" } ] }),
        )
        .await;
    let (_, numbers) =
        world.request(reqwest::Method::GET, "/v1/phone-numbers", Some(&world.account), None).await;
    let did = numbers["data"][0]["id"].as_str().unwrap();
    world
        .post(
            &format!("/v1/phone-numbers/{did}/route"),
            Some(&world.account),
            json!({ "routing_target": plan["id"] }),
        )
        .await;
    let notified = call_main_number(&world, json!({})).await;
    let row = world.finished_call_log(&notified).await;
    assert_eq!(row["status"], "no-answer", "{row}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let hooks = app.webhooks.lock().unwrap().clone();
        if let Some((_, body)) = hooks.iter().find(|(_, body)| body.contains("call.notify")) {
            assert!(body.contains(&notified));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no call.notify");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn voice_apps_are_created_read_updated_and_deleted_over_the_api() {
    let world = world().await;
    let account = world.account.clone();
    let created = world
        .post(
            "/v1/voice-apps",
            Some(&account),
            json!({ "name": "Receptionist", "url": "https://app.test/hook" }),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("va_"));
    assert_eq!(created["status"], "active");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let (_, read) =
        world.request(reqwest::Method::GET, &format!("/v1/voice-apps/{id}"), Some(&account), None).await;
    assert_eq!(read["secret"], created["secret"], "the secret reads back (rest.md §14.1)");
    let updated =
        world.post(&format!("/v1/voice-apps/{id}"), Some(&account), json!({ "status": "inactive" })).await;
    assert_eq!(updated["status"], "inactive");
    let (status, _) = world
        .request(reqwest::Method::POST, "/v1/voice-apps", Some(&account), Some(json!({ "name": "No url" })))
        .await;
    assert_eq!(status, 400);
    let (_, list) = world.request(reqwest::Method::GET, "/v1/voice-apps", Some(&account), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, _) =
        world.request(reqwest::Method::DELETE, &format!("/v1/voice-apps/{id}"), Some(&account), None).await;
    assert_eq!(status, 204);
    let (status, _) =
        world.request(reqwest::Method::GET, &format!("/v1/voice-apps/{id}"), Some(&account), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_frozen_test_clock_decides_the_seed_s_business_hours() {
    let world = world().await;
    let (app, hook) = start_app(&world, Behaviour::Refuse).await;
    let weekdays: Vec<Value> =
        (1..=5).map(|day| json!({ "day": day, "start": "09:00", "end": "17:00" })).collect();
    seed(&world, &hook, Some(weekdays)).await;
    let mut alice = world.client(&world.alice).await;

    // Tuesday 10:00 in New York: the team rings first.
    let clock = world.post("/_ds/clock", None, json!({ "now": "2026-09-15T14:00:00Z" })).await;
    assert_eq!(
        (clock["frozen"].as_bool(), clock["now"].as_str()),
        (Some(true), Some("2026-09-15T14:00:00Z"))
    );
    let inside = call_main_number(&world, json!({})).await;
    let (leg, _) = ringing(&mut alice).await;
    alice.until(json!({ "type": "call.ended", "call_id": leg })).await;
    assert_eq!(world.finished_call_log(&inside).await["status"], "failed");
    assert_eq!(app.webhooks.lock().unwrap().len(), 1, "the overflow reached the app after the team");

    // Tuesday 20:00 in New York: straight to the app, no phone rings.
    world.post("/_ds/clock", None, json!({ "now": "2026-09-16T00:00:00Z" })).await;
    let rang_before = alice.seen.iter().filter(|f| f["type"] == "call.incoming").count();
    let outside = call_main_number(&world, json!({})).await;
    assert_eq!(world.finished_call_log(&outside).await["status"], "failed");
    assert_eq!(app.webhooks.lock().unwrap().len(), 2);
    let (_, open) = alice.pings_within(Duration::from_millis(200)).await;
    assert!(open);
    assert_eq!(alice.seen.iter().filter(|f| f["type"] == "call.incoming").count(), rang_before);

    // Back to real time; bad input is refused.
    let released = world.post("/_ds/clock", None, json!({ "now": null })).await;
    assert_eq!(released["frozen"], false);
    let (status, _) =
        world.request(reqwest::Method::POST, "/_ds/clock", None, Some(json!({ "now": "tuesday" }))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn deleting_the_app_ends_its_media_session_with_end_deleted_and_the_hand_over_fails() {
    let world = world().await;
    let (app, hook) = start_app(&world, Behaviour::Attach).await;
    seed(&world, &hook, None).await;
    let call_id = call_main_number(&world, json!({ "talk_seconds": 30 })).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.frames.lock().unwrap().len() < 5 {
        assert!(tokio::time::Instant::now() < deadline, "the app never got audio");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _) = world
        .request(reqwest::Method::DELETE, &format!("/v1/voice-apps/{APP}"), Some(&world.account), None)
        .await;
    assert_eq!(status, 204);
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("failed"), Some(21)), "{row}");
    let frames = app.frames.lock().unwrap().clone();
    let last = frames.last().unwrap();
    assert_eq!((last["event"].as_str(), last["reason"].as_str()), (Some("end"), Some("deleted")), "{last}");
}
