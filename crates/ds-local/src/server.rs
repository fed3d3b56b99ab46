//! The HTTP accept loop. `axum::serve` gives hyper no timer, so a client that opens a connection
//! and dribbles a header that never ends (slow loris) holds a socket and a task forever. This loop
//! is the same hyper connection builder with a timer and a header-read deadline, plus graceful
//! shutdown, and WebSocket upgrades kept working.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A request's head (request line and headers) must arrive within this; otherwise the
    /// connection is closed. Browsers send their headers in one write, so 10 s is generous.
    pub header_read_timeout: Duration,
    /// How long graceful shutdown waits for open connections (SSE streams and WebSockets never
    /// end on their own) before the process goes on without them.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(10), shutdown_grace: Duration::from_secs(2) }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish for
/// at most [`ServeLimits::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or a connection reset before accept: keep serving the
                // others; a short pause stops a busy loop while descriptors are exhausted.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            // Errors here are one client's (reset, header timeout, bad request line): logged at
            // debug, never the server's concern.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::debug!("connections still open after the shutdown grace; leaving them");
    }
    Ok(())
}
