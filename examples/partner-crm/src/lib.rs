//! The partner CRM's backend: serves the static page and the DialStack embed bundle, the
//! CRM's own patient records, and two same-origin token endpoints. The platform API key stays
//! here; the browser only ever receives short-lived user and account-session tokens.
//!
//! Routes:
//! - `GET /`, `/crm.js`, `/crm.css`: the page (`web/`);
//! - `GET /elements/…`: the embed bundle (`dist/elements/` from `cargo xtask dist`);
//! - `GET /api/config`: the DialStack API base the elements talk to, and who is signed in;
//! - `GET|POST /api/tokens/user`, `GET|POST /api/tokens/session`: `{ token, expires_at }`;
//! - `GET /api/patients`, `/api/patients/{id}`, `/api/patients/lookup?phone=…`.

pub mod minting;
pub mod patients;

use std::path::PathBuf;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::services::ServeDir;

pub use minting::{MintError, Minted, Minter};

/// The demo account and user seeded by `ds-local --demo` (stable ids; a test checks them).
pub const DEMO_ACCOUNT: &str = "acct_01kdvdna00fz7btw37kdd4db76";
/// Alice Smith (ext 101) of the demo account.
pub const DEMO_ALICE: &str = "user_01kdvdna00f3z8a5070sq1s6j6";

/// What the CRM backend is started with.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    pub minter: Minter,
    /// The DialStack API base as the browser reaches it (also allowed in the page's CSP).
    pub browser_api_base: String,
    /// The page's static files.
    pub web_dir: PathBuf,
    /// The built embed bundle.
    pub elements_dir: PathBuf,
}

impl CrmConfig {
    /// The page and bundle folders of this checkout (`examples/partner-crm/web`, `dist/elements`).
    pub fn default_web_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
    }

    pub fn default_elements_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dist/elements")
    }
}

/// The Content-Security-Policy of every response: no inline scripts or styles anywhere; WASM
/// may compile; the page may talk to itself and to the DialStack API (HTTP, SSE, WebSocket).
pub fn content_security_policy(api_base: &str) -> String {
    let api = api_base.trim_end_matches('/');
    let socket = api.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         connect-src 'self' {api} {socket}; img-src 'self' data:; media-src 'self' blob: data:; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

pub fn app(config: CrmConfig) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(&config.browser_api_base))
        .expect("an API base URL makes a valid header value");
    let web = ServeDir::new(&config.web_dir);
    let elements = ServeDir::new(&config.elements_dir);
    Router::new()
        .route("/api/config", get(page_config))
        .route("/api/tokens/user", get(user_token).post(user_token))
        .route("/api/tokens/session", get(session_token).post(session_token))
        .route("/api/patients", get(list_patients))
        .route("/api/patients/lookup", get(lookup_patient))
        .route("/api/patients/{id}", get(get_patient))
        .nest_service("/elements", elements)
        .fallback_service(web)
        .layer(axum::middleware::map_response(move |mut response: Response| {
            let csp = csp.clone();
            async move {
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_SECURITY_POLICY, csp);
                headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                response
            }
        }))
        .with_state(config)
}

async fn page_config(State(config): State<CrmConfig>) -> Json<serde_json::Value> {
    Json(json!({
        "api_base": config.browser_api_base.trim_end_matches('/'),
        "account": config.minter.account,
        "user": config.minter.user,
    }))
}

// In a real CRM these two endpoints sit behind the CRM's own login, and the user minted for is
// the DialStack user mapped to the signed-in staff member. Other origins cannot read the
// answers: no CORS headers are sent.
async fn user_token(State(config): State<CrmConfig>) -> Response {
    token_reply(config.minter.user_token().await)
}

async fn session_token(State(config): State<CrmConfig>) -> Response {
    token_reply(config.minter.account_session().await)
}

fn token_reply(result: Result<Minted, MintError>) -> Response {
    let mut response = match result {
        Ok(minted) => Json(minted).into_response(),
        Err(error) => {
            tracing::warn!(%error, "token minting failed");
            (StatusCode::BAD_GATEWAY, Json(json!({ "error": error.to_string() }))).into_response()
        }
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn list_patients() -> Json<serde_json::Value> {
    Json(json!({ "data": patients::PATIENTS }))
}

async fn get_patient(Path(id): Path<String>) -> Response {
    match patients::by_id(&id) {
        Some(patient) => Json(patient).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no patient {id}") }))).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    phone: Option<String>,
}

/// `{found, patient?}`: the shape of DialStack's customer-lookup hook (protocol.md §13).
async fn lookup_patient(Query(query): Query<LookupQuery>) -> Response {
    let Some(phone) = query.phone.filter(|p| !p.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "the phone query parameter is required" })))
            .into_response();
    };
    match patients::by_phone(&phone) {
        Some(patient) => Json(json!({ "found": true, "patient": patient })).into_response(),
        None => Json(json!({ "found": false })).into_response(),
    }
}
