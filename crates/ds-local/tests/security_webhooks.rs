//! Security suite, webhook signatures (protocol.md §13): ds-local's receiver-side helper
//! `webhooks::verify_signature` refuses stale and future timestamps, replays of a signature under
//! a new timestamp, and malformed headers without panicking; the sender signs with "now".

use ds_local::webhooks::{signature_header, verify_signature};

const SECRET: &str = "whsec_security_suite";
const BODY: &[u8] = br#"{"id":"evt_1","type":"call.end","account_id":"acct_1","data":{}}"#;
const NOW: i64 = 1_788_271_200;

#[test]
fn a_signature_is_accepted_within_300_seconds_either_way_and_refused_beyond() {
    for skew in [0, 1, -1, 299, -299, 300, -300] {
        let header = signature_header(SECRET, NOW + skew, BODY);
        assert!(verify_signature(SECRET, &header, BODY, NOW), "skew {skew}");
    }
    for skew in [301, -301, 3600, -86_400, 10 * 365 * 86_400] {
        let header = signature_header(SECRET, NOW + skew, BODY);
        assert!(!verify_signature(SECRET, &header, BODY, NOW), "stale/future by {skew} s was accepted");
    }
}

#[test]
fn a_replayed_signature_under_a_fresh_timestamp_is_refused() {
    let old = signature_header(SECRET, NOW - 3600, BODY);
    let v1 = old.split_once(",v1=").unwrap().1;
    // The attacker keeps the old MAC and rewrites t to now.
    assert!(!verify_signature(SECRET, &format!("t={NOW},v1={v1}"), BODY, NOW));
    // Or sends both timestamps, hoping the check and the MAC read different ones.
    assert!(!verify_signature(SECRET, &format!("t={NOW},t={},v1={v1}", NOW - 3600), BODY, NOW));
    assert!(!verify_signature(SECRET, &format!("t={},t={NOW},v1={v1}", NOW - 3600), BODY, NOW));
}

#[test]
fn malformed_headers_are_refused_without_panicking() {
    let good = signature_header(SECRET, NOW, BODY);
    let v1 = good.split_once(",v1=").unwrap().1.to_owned();
    let extreme = [i64::MIN, i64::MIN + 1, i64::MAX, -1];
    for t in extreme {
        assert!(!verify_signature(SECRET, &format!("t={t},v1={v1}"), BODY, NOW), "t={t}");
        assert!(!verify_signature(SECRET, &format!("t={t},v1={v1}"), BODY, i64::MIN), "t={t}, now=MIN");
        assert!(!verify_signature(SECRET, &format!("t={t},v1={v1}"), BODY, i64::MAX), "t={t}, now=MAX");
    }
    for header in [
        String::new(),
        "t=".to_owned(),
        format!("v1={v1}"),
        format!("t={NOW}"),
        format!("t={NOW},v1="),
        format!("t={NOW},v1={}", &v1[..63]),
        format!("t={NOW},v1={}zz", &v1[..62]),
        format!("t={NOW},v1=é{}", &v1[2..]),
        format!("t=+{NOW},v1={v1}x"),
        format!("t={NOW}.0,v1={v1}"),
        ",,,,".to_owned(),
        "t=1,v1=00".repeat(1000),
    ] {
        assert!(!verify_signature(SECRET, &header, BODY, NOW), "{header}");
    }
    // The body and the secret are bound too.
    assert!(!verify_signature(SECRET, &good, b"{}", NOW));
    assert!(!verify_signature("whsec_other", &good, BODY, NOW));
}

#[test]
fn upper_case_hex_of_the_right_mac_is_still_the_right_mac() {
    // Receivers differ on hex case; the helper compares bytes, so this is a tolerance, not a hole.
    let good = signature_header(SECRET, NOW, BODY);
    let (t, v1) = good.split_once(",v1=").unwrap();
    assert!(verify_signature(SECRET, &format!("{t},v1={}", v1.to_uppercase()), BODY, NOW));
}
