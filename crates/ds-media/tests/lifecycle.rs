//! Engine and leg lifetimes: abandoned offers, shutdown.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{Harness, TestResult, run_for};
use ds_media::{MediaEngine, MediaEvent};

#[test]
fn offer_never_answered_is_given_up_after_the_connect_timeout() -> TestResult {
    let mut h = Harness::start_with_connect_timeout(Duration::from_millis(300))?;
    let (leg, _offer) = h.rt.block_on(h.engine.create_offer())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !h.has_event(&MediaEvent::Disconnected { leg }) {
        assert!(Instant::now() < deadline, "abandoned leg was never given up");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 0);
    Ok(())
}

#[test]
fn connected_leg_outlives_the_connect_timeout() -> TestResult {
    let mut h = Harness::start_with_connect_timeout(Duration::from_millis(2000))?;
    let (mut client, leg) = h.connect_offering_client()?;
    run_for(&mut [&mut client], Duration::from_millis(2500))?;
    assert!(!h.has_event(&MediaEvent::Disconnected { leg }));
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 1);
    Ok(())
}

#[test]
fn dropping_the_last_handle_stops_the_engine_and_frees_its_port() -> TestResult {
    let (engine, mut events) = MediaEngine::start("127.0.0.1".parse()?)?;
    let addr = engine.local_addr();
    let clone = engine.clone();
    drop(engine);
    // A clone keeps it alive: the port is still taken.
    assert!(UdpSocket::bind(addr).is_err());
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if UdpSocket::bind(addr).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the engine kept its socket after the last handle went");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The event stream ends too.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    assert_eq!(rt.block_on(events.recv()), None);
    Ok(())
}

#[test]
fn binding_the_unspecified_address_is_refused_with_a_clear_error() {
    let refused = MediaEngine::start("0.0.0.0".parse().expect("an IP"));
    assert!(matches!(refused, Err(ds_media::MediaError::UnspecifiedAddress(_))), "{refused:?}");
}
