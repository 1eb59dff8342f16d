DROP INDEX guidance_unit_status_due;
ALTER TABLE guidance DROP COLUMN unit_id;
