//! `ds_local::routing`: inbound calls routed through configuration created over the API
//! (rest.md §12), the entry point the signalling hub calls.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::{KEY, Platform};
use ds_local::routing::{account_of_number, resolve_extension, route_inbound, route_target};
use ds_routing::walker::Dispatch;
use ds_routing::{CallOutcome, Outcome, Step};
use serde_json::{Value, json};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Tuesday 2026-09-15 10:00 / 20:00 New York.
const INSIDE_HOURS: &str = "2026-09-15T14:00:00Z";
const OUTSIDE_HOURS: &str = "2026-09-16T00:00:00Z";

fn seed_plan(schedule_id: &str) -> Value {
    json!({ "name": "Main number", "entry_node": "hours", "nodes": [
        { "id": "hours", "type": "schedule",
          "config": { "schedule_id": schedule_id, "open": "ring_team", "closed": "ai_reception" } },
        { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
        { "id": "ai_reception", "type": "internal_dial", "config": { "target_id": "va_ai_receptionist" } } ] })
}

struct Seeded {
    platform: Platform,
    account: String,
    users: Vec<String>,
}

/// An account with two users, business hours Mon–Fri 09:00–17:00 New York, the seed plan using
/// that schedule, and +16175550142 routed to the plan — all through the REST API.
async fn seeded(schedule_from_seed_verbatim: bool) -> Seeded {
    let platform = Platform::new().await;
    let account = platform.create_account("contact@joneschiro.com").await;
    let users =
        vec![platform.create_user(&account, "Alice").await, platform.create_user(&account, "Bob").await];
    let ranges: Vec<Value> =
        (1..=5).map(|day| json!({ "day": day, "start": "09:00", "end": "17:00" })).collect();
    let schedule = platform
        .post(
            "/v1/schedules",
            KEY,
            Some(&account),
            json!({ "name": "Business hours", "timezone": "America/New_York", "ranges": ranges }),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::OK, "{}", schedule.text);
    let schedule_id = if schedule_from_seed_verbatim {
        "sch_business_hours"
    } else {
        schedule.body["id"].as_str().unwrap()
    };
    // The seed's AI receptionist, with its seed id (rest.md §19.3): routing only hands calls
    // to voice apps that exist and are active.
    let fixtures = platform
        .post(
            "/_ds/fixtures",
            KEY,
            None,
            json!({ "account": account, "objects": [{ "kind": "voice_app", "id": "va_ai_receptionist",
                     "name": "AI receptionist", "url": "https://receptionist.test/hook" }] }),
        )
        .await;
    assert_eq!(fixtures.status, StatusCode::OK, "{}", fixtures.text);
    let plan = platform.post("/v1/dialplans", KEY, Some(&account), seed_plan(schedule_id)).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    sqlx::query("INSERT INTO dids (id, account_id, phone_number, created_at) VALUES ('did_main', ?, '+16175550142', 0)")
        .bind(&account)
        .execute(platform.state.db())
        .await
        .unwrap();
    let routed = platform
        .post(
            "/v1/phone-numbers/did_main/route",
            KEY,
            Some(&account),
            json!({ "routing_target": plan.body["id"] }),
        )
        .await;
    assert_eq!(routed.status, StatusCode::OK, "{}", routed.text);
    Seeded { platform, account, users }
}

#[tokio::test]
async fn an_inbound_call_inside_hours_rings_the_team_for_25_s_then_reaches_the_ai_receptionist() {
    let seeded = seeded(false).await;
    let state = &seeded.platform.state;
    assert_eq!(
        account_of_number(state, "+16175550142").await.unwrap().as_deref(),
        Some(seeded.account.as_str())
    );
    let dispatch = route_inbound(state, &seeded.account, "+16175550142", at(INSIDE_HOURS)).await.unwrap();
    let Dispatch::Routed { did, user, mut walker, first } = dispatch else { panic!("the call is routed") };
    assert_eq!(did, "did_main");
    assert_eq!(user, None);
    assert_eq!(
        first,
        Step::RingUsers {
            users: seeded.users.clone(),
            phone_numbers: vec![],
            timeout_s: 25,
            confirm_external: false
        }
    );
    let next = walker.on_outcome(Outcome::NoAnswer, at("2026-09-15T14:00:25Z")).unwrap();
    assert_eq!(next, Step::ConnectVoiceApp { voice_app: "va_ai_receptionist".into() });
    let done = walker.on_outcome(Outcome::Answered, at("2026-09-15T14:00:26Z")).unwrap();
    assert_eq!(done, Step::Done { outcome: CallOutcome::CONNECTED });
}

#[tokio::test]
async fn an_inbound_call_outside_hours_goes_straight_to_the_ai_receptionist() {
    let seeded = seeded(false).await;
    let dispatch = route_inbound(&seeded.platform.state, &seeded.account, "+16175550142", at(OUTSIDE_HOURS))
        .await
        .unwrap();
    let Dispatch::Routed { first, .. } = dispatch else { panic!("the call is routed") };
    assert_eq!(first, Step::ConnectVoiceApp { voice_app: "va_ai_receptionist".into() });
}

#[tokio::test]
async fn the_verbatim_seed_plan_treats_its_missing_schedule_as_closed() {
    // `sch_business_hours` is saved as a reference but no such schedule exists in the account.
    let seeded = seeded(true).await;
    let dispatch = route_inbound(&seeded.platform.state, &seeded.account, "+16175550142", at(INSIDE_HOURS))
        .await
        .unwrap();
    let Dispatch::Routed { first, .. } = dispatch else { panic!("the call is routed") };
    assert_eq!(first, Step::ConnectVoiceApp { voice_app: "va_ai_receptionist".into() });
}

#[tokio::test]
async fn a_user_on_do_not_disturb_is_not_rung_by_the_team_ring() {
    let seeded = seeded(false).await;
    let reply = seeded
        .platform
        .post(
            &format!("/v1/users/{}", seeded.users[0]),
            KEY,
            Some(&seeded.account),
            json!({ "do_not_disturb": true }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let dispatch = route_inbound(&seeded.platform.state, &seeded.account, "+16175550142", at(INSIDE_HOURS))
        .await
        .unwrap();
    let Dispatch::Routed { first, .. } = dispatch else { panic!("the call is routed") };
    assert!(matches!(first, Step::RingUsers { users, .. } if users == vec![seeded.users[1].clone()]));
}

#[tokio::test]
async fn unknown_and_dropped_numbers_are_rejected_and_other_accounts_numbers_are_unknown() {
    let seeded = seeded(false).await;
    let state = &seeded.platform.state;
    let unknown = route_inbound(state, &seeded.account, "+16175559999", at(INSIDE_HOURS)).await.unwrap();
    assert!(matches!(unknown, Dispatch::UnknownNumber { outcome } if outcome == CallOutcome::failed(1)));
    let other = seeded.platform.create_account("other@c.test").await;
    let foreign = route_inbound(state, &other, "+16175550142", at(INSIDE_HOURS)).await.unwrap();
    assert!(matches!(foreign, Dispatch::UnknownNumber { .. }), "a number is only routed in its own account");
    let dropped = seeded
        .platform
        .post(
            "/v1/phone-numbers/did_main/route",
            KEY,
            Some(&seeded.account),
            json!({ "inbound_routing": "drop" }),
        )
        .await;
    assert_eq!(dropped.status, StatusCode::OK);
    let dispatch = route_inbound(state, &seeded.account, "+16175550142", at(INSIDE_HOURS)).await.unwrap();
    assert!(matches!(dispatch, Dispatch::Dropped { .. }));
}

#[tokio::test]
async fn an_extension_resolves_to_its_target_and_a_user_target_rings_then_goes_to_voicemail() {
    let seeded = seeded(false).await;
    let state = &seeded.platform.state;
    let alice = &seeded.users[0];
    let reply = seeded
        .platform
        .post("/v1/extensions", KEY, Some(&seeded.account), json!({ "number": "101", "target": alice }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let target = resolve_extension(state, &seeded.account, "101").await.unwrap().unwrap();
    assert_eq!(&target, alice);
    assert_eq!(resolve_extension(state, &seeded.account, "999").await.unwrap(), None);
    let (mut walker, first) = route_target(state, &seeded.account, &target, at(INSIDE_HOURS)).await.unwrap();
    assert_eq!(
        first,
        Step::RingUsers {
            users: vec![alice.clone()],
            phone_numbers: vec![],
            timeout_s: 30,
            confirm_external: false
        }
    );
    let next = walker.on_outcome(Outcome::NoAnswer, at(INSIDE_HOURS)).unwrap();
    assert_eq!(next, Step::Voicemail { mailbox: alice.clone() });
}

#[tokio::test]
async fn a_ring_group_target_rings_its_members_for_the_group_time() {
    let seeded = seeded(false).await;
    let platform = &seeded.platform;
    let group = platform
        .post("/v1/ring_groups", KEY, Some(&seeded.account), json!({ "name": "Desk", "timeout_seconds": 15 }))
        .await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    let members = format!("/v1/ring_groups/{id}/members");
    platform.post(&members, KEY, Some(&seeded.account), json!({ "extension": seeded.users[1] })).await;
    platform.post(&members, KEY, Some(&seeded.account), json!({ "phone_number": "+16175550100" })).await;
    let (mut walker, first) =
        route_target(&platform.state, &seeded.account, &id, at(INSIDE_HOURS)).await.unwrap();
    assert_eq!(
        first,
        Step::RingUsers {
            users: vec![seeded.users[1].clone()],
            phone_numbers: vec!["+16175550100".into()],
            timeout_s: 15,
            confirm_external: false
        }
    );
    let end = walker.on_outcome(Outcome::NoAnswer, at(INSIDE_HOURS)).unwrap();
    assert_eq!(end, Step::HangUp { outcome: CallOutcome::NO_ANSWER });
}
