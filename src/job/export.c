/*
 * Export jobs (job/export.h): the worker thread that writes a list's
 * export to a file, and the purge of old files.
 *
 * The job runs on its own thread with its own connection (as the import
 * and the code recompute), so the event loops go on serving while it
 * walks a million rows. It writes <id>.<ext>.part and renames it when
 * complete: a download never sees half a file. The complete file is then
 * copied into the database (job/export_store.h), so any server can serve
 * the download; the local file is this server's cache of it.
 */
#include "job/export.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "db/periodic.h"
#include "job/export_store.h"
#include "job/job.h"
#include "job/worker.h"
#include "security/audit.h"

static char dir[512] = "./data/exports";
static int keep_s = EXPORT_KEEP_DEFAULT;

void export_jobs_configure(const char *data_dir, int keep)
{
    snprintf(dir, sizeof dir, "%s/exports", data_dir && *data_dir ? data_dir : "./data");
    keep_s = keep > 0 ? keep : EXPORT_KEEP_DEFAULT;
}

static const char *ext_of(enum export_format fmt)
{
    return fmt == EXPORT_XLSX ? "xlsx" : "csv";
}

void export_job_path(int64_t job_id, enum export_format fmt, char out[600])
{
    snprintf(out, 600, "%s/%lld.%s", dir, (long long)job_id, ext_of(fmt));
}

void export_job_remove_files(int64_t job_id)
{
    char path[600], part[700];
    for (enum export_format f = EXPORT_CSV; f <= EXPORT_XLSX; f++) {
        export_job_path(job_id, f, path);
        snprintf(part, sizeof part, "%s.part", path);
        unlink(path);
        unlink(part);
    }
}

err export_jobs_purge(int64_t now, int64_t *n_r)
{
    *n_r = 0;
    DIR *dp = opendir(dir);
    if (!dp)
        return E_OK; /* no export yet */
    struct dirent *de;
    /* a finished file's age is its last write (the job's end); a .part may go long
     * unwritten while a workbook is assembled, so only one abandoned by a
     * crash (older than a day, and than the keep time) goes */
    time_t old = (time_t)(now / 1000) - keep_s;
    time_t old_part = (time_t)(now / 1000) - (keep_s > 86400 ? keep_s : 86400);
    while ((de = readdir(dp))) {
        char path[800];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(de->d_name);
        bool part = len > 5 && !strcmp(de->d_name + len - 5, ".part");
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!stat(path, &sb) && S_ISREG(sb.st_mode) && sb.st_mtime <= (part ? old_part : old) &&
            !unlink(path))
            (*n_r)++;
    }
    closedir(dp);
    return E_OK;
}

/* ---- one job ------------------------------------------------------------------------------ */

struct export_job {
    int64_t job_id;
    struct principal who;
    char ip[64];
    const struct export_source *src;
    char *filters; /* JSON object text */
    enum export_format fmt;
    bool reveal;
};

static volatile bool stopping; /* the server is stopping: a running export gives up */

struct run {
    db *d;
    int64_t job_id;
};

static err on_progress(void *ctx, int64_t done, int64_t total)
{
    struct run *st = ctx;
    if (stopping)
        return err_set(E_UNAVAILABLE, "unavailable", NULL, "服务器正在停止，导出已中止");
    /* display only: a failed progress write does not stop the export */
    err_ignore(job_update(st->d, st->job_id, "running", done, total > done ? total : done, NULL));
    return E_OK;
}

static void job_fail(db *d, int64_t job_id, err e)
{
    const struct err_detail *x = err_last();
    json_t *o = json_pack("{s:s,s:s}", "error", x->code == e && x->slug[0] ? x->slug : err_slug(e),
                          "message", x->code == e && x->message[0] ? x->message : err_message(e));
    if (x->code == e && x->field[0])
        json_object_set_new(o, "field", json_string(x->field));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    err_ignore(job_update(d, job_id, "failed", 0, 0, s)); /* the log line below says it too */
    free(s);
    log_event(LOG_ERROR, "job_failed", "kind", "export", "slug", err_slug(e), NULL);
}

static void run_job(db *d, struct export_job *j)
{
    arena *a = arena_new(1 << 16);  /* the filters and the CSV buffer, for the whole job */
    arena *pa = arena_new(1 << 16); /* one page's rows, reset between pages */
    json_t *filters = json_loads(j->filters, 0, NULL);
    struct req *r;
    void *filter;
    char tmp[700], path[600];
    export_job_path(j->job_id, j->fmt, path);
    snprintf(tmp, sizeof tmp, "%s.part", path);
    err e = a && pa ? E_OK : E_NOMEM;
    /* the filters were checked at the POST; parsed again here on this
     * thread's connection, by the list's own parser */
    if (!e && !(e = req_detached(a, d, &j->who, filters, &r)))
        e = j->src->parse(r, &filter);
    if (!e && mkdir(dir, 0700) && errno != EEXIST)
        e = err_set(E_IO, NULL, NULL, "cannot create %s: %s", dir, strerror(errno));
    if (e) {
        job_fail(d, j->job_id, e);
        goto out;
    }
    err_ignore(job_update(d, j->job_id, "running", 0, 0, NULL)); /* display only */
    struct run st = {.d = d, .job_id = j->job_id};
    struct export_out x = {.fd = -1};
    const char *const *head = j->src->head;
    size_t ncols = j->src->ncols;
    if (j->src->header)
        j->src->header(filter, &head, &ncols);
    if (!(e = export_begin_file(a, &x, j->fmt, j->src->sheet, head, ncols, tmp))) {
        x.progress = on_progress;
        x.progress_ctx = &st;
        e = j->src->each(d, pa, &j->who, filter, j->reveal, &x);
        e = export_end_file(&x, e, tmp);
    }
    if (!e && rename(tmp, path))
        e = err_set(E_IO, NULL, NULL, "rename %s: %s", tmp, strerror(errno));
    struct stat sb = {0};
    if (!e && stat(path, &sb))
        e = err_set(E_IO, NULL, NULL, "stat %s: %s", path, strerror(errno));
    int64_t done_at = now_ms(), expires_at = done_at + (int64_t)keep_s * 1000;
    if (!e && (e = export_store_put(d, j->job_id, 0, path, expires_at)))
        unlink(path); /* a file only this server could serve is no file: the job fails */
    char detail[160];
    snprintf(detail, sizeof detail, "%s count=%lld job=%lld%s", export_format_name(j->fmt),
             (long long)x.rows, (long long)j->job_id, j->reveal ? " reveal" : "");
    char action[64];
    snprintf(action, sizeof action, "%s.%s", j->src->audit, j->reveal ? "export_reveal" : "export");
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = j->ip,
                             .action = action,
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = e ? err_slug(e) : "ok",
                             .detail = detail};
    /* the rows were read (a reveal decrypted them): recorded either way;
     * an entry that cannot be written withholds the file */
    err ea = audit_log(d, &ae);
    if (!e && ea) {
        unlink(path);
        err_ignore(export_store_delete(d, j->job_id));
        e = ea;
    }
    if (e) {
        job_fail(d, j->job_id, e);
        goto out;
    }
    json_t *res =
        json_pack("{s:s,s:s,s:I,s:I,s:b,s:I}", "list", j->src->list, "format", ext_of(j->fmt),
                  "rows", (json_int_t)x.rows, "size", (json_int_t)sb.st_size, "reveal", j->reveal,
                  "expires_at", (json_int_t)expires_at);
    /* "file": the download's name */
    char name[64];
    snprintf(name, sizeof name, "%s-%lld.%s", j->src->list, (long long)j->job_id, ext_of(j->fmt));
    json_object_set_new(res, "file", json_string(name));
    char *s = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    err_ignore(job_update(d, j->job_id, "done", x.rows, x.rows, s)); /* display */
    free(s);
out:
    json_decref(filters);
    arena_free(&pa);
    arena_free(&a);
}

/* ---- the worker ---------------------------------------------------------------------------- */

static struct job_worker *worker;

static void job_free(void *arg)
{
    struct export_job *j = arg;
    free(j->filters);
    free(j);
}

static void task_run(db *d, void *arg)
{
    run_job(d, arg);
}

/* A job still queued when the server stops: the queue is this process's
 * memory, so a job left in it would stay "queued" for ever; it is marked
 * failed, to be started again. */
static void task_drop(db *d, void *arg)
{
    struct export_job *j = arg;
    err_ignore(job_update(
        d, j->job_id, "failed", 0, 0,
        "{\"error\":\"unavailable\",\"message\":\"服务器重启，导出未进行，请重新导出\"}"));
}

static err purge_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)d;
    (void)ctx;
    return export_jobs_purge(now, n_r);
}

static struct periodic purger = PERIODIC_LOCAL("export_purged", purge_run, NULL);

/* the files in the database: one table for all servers, so once across them */
static err store_purge_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return export_store_purge(d, now, n_r);
}

static struct periodic store_purger = PERIODIC_INIT("export_files", store_purge_run, NULL);

err export_jobs_start(const char *db_url, int purge_s)
{
    if (mkdir(dir, 0700) && errno != EEXIST)
        return err_set(E_IO, NULL, NULL, "cannot create %s: %s", dir, strerror(errno));
    static const struct job_worker_opts o = {
        .name = "fk-export", .queue_max = 32, .drop = task_drop};
    stopping = false;
    err e = job_worker_start(&o, db_url, &worker);
    if (e)
        return e;
    if ((e = periodic_start(&purger, db_url, purge_s)) ||
        (e = periodic_start(&store_purger, db_url, purge_s))) {
        export_jobs_stop();
        return e;
    }
    return E_OK;
}

void export_jobs_stop(void)
{
    periodic_stop(&purger);
    periodic_stop(&store_purger);
    stopping = true; /* a running export gives up */
    job_worker_stop(&worker);
}

err export_job_submit(db *d, int64_t job_id, const struct principal *who, const char *ip,
                      const struct export_source *src, const char *filters, enum export_format fmt,
                      bool reveal)
{
    struct export_job *j = calloc(1, sizeof *j);
    if (!j || !(j->filters = strdup(filters ? filters : "{}"))) {
        free(j);
        return E_NOMEM;
    }
    j->job_id = job_id;
    j->who = *who;
    snprintf(j->ip, sizeof j->ip, "%s", ip ? ip : "");
    j->src = src;
    j->fmt = fmt;
    j->reveal = reveal;
    if (job_worker_submit(worker, d, task_run, job_free, j) == E_UNAVAILABLE) {
        job_free(j);
        return err_set(E_UNAVAILABLE, "unavailable", NULL, "导出任务排队已满，请稍后再试");
    }
    return E_OK;
}
