-- County-level units (区/县/县级市/市局直属分局), their annual plans, and the station registry.
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('district', 'county', 'county_city', 'branch')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE plans (
    unit_id INTEGER NOT NULL REFERENCES units (id),
    year INTEGER NOT NULL,
    target INTEGER NOT NULL CHECK (target >= 0),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (unit_id, year)
);
CREATE INDEX plans_year ON plans (year);

CREATE TABLE stations (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units (id),
    name TEXT NOT NULL,
    host_business TEXT NOT NULL,
    credit_code TEXT,
    category TEXT NOT NULL,
    address TEXT NOT NULL,
    liaison_name TEXT NOT NULL,
    liaison_phone TEXT NOT NULL,
    standard_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'established', 'model', 'rectifying', 'revoked')),
    established_on DATE,
    revoked_on DATE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX stations_unit_status ON stations (unit_id, status);
CREATE INDEX stations_status ON stations (status);
CREATE INDEX stations_category ON stations (category);
CREATE INDEX stations_established_on ON stations (established_on);

-- Every status change with its reason (撤销命名 needs a recorded ground).
CREATE TABLE station_status_changes (
    id INTEGER PRIMARY KEY,
    station_id INTEGER NOT NULL REFERENCES stations (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    effective_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX station_status_changes_station ON station_status_changes (station_id);

-- Records which demo data sets were loaded, so loading is idempotent.
CREATE TABLE seed_runs (
    name TEXT PRIMARY KEY,
    loaded_at TIMESTAMP NOT NULL
);
