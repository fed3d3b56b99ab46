//! Fuzz smoke run on stable Rust: the `cargo fuzz` targets of `fuzz/` (signalling frames both
//! ways, REST bodies, SDP offers handed to ds-media, JWT verification) driven by a small
//! deterministic mutator for a fixed number of cases, so CI (no nightly) runs them on every
//! `cargo xtask test`. Properties: no panic, no 5xx, no forged token verifies, and a parsed frame
//! re-serialises to a frame that parses the same way. Crashes found by `cargo fuzz` become
//! seeds here.

mod common;
mod security_support;
mod signalling_support;

use axum::http::Method;
use common::KEY;
use ds_local::routes::{Access, table};
use ds_protocol::signalling::{ParsedFrame, parse_client_frame, parse_server_frame};
use security_support::Tenants;

/// Fixed seed and case counts: the run is the same every time and bounded.
const SEED: u64 = 0x5eed_d1a1_57ac_0001;
const FRAME_CASES: usize = 20_000;
const TOKEN_CASES: usize = 5_000;
const BODY_CASES_PER_ROUTE: usize = 40;
const SDP_CASES: usize = 300;

/// xorshift64*: enough randomness for mutation, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to JSON, JWTs and SDP parsers.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\\",
    b"\\u0000",
    b"null",
    b"-1",
    b"1e999",
    b"0.0000001",
    b"18446744073709551616",
    b"\xff",
    b"\xc3\x28",
    b"\r\n",
    b"a=",
    b"m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n",
    b".",
    b"=",
    b"eyJ",
    b"\"type\":",
    b"\"req_id\":",
    b"\"call_id\":",
    b"true",
    b"\0",
];

/// One random edit of `input`: flip, insert, delete, duplicate or splice an interesting token.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if !out.is_empty() => {
                let end = (at + rng.below(8)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, token.iter().copied());
            }
            4 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(32)).min(out.len());
                let piece = out[start..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => out.truncate(at),
        }
    }
    out
}

fn client_seeds() -> Vec<&'static str> {
    vec![
        r#"{"type":"authenticate","req_id":"r1","token":"eyJhbGciOiJFZERTQSJ9.e30.sig"}"#,
        r#"{"type":"call.create","req_id":"r2","destination":"+15005550001","sdp":"v=0\r\n"}"#,
        r#"{"type":"call.answer","call_id":"call_1","sdp":"v=0\r\n"}"#,
        r#"{"type":"call.hangup","call_id":"call_1"}"#,
        r#"{"type":"call.dtmf","call_id":"call_1","digits":"123#"}"#,
        r#"{"type":"call.transfer","call_id":"call_1","destination":"102"}"#,
        r#"{"type":"presence.subscribe","req_id":"r3","users":["user_1","user_2"]}"#,
        r#"{"type":"auth.refresh","req_id":"r4","token":"x"}"#,
        r#"{"type":"ping","req_id":"p"}"#,
    ]
}

fn server_seeds() -> Vec<&'static str> {
    vec![
        r#"{"type":"authenticated","req_id":"r1","user_id":"user_1","account_id":"acct_1"}"#,
        r#"{"type":"call.incoming","call_id":"call_1","from":"+16195550177","to":"101","sdp":"v=0\r\n"}"#,
        r#"{"type":"error","code":"rate_limited","message":"slow down","req_id":"r2","fatal":false}"#,
        r#"{"type":"call.ended","call_id":"call_1","reason":"completed","duration":12}"#,
        r#"{"type":"presence.list","req_id":"r3","users":[]}"#,
        r#"{"type":"pong","req_id":"p"}"#,
    ]
}

/// Parses, and for a known frame checks that its serialisation parses back to the same value.
fn frame_round_trips<T: serde::Serialize + PartialEq + std::fmt::Debug>(
    parsed: ParsedFrame<T>,
    reparse: impl Fn(&str) -> ParsedFrame<T>,
    input: &str,
) {
    if let ParsedFrame::Known(message) = parsed {
        let text = serde_json::to_string(&message).expect("a parsed frame serialises");
        match reparse(&text) {
            ParsedFrame::Known(again) => assert_eq!(again, message, "{input} → {text}"),
            _ => panic!("{input} parsed but its serialisation {text} does not"),
        }
    }
}

#[test]
fn signalling_frames_in_both_directions_never_panic_and_round_trip() {
    let mut rng = Rng(SEED);
    let mut known = 0;
    for (seeds, client) in [(client_seeds(), true), (server_seeds(), false)] {
        for case in 0..FRAME_CASES {
            let seed = seeds[case % seeds.len()];
            let input = String::from_utf8_lossy(&mutate(&mut rng, seed.as_bytes())).into_owned();
            if client {
                let parsed = parse_client_frame(&input);
                known += usize::from(matches!(parsed, ParsedFrame::Known(_)));
                frame_round_trips(parsed, parse_client_frame, &input);
            } else {
                let parsed = parse_server_frame(&input);
                known += usize::from(matches!(parsed, ParsedFrame::Known(_)));
                frame_round_trips(parsed, parse_server_frame, &input);
            }
        }
    }
    println!("fuzz smoke: {} frames, {known} still valid after mutation", 2 * FRAME_CASES);
    assert!(known > 0, "the mutator never produced a valid frame: the seeds are wrong");
}

#[tokio::test]
async fn mutated_tokens_never_verify_and_never_panic() {
    let tenants = Tenants::seed().await;
    let state = &tenants.platform.state;
    let now = state.clock().now();
    let genuine = [
        tenants.platform.user_token(&tenants.victim_user).await,
        tenants.platform.session(&tenants.victim_account).await,
    ];
    let mut rng = Rng(SEED ^ 0x70c3);
    for case in 0..TOKEN_CASES {
        let original = &genuine[case % genuine.len()];
        let mutated = String::from_utf8_lossy(&mutate(&mut rng, original.as_bytes())).into_owned();
        let verified = state.tokens().verify_any(&mutated, now);
        if verified.is_ok() {
            // Base64url has slack bits in the last character, so an edit there may decode to
            // the same bytes; anything else that verifies is a forgery.
            let same = |a: &str, b: &str| {
                let decode = |t: &str| {
                    t.split('.')
                        .map(|p| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p))
                        .collect::<Result<Vec<_>, _>>()
                };
                matches!((decode(a), decode(b)), (Ok(x), Ok(y)) if x == y)
            };
            assert!(same(&mutated, original), "a mutated token verified: {mutated}");
        }
    }
    println!("fuzz smoke: {TOKEN_CASES} mutated tokens, none forged");
}

#[tokio::test]
async fn mutated_rest_bodies_never_get_a_server_error() {
    let tenants = Tenants::seed().await;
    let body_seeds = [
        r#"{"name":"Dr. Ortiz","email":"a@b.test","extension":"301"}"#,
        r#"{"user":"user_x","dial_string":"+15005550001","caller_id":"+14155550123"}"#,
        r#"{"name":"Plan","entry_node":"a","nodes":[{"id":"a","type":"hang_up","config":{}}]}"#,
        r#"{"name":"Hours","timezone":"America/New_York","ranges":[{"day":1,"start":"08:00","end":"17:00"}]}"#,
        r#"{"url":"https://x.test/h","enabled_events":["*"],"phone_numbers":["+14155550100"]}"#,
        r#"{"type":"dial_plan","id":"dp_1","members":[{"extension":"201"}],"is_read":true}"#,
    ];
    let mut rng = Rng(SEED ^ 0xb0d1);
    let mut requests = 0;
    for route in table().into_iter().filter(|r| r.method == Method::POST && r.access != Access::Public) {
        let path = tenants.victim_path(route.path).unwrap_or_else(|| panic!("no fixture for {}", route.path));
        let (bearer, account) = match route.access {
            Access::Platform => (KEY.to_owned(), None),
            Access::User => (tenants.platform.user_token(&tenants.victim_user).await, None),
            _ => (KEY.to_owned(), Some(tenants.victim_account.clone())),
        };
        for case in 0..BODY_CASES_PER_ROUTE {
            let body = mutate(&mut rng, body_seeds[case % body_seeds.len()].as_bytes());
            let mut request = axum::http::Request::builder()
                .method(Method::POST)
                .uri(&path)
                .header("authorization", format!("Bearer {bearer}"))
                .header("content-type", "application/json");
            if let Some(account) = &account {
                request = request.header("dialstack-account", account);
            }
            let reply =
                tenants.platform.send(request.body(axum::body::Body::from(body.clone())).unwrap()).await;
            assert!(
                !reply.status.is_server_error(),
                "POST {path} with {:?}: {} {}",
                String::from_utf8_lossy(&body),
                reply.status,
                reply.text
            );
            assert!(reply.body["error"].is_string() || reply.status.is_success(), "{path}: {}", reply.text);
            requests += 1;
        }
    }
    println!("fuzz smoke: {requests} mutated REST bodies, 0 server errors");
}

#[tokio::test]
async fn mutated_sdp_offers_are_refused_or_answered_by_the_media_engine_without_panicking() {
    let (engine, _events) = ds_media::MediaEngine::start([127, 0, 0, 1].into()).expect("engine starts");
    // A real offer from the test peer (str0m, full ICE, Opus + telephone-event), as a browser sends.
    let (_peer, offer) = signalling_support::Peer::offerer();
    let offer = offer.as_str();
    let mut rng = Rng(SEED ^ 0x5d90);
    let mut answered = 0;
    for _ in 0..SDP_CASES {
        let mutated = String::from_utf8_lossy(&mutate(&mut rng, offer.as_bytes())).into_owned();
        if let Ok((leg, _answer)) = engine.answer_offer(&mutated).await {
            answered += 1;
            engine.close(leg).await.expect("an answered leg closes");
        }
    }
    // The engine is still healthy: the untouched offer is answered.
    let (leg, answer) = engine.answer_offer(offer).await.expect("the seed offer is answered");
    assert!(answer.starts_with("v=0"));
    engine.close(leg).await.unwrap();
    println!("fuzz smoke: {SDP_CASES} mutated SDP offers, {answered} answered, the rest refused");
}
