-- How a sent delivery left: 'smtp' (accepted by the SMTP server) or 'file'
-- (written as an .eml file: no mail server configured). Null until sent.
ALTER TABLE deliveries ADD COLUMN sent_via TEXT;
-- Deliveries sent before: the file transport recorded the file's path
-- after the Message-ID, "<id> (/path/x.eml)".
UPDATE deliveries SET sent_via = CASE WHEN message_id LIKE '%.eml)' THEN 'file' ELSE 'smtp' END
WHERE status = 'sent';
