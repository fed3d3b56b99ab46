//! Accounts (rest.md §3): platform-level; an account session may read its own account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::rest::{
    Account, AccountConfig, AccountConfigInput, CreateAccountRequest, ListEnvelope, UpdateAccountRequest,
};
use sqlx::{QueryBuilder, Sqlite};

use crate::AppState;
use crate::auth::{Caller, Credential};
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    email: Option<String>,
    primary_contact_name: Option<String>,
    config: String,
    created_at: i64,
    updated_at: i64,
}

impl AccountRow {
    fn into_account(self) -> Account {
        Account {
            id: self.id,
            email: self.email,
            primary_contact_name: self.primary_contact_name,
            config: serde_json::from_str(&self.config).unwrap_or_default(),
            hold_music_clip_id: None,
            main_location_id: None,
            default_button_template: None,
            // Every ds-local account is a sandbox account (rest.md §3.1).
            tos_status: "not_required".to_owned(),
            tos_accepted_at: None,
            created_at: iso(self.created_at),
            updated_at: iso(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, email, primary_contact_name, config, created_at, updated_at";

fn validate_email(email: &str) -> Result<(), ApiError> {
    if email.len() > 254 || !email.contains('@') || email.trim() != email {
        return Err(ApiError::invalid_field("email", "must be an email address"));
    }
    Ok(())
}

/// Applies the keys present in `input` to `config` (rest.md §3.1 validation).
fn merge_config(
    mut config: AccountConfig,
    input: Option<&AccountConfigInput>,
) -> Result<AccountConfig, ApiError> {
    if let Some(input) = input {
        if let Some(region) = &input.region {
            if region.len() != 2 || !region.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ApiError::invalid_field("config.region", "must be a two-letter country code"));
            }
            config.region = region.to_ascii_uppercase();
        }
        if let Some(length) = input.extension_length {
            if !(3..=6).contains(&length) {
                return Err(ApiError::invalid_field("config.extension_length", "must be from 3 to 6"));
            }
            config.extension_length = length;
        }
        config.transcription_enabled = input.transcription_enabled.unwrap_or(config.transcription_enabled);
        config.recording_enabled = input.recording_enabled.unwrap_or(config.recording_enabled);
        config.redaction_enabled = input.redaction_enabled.unwrap_or(config.redaction_enabled);
        if let Some(timezone) = &input.timezone {
            config.timezone = timezone.clone();
        }
        config.default_agent_visible = input.default_agent_visible.or(config.default_agent_visible);
    }
    Ok(config)
}

/// Inserts an account; shared with the demo seed.
pub(crate) async fn insert(
    db: &sqlx::SqlitePool,
    id: &str,
    request: &CreateAccountRequest,
    livemode: bool,
    now: i64,
) -> Result<(), ApiError> {
    let config = merge_config(AccountConfig::default(), request.config.as_ref())?;
    let address = request.address.as_ref().or(request.billing_address.as_ref());
    sqlx::query(
        "INSERT INTO accounts (id, email, primary_contact_name, config, address, pricing, livemode, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&request.email)
    .bind(&request.primary_contact_name)
    .bind(serde_json::to_string(&config).expect("config serialises"))
    .bind(address.map(|a| serde_json::to_string(a).expect("address serialises")))
    .bind(request.pricing.as_ref().map(|p| p.to_string()))
    .bind(livemode)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateAccountRequest>,
) -> Result<Json<Account>, ApiError> {
    let livemode = caller.require_platform()?;
    match &request.email {
        None => return Err(ApiError::invalid_field("email", "is required")),
        Some(email) => validate_email(email)?,
    }
    let now = state.clock().now_ms();
    let id = ids::new_id("acct", now);
    insert(state.db(), &id, &request, livemode, now).await?;
    Ok(Json(fetch(&state, &id).await?))
}

async fn fetch(state: &AppState, id: &str) -> Result<Account, ApiError> {
    sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(state.db())
    .await?
    .map(AccountRow::into_account)
    .ok_or_else(|| ApiError::not_found("account", id))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    match &caller.credential {
        Credential::ApiKey { .. } => {}
        // An account session reads its own account only; another id looks like a missing one.
        Credential::AccountSession(session) if session.account_id == id => {}
        Credential::AccountSession(_) => return Err(ApiError::not_found("account", id)),
        Credential::User(_) => {
            return Err(ApiError::forbidden("user_token_not_allowed", "a user token cannot read accounts"));
        }
    }
    Ok(Json(fetch(&state, &id).await?))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<Account>>, ApiError> {
    caller.require_platform()?;
    let pager = Pager::new(state.db(), "/v1/accounts", &params, "accounts", "created_at", None).await?;
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM accounts WHERE 1 = 1"));
    pager.push_window(&mut query, "created_at");
    let rows: Vec<AccountRow> = query.build_query_as().fetch_all(state.db()).await?;
    let accounts = rows.into_iter().map(AccountRow::into_account).collect();
    Ok(Json(pager.envelope(accounts, |a: &Account| &a.id)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateAccountRequest>,
) -> Result<Json<Account>, ApiError> {
    caller.require_platform()?;
    let current = fetch(&state, &id).await?;
    let email = request.email.or(current.email);
    if let Some(email) = &email {
        validate_email(email)?;
    }
    let name = request.primary_contact_name.unwrap_or(current.primary_contact_name);
    let config = merge_config(current.config, request.config.as_ref())?;
    sqlx::query(
        "UPDATE accounts SET email = ?, primary_contact_name = ?, config = ?, updated_at = ? WHERE id = ?",
    )
    .bind(email)
    .bind(name)
    .bind(serde_json::to_string(&config).expect("config serialises"))
    .bind(state.clock().now_ms())
    .bind(&id)
    .execute(state.db())
    .await?;
    Ok(Json(fetch(&state, &id).await?))
}

/// Deletes the account and everything it owns (rest.md §3.2 [open]): users, extensions, DIDs,
/// calls, addresses and endpoints cascade; its event log and pending webhooks go too. Tokens of
/// the account stop working because the account no longer exists.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_platform()?;
    let mut tx = state.db().begin().await?;
    let deleted = sqlx::query("DELETE FROM accounts WHERE id = ?").bind(&id).execute(&mut *tx).await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::not_found("account", id));
    }
    for table in ["events", "event_sequences", "webhook_outbox"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE account_id = ?")))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
