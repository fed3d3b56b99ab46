//! Dial-plan validation (rest.md §9.4) and the seed example (rest.md §9.6, direct-api.txt).

use ds_routing::plan::{self, PlanProblem, ReferenceCheck, RoutingLookup};
use ds_routing::{NoLookup, NodeKind};
use serde_json::{Value, json};

/// The dial plan of direct-api.txt, verbatim.
fn seed_plan() -> Value {
    json!({
        "name": "Main number",
        "entry_node": "hours",
        "nodes": [
            { "id": "hours", "type": "schedule",
              "config": { "schedule_id": "sch_business_hours", "open": "ring_team", "closed": "ai_reception" } },
            { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
            { "id": "ai_reception", "type": "internal_dial", "config": { "target_id": "va_ai_receptionist" } }
        ]
    })
}

/// An account that has exactly the seed's schedule and voice app.
struct SeedAccount;

impl RoutingLookup for SeedAccount {
    fn schedule_exists(&self, id: &str) -> bool {
        id == "sch_business_hours"
    }
    fn target_exists(&self, id: &str) -> bool {
        id == "va_ai_receptionist"
    }
    fn is_ai_agent_voice_app(&self, id: &str) -> bool {
        id == "va_ai_receptionist"
    }
}

fn check(body: &Value) -> Result<(String, Vec<ds_routing::Node>), plan::PlanError> {
    plan::validate(body.get("entry_node"), body.get("nodes"), None, &NoLookup, ReferenceCheck::PrefixOnly)
}

fn refused(body: Value) -> plan::PlanError {
    check(&body).expect_err("the plan must be refused")
}

#[test]
fn seed_plan_validates_as_written_and_echoes_both_key_spellings() {
    let body = seed_plan();
    let (entry, nodes) = check(&body).unwrap();
    assert_eq!(entry, "hours");
    assert_eq!(nodes.len(), 3);
    assert!(
        matches!(&nodes[2].kind, NodeKind::InternalDial { target, timeout: None, next: None } if target == "va_ai_receptionist")
    );
    let echoed: Vec<Value> = nodes.iter().map(ds_routing::Node::to_json).collect();
    assert_eq!(echoed[0]["config"]["schedule"], "sch_business_hours");
    assert_eq!(echoed[0]["config"]["schedule_id"], "sch_business_hours");
    assert_eq!(
        echoed[1],
        json!({ "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } })
    );
    assert_eq!(echoed[2]["type"], "internal_dial", "the legacy voice-app form is stored as sent");
    assert_eq!(echoed[2]["config"]["target"], "va_ai_receptionist");
    assert_eq!(echoed[2]["config"]["target_id"], "va_ai_receptionist");
}

#[test]
fn seed_plan_also_validates_when_references_must_exist_in_the_account() {
    let body = seed_plan();
    let validated = plan::validate(
        body.get("entry_node"),
        body.get("nodes"),
        None,
        &SeedAccount,
        ReferenceCheck::MustExist,
    );
    assert!(validated.is_ok(), "{validated:?}");
}

#[test]
fn spec_seed_form_with_a_sched_id_and_the_canonical_voice_app_node_validates() {
    let body = json!({ "name": "Main line", "entry_node": "hours", "nodes": [
        { "id": "hours", "type": "schedule",
          "config": { "schedule_id": "sched_01k1n8d0f2h4k6m8p0r2t4w6y8", "open": "ring_team", "closed": "ai_reception" } },
        { "id": "ring_team", "type": "ring_all_users", "config": { "timeout": 25, "next": "ai_reception" } },
        { "id": "ai_reception", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist", "mode": "control" },
          "position": { "x": 10, "y": 20 } } ] });
    let (_, nodes) = check(&body).unwrap();
    assert_eq!(nodes[2].to_json()["position"], json!({ "x": 10, "y": 20 }), "position is echoed untouched");
}

#[test]
fn a_dangling_next_is_refused_naming_the_node_pointer_and_the_missing_id() {
    let mut body = seed_plan();
    body["nodes"][1]["config"]["next"] = json!("ring_teem");
    let error = refused(body);
    assert_eq!(error.pointer, "/nodes/1/config/next");
    assert_eq!(error.node.as_deref(), Some("ring_team"));
    assert_eq!(error.problem, PlanProblem::UnknownNode("ring_teem".into()));
    assert_eq!(error.to_string(), "/nodes/1/config/next: references unknown node \"ring_teem\"");
}

#[test]
fn an_unknown_entry_node_is_refused() {
    let mut body = seed_plan();
    body["entry_node"] = json!("hourz");
    let error = refused(body);
    assert_eq!(error.pointer, "/entry_node");
    assert_eq!(error.problem, PlanProblem::UnknownNode("hourz".into()));
}

#[test]
fn an_entry_node_with_bad_characters_is_refused() {
    let mut body = seed_plan();
    body["entry_node"] = json!("hours!");
    assert_eq!(refused(body).problem, PlanProblem::BadNodeId);
}

#[test]
fn an_empty_node_list_is_refused() {
    let error = refused(json!({ "entry_node": "a", "nodes": [] }));
    assert_eq!(error.to_string(), "/nodes: must have at least one item");
}

#[test]
fn an_unknown_node_type_is_refused_naming_the_node() {
    let mut body = seed_plan();
    body["nodes"][2]["type"] = json!("fax_to_email");
    let error = refused(body);
    assert_eq!(error.pointer, "/nodes/2/type");
    assert_eq!(error.node.as_deref(), Some("ai_reception"));
    assert_eq!(error.problem, PlanProblem::UnknownType("fax_to_email".into()));
}

#[test]
fn duplicate_node_ids_are_refused() {
    let mut body = seed_plan();
    body["nodes"][1]["id"] = json!("hours");
    let error = refused(body);
    assert_eq!(error.pointer, "/nodes/1/id");
    assert_eq!(error.problem, PlanProblem::DuplicateNodeId("hours".into()));
}

#[test]
fn a_self_loop_is_refused_except_on_a_menu() {
    let mut body = seed_plan();
    body["nodes"][1]["config"]["next"] = json!("ring_team");
    let error = refused(body);
    assert_eq!(error.pointer, "/nodes/1/config/next");
    assert_eq!(error.problem, PlanProblem::SelfLoop("ring_all_users"));

    let menu = json!({ "entry_node": "m", "nodes": [
        { "id": "m", "type": "menu", "config": { "prompt_clip": "clip_ds_menu", "timeout": 5,
          "options": [ { "digit": "1", "next_node": "bye" }, { "digit": "9", "next_node": "m", "label": "repeat" } ],
          "invalid_next_node": "m" } },
        { "id": "bye", "type": "hang_up", "config": {} } ] });
    assert!(check(&menu).is_ok(), "a menu may point at itself");
}

#[test]
fn longer_cycles_and_unreachable_nodes_are_allowed() {
    let body = json!({ "entry_node": "a", "nodes": [
        { "id": "a", "type": "ring_all_users", "config": { "timeout": 10, "next": "b" } },
        { "id": "b", "type": "audio_clip", "config": { "clip": "clip_ds_closed", "next": "a" } },
        { "id": "orphan", "type": "hang_up" } ] });
    assert!(check(&body).is_ok());
}

#[test]
fn a_missing_schedule_reference_is_refused_with_the_key_the_editor_uses() {
    let mut body = seed_plan();
    body["nodes"][0]["config"] = json!({ "open": "ring_team" });
    let error = refused(body.clone());
    assert_eq!(error.to_string(), "/nodes/0/config/schedule_id: is required");
    body["nodes"][0]["config"] = json!({ "schedule_id": "", "open": "ring_team" });
    assert_eq!(refused(body).to_string(), "/nodes/0/config/schedule_id: must not be empty");
}

#[test]
fn references_with_the_wrong_prefix_are_refused() {
    let mut body = seed_plan();
    body["nodes"][2]["config"] = json!({ "target_id": "acct_01k1n3p5r7t9v1w3x5y7z9a1b3" });
    let error = refused(body.clone());
    assert_eq!(error.pointer, "/nodes/2/config/target_id");
    assert!(matches!(error.problem, PlanProblem::WrongPrefix(..)));
    body["nodes"][0]["config"]["schedule_id"] = json!("dp_1");
    assert_eq!(refused(body).pointer, "/nodes/0/config/schedule_id");
}

#[test]
fn out_of_range_timeouts_and_bad_numbers_are_refused() {
    let ring = |timeout: Value| {
        json!({ "entry_node": "a", "nodes": [
        { "id": "a", "type": "ring_all_users", "config": { "timeout": timeout } } ] })
    };
    assert_eq!(refused(ring(json!(0))).problem, PlanProblem::OutOfRange { min: 1, max: 300 });
    assert_eq!(refused(ring(json!(301))).problem, PlanProblem::OutOfRange { min: 1, max: 300 });
    assert_eq!(refused(ring(json!(-1))).pointer, "/nodes/0/config/timeout");
    assert_eq!(refused(ring(json!("25"))).pointer, "/nodes/0/config/timeout");
    let dial = json!({ "entry_node": "a", "nodes": [
        { "id": "a", "type": "external_dial", "config": { "phone_number": "617-555-1234", "timeout": 30 } } ] });
    let error = refused(dial);
    assert_eq!(error.pointer, "/nodes/0/config/phone_number");
    assert_eq!(error.problem, PlanProblem::BadPhoneNumber);
}

#[test]
fn menu_options_are_checked() {
    let menu = |options: Value| {
        json!({ "entry_node": "m", "nodes": [
        { "id": "m", "type": "menu", "config": { "prompt_clip_id": "clip_ds_menu", "timeout": 5, "options": options } } ] })
    };
    assert_eq!(refused(menu(json!([]))).problem, PlanProblem::OutOfRange { min: 1, max: 12 });
    let duplicate = refused(menu(json!([{ "digit": "1" }, { "digit": "1" }])));
    assert_eq!(duplicate.pointer, "/nodes/0/config/options/1/digit");
    assert_eq!(refused(menu(json!([{ "digit": "12" }]))).problem, PlanProblem::BadDigit);
    let long = refused(menu(json!([{ "digit": "1", "label": "a label that is far too long" }])));
    assert_eq!(long.problem, PlanProblem::LabelTooLong);
    let dangling = refused(menu(json!([{ "digit": "1", "next_node": "nowhere" }])));
    assert_eq!(dangling.pointer, "/nodes/0/config/options/0/next_node");
}

#[test]
fn an_internal_dial_may_not_target_its_own_plan() {
    let body = json!({ "entry_node": "a", "nodes": [
        { "id": "a", "type": "internal_dial", "config": { "target": "dp_self" } } ] });
    let error = plan::validate(
        body.get("entry_node"),
        body.get("nodes"),
        Some("dp_self"),
        &NoLookup,
        ReferenceCheck::PrefixOnly,
    )
    .unwrap_err();
    assert_eq!(error.problem, PlanProblem::TargetsOwnPlan("dp_self".into()));
}

#[test]
fn unknown_references_are_refused_only_when_existence_is_required() {
    let body = json!({ "entry_node": "hours", "nodes": [
        { "id": "hours", "type": "schedule", "config": { "schedule": "sched_missing", "closed": "app" } },
        { "id": "app", "type": "voice_app", "config": { "voice_app_id": "va_ai_receptionist" } } ] });
    let strict = plan::validate(
        body.get("entry_node"),
        body.get("nodes"),
        None,
        &SeedAccount,
        ReferenceCheck::MustExist,
    );
    let error = strict.unwrap_err();
    assert_eq!(error.pointer, "/nodes/0/config/schedule");
    assert_eq!(error.problem, PlanProblem::UnknownReference { kind: "schedule", id: "sched_missing".into() });
    assert!(check(&body).is_ok(), "rest.md §9.4 rule 7: existence is not required at save time");
}

#[test]
fn notify_mode_on_an_ai_agent_voice_app_is_unprocessable() {
    let body = json!({ "entry_node": "n", "nodes": [
        { "id": "n", "type": "voice_app", "config": { "voice_app": "va_ai_receptionist", "mode": "notify", "next": "bye" } },
        { "id": "bye", "type": "hang_up" } ] });
    let error = plan::validate(
        body.get("entry_node"),
        body.get("nodes"),
        None,
        &SeedAccount,
        ReferenceCheck::PrefixOnly,
    )
    .unwrap_err();
    assert!(error.is_unprocessable());
    assert_eq!(error.node.as_deref(), Some("n"));
    assert_eq!(
        error.to_string(),
        "voice_app notify mode is not supported on AI agent voice apps: [va_ai_receptionist]"
    );
}

#[test]
fn sound_clip_is_accepted_and_stored_under_its_legacy_name() {
    let body = json!({ "entry_node": "c", "nodes": [
        { "id": "c", "type": "sound_clip", "config": { "clip_id": "clip_ds_greeting" } } ] });
    let (_, nodes) = check(&body).unwrap();
    let echoed = nodes[0].to_json();
    assert_eq!(echoed["type"], "sound_clip");
    assert_eq!(echoed["config"], json!({ "clip": "clip_ds_greeting", "clip_id": "clip_ds_greeting" }));
}

#[test]
fn a_holiday_key_set_to_null_is_kept_and_routes_like_absent() {
    let body = json!({ "entry_node": "h", "nodes": [
        { "id": "h", "type": "schedule", "config": { "schedule": "sched_1", "open": "x", "closed": "x", "holiday": null } },
        { "id": "x", "type": "hang_up" } ] });
    let (_, nodes) = check(&body).unwrap();
    assert!(matches!(nodes[0].kind, NodeKind::Schedule { holiday: Some(None), .. }));
    assert_eq!(nodes[0].to_json()["config"]["holiday"], Value::Null);
}

#[test]
fn a_stored_plan_round_trips_through_serde() {
    let body = seed_plan();
    let (entry_node, nodes) = check(&body).unwrap();
    let plan = ds_routing::DialPlan {
        id: "dp_1".into(),
        name: "Main number".into(),
        entry_node,
        nodes,
        created_at: "2026-09-01T12:00:00Z".into(),
        updated_at: "2026-09-01T12:00:00Z".into(),
    };
    let text = serde_json::to_string(&plan).unwrap();
    let back: ds_routing::DialPlan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
}
