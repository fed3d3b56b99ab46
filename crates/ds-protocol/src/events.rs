//! Account event stream payloads (protocol.md §12) and webhook envelopes (§13, §16.7).
