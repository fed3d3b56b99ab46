//! `ai-receptionist`: serves the voice app of `lib.rs` (see README.md for the commands).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "A tiny DialStack voice app: greets callers and records them")]
struct Args {
    /// Address to listen on (webhook and media socket); port 0 picks a free one, printed at start.
    #[arg(long, env = "RECEPTIONIST_LISTEN", default_value = "127.0.0.1:8790")]
    listen: SocketAddr,
    /// The platform's REST base.
    #[arg(long, env = "DIALSTACK_API", default_value = "http://127.0.0.1:8787")]
    api: String,
    /// Platform API key.
    #[arg(long, env = "DIALSTACK_KEY", default_value = "sk_test_local")]
    key: String,
    /// The voice app's secret (`GET /v1/voice-apps/{id}` shows it).
    #[arg(long, env = "VOICE_APP_SECRET")]
    secret: String,
    /// Media socket base as the platform reaches it (default: ws://<listen>).
    #[arg(long, env = "RECEPTIONIST_PUBLIC_WS")]
    public_ws: Option<String>,
    /// Folder for caller recordings.
    #[arg(long, env = "RECEPTIONIST_RECORDINGS", default_value = "recordings")]
    recordings: PathBuf,
    /// Where "press 1" transfers the caller: an extension number or a routing-target id.
    #[arg(long, env = "RECEPTIONIST_FRONT_DESK")]
    front_desk: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("ai_receptionist=info").init();
    let args = Args::parse();
    std::fs::create_dir_all(&args.recordings)
        .with_context(|| format!("cannot create {}", args.recordings.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot bind {}", args.listen))?;
    // The bound address, not the flag: `--listen 127.0.0.1:0` picks a free port, which the
    // media socket URL and whoever registers the webhook need to know.
    let local = listener.local_addr().context("cannot read the bound address")?;
    let config = ai_receptionist::Config {
        api_base: args.api.trim_end_matches('/').to_owned(),
        api_key: args.key,
        secret: args.secret,
        public_ws: args.public_ws.unwrap_or_else(|| format!("ws://{local}")),
        recordings: args.recordings,
        front_desk: args.front_desk,
    };
    println!("ai-receptionist listening on http://{local} (webhook: http://{local}/webhook)");
    axum::serve(listener, ai_receptionist::router(config)).await?;
    Ok(())
}
