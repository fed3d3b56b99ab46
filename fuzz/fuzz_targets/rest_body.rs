//! REST bodies: every POST route of the route table, with the platform key and an existing
//! account, answers arbitrary bytes with a 2xx or a 4xx JSON error, never a 5xx or a panic.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    state: ds_local::AppState,
    account: String,
    posts: Vec<&'static str>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let (state, account) = runtime.block_on(async {
            let mut config = ds_local::Config::in_memory();
            config.rate_limits = ds_local::rate_limit::RateLimits::OFF;
            let state = ds_local::AppState::open(config).await.expect("ds-local opens");
            let request = Request::post("/v1/accounts")
                .header("authorization", "Bearer sk_test_local")
                .body(Body::from(r#"{"email":"fuzz@clinic.test"}"#))
                .unwrap();
            let response = ds_local::app(state.clone()).oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let account: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (state, account["id"].as_str().unwrap().to_owned())
        });
        let posts = ds_local::routes::table()
            .into_iter()
            .filter(|route| route.method == Method::POST && !route.path.contains('{'))
            .map(|route| route.path)
            .collect();
        World { runtime, state, account, posts }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&selector, body)) = data.split_first() else { return };
    let path = world.posts[selector as usize % world.posts.len()];
    let request = Request::post(path)
        .header("authorization", "Bearer sk_test_local")
        .header("dialstack-account", &world.account)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let status = world
        .runtime
        .block_on(ds_local::app(world.state.clone()).oneshot(request))
        .unwrap()
        .status();
    assert!(!status.is_server_error(), "POST {path} answered {status}");
});
