//! Server-side WebRTC media for ds-local (protocol §8, §15): every softphone leg is a peer
//! connection between a browser and this engine, never browser to browser.
//!
//! # Threading model
//!
//! [`MediaEngine::start`] binds **one** UDP socket and spawns **one** OS thread that owns it.
//! That thread runs a single-threaded tokio runtime whose loop waits on three things at once:
//! commands from handles, datagrams on the socket, and the next deadline (str0m timers,
//! 20 ms frame ticks, stats). All legs (`str0m::Rtc`, ICE-lite) share the socket; an incoming
//! datagram goes to the leg whose `Rtc::accepts` it. Media work (DTLS, SRTP, Opus encoding)
//! therefore never runs on the caller's async runtime. The loop is a thin driver around
//! [`MediaCore`], a sans-IO state machine that takes `Instant`s as input.
//!
//! # API contract
//!
//! - [`MediaEngine`] is a cheap `Clone + Send` handle; its async methods send a command to the
//!   engine thread and await its reply. They fail with [`MediaError::EngineStopped`] only if
//!   the engine is gone; bad SDP or an unknown leg is a typed error and affects nothing else.
//! - SDP is complete (non-trickle) both ways: answers and offers contain our single host
//!   candidate (the bound address), and remote candidates are taken from the remote SDP.
//!   No renegotiation: one offer/answer per leg.
//! - Codecs: Opus (48 kHz) plus `telephone-event` (48 kHz and 8 kHz). Received RFC 4733 events
//!   become one [`MediaEvent::DtmfDigit`] per key press.
//! - A leg plays its [`Source`] until it is bridged; while bridged it sends the other leg's
//!   Opus packets unchanged (no transcoding); after `unbridge` both resume their sources.
//!   [`MediaEngine::play_tone_burst`] plays a tone over either, then resumes.
//! - Events arrive on the [`MediaEvents`] receiver: `Connected`, `AudioFlowing` (first Opus
//!   packet), `DtmfDigit`, periodic `Stats`, and finally exactly one of `Disconnected` (peer
//!   gone or failed) or `Closed` (after [`MediaEngine::close`]), each preceded by final `Stats`.
//! - A leg that has not connected within [`MediaConfig::connect_timeout`] (e.g. an offer whose
//!   answer never came) is reported `Disconnected` and removed.
//! - [`MediaEngine::start_recording`] / [`MediaEngine::stop_recording`] capture what a leg's
//!   peer sends as 8 kHz PCM ([`Recording`], written out as WAV) without disturbing the leg.
//! - [`Source::Stream`] plays audio fed from outside: [`MediaEngine::push_audio`] queues 8 kHz
//!   PCM (at most [`MAX_QUEUED_SAMPLES`], 200 ms; the oldest goes first), which the leg plays
//!   upsampled to 48 kHz in its 20 ms cadence, silence when starved. Push in real time.
//! - [`MediaEngine::tap_audio`] hands out what a leg's peer says as it arrives: one decoded
//!   8 kHz frame per received Opus packet on a bounded channel (frames are dropped, never
//!   waited for, when the receiver lags); it ends when the leg ends or the receiver is dropped.
//! - Dropping the last handle stops the engine thread and every leg, and frees the port.

mod core;
mod engine;
mod error;
mod event;
mod recorder;
mod source;
mod stream;

pub use crate::core::MediaCore;
pub use engine::{AudioTap, MediaConfig, MediaEngine, MediaEvents};
pub use error::MediaError;
pub use event::{LegId, LegStats, MediaEvent};
pub use recorder::{RECORDING_RATE, Recording, mulaw_decode, mulaw_encode, tone_power};
pub use source::{FRAME_SAMPLES, SAMPLE_RATE, Source, dtmf_digit, dtmf_frequencies};
pub use stream::{MAX_QUEUED_SAMPLES, STREAM_FRAME_SAMPLES};
