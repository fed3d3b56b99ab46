//! Security suite, forged and misused tokens: every route of `routes::table()` is called with
//! `alg: none` tokens, HS256 tokens keyed with the public key, expired, revoked, foreign-key and
//! tampered tokens (all 401), and with tokens of the wrong scope (401/403); the signalling socket
//! refuses the same tokens (protocol.md §3, §16.10).

mod common;
mod security_support;
mod signalling_support;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::KEY;
use ds_local::routes::{Access, table};
use hmac::{KeyInit, Mac};
use security_support::{Credential, Tenants};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims(sub: &str, account: &str, scope: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({ "iss": "ds-local", "sub": sub, "acct": account, "scope": scope, "iat": now,
                             "exp": now + 3600, "jti": "tok_01forgedforgedforgedforged0" });
    if scope == "account_session" {
        claims["components"] = json!({ "call_history": { "enabled": true } });
    }
    claims
}

fn unsigned(alg: &str, claims: &Value) -> String {
    let header = b64(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes());
    format!("{header}.{}.", b64(claims.to_string().as_bytes()))
}

fn hs256(key: &[u8], claims: &Value) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let signing_input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Every forgery the suite tries, named; none of them may open anything.
async fn forgeries(tenants: &Tenants) -> Vec<(&'static str, String)> {
    let state = &tenants.platform.state;
    let (user, account) = (&tenants.victim_user, &tenants.victim_account);
    let user_claims = claims(user, account, "user");
    let session_claims = claims(account, account, "account_session");
    let public_key = state.tokens().public_key();
    let jwk_x = state.tokens().jwks().keys[0].x.clone();
    let now = state.clock().now();
    let long_ago = now - chrono::Duration::days(2);
    let expired_user = state.tokens().mint_user(user, account, 60, long_ago).token;
    let expired_session = state.tokens().mint_account_session(account, Default::default(), long_ago).token;
    // A user token minted, then voided by revoke_sessions (its user is the attacker's own, so the
    // victim's tokens used elsewhere in the suite stay valid).
    let revoked = tenants.platform.user_token(&tenants.attacker_user).await;
    let revoke = tenants
        .platform
        .post(&format!("/v1/users/{}/revoke_sessions", tenants.attacker_user), KEY, None, json!({}))
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{}", revoke.text);
    // Signed with a real Ed25519 key, but not ds-local's.
    let foreign = ds_local::Tokens::load_or_create(None).unwrap().mint_user(user, account, 3600, now).token;
    // A genuine attacker token whose payload is swapped for the victim's: the signature no
    // longer matches.
    let genuine = tenants.platform.user_token(&tenants.colleague).await;
    let parts: Vec<&str> = genuine.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(user_claims.to_string().as_bytes()), parts[2]);
    vec![
        ("alg none, user claims", unsigned("none", &user_claims)),
        ("alg none, session claims", unsigned("none", &session_claims)),
        ("alg None (capitalised)", unsigned("None", &user_claims)),
        (
            "alg none without the trailing dot",
            unsigned("none", &user_claims).trim_end_matches('.').to_owned(),
        ),
        ("HS256 keyed with the raw public key", hs256(&public_key, &user_claims)),
        ("HS256 keyed with the JWK x string", hs256(jwk_x.as_bytes(), &user_claims)),
        ("HS256 session keyed with the public key", hs256(&public_key, &session_claims)),
        ("expired user token", expired_user),
        ("expired account session", expired_session),
        ("revoked user token", revoked),
        ("token signed by another Ed25519 key", foreign),
        ("tampered payload", tampered),
        ("empty JWT parts", "..".to_owned()),
        ("unknown API key", "sk_test_guessed".to_owned()),
        ("publishable key", "pk_test_local".to_owned()),
    ]
}

#[tokio::test]
async fn forged_expired_and_revoked_tokens_are_refused_with_401_on_every_route() {
    let tenants = Tenants::seed().await;
    let forged = forgeries(&tenants).await;
    let routes: Vec<_> = table().into_iter().filter(|r| r.access != Access::Public).collect();
    let mut checked = 0;
    for route in &routes {
        let path = tenants
            .victim_path(route.path)
            .or_else(|| (route.path == "/_ds/media/{token}").then(|| "/_ds/media/forged".to_owned()))
            .unwrap_or_else(|| {
                panic!("no fixture id for {} {}: add one to security_support", route.method, route.path)
            });
        for (name, token) in &forged {
            let body = (route.method == Method::POST).then(|| json!({}));
            let reply = tenants.platform.call(route.method.clone(), &path, Some(token), None, body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {path} with {name}: {}",
                route.method,
                reply.text
            );
            assert!(reply.body["error"].is_string() && reply.body.get("data").is_none(), "{}", reply.text);
            checked += 1;
        }
    }
    println!(
        "security figure: forged tokens: {checked} requests = {} routes × {} forgeries, all 401",
        routes.len(),
        forged.len()
    );
    // The victim's data survived every forged write.
    assert_eq!(
        tenants.platform.get("/v1/users", KEY, Some(&tenants.victim_account)).await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn tokens_of_the_wrong_scope_are_refused_on_every_route() {
    let tenants = Tenants::seed().await;
    let victim = &tenants.victim_account;
    let session = Credential {
        name: "account session",
        bearer: tenants.platform.session(victim).await,
        account_header: None,
    };
    let user = Credential {
        name: "user token",
        bearer: tenants.platform.user_token(&tenants.victim_user).await,
        account_header: None,
    };
    let mut checked = 0;
    for route in table() {
        // Which of the two token kinds this route must refuse (rest.md §2 credential matrix).
        let refused: Vec<&Credential> = match route.access {
            Access::Public => continue,
            // rest.md §2: an account session may read and update its own account.
            Access::PlatformOrOwnAccount => vec![&user],
            Access::Platform => vec![&session, &user],
            Access::Account => vec![&user],
            // rest.md §13.3: call control takes the platform key only.
            Access::AccountKey => vec![&session, &user],
            Access::AccountOrUser => vec![],
            Access::User => vec![&session],
        };
        // Paths into the token's own account: only the scope is wrong.
        let path = tenants
            .victim_path(route.path)
            .or_else(|| (route.path == "/_ds/media/{token}").then(|| "/_ds/media/x".to_owned()))
            .unwrap_or_else(|| panic!("no fixture id for {}", route.path));
        for credential in refused {
            let body = (route.method == Method::POST).then(|| json!({}));
            let reply = tenants.send(credential, route.method.clone(), &path, body).await;
            // The credential is checked before the body is parsed: an empty body that would
            // fail validation must not turn the refusal into a 400.
            assert!(
                reply.status == StatusCode::FORBIDDEN || reply.status == StatusCode::UNAUTHORIZED,
                "{} {path} with a {}: {} {}",
                route.method,
                credential.name,
                reply.status,
                reply.text
            );
            checked += 1;
        }
    }
    println!("security figure: wrong-scope tokens: {checked} requests refused, none by a body check first");
    assert!(checked > 40, "the table shrank unexpectedly: {checked}");
}

#[tokio::test]
async fn the_signalling_socket_refuses_forged_and_non_user_credentials() {
    let world = signalling_support::World::start().await;
    let state = &world.state;
    let now = state.clock().now();
    let user_claims = claims(&world.alice, &world.account, "user");
    let refused = [
        unsigned("none", &user_claims),
        hs256(&state.tokens().public_key(), &user_claims),
        state.tokens().mint_user(&world.alice, &world.account, 60, now - chrono::Duration::days(1)).token,
        state.tokens().mint_account_session(&world.account, Default::default(), now).token,
        ds_local::Tokens::load_or_create(None)
            .unwrap()
            .mint_user(&world.alice, &world.account, 3600, now)
            .token,
        KEY.to_owned(),
    ];
    for token in &refused {
        let mut client = signalling_support::Client::connect(world.addr).await;
        let reply = client.authenticate(token).await;
        assert_eq!(reply["type"], "error", "{reply}");
        assert!(reply["code"] == "auth_failed" || reply["code"] == "auth_expired", "{token}: {reply}");
        assert_eq!(reply["fatal"], true, "{reply}");
        assert!(client.closed().await);
    }
    println!("security figure: signalling socket: {} forged/wrong-scope credentials refused", refused.len());
}
