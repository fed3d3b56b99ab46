//! The account event bus: every part of ds-local publishes here; the SSE stream and the webhook
//! worker consume it.
//!
//! Publishing writes the event row (the per-account replay log of protocol.md §16.11) and one
//! webhook outbox row per matching destination in ONE transaction, so an event is either fully
//! recorded for both consumers or not at all. After the commit the event is broadcast to live
//! SSE streams and the webhook worker is woken.

use std::sync::Arc;

use ds_protocol::events::WebhookEnvelope;
use serde_json::Value;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{Notify, broadcast};

use crate::clock::{Clock, iso};
use crate::ids;

/// Events kept per account for replay.
pub const RETAINED_EVENTS: i64 = 1000;
/// How long events are kept for replay.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub account_id: String,
    /// Per-account increasing sequence: the SSE `id:` line.
    pub seq: i64,
    /// `evt_…`, shared by every webhook delivery of this event.
    pub id: String,
    pub event_type: String,
    pub data: Value,
    pub created_at: i64,
}

/// The bus. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    db: SqlitePool,
    clock: Arc<dyn Clock>,
    live: broadcast::Sender<Arc<StoredEvent>>,
    wake_webhooks: Arc<Notify>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}

impl EventBus {
    pub fn new(db: SqlitePool, clock: Arc<dyn Clock>) -> Self {
        let (live, _) = broadcast::channel(1024);
        Self { db, clock, live, wake_webhooks: Arc::new(Notify::new()) }
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake_webhooks.clone()
    }

    /// Records and announces one event.
    pub async fn publish(
        &self,
        account_id: &str,
        event_type: &str,
        data: Value,
    ) -> Result<Arc<StoredEvent>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let event = self.record(&mut tx, account_id, event_type, data).await?;
        tx.commit().await?;
        Ok(self.announce(event))
    }

    /// Records an event inside the caller's transaction (so e.g. a call row and its
    /// `call.initiated` commit together). Call [`EventBus::announce`] after the commit.
    pub async fn record(
        &self,
        conn: &mut SqliteConnection,
        account_id: &str,
        event_type: &str,
        data: Value,
    ) -> Result<StoredEvent, sqlx::Error> {
        let now = self.clock.now_ms();
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO event_sequences (account_id, last_seq) VALUES (?, 1)
             ON CONFLICT (account_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        )
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
        let event = StoredEvent {
            account_id: account_id.to_owned(),
            seq,
            id: ids::new_id("evt", now),
            event_type: event_type.to_owned(),
            data,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO events (account_id, seq, id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&event.account_id)
        .bind(event.seq)
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(event.data.to_string())
        .bind(event.created_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM events WHERE account_id = ? AND (seq <= ? OR created_at < ?)")
            .bind(account_id)
            .bind(seq - RETAINED_EVENTS)
            .bind(now - RETENTION_MS)
            .execute(&mut *conn)
            .await?;
        crate::webhooks::enqueue(conn, &event, now).await?;
        Ok(event)
    }

    /// Fans a committed event out to live streams and wakes the webhook worker.
    pub fn announce(&self, event: StoredEvent) -> Arc<StoredEvent> {
        let event = Arc::new(event);
        // No subscribers is fine: the event is in the log for later replay.
        let _ = self.live.send(event.clone());
        self.wake_webhooks.notify_one();
        event
    }

    /// Live events of every account (filter on `account_id`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.live.subscribe()
    }

    /// Retained events of `account_id` after sequence `after`, oldest first.
    pub async fn replay(
        &self,
        account_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT seq, id, type, data, created_at FROM events
             WHERE account_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?",
        )
        .bind(account_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, id, event_type, data, created_at)| StoredEvent {
                account_id: account_id.to_owned(),
                seq,
                id,
                event_type,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
                created_at,
            })
            .collect())
    }
}

impl StoredEvent {
    /// The webhook envelope (protocol.md §16.7).
    pub fn envelope(&self, livemode: bool) -> WebhookEnvelope {
        WebhookEnvelope {
            id: self.id.clone(),
            event_type: self.event_type.clone(),
            account_id: self.account_id.clone(),
            created_at: iso(self.created_at),
            livemode,
            data: self.data.clone(),
        }
    }
}
