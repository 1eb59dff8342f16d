ALTER TABLE visits DROP COLUMN accuracy_m;
ALTER TABLE visits DROP COLUMN longitude;
ALTER TABLE visits DROP COLUMN latitude;
ALTER TABLE visits DROP COLUMN captured_at;
