//! Live call quality from `getStats` samples: jitter, loss, RTT, an E-model MOS estimate and the
//! one-way-audio warning. Pure arithmetic over plain numbers, so it is unit-tested natively; the
//! browser side (`media.rs`) only copies fields out of the stats report.

/// The counters of one `getStats` pass for one call, as the browser reports them (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSample {
    /// Host clock, ms.
    pub at_ms: u64,
    /// `inbound-rtp` `packetsReceived`.
    pub packets_received: u64,
    /// `inbound-rtp` `packetsLost` (may go down when late packets arrive; treated as monotonic).
    pub packets_lost: i64,
    /// `inbound-rtp` `jitter`, seconds.
    pub jitter_s: f64,
    /// `outbound-rtp` `packetsSent`.
    pub packets_sent: u64,
    /// `candidate-pair` `currentRoundTripTime` or `remote-inbound-rtp` `roundTripTime`, seconds.
    pub rtt_s: Option<f64>,
    /// `inbound-rtp` `totalAudioEnergy` (only grows while the remote track is played out).
    pub total_audio_energy: f64,
}

/// What the UI shows for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityReport {
    pub jitter_ms: f64,
    /// Loss over the last interval, percent.
    pub packet_loss_pct: f64,
    pub rtt_ms: Option<f64>,
    /// E-model estimate, 1.0 – 4.5.
    pub mos: f64,
    /// Sending but nothing received for [`ONE_WAY_AFTER_MS`].
    pub one_way_audio: bool,
    pub packets_received: u64,
    pub total_audio_energy: f64,
}

/// How long we must send without receiving before warning of one-way audio.
pub const ONE_WAY_AFTER_MS: u64 = 3_000;

/// The E-model (ITU-T G.107, simplified as in Cole & Rosenbluth 2001): R = 93.2 − Id − Ie,eff,
/// with the delay impairment from one-way mouth-to-ear delay (half the RTT, plus a jitter buffer
/// of twice the jitter, plus 10 ms codec delay) and the loss impairment of a robust codec with PLC
/// (Ie = 0, Bpl = 20, a common figure for Opus). Returns MOS in [1.0, 4.5].
pub fn estimate_mos(rtt_ms: f64, jitter_ms: f64, loss_pct: f64) -> f64 {
    let delay = rtt_ms.max(0.0) / 2.0 + 2.0 * jitter_ms.max(0.0) + 10.0;
    let id = if delay < 160.0 { delay / 40.0 } else { 4.0 + (delay - 160.0) / 10.0 };
    let loss = loss_pct.clamp(0.0, 100.0);
    let ie_eff = 95.0 * loss / (loss + 20.0);
    let r = 93.2 - id - ie_eff;
    r_to_mos(r)
}

/// G.107 Annex B mapping from the R factor to MOS.
pub fn r_to_mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
    }
}

/// Keeps the previous sample of one call to turn cumulative counters into per-interval figures.
#[derive(Debug, Clone, Default)]
pub struct QualityTracker {
    previous: Option<StatsSample>,
    /// Since when we have been sending while `packets_received` stood still.
    silent_since_ms: Option<u64>,
}

impl QualityTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one sample and returns the report for the interval since the previous one.
    pub fn update(&mut self, sample: StatsSample) -> QualityReport {
        let (loss_pct, receiving, sending) = match self.previous {
            Some(prev) => {
                let received = sample.packets_received.saturating_sub(prev.packets_received);
                let lost = (sample.packets_lost - prev.packets_lost).max(0) as u64;
                let expected = received + lost;
                let loss = if expected == 0 { 0.0 } else { lost as f64 * 100.0 / expected as f64 };
                (loss, received > 0, sample.packets_sent > prev.packets_sent)
            }
            None => {
                let lost = sample.packets_lost.max(0) as u64;
                let expected = sample.packets_received + lost;
                let loss = if expected == 0 { 0.0 } else { lost as f64 * 100.0 / expected as f64 };
                (loss, sample.packets_received > 0, sample.packets_sent > 0)
            }
        };
        if receiving || !sending {
            self.silent_since_ms = None;
        } else if self.silent_since_ms.is_none() {
            // Start counting from the previous sample: nothing arrived since then.
            self.silent_since_ms = Some(self.previous.map_or(sample.at_ms, |p| p.at_ms));
        }
        let one_way_audio =
            self.silent_since_ms.is_some_and(|since| sample.at_ms.saturating_sub(since) >= ONE_WAY_AFTER_MS);
        self.previous = Some(sample);
        let jitter_ms = sample.jitter_s * 1000.0;
        let rtt_ms = sample.rtt_s.map(|s| s * 1000.0);
        QualityReport {
            jitter_ms,
            packet_loss_pct: loss_pct,
            rtt_ms,
            mos: estimate_mos(rtt_ms.unwrap_or(0.0), jitter_ms, loss_pct),
            one_way_audio,
            packets_received: sample.packets_received,
            total_audio_energy: sample.total_audio_energy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, received: u64, sent: u64) -> StatsSample {
        StatsSample { at_ms, packets_received: received, packets_sent: sent, ..StatsSample::default() }
    }

    #[test]
    fn perfect_network_scores_above_4_3() {
        let mos = estimate_mos(20.0, 1.0, 0.0);
        assert!(mos > 4.3 && mos <= 4.5, "{mos}");
    }

    #[test]
    fn loss_and_delay_lower_the_score_monotonically() {
        let good = estimate_mos(50.0, 5.0, 0.0);
        let lossy = estimate_mos(50.0, 5.0, 5.0);
        let very_lossy = estimate_mos(50.0, 5.0, 20.0);
        let slow = estimate_mos(600.0, 5.0, 0.0);
        assert!(good > lossy && lossy > very_lossy, "{good} {lossy} {very_lossy}");
        assert!(good > slow, "{good} {slow}");
        assert!(very_lossy >= 1.0);
    }

    #[test]
    fn r_factor_maps_to_the_g107_table_ends() {
        assert_eq!(r_to_mos(-5.0), 1.0);
        assert_eq!(r_to_mos(120.0), 4.5);
        // R = 50 → 1 + 1.75 + 7e-6*50*(-10)*50 = 2.575
        assert!((r_to_mos(50.0) - 2.575).abs() < 1e-9);
    }

    #[test]
    fn loss_is_measured_per_interval_not_since_the_start() {
        let mut tracker = QualityTracker::new();
        let first = StatsSample { packets_lost: 10, ..sample(0, 90, 100) };
        assert!((tracker.update(first).packet_loss_pct - 10.0).abs() < 1e-9);
        let second = StatsSample { packets_lost: 10, ..sample(1000, 140, 150) };
        assert_eq!(tracker.update(second).packet_loss_pct, 0.0);
    }

    #[test]
    fn sending_without_receiving_for_three_seconds_warns_of_one_way_audio() {
        let mut tracker = QualityTracker::new();
        assert!(!tracker.update(sample(0, 50, 50)).one_way_audio);
        assert!(!tracker.update(sample(1000, 50, 100)).one_way_audio);
        assert!(!tracker.update(sample(2000, 50, 150)).one_way_audio);
        // Nothing new since the sample at 0 ms: three silent seconds at 3000 ms.
        assert!(tracker.update(sample(3000, 50, 200)).one_way_audio);
        // Audio comes back: the warning clears at once.
        assert!(!tracker.update(sample(5000, 100, 300)).one_way_audio);
    }

    #[test]
    fn a_held_call_sending_nothing_is_not_one_way() {
        let mut tracker = QualityTracker::new();
        for t in 0..10 {
            assert!(!tracker.update(sample(t * 1000, 50, 50)).one_way_audio);
        }
    }
}
