//! Request extractors whose failures are the platform's JSON error body, and list pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ds_protocol::rest::ListEnvelope;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};

use crate::error::{ApiError, json_error};

/// A JSON body. Unlike `axum::Json` it does not insist on a `Content-Type` (curl users forget
/// it) and treats an empty body as `{}` (rest.md §4.2: an empty body is valid for some creates).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit: crate::BODY_LIMIT_BYTES })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        // Syntax first, then shape: broken JSON and well-formed JSON of the wrong shape are
        // different errors (invalid_json vs validation_error).
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| json_error(&error))?;
        serde_json::from_value(value).map(ApiJson).map_err(|error| json_error(&error))
    }
}

/// Query parameters as an ordered list, so repeated keys (`expand[]=a&expand[]=b`) survive.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// First present of several names (aliases such as `from_date`/`from`).
    pub fn first_of(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.get(name))
    }

    /// `expand[]` values; a comma-joined value is not split (protocol.md §11.1).
    pub fn expands(&self, what: &str) -> bool {
        self.0.iter().any(|(k, v)| k == "expand[]" && v == what)
    }

    /// `limit`: 1–100, default 10; anything else → 400 `validation_error` (rest.md §1.5).
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.0.iter().find(|(k, _)| k == "limit") {
            None => Ok(10),
            Some((_, value)) => match value.parse::<i64>() {
                Ok(limit) if (1..=100).contains(&limit) => Ok(limit),
                _ => Err(ApiError::invalid_field("limit", "must be an integer from 1 to 100")),
            },
        }
    }

    /// The decoded `page` cursor, if any.
    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        let Some((_, page)) = self.0.iter().find(|(k, _)| k == "page") else {
            return Ok(None);
        };
        let bytes =
            URL_SAFE_NO_PAD.decode(page.trim_end_matches('=')).map_err(|_| ApiError::InvalidPagination)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| ApiError::InvalidPagination)?;
        if cursor.starting_after.is_some() == cursor.ending_before.is_some() {
            return Err(ApiError::InvalidPagination);
        }
        Ok(Some(cursor))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

/// The `page` cursor: base64url JSON (rest.md §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor always serialises"))
    }
}

/// Keyset pagination over `(sort_column, id)`, newest first.
#[derive(Debug)]
pub struct Pager {
    pub path: String,
    pub params: Params,
    pub limit: i64,
    /// The cursor row's `(sort value, id)` and whether we page backwards (`ending_before`).
    pub anchor: Option<(i64, String, bool)>,
}

impl Pager {
    /// Resolves the cursor against `table` (its row must be visible in `account_id`, if given).
    pub async fn new(
        db: &sqlx::SqlitePool,
        path: &str,
        params: &Params,
        table: &'static str,
        sort_column: &'static str,
        account_id: Option<&str>,
    ) -> Result<Self, ApiError> {
        let limit = params.limit()?;
        let anchor = match params.cursor()? {
            None => None,
            Some(cursor) => {
                let (id, backwards) = match (cursor.starting_after, cursor.ending_before) {
                    (Some(id), None) => (id, false),
                    (None, Some(id)) => (id, true),
                    _ => return Err(ApiError::InvalidPagination),
                };
                let mut query =
                    QueryBuilder::<Sqlite>::new(format!("SELECT {sort_column} FROM {table} WHERE id = "));
                query.push_bind(id.clone());
                if let Some(account_id) = account_id {
                    query.push(" AND account_id = ").push_bind(account_id.to_owned());
                }
                let sort: Option<i64> = query.build_query_scalar().fetch_optional(db).await?;
                Some((sort.ok_or(ApiError::InvalidPagination)?, id, backwards))
            }
        };
        Ok(Self { path: path.to_owned(), params: params.clone(), limit, anchor })
    }

    /// Appends the keyset condition, order and limit to a query whose WHERE clause is open.
    pub fn push_window(&self, query: &mut QueryBuilder<Sqlite>, sort_column: &str) {
        // `c.started_at` → `c.id`: qualify the id like the sort column (joins have several ids).
        let id_column = match sort_column.split_once('.') {
            Some((table, _)) => format!("{table}.id"),
            None => "id".to_owned(),
        };
        match &self.anchor {
            None => {
                query.push(format!(" ORDER BY {sort_column} DESC, {id_column} DESC"));
            }
            Some((sort, id, backwards)) => {
                let op = if *backwards { ">" } else { "<" };
                query.push(format!(" AND ({sort_column}, {id_column}) {op} ("));
                query.push_bind(*sort).push(", ").push_bind(id.clone()).push(")");
                let order = if *backwards { "ASC" } else { "DESC" };
                query.push(format!(" ORDER BY {sort_column} {order}, {id_column} {order}"));
            }
        }
        query.push(" LIMIT ").push_bind(self.limit + 1);
    }

    /// Builds the envelope from the fetched rows (at most `limit + 1`, in query order).
    pub fn envelope<T>(&self, mut rows: Vec<T>, id_of: impl Fn(&T) -> &str) -> ListEnvelope<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let backwards = matches!(self.anchor, Some((_, _, true)));
        if backwards {
            rows.reverse();
        }
        let more_after = if backwards { true } else { has_more };
        let more_before = if backwards { has_more } else { self.anchor.is_some() };
        let next_page_url = match rows.last() {
            Some(last) if more_after => Some(self.url(Cursor {
                starting_after: Some(id_of(last).to_owned()),
                ending_before: None,
                limit: Some(self.limit),
            })),
            _ => None,
        };
        let previous_page_url = match rows.first() {
            Some(first) if more_before => Some(self.url(Cursor {
                starting_after: None,
                ending_before: Some(id_of(first).to_owned()),
                limit: Some(self.limit),
            })),
            _ => None,
        };
        ListEnvelope {
            object: "list".to_owned(),
            url: self.path.clone(),
            next_page_url,
            previous_page_url,
            data: rows,
        }
    }

    fn url(&self, cursor: Cursor) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &self.limit.to_string());
        for (key, value) in &self.params.0 {
            if key != "limit" && key != "page" {
                query.append_pair(key, value);
            }
        }
        query.append_pair("page", &cursor.encode());
        format!("{}?{}", self.path, query.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_ten_and_refuses_out_of_range_values() {
        assert_eq!(Params::parse(None).limit().unwrap(), 10);
        assert_eq!(Params::parse(Some("limit=100")).limit().unwrap(), 100);
        for bad in ["limit=0", "limit=101", "limit=ten", "limit=-1"] {
            assert!(Params::parse(Some(bad)).limit().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_invalid_pagination() {
        let cursor = Cursor { starting_after: Some("call_1".into()), ending_before: None, limit: Some(5) };
        let params = Params::parse(Some(&format!("page={}", cursor.encode())));
        assert_eq!(params.cursor().unwrap(), Some(cursor));
        assert!(matches!(Params::parse(Some("page=pg_8f2c1e")).cursor(), Err(ApiError::InvalidPagination)));
    }

    #[test]
    fn expand_values_are_matched_one_by_one() {
        let params = Params::parse(Some("expand%5B%5D=did&expand[]=user"));
        assert!(params.expands("did"));
        assert!(params.expands("user"));
        assert!(!Params::parse(Some("expand[]=did,user")).expands("did"));
    }
}
