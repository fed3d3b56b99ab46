//! The receptionist against a real ds-local on 127.0.0.1: a number routed to the voice app, a
//! simulated caller, the greeting heard by the caller and the caller recorded by the app.

use std::time::Duration;

use ds_local::signalling::{SignallingConfig, Timers};
use ds_local::{AppState, Config};
use ds_media::{Recording, tone_power};
use serde_json::{Value, json};

const KEY: &str = "sk_test_local";

struct Api {
    base: String,
    account: Option<String>,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request =
            reqwest::Client::new().request(method, format!("{}{path}", self.base)).bearer_auth(KEY);
        if let Some(account) = &self.account {
            request = request.header("DialStack-Account", account);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }
}

/// ds-local with signalling and the receptionist, each on its own 127.0.0.1 port, and a number
/// routed straight to the receptionist's voice app.
struct Setup {
    state: AppState,
    api: Api,
    recordings: tempfile::TempDir,
}

impl Setup {
    /// `front_desk`: an extension to create for a user "Front desk" and give the receptionist
    /// as its "press 1" target.
    async fn start(front_desk: Option<&str>) -> Self {
        let state = AppState::open(Config::in_memory()).await.unwrap();
        let timers = Timers { routing_second: Duration::from_millis(50), ..Timers::default() };
        ds_local::signalling::attach(&state, SignallingConfig { media_ip: [127, 0, 0, 1].into(), timers })
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let platform = ds_local::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, platform).await.unwrap() });
        let mut api = Api { base: base.clone(), account: None };
        let account = api
            .call(reqwest::Method::POST, "/v1/accounts", Some(json!({ "email": "front@clinic.test" })))
            .await;
        api.account = Some(account["id"].as_str().unwrap().to_owned());
        if let Some(extension) = front_desk {
            api.call(
                reqwest::Method::POST,
                "/v1/users",
                Some(json!({ "name": "Front desk", "extension": extension })),
            )
            .await;
        }

        let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app_addr = app_listener.local_addr().unwrap();
        let app = api
            .call(
                reqwest::Method::POST,
                "/v1/voice-apps",
                Some(json!({ "name": "AI receptionist", "url": format!("http://{app_addr}/webhook") })),
            )
            .await;
        let recordings = tempfile::tempdir().unwrap();
        let config = ai_receptionist::Config {
            api_base: base.clone(),
            api_key: KEY.to_owned(),
            secret: app["secret"].as_str().unwrap().to_owned(),
            public_ws: format!("ws://{app_addr}"),
            recordings: recordings.path().to_owned(),
            front_desk: front_desk.map(str::to_owned),
        };
        tokio::spawn(
            async move { axum::serve(app_listener, ai_receptionist::router(config)).await.unwrap() },
        );

        api.call(
            reqwest::Method::POST,
            "/v1/phone-number-orders",
            Some(json!({ "phone_numbers": ["+16175550142"] })),
        )
        .await;
        let numbers = api.call(reqwest::Method::GET, "/v1/phone-numbers", None).await;
        let did = numbers["data"][0]["id"].as_str().unwrap();
        api.call(
            reqwest::Method::POST,
            &format!("/v1/phone-numbers/{did}/route"),
            Some(json!({ "routing_target": app["id"] })),
        )
        .await;
        Setup { state, api, recordings }
    }

    async fn call(&self, scenario: Value) -> String {
        let call = self
            .api
            .call(
                reqwest::Method::POST,
                "/v1/test_helpers/calls",
                Some(json!({ "to_number": "+16175550142", "from_number": "+16195550177", "scenario": scenario })),
            )
            .await;
        call["id"].as_str().unwrap().to_owned()
    }

    /// Waits for an event of `event_type` on the account's bus.
    async fn event(&self, event_type: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let events =
                self.state.events().replay(self.api.account.as_deref().unwrap(), 0, 1000).await.unwrap();
            if let Some(event) = events.iter().find(|e| e.event_type == event_type) {
                return event.data.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "no {event_type}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The caller's recording the app wrote, once it exists.
    async fn recording(&self, call_id: &str) -> Recording {
        let path = self.recordings.path().join(format!("{call_id}.wav"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !path.exists() {
            assert!(tokio::time::Instant::now() < deadline, "the app never wrote {}", path.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Recording::from_wav(&std::fs::read(&path).unwrap()).expect("a WAV")
    }
}

#[tokio::test]
async fn a_caller_routed_to_the_receptionist_hears_the_greeting_and_is_recorded() {
    let setup = Setup::start(None).await;
    let call_id = setup.call(json!({ "talk_seconds": 2 })).await;

    // The call ends completed; the app wrote the caller's audio (the simulated caller's tone).
    let caller = setup.recording(&call_id).await;
    let row = setup.api.call(reqwest::Method::GET, &format!("/v1/calls/{call_id}"), None).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert!(caller.duration_ms() >= 1_500, "{} ms recorded", caller.duration_ms());
    assert!(
        tone_power(&caller.samples, 440.0) > 20.0 * tone_power(&caller.samples, 660.0),
        "the caller's 440 Hz"
    );

    // What the caller heard: the greeting's two notes, from ds-local's call recording.
    let recording = setup.event("recording.available").await;
    let url = format!("{}{}", setup.api.base, recording["download_url"].as_str().unwrap());
    let heard = Recording::from_wav(&reqwest::get(url).await.unwrap().bytes().await.unwrap()).expect("a WAV");
    let (first, second) = heard.samples.split_at(heard.samples.len().min(3_200));
    assert!(tone_power(first, 660.0) > 10.0 * tone_power(first, 880.0), "the greeting opens at 660 Hz");
    assert!(tone_power(second, 880.0) > 10.0 * tone_power(second, 660.0), "and closes at 880 Hz");
}

#[tokio::test]
async fn pressing_1_transfers_the_caller_to_the_front_desk() {
    // Nobody is signed in at the front desk, so the transfer ends in its voicemail.
    let setup = Setup::start(Some("100")).await;
    let call_id = setup.call(json!({ "digits": "1", "talk_seconds": 20, "voicemail_seconds": 1 })).await;

    let transfer = setup.event("call.transfer").await;
    assert_eq!(
        (transfer["call_id"].as_str(), transfer["transferred_to"].as_str()),
        (Some(call_id.as_str()), Some("100"))
    );
    let voicemail = setup.event("voicemail.new").await;
    assert_eq!(voicemail["call_id"], call_id.as_str());
    let users = setup.api.call(reqwest::Method::GET, "/v1/users", None).await;
    assert_eq!(voicemail["owner"], users["data"][0]["id"]);
    let row = setup.api.call(reqwest::Method::GET, &format!("/v1/calls/{call_id}"), None).await;
    assert_eq!(row["status"], "voicemail", "{row}");
    // The app kept what it heard until the transfer ended its socket: the tone, then the key.
    let caller = setup.recording(&call_id).await;
    assert!(caller.duration_ms() >= 1_000, "{} ms recorded", caller.duration_ms());
}

#[test]
fn a_webhook_signature_is_checked_against_the_secret_and_the_clock() {
    use hmac_check::sign;
    let header = sign("whsec_test", 1_000, b"{}");
    assert!(ai_receptionist::signature_is_valid("whsec_test", &header, b"{}", 1_000));
    assert!(!ai_receptionist::signature_is_valid("whsec_other", &header, b"{}", 1_000));
    assert!(!ai_receptionist::signature_is_valid("whsec_test", &header, b"{ }", 1_000));
    assert!(!ai_receptionist::signature_is_valid("whsec_test", &header, b"{}", 1_301));
    assert!(!ai_receptionist::signature_is_valid("whsec_test", "t=1000,v1=zz", b"{}", 1_000));
}

mod hmac_check {
    /// Signs like the platform does (ds-local's own signer).
    pub fn sign(secret: &str, at: i64, body: &[u8]) -> String {
        ds_local::webhooks::signature_header(secret, at, body)
    }
}
