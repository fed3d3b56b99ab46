//! Voice apps (rest.md §14.1–14.2), the fixtures endpoint that gives seed objects their chosen
//! ids (rest.md §19.3), and call control (`POST /v1/calls/{id}`, rest.md §13.3).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use ds_protocol::rest::ListEnvelope;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{QueryBuilder, Sqlite};

use super::webhook_endpoints::validate_url;
use super::{Access, ApiRoute, route};
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;
use crate::signalling::hub::{ControlAction, ControlError};

pub fn table() -> Vec<ApiRoute> {
    use Access::{Account, AccountKey, Platform};
    use Method as M;
    vec![
        route(M::POST, "/v1/voice-apps", "Voice apps", Account, "Create a voice app", post(create)),
        route(M::GET, "/v1/voice-apps", "Voice apps", Account, "List voice apps", get(list)),
        route(M::GET, "/v1/voice-apps/{id}", "Voice apps", Account, "Retrieve a voice app", get(get_one)),
        route(M::POST, "/v1/voice-apps/{id}", "Voice apps", Account, "Update a voice app", post(update)),
        route(M::DELETE, "/v1/voice-apps/{id}", "Voice apps", Account, "Delete a voice app", delete(remove)),
        route(
            M::POST,
            "/v1/calls/{id}",
            "Calls",
            AccountKey,
            "Control a live call (attach a media WebSocket, transfer)",
            post(control),
        ),
        route(
            M::POST,
            "/_ds/fixtures",
            "ds-local",
            Platform,
            "Create objects with chosen ids (voice apps, schedules)",
            post(fixtures),
        ),
    ]
}

#[derive(sqlx::FromRow)]
struct VoiceAppRow {
    id: String,
    name: String,
    url: String,
    status: String,
    secret: String,
    created_at: i64,
    updated_at: i64,
}

impl VoiceAppRow {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "object": "voice_app", "name": self.name, "url": self.url,
            "status": self.status, "secret": self.secret,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, url, status, secret, created_at, updated_at";

/// `https://` on the platform; ds-local also takes `http://` (rest.md §14.2).
fn required_text(body: &Value, field: &str) -> Result<String, ApiError> {
    match body.get(field).and_then(Value::as_str).map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(ApiError::invalid_field(field, "is required")),
    }
}

async fn fetch(state: &AppState, scope: &AccountScope, id: &str) -> Result<VoiceAppRow, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM voice_apps WHERE account_id = ? AND id = ?"
    )))
    .bind(&scope.account_id)
    .bind(id)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("voice app", id))
}

async fn insert(state: &AppState, account_id: &str, id: &str, name: &str, url: &str) -> Result<(), ApiError> {
    let now = state.clock().now_ms();
    sqlx::query(
        "INSERT INTO voice_apps (id, account_id, name, url, status, secret, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
    )
    .bind(id)
    .bind(account_id)
    .bind(name)
    .bind(url)
    .bind(ids::new_secret("whsec"))
    .bind(now)
    .bind(now)
    .execute(state.db())
    .await
    .map_err(|error| match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            ApiError::Conflict { code: "resource_exists", message: format!("{id} already exists") }
        }
        other => other.into(),
    })?;
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let name = required_text(&body, "name")?;
    let url = required_text(&body, "url")?;
    validate_url(&url)?;
    let id = ids::new_id("va", state.clock().now_ms());
    insert(&state, &scope.account_id, &id, &name, &url).await?;
    Ok(Json(fetch(&state, &scope, &id).await?.to_json()))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<Value>>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let pager = Pager::new(
        state.db(),
        "/v1/voice-apps",
        &params,
        "voice_apps",
        "created_at",
        Some(&scope.account_id),
    )
    .await?;
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM voice_apps WHERE account_id = "));
    query.push_bind(scope.account_id.clone());
    pager.push_window(&mut query, "created_at");
    let rows: Vec<VoiceAppRow> = query.build_query_as().fetch_all(state.db()).await?;
    let data = rows.iter().map(VoiceAppRow::to_json).collect();
    Ok(Json(pager.envelope(data, |value: &Value| value["id"].as_str().unwrap_or_default())))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    Ok(Json(fetch(&state, &scope, &id).await?.to_json()))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let current = fetch(&state, &scope, &id).await?;
    let name = match body.get("name") {
        None => current.name,
        Some(_) => required_text(&body, "name")?,
    };
    let url = match body.get("url") {
        None => current.url,
        Some(_) => required_text(&body, "url")?,
    };
    validate_url(&url)?;
    let status = match body.get("status") {
        None => current.status,
        Some(Value::String(status)) if status == "active" || status == "inactive" => status.clone(),
        Some(_) => return Err(ApiError::invalid_field("status", "must be active or inactive")),
    };
    sqlx::query(
        "UPDATE voice_apps SET name = ?, url = ?, status = ?, updated_at = ? WHERE account_id = ? AND id = ?",
    )
    .bind(name)
    .bind(url)
    .bind(status)
    .bind(state.clock().now_ms())
    .bind(&scope.account_id)
    .bind(&id)
    .execute(state.db())
    .await?;
    Ok(Json(fetch(&state, &scope, &id).await?.to_json()))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, false).await?;
    let done = sqlx::query("DELETE FROM voice_apps WHERE account_id = ? AND id = ?")
        .bind(&scope.account_id)
        .bind(&id)
        .execute(state.db())
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("voice app", id));
    }
    if let Some(hub) = state.signalling() {
        hub.voice_app_deleted(&scope.account_id, &id);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct FixturesRequest {
    pub account: String,
    pub objects: Vec<Value>,
}

/// `POST /_ds/fixtures` (rest.md §19.3): voice apps and schedules with caller-chosen ids, so the
/// seed's `va_ai_receptionist` and `sch_business_hours` can exist. Same validation as the
/// public create endpoints except the id; returns the created objects.
pub async fn fixtures(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<FixturesRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require_platform()?;
    let scope = AccountScope { account_id: request.account.clone(), user_id: None };
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id = ?")
        .bind(&scope.account_id)
        .fetch_one(state.db())
        .await?;
    if exists == 0 {
        return Err(ApiError::not_found("account", &scope.account_id));
    }
    let mut created = Vec::new();
    for (index, object) in request.objects.iter().enumerate() {
        let id = required_text(object, "id")
            .map_err(|_| ApiError::invalid_field(&format!("objects[{index}].id"), "is required"))?;
        match object.get("kind").and_then(Value::as_str) {
            Some("voice_app") if id.starts_with("va_") => {
                let name = required_text(object, "name")?;
                let url = required_text(object, "url")?;
                validate_url(&url)?;
                insert(&state, &scope.account_id, &id, &name, &url).await?;
                created.push(fetch(&state, &scope, &id).await?.to_json());
            }
            Some("schedule") if ds_routing::is_schedule_id(&id) => {
                let mut body = object.clone();
                if let Some(map) = body.as_object_mut() {
                    map.remove("kind");
                }
                created.push(super::routing::create_schedule_with_id(&state, &scope, &id, body).await?);
            }
            Some("voice_app" | "schedule") => {
                return Err(ApiError::invalid_field(&format!("objects[{index}].id"), "has the wrong prefix"));
            }
            _ => {
                return Err(ApiError::invalid_field(
                    &format!("objects[{index}].kind"),
                    "must be voice_app or schedule",
                ));
            }
        }
    }
    Ok(Json(json!({ "account": scope.account_id, "objects": created })))
}

/// `POST /v1/calls/{id}` body (rest.md §13.3).
#[derive(Debug, Deserialize)]
pub struct ControlRequest {
    pub actions: Option<Vec<Value>>,
}

fn parse_action(index: usize, action: &Value) -> Result<ControlAction, ApiError> {
    let field = |name: &str| format!("actions[{index}].{name}");
    let text = |name: &str| {
        action
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::invalid_field(&field(name), "is required"))
    };
    match action.get("type").and_then(Value::as_str) {
        Some("attach") => {
            let url = text("url")?;
            if !(url.starts_with("wss://") || url.starts_with("ws://")) {
                return Err(ApiError::Unprocessable {
                    code: "invalid_url",
                    message: format!("{}: must be a wss:// (or loopback ws://) URL", field("url")),
                });
            }
            Ok(ControlAction::Attach { url })
        }
        Some("transfer") => {
            match action.get("mode").and_then(Value::as_str) {
                None | Some("blind") => {}
                Some(_) => return Err(ApiError::invalid_field(&field("mode"), "only blind is supported")),
            }
            Ok(ControlAction::Transfer { target: text("target")? })
        }
        _ => Err(ApiError::invalid_field(&field("type"), "must be attach or transfer")),
    }
}

pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ControlRequest>,
) -> Result<StatusCode, ApiError> {
    // rest.md §13.3: call control is a back end's act, with the platform key and the account
    // header; the components' account sessions and softphone tokens never steer calls.
    caller.require_platform()?;
    let scope = caller.account(&state, false).await?;
    let actions = request.actions.ok_or_else(|| ApiError::invalid_field("actions", "is required"))?;
    let actions = actions
        .iter()
        .enumerate()
        .map(|(index, action)| parse_action(index, action))
        .collect::<Result<Vec<_>, _>>()?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE id = ? AND account_id = ?")
        .bind(&id)
        .bind(&scope.account_id)
        .fetch_one(state.db())
        .await?;
    if known == 0 {
        return Err(ApiError::not_found("call", &id));
    }
    let Some(hub) = state.signalling() else {
        return Err(ApiError::Internal("signalling is not running on this server".to_owned()));
    };
    for action in actions {
        hub.control(&scope.account_id, &id, action).await.map_err(|error| match error {
            ControlError::NotFound => ApiError::not_found("call", &id),
            ControlError::NotActive => {
                ApiError::Conflict { code: "call_not_active", message: format!("call {id} has ended") }
            }
            ControlError::AlreadyAttached => ApiError::Conflict {
                code: "already_attached",
                message: format!("a media session is already open on {id}"),
            },
            ControlError::NotControllable => ApiError::Conflict {
                code: "not_controllable",
                message: format!("{id} is not held by a control-mode voice app"),
            },
            ControlError::InvalidTarget(message) => {
                ApiError::Unprocessable { code: "invalid_target", message }
            }
        })?;
    }
    Ok(StatusCode::OK)
}
