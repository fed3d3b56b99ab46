//! One signalling socket (`/v1/webrtc`), speaking ds-protocol frames.

use std::time::Duration;

use anyhow::{Context, bail};
use ds_protocol::signalling::{ClientMessage, SUBPROTOCOL, ServerMessage, parse_server_frame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected frame may take before the load run gives up on it.
pub const FRAME_WAIT: Duration = Duration::from_secs(30);

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    counter: u64,
}

impl Socket {
    /// Connects to `base` (http://…) and authenticates with a user token.
    pub async fn signed_in(base: &str, token: &str) -> anyhow::Result<Self> {
        let url = format!("{}/v1/webrtc", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", SUBPROTOCOL.parse()?);
        request.headers_mut().insert("User-Agent", "ds-loadgen".parse()?);
        let (ws, _) = tokio::time::timeout(FRAME_WAIT, tokio_tungstenite::connect_async(request))
            .await
            .context("WebSocket upgrade timed out")??;
        let mut socket = Self { ws, counter: 0 };
        let req_id = socket.req_id();
        socket
            .send(&ClientMessage::Authenticate {
                req_id: Some(req_id),
                token: token.to_owned(),
                emergency_address_id: None,
            })
            .await?;
        match socket.next().await? {
            ServerMessage::Authenticated { .. } => Ok(socket),
            other => bail!("authenticate answered {}", other.type_name()),
        }
    }

    pub fn req_id(&mut self) -> String {
        self.counter += 1;
        format!("req_bench_{}", self.counter)
    }

    pub async fn send(&mut self, message: &ClientMessage) -> anyhow::Result<()> {
        self.ws.send(Message::text(message.to_json())).await.context("sending a frame")
    }

    /// The next known frame (unknown types are skipped; pings are answered by tungstenite).
    pub async fn next(&mut self) -> anyhow::Result<ServerMessage> {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .context("no frame within the wait")?
                .context("socket closed")??;
            if let Message::Text(text) = message
                && let Some(frame) = parse_server_frame(text.as_str()).known()
            {
                return Ok(frame);
            }
        }
    }

    /// Reads until `wanted` matches a frame; returns it.
    pub async fn until(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> anyhow::Result<ServerMessage> {
        loop {
            let frame = self.next().await?;
            if let ServerMessage::Error(error) = &frame {
                bail!("server error frame: {error:?}");
            }
            if wanted(&frame) {
                return Ok(frame);
            }
        }
    }

    /// Waits for `until` while answering the server's pings, so a socket stays alive while the
    /// rest of a load is being set up. Frames other than pings are dropped.
    pub async fn idle_until(&mut self, until: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(until);
        loop {
            tokio::select! {
                _ = &mut until => return Ok(()),
                message = self.ws.next() => match message {
                    Some(Ok(Message::Ping(_))) => self.ws.flush().await.context("flushing a pong")?,
                    Some(Ok(Message::Close(_))) | None => bail!("the server closed the socket while idle"),
                    Some(Err(error)) => return Err(error).context("socket failed while idle"),
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    /// Keeps the socket alive (answering server pings) until `stop` fires (`Ok`), or returns why
    /// the server ended it: its last text frame or close frame, or the transport error.
    pub async fn hold(mut self, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<(), String> {
        let mut last = String::new();
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                message = self.ws.next() => match message {
                    Some(Ok(Message::Text(text))) => last = text.as_str().chars().take(300).collect(),
                    // tungstenite queues the pong; flush now, not at our next write (an idle
                    // session never writes, and ds-local closes sockets that leave pings unanswered).
                    Some(Ok(Message::Ping(_))) => {
                        if let Err(error) = self.ws.flush().await {
                            return Err(format!("flushing a pong: {error}"));
                        }
                    }
                    Some(Ok(Message::Close(frame))) => return Err(format!("closed ({frame:?}) after {last}")),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(format!("{error} after {last}")),
                    None => return Err(format!("socket ended after {last}")),
                },
            }
        }
    }
}
