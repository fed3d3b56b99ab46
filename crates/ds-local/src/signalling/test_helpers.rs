//! `POST /v1/test_helpers/calls` (protocol.md §11.7, rest.md §18.1): a simulated caller rings a
//! user. With a live softphone session the phone decides (answer, decline); without one the
//! scenario is simulated and still produces the CallLog row and events. A call whose
//! `to_number` is one of the account's active numbers walks that number's routing instead.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::hub::{InboundCall, TestCall, TestOutcome};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Request body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TestCallRequest {
    pub user: Option<String>,
    pub direction: Option<String>,
    pub from_number: Option<String>,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub scenario: Option<Scenario>,
}

/// `scenario` override.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scenario {
    pub outcome: Option<String>,
    pub ring_seconds: Option<u64>,
    pub talk_seconds: Option<u64>,
    pub recording: Option<bool>,
    pub voicemail_seconds: Option<u64>,
    /// ds-local extension for calls to a number: keys the simulated caller presses, one per
    /// menu prompt, and in-band (as DTMF tones in its audio) once a voice app is attached.
    pub digits: Option<String>,
}

/// Response body.
#[derive(Debug, Clone, Serialize)]
pub struct TestCallResponse {
    pub id: String,
    pub scenario: String,
}

/// Caller id used when the request names none.
pub const DEFAULT_TEST_CALLER: &str = "+15005550100";

/// A `+1` E.164 number: what sandbox numbers (test callers, ordered DIDs) must be.
pub fn is_plus_one_e164(number: &str) -> bool {
    number
        .strip_prefix("+1")
        .is_some_and(|digits| digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
}

pub async fn create_call(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TestCallRequest>,
) -> Result<Json<TestCallResponse>, ApiError> {
    let scope = caller.account(&state, false).await?;
    if caller.livemode() {
        return Err(ApiError::BadRequest {
            code: "sandbox_feature_unsupported",
            message: "test helpers need an sk_test_ key".to_owned(),
        });
    }
    let Some(hub) = state.signalling() else {
        return Err(ApiError::Internal("signalling is not running on this server".to_owned()));
    };
    match request.direction.as_deref() {
        None | Some("inbound") => {}
        Some("outbound") => {
            return Err(ApiError::BadRequest {
                code: "sandbox_feature_unsupported",
                message: "ds-local simulates inbound test calls; place outbound calls from a softphone"
                    .to_owned(),
            });
        }
        Some(_) => return Err(ApiError::invalid_field("direction", "must be inbound or outbound")),
    }
    let from_number = request.from_number.clone().unwrap_or_else(|| DEFAULT_TEST_CALLER.to_owned());
    if !is_plus_one_e164(&from_number) {
        return Err(ApiError::BadRequest {
            code: "invalid_sandbox_phone_number",
            message: format!("from_number {from_number} is not a +1 E.164 number"),
        });
    }
    let scenario = request.scenario.clone().unwrap_or_default();
    if let Some(to_number) = &request.to_number
        && crate::routing::has_active_number(&state, &scope.account_id, to_number).await?
    {
        // rest.md §18.1 [open]: a call to one of the account's numbers enters through that
        // DID and walks its routing; `user` is not needed (and not used).
        if scenario.outcome.is_some() {
            return Err(ApiError::invalid_field(
                "scenario.outcome",
                "cannot be forced on a call to one of the account's numbers: its routing and the \
                 softphones decide",
            ));
        }
        let digits = scenario.digits.clone().unwrap_or_default();
        if digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
            return Err(ApiError::invalid_field("scenario.digits", "must be up to 20 of 0-9, * and #"));
        }
        let call = InboundCall {
            account_id: scope.account_id,
            to_number: to_number.clone(),
            from_number,
            from_name: request.from_name,
            give_up_after: scenario.ring_seconds.map(Duration::from_secs),
            talk: scenario.talk_seconds.map(Duration::from_secs),
            voicemail: scenario.voicemail_seconds.map(Duration::from_secs),
            digits,
        };
        let id = hub
            .inbound_call(call)
            .await
            .ok_or_else(|| ApiError::Internal("the call hub has stopped".to_owned()))?;
        return Ok(Json(TestCallResponse { id, scenario: "routed".to_owned() }));
    }
    let user = request.user.ok_or_else(|| {
        ApiError::invalid_field("user", "is required unless to_number is one of the account's numbers")
    })?;
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
        .bind(&user)
        .bind(&scope.account_id)
        .fetch_one(state.db())
        .await?;
    if exists == 0 {
        return Err(ApiError::not_found("user", user));
    }
    let outcome = match scenario.outcome.as_deref() {
        None => TestOutcome::Answered,
        Some(text) => TestOutcome::parse(text).ok_or_else(|| {
            ApiError::invalid_field("scenario.outcome", "must be answered, no-answer, busy or voicemail")
        })?,
    };
    let call = TestCall {
        account_id: scope.account_id,
        user_id: user,
        from_number,
        from_name: request.from_name,
        to_number: request.to_number,
        outcome,
        ring: scenario.ring_seconds.map(Duration::from_secs),
        talk: scenario.talk_seconds.or(scenario.voicemail_seconds).map(Duration::from_secs),
    };
    let id =
        hub.test_call(call).await.ok_or_else(|| ApiError::Internal("the call hub has stopped".to_owned()))?;
    Ok(Json(TestCallResponse { id, scenario: outcome.as_str().to_owned() }))
}

/// Reply of `POST /_ds/users/{id}/drop_signalling`.
#[derive(Debug, Clone, Serialize)]
pub struct DropSignallingResponse {
    pub user: String,
    pub sockets_dropped: usize,
}

/// `POST /_ds/users/{id}/drop_signalling` (API key + `DialStack-Account`): cuts the user's live
/// signalling sockets as a network failure would, so tests can prove that phones reconnect and
/// calls survive (protocol.md §16.2). ds-local only; the platform has no such endpoint.
pub async fn drop_signalling(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<DropSignallingResponse>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let known: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = ? AND account_id = ?")
        .bind(&user_id)
        .bind(&scope.account_id)
        .fetch_optional(state.db())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if known.is_none() {
        return Err(ApiError::NotFound { kind: "user", id: user_id });
    }
    let Some(hub) = state.signalling() else {
        return Err(ApiError::Internal("signalling is not running on this server".to_owned()));
    };
    let sockets_dropped = hub.drop_sockets(&user_id).await;
    Ok(Json(DropSignallingResponse { user: user_id, sockets_dropped }))
}
