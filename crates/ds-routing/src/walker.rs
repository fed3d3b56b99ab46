//! Walking a call through routing configuration (rest.md §9.5, §10.3, §12), sans-IO.
//!
//! The [`Walker`] never rings, plays or waits. It returns a [`Step`] ("ring these users for
//! 25 s") and is told the [`Outcome`] ("nobody answered"); time is passed in and is only read
//! by schedule nodes. Everything it may need about the account is in a [`RoutingSnapshot`]
//! taken when the call arrives, so a walk is deterministic and testable without a database.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TargetKind;
use crate::model::{InboundRouting, PhoneNumber, RingGroup, Schedule, TimeoutAction};
use crate::plan::{DialPlan, Exit, Node, NodeKind, VoiceAppMode};
use crate::schedule::{self, ScheduleState};

/// Loop guard per plan (rest.md §9.5 \[open\]).
pub const MAX_STEPS_PER_PLAN: u32 = 64;
/// Nested dial plans (rest.md §9.5 \[open\]).
pub const MAX_PLAN_DEPTH: usize = 5;
/// Menu replays per visit before hanging up (rest.md §9.3 \[open\]).
pub const MAX_MENU_REPLAYS: u32 = 3;
/// Ring time when a DID or extension sends a call straight to a user or to everyone (§12.2).
pub const DEFAULT_RING_SECONDS: u32 = 30;

/// Q.850 causes used in call logs (rest.md §12.3).
pub mod cause {
    pub const UNALLOCATED_NUMBER: u16 = 1;
    pub const NORMAL_CLEARING: u16 = 16;
    pub const USER_BUSY: u16 = 17;
    pub const NO_ANSWER: u16 = 19;
    pub const CALL_REJECTED: u16 = 21;
}

/// Call-log `status` values (rest.md §12.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    Completed,
    Voicemail,
    NoAnswer,
    Busy,
    Failed,
}

/// What goes into the call log for a walk that ended (rest.md §12.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutcome {
    pub status: CallStatus,
    pub hangup_cause: Option<u16>,
}

impl CallOutcome {
    /// A person (or an attached voice app) has the call; the log says `completed` once it ends.
    pub const CONNECTED: Self = Self { status: CallStatus::Completed, hangup_cause: None };
    pub const VOICEMAIL: Self = Self { status: CallStatus::Voicemail, hangup_cause: None };
    pub const NO_ANSWER: Self = Self { status: CallStatus::NoAnswer, hangup_cause: Some(cause::NO_ANSWER) };
    pub const BUSY: Self = Self { status: CallStatus::Busy, hangup_cause: Some(cause::USER_BUSY) };

    pub const fn failed(cause: u16) -> Self {
        Self { status: CallStatus::Failed, hangup_cause: Some(cause) }
    }
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ring these users on every endpoint (and these numbers as outbound legs) at once; first
    /// answer wins (rest.md §8, §10.3). Report `Answered`, `NoAnswer`, `Busy` or `Failed`.
    RingUsers { users: Vec<String>, phone_numbers: Vec<String>, timeout_s: u32, confirm_external: bool },
    /// An outbound leg to a phone number (`external_dial`).
    DialExternal { phone_number: String, timeout_s: u32 },
    /// Answer if needed and play a clip; report `Completed`.
    PlayAudio { clip: String },
    /// Play the prompt, then wait `timeout_s` for one key; report `Digit(c)` or `Timeout`.
    CollectDigits { prompt_clip: String, timeout_s: u32 },
    /// Control mode (rest.md §14): report `Answered` once the app takes the call, `Failed` if it
    /// cannot (webhook undeliverable, app inactive, never takes control).
    ConnectVoiceApp { voice_app: String },
    /// Fire `call.notify` and report `Completed` at once; the call is not answered.
    NotifyVoiceApp { voice_app: String },
    /// Record a message for a user's mailbox or a shared box; report `Completed` when a message
    /// was left.
    Voicemail { mailbox: String },
    /// Hand the call to a queue (rest.md §11); report `Answered` or `NoAnswer`.
    EnterQueue { queue: String },
    /// Hang the call up now; the walk is over.
    HangUp { outcome: CallOutcome },
    /// The walk is over and the call stays where it is (connected, or already gone).
    Done { outcome: CallOutcome },
}

impl Step {
    pub fn is_final(&self) -> bool {
        matches!(self, Self::HangUp { .. } | Self::Done { .. })
    }
}

/// What happened to the last [`Step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A person (or the voice app / queue) took the call.
    Answered,
    /// Nobody answered within the ring time.
    NoAnswer,
    /// No key within the menu timeout (for rings, same as `NoAnswer`).
    Timeout,
    Busy,
    /// The dial or hand-over failed (unreachable, rejected, app down).
    Failed,
    /// A DTMF key during `CollectDigits`.
    Digit(char),
    /// Audio finished, notify fired, or a voicemail message was left.
    Completed,
    /// The caller hung up; the walk stops.
    Hangup,
}

/// `on_outcome` was called with something the current step cannot produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("the walk is over")]
    Finished,
    #[error("outcome {0:?} does not answer the current step")]
    Unexpected(Outcome),
}

/// A user as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingUser {
    pub id: String,
    pub do_not_disturb: bool,
}

/// A voice app as routing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingVoiceApp {
    pub active: bool,
}

/// The account's routing configuration at the moment a call arrives.
#[derive(Debug, Clone, Default)]
pub struct RoutingSnapshot {
    pub users: Vec<RoutingUser>,
    pub plans: HashMap<String, DialPlan>,
    pub schedules: HashMap<String, Schedule>,
    pub ring_groups: HashMap<String, RingGroup>,
    pub voice_apps: HashMap<String, RoutingVoiceApp>,
    pub queues: HashSet<String>,
    pub voicemail_boxes: HashSet<String>,
}

impl RoutingSnapshot {
    fn user(&self, id: &str) -> Option<&RoutingUser> {
        self.users.iter().find(|user| user.id == id)
    }

    /// Schedule state; a schedule missing at call time counts as `closed` \[open\] (the node's
    /// closed branch is the safe default: the seed sends it to the AI receptionist).
    fn schedule_state(&self, id: &str, now: DateTime<Utc>) -> ScheduleState {
        self.schedules
            .get(id)
            .and_then(|schedule| schedule::compile(schedule).ok())
            .map_or(ScheduleState::Closed, |compiled| compiled.evaluate(now))
    }
}

/// What to do when a ring step ends without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AfterRing {
    /// Take the node's `next` (or end if unwired).
    Next(Exit),
    /// A ring group reached with no wired `next`: apply its `timeout_action` (§10.3 step 4).
    GroupTimeout(RingGroup),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Ring(AfterRing),
    /// A step whose failure (or completion, `on_complete`) leads to `next`.
    Continue {
        next: Exit,
    },
    Menu {
        node: String,
        replays: u32,
    },
    VoiceApp {
        next: Exit,
    },
    Voicemail,
    Queue,
}

#[derive(Debug, Clone)]
struct Frame {
    plan: DialPlan,
    steps: u32,
    /// The calling node's `next` when this plan was entered from an `internal_dial`.
    return_to: Exit,
}

/// One call's walk.
#[derive(Debug, Clone)]
pub struct Walker {
    snapshot: RoutingSnapshot,
    frames: Vec<Frame>,
    pending: Option<Pending>,
    /// How the call ends if the walk runs out of nodes now (the last ring/dial failure).
    fallback: CallOutcome,
    network_answered: bool,
    finished: Option<CallOutcome>,
}

const NORMAL_END: CallOutcome =
    CallOutcome { status: CallStatus::NoAnswer, hangup_cause: Some(cause::NORMAL_CLEARING) };

impl Walker {
    pub fn new(snapshot: RoutingSnapshot) -> Self {
        Self {
            snapshot,
            frames: Vec::new(),
            pending: None,
            fallback: NORMAL_END,
            network_answered: false,
            finished: None,
        }
    }

    /// Runs `plan` from its entry node (rest.md §9.5).
    pub fn start(&mut self, plan: DialPlan, now: DateTime<Utc>) -> Step {
        let entry = Some(plan.entry_node.clone());
        self.frames.push(Frame { plan, steps: 0, return_to: None });
        self.walk(entry, now)
    }

    /// Dispatches to a routing target as a DID or an extension would (rest.md §12.2):
    /// `None` rings every user for 30 s; a user rings 30 s and then goes to their voicemail;
    /// a plan runs; anything else behaves like an `internal_dial` without `next`.
    pub fn start_target(&mut self, target: Option<&str>, now: DateTime<Utc>) -> Step {
        let nodes = match target {
            None => vec![node("ring", NodeKind::RingAllUsers { timeout: DEFAULT_RING_SECONDS, next: None })],
            Some(id) if TargetKind::of(id) == Some(TargetKind::DialPlan) => {
                return match self.snapshot.plans.get(id).cloned() {
                    Some(plan) => self.start(plan, now),
                    None => self.finish_hang_up(CallOutcome::failed(cause::UNALLOCATED_NUMBER)),
                };
            }
            Some(id) if TargetKind::of(id) == Some(TargetKind::User) => vec![
                node(
                    "ring",
                    NodeKind::InternalDial {
                        target: id.to_owned(),
                        timeout: Some(DEFAULT_RING_SECONDS),
                        next: Some("voicemail".into()),
                    },
                ),
                node(
                    "voicemail",
                    NodeKind::InternalDial { target: id.to_owned(), timeout: Some(0), next: None },
                ),
            ],
            Some(id) => vec![node(
                "dispatch",
                NodeKind::InternalDial { target: id.to_owned(), timeout: None, next: None },
            )],
        };
        let plan = DialPlan {
            id: String::new(),
            name: "dispatch".into(),
            entry_node: nodes[0].id.clone(),
            nodes,
            created_at: String::new(),
            updated_at: String::new(),
        };
        self.start(plan, now)
    }

    /// True once a media node (menu, clip, voice app, voicemail) answered the network leg: the
    /// call log's `answered_at` (rest.md §9.5 "answer semantics").
    pub fn network_answered(&self) -> bool {
        self.network_answered
    }

    /// The final outcome, once the walk is over.
    pub fn finished(&self) -> Option<CallOutcome> {
        self.finished
    }

    /// Feeds the result of the last step and returns the next one.
    pub fn on_outcome(&mut self, outcome: Outcome, now: DateTime<Utc>) -> Result<Step, WalkError> {
        if self.finished.is_some() {
            return Err(WalkError::Finished);
        }
        let Some(pending) = self.pending.clone() else {
            return Err(WalkError::Finished);
        };
        if outcome == Outcome::Hangup {
            // rest.md §9.5: the walk stops; nobody connected and no message → no-answer.
            self.pending = None;
            return Ok(self.finish_done(CallOutcome::NO_ANSWER));
        }
        let step = match (pending, outcome) {
            (Pending::Ring(_) | Pending::Queue, Outcome::Answered) => {
                self.finish_done(CallOutcome::CONNECTED)
            }
            (
                Pending::Ring(after),
                Outcome::NoAnswer | Outcome::Timeout | Outcome::Busy | Outcome::Failed,
            ) => {
                self.fallback = ring_failure(outcome);
                match after {
                    AfterRing::Next(next) => self.walk(next, now),
                    AfterRing::GroupTimeout(group) => self.group_timeout(&group),
                }
            }
            (Pending::Queue, Outcome::NoAnswer | Outcome::Timeout | Outcome::Busy | Outcome::Failed) => {
                self.finish_done(ring_failure(outcome))
            }
            (Pending::Continue { next }, Outcome::Completed) => self.walk(next, now),
            (Pending::VoiceApp { .. }, Outcome::Answered | Outcome::Completed) => {
                self.finish_done(CallOutcome::CONNECTED)
            }
            (
                Pending::VoiceApp { next },
                Outcome::Failed | Outcome::NoAnswer | Outcome::Timeout | Outcome::Busy,
            ) => {
                self.fallback = CallOutcome::failed(cause::CALL_REJECTED);
                self.walk(next, now)
            }
            (Pending::Voicemail, Outcome::Completed) => self.finish_done(CallOutcome::VOICEMAIL),
            (Pending::Voicemail, Outcome::Failed) => {
                self.finish_hang_up(CallOutcome::failed(cause::CALL_REJECTED))
            }
            (Pending::Menu { node, replays }, Outcome::Digit(digit)) => {
                self.menu_key(&node, replays, Some(digit), now)
            }
            (Pending::Menu { node, replays }, Outcome::Timeout | Outcome::NoAnswer) => {
                self.menu_key(&node, replays, None, now)
            }
            (_, outcome) => return Err(WalkError::Unexpected(outcome)),
        };
        Ok(step)
    }

    fn finish_done(&mut self, outcome: CallOutcome) -> Step {
        self.pending = None;
        self.finished = Some(outcome);
        Step::Done { outcome }
    }

    fn finish_hang_up(&mut self, outcome: CallOutcome) -> Step {
        self.pending = None;
        self.finished = Some(outcome);
        Step::HangUp { outcome }
    }

    fn wait(&mut self, pending: Pending, step: Step) -> Step {
        self.pending = Some(pending);
        step
    }

    /// Follows nodes from `exit` until one needs the outside world (rest.md §9.5 `run`).
    fn walk(&mut self, mut exit: Exit, now: DateTime<Utc>) -> Step {
        loop {
            let Some(node_id) = exit.take() else {
                // Unwired exit. Inside a nested plan, the calling node's `next` is taken if
                // wired, otherwise the call ends (rest.md §9.5 \[open\]).
                if self.frames.len() > 1 {
                    let frame = self.frames.pop().expect("more than one frame");
                    if frame.return_to.is_some() {
                        exit = frame.return_to;
                        continue;
                    }
                }
                return self.finish_hang_up(self.fallback);
            };
            let frame = self.frames.last_mut().expect("a walk always has a frame");
            frame.steps += 1;
            if frame.steps > MAX_STEPS_PER_PLAN {
                return self.finish_hang_up(self.fallback);
            }
            let Some(node) = frame.plan.node(&node_id).cloned() else {
                // Validation forbids dangling exits; a stored plan that still has one ends the call.
                return self.finish_hang_up(CallOutcome::failed(cause::UNALLOCATED_NUMBER));
            };
            match node.kind {
                NodeKind::Schedule { schedule, open, closed, holiday } => {
                    exit = match self.snapshot.schedule_state(&schedule, now) {
                        ScheduleState::Open => open,
                        ScheduleState::Closed => closed,
                        ScheduleState::Holiday => holiday.flatten().or(closed),
                    };
                }
                NodeKind::InternalDial { target, timeout, next } => {
                    match self.internal_dial(&target, timeout, next) {
                        Dialled::Step(step) => return step,
                        Dialled::Continue(next) => exit = next,
                        Dialled::EnterPlan(plan, return_to) => {
                            exit = Some(plan.entry_node.clone());
                            self.frames.push(Frame { plan, steps: 0, return_to });
                        }
                    }
                }
                NodeKind::RingAllUsers { timeout, next } => {
                    let users: Vec<String> = self
                        .snapshot
                        .users
                        .iter()
                        .filter(|user| !user.do_not_disturb)
                        .map(|user| user.id.clone())
                        .collect();
                    if users.is_empty() {
                        // Nobody can ring: take `next` at once instead of waiting (§9.3 [open]).
                        self.fallback = CallOutcome::NO_ANSWER;
                        exit = next;
                        continue;
                    }
                    return self.wait(
                        Pending::Ring(AfterRing::Next(next)),
                        Step::RingUsers {
                            users,
                            phone_numbers: Vec::new(),
                            timeout_s: timeout,
                            confirm_external: false,
                        },
                    );
                }
                NodeKind::ExternalDial { phone_number, timeout, next } => {
                    return self.wait(
                        Pending::Ring(AfterRing::Next(next)),
                        Step::DialExternal { phone_number, timeout_s: timeout },
                    );
                }
                NodeKind::Menu { prompt_clip, timeout, .. } => {
                    self.network_answered = true;
                    return self.wait(
                        Pending::Menu { node: node.id, replays: 0 },
                        Step::CollectDigits { prompt_clip, timeout_s: timeout },
                    );
                }
                NodeKind::AudioClip { clip, next, .. } => {
                    self.network_answered = true;
                    return self.wait(Pending::Continue { next }, Step::PlayAudio { clip });
                }
                NodeKind::VoiceApp { voice_app, mode: VoiceAppMode::Control, next } => {
                    match self.voice_app(&voice_app) {
                        Some(step) => return self.wait(Pending::VoiceApp { next }, step),
                        None => exit = next,
                    }
                }
                NodeKind::VoiceApp { voice_app, mode: VoiceAppMode::Notify, next } => {
                    return self.wait(Pending::Continue { next }, Step::NotifyVoiceApp { voice_app });
                }
                NodeKind::HangUp => {
                    let outcome = CallOutcome { hangup_cause: Some(cause::NORMAL_CLEARING), ..self.fallback };
                    return self.finish_hang_up(outcome);
                }
            }
        }
    }

    /// A control-mode hand-over, or `None` when the app is missing or inactive (→ fallback).
    fn voice_app(&mut self, id: &str) -> Option<Step> {
        match self.snapshot.voice_apps.get(id) {
            Some(app) if app.active => {
                self.network_answered = true;
                Some(Step::ConnectVoiceApp { voice_app: id.to_owned() })
            }
            _ => {
                self.fallback = CallOutcome::failed(cause::CALL_REJECTED);
                None
            }
        }
    }

    /// `internal_dial` semantics per target kind (rest.md §9.3).
    fn internal_dial(&mut self, target: &str, timeout: Option<u32>, next: Exit) -> Dialled {
        let missing = |walker: &mut Self, next: Exit| {
            // A target missing at call time → `next` if wired, else hang up [open].
            walker.fallback = CallOutcome::failed(cause::UNALLOCATED_NUMBER);
            Dialled::Continue(next)
        };
        match TargetKind::of(target) {
            Some(TargetKind::User) => {
                let Some(user) = self.snapshot.user(target).cloned() else {
                    return missing(self, next);
                };
                if timeout == Some(0) && next.is_none() {
                    // Voicemail form (§9.3): straight to the user's mailbox without ringing.
                    self.network_answered = true;
                    return Dialled::Step(
                        self.wait(Pending::Voicemail, Step::Voicemail { mailbox: user.id }),
                    );
                }
                if user.do_not_disturb {
                    self.fallback = CallOutcome::BUSY;
                    return Dialled::Continue(next);
                }
                Dialled::Step(self.wait(
                    Pending::Ring(AfterRing::Next(next)),
                    Step::RingUsers {
                        users: vec![user.id],
                        phone_numbers: Vec::new(),
                        timeout_s: timeout.unwrap_or(DEFAULT_RING_SECONDS),
                        confirm_external: false,
                    },
                ))
            }
            Some(TargetKind::RingGroup) => {
                let Some(group) = self.snapshot.ring_groups.get(target).cloned() else {
                    return missing(self, next);
                };
                // The smaller of the node's and the group's time; 0 or absent means the node
                // sets no limit of its own (§9.3 [open]).
                let timeout_s = match timeout {
                    Some(node) if node > 0 => node.min(group.timeout_seconds),
                    _ => group.timeout_seconds,
                };
                let after = if next.is_some() {
                    AfterRing::Next(next)
                } else {
                    AfterRing::GroupTimeout(group.clone())
                };
                let (users, phone_numbers) = self.group_members(&group);
                if users.is_empty() && phone_numbers.is_empty() {
                    self.fallback = CallOutcome::NO_ANSWER;
                    return match after {
                        AfterRing::Next(next) => Dialled::Continue(next),
                        AfterRing::GroupTimeout(group) => Dialled::Step(self.group_timeout(&group)),
                    };
                }
                Dialled::Step(self.wait(
                    Pending::Ring(after),
                    Step::RingUsers {
                        users,
                        phone_numbers,
                        timeout_s,
                        confirm_external: group.confirm_external,
                    },
                ))
            }
            Some(TargetKind::DialPlan) => {
                let plan = self.snapshot.plans.get(target).cloned();
                match plan {
                    Some(plan) if self.frames.len() < MAX_PLAN_DEPTH => Dialled::EnterPlan(plan, next),
                    Some(_) => {
                        self.fallback = CallOutcome::failed(cause::CALL_REJECTED);
                        Dialled::Continue(next)
                    }
                    None => missing(self, next),
                }
            }
            // Legacy voice-app form: a control-mode voice_app node with the same `next` (§9.3).
            Some(TargetKind::VoiceApp) => match self.voice_app(target) {
                Some(step) => Dialled::Step(self.wait(Pending::VoiceApp { next }, step)),
                None => Dialled::Continue(next),
            },
            Some(TargetKind::Queue) => {
                if !self.snapshot.queues.contains(target) {
                    return missing(self, next);
                }
                Dialled::Step(self.wait(Pending::Queue, Step::EnterQueue { queue: target.to_owned() }))
            }
            Some(TargetKind::SharedVoicemail) => {
                if !self.snapshot.voicemail_boxes.contains(target) {
                    return missing(self, next);
                }
                self.network_answered = true;
                Dialled::Step(self.wait(Pending::Voicemail, Step::Voicemail { mailbox: target.to_owned() }))
            }
            None => missing(self, next),
        }
    }

    /// Users (not on DND) and phone numbers of a group; dial-plan and voice-app members are
    /// skipped in v0.1 (rest.md §10.3 step 1 \[open\]).
    fn group_members(&self, group: &RingGroup) -> (Vec<String>, Vec<String>) {
        let mut users = Vec::new();
        let mut phone_numbers = Vec::new();
        for member in &group.members {
            if let Some(number) = &member.phone_number {
                phone_numbers.push(number.clone());
            } else if let Some(target) = &member.extension
                && let Some(user) = self.snapshot.user(target)
                && !user.do_not_disturb
                && !users.contains(&user.id)
            {
                users.push(user.id.clone());
            }
        }
        (users, phone_numbers)
    }

    /// rest.md §10.3 step 4: `ring_user` rings that user for another `timeout_seconds`;
    /// `voicemail` goes to that mailbox; `queue` to the queue; none → the call ends no-answer.
    fn group_timeout(&mut self, group: &RingGroup) -> Step {
        let target = group.timeout_target.clone().unwrap_or_default();
        match group.timeout_action {
            Some(TimeoutAction::RingUser) if self.snapshot.user(&target).is_some() => self.wait(
                Pending::Ring(AfterRing::Next(None)),
                Step::RingUsers {
                    users: vec![target],
                    phone_numbers: Vec::new(),
                    timeout_s: group.timeout_seconds,
                    confirm_external: false,
                },
            ),
            Some(TimeoutAction::Voicemail) => {
                self.network_answered = true;
                self.wait(Pending::Voicemail, Step::Voicemail { mailbox: target })
            }
            Some(TimeoutAction::Queue) => self.wait(Pending::Queue, Step::EnterQueue { queue: target }),
            _ => self.finish_hang_up(CallOutcome::NO_ANSWER),
        }
    }

    /// A key (or none) at a menu: matched option → its node; otherwise the timeout/invalid
    /// exit, or a replay — at most [`MAX_MENU_REPLAYS`] per visit, then hang up.
    fn menu_key(&mut self, node_id: &str, replays: u32, key: Option<char>, now: DateTime<Utc>) -> Step {
        let frame = self.frames.last().expect("a walk always has a frame");
        let Some(Node {
            kind: NodeKind::Menu { prompt_clip, timeout, options, timeout_next_node, invalid_next_node },
            ..
        }) = frame.plan.node(node_id).cloned()
        else {
            return self.finish_hang_up(self.fallback);
        };
        let exit = match key {
            Some(digit) => match options.iter().find(|option| option.digit == digit) {
                Some(option) if option.next_node.is_some() => {
                    return self.walk(option.next_node.clone(), now);
                }
                _ => invalid_next_node,
            },
            None => timeout_next_node,
        };
        if exit.is_some() {
            return self.walk(exit, now);
        }
        if replays >= MAX_MENU_REPLAYS {
            return self.finish_hang_up(self.fallback);
        }
        self.wait(
            Pending::Menu { node: node_id.to_owned(), replays: replays + 1 },
            Step::CollectDigits { prompt_clip, timeout_s: timeout },
        )
    }
}

enum Dialled {
    Step(Step),
    Continue(Exit),
    EnterPlan(DialPlan, Exit),
}

fn node(id: &str, kind: NodeKind) -> Node {
    Node { id: id.to_owned(), kind, position: None }
}

fn ring_failure(outcome: Outcome) -> CallOutcome {
    match outcome {
        Outcome::Busy => CallOutcome::BUSY,
        Outcome::Failed => CallOutcome::failed(cause::CALL_REJECTED),
        _ => CallOutcome::NO_ANSWER,
    }
}

/// How an inbound call to a number is handled (rest.md §12.2).
#[derive(Debug, Clone)]
pub enum Dispatch {
    /// No active DID has that number: reject (`failed`, cause 1).
    UnknownNumber { outcome: CallOutcome },
    /// `inbound_routing: "drop"`: rejected silently; no `call.incoming` \[open\].
    Dropped { did: String, outcome: CallOutcome },
    /// Routed: emit `call.incoming` (with `user` only when `user` is set), then drive `walker`
    /// starting with `first`.
    Routed { did: String, user: Option<String>, walker: Box<Walker>, first: Step },
}

/// rest.md §12.2 `on inbound call to E.164 N`.
pub fn dispatch_inbound(
    dids: &[PhoneNumber],
    number: &str,
    snapshot: RoutingSnapshot,
    now: DateTime<Utc>,
) -> Dispatch {
    let Some(did) = dids.iter().find(|did| did.phone_number == number && did.status == "active") else {
        return Dispatch::UnknownNumber { outcome: CallOutcome::failed(cause::UNALLOCATED_NUMBER) };
    };
    if did.inbound_routing == InboundRouting::Drop {
        return Dispatch::Dropped { did: did.id.clone(), outcome: CallOutcome::failed(cause::CALL_REJECTED) };
    }
    let target = did.routing_target.as_deref();
    let user = target.filter(|id| TargetKind::of(id) == Some(TargetKind::User)).map(str::to_owned);
    let mut walker = Walker::new(snapshot);
    let first = walker.start_target(target, now);
    Dispatch::Routed { did: did.id.clone(), user, walker: Box::new(walker), first }
}
