//! The account side used by components: an account session secret kept fresh (refreshed 5 min
//! before expiry, §10), REST with one refresh-and-retry on 401/403 (§9.2), and the `/v1/events`
//! stream (§12) through `EventSource`, resumed with the last event id and stopped after three
//! auth failures in a row.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use ds_protocol::json::Json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Event, EventSource, MessageEvent};

use crate::LocalBoxFuture;
use crate::driver::{now_ms, sleep_ms};
use crate::rest::parse_error_body;
use crate::tokens::{TokenError, TokenProvider};

/// Refresh lead for account sessions, and its floor and retry (§10).
const SESSION_REFRESH_LEAD_MS: u64 = 5 * 60_000;
const SESSION_REFRESH_MIN_MS: u64 = 30_000;
/// SSE reconnect: 1 s doubling to 30 s; stop after 3 auth failures in a row (§10, §12).
const SSE_RECONNECT_MAX_MS: u64 = 30_000;
const SSE_MAX_AUTH_FAILURES: u32 = 3;

/// When to refresh a secret that expires at `exp_ms`: 5 min before, never sooner than 30 s.
pub fn session_refresh_at(now: u64, exp_ms: u64) -> u64 {
    exp_ms.saturating_sub(SESSION_REFRESH_LEAD_MS).max(now + SESSION_REFRESH_MIN_MS)
}

/// The delay before SSE reconnect attempt `attempt` (0-based).
pub fn sse_backoff_ms(attempt: u32) -> u64 {
    1_000u64.saturating_mul(1 << attempt.min(5)).min(SSE_RECONNECT_MAX_MS)
}

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("no account session: {0}")]
    Session(#[from] TokenError),
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    #[error("the server answered {status}: {message}")]
    Status { status: u16, code: Option<String>, message: String },
    #[error("the server sent a reply we do not understand: {0}")]
    BadBody(String),
}

/// An account session secret from the host's provider, cached until 5 min before it expires.
#[derive(Debug)]
pub struct AccountSession {
    provider: TokenProvider,
    current: RefCell<Option<(String, u64)>>,
}

impl AccountSession {
    pub fn new(provider: TokenProvider) -> Rc<AccountSession> {
        Rc::new(AccountSession { provider, current: RefCell::new(None) })
    }

    /// The cached secret, or a fresh one when none is cached or it is due for refresh.
    pub async fn secret(&self) -> Result<String, TokenError> {
        if let Some((secret, refresh_at)) = self.current.borrow().clone()
            && now_ms() < refresh_at
        {
            return Ok(secret);
        }
        self.refresh().await
    }

    /// Forgets the cached secret and asks the provider for a new one.
    pub async fn refresh(&self) -> Result<String, TokenError> {
        let secret = self.provider.fetch().await?;
        let now = now_ms();
        let refresh_at = ds_core::token::read_claims(&secret)
            .and_then(|claims| claims.exp)
            .map(|exp| session_refresh_at(now, exp.saturating_mul(1000)))
            // Undecodable secrets cannot be scheduled: keep them until the server refuses them.
            .unwrap_or(u64::MAX);
        *self.current.borrow_mut() = Some((secret.clone(), refresh_at));
        Ok(secret)
    }

    /// Milliseconds since the epoch at which the cached secret should be refreshed.
    pub fn refresh_due_at(&self) -> Option<u64> {
        self.current.borrow().as_ref().map(|(_, at)| *at).filter(|at| *at != u64::MAX)
    }
}

/// `GET {api_base}{path}` with the account session; one refresh-and-retry on 401/403.
pub fn get_json<'a>(
    api_base: &'a str,
    session: &'a AccountSession,
    path: &'a str,
) -> LocalBoxFuture<'a, Result<Json, ApiError>> {
    request_json(api_base, session, Verb::Get, path, None)
}

/// `POST {api_base}{path}` with a JSON body and the account session; one refresh-and-retry on
/// 401/403. Returns the reply's JSON, or `Null` for an empty body (e.g. a bare 202).
pub fn post_json<'a>(
    api_base: &'a str,
    session: &'a AccountSession,
    path: &'a str,
    body: &'a Json,
) -> LocalBoxFuture<'a, Result<Json, ApiError>> {
    request_json(api_base, session, Verb::Post, path, Some(body))
}

/// The HTTP methods of [`request_json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Delete,
}

/// `verb` (with a JSON `body` for POST) and one refresh-and-retry on 401/403, platform error
/// bodies turned into [`ApiError::Status`]. An empty reply is `Null` for a POST or DELETE only.
/// `session` may hold any bearer secret: the E911 client feeds it user tokens.
pub(crate) fn request_json<'a>(
    api_base: &'a str,
    session: &'a AccountSession,
    verb: Verb,
    path: &'a str,
    body: Option<&'a Json>,
) -> LocalBoxFuture<'a, Result<Json, ApiError>> {
    Box::pin(async move {
        let url = format!("{}{path}", api_base.trim_end_matches('/'));
        let mut secret = session.secret().await?;
        for attempt in 0..2 {
            let authorization = format!("Bearer {secret}");
            let (method, body) = match (verb, body) {
                (Verb::Post, Some(body)) => ("POST", Some(body.to_string())),
                (Verb::Delete, _) => ("DELETE", None),
                _ => ("GET", None),
            };
            let response = crate::http::fetch(method, &url, Some(&authorization), body)
                .await
                .map_err(ApiError::Unreachable)?;
            let status = response.status;
            if (status == 401 || status == 403) && attempt == 0 {
                secret = session.refresh().await?;
                continue;
            }
            let ok = response.ok();
            let text = response.text.map_err(ApiError::BadBody)?;
            if !ok {
                let detail = parse_error_body(&text);
                return Err(ApiError::Status {
                    status,
                    code: detail.as_ref().and_then(|d| d.code.clone()),
                    message: detail.map(|d| d.message).unwrap_or(text),
                });
            }
            if verb != Verb::Get && text.trim().is_empty() {
                return Ok(Json::Null);
            }
            return Json::parse(&text).map_err(|e| ApiError::BadBody(e.to_string()));
        }
        unreachable!("the loop returns on its second pass")
    })
}

/// One event of the account stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// `event:` name (`connected`, `call.incoming`, …).
    pub name: String,
    pub id: Option<String>,
    pub data: Json,
}

/// What the stream tells its owner besides events.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamNotice {
    Event(StreamEvent),
    /// Gave up after three auth failures in a row; the host must supply a working session.
    AuthFailed,
}

type OpenSource = (EventSource, Vec<Closure<dyn FnMut(Event)>>);

const STREAM_EVENTS: &[&str] =
    &["connected", "call.incoming", "call.initiated", "call.ringing", "call.answered", "call.end"];

struct StreamInner {
    api_base: String,
    session: Rc<AccountSession>,
    on_notice: Box<dyn Fn(StreamNotice)>,
    source: RefCell<Option<OpenSource>>,
    last_id: RefCell<Option<String>>,
    attempt: Cell<u32>,
    auth_failures: Cell<u32>,
    generation: Cell<u64>,
    stopped: Cell<bool>,
}

/// The `/v1/events` stream; closes when dropped.
pub struct AccountEventStream {
    inner: Rc<StreamInner>,
}

impl std::fmt::Debug for AccountEventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountEventStream").field("last_id", &self.inner.last_id.borrow()).finish()
    }
}

impl Drop for AccountEventStream {
    fn drop(&mut self) {
        self.inner.stopped.set(true);
        self.inner.close_source();
    }
}

impl AccountEventStream {
    /// Opens the stream; `on_notice` hears every event and the final auth failure.
    pub fn open(
        api_base: &str,
        session: Rc<AccountSession>,
        on_notice: impl Fn(StreamNotice) + 'static,
    ) -> Self {
        let inner = Rc::new(StreamInner {
            api_base: api_base.trim_end_matches('/').to_owned(),
            session,
            on_notice: Box::new(on_notice),
            source: RefCell::new(None),
            last_id: RefCell::new(None),
            attempt: Cell::new(0),
            auth_failures: Cell::new(0),
            generation: Cell::new(0),
            stopped: Cell::new(false),
        });
        StreamInner::connect(&inner, false);
        AccountEventStream { inner }
    }

    /// The id of the last event seen (what a reconnect resumes after).
    pub fn last_event_id(&self) -> Option<String> {
        self.inner.last_id.borrow().clone()
    }

    /// Test hook: closes the EventSource as a network blip would and reconnects through the
    /// manual path (with `last_event_id`).
    pub fn debug_reconnect(&self) {
        self.inner.close_source();
        StreamInner::connect(&self.inner, false);
    }
}

impl StreamInner {
    fn close_source(&self) {
        if let Some((source, closures)) = self.source.borrow_mut().take() {
            source.close();
            crate::driver::drop_later(Box::new(closures));
        }
    }

    fn connect(this: &Rc<Self>, force_refresh: bool) {
        let generation = this.generation.get() + 1;
        this.generation.set(generation);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let Some(inner) = weak.upgrade() else { return };
            let secret =
                if force_refresh { inner.session.refresh().await } else { inner.session.secret().await };
            let secret = match secret {
                Ok(secret) => secret,
                Err(_) => return StreamInner::failed(&inner, true),
            };
            if inner.stopped.get() || inner.generation.get() != generation {
                return;
            }
            let mut url = format!("{}/v1/events?access_token={}", inner.api_base, encode(&secret));
            if let Some(id) = inner.last_id.borrow().as_deref() {
                url.push_str(&format!("&last_event_id={}", encode(id)));
            }
            StreamInner::open_source(&inner, &url, generation);
            StreamInner::schedule_refresh(&weak, generation);
        });
    }

    /// Reconnects with a fresh secret shortly before the current one expires.
    fn schedule_refresh(weak: &Weak<Self>, generation: u64) {
        let Some(inner) = weak.upgrade() else { return };
        let Some(due) = inner.session.refresh_due_at() else { return };
        let weak = weak.clone();
        spawn_local(async move {
            let _ = sleep_ms(due.saturating_sub(now_ms()).min(i32::MAX as u64) as i32).await;
            let Some(inner) = weak.upgrade() else { return };
            if !inner.stopped.get() && inner.generation.get() == generation {
                inner.close_source();
                StreamInner::connect(&inner, true);
            }
        });
    }

    fn open_source(this: &Rc<Self>, url: &str, generation: u64) {
        let Ok(source) = EventSource::new(url) else { return StreamInner::failed(this, false) };
        let mut closures = Vec::new();
        for name in STREAM_EVENTS {
            let weak = Rc::downgrade(this);
            let closure = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let Some(inner) = weak.upgrade() else { return };
                let Ok(message) = event.dyn_into::<MessageEvent>() else { return };
                inner.attempt.set(0);
                inner.auth_failures.set(0);
                let id = crate::media::read_string(&message, "lastEventId").filter(|id| !id.is_empty());
                if let Some(id) = &id {
                    *inner.last_id.borrow_mut() = Some(id.clone());
                }
                let data =
                    message.data().as_string().and_then(|text| Json::parse(&text).ok()).unwrap_or(Json::Null);
                (inner.on_notice)(StreamNotice::Event(StreamEvent { name: (*name).to_owned(), id, data }));
            });
            let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            closures.push(closure);
        }
        let weak = Rc::downgrade(this);
        let url_for_probe = url.to_owned();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {
            let Some(inner) = weak.upgrade() else { return };
            let closed =
                inner.source.borrow().as_ref().is_some_and(|(s, _)| s.ready_state() == EventSource::CLOSED);
            // While CONNECTING the browser retries by itself, sending Last-Event-ID. CLOSED means
            // it gave up (a non-200 answer): find out whether it was an auth failure.
            if closed && inner.generation.get() == generation {
                inner.close_source();
                let weak = Rc::downgrade(&inner);
                let url = url_for_probe.clone();
                spawn_local(async move {
                    let status =
                        crate::http::fetch("GET", &url, None, None).await.map(|r| r.status).unwrap_or(0);
                    if let Some(inner) = weak.upgrade() {
                        StreamInner::failed(&inner, status == 401 || status == 403);
                    }
                });
            }
        });
        let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        closures.push(on_error);
        *this.source.borrow_mut() = Some((source, closures));
    }

    fn failed(this: &Rc<Self>, auth: bool) {
        if this.stopped.get() {
            return;
        }
        if auth {
            let failures = this.auth_failures.get() + 1;
            this.auth_failures.set(failures);
            if failures >= SSE_MAX_AUTH_FAILURES {
                this.stopped.set(true);
                (this.on_notice)(StreamNotice::AuthFailed);
                return;
            }
        } else {
            this.auth_failures.set(0);
        }
        let attempt = this.attempt.get();
        this.attempt.set(attempt + 1);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let _ = sleep_ms(sse_backoff_ms(attempt) as i32).await;
            if let Some(inner) = weak.upgrade()
                && !inner.stopped.get()
            {
                StreamInner::connect(&inner, auth);
            }
        });
    }
}

fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_session_refreshes_five_minutes_before_expiry_but_not_sooner_than_30_s() {
        let now = 1_000_000;
        assert_eq!(session_refresh_at(now, now + 3_600_000), now + 3_300_000);
        assert_eq!(session_refresh_at(now, now + 60_000), now + 30_000);
    }

    #[test]
    fn sse_reconnect_doubles_from_one_second_to_thirty() {
        let delays: Vec<u64> = (0..7).map(sse_backoff_ms).collect();
        assert_eq!(delays, vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    }
}
