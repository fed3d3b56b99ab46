//! Per-user REST: directory, emergency addresses, ICE servers (protocol.md §11.2–11.4).

mod common;

use axum::http::{Method, StatusCode};
use common::{KEY, Platform};
use serde_json::json;

const ADDRESS: &str =
    r#"{"address_number":"12","street":"Main St","city":"Boston","state":"ma","postal_code":"02110"}"#;

#[tokio::test]
async fn directory_lists_colleagues_but_not_the_user_itself() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice Smith").await;
    let bob = platform.create_user(&account, "Bob Jones").await;
    let other = platform.create_account("x@c.test").await;
    platform.create_user(&other, "Stranger").await;
    let token = platform.user_token(&alice).await;
    let reply = platform.get("/v1/me/directory", &token, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["object"], "list");
    assert_eq!(reply.body["data"], json!([{ "user": bob, "display_name": "Bob Jones" }]));
}

#[tokio::test]
async fn emergency_addresses_are_created_listed_read_and_deleted() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let token = platform.user_token(&alice).await;
    let body: serde_json::Value = serde_json::from_str(ADDRESS).unwrap();
    let created = platform.post("/v1/me/emergency-addresses", &token, None, body).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("emerg_"));
    assert_eq!(created.body["address"]["state"], "MA");
    assert_eq!(created.body["address"]["country"], "US");
    assert_eq!(created.body["registered_ip"], serde_json::Value::Null);
    assert!(created.body["address"]["formatted_address"].as_str().unwrap().contains("Boston"));
    let list = platform.get("/v1/me/emergency-addresses", &token, None).await;
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    let one = platform.get(&format!("/v1/me/emergency-addresses/{id}"), &token, None).await;
    assert_eq!(one.body, created.body);
    let unbind = platform
        .call(
            Method::DELETE,
            &format!("/v1/me/emergency-addresses/{id}/registered_ip"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(unbind.status, StatusCode::NO_CONTENT);
    let deleted = platform
        .call(Method::DELETE, &format!("/v1/me/emergency-addresses/{id}"), Some(&token), None, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        platform.get(&format!("/v1/me/emergency-addresses/{id}"), &token, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_invalid_street_is_a_422_and_missing_fields_a_400() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let token = platform.user_token(&alice).await;
    let invalid =
        json!({ "street": "1 INVALID Road", "city": "Boston", "state": "MA", "postal_code": "02110" });
    let reply = platform.post("/v1/me/emergency-addresses", &token, None, invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "address_invalid");
    let missing = json!({ "city": "Boston", "state": "MA", "postal_code": "02110" });
    let reply = platform.post("/v1/me/emergency-addresses", &token, None, missing).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "validation_error");
    let list = platform.get("/v1/me/emergency-addresses", &token, None).await;
    assert!(list.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn another_users_address_is_not_found() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.user_token(&platform.create_user(&account, "Alice").await).await;
    let bob = platform.user_token(&platform.create_user(&account, "Bob").await).await;
    let body: serde_json::Value = serde_json::from_str(ADDRESS).unwrap();
    let created = platform.post("/v1/me/emergency-addresses", &alice, None, body).await;
    let id = created.body["id"].as_str().unwrap();
    let peek = platform.get(&format!("/v1/me/emergency-addresses/{id}"), &bob, None).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    assert!(!peek.text.contains("Boston"));
    assert!(
        platform.get("/v1/me/emergency-addresses", &bob, None).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let delete = platform
        .call(Method::DELETE, &format!("/v1/me/emergency-addresses/{id}"), Some(&bob), None, None)
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(
        platform.get(&format!("/v1/me/emergency-addresses/{id}"), &alice, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn ice_servers_need_a_user_token() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    assert_eq!(
        platform.get("/v1/webrtc/ice-servers", KEY, Some(&account)).await.status,
        StatusCode::FORBIDDEN
    );
    let none = platform.call(Method::GET, "/v1/webrtc/ice-servers", None, None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}
