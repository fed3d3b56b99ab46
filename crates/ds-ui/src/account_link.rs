//! The account side shared by the dialer, call history and screen pop: one API base, one
//! account session (the credential) and one `/v1/events` stream fanned out to every subscribed
//! component. The stream opens with the first subscriber and closes with the last.
//!
//! Components never see the secret: they ask the link to GET or POST and to tell them about
//! events.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use ds_protocol::json::Json;
use ds_web::{AccountEventStream, AccountSession, ApiError, StreamNotice};

type Listener = Rc<dyn Fn(&StreamNotice)>;

/// One API base + credential, shared by the components of a page.
pub struct AccountLink {
    api_base: String,
    session: Option<Rc<AccountSession>>,
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_id: Cell<u64>,
    stream: RefCell<Option<AccountEventStream>>,
    /// Whether subscribing opens `/v1/events`. A user token cannot (the stream is for account
    /// sessions, protocol.md §12): its owner feeds live notices through [`AccountLink::dispatch`].
    opens_stream: bool,
}

impl std::fmt::Debug for AccountLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountLink").field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

/// Why the link cannot be used.
pub enum LinkError {
    /// No credential was configured (no `token-url` / `tokenProvider`).
    NoCredential,
    Api(ApiError),
}

impl From<ApiError> for LinkError {
    fn from(error: ApiError) -> Self {
        LinkError::Api(error)
    }
}

/// Keeps a listener subscribed; dropping it unsubscribes.
pub struct LinkSubscription {
    link: Weak<AccountLink>,
    id: u64,
}

impl Drop for LinkSubscription {
    fn drop(&mut self) {
        if let Some(link) = self.link.upgrade() {
            link.listeners.borrow_mut().retain(|(id, _)| *id != self.id);
            if link.listeners.borrow().is_empty() {
                // Dropping the stream closes the EventSource.
                let stream = link.stream.borrow_mut().take();
                drop(stream);
            }
        }
    }
}

impl AccountLink {
    /// A link to `api_base` with `session`, or a link that only reports the missing credential.
    pub fn new(api_base: &str, session: Option<Rc<AccountSession>>) -> Rc<AccountLink> {
        Self::build(api_base, session, true)
    }

    /// A link holding a *user* token: REST only (a user token lists its own calls), no event
    /// stream; live updates come from whoever calls [`AccountLink::dispatch`] (the hosted page
    /// forwards its phone's call events).
    pub fn for_user(api_base: &str, session: Rc<AccountSession>) -> Rc<AccountLink> {
        Self::build(api_base, Some(session), false)
    }

    fn build(api_base: &str, session: Option<Rc<AccountSession>>, opens_stream: bool) -> Rc<AccountLink> {
        Rc::new(AccountLink {
            api_base: api_base.trim_end_matches('/').to_owned(),
            session,
            listeners: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            stream: RefCell::new(None),
            opens_stream,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    pub fn has_credential(&self) -> bool {
        self.session.is_some()
    }

    /// `GET` a path of the API (relative to the base, e.g. a list's `next_page_url`).
    pub async fn get(&self, path: &str) -> Result<Json, LinkError> {
        let session = self.session.clone().ok_or(LinkError::NoCredential)?;
        Ok(ds_web::get_json(&self.api_base, &session, path).await?)
    }

    /// `POST` JSON to a path of the API.
    pub async fn post(&self, path: &str, body: &Json) -> Result<Json, LinkError> {
        let session = self.session.clone().ok_or(LinkError::NoCredential)?;
        Ok(ds_web::post_json(&self.api_base, &session, path, body).await?)
    }

    /// Calls `listener` for every account event (and the final auth failure) until the returned
    /// subscription is dropped. Opens the shared stream if it is not open yet.
    pub fn subscribe(self: &Rc<Self>, listener: impl Fn(&StreamNotice) + 'static) -> LinkSubscription {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.listeners.borrow_mut().push((id, Rc::new(listener)));
        if self.opens_stream
            && self.stream.borrow().is_none()
            && let Some(session) = self.session.clone()
        {
            let weak = Rc::downgrade(self);
            let stream = AccountEventStream::open(&self.api_base, session, move |notice| {
                if let Some(link) = weak.upgrade() {
                    link.dispatch(&notice);
                }
            });
            *self.stream.borrow_mut() = Some(stream);
        }
        LinkSubscription { link: Rc::downgrade(self), id }
    }

    /// Hands `notice` to every listener (a snapshot: listeners may (un)subscribe meanwhile).
    pub fn dispatch(&self, notice: &StreamNotice) {
        let listeners: Vec<Listener> = self.listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
        for listener in listeners {
            listener(notice);
        }
    }

    /// How many components listen (tests: elements on one page share one stream).
    pub fn listener_count(&self) -> usize {
        self.listeners.borrow().len()
    }

    /// Whether the shared event stream is open.
    pub fn stream_open(&self) -> bool {
        self.stream.borrow().is_some()
    }
}

/// Words for a link error, shown in a component's error state.
pub fn error_words(locale: crate::i18n::Locale, error: &LinkError) -> String {
    use crate::i18n::Locale::{En, Es};
    match error {
        LinkError::NoCredential => match locale {
            En => "No credential: set token-url or tokenProvider on the element.".to_owned(),
            Es => "Sin credencial: configure token-url o tokenProvider en el elemento.".to_owned(),
        },
        LinkError::Api(ApiError::Session(_)) => match locale {
            En => "Could not get an account session from the token provider.".to_owned(),
            Es => "No se pudo obtener una sesión de cuenta del proveedor de tokens.".to_owned(),
        },
        LinkError::Api(ApiError::Unreachable(_)) => match locale {
            En => "The server could not be reached.".to_owned(),
            Es => "No se pudo contactar con el servidor.".to_owned(),
        },
        LinkError::Api(ApiError::Status { status, message, .. }) => match locale {
            En => format!("The server refused the request ({status}): {message}"),
            Es => format!("El servidor rechazó la solicitud ({status}): {message}"),
        },
        LinkError::Api(ApiError::BadBody(_)) => match locale {
            En => "The server sent a reply we do not understand.".to_owned(),
            Es => "El servidor envió una respuesta que no entendemos.".to_owned(),
        },
    }
}

/// A short machine code for a link error (`ds-error` detail `code`).
pub fn error_code(error: &LinkError) -> String {
    match error {
        LinkError::NoCredential => "no_credential".to_owned(),
        LinkError::Api(ApiError::Session(_)) => "token_provider_failed".to_owned(),
        LinkError::Api(ApiError::Unreachable(_)) => "unreachable".to_owned(),
        LinkError::Api(ApiError::Status { code: Some(code), .. }) => code.clone(),
        LinkError::Api(ApiError::Status { status, .. }) => format!("http_{status}"),
        LinkError::Api(ApiError::BadBody(_)) => "bad_reply".to_owned(),
    }
}
