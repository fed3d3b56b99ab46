//! Webhook delivery (protocol.md §13, §16.7; rest.md §17): a durable outbox in SQLite and one
//! tokio worker that posts due rows, signs them, and retries with exponential back-off.
//!
//! Rows are written by [`crate::EventBus::record`] in the event's transaction; the worker only
//! reads the outbox, so a restart picks up whatever was pending.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::RetryPolicy;
use crate::clock::Clock;
use crate::events::StoredEvent;
use crate::ids;

/// Header carrying `t=<unix>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-dialstack-signature";
/// Destination name of the platform-wide `webhook_url` in the outbox.
const PLATFORM_DESTINATION: &str = "platform";
const SETTING_URL: &str = "webhook_url";
const SETTING_SECRET: &str = "webhook_secret";
const BATCH: i64 = 32;

/// `X-DialStack-Signature` value for `body` signed at `unix_seconds`.
pub fn signature_header(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{unix_seconds}.").as_bytes());
    mac.update(body);
    format!("t={unix_seconds},v1={}", ids::hex(&mac.finalize().into_bytes()))
}

/// Receiver-side check (what a partner does): constant-time compare, 300 s tolerance.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now_unix: i64) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => given = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else { return false };
    // abs_diff: `t=-9223372036854775808` must be refused, not overflow the subtraction.
    if now_unix.abs_diff(timestamp) > 300 {
        return false;
    }
    let Some(given) = decode_hex(given) else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The platform webhook settings (rest.md §19.1): `(webhook_url, webhook_secret)`. The secret
/// is generated on first use and kept, so it never rotates.
pub async fn platform_settings(db: &SqlitePool) -> Result<(Option<String>, String), sqlx::Error> {
    let mut conn = db.acquire().await?;
    platform_settings_on(&mut conn).await
}

async fn platform_settings_on(conn: &mut SqliteConnection) -> Result<(Option<String>, String), sqlx::Error> {
    sqlx::query("INSERT OR IGNORE INTO platform_settings (key, value) VALUES (?, ?)")
        .bind(SETTING_SECRET)
        .bind(ids::new_secret("whsec"))
        .execute(&mut *conn)
        .await?;
    let secret: String = sqlx::query_scalar("SELECT value FROM platform_settings WHERE key = ?")
        .bind(SETTING_SECRET)
        .fetch_one(&mut *conn)
        .await?;
    let url: Option<String> = sqlx::query_scalar("SELECT value FROM platform_settings WHERE key = ?")
        .bind(SETTING_URL)
        .fetch_optional(&mut *conn)
        .await?;
    Ok((url, secret))
}

/// Sets or clears the platform `webhook_url`.
pub async fn set_platform_webhook_url(db: &SqlitePool, url: Option<&str>) -> Result<(), sqlx::Error> {
    match url {
        Some(url) => {
            sqlx::query("INSERT INTO platform_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(SETTING_URL)
                .bind(url)
                .execute(db)
                .await?
        }
        None => sqlx::query("DELETE FROM platform_settings WHERE key = ?").bind(SETTING_URL).execute(db).await?,
    };
    Ok(())
}

/// Whether an endpoint's `enabled_events` list selects `event_type`.
pub fn selects(enabled_events: &[String], event_type: &str) -> bool {
    enabled_events.iter().any(|wanted| wanted == "*" || wanted == event_type)
}

/// Writes one outbox row per destination of `event` (rest.md §17.1): the platform
/// `webhook_url`, every enabled platform-global endpoint and every enabled endpoint of the
/// event's account, each of the account's mode and selecting the type.
pub(crate) async fn enqueue(
    conn: &mut SqliteConnection,
    event: &StoredEvent,
    now: i64,
) -> Result<(), sqlx::Error> {
    let livemode: bool = sqlx::query_scalar("SELECT livemode FROM accounts WHERE id = ?")
        .bind(&event.account_id)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false);
    let body = serde_json::to_string(&event.envelope(livemode)).expect("an envelope always serialises");
    let mut destinations: Vec<(String, String, String)> = Vec::new();
    let (platform_url, platform_secret) = platform_settings_on(conn).await?;
    // The platform webhook_url is in test mode: ds-local is a sandbox.
    if let Some(url) = platform_url
        && !livemode
    {
        destinations.push((PLATFORM_DESTINATION.to_owned(), url, platform_secret));
    }
    let endpoints: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, url, secret, enabled_events FROM webhook_endpoints
         WHERE status = 'enabled' AND livemode = ? AND (account_id IS NULL OR account_id = ?)",
    )
    .bind(livemode)
    .bind(&event.account_id)
    .fetch_all(&mut *conn)
    .await?;
    for (id, url, secret, enabled_events) in endpoints {
        let enabled: Vec<String> = serde_json::from_str(&enabled_events).unwrap_or_default();
        if selects(&enabled, &event.event_type) {
            destinations.push((id, url, secret));
        }
    }
    for (destination, url, secret) in destinations {
        sqlx::query(
            "INSERT INTO webhook_outbox (event_id, account_id, destination, url, secret, body, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&event.id)
        .bind(&event.account_id)
        .bind(destination)
        .bind(url)
        .bind(secret)
        .bind(&body)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A running delivery worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker after its current attempt.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the worker. It delivers what is due at once, then sleeps until the next due row,
/// a wake-up from the bus, or a stop.
pub fn spawn_worker(
    db: SqlitePool,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
) -> WorkerHandle {
    let (stop, mut stopped) = watch::channel(false);
    let client = reqwest::Client::builder()
        .timeout(policy.request_timeout)
        .user_agent("ds-local-webhooks/0.1")
        .build()
        .expect("a plain rustls HTTP client always builds");
    let task = tokio::spawn(async move {
        loop {
            let idle = match deliver_due(&db, clock.as_ref(), &client, &policy).await {
                Ok(next_due_in) => next_due_in,
                Err(error) => {
                    tracing::warn!(%error, "webhook outbox unavailable; retrying");
                    Some(Duration::from_secs(1))
                }
            };
            // Even when idle, look again now and then: a clock moved by a test or an outbox row
            // written by another process would otherwise wait for the next wake-up.
            let sleep = idle.unwrap_or(Duration::from_secs(5)).min(Duration::from_secs(5));
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
        }
    });
    WorkerHandle { stop, task }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    account_id: String,
    url: String,
    secret: String,
    body: String,
    attempts: i64,
    created_at: i64,
}

/// Delivers every due row; returns how long until the next one is due (None: nothing pending).
async fn deliver_due(
    db: &SqlitePool,
    clock: &dyn Clock,
    client: &reqwest::Client,
    policy: &RetryPolicy,
) -> Result<Option<Duration>, sqlx::Error> {
    loop {
        let now = clock.now_ms();
        let due: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, account_id, url, secret, body, attempts, created_at FROM webhook_outbox
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(db)
        .await?;
        if due.is_empty() {
            break;
        }
        let results = futures_util::future::join_all(due.iter().map(|row| attempt(client, clock, row))).await;
        for (row, result) in due.iter().zip(results) {
            let now = clock.now_ms();
            match result {
                Ok(()) => {
                    sqlx::query("UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?")
                        .bind(now)
                        .bind(row.id)
                        .execute(db)
                        .await?;
                }
                Err(error) => {
                    let attempts = row.attempts + 1;
                    let gave_up = now - row.created_at >= policy.give_up_after.as_millis() as i64;
                    let delay = backoff(policy, attempts);
                    tracing::debug!(url = %row.url, attempts, %error, "webhook delivery failed");
                    sqlx::query(
                        "UPDATE webhook_outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, failed_at = ? WHERE id = ?",
                    )
                    .bind(attempts)
                    .bind(error)
                    .bind(now + delay.as_millis() as i64)
                    .bind(gave_up.then_some(now))
                    .bind(row.id)
                    .execute(db)
                    .await?;
                }
            }
        }
    }
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(db)
    .await?;
    Ok(next.map(|at| Duration::from_millis((at - clock.now_ms()).max(0) as u64)))
}

/// Delay before attempt `attempts + 1`: base, 2×base, 4×base … capped.
pub fn backoff(policy: &RetryPolicy, attempts: i64) -> Duration {
    let factor = 2u32.saturating_pow((attempts - 1).clamp(0, 31) as u32);
    policy.base.saturating_mul(factor).min(policy.cap)
}

async fn attempt(client: &reqwest::Client, clock: &dyn Clock, row: &OutboxRow) -> Result<(), String> {
    let signature = signature_header(&row.secret, clock.now().timestamp(), row.body.as_bytes());
    let response = client
        .post(&row.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("x-dialstack-account-id", &row.account_id)
        .body(row.body.clone())
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("receiver answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_tampered_body_does_not() {
        let header = signature_header("whsec_test", 1_788_271_203, b"{\"a\":1}");
        assert!(header.starts_with("t=1788271203,v1="));
        assert!(verify_signature("whsec_test", &header, b"{\"a\":1}", 1_788_271_203));
        assert!(!verify_signature("whsec_test", &header, b"{\"a\":2}", 1_788_271_203));
        assert!(!verify_signature("whsec_other", &header, b"{\"a\":1}", 1_788_271_203));
        assert!(!verify_signature("whsec_test", &header, b"{\"a\":1}", 1_788_271_203 + 301));
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let delays: Vec<u64> = (1..=6).map(|n| backoff(&policy, n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn star_selects_every_type() {
        assert!(selects(&["*".to_owned()], "call.end"));
        assert!(selects(&["call.end".to_owned()], "call.end"));
        assert!(!selects(&["call.incoming".to_owned()], "call.end"));
    }
}
