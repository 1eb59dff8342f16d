-- Where and when the inspector's phone captured the visit: the device's
-- clock when save was pressed (UTC), and the position the phone gave when
-- the inspector allowed it (WGS 84 degrees, accuracy radius in metres).
-- All optional: a visit recorded without them has none.
ALTER TABLE visits ADD COLUMN captured_at TIMESTAMP;
ALTER TABLE visits ADD COLUMN latitude DOUBLE PRECISION;
ALTER TABLE visits ADD COLUMN longitude DOUBLE PRECISION;
ALTER TABLE visits ADD COLUMN accuracy_m DOUBLE PRECISION;
