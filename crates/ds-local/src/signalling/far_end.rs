//! Simulated PSTN far ends, chosen by the dialled number (protocol.md §15, rest.md §18.3).

use ds_media::Source;

/// How a simulated far end behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `+15005550001`: answers after the answer delay and echoes the caller's audio.
    Echo,
    /// `+15005550002`: answers after the answer delay with a steady 440 Hz tone.
    Tone,
    /// `+15005550003`: busy.
    Busy,
    /// `+15005550004`: rings until the ring timeout.
    NoAnswer,
    /// `+15005550005`: early media (ringback via `sdp.pranswer`), then answers with the tone.
    EarlyMedia,
    /// `+15005550006`: answers; one short tone per received DTMF digit; digits are logged.
    Ivr,
    /// `+15005550007`: answers with the tone, hangs up by itself a few seconds later.
    HangsUp,
    /// `+15005550009`: fails at once with `call_failed`.
    Fails,
    /// Any other number: answers after the PSTN delay with the tone.
    Pstn,
    /// The simulated caller of a test-helper inbound call: the tone, and a tone burst per
    /// DTMF digit like the IVR.
    TestCaller,
}

impl Behaviour {
    /// The behaviour of a dialled E.164 number.
    pub fn for_number(number: &str) -> Self {
        match number {
            "+15005550001" => Self::Echo,
            "+15005550002" => Self::Tone,
            "+15005550003" => Self::Busy,
            "+15005550004" => Self::NoAnswer,
            "+15005550005" => Self::EarlyMedia,
            "+15005550006" => Self::Ivr,
            "+15005550007" => Self::HangsUp,
            "+15005550009" => Self::Fails,
            _ => Self::Pstn,
        }
    }

    /// What the user's leg hears once this far end has answered.
    pub fn source(self) -> Source {
        match self {
            Self::Echo => Source::Echo,
            Self::Ivr => Source::Ivr,
            _ => Source::Tone { freq_hz: 440.0 },
        }
    }

    /// Whether a received DTMF digit is answered with a tone burst by the hub (the IVR source
    /// answers digits by itself).
    pub fn bursts_on_digits(self) -> bool {
        matches!(self, Self::TestCaller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_numbers_map_to_their_behaviours_and_others_answer_with_a_tone() {
        assert_eq!(Behaviour::for_number("+15005550001"), Behaviour::Echo);
        assert_eq!(Behaviour::for_number("+15005550009"), Behaviour::Fails);
        assert_eq!(Behaviour::for_number("+16175551234"), Behaviour::Pstn);
        assert_eq!(Behaviour::for_number("+15005550008"), Behaviour::Pstn);
        assert_eq!(Behaviour::Pstn.source(), Source::Tone { freq_hz: 440.0 });
        assert_eq!(Behaviour::Echo.source(), Source::Echo);
    }
}
