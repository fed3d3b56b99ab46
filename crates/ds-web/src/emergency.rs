//! The user's E911 emergency addresses (protocol.md §7.13, §11.3): list, read, create and re-bind
//! them over REST with the user token, and remember the chosen id per user in localStorage (like
//! the audio device choices) so that every connect presents it in `authenticate`.
//!
//! Requests go through the same refresh-and-retry loop as the account components
//! ([`crate::events`]), with an [`AccountSession`] fed by the phone's own token provider: a user
//! token is a bearer secret like a session secret, cached until shortly before it expires.
//!
//! Decisions (protocol.md is silent): the id is stored under
//! `dialstack.softphone.emergency_address_id.<user id>`, so two users of one browser never
//! present each other's address; an id the server no longer knows (404) is forgotten.

use std::rc::Rc;

use ds_core::{Command, PhoneError, PhoneErrorCode};
use ds_protocol::json::Json;
use ds_protocol::rest::{EmergencyAddress, EmergencyAddressInput};

use crate::LocalBoxFuture;
use crate::driver::PhoneHandle;
use crate::events::{AccountSession, ApiError, Verb, request_json};
use crate::media::{store, stored};

const PATH: &str = "/v1/me/emergency-addresses";

/// localStorage key of the chosen address of `user_id`.
pub fn storage_key(user_id: &str) -> String {
    format!("dialstack.softphone.emergency_address_id.{user_id}")
}

/// The address id remembered for `user_id` in this browser.
pub fn stored_address_id(user_id: &str) -> Option<String> {
    stored(&storage_key(user_id))
}

/// Remembers (or, with `None`, forgets) the chosen address of `user_id`.
pub fn store_address_id(user_id: &str, id: Option<&str>) {
    store(&storage_key(user_id), id);
}

/// Called by [`PhoneHandle::connect`]: presents the address remembered for the token's user,
/// unless the host already chose one.
pub(crate) fn present_stored(phone: &PhoneHandle, token: &str) {
    if phone.emergency_address_id().is_some() {
        return;
    }
    let user = ds_core::token::read_claims(token).and_then(|claims| claims.sub);
    if let Some(id) = user.as_deref().and_then(stored_address_id) {
        phone.command(Command::SetEmergencyAddress { id: Some(id) });
    }
}

/// REST client for `/v1/me/emergency-addresses` with the user token.
#[derive(Debug, Clone)]
pub struct EmergencyAddresses {
    api_base: String,
    session: Rc<AccountSession>,
}

impl EmergencyAddresses {
    /// A client for the phone's API base and user.
    pub fn for_phone(phone: &PhoneHandle) -> Self {
        EmergencyAddresses {
            api_base: phone.api_base(),
            session: AccountSession::new(phone.token_provider()),
        }
    }

    /// The user's addresses, newest first (the first 100).
    pub fn list(&self) -> LocalBoxFuture<'_, Result<Vec<EmergencyAddress>, ApiError>> {
        Box::pin(async move {
            let reply = self.request(Verb::Get, &format!("{PATH}?limit=100"), None).await?;
            match &reply["data"] {
                Json::Array(items) => items.iter().map(EmergencyAddress::from_json).collect(),
                _ => Err("invalid type of `data`".to_owned()),
            }
            .map_err(ApiError::BadBody)
        })
    }

    /// One address; `Ok(None)` when the server does not know it (deleted, or another user's).
    pub fn get<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<Option<EmergencyAddress>, ApiError>> {
        Box::pin(async move {
            match self.request(Verb::Get, &format!("{PATH}/{}", encode(id)), None).await {
                Ok(reply) => EmergencyAddress::from_json(&reply).map(Some).map_err(ApiError::BadBody),
                Err(ApiError::Status { status: 404, .. }) => Ok(None),
                Err(error) => Err(error),
            }
        })
    }

    /// Creates an address. A 422 (the server could not validate it) comes back as
    /// [`ApiError::Status`] with the server's message, for the form to show.
    pub fn create(
        &self,
        input: &EmergencyAddressInput,
    ) -> LocalBoxFuture<'_, Result<EmergencyAddress, ApiError>> {
        let body = input.to_json();
        Box::pin(async move {
            let reply = self.request(Verb::Post, PATH, Some(&body)).await?;
            EmergencyAddress::from_json(&reply).map_err(ApiError::BadBody)
        })
    }

    /// Forgets the network the address is bound to (`DELETE …/{id}/registered_ip`), so the next
    /// handshake binds it to the current one (§7.13, after `network.changed`).
    pub async fn unbind(&self, id: &str) -> Result<(), ApiError> {
        self.request(Verb::Delete, &format!("{PATH}/{}/registered_ip", encode(id)), None).await.map(drop)
    }

    fn request<'a>(
        &'a self,
        verb: Verb,
        path: &'a str,
        body: Option<&'a Json>,
    ) -> LocalBoxFuture<'a, Result<Json, ApiError>> {
        request_json(&self.api_base, &self.session, verb, path, body)
    }
}

fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

impl PhoneHandle {
    /// The API base REST calls of this phone go to.
    pub fn api_base(&self) -> String {
        self.inner.phone.borrow().api_base().to_owned()
    }

    /// The E911 address id the phone presents (§7.13). In a follower tab: the id remembered for
    /// the user, which every tab of the origin shares and the leader presents.
    pub fn emergency_address_id(&self) -> Option<String> {
        if let Some(tabs) = self.follower_tabs() {
            return stored_address_id(tabs.user_id());
        }
        self.inner.phone.borrow().emergency_address_id().map(str::to_owned)
    }

    /// The current session's E911 state: the id the server accepted with `authenticated` and
    /// whether it then said `network.changed` (see `ds_core::Phone::emergency_session`). In a
    /// follower tab, the leader's session.
    pub fn emergency_session(&self) -> (Option<String>, bool) {
        if let Some(mirror) = self.mirror() {
            return mirror.emergency;
        }
        let phone = self.inner.phone.borrow();
        let (presented, changed) = phone.emergency_session();
        (presented.map(str::to_owned), changed)
    }

    /// Chooses the address to present, remembers it for the user in this browser, and has the
    /// phone re-authenticate with it (at once, or when the last call ends). In a follower tab
    /// the leader does it.
    pub fn use_emergency_address(&self, id: Option<String>) {
        if let Some(user) = self.user_id() {
            store_address_id(&user, id.as_deref());
        }
        self.command(Command::SetEmergencyAddress { id });
    }

    /// "I am at this address now" after `network.changed` (§7.13): the address's old network is
    /// forgotten on the server, then the phone presents it again. On a REST failure nothing
    /// changes. In a follower tab the leader does both (the choice travels as a tab command).
    pub fn confirm_emergency_address(&self, id: String) -> LocalBoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            if self.follower_tabs().is_none() {
                EmergencyAddresses::for_phone(self).unbind(&id).await?;
            }
            self.use_emergency_address(Some(id));
            Ok(())
        })
    }

    /// The E911 choice of the JS API's `useEmergencyAddress` and of a follower tab: an address
    /// chosen after `network.changed` is confirmed on this network, otherwise simply used.
    pub fn choose_emergency_address(&self, id: Option<String>) -> LocalBoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            match id {
                Some(id) if self.emergency_session().1 => self.confirm_emergency_address(id).await,
                id => {
                    self.use_emergency_address(id);
                    Ok(())
                }
            }
        })
    }

    /// For each phone error: when the server refused the remembered address (the core already
    /// stopped presenting it), it is forgotten in this browser too.
    pub fn forget_refused_emergency_address(&self, error: &PhoneError) {
        if error.code == PhoneErrorCode::EmergencyAddressRequired
            && self.emergency_address_id().is_none()
            && let Some(user) = self.user_id()
        {
            store_address_id(&user, None);
        }
    }
}
