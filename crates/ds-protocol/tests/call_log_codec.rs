//! `ListEnvelope::<CallLog>::from_json` (the browser's call-history reader) accepts and reads what
//! the derived `Deserialize` does: every page serde writes reads back equal, and random pages with
//! ill-typed or missing members get the same accept/refuse decision.
#![cfg(not(target_arch = "wasm32"))]

use ds_protocol::rest::{CallDirection, CallLog, CallStatus, DidRef, ListEnvelope};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// The browser's path: the JSON text serde_json writes, read by `Json`, then the hand reader.
fn read(value: &Value) -> Result<ListEnvelope<CallLog>, String> {
    let json = ds_protocol::json::Json::parse(&value.to_string()).expect("serde_json writes JSON");
    ListEnvelope::<CallLog>::from_json(&json)
}

fn with_serde(value: &Value) -> Option<ListEnvelope<CallLog>> {
    serde_json::from_value(value.clone()).ok()
}

fn a_call_log() -> Value {
    json!({
        "id": "call_1", "user": "user_1", "user_id": "user_1", "endpoint": null, "endpoint_id": null,
        "did": {"id": "did_1", "phone_number": "+14155550100"}, "did_id": "did_1",
        "direction": "inbound", "from_number": "+14155550199", "from_label": "Ada",
        "to_number": "+14155550100", "to_label": null, "started_at": "2026-11-25T10:00:00Z",
        "answered_at": "2026-11-25T10:00:03Z", "connected_at": null, "ended_at": "2026-11-25T10:01:00Z",
        "duration_seconds": 57, "status": "completed", "hangup_cause": 16, "summary": null,
        "sentiment": {"score": 0.5}, "recording_url": null, "quality_metrics": [{"mos": 4.2}],
        "dtmf_digits": "12#"
    })
}

fn page(data: Vec<Value>) -> Value {
    json!({"object": "list", "url": "/v1/calls", "next_page_url": "/v1/calls?starting_after=call_1",
           "previous_page_url": null, "data": data})
}

#[test]
fn a_full_page_reads_as_serde_reads_it() {
    let mut minimal = json!({"id": "call_2", "direction": "outbound", "from_number": "+1",
                             "started_at": "t", "quality_metrics": []});
    let value = page(vec![a_call_log(), minimal.clone()]);
    let page_read = read(&value).expect("reads");
    assert_eq!(Some(page_read.clone()), with_serde(&value));
    assert_eq!(
        page_read.data[0].did,
        Some(DidRef::Expanded { id: "did_1".into(), phone_number: "+14155550100".into() })
    );
    assert_eq!(page_read.data[0].status, Some(CallStatus::Completed));
    assert_eq!(page_read.data[1].direction, CallDirection::Outbound);
    minimal["did"] = json!("did_9");
    let value = page(vec![minimal]);
    assert_eq!(read(&value).ok(), with_serde(&value));
}

#[test]
fn an_empty_page_reads_and_a_page_without_data_is_refused() {
    let value = page(vec![]);
    assert_eq!(read(&value).ok(), with_serde(&value));
    let mut no_data = page(vec![]);
    no_data.as_object_mut().expect("object").remove("data");
    assert!(read(&no_data).is_err());
    assert!(with_serde(&no_data).is_none());
}

fn member_value() -> impl Strategy<Value = Value> {
    select(vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-3),
        json!(1.5),
        json!(u64::MAX),
        json!("inbound"),
        json!("no-answer"),
        json!("voicemail"),
        json!("sideways"),
        json!([]),
        json!({}),
        json!({"id": "d"}),
        json!({"id": "d", "phone_number": "+1"}),
        json!(["x"]),
    ])
}

fn member_name() -> impl Strategy<Value = &'static str> {
    select(vec![
        "id",
        "user",
        "did",
        "did_id",
        "direction",
        "from_number",
        "to_number",
        "started_at",
        "duration_seconds",
        "status",
        "hangup_cause",
        "sentiment",
        "quality_metrics",
        "dtmf_digits",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn a_call_log_with_changed_or_removed_members_gets_the_decision_serde_gives(
        changes in proptest::collection::vec((member_name(), proptest::option::of(member_value())), 1..5)
    ) {
        let mut call = a_call_log();
        let map = call.as_object_mut().expect("object");
        for (name, value) in changes {
            match value {
                Some(value) => { map.insert(name.to_owned(), value); }
                None => { map.remove(name); }
            }
        }
        let value = page(vec![call]);
        prop_assert_eq!(read(&value).ok(), with_serde(&value), "{}", value);
    }

    #[test]
    fn envelope_members_get_the_decision_serde_gives(
        name in select(vec!["object", "url", "next_page_url", "previous_page_url", "data"]),
        value in proptest::option::of(member_value()),
    ) {
        let mut envelope = page(vec![a_call_log()]);
        let map = envelope.as_object_mut().expect("object");
        match value {
            Some(value) => { map.insert(name.to_owned(), value); }
            None => { map.remove(name); }
        }
        prop_assert_eq!(read(&envelope).ok(), with_serde(&envelope));
    }
}
