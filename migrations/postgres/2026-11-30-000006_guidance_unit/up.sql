-- The unit of a guidance row, kept with it so that a county's open and
-- overdue guidance is counted from one index, without visiting stations.
ALTER TABLE guidance ADD COLUMN unit_id INTEGER REFERENCES units (id);
UPDATE guidance SET unit_id = s.unit_id FROM stations s WHERE s.id = guidance.station_id;
CREATE INDEX guidance_unit_status_due ON guidance (unit_id, status, due_on);
