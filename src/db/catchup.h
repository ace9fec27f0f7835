/*
 * Writes acknowledged before they reach the database (issue 15): on SQLite
 * staff scans are durable in the access journal (access/journal.h) and
 * indexed into access_records a moment later. A reader of such a table
 * calls db_catch_up() first, outside any transaction, so that it sees
 * every write acknowledged before the call. The capability that keeps
 * writes ahead of the database installs the wait (a hook, so that readers
 * in other capabilities need not include it); without one it returns at
 * once.
 */
#ifndef FK_DB_CATCHUP_H
#define FK_DB_CATCHUP_H

/* Install the wait (once, before the server answers; NULL: none). */
void db_catch_up_set(void (*wait)(void));

/* Wait until every write acknowledged so far is in the database. */
void db_catch_up(void);

#endif
