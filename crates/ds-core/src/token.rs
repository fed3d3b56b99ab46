//! Reading the two claims a client may rely on from a user token (protocol.md §3.4).
//!
//! No signature check: the server verifies; the client only needs `exp` to schedule the refresh
//! and `sub` to namespace local storage, and must keep working if the token cannot be decoded.

use ds_protocol::json::Json;

/// The claims the client reads. Either may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenClaims {
    /// The user id (`user_…`).
    pub sub: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: Option<u64>,
}

/// Decodes the JWT payload (second dot-separated part, base64url with or without padding).
/// Returns `None` for anything that is not a JWT with a JSON object payload.
pub fn read_claims(token: &str) -> Option<TokenClaims> {
    let mut parts = token.trim().split('.');
    let _header = parts.next()?;
    let payload = parts.next()?;
    let bytes = decode_base64url(payload)?;
    let value = Json::parse(std::str::from_utf8(&bytes).ok()?).ok()?;
    let object = value.as_object()?;
    let sub = object.get("sub").and_then(|v| v.as_str()).map(str::to_owned);
    let exp = object.get("exp").and_then(|v| {
        v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
    });
    Some(TokenClaims { sub, exp })
}

fn decode_base64url(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for byte in input.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // A single leftover sextet cannot encode a byte: the input was truncated.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Encodes bytes as unpadded base64url. Used by tests and by hosts that need a throwaway token.
pub fn encode_base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let emit = chunk.len() + 1;
        for i in 0..emit {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_an_unsigned_payload() {
        let payload = encode_base64url(br#"{"sub":"user_1","exp":1790000000,"acct":"acct_1"}"#);
        let claims = read_claims(&format!("eyJhbGciOiJFZERTQSJ9.{payload}.sig")).expect("decodes");
        assert_eq!(claims, TokenClaims { sub: Some("user_1".into()), exp: Some(1_790_000_000) });
    }

    #[test]
    fn garbage_tokens_read_as_none() {
        for token in ["", "abc", "a.!!!.c", "a.e30", "a.bm90IGpzb24.c"] {
            let claims = read_claims(token);
            // `e30` is `{}`: a decodable payload without the claims.
            if token == "a.e30" {
                assert_eq!(claims, Some(TokenClaims::default()));
            } else {
                assert_eq!(claims, None, "{token}");
            }
        }
    }
}
