-- A station's open guidance, read by every recorded visit, through an index
-- that does not pass over its resolved history (guidance_station_item leads
-- with the item code, so a station's rows were all read to find the open ones).
CREATE INDEX guidance_station_status ON guidance (station_id, status, id);
