//! Figure 7a: `call.create` → `call.trying` latency with N concurrent signed-in sessions, each
//! placing calls back to back. The floor is `ping` → `pong` on the same sockets, all N sessions
//! pinging back to back just before (what a round trip through the socket and the session costs
//! at that concurrency, without a call).

use std::time::Instant;

use anyhow::bail;
use ds_protocol::signalling::{ClientMessage, ServerMessage};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::Target;
use crate::peer;
use crate::platform::Platform;
use crate::ws::Socket;

/// A number that rings without answering (ds-local's simulated far end): the call costs a
/// routing decision and a ringing leg, and the client hangs it up right after `call.trying`.
const RINGING_NUMBER: &str = "+15005550004";
/// Sockets opened at once while signing in a level.
const PARALLEL_SIGN_INS: usize = 16;

pub async fn run(target: &Target, levels: &[usize], samples: usize) -> anyhow::Result<Value> {
    let platform = Platform::new(target)?;
    let account = platform.create_account("signalling").await?;
    let most = levels.iter().copied().max().unwrap_or(1);
    let users = platform.create_users(&account, most, 1000).await?;
    let mut results = Vec::new();
    for &level in levels {
        let ids: Vec<String> = users[..level].iter().map(|u| u.id.clone()).collect();
        let tokens = platform.tokens(&ids).await?;
        let signed_in: Vec<anyhow::Result<Socket>> = stream::iter(tokens)
            .map(|token| {
                let base = platform.base().to_owned();
                async move { Socket::signed_in(&base, &token).await }
            })
            .buffer_unordered(PARALLEL_SIGN_INS)
            .collect()
            .await;
        let mut sockets = Vec::new();
        let mut sign_in_failures = 0;
        let mut sign_in_error = None;
        for result in signed_in {
            match result {
                Ok(socket) => sockets.push(socket),
                Err(error) => {
                    sign_in_failures += 1;
                    sign_in_error.get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
        if sockets.is_empty() {
            bail!("no session of {level} signed in: {}", sign_in_error.unwrap_or_default());
        }
        let level = sockets.len();
        let rounds = samples.div_ceil(level).max(1);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(level));
        let tasks: Vec<_> = sockets
            .into_iter()
            .map(|socket| tokio::spawn(place_calls(socket, rounds, start.clone())))
            .collect();
        let mut create = Vec::new();
        let mut ping = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for task in tasks {
            match task.await? {
                Ok((c, p)) => {
                    create.extend(c);
                    ping.extend(p);
                }
                Err(error) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
        results.push(json!({
            "sessions": level,
            "calls": create.len(),
            "errors": errors,
            "sign_in_failures": sign_in_failures,
            "first_sign_in_error": sign_in_error,
            "first_error": first_error,
            "create_to_trying_ms": percentiles(&mut create),
            "ping_to_pong_ms": percentiles(&mut ping),
        }));
    }
    Ok(json!({ "levels": results }))
}

/// One session: its pings, then (once every session has pinged) its calls: call.create →
/// call.trying, hang up, wait for the end.
async fn place_calls(
    mut socket: Socket,
    rounds: usize,
    start: std::sync::Arc<tokio::sync::Barrier>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let offer = peer::signalling_offer()?;
    let mut create = Vec::with_capacity(rounds);
    let mut ping = Vec::with_capacity(rounds);
    start.wait().await;
    for _ in 0..rounds {
        let req_id = socket.req_id();
        let sent = Instant::now();
        socket.send(&ClientMessage::Ping { req_id: Some(req_id.clone()) }).await?;
        socket.until(|f| matches!(f, ServerMessage::Pong { req_id: Some(r) } if *r == req_id)).await?;
        ping.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    // Every session finishes its pings before any call starts, so the floor is not slowed by calls.
    start.wait().await;
    for _ in 0..rounds {
        let req_id = socket.req_id();
        let sent = Instant::now();
        socket
            .send(&ClientMessage::CallCreate {
                req_id: Some(req_id.clone()),
                destination: RINGING_NUMBER.to_owned(),
                sdp: offer.clone(),
                caller_id: None,
            })
            .await?;
        let trying = socket
            .until(|f| matches!(f, ServerMessage::CallTrying { req_id: Some(r), .. } if *r == req_id))
            .await?;
        create.push(sent.elapsed().as_secs_f64() * 1000.0);
        let ServerMessage::CallTrying { call_id, .. } = trying else { unreachable!("matched above") };
        socket.send(&ClientMessage::CallHangup { call_id: call_id.clone() }).await?;
        socket.until(|f| matches!(f, ServerMessage::CallEnded { call_id: c, .. } if *c == call_id)).await?;
    }
    Ok((create, ping))
}

/// p50, p90, p99, min and max of latencies in ms.
pub fn percentiles(samples: &mut [f64]) -> Value {
    if samples.is_empty() {
        return Value::Null;
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    json!({
        "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
        "min": samples[0], "max": samples[samples.len() - 1], "count": samples.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        let p = percentiles(&mut samples);
        assert_eq!((p["p50"].as_f64(), p["p99"].as_f64()), (Some(51.0), Some(99.0)));
        assert_eq!(
            (p["min"].as_f64(), p["max"].as_f64(), p["count"].as_u64()),
            (Some(1.0), Some(100.0), Some(100))
        );
        assert!(percentiles(&mut []).is_null());
    }
}
