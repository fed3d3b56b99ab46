//! Blind and attended transfer (protocol.md §7.9, §7.10).
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::{ConnectionStatus, call_controls};
use ds_core::{CallPhase, Command, PhoneErrorCode};
use ds_protocol::signalling::{
    ClientMessage, EndReason, ErrorCode, ErrorFrame, HeldBy, ServerMessage, TransferStep,
};

#[test]
fn blind_transfer_sends_call_transfer_and_ends_transferred() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::BlindTransfer { call, destination: "6195550177".into() });
    assert_eq!(h.take_sent(), [ClientMessage::CallTransfer { call_id, destination: "+16195550177".into() }]);
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Transferred));
}

#[test]
fn failed_blind_transfer_reports_and_keeps_the_call() {
    let mut h = Harness::connected();
    h.server.auto_calls = false;
    let (call, call_id) = h.active_outbound("+14155550142");
    h.command(Command::BlindTransfer { call, destination: "+15005550009".into() });
    h.deliver(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::CallFailed,
        message: "transfer failed".into(),
        req_id: None,
        call_id: Some(call_id),
        fatal: Some(false),
        context: None,
    }));
    assert_eq!(h.errors()[0].code, PhoneErrorCode::CallFailed);
    assert_eq!(h.errors()[0].call, Some(call));
    assert_eq!(h.info(call).phase, CallPhase::Active);
}

/// Original call A active, consult leg B answered. Returns (A, A id, B, B id).
fn consulting(h: &mut Harness) -> (ds_core::CallHandle, String, ds_core::CallHandle, String) {
    let (a, a_id) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::ConsultTransfer { call: a, destination: "+16195550177".into() });
    let sent = h.take_sent();
    let [ClientMessage::CallTransferAttended { req_id: Some(_), call_id, step, destination, sdp: Some(_) }] =
        &sent[..]
    else {
        panic!("expected the consult step: {sent:?}");
    };
    assert_eq!(call_id, &a_id);
    assert_eq!(*step, TransferStep::Consult);
    assert_eq!(destination.as_deref(), Some("+16195550177"));
    let b = h.phone.active_call().expect("consult leg is current");
    let b_id = h.info(b).call_id.expect("call.trying introduced the consult leg");
    assert_eq!(h.info(a).phase, CallPhase::Held, "the server holds A");
    assert_eq!(h.info(b).consult_for, Some(a));
    assert_eq!(h.info(a).consulted_by, Some(b));
    h.deliver(ServerMessage::CallAnswered { call_id: b_id.clone(), answered_at: None });
    (a, a_id, b, b_id)
}

#[test]
fn consult_then_complete_ends_both_legs_transferred() {
    let mut h = Harness::connected();
    let (a, a_id, b, _) = consulting(&mut h);
    assert!(call_controls(&h.info(b), ConnectionStatus::Connected).complete_transfer.enabled);
    h.command(Command::CompleteTransfer { call: b });
    let sent = h.take_sent();
    assert!(matches!(
        &sent[..],
        [ClientMessage::CallTransferAttended { call_id, step: TransferStep::Complete, destination: None, sdp: None, .. }]
            if *call_id == a_id
    ));
    let removed = h.removed();
    assert_eq!(removed.len(), 2);
    assert!(removed.iter().all(|c| c.end_reason == Some(EndReason::Transferred)));
    assert!(removed.iter().any(|c| c.handle == a) && removed.iter().any(|c| c.handle == b));
    assert!(h.phone.calls().is_empty());
}

#[test]
fn complete_before_the_consulted_party_answers_is_refused_locally() {
    let mut h = Harness::connected();
    let (a, _) = h.active_outbound("+14155550142");
    h.command(Command::ConsultTransfer { call: a, destination: "+16195550177".into() });
    h.take_sent();
    h.command(Command::CompleteTransfer { call: a });
    assert!(h.take_sent().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::InvalidMessage);
}

#[test]
fn cancel_hangs_up_the_consult_leg_and_resumes_the_original() {
    let mut h = Harness::connected();
    let (a, a_id, b, b_id) = consulting(&mut h);
    h.take_sent();
    h.command(Command::CancelTransfer { call: a });
    assert_eq!(
        h.take_sent(),
        [ClientMessage::CallHangup { call_id: b_id }, ClientMessage::CallResume { call_id: a_id }]
    );
    assert!(h.phone.call(b).is_none());
    let a_info = h.info(a);
    assert_eq!(a_info.phase, CallPhase::Active);
    assert_eq!(a_info.consulted_by, None);
    assert_eq!(h.phone.active_call(), Some(a));
}

#[test]
fn consult_error_echoing_the_req_id_drops_the_consult_leg_only() {
    let mut h = Harness::connected();
    h.server.auto_calls = false;
    let (a, _) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::ConsultTransfer { call: a, destination: "+16195550177".into() });
    let Some(ClientMessage::CallTransferAttended { req_id, .. }) = h.take_sent().pop() else {
        panic!("consult step sent")
    };
    h.deliver(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::CallFailed,
        message: "no".into(),
        req_id,
        call_id: None,
        fatal: None,
        context: None,
    }));
    assert_eq!(h.phone.calls().len(), 1);
    assert_eq!(h.info(a).consulted_by, None);
    assert_eq!(h.phone.active_call(), Some(a));
}

#[test]
fn switching_between_the_legs_uses_hold_and_resume() {
    let mut h = Harness::connected();
    let (a, a_id, b, b_id) = consulting(&mut h);
    h.take_sent();
    h.command(Command::Resume { call: a });
    assert_eq!(
        h.take_sent(),
        [ClientMessage::CallHold { call_id: b_id }, ClientMessage::CallResume { call_id: a_id }]
    );
    assert_eq!(h.info(b).phase, CallPhase::Held);
    assert_eq!(h.info(b).held_by, Some(HeldBy::Local));
    assert_eq!(h.info(a).phase, CallPhase::Active);
}
