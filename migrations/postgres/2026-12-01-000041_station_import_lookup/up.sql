-- An imported register row is matched by credit code, else by unit and name.
CREATE INDEX stations_credit_code ON stations (credit_code);
CREATE INDEX stations_unit_name ON stations (unit_id, name);
