//! A tiny voice app (rest.md §14): the seed's `va_ai_receptionist`, runnable against ds-local.
//!
//! - `POST /webhook` takes `call.received` (signature checked with the voice app's secret) and,
//!   before replying, asks the platform to `attach` this app's media socket to the call
//!   (`POST /v1/calls/{id}`), as the platform's reference example does.
//! - `GET /media/{call_id}` is that socket: it plays a greeting generated here (a two-note
//!   chime, μ-law 8 kHz in 20 ms frames) and records everything the caller says to
//!   `<recordings>/<call_id>.wav` when the call ends.
//!
//! It understands no speech and no keys: the media socket carries audio only (rest.md §14.5).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ds_media::{Recording, Source};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// How the app reaches the platform and where it is reachable itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// The platform's REST base, e.g. `http://127.0.0.1:8787`.
    pub api_base: String,
    /// A platform API key (`sk_test_…`).
    pub api_key: String,
    /// The voice app's `secret` (`whsec_…`), shown by `GET /v1/voice-apps/{id}`.
    pub secret: String,
    /// Base of this app's media socket as the platform reaches it, e.g. `ws://127.0.0.1:8790`.
    pub public_ws: String,
    /// Where caller recordings are written.
    pub recordings: PathBuf,
}

#[derive(Clone)]
struct App {
    config: Arc<Config>,
    http: reqwest::Client,
}

/// The app's routes: `POST /webhook`, `GET /media/{call_id}`.
pub fn router(config: Config) -> Router {
    let app = App { config: Arc::new(config), http: reqwest::Client::new() };
    Router::new().route("/webhook", post(webhook)).route("/media/{call_id}", get(media)).with_state(app)
}

/// Checks `X-DialStack-Signature: t=…,v1=…` (HMAC-SHA256 of `"{t}.{body}"`, 5 minutes'
/// tolerance).
pub fn signature_is_valid(secret: &str, header: &str, body: &[u8], now_unix: i64) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => given = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else { return false };
    if (now_unix - timestamp).abs() > 300 || given.len() % 2 != 0 {
        return false;
    }
    let Some(given) = (0..given.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&given[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn webhook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-dialstack-signature").and_then(|value| value.to_str().ok()).unwrap_or("");
    if !signature_is_valid(&app.config.secret, signature, &body, unix_now()) {
        tracing::warn!("refused a webhook with a bad signature");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    if event["event"] != "call.received" {
        return StatusCode::OK;
    }
    let (Some(call_id), Some(account)) = (event["call_id"].as_str(), event["account_id"].as_str()) else {
        return StatusCode::BAD_REQUEST;
    };
    tracing::info!(%call_id, from = %event["from_number"], "answering");
    let attach = json!({ "actions": [{ "type": "attach", "url": format!("{}/media/{call_id}", app.config.public_ws) }] });
    let sent = app
        .http
        .post(format!("{}/v1/calls/{call_id}", app.config.api_base))
        .bearer_auth(&app.config.api_key)
        .header("DialStack-Account", account)
        .json(&attach)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => StatusCode::OK,
        Ok(response) => {
            tracing::warn!(%call_id, status = %response.status(), "the platform refused the attach");
            StatusCode::BAD_GATEWAY
        }
        Err(error) => {
            tracing::warn!(%call_id, %error, "cannot reach the platform");
            StatusCode::BAD_GATEWAY
        }
    }
}

async fn media(
    State(app): State<App>,
    Path(call_id): Path<String>,
    ws: WebSocketUpgrade,
) -> impl IntoResponse {
    ws.on_upgrade(move |socket| async move {
        let heard = converse(socket).await;
        let path = app.config.recordings.join(format!("{call_id}.wav"));
        let recording = Recording::from_mulaw(&heard);
        match tokio::fs::write(&path, recording.to_wav()).await {
            Ok(()) => {
                tracing::info!(%call_id, ms = recording.duration_ms(), path = %path.display(), "recorded")
            }
            Err(error) => tracing::warn!(%call_id, %error, "cannot write the recording"),
        }
    })
}

/// The greeting: a two-note chime (660 Hz then 880 Hz, 0.4 s each) as μ-law 8 kHz.
pub fn greeting() -> Vec<u8> {
    let mut audio = Recording::of_source(&Source::Tone { freq_hz: 660.0 }, 400).to_mulaw();
    audio.extend(Recording::of_source(&Source::Tone { freq_hz: 880.0 }, 400).to_mulaw());
    audio
}

/// Plays the greeting in real time while collecting what the caller says; returns the
/// caller's μ-law audio once the platform sends `end` or the socket closes.
async fn converse(mut socket: WebSocket) -> Vec<u8> {
    let greeting = greeting();
    let mut frames = greeting.chunks(160);
    let mut heard = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Some(frame) = frames.next() {
                    let audio = json!({ "event": "audio", "payload": BASE64.encode(frame) });
                    if socket.send(Message::Text(audio.to_string().into())).await.is_err() {
                        return heard;
                    }
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                    match frame["event"].as_str() {
                        Some("audio") => {
                            if let Some(bytes) = frame["payload"].as_str().and_then(|p| BASE64.decode(p).ok()) {
                                heard.extend_from_slice(&bytes);
                            }
                        }
                        Some("end") => return heard,
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return heard,
                Some(Ok(_)) => {}
            },
        }
    }
}
