DROP TABLE server_keys;
DROP TABLE notice_optouts;
DROP TABLE notice_sends;
DELETE FROM deliveries WHERE kind <> 'circular';
CREATE TABLE deliveries_old (
    id INTEGER PRIMARY KEY,
    circular_id INTEGER NOT NULL REFERENCES circulars (id),
    rendition_id INTEGER NOT NULL REFERENCES circular_renditions (id),
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
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO deliveries_old SELECT id, circular_id, rendition_id, recipient_name, recipient_email, unit_id, copy,
    status, attempts, next_attempt_at, claimed_until, last_error, message_id, sent_at, created_at, updated_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_old RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_circular ON deliveries (circular_id, id);
DROP TABLE notices;
ALTER TABLE stations DROP COLUMN liaison_email;
