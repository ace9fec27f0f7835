/*
 * Master key rotation (docs/keys.md; issue 15, "High availability and
 * backup"). A security administrator (key.admin) starts a rotation: a new
 * key version is added to the key file and made current (security/crypto.h),
 * then a periodic sweep re-seals every value of every sealed column listed in
 * the registry below under it, in batches, each batch with its cursor in one
 * transaction, so a server killed mid-way resumes where it stopped. Both
 * versions open all along. When every column is done the administrator
 * confirms the destruction of the old version: a last pass re-seals what any
 * server sealed under the old version meanwhile, then the old master key is
 * removed from the key file. Every step is audited. A value that does not
 * open stops the rotation (state failed, the column and row named), never
 * skipped.
 *
 * Several servers: the rotation row is the claim (claimed_by, claim_until
 * renewed each batch, held 60 s), so one server re-seals at a time and
 * another takes over when the claim expires (the same server restarted
 * takes it back at once); every server re-reads the key file when it changes
 * (keys_reload_if_changed, each period), which must be shared by the servers.
 */
#ifndef FK_KEYROT_KEYROT_H
#define FK_KEYROT_KEYROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/crypto.h"

/* ---- the registry of sealed columns (registry.c) ------------------------- */

enum keyrot_kind {
    KEYROT_SEALED, /* seal()ed values: re-sealed by a rotation */
    KEYROT_BLIND,  /* blind indexes: re-computed under the new version */
};

/* How a blind index is computed from the value it indexes (the sealed
 * column `source` of the same row): the walk cannot invert a digest, so it
 * opens the value and computes the index again, as the module does. */
enum keyrot_derive {
    KEYROT_SAME,   /* the value itself (stored normalised by its module) */
    KEYROT_LAST4,  /* its last four characters, all digits (persons.phone_last4) */
    KEYROT_TOKENS, /* one of the name's search tokens (person_name_tokens) */
    KEYROT_EXPIRE, /* nothing to compute from: short-lived rows (sms_codes)
                      written before the rotation are deleted */
};

struct keyrot_column {
    const char *table, *column;
    const char *key1;  /* the walk's cursor column (integer), "id" mostly */
    const char *key2;  /* the rest of a two-column primary key, or NULL */
    bool key2_blob;    /* key2 is a BYTEA (parking_cars.plate_bidx) */
    const char *label; /* seal label; NULL: "<table>.<column without _enc>";
                          ending in '#': the row's key1 follows it */
    enum keyrot_kind kind;
    const char *table_zh, *column_zh; /* for the console */
    /* blind indexes: the sealed column of the value ("persons.name_enc" for
     * the name tokens, read through a join), the blind_index label, how */
    const char *source, *blind_label;
    enum keyrot_derive derive;
};

#define KEYROT_LABEL_MAX 96

/* Every sealed and blind-index column, in a fixed order. */
const struct keyrot_column *keyrot_columns(size_t *n_r);
/* The entry of "table.column", or NULL. */
const struct keyrot_column *keyrot_column_find(const char *name);
/* The seal label of column c's value in the row whose key1 is id. */
void keyrot_label(const struct keyrot_column *c, int64_t id, char out[KEYROT_LABEL_MAX]);

/* Blind index c (KEYROT_BLIND) of the plain value `plain` of its source
 * under key version `version`: false when the value yields no index of
 * this column (a phone without four final digits) or the version is not
 * loaded. For KEYROT_TOKENS, every token of the name: out gets up to
 * `max` digests, *n_r their count. */
bool keyrot_blind(const struct keyrot_column *c, int version, const char *plain,
                  uint8_t (*out)[BLIND_LEN], size_t max, size_t *n_r);

/* ---- the rotation (keyrot.c) ----------------------------------------------- */

/*
 * Start a rotation as user_id, in d's open transaction: E_CONFLICT
 * "rotation_running" when one is not finished; else a new key version is
 * added (and written to the key file) and the rotation row and one progress
 * row per sealed column are inserted. *id_r, *to_version_r: the rotation.
 */
err keyrot_start(db *d, int64_t user_id, int64_t *id_r, int *to_version_r) MUST_USE;

/* Confirm the destruction of rotation id's old version (the administrator
 * types it: confirm_version must equal from_version, else E_INPUT
 * "confirm_mismatch"), in d's open transaction; the sweep's last pass then
 * destroys it. E_NOT_FOUND, E_CONFLICT "rotation_not_resealed". */
err keyrot_confirm_destroy(db *d, int64_t id, int confirm_version, int64_t user_id) MUST_USE;

/* Resume a failed rotation (after the value that stopped it was repaired)
 * from its cursors, in d's open transaction. E_NOT_FOUND, E_CONFLICT
 * "rotation_not_failed". */
err keyrot_retry(db *d, int64_t id) MUST_USE;

/* The console's view: current version, versions held, rotations newest
 * first with their progress per sealed column (Chinese names). */
err keyrot_status(db *d, arena *a, json_t **out_r) MUST_USE;

/*
 * One run of the sweep on d (its own connection): re-read the key file if
 * it changed, claim the active rotation for `node` and re-seal up to
 * `batches` batches of `batch` rows; *count_r the values re-sealed.
 */
err keyrot_run(db *d, int64_t now, const char *node, int batch, int batches,
               int64_t *count_r) MUST_USE;

/* The sweep every every_s seconds (0: off) on its own connection, claiming
 * as "<host>#<node>" (FK_NODE); batch and batches per run as keyrot_run.
 * keyrot_serve_stop at shutdown. */
err keyrot_serve_start(const char *db_url, int node, int every_s, int batch, int batches) MUST_USE;
void keyrot_serve_stop(void);

#endif
