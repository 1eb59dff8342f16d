-- Each station's current state per checklist item: the latest counted
-- (not voided) result, from which visit and date. Kept by recording and
-- voiding a visit in their transactions, so the checklist, the next-visit
-- template and the station page read one row per item instead of the
-- station's whole history.
CREATE TABLE station_items (
    station_id INTEGER NOT NULL REFERENCES stations (id),
    item_code TEXT NOT NULL,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    visited_on DATE NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('met', 'partial', 'unmet', 'not_applicable')),
    note TEXT NOT NULL,
    PRIMARY KEY (station_id, item_code)
);
CREATE INDEX station_items_visit ON station_items (visit_id);

INSERT INTO station_items (station_id, item_code, visit_id, visited_on, result, note)
SELECT station_id, item_code, visit_id, visited_on, result, note
FROM (
    SELECT v.station_id, i.item_code, v.id AS visit_id, v.visited_on, i.result, i.note,
        ROW_NUMBER() OVER (PARTITION BY v.station_id, i.item_code ORDER BY v.visited_on DESC, v.id DESC) AS rn
    FROM visit_items i JOIN visits v ON v.id = i.visit_id
    WHERE v.voided_at IS NULL
) latest
WHERE rn = 1;
