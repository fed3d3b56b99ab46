//! Call routing in ds-local: storage of routing objects and the entry points the signalling
//! layer calls when a call arrives (rest.md §12). The decisions themselves are made by the
//! sans-IO `ds-routing` crate; this module only loads the account's configuration from SQLite.
//!
//! # For the signalling hub
//!
//! - Inbound PSTN call to a number: [`route_inbound`] → [`Dispatch`]. For `Routed`, emit
//!   `call.incoming` (with `user` when set), then perform `first` and feed each result back with
//!   `walker.on_outcome(outcome, now)` until the step is final (`HangUp` / `Done`). The final
//!   [`ds_routing::CallOutcome`] is what goes into the call log (`status`, `hangup_cause`).
//! - Internal call to an extension (rest.md §5.3): [`resolve_extension`] then [`route_target`].
//! - Which account owns a number: [`account_of_number`].
//!
//! Nothing here rings a phone: a `Step::RingUsers` is for the hub to carry out.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ds_routing::walker::{Dispatch, RoutingUser, RoutingVoiceApp, dispatch_inbound};
use ds_routing::{DialPlan, PhoneNumber, RingGroup, RoutingLookup, RoutingSnapshot, Schedule, Step, Walker};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::SqlitePool;

use crate::AppState;
use crate::clock::iso;
use crate::error::ApiError;

/// The tables holding routing objects as JSON bodies (see migrations/0010_routing.sql).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Schedules,
    DialPlans,
    RingGroups,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Self::Schedules => "schedules",
            Self::DialPlans => "dial_plans",
            Self::RingGroups => "ring_groups",
        }
    }
}

/// Reads one object of an account.
pub async fn load<T: DeserializeOwned>(
    db: &SqlitePool,
    table: Table,
    account_id: &str,
    id: &str,
) -> Result<Option<T>, ApiError> {
    let body: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT body FROM {} WHERE account_id = ? AND id = ?",
        table.name()
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    body.map(|body| decode(&body)).transpose()
}

/// Every object of an account in a table, oldest first.
pub async fn load_all<T: DeserializeOwned>(
    db: &SqlitePool,
    table: Table,
    account_id: &str,
) -> Result<Vec<T>, ApiError> {
    let bodies: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT body FROM {} WHERE account_id = ? ORDER BY created_at, id",
        table.name()
    )))
    .bind(account_id)
    .fetch_all(db)
    .await?;
    bodies.iter().map(|body| decode(body)).collect()
}

fn decode<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|error| ApiError::Internal(format!("stored routing object: {error}")))
}

/// Inserts or replaces an object; `created_at` keeps its first value.
pub async fn save<T: Serialize>(
    db: &SqlitePool,
    table: Table,
    account_id: &str,
    id: &str,
    object: &T,
    created_at: i64,
    updated_at: i64,
) -> Result<(), ApiError> {
    let body = serde_json::to_string(object).map_err(|error| ApiError::Internal(error.to_string()))?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} (account_id, id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        table.name()
    )))
    .bind(account_id)
    .bind(id)
    .bind(body)
    .bind(created_at)
    .bind(updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes an object; false when it did not exist in the account.
pub async fn remove(db: &SqlitePool, table: Table, account_id: &str, id: &str) -> Result<bool, ApiError> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {} WHERE account_id = ? AND id = ?",
        table.name()
    )))
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[derive(sqlx::FromRow)]
struct DidRow {
    id: String,
    phone_number: String,
    body: Option<String>,
    created_at: i64,
}

impl DidRow {
    fn into_phone_number(self) -> Result<PhoneNumber, ApiError> {
        match self.body {
            Some(body) => decode(&body),
            // A DID provisioned before routing existed: the defaults of a fresh number.
            None => Ok(PhoneNumber::new(self.id, self.phone_number, &iso(self.created_at))),
        }
    }
}

/// The DIDs of an account, oldest first.
pub async fn phone_numbers(db: &SqlitePool, account_id: &str) -> Result<Vec<PhoneNumber>, ApiError> {
    let rows: Vec<DidRow> = sqlx::query_as(
        "SELECT id, phone_number, body, created_at FROM dids WHERE account_id = ? ORDER BY created_at, id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(DidRow::into_phone_number).collect()
}

/// One DID of an account.
pub async fn phone_number(
    db: &SqlitePool,
    account_id: &str,
    id: &str,
) -> Result<Option<PhoneNumber>, ApiError> {
    let row: Option<DidRow> =
        sqlx::query_as("SELECT id, phone_number, body, created_at FROM dids WHERE account_id = ? AND id = ?")
            .bind(account_id)
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(DidRow::into_phone_number).transpose()
}

/// Stores the full phone-number object of an existing DID row.
pub async fn save_phone_number(
    db: &SqlitePool,
    account_id: &str,
    number: &PhoneNumber,
    now: i64,
) -> Result<(), ApiError> {
    let body = serde_json::to_string(number).map_err(|error| ApiError::Internal(error.to_string()))?;
    sqlx::query("UPDATE dids SET body = ?, updated_at = ? WHERE account_id = ? AND id = ?")
        .bind(body)
        .bind(now)
        .bind(account_id)
        .bind(&number.id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether a table exists (voice apps are stored by another part of ds-local, when at all).
async fn table_exists(db: &SqlitePool, name: &str) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(name)
        .fetch_one(db)
        .await?
        > 0)
}

/// Voice apps of the account as routing sees them, read from a `voice_apps (id, account_id,
/// status)` table when one exists. Without a voice-app store every `va_` reference counts as an
/// active app, so the hand-over is attempted and the hub reports `Failed` if nobody takes it.
async fn voice_apps(db: &SqlitePool, account_id: &str) -> Result<Option<Vec<(String, bool)>>, ApiError> {
    if !table_exists(db, "voice_apps").await? {
        return Ok(None);
    }
    let rows: Result<Vec<(String, String)>, sqlx::Error> =
        sqlx::query_as("SELECT id, status FROM voice_apps WHERE account_id = ?")
            .bind(account_id)
            .fetch_all(db)
            .await;
    match rows {
        Ok(rows) => Ok(Some(rows.into_iter().map(|(id, status)| (id, status != "inactive")).collect())),
        Err(error) => {
            tracing::warn!(%error, "voice_apps table has an unexpected shape; treating voice apps as unknown");
            Ok(None)
        }
    }
}

/// Everything the walker may need about one account, read at call time.
pub async fn snapshot(db: &SqlitePool, account_id: &str) -> Result<RoutingSnapshot, ApiError> {
    let users: Vec<(String, bool)> =
        sqlx::query_as("SELECT id, do_not_disturb FROM users WHERE account_id = ? ORDER BY created_at, id")
            .bind(account_id)
            .fetch_all(db)
            .await?;
    let mut snapshot = RoutingSnapshot {
        users: users.into_iter().map(|(id, do_not_disturb)| RoutingUser { id, do_not_disturb }).collect(),
        ..RoutingSnapshot::default()
    };
    for plan in load_all::<DialPlan>(db, Table::DialPlans, account_id).await? {
        snapshot.plans.insert(plan.id.clone(), plan);
    }
    for schedule in load_all::<Schedule>(db, Table::Schedules, account_id).await? {
        snapshot.schedules.insert(schedule.id.clone(), schedule);
    }
    let groups = load_all::<RingGroup>(db, Table::RingGroups, account_id).await?;
    let mut referenced_apps = HashSet::new();
    for plan in snapshot.plans.values() {
        referenced_apps
            .extend(plan.references().into_iter().filter(|id| id.starts_with("va_")).map(str::to_owned));
    }
    for group in groups {
        snapshot.ring_groups.insert(group.id.clone(), group);
    }
    match voice_apps(db, account_id).await? {
        Some(apps) => {
            for (id, active) in apps {
                snapshot.voice_apps.insert(id, RoutingVoiceApp { active });
            }
        }
        None => {
            for id in referenced_apps {
                snapshot.voice_apps.insert(id, RoutingVoiceApp { active: true });
            }
        }
    }
    Ok(snapshot)
}

/// The instant schedules are frozen at (`POST /_ds/clock`, rest.md §19.2), if any.
pub async fn frozen_schedule_clock(db: &SqlitePool) -> Result<Option<DateTime<Utc>>, ApiError> {
    let frozen: Option<i64> =
        sqlx::query_scalar("SELECT frozen_ms FROM routing_clock WHERE id = 1").fetch_optional(db).await?;
    Ok(frozen.and_then(DateTime::from_timestamp_millis))
}

/// Freezes schedule evaluation at `at`, or returns it to the real clock with `None`.
pub async fn set_schedule_clock(db: &SqlitePool, at: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match at {
        Some(at) => {
            sqlx::query(
                "INSERT INTO routing_clock (id, frozen_ms) VALUES (1, ?)
                 ON CONFLICT (id) DO UPDATE SET frozen_ms = excluded.frozen_ms",
            )
            .bind(at.timestamp_millis())
            .execute(db)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM routing_clock").execute(db).await?;
        }
    }
    Ok(())
}

/// "Now" for schedule nodes: the frozen instant if one is set, else the platform clock.
pub async fn schedule_now(state: &AppState) -> DateTime<Utc> {
    match frozen_schedule_clock(state.db()).await {
        Ok(Some(frozen)) => frozen,
        _ => state.clock().now(),
    }
}

/// Whether the account has an active DID with this E.164 number (test-helper calls to it enter
/// through routing, rest.md §18.1 [open]).
pub async fn has_active_number(state: &AppState, account_id: &str, number: &str) -> Result<bool, ApiError> {
    let dids = phone_numbers(state.db(), account_id).await?;
    Ok(dids.iter().any(|did| did.phone_number == number && did.status == "active"))
}

/// The account owning an active DID with this E.164 number, if any.
pub async fn account_of_number(state: &AppState, number: &str) -> Result<Option<String>, ApiError> {
    Ok(sqlx::query_scalar("SELECT account_id FROM dids WHERE phone_number = ? ORDER BY created_at LIMIT 1")
        .bind(number)
        .fetch_optional(state.db())
        .await?)
}

/// rest.md §12.2: how an inbound call to `number` in `account_id` is handled, and the walker
/// that drives it. `now` decides schedule nodes (pass the platform clock, `state.clock().now()`).
pub async fn route_inbound(
    state: &AppState,
    account_id: &str,
    number: &str,
    now: DateTime<Utc>,
) -> Result<Dispatch, ApiError> {
    let dids = phone_numbers(state.db(), account_id).await?;
    let snapshot = snapshot(state.db(), account_id).await?;
    Ok(dispatch_inbound(&dids, number, snapshot, now))
}

/// Dispatches to a routing target as rest.md §12.2 `dispatch(target)` (extensions, transfers).
pub async fn route_target(
    state: &AppState,
    account_id: &str,
    target: &str,
    now: DateTime<Utc>,
) -> Result<(Walker, Step), ApiError> {
    let mut walker = Walker::new(snapshot(state.db(), account_id).await?);
    let first = walker.start_target(Some(target), now);
    Ok((walker, first))
}

/// The target of an extension number in an account (rest.md §5.3).
pub async fn resolve_extension(
    state: &AppState,
    account_id: &str,
    number: &str,
) -> Result<Option<String>, ApiError> {
    Ok(sqlx::query_scalar("SELECT target FROM extensions WHERE account_id = ? AND number = ?")
        .bind(account_id)
        .bind(number)
        .fetch_optional(state.db())
        .await?)
}

/// What the dial-plan validator may ask about an account. Existence is not required at save
/// time (rest.md §9.4 rule 7 [open]); this answers the AI-agent question (none exist in
/// ds-local yet) and is ready for a strict mode.
#[derive(Debug, Default)]
pub struct AccountLookup {
    pub schedules: HashSet<String>,
    pub targets: HashSet<String>,
    pub ai_agent_voice_apps: HashSet<String>,
}

impl AccountLookup {
    pub async fn load(db: &SqlitePool, account_id: &str) -> Result<Self, ApiError> {
        let mut lookup = Self::default();
        for (table, into_targets) in
            [(Table::Schedules, false), (Table::DialPlans, true), (Table::RingGroups, true)]
        {
            let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM {} WHERE account_id = ?",
                table.name()
            )))
            .bind(account_id)
            .fetch_all(db)
            .await?;
            if into_targets { lookup.targets.extend(ids) } else { lookup.schedules.extend(ids) }
        }
        let users: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE account_id = ?")
            .bind(account_id)
            .fetch_all(db)
            .await?;
        lookup.targets.extend(users);
        Ok(lookup)
    }
}

impl RoutingLookup for AccountLookup {
    fn schedule_exists(&self, id: &str) -> bool {
        self.schedules.contains(id)
    }
    fn target_exists(&self, id: &str) -> bool {
        self.targets.contains(id)
    }
    fn is_ai_agent_voice_app(&self, id: &str) -> bool {
        self.ai_agent_voice_apps.contains(id)
    }
}

/// Whether a routing target exists in the account: `Some(bool)` for kinds ds-local stores,
/// `None` for kinds it does not store (queues, shared voicemail boxes, and voice apps while
/// there is no voice-app table) — those are accepted as references.
pub async fn target_exists(db: &SqlitePool, account_id: &str, id: &str) -> Result<Option<bool>, ApiError> {
    use ds_routing::TargetKind as K;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).bind(account_id).bind(id).fetch_one(db).await.map(|n| n > 0)
    };
    Ok(match K::of(id) {
        Some(K::User) => Some(count("SELECT COUNT(*) FROM users WHERE account_id = ? AND id = ?").await?),
        Some(K::DialPlan) => {
            Some(count("SELECT COUNT(*) FROM dial_plans WHERE account_id = ? AND id = ?").await?)
        }
        Some(K::RingGroup) => {
            Some(count("SELECT COUNT(*) FROM ring_groups WHERE account_id = ? AND id = ?").await?)
        }
        Some(K::VoiceApp) => {
            voice_apps(db, account_id).await?.map(|apps| apps.iter().any(|(app, _)| app == id))
        }
        Some(K::Queue | K::SharedVoicemail) | None => None,
    })
}

/// Sets `created_at`/`updated_at` (ISO) on a JSON object being stored.
pub fn stamp(object: &mut Value, created_at: i64, updated_at: i64) {
    if let Some(map) = object.as_object_mut() {
        map.insert("created_at".into(), Value::String(iso(created_at)));
        map.insert("updated_at".into(), Value::String(iso(updated_at)));
    }
}
