//! `GET /v1/events` over a real socket (protocol.md §12, §16.11): `connected` first, ids per
//! account, replay after `Last-Event-ID`, heartbeats, and account isolation.

mod common;

use std::time::Duration;

use common::{KEY, Platform};
use serde_json::json;

/// One parsed SSE block.
#[derive(Debug, Clone, Default, PartialEq)]
struct SseBlock {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    comment: Option<String>,
}

/// A minimal SSE reader over a streaming reqwest response.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(base: &str, auth: &str, account: Option<&str>, last_event_id: Option<&str>) -> Self {
        let client = reqwest::Client::new();
        let mut request =
            client.get(format!("{base}/v1/events")).bearer_auth(auth).header("accept", "text/event-stream");
        if let Some(account) = account {
            request = request.header("dialstack-account", account);
        }
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Self { response, buffer: String::new() }
    }

    /// The next block, waiting at most 5 s.
    async fn next(&mut self) -> SseBlock {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut parsed = SseBlock::default();
                    for line in block.lines() {
                        if let Some(rest) = line.strip_prefix(':') {
                            parsed.comment = Some(rest.trim().to_owned());
                        } else if let Some((field, value)) = line.split_once(':') {
                            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                            match field {
                                "event" => parsed.event = Some(value),
                                "id" => parsed.id = Some(value),
                                "data" => parsed.data = Some(value),
                                _ => {}
                            }
                        }
                    }
                    return parsed;
                }
                let chunk = self.response.chunk().await.unwrap().expect("stream ended early");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("an SSE block within 5 s")
    }

    /// The next block that is an event (skipping heartbeats).
    async fn next_event(&mut self) -> SseBlock {
        for _ in 0..100 {
            let block = self.next().await;
            if block.event.is_some() {
                return block;
            }
        }
        panic!("no event among 100 blocks");
    }
}

async fn emit(base: &str, account: &str, event: &str) {
    let reply = reqwest::Client::new()
        .post(format!("{base}/v1/test_helpers/events"))
        .bearer_auth(KEY)
        .header("dialstack-account", account)
        .json(&json!({ "event": event }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["event"], event);
}

#[tokio::test]
async fn reconnecting_with_last_event_id_replays_exactly_the_missed_events_in_order() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let session = platform.session(&account).await;
    let (addr, server) = platform.serve().await;
    let base = format!("http://{addr}");

    let mut stream = SseReader::open(&base, &session, None, None).await;
    let connected = stream.next_event().await;
    assert_eq!(connected.event.as_deref(), Some("connected"));
    assert_eq!(connected.data.as_deref(), Some("{}"));
    assert_eq!(connected.id.as_deref(), Some("0"), "no event yet: the resume point is 0");
    emit(&base, &account, "call.incoming").await;
    let live = stream.next_event().await;
    assert_eq!(live.event.as_deref(), Some("call.incoming"));
    let seen_id = live.id.clone().expect("every event has an id");
    let data: serde_json::Value = serde_json::from_str(live.data.as_deref().unwrap()).unwrap();
    assert!(data["call_id"].as_str().unwrap().starts_with("call_"));

    // Cut the connection, miss three events, come back.
    drop(stream);
    for event in ["call.ringing", "call.answered", "call.end"] {
        emit(&base, &account, event).await;
    }
    let mut resumed = SseReader::open(&base, &session, None, Some(&seen_id)).await;
    assert_eq!(resumed.next_event().await.event.as_deref(), Some("connected"));
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(resumed.next_event().await);
    }
    let types: Vec<_> = replayed.iter().map(|b| b.event.clone().unwrap()).collect();
    assert_eq!(types, ["call.ringing", "call.answered", "call.end"]);
    let ids: Vec<i64> = replayed.iter().map(|b| b.id.as_ref().unwrap().parse().unwrap()).collect();
    let first: i64 = seen_id.parse().unwrap();
    assert_eq!(ids, [first + 1, first + 2, first + 3]);
    let end: serde_json::Value = serde_json::from_str(replayed[2].data.as_deref().unwrap()).unwrap();
    assert_eq!(end["status"], "completed");

    // Nothing else was queued: the next event is the next live one, not a duplicate.
    emit(&base, &account, "call.incoming").await;
    let next = resumed.next_event().await;
    assert_eq!(next.event.as_deref(), Some("call.incoming"));
    assert_eq!(next.id, Some((first + 4).to_string()));
    server.abort();
}

/// Found by `cargo xtask chaos` (scenario 2): a stream cut before its first real event used to
/// come back with no Last-Event-ID (`connected` had no id), so the calls that rang in the gap
/// never reached the screen pop.
#[tokio::test]
async fn a_stream_cut_before_its_first_event_resumes_from_the_id_of_connected() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let session = platform.session(&account).await;
    let (addr, server) = platform.serve().await;
    let base = format!("http://{addr}");
    emit(&base, &account, "call.end").await;

    let mut stream = SseReader::open(&base, &session, None, None).await;
    let connected = stream.next_event().await;
    assert_eq!(connected.event.as_deref(), Some("connected"));
    let resume_point = connected.id.expect("connected carries the resume point");
    assert_eq!(resume_point, "1", "the event before the connection is not replayed");
    drop(stream);
    emit(&base, &account, "call.incoming").await;

    let mut resumed = SseReader::open(&base, &session, None, Some(&resume_point)).await;
    assert_eq!(resumed.next_event().await.event.as_deref(), Some("connected"));
    let missed = resumed.next_event().await;
    assert_eq!(missed.event.as_deref(), Some("call.incoming"));
    assert_eq!(missed.id.as_deref(), Some("2"));
    server.abort();
}

#[tokio::test]
async fn a_fresh_connection_without_last_event_id_replays_nothing() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let (addr, server) = platform.serve().await;
    let base = format!("http://{addr}");
    emit(&base, &account, "call.incoming").await;
    // API key + DialStack-Account also opens the stream.
    let mut stream = SseReader::open(&base, KEY, Some(&account), None).await;
    assert_eq!(stream.next_event().await.event.as_deref(), Some("connected"));
    emit(&base, &account, "call.end").await;
    let next = stream.next_event().await;
    assert_eq!(next.event.as_deref(), Some("call.end"));
    assert_eq!(next.id.as_deref(), Some("2"));
    server.abort();
}

#[tokio::test]
async fn one_accounts_stream_never_carries_another_accounts_events() {
    let platform = Platform::new().await;
    let a = platform.create_account("a@c.test").await;
    let b = platform.create_account("b@c.test").await;
    let session_a = platform.session(&a).await;
    let (addr, server) = platform.serve().await;
    let base = format!("http://{addr}");
    let mut stream = SseReader::open(&base, &session_a, None, Some("0")).await;
    assert_eq!(stream.next_event().await.event.as_deref(), Some("connected"));
    emit(&base, &b, "call.incoming").await;
    emit(&base, &b, "call.end").await;
    emit(&base, &a, "call.answered").await;
    let next = stream.next_event().await;
    assert_eq!(next.event.as_deref(), Some("call.answered"), "B's events were skipped");
    assert_eq!(next.id.as_deref(), Some("1"), "ids are per account");
    server.abort();
}

#[tokio::test]
async fn heartbeat_comments_keep_the_stream_alive() {
    let mut config = ds_local::Config::in_memory();
    config.sse_heartbeat = Duration::from_millis(100);
    let platform = Platform::with_config(config).await;
    let account = platform.create_account("o@c.test").await;
    let session = platform.session(&account).await;
    let (addr, server) = platform.serve().await;
    let mut stream = SseReader::open(&format!("http://{addr}"), &session, None, None).await;
    assert_eq!(stream.next().await.event.as_deref(), Some("connected"));
    let beat = stream.next().await;
    assert_eq!(beat.event, None);
    assert_eq!(beat.comment.as_deref(), Some("heartbeat"));
    server.abort();
}

#[tokio::test]
async fn the_stream_refuses_bad_credentials() {
    let platform = Platform::new().await;
    let account = platform.create_account("o@c.test").await;
    let user = platform.create_user(&account, "A").await;
    let token = platform.user_token(&user).await;
    let (addr, server) = platform.serve().await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/v1/events");
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), reqwest::StatusCode::UNAUTHORIZED);
    let garbage = client.get(&url).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(garbage.status(), reqwest::StatusCode::UNAUTHORIZED);
    let user_token = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(user_token.status(), reqwest::StatusCode::FORBIDDEN);
    let session = platform.session(&account).await;
    let bad_id = client.get(&url).bearer_auth(&session).header("last-event-id", "abc").send().await.unwrap();
    assert_eq!(bad_id.status(), reqwest::StatusCode::BAD_REQUEST);
    // EventSource cannot send headers: the token may come as ?access_token=.
    let query = client.get(format!("{url}?access_token={session}")).send().await.unwrap();
    assert_eq!(query.status(), reqwest::StatusCode::OK);
    let forged_query = client.get(format!("{url}?access_token=garbage")).send().await.unwrap();
    assert_eq!(forged_query.status(), reqwest::StatusCode::UNAUTHORIZED);
    let user_query = client.get(format!("{url}?access_token={token}")).send().await.unwrap();
    assert_eq!(user_query.status(), reqwest::StatusCode::FORBIDDEN);
    // Only the event stream reads a token from the query: elsewhere it would leak into logs.
    let calls = client.get(format!("http://{addr}/v1/calls?access_token={session}")).send().await.unwrap();
    assert_eq!(calls.status(), reqwest::StatusCode::UNAUTHORIZED);
    server.abort();
}
