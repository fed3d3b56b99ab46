//! Click-to-call seam and destination rules (protocol.md §11.5, §16.8; rest.md §13.2).
//!
//! `POST /v1/calls` records the call and publishes `call.initiated`; making phones ring is the
//! signalling layer's job, which plugs in through [`CallLauncher`]
//! ([`crate::AppState::set_call_launcher`]). Until one is plugged in the call stays `initiated`
//! (status null): nothing pretends it rang or completed.

/// A click-to-call to start: ring `user_id`'s devices, then dial `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickToCall {
    /// The CallLog id; the signalling `call_id` of the first leg should equal it (rest.md §13.2).
    pub call_id: String,
    pub account_id: String,
    pub user_id: String,
    pub destination: Destination,
    pub caller_id: Option<String>,
}

/// Starts the ringing of a recorded click-to-call. Must not block: spawn work.
pub trait CallLauncher: Send + Sync + std::fmt::Debug {
    fn launch(&self, call: ClickToCall);
}

/// The launcher in place until signalling is attached: the call stays `initiated`.
#[derive(Debug, Clone, Copy)]
pub struct NoSignalling;

impl CallLauncher for NoSignalling {
    fn launch(&self, call: ClickToCall) {
        tracing::info!(call_id = %call.call_id, "click-to-call recorded; no signalling attached to ring the user");
    }
}

/// Where a dial string leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An E.164 number (US national numbers are normalised to `+1…`).
    Number(String),
    /// An extension of the caller's account (existence is checked by the caller of
    /// [`parse_destination`]).
    Extension(String),
    /// `911` / `933`.
    Emergency(String),
}

impl Destination {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Number(text) | Self::Extension(text) | Self::Emergency(text) => text,
        }
    }
}

/// Parses a click-to-call `dial_string` (rest.md §13.2): E.164, a US national number (with the
/// usual punctuation), an extension (2–6 digits, no leading zero), or 911/933.
pub fn parse_destination(raw: &str) -> Option<Destination> {
    let raw = raw.trim();
    if raw == "911" || raw == "933" {
        return Some(Destination::Emergency(raw.to_owned()));
    }
    if let Some(digits) = raw.strip_prefix('+') {
        let valid = (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        return valid.then(|| Destination::Number(raw.to_owned()));
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) && (2..=6).contains(&raw.len()) && !raw.starts_with('0') {
        return Some(Destination::Extension(raw.to_owned()));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit() || b" ()-.".contains(&b)) {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        10 => digits.as_str(),
        11 if digits.starts_with('1') => &digits[1..],
        _ => return None,
    };
    // NANP: area code and exchange start with 2–9.
    let bytes = national.as_bytes();
    (bytes[0] >= b'2' && bytes[3] >= b'2').then(|| Destination::Number(format!("+1{national}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_national_extension_and_emergency_numbers_are_recognised() {
        assert_eq!(parse_destination("+16175551234"), Some(Destination::Number("+16175551234".into())));
        assert_eq!(parse_destination("(617) 555-1234"), Some(Destination::Number("+16175551234".into())));
        assert_eq!(parse_destination("16175551234"), Some(Destination::Number("+16175551234".into())));
        assert_eq!(parse_destination("101"), Some(Destination::Extension("101".into())));
        assert_eq!(parse_destination("911"), Some(Destination::Emergency("911".into())));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "abc", "+", "+0123456", "0101", "1234567", "617-555-12345", "+1617555123456789"] {
            assert_eq!(parse_destination(bad), None, "{bad:?}");
        }
    }
}
