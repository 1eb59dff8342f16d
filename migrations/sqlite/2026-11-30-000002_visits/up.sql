-- Inspection visits scored against a checklist version, their per-item
-- results, follow-up guidance (整改意见) and evidence files.
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    station_id INTEGER NOT NULL REFERENCES stations (id),
    kind TEXT NOT NULL CHECK (kind IN ('acceptance', 'routine', 'follow_up')),
    visited_on DATE NOT NULL,
    inspector TEXT NOT NULL,
    summary TEXT NOT NULL,
    standard_id TEXT NOT NULL,
    standard_version INTEGER NOT NULL,
    -- weighted share of met items in hundredths of a percent (0..=10000)
    score_bp INTEGER NOT NULL CHECK (score_bp BETWEEN 0 AND 10000),
    compliant BOOLEAN NOT NULL,
    status_before TEXT NOT NULL,
    status_after TEXT NOT NULL,
    voided_at TIMESTAMP,
    void_reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX visits_station_date ON visits (station_id, visited_on, id);

CREATE TABLE visit_items (
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    item_code TEXT NOT NULL,
    position INTEGER NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('met', 'partial', 'unmet', 'not_applicable')),
    note TEXT NOT NULL,
    PRIMARY KEY (visit_id, item_code)
);

CREATE TABLE guidance (
    id INTEGER PRIMARY KEY,
    station_id INTEGER NOT NULL REFERENCES stations (id),
    raised_by INTEGER NOT NULL REFERENCES visits (id),
    item_code TEXT NOT NULL,
    instruction TEXT NOT NULL,
    due_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'withdrawn')),
    resolved_by INTEGER REFERENCES visits (id),
    resolved_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX guidance_station_item ON guidance (station_id, item_code, status);
CREATE INDEX guidance_status_due ON guidance (status, due_on);
CREATE INDEX guidance_raised_by ON guidance (raised_by);
CREATE INDEX guidance_resolved_by ON guidance (resolved_by);

CREATE TABLE evidence (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    item_code TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_visit ON evidence (visit_id);

-- A status change made by a visit names it, so voiding the visit can undo it.
ALTER TABLE station_status_changes ADD COLUMN visit_id INTEGER REFERENCES visits (id);
