//! Fatal errors (protocol.md §4.4, §9.1): the three terminal codes stop for good; every other
//! fatal code reconnects.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{MediaRequest, PhoneErrorCode};
use ds_protocol::signalling::{EndReason, ErrorCode, ErrorFrame, ServerMessage};

fn fatal(code: ErrorCode) -> ServerMessage {
    ServerMessage::Error(ErrorFrame {
        code,
        message: "bye".into(),
        req_id: None,
        call_id: None,
        fatal: Some(true),
        context: None,
    })
}

#[test]
fn terminal_fatal_codes_disconnect_without_reconnecting_and_end_calls() {
    for code in [ErrorCode::SessionRevoked, ErrorCode::AuthExpired, ErrorCode::SessionReplaced] {
        let mut h = Harness::connected();
        let (call, _) = h.active_outbound("+14155550142");
        h.deliver(fatal(code.clone()));
        assert_eq!(h.status(), ConnectionStatus::Error, "{code}");
        let error = h.errors().pop().expect("error reported");
        assert!(error.fatal && error.code.is_terminal(), "{code}");
        assert_eq!(error.code.as_str(), code.as_str());
        assert_eq!(h.removed()[0].end_reason, Some(EndReason::Failed));
        assert!(h.media.contains(&MediaRequest::CloseCall { call }));
        h.advance(600_000);
        assert_eq!(h.socket_opens().len(), 1, "{code}: no automatic reconnect");
    }
}

#[test]
fn other_fatal_codes_reconnect() {
    for code in [
        ErrorCode::IdleTimeout,
        ErrorCode::GoingAway,
        ErrorCode::SlowConsumer,
        ErrorCode::SessionLimit,
        ErrorCode::Unknown("brand_new_fatal".into()),
    ] {
        let mut h = Harness::connected();
        h.deliver(fatal(code.clone()));
        assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 }, "{code}");
        h.advance(1_000);
        assert_eq!(h.status(), ConnectionStatus::Connected, "{code}");
        assert_eq!(h.socket_opens().len(), 2);
    }
}

#[test]
fn terminal_code_during_the_handshake_stops_too() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::Fatal(ErrorCode::AuthExpired);
    h.command(ds_core::Command::Connect { token: hour_token() });
    assert_eq!(h.status(), ConnectionStatus::Error);
    h.advance(600_000);
    assert_eq!(h.socket_opens().len(), 1);
}

#[test]
fn fatal_auth_failed_at_the_handshake_retries_with_back_off() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::Fatal(ErrorCode::AuthFailed);
    h.command(ds_core::Command::Connect { token: hour_token() });
    assert_eq!(h.errors()[0].code, PhoneErrorCode::AuthFailed);
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 });
    assert_eq!(h.need_token.len(), 1, "the host is asked for a fresh token");
}

#[test]
fn a_token_supplied_after_auth_failed_is_used_on_the_next_attempt() {
    let mut h = Harness::new();
    h.server.auth = AuthPolicy::Fatal(ErrorCode::AuthFailed);
    let fresh = make_token(USER, T0 / 1000 + 7_200);
    h.token_supply = Some(fresh.clone());
    h.command(ds_core::Command::Connect { token: "stale".into() });
    h.server.auth = AuthPolicy::Accept { reconnected: None };
    h.advance(1_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    let tokens: Vec<_> = h
        .take_sent()
        .into_iter()
        .filter_map(|f| match f {
            ds_protocol::signalling::ClientMessage::Authenticate { token, .. } => Some(token),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, ["stale".to_owned(), fresh]);
}

#[test]
fn unknown_non_fatal_code_is_reported_and_changes_nothing() {
    let mut h = Harness::connected();
    let (call, call_id) = h.active_outbound("+14155550142");
    h.deliver(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::Unknown("mystery".into()),
        message: "?".into(),
        req_id: None,
        call_id: Some(call_id),
        fatal: None,
        context: None,
    }));
    let error = h.errors().pop().expect("reported");
    assert_eq!(error.code, PhoneErrorCode::Other("mystery".into()));
    assert_eq!(error.call, Some(call));
    assert!(!error.fatal);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert!(h.phone.call(call).is_some(), "non-fatal errors do not end the call");
}
