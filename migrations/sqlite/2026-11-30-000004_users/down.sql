CREATE TABLE unit_contacts (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX unit_contacts_unit ON unit_contacts (unit_id);
INSERT INTO unit_contacts (unit_id, name, email, created_at)
    SELECT uu.unit_id, u.display_name, u.email, u.created_at FROM users u JOIN user_units uu ON uu.user_id = u.id
    WHERE u.role = 'county_lead' AND u.email IS NOT NULL;
DROP TABLE acknowledgements;
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE user_units;
DROP TABLE users;
