//! Voicemails (rest.md §16): storage of recorded messages, their events, and the short-lived
//! signed URLs their audio is served from (`/_ds/media/{token}`, rest.md §19.4).
//!
//! Transcription is not available offline: every voicemail says so in its `transcription`
//! field (`{"status": "unavailable", …}`), `GET …/transcript` answers `status: "failed"` with
//! `text: null`, and no `*.transcription.complete` event is ever published.

use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::AppState;
use crate::clock::iso;
use crate::error::ApiError;
use crate::ids;

/// How long a signed audio URL works (rest.md §19.4: 10 minutes, like the platform's).
pub const MEDIA_URL_TTL_MS: i64 = 10 * 60 * 1000;
/// The format of every recording ds-local makes.
pub const FORMAT: &str = "wav";
/// Why there is no transcript, in the voicemail object and the transcript endpoint.
pub const TRANSCRIPTION_UNAVAILABLE: &str =
    "ds-local runs offline and has no speech-to-text engine; no transcript is produced";

/// The key media URLs are signed with: random per process, so URLs die with the server (they
/// live 10 minutes anyway).
fn media_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(ids::random_bytes)
}

fn media_mac(voicemail_id: &str, expires_ms: i64) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(media_key()).expect("HMAC accepts keys of any length");
    mac.update(format!("{voicemail_id}.{expires_ms}").as_bytes());
    mac
}

/// A token for `/_ds/media/{token}` valid until `expires_ms`.
pub fn media_token(voicemail_id: &str, expires_ms: i64) -> String {
    let signature = ids::hex(&media_mac(voicemail_id, expires_ms).finalize().into_bytes());
    format!("{voicemail_id}.{expires_ms}.{signature}")
}

/// The voicemail a token grants, if its signature holds and it has not expired.
pub fn verify_media_token(token: &str, now_ms: i64) -> Option<String> {
    let mut parts = token.split('.');
    let (id, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let expires_ms: i64 = expires.parse().ok()?;
    if expires_ms <= now_ms {
        return None;
    }
    let given: Vec<u8> = (0..signature.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(signature.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    media_mac(id, expires_ms).verify_slice(&given).ok()?;
    Some(id.to_owned())
}

/// The media path of a voicemail's audio and when it expires.
pub fn media_path(voicemail_id: &str, now_ms: i64) -> (String, i64) {
    let expires = now_ms + MEDIA_URL_TTL_MS;
    (format!("/_ds/media/{}", media_token(voicemail_id, expires)), expires)
}

/// What a new voicemail is made of.
#[derive(Debug, Clone)]
pub struct NewVoicemail<'a> {
    pub account_id: &'a str,
    /// `user_…` or `svm_…`.
    pub owner: &'a str,
    pub call_id: Option<&'a str>,
    pub from_number: &'a str,
    pub from_name: Option<&'a str>,
    pub duration_seconds: i64,
    /// The WAV file.
    pub audio: Vec<u8>,
}

/// Stores a voicemail and publishes `voicemail.new` then `recording.available` (SSE and
/// webhooks through the account bus). Returns its id.
pub async fn create(state: &AppState, new: NewVoicemail<'_>) -> Result<String, ApiError> {
    let now = state.clock().now_ms();
    let id = ids::new_id("vm", now);
    let size = new.audio.len() as i64;
    sqlx::query(
        "INSERT INTO voicemails (id, account_id, owner, call_id, from_number, from_name, duration_seconds,
         format, audio, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(new.account_id)
    .bind(new.owner)
    .bind(new.call_id)
    .bind(new.from_number)
    .bind(new.from_name)
    .bind(new.duration_seconds)
    .bind(FORMAT)
    .bind(new.audio)
    .bind(now)
    .execute(state.db())
    .await?;
    let (url, expires) = media_path(&id, now);
    let voicemail_new = json!({
        "voicemail_id": id, "owner": new.owner, "call_id": new.call_id,
        "from_number": new.from_number, "from_name": new.from_name,
        "duration_seconds": new.duration_seconds, "format": FORMAT, "audio_url": url,
        "created_at": iso(now),
    });
    state.events().publish(new.account_id, "voicemail.new", voicemail_new).await?;
    let recording = json!({
        "call_id": new.call_id, "voicemail_id": id, "download_url": url, "recording_url": url,
        "expires_at": iso(expires), "duration_seconds": new.duration_seconds, "file_size_bytes": size,
    });
    state.events().publish(new.account_id, "recording.available", recording).await?;
    Ok(id)
}

/// One stored voicemail row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VoicemailRow {
    pub id: String,
    pub owner: String,
    pub call_id: Option<String>,
    pub from_number: String,
    pub from_name: Option<String>,
    pub duration_seconds: i64,
    pub format: String,
    pub is_read: bool,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

/// Columns of [`VoicemailRow`], for queries.
pub const COLUMNS: &str =
    "id, owner, call_id, from_number, from_name, duration_seconds, format, is_read, read_at, created_at";

impl VoicemailRow {
    /// The wire object (rest.md §16.1). `origin` (`http://host:port`) makes `audio_url`
    /// absolute; a fresh signed URL is minted on every read.
    pub fn to_json(&self, origin: &str, now_ms: i64) -> Value {
        let (path, expires) = media_path(&self.id, now_ms);
        json!({
            "id": self.id, "object": "voicemail", "owner": self.owner,
            "from_number": self.from_number, "from_name": self.from_name,
            "duration_seconds": self.duration_seconds, "format": self.format,
            "audio_url": format!("{origin}{path}"), "audio_url_expires_at": iso(expires),
            "is_read": self.is_read, "read_at": self.read_at.map(iso),
            "created_at": iso(self.created_at), "summary": null, "sentiment": null,
            "call": self.call_id,
            "transcription": { "status": "unavailable", "reason": TRANSCRIPTION_UNAVAILABLE },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_token_verifies_until_it_expires_and_not_once_tampered() {
        let token = media_token("vm_1", 10_000);
        assert_eq!(verify_media_token(&token, 9_999).as_deref(), Some("vm_1"));
        assert_eq!(verify_media_token(&token, 10_000), None, "expired");
        assert_eq!(verify_media_token(&token.replace("vm_1", "vm_2"), 0), None, "another voicemail");
        assert_eq!(verify_media_token(&token.replace(".10000.", ".99999."), 0), None, "longer life");
        assert_eq!(verify_media_token("garbage", 0), None);
        assert_eq!(verify_media_token("vm_1.10000.zz", 0), None);
    }
}
