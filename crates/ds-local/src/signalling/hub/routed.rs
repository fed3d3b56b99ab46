//! Inbound PSTN calls walked through routing (rest.md §9.5, §12) inside the hub.
//!
//! A routed call is the PSTN caller's side: one CallLog row (direction `inbound`, `did` set)
//! whose id is what `POST /v1/test_helpers/calls` returns. `ds_routing::Walker` decides; this
//! module carries its steps out: a `RingUsers` step rings every live session of each user as a
//! hub call of its own (`Call::routed` points back here; such legs write no row), the first
//! answer wins and the others stop ringing; no answer within the step's time, everyone busy or
//! nobody ringable is fed back as the step's outcome and the walk goes on. The caller is the
//! simulated test caller (the 440 Hz tone; a burst per DTMF digit).

use std::time::Duration;

use ds_protocol::signalling::EndReason;
use ds_routing::walker::Dispatch;
use ds_routing::{CallOutcome, Outcome as Walk, Step, Walker};
use serde_json::json;
use tokio::sync::oneshot;

use super::voice_app::AppCall;
use super::{Actor, Far, Input, Ring};
use crate::ids;
use crate::routing;
use crate::signalling::cdr::{self, Facts, Outcome};
use crate::signalling::far_end::Behaviour;
use crate::voicemail::{self, NewVoicemail};
use ds_media::Recording;

/// How long a clip or a menu prompt plays, in routing seconds (ds-local has no clip audio of
/// its own; the simulated caller hears the tone).
const CLIP_SECONDS: u32 = 3;
/// Talk time of a routed call connected to a simulated party when the request gave none.
pub(super) const DEFAULT_TALK: Duration = Duration::from_secs(10);
/// A routed timer that is valid whatever the routed call's generation (the caller giving up).
pub(super) const ANY_GENERATION: u64 = u64::MAX;
/// Message length when the request names none (rest.md §18.1 `voicemail_seconds`).
const DEFAULT_MESSAGE: Duration = Duration::from_secs(8);
/// Longest message recorded (rest.md §16.4 [open]: 120 s).
const MAX_MESSAGE: Duration = Duration::from_secs(120);

/// A simulated inbound PSTN call to a number of the account, already validated by REST.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundCall {
    pub account_id: String,
    /// The dialled DID (E.164).
    pub to_number: String,
    pub from_number: String,
    pub from_name: Option<String>,
    /// The caller gives up after this long unless a person answered (`ring_seconds`).
    pub give_up_after: Option<Duration>,
    /// Once a person answered, the caller hangs up this long later (`talk_seconds`).
    pub talk: Option<Duration>,
    /// Length of the message the caller leaves at a voicemail (`voicemail_seconds`).
    pub voicemail: Option<Duration>,
    /// Keys the caller presses: one per menu prompt, or in-band to an attached voice app.
    pub digits: String,
}

/// One routed call in the hub.
pub(super) struct Routed {
    pub(super) facts: Facts,
    pub(super) walker: Walker,
    /// Bumped on every step: a timer for an older step is stale.
    pub(super) generation: u64,
    /// Legs ringing for the current `RingUsers` step.
    ringing: Vec<String>,
    /// How many legs the step rang, and how many of them ended busy.
    rang: usize,
    busy: usize,
    /// The leg a person answered on; the call lives on it until it ends.
    connected: Option<String>,
    pub(super) talk: Option<Duration>,
    /// Length of a message the caller leaves.
    voicemail: Option<Duration>,
    /// The mailbox being recorded into, once a voicemail step started.
    mailbox: Option<String>,
    /// The control-mode voice app holding the call, once handed over.
    pub(super) app: Option<AppCall>,
    /// Schedules are evaluated at this instant when `POST /_ds/clock` froze them.
    pub(super) frozen_clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Keys the caller has yet to press.
    pub(super) digits: std::collections::VecDeque<char>,
}

impl Actor {
    /// Routes a new inbound call; replies with its id once its row exists, and walks on.
    pub(super) async fn inbound_call(
        &mut self,
        request: InboundCall,
        reply: oneshot::Sender<String>,
    ) -> String {
        let now = self.now();
        let call_id = ids::new_id("call", now);
        let reply = move |id: &str| {
            let _ = reply.send(id.to_owned());
        };
        let mut facts = Facts {
            call_id: call_id.clone(),
            account_id: request.account_id.clone(),
            user_id: None,
            direction: "inbound",
            from_number: request.from_number.clone(),
            from_name: request.from_name.clone(),
            to_number: Some(request.to_number.clone()),
            to_label: None,
            did: None,
        };
        // Schedules follow `POST /_ds/clock` when it froze them, for the whole walk.
        let frozen_clock = routing::frozen_schedule_clock(self.state.db()).await.ok().flatten();
        let schedule_now = frozen_clock.unwrap_or_else(|| self.state.clock().now());
        let dispatch =
            routing::route_inbound(&self.state, &request.account_id, &request.to_number, schedule_now).await;
        let (did, user, walker, first) = match dispatch {
            Ok(Dispatch::Routed { did, user, walker, first }) => (did, user, walker, first),
            Ok(Dispatch::Dropped { did, outcome }) => {
                // rest.md §6.3 [open]: rejected silently, no `call.incoming`.
                facts.did = Some(did);
                cdr::insert(&self.state, &facts, Some(&request.to_number), now).await;
                reply(&call_id);
                cdr::ended(&self.state, &facts, now, Outcome::Walked(outcome)).await;
                return call_id;
            }
            Ok(Dispatch::UnknownNumber { outcome }) => {
                cdr::insert(&self.state, &facts, Some(&request.to_number), now).await;
                reply(&call_id);
                cdr::ended(&self.state, &facts, now, Outcome::Walked(outcome)).await;
                return call_id;
            }
            Err(error) => {
                tracing::warn!(%call_id, %error, "cannot read the routing configuration");
                cdr::insert(&self.state, &facts, Some(&request.to_number), now).await;
                reply(&call_id);
                cdr::ended(&self.state, &facts, now, Outcome::Failed).await;
                return call_id;
            }
        };
        facts.did = Some(did);
        // rest.md §17.5: `user` on call.incoming only when the DID routes straight to a user.
        facts.user_id = user;
        cdr::insert(&self.state, &facts, Some(&request.to_number), now).await;
        reply(&call_id);
        cdr::publish(&self.state, &facts, "call.incoming", json!({})).await;
        self.routed.insert(
            call_id.clone(),
            Routed {
                facts,
                walker: *walker,
                generation: 0,
                ringing: Vec::new(),
                rang: 0,
                busy: 0,
                connected: None,
                talk: request.talk,
                voicemail: request.voicemail,
                mailbox: None,
                app: None,
                frozen_clock,
                digits: request.digits.chars().collect(),
            },
        );
        if let Some(after) = request.give_up_after {
            self.routed_after(&call_id, ANY_GENERATION, Walk::Hangup, after);
        }
        self.perform(&call_id, first).await;
        call_id
    }

    /// Posts `outcome` for the routed call `call_id` after `delay`.
    pub(super) fn routed_after(&self, call_id: &str, generation: u64, outcome: Walk, delay: Duration) {
        let tx = self.tx.clone();
        let call_id = call_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Input::RoutedTimer { call_id, generation, outcome });
        });
    }

    /// `seconds` of routing configuration as a real delay.
    fn routing_seconds(&self, seconds: u32) -> Duration {
        self.timers.routing_second * seconds
    }

    /// Carries out `step` and every step that follows at once, until one has to wait.
    pub(super) async fn perform(&mut self, call_id: &str, first: Step) {
        let mut step = first;
        loop {
            let Some(routed) = self.routed.get_mut(call_id) else { return };
            routed.generation += 1;
            let generation = routed.generation;
            tracing::debug!(%call_id, ?step, "routing step");
            let immediate = match &step {
                Step::RingUsers { users, phone_numbers, timeout_s, .. } => {
                    let rang = self.ring_for_routed(call_id, users).await;
                    // Phone-number members are simulated far ends (rest.md §18.3): the first
                    // that answers picks up after the PSTN delay, in a race with the users.
                    let number_answers = phone_numbers.iter().any(|number| {
                        matches!(
                            Behaviour::for_number(number),
                            Behaviour::Pstn | Behaviour::Tone | Behaviour::Echo | Behaviour::Ivr
                        )
                    });
                    if number_answers {
                        self.routed_after(call_id, generation, Walk::Answered, self.timers.pstn_answer_delay);
                    }
                    if rang == 0 && !number_answers {
                        Some(Walk::NoAnswer)
                    } else {
                        self.routed_after(
                            call_id,
                            generation,
                            Walk::NoAnswer,
                            self.routing_seconds(*timeout_s),
                        );
                        None
                    }
                }
                Step::DialExternal { phone_number, timeout_s } => match Behaviour::for_number(phone_number) {
                    Behaviour::Busy => Some(Walk::Busy),
                    Behaviour::Fails => Some(Walk::Failed),
                    Behaviour::NoAnswer => {
                        self.routed_after(
                            call_id,
                            generation,
                            Walk::NoAnswer,
                            self.routing_seconds(*timeout_s),
                        );
                        None
                    }
                    _ => {
                        self.routed_after(call_id, generation, Walk::Answered, self.timers.pstn_answer_delay);
                        None
                    }
                },
                Step::PlayAudio { .. } => {
                    self.network_answer(call_id).await;
                    self.routed_after(
                        call_id,
                        generation,
                        Walk::Completed,
                        self.routing_seconds(CLIP_SECONDS),
                    );
                    None
                }
                Step::CollectDigits { timeout_s, .. } => {
                    // The simulated caller presses its next key once the prompt has played;
                    // with none left, the menu times out.
                    self.network_answer(call_id).await;
                    let key = self.routed.get_mut(call_id).and_then(|routed| routed.digits.pop_front());
                    let (outcome, wait) = match key {
                        Some(digit) => (Walk::Digit(digit), self.routing_seconds(CLIP_SECONDS)),
                        None => (Walk::Timeout, self.routing_seconds(CLIP_SECONDS + timeout_s)),
                    };
                    self.routed_after(call_id, generation, outcome, wait);
                    None
                }
                Step::ConnectVoiceApp { voice_app } => {
                    let voice_app = voice_app.clone();
                    self.connect_voice_app(call_id, generation, &voice_app).await
                }
                Step::NotifyVoiceApp { voice_app } => {
                    let voice_app = voice_app.clone();
                    self.notify_voice_app(call_id, &voice_app).await;
                    Some(Walk::Completed)
                }
                Step::Voicemail { mailbox } => {
                    let mailbox = mailbox.clone();
                    self.start_voicemail(call_id, generation, &mailbox).await
                }
                // Queues are not stored, so the walker never gets here with one that exists.
                Step::EnterQueue { .. } => Some(Walk::NoAnswer),
                Step::HangUp { outcome } => {
                    self.finish_routed(call_id, Outcome::Walked(*outcome)).await;
                    return;
                }
                Step::Done { outcome } => {
                    self.routed_done(call_id, *outcome).await;
                    return;
                }
            };
            let Some(outcome) = immediate else { return };
            match self.feed(call_id, outcome) {
                Some(next) => step = next,
                None => return,
            }
        }
    }

    /// Tells the walker what happened; a refused outcome ends the call as failed.
    pub(super) fn feed(&mut self, call_id: &str, outcome: Walk) -> Option<Step> {
        let real_now = self.state.clock().now();
        let routed = self.routed.get_mut(call_id)?;
        let now = routed.frozen_clock.unwrap_or(real_now);
        match routed.walker.on_outcome(outcome, now) {
            Ok(step) => Some(step),
            Err(error) => {
                tracing::warn!(%call_id, %error, "the walk refused an outcome");
                Some(Step::HangUp { outcome: CallOutcome::failed(ds_routing::walker::cause::CALL_REJECTED) })
            }
        }
    }

    /// Rings every live session of each user for the routed call; returns how many users rang.
    async fn ring_for_routed(&mut self, call_id: &str, users: &[String]) -> usize {
        let Some(facts) = self.routed.get(call_id).map(|routed| routed.facts.clone()) else { return 0 };
        let dialled = facts.to_number.clone().unwrap_or_default();
        let mut legs = Vec::new();
        for user in users {
            let leg = self
                .ring_user(Ring {
                    account_id: &facts.account_id,
                    user_id: user,
                    from: &facts.from_number,
                    from_name: facts.from_name.clone(),
                    dialled: &dialled,
                    direction: "inbound",
                    far: Far::Sim { behaviour: Behaviour::TestCaller, answered: true },
                    routed: Some(&facts),
                })
                .await;
            legs.extend(leg);
        }
        let rang = legs.len();
        if let Some(routed) = self.routed.get_mut(call_id) {
            routed.ringing = legs;
            routed.rang = rang;
            routed.busy = 0;
        }
        rang
    }

    /// Stops every leg still ringing for the routed call (answered elsewhere, timed out, the
    /// caller gave up).
    async fn stop_ringing(&mut self, call_id: &str, reason: EndReason) {
        let legs = self.routed.get_mut(call_id).map(|routed| std::mem::take(&mut routed.ringing));
        for leg in legs.unwrap_or_default() {
            self.end_call(&leg, reason.clone(), Outcome::NoAnswer, None).await;
        }
    }

    /// A media node answered the network leg (`answered_at` without `connected_at`).
    pub(super) async fn network_answer(&mut self, call_id: &str) {
        let now = self.now();
        cdr::network_answered(&self.state, call_id, now).await;
    }

    /// A person answered on `leg`: the other legs stop ringing and the walk is over.
    pub(super) async fn routed_answered(&mut self, call_id: &str, leg: &str) {
        let user = self.calls.get(leg).and_then(|call| call.facts.user_id.clone());
        let Some(routed) = self.routed.get_mut(call_id) else { return };
        routed.connected = Some(leg.to_owned());
        routed.facts.user_id = user;
        routed.ringing.retain(|other| other != leg);
        routed.generation += 1;
        let talk = routed.talk;
        self.stop_ringing(call_id, EndReason::Hangup).await;
        if let Some(step) = self.feed(call_id, Walk::Answered) {
            Box::pin(self.perform(call_id, step)).await;
        }
        if let Some(talk) = talk
            && let Some(call) = self.calls.get_mut(leg)
        {
            // The simulated caller hangs up `talk_seconds` after the answer.
            let generation = call.bump();
            self.schedule(leg, generation, super::Timer::FarHangup, talk);
        }
    }

    /// A leg of the routed call ended. The answered leg ending ends the routed call (its row
    /// was written through the leg); the last ringing leg ending without an answer is the ring
    /// step's outcome: busy when every leg was busy, else no answer.
    pub(super) async fn routed_leg_ended(
        &mut self,
        call_id: &str,
        leg: &str,
        outcome: Outcome,
        answered: bool,
    ) {
        let Some(routed) = self.routed.get_mut(call_id) else { return };
        if answered {
            if routed.connected.as_deref() == Some(leg) {
                self.routed.remove(call_id);
            }
            return;
        }
        let Some(position) = routed.ringing.iter().position(|other| other == leg) else { return };
        routed.ringing.remove(position);
        if outcome == Outcome::Busy {
            routed.busy += 1;
        }
        if !routed.ringing.is_empty() || routed.connected.is_some() {
            return;
        }
        let walk = if routed.busy == routed.rang { Walk::Busy } else { Walk::NoAnswer };
        routed.generation += 1;
        if let Some(step) = self.feed(call_id, walk) {
            Box::pin(self.perform(call_id, step)).await;
        }
    }

    /// A routed timer fired for the current step (or the caller gave up).
    pub(super) async fn routed_timer(&mut self, call_id: &str, outcome: Walk) {
        let Some(routed) = self.routed.get(call_id) else { return };
        if let Some(finished) = routed.walker.finished() {
            // The walk is over and the call sat with a simulated party or a voicemail: the
            // caller hangs up now.
            if routed.connected.is_none() {
                self.finish_routed(call_id, Outcome::Walked(finished)).await;
            }
            return;
        }
        if outcome == Walk::Hangup && routed.connected.is_some() {
            return;
        }
        if outcome == Walk::Hangup && routed.app.as_ref().is_some_and(|app| app.attached) {
            // The caller hangs up on the voice app that has the call: completed (rest.md §12.3).
            self.finish_routed(call_id, Outcome::Walked(CallOutcome::CONNECTED)).await;
            return;
        }
        if outcome == Walk::Failed
            && let Some(mut app) = self.routed.get_mut(call_id).and_then(|routed| routed.app.take())
        {
            // The hand-over failed (no reply, no action, or the socket gone for good).
            app.detach();
        }
        // Phones still ringing stop: the caller left, or a phone-number member answered.
        let reason = if matches!(outcome, Walk::Hangup | Walk::Answered) {
            EndReason::Hangup
        } else {
            EndReason::NoAnswer
        };
        self.stop_ringing(call_id, reason).await;
        if let Some(step) = self.feed(call_id, outcome) {
            self.perform(call_id, step).await;
        }
    }

    /// The walk ended with the call staying where it is.
    async fn routed_done(&mut self, call_id: &str, outcome: CallOutcome) {
        let Some(routed) = self.routed.get(call_id) else { return };
        if routed.connected.is_some() {
            return;
        }
        match outcome.status {
            ds_routing::CallStatus::Completed => {
                // Connected to a simulated party (an external number) or to an attached voice
                // app: they talk, then the caller hangs up. Only a party is a person answering.
                let facts = routed.facts.clone();
                let talk = routed.talk.unwrap_or(DEFAULT_TALK);
                let generation = routed.generation;
                if routed.app.is_none() {
                    let now = self.now();
                    cdr::answered(&self.state, &facts, now).await;
                }
                self.routed_after(call_id, generation, Walk::Hangup, talk);
            }
            ds_routing::CallStatus::Voicemail => self.voicemail_left(call_id, outcome).await,
            _ => self.finish_routed(call_id, Outcome::Walked(outcome)).await,
        }
    }

    /// rest.md §16.4: the call is answered and the caller leaves a message of
    /// `voicemail_seconds` (default 8 s); the timer reports it left.
    async fn start_voicemail(&mut self, call_id: &str, generation: u64, mailbox: &str) -> Option<Walk> {
        self.network_answer(call_id).await;
        let routed = self.routed.get_mut(call_id)?;
        routed.mailbox = Some(mailbox.to_owned());
        let length = routed.voicemail.unwrap_or(DEFAULT_MESSAGE).min(MAX_MESSAGE);
        self.routed_after(call_id, generation, Walk::Completed, length);
        None
    }

    /// The message is complete: the call ends `voicemail`, then the voicemail is stored and
    /// announced (`voicemail.new`, `recording.available`), in that order (rest.md §17.6).
    async fn voicemail_left(&mut self, call_id: &str, outcome: CallOutcome) {
        let Some(routed) = self.routed.get(call_id) else { return };
        let facts = routed.facts.clone();
        let mailbox = routed.mailbox.clone();
        let length = routed.voicemail.unwrap_or(DEFAULT_MESSAGE).min(MAX_MESSAGE);
        self.finish_routed(call_id, Outcome::Walked(outcome)).await;
        let Some(mailbox) = mailbox else { return };
        // The simulated caller's voice is its tone: what it "says" is rendered, not received
        // (a softphone caller's leg would be recorded with `MediaEngine::start_recording`).
        let millis = u32::try_from(length.as_millis()).unwrap_or(u32::MAX);
        let recording = Recording::of_source(&Behaviour::TestCaller.source(), millis);
        let created = voicemail::create(
            &self.state,
            NewVoicemail {
                account_id: &facts.account_id,
                owner: &mailbox,
                call_id: Some(&facts.call_id),
                from_number: &facts.from_number,
                from_name: facts.from_name.as_deref(),
                duration_seconds: (recording.duration_ms() / 1000) as i64,
                audio: recording.to_wav(),
            },
        )
        .await;
        if let Err(error) = created {
            tracing::warn!(%call_id, %error, "cannot store the voicemail");
        }
    }

    /// Ends the routed call: ringing legs stop, a connected leg hangs up, the row is written.
    pub(super) async fn finish_routed(&mut self, call_id: &str, outcome: Outcome) {
        self.stop_ringing(call_id, EndReason::Hangup).await;
        let Some(mut routed) = self.routed.remove(call_id) else { return };
        if let Some(app) = &mut routed.app {
            app.detach();
        }
        if let Some(leg) = routed.connected {
            self.end_call(&leg, EndReason::Hangup, Outcome::Completed, None).await;
        }
        let now = self.now();
        cdr::ended(&self.state, &routed.facts, now, outcome).await;
    }
}
