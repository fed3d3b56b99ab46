//! A signalling client for the native tests: tokio-tungstenite over 127.0.0.1 against a real
//! ds-local, plus a full-ICE str0m peer that plays the browser's part in media calls (real
//! offers and answers, DTLS-SRTP and Opus over UDP to ds-local's engine).
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ds_local::signalling::{SignallingConfig, Timers};
use ds_local::{AppState, Config};
use futures_util::{SinkExt, StreamExt};
use opus_pure::{Application, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const KEY: &str = "sk_test_local";
const WAIT: Duration = Duration::from_secs(10);

/// Timers short enough for tests, long enough not to race the assertions.
pub fn test_timers() -> Timers {
    Timers {
        ring_timeout: Duration::from_millis(1500),
        answer_delay: Duration::from_millis(100),
        pstn_answer_delay: Duration::from_millis(200),
        early_media: Duration::from_millis(300),
        far_hangup_after: Duration::from_millis(600),
        survival_grace: Duration::from_millis(1500),
        revocation_check: Duration::from_millis(100),
        tick: Duration::from_millis(50),
        ..Timers::default()
    }
}

/// A running ds-local with signalling, an account and two users with extensions 101 and 102.
pub struct World {
    pub state: AppState,
    pub addr: SocketAddr,
    pub account: String,
    pub alice: String,
    pub bob: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl World {
    pub async fn start() -> Self {
        Self::start_with(test_timers()).await
    }

    pub async fn start_with(timers: Timers) -> Self {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("ds_local=debug").try_init();
        let state = AppState::open(Config::in_memory()).await.expect("ds-local opens");
        ds_local::signalling::attach(&state, SignallingConfig { media_ip: [127, 0, 0, 1].into(), timers })
            .expect("signalling starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = ds_local::app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let mut world =
            World { state, addr, account: String::new(), alice: String::new(), bob: String::new(), server };
        world.account = world.post("/v1/accounts", None, json!({ "email": "front@clinic.test" })).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let account = world.account.clone();
        world.alice = world
            .post("/v1/users", Some(&account), json!({ "name": "Alice Smith", "extension": "101" }))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        world.bob = world
            .post("/v1/users", Some(&account), json!({ "name": "Bob Jones", "extension": "102" }))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        world
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let client = reqwest::Client::new();
        let mut request = client.request(method, format!("{}{path}", self.base())).bearer_auth(KEY);
        if let Some(account) = account {
            request = request.header("DialStack-Account", account);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("ds-local answers");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, path: &str, account: Option<&str>, body: Value) -> Value {
        let (status, body) = self.request(reqwest::Method::POST, path, account, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    pub async fn token(&self, user: &str) -> String {
        self.token_for(user, None).await
    }

    pub async fn token_for(&self, user: &str, ttl_seconds: Option<i64>) -> String {
        let mut body = json!({ "user": user });
        if let Some(ttl) = ttl_seconds {
            body["ttl_seconds"] = json!(ttl);
        }
        self.post("/v1/user_sessions", None, body).await["client_secret"].as_str().unwrap().to_owned()
    }

    pub async fn call_log(&self, id: &str) -> Value {
        let (status, body) =
            self.request(reqwest::Method::GET, &format!("/v1/calls/{id}"), Some(&self.account), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits for the call log row to carry a final status.
    pub async fn finished_call_log(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let row = self.call_log(id).await;
            if !row["status"].is_null() {
                return row;
            }
            assert!(tokio::time::Instant::now() < deadline, "call {id} never finished: {row}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Event types recorded for `call_id`, in order (the SSE/webhook log).
    pub async fn events_of(&self, call_id: &str) -> Vec<String> {
        let events = self.state.events().replay(&self.account, 0, 1000).await.unwrap();
        events.into_iter().filter(|e| e.data["call_id"] == call_id).map(|e| e.event_type).collect()
    }

    /// A ring group "Front desk" (20 s) whose members are the users `members`; returns its id.
    pub async fn front_desk(&self, members: &[&String]) -> String {
        let group = self
            .post(
                "/v1/ring_groups",
                Some(&self.account),
                json!({ "name": "Front desk", "timeout_seconds": 20 }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for user in members {
            self.post(
                &format!("/v1/ring_groups/{group}/members"),
                Some(&self.account),
                json!({ "extension": user }),
            )
            .await;
        }
        group
    }

    /// A connected and authenticated client for `user`.
    pub async fn client(&self, user: &str) -> Client {
        let mut client = Client::connect(self.addr).await;
        let token = self.token(user).await;
        let reply = client.authenticate(&token).await;
        assert_eq!(reply["type"], "authenticated", "{reply}");
        client
    }
}

/// One signalling socket.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every frame received so far.
    pub seen: Vec<Value>,
    cursor: usize,
    counter: u32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_with(addr, Some("dialstack.webrtc.v1")).await.expect("upgrade accepted")
    }

    pub async fn connect_with(
        addr: SocketAddr,
        protocol: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        Self::connect_to(format!("ws://{addr}/v1/webrtc"), protocol).await
    }

    /// Connects as if from another network (ds-local's `?network=` E911 simulation).
    pub async fn connect_from_network(addr: SocketAddr, network: &str) -> Self {
        Self::connect_to(format!("ws://{addr}/v1/webrtc?network={network}"), Some("dialstack.webrtc.v1"))
            .await
            .expect("upgrade accepted")
    }

    async fn connect_to(
        url: String,
        protocol: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        }
        request.headers_mut().insert("User-Agent", "ds-local-tests".parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws, seen: Vec::new(), cursor: 0, counter: 0 })
    }

    pub fn req_id(&mut self) -> String {
        self.counter += 1;
        format!("req_test_{}", self.counter)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next frame not yet returned; `None` when the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        if self.cursor < self.seen.len() {
            self.cursor += 1;
            return Some(self.seen[self.cursor - 1].clone());
        }
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("frames are JSON");
                    self.seen.push(frame.clone());
                    self.cursor = self.seen.len();
                    return Some(frame);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads frames until one has every member of `pattern` equal; earlier ones stay in `seen`.
    pub async fn until(&mut self, pattern: Value) -> Value {
        let pattern = pattern.as_object().expect("pattern is an object").clone();
        if let Some(found) = self.seen.iter().find(|f| pattern.iter().all(|(k, v)| &f[k] == v)) {
            return found.clone();
        }
        loop {
            let frame = self
                .next()
                .await
                .unwrap_or_else(|| panic!("socket closed before {pattern:?}; saw {:?}", self.seen));
            if pattern.iter().all(|(k, v)| &frame[k] == v) {
                return frame;
            }
        }
    }

    /// Reads for `duration`, answering pings (tungstenite queues the pong and sends it on the
    /// next read or write); returns how many pings arrived and whether the socket is still open.
    pub async fn pings_within(&mut self, duration: Duration) -> (usize, bool) {
        let deadline = tokio::time::Instant::now() + duration;
        let mut pings = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return (pings, true),
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.seen.push(serde_json::from_str(text.as_str()).expect("frames are JSON"));
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return (pings, false),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// True when the server closes the socket (draining any frames before the close).
    pub async fn closed(&mut self) -> bool {
        while self.next().await.is_some() {}
        true
    }

    /// Waits for the next `call.incoming` and answers it with a fresh peer; returns the leg's
    /// call id, the frame and the peer.
    pub async fn pick_up(&mut self) -> (String, Value, Peer) {
        let incoming = self.until(json!({ "type": "call.incoming" })).await;
        let (call_id, peer) = self.answer(&incoming).await;
        (call_id, incoming, peer)
    }

    /// Answers the call of an `incoming` frame already read with a fresh peer (its `sdp.offer`,
    /// `call.answer`, `sdp.answer`, then `call.answered`); returns the call id and the peer.
    pub async fn answer(&mut self, incoming: &Value) -> (String, Peer) {
        let call_id = incoming["call_id"].as_str().unwrap().to_owned();
        let offer = self.until(json!({ "type": "sdp.offer", "call_id": call_id })).await;
        let (peer, answer) = Peer::answerer(offer["sdp"].as_str().unwrap());
        self.send(json!({ "type": "call.answer", "call_id": call_id })).await;
        self.send(json!({ "type": "sdp.answer", "call_id": call_id, "sdp": answer })).await;
        self.until(json!({ "type": "call.answered", "call_id": call_id })).await;
        (call_id, peer)
    }

    pub async fn authenticate(&mut self, token: &str) -> Value {
        let id = self.req_id();
        self.send(json!({ "type": "authenticate", "req_id": id, "token": token })).await;
        let reply = self.next().await.expect("a reply to authenticate");
        if reply["type"] == "authenticated" {
            assert_eq!(reply["req_id"], id.as_str());
        }
        reply
    }

    /// Drops the socket without a close handshake (a network loss).
    pub fn drop_socket(self) {
        drop(self.ws);
    }
}

/// The browser's half of a media call: a full-ICE str0m peer on its own UDP socket and thread,
/// sending a 440 Hz Opus tone once connected, counting the Opus packets it receives and
/// decoding them (what its user would hear).
pub struct Peer {
    commands: std::sync::mpsc::Sender<PeerCommand>,
    received: Arc<AtomicU64>,
    heard: Arc<Mutex<Vec<i16>>>,
}

/// The most a peer keeps of what it heard: the last minute at 8 kHz.
const MAX_HEARD: usize = 60 * 8_000;

enum PeerCommand {
    Answer(String),
    Digit(u8),
}

impl Peer {
    /// A peer that offers (placing a call); returns it and its offer.
    pub fn offerer() -> (Self, String) {
        Self::spawn(None)
    }

    /// A peer that answers ds-local's offer (taking a call); returns it and its answer.
    pub fn answerer(offer: &str) -> (Self, String) {
        Self::spawn(Some(offer.to_owned()))
    }

    fn spawn(offer: Option<String>) -> (Self, String) {
        let (commands, command_rx) = std::sync::mpsc::channel();
        let (sdp_tx, sdp_rx) = std::sync::mpsc::channel();
        let received = Arc::new(AtomicU64::new(0));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let (counter, decoded) = (received.clone(), heard.clone());
        std::thread::spawn(move || peer_thread(offer, sdp_tx, command_rx, counter, decoded));
        let sdp = sdp_rx.recv_timeout(WAIT).expect("the peer makes its SDP");
        (Self { commands, received, heard }, sdp)
    }

    pub fn accept_answer(&self, answer: &str) {
        let _ = self.commands.send(PeerCommand::Answer(answer.to_owned()));
    }

    /// Presses one DTMF key (RFC 4733 event code: 0-9, 10 = `*`, 11 = `#`).
    pub fn press(&self, event: u8) {
        let _ = self.commands.send(PeerCommand::Digit(event));
    }

    pub fn packets_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Everything heard so far (up to the last minute), decoded and resampled to 8 kHz PCM.
    pub fn heard(&self) -> Vec<i16> {
        self.heard.lock().unwrap().clone()
    }

    /// Waits until more than `after` Opus packets have arrived from ds-local.
    pub async fn audio_flows_after(&self, after: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.packets_received() <= after {
            assert!(tokio::time::Instant::now() < deadline, "no audio from ds-local");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn audio_flows(&self) {
        self.audio_flows_after(0).await;
    }
}

fn peer_rtc() -> Rtc {
    let mut config = RtcConfig::new()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .clear_codecs()
        .enable_opus(true, false);
    config.codec_config().add_config(
        101.into(),
        None,
        Codec::Tele,
        Frequency::FORTY_EIGHT_KHZ,
        None,
        FormatParams::parse_line("0-16"),
    );
    config.build(Instant::now())
}

/// The peer's loop; ends when the `Peer` is dropped.
fn peer_thread(
    offer: Option<String>,
    sdp_tx: std::sync::mpsc::Sender<String>,
    commands: std::sync::mpsc::Receiver<PeerCommand>,
    received: Arc<AtomicU64>,
    heard: Arc<Mutex<Vec<i16>>>,
) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("peer socket");
    let local = socket.local_addr().expect("peer address");
    let mut rtc = peer_rtc();
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("host candidate"));
    let mut mid: Option<Mid> = None;
    let mut pending = None;
    match offer {
        Some(offer) => {
            let offer = SdpOffer::from_sdp_string(&offer).expect("ds-local's offer parses");
            let answer = rtc.sdp_api().accept_offer(offer).expect("the offer is acceptable");
            let _ = sdp_tx.send(answer.to_sdp_string());
        }
        None => {
            let mut api = rtc.sdp_api();
            mid = Some(api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None));
            let (offer, pending_offer) = api.apply().expect("an offer");
            pending = Some(pending_offer);
            let _ = sdp_tx.send(offer.to_sdp_string());
        }
    }
    let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio).expect("opus encoder");
    let mut decoder = OpusDecoder::new(48_000, 1).expect("opus decoder");
    let mut decoded = vec![0f32; 5_760];
    let mut connected = false;
    let mut deadline = Instant::now();
    let mut next_frame = Instant::now();
    let mut out_time: u64 = 0;
    let mut buf = vec![0u8; 2048];
    loop {
        match commands.try_recv() {
            Ok(PeerCommand::Answer(answer)) => {
                if let (Some(pending), Ok(answer)) = (pending.take(), SdpAnswer::from_sdp_string(&answer)) {
                    let _ = rtc.sdp_api().accept_answer(pending, answer);
                }
            }
            Ok(PeerCommand::Digit(event)) => {
                if let Some(writer) = mid.and_then(|m| rtc.writer(m)) {
                    let pt = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt());
                    if let Some(pt) = pt {
                        let tele = TelephoneEvent {
                            event,
                            end: true,
                            volume: 10,
                            duration: Duration::from_millis(100),
                        };
                        let _ = writer.telephone_event(tele).write(
                            pt,
                            Instant::now(),
                            MediaTime::new(out_time, Frequency::FORTY_EIGHT_KHZ),
                            Vec::new(),
                        );
                        out_time += 100 * 48;
                    }
                }
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            Err(std::sync::mpsc::TryRecvError::Empty) => {}
        }
        if !rtc.is_alive() {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = rtc.handle_input(Input::Timeout(now));
        }
        if connected && now >= next_frame {
            // A frame every 20 ms of wall time, as a browser sends (a late loop catches up
            // unless it is far behind), so the far end gets real time, not a slower stream.
            let base =
                if now.duration_since(next_frame) > Duration::from_millis(100) { now } else { next_frame };
            next_frame = base + Duration::from_millis(20);
            // A 440 Hz tone, so a bridged party or the echo has something to carry.
            let pcm: Vec<f32> = (0..960)
                .map(|i| 0.3 * (std::f32::consts::TAU * 440.0 * (out_time + i) as f32 / 48_000.0).sin())
                .collect();
            let mut packet = vec![0u8; MAX_PACKET_BYTES];
            if let Ok(n) = encoder.encode(&pcm, 960, &mut packet) {
                packet.truncate(n);
                if let Some(writer) = mid.and_then(|m| rtc.writer(m)) {
                    let pt = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt());
                    if let Some(pt) = pt {
                        let _ = writer.write(
                            pt,
                            now,
                            MediaTime::new(out_time, Frequency::FORTY_EIGHT_KHZ),
                            packet,
                        );
                    }
                }
            }
            out_time += 960;
        }
        // Drain outputs until the next timeout.
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    deadline = t;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(event)) => match event {
                    Event::Connected => connected = true,
                    Event::MediaAdded(added) if mid.is_none() => mid = Some(added.mid),
                    Event::MediaData(data) if data.params.spec().codec == Codec::Opus => {
                        received.fetch_add(1, Ordering::Relaxed);
                        if let Ok(n) = decoder.decode(&data.data, 5_760, &mut decoded) {
                            // 48 kHz → 8 kHz by 6-sample means, as ds-media records.
                            let mut heard = heard.lock().unwrap();
                            heard.extend(decoded[..n].chunks(6).map(|chunk| {
                                let mean = chunk.iter().sum::<f32>() / chunk.len() as f32;
                                (mean.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
                            }));
                            let excess = heard.len().saturating_sub(MAX_HEARD);
                            heard.drain(..excess);
                        }
                    }
                    _ => {}
                },
                Err(_) => return,
            }
        }
        let wake = if connected { deadline.min(next_frame) } else { deadline };
        let wait = wake.saturating_duration_since(Instant::now()).min(Duration::from_millis(5));
        let _ = socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        if let Ok((n, source)) = socket.recv_from(&mut buf)
            && let Ok(contents) = buf[..n].try_into()
        {
            let input = Input::Receive(
                Instant::now(),
                Receive { proto: Protocol::Udp, source, destination: local, contents },
            );
            let _ = rtc.handle_input(input);
        }
    }
}
