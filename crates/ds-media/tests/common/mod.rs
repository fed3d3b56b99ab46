//! A real WebRTC peer for the tests: a second, full-ICE str0m `Rtc` on its own UDP socket on
//! 127.0.0.1, driven by a small blocking loop in the test thread. It plays the browser's part.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ds_media::{LegId, MediaEngine, MediaEvent, MediaEvents};
use opus_pure::{Application, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

const FRAME: usize = 960;

/// The engine under test plus a runtime to await its handle, and every event seen so far.
pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub engine: MediaEngine,
    events_rx: MediaEvents,
    pub events: Vec<MediaEvent>,
}

impl Harness {
    pub fn start() -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_with_connect_timeout(Duration::from_secs(30))
    }

    pub fn start_with_connect_timeout(connect_timeout: Duration) -> Result<Self, Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let config = ds_media::MediaConfig {
            bind: "127.0.0.1:0".parse()?,
            stats_interval: Duration::from_millis(500),
            connect_timeout,
        };
        let (engine, events_rx) = MediaEngine::start_with(config)?;
        Ok(Harness { rt, engine, events_rx, events: Vec::new() })
    }

    pub fn collect_events(&mut self) {
        while let Ok(event) = self.events_rx.try_recv() {
            self.events.push(event);
        }
    }

    pub fn has_event(&mut self, wanted: &MediaEvent) -> bool {
        self.collect_events();
        self.events.contains(wanted)
    }

    pub fn dtmf_digits(&mut self, leg: LegId) -> String {
        self.collect_events();
        self.events
            .iter()
            .filter_map(|e| match e {
                MediaEvent::DtmfDigit { leg: l, digit } if *l == leg => Some(*digit),
                _ => None,
            })
            .collect()
    }

    /// A client that offers, answered by the engine; returns once both sides are connected.
    pub fn connect_offering_client(&mut self) -> Result<(ClientPeer, LegId), Box<dyn std::error::Error>> {
        let (mut client, offer) = ClientPeer::offerer()?;
        let (leg, answer) = self.rt.block_on(self.engine.answer_offer(&offer))?;
        client.accept_answer(&answer)?;
        self.wait_connected(&mut [&mut client], leg)?;
        Ok((client, leg))
    }

    /// The engine offers, a client answers; returns once both sides are connected.
    pub fn connect_answering_client(&mut self) -> Result<(ClientPeer, LegId), Box<dyn std::error::Error>> {
        let (leg, offer) = self.rt.block_on(self.engine.create_offer())?;
        let (mut client, answer) = ClientPeer::answerer(&offer)?;
        self.rt.block_on(self.engine.accept_answer(leg, &answer))?;
        self.wait_connected(&mut [&mut client], leg)?;
        Ok((client, leg))
    }

    fn wait_connected(&mut self, clients: &mut [&mut ClientPeer], leg: LegId) -> TestResult {
        let connected = MediaEvent::Connected { leg };
        run_until(clients, Duration::from_secs(10), |_| self.has_event(&connected))?;
        if !clients.iter().all(|c| c.connected) {
            return Err("client not connected".into());
        }
        Ok(())
    }
}

/// Drives all `clients` until `done()` is true, failing after `limit`.
pub fn run_until(
    clients: &mut [&mut ClientPeer],
    limit: Duration,
    mut done: impl FnMut(&[&mut ClientPeer]) -> bool,
) -> TestResult {
    let deadline = Instant::now() + limit;
    loop {
        for client in clients.iter_mut() {
            client.step(Duration::from_millis(2))?;
        }
        if done(clients) && clients.iter().all(|c| c.connected || !c.must_connect) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("condition not met within {limit:?}").into());
        }
    }
}

/// Drives all `clients` for `duration` regardless of anything else.
pub fn run_for(clients: &mut [&mut ClientPeer], duration: Duration) -> TestResult {
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        for client in clients.iter_mut() {
            client.step(Duration::from_millis(2))?;
        }
    }
    Ok(())
}

pub struct ClientPeer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    pub connected: bool,
    must_connect: bool,
    /// Opus payloads received, in arrival order, with the time they arrived.
    pub received: Vec<(Instant, Vec<u8>)>,
    /// Opus payloads this client sent.
    pub sent: Vec<Vec<u8>>,
    /// While set, the client sends this tone as 20 ms Opus frames.
    pub sending_tone_hz: Option<f32>,
    encoder: OpusEncoder,
    next_frame_at: Instant,
    out_time: u64,
    tone_clock: u64,
    rtc_deadline: Instant,
    buf: Vec<u8>,
}

fn client_rtc() -> Rtc {
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

impl ClientPeer {
    fn new(rtc: Rtc) -> Result<Self, Box<dyn std::error::Error>> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let local = socket.local_addr()?;
        let mut rtc = rtc;
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(ClientPeer {
            rtc,
            socket,
            local,
            mid: None,
            pending: None,
            connected: false,
            must_connect: true,
            received: Vec::new(),
            sent: Vec::new(),
            sending_tone_hz: None,
            encoder: OpusEncoder::new(48_000, 1, Application::Audio)?,
            next_frame_at: Instant::now(),
            out_time: 0,
            tone_clock: 0,
            rtc_deadline: Instant::now(),
            buf: vec![0; 2048],
        })
    }

    /// A client that will offer (like a browser placing a call).
    pub fn offerer() -> Result<(Self, String), Box<dyn std::error::Error>> {
        let mut client = Self::new(client_rtc())?;
        let mut api = client.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().ok_or("no offer")?;
        client.mid = Some(mid);
        client.pending = Some(pending);
        Ok((client, offer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, answer: &str) -> TestResult {
        let pending = self.pending.take().ok_or("no pending offer")?;
        self.rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(answer)?)?;
        Ok(())
    }

    /// A client that answers the engine's offer (like a browser taking a call).
    pub fn answerer(offer: &str) -> Result<(Self, String), Box<dyn std::error::Error>> {
        let mut client = Self::new(client_rtc())?;
        let answer = client.rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(offer)?)?;
        Ok((client, answer.to_sdp_string()))
    }

    /// Sends one DTMF key press as RFC 4733 telephone-events (100 ms, as §7.8 prescribes).
    pub fn press_digit(&mut self, event: u8) -> TestResult {
        let mid = self.mid.ok_or("no media yet")?;
        let now = Instant::now();
        let writer = self.rtc.writer(mid).ok_or("no writer")?;
        let pt = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
            .ok_or("no opus pt")?;
        let tele = TelephoneEvent { event, end: true, volume: 10, duration: Duration::from_millis(100) };
        writer.telephone_event(tele).write(
            pt,
            now,
            MediaTime::new(self.out_time, Frequency::FORTY_EIGHT_KHZ),
            Vec::new(),
        )?;
        self.out_time += 100 * 48;
        self.drain()
    }

    /// Closes the client's own peer connection and stops waiting for it.
    pub fn stop(&mut self) {
        self.must_connect = false;
        self.rtc.disconnect();
    }

    /// Decodes every received Opus packet into one 48 kHz mono signal.
    pub fn decoded_audio(&self) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
        decode_all(self.received.iter().map(|(_, p)| p.as_slice()))
    }

    /// Decodes the packets received after `since`.
    pub fn decoded_audio_since(&self, since: Instant) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
        decode_all(self.received.iter().filter(|(t, _)| *t >= since).map(|(_, p)| p.as_slice()))
    }

    fn drain(&mut self) -> TestResult {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.rtc_deadline = t;
                    return Ok(());
                }
                Output::Transmit(t) => {
                    self.socket.send_to(&t.contents, t.destination)?;
                }
                Output::Event(event) => match event {
                    Event::Connected => self.connected = true,
                    Event::MediaAdded(added) if self.mid.is_none() => self.mid = Some(added.mid),
                    Event::MediaData(data) if data.params.spec().codec == Codec::Opus => {
                        self.received.push((Instant::now(), data.data.to_vec()));
                    }
                    _ => {}
                },
            }
        }
    }

    /// One turn of the client's loop: timers, frames to send, then waits up to `max_wait`
    /// for a datagram.
    pub fn step(&mut self, max_wait: Duration) -> TestResult {
        if !self.rtc.is_alive() {
            std::thread::sleep(max_wait);
            return Ok(());
        }
        let now = Instant::now();
        if now >= self.rtc_deadline {
            self.rtc.handle_input(Input::Timeout(now))?;
        }
        if self.connected && self.sending_tone_hz.is_some() && now >= self.next_frame_at {
            self.send_tone_frame(now)?;
            self.next_frame_at = now + Duration::from_millis(20);
        }
        self.drain()?;
        let wait = self.rtc_deadline.saturating_duration_since(Instant::now()).min(max_wait);
        self.socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, source)) => {
                let input = Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents: self.buf[..n].try_into()?,
                    },
                );
                self.rtc.handle_input(input)?;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.into()),
        }
        self.drain()
    }

    fn send_tone_frame(&mut self, now: Instant) -> TestResult {
        let freq = self.sending_tone_hz.unwrap_or(0.0);
        let pcm: Vec<f32> = (0..FRAME)
            .map(|i| {
                let t = (self.tone_clock + i as u64) as f32 / 48_000.0;
                0.3 * (std::f32::consts::TAU * freq * t).sin()
            })
            .collect();
        self.tone_clock += FRAME as u64;
        let mut packet = vec![0u8; MAX_PACKET_BYTES];
        let n = self.encoder.encode(&pcm, FRAME, &mut packet)?;
        packet.truncate(n);
        let mid = self.mid.ok_or("no media")?;
        let writer = self.rtc.writer(mid).ok_or("no writer")?;
        let pt = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
            .ok_or("no opus pt")?;
        writer.write(pt, now, MediaTime::new(self.out_time, Frequency::FORTY_EIGHT_KHZ), packet.clone())?;
        self.sent.push(packet);
        self.out_time += FRAME as u64;
        Ok(())
    }
}

pub fn decode_all<'a>(
    packets: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let mut decoder = OpusDecoder::new(48_000, 1)?;
    let mut out = Vec::new();
    let mut frame = vec![0f32; 5760];
    for packet in packets {
        let n = decoder.decode(packet, 5760, &mut frame)?;
        out.extend_from_slice(&frame[..n]);
    }
    Ok(out)
}

/// Mean power of a signal.
pub fn energy(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32
}

/// Power of one frequency in `samples` (Goertzel), normalised by length.
pub fn goertzel(samples: &[f32], freq: f32) -> f32 {
    let coeff = 2.0 * (std::f32::consts::TAU * freq / 48_000.0).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (samples.len() as f32 * samples.len() as f32)
}

/// The frequency among `candidates` with the most power in `samples`.
pub fn dominant(samples: &[f32], candidates: &[f32]) -> f32 {
    candidates
        .iter()
        .copied()
        .max_by(|a, b| goertzel(samples, *a).total_cmp(&goertzel(samples, *b)))
        .unwrap_or(0.0)
}

/// Frequencies the tests look for, spaced so Goertzel over ≥ 0.5 s tells them apart.
pub const PROBE_FREQS: [f32; 10] = [300.0, 440.0, 480.0, 523.25, 660.0, 697.0, 880.0, 1000.0, 1209.0, 1336.0];
