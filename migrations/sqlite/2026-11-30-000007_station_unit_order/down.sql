DROP INDEX stations_unit_id;
