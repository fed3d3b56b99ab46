//! Figure 7b: idle signed-in sessions held at once, and ds-local's resident memory per session,
//! read at each step up to the target (just under the machine's 20,000 file-descriptor limit).
//! Each session is a real socket that authenticated and answers the server's pings.

use std::time::Duration;

use anyhow::Context;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::Target;
use crate::platform::Platform;
use crate::procfs;
use crate::ws::Socket;

/// ds-local keeps at most this many live sessions per user (protocol.md §16.3).
const SESSIONS_PER_USER: usize = 5;
const PARALLEL_SIGN_INS: usize = 16;
/// Time for the server to settle (allocator, hub bookkeeping) before memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// Window over which the server's CPU is read while every session idles.
const IDLE_CPU_WINDOW: Duration = Duration::from_secs(10);

pub async fn run(target: &Target, steps: &[usize]) -> anyhow::Result<Value> {
    let platform = Platform::new(target)?;
    let pid = target.server_pid;
    let goal = steps.iter().copied().max().unwrap_or(0);
    let account = platform.create_account("sessions").await?;
    let users = platform.create_users(&account, goal.div_ceil(SESSIONS_PER_USER), 10_000).await?;
    // One token per user, used by its five sockets: tokens are bearer credentials.
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let tokens = platform.tokens(&ids).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_before = procfs::rss_bytes(pid)?;
    let fds_before = procfs::open_fds(pid)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let drop_reason = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let mut held = 0;
    let mut first_error = None;
    let mut readings = Vec::new();
    for &step in steps {
        let wanted = step.saturating_sub(held);
        // Each socket starts answering pings the moment it is signed in: a ramp can take longer
        // than ds-local's ping interval.
        let results: Vec<anyhow::Result<f64>> = stream::iter(held..held + wanted)
            .map(|i| {
                let token = tokens[i / SESSIONS_PER_USER].clone();
                let base = platform.base().to_owned();
                let (stop, dropped, reason) = (stop_rx.clone(), dropped.clone(), drop_reason.clone());
                async move {
                    let started = std::time::Instant::now();
                    let socket = Socket::signed_in(&base, &token).await?;
                    let took = started.elapsed().as_secs_f64() * 1000.0;
                    tokio::spawn(async move {
                        if let Err(why) = socket.hold(stop).await {
                            dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            reason.lock().expect("no panics while held").get_or_insert(why);
                        }
                    });
                    Ok(took)
                }
            })
            .buffer_unordered(PARALLEL_SIGN_INS)
            .collect()
            .await;
        let mut sign_in_ms = Vec::new();
        for result in results {
            match result {
                Ok(took) => {
                    held += 1;
                    sign_in_ms.push(took);
                }
                Err(error) => {
                    first_error.get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
        tokio::time::sleep(SETTLE).await;
        let rss = procfs::rss_bytes(pid)?;
        let lost = dropped.load(std::sync::atomic::Ordering::Relaxed);
        readings.push(json!({
            "sessions": held - lost,
            "rss_bytes": rss,
            "rss_per_session_bytes": (rss.saturating_sub(rss_before)) as f64 / (held - lost).max(1) as f64,
            "server_fds": procfs::open_fds(pid)?,
            "sign_in_ms": crate::signalling::percentiles(&mut sign_in_ms),
        }));
        if first_error.is_some() {
            break;
        }
    }
    let idle_cpu = procfs::CpuWindow::start(pid)?;
    tokio::time::sleep(IDLE_CPU_WINDOW).await;
    let idle_cores = idle_cpu.cores().context("reading ds-local's CPU")?;
    let lost = dropped.load(std::sync::atomic::Ordering::Relaxed);
    let _ = stop_tx.send(true);
    Ok(json!({
        "target": goal,
        "held": held - lost,
        "dropped_while_idle": lost,
        "first_drop_reason": drop_reason.lock().expect("no panics while held").clone(),
        "first_error": first_error,
        "rss_before_bytes": rss_before,
        "server_fds_before": fds_before,
        "idle_server_cores": idle_cores,
        "steps": readings,
    }))
}
