/*
 * The rotation of keyrot.h: starting it, the periodic sweep that re-seals
 * the registry's columns batch by batch with a cursor per column, the
 * administrator's confirmation and the destruction of the old version, and
 * the status the console shows. Table and column names in the SQL come from
 * the registry (registry.c), never from a request.
 */
#include "keyrot/keyrot.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "db/periodic.h"
#include "db/query.h"
#include "security/audit.h"
#include "person/person.h"
#include "security/crypto.h"

/* the cursor before any key: ids, garage and investigation ids are >= 0;
 * INT32_MIN binds as well to the INTEGER keys (exchange_server_keys.id)
 * as to the BIGINT ones, where INT64_MIN is out of range on PostgreSQL */
#define CURSOR_START INT32_MIN

static err audit_system(db *d, int64_t user_id, const char *action, int64_t id, const char *result,
                        const char *detail)
{
    return audit_log(d, &(struct audit_entry){.user_id = user_id,
                                              .username = "",
                                              .role = "",
                                              .ip = "",
                                              .action = action,
                                              .object_type = "key_rotation",
                                              .object_id = id,
                                              .result = result,
                                              .detail = detail});
}

/* Append fragments (NULL-terminated) to q: SQL text and the registry's
 * table and column names, which are literals of registry.c, never input. */
static void frags(struct query *q, ...)
{
    va_list ap;
    va_start(ap, q);
    for (const char *f = va_arg(ap, const char *); f; f = va_arg(ap, const char *))
        query_sql(q, f);
    va_end(ap);
}

static err prepare_run(db *d, const char *sql, int64_t *changes_r, int n, const int64_t *v)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, v[i]);
    return db_run(s, changes_r);
}

/* Progress rows of pass `pass` of rotation id, one per sealed column and
 * per blind index, with the cursor at the start and the total not yet
 * counted (-1). */
static err progress_begin(db *d, int64_t id, int pass)
{
    size_t n;
    const struct keyrot_column *c = keyrot_columns(&n);
    err e = prepare_run(d, "DELETE FROM key_rotation_progress WHERE rotation_id = ?", NULL, 1, &id);
    for (size_t i = 0; !e && i < n; i++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO key_rotation_progress (rotation_id, column_name, pass, "
                            "cursor, done, resealed, total, finished) VALUES (?, ?, ?, ?, 0, 0, "
                            "-1, 0)",
                            &s)))
            break;
        char name[96];
        snprintf(name, sizeof name, "%s.%s", c[i].table, c[i].column);
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, name);
        db_bind_int64(s, 3, pass);
        db_bind_int64(s, 4, CURSOR_START);
        e = db_run(s, NULL);
    }
    return e;
}

err keyrot_start(db *d, int64_t user_id, int64_t *id_r, int *to_version_r)
{
    int64_t busy = 0;
    err e = db_query_int64(d,
                           "SELECT COUNT(*) FROM key_rotations WHERE state IN ('running', "
                           "'resealed', 'verifying', 'failed')",
                           &busy);
    if (e)
        return e;
    if (busy)
        return err_set(E_CONFLICT, "rotation_running", NULL,
                       "已有未完成的密钥轮换，请先完成或销毁旧密钥后再开始新的轮换");
    int from = keys_current_version(), to = 0;
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO key_rotations (id, from_version, to_version, state, "
                        "started_by, started_at, claim_until, updated_at) VALUES (?, ?, ?, "
                        "'running', ?, ?, 0, ?)",
                        &s)))
        return e;
    /* the version is known only once added; the row is written first with
     * from+1 and corrected, so a failed insert adds no key */
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, from + 1);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    if ((e = db_run(s, NULL)) || (e = progress_begin(d, id, 1)))
        return e;
    /* The key file is written before the transaction commits: a commit that
     * fails leaves a new current version and no rotation, which is harmless
     * (values sealed under it open; the next rotation starts from it). */
    if ((e = keys_add_version(&to)))
        return e;
    if ((e = prepare_run(d, "UPDATE key_rotations SET to_version = ? WHERE id = ?", NULL, 2,
                         (int64_t[]){to, id})))
        return e;
    *id_r = id;
    *to_version_r = to;
    return E_OK;
}

static err rotation_state(db *d, int64_t id, int *from_r, const char **state_r, arena *a)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT from_version, state FROM key_rotations WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool has;
    if (!(e = db_row(s, &has)) && !has)
        e = err_set(E_NOT_FOUND, "rotation_not_found", NULL, "密钥轮换不存在");
    if (!e) {
        *from_r = (int)db_col_int64(s, 0);
        *state_r = arena_strdup(a, db_col_text(s, 1));
    }
    db_done(s);
    return e;
}

err keyrot_confirm_destroy(db *d, int64_t id, int confirm_version, int64_t user_id)
{
    /* the state's text only, freed here: callers hold no arena */
    arena *a = arena_new(256);
    int from = 0;
    const char *state = NULL;
    err e = rotation_state(d, id, &from, &state, a);
    if (!e && strcmp(state, "resealed") != 0)
        e = err_set(E_CONFLICT, "rotation_not_resealed", NULL,
                    "密钥轮换尚未完成重新加密，不能销毁旧密钥");
    if (!e && confirm_version != from)
        e = err_set(E_INPUT, "confirm_mismatch", "confirm_version",
                    "请输入要销毁的旧密钥版本号 %d 以确认", from);
    arena_free(&a);
    int64_t changed = 0;
    if (!e &&
        !(e = prepare_run(d,
                          "UPDATE key_rotations SET state = 'verifying', destroyed_by = ?, "
                          "claimed_by = NULL, claim_until = 0, updated_at = ? WHERE id = ? AND "
                          "state = 'resealed'",
                          &changed, 3, (int64_t[]){user_id, now_ms(), id})) &&
        changed == 1)
        e = progress_begin(d, id, 2);
    return e;
}

err keyrot_retry(db *d, int64_t id)
{
    /* the state's text only, freed here: callers hold no arena */
    arena *a = arena_new(256);
    int from = 0;
    const char *state = NULL;
    err e = rotation_state(d, id, &from, &state, a);
    bool failed = !e && !strcmp(state, "failed");
    arena_free(&a);
    if (!e && !failed)
        return err_set(E_CONFLICT, "rotation_not_failed", NULL, "只有失败的密钥轮换可以重试");
    /* back to the pass it failed in: verifying once the destruction was
     * confirmed, else running */
    if (!e)
        e = prepare_run(d,
                        "UPDATE key_rotations SET state = CASE WHEN destroyed_by IS NULL THEN "
                        "'running' ELSE 'verifying' END, error = NULL, claimed_by = NULL, "
                        "claim_until = 0, updated_at = ? WHERE id = ? AND state = 'failed'",
                        NULL, 2, (int64_t[]){now_ms(), id});
    return e;
}

/* ---- the sweep --------------------------------------------------------------- */

struct active {
    int64_t id, user, started_at;
    int from, to;
    bool verifying;
};

static err active_rotation(db *d, struct active *r, bool *has_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT id, from_version, to_version, state, COALESCE(destroyed_by, "
        "started_by), started_at FROM key_rotations WHERE state IN ('running', 'verifying') "
        "ORDER BY id LIMIT 1",
        &s);
    if (e)
        return e;
    if (!(e = db_row(s, has_r)) && *has_r) {
        r->id = db_col_int64(s, 0);
        r->from = (int)db_col_int64(s, 1);
        r->to = (int)db_col_int64(s, 2);
        r->verifying = !strcmp(db_col_text(s, 3), "verifying");
        r->user = db_col_int64(s, 4);
        r->started_at = db_col_int64(s, 5);
    }
    db_done(s);
    return e;
}

static err claim(db *d, const struct active *r, const char *node, int64_t now, int64_t hold_ms,
                 bool *ours_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE key_rotations SET claimed_by = ?, claim_until = ? WHERE id = ? AND "
                       "state IN ('running', 'verifying') AND (claimed_by IS NULL OR claimed_by "
                       "= ? OR claim_until < ?)",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, node);
    db_bind_int64(s, 2, now + hold_ms);
    db_bind_int64(s, 3, r->id);
    db_bind_text(s, 4, node);
    db_bind_int64(s, 5, now);
    int64_t changed = 0;
    e = db_run(s, &changed);
    *ours_r = !e && changed == 1;
    return e;
}

/* Stop the rotation: state failed with `why` (Chinese, no personal data:
 * table, column and row key only), audited, in its own transaction. */
static err fail_rotation(db *d, const struct active *r, const char *why)
{
    err e = db_begin(d);
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "UPDATE key_rotations SET state = 'failed', error = ?, claimed_by "
                               "= NULL, claim_until = 0, updated_at = ? WHERE id = ?",
                               &s))) {
        db_bind_text(s, 1, why);
        db_bind_int64(s, 2, now_ms());
        db_bind_int64(s, 3, r->id);
        e = db_run(s, NULL);
    }
    if (!e)
        e = audit_system(d, r->user, "key.rotate_failed", r->id, "failed", why);
    if (!e)
        e = db_commit(d);
    if (e)
        db_rollback(d);
    log_event(LOG_ERROR, "key_rotation_failed", "detail", why, NULL);
    return e;
}

/* Count each column's values once per pass (total -1: not counted yet). */
static err count_totals(db *d, const struct active *r)
{
    size_t n;
    const struct keyrot_column *c = keyrot_columns(&n);
    for (size_t i = 0; i < n; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", c[i].table, c[i].column);
        db_stmt *s;
        err e = db_prepare(d,
                           "SELECT total FROM key_rotation_progress WHERE rotation_id = ? AND "
                           "column_name = ?",
                           &s);
        if (e)
            return e;
        db_bind_int64(s, 1, r->id);
        db_bind_text(s, 2, name);
        bool has;
        e = db_row(s, &has);
        bool todo = !e && has && db_col_int64(s, 0) < 0;
        db_done(s);
        if (e || !todo)
            continue;
        int64_t total = 0;
        struct query q = QUERY_INIT;
        frags(&q, "SELECT COUNT(*) FROM ", c[i].table, " WHERE ", c[i].column, " IS NOT NULL",
              NULL);
        if ((e = query_prepare(d, &q, &s)))
            return e;
        if (!(e = db_row(s, &has)) && has)
            total = db_col_int64(s, 0);
        db_done(s);
        if (e || (e = db_prepare(d,
                                 "UPDATE key_rotation_progress SET total = ? WHERE rotation_id = ? "
                                 "AND column_name = ?",
                                 &s)))
            return e;
        db_bind_int64(s, 1, total);
        db_bind_int64(s, 2, r->id);
        db_bind_text(s, 3, name);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

struct rewrite {
    int64_t k1, k2;
    const void *k2b;
    size_t k2n;
    const void *old;
    size_t oldn;
    uint8_t *fresh;
    size_t freshn;
};

/* The cursor of column `name` in rotation r (CURSOR_START before any). */
static err cursor_of(db *d, const struct active *r, const char *name, int64_t *cursor_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT cursor FROM key_rotation_progress WHERE rotation_id = ? AND "
                       "column_name = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->id);
    db_bind_text(s, 2, name);
    bool has;
    *cursor_r = CURSOR_START;
    if (!(e = db_row(s, &has)) && has)
        *cursor_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* The batch after `cursor` of column c: *hi_r the batch-th key1 past it;
 * *none_r when no row with a value is left. */
static err batch_window(db *d, const struct keyrot_column *c, int64_t cursor, int batch,
                        bool *none_r, int64_t *hi_r)
{
    struct query q = QUERY_INIT;
    frags(&q, "SELECT MAX(k) FROM (SELECT ", c->key1, " AS k FROM ", c->table, " WHERE ", c->key1,
          " > ? AND ", c->column, " IS NOT NULL ORDER BY ", c->key1, " LIMIT ?) AS w", NULL);
    query_int(&q, cursor);
    query_int(&q, batch);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool has;
    *none_r = true;
    *hi_r = 0;
    if (!(e = db_row(s, &has)) && has && !db_col_null(s, 0)) {
        *none_r = false;
        *hi_r = db_col_int64(s, 0);
    }
    db_done(s);
    return e;
}

/*
 * One batch of column c in one transaction: the rows whose key1 lies in
 * (cursor, hi], hi the batch-th key1 past the cursor (a two-column key's
 * rows of one key1 stay together), each value under another version than
 * r->to opened and sealed again, written back only if unchanged meanwhile
 * (a request that wrote it since sealed it under the new version anyway),
 * and the cursor moved to hi. *finished_r when no row is left.
 */
static err batch_column(db *d, arena *a, const struct active *r, const struct keyrot_column *c,
                        const char *name, int batch, int64_t *resealed_r, bool *finished_r,
                        char *why, size_t why_n)
{
    *finished_r = false;
    int64_t cursor, hi;
    bool none, has;
    db_stmt *s;
    err e = cursor_of(d, r, name, &cursor);
    if (!e)
        e = batch_window(d, c, cursor, batch, &none, &hi);
    if (e)
        return e;

    struct rewrite *rw = NULL;
    size_t nrw = 0, cap = 0;
    int64_t visited = 0;
    if (!none) {
        struct query rq = QUERY_INIT;
        frags(&rq, "SELECT ", c->key1, ", ", c->key2 ? c->key2 : c->key1, ", ", c->column, " FROM ",
              c->table, " WHERE ", c->key1, " > ? AND ", c->key1, " <= ? AND ", c->column,
              " IS NOT NULL", NULL);
        query_int(&rq, cursor);
        query_int(&rq, hi);
        if ((e = query_prepare(d, &rq, &s)))
            return e;
        while (!(e = db_row(s, &has)) && has) {
            visited++;
            size_t n;
            const void *ct = db_col_blob(s, 2, &n);
            if (seal_version(ct, n) == r->to)
                continue;
            if (nrw == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                struct rewrite *grown = arena_alloc(a, ncap * sizeof *grown);
                if (nrw)
                    memcpy(grown, rw, nrw * sizeof *rw);
                rw = grown;
                cap = ncap;
            }
            struct rewrite *w = &rw[nrw++];
            memset(w, 0, sizeof *w);
            w->k1 = db_col_int64(s, 0);
            if (c->key2 && c->key2_blob) {
                const void *b = db_col_blob(s, 1, &w->k2n);
                void *copy = arena_alloc(a, w->k2n ? w->k2n : 1);
                memcpy(copy, b, w->k2n);
                w->k2b = copy;
            } else {
                w->k2 = db_col_int64(s, 1);
            }
            void *copy = arena_alloc(a, n ? n : 1);
            memcpy(copy, ct, n);
            w->old = copy;
            w->oldn = n;
        }
        db_done(s);
        if (e)
            return e;
    }

    /* open and seal again outside the read: a value that does not open
     * stops the rotation here, before anything of the batch is written */
    for (size_t i = 0; i < nrw; i++) {
        struct rewrite *w = &rw[i];
        char label[KEYROT_LABEL_MAX];
        keyrot_label(c, w->k1, label);
        char *plain;
        size_t pn;
        if (unseal(a, label, w->old, w->oldn, &plain, &pn)) {
            snprintf(why, why_n, "%s「%s」编号 %lld 的值（密钥版本 %d）无法解密：%s", c->table_zh,
                     c->column_zh, (long long)w->k1, seal_version(w->old, w->oldn), name);
            return err_set(E_CRYPTO, "rotation_value_unreadable", NULL, "%s", why);
        }
        e = seal(a, label, plain, pn, &w->fresh, &w->freshn);
        if (e)
            return e;
        if (seal_version(w->fresh, w->freshn) != r->to) {
            snprintf(why, why_n, "本服务器当前密钥版本为 %d，不是轮换的新版本 %d",
                     seal_version(w->fresh, w->freshn), r->to);
            return err_set(E_CRYPTO, "rotation_version_mismatch", NULL, "%s", why);
        }
    }

    if ((e = db_begin(d)))
        return e;
    int64_t resealed = 0;
    /* the statement's text once; each row binds its values */
    struct query uq = QUERY_INIT;
    frags(&uq, "UPDATE ", c->table, " SET ", c->column, " = ? WHERE ", c->key1, " = ? AND ", NULL);
    if (c->key2)
        frags(&uq, c->key2, " = ? AND ", NULL);
    frags(&uq, c->column, " = ?", NULL);
    for (size_t i = 0; !e && i < nrw; i++) {
        struct rewrite *w = &rw[i];
        struct query q1 = uq; /* the text, then this row's values */
        query_blob(&q1, w->fresh, w->freshn);
        query_int(&q1, w->k1);
        if (c->key2 && c->key2_blob)
            query_blob(&q1, w->k2b, w->k2n);
        else if (c->key2)
            query_int(&q1, w->k2);
        query_blob(&q1, w->old, w->oldn);
        if ((e = query_prepare(d, &q1, &s)))
            break;
        int64_t changed = 0;
        if (!(e = db_run(s, &changed)))
            resealed += changed;
    }
    if (!e && !(e = db_prepare(d,
                               "UPDATE key_rotation_progress SET cursor = ?, done = done + ?, "
                               "resealed = resealed + ?, finished = ? WHERE rotation_id = ? AND "
                               "column_name = ?",
                               &s))) {
        db_bind_int64(s, 1, none ? cursor : hi);
        db_bind_int64(s, 2, visited);
        db_bind_int64(s, 3, resealed);
        db_bind_int64(s, 4, none ? 1 : 0);
        db_bind_int64(s, 5, r->id);
        db_bind_text(s, 6, name);
        e = db_run(s, NULL);
    }
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        return e;
    }
    *resealed_r = resealed;
    *finished_r = none;
    return E_OK;
}

/* Move column `name`'s cursor and counts, in the batch's transaction. */
static err progress_step(db *d, const struct active *r, const char *name, int64_t cursor,
                         int64_t visited, int64_t changed, bool finished)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE key_rotation_progress SET cursor = ?, done = done + ?, resealed = "
                       "resealed + ?, finished = ? WHERE rotation_id = ? AND column_name = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, cursor);
    db_bind_int64(s, 2, visited);
    db_bind_int64(s, 3, changed);
    db_bind_int64(s, 4, finished ? 1 : 0);
    db_bind_int64(s, 5, r->id);
    db_bind_text(s, 6, name);
    return db_run(s, NULL);
}

/* sms_codes: a code's phone is not stored, so its index cannot be computed
 * again; codes live minutes, and the ones written before the rotation
 * started are deleted (the person asks for a new code). One step. */
static err expire_column(db *d, const struct active *r, const struct keyrot_column *c,
                         const char *name, int64_t *changed_r, bool *finished_r)
{
    err e = db_begin(d);
    int64_t changed = 0;
    struct query q = QUERY_INIT;
    frags(&q, "DELETE FROM ", c->table, " WHERE created_at < ? OR expires_at <= ?", NULL);
    query_int(&q, r->started_at);
    query_int(&q, now_ms());
    db_stmt *s;
    if (!e && !(e = query_prepare(d, &q, &s)))
        e = db_run(s, &changed);
    if (!e)
        e = progress_step(d, r, name, CURSOR_START, changed, changed, true);
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        return e;
    }
    *changed_r = changed;
    *finished_r = true;
    return E_OK;
}

struct reindex {
    int64_t k1, k2;
    const void *k2b;
    size_t k2n;
    uint8_t old[BLIND_LEN], fresh[BLIND_LEN];
};

/* Is `stored` among the n digests of `set`? Its position, or -1. */
static int digest_at(const uint8_t (*set)[BLIND_LEN], size_t n, const void *stored)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(set[i], stored, BLIND_LEN))
            return (int)i;
    return -1;
}

/*
 * One batch of blind index c, as batch_column for sealed values: the rows
 * whose key1 lies in (cursor, hi], each index compared with the one its
 * value (the source column, opened) has under the new version; one that
 * has the old version's is re-computed and written back if unchanged
 * meanwhile; one that matches neither stops the rotation (an index that
 * does not belong to its value is a defect to repair, never skipped).
 */
static err batch_blind(db *d, arena *a, const struct active *r, const struct keyrot_column *c,
                       const char *name, int batch, int64_t *changed_r, bool *finished_r, char *why,
                       size_t why_n)
{
    *finished_r = false;
    int64_t cursor;
    err e = cursor_of(d, r, name, &cursor);
    if (e)
        return e;
    /* the source: a column of the row, or the person's name for the tokens */
    bool tokens = c->derive == KEYROT_TOKENS;
    const char *src = tokens ? "p.name_enc" : c->source;
    const struct keyrot_column *sc = tokens ? keyrot_column_find("persons.name_enc") : NULL;
    if (!tokens) {
        char sname[96];
        snprintf(sname, sizeof sname, "%s.%s", c->table, c->source);
        sc = keyrot_column_find(sname);
    }
    if (!sc)
        return err_set(E_INTERNAL, "rotation_column_unknown", NULL, "登记表中没有列 %s", name);

    int64_t hi;
    bool none, has;
    db_stmt *s;
    if ((e = batch_window(d, c, cursor, batch, &none, &hi)))
        return e;

    struct reindex *rw = NULL;
    size_t nrw = 0, cap = 0;
    int64_t visited = 0;
    if (!none) {
        struct query rq = QUERY_INIT;
        if (tokens)
            frags(&rq, "SELECT t.person_id, t.token, t.token, p.name_enc FROM ", c->table,
                  " t JOIN persons p ON p.id = t.person_id WHERE t.person_id > ? AND t.person_id "
                  "<= ?",
                  NULL);
        else
            frags(&rq, "SELECT ", c->key1, ", ", c->key2 ? c->key2 : c->key1, ", ", c->column, ", ",
                  src, " FROM ", c->table, " WHERE ", c->key1, " > ? AND ", c->key1, " <= ? AND ",
                  c->column, " IS NOT NULL", NULL);
        query_int(&rq, cursor);
        query_int(&rq, hi);
        if ((e = query_prepare(d, &rq, &s)))
            return e;
        while (!(e = db_row(s, &has)) && has) {
            visited++;
            size_t n;
            const void *stored = db_col_blob(s, 2, &n);
            int64_t k1 = db_col_int64(s, 0);
            char label[KEYROT_LABEL_MAX];
            keyrot_label(sc, k1, label);
            const char *plain = "";
            if (n != BLIND_LEN || unseal_col(a, s, 3, label, &plain)) {
                snprintf(why, why_n, "%s「%s」编号 %lld 的索引无法校验（其值无法解密）：%s",
                         c->table_zh, c->column_zh, (long long)k1, name);
                db_done(s);
                return err_set(E_CRYPTO, "rotation_value_unreadable", NULL, "%s", why);
            }
            uint8_t fresh[PERSON_TOKENS_MAX][BLIND_LEN], old[PERSON_TOKENS_MAX][BLIND_LEN];
            size_t nf = 0, no = 0;
            bool ok = keyrot_blind(c, r->to, plain ? plain : "", fresh, PERSON_TOKENS_MAX, &nf);
            if (ok && digest_at((const uint8_t(*)[BLIND_LEN])fresh, nf, stored) >= 0)
                continue; /* under the new version already */
            int at = -1;
            if (ok && keyrot_blind(c, r->from, plain ? plain : "", old, PERSON_TOKENS_MAX, &no))
                at = digest_at((const uint8_t(*)[BLIND_LEN])old, no, stored);
            if (at < 0 || (size_t)at >= nf) {
                snprintf(why, why_n,
                         "%s「%s」编号 %lld 的索引与其值不符（不是密钥版本 %d 或 %d "
                         "的索引）：%s",
                         c->table_zh, c->column_zh, (long long)k1, r->from, r->to, name);
                db_done(s);
                return err_set(E_CRYPTO, "rotation_index_mismatch", NULL, "%s", why);
            }
            if (nrw == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                struct reindex *grown = arena_alloc(a, ncap * sizeof *grown);
                if (nrw)
                    memcpy(grown, rw, nrw * sizeof *rw);
                rw = grown;
                cap = ncap;
            }
            struct reindex *w = &rw[nrw++];
            memset(w, 0, sizeof *w);
            w->k1 = k1;
            if (c->key2 && c->key2_blob) {
                const void *b = db_col_blob(s, 1, &w->k2n);
                void *copy = arena_alloc(a, w->k2n ? w->k2n : 1);
                memcpy(copy, b, w->k2n);
                w->k2b = copy;
            } else {
                w->k2 = db_col_int64(s, 1);
            }
            memcpy(w->old, stored, BLIND_LEN);
            memcpy(w->fresh, fresh[at], BLIND_LEN);
        }
        db_done(s);
        if (e)
            return e;
    }

    if ((e = db_begin(d)))
        return e;
    int64_t changed = 0;
    struct query uq = QUERY_INIT;
    frags(&uq, "UPDATE ", c->table, " SET ", c->column, " = ? WHERE ", c->key1, " = ? AND ", NULL);
    if (c->key2)
        frags(&uq, c->key2, " = ? AND ", NULL);
    frags(&uq, c->column, " = ?", NULL);
    for (size_t i = 0; !e && i < nrw; i++) {
        struct reindex *w = &rw[i];
        struct query q1 = uq;
        query_blob(&q1, w->fresh, BLIND_LEN);
        query_int(&q1, w->k1);
        if (c->key2 && c->key2_blob)
            query_blob(&q1, w->k2b, w->k2n);
        else if (c->key2)
            query_int(&q1, w->k2);
        query_blob(&q1, w->old, BLIND_LEN);
        if ((e = query_prepare(d, &q1, &s)))
            break;
        int64_t n = 0;
        if (!(e = db_run(s, &n)))
            changed += n;
    }
    if (!e)
        e = progress_step(d, r, name, none ? cursor : hi, visited, changed, none);
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        return e;
    }
    *changed_r = changed;
    *finished_r = none;
    return E_OK;
}

/* The first column of the pass not finished, or none (*name_r NULL). */
static err next_column(db *d, arena *a, const struct active *r, const char **name_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT column_name FROM key_rotation_progress WHERE rotation_id = ? AND "
                       "finished = 0 ORDER BY column_name LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->id);
    bool has;
    *name_r = NULL;
    if (!(e = db_row(s, &has)) && has)
        *name_r = arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    return e;
}

/* Every column of the pass is done: the first pass waits for the
 * administrator; the last destroys the old version and ends. */
static err pass_done(db *d, const struct active *r)
{
    err e;
    if (r->verifying) {
        /* destroyed before the row says so: after a crash between the two
         * the version is already gone, which is what was confirmed */
        e = keys_destroy_version(r->from);
        if (e == E_NOT_FOUND)
            e = E_OK;
        if (e)
            return e;
    }
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    if (!(e = db_prepare(d,
                         r->verifying
                             ? "UPDATE key_rotations SET state = 'destroyed', finished_at = ?, "
                               "claimed_by = NULL, claim_until = 0, updated_at = ? WHERE id = ? "
                               "AND state = 'verifying'"
                             : "UPDATE key_rotations SET state = 'resealed', resealed_at = ?, "
                               "claimed_by = NULL, claim_until = 0, updated_at = ? WHERE id = ? "
                               "AND state = 'running'",
                         &s))) {
        int64_t now = now_ms();
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, r->id);
        e = db_run(s, NULL);
    }
    char detail[96];
    snprintf(detail, sizeof detail, "from_version=%d to_version=%d", r->from, r->to);
    if (!e)
        e = audit_system(d, r->user, r->verifying ? "key.destroyed" : "key.resealed", r->id, "ok",
                         detail);
    if (!e)
        e = db_commit(d);
    if (e)
        db_rollback(d);
    else
        log_event(LOG_INFO, r->verifying ? "key_version_destroyed" : "key_rotation_resealed",
                  "detail", detail, NULL);
    return e;
}

err keyrot_run(db *d, int64_t now, const char *node, int batch, int batches, int64_t *count_r)
{
    *count_r = 0;
    err e = keys_reload_if_changed();
    if (e)
        return e;
    struct active r;
    bool has = false, ours = false;
    if ((e = active_rotation(d, &r, &has)) || !has)
        return e;
    if ((e = claim(d, &r, node, now, 60000, &ours)) || !ours)
        return e;
    /* the sweep's thread has no request arena: one per run, reset per batch */
    arena *a = arena_new(1 << 16);
    char why[512] = "";
    if (keys_current_version() != r.to) {
        snprintf(
            why, sizeof why,
            "本服务器的密钥文件当前版本为 %d，不是轮换的新版本 %d：多台服务器须共用同一密钥文件",
            keys_current_version(), r.to);
        e = fail_rotation(d, &r, why);
        arena_free(&a);
        return e ? e : err_set(E_CRYPTO, "rotation_version_mismatch", NULL, "%s", why);
    }
    e = count_totals(d, &r);
    /* a batch that only finds a column done costs nothing of the run's
     * budget: most columns are short, and each would otherwise take a run */
    for (int i = 0; !e && i < batches;) {
        const char *name;
        arena_reset(a);
        if ((e = next_column(d, a, &r, &name)))
            break;
        if (!name) {
            e = pass_done(d, &r);
            break;
        }
        const struct keyrot_column *c = keyrot_column_find(name);
        if (!c) {
            snprintf(why, sizeof why, "登记表中没有列 %s", name);
            e = err_set(E_INTERNAL, "rotation_column_unknown", NULL, "%s", why);
            break;
        }
        int64_t n = 0;
        bool finished;
        if (c->kind == KEYROT_SEALED)
            e = batch_column(d, a, &r, c, name, batch, &n, &finished, why, sizeof why);
        else if (c->derive == KEYROT_EXPIRE)
            e = expire_column(d, &r, c, name, &n, &finished);
        else
            e = batch_blind(d, a, &r, c, name, batch, &n, &finished, why, sizeof why);
        *count_r += n;
        if (!finished)
            i++;
        /* renew the claim as the work goes on */
        if (!e)
            e = claim(d, &r, node, now_ms(), 60000, &ours);
        if (!e && !ours)
            break;
    }
    arena_free(&a);
    if (e && why[0]) {
        err f = fail_rotation(d, &r, why);
        if (f)
            return f;
    }
    return e;
}

/* ---- the console's view ------------------------------------------------------ */

static json_t *progress_json(db *d, int64_t id, err *e_r)
{
    json_t *items = json_array();
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT column_name, pass, done, resealed, total, finished FROM "
                       "key_rotation_progress WHERE rotation_id = ? ORDER BY column_name",
                       &s);
    if (!e) {
        db_bind_int64(s, 1, id);
        bool has;
        while (!(e = db_row(s, &has)) && has) {
            const char *name = db_col_text(s, 0);
            const struct keyrot_column *c = keyrot_column_find(name);
            json_array_append_new(
                items,
                json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "column", name, "kind",
                          c && c->kind == KEYROT_BLIND ? "blind" : "sealed", "table_name",
                          c ? c->table_zh : name, "column_name", c ? c->column_zh : "", "pass",
                          (json_int_t)db_col_int64(s, 1), "done", (json_int_t)db_col_int64(s, 2),
                          "resealed", (json_int_t)db_col_int64(s, 3), "total",
                          (json_int_t)db_col_int64(s, 4), "finished", db_col_int64(s, 5) != 0));
        }
        db_done(s);
    }
    *e_r = e;
    return items;
}

err keyrot_status(db *d, arena *a, json_t **out_r)
{
    (void)a;
    int vs[KEYS_LOADED_MAX];
    int nv = keys_versions(vs, KEYS_LOADED_MAX);
    json_t *versions = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(versions, json_integer(vs[i]));
    json_t *rots = json_array();
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT r.id, r.from_version, r.to_version, r.state, r.started_at, "
                       "r.resealed_at, r.finished_at, r.error, COALESCE(u.display_name, ''), "
                       "COALESCE(u.username, ''), COALESCE(v.display_name, ''), "
                       "COALESCE(v.username, '') FROM key_rotations r LEFT JOIN users u ON u.id "
                       "= r.started_by LEFT JOIN users v ON v.id = r.destroyed_by ORDER BY r.id "
                       "DESC LIMIT 20",
                       &s);
    if (!e) {
        bool has;
        while (!(e = db_row(s, &has)) && has) {
            const char *by = db_col_text(s, 8)[0] ? db_col_text(s, 8) : db_col_text(s, 9);
            const char *dby = db_col_text(s, 10)[0] ? db_col_text(s, 10) : db_col_text(s, 11);
            json_t *o =
                json_pack("{s:s, s:i, s:i, s:s, s:I, s:s, s:s}", "id",
                          arena_printf(a, "%lld", (long long)db_col_int64(s, 0)), "from_version",
                          (int)db_col_int64(s, 1), "to_version", (int)db_col_int64(s, 2), "state",
                          db_col_text(s, 3), "started_at", (json_int_t)db_col_int64(s, 4),
                          "started_by", by, "destroyed_by", dby);
            json_object_set_new(o, "resealed_at",
                                db_col_null(s, 5) ? json_null() : json_integer(db_col_int64(s, 5)));
            json_object_set_new(o, "finished_at",
                                db_col_null(s, 6) ? json_null() : json_integer(db_col_int64(s, 6)));
            json_object_set_new(o, "error",
                                db_col_null(s, 7) ? json_null() : json_string(db_col_text(s, 7)));
            json_array_append_new(rots, o);
        }
        db_done(s);
    }
    /* progress of each listed rotation, after the list's statement is done */
    for (size_t i = 0; !e && i < json_array_size(rots); i++) {
        json_t *o = json_array_get(rots, i);
        long long id = 0;
        sscanf(json_string_value(json_object_get(o, "id")), "%lld", &id);
        json_object_set_new(o, "progress", progress_json(d, id, &e));
    }
    if (e) {
        json_decref(versions);
        json_decref(rots);
        return e;
    }
    *out_r = json_pack("{s:i, s:o, s:o}", "current_version", keys_current_version(), "versions",
                       versions, "rotations", rots);
    return E_OK;
}

/* ---- the periodic sweep --------------------------------------------------------- */

static struct {
    int batch, batches;
    char node[96];
} cfg;

static err sweep(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)ctx;
    return keyrot_run(d, now, cfg.node, cfg.batch, cfg.batches, count_r);
}

/* Every server runs it (no lease): each must reload the key file when a
 * rotation changes it, or it would seal under the old version; the re-sealing
 * itself is claimed on the rotation's row (claim above). */
static struct periodic sweeper = PERIODIC_LOCAL("key_rotation", sweep, NULL);

err keyrot_serve_start(const char *db_url, int node, int every_s, int batch, int batches)
{
    /* host and node number, not the process: a server restarted after a
     * crash is the same node and takes its own claim back at once, where
     * another server waits for the claim to expire */
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    snprintf(cfg.node, sizeof cfg.node, "%s#%d", host, node);
    cfg.batch = batch;
    cfg.batches = batches;
    return periodic_start(&sweeper, db_url, every_s);
}

void keyrot_serve_stop(void)
{
    periodic_stop(&sweeper);
}
