//! A byte-for-byte TCP proxy between the browser and ds-local that can cut one kind of connection.
//!
//! The browser loads the chaos pages from the proxy's origin, so its REST calls, its signalling
//! WebSocket and its `/v1/events` stream all pass through here. Each connection is classified by
//! what the browser sends on it (an `Upgrade: websocket` request, or `GET /v1/events`); a cut
//! shuts both sockets of every connection of that kind, as a network failure would, and leaves
//! the others alone. Frames from ds-local on the WebSocket are scanned for `call.restored`, so
//! the suite can tell a restored call from one the phone merely kept on screen.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;

/// What a proxied connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Http,
    WebSocket,
    EventStream,
}

/// Counters the driver reads through the control server.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub websocket_connections: u64,
    pub event_stream_connections: u64,
    pub websocket_cuts: u64,
    pub event_stream_cuts: u64,
    /// `call.restored` frames ds-local sent to the browser.
    pub call_restored_frames: u64,
    /// `authenticated` frames with `reconnected:true`.
    pub reconnected_frames: u64,
}

struct Connection {
    kind: Kind,
    client: TcpStream,
    server: TcpStream,
}

struct Shared {
    upstream: SocketAddr,
    connections: Mutex<HashMap<u64, Connection>>,
    counters: Mutex<Counters>,
    next_id: AtomicU64,
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("the chaos proxy cannot listen")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            connections: Mutex::new(HashMap::new()),
            counters: Mutex::new(Counters::default()),
            next_id: AtomicU64::new(1),
        });
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let shared = accept_shared.clone();
                std::thread::spawn(move || {
                    if let Err(error) = serve(&shared, client) {
                        eprintln!("    [proxy] {error:#}");
                    }
                });
            }
        });
        Ok(Self { addr, shared })
    }

    /// Cuts every open connection of `kind`; returns how many.
    pub fn cut(&self, kind: Kind) -> u64 {
        let mut connections = self.shared.connections.lock().expect("proxy lock");
        let ids: Vec<u64> = connections.iter().filter(|(_, c)| c.kind == kind).map(|(id, _)| *id).collect();
        for id in &ids {
            if let Some(connection) = connections.remove(id) {
                let _ = connection.client.shutdown(Shutdown::Both);
                let _ = connection.server.shutdown(Shutdown::Both);
            }
        }
        let cut = ids.len() as u64;
        let mut counters = self.shared.counters.lock().expect("proxy lock");
        match kind {
            Kind::WebSocket => counters.websocket_cuts += cut,
            Kind::EventStream => counters.event_stream_cuts += cut,
            Kind::Http => {}
        }
        cut
    }

    pub fn counters(&self) -> Counters {
        *self.shared.counters.lock().expect("proxy lock")
    }

    /// Open connections of each kind: (websocket, events).
    pub fn open(&self) -> (u64, u64) {
        let connections = self.shared.connections.lock().expect("proxy lock");
        let count = |kind| connections.values().filter(|c| c.kind == kind).count() as u64;
        (count(Kind::WebSocket), count(Kind::EventStream))
    }
}

fn serve(shared: &Arc<Shared>, client: TcpStream) -> anyhow::Result<()> {
    // ds-local may be restarting (the SIGKILL scenario): a refused connect is what the browser
    // would see from a dead server too, so drop the client and let it retry.
    let server = TcpStream::connect(shared.upstream).context("upstream refused")?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    shared.connections.lock().expect("proxy lock").insert(
        id,
        Connection { kind: Kind::Http, client: client.try_clone()?, server: server.try_clone()? },
    );
    let (client_read, server_write) = (client.try_clone()?, server.try_clone()?);
    let upstream_shared = shared.clone();
    let to_server =
        std::thread::spawn(move || pump_to_server(&upstream_shared, id, client_read, server_write));
    pump_to_client(shared, id, server, client);
    let _ = to_server.join();
    shared.connections.lock().expect("proxy lock").remove(&id);
    Ok(())
}

/// Browser → ds-local: forwards, and classifies the connection by its requests.
fn pump_to_server(shared: &Shared, id: u64, mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    let mut scanner = Scanner::default();
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let kind = classify(&scanner, &buffer[..n]);
        scanner.remember(&buffer[..n]);
        if let Some(kind) = kind {
            let mut connections = shared.connections.lock().expect("proxy lock");
            if let Some(connection) = connections.get_mut(&id)
                && connection.kind != kind
            {
                connection.kind = kind;
                let mut counters = shared.counters.lock().expect("proxy lock");
                match kind {
                    Kind::WebSocket => counters.websocket_connections += 1,
                    Kind::EventStream => counters.event_stream_connections += 1,
                    Kind::Http => {}
                }
            }
        }
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// ds-local → browser: forwards, and counts restoring frames on a WebSocket.
fn pump_to_client(shared: &Shared, id: u64, mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    let mut scanner = Scanner::default();
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let is_websocket = shared
            .connections
            .lock()
            .expect("proxy lock")
            .get(&id)
            .is_some_and(|c| c.kind == Kind::WebSocket);
        if is_websocket {
            let restored = scanner.count(&buffer[..n], b"\"call.restored\"", false) as u64;
            let reconnected = scanner.count(&buffer[..n], b"\"reconnected\":true", false) as u64;
            if restored + reconnected > 0 {
                let mut counters = shared.counters.lock().expect("proxy lock");
                counters.call_restored_frames += restored;
                counters.reconnected_frames += reconnected;
            }
        }
        scanner.remember(&buffer[..n]);
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Keeps the end of the previous read so a marker split across two reads is still seen, once:
/// each marker is searched in (its length − 1 bytes of the previous read) + this read, so a
/// match can never lie wholly in the old bytes.
#[derive(Default)]
struct Scanner {
    previous: Vec<u8>,
}

impl Scanner {
    fn count(&self, chunk: &[u8], needle: &[u8], fold_case: bool) -> usize {
        let keep = self.previous.len().min(needle.len().saturating_sub(1));
        let mut window = self.previous[self.previous.len() - keep..].to_vec();
        window.extend_from_slice(chunk);
        if fold_case {
            window.make_ascii_lowercase();
        }
        count(&window, needle)
    }

    fn remember(&mut self, chunk: &[u8]) {
        self.previous.extend_from_slice(chunk);
        let excess = self.previous.len().saturating_sub(64);
        self.previous.drain(..excess);
    }
}

fn classify(scanner: &Scanner, chunk: &[u8]) -> Option<Kind> {
    if scanner.count(chunk, b"upgrade: websocket", true) > 0 {
        Some(Kind::WebSocket)
    } else if scanner.count(chunk, b"get /v1/events", true) > 0 {
        Some(Kind::EventStream)
    } else {
        None
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || haystack.len() < needle.len() {
        return 0;
    }
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_upgrade_and_an_event_stream_request_are_told_apart() {
        let upgrade =
            b"GET /v1/webrtc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let events = b"GET /v1/events?access_token=t HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n";
        let rest = b"POST /v1/user_sessions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        let fresh = Scanner::default();
        assert_eq!(classify(&fresh, upgrade), Some(Kind::WebSocket));
        assert_eq!(classify(&fresh, events), Some(Kind::EventStream));
        assert_eq!(classify(&fresh, rest), None);
    }

    #[test]
    fn a_marker_split_across_two_reads_is_counted_once() {
        let frame = br#"{"type":"call.restored","call_id":"c"}"#;
        let (first, second) = frame.split_at(14);
        let mut scanner = Scanner::default();
        let mut seen = scanner.count(first, b"\"call.restored\"", false);
        scanner.remember(first);
        seen += scanner.count(second, b"\"call.restored\"", false);
        scanner.remember(second);
        seen += scanner.count(b"{}", b"\"call.restored\"", false);
        assert_eq!(seen, 1);
    }
}
