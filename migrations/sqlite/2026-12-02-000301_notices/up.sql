-- Automated notices beyond circulars (issue 18): one outbox for every kind
-- of email, the station liaison's address, the exactly-once register of
-- scheduled notices, opt-outs, and the key that signs unsubscribe links.

ALTER TABLE stations ADD COLUMN liaison_email TEXT;

-- The content of one email that is not a circular, rendered when queued.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('guidance_notice', 'reminder', 'digest')),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    attachment_name TEXT,
    attachment BLOB,
    -- The one-click unsubscribe link (RFC 8058), for digests and reminders.
    unsubscribe_url TEXT,
    created_at TIMESTAMP NOT NULL
);

-- SQLite cannot drop NOT NULL in place: the outbox is rebuilt with every
-- row (as circular deliveries) and every index.
CREATE TABLE deliveries_new (
    id INTEGER PRIMARY KEY,
    circular_id INTEGER REFERENCES circulars (id),
    rendition_id INTEGER REFERENCES circular_renditions (id),
    recipient_name TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    unit_id INTEGER REFERENCES units (id),
    copy BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    message_id TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL DEFAULT 'circular' CHECK (kind IN ('circular', 'guidance_notice', 'reminder', 'digest')),
    reference TEXT NOT NULL DEFAULT '',
    notice_id INTEGER REFERENCES notices (id),
    CHECK ((kind = 'circular' AND circular_id IS NOT NULL AND rendition_id IS NOT NULL AND notice_id IS NULL)
        OR (kind <> 'circular' AND circular_id IS NULL AND rendition_id IS NULL AND notice_id IS NOT NULL))
);
INSERT INTO deliveries_new (id, circular_id, rendition_id, recipient_name, recipient_email, unit_id, copy, status,
    attempts, next_attempt_at, claimed_until, last_error, message_id, sent_at, created_at, updated_at, kind,
    reference, notice_id)
SELECT id, circular_id, rendition_id, recipient_name, recipient_email, unit_id, copy, status, attempts,
    next_attempt_at, claimed_until, last_error, message_id, sent_at, created_at, updated_at, 'circular',
    'circular/' || circular_id, NULL
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_circular ON deliveries (circular_id, id);
CREATE INDEX deliveries_kind ON deliveries (kind, id);

-- Exactly once per recipient and period: a scheduled notice is decided by
-- inserting this row, in the transaction that queues its delivery.
CREATE TABLE notice_sends (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('guidance_notice', 'reminder', 'digest')),
    recipient TEXT NOT NULL,
    period_key TEXT NOT NULL,
    delivery_id INTEGER REFERENCES deliveries (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, recipient, period_key)
);

-- What a user has turned off (digest, reminder).
CREATE TABLE notice_optouts (
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'digest')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Keys kept in the database, so every instance signs alike.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
