//! The example against a real ds-local: started in-process with signalling (fast timers) on
//! 127.0.0.1:0, the receiver on another 127.0.0.1 port, webhooks over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use click_to_call::signature::{self, SIGNATURE_HEADER};
use click_to_call::{DialStack, LOGGED_EVENTS, Receiver, Store, WEBHOOK_PATH, wait_for_call_end};
use serde_json::{Value, json};

const KEY: &str = "sk_test_local";

struct World {
    platform: ds_local::AppState,
    ds: DialStack,
    receiver: Receiver,
    receiver_url: String,
    account: String,
    user: String,
    secret: String,
    http: reqwest::Client,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn serve(router: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (addr, task)
}

impl World {
    /// ds-local + the example's receiver, provisioned exactly as the binary does it.
    async fn start() -> World {
        let platform = ds_local::AppState::open(ds_local::Config::in_memory()).await.expect("ds-local opens");
        ds_local::signalling::attach(
            &platform,
            ds_local::signalling::SignallingConfig {
                media_ip: [127, 0, 0, 1].into(),
                timers: ds_local::signalling::Timers::fast(),
            },
        )
        .expect("signalling starts");
        let (platform_addr, platform_task) = serve(ds_local::app(platform.clone())).await;

        let store = Store::in_memory().await.unwrap();
        let receiver = Receiver::new(store);
        let (receiver_addr, receiver_task) = serve(receiver.clone().router()).await;
        let receiver_url = format!("http://{receiver_addr}");

        let ds = DialStack::new(&format!("http://{platform_addr}"), KEY);
        let account = ds.create_account("contact@joneschiro.com").await.unwrap();
        let user = ds.create_user(&account, "Dr. Alice Smith").await.unwrap();
        let endpoint = ds
            .create_webhook_endpoint(&account, &format!("{receiver_url}{WEBHOOK_PATH}"), LOGGED_EVENTS)
            .await
            .unwrap();
        assert!(endpoint.secret.starts_with("whsec_"));
        receiver.trust_secret(endpoint.secret.clone());
        World {
            platform,
            ds,
            receiver,
            receiver_url,
            account,
            user,
            secret: endpoint.secret,
            http: reqwest::Client::new(),
            _tasks: vec![platform_task, receiver_task],
        }
    }

    async fn post_webhook(&self, signature: Option<String>, body: &str) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{WEBHOOK_PATH}", self.receiver_url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn table(&self) -> Vec<Value> {
        let reply: Value =
            self.http.get(format!("{}/calls", self.receiver_url)).send().await.unwrap().json().await.unwrap();
        reply["data"].as_array().unwrap().clone()
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_ends_in_a_signed_call_end_row_in_the_partner_table() {
    let world = World::start().await;
    // Nobody has Alice's softphone open, so ds-local has no device to ring: the call fails at
    // once, and the partner still learns about it through call.end.
    let call = world.ds.create_call(&world.account, &world.user, "+16175551234").await.unwrap();
    assert!(call.starts_with("call_"), "{call}");
    let row = wait_for_call_end(world.receiver.store(), &call, Duration::from_secs(20))
        .await
        .unwrap()
        .expect("call.end was delivered, verified and stored");
    assert_eq!(row.account_id, world.account);
    assert_eq!(row.status.as_deref(), Some("failed"));
    assert_eq!(row.duration_seconds, Some(0));
    assert_eq!(row.user_id.as_deref(), Some(world.user.as_str()));
    assert_eq!(row.last_event_type, "call.end");
    // The platform's own call log agrees with the partner's row.
    let log = world.ds.send("GET", &format!("/v1/calls/{call}"), Some(&world.account), None).await.unwrap();
    assert_eq!(log["status"], "failed");
    // The table is readable over HTTP too (the e2e journeys read it this way).
    let table = world.table().await;
    assert_eq!(table.len(), 1);
    assert_eq!(table[0]["call_id"], call.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_test_call_is_logged_completed_with_its_duration() {
    let world = World::start().await;
    let reply = world
        .ds
        .send(
            "POST",
            "/v1/test_helpers/calls",
            Some(&world.account),
            Some(json!({ "user": world.user, "from_number": "+16195550177",
                         "scenario": { "outcome": "answered", "ring_seconds": 1, "talk_seconds": 1 } })),
        )
        .await
        .unwrap();
    let call = reply["id"].as_str().unwrap().to_owned();
    let row = wait_for_call_end(world.receiver.store(), &call, Duration::from_secs(30))
        .await
        .unwrap()
        .expect("call.end arrived");
    assert_eq!(row.status.as_deref(), Some("completed"));
    assert_eq!(row.direction.as_deref(), Some("inbound"));
    assert_eq!(row.from_number.as_deref(), Some("+16195550177"));
    assert!(row.duration_seconds.is_some_and(|seconds| seconds >= 1), "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_voicemail_and_recording_events_land_in_the_table() {
    let world = World::start().await;
    for event in ["voicemail.new", "recording.available", "call.ringing"] {
        world
            .ds
            .send("POST", "/v1/test_helpers/events", Some(&world.account), Some(json!({ "event": event })))
            .await
            .unwrap();
    }
    // call.ringing is not subscribed, so exactly two rows arrive.
    let mut rows = Vec::new();
    for _ in 0..200 {
        rows = world.receiver.store().calls().await.unwrap();
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    let voicemail = rows.iter().find(|r| r.last_event_type == "voicemail.new").expect("voicemail row");
    assert!(voicemail.voicemail_id.as_deref().is_some_and(|id| id.starts_with("vm_")));
    let recording = rows.iter().find(|r| r.last_event_type == "recording.available").expect("recording row");
    assert!(recording.recording_available);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_unsigned_deliveries_are_rejected_and_store_nothing() {
    let world = World::start().await;
    let body = json!({ "id": "evt_forged", "type": "call.end", "account_id": world.account,
                       "created_at": "2026-09-01T14:03:13Z", "livemode": false,
                       "data": { "call_id": "call_forged", "status": "completed", "duration_seconds": 999 } })
    .to_string();
    let now = now_unix();

    let (status, reply) =
        world.post_webhook(Some(signature::sign("whsec_guessed", now, body.as_bytes())), &body).await;
    assert_eq!(status, 400);
    assert_eq!(reply["error"], "no v1 signature matches the body");

    let stale = signature::sign(&world.secret, now - 301, body.as_bytes());
    let (status, reply) = world.post_webhook(Some(stale), &body).await;
    assert_eq!(status, 400);
    assert!(reply["error"].as_str().unwrap().contains("more than 300 s"), "{reply}");

    let (status, _) = world.post_webhook(None, &body).await;
    assert_eq!(status, 400);

    // A genuine signature over other bytes does not carry over to a tampered body.
    let genuine = signature::sign(&world.secret, now, body.as_bytes());
    let tampered = body.replace("999", "1");
    let (status, _) = world.post_webhook(Some(genuine.clone()), &tampered).await;
    assert_eq!(status, 400);

    assert!(world.table().await.is_empty(), "nothing forged was stored");

    // The same delivery correctly signed is accepted: the refusals were about the signatures.
    let (status, reply) = world.post_webhook(Some(genuine), &body).await;
    assert_eq!((status, reply["outcome"].as_str()), (200, Some("upserted")));
    assert_eq!(world.table().await.len(), 1);
    world.platform.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_call_to_the_practice_number_logs_its_voicemail_and_recording() {
    let world = World::start().await;
    let account = Some(world.account.as_str());
    let number = "+14155550100";
    let order = world
        .ds
        .send("POST", "/v1/phone-number-orders", account, Some(json!({ "phone_numbers": [number] })))
        .await;
    assert_eq!(order.unwrap()["status"], "complete");
    let numbers = world.ds.send("GET", "/v1/phone-numbers", account, None).await.unwrap();
    let did = numbers["data"].as_array().unwrap().iter().find(|d| d["phone_number"] == number).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let route = json!({ "routing_target": world.user });
    world.ds.send("POST", &format!("/v1/phone-numbers/{did}/route"), account, Some(route)).await.unwrap();

    // Nobody answers Dr. Smith's phone, so the caller leaves a message.
    let caller = json!({ "to_number": number, "from_number": "+16195550177", "from_name": "JANE ROE",
                         "scenario": { "voicemail_seconds": 1 } });
    let created = world.ds.send("POST", "/v1/test_helpers/calls", account, Some(caller)).await.unwrap();
    let call = created["id"].as_str().unwrap().to_owned();
    let mut row = None;
    for _ in 0..300 {
        row = world.receiver.store().call(&call).await.unwrap();
        if row
            .as_ref()
            .is_some_and(|r| r.status.is_some() && r.voicemail_id.is_some() && r.recording_available)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = row.expect("webhooks for the call arrived");
    assert_eq!(row.status.as_deref(), Some("voicemail"), "{row:?}");
    assert!(row.voicemail_id.as_deref().is_some_and(|id| id.starts_with("vm_")), "{row:?}");
    assert!(row.voicemail_seconds.is_some_and(|s| s >= 1), "{row:?}");
    assert!(row.recording_available, "{row:?}");
    assert!(row.recording_url.as_deref().is_some_and(|url| url.contains("/_ds/media/")), "{row:?}");
}
