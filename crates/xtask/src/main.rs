//! `cargo xtask <command>`: the project's build and test driver.
//!
//! - `setup`: install what is missing (idempotent), check versions of what is there.
//! - `dist`: release builds of the hosted page (`dist/app/`) and the embed bundle (`dist/elements/`).
//! - `demo`: setup + dist + ds-local with the demo account on 127.0.0.1:8787 and the partner CRM
//!   example on 127.0.0.1:8788, until Ctrl-C.
//! - `test`: setup, then every test tier, ending with one `summary: N passed, N failed` line.
//! - `chaos`: failure scenarios (cut sockets, killed server, short tokens, netem); not part of `test`.
//! - `check-deps`: only the dependency-direction check.

mod bench;
mod chaos;
mod demo;
mod dist;
mod process;
mod setup;
mod test;
mod test_hardening;

use anyhow::bail;

fn main() {
    if let Err(error) = run() {
        // `{:#}` prints the cause chain on one line; no backtrace noise for an expected failure.
        eprintln!("xtask: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let env = process::Env::detect()?;
    match command {
        "setup" => setup::run(&env),
        "dist" => {
            setup::run(&env)?;
            dist::run(&env).map(|_| ())
        }
        "demo" => demo::run(&env, &args[1..]),
        "test" => test::run(&env, &args[1..]),
        "bench" => bench::run(&env, &args[1..]),
        "chaos" => chaos::run(&env, &args[1..]),
        "fuzz" => test_hardening::fuzz(&env, &args[1..]),
        // Internal: the part of the e2e tier that runs inside the loopback-only namespace.
        "e2e-in-namespace" => test::e2e_in_namespace(&env),
        "wasm-in-namespace" => test::wasm_in_namespace(&env),
        "check-deps" => {
            if !test::check_dependency_direction(&env)? {
                bail!("a sans-IO crate depends on a browser or runtime crate");
            }
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("usage: cargo xtask <setup|dist|demo|test|bench|chaos|fuzz|check-deps>");
            Ok(())
        }
        other => bail!("unknown xtask command `{other}`; try `cargo xtask help`"),
    }
}
