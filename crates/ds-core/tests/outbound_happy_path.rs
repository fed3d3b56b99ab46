//! Outbound calls (protocol.md §6, §7.1, §7.3): placeholder req_id until `call.trying`, one dial
//! at a time, 30 s trying timeout, ringback from ringing to answer, hang-up.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::{CallPhase, Command, Direction, MediaRequest, PhoneErrorCode, PhoneEvent};
use ds_protocol::signalling::{ClientMessage, EndReason, ErrorCode, ErrorFrame, ServerMessage};

#[test]
fn dial_creates_an_offer_then_sends_call_create_with_the_cleaned_destination() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.take_sent();
    h.command(Command::Dial { destination: "(415) 555-0142".into() });
    let call = h.only_call();
    assert_eq!(h.media[0], MediaRequest::CreateOffer { call });
    let sent = h.take_sent();
    let [ClientMessage::CallCreate { req_id: Some(req_id), destination, sdp, caller_id: None }] = &sent[..]
    else {
        panic!("expected one call.create: {sent:?}");
    };
    assert_eq!(destination, "+14155550142");
    assert!(sdp.starts_with("v=0"));
    assert!(req_id.starts_with("req_"));
    let info = h.info(call);
    assert_eq!((info.direction, info.phase, info.call_id), (Direction::Outbound, CallPhase::Trying, None));
    assert_eq!(h.phone.active_call(), Some(call));
}

#[test]
fn a_call_rings_is_answered_and_hung_up() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+14155550142");
    assert_eq!(h.info(call).phase, CallPhase::Trying);
    h.take_media();

    h.deliver(ServerMessage::CallRinging { call_id: call_id.clone() });
    assert_eq!(h.info(call).phase, CallPhase::Ringing);
    assert_eq!(h.take_media(), [MediaRequest::StartRingback { call }]);

    h.deliver(ServerMessage::SdpAnswer { call_id: call_id.clone(), sdp: "v=0\r\nanswer".into() });
    assert_eq!(h.take_media(), [MediaRequest::ApplyAnswer { call, sdp: "v=0\r\nanswer".into() }]);

    h.advance(3_000);
    h.deliver(ServerMessage::CallAnswered { call_id: call_id.clone(), answered_at: None });
    let info = h.info(call);
    assert_eq!(info.phase, CallPhase::Active);
    assert_eq!(info.answered_at_ms, Some(h.now));
    assert_eq!(h.take_media(), [MediaRequest::StopRingback { call }]);

    h.take_sent();
    h.command(Command::Hangup { call });
    assert_eq!(h.take_sent(), [ClientMessage::CallHangup { call_id }]);
    assert_eq!(h.take_media(), [MediaRequest::CloseCall { call }]);
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Hangup));
    assert_eq!(h.phone.active_call(), None);
}

#[test]
fn answered_before_sdp_answer_is_accepted() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+14155550142");
    h.deliver(ServerMessage::CallAnswered { call_id: call_id.clone(), answered_at: None });
    h.deliver(ServerMessage::SdpAnswer { call_id, sdp: "v=0".into() });
    assert_eq!(h.info(call).phase, CallPhase::Active);
    assert!(h.media.contains(&MediaRequest::ApplyAnswer { call, sdp: "v=0".into() }));
}

#[test]
fn second_dial_while_the_first_awaits_trying_fails_locally_rate_limited() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    h.take_sent();
    h.command(Command::Dial { destination: "+14155550143".into() });
    assert!(h.take_sent().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::RateLimited);
    assert_eq!(h.phone.calls().len(), 1);
}

#[test]
fn no_call_trying_within_30_s_fails_the_call_and_a_late_trying_is_hung_up() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    let call = h.only_call();
    let Some(ClientMessage::CallCreate { req_id, .. }) = h.take_sent().pop() else { panic!("call.create") };
    h.advance(29_999);
    assert!(h.phone.call(call).is_some());
    h.advance(1);
    assert!(h.phone.call(call).is_none());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::CallFailed);
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Failed));
    assert!(h.media.contains(&MediaRequest::CloseCall { call }));

    h.deliver(ServerMessage::CallTrying { call_id: "call_late".into(), req_id });
    assert_eq!(h.take_sent(), [ClientMessage::CallHangup { call_id: "call_late".into() }]);
    assert!(h.phone.calls().is_empty());
}

#[test]
fn error_echoing_the_req_id_refuses_the_attempt() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+15005550009".into() });
    let Some(ClientMessage::CallCreate { req_id, .. }) = h.take_sent().pop() else { panic!("call.create") };
    h.deliver(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::CallFailed,
        message: "destination unreachable".into(),
        req_id,
        call_id: None,
        fatal: Some(false),
        context: None,
    }));
    assert!(h.phone.calls().is_empty());
    let error = h.errors().pop().expect("reported");
    assert_eq!(error.code, PhoneErrorCode::CallFailed);
    assert!(error.call.is_some());
    // The slot is free again.
    h.server.auto_trying = true;
    h.dial("+14155550142");
}

#[test]
fn trying_without_req_id_answers_the_outstanding_dial_and_a_foreign_req_id_is_dropped() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    let call = h.only_call();
    h.deliver(ServerMessage::CallTrying {
        call_id: "call_x".into(),
        req_id: Some("req_someone_else".into()),
    });
    assert_eq!(h.info(call).call_id, None);
    h.deliver(ServerMessage::CallTrying { call_id: "call_y".into(), req_id: None });
    assert_eq!(h.info(call).call_id.as_deref(), Some("call_y"));
}

#[test]
fn cancelling_before_trying_ends_locally_and_hangs_up_the_late_leg() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    let call = h.only_call();
    let Some(ClientMessage::CallCreate { req_id, .. }) = h.take_sent().pop() else { panic!("call.create") };
    h.command(Command::Hangup { call });
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Hangup));
    h.deliver(ServerMessage::CallTrying { call_id: "call_z".into(), req_id });
    assert_eq!(h.take_sent(), [ClientMessage::CallHangup { call_id: "call_z".into() }]);
}

#[test]
fn empty_destination_is_refused_locally_with_invalid_message() {
    let mut h = Harness::connected();
    h.take_sent();
    h.command(Command::Dial { destination: " ()- ".into() });
    assert!(h.take_sent().is_empty());
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::InvalidMessage);
}

#[test]
fn dialling_while_disconnected_is_refused() {
    let mut h = Harness::new();
    h.command(Command::Dial { destination: "+14155550142".into() });
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::TransportClosed);
}

#[test]
fn frames_for_unknown_calls_are_ignored() {
    let mut h = Harness::connected();
    h.take_events();
    h.take_media();
    h.take_sent();
    for frame in [
        ServerMessage::CallRinging { call_id: "call_ghost".into() },
        ServerMessage::CallAnswered { call_id: "call_ghost".into(), answered_at: None },
        ServerMessage::SdpAnswer { call_id: "call_ghost".into(), sdp: "v=0".into() },
        ServerMessage::CallEnded {
            call_id: "call_ghost".into(),
            reason: EndReason::Hangup,
            duration_seconds: None,
        },
        ServerMessage::CallHeld {
            call_id: "call_ghost".into(),
            held_by: ds_protocol::signalling::HeldBy::Local,
        },
    ] {
        h.deliver(frame);
    }
    assert!(h.take_events().is_empty());
    assert!(h.take_media().is_empty());
    assert!(h.take_sent().is_empty());
}

#[test]
fn mute_dtmf_and_ice_candidates_reach_the_right_places() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+15005550006");
    h.take_sent();
    h.take_media();
    h.command(Command::SetMuted { call, muted: true });
    assert_eq!(h.take_media(), [MediaRequest::SetMuted { call, muted: true }]);
    assert_eq!(h.take_sent(), [ClientMessage::CallMute { call_id: call_id.clone() }]);
    assert!(h.info(call).muted);
    h.command(Command::SetMuted { call, muted: false });
    assert_eq!(h.take_sent(), [ClientMessage::CallUnmute { call_id: call_id.clone() }]);
    h.take_media();
    h.command(Command::SendDtmf { call, digits: "1 2#x".into() });
    assert_eq!(h.take_media(), [MediaRequest::SendDtmf { call, digits: "12#".into() }]);
    assert!(h.take_sent().is_empty(), "DTMF travels in the media, never as a frame");
    h.media_event(ds_core::MediaEvent::LocalIceGatheringDone { call });
    assert_eq!(h.take_sent(), [ClientMessage::IceDone { call_id }]);
    assert!(h.events.iter().any(|e| matches!(e, PhoneEvent::CallUpdated(i) if i.muted)));
}
