//! Webhook signatures as protocol.md §13 defines them:
//! `X-DialStack-Signature: t=<unix seconds>,v1=<lowercase hex>` where the hex is HMAC-SHA256,
//! keyed with the endpoint secret, over `<t>` + `.` + the raw body bytes. Receivers compare in
//! constant time and reject timestamps more than 300 s away from now.
//!
//! Pure: the caller passes "now", so the tolerance is tested without sleeping.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the signature (HTTP header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-dialstack-signature";

/// How far the signed timestamp may be from our clock, either way. A replayed capture older
/// than this is refused even though its MAC is genuine.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery was not accepted as coming from DialStack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-DialStack-Signature header is missing")]
    Missing,
    #[error("the X-DialStack-Signature header is malformed (expected t=<unix>,v1=<hex>)")]
    Malformed,
    #[error("the signature timestamp {timestamp} is more than {TOLERANCE_SECONDS} s from now ({now})")]
    Stale { timestamp: i64, now: i64 },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// The header value DialStack would send for `body` signed with `secret` at `unix_seconds`.
/// Receivers do not need it; tests and local tools use it to produce genuine deliveries.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mac = mac_over(secret, unix_seconds, body);
    format!("t={unix_seconds},v1={}", to_hex(&mac.finalize().into_bytes()))
}

/// Checks one delivery. `header` is the raw `X-DialStack-Signature` value (or `None` when the
/// request had none); `body` must be the bytes exactly as received, before any JSON parsing.
///
/// Several `v1=` entries are allowed (a sender rotating secrets may sign with both); one match is
/// enough. The timestamp is checked before the MAC so a stale replay is named as such.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now_unix: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            Some(("v1", value)) => candidates.push(from_hex(value).ok_or(SignatureError::Malformed)?),
            // Other schemes (v0, future versions) are ignored, as the header format allows.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_unix - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale { timestamp, now: now_unix });
    }
    // `verify_slice` compares in constant time, so timing reveals nothing about the right MAC.
    let matches =
        candidates.iter().any(|candidate| mac_over(secret, timestamp, body).verify_slice(candidate).is_ok());
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn mac_over(secret: &str, unix_seconds: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_788_271_200;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"call.end"}"#;

    #[test]
    fn a_genuine_signature_is_accepted() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()));
    }

    #[test]
    fn signature_matches_the_protocol_formula() {
        // Computed independently: Python's hmac.new(secret, b"1788271200." + body, sha256).
        assert_eq!(
            sign(SECRET, NOW, BODY),
            "t=1788271200,v1=da17b60dea1b55a56ddd9acffd61ff608a9120e515e1f03b184477f9a30d022e"
        );
    }

    #[test]
    fn a_signature_made_with_another_secret_is_a_mismatch() {
        let header = sign("whsec_forged", NOW, BODY);
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_changed_body_is_a_mismatch() {
        let header = sign(SECRET, NOW, BODY);
        let tampered = br#"{"id":"evt_1","type":"call.end","x":1}"#;
        assert_eq!(verify(SECRET, Some(&header), tampered, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_replayed_timestamp_cannot_be_moved_to_now() {
        // The MAC covers t, so rewriting t to pass the freshness check breaks the MAC.
        let old = sign(SECRET, NOW - 3600, BODY);
        let moved = old.replacen(&format!("t={}", NOW - 3600), &format!("t={NOW}"), 1);
        assert_eq!(verify(SECRET, Some(&moved), BODY, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn timestamps_beyond_300_seconds_either_way_are_stale() {
        for skew in [-TOLERANCE_SECONDS - 1, TOLERANCE_SECONDS + 1, -86_400] {
            let header = sign(SECRET, NOW + skew, BODY);
            assert_eq!(
                verify(SECRET, Some(&header), BODY, NOW),
                Err(SignatureError::Stale { timestamp: NOW + skew, now: NOW })
            );
        }
        for skew in [-TOLERANCE_SECONDS, TOLERANCE_SECONDS, 0] {
            let header = sign(SECRET, NOW + skew, BODY);
            assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()), "skew {skew}");
        }
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(verify(SECRET, None, BODY, NOW), Err(SignatureError::Missing));
        for bad in [
            "",
            "v1=abcd",
            "t=abc,v1=abcd",
            &format!("t={NOW}"),
            &format!("t={NOW},v1=zz"),
            &format!("t={NOW},v1=abc"),
        ] {
            assert_eq!(verify(SECRET, Some(bad), BODY, NOW), Err(SignatureError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn any_matching_v1_entry_is_enough() {
        let genuine = sign(SECRET, NOW, BODY);
        let v1 = genuine.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={},v1={v1},v0=ignored", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()));
    }
}
