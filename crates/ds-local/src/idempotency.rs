//! `Idempotency-Key` on POST (rest.md §1.1): the first response to `(credential, key)` is kept
//! for 24 h and replayed verbatim; the same key with a different body → 409
//! `idempotency_key_reused`. 5xx responses are not kept, so a retry after a fault runs again.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::ids;

const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Stored responses larger than this are not worth keeping (lists are GETs anyway).
const MAX_STORED_RESPONSE: usize = 4 * 1024 * 1024;

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    ids::hex(&hasher.finalize())
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned)
    else {
        return next.run(request).await;
    };
    match run(&state, key, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(state: &AppState, key: String, request: Request, next: Next) -> Result<Response, ApiError> {
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid_field("Idempotency-Key", "must be 1 to 255 characters"));
    }
    // Keyed per credential and account: another caller's key never collides with ours.
    let scope = {
        let header =
            |name: &str| request.headers().get(name).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
        sha256_hex(&[&header("authorization"), &header("dialstack-account")])
    };
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, crate::BODY_LIMIT_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: crate::BODY_LIMIT_BYTES })?;
    let request_hash = sha256_hex(&[parts.method.as_str().as_bytes(), parts.uri.path().as_bytes(), &body]);
    let now = state.clock().now_ms();
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(now - RETENTION_MS)
        .execute(state.db())
        .await?;
    let stored: Option<(String, i64, Vec<u8>)> =
        sqlx::query_as("SELECT request_hash, status, body FROM idempotency_keys WHERE scope = ? AND key = ?")
            .bind(&scope)
            .bind(&key)
            .fetch_optional(state.db())
            .await?;
    if let Some((stored_hash, status, stored_body)) = stored {
        if stored_hash != request_hash {
            return Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was used with a different request".to_owned(),
            });
        }
        let mut response = Response::new(Body::from(stored_body));
        *response.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }
    let response = next.run(axum::http::Request::from_parts(parts, Body::from(body))).await;
    if response.status().is_server_error() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_STORED_RESPONSE)
        .await
        .map_err(|error| ApiError::Internal(format!("cannot buffer response: {error}")))?;
    sqlx::query(
        "INSERT OR IGNORE INTO idempotency_keys (scope, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&scope)
    .bind(&key)
    .bind(&request_hash)
    .bind(parts.status.as_u16() as i64)
    .bind(bytes.to_vec())
    .bind(now)
    .execute(state.db())
    .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
