use crate::LegId;

/// Everything the engine can refuse. Every error leaves the engine and all other legs running.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("unknown media leg {0}")]
    UnknownLeg(LegId),
    #[error("the SDP could not be parsed: {0}")]
    InvalidSdp(String),
    #[error("the SDP was refused: {0}")]
    SdpRefused(String),
    #[error("the offer has no audio m-line this engine can answer")]
    NoAudio,
    #[error("leg {0} has no pending offer to accept an answer for")]
    NoPendingOffer(LegId),
    #[error("a leg cannot be bridged to itself ({0})")]
    BridgeToSelf(LegId),
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    NotADtmfDigit(char),
    #[error("cannot advertise {0} as an ICE candidate: bind a concrete IP such as 127.0.0.1")]
    UnspecifiedAddress(std::net::IpAddr),
    #[error("the media engine has stopped")]
    EngineStopped,
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}
