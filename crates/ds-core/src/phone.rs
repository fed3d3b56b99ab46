//! The phone: connection and call state machines (protocol.md §4, §6, §7).

use ds_protocol::signalling::{
    CallDirection, CallState, ClientMessage, EndReason, ErrorFrame, HeldBy, IceCandidate, RejectReason,
    SUBPROTOCOL, ServerMessage, TransferStep, parse_server_frame,
};

use crate::destination::clean_destination;
use crate::error::{PhoneError, PhoneErrorCode};
use crate::io::{
    CallHandle, CallInfo, CallPhase, Command, Direction, Input, MediaEvent, MediaRequest, Output, PhoneEvent,
    SocketId, TransportEvent, TransportRequest,
};
use crate::random::{RandomSource, uniform_inclusive};
use crate::token::read_claims;
use crate::url::{DEFAULT_API_BASE, ice_servers_url, signalling_url};
use crate::view_model::ConnectionStatus;

/// Timers and limits of protocol.md §10, in milliseconds.
pub mod limits {
    pub const ICE_FETCH_TIMEOUT_MS: u64 = 10_000;
    /// Also bounds the socket-opening phase, which the spec leaves to the browser.
    pub const AUTH_TIMEOUT_MS: u64 = 20_000;
    pub const TRYING_TIMEOUT_MS: u64 = 30_000;
    pub const REFRESH_LEAD_MS: u64 = 60_000;
    pub const REFRESH_FLOOR_MS: u64 = 5_000;
    pub const REFRESH_REPLY_TIMEOUT_MS: u64 = 15_000;
    pub const WAKE_PROBE_TIMEOUT_MS: u64 = 5_000;
    /// Back-off steps; the last repeats.
    pub const RECONNECT_STEPS_MS: [u64; 6] = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];
    /// How long after `authenticated{reconnected:true}` calls may still be re-announced by
    /// `call.restored` before the ones that were not are ended locally (decision, see docs).
    pub const RESTORE_SETTLE_MS: u64 = 5_000;
    /// Live legs the UI keeps; further inbound calls are declined `busy` (§6.4).
    pub const MAX_LIVE_CALLS: usize = 4;
    /// How many ended call ids are remembered to drop late or duplicate frames.
    pub const REMEMBERED_ENDED_CALLS: usize = 64;
}
use limits::*;

/// How the phone is set up by its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneConfig {
    /// API base URL (default `https://api.dialstack.ai`).
    pub api_base: String,
    /// Explicit signalling base; when `None` it is derived from `api_base` (§4.1).
    pub signalling_base: Option<String>,
    /// Reconnect automatically after a non-terminal loss (§4.4).
    pub auto_reconnect: bool,
    /// Fetch ICE servers before each connect; `false` when the host has a fixed list (§8).
    pub fetch_ice_servers: bool,
    /// E911 address id presented in `authenticate` (§7.13).
    pub emergency_address_id: Option<String>,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            api_base: DEFAULT_API_BASE.to_owned(),
            signalling_base: None,
            auto_reconnect: true,
            fetch_ice_servers: true,
            emergency_address_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Conn {
    Idle,
    FetchingIce {
        deadline: u64,
    },
    Opening {
        socket: SocketId,
        deadline: u64,
    },
    Authenticating {
        socket: SocketId,
        req_id: String,
        deadline: u64,
    },
    Ready {
        socket: SocketId,
    },
    ReconnectWait {
        until: u64,
    },
    /// `error` distinguishes a failure (UI "error") from the user's own disconnect.
    Disconnected {
        error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Refresh {
    Idle,
    ScheduledAt(u64),
    AwaitingToken { deadline: u64 },
    AwaitingReply { req_id: String, token: String, deadline: u64 },
}

#[derive(Debug, Clone)]
struct Call {
    info: CallInfo,
    /// The `req_id` of `call.create` / consult, the placeholder until `call.trying`.
    req_id: Option<String>,
    /// Dialled destination of an outbound or consult leg.
    destination: String,
    trying_deadline: Option<u64>,
    offer_sent: bool,
    /// The server's offer of an inbound call.
    remote_offer: Option<String>,
    answer_requested: bool,
    remote_audio: bool,
    /// Set after `authenticated{reconnected:true}` until `call.restored` names the call.
    awaiting_restore: bool,
}

/// The sans-IO softphone.
///
/// # Driving contract
///
/// The host owns all I/O and the clock. `now` is always milliseconds since the Unix epoch (the
/// browser's `Date.now()`); it is compared with the token's `exp`, so it must be wall-clock time,
/// and it must never go backwards.
///
/// 1. Feed inputs as they happen: [`Phone::handle_command`] (user actions),
///    [`Phone::handle_frame`] / [`Phone::handle_frame_text`] (signalling frames from the current
///    socket), [`Phone::handle_transport`], [`Phone::handle_media`].
/// 2. After **every** input, drain [`Phone::poll_output`] until it returns `None`, carrying out each
///    [`Output`] in order (send frames on the socket of the last `OpenSocket`, start media work,
///    update the UI). Outputs are only queued, never lost, but their order matters: frames must be
///    sent in the order given.
/// 3. Then ask [`Phone::poll_timeout`] for the next deadline and arm one timer for it, replacing
///    any earlier one. When it fires, call [`Phone::handle_timeout`] with the current time, and
///    drain again. Calling `handle_timeout` early is harmless.
///
/// Nothing in the core blocks, allocates a thread, reads a clock or draws randomness except
/// through the [`RandomSource`] given at construction.
pub struct Phone {
    config: PhoneConfig,
    random: Box<dyn RandomSource>,
    // Plain `Vec`s, not `VecDeque`s, for these short queues: the ring buffer's code is
    // instantiated per element type in the embed bundle (size work).
    outputs: Vec<Output>,
    conn: Conn,
    /// Socket failures since the last `authenticated`; indexes the back-off steps.
    reconnect_attempt: u32,
    next_socket: u64,
    token: Option<String>,
    refresh: Refresh,
    wake_probe_deadline: Option<u64>,
    restore_deadline: Option<u64>,
    user_id: Option<String>,
    account_id: Option<String>,
    req_counter: u64,
    next_handle: u64,
    calls: CallTable,
    active: Option<CallHandle>,
    ringtone_on: bool,
    /// Recently ended server call ids: later frames for them are ignored, duplicates dropped.
    ended_ids: Vec<String>,
    /// `req_id`s of outbound attempts given up locally; a late `call.trying` for one is hung up.
    abandoned_req_ids: Vec<String>,
    /// Call frames produced while the socket was down, sent after the next `authenticated`.
    pending_frames: Vec<ClientMessage>,
    last_status: ConnectionStatus,
    /// The E911 address id sent in the current socket's `authenticate` (§7.13).
    presented_emergency: Option<String>,
    /// The current socket's session got `network.changed`: its address is not bound here.
    network_changed: bool,
    /// The address to present changed (or must be re-bound) after this socket authenticated:
    /// open a new socket as soon as no call would be cut off (§7.13 "changing the address
    /// requires a new socket").
    rebind_pending: bool,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("conn", &self.conn)
            .field("reconnect_attempt", &self.reconnect_attempt)
            .field("refresh", &self.refresh)
            .field("calls", &self.calls.len())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// A phone that does nothing until `Command::Connect`.
    pub fn new(config: PhoneConfig, random: Box<dyn RandomSource>) -> Self {
        Phone {
            config,
            random,
            outputs: Vec::new(),
            conn: Conn::Idle,
            reconnect_attempt: 0,
            next_socket: 0,
            token: None,
            refresh: Refresh::Idle,
            wake_probe_deadline: None,
            restore_deadline: None,
            user_id: None,
            account_id: None,
            req_counter: 0,
            next_handle: 0,
            calls: CallTable::default(),
            active: None,
            ringtone_on: false,
            ended_ids: Vec::new(),
            abandoned_req_ids: Vec::new(),
            pending_frames: Vec::new(),
            last_status: ConnectionStatus::Idle,
            presented_emergency: None,
            network_changed: false,
            rebind_pending: false,
        }
    }

    // ----- queries -----------------------------------------------------------------------------

    /// The next queued output; drain until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        (!self.outputs.is_empty()).then(|| self.outputs.remove(0))
    }

    /// The earliest deadline (ms since the epoch) at which [`Phone::handle_timeout`] must run.
    pub fn poll_timeout(&self) -> Option<u64> {
        let conn = match &self.conn {
            Conn::FetchingIce { deadline }
            | Conn::Opening { deadline, .. }
            | Conn::Authenticating { deadline, .. } => Some(*deadline),
            Conn::ReconnectWait { until } => Some(*until),
            Conn::Idle | Conn::Ready { .. } | Conn::Disconnected { .. } => None,
        };
        let refresh = match &self.refresh {
            Refresh::Idle => None,
            Refresh::ScheduledAt(at) => Some(*at),
            Refresh::AwaitingToken { deadline } | Refresh::AwaitingReply { deadline, .. } => Some(*deadline),
        };
        let calls = self.calls.values().filter_map(|c| c.trying_deadline).min();
        [conn, refresh, self.wake_probe_deadline, self.restore_deadline, calls].into_iter().flatten().min()
    }

    /// The UI-level connection status (§4.4).
    pub fn connection_status(&self) -> ConnectionStatus {
        match &self.conn {
            Conn::Idle => ConnectionStatus::Idle,
            Conn::FetchingIce { .. } | Conn::Opening { .. } | Conn::Authenticating { .. } => {
                if self.reconnect_attempt == 0 {
                    ConnectionStatus::Connecting
                } else {
                    ConnectionStatus::Reconnecting { attempt: self.reconnect_attempt }
                }
            }
            Conn::Ready { .. } => ConnectionStatus::Connected,
            Conn::ReconnectWait { .. } => ConnectionStatus::Reconnecting { attempt: self.reconnect_attempt },
            Conn::Disconnected { error: true } => ConnectionStatus::Error,
            Conn::Disconnected { error: false } => ConnectionStatus::Disconnected,
        }
    }

    /// Snapshots of the live calls, oldest first.
    pub fn calls(&self) -> Vec<CallInfo> {
        self.calls.values().map(|c| c.info.clone()).collect()
    }

    pub fn call(&self, handle: CallHandle) -> Option<&CallInfo> {
        self.calls.get(&handle).map(|c| &c.info)
    }

    /// The handle of the live call with this server id.
    pub fn call_by_id(&self, call_id: &str) -> Option<CallHandle> {
        self.find_by_id(call_id)
    }

    /// The call the in-call screen shows.
    pub fn active_call(&self) -> Option<CallHandle> {
        self.active
    }

    /// The user id from `authenticated`, else from the token's `sub`.
    pub fn user_id(&self) -> Option<String> {
        self.user_id.clone().or_else(|| self.token.as_deref().and_then(read_claims).and_then(|c| c.sub))
    }

    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// True while an outbound or consult leg waits for `call.trying` (a second dial is refused).
    pub fn is_dialing(&self) -> bool {
        self.calls.values().any(|c| c.info.call_id.is_none())
    }

    /// The E911 address id presented on the next handshake (§7.13).
    pub fn emergency_address_id(&self) -> Option<&str> {
        self.config.emergency_address_id.as_deref()
    }

    /// Where the E911 address stands on the current session: the id the server accepted with
    /// `authenticated` (`None` while not connected or when none was presented), and whether the
    /// server then said `network.changed` (the address is bound to another network).
    pub fn emergency_session(&self) -> (Option<&str>, bool) {
        match self.conn {
            Conn::Ready { .. } => (self.presented_emergency.as_deref(), self.network_changed),
            _ => (None, false),
        }
    }

    /// The API base URL REST calls go to.
    pub fn api_base(&self) -> &str {
        &self.config.api_base
    }

    /// The signalling URL this phone connects to (§4.1).
    pub fn signalling_url(&self) -> String {
        signalling_url(self.config.signalling_base.as_deref(), &self.config.api_base)
    }

    // ----- inputs ------------------------------------------------------------------------------

    /// Dispatches any [`Input`] to its handler.
    pub fn handle_input(&mut self, now: u64, input: Input) {
        match input {
            Input::Command(command) => self.handle_command(now, command),
            Input::Frame(frame) => self.handle_frame(now, frame),
            Input::Transport(event) => self.handle_transport(now, event),
            Input::Media(event) => self.handle_media(now, event),
            Input::Timeout => self.handle_timeout(now),
        }
    }

    /// A user or host action.
    pub fn handle_command(&mut self, now: u64, command: Command) {
        match command {
            Command::Connect { token } => self.connect(now, token),
            Command::Disconnect => self.disconnect(),
            Command::ProvideToken { token } => self.provide_token(now, token),
            Command::Wake => self.wake(now),
            Command::Dial { destination } => self.dial(now, &destination, None),
            Command::Answer { call } => self.answer(call),
            Command::Reject { call, reason } => self.reject(call, reason),
            Command::Hangup { call } => self.hangup(call),
            Command::Hold { call } => self.hold(call),
            Command::Resume { call } => self.resume(call),
            Command::SetMuted { call, muted } => self.set_muted(call, muted),
            Command::SendDtmf { call, digits } => self.send_dtmf(call, &digits),
            Command::BlindTransfer { call, destination } => self.blind_transfer(call, &destination),
            Command::ConsultTransfer { call, destination } => self.consult(now, call, &destination),
            Command::CompleteTransfer { call } => self.complete_transfer(now, call),
            Command::CancelTransfer { call } => self.cancel_transfer(call),
            Command::SubscribePresence { users } => {
                let req_id = self.new_req_id(now);
                if matches!(self.conn, Conn::Ready { .. }) {
                    self.push_frame(ClientMessage::PresenceSubscribe { req_id: Some(req_id), users });
                } else {
                    self.error(PhoneError::new(PhoneErrorCode::TransportClosed, "Not connected"));
                }
            }
            Command::SetEmergencyAddress { id } => self.set_emergency_address(id),
        }
        self.rebind_when_idle(now);
        self.emit_status();
    }

    /// A text frame from the current socket. Invalid frames and unknown types are ignored
    /// (§4.3); returns whether the frame was understood.
    pub fn handle_frame_text(&mut self, now: u64, text: &str) -> bool {
        match parse_server_frame(text).known() {
            Some(message) => {
                self.handle_frame(now, message);
                true
            }
            None => {
                // Still proof that the socket is alive (§4.6).
                if matches!(self.conn, Conn::Ready { .. }) {
                    self.wake_probe_deadline = None;
                }
                false
            }
        }
    }

    /// A parsed frame from the current socket.
    pub fn handle_frame(&mut self, now: u64, message: ServerMessage) {
        match &self.conn {
            Conn::Authenticating { .. } => match message {
                ServerMessage::Authenticated { req_id, user_id, account_id, reconnected } => {
                    self.on_authenticated(now, req_id, user_id, account_id, reconnected)
                }
                ServerMessage::Error(error) => self.on_error(now, error),
                _ => {}
            },
            Conn::Ready { .. } => {
                self.wake_probe_deadline = None;
                self.on_ready_frame(now, message);
            }
            // Frames of a socket we no longer use.
            _ => {}
        }
        self.rebind_when_idle(now);
        self.emit_status();
    }

    /// A report from the transport drivers.
    pub fn handle_transport(&mut self, now: u64, event: TransportEvent) {
        match event {
            TransportEvent::IceServersFetched => {
                if matches!(self.conn, Conn::FetchingIce { .. }) {
                    self.open_socket(now);
                }
            }
            TransportEvent::IceServersFailed { reason } => {
                if matches!(self.conn, Conn::FetchingIce { .. }) {
                    self.ice_fetch_failed(reason);
                }
            }
            TransportEvent::SocketOpened { socket } => {
                if let Conn::Opening { socket: current, .. } = self.conn
                    && current == socket
                {
                    let req_id = self.new_req_id(now);
                    let token = self.token.clone().unwrap_or_default();
                    self.conn = Conn::Authenticating {
                        socket,
                        req_id: req_id.clone(),
                        deadline: now + AUTH_TIMEOUT_MS,
                    };
                    self.presented_emergency = self.config.emergency_address_id.clone();
                    self.network_changed = false;
                    self.outputs.push(Output::SendFrame(ClientMessage::Authenticate {
                        req_id: Some(req_id),
                        token,
                        emergency_address_id: self.presented_emergency.clone(),
                    }));
                }
            }
            TransportEvent::SocketClosed { socket, .. } | TransportEvent::SocketError { socket, .. } => {
                if self.current_socket() == Some(socket) {
                    self.close_current_socket();
                    self.socket_lost(now);
                }
            }
        }
        self.emit_status();
    }

    /// A report from the media drivers.
    pub fn handle_media(&mut self, now: u64, event: MediaEvent) {
        match event {
            MediaEvent::OfferCreated { call, sdp } => self.offer_created(call, sdp),
            MediaEvent::AnswerCreated { call, sdp } => self.answer_created(call, sdp),
            MediaEvent::ProvisionalAnswerUnusable { call } => {
                if let Some(c) = self.calls.get(&call)
                    && c.info.direction == Direction::Outbound
                    && !c.info.phase.is_connected()
                    && !c.remote_audio
                {
                    self.set_ringback(call, true);
                }
            }
            MediaEvent::RemoteAudioFlowing { call } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.remote_audio = true;
                    self.set_ringback(call, false);
                }
            }
            MediaEvent::LocalIceCandidate { call, candidate, sdp_mid, sdp_m_line_index } => {
                // Candidates travel in the SDP; the frames are a courtesy and are dropped while the
                // call has no server id (the reference client's `req_` placeholder frames are
                // ignored by the server anyway, §6.3).
                if let Some(call_id) = self.calls.get(&call).and_then(|c| c.info.call_id.clone()) {
                    self.send(ClientMessage::IceCandidate(IceCandidate {
                        call_id,
                        candidate: Some(candidate),
                        sdp_mid,
                        sdp_m_line_index,
                    }));
                }
            }
            MediaEvent::LocalIceGatheringDone { call } => {
                if let Some(call_id) = self.calls.get(&call).and_then(|c| c.info.call_id.clone()) {
                    self.send(ClientMessage::IceDone { call_id });
                }
            }
            MediaEvent::Failed { call, code, message } => self.media_failed(now, call, code, message),
        }
        self.rebind_when_idle(now);
        self.emit_status();
    }

    /// Runs every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.conn.clone() {
            Conn::FetchingIce { deadline } if deadline <= now => {
                self.ice_fetch_failed("the ICE-server request timed out".to_owned());
            }
            Conn::Opening { deadline, .. } if deadline <= now => {
                self.close_current_socket();
                self.socket_lost(now);
            }
            Conn::Authenticating { deadline, .. } if deadline <= now => {
                self.error(PhoneError::new(
                    PhoneErrorCode::AuthFailed,
                    "No answer to authenticate within 20 s",
                ));
                self.close_current_socket();
                self.socket_lost(now);
            }
            Conn::ReconnectWait { until } if until <= now => self.open_socket(now),
            _ => {}
        }
        if self.wake_probe_deadline.is_some_and(|d| d <= now) {
            self.wake_probe_deadline = None;
            if matches!(self.conn, Conn::Ready { .. }) {
                self.close_current_socket();
                self.socket_lost(now);
            }
        }
        match self.refresh.clone() {
            Refresh::ScheduledAt(at) if at <= now => {
                if matches!(self.conn, Conn::Ready { .. }) {
                    self.refresh = Refresh::AwaitingToken { deadline: now + REFRESH_REPLY_TIMEOUT_MS };
                    self.outputs.push(Output::NeedToken);
                }
            }
            Refresh::AwaitingToken { deadline } | Refresh::AwaitingReply { deadline, .. }
                if deadline <= now =>
            {
                self.error(PhoneError::new(
                    PhoneErrorCode::AuthFailed,
                    "Token refresh got no answer in time",
                ));
                self.schedule_refresh(now);
            }
            _ => {}
        }
        if self.restore_deadline.is_some_and(|d| d <= now) {
            self.restore_deadline = None;
            let lost: Vec<_> =
                self.calls.iter().filter(|(_, c)| c.awaiting_restore).map(|(h, _)| *h).collect();
            for handle in lost {
                self.end_call(handle, EndReason::Failed);
            }
        }
        let timed_out: Vec<_> = self
            .calls
            .iter()
            .filter(|(_, c)| c.trying_deadline.is_some_and(|d| d <= now))
            .map(|(h, _)| *h)
            .collect();
        for handle in timed_out {
            self.abandon_outbound(
                handle,
                PhoneErrorCode::CallFailed,
                "The call was not accepted within 30 s",
            );
        }
        self.rebind_when_idle(now);
        self.emit_status();
    }

    // ----- connection --------------------------------------------------------------------------

    fn connect(&mut self, now: u64, token: String) {
        self.token = Some(token);
        match self.conn {
            Conn::Idle | Conn::Disconnected { .. } | Conn::ReconnectWait { .. } => {}
            // Already connecting or connected: the new token is used from the next socket on.
            _ => return,
        }
        self.reconnect_attempt = 0;
        if self.config.fetch_ice_servers {
            self.conn = Conn::FetchingIce { deadline: now + ICE_FETCH_TIMEOUT_MS };
            self.outputs.push(Output::Transport(TransportRequest::FetchIceServers {
                url: ice_servers_url(&self.config.api_base),
                token: self.token.clone().unwrap_or_default(),
            }));
        } else {
            self.open_socket(now);
        }
    }

    fn disconnect(&mut self) {
        let handles: Vec<_> = self.calls.keys().copied().collect();
        for handle in handles {
            if let Some(call_id) = self.calls[&handle].info.call_id.clone()
                && matches!(self.conn, Conn::Ready { .. })
            {
                self.push_frame(ClientMessage::CallHangup { call_id });
            }
            self.end_call(handle, EndReason::Hangup);
        }
        self.close_current_socket();
        self.conn = Conn::Disconnected { error: false };
        self.clear_session_timers();
        self.pending_frames.clear();
    }

    fn set_emergency_address(&mut self, id: Option<String>) {
        self.config.emergency_address_id = id;
        // A socket that already sent `authenticate` bound the old address (or none): re-present.
        // Also when the id is unchanged: after `DELETE …/registered_ip` the same id re-binds.
        if matches!(self.conn, Conn::Authenticating { .. } | Conn::Ready { .. }) {
            self.rebind_pending = true;
        }
    }

    /// Carries out a pending re-bind once the session is ready and no call would be cut off
    /// (§4.8: a manual reconnect hangs up calls; we wait for them to end instead).
    fn rebind_when_idle(&mut self, now: u64) {
        if !self.rebind_pending || !matches!(self.conn, Conn::Ready { .. }) || !self.calls.is_empty() {
            return;
        }
        self.rebind_pending = false;
        self.close_current_socket();
        self.clear_session_timers();
        self.reconnect_attempt = 0;
        self.open_socket(now);
    }

    fn clear_session_timers(&mut self) {
        self.refresh = Refresh::Idle;
        self.wake_probe_deadline = None;
        self.restore_deadline = None;
    }

    fn open_socket(&mut self, now: u64) {
        // The new socket presents the current address, which settles any pending re-bind.
        self.rebind_pending = false;
        self.next_socket += 1;
        let socket = SocketId(self.next_socket);
        self.conn = Conn::Opening { socket, deadline: now + AUTH_TIMEOUT_MS };
        self.outputs.push(Output::Transport(TransportRequest::OpenSocket {
            socket,
            url: self.signalling_url(),
            protocols: vec![SUBPROTOCOL.to_owned()],
        }));
    }

    fn current_socket(&self) -> Option<SocketId> {
        match self.conn {
            Conn::Opening { socket, .. } | Conn::Authenticating { socket, .. } | Conn::Ready { socket } => {
                Some(socket)
            }
            _ => None,
        }
    }

    /// Asks the host to close the current socket, if any. The state is left to the caller.
    fn close_current_socket(&mut self) {
        if let Some(socket) = self.current_socket() {
            self.outputs.push(Output::Transport(TransportRequest::CloseSocket { socket }));
        }
    }

    fn ice_fetch_failed(&mut self, reason: String) {
        self.conn = Conn::Disconnected { error: true };
        self.error(PhoneError::new(PhoneErrorCode::IceFetchFailed, reason));
    }

    /// The current socket is gone (closed, errored, timed out, or abandoned by us).
    fn socket_lost(&mut self, now: u64) {
        self.wake_probe_deadline = None;
        self.restore_deadline = None;
        if !matches!(self.refresh, Refresh::Idle) {
            // Re-armed from the token after the next `authenticated`.
            self.refresh = Refresh::Idle;
        }
        let dialing: Vec<_> = self
            .calls
            .iter()
            .filter(|(_, c)| c.info.call_id.is_none() && c.offer_sent)
            .map(|(h, _)| *h)
            .collect();
        for handle in dialing {
            self.abandon_outbound(
                handle,
                PhoneErrorCode::TransportClosed,
                "The connection dropped while dialling",
            );
        }
        if self.config.auto_reconnect {
            let index = (self.reconnect_attempt as usize).min(RECONNECT_STEPS_MS.len() - 1);
            let step = RECONNECT_STEPS_MS[index];
            let delay = uniform_inclusive(self.random.as_mut(), step / 2, step);
            self.reconnect_attempt += 1;
            self.conn = Conn::ReconnectWait { until: now + delay };
        } else {
            self.conn = Conn::Disconnected { error: true };
        }
    }

    /// Terminal loss: no reconnect, and the calls cannot be continued.
    fn go_terminal(&mut self) {
        self.close_current_socket();
        self.conn = Conn::Disconnected { error: true };
        self.clear_session_timers();
        self.pending_frames.clear();
        let handles: Vec<_> = self.calls.keys().copied().collect();
        for handle in handles {
            self.end_call(handle, EndReason::Failed);
        }
    }

    fn on_authenticated(
        &mut self,
        now: u64,
        req_id: Option<String>,
        user_id: String,
        account_id: String,
        reconnected: Option<bool>,
    ) {
        let Conn::Authenticating { socket, req_id: expected, .. } = &self.conn else { return };
        if req_id.as_ref().is_some_and(|r| r != expected) {
            return; // stale reply (§4.3)
        }
        let socket = *socket;
        let was_reconnect = self.reconnect_attempt > 0;
        self.conn = Conn::Ready { socket };
        self.reconnect_attempt = 0;
        self.user_id = Some(user_id.clone());
        self.account_id = Some(account_id.clone());
        self.event(PhoneEvent::Authenticated { user_id, account_id });
        self.schedule_refresh(now);
        if was_reconnect {
            self.restore_after_reconnect(now, reconnected);
        }
        // Call frames queued while the socket was down, for calls that still exist.
        for frame in std::mem::take(&mut self.pending_frames) {
            if frame.call_id().is_some_and(|id| self.find_by_id(id).is_some()) {
                self.push_frame(frame);
            }
        }
    }

    /// §16.2: `reconnected:true` → calls named by `call.restored` stay, the others end after a
    /// short settle window; `reconnected:false` → the server kept nothing, so every call that the
    /// server knew ends; absent → the server does not speak restore (the real platform today), so
    /// calls are kept as the reference client does (§4.8).
    fn restore_after_reconnect(&mut self, now: u64, reconnected: Option<bool>) {
        let known: Vec<_> =
            self.calls.iter().filter(|(_, c)| c.info.call_id.is_some()).map(|(h, _)| *h).collect();
        match reconnected {
            Some(true) => {
                for handle in &known {
                    if let Some(call) = self.calls.get_mut(handle) {
                        call.awaiting_restore = true;
                    }
                }
                if !known.is_empty() {
                    self.restore_deadline = Some(now + RESTORE_SETTLE_MS);
                }
            }
            Some(false) => {
                for handle in known {
                    self.end_call(handle, EndReason::Failed);
                }
            }
            None => {}
        }
    }

    fn wake(&mut self, now: u64) {
        match self.conn {
            Conn::Ready { .. } if self.wake_probe_deadline.is_none() => {
                let req_id = self.new_req_id(now);
                self.push_frame(ClientMessage::Ping { req_id: Some(req_id) });
                self.wake_probe_deadline = Some(now + WAKE_PROBE_TIMEOUT_MS);
            }
            // Back online: try now rather than wait out the back-off.
            Conn::ReconnectWait { .. } => self.open_socket(now),
            _ => {}
        }
    }

    // ----- token refresh -----------------------------------------------------------------------

    fn schedule_refresh(&mut self, now: u64) {
        let exp = self.token.as_deref().and_then(read_claims).and_then(|c| c.exp);
        self.refresh = match exp {
            Some(exp) => {
                let at = exp.saturating_mul(1000).saturating_sub(REFRESH_LEAD_MS).max(now + REFRESH_FLOOR_MS);
                Refresh::ScheduledAt(at)
            }
            // An undecodable token still works; it just cannot be refreshed on schedule (§3.4).
            None => Refresh::Idle,
        };
    }

    fn provide_token(&mut self, now: u64, token: String) {
        if !matches!(self.conn, Conn::Ready { .. }) {
            // Used by the next `authenticate`.
            self.token = Some(token);
            return;
        }
        if matches!(self.refresh, Refresh::AwaitingReply { .. }) {
            // One refresh at a time; the newer token wins the next round.
            return;
        }
        let req_id = self.new_req_id(now);
        self.push_frame(ClientMessage::AuthRefresh { req_id: Some(req_id.clone()), token: token.clone() });
        self.refresh = Refresh::AwaitingReply { req_id, token, deadline: now + REFRESH_REPLY_TIMEOUT_MS };
    }

    // ----- frames while ready ------------------------------------------------------------------

    fn on_ready_frame(&mut self, now: u64, message: ServerMessage) {
        match message {
            ServerMessage::Authenticated { .. } | ServerMessage::Pong { .. } => {}
            ServerMessage::AuthRefreshed { req_id } => {
                if let Refresh::AwaitingReply { req_id: expected, token, .. } = self.refresh.clone()
                    && req_id.as_ref().is_none_or(|r| *r == expected)
                {
                    self.token = Some(token);
                    self.schedule_refresh(now);
                }
            }
            ServerMessage::NetworkChanged {} => {
                self.network_changed = true;
                self.event(PhoneEvent::NetworkChanged);
            }
            ServerMessage::Error(error) => self.on_error(now, error),
            ServerMessage::CallTrying { call_id, req_id } => self.on_trying(call_id, req_id),
            ServerMessage::CallRinging { call_id } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if call.info.direction == Direction::Outbound && call.info.phase == CallPhase::Trying {
                        call.info.phase = CallPhase::Ringing;
                        let audible = call.remote_audio;
                        if !audible {
                            self.set_ringback(handle, true);
                        }
                        self.call_updated(handle);
                    }
                }
            }
            ServerMessage::CallIncoming { call_id, from, from_name, to } => {
                self.on_incoming(call_id, from, from_name, to)
            }
            ServerMessage::CallAnswered { call_id, .. } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if !call.info.phase.is_connected() {
                        call.info.phase = CallPhase::Active;
                        call.info.answered_at_ms.get_or_insert(now);
                        call.info.answering = false;
                        call.info.held_by = None;
                        self.set_ringback(handle, false);
                        self.update_ringtone();
                        self.set_active(Some(handle));
                        self.call_updated(handle);
                    }
                }
            }
            ServerMessage::CallHeld { call_id, held_by } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if call.info.phase.is_connected() {
                        call.info.phase = CallPhase::Held;
                        call.info.held_by = Some(held_by);
                        self.call_updated(handle);
                    }
                }
            }
            ServerMessage::CallResumed { call_id } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if call.info.phase == CallPhase::Held {
                        call.info.phase = CallPhase::Active;
                        call.info.held_by = None;
                        self.call_updated(handle);
                    }
                }
            }
            ServerMessage::CallEnded { call_id, reason, .. } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    self.end_call(handle, reason);
                }
            }
            ServerMessage::CallRestored { call_id, state, from, from_name, to, direction, .. } => {
                self.on_restored(now, call_id, state, from, from_name, to, direction)
            }
            ServerMessage::SdpOffer { call_id, sdp } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if call.info.direction == Direction::Inbound && call.remote_offer.is_none() {
                        call.remote_offer = Some(sdp.clone());
                        if call.answer_requested {
                            self.media(MediaRequest::CreateAnswerFor { call: handle, offer: sdp });
                        }
                    }
                }
            }
            ServerMessage::SdpPranswer { call_id, sdp } => {
                if let Some(handle) = self.find_by_id(&call_id) {
                    let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
                    if call.info.direction == Direction::Outbound && !call.info.phase.is_connected() {
                        let first = !call.info.early_media;
                        call.info.early_media = true;
                        self.media(MediaRequest::ApplyProvisionalAnswer { call: handle, sdp });
                        if first {
                            self.call_updated(handle);
                        }
                    }
                }
            }
            ServerMessage::SdpAnswer { call_id, sdp } => {
                if let Some(handle) = self.find_by_id(&call_id)
                    && self.calls[&handle].info.direction == Direction::Outbound
                {
                    self.media(MediaRequest::ApplyAnswer { call: handle, sdp });
                }
            }
            ServerMessage::IceCandidate(candidate) => {
                if let Some(handle) = self.find_by_id(&candidate.call_id) {
                    self.media(MediaRequest::AddRemoteCandidate {
                        call: handle,
                        candidate: candidate.candidate,
                        sdp_mid: candidate.sdp_mid,
                        sdp_m_line_index: candidate.sdp_m_line_index,
                    });
                }
            }
            ServerMessage::IceDone { .. } => {}
            ServerMessage::PresenceList { users, .. } => self.event(PhoneEvent::Presence(users)),
            ServerMessage::PresenceUpdate(entry) => self.event(PhoneEvent::Presence(vec![entry])),
        }
    }

    fn on_error(&mut self, now: u64, frame: ErrorFrame) {
        let code = PhoneErrorCode::from(&frame.code);
        let fatal = frame.is_fatal();
        let mut error = PhoneError {
            code: code.clone(),
            fatal,
            call_id: frame.call_id.clone(),
            call: frame.call_id.as_deref().and_then(|id| self.find_by_id(id)),
            message: frame.message.clone(),
        };
        let req_id = frame.req_id.as_deref();

        // Settles the handshake: any fatal error, or any error echoing the authenticate req_id.
        if let Conn::Authenticating { req_id: expected, .. } = &self.conn {
            if fatal || req_id == Some(expected.as_str()) {
                if !fatal
                    && code == PhoneErrorCode::InvalidMessage
                    && let Some(id) = self.presented_emergency.take()
                {
                    // The server cannot use the address we presented (deleted, or another user's:
                    // §4.5 "observed"). Presenting it again would be refused forever, so the next
                    // attempt goes without it and the user is asked for an address.
                    self.config.emergency_address_id = None;
                    error.code = PhoneErrorCode::EmergencyAddressRequired;
                    error.message = format!("The emergency address {id} was refused: {}", error.message);
                }
                self.error(error);
                if code == PhoneErrorCode::AuthFailed {
                    // The token was refused: give the host a chance to supply a fresh one before
                    // the next attempt (`ProvideToken` while not connected replaces it).
                    self.outputs.push(Output::NeedToken);
                }
                if code.is_terminal() {
                    self.go_terminal();
                } else {
                    self.close_current_socket();
                    self.socket_lost(now);
                }
            }
            return;
        }
        if fatal {
            self.error(error);
            if code.is_terminal() {
                self.go_terminal();
            } else {
                self.close_current_socket();
                self.socket_lost(now);
            }
            return;
        }
        // A failed refresh: the session keeps the old expiry; try again from the current token.
        if let Refresh::AwaitingReply { req_id: expected, .. } = &self.refresh
            && req_id == Some(expected.as_str())
        {
            self.error(error);
            self.schedule_refresh(now);
            return;
        }
        // A refused outbound or consult leg.
        if let Some(req_id) = req_id
            && let Some(handle) = self.find_dialing(Some(req_id))
        {
            error.call = Some(handle);
            self.error(error);
            self.end_call(handle, EndReason::Failed);
            return;
        }
        // Non-fatal errors about a call do not end it (§9.1).
        self.error(error);
    }

    fn on_trying(&mut self, call_id: String, req_id: Option<String>) {
        if self.find_by_id(&call_id).is_some() {
            return; // inbound calls may see trying [inferred]; duplicates change nothing
        }
        if let Some(handle) = self.find_dialing(req_id.as_deref()) {
            let call = self.calls.get_mut(&handle).expect("find_dialing returns live handles");
            call.info.call_id = Some(call_id);
            call.trying_deadline = None;
            self.call_updated(handle);
        } else if let Some(req_id) = req_id
            && let Some(position) = self.abandoned_req_ids.iter().position(|r| *r == req_id)
        {
            // We gave up on this attempt (timeout or user cancel) before the server confirmed it:
            // end the leg the server just created rather than leave it ringing.
            self.abandoned_req_ids.remove(position);
            self.push_frame(ClientMessage::CallHangup { call_id: call_id.clone() });
            self.remember_ended(call_id);
        }
    }

    fn on_incoming(&mut self, call_id: String, from: String, from_name: Option<String>, to: String) {
        if self.find_by_id(&call_id).is_some() || self.ended_ids.contains(&call_id) {
            return; // duplicate (§6.3 [compat])
        }
        if self.calls.len() >= MAX_LIVE_CALLS {
            self.push_frame(ClientMessage::CallReject {
                call_id: call_id.clone(),
                reason: Some(RejectReason::Busy),
            });
            self.remember_ended(call_id);
            return;
        }
        let handle =
            self.new_call(Direction::Inbound, CallPhase::Ringing, Some(call_id), from, from_name, Some(to));
        self.event(PhoneEvent::CallAdded(self.calls[&handle].info.clone()));
        self.update_ringtone();
        if self.active.is_none() {
            self.set_active(Some(handle));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_restored(
        &mut self,
        now: u64,
        call_id: String,
        state: CallState,
        from: String,
        from_name: Option<String>,
        to: String,
        direction: CallDirection,
    ) {
        let phase = match state {
            CallState::Trying => CallPhase::Trying,
            CallState::Ringing => CallPhase::Ringing,
            CallState::Held => CallPhase::Held,
            CallState::Ended => return,
            CallState::Active | CallState::Unknown(_) => CallPhase::Active,
        };
        if let Some(handle) = self.find_by_id(&call_id) {
            let call = self.calls.get_mut(&handle).expect("find_by_id returns live handles");
            call.awaiting_restore = false;
            call.info.restored = true;
            if phase != call.info.phase {
                call.info.phase = phase;
                if phase.is_connected() {
                    call.info.answered_at_ms.get_or_insert(now);
                    call.info.answering = false;
                    self.set_ringback(handle, false);
                }
                if phase != CallPhase::Held {
                    self.calls.get_mut(&handle).expect("still live").info.held_by = None;
                } else {
                    let call = self.calls.get_mut(&handle).expect("still live");
                    call.info.held_by.get_or_insert(HeldBy::Local);
                }
            }
            self.update_ringtone();
            self.call_updated(handle);
            return;
        }
        if self.ended_ids.contains(&call_id) || self.calls.len() >= MAX_LIVE_CALLS {
            return;
        }
        // A call this phone did not know (e.g. after a page reload): re-attach it so the user can
        // see and end it.
        let (direction, remote, local) = match direction {
            CallDirection::Outbound => (Direction::Outbound, to, Some(from)),
            _ => (Direction::Inbound, from, Some(to)),
        };
        let handle = self.new_call(direction, phase, Some(call_id), remote, from_name, local);
        let call = self.calls.get_mut(&handle).expect("just inserted");
        call.info.restored = true;
        if phase.is_connected() {
            call.info.answered_at_ms = Some(now);
        }
        if phase == CallPhase::Held {
            call.info.held_by = Some(HeldBy::Local);
        }
        self.event(PhoneEvent::CallAdded(self.calls[&handle].info.clone()));
        self.update_ringtone();
        if self.active.is_none() {
            self.set_active(Some(handle));
        }
    }

    // ----- call commands -----------------------------------------------------------------------

    fn dial(&mut self, now: u64, destination: &str, consult_for: Option<CallHandle>) {
        if !matches!(self.conn, Conn::Ready { .. }) {
            self.error(PhoneError::new(PhoneErrorCode::TransportClosed, "Not connected"));
            return;
        }
        let destination = match clean_destination(destination) {
            Ok(destination) => destination,
            Err(error) => return self.error(error),
        };
        if self.is_dialing() {
            self.error(PhoneError::new(PhoneErrorCode::RateLimited, "Another call is still being placed"));
            return;
        }
        if self.calls.len() >= MAX_LIVE_CALLS {
            self.error(PhoneError::new(PhoneErrorCode::CallLimit, "Too many calls at once"));
            return;
        }
        // The server itself holds the original leg of a consult (§7.10), so only a plain dial
        // holds the active call first.
        if consult_for.is_none() {
            self.hold_active_except(None);
        }
        let handle =
            self.new_call(Direction::Outbound, CallPhase::Trying, None, destination.clone(), None, None);
        let req_id = self.new_req_id(now);
        let call = self.calls.get_mut(&handle).expect("just inserted");
        call.req_id = Some(req_id);
        call.destination = destination;
        call.trying_deadline = Some(now + TRYING_TIMEOUT_MS);
        call.info.consult_for = consult_for;
        if let Some(original) = consult_for
            && let Some(original) = self.calls.get_mut(&original)
        {
            original.info.consulted_by = Some(handle);
        }
        self.event(PhoneEvent::CallAdded(self.calls[&handle].info.clone()));
        if let Some(original) = consult_for {
            self.call_updated(original);
        }
        self.set_active(Some(handle));
        self.media(MediaRequest::CreateOffer { call: handle });
    }

    fn offer_created(&mut self, handle: CallHandle, sdp: String) {
        let Some(call) = self.calls.get(&handle) else { return };
        if call.info.call_id.is_some() || call.offer_sent || call.info.direction != Direction::Outbound {
            return;
        }
        if !matches!(self.conn, Conn::Ready { .. }) {
            self.abandon_outbound(handle, PhoneErrorCode::TransportClosed, "Not connected");
            return;
        }
        let req_id = call.req_id.clone();
        let destination = call.destination.clone();
        let frame = match call.info.consult_for {
            Some(original) => {
                let Some(original_id) = self.calls.get(&original).and_then(|c| c.info.call_id.clone()) else {
                    self.abandon_outbound(
                        handle,
                        PhoneErrorCode::CallFailed,
                        "The call to transfer has ended",
                    );
                    return;
                };
                ClientMessage::CallTransferAttended {
                    req_id,
                    call_id: original_id,
                    step: TransferStep::Consult,
                    destination: Some(destination),
                    sdp: Some(sdp),
                }
            }
            None => ClientMessage::CallCreate { req_id, destination, sdp, caller_id: None },
        };
        self.calls.get_mut(&handle).expect("checked above").offer_sent = true;
        self.push_frame(frame);
    }

    fn answer(&mut self, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else { return };
        if call.info.direction != Direction::Inbound
            || call.info.phase.is_connected()
            || call.info.answering
            || call.info.ending
        {
            return;
        }
        self.hold_active_except(Some(handle));
        let call = self.calls.get_mut(&handle).expect("checked above");
        call.info.answering = true;
        call.answer_requested = true;
        let offer = call.remote_offer.clone();
        // Silence the ringtone before the microphone opens.
        self.update_ringtone();
        if let Some(offer) = offer {
            self.media(MediaRequest::CreateAnswerFor { call: handle, offer });
        }
        self.set_active(Some(handle));
        self.call_updated(handle);
    }

    fn answer_created(&mut self, handle: CallHandle, sdp: String) {
        let Some(call) = self.calls.get(&handle) else { return };
        if !call.info.answering {
            return;
        }
        let call_id = call.info.call_id.clone().expect("inbound calls always have a server id");
        // `call.answer` is sent only once the answer SDP exists, so that it is always followed by
        // `sdp.answer` (§5.1).
        self.send(ClientMessage::CallAnswer { call_id: call_id.clone() });
        self.send(ClientMessage::SdpAnswer { call_id, sdp });
    }

    fn reject(&mut self, handle: CallHandle, reason: RejectReason) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        if call.info.direction != Direction::Inbound || call.info.phase.is_connected() || call.info.ending {
            return;
        }
        call.info.ending = true;
        let call_id = call.info.call_id.clone().expect("inbound calls always have a server id");
        self.send(ClientMessage::CallReject { call_id, reason: Some(reason) });
        self.update_ringtone();
        self.call_updated(handle);
    }

    fn hangup(&mut self, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        match call.info.call_id.clone() {
            Some(call_id) => {
                if call.info.ending {
                    return;
                }
                call.info.ending = true;
                self.send(ClientMessage::CallHangup { call_id });
                self.set_ringback(handle, false);
                self.update_ringtone();
                self.call_updated(handle);
            }
            // Cancelled before the server named it: end locally; a late `call.trying` is hung up.
            None => {
                if let Some(req_id) = call.req_id.clone() {
                    self.remember_abandoned(req_id);
                }
                self.end_call(handle, EndReason::Hangup);
            }
        }
    }

    fn hold(&mut self, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else { return };
        match (&call.info.call_id, call.info.phase) {
            (Some(call_id), CallPhase::Active) => {
                let call_id = call_id.clone();
                self.send(ClientMessage::CallHold { call_id });
            }
            _ => self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "Only an active call can be held")
                    .for_call(handle, call.info.call_id.clone()),
            ),
        }
    }

    fn resume(&mut self, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else { return };
        let call_id = call.info.call_id.clone();
        if call.info.phase != CallPhase::Held {
            return self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "Only a held call can be resumed")
                    .for_call(handle, call_id),
            );
        }
        if call.info.held_by == Some(HeldBy::Remote) {
            return self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "The other party put this call on hold")
                    .for_call(handle, call_id),
            );
        }
        let call_id = call_id.expect("held calls have a server id");
        self.hold_active_except(Some(handle));
        self.send(ClientMessage::CallResume { call_id });
        self.set_active(Some(handle));
    }

    fn set_muted(&mut self, handle: CallHandle, muted: bool) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        if call.info.muted == muted {
            return;
        }
        call.info.muted = muted;
        let call_id = call.info.call_id.clone();
        self.media(MediaRequest::SetMuted { call: handle, muted });
        if let Some(call_id) = call_id {
            self.send(if muted {
                ClientMessage::CallMute { call_id }
            } else {
                ClientMessage::CallUnmute { call_id }
            });
        }
        self.call_updated(handle);
    }

    fn send_dtmf(&mut self, handle: CallHandle, digits: &str) {
        let Some(call) = self.calls.get(&handle) else { return };
        let digits: String = digits
            .chars()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D'))
            .collect();
        if call.info.phase == CallPhase::Active && !digits.is_empty() {
            self.media(MediaRequest::SendDtmf { call: handle, digits });
        }
    }

    fn blind_transfer(&mut self, handle: CallHandle, destination: &str) {
        let Some(call) = self.calls.get(&handle) else { return };
        let call_id = call.info.call_id.clone();
        let (Some(call_id), true) = (call_id.clone(), call.info.phase.is_connected()) else {
            return self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "Only a connected call can be transferred")
                    .for_call(handle, call_id),
            );
        };
        match clean_destination(destination) {
            Ok(destination) => self.send(ClientMessage::CallTransfer { call_id, destination }),
            Err(error) => self.error(error.for_call(handle, Some(call_id))),
        }
    }

    fn consult(&mut self, now: u64, handle: CallHandle, destination: &str) {
        let Some(call) = self.calls.get(&handle) else { return };
        if call.info.call_id.is_none() || !call.info.phase.is_connected() || call.info.consulted_by.is_some()
        {
            let call_id = call.info.call_id.clone();
            return self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "Only a connected call can be transferred")
                    .for_call(handle, call_id),
            );
        }
        self.dial(now, destination, Some(handle));
    }

    /// `(original, consult)` of the attended transfer `handle` belongs to.
    fn transfer_pair(&self, handle: CallHandle) -> Option<(CallHandle, CallHandle)> {
        let call = self.calls.get(&handle)?;
        match (call.info.consult_for, call.info.consulted_by) {
            (Some(original), _) => Some((original, handle)),
            (None, Some(consult)) => Some((handle, consult)),
            (None, None) => None,
        }
    }

    fn complete_transfer(&mut self, now: u64, handle: CallHandle) {
        let pair = self.transfer_pair(handle);
        let ready = pair.and_then(|(original, consult)| {
            let original = self.calls.get(&original)?;
            let consult = self.calls.get(&consult)?;
            (original.info.phase.is_connected() && consult.info.phase.is_connected())
                .then(|| original.info.call_id.clone())
                .flatten()
        });
        match ready {
            Some(call_id) => {
                let req_id = self.new_req_id(now);
                self.send(ClientMessage::CallTransferAttended {
                    req_id: Some(req_id),
                    call_id,
                    step: TransferStep::Complete,
                    destination: None,
                    sdp: None,
                });
            }
            None => self.error(
                PhoneError::new(PhoneErrorCode::InvalidMessage, "The consulted party has not answered yet")
                    .for_call(handle, self.calls.get(&handle).and_then(|c| c.info.call_id.clone())),
            ),
        }
    }

    fn cancel_transfer(&mut self, handle: CallHandle) {
        let Some((original, consult)) = self.transfer_pair(handle) else { return };
        self.hangup(consult);
        if let Some(call) = self.calls.get_mut(&original) {
            call.info.consulted_by = None;
            if call.info.phase == CallPhase::Held && call.info.held_by != Some(HeldBy::Remote) {
                let call_id = call.info.call_id.clone().expect("held calls have a server id");
                self.send(ClientMessage::CallResume { call_id });
            }
            self.set_active(Some(original));
            self.call_updated(original);
        }
    }

    fn media_failed(&mut self, _now: u64, handle: CallHandle, code: PhoneErrorCode, message: String) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let error = PhoneError::new(code.clone(), message).for_call(handle, call.info.call_id.clone());
        if call.info.call_id.is_none() && !call.offer_sent {
            // The offer could not be made (no microphone…): the dial never reached the server.
            self.error(error);
            self.end_call(handle, EndReason::Failed);
        } else if call.info.answering && !call.info.phase.is_connected() {
            // Keep ringing so the user can fix the device and answer again.
            call.info.answering = false;
            call.answer_requested = false;
            self.error(error);
            self.update_ringtone();
            self.call_updated(handle);
        } else {
            self.error(error);
        }
    }

    // ----- helpers -----------------------------------------------------------------------------

    fn new_req_id(&mut self, now: u64) -> String {
        self.req_counter += 1;
        format!("req_{}_{}", base36(now), self.req_counter)
    }

    fn new_call(
        &mut self,
        direction: Direction,
        phase: CallPhase,
        call_id: Option<String>,
        remote_number: String,
        remote_name: Option<String>,
        local_number: Option<String>,
    ) -> CallHandle {
        self.next_handle += 1;
        let handle = CallHandle(self.next_handle);
        let info = CallInfo {
            handle,
            call_id,
            direction,
            phase,
            remote_number,
            remote_name,
            local_number,
            held_by: None,
            muted: false,
            answered_at_ms: None,
            answering: false,
            ending: false,
            ringback: false,
            early_media: false,
            consult_for: None,
            consulted_by: None,
            restored: false,
            end_reason: None,
        };
        self.calls.insert(
            handle,
            Call {
                info,
                req_id: None,
                destination: String::new(),
                trying_deadline: None,
                offer_sent: false,
                remote_offer: None,
                answer_requested: false,
                remote_audio: false,
                awaiting_restore: false,
            },
        );
        handle
    }

    fn find_by_id(&self, call_id: &str) -> Option<CallHandle> {
        self.calls.iter().find(|(_, c)| c.info.call_id.as_deref() == Some(call_id)).map(|(h, _)| *h)
    }

    /// The outbound leg awaiting `call.trying` that a reply with this `req_id` answers; a reply
    /// without `req_id` answers the only outstanding one (§4.3).
    fn find_dialing(&self, req_id: Option<&str>) -> Option<CallHandle> {
        self.calls
            .iter()
            .filter(|(_, c)| c.info.call_id.is_none() && c.offer_sent)
            .find(|(_, c)| req_id.is_none() || c.req_id.as_deref() == req_id)
            .map(|(h, _)| *h)
    }

    /// Ends an outbound leg that never got `call.trying`, reporting why.
    fn abandon_outbound(&mut self, handle: CallHandle, code: PhoneErrorCode, message: &str) {
        let Some(call) = self.calls.get(&handle) else { return };
        if let Some(req_id) = call.req_id.clone() {
            self.remember_abandoned(req_id);
        }
        self.error(PhoneError::new(code, message).for_call(handle, None));
        self.end_call(handle, EndReason::Failed);
    }

    /// Removes a call for good: media closed, ringback/ringtone settled, UI told.
    fn end_call(&mut self, handle: CallHandle, reason: EndReason) {
        self.set_ringback(handle, false);
        let Some(mut call) = self.calls.remove(&handle) else { return };
        self.media(MediaRequest::CloseCall { call: handle });
        if let Some(call_id) = call.info.call_id.clone() {
            self.remember_ended(call_id);
        }
        // Unlink an attended-transfer partner.
        for partner in [call.info.consult_for, call.info.consulted_by].into_iter().flatten() {
            if let Some(other) = self.calls.get_mut(&partner) {
                other.info.consult_for = other.info.consult_for.filter(|h| *h != handle);
                other.info.consulted_by = other.info.consulted_by.filter(|h| *h != handle);
                self.call_updated(partner);
            }
        }
        call.info.phase = CallPhase::Ended;
        call.info.end_reason = Some(reason);
        call.info.ringback = false;
        self.event(PhoneEvent::CallRemoved(call.info));
        self.update_ringtone();
        if self.active == Some(handle) {
            let next = self
                .calls
                .values()
                .rev()
                .find(|c| c.info.phase == CallPhase::Active)
                .or_else(|| self.calls.values().rev().find(|c| c.info.phase.is_connected()))
                .or_else(|| self.calls.values().next_back())
                .map(|c| c.info.handle);
            self.set_active(next);
        }
    }

    /// Sends `call.hold` for the active (not held) call other than `except`, so that placing,
    /// answering or switching to a call first holds the current one (§6.4).
    fn hold_active_except(&mut self, except: Option<CallHandle>) {
        let targets: Vec<String> = self
            .calls
            .values()
            .filter(|c| Some(c.info.handle) != except && c.info.phase == CallPhase::Active && !c.info.ending)
            .filter_map(|c| c.info.call_id.clone())
            .collect();
        for call_id in targets {
            self.send(ClientMessage::CallHold { call_id });
        }
    }

    fn set_ringback(&mut self, handle: CallHandle, on: bool) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        if call.info.ringback == on {
            return;
        }
        call.info.ringback = on;
        self.media(if on {
            MediaRequest::StartRingback { call: handle }
        } else {
            MediaRequest::StopRingback { call: handle }
        });
    }

    /// The ringtone plays while any inbound call is unanswered and not being declined (§14).
    fn update_ringtone(&mut self) {
        let wanted = self.calls.values().any(|c| {
            c.info.direction == Direction::Inbound
                && !c.info.phase.is_connected()
                && !c.info.answering
                && !c.info.ending
        });
        if wanted != self.ringtone_on {
            self.ringtone_on = wanted;
            self.media(if wanted { MediaRequest::StartRingtone } else { MediaRequest::StopRingtone });
        }
    }

    fn set_active(&mut self, handle: Option<CallHandle>) {
        if self.active != handle {
            self.active = handle;
            self.event(PhoneEvent::ActiveCallChanged(handle));
        }
    }

    fn remember_ended(&mut self, call_id: String) {
        if self.ended_ids.len() >= REMEMBERED_ENDED_CALLS {
            self.ended_ids.remove(0);
        }
        self.ended_ids.push(call_id);
    }

    fn remember_abandoned(&mut self, req_id: String) {
        if self.abandoned_req_ids.len() >= REMEMBERED_ENDED_CALLS {
            self.abandoned_req_ids.remove(0);
        }
        self.abandoned_req_ids.push(req_id);
    }

    /// Sends a call frame now, or keeps it for the next authenticated socket.
    fn send(&mut self, frame: ClientMessage) {
        if matches!(self.conn, Conn::Ready { .. }) {
            self.push_frame(frame);
        } else if frame.call_id().is_some() {
            self.pending_frames.push(frame);
        }
    }

    fn push_frame(&mut self, frame: ClientMessage) {
        self.outputs.push(Output::SendFrame(frame));
    }

    fn media(&mut self, request: MediaRequest) {
        self.outputs.push(Output::Media(request));
    }

    fn event(&mut self, event: PhoneEvent) {
        self.outputs.push(Output::Event(event));
    }

    fn error(&mut self, error: PhoneError) {
        self.event(PhoneEvent::Error(error));
    }

    fn call_updated(&mut self, handle: CallHandle) {
        if let Some(call) = self.calls.get(&handle) {
            let info = call.info.clone();
            self.event(PhoneEvent::CallUpdated(info));
        }
    }

    fn emit_status(&mut self) {
        let status = self.connection_status();
        if status != self.last_status {
            self.last_status = status;
            self.event(PhoneEvent::ConnectionChanged(status));
        }
    }
}

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if value == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while value > 0 {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("base36 digits are ASCII")
}

/// The live calls by handle, in handle order (a `BTreeMap`'s iteration order, which "the newest
/// connected call" relies on). Why not `BTreeMap`: its node code is the largest collection code in
/// the embed bundle, for a phone that holds at most a few calls (size work).
#[derive(Default)]
struct CallTable(Vec<(CallHandle, Call)>);

impl CallTable {
    fn find(&self, handle: &CallHandle) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| key.cmp(handle))
    }

    fn get(&self, handle: &CallHandle) -> Option<&Call> {
        self.find(handle).ok().map(|at| &self.0[at].1)
    }

    fn get_mut(&mut self, handle: &CallHandle) -> Option<&mut Call> {
        self.find(handle).ok().map(|at| &mut self.0[at].1)
    }

    /// Sets `handle`'s call, returning the one it replaces.
    fn insert(&mut self, handle: CallHandle, call: Call) -> Option<Call> {
        match self.find(&handle) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, call)),
            Err(at) => {
                self.0.insert(at, (handle, call));
                None
            }
        }
    }

    fn remove(&mut self, handle: &CallHandle) -> Option<Call> {
        self.find(handle).ok().map(|at| self.0.remove(at).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (&CallHandle, &Call)> {
        self.0.iter().map(|(handle, call)| (handle, call))
    }

    fn keys(&self) -> impl DoubleEndedIterator<Item = &CallHandle> {
        self.0.iter().map(|(handle, _)| handle)
    }

    fn values(&self) -> impl DoubleEndedIterator<Item = &Call> {
        self.0.iter().map(|(_, call)| call)
    }
}

impl std::ops::Index<&CallHandle> for CallTable {
    type Output = Call;

    fn index(&self, handle: &CallHandle) -> &Call {
        self.get(handle).expect("no call with this handle")
    }
}
