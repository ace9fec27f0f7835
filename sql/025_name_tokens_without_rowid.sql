-- The name's search tokens (sql/001) stored in their key's B-tree on SQLite
-- (WITHOUT ROWID): a row is its key, so a token's insert writes one B-tree
-- instead of the rowid table and the primary key's index, and a search by
-- token reads the person ids from the index alone. The observation import
-- writes about six tokens a person (docs/benchmarks.md "The case
-- workflow"). On PostgreSQL the marker is a comment: the table is rebuilt
-- as it was (a heap and its key's index).
CREATE TABLE person_name_tokens_new (
    token       BYTEA NOT NULL,
    person_id   BIGINT NOT NULL,
    PRIMARY KEY (token, person_id)
) /*sqlite: WITHOUT ROWID*/;

INSERT INTO person_name_tokens_new (token, person_id)
    SELECT token, person_id FROM person_name_tokens;

DROP TABLE person_name_tokens;

ALTER TABLE person_name_tokens_new RENAME TO person_name_tokens;
