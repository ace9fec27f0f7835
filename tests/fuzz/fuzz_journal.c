/* The access journal's frames (access/journal.h): start-up reads whatever a
 * crash left in the journal's segments, so any bytes must decode to whole
 * records or be refused, never overrun; a record decoded re-encodes to the
 * same frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    size_t off = 0, used;
    struct journal_rec r;
    while (off < n && journal_frame_decode(data + off, n - off, &r, &used)) {
        uint8_t *again;
        size_t len;
        if (!journal_frame_encode(&r, &again, &len)) {
            if (len != used || memcmp(again, data + off, len))
                abort(); /* a decoded frame is exactly what encoding writes */
            free(again);
        }
        journal_rec_free(&r);
        off += used;
    }
    return 0;
}
