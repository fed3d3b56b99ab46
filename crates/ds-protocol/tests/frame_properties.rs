//! Property tests of the signalling codec: parsing never panics, and every frame survives
//! serialise → parse unchanged.
#![cfg(not(target_arch = "wasm32"))]

use ds_protocol::signalling::*;
use proptest::prelude::*;
use proptest::sample::select;

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

/// A known value, or an unknown one built through `from_wire` (so it is canonical).
fn wire<T: Clone + std::fmt::Debug + 'static>(known: &'static [T], from: fn(&str) -> T) -> BoxedStrategy<T> {
    prop_oneof![select(known), "[a-z_.-]{0,12}".prop_map(move |s| from(&s))].boxed()
}

fn ice() -> impl Strategy<Value = IceCandidate> {
    (text(), opt_text(), opt_text(), proptest::option::of(any::<u32>())).prop_map(
        |(call_id, candidate, sdp_mid, sdp_m_line_index)| IceCandidate {
            call_id,
            candidate,
            sdp_mid,
            sdp_m_line_index,
        },
    )
}

fn presence() -> impl Strategy<Value = PresenceEntry> {
    (
        text(),
        text(),
        wire(PresenceStatus::KNOWN, PresenceStatus::from_wire),
        any::<bool>(),
        opt_text(),
        text(),
    )
        .prop_map(|(user_id, name, status, do_not_disturb, status_text, updated_at)| PresenceEntry {
            user_id,
            name,
            status,
            do_not_disturb,
            status_text,
            updated_at,
        })
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (opt_text(), text(), opt_text()).prop_map(|(req_id, token, emergency_address_id)| {
            ClientMessage::Authenticate { req_id, token, emergency_address_id }
        }),
        (opt_text(), text()).prop_map(|(req_id, token)| ClientMessage::AuthRefresh { req_id, token }),
        opt_text().prop_map(|req_id| ClientMessage::Ping { req_id }),
        (opt_text(), text(), text(), opt_text()).prop_map(|(req_id, destination, sdp, caller_id)| {
            ClientMessage::CallCreate { req_id, destination, sdp, caller_id }
        }),
        text().prop_map(|call_id| ClientMessage::CallAnswer { call_id }),
        (text(), text()).prop_map(|(call_id, sdp)| ClientMessage::SdpAnswer { call_id, sdp }),
        (text(), proptest::option::of(wire(RejectReason::KNOWN, RejectReason::from_wire)))
            .prop_map(|(call_id, reason)| ClientMessage::CallReject { call_id, reason }),
        text().prop_map(|call_id| ClientMessage::CallHangup { call_id }),
        text().prop_map(|call_id| ClientMessage::CallHold { call_id }),
        text().prop_map(|call_id| ClientMessage::CallResume { call_id }),
        text().prop_map(|call_id| ClientMessage::CallMute { call_id }),
        text().prop_map(|call_id| ClientMessage::CallUnmute { call_id }),
        (text(), text())
            .prop_map(|(call_id, destination)| ClientMessage::CallTransfer { call_id, destination }),
        (opt_text(), text(), wire(TransferStep::KNOWN, TransferStep::from_wire), opt_text(), opt_text())
            .prop_map(|(req_id, call_id, step, destination, sdp)| ClientMessage::CallTransferAttended {
                req_id,
                call_id,
                step,
                destination,
                sdp
            }),
        (text(), text()).prop_map(|(call_id, sdp)| ClientMessage::SdpOffer { call_id, sdp }),
        ice().prop_map(ClientMessage::IceCandidate),
        text().prop_map(|call_id| ClientMessage::IceDone { call_id }),
        (opt_text(), proptest::collection::vec(text(), 0..4))
            .prop_map(|(req_id, users)| ClientMessage::PresenceSubscribe { req_id, users }),
    ]
}

fn error_frame() -> impl Strategy<Value = ErrorFrame> {
    (
        wire(ErrorCode::KNOWN, ErrorCode::from_wire),
        text(),
        opt_text(),
        opt_text(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::option::of(proptest::collection::vec(text(), 0..3))),
    )
        .prop_map(|(code, message, req_id, call_id, fatal, context)| ErrorFrame {
            code,
            message,
            req_id,
            call_id,
            fatal,
            context: context.map(|users| ErrorContext { users }),
        })
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (opt_text(), text(), text(), proptest::option::of(any::<bool>())).prop_map(
            |(req_id, user_id, account_id, reconnected)| ServerMessage::Authenticated {
                req_id,
                user_id,
                account_id,
                reconnected
            }
        ),
        opt_text().prop_map(|req_id| ServerMessage::AuthRefreshed { req_id }),
        opt_text().prop_map(|req_id| ServerMessage::Pong { req_id }),
        Just(ServerMessage::NetworkChanged {}),
        error_frame().prop_map(ServerMessage::Error),
        (text(), opt_text()).prop_map(|(call_id, req_id)| ServerMessage::CallTrying { call_id, req_id }),
        text().prop_map(|call_id| ServerMessage::CallRinging { call_id }),
        (text(), text(), opt_text(), text()).prop_map(|(call_id, from, from_name, to)| {
            ServerMessage::CallIncoming { call_id, from, from_name, to }
        }),
        (text(), opt_text())
            .prop_map(|(call_id, answered_at)| ServerMessage::CallAnswered { call_id, answered_at }),
        (text(), wire(HeldBy::KNOWN, HeldBy::from_wire))
            .prop_map(|(call_id, held_by)| ServerMessage::CallHeld { call_id, held_by }),
        text().prop_map(|call_id| ServerMessage::CallResumed { call_id }),
        (text(), wire(EndReason::KNOWN, EndReason::from_wire), proptest::option::of(any::<u64>())).prop_map(
            |(call_id, reason, duration_seconds)| ServerMessage::CallEnded {
                call_id,
                reason,
                duration_seconds
            }
        ),
        (
            text(),
            wire(CallState::KNOWN, CallState::from_wire),
            text(),
            opt_text(),
            text(),
            wire(CallDirection::KNOWN, CallDirection::from_wire),
            opt_text()
        )
            .prop_map(|(call_id, state, from, from_name, to, direction, answered_at)| {
                ServerMessage::CallRestored { call_id, state, from, from_name, to, direction, answered_at }
            }),
        (text(), text()).prop_map(|(call_id, sdp)| ServerMessage::SdpOffer { call_id, sdp }),
        (text(), text()).prop_map(|(call_id, sdp)| ServerMessage::SdpPranswer { call_id, sdp }),
        (text(), text()).prop_map(|(call_id, sdp)| ServerMessage::SdpAnswer { call_id, sdp }),
        ice().prop_map(ServerMessage::IceCandidate),
        text().prop_map(|call_id| ServerMessage::IceDone { call_id }),
        (opt_text(), proptest::collection::vec(presence(), 0..3))
            .prop_map(|(req_id, users)| ServerMessage::PresenceList { req_id, users }),
        presence().prop_map(ServerMessage::PresenceUpdate),
    ]
}

/// JSON objects with a real `type` and random members: exercises the field-level error paths.
fn frame_like_json() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> =
        ClientMessage::TYPE_NAMES.iter().chain(ServerMessage::TYPE_NAMES).copied().collect();
    let value = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        text().prop_map(|s| serde_json::to_string(&s).expect("strings serialise")),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ];
    let field = select(vec![
        "req_id",
        "call_id",
        "token",
        "sdp",
        "reason",
        "code",
        "fatal",
        "users",
        "held_by",
        "state",
        "from",
        "to",
        "candidate",
        "status",
        "step",
        "duration_seconds",
    ]);
    (select(names), proptest::collection::vec((field, value), 0..8)).prop_map(|(name, fields)| {
        let members: Vec<String> = fields.into_iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
        if members.is_empty() {
            format!(r#"{{"type":"{name}"}}"#)
        } else {
            format!(r#"{{"type":"{name}",{}}}"#, members.join(","))
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_arbitrary_strings_never_panics(s in text()) {
        let _ = parse_server_frame(&s);
        let _ = parse_client_frame(&s);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_server_frame(&s);
        let _ = parse_client_frame(&s);
    }

    #[test]
    fn frame_shaped_json_never_panics_and_known_types_are_never_called_unknown(json in frame_like_json()) {
        let is_server_type = ServerMessage::TYPE_NAMES.iter().any(|n| json.starts_with(&format!(r#"{{"type":"{n}""#)));
        let reported_unknown = matches!(parse_server_frame(&json), ParsedFrame::UnknownType { .. });
        prop_assert!(!(is_server_type && reported_unknown), "known type reported unknown: {}", json);
        let _ = parse_client_frame(&json);
    }

    #[test]
    fn every_client_frame_round_trips(message in client_message()) {
        let json = message.to_json();
        prop_assert_eq!(parse_client_frame(&json), ParsedFrame::Known(message));
    }

    #[test]
    fn every_server_frame_round_trips(message in server_message()) {
        let json = message.to_json();
        prop_assert_eq!(parse_server_frame(&json), ParsedFrame::Known(message));
    }
}
