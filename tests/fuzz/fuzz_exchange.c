/* The exchange's input parsers (exchange/internal.h): any bytes as a read's
 * query, as a caller row's region list, and as a caller's registration
 * (JSON), and any header value as a timestamp. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, data, n);
    s[n] = '\0';
    /* a private arena per input: the harness has no request */
    arena *a = arena_new(4096);
    json_t *o = NULL;
    if (exchange_query_object(a, s, &o) == E_OK)
        json_decref(o);
    int64_t codes[EXCHANGE_REGIONS_MAX];
    (void)exchange_regions_parse(s, codes, EXCHANGE_REGIONS_MAX);
    (void)exchange_timestamp_ok(s, 1700000000000, 300000);
    json_t *b = json_loadb(s, n, 0, NULL);
    if (b) {
        struct exchange_caller_input in;
        (void)exchange_caller_parse(b, n % 2, &in);
        json_decref(b);
    }
    arena_free(&a);
    free(s);
    return 0;
}
