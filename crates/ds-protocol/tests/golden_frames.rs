//! Golden frames: one or more JSON examples for every frame type of protocol.md §5.1 and §5.2
//! (the §5.3 examples verbatim where the spec gives one). Each must parse as a known frame and
//! re-serialise to an equal JSON value, so the wire shape cannot drift silently.

use std::collections::BTreeSet;

use ds_protocol::signalling::{
    ClientMessage, EndReason, ErrorCode, ParsedFrame, PresenceStatus, ServerMessage, parse_client_frame,
    parse_server_frame,
};
use serde_json::Value;

const CLIENT_FRAMES: &str = include_str!("golden/client_frames.jsonl");
const SERVER_FRAMES: &str = include_str!("golden/server_frames.jsonl");

fn lines(file: &str) -> impl Iterator<Item = &str> {
    file.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn assert_round_trips<T: serde::Serialize + std::fmt::Debug>(
    file: &str,
    parse: fn(&str) -> ParsedFrame<T>,
    type_name: fn(&T) -> &'static str,
) -> BTreeSet<&'static str> {
    let mut seen = BTreeSet::new();
    for line in lines(file) {
        let message = match parse(line) {
            ParsedFrame::Known(message) => message,
            other => panic!("golden frame did not parse: {line}\n  -> {other:?}"),
        };
        seen.insert(type_name(&message));
        let original: Value = serde_json::from_str(line).expect("golden line is JSON");
        let reserialised = serde_json::to_value(&message).expect("frames serialise");
        assert_eq!(reserialised, original, "re-serialised frame differs for {line}");
    }
    seen
}

#[test]
fn every_client_frame_type_has_a_golden_example_that_round_trips() {
    let seen = assert_round_trips(CLIENT_FRAMES, parse_client_frame, ClientMessage::type_name);
    let all: BTreeSet<_> = ClientMessage::TYPE_NAMES.iter().copied().collect();
    assert_eq!(seen, all, "a §5.1 frame type has no golden example");
}

#[test]
fn every_server_frame_type_has_a_golden_example_that_round_trips() {
    let seen = assert_round_trips(SERVER_FRAMES, parse_server_frame, ServerMessage::type_name);
    let all: BTreeSet<_> = ServerMessage::TYPE_NAMES.iter().copied().collect();
    assert_eq!(seen, all, "a §5.2 frame type has no golden example");
}

#[test]
fn every_end_reason_of_section_6_2_parses_as_a_known_value() {
    for line in lines(SERVER_FRAMES) {
        if let Some(ServerMessage::CallEnded { reason, .. }) = parse_server_frame(line).known() {
            assert!(reason.is_known(), "{line}");
        }
    }
    let names: Vec<_> = EndReason::KNOWN.iter().map(EndReason::as_str).collect();
    assert_eq!(names, ["hangup", "no-answer", "busy", "failed", "transferred", "rejected"]);
}

#[test]
fn unknown_error_code_is_kept_and_treated_as_non_terminal() {
    let frame = r#"{"type":"error","code":"some_future_code","message":"x"}"#;
    let Some(ServerMessage::Error(error)) = parse_server_frame(frame).known() else {
        panic!("error frame with an unknown code must parse");
    };
    assert_eq!(error.code, ErrorCode::Unknown("some_future_code".into()));
    assert!(!error.code.is_terminal());
    assert!(!error.is_fatal());
}

#[test]
fn legacy_presence_status_is_shown_as_offline() {
    let frame = r#"{"type":"presence.update","user_id":"u","name":"n","status":"dnd","do_not_disturb":true,"updated_at":"t"}"#;
    let Some(ServerMessage::PresenceUpdate(entry)) = parse_server_frame(frame).known() else {
        panic!("presence.update with a legacy status must parse");
    };
    assert_eq!(entry.status.shown_as(), PresenceStatus::Offline);
}

#[test]
fn unknown_members_are_ignored() {
    let frame = r#"{"type":"call.ringing","call_id":"call_1","future_member":{"nested":[1,2]}}"#;
    assert_eq!(
        parse_server_frame(frame),
        ParsedFrame::Known(ServerMessage::CallRinging { call_id: "call_1".into() })
    );
}

#[test]
fn null_req_id_reads_as_absent() {
    let frame = r#"{"type":"pong","req_id":null}"#;
    assert_eq!(parse_server_frame(frame), ParsedFrame::Known(ServerMessage::Pong { req_id: None }));
    assert_eq!(ServerMessage::Pong { req_id: None }.to_json(), r#"{"type":"pong"}"#);
}

#[test]
fn unknown_type_is_reported_with_its_name() {
    assert_eq!(
        parse_server_frame(r#"{"type":"call.teleported","call_id":"c"}"#),
        ParsedFrame::UnknownType { type_name: "call.teleported".into() }
    );
    assert_eq!(
        parse_client_frame(r#"{"type":"call.teleport"}"#),
        ParsedFrame::UnknownType { type_name: "call.teleport".into() }
    );
}

#[test]
fn malformed_frames_are_invalid_with_a_reason() {
    for text in
        ["", "not json", "[1,2]", "42", r#"{"no_type":1}"#, r#"{"type":7}"#, r#"{"type":"call.ringing"}"#]
    {
        match parse_server_frame(text) {
            ParsedFrame::Invalid { reason } => assert!(!reason.is_empty()),
            other => panic!("{text:?} should be invalid, got {other:?}"),
        }
    }
}

#[test]
fn reject_without_reason_means_decline_and_stays_absent() {
    let frame = r#"{"type":"call.reject","call_id":"call_1"}"#;
    let Some(ClientMessage::CallReject { reason, .. }) = parse_client_frame(frame).known() else {
        panic!("call.reject must parse");
    };
    assert_eq!(reason, None);
}
