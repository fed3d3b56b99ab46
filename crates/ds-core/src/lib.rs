//! The sans-IO phone core: every decision of the softphone, with no I/O and no clock of its own.
//!
//! - [`Phone`]: connection and call state machines (protocol.md §4, §6, §7), driven by
//!   [`Command`]s, signalling frames, transport and media events and timeouts, answering with
//!   [`Output`]s. See its documentation for the drain contract.
//! - [`destination`]: dial-string cleaning, E.164 and as-you-type formatting (§14).
//! - [`url`]: signalling URL derivation (§4.1). [`token`]: reading `sub`/`exp` (§3.4).
//! - [`view_model`]: pure functions the UI wraps in memos.
//!
//! Architecture invariant: no browser or runtime dependency, no clock, no global randomness.

pub mod destination;
pub mod error;
pub mod io;
pub mod phone;
pub mod random;
pub mod token;
pub mod url;
pub mod view_model;

pub use error::{PhoneError, PhoneErrorCode};
pub use io::{
    CallHandle, CallInfo, CallPhase, Command, Direction, Input, MediaEvent, MediaRequest, Output, PhoneEvent,
    SocketId, TransportEvent, TransportRequest,
};
pub use phone::{Phone, PhoneConfig};
pub use random::{RandomSource, XorShift32};
