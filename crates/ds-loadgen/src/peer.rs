//! The browser's half of a call: a full-ICE str0m peer on its own loopback UDP socket, driven by
//! a tokio task, sending a pre-encoded Opus tone every 20 ms once connected and counting the
//! Opus frames it sends and receives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use opus_pure::{Application, MAX_PACKET_BYTES, OpusEncoder};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::sync::{oneshot, watch};

const FRAME: Duration = Duration::from_millis(20);
const SAMPLES_PER_FRAME: u64 = 960;
/// Frames behind schedule after which a starved peer skips ahead instead of bursting.
const MAX_LAG: Duration = Duration::from_millis(100);

fn new_rtc() -> Rtc {
    RtcConfig::new()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .clear_codecs()
        .enable_opus(true, false)
        .build(Instant::now())
}

/// A real offer for calls whose media never connects (the signalling figure): one audio
/// section, a host candidate on the discard port.
pub fn signalling_offer() -> anyhow::Result<String> {
    let mut rtc = new_rtc();
    rtc.add_local_candidate(Candidate::host("127.0.0.1:9".parse()?, "udp")?);
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, _) = api.apply().context("str0m made no offer")?;
    Ok(offer.to_sdp_string())
}

/// One second of a 440 Hz tone as 50 Opus frames, sent in a loop by every peer.
pub fn tone_frames() -> anyhow::Result<Arc<Vec<Vec<u8>>>> {
    let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio)
        .map_err(|e| anyhow::anyhow!("opus encoder: {e:?}"))?;
    let mut frames = Vec::new();
    for n in 0..50u64 {
        let pcm: Vec<f32> = (0..SAMPLES_PER_FRAME)
            .map(|i| {
                let t = (n * SAMPLES_PER_FRAME + i) as f32 / 48_000.0;
                0.3 * (std::f32::consts::TAU * 440.0 * t).sin()
            })
            .collect();
        let mut packet = vec![0u8; MAX_PACKET_BYTES];
        let len = encoder
            .encode(&pcm, SAMPLES_PER_FRAME as usize, &mut packet)
            .map_err(|e| anyhow::anyhow!("opus encode: {e:?}"))?;
        packet.truncate(len);
        frames.push(packet);
    }
    Ok(Arc::new(frames))
}

/// Counters a peer shares with the load run.
#[derive(Debug, Default)]
pub struct PeerStats {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub connected: AtomicBool,
}

pub struct Peer {
    pub stats: Arc<PeerStats>,
    answer: Option<oneshot::Sender<String>>,
}

impl Peer {
    /// A peer placing a call: returns it and its offer.
    pub async fn offerer(
        frames: Arc<Vec<Vec<u8>>>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, String)> {
        let (socket, local) = bind().await?;
        let mut rtc = new_rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().context("str0m made no offer")?;
        let (answer_tx, answer_rx) = oneshot::channel();
        let stats = Arc::new(PeerStats::default());
        let run = Run { rtc, socket, local, mid: Some(mid), frames, stats: stats.clone(), stop };
        tokio::spawn(run.drive(Some((pending, answer_rx))));
        Ok((Self { stats, answer: Some(answer_tx) }, offer.to_sdp_string()))
    }

    /// A peer taking a call: answers ds-local's offer; returns it and its answer.
    pub async fn answerer(
        offer: &str,
        frames: Arc<Vec<Vec<u8>>>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, String)> {
        let (socket, local) = bind().await?;
        let mut rtc = new_rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let offer = SdpOffer::from_sdp_string(offer).context("ds-local's offer does not parse")?;
        let answer = rtc.sdp_api().accept_offer(offer).context("ds-local's offer is not acceptable")?;
        let stats = Arc::new(PeerStats::default());
        let run = Run { rtc, socket, local, mid: None, frames, stats: stats.clone(), stop };
        tokio::spawn(run.drive(None));
        Ok((Self { stats, answer: None }, answer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, answer: String) {
        if let Some(tx) = self.answer.take() {
            let _ = tx.send(answer);
        }
    }
}

async fn bind() -> anyhow::Result<(tokio::net::UdpSocket, SocketAddr)> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.context("binding a peer's UDP socket")?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

struct Run {
    rtc: Rtc,
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
    mid: Option<Mid>,
    frames: Arc<Vec<Vec<u8>>>,
    stats: Arc<PeerStats>,
    stop: watch::Receiver<bool>,
}

impl Run {
    /// The peer's loop; ends when the run stops or the connection dies.
    async fn drive(mut self, mut pending: Option<(SdpPendingOffer, oneshot::Receiver<String>)>) {
        let mut buf = vec![0u8; 2048];
        let mut next_frame = Instant::now();
        let mut frame_index: u64 = 0;
        loop {
            let Some(deadline) = self.flush().await else { return };
            let connected = self.stats.connected.load(Ordering::Relaxed);
            let wake = if connected { deadline.min(next_frame) } else { deadline };
            tokio::select! {
                _ = self.stop.changed() => return,
                answer = async {
                    match pending.as_mut() {
                        Some((_, rx)) => rx.await.ok(),
                        None => std::future::pending().await,
                    }
                } => {
                    if let (Some((offer, _)), Some(answer)) = (pending.take(), answer)
                        && let Ok(answer) = SdpAnswer::from_sdp_string(&answer)
                    {
                        let _ = self.rtc.sdp_api().accept_answer(offer, answer);
                    }
                }
                received = self.socket.recv_from(&mut buf) => {
                    let Ok((n, source)) = received else { return };
                    if let Ok(contents) = buf[..n].try_into() {
                        let receive = Receive { proto: Protocol::Udp, source, destination: self.local, contents };
                        if self.rtc.handle_input(Input::Receive(Instant::now(), receive)).is_err() {
                            return;
                        }
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    let now = Instant::now();
                    if connected && now >= next_frame {
                        if now.duration_since(next_frame) > MAX_LAG {
                            next_frame = now;
                        }
                        next_frame += FRAME;
                        self.send_frame(now, frame_index);
                        frame_index += 1;
                    }
                    if self.rtc.handle_input(Input::Timeout(now)).is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn send_frame(&mut self, now: Instant, index: u64) {
        let Some(writer) = self.mid.and_then(|m| self.rtc.writer(m)) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()) else {
            return;
        };
        let packet = self.frames[(index % self.frames.len() as u64) as usize].clone();
        let time = MediaTime::new(index * SAMPLES_PER_FRAME, Frequency::FORTY_EIGHT_KHZ);
        if writer.write(pt, now, time, packet).is_ok() {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends what str0m has to send and handles its events; returns its next timeout.
    async fn flush(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(event)) => match event {
                    Event::Connected => self.stats.connected.store(true, Ordering::Relaxed),
                    Event::MediaAdded(added) if self.mid.is_none() => self.mid = Some(added.mid),
                    Event::MediaData(data) if data.params.spec().codec == Codec::Opus => {
                        self.stats.received.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                },
                Err(_) => return None,
            }
        }
    }
}
