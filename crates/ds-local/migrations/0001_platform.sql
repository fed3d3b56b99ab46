-- ds-local platform storage. Timestamps are milliseconds since the Unix epoch (UTC).

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT,
    primary_contact_name TEXT,
    config TEXT NOT NULL,
    address TEXT,
    pricing TEXT,
    livemode INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT,
    email TEXT,
    do_not_disturb INTEGER NOT NULL DEFAULT 0,
    mobile_push_wakeup INTEGER NOT NULL DEFAULT 0,
    sessions_revoked_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_by_account ON users(account_id, created_at, id);

CREATE TABLE extensions (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, number)
);

CREATE TABLE dids (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id TEXT,
    endpoint_id TEXT,
    did_id TEXT,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL,
    from_label TEXT,
    to_number TEXT,
    to_label TEXT,
    dial_string TEXT,
    started_at INTEGER NOT NULL,
    answered_at INTEGER,
    connected_at INTEGER,
    ended_at INTEGER,
    duration_seconds INTEGER,
    status TEXT,
    hangup_cause INTEGER,
    summary TEXT,
    sentiment TEXT,
    recording_url TEXT,
    quality_metrics TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX calls_by_account ON calls(account_id, started_at, id);

CREATE TABLE emergency_addresses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    registered_ip TEXT,
    created_at INTEGER NOT NULL
);

-- account_id NULL = platform-global endpoint.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT,
    livemode INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Per-account event sequence; kept apart from `events` so pruning never reuses a number.
CREATE TABLE event_sequences (
    account_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

-- Retained account event log for SSE replay (last 1,000 per account, 24 h).
CREATE TABLE events (
    account_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
);

-- Durable webhook outbox: one row per (event, destination), written with the event.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    failed_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(delivered_at, failed_at, next_attempt_at);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE platform_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
