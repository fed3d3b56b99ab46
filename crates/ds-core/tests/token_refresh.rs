//! In-band token refresh (protocol.md §4.7): 60 s before `exp`, never sooner than 5 s, 15 s reply
//! timeout, the new token adopted only after `auth.refreshed`.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{Command, PhoneErrorCode};
use ds_protocol::signalling::ClientMessage;

fn authenticate_tokens(sent: &[ClientMessage]) -> Vec<String> {
    sent.iter()
        .filter_map(|f| match f {
            ClientMessage::Authenticate { token, .. } => Some(token.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn fresh_token_is_requested_60_s_before_exp() {
    let mut h = Harness::connected();
    let exp_ms = T0 + 3_600_000;
    assert_eq!(h.phone.poll_timeout(), Some(exp_ms - 60_000));
    h.advance(3_600_000 - 60_001);
    assert!(h.need_token.is_empty());
    h.advance(1);
    assert_eq!(h.need_token, [exp_ms - 60_000]);
}

#[test]
fn refresh_is_never_scheduled_sooner_than_5_s_from_now() {
    let mut h = Harness::new();
    h.connect(&make_token(USER, T0 / 1000 + 30));
    assert_eq!(h.phone.poll_timeout(), Some(T0 + 5_000));
    h.advance(5_000);
    assert_eq!(h.need_token, [T0 + 5_000]);
}

#[test]
fn provided_token_is_sent_as_auth_refresh_and_adopted_after_auth_refreshed() {
    let mut h = Harness::connected();
    let fresh = make_token(USER, T0 / 1000 + 7_200);
    h.token_supply = Some(fresh.clone());
    h.take_sent();
    h.advance(3_600_000 - 60_000);
    let sent = h.take_sent();
    assert!(
        matches!(&sent[..], [ClientMessage::AuthRefresh { req_id: Some(_), token }] if *token == fresh),
        "{sent:?}"
    );
    // Next refresh is scheduled from the new token's exp.
    assert_eq!(h.phone.poll_timeout(), Some(T0 + 7_200_000 - 60_000));
    // And a reconnect now presents the new token.
    h.drop_socket();
    h.advance(1_000);
    assert_eq!(authenticate_tokens(&h.take_sent()), [fresh]);
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn unanswered_refresh_reports_auth_failed_after_15_s_and_keeps_the_old_token() {
    let mut h = Harness::connected();
    h.server.refresh = RefreshPolicy::Silent;
    h.token_supply = Some(make_token(USER, T0 / 1000 + 7_200));
    h.advance(3_600_000 - 60_000);
    h.advance(14_999);
    assert!(h.errors().is_empty());
    h.advance(1);
    let errors = h.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, PhoneErrorCode::AuthFailed);
    assert!(!errors[0].fatal);
    assert_eq!(h.status(), ConnectionStatus::Connected, "a failed refresh keeps the session");
    // Re-scheduled from the still-current token: at least 5 s from now.
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 5_000));
    h.take_sent();
    h.drop_socket();
    h.advance(1_000);
    assert_eq!(authenticate_tokens(&h.take_sent()), [hour_token()], "old token still in use");
}

#[test]
fn refused_refresh_keeps_the_session_and_tries_again() {
    let mut h = Harness::connected();
    h.server.refresh = RefreshPolicy::Refuse;
    h.token_supply = Some(make_token("user_other", T0 / 1000 + 7_200));
    h.advance(3_600_000 - 60_000);
    assert_eq!(h.errors()[0].code, PhoneErrorCode::AuthFailed);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    h.advance(5_000);
    assert_eq!(h.need_token.len(), 2, "asks again from the still-current token");
}

#[test]
fn stale_auth_refreshed_does_not_adopt_the_token() {
    let mut h = Harness::connected();
    h.server.refresh = RefreshPolicy::Silent;
    h.command(Command::ProvideToken { token: make_token(USER, T0 / 1000 + 7_200) });
    h.deliver(ds_protocol::signalling::ServerMessage::AuthRefreshed { req_id: Some("req_stale_1".into()) });
    h.take_sent();
    h.drop_socket();
    h.advance(1_000);
    assert_eq!(authenticate_tokens(&h.take_sent()), [hour_token()]);
}

#[test]
fn undecodable_token_still_connects_but_schedules_no_refresh() {
    let mut h = Harness::new();
    h.connect("not-a-jwt");
    assert_eq!(h.phone.poll_timeout(), None);
    assert_eq!(h.phone.user_id().as_deref(), Some(USER), "user id comes from authenticated");
}
