//! Sandbox test helpers (rest.md §18.2) and ds-local-only settings (rest.md §19.1).

use axum::Json;
use axum::extract::State;
use ds_protocol::events::is_known_event_type;
use ds_protocol::rest::{PlatformSettings, TestHelperEvent, UpdatePlatformSettings};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::ids;
use crate::webhooks;

/// `POST /v1/test_helpers/events`: emits one canned event of the given type for the account,
/// through the same bus as real events (SSE + webhooks).
pub async fn emit_test_event(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TestHelperEvent>,
) -> Result<Json<TestHelperEvent>, ApiError> {
    if caller.require_platform()? {
        return Err(ApiError::BadRequest {
            code: "sandbox_feature_unsupported",
            message: "test helpers need a sk_test_ key".to_owned(),
        });
    }
    let scope = caller.account(&state, false).await?;
    if !is_known_event_type(&request.event) {
        return Err(ApiError::invalid_field("event", format!("unknown event type {}", request.event)));
    }
    let now = state.clock().now_ms();
    state.events().publish(&scope.account_id, &request.event, canned_data(&request.event, now)).await?;
    Ok(Json(request))
}

/// Placeholder data with at least the fields of rest.md §17.5 for the type.
fn canned_data(event_type: &str, now: i64) -> Value {
    let call_id = ids::new_id("call", now);
    let at = iso(now);
    let mut data = json!({ "test": true });
    if event_type.starts_with("call.") || event_type.starts_with("queue.") {
        data = json!({
            "test": true, "call_id": call_id, "direction": "inbound", "from_number": "+15005550100",
            "from_name": "TEST CALLER", "to_number": "+15005550101", "did": null, "user_id": null,
            "user": null, "timestamp": at,
        });
    }
    let extra = match event_type {
        "call.answered" => json!({ "answered_at": at, "endpoint": null }),
        "call.end" => json!({
            "status": "completed", "duration_seconds": 0, "started_at": at, "answered_at": null,
            "connected_at": null, "ended_at": at, "hangup_cause": null,
        }),
        "call.initiated" => json!({ "dial_string": "+15005550101" }),
        "voicemail.new" => json!({
            "voicemail_id": ids::new_id("vm", now), "owner": null, "call_id": call_id,
            "from_number": "+15005550100", "from_name": "TEST CALLER", "duration_seconds": 0,
            "format": "wav", "audio_url": null, "created_at": at,
        }),
        "recording.available" => json!({
            "call_id": call_id, "download_url": null, "recording_url": null, "expires_at": at,
            "duration_seconds": 0, "file_size_bytes": 0,
        }),
        "recording.transcription.complete" | "voicemail.transcription.complete" => json!({
            "call_id": call_id, "status": "completed", "text": "[ds-local] test transcript", "sentiment": null,
        }),
        _ => json!({}),
    };
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    data
}

async fn settings(state: &AppState) -> Result<PlatformSettings, ApiError> {
    let (webhook_url, webhook_secret) = webhooks::platform_settings(state.db()).await?;
    Ok(PlatformSettings { webhook_url, webhook_secret, livemode: false })
}

pub async fn get_platform(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PlatformSettings>, ApiError> {
    caller.require_platform()?;
    Ok(Json(settings(&state).await?))
}

pub async fn update_platform(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<UpdatePlatformSettings>,
) -> Result<Json<PlatformSettings>, ApiError> {
    caller.require_platform()?;
    if let Some(url) = request.webhook_url {
        if let Some(url) = &url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ApiError::invalid_field("webhook_url", "must be an http(s) URL"));
        }
        webhooks::set_platform_webhook_url(state.db(), url.as_deref()).await?;
    }
    Ok(Json(settings(&state).await?))
}
