//! Media work for the core's [`MediaRequest`]s: the microphone, one `RTCPeerConnection` per call,
//! remote audio through one `<audio>` element, DTMF, synthesized ringback/ringtone, devices and
//! the once-a-second `getStats` poll.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ds_core::{CallHandle, MediaEvent, MediaRequest, PhoneErrorCode};
use ds_protocol::json::Json;
use ds_protocol::json_object;
use ds_protocol::rest::IceServer;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    AudioContext, Event, GainNode, HtmlAudioElement, MediaStream, MediaStreamConstraints, MediaStreamTrack,
    OscillatorNode, RtcConfiguration, RtcIceCandidateInit, RtcPeerConnection, RtcRtpSender, RtcSdpType,
    RtcSessionDescriptionInit, RtcTrackEvent,
};

use crate::driver::{DriverEvent, Inner};
use crate::quality::{QualityTracker, StatsSample};
use crate::tokens::js_text;
use crate::vec_map::CallMap;

/// localStorage keys shared with the reference SDK (protocol.md §14).
pub const INPUT_DEVICE_KEY: &str = "dialstack.softphone.input_device_id";
pub const OUTPUT_DEVICE_KEY: &str = "dialstack.softphone.output_device_id";

/// ICE gathering is awaited at most this long before the SDP is sent (§8).
const ICE_GATHERING_CAP_MS: u32 = 2_000;
/// RFC 4733 through the DTMF sender (§7.8).
const DTMF_TONE_MS: u32 = 100;
const DTMF_GAP_MS: u32 = 70;
const STATS_INTERVAL_MS: i32 = 1_000;
/// Ringback/ringtone level; the cadence is 2 s on, 4 s off (§14).
const TONE_GAIN: f32 = 0.08;
const TONE_CYCLES_SCHEDULED: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioDeviceKind {
    Input,
    Output,
}

/// A microphone or speaker as the browser lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioDevice {
    pub id: String,
    /// Empty until the page has microphone permission.
    pub label: String,
    pub kind: AudioDeviceKind,
}

struct CallMedia {
    pc: RtcPeerConnection,
    mic: Option<MediaStream>,
    sender: Option<RtcRtpSender>,
    remote_set: bool,
    pending_candidates: Vec<RtcIceCandidateInit>,
    remote_tracks: Vec<MediaStreamTrack>,
    tracker: QualityTracker,
    flowing_reported: bool,
    muted: bool,
    _closures: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl CallMedia {
    fn close(&self) {
        self.pc.set_ontrack(None);
        self.pc.set_onicecandidate(None);
        self.pc.close();
        if let Some(mic) = &self.mic {
            stop_stream(mic);
        }
    }
}

struct TonePlayer {
    oscillators: [OscillatorNode; 2],
    gain: GainNode,
}

type Interval = (i32, Closure<dyn FnMut()>);
type EventClosure = Closure<dyn FnMut(Event)>;

pub(crate) struct Media {
    calls: RefCell<CallMap<CallMedia>>,
    /// Calls whose setup (microphone, peer connection, SDP) is still awaiting the browser, and
    /// whether each was closed meanwhile (`true`): the setup then stops quietly. An entry lives
    /// only as long as its setup, so the table holds at most the calls being set up right now.
    /// (It used to remember every closed call for good: one entry per call, for the page's life.)
    setting_up: RefCell<CallMap<bool>>,
    audio: RefCell<Option<HtmlAudioElement>>,
    remote_mix: RefCell<Option<MediaStream>>,
    ringback: RefCell<CallMap<()>>,
    ringtone: Cell<bool>,
    tone: RefCell<Option<TonePlayer>>,
    audio_ctx: RefCell<Option<AudioContext>>,
    input_device: RefCell<Option<String>>,
    output_device: RefCell<Option<String>>,
    stats_timer: RefCell<Option<Interval>>,
    playback_blocked: Cell<bool>,
    device_watch: RefCell<Option<EventClosure>>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub(crate) fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?.filter(|v| !v.is_empty())
}

pub(crate) fn store(key: &str, value: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
}

fn stop_stream(stream: &MediaStream) {
    for track in stream.get_tracks() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

fn first_audio_track(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream.get_audio_tracks().get(0).dyn_into::<MediaStreamTrack>().ok()
}

fn dom_error_name(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// The one place browser media exceptions become UI error codes (architecture practice 5).
pub fn classify_media_error(name: &str) -> PhoneErrorCode {
    match name {
        "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => PhoneErrorCode::MicPermissionDenied,
        "NotReadableError" | "TrackStartError" | "AbortError" => PhoneErrorCode::AudioDeviceInUse,
        // NotFoundError, OverconstrainedError and anything else: no usable device.
        _ => PhoneErrorCode::AudioDeviceUnavailable,
    }
}

type MediaFailure = (PhoneErrorCode, String);

async fn open_microphone(device: Option<&str>) -> Result<MediaStream, MediaFailure> {
    let media_devices = web_sys::window().and_then(|w| w.navigator().media_devices().ok()).ok_or((
        PhoneErrorCode::AudioDeviceUnavailable,
        "this browser offers no microphone access".to_owned(),
    ))?;
    let audio = match device {
        Some(id) => json_object!( "deviceId": json_object!( "exact": id ) ),
        None => Json::Bool(true),
    };
    let constraints: MediaStreamConstraints =
        js_sys::JSON::parse(&json_object!( "audio": audio ).to_string())
            .map_err(|e| (PhoneErrorCode::AudioDeviceUnavailable, js_text(&e)))?
            .unchecked_into();
    let promise = media_devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| (classify_media_error(&dom_error_name(&e)), js_text(&e)))?;
    let stream = JsFuture::from(promise).await.map_err(|e| {
        (classify_media_error(&dom_error_name(&e)), format!("{}: {}", dom_error_name(&e), js_text(&e)))
    })?;
    Ok(stream.unchecked_into())
}

/// The microphones and speakers the browser lists (labels need microphone permission).
pub async fn enumerate_audio_devices() -> Vec<AudioDevice> {
    let Some(media_devices) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return Vec::new();
    };
    let Ok(promise) = media_devices.enumerate_devices() else { return Vec::new() };
    let Ok(list) = JsFuture::from(promise).await else { return Vec::new() };
    let list: js_sys::Array = list.unchecked_into();
    // `MediaDeviceInfo` members read by name, like the stats below: each typed web-sys getter is
    // one more import and JS shim in the bundle (size work).
    list.iter()
        .filter_map(|d| {
            let kind = match read_string(&d, "kind").as_deref() {
                Some("audioinput") => AudioDeviceKind::Input,
                Some("audiooutput") => AudioDeviceKind::Output,
                _ => return None,
            };
            let id = read_string(&d, "deviceId").unwrap_or_default();
            Some(AudioDevice { id, label: read_string(&d, "label").unwrap_or_default(), kind })
        })
        .collect()
}

pub(crate) fn read_number(object: &JsValue, field: &str) -> Option<f64> {
    js_sys::Reflect::get(object, &JsValue::from_str(field)).ok()?.as_f64()
}

/// A string member read by name. Used instead of typed web-sys getters where one would be the only
/// use of its import: each import is one more JS shim in the bundle (size work).
pub(crate) fn read_string(object: &JsValue, field: &str) -> Option<String> {
    js_sys::Reflect::get(object, &JsValue::from_str(field)).ok()?.as_string()
}

/// Copies the figures we use out of an `RTCStatsReport`.
fn sample_from_report(report: &JsValue, at_ms: u64) -> StatsSample {
    let sample = Rc::new(RefCell::new(StatsSample { at_ms, ..StatsSample::default() }));
    let collected = sample.clone();
    let visit = Closure::<dyn FnMut(JsValue)>::new(move |stat: JsValue| {
        let mut s = collected.borrow_mut();
        let kind = read_string(&stat, "kind");
        match read_string(&stat, "type").as_deref() {
            Some("inbound-rtp") if kind.as_deref() != Some("video") => {
                s.packets_received = read_number(&stat, "packetsReceived").unwrap_or(0.0) as u64;
                s.packets_lost = read_number(&stat, "packetsLost").unwrap_or(0.0) as i64;
                s.jitter_s = read_number(&stat, "jitter").unwrap_or(0.0);
                s.total_audio_energy = read_number(&stat, "totalAudioEnergy").unwrap_or(0.0);
            }
            Some("outbound-rtp") if kind.as_deref() != Some("video") => {
                s.packets_sent = read_number(&stat, "packetsSent").unwrap_or(0.0) as u64;
            }
            Some("candidate-pair") => {
                let nominated = js_sys::Reflect::get(&stat, &JsValue::from_str("nominated"))
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                if nominated && let Some(rtt) = read_number(&stat, "currentRoundTripTime") {
                    s.rtt_s = Some(rtt);
                }
            }
            Some("remote-inbound-rtp") if s.rtt_s.is_none() => {
                s.rtt_s = read_number(&stat, "roundTripTime");
            }
            _ => {}
        }
    });
    if let Ok(for_each) = js_sys::Reflect::get(report, &JsValue::from_str("forEach"))
        && let Some(for_each) = for_each.dyn_ref::<js_sys::Function>()
    {
        let _ = for_each.call1(report, visit.as_ref());
    }
    drop(visit);
    *sample.borrow()
}

impl Media {
    pub(crate) fn new() -> Media {
        Media {
            calls: RefCell::new(CallMap::new()),
            setting_up: RefCell::new(CallMap::new()),
            audio: RefCell::new(None),
            remote_mix: RefCell::new(None),
            ringback: RefCell::new(CallMap::new()),
            ringtone: Cell::new(false),
            tone: RefCell::new(None),
            audio_ctx: RefCell::new(None),
            input_device: RefCell::new(stored(INPUT_DEVICE_KEY)),
            output_device: RefCell::new(stored(OUTPUT_DEVICE_KEY)),
            stats_timer: RefCell::new(None),
            playback_blocked: Cell::new(false),
            device_watch: RefCell::new(None),
        }
    }

    pub(crate) fn playback_blocked(&self) -> bool {
        self.playback_blocked.get()
    }

    pub(crate) fn input_device(&self) -> Option<String> {
        self.input_device.borrow().clone()
    }

    pub(crate) fn output_device(&self) -> Option<String> {
        self.output_device.borrow().clone()
    }

    pub(crate) fn peer_state(&self, call: CallHandle) -> Option<String> {
        let calls = self.calls.borrow();
        let pc = &calls.get(&call)?.pc;
        read_string(pc.as_ref(), "connectionState")
    }

    /// Calls with any media state kept (test hook: zero when no call is live or being set up).
    pub(crate) fn calls_kept(&self) -> usize {
        let mut handles: Vec<CallHandle> = self.calls.borrow().keys().copied().collect();
        handles.extend(self.setting_up.borrow().keys().copied());
        handles.extend(self.ringback.borrow().keys().copied());
        handles.sort_unstable_by_key(|h| h.0);
        handles.dedup();
        handles.len()
    }

    /// The label of the microphone track a call is sending (test and diagnostics hook).
    pub(crate) fn sending_track_label(&self, call: CallHandle) -> Option<String> {
        let calls = self.calls.borrow();
        read_string(calls.get(&call)?.sender.as_ref()?.track()?.as_ref(), "label")
    }

    /// Stops everything: the phone is going away.
    pub(crate) fn shutdown(&self) {
        for (_, call) in self.calls.borrow_mut().drain() {
            call.close();
        }
        self.stop_stats();
        if let Some(tone) = self.tone.borrow_mut().take() {
            stop_tone(tone);
        }
        if let Some(audio) = self.audio.borrow_mut().take() {
            audio.set_src_object(None);
            audio.remove();
        }
        if let Some(ctx) = self.audio_ctx.borrow_mut().take() {
            let _ = ctx.close();
        }
        if let (Some(closure), Some(devices)) = (
            self.device_watch.borrow_mut().take(),
            web_sys::window().and_then(|w| w.navigator().media_devices().ok()),
        ) {
            let _ =
                devices.remove_event_listener_with_callback("devicechange", closure.as_ref().unchecked_ref());
        }
    }

    fn stop_stats(&self) {
        if let (Some((id, _)), Some(window)) = (self.stats_timer.borrow_mut().take(), web_sys::window()) {
            window.clear_interval_with_handle(id);
        }
    }

    fn audio_context(&self) -> Option<AudioContext> {
        if self.audio_ctx.borrow().is_none() {
            let ctx = AudioContext::new().ok()?;
            *self.audio_ctx.borrow_mut() = Some(ctx);
        }
        self.audio_ctx.borrow().clone()
    }

    fn update_tone(&self) {
        let wanted = self.ringtone.get() || !self.ringback.borrow().is_empty();
        let playing = self.tone.borrow().is_some();
        if wanted && !playing {
            if let Some(ctx) = self.audio_context()
                && let Some(player) = start_tone(&ctx)
            {
                *self.tone.borrow_mut() = Some(player);
            }
        } else if !wanted
            && playing
            && let Some(tone) = self.tone.borrow_mut().take()
        {
            stop_tone(tone);
        }
    }

    fn audio_element(&self) -> Option<(HtmlAudioElement, MediaStream)> {
        if self.audio.borrow().is_none() {
            let document = web_sys::window()?.document()?;
            let audio: HtmlAudioElement = document.create_element("audio").ok()?.dyn_into().ok()?;
            audio.set_autoplay(true);
            let _ = audio.set_attribute("data-dialstack-remote-audio", "");
            let _ = audio.set_attribute("hidden", "");
            let mix = MediaStream::new().ok()?;
            audio.set_src_object(Some(&mix));
            if let Some(body) = document.body() {
                let _ = body.append_child(&audio);
            }
            if let Some(sink) = self.output_device.borrow().as_deref() {
                set_sink_id(audio.as_ref(), sink);
            }
            *self.audio.borrow_mut() = Some(audio);
            *self.remote_mix.borrow_mut() = Some(mix);
        }
        Some((self.audio.borrow().clone()?, self.remote_mix.borrow().clone()?))
    }
}

/// `setSinkId` is not in every browser (nor in web-sys' stable set): call it when present.
fn set_sink_id(target: &JsValue, sink: &str) {
    if let Ok(function) = js_sys::Reflect::get(target, &JsValue::from_str("setSinkId"))
        && let Some(function) = function.dyn_ref::<js_sys::Function>()
        && let Ok(promise) = function.call1(target, &JsValue::from_str(sink))
        && let Ok(promise) = promise.dyn_into::<js_sys::Promise>()
    {
        spawn_local(async move {
            let _ = JsFuture::from(promise).await;
        });
    }
}

fn start_tone(ctx: &AudioContext) -> Option<TonePlayer> {
    let gain = ctx.create_gain().ok()?;
    let param = gain.gain();
    param.set_value(0.0);
    let start = ctx.current_time();
    for cycle in 0..TONE_CYCLES_SCHEDULED {
        let on = start + f64::from(cycle) * 6.0;
        let _ = param.set_value_at_time(TONE_GAIN, on);
        let _ = param.set_value_at_time(0.0, on + 2.0);
    }
    let _ = gain.connect_with_audio_node(&ctx.destination());
    let make = |hz: f32| -> Option<OscillatorNode> {
        let osc = ctx.create_oscillator().ok()?;
        osc.frequency().set_value(hz);
        osc.connect_with_audio_node(&gain).ok()?;
        osc.start().ok()?;
        Some(osc)
    };
    let oscillators = [make(440.0)?, make(480.0)?];
    Some(TonePlayer { oscillators, gain })
}

fn stop_tone(tone: TonePlayer) {
    for osc in &tone.oscillators {
        let _ = osc.stop();
        let _ = osc.disconnect();
    }
    let _ = tone.gain.disconnect();
}

impl Inner {
    pub(crate) fn media_request(self: &Rc<Self>, request: MediaRequest) {
        match request {
            MediaRequest::CreateOffer { call } => {
                self.media.setting_up.borrow_mut().insert(call, false);
                let inner = self.clone();
                spawn_local(async move {
                    let result = inner.create_sdp(call, None).await;
                    let closed = inner.media.setting_up.borrow_mut().remove(&call).unwrap_or(false);
                    match result {
                        Ok(Some(sdp)) => inner.media_event(MediaEvent::OfferCreated { call, sdp }),
                        Ok(None) => {}
                        Err(_) if closed => {}
                        Err((code, message)) => inner.media_event(MediaEvent::Failed { call, code, message }),
                    }
                });
            }
            MediaRequest::CreateAnswerFor { call, offer } => {
                self.media.setting_up.borrow_mut().insert(call, false);
                let inner = self.clone();
                spawn_local(async move {
                    let result = inner.create_sdp(call, Some(offer)).await;
                    let closed = inner.media.setting_up.borrow_mut().remove(&call).unwrap_or(false);
                    match result {
                        Ok(Some(sdp)) => inner.media_event(MediaEvent::AnswerCreated { call, sdp }),
                        Ok(None) => {}
                        Err(_) if closed => {}
                        Err((code, message)) => inner.media_event(MediaEvent::Failed { call, code, message }),
                    }
                });
            }
            MediaRequest::ApplyAnswer { call, sdp } => self.apply_remote(call, RtcSdpType::Answer, sdp),
            MediaRequest::ApplyProvisionalAnswer { call, sdp } => {
                self.apply_remote(call, RtcSdpType::Pranswer, sdp)
            }
            MediaRequest::AddRemoteCandidate { call, candidate, sdp_mid, sdp_m_line_index } => {
                // A null candidate marks the end of the remote candidates; nothing to apply.
                let Some(candidate) = candidate else { return };
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index.and_then(|i| u16::try_from(i).ok()));
                let mut calls = self.media.calls.borrow_mut();
                let Some(media) = calls.get_mut(&call) else { return };
                if media.remote_set {
                    let promise = media.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
                    spawn_local(async move {
                        let _ = JsFuture::from(promise).await;
                    });
                } else {
                    media.pending_candidates.push(init);
                }
            }
            MediaRequest::CloseCall { call } => {
                if let Some(media) = self.media.calls.borrow_mut().remove(&call) {
                    if let Some(mix) = self.media.remote_mix.borrow().as_ref() {
                        for track in &media.remote_tracks {
                            mix.remove_track(track);
                        }
                    }
                    media.close();
                }
                // A setup still awaiting the browser sees this and stops quietly; it removes the
                // entry itself when it returns, so nothing is kept per ended call.
                if let Some(closed) = self.media.setting_up.borrow_mut().get_mut(&call) {
                    *closed = true;
                }
                self.quality.borrow_mut().remove(&call);
                if self.media.calls.borrow().is_empty() {
                    self.media.stop_stats();
                }
            }
            MediaRequest::StartRingback { call } => {
                self.media.ringback.borrow_mut().insert(call, ());
                self.media.update_tone();
            }
            MediaRequest::StopRingback { call } => {
                self.media.ringback.borrow_mut().remove(&call);
                self.media.update_tone();
            }
            MediaRequest::StartRingtone => {
                self.media.ringtone.set(true);
                self.media.update_tone();
            }
            MediaRequest::StopRingtone => {
                self.media.ringtone.set(false);
                self.media.update_tone();
            }
            MediaRequest::SetMuted { call, muted } => {
                if let Some(media) = self.media.calls.borrow_mut().get_mut(&call) {
                    media.muted = muted;
                    if let Some(track) = media.mic.as_ref().and_then(first_audio_track) {
                        track.set_enabled(!muted);
                    }
                }
            }
            MediaRequest::SendDtmf { call, digits } => {
                let calls = self.media.calls.borrow();
                if let Some(dtmf) = calls.get(&call).and_then(|m| m.sender.as_ref()).and_then(|s| s.dtmf()) {
                    dtmf.insert_dtmf_with_duration_and_inter_tone_gap(&digits, DTMF_TONE_MS, DTMF_GAP_MS);
                }
            }
        }
    }

    /// Microphone, peer connection, then an offer (`remote_offer` = None) or the answer to the
    /// server's offer, returned once ICE gathering completed or its cap passed. `Ok(None)`: the
    /// call was closed meanwhile.
    async fn create_sdp(
        self: &Rc<Self>,
        call: CallHandle,
        remote_offer: Option<String>,
    ) -> Result<Option<String>, MediaFailure> {
        let chosen = self.media.input_device();
        let mic = match open_microphone(chosen.as_deref()).await {
            Ok(mic) => mic,
            Err((PhoneErrorCode::AudioDeviceUnavailable, _)) if chosen.is_some() => {
                // The remembered microphone is gone: say so and fall back to the default.
                self.emit_error(
                    PhoneErrorCode::AudioDeviceUnavailable,
                    "the chosen microphone is not available; using the system default".to_owned(),
                );
                *self.media.input_device.borrow_mut() = None;
                store(INPUT_DEVICE_KEY, None);
                open_microphone(None).await?
            }
            Err(error) => return Err(error),
        };
        if self.media.setting_up.borrow().get(&call) == Some(&true) {
            stop_stream(&mic);
            return Ok(None);
        }
        let pc = match self.new_peer(call) {
            Ok(pc) => pc,
            Err(error) => {
                stop_stream(&mic);
                return Err(error);
            }
        };
        let sender = first_audio_track(&mic).map(|track| pc.add_track_0(&track, &mic));
        if let Some(media) = self.media.calls.borrow_mut().get_mut(&call) {
            media.mic = Some(mic);
            media.sender = sender;
        }
        let fail = |e: JsValue| (PhoneErrorCode::CallFailed, format!("WebRTC: {}", js_text(&e)));
        let local = match remote_offer {
            None => JsFuture::from(pc.create_offer()).await.map_err(fail)?,
            Some(offer) => {
                let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
                init.set_sdp(&offer);
                JsFuture::from(pc.set_remote_description(&init)).await.map_err(fail)?;
                self.remote_applied(call);
                JsFuture::from(pc.create_answer()).await.map_err(fail)?
            }
        };
        JsFuture::from(pc.set_local_description(local.unchecked_ref())).await.map_err(fail)?;
        let mut waited = 0;
        while read_string(&pc, "iceGatheringState").as_deref() != Some("complete")
            && waited < ICE_GATHERING_CAP_MS
        {
            let _ = crate::driver::sleep_ms(50).await;
            waited += 50;
        }
        if !self.media.calls.borrow().contains_key(&call) {
            return Ok(None);
        }
        let sdp = js_sys::Reflect::get(&pc, &JsValue::from_str("localDescription"))
            .ok()
            .and_then(|description| read_string(&description, "sdp"))
            .ok_or((PhoneErrorCode::CallFailed, "no local description".to_owned()))?;
        Ok(Some(sdp))
    }

    fn new_peer(self: &Rc<Self>, call: CallHandle) -> Result<RtcPeerConnection, MediaFailure> {
        let servers = Json::Array(self.ice_servers.borrow().iter().map(IceServer::to_json).collect());
        let config: RtcConfiguration =
            js_sys::JSON::parse(&json_object!( "iceServers": servers ).to_string())
                .map_err(|e| (PhoneErrorCode::CallFailed, js_text(&e)))?
                .unchecked_into();
        let pc = RtcPeerConnection::new_with_configuration(&config)
            .map_err(|e| (PhoneErrorCode::CallFailed, format!("RTCPeerConnection: {}", js_text(&e))))?;
        let weak = Rc::downgrade(self);
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(inner) = weak.upgrade() else { return };
            let event: RtcTrackEvent = event.unchecked_into();
            inner.remote_track(call, event.track());
        });
        let weak = Rc::downgrade(self);
        let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(inner) = weak.upgrade() else { return };
            // The `RTCIceCandidate` members read by name (fewer imports; size work).
            let found =
                js_sys::Reflect::get(&event, &JsValue::from_str("candidate")).unwrap_or(JsValue::NULL);
            if found.is_null() || found.is_undefined() {
                inner.media_event(MediaEvent::LocalIceGatheringDone { call });
                return;
            }
            let candidate = read_string(&found, "candidate").unwrap_or_default();
            if !candidate.is_empty() {
                inner.media_event(MediaEvent::LocalIceCandidate {
                    call,
                    candidate,
                    sdp_mid: read_string(&found, "sdpMid"),
                    sdp_m_line_index: read_number(&found, "sdpMLineIndex").map(|index| index as u32),
                });
            }
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        self.media.calls.borrow_mut().insert(
            call,
            CallMedia {
                pc: pc.clone(),
                mic: None,
                sender: None,
                remote_set: false,
                pending_candidates: Vec::new(),
                remote_tracks: Vec::new(),
                tracker: QualityTracker::new(),
                flowing_reported: false,
                muted: false,
                _closures: vec![on_track, on_candidate],
            },
        );
        self.start_stats();
        Ok(pc)
    }

    /// The remote description is in: buffered candidates can now be applied.
    fn remote_applied(&self, call: CallHandle) {
        let mut calls = self.media.calls.borrow_mut();
        let Some(media) = calls.get_mut(&call) else { return };
        media.remote_set = true;
        for init in media.pending_candidates.drain(..) {
            let promise = media.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
            spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    }

    fn apply_remote(self: &Rc<Self>, call: CallHandle, kind: RtcSdpType, sdp: String) {
        let Some(pc) = self.media.calls.borrow().get(&call).map(|m| m.pc.clone()) else { return };
        let inner = self.clone();
        spawn_local(async move {
            let init = RtcSessionDescriptionInit::new(kind);
            init.set_sdp(&sdp);
            match JsFuture::from(pc.set_remote_description(&init)).await {
                Ok(_) => inner.remote_applied(call),
                Err(_) if kind == RtcSdpType::Pranswer => {
                    inner.media_event(MediaEvent::ProvisionalAnswerUnusable { call });
                }
                Err(error) => inner.media_event(MediaEvent::Failed {
                    call,
                    code: PhoneErrorCode::CallFailed,
                    message: format!("the remote answer could not be applied: {}", js_text(&error)),
                }),
            }
        });
    }

    fn remote_track(self: &Rc<Self>, call: CallHandle, track: MediaStreamTrack) {
        let Some((audio, mix)) = self.media.audio_element() else { return };
        mix.add_track(&track);
        if let Some(media) = self.media.calls.borrow_mut().get_mut(&call) {
            media.remote_tracks.push(track);
        }
        // Re-attach so the element picks up the new track, then play.
        audio.set_src_object(Some(&mix));
        self.play_remote_audio(audio);
    }

    fn play_remote_audio(self: &Rc<Self>, audio: HtmlAudioElement) {
        let Ok(promise) = audio.play() else { return };
        let inner = self.clone();
        spawn_local(async move {
            match JsFuture::from(promise).await {
                Ok(_) => inner.media.playback_blocked.set(false),
                Err(error) if dom_error_name(&error) == "NotAllowedError" => {
                    if !inner.media.playback_blocked.replace(true) {
                        inner.emit_error(
                            PhoneErrorCode::AudioPlaybackBlocked,
                            "the browser blocked audio playback; click to enable audio".to_owned(),
                        );
                    }
                }
                // AbortError: a newer play() or srcObject change superseded this one.
                Err(_) => {}
            }
        });
    }

    /// Retries remote audio and the tone context; call from a user gesture.
    pub(crate) fn resume_audio(self: &Rc<Self>) {
        if let Some(ctx) = self.media.audio_ctx.borrow().as_ref() {
            let _ = ctx.resume();
        }
        let audio = self.media.audio.borrow().clone();
        if let Some(audio) = audio {
            self.play_remote_audio(audio);
        }
    }

    fn start_stats(self: &Rc<Self>) {
        if self.media.stats_timer.borrow().is_some() {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.poll_stats();
            }
        });
        if let Ok(id) = window.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            STATS_INTERVAL_MS,
        ) {
            *self.media.stats_timer.borrow_mut() = Some((id, tick));
        }
    }

    fn poll_stats(self: &Rc<Self>) {
        let peers: Vec<(CallHandle, RtcPeerConnection)> =
            self.media.calls.borrow().iter().map(|(h, m)| (*h, m.pc.clone())).collect();
        for (call, pc) in peers {
            let inner = self.clone();
            spawn_local(async move {
                let Ok(report) = JsFuture::from(pc.get_stats()).await else { return };
                let sample = sample_from_report(&report, crate::driver::now_ms());
                let (report, first_audio) = {
                    let mut calls = inner.media.calls.borrow_mut();
                    let Some(media) = calls.get_mut(&call) else { return };
                    let report = media.tracker.update(sample);
                    let first = report.packets_received > 0 && !media.flowing_reported;
                    media.flowing_reported |= first;
                    (report, first)
                };
                inner.quality.borrow_mut().insert(call, report);
                inner.emit(DriverEvent::Quality { call, report });
                if first_audio {
                    inner.media_event(MediaEvent::RemoteAudioFlowing { call });
                }
            });
        }
    }

    pub(crate) fn set_input_device(self: &Rc<Self>, device: Option<String>) {
        store(INPUT_DEVICE_KEY, device.as_deref());
        *self.media.input_device.borrow_mut() = device.clone();
        let live: Vec<CallHandle> = self.media.calls.borrow().iter().map(|(h, _)| *h).collect();
        for call in live {
            let inner = self.clone();
            let device = device.clone();
            spawn_local(async move { inner.switch_microphone(call, device).await });
        }
    }

    /// Moves a running call to another microphone without renegotiation (`replaceTrack`).
    async fn switch_microphone(self: &Rc<Self>, call: CallHandle, device: Option<String>) {
        let mic = match open_microphone(device.as_deref()).await {
            Ok(mic) => mic,
            Err((code, message)) => return self.emit_error(code, message),
        };
        let Some(track) = first_audio_track(&mic) else { return };
        let (sender, muted) = {
            let calls = self.media.calls.borrow();
            match calls.get(&call) {
                Some(media) => (media.sender.clone(), media.muted),
                None => {
                    stop_stream(&mic);
                    return;
                }
            }
        };
        let Some(sender) = sender else { return stop_stream(&mic) };
        track.set_enabled(!muted);
        if JsFuture::from(sender.replace_track(Some(&track))).await.is_err() {
            stop_stream(&mic);
            return self.emit_error(
                PhoneErrorCode::AudioDeviceUnavailable,
                "the microphone could not be switched".into(),
            );
        }
        let old = self.media.calls.borrow_mut().get_mut(&call).and_then(|m| m.mic.replace(mic));
        if let Some(old) = old {
            stop_stream(&old);
        }
    }

    pub(crate) fn set_output_device(self: &Rc<Self>, device: Option<String>) {
        store(OUTPUT_DEVICE_KEY, device.as_deref());
        *self.media.output_device.borrow_mut() = device.clone();
        let sink = device.unwrap_or_default();
        if let Some(audio) = self.media.audio.borrow().as_ref() {
            set_sink_id(audio.as_ref(), &sink);
        }
        if let Some(ctx) = self.media.audio_ctx.borrow().as_ref() {
            set_sink_id(ctx.as_ref(), &sink);
        }
    }

    /// Watches `devicechange`: tells subscribers, and reports a chosen device that disappeared
    /// (falling back to the default).
    pub(crate) fn install_device_watch(self: &Rc<Self>) {
        let Some(devices) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
            return;
        };
        let weak = Rc::downgrade(self);
        let closure = Closure::<dyn FnMut(Event)>::new(move |_| {
            let Some(inner) = weak.upgrade() else { return };
            spawn_local(async move {
                let list = enumerate_audio_devices().await;
                let present =
                    |kind: AudioDeviceKind, id: &str| list.iter().any(|d| d.kind == kind && d.id == id);
                if let Some(id) = inner.media.input_device()
                    && !present(AudioDeviceKind::Input, &id)
                {
                    inner.emit_error(
                        PhoneErrorCode::AudioDeviceUnavailable,
                        "the chosen microphone was unplugged; using the system default".into(),
                    );
                    inner.set_input_device(None);
                }
                if let Some(id) = inner.media.output_device()
                    && !present(AudioDeviceKind::Output, &id)
                {
                    inner.emit_error(
                        PhoneErrorCode::AudioDeviceUnavailable,
                        "the chosen speaker was unplugged; using the system default".into(),
                    );
                    inner.set_output_device(None);
                }
                inner.emit(DriverEvent::DevicesChanged(list));
            });
        });
        if devices.add_event_listener_with_callback("devicechange", closure.as_ref().unchecked_ref()).is_ok()
        {
            *self.media.device_watch.borrow_mut() = Some(closure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify_media_error;
    use ds_core::PhoneErrorCode;

    #[test]
    fn get_user_media_exceptions_map_to_distinct_codes() {
        assert_eq!(classify_media_error("NotAllowedError"), PhoneErrorCode::MicPermissionDenied);
        assert_eq!(classify_media_error("NotFoundError"), PhoneErrorCode::AudioDeviceUnavailable);
        assert_eq!(classify_media_error("OverconstrainedError"), PhoneErrorCode::AudioDeviceUnavailable);
        assert_eq!(classify_media_error("NotReadableError"), PhoneErrorCode::AudioDeviceInUse);
    }
}
