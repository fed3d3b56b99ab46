//! Connecting: ICE fetch → socket → authenticate → ready (protocol.md §4.4, §4.5).
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{Command, PhoneConfig, PhoneErrorCode, TransportRequest, XorShift32};
use ds_protocol::signalling::{ClientMessage, ErrorCode, ServerMessage};

#[test]
fn connect_fetches_ice_servers_then_opens_the_socket_then_authenticates() {
    let mut h = Harness::new();
    let token = hour_token();
    h.command(Command::Connect { token: token.clone() });

    let requests: Vec<_> = h.transport.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(
        requests[0],
        TransportRequest::FetchIceServers {
            url: "http://127.0.0.1:8787/v1/webrtc/ice-servers".into(),
            token: token.clone()
        }
    );
    let TransportRequest::OpenSocket { url, protocols, .. } = &requests[1] else {
        panic!("second request should open the socket: {requests:?}");
    };
    assert_eq!(url, "ws://127.0.0.1:8787/v1/webrtc");
    assert_eq!(protocols, &["dialstack.webrtc.v1"]);

    let sent = h.take_sent();
    let [ClientMessage::Authenticate { req_id: Some(req_id), token: sent_token, emergency_address_id: None }] =
        sent.as_slice()
    else {
        panic!("the first and only frame must be authenticate: {sent:?}");
    };
    assert!(req_id.starts_with("req_"), "{req_id}");
    assert_eq!(sent_token, &token);
    assert_eq!(h.statuses(), [ConnectionStatus::Connecting, ConnectionStatus::Connected]);
    assert_eq!(h.phone.user_id().as_deref(), Some(USER));
    assert_eq!(h.phone.account_id(), Some(ACCOUNT));
}

#[test]
fn emergency_address_is_presented_in_authenticate() {
    let mut h = Harness::new();
    h.command(Command::SetEmergencyAddress { id: Some("emerg_01k0a9".into()) });
    h.connect(&hour_token());
    let sent = h.take_sent();
    assert!(matches!(
        &sent[0],
        ClientMessage::Authenticate { emergency_address_id: Some(id), .. } if id == "emerg_01k0a9"
    ));
}

#[test]
fn fixed_ice_configuration_skips_the_fetch() {
    let config =
        PhoneConfig { api_base: API_BASE.into(), fetch_ice_servers: false, ..PhoneConfig::default() };
    let mut h = Harness::with(config, Box::new(XorShift32::new(1)));
    h.connect(&hour_token());
    assert!(!h.transport.iter().any(|(_, r)| matches!(r, TransportRequest::FetchIceServers { .. })));
}

#[test]
fn ice_fetch_failure_ends_in_error_without_opening_a_socket() {
    let mut h = Harness::new();
    h.ice_ok = false;
    h.command(Command::Connect { token: hour_token() });
    assert_eq!(h.status(), ConnectionStatus::Error);
    assert!(h.socket_opens().is_empty());
    assert_eq!(h.errors()[0].code, PhoneErrorCode::IceFetchFailed);
    h.advance(120_000);
    assert!(h.socket_opens().is_empty(), "no automatic retry after a failed ICE fetch");
}

#[test]
fn ice_fetch_that_never_answers_times_out_after_10_s() {
    // Driven by hand, without the harness's fake fetcher, so that the fetch never answers.
    let mut phone = ds_core::Phone::new(
        PhoneConfig { api_base: API_BASE.into(), ..PhoneConfig::default() },
        Box::new(XorShift32::new(1)),
    );
    phone.handle_command(T0, Command::Connect { token: hour_token() });
    while phone.poll_output().is_some() {}
    assert_eq!(phone.poll_timeout(), Some(T0 + 10_000));
    phone.handle_timeout(T0 + 9_999);
    assert_eq!(phone.connection_status(), ConnectionStatus::Connecting);
    phone.handle_timeout(T0 + 10_000);
    assert_eq!(phone.connection_status(), ConnectionStatus::Error);
}

#[test]
fn no_authenticated_within_20_s_reports_auth_failed_and_schedules_a_reconnect() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::Silent;
    h.command(Command::Connect { token: hour_token() });
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    h.advance(19_999);
    assert!(h.errors().is_empty());
    h.advance(1);
    assert_eq!(h.errors()[0].code, PhoneErrorCode::AuthFailed);
    assert!(!h.errors()[0].fatal);
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 });
    assert!(h.transport.iter().any(|(_, r)| matches!(r, TransportRequest::CloseSocket { .. })));
}

#[test]
fn authenticated_echoing_another_req_id_is_stale_and_dropped() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::Silent;
    h.command(Command::Connect { token: hour_token() });
    h.deliver(ServerMessage::Authenticated {
        req_id: Some("req_other_9".into()),
        user_id: USER.into(),
        account_id: ACCOUNT.into(),
        reconnected: None,
    });
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    // A reply without req_id answers the outstanding request (§4.3).
    h.deliver(ServerMessage::Authenticated {
        req_id: None,
        user_id: USER.into(),
        account_id: ACCOUNT.into(),
        reconnected: None,
    });
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn non_fatal_error_echoing_authenticate_abandons_the_socket() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::NonFatal(ErrorCode::InvalidMessage);
    h.command(Command::Connect { token: hour_token() });
    assert_eq!(h.errors()[0].code, PhoneErrorCode::InvalidMessage);
    assert!(h.transport.iter().any(|(_, r)| matches!(r, TransportRequest::CloseSocket { .. })));
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 });
}

#[test]
fn signalling_url_is_derived_from_the_api_base() {
    let h = Harness::new();
    assert_eq!(h.phone.signalling_url(), "ws://127.0.0.1:8787/v1/webrtc");
    let production = ds_core::Phone::new(PhoneConfig::default(), Box::new(XorShift32::new(1)));
    assert_eq!(production.signalling_url(), "wss://webrtc.dialstack.ai/v1/webrtc");
}

#[test]
fn connect_while_connected_does_not_open_a_second_socket() {
    let mut h = Harness::connected();
    h.command(Command::Connect { token: hour_token() });
    assert_eq!(h.socket_opens().len(), 1);
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn user_disconnect_closes_the_socket_and_never_reconnects() {
    let mut h = Harness::connected();
    h.command(Command::Disconnect);
    assert_eq!(h.status(), ConnectionStatus::Disconnected);
    h.advance(300_000);
    assert_eq!(h.socket_opens().len(), 1);
}
