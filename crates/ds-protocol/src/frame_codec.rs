//! The hand-written codec behind [`parse_server_frame`] and [`ClientMessage::to_json`]: the two
//! directions the browser phone uses.
//!
//! Why not serde: the derived `Deserialize` of an internally tagged enum buffers every frame into
//! serde's private `Content` tree and then runs one generated visitor per variant and field, and the
//! derived `Serialize` is another set of generated code per variant. In the embed bundle that was
//! the largest single avoidable block of WebAssembly (see docs/benchmarks.md, "Size work"). This
//! codec reads the members off the [`crate::json::Json`] the frame is parsed into (not
//! `serde_json::Value`: that kept serde_json in the bundle) and writes JSON text directly.
//!
//! The wire behaviour is the serde derive's, member for member: `tests/frame_codec.rs` checks every
//! golden §5 frame, random frames and random frame-shaped JSON against `serde_json` with the derived
//! impls (same `Known` value, same accept/refuse decision, byte-equal output). ds-local keeps the
//! serde path for the other two directions ([`parse_client_frame`], [`ServerMessage::to_json`]).
//!
//! [`parse_server_frame`]: crate::signalling::parse_server_frame
//! [`parse_client_frame`]: crate::signalling::parse_client_frame
//! [`ServerMessage::to_json`]: crate::signalling::ServerMessage::to_json

use crate::json::{Json as Value, Object, write_string};

use crate::signalling::{
    CallDirection, CallState, ClientMessage, EndReason, ErrorCode, ErrorContext, ErrorFrame, HeldBy,
    IceCandidate, ParsedFrame, PresenceEntry, PresenceStatus, ServerMessage,
};

/// Why a member was refused; turned into the `Invalid` reason.
enum Refusal {
    Missing(&'static str),
    WrongType(&'static str),
    /// A struct given as a JSON array (serde reads those positionally) with too many elements.
    TooLong,
}

type Decoded<T> = Result<T, Refusal>;

/// The members of a struct-shaped value. serde's derived `Deserialize` accepts a struct either as
/// an object (by name) or as an array (by position, trailing defaulted fields may be left out), so
/// this does too.
enum Members<'a> {
    ByName(&'a Object),
    ByPosition(&'a [Value]),
}

impl<'a> Members<'a> {
    fn of(value: &'a Value, name: &'static str) -> Decoded<Self> {
        match value {
            Value::Object(map) => Ok(Members::ByName(map)),
            Value::Array(items) => Ok(Members::ByPosition(items)),
            _ => Err(Refusal::WrongType(name)),
        }
    }

    /// The member `name`, declared at `index`; `None` when absent (JSON `null` is `Some(Null)`).
    fn get(&self, index: usize, name: &str) -> Option<&'a Value> {
        match self {
            Members::ByName(map) => map.get(name),
            Members::ByPosition(items) => items.get(index),
        }
    }

    /// Positional structs must not carry more elements than the struct has fields.
    fn end(&self, field_count: usize) -> Decoded<()> {
        match self {
            Members::ByPosition(items) if items.len() > field_count => Err(Refusal::TooLong),
            _ => Ok(()),
        }
    }

    fn text(&self, index: usize, name: &'static str) -> Decoded<String> {
        text(self.get(index, name).ok_or(Refusal::Missing(name))?, name)
    }

    /// `Option<String>` with `#[serde(default)]`: absent and `null` are `None`.
    fn opt_text(&self, index: usize, name: &'static str) -> Decoded<Option<String>> {
        match self.get(index, name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => text(value, name).map(Some),
        }
    }

    fn flag(&self, index: usize, name: &'static str) -> Decoded<bool> {
        match self.get(index, name).ok_or(Refusal::Missing(name))? {
            Value::Bool(flag) => Ok(*flag),
            _ => Err(Refusal::WrongType(name)),
        }
    }

    fn opt_flag(&self, index: usize, name: &'static str) -> Decoded<Option<bool>> {
        match self.get(index, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(Refusal::WrongType(name)),
        }
    }

    /// `Option<u64>`: a non-negative integer (not a float, even a whole one).
    fn opt_count(&self, index: usize, name: &'static str) -> Decoded<Option<u64>> {
        match self.get(index, name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or(Refusal::WrongType(name)),
        }
    }

    fn texts(&self, index: usize, name: &'static str) -> Decoded<Vec<String>> {
        match self.get(index, name).ok_or(Refusal::Missing(name))? {
            Value::Array(items) => items.iter().map(|item| text(item, name)).collect(),
            _ => Err(Refusal::WrongType(name)),
        }
    }

    fn call_id(&self) -> Decoded<String> {
        self.text(0, "call_id")
    }
}

fn text(value: &Value, name: &'static str) -> Decoded<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(Refusal::WrongType(name)),
    }
}

fn ice_candidate(members: &Members) -> Decoded<IceCandidate> {
    let candidate = IceCandidate {
        call_id: members.call_id()?,
        candidate: members.opt_text(1, "candidate")?,
        sdp_mid: members.opt_text(2, "sdp_mid")?,
        sdp_m_line_index: match members.opt_count(3, "sdp_m_line_index")? {
            Some(index) => Some(u32::try_from(index).map_err(|_| Refusal::WrongType("sdp_m_line_index"))?),
            None => None,
        },
    };
    members.end(4)?;
    Ok(candidate)
}

impl PresenceEntry {
    /// Reads an entry written by [`PresenceEntry::to_json`] (or a `presence` frame's entry);
    /// `None` when a member is missing or of the wrong type.
    pub fn from_json(value: &Value) -> Option<PresenceEntry> {
        Members::of(value, "presence").and_then(|members| presence_entry(&members)).ok()
    }
}

fn presence_entry(members: &Members) -> Decoded<PresenceEntry> {
    let entry = PresenceEntry {
        user_id: members.text(0, "user_id")?,
        name: members.text(1, "name")?,
        status: PresenceStatus::from_wire(&members.text(2, "status")?),
        do_not_disturb: members.flag(3, "do_not_disturb")?,
        status_text: members.opt_text(4, "status_text")?,
        updated_at: members.text(5, "updated_at")?,
    };
    members.end(6)?;
    Ok(entry)
}

fn error_frame(members: &Members) -> Decoded<ErrorFrame> {
    let context = match members.get(5, "context") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let context = Members::of(value, "context")?;
            let users = match context.get(0, "users") {
                None | Some(Value::Null) => None,
                Some(_) => Some(context.texts(0, "users")?),
            };
            context.end(1)?;
            Some(ErrorContext { users })
        }
    };
    let frame = ErrorFrame {
        code: ErrorCode::from_wire(&members.text(0, "code")?),
        message: match members.get(1, "message") {
            None => String::new(),
            Some(value) => text(value, "message")?,
        },
        req_id: members.opt_text(2, "req_id")?,
        call_id: members.opt_text(3, "call_id")?,
        fatal: members.opt_flag(4, "fatal")?,
        context,
    };
    Ok(frame)
}

/// Decodes the members of a server frame whose `type` is `type_name`, one of
/// [`ServerMessage::TYPE_NAMES`].
fn server_message(type_name: &str, frame: &Object) -> Decoded<ServerMessage> {
    // Top-level frames are always objects (the tag needs a name), so positions are never used.
    let m = &Members::ByName(frame);
    let sdp = || m.text(1, "sdp");
    Ok(match type_name {
        "authenticated" => ServerMessage::Authenticated {
            req_id: m.opt_text(0, "req_id")?,
            user_id: m.text(1, "user_id")?,
            account_id: m.text(2, "account_id")?,
            reconnected: m.opt_flag(3, "reconnected")?,
        },
        "auth.refreshed" => ServerMessage::AuthRefreshed { req_id: m.opt_text(0, "req_id")? },
        "pong" => ServerMessage::Pong { req_id: m.opt_text(0, "req_id")? },
        "network.changed" => ServerMessage::NetworkChanged {},
        "error" => ServerMessage::Error(error_frame(m)?),
        "call.trying" => {
            ServerMessage::CallTrying { call_id: m.call_id()?, req_id: m.opt_text(1, "req_id")? }
        }
        "call.ringing" => ServerMessage::CallRinging { call_id: m.call_id()? },
        "call.incoming" => ServerMessage::CallIncoming {
            call_id: m.call_id()?,
            from: m.text(1, "from")?,
            from_name: m.opt_text(2, "from_name")?,
            to: m.text(3, "to")?,
        },
        "call.answered" => {
            ServerMessage::CallAnswered { call_id: m.call_id()?, answered_at: m.opt_text(1, "answered_at")? }
        }
        "call.held" => ServerMessage::CallHeld {
            call_id: m.call_id()?,
            held_by: HeldBy::from_wire(&m.text(1, "held_by")?),
        },
        "call.resumed" => ServerMessage::CallResumed { call_id: m.call_id()? },
        "call.ended" => ServerMessage::CallEnded {
            call_id: m.call_id()?,
            reason: EndReason::from_wire(&m.text(1, "reason")?),
            duration_seconds: m.opt_count(2, "duration_seconds")?,
        },
        "call.restored" => ServerMessage::CallRestored {
            call_id: m.call_id()?,
            state: CallState::from_wire(&m.text(1, "state")?),
            from: m.text(2, "from")?,
            from_name: m.opt_text(3, "from_name")?,
            to: m.text(4, "to")?,
            direction: CallDirection::from_wire(&m.text(5, "direction")?),
            answered_at: m.opt_text(6, "answered_at")?,
        },
        "sdp.offer" => ServerMessage::SdpOffer { call_id: m.call_id()?, sdp: sdp()? },
        "sdp.pranswer" => ServerMessage::SdpPranswer { call_id: m.call_id()?, sdp: sdp()? },
        "sdp.answer" => ServerMessage::SdpAnswer { call_id: m.call_id()?, sdp: sdp()? },
        "ice.candidate" => ServerMessage::IceCandidate(ice_candidate(m)?),
        "ice.done" => ServerMessage::IceDone { call_id: m.call_id()? },
        "presence.list" => ServerMessage::PresenceList {
            req_id: m.opt_text(0, "req_id")?,
            users: match m.get(1, "users").ok_or(Refusal::Missing("users"))? {
                Value::Array(items) => items
                    .iter()
                    .map(|item| presence_entry(&Members::of(item, "users")?))
                    .collect::<Decoded<_>>()?,
                _ => return Err(Refusal::WrongType("users")),
            },
        },
        "presence.update" => ServerMessage::PresenceUpdate(presence_entry(m)?),
        // The caller only passes names of TYPE_NAMES; a name listed there but not matched
        // here is caught by the tests (every golden frame type must decode).
        _ => return Err(Refusal::Missing("type")),
    })
}

/// See [`crate::signalling::parse_server_frame`].
pub(crate) fn decode_server_frame(text: &str) -> ParsedFrame<ServerMessage> {
    let value = match Value::parse(text) {
        Ok(value) => value,
        Err(error) => return ParsedFrame::Invalid { reason: format!("not JSON: {error}") },
    };
    let Value::Object(frame) = &value else {
        return ParsedFrame::Invalid { reason: "frame is not a JSON object".to_owned() };
    };
    let type_name = match frame.get("type") {
        None => return ParsedFrame::Invalid { reason: "frame has no `type` member".to_owned() },
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return ParsedFrame::Invalid { reason: "`type` is not a string".to_owned() },
    };
    if !ServerMessage::TYPE_NAMES.contains(&type_name) {
        return ParsedFrame::UnknownType { type_name: type_name.to_owned() };
    }
    match server_message(type_name, frame) {
        Ok(message) => ParsedFrame::Known(message),
        Err(refusal) => {
            let problem = match refusal {
                Refusal::Missing(name) => format!("missing field `{name}`"),
                Refusal::WrongType(name) => format!("invalid type of `{name}`"),
                Refusal::TooLong => "too many elements in a positional struct".to_owned(),
            };
            ParsedFrame::Invalid { reason: format!("bad `{type_name}` frame: {problem}") }
        }
    }
}

/// Writes one JSON object member by member, in the order serde's derive does (declaration order,
/// `type` first), escaping strings exactly as `serde_json` does.
struct JsonObject {
    out: String,
}

impl JsonObject {
    fn new(type_name: &str) -> Self {
        let mut object = JsonObject { out: String::with_capacity(64) };
        object.out.push('{');
        object.key("type");
        write_string(&mut object.out, type_name);
        object
    }

    fn key(&mut self, name: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_string(&mut self.out, name);
        self.out.push(':');
    }

    fn text(mut self, name: &str, value: &str) -> Self {
        self.key(name);
        write_string(&mut self.out, value);
        self
    }

    /// A `skip_serializing_if = "Option::is_none"` member: left out when `None`.
    fn opt_text(self, name: &str, value: &Option<String>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => self,
        }
    }

    /// An `Option` serialised as `null` when `None`.
    fn text_or_null(mut self, name: &str, value: &Option<String>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => {
                self.key(name);
                self.out.push_str("null");
                self
            }
        }
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// See [`ClientMessage::to_json`].
pub(crate) fn encode_client_frame(message: &ClientMessage) -> String {
    let object = JsonObject::new(message.type_name());
    match message {
        ClientMessage::Authenticate { req_id, token, emergency_address_id } => object
            .opt_text("req_id", req_id)
            .text("token", token)
            .opt_text("emergency_address_id", emergency_address_id),
        ClientMessage::AuthRefresh { req_id, token } => {
            object.opt_text("req_id", req_id).text("token", token)
        }
        ClientMessage::Ping { req_id } => object.opt_text("req_id", req_id),
        ClientMessage::CallCreate { req_id, destination, sdp, caller_id } => object
            .opt_text("req_id", req_id)
            .text("destination", destination)
            .text("sdp", sdp)
            .opt_text("caller_id", caller_id),
        ClientMessage::CallAnswer { call_id }
        | ClientMessage::CallHangup { call_id }
        | ClientMessage::CallHold { call_id }
        | ClientMessage::CallResume { call_id }
        | ClientMessage::CallMute { call_id }
        | ClientMessage::CallUnmute { call_id }
        | ClientMessage::IceDone { call_id } => object.text("call_id", call_id),
        ClientMessage::SdpAnswer { call_id, sdp } | ClientMessage::SdpOffer { call_id, sdp } => {
            object.text("call_id", call_id).text("sdp", sdp)
        }
        ClientMessage::CallReject { call_id, reason } => {
            let object = object.text("call_id", call_id);
            match reason {
                Some(reason) => object.text("reason", reason.as_str()),
                None => object,
            }
        }
        ClientMessage::CallTransfer { call_id, destination } => {
            object.text("call_id", call_id).text("destination", destination)
        }
        ClientMessage::CallTransferAttended { req_id, call_id, step, destination, sdp } => object
            .opt_text("req_id", req_id)
            .text("call_id", call_id)
            .text("step", step.as_str())
            .opt_text("destination", destination)
            .opt_text("sdp", sdp),
        ClientMessage::IceCandidate(IceCandidate { call_id, candidate, sdp_mid, sdp_m_line_index }) => {
            let mut object = object
                .text("call_id", call_id)
                .text_or_null("candidate", candidate)
                .text_or_null("sdp_mid", sdp_mid);
            object.key("sdp_m_line_index");
            match sdp_m_line_index {
                Some(index) => object.out.push_str(&index.to_string()),
                None => object.out.push_str("null"),
            }
            object
        }
        ClientMessage::PresenceSubscribe { req_id, users } => {
            let mut object = object.opt_text("req_id", req_id);
            object.key("users");
            object.out.push('[');
            for (n, user) in users.iter().enumerate() {
                if n > 0 {
                    object.out.push(',');
                }
                write_string(&mut object.out, user);
            }
            object.out.push(']');
            object
        }
    }
    .finish()
}
