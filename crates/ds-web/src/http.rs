//! The one `fetch` path every REST call of the phone takes (tokens, ICE servers, health, the
//! account API, the event-stream probe).
//!
//! Why not gloo-net: each of its builder chains and `send().await`s was a separate state machine
//! plus `Request`/`Url`/`Headers` glue in the embed bundle; one non-generic helper that always
//! reads the body as text is all these calls need (see docs/benchmarks.md, "Size work").

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

use crate::tokens::js_text;

#[wasm_bindgen]
extern "C" {
    // The global `fetch` (window or worker), as gloo-net binds it.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &web_sys::RequestInit) -> js_sys::Promise;
}

/// A reply: its status and its body as text (`Err` when the body could not be read).
pub(crate) struct Reply {
    pub status: u16,
    pub text: Result<String, String>,
}

impl Reply {
    /// A 2xx status, as `Response.ok`.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `method url` with an optional `Authorization` header and an optional JSON body. `Err` (the
/// thrown error's text) when the request could not be made at all (offline, refused, CORS).
/// Credentials are the fetch default (`same-origin`), as every caller wants.
pub(crate) async fn fetch(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    json_body: Option<String>,
) -> Result<Reply, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = js_sys::Object::new();
    if let Some(authorization) = authorization {
        let _ = js_sys::Reflect::set(&headers, &"Authorization".into(), &authorization.into());
    }
    if let Some(body) = json_body {
        let _ = js_sys::Reflect::set(&headers, &"Content-Type".into(), &"application/json".into());
        init.set_body(&body.into());
    }
    init.set_headers(&headers);
    let response = JsFuture::from(fetch_with_init(url, &init)).await.map_err(|e| js_text(&e))?;
    let response: web_sys::Response = response.unchecked_into();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.map(|t| t.as_string().unwrap_or_default()),
        Err(e) => Err(e),
    };
    Ok(Reply { status: response.status(), text: text.map_err(|e| js_text(&e)) })
}
