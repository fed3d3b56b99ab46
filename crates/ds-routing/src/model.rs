//! The platform's routing objects as JSON (rest.md §5, §6, §7, §10). Unknown keys in input are
//! ignored and not echoed (rest.md §1.4 \[open\]); optional keys default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An extension: a dial code in one account pointing at a routing target (rest.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub number: String,
    pub target: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

fn active() -> String {
    "active".to_owned()
}

/// What happens to inbound calls on a DID (rest.md §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InboundRouting {
    #[default]
    Default,
    Drop,
}

/// A phone number (DID), the full object of rest.md §6.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub id: String,
    pub phone_number: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default = "account_owned")]
    pub number_class: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub disconnected_at: Option<String>,
    #[serde(default = "yes")]
    pub outbound_enabled: bool,
    #[serde(default)]
    pub fax_enabled: bool,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub caller_id_name: Option<String>,
    #[serde(default)]
    pub caller_id_prefix: Option<String>,
    #[serde(default)]
    pub caller_id_visibility: Option<String>,
    #[serde(default)]
    pub directory_listing_name: Option<String>,
    #[serde(default = "non_listed")]
    pub directory_listing_type: String,
    #[serde(default)]
    pub directory_listing_location: Option<String>,
    #[serde(default)]
    pub routing_target: Option<String>,
    #[serde(default)]
    pub inbound_routing: InboundRouting,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

fn account_owned() -> String {
    "account_owned".to_owned()
}

fn non_listed() -> String {
    "non_listed".to_owned()
}

fn yes() -> bool {
    true
}

impl PhoneNumber {
    /// A freshly provisioned number: active, routed by default to nobody (rest.md §6.2).
    pub fn new(id: impl Into<String>, phone_number: impl Into<String>, now: &str) -> Self {
        Self {
            id: id.into(),
            phone_number: phone_number.into(),
            status: active(),
            number_class: account_owned(),
            expires_at: None,
            disconnected_at: None,
            outbound_enabled: true,
            fax_enabled: false,
            config: None,
            caller_id_name: None,
            caller_id_prefix: None,
            caller_id_visibility: None,
            directory_listing_name: None,
            directory_listing_type: non_listed(),
            directory_listing_location: None,
            routing_target: None,
            inbound_routing: InboundRouting::Default,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }
}

/// One weekly opening range (rest.md §7.1): `day` 0 = Sunday … 6 = Saturday, `"HH:MM"` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyRange {
    pub day: i64,
    pub start: String,
    pub end: String,
}

/// A whole-day closure, `"YYYY-MM-DD"` dates, both inclusive (rest.md §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub start: String,
    pub end: String,
}

/// A schedule (rest.md §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default)]
    pub ranges: Vec<WeeklyRange>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// What a ring group does when nobody answers (rest.md §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutAction {
    RingUser,
    Voicemail,
    Queue,
}

/// A ring-group member: exactly one of `extension` (a target id) or `phone_number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingGroupMember {
    pub id: String,
    pub ring_group_id: String,
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub created_at: String,
}

/// A ring group (rest.md §10.1); members are always embedded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingGroup {
    pub id: String,
    pub name: String,
    #[serde(default = "twenty")]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub ignore_forwarding: bool,
    #[serde(default)]
    pub confirm_external: bool,
    #[serde(default)]
    pub timeout_action: Option<TimeoutAction>,
    #[serde(default)]
    pub timeout_target: Option<String>,
    #[serde(default)]
    pub members: Vec<RingGroupMember>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

fn twenty() -> u32 {
    20
}

impl RingGroup {
    /// rest.md §10.2 validation: timeout 5–300 \[open\]; `timeout_action` and `timeout_target`
    /// set together with matching prefixes. Returns `(field, reason)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        use crate::ids::TargetKind as K;
        if self.name.trim().is_empty() || self.name.chars().count() > 255 {
            return Err(("name", "must be 1 to 255 characters".to_owned()));
        }
        if !(5..=300).contains(&self.timeout_seconds) {
            return Err(("timeout_seconds", "must be from 5 to 300".to_owned()));
        }
        match (self.timeout_action, &self.timeout_target) {
            (None, None) => Ok(()),
            (Some(_), None) | (None, Some(_)) => {
                Err(("timeout_target", "timeout_action and timeout_target are set together".to_owned()))
            }
            (Some(action), Some(target)) => {
                let kind = K::of(target);
                let fits = match action {
                    TimeoutAction::RingUser => kind == Some(K::User),
                    TimeoutAction::Voicemail => matches!(kind, Some(K::User | K::SharedVoicemail)),
                    TimeoutAction::Queue => kind == Some(K::Queue),
                };
                if fits {
                    Ok(())
                } else {
                    Err(("timeout_target", format!("{target:?} does not fit timeout_action {action:?}")))
                }
            }
        }
    }
}
