//! One registration across tabs: tabs of one origin and user elect a leader with the Web Locks
//! API (`navigator.locks.request`, held until the tab closes) and talk over a
//! `BroadcastChannel`. Only the leader holds the socket and media; followers mirror its state and
//! send their commands to it. When the leader's tab closes its lock is released and the next
//! waiting tab becomes leader and connects.
//!
//! Messages on the channel are JSON strings:
//! - follower → leader: `{"type":"hello"}`, `{"type":"command","action","handle","arg"}` (call
//!   commands, `dial`, and `emergency` with the chosen E911 address id);
//! - leader → followers: `{"type":"state","status","calls","active"}` and
//!   `{"type":"event","name","call"?, "payload"?}` followed by a state message.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ds_core::{CallHandle, CallInfo, CallPhase, Command, Direction};
use ds_protocol::json::Json as Value;
use ds_protocol::json_object;
use ds_protocol::signalling::{EndReason, HeldBy, RejectReason};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, Event, MessageEvent};

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

/// Rebuilds a call snapshot from the `DialStackCallInfo` JSON the leader sends.
pub fn call_info_from_json(value: &Value) -> Option<CallInfo> {
    let handle = |field: &str| value[field].as_u64().map(CallHandle);
    let text = |field: &str| value[field].as_str().map(str::to_owned);
    Some(CallInfo {
        handle: handle("handle")?,
        call_id: text("callId"),
        direction: match value["direction"].as_str()? {
            "inbound" => Direction::Inbound,
            _ => Direction::Outbound,
        },
        phase: match value["state"].as_str()? {
            "trying" => CallPhase::Trying,
            "ringing" => CallPhase::Ringing,
            "active" => CallPhase::Active,
            "held" => CallPhase::Held,
            _ => CallPhase::Ended,
        },
        remote_number: text("remoteNumber").unwrap_or_default(),
        remote_name: text("remoteName"),
        local_number: text("localNumber"),
        held_by: text("heldBy").map(|h| HeldBy::from_wire(&h)),
        muted: value["muted"].as_bool().unwrap_or(false),
        answered_at_ms: value["answeredAt"].as_u64(),
        answering: value["answering"].as_bool().unwrap_or(false),
        ending: value["ending"].as_bool().unwrap_or(false),
        ringback: value["ringback"].as_bool().unwrap_or(false),
        early_media: value["earlyMedia"].as_bool().unwrap_or(false),
        restored: value["restored"].as_bool().unwrap_or(false),
        consult_for: handle("consultFor"),
        consulted_by: handle("consultedBy"),
        end_reason: text("endReason").map(|r| EndReason::from_wire(&r)),
    })
}

/// The leader's state as followers last heard it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirror {
    pub status: Value,
    pub calls: Vec<CallInfo>,
    pub active: Option<CallHandle>,
}

/// What the coordinator tells its owner.
pub enum TabNotice {
    /// This tab won the election: connect.
    BecameLeader,
    /// (Leader) a follower asked for this.
    Command(Command),
    /// (Leader) a follower joined: send it the state.
    Hello,
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

    /// (Follower) sends a command to the leader.
    pub fn send_command(&self, command: &Command) {
        if let Some(message) = command_to_json(command) {
            self.post(&message);
        }
    }

    /// (Leader) publishes the state, after the event that changed it.
    pub fn publish(
        &self,
        event: Option<(&str, Value)>,
        status: Value,
        calls: Vec<Value>,
        active: Option<CallHandle>,
    ) {
        if let Some((name, payload)) = event {
            self.post(&json_object!( "type": "event", "name": name, "payload": payload,
                "status": status, "calls": calls, "active": active.map(|h| h.0) ));
        } else {
            self.post(
                &json_object!( "type": "state", "status": status, "calls": calls, "active": active.map(|h| h.0) ),
            );
        }
    }

    fn receive(&self, message: &Value, notify: &Notify) {
        match (message["type"].as_str(), self.leader.get()) {
            (Some("hello"), true) => notify(TabNotice::Hello),
            (Some("command"), true) => {
                if let Some(command) = command_from_json(message) {
                    notify(TabNotice::Command(command));
                }
            }
            (Some(kind @ ("state" | "event")), false) => {
                *self.mirror.borrow_mut() = Mirror {
                    status: message["status"].clone(),
                    calls: message["calls"].as_array().map_or_else(Vec::new, |calls| {
                        calls.iter().filter_map(call_info_from_json).collect()
                    }),
                    active: message["active"].as_u64().map(CallHandle),
                };
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
    use crate::js_api::call_info_json;

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

    #[test]
    fn call_snapshots_survive_the_trip_between_tabs() {
        let info = CallInfo {
            handle: CallHandle(9),
            call_id: Some("call_x".into()),
            direction: Direction::Inbound,
            phase: CallPhase::Ringing,
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
        };
        assert_eq!(call_info_from_json(&call_info_json(&info)), Some(info));
    }
}
