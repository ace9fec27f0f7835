/*
 * A full disk on demand, for tests only (FK_TEST_DISK_FULL).
 *
 * The API suite cannot mount a small filesystem (no privileges) and must
 * not fill the machine's disk, yet a full disk must be shown to answer
 * 503 disk_full, roll back, keep reads working and recover without a
 * restart. This SQLite VFS wraps the default one and, while the file named
 * by FK_TEST_DISK_FULL exists, answers every write to the database, its WAL
 * or a journal with SQLITE_FULL: exactly what the unix VFS answers when
 * write(2) fails with ENOSPC, so everything above it (the pager's rollback,
 * lite_err's mapping, the request's answer) runs as on a real full disk.
 * Reads pass through. Removing the file "frees the space".
 *
 * Refused outside tests: the database must live in the temporary folder
 * (TMPDIR, else /tmp), where the tests put theirs and no deployment does.
 * Unset (production), sqlite.c opens with the default VFS and none of this
 * runs.
 */
#include "db/db_private.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TF_NAME "fk_testfull"

struct tf_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, allocated right after */
};

static const char *flag_file;

static sqlite3_vfs *REAL(sqlite3_vfs *v)
{
    return (sqlite3_vfs *)v->pAppData;
}

static sqlite3_file *F(sqlite3_file *f)
{
    return ((struct tf_file *)f)->real;
}

static bool full(void)
{
    return flag_file && access(flag_file, F_OK) == 0;
}

static int tf_close(sqlite3_file *f)
{
    return F(f)->pMethods->xClose(F(f));
}

static int tf_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return F(f)->pMethods->xRead(F(f), p, n, off);
}

static int tf_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    if (full())
        return SQLITE_FULL;
    return F(f)->pMethods->xWrite(F(f), p, n, off);
}

static int tf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return F(f)->pMethods->xTruncate(F(f), size);
}

static int tf_sync(sqlite3_file *f, int flags)
{
    return F(f)->pMethods->xSync(F(f), flags);
}

static int tf_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return F(f)->pMethods->xFileSize(F(f), size);
}

static int tf_lock(sqlite3_file *f, int lock)
{
    return F(f)->pMethods->xLock(F(f), lock);
}

static int tf_unlock(sqlite3_file *f, int lock)
{
    return F(f)->pMethods->xUnlock(F(f), lock);
}

static int tf_check_lock(sqlite3_file *f, int *out)
{
    return F(f)->pMethods->xCheckReservedLock(F(f), out);
}

static int tf_control(sqlite3_file *f, int op, void *arg)
{
    return F(f)->pMethods->xFileControl(F(f), op, arg);
}

static int tf_sector(sqlite3_file *f)
{
    return F(f)->pMethods->xSectorSize(F(f));
}

static int tf_device(sqlite3_file *f)
{
    return F(f)->pMethods->xDeviceCharacteristics(F(f));
}

static int tf_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **p)
{
    return F(f)->pMethods->xShmMap(F(f), pg, pgsz, extend, p);
}

static int tf_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return F(f)->pMethods->xShmLock(F(f), off, n, flags);
}

static void tf_shm_barrier(sqlite3_file *f)
{
    F(f)->pMethods->xShmBarrier(F(f));
}

static int tf_shm_unmap(sqlite3_file *f, int del)
{
    return F(f)->pMethods->xShmUnmap(F(f), del);
}

static int tf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    return F(f)->pMethods->xFetch(F(f), off, n, p);
}

static int tf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return F(f)->pMethods->xUnfetch(F(f), off, p);
}

static const sqlite3_io_methods tf_io = {
    3,           tf_close,       tf_read,       tf_write,   tf_truncate, tf_sync,   tf_size,
    tf_lock,     tf_unlock,      tf_check_lock, tf_control, tf_sector,   tf_device, tf_shm_map,
    tf_shm_lock, tf_shm_barrier, tf_shm_unmap,  tf_fetch,   tf_unfetch,
};

static int tf_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct tf_file *t = (struct tf_file *)f;
    t->real = (sqlite3_file *)(t + 1);
    t->base.pMethods = NULL;
    int rc = REAL(v)->xOpen(REAL(v), name, t->real, flags, out);
    /* a failed open may still set methods: xClose is then called on ours */
    if (t->real->pMethods)
        t->base.pMethods = &tf_io;
    return rc;
}

static int tf_delete(sqlite3_vfs *v, const char *name, int sync)
{
    return REAL(v)->xDelete(REAL(v), name, sync);
}

static int tf_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return REAL(v)->xAccess(REAL(v), name, flags, out);
}

static int tf_full_path(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return REAL(v)->xFullPathname(REAL(v), name, n, out);
}

static void *tf_dl_open(sqlite3_vfs *v, const char *name)
{
    return REAL(v)->xDlOpen(REAL(v), name);
}

static void tf_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    REAL(v)->xDlError(REAL(v), n, msg);
}

static void (*tf_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    return REAL(v)->xDlSym(REAL(v), h, sym);
}

static void tf_dl_close(sqlite3_vfs *v, void *h)
{
    REAL(v)->xDlClose(REAL(v), h);
}

static int tf_random(sqlite3_vfs *v, int n, char *out)
{
    return REAL(v)->xRandomness(REAL(v), n, out);
}

static int tf_sleep(sqlite3_vfs *v, int us)
{
    return REAL(v)->xSleep(REAL(v), us);
}

static int tf_time(sqlite3_vfs *v, double *t)
{
    return REAL(v)->xCurrentTime(REAL(v), t);
}

static int tf_last_error(sqlite3_vfs *v, int n, char *msg)
{
    return REAL(v)->xGetLastError(REAL(v), n, msg);
}

static int tf_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    return REAL(v)->xCurrentTimeInt64(REAL(v), t);
}

static sqlite3_vfs tf_vfs = {
    .iVersion = 2,
    .zName = TF_NAME,
    .xOpen = tf_open,
    .xDelete = tf_delete,
    .xAccess = tf_access,
    .xFullPathname = tf_full_path,
    .xDlOpen = tf_dl_open,
    .xDlError = tf_dl_error,
    .xDlSym = tf_dl_sym,
    .xDlClose = tf_dl_close,
    .xRandomness = tf_random,
    .xSleep = tf_sleep,
    .xCurrentTime = tf_time,
    .xGetLastError = tf_last_error,
    .xCurrentTimeInt64 = tf_time64,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

static void tf_register(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return;
    tf_vfs.szOsFile = (int)sizeof(struct tf_file) + real->szOsFile;
    tf_vfs.mxPathname = real->mxPathname;
    tf_vfs.pAppData = real;
    registered = sqlite3_vfs_register(&tf_vfs, 0);
}

/* Is path inside the temporary folder (a prefix followed by '/')? */
static bool in_tmp(const char *path)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/')
        n--;
    return !strncmp(path, tmp, n) && path[n] == '/' && !strstr(path, "/../");
}

err db_sqlite_test_vfs(const char *path, const char **vfs_r)
{
    *vfs_r = NULL;
    const char *flag = getenv("FK_TEST_DISK_FULL");
    if (!flag || !*flag)
        return E_OK;
    if (!in_tmp(path))
        return err_set(E_INPUT, "test_flag_refused", "FK_TEST_DISK_FULL",
                       "FK_TEST_DISK_FULL 仅供测试使用：数据库必须位于临时目录");
    pthread_once(&once, tf_register);
    if (registered != SQLITE_OK)
        return db_fail("sqlite", "open", "the test VFS could not be registered");
    flag_file = flag;
    *vfs_r = TF_NAME;
    return E_OK;
}
