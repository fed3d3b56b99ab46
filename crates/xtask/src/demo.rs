//! `cargo xtask demo`: the product on one laptop, for a partner's first hour.
//!
//! Sets up the tools, builds the release bundles, then runs two servers side by side:
//! ds-local with the demo account (hosted softphone, embed bundle, examples, demo token
//! endpoint) on 127.0.0.1:8787 and the partner CRM example on 127.0.0.1:8788. It prints where to
//! go and what to try, and on Ctrl-C (or SIGTERM) stops both and waits for them.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{Env, step};
use crate::{dist, setup};

/// Fixed, memorable addresses: a person types these, and the click-to-call README uses them.
const DS_LOCAL_LISTEN: &str = "127.0.0.1:8787";
const CRM_LISTEN: &str = "127.0.0.1:8788";
/// ds-local's default test platform key (`--platform-key`).
const PLATFORM_KEY: &str = "sk_test_local";
/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// `cargo xtask demo [--no-setup]`: `--no-setup` skips the tool check and the release build and
/// reuses `dist/` as it is.
pub fn run(env: &Env, args: &[String]) -> anyhow::Result<()> {
    if !args.iter().any(|a| a == "--no-setup") {
        setup::run(env)?;
        dist::run(env)?;
    }
    step("building ds-local, the partner CRM and the click-to-call example");
    env.cargo(&["build", "-p", "ds-local", "-p", "partner-crm", "-p", "click-to-call"]).run()?;
    for addr in [DS_LOCAL_LISTEN, CRM_LISTEN] {
        if std::net::TcpListener::bind(addr).is_err() {
            bail!("{addr} is already in use (another `cargo xtask demo` running?)");
        }
    }

    // Ctrl-C in a terminal reaches the children too (same process group) and they stop by
    // themselves; the handler makes sure they also stop when only this process is signalled,
    // and that we wait for them instead of dying first.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;

    let logs = env.target_dir.join("demo-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let mut servers = Servers::default();

    step(&format!("starting ds-local on {DS_LOCAL_LISTEN} with the demo account"));
    let mut ds_local = env.command(env.target_dir.join("debug/ds-local"));
    ds_local
        .args(["--listen", DS_LOCAL_LISTEN, "--demo", "--platform-key", PLATFORM_KEY, "--data-dir"])
        .arg(env.root.join(".ds-local"))
        .arg("--static-dir")
        .arg(env.dist_dir.clone())
        .arg("--examples-dir")
        .arg(env.root.join("examples"));
    let api = servers.start("ds-local", ds_local, "ds-local listening on ", &logs, &stop)?;

    step(&format!("starting the partner CRM on {CRM_LISTEN}"));
    let mut crm = env.command(env.target_dir.join("debug/partner-crm"));
    // Its account and user default to the demo's Jones Chiropractic and Alice (a test in
    // examples/partner-crm checks they match ds-local's seed).
    crm.args(["--listen", CRM_LISTEN, "--api-base", &api])
        .env("DIALSTACK_KEY", PLATFORM_KEY)
        .arg("--elements-dir")
        .arg(env.dist_dir.join("elements"))
        .arg("--web-dir")
        .arg(env.root.join("examples/partner-crm/web"));
    let crm_url = servers.start("partner-crm", crm, "partner-crm listening on ", &logs, &stop)?;

    println!("{}", guide(&api, &crm_url, &logs));
    let outcome = servers.wait_for_stop_or_exit(&stop);
    step("stopping the demo");
    servers.stop_all();
    println!("demo stopped");
    outcome
}

/// What the demo prints once everything listens.
fn guide(api: &str, crm: &str, logs: &Path) -> String {
    const ACCOUNT: &str = "acct_01kdvdna00fz7btw37kdd4db76";
    const ALICE: &str = "user_01kdvdna00f3z8a5070sq1s6j6";
    format!(
        "
DialStack demo is running. Ctrl-C stops everything.

  Hosted softphone, Alice Smith (ext 101): {api}/?token-url=/_ds/demo/tokens/alice
  Hosted softphone, Bob Jones (ext 102):   {api}/?token-url=/_ds/demo/tokens/bob
  Partner CRM (Alice at the front desk):   {crm}/
  Plain embedding example:                 {api}/examples/embed/
  API reference:                           {api}/api/openapi.yaml  (platform key {PLATFORM_KEY})

Numbers to dial (simulated far ends, protocol.md §15):
  +15005550001  echo: answers after 1 s and plays your voice back
  +15005550002  tone: answers after 1 s with a steady 440 Hz tone
  +15005550003  busy
  +15005550004  never answers (no-answer after the ring timeout)
  +15005550005  early media: ringback for 3 s, then answers with the tone
  +15005550006  IVR: answers and plays one tone per keypad digit (digits land on the call log)
  +15005550007  answers, then hangs up by itself after 5 s
  +15005550009  fails at once
  102 / 101     Bob / Alice (extensions), any other E.164: answers after 2 s with the tone

Ring Alice from a script (the CRM's screen pop shows patient Jane Roe):
  curl -s -X POST {api}/v1/test_helpers/calls -H 'Authorization: Bearer {PLATFORM_KEY}' \\
    -H 'DialStack-Account: {ACCOUNT}' -H 'Content-Type: application/json' \\
    -d '{{\"user\":\"{ALICE}\",\"from_number\":\"+16195550177\",\"from_name\":\"JANE ROE\"}}'

Click-to-call through Alice and log it from a webhook (examples/click-to-call):
  cargo run -p click-to-call -- --api-base {api} --account {ACCOUNT} --user {ALICE}

Server logs: {logs}/ds-local.log, {logs}/partner-crm.log
",
        logs = logs.display()
    )
}

/// The running servers, stopped (SIGTERM, then SIGKILL after a grace period) when dropped.
#[derive(Default)]
struct Servers {
    running: Vec<(String, Child, PathBuf)>,
}

impl Servers {
    /// Starts `command` with stdout and stderr going to `<logs>/<name>.log` and returns the URL
    /// from the stdout line that starts with `listening_prefix`.
    fn start(
        &mut self,
        name: &str,
        mut command: crate::process::Cmd,
        listening_prefix: &'static str,
        logs: &Path,
        stop: &AtomicBool,
    ) -> anyhow::Result<String> {
        let log_path = logs.join(format!("{name}.log"));
        let log = File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut child = command
            .0
            .stdout(Stdio::piped())
            .stderr(log.try_clone()?)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let stdout = child.stdout.take().expect("stdout was configured as piped");
        self.running.push((name.to_owned(), child, log_path.clone()));
        // A thread copies stdout into the log and reports the listening line.
        let (url_tx, url_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = log;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix(listening_prefix) {
                    let _ = url_tx.send(url.trim().to_owned());
                }
                let _ = writeln!(log, "{line}");
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(url) = url_rx.recv_timeout(Duration::from_millis(200)) {
                return Ok(url);
            }
            let (_, child, _) = self.running.last_mut().expect("the child was just pushed");
            if let Some(status) = child.try_wait()? {
                bail!("{name} exited while starting ({status}); see {}", log_path.display());
            }
            if stop.load(Ordering::SeqCst) {
                bail!("interrupted while {name} was starting");
            }
            if Instant::now() >= deadline {
                bail!("{name} did not start listening within {START_TIMEOUT:?}; see {}", log_path.display());
            }
        }
    }

    /// Blocks until Ctrl-C/SIGTERM (Ok) or until a server exits on its own (Err).
    fn wait_for_stop_or_exit(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        while !stop.load(Ordering::SeqCst) {
            for (name, child, log) in &mut self.running {
                if let Some(status) = child.try_wait()? {
                    bail!("{name} stopped unexpectedly ({status}); see {}", log.display());
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// SIGTERM to every server still running, then waits; a server that has not stopped after
    /// the grace period (an open event stream can hold a graceful shutdown) is killed.
    fn stop_all(&mut self) {
        for (_, child, _) in &mut self.running {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for (name, child, _) in &mut self.running {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        println!("    {name} did not stop within {STOP_TIMEOUT:?}; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        self.running.clear();
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_names_both_softphones_the_crm_and_the_simulated_numbers() {
        let text = guide("http://127.0.0.1:8787", "http://127.0.0.1:8788", Path::new("/tmp/logs"));
        for expected in [
            "http://127.0.0.1:8787/?token-url=/_ds/demo/tokens/alice",
            "http://127.0.0.1:8787/?token-url=/_ds/demo/tokens/bob",
            "http://127.0.0.1:8788/",
            "+15005550001  echo",
            "+15005550006  IVR",
            "http://127.0.0.1:8787/v1/test_helpers/calls",
            "/tmp/logs/ds-local.log",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn a_server_that_exits_while_starting_is_reported_with_its_log() {
        let env = Env::detect().unwrap();
        let logs = std::env::temp_dir().join(format!("xtask-demo-test-{}", std::process::id()));
        std::fs::create_dir_all(&logs).unwrap();
        let mut servers = Servers::default();
        let mut command = env.command("sh");
        command.args(["-c", "echo starting; echo oops >&2; exit 3"]);
        let stop = AtomicBool::new(false);
        let error = servers.start("broken", command, "listening on ", &logs, &stop).unwrap_err().to_string();
        assert!(error.contains("broken exited while starting"), "{error}");
        let log = std::fs::read_to_string(logs.join("broken.log")).unwrap();
        assert!(log.contains("oops"), "{log}");
        let _ = std::fs::remove_dir_all(&logs);
    }

    #[test]
    fn stopping_terminates_a_running_server() {
        let env = Env::detect().unwrap();
        let logs = std::env::temp_dir().join(format!("xtask-demo-stop-{}", std::process::id()));
        std::fs::create_dir_all(&logs).unwrap();
        let mut servers = Servers::default();
        let mut command = env.command("sh");
        command.args(["-c", "echo 'fake listening on http://127.0.0.1:1'; exec sleep 600"]);
        let stop = AtomicBool::new(false);
        let url = servers.start("sleeper", command, "fake listening on ", &logs, &stop).unwrap();
        assert_eq!(url, "http://127.0.0.1:1");
        let pid = servers.running[0].1.id();
        servers.stop_all();
        assert!(servers.running.is_empty());
        let alive = std::process::Command::new("kill").args(["-0", &pid.to_string()]).status().unwrap();
        assert!(!alive.success(), "the child {pid} is gone");
        let _ = std::fs::remove_dir_all(&logs);
    }
}
