-- Voice apps (rest.md §14.1) and the audio a voice app played into a call (rest.md §13.4
-- recordings, ds-local: WAV served from `/_ds/media/{token}`).

CREATE TABLE voice_apps (
    id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX voice_apps_by_account ON voice_apps(account_id, created_at, id);

CREATE TABLE call_recordings (
    call_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    duration_seconds INTEGER NOT NULL,
    audio BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
