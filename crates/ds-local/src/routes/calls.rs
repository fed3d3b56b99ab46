//! Call logs and click-to-call (protocol.md §11.5, §16.8, §16.9; rest.md §13.1–13.2).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::rest::{
    CallDirection, CallLog, CallStatus, ClickToCallRequest, ClickToCallResponse, DidRef, ListEnvelope,
};
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite};

use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::calls::{ClickToCall, Destination, parse_destination};
use crate::clock::{iso, parse_date};
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;

#[derive(sqlx::FromRow)]
struct CallRow {
    id: String,
    user_id: Option<String>,
    endpoint_id: Option<String>,
    did_id: Option<String>,
    did_number: Option<String>,
    direction: String,
    from_number: String,
    from_label: Option<String>,
    to_number: Option<String>,
    to_label: Option<String>,
    started_at: i64,
    answered_at: Option<i64>,
    connected_at: Option<i64>,
    ended_at: Option<i64>,
    duration_seconds: Option<i64>,
    status: Option<String>,
    hangup_cause: Option<i64>,
    summary: Option<String>,
    sentiment: Option<String>,
    recording_url: Option<String>,
    quality_metrics: String,
    dtmf_digits: Option<String>,
}

impl CallRow {
    fn into_call(self, expand_did: bool) -> CallLog {
        let did = match (&self.did_id, &self.did_number) {
            (Some(id), Some(number)) if expand_did => {
                Some(DidRef::Expanded { id: id.clone(), phone_number: number.clone() })
            }
            (Some(id), _) => Some(DidRef::Id(id.clone())),
            (None, _) => None,
        };
        CallLog {
            id: self.id,
            user: self.user_id.clone(),
            user_id: self.user_id,
            endpoint: self.endpoint_id.clone(),
            endpoint_id: self.endpoint_id,
            did,
            did_id: self.did_id,
            direction: CallDirection::parse(&self.direction).unwrap_or(CallDirection::Outbound),
            from_number: self.from_number,
            from_label: self.from_label,
            to_number: self.to_number,
            to_label: self.to_label,
            started_at: iso(self.started_at),
            answered_at: self.answered_at.map(iso),
            connected_at: self.connected_at.map(iso),
            ended_at: self.ended_at.map(iso),
            duration_seconds: self.duration_seconds,
            status: self.status.as_deref().and_then(CallStatus::parse),
            hangup_cause: self.hangup_cause,
            summary: self.summary,
            sentiment: self.sentiment.and_then(|s| serde_json::from_str(&s).ok()),
            recording_url: self.recording_url,
            quality_metrics: serde_json::from_str(&self.quality_metrics).unwrap_or_default(),
            dtmf_digits: self.dtmf_digits,
        }
    }
}

const SELECT: &str =
    "SELECT c.id, c.user_id, c.endpoint_id, c.did_id, d.phone_number AS did_number, c.direction,
    c.from_number, c.from_label, c.to_number, c.to_label, c.started_at, c.answered_at, c.connected_at,
    c.ended_at, c.duration_seconds, c.status, c.hangup_cause, c.summary, c.sentiment, c.recording_url,
    c.quality_metrics, c.dtmf_digits
    FROM calls c LEFT JOIN dids d ON d.id = c.did_id WHERE c.account_id = ";

/// Account sessions and API keys read the account's calls; user tokens only their own.
async fn scope(state: &AppState, caller: &Caller) -> Result<AccountScope, ApiError> {
    caller.account(state, true).await
}

/// Read-your-writes for call logs: waits for the signalling hub's queued writes, so a row reads
/// as the frames a client already received say (see `Hub::call_log_written`).
async fn with_calls_written(state: &AppState) {
    if let Some(hub) = state.signalling() {
        hub.call_log_written().await;
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<CallLog>>, ApiError> {
    let scope = scope(&state, &caller).await?;
    with_calls_written(&state).await;
    let pager =
        Pager::new(state.db(), "/v1/calls", &params, "calls", "started_at", Some(&scope.account_id)).await?;
    let mut query = QueryBuilder::<Sqlite>::new(SELECT);
    query.push_bind(scope.account_id.clone());
    if let Some(user) = &scope.user_id {
        query.push(" AND c.user_id = ").push_bind(user.clone());
    }
    if let Some(user) = params.first_of(&["user_id", "user"]) {
        query.push(" AND c.user_id = ").push_bind(user.to_owned());
    }
    if let Some(did) = params.get("did") {
        // A DID id or its phone number.
        query.push(" AND (c.did_id = ").push_bind(did.to_owned());
        query.push(" OR d.phone_number = ").push_bind(did.to_owned()).push(")");
    }
    if let Some(direction) = params.get("direction") {
        let direction = CallDirection::parse(direction)
            .ok_or_else(|| ApiError::invalid_field("direction", "must be inbound, outbound or internal"))?;
        query.push(" AND c.direction = ").push_bind(direction.as_str());
    }
    if let Some(number) = params.get("from_number") {
        query.push(" AND c.from_number = ").push_bind(number.to_owned());
    }
    if let Some(number) = params.get("to_number") {
        // Matches the dialled or the routed destination (protocol.md §11.5).
        query.push(" AND (c.to_number = ").push_bind(number.to_owned());
        query.push(" OR c.dial_string = ").push_bind(number.to_owned()).push(")");
    }
    if let Some(status) = params.get("status") {
        let status = CallStatus::parse(status).ok_or_else(|| {
            ApiError::invalid_field("status", "must be completed, no-answer, busy, failed or voicemail")
        })?;
        query.push(" AND c.status = ").push_bind(status.as_str());
    }
    // protocol.md §16.9: from_date/to_date and the aliases from/to.
    if let Some(from) = params.first_of(&["from_date", "from"]) {
        let at = parse_date(from)
            .ok_or_else(|| ApiError::invalid_field("from_date", "must be an ISO-8601 date"))?;
        query.push(" AND c.started_at >= ").push_bind(at);
    }
    if let Some(to) = params.first_of(&["to_date", "to"]) {
        let at =
            parse_date(to).ok_or_else(|| ApiError::invalid_field("to_date", "must be an ISO-8601 date"))?;
        query.push(" AND c.started_at < ").push_bind(at);
    }
    pager.push_window(&mut query, "c.started_at");
    let rows: Vec<CallRow> = query.build_query_as().fetch_all(state.db()).await?;
    let expand = params.expands("did");
    let calls = rows.into_iter().map(|row| row.into_call(expand)).collect();
    Ok(Json(pager.envelope(calls, |c: &CallLog| &c.id)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<CallLog>, ApiError> {
    let scope = scope(&state, &caller).await?;
    with_calls_written(&state).await;
    let mut query = QueryBuilder::<Sqlite>::new(SELECT);
    query.push_bind(scope.account_id.clone()).push(" AND c.id = ").push_bind(id.clone());
    if let Some(user) = &scope.user_id {
        query.push(" AND c.user_id = ").push_bind(user.clone());
    }
    let row: CallRow = query
        .build_query_as()
        .fetch_optional(state.db())
        .await?
        .ok_or_else(|| ApiError::not_found("call", &id))?;
    Ok(Json(row.into_call(params.expands("did"))))
}

/// The call log `id` of `account_id` (any user's), for objects that embed it (a voicemail's
/// `expand[]=call`, rest.md §16.1).
pub async fn call_log(state: &AppState, account_id: &str, id: &str) -> Result<Option<CallLog>, ApiError> {
    let mut query = QueryBuilder::<Sqlite>::new(SELECT);
    query.push_bind(account_id.to_owned()).push(" AND c.id = ").push_bind(id.to_owned());
    let row: Option<CallRow> = query.build_query_as().fetch_optional(state.db()).await?;
    Ok(row.map(|row| row.into_call(false)))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ClickToCallRequest>,
) -> Result<(StatusCode, Json<ClickToCallResponse>), ApiError> {
    let scope = caller.account(&state, false).await?;
    let user =
        request.user.or(request.user_id).or(request.from).ok_or_else(|| {
            ApiError::invalid_field("user", "is required (also accepted as user_id or from)")
        })?;
    let dial_string = request
        .dial_string
        .or(request.to)
        .ok_or_else(|| ApiError::invalid_field("dial_string", "is required (also accepted as to)"))?;
    if !user.starts_with("user_") {
        return Err(ApiError::invalid_field("user", "must be a user id (user_…)"));
    }
    let destination = parse_destination(&dial_string).ok_or_else(|| {
        ApiError::invalid_field("dial_string", "must be an E.164 or US number, an extension, 911 or 933")
    })?;
    if let Some(caller_id) = &request.caller_id
        && !matches!(parse_destination(caller_id), Some(Destination::Number(_)))
    {
        return Err(ApiError::invalid_field("caller_id", "must be an E.164 number"));
    }
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
        .bind(&user)
        .bind(&scope.account_id)
        .fetch_one(state.db())
        .await?;
    if exists == 0 {
        return Err(ApiError::not_found("user", user));
    }
    let direction = match &destination {
        Destination::Extension(number) => {
            let known: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM extensions WHERE account_id = ? AND number = ?")
                    .bind(&scope.account_id)
                    .bind(number)
                    .fetch_one(state.db())
                    .await?;
            if known == 0 {
                return Err(ApiError::not_found("extension", number.clone()));
            }
            CallDirection::Internal
        }
        Destination::Number(_) | Destination::Emergency(_) => CallDirection::Outbound,
    };
    let now = state.clock().now_ms();
    let call_id = ids::new_id("call", now);
    let to = destination.as_str().to_owned();
    // The first leg rings the user's WebRTC endpoint; the far leg shows the caller id, if any.
    let from_number = request.caller_id.clone().unwrap_or_else(|| format!("{user}-wrtc"));
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO calls (id, account_id, user_id, direction, from_number, from_label, to_number, dial_string, started_at)
         VALUES (?, ?, ?, ?, ?, 'Click-to-call', ?, ?, ?)",
    )
    .bind(&call_id)
    .bind(&scope.account_id)
    .bind(&user)
    .bind(direction.as_str())
    .bind(&from_number)
    .bind(&to)
    .bind(&dial_string)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let data = json!({
        "call_id": call_id, "direction": direction.as_str(), "from_number": from_number,
        "from_name": null, "to_number": to, "did": null, "user_id": user, "user": user,
        "timestamp": iso(now), "dial_string": dial_string,
    });
    let event = state.events().record(&mut tx, &scope.account_id, "call.initiated", data).await?;
    tx.commit().await?;
    state.events().announce(event);
    state.call_launcher().launch(ClickToCall {
        call_id: call_id.clone(),
        account_id: scope.account_id,
        user_id: user.clone(),
        destination,
        caller_id: request.caller_id,
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(ClickToCallResponse {
            id: call_id,
            object: "call".to_owned(),
            status: "initiated".to_owned(),
            direction,
            user,
            dial_string: to.clone(),
            to,
            created_at: iso(now),
        }),
    ))
}
