//! What a leg sends when it is not forwarding someone else's audio: the sources and the
//! synthesiser that renders them into 20 ms frames of 48 kHz mono PCM.

use std::f32::consts::TAU;

/// Samples per second of every frame the engine generates (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`]: the packet size browsers use for Opus.
pub const FRAME_SAMPLES: usize = 960;

/// What a leg sends to its peer while it is not bridged.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Encoded silence: the stream keeps flowing (browsers treat a silent stream as alive).
    Silence,
    /// A steady sine tone.
    Tone { freq_hz: f32 },
    /// North-American ringback: 440 Hz + 480 Hz, 2 s on, 4 s off.
    RingbackTone,
    /// The leg's own received Opus packets, sent straight back (no transcoding).
    Echo,
    /// A gentle repeating arpeggio (C major triad), played to a held party.
    MusicOnHold,
    /// Silence, except that every DTMF digit received on the leg is answered with a short
    /// burst of that digit's own DTMF tone pair, like a simple IVR menu.
    Ivr,
    /// Audio fed from outside with [`crate::MediaEngine::push_audio`] (8 kHz PCM, e.g. a
    /// voice app's speech), upsampled and played in real time; silence while none is queued.
    Stream,
}

impl Source {
    /// Whether this source is synthesised by the engine (as opposed to forwarding packets).
    pub(crate) fn is_generated(&self) -> bool {
        !matches!(self, Source::Echo)
    }
}

/// How long the IVR answers one digit.
pub(crate) const IVR_BURST_MS: u32 = 200;

/// The (low, high) frequency pair of a DTMF digit (ITU-T Q.23), or `None` for other chars.
pub fn dtmf_frequencies(digit: char) -> Option<(f32, f32)> {
    let (row, col) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    Some((ROWS[row], COLS[col]))
}

/// The character of an RFC 4733 DTMF event code (0-9, `*` = 10, `#` = 11, A-D = 12-15).
pub fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// A short tone played over whatever the leg sends, e.g. one IVR answer to a digit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Burst {
    pub freqs: Vec<f32>,
    pub remaining_samples: usize,
}

impl Burst {
    pub fn new(freqs: Vec<f32>, millis: u32) -> Self {
        Burst { freqs, remaining_samples: (SAMPLE_RATE as usize * millis as usize) / 1000 }
    }
}

const TONE_AMPLITUDE: f32 = 0.3;
/// Length of the fade at each note edge of the hold music, so notes do not click.
const FADE_SAMPLES: u64 = 48 * 20;

/// Renders sources frame by frame. It keeps a running sample clock so patterns (ringback
/// cadence, hold music notes) and sine phases continue seamlessly across frames.
#[derive(Debug, Default)]
pub(crate) struct Synth {
    /// Samples rendered since the current source was selected.
    clock: u64,
    /// Samples rendered since the current burst started.
    burst_clock: u64,
}

impl Synth {
    /// Restart patterns from their beginning (a new source was selected).
    pub fn restart(&mut self) {
        self.clock = 0;
    }

    pub fn start_burst(&mut self) {
        self.burst_clock = 0;
    }

    /// Renders one frame of `source`, or of `burst` while one is playing (the burst wins).
    pub fn render(&mut self, source: &Source, burst: Option<&mut Burst>, out: &mut [f32]) {
        out.fill(0.0);
        if let Some(burst) = burst {
            let amplitude = TONE_AMPLITUDE / burst.freqs.len().max(1) as f32;
            let n = burst.remaining_samples.min(out.len());
            for (i, sample) in out.iter_mut().take(n).enumerate() {
                let t = (self.burst_clock + i as u64) as f32 / SAMPLE_RATE as f32;
                *sample = burst.freqs.iter().map(|f| amplitude * (TAU * f * t).sin()).sum();
            }
            burst.remaining_samples -= n;
            self.burst_clock += out.len() as u64;
            self.clock += out.len() as u64;
            return;
        }
        for (i, sample) in out.iter_mut().enumerate() {
            *sample = sample_at(source, self.clock + i as u64);
        }
        self.clock += out.len() as u64;
    }
}

fn sine(freq: f32, n: u64) -> f32 {
    // The phase is reduced modulo one period in f64 so long calls keep their precision.
    let period = SAMPLE_RATE as f64 / freq as f64;
    let phase = (n as f64 % period) / period;
    (std::f64::consts::TAU * phase).sin() as f32
}

fn sample_at(source: &Source, n: u64) -> f32 {
    let rate = SAMPLE_RATE as u64;
    match source {
        // A stream's audio comes from the leg's queue, not from the synthesiser.
        Source::Silence | Source::Echo | Source::Ivr | Source::Stream => 0.0,
        Source::Tone { freq_hz } => TONE_AMPLITUDE * sine(*freq_hz, n),
        Source::RingbackTone => {
            if n % (6 * rate) < 2 * rate {
                0.5 * TONE_AMPLITUDE * (sine(440.0, n) + sine(480.0, n))
            } else {
                0.0
            }
        }
        Source::MusicOnHold => {
            // C5 E5 G5 E5, 400 ms each, with a short fade at each edge.
            const NOTES: [f32; 4] = [523.25, 659.25, 783.99, 659.25];
            let note_len = rate * 2 / 5;
            let note = NOTES[((n / note_len) % NOTES.len() as u64) as usize];
            let pos = n % note_len;
            let edge = pos.min(note_len - 1 - pos);
            let envelope = (edge as f32 / FADE_SAMPLES as f32).min(1.0);
            0.6 * TONE_AMPLITUDE * envelope * sine(note, n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(frame: &[f32]) -> f32 {
        frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32
    }

    #[test]
    fn ringback_is_on_for_two_seconds_then_off_for_four() {
        let mut synth = Synth::default();
        let mut frame = [0.0; FRAME_SAMPLES];
        let mut on = Vec::new();
        for _ in 0..300 {
            synth.render(&Source::RingbackTone, None, &mut frame);
            on.push(energy(&frame) > 0.001);
        }
        assert!(on[..100].iter().all(|x| *x), "first 2 s ring");
        assert!(on[100..300].iter().all(|x| !*x), "next 4 s are quiet");
    }

    #[test]
    fn burst_plays_for_its_length_then_the_source_resumes() {
        let mut synth = Synth::default();
        let mut burst = Burst::new(vec![697.0, 1209.0], 40);
        let mut frame = [0.0; FRAME_SAMPLES];
        synth.render(&Source::Silence, Some(&mut burst), &mut frame);
        assert!(energy(&frame) > 0.001);
        synth.render(&Source::Silence, Some(&mut burst), &mut frame);
        assert!(energy(&frame) > 0.001);
        assert_eq!(burst.remaining_samples, 0);
    }

    #[test]
    fn dtmf_event_codes_map_to_digits_and_back_to_tone_pairs() {
        assert_eq!(dtmf_digit(0), Some('0'));
        assert_eq!(dtmf_digit(10), Some('*'));
        assert_eq!(dtmf_digit(11), Some('#'));
        assert_eq!(dtmf_digit(15), Some('D'));
        assert_eq!(dtmf_digit(16), None);
        assert_eq!(dtmf_frequencies('5'), Some((770.0, 1336.0)));
        assert_eq!(dtmf_frequencies('x'), None);
    }
}
