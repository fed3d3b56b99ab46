//! The hand-written codec behind `parse_server_frame` and `ClientMessage::to_json` behaves exactly
//! like `serde_json` with the derived impls: same value for every golden §5 frame and for random
//! frames, same accept/refuse decision for random frame-shaped JSON, byte-equal output.
#![cfg(not(target_arch = "wasm32"))]

use ds_protocol::signalling::*;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

const CLIENT_FRAMES: &str = include_str!("golden/client_frames.jsonl");
const SERVER_FRAMES: &str = include_str!("golden/server_frames.jsonl");

/// What the serde derive makes of a received frame: the reference the codec must match.
fn parse_server_frame_with_serde(text: &str) -> ParsedFrame<ServerMessage> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return ParsedFrame::Invalid { reason: "not JSON".into() };
    };
    let type_name = match value.get("type") {
        Some(Value::String(name)) if value.is_object() => name.clone(),
        _ => return ParsedFrame::Invalid { reason: "no string `type`".into() },
    };
    if !ServerMessage::TYPE_NAMES.contains(&type_name.as_str()) {
        return ParsedFrame::UnknownType { type_name };
    }
    match serde_json::from_value::<ServerMessage>(value) {
        Ok(message) => ParsedFrame::Known(message),
        Err(error) => ParsedFrame::Invalid { reason: error.to_string() },
    }
}

/// Known frames must be equal; otherwise the kind (unknown type / invalid) must be.
fn same_outcome(codec: &ParsedFrame<ServerMessage>, serde: &ParsedFrame<ServerMessage>) -> bool {
    match (codec, serde) {
        (ParsedFrame::Known(a), ParsedFrame::Known(b)) => a == b,
        (ParsedFrame::UnknownType { type_name: a }, ParsedFrame::UnknownType { type_name: b }) => a == b,
        (ParsedFrame::Invalid { .. }, ParsedFrame::Invalid { .. }) => true,
        _ => false,
    }
}

fn lines(file: &str) -> impl Iterator<Item = &str> {
    file.lines().map(str::trim).filter(|l| !l.is_empty())
}

#[test]
fn every_golden_server_frame_decodes_to_what_serde_derives() {
    let mut count = 0;
    for line in lines(SERVER_FRAMES) {
        let codec = parse_server_frame(line);
        assert!(matches!(codec, ParsedFrame::Known(_)), "{line} -> {codec:?}");
        assert_eq!(codec, parse_server_frame_with_serde(line), "{line}");
        count += 1;
    }
    assert!(count >= ServerMessage::TYPE_NAMES.len());
}

#[test]
fn every_golden_client_frame_encodes_byte_for_byte_as_serde_json() {
    let mut count = 0;
    for line in lines(CLIENT_FRAMES) {
        let message = parse_client_frame(line).known().expect("golden client frame parses");
        let serde_text = serde_json::to_string(&message).expect("frames serialise");
        assert_eq!(message.to_json(), serde_text, "{line}");
        count += 1;
    }
    assert!(count >= ClientMessage::TYPE_NAMES.len());
}

#[test]
fn odd_but_valid_members_decode_as_serde_does() {
    let frames = [
        // Members after `type`, unknown members, duplicate members (the last one wins).
        r#"{"call_id":"c","extra":{"a":[1,2]},"type":"call.ringing","call_id":"d"}"#,
        // `null` for `str?|null` members and absent optional members.
        r#"{"type":"call.incoming","call_id":"c","from":"+1","from_name":null,"to":"+2"}"#,
        r#"{"type":"call.incoming","call_id":"c","from":"+1","to":"+2"}"#,
        r#"{"type":"error","code":"x"}"#,
        r#"{"type":"error","code":"rate_limited","message":"m","fatal":null,"context":null}"#,
        r#"{"type":"error","code":"presence_unavailable","context":{"users":null}}"#,
        r#"{"type":"error","code":"presence_unavailable","context":{}}"#,
        // serde reads struct-typed members given as arrays by position.
        r#"{"type":"error","code":"presence_unavailable","context":[]}"#,
        r#"{"type":"error","code":"presence_unavailable","context":[["u1","u2"]]}"#,
        r#"{"type":"error","code":"presence_unavailable","context":[["u1"],1]}"#,
        r#"{"type":"presence.list","users":[["u","n","available",false,null,"t"]]}"#,
        r#"{"type":"presence.list","users":[["u","n","available",false,null,"t",1]]}"#,
        r#"{"type":"presence.list","users":[["u","n","available",false]]}"#,
        // Numbers: u32 range, negative, float.
        r#"{"type":"ice.candidate","call_id":"c","sdp_m_line_index":4294967295}"#,
        r#"{"type":"ice.candidate","call_id":"c","sdp_m_line_index":4294967296}"#,
        r#"{"type":"ice.candidate","call_id":"c","sdp_m_line_index":-1}"#,
        r#"{"type":"ice.candidate","call_id":"c","sdp_m_line_index":1.0}"#,
        r#"{"type":"call.ended","call_id":"c","reason":"hangup","duration_seconds":18446744073709551615}"#,
        r#"{"type":"call.ended","call_id":"c","reason":"hangup","duration_seconds":-0}"#,
        r#"{"type":"call.ended","call_id":"c","reason":"hangup","duration_seconds":2e3}"#,
        // Wrong types and missing members.
        r#"{"type":"error","code":"x","message":null}"#,
        r#"{"type":"presence.update","user_id":"u","name":"n","status":"available","updated_at":"t"}"#,
        r#"{"type":"presence.update","user_id":"u","name":"n","status":"available","do_not_disturb":0,"updated_at":"t"}"#,
        r#"{"type":"presence.list","users":{}}"#,
        r#"{"type":"presence.list","users":["u"]}"#,
        r#"{"type":"authenticated","user_id":"u","account_id":"a","reconnected":"yes"}"#,
        r#"{"type":"network.changed","anything":1}"#,
        r#"{"type":"call.held","call_id":"c","held_by":"satellite"}"#,
        r#"{"type":"call.teleported"}"#,
        r#"{"type":5}"#,
        r#"[]"#,
        r#"not json"#,
    ];
    for frame in frames {
        let codec = parse_server_frame(frame);
        let serde = parse_server_frame_with_serde(frame);
        assert!(same_outcome(&codec, &serde), "{frame}\n codec: {codec:?}\n serde: {serde:?}");
    }
}

fn member_value() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "null",
            "true",
            "false",
            "0",
            "7",
            "-1",
            "1.5",
            "4294967296",
            "[]",
            "{}",
            "[\"u\"]",
            "[null]",
            "{\"users\":[\"a\"]}",
            "{\"users\":7}",
            "[[\"a\"]]",
            "\"available\"",
            "\"hangup\"",
        ])
        .prop_map(str::to_owned),
        any::<String>().prop_map(|s| serde_json::to_string(&s).expect("strings serialise")),
    ]
}

fn member_name() -> impl Strategy<Value = &'static str> {
    select(vec![
        "req_id",
        "call_id",
        "user_id",
        "account_id",
        "reconnected",
        "code",
        "message",
        "fatal",
        "context",
        "from",
        "from_name",
        "to",
        "answered_at",
        "held_by",
        "reason",
        "duration_seconds",
        "state",
        "direction",
        "sdp",
        "candidate",
        "sdp_mid",
        "sdp_m_line_index",
        "users",
        "name",
        "status",
        "do_not_disturb",
        "status_text",
        "updated_at",
    ])
}

/// Server frames of every type with random members drawn from the fields they can carry.
fn server_frame_like_json() -> impl Strategy<Value = String> {
    (
        select(ServerMessage::TYPE_NAMES.to_vec()),
        proptest::collection::vec((member_name(), member_value()), 0..10),
    )
        .prop_map(|(name, members)| {
            let mut text = format!(r#"{{"type":"{name}""#);
            for (key, value) in members {
                text.push_str(&format!(r#","{key}":{value}"#));
            }
            text.push('}');
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn random_frame_shaped_json_gets_the_same_decision_as_serde(json in server_frame_like_json()) {
        let codec = parse_server_frame(&json);
        let serde = parse_server_frame_with_serde(&json);
        prop_assert!(same_outcome(&codec, &serde), "{}\n codec: {:?}\n serde: {:?}", json, codec, serde);
    }

    #[test]
    fn random_strings_get_the_same_decision_as_serde(text in any::<String>()) {
        prop_assert!(same_outcome(&parse_server_frame(&text), &parse_server_frame_with_serde(&text)));
    }
}

/// Every client frame with arbitrary strings (all control characters and non-ASCII included).
fn client_message() -> impl Strategy<Value = ClientMessage> {
    let text = any::<String>;
    let opt = || proptest::option::of(any::<String>());
    prop_oneof![
        (opt(), text(), opt()).prop_map(|(req_id, token, emergency_address_id)| {
            ClientMessage::Authenticate { req_id, token, emergency_address_id }
        }),
        (opt(), text()).prop_map(|(req_id, token)| ClientMessage::AuthRefresh { req_id, token }),
        opt().prop_map(|req_id| ClientMessage::Ping { req_id }),
        (opt(), text(), text(), opt()).prop_map(|(req_id, destination, sdp, caller_id)| {
            ClientMessage::CallCreate { req_id, destination, sdp, caller_id }
        }),
        text().prop_map(|call_id| ClientMessage::CallAnswer { call_id }),
        (text(), text()).prop_map(|(call_id, sdp)| ClientMessage::SdpAnswer { call_id, sdp }),
        (text(), proptest::option::of(text().prop_map(|s| RejectReason::from_wire(&s))))
            .prop_map(|(call_id, reason)| ClientMessage::CallReject { call_id, reason }),
        text().prop_map(|call_id| ClientMessage::CallHangup { call_id }),
        text().prop_map(|call_id| ClientMessage::CallHold { call_id }),
        text().prop_map(|call_id| ClientMessage::CallResume { call_id }),
        text().prop_map(|call_id| ClientMessage::CallMute { call_id }),
        text().prop_map(|call_id| ClientMessage::CallUnmute { call_id }),
        (text(), text())
            .prop_map(|(call_id, destination)| ClientMessage::CallTransfer { call_id, destination }),
        (opt(), text(), text(), opt(), opt()).prop_map(|(req_id, call_id, step, destination, sdp)| {
            ClientMessage::CallTransferAttended {
                req_id,
                call_id,
                step: TransferStep::from_wire(&step),
                destination,
                sdp,
            }
        }),
        (text(), text()).prop_map(|(call_id, sdp)| ClientMessage::SdpOffer { call_id, sdp }),
        (text(), opt(), opt(), proptest::option::of(any::<u32>())).prop_map(
            |(call_id, candidate, sdp_mid, sdp_m_line_index)| {
                ClientMessage::IceCandidate(IceCandidate { call_id, candidate, sdp_mid, sdp_m_line_index })
            }
        ),
        text().prop_map(|call_id| ClientMessage::IceDone { call_id }),
        (opt(), proptest::collection::vec(text(), 0..4))
            .prop_map(|(req_id, users)| ClientMessage::PresenceSubscribe { req_id, users }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn every_client_frame_encodes_byte_for_byte_as_serde_json(message in client_message()) {
        let serde_text = serde_json::to_string(&message).expect("frames serialise");
        prop_assert_eq!(message.to_json(), serde_text);
    }

    #[test]
    fn control_characters_are_escaped_as_serde_json_does(code in 0u32..0x100) {
        let call_id = char::from_u32(code).expect("below 0x100 is a char").to_string();
        let message = ClientMessage::CallHangup { call_id };
        prop_assert_eq!(message.to_json(), serde_json::to_string(&message).expect("serialises"));
    }
}
