/* The connectors' readers of outside answers (exchange/connect.h): any
 * bytes as JSON, then the telecom places, a situation row and a platform's
 * answer checked. Answers are signed by the peer, but a peer is still an
 * outside system: nothing it sends may crash or overrun us. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "exchange/connect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_t *o = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
    if (!o)
        return 0;
    arena *a = arena_new(4096);
    struct itinerary_span *sp;
    size_t ns;
    /* a window around 2026-12-05 (China), where the seeds' dates lie */
    const int64_t now = 1796486400000LL;
    if (telecom_places_parse(a, json_object_get(o, "places"), now - 14 * 86400000LL, now, &sp, &ns))
        for (size_t i = 0; i < ns; i++)
            (void)sp[i].place[0];
    struct situation_row row;
    json_t *items = json_object_get(o, "items"), *r;
    size_t i;
    json_array_foreach(items, i, r)
    {
        if (situation_row_parse(r, &row))
            (void)row.area[0];
    }
    (void)platform_answer_ok(o);
    arena_free(&a);
    json_decref(o);
    return 0;
}
