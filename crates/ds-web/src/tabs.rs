//! One registration across tabs: tabs of one origin and user elect a leader with the Web Locks
//! API (`navigator.locks.request`, held until the tab closes) and talk over a
//! `BroadcastChannel`. Only the leader holds the socket and media; followers mirror its state and
//! send their commands to it. When the leader's tab closes its lock is released and the next
//! waiting tab becomes leader and connects. The phone's side of this is `tab_phone.rs`.
//!
//! Messages on the channel are JSON strings:
//! - follower → leader: `{"type":"hello"}`, `{"type":"reconnect"}` (the user asked a follower to
//!   reconnect), `{"type":"command","action","handle","arg"}` (call commands, `dial`, and
//!   `emergency` with the chosen E911 address id);
//! - leader → followers: `{"type":"state","status","calls","active","emergency"}` and the same
//!   with `"type":"event","name","payload"`: the event that changed the state ([`event_to_json`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ds_core::view_model::ConnectionStatus;
use ds_core::{CallHandle, CallInfo, Command, PhoneEvent};
use ds_protocol::json::Json as Value;
use ds_protocol::json_object;
use ds_protocol::signalling::{PresenceEntry, RejectReason};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, Event, MessageEvent};

use crate::call_json::{
    call_info_from_json, call_info_json, error_from_json, error_json, quality_from_json, quality_json,
    status_from_json, status_json,
};
use crate::driver::DriverEvent;

/// The channel and lock names for one user of one origin (the origin scopes both already).
pub fn channel_name(user_id: &str) -> String {
    format!("dialstack.phone.{user_id}")
}

/// A call command as it travels from a follower to the leader.
pub fn command_to_json(command: &Command) -> Option<Value> {
    let (action, handle, arg) = match command {
        Command::Answer { call } => ("answer", Some(call), None),
        Command::Reject { call, reason } => ("reject", Some(call), Some(reason.as_str().to_owned())),
        Command::Hangup { call } => ("hangup", Some(call), None),
        Command::Hold { call } => ("hold", Some(call), None),
        Command::Resume { call } => ("resume", Some(call), None),
        Command::SetMuted { call, muted: true } => ("mute", Some(call), None),
        Command::SetMuted { call, muted: false } => ("unmute", Some(call), None),
        Command::SendDtmf { call, digits } => ("dtmf", Some(call), Some(digits.clone())),
        Command::BlindTransfer { call, destination } => ("transfer", Some(call), Some(destination.clone())),
        Command::ConsultTransfer { call, destination } => ("consult", Some(call), Some(destination.clone())),
        Command::CompleteTransfer { call } => ("complete", Some(call), None),
        Command::CancelTransfer { call } => ("cancel", Some(call), None),
        Command::Dial { destination } => ("dial", None, Some(destination.clone())),
        // The E911 choice of a follower (`useEmergencyAddress`); `arg` null forgets it.
        Command::SetEmergencyAddress { id } => ("emergency", None, id.clone()),
        _ => return None,
    };
    Some(json_object!( "type": "command", "action": action, "handle": handle.map(|h| h.0), "arg": arg ))
}

/// The leader's reading of a follower's command message.
pub fn command_from_json(message: &Value) -> Option<Command> {
    let call = message["handle"].as_u64().map(CallHandle);
    let arg = message["arg"].as_str().map(str::to_owned);
    Some(match message["action"].as_str()? {
        "answer" => Command::Answer { call: call? },
        "reject" => Command::Reject {
            call: call?,
            reason: arg.map_or(RejectReason::Decline, |r| RejectReason::from_wire(&r)),
        },
        "hangup" => Command::Hangup { call: call? },
        "hold" => Command::Hold { call: call? },
        "resume" => Command::Resume { call: call? },
        "mute" => Command::SetMuted { call: call?, muted: true },
        "unmute" => Command::SetMuted { call: call?, muted: false },
        "dtmf" => Command::SendDtmf { call: call?, digits: arg? },
        "transfer" => Command::BlindTransfer { call: call?, destination: arg? },
        "consult" => Command::ConsultTransfer { call: call?, destination: arg? },
        "complete" => Command::CompleteTransfer { call: call? },
        "cancel" => Command::CancelTransfer { call: call? },
        "dial" => Command::Dial { destination: arg? },
        "emergency" => Command::SetEmergencyAddress { id: arg },
        _ => return None,
    })
}

/// The leader's state as followers last heard it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub status: ConnectionStatus,
    pub calls: Vec<CallInfo>,
    pub active: Option<CallHandle>,
    /// The leader's E911 session: the presented address id and whether `network.changed` came.
    pub emergency: (Option<String>, bool),
}

impl Default for Mirror {
    /// What a follower shows before the leader answers: connecting, no calls.
    fn default() -> Self {
        Mirror {
            status: ConnectionStatus::Connecting,
            calls: Vec::new(),
            active: None,
            emergency: (None, false),
        }
    }
}

impl Mirror {
    /// The state members of a leader's message.
    fn to_json(&self, kind: &str) -> Value {
        let (presented, changed) = &self.emergency;
        json_object!(
            "type": kind,
            "status": status_json(self.status),
            "calls": Value::Array(self.calls.iter().map(call_info_json).collect()),
            "active": self.active.map(|h| h.0),
            "emergency": json_object!( "presented": presented, "networkChanged": *changed ),
        )
    }

    fn from_json(message: &Value) -> Mirror {
        Mirror {
            status: status_from_json(&message["status"]),
            calls: message["calls"]
                .as_array()
                .map_or_else(Vec::new, |calls| calls.iter().filter_map(call_info_from_json).collect()),
            active: message["active"].as_u64().map(CallHandle),
            emergency: (
                message["emergency"]["presented"].as_str().map(str::to_owned),
                message["emergency"]["networkChanged"].as_bool().unwrap_or(false),
            ),
        }
    }
}

/// The leader's event as it travels to followers; `None` for what stays in one tab (its audio
/// devices, its role).
pub fn event_to_json(event: &DriverEvent) -> Option<(&'static str, Value)> {
    Some(match event {
        DriverEvent::Phone(event) => match event {
            PhoneEvent::ConnectionChanged(status) => ("status", status_json(*status)),
            PhoneEvent::Authenticated { user_id, account_id } => {
                ("connected", json_object!( "userId": user_id, "accountId": account_id ))
            }
            PhoneEvent::CallAdded(info) => ("callAdded", call_info_json(info)),
            PhoneEvent::CallUpdated(info) => ("callUpdated", call_info_json(info)),
            PhoneEvent::CallRemoved(info) => ("callEnded", call_info_json(info)),
            PhoneEvent::ActiveCallChanged(handle) => {
                ("activeCall", json_object!( "handle": handle.map(|h| h.0) ))
            }
            PhoneEvent::Error(error) => ("error", error_json(error)),
            PhoneEvent::NetworkChanged => ("networkChanged", json_object!()),
            PhoneEvent::Presence(entries) => {
                ("presence", Value::Array(entries.iter().map(PresenceEntry::to_json).collect()))
            }
        },
        DriverEvent::Quality { call, report } => ("quality", quality_json(*call, None, report)),
        DriverEvent::DevicesChanged(_) | DriverEvent::TabRole { .. } | DriverEvent::LeaderState => {
            return None;
        }
    })
}

/// A follower's reading of the leader's event.
pub fn event_from_json(name: &str, payload: &Value) -> Option<DriverEvent> {
    let phone = match name {
        "status" => PhoneEvent::ConnectionChanged(status_from_json(payload)),
        "connected" => PhoneEvent::Authenticated {
            user_id: payload["userId"].as_str()?.to_owned(),
            account_id: payload["accountId"].as_str()?.to_owned(),
        },
        "callAdded" => PhoneEvent::CallAdded(call_info_from_json(payload)?),
        "callUpdated" => PhoneEvent::CallUpdated(call_info_from_json(payload)?),
        "callEnded" => PhoneEvent::CallRemoved(call_info_from_json(payload)?),
        "activeCall" => PhoneEvent::ActiveCallChanged(payload["handle"].as_u64().map(CallHandle)),
        "error" => PhoneEvent::Error(error_from_json(payload)?),
        "networkChanged" => PhoneEvent::NetworkChanged,
        "presence" => {
            PhoneEvent::Presence(payload.as_array()?.iter().filter_map(PresenceEntry::from_json).collect())
        }
        "quality" => {
            let (call, report) = quality_from_json(payload)?;
            return Some(DriverEvent::Quality { call, report });
        }
        _ => return None,
    };
    Some(DriverEvent::Phone(phone))
}

/// What the coordinator tells its owner.
pub enum TabNotice {
    /// This tab won the election: connect.
    BecameLeader,
    /// (Leader) a follower asked for this.
    Command(Command),
    /// (Leader) a follower joined: send it the state.
    Hello,
    /// (Leader) the user asked a follower to reconnect: connect again unless connected.
    Reconnect,
    /// (Follower) the leader's state changed; `event` is the event that changed it, if any.
    Mirrored { event: Option<(String, Value)> },
}

type Notify = Rc<dyn Fn(TabNotice)>;
type LockCallback = Closure<dyn FnMut(JsValue) -> js_sys::Promise>;

/// One tab's end of the election and the channel.
pub struct TabCoordinator {
    user_id: String,
    channel: BroadcastChannel,
    leader: Cell<bool>,
    mirror: RefCell<Mirror>,
    _on_message: Closure<dyn FnMut(Event)>,
    lock_callback: RefCell<Option<LockCallback>>,
    /// Resolving it releases the leader lock (on disconnect).
    release: Rc<RefCell<Option<js_sys::Function>>>,
}

impl std::fmt::Debug for TabCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TabCoordinator").field("leader", &self.leader.get()).finish_non_exhaustive()
    }
}

impl Drop for TabCoordinator {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
        if let Some(release) = self.release.borrow_mut().take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

impl TabCoordinator {
    /// Joins the group of `user_id`'s tabs and queues for leadership. Without Web Locks the tab
    /// leads at once (each tab then holds its own registration, as before).
    pub fn join(user_id: &str, notify: impl Fn(TabNotice) + 'static) -> Result<Rc<TabCoordinator>, JsValue> {
        let notify: Notify = Rc::new(notify);
        let name = channel_name(user_id);
        let channel = BroadcastChannel::new(&name)?;
        let this = Rc::new_cyclic(|weak: &std::rc::Weak<TabCoordinator>| {
            let weak = weak.clone();
            let notify = notify.clone();
            // A plain `Event` listener, the signature the other listeners share (size work).
            let on_message = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let event: MessageEvent = event.unchecked_into();
                let Some(this) = weak.upgrade() else { return };
                let Some(text) = event.data().as_string() else { return };
                let Ok(message) = Value::parse(&text) else { return };
                this.receive(&message, &notify);
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            TabCoordinator {
                user_id: user_id.to_owned(),
                channel,
                leader: Cell::new(false),
                mirror: RefCell::new(Mirror::default()),
                _on_message: on_message,
                lock_callback: RefCell::new(None),
                release: Rc::new(RefCell::new(None)),
            }
        });
        this.request_leadership(&name, notify);
        this.post(&json_object!( "type": "hello" ));
        Ok(this)
    }

    pub fn is_leader(&self) -> bool {
        self.leader.get()
    }

    /// The user whose tabs these are.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn mirror(&self) -> Mirror {
        self.mirror.borrow().clone()
    }

    fn post(&self, message: &Value) {
        let _ = self.channel.post_message(&JsValue::from_str(&message.to_string()));
    }

    /// (Follower) sends a command to the leader; `false` for commands that stay in this tab
    /// (connect, disconnect, tokens, wake-ups).
    pub fn send_command(&self, command: &Command) -> bool {
        let message = command_to_json(command);
        if let Some(message) = &message {
            self.post(message);
        }
        message.is_some()
    }

    /// (Follower) asks the leader to connect again (its connection ended).
    pub fn ask_reconnect(&self) {
        self.post(&json_object!( "type": "reconnect" ));
    }

    /// (Leader) publishes the state, after the event that changed it (`None`: a follower asked).
    pub fn publish(&self, event: Option<(&str, Value)>, state: &Mirror) {
        let mut message = state.to_json(if event.is_some() { "event" } else { "state" });
        if let (Some((name, payload)), Some(members)) = (event, message.as_object_mut()) {
            members.insert("name".to_owned(), Value::from(name));
            members.insert("payload".to_owned(), payload);
        }
        self.post(&message);
    }

    fn receive(&self, message: &Value, notify: &Notify) {
        match (message["type"].as_str(), self.leader.get()) {
            (Some("hello"), true) => notify(TabNotice::Hello),
            (Some("reconnect"), true) => notify(TabNotice::Reconnect),
            (Some("command"), true) => {
                if let Some(command) = command_from_json(message) {
                    notify(TabNotice::Command(command));
                }
            }
            (Some(kind @ ("state" | "event")), false) => {
                *self.mirror.borrow_mut() = Mirror::from_json(message);
                let event = (kind == "event").then(|| {
                    (message["name"].as_str().unwrap_or_default().to_owned(), message["payload"].clone())
                });
                notify(TabNotice::Mirrored { event });
            }
            _ => {}
        }
    }

    fn request_leadership(self: &Rc<Self>, name: &str, notify: Notify) {
        let navigator = web_sys::window().map(|w| w.navigator());
        let locks = navigator.and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("locks")).ok());
        let request = locks
            .as_ref()
            .filter(|l| !l.is_undefined())
            .and_then(|l| js_sys::Reflect::get(l, &JsValue::from_str("request")).ok())
            .and_then(|r| r.dyn_into::<js_sys::Function>().ok());
        let (Some(locks), Some(request)) = (locks, request) else {
            self.leader.set(true);
            notify(TabNotice::BecameLeader);
            return;
        };
        let weak = Rc::downgrade(self);
        let release = self.release.clone();
        let granted = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock: JsValue| {
            // Hold the lock until the tab closes or the phone disconnects.
            let held = js_sys::Promise::new(&mut |resolve, _| {
                *release.borrow_mut() = Some(resolve);
            });
            if let Some(this) = weak.upgrade() {
                this.leader.set(true);
                notify(TabNotice::BecameLeader);
            }
            held
        });
        let _ = request.call2(&locks, &JsValue::from_str(&format!("{name}.leader")), granted.as_ref());
        *self.lock_callback.borrow_mut() = Some(granted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_survive_the_trip_between_tabs() {
        let commands = [
            Command::Answer { call: CallHandle(3) },
            Command::Reject { call: CallHandle(3), reason: RejectReason::Busy },
            Command::SetMuted { call: CallHandle(1), muted: true },
            Command::SendDtmf { call: CallHandle(1), digits: "12#".into() },
            Command::ConsultTransfer { call: CallHandle(2), destination: "102".into() },
            Command::Dial { destination: "+15005550001".into() },
            Command::SetEmergencyAddress { id: Some("emerg_1".into()) },
            Command::SetEmergencyAddress { id: None },
        ];
        for command in commands {
            let message = command_to_json(&command).expect("call commands travel");
            assert_eq!(command_from_json(&message), Some(command));
        }
        assert_eq!(command_to_json(&Command::Disconnect), None, "only the leader's own tab disconnects it");
    }

    fn a_call() -> CallInfo {
        CallInfo {
            handle: CallHandle(9),
            call_id: Some("call_x".into()),
            direction: ds_core::Direction::Inbound,
            phase: ds_core::CallPhase::Ringing,
            remote_number: "+16195550177".into(),
            remote_name: Some("JANE ROE".into()),
            local_number: Some("+14155550100".into()),
            held_by: None,
            muted: false,
            answered_at_ms: None,
            answering: true,
            ending: false,
            ringback: false,
            early_media: false,
            consult_for: None,
            consulted_by: Some(CallHandle(10)),
            restored: false,
            end_reason: None,
        }
    }

    #[test]
    fn the_leaders_events_survive_the_trip_between_tabs() {
        use ds_core::{PhoneError, PhoneErrorCode};
        use ds_protocol::signalling::PresenceStatus;
        let events = [
            PhoneEvent::ConnectionChanged(ConnectionStatus::Reconnecting { attempt: 2 }),
            PhoneEvent::ConnectionChanged(ConnectionStatus::Connected),
            PhoneEvent::Authenticated { user_id: "usr_1".into(), account_id: "acct_1".into() },
            PhoneEvent::CallAdded(a_call()),
            PhoneEvent::CallUpdated(a_call()),
            PhoneEvent::CallRemoved(a_call()),
            PhoneEvent::ActiveCallChanged(Some(CallHandle(9))),
            PhoneEvent::ActiveCallChanged(None),
            PhoneEvent::Error(
                PhoneError::new(PhoneErrorCode::EmergencyAddressRequired, "bind an address")
                    .for_call(CallHandle(9), Some("call_x".into())),
            ),
            PhoneEvent::NetworkChanged,
            PhoneEvent::Presence(vec![ds_protocol::signalling::PresenceEntry {
                user_id: "usr_2".into(),
                name: "Bob".into(),
                status: PresenceStatus::Available,
                do_not_disturb: false,
                status_text: None,
                updated_at: "2026-11-26T07:00:00Z".into(),
            }]),
        ];
        for event in events {
            let event = DriverEvent::Phone(event);
            let (name, payload) = event_to_json(&event).expect("phone events travel");
            // Through text, as on the channel.
            let payload = Value::parse(&payload.to_string()).expect("valid JSON");
            assert_eq!(event_from_json(name, &payload), Some(event));
        }
        assert_eq!(event_to_json(&DriverEvent::DevicesChanged(Vec::new())), None, "devices are per tab");
        assert_eq!(event_from_json("teleport", &Value::Null), None);
    }

    #[test]
    fn a_follower_mirrors_the_leaders_whole_state() {
        let state = Mirror {
            status: ConnectionStatus::Connected,
            calls: vec![a_call()],
            active: Some(CallHandle(9)),
            emergency: (Some("emerg_1".into()), true),
        };
        let message = Value::parse(&state.to_json("state").to_string()).expect("valid JSON");
        assert_eq!(Mirror::from_json(&message), state);
        assert_eq!(Mirror::from_json(&Value::Null), Mirror::default(), "nothing heard yet: connecting");
    }
}
