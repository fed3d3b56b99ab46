//! Time as a dependency, so tests can freeze and advance it.

use std::fmt::Debug;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Where ds-local reads "now" from.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().expect("clock mutex is never poisoned: no code panics while holding it") = now;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now =
            self.now.lock().expect("clock mutex is never poisoned: no code panics while holding it");
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock mutex is never poisoned: no code panics while holding it")
    }
}

/// Milliseconds since the epoch → the wire's ISO-8601 UTC form (`2026-09-01T14:00:03Z`).
pub fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a query date: RFC 3339 (`2026-09-01T14:00:00Z`) or a bare day (`2026-09-01`, midnight UTC).
pub fn parse_date(text: &str) -> Option<i64> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_utc_seconds() {
        assert_eq!(iso(1_788_271_203_000), "2026-09-01T14:00:03Z");
    }

    #[test]
    fn dates_parse_as_rfc3339_or_bare_days() {
        assert_eq!(parse_date("2026-09-01T14:00:03Z"), Some(1_788_271_203_000));
        assert_eq!(parse_date("2026-09-01"), Some(1_788_220_800_000));
        assert_eq!(parse_date("yesterday"), None);
    }
}
