/*
 * The access journal (issue 15): on SQLite, staff and resident scans are
 * made durable by appending their access record, with the scan's audit
 * entry, to an append-only file in the data folder (one write and one
 * fdatasync per group-commit batch) and answered at once; an indexer
 * thread moves journalled records into access_records (and their audit
 * entries into the audit log) in large transactions and then deletes the
 * journal's consumed segments. docs/access.md "The access journal" tells
 * the format, what readers see and the recovery.
 *
 * What readers see: every query of access_records first calls
 * access_journal_sync(), which waits until the indexer has indexed every
 * scan acknowledged before the call (one indexer transaction at most, under
 * load); the entry limit counts the not-yet-indexed records in memory
 * (access_journal_passed) so the writer never waits for the indexer.
 *
 * PostgreSQL keeps the group-commit path (its WAL flush is the journal):
 * the journal is off and every function here is a no-op.
 */
#ifndef FK_ACCESS_JOURNAL_H
#define FK_ACCESS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "security/audit.h"

/* One journalled access record with its audit entry (the columns of the
 * staff and resident scans: no phone, no note). Strings are owned by the
 * journal once appended. */
struct journal_rec {
    int64_t id, venue_id, region_code, person_id, at, operator_user_id, device_id, created_at;
    double temperature; /* < 0: not measured */
    uint8_t direction;  /* enum access_dir */
    uint8_t colour;     /* enum code_colour */
    uint8_t pass;       /* verdict pass (1) or deny (0) */
    uint8_t reason;     /* the first ACCESS_DENY_* bit, 0 none */
    uint8_t method;     /* enum access_method */
    bool audited;       /* whether `audit` is to be written with the record */
    struct audit_entry audit;
};

/* Where the journal lives: DIR/access-journal/ (call before
 * access_writer_start; NULL or "": no journal). FK_ACCESS_JOURNAL=0 turns it
 * off (the group-commit path, as on PostgreSQL). FK_TEST_JOURNAL_STALL=FILE
 * (test suites only): while FILE exists the writer waits before each
 * append, holding its batch, so a test fills the scan queue at a known
 * count; E_INPUT "invalid_config" unless the test suites' password cost
 * is set too (password_cost_weak: call after password_cost_set). */
err access_journal_configure(const char *data_dir) MUST_USE;

/*
 * Open the journal for db_url (SQLite only; otherwise it stays off): index
 * every record left by the last run into `d` (a torn or corrupt last record
 * is dropped and logged), delete the old segments, open a fresh one and
 * start the indexer on its own connection. Called by access_writer_start
 * before the server answers. E_DB, E_INTERNAL (files, thread).
 */
err access_journal_open(const char *db_url, db *d) MUST_USE;

/* Index what is left and stop the indexer (after the writer has stopped). */
void access_journal_close(void);

/* Whether scans go through the journal (after access_journal_open). */
bool access_journal_on(void);

/*
 * Append n records (the writer's batch) with one write and one fdatasync.
 * On E_OK they are durable and visible to access_journal_passed at once;
 * the indexer takes them from there. On error nothing of the batch counts
 * (the file is cut back to where it was). Writer thread only. Blocks while
 * the in-memory tail holds its cap (the indexer is behind).
 */
err access_journal_append(struct journal_rec *recs, size_t n) MUST_USE;

/*
 * Passages (verdict pass) of person at venue in direction since `since`
 * among the records journalled and not yet indexed. Call between
 * access_journal_count_begin and _end, around the database's own count,
 * so a record is counted exactly once while the indexer moves it.
 */
int64_t access_journal_passed(int64_t person_id, int64_t venue_id, uint8_t direction,
                              int64_t since);
void access_journal_count_begin(void);
void access_journal_count_end(void);

/*
 * Wait until every scan acknowledged so far is in access_records. Every
 * reader of access_records calls this first, outside any transaction (the
 * indexer needs the write lock). No-op when the journal is off. Waits at
 * most 10 s: an indexer that keeps failing (logged) must not hang every
 * reader; the reader then sees what is indexed and a warning is logged.
 */
void access_journal_sync(void);

/* A parsed frame (tests/unit and the fuzz harness): decode one frame at
 * buf[0..len); *used_r the frame's size. false when torn or corrupt. The
 * record's strings point into a copy made with malloc (free with
 * journal_rec_free). */
bool journal_frame_decode(const uint8_t *buf, size_t len, struct journal_rec *r, size_t *used_r);
/* Encode r as a frame into malloc'd *out_r of *len_r bytes. E_NOMEM. */
err journal_frame_encode(const struct journal_rec *r, uint8_t **out_r, size_t *len_r) MUST_USE;
void journal_rec_free(struct journal_rec *r);

#endif
