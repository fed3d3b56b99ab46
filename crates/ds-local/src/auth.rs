//! Who is calling: credential kind, account and user (protocol.md §3, rest.md §1.2).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::AppState;
use crate::error::ApiError;
use crate::tokens::{AccountSessionClaims, AuthError, UserClaims, VerifiedToken};

/// The three credential kinds ds-local accepts on REST.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A platform API key; `livemode` is true for `sk_live_…`.
    ApiKey {
        livemode: bool,
    },
    AccountSession(AccountSessionClaims),
    User(UserClaims),
}

/// The verified caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Credential,
    /// The `DialStack-Account` header, if sent.
    pub account_header: Option<String>,
}

/// The account (and, for user tokens, the user) a request acts within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountScope {
    pub account_id: String,
    /// Set when the caller is a user token: reads are limited to this user's data.
    pub user_id: Option<String>,
}

/// The bearer credential of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credential) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credential.trim()).filter(|c| !c.is_empty())
}

/// The `DialStack-Account` header, trimmed; absent when empty.
pub fn account_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("dialstack-account")
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

impl Caller {
    /// Verifies a raw credential string (an API key or one of ds-local's tokens).
    pub fn from_credential(
        state: &AppState,
        credential: &str,
        account_header: Option<String>,
    ) -> Result<Self, AuthError> {
        let credential = if credential.starts_with("sk_test_") || credential.starts_with("sk_live_") {
            if !state.config().platform_keys.iter().any(|key| key == credential) {
                return Err(AuthError::UnknownApiKey);
            }
            Credential::ApiKey { livemode: credential.starts_with("sk_live_") }
        } else {
            match state.tokens().verify_any(credential, state.clock().now())? {
                VerifiedToken::User(user) => Credential::User(user),
                VerifiedToken::AccountSession(session) => Credential::AccountSession(session),
            }
        };
        Ok(Self { credential, account_header })
    }

    /// Platform-level routes (accounts, sessions, revocation, `/_ds`): API keys only.
    pub fn require_platform(&self) -> Result<bool, ApiError> {
        match self.credential {
            Credential::ApiKey { livemode } => Ok(livemode),
            _ => Err(ApiError::forbidden("platform_key_required", "this endpoint needs a platform API key")),
        }
    }

    /// Account-scoped routes. API keys name the account in `DialStack-Account`; tokens carry it.
    /// User tokens are refused unless `allow_user` (then reads are limited to that user).
    pub async fn account(&self, state: &AppState, allow_user: bool) -> Result<AccountScope, ApiError> {
        let scope = match &self.credential {
            Credential::ApiKey { .. } => {
                let account_id = self.account_header.clone().ok_or(ApiError::AccountHeaderRequired)?;
                if !account_exists(state, &account_id).await? {
                    // rest.md §1.2: an account the key cannot reach is a 403, not a 404.
                    return Err(ApiError::forbidden(
                        "account_not_accessible",
                        format!("no access to account {account_id}"),
                    ));
                }
                return Ok(AccountScope { account_id, user_id: None });
            }
            Credential::AccountSession(session) => {
                AccountScope { account_id: session.account_id.clone(), user_id: None }
            }
            Credential::User(user) => {
                if !allow_user {
                    return Err(ApiError::forbidden(
                        "user_token_not_allowed",
                        "a user token cannot call this endpoint",
                    ));
                }
                AccountScope { account_id: user.account_id.clone(), user_id: Some(user.user_id.clone()) }
            }
        };
        // protocol.md §3.5 [open]: a header matching the token's account is ignored; another → 403.
        if let Some(header) = &self.account_header
            && header != &scope.account_id
        {
            return Err(ApiError::forbidden(
                "account_mismatch",
                "DialStack-Account names another account than the token",
            ));
        }
        // A token outlives nothing: a deleted account or user voids it.
        if !account_exists(state, &scope.account_id).await? {
            return Err(AuthError::InvalidToken.into());
        }
        if let Some(user_id) = &scope.user_id
            && !user_exists(state, &scope.account_id, user_id).await?
        {
            return Err(AuthError::InvalidToken.into());
        }
        Ok(scope)
    }

    /// `/v1/me/*` and ICE servers: user tokens only.
    pub async fn user(&self, state: &AppState) -> Result<AccountScope, ApiError> {
        if !matches!(self.credential, Credential::User(_)) {
            return Err(ApiError::forbidden("user_token_required", "this endpoint needs a user token"));
        }
        self.account(state, true).await
    }

    /// Whether this credential's kind may call a route of `access` at all. The router checks it
    /// before the handler runs, so a wrong credential is a 403 even when the body is also bad
    /// (the body is only parsed for callers who may send it). Account and user existence are
    /// checked later by [`Caller::account`], which needs the database.
    pub fn admits(&self, access: crate::routes::Access) -> Result<(), ApiError> {
        use crate::routes::Access;
        match access {
            Access::Public => Ok(()),
            Access::Platform => self.require_platform().map(|_| ()),
            Access::PlatformOrOwnAccount => match self.credential {
                Credential::User(_) => Err(ApiError::forbidden(
                    "user_token_not_allowed",
                    "a user token cannot call this endpoint",
                )),
                _ => Ok(()),
            },
            Access::AccountKey => match self.credential {
                Credential::ApiKey { .. } if self.account_header.is_none() => {
                    Err(ApiError::AccountHeaderRequired)
                }
                Credential::ApiKey { .. } => Ok(()),
                _ => Err(ApiError::forbidden(
                    "platform_key_required",
                    "this endpoint needs a platform API key",
                )),
            },
            Access::User => match self.credential {
                Credential::User(_) => Ok(()),
                _ => Err(ApiError::forbidden("user_token_required", "this endpoint needs a user token")),
            },
            Access::Account | Access::AccountOrUser => match self.credential {
                Credential::User(_) if access == Access::Account => Err(ApiError::forbidden(
                    "user_token_not_allowed",
                    "a user token cannot call this endpoint",
                )),
                Credential::ApiKey { .. } if self.account_header.is_none() => {
                    Err(ApiError::AccountHeaderRequired)
                }
                _ => Ok(()),
            },
        }
    }

    /// `sk_test_` vs `sk_live_` for API keys; tokens act in test mode.
    pub fn livemode(&self) -> bool {
        matches!(self.credential, Credential::ApiKey { livemode: true })
    }
}

async fn account_exists(state: &AppState, account_id: &str) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_one(state.db())
        .await?
        > 0)
}

async fn user_exists(state: &AppState, account_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE id = ? AND account_id = ?")
        .bind(user_id)
        .bind(account_id)
        .fetch_one(state.db())
        .await?
        > 0)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The router's access check verified the credential already: one signature check per request.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let credential = bearer(&parts.headers).ok_or(AuthError::Missing)?;
        Ok(Self::from_credential(state, credential, account_header(&parts.headers))?)
    }
}
