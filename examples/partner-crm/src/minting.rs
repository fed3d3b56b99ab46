//! Minting the browser's credentials with the platform API key, which only this backend holds
//! (protocol.md §3.2, §3.3): a user token for `<ds-softphone>` and an account session secret for
//! `<ds-call-history>` and `<ds-screen-pop>`.

use serde::Serialize;
use serde_json::{Value, json};

/// What the page's token endpoints answer: `token` is what the elements read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Minted {
    pub token: String,
    pub expires_at: Option<String>,
}

/// Why no token could be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("DialStack could not be reached: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("DialStack refused to mint ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("DialStack answered without a client_secret")]
    NoSecret,
}

/// A minting client for one account and one user.
#[derive(Debug, Clone)]
pub struct Minter {
    http: reqwest::Client,
    api_base: String,
    api_key: String,
    pub account: String,
    pub user: String,
}

/// User tokens for the page live an hour; the softphone refreshes in-band before expiry, so a
/// short life only limits the damage of a leaked token.
const USER_TOKEN_TTL_SECONDS: u64 = 3600;

impl Minter {
    pub fn new(api_base: &str, api_key: &str, account: &str, user: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("a default reqwest client builds"),
            api_base: api_base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            account: account.to_owned(),
            user: user.to_owned(),
        }
    }

    /// `POST /v1/user_sessions` for the signed-in staff member.
    pub async fn user_token(&self) -> Result<Minted, MintError> {
        self.mint("/v1/user_sessions", json!({ "user": self.user, "ttl_seconds": USER_TOKEN_TTL_SECONDS }))
            .await
    }

    /// `POST /v1/account_sessions` with the components this page embeds.
    pub async fn account_session(&self) -> Result<Minted, MintError> {
        let components = json!({ "call_history": { "enabled": true }, "call_logs": { "enabled": true } });
        self.mint("/v1/account_sessions", json!({ "account": self.account, "components": components })).await
    }

    async fn mint(&self, path: &str, body: Value) -> Result<Minted, MintError> {
        let response = self
            .http
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(MintError::Unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(MintError::Unreachable)?;
        if !status.is_success() {
            return Err(MintError::Refused { status: status.as_u16(), body: text });
        }
        let reply: Value = serde_json::from_str(&text).map_err(|_| MintError::NoSecret)?;
        let token = reply["client_secret"].as_str().filter(|t| !t.is_empty()).ok_or(MintError::NoSecret)?;
        Ok(Minted { token: token.to_owned(), expires_at: reply["expires_at"].as_str().map(str::to_owned) })
    }
}
