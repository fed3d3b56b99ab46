//! A str0m client on 127.0.0.1 offers, the engine answers and echoes the client's audio back.

mod common;

use std::time::Duration;

use common::{Harness, PROBE_FREQS, TestResult, dominant, energy, run_until};
use ds_media::{MediaEvent, Source};

#[test]
fn echo_source_returns_the_callers_own_audio() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Echo))?;
    // Silence sent before Echo took over may have arrived: judge only what comes back after
    // the client starts talking.
    client.received.clear();
    client.sending_tone_hz = Some(660.0);
    run_until(&mut [&mut client], Duration::from_secs(10), |c| c[0].received.len() >= 50)?;

    // Skip the first packets: the encoders' start-up makes them quiet.
    let audio = client.decoded_audio()?;
    let steady = &audio[audio.len() / 4..];
    assert!(energy(steady) > 0.005, "echoed audio is too quiet: {}", energy(steady));
    assert_eq!(dominant(steady, &PROBE_FREQS), 660.0, "the echo is not the client's 660 Hz tone");
    assert!(h.has_event(&MediaEvent::AudioFlowing { leg }));
    Ok(())
}

#[test]
fn stats_count_packets_both_ways() -> TestResult {
    let mut h = Harness::start()?;
    let (mut client, leg) = h.connect_offering_client()?;
    h.rt.block_on(h.engine.set_source(leg, Source::Echo))?;
    client.sending_tone_hz = Some(440.0);
    let mut seen = None;
    run_until(&mut [&mut client], Duration::from_secs(10), |_| {
        h.collect_events();
        seen = h.events.iter().rev().find_map(|e| match e {
            MediaEvent::Stats { leg: l, stats }
                if *l == leg && stats.packets_sent > 10 && stats.jitter.is_some() =>
            {
                Some(stats.clone())
            }
            _ => None,
        });
        seen.is_some()
    })?;
    let stats = seen.ok_or("no stats")?;
    assert!(stats.packets_received > 10, "{stats:?}");
    let now = h.rt.block_on(h.engine.stats(leg))?;
    assert!(now.packets_sent >= stats.packets_sent && now.packets_received >= stats.packets_received);
    Ok(())
}

#[test]
fn garbage_offer_is_refused_and_the_engine_keeps_answering() -> TestResult {
    let mut h = Harness::start()?;
    let refused = h.rt.block_on(h.engine.answer_offer("this is not sdp"));
    assert!(matches!(refused, Err(ds_media::MediaError::InvalidSdp(_))), "{refused:?}");
    let unknown = h.rt.block_on(h.engine.set_source(ds_media::LegId(999), Source::Echo));
    assert!(matches!(unknown, Err(ds_media::MediaError::UnknownLeg(_))), "{unknown:?}");
    // The engine still works for a real client afterwards.
    let (_client, _leg) = h.connect_offering_client()?;
    assert_eq!(h.rt.block_on(h.engine.leg_count())?, 1);
    Ok(())
}
