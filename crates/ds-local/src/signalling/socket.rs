//! The `/v1/webrtc` upgrade and the socket driver (protocol.md §4.2–§4.6).
//!
//! [`drive`] runs one [`Session`] over any stream/sink of WebSocket messages: it feeds the
//! session what arrives, a housekeeping tick and what the hub sends, and carries out the
//! session's outputs. Protocol rules live in the session; this file only moves bytes.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use ds_protocol::signalling::{ErrorCode, ErrorFrame, SUBPROTOCOL, ServerMessage};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;

use super::hub::{Hub, SessionOut};
use super::session::{Output, Session};
use crate::AppState;
use crate::error::ApiError;

/// Small buffers: an idle signalling socket should cost kilobytes, not the 128 KiB defaults
/// (toolchain.md).
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;
/// Frames are small JSON objects; SDP is the largest (a few KiB).
const MAX_MESSAGE: usize = 256 * 1024;
/// A client that does not take a frame within this long is treated as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /v1/webrtc`: upgrades when the client offers `dialstack.webrtc.v1` (§4.2).
pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let Some(hub) = state.signalling() else {
        return ApiError::Internal("signalling is not running on this server".to_owned()).into_response();
    };
    let ws = ws.protocols([SUBPROTOCOL]);
    if ws.selected_protocol().is_none() {
        // §4.2: refuse when the client speaks none of our subprotocols.
        return ApiError::BadRequest {
            code: "unsupported_subprotocol",
            message: format!("offer the WebSocket subprotocol {SUBPROTOCOL} in Sec-WebSocket-Protocol"),
        }
        .into_response();
    }
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_MESSAGE * 2)
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| drive(hub, state, socket))
}

/// Runs one signalling session over `socket` until either side closes it.
pub async fn drive<S, E>(hub: Hub, state: AppState, mut socket: S)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
{
    let session_id = hub.new_session_id();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<SessionOut>();
    let mut session = Session::new(state.clock().now(), hub.timers().clone());
    let mut registered = false;
    let mut tick = tokio::time::interval(hub.timers().tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    'socket: loop {
        let outputs = tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    session.handle_text(state.clock().now(), text.as_str(), state.tokens())
                }
                Some(Ok(Message::Binary(_))) => vec![Output::Send(ServerMessage::Error(ErrorFrame {
                    code: ErrorCode::InvalidMessage,
                    message: "binary frames are not part of the protocol; send JSON text".to_owned(),
                    req_id: None,
                    call_id: None,
                    fatal: None,
                    context: None,
                }))],
                Some(Ok(Message::Pong(_))) => {
                    session.handle_pong();
                    Vec::new()
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_))) => Vec::new(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break 'socket,
            },
            Some(out) = out_rx.recv() => match out {
                SessionOut::Frame(frame) => vec![Output::Send(frame)],
                SessionOut::Fatal { code, message } => session.fatal(code, &message),
            },
            _ = tick.tick() => session.handle_timeout(state.clock().now(), state.tokens()),
        };
        for output in outputs {
            let message = match output {
                Output::Send(frame) => Message::Text(frame.to_json().into()),
                Output::Ping => Message::Ping(Bytes::new()),
                Output::Close => {
                    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
                    break 'socket;
                }
                Output::Hub(message) => {
                    hub.command(session_id, message);
                    continue;
                }
                Output::Register { req_id, user_id, account_id } => {
                    match hub.register(session_id, user_id.clone(), account_id.clone(), out_tx.clone()).await
                    {
                        Ok(outcome) => {
                            registered = true;
                            let frame = ServerMessage::Authenticated {
                                req_id,
                                user_id,
                                account_id,
                                reconnected: outcome.reconnected.then_some(true),
                            };
                            Message::Text(frame.to_json().into())
                        }
                        Err(reason) => {
                            let frame = ServerMessage::Error(ErrorFrame {
                                code: ErrorCode::AuthFailed,
                                message: reason,
                                req_id,
                                call_id: None,
                                fatal: Some(true),
                                context: None,
                            });
                            let _ = tokio::time::timeout(
                                SEND_TIMEOUT,
                                socket.send(Message::Text(frame.to_json().into())),
                            )
                            .await;
                            let _ =
                                tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
                            break 'socket;
                        }
                    }
                }
            };
            match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
                Ok(Ok(())) => {}
                // A failed or stuck write: the socket is gone.
                _ => break 'socket,
            }
        }
        if session.is_closed() {
            break;
        }
    }
    if registered {
        hub.gone(session_id);
    }
}
