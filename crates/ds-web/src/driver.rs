//! The driver that runs a [`ds_core::Phone`] in the browser: one timer re-armed from
//! `poll_timeout()`, the signalling WebSocket, the ICE-server fetch, token fetches, wake probes,
//! and the media work of `media.rs`. It decides nothing the core could decide.
//!
//! Re-entrancy: every input goes through [`Inner::submit`], which queues it and, unless a drain is
//! already running, feeds the core and carries out its outputs in order. A listener that issues a
//! command from inside an event callback therefore never interleaves its frames with the ones the
//! core queued before.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use ds_core::view_model::ConnectionStatus;
use ds_core::{
    CallHandle, CallInfo, Command, Input, MediaEvent, Output, Phone, PhoneConfig, PhoneError, PhoneErrorCode,
    PhoneEvent, RandomSource, SocketId, TransportEvent, TransportRequest,
};
use ds_protocol::rest::{IceServer, IceServersResponse};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, CloseEvent, Event, EventTarget, MessageEvent, WebSocket};

use crate::media::{AudioDevice, Media};
use crate::quality::QualityReport;
use crate::tokens::{TokenError, TokenProvider};
use crate::vec_map::CallMap;

/// How the host sets up the phone.
#[derive(Debug, Clone)]
pub struct PhoneOptions {
    /// API base URL, e.g. `http://127.0.0.1:8787` (default: the platform).
    pub api_base: String,
    /// Explicit signalling base (§4.1); derived from `api_base` when `None`.
    pub signalling_base: Option<String>,
    /// Where user tokens come from.
    pub tokens: TokenProvider,
    /// Reconnect automatically after a non-terminal loss.
    pub auto_reconnect: bool,
    /// Share one registration between this user's tabs of this origin (`tab_phone.rs`).
    pub multi_tab: bool,
}

impl PhoneOptions {
    pub fn new(api_base: impl Into<String>, tokens: TokenProvider) -> Self {
        PhoneOptions {
            api_base: api_base.into(),
            signalling_base: None,
            tokens,
            auto_reconnect: true,
            multi_tab: false,
        }
    }
}

/// What subscribers hear: the core's events plus what only the browser knows.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverEvent {
    Phone(PhoneEvent),
    /// Once a second per connected call (§ "Live call quality").
    Quality {
        call: CallHandle,
        report: QualityReport,
    },
    /// The audio devices changed (plugged, unplugged, permission granted).
    DevicesChanged(Vec<AudioDevice>),
    /// Multi-tab: this tab was elected leader (it connects) or follows another tab.
    TabRole {
        leader: bool,
    },
    /// Multi-tab, in a follower: the leader's state arrived without an event (on joining);
    /// read the snapshot again.
    LeaderState,
}

/// Everything the UI needs to draw, at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneSnapshot {
    pub status: ConnectionStatus,
    pub user_id: Option<String>,
    pub calls: Vec<CallInfo>,
    pub active: Option<CallHandle>,
    pub quality: CallMap<QualityReport>,
    pub last_error: Option<PhoneError>,
    /// Autoplay policy blocked the remote audio; call [`PhoneHandle::resume_audio`] from a click.
    pub audio_blocked: bool,
}

/// Milliseconds since the Unix epoch, the clock the core wants.
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Randomness for back-off jitter from `Math.random()`.
struct BrowserRandom;

impl RandomSource for BrowserRandom {
    fn next_u32(&mut self) -> u32 {
        (js_sys::Math::random() * 4_294_967_296.0) as u32
    }
}

pub(crate) enum Work {
    Input(Input),
    FrameText(String),
}

struct Socket {
    id: SocketId,
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    // Every listener takes a plain `Event` (cast inside): each distinct closure signature costs its
    // own wasm-bindgen shims in the bundle (size work).
    _on_message: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    fn detach_and_close(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
        // We may be running inside one of this socket's callbacks: drop its closures later.
        drop_later(Box::new(self));
    }
}

struct Timer {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

type Listener = Rc<dyn Fn(&DriverEvent)>;
type EventClosure = Closure<dyn FnMut(Event)>;

pub(crate) struct Inner {
    pub(crate) phone: RefCell<Phone>,
    /// A plain `Vec` for this short queue: `VecDeque` code per element type costs bundle bytes.
    pending: RefCell<Vec<Work>>,
    busy: Cell<bool>,
    timer: RefCell<Option<Timer>>,
    socket: RefCell<Option<Socket>>,
    pub(crate) media: Media,
    pub(crate) ice_servers: RefCell<Vec<IceServer>>,
    tokens: TokenProvider,
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_listener: Cell<u64>,
    wake_listeners: RefCell<Vec<(EventTarget, &'static str, EventClosure)>>,
    pub(crate) quality: RefCell<CallMap<QualityReport>>,
    last_error: RefCell<Option<PhoneError>>,
    multi_tab: bool,
    /// The tab group, once a multi-tab phone joined it.
    pub(crate) tabs: RefCell<Option<Rc<crate::tabs::TabCoordinator>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.detach_and_close();
        }
        if let (Some(window), Some(timer)) = (web_sys::window(), self.timer.borrow_mut().take()) {
            window.clear_timeout_with_handle(timer.id);
        }
        for (target, name, closure) in self.wake_listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
        self.media.shutdown();
    }
}

impl Inner {
    /// Queues one input and, unless a drain is running, drains the core.
    pub(crate) fn submit(self: &Rc<Self>, work: Work) {
        self.pending.borrow_mut().push(work);
        if self.busy.get() {
            return;
        }
        self.busy.set(true);
        loop {
            let Some(work) = pop_front(&mut self.pending.borrow_mut()) else { break };
            let outputs = {
                let mut phone = self.phone.borrow_mut();
                let now = now_ms();
                match work {
                    Work::Input(input) => phone.handle_input(now, input),
                    Work::FrameText(text) => {
                        phone.handle_frame_text(now, &text);
                    }
                }
                let mut outputs = Vec::new();
                while let Some(output) = phone.poll_output() {
                    outputs.push(output);
                }
                outputs
            };
            for output in outputs {
                self.execute(output);
            }
        }
        self.busy.set(false);
        self.arm_timer();
    }

    pub(crate) fn command(self: &Rc<Self>, command: Command) {
        self.submit(Work::Input(Input::Command(command)));
    }

    pub(crate) fn media_event(self: &Rc<Self>, event: MediaEvent) {
        self.submit(Work::Input(Input::Media(event)));
    }

    fn transport_event(self: &Rc<Self>, event: TransportEvent) {
        self.submit(Work::Input(Input::Transport(event)));
    }

    fn execute(self: &Rc<Self>, output: Output) {
        match output {
            Output::SendFrame(message) => {
                if let Some(socket) = self.socket.borrow().as_ref() {
                    let _ = socket.ws.send_with_str(&message.to_json());
                }
            }
            Output::Transport(request) => self.transport_request(request),
            Output::Media(request) => self.media_request(request),
            Output::Event(event) => {
                let event = DriverEvent::Phone(event);
                self.note_event(&event);
                self.emit(event);
            }
            Output::NeedToken => {
                let weak = Rc::downgrade(self);
                let tokens = self.tokens.clone();
                spawn_local(async move {
                    let result = tokens.fetch().await;
                    let Some(inner) = weak.upgrade() else { return };
                    match result {
                        Ok(token) => inner.command(Command::ProvideToken { token }),
                        // The core times the request out itself and carries on with the old token.
                        Err(error) => inner.emit_error(PhoneErrorCode::AuthFailed, error.to_string()),
                    }
                });
            }
        }
    }

    /// Reports an error only the driver can see.
    pub(crate) fn emit_error(self: &Rc<Self>, code: PhoneErrorCode, message: String) {
        let error = PhoneError::new(code, message);
        *self.last_error.borrow_mut() = Some(error.clone());
        self.emit(DriverEvent::Phone(PhoneEvent::Error(error)));
    }

    /// Keeps what the snapshot reports of an event: the last error, the calls' quality.
    pub(crate) fn note_event(&self, event: &DriverEvent) {
        match event {
            DriverEvent::Phone(PhoneEvent::Error(error)) => {
                *self.last_error.borrow_mut() = Some(error.clone())
            }
            DriverEvent::Phone(PhoneEvent::CallRemoved(call)) => {
                self.quality.borrow_mut().remove(&call.handle);
            }
            DriverEvent::Quality { call, report } => {
                self.quality.borrow_mut().insert(*call, *report);
            }
            _ => {}
        }
    }

    /// Tells every subscriber, and (in a leader tab) the other tabs.
    pub(crate) fn emit(&self, event: DriverEvent) {
        // Clone the list first: a listener may subscribe or unsubscribe while we iterate.
        let listeners: Vec<Listener> = self.listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
        for listener in listeners {
            listener(&event);
        }
        self.publish_to_tabs(Some(&event));
    }

    fn arm_timer(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else { return };
        if let Some(timer) = self.timer.borrow_mut().take() {
            window.clear_timeout_with_handle(timer.id);
            // This may run inside the timer's own callback: drop the closure later.
            drop_later(Box::new(timer));
        }
        let Some(deadline) = self.phone.borrow().poll_timeout() else { return };
        let delay = deadline.saturating_sub(now_ms()).min(i32::MAX as u64) as i32;
        let weak = Rc::downgrade(self);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.submit(Work::Input(Input::Timeout));
            }
        });
        if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            // A timer that fires a millisecond late only costs a millisecond; one that fires
            // early would re-arm itself in a loop.
            delay.saturating_add(1),
        ) {
            *self.timer.borrow_mut() = Some(Timer { id, _callback: callback });
        }
    }

    fn transport_request(self: &Rc<Self>, request: TransportRequest) {
        match request {
            TransportRequest::FetchIceServers { url, token } => {
                let weak = Rc::downgrade(self);
                spawn_local(async move {
                    let result = fetch_ice_servers(&url, &token).await;
                    let Some(inner) = weak.upgrade() else { return };
                    match result {
                        Ok(servers) => {
                            *inner.ice_servers.borrow_mut() = servers;
                            inner.transport_event(TransportEvent::IceServersFetched);
                        }
                        Err(reason) => inner.transport_event(TransportEvent::IceServersFailed { reason }),
                    }
                });
            }
            TransportRequest::OpenSocket { socket, url, protocols } => {
                self.open_socket(socket, &url, &protocols)
            }
            TransportRequest::CloseSocket { socket } => {
                let current = self.socket.borrow().as_ref().map(|s| s.id);
                if current == Some(socket)
                    && let Some(socket) = self.socket.borrow_mut().take()
                {
                    socket.detach_and_close();
                }
            }
        }
    }

    fn open_socket(self: &Rc<Self>, id: SocketId, url: &str, protocols: &[String]) {
        if let Some(old) = self.socket.borrow_mut().take() {
            old.detach_and_close();
        }
        let list = js_sys::Array::new();
        for protocol in protocols {
            list.push(&JsValue::from_str(protocol));
        }
        let ws = match WebSocket::new_with_str_sequence(url, &list) {
            Ok(ws) => ws,
            Err(error) => {
                // Report asynchronously: the core is still draining the request that asked.
                let weak = Rc::downgrade(self);
                let message = crate::tokens::js_text(&error);
                spawn_local(async move {
                    if let Some(inner) = weak.upgrade() {
                        inner.transport_event(TransportEvent::SocketError { socket: id, message });
                    }
                });
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = Rc::downgrade(self);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.transport_event(TransportEvent::SocketOpened { socket: id });
            }
        });
        let weak = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let event: MessageEvent = event.unchecked_into();
            if let (Some(inner), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                inner.submit(Work::FrameText(text));
            }
        });
        let weak = Rc::downgrade(self);
        let on_close = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let event: CloseEvent = event.unchecked_into();
            if let Some(inner) = weak.upgrade() {
                inner.forget_socket(id);
                inner.transport_event(TransportEvent::SocketClosed {
                    socket: id,
                    code: Some(event.code()),
                    reason: crate::media::read_string(&event, "reason").unwrap_or_default(),
                });
            }
        });
        // `error` is always followed by `close`, which carries the code; report only the close.
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {});
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *self.socket.borrow_mut() = Some(Socket {
            id,
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        });
    }

    fn forget_socket(&self, id: SocketId) {
        let mut socket = self.socket.borrow_mut();
        if socket.as_ref().is_some_and(|s| s.id == id) {
            // Drop the closures later: we are running inside one of them.
            if let Some(old) = socket.take() {
                drop_later(Box::new(old));
            }
        }
    }

    fn install_wake_probes(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else { return };
        let document = window.document();
        let mut targets: Vec<(EventTarget, &'static str)> =
            ["online", "pageshow", "focus"].into_iter().map(|name| (window.clone().into(), name)).collect();
        if let Some(document) = document {
            targets.push((document.into(), "visibilitychange"));
        }
        for (target, name) in targets {
            let weak = Rc::downgrade(self);
            let closure = Closure::<dyn FnMut(Event)>::new(move |_| {
                let visible = web_sys::window().and_then(|w| w.document()).is_none_or(|d| {
                    crate::media::read_string(&d, "visibilityState").as_deref() == Some("visible")
                });
                if let (Some(inner), true) = (weak.upgrade(), visible) {
                    inner.command(Command::Wake);
                }
            });
            if target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref()).is_ok() {
                self.wake_listeners.borrow_mut().push((target, name, closure));
            }
        }
    }
}

async fn fetch_ice_servers(url: &str, token: &str) -> Result<Vec<IceServer>, String> {
    let response = crate::http::fetch("GET", url, Some(&format!("Bearer {token}")), None)
        .await
        .map_err(|e| format!("the ICE-server request failed: {e}"))?;
    if !response.ok() {
        let body = response.text.unwrap_or_default();
        let detail = crate::rest::error_message(&body).unwrap_or_default();
        return Err(format!("the ICE-server request answered {} {detail}", response.status));
    }
    let not_understood = |e: String| format!("the ICE-server reply was not understood: {e}");
    let text = response.text.map_err(not_understood)?;
    let value = ds_protocol::json::Json::parse(&text).map_err(|e| not_understood(e.to_string()))?;
    let body = IceServersResponse::from_json(&value).map_err(not_understood)?;
    Ok(body.ice_servers)
}

/// The phone as the UI and the JS API use it. Cheap to clone; all clones drive one phone.
#[derive(Clone)]
pub struct PhoneHandle {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for PhoneHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneHandle").field("status", &self.status()).finish_non_exhaustive()
    }
}

/// A handle that does not keep the phone alive (for listeners stored inside the phone).
#[derive(Clone)]
pub struct WeakPhoneHandle {
    inner: Weak<Inner>,
}

impl std::fmt::Debug for WeakPhoneHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakPhoneHandle").finish_non_exhaustive()
    }
}

impl WeakPhoneHandle {
    pub fn upgrade(&self) -> Option<PhoneHandle> {
        self.inner.upgrade().map(|inner| PhoneHandle { inner })
    }
}

/// Keeps a subscription alive; dropping it unsubscribes.
pub struct Subscription {
    inner: Weak<Inner>,
    id: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.listeners.borrow_mut().retain(|(id, _)| *id != self.id);
        }
    }
}

impl PhoneHandle {
    /// A phone that does nothing until [`PhoneHandle::connect`].
    pub fn new(options: PhoneOptions) -> PhoneHandle {
        let config = PhoneConfig {
            api_base: options.api_base.clone(),
            signalling_base: options.signalling_base.clone(),
            auto_reconnect: options.auto_reconnect,
            ..PhoneConfig::default()
        };
        let inner = Rc::new(Inner {
            phone: RefCell::new(Phone::new(config, Box::new(BrowserRandom))),
            pending: RefCell::new(Vec::new()),
            busy: Cell::new(false),
            timer: RefCell::new(None),
            socket: RefCell::new(None),
            media: Media::new(),
            ice_servers: RefCell::new(Vec::new()),
            tokens: options.tokens,
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(1),
            wake_listeners: RefCell::new(Vec::new()),
            quality: RefCell::new(CallMap::new()),
            last_error: RefCell::new(None),
            multi_tab: options.multi_tab,
            tabs: RefCell::new(None),
        });
        inner.install_wake_probes();
        inner.install_device_watch();
        PhoneHandle { inner }
    }

    /// Fetches a token from the provider and starts connecting. Progress arrives as
    /// `ConnectionChanged` events. With multi-tab, joins the tab group first and connects only
    /// when this tab leads (a follower shows the leader's connection).
    pub fn connect(&self) -> crate::LocalBoxFuture<'_, Result<(), TokenError>> {
        if self.inner.multi_tab {
            return Box::pin(self.join_tabs());
        }
        self.connect_here()
    }

    /// Connects this tab's own core.
    pub(crate) fn connect_here(&self) -> crate::LocalBoxFuture<'_, Result<(), TokenError>> {
        Box::pin(async move {
            let token = match self.inner.tokens.fetch().await {
                Ok(token) => token,
                Err(error) => {
                    self.inner.emit_error(PhoneErrorCode::AuthFailed, error.to_string());
                    return Err(error);
                }
            };
            crate::emergency::present_stored(self, &token);
            self.inner.command(Command::Connect { token });
            Ok(())
        })
    }

    /// Hangs up every call and closes the connection; with multi-tab, also leaves the tab group
    /// (another tab may take over).
    pub fn disconnect(&self) {
        self.inner.command(Command::Disconnect);
        self.leave_tabs();
    }

    /// Any core command (dial, answer, hold, transfer…). In a follower tab, call commands go to
    /// the leader tab.
    pub fn command(&self, command: Command) {
        if let Some(tabs) = self.follower_tabs()
            && tabs.send_command(&command)
        {
            return;
        }
        self.inner.command(command);
    }

    /// Places a call; returns its handle, or `None` when the core refused it at once (the reason
    /// arrives as an `Error` event) or when this tab follows another (the leader places it and the
    /// call arrives as `CallAdded`).
    pub fn dial(&self, destination: &str) -> Option<CallHandle> {
        if let Some(tabs) = self.follower_tabs() {
            tabs.send_command(&Command::Dial { destination: destination.to_owned() });
            return None;
        }
        let before = self.inner.phone.borrow().calls().iter().map(|c| c.handle).max();
        self.inner.command(Command::Dial { destination: destination.to_owned() });
        let calls = self.inner.phone.borrow().calls();
        calls
            .iter()
            .filter(|c| c.direction == ds_core::Direction::Outbound && Some(c.handle) > before)
            .map(|c| c.handle)
            .max()
    }

    /// Calls `listener` for every event until the returned [`Subscription`] is dropped.
    pub fn subscribe(&self, listener: impl Fn(&DriverEvent) + 'static) -> Subscription {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id + 1);
        self.inner.listeners.borrow_mut().push((id, Rc::new(listener)));
        Subscription { inner: Rc::downgrade(&self.inner), id }
    }

    /// A handle that does not keep the phone alive.
    pub fn downgrade(&self) -> WeakPhoneHandle {
        WeakPhoneHandle { inner: Rc::downgrade(&self.inner) }
    }

    /// The host's token provider (the multi-tab coordinator reads the user from a token).
    pub fn token_provider(&self) -> TokenProvider {
        self.inner.tokens.clone()
    }

    /// The connection status (in a follower tab, the leader's).
    pub fn status(&self) -> ConnectionStatus {
        match self.mirror() {
            Some(mirror) => mirror.status,
            None => self.inner.phone.borrow().connection_status(),
        }
    }

    pub fn call(&self, handle: CallHandle) -> Option<CallInfo> {
        match self.mirror() {
            Some(mirror) => mirror.calls.into_iter().find(|call| call.handle == handle),
            None => self.inner.phone.borrow().call(handle).cloned(),
        }
    }

    /// The signed-in user (in a follower tab, the tab group's user), without copying a snapshot.
    pub fn user_id(&self) -> Option<String> {
        match self.follower_tabs() {
            Some(tabs) => Some(tabs.user_id().to_owned()),
            None => self.inner.phone.borrow().user_id(),
        }
    }

    /// Everything the UI draws (in a follower tab: the leader's calls and status).
    pub fn snapshot(&self) -> PhoneSnapshot {
        let quality = self.inner.quality.borrow().clone();
        let last_error = self.inner.last_error.borrow().clone();
        if let Some(tabs) = self.follower_tabs() {
            let mirror = tabs.mirror();
            return PhoneSnapshot {
                status: mirror.status,
                user_id: Some(tabs.user_id().to_owned()),
                calls: mirror.calls,
                active: mirror.active,
                quality,
                last_error,
                audio_blocked: false,
            };
        }
        let phone = self.inner.phone.borrow();
        PhoneSnapshot {
            status: phone.connection_status(),
            user_id: phone.user_id(),
            calls: phone.calls(),
            active: phone.active_call(),
            quality,
            last_error,
            audio_blocked: self.inner.media.playback_blocked(),
        }
    }

    /// Latest quality report of a call, if one was measured.
    pub fn quality(&self, call: CallHandle) -> Option<QualityReport> {
        self.inner.quality.borrow().get(&call).copied()
    }

    /// Retries audio output after an autoplay block; call it from a user gesture.
    pub fn resume_audio(&self) {
        self.inner.resume_audio();
    }

    /// The microphones and speakers the browser lists.
    pub fn audio_devices(&self) -> crate::LocalBoxFuture<'static, Vec<AudioDevice>> {
        Box::pin(crate::media::enumerate_audio_devices())
    }

    /// Chooses the microphone (`None`: system default), remembers it in localStorage, and moves
    /// live calls to it.
    pub fn set_input_device(&self, device_id: Option<String>) {
        self.inner.set_input_device(device_id);
    }

    /// Chooses the speaker (`None`: system default), remembers it, applies it where supported.
    pub fn set_output_device(&self, device_id: Option<String>) {
        self.inner.set_output_device(device_id);
    }

    pub fn input_device(&self) -> Option<String> {
        self.inner.media.input_device()
    }

    pub fn output_device(&self) -> Option<String> {
        self.inner.media.output_device()
    }

    /// Test hook, named for what it does: closes the signalling socket from the page side exactly
    /// as a network drop would look to the phone (the browser reports the close), so the phone's
    /// own reconnect path runs.
    pub fn debug_drop_socket(&self) -> bool {
        match self.inner.socket.borrow().as_ref() {
            Some(socket) => socket.ws.close().is_ok(),
            None => false,
        }
    }

    /// The label of the microphone a call is sending from (`None` before media is set up).
    pub fn sending_microphone(&self, call: CallHandle) -> Option<String> {
        self.inner.media.sending_track_label(call)
    }

    /// Test hook: the peer connection's state of a call (`connected`, `failed`, …).
    pub fn debug_peer_state(&self, call: CallHandle) -> Option<String> {
        self.inner.media.peer_state(call)
    }

    /// Test hook: how many calls the media layer still keeps anything for (peer connections,
    /// setups in flight, ringback). Zero once every call has ended: a long-lived page must not
    /// accumulate per-call state (benchmark figure 6).
    pub fn debug_media_calls(&self) -> usize {
        self.inner.media.calls_kept()
    }
}

/// The first element of a short queue.
fn pop_front<T>(queue: &mut Vec<T>) -> Option<T> {
    (!queue.is_empty()).then(|| queue.remove(0))
}

/// Drops `value` on a later turn of the event loop: a closure must not be freed while it runs.
/// One boxed helper, so the deferred drops share one future (size work).
pub(crate) fn drop_later(value: Box<dyn std::any::Any>) {
    spawn_local(async move { drop(value) });
}

/// Resolves (always `Ok`) after `ms` milliseconds: a `setTimeout` promise. A plain `JsFuture`,
/// not an `async fn`, so it has no state machine of its own (size work).
pub(crate) fn sleep_ms(ms: i32) -> wasm_bindgen_futures::JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}
