//! CallLog rows and `call.*` account events for calls made through signalling (protocol.md
//! §11.5, §12, §13; rest.md §12.3, §17.5).
//!
//! Every user-visible call leg is one CallLog row whose id is the signalling `call_id`. The row
//! is written when the call starts, updated on answer and on end; each step publishes its event
//! on the account bus (SSE + webhooks). A database failure is logged and never stops a call.
//!
//! The call hub does not await these writes: it queues them on a [`Journal`], whose own task
//! applies them one by one in the order the hub queued them (see [`Journal`] for why).

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::clock::iso;

/// One queued write: given the app state, the future that performs it.
type Write = Box<dyn FnOnce(AppState) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The call hub's database writes (CallLog rows, `call.*` events, voicemails, recordings),
/// applied by one task of their own in exactly the order the hub queued them.
///
/// Why a queue and not an `.await` in the hub: each write is several round trips to SQLite's
/// worker thread, and the hub handles one input at a time, so awaiting them inline made every
/// other session's `call.create` wait behind them (benchmark figure 7: with 1,000 sessions
/// placing a call at once, `call.trying` queued for ~0.5 s). Why one task and not a task per
/// write: the order stays the hub's, so a row is always inserted before it is answered or
/// ended, and an account's events keep the order the hub produced them in, across calls too.
/// The hub already sent its frames before these writes ran (e.g. `call.ended` before the
/// row's end), so clients see no new reordering; replies that promise a row exists go through
/// [`Journal::reply`].
#[derive(Clone)]
pub struct Journal {
    writes: mpsc::UnboundedSender<Write>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

impl Journal {
    /// Starts the writer task. Call from inside a tokio runtime.
    pub fn start(state: AppState) -> Self {
        let (writes, mut queue) = mpsc::unbounded_channel::<Write>();
        tokio::spawn(async move {
            while let Some(write) = queue.recv().await {
                write(state.clone()).await;
            }
        });
        Self { writes }
    }

    /// Queues any write (or anything that must happen after the writes queued so far).
    pub fn run<F, Fut>(&self, write: F)
    where
        F: FnOnce(AppState) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let boxed: Write = Box::new(move |state| Box::pin(write(state)));
        if self.writes.send(boxed).is_err() {
            tracing::warn!("the call log writer has stopped; a write is lost");
        }
    }

    /// Sends `value` on `reply` once every write queued before it has been applied: for
    /// answers that promise a row exists (e.g. the id of a new test-helper call).
    pub fn reply<T: Send + 'static>(&self, reply: oneshot::Sender<T>, value: T) {
        self.run(move |_| async move {
            let _ = reply.send(value);
        });
    }

    /// Resolves once every write queued before it has been applied: for reads of rows the hub
    /// itself wrote. Await it off the hub's loop.
    pub async fn flush(&self) {
        let (done, applied) = oneshot::channel();
        self.reply(done, ());
        let _ = applied.await;
    }

    pub fn insert(&self, facts: &Facts, dial_string: Option<&str>, started_at: i64) {
        let (facts, dial_string) = (facts.clone(), dial_string.map(str::to_owned));
        self.run(
            move |state| async move { insert(&state, &facts, dial_string.as_deref(), started_at).await },
        );
    }

    pub fn publish(&self, facts: &Facts, event_type: &'static str, extra: Value) {
        let facts = facts.clone();
        self.run(move |state| async move { publish(&state, &facts, event_type, extra).await });
    }

    pub fn answered(&self, facts: &Facts, at: i64) {
        let facts = facts.clone();
        self.run(move |state| async move { answered(&state, &facts, at).await });
    }

    pub fn assign_user(&self, call_id: &str, user_id: &str) {
        let (call_id, user_id) = (call_id.to_owned(), user_id.to_owned());
        self.run(move |state| async move { assign_user(&state, &call_id, &user_id).await });
    }

    pub fn network_answered(&self, call_id: &str, at: i64) {
        let call_id = call_id.to_owned();
        self.run(move |state| async move { network_answered(&state, &call_id, at).await });
    }

    pub fn ended(&self, facts: &Facts, at: i64, outcome: Outcome) {
        let facts = facts.clone();
        self.run(move |state| async move { ended(&state, &facts, at, outcome).await });
    }

    pub fn digits(&self, call_id: &str, digits: &str) {
        let (call_id, digits) = (call_id.to_owned(), digits.to_owned());
        self.run(move |state| async move { record_digits(&state, &call_id, &digits).await });
    }
}

/// The facts about a call that every `call.*` event carries (rest.md §17.5 "CF").
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub call_id: String,
    pub account_id: String,
    pub user_id: Option<String>,
    /// `inbound` | `outbound` | `internal`.
    pub direction: &'static str,
    pub from_number: String,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub to_label: Option<String>,
    /// The DID an inbound PSTN call arrived on (`did_…`), for the row and every event.
    pub did: Option<String>,
}

/// How a call ended, for the CallLog `status` and `hangup_cause` (rest.md §12.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    NoAnswer,
    Busy,
    Failed,
    /// Declined by the callee: logged as `no-answer` with Q.850 cause 21 (call rejected).
    Rejected,
    /// A simulated machine took a message (test-helper `voicemail` scenario).
    Voicemail,
    /// An answered call lost with its device (the signalling grace ran out): `completed`, with
    /// Q.850 cause 41 (temporary failure) to tell it from a normal hang-up.
    Lost,
    /// How a walk through routing ended (rest.md §12.3), status and cause as the walker says.
    Walked(ds_routing::CallOutcome),
}

impl Outcome {
    pub fn status(self) -> &'static str {
        match self {
            Self::Completed | Self::Lost => "completed",
            Self::NoAnswer | Self::Rejected => "no-answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::Voicemail => "voicemail",
            Self::Walked(outcome) => match outcome.status {
                ds_routing::CallStatus::Completed => "completed",
                ds_routing::CallStatus::Voicemail => "voicemail",
                ds_routing::CallStatus::NoAnswer => "no-answer",
                ds_routing::CallStatus::Busy => "busy",
                ds_routing::CallStatus::Failed => "failed",
            },
        }
    }

    pub fn hangup_cause(self) -> Option<i64> {
        match self {
            Self::Completed | Self::Voicemail => None,
            Self::NoAnswer => Some(19),
            Self::Busy => Some(17),
            Self::Failed | Self::Lost => Some(41),
            Self::Rejected => Some(21),
            Self::Walked(outcome) => outcome.hangup_cause.map(i64::from),
        }
    }
}

fn common(facts: &Facts, now: i64) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("call_id".into(), json!(facts.call_id));
    data.insert("direction".into(), json!(facts.direction));
    data.insert("from_number".into(), json!(facts.from_number));
    data.insert("from_name".into(), json!(facts.from_name));
    data.insert("to_number".into(), json!(facts.to_number));
    data.insert("did".into(), json!(facts.did));
    data.insert("user_id".into(), json!(facts.user_id));
    data.insert("user".into(), json!(facts.user_id));
    data.insert("timestamp".into(), json!(iso(now)));
    data
}

/// Publishes one event; failures are logged (the call goes on).
pub async fn publish(state: &AppState, facts: &Facts, event_type: &str, extra: Value) {
    let now = state.clock().now_ms();
    let mut data = common(facts, now);
    if let Value::Object(extra) = extra {
        data.extend(extra);
    }
    if let Err(error) = state.events().publish(&facts.account_id, event_type, Value::Object(data)).await {
        tracing::warn!(call_id = %facts.call_id, %error, "cannot publish {event_type}");
    }
}

/// Writes the row of a new call (status null while live).
pub async fn insert(state: &AppState, facts: &Facts, dial_string: Option<&str>, started_at: i64) {
    let endpoint = facts.user_id.as_ref().map(|user| format!("{user}-wrtc"));
    let result = sqlx::query(
        "INSERT INTO calls (id, account_id, user_id, endpoint_id, direction, from_number, from_label,
         to_number, to_label, dial_string, started_at, did_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&facts.call_id)
    .bind(&facts.account_id)
    .bind(&facts.user_id)
    .bind(&endpoint)
    .bind(facts.direction)
    .bind(&facts.from_number)
    .bind(&facts.from_name)
    .bind(&facts.to_number)
    .bind(&facts.to_label)
    .bind(dial_string)
    .bind(started_at)
    .bind(&facts.did)
    .execute(state.db())
    .await;
    if let Err(error) = result {
        tracing::warn!(call_id = %facts.call_id, %error, "cannot write the call log row");
    }
}

/// Records the answer and publishes `call.answered`.
pub async fn answered(state: &AppState, facts: &Facts, at: i64) {
    let endpoint = facts.user_id.as_ref().map(|user| format!("{user}-wrtc"));
    let result = sqlx::query(
        "UPDATE calls SET answered_at = COALESCE(answered_at, ?), connected_at = ?,
         endpoint_id = COALESCE(endpoint_id, ?) WHERE id = ? AND connected_at IS NULL",
    )
    .bind(at)
    .bind(at)
    .bind(&endpoint)
    .bind(&facts.call_id)
    .execute(state.db())
    .await;
    if let Err(error) = result {
        tracing::warn!(call_id = %facts.call_id, %error, "cannot record the answer");
    }
    publish(state, facts, "call.answered", json!({ "answered_at": iso(at), "endpoint": endpoint })).await;
}

/// A routed call was answered by a person: the row now names that user (rest.md §9.5; the
/// `call.answered` event follows through [`answered`]).
pub async fn assign_user(state: &AppState, call_id: &str, user_id: &str) {
    let result = sqlx::query("UPDATE calls SET user_id = ? WHERE id = ?")
        .bind(user_id)
        .bind(call_id)
        .execute(state.db())
        .await;
    if let Err(error) = result {
        tracing::warn!(%call_id, %error, "cannot record who answered");
    }
}

/// A media node (clip, menu, voicemail, voice app) answered the network leg: `answered_at` is
/// set, `connected_at` stays null and no `call.answered` is published, as no person answered
/// (rest.md §9.3 `audio_clip`, §9.5 "answer semantics").
pub async fn network_answered(state: &AppState, call_id: &str, at: i64) {
    let result = sqlx::query("UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL")
        .bind(at)
        .bind(call_id)
        .execute(state.db())
        .await;
    if let Err(error) = result {
        tracing::warn!(%call_id, %error, "cannot record the network answer");
    }
}

/// Records the end (status, duration, cause) and publishes `call.end`. Idempotent: a row that
/// already has a status is left alone and no second `call.end` is published.
///
/// The row and the event (with its webhook outbox rows) commit in one transaction: a crash
/// between two separate writes would leave a finished call whose `call.end` webhook never goes
/// out (what `cargo xtask chaos` scenario 3 counts).
pub async fn ended(state: &AppState, facts: &Facts, at: i64, outcome: Outcome) {
    match end_row(state, facts, at, outcome).await {
        Ok(Some(event)) => {
            state.events().announce(event);
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(call_id = %facts.call_id, %error, "cannot record the end of the call"),
    }
}

async fn end_row(
    state: &AppState,
    facts: &Facts,
    at: i64,
    outcome: Outcome,
) -> Result<Option<crate::events::StoredEvent>, sqlx::Error> {
    type Times = (i64, Option<i64>, Option<i64>, Option<String>);
    let mut tx = state.db().begin().await?;
    let row: Option<Times> =
        sqlx::query_as("SELECT started_at, answered_at, connected_at, status FROM calls WHERE id = ?")
            .bind(&facts.call_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (started_at, answered_at, connected_at) = match row {
        Some((_, _, _, Some(_))) => return Ok(None),
        Some((started_at, answered_at, connected_at, None)) => (started_at, answered_at, connected_at),
        None => (at, None, None),
    };
    let duration = answered_at.map(|answered| (at - answered).max(0) / 1000);
    sqlx::query(
        "UPDATE calls SET ended_at = ?, duration_seconds = ?, status = ?, hangup_cause = ?,
         to_number = COALESCE(to_number, ?) WHERE id = ?",
    )
    .bind(at)
    .bind(duration)
    .bind(outcome.status())
    .bind(outcome.hangup_cause())
    .bind(&facts.to_number)
    .bind(&facts.call_id)
    .execute(&mut *tx)
    .await?;
    let mut data = common(facts, state.clock().now_ms());
    data.extend([
        ("status".to_owned(), json!(outcome.status())),
        // rest.md §17.5 [open]: 0 when never answered.
        ("duration_seconds".to_owned(), json!(duration.unwrap_or(0))),
        ("hangup_cause".to_owned(), json!(outcome.hangup_cause())),
        ("started_at".to_owned(), json!(iso(started_at))),
        ("answered_at".to_owned(), json!(answered_at.map(iso))),
        ("connected_at".to_owned(), json!(connected_at.map(iso))),
        ("ended_at".to_owned(), json!(iso(at))),
    ]);
    let event = state.events().record(&mut tx, &facts.account_id, "call.end", Value::Object(data)).await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// At start-up, ends the calls a previous process left live (it was killed: no call survives
/// its process). An answered one ends as lost (`completed`, cause 41), an unanswered one as
/// `failed`; each gets its `call.end` like any other end, so call logs and webhook receivers do
/// not keep a call "live" forever. Returns how many were closed.
pub async fn close_calls_left_live(state: &AppState) -> Result<usize, sqlx::Error> {
    type Row = (
        String,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, account_id, user_id, direction, from_number, from_label, to_number, to_label, did_id,
         answered_at FROM calls WHERE status IS NULL ORDER BY started_at",
    )
    .fetch_all(state.db())
    .await?;
    let now = state.clock().now_ms();
    let mut closed = 0;
    for (
        call_id,
        account_id,
        user_id,
        direction,
        from_number,
        from_name,
        to_number,
        to_label,
        did,
        answered,
    ) in rows
    {
        let facts = Facts {
            call_id,
            account_id,
            user_id,
            direction: match direction.as_str() {
                "outbound" => "outbound",
                "internal" => "internal",
                _ => "inbound",
            },
            from_number,
            from_name,
            to_number,
            to_label,
            did,
        };
        let outcome = if answered.is_some() { Outcome::Lost } else { Outcome::Failed };
        if let Some(event) = end_row(state, &facts, now, outcome).await? {
            state.events().announce(event);
            closed += 1;
        }
    }
    Ok(closed)
}

/// Records the DTMF digits received on a call so far.
pub async fn record_digits(state: &AppState, call_id: &str, digits: &str) {
    let result = sqlx::query("UPDATE calls SET dtmf_digits = ? WHERE id = ?")
        .bind(digits)
        .bind(call_id)
        .execute(state.db())
        .await;
    if let Err(error) = result {
        tracing::warn!(%call_id, %error, "cannot record DTMF digits");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppState, Config};

    async fn demo_state() -> (AppState, crate::demo::DemoIds) {
        let state = AppState::open(Config { demo: true, ..Config::in_memory() }).await.unwrap();
        (state, crate::demo::ids())
    }

    fn facts(call_id: &str, ids: &crate::demo::DemoIds) -> Facts {
        Facts {
            call_id: call_id.to_owned(),
            account_id: ids.account.clone(),
            user_id: Some(ids.alice.clone()),
            direction: "outbound",
            from_number: ids.alice.clone(),
            from_name: None,
            to_number: Some("+15005550001".to_owned()),
            to_label: None,
            did: None,
        }
    }

    async fn status(state: &AppState, call_id: &str) -> (Option<String>, Option<i64>) {
        sqlx::query_as("SELECT status, hangup_cause FROM calls WHERE id = ?")
            .bind(call_id)
            .fetch_one(state.db())
            .await
            .unwrap()
    }

    async fn call_end_events(state: &AppState, call_id: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE type = 'call.end' AND data LIKE ?")
            .bind(format!("%{call_id}%"))
            .fetch_one(state.db())
            .await
            .unwrap()
    }

    /// Found by `cargo xtask chaos` (scenario 3): calls live when ds-local was SIGKILLed stayed
    /// live in the call log forever, with no `call.end`.
    #[tokio::test]
    async fn calls_left_live_by_a_killed_process_end_with_their_call_end_at_start_up() {
        let (state, ids) = demo_state().await;
        let now = state.clock().now_ms();
        let (ringing, talking, finished) =
            (facts("call_ringing", &ids), facts("call_talking", &ids), facts("call_finished", &ids));
        for call in [&ringing, &talking, &finished] {
            insert(&state, call, None, now).await;
        }
        answered(&state, &talking, now).await;
        ended(&state, &finished, now, Outcome::Completed).await;

        assert_eq!(close_calls_left_live(&state).await.unwrap(), 2);
        assert_eq!(status(&state, "call_ringing").await, (Some("failed".to_owned()), Some(41)));
        assert_eq!(status(&state, "call_talking").await, (Some("completed".to_owned()), Some(41)));
        assert_eq!(status(&state, "call_finished").await, (Some("completed".to_owned()), None));
        for call in ["call_ringing", "call_talking", "call_finished"] {
            assert_eq!(call_end_events(&state, call).await, 1, "{call}");
        }
        assert_eq!(close_calls_left_live(&state).await.unwrap(), 0, "nothing is closed twice");
    }

    /// The end of a call and its `call.end` commit together: when the event cannot be recorded
    /// the row stays live (and is closed at the next start) rather than finished without its
    /// webhook.
    #[tokio::test]
    async fn an_end_whose_event_cannot_be_recorded_leaves_the_row_live() {
        let (state, ids) = demo_state().await;
        let now = state.clock().now_ms();
        let call = facts("call_unlucky", &ids);
        insert(&state, &call, None, now).await;
        sqlx::query("ALTER TABLE events RENAME TO events_away").execute(state.db()).await.unwrap();
        ended(&state, &call, now, Outcome::Completed).await;
        assert_eq!(status(&state, "call_unlucky").await, (None, None));
    }

    #[tokio::test]
    async fn flush_waits_for_every_write_queued_before_it() {
        let (state, _) = demo_state().await;
        let journal = Journal::start(state);
        // A slow write at the head of the queue, held until the test lets it go.
        let (release, held) = oneshot::channel::<()>();
        let (applied_tx, mut applied) = mpsc::unbounded_channel::<&str>();
        let first = applied_tx.clone();
        journal.run(move |_| async move {
            let _ = held.await;
            let _ = first.send("slow write");
        });
        let flushing = {
            let journal = journal.clone();
            tokio::spawn(async move { journal.flush().await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!flushing.is_finished(), "a flush does not pass a write queued before it");
        release.send(()).unwrap();
        flushing.await.unwrap();
        assert_eq!(applied.try_recv().ok(), Some("slow write"), "the write was applied first");
    }
}
