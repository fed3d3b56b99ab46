//! Audio pushed in from outside the engine (a voice app's μ-law, decoded to 8 kHz PCM by the
//! integrator) and played by a leg whose source is [`crate::Source::Stream`]: a small bounded
//! queue, drained one 20 ms frame per frame tick and upsampled to 48 kHz for the Opus encoder.
//!
//! The queue only absorbs jitter between the pusher's clock and the engine's frame tick: the
//! pusher is expected to push in real time (ds-local paces a voice app's audio out of its own
//! FIFO, rest.md §14.5). Anything beyond [`MAX_QUEUED_SAMPLES`] drops the oldest audio, so a
//! pusher that runs ahead adds bounded latency instead of growing memory.

use std::collections::VecDeque;
use std::sync::OnceLock;

use crate::recorder::RECORDING_RATE;
use crate::source::SAMPLE_RATE;

/// 8 kHz samples in one 20 ms frame.
pub const STREAM_FRAME_SAMPLES: usize = (RECORDING_RATE / 50) as usize;
/// 8 kHz → 48 kHz.
const UPSAMPLE: usize = (SAMPLE_RATE / RECORDING_RATE) as usize;
/// Filter taps per output phase; the low-pass has `UPSAMPLE * TAPS_PER_PHASE` taps.
const TAPS_PER_PHASE: usize = 16;
const TAPS: usize = UPSAMPLE * TAPS_PER_PHASE;
/// Low-pass cut-off: just under the 4 kHz Nyquist limit of the 8 kHz input, so the spectral
/// images that zero-stuffing creates above it are removed and speech keeps its band.
const CUTOFF_HZ: f32 = 3_700.0;
/// Playback starts (and restarts after running dry) once 40 ms are queued, so a push that
/// lands just after a frame tick does not leave every other frame half silent.
const PRIME_SAMPLES: usize = 2 * STREAM_FRAME_SAMPLES;
/// Frame ticks a short remainder waits to reach [`PRIME_SAMPLES`] before it plays anyway (the
/// tail of an utterance must not stay stuck in the queue).
const PRIME_PATIENCE_FRAMES: u32 = 2;
/// At most 200 ms are queued; older audio is dropped first.
pub const MAX_QUEUED_SAMPLES: usize = 10 * STREAM_FRAME_SAMPLES;

/// The prototype low-pass of the polyphase upsampler: a Hamming-windowed sinc with gain
/// `UPSAMPLE` (zero-stuffing divides the level by that much).
fn low_pass() -> &'static [f32; TAPS] {
    static FILTER: OnceLock<[f32; TAPS]> = OnceLock::new();
    FILTER.get_or_init(|| {
        let mut taps = [0.0f32; TAPS];
        let cutoff = f64::from(CUTOFF_HZ) / f64::from(SAMPLE_RATE);
        let centre = (TAPS - 1) as f64 / 2.0;
        for (n, tap) in taps.iter_mut().enumerate() {
            let x = n as f64 - centre;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (std::f64::consts::TAU * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let window = 0.54 - 0.46 * (std::f64::consts::TAU * n as f64 / (TAPS - 1) as f64).cos();
            *tap = (sinc * window * UPSAMPLE as f64) as f32;
        }
        taps
    })
}

/// What a [`crate::Source::Stream`] leg plays: pushed 8 kHz PCM waiting for its frame.
#[derive(Debug)]
pub(crate) struct StreamBuffer {
    queue: VecDeque<i16>,
    /// Between priming and running dry.
    playing: bool,
    /// Frame ticks spent waiting with less than [`PRIME_SAMPLES`] queued.
    waited: u32,
    /// The last `TAPS_PER_PHASE` input samples, oldest first (the filter's memory).
    history: [f32; TAPS_PER_PHASE],
    /// Samples dropped because the queue was full (for the logs).
    dropped: u64,
}

impl Default for StreamBuffer {
    fn default() -> Self {
        StreamBuffer {
            queue: VecDeque::with_capacity(MAX_QUEUED_SAMPLES),
            playing: false,
            waited: 0,
            history: [0.0; TAPS_PER_PHASE],
            dropped: 0,
        }
    }
}

impl StreamBuffer {
    /// Queues 8 kHz samples; returns how many old samples were dropped to stay in bounds.
    pub fn push(&mut self, samples: &[i16]) -> usize {
        // More than the bound in one push: only its newest part can ever play.
        let cut = samples.len().saturating_sub(MAX_QUEUED_SAMPLES);
        let kept = &samples[cut..];
        let excess = (self.queue.len() + kept.len()).saturating_sub(MAX_QUEUED_SAMPLES);
        self.queue.drain(..excess);
        self.queue.extend(kept);
        let dropped = cut + excess;
        self.dropped += dropped as u64;
        dropped
    }

    /// Forgets what is queued (the leg stopped playing the stream).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.playing = false;
        self.waited = 0;
        self.history = [0.0; TAPS_PER_PHASE];
    }

    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Renders one frame of 48 kHz audio (`out.len()` a multiple of [`UPSAMPLE`]): the next
    /// queued samples, upsampled; silence where there are none.
    pub fn render(&mut self, out: &mut [f32]) {
        if !self.playing && !self.queue.is_empty() {
            self.waited += 1;
            if self.queue.len() >= PRIME_SAMPLES || self.waited > PRIME_PATIENCE_FRAMES {
                self.playing = true;
            }
        }
        let filter = low_pass();
        for chunk in out.chunks_mut(UPSAMPLE) {
            let input = if self.playing {
                match self.queue.pop_front() {
                    Some(sample) => f32::from(sample) / 32_768.0,
                    None => {
                        // Ran dry: silence until enough is queued again.
                        self.playing = false;
                        self.waited = 0;
                        0.0
                    }
                }
            } else {
                0.0
            };
            self.history.copy_within(1.., 0);
            self.history[TAPS_PER_PHASE - 1] = input;
            // Polyphase: output phase `p` uses taps p, p + UPSAMPLE, …; tap k of a phase
            // meets the input k samples back.
            for (phase, sample) in chunk.iter_mut().enumerate() {
                *sample = (0..TAPS_PER_PHASE)
                    .map(|k| filter[phase + UPSAMPLE * k] * self.history[TAPS_PER_PHASE - 1 - k])
                    .sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FRAME_SAMPLES;

    fn tone_8k(freq: f32, samples: usize, offset: usize) -> Vec<i16> {
        (offset..offset + samples)
            .map(|n| {
                let t = n as f32 / RECORDING_RATE as f32;
                (0.3 * (std::f32::consts::TAU * freq * t).sin() * 32_767.0) as i16
            })
            .collect()
    }

    fn power_48k(samples: &[f32], freq: f32) -> f32 {
        let coeff = 2.0 * (std::f32::consts::TAU * freq / SAMPLE_RATE as f32).cos();
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in samples {
            let s0 = x + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f32).powi(2)
    }

    #[test]
    fn a_pushed_tone_plays_at_48_khz_with_its_level_and_without_images() {
        let mut stream = StreamBuffer::default();
        let mut played = Vec::new();
        let mut frame = [0.0f32; FRAME_SAMPLES];
        for n in 0..50 {
            stream.push(&tone_8k(1_000.0, STREAM_FRAME_SAMPLES, n * STREAM_FRAME_SAMPLES));
            stream.render(&mut frame);
            played.extend_from_slice(&frame);
        }
        let steady = &played[played.len() / 4..];
        let rms = (steady.iter().map(|s| s * s).sum::<f32>() / steady.len() as f32).sqrt();
        // A 0.3 sine has an RMS of 0.212: the upsampler keeps the level (within a few %).
        assert!((0.19..0.23).contains(&rms), "rms {rms}");
        let tone = power_48k(steady, 1_000.0);
        // Zero-stuffing images of 1 kHz sit at 7, 9, 15, 17 kHz: the low-pass removes them.
        for image in [7_000.0, 9_000.0, 15_000.0, 17_000.0] {
            assert!(tone > 1_000.0 * power_48k(steady, image), "image at {image} Hz");
        }
    }

    #[test]
    fn playback_waits_for_forty_ms_then_drains_in_real_time_and_is_silent_when_starved() {
        let mut stream = StreamBuffer::default();
        let mut frame = [0.0f32; FRAME_SAMPLES];
        stream.push(&tone_8k(440.0, STREAM_FRAME_SAMPLES, 0));
        stream.render(&mut frame);
        assert!(frame.iter().all(|s| *s == 0.0), "one frame queued is not enough to start");
        stream.push(&tone_8k(440.0, STREAM_FRAME_SAMPLES, 160));
        stream.render(&mut frame);
        assert!(frame.iter().any(|s| s.abs() > 0.1), "primed: it plays");
        assert_eq!(stream.queued(), STREAM_FRAME_SAMPLES, "one frame consumed per tick");
        stream.render(&mut frame);
        stream.render(&mut frame);
        assert_eq!(stream.queued(), 0);
        let tail = &frame[TAPS..];
        assert!(tail.iter().all(|s| *s == 0.0), "starved: silence");
    }

    #[test]
    fn a_short_tail_plays_after_a_little_patience_instead_of_sticking() {
        let mut stream = StreamBuffer::default();
        let mut frame = [0.0f32; FRAME_SAMPLES];
        stream.push(&tone_8k(440.0, 80, 0));
        let mut heard = false;
        for _ in 0..=PRIME_PATIENCE_FRAMES {
            stream.render(&mut frame);
            heard |= frame.iter().any(|s| s.abs() > 0.1);
        }
        assert!(heard);
        assert_eq!(stream.queued(), 0);
    }

    #[test]
    fn the_queue_is_bounded_and_drops_the_oldest_audio() {
        let mut stream = StreamBuffer::default();
        let first = vec![1i16; MAX_QUEUED_SAMPLES];
        assert_eq!(stream.push(&first), 0);
        assert_eq!(stream.push(&[2i16; 100]), 100, "full: the oldest 100 samples go");
        assert_eq!(stream.queued(), MAX_QUEUED_SAMPLES);
        assert_eq!(stream.queue.back(), Some(&2));
        // One push larger than the bound keeps only its newest part.
        let mut huge = vec![3i16; 5 * MAX_QUEUED_SAMPLES];
        huge.push(4);
        stream.push(&huge);
        assert_eq!(stream.queued(), MAX_QUEUED_SAMPLES);
        assert_eq!(stream.queue.front(), Some(&3));
        assert_eq!(stream.queue.back(), Some(&4));
        assert_eq!(stream.dropped(), 100 + MAX_QUEUED_SAMPLES as u64 + 4 * MAX_QUEUED_SAMPLES as u64 + 1);
        stream.clear();
        assert_eq!(stream.queued(), 0);
    }
}
