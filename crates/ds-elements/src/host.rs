//! What every element reads off its host the same way: the API base, the locale and the token
//! source (docs/elements.md, "Shared by every element").

use ds_ui::i18n::Locale;
use ds_web::TokenProvider;
use wasm_bindgen::JsCast;

use crate::registry::property;

/// Where an element's credential comes from; elements share a phone or an account link when
/// these are equal.
#[derive(Clone)]
pub(crate) enum TokenSource {
    /// `token-url`, or a `tokenProvider` string that is a URL: the host's token endpoint.
    Endpoint(String),
    /// A `tokenProvider` string that is not a URL: the secret itself.
    Token(String),
    /// A `tokenProvider` function, compared by identity.
    Function(js_sys::Function),
}

impl TokenSource {
    pub(crate) fn same(&self, other: &TokenSource) -> bool {
        match (self, other) {
            (TokenSource::Endpoint(a), TokenSource::Endpoint(b))
            | (TokenSource::Token(a), TokenSource::Token(b)) => a == b,
            (TokenSource::Function(a), TokenSource::Function(b)) => js_sys::Object::is(a, b),
            _ => false,
        }
    }

    pub(crate) fn provider(&self) -> TokenProvider {
        match self {
            TokenSource::Endpoint(url) => TokenProvider::Endpoint(url.clone()),
            TokenSource::Token(token) => TokenProvider::Fixed(token.clone()),
            TokenSource::Function(function) => TokenProvider::Function(function.clone()),
        }
    }

    /// `tokenProvider` wins over `token-url`.
    pub(crate) fn of(host: &web_sys::HtmlElement) -> Option<TokenSource> {
        let value = property(host, "tokenProvider");
        if let Some(function) = value.dyn_ref::<js_sys::Function>() {
            return Some(TokenSource::Function(function.clone()));
        }
        if let Some(text) = value.as_string().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
            let is_url = text.starts_with("http://")
                || text.starts_with("https://")
                || text.starts_with('/')
                || text.starts_with('.');
            return Some(if is_url { TokenSource::Endpoint(text) } else { TokenSource::Token(text) });
        }
        host.get_attribute("token-url")
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .map(TokenSource::Endpoint)
    }
}

/// `api-base`, else the page's origin.
pub(crate) fn api_base_of(host: &web_sys::HtmlElement) -> String {
    host.get_attribute("api-base")
        .filter(|value| !value.trim().is_empty())
        .or_else(ds_web::page_origin)
        .unwrap_or_default()
}

/// `locale`, else the browser's language.
pub(crate) fn locale_of(host: &web_sys::HtmlElement) -> Locale {
    let tag = host
        .get_attribute("locale")
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_default();
    Locale::from_tag(&tag)
}
