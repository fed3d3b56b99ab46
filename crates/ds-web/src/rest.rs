//! REST calls (through the one `fetch` path of `crate::http`).

use ds_protocol::Health;
use ds_protocol::json::Json;

/// Why a REST call failed, in terms the UI can explain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// The server could not be reached at all (offline, refused, CORS).
    #[error("the server at {base} could not be reached")]
    Unreachable { base: String },
    /// The server answered with a non-success status.
    #[error("the server answered {status}")]
    Status { status: u16 },
    /// The server answered 2xx with a body we could not read.
    #[error("the server sent a reply we do not understand: {0}")]
    BadBody(String),
}

/// `GET {api_base}/healthz`.
pub async fn fetch_health(api_base: &str) -> Result<Health, RestError> {
    let base = api_base.trim_end_matches('/');
    let response = crate::http::fetch("GET", &format!("{base}/healthz"), None, None)
        .await
        .map_err(|_| RestError::Unreachable { base: base.to_owned() })?;
    if !response.ok() {
        return Err(RestError::Status { status: response.status });
    }
    let text = response.text.map_err(RestError::BadBody)?;
    let value = Json::parse(&text).map_err(|e| RestError::BadBody(e.to_string()))?;
    Health::from_json(&value).map_err(RestError::BadBody)
}

/// What a REST error body says, whichever of the three shapes of protocol.md §9.2 it came in:
/// `{"error": "text", "code"?}`, `{"message": "text"}`, `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub message: String,
    pub code: Option<String>,
}

/// Reads a REST error body; `None` when it is not one of the known shapes.
pub fn parse_error_body(body: &str) -> Option<ErrorDetail> {
    let value = Json::parse(body.trim()).ok()?;
    let text = |v: Option<&Json>| v.and_then(|v| v.as_str()).map(str::to_owned);
    match value.get("error") {
        Some(Json::String(message)) => {
            Some(ErrorDetail { message: message.clone(), code: text(value.get("code")) })
        }
        Some(nested @ Json::Object(_)) => Some(ErrorDetail {
            message: text(nested.get("message")).unwrap_or_default(),
            code: text(nested.get("code")),
        }),
        _ => text(value.get("message")).map(|message| ErrorDetail { message, code: text(value.get("code")) }),
    }
}

/// The human-readable part of a REST error body, for messages.
pub fn error_message(body: &str) -> Option<String> {
    parse_error_body(body).map(|d| match d.code {
        Some(code) if !d.message.is_empty() => format!("{code}: {}", d.message),
        Some(code) => code,
        None => d.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_error_body_shapes_are_understood() {
        assert_eq!(
            parse_error_body(r#"{"error":"bad token","code":"auth_failed"}"#),
            Some(ErrorDetail { message: "bad token".into(), code: Some("auth_failed".into()) })
        );
        assert_eq!(
            parse_error_body(r#"{"message":"slow down"}"#),
            Some(ErrorDetail { message: "slow down".into(), code: None })
        );
        assert_eq!(
            parse_error_body(r#"{"error":{"code":"validation_error","message":"limit too big"}}"#),
            Some(ErrorDetail { message: "limit too big".into(), code: Some("validation_error".into()) })
        );
        assert_eq!(error_message(r#"{"error":{"code":"x","message":"y"}}"#).as_deref(), Some("x: y"));
    }

    #[test]
    fn non_error_bodies_are_not_mistaken_for_errors() {
        assert_eq!(parse_error_body("<html>502</html>"), None);
        assert_eq!(parse_error_body(r#"{"data":[]}"#), None);
    }
}
