//! Calls across a signalling gap (protocol.md §4.8, §16.2).
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{CallPhase, Command, Direction, MediaRequest, PhoneErrorCode};
use ds_protocol::signalling::{CallDirection, CallState, ClientMessage, EndReason, ServerMessage};

fn restored(call_id: &str, state: CallState) -> ServerMessage {
    ServerMessage::CallRestored {
        call_id: call_id.into(),
        state,
        from: USER.into(),
        from_name: None,
        to: "+14155550142".into(),
        direction: CallDirection::Outbound,
        answered_at: Some("2026-09-21T00:00:00Z".into()),
    }
}

#[test]
fn a_restored_call_keeps_its_handle_and_media() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+14155550142");
    let answered_at = h.info(call).answered_at_ms;
    h.take_media();
    h.drop_socket();
    assert_eq!(h.info(call).phase, CallPhase::Active, "calls survive the gap");
    h.server.auth = AuthPolicy::Accept { reconnected: Some(true) };
    h.server.after_auth = vec![restored(&call_id, CallState::Active)];
    h.advance(1_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    let info = h.info(call);
    assert!(info.restored);
    assert_eq!(info.answered_at_ms, answered_at, "the call timer keeps running");
    h.advance(10_000);
    assert!(h.phone.call(call).is_some(), "a restored call is not ended by the settle timer");
    assert!(!h.take_media().contains(&MediaRequest::CloseCall { call }));
}

#[test]
fn calls_not_restored_end_after_the_settle_window() {
    let mut h = Harness::connected();
    let (kept, kept_id) = h.active_outbound("+14155550142");
    let (lost, _) = h.active_outbound("+14155550143");
    h.drop_socket();
    h.server.auth = AuthPolicy::Accept { reconnected: Some(true) };
    h.server.after_auth = vec![restored(&kept_id, CallState::Held)];
    h.advance(1_000);
    assert!(h.phone.call(lost).is_some());
    h.advance(5_000);
    assert!(h.phone.call(lost).is_none());
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Failed));
    assert_eq!(h.info(kept).phase, CallPhase::Held);
}

#[test]
fn reconnected_false_ends_the_calls_the_server_dropped() {
    let mut h = Harness::connected();
    let (call, _) = h.active_outbound("+14155550142");
    h.drop_socket();
    h.server.auth = AuthPolicy::Accept { reconnected: Some(false) };
    h.advance(1_000);
    assert!(h.phone.call(call).is_none());
    assert!(h.media.contains(&MediaRequest::CloseCall { call }));
}

#[test]
fn a_server_that_does_not_speak_restore_keeps_the_calls() {
    let mut h = Harness::connected();
    let (call, _) = h.active_outbound("+14155550142");
    h.drop_socket();
    h.advance(60_000);
    assert_eq!(h.info(call).phase, CallPhase::Active);
}

#[test]
fn an_unknown_restored_call_is_re_attached() {
    let mut h = Harness::connected();
    h.drop_socket();
    h.server.auth = AuthPolicy::Accept { reconnected: Some(true) };
    h.server.after_auth = vec![ServerMessage::CallRestored {
        call_id: "call_from_before_reload".into(),
        state: CallState::Active,
        from: "+16195550177".into(),
        from_name: Some("JANE ROE".into()),
        to: "+14155550100".into(),
        direction: CallDirection::Inbound,
        answered_at: None,
    }];
    h.advance(1_000);
    let call = h.phone.call_by_id("call_from_before_reload").expect("re-attached");
    let info = h.info(call);
    assert_eq!((info.direction, info.phase), (Direction::Inbound, CallPhase::Active));
    assert_eq!(info.remote_number, "+16195550177");
    assert!(info.restored);
    h.take_sent();
    h.command(Command::Hangup { call });
    assert_eq!(h.take_sent(), [ClientMessage::CallHangup { call_id: "call_from_before_reload".into() }]);
}

#[test]
fn a_hangup_during_the_gap_is_sent_once_authenticated() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+14155550142");
    h.drop_socket();
    h.take_sent();
    h.command(Command::Hangup { call });
    assert!(h.phone.call(call).is_some(), "still waiting for call.ended");
    h.advance(1_000);
    let sent = h.take_sent();
    assert!(matches!(sent[0], ClientMessage::Authenticate { .. }));
    assert_eq!(sent[1], ClientMessage::CallHangup { call_id });
    assert!(h.phone.call(call).is_none());
}

#[test]
fn a_dial_in_flight_when_the_socket_drops_fails_with_transport_closed() {
    let mut h = Harness::connected();
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    h.drop_socket();
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::TransportClosed);
}
