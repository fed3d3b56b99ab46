//! Shared fixtures of the security suites: two tenants, every kind of credential, and the
//! victim's data seeded with distinctive "secret" strings that must never reach an attacker.
#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use ds_local::signalling::{SignallingConfig, Timers};
use serde_json::{Value, json};

use crate::common::{KEY, Platform, Reply};

/// Every secret string below contains this, so "did anything leak" is one `contains`.
pub const SECRET: &str = "VictimSecret";

/// Account B (the victim) with one of every resource, and account A (the attacker).
pub struct Tenants {
    pub platform: Platform,
    pub attacker_account: String,
    pub attacker_user: String,
    pub victim_account: String,
    /// The user whose private data (calls, voicemails, emergency address) is targeted.
    pub victim_user: String,
    /// A colleague of the victim in the same account (cross-user attacks).
    pub colleague: String,
    /// Path parameter name → the victim's id for the resource the path names (see [`Self::ids`]).
    pub ids: BTreeMap<&'static str, String>,
}

/// One credential an attacker may hold.
#[derive(Debug, Clone)]
pub struct Credential {
    pub name: &'static str,
    pub bearer: String,
    pub account_header: Option<String>,
}

impl Tenants {
    pub async fn seed() -> Self {
        // These suites send thousands of requests per credential on purpose; the limits have
        // their own suite (security_rate_limits.rs).
        let platform = Platform::with_config(ds_local::Config {
            rate_limits: ds_local::rate_limit::RateLimits::OFF,
            ..ds_local::Config::in_memory()
        })
        .await;
        // Click-to-call and call control need the hub; nothing here listens on a socket.
        ds_local::signalling::attach(
            &platform.state,
            SignallingConfig { media_ip: [127, 0, 0, 1].into(), timers: Timers::fast() },
        )
        .expect("signalling starts");
        let attacker_account = platform.create_account("attacker@evil.test").await;
        let attacker_user = platform.create_user(&attacker_account, "Mallory").await;
        let victim_account = platform.create_account("victim@clinic.test").await;
        let b = Some(victim_account.as_str());
        let must = |reply: Reply, what: &str| -> Value {
            assert!(reply.status.is_success(), "seeding {what}: {} {}", reply.status, reply.text);
            reply.body
        };
        let victim_user = must(
            platform
                .post("/v1/users", KEY, b, json!({ "name": "Zed VictimSecret", "extension": "201" }))
                .await,
            "victim user",
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let colleague = must(
            platform.post("/v1/users", KEY, b, json!({ "name": "Yan Colleague", "extension": "202" })).await,
            "colleague",
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let order = must(
            platform
                .post("/v1/phone-number-orders", KEY, b, json!({ "phone_numbers": ["+14155550123"] }))
                .await,
            "number order",
        );
        let numbers = must(platform.get("/v1/phone-numbers", KEY, b).await, "phone numbers");
        let did = numbers["data"][0]["id"].as_str().expect("the ordered number is listed").to_owned();
        let schedule = must(
            platform
                .post(
                    "/v1/schedules",
                    KEY,
                    b,
                    json!({ "name": "VictimSecret hours", "timezone": "America/New_York",
                            "ranges": [{ "day": 1, "start": "08:00", "end": "17:00" }] }),
                )
                .await,
            "schedule",
        );
        let plan = must(
            platform
                .post(
                    "/v1/dialplans",
                    KEY,
                    b,
                    json!({ "name": "VictimSecret plan", "entry_node": "bye",
                            "nodes": [{ "id": "bye", "type": "hang_up", "config": {} }] }),
                )
                .await,
            "dial plan",
        );
        let group = must(
            platform
                .post(
                    "/v1/ring_groups",
                    KEY,
                    b,
                    json!({ "name": "VictimSecret desk", "timeout_seconds": 15 }),
                )
                .await,
            "ring group",
        );
        let group_id = group["id"].as_str().unwrap().to_owned();
        let member = must(
            platform
                .post(
                    &format!("/v1/ring_groups/{group_id}/members"),
                    KEY,
                    b,
                    json!({ "extension": victim_user }),
                )
                .await,
            "ring group member",
        );
        let member_id = member["id"]
            .as_str()
            .or_else(|| member["members"][0]["id"].as_str())
            .or_else(|| member["data"][0]["id"].as_str())
            .unwrap_or_else(|| panic!("no member id in {member}"))
            .to_owned();
        let voice_app = must(
            platform
                .post(
                    "/v1/voice-apps",
                    KEY,
                    b,
                    json!({ "name": "VictimSecret app", "url": "http://127.0.0.1:9/victimsecret-app" }),
                )
                .await,
            "voice app",
        );
        let hook = must(
            platform
                .post(
                    "/v1/webhook_endpoints",
                    KEY,
                    b,
                    json!({ "url": "http://127.0.0.1:9/victimsecret-events", "description": "VictimSecret hook" }),
                )
                .await,
            "webhook endpoint",
        );
        let victim_token = platform.user_token(&victim_user).await;
        let address = must(
            platform
                .post(
                    "/v1/me/emergency-addresses",
                    &victim_token,
                    None,
                    json!({ "address_number": "7", "street": "VictimSecret St", "city": "Boston",
                            "state": "ma", "postal_code": "02110" }),
                )
                .await,
            "emergency address",
        );
        let now = platform.state.clock().now_ms();
        let call_id = "call_01victimsecretcall00000000";
        sqlx::query(
            "INSERT INTO calls (id, account_id, user_id, direction, from_number, to_number, started_at, ended_at, duration_seconds, status)
             VALUES (?, ?, ?, 'inbound', '+16195550199', '+14155550123', ?, ?, 30, 'completed')",
        )
        .bind(call_id)
        .bind(&victim_account)
        .bind(&victim_user)
        .bind(now - 60_000)
        .bind(now - 30_000)
        .execute(platform.state.db())
        .await
        .unwrap();
        let voicemail_id = "vm_01victimsecretvoicemail0000";
        sqlx::query(
            "INSERT INTO voicemails (id, account_id, owner, call_id, from_number, from_name, duration_seconds, format, audio, created_at)
             VALUES (?, ?, ?, ?, '+16195550199', 'VictimSecret caller', 3, 'wav', x'00', ?)",
        )
        .bind(voicemail_id)
        .bind(&victim_account)
        .bind(&victim_user)
        .bind(call_id)
        .bind(now)
        .execute(platform.state.db())
        .await
        .unwrap();
        let id_of = |value: &Value| value["id"].as_str().unwrap().to_owned();
        let ids = BTreeMap::from([
            ("/v1/accounts/{id}", victim_account.clone()),
            ("/v1/users/{id}", victim_user.clone()),
            ("/v1/calls/{id}", call_id.to_owned()),
            ("/v1/me/emergency-addresses/{id}", id_of(&address)),
            ("/v1/extensions/{number}", "201".to_owned()),
            ("/v1/phone-numbers/{id}", did),
            ("/v1/schedules/{id}", id_of(&schedule)),
            ("/v1/dialplans/{id}", id_of(&plan)),
            ("/v1/ring_groups/{id}", group_id),
            ("{member_id}", member_id),
            ("/v1/phone-number-orders/{id}", id_of(&order)),
            ("/v1/voicemails/{id}", voicemail_id.to_owned()),
            ("/v1/voice-apps/{id}", id_of(&voice_app)),
            ("/v1/webhook_endpoints/{id}", id_of(&hook)),
        ]);
        Self { platform, attacker_account, attacker_user, victim_account, victim_user, colleague, ids }
    }

    /// Fills every `{param}` of a table path with the victim's id of that resource; `None` when
    /// the suite has no fixture for it (the caller fails, so a new route cannot slip through).
    pub fn victim_path(&self, path: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}')? + open;
            let param = &rest[open..=close];
            let prefix = format!("{}{}{param}", out, &rest[..open]);
            let id = self.ids.get(prefix.as_str()).or_else(|| self.ids.get(param))?;
            out.push_str(&rest[..open]);
            out.push_str(id);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// What the attacker holds: the platform key pointed at its own account, its account session
    /// and a user token of its own user.
    pub async fn attacker_credentials(&self) -> Vec<Credential> {
        vec![
            Credential {
                name: "api key + DialStack-Account: attacker",
                bearer: KEY.to_owned(),
                account_header: Some(self.attacker_account.clone()),
            },
            Credential {
                name: "attacker account session",
                bearer: self.platform.session(&self.attacker_account).await,
                account_header: None,
            },
            Credential {
                name: "attacker user token",
                bearer: self.platform.user_token(&self.attacker_user).await,
                account_header: None,
            },
        ]
    }

    /// A colleague's token in the victim's own account (cross-user, same tenant).
    pub async fn colleague_credential(&self) -> Credential {
        Credential {
            name: "colleague user token",
            bearer: self.platform.user_token(&self.colleague).await,
            account_header: None,
        }
    }

    pub async fn send(
        &self,
        credential: &Credential,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.platform
            .call(method, path, Some(&credential.bearer), credential.account_header.as_deref(), body)
            .await
    }

    /// Every object of the victim, read with the platform key, as one JSON value: compared before
    /// and after an attack to prove nothing was changed or deleted.
    pub async fn victim_snapshot(&self) -> Value {
        let mut snapshot = serde_json::Map::new();
        for path in self.ids.keys() {
            if !path.starts_with('/') || path.contains("emergency") {
                continue;
            }
            let concrete = self.victim_path(path).unwrap();
            let reply = self.platform.get(&concrete, KEY, Some(&self.victim_account)).await;
            assert_eq!(reply.status, StatusCode::OK, "{concrete}: {}", reply.text);
            snapshot.insert(concrete, without_volatile_fields(reply.body));
        }
        let token = self.platform.user_token(&self.victim_user).await;
        let addresses = self.platform.get("/v1/me/emergency-addresses", &token, None).await;
        snapshot.insert("emergency-addresses".to_owned(), addresses.body["data"].clone());
        let members = self.platform.get("/v1/users", KEY, Some(&self.victim_account)).await;
        snapshot.insert("users".to_owned(), members.body["data"].clone());
        Value::Object(snapshot)
    }
}

/// Drops what changes on every read (signed media URLs and their expiry).
fn without_volatile_fields(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("audio_url");
        object.remove("audio_url_expires_at");
    }
    value
}

/// A body that names the victim's objects in every field a handler might trust.
pub fn hostile_body(tenants: &Tenants) -> Value {
    let b = &tenants.victim_user;
    json!({
        "user": b, "user_id": b, "from": b, "owner": b, "account": tenants.victim_account,
        "target": b, "extension": "201", "dial_string": "201", "to": "201",
        "name": "probe", "email": "probe@evil.test", "url": "https://evil.test/x",
        "phone_numbers": ["+14155550123"], "schedule_id": tenants.ids["/v1/schedules/{id}"],
        "members": [{ "user": b }], "is_read": true,
    })
}
