//! The `/v1/webrtc` upgrade and the socket driver (protocol.md §4.2–§4.6).
//!
//! [`drive`] runs one [`Session`] over any stream/sink of WebSocket messages: it feeds the
//! session what arrives, a housekeeping tick and what the hub sends, and carries out the
//! session's outputs. Protocol rules live in the session; this file only moves bytes.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use ds_protocol::signalling::{ErrorCode, ErrorFrame, SUBPROTOCOL, ServerMessage};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;

use super::hub::{Emergency, Hub, Refusal, SessionOut};
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
///
/// ds-local identifies the client's "network" for E911 binding (§7.13 [inferred]) by the query
/// parameter `network` (any opaque string, e.g. `?network=office`), defaulting to `127.0.0.1`:
/// everything is loopback here, so a test or demo simulates a move by changing the parameter.
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let network = query.get("network").cloned().unwrap_or_else(|| "127.0.0.1".to_owned());
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
        .on_upgrade(move |socket| drive(hub, state, network, socket))
}

/// Runs one signalling session over `socket` until either side closes it.
pub async fn drive<S, E>(hub: Hub, state: AppState, network: String, mut socket: S)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
{
    let session_id = hub.new_session_id();
    // Frames count against the socket until `authenticate`, then against its user.
    let mut rate_key = crate::rate_limit::socket_key(session_id);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<SessionOut>();
    let mut session = Session::new(state.clock().now(), hub.timers().clone());
    let mut registered = false;
    let mut tick = tokio::time::interval(hub.timers().tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    'socket: loop {
        let outputs = tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match crate::rate_limit::frame_refusal(&state, &rate_key, text.as_str()) {
                        Some(refusal) => vec![Output::Send(refusal)],
                        None => session.handle_text(state.clock().now(), text.as_str(), state.tokens()),
                    }
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
                SessionOut::Drop => break 'socket,
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
                Output::Register { req_id, user_id, account_id, emergency_address_id } => {
                    let emergency = emergency_address_id
                        .map(|address_id| Emergency { address_id, network: network.clone() });
                    let registration = hub
                        .register(session_id, user_id.clone(), account_id.clone(), emergency, out_tx.clone())
                        .await;
                    match registration {
                        Ok(outcome) => {
                            registered = true;
                            rate_key = crate::rate_limit::user_key(&user_id);
                            let frame = ServerMessage::Authenticated {
                                req_id,
                                user_id,
                                account_id,
                                reconnected: outcome.reconnected.then_some(true),
                            };
                            if outcome.network_changed {
                                // After `authenticated` (the hub's frames wait in the channel).
                                let _ = out_tx.send(SessionOut::Frame(ServerMessage::NetworkChanged {}));
                            }
                            Message::Text(frame.to_json().into())
                        }
                        Err(refusal) => {
                            let (code, message, fatal) = match refusal {
                                Refusal::Unauthorized(message) => {
                                    (ErrorCode::AuthFailed, message, Some(true))
                                }
                                Refusal::UnusableAddress(message) => {
                                    (ErrorCode::InvalidMessage, message, None)
                                }
                            };
                            let frame = ServerMessage::Error(ErrorFrame {
                                code,
                                message,
                                req_id,
                                call_id: None,
                                fatal,
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
