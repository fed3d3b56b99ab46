//! Bad input gets a clear JSON error and loses nothing; the server keeps serving. Also request
//! ids, CORS and idempotency keys (rest.md §1.1, §1.6).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{KEY, Platform};
use serde_json::json;

fn raw(method: Method, path: &str, account: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request =
        Request::builder().method(method).uri(path).header("authorization", format!("Bearer {KEY}"));
    if let Some(account) = account {
        request = request.header("dialstack-account", account);
    }
    request.header("content-type", "application/json").body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_json_body() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    for body in ["{", "{\"name\": }", "not json", "[1,2"] {
        let reply = platform.send(raw(Method::POST, "/v1/users", Some(&account), body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "invalid_json");
        assert_eq!(reply.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn wrong_types_are_a_400_validation_error() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    for body in [json!({ "name": 5 }), json!({ "email": ["a@b.c"] }), json!([1, 2])] {
        let reply = platform.post("/v1/users", KEY, Some(&account), body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "validation_error");
    }
    let reply =
        platform.post("/v1/user_sessions", KEY, None, json!({ "user": "u", "ttl_seconds": "long" })).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "validation_error");
}

#[tokio::test]
async fn oversized_bodies_are_a_json_413() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(ds_local::BODY_LIMIT_BYTES + 10));
    let reply = platform.send(raw(Method::POST, "/v1/users", Some(&account), big.clone())).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_code(), "payload_too_large");
    // Also on the idempotency path, which buffers the body itself.
    let mut request = raw(Method::POST, "/v1/users", Some(&account), big);
    request.headers_mut().insert("idempotency-key", "k1".parse().unwrap());
    let reply = platform.send(request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    reply.error_code();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let platform = Platform::new().await;
    let missing = platform.get("/v1/no-such-thing", KEY, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "route_not_found");
    let method = platform.call(Method::PUT, "/v1/users", Some(KEY), None, None).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.error_code(), "method_not_allowed");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let platform = Platform::new().await;
    let ok = platform.call(Method::GET, "/healthz", None, None, None).await;
    let error = platform.get("/v1/users", "nope", None).await;
    let missing = platform.get("/v1/nothing", KEY, None).await;
    for reply in [ok, error, missing] {
        let id = reply.headers["x-request-id"].to_str().unwrap();
        assert!(id.starts_with("req_"), "{id}");
    }
}

#[tokio::test]
async fn cors_allows_component_origins() {
    let platform = Platform::new().await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/calls")
        .header("origin", "http://127.0.0.1:9000")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,dialstack-account,last-event-id,idempotency-key",
        )
        .body(Body::empty())
        .unwrap();
    let reply = platform.send(preflight).await;
    assert!(reply.status.is_success());
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    let allowed = reply.headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for header in ["authorization", "dialstack-account", "last-event-id", "idempotency-key"] {
        assert!(allowed.contains(header), "{allowed}");
    }
    let mut request = raw(Method::GET, "/healthz", None, Body::empty());
    request.headers_mut().insert("origin", "http://127.0.0.1:9000".parse().unwrap());
    let reply = platform.send(request).await;
    assert!(reply.headers["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response_and_refuses_a_different_body() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let post = |body: &'static str, key: &'static str, credential_account: Option<String>| {
        let mut request = raw(Method::POST, "/v1/users", credential_account.as_deref(), body);
        request.headers_mut().insert("idempotency-key", key.parse().unwrap());
        request
    };
    let first = platform.send(post(r#"{"name":"Ann"}"#, "key-1", Some(account.clone()))).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = platform.send(post(r#"{"name":"Ann"}"#, "key-1", Some(account.clone()))).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "same stored response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let list = platform.get("/v1/users", KEY, Some(&account)).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1, "created once");
    let reused = platform.send(post(r#"{"name":"Bob"}"#, "key-1", Some(account.clone()))).await;
    assert_eq!(reused.status, StatusCode::CONFLICT);
    assert_eq!(reused.error_code(), "idempotency_key_reused");
    // Keys are per credential/account: another account may use the same key.
    let other = platform.create_account("p@c.test").await;
    let elsewhere = platform.send(post(r#"{"name":"Bob"}"#, "key-1", Some(other))).await;
    assert_eq!(elsewhere.status, StatusCode::OK);
    assert_ne!(elsewhere.body["id"], first.body["id"]);
}

#[tokio::test]
async fn the_server_keeps_serving_after_bad_requests_on_a_real_socket() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let (addr, server) = platform.serve().await;
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let bad_bodies: Vec<Vec<u8>> =
        vec![b"{".to_vec(), b"\xff\xfe".to_vec(), vec![b'x'; ds_local::BODY_LIMIT_BYTES + 1]];
    for body in bad_bodies {
        let response = client
            .post(format!("{base}/v1/users"))
            .bearer_auth(KEY)
            .header("dialstack-account", &account)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["error"].is_string());
    }
    let garbage = client.get(format!("{base}/v1/users")).bearer_auth("x.y.z").send().await.unwrap();
    assert_eq!(garbage.status(), reqwest::StatusCode::UNAUTHORIZED);
    let ok = client
        .post(format!("{base}/v1/users"))
        .bearer_auth(KEY)
        .header("dialstack-account", &account)
        .json(&json!({ "name": "Still here" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    server.abort();
}

#[tokio::test]
async fn framework_rejections_are_json_too() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    // A path segment that is not UTF-8 fails axum's own `Path` extractor.
    let reply = platform.get("/v1/users/%FF%FE", KEY, Some(&account)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert!(!reply.error_code().is_empty());
    let preflight_like = platform.call(Method::PATCH, "/v1/users", Some(KEY), Some(&account), None).await;
    assert_eq!(preflight_like.status, StatusCode::METHOD_NOT_ALLOWED);
    preflight_like.error_code();
}
