//! The `ds-local` binary's contract: `--listen 127.0.0.1:0 --demo` prints
//! `ds-local listening on http://ADDR`, serves the seeded demo, and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

type Stdout = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts the binary; the returned stdout reader must live until the process stops, or its
/// last line would hit a closed pipe.
fn run_demo(data_dir: &std::path::Path) -> (std::process::Child, String, Vec<String>, Stdout) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ds-local"))
        .args(["--listen", "127.0.0.1:0", "--demo", "--platform-key", "sk_test_binary", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("ds-local listening on ").unwrap_or_else(|| panic!("{first}")).to_owned();
    // The demo prints five lines after the listening line (ids and two curl commands).
    let rest: Vec<String> = lines.by_ref().take(5).map(Result::unwrap).collect();
    (child, base, rest, lines)
}

fn stop(mut child: std::process::Child, stdout: Stdout) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "clean exit on SIGTERM: {exit}");
            let tail: Vec<String> = stdout.map_while(Result::ok).collect();
            assert_eq!(tail, ["ds-local stopped"]);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("ds-local did not stop within 5 s of SIGTERM");
}

#[tokio::test]
async fn demo_binary_prints_its_address_seeds_stable_ids_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, base, printed, stdout) = run_demo(dir.path());
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let demo = ds_local::demo::ids();
    let text = printed.join("\n");
    assert!(text.contains(&demo.account) && text.contains(&demo.alice) && text.contains(&demo.bob), "{text}");
    assert!(text.contains("/v1/user_sessions"), "{text}");
    let client = reqwest::Client::new();
    let session = client
        .post(format!("{base}/v1/user_sessions"))
        .bearer_auth("sk_test_binary")
        .json(&serde_json::json!({ "user": demo.alice }))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), reqwest::StatusCode::CREATED);
    let session: serde_json::Value = session.json().await.unwrap();
    assert_eq!(session["account"], demo.account.as_str());
    let users: serde_json::Value = client
        .get(format!("{base}/v1/users?expand[]=extensions"))
        .bearer_auth("sk_test_binary")
        .header("dialstack-account", &demo.account)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seeded: Vec<(String, String)> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["extensions"]["data"][0]["number"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seeded.sort();
    assert_eq!(
        seeded,
        [("Alice Smith".to_owned(), "101".to_owned()), ("Bob Jones".to_owned(), "102".to_owned())]
    );
    stop(child, stdout);

    // A second start on the same data dir seeds nothing twice and keeps the signing key.
    let (child, base, _, stdout) = run_demo(dir.path());
    let users: serde_json::Value = client
        .get(format!("{base}/v1/users"))
        .bearer_auth("sk_test_binary")
        .header("dialstack-account", &demo.account)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["data"].as_array().unwrap().len(), 2);
    let directory = client
        .get(format!("{base}/v1/me/directory"))
        .bearer_auth(session["client_secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(directory.status(), reqwest::StatusCode::OK, "a token from the first run still verifies");
    stop(child, stdout);
}
