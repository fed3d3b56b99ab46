//! The per-socket protocol state machine of `/v1/webrtc`, without any I/O (protocol.md §4–§9).
//!
//! A [`Session`] is fed what arrives on one socket (text frames, pongs) and the passage of time,
//! and answers with [`Output`]s for its driver to carry out: frames to send, a WebSocket ping,
//! a close, the registration of the user with the call hub, or a call command for the hub.
//! Time is an argument (`now`), never read inside, so every timer rule (auth deadline, token
//! expiry, ping/pong) is testable by passing instants.
//!
//! Contract for the driver: after every input, carry out the returned outputs in order; call
//! [`Session::handle_timeout`] no later than [`Session::next_deadline`]; stop reading once
//! [`Session::is_closed`] is true (an `Output::Close` is always the last output).

use chrono::{DateTime, Utc};
use ds_protocol::signalling::{
    ClientMessage, ErrorCode, ErrorFrame, ParsedFrame, ServerMessage, parse_client_frame,
};

use crate::tokens::{AuthError, Tokens, UserClaims};

use super::Timers;

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this frame.
    Send(ServerMessage),
    /// Send a WebSocket ping (liveness, §4.6).
    Ping,
    /// Close the socket. Always the last output of a session.
    Close,
    /// The token checked out: register the user with the hub, whose answer produces
    /// `authenticated` (and `call.restored` frames after a reconnect).
    Register {
        req_id: Option<String>,
        user_id: String,
        account_id: String,
        /// The E911 address presented with `authenticate` (§7.13), bound by the hub.
        emergency_address_id: Option<String>,
    },
    /// A call command (or presence request) of an authenticated session, for the hub.
    Hub(ClientMessage),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    AwaitingAuth { deadline_ms: i64 },
    Authenticated(Authenticated),
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
struct Authenticated {
    user_id: String,
    account_id: String,
    /// When the token in force was minted: a revocation after it closes the session. Only this
    /// is kept, so the periodic check is a map lookup, not a signature verification.
    minted_ms: i64,
    /// `exp` of the token in force, in milliseconds.
    expires_at_ms: i64,
}

/// One signalling socket's protocol state.
#[derive(Debug, Clone)]
pub struct Session {
    state: State,
    timers: Timers,
    next_ping_ms: i64,
    pong_deadline_ms: Option<i64>,
    next_revocation_check_ms: i64,
}

fn error(code: ErrorCode, message: impl Into<String>, req_id: Option<&str>, fatal: bool) -> ServerMessage {
    ServerMessage::Error(ErrorFrame {
        code,
        message: message.into(),
        req_id: req_id.map(str::to_owned),
        call_id: None,
        fatal: fatal.then_some(true),
        context: None,
    })
}

impl Session {
    /// A socket that has just opened: it has `timers.auth_timeout` to authenticate.
    pub fn new(now: DateTime<Utc>, timers: Timers) -> Self {
        let now_ms = now.timestamp_millis();
        Self {
            state: State::AwaitingAuth { deadline_ms: now_ms + timers.auth_timeout.as_millis() as i64 },
            next_ping_ms: now_ms + timers.ping_interval.as_millis() as i64,
            pong_deadline_ms: None,
            next_revocation_check_ms: now_ms + timers.revocation_check.as_millis() as i64,
            timers,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated(_))
    }

    /// The authenticated user, if any.
    pub fn user_id(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated(auth) => Some(&auth.user_id),
            _ => None,
        }
    }

    /// The earliest instant (ms) at which [`Session::handle_timeout`] has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        let mut deadline = self.next_ping_ms;
        if let Some(pong) = self.pong_deadline_ms {
            deadline = deadline.min(pong);
        }
        match &self.state {
            State::AwaitingAuth { deadline_ms } => Some(deadline.min(*deadline_ms)),
            State::Authenticated(auth) => {
                Some(deadline.min(auth.expires_at_ms).min(self.next_revocation_check_ms))
            }
            State::Closed => None,
        }
    }

    /// Ends the session with a fatal error (e.g. `session_replaced` decided by the hub).
    pub fn fatal(&mut self, code: ErrorCode, message: &str) -> Vec<Output> {
        if self.is_closed() {
            return Vec::new();
        }
        self.state = State::Closed;
        vec![Output::Send(error(code, message, None, true)), Output::Close]
    }

    /// A WebSocket pong arrived: the peer is alive.
    pub fn handle_pong(&mut self) {
        self.pong_deadline_ms = None;
    }

    /// Any received frame proves liveness too (§4.6), so an outstanding pong is forgiven.
    fn saw_traffic(&mut self) {
        self.pong_deadline_ms = None;
    }

    /// One text frame from the client.
    pub fn handle_text(&mut self, now: DateTime<Utc>, text: &str, tokens: &Tokens) -> Vec<Output> {
        if self.is_closed() {
            return Vec::new();
        }
        self.saw_traffic();
        let message = match parse_client_frame(text) {
            ParsedFrame::Known(message) => message,
            // §4.3: unknown frames are ignored; we say so without closing (so a client author
            // sees the typo) and nothing else happens.
            ParsedFrame::UnknownType { type_name } => {
                return vec![Output::Send(error(
                    ErrorCode::InvalidMessage,
                    format!("unknown frame type `{type_name}`"),
                    None,
                    false,
                ))];
            }
            ParsedFrame::Invalid { reason } => {
                let req_id = loose_req_id(text);
                return vec![Output::Send(error(
                    ErrorCode::InvalidMessage,
                    reason,
                    req_id.as_deref(),
                    false,
                ))];
            }
        };
        if let ClientMessage::Ping { req_id } = message {
            return vec![Output::Send(ServerMessage::Pong { req_id })];
        }
        match &mut self.state {
            State::Closed => Vec::new(),
            State::AwaitingAuth { .. } => match message {
                ClientMessage::Authenticate { req_id, token, emergency_address_id } => {
                    self.authenticate(now, req_id, token, emergency_address_id, tokens)
                }
                other => {
                    // §4.4 [open]: anything but authenticate/ping before authentication is a
                    // protocol violation: fatal auth_failed, then close.
                    self.state = State::Closed;
                    vec![
                        Output::Send(error(
                            ErrorCode::AuthFailed,
                            format!("`{}` before `authenticate`", other.type_name()),
                            other.req_id(),
                            true,
                        )),
                        Output::Close,
                    ]
                }
            },
            State::Authenticated(auth) => match message {
                ClientMessage::Authenticate { req_id, .. } => vec![Output::Send(error(
                    ErrorCode::InvalidMessage,
                    "this socket is already authenticated",
                    req_id.as_deref(),
                    false,
                ))],
                ClientMessage::AuthRefresh { req_id, token } => match tokens.verify_user_token(&token, now) {
                    Ok(claims) if claims.user_id == auth.user_id => {
                        if claims.expires_at * 1000 <= now.timestamp_millis() {
                            return vec![Output::Send(error(
                                ErrorCode::AuthFailed,
                                "the refresh token has already expired",
                                req_id.as_deref(),
                                false,
                            ))];
                        }
                        auth.minted_ms = claims.minted_ms();
                        auth.expires_at_ms = claims.expires_at * 1000;
                        vec![Output::Send(ServerMessage::AuthRefreshed { req_id })]
                    }
                    Ok(_) => vec![Output::Send(error(
                        ErrorCode::AuthFailed,
                        "identity mismatch: the refresh token names another user",
                        req_id.as_deref(),
                        false,
                    ))],
                    Err(reason) => vec![Output::Send(error(
                        ErrorCode::AuthFailed,
                        format!("refresh refused: {reason}"),
                        req_id.as_deref(),
                        false,
                    ))],
                },
                other => vec![Output::Hub(other)],
            },
        }
    }

    fn authenticate(
        &mut self,
        now: DateTime<Utc>,
        req_id: Option<String>,
        token: String,
        emergency_address_id: Option<String>,
        tokens: &Tokens,
    ) -> Vec<Output> {
        let refused = |code: ErrorCode, message: String| {
            vec![Output::Send(error(code, message, req_id.as_deref(), true)), Output::Close]
        };
        let claims: UserClaims = match tokens.verify_user_token(&token, now) {
            Ok(claims) => claims,
            Err(AuthError::Expired) => {
                self.state = State::Closed;
                return refused(ErrorCode::AuthExpired, "the token has expired".to_owned());
            }
            Err(AuthError::Revoked) => {
                self.state = State::Closed;
                return refused(ErrorCode::SessionRevoked, "the token was revoked".to_owned());
            }
            Err(reason) => {
                self.state = State::Closed;
                return refused(ErrorCode::AuthFailed, format!("authentication failed: {reason}"));
            }
        };
        // The verifier allows 30 s of skew; a socket, however, lives only as long as `exp`.
        let expires_at_ms = claims.expires_at * 1000;
        if expires_at_ms <= now.timestamp_millis() {
            self.state = State::Closed;
            return refused(ErrorCode::AuthExpired, "the token has expired".to_owned());
        }
        self.state = State::Authenticated(Authenticated {
            user_id: claims.user_id.clone(),
            account_id: claims.account_id.clone(),
            minted_ms: claims.minted_ms(),
            expires_at_ms,
        });
        vec![Output::Register {
            req_id,
            user_id: claims.user_id,
            account_id: claims.account_id,
            emergency_address_id,
        }]
    }

    /// Runs every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: DateTime<Utc>, tokens: &Tokens) -> Vec<Output> {
        let now_ms = now.timestamp_millis();
        match &self.state {
            State::Closed => return Vec::new(),
            State::AwaitingAuth { deadline_ms } if now_ms >= *deadline_ms => {
                return self.fatal(ErrorCode::AuthFailed, "no `authenticate` within the time limit");
            }
            State::Authenticated(auth) if now_ms >= auth.expires_at_ms => {
                return self.fatal(ErrorCode::AuthExpired, "the token expired; mint a new one");
            }
            State::Authenticated(auth) if now_ms >= self.next_revocation_check_ms => {
                self.next_revocation_check_ms = now_ms + self.timers.revocation_check.as_millis() as i64;
                // Expiry is checked above from `expires_at_ms`; only revocation can change.
                if tokens.is_revoked(&auth.user_id, auth.minted_ms) {
                    return self.fatal(ErrorCode::SessionRevoked, "the user's sessions were revoked");
                }
            }
            _ => {}
        }
        if let Some(pong_deadline) = self.pong_deadline_ms
            && now_ms >= pong_deadline
        {
            return self.fatal(ErrorCode::IdleTimeout, "no pong to the server's ping");
        }
        let mut outputs = Vec::new();
        if now_ms >= self.next_ping_ms {
            self.next_ping_ms = now_ms + self.timers.ping_interval.as_millis() as i64;
            if self.pong_deadline_ms.is_none() {
                self.pong_deadline_ms = Some(now_ms + self.timers.pong_grace.as_millis() as i64);
            }
            outputs.push(Output::Ping);
        }
        outputs
    }
}

/// Best effort to find a `req_id` in a frame that did not parse as a known message, so the error
/// still settles the client's request (§4.3: errors caused by a frame echo its `req_id`).
fn loose_req_id(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("req_id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-09-01T14:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn sent(outputs: &[Output]) -> Vec<String> {
        outputs
            .iter()
            .map(|o| match o {
                Output::Send(frame) => frame.to_json(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_valid_token_registers_and_a_ping_is_answered_before_and_after() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let token = tokens.mint_user("user_a", "acct_a", 60, t0()).token;
        let mut session = Session::new(t0(), Timers::default());
        assert_eq!(
            sent(&session.handle_text(t0(), r#"{"type":"ping","req_id":"r0"}"#, &tokens)),
            [r#"{"type":"pong","req_id":"r0"}"#]
        );
        let frame = format!(r#"{{"type":"authenticate","req_id":"r1","token":"{token}"}}"#);
        assert_eq!(
            session.handle_text(t0(), &frame, &tokens),
            [Output::Register {
                req_id: Some("r1".into()),
                user_id: "user_a".into(),
                account_id: "acct_a".into(),
                emergency_address_id: None,
            }]
        );
        assert!(session.is_authenticated());
    }

    #[test]
    fn the_token_expiry_closes_the_session_with_auth_expired() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let token = tokens.mint_user("user_a", "acct_a", 60, t0()).token;
        let mut session = Session::new(t0(), Timers::default());
        session.handle_text(t0(), &format!(r#"{{"type":"authenticate","token":"{token}"}}"#), &tokens);
        // The revocation re-check is the first deadline; nothing closes before `exp`.
        assert_eq!(session.next_deadline(), Some((t0() + Duration::seconds(1)).timestamp_millis()));
        let out = session.handle_timeout(t0() + Duration::seconds(59), &tokens);
        assert!(!out.contains(&Output::Close), "{out:?}");
        let out = session.handle_timeout(t0() + Duration::seconds(60), &tokens);
        assert_eq!(
            sent(&out),
            [
                r#"{"type":"error","code":"auth_expired","message":"the token expired; mint a new one","fatal":true}"#,
                "Close"
            ]
        );
        assert!(session.is_closed());
    }

    #[test]
    fn a_missing_pong_ends_the_session_with_idle_timeout() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let token = tokens.mint_user("user_a", "acct_a", 3600, t0()).token;
        let mut session = Session::new(t0(), Timers::default());
        session.handle_text(t0(), &format!(r#"{{"type":"authenticate","token":"{token}"}}"#), &tokens);
        assert_eq!(session.handle_timeout(t0() + Duration::seconds(30), &tokens), [Output::Ping]);
        let out = session.handle_timeout(t0() + Duration::seconds(40), &tokens);
        assert_eq!(out.last(), Some(&Output::Close));
        assert!(sent(&out)[0].contains(r#""code":"idle_timeout""#));
    }

    #[test]
    fn a_pong_keeps_the_session_alive() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let token = tokens.mint_user("user_a", "acct_a", 3600, t0()).token;
        let mut session = Session::new(t0(), Timers::default());
        session.handle_text(t0(), &format!(r#"{{"type":"authenticate","token":"{token}"}}"#), &tokens);
        assert_eq!(session.handle_timeout(t0() + Duration::seconds(30), &tokens), [Output::Ping]);
        session.handle_pong();
        assert_eq!(session.handle_timeout(t0() + Duration::seconds(45), &tokens), []);
        assert!(!session.is_closed());
    }

    #[test]
    fn no_authenticate_within_the_limit_is_a_fatal_auth_failed() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let mut session = Session::new(t0(), Timers::default());
        assert_eq!(session.handle_timeout(t0() + Duration::seconds(19), &tokens), []);
        let out = session.handle_timeout(t0() + Duration::seconds(20), &tokens);
        assert!(sent(&out)[0].contains(r#""code":"auth_failed""#));
        assert_eq!(out.last(), Some(&Output::Close));
    }

    #[test]
    fn a_revocation_is_noticed_at_the_next_check() {
        let tokens = Tokens::load_or_create(None).unwrap();
        let token = tokens.mint_user("user_a", "acct_a", 3600, t0()).token;
        let mut session = Session::new(t0(), Timers::default());
        session.handle_text(t0(), &format!(r#"{{"type":"authenticate","token":"{token}"}}"#), &tokens);
        tokens.revoke_user("user_a", t0().timestamp_millis() + 500);
        let out = session.handle_timeout(t0() + Duration::seconds(1), &tokens);
        assert!(sent(&out)[0].contains(r#""code":"session_revoked""#), "{out:?}");
    }
}
