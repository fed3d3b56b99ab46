//! Webhook delivery (protocol.md §13, §16.7; rest.md §17): durable outbox, signed deliveries,
//! retries with back-off, nothing lost across a restart.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use common::{KEY, Platform};
use ds_local::{Config, RetryPolicy};
use serde_json::json;

#[derive(Debug, Clone)]
struct Delivery {
    destination: String,
    headers: HeaderMap,
    body: Bytes,
}

type Received = Arc<Mutex<Vec<Delivery>>>;

async fn receive(
    State(received): State<Received>,
    Path(destination): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    received.lock().unwrap().push(Delivery { destination, headers, body });
    StatusCode::OK
}

/// A partner's receiver on `addr`.
async fn start_receiver(addr: SocketAddr, received: Received) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("the receiver's port is free again");
    let app = axum::Router::new().route("/{destination}", axum::routing::post(receive)).with_state(received);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

fn fast_retries(dir: &std::path::Path) -> Config {
    Config {
        webhook_retry: RetryPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            ..RetryPolicy::default()
        },
        ..Config::with_data_dir(dir)
    }
}

async fn outbox_attempts(platform: &Platform) -> Vec<(i64, Option<i64>)> {
    sqlx::query_as("SELECT attempts, delivered_at FROM webhook_outbox ORDER BY id")
        .fetch_all(platform.state.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_event_is_delivered_signed_after_the_receiver_comes_back_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Reserve a port, then free it: the receiver is down (connection refused) at first.
    let receiver_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let first = Platform::with_config(fast_retries(dir.path())).await;
    let account = first.create_account("contact@joneschiro.com").await;
    let user = first.create_user(&account, "Dr. Alice Smith").await;
    let platform_settings = first
        .post(
            "/_ds/platform",
            KEY,
            None,
            json!({ "webhook_url": format!("http://{receiver_addr}/platform") }),
        )
        .await;
    assert_eq!(platform_settings.status, StatusCode::OK, "{}", platform_settings.text);
    let platform_secret = platform_settings.body["webhook_secret"].as_str().unwrap().to_owned();
    assert!(platform_secret.starts_with("whsec_"));
    let endpoint = first
        .post(
            "/v1/webhook_endpoints",
            KEY,
            Some(&account),
            json!({ "url": format!("http://{receiver_addr}/endpoint"), "enabled_events": ["call.end"] }),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::OK, "{}", endpoint.text);
    let endpoint_secret = endpoint.body["secret"].as_str().unwrap().to_owned();

    let call =
        first.post("/v1/calls", KEY, Some(&account), json!({ "from": user, "to": "+16175551234" })).await;
    assert_eq!(call.status, StatusCode::ACCEPTED);
    for event in ["call.incoming", "call.end"] {
        let reply =
            first.post("/v1/test_helpers/events", KEY, Some(&account), json!({ "event": event })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    // 3 events to the platform URL + call.end to the endpoint.
    let mut failed_once = false;
    for _ in 0..100 {
        let rows = outbox_attempts(&first).await;
        assert_eq!(rows.len(), 4);
        if rows.iter().all(|(attempts, delivered)| *attempts >= 1 && delivered.is_none()) {
            failed_once = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed_once, "every delivery was attempted and failed while the receiver was down");

    // Restart ds-local on the same data dir; then the receiver comes back.
    first.state.close().await;
    drop(first);
    let second = Platform::with_config(fast_retries(dir.path())).await;
    let received: Received = Arc::default();
    let receiver = start_receiver(receiver_addr, received.clone()).await;
    let mut deliveries = Vec::new();
    for _ in 0..200 {
        deliveries = received.lock().unwrap().clone();
        let unique: std::collections::BTreeSet<_> = deliveries
            .iter()
            .map(|d| {
                (
                    d.destination.clone(),
                    serde_json::from_slice::<serde_json::Value>(&d.body).unwrap()["id"].to_string(),
                )
            })
            .collect();
        if unique.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = chrono::Utc::now().timestamp();
    let mut platform_types = Vec::new();
    let mut endpoint_types = Vec::new();
    for delivery in &deliveries {
        let signature = delivery.headers["x-dialstack-signature"].to_str().unwrap();
        let secret = if delivery.destination == "platform" { &platform_secret } else { &endpoint_secret };
        assert!(
            ds_local::webhooks::verify_signature(secret, signature, &delivery.body, now),
            "valid signature"
        );
        assert!(!ds_local::webhooks::verify_signature("whsec_wrong", signature, &delivery.body, now));
        assert_eq!(delivery.headers["content-type"], "application/json");
        assert_eq!(delivery.headers["x-dialstack-account-id"], account.as_str());
        let envelope: ds_protocol::events::WebhookEnvelope = serde_json::from_slice(&delivery.body).unwrap();
        assert!(envelope.id.starts_with("evt_"));
        assert_eq!(envelope.account_id, account);
        assert!(!envelope.livemode);
        assert!(envelope.created_at.ends_with('Z'));
        if delivery.destination == "platform" {
            platform_types.push(envelope.event_type);
        } else {
            endpoint_types.push(envelope.event_type);
        }
    }
    platform_types.sort();
    platform_types.dedup();
    assert_eq!(platform_types, ["call.end", "call.incoming", "call.initiated"]);
    endpoint_types.dedup();
    assert_eq!(endpoint_types, ["call.end"]);
    let initiated = deliveries
        .iter()
        .map(|d| serde_json::from_slice::<serde_json::Value>(&d.body).unwrap())
        .find(|e| e["type"] == "call.initiated")
        .unwrap();
    assert_eq!(initiated["data"]["call_id"], call.body["id"]);
    assert_eq!(initiated["data"]["user_id"], user.as_str());
    // The outbox knows they are delivered, so a further restart sends nothing again.
    for _ in 0..100 {
        if outbox_attempts(&second).await.iter().all(|(_, delivered)| delivered.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(outbox_attempts(&second).await.iter().all(|(_, delivered)| delivered.is_some()));
    second.state.close().await;
    receiver.abort();
}

#[tokio::test]
async fn webhook_endpoint_secret_is_shown_only_on_create() {
    let platform = Platform::new().await;
    let created = platform
        .post(
            "/v1/webhook_endpoints",
            KEY,
            None,
            json!({ "url": "http://127.0.0.1:9/hook", "description": "crm" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("we_"));
    assert!(created.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created.body["enabled_events"], json!(["*"]));
    assert_eq!(created.body["status"], "enabled");
    assert_eq!(created.body["livemode"], false);
    assert_eq!(created.body["account"], serde_json::Value::Null, "platform-global without the header");
    let fetched = platform.get(&format!("/v1/webhook_endpoints/{id}"), KEY, None).await;
    assert!(fetched.body.get("secret").is_none());
    let listed = platform.get("/v1/webhook_endpoints", KEY, None).await;
    assert!(listed.body["data"][0].get("secret").is_none());
    let updated = platform
        .post(
            &format!("/v1/webhook_endpoints/{id}"),
            KEY,
            None,
            json!({ "status": "disabled", "description": null }),
        )
        .await;
    assert_eq!(updated.body["status"], "disabled");
    assert_eq!(updated.body["description"], serde_json::Value::Null);
    let deleted =
        platform.call(Method::DELETE, &format!("/v1/webhook_endpoints/{id}"), Some(KEY), None, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        platform.get(&format!("/v1/webhook_endpoints/{id}"), KEY, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn webhook_endpoints_refuse_bad_input_and_non_platform_credentials() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    for body in [
        json!({}),
        json!({ "url": "ftp://x" }),
        json!({ "url": "http://127.0.0.1/h", "enabled_events": [] }),
        json!({ "url": "http://127.0.0.1/h", "enabled_events": ["call.exploded"] }),
    ] {
        let reply = platform.post("/v1/webhook_endpoints", KEY, None, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "validation_error");
    }
    let session = platform.session(&account).await;
    let refused =
        platform.post("/v1/webhook_endpoints", &session, None, json!({ "url": "http://127.0.0.1/h" })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // An account's endpoints are invisible platform-wide and to other accounts.
    let scoped = platform
        .post("/v1/webhook_endpoints", KEY, Some(&account), json!({ "url": "http://127.0.0.1/h" }))
        .await;
    let id = scoped.body["id"].as_str().unwrap();
    assert_eq!(scoped.body["account"], account.as_str());
    assert_eq!(
        platform.get(&format!("/v1/webhook_endpoints/{id}"), KEY, None).await.status,
        StatusCode::NOT_FOUND
    );
    let other = platform.create_account("p@c.test").await;
    assert_eq!(
        platform.get(&format!("/v1/webhook_endpoints/{id}"), KEY, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn test_helper_events_refuse_unknown_types_and_sessions() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let unknown = platform
        .post("/v1/test_helpers/events", KEY, Some(&account), json!({ "event": "call.exploded" }))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error_code(), "validation_error");
    let session = platform.session(&account).await;
    let refused =
        platform.post("/v1/test_helpers/events", &session, None, json!({ "event": "call.end" })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(platform.state.events().replay(&account, 0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_platform_secret_never_rotates() {
    let platform = Platform::new().await;
    let first = platform.get("/_ds/platform", KEY, None).await;
    assert_eq!(first.body["webhook_url"], serde_json::Value::Null);
    let set =
        platform.post("/_ds/platform", KEY, None, json!({ "webhook_url": "http://127.0.0.1:9/x" })).await;
    assert_eq!(set.body["webhook_secret"], first.body["webhook_secret"]);
    assert_eq!(set.body["webhook_url"], "http://127.0.0.1:9/x");
    let cleared = platform.post("/_ds/platform", KEY, None, json!({ "webhook_url": null })).await;
    assert_eq!(cleared.body["webhook_url"], serde_json::Value::Null);
    let bad = platform.post("/_ds/platform", KEY, None, json!({ "webhook_url": "nope" })).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
