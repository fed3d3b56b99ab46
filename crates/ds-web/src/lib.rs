//! Browser drivers for the DialStack phone. This is the only crate that touches browser APIs;
//! `ds-core` decides, `ds-web` does.
//!
//! - [`PhoneHandle`]: the phone as Rust UIs use it (commands, snapshot, subscriptions).
//! - [`js_api`]: the same phone as a headless JS API (`DialStackPhone`, `Call`).
//! - [`quality`]: pure call-quality arithmetic (MOS estimate, one-way audio).
//! - [`emergency`]: the user's E911 addresses (REST, and the chosen id kept per user).

mod call_json;
mod driver;
pub mod emergency;
pub mod events;
mod http;
pub mod js_api;
mod media;
pub mod quality;
mod rest;
mod tab_phone;
pub mod tabs;
mod tokens;
mod vec_map;

pub use call_json::status_name;
pub use driver::{DriverEvent, PhoneHandle, PhoneOptions, PhoneSnapshot, Subscription, WeakPhoneHandle};
pub use emergency::EmergencyAddresses;
pub use events::{
    AccountEventStream, AccountSession, ApiError, StreamEvent, StreamNotice, get_json, post_json,
};
pub use media::{AudioDevice, AudioDeviceKind, INPUT_DEVICE_KEY, OUTPUT_DEVICE_KEY, classify_media_error};
pub use rest::{ErrorDetail, RestError, error_message, fetch_health, parse_error_body};
pub use tokens::{TokenError, TokenProvider, parse_token_body};
pub use vec_map::{CallMap, VecMap};

/// The future of an async method other crates await. Boxed on purpose: an `async fn`'s state
/// machine is compiled into every crate that awaits it (ds-ui and ds-elements each had their own
/// copy of the token fetch, the REST path…); behind `dyn Future` there is one copy, in ds-web
/// (size work).
pub type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// The origin of the page, e.g. `http://127.0.0.1:8787`, used as the default API base when the
/// page is served by ds-local itself.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}
