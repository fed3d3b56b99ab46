//! Accounts and users (rest.md §3, §4) and list pagination (rest.md §1.5).

mod common;

use axum::http::{Method, StatusCode};
use common::{KEY, Platform};
use serde_json::json;

#[tokio::test]
async fn seed_shape_account_gets_every_config_default() {
    let platform = Platform::new().await;
    let reply = platform.post("/v1/accounts", KEY, None, json!({ "email": "contact@joneschiro.com" })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap();
    assert!(id.starts_with("acct_") && id.len() == 31, "{id}");
    assert_eq!(reply.body["email"], "contact@joneschiro.com");
    assert_eq!(reply.body["primary_contact_name"], serde_json::Value::Null);
    assert_eq!(
        reply.body["config"],
        json!({ "region": "US", "extension_length": 4, "transcription_enabled": true,
                "recording_enabled": true, "redaction_enabled": false, "timezone": "UTC",
                "default_agent_visible": null })
    );
    assert_eq!(reply.body["tos_status"], "not_required");
    let fetched = platform.get(&format!("/v1/accounts/{id}"), KEY, None).await;
    assert_eq!(fetched.body, reply.body);
}

#[tokio::test]
async fn sdk_shape_account_is_accepted_and_bad_ones_refused() {
    let platform = Platform::new().await;
    let sdk = json!({ "email": "o@c.test", "primary_contact_name": "Dr. Ortiz",
        "address": { "street": "Main St", "city": "Boston", "state": "MA", "postal_code": "02110", "country": "US" },
        "pricing": { "per_user_rate": 1500, "per_did_rate": 200, "per_voiceai_location_rate": 0 },
        "config": { "timezone": "America/New_York", "extension_length": 3 } });
    let reply = platform.post("/v1/accounts", KEY, None, sdk).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["primary_contact_name"], "Dr. Ortiz");
    assert_eq!(reply.body["config"]["timezone"], "America/New_York");
    assert_eq!(reply.body["config"]["extension_length"], 3);
    for bad in [
        json!({}),
        json!({ "email": "not-an-email" }),
        json!({ "email": "a@b.c", "config": { "region": "USA" } }),
    ] {
        let refused = platform.post("/v1/accounts", KEY, None, bad).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.error_code(), "validation_error");
    }
    let missing = platform.get("/v1/accounts/acct_01k1n3p5r7t9v1w3x5y7z9a1b3", KEY, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "resource_missing");
}

#[tokio::test]
async fn users_are_created_read_updated_and_deleted() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let empty = platform.post("/v1/users", KEY, Some(&account), json!({})).await;
    assert_eq!(empty.status, StatusCode::OK, "an empty body is valid: {}", empty.text);
    assert_eq!(empty.body["name"], serde_json::Value::Null);
    let reply = platform
        .post(
            "/v1/users",
            KEY,
            Some(&account),
            json!({ "name": "Dr. Alice Smith", "email": "alice@c.test", "extension": "101" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("user_"));
    assert_eq!(reply.body["config"], json!({ "mobile_push_wakeup": false }));
    assert_eq!(reply.body["do_not_disturb"], false);
    let expanded = platform.get(&format!("/v1/users/{id}?expand[]=extensions"), KEY, Some(&account)).await;
    assert_eq!(expanded.body["extensions"]["data"][0]["number"], "101");
    assert_eq!(expanded.body["extensions"]["data"][0]["target"], id.as_str());
    // Partial update: omitted keys stay, explicit null clears, explicit false is honoured.
    let update = platform
        .post(
            &format!("/v1/users/{id}"),
            KEY,
            Some(&account),
            json!({ "email": null, "do_not_disturb": true }),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK, "{}", update.text);
    assert_eq!(update.body["name"], "Dr. Alice Smith");
    assert_eq!(update.body["email"], serde_json::Value::Null);
    assert_eq!(update.body["do_not_disturb"], true);
    let off = platform
        .post(&format!("/v1/users/{id}"), KEY, Some(&account), json!({ "do_not_disturb": false }))
        .await;
    assert_eq!(off.body["do_not_disturb"], false);
    let search = platform.get("/v1/users?search=alice", KEY, Some(&account)).await;
    assert_eq!(search.body["data"].as_array().unwrap().len(), 1);
    let deleted =
        platform.call(Method::DELETE, &format!("/v1/users/{id}"), Some(KEY), Some(&account), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    let gone = platform.get(&format!("/v1/users/{id}"), KEY, Some(&account)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let again =
        platform.call(Method::DELETE, &format!("/v1/users/{id}"), Some(KEY), Some(&account), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn duplicate_email_and_extension_are_conflicts() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let first = platform
        .post("/v1/users", KEY, Some(&account), json!({ "email": "a@c.test", "extension": "101" }))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let email = platform.post("/v1/users", KEY, Some(&account), json!({ "email": "A@c.test" })).await;
    assert_eq!(email.status, StatusCode::CONFLICT);
    assert_eq!(email.error_code(), "email_taken");
    assert!(email.body["error"].as_str().unwrap().contains("already exists"));
    let extension = platform.post("/v1/users", KEY, Some(&account), json!({ "extension": "101" })).await;
    assert_eq!(extension.status, StatusCode::CONFLICT);
    assert_eq!(extension.error_code(), "extension_taken");
    // The refused create left nothing behind.
    let list = platform.get("/v1/users", KEY, Some(&account)).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    // Another account may reuse both.
    let other = platform.create_account("p@c.test").await;
    let reuse = platform
        .post("/v1/users", KEY, Some(&other), json!({ "email": "a@c.test", "extension": "101" }))
        .await;
    assert_eq!(reuse.status, StatusCode::OK);
}

#[tokio::test]
async fn lists_page_newest_first_with_relative_urls() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(platform.create_user(&account, &format!("User {n}")).await);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    created.reverse();
    let first = platform.get("/v1/users?limit=2", KEY, Some(&account)).await;
    assert_eq!(first.body["object"], "list");
    assert_eq!(first.body["url"], "/v1/users");
    assert_eq!(first.body["previous_page_url"], serde_json::Value::Null);
    let ids = |reply: &common::Reply| -> Vec<String> {
        reply.body["data"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), created[..2]);
    let next = first.body["next_page_url"].as_str().unwrap();
    assert!(next.starts_with("/v1/users?"), "{next}");
    let second = platform.get(next, KEY, Some(&account)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(ids(&second), created[2..4]);
    let third = platform.get(second.body["next_page_url"].as_str().unwrap(), KEY, Some(&account)).await;
    assert_eq!(ids(&third), created[4..]);
    assert_eq!(third.body["next_page_url"], serde_json::Value::Null);
    let back = platform.get(third.body["previous_page_url"].as_str().unwrap(), KEY, Some(&account)).await;
    assert_eq!(ids(&back), created[2..4]);
}

#[tokio::test]
async fn bad_limits_and_cursors_are_refused() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    for path in ["/v1/users?limit=0", "/v1/users?limit=101", "/v1/users?limit=abc"] {
        let reply = platform.get(path, KEY, Some(&account)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.error_code(), "validation_error");
    }
    for path in ["/v1/users?page=pg_8f2c1e", "/v1/users?page=eyJ4IjoxfQ", "/v1/calls?page=%%%"] {
        let reply = platform.get(path, KEY, Some(&account)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.text);
        assert_eq!(reply.error_code(), "invalid_pagination");
    }
}

#[tokio::test]
async fn accounts_list_is_platform_level() {
    let platform = Platform::new().await;
    let a = platform.create_account("a@c.test").await;
    let b = platform.create_account("b@c.test").await;
    let list = platform.get("/v1/accounts", KEY, None).await;
    let ids: Vec<&str> =
        list.body["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
}

#[tokio::test]
async fn account_updates_merge_config_and_delete_removes_everything_it_owns() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let updated = platform
        .post(
            &format!("/v1/accounts/{account}"),
            KEY,
            None,
            json!({ "primary_contact_name": "Dr. Jones", "config": { "timezone": "America/Chicago" } }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["email"], "o@c.test", "omitted keys stay");
    assert_eq!(updated.body["primary_contact_name"], "Dr. Jones");
    assert_eq!(updated.body["config"]["timezone"], "America/Chicago");
    assert_eq!(updated.body["config"]["region"], "US", "config is merged key by key");
    let bad = platform
        .post(&format!("/v1/accounts/{account}"), KEY, None, json!({ "config": { "extension_length": 9 } }))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let user = platform.create_user(&account, "A").await;
    let session = platform.session(&account).await;
    let token = platform.user_token(&user).await;
    let refused =
        platform.call(Method::DELETE, &format!("/v1/accounts/{account}"), Some(&session), None, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let deleted =
        platform.call(Method::DELETE, &format!("/v1/accounts/{account}"), Some(KEY), None, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        platform.get(&format!("/v1/accounts/{account}"), KEY, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(platform.get("/v1/users", &session, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(platform.get("/v1/me/directory", &token, None).await.status, StatusCode::UNAUTHORIZED);
    let users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(platform.state.db()).await.unwrap();
    assert_eq!(users, 0);
}
