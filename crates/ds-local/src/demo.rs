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
