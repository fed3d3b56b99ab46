//! ds-local's REST API, as a partner backend uses it: accounts, users with extensions, tokens.

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

use crate::Target;

/// How many REST requests run at once while preparing a load.
const PARALLEL_REQUESTS: usize = 16;

#[derive(Clone)]
pub struct Platform {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// One user of the load account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub extension: String,
}

impl Platform {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&target.base).context("--base is not a URL")?;
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let loopback =
            host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            bail!("ds-loadgen only loads a ds-local on loopback, not {}", target.base);
        }
        Ok(Self {
            http: reqwest::Client::new(),
            base: target.base.trim_end_matches('/').to_owned(),
            key: target.platform_key.clone(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn post(&self, path: &str, account: Option<&str>, body: Value) -> anyhow::Result<Value> {
        let mut request = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.key).json(&body);
        if let Some(account) = account {
            request = request.header("DialStack-Account", account);
        }
        let response = request.send().await.with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path} answered {status}: {body}");
        }
        Ok(body)
    }

    pub async fn create_account(&self, label: &str) -> anyhow::Result<String> {
        let body = self.post("/v1/accounts", None, json!({ "email": format!("{label}@bench.test") })).await?;
        body["id"].as_str().map(str::to_owned).context("account without id")
    }

    /// `count` users with extensions `first_extension..`, created a few at a time.
    pub async fn create_users(
        &self,
        account: &str,
        count: usize,
        first_extension: usize,
    ) -> anyhow::Result<Vec<User>> {
        stream::iter(0..count)
            .map(|i| async move {
                let extension = (first_extension + i).to_string();
                let body = self
                    .post(
                        "/v1/users",
                        Some(account),
                        json!({ "name": format!("Bench {extension}"), "extension": extension }),
                    )
                    .await?;
                let id = body["id"].as_str().context("user without id")?.to_owned();
                anyhow::Ok(User { id, extension })
            })
            .buffered(PARALLEL_REQUESTS)
            .try_collect()
            .await
    }

    /// A user token (`client_secret`) for `user`.
    pub async fn token(&self, user: &str) -> anyhow::Result<String> {
        let body = self.post("/v1/user_sessions", None, json!({ "user": user })).await?;
        body["client_secret"].as_str().map(str::to_owned).context("user session without client_secret")
    }

    /// One token per entry of `users` (a user may appear several times), a few at a time.
    pub async fn tokens(&self, users: &[String]) -> anyhow::Result<Vec<String>> {
        stream::iter(users.iter()).map(|u| self.token(u)).buffered(PARALLEL_REQUESTS).try_collect().await
    }
}
