-- The dispute ledger (台账) of each station, and station accounts.

-- A station account (站长/联络员) is bound to exactly one station.
CREATE TABLE station_accounts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    station_id INTEGER NOT NULL REFERENCES stations (id)
);
CREATE INDEX station_accounts_station ON station_accounts (station_id);

CREATE TABLE disputes (
    id INTEGER PRIMARY KEY,
    station_id INTEGER NOT NULL REFERENCES stations (id),
    channel TEXT NOT NULL CHECK (channel IN ('walk_in', 'phone', 'dispatch', 'online')),
    -- the 12315 work-order number of a dispatched case
    dispatch_ref TEXT,
    received_on DATE NOT NULL,
    -- local time HH:MM as the register records it
    received_time TEXT,
    -- personal information: NULL once erased after the retention period
    consumer_name TEXT,
    consumer_phone TEXT,
    subject TEXT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('goods', 'service')),
    -- money in fen (1/100 yuan), never floating point
    amount_fen BIGINT CHECK (amount_fen >= 0),
    complaint TEXT NOT NULL,
    -- deadlines in working days from received_on
    respond_by DATE NOT NULL,
    close_by DATE NOT NULL,
    responded_on DATE,
    handling TEXT CHECK (handling IN ('settled', 'mediated', 'referred', 'declined', 'failed')),
    -- why declined, or to whom referred
    handling_note TEXT,
    outcome TEXT CHECK (outcome IN ('return', 'exchange', 'refund', 'compensation', 'repair', 'other')),
    recovered_fen BIGINT NOT NULL DEFAULT 0 CHECK (recovered_fen >= 0),
    handled_on DATE,
    followed_up_on DATE,
    satisfaction TEXT CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'closed')),
    created_by TEXT NOT NULL,
    erased_at TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- a station's ledger, newest first; the city's by date (figures, lists)
CREATE INDEX disputes_station ON disputes (station_id, received_on, id);
CREATE INDEX disputes_received ON disputes (received_on, id);
-- open cases by deadline (overdue dispatches)
CREATE INDEX disputes_open_due ON disputes (status, close_by);
-- what retention still has to erase
CREATE INDEX disputes_retention ON disputes (handled_on) WHERE erased_at IS NULL;

-- The role 'station' joins the CHECK on users.role. SQLite cannot alter a
-- CHECK, and users is not rebuilt (other tables and branches refer to it):
-- the constraint's text is edited in the schema table, the documented way
-- of relaxing a constraint (https://sqlite.org/lang_altertable.html,
-- "otheralter"), and RESET reloads this connection's schema; the CREATE
-- statements above change the schema cookie, so other connections reload.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, '''county_lead'', ''viewer'')', '''county_lead'', ''viewer'', ''station'')')
 WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = RESET;
