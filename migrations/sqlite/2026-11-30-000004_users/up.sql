-- Users with roles scoped to units, sessions, API tokens, the audit log and
-- acknowledgements of shortfalls.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'inspector', 'county_lead', 'viewer')),
    -- Argon2id PHC string; empty = no password set (cannot sign in)
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The units a user may act in (none = city-wide, for admins and viewers).
CREATE TABLE user_units (
    user_id INTEGER NOT NULL REFERENCES users (id),
    unit_id INTEGER NOT NULL REFERENCES units (id),
    PRIMARY KEY (user_id, unit_id)
);
CREATE INDEX user_units_unit ON user_units (unit_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Append-only: nothing in the service updates or deletes these rows.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    user_id INTEGER,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (username);

CREATE TABLE acknowledgements (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('station', 'guidance', 'progress')),
    target_id TEXT NOT NULL,
    unit_id INTEGER NOT NULL REFERENCES units (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    comment TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX acknowledgements_target ON acknowledgements (kind, target_id);

-- Circular recipients now come from county-lead accounts: every unit
-- contact becomes an active county lead of its unit without a password
-- (an administrator sets one for those who are to sign in).
INSERT INTO users (username, display_name, email, role, password_hash, active, created_at, updated_at)
    SELECT 'lead-' || id, name, email, 'county_lead', '', TRUE, created_at, created_at FROM unit_contacts;
INSERT INTO user_units (user_id, unit_id)
    SELECT u.id, c.unit_id FROM unit_contacts c JOIN users u ON u.username = 'lead-' || c.id;
DROP TABLE unit_contacts;
