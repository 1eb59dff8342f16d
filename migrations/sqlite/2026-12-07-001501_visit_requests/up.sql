-- A visit sent with an Idempotency-Key (the phone's queue sends each visit
-- with its own key): a repeat of the same request returns the visit
-- recorded the first time. The key is bound to who sent it and to what
-- was sent (SHA-256 of the visit's JSON and its photos' item codes and
-- sizes); the row is written in the visit's own transaction.
CREATE TABLE visit_requests (
    idempotency_key TEXT PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    username TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX visit_requests_visit ON visit_requests (visit_id);
