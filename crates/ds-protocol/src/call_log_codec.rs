//! A hand-written reader of a `GET /v1/calls` page ([`ListEnvelope<CallLog>`]) from the parsed
//! JSON, for the browser's call history.
//!
//! Why not serde: the derived `Deserialize` of the 24-member `CallLog` (with the untagged
//! [`DidRef`], which buffers through serde's `Content`) was, after the signalling frames, the next
//! largest block of generated code in the embed bundle (docs/benchmarks.md, "Size work").
//!
//! It accepts what the derive accepts for objects, member for member (`tests/call_log_codec.rs`
//! compares both on real and random pages). Two shapes no server sends are refused where serde
//! would accept them: a `CallLog` (or expanded DID) written as a JSON array of its members in
//! declaration order, and a `direction`/`status` written as `{"inbound": null}`.

use crate::json::{Json as Value, Object};

use crate::rest::{CallDirection, CallLog, CallStatus, DidRef, ListEnvelope};

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Object, String> {
    value.as_object().ok_or_else(|| format!("{what} is not an object"))
}

fn wrong(name: &str) -> String {
    format!("invalid type of `{name}`")
}

fn text(map: &Object, name: &str) -> Result<String, String> {
    match map.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(wrong(name)),
        None => Err(format!("missing field `{name}`")),
    }
}

/// An `Option` member: absent and `null` are `None`.
fn optional<'a>(map: &'a Object, name: &str) -> Option<&'a Value> {
    map.get(name).filter(|value| !value.is_null())
}

fn opt_text(map: &Object, name: &str) -> Result<Option<String>, String> {
    optional(map, name).map(|value| value.as_str().map(str::to_owned).ok_or_else(|| wrong(name))).transpose()
}

fn opt_integer(map: &Object, name: &str) -> Result<Option<i64>, String> {
    optional(map, name).map(|value| value.as_i64().ok_or_else(|| wrong(name))).transpose()
}

fn did(value: &Value) -> Result<DidRef, String> {
    match value {
        Value::String(id) => Ok(DidRef::Id(id.clone())),
        Value::Object(map) => {
            Ok(DidRef::Expanded { id: text(map, "id")?, phone_number: text(map, "phone_number")? })
        }
        _ => Err("data did not match any variant of untagged enum DidRef".to_owned()),
    }
}

/// One call log, as the derived `Deserialize` reads it from an object.
pub(crate) fn call_log(value: &Value) -> Result<CallLog, String> {
    let map = object(value, "a call log")?;
    let direction = text(map, "direction")?;
    Ok(CallLog {
        id: text(map, "id")?,
        user: opt_text(map, "user")?,
        user_id: opt_text(map, "user_id")?,
        endpoint: opt_text(map, "endpoint")?,
        endpoint_id: opt_text(map, "endpoint_id")?,
        did: optional(map, "did").map(did).transpose()?,
        did_id: opt_text(map, "did_id")?,
        direction: CallDirection::parse(&direction)
            .ok_or_else(|| format!("unknown variant `{direction}` of `direction`"))?,
        from_number: text(map, "from_number")?,
        from_label: opt_text(map, "from_label")?,
        to_number: opt_text(map, "to_number")?,
        to_label: opt_text(map, "to_label")?,
        started_at: text(map, "started_at")?,
        answered_at: opt_text(map, "answered_at")?,
        connected_at: opt_text(map, "connected_at")?,
        ended_at: opt_text(map, "ended_at")?,
        duration_seconds: opt_integer(map, "duration_seconds")?,
        status: match opt_text(map, "status")? {
            Some(status) => Some(
                CallStatus::parse(&status)
                    .ok_or_else(|| format!("unknown variant `{status}` of `status`"))?,
            ),
            None => None,
        },
        hangup_cause: opt_integer(map, "hangup_cause")?,
        summary: opt_text(map, "summary")?,
        sentiment: optional(map, "sentiment").cloned(),
        recording_url: opt_text(map, "recording_url")?,
        quality_metrics: match map.get("quality_metrics") {
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(wrong("quality_metrics")),
            None => return Err("missing field `quality_metrics`".to_owned()),
        },
        dtmf_digits: opt_text(map, "dtmf_digits")?,
    })
}

/// See [`ListEnvelope::<CallLog>::from_json`].
pub(crate) fn call_log_page(value: &Value) -> Result<ListEnvelope<CallLog>, String> {
    let map = object(value, "the page")?;
    Ok(ListEnvelope {
        object: text(map, "object")?,
        url: text(map, "url")?,
        next_page_url: opt_text(map, "next_page_url")?,
        previous_page_url: opt_text(map, "previous_page_url")?,
        data: match map.get("data") {
            Some(Value::Array(items)) => items.iter().map(call_log).collect::<Result<_, _>>()?,
            Some(_) => return Err(wrong("data")),
            None => return Err("missing field `data`".to_owned()),
        },
    })
}
