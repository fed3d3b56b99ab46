//! Signalling frames of the `/v1/webrtc` WebSocket (protocol.md §4–§9).
