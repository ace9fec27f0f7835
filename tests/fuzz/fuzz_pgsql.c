/* The PostgreSQL driver's placeholder renumbering: every `?` outside
 * quotes and comments becomes $1, $2, … in order, and nothing else
 * changes. Checked against a simple recount of the output. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *sql = malloc(n + 1);
    if (!sql)
        return 0;
    memcpy(sql, data, n);
    sql[n] = '\0';
    int marks = 0, total = 0;
    for (const char *p = sql; *p; p++)
        total += *p == '?';
    char *out = db_pg_renumber(sql, &marks);
    if (out) {
        /* each marker replaced: the `?` left are those inside quotes or comments */
        int left = 0;
        for (const char *p = out; *p; p++)
            left += *p == '?';
        if (marks < 0 || marks + left != total)
            abort();
        /* $1..$marks appear in order */
        const char *p = out;
        for (int k = 1; k <= marks; k++) {
            char want[16];
            int w = snprintf(want, sizeof want, "$%d", k);
            const char *q = strstr(p, want);
            if (!q)
                abort();
            p = q + w;
        }
        free(out);
    }
    free(sql);
    return 0;
}
