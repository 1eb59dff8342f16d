-- An Idempotency-Key is bound to the request it came with: the SHA-256 of
-- that request's period, so a different request with a used key is refused
-- instead of answered with another circular. NULL on circulars issued
-- before (their keys still replay).
ALTER TABLE circulars ADD COLUMN idempotency_body_sha256 TEXT;
