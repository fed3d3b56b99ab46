//! The sans-IO heart of the engine: every leg's str0m `Rtc`, the sources, bridges and DTMF
//! detection. It never touches a socket or a clock: the driver hands it datagrams and the
//! current `Instant`, then collects the datagrams to send and the events to report. That makes
//! it deterministic for a given input sequence and keeps the I/O loop small.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opus_pure::{Application, MAX_PACKET_BYTES, OpusEncoder};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::CryptoProvider;
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tracing::{debug, warn};

use crate::recorder::{Recorder, Recording, Tap};
use crate::source::{Burst, FRAME_SAMPLES, IVR_BURST_MS, Source, Synth, dtmf_digit, dtmf_frequencies};
use crate::stream::StreamBuffer;
use crate::{LegId, LegStats, MediaError, MediaEvent};

/// Frame period of every generated source.
const FRAME_PERIOD: Duration = Duration::from_millis(20);
/// If the loop fell further behind than this, generated audio skips ahead instead of sending
/// a burst of catch-up frames (which the browser's jitter buffer would have to discard).
const MAX_CATCH_UP: Duration = Duration::from_millis(100);
/// A silence in what a leg writes longer than this is reproduced as a gap in RTP time.
const PAUSE_GAP: Duration = Duration::from_millis(60);
/// How long a closing leg may take to flush its RTCP BYE / DTLS close_notify.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Payload types offered for RFC 4733 events. 48 kHz matches Opus (what Chrome uses with
/// Opus); 8 kHz is accepted too for peers that only offer that.
const TELEPHONE_EVENT_PTS: [(u8, Frequency); 2] =
    [(101, Frequency::FORTY_EIGHT_KHZ), (102, Frequency::EIGHT_KHZ)];

/// One peer connection and what it is playing.
struct Leg {
    rtc: Rtc,
    /// The audio m-line, known once negotiated (answer) or created (offer).
    mid: Option<Mid>,
    pending_offer: Option<SdpPendingOffer>,
    source: Source,
    bridged_to: Option<LegId>,
    synth: Synth,
    burst: Option<Burst>,
    encoder: Option<OpusEncoder>,
    /// When the next generated 20 ms frame is due (only honoured while generating).
    next_frame_at: Instant,
    /// RTP media time (48 kHz) of the next packet we write: one continuous timeline across
    /// source changes, echo and bridging, so the peer's jitter buffer never sees a jump.
    out_media_time: u64,
    /// When the last packet was written, to carry real pauses into the timeline.
    last_write_at: Option<Instant>,
    rtc_deadline: Instant,
    next_stats_at: Instant,
    /// Until connected: when to give up on the leg.
    connect_deadline: Option<Instant>,
    connected: bool,
    audio_flowing: bool,
    stats: LegStats,
    /// RTP timestamp of the last telephone-event reported: one event is many packets (updates
    /// every 20 ms plus three end packets), all carrying the event's start timestamp.
    last_dtmf_timestamp: Option<u64>,
    /// Set by `close`; the leg is removed once str0m has flushed its goodbye or the grace ends.
    closing_deadline: Option<Instant>,
    /// Set when the peer went away or str0m reported an error; removed at the end of the step.
    failed: bool,
    /// Decodes what the peer sends while a recording runs (voicemail).
    recorder: Option<Recorder>,
    /// Decodes what the peer sends, packet by packet, while someone listens live.
    tap: Option<Tap>,
    /// Pushed audio waiting for its frame while the source is [`Source::Stream`].
    stream: StreamBuffer,
    /// The leg's entry in `MediaCore::deadlines`, to find and replace it.
    scheduled: Option<Instant>,
}

impl Leg {
    fn generating(&self) -> bool {
        self.connected
            && self.closing_deadline.is_none()
            && (self.burst.is_some() || (self.bridged_to.is_none() && self.source.is_generated()))
    }

    /// The earliest instant at which this leg has timer work (str0m, a generated frame, stats,
    /// a close or connect deadline).
    fn next_deadline(&self) -> Instant {
        [
            Some(self.rtc_deadline),
            self.generating().then_some(self.next_frame_at),
            Some(self.next_stats_at),
            self.closing_deadline,
            self.connect_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.next_stats_at)
    }

    fn opus_pt(&mut self) -> Option<Pt> {
        let mid = self.mid?;
        let writer = self.rtc.writer(mid)?;
        writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt())
    }

    /// Writes one Opus packet towards the peer on the leg's own timeline.
    fn write_opus(&mut self, packet: &[u8], now: Instant) -> bool {
        let (Some(mid), Some(pt)) = (self.mid, self.opus_pt()) else {
            return false;
        };
        let samples = opus_pure::packet::samples_48k(packet).unwrap_or(FRAME_SAMPLES) as u64;
        // A real pause (a bridged partner that went quiet or away, a source switch) must show
        // as a timestamp gap too, or the peer would play later audio "late" in a compressed
        // timeline. Normal packet spacing jitter (< PAUSE_GAP) keeps the contiguous timeline.
        if let Some(previous) = self.last_write_at {
            let elapsed = now.saturating_duration_since(previous);
            if elapsed > PAUSE_GAP {
                self.out_media_time += (elapsed - FRAME_PERIOD).as_micros() as u64 * 48 / 1000;
            }
        }
        let time = MediaTime::new(self.out_media_time, Frequency::FORTY_EIGHT_KHZ);
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        match writer.write(pt, now, time, packet.to_vec()) {
            Ok(()) => {
                self.out_media_time += samples;
                self.last_write_at = Some(now);
                self.stats.packets_sent += 1;
                true
            }
            Err(e) => {
                debug!("dropping an outbound packet: {e}");
                false
            }
        }
    }

    /// Renders, encodes and writes one generated frame.
    fn write_generated_frame(&mut self, now: Instant) {
        let encoder = match &mut self.encoder {
            Some(encoder) => encoder,
            None => match OpusEncoder::new(48_000, 1, Application::Audio) {
                Ok(encoder) => self.encoder.insert(encoder),
                Err(e) => {
                    warn!("cannot create an Opus encoder: {e}");
                    return;
                }
            },
        };
        let mut pcm = [0.0f32; FRAME_SAMPLES];
        if self.source == Source::Stream {
            // Drained even under a burst, so the stream stays in real time behind it.
            self.stream.render(&mut pcm);
        }
        if self.burst.is_some() || self.source != Source::Stream {
            self.synth.render(&self.source, self.burst.as_mut(), &mut pcm);
        }
        if self.burst.as_ref().is_some_and(|b| b.remaining_samples == 0) {
            self.burst = None;
        }
        let mut packet = [0u8; MAX_PACKET_BYTES];
        match encoder.encode(&pcm, FRAME_SAMPLES, &mut packet) {
            Ok(n) => {
                self.write_opus(&packet[..n], now);
            }
            Err(e) => warn!("Opus encoding failed: {e}"),
        }
    }
}

/// All legs of one engine, driven by one socket.
pub struct MediaCore {
    local_addr: SocketAddr,
    crypto: Arc<CryptoProvider>,
    stats_interval: Duration,
    connect_timeout: Duration,
    legs: BTreeMap<LegId, Leg>,
    /// Every leg's next timer, earliest first: a timeout visits only the legs that are due and
    /// finding the next wake-up is O(log n), not a walk over every leg (hundreds of bridged
    /// legs wake the loop tens of thousands of times a second).
    deadlines: BTreeSet<(Instant, LegId)>,
    /// Which leg last accepted datagrams from a remote address: the leg to ask first, so a
    /// datagram does not cost an `Rtc::accepts` on every leg.
    by_source: HashMap<SocketAddr, LegId>,
    next_leg: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    /// Decoded 8 kHz frames of tapped legs, for [`MediaCore::poll_audio`].
    audio: VecDeque<(LegId, Vec<i16>)>,
}

impl MediaCore {
    /// `local_addr` is the socket every leg sends from and advertises as its host candidate.
    /// `connect_timeout` bounds how long a leg may wait for ICE+DTLS (e.g. an offer whose
    /// answer never comes) before it is reported `Disconnected` and removed.
    pub fn new(local_addr: SocketAddr, stats_interval: Duration, connect_timeout: Duration) -> Self {
        MediaCore {
            local_addr,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            stats_interval,
            connect_timeout,
            legs: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            by_source: HashMap::new(),
            next_leg: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            audio: VecDeque::new(),
        }
    }

    fn new_leg(&mut self, now: Instant) -> Result<(LegId, Leg), MediaError> {
        let mut config = RtcConfig::new()
            .set_crypto_provider(self.crypto.clone())
            // ICE-lite: we have exactly one, directly reachable host candidate; the browser
            // does the connectivity checks.
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .set_stats_interval(Some(Duration::from_secs(1)));
        for (pt, rate) in TELEPHONE_EVENT_PTS {
            config.codec_config().add_config(
                pt.into(),
                None,
                Codec::Tele,
                rate,
                None,
                FormatParams::parse_line("0-16"),
            );
        }
        let mut rtc = config.build(now);
        let candidate = Candidate::host(self.local_addr, "udp")
            .map_err(|e| MediaError::SdpRefused(format!("host candidate {}: {e}", self.local_addr)))?;
        rtc.add_local_candidate(candidate);
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        let leg = Leg {
            rtc,
            mid: None,
            pending_offer: None,
            source: Source::Silence,
            bridged_to: None,
            synth: Synth::default(),
            burst: None,
            encoder: None,
            next_frame_at: now,
            out_media_time: 0,
            last_write_at: None,
            rtc_deadline: now,
            next_stats_at: now + self.stats_interval,
            connect_deadline: Some(now + self.connect_timeout),
            connected: false,
            audio_flowing: false,
            stats: LegStats::default(),
            last_dtmf_timestamp: None,
            closing_deadline: None,
            failed: false,
            recorder: None,
            tap: None,
            stream: StreamBuffer::default(),
            scheduled: None,
        };
        Ok((id, leg))
    }

    /// Answers a complete (non-trickle) offer; the answer carries our host candidate.
    pub fn answer_offer(&mut self, offer_sdp: &str, now: Instant) -> Result<(LegId, String), MediaError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| MediaError::InvalidSdp(e.to_string()))?;
        let (id, mut leg) = self.new_leg(now)?;
        let answer =
            leg.rtc.sdp_api().accept_offer(offer).map_err(|e| MediaError::SdpRefused(e.to_string()))?;
        // str0m announces media (`MediaAdded`) only once connected; the answer already says
        // which m-line carries audio.
        let rtc = &leg.rtc;
        leg.mid = answer
            .media_lines
            .iter()
            .filter(|line| !line.disabled)
            .map(|line| line.mid())
            .find(|mid| rtc.media(*mid).is_some_and(|media| media.kind() == MediaKind::Audio));
        if leg.mid.is_none() {
            return Err(MediaError::NoAudio);
        }
        self.legs.insert(id, leg);
        self.settle(id, now);
        Ok((id, answer.to_sdp_string()))
    }

    /// Creates an audio-only offer (Opus + telephone-event) for a leg towards a browser.
    pub fn create_offer(&mut self, now: Instant) -> Result<(LegId, String), MediaError> {
        let (id, mut leg) = self.new_leg(now)?;
        let mut api = leg.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) =
            api.apply().ok_or_else(|| MediaError::SdpRefused("str0m produced no offer".into()))?;
        leg.mid = Some(mid);
        leg.pending_offer = Some(pending);
        self.legs.insert(id, leg);
        self.settle(id, now);
        Ok((id, offer.to_sdp_string()))
    }

    /// Applies the browser's answer to an offer from [`MediaCore::create_offer`].
    pub fn accept_answer(&mut self, id: LegId, answer_sdp: &str, now: Instant) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        // Parse before taking the pending offer, so a garbled answer loses nothing and the
        // caller can retry with a good one.
        let answer =
            SdpAnswer::from_sdp_string(answer_sdp).map_err(|e| MediaError::InvalidSdp(e.to_string()))?;
        let pending = leg.pending_offer.take().ok_or(MediaError::NoPendingOffer(id))?;
        leg.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| MediaError::SdpRefused(e.to_string()))?;
        self.settle(id, now);
        Ok(())
    }

    pub fn set_source(&mut self, id: LegId, source: Source, now: Instant) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        let was_generating = leg.generating();
        // Pushed audio belongs to the stream it was pushed for: leaving (or restarting) the
        // stream forgets it rather than playing it stale later.
        leg.stream.clear();
        leg.source = source;
        leg.synth.restart();
        if !was_generating {
            leg.next_frame_at = now;
        }
        self.reschedule(id);
        Ok(())
    }

    /// Plays `freqs` (summed) for `millis` over whatever the leg sends, then resumes it.
    pub fn play_tone_burst(
        &mut self,
        id: LegId,
        freqs: Vec<f32>,
        millis: u32,
        now: Instant,
    ) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        start_burst(leg, Burst::new(freqs, millis), now);
        self.reschedule(id);
        Ok(())
    }

    /// Forwards each leg's received Opus packets to the other, untouched.
    pub fn bridge(&mut self, a: LegId, b: LegId, now: Instant) -> Result<(), MediaError> {
        if a == b {
            return Err(MediaError::BridgeToSelf(a));
        }
        for id in [a, b] {
            if !self.legs.contains_key(&id) {
                return Err(MediaError::UnknownLeg(id));
            }
        }
        self.unbridge(a, now)?;
        self.unbridge(b, now)?;
        for (from, to) in [(a, b), (b, a)] {
            if let Some(leg) = self.legs.get_mut(&from) {
                leg.bridged_to = Some(to);
            }
            self.reschedule(from);
        }
        Ok(())
    }

    /// Ends the bridge `id` is in (if any); both legs resume their own sources.
    pub fn unbridge(&mut self, id: LegId, now: Instant) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        let Some(other) = leg.bridged_to.take() else {
            return Ok(());
        };
        leg.next_frame_at = now;
        if let Some(other_leg) = self.legs.get_mut(&other) {
            other_leg.bridged_to = None;
            other_leg.next_frame_at = now;
        }
        self.reschedule(id);
        self.reschedule(other);
        Ok(())
    }

    /// Starts a graceful close (RTCP BYE, DTLS close_notify); `Closed` follows.
    pub fn close(&mut self, id: LegId, now: Instant) -> Result<(), MediaError> {
        self.unbridge(id, now)?;
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        if leg.closing_deadline.is_some() {
            return Ok(());
        }
        leg.closing_deadline = Some(now + CLOSE_GRACE);
        leg.burst = None;
        if let Err(e) = leg.rtc.close() {
            debug!("{id}: close: {e}");
            leg.rtc.disconnect();
        }
        self.settle(id, now);
        Ok(())
    }

    /// The leg's counters right now.
    /// Starts recording what the peer sends (at most `max_millis`), replacing any recording
    /// in progress.
    pub fn start_recording(&mut self, id: LegId, max_millis: u32) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        leg.recorder = Some(Recorder::new(max_millis));
        Ok(())
    }

    /// Stops the recording and returns it (empty when none was running).
    pub fn stop_recording(&mut self, id: LegId) -> Result<Recording, MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        Ok(leg.recorder.take().map(Recorder::finish).unwrap_or_default())
    }

    /// Queues 8 kHz PCM for a leg playing [`Source::Stream`]. The leg plays it in its 20 ms
    /// cadence; the queue holds at most 200 ms (the oldest audio goes first), so push in real
    /// time. A leg playing anything else drops what is pushed.
    pub fn push_audio(&mut self, id: LegId, pcm: &[i16]) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        if leg.source != Source::Stream {
            return Ok(());
        }
        let dropped = leg.stream.push(pcm);
        if dropped > 0 {
            debug!(
                "{id}: stream queue full, dropped {dropped} old samples ({} in all)",
                leg.stream.dropped()
            );
        }
        Ok(())
    }

    /// Starts decoding what the leg's peer sends into 8 kHz frames, one per received packet,
    /// collected with [`MediaCore::poll_audio`].
    pub fn start_tap(&mut self, id: LegId) -> Result<(), MediaError> {
        let leg = self.legs.get_mut(&id).ok_or(MediaError::UnknownLeg(id))?;
        leg.tap = Some(Tap::new());
        Ok(())
    }

    pub fn stop_tap(&mut self, id: LegId) {
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.tap = None;
        }
    }

    /// The next decoded frame of a tapped leg (see [`MediaCore::start_tap`]).
    pub fn poll_audio(&mut self) -> Option<(LegId, Vec<i16>)> {
        self.audio.pop_front()
    }

    pub fn stats(&self, id: LegId) -> Result<LegStats, MediaError> {
        self.legs.get(&id).map(|leg| leg.stats.clone()).ok_or(MediaError::UnknownLeg(id))
    }

    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// A datagram arrived on the engine's socket.
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, bytes: &[u8]) {
        let Ok(contents) = bytes.try_into() else {
            debug!("ignoring an unrecognised datagram from {source}");
            return;
        };
        let input = Input::Receive(
            now,
            Receive { proto: Protocol::Udp, source, destination: self.local_addr, contents },
        );
        // The leg that took this address's last datagram almost always takes this one too;
        // otherwise (a new peer's first STUN check, an address that moved) ask every leg.
        let known = self
            .by_source
            .get(&source)
            .copied()
            .filter(|id| self.legs.get(id).is_some_and(|leg| leg.rtc.accepts(&input)));
        let id = match known {
            Some(id) => id,
            None => {
                let Some((&id, _)) = self.legs.iter().find(|(_, leg)| leg.rtc.accepts(&input)) else {
                    debug!("no leg accepts a datagram from {source}");
                    return;
                };
                self.by_source.insert(source, id);
                id
            }
        };
        let Some(leg) = self.legs.get_mut(&id) else { return };
        if let Err(e) = leg.rtc.handle_input(input) {
            debug!("{id}: bad input from {source}: {e}");
        }
        self.settle(id, now);
    }

    /// Time passed: run str0m's timers, generate due frames and emit due stats.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Only the legs whose own deadline has come: the others have nothing to do, and
        // polling them anyway would cost every wake-up a walk over every leg.
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.deadlines.first()
            && at <= now
        {
            self.deadlines.pop_first();
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.scheduled = None;
            }
            due.push(id);
        }
        for id in due {
            let Some(leg) = self.legs.get_mut(&id) else { continue };
            if now >= leg.rtc_deadline
                && let Err(e) = leg.rtc.handle_input(Input::Timeout(now))
            {
                debug!("{id}: timeout handling failed: {e}");
                leg.failed = true;
            }
            if leg.generating() {
                if now.saturating_duration_since(leg.next_frame_at) > MAX_CATCH_UP {
                    leg.next_frame_at = now;
                }
                while leg.next_frame_at <= now && leg.generating() {
                    leg.write_generated_frame(now);
                    leg.next_frame_at += FRAME_PERIOD;
                }
            }
            if now >= leg.next_stats_at {
                leg.next_stats_at = now + self.stats_interval;
                self.events.push_back(MediaEvent::Stats { leg: id, stats: leg.stats.clone() });
            }
            if leg.connect_deadline.is_some_and(|deadline| now >= deadline) {
                debug!("{id}: not connected within {:?}", self.connect_timeout);
                leg.failed = true;
            }
            if leg.closing_deadline.is_some_and(|deadline| now >= deadline) {
                leg.rtc.disconnect();
            }
            self.settle(id, now);
        }
    }

    /// The earliest instant at which [`MediaCore::handle_timeout`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// Puts the leg's current next deadline in the index (after anything that may move it).
    fn reschedule(&mut self, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let at = leg.next_deadline();
        if leg.scheduled == Some(at) {
            return;
        }
        if let Some(old) = leg.scheduled.replace(at) {
            self.deadlines.remove(&(old, id));
        }
        self.deadlines.insert((at, id));
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Drains `id` and everything its output feeds (echo, bridge) until all are quiet.
    fn settle(&mut self, id: LegId, now: Instant) {
        let mut work = vec![id];
        let mut forwards = Vec::new();
        while let Some(id) = work.pop() {
            self.drain(id, now, &mut forwards);
            for (to, packet) in forwards.drain(..) {
                let Some(leg) = self.legs.get_mut(&to) else { continue };
                // A burst replaces forwarded audio while it plays; a closing leg sends nothing.
                if leg.connected && leg.burst.is_none() && leg.closing_deadline.is_none() {
                    leg.write_opus(&packet, now);
                    work.push(to);
                }
            }
            self.reap(id);
            self.reschedule(id);
        }
    }

    /// Polls one leg's `Rtc` until it asks for a timeout, as str0m requires after any input.
    fn drain(&mut self, id: LegId, now: Instant, forwards: &mut Vec<(LegId, Arc<[u8]>)>) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        loop {
            let output = match leg.rtc.poll_output() {
                Ok(output) => output,
                Err(e) => {
                    debug!("{id}: failed: {e}");
                    leg.failed = true;
                    return;
                }
            };
            match output {
                Output::Timeout(at) => {
                    leg.rtc_deadline = at;
                    return;
                }
                Output::Transmit(transmit) => self.transmits.push_back(transmit),
                Output::Event(event) => match event {
                    Event::Connected => {
                        leg.connected = true;
                        leg.connect_deadline = None;
                        leg.next_frame_at = now;
                        self.events.push_back(MediaEvent::Connected { leg: id });
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        leg.failed = true;
                    }
                    Event::MediaAdded(added) if added.kind == MediaKind::Audio && leg.mid.is_none() => {
                        leg.mid = Some(added.mid);
                    }
                    Event::MediaData(data) => {
                        if let CodecExtra::Tele(tele) = data.codec_extra {
                            let timestamp = data.time.numer();
                            if leg.last_dtmf_timestamp != Some(timestamp) {
                                leg.last_dtmf_timestamp = Some(timestamp);
                                if let Some(digit) = dtmf_digit(tele.event) {
                                    self.events.push_back(MediaEvent::DtmfDigit { leg: id, digit });
                                    if leg.source == Source::Ivr {
                                        let (low, high) = dtmf_frequencies(digit).unwrap_or((0.0, 0.0));
                                        start_burst(leg, Burst::new(vec![low, high], IVR_BURST_MS), now);
                                    }
                                }
                            }
                        } else if data.params.spec().codec == Codec::Opus {
                            leg.stats.packets_received += 1;
                            if let Some(recorder) = &mut leg.recorder {
                                recorder.push_opus(&data.data);
                            }
                            if let Some(pcm) = leg.tap.as_mut().and_then(|tap| tap.decode(&data.data)) {
                                self.audio.push_back((id, pcm));
                            }
                            if !leg.audio_flowing {
                                leg.audio_flowing = true;
                                self.events.push_back(MediaEvent::AudioFlowing { leg: id });
                            }
                            let target = match (leg.bridged_to, &leg.source) {
                                (Some(other), _) => Some(other),
                                (None, Source::Echo) => Some(id),
                                _ => None,
                            };
                            if let Some(target) = target {
                                forwards.push((target, data.data.clone()));
                            }
                        }
                    }
                    Event::MediaIngressStats(stats) => {
                        leg.stats.jitter = Some(stats.jitter);
                        leg.stats.loss = stats.loss;
                    }
                    _ => {}
                },
            }
        }
    }

    /// Removes a leg that failed or finished closing, and tells the integrator.
    fn reap(&mut self, id: LegId) {
        let Some(leg) = self.legs.get(&id) else { return };
        let closed = leg.closing_deadline.is_some() && !leg.rtc.is_alive();
        let gone = leg.failed || (!leg.rtc.is_alive() && leg.closing_deadline.is_none());
        if !closed && !gone {
            return;
        }
        let Some(leg) = self.legs.remove(&id) else { return };
        if let Some(at) = leg.scheduled {
            self.deadlines.remove(&(at, id));
        }
        self.by_source.retain(|_, leg_id| *leg_id != id);
        if let Some(other) = leg.bridged_to {
            if let Some(other_leg) = self.legs.get_mut(&other) {
                other_leg.bridged_to = None;
            }
            // Back on its own source: its deadline may now be a generated frame.
            self.reschedule(other);
        }
        self.events.push_back(MediaEvent::Stats { leg: id, stats: leg.stats });
        self.events.push_back(if leg.closing_deadline.is_some() {
            MediaEvent::Closed { leg: id }
        } else {
            MediaEvent::Disconnected { leg: id }
        });
    }
}

fn start_burst(leg: &mut Leg, burst: Burst, now: Instant) {
    let was_generating = leg.generating();
    leg.burst = Some(burst);
    leg.synth.start_burst();
    if !was_generating {
        leg.next_frame_at = now;
    }
}

#[cfg(test)]
mod tests {
    //! The core on its own: no socket, no sleeping. Datagrams are handed between the core and
    //! a str0m client peer in memory while a virtual clock advances in 5 ms steps.

    use super::*;
    use str0m::media::TelephoneEvent;

    const ENGINE: &str = "127.0.0.1:5000";
    const CLIENT: &str = "127.0.0.1:6000";
    const STEP: Duration = Duration::from_millis(5);

    struct Sim {
        core: MediaCore,
        client: Rtc,
        client_mid: Mid,
        start: Instant,
        now: Instant,
        client_deadline: Instant,
        received_opus: usize,
        /// RTP media time of each Opus packet the client received.
        received_times: Vec<u64>,
        events: Vec<MediaEvent>,
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("valid socket address")
    }

    impl Sim {
        fn new(source: Source) -> Sim {
            let now = Instant::now();
            let mut core = MediaCore::new(addr(ENGINE), Duration::from_secs(1), Duration::from_secs(30));
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
            let mut client = config.build(now);
            client.add_local_candidate(Candidate::host(addr(CLIENT), "udp").expect("host candidate"));
            let mut api = client.sdp_api();
            let client_mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
            let (offer, pending) = api.apply().expect("an offer");
            let (leg, answer) = core.answer_offer(&offer.to_sdp_string(), now).expect("answered");
            core.set_source(leg, source, now).expect("source set");
            let answer = SdpAnswer::from_sdp_string(&answer).expect("parsable answer");
            client.sdp_api().accept_answer(pending, answer).expect("answer accepted");
            Sim {
                core,
                client,
                client_mid,
                start: now,
                now,
                client_deadline: now,
                received_opus: 0,
                received_times: Vec::new(),
                events: Vec::new(),
            }
        }

        /// Moves everything queued on both sides, then advances the clock one step.
        fn step(&mut self) {
            loop {
                match self.client.poll_output().expect("client output") {
                    Output::Timeout(at) => {
                        self.client_deadline = at;
                        break;
                    }
                    Output::Transmit(t) => self.core.handle_receive(self.now, t.source, &t.contents),
                    Output::Event(Event::MediaData(data)) if data.params.spec().codec == Codec::Opus => {
                        self.received_opus += 1;
                        self.received_times.push(data.time.numer());
                    }
                    Output::Event(_) => {}
                }
            }
            while let Some(t) = self.core.poll_transmit() {
                let receive = Receive {
                    proto: Protocol::Udp,
                    source: t.source,
                    destination: t.destination,
                    contents: (&t.contents[..]).try_into().expect("a datagram"),
                };
                self.client.handle_input(Input::Receive(self.now, receive)).expect("client input");
            }
            while let Some(event) = self.core.poll_event() {
                self.events.push(event);
            }
            self.now += STEP;
            if self.core.next_deadline().is_some_and(|d| d <= self.now) {
                self.core.handle_timeout(self.now);
            }
            if self.client_deadline <= self.now {
                self.client.handle_input(Input::Timeout(self.now)).expect("client timeout");
            }
        }

        fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) {
            let end = self.now + limit;
            while !done(self) {
                assert!(self.now < end, "not reached within {limit:?} of virtual time");
                self.step();
            }
        }
    }

    #[test]
    fn core_connects_and_streams_a_tone_in_virtual_time() {
        let mut sim = Sim::new(Source::Tone { freq_hz: 440.0 });
        sim.run_until(Duration::from_secs(5), |s| {
            s.events.iter().any(|e| matches!(e, MediaEvent::Connected { .. }))
        });
        let connected_at = sim.now;
        sim.run_until(Duration::from_secs(5), |s| s.now >= connected_at + Duration::from_secs(1));
        // 20 ms frames: about 50 in a virtual second (pacing and the first RTT blur the edges).
        assert!((40..=55).contains(&sim.received_opus), "{} packets in 1 s", sim.received_opus);
    }

    #[test]
    fn one_key_press_is_one_digit_although_it_spans_many_packets() {
        let mut sim = Sim::new(Source::Silence);
        sim.run_until(Duration::from_secs(5), |s| s.client.is_connected());
        for event in [7u8, 7] {
            let writer = sim.client.writer(sim.client_mid).expect("writer");
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .map(|p| p.pt())
                .expect("opus pt");
            let time = MediaTime::new(
                sim.now.duration_since(sim.start).as_millis() as u64 * 48,
                Frequency::FORTY_EIGHT_KHZ,
            );
            let tele = TelephoneEvent { event, end: true, volume: 10, duration: Duration::from_millis(100) };
            writer.telephone_event(tele).write(pt, sim.now, time, Vec::new()).expect("event written");
            let until = sim.now + Duration::from_millis(300);
            sim.run_until(Duration::from_secs(1), |s| s.now >= until);
        }
        let digits: String = sim
            .events
            .iter()
            .filter_map(|e| match e {
                MediaEvent::DtmfDigit { digit, .. } => Some(*digit),
                _ => None,
            })
            .collect();
        assert_eq!(digits, "77");
    }

    #[test]
    fn a_pause_in_what_a_leg_sends_is_a_gap_in_its_rtp_timeline() {
        let mut sim = Sim::new(Source::Tone { freq_hz: 440.0 });
        sim.run_until(Duration::from_secs(5), |s| s.received_opus >= 10);
        let leg = LegId(1);
        // Echo with a silent client: nothing is written for a second.
        sim.core.set_source(leg, Source::Echo, sim.now).expect("source set");
        let before = sim.received_times.len();
        let resume_at = sim.now + Duration::from_secs(1);
        sim.run_until(Duration::from_secs(2), |s| s.now >= resume_at);
        sim.core.set_source(leg, Source::Tone { freq_hz: 440.0 }, sim.now).expect("source set");
        sim.run_until(Duration::from_secs(2), |s| s.received_times.len() >= before + 10);

        let times = &sim.received_times;
        let steps: Vec<u64> = times.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        let biggest = steps.iter().copied().max().unwrap_or(0);
        // About one second at 48 kHz, not one 20 ms frame.
        assert!((40_000..=56_000).contains(&biggest), "largest timestamp step {biggest}");
        assert!(steps.iter().filter(|s| **s == 960).count() >= 15, "{steps:?}");
    }
}
