DROP TABLE deliveries;
DROP TABLE circular_renditions;
DROP TABLE circulars;
DROP TABLE circular_serials;
DROP TABLE unit_contacts;
DROP INDEX stations_unit_established;
ALTER TABLE stations DROP COLUMN last_visit_on;
ALTER TABLE stations DROP COLUMN compliant;
ALTER TABLE plans DROP COLUMN basis;
