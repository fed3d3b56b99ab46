//! Voicemails (rest.md §16.2) and the signed media URLs of their audio (rest.md §19.4).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use ds_protocol::rest::ListEnvelope;
use serde_json::{Value, json};
use sqlx::{QueryBuilder, Sqlite};

use super::{Access, ApiRoute, route};
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::voicemail::{COLUMNS, TRANSCRIPTION_UNAVAILABLE, VoicemailRow, verify_media_token};

pub fn table() -> Vec<ApiRoute> {
    use Access::{AccountOrUser, Public};
    use Method as M;
    vec![
        route(M::GET, "/v1/voicemails", "Voicemails", AccountOrUser, "List voicemails", get(list)),
        route(
            M::GET,
            "/v1/voicemails/{id}",
            "Voicemails",
            AccountOrUser,
            "Retrieve a voicemail",
            get(get_one),
        ),
        route(
            M::POST,
            "/v1/voicemails/{id}",
            "Voicemails",
            AccountOrUser,
            "Mark a voicemail read or unread",
            post(update),
        ),
        route(
            M::DELETE,
            "/v1/voicemails/{id}",
            "Voicemails",
            AccountOrUser,
            "Delete a voicemail",
            delete(remove),
        ),
        route(
            M::GET,
            "/v1/voicemails/{id}/transcript",
            "Voicemails",
            AccountOrUser,
            "Transcript of a voicemail (never available offline)",
            get(transcript),
        ),
        route(
            M::GET,
            "/_ds/media/{token}",
            "ds-local",
            Public,
            "Recorded audio behind a signed, 10-minute URL (audio/wav)",
            get(media),
        ),
    ]
}

/// `http://host:port` of this request, so `audio_url` can be absolute.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

async fn fetch(state: &AppState, scope: &AccountScope, id: &str) -> Result<VoicemailRow, ApiError> {
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM voicemails WHERE account_id = "));
    query.push_bind(scope.account_id.clone()).push(" AND id = ").push_bind(id.to_owned());
    // A user token reads only its own mailbox.
    if let Some(user) = &scope.user_id {
        query.push(" AND owner = ").push_bind(user.clone());
    }
    query
        .build_query_as::<VoicemailRow>()
        .fetch_optional(state.db())
        .await?
        .ok_or_else(|| ApiError::not_found("voicemail", id))
}

fn render(state: &AppState, headers: &HeaderMap, row: &VoicemailRow) -> Value {
    row.to_json(&origin(headers), state.clock().now_ms())
}

/// Renders `row`; with `expand[]=call` its `call` is the call log itself instead of its id
/// (rest.md §16.1: `call` is always present, `"call_…" | CallLog | null`). The call is the one
/// that left the message, so whoever may read the voicemail may read it here.
async fn render_expanded(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    account_id: &str,
    row: &VoicemailRow,
) -> Result<Value, ApiError> {
    let mut value = render(state, headers, row);
    if params.expands("call")
        && let Some(call_id) = &row.call_id
        && let Some(call) = super::calls::call_log(state, account_id, call_id).await?
    {
        value["call"] = serde_json::to_value(call).map_err(|error| ApiError::Internal(error.to_string()))?;
    }
    Ok(value)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
) -> Result<Json<ListEnvelope<Value>>, ApiError> {
    let scope = caller.account(&state, true).await?;
    let pager = Pager::new(
        state.db(),
        "/v1/voicemails",
        &params,
        "voicemails",
        "created_at",
        Some(&scope.account_id),
    )
    .await?;
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM voicemails WHERE account_id = "));
    query.push_bind(scope.account_id.clone());
    if let Some(user) = &scope.user_id {
        query.push(" AND owner = ").push_bind(user.clone());
    }
    if let Some(owner) = params.get("owner") {
        query.push(" AND owner = ").push_bind(owner.to_owned());
    }
    match params.get("is_read") {
        None => {}
        Some("true") => {
            query.push(" AND is_read = 1");
        }
        Some("false") => {
            query.push(" AND is_read = 0");
        }
        Some(_) => return Err(ApiError::invalid_field("is_read", "must be true or false")),
    }
    if let Some(from) = params.get("from_date") {
        let from = chrono::DateTime::parse_from_rfc3339(from)
            .map(|at| at.timestamp_millis())
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d")
                    .map(|day| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
            })
            .map_err(|_| ApiError::invalid_field("from_date", "must be a date or an RFC 3339 time"))?;
        query.push(" AND created_at >= ").push_bind(from);
    }
    pager.push_window(&mut query, "created_at");
    let rows: Vec<VoicemailRow> = query.build_query_as().fetch_all(state.db()).await?;
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        data.push(render_expanded(&state, &headers, &params, &scope.account_id, row).await?);
    }
    Ok(Json(pager.envelope(data, |value: &Value| value["id"].as_str().unwrap_or_default())))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, true).await?;
    let row = fetch(&state, &scope, &id).await?;
    Ok(Json(render_expanded(&state, &headers, &params, &scope.account_id, &row).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, true).await?;
    let row = fetch(&state, &scope, &id).await?;
    let is_read = body
        .get("is_read")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::invalid_field("is_read", "is required and must be a boolean"))?;
    let read_at = is_read.then(|| state.clock().now_ms());
    sqlx::query("UPDATE voicemails SET is_read = ?, read_at = ? WHERE id = ?")
        .bind(is_read)
        .bind(read_at)
        .bind(&row.id)
        .execute(state.db())
        .await?;
    let row = fetch(&state, &scope, &id).await?;
    Ok(Json(render(&state, &headers, &row)))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, true).await?;
    let row = fetch(&state, &scope, &id).await?;
    sqlx::query("DELETE FROM voicemails WHERE id = ?").bind(&row.id).execute(state.db()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// rest.md §16.2 transcript: always `failed` with `text: null` in ds-local (offline, no
/// speech-to-text); `error` says why.
pub async fn transcript(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, true).await?;
    let row = fetch(&state, &scope, &id).await?;
    Ok(Json(json!({
        "voicemail": row.id, "status": "failed", "text": null, "sentiment": null,
        "error": { "code": "transcription_unavailable", "message": TRANSCRIPTION_UNAVAILABLE },
    })))
}

/// `GET /_ds/media/{token}`: the WAV (a voicemail or a call's recording) behind a valid, unexpired token; 404 otherwise (an
/// expired link looks like a missing one, as on the platform's signed URLs).
pub async fn media(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let now = state.clock().now_ms();
    let id = verify_media_token(&token, now).ok_or_else(|| ApiError::not_found("media", "this link"))?;
    // Voicemails (`vm_…`) and call recordings (keyed by the call's `call_…` id).
    let sql = if id.starts_with("call_") {
        "SELECT audio FROM call_recordings WHERE call_id = ?"
    } else {
        "SELECT audio FROM voicemails WHERE id = ?"
    };
    let audio: Option<Vec<u8>> = sqlx::query_scalar(sql).bind(&id).fetch_optional(state.db()).await?;
    let audio = audio.ok_or_else(|| ApiError::not_found("media", "this link"))?;
    Ok(([(header::CONTENT_TYPE, "audio/wav"), (header::CACHE_CONTROL, "private, max-age=600")], audio)
        .into_response())
}
