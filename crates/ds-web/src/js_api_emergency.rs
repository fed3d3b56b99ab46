//! The E911 part of the headless JS API (protocol.md §7.13, §11.3): list and create the user's
//! emergency addresses, choose the one every session presents, and the `emergencyAddressRequired`
//! event (added to the event list in `js_api.rs`). A child module of `js_api`, so it shares that
//! module's error, option and JSON helpers; the REST and storage work is [`crate::emergency`]'s and
//! the form checks are `ds_core::view_model::emergency`'s, as for the softphone.
//!
//! Decisions (protocol.md is silent; written down in docs/decisions.md, "JS API E911"):
//! - `useEmergencyAddress(id)` means "I am at this address now", as the softphone's confirm
//!   button: when the current session was told `network.changed`, the address's old network is
//!   forgotten (`DELETE …/registered_ip`) before the phone re-presents it.
//! - In a follower tab (`multiTab`) the choice travels to the leader as a tab command and the
//!   leader applies it (unbind, remember, re-present); the id is remembered per user in
//!   localStorage, which every tab of the origin shares, so `emergencyAddressId` reads it there.

use ds_core::view_model::emergency::{
    AddressDraft, AddressField, AddressProblem, address_input, address_problems, address_summary,
};
use ds_protocol::json::Json;
use ds_protocol::json_object;
use ds_protocol::rest::EmergencyAddress;
use wasm_bindgen::prelude::*;

use super::{DialStackPhone, js_error, promise, read_option, to_js};
use crate::emergency::EmergencyAddresses;
use crate::events::ApiError;

#[wasm_bindgen(typescript_custom_section)]
const TS_EMERGENCY_TYPES: &'static str = r#"
/** An E911 address of the user (protocol §11.3), as `emergencyAddresses()` lists it. */
export interface DialStackEmergencyAddress {
  id: string;
  street: string | null; unit: string | null; city: string | null; state: string | null;
  postalCode: string | null; country: string | null;
  /** One line: the server's formatted address, else the parts joined. */
  formattedAddress: string;
  /** The network the address is bound to; `null` until a session presents it. */
  registeredIp: string | null;
  createdAt: string;
}
/** `createEmergencyAddress` input (US addresses). */
export interface DialStackEmergencyAddressInput {
  street: string; unit?: string; city: string; state: string; postalCode: string;
}
/**
 * A refused `createEmergencyAddress`: `code` is `"invalid_address"` when a field fails the
 * checks made before sending, else the server's code (e.g. `"address_invalid"` for its 422);
 * `field` names the field when known (`"street" | "city" | "state" | "postalCode" | "unit"`).
 */
export interface DialStackEmergencyAddressError extends Error { code: string; field: string | null }
export interface DialStackEventMap {
  /** An outside call was refused until an E911 address is bound (`emergency_address_required`). */
  emergencyAddressRequired: DialStackErrorEvent;
}
"#;

/// The wire name of a form field as the JS API spells it.
fn field_name(field: AddressField) -> &'static str {
    match field {
        AddressField::Street => "street",
        AddressField::Unit => "unit",
        AddressField::City => "city",
        AddressField::State => "state",
        AddressField::PostalCode => "postalCode",
    }
}

fn problem_message(field: AddressField, problem: AddressProblem) -> String {
    let name = field_name(field);
    match problem {
        AddressProblem::Required => format!("{name} is required"),
        AddressProblem::NotAStateCode => format!("{name} must be a two-letter state code, such as MA"),
        AddressProblem::NotAZipCode => format!("{name} must be a 5-digit US ZIP code, such as 02110"),
    }
}

/// The field a server error message names: ds-local says `street: is required` or
/// `postal_code is not a US ZIP code`; other servers may name none (then `null`).
fn field_in_message(message: &str) -> Option<&'static str> {
    let first = message.split([':', ' ']).next()?;
    Some(match first {
        "street" => "street",
        "unit" => "unit",
        "city" => "city",
        "state" => "state",
        "postal_code" => "postalCode",
        _ => return None,
    })
}

/// A rejected promise's `Error`, with `code` and `field`.
fn address_error(code: &str, field: Option<&str>, message: &str) -> JsValue {
    let error = js_error(code, message);
    let field = field.map_or(JsValue::NULL, JsValue::from_str);
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("field"), &field);
    error
}

/// A REST failure as a promise rejection: the server's code and words when it answered.
fn api_error(error: ApiError) -> JsValue {
    match error {
        ApiError::Status { status, code, message } => {
            let code =
                code.unwrap_or_else(|| if status == 404 { "resource_missing" } else { "api_error" }.into());
            address_error(&code, field_in_message(&message), &message)
        }
        ApiError::Session(error) => js_error("auth_failed", &error.to_string()),
        other => js_error("api_error", &other.to_string()),
    }
}

/// The JSON shape of `DialStackEmergencyAddress`.
fn address_json(address: &EmergencyAddress) -> Json {
    let postal = &address.address;
    json_object!(
        "id": &address.id,
        "street": &postal.street, "unit": &postal.unit, "city": &postal.city, "state": &postal.state,
        "postalCode": &postal.postal_code, "country": &postal.country,
        "formattedAddress": address_summary(postal),
        "registeredIp": &address.registered_ip,
        "createdAt": &address.created_at,
    )
}

/// What the host passed to `createEmergencyAddress`, as typed.
fn draft_from_js(input: &JsValue) -> AddressDraft {
    let text = |name: &str| read_option(input, name).as_string().unwrap_or_default();
    AddressDraft {
        street: text("street"),
        unit: text("unit"),
        city: text("city"),
        state: text("state"),
        postal_code: text("postalCode"),
    }
}

#[wasm_bindgen]
impl DialStackPhone {
    /// Resolves to the user's E911 addresses (`DialStackEmergencyAddress[]`, newest first).
    #[wasm_bindgen(
        js_name = emergencyAddresses,
        unchecked_return_type = "Promise<DialStackEmergencyAddress[]>"
    )]
    pub fn emergency_addresses(&self) -> js_sys::Promise {
        let client = EmergencyAddresses::for_phone(&self.phone);
        promise(Box::pin(async move {
            let list = client.list().await.map_err(api_error)?;
            Ok(to_js(&Json::Array(list.iter().map(address_json).collect())))
        }))
    }

    /// Creates an address (it is not chosen: pass its id to `useEmergencyAddress`). Rejects with
    /// a `DialStackEmergencyAddressError` naming the field when a field is missing or malformed
    /// (nothing is sent) or when the server cannot validate the address (422).
    #[wasm_bindgen(
        js_name = createEmergencyAddress,
        unchecked_return_type = "Promise<DialStackEmergencyAddress>"
    )]
    pub fn create_emergency_address(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DialStackEmergencyAddressInput")] input: JsValue,
    ) -> js_sys::Promise {
        let draft = draft_from_js(&input);
        let client = EmergencyAddresses::for_phone(&self.phone);
        promise(Box::pin(async move {
            if let Some(&(field, problem)) = address_problems(&draft).first() {
                let message = problem_message(field, problem);
                return Err(address_error("invalid_address", Some(field_name(field)), &message));
            }
            let created = client.create(&address_input(&draft)).await.map_err(api_error)?;
            Ok(to_js(&address_json(&created)))
        }))
    }

    /// Chooses the address this and every later session presents (`null`: none), remembered for
    /// the user in this browser. Resolves to the address once it is chosen; the phone re-binds at
    /// once, or when the last call ends. After `networkChanged` it also confirms the address on
    /// this network. Rejects with `code: "resource_missing"` for an id the user does not have.
    #[wasm_bindgen(
        js_name = useEmergencyAddress,
        unchecked_return_type = "Promise<DialStackEmergencyAddress | null>"
    )]
    pub fn use_emergency_address(&self, id: Option<String>) -> js_sys::Promise {
        let phone = self.phone.clone();
        promise(Box::pin(async move {
            let Some(id) = id.filter(|id| !id.is_empty()) else {
                phone.choose_emergency_address(None).await.map_err(api_error)?;
                return Ok(JsValue::NULL);
            };
            let address =
                EmergencyAddresses::for_phone(&phone).get(&id).await.map_err(api_error)?.ok_or_else(
                    || address_error("resource_missing", None, &format!("no emergency address {id}")),
                )?;
            // In a follower tab the choice travels to the leader, which applies it.
            phone.choose_emergency_address(Some(id)).await.map_err(api_error)?;
            Ok(to_js(&address_json(&address)))
        }))
    }

    /// The chosen address id (`undefined`: none, as `userId`). Known once `connect()` resolved:
    /// the phone then presents the id remembered for the token's user.
    #[wasm_bindgen(getter, js_name = emergencyAddressId)]
    pub fn emergency_address_id(&self) -> Option<String> {
        self.phone.emergency_address_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ds_protocol::rest::PostalAddress;

    #[test]
    fn server_messages_name_the_field_in_the_js_spelling() {
        assert_eq!(field_in_message("street: is required"), Some("street"));
        assert_eq!(field_in_message("postal_code is not a US ZIP code"), Some("postalCode"));
        assert_eq!(field_in_message("the address could not be validated"), None);
        assert_eq!(field_in_message(""), None);
    }

    #[test]
    fn problems_are_explained_with_the_field_name() {
        assert_eq!(problem_message(AddressField::Street, AddressProblem::Required), "street is required");
        assert!(
            problem_message(AddressField::PostalCode, AddressProblem::NotAZipCode).starts_with("postalCode ")
        );
    }

    #[test]
    fn addresses_use_the_documented_camel_case_shape() {
        let address = EmergencyAddress {
            id: "emerg_1".into(),
            address: PostalAddress {
                street: Some("12 Main St".into()),
                city: Some("Boston".into()),
                state: Some("MA".into()),
                postal_code: Some("02110".into()),
                country: Some("US".into()),
                ..PostalAddress::default()
            },
            registered_ip: None,
            created_at: "2026-11-26T01:00:00Z".into(),
        };
        let value = address_json(&address);
        assert_eq!(value["id"], "emerg_1");
        assert_eq!(value["postalCode"], "02110");
        assert_eq!(value["formattedAddress"], "12 Main St, Boston, MA 02110");
        assert!(value["registeredIp"].is_null());
        assert!(value["unit"].is_null());
        assert_eq!(value["createdAt"], "2026-11-26T01:00:00Z");
    }
}
