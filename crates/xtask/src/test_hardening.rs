//! Hardening tiers (issue 11).
//!
//! - `conformance` (a tier of `cargo xtask test`): `tests/conformance/run.sh --quick`,
//!   schemathesis against `/api/openapi.yaml` on a ds-local bound to 127.0.0.1, once per
//!   credential kind; passes with 0 server errors and 0 schema violations.
//! - `cargo xtask fuzz [SECONDS]`: every `cargo fuzz` target of `fuzz/` for a bounded time each
//!   (default 60 s). Needs nightly and cargo-fuzz; without them it says so and runs the stable
//!   smoke twin (`security_fuzz_smoke`), which the native tier also runs.
//!
//! The security suites (`crates/ds-local/tests/security_*.rs`) need no tier of their own: they
//! are ds-local integration tests, so the native tier runs them.

use crate::process::{Env, step};

/// The `cargo fuzz` targets of `fuzz/Cargo.toml`.
const FUZZ_TARGETS: &[&str] = &["parse_frames", "rest_body", "sdp_offer", "jwt_verify"];

/// Runs the quick schemathesis pass; true when it passed.
pub fn conformance(env: &Env) -> bool {
    step("conformance: schemathesis against /api/openapi.yaml (tests/conformance/run.sh --quick)");
    let script = env.root.join("tests/conformance/run.sh");
    let mut cmd = env.command("bash");
    cmd.arg(script).arg("--quick").env("CARGO_TARGET_DIR", &env.target_dir);
    match cmd.tee() {
        Ok((ok, _)) => ok,
        Err(error) => {
            eprintln!("conformance could not run: {error:#}");
            false
        }
    }
}

/// `cargo xtask fuzz [SECONDS]`.
pub fn fuzz(env: &Env, args: &[String]) -> anyhow::Result<()> {
    let seconds: u64 = match args.first() {
        Some(text) => {
            text.parse().map_err(|_| anyhow::anyhow!("usage: cargo xtask fuzz [SECONDS per target]"))?
        }
        None => 60,
    };
    let has_nightly = env.command("rustup").args(["run", "nightly", "rustc", "--version"]).succeeds();
    let has_cargo_fuzz = env.cargo(&["fuzz", "--version"]).succeeds();
    if !(has_nightly && has_cargo_fuzz) {
        step("fuzz: no nightly toolchain or cargo-fuzz here; running the stable smoke twin instead");
        return env.cargo(&["test", "-p", "ds-local", "--test", "security_fuzz_smoke"]).run();
    }
    let fuzz_dir = env.root.join("fuzz");
    let mut failed = Vec::new();
    for target in FUZZ_TARGETS {
        step(&format!("fuzz: {target} for {seconds} s"));
        let mut cmd = env.command("cargo");
        cmd.args(["+nightly", "fuzz", "run", target, "--", &format!("-max_total_time={seconds}")])
            .env("CARGO_TARGET_DIR", fuzz_dir.join("target"));
        cmd.0.current_dir(&fuzz_dir);
        let ok = cmd.succeeds();
        if !ok {
            failed.push(*target);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "fuzz targets crashed: {} (inputs under fuzz/artifacts/; add each as a seed of security_fuzz_smoke)",
            failed.join(", ")
        );
    }
    println!("fuzz: {} targets × {seconds} s, no crash", FUZZ_TARGETS.len());
    Ok(())
}
