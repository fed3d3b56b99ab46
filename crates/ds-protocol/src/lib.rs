//! Wire types shared by the browser phone and ds-local.
//!
//! Everything that crosses the network is described here once, so that a change on one side that
//! the other side does not understand is a compile error rather than a production incident.
//! See `../shared/spec/protocol.md` (signalling, SSE, webhooks) and `rest.md` (REST).

use serde::{Deserialize, Serialize};

/// Body of `GET /healthz` on ds-local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// The server's crate version.
    pub version: String,
}

mod call_log_codec;
pub mod events;
mod frame_codec;
pub mod json;
pub mod rest;
mod rest_codec;
pub mod signalling;
