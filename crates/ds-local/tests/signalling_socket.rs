//! `/v1/webrtc` over a real WebSocket on 127.0.0.1: upgrade, authentication, liveness, refresh,
//! revocation, expiry, the session cap and tolerance of bad frames (protocol.md §4, §9, §16).

mod signalling_support;

use std::time::Duration;

use serde_json::json;
use signalling_support::{Client, World};

#[tokio::test]
async fn an_upgrade_without_our_subprotocol_is_refused() {
    let world = World::start().await;
    let error = Client::connect_with(world.addr, None).await.err().expect("refused");
    assert!(error.to_string().contains("400"), "{error}");
    let error = Client::connect_with(world.addr, Some("dialstack.webrtc.v0")).await.err().expect("refused");
    assert!(error.to_string().contains("400"), "{error}");
    // Offering a newer version first still selects ours.
    assert!(Client::connect_with(world.addr, Some("dialstack.webrtc.v2, dialstack.webrtc.v1")).await.is_ok());
}

#[tokio::test]
async fn authenticate_replies_authenticated_with_the_req_id_and_ping_gets_pong() {
    let world = World::start().await;
    let mut client = Client::connect(world.addr).await;
    // ping is allowed before authentication.
    client.send(json!({ "type": "ping", "req_id": "req_p0" })).await;
    assert_eq!(client.next().await.unwrap(), json!({ "type": "pong", "req_id": "req_p0" }));
    let token = world.token(&world.alice).await;
    let reply = client.authenticate(&token).await;
    assert_eq!(reply["user_id"], world.alice.as_str());
    assert_eq!(reply["account_id"], world.account.as_str());
    assert!(reply.get("reconnected").is_none(), "a first session is not a reconnect: {reply}");
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.next().await.unwrap(), json!({ "type": "pong" }));
}

#[tokio::test]
async fn bad_json_and_unknown_frames_get_a_non_fatal_invalid_message_and_the_socket_stays_open() {
    let world = World::start().await;
    let mut client = world.client(&world.alice).await;
    for bad in ["{not json", "[1,2]", r#"{"no_type":1}"#, r#"{"type":"call.teleport","req_id":"r"}"#] {
        client.send_text(bad).await;
        let reply = client.next().await.expect("socket still open");
        assert_eq!(reply["type"], "error", "{bad}: {reply}");
        assert_eq!(reply["code"], "invalid_message", "{bad}: {reply}");
        assert!(reply.get("fatal").is_none(), "{bad}: {reply}");
    }
    // A known type with missing fields echoes its req_id.
    client.send(json!({ "type": "call.create", "req_id": "req_bad" })).await;
    let reply = client.next().await.unwrap();
    assert_eq!(
        (reply["code"].as_str(), reply["req_id"].as_str()),
        (Some("invalid_message"), Some("req_bad"))
    );
    client.send(json!({ "type": "ping", "req_id": "alive" })).await;
    assert_eq!(client.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn a_call_command_before_authenticate_is_a_fatal_auth_failed() {
    let world = World::start().await;
    let mut client = Client::connect(world.addr).await;
    client
        .send(
            json!({ "type": "call.create", "req_id": "req_1", "destination": "+15005550001", "sdp": "v=0" }),
        )
        .await;
    let reply = client.next().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("auth_failed"), Some(true)));
    assert_eq!(reply["req_id"], "req_1");
    assert!(client.closed().await);
}

#[tokio::test]
async fn a_bad_token_is_a_fatal_auth_failed_and_an_expired_one_auth_expired() {
    let world = World::start().await;
    let mut client = Client::connect(world.addr).await;
    let reply = client.authenticate("eyJhbGciOiJub25lIn0.e30.").await;
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("auth_failed"), Some(true)));
    assert!(client.closed().await);

    // An account session is not a user token.
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
    let mut client = Client::connect(world.addr).await;
    assert_eq!(client.authenticate(&session).await["code"], "auth_failed");

    let short = world.token_for(&world.alice, Some(1)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut client = Client::connect(world.addr).await;
    let reply = client.authenticate(&short).await;
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("auth_expired"), Some(true)));
    assert!(client.closed().await);
}

#[tokio::test]
async fn a_session_ends_with_auth_expired_when_its_token_lapses_unless_refreshed() {
    let world = World::start().await;
    let mut lapsing = Client::connect(world.addr).await;
    lapsing.authenticate(&world.token_for(&world.alice, Some(2)).await).await;
    let mut refreshed = Client::connect(world.addr).await;
    refreshed.authenticate(&world.token_for(&world.alice, Some(2)).await).await;
    let fresh = world.token(&world.alice).await;
    refreshed.send(json!({ "type": "auth.refresh", "req_id": "req_r", "token": fresh })).await;
    assert_eq!(refreshed.next().await.unwrap(), json!({ "type": "auth.refreshed", "req_id": "req_r" }));

    let reply = lapsing.until(json!({ "type": "error" })).await;
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("auth_expired"), Some(true)));
    assert!(lapsing.closed().await);
    // The refreshed session outlives the first token.
    tokio::time::sleep(Duration::from_millis(500)).await;
    refreshed.send(json!({ "type": "ping", "req_id": "still" })).await;
    assert_eq!(refreshed.until(json!({ "type": "pong" })).await["req_id"], "still");
}

#[tokio::test]
async fn a_refresh_naming_another_user_is_refused_without_closing() {
    let world = World::start().await;
    let mut client = world.client(&world.alice).await;
    let bobs = world.token(&world.bob).await;
    client.send(json!({ "type": "auth.refresh", "req_id": "req_x", "token": bobs })).await;
    let reply = client.next().await.unwrap();
    assert_eq!(reply["code"], "auth_failed");
    assert_eq!(reply["req_id"], "req_x");
    assert!(reply.get("fatal").is_none(), "{reply}");
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn revoking_a_users_sessions_closes_their_live_sockets_with_session_revoked() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    world.post(&format!("/v1/users/{}/revoke_sessions", world.alice), None, json!({})).await;
    let reply = alice.next().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("session_revoked"), Some(true)));
    assert!(alice.closed().await);
    bob.send(json!({ "type": "ping" })).await;
    assert_eq!(bob.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn the_drop_signalling_helper_cuts_only_that_users_sockets_and_refuses_unknown_users() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    let mut bob = world.client(&world.bob).await;
    let cut = world
        .post(&format!("/_ds/users/{}/drop_signalling", world.alice), Some(&world.account), json!({}))
        .await;
    assert_eq!(cut["sockets_dropped"], 1, "{cut}");
    assert!(alice.closed().await);
    bob.send(json!({ "type": "ping" })).await;
    assert_eq!(bob.next().await.unwrap()["type"], "pong");
    let (status, body) = world
        .request(reqwest::Method::POST, "/_ds/users/user_nobody/drop_signalling", Some(&world.account), None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn a_sixth_session_replaces_the_oldest_with_session_replaced() {
    let world = World::start().await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(world.client(&world.alice).await);
    }
    let mut newest = world.client(&world.alice).await;
    let reply = sessions[0].next().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["fatal"].as_bool()), (Some("session_replaced"), Some(true)));
    assert!(sessions[0].closed().await);
    for session in sessions.iter_mut().skip(1).chain(std::iter::once(&mut newest)) {
        session.send(json!({ "type": "ping" })).await;
        assert_eq!(session.next().await.unwrap()["type"], "pong");
    }
}

#[tokio::test]
async fn commands_for_unknown_calls_client_offers_and_mute_get_the_specified_answers() {
    let world = World::start().await;
    let mut client = world.client(&world.alice).await;
    client.send(json!({ "type": "call.hangup", "call_id": "call_nope" })).await;
    let reply = client.next().await.unwrap();
    assert_eq!(
        (reply["code"].as_str(), reply["call_id"].as_str()),
        (Some("call_not_found"), Some("call_nope"))
    );
    // ICE frames for unknown ids (the client's req_ placeholders) and mute are silently accepted.
    client.send(json!({ "type": "ice.candidate", "call_id": "req_1", "candidate": "candidate:1", "sdp_mid": "0", "sdp_m_line_index": 0 })).await;
    client.send(json!({ "type": "ice.done", "call_id": "req_1" })).await;
    client.send(json!({ "type": "call.mute", "call_id": "call_nope" })).await;
    client.send(json!({ "type": "sdp.offer", "call_id": "call_x", "sdp": "v=0" })).await;
    assert_eq!(client.next().await.unwrap()["code"], "invalid_message");
    // A second authenticate is refused without closing.
    let token = world.token(&world.alice).await;
    client.send(json!({ "type": "authenticate", "req_id": "again", "token": token })).await;
    let reply = client.next().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["req_id"].as_str()), (Some("invalid_message"), Some("again")));
    // An unparseable destination is invalid_message, an unknown extension call_failed.
    client.send(json!({ "type": "call.create", "req_id": "d1", "destination": "hello", "sdp": "v=0" })).await;
    assert_eq!(client.next().await.unwrap()["code"], "invalid_message");
    client.send(json!({ "type": "call.create", "req_id": "d2", "destination": "999", "sdp": "v=0" })).await;
    let reply = client.next().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["req_id"].as_str()), (Some("call_failed"), Some("d2")));
}

#[tokio::test]
async fn presence_lists_colleagues_and_reports_users_it_cannot_watch() {
    let world = World::start().await;
    let mut alice = world.client(&world.alice).await;
    alice
        .send(json!({ "type": "presence.subscribe", "req_id": "req_pr", "users": [world.bob, "user_00000000000000000000000000"] }))
        .await;
    let list = alice.next().await.unwrap();
    assert_eq!(list["type"], "presence.list");
    assert_eq!(list["req_id"], "req_pr");
    assert_eq!(list["users"][0]["user_id"], world.bob.as_str());
    assert_eq!(list["users"][0]["status"], "offline");
    let error = alice.next().await.unwrap();
    assert_eq!(error["code"], "presence_unavailable");
    assert_eq!(error["context"]["users"][0], "user_00000000000000000000000000");
    let _bob = world.client(&world.bob).await;
    let update = alice.until(json!({ "type": "presence.update" })).await;
    assert_eq!(
        (update["user_id"].as_str(), update["status"].as_str()),
        (Some(world.bob.as_str()), Some("available"))
    );
    alice.send(json!({ "type": "presence.subscribe", "req_id": "req_empty", "users": [] })).await;
    assert_eq!(alice.until(json!({ "req_id": "req_empty" })).await["code"], "invalid_message");
}

#[tokio::test]
async fn an_emergency_address_binds_to_the_first_network_and_another_network_blocks_pstn_calls() {
    let world = World::start().await;
    let token = world.token(&world.alice).await;
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/me/emergency-addresses", world.base()))
        .bearer_auth(&token)
        .json(&json!({ "street": "1 Main St", "city": "Boston", "state": "MA", "postal_code": "02110" }))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{}", reply.status());
    let address = reply.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let authenticate = |id: &str| json!({ "type": "authenticate", "req_id": id, "token": token, "emergency_address_id": address });

    let mut office = Client::connect_from_network(world.addr, "office").await;
    office.send(authenticate("req_office")).await;
    assert_eq!(office.next().await.unwrap()["type"], "authenticated");
    office.send(json!({ "type": "ping" })).await;
    assert_eq!(office.next().await.unwrap()["type"], "pong", "no network.changed on the bound network");

    let mut home = Client::connect_from_network(world.addr, "home").await;
    home.send(authenticate("req_home")).await;
    assert_eq!(home.next().await.unwrap()["type"], "authenticated");
    assert_eq!(home.next().await.unwrap(), json!({ "type": "network.changed" }));
    home.send(
        json!({ "type": "call.create", "req_id": "req_pstn", "destination": "+16175551234", "sdp": "v=0" }),
    )
    .await;
    let refused = home.next().await.unwrap();
    assert_eq!(
        (refused["code"].as_str(), refused["req_id"].as_str()),
        (Some("emergency_address_required"), Some("req_pstn"))
    );
    // Colleagues stay reachable.
    home.send(json!({ "type": "call.create", "req_id": "req_ext", "destination": "102", "sdp": "v=0" }))
        .await;
    assert_eq!(home.next().await.unwrap()["type"], "call.trying");

    // An address that is not the user's: non-fatal invalid_message echoing the req_id.
    let mut other = Client::connect(world.addr).await;
    other
        .send(json!({ "type": "authenticate", "req_id": "req_bad", "token": token, "emergency_address_id": "emerg_00000000000000000000000000" }))
        .await;
    let reply = other.next().await.unwrap();
    assert_eq!(
        (reply["code"].as_str(), reply["req_id"].as_str()),
        (Some("invalid_message"), Some("req_bad"))
    );
    assert!(reply.get("fatal").is_none());
    assert!(other.closed().await);
}

#[tokio::test]
async fn the_server_pings_and_a_client_that_answers_stays_connected() {
    let timers = ds_local::signalling::Timers {
        ping_interval: Duration::from_millis(100),
        pong_grace: Duration::from_millis(300),
        ..signalling_support::test_timers()
    };
    let world = World::start_with(timers).await;
    let mut client = world.client(&world.alice).await;
    let (pings, open) = client.pings_within(Duration::from_millis(1200)).await;
    assert!(pings >= 3, "only {pings} pings");
    assert!(open, "closed despite pongs: {:?}", client.seen);
    assert!(!client.seen.iter().any(|f| f["code"] == "idle_timeout"), "{:?}", client.seen);
}
