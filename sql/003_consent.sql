-- Residents' consent to the collection of their personal information
-- (seed 002 三(三): collection with consent, for epidemic prevention only).
-- An append-only history: every consent and every withdrawal is a row with
-- its time and the version of the purpose statement shown; the current
-- state of an account is its newest row. Rows hold no personal data.
CREATE TABLE consents (
    id          BIGINT PRIMARY KEY,        -- time-ordered (base/id.h): newest = largest
    user_id     BIGINT NOT NULL,
    person_id   BIGINT NOT NULL DEFAULT 0, -- the bound person at the time, 0 none yet
    action      TEXT NOT NULL,             -- given | withdrawn
    version     TEXT NOT NULL,             -- purpose statement version consented to / withdrawn from
    at          BIGINT NOT NULL
);
CREATE INDEX consents_user ON consents (user_id, id);

-- One resident account per person: a second account binding the same
-- record would read and change another's data.
CREATE UNIQUE INDEX users_person ON users (person_id) WHERE person_id IS NOT NULL;
