/*
 * Whole-database backup and restore (db.h, "backup and restore"): what both
 * drivers share (the private temporary file, its sync and rename) and the
 * dispatch to the driver that owns the URL. Each driver's own method is in
 * sqlite_backup.c and pg_backup.c.
 *
 * Both copy rows as they are stored, so sealed fields stay ciphertexts; the
 * master key is never part of a backup.
 */
#include "db/db_private.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

err backup_io_fail(const char *what, const char *path)
{
    int saved = errno;
    if (err_errno_disk_full(saved))
        return err_disk_full("backup"); /* logged there, once a minute */
    log_event(LOG_ERROR, "backup_io", "op", what, "path", path, "detail", strerror(saved), NULL);
    return err_set(E_IO, "backup_io", NULL, "%s %s 失败: %s", what, path, strerror(saved));
}

char *backup_concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 1);
    if (p) {
        memcpy(p, a, na);
        memcpy(p + na, b, nb + 1);
    }
    return p;
}

/* fsync the directory holding `path`, so a rename into it is durable. */
static void backup_sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Create `path` empty with mode 0600, replacing a leftover from an earlier
 * failed run; the caller's umask cannot widen the mode afterwards. */
err backup_create_private(const char *path)
{
    if (unlink(path) && errno != ENOENT)
        return backup_io_fail("删除旧的临时文件", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return backup_io_fail("创建", path);
    (void)fchmod(fd, 0600);
    close(fd);
    return E_OK;
}

err backup_finish_file(const char *tmp, const char *file)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return backup_io_fail("打开", tmp);
    if (fchmod(fd, 0600) || fsync(fd)) {
        err e = backup_io_fail("同步", tmp);
        close(fd);
        return e;
    }
    close(fd);
    if (rename(tmp, file))
        return backup_io_fail("重命名为", file);
    backup_sync_dir_of(file);
    return E_OK;
}

int64_t backup_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? 0 : (int64_t)st.st_size;
}

err db_backup(const char *url, const char *file, int64_t *bytes_r)
{
    int64_t bytes = 0;
    err e = db_driver_for(url)->backup(url, file, &bytes);
    if (!e && bytes_r)
        *bytes_r = bytes;
    return e;
}

err db_restore(const char *url, const char *file)
{
    return db_driver_for(url)->restore(url, file);
}
