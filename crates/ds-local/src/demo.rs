//! `--demo`: one account with two users, seeded idempotently with stable ids so demo pages can
//! refer to them.

use ds_protocol::rest::{CreateAccountRequest, CreateUserRequest};
use sqlx::SqlitePool;

use crate::ids::derived_id;
use crate::{StartError, routes};

/// The seeded objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    pub account: String,
    pub alice: String,
    pub bob: String,
}

pub fn ids() -> DemoIds {
    DemoIds {
        account: derived_id("acct", "demo:jones-chiropractic"),
        alice: derived_id("user", "demo:alice-smith"),
        bob: derived_id("user", "demo:bob-jones"),
    }
}

/// Creates whatever of the demo is missing.
pub async fn seed(db: &SqlitePool, now: i64) -> Result<DemoIds, StartError> {
    let ids = ids();
    let has_account: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id = ?")
        .bind(&ids.account)
        .fetch_one(db)
        .await?;
    if has_account == 0 {
        let request = CreateAccountRequest {
            email: Some("contact@joneschiro.com".to_owned()),
            primary_contact_name: Some("Jones Chiropractic".to_owned()),
            ..CreateAccountRequest::default()
        };
        routes::accounts::insert(db, &ids.account, &request, false, now).await.map_err(demo_error)?;
    }
    for (id, name, email, extension) in [
        (&ids.alice, "Alice Smith", "alice@joneschiro.com", "101"),
        (&ids.bob, "Bob Jones", "bob@joneschiro.com", "102"),
    ] {
        let exists: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ?").bind(id).fetch_one(db).await?;
        if exists == 0 {
            let request = CreateUserRequest {
                name: Some(name.to_owned()),
                email: Some(email.to_owned()),
                extension: Some(extension.to_owned()),
            };
            routes::users::insert(db, &ids.account, id, &request, now).await.map_err(demo_error)?;
        }
    }
    Ok(ids)
}

fn demo_error(error: crate::ApiError) -> StartError {
    match error {
        crate::ApiError::Database(error) => StartError::Database(error),
        other => StartError::Demo(other.to_string()),
    }
}

/// What `ds-local --demo` prints after the listening line.
pub fn instructions(base_url: &str, platform_key: &str) -> String {
    let ids = ids();
    format!(
        "demo account: {account} (Jones Chiropractic, contact@joneschiro.com)\n\
         demo users:   {alice} (Alice Smith, ext 101)\n              {bob} (Bob Jones, ext 102)\n\
         user token:   curl -s -X POST {base_url}/v1/user_sessions -H 'Authorization: Bearer {platform_key}' \
         -H 'Content-Type: application/json' -d '{{\"user\":\"{alice}\"}}'\n\
         session:      curl -s -X POST {base_url}/v1/account_sessions -H 'Authorization: Bearer {platform_key}' \
         -H 'Content-Type: application/json' -d '{{\"account\":\"{account}\",\"components\":{{\"call_history\":{{\"enabled\":true}}}}}}'",
        account = ids.account,
        alice = ids.alice,
        bob = ids.bob,
    )
}

/// Lifetime of the demo's user tokens: the softphone refreshes in-band before expiry anyway.
const DEMO_USER_TOKEN_TTL: i64 = 3600;

/// `GET|POST /_ds/demo/tokens/{alice|bob|session}` — merged into the app only with `--demo`.
///
/// The hosted softphone and the demo pages sign in here instead of through a partner backend,
/// so `cargo xtask demo` needs no backend of its own. It mints only for the seeded demo
/// account: a user token for Alice or Bob, or an account session with every component. A real
/// deployment has no such route; partners mint with their API key (protocol.md §3.2, §3.3), as
/// `examples/partner-crm` shows.
pub fn token_router() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/_ds/demo/tokens/{who}", axum::routing::get(demo_token).post(demo_token))
}

async fn demo_token(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    axum::extract::Path(who): axum::extract::Path<String>,
) -> Result<axum::response::Response, crate::ApiError> {
    use axum::response::IntoResponse;
    let ids = ids();
    let now = state.clock().now();
    let (minted, user) = match who.as_str() {
        "alice" | "bob" => {
            let user = if who == "alice" { ids.alice } else { ids.bob };
            (state.tokens().mint_user(&user, &ids.account, DEMO_USER_TOKEN_TTL, now), Some(user))
        }
        "session" => {
            let components = [
                "call_history",
                "call_logs",
                "voicemails",
                "phone_numbers",
                "dial_plan",
                "account_onboarding",
            ]
            .into_iter()
            .map(|name| (name.to_owned(), ds_protocol::rest::ComponentToggle { enabled: true }))
            .collect();
            (state.tokens().mint_account_session(&ids.account, components, now), None)
        }
        _ => return Err(crate::ApiError::not_found("demo identity (alice, bob or session)", who)),
    };
    let body = serde_json::json!({
        "token": minted.token,
        "client_secret": minted.token,
        "expires_at": crate::clock::iso(minted.expires_at * 1000),
        "account": ids.account,
        "user": user,
    });
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::{AppState, Config};

    async fn request(state: &AppState, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let response = crate::app(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn demo_token_endpoint_mints_for_alice_bob_and_an_account_session() {
        let state = AppState::open(Config { demo: true, ..Config::in_memory() }).await.unwrap();
        let ids = super::ids();
        for (who, user, method) in [("alice", &ids.alice, Method::POST), ("bob", &ids.bob, Method::GET)] {
            let (status, body) = request(&state, method, &format!("/_ds/demo/tokens/{who}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let claims =
                state.tokens().verify_user_token(body["token"].as_str().unwrap(), state.clock().now());
            let claims = claims.expect("a valid user token");
            assert_eq!((&claims.user_id, &claims.account_id), (user, &ids.account));
        }
        let (status, body) = request(&state, Method::POST, "/_ds/demo/tokens/session").await;
        assert_eq!(status, StatusCode::OK);
        let claims = state
            .tokens()
            .verify_account_session(body["token"].as_str().unwrap(), state.clock().now())
            .expect("a valid account session");
        assert_eq!(claims.account_id, ids.account);
        assert!(claims.components.iter().any(|c| c == "call_history"));
    }

    #[tokio::test]
    async fn demo_token_endpoint_refuses_other_names_and_does_not_exist_without_demo() {
        let demo = AppState::open(Config { demo: true, ..Config::in_memory() }).await.unwrap();
        let (status, body) = request(&demo, Method::POST, "/_ds/demo/tokens/mallory").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(body["error"].is_string());
        let plain = AppState::open(Config::in_memory()).await.unwrap();
        for who in ["alice", "session"] {
            let (status, _) = request(&plain, Method::POST, &format!("/_ds/demo/tokens/{who}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
    }
}
