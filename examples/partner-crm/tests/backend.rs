//! The CRM backend against a real ds-local (in-process, demo seed, on 127.0.0.1:0), over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;

use partner_crm::{CrmConfig, DEMO_ACCOUNT, DEMO_ALICE, Minter};
use serde_json::Value;

/// A key no other test uses, so finding it anywhere in a response is unambiguous.
const PLATFORM_KEY: &str = "sk_test_crm_backend_only_7f3a";

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

struct World {
    platform: ds_local::AppState,
    api_base: String,
    crm: String,
    http: reqwest::Client,
    elements_dir: PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.elements_dir);
    }
}

/// A fake built bundle: the test is about serving it, not about its contents.
fn elements_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let dir = std::env::temp_dir().join(format!("partner-crm-elements-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.js"), "export * from './ds_elements.js';\n").unwrap();
    dir
}

async fn start_with_api_base(api_base: Option<String>) -> World {
    let config = ds_local::Config {
        demo: true,
        platform_keys: vec![PLATFORM_KEY.to_owned()],
        ..ds_local::Config::in_memory()
    };
    let platform = ds_local::AppState::open(config).await.expect("ds-local opens");
    let platform_addr = serve(ds_local::app(platform.clone())).await;
    let api_base = api_base.unwrap_or_else(|| format!("http://{platform_addr}"));
    let elements_dir = elements_dir();
    let crm = CrmConfig {
        minter: Minter::new(&api_base, PLATFORM_KEY, DEMO_ACCOUNT, DEMO_ALICE),
        browser_api_base: api_base.clone(),
        web_dir: CrmConfig::default_web_dir(),
        elements_dir: elements_dir.clone(),
    };
    let crm_addr = serve(partner_crm::app(crm)).await;
    World {
        platform,
        api_base,
        crm: format!("http://{crm_addr}"),
        http: reqwest::Client::new(),
        elements_dir,
    }
}

async fn start() -> World {
    start_with_api_base(None).await
}

impl World {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.crm)).send().await.unwrap()
    }

    async fn token(&self, path: &str, post: bool) -> String {
        let url = format!("{}{path}", self.crm);
        let request = if post { self.http.post(url) } else { self.http.get(url) };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert!(body["expires_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn demo_defaults_are_the_ids_ds_local_seeds() {
    let ids = ds_local::demo::ids();
    assert_eq!((ids.account.as_str(), ids.alice.as_str()), (DEMO_ACCOUNT, DEMO_ALICE));
}

#[tokio::test]
async fn user_token_endpoint_mints_a_user_token_for_the_signed_in_user_by_post_and_get() {
    let world = start().await;
    for post in [true, false] {
        let token = world.token("/api/tokens/user", post).await;
        let claims = world
            .platform
            .tokens()
            .verify_user_token(&token, world.platform.clock().now())
            .expect("a valid user token");
        assert_eq!((claims.user_id.as_str(), claims.account_id.as_str()), (DEMO_ALICE, DEMO_ACCOUNT));
        // At most an hour: the page's tokens are short-lived.
        assert!(claims.expires_at - claims.issued_at <= 3600);
    }
}

#[tokio::test]
async fn session_token_endpoint_mints_an_account_session_that_reads_the_call_log() {
    let world = start().await;
    let token = world.token("/api/tokens/session", true).await;
    let claims = world
        .platform
        .tokens()
        .verify_account_session(&token, world.platform.clock().now())
        .expect("a valid account session");
    assert_eq!(claims.account_id, DEMO_ACCOUNT);
    assert!(claims.components.contains(&"call_history".to_owned()));
    let calls = world
        .http
        .get(format!("{}/v1/calls?to_number=%2B16195550177", world.api_base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(calls.status(), 200);
}

#[tokio::test]
async fn the_platform_key_never_reaches_the_browser() {
    let world = start().await;
    for path in [
        "/",
        "/index.html",
        "/crm.js",
        "/crm.css",
        "/api/config",
        "/api/patients",
        "/api/tokens/user",
        "/api/tokens/session",
        "/elements/index.js",
    ] {
        let response = world.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.unwrap();
        assert!(!body.contains(PLATFORM_KEY) && !headers.contains(PLATFORM_KEY), "{path} leaks the key");
        assert!(!body.contains("sk_test_") && !body.contains("sk_live_"), "{path} mentions an API key");
    }
}

#[tokio::test]
async fn pages_carry_a_strict_csp_and_contain_no_inline_script_or_style() {
    let world = start().await;
    let page = world.get("/").await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains(" 'unsafe-eval'"), "{csp}");
    let socket = world.api_base.replacen("http://", "ws://", 1);
    assert!(csp.contains(&format!("connect-src 'self' {} {socket};", world.api_base)), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap().to_lowercase();
    let scripts = html.matches("<script").count();
    assert_eq!(scripts, 2, "the bundle and crm.js");
    assert_eq!(html.matches("<script type=\"module\" src=\"/").count(), scripts, "every script is a file");
    assert!(!html.contains("<style") && !html.contains(" style="), "no inline styles");
    assert!(!html.contains(" onclick=") && !html.contains(" onload=") && !html.contains("javascript:"));
    // JSON answers carry the policy too (it is set on every response).
    assert!(world.get("/api/config").await.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn config_tells_the_page_where_dialstack_is_and_who_is_signed_in() {
    let world = start().await;
    let config: Value = world.get("/api/config").await.json().await.unwrap();
    assert_eq!(config["api_base"], world.api_base.as_str());
    assert_eq!(config["user"], DEMO_ALICE);
    assert_eq!(config["account"], DEMO_ACCOUNT);
}

#[tokio::test]
async fn lookup_resolves_a_caller_number_to_the_patient() {
    let world = start().await;
    let found: Value = world.get("/api/patients/lookup?phone=%2B16195550177").await.json().await.unwrap();
    assert_eq!((found["found"].as_bool(), found["patient"]["name"].as_str()), (Some(true), Some("Jane Roe")));
    let patient: Value = world.get("/api/patients/pat_jane_roe").await.json().await.unwrap();
    assert_eq!(patient["phone"], "+16195550177");
    let unknown: Value = world.get("/api/patients/lookup?phone=%2B15551230000").await.json().await.unwrap();
    assert_eq!(unknown, serde_json::json!({ "found": false }));
    assert_eq!(world.get("/api/patients/lookup").await.status(), 400);
    assert_eq!(world.get("/api/patients/pat_nobody").await.status(), 404);
    let list: Value = world.get("/api/patients").await.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), partner_crm::patients::PATIENTS.len());
}

#[tokio::test]
async fn an_unreachable_platform_is_a_502_that_says_so_and_the_server_keeps_serving() {
    // A port that was free a moment ago: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let world = start_with_api_base(Some(format!("http://{closed}"))).await;
    let response = world.http.post(format!("{}/api/tokens/user", world.crm)).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("could not be reached"), "{body}");
    assert_eq!(world.get("/api/patients").await.status(), 200);
}

#[tokio::test]
async fn a_refused_mint_is_a_502_carrying_the_platform_error() {
    let world = start().await;
    // Same platform, but a CRM configured with a user that does not exist.
    let crm = CrmConfig {
        minter: Minter::new(&world.api_base, PLATFORM_KEY, DEMO_ACCOUNT, "user_01nobody0000000000000000"),
        browser_api_base: world.api_base.clone(),
        web_dir: CrmConfig::default_web_dir(),
        elements_dir: world.elements_dir.clone(),
    };
    let addr = serve(partner_crm::app(crm)).await;
    let response = world.http.post(format!("http://{addr}/api/tokens/user")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("refused to mint (404)"), "{body}");
}
