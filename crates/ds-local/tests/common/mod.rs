//! Shared test harness: an in-memory (or on-disk) ds-local driven through `oneshot`, plus a
//! real-socket server on 127.0.0.1 when a test needs one.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use ds_local::{AppState, Config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const KEY: &str = "sk_test_local";

/// One response, body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the platform's error body shape and returns its `code`.
    pub fn error_code(&self) -> String {
        assert!(self.body["error"].is_string(), "not an error body: {}", self.text);
        self.body["code"].as_str().unwrap_or_default().to_owned()
    }
}

pub struct Platform {
    pub state: AppState,
}

impl Platform {
    pub async fn new() -> Self {
        Self::with_config(Config::in_memory()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("ds_local=debug").try_init();
        Self { state: AppState::open(config).await.expect("ds-local opens") }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        account: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            request = request.header("authorization", format!("Bearer {auth}"));
        }
        if let Some(account) = account {
            request = request.header("dialstack-account", account);
        }
        let body = match body {
            Some(body) => Body::from(body.to_string()),
            None => Body::empty(),
        };
        self.send(request.header("content-type", "application/json").body(body).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = ds_local::app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, auth: &str, account: Option<&str>) -> Reply {
        self.call(Method::GET, path, Some(auth), account, None).await
    }

    pub async fn post(&self, path: &str, auth: &str, account: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, Some(auth), account, Some(body)).await
    }

    pub async fn create_account(&self, email: &str) -> String {
        let reply = self.post("/v1/accounts", KEY, None, json!({ "email": email })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_user(&self, account: &str, name: &str) -> String {
        let reply = self.post("/v1/users", KEY, Some(account), json!({ "name": name })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn user_token(&self, user: &str) -> String {
        let reply = self.post("/v1/user_sessions", KEY, None, json!({ "user": user })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["client_secret"].as_str().unwrap().to_owned()
    }

    pub async fn session(&self, account: &str) -> String {
        let body = json!({ "account": account, "components": { "call_history": { "enabled": true } } });
        let reply = self.post("/v1/account_sessions", KEY, None, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["client_secret"].as_str().unwrap().to_owned()
    }

    /// Serves the app on 127.0.0.1:0; the server stops when the returned handle is aborted.
    pub async fn serve(&self) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        serve(self.state.clone()).await
    }
}

pub async fn serve(state: AppState) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = ds_local::app(state);
    let task = tokio::spawn(async move {
        ds_local::server::serve(listener, app, Default::default(), std::future::pending()).await.unwrap();
    });
    (addr, task)
}

/// A clock the test moves by hand.
pub fn manual_clock(config: &mut Config) -> Arc<ds_local::ManualClock> {
    let clock = Arc::new(ds_local::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-09-01T14:00:00Z").unwrap().with_timezone(&chrono::Utc),
    ));
    config.clock = clock.clone();
    clock
}
