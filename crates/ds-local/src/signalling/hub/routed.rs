//! Inbound PSTN calls walked through routing (rest.md §9.5, §12) inside the hub.
//!
//! A routed call is the PSTN caller's side: one CallLog row (direction `inbound`, `did` set)
//! whose id is what `POST /v1/test_helpers/calls` returns. `ds_routing::Walker` decides; this
//! module carries its steps out: a `RingUsers` step rings every live session of each user as a
//! hub call of its own (`Call::routed` points back here; such legs write no row), the first
//! answer wins and the others stop ringing; no answer within the step's time, everyone busy or
//! nobody ringable is fed back as the step's outcome and the walk goes on. The caller is the
//! simulated test caller (the 440 Hz tone; a burst per DTMF digit), or a softphone that dialled
//! an extension whose target routes (`Routed::caller`): then its own leg rings, is answered by
//! the member who picks up (bridged) or by the media node (voicemail records its audio, a menu
//! reads its RFC 4733 keys, a voice app hears it), and its hang-up is the caller hanging up.

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
use crate::signalling::cdr::{Facts, Outcome};
use crate::signalling::far_end::Behaviour;
use crate::voicemail::{self, NewVoicemail};
use ds_media::Recording;
use ds_protocol::signalling::{CallState, ServerMessage};

/// How long a clip or a menu prompt plays, in routing seconds (ds-local has no clip audio of
/// its own; the simulated caller hears the tone).
const CLIP_SECONDS: u32 = 3;
/// Talk time of a routed call connected to a simulated party when the request gave none.
pub(super) const DEFAULT_TALK: Duration = Duration::from_secs(10);
/// A routed timer that is valid whatever the routed call's generation (the caller giving up).
pub(super) const ANY_GENERATION: u64 = u64::MAX;
/// Message length when the request names none (rest.md §18.1 `voicemail_seconds`).
const DEFAULT_MESSAGE: Duration = Duration::from_secs(8);
/// The simulated answering machine (rest.md §18.3): it picks up but never presses a key, so it
/// never confirms a ring-group call (`confirm_external`).
const ANSWERING_MACHINE: &str = "+15005550008";
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

/// Who places a routed call to an extension: its row's side and, for a softphone, its leg.
struct Party {
    account_id: String,
    direction: &'static str,
    from_number: String,
    from_name: Option<String>,
    /// The softphone leg (hub call id) that becomes the routed call's caller.
    leg: Option<String>,
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
    /// A softphone's call placing this routed call (its hub call id); `None` for the simulated
    /// PSTN caller.
    pub(super) caller: Option<String>,
    /// The softphone caller's message, taken off its leg when it hung up during a voicemail.
    message: Option<Recording>,
    /// A menu waits for the softphone caller's next key.
    collecting: bool,
    /// The external number dialled last (a phone-number member or a dial-external node): the
    /// simulated party a softphone caller is connected to when it answers.
    party: Option<String>,
}

impl Routed {
    fn new(facts: Facts, walker: Walker, frozen_clock: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        Self {
            facts,
            walker,
            generation: 0,
            ringing: Vec::new(),
            rang: 0,
            busy: 0,
            connected: None,
            talk: None,
            voicemail: None,
            mailbox: None,
            app: None,
            frozen_clock,
            digits: std::collections::VecDeque::new(),
            caller: None,
            message: None,
            collecting: false,
            party: None,
        }
    }
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
        // The id promises a row: the answer waits for the journal to have written it.
        let journal = self.journal.clone();
        let reply = move |id: &str| journal.reply(reply, id.to_owned());
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
                self.journal.insert(&facts, Some(&request.to_number), now);
                reply(&call_id);
                self.journal.ended(&facts, now, Outcome::Walked(outcome));
                return call_id;
            }
            Ok(Dispatch::UnknownNumber { outcome }) => {
                self.journal.insert(&facts, Some(&request.to_number), now);
                reply(&call_id);
                self.journal.ended(&facts, now, Outcome::Walked(outcome));
                return call_id;
            }
            Err(error) => {
                tracing::warn!(%call_id, %error, "cannot read the routing configuration");
                self.journal.insert(&facts, Some(&request.to_number), now);
                reply(&call_id);
                self.journal.ended(&facts, now, Outcome::Failed);
                return call_id;
            }
        };
        facts.did = Some(did);
        // rest.md §17.5: `user` on call.incoming only when the DID routes straight to a user.
        facts.user_id = user;
        self.journal.insert(&facts, Some(&request.to_number), now);
        reply(&call_id);
        self.journal.publish(&facts, "call.incoming", json!({}));
        let mut routed = Routed::new(facts, *walker, frozen_clock);
        routed.talk = request.talk;
        routed.voicemail = request.voicemail;
        routed.digits = request.digits.chars().collect();
        self.routed.insert(call_id.clone(), routed);
        if let Some(after) = request.give_up_after {
            self.routed_after(&call_id, ANY_GENERATION, Walk::Hangup, after);
        }
        self.perform(&call_id, first).await;
        call_id
    }

    /// A softphone (the hub call `caller`, already `call.trying`) dialled extension `dialled`,
    /// whose target routes: the call walks the same routing as an inbound PSTN call, as a
    /// routed call of its own (its own `internal` CallLog row, whose user is whoever answers).
    pub(super) async fn internal_routed_call(&mut self, caller: &str, target: &str, dialled: &str) {
        let Some(call) = self.calls.get(caller) else { return };
        let party = Party {
            account_id: call.facts.account_id.clone(),
            direction: "internal",
            from_number: call.facts.from_number.clone(),
            from_name: call.facts.from_name.clone(),
            leg: Some(caller.to_owned()),
        };
        match self.start_extension_routing(party, target, dialled).await {
            Ok((call_id, first)) => self.perform(&call_id, first).await,
            Err(error) => {
                tracing::warn!(%caller, %error, "cannot read the routing configuration");
                self.end_call(caller, EndReason::Failed, Outcome::Failed, None).await;
            }
        }
    }

    /// A blind transfer handed the outside party of `from_call` (a simulated PSTN caller or
    /// callee) to extension `dialled`, whose target routes: the party walks that routing afresh
    /// as a new routed call (its own `inbound` CallLog row, whose user is whoever answers), the
    /// way an inbound PSTN call does. Returns the new call's id.
    pub(super) async fn transfer_to_routing(
        &mut self,
        from_call: &str,
        target: &str,
        dialled: &str,
    ) -> Result<String, String> {
        let (account_id, from_number, from_name) = self.far_identity(from_call);
        let party = Party { account_id, direction: "inbound", from_number, from_name, leg: None };
        let (call_id, first) = self.start_extension_routing(party, target, dialled).await?;
        self.perform(&call_id, first).await;
        Ok(call_id)
    }

    /// A blind transfer handed another user's connected leg `leg` to extension `dialled`, whose
    /// target routes: that user becomes the softphone caller of a new routed call (its own
    /// `internal` row, from = that user), exactly as if they had dialled the extension, except
    /// that their leg is already up (ds-local plays them ringback while phones ring). Returns
    /// its id.
    pub(super) async fn transfer_leg_to_routing(
        &mut self,
        leg: &str,
        target: &str,
        dialled: &str,
    ) -> Result<String, String> {
        let Some(call) = self.calls.get(leg) else { return Err("the far party is gone".to_owned()) };
        let (from_number, from_name) = match call.kind {
            super::Kind::Outbound => (call.facts.from_number.clone(), call.facts.from_name.clone()),
            _ => (call.shown_to.clone(), call.facts.to_label.clone()),
        };
        let party = Party {
            account_id: call.facts.account_id.clone(),
            direction: "internal",
            from_number,
            from_name,
            leg: Some(leg.to_owned()),
        };
        let (call_id, first) = self.start_extension_routing(party, target, dialled).await?;
        // Its old far party (the transferrer) is gone; a remote hold by them ends.
        self.rejoin(leg, Far::Nobody).await;
        self.perform(&call_id, first).await;
        Ok(call_id)
    }

    /// The start of a routed call to extension `dialled` (whose target is `target`), shared by
    /// a softphone dialling it and a party handed to it by a blind transfer: walks into the
    /// routing, writes and announces the call's row, ties the party's leg (if any) to it as its
    /// softphone caller. Returns the call's id and its first step, to `perform`; `Err` (nothing
    /// written) when the routing cannot be read.
    async fn start_extension_routing(
        &mut self,
        party: Party,
        target: &str,
        dialled: &str,
    ) -> Result<(String, Step), String> {
        let frozen_clock = routing::frozen_schedule_clock(self.state.db()).await.ok().flatten();
        let schedule_now = frozen_clock.unwrap_or_else(|| self.state.clock().now());
        let (walker, first) = routing::route_target(&self.state, &party.account_id, target, schedule_now)
            .await
            .map_err(|error| format!("extension {dialled} cannot be routed: {error}"))?;
        let now = self.now();
        let call_id = ids::new_id("call", now);
        let facts = Facts {
            call_id: call_id.clone(),
            account_id: party.account_id,
            user_id: None,
            direction: party.direction,
            from_number: party.from_number,
            from_name: party.from_name,
            to_number: Some(dialled.to_owned()),
            to_label: None,
            did: None,
        };
        self.journal.insert(&facts, Some(dialled), now);
        self.journal.publish(&facts, "call.incoming", json!({}));
        let mut routed = Routed::new(facts, walker, frozen_clock);
        if let Some(leg) = party.leg {
            if let Some(call) = self.calls.get_mut(&leg) {
                call.routes = Some(call_id.clone());
            }
            routed.caller = Some(leg);
        }
        self.routed.insert(call_id.clone(), routed);
        Ok((call_id, first))
    }

    /// Whether `caller` is the connected caller of a routed call whose members are ringing now:
    /// its browser plays no ringback for a call that is already up, so ds-local plays it.
    pub(super) fn caller_hears_ringback(&self, caller: &str) -> bool {
        self.routed.values().any(|routed| {
            routed.caller.as_deref() == Some(caller)
                && routed.connected.is_none()
                && !routed.ringing.is_empty()
        })
    }

    /// The softphone caller's live leg (hub call id), if this routed call has one.
    fn caller_leg(&self, call_id: &str) -> Option<String> {
        let caller = self.routed.get(call_id)?.caller.clone()?;
        self.calls.contains_key(&caller).then_some(caller)
    }

    /// Phones ring for the routed call: the softphone caller hears ringing (`call.ringing`). A
    /// caller whose call is already up (a user handed over by a blind transfer) gets no
    /// `call.ringing` and its browser plays no ringback, so ds-local plays it on the leg
    /// ([`Hub::caller_hears_ringback`]) until an answer or the next step sets the leg's media.
    async fn caller_hears_ringing(&mut self, call_id: &str) {
        let Some(caller) = self.caller_leg(call_id) else { return };
        let Some(call) = self.calls.get_mut(&caller) else { return };
        if call.connected() {
            self.apply_media(&caller).await;
            return;
        }
        if call.state != CallState::Trying {
            return;
        }
        call.state = CallState::Ringing;
        if let Some(owner) = call.owner {
            self.send(owner, ServerMessage::CallRinging { call_id: caller.clone() });
        }
    }

    /// The network answered the softphone caller (a media node, or a simulated party): its
    /// offer is answered (`sdp.answer`, `call.answered`) and it hears `far`.
    async fn connect_caller(&mut self, call_id: &str, far: Far) {
        let Some(caller) = self.caller_leg(call_id) else { return };
        let Some(call) = self.calls.get_mut(&caller) else { return };
        call.far = far;
        if call.media.is_none() {
            self.peer_answered(&caller).await;
        } else {
            self.apply_media(&caller).await;
        }
    }

    /// A message is being recorded from the softphone caller's `leg`, which is about to close:
    /// keep what it said.
    pub(super) async fn keep_message(&mut self, call_id: &str, leg: ds_media::LegId) {
        let recording = match self.routed.get(call_id) {
            Some(routed) if routed.mailbox.is_some() && routed.message.is_none() => {
                self.media.stop_recording(leg).await.ok()
            }
            _ => return,
        };
        if let Some(routed) = self.routed.get_mut(call_id) {
            routed.message = recording;
        }
    }

    /// The softphone caller hung up (or its leg failed): at a voicemail the message is complete;
    /// anywhere else the caller gave up. A connected member's leg ends the call by itself.
    pub(super) async fn caller_left(&mut self, call_id: &str) {
        let Some(routed) = self.routed.get(call_id) else { return };
        if routed.connected.is_some() {
            return;
        }
        let outcome = if routed.mailbox.is_some() { Walk::Completed } else { Walk::Hangup };
        self.routed_timer(call_id, outcome).await;
    }

    /// The softphone caller pressed a key (RFC 4733): a menu waiting for one takes it; an
    /// attached voice app hears it out of band.
    pub(super) async fn caller_digit(&mut self, call_id: &str, digit: char) {
        let Some(routed) = self.routed.get_mut(call_id) else { return };
        if routed.collecting {
            routed.collecting = false;
            self.routed_timer(call_id, Walk::Digit(digit)).await;
        } else if let Some(app) = &routed.app {
            app.key_pressed(digit);
        }
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
            routed.collecting = false;
            let generation = routed.generation;
            // A connected caller (handed over by a transfer) stops hearing the last step's ringback.
            if let Some(caller) = self.caller_leg(call_id)
                && self.calls.get(&caller).is_some_and(|call| call.connected())
            {
                self.apply_media(&caller).await;
            }
            tracing::debug!(%call_id, ?step, "routing step");
            let immediate = match &step {
                Step::RingUsers { users, phone_numbers, timeout_s, confirm_external } => {
                    let rang = self.ring_for_routed(call_id, users).await;
                    // Phone-number members are simulated far ends (rest.md §18.3): the first
                    // that answers picks up after the PSTN delay, in a race with the users.
                    // With `confirm_external` (rest.md §10.3 step 3) it must press 1 at a prompt
                    // first, the others ringing on: a person does once the prompt has played; the
                    // answering machine never does (docs/decisions.md).
                    let answers = |number: &&String| {
                        matches!(
                            Behaviour::for_number(number),
                            Behaviour::Pstn | Behaviour::Tone | Behaviour::Echo | Behaviour::Ivr
                        )
                    };
                    let number_answers = phone_numbers.iter().any(|number| answers(&number));
                    let winner = phone_numbers
                        .iter()
                        .filter(answers)
                        .find(|number| !*confirm_external || number.as_str() != ANSWERING_MACHINE);
                    if let Some(number) = winner {
                        if let Some(routed) = self.routed.get_mut(call_id) {
                            routed.party = Some(number.clone());
                        }
                        let delay = if *confirm_external {
                            self.timers.pstn_answer_delay + self.routing_seconds(CLIP_SECONDS)
                        } else {
                            self.timers.pstn_answer_delay
                        };
                        self.routed_after(call_id, generation, Walk::Answered, delay);
                    } else if number_answers {
                        tracing::debug!(%call_id, "a phone-number member answered but did not confirm");
                    }
                    if rang > 0 || number_answers {
                        self.caller_hears_ringing(call_id).await;
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
                Step::DialExternal { phone_number, timeout_s } => {
                    if let Some(routed) = self.routed.get_mut(call_id) {
                        routed.party = Some(phone_number.clone());
                    }
                    if !matches!(Behaviour::for_number(phone_number), Behaviour::Busy | Behaviour::Fails) {
                        self.caller_hears_ringing(call_id).await;
                    }
                    match Behaviour::for_number(phone_number) {
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
                            self.routed_after(
                                call_id,
                                generation,
                                Walk::Answered,
                                self.timers.pstn_answer_delay,
                            );
                            None
                        }
                    }
                }
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
                    if self.caller_leg(call_id).is_some() {
                        // A softphone caller's next RFC 4733 key answers (`caller_digit`).
                        if let Some(routed) = self.routed.get_mut(call_id) {
                            routed.collecting = true;
                        }
                        let wait = self.routing_seconds(CLIP_SECONDS + timeout_s);
                        self.routed_after(call_id, generation, Walk::Timeout, wait);
                        return;
                    }
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
        // A softphone caller's leg is the far party of each member's leg, and a member who is
        // the caller does not ring for their own call.
        let caller = self.caller_leg(call_id);
        let caller_user = caller.as_ref().and_then(|leg| self.calls.get(leg)?.facts.user_id.clone());
        let far = match &caller {
            Some(leg) => Far::Leg(leg.clone()),
            None => Far::Sim { behaviour: Behaviour::TestCaller, answered: true },
        };
        let mut legs = Vec::new();
        for user in users.iter().filter(|user| Some(*user) != caller_user.as_ref()) {
            let leg = self
                .ring_user(Ring {
                    account_id: &facts.account_id,
                    user_id: user,
                    from: &facts.from_number,
                    from_name: facts.from_name.clone(),
                    dialled: &dialled,
                    direction: "inbound",
                    far: far.clone(),
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
        self.journal.network_answered(call_id, now);
        self.connect_caller(call_id, Far::Nobody).await;
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
                let party = routed.party.clone();
                let with_app = routed.app.is_some();
                if !with_app {
                    let now = self.now();
                    self.journal.answered(&facts, now);
                }
                if self.caller_leg(call_id).is_some() {
                    // A softphone caller talks to the party until one of them hangs up.
                    if !with_app {
                        let behaviour = party.as_deref().map_or(Behaviour::Pstn, Behaviour::for_number);
                        self.connect_caller(call_id, Far::Sim { behaviour, answered: true }).await;
                    }
                    return;
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
        let caller_media = self.caller_leg(call_id).and_then(|caller| self.calls.get(&caller)?.media);
        let routed = self.routed.get_mut(call_id)?;
        routed.mailbox = Some(mailbox.to_owned());
        let length = match caller_media {
            // A softphone caller speaks until it hangs up (`caller_left`), at most 120 s.
            Some(leg) => {
                let millis = u32::try_from(MAX_MESSAGE.as_millis()).unwrap_or(u32::MAX);
                if let Err(error) = self.media.start_recording(leg, millis).await {
                    tracing::warn!(%call_id, %error, "cannot record the caller");
                }
                MAX_MESSAGE
            }
            None => routed.voicemail.unwrap_or(DEFAULT_MESSAGE).min(MAX_MESSAGE),
        };
        self.routed_after(call_id, generation, Walk::Completed, length);
        None
    }

    /// The message is complete: the call ends `voicemail`, then the voicemail is stored and
    /// announced (`voicemail.new`, `recording.available`), in that order (rest.md §17.6).
    async fn voicemail_left(&mut self, call_id: &str, outcome: CallOutcome) {
        let caller_media = self.caller_leg(call_id).and_then(|caller| self.calls.get(&caller)?.media);
        let Some(routed) = self.routed.get_mut(call_id) else { return };
        let facts = routed.facts.clone();
        let mailbox = routed.mailbox.clone();
        let length = routed.voicemail.unwrap_or(DEFAULT_MESSAGE).min(MAX_MESSAGE);
        let kept = routed.message.take();
        let softphone = routed.caller.is_some();
        // A softphone caller's message is what its leg received (taken before the leg closes);
        // the simulated caller's voice is its tone, rendered rather than received.
        let recording = match (kept, caller_media) {
            (Some(kept), _) => Some(kept),
            (None, Some(leg)) => self.media.stop_recording(leg).await.ok(),
            (None, None) if softphone => Some(Recording::default()),
            (None, None) => {
                let millis = u32::try_from(length.as_millis()).unwrap_or(u32::MAX);
                Some(Recording::of_source(&Behaviour::TestCaller.source(), millis))
            }
        };
        self.finish_routed(call_id, Outcome::Walked(outcome)).await;
        let Some(mailbox) = mailbox else { return };
        let recording = recording.unwrap_or_default();
        // Through the journal: the message lands after the row's end, in the hub's order.
        let call_id = call_id.to_owned();
        self.journal.run(move |state| async move {
            let created = voicemail::create(
                &state,
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
        });
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
        if let Some(caller) = &routed.caller {
            // The softphone caller hears how the walk ended.
            let reason = match outcome.status() {
                "no-answer" => EndReason::NoAnswer,
                "busy" => EndReason::Busy,
                "failed" => EndReason::Failed,
                _ => EndReason::Hangup,
            };
            self.end_call(caller, reason, outcome, None).await;
        }
        let now = self.now();
        self.journal.ended(&routed.facts, now, outcome);
    }
}
