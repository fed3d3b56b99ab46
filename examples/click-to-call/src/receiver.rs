//! The webhook handler (`POST /webhooks/dialstack`) and a read-only view of the table
//! (`GET /calls`, `GET /calls/{id}`), as an axum `Router`.
//!
//! The body is taken as raw bytes: the signature covers the bytes as sent, and re-serialising
//! parsed JSON would not reproduce them.

use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::signature::{self, SIGNATURE_HEADER, SignatureError};
use crate::store::{Applied, Store, StoreError};

/// Where DialStack posts events.
pub const WEBHOOK_PATH: &str = "/webhooks/dialstack";

/// The handler's state: the table and the endpoint secrets it trusts.
#[derive(Clone)]
pub struct Receiver {
    store: Store,
    /// Several secrets may be trusted at once (one per registered endpoint, or during rotation);
    /// the list starts empty because the secret only exists once the endpoint is registered,
    /// which needs this server's URL first.
    secrets: Arc<RwLock<Vec<String>>>,
    now_unix: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("secrets", &self.secrets.read().map(|s| s.len())).finish()
    }
}

impl Receiver {
    /// A receiver on the system clock.
    pub fn new(store: Store) -> Self {
        Self::with_clock(store, Arc::new(system_now_unix))
    }

    /// A receiver whose idea of "now" is `now_unix` (seconds), for the freshness check.
    pub fn with_clock(store: Store, now_unix: Arc<dyn Fn() -> i64 + Send + Sync>) -> Self {
        Self { store, secrets: Arc::default(), now_unix }
    }

    /// Trusts deliveries signed with `secret` from now on.
    pub fn trust_secret(&self, secret: impl Into<String>) {
        self.secrets.write().expect("secret list lock is never poisoned").push(secret.into());
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn router(self) -> Router {
        Router::new()
            .route(WEBHOOK_PATH, post(receive_webhook))
            .route("/calls", get(list_calls))
            .route("/calls/{call_id}", get(get_call))
            .with_state(self)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
        let header = match headers.get(SIGNATURE_HEADER) {
            Some(value) => Some(value.to_str().map_err(|_| SignatureError::Malformed)?),
            None => None,
        };
        let now = (self.now_unix)();
        let secrets = self.secrets.read().expect("secret list lock is never poisoned").clone();
        // Missing, malformed and stale do not depend on the secret: the first answer is final.
        for secret in &secrets {
            match signature::verify(secret, header, body, now) {
                Err(SignatureError::Mismatch) => continue,
                decided => return decided,
            }
        }
        Err(SignatureError::Mismatch)
    }
}

fn system_now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

/// A plain JSON error reply.
fn refuse(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn receive_webhook(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(error) = receiver.verify(&headers, &body) {
        tracing::warn!(%error, "webhook refused");
        // 400 rather than 2xx: a genuine sender with a skewed clock sees the refusal and retries.
        return refuse(StatusCode::BAD_REQUEST, error);
    }
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("the body is not JSON: {error}")),
    };
    match receiver.store.apply(&event).await {
        Ok(applied) => {
            tracing::info!(
                event = %event["id"], r#type = %event["type"], call = %event["data"]["call_id"], ?applied,
                "webhook accepted"
            );
            let outcome = match applied {
                Applied::Upserted => "upserted",
                Applied::Duplicate => "duplicate",
                Applied::Ignored => "ignored",
            };
            (StatusCode::OK, Json(json!({ "received": true, "outcome": outcome }))).into_response()
        }
        // A signed event we cannot use: acknowledging would lose nothing we could ever store.
        Err(StoreError::MissingField(field)) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("the event has no {field}"))
        }
        // Our database failed: a 5xx makes DialStack deliver the event again later.
        Err(error) => {
            tracing::error!(%error, "cannot store the webhook");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the event right now")
        }
    }
}

async fn list_calls(State(receiver): State<Receiver>) -> Response {
    match receiver.store.calls().await {
        Ok(calls) => Json(json!({ "data": calls })).into_response(),
        Err(error) => refuse(StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}

async fn get_call(State(receiver): State<Receiver>, Path(call_id): Path<String>) -> Response {
    match receiver.store.call(&call_id).await {
        Ok(Some(call)) => Json(call).into_response(),
        Ok(None) => refuse(StatusCode::NOT_FOUND, format!("no webhook has mentioned {call_id} yet")),
        Err(error) => refuse(StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}
