/*
 * Code tokens (security/token.h): any text is refused or decodes to a
 * token whose re-issue gives the same text (one accepted spelling per
 * payload); nothing crashes. The untrusted decode (共享互认's routing)
 * accepts whatever token_verify accepts, with the same fields, and never
 * a subject <= 0. The node lists of peers (exchange_nodes_parse) accept
 * or refuse any text; what they accept parses again to itself.
 */
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "security/crypto.h"
#include "exchange/exchange.h"
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
    struct token u;
    bool decoded = token_decode_untrusted(s, &u) == E_OK;
    if (decoded && u.subject <= 0)
        abort();
    char nodes[EXCHANGE_NODES_MAX + 1], again_nodes[EXCHANGE_NODES_MAX + 1];
    if (exchange_nodes_parse(s, nodes) == E_OK &&
        (exchange_nodes_parse(nodes, again_nodes) != E_OK || strcmp(nodes, again_nodes)))
        abort();
    for (int k = TOKEN_HEALTH; k <= TOKEN_VISITOR; k++) {
        struct token t;
        if (token_verify(s, (enum token_kind)k, 1772330400000LL, &t) != E_OK)
            continue;
        if (!decoded || u.subject != t.subject || u.expires_at != t.expires_at)
            abort();
        char again[TOKEN_MAX];
        if (token_issue(&t, again) != E_OK || strcmp(again, s))
            abort();
    }
    return 0;
}
