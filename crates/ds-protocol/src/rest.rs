//! REST objects (protocol.md §3, §11; rest.md §1–§4, §13, §17–§19).
//!
//! Timestamps are ISO-8601 UTC strings, as on the wire; this crate stays serde-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::json::Json;

/// Deserialises a tri-state field of a partial update (rest.md §1.4): absent → `None`,
/// explicit `null` → `Some(None)`, a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn tri_state<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The platform's error body (protocol.md §9.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The list envelope (protocol.md §11.1). URLs are relative to the API base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEnvelope<T> {
    pub object: String,
    pub url: String,
    pub next_page_url: Option<String>,
    pub previous_page_url: Option<String>,
    pub data: Vec<T>,
}

impl ListEnvelope<CallLog> {
    /// Reads a `GET /v1/calls` page from its parsed JSON: what the derived `Deserialize` accepts,
    /// without its generated code in the browser bundle (see `call_log_codec.rs`).
    pub fn from_json(value: &Json) -> Result<Self, String> {
        crate::call_log_codec::call_log_page(value)
    }
}

/// `AccountConfig` (rest.md §3.1); ds-local echoes every key with defaults filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountConfig {
    pub region: String,
    pub extension_length: u8,
    pub transcription_enabled: bool,
    pub recording_enabled: bool,
    pub redaction_enabled: bool,
    pub timezone: String,
    pub default_agent_visible: Option<bool>,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            region: "US".to_owned(),
            extension_length: 4,
            transcription_enabled: true,
            recording_enabled: true,
            redaction_enabled: false,
            timezone: "UTC".to_owned(),
            default_agent_visible: None,
        }
    }
}

/// Every key of [`AccountConfig`] is optional on input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountConfigInput {
    pub region: Option<String>,
    pub extension_length: Option<u8>,
    pub transcription_enabled: Option<bool>,
    pub recording_enabled: Option<bool>,
    pub redaction_enabled: Option<bool>,
    pub timezone: Option<String>,
    pub default_agent_visible: Option<bool>,
}

/// Account object (rest.md §3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub email: Option<String>,
    pub primary_contact_name: Option<String>,
    pub config: AccountConfig,
    pub hold_music_clip_id: Option<String>,
    pub main_location_id: Option<String>,
    pub default_button_template: Option<String>,
    pub tos_status: String,
    pub tos_accepted_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A postal address as accounts and emergency addresses take it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostalAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// `POST /v1/accounts` body: both the SDK shape and the seed's `{email}` shape (rest.md §3.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateAccountRequest {
    pub email: Option<String>,
    pub primary_contact_name: Option<String>,
    pub address: Option<PostalAddress>,
    pub billing_address: Option<PostalAddress>,
    pub pricing: Option<Value>,
    pub config: Option<AccountConfigInput>,
}

/// `POST /v1/accounts/{id}` partial update (rest.md §3.2); `config` is merged key by key.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UpdateAccountRequest {
    pub email: Option<String>,
    #[serde(default, deserialize_with = "tri_state")]
    pub primary_contact_name: Option<Option<String>>,
    pub config: Option<AccountConfigInput>,
}

/// `UserConfig` (rest.md §4.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserConfig {
    #[serde(default)]
    pub mobile_push_wakeup: bool,
}

/// Extension object (rest.md §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    pub number: String,
    pub target: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// User object (rest.md §4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub config: UserConfig,
    pub do_not_disturb: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Only with `expand[]=extensions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ListEnvelope<Extension>>,
}

/// `POST /v1/users` body. `extension` is a ds-local convenience: it creates the extension
/// object targeting the new user in the same step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// `POST /v1/users/{id}` partial update (tri-state for nullable fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UpdateUserRequest {
    #[serde(default, deserialize_with = "tri_state")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "tri_state")]
    pub email: Option<Option<String>>,
    pub do_not_disturb: Option<bool>,
    pub config: Option<UserConfig>,
}

/// One component toggle of an account session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentToggle {
    pub enabled: bool,
}

/// `POST /v1/account_sessions` body (protocol.md §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSessionRequest {
    pub account: String,
    pub components: BTreeMap<String, ComponentToggle>,
}

/// `POST /v1/account_sessions` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSessionResponse {
    pub account_id: String,
    pub client_secret: String,
    pub expires_at: String,
}

/// `POST /v1/user_sessions` body (protocol.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSessionRequest {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<i64>,
}

/// `POST /v1/user_sessions` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSessionResponse {
    pub user: String,
    pub account: String,
    pub client_secret: String,
    pub expires_at: String,
}

/// `POST /v1/users/{id}/revoke_sessions` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeSessionsResponse {
    pub user: String,
    pub sessions_revoked_at: String,
}

/// Call direction (protocol.md §11.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallDirection {
    Inbound,
    Outbound,
    Internal,
}

impl CallDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Internal => "internal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "inbound" => Some(Self::Inbound),
            "outbound" => Some(Self::Outbound),
            "internal" => Some(Self::Internal),
            _ => None,
        }
    }
}

/// Final call status (protocol.md §11.5); `None` on the wire while the call is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallStatus {
    #[serde(rename = "completed")]
    Completed,
    #[serde(rename = "no-answer")]
    NoAnswer,
    #[serde(rename = "busy")]
    Busy,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "voicemail")]
    Voicemail,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::NoAnswer => "no-answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::Voicemail => "voicemail",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "completed" => Some(Self::Completed),
            "no-answer" => Some(Self::NoAnswer),
            "busy" => Some(Self::Busy),
            "failed" => Some(Self::Failed),
            "voicemail" => Some(Self::Voicemail),
            _ => None,
        }
    }
}

/// A DID reference: its id, or `{id, phone_number}` when expanded (`expand[]=did`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DidRef {
    Id(String),
    Expanded { id: String, phone_number: String },
}

/// CallLog (protocol.md §11.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallLog {
    pub id: String,
    pub user: Option<String>,
    pub user_id: Option<String>,
    pub endpoint: Option<String>,
    pub endpoint_id: Option<String>,
    pub did: Option<DidRef>,
    pub did_id: Option<String>,
    pub direction: CallDirection,
    pub from_number: String,
    pub from_label: Option<String>,
    pub to_number: Option<String>,
    pub to_label: Option<String>,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub connected_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<i64>,
    pub status: Option<CallStatus>,
    pub hangup_cause: Option<i64>,
    pub summary: Option<String>,
    /// [`Json`], not `serde_json::Value`, so the browser's reader needs no serde_json; serialised
    /// and deserialised by serde exactly as a `Value` is.
    pub sentiment: Option<Json>,
    pub recording_url: Option<String>,
    pub quality_metrics: Vec<Json>,
    /// ds-local extension: DTMF digits received from the user during the call (IVR and test
    /// calls, protocol.md §15). Absent when none were received; clients ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf_digits: Option<String>,
}

/// `POST /v1/calls` (click-to-call) body: every accepted spelling (protocol.md §16.8).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClickToCallRequest {
    pub user: Option<String>,
    pub user_id: Option<String>,
    pub from: Option<String>,
    pub dial_string: Option<String>,
    pub to: Option<String>,
    pub caller_id: Option<String>,
}

/// `POST /v1/calls` 202 reply (protocol.md §16.8, rest.md §13.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClickToCallResponse {
    pub id: String,
    pub object: String,
    pub status: String,
    pub direction: CallDirection,
    pub user: String,
    pub to: String,
    pub dial_string: String,
    pub created_at: String,
}

/// `POST /v1/me/emergency-addresses` body (protocol.md §11.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmergencyAddressInput {
    pub address_number: Option<String>,
    pub street: Option<String>,
    pub unit: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// EmergencyAddress (protocol.md §11.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergencyAddress {
    pub id: String,
    pub address: PostalAddress,
    pub registered_ip: Option<String>,
    pub created_at: String,
}

/// One entry of `GET /v1/me/directory` (protocol.md §11.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub user: String,
    pub display_name: String,
}

/// A browser `RTCIceServer` dictionary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /v1/webrtc/ice-servers` reply (protocol.md §11.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServersResponse {
    pub ice_servers: Vec<IceServer>,
    pub expires_at: String,
}

/// Webhook endpoint (rest.md §17.3). `secret` only in the create response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub object: String,
    pub url: String,
    pub livemode: bool,
    pub enabled_events: Vec<String>,
    pub status: String,
    pub description: Option<String>,
    /// The account the endpoint is scoped to; null for platform-global endpoints.
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
}

/// `POST /v1/webhook_endpoints` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateWebhookEndpointRequest {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
}

/// `POST /v1/webhook_endpoints/{id}` partial update.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UpdateWebhookEndpointRequest {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "tri_state")]
    pub description: Option<Option<String>>,
}

/// `POST /v1/test_helpers/events` body and reply (rest.md §18.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestHelperEvent {
    pub event: String,
}

/// `GET/POST /_ds/platform` (rest.md §19.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformSettings {
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    pub livemode: bool,
}

/// `POST /_ds/platform` body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UpdatePlatformSettings {
    #[serde(default, deserialize_with = "tri_state")]
    pub webhook_url: Option<Option<String>>,
}

/// One key of `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

/// `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tri_state_tells_absent_from_null() {
        let absent: UpdateUserRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.name, None);
        let null: UpdateUserRequest = serde_json::from_str(r#"{"name":null}"#).unwrap();
        assert_eq!(null.name, Some(None));
        let set: UpdateUserRequest = serde_json::from_str(r#"{"name":"A"}"#).unwrap();
        assert_eq!(set.name, Some(Some("A".to_owned())));
    }

    #[test]
    fn did_reference_is_a_string_or_an_expanded_object() {
        let id: DidRef = serde_json::from_str(r#""did_1""#).unwrap();
        assert_eq!(id, DidRef::Id("did_1".to_owned()));
        let expanded: DidRef =
            serde_json::from_str(r#"{"id":"did_1","phone_number":"+14155550100"}"#).unwrap();
        assert!(matches!(expanded, DidRef::Expanded { .. }));
    }

    #[test]
    fn call_status_uses_the_hyphenated_wire_names() {
        assert_eq!(serde_json::to_string(&CallStatus::NoAnswer).unwrap(), r#""no-answer""#);
        assert_eq!(CallStatus::parse("no-answer"), Some(CallStatus::NoAnswer));
    }
}
