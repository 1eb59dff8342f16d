-- Covers the progress aggregate: per unit, the stations standing at a date
-- and whether each is compliant, read from the index alone.
CREATE INDEX stations_progress ON stations (unit_id, established_on, revoked_on, compliant);
DROP INDEX stations_unit_established;
