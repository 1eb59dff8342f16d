DROP TABLE disputes;
DROP TABLE station_accounts;
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, '''county_lead'', ''viewer'', ''station'')', '''county_lead'', ''viewer'')')
 WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = RESET;
