//! Inbound calls (protocol.md §7.4, §7.5, §16.5): ringtone while unanswered, answer sends
//! `call.answer` then `sdp.answer`, decline and busy-decline, duplicates dropped.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::{CallPhase, Command, Direction, MediaEvent, MediaRequest, PhoneErrorCode, PhoneEvent};
use ds_protocol::signalling::{ClientMessage, EndReason, RejectReason, ServerMessage};

#[test]
fn incoming_call_is_added_and_rings() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", Some("JANE ROE"));
    let info = h.info(call);
    assert_eq!((info.direction, info.phase), (Direction::Inbound, CallPhase::Ringing));
    assert_eq!(info.remote_number, "+16195550177");
    assert_eq!(info.remote_name.as_deref(), Some("JANE ROE"));
    assert_eq!(info.local_number.as_deref(), Some("+14155550100"));
    assert_eq!(h.media, [MediaRequest::StartRingtone]);
    assert!(h.events.iter().any(|e| matches!(e, PhoneEvent::CallAdded(i) if i.handle == call)));
}

#[test]
fn answering_creates_the_answer_then_sends_call_answer_and_sdp_answer() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", None);
    h.take_media();
    h.take_sent();
    h.command(Command::Answer { call });
    let media = h.take_media();
    assert_eq!(
        media,
        [
            MediaRequest::StopRingtone,
            MediaRequest::CreateAnswerFor { call, offer: "v=0\r\noffer call_in1\r\n".into() }
        ]
    );
    assert_eq!(
        h.take_sent(),
        [
            ClientMessage::CallAnswer { call_id: "call_in1".into() },
            ClientMessage::SdpAnswer { call_id: "call_in1".into(), sdp: "v=0\r\nanswer\r\n".into() },
        ]
    );
    let info = h.info(call);
    assert_eq!(info.phase, CallPhase::Active);
    assert_eq!(info.answered_at_ms, Some(h.now));
    assert!(!info.answering);
    assert_eq!(h.phone.active_call(), Some(call));
}

#[test]
fn answer_pressed_before_the_offer_arrives_waits_for_it() {
    let mut h = Harness::connected();
    h.deliver(ServerMessage::CallIncoming {
        call_id: "call_in2".into(),
        from: "+16195550177".into(),
        from_name: None,
        to: "+14155550100".into(),
    });
    let call = h.phone.call_by_id("call_in2").expect("added");
    h.take_sent();
    h.command(Command::Answer { call });
    assert!(h.take_sent().is_empty(), "call.answer waits for the answer SDP");
    assert!(h.info(call).answering);
    h.deliver(ServerMessage::SdpOffer { call_id: "call_in2".into(), sdp: "v=0 late".into() });
    assert!(h.media.contains(&MediaRequest::CreateAnswerFor { call, offer: "v=0 late".into() }));
    assert_eq!(h.take_sent().len(), 2);
}

#[test]
fn declining_sends_reject_decline_and_the_call_ends_rejected() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", None);
    h.take_sent();
    h.take_media();
    h.command(Command::Reject { call, reason: RejectReason::Decline });
    assert_eq!(
        h.take_sent(),
        [ClientMessage::CallReject { call_id: "call_in1".into(), reason: Some(RejectReason::Decline) }]
    );
    assert_eq!(h.take_media(), [MediaRequest::StopRingtone, MediaRequest::CloseCall { call }]);
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Rejected));
}

#[test]
fn busy_decline_ends_busy() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", None);
    h.command(Command::Reject { call, reason: RejectReason::Busy });
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Busy));
}

#[test]
fn caller_giving_up_stops_the_ringtone() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", None);
    h.take_media();
    h.deliver(ServerMessage::CallEnded {
        call_id: "call_in1".into(),
        reason: EndReason::NoAnswer,
        duration_seconds: None,
    });
    assert_eq!(h.take_media(), [MediaRequest::CloseCall { call }, MediaRequest::StopRingtone]);
}

#[test]
fn duplicate_call_incoming_is_dropped() {
    let mut h = Harness::connected();
    h.incoming("call_in1", "+16195550177", None);
    h.take_events();
    h.deliver(ServerMessage::CallIncoming {
        call_id: "call_in1".into(),
        from: "+16195550177".into(),
        from_name: None,
        to: "+14155550100".into(),
    });
    assert!(h.take_events().is_empty());
    assert_eq!(h.phone.calls().len(), 1);
}

#[test]
fn inbound_call_seeing_trying_or_ringing_stays_unanswered() {
    let mut h = Harness::connected();
    let call = h.incoming("call_in1", "+16195550177", None);
    h.deliver(ServerMessage::CallTrying { call_id: "call_in1".into(), req_id: None });
    h.deliver(ServerMessage::CallRinging { call_id: "call_in1".into() });
    assert_eq!(h.info(call).phase, CallPhase::Ringing);
    assert!(!h.media.iter().any(|m| matches!(m, MediaRequest::StartRingback { .. })));
}

#[test]
fn microphone_refusal_while_answering_keeps_the_call_ringing() {
    let mut h = Harness::connected();
    h.auto_media = false;
    let call = h.incoming("call_in1", "+16195550177", None);
    h.command(Command::Answer { call });
    h.take_media();
    h.media_event(MediaEvent::Failed {
        call,
        code: PhoneErrorCode::MicPermissionDenied,
        message: "NotAllowedError".into(),
    });
    assert_eq!(h.errors()[0].code, PhoneErrorCode::MicPermissionDenied);
    assert_eq!(h.errors()[0].call, Some(call));
    let info = h.info(call);
    assert!(!info.answering);
    assert_eq!(info.phase, CallPhase::Ringing);
    assert_eq!(h.take_media(), [MediaRequest::StartRingtone]);
}

#[test]
fn answered_elsewhere_ends_with_hangup_and_null_duration() {
    let mut h = Harness::connected();
    h.incoming("call_in1", "+16195550177", None);
    h.deliver(ServerMessage::CallEnded {
        call_id: "call_in1".into(),
        reason: EndReason::Hangup,
        duration_seconds: None,
    });
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.removed()[0].answered_at_ms, None);
}
