/*
 * The list of common passwords password_policy refuses: the first guesses
 * of anyone trying passwords. The list is generated from well-known
 * patterns by scripts/gen-common-passwords.py (its header says where the
 * patterns come from) into common_passwords.inc, compiled in so a server
 * needs no data file at run time.
 */
#include <stdlib.h>
#include <string.h>

#include "security/auth.h"

static const char *const common[] = {
#include "security/common_passwords.inc"
};

#define COMMON_N (sizeof common / sizeof common[0])
#define PW_MAX   128 /* longer than any entry, and than the API accepts */

static int cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

bool password_is_common(const char *password)
{
    char low[PW_MAX + 1];
    size_t n = password ? strlen(password) : 0;
    if (n > PW_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = password[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    low[n] = '\0';
    bool found = bsearch(low, common, COMMON_N, sizeof common[0], cmp) != NULL;
    explicit_bzero(low, sizeof low);
    return found;
}
