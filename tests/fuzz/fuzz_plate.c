/* Plate normalisation (GA 36) as gates, cameras and forms feed it: the
 * input is split at NUL bytes into the plates to check. A normalised plate
 * must normalise to itself. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "vehicle/vehicle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static void one(const char *s)
{
    char out[PLATE_MAX], again[PLATE_MAX];
    bool nev, nev2;
    if (plate_normalise(s, "plate", out, &nev) != E_OK)
        return;
    if (plate_normalise(out, "plate", again, &nev2) != E_OK || strcmp(out, again) != 0 ||
        nev != nev2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *buf = malloc(n + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, n);
    buf[n] = '\0';
    for (size_t i = 0; i <= n;) {
        one(buf + i);
        i += strlen(buf + i) + 1;
    }
    free(buf);
    err_clear();
    return 0;
}
