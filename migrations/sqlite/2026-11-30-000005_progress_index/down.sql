CREATE INDEX stations_unit_established ON stations (unit_id, established_on);
DROP INDEX stations_progress;
