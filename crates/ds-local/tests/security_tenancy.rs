//! Security suite, tenancy: every route of `routes::table()` is called with another account's
//! credentials (API key + its own `DialStack-Account`, its account session, its user token) and
//! with a colleague's user token, aimed at the victim's objects; nothing of the victim may come
//! back and nothing of the victim may change. The routes outside the table (test helpers, the
//! media URLs, `/v1/events`, `/v1/webrtc`) get explicit cases.

mod common;
mod security_support;
mod signalling_support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::KEY;
use ds_local::routes::{Access, table};
use security_support::{Credential, SECRET, Tenants, hostile_body};
use serde_json::json;

/// The victim's private strings a colleague in the same account must not read (their call's
/// far end, their voicemail's caller, their emergency address).
const PRIVATE_TO_THE_VICTIM: [&str; 3] = ["+16195550199", "VictimSecret caller", "VictimSecret St"];

/// Platform routes that honour `DialStack-Account` and so must stay inside that account even
/// with the platform key. Every other platform route is the platform acting on its own accounts.
fn platform_route_is_account_scoped(path: &str) -> bool {
    path.starts_with("/v1/webhook_endpoints")
}

#[tokio::test]
async fn another_accounts_credentials_reach_nothing_of_the_victim_on_any_route() {
    let tenants = Tenants::seed().await;
    let before = tenants.victim_snapshot().await;
    let attackers = tenants.attacker_credentials().await;
    let colleague = tenants.colleague_credential().await;
    let mut routes = 0;
    let mut requests = 0;
    for route in table() {
        if route.access == Access::Public {
            continue;
        }
        // The SSE stream never ends; it has its own real-socket case below.
        if route.path == "/v1/events" {
            continue;
        }
        let path = match route.path {
            "/_ds/media/{token}" => continue, // explicit case below
            path => tenants
                .victim_path(path)
                .unwrap_or_else(|| panic!("no victim fixture for {path}: add one to security_support")),
        };
        routes += 1;
        // Extensions are addressed by a number each account names for itself: the attacker's
        // own `201` is a legitimate answer, so there only the link checks below apply.
        let aims_at_an_object = path != route.path && route.path != "/v1/extensions/{number}";
        let mut credentials: Vec<(&Credential, &[&str])> = Vec::new();
        for attacker in &attackers {
            let is_key = attacker.account_header.is_some();
            if is_key
                && matches!(route.access, Access::Platform | Access::PlatformOrOwnAccount)
                && !platform_route_is_account_scoped(route.path)
            {
                continue;
            }
            credentials.push((attacker, &[SECRET, "+16195550199"]));
        }
        credentials.push((&colleague, &PRIVATE_TO_THE_VICTIM));
        for (credential, secrets) in credentials {
            let body = (route.method == Method::POST).then(|| hostile_body(&tenants));
            let reply = tenants.send(credential, route.method.clone(), &path, body).await;
            let what = format!("{} {path} with {}", route.method, credential.name);
            assert!(!reply.status.is_server_error(), "{what}: {} {}", reply.status, reply.text);
            for secret in secrets {
                assert!(!reply.text.contains(secret), "{what} leaked {secret:?}: {}", reply.text);
            }
            let same_account_reads_are_allowed = credential.name == "colleague user token"
                && !route.path.contains("/me/")
                && !route.path.starts_with("/v1/calls")
                && !route.path.starts_with("/v1/voicemails");
            if aims_at_an_object && !same_account_reads_are_allowed {
                assert!(!reply.status.is_success(), "{what} reached the victim's object: {}", reply.text);
            }
            if reply.status.is_success() && credential.name != "colleague user token" {
                // Whatever the attacker created lives in its own account, linked to nothing of B.
                for victim_id in [&tenants.victim_user, &tenants.victim_account, &tenants.colleague] {
                    assert!(
                        !reply.text.contains(victim_id.as_str()),
                        "{what} linked {victim_id}: {}",
                        reply.text
                    );
                }
            }
            requests += 1;
        }
    }
    println!("security figure: cross-tenant/cross-user: {requests} requests over {routes} routes, 0 leaks");
    assert_eq!(tenants.victim_snapshot().await, before, "the victim's data changed");
    // The victim's number was not ordered a second time into the attacker's account.
    let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dids WHERE phone_number = '+14155550123'")
        .fetch_one(tenants.platform.state.db())
        .await
        .unwrap();
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn routes_outside_the_table_refuse_other_accounts_and_other_users() {
    let tenants = Tenants::seed().await;
    let attackers = tenants.attacker_credentials().await;
    let colleague = tenants.colleague_credential().await;
    for credential in attackers.iter().chain([&colleague]) {
        // Ring the victim's number from the attacker's account.
        let ring = tenants
            .send(
                credential,
                Method::POST,
                "/v1/test_helpers/calls",
                Some(json!({ "to": "+14155550123", "from": "+16175550100" })),
            )
            .await;
        let refused = !ring.status.is_success() || ring.text.contains(&tenants.attacker_account);
        assert!(
            refused && !ring.status.is_server_error(),
            "{}: {} {}",
            credential.name,
            ring.status,
            ring.text
        );
        assert!(!ring.text.contains(SECRET), "{}", ring.text);
        // Cut the victim's signalling sockets.
        let drop = tenants
            .send(
                credential,
                Method::POST,
                &format!("/_ds/users/{}/drop_signalling", tenants.victim_user),
                None,
            )
            .await;
        assert!(
            matches!(drop.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}: drop_signalling {} {}",
            credential.name,
            drop.status,
            drop.text
        );
    }
    // A guessed or tampered media URL plays nothing.
    for token in ["guess", "vm_01victimsecretvoicemail0000", "eyJhbGciOiJub25lIn0.e30."] {
        let reply =
            tenants.platform.call(Method::GET, &format!("/_ds/media/{token}"), None, None, None).await;
        assert!(
            matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{token}: {}",
            reply.status
        );
    }
}

/// Reads SSE text from a real socket for `window`, returning everything received.
async fn read_stream_for(base: &str, credential: &Credential, window: Duration) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("{base}/v1/events")).bearer_auth(&credential.bearer);
    if let Some(account) = &credential.account_header {
        request = request.header("DialStack-Account", account);
    }
    let mut response = request.send().await.expect("ds-local answers");
    let status = response.status().as_u16();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    (status, text)
}

#[tokio::test]
async fn the_event_stream_of_another_account_carries_none_of_the_victims_events() {
    let tenants = Tenants::seed().await;
    let (addr, server) = tenants.platform.serve().await;
    let base = format!("http://{addr}");
    let attackers = tenants.attacker_credentials().await;
    let mut readers = Vec::new();
    for credential in attackers.clone() {
        let base = base.clone();
        readers.push(tokio::spawn(async move {
            let (status, text) = read_stream_for(&base, &credential, Duration::from_millis(1500)).await;
            (credential.name, status, text)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        let emitted = tenants
            .platform
            .post(
                "/v1/test_helpers/events",
                KEY,
                Some(&tenants.victim_account),
                json!({ "event": "call.incoming" }),
            )
            .await;
        assert!(emitted.status.is_success(), "{}", emitted.text);
    }
    for reader in readers {
        let (name, status, text) = reader.await.unwrap();
        match name {
            // A user token has no account stream (protocol.md §3.1).
            "attacker user token" => assert!(status == 401 || status == 403, "{name}: {status}"),
            _ => {
                assert_eq!(status, 200, "{name}: {text}");
                assert!(text.contains("connected"), "{name}: {text}");
                assert!(!text.contains(&tenants.victim_account), "{name} saw the victim's events: {text}");
                assert!(!text.contains("call.incoming"), "{name} saw the victim's events: {text}");
            }
        }
    }
    // Naming the victim's account in the header with the attacker's session is refused.
    let session = attackers.iter().find(|c| c.name == "attacker account session").unwrap();
    let pointed = Credential { account_header: Some(tenants.victim_account.clone()), ..session.clone() };
    let (status, _) = read_stream_for(&base, &pointed, Duration::from_millis(200)).await;
    assert_eq!(status, 403);
    server.abort();
}

#[tokio::test]
async fn a_signalling_user_cannot_touch_another_accounts_calls_users_or_extensions() {
    use signalling_support::World;
    let world = World::start().await;
    // A second tenant on the same server, with a user on the same extension number as Alice.
    let (_, other) = world
        .request(reqwest::Method::POST, "/v1/accounts", None, Some(json!({ "email": "other@evil.test" })))
        .await;
    let other_account = other["id"].as_str().unwrap().to_owned();
    let mallory = world
        .post("/v1/users", Some(&other_account), json!({ "name": "Mallory", "extension": "109" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut alice = world.client(&world.alice).await;
    let mut attacker = world.client(&mallory).await;
    // Watching the victim's presence is refused with the users named.
    let req = attacker.req_id();
    attacker.send(json!({ "type": "presence.subscribe", "req_id": req, "users": [world.alice] })).await;
    let reply = attacker.until(json!({ "type": "error", "code": "presence_unavailable" })).await;
    assert!(reply["context"]["users"].to_string().contains(world.alice.as_str()), "{reply}");
    // Dialling the victim's extension or user id from another account never rings her.
    for destination in ["101", world.alice.as_str()] {
        let req = attacker.req_id();
        let (_, offer) = signalling_support::Peer::offerer();
        attacker
            .send(json!({ "type": "call.create", "req_id": req, "destination": destination, "sdp": offer }))
            .await;
    }
    // Commands for a call id the attacker does not own are call_not_found.
    for frame in [
        json!({ "type": "call.hangup", "call_id": "call_01victimsecretcall00000000" }),
        json!({ "type": "call.answer", "call_id": "call_01victimsecretcall00000000", "sdp": "v=0" }),
    ] {
        attacker.send(frame).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    alice.send(json!({ "type": "ping", "req_id": "alive" })).await;
    let pong = alice.until(json!({ "type": "pong" })).await;
    assert_eq!(pong["req_id"], "alive");
    assert!(
        alice.seen.iter().all(|frame| frame["type"] != "call.incoming"),
        "the victim was rung from another account: {:?}",
        alice.seen
    );
    attacker.send(json!({ "type": "ping", "req_id": "done" })).await;
    attacker.until(json!({ "type": "pong", "req_id": "done" })).await;
    for frame in &attacker.seen {
        assert!(!frame.to_string().contains("Alice Smith"), "{frame}");
        if frame["type"] == "presence.list" || frame["type"] == "presence.update" {
            assert!(
                !frame.to_string().contains(world.alice.as_str()),
                "presence of the victim leaked: {frame}"
            );
        }
    }
}
