//! Pure functions that decide what the UI shows. Components wrap them in memos; each rule has one
//! home here so that the hosted page and every embedded element agree.

use ds_protocol::signalling::HeldBy;

pub use crate::destination::{format_as_you_type, format_for_display, strip_to_dial_string};

use crate::destination::clean_destination;
use crate::io::{CallHandle, CallInfo, CallPhase, Direction};

/// Connection states as the UI names them (protocol.md §4.4, "UI-level names").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    Idle,
    Connecting,
    Connected,
    /// Waiting to reconnect; the attempt counts from 1.
    Reconnecting {
        attempt: u32,
    },
    Disconnected,
    Error,
}

/// The short label of the always-visible status chip.
pub fn connection_label(status: ConnectionStatus) -> String {
    match status {
        ConnectionStatus::Idle => "Not connected".to_owned(),
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Connected => "Connected".to_owned(),
        ConnectionStatus::Reconnecting { attempt } => format!("Reconnecting (attempt {attempt})…"),
        ConnectionStatus::Disconnected => "Disconnected".to_owned(),
        ConnectionStatus::Error => "Connection error".to_owned(),
    }
}

/// Which screen the softphone shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// No call: the dial pad.
    Dialpad,
    /// Only unanswered inbound calls: the incoming card (a stack when several ring).
    Incoming { ringing: Vec<CallHandle> },
    /// A call in progress. `held` are the switch cards of other connected calls; `waiting` are
    /// inbound calls ringing meanwhile (the call-waiting overlay).
    InCall { current: CallHandle, held: Vec<CallHandle>, waiting: Vec<CallHandle> },
}

fn is_unanswered_inbound(call: &CallInfo) -> bool {
    call.direction == Direction::Inbound && !call.phase.is_connected() && !call.answering
}

/// Chooses the screen for the live calls and the phone's active call (§14 "Screens").
pub fn select_layout(calls: &[CallInfo], active: Option<CallHandle>) -> Layout {
    let live: Vec<&CallInfo> = calls.iter().filter(|c| c.phase != CallPhase::Ended).collect();
    if live.is_empty() {
        return Layout::Dialpad;
    }
    let waiting: Vec<CallHandle> =
        live.iter().filter(|c| is_unanswered_inbound(c)).map(|c| c.handle).collect();
    let current = active
        .filter(|h| live.iter().any(|c| c.handle == *h && !is_unanswered_inbound(c)))
        .or_else(|| live.iter().rev().find(|c| c.phase == CallPhase::Active).map(|c| c.handle))
        .or_else(|| live.iter().rev().find(|c| !is_unanswered_inbound(c)).map(|c| c.handle));
    match current {
        None => Layout::Incoming { ringing: waiting },
        Some(current) => Layout::InCall {
            current,
            held: live
                .iter()
                .filter(|c| c.handle != current && !is_unanswered_inbound(c))
                .map(|c| c.handle)
                .collect(),
            waiting,
        },
    }
}

/// Why a call cannot be placed right now; `Display` gives the words for the error chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CannotPlaceCall {
    NotConnected(ConnectionStatus),
    EmptyDestination,
    /// Another call is still being set up, or the phone holds as many calls as it can.
    Busy,
}

impl std::fmt::Display for CannotPlaceCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CannotPlaceCall::NotConnected(ConnectionStatus::Connecting)
            | CannotPlaceCall::NotConnected(ConnectionStatus::Reconnecting { .. }) => {
                f.write_str("Still connecting — try again in a moment")
            }
            CannotPlaceCall::NotConnected(_) => f.write_str("Not connected"),
            CannotPlaceCall::EmptyDestination => f.write_str("Enter a number to call"),
            CannotPlaceCall::Busy => f.write_str("Finish setting up the current call first"),
        }
    }
}

/// Whether the call button may be pressed (`busy`: a call is being placed, or the call limit is
/// reached — see [`crate::Phone::is_dialing`]).
pub fn can_place_call(conn: ConnectionStatus, dest: &str, busy: bool) -> Result<(), CannotPlaceCall> {
    if conn != ConnectionStatus::Connected {
        return Err(CannotPlaceCall::NotConnected(conn));
    }
    if clean_destination(dest).is_err() {
        return Err(CannotPlaceCall::EmptyDestination);
    }
    if busy {
        return Err(CannotPlaceCall::Busy);
    }
    Ok(())
}

/// The in-call timer: `m:ss` under an hour, `h:mm:ss` from then on.
pub fn format_call_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// Seconds the call has been connected, for [`format_call_duration`].
pub fn call_duration_secs(call: &CallInfo, now_ms: u64) -> Option<u64> {
    call.answered_at_ms.map(|at| now_ms.saturating_sub(at) / 1000)
}

/// How to name the other party: the network's name, else the formatted number, else "Unknown".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerDisplay {
    /// The big line.
    pub primary: String,
    /// The formatted number under a name, when both are known.
    pub secondary: Option<String>,
}

pub fn caller_display(name: Option<&str>, number: &str) -> CallerDisplay {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let number = number.trim();
    let formatted = (!number.is_empty()).then(|| format_for_display(number));
    match (name, formatted) {
        (Some(name), formatted) => CallerDisplay { primary: name.to_owned(), secondary: formatted },
        (None, Some(formatted)) => CallerDisplay { primary: formatted, secondary: None },
        (None, None) => CallerDisplay { primary: "Unknown".to_owned(), secondary: None },
    }
}

/// One in-call button: enabled, or disabled with the reason shown as its tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub enabled: bool,
    pub reason: Option<&'static str>,
}

impl Control {
    fn on() -> Self {
        Control { enabled: true, reason: None }
    }
    fn off(reason: &'static str) -> Self {
        Control { enabled: false, reason: Some(reason) }
    }
}

/// The in-call controls for one call (§14 "in-call" screen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallControls {
    pub mute: Control,
    /// Hold, or Resume when `shows_resume`.
    pub hold: Control,
    pub shows_resume: bool,
    pub keypad: Control,
    pub transfer: Control,
    /// Complete an attended transfer (only while a consult leg exists).
    pub complete_transfer: Control,
    pub hangup: Control,
}

pub fn call_controls(call: &CallInfo, conn: ConnectionStatus) -> CallControls {
    const NOT_CONNECTED: &str = "Not connected";
    const NOT_ANSWERED: &str = "The call is not answered yet";
    let online = conn == ConnectionStatus::Connected;
    let connected = call.phase.is_connected();
    let gate = |ok: bool, reason: &'static str| {
        if !online {
            Control::off(NOT_CONNECTED)
        } else if ok {
            Control::on()
        } else {
            Control::off(reason)
        }
    };
    let shows_resume = call.phase == CallPhase::Held;
    let hold = if shows_resume && call.held_by == Some(HeldBy::Remote) {
        Control::off("The other party put this call on hold")
    } else {
        gate(connected, NOT_ANSWERED)
    };
    let keypad = if call.phase == CallPhase::Active {
        Control::on()
    } else if call.phase == CallPhase::Held {
        Control::off("The call is on hold")
    } else {
        Control::off(NOT_ANSWERED)
    };
    let transfer = if call.consult_for.is_some() || call.consulted_by.is_some() {
        Control::off("A transfer is already in progress")
    } else {
        gate(connected, NOT_ANSWERED)
    };
    let complete_transfer = match (call.consult_for, call.consulted_by) {
        (None, None) => Control::off("No transfer in progress"),
        _ => gate(true, ""),
    };
    CallControls {
        // Muting is local to the microphone, so it works even while the socket is down.
        mute: if connected || call.direction == Direction::Outbound {
            Control::on()
        } else {
            Control::off(NOT_ANSWERED)
        },
        hold,
        shows_resume,
        keypad,
        transfer,
        complete_transfer,
        hangup: if call.ending { Control::off("Ending the call…") } else { Control::on() },
    }
}

/// A short word for a call's state on its card.
pub fn call_state_label(call: &CallInfo) -> &'static str {
    match (call.phase, call.direction) {
        (CallPhase::Ended, _) => "Ended",
        _ if call.ending => "Ending…",
        _ if call.answering => "Connecting…",
        (CallPhase::Trying, Direction::Outbound) => "Calling…",
        (CallPhase::Ringing, Direction::Outbound) => "Ringing…",
        (CallPhase::Trying | CallPhase::Ringing, Direction::Inbound) => "Incoming call",
        (CallPhase::Active, _) => "Connected",
        (CallPhase::Held, _) if call.held_by == Some(HeldBy::Remote) => "Held by other party",
        (CallPhase::Held, _) => "On hold",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_label_names_the_attempt() {
        assert_eq!(
            connection_label(ConnectionStatus::Reconnecting { attempt: 3 }),
            "Reconnecting (attempt 3)…"
        );
    }

    #[test]
    fn every_status_has_a_distinct_label() {
        let all = [
            ConnectionStatus::Idle,
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting { attempt: 1 },
            ConnectionStatus::Disconnected,
            ConnectionStatus::Error,
        ];
        let labels: std::collections::HashSet<_> = all.into_iter().map(connection_label).collect();
        assert_eq!(labels.len(), all.len());
    }
}
