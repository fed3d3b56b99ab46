//! A tiny voice app (rest.md §14): the seed's `va_ai_receptionist`, runnable against ds-local.
//!
//! - `POST /webhook` takes `call.received` (signature checked with the voice app's secret) and,
//!   before replying, asks the platform to `attach` this app's media socket to the call
//!   (`POST /v1/calls/{id}`), as the platform's reference example does.
//! - `GET /media/{call_id}` is that socket: it plays a greeting generated here (a two-note
//!   chime, μ-law 8 kHz in 20 ms frames) and records everything the caller says to
//!   `<recordings>/<call_id>.wav` when the call ends.
//!
//! - "Press 1 for the front desk": keys arrive in-band (DTMF tone pairs in the caller's audio,
//!   the media socket has no key events, rest.md §14.5); a `1` transfers the call to
//!   `front_desk` (`{"type":"transfer","target":…}`).
//!
//! It understands no speech.

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
    /// Where a caller pressing `1` is transferred (an extension number or a routing-target id).
    pub front_desk: Option<String>,
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
        let heard = converse(&app, &call_id, socket).await;
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

/// The DTMF key whose tone pair dominates `samples` (8 kHz), if one clearly does: the
/// strongest row and column frequencies must each stand out from the others of their group
/// and carry most of the signal's power.
pub fn detect_dtmf(samples: &[i16]) -> Option<char> {
    const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    const KEYS: [[char; 4]; 4] =
        [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];
    if samples.is_empty() {
        return None;
    }
    let power = |freq: f32| ds_media::tone_power(samples, freq);
    let strongest = |freqs: &[f32; 4]| {
        let mut powers: Vec<(usize, f32)> = freqs.iter().map(|f| power(*f)).enumerate().collect();
        powers.sort_by(|a, b| b.1.total_cmp(&a.1));
        (powers[0].0, powers[0].1, powers[1].1)
    };
    let (row, row_power, row_next) = strongest(&ROWS);
    let (col, col_power, col_next) = strongest(&COLS);
    let energy = samples.iter().map(|&x| (f32::from(x) / f32::from(i16::MAX)).powi(2)).sum::<f32>()
        / samples.len() as f32;
    // A pure tone of amplitude a has a Goertzel power of about a²/4 and an energy of a²/2.
    let clear = row_power > 8.0 * row_next && col_power > 8.0 * col_next;
    let dominant = (row_power + col_power) * 2.0 > 0.6 * energy && energy > 1e-4;
    (clear && dominant).then_some(KEYS[row][col])
}

/// Transfers the call (one `transfer` action) because the caller pressed `1`.
async fn transfer(app: &App, account: &str, call_id: &str, target: &str) {
    let action = json!({ "actions": [{ "type": "transfer", "target": target }] });
    let sent = app
        .http
        .post(format!("{}/v1/calls/{call_id}", app.config.api_base))
        .bearer_auth(&app.config.api_key)
        .header("DialStack-Account", account)
        .json(&action)
        .send()
        .await;
    match sent {
        Ok(response) => {
            tracing::info!(%call_id, %target, status = %response.status(), "transfer to the front desk")
        }
        Err(error) => tracing::warn!(%call_id, %error, "cannot reach the platform"),
    }
}

/// Plays the greeting in real time while collecting what the caller says (and listening for
/// keys); returns the caller's μ-law audio once the platform sends `end` or the socket closes.
async fn converse(app: &App, call_id: &str, mut socket: WebSocket) -> Vec<u8> {
    let greeting = greeting();
    let mut frames = greeting.chunks(160);
    let mut heard = Vec::new();
    let mut account = String::new();
    // Keys are judged on 40 ms windows; one key is reported once, when two windows agree.
    let mut window: Vec<i16> = Vec::with_capacity(320);
    let mut last: Option<char> = None;
    let mut reported = false;
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
                        Some("begin") => {
                            account = frame["account_id"].as_str().unwrap_or_default().to_owned();
                            tracing::info!(%call_id, "media socket open");
                        }
                        Some("audio") => {
                            if let Some(bytes) = frame["payload"].as_str().and_then(|p| BASE64.decode(p).ok()) {
                                heard.extend_from_slice(&bytes);
                                for byte in bytes {
                                    window.push(ds_media::mulaw_decode(byte));
                                    if window.len() < 320 {
                                        continue;
                                    }
                                    let key = detect_dtmf(&window);
                                    window.clear();
                                    if key.is_some() && key == last && !reported {
                                        reported = true;
                                        tracing::info!(%call_id, key = ?key, "caller pressed a key");
                                        if let (Some('1'), Some(desk)) = (key, &app.config.front_desk) {
                                            transfer(app, &account, call_id, desk).await;
                                        }
                                    }
                                    if key != last {
                                        reported = false;
                                    }
                                    last = key;
                                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dual_tone(low: f32, high: f32) -> Vec<i16> {
        (0..320)
            .map(|n| {
                let t = n as f32 / 8_000.0;
                let value = 0.25 * (std::f32::consts::TAU * low * t).sin()
                    + 0.25 * (std::f32::consts::TAU * high * t).sin();
                (value * f32::from(i16::MAX)) as i16
            })
            .collect()
    }

    #[test]
    fn dtmf_keys_are_told_apart_and_tones_or_silence_are_no_key() {
        assert_eq!(detect_dtmf(&dual_tone(697.0, 1209.0)), Some('1'));
        assert_eq!(detect_dtmf(&dual_tone(770.0, 1336.0)), Some('5'));
        assert_eq!(detect_dtmf(&dual_tone(941.0, 1477.0)), Some('#'));
        let through_mulaw: Vec<i16> = dual_tone(697.0, 1209.0)
            .into_iter()
            .map(|x| ds_media::mulaw_decode(ds_media::mulaw_encode(x)))
            .collect();
        assert_eq!(detect_dtmf(&through_mulaw), Some('1'));
        let tone = Recording::of_source(&Source::Tone { freq_hz: 440.0 }, 40).samples;
        assert_eq!(detect_dtmf(&tone), None);
        assert_eq!(detect_dtmf(&[0; 320]), None);
        assert_eq!(detect_dtmf(&[]), None);
    }
}
