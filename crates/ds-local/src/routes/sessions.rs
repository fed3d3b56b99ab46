//! Session minting and revocation (protocol.md §3.2–3.4, §16.10) and the public keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::rest::{
    AccountSessionRequest, AccountSessionResponse, JwkSet, RevokeSessionsResponse, UserSessionRequest,
    UserSessionResponse,
};

use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::tokens::{USER_TOKEN_DEFAULT_TTL, USER_TOKEN_MAX_TTL};

pub async fn create_account_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AccountSessionRequest>,
) -> Result<Json<AccountSessionResponse>, ApiError> {
    caller.require_platform()?;
    if !request.components.values().any(|toggle| toggle.enabled) {
        return Err(ApiError::invalid_field("components", "at least one component must be enabled"));
    }
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id = ?")
        .bind(&request.account)
        .fetch_one(state.db())
        .await?;
    if exists == 0 {
        return Err(ApiError::not_found("account", request.account));
    }
    let minted =
        state.tokens().mint_account_session(&request.account, request.components, state.clock().now());
    Ok(Json(AccountSessionResponse {
        account_id: request.account,
        client_secret: minted.token,
        expires_at: iso(minted.expires_at * 1000),
    }))
}

pub async fn create_user_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<UserSessionRequest>,
) -> Result<(StatusCode, Json<UserSessionResponse>), ApiError> {
    caller.require_platform()?;
    let ttl = request.ttl_seconds.unwrap_or(USER_TOKEN_DEFAULT_TTL);
    if ttl > USER_TOKEN_MAX_TTL {
        return Err(ApiError::invalid_field("ttl_seconds", "must be at most 604800"));
    }
    if ttl < 1 {
        // No lower bound is enforced by the platform, but a token born expired helps nobody.
        return Err(ApiError::invalid_field("ttl_seconds", "must be positive"));
    }
    let account: String = sqlx::query_scalar("SELECT account_id FROM users WHERE id = ?")
        .bind(&request.user)
        .fetch_optional(state.db())
        .await?
        .ok_or_else(|| ApiError::not_found("user", &request.user))?;
    let minted = state.tokens().mint_user(&request.user, &account, ttl, state.clock().now());
    Ok((
        StatusCode::CREATED,
        Json(UserSessionResponse {
            user: request.user,
            account,
            client_secret: minted.token,
            expires_at: iso(minted.expires_at * 1000),
        }),
    ))
}

pub async fn revoke_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<RevokeSessionsResponse>, ApiError> {
    caller.require_platform()?;
    let now = state.clock().now_ms();
    let updated = sqlx::query("UPDATE users SET sessions_revoked_at = ? WHERE id = ?")
        .bind(now)
        .bind(&user)
        .execute(state.db())
        .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::not_found("user", user));
    }
    state.tokens().revoke_user(&user, now);
    Ok(Json(RevokeSessionsResponse { user, sessions_revoked_at: iso(now) }))
}

pub async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(state.tokens().jwks())
}
