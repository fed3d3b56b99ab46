//! The closed, UI-meaningful error vocabulary of the phone (protocol.md §9.1).

use ds_protocol::signalling::ErrorCode;

use crate::CallHandle;

/// What went wrong, in words the UI can act on. Wire codes of §9.1 plus the client-only ones of its
/// last row. Unknown server codes keep their text in [`PhoneErrorCode::Other`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PhoneErrorCode {
    AuthFailed,
    AuthExpired,
    SessionRevoked,
    SessionReplaced,
    SessionLimit,
    IdleTimeout,
    SlowConsumer,
    GoingAway,
    InvalidMessage,
    CallFailed,
    CallNotFound,
    EmergencyAddressRequired,
    RateLimited,
    PresenceUnavailable,
    ReachabilityUnavailable,
    InternalError,
    CallLimit,
    /// Client only: the socket closed under an operation that needed it.
    TransportClosed,
    /// Client only: `GET /v1/webrtc/ice-servers` failed or timed out.
    IceFetchFailed,
    /// Client only: the browser refused microphone access.
    MicPermissionDenied,
    /// Client only: no usable audio device.
    AudioDeviceUnavailable,
    /// Client only: the audio device is held by another application.
    AudioDeviceInUse,
    /// Client only: autoplay policy blocked audio output.
    AudioPlaybackBlocked,
    /// A server code this build does not know; handled as a generic error (§9.1 **\[compat\]**).
    Other(String),
}

impl PhoneErrorCode {
    /// The snake_case name, as on the wire for server codes.
    pub fn as_str(&self) -> &str {
        match self {
            PhoneErrorCode::AuthFailed => "auth_failed",
            PhoneErrorCode::AuthExpired => "auth_expired",
            PhoneErrorCode::SessionRevoked => "session_revoked",
            PhoneErrorCode::SessionReplaced => "session_replaced",
            PhoneErrorCode::SessionLimit => "session_limit",
            PhoneErrorCode::IdleTimeout => "idle_timeout",
            PhoneErrorCode::SlowConsumer => "slow_consumer",
            PhoneErrorCode::GoingAway => "going_away",
            PhoneErrorCode::InvalidMessage => "invalid_message",
            PhoneErrorCode::CallFailed => "call_failed",
            PhoneErrorCode::CallNotFound => "call_not_found",
            PhoneErrorCode::EmergencyAddressRequired => "emergency_address_required",
            PhoneErrorCode::RateLimited => "rate_limited",
            PhoneErrorCode::PresenceUnavailable => "presence_unavailable",
            PhoneErrorCode::ReachabilityUnavailable => "reachability_unavailable",
            PhoneErrorCode::InternalError => "internal_error",
            PhoneErrorCode::CallLimit => "call_limit",
            PhoneErrorCode::TransportClosed => "transport_closed",
            PhoneErrorCode::IceFetchFailed => "ice_fetch_failed",
            PhoneErrorCode::MicPermissionDenied => "mic_permission_denied",
            PhoneErrorCode::AudioDeviceUnavailable => "audio_device_unavailable",
            PhoneErrorCode::AudioDeviceInUse => "audio_device_in_use",
            PhoneErrorCode::AudioPlaybackBlocked => "audio_playback_blocked",
            PhoneErrorCode::Other(code) => code,
        }
    }

    /// The code named `name` (the inverse of [`PhoneErrorCode::as_str`]): how a follower tab
    /// reads an error the leader tab passed on.
    pub fn from_name(name: &str) -> PhoneErrorCode {
        match name {
            "transport_closed" => PhoneErrorCode::TransportClosed,
            "ice_fetch_failed" => PhoneErrorCode::IceFetchFailed,
            "mic_permission_denied" => PhoneErrorCode::MicPermissionDenied,
            "audio_device_unavailable" => PhoneErrorCode::AudioDeviceUnavailable,
            "audio_device_in_use" => PhoneErrorCode::AudioDeviceInUse,
            "audio_playback_blocked" => PhoneErrorCode::AudioPlaybackBlocked,
            wire => PhoneErrorCode::from(&ErrorCode::from_wire(wire)),
        }
    }

    /// Terminal codes stop automatic reconnection; the host must act (new token, other tab).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            PhoneErrorCode::AuthExpired | PhoneErrorCode::SessionRevoked | PhoneErrorCode::SessionReplaced
        )
    }
}

impl std::fmt::Display for PhoneErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&ErrorCode> for PhoneErrorCode {
    fn from(code: &ErrorCode) -> Self {
        match code {
            ErrorCode::AuthFailed => PhoneErrorCode::AuthFailed,
            ErrorCode::AuthExpired => PhoneErrorCode::AuthExpired,
            ErrorCode::SessionRevoked => PhoneErrorCode::SessionRevoked,
            ErrorCode::SessionReplaced => PhoneErrorCode::SessionReplaced,
            ErrorCode::SessionLimit => PhoneErrorCode::SessionLimit,
            ErrorCode::IdleTimeout => PhoneErrorCode::IdleTimeout,
            ErrorCode::SlowConsumer => PhoneErrorCode::SlowConsumer,
            ErrorCode::GoingAway => PhoneErrorCode::GoingAway,
            ErrorCode::InvalidMessage => PhoneErrorCode::InvalidMessage,
            ErrorCode::CallFailed => PhoneErrorCode::CallFailed,
            ErrorCode::CallNotFound => PhoneErrorCode::CallNotFound,
            ErrorCode::EmergencyAddressRequired => PhoneErrorCode::EmergencyAddressRequired,
            ErrorCode::RateLimited => PhoneErrorCode::RateLimited,
            ErrorCode::PresenceUnavailable => PhoneErrorCode::PresenceUnavailable,
            ErrorCode::ReachabilityUnavailable => PhoneErrorCode::ReachabilityUnavailable,
            ErrorCode::InternalError => PhoneErrorCode::InternalError,
            ErrorCode::CallLimit => PhoneErrorCode::CallLimit,
            ErrorCode::Unknown(other) => PhoneErrorCode::Other(other.clone()),
        }
    }
}

/// An error the UI should show. `fatal` mirrors the server's flag (the socket is going away);
/// `call`/`call_id` say which call it concerns, if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PhoneError {
    pub code: PhoneErrorCode,
    pub fatal: bool,
    /// The server's id of the call concerned, when it has one.
    pub call_id: Option<String>,
    /// The core's handle of the call concerned, when it knows the call.
    pub call: Option<CallHandle>,
    /// Human-readable detail (the server's message, or the core's own words).
    pub message: String,
}

impl PhoneError {
    /// A non-fatal error with no call attached.
    pub fn new(code: PhoneErrorCode, message: impl Into<String>) -> Self {
        PhoneError { code, fatal: false, call_id: None, call: None, message: message.into() }
    }

    /// Attaches the call this error concerns.
    pub fn for_call(mut self, call: CallHandle, call_id: Option<String>) -> Self {
        self.call = Some(call);
        self.call_id = call_id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_read_back_from_its_name() {
        let client_only = [
            PhoneErrorCode::TransportClosed,
            PhoneErrorCode::IceFetchFailed,
            PhoneErrorCode::MicPermissionDenied,
            PhoneErrorCode::AudioDeviceUnavailable,
            PhoneErrorCode::AudioDeviceInUse,
            PhoneErrorCode::AudioPlaybackBlocked,
        ];
        let wire = ErrorCode::KNOWN.iter().map(PhoneErrorCode::from);
        for code in client_only.into_iter().chain(wire) {
            assert_eq!(PhoneErrorCode::from_name(code.as_str()), code);
        }
        assert_eq!(
            PhoneErrorCode::from_name("teapot_overflow"),
            PhoneErrorCode::Other("teapot_overflow".into()),
            "unknown names keep their text"
        );
    }
}
