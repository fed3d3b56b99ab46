//! Routing configuration over REST: extensions (rest.md §5), phone numbers (§6), schedules (§7),
//! dial plans (§9) and ring groups (§10). Account-scoped: API key + `DialStack-Account`, or an
//! account session (ring groups: sessions may only read, rest.md §2). Validation is done by the
//! `ds-routing` crate; this module stores and serves the JSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use ds_protocol::rest::{Extension, ListEnvelope};
use ds_routing::plan::{self, PlanError, ReferenceCheck};
use ds_routing::{DialPlan, InboundRouting, PhoneNumber, RingGroup, RingGroupMember, Schedule, TargetKind};
use serde_json::{Map, Value, json};
use sqlx::{QueryBuilder, Sqlite};

use super::{Access, ApiRoute, route};
use crate::AppState;
use crate::auth::{AccountScope, Caller, Credential};
use crate::clock::iso;
use crate::error::ApiError;
use crate::extract::{ApiJson, Cursor, Pager, Params};
use crate::ids;
use crate::routing::{self as store, AccountLookup, Table};

/// The routes of this module, appended to the table in `routes/mod.rs`.
pub fn table() -> Vec<ApiRoute> {
    use Access::{Account, Platform};
    use Method as M;
    vec![
        route(
            M::GET,
            "/_ds/clock",
            "ds-local",
            Platform,
            "The instant schedules are evaluated at",
            get(get_clock),
        ),
        route(
            M::POST,
            "/_ds/clock",
            "ds-local",
            Platform,
            "Freeze (or release) the clock schedules are evaluated at",
            post(set_clock),
        ),
        route(
            M::POST,
            "/v1/extensions",
            "Extensions",
            Account,
            "Create an extension",
            post(create_extension),
        ),
        route(M::GET, "/v1/extensions", "Extensions", Account, "List extensions", get(list_extensions)),
        route(
            M::GET,
            "/v1/extensions/{number}",
            "Extensions",
            Account,
            "Retrieve an extension",
            get(get_extension),
        ),
        route(
            M::POST,
            "/v1/extensions/{number}",
            "Extensions",
            Account,
            "Update or renumber an extension",
            post(update_extension),
        ),
        route(
            M::DELETE,
            "/v1/extensions/{number}",
            "Extensions",
            Account,
            "Delete an extension",
            delete(delete_extension),
        ),
        route(M::GET, "/v1/phone-numbers", "Phone numbers", Account, "List phone numbers", get(list_numbers)),
        route(
            M::GET,
            "/v1/phone-numbers/{id}",
            "Phone numbers",
            Account,
            "Retrieve a phone number",
            get(get_number),
        ),
        route(
            M::POST,
            "/v1/phone-numbers/{id}",
            "Phone numbers",
            Account,
            "Update a phone number",
            post(update_number),
        ),
        route(
            M::POST,
            "/v1/phone-numbers/{id}/route",
            "Phone numbers",
            Account,
            "Set where inbound calls go",
            post(route_number),
        ),
        route(M::POST, "/v1/schedules", "Schedules", Account, "Create a schedule", post(create_schedule)),
        route(M::GET, "/v1/schedules", "Schedules", Account, "List schedules", get(list_objects::<Schedule>)),
        route(
            M::GET,
            "/v1/schedules/{id}",
            "Schedules",
            Account,
            "Retrieve a schedule",
            get(get_object::<Schedule>),
        ),
        route(
            M::POST,
            "/v1/schedules/{id}",
            "Schedules",
            Account,
            "Update a schedule",
            post(update_object::<Schedule>),
        ),
        route(
            M::DELETE,
            "/v1/schedules/{id}",
            "Schedules",
            Account,
            "Delete a schedule",
            delete(delete_schedule),
        ),
        route(M::POST, "/v1/dialplans", "Dial plans", Account, "Create a dial plan", post(create_plan)),
        route(
            M::GET,
            "/v1/dialplans",
            "Dial plans",
            Account,
            "List dial plans",
            get(list_objects::<DialPlan>),
        ),
        route(
            M::GET,
            "/v1/dialplans/{id}",
            "Dial plans",
            Account,
            "Retrieve a dial plan",
            get(get_object::<DialPlan>),
        ),
        route(M::POST, "/v1/dialplans/{id}", "Dial plans", Account, "Update a dial plan", post(update_plan)),
        route(
            M::DELETE,
            "/v1/dialplans/{id}",
            "Dial plans",
            Account,
            "Delete a dial plan",
            delete(delete_plan),
        ),
        route(M::POST, "/v1/ring_groups", "Ring groups", Account, "Create a ring group", post(create_group)),
        route(
            M::GET,
            "/v1/ring_groups",
            "Ring groups",
            Account,
            "List ring groups",
            get(list_objects::<RingGroup>),
        ),
        route(
            M::GET,
            "/v1/ring_groups/{id}",
            "Ring groups",
            Account,
            "Retrieve a ring group",
            get(get_object::<RingGroup>),
        ),
        route(
            M::POST,
            "/v1/ring_groups/{id}",
            "Ring groups",
            Account,
            "Update a ring group",
            post(update_object::<RingGroup>),
        ),
        route(
            M::DELETE,
            "/v1/ring_groups/{id}",
            "Ring groups",
            Account,
            "Delete a ring group",
            delete(delete_group),
        ),
        route(
            M::POST,
            "/v1/ring_groups/{id}/members",
            "Ring groups",
            Account,
            "Add a ring-group member",
            post(add_member),
        ),
        route(
            M::DELETE,
            "/v1/ring_groups/{id}/members/{member_id}",
            "Ring groups",
            Account,
            "Remove a ring-group member",
            delete(remove_member),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// The body as a JSON object (every routing body is one).
fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(|| ApiError::validation("the request body must be a JSON object"))
}

/// Copies the given keys (when present, including explicit `null`) from `patch` onto `base`:
/// partial updates with tri-state nullable fields (rest.md §1.4). Other keys are ignored.
fn overlay(base: &mut Value, patch: &Map<String, Value>, keys: &[&str]) {
    if let Some(base) = base.as_object_mut() {
        for key in keys {
            if let Some(value) = patch.get(*key) {
                base.insert((*key).to_owned(), value.clone());
            }
        }
    }
}

/// Reads a merged JSON object back into its type; shape errors are 400 `validation_error`.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|error| ApiError::validation(format!("invalid request body: {error}")))
}

fn to_value<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).expect("routing objects always serialise")
}

/// Ring groups are read-only for account sessions (rest.md §2: "✓ (list)").
fn refuse_session_writes(caller: &Caller) -> Result<(), ApiError> {
    if matches!(caller.credential, Credential::AccountSession(_)) {
        return Err(ApiError::forbidden("api_key_required", "an account session can only read ring groups"));
    }
    Ok(())
}

/// Newest-first list of a JSON-body table.
async fn list_table(
    state: &AppState,
    scope: &AccountScope,
    table: Table,
    path: &str,
    params: &Params,
) -> Result<(Pager, Vec<Value>), ApiError> {
    let pager =
        Pager::new(state.db(), path, params, table.name(), "created_at", Some(&scope.account_id)).await?;
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT body FROM {} WHERE account_id = ", table.name()));
    query.push_bind(scope.account_id.clone());
    pager.push_window(&mut query, "created_at");
    let bodies: Vec<String> = query.build_query_scalar().fetch_all(state.db()).await?;
    let objects = bodies
        .iter()
        .map(|body| serde_json::from_str(body).map_err(|error| ApiError::Internal(error.to_string())))
        .collect::<Result<Vec<Value>, _>>()?;
    Ok((pager, objects))
}

fn id_of(value: &Value) -> &str {
    value.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// A routing object stored as a JSON body in its own table (schedules, dial plans, ring
/// groups): what the shared retrieve / list / update handlers need to know about it.
trait Stored: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {
    const TABLE: Table;
    /// Name in "not found" errors.
    const KIND: &'static str;
    /// The list path (`url` of the list envelope).
    const PATH: &'static str;
    /// Whether `expand[]=extensions` applies (things an extension can point at).
    const EXPANDS: bool;
    /// Keys a partial update may change (rest.md §1.4).
    const UPDATABLE: &'static [&'static str];
    /// Checks a merged object before it is saved.
    fn check(&self) -> Result<(), ApiError>;
    fn set_updated_at(&mut self, at: String);
}

/// One `Stored` impl per kind: only the constants and the check differ.
macro_rules! stored {
    ($type:ty, $table:expr, $kind:literal, $path:literal, expands: $expands:literal,
     updatable: $updatable:expr, check: $check:expr) => {
        impl Stored for $type {
            const TABLE: Table = $table;
            const KIND: &'static str = $kind;
            const PATH: &'static str = $path;
            const EXPANDS: bool = $expands;
            const UPDATABLE: &'static [&'static str] = $updatable;
            fn check(&self) -> Result<(), ApiError> {
                let check: fn(&$type) -> Result<(), ApiError> = $check;
                check(self)
            }
            fn set_updated_at(&mut self, at: String) {
                self.updated_at = at;
            }
        }
    };
}

stored!(Schedule, Table::Schedules, "schedule", "/v1/schedules", expands: false,
    updatable: SCHEDULE_KEYS, check: check_schedule);
// Plans are validated as a whole graph; `update_plan` has its own merge.
stored!(DialPlan, Table::DialPlans, "dial plan", "/v1/dialplans", expands: true,
    updatable: &[], check: |_| Ok(()));
stored!(RingGroup, Table::RingGroups, "ring group", "/v1/ring_groups", expands: true,
    updatable: GROUP_KEYS,
    check: |group| RingGroup::check(group).map_err(|(field, reason)| ApiError::invalid_field(field, reason)));

/// One object of the account, or 404 naming its kind.
async fn fetch<T: Stored>(state: &AppState, scope: &AccountScope, id: &str) -> Result<T, ApiError> {
    store::load(state.db(), T::TABLE, &scope.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(T::KIND, id))
}

/// The wire form, with `extensions` when asked and applicable.
async fn render<T: Stored>(
    state: &AppState,
    scope: &AccountScope,
    params: &Params,
    object: Value,
) -> Result<Value, ApiError> {
    if T::EXPANDS { with_extensions(state, scope, params, object).await } else { Ok(object) }
}

async fn get_object<T: Stored>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let object = to_value(&fetch::<T>(&state, &scope, &id).await?);
    Ok(Json(render::<T>(&state, &scope, &params, object).await?))
}

async fn list_objects<T: Stored>(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<Value>>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let (pager, objects) = list_table(&state, &scope, T::TABLE, T::PATH, &params).await?;
    let mut rendered = Vec::with_capacity(objects.len());
    for object in objects {
        rendered.push(render::<T>(&state, &scope, &params, object).await?);
    }
    Ok(Json(pager.envelope(rendered, id_of)))
}

/// Partial update of the `UPDATABLE` keys; the merge is checked whole, then saved.
async fn update_object<T: Stored>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    if T::TABLE == Table::RingGroups {
        refuse_session_writes(&caller)?;
    }
    let scope = caller.account(&state, false).await?;
    let patch = object(&body)?;
    let mut merged = to_value(&fetch::<T>(&state, &scope, &id).await?);
    overlay(&mut merged, patch, T::UPDATABLE);
    let now = state.clock().now_ms();
    let mut updated: T = typed(merged)?;
    updated.set_updated_at(iso(now));
    updated.check()?;
    store::save(state.db(), T::TABLE, &scope.account_id, &id, &updated, now, now).await?;
    Ok(Json(render::<T>(&state, &scope, &params, to_value(&updated)).await?))
}

/// Adds `extensions` (the list of extensions pointing at the object) when asked.
async fn with_extensions(
    state: &AppState,
    scope: &AccountScope,
    params: &Params,
    mut object: Value,
) -> Result<Value, ApiError> {
    if params.expands("extensions") {
        let extensions = super::users::extensions_of(state.db(), &scope.account_id, id_of(&object)).await?;
        object["extensions"] = to_value(&extensions);
    }
    Ok(object)
}

/// A routing target reference (DID `routing_target`, extension `target`): one of the six kinds
/// (400 otherwise) that exists in the account when ds-local stores that kind (404 otherwise).
async fn check_target(state: &AppState, scope: &AccountScope, field: &str, id: &str) -> Result<(), ApiError> {
    if TargetKind::of(id).is_none() {
        return Err(ApiError::invalid_field(
            field,
            format!("{id:?} is not a user_, dp_, va_, rg_, qu_ or svm_ id"),
        ));
    }
    if store::target_exists(state.db(), &scope.account_id, id).await? == Some(false) {
        return Err(ApiError::not_found("routing target", id));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Extensions (rest.md §5)

fn validate_number(number: &str) -> Result<(), ApiError> {
    let well_formed = (2..=6).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    if !well_formed || number == "911" || number == "933" {
        return Err(ApiError::invalid_field(
            "number",
            "must be 2 to 6 digits without a leading zero (not 911/933)",
        ));
    }
    Ok(())
}

fn text_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid_field(field, "must be a string")),
    }
}

async fn fetch_extension(state: &AppState, account_id: &str, number: &str) -> Result<Extension, ApiError> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT number, target, created_at, updated_at FROM extensions WHERE account_id = ? AND number = ?",
    )
    .bind(account_id)
    .bind(number)
    .fetch_optional(state.db())
    .await?;
    let (number, target, created_at, updated_at) =
        row.ok_or_else(|| ApiError::not_found("extension", number))?;
    Ok(Extension {
        number,
        target,
        status: "active".into(),
        created_at: iso(created_at),
        updated_at: iso(updated_at),
    })
}

fn extension_taken(number: &str) -> ApiError {
    ApiError::Conflict {
        code: "extension_taken",
        message: format!("extension {number} already exists in this account"),
    }
}

pub async fn create_extension(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Extension>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let body = object(&body)?;
    let number =
        text_field(body, "number")?.ok_or_else(|| ApiError::invalid_field("number", "is required"))?;
    let target =
        text_field(body, "target")?.ok_or_else(|| ApiError::invalid_field("target", "is required"))?;
    validate_number(&number)?;
    check_target(&state, &scope, "target", &target).await?;
    let now = state.clock().now_ms();
    let inserted = sqlx::query(
        "INSERT OR IGNORE INTO extensions (account_id, number, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&scope.account_id)
    .bind(&number)
    .bind(&target)
    .bind(now)
    .bind(now)
    .execute(state.db())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(extension_taken(&number));
    }
    Ok(Json(fetch_extension(&state, &scope.account_id, &number).await?))
}

pub async fn get_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<Extension>, ApiError> {
    let scope = caller.account(&state, false).await?;
    Ok(Json(fetch_extension(&state, &scope.account_id, &number).await?))
}

pub async fn update_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Extension>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let body = object(&body)?;
    let current = fetch_extension(&state, &scope.account_id, &number).await?;
    let new_number = text_field(body, "number")?.unwrap_or(current.number.clone());
    let target = text_field(body, "target")?.unwrap_or(current.target.clone());
    validate_number(&new_number)?;
    if target != current.target {
        check_target(&state, &scope, "target", &target).await?;
    }
    if new_number != current.number
        && sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM extensions WHERE account_id = ? AND number = ?")
            .bind(&scope.account_id)
            .bind(&new_number)
            .fetch_one(state.db())
            .await?
            > 0
    {
        return Err(extension_taken(&new_number));
    }
    sqlx::query(
        "UPDATE extensions SET number = ?, target = ?, updated_at = ? WHERE account_id = ? AND number = ?",
    )
    .bind(&new_number)
    .bind(&target)
    .bind(state.clock().now_ms())
    .bind(&scope.account_id)
    .bind(&number)
    .execute(state.db())
    .await?;
    Ok(Json(fetch_extension(&state, &scope.account_id, &new_number).await?))
}

pub async fn delete_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, false).await?;
    let deleted = sqlx::query("DELETE FROM extensions WHERE account_id = ? AND number = ?")
        .bind(&scope.account_id)
        .bind(&number)
        .execute(state.db())
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::not_found("extension", number));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ordered by number (numeric) with a `{"starting_after": "<number>"}` cursor (rest.md §5.4).
pub async fn list_extensions(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<Extension>>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let limit = params.limit()?;
    let after = match params.cursor()? {
        None => None,
        Some(Cursor { starting_after: Some(number), .. }) if number.bytes().all(|b| b.is_ascii_digit()) => {
            Some(number)
        }
        Some(_) => return Err(ApiError::InvalidPagination),
    };
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT number, target, created_at, updated_at FROM extensions WHERE account_id = ",
    );
    query.push_bind(scope.account_id.clone());
    if let Some(target) = params.get("target") {
        query.push(" AND target = ").push_bind(target.to_owned());
    }
    if let Some(after) = &after {
        query.push(" AND CAST(number AS INTEGER) > CAST(").push_bind(after.clone()).push(" AS INTEGER)");
    }
    query.push(" ORDER BY CAST(number AS INTEGER), number LIMIT ").push_bind(limit + 1);
    let mut rows: Vec<(String, String, i64, i64)> = query.build_query_as().fetch_all(state.db()).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let data: Vec<Extension> = rows
        .into_iter()
        .map(|(number, target, created_at, updated_at)| Extension {
            number,
            target,
            status: "active".into(),
            created_at: iso(created_at),
            updated_at: iso(updated_at),
        })
        .collect();
    let next_page_url = match data.last() {
        Some(last) if has_more => {
            let cursor =
                Cursor { starting_after: Some(last.number.clone()), ending_before: None, limit: Some(limit) };
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &limit.to_string());
            if let Some(target) = params.get("target") {
                query.append_pair("target", target);
            }
            query.append_pair("page", &cursor.encode());
            Some(format!("/v1/extensions?{}", query.finish()))
        }
        _ => None,
    };
    Ok(Json(ListEnvelope {
        object: "list".into(),
        url: "/v1/extensions".into(),
        next_page_url,
        previous_page_url: None,
        data,
    }))
}

// ---------------------------------------------------------------------------------------------
// Phone numbers (rest.md §6)

async fn fetch_number(state: &AppState, scope: &AccountScope, id: &str) -> Result<PhoneNumber, ApiError> {
    store::phone_number(state.db(), &scope.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("phone number", id))
}

pub async fn list_numbers(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ListEnvelope<Value>>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let pager =
        Pager::new(state.db(), "/v1/phone-numbers", &params, "dids", "created_at", Some(&scope.account_id))
            .await?;
    let mut query = QueryBuilder::<Sqlite>::new("SELECT id FROM dids WHERE account_id = ");
    query.push_bind(scope.account_id.clone());
    if let Some(status) = params.get("status") {
        query.push(" AND COALESCE(json_extract(body, '$.status'), 'active') = ").push_bind(status.to_owned());
    }
    pager.push_window(&mut query, "created_at");
    let ids: Vec<String> = query.build_query_scalar().fetch_all(state.db()).await?;
    let mut numbers = Vec::with_capacity(ids.len());
    for id in ids {
        numbers.push(to_value(&fetch_number(&state, &scope, &id).await?));
    }
    Ok(Json(pager.envelope(numbers, id_of)))
}

pub async fn get_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PhoneNumber>, ApiError> {
    let scope = caller.account(&state, false).await?;
    Ok(Json(fetch_number(&state, &scope, &id).await?))
}

const NUMBER_KEYS: &[&str] = &[
    "outbound_enabled",
    "status",
    "expires_at",
    "directory_listing_name",
    "directory_listing_type",
    "directory_listing_location",
    "caller_id_name",
    "caller_id_prefix",
    "caller_id_visibility",
    "fax_enabled",
    "config",
];

pub async fn update_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PhoneNumber>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let patch = object(&body)?;
    let current = fetch_number(&state, &scope, &id).await?;
    if let Some(status) = patch.get("status")
        && !matches!(status.as_str(), Some("active" | "inactive"))
    {
        return Err(ApiError::invalid_field("status", "must be active or inactive"));
    }
    if patch.get("expires_at").is_some_and(|value| !value.is_null()) {
        return Err(ApiError::invalid_field("expires_at", "can only be set to null"));
    }
    if let Some(visibility) = patch.get("caller_id_visibility")
        && !matches!(visibility.as_str(), Some("PUBLIC" | "PRIVATE"))
    {
        return Err(ApiError::invalid_field("caller_id_visibility", "must be PUBLIC or PRIVATE"));
    }
    if let Some(kind) = patch.get("directory_listing_type")
        && !matches!(kind.as_str(), Some("listed" | "non_listed" | "non_published" | "non_registered"))
    {
        return Err(ApiError::invalid_field(
            "directory_listing_type",
            "must be listed, non_listed, non_published or non_registered",
        ));
    }
    let mut merged = to_value(&current);
    overlay(&mut merged, patch, NUMBER_KEYS);
    let now = state.clock().now_ms();
    let mut updated: PhoneNumber = typed(merged)?;
    updated.updated_at = iso(now);
    store::save_phone_number(state.db(), &scope.account_id, &updated, now).await?;
    Ok(Json(updated))
}

pub async fn route_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PhoneNumber>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let patch = object(&body)?;
    let mut number = fetch_number(&state, &scope, &id).await?;
    let inbound = match patch.get("inbound_routing") {
        None => None,
        Some(value) => Some(
            typed::<InboundRouting>(value.clone())
                .map_err(|_| ApiError::invalid_field("inbound_routing", "must be default or drop"))?,
        ),
    };
    let target = match patch.get("routing_target") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(target)) => Some(Some(target.clone())),
        Some(_) => {
            return Err(ApiError::invalid_field("routing_target", "must be a routing target id or null"));
        }
    };
    if inbound.is_none() && target.is_none() {
        return Err(ApiError::invalid_field("routing_target", "is required"));
    }
    if let Some(Some(target)) = &target {
        if inbound == Some(InboundRouting::Drop) {
            return Err(ApiError::invalid_field(
                "routing_target",
                "must be null when inbound_routing is drop",
            ));
        }
        check_target(&state, &scope, "routing_target", target).await?;
        // rest.md §6.2 [open]: a real target switches a dropped number back to default.
        number.inbound_routing = InboundRouting::Default;
    }
    if let Some(target) = target {
        number.routing_target = target;
    }
    if let Some(inbound) = inbound {
        number.inbound_routing = inbound;
    }
    if number.inbound_routing == InboundRouting::Drop {
        number.routing_target = None;
    }
    let now = state.clock().now_ms();
    number.updated_at = iso(now);
    store::save_phone_number(state.db(), &scope.account_id, &number, now).await?;
    Ok(Json(number))
}

// ---------------------------------------------------------------------------------------------
// Clock (rest.md §19.2)

/// `{now, frozen}`: the instant schedules are evaluated at, and whether it is frozen.
async fn clock_reply(state: &AppState) -> Result<Json<Value>, ApiError> {
    let frozen = store::frozen_schedule_clock(state.db()).await?;
    let now = frozen.unwrap_or_else(|| state.clock().now());
    Ok(Json(json!({ "now": iso(now.timestamp_millis()), "frozen": frozen.is_some() })))
}

pub async fn get_clock(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_platform()?;
    clock_reply(&state).await
}

/// `{"now": "<RFC 3339>"}` freezes schedule evaluation at that instant (for every account);
/// `{"now": null}` returns it to real time. Call timestamps keep the real clock
/// (docs/decisions.md, routing).
pub async fn set_clock(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_platform()?;
    let at = match body.get("now") {
        Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ApiError::invalid_field("now", "must be an RFC 3339 time or null"))?
                .with_timezone(&chrono::Utc),
        ),
        _ => return Err(ApiError::invalid_field("now", "is required: an RFC 3339 time or null")),
    };
    store::set_schedule_clock(state.db(), at).await?;
    clock_reply(&state).await
}

// ---------------------------------------------------------------------------------------------
// Schedules (rest.md §7)

const SCHEDULE_KEYS: &[&str] = &["name", "timezone", "ranges", "holidays"];

/// Checks a merged schedule; every bad field is in `details` (keyed like `ranges[2].end`).
fn check_schedule(schedule: &Schedule) -> Result<(), ApiError> {
    let errors = match ds_routing::schedule::compile(schedule) {
        Ok(_) => return Ok(()),
        Err(errors) => errors,
    };
    let details: Map<String, Value> =
        errors.iter().map(|error| (error.field.clone(), Value::String(error.reason.clone()))).collect();
    let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    Err(ApiError::Validation { message, details: Some(Value::Object(details)) })
}

async fn account_timezone(state: &AppState, account_id: &str) -> Result<String, ApiError> {
    let config: Option<String> = sqlx::query_scalar("SELECT config FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_optional(state.db())
        .await?;
    Ok(config
        .and_then(|config| serde_json::from_str::<Value>(&config).ok())
        .and_then(|config| config.get("timezone").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "UTC".to_owned()))
}

pub async fn create_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Schedule>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let id = ids::new_id("sched", state.clock().now_ms());
    let schedule = create_schedule_with_id(&state, &scope, &id, body).await?;
    typed(schedule).map(Json)
}

/// Creates a schedule with a given id (the public create, and `/_ds/fixtures` for seed ids
/// such as `sch_business_hours`); an existing id is a 409.
pub async fn create_schedule_with_id(
    state: &AppState,
    scope: &AccountScope,
    id: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let patch = object(&body)?;
    for required in ["name", "ranges"] {
        if patch.get(required).is_none_or(Value::is_null) {
            return Err(ApiError::invalid_field(required, "is required"));
        }
    }
    if store::load::<Value>(state.db(), Table::Schedules, &scope.account_id, id).await?.is_some() {
        return Err(ApiError::Conflict { code: "resource_exists", message: format!("{id} already exists") });
    }
    let now = state.clock().now_ms();
    let mut merged = json!({
        "id": id,
        "timezone": account_timezone(state, &scope.account_id).await?,
        "holidays": [],
    });
    overlay(&mut merged, patch, SCHEDULE_KEYS);
    store::stamp(&mut merged, now, now);
    let schedule: Schedule = typed(merged)?;
    check_schedule(&schedule)?;
    store::save(state.db(), Table::Schedules, &scope.account_id, &schedule.id, &schedule, now, now).await?;
    Ok(to_value(&schedule))
}

pub async fn delete_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, false).await?;
    fetch::<Schedule>(&state, &scope, &id).await?;
    let plans: Vec<DialPlan> = store::load_all(state.db(), Table::DialPlans, &scope.account_id).await?;
    if let Some(plan) = plans.iter().find(|plan| plan.references().contains(&id.as_str())) {
        return Err(ApiError::Conflict {
            code: "schedule_in_use",
            message: format!("schedule {id} is used by dial plan {}", plan.id),
        });
    }
    store::remove(state.db(), Table::Schedules, &scope.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Dial plans (rest.md §9)

/// rest.md §9.4: 400 `validation_error` whose message starts with the JSON pointer; `details`
/// repeats it and names the node. The AI-agent notify refusal is a 422 (§9.3).
fn plan_error(error: PlanError) -> ApiError {
    if error.is_unprocessable() {
        return ApiError::Unprocessable { code: "validation_error", message: error.message() };
    }
    let mut details = Map::new();
    details.insert(error.pointer.clone(), Value::String(error.problem.to_string()));
    if let Some(node) = &error.node {
        details.insert("node".into(), Value::String(node.clone()));
    }
    ApiError::Validation { message: error.message(), details: Some(Value::Object(details)) }
}

fn plan_name(value: Option<&Value>) -> Result<String, ApiError> {
    match value {
        Some(Value::String(name)) if (1..=255).contains(&name.chars().count()) => Ok(name.clone()),
        None | Some(Value::Null) => Err(ApiError::invalid_field("/name", "is required")),
        Some(_) => Err(ApiError::invalid_field("/name", "must be a string of 1 to 255 characters")),
    }
}

async fn validate_plan(
    state: &AppState,
    scope: &AccountScope,
    own_id: &str,
    entry_node: Option<&Value>,
    nodes: Option<&Value>,
) -> Result<(String, Vec<ds_routing::Node>), ApiError> {
    let lookup = AccountLookup::load(state.db(), &scope.account_id).await?;
    plan::validate(entry_node, nodes, Some(own_id), &lookup, ReferenceCheck::PrefixOnly).map_err(plan_error)
}

pub async fn create_plan(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let body = object(&body)?;
    let name = plan_name(body.get("name"))?;
    let now = state.clock().now_ms();
    let id = ids::new_id("dp", now);
    let graph = (body.get("entry_node"), body.get("nodes"));
    save_plan(&state, &scope, &params, (id, name), graph, iso(now), now).await
}

/// Validates a plan's graph whole, then saves it and renders it (create and update).
async fn save_plan(
    state: &AppState,
    scope: &AccountScope,
    params: &Params,
    (id, name): (String, String),
    (entry_node, nodes): (Option<&Value>, Option<&Value>),
    created_at: String,
    now: i64,
) -> Result<Json<Value>, ApiError> {
    let (entry_node, nodes) = validate_plan(state, scope, &id, entry_node, nodes).await?;
    let plan = DialPlan { id, name, entry_node, nodes, created_at, updated_at: iso(now) };
    store::save(state.db(), Table::DialPlans, &scope.account_id, &plan.id, &plan, now, now).await?;
    Ok(Json(with_extensions(state, scope, params, to_value(&plan)).await?))
}

/// Partial: `name`, `entry_node`, `nodes` (replaces the graph); the merge is validated whole.
pub async fn update_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.account(&state, false).await?;
    let body = object(&body)?;
    let current = fetch::<DialPlan>(&state, &scope, &id).await?;
    let name = match body.get("name") {
        None => current.name.clone(),
        name => plan_name(name)?,
    };
    let entry_node =
        body.get("entry_node").cloned().unwrap_or_else(|| Value::String(current.entry_node.clone()));
    let nodes = body.get("nodes").cloned().unwrap_or_else(|| current.nodes_json());
    let now = state.clock().now_ms();
    let graph = (Some(&entry_node), Some(&nodes));
    save_plan(&state, &scope, &params, (id, name), graph, current.created_at, now).await
}

pub async fn delete_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.account(&state, false).await?;
    fetch::<DialPlan>(&state, &scope, &id).await?;
    let in_use = |by: String| ApiError::Conflict {
        code: "dial_plan_in_use",
        message: format!("dial plan {id} is used by {by}"),
    };
    let plans: Vec<DialPlan> = store::load_all(state.db(), Table::DialPlans, &scope.account_id).await?;
    if let Some(plan) = plans.iter().find(|plan| plan.id != id && plan.references().contains(&id.as_str())) {
        return Err(in_use(format!("dial plan {}", plan.id)));
    }
    let numbers = store::phone_numbers(state.db(), &scope.account_id).await?;
    if let Some(number) = numbers.iter().find(|number| number.routing_target.as_deref() == Some(id.as_str()))
    {
        return Err(in_use(format!("phone number {}", number.id)));
    }
    let extension: Option<String> =
        sqlx::query_scalar("SELECT number FROM extensions WHERE account_id = ? AND target = ? LIMIT 1")
            .bind(&scope.account_id)
            .bind(&id)
            .fetch_optional(state.db())
            .await?;
    if let Some(extension) = extension {
        return Err(in_use(format!("extension {extension}")));
    }
    store::remove(state.db(), Table::DialPlans, &scope.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Ring groups (rest.md §10)

const GROUP_KEYS: &[&str] =
    &["name", "timeout_seconds", "ignore_forwarding", "confirm_external", "timeout_action", "timeout_target"];

pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    refuse_session_writes(&caller)?;
    let scope = caller.account(&state, false).await?;
    let patch = object(&body)?;
    if patch.get("name").is_none_or(Value::is_null) {
        return Err(ApiError::invalid_field("name", "is required"));
    }
    let now = state.clock().now_ms();
    let mut merged = json!({ "id": ids::new_id("rg", now), "members": [] });
    overlay(&mut merged, patch, GROUP_KEYS);
    store::stamp(&mut merged, now, now);
    let group: RingGroup = typed(merged)?;
    Stored::check(&group)?;
    store::save(state.db(), Table::RingGroups, &scope.account_id, &group.id, &group, now, now).await?;
    Ok(Json(with_extensions(&state, &scope, &params, to_value(&group)).await?))
}

pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    refuse_session_writes(&caller)?;
    let scope = caller.account(&state, false).await?;
    if !store::remove(state.db(), Table::RingGroups, &scope.account_id, &id).await? {
        return Err(ApiError::not_found("ring group", id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `{extension}` (a `user_`, `dp_` or `va_` id of the account) **or** `{phone_number}` (E.164).
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<RingGroupMember>, ApiError> {
    refuse_session_writes(&caller)?;
    let scope = caller.account(&state, false).await?;
    let body = object(&body)?;
    let mut group = fetch::<RingGroup>(&state, &scope, &id).await?;
    let extension = text_field(body, "extension")?;
    let phone_number = text_field(body, "phone_number")?;
    match (&extension, &phone_number) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::validation("exactly one of extension or phone_number is required"));
        }
        (Some(target), None) => {
            if !matches!(
                TargetKind::of(target),
                Some(TargetKind::User | TargetKind::DialPlan | TargetKind::VoiceApp)
            ) {
                return Err(ApiError::invalid_field("extension", "must be a user_, dp_ or va_ id"));
            }
            if store::target_exists(state.db(), &scope.account_id, target).await? == Some(false) {
                return Err(ApiError::not_found("routing target", target.clone()));
            }
        }
        (None, Some(number)) => {
            if !ds_routing::ids::is_e164(number) {
                return Err(ApiError::invalid_field("phone_number", "must be an E.164 number"));
            }
        }
    }
    if group.members.iter().any(|member| member.extension == extension && member.phone_number == phone_number)
    {
        return Err(ApiError::Conflict {
            code: "member_exists",
            message: "this member is already in the group".into(),
        });
    }
    let now = state.clock().now_ms();
    let member = RingGroupMember {
        id: ids::new_id("rgm", now),
        ring_group_id: group.id.clone(),
        extension,
        phone_number,
        created_at: iso(now),
    };
    group.members.push(member.clone());
    group.updated_at = iso(now);
    store::save(state.db(), Table::RingGroups, &scope.account_id, &id, &group, now, now).await?;
    Ok(Json(member))
}

pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    refuse_session_writes(&caller)?;
    let scope = caller.account(&state, false).await?;
    let mut group = fetch::<RingGroup>(&state, &scope, &id).await?;
    let before = group.members.len();
    group.members.retain(|member| member.id != member_id);
    if group.members.len() == before {
        return Err(ApiError::not_found("ring group member", member_id));
    }
    let now = state.clock().now_ms();
    group.updated_at = iso(now);
    store::save(state.db(), Table::RingGroups, &scope.account_id, &id, &group, now, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
