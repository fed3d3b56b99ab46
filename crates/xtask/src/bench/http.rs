//! Figure 9, ds-local HTTP: `GET /v1/calls` requests/s with `wrk` on a database seeded with
//! 100,000 calls, against `GET /healthz` as the floor (the same server, router and middleware,
//! no database). Rounds alternate between the two so drift on a noisy machine hits both.
//!
//! Seeding: `ds-loadgen seed` creates the account and user over REST, then inserts the rows
//! with one SQL transaction straight into the data dir's `ds-local.sqlite3` (schema of
//! crates/ds-local/migrations), while ds-local runs (WAL mode).

use anyhow::{Context, bail};
use serde_json::json;

use super::report::{Figure, Row, Summary};
use super::server::Server;
use super::{Options, loadgen};
use crate::process::{Env, step};
use crate::test::TempDir;

pub const TITLE: &str = "ds-local HTTP";
const CONNECTIONS: &str = "16";

pub fn run(env: &Env, options: &Options) -> anyhow::Result<Figure> {
    let wrk = ensure_wrk(env)?;
    let (count, rounds, seconds) = if options.quick { (10_000, 1, 3) } else { (100_000, 3, 8) };
    step(&format!(
        "bench 9/http: wrk on GET /v1/calls ({count} calls) vs GET /healthz, {rounds} × {seconds} s each"
    ));
    let data = TempDir::new("ds-bench-http")?;
    let server = Server::start(env, &data.0, &[])?;
    let database = data.0.join("ds-local.sqlite3");
    let seeded = loadgen::run(
        env,
        &server,
        "seed",
        &["--database".into(), database.display().to_string(), "--count".into(), count.to_string()],
    )?;
    let account = seeded["account"].as_str().context("seed returned no account")?.to_owned();
    let mut calls = Vec::new();
    let mut health = Vec::new();
    for _ in 0..rounds {
        health.push(wrk_rps(env, &wrk, &format!("{}/healthz", server.base_url), &[], seconds)?);
        calls.push(wrk_rps(
            env,
            &wrk,
            &format!("{}/v1/calls", server.base_url),
            &["Authorization: Bearer sk_test_local".to_owned(), format!("DialStack-Account: {account}")],
            seconds,
        )?);
    }
    drop(server);
    let mut figure = Figure::new(9, TITLE);
    figure.rows.push(
        Row::new(format!("GET /v1/calls, {count} calls in the account"), "req/s", Summary::of(&calls))
            .against("GET /healthz", &calls, &health),
    );
    figure.note(format!(
        "wrk -t1 -c{CONNECTIONS} -d{seconds}s, {rounds} alternating rounds; /v1/calls with the platform key and \
         DialStack-Account, default page (newest first). Seeded by direct SQL insert ({:.1} s for {count} rows).",
        seeded["seconds"].as_f64().unwrap_or(f64::NAN)
    ));
    figure.details =
        json!({ "calls_rps": calls, "healthz_rps": health, "seed": seeded, "connections": CONNECTIONS });
    Ok(figure)
}

/// `wrk` from the PATH, installed from Debian's packages when missing (needs root).
fn ensure_wrk(env: &Env) -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = env.which("wrk") {
        return Ok(path);
    }
    step("bench: installing wrk (apt-get install -y wrk)");
    if !env.command("apt-get").args(["install", "-y", "wrk"]).succeeds() {
        env.command("apt-get").arg("update").run()?;
        env.command("apt-get").args(["install", "-y", "wrk"]).run()?;
    }
    env.which("wrk").context("wrk is not on the PATH after installing it")
}

fn wrk_rps(
    env: &Env,
    wrk: &std::path::Path,
    url: &str,
    headers: &[String],
    seconds: u32,
) -> anyhow::Result<f64> {
    let mut command = env.command(wrk);
    command.args(["-t1", "-c", CONNECTIONS, "-d", &format!("{seconds}s")]);
    for header in headers {
        command.args(["-H", header]);
    }
    let out = command.arg(url).output().with_context(|| format!("wrk {url} failed"))?;
    parse_wrk(&out).with_context(|| format!("wrk {url} printed no usable result:\n{out}"))
}

/// Requests/s from wrk's output; an error when any response was not 2xx/3xx.
fn parse_wrk(out: &str) -> anyhow::Result<f64> {
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx or 3xx responses")) {
        bail!("{}", line.trim());
    }
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .context("no Requests/sec line")?
        .trim()
        .parse()?;
    Ok(rps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_per_second_are_read_from_wrk_output() {
        let out = "Running 8s test @ http://127.0.0.1:1/healthz\n  1 threads and 16 connections\n\
                   83525 requests in 8.00s, 10.12MB read\nRequests/sec:  10440.51\nTransfer/sec:      1.26MB\n";
        assert_eq!(parse_wrk(out).unwrap(), 10440.51);
    }

    #[test]
    fn error_responses_fail_the_run_instead_of_counting_as_throughput() {
        let out = "  Non-2xx or 3xx responses: 8000\nRequests/sec:  9000.00\n";
        assert!(parse_wrk(out).unwrap_err().to_string().contains("Non-2xx"));
    }
}
