//! `cargo xtask bench`: size, speed and capacity, each measured against a baseline in the same
//! run (issue 10). Not part of `cargo xtask test`: it takes minutes and its numbers are noisy.
//!
//! It builds what it measures (`cargo xtask dist` for the bundles, builds of ds-local and the
//! load client `ds-loadgen` with the workspace's `server` profile: opt-level 3, not the wasm
//! release profile's "z"), runs each figure, prints a table and writes
//! `target/bench/report.json`. `docs/benchmarks.md` holds the figures of a real run.
//!
//! Options: `--only bundle,browser,signalling,media,http` (default: all), `--runs N` (browser
//! runs per page, default 5), `--quick` (small loads, to check the harness itself).
//! `DS_BENCH_PROFILE=release` builds and measures ds-local with the wasm-size-tuned release
//! profile instead of `server` (opt-level 3), for an A/B of the two.

mod browser;
mod bundle;
mod http;
mod loadgen;
mod media;
mod report;
mod server;
mod signalling;

use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use crate::process::{Env, step};
use crate::setup;
use report::Figure;

/// The figure groups `--only` selects.
const GROUPS: &[&str] = &["bundle", "browser", "signalling", "media", "http"];

/// What one `cargo xtask bench` run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub only: Vec<String>,
    pub browser_runs: usize,
    /// Small loads: checks that every step works, in a couple of minutes. Not for publishing.
    pub quick: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Options { only: Vec::new(), browser_runs: 5, quick: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--only" => {
                    let list = args.next().context("--only needs a comma-separated list")?;
                    for group in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
                        if !GROUPS.contains(&group) {
                            bail!("unknown bench group `{group}`; choose from {}", GROUPS.join(", "));
                        }
                        options.only.push(group.to_owned());
                    }
                }
                "--runs" => {
                    let runs = args.next().context("--runs needs a number")?;
                    options.browser_runs = runs.parse().with_context(|| format!("--runs {runs}"))?;
                    if options.browser_runs < 1 {
                        bail!("--runs must be at least 1");
                    }
                }
                "--quick" => options.quick = true,
                other => bail!("unknown bench option `{other}`; see `cargo xtask help`"),
            }
        }
        Ok(options)
    }

    pub fn wants(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|g| g == group)
    }
}

pub fn run(env: &Env, args: &[String]) -> anyhow::Result<()> {
    // Internal: the browser figures, re-run inside the loopback-only network namespace.
    if args.first().map(String::as_str) == Some("--browser-in-namespace") {
        let out = args.get(1).context("--browser-in-namespace needs an output file")?;
        let options = Options::parse(&args[2..])?;
        return browser::in_namespace(env, &options, std::path::Path::new(out));
    }
    let options = Options::parse(args)?;
    let started = Instant::now();
    let started_at = utc_now(env);
    let machine = machine(env);
    setup::run(env)?;

    let needs_server = ["browser", "signalling", "media", "http"].iter().any(|g| options.wants(g));
    if needs_server {
        let profile = server::profile();
        step(&format!("bench: `{profile}` profile builds of ds-local and ds-loadgen"));
        env.cargo(&["build", "--profile", &profile, "-p", "ds-local", "-p", "ds-loadgen"]).run()?;
    }

    let mut figures = Vec::new();
    let timed = |figures: &mut Vec<Figure>, group: &str, make: &dyn Fn() -> Vec<Figure>| {
        if !options.wants(group) {
            return;
        }
        let t = Instant::now();
        let mut made = make();
        let seconds = t.elapsed().as_secs_f64() / made.len().max(1) as f64;
        for f in &mut made {
            f.seconds = seconds;
        }
        figures.extend(made);
    };
    timed(&mut figures, "bundle", &|| {
        vec![bundle::run(env).unwrap_or_else(|e| Figure::failed(1, "Bundle", &e))]
    });
    // The browser pages load the embed bundle from dist/elements: build it if figure 1 did not.
    timed(&mut figures, "browser", &|| {
        if !options.wants("bundle")
            && let Err(e) = crate::dist::run(env)
        {
            return browser::failed_all(&e);
        }
        browser::run(env, &options)
    });
    timed(&mut figures, "signalling", &|| signalling::run(env, &options));
    timed(&mut figures, "media", &|| {
        vec![media::run(env, &options).unwrap_or_else(|e| Figure::failed(8, media::TITLE, &e))]
    });
    timed(&mut figures, "http", &|| {
        vec![http::run(env, &options).unwrap_or_else(|e| Figure::failed(9, http::TITLE, &e))]
    });
    figures.sort_by_key(|f| f.number);

    let total = started.elapsed().as_secs_f64();
    let report = json!({
        "schema": 1,
        "started_at": started_at,
        "seconds": total,
        "git_commit": env.command("git").args(["rev-parse", "--short", "HEAD"]).output().map(|s| s.trim().to_owned()),
        "options": { "only": options.only, "browser_runs": options.browser_runs, "quick": options.quick, "server_profile": server::profile() },
        "machine": machine,
        "figures": figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
    });
    let dir = env.target_dir.join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;

    println!();
    println!("{}", report::table(&figures));
    for figure in &figures {
        for note in &figure.notes {
            println!("  [{}] {note}", figure.number);
        }
    }
    println!();
    println!("bench: {:.0} s in all; report written to {}", total, path.display());
    if figures.iter().any(|f| f.status == report::Status::Failed) {
        bail!("some figures failed (see the table)");
    }
    Ok(())
}

/// What machine the numbers come from: CPU model, cores, memory, kernel, load at the start.
fn machine(env: &Env) -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find_map(|l| {
        l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
    });
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memory_gib": memory_kib.map(|k| (k as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "kernel": env.command("uname").arg("-r").output().map(|s| s.trim().to_owned()),
        "load_average_at_start": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        "fd_limit": env.command("sh").args(["-c", "ulimit -n"]).output().map(|s| s.trim().to_owned()),
        "rustc": env.command("rustc").arg("--version").output().map(|s| s.trim().to_owned()),
        "chromium": env.command("chromium").arg("--version").output().map(|s| s.trim().to_owned()),
    })
}

fn utc_now(env: &Env) -> Option<String> {
    env.command("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_selects_groups_and_refuses_unknown_ones() {
        let options = Options::parse(&args(&["--only", "bundle,http", "--runs", "7"])).unwrap();
        assert!(options.wants("bundle") && options.wants("http") && !options.wants("media"));
        assert_eq!(options.browser_runs, 7);
        let error = Options::parse(&args(&["--only", "speed"])).unwrap_err().to_string();
        assert!(error.contains("unknown bench group `speed`"), "{error}");
    }

    #[test]
    fn no_selection_means_every_group() {
        let options = Options::parse(&[]).unwrap();
        assert!(GROUPS.iter().all(|g| options.wants(g)));
        assert!(Options::parse(&args(&["--runs", "0"])).is_err());
    }
}
