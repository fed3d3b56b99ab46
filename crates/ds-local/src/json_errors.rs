//! Last line of defence for the error contract: any 4xx/5xx response that is not JSON (axum's
//! built-in rejections such as a bad path segment, a panic-free framework refusal, a static
//! file 404) is rewritten into the platform's JSON error body.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use ds_protocol::rest::ErrorBody;

/// Plain-text rejection bodies are short; anything longer is not worth echoing.
const MAX_ECHOED_BODY: usize = 4096;

pub async fn middleware(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_ECHOED_BODY)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let code = match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "resource_missing",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 | 422 => "validation_error",
        429 => "rate_limited",
        _ if status.is_server_error() => "internal_error",
        _ => "invalid_request",
    };
    let body = ErrorBody { error: text, code: Some(code.to_owned()), details: None };
    let bytes = serde_json::to_vec(&body).expect("an error body serialises");
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}
