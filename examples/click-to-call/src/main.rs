//! `click-to-call`: runs the seed's backend workflow against a DialStack API (ds-local by
//! default) and logs the resulting call from the signed `call.end` webhook.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use click_to_call::{DialStack, LOGGED_EVENTS, Receiver, Store, WEBHOOK_PATH, wait_for_call_end};

/// Provision an account and a user, ring the user then bridge a destination (click-to-call),
/// and log `call.end` / `voicemail.new` / `recording.available` webhooks to SQLite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// DialStack API base URL.
    #[arg(long, env = "DIALSTACK_API_BASE", default_value = "http://127.0.0.1:8787")]
    api_base: String,
    /// Platform API key (stays in this backend; never send it to a browser).
    #[arg(long, env = "DIALSTACK_KEY", default_value = "sk_test_local")]
    api_key: String,
    /// Where the webhook receiver listens (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The URL DialStack should post to, when it differs from the listening address (a tunnel).
    #[arg(long)]
    public_url: Option<String>,
    /// The SQLite file of call activity.
    #[arg(long, default_value = "click-to-call.sqlite3")]
    db: PathBuf,
    /// Use this existing account instead of provisioning a new one (needs --user).
    #[arg(long, requires = "user")]
    account: Option<String>,
    /// Use this existing user (e.g. the demo's Alice, whose softphone you have open).
    #[arg(long, requires = "account")]
    user: Option<String>,
    /// The destination to bridge once the user answers.
    #[arg(long, default_value = "+16175551234")]
    to: String,
    /// How long to wait for the call's `call.end`.
    #[arg(long, default_value_t = 120)]
    wait_seconds: u64,
    /// Keep receiving webhooks after the call ended, until Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// Place no call: register the endpoint and log whatever calls happen, until Ctrl-C.
    #[arg(long, conflicts_with = "serve")]
    receive_only: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "click_to_call=info".into()),
        )
        .init();
    let args = Args::parse();
    let store = Store::open(&args.db).await.with_context(|| format!("cannot open {}", args.db.display()))?;
    let receiver = Receiver::new(store.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let router = receiver.clone().router();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    println!("webhook receiver on http://{local}{WEBHOOK_PATH} (table: http://{local}/calls)");

    let ds = DialStack::new(&args.api_base, &args.api_key);
    let (account, user) = match (args.account, args.user) {
        (Some(account), Some(user)) => (account, user),
        _ => {
            // Step 1 of the seed: a customer and a user.
            let account = ds.create_account("contact@joneschiro.com").await?;
            let user = ds.create_user(&account, "Dr. Alice Smith").await?;
            println!("provisioned account {account} and user {user} (Dr. Alice Smith)");
            (account, user)
        }
    };
    let webhook_url = args.public_url.unwrap_or_else(|| format!("http://{local}{WEBHOOK_PATH}"));
    let endpoint = ds.create_webhook_endpoint(&account, &webhook_url, LOGGED_EVENTS).await?;
    receiver.trust_secret(endpoint.secret.clone());
    println!("webhook endpoint {} registered for {}", endpoint.id, LOGGED_EVENTS.join(", "));

    // Step 2: ring the user's devices, then bridge the destination.
    let result = async {
        if args.receive_only {
            println!("receiving webhooks until Ctrl-C");
            tokio::signal::ctrl_c().await?;
            return anyhow::Ok(());
        }
        let call = ds.create_call(&account, &user, &args.to).await?;
        println!("click-to-call {call}: ringing {user}, then {}", args.to);
        // Step 3 happens in the webhook handler; here we only wait for its row.
        match wait_for_call_end(&store, &call, Duration::from_secs(args.wait_seconds)).await? {
            Some(row) => {
                println!(
                    "call.end logged: {} status={} duration={}s",
                    row.call_id,
                    row.status.as_deref().unwrap_or("?"),
                    row.duration_seconds.unwrap_or_default()
                );
                println!("{}", serde_json::to_string_pretty(&row)?);
            }
            None => println!("no call.end for {call} within {} s", args.wait_seconds),
        }
        if args.serve {
            println!("receiving webhooks until Ctrl-C");
            tokio::signal::ctrl_c().await?;
        }
        anyhow::Ok(())
    }
    .await;

    // Leave no endpoint behind that DialStack would keep retrying once we are gone.
    if let Err(error) = ds.delete_webhook_endpoint(&account, &endpoint.id).await {
        eprintln!("could not delete webhook endpoint {}: {error}", endpoint.id);
    }
    let _ = stop.send(());
    server.await.context("receiver task")?.context("receiver")?;
    store.close().await;
    result
}
