//! The headless JS API: `DialStackPhone` and `Call`, exported by whatever cdylib links ds-web
//! (the embed bundle `ds_elements.js` does). Event payloads are plain objects typed by the
//! TypeScript section below; calls are `Call` objects.

use std::cell::RefCell;
use std::rc::Rc;

use ds_core::view_model::ConnectionStatus;
use ds_core::{CallHandle, CallInfo, Command, Direction, PhoneErrorCode, PhoneEvent};
use ds_protocol::json::Json as Value;
use ds_protocol::json_object;
use ds_protocol::signalling::RejectReason;
use wasm_bindgen::prelude::*;

use crate::call_json::{call_info_json, error_json, phase_name, quality_json, status_json, status_name};
use crate::driver::{DriverEvent, PhoneHandle, PhoneOptions, Subscription};
use crate::media::{AudioDevice, AudioDeviceKind};
use crate::tokens::TokenProvider;

// The E911 methods and event (`emergencyAddresses()`, `useEmergencyAddress()`…) in their own file.
#[path = "js_api_emergency.rs"]
mod e911;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export type DialStackStatus = "idle" | "connecting" | "connected" | "reconnecting" | "disconnected" | "error";
export type DialStackCallState = "trying" | "ringing" | "active" | "held" | "ended";

export interface DialStackPhoneOptions {
  /** API base URL; default: the page's origin. */
  apiBase?: string;
  /** Explicit signalling base; default: derived from apiBase (protocol §4.1). */
  signallingBase?: string;
  /** A function returning (a Promise of) a user token, a URL answering with one, or a token. */
  tokenProvider: string | (() => string | Promise<string>);
  /** Reconnect after a non-terminal loss (default true). */
  autoReconnect?: boolean;
  /** Share one registration between this user's tabs of this origin (default false). */
  multiTab?: boolean;
}

export interface DialStackStatusEvent { status: DialStackStatus; attempt: number | null }
export interface DialStackConnectedEvent { userId: string; accountId: string }
export interface DialStackErrorEvent { code: string; message: string; fatal: boolean; callId: string | null; handle: number | null }
export interface DialStackCallInfo {
  handle: number; callId: string | null; direction: "inbound" | "outbound"; state: DialStackCallState;
  remoteNumber: string; remoteName: string | null; localNumber: string | null;
  heldBy: "local" | "remote" | null; muted: boolean; answeredAt: number | null;
  answering: boolean; ending: boolean; ringback: boolean; earlyMedia: boolean; restored: boolean;
  consultFor: number | null; consultedBy: number | null; endReason: string | null;
}
export interface DialStackQualityEvent {
  handle: number; callId: string | null; jitterMs: number; packetLossPct: number; rttMs: number | null;
  mos: number; oneWayAudio: boolean; packetsReceived: number; totalAudioEnergy: number;
}
export interface DialStackAudioDevice { id: string; label: string; kind: "input" | "output" }

export interface DialStackEventMap {
  status: DialStackStatusEvent;
  connected: DialStackConnectedEvent;
  disconnected: DialStackStatusEvent;
  incoming: Call;
  callAdded: Call;
  callUpdated: Call;
  callEnded: Call;
  activeCall: Call | null;
  error: DialStackErrorEvent;
  quality: DialStackQualityEvent;
  devices: DialStackAudioDevice[];
  networkChanged: Record<string, never>;
  presence: unknown[];
  /** With `multiTab`: whether this tab holds the registration. */
  leader: { leader: boolean };
}
"#;

fn device_json(device: &AudioDevice) -> Value {
    json_object!(
        "id": &device.id, "label": &device.label,
        "kind": match device.kind { AudioDeviceKind::Input => "input", AudioDeviceKind::Output => "output" },
    )
}

fn to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

/// What every async method of the JS API runs, boxed.
type JsTask = std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>;

/// The one `Promise` path of the JS API: `future_to_promise` is generic, so each async method
/// calling it directly carried its own copy of its glue; boxed, there is one (size work).
fn promise(task: JsTask) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(task)
}

/// A JS `Error` carrying `code` (and the rest of the error object) for promise rejections.
fn js_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

fn read_option(options: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

type JsListeners = Rc<RefCell<Vec<(String, js_sys::Function)>>>;

/// A headless phone: `new DialStackPhone({ apiBase, tokenProvider })`, `connect()`, `call()`,
/// `on('incoming', call => call.answer())`.
#[wasm_bindgen]
pub struct DialStackPhone {
    phone: PhoneHandle,
    listeners: JsListeners,
    _subscription: Subscription,
}

fn dispatch(listeners: &JsListeners, name: &str, payload: &JsValue) {
    let matching: Vec<js_sys::Function> =
        listeners.borrow().iter().filter(|(n, _)| n == name).map(|(_, f)| f.clone()).collect();
    for listener in matching {
        // A throwing listener must not break the phone or the other listeners.
        if let Err(error) = listener.call1(&JsValue::NULL, payload) {
            web_sys_console_error(&error);
        }
    }
}

fn web_sys_console_error(error: &JsValue) {
    let console = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("console")).ok();
    if let Some(console) = console
        && let Ok(log) = js_sys::Reflect::get(&console, &JsValue::from_str("error"))
        && let Some(log) = log.dyn_ref::<js_sys::Function>()
    {
        let _ = log.call2(&console, &JsValue::from_str("DialStackPhone listener threw:"), error);
    }
}

/// An event's payload: a call (a `Call` object locally, `DialStackCallInfo` across tabs) or JSON.
enum Payload {
    Call(CallInfo),
    Json(Value),
}

fn payloads(phone: &PhoneHandle, event: &DriverEvent) -> Vec<(&'static str, Payload)> {
    let mut out = Vec::new();
    match event {
        DriverEvent::Phone(PhoneEvent::ConnectionChanged(status)) => {
            out.push(("status", Payload::Json(status_json(*status))));
            if matches!(status, ConnectionStatus::Disconnected | ConnectionStatus::Error) {
                out.push(("disconnected", Payload::Json(status_json(*status))));
            }
        }
        DriverEvent::Phone(PhoneEvent::Authenticated { user_id, account_id }) => {
            out.push((
                "connected",
                Payload::Json(json_object!( "userId": user_id, "accountId": account_id )),
            ));
        }
        DriverEvent::Phone(PhoneEvent::CallAdded(info)) => {
            out.push(("callAdded", Payload::Call(info.clone())));
            if info.direction == Direction::Inbound {
                out.push(("incoming", Payload::Call(info.clone())));
            }
        }
        DriverEvent::Phone(PhoneEvent::CallUpdated(info)) => {
            out.push(("callUpdated", Payload::Call(info.clone())))
        }
        DriverEvent::Phone(PhoneEvent::CallRemoved(info)) => {
            out.push(("callEnded", Payload::Call(info.clone())))
        }
        DriverEvent::Phone(PhoneEvent::ActiveCallChanged(handle)) => {
            let payload =
                handle.and_then(|h| phone.call(h)).map_or(Payload::Json(Value::Null), Payload::Call);
            out.push(("activeCall", payload));
        }
        DriverEvent::Phone(PhoneEvent::Error(error)) => {
            out.push(("error", Payload::Json(error_json(error))));
            if error.code == PhoneErrorCode::EmergencyAddressRequired {
                out.push(("emergencyAddressRequired", Payload::Json(error_json(error))));
            }
        }
        DriverEvent::Phone(PhoneEvent::NetworkChanged) => {
            out.push(("networkChanged", Payload::Json(json_object!())))
        }
        DriverEvent::Phone(PhoneEvent::Presence(entries)) => {
            out.push((
                "presence",
                Payload::Json(Value::Array(entries.iter().map(|entry| entry.to_json()).collect())),
            ));
        }
        DriverEvent::Quality { call, report } => {
            let call_id = phone.call(*call).and_then(|c| c.call_id);
            out.push(("quality", Payload::Json(quality_json(*call, call_id, report))));
        }
        DriverEvent::DevicesChanged(devices) => {
            out.push(("devices", Payload::Json(Value::Array(devices.iter().map(device_json).collect()))));
        }
        DriverEvent::TabRole { leader } => {
            out.push(("leader", Payload::Json(json_object!( "leader": *leader ))))
        }
        DriverEvent::LeaderState => {}
    }
    out
}

fn forward(phone: &PhoneHandle, listeners: &JsListeners, event: &DriverEvent) {
    if let DriverEvent::Phone(PhoneEvent::Error(error)) = event {
        phone.forget_refused_emergency_address(error);
    }
    for (name, payload) in payloads(phone, event) {
        let js = match payload {
            Payload::Call(info) => JsValue::from(Call::new(phone.clone(), info)),
            Payload::Json(value) => to_js(&value),
        };
        dispatch(listeners, name, &js);
    }
}

#[wasm_bindgen]
impl DialStackPhone {
    /// `options`: `DialStackPhoneOptions`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<DialStackPhone, JsValue> {
        let tokens = TokenProvider::from_js(&read_option(&options, "tokenProvider")).ok_or_else(|| {
            js_error("invalid_options", "tokenProvider must be a function, a URL or a token")
        })?;
        let api_base = read_option(&options, "apiBase")
            .as_string()
            .filter(|s| !s.is_empty())
            .or_else(crate::page_origin)
            .ok_or_else(|| js_error("invalid_options", "apiBase is required outside a page"))?;
        let mut config = PhoneOptions::new(api_base, tokens);
        config.signalling_base =
            read_option(&options, "signallingBase").as_string().filter(|s| !s.is_empty());
        if let Some(auto) = read_option(&options, "autoReconnect").as_bool() {
            config.auto_reconnect = auto;
        }
        config.multi_tab = read_option(&options, "multiTab").as_bool().unwrap_or(false);
        let phone = PhoneHandle::new(config);
        let listeners: JsListeners = Rc::new(RefCell::new(Vec::new()));
        // The listener lives inside the phone: hold it weakly, or the phone could never be freed.
        let (for_events, phone_for_events) = (listeners.clone(), phone.downgrade());
        let subscription = phone.subscribe(move |event| {
            if let Some(phone) = phone_for_events.upgrade() {
                forward(&phone, &for_events, event);
            }
        });
        Ok(DialStackPhone { phone, listeners, _subscription: subscription })
    }

    /// Connects; resolves once `connected`, rejects with an Error carrying `code` otherwise.
    /// With `multiTab`, only the elected leader tab connects; a follower resolves once the
    /// leader is connected.
    pub fn connect(&self) -> js_sys::Promise {
        let phone = self.phone.clone();
        promise(Box::pin(async move {
            phone.connect().await.map_err(|e| js_error("auth_failed", &e.to_string()))?;
            loop {
                // In a follower tab this is the leader's status.
                match phone.status() {
                    ConnectionStatus::Connected => return Ok(JsValue::TRUE),
                    ConnectionStatus::Error | ConnectionStatus::Disconnected => {
                        let error = phone.snapshot().last_error;
                        return Err(match error {
                            Some(error) => js_error(error.code.as_str(), &error.message),
                            None => js_error("transport_closed", "the connection closed"),
                        });
                    }
                    _ => {
                        let _ = crate::driver::sleep_ms(50).await;
                    }
                }
            }
        }))
    }

    /// `true` when this tab holds the registration (always, without `multiTab`).
    #[wasm_bindgen(getter, js_name = isLeader)]
    pub fn is_leader(&self) -> bool {
        self.phone.is_tab_leader()
    }

    /// Hangs up every call and closes the connection; with `multiTab`, another tab may take over.
    pub fn disconnect(&self) {
        self.phone.disconnect();
    }

    /// Places a call; throws when the destination is refused at once. In a follower tab the
    /// leader places it and this returns `null` (the call arrives as `callAdded`).
    pub fn call(&self, destination: &str) -> Result<Option<Call>, JsValue> {
        if !self.phone.is_tab_leader() {
            self.phone.dial(destination);
            return Ok(None);
        }
        match self.phone.dial(destination).and_then(|h| self.phone.call(h)) {
            Some(info) => Ok(Some(Call::new(self.phone.clone(), info))),
            None => {
                let error = self.phone.snapshot().last_error;
                Err(match error {
                    Some(error) => js_error(error.code.as_str(), &error.message),
                    None => js_error("call_failed", "the call could not be placed"),
                })
            }
        }
    }

    /// Adds a listener for an event of `DialStackEventMap`.
    pub fn on(&self, name: &str, listener: js_sys::Function) {
        self.listeners.borrow_mut().push((name.to_owned(), listener));
    }

    /// Removes a listener added with `on`.
    pub fn off(&self, name: &str, listener: &js_sys::Function) {
        self.listeners.borrow_mut().retain(|(n, f)| !(n == name && f == listener));
    }

    /// `DialStackStatus` (in a follower tab, the leader's).
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> String {
        status_name(self.phone.status()).to_owned()
    }

    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.phone.user_id()
    }

    /// The live calls.
    pub fn calls(&self) -> Vec<Call> {
        self.phone.snapshot().calls.into_iter().map(|info| Call::new(self.phone.clone(), info)).collect()
    }

    #[wasm_bindgen(getter, js_name = activeCall)]
    pub fn active_call(&self) -> Option<Call> {
        let snapshot = self.phone.snapshot();
        let handle = snapshot.active?;
        let info = snapshot.calls.into_iter().find(|c| c.handle == handle)?;
        Some(Call::new(self.phone.clone(), info))
    }

    /// Retries audio output after `audio_playback_blocked`; call it from a click handler.
    #[wasm_bindgen(js_name = resumeAudio)]
    pub fn resume_audio(&self) {
        self.phone.resume_audio();
    }

    /// Resolves to `DialStackAudioDevice[]`.
    #[wasm_bindgen(js_name = audioDevices)]
    pub fn audio_devices(&self) -> js_sys::Promise {
        let phone = self.phone.clone();
        promise(Box::pin(async move {
            let list: Vec<Value> = phone.audio_devices().await.iter().map(device_json).collect();
            Ok(to_js(&Value::Array(list)))
        }))
    }

    /// Chooses the microphone (`null`: system default); live calls switch at once.
    #[wasm_bindgen(js_name = setInputDevice)]
    pub fn set_input_device(&self, device_id: Option<String>) {
        self.phone.set_input_device(device_id.filter(|d| !d.is_empty()));
    }

    /// Chooses the speaker (`null`: system default) where the browser supports it.
    #[wasm_bindgen(js_name = setOutputDevice)]
    pub fn set_output_device(&self, device_id: Option<String>) {
        self.phone.set_output_device(device_id.filter(|d| !d.is_empty()));
    }

    /// Test hook: closes the signalling socket from the page, as a network drop would.
    #[wasm_bindgen(js_name = debugDropSocket)]
    pub fn debug_drop_socket(&self) -> bool {
        self.phone.debug_drop_socket()
    }
}

/// One call. Methods act on the live call; getters read its latest state (or the last one seen,
/// once it ended).
#[wasm_bindgen]
pub struct Call {
    phone: PhoneHandle,
    handle: CallHandle,
    last_seen: CallInfo,
}

impl Call {
    fn new(phone: PhoneHandle, info: CallInfo) -> Call {
        Call { phone, handle: info.handle, last_seen: info }
    }

    /// In a follower tab the call lives in the leader tab; the phone reads and commands it there.
    fn current(&self) -> CallInfo {
        self.phone.call(self.handle).unwrap_or_else(|| self.last_seen.clone())
    }

    fn send(&self, command: Command) {
        self.phone.command(command);
    }
}

#[wasm_bindgen]
impl Call {
    /// The phone's stable handle of this call.
    #[wasm_bindgen(getter)]
    pub fn handle(&self) -> f64 {
        self.handle.0 as f64
    }

    /// The server's call id (`null` for an outbound call not yet confirmed).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> Option<String> {
        self.current().call_id
    }

    /// `DialStackCallState`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        phase_name(self.current().phase).to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn direction(&self) -> String {
        match self.current().direction {
            Direction::Inbound => "inbound".to_owned(),
            Direction::Outbound => "outbound".to_owned(),
        }
    }

    #[wasm_bindgen(getter, js_name = remoteNumber)]
    pub fn remote_number(&self) -> String {
        self.current().remote_number
    }

    #[wasm_bindgen(getter, js_name = remoteName)]
    pub fn remote_name(&self) -> Option<String> {
        self.current().remote_name
    }

    #[wasm_bindgen(getter)]
    pub fn muted(&self) -> bool {
        self.current().muted
    }

    /// A `DialStackCallInfo` snapshot.
    pub fn info(&self) -> JsValue {
        to_js(&call_info_json(&self.current()))
    }

    /// `DialStackQualityEvent` of the last second, or `null`.
    pub fn quality(&self) -> JsValue {
        let info = self.current();
        self.phone
            .quality(self.handle)
            .map_or(JsValue::NULL, |q| to_js(&quality_json(self.handle, info.call_id, &q)))
    }

    pub fn answer(&self) {
        self.send(Command::Answer { call: self.handle });
    }

    /// Declines a ringing inbound call; `reason` is `"decline"` (default) or `"busy"`.
    pub fn reject(&self, reason: Option<String>) {
        let reason =
            if reason.as_deref() == Some("busy") { RejectReason::Busy } else { RejectReason::Decline };
        self.send(Command::Reject { call: self.handle, reason });
    }

    pub fn hangup(&self) {
        self.send(Command::Hangup { call: self.handle });
    }

    pub fn hold(&self) {
        self.send(Command::Hold { call: self.handle });
    }

    pub fn resume(&self) {
        self.send(Command::Resume { call: self.handle });
    }

    pub fn mute(&self) {
        self.send(Command::SetMuted { call: self.handle, muted: true });
    }

    pub fn unmute(&self) {
        self.send(Command::SetMuted { call: self.handle, muted: false });
    }

    /// RFC 4733 digits (`0-9 * # A-D`), 100 ms each with 70 ms gaps.
    #[wasm_bindgen(js_name = sendDtmf)]
    pub fn send_dtmf(&self, digits: &str) {
        self.send(Command::SendDtmf { call: self.handle, digits: digits.to_owned() });
    }

    /// Blind transfer.
    pub fn transfer(&self, destination: &str) {
        self.send(Command::BlindTransfer { call: self.handle, destination: destination.to_owned() });
    }

    /// Starts an attended transfer: holds this call and calls `destination` (the consult leg).
    #[wasm_bindgen(js_name = attendedTransfer)]
    pub fn attended_transfer(&self, destination: &str) {
        self.send(Command::ConsultTransfer { call: self.handle, destination: destination.to_owned() });
    }

    /// Joins this call and its consult leg.
    #[wasm_bindgen(js_name = completeTransfer)]
    pub fn complete_transfer(&self) {
        self.send(Command::CompleteTransfer { call: self.handle });
    }

    /// Drops the consult leg and resumes the original call.
    #[wasm_bindgen(js_name = cancelTransfer)]
    pub fn cancel_transfer(&self) {
        self.send(Command::CancelTransfer { call: self.handle });
    }
}
