//! Deterministic harness for the sans-IO phone: a simulated clock, a scripted fake server that
//! speaks `ds-protocol`, and fake transport/media drivers that answer the phone's requests the way
//! the browser drivers would. Nothing here touches a socket or a real clock.
//!
//! `step()` carries out the phone's queued outputs and feeds back what they cause;
//! `run_until_idle()` repeats that until nothing moves; `advance(ms)` moves the clock, firing
//! every timer that falls due on the way.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};

use ds_core::token::encode_base64url;
use ds_core::view_model::ConnectionStatus;
use ds_core::{
    CallHandle, CallInfo, Command, Input, MediaEvent, MediaRequest, Output, Phone, PhoneConfig, PhoneError,
    PhoneEvent, RandomSource, SocketId, TransportEvent, TransportRequest, XorShift32,
};
use ds_protocol::signalling::{
    ClientMessage, EndReason, ErrorCode, ErrorFrame, HeldBy, RejectReason, ServerMessage, TransferStep,
};

/// 2026-09-21T… in ms: the harness clock starts here so that token `exp` values are realistic.
pub const T0: u64 = 1_790_000_000_000;
pub const USER: &str = "user_01jzq4k8c2m3p5r7t9v1w3x5y7";
pub const ACCOUNT: &str = "acct_01jzq4hx0a2b4c6d8e0f2g4h6j";
pub const API_BASE: &str = "http://127.0.0.1:8787";

/// An unsigned JWT-shaped token with `sub` and `exp` (seconds).
pub fn make_token(sub: &str, exp_secs: u64) -> String {
    let payload = format!(r#"{{"sub":"{sub}","exp":{exp_secs},"acct":"{ACCOUNT}"}}"#);
    format!("eyJhbGciOiJFZERTQSJ9.{}.c2ln", encode_base64url(payload.as_bytes()))
}

/// A token valid for an hour after T0.
pub fn hour_token() -> String {
    make_token(USER, T0 / 1000 + 3600)
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthPolicy {
    Accept { reconnected: Option<bool> },
    Fatal(ErrorCode),
    NonFatal(ErrorCode),
    Silent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RefreshPolicy {
    Accept,
    Refuse,
    Silent,
}

/// A scripted server: answers the obvious requests by itself (when `auto_calls` is on) and lets
/// the test push any other frame.
pub struct FakeServer {
    pub auth: AuthPolicy,
    pub refresh: RefreshPolicy,
    pub auto_pong: bool,
    /// Reply `call.trying` to `call.create` and to the consult step.
    pub auto_trying: bool,
    /// Answer hold/resume/hangup/reject/answer/transfer as ds-local does.
    pub auto_calls: bool,
    /// Frames sent right after the next `authenticated` (e.g. `call.restored`).
    pub after_auth: Vec<ServerMessage>,
    pub received: Vec<ClientMessage>,
    next_call: u32,
    /// original call id → consult call id
    consults: HashMap<String, String>,
}

impl FakeServer {
    fn new() -> Self {
        FakeServer {
            auth: AuthPolicy::Accept { reconnected: None },
            refresh: RefreshPolicy::Accept,
            auto_pong: true,
            auto_trying: true,
            auto_calls: true,
            after_auth: Vec::new(),
            received: Vec::new(),
            next_call: 0,
            consults: HashMap::new(),
        }
    }

    pub fn new_call_id(&mut self) -> String {
        self.next_call += 1;
        format!("call_srv{:04}", self.next_call)
    }

    fn error(code: ErrorCode, req_id: Option<String>, fatal: bool) -> ServerMessage {
        ServerMessage::Error(ErrorFrame {
            code,
            message: "scripted".into(),
            req_id,
            call_id: None,
            fatal: Some(fatal),
            context: None,
        })
    }

    fn receive(&mut self, message: ClientMessage) -> Vec<ServerMessage> {
        self.received.push(message.clone());
        let ended = |call_id: String, reason: EndReason| ServerMessage::CallEnded {
            call_id,
            reason,
            duration_seconds: None,
        };
        match message {
            ClientMessage::Authenticate { req_id, .. } => match self.auth.clone() {
                AuthPolicy::Accept { reconnected } => {
                    let mut out = vec![ServerMessage::Authenticated {
                        req_id,
                        user_id: USER.into(),
                        account_id: ACCOUNT.into(),
                        reconnected,
                    }];
                    out.append(&mut self.after_auth);
                    out
                }
                AuthPolicy::Fatal(code) => vec![Self::error(code, req_id, true)],
                AuthPolicy::NonFatal(code) => vec![Self::error(code, req_id, false)],
                AuthPolicy::Silent => vec![],
            },
            ClientMessage::AuthRefresh { req_id, .. } => match self.refresh {
                RefreshPolicy::Accept => vec![ServerMessage::AuthRefreshed { req_id }],
                RefreshPolicy::Refuse => vec![Self::error(ErrorCode::AuthFailed, req_id, false)],
                RefreshPolicy::Silent => vec![],
            },
            ClientMessage::Ping { req_id } if self.auto_pong => vec![ServerMessage::Pong { req_id }],
            ClientMessage::CallCreate { req_id, .. } if self.auto_trying => {
                vec![ServerMessage::CallTrying { call_id: self.new_call_id(), req_id }]
            }
            ClientMessage::CallTransferAttended { req_id, call_id, step, .. } if self.auto_calls => {
                match step {
                    TransferStep::Consult => {
                        let consult = self.new_call_id();
                        self.consults.insert(call_id.clone(), consult.clone());
                        vec![
                            ServerMessage::CallHeld { call_id, held_by: HeldBy::Local },
                            ServerMessage::CallTrying { call_id: consult, req_id },
                        ]
                    }
                    _ => {
                        let consult = self.consults.remove(&call_id).expect("complete after consult");
                        vec![ended(call_id, EndReason::Transferred), ended(consult, EndReason::Transferred)]
                    }
                }
            }
            _ if !self.auto_calls => vec![],
            ClientMessage::SdpAnswer { call_id, .. } => {
                vec![ServerMessage::CallAnswered {
                    call_id,
                    answered_at: Some("2026-09-21T00:00:00Z".into()),
                }]
            }
            ClientMessage::CallReject { call_id, reason } => {
                let reason = match reason {
                    Some(RejectReason::Busy) => EndReason::Busy,
                    _ => EndReason::Rejected,
                };
                vec![ended(call_id, reason)]
            }
            ClientMessage::CallHangup { call_id } => vec![ended(call_id, EndReason::Hangup)],
            ClientMessage::CallHold { call_id } => {
                vec![ServerMessage::CallHeld { call_id, held_by: HeldBy::Local }]
            }
            ClientMessage::CallResume { call_id } => vec![ServerMessage::CallResumed { call_id }],
            ClientMessage::CallTransfer { call_id, .. } => vec![ended(call_id, EndReason::Transferred)],
            _ => vec![],
        }
    }
}

/// A phone wired to the fake server and fake drivers.
pub struct Harness {
    pub phone: Phone,
    pub now: u64,
    pub server: FakeServer,
    /// ICE-server fetches succeed.
    pub ice_ok: bool,
    /// WebSocket opens succeed.
    pub sockets_ok: bool,
    /// The fake media driver answers `CreateOffer` / `CreateAnswerFor` at once.
    pub auto_media: bool,
    /// Answer `NeedToken` with this token.
    pub token_supply: Option<String>,
    pub socket: Option<SocketId>,
    pub events: Vec<PhoneEvent>,
    pub media: Vec<MediaRequest>,
    pub transport: Vec<(u64, TransportRequest)>,
    pub need_token: Vec<u64>,
    inbox: VecDeque<Input>,
    offers: u32,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(
            PhoneConfig { api_base: API_BASE.into(), ..PhoneConfig::default() },
            Box::new(XorShift32::new(7)),
        )
    }

    pub fn with(config: PhoneConfig, random: Box<dyn RandomSource>) -> Self {
        Harness {
            phone: Phone::new(config, random),
            now: T0,
            server: FakeServer::new(),
            ice_ok: true,
            sockets_ok: true,
            auto_media: true,
            token_supply: None,
            socket: None,
            events: Vec::new(),
            media: Vec::new(),
            transport: Vec::new(),
            need_token: Vec::new(),
            inbox: VecDeque::new(),
            offers: 0,
        }
    }

    /// A harness already connected with [`hour_token`].
    pub fn connected() -> Self {
        let mut h = Self::new();
        h.connect(&hour_token());
        h
    }

    pub fn connect(&mut self, token: &str) {
        self.command(Command::Connect { token: token.into() });
        assert_eq!(self.status(), ConnectionStatus::Connected, "handshake should complete");
    }

    pub fn status(&self) -> ConnectionStatus {
        self.phone.connection_status()
    }

    pub fn command(&mut self, command: Command) {
        self.phone.handle_command(self.now, command);
        self.run_until_idle();
    }

    /// The server pushes a frame on the current socket.
    pub fn deliver(&mut self, frame: ServerMessage) {
        self.inbox.push_back(Input::Frame(frame));
        self.run_until_idle();
    }

    pub fn media_event(&mut self, event: MediaEvent) {
        self.inbox.push_back(Input::Media(event));
        self.run_until_idle();
    }

    /// The network drops the socket (the browser reports `close` with 1006).
    pub fn drop_socket(&mut self) {
        let socket = self.socket.take().expect("a socket is open");
        self.inbox.push_back(Input::Transport(TransportEvent::SocketClosed {
            socket,
            code: Some(1006),
            reason: String::new(),
        }));
        self.run_until_idle();
    }

    /// Carries out every queued output once and feeds back one round of consequences.
    /// Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        while let Some(output) = self.phone.poll_output() {
            moved = true;
            self.carry_out(output);
        }
        if let Some(input) = self.inbox.pop_front() {
            moved = true;
            // Frames only arrive on an open socket.
            if self.socket.is_some() || !matches!(input, Input::Frame(_)) {
                self.phone.handle_input(self.now, input);
            }
        }
        moved
    }

    pub fn run_until_idle(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the phone and the fake server did not settle within 10,000 steps");
    }

    /// Moves the clock forward by `ms`, firing every timer that falls due on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + ms;
        loop {
            self.run_until_idle();
            match self.phone.poll_timeout() {
                Some(deadline) if deadline <= target => {
                    self.now = self.now.max(deadline);
                    self.phone.handle_input(self.now, Input::Timeout);
                }
                _ => break,
            }
        }
        self.now = target;
        self.run_until_idle();
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::SendFrame(frame) => {
                assert!(self.socket.is_some(), "phone sent {frame:?} with no open socket");
                for reply in self.server.receive(frame) {
                    self.inbox.push_back(Input::Frame(reply));
                }
            }
            Output::Transport(request) => {
                self.transport.push((self.now, request.clone()));
                match request {
                    TransportRequest::FetchIceServers { .. } => {
                        self.inbox.push_back(Input::Transport(if self.ice_ok {
                            TransportEvent::IceServersFetched
                        } else {
                            TransportEvent::IceServersFailed { reason: "503".into() }
                        }))
                    }
                    TransportRequest::OpenSocket { socket, .. } => {
                        if self.sockets_ok {
                            self.socket = Some(socket);
                            self.inbox.push_back(Input::Transport(TransportEvent::SocketOpened { socket }));
                        } else {
                            self.inbox.push_back(Input::Transport(TransportEvent::SocketError {
                                socket,
                                message: "connection refused".into(),
                            }));
                        }
                    }
                    TransportRequest::CloseSocket { socket } => {
                        if self.socket == Some(socket) {
                            self.socket = None;
                        }
                        // The browser reports the close it was asked for; the phone must ignore it.
                        self.inbox.push_back(Input::Transport(TransportEvent::SocketClosed {
                            socket,
                            code: Some(1000),
                            reason: String::new(),
                        }));
                    }
                }
            }
            Output::Media(request) => {
                if self.auto_media {
                    match &request {
                        MediaRequest::CreateOffer { call } => {
                            self.offers += 1;
                            let sdp = format!("v=0\r\no=- {} 2 IN IP4 127.0.0.1\r\n", self.offers);
                            self.inbox.push_back(Input::Media(MediaEvent::OfferCreated { call: *call, sdp }));
                        }
                        MediaRequest::CreateAnswerFor { call, .. } => {
                            self.inbox.push_back(Input::Media(MediaEvent::AnswerCreated {
                                call: *call,
                                sdp: "v=0\r\nanswer\r\n".into(),
                            }));
                        }
                        _ => {}
                    }
                }
                self.media.push(request);
            }
            Output::Event(event) => self.events.push(event),
            Output::NeedToken => {
                self.need_token.push(self.now);
                if let Some(token) = self.token_supply.clone() {
                    self.phone.handle_command(self.now, Command::ProvideToken { token });
                }
            }
        }
    }

    // ----- inspection ----------------------------------------------------------------------------

    /// Frames the server received since the last call, and forgets them.
    pub fn take_sent(&mut self) -> Vec<ClientMessage> {
        std::mem::take(&mut self.server.received)
    }

    pub fn take_events(&mut self) -> Vec<PhoneEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn take_media(&mut self) -> Vec<MediaRequest> {
        std::mem::take(&mut self.media)
    }

    pub fn errors(&self) -> Vec<PhoneError> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PhoneEvent::Error(error) => Some(error.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn removed(&self) -> Vec<CallInfo> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PhoneEvent::CallRemoved(info) => Some(info.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn statuses(&self) -> Vec<ConnectionStatus> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PhoneEvent::ConnectionChanged(status) => Some(*status),
                _ => None,
            })
            .collect()
    }

    /// Times at which the phone asked for a socket.
    pub fn socket_opens(&self) -> Vec<u64> {
        self.transport
            .iter()
            .filter(|(_, r)| matches!(r, TransportRequest::OpenSocket { .. }))
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn info(&self, call: CallHandle) -> CallInfo {
        self.phone.call(call).cloned().expect("the call is live")
    }

    pub fn only_call(&self) -> CallHandle {
        let calls = self.phone.calls();
        assert_eq!(calls.len(), 1, "expected exactly one call, got {calls:?}");
        calls[0].handle
    }

    /// Dials and lets the fake server confirm with `call.trying`; returns the handle and call id.
    pub fn dial(&mut self, destination: &str) -> (CallHandle, String) {
        self.command(Command::Dial { destination: destination.into() });
        let handle = self.phone.active_call().expect("the dialled call becomes active");
        let call_id = self.info(handle).call_id.expect("fake server answered call.trying");
        (handle, call_id)
    }

    /// A connected outbound call.
    pub fn active_outbound(&mut self, destination: &str) -> (CallHandle, String) {
        let (handle, call_id) = self.dial(destination);
        self.deliver(ServerMessage::CallRinging { call_id: call_id.clone() });
        self.deliver(ServerMessage::SdpAnswer { call_id: call_id.clone(), sdp: "v=0\r\n".into() });
        self.deliver(ServerMessage::CallAnswered { call_id: call_id.clone(), answered_at: None });
        (handle, call_id)
    }

    /// The server offers an inbound call; returns its handle.
    pub fn incoming(&mut self, call_id: &str, from: &str, from_name: Option<&str>) -> CallHandle {
        self.deliver(ServerMessage::CallIncoming {
            call_id: call_id.into(),
            from: from.into(),
            from_name: from_name.map(Into::into),
            to: "+14155550100".into(),
        });
        self.deliver(ServerMessage::SdpOffer {
            call_id: call_id.into(),
            sdp: format!("v=0\r\noffer {call_id}\r\n"),
        });
        self.phone.call_by_id(call_id).expect("incoming call was added")
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}
