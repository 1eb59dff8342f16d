-- Progress against plans, and numbered circulars emailed through an outbox.

-- What a plan's target counts: 'new' = stations established in the year;
-- 'total' = stations standing at the year end (Baishan 2017: 330 in all).
ALTER TABLE plans ADD COLUMN basis TEXT NOT NULL DEFAULT 'new' CHECK (basis IN ('new', 'total'));

-- The latest counted visit's verdict, kept on the station so progress is one
-- aggregate query whatever the number of stations and visits.
ALTER TABLE stations ADD COLUMN compliant BOOLEAN;
ALTER TABLE stations ADD COLUMN last_visit_on DATE;
UPDATE stations SET
    compliant = (SELECT v.compliant FROM visits v WHERE v.station_id = stations.id AND v.voided_at IS NULL
                 ORDER BY v.visited_on DESC, v.id DESC LIMIT 1),
    last_visit_on = (SELECT MAX(v.visited_on) FROM visits v WHERE v.station_id = stations.id AND v.voided_at IS NULL);
CREATE INDEX stations_unit_established ON stations (unit_id, established_on);

CREATE TABLE unit_contacts (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX unit_contacts_unit ON unit_contacts (unit_id);

-- The last serial issued per document prefix and year (gap-free numbering).
CREATE TABLE circular_serials (
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_serial INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE circulars (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    serial INTEGER NOT NULL,
    as_of DATE NOT NULL,
    title TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    attachment_csv TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    schedule_period TEXT UNIQUE,
    idempotency_key TEXT UNIQUE,
    issued_at TIMESTAMP NOT NULL,
    UNIQUE (prefix, year, serial)
);

-- The bodies as sent: one per unit whose row is highlighted, one plain.
CREATE TABLE circular_renditions (
    id INTEGER PRIMARY KEY,
    circular_id INTEGER NOT NULL REFERENCES circulars (id),
    unit_id INTEGER REFERENCES units (id),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL
);
CREATE INDEX circular_renditions_circular ON circular_renditions (circular_id);

CREATE TABLE deliveries (
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
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_circular ON deliveries (circular_id);
