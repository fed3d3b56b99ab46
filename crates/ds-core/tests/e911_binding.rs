//! Presenting, changing and re-binding the E911 address (protocol.md §4.5, §7.13).
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{Command, PhoneErrorCode};
use ds_protocol::signalling::{ClientMessage, ErrorCode, ServerMessage};

fn presented(sent: &[ClientMessage]) -> Vec<Option<String>> {
    sent.iter()
        .filter_map(|frame| match frame {
            ClientMessage::Authenticate { emergency_address_id, .. } => Some(emergency_address_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_address_set_before_connecting_is_presented_on_the_first_socket_only() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_a".into()) });
    h.connect(&hour_token());
    assert_eq!(presented(&h.take_sent()), [Some("emerg_a".to_owned())]);
    assert_eq!(h.socket_opens().len(), 1);
    assert_eq!(h.phone.emergency_session(), (Some("emerg_a"), false));
}

#[test]
fn saving_an_address_while_connected_re_authenticates_on_a_new_socket_with_it() {
    let mut h = Harness::connected();
    assert_eq!(h.phone.emergency_session(), (None, false));
    h.take_sent();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_new".into()) });
    assert_eq!(h.socket_opens().len(), 2, "a new socket binds the address");
    assert_eq!(presented(&h.take_sent()), [Some("emerg_new".to_owned())]);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert_eq!(h.phone.emergency_session(), (Some("emerg_new"), false));
    assert_eq!(h.phone.emergency_address_id(), Some("emerg_new"));
    // A re-bind is not a failure: the status goes through "connecting", never "reconnecting".
    assert!(!h.statuses().iter().any(|s| matches!(s, ConnectionStatus::Reconnecting { .. })));
}

#[test]
fn confirming_the_address_after_network_changed_presents_the_same_id_again() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_a".into()) });
    h.connect(&hour_token());
    h.deliver(ServerMessage::NetworkChanged {});
    assert_eq!(h.phone.emergency_session(), (Some("emerg_a"), true));
    h.take_sent();
    // The host cleared `registered_ip` (DELETE …/registered_ip) and asks to present it again.
    h.command(Command::SetEmergencyAddress { id: Some("emerg_a".into()) });
    assert_eq!(presented(&h.take_sent()), [Some("emerg_a".to_owned())]);
    assert_eq!(h.phone.emergency_session(), (Some("emerg_a"), false), "a new session starts unflagged");
}

#[test]
fn a_live_call_delays_the_rebind_until_it_ends() {
    let mut h = Harness::connected();
    let (call, _) = h.active_outbound("+14155550142");
    h.take_sent();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_new".into()) });
    assert_eq!(h.socket_opens().len(), 1, "the call must not be cut off");
    assert!(presented(&h.take_sent()).is_empty());
    assert_eq!(h.phone.emergency_session(), (None, false));
    h.command(Command::Hangup { call });
    assert!(h.phone.calls().is_empty());
    assert_eq!(h.socket_opens().len(), 2);
    assert_eq!(presented(&h.take_sent()), [Some("emerg_new".to_owned())]);
    assert_eq!(h.phone.emergency_session(), (Some("emerg_new"), false));
}

#[test]
fn clearing_the_address_re_authenticates_without_one() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_a".into()) });
    h.connect(&hour_token());
    h.take_sent();
    h.command(Command::SetEmergencyAddress { id: None });
    assert_eq!(presented(&h.take_sent()), [None]);
    assert_eq!(h.phone.emergency_session(), (None, false));
}

#[test]
fn a_refused_address_is_dropped_so_the_next_attempt_connects_without_it() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_gone".into()) });
    h.server.auth = AuthPolicy::NonFatal(ErrorCode::InvalidMessage);
    h.command(Command::Connect { token: hour_token() });
    let error = h.errors().pop().expect("the refusal is reported");
    assert_eq!(error.code, PhoneErrorCode::EmergencyAddressRequired, "the user is asked for an address");
    assert!(error.message.contains("emerg_gone"), "{}", error.message);
    assert_eq!(h.phone.emergency_address_id(), None);
    h.server.auth = AuthPolicy::Accept { reconnected: None };
    h.advance(60_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert_eq!(presented(&h.take_sent()), [Some("emerg_gone".to_owned()), None]);
}

#[test]
fn another_handshake_refusal_keeps_the_address() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_a".into()) });
    h.server.auth = AuthPolicy::NonFatal(ErrorCode::RateLimited);
    h.command(Command::Connect { token: hour_token() });
    assert_eq!(h.errors().pop().expect("reported").code, PhoneErrorCode::RateLimited);
    assert_eq!(h.phone.emergency_address_id(), Some("emerg_a"));
}
