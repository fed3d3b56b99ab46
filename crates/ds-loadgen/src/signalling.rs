//! Figure 7a: `call.create` → `call.trying` latency with N concurrent signed-in sessions, each
//! placing calls back to back. The floor is `ping` → `pong` on the same sockets, all N sessions
//! pinging back to back just before (what a round trip through the socket and the session costs
//! at that concurrency, without a call).

use std::time::Instant;

use ds_protocol::signalling::{ClientMessage, ServerMessage};
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
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(PARALLEL_SIGN_INS));
    for &level in levels {
        let ids: Vec<String> = users[..level].iter().map(|u| u.id.clone()).collect();
        let tokens = platform.tokens(&ids).await?;
        // Each session's task starts as soon as it signs in and answers pings while the others
        // sign in; every task (even one that failed) passes both barriers, so none waits forever.
        let attempts = tokens.len();
        let rounds = samples.div_ceil(attempts).max(1);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(attempts));
        let tasks: Vec<_> = tokens
            .into_iter()
            .map(|token| {
                let base = platform.base().to_owned();
                let start = start.clone();
                let permits = permits.clone();
                tokio::spawn(async move {
                    let signed_in = {
                        let _permit = permits.acquire().await.expect("the semaphore is never closed");
                        Socket::signed_in(&base, &token).await
                    };
                    session(signed_in, rounds, start).await
                })
            })
            .collect();
        let mut create = Vec::new();
        let mut ping = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        let mut sign_in_failures = 0;
        let mut sign_in_error = None;
        for task in tasks {
            match task.await? {
                Outcome::Measured(c, p) => {
                    create.extend(c);
                    ping.extend(p);
                }
                Outcome::NotSignedIn(error) => {
                    sign_in_failures += 1;
                    sign_in_error.get_or_insert(error);
                }
                Outcome::Failed(error) => {
                    errors += 1;
                    first_error.get_or_insert(error);
                }
            }
        }
        let level = attempts - sign_in_failures;
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

enum Outcome {
    /// (call.create → call.trying, ping → pong) samples in ms.
    Measured(Vec<f64>, Vec<f64>),
    NotSignedIn(String),
    Failed(String),
}

/// One session: (all sessions signed in) its pings, then (all sessions pinged) its calls:
/// call.create → call.trying, hang up, wait for the end.
async fn session(
    signed_in: anyhow::Result<Socket>,
    rounds: usize,
    start: std::sync::Arc<tokio::sync::Barrier>,
) -> Outcome {
    let mut socket = match signed_in {
        Ok(socket) => socket,
        Err(error) => {
            start.wait().await;
            start.wait().await;
            return Outcome::NotSignedIn(format!("{error:#}"));
        }
    };
    let idle = socket.idle_until(async {
        start.wait().await;
    });
    if let Err(error) = idle.await {
        start.wait().await;
        return Outcome::Failed(format!("{error:#}"));
    }
    let mut ping = Vec::with_capacity(rounds);
    let pinged = ping_rounds(&mut socket, rounds, &mut ping).await;
    let idle = socket.idle_until(async {
        start.wait().await;
    });
    if let Err(error) = pinged.and(idle.await) {
        return Outcome::Failed(format!("{error:#}"));
    }
    let mut create = Vec::with_capacity(rounds);
    match call_rounds(&mut socket, rounds, &mut create).await {
        Ok(()) => Outcome::Measured(create, ping),
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

async fn ping_rounds(socket: &mut Socket, rounds: usize, ping: &mut Vec<f64>) -> anyhow::Result<()> {
    for _ in 0..rounds {
        let req_id = socket.req_id();
        let sent = Instant::now();
        socket.send(&ClientMessage::Ping { req_id: Some(req_id.clone()) }).await?;
        socket.until(|f| matches!(f, ServerMessage::Pong { req_id: Some(r) } if *r == req_id)).await?;
        ping.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}

async fn call_rounds(socket: &mut Socket, rounds: usize, create: &mut Vec<f64>) -> anyhow::Result<()> {
    let offer = peer::signalling_offer()?;
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
    Ok(())
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
