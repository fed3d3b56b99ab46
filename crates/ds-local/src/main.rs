//! `ds-local` command line: parse flags, bind, serve until SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// The local DialStack platform.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Where ds-local keeps its database and keys.
    #[arg(long, default_value = "./.ds-local")]
    data_dir: PathBuf,
    /// The platform API key partners' backends use (`sk_test_…`).
    #[arg(long, default_value = "sk_test_local")]
    platform_key: String,
    /// Seed a demo account with users.
    #[arg(long)]
    demo: bool,
    /// Folder with the built web assets (`app/`, `elements/`), as written by `cargo xtask dist`.
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// Folder with the embedding examples, served under `/examples/`.
    #[arg(long)]
    examples_dir: Option<PathBuf>,
    /// Shorten ring timeouts, answer delays and the call-survival grace, for tests.
    #[arg(long)]
    fast_timers: bool,
    /// REST requests per second per API key: `RATE`, `RATE/BURST` or `off`.
    #[arg(long, value_name = "RATE[/BURST]")]
    rate_limit_api_key: Option<ds_local::rate_limit::Limit>,
    /// REST requests per second per account session (per account) and per user token (per user).
    #[arg(long, value_name = "RATE[/BURST]")]
    rate_limit_token: Option<ds_local::rate_limit::Limit>,
    /// Signalling frames per second per user.
    #[arg(long, value_name = "RATE[/BURST]")]
    rate_limit_signalling: Option<ds_local::rate_limit::Limit>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries the contract line `ds-local listening on http://ADDR`
    // that scripts parse, and the demo instructions.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "ds_local=info".into()),
        )
        .init();
    let args = Args::parse();
    if !(args.platform_key.starts_with("sk_test_") || args.platform_key.starts_with("sk_live_")) {
        anyhow::bail!("--platform-key must start with sk_test_ or sk_live_");
    }
    let defaults = ds_local::rate_limit::RateLimits::default();
    let rate_limits = ds_local::rate_limit::RateLimits {
        api_key: args.rate_limit_api_key.unwrap_or(defaults.api_key),
        token: args.rate_limit_token.unwrap_or(defaults.token),
        signalling: args.rate_limit_signalling.unwrap_or(defaults.signalling),
    };
    let config = ds_local::Config {
        rate_limits,
        static_dir: args.static_dir,
        examples_dir: args.examples_dir,
        data_dir: Some(args.data_dir.clone()),
        platform_keys: vec![args.platform_key.clone()],
        demo: args.demo,
        platform_webhook_url: std::env::var("DS_LOCAL_WEBHOOK_URL").ok().filter(|url| !url.is_empty()),
        ..ds_local::Config::in_memory()
    };
    let state = ds_local::AppState::open(config)
        .await
        .with_context(|| format!("cannot open the data dir {}", args.data_dir.display()))?;
    // Calls a killed predecessor left live cannot still be going on: end them (and tell webhook
    // receivers) before anything new starts.
    let closed = ds_local::signalling::cdr::close_calls_left_live(&state)
        .await
        .context("cannot close the calls a previous run left live")?;
    if closed > 0 {
        tracing::info!(closed, "ended calls left live by a previous run");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    // WebRTC media binds the listen address's IP, so browsers reach it where they reach us.
    let timers = if args.fast_timers { ds_local::signalling::Timers::fast() } else { Default::default() };
    let hub = ds_local::signalling::attach(
        &state,
        ds_local::signalling::SignallingConfig { media_ip: local.ip(), timers },
    )
    .context("cannot start signalling")?;
    tracing::info!(media = %hub.media_addr(), fast_timers = args.fast_timers, "signalling ready");
    println!("ds-local listening on http://{local}");
    if args.demo {
        println!("{}", ds_local::demo::instructions(&format!("http://{local}"), &args.platform_key));
    }
    ds_local::server::serve(listener, ds_local::app(state.clone()), Default::default(), shutdown_signal())
        .await
        .context("server failed")?;
    state.close().await;
    // Whoever started us may have gone already (its end of our stdout closed): `println!` would
    // panic on the broken pipe during an orderly stop.
    let _ = writeln!(std::io::stdout(), "ds-local stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler works on unix");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
