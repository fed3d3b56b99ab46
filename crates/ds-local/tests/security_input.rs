//! Security suite, hostile input: SQL metacharacters in every filter of every list route,
//! oversized bodies on every POST route (JSON 413), oversized, garbage and never-finished frames
//! on the signalling socket, and slow-loris connections; the server answers throughout.

mod common;
mod security_support;
mod signalling_support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::KEY;
use ds_local::routes::{Access, table};
use security_support::{Credential, SECRET, Tenants};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every query parameter a list handler reads (grep `params.get` / `first_of` in routes/), plus
/// the pagination ones; unknown names are harmless and cost nothing.
const FILTERS: [&str; 18] = [
    "user_id",
    "user",
    "did",
    "owner",
    "direction",
    "is_read",
    "from_number",
    "to_number",
    "from_date",
    "to_date",
    "from",
    "to",
    "status",
    "search",
    "target",
    "page",
    "limit",
    "expand[]",
];

const SQL_PAYLOADS: [&str; 9] = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "'; DROP TABLE calls; --",
    "1; DELETE FROM users",
    "%' OR '%'='",
    "') UNION SELECT id, account_id, name, 1, 1, 1, 1, 1, 1, 1, 1 FROM users --",
    "\\'; SELECT sqlite_version(); --",
    "acct_%",
];

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn sql_metacharacters_in_every_filter_are_inert() {
    let tenants = Tenants::seed().await;
    let before = tenants.victim_snapshot().await;
    let mut credentials = tenants.attacker_credentials().await;
    credentials.push(tenants.colleague_credential().await);
    let lists: Vec<_> = table()
        .into_iter()
        .filter(|r| r.method == Method::GET && r.access != Access::Public && !r.path.contains('{'))
        .filter(|r| r.path != "/v1/events")
        .collect();
    let mut requests = 0;
    for route in &lists {
        for credential in &credentials {
            for filter in FILTERS {
                for payload in SQL_PAYLOADS {
                    let path = format!("{}?{}={}", route.path, encode(filter), encode(payload));
                    let reply = tenants.send(credential, Method::GET, &path, None).await;
                    let what = format!("{path} with {}", credential.name);
                    assert!(!reply.status.is_server_error(), "{what}: {} {}", reply.status, reply.text);
                    if credential.name != "colleague user token" {
                        assert!(!reply.text.contains(SECRET), "{what} leaked: {}", reply.text);
                    }
                    assert!(!reply.text.contains("+16195550199"), "{what} leaked: {}", reply.text);
                    assert!(!reply.text.to_lowercase().contains("sqlite"), "{what}: {}", reply.text);
                    requests += 1;
                }
            }
        }
    }
    println!(
        "security figure: SQL metacharacters: {requests} requests = {} list routes × {} credentials × {} filters × {} payloads, 0 errors, 0 leaks",
        lists.len(),
        credentials.len(),
        FILTERS.len(),
        SQL_PAYLOADS.len()
    );
    assert_eq!(tenants.victim_snapshot().await, before, "a payload changed the victim's data");
}

/// The credential the victim itself would use on a route of this access kind.
async fn owner_credential(tenants: &Tenants, access: Access) -> Credential {
    match access {
        Access::Platform | Access::PlatformOrOwnAccount | Access::Public => {
            Credential { name: "api key", bearer: KEY.into(), account_header: None }
        }
        Access::Account | Access::AccountOrUser | Access::AccountKey => Credential {
            name: "api key + account",
            bearer: KEY.into(),
            account_header: Some(tenants.victim_account.clone()),
        },
        Access::User => Credential {
            name: "user token",
            bearer: tenants.platform.user_token(&tenants.victim_user).await,
            account_header: None,
        },
    }
}

#[tokio::test]
async fn oversized_bodies_get_a_json_413_on_every_route_that_reads_one() {
    let tenants = Tenants::seed().await;
    let oversized = format!("{{\"name\":\"{}\"}}", "x".repeat(ds_local::BODY_LIMIT_BYTES + 1));
    let mut refused = 0;
    let mut bodiless = 0;
    for route in table().into_iter().filter(|r| r.method == Method::POST) {
        let credential = owner_credential(&tenants, route.access).await;
        let path = tenants.victim_path(route.path).unwrap_or_else(|| panic!("no fixture for {}", route.path));
        let request = |body: String| {
            let mut builder = axum::http::Request::builder()
                .method(Method::POST)
                .uri(&path)
                .header("authorization", format!("Bearer {}", credential.bearer))
                .header("content-type", "application/json");
            if let Some(account) = &credential.account_header {
                builder = builder.header("dialstack-account", account);
            }
            builder.body(axum::body::Body::from(body)).unwrap()
        };
        let reply = tenants.platform.send(request(oversized.clone())).await;
        assert!(!reply.status.is_server_error(), "{path}: {} {}", reply.status, reply.text);
        if reply.status == StatusCode::PAYLOAD_TOO_LARGE {
            assert_eq!(reply.error_code(), "payload_too_large", "{path}: {}", reply.text);
            refused += 1;
        } else {
            // A handler that reads no body ignores it (nothing is buffered): it answers as it
            // does to an empty body.
            let empty = tenants.platform.send(request(String::new())).await;
            assert_eq!(reply.status, empty.status, "{path}: oversized got {} {}", reply.status, reply.text);
            bodiless += 1;
        }
    }
    println!(
        "security figure: oversized bodies: {refused} POST routes answered 413, {bodiless} read no body"
    );
    assert!(refused > 20, "{refused}");
}

#[tokio::test]
async fn an_oversized_declared_or_chunked_body_on_a_real_socket_is_a_413_and_the_server_stays_up() {
    let tenants = Tenants::seed().await;
    let (addr, server) = tenants.platform.serve().await;
    // Declares 10 GB and sends a few bytes: refused without waiting for the rest.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/accounts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{{\"email\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await.expect("answered");
    let text = String::from_utf8_lossy(&answer[..read.unwrap()]).into_owned();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    // Chunked, 2 MiB, no length up front: refused once the limit is crossed.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/accounts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
    for _ in 0..32 {
        // The server may answer and close before the whole body is sent.
        let sent = tokio::time::timeout(Duration::from_secs(2), stream.write_all(chunk.as_bytes())).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(b"0\r\n\r\n")).await;
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await.expect("answered");
    let text = String::from_utf8_lossy(&answer[..read.unwrap_or(0)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    server.abort();
}

#[tokio::test]
async fn slow_loris_connections_do_not_stop_the_server_answering_others() {
    let tenants = Tenants::seed().await;
    let (addr, server) = tenants.platform.serve().await;
    let mut lorises = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /v1/accounts HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        lorises.push(stream);
    }
    for round in 0..5 {
        for loris in &mut lorises {
            // One byte of a header that never ends; a closed connection is fine too.
            let _ = loris.write_all(b"a").await;
        }
        let started = std::time::Instant::now();
        let health =
            tokio::time::timeout(Duration::from_secs(5), reqwest::get(format!("http://{addr}/healthz")))
                .await
                .unwrap_or_else(|_| panic!("round {round}: the server stopped answering"))
                .unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let users = reqwest::Client::new()
            .get(format!("http://{addr}/v1/users"))
            .bearer_auth(KEY)
            .header("DialStack-Account", &tenants.victim_account)
            .send()
            .await
            .unwrap();
        assert_eq!(users.status().as_u16(), 200);
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("security figure: slow loris: 50 dribbling connections, 5 rounds of normal requests answered");
    server.abort();
}

#[tokio::test]
async fn an_oversized_signalling_frame_closes_only_that_socket() {
    use signalling_support::{Client, World};
    let world = World::start().await;
    let mut victim = world.client(&world.alice).await;
    let mut flooder = world.client(&world.bob).await;
    // Just under the limit but garbage: a non-fatal invalid_message.
    flooder.send_text(&"x".repeat(200 * 1024)).await;
    let reply = flooder.next().await.expect("still open");
    assert_eq!(reply["code"], "invalid_message", "{reply}");
    // Over the 256 KiB frame limit: the socket is closed, nothing else is.
    let huge = json!({ "type": "ping", "req_id": "x".repeat(300 * 1024) }).to_string();
    flooder.send_text(&huge).await;
    assert!(flooder.closed().await);
    victim.send(json!({ "type": "ping", "req_id": "still_here" })).await;
    assert_eq!(victim.until(json!({ "type": "pong" })).await["req_id"], "still_here");
    let mut again = Client::connect(world.addr).await;
    let token = world.token(&world.bob).await;
    assert_eq!(again.authenticate(&token).await["type"], "authenticated");
}

/// Upgrades a raw TCP connection to `/v1/webrtc` by hand, so the test can send half a frame.
async fn raw_upgrade(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /v1/webrtc HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: dialstack.webrtc.v1\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

#[tokio::test]
async fn a_socket_that_sends_half_a_frame_and_never_authenticates_is_closed_in_bounded_time() {
    use signalling_support::{World, test_timers};
    let timers = ds_local::signalling::Timers { auth_timeout: Duration::from_millis(700), ..test_timers() };
    let world = World::start_with(timers).await;
    let mut slow = raw_upgrade(world.addr).await;
    // A masked text frame announcing 100 bytes, then 3 of them, then silence.
    slow.write_all(&[0x81, 0x80 | 100, 1, 2, 3, 4, b'{', b'"', b't']).await.unwrap();
    let started = std::time::Instant::now();
    let mut sink = vec![0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match slow.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue, // the fatal error frame and the close frame
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the half-frame socket was still open after 10 s");
    println!("security figure: half-frame socket closed after {:?}", started.elapsed());
    // The server still serves new sockets.
    let mut client = world.client(&world.alice).await;
    client.send(json!({ "type": "ping", "req_id": "ok" })).await;
    assert_eq!(client.until(json!({ "type": "pong" })).await["req_id"], "ok");
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_after_the_header_read_timeout() {
    let tenants = Tenants::seed().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ds_local::server::ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let app = ds_local::app(tenants.platform.state.clone());
    tokio::spawn(ds_local::server::serve(listener, app, limits, std::future::pending()));
    let mut loris = tokio::net::TcpStream::connect(addr).await.unwrap();
    loris.write_all(b"GET /v1/accounts HTTP/1.1\r\nHost: x\r\nX-Slow: a").await.unwrap();
    // The server closes the connection (EOF, or a reset); it must not hold it open for good.
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), loris.read(&mut buffer))
        .await
        .expect("the server held a request head open for 10 s with a 300 ms header timeout");
    if let Ok(n) = read {
        let reply = String::from_utf8_lossy(&buffer[..n]);
        assert!(n == 0 || reply.starts_with("HTTP/1.1 408"), "unexpected reply: {reply}");
    }
    // Other clients are still served.
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn shutdown_returns_even_while_a_connection_stays_open() {
    let tenants = Tenants::seed().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits =
        ds_local::server::ServeLimits { shutdown_grace: Duration::from_millis(200), ..Default::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = ds_local::app(tenants.platform.state.clone());
    let server = tokio::spawn(ds_local::server::serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    let mut open = tokio::net::TcpStream::connect(addr).await.unwrap();
    open.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buffer = [0u8; 64];
    let n = open.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve did not return after shutdown")
        .unwrap()
        .unwrap();
}
