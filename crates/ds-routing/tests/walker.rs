//! Walking calls through plans (rest.md §9.5), ring groups (§10.3) and DID dispatch (§12).

use chrono::{DateTime, Utc};
use ds_routing::plan::{self, ReferenceCheck};
use ds_routing::walker::{
    Dispatch, MAX_MENU_REPLAYS, RoutingUser, RoutingVoiceApp, WalkError, cause, dispatch_inbound,
};
use ds_routing::{
    CallOutcome, CallStatus, DialPlan, InboundRouting, NoLookup, Outcome, PhoneNumber, RingGroup,
    RingGroupMember, RoutingSnapshot, Schedule, Step, TimeoutAction, Walker, WeeklyRange,
};
use serde_json::{Value, json};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Tuesday 2026-09-15 10:00 New York: inside business hours.
const INSIDE_HOURS: &str = "2026-09-15T14:00:00Z";
/// Tuesday 2026-09-15 20:00 New York.
const OUTSIDE_HOURS: &str = "2026-09-16T00:00:00Z";
/// Friday 2026-12-25 10:00 New York, a holiday inside weekly hours.
const CHRISTMAS: &str = "2026-12-25T15:00:00Z";

fn plan_from(id: &str, body: Value) -> DialPlan {
    let (entry_node, nodes) = plan::validate(
        body.get("entry_node"),
        body.get("nodes"),
        Some(id),
        &NoLookup,
        ReferenceCheck::PrefixOnly,
    )
    .unwrap();
    DialPlan {
        id: id.into(),
        name: "plan".into(),
        entry_node,
        nodes,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// direct-api.txt's plan, verbatim.
fn seed_plan() -> DialPlan {
    plan_from(
        "dp_main",
        json!({ "name": "Main number", "entry_node": "hours", "nodes": [
            { "id": "hours", "type": "schedule",
              "config": { "schedule_id": "sch_business_hours", "open": "ring_team", "closed": "ai_reception" } },
            { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
            { "id": "ai_reception", "type": "internal_dial", "config": { "target_id": "va_ai_receptionist" } } ] }),
    )
}

fn user(id: &str, do_not_disturb: bool) -> RoutingUser {
    RoutingUser { id: id.into(), do_not_disturb }
}

/// Alice and Bob (Carol is on DND), business hours Mon–Fri 09:00–17:00 New York with
/// Christmas off, and the AI receptionist voice app.
fn seed_account() -> RoutingSnapshot {
    let mut snapshot = RoutingSnapshot {
        users: vec![user("user_alice", false), user("user_bob", false), user("user_carol", true)],
        ..RoutingSnapshot::default()
    };
    snapshot.schedules.insert(
        "sch_business_hours".into(),
        Schedule {
            id: "sch_business_hours".into(),
            name: "Business hours".into(),
            timezone: "America/New_York".into(),
            ranges: (1..=5)
                .map(|day| WeeklyRange { day, start: "09:00".into(), end: "17:00".into() })
                .collect(),
            holidays: vec![ds_routing::Holiday { start: "2026-12-25".into(), end: "2026-12-25".into() }],
            created_at: String::new(),
            updated_at: String::new(),
        },
    );
    snapshot.voice_apps.insert("va_ai_receptionist".into(), RoutingVoiceApp { active: true });
    snapshot
}

fn ring(users: &[&str], timeout_s: u32) -> Step {
    Step::RingUsers {
        users: users.iter().map(|user| user.to_string()).collect(),
        phone_numbers: vec![],
        timeout_s,
        confirm_external: false,
    }
}

fn ai_receptionist() -> Step {
    Step::ConnectVoiceApp { voice_app: "va_ai_receptionist".into() }
}

#[test]
fn seed_plan_inside_business_hours_rings_the_team_then_overflows_to_the_ai_receptionist_after_25_s() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    assert_eq!(
        walker.start(seed_plan(), now),
        ring(&["user_alice", "user_bob"], 25),
        "DND users are skipped"
    );
    assert!(!walker.network_answered(), "ringing does not answer the caller's leg");
    let after_25_s = now + chrono::Duration::seconds(25);
    assert_eq!(walker.on_outcome(Outcome::NoAnswer, after_25_s).unwrap(), ai_receptionist());
    assert!(walker.network_answered(), "the voice app hand-over answers");
    assert_eq!(
        walker.on_outcome(Outcome::Answered, after_25_s).unwrap(),
        Step::Done { outcome: CallOutcome::CONNECTED }
    );
    assert_eq!(walker.finished(), Some(CallOutcome::CONNECTED));
    assert_eq!(walker.on_outcome(Outcome::Answered, after_25_s), Err(WalkError::Finished));
}

#[test]
fn seed_plan_inside_business_hours_ends_when_a_team_member_answers() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    walker.start(seed_plan(), now);
    let step = walker.on_outcome(Outcome::Answered, now).unwrap();
    assert_eq!(
        step,
        Step::Done { outcome: CallOutcome { status: CallStatus::Completed, hangup_cause: None } }
    );
}

#[test]
fn seed_plan_outside_business_hours_goes_straight_to_the_ai_receptionist() {
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(seed_plan(), at(OUTSIDE_HOURS)), ai_receptionist());
}

#[test]
fn seed_plan_on_a_holiday_without_a_holiday_exit_takes_the_closed_branch() {
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(seed_plan(), at(CHRISTMAS)), ai_receptionist());
}

#[test]
fn a_holiday_exit_is_taken_on_holidays_when_wired() {
    let plan = plan_from(
        "dp_h",
        json!({ "entry_node": "hours", "nodes": [
            { "id": "hours", "type": "schedule", "config": { "schedule": "sch_business_hours",
              "open": "ring", "closed": "ring", "holiday": "closed_msg" } },
            { "id": "ring", "type": "ring_all_users", "config": { "timeout": 20 } },
            { "id": "closed_msg", "type": "audio_clip", "config": { "clip": "clip_ds_closed" } } ] }),
    );
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(plan, at(CHRISTMAS)), Step::PlayAudio { clip: "clip_ds_closed".into() });
    let end = walker.on_outcome(Outcome::Completed, at(CHRISTMAS)).unwrap();
    assert!(matches!(
        end,
        Step::HangUp { outcome: CallOutcome { hangup_cause: Some(cause::NORMAL_CLEARING), .. } }
    ));
}

#[test]
fn a_schedule_missing_at_call_time_counts_as_closed() {
    let mut snapshot = seed_account();
    snapshot.schedules.clear();
    let mut walker = Walker::new(snapshot);
    assert_eq!(walker.start(seed_plan(), at(INSIDE_HOURS)), ai_receptionist());
}

#[test]
fn a_failed_hand_over_without_a_fallback_hangs_up_as_failed() {
    let mut walker = Walker::new(seed_account());
    walker.start(seed_plan(), at(OUTSIDE_HOURS));
    let step = walker.on_outcome(Outcome::Failed, at(OUTSIDE_HOURS)).unwrap();
    assert_eq!(step, Step::HangUp { outcome: CallOutcome::failed(cause::CALL_REJECTED) });
}

#[test]
fn an_inactive_voice_app_falls_back_to_next_without_asking() {
    let mut snapshot = seed_account();
    snapshot.voice_apps.insert("va_ai_receptionist".into(), RoutingVoiceApp { active: false });
    let plan = plan_from(
        "dp_v",
        json!({ "entry_node": "app", "nodes": [
            { "id": "app", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist", "next": "ring" } },
            { "id": "ring", "type": "ring_all_users", "config": { "timeout": 15 } } ] }),
    );
    let mut walker = Walker::new(snapshot);
    assert_eq!(walker.start(plan, at(INSIDE_HOURS)), ring(&["user_alice", "user_bob"], 15));
}

#[test]
fn notify_mode_fires_and_continues_without_answering() {
    let plan = plan_from(
        "dp_n",
        json!({ "entry_node": "tell", "nodes": [
            { "id": "tell", "type": "voice_app", "config": { "voice_app_id": "va_crm", "mode": "notify", "next": "ring" } },
            { "id": "ring", "type": "ring_all_users", "config": { "timeout": 15 } } ] }),
    );
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(plan, at(INSIDE_HOURS)), Step::NotifyVoiceApp { voice_app: "va_crm".into() });
    assert!(!walker.network_answered());
    assert_eq!(
        walker.on_outcome(Outcome::Completed, at(INSIDE_HOURS)).unwrap(),
        ring(&["user_alice", "user_bob"], 15)
    );
}

#[test]
fn an_unanswered_ring_with_an_unwired_next_ends_no_answer_and_busy_ends_busy() {
    let plan = || {
        plan_from(
            "dp_r",
            json!({ "entry_node": "ring", "nodes": [
        { "id": "ring", "type": "internal_dial", "config": { "target": "user_alice", "timeout": 20 } } ] }),
        )
    };
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(plan(), now), ring(&["user_alice"], 20));
    assert_eq!(
        walker.on_outcome(Outcome::NoAnswer, now).unwrap(),
        Step::HangUp { outcome: CallOutcome::NO_ANSWER }
    );
    let mut walker = Walker::new(seed_account());
    walker.start(plan(), now);
    assert_eq!(walker.on_outcome(Outcome::Busy, now).unwrap(), Step::HangUp { outcome: CallOutcome::BUSY });
}

#[test]
fn a_user_on_dnd_counts_as_busy_without_ringing() {
    let plan = plan_from(
        "dp_d",
        json!({ "entry_node": "ring", "nodes": [
        { "id": "ring", "type": "internal_dial", "config": { "target": "user_carol", "next": "app" } },
        { "id": "app", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist" } } ] }),
    );
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(plan, at(INSIDE_HOURS)), ai_receptionist());
}

#[test]
fn the_voicemail_form_of_internal_dial_records_without_ringing() {
    let plan = plan_from(
        "dp_vm",
        json!({ "entry_node": "vm", "nodes": [
        { "id": "vm", "type": "internal_dial", "config": { "target": "user_bob", "timeout": 0 } } ] }),
    );
    let mut walker = Walker::new(seed_account());
    assert_eq!(walker.start(plan, at(INSIDE_HOURS)), Step::Voicemail { mailbox: "user_bob".into() });
    assert_eq!(
        walker.on_outcome(Outcome::Completed, at(INSIDE_HOURS)).unwrap(),
        Step::Done { outcome: CallOutcome::VOICEMAIL }
    );
}

#[test]
fn a_caller_hanging_up_stops_the_walk_as_no_answer() {
    let mut walker = Walker::new(seed_account());
    walker.start(seed_plan(), at(INSIDE_HOURS));
    assert_eq!(
        walker.on_outcome(Outcome::Hangup, at(INSIDE_HOURS)).unwrap(),
        Step::Done { outcome: CallOutcome::NO_ANSWER }
    );
}

#[test]
fn an_outcome_that_does_not_fit_the_step_is_refused_and_changes_nothing() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    walker.start(seed_plan(), now);
    assert_eq!(walker.on_outcome(Outcome::Digit('1'), now), Err(WalkError::Unexpected(Outcome::Digit('1'))));
    assert_eq!(walker.on_outcome(Outcome::NoAnswer, now).unwrap(), ai_receptionist());
}

fn menu_plan() -> DialPlan {
    plan_from(
        "dp_ivr",
        json!({ "entry_node": "menu", "nodes": [
        { "id": "menu", "type": "menu", "config": { "prompt_clip": "clip_ds_menu", "timeout": 5,
          "options": [ { "digit": "1", "next_node": "sales" }, { "digit": "2" } ],
          "timeout_next_node": "bye" } },
        { "id": "sales", "type": "internal_dial", "config": { "target": "user_alice" } },
        { "id": "bye", "type": "hang_up", "config": {} } ] }),
    )
}

#[test]
fn a_menu_key_follows_its_option() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    let prompt = Step::CollectDigits { prompt_clip: "clip_ds_menu".into(), timeout_s: 5 };
    assert_eq!(walker.start(menu_plan(), now), prompt);
    assert!(walker.network_answered(), "a menu answers the call");
    assert_eq!(walker.on_outcome(Outcome::Digit('1'), now).unwrap(), ring(&["user_alice"], 30));
}

#[test]
fn a_menu_replays_on_invalid_keys_at_most_three_times_then_hangs_up() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    let prompt = Step::CollectDigits { prompt_clip: "clip_ds_menu".into(), timeout_s: 5 };
    walker.start(menu_plan(), now);
    // '2' has no next_node and '7' no option: both are invalid keys.
    for key in ['2', '7', '7'].into_iter().take(MAX_MENU_REPLAYS as usize) {
        assert_eq!(walker.on_outcome(Outcome::Digit(key), now).unwrap(), prompt);
    }
    assert!(matches!(walker.on_outcome(Outcome::Digit('7'), now).unwrap(), Step::HangUp { .. }));
}

#[test]
fn a_menu_timeout_takes_the_timeout_exit() {
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(seed_account());
    walker.start(menu_plan(), now);
    let step = walker.on_outcome(Outcome::Timeout, now).unwrap();
    assert_eq!(
        step,
        Step::HangUp { outcome: CallOutcome { status: CallStatus::NoAnswer, hangup_cause: Some(16) } }
    );
}

#[test]
fn a_loop_that_never_waits_is_cut_by_the_step_guard() {
    let mut snapshot = seed_account();
    snapshot.users.clear();
    let plan = plan_from(
        "dp_loop",
        json!({ "entry_node": "a", "nodes": [
        { "id": "a", "type": "ring_all_users", "config": { "timeout": 10, "next": "b" } },
        { "id": "b", "type": "ring_all_users", "config": { "timeout": 10, "next": "a" } } ] }),
    );
    let mut walker = Walker::new(snapshot);
    assert_eq!(walker.start(plan, at(INSIDE_HOURS)), Step::HangUp { outcome: CallOutcome::NO_ANSWER });
}

#[test]
fn a_nested_plan_that_falls_through_returns_to_the_outer_next() {
    let mut snapshot = seed_account();
    let inner = plan_from(
        "dp_inner",
        json!({ "entry_node": "r", "nodes": [
        { "id": "r", "type": "internal_dial", "config": { "target": "user_bob", "timeout": 10 } } ] }),
    );
    snapshot.plans.insert("dp_inner".into(), inner);
    let outer = plan_from(
        "dp_outer",
        json!({ "entry_node": "nested", "nodes": [
        { "id": "nested", "type": "internal_dial", "config": { "target": "dp_inner", "next": "app" } },
        { "id": "app", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist" } } ] }),
    );
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(snapshot);
    assert_eq!(walker.start(outer, now), ring(&["user_bob"], 10));
    assert_eq!(walker.on_outcome(Outcome::NoAnswer, now).unwrap(), ai_receptionist());
}

fn front_desk(action: Option<(TimeoutAction, &str)>) -> RingGroup {
    let member = |id: &str, extension: Option<&str>, phone: Option<&str>| RingGroupMember {
        id: id.into(),
        ring_group_id: "rg_front".into(),
        extension: extension.map(str::to_owned),
        phone_number: phone.map(str::to_owned),
        created_at: String::new(),
    };
    RingGroup {
        id: "rg_front".into(),
        name: "Front desk".into(),
        timeout_seconds: 25,
        ignore_forwarding: false,
        confirm_external: true,
        timeout_action: action.map(|(action, _)| action),
        timeout_target: action.map(|(_, target)| target.to_owned()),
        members: vec![
            member("rgm_1", Some("user_alice"), None),
            member("rgm_2", Some("user_carol"), None),
            member("rgm_3", None, Some("+16175550100")),
            member("rgm_4", Some("dp_elsewhere"), None),
        ],
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn group_plan(config: Value) -> DialPlan {
    plan_from(
        "dp_g",
        json!({ "entry_node": "group", "nodes": [
        { "id": "group", "type": "internal_dial", "config": config },
        { "id": "app", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist" } } ] }),
    )
}

fn group_ring(timeout_s: u32) -> Step {
    Step::RingUsers {
        users: vec!["user_alice".into()],
        phone_numbers: vec!["+16175550100".into()],
        timeout_s,
        confirm_external: true,
    }
}

#[test]
fn a_ring_group_rings_users_and_numbers_at_once_for_the_shorter_of_node_and_group_time() {
    let mut snapshot = seed_account();
    snapshot.ring_groups.insert("rg_front".into(), front_desk(None));
    let mut walker = Walker::new(snapshot.clone());
    // DND members and dial-plan members are skipped (rest.md §10.3 step 1).
    assert_eq!(
        walker.start(
            group_plan(json!({ "target": "rg_front", "timeout": 15, "next": "app" })),
            at(INSIDE_HOURS)
        ),
        group_ring(15)
    );
    let mut walker = Walker::new(snapshot.clone());
    assert_eq!(
        walker.start(
            group_plan(json!({ "target": "rg_front", "timeout": 60, "next": "app" })),
            at(INSIDE_HOURS)
        ),
        group_ring(25)
    );
    let mut walker = Walker::new(snapshot);
    assert_eq!(walker.start(group_plan(json!({ "target": "rg_front" })), at(INSIDE_HOURS)), group_ring(25));
}

#[test]
fn a_ring_group_with_a_wired_next_returns_no_answer_to_the_node() {
    let mut snapshot = seed_account();
    snapshot.ring_groups.insert("rg_front".into(), front_desk(Some((TimeoutAction::Voicemail, "svm_front"))));
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(snapshot);
    walker.start(group_plan(json!({ "target": "rg_front", "next": "app" })), now);
    assert_eq!(
        walker.on_outcome(Outcome::NoAnswer, now).unwrap(),
        ai_receptionist(),
        "next wins over timeout_action"
    );
}

#[test]
fn a_ring_group_without_next_applies_its_timeout_action() {
    let now = at(INSIDE_HOURS);
    let cases = [
        (Some((TimeoutAction::Voicemail, "svm_front")), Step::Voicemail { mailbox: "svm_front".into() }),
        (Some((TimeoutAction::RingUser, "user_bob")), ring(&["user_bob"], 25)),
        (Some((TimeoutAction::Queue, "qu_overflow")), Step::EnterQueue { queue: "qu_overflow".into() }),
        (None, Step::HangUp { outcome: CallOutcome::NO_ANSWER }),
    ];
    for (action, expected) in cases {
        let mut snapshot = seed_account();
        snapshot.ring_groups.insert("rg_front".into(), front_desk(action));
        let mut walker = Walker::new(snapshot);
        assert_eq!(walker.start(group_plan(json!({ "target": "rg_front" })), now), group_ring(25));
        assert_eq!(walker.on_outcome(Outcome::NoAnswer, now).unwrap(), expected, "{action:?}");
    }
}

#[test]
fn a_ring_group_answer_ends_the_walk_connected() {
    let mut snapshot = seed_account();
    snapshot.ring_groups.insert("rg_front".into(), front_desk(None));
    let now = at(INSIDE_HOURS);
    let mut walker = Walker::new(snapshot);
    walker.start(group_plan(json!({ "target": "rg_front" })), now);
    assert_eq!(
        walker.on_outcome(Outcome::Answered, now).unwrap(),
        Step::Done { outcome: CallOutcome::CONNECTED }
    );
}

fn did(routing_target: Option<&str>, inbound_routing: InboundRouting) -> PhoneNumber {
    let mut did = PhoneNumber::new("did_main", "+16175550142", "2026-09-01T12:00:00Z");
    did.routing_target = routing_target.map(str::to_owned);
    did.inbound_routing = inbound_routing;
    did
}

#[test]
fn an_inbound_call_to_an_unknown_number_fails_with_cause_1() {
    let dispatch = dispatch_inbound(
        &[did(None, InboundRouting::Default)],
        "+16175559999",
        seed_account(),
        at(INSIDE_HOURS),
    );
    assert!(matches!(dispatch, Dispatch::UnknownNumber { outcome } if outcome == CallOutcome::failed(1)));
}

#[test]
fn a_dropped_number_rejects_without_ringing() {
    let dispatch = dispatch_inbound(
        &[did(None, InboundRouting::Drop)],
        "+16175550142",
        seed_account(),
        at(INSIDE_HOURS),
    );
    assert!(matches!(dispatch, Dispatch::Dropped { outcome, .. } if outcome.status == CallStatus::Failed));
}

#[test]
fn a_number_without_target_rings_every_user_for_30_s() {
    let dispatch = dispatch_inbound(
        &[did(None, InboundRouting::Default)],
        "+16175550142",
        seed_account(),
        at(INSIDE_HOURS),
    );
    let Dispatch::Routed { first, user, mut walker, .. } = dispatch else { panic!("routed") };
    assert_eq!(first, ring(&["user_alice", "user_bob"], 30));
    assert_eq!(user, None);
    assert_eq!(
        walker.on_outcome(Outcome::NoAnswer, at(INSIDE_HOURS)).unwrap(),
        Step::HangUp { outcome: CallOutcome::NO_ANSWER }
    );
}

#[test]
fn a_number_routed_to_a_user_rings_30_s_then_goes_to_their_voicemail() {
    let dispatch = dispatch_inbound(
        &[did(Some("user_alice"), InboundRouting::Default)],
        "+16175550142",
        seed_account(),
        at(INSIDE_HOURS),
    );
    let Dispatch::Routed { first, user, mut walker, .. } = dispatch else { panic!("routed") };
    assert_eq!(user.as_deref(), Some("user_alice"), "call.incoming names the user");
    assert_eq!(first, ring(&["user_alice"], 30));
    assert_eq!(
        walker.on_outcome(Outcome::NoAnswer, at(INSIDE_HOURS)).unwrap(),
        Step::Voicemail { mailbox: "user_alice".into() }
    );
}

#[test]
fn a_number_routed_to_the_seed_plan_walks_it() {
    let mut snapshot = seed_account();
    snapshot.plans.insert("dp_main".into(), seed_plan());
    let dispatch = dispatch_inbound(
        &[did(Some("dp_main"), InboundRouting::Default)],
        "+16175550142",
        snapshot,
        at(OUTSIDE_HOURS),
    );
    let Dispatch::Routed { first, .. } = dispatch else { panic!("routed") };
    assert_eq!(first, ai_receptionist());
}

#[test]
fn a_number_routed_to_a_voice_app_has_no_fallback() {
    let mut snapshot = seed_account();
    snapshot.voice_apps.clear();
    let mut walker = Walker::new(snapshot);
    assert_eq!(
        walker.start_target(Some("va_ai_receptionist"), at(INSIDE_HOURS)),
        Step::HangUp { outcome: CallOutcome::failed(cause::CALL_REJECTED) }
    );
}
