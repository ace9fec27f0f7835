/* Client addresses behind a trusted proxy (http/proxy.c): the list of
 * FK_TRUSTED_PROXIES and the X-Forwarded-For header. The input is split at
 * its first newline: the list before, the header after. Whatever the bytes,
 * the answer is the peer or one of the header's entries, and fits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *text = malloc(n + 1);
    if (!text)
        return 0;
    memcpy(text, data, n);
    text[n] = '\0';
    char *xff = strchr(text, '\n');
    if (xff)
        *xff++ = '\0';
    if (http_set_trusted_proxies(text) != E_OK)
        (void)!http_set_trusted_proxies("127.0.0.1, ::1, 10.0.0.0/8");
    err_clear();
    char out[64];
    http_client_addr("127.0.0.1", xff, out, sizeof out);
    if (strlen(out) >= sizeof out || (strcmp(out, "127.0.0.1") && (!xff || !strstr(xff, out))))
        abort();
    http_client_addr("10.1.2.3", xff, out, sizeof out);
    http_client_addr("198.51.100.1", xff, out, sizeof out);
    if (strcmp(out, "198.51.100.1") && (!xff || !strstr(xff, out)))
        abort();
    free(text);
    return 0;
}
