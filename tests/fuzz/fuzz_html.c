/* The rich-text sanitiser (base/html.h): any bytes; the output must be
 * valid for a second pass and sanitise to itself (idempotence). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    arena *a = arena_new(4096);
    const char *once, *twice;
    size_t l1, l2;
    if (html_sanitize(a, (const char *)data, n, 1u << 16, "body", &once, &l1) == E_OK) {
        if (strlen(once) != l1)
            abort();
        if (html_sanitize(a, once, l1, 1u << 16, "body", &twice, &l2) != E_OK)
            abort();
        if (l1 != l2 || memcmp(once, twice, l1))
            abort();
        (void)html_text(a, once, 40);
    }
    arena_free(&a);
    return 0;
}
