//! The ds-local under measurement (built with the `server` profile), started as its own process
//! so its CPU and memory can be read from /proc apart from the load client's.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::Env;

/// The fd limit the session figure is measured against (this machine's `ulimit -n`).
pub const FD_LIMIT: u64 = 20_000;

pub struct Server {
    child: Child,
    pub base_url: String,
    pub pid: u32,
}

/// The Cargo profile ds-local and ds-loadgen are built with for measuring (`[profile.server]`
/// in the workspace Cargo.toml: release with opt-level 3; the release profile itself is tuned
/// for the wasm bundle's size).
pub const DEFAULT_PROFILE: &str = "server";

/// The profile to build and measure: `DS_BENCH_PROFILE` (e.g. `release`, for an A/B against
/// the wasm-size-tuned profile), else `server`. An environment variable rather than an option
/// so the browser figures' re-run inside the network namespace inherits it.
pub fn profile() -> String {
    std::env::var("DS_BENCH_PROFILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
}

/// Where `cargo build --profile <profile>` puts a binary of this workspace (the `release`
/// profile's directory is `release`, like any other named profile's).
pub fn release_binary(env: &Env, name: &str) -> PathBuf {
    env.target_dir.join(profile()).join(name)
}

impl Server {
    /// Starts `target/<profile>/ds-local` on a free loopback port with `data_dir` and `extra` flags;
    /// returns once it prints its listening line.
    pub fn start(env: &Env, data_dir: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let binary = release_binary(env, "ds-local");
        let mut command = env.command(&binary);
        command.args(["--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(extra);
        // Capacity, not the rate limiter, is what is measured: one API key driving wrk would
        // otherwise be answered 429 past the per-credential limit.
        command.args([
            "--rate-limit-api-key",
            "off",
            "--rate-limit-token",
            "off",
            "--rate-limit-signalling",
            "off",
        ]);
        // Logs at warn: info lines per call would cost the server time we are measuring.
        command.env("RUST_LOG", "ds_local=warn");
        let mut child = command
            .0
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout was configured as piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ds-local listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let pid = child.id();
        let base_url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                bail!("ds-local did not start listening within 60 s");
            }
        };
        Ok(Self { child, base_url, pid })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
