//! The few DialStack REST calls the seed makes, with the platform API key (backend only).
//!
//! Deliberately independent of this repository's wire crates: a partner writes exactly this
//! against the public REST surface.

use serde::Deserialize;
use serde_json::{Value, json};

/// A REST call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {path} answered {status}: {body}")]
    Status { method: &'static str, path: String, status: u16, body: String },
    #[error("{method} {path} failed: {source}")]
    Transport {
        method: &'static str,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {path} answered a body without {field}")]
    MissingField { method: &'static str, path: String, field: &'static str },
}

/// A platform client: API base (e.g. `http://127.0.0.1:8787`) and the `sk_…` key.
#[derive(Debug, Clone)]
pub struct DialStack {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// A registered webhook endpoint; `secret` is only ever returned on creation.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub secret: String,
}

impl DialStack {
    pub fn new(api_base: &str, api_key: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("a default reqwest client builds"),
            base: api_base.trim_end_matches('/').to_owned(),
            key: api_key.to_owned(),
        }
    }

    /// `ds.accounts.create({ email })` → the account id.
    pub async fn create_account(&self, email: &str) -> Result<String, ApiError> {
        let reply = self.send("POST", "/v1/accounts", None, Some(json!({ "email": email }))).await?;
        id_of(&reply, "POST", "/v1/accounts")
    }

    /// `ds.users.create({ name }, { dialstackAccount })` → the user id.
    pub async fn create_user(&self, account: &str, name: &str) -> Result<String, ApiError> {
        let reply = self.send("POST", "/v1/users", Some(account), Some(json!({ "name": name }))).await?;
        id_of(&reply, "POST", "/v1/users")
    }

    /// `ds.calls.create({ from: user, to }, { dialstackAccount })`: the user's devices ring
    /// first, the destination is dialled once they answer. Returns the call id.
    pub async fn create_call(&self, account: &str, user: &str, to: &str) -> Result<String, ApiError> {
        let body = json!({ "from": user, "to": to });
        let reply = self.send("POST", "/v1/calls", Some(account), Some(body)).await?;
        id_of(&reply, "POST", "/v1/calls")
    }

    /// Registers `url` for `events`, scoped to `account` (only its events are delivered).
    pub async fn create_webhook_endpoint(
        &self,
        account: &str,
        url: &str,
        events: &[&str],
    ) -> Result<WebhookEndpoint, ApiError> {
        let body = json!({ "url": url, "enabled_events": events, "description": "click-to-call example" });
        let reply = self.send("POST", "/v1/webhook_endpoints", Some(account), Some(body)).await?;
        serde_json::from_value(reply).map_err(|_| ApiError::MissingField {
            method: "POST",
            path: "/v1/webhook_endpoints".to_owned(),
            field: "id and secret",
        })
    }

    /// Removes an endpoint, so a stopped example leaves no dead URL behind being retried.
    pub async fn delete_webhook_endpoint(&self, account: &str, id: &str) -> Result<(), ApiError> {
        self.send("DELETE", &format!("/v1/webhook_endpoints/{id}"), Some(account), None).await.map(drop)
    }

    /// Any call, for things this client has no method for. Returns the JSON body (`Null` when
    /// empty).
    pub async fn send(
        &self,
        method: &'static str,
        path: &str,
        account: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "POST" => self.http.post(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.get(&url),
        }
        .bearer_auth(&self.key);
        if let Some(account) = account {
            request = request.header("DialStack-Account", account);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let transport = |source| ApiError::Transport { method, path: path.to_owned(), source };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(ApiError::Status {
                method,
                path: path.to_owned(),
                status: status.as_u16(),
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn id_of(reply: &Value, method: &'static str, path: &str) -> Result<String, ApiError> {
    reply["id"].as_str().map(str::to_owned).ok_or(ApiError::MissingField {
        method,
        path: path.to_owned(),
        field: "id",
    })
}
