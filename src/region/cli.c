/*
 * `fangkong import regions FILE`: load a deployment's region tree from a CSV
 * or GeoJSON file, with the same rules and row-level report as the API
 * import, as the operator (no scope, audited as user "cli").
 *
 * Exit status: 0 when every row was imported, 1 when the file could not be
 * read or any row was refused (the valid rows are still imported, so
 * scripts notice the partial import), 2 for a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "region/region.h"
#include "security/audit.h"

#define FILE_MAX (256u << 20) /* far beyond a province down to buildings */

/* Read a whole file into the arena, NUL-terminated. */
static int read_file(arena *a, const char *path, char **data_r, size_t *n_r)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fangkong import regions: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= FILE_MAX) {
                fprintf(stderr, "fangkong import regions: %s is larger than %u MB\n", path,
                        FILE_MAX >> 20);
                free(buf);
                fclose(f);
                return 1;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                break;
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        fprintf(stderr, "fangkong import regions: cannot read %s\n", path);
        free(buf);
        return 1;
    }
    buf[n] = '\0';
    *data_r = arena_memdup(a, buf, n + 1);
    *n_r = n;
    free(buf);
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* By extension, else by content: GeoJSON starts with '{'. */
static enum region_format detect(const char *path, const char *data)
{
    if (ends_with(path, ".csv"))
        return REGION_CSV;
    if (ends_with(path, ".geojson") || ends_with(path, ".json"))
        return REGION_GEOJSON;
    if (!strncmp(data, "\xEF\xBB\xBF", 3))
        data += 3;
    data += strspn(data, " \t\r\n");
    return *data == '{' ? REGION_GEOJSON : REGION_CSV;
}

int cmd_import_regions(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc != 1) {
        fprintf(stderr, "用法: fangkong import regions FILE\n");
        return 2;
    }
    const char *path = argv[0];
    /* the command's own: a command line has no request */
    arena *a = arena_new(0);
    char *data;
    size_t n;
    if (read_file(a, path, &data, &n)) {
        arena_free(&a);
        return 1;
    }
    enum region_format fmt = detect(path, data);
    db *d;
    if (app_open(&c, &d)) {
        arena_free(&a);
        return 1;
    }
    struct scope all = scope_all();
    struct region_import_report rep;
    db_hold(d); /* the rows and their entry commit together (security/audit.h) */
    err e = region_import(d, &all, fmt, data, n, a, &rep);
    if (!e) {
        char detail[160];
        snprintf(detail, sizeof detail, "format=%s,imported=%lld,updated=%lld,errors=%lld",
                 fmt == REGION_CSV ? "csv" : "geojson", (long long)rep.imported,
                 (long long)rep.updated, (long long)rep.error_count);
        struct audit_entry ae = {
            .username = "cli",
            .role = "",
            .ip = "",
            .action = "region.import",
            .object_type = "region",
            .result = "ok",
            .detail = detail,
        };
        e = audit_log(d, &ae); /* no entry, no import: the release rolls back */
    }
    err done = db_release(d, !e);
    if (!e)
        e = done;
    int status;
    if (e) {
        status = cli_fail(e, path);
    } else {
        printf("imported %lld, updated %lld, errors %lld\n", (long long)rep.imported,
               (long long)rep.updated, (long long)rep.error_count);
        for (size_t i = 0; i < rep.n_errors; i++) {
            const struct region_import_error *x = &rep.errors[i];
            if (x->field[0])
                printf("row %ld: %s: %s\n", x->row, x->field, x->message);
            else
                printf("row %ld: %s\n", x->row, x->message);
        }
        if ((size_t)rep.error_count > rep.n_errors)
            printf("... %lld more errors not shown\n",
                   (long long)rep.error_count - (long long)rep.n_errors);
        status = rep.error_count ? 1 : 0;
    }
    db_close(&d);
    arena_free(&a);
    return status;
}
