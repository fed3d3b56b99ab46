//! Rate limits per credential (protocol.md §3.5, §9; rest.md §1.1): a token bucket per caller,
//! refused REST requests get `429` with `Retry-After` (whole seconds), refused signalling frames
//! get a non-fatal `rate_limited` error frame and are not processed.
//!
//! Who a bucket belongs to: each API key; each account for account sessions (every session of an
//! account shares one bucket); each user for user tokens, on REST and on the socket (a user's
//! tabs and tokens share one bucket, so minting tokens does not buy more requests). Requests
//! whose credential does not verify are not counted: they end in a 401 that costs one signature
//! check, and counting them would let anyone fill the table with made-up keys.
//!
//! The buckets are sans-IO: time comes in as milliseconds from the platform clock, so tests
//! with a `ManualClock` drive refills by hand.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ds_protocol::signalling::{ErrorCode, ErrorFrame, ServerMessage};

use crate::AppState;
use crate::auth::bearer;
use crate::error::ApiError;
use crate::tokens::VerifiedToken;

/// One limit: a sustained rate and how many may come at once. `per_second == 0` turns it off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: f64,
}

impl Limit {
    pub const OFF: Limit = Limit { per_second: 0.0, burst: 0.0 };

    pub fn new(per_second: f64, burst: f64) -> Self {
        Self { per_second, burst: burst.max(1.0) }
    }

    pub fn is_off(&self) -> bool {
        self.per_second <= 0.0
    }
}

/// `--rate-limit-…` values: `RATE` (burst = 4 × rate) or `RATE/BURST`; `0` or `off` disables.
impl FromStr for Limit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "0" || text.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        let number = |part: &str| {
            part.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| format!("`{part}` is not a positive number (use RATE, RATE/BURST or off)"))
        };
        match text.split_once('/') {
            Some((rate, burst)) => Ok(Self::new(number(rate)?, number(burst)?)),
            None => {
                let rate = number(text)?;
                Ok(Self::new(rate, rate * 4.0))
            }
        }
    }
}

/// The limits ds-local enforces (docs/decisions.md, "Hardening").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// REST requests per API key: partners' backends provision in bulk.
    pub api_key: Limit,
    /// REST requests per account (account sessions) and per user (user tokens).
    pub token: Limit,
    /// Signalling frames per user (per socket before `authenticate`).
    pub signalling: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            api_key: Limit::new(1000.0, 5000.0),
            token: Limit::new(50.0, 200.0),
            signalling: Limit::new(50.0, 200.0),
        }
    }
}

impl RateLimits {
    pub const OFF: RateLimits = RateLimits { api_key: Limit::OFF, token: Limit::OFF, signalling: Limit::OFF };
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Buckets kept before full (idle) ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// Token buckets for one limit, keyed by caller.
#[derive(Debug)]
pub struct Buckets {
    limit: Limit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub fn new(limit: Limit) -> Self {
        Self { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `key`'s bucket at `now_ms`, or says how many whole seconds until one
    /// is there (at least 1).
    pub fn take(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        if self.limit.is_off() {
            return Ok(());
        }
        let Limit { per_second, burst } = self.limit;
        let refill = |bucket: &Bucket| {
            let elapsed_s = (now_ms - bucket.at_ms).max(0) as f64 / 1000.0;
            (bucket.tokens + elapsed_s * per_second).min(burst)
        };
        let mut buckets =
            self.buckets.lock().expect("rate-limit lock is never poisoned: nothing panics inside");
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, bucket| refill(bucket) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at_ms: now_ms });
        let tokens = refill(bucket);
        *bucket = Bucket { tokens, at_ms: now_ms.max(bucket.at_ms) };
        if tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - tokens) / per_second).ceil() as u64).max(1))
        }
    }
}

/// The three sets of buckets of a running ds-local.
#[derive(Debug)]
pub struct Limiters {
    api_key: Buckets,
    token: Buckets,
    signalling: Buckets,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            api_key: Buckets::new(limits.api_key),
            token: Buckets::new(limits.token),
            signalling: Buckets::new(limits.signalling),
        }
    }
}

/// The bucket key of a signalling socket once its user is known.
pub fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// The bucket key of a socket that has not authenticated yet.
pub fn socket_key(session_id: impl std::fmt::Display) -> String {
    format!("socket:{session_id}")
}

/// Tower middleware for REST: counts the request against its verified credential.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(refusal) = rest_refusal(&state, &request) {
        return refusal.into_response();
    }
    next.run(request).await
}

fn rest_refusal(state: &AppState, request: &Request) -> Option<ApiError> {
    let credential = bearer(request.headers())?;
    let limiters = state.limiters();
    let (buckets, key) = if credential.starts_with("sk_test_") || credential.starts_with("sk_live_") {
        if !state.config().platform_keys.iter().any(|key| key == credential) {
            return None;
        }
        (&limiters.api_key, format!("key:{credential}"))
    } else {
        match state.tokens().verify_any(credential, state.clock().now()).ok()? {
            VerifiedToken::User(user) => (&limiters.token, user_key(&user.user_id)),
            VerifiedToken::AccountSession(session) => {
                (&limiters.token, format!("account:{}", session.account_id))
            }
        }
    };
    let retry_after_seconds = buckets.take(&key, state.clock().now_ms()).err()?;
    tracing::debug!(key = %key, retry_after_seconds, "REST request rate-limited");
    Some(ApiError::RateLimited { retry_after_seconds })
}

/// For the signalling read loop: `None` lets the frame through; `Some(frame)` is the non-fatal
/// `rate_limited` error to send instead of processing it (echoing its `req_id` when it has one).
pub fn frame_refusal(state: &AppState, key: &str, text: &str) -> Option<ServerMessage> {
    let retry_after = state.limiters().signalling.take(key, state.clock().now_ms()).err()?;
    let req_id = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|frame| frame.get("req_id").and_then(|id| id.as_str()).map(str::to_owned));
    Some(ServerMessage::Error(ErrorFrame {
        code: ErrorCode::RateLimited,
        message: format!("too many frames: retry after {retry_after} s"),
        req_id,
        call_id: None,
        fatal: None,
        context: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_the_seconds_until_the_next_token() {
        let buckets = Buckets::new(Limit::new(0.5, 3.0));
        for _ in 0..3 {
            assert_eq!(buckets.take("k", 0), Ok(()));
        }
        assert_eq!(buckets.take("k", 0), Err(2), "one token every 2 s");
        assert_eq!(buckets.take("k", 1000), Err(1));
        assert_eq!(buckets.take("k", 2000), Ok(()));
        assert_eq!(buckets.take("other", 2000), Ok(()), "buckets are per key");
    }

    #[test]
    fn a_bucket_refills_no_further_than_its_burst() {
        let buckets = Buckets::new(Limit::new(10.0, 2.0));
        assert_eq!(buckets.take("k", 0), Ok(()));
        let later = 3_600_000;
        assert_eq!(buckets.take("k", later), Ok(()));
        assert_eq!(buckets.take("k", later), Ok(()));
        assert!(buckets.take("k", later).is_err());
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let buckets = Buckets::new(Limit::new(1.0, 1.0));
        assert_eq!(buckets.take("k", 10_000), Ok(()));
        assert!(buckets.take("k", 0).is_err());
        assert!(buckets.take("k", 10_500).is_err());
        assert_eq!(buckets.take("k", 11_000), Ok(()));
    }

    #[test]
    fn an_off_limit_never_refuses() {
        let buckets = Buckets::new(Limit::OFF);
        for _ in 0..10_000 {
            assert_eq!(buckets.take("k", 0), Ok(()));
        }
    }

    #[test]
    fn limits_parse_from_the_command_line() {
        assert_eq!("off".parse::<Limit>(), Ok(Limit::OFF));
        assert_eq!("0".parse::<Limit>(), Ok(Limit::OFF));
        assert_eq!("20".parse::<Limit>(), Ok(Limit::new(20.0, 80.0)));
        assert_eq!("5/50".parse::<Limit>(), Ok(Limit::new(5.0, 50.0)));
        for bad in ["", "-1", "fast", "1/0", "NaN", "inf/2"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn full_idle_buckets_are_swept_when_the_table_grows() {
        let buckets = Buckets::new(Limit::new(1.0, 1.0));
        for i in 0..=SWEEP_ABOVE {
            assert_eq!(buckets.take(&format!("k{i}"), 0), Ok(()));
        }
        // Much later every bucket is full again; the next take sweeps them.
        assert_eq!(buckets.take("fresh", 100_000), Ok(()));
        assert!(buckets.buckets.lock().unwrap().len() <= 2);
    }
}
