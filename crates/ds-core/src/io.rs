//! Inputs and outputs of the sans-IO [`crate::Phone`]: what the host tells it and what it asks of
//! the host. Every type here is plain data.

use ds_protocol::signalling::{ClientMessage, EndReason, HeldBy, PresenceEntry, RejectReason};

use crate::error::{PhoneError, PhoneErrorCode};
use crate::view_model::ConnectionStatus;

/// The core's own, stable name for a call. Outbound calls have no server `call_id` until
/// `call.trying`, and the peer connection the host keeps for a call must not be re-keyed when the
/// id arrives, so every media request and UI event names calls by handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

/// Names one WebSocket the core asked the host to open, so that late events from an old socket
/// cannot be mistaken for the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// Who started the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A call's state (protocol.md §6.1). Changed only by server frames, except that an outbound call
/// starts in `Trying` before the server confirmed it (`call_id` is `None` until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallPhase {
    Trying,
    Ringing,
    Active,
    Held,
    Ended,
}

impl CallPhase {
    /// `Active` or `Held` (§6.1 "connected").
    pub fn is_connected(self) -> bool {
        matches!(self, CallPhase::Active | CallPhase::Held)
    }
}

/// A snapshot of one call, as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub handle: CallHandle,
    /// The server's id; `None` for an outbound call still awaiting `call.trying`.
    pub call_id: Option<String>,
    pub direction: Direction,
    pub phase: CallPhase,
    /// The other party's number (dialled destination, or the caller's `from`).
    pub remote_number: String,
    /// The caller's name, when the network supplied one.
    pub remote_name: Option<String>,
    /// Our number the caller dialled (`to` of an inbound call).
    pub local_number: Option<String>,
    /// Who holds the call, while `phase` is `Held`.
    pub held_by: Option<HeldBy>,
    pub muted: bool,
    /// Host clock (ms since the Unix epoch) when the call connected; drives the call timer.
    pub answered_at_ms: Option<u64>,
    /// The user pressed Answer and the answer is being prepared or sent.
    pub answering: bool,
    /// The user asked to end or decline the call; waiting for `call.ended`.
    pub ending: bool,
    /// Local ringback is playing for this call.
    pub ringback: bool,
    /// The far end sent a provisional answer (early media).
    pub early_media: bool,
    /// This call is the consult leg of an attended transfer of that call.
    pub consult_for: Option<CallHandle>,
    /// This call is being transferred; that call is its consult leg.
    pub consulted_by: Option<CallHandle>,
    /// The call was re-announced by `call.restored` after a reconnect.
    pub restored: bool,
    /// Set on the snapshot carried by [`PhoneEvent::CallRemoved`].
    pub end_reason: Option<EndReason>,
}

/// What the user (or the host application) asks the phone to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start connecting with this user token.
    Connect {
        token: String,
    },
    /// Hang up every call and close the connection; no automatic reconnect.
    Disconnect,
    /// A fresh token, usually in answer to [`Output::NeedToken`].
    ProvideToken {
        token: String,
    },
    /// The host environment resumed (tab visible, focus, online, page-show): probe the socket.
    Wake,
    /// Place a call to what the user typed (cleaned per §14).
    Dial {
        destination: String,
    },
    Answer {
        call: CallHandle,
    },
    Reject {
        call: CallHandle,
        reason: RejectReason,
    },
    Hangup {
        call: CallHandle,
    },
    Hold {
        call: CallHandle,
    },
    Resume {
        call: CallHandle,
    },
    SetMuted {
        call: CallHandle,
        muted: bool,
    },
    SendDtmf {
        call: CallHandle,
        digits: String,
    },
    BlindTransfer {
        call: CallHandle,
        destination: String,
    },
    /// Start an attended transfer of `call` by calling `destination` (the consult leg).
    ConsultTransfer {
        call: CallHandle,
        destination: String,
    },
    /// Join the original and consult legs; `call` may name either leg.
    CompleteTransfer {
        call: CallHandle,
    },
    /// Drop the consult leg and resume the original; `call` may name either leg.
    CancelTransfer {
        call: CallHandle,
    },
    /// Watch these users' presence (replaces the watch set).
    SubscribePresence {
        users: Vec<String>,
    },
    /// The E911 address id to present (§7.13). While connected, the phone re-authenticates on a
    /// new socket as soon as no call is live, so the address binds (also when the id is the same,
    /// as after the user confirmed it on a new network).
    SetEmergencyAddress {
        id: Option<String>,
    },
}

/// What the host's transport drivers report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// The ICE-server list arrived; the host keeps it for its peer connections.
    IceServersFetched,
    IceServersFailed {
        reason: String,
    },
    SocketOpened {
        socket: SocketId,
    },
    SocketClosed {
        socket: SocketId,
        code: Option<u16>,
        reason: String,
    },
    SocketError {
        socket: SocketId,
        message: String,
    },
}

/// What the host's media drivers report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// Answer to [`MediaRequest::CreateOffer`]: a complete (non-trickle) SDP offer.
    OfferCreated {
        call: CallHandle,
        sdp: String,
    },
    /// Answer to [`MediaRequest::CreateAnswerFor`].
    AnswerCreated {
        call: CallHandle,
        sdp: String,
    },
    /// A provisional answer could not be applied (Firefox): play local ringback instead (§7.2).
    ProvisionalAnswerUnusable {
        call: CallHandle,
    },
    /// Real remote audio started flowing: local ringback stops.
    RemoteAudioFlowing {
        call: CallHandle,
    },
    /// A local ICE candidate to forward (the SDP already carries all of them; §8).
    LocalIceCandidate {
        call: CallHandle,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u32>,
    },
    LocalIceGatheringDone {
        call: CallHandle,
    },
    /// Media setup failed, classified by the driver (`mic_permission_denied`, …).
    Failed {
        call: CallHandle,
        code: PhoneErrorCode,
        message: String,
    },
}

/// Work for the host's transport drivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportRequest {
    /// `GET url` with `Authorization: Bearer token`; report with `IceServersFetched`/`Failed`.
    FetchIceServers {
        url: String,
        token: String,
    },
    /// Open a WebSocket offering `protocols`; report with `SocketOpened`/`Closed`/`Error`.
    OpenSocket {
        socket: SocketId,
        url: String,
        protocols: Vec<String>,
    },
    CloseSocket {
        socket: SocketId,
    },
}

/// Work for the host's media drivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRequest {
    /// Open the microphone, create a peer connection and an offer; reply `OfferCreated`.
    CreateOffer {
        call: CallHandle,
    },
    ApplyProvisionalAnswer {
        call: CallHandle,
        sdp: String,
    },
    ApplyAnswer {
        call: CallHandle,
        sdp: String,
    },
    /// Apply the server's offer and create an answer; reply `AnswerCreated`.
    CreateAnswerFor {
        call: CallHandle,
        offer: String,
    },
    AddRemoteCandidate {
        call: CallHandle,
        candidate: Option<String>,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u32>,
    },
    /// Tear down the call's peer connection and microphone track.
    CloseCall {
        call: CallHandle,
    },
    /// 440 + 480 Hz, 2 s on / 4 s off (§14).
    StartRingback {
        call: CallHandle,
    },
    StopRingback {
        call: CallHandle,
    },
    StartRingtone,
    StopRingtone,
    SetMuted {
        call: CallHandle,
        muted: bool,
    },
    /// RFC 4733 digits through the DTMF sender, 100 ms tone / 70 ms gap (§7.8).
    SendDtmf {
        call: CallHandle,
        digits: String,
    },
}

/// What the UI should learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneEvent {
    ConnectionChanged(ConnectionStatus),
    Authenticated {
        user_id: String,
        account_id: String,
    },
    CallAdded(CallInfo),
    CallUpdated(CallInfo),
    /// The call ended; `call.end_reason` is set. The handle is never reused.
    CallRemoved(CallInfo),
    /// The call the in-call screen shows changed.
    ActiveCallChanged(Option<CallHandle>),
    Error(PhoneError),
    /// The presented E911 address is not valid on this network: prompt the user (§7.13).
    NetworkChanged,
    Presence(Vec<PresenceEntry>),
}

/// Any input of the phone, for hosts that prefer one entry point ([`crate::Phone::handle_input`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Command(Command),
    Frame(ds_protocol::signalling::ServerMessage),
    Transport(TransportEvent),
    Media(MediaEvent),
    /// A timer armed from `poll_timeout` fired.
    Timeout,
}

/// One thing the host must do. See [`crate::Phone`] for the drain contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    SendFrame(ClientMessage),
    Transport(TransportRequest),
    Media(MediaRequest),
    Event(PhoneEvent),
    /// Ask the host application for a fresh user token; answer with `Command::ProvideToken`.
    NeedToken,
}
