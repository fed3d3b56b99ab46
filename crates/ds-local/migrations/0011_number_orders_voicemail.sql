-- Phone-number orders (rest.md §6.2: ds-local completes them synchronously) and voicemails
-- (rest.md §16) with their recorded audio.

CREATE TABLE phone_number_orders (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX phone_number_orders_by_account ON phone_number_orders(account_id, created_at, id);

CREATE TABLE voicemails (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    call_id TEXT,
    from_number TEXT NOT NULL,
    from_name TEXT,
    duration_seconds INTEGER NOT NULL,
    format TEXT NOT NULL,
    -- The recording itself (WAV, PCM 16-bit mono 8 kHz); small enough for SQLite.
    audio BLOB NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0,
    read_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX voicemails_by_account ON voicemails(account_id, created_at, id);
