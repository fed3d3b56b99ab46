//! Pure functions that decide what the UI shows. Components wrap them in memos; each rule has one
//! home here so that the hosted page and every embedded element agree.

use ds_protocol::signalling::HeldBy;

/// Decisions of the dialer, call history and screen pop.
pub mod embeds;
/// Decisions of the E911 banner and address form.
pub mod emergency;

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

/// The `busy` argument of [`can_place_call`]: an outbound leg still waits for the server's
/// `call.trying` (a second dial would be refused), or the phone holds as many live calls as it
/// keeps ([`crate::phone::limits::MAX_LIVE_CALLS`]).
pub fn dial_busy(calls: &[CallInfo]) -> bool {
    let live = calls.iter().filter(|c| c.phase != CallPhase::Ended);
    let (mut count, mut dialing) = (0, false);
    for call in live {
        count += 1;
        dialing |= call.call_id.is_none();
    }
    dialing || count >= crate::phone::limits::MAX_LIVE_CALLS
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

/// Why an in-call button is disabled, as a key the UI translates ([`DisabledReason::english`]
/// is the English text, also kept in [`Control::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisabledReason {
    NotConnected,
    NotAnswered,
    HeldByRemote,
    OnHold,
    TransferInProgress,
    NoTransfer,
    Ending,
}

impl DisabledReason {
    pub fn english(self) -> &'static str {
        match self {
            DisabledReason::NotConnected => "Not connected",
            DisabledReason::NotAnswered => "The call is not answered yet",
            DisabledReason::HeldByRemote => "The other party put this call on hold",
            DisabledReason::OnHold => "The call is on hold",
            DisabledReason::TransferInProgress => "A transfer is already in progress",
            DisabledReason::NoTransfer => "No transfer in progress",
            DisabledReason::Ending => "Ending the call…",
        }
    }
}

/// One in-call button: enabled, or disabled with the reason shown as its tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub enabled: bool,
    /// English text of [`Control::why`].
    pub reason: Option<&'static str>,
    pub why: Option<DisabledReason>,
}

impl Control {
    fn on() -> Self {
        Control { enabled: true, reason: None, why: None }
    }
    fn off(why: DisabledReason) -> Self {
        Control { enabled: false, reason: Some(why.english()), why: Some(why) }
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
    const NOT_CONNECTED: DisabledReason = DisabledReason::NotConnected;
    const NOT_ANSWERED: DisabledReason = DisabledReason::NotAnswered;
    let online = conn == ConnectionStatus::Connected;
    let connected = call.phase.is_connected();
    let gate = |ok: bool, reason: DisabledReason| {
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
        Control::off(DisabledReason::HeldByRemote)
    } else {
        gate(connected, NOT_ANSWERED)
    };
    let keypad = if call.phase == CallPhase::Active {
        Control::on()
    } else if call.phase == CallPhase::Held {
        Control::off(DisabledReason::OnHold)
    } else {
        Control::off(NOT_ANSWERED)
    };
    let transfer = if call.consult_for.is_some() || call.consulted_by.is_some() {
        Control::off(DisabledReason::TransferInProgress)
    } else {
        gate(connected, NOT_ANSWERED)
    };
    let complete_transfer = match (call.consult_for, call.consulted_by) {
        (None, None) => Control::off(DisabledReason::NoTransfer),
        _ => gate(true, DisabledReason::NoTransfer),
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
        hangup: if call.ending { Control::off(DisabledReason::Ending) } else { Control::on() },
    }
}

/// A call's state as its card names it (a key the UI translates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStateKind {
    Ended,
    Ending,
    Answering,
    Calling,
    Ringing,
    Incoming,
    Connected,
    HeldByRemote,
    OnHold,
}

pub fn call_state_kind(call: &CallInfo) -> CallStateKind {
    match (call.phase, call.direction) {
        (CallPhase::Ended, _) => CallStateKind::Ended,
        _ if call.ending => CallStateKind::Ending,
        _ if call.answering => CallStateKind::Answering,
        (CallPhase::Trying, Direction::Outbound) => CallStateKind::Calling,
        (CallPhase::Ringing, Direction::Outbound) => CallStateKind::Ringing,
        (CallPhase::Trying | CallPhase::Ringing, Direction::Inbound) => CallStateKind::Incoming,
        (CallPhase::Active, _) => CallStateKind::Connected,
        (CallPhase::Held, _) if call.held_by == Some(HeldBy::Remote) => CallStateKind::HeldByRemote,
        (CallPhase::Held, _) => CallStateKind::OnHold,
    }
}

/// A short word for a call's state on its card (English).
pub fn call_state_label(call: &CallInfo) -> &'static str {
    match call_state_kind(call) {
        CallStateKind::Ended => "Ended",
        CallStateKind::Ending => "Ending…",
        CallStateKind::Answering => "Connecting…",
        CallStateKind::Calling => "Calling…",
        CallStateKind::Ringing => "Ringing…",
        CallStateKind::Incoming => "Incoming call",
        CallStateKind::Connected => "Connected",
        CallStateKind::HeldByRemote => "Held by other party",
        CallStateKind::OnHold => "On hold",
    }
}

/// Why a call ended, as the softphone tells the user for a moment after it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndSummary {
    /// Hung up by either side, or transferred away: "Call ended".
    Ended,
    Busy,
    NoAnswer,
    Failed,
    Declined,
    Transferred,
}

/// The end reason to show for a call that just ended. An inbound call we never answered and that
/// ended by hangup was missed: `NoAnswer` reads right for the caller's side too.
pub fn end_summary(call: &CallInfo) -> EndSummary {
    use ds_protocol::signalling::EndReason;
    match &call.end_reason {
        Some(EndReason::Busy) => EndSummary::Busy,
        Some(EndReason::NoAnswer) => EndSummary::NoAnswer,
        Some(EndReason::Failed) => EndSummary::Failed,
        Some(EndReason::Rejected) => EndSummary::Declined,
        Some(EndReason::Transferred) => EndSummary::Transferred,
        Some(EndReason::Hangup) | Some(EndReason::Unknown(_)) | None => EndSummary::Ended,
    }
}

/// How long the end reason stays on screen after a call ends.
pub const END_SUMMARY_MS: u64 = 4_000;

/// Live call quality as a three-step indicator (from the MOS estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualityLevel {
    Good,
    Fair,
    Poor,
}

/// MOS 4.0 and up is toll quality ("good"); under 3.1 most users are dissatisfied (ITU-T G.107
/// user-satisfaction bands), so "poor"; between is "fair". One-way audio is always poor.
pub fn quality_level(mos: f64, one_way_audio: bool) -> QualityLevel {
    if one_way_audio || mos < 3.1 {
        QualityLevel::Poor
    } else if mos < 4.0 {
        QualityLevel::Fair
    } else {
        QualityLevel::Good
    }
}

/// Whether the far end's audio is really being played out: packets arrived and the played-out
/// track carried energy (`totalAudioEnergy` only grows while audio plays).
pub fn hears_audio(packets_received: u64, total_audio_energy: f64) -> bool {
    packets_received > 0 && total_audio_energy > 0.0
}

/// What the error chip says, grouped by what the user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    MicrophoneBlocked,
    NoMicrophone,
    MicrophoneInUse,
    /// Shown as the "click to enable audio" button, not as an error.
    AudioBlocked,
    SignedOut,
    SignInFailed,
    OtherTab,
    EmergencyAddress,
    CallFailed,
    NotConnected,
    Network,
    TooManyCalls,
    TryLater,
    InvalidNumber,
    Generic,
}

pub fn error_kind(code: &crate::PhoneErrorCode) -> ErrorKind {
    use crate::PhoneErrorCode as C;
    match code {
        C::MicPermissionDenied => ErrorKind::MicrophoneBlocked,
        C::AudioDeviceUnavailable => ErrorKind::NoMicrophone,
        C::AudioDeviceInUse => ErrorKind::MicrophoneInUse,
        C::AudioPlaybackBlocked => ErrorKind::AudioBlocked,
        C::AuthExpired | C::SessionRevoked => ErrorKind::SignedOut,
        C::AuthFailed => ErrorKind::SignInFailed,
        C::SessionReplaced | C::SessionLimit => ErrorKind::OtherTab,
        C::EmergencyAddressRequired => ErrorKind::EmergencyAddress,
        C::CallFailed | C::CallNotFound => ErrorKind::CallFailed,
        C::TransportClosed | C::IdleTimeout | C::GoingAway | C::SlowConsumer => ErrorKind::NotConnected,
        C::IceFetchFailed | C::ReachabilityUnavailable => ErrorKind::Network,
        C::CallLimit => ErrorKind::TooManyCalls,
        C::RateLimited | C::InternalError | C::PresenceUnavailable => ErrorKind::TryLater,
        C::InvalidMessage => ErrorKind::InvalidNumber,
        _ => ErrorKind::Generic,
    }
}

/// [`error_kind`] of a whole error: an ICE-server fetch refused with 401/403 means the token was
/// refused (the fetch is the first request that carries it), not a network problem. ds-web
/// reports the HTTP status in the message as "answered {status}".
pub fn error_kind_for(error: &crate::PhoneError) -> ErrorKind {
    let refused = |m: &str| m.contains("answered 401") || m.contains("answered 403");
    match &error.code {
        crate::PhoneErrorCode::IceFetchFailed if refused(&error.message) => ErrorKind::SignInFailed,
        code => error_kind(code),
    }
}

/// A note under the destination field when what was typed or pasted is not all dialable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialInputNotice {
    /// Letters or symbols other than `+ * # 0-9 A-D` and separators were dropped.
    IgnoredCharacters,
    /// More than [`crate::destination::MAX_DESTINATION_LEN`] dial characters; the rest was cut.
    TooLong,
}

/// Checks raw typed or pasted text. Spaces, dashes, dots, slashes and parentheses are
/// separators people type in numbers, so they are silently dropped.
pub fn dial_input_notice(raw: &str) -> Option<DialInputNotice> {
    let mut dialable = 0usize;
    let mut ignored = false;
    for c in raw.chars() {
        match c.to_ascii_uppercase() {
            '+' | '*' | '#' | '0'..='9' | 'A'..='D' => dialable += 1,
            ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}' => {}
            _ => ignored = true,
        }
    }
    if dialable > crate::destination::MAX_DESTINATION_LEN {
        Some(DialInputNotice::TooLong)
    } else if ignored {
        Some(DialInputNotice::IgnoredCharacters)
    } else {
        None
    }
}

/// The 12 keys of the dial pad with the letters printed under the digits (ITU E.161).
pub const KEYPAD: [(char, &str); 12] = [
    ('1', ""),
    ('2', "ABC"),
    ('3', "DEF"),
    ('4', "GHI"),
    ('5', "JKL"),
    ('6', "MNO"),
    ('7', "PQRS"),
    ('8', "TUV"),
    ('9', "WXYZ"),
    ('*', ""),
    ('0', "+"),
    ('#', ""),
];

/// The attended-transfer pair the in-call screen offers to complete or cancel for `current`:
/// `(original, consult)` when `current` is either leg of a transfer in progress.
pub fn transfer_pair(calls: &[CallInfo], current: CallHandle) -> Option<(CallHandle, CallHandle)> {
    let call = calls.iter().find(|c| c.handle == current)?;
    match (call.consult_for, call.consulted_by) {
        (Some(original), _) => Some((original, current)),
        (None, Some(consult)) => Some((current, consult)),
        (None, None) => None,
    }
}

/// Sorts a short list stably (an insertion sort: near-linear on the nearly sorted lists it gets).
/// Why not `sort_by`: the standard stable sort is several KB of code per element type in the
/// embed bundle, and these lists hold a few form fields or some pages of call history (size work).
pub(crate) fn sort_short_by<T>(items: &mut [T], mut ordering: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    for next in 1..items.len() {
        let mut at = next;
        while at > 0 && ordering(&items[at - 1], &items[at]) == std::cmp::Ordering::Greater {
            items.swap(at - 1, at);
            at -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sort_orders_like_the_standard_stable_sort_and_keeps_ties_in_place() {
        let pairs = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e'), (0, 'f'), (3, 'g')];
        let mut short = pairs.to_vec();
        sort_short_by(&mut short, |a, b| a.0.cmp(&b.0));
        let mut standard = pairs.to_vec();
        standard.sort_by_key(|pair| pair.0);
        assert_eq!(short, standard);
        let mut empty: Vec<u8> = Vec::new();
        sort_short_by(&mut empty, |a, b| a.cmp(b));
        assert!(empty.is_empty());
    }

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

    fn call(handle: u64, direction: Direction, phase: CallPhase) -> CallInfo {
        CallInfo {
            handle: CallHandle(handle),
            call_id: Some(format!("call_{handle}")),
            direction,
            phase,
            remote_number: "+16195550177".to_owned(),
            remote_name: None,
            local_number: None,
            held_by: None,
            muted: false,
            answered_at_ms: None,
            answering: false,
            ending: false,
            ringback: false,
            early_media: false,
            consult_for: None,
            consulted_by: None,
            restored: false,
            end_reason: None,
        }
    }

    #[test]
    fn end_summary_names_busy_no_answer_failed_and_declined() {
        use ds_protocol::signalling::EndReason;
        let mut ended = call(1, Direction::Outbound, CallPhase::Ended);
        for (reason, summary) in [
            (EndReason::Busy, EndSummary::Busy),
            (EndReason::NoAnswer, EndSummary::NoAnswer),
            (EndReason::Failed, EndSummary::Failed),
            (EndReason::Rejected, EndSummary::Declined),
            (EndReason::Transferred, EndSummary::Transferred),
            (EndReason::Hangup, EndSummary::Ended),
            (EndReason::Unknown("gone".into()), EndSummary::Ended),
        ] {
            ended.end_reason = Some(reason.clone());
            assert_eq!(end_summary(&ended), summary, "{reason:?}");
        }
    }

    #[test]
    fn quality_bands_follow_mos_and_one_way_audio_is_always_poor() {
        assert_eq!(quality_level(4.4, false), QualityLevel::Good);
        assert_eq!(quality_level(4.0, false), QualityLevel::Good);
        assert_eq!(quality_level(3.6, false), QualityLevel::Fair);
        assert_eq!(quality_level(3.0, false), QualityLevel::Poor);
        assert_eq!(quality_level(4.4, true), QualityLevel::Poor);
    }

    #[test]
    fn audio_is_heard_only_with_packets_and_energy() {
        assert!(hears_audio(50, 0.2));
        assert!(!hears_audio(50, 0.0), "silence played out");
        assert!(!hears_audio(0, 0.0));
    }

    #[test]
    fn error_codes_group_by_what_the_user_can_do() {
        use crate::PhoneErrorCode as C;
        assert_eq!(error_kind(&C::MicPermissionDenied), ErrorKind::MicrophoneBlocked);
        assert_eq!(error_kind(&C::SessionReplaced), ErrorKind::OtherTab);
        assert_eq!(error_kind(&C::AuthExpired), ErrorKind::SignedOut);
        assert_eq!(error_kind(&C::AudioPlaybackBlocked), ErrorKind::AudioBlocked);
        assert_eq!(error_kind(&C::Other("brand_new".into())), ErrorKind::Generic);
    }

    #[test]
    fn an_ice_fetch_refused_with_401_reads_as_a_failed_sign_in() {
        use crate::{PhoneError, PhoneErrorCode as C};
        let refused = PhoneError::new(C::IceFetchFailed, "the ICE-server request answered 401 bad token");
        assert_eq!(error_kind_for(&refused), ErrorKind::SignInFailed);
        let unreachable = PhoneError::new(C::IceFetchFailed, "the ICE-server request failed: timeout");
        assert_eq!(error_kind_for(&unreachable), ErrorKind::Network);
    }

    #[test]
    fn separators_pass_silently_but_letters_and_overlong_input_are_explained() {
        assert_eq!(dial_input_notice("+1 (415) 555-0142"), None);
        assert_eq!(dial_input_notice("*72#"), None);
        assert_eq!(dial_input_notice("call 415"), Some(DialInputNotice::IgnoredCharacters));
        assert_eq!(dial_input_notice(&"9".repeat(40)), Some(DialInputNotice::TooLong));
    }

    #[test]
    fn keypad_has_twelve_keys_with_e161_letters() {
        assert_eq!(KEYPAD.len(), 12);
        assert_eq!(KEYPAD[6], ('7', "PQRS"));
        assert_eq!(KEYPAD.iter().map(|(k, _)| *k).collect::<String>(), "123456789*0#");
    }

    #[test]
    fn disabled_controls_carry_a_translatable_reason_matching_the_english_text() {
        let ringing = call(1, Direction::Outbound, CallPhase::Ringing);
        let controls = call_controls(&ringing, ConnectionStatus::Connected);
        assert_eq!(controls.hold.why, Some(DisabledReason::NotAnswered));
        assert_eq!(controls.hold.reason, Some(DisabledReason::NotAnswered.english()));
        assert_eq!(controls.complete_transfer.why, Some(DisabledReason::NoTransfer));
        assert_eq!(controls.hangup.why, None);
    }

    #[test]
    fn dialing_is_busy_while_a_leg_awaits_the_server_or_four_calls_are_live() {
        assert!(!dial_busy(&[]));
        let mut placing = call(1, Direction::Outbound, CallPhase::Trying);
        placing.call_id = None;
        assert!(dial_busy(&[placing]));
        let four: Vec<CallInfo> = (1..=4).map(|h| call(h, Direction::Inbound, CallPhase::Held)).collect();
        assert!(dial_busy(&four));
        assert!(!dial_busy(&four[..3]));
    }

    #[test]
    fn transfer_pair_is_found_from_either_leg() {
        let mut original = call(1, Direction::Inbound, CallPhase::Held);
        let mut consult = call(2, Direction::Outbound, CallPhase::Active);
        original.consulted_by = Some(CallHandle(2));
        consult.consult_for = Some(CallHandle(1));
        let calls = vec![original, consult, call(3, Direction::Inbound, CallPhase::Active)];
        assert_eq!(transfer_pair(&calls, CallHandle(1)), Some((CallHandle(1), CallHandle(2))));
        assert_eq!(transfer_pair(&calls, CallHandle(2)), Some((CallHandle(1), CallHandle(2))));
        assert_eq!(transfer_pair(&calls, CallHandle(3)), None);
    }

    #[test]
    fn remote_hold_and_outbound_progress_have_their_own_state_words() {
        let mut held = call(1, Direction::Inbound, CallPhase::Held);
        held.held_by = Some(HeldBy::Remote);
        assert_eq!(call_state_kind(&held), CallStateKind::HeldByRemote);
        assert_eq!(call_state_kind(&call(2, Direction::Outbound, CallPhase::Trying)), CallStateKind::Calling);
        assert_eq!(
            call_state_kind(&call(3, Direction::Outbound, CallPhase::Ringing)),
            CallStateKind::Ringing
        );
        assert_eq!(
            call_state_kind(&call(4, Direction::Inbound, CallPhase::Ringing)),
            CallStateKind::Incoming
        );
    }
}
