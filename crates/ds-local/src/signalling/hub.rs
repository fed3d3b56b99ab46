//! The call hub: one task that owns every registered signalling session and every live call.
//!
//! Everything that changes a call arrives as an [`Input`] on one channel (session frames, socket
//! losses, timers, media events, click-to-call, test-helper calls) and is handled to completion
//! before the next, so call state needs no locks and every frame a session receives is in a
//! well-defined order. Slow work is not done here: media operations are quick commands to the
//! ds-media engine thread, timers are small spawned tasks that post an [`Input`] back, a
//! `call.create`'s database reads run in a task per setup that posts [`Input::SetupRead`], and
//! database writes are queued on the [`cdr::Journal`], never awaited.
//!
//! Model: a [`Call`] is one user-visible leg (one CallLog row, id = signalling `call_id`). Its
//! far party ([`Far`]) is either a simulated PSTN end ([`Behaviour`]) or another call in the hub
//! (user ↔ user: two calls whose media legs ds-media bridges). Timers carry the call's
//! `generation`; a timer for an older generation is stale and ignored.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ds_media::{LegId, MediaConfig, MediaEngine, MediaEvent, MediaEvents, Source};
use ds_protocol::signalling::{
    CallDirection, CallState, ClientMessage, EndReason, ErrorCode, ErrorFrame, HeldBy, PresenceEntry,
    PresenceStatus, RejectReason, ServerMessage, TransferStep,
};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::cdr::{self, Facts, Outcome};
use super::far_end::Behaviour;
use super::{SignallingError, Timers};
use crate::AppState;
use crate::calls::{CallLauncher, ClickToCall, Destination, parse_destination};
use crate::clock::iso;
use crate::ids;

mod routed;
mod voice_app;

pub use routed::InboundCall;
pub use voice_app::{ControlAction, ControlError};

/// Identifies one signalling socket for the hub.
pub type SessionId = u64;

/// Per-user cap on live signalling sessions (protocol.md §16.3).
pub const MAX_SESSIONS_PER_USER: usize = 5;

/// What the hub sends to a session's driver.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOut {
    Frame(ServerMessage),
    /// Send this fatal error and close (e.g. `session_replaced`).
    Fatal {
        code: ErrorCode,
        message: String,
    },
    /// Cut the socket without a close frame, as a network failure would (test hook; the
    /// session's calls then survive for the grace period like after any drop).
    Drop,
}

/// The hub's answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// Calls of a dropped session of this user were adopted; `call.restored` frames follow.
    pub reconnected: bool,
    /// The presented E911 address is bound to another network: send `network.changed`;
    /// non-emergency PSTN calls of this session fail with `emergency_address_required` (§7.13).
    pub network_changed: bool,
}

/// Why the hub refused a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user is gone or the check failed: fatal `auth_failed`.
    Unauthorized(String),
    /// The presented `emergency_address_id` is not one of the user's addresses: non-fatal
    /// `invalid_message` echoing the `req_id`; the client abandons the socket (§4.5).
    UnusableAddress(String),
}

/// A simulated inbound call (rest.md §18.1), already validated by the REST handler.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCall {
    pub account_id: String,
    pub user_id: String,
    pub from_number: String,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub outcome: TestOutcome,
    pub ring: Option<Duration>,
    pub talk: Option<Duration>,
}

/// Scenario outcomes of a test-helper call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    Answered,
    NoAnswer,
    Busy,
    Voicemail,
}

impl TestOutcome {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "answered" => Some(Self::Answered),
            "no-answer" => Some(Self::NoAnswer),
            "busy" => Some(Self::Busy),
            "voicemail" => Some(Self::Voicemail),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::NoAnswer => "no-answer",
            Self::Busy => "busy",
            Self::Voicemail => "voicemail",
        }
    }
}

#[derive(Debug)]
enum Input {
    Register {
        session: SessionId,
        user_id: String,
        account_id: String,
        emergency: Option<Emergency>,
        out: mpsc::UnboundedSender<SessionOut>,
        reply: oneshot::Sender<Result<Registered, Refusal>>,
    },
    Command {
        session: SessionId,
        message: ClientMessage,
    },
    /// The database reads of a `call.create` (or consult) are done (see [`Setup`]).
    SetupRead {
        setup: u64,
        lookups: Lookups,
    },
    Gone {
        session: SessionId,
    },
    SessionGrace {
        session: SessionId,
    },
    Timer {
        call_id: String,
        generation: u64,
        timer: Timer,
    },
    ClickToCall(ClickToCall),
    TestCall {
        call: TestCall,
        reply: oneshot::Sender<String>,
    },
    /// A simulated PSTN call to one of the account's numbers, walked through routing.
    InboundCall {
        call: InboundCall,
        reply: oneshot::Sender<String>,
    },
    /// `POST /v1/calls/{id}`: one call-control action (rest.md §13.3).
    Control {
        account_id: String,
        call_id: String,
        action: ControlAction,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// A voice app was deleted: its open media sessions end.
    VoiceAppDeleted {
        account_id: String,
        app_id: String,
    },
    /// A voice app's media socket ended; `heard` is the μ-law audio the app sent.
    AppSocketClosed {
        call_id: String,
        account_id: String,
        heard: Vec<u8>,
        by_app: bool,
    },
    /// A timer of a routed call: when it fires (and the routed call is still at `generation`),
    /// `outcome` is what happened to the current routing step.
    RoutedTimer {
        call_id: String,
        generation: u64,
        outcome: ds_routing::Outcome,
    },
    DropSockets {
        user_id: String,
        reply: oneshot::Sender<usize>,
    },
    Snapshot {
        reply: oneshot::Sender<Vec<CallSnapshot>>,
    },
}

/// The E911 address a session presented and the network it connects from (§7.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    pub address_id: String,
    pub network: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// The simulated far end answers.
    FarAnswer,
    /// Nobody answered in time.
    RingTimeout,
    /// The simulated far end hangs up.
    FarHangup,
}

/// A read-only view of one live call, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSnapshot {
    pub call_id: String,
    pub user_id: Option<String>,
    pub state: CallState,
    pub has_media: bool,
    pub digits: String,
}

/// Handle to the hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<Input>,
    /// The hub's call-log writes, for REST reads that must see them ([`Hub::call_log_written`]).
    journal: cdr::Journal,
    next_session: Arc<AtomicU64>,
    timers: Timers,
    media_addr: std::net::SocketAddr,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("media_addr", &self.media_addr).finish_non_exhaustive()
    }
}

impl Hub {
    /// Starts the media engine on `media_ip` and the hub task.
    pub fn start(state: AppState, media_ip: IpAddr, timers: Timers) -> Result<Self, SignallingError> {
        let mut media_config = MediaConfig::new(media_ip);
        // An inbound leg's offer waits for the user to answer: give it longer than any ring.
        media_config.connect_timeout = timers.ring_timeout.max(Duration::from_secs(30)) * 3;
        let (media, media_events) = MediaEngine::start_with(media_config)?;
        let media_addr = media.local_addr();
        let (tx, rx) = mpsc::unbounded_channel();
        let journal = cdr::Journal::start(state.clone());
        let actor = Actor {
            journal: journal.clone(),
            state,
            media,
            timers: timers.clone(),
            tx: tx.clone(),
            sessions: HashMap::new(),
            calls: HashMap::new(),
            legs: HashMap::new(),
            watchers: HashMap::new(),
            test_talk: HashMap::new(),
            routed: HashMap::new(),
            session_order: 0,
            setups: HashMap::new(),
            next_setup: 0,
        };
        tokio::spawn(actor.run(rx, media_events));
        Ok(Self { tx, journal, next_session: Arc::new(AtomicU64::new(1)), timers, media_addr })
    }

    /// Resolves once every call-log write the hub queued so far is applied. REST reads of calls
    /// await it first, so a client that saw `call.ended` (or `call.answered`) and then reads the
    /// call finds the row ended (or answered): the hub queues a call's writes before its frames
    /// leave, and the journal applies them a moment later.
    pub async fn call_log_written(&self) {
        self.journal.flush().await;
    }

    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// The UDP address every media leg uses.
    pub fn media_addr(&self) -> std::net::SocketAddr {
        self.media_addr
    }

    pub fn new_session_id(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers an authenticated session. Frames for it (restored calls first) arrive on `out`.
    pub async fn register(
        &self,
        session: SessionId,
        user_id: String,
        account_id: String,
        emergency: Option<Emergency>,
        out: mpsc::UnboundedSender<SessionOut>,
    ) -> Result<Registered, Refusal> {
        let stopped = || Refusal::Unauthorized("the call hub has stopped".to_owned());
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Input::Register { session, user_id, account_id, emergency, out, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// A call command from a registered session.
    pub fn command(&self, session: SessionId, message: ClientMessage) {
        let _ = self.tx.send(Input::Command { session, message });
    }

    /// The session's socket is gone (its calls survive for the grace period).
    pub fn gone(&self, session: SessionId) {
        let _ = self.tx.send(Input::Gone { session });
    }

    /// Starts a simulated inbound call; returns its call id.
    pub async fn test_call(&self, call: TestCall) -> Option<String> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Input::TestCall { call, reply }).ok()?;
        answer.await.ok()
    }

    /// Starts a simulated inbound PSTN call to a number of the account (rest.md §12.2, §18.1):
    /// it walks the number's routing and rings softphones for real. Returns the call's id.
    pub async fn inbound_call(&self, call: InboundCall) -> Option<String> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Input::InboundCall { call, reply }).ok()?;
        answer.await.ok()
    }

    /// Runs one call-control action on a live routed call (rest.md §13.3).
    pub async fn control(
        &self,
        account_id: &str,
        call_id: &str,
        action: ControlAction,
    ) -> Result<(), ControlError> {
        let (reply, answer) = oneshot::channel();
        let input =
            Input::Control { account_id: account_id.to_owned(), call_id: call_id.to_owned(), action, reply };
        self.tx.send(input).map_err(|_| ControlError::NotFound)?;
        answer.await.map_err(|_| ControlError::NotFound)?
    }

    /// A voice app was deleted: its open media sessions get `end{deleted}`.
    pub fn voice_app_deleted(&self, account_id: &str, app_id: &str) {
        let _ = self
            .tx
            .send(Input::VoiceAppDeleted { account_id: account_id.to_owned(), app_id: app_id.to_owned() });
    }

    /// Cuts every live signalling socket of `user_id` as a network failure would; returns how
    /// many were cut. Backs `POST /_ds/users/{id}/drop_signalling`.
    pub async fn drop_sockets(&self, user_id: &str) -> usize {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Input::DropSockets { user_id: user_id.to_owned(), reply }).is_err() {
            return 0;
        }
        answer.await.unwrap_or(0)
    }

    /// The live calls, for tests.
    pub async fn snapshot(&self) -> Vec<CallSnapshot> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Input::Snapshot { reply }).is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }
}

impl CallLauncher for Hub {
    fn launch(&self, call: ClickToCall) {
        let _ = self.tx.send(Input::ClickToCall(call));
    }
}

struct SessionEntry {
    user_id: String,
    account_id: String,
    /// `None` once the socket is gone: frames queue until a new session adopts this one.
    out: Option<mpsc::UnboundedSender<SessionOut>>,
    queue: Vec<ServerMessage>,
    /// Registration order: the oldest live session is replaced first.
    order: u64,
    /// Its E911 address is bound to another network: non-emergency PSTN calls are refused.
    pstn_blocked: bool,
}

/// The far party of a call.
#[derive(Debug, Clone, PartialEq)]
enum Far {
    /// A simulated PSTN end; `answered` once it has picked up.
    Sim { behaviour: Behaviour, answered: bool },
    /// Another call in the hub (user ↔ user).
    Leg(String),
    /// Nobody (the far party went away, e.g. during a transfer).
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Placed by the user (`call.create`, consult leg): the client offered.
    Outbound,
    /// Rings the user (internal callee, test caller, transfer target): ds-local offers.
    Inbound,
    /// Rings the user first, then dials the destination (`POST /v1/calls`).
    ClickToCall,
}

struct Call {
    facts: Facts,
    kind: Kind,
    /// What the softphone is shown (`call.incoming` / `call.restored`).
    shown_from: String,
    shown_from_name: Option<String>,
    shown_to: String,
    state: CallState,
    /// This user put the call on hold.
    held_local: bool,
    owner: Option<SessionId>,
    /// Inbound, unanswered: the offer leg sent to each ringing session.
    ringing: Vec<(SessionId, LegId)>,
    /// Outbound: the client's offer, answered once the far end answers (or for early media).
    offer_sdp: Option<String>,
    /// Outbound: the engine's answer once made.
    answer_sdp: Option<String>,
    /// The user's media leg once connected.
    media: Option<LegId>,
    far: Far,
    answered_at: Option<i64>,
    digits: String,
    generation: u64,
    /// A consult leg of an attended transfer: the original call.
    consult_of: Option<String>,
    /// A leg rung by routing for an inbound PSTN call: the routed call's id. Such a leg writes
    /// no CallLog row of its own; its `facts` are the routed call's (with this leg's user), so
    /// the answer and the end of the winning leg land on the routed call's row.
    routed: Option<String>,
    /// A softphone's call to an extension that routes (ring group, dial plan, voice app,
    /// mailbox): the routed call it walks, whose caller this leg is (`routed.rs`).
    routes: Option<String>,
}

impl Call {
    fn bump(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn connected(&self) -> bool {
        matches!(self.state, CallState::Active | CallState::Held)
    }

    fn wire_direction(&self) -> CallDirection {
        match self.kind {
            Kind::Outbound => CallDirection::Outbound,
            Kind::Inbound | Kind::ClickToCall => CallDirection::Inbound,
        }
    }
}

#[derive(Debug)]
struct UserInfo {
    name: Option<String>,
    extension: Option<String>,
}

struct Actor {
    state: AppState,
    /// Where the hub's database writes go; the hub never awaits them (see [`cdr::Journal`]).
    journal: cdr::Journal,
    media: MediaEngine,
    timers: Timers,
    tx: mpsc::UnboundedSender<Input>,
    sessions: HashMap<SessionId, SessionEntry>,
    calls: HashMap<String, Call>,
    legs: HashMap<LegId, String>,
    /// Presence watch sets: session → watched user ids.
    watchers: HashMap<SessionId, Vec<String>>,
    /// Test-helper calls whose simulated caller hangs up this long after the answer.
    test_talk: HashMap<String, Option<Duration>>,
    /// Inbound PSTN calls walking through routing, by their CallLog id.
    routed: HashMap<String, routed::Routed>,
    session_order: u64,
    /// Per session, its `call.create`s whose reads are still running, in request order.
    setups: HashMap<SessionId, VecDeque<Setup>>,
    next_setup: u64,
}

/// A `call.create` (or the consult step of an attended transfer) waiting for its reads.
///
/// Why: resolving the destination and reading the caller's name and extension are database
/// round trips; awaited in the hub's loop they made every session's `call.create` queue behind
/// every other's (benchmark figure 7). A small task per setup does the reads and posts
/// [`Input::SetupRead`]; the hub, still the only owner of calls, then makes the call and sends
/// `call.trying` without awaiting the database. A session's setups finish in the order it sent
/// them, so its `call.trying` frames (and refusals) keep the order of its requests.
struct Setup {
    id: u64,
    request: SetupRequest,
    /// `None` while the reads run.
    lookups: Option<Lookups>,
}

struct SetupRequest {
    req_id: Option<String>,
    destination: String,
    sdp: String,
    caller_id: Option<String>,
    consult_of: Option<String>,
}

/// What a setup read: where the destination leads, the caller, and a called user.
#[derive(Debug)]
struct Lookups {
    target: Result<Target, (ErrorCode, String)>,
    me: UserInfo,
    callee: Option<UserInfo>,
}

impl Lookups {
    async fn read(state: &AppState, account_id: &str, user_id: &str, destination: &str) -> Self {
        let target = resolve(state, account_id, destination).await;
        let me = user_info(state, user_id).await;
        let callee = match &target {
            Ok(Target::User { user_id: callee, .. }) => Some(user_info(state, callee).await),
            _ => None,
        };
        Self { target, me, callee }
    }
}

fn error_frame(
    code: ErrorCode,
    message: impl Into<String>,
    req_id: Option<String>,
    call_id: Option<&str>,
) -> ServerMessage {
    ServerMessage::Error(ErrorFrame {
        code,
        message: message.into(),
        req_id,
        call_id: call_id.map(str::to_owned),
        fatal: None,
        context: None,
    })
}

/// What [`Actor::ring_user`] needs to ring one user's devices.
struct Ring<'a> {
    account_id: &'a str,
    user_id: &'a str,
    /// Caller id shown on the devices.
    from: &'a str,
    from_name: Option<String>,
    /// What was dialled (shown as `to` when the user has no extension).
    dialled: &'a str,
    direction: &'static str,
    far: Far,
    /// The routed call this leg rings for: no row, no `call.incoming` and no ring timer of its
    /// own (the routing step decides how long it rings).
    routed: Option<&'a Facts>,
}

/// Where a dialled string leads inside the hub.
#[derive(Debug)]
enum Target {
    Number(String),
    User {
        user_id: String,
        dialled: String,
    },
    /// An extension whose target is walked through routing (`rg_`, `dp_`, `va_`, `svm_` …).
    Routed {
        target: String,
        dialled: String,
    },
}

impl Actor {
    async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>, mut media_events: MediaEvents) {
        loop {
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => self.handle(input).await,
                    None => break,
                },
                Some(event) = media_events.recv() => self.media_event(event).await,
            }
        }
    }

    fn now(&self) -> i64 {
        self.state.clock().now_ms()
    }

    async fn handle(&mut self, input: Input) {
        match input {
            Input::Register { session, user_id, account_id, emergency, out, reply } => {
                let result = self.register(session, user_id, account_id, emergency, out).await;
                let _ = reply.send(result);
            }
            Input::Command { session, message } => self.command(session, message).await,
            Input::SetupRead { setup, lookups } => self.setup_read(setup, lookups).await,
            Input::Gone { session } => self.gone(session).await,
            Input::SessionGrace { session } => self.session_grace(session).await,
            Input::Timer { call_id, generation, timer } => {
                if self.calls.get(&call_id).is_some_and(|call| call.generation == generation) {
                    self.timer(&call_id, timer).await;
                }
            }
            Input::ClickToCall(call) => self.click_to_call(call).await,
            Input::TestCall { call, reply } => {
                let id = self.test_call(call).await;
                // The id promises a row: answer once the journal has written it.
                self.journal.reply(reply, id);
            }
            Input::InboundCall { call, reply } => {
                let id = self.inbound_call(call, reply).await;
                tracing::debug!(call_id = %id, "inbound call routed");
            }
            Input::Control { account_id, call_id, action, reply } => {
                if self.routed.get(&call_id).is_some_and(|routed| routed.facts.account_id == account_id) {
                    let result = self.control(&account_id, &call_id, action).await;
                    let _ = reply.send(result);
                } else {
                    // The answer reads the call's row, which the journal may still be writing
                    // (e.g. the end of a call that just finished): read it once the journal has
                    // caught up, off the hub's loop.
                    let (journal, state) = (self.journal.clone(), self.state.clone());
                    tokio::spawn(async move {
                        journal.flush().await;
                        let _ = reply.send(Err(voice_app::not_routed(&state, &account_id, &call_id).await));
                    });
                }
            }
            Input::VoiceAppDeleted { account_id, app_id } => self.voice_app_deleted(&account_id, &app_id),
            Input::AppSocketClosed { call_id, account_id, heard, by_app } => {
                self.app_socket_closed(&call_id, &account_id, heard, by_app).await;
            }
            Input::RoutedTimer { call_id, generation, outcome } => {
                // `ANY_GENERATION` timers (the caller hanging up) hold whatever the step.
                let current = |routed: &routed::Routed| {
                    generation == routed::ANY_GENERATION || routed.generation == generation
                };
                if self.routed.get(&call_id).is_some_and(current) {
                    self.routed_timer(&call_id, outcome).await;
                }
            }
            Input::DropSockets { user_id, reply } => {
                let cut = self
                    .sessions
                    .values()
                    .filter(|entry| entry.user_id == user_id)
                    .filter_map(|entry| entry.out.as_ref())
                    .filter(|out| out.send(SessionOut::Drop).is_ok())
                    .count();
                let _ = reply.send(cut);
            }
            Input::Snapshot { reply } => {
                let calls = self
                    .calls
                    .iter()
                    .map(|(call_id, call)| CallSnapshot {
                        call_id: call_id.clone(),
                        user_id: call.facts.user_id.clone(),
                        state: call.state.clone(),
                        has_media: call.media.is_some(),
                        digits: call.digits.clone(),
                    })
                    .collect();
                let _ = reply.send(calls);
            }
        }
    }

    // ---- sessions -------------------------------------------------------------------------

    fn send(&mut self, session: SessionId, frame: ServerMessage) {
        if let Some(entry) = self.sessions.get_mut(&session) {
            match &entry.out {
                Some(out) => {
                    let _ = out.send(SessionOut::Frame(frame));
                }
                None => entry.queue.push(frame),
            }
        }
    }

    fn live_sessions_of(&self, user_id: &str) -> Vec<SessionId> {
        let mut live: Vec<(u64, SessionId)> = self
            .sessions
            .iter()
            .filter(|(_, entry)| entry.user_id == user_id && entry.out.is_some())
            .map(|(id, entry)| (entry.order, *id))
            .collect();
        live.sort();
        live.into_iter().map(|(_, id)| id).collect()
    }

    async fn register(
        &mut self,
        session: SessionId,
        user_id: String,
        account_id: String,
        emergency: Option<Emergency>,
        out: mpsc::UnboundedSender<SessionOut>,
    ) -> Result<Registered, Refusal> {
        let exists: Result<i64, _> =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
                .bind(&user_id)
                .bind(&account_id)
                .fetch_one(self.state.db())
                .await;
        match exists {
            Ok(0) => return Err(Refusal::Unauthorized("the user no longer exists".to_owned())),
            Err(error) => return Err(Refusal::Unauthorized(format!("cannot check the user: {error}"))),
            Ok(_) => {}
        }
        let network_changed = match &emergency {
            Some(emergency) => self.bind_emergency_address(&user_id, emergency).await?,
            None => false,
        };
        // §16.3: newest wins; the oldest live session beyond the cap is replaced.
        let live = self.live_sessions_of(&user_id);
        if live.len() >= MAX_SESSIONS_PER_USER {
            for old in &live[..=live.len() - MAX_SESSIONS_PER_USER] {
                if let Some(out) = self.sessions.get(old).and_then(|entry| entry.out.clone()) {
                    let _ = out.send(SessionOut::Fatal {
                        code: ErrorCode::SessionReplaced,
                        message: "a newer session of this user took the slot".to_owned(),
                    });
                }
            }
        }
        self.session_order += 1;
        self.sessions.insert(
            session,
            SessionEntry {
                user_id: user_id.clone(),
                account_id,
                out: Some(out),
                queue: Vec::new(),
                order: self.session_order,
                pstn_blocked: network_changed,
            },
        );
        // §16.2: adopt the calls of this user's dropped sessions still in their grace period.
        let orphans: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(id, entry)| **id != session && entry.user_id == user_id && entry.out.is_none())
            .map(|(id, _)| *id)
            .collect();
        let mut restored = Vec::new();
        let mut queued = Vec::new();
        for orphan in &orphans {
            if let Some(entry) = self.sessions.remove(orphan) {
                queued.extend(entry.queue);
            }
            if let Some(setups) = self.setups.remove(orphan) {
                self.setups.entry(session).or_default().extend(setups);
            }
            for call in self.calls.values_mut() {
                if call.owner == Some(*orphan) {
                    call.owner = Some(session);
                    restored.push(call.facts.call_id.clone());
                }
                let mut rang = false;
                for (ringing_session, _) in call.ringing.iter_mut() {
                    if *ringing_session == *orphan {
                        *ringing_session = session;
                        rang = true;
                    }
                }
                if rang && call.owner.is_none() {
                    restored.push(call.facts.call_id.clone());
                }
            }
        }
        restored.sort();
        restored.dedup();
        for call_id in &restored {
            if let Some(call) = self.calls.get(call_id) {
                let frame = ServerMessage::CallRestored {
                    call_id: call_id.clone(),
                    state: call.state.clone(),
                    from: call.shown_from.clone(),
                    from_name: call.shown_from_name.clone(),
                    to: call.shown_to.clone(),
                    direction: call.wire_direction(),
                    answered_at: call.answered_at.map(iso),
                };
                self.send(session, frame);
            }
        }
        for frame in queued {
            self.send(session, frame);
        }
        self.presence_changed(&user_id);
        Ok(Registered { reconnected: !orphans.is_empty(), network_changed })
    }

    /// §7.13: binds the presented address to this network on first use; true when it is bound
    /// to another network (the session then gets `network.changed`).
    async fn bind_emergency_address(&self, user_id: &str, emergency: &Emergency) -> Result<bool, Refusal> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT registered_ip FROM emergency_addresses WHERE id = ? AND user_id = ?")
                .bind(&emergency.address_id)
                .bind(user_id)
                .fetch_optional(self.state.db())
                .await
                .map_err(|error| Refusal::Unauthorized(format!("cannot read the address: {error}")))?;
        match row {
            None => Err(Refusal::UnusableAddress(format!(
                "emergency address {} is not one of this user's addresses",
                emergency.address_id
            ))),
            Some((None,)) => {
                let bound = sqlx::query("UPDATE emergency_addresses SET registered_ip = ? WHERE id = ?")
                    .bind(&emergency.network)
                    .bind(&emergency.address_id)
                    .execute(self.state.db())
                    .await;
                if let Err(error) = bound {
                    tracing::warn!(%error, "cannot bind the emergency address");
                }
                Ok(false)
            }
            Some((Some(registered),)) => Ok(registered != emergency.network),
        }
    }

    async fn gone(&mut self, session: SessionId) {
        self.watchers.remove(&session);
        let Some(entry) = self.sessions.get_mut(&session) else { return };
        entry.out = None;
        let user_id = entry.user_id.clone();
        // A setup still reading becomes a call of this session: it survives like the others.
        let has_calls = self.setups.contains_key(&session)
            || self
                .calls
                .values()
                .any(|call| call.owner == Some(session) || call.ringing.iter().any(|(s, _)| *s == session));
        if has_calls {
            let tx = self.tx.clone();
            let grace = self.timers.survival_grace;
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                let _ = tx.send(Input::SessionGrace { session });
            });
        } else {
            self.sessions.remove(&session);
        }
        self.presence_changed(&user_id);
    }

    async fn session_grace(&mut self, session: SessionId) {
        if self.sessions.get(&session).is_none_or(|entry| entry.out.is_some()) {
            return;
        }
        // A setup still reading after the whole grace makes no call for a session nobody has.
        self.setups.remove(&session);
        let owned: Vec<String> = self
            .calls
            .values()
            .filter(|call| call.owner == Some(session))
            .map(|call| call.facts.call_id.clone())
            .collect();
        for call_id in owned {
            let answered = self.calls.get(&call_id).is_some_and(|call| call.answered_at.is_some());
            let (outcome, far) = if answered {
                (Outcome::Lost, Outcome::Completed)
            } else {
                (Outcome::Failed, Outcome::NoAnswer)
            };
            self.end_call(&call_id, EndReason::Failed, outcome, Some((EndReason::Hangup, far))).await;
        }
        let ringing: Vec<(String, LegId)> = self
            .calls
            .values()
            .flat_map(|call| {
                call.ringing
                    .iter()
                    .filter(|(s, _)| *s == session)
                    .map(|(_, leg)| (call.facts.call_id.clone(), *leg))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (call_id, leg) in ringing {
            if let Some(call) = self.calls.get_mut(&call_id) {
                call.ringing.retain(|(s, _)| *s != session);
            }
            self.legs.remove(&leg);
            let _ = self.media.close(leg).await;
        }
        self.sessions.remove(&session);
    }

    // ---- commands -------------------------------------------------------------------------

    async fn command(&mut self, session: SessionId, message: ClientMessage) {
        match message {
            ClientMessage::CallCreate { req_id, destination, sdp, caller_id } => {
                let request = SetupRequest { req_id, destination, sdp, caller_id, consult_of: None };
                self.begin_setup(session, request);
            }
            ClientMessage::CallAnswer { call_id } => self.answer(session, &call_id, None).await,
            ClientMessage::SdpAnswer { call_id, sdp } => self.answer(session, &call_id, Some(sdp)).await,
            ClientMessage::CallReject { call_id, reason } => {
                self.reject(session, &call_id, reason.unwrap_or(RejectReason::Decline)).await;
            }
            ClientMessage::CallHangup { call_id } => self.hangup(session, &call_id).await,
            ClientMessage::CallHold { call_id } => self.hold(session, &call_id).await,
            ClientMessage::CallResume { call_id } => self.resume(session, &call_id).await,
            // §7.7: informational only; no reply.
            ClientMessage::CallMute { .. } | ClientMessage::CallUnmute { .. } => {}
            ClientMessage::CallTransfer { call_id, destination } => {
                self.blind_transfer(session, &call_id, &destination).await;
            }
            ClientMessage::CallTransferAttended { req_id, call_id, step, destination, sdp } => match step {
                TransferStep::Consult => self.consult(session, req_id, &call_id, destination, sdp).await,
                TransferStep::Complete => self.complete_transfer(session, req_id, &call_id).await,
                TransferStep::Unknown(step) => self.send(
                    session,
                    error_frame(
                        ErrorCode::InvalidMessage,
                        format!("unknown transfer step `{step}`"),
                        req_id,
                        Some(&call_id),
                    ),
                ),
            },
            // §16.4: no renegotiation.
            ClientMessage::SdpOffer { call_id, .. } => self.send(
                session,
                error_frame(
                    ErrorCode::InvalidMessage,
                    "ds-local does not accept client offers during a call",
                    None,
                    Some(&call_id),
                ),
            ),
            // §8: SDP is complete both ways; trickled candidates are not needed.
            ClientMessage::IceCandidate(_) | ClientMessage::IceDone { .. } => {}
            ClientMessage::PresenceSubscribe { req_id, users } => self.presence(session, req_id, users).await,
            // Handled by the session itself; never forwarded.
            ClientMessage::Authenticate { .. }
            | ClientMessage::AuthRefresh { .. }
            | ClientMessage::Ping { .. } => {}
        }
    }

    /// The call `call_id` if `session` may act on it (its owner, or a ringing device).
    fn call_of(&self, session: SessionId, call_id: &str) -> Option<&Call> {
        let call = self.calls.get(call_id)?;
        let mine = call.owner == Some(session) || call.ringing.iter().any(|(s, _)| *s == session);
        mine.then_some(call)
    }

    /// The guard call commands start with: `call_id` must be a call `session` may act on (else
    /// `call_not_found`) for which `allowed` holds (else a non-fatal `invalid_message` saying
    /// `refusal`). True when the command may go on.
    fn may_act(
        &mut self,
        session: SessionId,
        call_id: &str,
        req_id: Option<String>,
        refusal: &str,
        allowed: impl FnOnce(&Call) -> bool,
    ) -> bool {
        match self.call_of(session, call_id).map(allowed) {
            None => {
                self.not_found(session, call_id, req_id);
                false
            }
            Some(false) => {
                self.send(session, error_frame(ErrorCode::InvalidMessage, refusal, req_id, Some(call_id)));
                false
            }
            Some(true) => true,
        }
    }

    /// Transfers (blind, or the consult step) need the session's own connected call.
    fn may_transfer(&mut self, session: SessionId, call_id: &str, req_id: Option<String>) -> bool {
        self.may_act(session, call_id, req_id, "only a connected call can be transferred", |call| {
            call.owner == Some(session) && call.connected()
        })
    }

    fn not_found(&mut self, session: SessionId, call_id: &str, req_id: Option<String>) {
        self.send(
            session,
            error_frame(
                ErrorCode::CallNotFound,
                format!("no call {call_id} on this session"),
                req_id,
                Some(call_id),
            ),
        );
    }

    async fn user_info(&self, user_id: &str) -> UserInfo {
        user_info(&self.state, user_id).await
    }

    async fn resolve(&self, account_id: &str, destination: &str) -> Result<Target, (ErrorCode, String)> {
        resolve(&self.state, account_id, destination).await
    }
}

// The reads of a call's setup use the reader pool: on the single writing connection each one
// waited behind the CallLog writes queued before it (benchmark figure 7).
async fn user_info(state: &AppState, user_id: &str) -> UserInfo {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT u.name, (SELECT MIN(number) FROM extensions e WHERE e.account_id = u.account_id AND e.target = u.id)
             FROM users u WHERE u.id = ?",
        )
        .bind(user_id)
        .fetch_optional(state.db_reader())
        .await
        .ok()
        .flatten();
    let (name, extension) = row.unwrap_or((None, None));
    UserInfo { name, extension }
}

/// Resolves a dialled string: a number, an extension of the account, or a user id.
async fn resolve(
    state: &AppState,
    account_id: &str,
    destination: &str,
) -> Result<Target, (ErrorCode, String)> {
    let destination = destination.trim();
    if destination.starts_with("user_") {
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
            .bind(destination)
            .bind(account_id)
            .fetch_one(state.db_reader())
            .await
            .unwrap_or(0);
        return if exists > 0 {
            Ok(Target::User { user_id: destination.to_owned(), dialled: destination.to_owned() })
        } else {
            Err((ErrorCode::CallFailed, format!("no user {destination} in this account")))
        };
    }
    match parse_destination(destination) {
        None => Err((ErrorCode::InvalidMessage, format!("`{destination}` is not a number or extension"))),
        Some(Destination::Number(number)) | Some(Destination::Emergency(number)) => {
            Ok(Target::Number(number))
        }
        Some(Destination::Extension(extension)) => {
            let target: Option<String> =
                sqlx::query_scalar("SELECT target FROM extensions WHERE account_id = ? AND number = ?")
                    .bind(account_id)
                    .bind(&extension)
                    .fetch_optional(state.db_reader())
                    .await
                    .ok()
                    .flatten();
            match target {
                Some(user_id) if user_id.starts_with("user_") => {
                    Ok(Target::User { user_id, dialled: extension })
                }
                Some(target) => Ok(Target::Routed { target, dialled: extension }),
                None => Err((ErrorCode::CallFailed, format!("no extension {extension} in this account"))),
            }
        }
    }
}

impl Actor {
    fn schedule(&self, call_id: &str, generation: u64, timer: Timer, delay: Duration) {
        let tx = self.tx.clone();
        let call_id = call_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Input::Timer { call_id, generation, timer });
        });
    }

    /// Starts a `call.create` (or consult): its reads run in a task of their own (see [`Setup`]).
    fn begin_setup(&mut self, session: SessionId, request: SetupRequest) {
        let Some(entry) = self.sessions.get(&session) else { return };
        let (user_id, account_id) = (entry.user_id.clone(), entry.account_id.clone());
        self.next_setup += 1;
        let id = self.next_setup;
        let destination = request.destination.clone();
        self.setups.entry(session).or_default().push_back(Setup { id, request, lookups: None });
        let (state, tx) = (self.state.clone(), self.tx.clone());
        tokio::spawn(async move {
            let lookups = Lookups::read(&state, &account_id, &user_id, &destination).await;
            let _ = tx.send(Input::SetupRead { setup: id, lookups });
        });
    }

    /// A setup's reads are done: it and every setup of its session now ready in front of it
    /// become calls (or refusals), in request order.
    async fn setup_read(&mut self, id: u64, lookups: Lookups) {
        // Found by id: the session may have been adopted by a newer one meanwhile.
        let Some((session, setup)) = self
            .setups
            .iter_mut()
            .find_map(|(session, setups)| Some((*session, setups.iter_mut().find(|s| s.id == id)?)))
        else {
            return;
        };
        setup.lookups = Some(lookups);
        while let Some(setups) = self.setups.get_mut(&session) {
            if setups.front().is_none_or(|setup| setup.lookups.is_none()) {
                break;
            }
            let Some(Setup { request, lookups: Some(lookups), .. }) = setups.pop_front() else { break };
            if setups.is_empty() {
                self.setups.remove(&session);
            }
            self.create(session, request, lookups).await;
        }
    }

    /// `call.create` (and the consult step of an attended transfer), its reads done.
    async fn create(&mut self, session: SessionId, request: SetupRequest, lookups: Lookups) {
        let SetupRequest { req_id, destination, sdp, caller_id, consult_of } = request;
        let destination = destination.as_str();
        let Lookups { target, me, callee } = lookups;
        let Some(entry) = self.sessions.get(&session) else { return };
        let (user_id, account_id) = (entry.user_id.clone(), entry.account_id.clone());
        let pstn_blocked = entry.pstn_blocked;
        if sdp.trim().is_empty() {
            self.send(
                session,
                error_frame(ErrorCode::InvalidMessage, "`sdp` must hold an offer", req_id, None),
            );
            return;
        }
        let target = match target {
            Ok(target) => target,
            Err((code, message)) => {
                self.send(session, error_frame(code, message, req_id, None));
                return;
            }
        };
        if let Target::Number(number) = &target
            && pstn_blocked
            && number != "911"
            && number != "933"
        {
            // §7.13: the presented address is not valid on this network.
            self.send(
                session,
                error_frame(
                    ErrorCode::EmergencyAddressRequired,
                    "confirm your emergency address for this network before calling out",
                    req_id,
                    None,
                ),
            );
            return;
        }
        let now = self.now();
        let call_id = ids::new_id("call", now);
        let endpoint = format!("{user_id}-wrtc");
        let (direction, to_number, to_label, far) = match &target {
            Target::Number(number) => (
                "outbound",
                number.clone(),
                None,
                Far::Sim { behaviour: Behaviour::for_number(number), answered: false },
            ),
            Target::User { dialled, .. } => {
                ("internal", dialled.clone(), callee.and_then(|info| info.name), Far::Nobody)
            }
            Target::Routed { dialled, .. } => ("internal", dialled.clone(), None, Far::Nobody),
        };
        let from_number = match (&target, &caller_id) {
            (Target::Number(_), Some(caller_id)) => caller_id.clone(),
            (Target::User { .. } | Target::Routed { .. }, _) => {
                me.extension.clone().unwrap_or_else(|| endpoint.clone())
            }
            _ => endpoint.clone(),
        };
        let facts = Facts {
            call_id: call_id.clone(),
            account_id: account_id.clone(),
            user_id: Some(user_id.clone()),
            direction,
            from_number: from_number.clone(),
            from_name: me.name.clone(),
            to_number: Some(to_number.clone()),
            to_label,
            did: None,
        };
        self.journal.insert(&facts, Some(destination), now);
        self.journal.publish(&facts, "call.initiated", json!({ "dial_string": destination }));
        if let Far::Sim { behaviour: Behaviour::Fails, .. } = far {
            // §15: fails at once with `call_failed`, before any call frame.
            self.journal.ended(&facts, now, Outcome::Failed);
            self.send(
                session,
                error_frame(ErrorCode::CallFailed, format!("{to_number} cannot be reached"), req_id, None),
            );
            return;
        }
        let call = Call {
            facts,
            kind: Kind::Outbound,
            shown_from: from_number,
            shown_from_name: me.name.clone(),
            shown_to: to_number.clone(),
            state: CallState::Trying,
            held_local: false,
            owner: Some(session),
            ringing: Vec::new(),
            offer_sdp: Some(sdp),
            answer_sdp: None,
            media: None,
            far: far.clone(),
            answered_at: None,
            digits: String::new(),
            generation: 0,
            consult_of,
            routed: None,
            routes: None,
        };
        self.calls.insert(call_id.clone(), call);
        // §6.3: call.trying is the first frame of a new leg.
        self.send(session, ServerMessage::CallTrying { call_id: call_id.clone(), req_id });
        match target {
            Target::Number(_) => self.start_far_end(&call_id).await,
            Target::Routed { target, dialled } => {
                self.internal_routed_call(&call_id, &target, &dialled).await
            }
            Target::User { user_id: callee, dialled } => {
                let shown_from = me.extension.clone().unwrap_or(endpoint);
                let callee_id = self
                    .ring_user(Ring {
                        account_id: &account_id,
                        user_id: &callee,
                        from: &shown_from,
                        from_name: me.name.clone(),
                        dialled: &dialled,
                        direction: "internal",
                        far: Far::Leg(call_id.clone()),
                        routed: None,
                    })
                    .await;
                match callee_id {
                    Some(callee_id) => {
                        if let Some(call) = self.calls.get_mut(&call_id) {
                            call.far = Far::Leg(callee_id);
                            call.state = CallState::Ringing;
                        }
                        self.send(session, ServerMessage::CallRinging { call_id: call_id.clone() });
                        self.presence_changed(&user_id);
                    }
                    None => {
                        // Nobody can ring: the callee has no live device.
                        self.end_call(&call_id, EndReason::NoAnswer, Outcome::NoAnswer, None).await;
                    }
                }
            }
        }
    }

    /// Starts a simulated far end's progress (ringing, early media, answer) for `call_id`.
    async fn start_far_end(&mut self, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let Far::Sim { behaviour, .. } = call.far else { return };
        let owner = call.owner;
        let generation = call.bump();
        let connected = call.media.is_some();
        match behaviour {
            Behaviour::Busy => {
                self.end_call(call_id, EndReason::Busy, Outcome::Busy, None).await;
            }
            Behaviour::Fails => {
                self.end_call(call_id, EndReason::Failed, Outcome::Failed, None).await;
            }
            Behaviour::EarlyMedia if !connected => {
                let Some(offer) = call.offer_sdp.clone() else { return };
                match self.media.answer_offer(&offer).await {
                    Ok((leg, answer)) => {
                        let _ = self.media.set_source(leg, Source::RingbackTone).await;
                        self.legs.insert(leg, call_id.to_owned());
                        if let Some(call) = self.calls.get_mut(call_id) {
                            call.media = Some(leg);
                            call.answer_sdp = Some(answer.clone());
                        }
                        if let Some(owner) = owner {
                            self.send(
                                owner,
                                ServerMessage::SdpPranswer { call_id: call_id.to_owned(), sdp: answer },
                            );
                        }
                        self.schedule(call_id, generation, Timer::FarAnswer, self.timers.early_media);
                    }
                    Err(error) => self.media_failed(call_id, &error.to_string()).await,
                }
            }
            _ => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.state =
                        if call.kind == Kind::Outbound { CallState::Ringing } else { call.state.clone() };
                }
                if connected {
                    // Click-to-call / transfer: the user is already on the line; ringback until
                    // the far end picks up.
                    if let Some(leg) = self.calls.get(call_id).and_then(|c| c.media) {
                        let _ = self.media.set_source(leg, Source::RingbackTone).await;
                    }
                } else if let Some(owner) = owner {
                    self.send(owner, ServerMessage::CallRinging { call_id: call_id.to_owned() });
                }
                match behaviour {
                    Behaviour::NoAnswer => {
                        self.schedule(call_id, generation, Timer::RingTimeout, self.timers.ring_timeout)
                    }
                    Behaviour::Pstn => {
                        self.schedule(call_id, generation, Timer::FarAnswer, self.timers.pstn_answer_delay)
                    }
                    _ => self.schedule(call_id, generation, Timer::FarAnswer, self.timers.answer_delay),
                }
            }
        }
    }

    async fn media_failed(&mut self, call_id: &str, reason: &str) {
        tracing::warn!(%call_id, "media setup failed: {reason}");
        let owner = self.calls.get(call_id).and_then(|call| call.owner);
        if let Some(owner) = owner {
            self.send(
                owner,
                error_frame(
                    ErrorCode::CallFailed,
                    format!("media setup failed: {reason}"),
                    None,
                    Some(call_id),
                ),
            );
        }
        self.end_call(
            call_id,
            EndReason::Failed,
            Outcome::Failed,
            Some((EndReason::Hangup, Outcome::Failed)),
        )
        .await;
    }

    async fn timer(&mut self, call_id: &str, timer: Timer) {
        match timer {
            Timer::FarAnswer => self.far_answered(call_id).await,
            Timer::RingTimeout => {
                self.end_call(
                    call_id,
                    EndReason::NoAnswer,
                    Outcome::NoAnswer,
                    Some((EndReason::NoAnswer, Outcome::NoAnswer)),
                )
                .await;
            }
            Timer::FarHangup => {
                self.end_call(call_id, EndReason::Hangup, Outcome::Completed, None).await;
            }
        }
    }

    /// A simulated far end picks up.
    async fn far_answered(&mut self, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let Far::Sim { behaviour, .. } = call.far else { return };
        call.far = Far::Sim { behaviour, answered: true };
        let generation = call.bump();
        let owner = call.owner;
        let now = self.state.clock().now_ms();
        let leg = match (call.media, call.answer_sdp.clone(), call.offer_sdp.clone()) {
            // Early media: the same answer becomes final.
            (Some(leg), Some(answer), _) if call.kind == Kind::Outbound => {
                if let Some(owner) = owner {
                    self.send(owner, ServerMessage::SdpAnswer { call_id: call_id.to_owned(), sdp: answer });
                }
                leg
            }
            // Click-to-call or transfer: the user's leg is already up.
            (Some(leg), _, _) => leg,
            (None, _, Some(offer)) => match self.media.answer_offer(&offer).await {
                Ok((leg, answer)) => {
                    self.legs.insert(leg, call_id.to_owned());
                    if let Some(call) = self.calls.get_mut(call_id) {
                        call.media = Some(leg);
                        call.answer_sdp = Some(answer.clone());
                    }
                    if let Some(owner) = owner {
                        // §16.6: sdp.answer before call.answered.
                        self.send(
                            owner,
                            ServerMessage::SdpAnswer { call_id: call_id.to_owned(), sdp: answer },
                        );
                    }
                    leg
                }
                Err(error) => {
                    self.media_failed(call_id, &error.to_string()).await;
                    return;
                }
            },
            (None, _, None) => return,
        };
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let first_answer = call.answered_at.is_none();
        if first_answer {
            call.answered_at = Some(now);
        }
        if !call.connected() {
            call.state = CallState::Active;
        }
        let facts = call.facts.clone();
        let kind = call.kind;
        self.apply_media(call_id).await;
        // The row before the frame, as in `end_call`.
        self.journal.answered(&facts, now);
        if kind == Kind::Outbound
            && first_answer
            && let Some(owner) = owner
        {
            self.send(
                owner,
                ServerMessage::CallAnswered { call_id: call_id.to_owned(), answered_at: Some(iso(now)) },
            );
        }
        tracing::debug!(%call_id, %leg, "far end answered");
        if behaviour == Behaviour::HangsUp {
            self.schedule(call_id, generation, Timer::FarHangup, self.timers.far_hangup_after);
        }
    }

    /// Sets what the user's leg of `call_id` (and its peer leg, user ↔ user) hears, from the
    /// hold flags and the far party.
    async fn apply_media(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else { return };
        let Some(leg) = call.media else { return };
        match call.far.clone() {
            Far::Sim { behaviour, answered } => {
                let source = if call.held_local {
                    Source::Silence
                } else if answered {
                    behaviour.source()
                } else {
                    Source::RingbackTone
                };
                let _ = self.media.unbridge(leg).await;
                let _ = self.media.set_source(leg, source).await;
            }
            Far::Leg(other_id) => {
                let Some(other) = self.calls.get(&other_id) else { return };
                let Some(other_leg) = other.media else {
                    let _ = self.media.set_source(leg, Source::RingbackTone).await;
                    return;
                };
                let (mine_held, other_held) = (call.held_local, other.held_local);
                if !mine_held && !other_held && call.connected() && other.connected() {
                    let _ = self.media.bridge(leg, other_leg).await;
                } else {
                    let _ = self.media.unbridge(leg).await;
                    let hears = |held_by_other: bool| {
                        if held_by_other { Source::MusicOnHold } else { Source::Silence }
                    };
                    let _ = self.media.set_source(leg, hears(other_held)).await;
                    let _ = self.media.set_source(other_leg, hears(mine_held)).await;
                }
            }
            Far::Nobody => {
                // A softphone caller talking to a voice app hears the app's stream (after a
                // hold too); one handed over to a ring group by a transfer hears ringback while
                // the group rings; otherwise there is nobody to hear.
                let source = if call.held_local {
                    Source::Silence
                } else if self.caller_hears_app(call_id) {
                    Source::Stream
                } else if call.connected() && self.caller_hears_ringback(call_id) {
                    Source::RingbackTone
                } else {
                    Source::Silence
                };
                let _ = self.media.unbridge(leg).await;
                let _ = self.media.set_source(leg, source).await;
            }
        }
    }

    /// Creates an inbound call ringing every live session of `ring.user_id`. Returns its id, or
    /// `None` when the user has no live session (nothing was created).
    async fn ring_user(&mut self, ring: Ring<'_>) -> Option<String> {
        let Ring { account_id, user_id, from, from_name, dialled, direction, far, routed } = ring;
        let sessions = self.live_sessions_of(user_id);
        if sessions.is_empty() {
            return None;
        }
        let now = self.now();
        let info = self.user_info(user_id).await;
        let call_id = ids::new_id("call", now);
        let shown_to = info.extension.clone().unwrap_or_else(|| dialled.to_owned());
        let facts = match routed {
            Some(routed) => Facts { user_id: Some(user_id.to_owned()), ..routed.clone() },
            None => Facts {
                call_id: call_id.clone(),
                account_id: account_id.to_owned(),
                user_id: Some(user_id.to_owned()),
                direction,
                from_number: from.to_owned(),
                from_name: from_name.clone(),
                to_number: Some(shown_to.clone()),
                to_label: info.name.clone(),
                did: None,
            },
        };
        let mut call = Call {
            facts: facts.clone(),
            kind: Kind::Inbound,
            shown_from: from.to_owned(),
            shown_from_name: from_name.clone(),
            shown_to: shown_to.clone(),
            state: CallState::Ringing,
            held_local: false,
            owner: None,
            ringing: Vec::new(),
            offer_sdp: None,
            answer_sdp: None,
            media: None,
            far,
            answered_at: None,
            digits: String::new(),
            generation: 0,
            consult_of: None,
            routed: routed.map(|routed| routed.call_id.clone()),
            routes: None,
        };
        let generation = call.bump();
        self.calls.insert(call_id.clone(), call);
        if routed.is_none() {
            self.journal.insert(&facts, Some(dialled), now);
            self.journal.publish(&facts, "call.incoming", json!({}));
        }
        self.offer_to_sessions(&call_id, sessions).await;
        self.journal.publish(&facts, "call.ringing", json!({}));
        if routed.is_none() {
            // A routed leg rings as long as its routing step says (the routed call's timer).
            self.schedule(&call_id, generation, Timer::RingTimeout, self.timers.ring_timeout);
        }
        self.presence_changed(user_id);
        Some(call_id)
    }

    /// Rings each session with its own offer leg: `call.incoming` (what the call shows),
    /// `sdp.offer`, `ice.done` (protocol.md §7.4 parallel ring).
    async fn offer_to_sessions(&mut self, call_id: &str, sessions: Vec<SessionId>) {
        for session in sessions {
            let (leg, sdp) = match self.media.create_offer().await {
                Ok(offer) => offer,
                Err(error) => {
                    tracing::warn!(%call_id, "cannot create an offer: {error}");
                    continue;
                }
            };
            self.legs.insert(leg, call_id.to_owned());
            let Some(call) = self.calls.get_mut(call_id) else { return };
            call.ringing.push((session, leg));
            let incoming = ServerMessage::CallIncoming {
                call_id: call_id.to_owned(),
                from: call.shown_from.clone(),
                from_name: call.shown_from_name.clone(),
                to: call.shown_to.clone(),
            };
            self.send(session, incoming);
            self.send(session, ServerMessage::SdpOffer { call_id: call_id.to_owned(), sdp });
            self.send(session, ServerMessage::IceDone { call_id: call_id.to_owned() });
        }
    }

    /// `call.answer` (sdp = None) and `sdp.answer` (sdp = Some) of an inbound call.
    async fn answer(&mut self, session: SessionId, call_id: &str, sdp: Option<String>) {
        if !self.may_act(session, call_id, None, "only an inbound call can be answered", |call| {
            call.kind != Kind::Outbound
        }) {
            return;
        }
        let Some(call) = self.calls.get(call_id) else { return };
        if call.owner.is_some_and(|owner| owner != session) {
            self.not_found(session, call_id, None);
            return;
        }
        if call.media.is_some() {
            // Already answered and connected: a repeated frame changes nothing.
            if sdp.is_none() {
                self.send(
                    session,
                    error_frame(
                        ErrorCode::InvalidMessage,
                        "the call is already answered",
                        None,
                        Some(call_id),
                    ),
                );
            }
            return;
        }
        // First answer wins (§7.4): the other devices stop ringing.
        if call.owner.is_none() {
            self.take_call(session, call_id).await;
        }
        let Some(sdp) = sdp else { return };
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let Some(leg) = call.ringing.iter().find(|(s, _)| *s == session).map(|(_, leg)| *leg) else { return };
        if let Err(error) = self.media.accept_answer(leg, &sdp).await {
            self.send(
                session,
                error_frame(
                    ErrorCode::InvalidMessage,
                    format!("the answer was refused: {error}"),
                    None,
                    Some(call_id),
                ),
            );
            return;
        }
        let now = self.now();
        let Some(call) = self.calls.get_mut(call_id) else { return };
        call.ringing.clear();
        call.media = Some(leg);
        call.state = CallState::Active;
        call.answered_at = Some(now);
        call.bump();
        let kind = call.kind;
        let facts = call.facts.clone();
        let far = call.far.clone();
        let routed = call.routed.clone();
        self.send(
            session,
            ServerMessage::CallAnswered { call_id: call_id.to_owned(), answered_at: Some(iso(now)) },
        );
        if let (Some(row), Some(user)) = (&routed, &facts.user_id) {
            self.journal.assign_user(row, user);
        }
        match (kind, far) {
            (Kind::ClickToCall, Far::Sim { .. }) => {
                // The user is on the line: now dial the destination (rest.md §13.2 t1).
                self.start_far_end(call_id).await;
            }
            (_, Far::Leg(other_id)) => {
                self.journal.answered(&facts, now);
                if let Some(caller) = self.calls.get_mut(&other_id)
                    && caller.routes.is_some()
                {
                    // A softphone's routed call: of the members rung, this leg won.
                    caller.far = Far::Leg(call_id.to_owned());
                }
                self.peer_answered(&other_id).await;
                self.apply_media(call_id).await;
            }
            (_, Far::Sim { .. }) => {
                self.journal.answered(&facts, now);
                self.apply_media(call_id).await;
            }
            (_, Far::Nobody) => {
                self.end_call(call_id, EndReason::Hangup, Outcome::Completed, None).await;
            }
        }
        if let Some(Some(talk)) = self.test_talk.remove(call_id)
            && let Some(call) = self.calls.get_mut(call_id)
        {
            let generation = call.bump();
            self.schedule(call_id, generation, Timer::FarHangup, talk);
        }
        if let Some(routed) = routed {
            self.routed_answered(&routed, call_id).await;
        }
        if let Some(user) = &facts.user_id {
            self.presence_changed(user);
        }
    }

    /// The first device to answer takes the call; the others get `call.ended{hangup, null}`.
    async fn take_call(&mut self, session: SessionId, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        call.owner = Some(session);
        call.bump();
        let losers: Vec<(SessionId, LegId)> =
            call.ringing.iter().filter(|(s, _)| *s != session).copied().collect();
        call.ringing.retain(|(s, _)| *s == session);
        for (loser, leg) in losers {
            self.legs.remove(&leg);
            let _ = self.media.close(leg).await;
            self.send(
                loser,
                ServerMessage::CallEnded {
                    call_id: call_id.to_owned(),
                    reason: EndReason::Hangup,
                    duration_seconds: None,
                },
            );
        }
    }

    /// The callee of a user ↔ user call answered: the caller's leg connects.
    async fn peer_answered(&mut self, call_id: &str) {
        let now = self.now();
        let Some(call) = self.calls.get_mut(call_id) else { return };
        call.bump();
        let owner = call.owner;
        if call.media.is_none() {
            let Some(offer) = call.offer_sdp.clone() else { return };
            match self.media.answer_offer(&offer).await {
                Ok((leg, answer)) => {
                    self.legs.insert(leg, call_id.to_owned());
                    if let Some(owner) = owner {
                        self.send(
                            owner,
                            ServerMessage::SdpAnswer { call_id: call_id.to_owned(), sdp: answer.clone() },
                        );
                    }
                    if let Some(call) = self.calls.get_mut(call_id) {
                        call.media = Some(leg);
                        call.answer_sdp = Some(answer);
                    }
                }
                Err(error) => {
                    self.media_failed(call_id, &error.to_string()).await;
                    return;
                }
            }
        }
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let first = call.answered_at.is_none();
        if first {
            call.answered_at = Some(now);
        }
        if !call.connected() {
            call.state = CallState::Active;
        }
        let facts = call.facts.clone();
        if first {
            // The row before the frame, as in `end_call`.
            self.journal.answered(&facts, now);
            if let Some(owner) = owner {
                self.send(
                    owner,
                    ServerMessage::CallAnswered { call_id: call_id.to_owned(), answered_at: Some(iso(now)) },
                );
            }
        }
        self.apply_media(call_id).await;
    }

    async fn reject(&mut self, session: SessionId, call_id: &str, reason: RejectReason) {
        if !self.may_act(session, call_id, None, "only a ringing inbound call can be rejected", |call| {
            call.kind != Kind::Outbound && call.media.is_none()
        }) {
            return;
        }
        // §16.5: decline → rejected, busy → busy; the caller hears the same.
        let (end, outcome) = match reason {
            RejectReason::Busy => (EndReason::Busy, Outcome::Busy),
            _ => (EndReason::Rejected, Outcome::Rejected),
        };
        self.end_call(call_id, end.clone(), outcome, Some((end, outcome))).await;
    }

    async fn hangup(&mut self, session: SessionId, call_id: &str) {
        let Some(call) = self.call_of(session, call_id) else {
            self.not_found(session, call_id, None);
            return;
        };
        if call.owner.is_none() {
            // Hanging up a ringing inbound call declines it.
            self.reject(session, call_id, RejectReason::Decline).await;
            return;
        }
        let answered = call.answered_at.is_some();
        let outcome = if answered { Outcome::Completed } else { Outcome::NoAnswer };
        self.end_call(call_id, EndReason::Hangup, outcome, Some((EndReason::Hangup, outcome))).await;
    }

    async fn hold(&mut self, session: SessionId, call_id: &str) {
        if !self.may_act(session, call_id, None, "only an active call can be held", |call| {
            call.owner == Some(session) && call.state == CallState::Active && !call.held_local
        }) {
            return;
        }
        self.set_hold(call_id, true).await;
    }

    async fn resume(&mut self, session: SessionId, call_id: &str) {
        // §16.4: only a local hold can be resumed.
        if !self.may_act(session, call_id, None, "the call is not held by you", |call| {
            call.owner == Some(session) && call.held_local
        }) {
            return;
        }
        self.set_hold(call_id, false).await;
    }

    /// Puts `call_id` on (or off) local hold, telling both sides and fixing the media.
    async fn set_hold(&mut self, call_id: &str, hold: bool) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        call.held_local = hold;
        let owner = call.owner;
        let far = call.far.clone();
        let other_held = match &far {
            Far::Leg(other) => self.calls.get(other).is_some_and(|o| o.held_local),
            _ => false,
        };
        if let Some(call) = self.calls.get_mut(call_id) {
            call.state = if hold || other_held { CallState::Held } else { CallState::Active };
        }
        if let Some(owner) = owner {
            let frame = if hold {
                ServerMessage::CallHeld { call_id: call_id.to_owned(), held_by: HeldBy::Local }
            } else {
                ServerMessage::CallResumed { call_id: call_id.to_owned() }
            };
            self.send(owner, frame);
        }
        if let Far::Leg(other_id) = far
            && let Some(other) = self.calls.get_mut(&other_id)
            && other.connected()
        {
            let other_owner = other.owner;
            let other_local = other.held_local;
            other.state = if hold || other_local { CallState::Held } else { CallState::Active };
            if !other_local && let Some(other_owner) = other_owner {
                let frame = if hold {
                    ServerMessage::CallHeld { call_id: other_id.clone(), held_by: HeldBy::Remote }
                } else {
                    ServerMessage::CallResumed { call_id: other_id.clone() }
                };
                self.send(other_owner, frame);
            }
        }
        self.apply_media(call_id).await;
    }

    /// Ends `call_id`: tells its devices, closes its media, writes the CallLog row. With
    /// `far_end` set, the far party (user ↔ user) ends too, with that reason and outcome.
    async fn end_call(
        &mut self,
        call_id: &str,
        reason: EndReason,
        outcome: Outcome,
        far_end: Option<(EndReason, Outcome)>,
    ) {
        let Some(call) = self.calls.remove(call_id) else { return };
        self.test_talk.remove(call_id);
        if let (Some(routed), Some(leg)) = (&call.routes, call.media) {
            // A closed leg's recording is gone: take the caller's message first.
            self.keep_message(routed, leg).await;
        }
        let now = self.now();
        let duration = call.answered_at.map(|at| ((now - at).max(0) / 1000) as u64);
        // Queued before the frames leave: a client that saw `call.ended` and reads the call
        // finds it ended (REST reads wait for the journal, `Hub::call_log_written`).
        // A routed leg that was never answered leaves the routed call's row to the walk.
        if call.routed.is_none() || call.answered_at.is_some() {
            self.journal.ended(&call.facts, now, outcome);
        }
        if let Some(owner) = call.owner {
            self.send(
                owner,
                ServerMessage::CallEnded {
                    call_id: call_id.to_owned(),
                    reason: reason.clone(),
                    duration_seconds: duration,
                },
            );
        }
        for (session, leg) in &call.ringing {
            if call.owner != Some(*session) {
                self.send(
                    *session,
                    ServerMessage::CallEnded {
                        call_id: call_id.to_owned(),
                        reason: reason.clone(),
                        duration_seconds: None,
                    },
                );
            }
            self.legs.remove(leg);
            let _ = self.media.close(*leg).await;
        }
        if let Some(leg) = call.media {
            self.legs.remove(&leg);
            let _ = self.media.close(leg).await;
        }
        if let Some(user) = &call.facts.user_id {
            self.presence_changed(user);
        }
        if let Some(routed) = &call.routed {
            Box::pin(self.routed_leg_ended(routed, call_id, outcome, call.answered_at.is_some())).await;
        }
        if let Some(routed) = &call.routes {
            Box::pin(self.caller_left(routed)).await;
        }
        if let Far::Leg(other) = &call.far {
            // A member leg rung for a softphone's routed call that never connected (declined,
            // timed out) leaves the caller to the walk, which may ring on or take a message.
            let far_end = far_end.filter(|_| call.routed.is_none() || call.answered_at.is_some());
            match far_end {
                Some((far_reason, far_outcome)) => {
                    Box::pin(self.end_call(other, far_reason, far_outcome, None)).await;
                }
                None => {
                    if let Some(other_call) = self.calls.get_mut(other)
                        && other_call.far == Far::Leg(call_id.to_owned())
                    {
                        other_call.far = Far::Nobody;
                    }
                }
            }
        }
    }

    // ---- transfers ------------------------------------------------------------------------

    async fn blind_transfer(&mut self, session: SessionId, call_id: &str, destination: &str) {
        if !self.may_transfer(session, call_id, None) {
            return;
        }
        let Some(call) = self.calls.get(call_id) else { return };
        let account_id = call.facts.account_id.clone();
        let far = call.far.clone();
        let target = match self.resolve(&account_id, destination).await {
            Ok(target) => target,
            Err((code, message)) => {
                self.send(session, error_frame(code, message, None, Some(call_id)));
                return;
            }
        };
        let moved = match self.hand_over(call_id, far, &target).await {
            Ok(moved) => moved,
            Err(message) => {
                self.send(session, error_frame(ErrorCode::CallFailed, message, None, Some(call_id)));
                return;
            }
        };
        let Some(facts) = self.calls.get(call_id).map(|call| call.facts.clone()) else { return };
        self.journal.publish(
            &facts,
            "call.transfer",
            json!({ "transfer_type": "blind", "transferred_to": destination, "related_call_id": moved }),
        );
        self.end_call(call_id, EndReason::Transferred, Outcome::Completed, None).await;
    }

    /// Connects the far party of `from_call` to `target` (a number, a user, or an extension that
    /// routes). Returns the id of the call now carrying the far party, if a new one was created.
    async fn hand_over(
        &mut self,
        from_call: &str,
        far: Far,
        target: &Target,
    ) -> Result<Option<String>, String> {
        if let Target::Number(number) = target {
            let behaviour = Behaviour::for_number(number);
            if matches!(behaviour, Behaviour::Busy | Behaviour::Fails | Behaviour::NoAnswer) {
                return Err(format!("{number} did not take the transfer"));
            }
        }
        match (far, target) {
            // An outside party walks the extension's routing afresh, as a routed inbound call.
            (Far::Sim { .. }, Target::Routed { target, dialled }) => {
                Box::pin(self.transfer_to_routing(from_call, target, dialled)).await.map(Some)
            }
            // Another user's leg becomes the caller of a routed call, as if it had dialled.
            (Far::Leg(other), Target::Routed { target, dialled }) => {
                Box::pin(self.transfer_leg_to_routing(&other, target, dialled)).await.map(Some)
            }
            // A simulated party handed to another simulated party: nothing left to model.
            (Far::Sim { .. } | Far::Nobody, Target::Number(_)) => Ok(None),
            (Far::Sim { behaviour, .. }, Target::User { user_id, dialled }) => {
                let (account_id, from, from_name) = self.far_identity(from_call);
                let behaviour =
                    if behaviour == Behaviour::Echo { Behaviour::Echo } else { Behaviour::TestCaller };
                self.ring_user(Ring {
                    account_id: &account_id,
                    user_id,
                    from: &from,
                    from_name,
                    dialled,
                    direction: "inbound",
                    far: Far::Sim { behaviour, answered: true },
                    routed: None,
                })
                .await
                .map(Some)
                .ok_or_else(|| format!("{dialled} has no device to ring"))
            }
            (Far::Nobody, Target::User { .. } | Target::Routed { .. }) => {
                Err("the call has no far party to transfer".to_owned())
            }
            (Far::Leg(other), Target::Number(number)) => {
                let Some(other_call) = self.calls.get_mut(&other) else {
                    return Err("the far party is gone".to_owned());
                };
                other_call.far = Far::Sim { behaviour: Behaviour::for_number(number), answered: false };
                Box::pin(self.start_far_end(&other)).await;
                Ok(Some(other))
            }
            (Far::Leg(other), Target::User { user_id, dialled }) => {
                let Some(other_call) = self.calls.get(&other) else {
                    return Err("the far party is gone".to_owned());
                };
                let account_id = other_call.facts.account_id.clone();
                let from = other_call.shown_to.clone();
                let (from, from_name) = match other_call.kind {
                    Kind::Outbound => {
                        (other_call.facts.from_number.clone(), other_call.facts.from_name.clone())
                    }
                    _ => (from, other_call.facts.to_label.clone()),
                };
                let new_id = self
                    .ring_user(Ring {
                        account_id: &account_id,
                        user_id,
                        from: &from,
                        from_name,
                        dialled,
                        direction: "internal",
                        far: Far::Leg(other.clone()),
                        routed: None,
                    })
                    .await
                    .ok_or_else(|| format!("{dialled} has no device to ring"))?;
                if let Some(other_call) = self.calls.get_mut(&other) {
                    other_call.far = Far::Leg(new_id.clone());
                }
                self.apply_media(&other).await;
                Ok(Some(new_id))
            }
        }
    }

    /// The number and name of the far party of `call_id` as a caller id.
    fn far_identity(&self, call_id: &str) -> (String, String, Option<String>) {
        let Some(call) = self.calls.get(call_id) else { return (String::new(), String::new(), None) };
        let account_id = call.facts.account_id.clone();
        match call.kind {
            Kind::Outbound => (account_id, call.facts.to_number.clone().unwrap_or_default(), None),
            Kind::ClickToCall => (account_id, call.shown_from.clone(), None),
            Kind::Inbound => (account_id, call.facts.from_number.clone(), call.facts.from_name.clone()),
        }
    }

    async fn consult(
        &mut self,
        session: SessionId,
        req_id: Option<String>,
        call_id: &str,
        destination: Option<String>,
        sdp: Option<String>,
    ) {
        if !self.may_transfer(session, call_id, req_id.clone()) {
            return;
        }
        let (Some(destination), Some(sdp)) = (destination, sdp) else {
            self.send(
                session,
                error_frame(
                    ErrorCode::InvalidMessage,
                    "the consult step needs `destination` and `sdp`",
                    req_id,
                    Some(call_id),
                ),
            );
            return;
        };
        if self.calls.get(call_id).is_some_and(|call| !call.held_local) {
            self.set_hold(call_id, true).await;
        }
        let request =
            SetupRequest { req_id, destination, sdp, caller_id: None, consult_of: Some(call_id.to_owned()) };
        self.begin_setup(session, request);
    }

    async fn complete_transfer(&mut self, session: SessionId, req_id: Option<String>, call_id: &str) {
        let Some(call) = self.call_of(session, call_id) else {
            self.not_found(session, call_id, req_id);
            return;
        };
        let original_ok = call.owner == Some(session) && call.connected();
        let consult = self
            .calls
            .values()
            .find(|c| c.consult_of.as_deref() == Some(call_id) && c.owner == Some(session) && c.connected())
            .map(|c| c.facts.call_id.clone());
        let Some(consult) = consult.filter(|_| original_ok) else {
            self.send(
                session,
                error_frame(
                    ErrorCode::InvalidMessage,
                    "complete needs a connected call and an answered consult leg",
                    req_id,
                    Some(call_id),
                ),
            );
            return;
        };
        let far_a = self.calls.get(call_id).map(|c| c.far.clone()).unwrap_or(Far::Nobody);
        let far_b = self.calls.get(&consult).map(|c| c.far.clone()).unwrap_or(Far::Nobody);
        // Join the two far parties.
        match (&far_a, &far_b) {
            (Far::Leg(x), Far::Leg(y)) => {
                self.rejoin(x, Far::Leg(y.clone())).await;
                self.rejoin(y, Far::Leg(x.clone())).await;
            }
            (Far::Leg(x), Far::Sim { behaviour, .. }) | (Far::Sim { behaviour, .. }, Far::Leg(x)) => {
                self.rejoin(x, Far::Sim { behaviour: *behaviour, answered: true }).await;
            }
            _ => {}
        }
        for leg in [call_id, consult.as_str()] {
            // The far parties now belong to each other: do not let the end reach them.
            if let Some(call) = self.calls.get_mut(leg) {
                call.far = Far::Nobody;
            }
        }
        if let Some(facts) = self.calls.get(call_id).map(|c| c.facts.clone()) {
            self.journal.publish(&facts,
                "call.transfer",
                json!({ "transfer_type": "attended", "transferred_to": self.calls.get(&consult).and_then(|c| c.facts.to_number.clone()), "related_call_id": consult }),
            );
        }
        self.end_call(call_id, EndReason::Transferred, Outcome::Completed, None).await;
        self.end_call(&consult, EndReason::Transferred, Outcome::Completed, None).await;
    }

    /// Gives `call_id` a new far party after a transfer; a remote hold by the transferrer ends.
    async fn rejoin(&mut self, call_id: &str, far: Far) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        call.far = far;
        let was_held = call.state == CallState::Held && !call.held_local;
        if was_held {
            call.state = CallState::Active;
        }
        let owner = call.owner;
        if was_held && let Some(owner) = owner {
            self.send(owner, ServerMessage::CallResumed { call_id: call_id.to_owned() });
        }
        self.apply_media(call_id).await;
    }

    // ---- click-to-call and test calls -----------------------------------------------------

    async fn click_to_call(&mut self, request: ClickToCall) {
        let now = self.now();
        let info = self.user_info(&request.user_id).await;
        let destination = request.destination.as_str().to_owned();
        let facts = Facts {
            call_id: request.call_id.clone(),
            account_id: request.account_id.clone(),
            user_id: Some(request.user_id.clone()),
            direction: if matches!(request.destination, Destination::Extension(_)) {
                "internal"
            } else {
                "outbound"
            },
            from_number: request.caller_id.clone().unwrap_or_else(|| format!("{}-wrtc", request.user_id)),
            from_name: Some("Click-to-call".to_owned()),
            to_number: Some(destination.clone()),
            to_label: None,
            did: None,
        };
        let behaviour = match &request.destination {
            Destination::Number(number) | Destination::Emergency(number) => Behaviour::for_number(number),
            // ds-local [open]: click-to-call to an extension reaches a simulated party (the
            // tone); ringing a second user from REST is not modelled.
            Destination::Extension(_) => Behaviour::Pstn,
        };
        let sessions = self.live_sessions_of(&request.user_id);
        if sessions.is_empty() {
            // rest.md §13.2 [open]: no reachable endpoint → ends at once, failed.
            self.journal.ended(&facts, now, Outcome::Failed);
            return;
        }
        let call = Call {
            facts: facts.clone(),
            kind: Kind::ClickToCall,
            shown_from: destination.clone(),
            shown_from_name: Some("Click-to-call".to_owned()),
            shown_to: info.extension.clone().unwrap_or_else(|| destination.clone()),
            state: CallState::Ringing,
            held_local: false,
            owner: None,
            ringing: Vec::new(),
            offer_sdp: None,
            answer_sdp: None,
            media: None,
            far: Far::Sim { behaviour, answered: false },
            answered_at: None,
            digits: String::new(),
            generation: 0,
            consult_of: None,
            routed: None,
            routes: None,
        };
        self.calls.insert(request.call_id.clone(), call);
        let call_id = request.call_id.clone();
        self.offer_to_sessions(&call_id, sessions).await;
        self.journal.publish(&facts, "call.ringing", json!({}));
        let generation = self.calls.get_mut(&call_id).map(Call::bump).unwrap_or_default();
        self.schedule(&call_id, generation, Timer::RingTimeout, self.timers.ring_timeout);
        self.presence_changed(&request.user_id);
    }

    async fn test_call(&mut self, request: TestCall) -> String {
        let now = self.now();
        let info = self.user_info(&request.user_id).await;
        let to =
            request.to_number.clone().or(info.extension.clone()).unwrap_or_else(|| request.user_id.clone());
        let far = Far::Sim { behaviour: Behaviour::TestCaller, answered: true };
        let live = !self.live_sessions_of(&request.user_id).is_empty();
        if live && matches!(request.outcome, TestOutcome::Answered | TestOutcome::NoAnswer) {
            let call_id = self
                .ring_user(Ring {
                    account_id: &request.account_id,
                    user_id: &request.user_id,
                    from: &request.from_number,
                    from_name: request.from_name.clone(),
                    dialled: &to,
                    direction: "inbound",
                    far,
                    routed: None,
                })
                .await
                .unwrap_or_default();
            if let Some(call) = self.calls.get_mut(&call_id) {
                let generation = call.bump();
                // The caller gives up after `ring_seconds` when given (or the ring timeout).
                let ring = request.ring.unwrap_or(self.timers.ring_timeout);
                self.schedule(&call_id, generation, Timer::RingTimeout, ring);
                self.test_talk.insert(call_id.clone(), request.talk);
            }
            return call_id;
        }
        // Nobody to ring (or an outcome that needs no device): simulate it (rest.md §18.1).
        let call_id = ids::new_id("call", now);
        let facts = Facts {
            call_id: call_id.clone(),
            account_id: request.account_id.clone(),
            user_id: Some(request.user_id.clone()),
            direction: "inbound",
            from_number: request.from_number.clone(),
            from_name: request.from_name.clone(),
            to_number: Some(to.clone()),
            to_label: info.name.clone(),
            did: None,
        };
        self.journal.insert(&facts, Some(&to), now);
        self.journal.publish(&facts, "call.incoming", json!({}));
        // The simulated scenario's later writes go through the journal too, so they land after
        // the row's insert above.
        let journal = self.journal.clone();
        let state = self.state.clone();
        let ring = request.ring;
        let talk = request.talk;
        let outcome = request.outcome;
        tokio::spawn(async move {
            match outcome {
                TestOutcome::Busy => {
                    let now = state.clock().now_ms();
                    journal.ended(&facts, now, Outcome::Busy);
                }
                TestOutcome::NoAnswer => {
                    journal.publish(&facts, "call.ringing", json!({}));
                    tokio::time::sleep(ring.unwrap_or(Duration::from_secs(20))).await;
                    let now = state.clock().now_ms();
                    journal.ended(&facts, now, Outcome::NoAnswer);
                }
                TestOutcome::Answered | TestOutcome::Voicemail => {
                    journal.publish(&facts, "call.ringing", json!({}));
                    tokio::time::sleep(ring.unwrap_or(Duration::from_secs(3))).await;
                    let now = state.clock().now_ms();
                    journal.answered(&facts, now);
                    let default_talk = if outcome == TestOutcome::Voicemail { 8 } else { 10 };
                    tokio::time::sleep(talk.unwrap_or(Duration::from_secs(default_talk))).await;
                    let now = state.clock().now_ms();
                    let end = if outcome == TestOutcome::Voicemail {
                        Outcome::Voicemail
                    } else {
                        Outcome::Completed
                    };
                    journal.ended(&facts, now, end);
                }
            }
        });
        call_id
    }

    // ---- media and presence ---------------------------------------------------------------

    async fn media_event(&mut self, event: MediaEvent) {
        match event {
            MediaEvent::DtmfDigit { leg, digit } => {
                let Some(call_id) = self.legs.get(&leg).cloned() else { return };
                let Some(call) = self.calls.get_mut(&call_id) else { return };
                call.digits.push(digit);
                let digits = call.digits.clone();
                let bursts = matches!(call.far, Far::Sim { behaviour, .. } if behaviour.bursts_on_digits());
                let row = call.facts.call_id.clone();
                let routes = call.routes.clone();
                tracing::info!(%call_id, %digit, "DTMF digit received");
                if let Some(routed) = routes {
                    self.caller_digit(&routed, digit).await;
                }
                if bursts {
                    let _ = self.media.play_dtmf_tone(leg, digit, 150).await;
                }
                self.journal.digits(&row, &digits);
            }
            MediaEvent::Disconnected { leg } => {
                let Some(call_id) = self.legs.remove(&leg) else { return };
                let Some(call) = self.calls.get_mut(&call_id) else { return };
                if call.media == Some(leg) {
                    // The user's browser went away without hanging up.
                    let outcome =
                        if call.answered_at.is_some() { Outcome::Completed } else { Outcome::Failed };
                    self.end_call(&call_id, EndReason::Failed, outcome, Some((EndReason::Hangup, outcome)))
                        .await;
                } else {
                    call.ringing.retain(|(_, l)| *l != leg);
                }
            }
            MediaEvent::Connected { .. }
            | MediaEvent::AudioFlowing { .. }
            | MediaEvent::Stats { .. }
            | MediaEvent::Closed { .. } => {}
        }
    }

    fn presence_of(&self, user_id: &str) -> PresenceStatus {
        let on_call = self
            .calls
            .values()
            .any(|call| call.facts.user_id.as_deref() == Some(user_id) && call.connected());
        if on_call {
            PresenceStatus::OnCall
        } else if self.sessions.values().any(|entry| entry.user_id == user_id && entry.out.is_some()) {
            PresenceStatus::Available
        } else {
            PresenceStatus::Offline
        }
    }

    async fn presence_entry(&self, user_id: &str) -> Option<PresenceEntry> {
        let row: Option<(Option<String>, i64)> =
            sqlx::query_as("SELECT name, do_not_disturb FROM users WHERE id = ?")
                .bind(user_id)
                .fetch_optional(self.state.db())
                .await
                .ok()
                .flatten();
        let (name, dnd) = row?;
        Some(PresenceEntry {
            user_id: user_id.to_owned(),
            name: name.unwrap_or_else(|| user_id.to_owned()),
            status: self.presence_of(user_id),
            do_not_disturb: dnd != 0,
            status_text: None,
            updated_at: iso(self.now()),
        })
    }

    async fn presence(&mut self, session: SessionId, req_id: Option<String>, users: Vec<String>) {
        if users.is_empty() || users.len() > 100 {
            self.send(
                session,
                error_frame(ErrorCode::InvalidMessage, "`users` must list 1 to 100 user ids", req_id, None),
            );
            return;
        }
        let Some(account_id) = self.sessions.get(&session).map(|e| e.account_id.clone()) else { return };
        let mut entries = Vec::new();
        let mut unavailable = Vec::new();
        for user in &users {
            let same_account: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
                    .bind(user)
                    .bind(&account_id)
                    .fetch_one(self.state.db())
                    .await
                    .unwrap_or(0);
            match (same_account > 0).then_some(()).and(self.presence_entry(user).await) {
                Some(entry) => entries.push(entry),
                None => unavailable.push(user.clone()),
            }
        }
        // §7.11 [open]: a subscription replaces the session's watch set.
        self.watchers.insert(session, entries.iter().map(|e| e.user_id.clone()).collect());
        self.send(session, ServerMessage::PresenceList { req_id: req_id.clone(), users: entries });
        if !unavailable.is_empty() {
            self.send(
                session,
                ServerMessage::Error(ErrorFrame {
                    code: ErrorCode::PresenceUnavailable,
                    message: "some users could not be watched".to_owned(),
                    req_id,
                    call_id: None,
                    fatal: None,
                    context: Some(ds_protocol::signalling::ErrorContext { users: Some(unavailable) }),
                }),
            );
        }
    }

    /// Pushes `presence.update` for `user_id` to every session watching it.
    fn presence_changed(&mut self, user_id: &str) {
        let watching: Vec<SessionId> = self
            .watchers
            .iter()
            .filter(|(_, users)| users.iter().any(|u| u == user_id))
            .map(|(session, _)| *session)
            .collect();
        if watching.is_empty() {
            return;
        }
        let status = self.presence_of(user_id);
        let now = iso(self.now());
        let user = user_id.to_owned();
        let state = self.state.clone();
        let outs: Vec<mpsc::UnboundedSender<SessionOut>> =
            watching.iter().filter_map(|s| self.sessions.get(s).and_then(|e| e.out.clone())).collect();
        // The name needs a database read; do it off the hub's path.
        tokio::spawn(async move {
            let row: Option<(Option<String>, i64)> =
                sqlx::query_as("SELECT name, do_not_disturb FROM users WHERE id = ?")
                    .bind(&user)
                    .fetch_optional(state.db())
                    .await
                    .ok()
                    .flatten();
            let Some((name, dnd)) = row else { return };
            let entry = PresenceEntry {
                user_id: user.clone(),
                name: name.unwrap_or_else(|| user.clone()),
                status,
                do_not_disturb: dnd != 0,
                status_text: None,
                updated_at: now,
            };
            for out in outs {
                let _ = out.send(SessionOut::Frame(ServerMessage::PresenceUpdate(entry.clone())));
            }
        });
    }
}
