//! Typed errors rendered as the platform's JSON error body (protocol.md §9.2, rest.md §1.6).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ds_protocol::rest::ErrorBody;
use serde_json::Value;

use crate::tokens::AuthError;

/// Everything a handler can refuse with. Each variant has one status and one stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    MalformedJson { message: String },
    #[error("{message}")]
    Validation { message: String, details: Option<Value> },
    #[error("invalid pagination cursor")]
    InvalidPagination,
    #[error("the DialStack-Account header is required with an API key on this path")]
    AccountHeaderRequired,
    #[error("{0}")]
    Unauthenticated(#[from] AuthError),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("no such {kind}: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("too many requests")]
    RateLimited { retry_after_seconds: u64 },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("internal error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation { message: message.into(), details: None }
    }

    /// A validation error whose `details` maps the field path to the reason.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::Validation {
            message: format!("{field}: {reason}"),
            details: Some(serde_json::json!({ field: reason })),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { kind, id: id.into() }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson { .. }
            | Self::Validation { .. }
            | Self::InvalidPagination
            | Self::AccountHeaderRequired
            | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson { .. } => "invalid_json",
            Self::Validation { .. } => "validation_error",
            Self::InvalidPagination => "invalid_pagination",
            Self::AccountHeaderRequired => "account_header_required",
            Self::Unauthenticated(error) => error.code(),
            Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::BadRequest { code, .. } => code,
            Self::NotFound { .. } => "resource_missing",
            Self::RouteNotFound(_) => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Database(_) | Self::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The cause stays in the log; the body says nothing about internals.
            tracing::error!(error = ?self, "request failed");
        }
        let details = match &self {
            Self::Validation { details, .. } => details.clone(),
            _ => None,
        };
        let body = ErrorBody { error: self.to_string(), code: Some(self.code().to_owned()), details };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after_seconds } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge { limit: crate::BODY_LIMIT_BYTES },
            StatusCode::BAD_REQUEST => Self::MalformedJson { message: rejection.body_text() },
            _ => Self::validation(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::validation(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::validation(rejection.body_text())
    }
}

/// Classifies a serde_json failure: broken JSON is 400 `invalid_json`; JSON of the wrong shape
/// (missing field, wrong type) is 400 `validation_error` (rest.md §1.6: schema failures are 400).
pub fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::MalformedJson { message: format!("malformed JSON body: {error}") }
        }
        Category::Data => ApiError::validation(format!("invalid request body: {error}")),
    }
}
