/* RSS 2.0 / Atom feed reader (publish/feed.c): any bytes, as news or opinion. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "publish/publish.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* a private arena per input: the harness has no request */
    arena *a = arena_new(4096);
    struct feed_input *items;
    size_t count;
    if (feed_parse((const char *)data, n, n % 2 ? FEED_NEWS : FEED_OPINION, a, &items, &count) ==
        E_OK)
        for (size_t i = 0; i < count; i++)
            (void)(strlen(items[i].title) + strlen(items[i].link) + strlen(items[i].guid) +
                   strlen(items[i].summary) + strlen(items[i].source));
    arena_free(&a);
    return 0;
}
