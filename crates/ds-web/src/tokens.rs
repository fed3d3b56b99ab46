//! Where tokens come from: the host application supplies a provider (a JS function returning a
//! Promise of a token, a URL answering with one, or a fixed string for tests and demos).

use ds_protocol::json::Json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token provider failed: {0}")]
    Provider(String),
    #[error("the token endpoint answered {status}")]
    Status { status: u16 },
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the token provider returned no token")]
    Empty,
    /// Multi-tab groups tabs by user: the token must name one.
    #[error("sharing the phone between tabs needs a token whose `sub` names the user")]
    NoUser,
}

/// A source of fresh tokens.
#[derive(Debug, Clone)]
pub enum TokenProvider {
    /// Always the same token (tests, demos, or a host that reconnects with a new phone).
    Fixed(String),
    /// `GET url`; the body is JSON `{token}` / `{client_secret}` or the bare token as text.
    Url(String),
    /// A JS function `() => Promise<string> | string`.
    Function(js_sys::Function),
    /// A host's token endpoint (the elements' `token-url`): `POST url` with the page's cookies,
    /// or `GET url` when the endpoint answers 405; the body is read as for [`TokenProvider::Url`].
    Endpoint(String),
}

impl TokenProvider {
    /// Reads the host's `tokenProvider` option: a function, or a string that is a URL when it
    /// looks like one (starts with `http`, `/` or `.`), else a fixed token.
    pub fn from_js(value: &JsValue) -> Option<TokenProvider> {
        if let Some(function) = value.dyn_ref::<js_sys::Function>() {
            return Some(TokenProvider::Function(function.clone()));
        }
        let text = value.as_string()?;
        if text.starts_with("http://")
            || text.starts_with("https://")
            || text.starts_with('/')
            || text.starts_with('.')
        {
            Some(TokenProvider::Url(text))
        } else {
            Some(TokenProvider::Fixed(text))
        }
    }

    /// Asks for a fresh token.
    pub fn fetch(&self) -> crate::LocalBoxFuture<'_, Result<String, TokenError>> {
        Box::pin(async move {
            let token = match self {
                TokenProvider::Fixed(token) => token.clone(),
                // An endpoint is asked `POST url` first, and `GET url` when it answers 405.
                TokenProvider::Url(url) | TokenProvider::Endpoint(url) => {
                    let endpoint = matches!(self, TokenProvider::Endpoint(_));
                    let mut reply =
                        crate::http::fetch(if endpoint { "POST" } else { "GET" }, url, None, None).await;
                    if endpoint && matches!(&reply, Ok(r) if r.status == 405) {
                        reply = crate::http::fetch("GET", url, None, None).await;
                    }
                    let reply = reply.map_err(TokenError::Unreachable)?;
                    if !reply.ok() {
                        return Err(TokenError::Status { status: reply.status });
                    }
                    parse_token_body(&reply.text.map_err(TokenError::Unreachable)?)
                        .ok_or(TokenError::Empty)?
                }
                TokenProvider::Function(function) => {
                    let result =
                        function.call0(&JsValue::NULL).map_err(|e| TokenError::Provider(js_text(&e)))?;
                    let value = if result.has_type::<js_sys::Promise>() {
                        let promise: js_sys::Promise = result.unchecked_into();
                        JsFuture::from(promise).await.map_err(|e| TokenError::Provider(js_text(&e)))?
                    } else {
                        result
                    };
                    match value.as_string() {
                        Some(text) => text,
                        None => {
                            // Accept `{token}` / `{client_secret}` objects from providers too.
                            let json = js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string());
                            json.as_deref().and_then(parse_token_body).ok_or(TokenError::Empty)?
                        }
                    }
                }
            };
            let token = token.trim().to_owned();
            if token.is_empty() { Err(TokenError::Empty) } else { Ok(token) }
        })
    }
}

/// A token endpoint's body: JSON `{"token": …}` or `{"client_secret": …}`, or the token as text.
pub fn parse_token_body(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with('{') {
        let value = Json::parse(trimmed).ok()?;
        let token = value.get("token").or_else(|| value.get("client_secret"))?.as_str()?.trim();
        return (!token.is_empty()).then(|| token.to_owned());
    }
    if trimmed.starts_with('"') {
        return match Json::parse(trimmed) {
            Ok(Json::String(token)) if !token.is_empty() => Some(token),
            _ => None,
        };
    }
    Some(trimmed.to_owned())
}

/// The message of a thrown JS value.
pub(crate) fn js_text(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use super::parse_token_body;

    #[test]
    fn token_body_accepts_token_client_secret_and_text() {
        assert_eq!(parse_token_body(r#"{"token":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(parse_token_body(r#"{"client_secret":"xyz","expires_at":"…"}"#).as_deref(), Some("xyz"));
        assert_eq!(parse_token_body("  eyJ.a.b \n").as_deref(), Some("eyJ.a.b"));
        assert_eq!(parse_token_body(r#""eyJ.q.r""#).as_deref(), Some("eyJ.q.r"));
    }

    #[test]
    fn token_body_without_a_token_is_refused() {
        assert_eq!(parse_token_body(""), None);
        assert_eq!(parse_token_body(r#"{"error":"nope"}"#), None);
        assert_eq!(parse_token_body(r#"{"token":""}"#), None);
        assert_eq!(parse_token_body("{broken"), None);
    }
}
