//! Feeds arbitrary bytes to both frame parsers. They must never panic, and whatever they accept
//! must re-serialise to a frame that parses back to the same message.
#![no_main]

use ds_protocol::signalling::{ParsedFrame, parse_client_frame, parse_server_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let ParsedFrame::Known(message) = parse_server_frame(&text) {
        assert_eq!(parse_server_frame(&message.to_json()), ParsedFrame::Known(message));
    }
    if let ParsedFrame::Known(message) = parse_client_frame(&text) {
        assert_eq!(parse_client_frame(&message.to_json()), ParsedFrame::Known(message));
    }
});
