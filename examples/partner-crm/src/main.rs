//! `partner-crm`: serve the mock clinic CRM with embedded DialStack elements.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use partner_crm::{CrmConfig, DEMO_ACCOUNT, DEMO_ALICE, Minter};

/// A mock clinic CRM embedding <ds-softphone>, <ds-screen-pop> and <ds-call-history>.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Where the CRM listens.
    #[arg(long, default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    /// DialStack API base this backend mints tokens with.
    #[arg(long, env = "DIALSTACK_API_BASE", default_value = "http://127.0.0.1:8787")]
    api_base: String,
    /// DialStack API base as browsers reach it, when it differs from --api-base.
    #[arg(long)]
    browser_api_base: Option<String>,
    /// Platform API key. Only this process ever sees it.
    #[arg(long, env = "DIALSTACK_KEY", default_value = "sk_test_local", hide_default_value = true)]
    api_key: String,
    /// The clinic's DialStack account (default: ds-local's demo account).
    #[arg(long, env = "DS_CRM_ACCOUNT", default_value = DEMO_ACCOUNT)]
    account: String,
    /// The DialStack user of the signed-in receptionist (default: the demo's Alice Smith).
    #[arg(long, env = "DS_CRM_USER", default_value = DEMO_ALICE)]
    user: String,
    /// The page's static files.
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// The built embed bundle (`cargo xtask dist` writes `dist/elements`).
    #[arg(long)]
    elements_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "partner_crm=info".into()),
        )
        .init();
    let args = Args::parse();
    let elements_dir = args.elements_dir.unwrap_or_else(CrmConfig::default_elements_dir);
    if !elements_dir.join("index.js").is_file() {
        eprintln!(
            "warning: {} has no index.js; run `cargo xtask dist` so the page can load the elements",
            elements_dir.display()
        );
    }
    let config = CrmConfig {
        minter: Minter::new(&args.api_base, &args.api_key, &args.account, &args.user),
        browser_api_base: args.browser_api_base.unwrap_or_else(|| args.api_base.clone()),
        web_dir: args.web_dir.unwrap_or_else(CrmConfig::default_web_dir),
        elements_dir,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // The first stdout line is a contract: scripts (cargo xtask demo) read the URL from it.
    println!("partner-crm listening on http://{}", listener.local_addr()?);
    axum::serve(listener, partner_crm::app(config)).with_graceful_shutdown(shutdown_signal()).await?;
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
