//! The route table: one list from which both the router and `/api/openapi.yaml` are built, so
//! the document cannot drift from what is served.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, delete, get, post};
use ds_protocol::Health;

use crate::AppState;
use crate::auth::{Caller, account_header, bearer};
use crate::error::ApiError;
use crate::tokens::AuthError;

pub mod accounts;
pub mod admin;
pub mod calls;
pub mod events;
pub mod me;
pub mod number_orders;
pub mod routing;
pub mod sessions;
pub mod users;
pub mod voice_apps;
pub mod voicemail;
pub mod webhook_endpoints;

/// Which credential a route takes (documentation and OpenAPI `security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// API key, no `DialStack-Account`.
    Platform,
    /// API key; or an account session, for its own account only (rest.md §2: a session may read
    /// and update its own account).
    PlatformOrOwnAccount,
    /// API key + `DialStack-Account`, or an account session.
    Account,
    /// API key + `DialStack-Account` only: a back end steering the account's calls (rest.md
    /// §13.3 call control); account sessions and user tokens are refused.
    AccountKey,
    /// As `Account`, and user tokens for their own data.
    AccountOrUser,
    /// User token.
    User,
}

/// One operation.
pub struct ApiRoute {
    pub method: Method,
    /// axum path syntax, which is also OpenAPI's (`/v1/users/{id}`).
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Tag for grouping in the document.
    pub tag: &'static str,
    pub handler: MethodRouter<AppState>,
    /// The credential may come as `?access_token=` (RFC 6750 §2.3) when no `Authorization`
    /// header is sent: only for the event stream, because a browser's `EventSource` cannot send
    /// headers.
    pub token_in_query: bool,
}

impl ApiRoute {
    fn with_token_in_query(mut self) -> Self {
        self.token_in_query = true;
        self
    }
}

fn route(
    method: Method,
    path: &'static str,
    tag: &'static str,
    access: Access,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute { method, path, summary, access, tag, handler, token_in_query: false }
}

/// Every operation ds-local serves.
pub fn table() -> Vec<ApiRoute> {
    use Access::*;
    use Method as M;
    let mut table = vec![
        route(M::GET, "/healthz", "ds-local", Public, "Liveness and version", get(healthz)),
        route(
            M::GET,
            "/api/openapi.yaml",
            "ds-local",
            Public,
            "This OpenAPI document",
            get(crate::openapi::serve),
        ),
        route(
            M::GET,
            "/.well-known/jwks.json",
            "Sessions",
            Public,
            "Public keys of ds-local's tokens",
            get(sessions::jwks),
        ),
        route(M::POST, "/v1/accounts", "Accounts", Platform, "Create an account", post(accounts::create)),
        route(M::GET, "/v1/accounts", "Accounts", Platform, "List accounts", get(accounts::list)),
        route(
            M::GET,
            "/v1/accounts/{id}",
            "Accounts",
            PlatformOrOwnAccount,
            "Retrieve an account",
            get(accounts::get),
        ),
        route(
            M::POST,
            "/v1/accounts/{id}",
            "Accounts",
            PlatformOrOwnAccount,
            "Update an account",
            post(accounts::update),
        ),
        route(
            M::DELETE,
            "/v1/accounts/{id}",
            "Accounts",
            Platform,
            "Delete an account and all it owns",
            delete(accounts::delete),
        ),
        route(
            M::POST,
            "/v1/account_sessions",
            "Sessions",
            Platform,
            "Mint an account session secret",
            post(sessions::create_account_session),
        ),
        route(
            M::POST,
            "/v1/user_sessions",
            "Sessions",
            Platform,
            "Mint a user token",
            post(sessions::create_user_session),
        ),
        route(
            M::POST,
            "/v1/users/{id}/revoke_sessions",
            "Sessions",
            Platform,
            "Revoke every token of a user",
            post(sessions::revoke_sessions),
        ),
        route(M::POST, "/v1/users", "Users", Account, "Create a user", post(users::create)),
        route(M::GET, "/v1/users", "Users", Account, "List users", get(users::list)),
        route(M::GET, "/v1/users/{id}", "Users", Account, "Retrieve a user", get(users::get)),
        route(M::POST, "/v1/users/{id}", "Users", Account, "Update a user", post(users::update)),
        route(M::DELETE, "/v1/users/{id}", "Users", Account, "Delete a user", delete(users::delete)),
        route(M::GET, "/v1/calls", "Calls", AccountOrUser, "List call logs", get(calls::list)),
        route(M::POST, "/v1/calls", "Calls", Account, "Click-to-call", post(calls::create)),
        route(M::GET, "/v1/calls/{id}", "Calls", AccountOrUser, "Retrieve a call log", get(calls::get)),
        route(M::GET, "/v1/events", "Events", Account, "Account event stream (SSE)", get(events::stream))
            .with_token_in_query(),
        route(M::GET, "/v1/webrtc/ice-servers", "Me", User, "ICE servers for WebRTC", get(me::ice_servers)),
        route(M::GET, "/v1/me/directory", "Me", User, "Colleagues visible to this user", get(me::directory)),
        route(
            M::POST,
            "/v1/me/emergency-addresses",
            "Me",
            User,
            "Add an emergency address",
            post(me::create_emergency_address),
        ),
        route(
            M::GET,
            "/v1/me/emergency-addresses",
            "Me",
            User,
            "List emergency addresses",
            get(me::list_emergency_addresses),
        ),
        route(
            M::GET,
            "/v1/me/emergency-addresses/{id}",
            "Me",
            User,
            "Retrieve an emergency address",
            get(me::get_emergency_address),
        ),
        route(
            M::DELETE,
            "/v1/me/emergency-addresses/{id}",
            "Me",
            User,
            "Delete an emergency address",
            delete(me::delete_emergency_address),
        ),
        route(
            M::DELETE,
            "/v1/me/emergency-addresses/{id}/registered_ip",
            "Me",
            User,
            "Unbind an address from its IP",
            delete(me::clear_registered_ip),
        ),
        route(
            M::POST,
            "/v1/webhook_endpoints",
            "Webhooks",
            Platform,
            "Create a webhook endpoint (secret shown once)",
            post(webhook_endpoints::create),
        ),
        route(
            M::GET,
            "/v1/webhook_endpoints",
            "Webhooks",
            Platform,
            "List webhook endpoints",
            get(webhook_endpoints::list),
        ),
        route(
            M::GET,
            "/v1/webhook_endpoints/{id}",
            "Webhooks",
            Platform,
            "Retrieve a webhook endpoint",
            get(webhook_endpoints::get),
        ),
        route(
            M::POST,
            "/v1/webhook_endpoints/{id}",
            "Webhooks",
            Platform,
            "Update a webhook endpoint",
            post(webhook_endpoints::update),
        ),
        route(
            M::DELETE,
            "/v1/webhook_endpoints/{id}",
            "Webhooks",
            Platform,
            "Delete a webhook endpoint",
            delete(webhook_endpoints::delete),
        ),
        route(
            M::POST,
            "/v1/test_helpers/events",
            "Test helpers",
            Account,
            "Emit one canned event",
            post(admin::emit_test_event),
        ),
        route(
            M::GET,
            "/_ds/platform",
            "ds-local",
            Platform,
            "Platform webhook settings",
            get(admin::get_platform),
        ),
        route(
            M::POST,
            "/_ds/platform",
            "ds-local",
            Platform,
            "Set the platform webhook_url",
            post(admin::update_platform),
        ),
    ];
    table.extend(routing::table());
    table.extend(number_orders::table());
    table.extend(voicemail::table());
    table.extend(voice_apps::table());
    table
}

/// The router of every table route, plus JSON 404s for unknown API paths.
pub fn api_router(state: &AppState) -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for mut entry in table() {
        if entry.access != Access::Public {
            let access = entry.access;
            let token_in_query = entry.token_in_query;
            entry.handler = entry.handler.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                move |State(state): State<AppState>, request: Request, next: Next| {
                    check_access(access, token_in_query, state, request, next)
                },
            ));
        }
        let merged = match by_path.remove(entry.path) {
            Some(existing) => existing.merge(entry.handler),
            None => entry.handler,
        };
        by_path.insert(entry.path, merged);
    }
    let mut router = Router::new();
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    // Unknown API paths are JSON 404s even when a static fallback serves everything else.
    router.route("/v1/{*rest}", any(not_found)).route("/_ds/{*rest}", any(not_found))
}

/// Verifies the credential and its kind against the route's [`Access`] before the handler's
/// extractors run (so the body of a caller who may not call the route is never parsed), and
/// hands the verified [`Caller`] on to the handler.
async fn check_access(
    access: Access,
    token_in_query: bool,
    state: AppState,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let verified = if token_in_query && bearer(&parts.headers).is_none() {
        caller_from_query_token(&parts, &state)
    } else {
        Caller::from_request_parts(&mut parts, &state).await
    };
    let caller = match verified {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = caller.admits(access) {
        return error.into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

fn caller_from_query_token(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let token = parts
        .uri
        .query()
        .and_then(|query| {
            form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "access_token").map(|(_, v)| v)
        })
        .ok_or(AuthError::Missing)?;
    Ok(Caller::from_credential(state, &token, account_header(&parts.headers))?)
}

pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() })
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
