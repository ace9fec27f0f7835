/*
 * Finished job files in the database (job/export_store.h): chunks of
 * EXPORT_STORE_CHUNK bytes in export_files (sql/096), each sealed under
 * "export_files.data_enc#<row id>" so a chunk copied onto another row does
 * not open, and read back in order of seq into a file beside the caller's.
 * A download without this server's copy fetches it on the fetch worker
 * (export_store_serve), its reply deferred.
 */
#include "job/export_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "job/worker.h"
#include "security/audit.h"
#include "security/auth.h"
#include "security/crypto.h"

#define COMMIT_EVERY 16 /* chunks: 1 MiB a transaction */

static void label_of(int64_t id, char out[48])
{
    snprintf(out, 48, "export_files.data_enc#%lld", (long long)id);
}

static err delete_file(db *d, int64_t job_id, int slot)
{
    db_stmt *s;
    err e = db_prepare(d,
                       slot < 0 ? "DELETE FROM export_files WHERE job_id = ?"
                                : "DELETE FROM export_files WHERE job_id = ? AND slot = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, job_id);
    if (slot >= 0)
        db_bind_int64(s, 2, slot);
    return db_run(s, NULL);
}

err export_store_delete(db *d, int64_t job_id)
{
    return delete_file(d, job_id, -1);
}

/* One chunk, sealed, as row seq of the file. */
static err put_chunk(db *d, int64_t job_id, int slot, int seq, const uint8_t *plain, size_t n,
                     uint8_t *ct, int64_t expires_at)
{
    int64_t id = id_new();
    char label[48];
    label_of(id, label);
    err e = seal_buf(label, plain, n, ct);
    db_stmt *s;
    if (e || (e = db_prepare(d,
                             "INSERT INTO export_files (id, job_id, slot, seq, data_enc, "
                             "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                             &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, job_id);
    db_bind_int64(s, 3, slot);
    db_bind_int64(s, 4, seq);
    db_bind_blob(s, 5, ct, n + SEAL_OVERHEAD);
    db_bind_int64(s, 6, expires_at);
    return db_run(s, NULL);
}

err export_store_put(db *d, int64_t job_id, int slot, const char *path, int64_t expires_at)
{
    if (slot < 0 || slot > 99)
        return err_set(E_INTERNAL, "internal", NULL, "export file slot %d", slot);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(E_IO, NULL, NULL, "open %s: %s", path, strerror(errno));
    uint8_t *buf = malloc(EXPORT_STORE_CHUNK), *ct = malloc(EXPORT_STORE_CHUNK + SEAL_OVERHEAD);
    err e = buf && ct ? E_OK : E_NOMEM;
    int64_t t0 = now_ms(), bytes = 0;
    bool open_tx = false;
    if (!e && !(e = db_begin(d))) {
        open_tx = true;
        e = delete_file(d, job_id, slot); /* a file stored again replaces the old one */
    }
    /* chunk 0 always, so an empty file is stored too */
    for (int seq = 0; !e; seq++) {
        size_t n = fread(buf, 1, EXPORT_STORE_CHUNK, f);
        if (n == 0 && ferror(f)) {
            e = err_set(E_IO, NULL, NULL, "read %s", path);
            break;
        }
        if (n == 0 && seq > 0)
            break;
        if ((e = put_chunk(d, job_id, slot, seq, buf, n, ct, expires_at)))
            break;
        bytes += (int64_t)n;
        if (seq % COMMIT_EVERY == COMMIT_EVERY - 1) {
            open_tx = false;
            if (!(e = db_commit(d)) && !(e = db_begin(d)))
                open_tx = true;
        }
        if (n < EXPORT_STORE_CHUNK)
            break;
    }
    if (!e && open_tx) {
        open_tx = false;
        e = db_commit(d);
    }
    if (open_tx)
        db_rollback(d);
    if (e) { /* the chunks committed before the failure: nobody reads them (the job fails) */
        err_ignore(delete_file(d, job_id, slot));
    } else { /* what keeping files in the database costs (docs/cluster.md) */
        char sj[24], sb[24], sm[24];
        snprintf(sj, sizeof sj, "%lld", (long long)job_id);
        snprintf(sb, sizeof sb, "%lld", (long long)bytes);
        snprintf(sm, sizeof sm, "%lld", (long long)(now_ms() - t0));
        log_event(LOG_INFO, "export_stored", "job", sj, "bytes", sb, "ms", sm, NULL);
    }
    fclose(f);
    free(buf);
    free(ct);
    return e;
}

static struct job_worker *fetcher;
static char stall_file[600]; /* FK_TEST_EXPORT_FETCH_STALL: test suites only */

/* While the test's stall file exists (60 s at most): a fetch held on purpose. */
static void test_stall(int64_t job_id)
{
    if (!stall_file[0] || access(stall_file, F_OK))
        return;
    char sj[24];
    snprintf(sj, sizeof sj, "%lld", (long long)job_id);
    log_event(LOG_INFO, "export_fetch_stalled", "job", sj, NULL);
    for (int i = 0; i < 3000 && !access(stall_file, F_OK); i++)
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
}

err export_store_get(db *d, int64_t job_id, int slot, const char *path)
{
    test_stall(job_id);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(E_IO, NULL, NULL, "create %s: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return err_set(E_IO, NULL, NULL, "open %s: %s", tmp, strerror(errno));
    }
    char *plain = malloc(EXPORT_STORE_CHUNK + 1);
    err e = plain ? E_OK : E_NOMEM;
    /* the queries below read one snapshot: a file deleted or purged
     * meanwhile is read whole or not at all, never cut short */
    bool own_tx = !e && !db_in_tx(d);
    if (own_tx && (e = db_begin_read(d)))
        own_tx = false;
    /* COMMIT_EVERY chunks a query: the file never whole in memory */
    int next = 0;
    for (bool more = true; !e && more;) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id, seq, data_enc FROM export_files WHERE job_id = ? AND "
                            "slot = ? AND seq >= ? ORDER BY seq LIMIT 16",
                            &s)))
            break;
        db_bind_int64(s, 1, job_id);
        db_bind_int64(s, 2, slot);
        db_bind_int64(s, 3, next);
        int got = 0;
        bool row;
        while (!e && !(e = db_row(s, &row)) && row) {
            got++;
            size_t n, len = 0;
            const void *ct = db_col_blob(s, 2, &n);
            char label[48];
            label_of(db_col_int64(s, 0), label);
            if (db_col_int64(s, 1) != next)
                e = err_set(E_IO, NULL, NULL, "export file %lld: chunk %d missing",
                            (long long)job_id, next);
            else if (n > EXPORT_STORE_CHUNK + SEAL_OVERHEAD)
                e = err_set(E_CRYPTO, NULL, NULL, NULL);
            else if (!(e = unseal_buf(label, ct, n, plain, &len)) &&
                     fwrite(plain, 1, len, f) != len)
                e = err_set(E_IO, NULL, NULL, "write %s", tmp);
            next++;
        }
        db_done(s);
        more = got == COMMIT_EVERY;
    }
    if (own_tx)
        db_rollback(d);
    if (!e && next == 0)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "导出文件不存在");
    if (fclose(f) && !e)
        e = err_set(E_IO, NULL, NULL, "write %s: %s", tmp, strerror(errno));
    if (!e && rename(tmp, path))
        e = err_set(E_IO, NULL, NULL, "rename %s: %s", tmp, strerror(errno));
    if (e)
        unlink(tmp);
    free(plain);
    return e;
}

err export_store_purge(db *d, int64_t now, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM export_files WHERE expires_at < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    return db_run(s, n_r);
}

/* ---- downloads: the fetch off the event loops ------------------------------------ */

/*
 * After the open of a download's file: fd, or -1 with e the fetch's error
 * (E_OK: the open failed). *size_r, or the error to answer with fd closed
 * (dl's 404 when no file is left, anywhere).
 */
static err opened(int fd, err e, const char *path, const struct export_download *dl,
                  int64_t *size_r)
{
    /* every server answers by the same clock: a fetch that outlasted the
     * file's expiry serves nothing (its copy goes too) */
    if (fd >= 0 && dl->expires_at && dl->expires_at <= now_ms()) {
        close(fd);
        unlink(path);
        fd = -1;
        e = E_NOT_FOUND;
    }
    if (fd < 0 && (!e || e == E_NOT_FOUND))
        return err_set(E_NOT_FOUND, dl->missing_slug, NULL, "%s", dl->missing_message);
    if (fd < 0)
        return e;
    struct stat sb;
    if (fstat(fd, &sb)) {
        close(fd);
        return err_set(E_IO, NULL, NULL, NULL);
    }
    *size_r = (int64_t)sb.st_size;
    return E_OK;
}

/* The file at path fetched from the database, then opened: fd or -1, *e_r. */
static int fetch_open(db *d, int64_t job_id, int slot, const char *path, err *e_r)
{
    *e_r = export_store_get(d, job_id, slot, path);
    return *e_r ? -1 : open(path, O_RDONLY | O_CLOEXEC);
}

/* A queued fetch: copies of what its reply needs (the request's arena is gone). */
struct fetch {
    struct http_deferred *df;
    int64_t job_id;
    int slot;
    char path[600];
    struct export_download dl; /* strings: into text below, or static */
    struct principal who;
    char ip[64];
    char text[]; /* disposition, action, object type, detail */
};

static void fetch_run(db *d, void *arg)
{
    struct fetch *f = arg;
    int64_t size = 0;
    err e = E_OK;
    /* a download of the same file queued before this one fetched it already */
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = fetch_open(d, f->job_id, f->slot, f->path, &e);
    e = opened(fd, e, f->path, &f->dl, &size);
    if (!e) { /* an access that cannot be audited is not served (security/audit.h) */
        struct audit_entry ae = {.user_id = f->who.user_id,
                                 .username = f->who.username,
                                 .role = f->who.roles,
                                 .ip = f->ip,
                                 .action = f->dl.action,
                                 .object_type = f->dl.object_type,
                                 .object_id = f->job_id,
                                 .result = "ok",
                                 .detail = f->dl.detail};
        if ((e = audit_log(d, &ae)))
            close(fd);
    }
    if (!e && !http_deferred_header(f->df, "Content-Disposition", f->dl.disposition)) {
        close(fd);
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (!e) {
        http_deferred_reply_file(f->df, 200, f->dl.ctype, fd, size);
        return;
    }
    int status;
    size_t len;
    char *body = http_error_text(e, &status, &len); /* the detail is this thread's */
    if (status >= 500) { /* a chunk that does not open, a full disk: the operator's to see */
        char sj[24];
        snprintf(sj, sizeof sj, "%lld", (long long)f->job_id);
        log_event(LOG_ERROR, "export_fetch_failed", "job", sj, "slug", err_slug(e), "message",
                  err_last()->message, NULL);
    }
    err_clear();
    http_deferred_reply(f->df, body ? status : 500, "application/json; charset=utf-8", body, len);
}

static void fetch_free(void *arg)
{
    free(arg);
}

/* src copied to *p, p advanced past it; the field pointed at the copy. */
static const char *put_text(char **p, const char *src)
{
    char *at = *p;
    size_t n = strlen(src) + 1;
    memcpy(at, src, n);
    *p += n;
    return at;
}

err export_store_serve(struct req *r, int64_t job_id, int slot, const char *path,
                       const struct export_download *dl)
{
    err e = E_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool absent = fd < 0 && errno == ENOENT;
    if (absent && !fetcher) /* the tools: no loop to keep free */
        fd = fetch_open(r->db, job_id, slot, path, &e);
    if (!absent || !fetcher) { /* this server's copy, sent at once */
        int64_t size;
        if ((e = opened(fd, e, path, dl, &size)))
            return e;
        req_audit(r, dl->action, dl->object_type, job_id, "ok", dl->detail);
        r->disposition = dl->disposition;
        return reply_file(r, 200, dl->ctype, fd, size);
    }
    const char *detail = dl->detail ? dl->detail : "";
    size_t n =
        strlen(dl->disposition) + strlen(dl->action) + strlen(dl->object_type) + strlen(detail) + 4;
    struct fetch *f = calloc(1, sizeof *f + n);
    if (!f)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    f->job_id = job_id;
    f->slot = slot;
    snprintf(f->path, sizeof f->path, "%s", path);
    f->dl = *dl;
    char *p = f->text;
    f->dl.disposition = put_text(&p, dl->disposition);
    f->dl.action = put_text(&p, dl->action);
    f->dl.object_type = put_text(&p, dl->object_type);
    f->dl.detail = put_text(&p, detail);
    f->who = *r->who;
    snprintf(f->ip, sizeof f->ip, "%s", r->ip ? r->ip : "");
    if (!(f->df = req_defer(r))) {
        free(f);
        err ea = req_audit_failed(r);
        return ea ? ea : err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (job_worker_submit(fetcher, r->db, fetch_run, fetch_free, f)) {
        req_undefer(r, f->df);
        free(f);
        return err_set(E_UNAVAILABLE, "queue_full", NULL,
                       "系统繁忙（文件下载排队已满），请稍后重试");
    }
    return E_OK;
}

err export_store_configure(void)
{
    const char *stall = getenv("FK_TEST_EXPORT_FETCH_STALL");
    stall_file[0] = '\0';
    if (!stall || !*stall)
        return E_OK;
    /* a server that can be told to hold its downloads is for tests: only
     * with the test suites' password cost */
    if (!password_cost_weak())
        return err_set(E_INPUT, "invalid_config", "FK_TEST_EXPORT_FETCH_STALL",
                       "FK_TEST_EXPORT_FETCH_STALL 仅用于测试（需同时设置测试用的口令哈希强度）");
    snprintf(stall_file, sizeof stall_file, "%s", stall);
    return E_OK;
}

err export_store_start(const char *db_url)
{
    static const struct job_worker_opts o = {.name = "fk-fetch",
                                             .queue_max = EXPORT_FETCH_QUEUE_MAX};
    err e = job_worker_start(&o, db_url, &fetcher);
    if (!e && (e = http_on_stop(export_store_stop)))
        export_store_stop();
    return e;
}

void export_store_stop(void)
{
    job_worker_stop(&fetcher); /* the queued fetches run first: their clients get files */
}
