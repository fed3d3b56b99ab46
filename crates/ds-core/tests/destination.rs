//! Destination cleaning and E.164 (protocol.md §14), display formatting, signalling URL (§4.1),
//! token claims (§3.4) and the pure view-model.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use ds_core::destination::{clean_destination, format_as_you_type, format_for_display, strip_to_dial_string};
use ds_core::token::{TokenClaims, encode_base64url, read_claims};
use ds_core::url::signalling_url;
use ds_core::view_model::*;
use ds_core::{CallHandle, CallInfo, CallPhase, Direction, PhoneErrorCode};
use ds_protocol::signalling::HeldBy;

#[test]
fn only_dial_characters_are_kept_and_letters_upper_cased() {
    assert_eq!(strip_to_dial_string(" +1 (415) 555-0142 "), "+14155550142");
    assert_eq!(strip_to_dial_string("*72#abcdXYZ"), "*72#ABCD");
    assert_eq!(strip_to_dial_string(&"9".repeat(40)).len(), 32);
}

#[test]
fn us_national_numbers_become_e164() {
    assert_eq!(clean_destination("(415) 555-0142").unwrap(), "+14155550142");
    assert_eq!(clean_destination("1-415-555-0142").unwrap(), "+14155550142");
    assert_eq!(clean_destination("+1 415 555 0142").unwrap(), "+14155550142");
    assert_eq!(clean_destination("+44 20 7946 0958").unwrap(), "+442079460958");
}

#[test]
fn extensions_feature_codes_and_short_numbers_are_left_alone() {
    for (typed, sent) in
        [("101", "101"), ("*72", "*72"), ("911", "911"), ("*97#", "*97#"), ("1055550142", "1055550142")]
    {
        assert_eq!(clean_destination(typed).unwrap(), sent, "{typed}");
    }
}

#[test]
fn an_empty_destination_is_refused_with_invalid_message() {
    for typed in ["", "   ", "()-", "xyz", "+"] {
        let error = clean_destination(typed).unwrap_err();
        assert_eq!(error.code, PhoneErrorCode::InvalidMessage, "{typed:?}");
        assert!(!error.message.is_empty());
    }
}

#[test]
fn nanp_numbers_are_formatted_as_you_type() {
    assert_eq!(format_as_you_type("4155550142"), "(415) 555-0142");
    assert_eq!(format_as_you_type("415555"), "415-555");
    assert_eq!(format_as_you_type("14155550142"), "1 (415) 555-0142");
    assert_eq!(format_as_you_type("+14155550142"), "+1 (415) 555-0142");
    assert_eq!(format_as_you_type("101"), "101");
    assert_eq!(format_as_you_type("*72"), "*72");
    assert_eq!(format_as_you_type("+442079460958"), "+442079460958");
    assert_eq!(format_as_you_type("415555014299"), "415555014299");
    assert_eq!(format_for_display("+14155550142"), "(415) 555-0142");
    assert_eq!(format_for_display("101"), "101");
}

#[test]
fn signalling_url_follows_section_4_1() {
    assert_eq!(signalling_url(None, "https://api.dialstack.ai"), "wss://webrtc.dialstack.ai/v1/webrtc");
    assert_eq!(signalling_url(None, "http://127.0.0.1:8787"), "ws://127.0.0.1:8787/v1/webrtc");
    assert_eq!(signalling_url(None, "https://gw.example.com/api"), "wss://gw.example.com/api/v1/webrtc");
    assert_eq!(
        signalling_url(None, "HTTPS://api.example.com:8443/"),
        "wss://webrtc.example.com:8443/v1/webrtc"
    );
    assert_eq!(
        signalling_url(Some("wss://edge.example/v1/webrtc/"), "https://api.dialstack.ai"),
        "wss://edge.example/v1/webrtc"
    );
    assert_eq!(signalling_url(Some("  "), "https://api.dialstack.ai"), "wss://webrtc.dialstack.ai/v1/webrtc");
    assert_eq!(signalling_url(Some("https://api.x.test"), "https://ignored"), "wss://api.x.test/v1/webrtc");
}

#[test]
fn token_claims_are_read_without_verification_and_garbage_is_none() {
    let payload = encode_base64url(br#"{"sub":"user_42","exp":1790003600}"#);
    assert_eq!(
        read_claims(&format!("h.{payload}.s")),
        Some(TokenClaims { sub: Some("user_42".into()), exp: Some(1_790_003_600) })
    );
    assert_eq!(read_claims("garbage"), None);
    assert_eq!(read_claims("a.%%%.b"), None);
}

fn call(handle: u64, direction: Direction, phase: CallPhase) -> CallInfo {
    CallInfo {
        handle: CallHandle(handle),
        call_id: Some(format!("call_{handle}")),
        direction,
        phase,
        remote_number: "+14155550142".into(),
        remote_name: None,
        local_number: None,
        held_by: (phase == CallPhase::Held).then_some(HeldBy::Local),
        muted: false,
        answered_at_ms: phase.is_connected().then_some(1_000),
        answering: false,
        ending: false,
        ringback: false,
        early_media: false,
        consult_for: None,
        consulted_by: None,
        restored: false,
        end_reason: None,
    }
}

#[test]
fn layout_follows_the_calls() {
    assert_eq!(select_layout(&[], None), Layout::Dialpad);
    let ringing = call(1, Direction::Inbound, CallPhase::Ringing);
    let ringing2 = call(2, Direction::Inbound, CallPhase::Ringing);
    assert_eq!(
        select_layout(&[ringing.clone(), ringing2.clone()], None),
        Layout::Incoming { ringing: vec![CallHandle(1), CallHandle(2)] }
    );
    let active = call(3, Direction::Outbound, CallPhase::Active);
    let held = call(4, Direction::Outbound, CallPhase::Held);
    assert_eq!(
        select_layout(&[ringing, active, held], Some(CallHandle(3))),
        Layout::InCall { current: CallHandle(3), held: vec![CallHandle(4)], waiting: vec![CallHandle(1)] }
    );
    let dialling = call(5, Direction::Outbound, CallPhase::Trying);
    assert_eq!(
        select_layout(&[dialling], Some(CallHandle(5))),
        Layout::InCall { current: CallHandle(5), held: vec![], waiting: vec![] }
    );
}

#[test]
fn can_place_call_explains_why_not() {
    assert_eq!(can_place_call(ConnectionStatus::Connected, "4155550142", false), Ok(()));
    let not_connected =
        can_place_call(ConnectionStatus::Reconnecting { attempt: 2 }, "1", false).unwrap_err();
    assert_eq!(not_connected.to_string(), "Still connecting — try again in a moment");
    assert_eq!(
        can_place_call(ConnectionStatus::Disconnected, "1", false).unwrap_err().to_string(),
        "Not connected"
    );
    assert_eq!(
        can_place_call(ConnectionStatus::Connected, " ", false),
        Err(CannotPlaceCall::EmptyDestination)
    );
    assert_eq!(can_place_call(ConnectionStatus::Connected, "101", true), Err(CannotPlaceCall::Busy));
}

#[test]
fn call_durations_format_as_minutes_or_hours() {
    assert_eq!(format_call_duration(0), "0:00");
    assert_eq!(format_call_duration(73), "1:13");
    assert_eq!(format_call_duration(3_599), "59:59");
    assert_eq!(format_call_duration(3_600), "1:00:00");
    assert_eq!(format_call_duration(37_230), "10:20:30");
    let active = call(1, Direction::Outbound, CallPhase::Active);
    assert_eq!(call_duration_secs(&active, 74_999), Some(73));
}

#[test]
fn caller_display_prefers_name_then_number_then_unknown() {
    assert_eq!(
        caller_display(Some("JANE ROE"), "+16195550177"),
        CallerDisplay { primary: "JANE ROE".into(), secondary: Some("(619) 555-0177".into()) }
    );
    assert_eq!(caller_display(Some("  "), "+16195550177").primary, "(619) 555-0177");
    assert_eq!(caller_display(None, "").primary, "Unknown");
}

#[test]
fn in_call_controls_say_why_they_are_disabled() {
    let ringing = call(1, Direction::Outbound, CallPhase::Ringing);
    let controls = call_controls(&ringing, ConnectionStatus::Connected);
    assert!(!controls.hold.enabled);
    assert_eq!(controls.hold.reason, Some("The call is not answered yet"));
    assert!(controls.hangup.enabled);
    let mut held = call(2, Direction::Outbound, CallPhase::Held);
    held.held_by = Some(HeldBy::Remote);
    let controls = call_controls(&held, ConnectionStatus::Connected);
    assert!(controls.shows_resume);
    assert_eq!(controls.hold.reason, Some("The other party put this call on hold"));
    assert_eq!(controls.keypad.reason, Some("The call is on hold"));
    let active = call(3, Direction::Inbound, CallPhase::Active);
    let offline = call_controls(&active, ConnectionStatus::Reconnecting { attempt: 1 });
    assert_eq!(offline.hold.reason, Some("Not connected"));
    assert!(offline.mute.enabled, "mute is local to the microphone");
    assert_eq!(call_state_label(&active), "Connected");
}
