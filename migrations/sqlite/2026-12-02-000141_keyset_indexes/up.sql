-- Keyset pages (issue 14): a circular's deliveries and a station's status
-- changes are read in id order after a cursor; the index gives them in that
-- order without sorting every row of the circular or the station.
DROP INDEX deliveries_circular;
CREATE INDEX deliveries_circular ON deliveries (circular_id, id);
DROP INDEX station_status_changes_station;
CREATE INDEX station_status_changes_station ON station_status_changes (station_id, id);
