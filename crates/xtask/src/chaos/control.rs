//! The control server the driver calls (plain HTTP/1.1 on 127.0.0.1, one request per
//! connection): cut connections, read the proxy's counters, kill and start ds-local, switch
//! netem on `lo`. It lives in this process because the proxy and the ds-local child do.
//!
//! - `POST /cut/websocket`, `POST /cut/events` → `{ "cut": n }`
//! - `GET /stats` → the proxy's counters and open connections
//! - `POST /ds-local/kill` → `{ "pid": n }` (SIGKILL); `POST /ds-local/start` → `{ "starts": n }`
//! - `POST /netem/on`, `POST /netem/off` → `{ "qdisc": "…" }` (`tc qdisc show dev lo` after)

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::impair::Impairment;
use super::proxy::{Kind, Proxy};
use super::server::DsLocal;

/// The netem settings of the issue: 10 % loss, 40 ms delay with 20 ms jitter.
pub const NETEM: &[&str] = &["netem", "loss", "10%", "delay", "40ms", "20ms"];

struct State {
    server: Mutex<Option<DsLocal>>,
    proxy: Proxy,
    impairment: Mutex<Option<Impairment>>,
    stopping: AtomicBool,
}

pub struct Control {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Control {
    pub fn start(server: DsLocal, proxy: Proxy) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("the control server cannot listen")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            server: Mutex::new(Some(server)),
            proxy,
            impairment: Mutex::new(None),
            stopping: AtomicBool::new(false),
        });
        let accept_state = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if accept_state.stopping.load(Ordering::Relaxed) {
                    break;
                }
                let state = accept_state.clone();
                std::thread::spawn(move || {
                    if let Err(error) = handle(&state, stream) {
                        eprintln!("    [control] {error:#}");
                    }
                });
            }
        });
        Ok(Self { addr, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn proxy_addr(&self) -> SocketAddr {
        self.state.proxy.addr
    }

    /// Stops ds-local (SIGTERM) and takes netem off `lo` whatever the driver left behind.
    pub fn stop(self) {
        self.state.stopping.store(true, Ordering::Relaxed);
        let _ = netem(&self.state, false);
        // Dropping the server stops its child.
        drop(self.state.server.lock().expect("control lock").take());
    }
}

fn handle(state: &State, mut stream: TcpStream) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers; the control requests carry no body we need.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match route(state, method, path) {
        Ok(body) => ("200 OK", body),
        Err(error) => ("500 Internal Server Error", json!({ "error": format!("{error:#}") })),
    };
    let body = body.to_string();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(())
}

fn route(state: &State, method: &str, path: &str) -> anyhow::Result<Value> {
    match (method, path) {
        ("POST", "/cut/websocket") => Ok(json!({ "cut": state.proxy.cut(Kind::WebSocket) })),
        ("POST", "/cut/events") => Ok(json!({ "cut": state.proxy.cut(Kind::EventStream) })),
        ("GET", "/stats") => {
            let c = state.proxy.counters();
            let (open_websockets, open_event_streams) = state.proxy.open();
            Ok(json!({
                "websocket_connections": c.websocket_connections,
                "event_stream_connections": c.event_stream_connections,
                "websocket_cuts": c.websocket_cuts,
                "event_stream_cuts": c.event_stream_cuts,
                "call_restored_frames": c.call_restored_frames,
                "reconnected_frames": c.reconnected_frames,
                "open_websockets": open_websockets,
                "open_event_streams": open_event_streams,
            }))
        }
        ("POST", "/ds-local/kill") => {
            let mut server = state.server.lock().expect("control lock");
            let pid = server.as_mut().context("stopping")?.kill()?;
            Ok(json!({ "pid": pid }))
        }
        ("POST", "/ds-local/start") => {
            let mut server = state.server.lock().expect("control lock");
            let server = server.as_mut().context("stopping")?;
            // The killed process's port may take a moment to be free for the new one.
            let mut last = None;
            for _ in 0..10 {
                match server.spawn() {
                    Ok(()) => return Ok(json!({ "starts": server.starts })),
                    Err(error) => last = Some(error),
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(last.expect("ten attempts failed"))
        }
        ("POST", "/netem/on") => netem(state, true),
        ("POST", "/netem/off") => netem(state, false),
        _ => anyhow::bail!("no control route {method} {path}"),
    }
}

/// The issue's `tc qdisc add dev lo root netem loss 10% delay 40ms 20ms` when the kernel has
/// netem; otherwise the same impairment of UDP from user space ([`Impairment`]).
fn netem(state: &State, on: bool) -> anyhow::Result<Value> {
    let mut impairment = state.impairment.lock().expect("control lock");
    if !on {
        let _ = std::process::Command::new("tc").args(["qdisc", "del", "dev", "lo", "root"]).output();
        return Ok(match impairment.take() {
            Some(running) => {
                let (seen, dropped) =
                    (running.seen.load(Ordering::Relaxed), running.dropped.load(Ordering::Relaxed));
                running.stop();
                json!({ "method": "nfqueue", "udp_packets": seen, "dropped": dropped })
            }
            None => json!({ "method": "tc" }),
        });
    }
    let output = std::process::Command::new("tc")
        .args(["qdisc", "replace", "dev", "lo", "root"])
        .args(NETEM)
        .output()
        .context("cannot run tc")?;
    if output.status.success() {
        let show = std::process::Command::new("tc").args(["qdisc", "show", "dev", "lo"]).output()?;
        return Ok(json!({ "method": "tc", "qdisc": String::from_utf8_lossy(&show.stdout).trim() }));
    }
    let tc_error = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if impairment.is_none() {
        *impairment = Some(Impairment::start().with_context(|| format!("tc netem failed ({tc_error})"))?);
    }
    Ok(json!({
        "method": "nfqueue",
        "qdisc": format!("UDP on lo through NFQUEUE: loss 10%, delay 40ms ± 20ms (tc netem: {tc_error})"),
    }))
}
