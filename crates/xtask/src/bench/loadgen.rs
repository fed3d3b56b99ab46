//! Running the `ds-loadgen` load client (its own process) and reading its JSON result.

use anyhow::{Context, bail};
use serde_json::Value;

use super::server::{Server, release_binary};
use crate::process::Env;

/// Runs `ds-loadgen SUBCOMMAND --base … --server-pid … ARGS`; returns its last stdout line as JSON.
pub fn run(env: &Env, server: &Server, subcommand: &str, args: &[String]) -> anyhow::Result<Value> {
    let mut all: Vec<String> = vec![
        subcommand.to_owned(),
        "--base".to_owned(),
        server.base_url.clone(),
        "--server-pid".to_owned(),
        server.pid.to_string(),
    ];
    all.extend(args.iter().cloned());
    run_raw(env, &all)
}

/// Runs `ds-loadgen ARGS` (stderr passes through); returns its last stdout line as JSON.
pub fn run_raw(env: &Env, args: &[String]) -> anyhow::Result<Value> {
    let binary = release_binary(env, "ds-loadgen");
    let output = env
        .command(&binary)
        .args(args)
        .0
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("ds-loadgen {} failed ({}): {}", args[0], output.status, stdout.trim());
    }
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).context("ds-loadgen printed nothing")?;
    serde_json::from_str(last).with_context(|| format!("ds-loadgen's result is not JSON: {last}"))
}
