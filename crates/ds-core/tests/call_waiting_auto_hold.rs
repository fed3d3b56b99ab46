//! Several calls (protocol.md §6.4, §7.6): call waiting, auto-hold of the active call when
//! answering, placing or switching, at most 4 live legs, remote hold.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::{Layout, select_layout};
use ds_core::{CallPhase, Command, MediaRequest, PhoneErrorCode};
use ds_protocol::signalling::{ClientMessage, HeldBy, RejectReason, ServerMessage};

#[test]
fn inbound_during_a_call_rings_as_call_waiting() {
    let mut h = Harness::connected();
    let (active, _) = h.active_outbound("+14155550142");
    h.take_media();
    let waiting = h.incoming("call_in1", "+16195550177", None);
    assert_eq!(h.take_media(), [MediaRequest::StartRingtone]);
    assert_eq!(h.phone.active_call(), Some(active), "the current call stays current");
    assert_eq!(
        select_layout(&h.phone.calls(), h.phone.active_call()),
        Layout::InCall { current: active, held: vec![], waiting: vec![waiting] }
    );
}

#[test]
fn answering_a_second_call_holds_the_active_one_first() {
    let mut h = Harness::connected();
    let (first, first_id) = h.active_outbound("+14155550142");
    let second = h.incoming("call_in1", "+16195550177", None);
    h.take_sent();
    h.command(Command::Answer { call: second });
    let sent = h.take_sent();
    assert_eq!(sent[0], ClientMessage::CallHold { call_id: first_id });
    assert!(matches!(sent[1], ClientMessage::CallAnswer { .. }));
    assert_eq!(h.info(first).phase, CallPhase::Held);
    assert_eq!(h.info(first).held_by, Some(HeldBy::Local));
    assert_eq!(h.info(second).phase, CallPhase::Active);
    assert_eq!(
        select_layout(&h.phone.calls(), h.phone.active_call()),
        Layout::InCall { current: second, held: vec![first], waiting: vec![] }
    );
}

#[test]
fn placing_a_call_holds_the_active_one_first() {
    let mut h = Harness::connected();
    let (first, first_id) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::Dial { destination: "+14155550143".into() });
    let sent = h.take_sent();
    assert_eq!(sent[0], ClientMessage::CallHold { call_id: first_id });
    assert!(matches!(sent[1], ClientMessage::CallCreate { .. }));
    assert_eq!(h.info(first).phase, CallPhase::Held);
}

#[test]
fn switching_to_a_held_call_holds_the_other_and_resumes_it() {
    let mut h = Harness::connected();
    let (first, first_id) = h.active_outbound("+14155550142");
    let (second, second_id) = h.active_outbound("+14155550143");
    assert_eq!(h.info(first).phase, CallPhase::Held);
    h.take_sent();
    h.command(Command::Resume { call: first });
    assert_eq!(
        h.take_sent(),
        [ClientMessage::CallHold { call_id: second_id }, ClientMessage::CallResume { call_id: first_id }]
    );
    assert_eq!(h.info(first).phase, CallPhase::Active);
    assert_eq!(h.info(second).phase, CallPhase::Held);
    assert_eq!(h.phone.active_call(), Some(first));
}

#[test]
fn a_fifth_inbound_call_is_declined_busy_automatically() {
    let mut h = Harness::connected();
    for i in 0..4 {
        h.incoming(&format!("call_in{i}"), "+16195550177", None);
    }
    h.take_sent();
    h.take_events();
    h.deliver(ServerMessage::CallIncoming {
        call_id: "call_in4".into(),
        from: "+16195550178".into(),
        from_name: None,
        to: "+14155550100".into(),
    });
    assert_eq!(
        h.take_sent(),
        [ClientMessage::CallReject { call_id: "call_in4".into(), reason: Some(RejectReason::Busy) }]
    );
    assert_eq!(h.phone.calls().len(), 4);
    assert!(h.take_events().is_empty(), "the UI never sees the auto-declined call");
}

#[test]
fn dialling_with_four_live_calls_is_refused() {
    let mut h = Harness::connected();
    for i in 0..4 {
        h.incoming(&format!("call_in{i}"), "+16195550177", None);
    }
    h.command(Command::Dial { destination: "+14155550142".into() });
    assert_eq!(h.errors()[0].code, PhoneErrorCode::CallLimit);
    assert_eq!(h.phone.calls().len(), 4);
}

#[test]
fn remote_hold_is_shown_and_local_resume_is_refused() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+14155550142");
    h.deliver(ServerMessage::CallHeld { call_id: call_id.clone(), held_by: HeldBy::Remote });
    assert_eq!(h.info(call).held_by, Some(HeldBy::Remote));
    h.take_sent();
    h.command(Command::Resume { call });
    assert!(h.take_sent().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::InvalidMessage);
    h.deliver(ServerMessage::CallResumed { call_id });
    assert_eq!(h.info(call).phase, CallPhase::Active);
    assert_eq!(h.info(call).held_by, None);
}

#[test]
fn hold_and_resume_follow_the_server() {
    let mut h = Harness::connected();
    h.server.auto_calls = false;
    let (call, call_id) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::Hold { call });
    assert_eq!(h.take_sent(), [ClientMessage::CallHold { call_id: call_id.clone() }]);
    assert_eq!(h.info(call).phase, CallPhase::Active, "state changes only on call.held");
    h.deliver(ServerMessage::CallHeld { call_id: call_id.clone(), held_by: HeldBy::Local });
    assert_eq!(h.info(call).phase, CallPhase::Held);
    h.command(Command::Resume { call });
    assert_eq!(h.take_sent(), [ClientMessage::CallResume { call_id: call_id.clone() }]);
    h.deliver(ServerMessage::CallResumed { call_id });
    assert_eq!(h.info(call).phase, CallPhase::Active);
}

#[test]
fn when_the_active_call_ends_a_held_call_becomes_current() {
    let mut h = Harness::connected();
    let (first, _) = h.active_outbound("+14155550142");
    let (second, _) = h.active_outbound("+14155550143");
    h.command(Command::Hangup { call: second });
    assert_eq!(h.phone.active_call(), Some(first));
    assert_eq!(
        select_layout(&h.phone.calls(), h.phone.active_call()),
        Layout::InCall { current: first, held: vec![], waiting: vec![] }
    );
}
