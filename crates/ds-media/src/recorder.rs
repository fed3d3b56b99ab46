//! Recording: what a leg receives (decoded from Opus) or what a source plays, as 8 kHz mono
//! 16-bit PCM, written out as a WAV file. 8 kHz is what voicemail and call recordings need
//! (rest.md §16.3 stores greetings as 8 kHz too) and keeps two minutes under 2 MB.

use opus_pure::OpusDecoder;

use crate::source::{FRAME_SAMPLES, SAMPLE_RATE, Source, Synth};

/// Sample rate of every recording.
pub const RECORDING_RATE: u32 = 8_000;
/// 48 kHz → 8 kHz.
const DECIMATION: usize = (SAMPLE_RATE / RECORDING_RATE) as usize;
/// Largest Opus frame (120 ms at 48 kHz).
const MAX_OPUS_FRAME: usize = 5_760;

/// Recorded audio: mono PCM at [`RECORDING_RATE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    pub samples: Vec<i16>,
}

impl Recording {
    /// Length in whole milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(RECORDING_RATE)
    }

    /// Renders `millis` of a generated source, e.g. what a simulated caller says.
    pub fn of_source(source: &Source, millis: u32) -> Self {
        let mut synth = Synth::default();
        let mut frame = [0.0f32; FRAME_SAMPLES];
        let mut wide = Vec::with_capacity(SAMPLE_RATE as usize * millis as usize / 1000);
        let total = SAMPLE_RATE as usize * millis as usize / 1000;
        while wide.len() < total {
            synth.render(source, None, &mut frame);
            let take = (total - wide.len()).min(FRAME_SAMPLES);
            wide.extend_from_slice(&frame[..take]);
        }
        let mut recording = Self::default();
        recording.push_48k(&wide);
        recording
    }

    /// Appends 48 kHz samples, decimated to 8 kHz (a 6-sample average: a crude low-pass that
    /// is enough for speech-band audio).
    fn push_48k(&mut self, samples: &[f32]) {
        decimate_to_8k(samples, &mut self.samples);
    }

    /// A RIFF/WAVE file: PCM, 16-bit little endian, mono, [`RECORDING_RATE`].
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut wav = Vec::with_capacity(44 + data_len as usize);
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data_len).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
        wav.extend_from_slice(&1u16.to_le_bytes()); // mono
        wav.extend_from_slice(&RECORDING_RATE.to_le_bytes());
        wav.extend_from_slice(&(RECORDING_RATE * 2).to_le_bytes()); // bytes per second
        wav.extend_from_slice(&2u16.to_le_bytes()); // block align
        wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&data_len.to_le_bytes());
        for sample in &self.samples {
            wav.extend_from_slice(&sample.to_le_bytes());
        }
        wav
    }

    /// Reads back a file written by [`Recording::to_wav`]; `None` for anything else.
    pub fn from_wav(wav: &[u8]) -> Option<Self> {
        if wav.len() < 44 || &wav[..4] != b"RIFF" || &wav[8..16] != b"WAVEfmt " || &wav[36..40] != b"data" {
            return None;
        }
        let rate = u32::from_le_bytes(wav[24..28].try_into().ok()?);
        let bits = u16::from_le_bytes(wav[34..36].try_into().ok()?);
        if rate != RECORDING_RATE || bits != 16 {
            return None;
        }
        let samples = wav[44..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect();
        Some(Self { samples })
    }
}

/// G.711 μ-law encoding of one 16-bit sample (ITU-T G.711, with the usual bias of 0x84).
pub fn mulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut value = i32::from(sample);
    let sign = if value < 0 { 0x80 } else { 0x00 };
    if value < 0 {
        value = -value;
    }
    value = value.min(CLIP) + BIAS;
    let exponent = (7 - (value.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (value >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// G.711 μ-law decoding of one byte.
pub fn mulaw_decode(byte: u8) -> i16 {
    let byte = !byte;
    let sign = byte & 0x80;
    let exponent = i32::from((byte >> 4) & 0x07);
    let mantissa = i32::from(byte & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

impl Recording {
    /// μ-law 8 kHz bytes (what voice-app media sockets carry, rest.md §14.5) as a recording.
    pub fn from_mulaw(bytes: &[u8]) -> Self {
        Self { samples: bytes.iter().copied().map(mulaw_decode).collect() }
    }

    /// The recording as μ-law 8 kHz bytes.
    pub fn to_mulaw(&self) -> Vec<u8> {
        self.samples.iter().copied().map(mulaw_encode).collect()
    }
}

/// Decodes a leg's received Opus packets into a [`Recording`], up to a length cap.
pub(crate) struct Recorder {
    decoder: Option<OpusDecoder>,
    recording: Recording,
    max_samples: usize,
    frame: Vec<f32>,
}

impl Recorder {
    pub fn new(max_millis: u32) -> Self {
        Self {
            decoder: OpusDecoder::new(SAMPLE_RATE as i32, 1).ok(),
            recording: Recording::default(),
            max_samples: RECORDING_RATE as usize * max_millis as usize / 1000,
            frame: vec![0.0; MAX_OPUS_FRAME],
        }
    }

    /// Adds one received Opus packet; a packet that does not decode is skipped.
    pub fn push_opus(&mut self, packet: &[u8]) {
        if self.recording.samples.len() >= self.max_samples {
            return;
        }
        let Some(decoder) = &mut self.decoder else { return };
        if let Ok(n) = decoder.decode(packet, MAX_OPUS_FRAME, &mut self.frame) {
            let decoded = self.frame[..n].to_vec();
            self.recording.push_48k(&decoded);
            self.recording.samples.truncate(self.max_samples);
        }
    }

    pub fn finish(self) -> Recording {
        self.recording
    }
}

/// Appends 48 kHz samples to `out` at 8 kHz: a 6-sample average (a crude low-pass that is
/// enough for speech-band audio).
fn decimate_to_8k(samples: &[f32], out: &mut Vec<i16>) {
    for chunk in samples.chunks(DECIMATION) {
        let mean = chunk.iter().sum::<f32>() / chunk.len() as f32;
        out.push((mean.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16);
    }
}

/// Decodes each Opus packet a leg receives into 8 kHz PCM as it arrives: the live feed of
/// what the peer says (a voice app hears the caller through it), where a [`Recorder`] keeps
/// everything until it is stopped.
pub(crate) struct Tap {
    decoder: Option<OpusDecoder>,
    frame: Vec<f32>,
}

impl Tap {
    pub fn new() -> Self {
        Self { decoder: OpusDecoder::new(SAMPLE_RATE as i32, 1).ok(), frame: vec![0.0; MAX_OPUS_FRAME] }
    }

    /// The packet's audio at 8 kHz (160 samples for a 20 ms packet); `None` if it does not
    /// decode.
    pub fn decode(&mut self, packet: &[u8]) -> Option<Vec<i16>> {
        let decoder = self.decoder.as_mut()?;
        let n = decoder.decode(packet, MAX_OPUS_FRAME, &mut self.frame).ok()?;
        let mut pcm = Vec::with_capacity(n / DECIMATION + 1);
        decimate_to_8k(&self.frame[..n], &mut pcm);
        Some(pcm)
    }
}

/// Power of one frequency in 8 kHz PCM (Goertzel), normalised by length: a full-scale sine
/// of amplitude `a` gives about `a² / 4`. For telling tones (and DTMF pairs) apart.
pub fn tone_power(samples: &[i16], freq: f32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let coeff = 2.0 * (std::f32::consts::TAU * freq / RECORDING_RATE as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = f32::from(x) / f32::from(i16::MAX) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f32).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goertzel_8k(samples: &[i16], freq: f32) -> f32 {
        tone_power(samples, freq)
    }

    #[test]
    fn a_rendered_tone_is_eight_khz_pcm_of_the_right_length_and_pitch() {
        let recording = Recording::of_source(&Source::Tone { freq_hz: 440.0 }, 1_000);
        assert_eq!(recording.samples.len(), 8_000);
        assert_eq!(recording.duration_ms(), 1_000);
        assert!(goertzel_8k(&recording.samples, 440.0) > 20.0 * goertzel_8k(&recording.samples, 1000.0));
    }

    #[test]
    fn mulaw_round_trips_within_its_quantisation_and_keeps_the_tone() {
        for sample in [0i16, 1, -1, 100, -100, 1_000, -1_000, 12_345, -12_345, i16::MAX, i16::MIN] {
            let back = mulaw_decode(mulaw_encode(sample));
            let error = (i32::from(back) - i32::from(sample)).abs();
            assert!(error <= i32::from(sample).abs() / 16 + 8, "{sample} came back as {back}");
        }
        assert_eq!(mulaw_encode(0), 0xff, "silence is 0xFF in μ-law");
        let tone = Recording::of_source(&Source::Tone { freq_hz: 440.0 }, 500);
        let back = Recording::from_mulaw(&tone.to_mulaw());
        assert!(goertzel_8k(&back.samples, 440.0) > 20.0 * goertzel_8k(&back.samples, 1000.0));
    }

    #[test]
    fn wav_round_trips_and_has_a_pcm_header() {
        let recording = Recording { samples: vec![0, 1, -1, i16::MAX, i16::MIN] };
        let wav = recording.to_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..12], b"WAVE");
        assert_eq!(u32::from_le_bytes(wav[24..28].try_into().unwrap()), 8_000);
        assert_eq!(wav.len(), 44 + 10);
        assert_eq!(Recording::from_wav(&wav), Some(recording));
        assert_eq!(Recording::from_wav(b"not a wav file at all, clearly not one......"), None);
    }

    #[test]
    fn the_recorder_decodes_opus_and_stops_at_its_cap() {
        let mut encoder =
            opus_pure::OpusEncoder::new(48_000, 1, opus_pure::Application::Audio).expect("encoder");
        let mut recorder = Recorder::new(200);
        let mut t = 0usize;
        for _ in 0..50 {
            let pcm: Vec<f32> = (0..FRAME_SAMPLES)
                .map(|i| 0.3 * (std::f32::consts::TAU * 440.0 * (t + i) as f32 / 48_000.0).sin())
                .collect();
            t += FRAME_SAMPLES;
            let mut packet = vec![0u8; opus_pure::MAX_PACKET_BYTES];
            let n = encoder.encode(&pcm, FRAME_SAMPLES, &mut packet).expect("encode");
            recorder.push_opus(&packet[..n]);
        }
        recorder.push_opus(b"\xff\xff garbage");
        let recording = recorder.finish();
        assert_eq!(recording.samples.len(), 1_600, "capped at 200 ms");
        let settled = &recording.samples[400..];
        assert!(goertzel_8k(settled, 440.0) > 20.0 * goertzel_8k(settled, 1000.0));
    }
}
