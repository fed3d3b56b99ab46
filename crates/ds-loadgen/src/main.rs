//! `ds-loadgen`: the load client of `cargo xtask bench`, in its own process so that ds-local's
//! CPU and memory (read from /proc by pid) are the server's alone.
//!
//! Every subcommand talks to a running ds-local on loopback only, with bounded loops and
//! timeouts, and prints one JSON object as its last stdout line for xtask to read.
//!
//! - `signalling`: `call.create` → `call.trying` latency with 1, 100, 1,000 concurrent sessions,
//!   `ping` → `pong` on the same sockets as the floor.
//! - `sessions`: idle signed-in sessions held, and ds-local's memory per session, up to a target.
//! - `media`: concurrent bridged user-to-user calls with real WebRTC (str0m) and Opus; ds-local's
//!   CPU and memory per call, and packet loss.
//! - `seed`: creates an account and a user over REST, then inserts call-log rows for them
//!   straight into ds-local's SQLite database.

mod media;
mod peer;
mod platform;
mod procfs;
mod seed;
mod sessions;
mod signalling;
mod ws;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about = "Load client for `cargo xtask bench` (loopback only)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
pub struct Target {
    /// ds-local's base URL, e.g. http://127.0.0.1:8787 (must be a loopback address).
    #[arg(long)]
    pub base: String,
    /// ds-local's platform API key.
    #[arg(long, default_value = "sk_test_local")]
    pub platform_key: String,
    /// ds-local's process id, to read its CPU time and memory from /proc.
    #[arg(long)]
    pub server_pid: u32,
}

#[derive(Debug, Subcommand)]
enum Command {
    Signalling {
        #[command(flatten)]
        target: Target,
        /// Concurrent signed-in sessions per level.
        #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
        levels: Vec<usize>,
        /// Calls (and pings) each level measures in all, spread over its sessions.
        #[arg(long, default_value_t = 2000)]
        samples: usize,
    },
    Sessions {
        #[command(flatten)]
        target: Target,
        /// Sessions at which memory is read; the last is the target.
        #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000,19500")]
        steps: Vec<usize>,
    },
    Media {
        #[command(flatten)]
        target: Target,
        /// Concurrent bridged calls at which CPU, memory and loss are measured.
        #[arg(long, value_delimiter = ',', default_value = "100,200,300")]
        steps: Vec<usize>,
        /// Seconds each step is measured over (after the calls settle).
        #[arg(long, default_value_t = 10)]
        window: u64,
    },
    Seed {
        #[command(flatten)]
        target: Target,
        /// ds-local's SQLite database file (in its data dir).
        #[arg(long)]
        database: std::path::PathBuf,
        #[arg(long, default_value_t = 100_000)]
        count: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        match args.command {
            Command::Signalling { target, levels, samples } => {
                signalling::run(&target, &levels, samples).await
            }
            Command::Sessions { target, steps } => sessions::run(&target, &steps).await,
            Command::Media { target, steps, window } => media::run(&target, &steps, window).await,
            Command::Seed { target, database, count } => seed::run(&target, &database, count).await,
        }
    })?;
    println!("{result}");
    // Thousands of sockets and peer tasks: exit without waiting for each to wind down.
    runtime.shutdown_background();
    Ok(())
}
