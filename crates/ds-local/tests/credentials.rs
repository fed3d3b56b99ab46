//! Credentials: API keys, account sessions and user tokens, and every refusal (protocol.md §3,
//! §16.10; rest.md §1.2).

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{KEY, Platform, manual_clock};
use serde_json::json;

fn claims_for(user: &str, account: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "iss": "ds-local", "sub": user, "acct": account, "scope": "user", "iat": now,
            "exp": now + 3600, "jti": "tok_forged" })
}

#[tokio::test]
async fn a_minted_user_token_opens_the_per_user_routes() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "Dr. Ortiz").await;
    let reply = platform.post("/v1/user_sessions", KEY, None, json!({ "user": user })).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["user"], user.as_str());
    assert_eq!(reply.body["account"], account.as_str());
    assert!(reply.body["expires_at"].as_str().unwrap().ends_with('Z'));
    let token = reply.body["client_secret"].as_str().unwrap();
    // The payload carries the claims of protocol.md §16.10.
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], "ds-local");
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["acct"], account.as_str());
    assert_eq!(claims["scope"], "user");
    assert!(claims["iat"].is_i64() && claims["exp"].is_i64() && claims["jti"].is_string());
    let ice = platform.get("/v1/webrtc/ice-servers", token, None).await;
    assert_eq!(ice.status, StatusCode::OK, "{}", ice.text);
    assert!(ice.body["ice_servers"].is_array());
    assert!(ice.body["expires_at"].is_string());
}

#[tokio::test]
async fn missing_and_garbage_credentials_are_refused_with_401() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let missing = platform.call(Method::GET, "/v1/users", None, Some(&account), None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.error_code(), "missing_credential");
    for garbage in ["garbage", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "sk_test_not_the_key", "pk_test_123"] {
        let reply = platform.get("/v1/users", garbage, Some(&account)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{garbage}: {}", reply.text);
        reply.error_code();
    }
}

#[tokio::test]
async fn expired_token_is_refused_with_401() {
    let mut config = ds_local::Config::in_memory();
    let clock = manual_clock(&mut config);
    let platform = Platform::with_config(config).await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let reply =
        platform.post("/v1/user_sessions", KEY, None, json!({ "user": user, "ttl_seconds": 60 })).await;
    let token = reply.body["client_secret"].as_str().unwrap().to_owned();
    let session = platform.session(&account).await;
    clock.advance(chrono::Duration::seconds(60 + 25));
    assert_eq!(
        platform.get("/v1/me/directory", &token, None).await.status,
        StatusCode::OK,
        "inside the 30 s leeway"
    );
    clock.advance(chrono::Duration::seconds(10));
    let expired = platform.get("/v1/me/directory", &token, None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.error_code(), "token_expired");
    clock.advance(chrono::Duration::hours(1));
    let expired_session = platform.get("/v1/users", &session, None).await;
    assert_eq!(expired_session.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoked_token_is_refused_and_a_new_one_works() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let old = platform.user_token(&user).await;
    let reply = platform.post(&format!("/v1/users/{user}/revoke_sessions"), KEY, None, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["user"], user.as_str());
    let refused = platform.get("/v1/me/directory", &old, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error_code(), "session_revoked");
    let fresh = platform.user_token(&user).await;
    assert_eq!(platform.get("/v1/me/directory", &fresh, None).await.status, StatusCode::OK);
    // The reusable verifier agrees.
    let now = platform.state.clock().now();
    assert!(platform.state.tokens().verify_user_token(&old, now).is_err());
    assert_eq!(platform.state.tokens().verify_user_token(&fresh, now).unwrap().user_id, user);
}

#[tokio::test]
async fn alg_none_forgery_is_refused_with_401() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims_for(&user, &account).to_string());
    for forged in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        let reply = platform.get("/v1/me/directory", &forged, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert!(reply.body.get("data").is_none());
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused_with_401() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let jwks = platform.call(Method::GET, "/.well-known/jwks.json", None, None, None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    let x = key["x"].as_str().unwrap();
    let raw = platform.state.tokens().public_key();
    assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap(), raw);
    let claims = claims_for(&user, &account);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    for secret in [raw.to_vec(), x.as_bytes().to_vec()] {
        let forged =
            jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(&secret)).unwrap();
        let reply = platform.get("/v1/me/directory", &forged, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert_eq!(reply.error_code(), "invalid_token");
    }
}

#[tokio::test]
async fn session_token_on_a_platform_route_is_refused() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let session = platform.session(&account).await;
    let token = platform.user_token(&user).await;
    for credential in [&session, &token] {
        let body = json!({ "account": account, "components": { "call_logs": { "enabled": true } } });
        let mint = platform.post("/v1/account_sessions", credential, None, body).await;
        assert_eq!(mint.status, StatusCode::FORBIDDEN, "{}", mint.text);
        assert_eq!(mint.error_code(), "platform_key_required");
        let user_session =
            platform.post("/v1/user_sessions", credential, None, json!({ "user": user })).await;
        assert_eq!(user_session.status, StatusCode::FORBIDDEN);
        let list = platform.get("/v1/accounts", credential, None).await;
        assert_eq!(list.status, StatusCode::FORBIDDEN);
        assert!(list.body.get("data").is_none());
    }
}

#[tokio::test]
async fn account_session_reads_its_own_account_and_not_another() {
    let platform = Platform::new().await;
    let a = platform.create_account("a@clinic.test").await;
    let b = platform.create_account("b@clinic.test").await;
    let user_b = platform.create_user(&b, "Bea").await;
    let session_a = platform.session(&a).await;
    assert_eq!(platform.get(&format!("/v1/accounts/{a}"), &session_a, None).await.status, StatusCode::OK);
    let other_account = platform.get(&format!("/v1/accounts/{b}"), &session_a, None).await;
    assert_eq!(other_account.status, StatusCode::NOT_FOUND);
    assert!(other_account.body.get("email").is_none());
    let other_user = platform.get(&format!("/v1/users/{user_b}"), &session_a, None).await;
    assert_eq!(other_user.status, StatusCode::NOT_FOUND);
    assert!(!other_user.text.contains("Bea"));
    let list = platform.get("/v1/users", &session_a, None).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 0);
    // Naming account B in the header with A's token is refused outright.
    let mismatch = platform.get("/v1/users", &session_a, Some(&b)).await;
    assert_eq!(mismatch.status, StatusCode::FORBIDDEN);
    assert_eq!(mismatch.error_code(), "account_mismatch");
}

#[tokio::test]
async fn api_key_needs_an_existing_account_header_on_account_routes() {
    let platform = Platform::new().await;
    let missing = platform.get("/v1/users", KEY, None).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_code(), "account_header_required");
    let unknown = platform.get("/v1/users", KEY, Some("acct_01k1n3p5r7t9v1w3x5y7z9a1b3")).await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    assert_eq!(unknown.error_code(), "account_not_accessible");
}

#[tokio::test]
async fn user_token_cannot_manage_users_or_read_other_users() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let token = platform.user_token(&alice).await;
    let users = platform.get("/v1/users", &token, None).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    let create = platform.post("/v1/users", &token, None, json!({ "name": "Mallory" })).await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    // A session or an API key cannot use the per-user routes.
    let session = platform.session(&account).await;
    assert_eq!(platform.get("/v1/me/directory", &session, None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(platform.get("/v1/me/directory", KEY, Some(&account)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_deleted_user_loses_its_tokens() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let token = platform.user_token(&user).await;
    let deleted =
        platform.call(Method::DELETE, &format!("/v1/users/{user}"), Some(KEY), Some(&account), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(platform.get("/v1/me/directory", &token, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn user_sessions_refuse_unknown_users_and_long_ttls() {
    let platform = Platform::new().await;
    let account = platform.create_account("owner@clinic.test").await;
    let user = platform.create_user(&account, "A").await;
    let unknown = platform
        .post("/v1/user_sessions", KEY, None, json!({ "user": "user_01k1n4a6c8e0g2j4m6p8r0t2v4" }))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "resource_missing");
    let long =
        platform.post("/v1/user_sessions", KEY, None, json!({ "user": user, "ttl_seconds": 604_801 })).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    let no_components = platform
        .post("/v1/account_sessions", KEY, None, json!({ "account": account, "components": {} }))
        .await;
    assert_eq!(no_components.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_components.error_code(), "validation_error");
}
