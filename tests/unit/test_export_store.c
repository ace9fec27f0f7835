/*
 * Unit tests of job/export_store.h, on SQLite (and PostgreSQL when FK_DB
 * names one): files of 0 bytes, of exactly one chunk, and of more chunks
 * than one read or one transaction holds (EXPORT_STORE_CHUNK, 16 a batch)
 * come back byte for byte, 0600; chunks are sealed (33 bytes more each;
 * tests/api/export-job.test.mjs looks for plaintext); a file stored again replaces the old one; a
 * missing chunk, a chunk moved to another row and an unknown file are refused with no file and no
 * temporary left; the purge takes what expired; the deletion takes a job's every slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "job/export_store.h"
#include "security/crypto.h"

static struct fixture_db F;
static db *D;
static char dir[64];

static int64_t count(const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM export_files WHERE %s", where);
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

/* A file of n bytes of a pattern seeded by `seed` at dir/name. */
static uint8_t *make_file(const char *name, size_t n, unsigned seed, char path[128])
{
    snprintf(path, 128, "%s/%s", dir, name);
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((i * 31 + seed) ^ (i >> 9));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    return b;
}

static void same_file(const char *path, const uint8_t *want, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *got = malloc(n + 1);
    assert_non_null(got);
    assert_int_equal(fread(got, 1, n + 1, f), n);
    fclose(f);
    assert_memory_equal(got, want, n);
    free(got);
}

/* Nothing in dir but the files named (no temporary left by a failure). */
static int entries(void)
{
    DIR *dp = opendir(dir);
    int n = 0;
    for (struct dirent *de; (de = readdir(dp));)
        n += de->d_name[0] != '.';
    closedir(dp);
    return n;
}

static int reset(void **state)
{
    (void)state;
    return db_exec(D, "DELETE FROM export_files") == E_OK ? 0 : -1;
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, EXPORT_STORE_CHUNK, EXPORT_STORE_CHUNK * 17 + 5};
    for (size_t i = 0; i < 4; i++) {
        char src[128], out[128];
        uint8_t *b = make_file("src", sizes[i], (unsigned)i, src);
        int64_t job = 1000 + (int64_t)i;
        assert_int_equal(export_store_put(D, job, 0, src, INT64_MAX), E_OK);
        int64_t chunks =
            sizes[i] / EXPORT_STORE_CHUNK + (sizes[i] % EXPORT_STORE_CHUNK || !sizes[i]);
        char where[64];
        snprintf(where, sizeof where, "job_id = %lld", (long long)job);
        assert_int_equal(count(where), chunks);
        snprintf(out, sizeof out, "%s/out", dir);
        assert_int_equal(export_store_get(D, job, 0, out), E_OK);
        same_file(out, b, sizes[i]);
        struct stat sb;
        assert_int_equal(stat(out, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        unlink(out);
        unlink(src);
        free(b);
    }
    /* sealed: 33 bytes more a chunk */
    int64_t total = 0;
    assert_int_equal(
        db_query_int64(D, "SELECT SUM(LENGTH(data_enc)) FROM export_files WHERE job_id = 1003",
                       &total),
        E_OK);
    assert_int_equal(total, EXPORT_STORE_CHUNK * 17 + 5 + 18 * SEAL_OVERHEAD);
    assert_int_equal(entries(), 0);
}

static void test_replace_and_slots(void **state)
{
    (void)state;
    char src[128], out[128];
    snprintf(out, sizeof out, "%s/out", dir);
    uint8_t *a = make_file("a", EXPORT_STORE_CHUNK * 3, 7, src);
    assert_int_equal(export_store_put(D, 7, 0, src, INT64_MAX), E_OK);
    assert_int_equal(export_store_put(D, 7, 1, src, INT64_MAX), E_OK);
    free(a);
    /* stored again, shorter: only the new chunks remain */
    uint8_t *b = make_file("a", 10, 9, src);
    assert_int_equal(export_store_put(D, 7, 0, src, INT64_MAX), E_OK);
    assert_int_equal(count("job_id = 7 AND slot = 0"), 1);
    assert_int_equal(count("job_id = 7 AND slot = 1"), 3);
    assert_int_equal(export_store_get(D, 7, 0, out), E_OK);
    same_file(out, b, 10);
    free(b);
    unlink(out);
    unlink(src);
    assert_int_equal(export_store_put(D, 7, 100, src, INT64_MAX), E_INTERNAL);
    assert_int_equal(export_store_put(D, 7, 0, "/nonexistent/file", INT64_MAX), E_IO);
    assert_int_equal(count("job_id = 7 AND slot = 0"), 1);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(export_store_delete(D, 7), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(count("job_id = 7"), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    char src[128], out[128];
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(export_store_get(D, 99, 0, out), E_NOT_FOUND);
    assert_int_equal(entries(), 0);
    uint8_t *b = make_file("src", EXPORT_STORE_CHUNK * 2 + 1, 3, src);
    free(b);
    unlink(src);
    assert_int_equal(export_store_put(D, 5, 0, src, INT64_MAX), E_IO); /* gone */
    b = make_file("src", EXPORT_STORE_CHUNK * 2 + 1, 3, src);
    free(b);
    assert_int_equal(export_store_put(D, 5, 0, src, INT64_MAX), E_OK);
    unlink(src);
    /* a chunk moved to another row does not open (its row id is in the seal) */
    assert_int_equal(
        db_exec(D, "UPDATE export_files SET id = id + 1000000 WHERE job_id = 5 AND seq = 1"), E_OK);
    assert_int_equal(export_store_get(D, 5, 0, out), E_CRYPTO);
    assert_int_equal(entries(), 0);
    /* a missing chunk is no file either */
    assert_int_equal(db_exec(D, "DELETE FROM export_files WHERE job_id = 5 AND seq = 1"), E_OK);
    assert_int_equal(export_store_get(D, 5, 0, out), E_IO);
    assert_int_equal(entries(), 0);
}

static void test_purge(void **state)
{
    (void)state;
    char src[128];
    uint8_t *b = make_file("src", 100, 1, src);
    free(b);
    assert_int_equal(export_store_put(D, 1, 0, src, 1000), E_OK);
    assert_int_equal(export_store_put(D, 2, 0, src, 5000), E_OK);
    unlink(src);
    int64_t n = -1;
    assert_int_equal(export_store_purge(D, 999, &n), E_OK);
    assert_int_equal(n, 0);
    assert_int_equal(export_store_purge(D, 1001, &n), E_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count("job_id = 1"), 0);
    assert_int_equal(count("job_id = 2"), 1);
}

static int open_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/fk-test-exportfiles.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int open_sqlite(void **state)
{
    (void)state;
    return open_dir() || fixture_sqlite_open(&F, "export_store", &D) || db_migrate(D) != E_OK ? -1
                                                                                              : 0;
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    rmdir(dir);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    return open_dir() || fixture_pg_open(&D) || db_migrate(D) != E_OK ? -1 : 0;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    rmdir(dir);
    return 0;
}

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x20 + i);
    keys_set_master(master);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_round_trip, reset),
        cmocka_unit_test_setup(test_replace_and_slots, reset),
        cmocka_unit_test_setup(test_refusals, reset),
        cmocka_unit_test_setup(test_purge, reset),
    };
    int failed =
        cmocka_run_group_tests_name("export_store/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("export_store/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}
