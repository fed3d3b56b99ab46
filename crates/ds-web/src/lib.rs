//! Browser drivers for the DialStack phone. This is the only crate that touches browser APIs;
//! `ds-core` decides, `ds-web` does.

mod rest;

pub use rest::{RestError, fetch_health};

/// The origin of the page, e.g. `http://127.0.0.1:8787`, used as the default API base when the
/// page is served by ds-local itself.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}
