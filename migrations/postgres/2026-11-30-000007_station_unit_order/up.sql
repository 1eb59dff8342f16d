-- A county's stations in id order, for the first page of its list without
-- sorting all of them.
CREATE INDEX stations_unit_id ON stations (unit_id, id);
