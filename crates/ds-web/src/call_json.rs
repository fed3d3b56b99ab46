//! The JSON shapes of the phone's state, shared by the headless JS API (they are its documented
//! `DialStack…` event types) and by the tab channel (a follower tab rebuilds the leader's state
//! from them): call info, connection status, errors and quality reports, each with its reader.

use ds_core::view_model::ConnectionStatus;
use ds_core::{CallHandle, CallInfo, CallPhase, Direction, PhoneError, PhoneErrorCode};
use ds_protocol::json::Json as Value;
use ds_protocol::json_object;
use ds_protocol::signalling::{EndReason, HeldBy};

use crate::quality::QualityReport;

/// The status's name in the JS API and the elements' `ds-connection-change` detail.
pub fn status_name(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Idle => "idle",
        ConnectionStatus::Connecting => "connecting",
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::Reconnecting { .. } => "reconnecting",
        ConnectionStatus::Disconnected => "disconnected",
        ConnectionStatus::Error => "error",
    }
}

pub(crate) fn status_json(status: ConnectionStatus) -> Value {
    let attempt = match status {
        ConnectionStatus::Reconnecting { attempt } => Some(attempt),
        _ => None,
    };
    json_object!( "status": status_name(status), "attempt": attempt )
}

pub(crate) fn phase_name(phase: CallPhase) -> &'static str {
    match phase {
        CallPhase::Trying => "trying",
        CallPhase::Ringing => "ringing",
        CallPhase::Active => "active",
        CallPhase::Held => "held",
        CallPhase::Ended => "ended",
    }
}

/// The JSON shape of `DialStackCallInfo`.
pub fn call_info_json(info: &CallInfo) -> Value {
    json_object!(
        "handle": info.handle.0,
        "callId": &info.call_id,
        "direction": match info.direction { Direction::Inbound => "inbound", Direction::Outbound => "outbound" },
        "state": phase_name(info.phase),
        "remoteNumber": &info.remote_number,
        "remoteName": &info.remote_name,
        "localNumber": &info.local_number,
        "heldBy": info.held_by.as_ref().map(|h| match h { HeldBy::Local => "local", _ => "remote" }),
        "muted": info.muted,
        "answeredAt": info.answered_at_ms,
        "answering": info.answering,
        "ending": info.ending,
        "ringback": info.ringback,
        "earlyMedia": info.early_media,
        "restored": info.restored,
        "consultFor": info.consult_for.map(|h| h.0),
        "consultedBy": info.consulted_by.map(|h| h.0),
        "endReason": info.end_reason.as_ref().map(|r| r.as_str().to_owned()),
    )
}

pub(crate) fn error_json(error: &PhoneError) -> Value {
    json_object!(
        "code": error.code.as_str(),
        "message": &error.message,
        "fatal": error.fatal,
        "callId": &error.call_id,
        "handle": error.call.map(|h| h.0),
    )
}

/// A float as a JSON number, written by JavaScript's own `Number#toString` (so no Rust float
/// formatting is linked into the bundle); non-finite values are `null`, as serde_json wrote them.
pub(crate) fn number(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let text =
        js_sys::Number::from(x).to_string_with_radix(10).ok().and_then(|t| t.as_string()).unwrap_or_default();
    Value::number(&text).unwrap_or(Value::Null)
}

pub(crate) fn quality_json(call: CallHandle, call_id: Option<String>, q: &QualityReport) -> Value {
    json_object!(
        "handle": call.0, "callId": call_id, "jitterMs": number(q.jitter_ms),
        "packetLossPct": number(q.packet_loss_pct), "rttMs": q.rtt_ms.map(number), "mos": number(q.mos),
        "oneWayAudio": q.one_way_audio, "packetsReceived": q.packets_received,
        "totalAudioEnergy": number(q.total_audio_energy),
    )
}

/// Reads a `DialStackCallInfo` back (what a follower tab hears from the leader).
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

/// Reads a `DialStackStatusEvent` back; anything unreadable is `Connecting` (a follower that has
/// not heard the leader yet).
pub fn status_from_json(value: &Value) -> ConnectionStatus {
    match value["status"].as_str() {
        Some("idle") => ConnectionStatus::Idle,
        Some("connected") => ConnectionStatus::Connected,
        Some("reconnecting") => ConnectionStatus::Reconnecting {
            attempt: value["attempt"].as_u64().and_then(|a| u32::try_from(a).ok()).unwrap_or(1),
        },
        Some("disconnected") => ConnectionStatus::Disconnected,
        Some("error") => ConnectionStatus::Error,
        _ => ConnectionStatus::Connecting,
    }
}

/// Reads a `DialStackErrorEvent` back.
pub fn error_from_json(value: &Value) -> Option<PhoneError> {
    Some(PhoneError {
        code: PhoneErrorCode::from_name(value["code"].as_str()?),
        fatal: value["fatal"].as_bool().unwrap_or(false),
        call_id: value["callId"].as_str().map(str::to_owned),
        call: value["handle"].as_u64().map(CallHandle),
        message: value["message"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Reads a `DialStackQualityEvent` back: the call's handle and its report.
pub fn quality_from_json(value: &Value) -> Option<(CallHandle, QualityReport)> {
    let number = |field: &str| value[field].as_f64();
    let report = QualityReport {
        jitter_ms: number("jitterMs")?,
        packet_loss_pct: number("packetLossPct")?,
        rtt_ms: number("rttMs"),
        mos: number("mos")?,
        one_way_audio: value["oneWayAudio"].as_bool().unwrap_or(false),
        packets_received: value["packetsReceived"].as_u64().unwrap_or(0),
        total_audio_energy: number("totalAudioEnergy").unwrap_or(0.0),
    };
    Some((CallHandle(value["handle"].as_u64()?), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_info_uses_the_documented_camel_case_shape() {
        let info = CallInfo {
            handle: CallHandle(7),
            call_id: Some("call_1".into()),
            direction: Direction::Inbound,
            phase: CallPhase::Held,
            remote_number: "+14155550100".into(),
            remote_name: Some("JANE ROE".into()),
            local_number: None,
            held_by: Some(HeldBy::Remote),
            muted: true,
            answered_at_ms: Some(5),
            answering: false,
            ending: false,
            ringback: false,
            early_media: false,
            consult_for: None,
            consulted_by: None,
            restored: true,
            end_reason: Some(EndReason::Hangup),
        };
        let value = call_info_json(&info);
        assert_eq!(value["handle"], 7);
        assert_eq!(value["state"], "held");
        assert_eq!(value["heldBy"], "remote");
        assert_eq!(value["direction"], "inbound");
        assert_eq!(value["endReason"], "hangup");
        assert_eq!(value["remoteName"], "JANE ROE");
        assert_eq!(call_info_from_json(&value), Some(info), "a follower tab reads back the same call");
    }

    #[test]
    fn reconnecting_status_carries_the_attempt() {
        assert_eq!(
            status_json(ConnectionStatus::Reconnecting { attempt: 3 }),
            json_object!("status":"reconnecting","attempt":3)
        );
        assert_eq!(
            status_json(ConnectionStatus::Connected),
            json_object!("status":"connected","attempt":Value::Null)
        );
    }

    #[test]
    fn statuses_and_errors_read_back_as_they_were_written() {
        for status in [
            ConnectionStatus::Idle,
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting { attempt: 4 },
            ConnectionStatus::Disconnected,
            ConnectionStatus::Error,
        ] {
            assert_eq!(status_from_json(&status_json(status)), status);
        }
        let error = PhoneError {
            code: PhoneErrorCode::SessionReplaced,
            fatal: true,
            call_id: None,
            call: Some(CallHandle(2)),
            message: "signed in elsewhere".into(),
        };
        assert_eq!(error_from_json(&error_json(&error)), Some(error));
        assert_eq!(error_from_json(&json_object!( "message": "no code" )), None);
    }

    #[test]
    fn quality_reports_are_read_from_the_documented_shape() {
        let value = Value::parse(
            r#"{"handle":3,"callId":null,"jitterMs":4.5,"packetLossPct":0,"rttMs":null,"mos":4.3,
                "oneWayAudio":false,"packetsReceived":250,"totalAudioEnergy":0.25}"#,
        )
        .expect("valid JSON");
        let (call, report) = quality_from_json(&value).expect("a full report");
        assert_eq!(call, CallHandle(3));
        assert_eq!((report.jitter_ms, report.rtt_ms, report.mos), (4.5, None, 4.3));
        assert_eq!((report.packets_received, report.one_way_audio), (250, false));
        assert_eq!(quality_from_json(&json_object!( "handle": 3 )), None, "no figures, no report");
    }
}
