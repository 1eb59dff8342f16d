DROP TABLE disputes;
DROP TABLE station_accounts;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'inspector', 'county_lead', 'viewer'));
