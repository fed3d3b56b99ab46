//! The seed's "click-to-call with activity logging" workflow (shared/seed/direct-api.txt) as a
//! partner would write it in Rust:
//!
//! 1. provision a customer account and a user with the platform API key ([`client`]);
//! 2. trigger click-to-call (`POST /v1/calls`): the user's devices ring first, then the
//!    destination is dialled and bridged;
//! 3. receive `call.end` (and `voicemail.new`, `recording.available`) on a webhook handler that
//!    verifies `X-DialStack-Signature` ([`signature`]) and upserts into its own SQLite table
//!    ([`store`], served by [`receiver`]).

pub mod client;
pub mod receiver;
pub mod signature;
pub mod store;

use std::time::Duration;

pub use client::DialStack;
pub use receiver::{Receiver, WEBHOOK_PATH};
pub use store::{CallActivity, Store};

/// The event types this backend logs (and so subscribes to).
pub const LOGGED_EVENTS: &[&str] = &["call.end", "voicemail.new", "recording.available"];

/// Polls the table until `call.end` for `call_id` has landed, or `timeout` passes.
pub async fn wait_for_call_end(
    store: &Store,
    call_id: &str,
    timeout: Duration,
) -> Result<Option<CallActivity>, store::StoreError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(row) = store.call(call_id).await?
            && row.status.is_some()
        {
            return Ok(Some(row));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
