ALTER TABLE deliveries DROP COLUMN sent_via;
