//! `GET /v1/events`: the account event stream (protocol.md §12, §16.11).
//!
//! `event: connected` first (its id is the resume point); then, when the client sent
//! `Last-Event-ID`, every retained event after it in order; then live events. Each event carries
//! `id: <per-account sequence>`.
//! Heartbeat comments keep proxies from closing an idle stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::events::{EventBus, StoredEvent};
use crate::extract::Params;

const REPLAY_BATCH: i64 = 200;

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The route table lets this route's credential come as `?access_token=` (browsers'
    // `EventSource` cannot send headers); the access check verified it, and refused user
    // tokens (`Access::Account`), before we ran.
    let scope = caller.account(&state, false).await?;
    let resume_from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or_else(|| params.get("last_event_id"))
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid_field("Last-Event-ID", "must be an event id"))
        })
        .transpose()?;
    // Subscribe before reading the position, so nothing published in between is missed.
    let live = state.events().subscribe();
    let last = match resume_from {
        Some(seq) => seq,
        None => sqlx::query_scalar::<_, i64>("SELECT last_seq FROM event_sequences WHERE account_id = ?")
            .bind(&scope.account_id)
            .fetch_optional(state.db())
            .await?
            .unwrap_or(0),
    };
    let stream = EventStream {
        bus: state.events().clone(),
        account_id: scope.account_id,
        last,
        connected_sent: false,
        caught_up: resume_from.is_none(),
        queue: VecDeque::new(),
        live,
    };
    let keep_alive = KeepAlive::new().interval(state.config().sse_heartbeat).text("heartbeat");
    Ok(Sse::new(futures_util::stream::unfold(stream, EventStream::next)).keep_alive(keep_alive))
}

struct EventStream {
    bus: EventBus,
    account_id: String,
    /// Sequence of the last event sent (or the resume point).
    last: i64,
    connected_sent: bool,
    /// False while the log may hold events after `last` that were not sent yet.
    caught_up: bool,
    queue: VecDeque<StoredEvent>,
    live: broadcast::Receiver<Arc<StoredEvent>>,
}

impl EventStream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if !self.connected_sent {
            self.connected_sent = true;
            // `connected` carries the resume point as its id, so a client cut before any other
            // event arrives still reconnects with a Last-Event-ID and gets what it missed (without
            // it, the browser reconnects with none and the events of the gap are never replayed).
            let connected = Event::default().event(ds_protocol::events::CONNECTED).id(self.last.to_string());
            return Some((Ok(connected.data("{}")), self));
        }
        loop {
            if let Some(event) = self.queue.pop_front() {
                if event.seq <= self.last {
                    continue;
                }
                self.last = event.seq;
                return Some((Ok(to_sse(&event)), self));
            }
            if !self.caught_up {
                match self.bus.replay(&self.account_id, self.last, REPLAY_BATCH).await {
                    Ok(events) if events.is_empty() => self.caught_up = true,
                    Ok(events) => self.queue.extend(events),
                    Err(error) => {
                        // End the stream; the client reconnects with Last-Event-ID and resumes.
                        tracing::warn!(%error, "event replay failed");
                        return None;
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) if event.account_id == self.account_id => {
                    if event.seq == self.last + 1 {
                        self.queue.push_back((*event).clone());
                    } else if event.seq > self.last {
                        // A gap: fetch the missing ones from the log, in order.
                        self.caught_up = false;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => self.caught_up = false,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn to_sse(event: &StoredEvent) -> Event {
    Event::default().event(&event.event_type).id(event.seq.to_string()).data(event.data.to_string())
}
