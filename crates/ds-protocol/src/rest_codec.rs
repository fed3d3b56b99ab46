//! Hand-written readers and writers of the REST and event objects the browser uses (health, ICE
//! servers, E911 addresses, `call.incoming` event data, presence entries for the JS API), on
//! [`Json`] instead of the serde derives.
//!
//! Why: with these, the frame codec and the call-log reader, the embed bundle runs no serde
//! `Deserialize`/`Serialize` at all and so links neither `serde_json` nor the float formatting
//! that serde's error messages keep (docs/benchmarks.md, "Size work").
//!
//! Readers accept what the derived `Deserialize` accepts from an object, member for member
//! (unknown members ignored, a missing or `null` `Option` is `None`, a missing required member or
//! a wrong type is refused); `tests/rest_codec.rs` compares both on golden and random input. Like
//! the call-log reader they refuse a struct written as a JSON array, which the derive would read
//! positionally and no server sends. Writers produce the value `serde_json::to_value` gives.

use crate::Health;
use crate::events::CallIncomingData;
use crate::json::{Json, Object};
use crate::rest::{EmergencyAddress, EmergencyAddressInput, IceServer, IceServersResponse, PostalAddress};
use crate::signalling::PresenceEntry;

/// The members of an object being read; errors name the member as serde's do.
struct Members<'a>(&'a Object);

impl<'a> Members<'a> {
    fn of(value: &'a Json, what: &str) -> Result<Self, String> {
        value.as_object().map(Members).ok_or_else(|| format!("{what} is not an object"))
    }

    fn required(&self, name: &str) -> Result<&'a Json, String> {
        self.0.get(name).ok_or_else(|| format!("missing field `{name}`"))
    }

    /// Absent and `null` are `None`, as serde reads an `Option`.
    fn optional(&self, name: &str) -> Option<&'a Json> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    fn text(&self, name: &str) -> Result<String, String> {
        text(self.required(name)?, name)
    }

    fn opt_text(&self, name: &str) -> Result<Option<String>, String> {
        self.optional(name).map(|value| text(value, name)).transpose()
    }

    fn opt_float(&self, name: &str) -> Result<Option<f64>, String> {
        self.optional(name).map(|value| value.as_f64().ok_or_else(|| wrong(name))).transpose()
    }

    fn list<T>(&self, name: &str, read: impl Fn(&Json) -> Result<T, String>) -> Result<Vec<T>, String> {
        match self.required(name)? {
            Json::Array(items) => items.iter().map(read).collect(),
            _ => Err(wrong(name)),
        }
    }
}

fn wrong(name: &str) -> String {
    format!("invalid type of `{name}`")
}

fn text(value: &Json, name: &str) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| wrong(name))
}

/// Writes the members of an object; `None`s as `null` or left out, as the derive's attributes say.
struct Writer(Object);

impl Writer {
    fn new() -> Self {
        Writer(Object::new())
    }

    fn set(mut self, name: &str, value: impl Into<Json>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// A `skip_serializing_if = "Option::is_none"` member.
    fn set_some(self, name: &str, value: &Option<String>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }

    fn done(self) -> Json {
        Json::Object(self.0)
    }
}

impl Health {
    /// Reads a `GET /healthz` body as the derived `Deserialize` does.
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "the health reply")?;
        Ok(Health { status: m.text("status")?, version: m.text("version")? })
    }
}

impl IceServer {
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "an ICE server")?;
        Ok(IceServer {
            urls: m.list("urls", |url| text(url, "urls"))?,
            username: m.opt_text("username")?,
            credential: m.opt_text("credential")?,
        })
    }

    /// The `RTCIceServer` dictionary, as `serde_json::to_value` writes it.
    pub fn to_json(&self) -> Json {
        Writer::new()
            .set("urls", self.urls.iter().map(Json::from).collect::<Vec<_>>())
            .set_some("username", &self.username)
            .set_some("credential", &self.credential)
            .done()
    }
}

impl IceServersResponse {
    /// Reads a `GET /v1/webrtc/ice-servers` reply as the derived `Deserialize` does.
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "the ICE-server reply")?;
        Ok(IceServersResponse {
            ice_servers: m.list("ice_servers", IceServer::from_json)?,
            expires_at: m.text("expires_at")?,
        })
    }
}

impl PostalAddress {
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "an address")?;
        Ok(PostalAddress {
            address_number: m.opt_text("address_number")?,
            street: m.opt_text("street")?,
            unit: m.opt_text("unit")?,
            city: m.opt_text("city")?,
            state: m.opt_text("state")?,
            postal_code: m.opt_text("postal_code")?,
            country: m.opt_text("country")?,
            formatted_address: m.opt_text("formatted_address")?,
            latitude: m.opt_float("latitude")?,
            longitude: m.opt_float("longitude")?,
        })
    }
}

impl EmergencyAddress {
    /// Reads an EmergencyAddress (protocol.md §11.3) as the derived `Deserialize` does.
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "an emergency address")?;
        Ok(EmergencyAddress {
            id: m.text("id")?,
            address: PostalAddress::from_json(m.required("address")?)?,
            registered_ip: m.opt_text("registered_ip")?,
            created_at: m.text("created_at")?,
        })
    }
}

impl EmergencyAddressInput {
    /// The `POST /v1/me/emergency-addresses` body, as `serde_json::to_value` writes it (`None`
    /// members as `null`).
    pub fn to_json(&self) -> Json {
        Writer::new()
            .set("address_number", self.address_number.clone())
            .set("street", self.street.clone())
            .set("unit", self.unit.clone())
            .set("city", self.city.clone())
            .set("state", self.state.clone())
            .set("postal_code", self.postal_code.clone())
            .set("country", self.country.clone())
            .done()
    }
}

impl CallIncomingData {
    /// Reads `call.incoming` event data as the derived `Deserialize` does.
    pub fn from_json(value: &Json) -> Result<Self, String> {
        let m = Members::of(value, "the event data")?;
        Ok(CallIncomingData {
            call_id: m.opt_text("call_id")?,
            from_number: m.text("from_number")?,
            from_name: m.opt_text("from_name")?,
            to_number: m.opt_text("to_number")?,
            timestamp: m.text("timestamp")?,
            user: m.opt_text("user")?,
            user_id: m.opt_text("user_id")?,
        })
    }
}

impl PresenceEntry {
    /// The entry as `serde_json::to_value` writes it (`status_text` as `null` when `None`).
    pub fn to_json(&self) -> Json {
        Writer::new()
            .set("user_id", &self.user_id)
            .set("name", &self.name)
            .set("status", self.status.as_str())
            .set("do_not_disturb", self.do_not_disturb)
            .set("status_text", self.status_text.clone())
            .set("updated_at", &self.updated_at)
            .done()
    }
}
