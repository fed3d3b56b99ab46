//! Two str0m client peers, each connected to the engine, bridged through it.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Harness, PROBE_FREQS, TestResult, dominant, run_for, run_until};
use ds_media::{MediaEvent, Source};

#[test]
fn bridged_legs_hear_each_other_both_ways() -> TestResult {
    let mut h = Harness::start()?;
    let (mut alice, a) = h.connect_offering_client()?;
    // One leg offered by a client, the other by the engine: both directions of §8.
    let (mut bob, b) = h.connect_answering_client()?;
    h.rt.block_on(h.engine.bridge(a, b))?;
    alice.sending_tone_hz = Some(660.0);
    bob.sending_tone_hz = Some(300.0);
    let since = Instant::now() + Duration::from_millis(200);
    run_for(&mut [&mut alice, &mut bob], Duration::from_millis(200))?;
    run_until(&mut [&mut alice, &mut bob], Duration::from_secs(10), |c| {
        c.iter().all(|c| c.received.iter().filter(|(t, _)| *t >= since).count() >= 40)
    })?;

    let alice_hears = alice.decoded_audio_since(since)?;
    let bob_hears = bob.decoded_audio_since(since)?;
    assert_eq!(dominant(&alice_hears, &PROBE_FREQS), 300.0, "alice should hear bob");
    assert_eq!(dominant(&bob_hears, &PROBE_FREQS), 660.0, "bob should hear alice");
    Ok(())
}

#[test]
fn bridge_forwards_opus_packets_byte_for_byte() -> TestResult {
    let mut h = Harness::start()?;
    let (mut alice, a) = h.connect_offering_client()?;
    let (mut bob, b) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.bridge(a, b))?;
    alice.sending_tone_hz = Some(660.0);
    // Packets of bob's own source sent before the bridge may still sit in bob's socket
    // buffer: pump them out before deciding what counts as "after the bridge".
    run_for(&mut [&mut alice, &mut bob], Duration::from_millis(300))?;
    bob.received.clear();
    run_until(&mut [&mut alice, &mut bob], Duration::from_secs(10), |c| c[1].received.len() >= 30)?;

    // No transcoding: everything bob got after the bridge is a packet alice sent.
    let sent: HashSet<&[u8]> = alice.sent.iter().map(Vec::as_slice).collect();
    let foreign = bob.received.iter().filter(|(_, p)| !sent.contains(p.as_slice())).count();
    assert_eq!(foreign, 0, "{foreign} of {} packets were not alice's", bob.received.len());
    Ok(())
}

#[test]
fn unbridge_returns_both_legs_to_their_own_sources() -> TestResult {
    let mut h = Harness::start()?;
    let (mut alice, a) = h.connect_offering_client()?;
    let (mut bob, b) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(a, Source::Tone { freq_hz: 880.0 }))?;
    h.rt.block_on(h.engine.set_source(b, Source::Tone { freq_hz: 1000.0 }))?;
    h.rt.block_on(h.engine.bridge(a, b))?;
    alice.sending_tone_hz = Some(660.0);
    bob.sending_tone_hz = Some(300.0);
    run_for(&mut [&mut alice, &mut bob], Duration::from_millis(500))?;

    h.rt.block_on(h.engine.unbridge(a))?;
    let since = Instant::now() + Duration::from_millis(200);
    run_for(&mut [&mut alice, &mut bob], Duration::from_millis(1200))?;
    assert_eq!(dominant(&alice.decoded_audio_since(since)?, &PROBE_FREQS), 880.0);
    assert_eq!(dominant(&bob.decoded_audio_since(since)?, &PROBE_FREQS), 1000.0);

    let to_self = h.rt.block_on(h.engine.bridge(a, a));
    assert!(matches!(to_self, Err(ds_media::MediaError::BridgeToSelf(_))));
    Ok(())
}

#[test]
fn closing_one_bridged_leg_returns_the_other_to_its_source() -> TestResult {
    let mut h = Harness::start()?;
    let (mut alice, a) = h.connect_offering_client()?;
    let (mut bob, b) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(b, Source::MusicOnHold))?;
    h.rt.block_on(h.engine.bridge(a, b))?;
    alice.sending_tone_hz = Some(300.0);
    run_for(&mut [&mut alice, &mut bob], Duration::from_millis(300))?;

    h.rt.block_on(h.engine.close(a))?;
    alice.stop();
    run_until(&mut [&mut alice, &mut bob], Duration::from_secs(5), |_| {
        h.has_event(&MediaEvent::Closed { leg: a })
    })?;
    let since = Instant::now() + Duration::from_millis(100);
    run_for(&mut [&mut bob], Duration::from_millis(1000))?;
    let bob_hears = bob.decoded_audio_since(since)?;
    assert!(common::energy(&bob_hears) > 0.002, "bob hears nothing after alice left");
    // Hold music (C5 E5 G5), not alice's 300 Hz.
    assert_ne!(dominant(&bob_hears, &PROBE_FREQS), 300.0, "bob still hears alice");
    Ok(())
}

#[test]
fn peer_that_vanishes_is_reported_disconnected() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    // The client stops answering and sending without a goodbye, like a crashed browser.
    client.stop();
    run_until(&mut [&mut client], Duration::from_secs(40), |_| {
        h.has_event(&MediaEvent::Disconnected { leg })
    })?;
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 0);
    Ok(())
}
