//! A one-page browser proof for ds-media: serves an HTML page that makes a real WebRTC call
//! to the engine, exchanging SDP over plain HTTP (no signalling protocol involved).
//!
//! Run it (and the browser) in a loopback-only namespace, see tests/media/README.md:
//!     cargo run -p ds-media --example echo_page -- 127.0.0.1:8790
//!
//! Routes:
//! - `GET /`                          the page (`window.placeCall`, `window.takeCall`, ...)
//! - `POST /offer?source=S`           body: the browser's offer; reply: the engine's answer
//! - `POST /inbound?source=S`         reply: an engine offer, its leg id in `x-leg`
//! - `POST /answer/{leg}`             body: the browser's answer to that offer
//! - `POST /bridge/{a}/{b}`          bridge two legs (e.g. two pages)
//! - `GET /events`                    one line per engine event so far
//! - `GET /health`                    `ok`
//!
//! S is `echo`, `tone`, `ringback`, `hold`, `ivr` or `silence`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use ds_media::{LegId, MediaEngine, MediaEvent, Source};

#[derive(Clone)]
struct App {
    engine: MediaEngine,
    log: Arc<Mutex<Vec<String>>>,
}

fn source_named(name: Option<&String>) -> Result<Source, String> {
    Ok(match name.map(String::as_str).unwrap_or("echo") {
        "echo" => Source::Echo,
        "tone" => Source::Tone { freq_hz: 440.0 },
        "ringback" => Source::RingbackTone,
        "hold" => Source::MusicOnHold,
        "ivr" => Source::Ivr,
        "silence" => Source::Silence,
        other => return Err(format!("unknown source {other:?}")),
    })
}

fn bad_request(message: impl ToString) -> Response {
    (StatusCode::BAD_REQUEST, message.to_string()).into_response()
}

async fn offer(State(app): State<App>, Query(q): Query<HashMap<String, String>>, body: String) -> Response {
    let source = match source_named(q.get("source")) {
        Ok(source) => source,
        Err(e) => return bad_request(e),
    };
    let (leg, answer) = match app.engine.answer_offer(&body).await {
        Ok(answered) => answered,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = app.engine.set_source(leg, source).await {
        return bad_request(e);
    }
    ([("x-leg", leg.0.to_string())], answer).into_response()
}

async fn inbound(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let source = match source_named(q.get("source")) {
        Ok(source) => source,
        Err(e) => return bad_request(e),
    };
    let (leg, offer) = match app.engine.create_offer().await {
        Ok(created) => created,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = app.engine.set_source(leg, source).await {
        return bad_request(e);
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = leg.0.to_string().parse() {
        headers.insert("x-leg", value);
    }
    (headers, offer).into_response()
}

async fn answer(State(app): State<App>, Path(leg): Path<u64>, body: String) -> Response {
    match app.engine.accept_answer(LegId(leg), &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(e),
    }
}

async fn bridge(State(app): State<App>, Path((a, b)): Path<(u64, u64)>) -> Response {
    match app.engine.bridge(LegId(a), LegId(b)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(e),
    }
}

async fn events(State(app): State<App>) -> String {
    let log = app.log.lock().map(|log| log.join("\n")).unwrap_or_default();
    log + "\n"
}

fn describe(event: &MediaEvent) -> Option<String> {
    Some(match event {
        MediaEvent::Connected { leg } => format!("connected {leg}"),
        MediaEvent::Disconnected { leg } => format!("disconnected {leg}"),
        MediaEvent::Closed { leg } => format!("closed {leg}"),
        MediaEvent::AudioFlowing { leg } => format!("audio {leg}"),
        MediaEvent::DtmfDigit { leg, digit } => format!("dtmf {leg} {digit}"),
        MediaEvent::Stats { .. } => return None,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let http: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8790".into())
        .parse()
        .context("the argument is the HTTP address, e.g. 127.0.0.1:8790")?;
    // Media binds the same IP as HTTP: on loopback that is 127.0.0.1, the only candidate.
    let (engine, mut media_events) = MediaEngine::start(http.ip())?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    tokio::spawn(async move {
        while let Some(event) = media_events.recv().await {
            if let Some(line) = describe(&event) {
                println!("media: {line}");
                if let Ok(mut log) = sink.lock() {
                    log.push(line);
                }
            }
        }
    });
    let app = Router::new()
        .route("/", get(|| async { Html(include_str!("echo_page.html")) }))
        .route("/health", get(|| async { "ok" }))
        .route("/offer", post(offer))
        .route("/inbound", post(inbound))
        .route("/answer/{leg}", post(answer))
        .route("/bridge/{a}/{b}", post(bridge))
        .route("/events", get(events))
        .with_state(App { engine: engine.clone(), log });
    let listener = tokio::net::TcpListener::bind(http).await?;
    println!("echo_page: http://{http}/ (media on udp {})", engine.local_addr());
    axum::serve(listener, app).await?;
    Ok(())
}
