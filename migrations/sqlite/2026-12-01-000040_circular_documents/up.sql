-- The circular as a PDF document (GB/T 9704), rendered once when it is
-- issued, in the same transaction, and attached to every email as sent.
CREATE TABLE circular_documents (
    circular_id INTEGER PRIMARY KEY NOT NULL REFERENCES circulars(id),
    pdf BLOB NOT NULL
);
