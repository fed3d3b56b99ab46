//! ds-local: the DialStack platform on one machine.
//!
//! [`app`] builds the whole HTTP surface as an axum `Router` from a [`AppState`], so tests drive
//! it with `tower::ServiceExt::oneshot` and no sockets; `main.rs` only parses flags, binds and
//! serves.
//!
//! Layout: `tokens` (JWT minting/verification), `auth` (who is calling), `events` (the account
//! event bus: SQLite log + SSE fan-out + webhook outbox), `webhooks` (the delivery worker),
//! `routes` (one module per REST resource; the route table also produces `/api/openapi.yaml`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Method, header};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::ServeDir;

pub mod auth;
pub mod calls;
pub mod clock;
pub mod demo;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod ids;
pub mod json_errors;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod routing;
pub mod server;
pub mod signalling;
pub mod tokens;
pub mod voicemail;
pub mod webhooks;

pub use calls::{CallLauncher, ClickToCall};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ApiError;
pub use events::EventBus;
pub use tokens::{AuthError, Tokens, UserClaims};

/// Largest accepted request body; bigger ones get a JSON 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// How the webhook worker retries (protocol.md §16.7: ≈1 s doubling to 1 h, for up to 3 days).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub give_up_after: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What ds-local was started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder with the built web assets: `app/` (hosted softphone) and `elements/` (embed bundle).
    pub static_dir: Option<PathBuf>,
    /// Folder with the runnable embedding examples, served under `/examples/`.
    pub examples_dir: Option<PathBuf>,
    /// Where the SQLite file and the token signing key live (created if missing).
    /// `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    /// The API keys that are accepted (`sk_test_…` / `sk_live_…`).
    pub platform_keys: Vec<String>,
    /// Seed the demo account at start.
    pub demo: bool,
    /// Source of "now" for timestamps, token expiry and webhook scheduling.
    pub clock: Arc<dyn Clock>,
    /// Webhook retry schedule.
    pub webhook_retry: RetryPolicy,
    /// Platform `webhook_url` to set at start (rest.md §17.1, `DS_LOCAL_WEBHOOK_URL`).
    pub platform_webhook_url: Option<String>,
    /// SSE heartbeat comment interval (protocol.md §16.11: 15 s).
    pub sse_heartbeat: Duration,
    /// Per-credential REST and signalling rate limits (`rate_limit.rs`).
    pub rate_limits: rate_limit::RateLimits,
}

impl Config {
    /// An in-memory platform with the default key `sk_test_local`: what tests start from.
    pub fn in_memory() -> Self {
        Self {
            static_dir: None,
            examples_dir: None,
            data_dir: None,
            platform_keys: vec!["sk_test_local".to_owned()],
            demo: false,
            clock: Arc::new(SystemClock),
            webhook_retry: RetryPolicy::default(),
            platform_webhook_url: None,
            sse_heartbeat: Duration::from_secs(15),
            rate_limits: rate_limit::RateLimits::default(),
        }
    }

    /// A platform persisted under `dir`.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: Some(dir.into()), ..Self::in_memory() }
    }
}

/// Why ds-local could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Key(#[from] tokens::KeyError),
    #[error("demo seed: {0}")]
    Demo(String),
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    db: SqlitePool,
    /// See [`AppState::db_reader`].
    readers: SqlitePool,
    tokens: Tokens,
    events: EventBus,
    launcher: RwLock<Arc<dyn CallLauncher>>,
    /// The signalling hub, once [`signalling::attach`] has started it.
    signalling: OnceLock<signalling::Hub>,
    webhook_worker: Mutex<Option<webhooks::WorkerHandle>>,
    limiters: rate_limit::Limiters,
}

impl AppState {
    /// Opens (or creates) the database, runs migrations, loads the signing key, seeds the demo
    /// when asked, and starts the webhook delivery worker (which picks up pending deliveries).
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let db = open_database(config.data_dir.as_ref()).await?;
        sqlx::migrate!("./migrations").run(&db).await?;
        let readers = open_readers(config.data_dir.as_ref(), &db).await?;
        let tokens = Tokens::load_or_create(config.data_dir.as_deref())?;
        for (user_id, revoked_at) in sqlx::query_as::<_, (String, i64)>(
            "SELECT id, sessions_revoked_at FROM users WHERE sessions_revoked_at IS NOT NULL",
        )
        .fetch_all(&db)
        .await?
        {
            tokens.revoke_user(&user_id, revoked_at);
        }
        let events = EventBus::new(db.clone(), config.clock.clone());
        if let Some(url) = &config.platform_webhook_url {
            webhooks::set_platform_webhook_url(&db, Some(url)).await?;
        }
        if config.demo {
            demo::seed(&db, config.clock.now_ms()).await?;
        }
        let worker = webhooks::spawn_worker(
            db.clone(),
            config.clock.clone(),
            config.webhook_retry.clone(),
            events.wake_handle(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                limiters: rate_limit::Limiters::new(config.rate_limits),
                config,
                db,
                readers,
                tokens,
                events,
                launcher: RwLock::new(Arc::new(calls::NoSignalling)),
                signalling: OnceLock::new(),
                webhook_worker: Mutex::new(Some(worker)),
            }),
        })
    }

    /// Stops the webhook worker and closes the database. Pending deliveries stay in the outbox.
    pub async fn close(&self) {
        let worker = self.inner.webhook_worker.lock().expect("worker mutex is never poisoned").take();
        if let Some(worker) = worker {
            worker.stop().await;
        }
        self.inner.readers.close().await;
        self.inner.db.close().await;
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn db(&self) -> &SqlitePool {
        &self.inner.db
    }

    /// Connections for reads that must not wait behind the one writing connection (WAL lets
    /// them read the last committed state while it writes): the call hub's per-call lookups,
    /// which otherwise queued behind every CallLog write (benchmark figure 7). Reads here may
    /// not see a write still queued elsewhere; read rows the hub itself writes through
    /// [`AppState::db`] after [`signalling::cdr::Journal::flush`]. For an in-memory database
    /// (whose connections cannot share it) this is the same pool as [`AppState::db`].
    pub fn db_reader(&self) -> &SqlitePool {
        &self.inner.readers
    }

    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    pub fn limiters(&self) -> &rate_limit::Limiters {
        &self.inner.limiters
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.config.clock.as_ref()
    }

    /// Plugs in what actually rings the user for a click-to-call (the signalling layer).
    pub fn set_call_launcher(&self, launcher: Arc<dyn CallLauncher>) {
        *self.inner.launcher.write().expect("launcher lock is never poisoned") = launcher;
    }

    pub fn call_launcher(&self) -> Arc<dyn CallLauncher> {
        self.inner.launcher.read().expect("launcher lock is never poisoned").clone()
    }

    /// Records the running signalling hub (done by [`signalling::attach`]); a second call is
    /// ignored, the first hub stays.
    pub fn set_signalling(&self, hub: signalling::Hub) {
        let _ = self.inner.signalling.set(hub);
    }

    /// The signalling hub, if signalling was attached.
    pub fn signalling(&self) -> Option<signalling::Hub> {
        self.inner.signalling.get().cloned()
    }
}

/// One SQLite connection per pool: ds-local is a single-user tool, and one connection makes
/// every write transaction strictly serial (no SQLITE_BUSY upgrades) and lets `:memory:` work,
/// since each in-memory connection would otherwise be a separate, empty database.
async fn open_database(data_dir: Option<&PathBuf>) -> Result<SqlitePool, StartError> {
    let options = match data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|source| StartError::DataDir { path: dir.display().to_string(), source })?;
            SqliteConnectOptions::new()
                .filename(dir.join("ds-local.sqlite3"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // With WAL, NORMAL syncs at checkpoints instead of at every commit: a commit
                // survives ds-local being killed (the WAL is in the OS's hands), and only an OS
                // crash or power cut can lose the last ones. With one connection, each fsync held
                // up every write queued behind it (3.5 ms per commit on a busy machine here).
                .synchronous(SqliteSynchronous::Normal)
        }
        None => SqliteConnectOptions::new().in_memory(true),
    }
    .foreign_keys(true)
    .busy_timeout(Duration::from_secs(5));
    Ok(kept_pool(1).connect_with(options).await?)
}

/// What both pools share: their connections open at start and live as long as the process (an
/// in-memory database lives exactly as long as its connection).
fn kept_pool(max_connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// The read-only pool behind [`AppState::db_reader`]: a few connections to the same file, each
/// refusing writes (`query_only`), so the single-writer rule above still holds.
async fn open_readers(data_dir: Option<&PathBuf>, db: &SqlitePool) -> Result<SqlitePool, StartError> {
    let Some(dir) = data_dir else { return Ok(db.clone()) };
    let options = SqliteConnectOptions::new()
        .filename(dir.join("ds-local.sqlite3"))
        .pragma("query_only", "ON")
        .busy_timeout(Duration::from_secs(5));
    Ok(kept_pool(READERS).connect_with(options).await?)
}

/// Reading connections: enough for the two cores this runs on plus a slow read or two.
const READERS: u32 = 4;

/// Request ids look like `req_<typeid suffix>`.
#[derive(Clone, Copy)]
struct MakeTypeIdRequestId;

impl MakeRequestId for MakeTypeIdRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = ids::new_id("req", chrono::Utc::now().timestamp_millis());
        id.parse().ok().map(RequestId::new)
    }
}

/// A request whose `Content-Length` is over the limit gets its 413 before any body byte is read:
/// the body limit alone only trips after a megabyte has arrived, so a client declaring 10 GB
/// and sending nothing held the connection open indefinitely (found by the security suite).
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return ApiError::PayloadTooLarge { limit: BODY_LIMIT_BYTES }.into_response();
    }
    next.run(request).await
}

/// The whole HTTP surface of ds-local.
pub fn app(state: AppState) -> Router {
    let mut router = routes::api_router(&state).merge(signalling::router());
    if state.config().demo {
        router = router.merge(demo::token_router());
    }
    if let Some(examples) = &state.config().examples_dir {
        router = router.nest_service("/examples", ServeDir::new(examples));
    }
    if let Some(dir) = &state.config().static_dir {
        router = router
            .nest_service("/elements", ServeDir::new(dir.join("elements")))
            .fallback_service(ServeDir::new(dir.join("app")));
    } else {
        router = router.fallback(routes::not_found);
    }
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("dialstack-account"),
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    router
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::middleware))
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::middleware))
        .layer(axum::middleware::map_response(json_errors::middleware))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeTypeIdRequestId))
        .with_state(state)
}
