/*
 * Finished job files in the database (job/export_store.h): chunks of
 * EXPORT_STORE_CHUNK bytes in export_files (sql/096), each sealed under
 * "export_files.data_enc#<row id>" so a chunk copied onto another row does
 * not open, and read back in order of seq into a file beside the caller's.
 */
#include "job/export_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
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

err export_store_get(db *d, int64_t job_id, int slot, const char *path)
{
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
