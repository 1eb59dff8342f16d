-- SQLite cannot drop a column that holds a foreign key: rebuild the table.
CREATE TABLE station_status_changes_v1 (
    id INTEGER PRIMARY KEY,
    station_id INTEGER NOT NULL REFERENCES stations (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    effective_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO station_status_changes_v1
    SELECT id, station_id, from_status, to_status, reason, effective_on, created_at FROM station_status_changes;
DROP TABLE station_status_changes;
ALTER TABLE station_status_changes_v1 RENAME TO station_status_changes;
CREATE INDEX station_status_changes_station ON station_status_changes (station_id);
DROP TABLE evidence;
DROP TABLE guidance;
DROP TABLE visit_items;
DROP TABLE visits;
