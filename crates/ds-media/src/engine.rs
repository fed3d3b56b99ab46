//! The I/O driver around [`MediaCore`] and the cheap handle the rest of the server uses.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::core::MediaCore;
use crate::source::{Source, dtmf_frequencies};
use crate::{LegId, MediaError, MediaEvent};

type Command = Box<dyn FnOnce(&mut Driver, Instant) + Send>;

/// What the engine thread owns: the sans-IO core, and the channels its tapped legs' audio
/// goes out on (I/O, so not the core's business).
struct Driver {
    core: MediaCore,
    taps: HashMap<LegId, mpsc::Sender<Vec<i16>>>,
}

impl Driver {
    /// Hands the core's decoded frames to their taps; a lagging receiver loses frames, a
    /// dropped one ends the tap.
    fn deliver_audio(&mut self) {
        while let Some((leg, pcm)) = self.core.poll_audio() {
            let Some(tap) = self.taps.get(&leg) else {
                self.core.stop_tap(leg);
                continue;
            };
            match tap.try_send(pcm) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => debug!("{leg}: audio tap lagging, frame dropped"),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.taps.remove(&leg);
                    self.core.stop_tap(leg);
                }
            }
        }
    }
}

/// Largest datagram we expect: WebRTC keeps packets under the ~1200-byte path MTU, this is
/// generous headroom.
const RECV_BUFFER: usize = 2048;
/// How long the loop sleeps when no leg needs anything (it wakes at once for commands and
/// datagrams anyway).
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Datagrams taken off the socket per wake-up before sending what they produced: under load
/// a wake-up then pays its fixed costs (timers, the select) once per batch, not per packet,
/// while a batch stays small enough that replies and timers are not held back noticeably.
const RECEIVE_BATCH: usize = 64;
/// Receive and send buffer asked of the kernel for the one socket every leg shares (it caps
/// the request at `net.core.rmem_max` / `wmem_max`). The default (~208 KiB) holds a few
/// hundred datagrams: with hundreds of legs at 50 packets/s each that is tens of
/// milliseconds, and a busy machine that does not schedule this thread for that long drops
/// audio at the socket. 4 MiB rides out a far longer stall.
const SOCKET_BUFFER: usize = 4 << 20;

/// Settings for [`MediaEngine::start_with`].
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address to bind; port 0 picks an ephemeral port. This address is also the host ICE
    /// candidate put in every SDP, so it must be reachable by the browsers (127.0.0.1 locally).
    pub bind: SocketAddr,
    /// How often each leg reports [`MediaEvent::Stats`].
    pub stats_interval: Duration,
    /// A leg that has not connected (ICE + DTLS) this long after its offer/answer is given
    /// up: reported [`MediaEvent::Disconnected`] and removed, so abandoned offers do not leak.
    pub connect_timeout: Duration,
}

impl MediaConfig {
    pub fn new(ip: IpAddr) -> Self {
        MediaConfig {
            bind: SocketAddr::new(ip, 0),
            stats_interval: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Handle to a running media engine. Cheap to clone, `Send`, usable from any async task.
/// The engine stops when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct MediaEngine {
    commands: mpsc::UnboundedSender<Command>,
    local_addr: SocketAddr,
}

/// Stream of [`MediaEvent`]s. Drain it (or drop it): undelivered events queue in memory.
pub type MediaEvents = mpsc::UnboundedReceiver<MediaEvent>;

/// What a leg's peer says, live: one 8 kHz mono frame per received Opus packet (160 samples
/// for the usual 20 ms). Ends (`None`) when the leg ends or another tap replaces this one.
pub type AudioTap = mpsc::Receiver<Vec<i16>>;

/// Frames an [`AudioTap`] holds before new ones are dropped: one second of 20 ms packets.
const TAP_CAPACITY: usize = 50;

impl MediaEngine {
    /// Binds a UDP socket on `ip` (ephemeral port) and starts the engine thread.
    pub fn start(ip: IpAddr) -> Result<(MediaEngine, MediaEvents), MediaError> {
        Self::start_with(MediaConfig::new(ip))
    }

    pub fn start_with(config: MediaConfig) -> Result<(MediaEngine, MediaEvents), MediaError> {
        // The bound address is also the only host candidate, and 0.0.0.0 / :: is not one.
        if config.bind.ip().is_unspecified() {
            return Err(MediaError::UnspecifiedAddress(config.bind.ip()));
        }
        let socket = StdUdpSocket::bind(config.bind)?;
        socket.set_nonblocking(true)?;
        let buffers = socket2::SockRef::from(&socket);
        // A smaller buffer than asked is not fatal: media works, with less headroom.
        if let Err(e) = buffers.set_recv_buffer_size(SOCKET_BUFFER) {
            debug!("cannot enlarge the media socket's receive buffer: {e}");
        }
        if let Err(e) = buffers.set_send_buffer_size(SOCKET_BUFFER) {
            debug!("cannot enlarge the media socket's send buffer: {e}");
        }
        let local_addr = socket.local_addr()?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let core = MediaCore::new(local_addr, config.stats_interval, config.connect_timeout);
        // The engine gets its own OS thread with its own single-threaded tokio runtime:
        // - Opus encoding and DTLS/SRTP are CPU work that must never stall the server's async
        //   runtime (axum handlers, signalling sockets), whatever flavour that runtime is;
        // - inside, `select!` over the command channel, the socket and the next deadline wakes
        //   exactly when there is work, so there is no polling and commands apply at once
        //   (a blocking std socket with read timeouts would delay commands until a timeout).
        std::thread::Builder::new().name(format!("ds-media {local_addr}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    warn!("media engine cannot start its runtime: {e}");
                    return;
                }
            };
            runtime.block_on(run(socket, core, command_rx, event_tx));
        })?;
        Ok((MediaEngine { commands, local_addr }, events))
    }

    /// The bound socket: every leg's host candidate.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut MediaCore, Instant) -> Result<T, MediaError> + Send + 'static,
    ) -> Result<T, MediaError> {
        self.call_driver(move |driver, now| f(&mut driver.core, now)).await
    }

    async fn call_driver<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver, Instant) -> Result<T, MediaError> + Send + 'static,
    ) -> Result<T, MediaError> {
        let (reply, response) = oneshot::channel();
        let command: Command = Box::new(move |driver, now| {
            let _ = reply.send(f(driver, now));
        });
        self.commands.send(command).map_err(|_| MediaError::EngineStopped)?;
        response.await.map_err(|_| MediaError::EngineStopped)?
    }

    /// Answers a browser's complete offer (outbound call). The answer holds our candidate.
    pub async fn answer_offer(&self, offer_sdp: &str) -> Result<(LegId, String), MediaError> {
        let offer = offer_sdp.to_owned();
        self.call(move |core, now| core.answer_offer(&offer, now)).await
    }

    /// Creates an offer for a leg towards a browser (inbound call); finish with
    /// [`MediaEngine::accept_answer`].
    pub async fn create_offer(&self) -> Result<(LegId, String), MediaError> {
        self.call(|core, now| core.create_offer(now)).await
    }

    pub async fn accept_answer(&self, leg: LegId, answer_sdp: &str) -> Result<(), MediaError> {
        let answer = answer_sdp.to_owned();
        self.call(move |core, now| core.accept_answer(leg, &answer, now)).await
    }

    /// Selects what the leg plays while it is not bridged.
    pub async fn set_source(&self, leg: LegId, source: Source) -> Result<(), MediaError> {
        self.call(move |core, now| core.set_source(leg, source, now)).await
    }

    /// Plays a tone (one or more summed frequencies) for `millis`, then resumes the source.
    pub async fn play_tone_burst(&self, leg: LegId, freqs_hz: &[f32], millis: u32) -> Result<(), MediaError> {
        let freqs = freqs_hz.to_vec();
        self.call(move |core, now| core.play_tone_burst(leg, freqs, millis, now)).await
    }

    /// Plays the DTMF tone pair of `digit` for `millis` (an IVR "beep" per digit).
    pub async fn play_dtmf_tone(&self, leg: LegId, digit: char, millis: u32) -> Result<(), MediaError> {
        let (low, high) = dtmf_frequencies(digit).ok_or(MediaError::NotADtmfDigit(digit))?;
        self.play_tone_burst(leg, &[low, high], millis).await
    }

    /// Forwards Opus packets between the two legs, without transcoding, until unbridged.
    pub async fn bridge(&self, a: LegId, b: LegId) -> Result<(), MediaError> {
        self.call(move |core, now| core.bridge(a, b, now)).await
    }

    /// Ends the bridge `leg` is in; both legs go back to their sources.
    pub async fn unbridge(&self, leg: LegId) -> Result<(), MediaError> {
        self.call(move |core, now| core.unbridge(leg, now)).await
    }

    /// Closes the leg; it stops sending at once and [`MediaEvent::Closed`] follows.
    pub async fn close(&self, leg: LegId) -> Result<(), MediaError> {
        self.call(move |core, now| core.close(leg, now)).await
    }

    /// Starts recording what the leg's peer sends, decoded to 8 kHz PCM, for at most
    /// `max_millis` (e.g. a voicemail).
    pub async fn start_recording(&self, leg: LegId, max_millis: u32) -> Result<(), MediaError> {
        self.call(move |core, _| core.start_recording(leg, max_millis)).await
    }

    /// Stops the leg's recording and returns it. Call before [`MediaEngine::close`]: a closed
    /// leg's recording is gone.
    pub async fn stop_recording(&self, leg: LegId) -> Result<crate::Recording, MediaError> {
        self.call(move |core, _| core.stop_recording(leg)).await
    }

    /// Queues 8 kHz PCM for a leg whose source is [`Source::Stream`]; see
    /// [`MediaCore::push_audio`]. Push about 20 ms at a time, in real time.
    pub async fn push_audio(&self, leg: LegId, pcm: Vec<i16>) -> Result<(), MediaError> {
        self.call(move |core, _| core.push_audio(leg, &pcm)).await
    }

    /// Starts a live feed of what the leg's peer says (decoded to 8 kHz, one frame per
    /// packet), replacing any earlier tap of the leg. Drop the receiver to stop it.
    pub async fn tap_audio(&self, leg: LegId) -> Result<AudioTap, MediaError> {
        let (frames, tap) = mpsc::channel(TAP_CAPACITY);
        self.call_driver(move |driver, _| {
            driver.core.start_tap(leg)?;
            driver.taps.insert(leg, frames);
            Ok(())
        })
        .await?;
        Ok(tap)
    }

    /// The leg's packet counters and receive quality right now (also sent periodically as
    /// [`MediaEvent::Stats`]).
    pub async fn stats(&self, leg: LegId) -> Result<crate::LegStats, MediaError> {
        self.call(move |core, _| core.stats(leg)).await
    }

    /// Number of live legs (closing ones included until they are gone).
    pub async fn leg_count(&self) -> Result<usize, MediaError> {
        self.call(|core, _| Ok(core.leg_count())).await
    }
}

async fn run(
    socket: StdUdpSocket,
    core: MediaCore,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let socket = match tokio::net::UdpSocket::from_std(socket) {
        Ok(socket) => socket,
        Err(e) => {
            warn!("media engine cannot register its socket: {e}");
            return;
        }
    };
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut driver = Driver { core, taps: HashMap::new() };
    loop {
        while let Some(transmit) = driver.core.poll_transmit() {
            if let Err(e) = socket.send_to(&transmit.contents, transmit.destination).await {
                debug!("send to {} failed: {e}", transmit.destination);
            }
        }
        driver.deliver_audio();
        while let Some(event) = driver.core.poll_event() {
            if let MediaEvent::Closed { leg } | MediaEvent::Disconnected { leg } = &event {
                // The leg is gone: its tap's receiver sees the end.
                driver.taps.remove(leg);
            }
            // A dropped receiver only means nobody listens; media goes on.
            let _ = events.send(event);
        }
        let deadline = driver.core.next_deadline().unwrap_or_else(|| Instant::now() + IDLE_WAIT);
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => command(&mut driver, Instant::now()),
                None => break,
            },
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) => {
                    let now = Instant::now();
                    driver.core.handle_receive(now, from, &buf[..n]);
                    // Whatever else is already queued, without going back through select!.
                    for _ in 1..RECEIVE_BATCH {
                        match socket.try_recv_from(&mut buf) {
                            Ok((n, from)) => driver.core.handle_receive(now, from, &buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                debug!("receive failed: {e}");
                                break;
                            }
                        }
                    }
                }
                // e.g. ICMP port unreachable from a peer that went away: not fatal.
                Err(e) => debug!("receive failed: {e}"),
            },
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
        // Timers only when one is due: a datagram or command wake-up must not cost a walk
        // over every leg (inputs already settled the legs they touched).
        let now = Instant::now();
        if now >= deadline {
            driver.core.handle_timeout(now);
        }
    }
}
