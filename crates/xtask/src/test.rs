//! `cargo xtask test`: every test tier, one closing summary line.
//!
//! Tiers: formatting, dependency direction, clippy, native `cargo test`, wasm-bindgen tests in
//! headless Chromium (per package), the release dist build, and Playwright end-to-end tests
//! against a ds-local started on a free loopback port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::{Env, step};
use crate::{dist, setup};

/// Crates that only make sense in a browser: the native tier tests every other workspace member,
/// so a new crate or example is tested without anyone remembering to list it.
const BROWSER_ONLY_PACKAGES: &[&str] = &["ds-web", "ds-ui", "ds-elements", "ds-app", "ds-wasm-test-support"];
/// Browser crates whose library has plain `#[test]`s that need no browser: run natively.
const BROWSER_LIB_UNIT_TESTS: &[&str] = &["ds-web"];
/// Crates whose tests run as wasm (in headless Chromium, or Node for DOM-free ds-core).
const WASM_TEST_PACKAGES: &[&str] = &["ds-core", "ds-web", "ds-ui", "ds-elements"];
/// Crates that must stay free of browser and runtime dependencies (sans-IO, serde only).
const PURE_PACKAGES: &[&str] = &["ds-protocol", "ds-core"];
/// What a pure crate must never depend on, directly or transitively.
const FORBIDDEN_IN_PURE: &[&str] = &[
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "wasm-bindgen-futures",
    "gloo-net",
    "gloo-timers",
    "leptos",
    "tokio",
    "axum",
    "hyper",
    "mio",
    "reqwest",
    "sqlx",
];

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(name.to_owned());
        }
    }

    /// Adds the counts of a cargo/wasm-bindgen-test run; a failing run that reported no failed
    /// test (a compile error) counts as one failure.
    fn cargo_run(&mut self, name: &str, ok: bool, output: &str) {
        let (passed, failed) = count_cargo_results(output);
        self.passed += passed;
        self.failed += failed;
        if !ok && failed == 0 {
            self.failed += 1;
        }
        if !ok {
            self.failures.push(name.to_owned());
        }
    }
}

/// Sums `test result: … N passed; M failed; …` lines.
fn count_cargo_results(output: &str) -> (u64, u64) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines().filter_map(|l| l.trim().strip_prefix("test result: ")) {
        for part in line.split(';').map(str::trim) {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else { continue };
            let Ok(count) = count.parse::<u64>() else { continue };
            match label {
                "passed" => passed += count,
                "failed" => failed += count,
                _ => {}
            }
        }
    }
    (passed, failed)
}

pub fn run(env: &Env, args: &[String]) -> anyhow::Result<()> {
    let only: Vec<&str> = args.iter().filter(|a| !a.starts_with('-')).map(String::as_str).collect();
    let wanted = |tier: &str| only.is_empty() || only.contains(&tier);
    if !args.iter().any(|a| a == "--no-setup") {
        setup::run(env)?;
    }
    let mut tally = Tally::default();

    if wanted("fmt") {
        step("fmt: cargo fmt --check");
        tally.check("fmt", env.cargo(&["fmt", "--all", "--check"]).succeeds());
    }
    if wanted("deps") {
        step("deps: dependency direction");
        tally.check("deps", check_dependency_direction(env).is_ok_and(|clean| clean));
    }
    if wanted("clippy") {
        step("clippy: native workspace and wasm crates, -D warnings");
        let native =
            env.cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]).succeeds();
        let mut wasm_args = vec!["clippy", "--target", "wasm32-unknown-unknown", "--all-targets"];
        for p in WASM_TEST_PACKAGES.iter().chain(&["ds-app", "ds-wasm-test-support"]) {
            wasm_args.extend(["-p", p]);
        }
        wasm_args.extend(["--", "-D", "warnings"]);
        let wasm = env.cargo(&wasm_args).succeeds();
        tally.check("clippy", native && wasm);
    }
    if wanted("native") {
        step("native: cargo test");
        let mut cmd = env.cargo(&["test", "--workspace"]);
        for p in BROWSER_ONLY_PACKAGES {
            cmd.args(["--exclude", p]);
        }
        let (ok, out) = cmd.tee()?;
        tally.cargo_run("native tests", ok, &out);
        // The browser crates' plain `#[test]`s (codecs, command shapes: no browser needed). The
        // wasm runner only runs `#[wasm_bindgen_test]`s, so without this step they ran nowhere.
        let mut cmd = env.cargo(&["test", "--lib"]);
        for p in BROWSER_LIB_UNIT_TESTS {
            cmd.args(["-p", p]);
        }
        let (ok, out) = cmd.tee()?;
        tally.cargo_run("browser crates' unit tests", ok, &out);
    }
    if wanted("conformance") {
        tally.check("conformance", crate::test_hardening::conformance(env));
    }
    if wanted("wasm") {
        step("wasm: wasm-bindgen tests in headless Chromium, against a ds-local on 127.0.0.1:18787");
        let (ok, out) = wasm_tier(env)?;
        tally.cargo_run("wasm tests", ok, &out);
    }
    let mut dist_ok = true;
    if wanted("dist") || wanted("e2e") {
        step("dist: release bundles");
        match dist::run(env) {
            Ok(sizes) => {
                tally.check("dist", true);
                let budget = dist::embed_budget();
                let within = sizes.elements.brotli <= budget;
                println!(
                    "    embed bundle {} B brotli (budget {budget} B): {}; hosted page {} B brotli",
                    sizes.elements.brotli,
                    if within { "within budget" } else { "OVER BUDGET" },
                    sizes.app.brotli
                );
                tally.check("embed size budget", within);
            }
            Err(error) => {
                eprintln!("dist failed: {error:#}");
                dist_ok = false;
                tally.check("dist", false);
            }
        }
    }
    if wanted("e2e") && dist_ok {
        step("e2e: Playwright against ds-local");
        match e2e(env) {
            Ok((passed, failed)) => {
                tally.passed += passed;
                tally.failed += failed;
                if failed > 0 {
                    tally.failures.push("e2e".to_owned());
                }
            }
            Err(error) => {
                eprintln!("e2e could not run: {error:#}");
                tally.check("e2e", false);
            }
        }
    }

    println!();
    if !tally.failures.is_empty() {
        println!("failing tiers: {}", tally.failures.join(", "));
    }
    println!("summary: {} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        bail!("{} test(s) or check(s) failed", tally.failed);
    }
    Ok(())
}

/// Where browser tests find ds-local. A fixed port is safe because the tier runs in its own
/// network namespace; test code reads it at compile time with `option_env!("DS_TEST_BASE_URL")`.
pub const WASM_TEST_LISTEN: &str = "127.0.0.1:18787";

/// Builds the wasm tests (outside the namespace: cargo may need the registry), then runs them
/// with a demo ds-local in a loopback-only network namespace. Returns (ok, collected stdout).
fn wasm_tier(env: &Env) -> anyhow::Result<(bool, String)> {
    env.cargo(&["build", "-p", "ds-local"]).run()?;
    let mut build = env.cargo(&["test", "--no-run", "--target", "wasm32-unknown-unknown"]);
    for package in WASM_TEST_PACKAGES {
        build.args(["-p", package]);
    }
    build.env("DS_TEST_BASE_URL", format!("http://{WASM_TEST_LISTEN}"));
    if !build.succeeds() {
        return Ok((false, String::new()));
    }
    if can_use_network_namespace(env) {
        let exe = std::env::current_exe().context("cannot locate the xtask binary")?;
        env.command("unshare")
            .args(["--net", "--", "sh", "-c", "ip link set lo up && exec \"$0\" wasm-in-namespace"])
            .arg(exe)
            .tee()
    } else {
        println!(
            "    WARNING: cannot create a network namespace (needs root and unshare); using host loopback"
        );
        wasm_in_namespace_collect(env)
    }
}

/// The part of the wasm tier that runs inside the namespace: ds-local, then each package.
pub fn wasm_in_namespace(env: &Env) -> anyhow::Result<()> {
    let (ok, _) = wasm_in_namespace_collect(env)?;
    if !ok {
        bail!("wasm tests failed");
    }
    Ok(())
}

fn wasm_in_namespace_collect(env: &Env) -> anyhow::Result<(bool, String)> {
    let _server = LocalServer::start(env, WASM_TEST_LISTEN)?;
    let mut all_ok = true;
    let mut collected = String::new();
    for package in WASM_TEST_PACKAGES {
        println!("==> wasm: {package}");
        let (ok, out) = wasm_test(env, package).tee()?;
        all_ok &= ok;
        collected.push_str(&out);
    }
    Ok((all_ok, collected))
}

/// `cargo test --target wasm32-unknown-unknown -p PACKAGE` with the headless-Chromium runner.
pub fn wasm_test(env: &Env, package: &str) -> crate::process::Cmd {
    let mut cmd = env.cargo(&["test", "--target", "wasm32-unknown-unknown", "-p", package]);
    cmd.env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", env.root.join("tests/webdriver.json"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env("DS_TEST_BASE_URL", format!("http://{WASM_TEST_LISTEN}"));
    cmd
}

/// Fails (returns `Ok(false)`) when a pure crate depends on a browser or runtime crate, for any
/// target. Prints each offence.
pub fn check_dependency_direction(env: &Env) -> anyhow::Result<bool> {
    let mut clean = true;
    for package in PURE_PACKAGES {
        let tree = env
            .cargo(&[
                "tree", "-e", "normal", "--target", "all", "--prefix", "none", "--format", "{p}", "-p",
                package,
            ])
            .output()
            .with_context(|| format!("cargo tree -p {package} failed"))?;
        let mut offenders: Vec<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| {
                FORBIDDEN_IN_PURE.contains(name) || name.starts_with("leptos") || name.starts_with("gloo")
            })
            .collect();
        offenders.sort();
        offenders.dedup();
        if offenders.is_empty() {
            println!("    {package}: no browser or runtime dependencies");
        } else {
            clean = false;
            println!("    {package} must stay sans-IO but depends on: {}", offenders.join(", "));
        }
    }
    if !clean {
        println!("    dependency direction check FAILED (see ARCHITECTURE.md, \"Dependency direction\")");
    }
    Ok(clean)
}

/// A ds-local child process on a free loopback port, stopped with SIGTERM on drop.
pub struct LocalServer {
    child: Child,
    pub base_url: String,
    _data_dir: TempDir,
}

impl LocalServer {
    /// Starts an already built `target/debug/ds-local` with the demo account, and fast timers
    /// when this build has them, so ringing and answering take milliseconds in tests.
    pub fn start(env: &Env, listen: &str) -> anyhow::Result<Self> {
        let data_dir = TempDir::new("ds-local-e2e")?;
        let binary = env.target_dir.join("debug/ds-local");
        let help = env.command(&binary).arg("--help").output().unwrap_or_default();
        let mut command = env.command(&binary);
        if help.contains("--fast-timers") {
            command.arg("--fast-timers");
        }
        let mut child = command
            .args(["--listen", listen, "--demo", "--data-dir"])
            .arg(&data_dir.0)
            .arg("--static-dir")
            .arg(env.dist_dir.clone())
            .arg("--examples-dir")
            .arg(env.root.join("examples"))
            .0
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start ds-local")?;
        let stdout = child.stdout.take().expect("stdout was configured as piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ds-local listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
                println!("    [ds-local] {line}");
            }
        });
        let base_url = rx
            .recv_timeout(Duration::from_secs(60))
            .context("ds-local did not start listening within 60 s")?;
        Ok(Self { child, base_url, _data_dir: data_dir })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A folder removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.subsec_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs Playwright against a fresh ds-local; returns (passed, failed) from its JSON report.
///
/// Real WebRTC must never reach an address other than loopback, and Chromium gathers every
/// interface it sees. So, when we can (root and `unshare` here), ds-local and the browser run
/// together inside a fresh network namespace whose only interface is `lo`: this process re-runs
/// itself there as `xtask e2e-in-namespace`. Elsewhere they run on the host's 127.0.0.1.
fn e2e(env: &Env) -> anyhow::Result<(u64, u64)> {
    // ai-receptionist: routing.spec.ts runs it as the seed's voice app.
    env.cargo(&["build", "-p", "ds-local", "-p", "ai-receptionist"]).run()?;
    let report = env.target_dir.join("e2e-report.json");
    let _ = std::fs::remove_file(&report);
    let ok = if can_use_network_namespace(env) {
        println!("    running ds-local and Chromium in a loopback-only network namespace");
        let exe = std::env::current_exe().context("cannot locate the xtask binary")?;
        env.command("unshare")
            .args(["--net", "--", "sh", "-c", "ip link set lo up && exec \"$0\" e2e-in-namespace"])
            .arg(exe)
            .succeeds()
    } else {
        println!(
            "    WARNING: cannot create a network namespace (needs root and unshare); using host loopback"
        );
        e2e_in_namespace(env).is_ok()
    };
    let text = std::fs::read_to_string(&report).context("Playwright wrote no JSON report")?;
    let json: serde_json::Value =
        serde_json::from_str(&text).context("Playwright's JSON report is not JSON")?;
    let stat = |key: &str| json["stats"][key].as_u64().unwrap_or(0);
    let passed = stat("expected") + stat("flaky");
    let failed = stat("unexpected");
    if !ok && failed == 0 {
        return Ok((passed, 1));
    }
    Ok((passed, failed))
}

fn can_use_network_namespace(env: &Env) -> bool {
    env.command("unshare").args(["--net", "--", "true"]).output().is_some()
}

/// Starts ds-local and runs Playwright against it; the report lands in `target/e2e-report.json`.
/// Runs inside the network namespace that [`e2e`] made (or on the host as a fallback).
pub fn e2e_in_namespace(env: &Env) -> anyhow::Result<()> {
    let server = LocalServer::start(env, "127.0.0.1:0")?;
    let report = env.target_dir.join("e2e-report.json");
    let ok = env
        .command(env.root.join("node_modules/.bin/playwright"))
        .args(["test", "--config", "tests/e2e/playwright.config.ts"])
        .env("DS_BASE_URL", &server.base_url)
        .env("PLAYWRIGHT_JSON_OUTPUT_NAME", &report)
        .succeeds();
    drop(server);
    if !ok {
        bail!("Playwright reported failures");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_result_lines_are_summed() {
        let out = "running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(count_cargo_results(out), (5, 1));
    }

    #[test]
    fn lines_that_are_not_results_are_ignored() {
        assert_eq!(count_cargo_results("3 passed; 1 failed\nerror: could not compile"), (0, 0));
    }
}
