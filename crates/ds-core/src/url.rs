//! Signalling URL derivation (protocol.md §4.1) and the other endpoints the drivers need.

/// The default API base of the production platform.
pub const DEFAULT_API_BASE: &str = "https://api.dialstack.ai";

/// The signalling WebSocket URL for an optional explicit signalling base and an API base (§4.1):
/// an explicit non-empty base wins; otherwise an `api.` host becomes `webrtc.`; `https`/`http`
/// map to `wss`/`ws`; trailing slashes go and `/v1/webrtc` is appended unless already present.
pub fn signalling_url(explicit: Option<&str>, api_base: &str) -> String {
    let explicit = explicit.map(str::trim).filter(|s| !s.is_empty());
    let start = explicit.unwrap_or(api_base.trim());
    let (scheme, rest) = match start.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_owned(), start),
    };
    let rest = if explicit.is_none() { replace_api_label(rest) } else { rest.to_owned() };
    let scheme = match scheme.as_str() {
        "https" => "wss".to_owned(),
        "http" => "ws".to_owned(),
        _ => scheme,
    };
    let mut url = format!("{scheme}://{rest}");
    while url.ends_with('/') {
        url.pop();
    }
    if !url.ends_with("/v1/webrtc") {
        url.push_str("/v1/webrtc");
    }
    url
}

/// `api.example.com[:port][/path]` → `webrtc.example.com[:port][/path]`; other hosts unchanged.
fn replace_api_label(authority_and_path: &str) -> String {
    let host_start = authority_and_path.find('@').map_or(0, |at| at + 1);
    let (before, host_and_after) = authority_and_path.split_at(host_start);
    if host_and_after.len() >= 4 && host_and_after[..4].eq_ignore_ascii_case("api.") {
        format!("{before}webrtc.{}", &host_and_after[4..])
    } else {
        authority_and_path.to_owned()
    }
}

/// `GET` URL of the ICE-server list (§11.2), on the API host.
pub fn ice_servers_url(api_base: &str) -> String {
    format!("{}/v1/webrtc/ice-servers", api_base.trim().trim_end_matches('/'))
}
