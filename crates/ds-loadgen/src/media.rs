//! Figure 8: concurrent bridged calls. Each call is user → user by extension: a caller session
//! dials a callee's extension, the callee's session answers, and ds-local bridges the two legs,
//! forwarding the Opus each peer sends. At each step the server's CPU (cores) and resident
//! memory are read from /proc over a window, and packet loss is frames sent by all peers in the
//! window vs frames received by all peers (every frame sent should reach the other leg).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::bail;
use ds_protocol::signalling::{ClientMessage, ServerMessage};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::Target;
use crate::peer::{Peer, PeerStats, tone_frames};
use crate::platform::{Platform, User};
use crate::procfs;
use crate::ws::Socket;

/// Calls set up at once while ramping to the next step.
const PARALLEL_SETUPS: usize = 8;
/// Time for new calls' DTLS and first packets before a window starts.
const SETTLE: Duration = Duration::from_secs(3);
/// A step is abandoned when more than this share of its new calls fail to connect.
const MAX_FAILED_SHARE: f64 = 0.1;

pub async fn run(target: &Target, steps: &[usize], window: u64) -> anyhow::Result<Value> {
    let platform = Platform::new(target)?;
    let pid = target.server_pid;
    let most = steps.iter().copied().max().unwrap_or(0);
    let account = platform.create_account("media").await?;
    let users = platform.create_users(&account, most * 2, 3000).await?;
    let frames = tone_frames()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = procfs::rss_bytes(pid)?;
    let idle = procfs::CpuWindow::start(pid)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_cores = idle.cores()?;

    let mut peers: Vec<Arc<PeerStats>> = Vec::new();
    let mut calls = 0;
    let mut failures = 0;
    let mut first_error = None;
    let mut readings = Vec::new();
    let me = std::process::id();
    for &step in steps {
        let new: Vec<anyhow::Result<[Arc<PeerStats>; 2]>> = stream::iter(calls..step)
            .map(|i| {
                let caller = users[2 * i].clone();
                let callee = users[2 * i + 1].clone();
                bridged_call(platform.clone(), caller, callee, frames.clone(), stop_rx.clone())
            })
            .buffer_unordered(PARALLEL_SETUPS)
            .collect()
            .await;
        let tried = new.len();
        let mut failed_now = 0;
        for result in new {
            match result {
                Ok(pair) => {
                    peers.extend(pair);
                    calls += 1;
                }
                Err(error) => {
                    failed_now += 1;
                    first_error.get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
        failures += failed_now;
        // Later steps dial the next users; keep the index moving past failed pairs.
        calls = calls.max(step.min(calls + failed_now));
        tokio::time::sleep(SETTLE).await;
        let connected = peers.iter().filter(|p| p.connected.load(Ordering::Relaxed)).count();
        let (sent_0, received_0) = totals(&peers);
        let server = procfs::CpuWindow::start(pid)?;
        let client = procfs::CpuWindow::start(me)?;
        let (server_drops_0, client_drops_0) =
            (procfs::udp_receive_drops(pid)?, procfs::udp_receive_drops(me)?);
        tokio::time::sleep(Duration::from_secs(window)).await;
        let server_cores = server.cores()?;
        let client_cores = client.cores()?;
        let (sent_1, received_1) = totals(&peers);
        let server_drops = procfs::udp_receive_drops(pid)?.saturating_sub(server_drops_0);
        let client_drops = procfs::udp_receive_drops(me)?.saturating_sub(client_drops_0);
        let rss = procfs::rss_bytes(pid)?;
        let live_calls = peers.len() / 2;
        let sent = sent_1 - sent_0;
        let received = received_1 - received_0;
        readings.push(json!({
            "calls": live_calls,
            "connected_legs": connected,
            "server_cores": server_cores,
            "server_cores_per_call": server_cores / live_calls.max(1) as f64,
            "server_rss_bytes": rss,
            "rss_per_call_bytes": rss.saturating_sub(rss_before) as f64 / live_calls.max(1) as f64,
            "frames_sent": sent,
            "frames_received": received,
            // Frames in flight at the window edges make a few frames of noise either way.
            "packet_loss": if sent > 0 { (1.0 - received as f64 / sent as f64).max(0.0) } else { f64::NAN },
            "frames_per_second_per_leg": sent as f64 / window as f64 / (2 * live_calls).max(1) as f64,
            "client_cores": client_cores,
            // Datagrams the kernel dropped at a full receive buffer during the window: at
            // ds-local's media socket, and at the load client's peers' sockets.
            "server_socket_drops": server_drops,
            "client_socket_drops": client_drops,
            "failed_setups": failed_now,
        }));
        if tried > 0 && failed_now as f64 / tried as f64 > MAX_FAILED_SHARE {
            break;
        }
    }
    let _ = stop_tx.send(true);
    Ok(json!({
        "rss_before_bytes": rss_before,
        "idle_server_cores": idle_cores,
        "failed_setups": failures,
        "first_error": first_error,
        "window_seconds": window,
        "steps": readings,
    }))
}

fn totals(peers: &[Arc<PeerStats>]) -> (u64, u64) {
    peers.iter().fold((0, 0), |(s, r), p| {
        (s + p.sent.load(Ordering::Relaxed), r + p.received.load(Ordering::Relaxed))
    })
}

/// Sets up one call from `caller` to `callee`'s extension with media on both legs; the two
/// sockets and peers stay up (in background tasks) until `stop`.
async fn bridged_call(
    platform: Platform,
    caller: User,
    callee: User,
    frames: Arc<Vec<Vec<u8>>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<[Arc<PeerStats>; 2]> {
    let mut callee_socket = Socket::signed_in(platform.base(), &platform.token(&callee.id).await?).await?;
    let mut caller_socket = Socket::signed_in(platform.base(), &platform.token(&caller.id).await?).await?;

    let (mut caller_peer, offer) = Peer::offerer(frames.clone(), stop.clone()).await?;
    let req_id = caller_socket.req_id();
    caller_socket
        .send(&ClientMessage::CallCreate {
            req_id: Some(req_id.clone()),
            destination: callee.extension.clone(),
            sdp: offer,
            caller_id: None,
        })
        .await?;
    let trying = caller_socket
        .until(|f| matches!(f, ServerMessage::CallTrying { req_id: Some(r), .. } if *r == req_id))
        .await?;
    let ServerMessage::CallTrying { call_id: caller_call, .. } = trying else {
        unreachable!("matched above")
    };

    // The callee's side: incoming, then ds-local's offer for that call.
    let incoming = callee_socket.until(|f| matches!(f, ServerMessage::CallIncoming { .. })).await?;
    let ServerMessage::CallIncoming { call_id: callee_call, .. } = incoming else {
        unreachable!("matched above")
    };
    let offer = callee_socket
        .until(|f| matches!(f, ServerMessage::SdpOffer { call_id, .. } if *call_id == callee_call))
        .await?;
    let ServerMessage::SdpOffer { sdp, .. } = offer else { unreachable!("matched above") };
    let (callee_peer, answer) = Peer::answerer(&sdp, frames, stop.clone()).await?;
    callee_socket.send(&ClientMessage::CallAnswer { call_id: callee_call.clone() }).await?;
    callee_socket.send(&ClientMessage::SdpAnswer { call_id: callee_call.clone(), sdp: answer }).await?;

    let answer = caller_socket
        .until(|f| matches!(f, ServerMessage::SdpAnswer { call_id, .. } if *call_id == caller_call))
        .await?;
    let ServerMessage::SdpAnswer { sdp, .. } = answer else { unreachable!("matched above") };
    caller_peer.accept_answer(sdp);
    caller_socket
        .until(|f| matches!(f, ServerMessage::CallAnswered { call_id, .. } if *call_id == caller_call))
        .await?;

    // Media connects within a few seconds or the call does not count.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(caller_peer.stats.connected.load(Ordering::Relaxed)
        && callee_peer.stats.connected.load(Ordering::Relaxed))
    {
        if tokio::time::Instant::now() > deadline {
            bail!("media of call {caller_call} did not connect within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = [caller_peer.stats.clone(), callee_peer.stats.clone()];
    for socket in [caller_socket, callee_socket] {
        let stop = stop.clone();
        tokio::spawn(async move {
            // Keep the peers alive as long as their sockets: dropping a Peer only drops its
            // answer channel, the task lives on until `stop`.
            socket.hold(stop).await
        });
    }
    drop((caller_peer, callee_peer));
    Ok(stats)
}
