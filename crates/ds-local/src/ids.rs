//! Resource ids: TypeIDs (rest.md §1.3) — a prefix, `_`, and 26 lowercase Crockford base32
//! characters of a UUIDv7 (48-bit millisecond time, then random bits).

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Encodes 128 bits as 26 base32 characters (the first carries only 3 bits, so it is 0–7).
fn encode(value: u128) -> String {
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 0x1f) as usize] as char).collect()
}

/// Builds UUIDv7 bits from a millisecond timestamp and 10 random bytes.
fn uuid_v7(ms: i64, random: [u8; 10]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&(ms as u64).to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random);
    bytes[6] = 0x70 | (bytes[6] & 0x0f); // version 7
    bytes[8] = 0x80 | (bytes[8] & 0x3f); // RFC 4122 variant
    u128::from_be_bytes(bytes)
}

/// A fresh id, time-ordered by `ms`.
pub fn new_id(prefix: &str, ms: i64) -> String {
    format!("{prefix}_{}", encode(uuid_v7(ms, random_bytes())))
}

/// A stable id derived from a name, for seeded demo objects that pages refer to by id.
pub fn derived_id(prefix: &str, name: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    // A fixed instant (2026-01-01T00:00:00Z) keeps demo ids recognisable and stable.
    format!("{prefix}_{}", encode(uuid_v7(1_767_225_600_000, random)))
}

/// The millisecond timestamp inside an id made by [`new_id`] (None for foreign ids).
pub fn timestamp_ms(id: &str) -> Option<i64> {
    let suffix = id.rsplit_once('_').map_or(id, |(_, suffix)| suffix);
    if suffix.len() != 26 {
        return None;
    }
    let mut value: u128 = 0;
    for byte in suffix.bytes() {
        let digit = ALPHABET.iter().position(|&c| c == byte)?;
        value = (value << 5) | digit as u128;
    }
    Some((value >> 80) as i64)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random secret with a readable prefix (`whsec_…`).
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}_{}", hex(&random_bytes::<24>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_prefix_and_26_lowercase_base32_characters() {
        let id = new_id("acct", 1_788_271_203_000);
        let (prefix, suffix) = id.split_once('_').unwrap();
        assert_eq!(prefix, "acct");
        assert_eq!(suffix.len(), 26);
        assert!(suffix.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(suffix.as_bytes()[0] <= b'7');
    }

    #[test]
    fn the_timestamp_survives_the_round_trip() {
        let id = new_id("call", 1_788_271_203_123);
        assert_eq!(timestamp_ms(&id), Some(1_788_271_203_123));
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        assert!(new_id("user", 1_000) < new_id("user", 2_000));
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(derived_id("user", "alice"), derived_id("user", "alice"));
        assert_ne!(derived_id("user", "alice"), derived_id("user", "bob"));
    }
}
