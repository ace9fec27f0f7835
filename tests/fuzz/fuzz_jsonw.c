/* The one-buffer JSON writer (base/jsonw.h) against jansson: any document
 * jansson parses is written by the writer exactly as json_dumps writes it,
 * and the input taken as one string value (valid UTF-8 or not, NULs and
 * control characters included) gives the same text or the same failure. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* Levels of nesting of v (the writer stops at JSONW_DEPTH_MAX). */
static size_t depth_of(json_t *v)
{
    size_t d = 0, i;
    const char *k;
    json_t *m;
    if (json_is_object(v)) {
        json_object_foreach(v, k, m)
        {
            size_t x = depth_of(m);
            d = x > d ? x : d;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            size_t x = depth_of(m);
            d = x > d ? x : d;
        }
        return d + 1;
    }
    return 0;
}

/* Abort unless the writer's text of v is jansson's (both NULL or equal). */
static void compare(json_t *v)
{
    char *want = json_dumps(v, DUMP_FLAGS);
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_json(&w, v);
    size_t len = 0;
    char *got = jsonw_finish(&w, &len);
    if (!want != !got || (want && (strcmp(want, got) || len != strlen(want))))
        abort();
    free(want);
    free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v && depth_of(v) <= JSONW_DEPTH_MAX)
        compare(v);
    json_decref(v);
    /* the raw bytes as a string value, unchecked: jansson's dump fails on
     * invalid UTF-8 and so must the writer */
    json_t *s = json_stringn_nocheck((const char *)data, n);
    if (s) {
        compare(s);
        json_t *a = json_pack("[O,{s:O}]", s, "k", s);
        if (a)
            compare(a);
        json_decref(a);
        json_decref(s);
    }
    return 0;
}
