//! Call logs and click-to-call (protocol.md §11.5, §16.8, §16.9; rest.md §13).

mod common;

use axum::http::StatusCode;
use common::{KEY, Platform};
use serde_json::json;

/// A finished call row, as the signalling layer will write them.
#[allow(clippy::too_many_arguments)]
async fn insert_call(
    platform: &Platform,
    account: &str,
    id: &str,
    user: Option<&str>,
    direction: &str,
    from: &str,
    to: &str,
    status: &str,
    started_at: &str,
    did: Option<&str>,
) {
    let started = chrono::DateTime::parse_from_rfc3339(started_at).unwrap().timestamp_millis();
    sqlx::query(
        "INSERT INTO calls (id, account_id, user_id, did_id, direction, from_number, to_number, started_at, ended_at, duration_seconds, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 30, ?)",
    )
    .bind(id)
    .bind(account)
    .bind(user)
    .bind(did)
    .bind(direction)
    .bind(from)
    .bind(to)
    .bind(started)
    .bind(started + 30_000)
    .bind(status)
    .execute(platform.state.db())
    .await
    .unwrap();
}

fn ids(reply: &common::Reply) -> Vec<&str> {
    reply.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", reply.text))
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

async fn fixture() -> (Platform, String, String, String) {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let bob = platform.create_user(&account, "Bob").await;
    sqlx::query("INSERT INTO dids (id, account_id, phone_number, created_at) VALUES ('did_front', ?, '+14155550100', 0)")
        .bind(&account)
        .execute(platform.state.db())
        .await
        .unwrap();
    insert_call(
        &platform,
        &account,
        "call_1",
        Some(&alice),
        "inbound",
        "+16195550177",
        "+14155550100",
        "completed",
        "2026-09-01T14:00:03Z",
        Some("did_front"),
    )
    .await;
    insert_call(
        &platform,
        &account,
        "call_2",
        Some(&alice),
        "outbound",
        "+14155550100",
        "+16175551234",
        "no-answer",
        "2026-09-02T10:00:00Z",
        None,
    )
    .await;
    insert_call(
        &platform,
        &account,
        "call_3",
        Some(&bob),
        "internal",
        "101",
        "102",
        "busy",
        "2026-09-03T09:00:00Z",
        None,
    )
    .await;
    insert_call(
        &platform,
        &account,
        "call_4",
        Some(&bob),
        "inbound",
        "+16195550177",
        "+14155550100",
        "voicemail",
        "2026-09-04T09:00:00Z",
        Some("did_front"),
    )
    .await;
    (platform, account, alice, bob)
}

#[tokio::test]
async fn call_list_filters_each_field() {
    let (platform, account, alice, _bob) = fixture().await;
    let list = |query: String| {
        let platform = &platform;
        let account = account.clone();
        async move { platform.get(&format!("/v1/calls{query}"), KEY, Some(&account)).await }
    };
    assert_eq!(ids(&list(String::new()).await), ["call_4", "call_3", "call_2", "call_1"], "newest first");
    assert_eq!(ids(&list(format!("?user_id={alice}")).await), ["call_2", "call_1"]);
    assert_eq!(ids(&list("?direction=inbound".into()).await), ["call_4", "call_1"]);
    assert_eq!(ids(&list("?from_number=%2B16195550177".into()).await), ["call_4", "call_1"]);
    assert_eq!(ids(&list("?to_number=%2B16175551234".into()).await), ["call_2"]);
    assert_eq!(ids(&list("?status=no-answer".into()).await), ["call_2"]);
    assert_eq!(ids(&list("?did=did_front".into()).await), ["call_4", "call_1"]);
    assert_eq!(ids(&list("?from_date=2026-09-02&to_date=2026-09-04".into()).await), ["call_3", "call_2"]);
    // protocol.md §16.9 aliases.
    assert_eq!(ids(&list("?from=2026-09-02T00:00:00Z&to=2026-09-04".into()).await), ["call_3", "call_2"]);
    // Unknown filters are ignored.
    assert_eq!(ids(&list("?colour=blue&limit=1".into()).await), ["call_4"]);
    for bad in ["?direction=sideways", "?status=ringing", "?from_date=yesterday"] {
        let reply = list(bad.into()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_code(), "validation_error");
    }
}

#[tokio::test]
async fn call_pages_follow_next_page_url() {
    let (platform, account, _, _) = fixture().await;
    let first = platform.get("/v1/calls?limit=3&direction=inbound", KEY, Some(&account)).await;
    assert_eq!(ids(&first), ["call_4", "call_1"]);
    assert_eq!(first.body["next_page_url"], serde_json::Value::Null);
    let page = platform.get("/v1/calls?limit=3", KEY, Some(&account)).await;
    assert_eq!(ids(&page), ["call_4", "call_3", "call_2"]);
    let next = page.body["next_page_url"].as_str().unwrap();
    assert!(next.starts_with("/v1/calls?limit=3&page="), "{next}");
    assert_eq!(ids(&platform.get(next, KEY, Some(&account)).await), ["call_1"]);
}

#[tokio::test]
async fn a_call_is_read_by_id_and_expands_its_did() {
    let (platform, account, alice, _) = fixture().await;
    let call = platform.get("/v1/calls/call_1", KEY, Some(&account)).await;
    assert_eq!(call.status, StatusCode::OK);
    assert_eq!(call.body["did"], "did_front");
    assert_eq!(call.body["did_id"], "did_front");
    assert_eq!(call.body["user"], alice.as_str());
    assert_eq!(call.body["user_id"], alice.as_str());
    assert_eq!(call.body["status"], "completed");
    assert_eq!(call.body["started_at"], "2026-09-01T14:00:03Z");
    assert_eq!(call.body["quality_metrics"], json!([]));
    let expanded = platform.get("/v1/calls/call_1?expand[]=did", KEY, Some(&account)).await;
    assert_eq!(expanded.body["did"], json!({ "id": "did_front", "phone_number": "+14155550100" }));
    let list = platform.get("/v1/calls?expand[]=did&direction=inbound", KEY, Some(&account)).await;
    assert_eq!(list.body["data"][0]["did"]["phone_number"], "+14155550100");
}

#[tokio::test]
async fn a_user_token_reads_only_its_own_calls() {
    let (platform, _account, alice, _bob) = fixture().await;
    let token = platform.user_token(&alice).await;
    assert_eq!(ids(&platform.get("/v1/calls", &token, None).await), ["call_2", "call_1"]);
    let bobs = platform.get("/v1/calls/call_3", &token, None).await;
    assert_eq!(bobs.status, StatusCode::NOT_FOUND);
    assert!(!bobs.text.contains("101"));
    // Asking for another user's calls by filter yields nothing, not Bob's calls.
    let filtered = platform.get("/v1/calls?user_id=someone_else", &token, None).await;
    assert!(ids(&filtered).is_empty());
}

#[tokio::test]
async fn another_account_never_sees_the_calls() {
    let (platform, _account, _, _) = fixture().await;
    let other = platform.create_account("x@c.test").await;
    let session = platform.session(&other).await;
    assert!(ids(&platform.get("/v1/calls", &session, None).await).is_empty());
    let one = platform.get("/v1/calls/call_1", &session, None).await;
    assert_eq!(one.status, StatusCode::NOT_FOUND);
    assert!(one.body.get("from_number").is_none());
    assert!(ids(&platform.get("/v1/calls", KEY, Some(&other)).await).is_empty());
}

#[tokio::test]
async fn click_to_call_accepts_every_body_shape_and_records_the_call() {
    let platform = Platform::new().await;
    let account = platform.create_account("contact@joneschiro.com").await;
    let user = platform.create_user(&account, "Dr. Alice Smith").await;
    let session = platform.session(&account).await;
    let shapes = [
        (json!({ "from": user, "to": "+16175551234" }), KEY, Some(account.as_str())),
        (json!({ "user": user, "dial_string": "(617) 555-1234" }), KEY, Some(account.as_str())),
        (json!({ "user_id": user, "dial_string": "6175551234" }), session.as_str(), None),
    ];
    for (body, credential, header) in shapes {
        let reply = platform.post("/v1/calls", credential, header, body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
        let id = reply.body["id"].as_str().unwrap();
        assert!(id.starts_with("call_"));
        assert_eq!(reply.body["status"], "initiated");
        assert_eq!(reply.body["user"], user.as_str());
        assert_eq!(reply.body["to"], "+16175551234");
        assert_eq!(reply.body["direction"], "outbound");
        assert!(reply.body["created_at"].is_string());
        // Retrievable at once, sparse and live (status null), never faked as completed.
        let call = platform.get(&format!("/v1/calls/{id}"), KEY, Some(&account)).await;
        assert_eq!(call.status, StatusCode::OK);
        assert_eq!(call.body["status"], serde_json::Value::Null);
        assert_eq!(call.body["ended_at"], serde_json::Value::Null);
        assert_eq!(call.body["to_number"], "+16175551234");
    }
    let events = platform.state.events().replay(&account, 0, 100).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.event_type == "call.initiated"));
    assert_eq!(events[0].data["user_id"], user.as_str());
    assert_eq!(events[0].data["to_number"], "+16175551234");
}

#[tokio::test]
async fn click_to_call_reaches_the_launcher_seam() {
    #[derive(Debug, Default)]
    struct Recorder(std::sync::Mutex<Vec<ds_local::ClickToCall>>);
    impl ds_local::CallLauncher for Recorder {
        fn launch(&self, call: ds_local::ClickToCall) {
            self.0.lock().unwrap().push(call);
        }
    }
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let user = platform.create_user(&account, "A").await;
    let recorder = std::sync::Arc::new(Recorder::default());
    platform.state.set_call_launcher(recorder.clone());
    let reply = platform
        .post("/v1/calls", KEY, Some(&account), json!({ "user": user, "dial_string": "+15005550001" }))
        .await;
    let launched = recorder.0.lock().unwrap().clone();
    assert_eq!(launched.len(), 1);
    assert_eq!(launched[0].call_id, reply.body["id"].as_str().unwrap());
    assert_eq!(launched[0].user_id, user);
    assert_eq!(launched[0].destination, ds_local::calls::Destination::Number("+15005550001".into()));
}

#[tokio::test]
async fn click_to_call_refuses_bad_requests() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let user = platform.create_user(&account, "A").await;
    let other_account = platform.create_account("p@c.test").await;
    let stranger = platform.create_user(&other_account, "S").await;
    let cases = [
        (json!({ "to": "+16175551234" }), StatusCode::BAD_REQUEST, "validation_error"),
        (json!({ "user": user }), StatusCode::BAD_REQUEST, "validation_error"),
        (json!({ "user": user, "dial_string": "call mom" }), StatusCode::BAD_REQUEST, "validation_error"),
        (
            json!({ "user": "acct_x", "dial_string": "+16175551234" }),
            StatusCode::BAD_REQUEST,
            "validation_error",
        ),
        (json!({ "user": user, "dial_string": 16175551234u64 }), StatusCode::BAD_REQUEST, "validation_error"),
        (
            json!({ "user": "user_01k1n4a6c8e0g2j4m6p8r0t2v4", "to": "+16175551234" }),
            StatusCode::NOT_FOUND,
            "resource_missing",
        ),
        (json!({ "user": stranger, "to": "+16175551234" }), StatusCode::NOT_FOUND, "resource_missing"),
        (json!({ "user": user, "to": "555" }), StatusCode::NOT_FOUND, "resource_missing"),
    ];
    for (body, status, code) in cases {
        let reply = platform.post("/v1/calls", KEY, Some(&account), body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert_eq!(reply.error_code(), code, "{body}");
    }
    assert!(ids(&platform.get("/v1/calls", KEY, Some(&account)).await).is_empty(), "nothing was recorded");
    // A user token cannot place click-to-calls (it is a component/back-end API).
    let token = platform.user_token(&user).await;
    let refused =
        platform.post("/v1/calls", &token, None, json!({ "user": user, "to": "+16175551234" })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn click_to_call_to_an_extension_is_internal() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice =
        platform.post("/v1/users", KEY, Some(&account), json!({ "name": "Alice", "extension": "101" })).await;
    let bob =
        platform.post("/v1/users", KEY, Some(&account), json!({ "name": "Bob", "extension": "102" })).await;
    let reply = platform
        .post("/v1/calls", KEY, Some(&account), json!({ "user": alice.body["id"], "to": "102" }))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.body["direction"], "internal");
    assert!(bob.body["id"].is_string());
}
