DROP TABLE server_keys;
DROP TABLE notice_optouts;
DROP TABLE notice_sends;
DELETE FROM deliveries WHERE kind <> 'circular';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_content;
DROP INDEX deliveries_kind;
ALTER TABLE deliveries DROP COLUMN notice_id, DROP COLUMN reference, DROP COLUMN kind,
    ALTER COLUMN circular_id SET NOT NULL, ALTER COLUMN rendition_id SET NOT NULL;
DROP TABLE notices;
ALTER TABLE stations DROP COLUMN liaison_email;
