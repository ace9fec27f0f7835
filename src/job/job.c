/*
 * Background job rows: creation, progress, the scoped read, and the sweep
 * of the jobs a dead server left.
 */
#include "job/job.h"

#include <string.h>

#include "base/id.h"
#include "db/lease.h"
#include "db/periodic.h"
#include "http/export.h"

err job_create(db *d, const struct principal *who, const char *kind, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO jobs (id, kind, status, done, total, result, user_id, "
                       "region_code, created_at, updated_at, instance) VALUES (?, ?, 'queued', 0, "
                       "0, '', ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, who->region_code);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    db_bind_text(s, 7, lease_beating());
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err job_update(db *d, int64_t id, const char *status, int64_t done, int64_t total,
               const char *result)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE jobs SET status = ?, done = ?, total = ?, result = COALESCE(?, "
                       "result), updated_at = ? WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, status);
    db_bind_int64(s, 2, done);
    db_bind_int64(s, 3, total);
    db_bind_text(s, 4, result);
    db_bind_int64(s, 5, now_ms());
    db_bind_int64(s, 6, id);
    return db_run(s, NULL);
}

/* The permission that reading each kind of job needs: the one that starts
 * it. A kind missing here is readable by nobody, so a capability adding a
 * job kind adds its row. */
static const struct {
    const char *kind;
    enum perm perm;
} kinds[] = {
    {"code.recompute", PERM_CODE_RULES},       {"case.import", PERM_CASE_IMPORT},
    {"nat.city_import", PERM_NAT_SITE},        {"hotline.import", PERM_HOTLINE_IMPORT},
    {"hotline.rematch", PERM_HOTLINE_RULES},   {"nat.result_upload", PERM_NAT_RESULT},
    {"nat.round_import", PERM_NAT_PLAN},       {"risk_area.import", PERM_ZONE_WRITE},
    {"trace.trip_import", PERM_TRACE_WRITE},   {"video.camera_import", PERM_CAMERA_WRITE},
    {"video.camera_check", PERM_CAMERA_WRITE}, {"employee.import", PERM_EMPLOYEE_WRITE},
};

/* Kinds whose jobs only their uploader reads: an enterprise's import, whose
 * report holds its employees' data, must not be read by another enterprise
 * account of the same region holding the same permission. */
static const char *const uploader_only[] = {"employee.import"};

static bool kind_allowed(const struct principal *who, const char *kind)
{
    /* an export job: the permission of the list it exports */
    const struct export_source *src = export_source_of_kind(kind);
    if (src)
        return principal_can(who, src->perm);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].kind, kind))
            return principal_can(who, kinds[i].perm);
    return false;
}

err job_find(db *d, arena *a, const struct principal *who, int64_t id, struct job *j_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, kind, status, done, total, result, user_id, region_code, "
                       "created_at, updated_at FROM jobs WHERE id = ? AND (user_id = ? OR "
                       "(region_code >= ? AND region_code < ?))",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, who->scope.lo);
    db_bind_int64(s, 4, who->scope.hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *j_r = (struct job){db_col_int64(s, 0),
                            arena_strdup(a, db_col_text(s, 1)),
                            arena_strdup(a, db_col_text(s, 2)),
                            db_col_int64(s, 3),
                            db_col_int64(s, 4),
                            arena_strdup(a, db_col_text(s, 5)),
                            db_col_int64(s, 6),
                            db_col_int64(s, 7),
                            db_col_int64(s, 8),
                            db_col_int64(s, 9)};
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "任务不存在");
    db_done(s);
    if (!e && !kind_allowed(who, j_r->kind))
        e = err_set(E_FORBIDDEN, "forbidden", NULL, "您没有查看该任务的权限");
    for (size_t i = 0; !e && i < sizeof uploader_only / sizeof uploader_only[0]; i++)
        if (!strcmp(j_r->kind, uploader_only[i]) && j_r->user_id != who->user_id)
            e = err_set(E_NOT_FOUND, "not_found", NULL, "任务不存在");
    return e;
}

err job_sweep_orphans(db *d, int64_t now, int64_t *n_r)
{
    *n_r = 0;
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    /* the fence first: a holder that lost the lease marks nothing */
    if (!(e = periodic_fence(d)) &&
        !(e = db_prepare(d,
                         "UPDATE jobs SET status = 'failed', result = "
                         "'{\"error\":\"server_lost\"}', updated_at = ? WHERE status IN "
                         "('queued', 'running') AND instance <> '' AND NOT EXISTS (SELECT 1 FROM "
                         "leases WHERE leases.name = 'server.' || jobs.instance AND "
                         "leases.expires_at >= ?)",
                         &s))) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, now);
        e = db_run(s, n_r);
    }
    if (!e && !(e = db_prepare(
                    d, "DELETE FROM leases WHERE name LIKE 'server.%' AND expires_at < ?", &s))) {
        db_bind_int64(s, 1, now - 86400000LL);
        e = db_run(s, NULL);
    }
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        *n_r = 0;
    }
    return e;
}

static err orphans_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return job_sweep_orphans(d, now, n_r);
}

static struct periodic orphans = PERIODIC_INIT("job_orphans", orphans_run, NULL);

err job_orphans_start(const char *db_url, int every_s)
{
    return periodic_start(&orphans, db_url, every_s);
}

void job_orphans_stop(void)
{
    periodic_stop(&orphans);
}
