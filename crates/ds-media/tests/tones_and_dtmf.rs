//! Generated sources and RFC 4733 DTMF, over real UDP with a str0m client peer.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, PROBE_FREQS, TestResult, dominant, energy, goertzel, run_for, run_until};
use ds_media::{MediaEvent, Source};

#[test]
fn tone_source_delivers_a_440_hz_tone() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Tone { freq_hz: 440.0 }))?;
    client.received.clear();
    run_until(&mut [&mut client], Duration::from_secs(10), |c| c[0].received.len() >= 50)?;

    let audio = client.decoded_audio()?;
    let steady = &audio[audio.len() / 4..];
    assert!(energy(steady) > 0.005, "tone too quiet: {}", energy(steady));
    assert_eq!(dominant(steady, &PROBE_FREQS), 440.0);
    Ok(())
}

#[test]
fn engine_offer_answered_by_a_client_connects_and_plays_its_source() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_answering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Tone { freq_hz: 880.0 }))?;
    client.received.clear();
    run_until(&mut [&mut client], Duration::from_secs(10), |c| c[0].received.len() >= 50)?;

    let audio = client.decoded_audio()?;
    assert_eq!(dominant(&audio[audio.len() / 4..], &PROBE_FREQS), 880.0);
    Ok(())
}

#[test]
fn a_second_answer_for_the_same_offer_is_refused() -> TestResult {
    let mut h = Harness::start()?;
    let (leg, offer) = h.rt.block_on(h.engine.create_offer())?;
    let garbled = h.rt.block_on(h.engine.accept_answer(leg, "v=0 garbage"));
    assert!(matches!(garbled, Err(ds_media::MediaError::InvalidSdp(_))), "{garbled:?}");
    // The garbled answer lost nothing: a real answer still completes the leg.
    let (mut client, answer) = common::ClientPeer::answerer(&offer)?;
    h.rt.block_on(h.engine.accept_answer(leg, &answer))?;
    let again = h.rt.block_on(h.engine.accept_answer(leg, &answer));
    assert!(matches!(again, Err(ds_media::MediaError::NoPendingOffer(_))), "{again:?}");
    let connected = MediaEvent::Connected { leg };
    run_until(&mut [&mut client], Duration::from_secs(10), |_| h.has_event(&connected))?;
    Ok(())
}

#[test]
fn ringback_plays_440_and_480_hz_and_music_on_hold_is_audible() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::RingbackTone))?;
    client.received.clear();
    run_until(&mut [&mut client], Duration::from_secs(10), |c| c[0].received.len() >= 50)?;
    let audio = client.decoded_audio()?;
    let steady = &audio[audio.len() / 4..];
    let top = dominant(steady, &PROBE_FREQS);
    assert!(top == 440.0 || top == 480.0, "ringback dominant {top}");
    assert!(goertzel(steady, 480.0) > 10.0 * goertzel(steady, 1000.0));

    h.rt.block_on(h.engine.set_source(leg, Source::MusicOnHold))?;
    let since = Instant::now() + Duration::from_millis(100);
    run_for(&mut [&mut client], Duration::from_millis(1500))?;
    let hold = client.decoded_audio_since(since)?;
    assert!(energy(&hold) > 0.002, "hold music too quiet: {}", energy(&hold));
    Ok(())
}

#[test]
fn telephone_events_from_the_peer_become_one_digit_event_per_key_press() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    client.sending_tone_hz = Some(300.0);
    for event in [1u8, 5, 11, 10, 0] {
        client.press_digit(event)?;
        // 100 ms tone + 70 ms gap as the client sends them (§7.8), plus the end packets.
        run_for(&mut [&mut client], Duration::from_millis(250))?;
    }
    run_until(&mut [&mut client], Duration::from_secs(5), |_| h.dtmf_digits(leg).len() >= 5)?;
    run_for(&mut [&mut client], Duration::from_millis(300))?;
    assert_eq!(h.dtmf_digits(leg), "15#*0");
    Ok(())
}

#[test]
fn ivr_answers_each_digit_with_that_digits_tone_pair() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Ivr))?;
    run_for(&mut [&mut client], Duration::from_millis(300))?;
    let before = client.decoded_audio()?;
    assert!(energy(&before[before.len() / 2..]) < 1e-5, "the IVR is silent before any digit");

    let pressed = Instant::now();
    client.press_digit(5)?;
    run_until(&mut [&mut client], Duration::from_secs(5), |_| h.dtmf_digits(leg) == "5")?;
    run_for(&mut [&mut client], Duration::from_millis(500))?;
    let answer = client.decoded_audio_since(pressed)?;
    assert!(energy(&answer) > 0.001, "no burst after the digit");
    // Digit 5 is 770 Hz + 1336 Hz.
    assert!(goertzel(&answer, 1336.0) > 10.0 * goertzel(&answer, 1209.0));
    assert!(goertzel(&answer, 770.0) > 10.0 * goertzel(&answer, 697.0));
    Ok(())
}

#[test]
fn tone_burst_plays_over_silence_then_stops() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    run_for(&mut [&mut client], Duration::from_millis(200))?;
    let started = Instant::now();
    h.rt.block_on(h.engine.play_tone_burst(leg, &[1000.0], 300))?;
    run_for(&mut [&mut client], Duration::from_millis(1200))?;
    let audio = client.decoded_audio_since(started)?;
    assert_eq!(dominant(&audio, &PROBE_FREQS), 1000.0);
    // The burst lasted 300 ms: the last half second is silence again.
    let tail = &audio[audio.len().saturating_sub(24_000)..];
    assert!(energy(tail) < 1e-5, "burst did not stop: {}", energy(tail));
    let refused = h.rt.block_on(h.engine.play_dtmf_tone(leg, 'x', 100));
    assert!(matches!(refused, Err(ds_media::MediaError::NotADtmfDigit('x'))));
    Ok(())
}

#[test]
fn closed_leg_sends_nothing_more_and_reports_closed() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Tone { freq_hz: 440.0 }))?;
    run_until(&mut [&mut client], Duration::from_secs(10), |c| c[0].received.len() >= 10)?;

    h.rt.block_on(h.engine.close(leg))?;
    run_until(&mut [&mut client], Duration::from_secs(5), |_| h.has_event(&MediaEvent::Closed { leg }))?;
    // Packets already in flight may still land; after a short drain nothing more may come.
    run_for(&mut [&mut client], Duration::from_millis(200))?;
    let count = client.received.len();
    run_for(&mut [&mut client], Duration::from_secs(1))?;
    assert_eq!(client.received.len(), count, "packets arrived after close");
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 0);
    let unknown = h.rt.block_on(h.engine.set_source(leg, Source::Silence));
    assert!(matches!(unknown, Err(ds_media::MediaError::UnknownLeg(_))));
    Ok(())
}
