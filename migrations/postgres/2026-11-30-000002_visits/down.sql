ALTER TABLE station_status_changes DROP COLUMN visit_id;
DROP TABLE evidence;
DROP TABLE guidance;
DROP TABLE visit_items;
DROP TABLE visits;
