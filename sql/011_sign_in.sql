-- Failed staff sign-ins per (account, source address) (issue 8, security
-- item 9). A stranger's wrong passwords lock the account only for the
-- stranger's address, so nobody can lock an administrator out from
-- elsewhere. `account` is HMAC-SM3 of the name as typed (hex), so a
-- password typed into the name field is never stored, and unknown names are
-- counted exactly like real ones (the same answers for both). user_id is the
-- account's id when the name is one (0 otherwise): an administrator's
-- unlock clears its rows and the user list shows the lock.
CREATE TABLE login_failures (
    account      TEXT NOT NULL,
    ip           TEXT NOT NULL,
    user_id      BIGINT NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL,
    last_at      BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account, ip)
);
CREATE INDEX login_failures_user ON login_failures (user_id);
