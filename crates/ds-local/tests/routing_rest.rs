//! Routing configuration over REST (rest.md §5–§10): the seed dial plan verbatim, refusals that
//! name node and problem, schedules, ring groups, extensions, phone numbers, account isolation.

mod common;

use axum::http::{Method, StatusCode};
use common::{KEY, Platform};
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

/// Inserts a provisioned number the way number ordering would (ordering is not built yet).
pub async fn provision_number(platform: &Platform, account: &str, id: &str, number: &str) {
    sqlx::query("INSERT INTO dids (id, account_id, phone_number, created_at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(account)
        .bind(number)
        .bind(1_788_271_200_000_i64)
        .execute(platform.state.db())
        .await
        .unwrap();
}

#[tokio::test]
async fn seed_dial_plan_is_created_verbatim_with_the_api_key_and_account_header() {
    let platform = Platform::new().await;
    let account = platform.create_account("contact@joneschiro.com").await;
    let reply = platform.post("/v1/dialplans", KEY, Some(&account), seed_plan()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let plan = &reply.body;
    let id = plan["id"].as_str().unwrap();
    assert!(id.starts_with("dp_"), "{id}");
    assert_eq!(plan["name"], "Main number");
    assert_eq!(plan["entry_node"], "hours");
    assert!(plan["created_at"].as_str().unwrap().ends_with('Z'));
    let hours = &plan["nodes"][0]["config"];
    assert_eq!(hours["schedule"], "sch_business_hours");
    assert_eq!(hours["schedule_id"], "sch_business_hours");
    assert_eq!(hours["open"], "ring_team");
    assert_eq!(
        plan["nodes"][1],
        json!({ "id": "ring_team", "type": "ring_all_users",
        "config": { "timeout": 25, "next": "ai_reception" } })
    );
    assert_eq!(plan["nodes"][2]["type"], "internal_dial");
    assert_eq!(plan["nodes"][2]["config"]["target"], "va_ai_receptionist");
    assert_eq!(plan["nodes"][2]["config"]["target_id"], "va_ai_receptionist");

    let fetched = platform.get(&format!("/v1/dialplans/{id}"), KEY, Some(&account)).await;
    assert_eq!(fetched.body, reply.body);
    let listed = platform.get("/v1/dialplans", KEY, Some(&account)).await;
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["url"], "/v1/dialplans");
    assert_eq!(listed.body["data"][0]["id"], id);
}

#[tokio::test]
async fn an_account_session_can_create_and_read_dial_plans() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let session = platform.session(&account).await;
    let reply = platform.post("/v1/dialplans", &session, None, seed_plan()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let listed = platform.get("/v1/dialplans", &session, None).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_dial_plans_are_refused_with_a_pointer_naming_node_and_problem() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let mut dangling = seed_plan();
    dangling["nodes"][1]["config"]["next"] = json!("ring_teem");
    let reply = platform.post("/v1/dialplans", KEY, Some(&account), dangling).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.error_code(), "validation_error");
    assert_eq!(reply.body["error"], "/nodes/1/config/next: references unknown node \"ring_teem\"");
    assert_eq!(reply.body["details"]["/nodes/1/config/next"], "references unknown node \"ring_teem\"");
    assert_eq!(reply.body["details"]["node"], "ring_team");

    let cases = [
        (json!({ "name": "x", "entry_node": "a", "nodes": [] }), "/nodes: must have at least one item"),
        (
            json!({ "name": "x", "entry_node": "a b", "nodes": [{ "id": "a", "type": "hang_up" }] }),
            "/entry_node: must match",
        ),
        (
            json!({ "name": "x", "entry_node": "nope", "nodes": [{ "id": "a", "type": "hang_up" }] }),
            "/entry_node: references unknown node \"nope\"",
        ),
        (
            json!({ "name": "x", "entry_node": "a", "nodes": [{ "id": "a", "type": "teleport", "config": {} }] }),
            "/nodes/0/type: unknown node type \"teleport\"",
        ),
        (
            json!({ "name": "x", "entry_node": "a", "nodes": [{ "id": "a", "type": "ring_all_users", "config": { "timeout": 10, "next": "a" } }] }),
            "/nodes/0/config/next: a ring_all_users node may not exit to itself",
        ),
        (
            json!({ "name": "x", "entry_node": "a", "nodes": [{ "id": "a", "type": "schedule", "config": { "schedule_id": "" } }] }),
            "/nodes/0/config/schedule_id: must not be empty",
        ),
        (
            json!({ "name": "x", "entry_node": "a", "nodes": [{ "id": "a", "type": "internal_dial", "config": { "target_id": "acct_1" } }] }),
            "/nodes/0/config/target_id: \"acct_1\" must start with",
        ),
        (
            json!({ "name": "x", "entry_node": "a", "nodes": [{ "id": "a", "type": "external_dial", "config": { "phone_number": "555", "timeout": 30 } }] }),
            "/nodes/0/config/phone_number: must be a valid E.164 phone number",
        ),
        (json!({ "entry_node": "a", "nodes": [{ "id": "a", "type": "hang_up" }] }), "/name: is required"),
    ];
    for (body, expected) in cases {
        let reply = platform.post("/v1/dialplans", KEY, Some(&account), body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.error_code(), "validation_error");
        let message = reply.body["error"].as_str().unwrap();
        assert!(message.starts_with(expected), "{message:?} should start with {expected:?}");
    }
    let broken = platform.call(Method::POST, "/v1/dialplans", Some(KEY), Some(&account), None).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    let listed = platform.get("/v1/dialplans", KEY, Some(&account)).await;
    assert_eq!(listed.body["data"], json!([]), "nothing refused was stored");
}

#[tokio::test]
async fn an_update_that_breaks_the_graph_is_refused_and_the_plan_is_unchanged() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let created = platform.post("/v1/dialplans", KEY, Some(&account), seed_plan()).await;
    let path = format!("/v1/dialplans/{}", created.body["id"].as_str().unwrap());
    let refused = platform.post(&path, KEY, Some(&account), json!({ "entry_node": "ring_team_2" })).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"], "/entry_node: references unknown node \"ring_team_2\"");
    let self_target = json!({ "nodes": [{ "id": "a", "type": "internal_dial",
        "config": { "target": created.body["id"] } }], "entry_node": "a" });
    let refused = platform.post(&path, KEY, Some(&account), self_target).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .starts_with("/nodes/0/config/target: an internal_dial may not target its own plan")
    );
    assert_eq!(platform.get(&path, KEY, Some(&account)).await.body, created.body);

    // The editor's update shape: {entry_node, nodes} without name; nodes replace the graph.
    let editor = json!({ "entry_node": "only", "nodes": [{ "id": "only", "type": "hang_up", "position": { "x": 1, "y": 2 } }] });
    let updated = platform.post(&path, KEY, Some(&account), editor).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["name"], "Main number");
    assert_eq!(
        updated.body["nodes"],
        json!([{ "id": "only", "type": "hang_up", "config": {}, "position": { "x": 1, "y": 2 } }])
    );
    assert_eq!(updated.body["created_at"], created.body["created_at"]);
}

#[tokio::test]
async fn routing_objects_of_one_account_are_invisible_to_another() {
    let platform = Platform::new().await;
    let alpha = platform.create_account("a@c.test").await;
    let beta = platform.create_account("b@c.test").await;
    let plan = platform.post("/v1/dialplans", KEY, Some(&alpha), seed_plan()).await;
    let plan_path = format!("/v1/dialplans/{}", plan.body["id"].as_str().unwrap());
    let schedule =
        platform.post("/v1/schedules", KEY, Some(&alpha), json!({ "name": "Hours", "ranges": [] })).await;
    let schedule_path = format!("/v1/schedules/{}", schedule.body["id"].as_str().unwrap());
    let group = platform.post("/v1/ring_groups", KEY, Some(&alpha), json!({ "name": "Desk" })).await;
    let group_path = format!("/v1/ring_groups/{}", group.body["id"].as_str().unwrap());
    provision_number(&platform, &alpha, "did_alpha", "+16175550142").await;

    for path in
        [plan_path.as_str(), schedule_path.as_str(), group_path.as_str(), "/v1/phone-numbers/did_alpha"]
    {
        let read = platform.get(path, KEY, Some(&beta)).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{path}: {}", read.text);
        assert_eq!(read.error_code(), "resource_missing");
        let update = platform.post(path, KEY, Some(&beta), json!({ "name": "stolen" })).await;
        assert_eq!(update.status, StatusCode::NOT_FOUND, "{path}");
        if !path.starts_with("/v1/phone-numbers") {
            let delete = platform.call(Method::DELETE, path, Some(KEY), Some(&beta), None).await;
            assert_eq!(delete.status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    let routed = platform
        .post("/v1/phone-numbers/did_alpha/route", KEY, Some(&beta), json!({ "routing_target": null }))
        .await;
    assert_eq!(routed.status, StatusCode::NOT_FOUND);
    for list in ["/v1/dialplans", "/v1/schedules", "/v1/ring_groups", "/v1/phone-numbers", "/v1/extensions"] {
        let listed = platform.get(list, KEY, Some(&beta)).await;
        assert_eq!(listed.status, StatusCode::OK, "{list}");
        assert_eq!(listed.body["data"], json!([]), "{list}");
    }
    // Beta cannot point its extension or number at alpha's plan either.
    let extension = platform
        .post("/v1/extensions", KEY, Some(&beta), json!({ "number": "200", "target": plan.body["id"] }))
        .await;
    assert_eq!(extension.status, StatusCode::NOT_FOUND);
    let session = platform.session(&beta).await;
    assert_eq!(platform.get(&plan_path, &session, None).await.status, StatusCode::NOT_FOUND);
    let header_missing = platform.get("/v1/dialplans", KEY, None).await;
    assert_eq!(header_missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(header_missing.error_code(), "account_header_required");
    let no_auth = platform.call(Method::GET, "/v1/schedules", None, Some(&alpha), None).await;
    assert_eq!(no_auth.status, StatusCode::UNAUTHORIZED);
    let user = platform.create_user(&alpha, "Alice").await;
    let user_token = platform.user_token(&user).await;
    assert_eq!(platform.get("/v1/dialplans", &user_token, None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn schedules_default_to_the_account_zone_validate_every_field_and_cannot_be_deleted_in_use() {
    let platform = Platform::new().await;
    let reply = platform
        .post(
            "/v1/accounts",
            KEY,
            None,
            json!({ "email": "o@c.test", "config": { "timezone": "America/New_York" } }),
        )
        .await;
    let account = reply.body["id"].as_str().unwrap().to_owned();
    let front_desk = json!({ "name": "Front desk hours",
        "ranges": [ {"day":1,"start":"08:30","end":"12:00"}, {"day":5,"start":"22:00","end":"02:00"} ],
        "holidays": [ {"start":"2026-12-24","end":"2026-12-26"} ], "unknown": true });
    let created = platform.post("/v1/schedules", KEY, Some(&account), front_desk).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sched_"));
    assert_eq!(created.body["timezone"], "America/New_York");
    assert!(created.body.get("unknown").is_none(), "unknown keys are not echoed");
    assert_eq!(created.body["ranges"][1], json!({"day":5,"start":"22:00","end":"02:00"}));

    let bad = platform
        .post(
            "/v1/schedules",
            KEY,
            Some(&account),
            json!({ "name": "Bad", "timezone": "Mars/Base",
            "ranges": [ {"day":9,"start":"08:30","end":"24:01"} ] }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "validation_error");
    let details = bad.body["details"].as_object().unwrap();
    for key in ["timezone", "ranges[0].day", "ranges[0].end"] {
        assert!(details.contains_key(key), "{key} missing from {details:?}");
    }
    let missing = platform.post("/v1/schedules", KEY, Some(&account), json!({ "name": "No ranges" })).await;
    assert_eq!(missing.body["error"], "ranges: is required");

    let path = format!("/v1/schedules/{id}");
    let updated = platform.post(&path, KEY, Some(&account), json!({ "name": "Desk", "holidays": [] })).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["name"], "Desk");
    assert_eq!(updated.body["holidays"], json!([]));
    assert_eq!(updated.body["ranges"], created.body["ranges"], "omitted keys are unchanged");

    let mut plan = seed_plan();
    plan["nodes"][0]["config"]["schedule_id"] = json!(id);
    let plan = platform.post("/v1/dialplans", KEY, Some(&account), plan).await;
    let in_use = platform.call(Method::DELETE, &path, Some(KEY), Some(&account), None).await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(in_use.error_code(), "schedule_in_use");
    let plan_path = format!("/v1/dialplans/{}", plan.body["id"].as_str().unwrap());
    let deleted_plan = platform.call(Method::DELETE, &plan_path, Some(KEY), Some(&account), None).await;
    assert_eq!(deleted_plan.status, StatusCode::NO_CONTENT);
    let deleted = platform.call(Method::DELETE, &path, Some(KEY), Some(&account), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(platform.get(&path, KEY, Some(&account)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ring_groups_embed_members_validate_them_and_are_read_only_for_sessions() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let created = platform
        .post(
            "/v1/ring_groups",
            KEY,
            Some(&account),
            json!({ "name": "Front desk", "timeout_seconds": 25,
            "timeout_action": "voicemail", "timeout_target": "svm_01k1n9e2g4j6m8p0r2t4w6y8a0" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.body["members"], json!([]));
    assert_eq!(created.body["ignore_forwarding"], false);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let members = format!("/v1/ring_groups/{id}/members");

    let member = platform.post(&members, KEY, Some(&account), json!({ "extension": alice })).await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.text);
    assert!(member.body["id"].as_str().unwrap().starts_with("rgm_"));
    assert_eq!(member.body["ring_group_id"], id.as_str());
    assert_eq!(member.body["phone_number"], Value::Null);
    let phone = platform.post(&members, KEY, Some(&account), json!({ "phone_number": "+16175550100" })).await;
    assert_eq!(phone.status, StatusCode::OK);
    let twice = platform.post(&members, KEY, Some(&account), json!({ "extension": alice })).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    for (body, status) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({ "extension": alice, "phone_number": "+16175550100" }), StatusCode::BAD_REQUEST),
        (json!({ "phone_number": "617-555-0100" }), StatusCode::BAD_REQUEST),
        (json!({ "extension": "rg_other" }), StatusCode::BAD_REQUEST),
        (json!({ "extension": "user_01k1n4a6c8e0g2j4m6p8r0t2v4" }), StatusCode::NOT_FOUND),
    ] {
        let refused = platform.post(&members, KEY, Some(&account), body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
    }
    let group = platform.get(&format!("/v1/ring_groups/{id}"), KEY, Some(&account)).await;
    assert_eq!(group.body["members"].as_array().unwrap().len(), 2);

    for bad in [
        json!({ "timeout_seconds": 1 }),
        json!({ "timeout_action": "queue" }),
        json!({ "timeout_action": "ring_user", "timeout_target": "svm_1" }),
    ] {
        let refused = platform.post(&format!("/v1/ring_groups/{id}"), KEY, Some(&account), bad.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let cleared = platform
        .post(
            &format!("/v1/ring_groups/{id}"),
            KEY,
            Some(&account),
            json!({ "timeout_action": null, "timeout_target": null }),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    assert_eq!(cleared.body["timeout_action"], Value::Null);
    assert_eq!(cleared.body["timeout_seconds"], 25);

    let session = platform.session(&account).await;
    assert_eq!(platform.get("/v1/ring_groups", &session, None).await.body["data"][0]["id"], id.as_str());
    let refused = platform.post("/v1/ring_groups", &session, None, json!({ "name": "x" })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let member_id = member.body["id"].as_str().unwrap();
    let removed = platform
        .call(Method::DELETE, &format!("{members}/{member_id}"), Some(KEY), Some(&account), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let again = platform
        .call(Method::DELETE, &format!("{members}/{member_id}"), Some(KEY), Some(&account), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let deleted = platform
        .call(Method::DELETE, &format!("/v1/ring_groups/{id}"), Some(KEY), Some(&account), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn extensions_point_at_existing_targets_are_unique_and_list_by_number() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let alice = platform.create_user(&account, "Alice").await;
    let plan = platform.post("/v1/dialplans", KEY, Some(&account), seed_plan()).await;
    let plan_id = plan.body["id"].as_str().unwrap().to_owned();
    for (number, target) in [("300", plan_id.as_str()), ("101", alice.as_str()), ("20", alice.as_str())] {
        let reply = platform
            .post("/v1/extensions", KEY, Some(&account), json!({ "number": number, "target": target }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "active");
    }
    let taken = platform
        .post("/v1/extensions", KEY, Some(&account), json!({ "number": "101", "target": plan_id }))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.error_code(), "extension_taken");
    for (body, status) in [
        (json!({ "number": "911", "target": alice }), StatusCode::BAD_REQUEST),
        (json!({ "number": "0101", "target": alice }), StatusCode::BAD_REQUEST),
        (json!({ "number": "102", "target": "acct_1" }), StatusCode::BAD_REQUEST),
        (json!({ "number": "102" }), StatusCode::BAD_REQUEST),
        (json!({ "number": "102", "target": "user_01k1n4a6c8e0g2j4m6p8r0t2v4" }), StatusCode::NOT_FOUND),
    ] {
        let refused = platform.post("/v1/extensions", KEY, Some(&account), body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
    }
    let first = platform.get("/v1/extensions?limit=2", KEY, Some(&account)).await;
    let numbers: Vec<&str> =
        first.body["data"].as_array().unwrap().iter().map(|e| e["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["20", "101"], "numeric order");
    let next = first.body["next_page_url"].as_str().unwrap().to_owned();
    let second = platform.get(&next, KEY, Some(&account)).await;
    assert_eq!(second.body["data"][0]["number"], "300");
    assert_eq!(second.body["next_page_url"], Value::Null);
    assert_eq!(
        platform.get("/v1/extensions?page=101", KEY, Some(&account)).await.error_code(),
        "invalid_pagination"
    );
    let filtered = platform.get(&format!("/v1/extensions?target={plan_id}"), KEY, Some(&account)).await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);
    let expanded =
        platform.get(&format!("/v1/dialplans/{plan_id}?expand[]=extensions"), KEY, Some(&account)).await;
    assert_eq!(expanded.body["extensions"]["data"][0]["number"], "300");

    let renamed = platform.post("/v1/extensions/300", KEY, Some(&account), json!({ "number": "301" })).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["number"], "301");
    assert_eq!(platform.get("/v1/extensions/300", KEY, Some(&account)).await.status, StatusCode::NOT_FOUND);
    let collision =
        platform.post("/v1/extensions/301", KEY, Some(&account), json!({ "number": "101" })).await;
    assert_eq!(collision.status, StatusCode::CONFLICT);
    let in_use = platform
        .call(Method::DELETE, &format!("/v1/dialplans/{plan_id}"), Some(KEY), Some(&account), None)
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(in_use.error_code(), "dial_plan_in_use");
    let deleted = platform.call(Method::DELETE, "/v1/extensions/301", Some(KEY), Some(&account), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn phone_numbers_are_listed_updated_and_routed_with_checked_targets() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    provision_number(&platform, &account, "did_main", "+16175550142").await;
    let listed = platform.get("/v1/phone-numbers", KEY, Some(&account)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let number = &listed.body["data"][0];
    assert_eq!(number["id"], "did_main");
    assert_eq!(number["phone_number"], "+16175550142");
    assert_eq!(number["status"], "active");
    assert_eq!(number["routing_target"], Value::Null);
    assert_eq!(number["inbound_routing"], "default");
    assert_eq!(number["outbound_enabled"], true);

    let plan = platform.post("/v1/dialplans", KEY, Some(&account), seed_plan()).await;
    let plan_id = plan.body["id"].as_str().unwrap();
    let route = "/v1/phone-numbers/did_main/route";
    let routed = platform.post(route, KEY, Some(&account), json!({ "routing_target": plan_id })).await;
    assert_eq!(routed.status, StatusCode::OK, "{}", routed.text);
    assert_eq!(routed.body["routing_target"], plan_id);
    let missing = platform
        .post(route, KEY, Some(&account), json!({ "routing_target": "dp_01k1n7c9e1g3j5m7q9s1u3w5y7" }))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let wrong = platform.post(route, KEY, Some(&account), json!({ "routing_target": "sched_1" })).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let dropped = platform.post(route, KEY, Some(&account), json!({ "inbound_routing": "drop" })).await;
    assert_eq!(dropped.body["inbound_routing"], "drop");
    assert_eq!(dropped.body["routing_target"], Value::Null);
    let back = platform.post(route, KEY, Some(&account), json!({ "routing_target": plan_id })).await;
    assert_eq!(back.body["inbound_routing"], "default");

    let updated = platform
        .post(
            "/v1/phone-numbers/did_main",
            KEY,
            Some(&account),
            json!({ "caller_id_name": "ORTIZ CLINIC", "caller_id_prefix": "[Acme]", "routing_target": null }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["caller_id_name"], "ORTIZ CLINIC");
    assert_eq!(updated.body["routing_target"], plan_id, "routing is only changed through /route");
    let cleared = platform
        .post("/v1/phone-numbers/did_main", KEY, Some(&account), json!({ "caller_id_prefix": null }))
        .await;
    assert_eq!(cleared.body["caller_id_prefix"], Value::Null);
    assert_eq!(cleared.body["caller_id_name"], "ORTIZ CLINIC");
    let bad = platform
        .post("/v1/phone-numbers/did_main", KEY, Some(&account), json!({ "status": "released" }))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let inactive = platform.get("/v1/phone-numbers?status=inactive", KEY, Some(&account)).await;
    assert_eq!(inactive.body["data"], json!([]));
}
