DROP TABLE seed_runs;
DROP TABLE station_status_changes;
DROP TABLE stations;
DROP TABLE plans;
DROP TABLE units;
