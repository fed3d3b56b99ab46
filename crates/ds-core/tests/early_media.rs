//! Early media (protocol.md §7.2, §14): provisional answers applied; ringback from ringing (or an
//! unusable provisional answer) until answer, end, or remote audio.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::{MediaEvent, MediaRequest};
use ds_protocol::signalling::{EndReason, ServerMessage};

#[test]
fn provisional_answers_are_applied_each_time_and_the_final_answer_follows() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+15005550005");
    h.take_media();
    h.deliver(ServerMessage::SdpPranswer { call_id: call_id.clone(), sdp: "v=0\r\npr1".into() });
    h.deliver(ServerMessage::SdpPranswer { call_id: call_id.clone(), sdp: "v=0\r\npr2".into() });
    assert_eq!(
        h.take_media(),
        [
            MediaRequest::ApplyProvisionalAnswer { call, sdp: "v=0\r\npr1".into() },
            MediaRequest::ApplyProvisionalAnswer { call, sdp: "v=0\r\npr2".into() },
        ]
    );
    assert!(h.info(call).early_media);
    h.deliver(ServerMessage::SdpAnswer { call_id: call_id.clone(), sdp: "v=0\r\nfinal".into() });
    h.deliver(ServerMessage::CallAnswered { call_id, answered_at: None });
    assert_eq!(h.take_media(), [MediaRequest::ApplyAnswer { call, sdp: "v=0\r\nfinal".into() }]);
}

#[test]
fn a_183_only_call_plays_no_local_ringback_while_its_early_media_is_usable() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+15005550005");
    h.deliver(ServerMessage::SdpPranswer { call_id: call_id.clone(), sdp: "v=0".into() });
    h.media_event(MediaEvent::RemoteAudioFlowing { call });
    h.deliver(ServerMessage::CallRinging { call_id });
    assert!(!h.media.iter().any(|m| matches!(m, MediaRequest::StartRingback { .. })));
}

#[test]
fn an_unusable_provisional_answer_starts_local_ringback_and_remote_audio_stops_it() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+15005550005");
    h.deliver(ServerMessage::SdpPranswer { call_id: call_id.clone(), sdp: "v=0".into() });
    h.take_media();
    h.media_event(MediaEvent::ProvisionalAnswerUnusable { call });
    assert_eq!(h.take_media(), [MediaRequest::StartRingback { call }]);
    assert!(h.info(call).ringback);
    h.media_event(MediaEvent::RemoteAudioFlowing { call });
    assert_eq!(h.take_media(), [MediaRequest::StopRingback { call }]);
    // Once real audio flows, a later ringing does not restart the synthetic tone.
    h.deliver(ServerMessage::CallRinging { call_id });
    assert!(h.take_media().is_empty());
}

#[test]
fn ringback_stops_when_the_call_ends_unanswered() {
    let mut h = Harness::connected();
    let (call, call_id) = h.dial("+15005550004");
    h.deliver(ServerMessage::CallRinging { call_id: call_id.clone() });
    h.take_media();
    h.deliver(ServerMessage::CallEnded { call_id, reason: EndReason::NoAnswer, duration_seconds: None });
    assert_eq!(h.take_media(), [MediaRequest::StopRingback { call }, MediaRequest::CloseCall { call }]);
}
