//! Inbound PSTN calls through routing, end to end: numbers ordered over the API, the seed's dial
//! plan created verbatim, `POST /v1/test_helpers/calls` to the number, and softphones on real
//! signalling sockets (127.0.0.1) with real str0m media peers deciding the outcome.

mod signalling_support;

use std::time::Duration;

use ds_local::signalling::Timers;
use serde_json::{Value, json};
use signalling_support::{Client, Peer, World, test_timers};

const MAIN_NUMBER: &str = "+16175550142";
const CALLER: &str = "+16195550177";

/// Routing seconds last 40 ms here: the seed's 25 s team ring takes one second.
async fn world() -> World {
    World::start_with(Timers { routing_second: Duration::from_millis(40), ..test_timers() }).await
}

/// Orders `number` for the account; returns the DID id.
async fn order_number(world: &World, number: &str) -> String {
    let order = world
        .post("/v1/phone-number-orders", Some(&world.account), json!({ "phone_numbers": [number] }))
        .await;
    assert_eq!(order["status"], "complete", "{order}");
    assert_eq!(order["completed_numbers"], json!([number]));
    let (status, numbers) =
        world.request(reqwest::Method::GET, "/v1/phone-numbers", Some(&world.account), None).await;
    assert_eq!(status, 200);
    numbers["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|did| did["phone_number"] == number)
        .map(|did| did["id"].as_str().unwrap().to_owned())
        .expect("the ordered number is listed")
}

async fn route_number(world: &World, did: &str, body: Value) {
    world.post(&format!("/v1/phone-numbers/{did}/route"), Some(&world.account), body).await;
}

/// A schedule open around the clock, every day: the test clock is always "inside hours".
async fn always_open_schedule(world: &World) -> String {
    let ranges: Vec<Value> =
        (0..=6).map(|day| json!({ "day": day, "start": "00:00", "end": "24:00" })).collect();
    let schedule = world
        .post(
            "/v1/schedules",
            Some(&world.account),
            json!({ "name": "Always open", "timezone": "America/New_York", "ranges": ranges }),
        )
        .await;
    schedule["id"].as_str().unwrap().to_owned()
}

/// The seed's plan (docs: "Advanced example: dial plan with AI overflow"), verbatim apart
/// from the schedule id.
fn seed_plan(schedule_id: &str) -> Value {
    json!({ "name": "Main number", "entry_node": "hours", "nodes": [
        { "id": "hours", "type": "schedule",
          "config": { "schedule_id": schedule_id, "open": "ring_team", "closed": "ai_reception" } },
        { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
        { "id": "ai_reception", "type": "internal_dial", "config": { "target_id": "va_ai_receptionist" } } ] })
}

async fn create_plan(world: &World, plan: Value) -> String {
    world.post("/v1/dialplans", Some(&world.account), plan).await["id"].as_str().unwrap().to_owned()
}

/// Places the simulated PSTN call to `number`; returns the routed call's id.
async fn call_number(world: &World, number: &str, scenario: Value) -> String {
    let created = world
        .post(
            "/v1/test_helpers/calls",
            Some(&world.account),
            json!({ "to_number": number, "from_number": CALLER, "from_name": "JANE ROE", "scenario": scenario }),
        )
        .await;
    assert_eq!(created["scenario"], "routed", "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Waits for `call.incoming` on `client`; returns the leg's call id and ds-local's offer.
async fn ringing(client: &mut Client) -> (String, String) {
    let incoming = client.until(json!({ "type": "call.incoming" })).await;
    assert_eq!((incoming["from"].as_str(), incoming["from_name"].as_str()), (Some(CALLER), Some("JANE ROE")));
    let call_id = incoming["call_id"].as_str().unwrap().to_owned();
    let offer = client.until(json!({ "type": "sdp.offer", "call_id": call_id })).await;
    (call_id, offer["sdp"].as_str().unwrap().to_owned())
}

async fn answer(client: &mut Client, call_id: &str, offer: &str) -> Peer {
    let (peer, answer) = Peer::answerer(offer);
    client.send(json!({ "type": "call.answer", "call_id": call_id })).await;
    client.send(json!({ "type": "sdp.answer", "call_id": call_id, "sdp": answer })).await;
    client.until(json!({ "type": "call.answered", "call_id": call_id })).await;
    peer
}

#[tokio::test]
async fn the_seed_plan_inside_hours_rings_alice_and_bob_and_the_first_answer_wins() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let schedule = always_open_schedule(&world).await;
    let plan = create_plan(&world, seed_plan(&schedule)).await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    let call_id = call_number(&world, MAIN_NUMBER, json!({ "talk_seconds": 1 })).await;
    let (alice_leg, _) = ringing(&mut alice).await;
    let (bob_leg, bob_offer) = ringing(&mut bob).await;
    let peer = answer(&mut bob, &bob_leg, &bob_offer).await;
    // Alice's phone stops ringing; Bob hears the caller and the caller hangs up after 1 s.
    let stopped = alice.until(json!({ "type": "call.ended", "call_id": alice_leg })).await;
    assert_eq!(stopped["reason"], "hangup");
    peer.audio_flows().await;
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": bob_leg })).await["reason"], "hangup");

    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert_eq!(row["direction"], "inbound");
    assert_eq!(row["user_id"], world.bob.as_str(), "the row names who answered: {row}");
    assert!(row["did"].to_string().contains(&did), "{row}");
    assert!(!row["connected_at"].is_null(), "{row}");
    let mut events = world.events_of(&call_id).await;
    events.sort();
    assert_eq!(events, ["call.answered", "call.end", "call.incoming", "call.ringing", "call.ringing"]);
}

#[tokio::test]
async fn unanswered_inside_hours_the_team_rings_25_routing_seconds_then_the_call_overflows_to_the_voice_app()
{
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let schedule = always_open_schedule(&world).await;
    let plan = create_plan(&world, seed_plan(&schedule)).await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    let started = tokio::time::Instant::now();
    let call_id = call_number(&world, MAIN_NUMBER, json!({})).await;
    let (alice_leg, _) = ringing(&mut alice).await;
    let (bob_leg, _) = ringing(&mut bob).await;
    // Nobody answers: after the node's 25 routing seconds both phones stop ringing.
    assert_eq!(
        alice.until(json!({ "type": "call.ended", "call_id": alice_leg })).await["reason"],
        "no-answer"
    );
    assert_eq!(bob.until(json!({ "type": "call.ended", "call_id": bob_leg })).await["reason"], "no-answer");
    assert!(started.elapsed() >= Duration::from_millis(25 * 40), "the team rang for the node's timeout");
    // No voice app `va_ai_receptionist` takes calls here, and `ai_reception` has no `next`: the
    // hand-over fails and the call hangs up (rest.md §9.6).
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("failed"), Some(21)), "{row}");
    assert!(row["user_id"].is_null(), "{row}");
}

#[tokio::test]
async fn outside_hours_the_seed_plan_skips_the_team_and_no_phone_rings() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    // The seed names `sch_business_hours`, which this account does not have: a missing
    // schedule counts as closed (docs/decisions.md, routing).
    let plan = create_plan(&world, seed_plan("sch_business_hours")).await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;

    let call_id = call_number(&world, MAIN_NUMBER, json!({})).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "failed", "{row}");
    let (pings, open) = alice.pings_within(Duration::from_millis(300)).await;
    let _ = pings;
    assert!(open);
    assert!(!alice.seen.iter().any(|frame| frame["type"] == "call.incoming"), "{:?}", alice.seen);
    assert_eq!(world.events_of(&call_id).await, ["call.incoming", "call.end"]);
}

#[tokio::test]
async fn a_ring_group_where_everyone_declines_busy_takes_next_and_the_hang_up_node_ends_the_call() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let group = world.front_desk(&[&world.alice, &world.bob]).await;
    let plan = create_plan(
        &world,
        json!({ "name": "Desk", "entry_node": "desk", "nodes": [
            { "id": "desk", "type": "internal_dial", "config": { "target": group, "timeout": 15, "next": "bye" } },
            { "id": "bye", "type": "hang_up", "config": {} } ] }),
    )
    .await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;

    let call_id = call_number(&world, MAIN_NUMBER, json!({})).await;
    let (alice_leg, _) = ringing(&mut alice).await;
    let (bob_leg, _) = ringing(&mut bob).await;
    alice.send(json!({ "type": "call.reject", "call_id": alice_leg, "reason": "busy" })).await;
    alice.until(json!({ "type": "call.ended", "call_id": alice_leg })).await;
    // Bob still rings after Alice declined; then he declines too.
    assert!(!bob.seen.iter().any(|f| f["type"] == "call.ended"), "{:?}", bob.seen);
    bob.send(json!({ "type": "call.reject", "call_id": bob_leg, "reason": "busy" })).await;
    bob.until(json!({ "type": "call.ended", "call_id": bob_leg })).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("busy"), Some(16)), "{row}");
}

#[tokio::test]
async fn a_number_routed_to_a_user_goes_to_voicemail_on_no_answer_and_the_message_is_listed_and_downloadable()
{
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    route_number(&world, &did, json!({ "routing_target": world.alice })).await;
    let mut alice = world.client(&world.alice).await;

    let call_id = call_number(&world, MAIN_NUMBER, json!({ "voicemail_seconds": 2 })).await;
    let (alice_leg, _) = ringing(&mut alice).await;
    alice.until(json!({ "type": "call.ended", "call_id": alice_leg })).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "voicemail", "{row}");
    assert!(!row["answered_at"].is_null() && row["connected_at"].is_null(), "{row}");

    let (status, list) = world
        .request(
            reqwest::Method::GET,
            &format!("/v1/voicemails?owner={}", world.alice),
            Some(&world.account),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let voicemail = list["data"][0].clone();
    assert_eq!(voicemail["owner"], world.alice.as_str());
    assert_eq!(voicemail["call"], call_id.as_str());
    assert_eq!(
        (voicemail["from_number"].as_str(), voicemail["format"].as_str()),
        (Some(CALLER), Some("wav"))
    );
    assert_eq!(voicemail["duration_seconds"], 2);
    assert_eq!(voicemail["is_read"], false);
    assert_eq!(voicemail["transcription"]["status"], "unavailable", "{voicemail}");

    // The signed URL serves the WAV without any credential; a tampered one is refused.
    let url = voicemail["audio_url"].as_str().unwrap();
    let audio = reqwest::get(url).await.unwrap();
    assert_eq!(audio.status(), 200);
    assert_eq!(audio.headers()["content-type"], "audio/wav");
    let wav = audio.bytes().await.unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    let recording = ds_media::Recording::from_wav(&wav).expect("a PCM WAV ds-media wrote");
    assert_eq!(recording.duration_ms(), 2000);
    let tampered = reqwest::get(url.replace("/_ds/media/vm_", "/_ds/media/vm_x")).await.unwrap();
    assert_eq!(tampered.status(), 404);

    let id = voicemail["id"].as_str().unwrap();
    let (_, transcript) = world
        .request(reqwest::Method::GET, &format!("/v1/voicemails/{id}/transcript"), Some(&world.account), None)
        .await;
    assert_eq!((transcript["status"].as_str(), transcript["text"].clone()), (Some("failed"), Value::Null));
    let read =
        world.post(&format!("/v1/voicemails/{id}"), Some(&world.account), json!({ "is_read": true })).await;
    assert_eq!(read["is_read"], true);
    let (_, unread) =
        world.request(reqwest::Method::GET, "/v1/voicemails?is_read=false", Some(&world.account), None).await;
    assert_eq!(unread["data"], json!([]));

    // Announced in order on the account bus (SSE + webhooks), never a transcription event.
    let events = world.state.events().replay(&world.account, 0, 1000).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let end = types.iter().position(|t| *t == "call.end").expect("call.end");
    let new = types.iter().position(|t| *t == "voicemail.new").expect("voicemail.new");
    let recording_event =
        types.iter().position(|t| *t == "recording.available").expect("recording.available");
    assert!(end < new && new < recording_event, "{types:?}");
    assert!(!types.iter().any(|t| t.ends_with("transcription.complete")), "{types:?}");
    assert_eq!(events[new].data["voicemail_id"], id);
    assert_eq!(events[recording_event].data["call_id"], call_id.as_str());

    let (status, _) = world
        .request(reqwest::Method::DELETE, &format!("/v1/voicemails/{id}"), Some(&world.account), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 404, "a deleted voicemail's audio is gone");
}

#[tokio::test]
async fn a_dropped_number_rejects_at_once_without_call_incoming() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    route_number(&world, &did, json!({ "inbound_routing": "drop" })).await;
    let call_id = call_number(&world, MAIN_NUMBER, json!({})).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!((row["status"].as_str(), row["hangup_cause"].as_i64()), (Some("failed"), Some(21)), "{row}");
    assert_eq!(world.events_of(&call_id).await, ["call.end"]);
}

#[tokio::test]
async fn number_orders_refuse_owned_and_malformed_numbers_and_test_calls_refuse_forced_outcomes() {
    let world = world().await;
    order_number(&world, MAIN_NUMBER).await;
    let order = world
        .post(
            "/v1/phone-number-orders",
            Some(&world.account),
            json!({ "phone_numbers": [MAIN_NUMBER, "617-555-0100", "+16175550143"] }),
        )
        .await;
    assert_eq!(order["status"], "partial", "{order}");
    assert_eq!(order["failed_numbers"], json!([MAIN_NUMBER, "617-555-0100"]));
    let id = order["id"].as_str().unwrap();
    assert!(id.starts_with("pno_"));
    let (status, again) = world
        .request(reqwest::Method::GET, &format!("/v1/phone-number-orders/{id}"), Some(&world.account), None)
        .await;
    assert_eq!((status, again), (200, order));
    let (status, empty) = world
        .request(reqwest::Method::POST, "/v1/phone-number-orders", Some(&world.account), Some(json!({})))
        .await;
    assert_eq!((status, empty["code"].as_str()), (400, Some("validation_error")));
    let (status, forced) = world
        .request(
            reqwest::Method::POST,
            "/v1/test_helpers/calls",
            Some(&world.account),
            Some(json!({ "to_number": MAIN_NUMBER, "scenario": { "outcome": "busy" } })),
        )
        .await;
    assert_eq!(status, 400, "{forced}");
    // Without a number of the account, `user` is still required.
    let (status, _) = world
        .request(
            reqwest::Method::POST,
            "/v1/test_helpers/calls",
            Some(&world.account),
            Some(json!({ "to_number": "+16175550199" })),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_menu_follows_the_key_the_caller_presses_and_times_out_without_one() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let plan = create_plan(
        &world,
        json!({ "name": "Menu", "entry_node": "menu", "nodes": [
            { "id": "menu", "type": "menu", "config": { "prompt_clip": "clip_ds_menu", "timeout": 2,
              "options": [{ "digit": "1", "next_node": "desk" }], "timeout_next_node": "bye" } },
            { "id": "desk", "type": "internal_dial", "config": { "target": world.alice, "timeout": 10, "next": "bye" } },
            { "id": "bye", "type": "hang_up", "config": {} } ] }),
    )
    .await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;

    // Pressing 1 after the prompt rings Alice, who answers.
    let pressed = call_number(&world, MAIN_NUMBER, json!({ "digits": "1", "talk_seconds": 1 })).await;
    let (leg, offer) = ringing(&mut alice).await;
    let _peer = answer(&mut alice, &leg, &offer).await;
    alice.until(json!({ "type": "call.ended", "call_id": leg })).await;
    let row = world.finished_call_log(&pressed).await;
    assert_eq!(
        (row["status"].as_str(), row["user_id"].as_str()),
        (Some("completed"), Some(world.alice.as_str()))
    );

    // No key: the menu times out to the hang-up node; the network leg was answered by the menu.
    let silent = call_number(&world, MAIN_NUMBER, json!({})).await;
    let row = world.finished_call_log(&silent).await;
    assert_eq!(
        (row["status"].as_str(), row["hangup_cause"].as_i64()),
        (Some("no-answer"), Some(16)),
        "{row}"
    );
    assert!(!row["answered_at"].is_null() && row["connected_at"].is_null(), "{row}");
    let rang = alice.seen.iter().filter(|f| f["type"] == "call.incoming").count();
    assert_eq!(rang, 1, "only the call that pressed 1 rang Alice");
    let (status, refused) = world
        .request(
            reqwest::Method::POST,
            "/v1/test_helpers/calls",
            Some(&world.account),
            Some(json!({ "to_number": MAIN_NUMBER, "scenario": { "digits": "1x" } })),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn a_caller_who_gives_up_while_the_team_rings_stops_the_phones_and_the_call_is_no_answer() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let schedule = always_open_schedule(&world).await;
    let plan = create_plan(&world, seed_plan(&schedule)).await;
    route_number(&world, &did, json!({ "routing_target": plan })).await;
    let mut alice = world.client(&world.alice).await;

    // The team rings for 25 routing seconds (1 s here); the caller hangs up after 0 s of that.
    let call_id = call_number(&world, MAIN_NUMBER, json!({ "ring_seconds": 0 })).await;
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(
        (row["status"].as_str(), row["hangup_cause"].as_i64()),
        (Some("no-answer"), Some(19)),
        "{row}"
    );
    let ended = alice.until(json!({ "type": "call.ended" })).await;
    assert_eq!(ended["reason"], "hangup");
}

#[tokio::test]
async fn a_ring_group_phone_number_member_that_picks_up_first_wins_over_the_ringing_softphone() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let group = world
        .post(
            "/v1/ring_groups",
            Some(&world.account),
            json!({ "name": "Desk and cell", "timeout_seconds": 20 }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for member in [json!({ "extension": world.alice }), json!({ "phone_number": "+16175551234" })] {
        world.post(&format!("/v1/ring_groups/{group}/members"), Some(&world.account), member).await;
    }
    route_number(&world, &did, json!({ "routing_target": group })).await;
    let mut alice = world.client(&world.alice).await;

    let call_id = call_number(&world, MAIN_NUMBER, json!({ "talk_seconds": 1 })).await;
    let (leg, _) = ringing(&mut alice).await;
    // The cell phone (a simulated far end) answers after the PSTN delay; Alice stops ringing.
    assert_eq!(alice.until(json!({ "type": "call.ended", "call_id": leg })).await["reason"], "hangup");
    let row = world.finished_call_log(&call_id).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert!(!row["connected_at"].is_null() && row["user_id"].is_null(), "{row}");
}

#[tokio::test]
async fn with_confirm_external_only_a_member_who_presses_1_connects_and_the_others_ring_on_until_then() {
    let world = world().await;
    let did = order_number(&world, MAIN_NUMBER).await;
    let group = world
        .post(
            "/v1/ring_groups",
            Some(&world.account),
            json!({ "name": "Desk and cell", "timeout_seconds": 60, "confirm_external": true }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The cell's answering machine (rest.md §18.3 `+15005550008`) picks up but never presses 1.
    for member in [json!({ "extension": world.alice }), json!({ "phone_number": "+15005550008" })] {
        world.post(&format!("/v1/ring_groups/{group}/members"), Some(&world.account), member).await;
    }
    route_number(&world, &did, json!({ "routing_target": group })).await;
    let mut alice = world.client(&world.alice).await;

    // Well past the machine's pick-up and its prompt, Alice still rings; she answers and wins.
    let unconfirmed = call_number(&world, MAIN_NUMBER, json!({ "talk_seconds": 1 })).await;
    let (leg, offer) = ringing(&mut alice).await;
    let (_, open) = alice.pings_within(Duration::from_millis(1000)).await;
    assert!(open);
    assert!(
        !alice.seen.iter().any(|f| f["type"] == "call.ended" && f["call_id"] == leg.as_str()),
        "an unconfirmed pick-up does not stop the others: {:?}",
        alice.seen
    );
    let _peer = answer(&mut alice, &leg, &offer).await;
    alice.until(json!({ "type": "call.ended", "call_id": leg })).await;
    let row = world.finished_call_log(&unconfirmed).await;
    assert_eq!(
        (row["status"].as_str(), row["user_id"].as_str()),
        (Some("completed"), Some(world.alice.as_str()))
    );

    // A person's cell phone confirms at the prompt: it takes the call and Alice stops ringing.
    world
        .post(
            &format!("/v1/ring_groups/{group}/members"),
            Some(&world.account),
            json!({ "phone_number": "+16175551234" }),
        )
        .await;
    let confirmed = call_number(&world, MAIN_NUMBER, json!({ "talk_seconds": 1 })).await;
    let incoming = loop {
        let frame = alice.next().await.expect("alice's socket stays open");
        if frame["type"] == "call.incoming" && frame["call_id"] != leg.as_str() {
            break frame;
        }
    };
    let second = incoming["call_id"].as_str().unwrap();
    assert_eq!(alice.until(json!({ "type": "call.ended", "call_id": second })).await["reason"], "hangup");
    let row = world.finished_call_log(&confirmed).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert!(!row["connected_at"].is_null() && row["user_id"].is_null(), "{row}");
}
