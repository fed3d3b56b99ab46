//! The E911 address client against a real ds-local (`--demo` on 127.0.0.1:18787; `cargo xtask
//! test wasm`): create (and the 422), list, read, re-bind, and the phone presenting the chosen
//! address on a new session.
#![cfg(target_arch = "wasm32")]

use ds_core::view_model::ConnectionStatus;
use ds_protocol::rest::EmergencyAddressInput;
use ds_wasm_test_support::{base, fresh_user, mint_token, wait_for};
use ds_web::{ApiError, EmergencyAddresses, PhoneHandle, PhoneOptions, TokenProvider};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A token of a new user of the demo account (tests run concurrently; nobody shares addresses).
async fn fresh_user_token(name: &str) -> String {
    let (user, _) = fresh_user(name).await;
    mint_token(&user, None).await
}

fn boston(street: &str) -> EmergencyAddressInput {
    EmergencyAddressInput {
        street: Some(street.into()),
        city: Some("Boston".into()),
        state: Some("MA".into()),
        postal_code: Some("02110".into()),
        country: Some("US".into()),
        ..EmergencyAddressInput::default()
    }
}

#[wasm_bindgen_test]
async fn addresses_are_created_listed_read_and_unbound_with_the_user_token() {
    let token = fresh_user_token("E911 Client").await;
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed(token)));
    let client = EmergencyAddresses::for_phone(&phone);
    assert!(client.list().await.expect("a list").is_empty());

    let refused = client.create(&boston("1 INVALID Road")).await.expect_err("ds-local refuses INVALID");
    let ApiError::Status { status: 422, code, message } = refused else { panic!("a 422: {refused:?}") };
    assert_eq!(code.as_deref(), Some("address_invalid"));
    assert_eq!(message, "the address could not be validated");

    let created = client.create(&boston("12 Main St")).await.expect("created");
    assert!(created.id.starts_with("emerg_"), "{}", created.id);
    assert_eq!(created.registered_ip, None);
    assert_eq!(client.list().await.expect("a list")[0].id, created.id);
    assert_eq!(client.get(&created.id).await.expect("read"), Some(created.clone()));
    client.unbind(&created.id).await.expect("DELETE …/registered_ip answers 204");
    assert_eq!(client.get("emerg_0000000000000000000000000").await.expect("a 404 is not an error"), None);
}

#[wasm_bindgen_test]
async fn the_chosen_address_is_presented_and_bound_on_a_new_session() {
    let token = fresh_user_token("E911 Bind").await;
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed(token)));
    phone.connect().await.expect("a token");
    wait_for("the phone to connect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
    let client = EmergencyAddresses::for_phone(&phone);
    let address = client.create(&boston("12 Main St")).await.expect("created");
    phone.use_emergency_address(Some(address.id.clone()));
    wait_for("the new session to present the address", 15_000.0, || {
        phone.emergency_session().0.as_deref() == Some(address.id.as_str())
    })
    .await;
    assert_eq!(phone.status(), ConnectionStatus::Connected);
    let bound = client.get(&address.id).await.expect("read").expect("exists");
    assert!(bound.registered_ip.is_some(), "the handshake bound it: {bound:?}");
    let user = phone.snapshot().user_id.expect("signed in");
    assert_eq!(ds_web::emergency::stored_address_id(&user), Some(address.id.clone()));
    ds_web::emergency::store_address_id(&user, None);
    phone.disconnect();
}
