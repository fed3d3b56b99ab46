//! Signalling frames of the `/v1/webrtc` WebSocket (protocol.md §4–§9).
//!
//! Every text frame is one JSON object tagged by a string member `type` with the platform's dotted
//! names (`call.create`, `sdp.answer`, …). [`ClientMessage`] is what the browser sends,
//! [`ServerMessage`] what the platform (or ds-local) sends. Both the browser phone and ds-local use
//! these types, so a protocol change that one side does not understand is a compile error.
//!
//! Tolerance rules (§4.3, §9.1 **\[compat\]**):
//! - unknown members are ignored;
//! - small vocabularies (call states, end reasons, error codes, …) are closed enums with an
//!   `Unknown(String)` fallback that keeps the wire value verbatim, so a new value from the
//!   platform never breaks parsing and re-serialises unchanged;
//! - frames with an unknown `type` or invalid JSON are reported by [`parse_server_frame`] /
//!   [`parse_client_frame`] as [`ParsedFrame::UnknownType`] / [`ParsedFrame::Invalid`], never a
//!   panic, so the receiver can ignore them as §4.3 demands.
//!
//! Identifiers (`call_id`, `req_id`, `user_id`, …) are plain `String`s: the protocol treats them as
//! opaque and the server assigns `call_id`s, so a newtype would add ceremony without catching
//! anything. The aliases [`CallId`] and [`ReqId`] document intent in signatures.
//!
//! Optional fields follow the table of §5: `str?` (may be absent) and `str?|null` are `Option`s that
//! are omitted when `None`; `str|null` (always present, may be null) are `Option`s that serialise
//! as `null`, so a frame parsed and re-serialised keeps its shape.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A server-assigned, opaque call identifier (`call_…` in production).
pub type CallId = String;
/// A client-chosen, opaque request identifier echoed by the server (`req_<base36 ms>_<n>`).
pub type ReqId = String;

/// The WebSocket subprotocol every client must offer (§4.2).
pub const SUBPROTOCOL: &str = "dialstack.webrtc.v1";

/// Declares a closed string vocabulary with a lossless `Unknown` fallback.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this build does not know, kept verbatim so it re-serialises unchanged.
            /// [`Self::from_wire`] never builds it for a known value.
            Unknown(String),
        }

        impl $name {
            /// Every value this build knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$( $name::$variant, )+];

            /// The literal wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(other) => other,
                }
            }

            /// Maps a wire string to its variant; unknown strings become `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// False for `Unknown` values.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::from_wire(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Ok($name::from_wire(&value))
            }
        }
    };
}

wire_enum! {
    /// Call states (§6.1). "Connected" means `Active` or `Held`.
    pub enum CallState {
        Trying => "trying",
        Ringing => "ringing",
        Active => "active",
        Held => "held",
        Ended => "ended",
    }
}

wire_enum! {
    /// `call.ended.reason` (§6.2).
    pub enum EndReason {
        Hangup => "hangup",
        NoAnswer => "no-answer",
        Busy => "busy",
        Failed => "failed",
        Transferred => "transferred",
        Rejected => "rejected",
    }
}

wire_enum! {
    /// Who put a call on hold (`call.held.held_by`, §7.6).
    pub enum HeldBy {
        Local => "local",
        Remote => "remote",
    }
}

wire_enum! {
    /// `call.reject.reason` (§5.1, §16.5). Absent on the wire means `Decline`.
    pub enum RejectReason {
        Busy => "busy",
        Decline => "decline",
    }
}

wire_enum! {
    /// `call.transfer.attended.step` (§7.10).
    pub enum TransferStep {
        Consult => "consult",
        Complete => "complete",
    }
}

wire_enum! {
    /// Direction of a call as `call.restored` reports it (§4.8).
    pub enum CallDirection {
        Inbound => "inbound",
        Outbound => "outbound",
    }
}

wire_enum! {
    /// Presence status (§5.2). Clients render unknown values (and the legacy `dnd`/`away`) as
    /// offline **\[compat\]**; see [`PresenceStatus::shown_as`].
    pub enum PresenceStatus {
        Available => "available",
        OnCall => "on_call",
        Offline => "offline",
    }
}

impl PresenceStatus {
    /// The status a UI should display: unknown values collapse to `Offline` (§5.2 **\[compat\]**).
    pub fn shown_as(&self) -> PresenceStatus {
        match self {
            PresenceStatus::Unknown(_) => PresenceStatus::Offline,
            known => known.clone(),
        }
    }
}

wire_enum! {
    /// Socket error codes (§9.1) that travel on the wire. Client-only codes live in ds-core.
    pub enum ErrorCode {
        AuthFailed => "auth_failed",
        AuthExpired => "auth_expired",
        SessionRevoked => "session_revoked",
        SessionReplaced => "session_replaced",
        SessionLimit => "session_limit",
        IdleTimeout => "idle_timeout",
        SlowConsumer => "slow_consumer",
        GoingAway => "going_away",
        InvalidMessage => "invalid_message",
        CallFailed => "call_failed",
        CallNotFound => "call_not_found",
        EmergencyAddressRequired => "emergency_address_required",
        RateLimited => "rate_limited",
        PresenceUnavailable => "presence_unavailable",
        ReachabilityUnavailable => "reachability_unavailable",
        InternalError => "internal_error",
        /// Server-side per-user call cap; seen in a test fixture (§6.4 **\[open\]**).
        CallLimit => "call_limit",
    }
}

impl ErrorCode {
    /// Terminal codes stop automatic reconnection (§4.4, §9.1).
    pub fn is_terminal(&self) -> bool {
        matches!(self, ErrorCode::AuthExpired | ErrorCode::SessionRevoked | ErrorCode::SessionReplaced)
    }
}

/// A remote or local ICE candidate (`ice.candidate`, §5.1/§5.2, §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub call_id: CallId,
    /// `null` from the server signals end of candidates.
    #[serde(default)]
    pub candidate: Option<String>,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default)]
    pub sdp_m_line_index: Option<u32>,
}

/// One watched user's presence (§5.2 `PresenceEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    pub user_id: String,
    pub name: String,
    pub status: PresenceStatus,
    pub do_not_disturb: bool,
    /// Optional on the wire; serialised as `null` when `None`.
    #[serde(default)]
    pub status_text: Option<String>,
    /// ISO-8601 timestamp.
    pub updated_at: String,
}

/// `error.context` (§5.2): which users a presence error concerns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
}

/// The `error` frame (§5.2, §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_id: Option<ReqId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// Absent means `false`; kept as an `Option` so a frame re-serialises as it came.
    /// Use [`ErrorFrame::is_fatal`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ErrorContext>,
}

impl ErrorFrame {
    /// A fatal error means the server will close the socket (§9.1).
    pub fn is_fatal(&self) -> bool {
        self.fatal.unwrap_or(false)
    }
}

/// Frames the client sends (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    /// First frame on every socket (§4.5).
    #[serde(rename = "authenticate")]
    Authenticate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emergency_address_id: Option<String>,
    },
    /// In-band token refresh (§4.7).
    #[serde(rename = "auth.refresh")]
    AuthRefresh {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        token: String,
    },
    #[serde(rename = "ping")]
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
    },
    /// Place an outbound call with a complete (non-trickle) SDP offer (§7.1).
    #[serde(rename = "call.create")]
    CallCreate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        destination: String,
        sdp: String,
        /// Optional presented caller id (§16.12); the platform ignores it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_id: Option<String>,
    },
    #[serde(rename = "call.answer")]
    CallAnswer { call_id: CallId },
    #[serde(rename = "sdp.answer")]
    SdpAnswer { call_id: CallId, sdp: String },
    #[serde(rename = "call.reject")]
    CallReject {
        call_id: CallId,
        /// Absent means `decline`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
    #[serde(rename = "call.hangup")]
    CallHangup { call_id: CallId },
    #[serde(rename = "call.hold")]
    CallHold { call_id: CallId },
    #[serde(rename = "call.resume")]
    CallResume { call_id: CallId },
    #[serde(rename = "call.mute")]
    CallMute { call_id: CallId },
    #[serde(rename = "call.unmute")]
    CallUnmute { call_id: CallId },
    /// Blind transfer (§7.9).
    #[serde(rename = "call.transfer")]
    CallTransfer { call_id: CallId, destination: String },
    /// Attended transfer (§7.10); `destination` and `sdp` only on the consult step.
    #[serde(rename = "call.transfer.attended")]
    CallTransferAttended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        call_id: CallId,
        step: TransferStep,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp: Option<String>,
    },
    /// Declared but never sent by the reference client; ds-local answers `invalid_message` (§16.4).
    #[serde(rename = "sdp.offer")]
    SdpOffer { call_id: CallId, sdp: String },
    #[serde(rename = "ice.candidate")]
    IceCandidate(IceCandidate),
    #[serde(rename = "ice.done")]
    IceDone { call_id: CallId },
    #[serde(rename = "presence.subscribe")]
    PresenceSubscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        users: Vec<String>,
    },
}

/// Frames the server sends (§5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    #[serde(rename = "authenticated")]
    Authenticated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        user_id: String,
        account_id: String,
        /// True when calls of an earlier session are being restored (§16.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reconnected: Option<bool>,
    },
    #[serde(rename = "auth.refreshed")]
    AuthRefreshed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
    },
    #[serde(rename = "pong")]
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
    },
    /// The presented E911 address is not valid on this network (§7.13).
    #[serde(rename = "network.changed")]
    NetworkChanged {},
    #[serde(rename = "error")]
    Error(ErrorFrame),
    /// Introduces the server `call_id` of an outbound or consult leg.
    #[serde(rename = "call.trying")]
    CallTrying {
        call_id: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
    },
    #[serde(rename = "call.ringing")]
    CallRinging { call_id: CallId },
    #[serde(rename = "call.incoming")]
    CallIncoming {
        call_id: CallId,
        from: String,
        #[serde(default)]
        from_name: Option<String>,
        to: String,
    },
    #[serde(rename = "call.answered")]
    CallAnswered {
        call_id: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answered_at: Option<String>,
    },
    #[serde(rename = "call.held")]
    CallHeld { call_id: CallId, held_by: HeldBy },
    #[serde(rename = "call.resumed")]
    CallResumed { call_id: CallId },
    #[serde(rename = "call.ended")]
    CallEnded {
        call_id: CallId,
        reason: EndReason,
        /// Seconds since answer; `null` when never answered.
        #[serde(default)]
        duration_seconds: Option<u64>,
    },
    /// A call that survived a signalling gap (§4.8, §16.2).
    #[serde(rename = "call.restored")]
    CallRestored {
        call_id: CallId,
        state: CallState,
        from: String,
        #[serde(default)]
        from_name: Option<String>,
        to: String,
        direction: CallDirection,
        #[serde(default)]
        answered_at: Option<String>,
    },
    #[serde(rename = "sdp.offer")]
    SdpOffer { call_id: CallId, sdp: String },
    /// Provisional answer (early media); may repeat.
    #[serde(rename = "sdp.pranswer")]
    SdpPranswer { call_id: CallId, sdp: String },
    #[serde(rename = "sdp.answer")]
    SdpAnswer { call_id: CallId, sdp: String },
    #[serde(rename = "ice.candidate")]
    IceCandidate(IceCandidate),
    #[serde(rename = "ice.done")]
    IceDone { call_id: CallId },
    #[serde(rename = "presence.list")]
    PresenceList {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<ReqId>,
        users: Vec<PresenceEntry>,
    },
    /// A delta for one user; the entry's fields sit at the top level of the frame.
    #[serde(rename = "presence.update")]
    PresenceUpdate(PresenceEntry),
}

impl ClientMessage {
    /// Every `type` string of §5.1.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "authenticate",
        "auth.refresh",
        "ping",
        "call.create",
        "call.answer",
        "sdp.answer",
        "call.reject",
        "call.hangup",
        "call.hold",
        "call.resume",
        "call.mute",
        "call.unmute",
        "call.transfer",
        "call.transfer.attended",
        "sdp.offer",
        "ice.candidate",
        "ice.done",
        "presence.subscribe",
    ];

    /// The frame's `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Authenticate { .. } => "authenticate",
            ClientMessage::AuthRefresh { .. } => "auth.refresh",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::CallCreate { .. } => "call.create",
            ClientMessage::CallAnswer { .. } => "call.answer",
            ClientMessage::SdpAnswer { .. } => "sdp.answer",
            ClientMessage::CallReject { .. } => "call.reject",
            ClientMessage::CallHangup { .. } => "call.hangup",
            ClientMessage::CallHold { .. } => "call.hold",
            ClientMessage::CallResume { .. } => "call.resume",
            ClientMessage::CallMute { .. } => "call.mute",
            ClientMessage::CallUnmute { .. } => "call.unmute",
            ClientMessage::CallTransfer { .. } => "call.transfer",
            ClientMessage::CallTransferAttended { .. } => "call.transfer.attended",
            ClientMessage::SdpOffer { .. } => "sdp.offer",
            ClientMessage::IceCandidate(_) => "ice.candidate",
            ClientMessage::IceDone { .. } => "ice.done",
            ClientMessage::PresenceSubscribe { .. } => "presence.subscribe",
        }
    }

    /// The request id the server must echo, if the frame carries one.
    pub fn req_id(&self) -> Option<&str> {
        match self {
            ClientMessage::Authenticate { req_id, .. }
            | ClientMessage::AuthRefresh { req_id, .. }
            | ClientMessage::Ping { req_id }
            | ClientMessage::CallCreate { req_id, .. }
            | ClientMessage::CallTransferAttended { req_id, .. }
            | ClientMessage::PresenceSubscribe { req_id, .. } => req_id.as_deref(),
            _ => None,
        }
    }

    /// The call the frame is about, if any.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            ClientMessage::CallAnswer { call_id }
            | ClientMessage::SdpAnswer { call_id, .. }
            | ClientMessage::CallReject { call_id, .. }
            | ClientMessage::CallHangup { call_id }
            | ClientMessage::CallHold { call_id }
            | ClientMessage::CallResume { call_id }
            | ClientMessage::CallMute { call_id }
            | ClientMessage::CallUnmute { call_id }
            | ClientMessage::CallTransfer { call_id, .. }
            | ClientMessage::CallTransferAttended { call_id, .. }
            | ClientMessage::SdpOffer { call_id, .. }
            | ClientMessage::IceCandidate(IceCandidate { call_id, .. })
            | ClientMessage::IceDone { call_id } => Some(call_id),
            ClientMessage::Authenticate { .. }
            | ClientMessage::AuthRefresh { .. }
            | ClientMessage::Ping { .. }
            | ClientMessage::CallCreate { .. }
            | ClientMessage::PresenceSubscribe { .. } => None,
        }
    }

    /// Serialises to the JSON text of one WebSocket frame: byte for byte what `serde_json` writes
    /// with the derived `Serialize`, without that code in the browser bundle (see
    /// `frame_codec.rs`).
    pub fn to_json(&self) -> String {
        crate::frame_codec::encode_client_frame(self)
    }
}

impl ServerMessage {
    /// Every `type` string of §5.2.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "authenticated",
        "auth.refreshed",
        "pong",
        "network.changed",
        "error",
        "call.trying",
        "call.ringing",
        "call.incoming",
        "call.answered",
        "call.held",
        "call.resumed",
        "call.ended",
        "call.restored",
        "sdp.offer",
        "sdp.pranswer",
        "sdp.answer",
        "ice.candidate",
        "ice.done",
        "presence.list",
        "presence.update",
    ];

    /// The frame's `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::Authenticated { .. } => "authenticated",
            ServerMessage::AuthRefreshed { .. } => "auth.refreshed",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::NetworkChanged {} => "network.changed",
            ServerMessage::Error(_) => "error",
            ServerMessage::CallTrying { .. } => "call.trying",
            ServerMessage::CallRinging { .. } => "call.ringing",
            ServerMessage::CallIncoming { .. } => "call.incoming",
            ServerMessage::CallAnswered { .. } => "call.answered",
            ServerMessage::CallHeld { .. } => "call.held",
            ServerMessage::CallResumed { .. } => "call.resumed",
            ServerMessage::CallEnded { .. } => "call.ended",
            ServerMessage::CallRestored { .. } => "call.restored",
            ServerMessage::SdpOffer { .. } => "sdp.offer",
            ServerMessage::SdpPranswer { .. } => "sdp.pranswer",
            ServerMessage::SdpAnswer { .. } => "sdp.answer",
            ServerMessage::IceCandidate(_) => "ice.candidate",
            ServerMessage::IceDone { .. } => "ice.done",
            ServerMessage::PresenceList { .. } => "presence.list",
            ServerMessage::PresenceUpdate(_) => "presence.update",
        }
    }

    /// The echoed request id, if the frame carries one.
    pub fn req_id(&self) -> Option<&str> {
        match self {
            ServerMessage::Authenticated { req_id, .. }
            | ServerMessage::AuthRefreshed { req_id }
            | ServerMessage::Pong { req_id }
            | ServerMessage::CallTrying { req_id, .. }
            | ServerMessage::PresenceList { req_id, .. } => req_id.as_deref(),
            ServerMessage::Error(error) => error.req_id.as_deref(),
            _ => None,
        }
    }

    /// The call the frame is about, if any.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            ServerMessage::CallTrying { call_id, .. }
            | ServerMessage::CallRinging { call_id }
            | ServerMessage::CallIncoming { call_id, .. }
            | ServerMessage::CallAnswered { call_id, .. }
            | ServerMessage::CallHeld { call_id, .. }
            | ServerMessage::CallResumed { call_id }
            | ServerMessage::CallEnded { call_id, .. }
            | ServerMessage::CallRestored { call_id, .. }
            | ServerMessage::SdpOffer { call_id, .. }
            | ServerMessage::SdpPranswer { call_id, .. }
            | ServerMessage::SdpAnswer { call_id, .. }
            | ServerMessage::IceCandidate(IceCandidate { call_id, .. })
            | ServerMessage::IceDone { call_id } => Some(call_id),
            ServerMessage::Error(error) => error.call_id.as_deref(),
            ServerMessage::Authenticated { .. }
            | ServerMessage::AuthRefreshed { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::NetworkChanged {}
            | ServerMessage::PresenceList { .. }
            | ServerMessage::PresenceUpdate(_) => None,
        }
    }

    /// Serialises to the JSON text of one WebSocket frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("signalling frames contain only strings, numbers and bools")
    }
}

/// The outcome of parsing one received text frame. Receivers act on `Known` and ignore the rest
/// (§4.3); the other two variants exist so that they can log what they ignored.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedFrame<T> {
    /// A frame of a known `type` with valid fields.
    Known(T),
    /// A JSON object whose `type` this build does not know (forward compatibility).
    UnknownType { type_name: String },
    /// Not JSON, not an object, no string `type`, or a known `type` with missing/ill-typed fields.
    Invalid { reason: String },
}

impl<T> ParsedFrame<T> {
    /// The message, if the frame was understood.
    pub fn known(self) -> Option<T> {
        match self {
            ParsedFrame::Known(message) => Some(message),
            _ => None,
        }
    }
}

fn parse_frame<T: serde::de::DeserializeOwned>(text: &str, known_types: &[&str]) -> ParsedFrame<T> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return ParsedFrame::Invalid { reason: format!("not JSON: {error}") },
    };
    let type_name = match value.as_object().map(|object| object.get("type")) {
        None => return ParsedFrame::Invalid { reason: "frame is not a JSON object".to_owned() },
        Some(None) => return ParsedFrame::Invalid { reason: "frame has no `type` member".to_owned() },
        Some(Some(serde_json::Value::String(name))) => name.clone(),
        Some(Some(_)) => return ParsedFrame::Invalid { reason: "`type` is not a string".to_owned() },
    };
    if !known_types.contains(&type_name.as_str()) {
        return ParsedFrame::UnknownType { type_name };
    }
    match serde_json::from_value::<T>(value) {
        Ok(message) => ParsedFrame::Known(message),
        Err(error) => ParsedFrame::Invalid { reason: format!("bad `{type_name}` frame: {error}") },
    }
}

/// Parses one frame received by the client. Never panics. Accepts and refuses exactly what the
/// derived `Deserialize` does, through a hand-written reader that keeps serde's generated visitors
/// out of the browser bundle (see `frame_codec.rs`).
pub fn parse_server_frame(text: &str) -> ParsedFrame<ServerMessage> {
    crate::frame_codec::decode_server_frame(text)
}

/// Parses one frame received by the server. Never panics.
pub fn parse_client_frame(text: &str) -> ParsedFrame<ClientMessage> {
    parse_frame(text, ClientMessage::TYPE_NAMES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_name_lists_match_the_variants() {
        // A frame built for every listed name must parse as Known or Invalid (missing fields), never
        // UnknownType: the lists and the serde renames agree.
        for name in ClientMessage::TYPE_NAMES {
            let frame = format!(r#"{{"type":"{name}"}}"#);
            assert!(!matches!(parse_client_frame(&frame), ParsedFrame::UnknownType { .. }), "{name}");
        }
        for name in ServerMessage::TYPE_NAMES {
            let frame = format!(r#"{{"type":"{name}"}}"#);
            assert!(!matches!(parse_server_frame(&frame), ParsedFrame::UnknownType { .. }), "{name}");
        }
    }

    #[test]
    fn malformed_frames_are_invalid_with_a_reason_that_names_the_problem() {
        let reason = |text: &str| match parse_server_frame(text) {
            ParsedFrame::Invalid { reason } => reason,
            other => panic!("{text}: expected Invalid, got {other:?}"),
        };
        assert!(reason("{\"type\":").starts_with("not JSON"));
        assert!(reason("{\"type\":\"pong\"} trailing").starts_with("not JSON"));
        assert_eq!(reason("[1,2]"), "frame is not a JSON object");
        assert_eq!(reason("\"pong\""), "frame is not a JSON object");
        assert_eq!(reason("{\"req_id\":\"r1\"}"), "frame has no `type` member");
        assert_eq!(reason("{\"type\":7}"), "`type` is not a string");
        assert!(reason("{\"type\":\"call.ringing\"}").starts_with("bad `call.ringing` frame"));
        // The type may come after the other members, and unknown members are ignored.
        let late = r#"{"call_id":"call_1","extra":[1,{"a":null}],"type":"call.ringing"}"#;
        assert_eq!(
            parse_server_frame(late),
            ParsedFrame::Known(ServerMessage::CallRinging { call_id: "call_1".into() })
        );
        assert_eq!(
            parse_server_frame(r#"{"type":"call.teleported"}"#),
            ParsedFrame::UnknownType { type_name: "call.teleported".into() }
        );
    }

    #[test]
    fn unknown_enum_values_survive_a_round_trip() {
        let text = r#"{"type":"call.ended","call_id":"call_1","reason":"vanished","duration_seconds":null}"#;
        let message = parse_server_frame(text).known().expect("parses");
        assert_eq!(
            message,
            ServerMessage::CallEnded {
                call_id: "call_1".into(),
                reason: EndReason::Unknown("vanished".into()),
                duration_seconds: None
            }
        );
        assert_eq!(message.to_json(), text);
    }

    #[test]
    fn terminal_codes_are_exactly_the_three_of_section_9() {
        let terminal: Vec<_> =
            ErrorCode::KNOWN.iter().filter(|c| c.is_terminal()).map(|c| c.as_str()).collect();
        assert_eq!(terminal, ["auth_expired", "session_revoked", "session_replaced"]);
    }
}
