//! Reconnection (protocol.md §4.4, §4.6, §4.8): back-off 1, 2, 4, 8, 16, 30 s with equal jitter,
//! counter reset only on `authenticated`, wake probe with 5 s liveness.
mod common;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use common::*;
use ds_core::view_model::ConnectionStatus;
use ds_core::{Command, PhoneConfig, TransportRequest, XorShift32};
use ds_protocol::signalling::ClientMessage;

const STEPS: [u64; 7] = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];

/// Delays between consecutive socket opens while every open fails at once.
fn delays_while_failing(h: &mut Harness, count: usize) -> Vec<u64> {
    h.sockets_ok = false;
    h.drop_socket();
    let start = h.socket_opens().len();
    let mut last = h.now;
    let mut delays = Vec::new();
    while delays.len() < count {
        h.advance(500);
        let opens = h.socket_opens();
        if opens.len() > start + delays.len() {
            let at = opens[start + delays.len()];
            delays.push(at - last);
            last = at;
        }
    }
    delays
}

#[test]
fn each_delay_is_uniform_between_half_step_and_step() {
    for seed in [1, 7, 99, 12_345] {
        let config = PhoneConfig { api_base: API_BASE.into(), ..PhoneConfig::default() };
        let mut h = Harness::with(config, Box::new(XorShift32::new(seed)));
        h.connect(&hour_token());
        let delays = delays_while_failing(&mut h, STEPS.len());
        for (delay, step) in delays.iter().zip(STEPS) {
            // The harness clock moves in 500 ms ticks, so the observed delay rounds up to it.
            assert!(*delay >= step / 2 && *delay <= step + 500, "seed {seed}: {delay} for step {step}");
        }
    }
}

#[test]
fn injected_random_source_sets_the_exact_jitter() {
    let config = PhoneConfig { api_base: API_BASE.into(), ..PhoneConfig::default() };
    // Always 0 → always the lower bound, step/2.
    let mut h = Harness::with(config.clone(), Box::new(|| 0u32));
    h.connect(&hour_token());
    h.sockets_ok = false;
    h.drop_socket();
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 500));
    h.advance(500);
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 1_000));
    // Draws of step/2 exactly → the upper bound, step.
    let mut h = Harness::with(config, Box::new(|| 500u32));
    h.connect(&hour_token());
    h.drop_socket();
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 1_000));
}

#[test]
fn back_off_counter_resets_only_on_authenticated() {
    let mut h =
        Harness::with(PhoneConfig { api_base: API_BASE.into(), ..PhoneConfig::default() }, Box::new(|| 0u32));
    h.connect(&hour_token());
    h.sockets_ok = false;
    h.drop_socket(); // attempt 1: 0.5 s
    h.advance(500); // fails → attempt 2: 1 s
    h.advance(1_000); // fails → attempt 3: 2 s
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 3 });
    // The socket opens but the server never authenticates: opening is not success.
    h.sockets_ok = true;
    h.server.auth = AuthPolicy::Silent;
    h.advance(2_000);
    h.advance(20_000); // auth timeout → attempt 4: 4 s
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 4 });
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 4_000));
    h.server.auth = AuthPolicy::Accept { reconnected: None };
    h.advance(4_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    h.drop_socket();
    assert_eq!(h.phone.poll_timeout(), Some(h.now + 500), "back to the first step");
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 });
}

#[test]
fn reconnect_skips_the_ice_fetch_and_reauthenticates_with_a_fresh_req_id() {
    let mut h = Harness::connected();
    let first = h.take_sent();
    h.drop_socket();
    h.advance(1_000);
    let second = h.take_sent();
    let ids: Vec<_> = first.iter().chain(&second).filter_map(|f| f.req_id().map(str::to_owned)).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let fetches = h.transport.iter().filter(|(_, r)| matches!(r, TransportRequest::FetchIceServers { .. }));
    assert_eq!(fetches.count(), 1);
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn wake_probe_without_any_frame_within_5_s_reconnects() {
    let mut h = Harness::connected();
    h.server.auto_pong = false;
    h.take_sent();
    h.command(Command::Wake);
    assert!(matches!(&h.take_sent()[..], [ClientMessage::Ping { req_id: Some(_) }]));
    h.advance(4_999);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    h.advance(1);
    assert_eq!(h.status(), ConnectionStatus::Reconnecting { attempt: 1 });
    h.advance(1_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn wake_probe_answered_by_pong_keeps_the_socket() {
    let mut h = Harness::connected();
    h.command(Command::Wake);
    h.advance(60_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert_eq!(h.socket_opens().len(), 1);
}

#[test]
fn wake_while_waiting_to_reconnect_tries_at_once() {
    let mut h = Harness::connected();
    h.sockets_ok = false;
    h.drop_socket();
    h.advance(500);
    h.advance(1_000);
    h.advance(2_000);
    let opens = h.socket_opens().len();
    h.sockets_ok = true;
    h.command(Command::Wake);
    assert_eq!(h.socket_opens().len(), opens + 1);
    assert_eq!(h.status(), ConnectionStatus::Connected);
}

#[test]
fn without_auto_reconnect_a_lost_socket_ends_in_error() {
    let config = PhoneConfig { api_base: API_BASE.into(), auto_reconnect: false, ..PhoneConfig::default() };
    let mut h = Harness::with(config, Box::new(XorShift32::new(3)));
    h.connect(&hour_token());
    h.drop_socket();
    assert_eq!(h.status(), ConnectionStatus::Error);
    h.advance(120_000);
    assert_eq!(h.socket_opens().len(), 1);
}

#[test]
fn close_event_of_a_socket_the_phone_already_abandoned_is_ignored() {
    let mut h = Harness::connected();
    h.server.auto_pong = false;
    h.command(Command::Wake);
    h.advance(5_000); // phone closes socket 1 itself; the harness reports its close event
    h.advance(1_000);
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert_eq!(h.socket_opens().len(), 2);
}
