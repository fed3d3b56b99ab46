//! Session tokens issued by ds-local (protocol.md §3, §16.10): Ed25519-signed JWTs, the key
//! generated on first start and kept in the data dir.
//!
//! Verification pins `alg: EdDSA`, so neither `alg: none` nor an HS256 token "signed" with the
//! public key can pass; `exp` is checked against the caller's `now` with at most 30 s leeway.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ds_protocol::rest::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ids;

/// The `iss` claim of every token ds-local signs.
pub const ISSUER: &str = "ds-local";
/// Clock-skew allowance on `exp` (protocol.md §16.10: no leeway beyond 30 s).
pub const EXP_LEEWAY_SECONDS: i64 = 30;
/// Default user-token lifetime (protocol.md §10).
pub const USER_TOKEN_DEFAULT_TTL: i64 = 86_400;
/// Longest user-token lifetime accepted on `POST /v1/user_sessions`.
pub const USER_TOKEN_MAX_TTL: i64 = 604_800;
/// Account-session lifetime (protocol.md §3.3).
pub const ACCOUNT_SESSION_TTL: i64 = 3_600;

const SCOPE_USER: &str = "user";
const SCOPE_ACCOUNT_SESSION: &str = "account_session";
const KEY_FILE: &str = "jwt-ed25519.key";
/// PKCS#8 v1 prefix of an Ed25519 private key; the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Why a credential was refused. All of these are 401s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credential: send `Authorization: Bearer <credential>`")]
    Missing,
    #[error("unknown API key")]
    UnknownApiKey,
    #[error("invalid token")]
    InvalidToken,
    #[error("token expired")]
    Expired,
    #[error("token was revoked")]
    Revoked,
    #[error("this token is not valid for this use")]
    WrongScope,
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_credential",
            Self::UnknownApiKey => "invalid_api_key",
            Self::InvalidToken => "invalid_token",
            Self::Expired => "token_expired",
            Self::Revoked => "session_revoked",
            Self::WrongScope => "wrong_token_scope",
        }
    }
}

/// Errors while loading or creating the signing key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the signing key at {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the signing key file {0} is corrupt (expected 64 hex characters)")]
    Corrupt(String),
}

/// The JWT payload ds-local signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    acct: String,
    scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    components: Option<BTreeMap<String, ds_protocol::rest::ComponentToggle>>,
    iat: i64,
    exp: i64,
    jti: String,
}

/// A verified user token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    pub user_id: String,
    pub account_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub token_id: String,
}

impl UserClaims {
    /// When the token was minted, in milliseconds: from the token id (a ULID) when it is one, else
    /// the whole-second `iat`. Revocation compares against this instant.
    pub fn minted_ms(&self) -> i64 {
        ids::timestamp_ms(&self.token_id).unwrap_or(self.issued_at * 1000)
    }
}

/// A verified account session secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSessionClaims {
    pub account_id: String,
    /// Names of the components enabled in this session.
    pub components: Vec<String>,
    pub expires_at: i64,
}

/// A freshly minted token and its expiry (seconds since the epoch).
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub expires_at: i64,
}

/// Signs and verifies ds-local's tokens; remembers per-user revocation instants.
pub struct Tokens {
    signing: EncodingKey,
    verifying: DecodingKey,
    public_key: [u8; 32],
    key_id: String,
    /// user id → revocation instant (ms). Loaded from the database at start.
    revocations: RwLock<HashMap<String, i64>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Tokens {
    /// Loads the key from `data_dir` or creates it there; with no data dir, an ephemeral key.
    pub fn load_or_create(data_dir: Option<&Path>) -> Result<Self, KeyError> {
        let Some(dir) = data_dir else {
            return Ok(Self::from_seed(ids::random_bytes::<32>()));
        };
        let path = dir.join(KEY_FILE);
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::from_seed(
                parse_seed(text.trim()).ok_or_else(|| KeyError::Corrupt(path.display().to_string()))?,
            )),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let seed = ids::random_bytes::<32>();
                std::fs::write(&path, ids::hex(&seed)).map_err(io)?;
                restrict_permissions(&path).map_err(io)?;
                Ok(Self::from_seed(seed))
            }
            Err(error) => Err(io(error)),
        }
    }

    fn from_seed(seed: [u8; 32]) -> Self {
        let public_key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut pkcs8 = PKCS8_ED25519_PREFIX.to_vec();
        pkcs8.extend_from_slice(&seed);
        let key_id = ids::hex(&sha2_prefix(&public_key));
        Self {
            signing: EncodingKey::from_ed_der(&pkcs8),
            verifying: DecodingKey::from_ed_der(&public_key),
            public_key,
            key_id,
            revocations: RwLock::new(HashMap::new()),
        }
    }

    /// The public key as a JWK set (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![Jwk {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: URL_SAFE_NO_PAD.encode(self.public_key),
                kid: self.key_id.clone(),
                alg: "EdDSA".to_owned(),
                key_use: "sig".to_owned(),
            }],
        }
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    pub fn mint_user(&self, user_id: &str, account_id: &str, ttl_seconds: i64, now: DateTime<Utc>) -> Minted {
        self.mint(user_id, account_id, SCOPE_USER, None, ttl_seconds, now)
    }

    pub fn mint_account_session(
        &self,
        account_id: &str,
        components: BTreeMap<String, ds_protocol::rest::ComponentToggle>,
        now: DateTime<Utc>,
    ) -> Minted {
        self.mint(account_id, account_id, SCOPE_ACCOUNT_SESSION, Some(components), ACCOUNT_SESSION_TTL, now)
    }

    fn mint(
        &self,
        subject: &str,
        account_id: &str,
        scope: &str,
        components: Option<BTreeMap<String, ds_protocol::rest::ComponentToggle>>,
        ttl_seconds: i64,
        now: DateTime<Utc>,
    ) -> Minted {
        let iat = now.timestamp();
        // A token minted in the same millisecond as a revocation must outlive it, and one
        // minted before it must not: give new tokens an instant strictly after the revocation.
        let minted_ms = match self.revoked_at(subject) {
            Some(revoked_at) => now.timestamp_millis().max(revoked_at + 1),
            None => now.timestamp_millis(),
        };
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.to_owned(),
            acct: account_id.to_owned(),
            scope: scope.to_owned(),
            components,
            iat,
            exp: iat + ttl_seconds,
            // The token id carries the mint instant in milliseconds, which revocation compares
            // against (the `iat` claim only has whole seconds).
            jti: ids::new_id("tok", minted_ms),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key_id.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)
            .expect("signing with a well-formed Ed25519 PKCS#8 key cannot fail");
        Minted { token, expires_at: claims.exp }
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        // `exp` is checked below against the passed-in `now`, not the system clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.verifying, &validation)
            .map_err(|_| AuthError::InvalidToken)?;
        if data.header.alg != Algorithm::EdDSA {
            return Err(AuthError::InvalidToken);
        }
        let claims = data.claims;
        if claims.exp + EXP_LEEWAY_SECONDS < now.timestamp() {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }

    /// Verifies a user token (signalling, `/v1/me/*`, ICE servers): signature, `exp`, scope and
    /// revocation. Reusable by every surface that accepts user tokens.
    pub fn verify_user_token(&self, token: &str, now: DateTime<Utc>) -> Result<UserClaims, AuthError> {
        let claims = self.verify(token, now)?;
        if claims.scope != SCOPE_USER || !claims.sub.starts_with("user_") {
            return Err(AuthError::WrongScope);
        }
        let claims = UserClaims {
            user_id: claims.sub,
            account_id: claims.acct,
            issued_at: claims.iat,
            expires_at: claims.exp,
            token_id: claims.jti,
        };
        if self.is_revoked(&claims.user_id, claims.minted_ms()) {
            return Err(AuthError::Revoked);
        }
        Ok(claims)
    }

    /// Whether a token of `user_id` minted at `minted_ms` has been revoked since. Cheap (a map
    /// lookup, no signature check): live signalling sessions ask it every second, with the
    /// instant they kept from verifying their token once.
    pub fn is_revoked(&self, user_id: &str, minted_ms: i64) -> bool {
        self.revoked_at(user_id).is_some_and(|revoked_at| minted_ms <= revoked_at)
    }

    /// Verifies an account session secret (component REST, `/v1/events`).
    pub fn verify_account_session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccountSessionClaims, AuthError> {
        let claims = self.verify(token, now)?;
        if claims.scope != SCOPE_ACCOUNT_SESSION || !claims.acct.starts_with("acct_") {
            return Err(AuthError::WrongScope);
        }
        let components = claims
            .components
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, toggle)| toggle.enabled)
            .map(|(name, _)| name)
            .collect();
        Ok(AccountSessionClaims { account_id: claims.acct, components, expires_at: claims.exp })
    }

    /// Either kind of token, told apart by its `scope` claim.
    pub fn verify_any(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, AuthError> {
        match self.verify_user_token(token, now) {
            Ok(user) => Ok(VerifiedToken::User(user)),
            Err(AuthError::WrongScope) => {
                self.verify_account_session(token, now).map(VerifiedToken::AccountSession)
            }
            Err(other) => Err(other),
        }
    }

    fn revoked_at(&self, user_id: &str) -> Option<i64> {
        self.revocations
            .read()
            .expect("revocation lock is never poisoned: no code panics while holding it")
            .get(user_id)
            .copied()
    }

    /// Records that every token of `user_id` minted up to `at_ms` is void.
    pub fn revoke_user(&self, user_id: &str, at_ms: i64) {
        self.revocations
            .write()
            .expect("revocation lock is never poisoned: no code panics while holding it")
            .insert(user_id.to_owned(), at_ms);
    }
}

/// A verified token of either kind.
#[derive(Debug, Clone)]
pub enum VerifiedToken {
    User(UserClaims),
    AccountSession(AccountSessionClaims),
}

fn parse_seed(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(seed)
}

fn sha2_prefix(bytes: &[u8]) -> [u8; 8] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    prefix
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-09-01T14:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_minted_user_token_verifies_with_its_claims() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let minted = tokens.mint_user("user_a", "acct_a", 60, now());
        let claims = tokens.verify_user_token(&minted.token, now()).unwrap();
        assert_eq!(claims.user_id, "user_a");
        assert_eq!(claims.account_id, "acct_a");
        assert_eq!(claims.expires_at, now().timestamp() + 60);
    }

    #[test]
    fn expiry_allows_thirty_seconds_of_skew_and_no_more() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let minted = tokens.mint_user("user_a", "acct_a", 60, now());
        let later = |s| now() + chrono::Duration::seconds(s);
        assert!(tokens.verify_user_token(&minted.token, later(90)).is_ok());
        assert_eq!(tokens.verify_user_token(&minted.token, later(91)), Err(AuthError::Expired));
    }

    #[test]
    fn an_account_session_is_not_a_user_token() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let minted = tokens.mint_account_session("acct_a", BTreeMap::new(), now());
        assert_eq!(tokens.verify_user_token(&minted.token, now()), Err(AuthError::WrongScope));
        assert!(tokens.verify_account_session(&minted.token, now()).is_ok());
    }

    #[test]
    fn the_key_persists_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let first = Tokens::load_or_create(Some(dir.path())).unwrap();
        let minted = first.mint_user("user_a", "acct_a", 60, now());
        let second = Tokens::load_or_create(Some(dir.path())).unwrap();
        assert!(second.verify_user_token(&minted.token, now()).is_ok());
    }
}
