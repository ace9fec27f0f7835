/*
 * Scheduled online backups of a SQLite database (docs/ha.md "Scheduled
 * SQLite backups"), run by `fangkong serve` when FK_BACKUP_EVERY > 0.
 *
 * Each period: an online backup (db_backup) into
 * DIR/fangkong-YYYYMMDDTHHMMSSZ.fkb; then its verification: the backup is
 * restored into a fresh temporary folder in DIR and the copy checked —
 * SQLite's integrity check, every migration of this build applied, the audit
 * chain intact (audit_verify; a "tail_cut" against checkpoints written after
 * the backup is expected and accepted). A verified backup gets a sidecar
 * FILE.ok (what was checked); one that fails verification is deleted and the
 * failure logged (backup_failed). Then the oldest verified backups beyond
 * FK_BACKUP_KEEP are deleted. PostgreSQL: off (base backups and WAL
 * archiving, docs/ha.md).
 */
#ifndef FK_BACKUP_SCHEDULE_H
#define FK_BACKUP_SCHEDULE_H

#include <stdint.h>

#include "base/error.h"

/* Start the schedule: every every_s seconds (<= 0: off) into `dir`
 * (created 0700 if missing), keeping `keep` verified backups. E_INPUT when
 * the database is not SQLite while every_s > 0. */
err backup_schedule_start(const char *db_url, const char *dir, int every_s, int keep) MUST_USE;
void backup_schedule_stop(void);

/* Seconds since the newest verified backup was taken (found in `dir` at
 * start or made since); -1 when there is none; -2 when the schedule is off.
 * For /metrics. */
int64_t backup_schedule_age_s(void);

/* Print the backups in `dir`, newest first, with size and verification
 * (`fangkong backup --list`); the number listed, or -1 when dir is unreadable. */
int backup_schedule_list(const char *dir);

#endif
