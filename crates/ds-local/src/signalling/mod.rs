//! Signalling and calls: the `/v1/webrtc` WebSocket (protocol.md §4–§9, §16), the call hub that
//! connects users to each other and to simulated PSTN far ends (§15), and the CallLog rows and
//! account events every call produces (§11.5, §12, §13).
//!
//! Layout:
//! - [`session`]: the sans-IO per-socket state machine (auth, refresh, ping/pong, expiry,
//!   revocation, frame validation);
//! - [`socket`]: the axum upgrade and a driver generic over any `Stream`/`Sink` of WebSocket
//!   messages, which runs a `Session` and talks to the hub;
//! - [`hub`]: one task owning every live call and session registration, driving the ds-media
//!   engine (answer/offer, sources, bridges) and the timers of simulated far ends;
//! - [`far_end`]: which behaviour a dialled number gets (§15);
//! - [`cdr`]: CallLog writes and `call.*` events, which the hub queues on one ordered writer task;
//! - [`test_helpers`]: `POST /v1/test_helpers/calls` (rest.md §18.1).
//!
//! [`attach`] starts the media engine and the hub and plugs them into an [`AppState`]; without
//! it `/v1/webrtc` answers 503.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub mod cdr;
pub mod far_end;
pub mod hub;
pub mod session;
pub mod socket;
pub mod test_helpers;

pub use hub::Hub;
pub use session::{Output, Session};

/// Every delay of the signalling layer, so tests and `--fast-timers` can shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timers {
    /// Time a new socket has to send `authenticate` (§4.5: 20 s).
    pub auth_timeout: Duration,
    /// Server WebSocket ping interval (§4.6: 30 s).
    pub ping_interval: Duration,
    /// How long a ping may go unanswered (§4.6: about 10 s).
    pub pong_grace: Duration,
    /// How often a live session re-checks its token for revocation.
    pub revocation_check: Duration,
    /// Ring timeout for users and the no-answer number (rest.md §12.2: 30 s).
    pub ring_timeout: Duration,
    /// Answer delay of the echo/tone/IVR/hang-up numbers (§15: 1 s).
    pub answer_delay: Duration,
    /// Answer delay of any other E.164 number (§15: 2 s).
    pub pstn_answer_delay: Duration,
    /// Early media of `+15005550005` before it answers (§15: 3 s).
    pub early_media: Duration,
    /// When `+15005550007` hangs up after answering (§15: 5 s).
    pub far_hangup_after: Duration,
    /// How long calls survive a dropped socket (§16.2: 30 s).
    pub survival_grace: Duration,
    /// Granularity of the session housekeeping tick (timers are checked at least this often).
    pub tick: Duration,
    /// How long one "second" of routing configuration lasts (node and ring-group timeouts,
    /// clip and menu waits, voicemail lengths): 1 s for real, less so tests of a 25 s
    /// `ring_all_users` do not wait 25 s.
    pub routing_second: Duration,
    /// How long a control-mode voice app has to take a call (webhook reply and first action,
    /// rest.md §14.3–14.4: 30 s).
    pub voice_app_wait: Duration,
    /// How long a voice app that closed its media socket has to attach again before the
    /// hand-over counts as failed (rest.md §14.4 [open]: 10 s).
    pub voice_app_reattach: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            auth_timeout: Duration::from_secs(20),
            ping_interval: Duration::from_secs(30),
            pong_grace: Duration::from_secs(10),
            revocation_check: Duration::from_secs(1),
            ring_timeout: Duration::from_secs(30),
            answer_delay: Duration::from_secs(1),
            pstn_answer_delay: Duration::from_secs(2),
            early_media: Duration::from_secs(3),
            far_hangup_after: Duration::from_secs(5),
            survival_grace: Duration::from_secs(30),
            tick: Duration::from_millis(500),
            routing_second: Duration::from_secs(1),
            voice_app_wait: Duration::from_secs(30),
            voice_app_reattach: Duration::from_secs(10),
        }
    }
}

impl Timers {
    /// `--fast-timers`: the same behaviour, compressed so tests stay quick. The survival grace
    /// stays long enough for a browser to reconnect.
    pub fn fast() -> Self {
        Self {
            auth_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
            pong_grace: Duration::from_secs(5),
            revocation_check: Duration::from_millis(200),
            ring_timeout: Duration::from_secs(3),
            answer_delay: Duration::from_millis(300),
            pstn_answer_delay: Duration::from_millis(600),
            early_media: Duration::from_secs(1),
            far_hangup_after: Duration::from_secs(2),
            survival_grace: Duration::from_secs(8),
            tick: Duration::from_millis(100),
            routing_second: Duration::from_millis(100),
            voice_app_wait: Duration::from_secs(10),
            voice_app_reattach: Duration::from_secs(2),
        }
    }
}

/// How to start the signalling layer.
#[derive(Debug, Clone)]
pub struct SignallingConfig {
    /// The IP the media engine binds (and advertises as its only ICE candidate).
    pub media_ip: IpAddr,
    pub timers: Timers,
}

/// Why signalling could not start.
#[derive(Debug, thiserror::Error)]
pub enum SignallingError {
    #[error("the media engine could not start: {0}")]
    Media(#[from] ds_media::MediaError),
}

/// Starts the media engine and the call hub, and plugs them into `state` (the `/v1/webrtc`
/// route, click-to-call, test-helper calls). Call once, from inside a tokio runtime.
pub fn attach(state: &AppState, config: SignallingConfig) -> Result<Hub, SignallingError> {
    let media_ip = if config.media_ip.is_unspecified() {
        // An unspecified address is no usable ICE candidate; loopback is what ds-local serves.
        IpAddr::from([127, 0, 0, 1])
    } else {
        config.media_ip
    };
    let hub = Hub::start(state.clone(), media_ip, config.timers)?;
    state.set_signalling(hub.clone());
    state.set_call_launcher(Arc::new(hub.clone()));
    Ok(hub)
}

/// The routes this module serves; merged into [`crate::app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webrtc", get(socket::upgrade))
        .route("/v1/test_helpers/calls", post(test_helpers::create_call))
        .route("/_ds/users/{id}/drop_signalling", post(test_helpers::drop_signalling))
}
