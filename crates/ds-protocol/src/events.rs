//! Account event stream payloads (protocol.md §12, §16.11) and webhook envelopes (§13, §16.7;
//! rest.md §17).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The SSE event sent first on every `/v1/events` connection (no `id:` line).
pub const CONNECTED: &str = "connected";

/// Event types ds-local knows (rest.md §17.5). `*` in `enabled_events` matches all of them.
pub const EVENT_TYPES: &[&str] = &[
    "call.incoming",
    "call.ringing",
    "call.answered",
    "call.end",
    "call.initiated",
    "call.transfer",
    "call.emergency",
    "call.mobile_push_wakeup",
    "call.parked",
    "call.unparked",
    "call.command_succeeded",
    "call.command_failed",
    "voicemail.new",
    "voicemail.transcription.complete",
    "voicemail.summary.complete",
    "recording.available",
    "recording.failed",
    "recording.transcription.complete",
    "recording.summary.complete",
    "queue.call.queued",
    "queue.call.dispatched",
    "queue.call.answered",
    "queue.call.abandoned",
    "queue.call.timed_out",
    "queue.call.completed",
    "queue.call.exited",
    "queue.call.callback_requested",
    "queue.call.callback_attempted",
    "queue.call.callback_failed",
    "fax.delivered",
    "fax.failed",
    "fax.received",
];

/// Whether `event_type` is in the catalogue.
pub fn is_known_event_type(event_type: &str) -> bool {
    EVENT_TYPES.contains(&event_type)
}

/// Webhook envelope (protocol.md §16.7). The SSE `data:` line carries only `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEnvelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub account_id: String,
    pub created_at: String,
    pub livemode: bool,
    pub data: Value,
}

/// `call.incoming` data on `/v1/events` (protocol.md §12). `user`/`user_id` only when the call
/// routes straight to one user; both names are emitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallIncomingData {
    pub call_id: Option<String>,
    pub from_number: String,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// Common call fields present on every `call.*` event (rest.md §17.5); type-specific keys are
/// flattened into `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEventData {
    pub call_id: String,
    pub direction: String,
    pub from_number: Option<String>,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub did: Option<String>,
    pub user_id: Option<String>,
    pub user: Option<String>,
    pub timestamp: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_uses_type_on_the_wire() {
        let envelope = WebhookEnvelope {
            id: "evt_1".into(),
            event_type: "call.end".into(),
            account_id: "acct_1".into(),
            created_at: "2026-09-01T14:03:13Z".into(),
            livemode: false,
            data: serde_json::json!({"call_id": "call_1"}),
        };
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["type"], "call.end");
        assert_eq!(json["livemode"], false);
    }

    #[test]
    fn call_event_extra_keys_are_flattened() {
        let data: CallEventData = serde_json::from_value(serde_json::json!({
            "call_id": "call_1", "direction": "outbound", "from_number": null, "from_name": null,
            "to_number": "+16175551234", "did": null, "user_id": "user_1", "user": "user_1",
            "timestamp": "2026-09-01T14:00:00Z", "dial_string": "+16175551234"
        }))
        .unwrap();
        assert_eq!(data.extra["dial_string"], "+16175551234");
    }
}
