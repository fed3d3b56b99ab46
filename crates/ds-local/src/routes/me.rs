//! Per-user REST (protocol.md §11.2–11.4): user tokens only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ds_protocol::rest::{
    DirectoryEntry, EmergencyAddress, EmergencyAddressInput, IceServersResponse, ListEnvelope, PostalAddress,
};
use sqlx::{QueryBuilder, Sqlite};

use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Pager, Params};
use crate::ids;

/// ICE credentials are re-fetched by clients before this runs out.
const ICE_TTL_MS: i64 = 3600 * 1000;

pub async fn ice_servers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<IceServersResponse>, ApiError> {
    caller.user(&state).await?;
    // ds-local's media engine answers on loopback with host candidates, so no STUN/TURN is
    // needed (protocol.md §11.2 allows an empty list).
    Ok(Json(IceServersResponse {
        ice_servers: Vec::new(),
        expires_at: iso(state.clock().now_ms() + ICE_TTL_MS),
    }))
}

pub async fn directory(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<DirectoryEntry>>, ApiError> {
    let scope = caller.user(&state).await?;
    let me = scope.user_id.clone().unwrap_or_default();
    let pager =
        Pager::new(state.db(), "/v1/me/directory", &params, "users", "created_at", Some(&scope.account_id))
            .await?;
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT u.id, u.name, u.email, (SELECT MIN(number) FROM extensions e WHERE e.account_id = u.account_id AND e.target = u.id)
         FROM users u WHERE u.account_id = ",
    );
    query.push_bind(scope.account_id.clone()).push(" AND u.id != ").push_bind(me);
    pager.push_window(&mut query, "u.created_at");
    let rows: Vec<DirectoryRow> = query.build_query_as().fetch_all(state.db()).await?;
    let entries = rows
        .into_iter()
        .map(|(id, name, email, extension)| DirectoryEntry {
            display_name: name.or(email).or(extension).unwrap_or_else(|| id.clone()),
            user: id,
        })
        .collect();
    Ok(Json(pager.envelope(entries, |e: &DirectoryEntry| &e.user)))
}

/// `(user id, name, email, lowest extension)`.
type DirectoryRow = (String, Option<String>, Option<String>, Option<String>);

/// ds-local's address validator (protocol.md §11.3 [open]): US-looking addresses pass; a
/// street containing "INVALID" fails validation (422) so clients can exercise that path.
fn validate_address(input: EmergencyAddressInput) -> Result<PostalAddress, ApiError> {
    let required = |value: Option<String>, field: &str| {
        value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid_field(field, "is required"))
    };
    let street = required(input.street, "street")?;
    let city = required(input.city, "city")?;
    let state = required(input.state, "state")?.to_ascii_uppercase();
    let postal_code = required(input.postal_code, "postal_code")?;
    if state.len() != 2 || !state.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::invalid_field("state", "must be a two-letter state code"));
    }
    let country = input.country.unwrap_or_else(|| "US".to_owned()).to_ascii_uppercase();
    if street.to_ascii_uppercase().contains("INVALID") {
        return Err(ApiError::Unprocessable {
            code: "address_invalid",
            message: "the address could not be validated".to_owned(),
        });
    }
    let zip_ok = |zip: &str| {
        let (five, plus) = zip.split_once('-').unwrap_or((zip, "0000"));
        five.len() == 5 && plus.len() == 4 && five.bytes().chain(plus.bytes()).all(|b| b.is_ascii_digit())
    };
    if country == "US" && !zip_ok(&postal_code) {
        return Err(ApiError::Unprocessable {
            code: "address_invalid",
            message: "postal_code is not a US ZIP code".to_owned(),
        });
    }
    let line1 = [input.address_number.as_deref(), Some(street.as_str()), input.unit.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(PostalAddress {
        formatted_address: Some(format!("{line1}, {city}, {state} {postal_code}, {country}")),
        address_number: input.address_number,
        street: Some(street),
        unit: input.unit,
        city: Some(city),
        state: Some(state),
        postal_code: Some(postal_code),
        country: Some(country),
        latitude: None,
        longitude: None,
    })
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: String,
    address: String,
    registered_ip: Option<String>,
    created_at: i64,
}

impl AddressRow {
    fn into_address(self) -> EmergencyAddress {
        EmergencyAddress {
            id: self.id,
            address: serde_json::from_str(&self.address).unwrap_or_default(),
            registered_ip: self.registered_ip,
            created_at: iso(self.created_at),
        }
    }
}

pub async fn create_emergency_address(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<EmergencyAddressInput>,
) -> Result<Json<EmergencyAddress>, ApiError> {
    let scope = caller.user(&state).await?;
    let address = validate_address(input)?;
    let now = state.clock().now_ms();
    let id = ids::new_id("emerg", now);
    sqlx::query("INSERT INTO emergency_addresses (id, account_id, user_id, address, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(&scope.account_id)
        .bind(&scope.user_id)
        .bind(serde_json::to_string(&address).expect("an address serialises"))
        .bind(now)
        .execute(state.db())
        .await?;
    Ok(Json(EmergencyAddress { id, address, registered_ip: None, created_at: iso(now) }))
}

pub async fn list_emergency_addresses(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<EmergencyAddress>>, ApiError> {
    let scope = caller.user(&state).await?;
    let pager = Pager::new(
        state.db(),
        "/v1/me/emergency-addresses",
        &params,
        "emergency_addresses",
        "created_at",
        Some(&scope.account_id),
    )
    .await?;
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT id, address, registered_ip, created_at FROM emergency_addresses WHERE user_id = ",
    );
    query.push_bind(scope.user_id.clone());
    pager.push_window(&mut query, "created_at");
    let rows: Vec<AddressRow> = query.build_query_as().fetch_all(state.db()).await?;
    let addresses = rows.into_iter().map(AddressRow::into_address).collect();
    Ok(Json(pager.envelope(addresses, |a: &EmergencyAddress| &a.id)))
}

async fn fetch_address(state: &AppState, user_id: &Option<String>, id: &str) -> Result<AddressRow, ApiError> {
    sqlx::query_as(
        "SELECT id, address, registered_ip, created_at FROM emergency_addresses WHERE id = ? AND user_id = ?",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("emergency address", id))
}

pub async fn get_emergency_address(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EmergencyAddress>, ApiError> {
    let scope = caller.user(&state).await?;
    Ok(Json(fetch_address(&state, &scope.user_id, &id).await?.into_address()))
}

pub async fn delete_emergency_address(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.user(&state).await?;
    fetch_address(&state, &scope.user_id, &id).await?;
    sqlx::query("DELETE FROM emergency_addresses WHERE id = ? AND user_id = ?")
        .bind(&id)
        .bind(&scope.user_id)
        .execute(state.db())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn clear_registered_ip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.user(&state).await?;
    fetch_address(&state, &scope.user_id, &id).await?;
    sqlx::query("UPDATE emergency_addresses SET registered_ip = NULL WHERE id = ? AND user_id = ?")
        .bind(&id)
        .bind(&scope.user_id)
        .execute(state.db())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
