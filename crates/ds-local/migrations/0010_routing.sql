-- Routing configuration (rest.md §6, §7, §9, §10; ds-routing). Each object is stored as its JSON
-- wire form in `body`; `created_at`/`updated_at` (ms) drive list order. Ids are unique per account
-- (not globally) because fixtures may choose ids such as `sch_business_hours` in several accounts.

-- Full phone-number object (rest.md §6.1); NULL for rows inserted before routing existed.
ALTER TABLE dids ADD COLUMN body TEXT;
ALTER TABLE dids ADD COLUMN updated_at INTEGER;
CREATE INDEX dids_by_account ON dids(account_id, created_at, id);
CREATE INDEX dids_by_number ON dids(phone_number);

CREATE TABLE schedules (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX schedules_by_account ON schedules(account_id, created_at, id);

CREATE TABLE dial_plans (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX dial_plans_by_account ON dial_plans(account_id, created_at, id);

-- Members are embedded in the body (they are always returned with the group, rest.md §10.1).
CREATE TABLE ring_groups (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX ring_groups_by_account ON ring_groups(account_id, created_at, id);
