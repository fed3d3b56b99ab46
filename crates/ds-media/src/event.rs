use std::fmt;

/// Identifies one media leg (one peer connection) inside a [`crate::MediaEngine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// Packet counters and receive quality of one leg.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegStats {
    /// Opus packets received from the peer (telephone-events not counted).
    pub packets_received: u64,
    /// Opus packets written towards the peer.
    pub packets_sent: u64,
    /// Inbound interarrival jitter in RTP timestamp units (48 kHz), from str0m's receive stats.
    pub jitter: Option<u32>,
    /// Inbound fraction lost (0.0–1.0), where str0m has computed one.
    pub loss: Option<f32>,
}

/// What the engine reports about its legs.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// ICE and DTLS are up: media can flow.
    Connected { leg: LegId },
    /// The peer went away (ICE timed out, DTLS closed or the leg failed); the leg is removed.
    Disconnected { leg: LegId },
    /// A DTMF digit (`0-9`, `*`, `#`, `A-D`) arrived as an RFC 4733 telephone-event.
    DtmfDigit { leg: LegId, digit: char },
    /// The first Opus packet arrived from the peer.
    AudioFlowing { leg: LegId },
    /// Periodic counters (and a final one when a leg ends).
    Stats { leg: LegId, stats: LegStats },
    /// [`crate::MediaEngine::close`] finished; the leg is gone.
    Closed { leg: LegId },
}
