//! Audio fed from outside (`Source::Stream` + `push_audio`) and the live tap of what a peer
//! says (`tap_audio`), over real UDP with a str0m client peer on 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, TestResult, energy, run_for, run_until};
use ds_media::{MediaEvent, RECORDING_RATE, STREAM_FRAME_SAMPLES, Source, tone_power};
use tokio::sync::mpsc::error::TryRecvError;

/// Frame number `index` (20 ms at 8 kHz) of a continuous 0.3-amplitude sine.
fn tone_frame(freq: f32, index: usize) -> Vec<i16> {
    (index * STREAM_FRAME_SAMPLES..(index + 1) * STREAM_FRAME_SAMPLES)
        .map(|n| {
            let t = n as f32 / RECORDING_RATE as f32;
            (0.3 * (std::f32::consts::TAU * freq * t).sin() * f32::from(i16::MAX)) as i16
        })
        .collect()
}

/// 48 kHz decoded audio as 8 kHz PCM (every sixth sample: the Opus decoder's output is
/// already band-limited far below 4 kHz for these tones).
fn to_8k(audio: &[f32]) -> Vec<i16> {
    audio.iter().step_by(6).map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16).collect()
}

#[test]
fn pushed_pcm_of_a_tone_reaches_the_peer_as_opus_that_carries_the_tone() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Stream))?;
    let quiet_from = Instant::now();
    run_for(&mut [&mut client], Duration::from_millis(400))?;
    let starved = client.decoded_audio_since(quiet_from)?;
    assert!(!starved.is_empty(), "a starved stream still sends (silent) packets");
    assert!(energy(&starved) < 1e-6, "nothing pushed yet: silence, not {}", energy(&starved));

    // 1.5 s of 1 kHz, pushed 20 ms at a time in real time, as ds-local paces a voice app.
    let started = Instant::now();
    let mut next_push = started;
    let mut pushed = 0;
    while pushed < 75 {
        if Instant::now() >= next_push {
            h.rt.block_on(h.engine.push_audio(leg, tone_frame(1_000.0, pushed)))?;
            pushed += 1;
            next_push += Duration::from_millis(20);
        }
        client.step(Duration::from_millis(2))?;
    }
    let stopped = Instant::now();
    run_for(&mut [&mut client], Duration::from_millis(600))?;

    let heard = to_8k(&client.decoded_audio_since(started)?);
    // Skip the first 100 ms (priming, the encoder's ramp) and judge the steady part.
    let steady = &heard[800..heard.len().min(800 + 8_000)];
    let power = tone_power(steady, 1_000.0);
    // A 0.3 sine has a power of about 0.3² / 4 = 0.0225; Opus keeps most of it.
    assert!(power > 0.01, "the tone's power arrived: {power}");
    for other in [440.0, 660.0, 2_000.0, 3_000.0] {
        assert!(power > 50.0 * tone_power(steady, other), "1 kHz dominates {other} Hz");
    }
    // Once the pushes stop the queue (≤ 200 ms) runs dry and the leg is silent again.
    let after = client.decoded_audio_since(stopped + Duration::from_millis(350))?;
    assert!(!after.is_empty());
    assert!(energy(&after) < 1e-5, "starved again: silence, not {}", energy(&after));
    Ok(())
}

#[test]
fn audio_pushed_to_a_leg_playing_another_source_is_dropped_and_an_unknown_leg_is_an_error() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    // Silence is the default source: pushed audio never plays.
    for index in 0..10 {
        h.rt.block_on(h.engine.push_audio(leg, tone_frame(1_000.0, index)))?;
    }
    // Switching to the stream afterwards does not play it stale either.
    h.rt.block_on(h.engine.set_source(leg, Source::Stream))?;
    let from = Instant::now();
    run_for(&mut [&mut client], Duration::from_millis(500))?;
    assert!(energy(&client.decoded_audio_since(from)?) < 1e-6);

    let refused = h.rt.block_on(h.engine.push_audio(ds_media::LegId(404), vec![0; 160]));
    assert!(matches!(refused, Err(ds_media::MediaError::UnknownLeg(_))), "{refused:?}");
    Ok(())
}

#[test]
fn a_tap_hands_out_what_the_peer_says_as_8_khz_frames_and_ends_with_the_leg() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    client.sending_tone_hz = Some(660.0);
    let mut tap = h.rt.block_on(h.engine.tap_audio(leg))?;
    let mut frames = Vec::new();
    run_until(&mut [&mut client], Duration::from_secs(10), |_| {
        while let Ok(frame) = tap.try_recv() {
            frames.push(frame);
        }
        frames.len() >= 50
    })?;
    assert!(
        frames.iter().all(|f| f.len() == STREAM_FRAME_SAMPLES),
        "one 20 ms frame (160 samples at 8 kHz) per packet"
    );
    let heard: Vec<i16> = frames[10..].concat();
    let power = tone_power(&heard, 660.0);
    assert!(power > 0.01, "the peer's tone: {power}");
    assert!(power > 50.0 * tone_power(&heard, 440.0));

    h.rt.block_on(h.engine.close(leg))?;
    let closed = MediaEvent::Closed { leg };
    run_until(&mut [&mut client], Duration::from_secs(10), |_| h.has_event(&closed))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tap.try_recv() {
            Err(TryRecvError::Disconnected) => break,
            Ok(_) | Err(TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "the tap did not end with its leg");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

#[test]
fn dropping_a_tap_stops_it_and_a_new_tap_starts_fresh() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    client.sending_tone_hz = Some(440.0);
    drop(h.rt.block_on(h.engine.tap_audio(leg))?);
    run_for(&mut [&mut client], Duration::from_millis(300))?;
    let mut tap = h.rt.block_on(h.engine.tap_audio(leg))?;
    let mut count = 0;
    run_until(&mut [&mut client], Duration::from_secs(10), |_| {
        while tap.try_recv().is_ok() {
            count += 1;
        }
        count >= 10
    })?;
    // The leg and the engine carry on after the first tap went away.
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 1);
    Ok(())
}
