//! `cargo xtask setup`: installs what is missing, idempotently, and refuses wrong versions.
//!
//! Versions that fit together on these machines are recorded in `shared/guide/toolchain.md`;
//! trunk is pinned here, wasm-bindgen-cli follows the `wasm-bindgen` crate in Cargo.lock.

use std::path::Path;

use anyhow::{Context, bail};

use crate::process::{Env, step};

/// trunk 0.22 needs a newer rustc than these machines have.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The binaryen release npm installs (Debian's binaryen 108 breaks wasm-bindgen 0.2.130 output).
pub const WASM_OPT_VERSION: &str = "132";

pub fn run(env: &Env) -> anyhow::Result<()> {
    step("setup: checking the toolchain");
    wasm_target(env)?;
    let wasm_bindgen = wasm_bindgen_version(&env.root.join("Cargo.lock"))?;
    cargo_tool(env, "wasm-bindgen", "wasm-bindgen-cli", &wasm_bindgen, false)?;
    // The test runner ships in the same package; check it is the same build.
    check_version(env, "wasm-bindgen-test-runner", &wasm_bindgen)?;
    cargo_tool(env, "trunk", "trunk", TRUNK_VERSION, true)?;
    npm_packages(env)?;
    check_version(env, "wasm-opt", WASM_OPT_VERSION)?;
    chromium(env)?;
    println!("    setup complete");
    Ok(())
}

fn wasm_target(env: &Env) -> anyhow::Result<()> {
    let installed =
        env.command("rustup").args(["target", "list", "--installed"]).output().unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        println!("    wasm32-unknown-unknown target: present");
        return Ok(());
    }
    println!("    wasm32-unknown-unknown target: installing");
    env.command("rustup").args(["target", "add", "wasm32-unknown-unknown"]).run()
}

/// The exact version of the `wasm-bindgen` crate in Cargo.lock (wasm-bindgen-cli must equal it).
pub fn wasm_bindgen_version(lock: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(lock).with_context(|| format!("cannot read {}", lock.display()))?;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock names no wasm-bindgen package; run `cargo generate-lockfile`")
}

/// The version a tool on the project PATH reports, if it runs.
fn version_of(env: &Env, program: &str) -> Option<(std::path::PathBuf, String)> {
    let path = env.which(program)?;
    let text = env.command(&path).arg("--version").output()?;
    Some((path, text.trim().to_owned()))
}

fn reports_version(text: &str, wanted: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '_')
        .any(|word| word == wanted || word.strip_prefix('v') == Some(wanted))
}

fn check_version(env: &Env, program: &str, wanted: &str) -> anyhow::Result<()> {
    match version_of(env, program) {
        Some((path, text)) if reports_version(&text, wanted) => {
            println!("    {program} {wanted}: present ({})", path.display());
            Ok(())
        }
        Some((path, text)) => bail!(
            "{program} at {} reports `{text}` but this project needs {wanted}. It comes first on PATH \
             (node_modules/.bin, then {}, then your PATH); remove it or fix PATH, then run `cargo xtask setup`.",
            path.display(),
            env.cargo_bin.display()
        ),
        None => bail!("{program} is not installed; run `cargo xtask setup`"),
    }
}

fn cargo_tool(env: &Env, program: &str, package: &str, version: &str, locked: bool) -> anyhow::Result<()> {
    if let Some((path, text)) = version_of(env, program) {
        if reports_version(&text, version) {
            println!("    {program} {version}: present");
            return Ok(());
        }
        if !path.starts_with(&env.cargo_bin) {
            bail!(
                "{program} at {} reports `{text}`, this project needs {version}, and it shadows cargo's \
                 bin folder on PATH. Remove it (or put {} first), then run `cargo xtask setup`.",
                path.display(),
                env.cargo_bin.display()
            );
        }
        println!("    {program}: found `{text}`, replacing with {version}");
    }
    println!("    {program} {version}: installing with cargo install (takes minutes on a cold machine)");
    let mut cmd = env.cargo(&["install", package, "--version", version]);
    // wasm-bindgen-cli's own lockfile names a crate version the registry here lacks: no --locked.
    if locked {
        cmd.arg("--locked");
    }
    cmd.run()?;
    check_version(env, program, version)
}

fn npm_packages(env: &Env) -> anyhow::Result<()> {
    let lock = std::fs::read(env.root.join("package-lock.json")).context("package-lock.json is missing")?;
    let stamp_path = env.root.join("node_modules/.ds-installed-lock");
    let fingerprint = format!("{:x}", crc(&lock));
    if std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == fingerprint) {
        println!("    npm packages: up to date with package-lock.json");
        return Ok(());
    }
    println!("    npm packages: installing from package-lock.json (npm ci)");
    env.command("npm").args(["ci", "--no-audit", "--no-fund"]).run()?;
    std::fs::write(&stamp_path, fingerprint)?;
    Ok(())
}

/// A cheap content fingerprint (FNV-1a) for the lockfile stamp.
fn crc(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn chromium(env: &Env) -> anyhow::Result<()> {
    let have = |p: &str| Path::new(p).is_file();
    if !(have("/usr/bin/chromium") && have("/usr/bin/chromedriver")) {
        println!("    chromium + chromium-driver: installing from Debian (apt-get)");
        let root = env.command("id").arg("-u").output().is_some_and(|uid| uid.trim() == "0");
        let apt = |args: &[&str]| -> anyhow::Result<()> {
            if root {
                env.command("apt-get").args(args).run()
            } else {
                env.command("sudo").arg("apt-get").args(args).run()
            }
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "chromium", "chromium-driver"])?;
    }
    let browser = env.command("/usr/bin/chromium").arg("--version").output().unwrap_or_default();
    let driver = env.command("/usr/bin/chromedriver").arg("--version").output().unwrap_or_default();
    let major = |text: &str| {
        text.split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .and_then(|v| v.split('.').next())
            .map(str::to_owned)
    };
    match (major(&browser), major(&driver)) {
        (Some(b), Some(d)) if b == d => {
            println!("    chromium {b} + chromedriver {d}: present");
            Ok(())
        }
        _ => bail!(
            "chromium (`{}`) and chromedriver (`{}`) must both be installed with the same major version",
            browser.trim(),
            driver.trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_words_are_matched_exactly() {
        assert!(reports_version("wasm-bindgen 0.2.130", "0.2.130"));
        assert!(!reports_version("wasm-bindgen 0.2.1300", "0.2.130"));
        assert!(reports_version("wasm-opt version 132 (version_132)", "132"));
        assert!(!reports_version("wasm-opt version 108", "132"));
        assert!(reports_version("trunk 0.21.14", "0.21.14"));
    }

    #[test]
    fn wasm_bindgen_version_is_read_from_the_lockfile() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("Cargo.lock");
        std::fs::write(
            &lock,
            "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9.9.9\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n",
        )
        .unwrap();
        assert_eq!(wasm_bindgen_version(&lock).unwrap(), "0.2.130");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
