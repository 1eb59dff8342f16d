ALTER TABLE circulars DROP COLUMN idempotency_body_sha256;
