//! JWT verification: arbitrary input never panics and never verifies (the key is fresh per
//! process, so only a token it minted could).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn tokens() -> &'static ds_local::Tokens {
    static TOKENS: OnceLock<ds_local::Tokens> = OnceLock::new();
    TOKENS.get_or_init(|| ds_local::Tokens::load_or_create(None).expect("an ephemeral key"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = chrono::Utc::now();
    assert!(tokens().verify_any(text, now).is_err(), "a token nobody minted verified: {text}");
});
