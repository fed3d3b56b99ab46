//! Seeds a ds-local database with call-log rows by direct SQL insert, as the hub's CDR writer
//! would leave them (migrations 0001 and 0002: `calls`), for the `GET /v1/calls` figure.
//! ds-local may keep running: its database is in WAL mode and this is one short transaction.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use crate::Target;
use crate::platform::Platform;

/// Rows start this long before now, one a minute, so the newest page is the latest calls.
const SPACING_MS: i64 = 60_000;

pub async fn run(target: &Target, database: &Path, count: usize) -> anyhow::Result<Value> {
    let platform = Platform::new(target)?;
    let account = platform.create_account("history").await?;
    let user = platform.create_users(&account, 1, 101).await?.remove(0).id;
    let (account, user) = (account.as_str(), user.as_str());
    let started = std::time::Instant::now();
    let mut db = SqliteConnectOptions::new()
        .filename(database)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("opening {}", database.display()))?;
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let first = now_ms - count as i64 * SPACING_MS;
    let mut tx = db.begin().await?;
    for i in 0..count {
        let started_at = first + i as i64 * SPACING_MS;
        let (direction, from, to, status, duration) = match i % 4 {
            0 => (
                "inbound",
                format!("+1617555{:04}", i % 10_000),
                "101".to_owned(),
                "completed",
                30 + (i % 600) as i64,
            ),
            1 => (
                "outbound",
                "101".to_owned(),
                format!("+1212555{:04}", i % 10_000),
                "completed",
                60 + (i % 300) as i64,
            ),
            2 => ("inbound", format!("+1415555{:04}", i % 10_000), "101".to_owned(), "no-answer", 0),
            _ => ("internal", "101".to_owned(), "102".to_owned(), "busy", 0),
        };
        let answered = (duration > 0).then_some(started_at + 4_000);
        sqlx::query(
            "INSERT INTO calls (id, account_id, user_id, direction, from_number, from_label, to_number, to_label,
             dial_string, started_at, answered_at, connected_at, ended_at, duration_seconds, status)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(call_id(i))
        .bind(account)
        .bind(user)
        .bind(direction)
        .bind(&from)
        .bind(format!("Caller {}", i % 977))
        .bind(&to)
        .bind("Bench User")
        .bind(&to)
        .bind(started_at)
        .bind(answered)
        .bind(answered)
        .bind(started_at + 4_000 + duration * 1000)
        .bind(duration)
        .bind(status)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE account_id = ?")
        .bind(account)
        .fetch_one(&mut db)
        .await?;
    Ok(
        json!({ "account": account, "user": user, "inserted": count, "calls_in_account": total, "seconds": started.elapsed().as_secs_f64() }),
    )
}

/// Unique ids in ds-local's `call_` + 26 Crockford base32 characters shape.
fn call_id(i: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut n = i as u128 | (0xbe4c_u128 << 100);
    let mut out = [b'0'; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 32) as usize];
        n /= 32;
    }
    format!("call_{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_unique_and_shaped_like_ds_local_ids() {
        let a = call_id(0);
        let b = call_id(99_999);
        assert_ne!(a, b);
        assert_eq!(a.len(), "call_".len() + 26);
        assert!(b[5..].chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    }
}
