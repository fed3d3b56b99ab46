//! ds-local: the DialStack platform on one machine.
//!
//! [`app`] builds the whole HTTP surface as an axum `Router` from a [`AppState`], so tests drive
//! it with `tower::ServiceExt::oneshot` and no sockets; `main.rs` only parses flags, binds and
//! serves.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::routing::get;
use ds_protocol::Health;
use tower_http::services::ServeDir;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
}

/// What ds-local was started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder with the built web assets: `app/` (hosted softphone) and `elements/` (embed bundle).
    pub static_dir: Option<PathBuf>,
    /// Folder with the runnable embedding examples, served under `/examples/`.
    pub examples_dir: Option<PathBuf>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self { inner: Arc::new(Inner { config }) }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// The whole HTTP surface of ds-local.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new().route("/healthz", get(healthz));
    if let Some(examples) = &state.config().examples_dir {
        router = router.nest_service("/examples", ServeDir::new(examples));
    }
    if let Some(dir) = &state.config().static_dir {
        router = router
            .nest_service("/elements", ServeDir::new(dir.join("elements")))
            .fallback_service(ServeDir::new(dir.join("app")));
    }
    router.with_state(state)
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() })
}
