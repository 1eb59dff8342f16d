DROP INDEX stations_unit_name;
DROP INDEX stations_credit_code;
