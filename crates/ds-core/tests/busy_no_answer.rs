//! Unsuccessful outbound calls (protocol.md §6.2, §7.3): every end reason is reported, and
//! `ended` is terminal.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::{CallPhase, MediaRequest};
use ds_protocol::signalling::{EndReason, HeldBy, ServerMessage};

#[test]
fn each_end_reason_after_trying_removes_the_call_with_that_reason() {
    for reason in [EndReason::Busy, EndReason::NoAnswer, EndReason::Failed, EndReason::Rejected] {
        let mut h = Harness::connected();
        let (call, call_id) = h.dial("+15005550003");
        h.deliver(ServerMessage::CallRinging { call_id: call_id.clone() });
        h.deliver(ServerMessage::CallEnded { call_id, reason: reason.clone(), duration_seconds: None });
        let removed = h.removed();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].handle, call);
        assert_eq!(removed[0].phase, CallPhase::Ended);
        assert_eq!(removed[0].end_reason.as_ref(), Some(&reason));
        assert!(h.media.contains(&MediaRequest::CloseCall { call }));
        assert!(h.phone.calls().is_empty());
    }
}

#[test]
fn ended_is_terminal_later_frames_for_the_call_change_nothing() {
    let mut h = Harness::connected();
    let (_, call_id) = h.dial("+15005550003");
    h.deliver(ServerMessage::CallEnded {
        call_id: call_id.clone(),
        reason: EndReason::Busy,
        duration_seconds: None,
    });
    h.take_events();
    h.take_media();
    h.take_sent();
    for frame in [
        ServerMessage::CallEnded {
            call_id: call_id.clone(),
            reason: EndReason::Hangup,
            duration_seconds: Some(3),
        },
        ServerMessage::CallAnswered { call_id: call_id.clone(), answered_at: None },
        ServerMessage::CallHeld { call_id: call_id.clone(), held_by: HeldBy::Remote },
        ServerMessage::CallRinging { call_id: call_id.clone() },
        ServerMessage::CallIncoming {
            call_id: call_id.clone(),
            from: "+1".into(),
            from_name: None,
            to: "+2".into(),
        },
    ] {
        h.deliver(frame);
    }
    assert!(h.take_events().is_empty());
    assert!(h.take_media().is_empty());
    assert!(h.take_sent().is_empty());
    assert!(h.phone.calls().is_empty());
}

#[test]
fn unknown_end_reason_still_ends_the_call() {
    let mut h = Harness::connected();
    let (_, call_id) = h.dial("+14155550142");
    h.deliver(ServerMessage::CallEnded {
        call_id,
        reason: EndReason::Unknown("carrier_vanished".into()),
        duration_seconds: None,
    });
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.removed()[0].end_reason, Some(EndReason::Unknown("carrier_vanished".into())));
}
