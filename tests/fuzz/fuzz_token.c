/*
 * Code tokens (security/token.h): any text is refused or decodes to a
 * token whose re-issue gives the same text (one accepted spelling per
 * payload); nothing crashes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "security/crypto.h"
#include "security/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int keyed;
    if (!keyed) {
        uint8_t master[32] = {1, 2, 3};
        keys_set_master(master);
        keyed = 1;
    }
    char s[TOKEN_MAX * 2];
    if (n >= sizeof s)
        n = sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    for (int k = TOKEN_HEALTH; k <= TOKEN_VISITOR; k++) {
        struct token t;
        if (token_verify(s, (enum token_kind)k, 1772330400000LL, &t) != E_OK)
            continue;
        char again[TOKEN_MAX];
        if (token_issue(&t, again) != E_OK || strcmp(again, s))
            abort();
    }
    return 0;
}
