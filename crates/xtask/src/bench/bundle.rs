//! Figure 1, bundle: raw, gzip and brotli bytes of `dist/elements/` and `dist/app/` (the same
//! counting as `cargo xtask dist` and its CI gate), and where the embed wasm's bytes go.
//!
//! Sizes are deterministic, so each is one reading. The baseline is the product budget of
//! issue 10 (100 KB brotli for the embed bundle; the goal is 80 KB).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::report::{Figure, Row, Summary};
use crate::dist;
use crate::process::{Env, step};

/// The budget issue 10 sets for the embed bundle, brotli bytes.
pub const PRODUCT_BUDGET_BROTLI: f64 = 100_000.0;
/// The goal issue 10 sets for the embed bundle, brotli bytes.
pub const GOAL_BROTLI: f64 = 80_000.0;
const TOP_FUNCTIONS: usize = 15;
const TOP_CRATES: usize = 12;

pub fn run(env: &Env) -> anyhow::Result<Figure> {
    let mut figure = Figure::new(1, "Bundle");
    step("bench 1/bundle: cargo xtask dist (release builds of dist/app and dist/elements)");
    let sizes = dist::run(env)?;
    let elements = env.dist_dir.join("elements");
    let per_file = per_file_sizes(&elements)?;
    let budget = [PRODUCT_BUDGET_BROTLI];
    figure.rows = vec![
        Row::new("dist/elements brotli", "B", Some(Summary::single(sizes.elements.brotli as f64))).against(
            "budget",
            &[sizes.elements.brotli as f64],
            &budget,
        ),
        Row::new("dist/elements brotli vs goal", "B", Some(Summary::single(sizes.elements.brotli as f64)))
            .against("goal", &[sizes.elements.brotli as f64], &[GOAL_BROTLI]),
        Row::new("dist/elements gzip", "B", Some(Summary::single(sizes.elements.gzip as f64))),
        Row::new("dist/elements raw", "B", Some(Summary::single(sizes.elements.raw as f64))),
        Row::new("dist/app brotli", "B", Some(Summary::single(sizes.app.brotli as f64))),
        Row::new("dist/app gzip", "B", Some(Summary::single(sizes.app.gzip as f64))),
        Row::new("dist/app raw", "B", Some(Summary::single(sizes.app.raw as f64))),
    ];
    figure.note(format!(
        "Shipped files only (wasm, js, css, html), each compressed on its own (gzip -9, brotli q11), as `cargo \
         xtask dist` counts them; the CI gate in `cargo xtask test` uses the same numbers (budget in force: {} B).",
        dist::embed_budget()
    ));
    let files: Vec<Value> = per_file
        .iter()
        .map(|(name, s)| json!({ "file": name, "raw": s.raw, "gzip": s.gzip, "brotli": s.brotli }))
        .collect();
    let contributors = match wasm_contributors(env) {
        Ok(c) => c,
        Err(error) => {
            figure.note(format!("largest contributors not measured: {error:#}"));
            Value::Null
        }
    };
    if let Some(crates) = contributors["crates"].as_array() {
        let list: Vec<String> = crates
            .iter()
            .take(6)
            .map(|c| {
                format!(
                    "{} {:.0} KB",
                    c["crate"].as_str().unwrap_or("?"),
                    c["bytes"].as_f64().unwrap_or(0.0) / 1000.0
                )
            })
            .collect();
        figure.note(format!(
            "largest crates in the embed wasm (code bytes before wasm-opt): {}",
            list.join(", ")
        ));
    }
    figure.details = json!({
        "elements": { "raw": sizes.elements.raw, "gzip": sizes.elements.gzip, "brotli": sizes.elements.brotli, "files": files },
        "app": { "raw": sizes.app.raw, "gzip": sizes.app.gzip, "brotli": sizes.app.brotli },
        "product_budget_brotli": PRODUCT_BUDGET_BROTLI,
        "goal_brotli": GOAL_BROTLI,
        "ci_budget_brotli": dist::embed_budget(),
        "wasm_contributors": contributors,
    });
    Ok(figure)
}

/// Each shipped file of `dir` with its sizes, largest brotli first.
fn per_file_sizes(dir: &Path) -> anyhow::Result<Vec<(String, dist::Sizes)>> {
    let mut files = Vec::new();
    for file in dist::files_below(dir)? {
        if !file.extension().is_some_and(|e| dist::SHIPPED_EXTENSIONS.iter().any(|x| e == *x)) {
            continue;
        }
        let bytes = std::fs::read(&file)?;
        let name = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        files.push((name, dist::file_sizes(&bytes)?));
    }
    files.sort_by_key(|(_, s)| std::cmp::Reverse(s.brotli));
    Ok(files)
}

/// `twiggy top` on the release wasm as cargo wrote it (before wasm-bindgen and wasm-opt strip
/// the names), grouped by crate, plus the largest functions. Proportions, not shipped bytes.
fn wasm_contributors(env: &Env) -> anyhow::Result<Value> {
    let twiggy = ensure_twiggy(env)?;
    let wasm = env.target_dir.join("wasm32-unknown-unknown/release/ds_elements.wasm");
    let text = env
        .command(&twiggy)
        .args(["top", "--format", "json"])
        .arg(&wasm)
        .output()
        .with_context(|| format!("twiggy top {} failed", wasm.display()))?;
    let items: Vec<Value> = serde_json::from_str(&text).context("twiggy's JSON output")?;
    let mut by_crate: BTreeMap<String, u64> = BTreeMap::new();
    let mut functions = Vec::new();
    let mut code_total = 0;
    for item in &items {
        let name = item["name"].as_str().unwrap_or_default();
        let bytes = item["shallow_size"].as_u64().unwrap_or(0);
        let Some(krate) = crate_of(name) else { continue };
        code_total += bytes;
        *by_crate.entry(krate).or_default() += bytes;
        if functions.len() < TOP_FUNCTIONS {
            functions.push(json!({ "function": strip_hash(name), "bytes": bytes }));
        }
    }
    let mut crates: Vec<(String, u64)> = by_crate.into_iter().collect();
    crates.sort_by_key(|(_, b)| std::cmp::Reverse(*b));
    let crates: Vec<Value> = crates
        .into_iter()
        .take(TOP_CRATES)
        .map(|(c, b)| json!({ "crate": c, "bytes": b, "share": b as f64 / code_total.max(1) as f64 }))
        .collect();
    Ok(
        json!({ "wasm": wasm.display().to_string(), "code_bytes": code_total, "crates": crates, "functions": functions }),
    )
}

/// Installs twiggy (idempotently, into cargo's bin folder) if it is not on the PATH.
fn ensure_twiggy(env: &Env) -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = env.which("twiggy") {
        return Ok(path);
    }
    step("bench: installing twiggy (cargo install --locked twiggy)");
    env.cargo(&["install", "--locked", "twiggy"]).run()?;
    match env.which("twiggy") {
        Some(path) => Ok(path),
        None => bail!("twiggy is not on the PATH after installing it"),
    }
}

/// The crate a function's symbol belongs to; `None` for sections, data and unnamed items.
/// For `<A as B>::f` it is A's crate: the type whose code this is.
fn crate_of(name: &str) -> Option<String> {
    if name.starts_with("custom section")
        || name.starts_with('"')
        || name.starts_with("data segment")
        || name.contains('[') && !name.contains("::")
    {
        return None;
    }
    let trimmed =
        name.trim_start_matches(['<', '&', '*']).trim_start_matches("mut ").trim_start_matches("const ");
    let trimmed = trimmed.trim_start_matches(['<', '&']);
    let end = trimmed.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
    let krate = &trimmed[..end];
    if krate.is_empty() || !trimmed[end..].starts_with("::") && !trimmed[end..].starts_with('[') {
        return None;
    }
    Some(krate.to_owned())
}

/// `f::h0123456789abcdef` → `f`; `core[c5930c85a12de822]::x` → `core::x`.
fn strip_hash(name: &str) -> String {
    let mut out = name.to_owned();
    if let Some(at) = out.rfind("::h")
        && out[at + 3..].len() == 16
        && out[at + 3..].chars().all(|c| c.is_ascii_hexdigit())
    {
        out.truncate(at);
    }
    while let Some(open) = out.find('[') {
        let Some(close) = out[open..].find(']') else { break };
        if out[open + 1..open + close].chars().all(|c| c.is_ascii_hexdigit()) {
            out.replace_range(open..open + close + 1, "");
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_attributed_to_the_crate_of_their_type() {
        assert_eq!(
            crate_of("ds_core::phone::Phone::handle_frame::hc99e02c3fc035b66").as_deref(),
            Some("ds_core")
        );
        assert_eq!(
            crate_of("<&mut serde_json::de::Deserializer<R> as serde_core::de::Deserializer>::deserialize_struct::h83")
                .as_deref(),
            Some("serde_json")
        );
        assert_eq!(crate_of("core[c5930c85a12de822]::num::flt2dec::format_exact").as_deref(), Some("core"));
    }

    #[test]
    fn sections_data_and_unnamed_code_belong_to_no_crate() {
        for name in [
            "custom section '__wasm_bindgen_unstable'",
            "\"function names\" subsection",
            "data segment \".rodata\"",
            "code[2]",
            "memory[0]",
        ] {
            assert_eq!(crate_of(name), None, "{name}");
        }
    }

    #[test]
    fn symbol_hashes_are_stripped_for_reading() {
        assert_eq!(
            strip_hash("ds_web::driver::Inner::submit::hbeb1bfed4e9b942c"),
            "ds_web::driver::Inner::submit"
        );
        assert_eq!(strip_hash("core[c5930c85a12de822]::num::fmt"), "core::num::fmt");
    }
}
