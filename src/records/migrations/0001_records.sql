-- The auth records, their links and the webhook outbox.
--
-- Portable SQL: the same file migrates SQLite and PostgreSQL (BIGINT is an
-- INTEGER in SQLite; booleans are 0/1 integers on both, so one row reader
-- serves both). Times are milliseconds since the Unix epoch.

-- One value per key: the owner id this database was created with.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A record: one login of one customer at one institution (Okra's
-- `record`). A customer's second account at the same bank joins it.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    partner TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (owner, partner, customer_id, bank_id)
);

-- An auth: one account a customer proved they own. The unique key is what
-- makes "the same account for the same customer": linking it again updates
-- this row, concurrent links included. customer_id is '' (not NULL) when
-- the channel knew nobody, so the key still holds.
CREATE TABLE auths (
    id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (id),
    owner TEXT NOT NULL,
    env TEXT NOT NULL,
    validated INTEGER NOT NULL,
    partner TEXT NOT NULL,
    partner_account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    customer_name TEXT,
    bank_id TEXT NOT NULL,
    bank_name TEXT NOT NULL,
    bank_icon TEXT,
    auth_method TEXT,
    reference TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    UNIQUE (owner, partner, partner_account_id, customer_id)
);

-- Every list is newest first, ties by id.
CREATE INDEX auths_newest ON auths (owner, created_at DESC, id DESC);
CREATE INDEX auths_by_customer ON auths (owner, customer_id, created_at DESC, id DESC);
CREATE INDEX auths_by_bank ON auths (owner, bank_id, created_at DESC, id DESC);

-- Each flow that linked an account, by its reference: a second delivery of
-- the same flow finds its row and answers as the first did.
CREATE TABLE links (
    reference TEXT PRIMARY KEY,
    auth_id TEXT NOT NULL REFERENCES auths (id),
    is_returning INTEGER NOT NULL,
    channel TEXT NOT NULL,
    linked_at BIGINT NOT NULL
);

-- Webhook deliveries: pending -> delivered, or -> dead after the last try.
-- next_attempt_at is also the lease of a sender working on the row.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE REFERENCES links (reference),
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
