//! `/v1/webhook_endpoints` (rest.md §17.3): API key only. Without `DialStack-Account` the
//! platform-global endpoints are managed; with it, that account's own endpoints.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::events::is_known_event_type;
use ds_protocol::rest::{
    CreateWebhookEndpointRequest, ListEnvelope, UpdateWebhookEndpointRequest, WebhookEndpoint,
};
use sqlx::{QueryBuilder, Sqlite};

use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;

/// Which endpoints the caller manages: `None` = platform-global, `Some(acct)` = account-scoped.
async fn owner(state: &AppState, caller: &Caller) -> Result<(Option<String>, bool), ApiError> {
    let livemode = caller.require_platform()?;
    if caller.account_header.is_some() {
        let scope = caller.account(state, false).await?;
        Ok((Some(scope.account_id), livemode))
    } else {
        Ok((None, livemode))
    }
}

/// A callback URL ds-local will call (webhook endpoints, voice apps): absolute http(s) with a
/// host, at most 2,048 bytes.
pub(crate) fn validate_url(url: &str) -> Result<(), ApiError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    if !rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')) || url.len() > 2048 {
        return Err(ApiError::invalid_field("url", "must be an http(s) URL"));
    }
    Ok(())
}

fn validate_events(events: &[String]) -> Result<(), ApiError> {
    if events.is_empty() {
        return Err(ApiError::invalid_field("enabled_events", "must not be empty"));
    }
    if let Some(unknown) = events.iter().find(|e| *e != "*" && !is_known_event_type(e)) {
        return Err(ApiError::invalid_field("enabled_events", format!("unknown event type {unknown}")));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    account_id: Option<String>,
    url: String,
    enabled_events: String,
    status: String,
    description: Option<String>,
    livemode: bool,
    created_at: i64,
}

impl EndpointRow {
    fn into_endpoint(self) -> WebhookEndpoint {
        WebhookEndpoint {
            id: self.id,
            object: "webhook_endpoint".to_owned(),
            url: self.url,
            livemode: self.livemode,
            enabled_events: serde_json::from_str(&self.enabled_events).unwrap_or_default(),
            status: self.status,
            description: self.description,
            account: self.account_id,
            secret: None,
            created_at: iso(self.created_at),
        }
    }
}

const COLUMNS: &str = "id, account_id, url, enabled_events, status, description, livemode, created_at";

async fn fetch(
    state: &AppState,
    owner: &Option<String>,
    livemode: bool,
    id: &str,
) -> Result<EndpointRow, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = ? AND account_id IS ? AND livemode = ?"
    )))
    .bind(id)
    .bind(owner)
    .bind(livemode)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("webhook endpoint", id))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateWebhookEndpointRequest>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let (owner, livemode) = owner(&state, &caller).await?;
    let url = request.url.ok_or_else(|| ApiError::invalid_field("url", "is required"))?;
    validate_url(&url)?;
    let events = request.enabled_events.unwrap_or_else(|| vec!["*".to_owned()]);
    validate_events(&events)?;
    let now = state.clock().now_ms();
    let id = ids::new_id("we", now);
    let secret = ids::new_secret("whsec");
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, account_id, url, secret, enabled_events, status, description, livemode, created_at)
         VALUES (?, ?, ?, ?, ?, 'enabled', ?, ?, ?)",
    )
    .bind(&id)
    .bind(&owner)
    .bind(&url)
    .bind(&secret)
    .bind(serde_json::to_string(&events).expect("strings serialise"))
    .bind(&request.description)
    .bind(livemode)
    .bind(now)
    .execute(state.db())
    .await?;
    let mut endpoint = fetch(&state, &owner, livemode, &id).await?.into_endpoint();
    // Shown once, here only (rest.md §17.3).
    endpoint.secret = Some(secret);
    Ok(Json(endpoint))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let (owner, livemode) = owner(&state, &caller).await?;
    Ok(Json(fetch(&state, &owner, livemode, &id).await?.into_endpoint()))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateWebhookEndpointRequest>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let (owner, livemode) = owner(&state, &caller).await?;
    let current = fetch(&state, &owner, livemode, &id).await?;
    let url = request.url.unwrap_or(current.url);
    validate_url(&url)?;
    let events = match request.enabled_events {
        Some(events) => events,
        None => serde_json::from_str(&current.enabled_events).unwrap_or_default(),
    };
    validate_events(&events)?;
    let status = request.status.unwrap_or(current.status);
    if status != "enabled" && status != "disabled" {
        return Err(ApiError::invalid_field("status", "must be enabled or disabled"));
    }
    let description = request.description.unwrap_or(current.description);
    sqlx::query(
        "UPDATE webhook_endpoints SET url = ?, enabled_events = ?, status = ?, description = ? WHERE id = ?",
    )
    .bind(&url)
    .bind(serde_json::to_string(&events).expect("strings serialise"))
    .bind(&status)
    .bind(&description)
    .bind(&id)
    .execute(state.db())
    .await?;
    Ok(Json(fetch(&state, &owner, livemode, &id).await?.into_endpoint()))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (owner, livemode) = owner(&state, &caller).await?;
    fetch(&state, &owner, livemode, &id).await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?").bind(&id).execute(state.db()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<WebhookEndpoint>>, ApiError> {
    let (owner, livemode) = owner(&state, &caller).await?;
    let pager =
        Pager::new(state.db(), "/v1/webhook_endpoints", &params, "webhook_endpoints", "created_at", None)
            .await?;
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE account_id IS "));
    query.push_bind(owner).push(" AND livemode = ").push_bind(livemode);
    pager.push_window(&mut query, "created_at");
    let rows: Vec<EndpointRow> = query.build_query_as().fetch_all(state.db()).await?;
    let endpoints = rows.into_iter().map(EndpointRow::into_endpoint).collect();
    Ok(Json(pager.envelope(endpoints, |e: &WebhookEndpoint| &e.id)))
}
