//! The partner's own database: one `call_activity` row per call, upserted from webhook events,
//! and the ids of the events already applied (deliveries are at-least-once, protocol.md §16.7).

use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// One call as this backend knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CallActivity {
    pub call_id: String,
    pub account_id: String,
    pub direction: Option<String>,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    pub user_id: Option<String>,
    /// `completed` | `no-answer` | `busy` | `failed` | `voicemail`, from `call.end`.
    pub status: Option<String>,
    pub duration_seconds: Option<i64>,
    pub ended_at: Option<String>,
    /// From `voicemail.new`.
    pub voicemail_id: Option<String>,
    pub voicemail_seconds: Option<i64>,
    /// From `recording.available` (`download_url`, or its alias `recording_url`).
    pub recording_available: bool,
    pub recording_url: Option<String>,
    /// The last event applied to this row.
    pub last_event_id: String,
    pub last_event_type: String,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The row for the event's call was inserted or updated.
    Upserted,
    /// The event id was seen before: a redelivery, nothing changed.
    Duplicate,
    /// A type this backend does not log (acknowledged so the sender stops retrying).
    Ignored,
}

/// Why an event could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the event has no {0}")]
    MissingField(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS call_activity (
    call_id             TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL,
    direction           TEXT,
    from_number         TEXT,
    to_number           TEXT,
    user_id             TEXT,
    status              TEXT,
    duration_seconds    INTEGER,
    ended_at            TEXT,
    voicemail_id        TEXT,
    voicemail_seconds   INTEGER,
    recording_available INTEGER NOT NULL DEFAULT 0,
    recording_url       TEXT,
    last_event_id       TEXT NOT NULL,
    last_event_type     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY,
    type     TEXT NOT NULL
);
";

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        Self::connect(options).await
    }

    /// A private in-memory database (one connection, so every query sees the same data).
    pub async fn in_memory() -> Result<Self, StoreError> {
        Self::connect(SqliteConnectOptions::from_str("sqlite::memory:")?).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(Self { pool })
    }

    /// Applies one webhook envelope (`{id, type, account_id, data}`) in one transaction, so a
    /// crash never records the event id without its effect (or the other way round).
    pub async fn apply(&self, event: &Value) -> Result<Applied, StoreError> {
        let event_id = text(event, "id").ok_or(StoreError::MissingField("id"))?;
        let event_type = text(event, "type").ok_or(StoreError::MissingField("type"))?;
        if !matches!(event_type, "call.end" | "voicemail.new" | "recording.available") {
            return Ok(Applied::Ignored);
        }
        let account_id = text(event, "account_id").ok_or(StoreError::MissingField("account_id"))?;
        let data = event.get("data").ok_or(StoreError::MissingField("data"))?;
        let call_id = text(data, "call_id").ok_or(StoreError::MissingField("data.call_id"))?;

        let mut tx = self.pool.begin().await?;
        let fresh = sqlx::query("INSERT OR IGNORE INTO processed_events (event_id, type) VALUES (?, ?)")
            .bind(event_id)
            .bind(event_type)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !fresh {
            return Ok(Applied::Duplicate);
        }
        // Every event type may be the first one we see for a call (retries reorder deliveries),
        // so each one inserts the row if missing and only overwrites the columns it knows.
        sqlx::query(
            "INSERT INTO call_activity (call_id, account_id, last_event_id, last_event_type) VALUES (?, ?, ?, ?)
             ON CONFLICT (call_id) DO UPDATE SET last_event_id = excluded.last_event_id,
                                                 last_event_type = excluded.last_event_type",
        )
        .bind(call_id)
        .bind(account_id)
        .bind(event_id)
        .bind(event_type)
        .execute(&mut *tx)
        .await?;
        match event_type {
            "call.end" => {
                sqlx::query(
                    "UPDATE call_activity SET status = ?, duration_seconds = ?, direction = ?, from_number = ?,
                            to_number = ?, user_id = ?, ended_at = ? WHERE call_id = ?",
                )
                .bind(text(data, "status"))
                .bind(data.get("duration_seconds").and_then(Value::as_i64))
                .bind(text(data, "direction"))
                .bind(text(data, "from_number"))
                .bind(text(data, "to_number"))
                .bind(text(data, "user_id").or_else(|| text(data, "user")))
                .bind(text(data, "ended_at"))
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            }
            "voicemail.new" => {
                sqlx::query(
                    "UPDATE call_activity SET voicemail_id = ?, voicemail_seconds = ? WHERE call_id = ?",
                )
                .bind(text(data, "voicemail_id"))
                .bind(data.get("duration_seconds").and_then(Value::as_i64))
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            }
            _ => {
                sqlx::query(
                    "UPDATE call_activity SET recording_available = 1, recording_url = ? WHERE call_id = ?",
                )
                .bind(text(data, "download_url").or_else(|| text(data, "recording_url")))
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Applied::Upserted)
    }

    pub async fn call(&self, call_id: &str) -> Result<Option<CallActivity>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_activity WHERE call_id = ?")
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every row, most recently changed first (rowid order of the last insert).
    pub async fn calls(&self) -> Result<Vec<CallActivity>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_activity ORDER BY rowid DESC").fetch_all(&self.pool).await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call_end(id: &str, call: &str, status: &str, duration: i64) -> Value {
        json!({ "id": id, "type": "call.end", "account_id": "acct_1", "created_at": "2026-09-01T14:03:13Z",
                "livemode": false,
                "data": { "call_id": call, "direction": "outbound", "from_number": "user_x-wrtc",
                          "to_number": "+16175551234", "user_id": "user_1", "status": status,
                          "duration_seconds": duration, "ended_at": "2026-09-01T14:03:12Z" } })
    }

    #[tokio::test]
    async fn call_end_upserts_status_and_duration() {
        let store = Store::in_memory().await.unwrap();
        assert_eq!(
            store.apply(&call_end("evt_1", "call_1", "completed", 183)).await.unwrap(),
            Applied::Upserted
        );
        let row = store.call("call_1").await.unwrap().unwrap();
        assert_eq!(row.status.as_deref(), Some("completed"));
        assert_eq!(row.duration_seconds, Some(183));
        assert_eq!(row.user_id.as_deref(), Some("user_1"));
        assert_eq!(row.last_event_type, "call.end");
    }

    #[tokio::test]
    async fn a_redelivered_event_changes_nothing() {
        let store = Store::in_memory().await.unwrap();
        store.apply(&call_end("evt_1", "call_1", "completed", 183)).await.unwrap();
        // Same id, different content: the id decides, so the replay is dropped.
        assert_eq!(store.apply(&call_end("evt_1", "call_1", "failed", 0)).await.unwrap(), Applied::Duplicate);
        assert_eq!(store.call("call_1").await.unwrap().unwrap().status.as_deref(), Some("completed"));
        assert_eq!(store.calls().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn voicemail_and_recording_merge_into_the_call_row_in_any_order() {
        let store = Store::in_memory().await.unwrap();
        let recording = json!({ "id": "evt_r", "type": "recording.available", "account_id": "acct_1",
                                "data": { "call_id": "call_1", "download_url": "http://127.0.0.1/rec.wav" } });
        let voicemail = json!({ "id": "evt_v", "type": "voicemail.new", "account_id": "acct_1",
                                "data": { "call_id": "call_1", "voicemail_id": "vm_1", "duration_seconds": 21 } });
        store.apply(&recording).await.unwrap();
        store.apply(&voicemail).await.unwrap();
        store.apply(&call_end("evt_e", "call_1", "voicemail", 0)).await.unwrap();
        let row = store.call("call_1").await.unwrap().unwrap();
        assert!(row.recording_available);
        assert_eq!(row.recording_url.as_deref(), Some("http://127.0.0.1/rec.wav"));
        assert_eq!(row.voicemail_id.as_deref(), Some("vm_1"));
        assert_eq!(row.voicemail_seconds, Some(21));
        assert_eq!(row.status.as_deref(), Some("voicemail"));
    }

    #[tokio::test]
    async fn other_event_types_are_ignored_and_events_without_a_call_are_errors() {
        let store = Store::in_memory().await.unwrap();
        let ringing = json!({ "id": "evt_1", "type": "call.ringing", "account_id": "acct_1", "data": {} });
        assert_eq!(store.apply(&ringing).await.unwrap(), Applied::Ignored);
        let no_call = json!({ "id": "evt_2", "type": "call.end", "account_id": "acct_1", "data": {} });
        assert!(matches!(store.apply(&no_call).await, Err(StoreError::MissingField("data.call_id"))));
        assert!(store.calls().await.unwrap().is_empty());
    }
}
