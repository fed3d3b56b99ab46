//! REST calls through gloo-net.

use ds_protocol::Health;
use gloo_net::http::Request;

/// Why a REST call failed, in terms the UI can explain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// The server could not be reached at all (offline, refused, CORS).
    #[error("the server at {base} could not be reached")]
    Unreachable { base: String },
    /// The server answered with a non-success status.
    #[error("the server answered {status}")]
    Status { status: u16 },
    /// The server answered 2xx with a body we could not read.
    #[error("the server sent a reply we do not understand: {0}")]
    BadBody(String),
}

/// `GET {api_base}/healthz`.
pub async fn fetch_health(api_base: &str) -> Result<Health, RestError> {
    let base = api_base.trim_end_matches('/');
    let response = Request::get(&format!("{base}/healthz"))
        .send()
        .await
        .map_err(|_| RestError::Unreachable { base: base.to_owned() })?;
    if !response.ok() {
        return Err(RestError::Status { status: response.status() });
    }
    response.json::<Health>().await.map_err(|e| RestError::BadBody(e.to_string()))
}
