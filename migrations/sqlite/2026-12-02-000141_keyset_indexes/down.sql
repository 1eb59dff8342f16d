DROP INDEX deliveries_circular;
CREATE INDEX deliveries_circular ON deliveries (circular_id);
DROP INDEX station_status_changes_station;
CREATE INDEX station_status_changes_station ON station_status_changes (station_id);
