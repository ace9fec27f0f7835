/* Trip bodies (trace/trace.h): the parser that turns a POST or PATCH body
 * (and every imported row) into a trip, the whole trip's checks, and the
 * flight and train number rules, on arbitrary JSON. */
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_t *j = NULL;
    arena *a = arena_new(0);
    if (a && json_parse_body((const char *)data, n, &j) == E_OK) {
        struct trip t = {0};
        if (trip_apply_json(a, j, &t) == E_OK)
            (void)trip_check(&t);
        /* a second body applied over the first, as a PATCH is */
        (void)trip_apply_json(a, j, &t);
        const char *s = json_str(j, "number");
        if (s) {
            char out[TRIP_NUMBER_OUT];
            (void)trip_number_normalise(TRIP_FLIGHT, s, "number", out);
            (void)trip_number_normalise(TRIP_TRAIN, s, "number", out);
            (void)trip_number_normalise(TRIP_COACH, s, "number", out);
        }
        json_decref(j);
    }
    arena_free(&a);
    err_clear();
    return 0;
}
