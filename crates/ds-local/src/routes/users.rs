//! Users (rest.md §4): account-scoped (API key + `DialStack-Account`, or an account session).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::rest::{CreateUserRequest, Extension, ListEnvelope, UpdateUserRequest, User, UserConfig};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    do_not_disturb: bool,
    mobile_push_wakeup: bool,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    fn into_user(self, extensions: Option<ListEnvelope<Extension>>) -> User {
        User {
            id: self.id,
            name: self.name,
            email: self.email,
            config: UserConfig { mobile_push_wakeup: self.mobile_push_wakeup },
            do_not_disturb: self.do_not_disturb,
            created_at: iso(self.created_at),
            updated_at: iso(self.updated_at),
            extensions,
        }
    }
}

pub(crate) const COLUMNS: &str =
    "id, name, email, do_not_disturb, mobile_push_wakeup, created_at, updated_at";

fn validate_name(name: &Option<String>) -> Result<(), ApiError> {
    if name.as_ref().is_some_and(|name| name.chars().count() > 255) {
        return Err(ApiError::invalid_field("name", "must be at most 255 characters"));
    }
    Ok(())
}

fn validate_email(email: &Option<String>) -> Result<(), ApiError> {
    if let Some(email) = email
        && (email.len() > 254 || !email.contains('@'))
    {
        return Err(ApiError::invalid_field("email", "must be an email address"));
    }
    Ok(())
}

/// Extension numbers ds-local accepts (rest.md §5.2): 2–6 digits, no leading zero, not 911/933.
pub(crate) fn validate_extension(number: &str) -> Result<(), ApiError> {
    let well_formed = (2..=6).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    if !well_formed || number == "911" || number == "933" {
        return Err(ApiError::invalid_field("extension", "must be 2 to 6 digits without a leading zero"));
    }
    Ok(())
}

async fn email_taken(
    db: &SqlitePool,
    account_id: &str,
    email: &str,
    except: Option<&str>,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users WHERE account_id = ? AND lower(email) = lower(?) AND id != ?",
    )
    .bind(account_id)
    .bind(email)
    .bind(except.unwrap_or(""))
    .fetch_one(db)
    .await?
        > 0)
}

/// Creates a user (and its extension when given); shared with the demo seed.
pub(crate) async fn insert(
    db: &SqlitePool,
    account_id: &str,
    id: &str,
    request: &CreateUserRequest,
    now: i64,
) -> Result<(), ApiError> {
    validate_name(&request.name)?;
    validate_email(&request.email)?;
    if let Some(extension) = &request.extension {
        validate_extension(extension)?;
    }
    if let Some(email) = &request.email
        && email_taken(db, account_id, email, None).await?
    {
        return Err(ApiError::Conflict {
            code: "email_taken",
            message: format!("a user with email {email} already exists in this account"),
        });
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, account_id, name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(account_id)
    .bind(&request.name)
    .bind(&request.email)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some(extension) = &request.extension {
        let inserted = sqlx::query(
            "INSERT OR IGNORE INTO extensions (account_id, number, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(account_id)
        .bind(extension)
        .bind(id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(ApiError::Conflict {
                code: "extension_taken",
                message: format!("extension {extension} already exists in this account"),
            });
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn extensions_of(
    db: &SqlitePool,
    account_id: &str,
    user_id: &str,
) -> Result<ListEnvelope<Extension>, ApiError> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT number, target, created_at, updated_at FROM extensions
         WHERE account_id = ? AND target = ? ORDER BY CAST(number AS INTEGER)",
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(ListEnvelope {
        object: "list".to_owned(),
        url: String::new(),
        next_page_url: None,
        previous_page_url: None,
        data: rows
            .into_iter()
            .map(|(number, target, created_at, updated_at)| Extension {
                number,
                target,
                status: "active".to_owned(),
                created_at: iso(created_at),
                updated_at: iso(updated_at),
            })
            .collect(),
    })
}

async fn fetch(state: &AppState, account_id: &str, id: &str, expand: bool) -> Result<User, ApiError> {
    let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = ? AND account_id = ?"
    )))
    .bind(id)
    .bind(account_id)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("user", id))?;
    let extensions = if expand { Some(extensions_of(state.db(), account_id, id).await?) } else { None };
    Ok(row.into_user(extensions))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<Json<User>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let now = state.clock().now_ms();
    let id = ids::new_id("user", now);
    insert(state.db(), &scope.account_id, &id, &request, now).await?;
    Ok(Json(fetch(&state, &scope.account_id, &id, false).await?))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<User>, ApiError> {
    let scope = caller.account(&state, false).await?;
    Ok(Json(fetch(&state, &scope.account_id, &id, params.expands("extensions")).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> Result<Json<User>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let current = fetch(&state, &scope.account_id, &id, false).await?;
    let name = request.name.unwrap_or(current.name);
    let email = request.email.unwrap_or(current.email);
    validate_name(&name)?;
    validate_email(&email)?;
    if let Some(email) = &email
        && email_taken(state.db(), &scope.account_id, email, Some(&id)).await?
    {
        return Err(ApiError::Conflict {
            code: "email_taken",
            message: format!("a user with email {email} already exists in this account"),
        });
    }
    let do_not_disturb = request.do_not_disturb.unwrap_or(current.do_not_disturb);
    let push = request.config.map_or(current.config.mobile_push_wakeup, |c| c.mobile_push_wakeup);
    sqlx::query(
        "UPDATE users SET name = ?, email = ?, do_not_disturb = ?, mobile_push_wakeup = ?, updated_at = ?
         WHERE id = ? AND account_id = ?",
    )
    .bind(name)
    .bind(email)
    .bind(do_not_disturb)
    .bind(push)
    .bind(state.clock().now_ms())
    .bind(&id)
    .bind(&scope.account_id)
    .execute(state.db())
    .await?;
    Ok(Json(fetch(&state, &scope.account_id, &id, false).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, false).await?;
    let mut tx = state.db().begin().await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = ? AND account_id = ?")
        .bind(&id)
        .bind(&scope.account_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::not_found("user", id));
    }
    sqlx::query("DELETE FROM extensions WHERE account_id = ? AND target = ?")
        .bind(&scope.account_id)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // The user's tokens die with it (the auth check also refuses tokens of missing users).
    state.tokens().revoke_user(&id, state.clock().now_ms());
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<User>>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let pager =
        Pager::new(state.db(), "/v1/users", &params, "users", "created_at", Some(&scope.account_id)).await?;
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM users WHERE account_id = "));
    query.push_bind(scope.account_id.clone());
    if let Some(search) = params.get("search") {
        let pattern = format!("%{}%", search.to_lowercase());
        query.push(" AND (lower(name) LIKE ").push_bind(pattern.clone());
        query.push(" OR lower(email) LIKE ").push_bind(pattern).push(")");
    }
    pager.push_window(&mut query, "created_at");
    let rows: Vec<UserRow> = query.build_query_as().fetch_all(state.db()).await?;
    let expand = params.expands("extensions");
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let extensions =
            if expand { Some(extensions_of(state.db(), &scope.account_id, &row.id).await?) } else { None };
        users.push(row.into_user(extensions));
    }
    Ok(Json(pager.envelope(users, |u: &User| &u.id)))
}
