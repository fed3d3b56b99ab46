-- The instant schedules are evaluated at, when frozen through `POST /_ds/clock` (rest.md §19.2).
-- One row at most; no row means "the real clock".
CREATE TABLE routing_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    frozen_ms INTEGER NOT NULL
);
