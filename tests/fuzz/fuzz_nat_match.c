/* The city-site matcher's names (nat.h "the city's site list"): any bytes
 * as two names, split at the first NUL or in the middle. The scores stay in
 * [0, 1], are symmetric, and a name scores 1 against itself once its
 * normalised form is not empty. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/nat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *buf = malloc(n + 2);
    if (!buf)
        return 0;
    memcpy(buf, data, n);
    buf[n] = buf[n + 1] = '\0';
    const char *nul = memchr(buf, '\0', n);
    size_t cut = nul ? (size_t)(nul - buf) : n / 2;
    char *a = strndup(buf, cut), *b = strdup(buf + cut + (nul ? 1 : 0));
    if (a && b) {
        double x = nat_name_score(a, b), y = nat_name_score(b, a);
        if (!(x >= 0 && x <= 1) || x != y)
            abort();
        uint32_t cps[128];
        if (nat_name_normalise(a, cps, 128) && nat_name_score(a, a) != 1.0)
            abort();
        double m = nat_match_score(x, (double)(n * 37 % 3000));
        if (m != -1 && !(m >= 0 && m <= 1))
            abort();
    }
    free(a);
    free(b);
    free(buf);
    return 0;
}
