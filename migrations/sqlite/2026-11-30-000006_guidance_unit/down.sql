DROP INDEX guidance_unit_status_due;
-- SQLite cannot drop a column that holds a foreign key: rebuild the table.
CREATE TABLE guidance_v2 (
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
INSERT INTO guidance_v2 SELECT id, station_id, raised_by, item_code, instruction, due_on, status, resolved_by,
    resolved_on, created_at, updated_at FROM guidance;
DROP TABLE guidance;
ALTER TABLE guidance_v2 RENAME TO guidance;
CREATE INDEX guidance_station_item ON guidance (station_id, item_code, status);
CREATE INDEX guidance_status_due ON guidance (status, due_on);
CREATE INDEX guidance_raised_by ON guidance (raised_by);
CREATE INDEX guidance_resolved_by ON guidance (resolved_by);
