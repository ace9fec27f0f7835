/* CSV reader (region and person imports): any bytes, any limits. */
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    arena *a = arena_new(4096);
    /* small limits on odd lengths so the limit paths run too */
    struct csv_limits small = {.max_field = 16, .max_record = 64, .max_fields = 4};
    csv_reader *r = csv_open_mem(a, (const char *)data, n, n % 2 ? &small : NULL);
    char **f;
    size_t nf;
    int rc, guard = 0;
    while ((rc = csv_next(r, &f, &nf)) != CSV_END && rc != CSV_E_IO && guard++ < 100000) {
        if (rc == CSV_RECORD)
            for (size_t i = 0; i < nf; i++)
                (void)f[i][0];
        (void)csv_line(r);
    }
    arena_free(&a);
    return 0;
}
