//! Property tests of the phone: random interleavings of server frames, user commands, media
//! events, socket drops and time. Whatever happens, `ended` stays terminal and the phone never
//! sends a frame about a call it does not know.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashSet;

use common::*;
use ds_core::{CallHandle, Command, MediaEvent, PhoneErrorCode, PhoneEvent};
use ds_protocol::signalling::{
    CallDirection, CallState, EndReason, ErrorCode, ErrorFrame, HeldBy, RejectReason, ServerMessage,
};
use proptest::prelude::*;
use proptest::sample::select;

const IDS: &[&str] = &["call_a", "call_b", "call_c", "call_d", "call_e", "call_srv0001", "call_srv0002"];

fn call_id() -> impl Strategy<Value = String> {
    select(IDS).prop_map(str::to_owned)
}

fn handle() -> impl Strategy<Value = CallHandle> {
    (1u64..8).prop_map(CallHandle)
}

fn frame() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (call_id(), select(vec![None, Some("JANE".to_owned())])).prop_map(|(call_id, from_name)| {
            ServerMessage::CallIncoming {
                call_id,
                from: "+16195550177".into(),
                from_name,
                to: "+14155550100".into(),
            }
        }),
        call_id().prop_map(|call_id| ServerMessage::SdpOffer { call_id, sdp: "v=0".into() }),
        (call_id(), select(vec![None, Some("req_x_1".to_owned())]))
            .prop_map(|(call_id, req_id)| ServerMessage::CallTrying { call_id, req_id }),
        call_id().prop_map(|call_id| ServerMessage::CallRinging { call_id }),
        call_id().prop_map(|call_id| ServerMessage::CallAnswered { call_id, answered_at: None }),
        (call_id(), select(HeldBy::KNOWN))
            .prop_map(|(call_id, held_by)| ServerMessage::CallHeld { call_id, held_by }),
        call_id().prop_map(|call_id| ServerMessage::CallResumed { call_id }),
        (call_id(), select(EndReason::KNOWN)).prop_map(|(call_id, reason)| ServerMessage::CallEnded {
            call_id,
            reason,
            duration_seconds: None
        }),
        (call_id(), select(CallState::KNOWN), select(CallDirection::KNOWN)).prop_map(
            |(call_id, state, direction)| {
                ServerMessage::CallRestored {
                    call_id,
                    state,
                    from: "+1".into(),
                    from_name: None,
                    to: "+2".into(),
                    direction,
                    answered_at: None,
                }
            }
        ),
        call_id().prop_map(|call_id| ServerMessage::SdpPranswer { call_id, sdp: "v=0".into() }),
        call_id().prop_map(|call_id| ServerMessage::SdpAnswer { call_id, sdp: "v=0".into() }),
        (select(ErrorCode::KNOWN), proptest::option::of(call_id()), any::<bool>()).prop_map(
            |(code, call_id, fatal)| {
                ServerMessage::Error(ErrorFrame {
                    code,
                    message: "x".into(),
                    req_id: None,
                    call_id,
                    fatal: Some(fatal),
                    context: None,
                })
            }
        ),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        select(vec!["+14155550142", "101", "*72", ""]).prop_map(|d| Command::Dial { destination: d.into() }),
        handle().prop_map(|call| Command::Answer { call }),
        (handle(), select(RejectReason::KNOWN)).prop_map(|(call, reason)| Command::Reject { call, reason }),
        handle().prop_map(|call| Command::Hangup { call }),
        handle().prop_map(|call| Command::Hold { call }),
        handle().prop_map(|call| Command::Resume { call }),
        (handle(), any::<bool>()).prop_map(|(call, muted)| Command::SetMuted { call, muted }),
        handle().prop_map(|call| Command::SendDtmf { call, digits: "1#".into() }),
        handle().prop_map(|call| Command::BlindTransfer { call, destination: "+16195550177".into() }),
        handle().prop_map(|call| Command::ConsultTransfer { call, destination: "+16195550177".into() }),
        handle().prop_map(|call| Command::CompleteTransfer { call }),
        handle().prop_map(|call| Command::CancelTransfer { call }),
        Just(Command::Wake),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Deliver(ServerMessage),
    Command(Command),
    Media(MediaEvent),
    Advance(u64),
    DropSocket,
    ServerQuiet(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => frame().prop_map(Op::Deliver),
        5 => command().prop_map(Op::Command),
        1 => handle().prop_map(|call| Op::Media(MediaEvent::RemoteAudioFlowing { call })),
        1 => handle().prop_map(|call| Op::Media(MediaEvent::ProvisionalAnswerUnusable { call })),
        1 => handle().prop_map(|call| Op::Media(MediaEvent::Failed {
            call,
            code: PhoneErrorCode::MicPermissionDenied,
            message: "denied".into()
        })),
        2 => (0u64..40_000).prop_map(Op::Advance),
        1 => Just(Op::DropSocket),
        1 => any::<bool>().prop_map(Op::ServerQuiet),
    ]
}

fn ids_in_event(event: &PhoneEvent) -> Option<(CallHandle, Option<String>)> {
    match event {
        PhoneEvent::CallAdded(info) | PhoneEvent::CallUpdated(info) | PhoneEvent::CallRemoved(info) => {
            Some((info.handle, info.call_id.clone()))
        }
        _ => None,
    }
}

fn frame_ids(frame: &ServerMessage) -> Option<String> {
    frame.call_id().map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ended_is_terminal_and_frames_only_name_known_calls(ops in proptest::collection::vec(op(), 1..60)) {
        let mut h = Harness::connected();
        let mut known_ids: HashSet<String> = HashSet::new();
        let mut removed: HashSet<CallHandle> = HashSet::new();
        for op in ops {
            let introduced = match &op {
                Op::Deliver(frame) => frame_ids(frame),
                _ => None,
            };
            match op {
                Op::Deliver(frame) => h.deliver(frame),
                Op::Command(command) => h.command(command),
                Op::Media(event) => h.media_event(event),
                Op::Advance(ms) => h.advance(ms),
                Op::DropSocket => {
                    if h.socket.is_some() {
                        h.drop_socket();
                    }
                }
                Op::ServerQuiet(quiet) => {
                    h.server.auto_calls = !quiet;
                    h.server.auto_trying = !quiet;
                }
            }
            for event in h.take_events() {
                if let Some((handle, call_id)) = ids_in_event(&event) {
                    prop_assert!(!removed.contains(&handle), "event {:?} after the call was removed", event);
                    if let Some(call_id) = call_id {
                        known_ids.insert(call_id);
                    }
                    if matches!(event, PhoneEvent::CallRemoved(_)) {
                        removed.insert(handle);
                    }
                }
            }
            for handle in &removed {
                prop_assert!(h.phone.call(*handle).is_none(), "removed call {:?} came back", handle);
            }
            for frame in h.take_sent() {
                if let Some(id) = frame.call_id() {
                    prop_assert!(
                        known_ids.contains(id) || introduced.as_deref() == Some(id),
                        "frame {:?} names a call the phone never knew", frame
                    );
                }
            }
        }
    }
}
