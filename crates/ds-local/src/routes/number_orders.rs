//! Phone-number orders (rest.md §6.2): how an account gets DIDs. ds-local completes an order
//! synchronously \[open\]: every number not owned by any account becomes an active DID of the
//! ordering account (`routing_target: null`, `inbound_routing: "default"`); numbers already
//! owned (or not +1 E.164) are listed in `failed_numbers`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use ds_routing::PhoneNumber;
use serde::{Deserialize, Serialize};

use super::{Access, ApiRoute, route};
use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::ids;
use crate::signalling::test_helpers::is_plus_one_e164;

/// At most this many numbers per order (keeps one request's work bounded).
pub const MAX_NUMBERS_PER_ORDER: usize = 100;

pub fn table() -> Vec<ApiRoute> {
    use Access::Account;
    use Method as M;
    vec![
        route(
            M::POST,
            "/v1/phone-number-orders",
            "Phone numbers",
            Account,
            "Order phone numbers (ds-local: completes at once)",
            post(create_order),
        ),
        route(
            M::GET,
            "/v1/phone-number-orders/{id}",
            "Phone numbers",
            Account,
            "Retrieve a phone-number order",
            get(get_order),
        ),
    ]
}

/// `NumberOrder` (rest.md §6.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberOrder {
    pub id: String,
    pub order_type: String,
    pub status: String,
    pub phone_numbers: Vec<String>,
    pub completed_numbers: Vec<String>,
    pub failed_numbers: Vec<String>,
    pub error_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize)]
pub struct OrderRequest {
    pub phone_numbers: Option<Vec<String>>,
}

pub async fn create_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<OrderRequest>,
) -> Result<Json<NumberOrder>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let numbers = request.phone_numbers.unwrap_or_default();
    if numbers.is_empty() || numbers.len() > MAX_NUMBERS_PER_ORDER {
        return Err(ApiError::invalid_field(
            "phone_numbers",
            format!("must list 1 to {MAX_NUMBERS_PER_ORDER} numbers"),
        ));
    }
    let now = state.clock().now_ms();
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    let mut transaction = state.db().begin().await?;
    for number in &numbers {
        let owned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dids WHERE phone_number = ?")
            .bind(number)
            .fetch_one(&mut *transaction)
            .await?;
        if !is_plus_one_e164(number) || owned > 0 || completed.contains(number) {
            failed.push(number.clone());
            continue;
        }
        let id = ids::new_id("did", now);
        let did = PhoneNumber::new(id.clone(), number.clone(), &iso(now));
        let body = serde_json::to_string(&did).map_err(|error| ApiError::Internal(error.to_string()))?;
        sqlx::query(
            "INSERT INTO dids (id, account_id, phone_number, created_at, body, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&scope.account_id)
        .bind(number)
        .bind(now)
        .bind(body)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        completed.push(number.clone());
    }
    let status = match (completed.is_empty(), failed.is_empty()) {
        (false, true) => "complete",
        (false, false) => "partial",
        (true, _) => "failed",
    };
    let order = NumberOrder {
        id: ids::new_id("pno", now),
        order_type: "purchase".to_owned(),
        status: status.to_owned(),
        phone_numbers: numbers,
        error_message: (!failed.is_empty())
            .then(|| "some numbers are not +1 E.164 or are already owned".to_owned()),
        completed_numbers: completed,
        failed_numbers: failed,
        created_at: iso(now),
        updated_at: iso(now),
    };
    let body = serde_json::to_string(&order).map_err(|error| ApiError::Internal(error.to_string()))?;
    sqlx::query("INSERT INTO phone_number_orders (id, account_id, body, created_at) VALUES (?, ?, ?, ?)")
        .bind(&order.id)
        .bind(&scope.account_id)
        .bind(body)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Json(order))
}

pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NumberOrder>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM phone_number_orders WHERE account_id = ? AND id = ?")
            .bind(&scope.account_id)
            .bind(&id)
            .fetch_optional(state.db())
            .await?;
    let body = body.ok_or_else(|| ApiError::not_found("phone-number order", &id))?;
    serde_json::from_str(&body).map(Json).map_err(|error| ApiError::Internal(error.to_string()))
}
