//! Voice apps taking routed calls (rest.md §14): the `call.received` / `call.notify` webhooks,
//! call control (`attach`, `transfer`) and the media WebSocket to the app (rest.md §14.5).
//!
//! State machine (rest.md §14.4): the hand-over answers the network leg and POSTs
//! `call.received` (signed with the app's secret) from a spawned task, so the hub keeps serving
//! the app's `POST /v1/calls/{id}` while the webhook is open. A non-2xx reply, a delivery
//! failure or no action within `Timers::voice_app_wait` is `Failed` (the plan's fallback). An
//! `attach` opens the socket (ds-local is the client): `begin`, then the caller's audio as
//! μ-law 8 kHz frames every 20 ms; the app's `audio` frames go into a FIFO (60 s, oldest
//! dropped) played out in real time, 20 ms per tick: to a softphone caller's leg through
//! ds-media's `Source::Stream`, and in every case kept as what the caller heard, stored as the
//! call's recording when the socket ends. A softphone caller's own audio reaches the app from
//! ds-media's live tap of its leg (one decoded frame per packet), not by polling a recorder.
//! `transfer` ends the socket (`end{call_ended}`) and dispatches the call to the target.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ds_media::{AudioTap, LegId, MediaEngine, RECORDING_RATE, Recording, Source, mulaw_decode, mulaw_encode};
use ds_routing::Outcome as Walk;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::routed::{ANY_GENERATION, DEFAULT_TALK};
use super::{Actor, Input};
use crate::AppState;
use crate::clock::iso;
use crate::routing;
use crate::voicemail::media_path;

/// A `POST /v1/calls/{id}` action (rest.md §13.3), validated by REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAction {
    Attach { url: String },
    Transfer { target: String },
}

/// Why a control action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no such call")]
    NotFound,
    #[error("the call has ended")]
    NotActive,
    #[error("a media session is already open")]
    AlreadyAttached,
    #[error("the call is not held by a control-mode voice app")]
    NotControllable,
    #[error("{0}")]
    InvalidTarget(String),
}

/// Frames of the media socket.
const FRAME: Duration = Duration::from_millis(20);
const FRAME_BYTES: usize = 160;
/// What the caller heard from the app, at most, and the playback FIFO's cap (rest.md §14.5
/// [open]: 60 s FIFO, overflow drops the oldest audio).
const MAX_HEARD_BYTES: usize = 60 * RECORDING_RATE as usize;
/// How far the caller's audio may queue up behind the 20 ms send tick before the oldest is
/// dropped: the app hears the caller at most this late.
const MAX_CALLER_BACKLOG: usize = 10 * FRAME_BYTES;

/// A voice app holding a routed call.
pub(super) struct AppCall {
    pub(super) app_id: String,
    /// The app has attached a media socket at least once: it has the call.
    pub(super) attached: bool,
    /// Stops the media socket (sends `end{call_ended}` and closes) once attached.
    stop: Option<mpsc::UnboundedSender<&'static str>>,
    /// The caller's keys (RFC 4733 from a softphone), sent to the app as `dtmf` frames.
    keys: Option<mpsc::UnboundedSender<char>>,
}

impl AppCall {
    /// Ends the media socket, if any.
    pub(super) fn detach(&mut self) {
        self.keys = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send("call_ended");
        }
    }

    /// The caller pressed `digit`: an open media socket tells the app (docs/decisions.md:
    /// `{"event":"dtmf","digit":…,"timestamp":…}`); with none open the key is not kept.
    pub(super) fn key_pressed(&self, digit: char) {
        if let Some(keys) = &self.keys {
            let _ = keys.send(digit);
        }
    }

    /// The app was deleted: its socket gets `end{deleted}` and closes, which counts as the
    /// app leaving (the re-attach grace, then the hand-over fails).
    fn end_deleted(&self) {
        if let Some(stop) = &self.stop {
            let _ = stop.send("deleted");
        }
    }
}

struct AppRow {
    url: String,
    secret: String,
    active: bool,
}

async fn load_app(state: &AppState, account_id: &str, app_id: &str) -> Option<AppRow> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT url, secret, status FROM voice_apps WHERE account_id = ? AND id = ?")
            .bind(account_id)
            .bind(app_id)
            .fetch_optional(state.db())
            .await
            .ok()
            .flatten();
    row.map(|(url, secret, status)| AppRow { url, secret, active: status == "active" })
}

/// POSTs a voice-app webhook (rest.md §14.3); true on a 2xx within `timeout`.
async fn deliver(url: &str, secret: &str, account_id: &str, body: &Value, timeout: Duration) -> bool {
    let body = body.to_string();
    let now = chrono::Utc::now().timestamp();
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(_) => return false,
    };
    let sent = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-DialStack-Signature", crate::webhooks::signature_header(secret, now, body.as_bytes()))
        .header("X-DialStack-Account-Id", account_id)
        .header("User-Agent", "ds-local-voice-apps/0.1")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => response.status().is_success(),
        Err(error) => {
            tracing::info!(%url, %error, "voice-app webhook not delivered");
            false
        }
    }
}

impl Actor {
    fn app_webhook_body(&self, call_id: &str, event: &str, app_id: &str) -> Option<(String, Value)> {
        let routed = self.routed.get(call_id)?;
        let facts = &routed.facts;
        let body = json!({
            "event": event, "call_id": call_id, "account_id": facts.account_id, "voice_app_id": app_id,
            "from_number": facts.from_number, "from_name": facts.from_name, "to_number": facts.to_number,
            "call": { "id": call_id, "direction": facts.direction, "from_number": facts.from_number,
                      "from_name": facts.from_name, "to_number": facts.to_number },
            "timestamp": iso(self.now()),
        });
        Some((facts.account_id.clone(), body))
    }

    /// A `ConnectVoiceApp` step: answer, hand over with `call.received`, wait for an action.
    pub(super) async fn connect_voice_app(
        &mut self,
        call_id: &str,
        generation: u64,
        app_id: &str,
    ) -> Option<Walk> {
        let (account_id, body) = self.app_webhook_body(call_id, "call.received", app_id)?;
        let Some(app) = load_app(&self.state, &account_id, app_id).await.filter(|app| app.active) else {
            return Some(Walk::Failed);
        };
        self.network_answer(call_id).await;
        if let Some(routed) = self.routed.get_mut(call_id) {
            routed.app = Some(AppCall { app_id: app_id.to_owned(), attached: false, stop: None, keys: None });
        }
        let wait = self.timers.voice_app_wait;
        let tx = self.tx.clone();
        let call = call_id.to_owned();
        tokio::spawn(async move {
            if !deliver(&app.url, &app.secret, &account_id, &body, wait).await {
                let _ = tx.send(Input::RoutedTimer { call_id: call, generation, outcome: Walk::Failed });
            }
        });
        // No action within the wait → the hand-over failed (rest.md §14.4 [open]).
        self.routed_after(call_id, generation, Walk::Failed, wait);
        None
    }

    /// A `NotifyVoiceApp` step: `call.notify`, fire and forget; the plan moves on at once.
    pub(super) async fn notify_voice_app(&mut self, call_id: &str, app_id: &str) {
        let Some((account_id, body)) = self.app_webhook_body(call_id, "call.notify", app_id) else { return };
        let Some(app) = load_app(&self.state, &account_id, app_id).await.filter(|app| app.active) else {
            return;
        };
        let wait = self.timers.voice_app_wait;
        tokio::spawn(async move {
            deliver(&app.url, &app.secret, &account_id, &body, wait).await;
        });
    }

    /// `DELETE /v1/voice-apps/{id}` (rest.md §14.2 [open]): open media sessions of the app get
    /// `end{deleted}`.
    pub(super) fn voice_app_deleted(&mut self, account_id: &str, app_id: &str) {
        for routed in self.routed.values().filter(|routed| routed.facts.account_id == account_id) {
            if let Some(app) = routed.app.as_ref().filter(|app| app.app_id == app_id) {
                app.end_deleted();
            }
        }
    }

    /// Whether the hub call `caller` is a softphone caller whose routed call has a voice app's
    /// media socket open: its leg then plays the app's audio (`Source::Stream`).
    pub(super) fn caller_hears_app(&self, caller: &str) -> bool {
        self.routed.values().any(|routed| {
            routed.caller.as_deref() == Some(caller)
                && routed.app.as_ref().is_some_and(|app| app.stop.is_some())
        })
    }

    /// `POST /v1/calls/{id}` for one action.
    pub(super) async fn control(
        &mut self,
        account_id: &str,
        call_id: &str,
        action: ControlAction,
    ) -> Result<(), ControlError> {
        let Some(routed) = self.routed.get(call_id).filter(|routed| routed.facts.account_id == account_id)
        else {
            return Err(not_routed(&self.state, account_id, call_id).await);
        };
        match action {
            ControlAction::Attach { url } => {
                let Some(app) = &routed.app else { return Err(ControlError::NotControllable) };
                if app.stop.is_some() {
                    return Err(ControlError::AlreadyAttached);
                }
                let app_id = app.app_id.clone();
                let digits: String = routed.digits.iter().collect();
                // A softphone caller's own leg is what the app hears; else the simulated caller.
                let softphone = routed.caller.clone();
                let call = softphone.as_ref().and_then(|caller| self.calls.get(caller));
                let (leg, held) =
                    (call.and_then(|call| call.media), call.is_some_and(|call| call.held_local));
                let feed = match leg {
                    Some(leg) => {
                        // The leg plays what the app says (silence until it speaks); a held
                        // caller gets it on resume (`apply_media`).
                        if !held && let Err(error) = self.media.set_source(leg, Source::Stream).await {
                            tracing::debug!(%leg, %error, "the caller's leg cannot play the voice app");
                        }
                        CallerFeed::Leg { media: self.media.clone(), leg }
                    }
                    None => CallerFeed::Simulated(caller_audio(&digits)),
                };
                let (stop, keys) = self.open_media_socket(call_id, &url, &app_id, feed);
                let Some(routed) = self.routed.get_mut(call_id) else { return Ok(()) };
                // The app has the call: the hand-over timer (or a re-attach grace) is stale.
                routed.generation += 1;
                let talk = routed.talk.unwrap_or(DEFAULT_TALK);
                let Some(app) = routed.app.as_mut() else { return Ok(()) };
                app.stop = Some(stop);
                app.keys = Some(keys);
                if !app.attached {
                    app.attached = true;
                    if softphone.is_none() {
                        // The simulated caller talks to the app for `talk_seconds`, then hangs up
                        // (a softphone caller hangs up when its user does).
                        self.routed_after(call_id, ANY_GENERATION, Walk::Hangup, talk);
                    }
                }
                Ok(())
            }
            ControlAction::Transfer { target } => self.transfer_routed(call_id, &target).await,
        }
    }

    /// Blind transfer of a routed call (rest.md §13.3): the app's socket ends, the call is
    /// dispatched to `target` (an extension number or a routing-target id) with a fresh walk.
    async fn transfer_routed(&mut self, call_id: &str, target: &str) -> Result<(), ControlError> {
        let Some(facts) = self.routed.get(call_id).map(|routed| routed.facts.clone()) else {
            return Err(ControlError::NotFound);
        };
        let resolved = if ds_routing::TargetKind::of(target).is_some() {
            Some(target.to_owned())
        } else {
            routing::resolve_extension(&self.state, &facts.account_id, target).await.ok().flatten()
        };
        let Some(resolved) = resolved else {
            return Err(ControlError::InvalidTarget(format!(
                "{target} is neither an extension of the account nor a routing-target id"
            )));
        };
        let now = routing::schedule_now(&self.state).await;
        let (walker, first) = routing::route_target(&self.state, &facts.account_id, &resolved, now)
            .await
            .map_err(|error| ControlError::InvalidTarget(error.to_string()))?;
        if let Some(routed) = self.routed.get_mut(call_id) {
            if let Some(mut app) = routed.app.take() {
                app.detach();
            }
            routed.walker = walker;
        }
        self.journal.publish(
            &facts,
            "call.transfer",
            json!({ "transfer_type": "blind", "transferred_to": target, "related_call_id": null }),
        );
        Box::pin(self.perform(call_id, first)).await;
        Ok(())
    }

    /// Starts the media socket task; returns the handles that stop it and that pass it keys.
    fn open_media_socket(
        &self,
        call_id: &str,
        url: &str,
        app_id: &str,
        caller: CallerFeed,
    ) -> (mpsc::UnboundedSender<&'static str>, mpsc::UnboundedSender<char>) {
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        let (keys_tx, keys_rx) = mpsc::unbounded_channel();
        let account_id = self.routed.get(call_id).map(|r| r.facts.account_id.clone()).unwrap_or_default();
        let begin = json!({
            "event": "begin", "call_id": call_id, "account_id": account_id, "voice_app_id": app_id,
            "audio_format": { "encoding": "audio/x-mulaw", "sample_rate": 8000, "channels": 1 },
        });
        let tx = self.tx.clone();
        let call = call_id.to_owned();
        let url = url.to_owned();
        tokio::spawn(async move {
            let (heard, by_app) = media_socket(&url, &account_id, begin, caller, stop_rx, keys_rx).await;
            let _ = tx.send(Input::AppSocketClosed { call_id: call, account_id, heard, by_app });
        });
        (stop_tx, keys_tx)
    }

    /// The app's media socket ended: what the caller heard becomes the call's recording; if
    /// the app closed it, the call ends (ds-local does not wait for a re-attach).
    pub(super) async fn app_socket_closed(
        &mut self,
        call_id: &str,
        account_id: &str,
        heard: Vec<u8>,
        by_app: bool,
    ) {
        if !heard.is_empty() {
            self.store_call_recording(call_id, account_id, &heard);
        }
        let Some(routed) = self.routed.get_mut(call_id) else { return };
        let Some(app) = routed.app.as_mut().filter(|app| app.stop.is_some()) else { return };
        if by_app {
            // rest.md §14.4: back to waiting, with a grace for a new attach, then failed (the
            // node's `next`, or hang up).
            app.stop = None;
            routed.generation += 1;
            let generation = routed.generation;
            self.routed_after(call_id, generation, Walk::Failed, self.timers.voice_app_reattach);
        }
    }

    /// Stores what the app heard and announces it, through the journal (after the call's
    /// own writes, in the hub's order).
    fn store_call_recording(&self, call_id: &str, account_id: &str, heard: &[u8]) {
        let recording = Recording::from_mulaw(heard);
        let now = self.now();
        let (call_id, account_id) = (call_id.to_owned(), account_id.to_owned());
        self.journal.run(move |state| async move {
            let audio = recording.to_wav();
            let duration = (recording.duration_ms() / 1000) as i64;
            let stored = sqlx::query(
                "INSERT OR REPLACE INTO call_recordings (call_id, account_id, duration_seconds, audio, created_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&call_id)
            .bind(&account_id)
            .bind(duration)
            .bind(&audio)
            .bind(now)
            .execute(state.db())
            .await;
            if let Err(error) = stored {
                tracing::warn!(%call_id, %error, "cannot store the call recording");
                return;
            }
            let (url, expires) = media_path(&call_id, now);
            let data = json!({
                "call_id": call_id, "download_url": url, "recording_url": url, "expires_at": iso(expires),
                "duration_seconds": duration, "file_size_bytes": audio.len(),
            });
            if let Err(error) = state.events().publish(&account_id, "recording.available", data).await {
                tracing::warn!(%call_id, %error, "cannot publish recording.available");
            }
        });
    }
}

/// Why `call_id` cannot be controlled when it is not walking through routing: its row says
/// whether it ended, is live without routing, or does not exist in `account_id`.
pub(super) async fn not_routed(state: &AppState, account_id: &str, call_id: &str) -> ControlError {
    let ended: Option<Option<String>> =
        sqlx::query_scalar("SELECT status FROM calls WHERE id = ? AND account_id = ?")
            .bind(call_id)
            .bind(account_id)
            .fetch_optional(state.db())
            .await
            .ok()
            .flatten();
    match ended {
        Some(Some(_)) => ControlError::NotActive,
        // Live calls that did not come through routing are not controllable here.
        Some(None) => ControlError::NotControllable,
        None => ControlError::NotFound,
    }
}

/// Where the audio a voice app hears comes from, and where the app's audio goes.
enum CallerFeed {
    /// The simulated PSTN caller (what it hears is only recorded).
    Simulated(CallerAudio),
    /// A softphone caller's leg: what it sends comes from ds-media's tap of the leg; what the
    /// app says is pushed to the leg, which plays it as `Source::Stream`.
    Leg { media: MediaEngine, leg: LegId },
}

/// μ-law silence.
const MULAW_SILENCE: u8 = 0xFF;

impl CallerFeed {
    /// Starts listening to a softphone caller: the tap of its leg. `None` when there is
    /// nothing to listen to (the simulated caller, or a leg that is gone).
    async fn start(&self) -> Option<AudioTap> {
        let CallerFeed::Leg { media, leg } = self else { return None };
        media.tap_audio(*leg).await.ok()
    }

    /// Plays one 20 ms chunk of the app's μ-law audio to the caller (a softphone leg).
    async fn play(&self, mulaw: &[u8]) {
        if let CallerFeed::Leg { media, leg } = self {
            let pcm = mulaw.iter().copied().map(mulaw_decode).collect();
            // The leg may have ended or moved on (hold, transfer): then the audio just goes.
            let _ = media.push_audio(*leg, pcm).await;
        }
    }
}

/// What the simulated caller sends a voice app: its tone, with the scenario's keys pressed
/// in-band (DTMF tone pairs, 200 ms each with 200 ms gaps) after the first second.
struct CallerAudio {
    /// The opening and the keys, played once.
    intro: Vec<u8>,
    /// One second of the tone, looped afterwards (440 Hz has whole cycles in a second at 8 kHz,
    /// so the loop is seamless).
    tone: Vec<u8>,
}

impl CallerAudio {
    fn frame(&self, offset: usize) -> Vec<u8> {
        (offset..offset + FRAME_BYTES)
            .map(|at| match self.intro.get(at) {
                Some(byte) => *byte,
                None => self.tone[(at - self.intro.len()) % self.tone.len()],
            })
            .collect()
    }
}

fn caller_audio(digits: &str) -> CallerAudio {
    let tone = Recording::of_source(&Source::Tone { freq_hz: 440.0 }, 1_000).to_mulaw();
    let mut intro = tone.clone();
    let silence = Recording { samples: vec![0; RECORDING_RATE as usize / 5] }.to_mulaw();
    for digit in digits.chars() {
        let Some((low, high)) = ds_media::dtmf_frequencies(digit) else { continue };
        let samples = (0..RECORDING_RATE as usize / 5)
            .map(|n| {
                let t = n as f32 / RECORDING_RATE as f32;
                let value = 0.25 * (std::f32::consts::TAU * low * t).sin()
                    + 0.25 * (std::f32::consts::TAU * high * t).sin();
                (value * f32::from(i16::MAX)) as i16
            })
            .collect();
        intro.extend(Recording { samples }.to_mulaw());
        intro.extend_from_slice(&silence);
    }
    CallerAudio { intro, tone }
}

/// Runs one attach session (rest.md §14.5) until the call side stops it or the app closes it.
/// Returns what the app sent (μ-law) and whether the app ended the session.
async fn media_socket(
    url: &str,
    account_id: &str,
    begin: Value,
    caller: CallerFeed,
    mut stop: mpsc::UnboundedReceiver<&'static str>,
    mut keys: mpsc::UnboundedReceiver<char>,
) -> (Vec<u8>, bool) {
    let mut heard = Vec::new();
    let Ok(mut request) = url.into_client_request() else { return (heard, true) };
    if let Ok(value) = "ds-local-voice-apps/0.1".parse() {
        request.headers_mut().insert("User-Agent", value);
    }
    if let Ok(value) = account_id.parse() {
        request.headers_mut().insert("X-DialStack-Account-Id", value);
    }
    let connected =
        tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(request)).await;
    let Ok(Ok((mut socket, _))) = connected else {
        tracing::info!(%url, "cannot open the voice app's media socket");
        return (heard, true);
    };
    if socket.send(Message::text(begin.to_string())).await.is_err() {
        return (heard, true);
    }
    let mut tap = caller.start().await;
    let mut offset = 0usize;
    let mut timestamp = 0u64;
    let mut ticks = tokio::time::interval(FRAME);
    // A softphone's audio waits here for its 20 ms frame (silence while there is none).
    let mut live: VecDeque<u8> = VecDeque::new();
    // The app's audio, played out in real time (rest.md §14.5).
    let mut playback: VecDeque<u8> = VecDeque::new();
    let mut keys_open = true;
    loop {
        tokio::select! {
            frame = async { tap.as_mut()?.recv().await }, if tap.is_some() => match frame {
                Some(pcm) => {
                    live.extend(pcm.into_iter().map(mulaw_encode));
                    let excess = live.len().saturating_sub(MAX_CALLER_BACKLOG);
                    live.drain(..excess);
                }
                // The leg ended: the app hears silence until the call side stops the session.
                None => tap = None,
            },
            key = keys.recv(), if keys_open => match key {
                Some(digit) => {
                    let dtmf = json!({ "event": "dtmf", "timestamp": timestamp, "digit": digit.to_string() });
                    if socket.send(Message::text(dtmf.to_string())).await.is_err() {
                        return (heard, true);
                    }
                }
                None => keys_open = false,
            },
            _ = ticks.tick() => {
                let frame = match &caller {
                    CallerFeed::Simulated(audio) => audio.frame(offset),
                    CallerFeed::Leg { .. } => {
                        let mut frame: Vec<u8> = live.drain(..FRAME_BYTES.min(live.len())).collect();
                        frame.resize(FRAME_BYTES, MULAW_SILENCE);
                        frame
                    }
                };
                offset += FRAME_BYTES;
                let audio = json!({ "event": "audio", "timestamp": timestamp, "payload": BASE64.encode(frame) });
                timestamp += 20;
                if socket.send(Message::text(audio.to_string())).await.is_err() {
                    return (heard, true);
                }
                // The app's next 20 ms (payloads of any size are re-chunked here).
                if !playback.is_empty() {
                    let chunk: Vec<u8> = playback.drain(..FRAME_BYTES.min(playback.len())).collect();
                    caller.play(&chunk).await;
                }
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                    match frame["event"].as_str() {
                        Some("audio") => {
                            if let Some(bytes) = frame["payload"].as_str().and_then(|p| BASE64.decode(p).ok()) {
                                heard.extend_from_slice(&bytes);
                                if heard.len() > MAX_HEARD_BYTES {
                                    heard.drain(..heard.len() - MAX_HEARD_BYTES);
                                }
                                playback.extend(bytes);
                                let excess = playback.len().saturating_sub(MAX_HEARD_BYTES);
                                playback.drain(..excess);
                            }
                        }
                        // ds-local extension (rest.md §14.5 [open]): flush what is queued.
                        Some("clear") => playback.clear(),
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return (heard, true),
                Some(Ok(_)) => {}
            },
            reason = stop.recv() => {
                let reason = reason.unwrap_or("call_ended");
                let end = json!({ "event": "end", "reason": reason });
                let _ = socket.send(Message::text(end.to_string())).await;
                let _ = socket.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })).await;
                // A deleted app is gone as if it had closed the socket itself.
                return (heard, reason == "deleted");
            }
        }
    }
}
