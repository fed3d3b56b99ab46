//! Presence (protocol.md §7.11) and the E911 prompts (§7.13) reach the UI unchanged.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::{Command, PhoneErrorCode, PhoneEvent};
use ds_protocol::signalling::{
    ClientMessage, ErrorCode, ErrorFrame, PresenceEntry, PresenceStatus, ServerMessage,
};

fn entry(user: &str, status: PresenceStatus) -> PresenceEntry {
    PresenceEntry {
        user_id: user.into(),
        name: "Dr. Ortiz".into(),
        status,
        do_not_disturb: false,
        status_text: None,
        updated_at: "2026-09-21T00:00:00Z".into(),
    }
}

#[test]
fn subscribing_sends_the_watch_list_and_snapshots_and_deltas_reach_the_ui() {
    let mut h = Harness::connected();
    h.take_sent();
    h.command(Command::SubscribePresence { users: vec!["user_a".into(), "user_b".into()] });
    let sent = h.take_sent();
    assert!(matches!(
        &sent[..],
        [ClientMessage::PresenceSubscribe { req_id: Some(_), users }] if users == &["user_a", "user_b"]
    ));
    h.deliver(ServerMessage::PresenceList {
        req_id: None,
        users: vec![entry("user_a", PresenceStatus::OnCall)],
    });
    h.deliver(ServerMessage::PresenceUpdate(entry("user_a", PresenceStatus::Unknown("away".into()))));
    let presence: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Presence(entries) => Some(entries.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(presence.len(), 2);
    assert_eq!(presence[1][0].status.shown_as(), PresenceStatus::Offline);
}

#[test]
fn subscribing_while_disconnected_is_refused() {
    let mut h = Harness::new();
    h.command(Command::SubscribePresence { users: vec!["user_a".into()] });
    assert_eq!(h.errors()[0].code, PhoneErrorCode::TransportClosed);
}

#[test]
fn network_changed_and_emergency_address_required_are_reported() {
    let mut h = Harness::connected();
    h.deliver(ServerMessage::NetworkChanged {});
    assert!(h.events.contains(&PhoneEvent::NetworkChanged));
    h.server.auto_trying = false;
    h.command(Command::Dial { destination: "+14155550142".into() });
    let Some(ClientMessage::CallCreate { req_id, .. }) = h.take_sent().pop() else { panic!("call.create") };
    h.deliver(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::EmergencyAddressRequired,
        message: "bind an address".into(),
        req_id,
        call_id: None,
        fatal: Some(false),
        context: None,
    }));
    assert_eq!(h.errors().pop().expect("reported").code, PhoneErrorCode::EmergencyAddressRequired);
    assert!(h.phone.calls().is_empty());
}
