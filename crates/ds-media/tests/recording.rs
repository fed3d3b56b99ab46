//! A str0m client on 127.0.0.1 talks to the engine; the engine records what it hears.

mod common;

use std::time::Duration;

use common::{Harness, TestResult, run_for};
use ds_media::{Recording, tone_power};

/// Power of `freq` in 8 kHz PCM (Goertzel), normalised by length.

#[test]
fn a_recording_holds_what_the_peer_said_and_survives_a_wav_round_trip() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    client.sending_tone_hz = Some(660.0);
    h.rt.block_on(h.engine.start_recording(leg, 60_000))?;
    run_for(&mut [&mut client], Duration::from_millis(1500))?;
    let recording = h.rt.block_on(h.engine.stop_recording(leg))?;
    assert!(recording.duration_ms() >= 500, "only {} ms recorded", recording.duration_ms());
    let steady = &recording.samples[recording.samples.len() / 4..];
    assert!(
        tone_power(steady, 660.0) > 20.0 * tone_power(steady, 440.0),
        "the recording is not the client's 660 Hz tone"
    );
    let wav = recording.to_wav();
    assert_eq!(Recording::from_wav(&wav).as_ref(), Some(&recording));
    // Stopping again returns nothing: the recording was handed over.
    assert!(h.rt.block_on(h.engine.stop_recording(leg))?.samples.is_empty());
    Ok(())
}

#[test]
fn recording_an_unknown_leg_is_a_typed_error() -> TestResult {
    let h = Harness::start()?;
    let refused = h.rt.block_on(h.engine.start_recording(ds_media::LegId(404), 1_000));
    assert!(matches!(refused, Err(ds_media::MediaError::UnknownLeg(_))), "{refused:?}");
    Ok(())
}
