/*
 * The client's address behind a trusted reverse proxy (deploy/nginx,
 * docs/deploy.md "Client addresses").
 *
 * Behind nginx every connection comes from the proxy, so rate limits per
 * address (sign-in, SMS codes, the public page), the per-address
 * connection cap and the audit trail would all see one client. A proxy
 * names the client in X-Forwarded-For, but so can any client: the header
 * is believed only when the connection comes from an address listed in
 * FK_TRUSTED_PROXIES, and then read from the right, skipping the trusted
 * proxies' own entries, so the first untrusted address is the one the
 * nearest trusted proxy saw connecting (what a client prepends is to its
 * left and never reached). Unset, the header is ignored: nobody forges an
 * address on a server reached directly.
 */
#include "http/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROXIES_MAX 16

struct net {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
};

static struct net proxies[PROXIES_MAX];
static size_t n_proxies;

/* Parse "a.b.c.d", "a.b.c.d/n", "::1" or "fe80::/10" into *n. */
static bool net_parse(const char *s, size_t len, struct net *n)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end || b < 0 || b > 128)
            return false;
        bits = (int)b;
    }
    memset(n, 0, sizeof *n);
    if (inet_pton(AF_INET, buf, n->addr) == 1) {
        n->family = AF_INET;
        n->bits = bits < 0 ? 32 : bits;
        return n->bits <= 32;
    }
    if (inet_pton(AF_INET6, buf, n->addr) == 1) {
        n->family = AF_INET6;
        n->bits = bits < 0 ? 128 : bits;
        return true;
    }
    return false;
}

static bool net_has(const struct net *n, int family, const uint8_t *addr)
{
    if (n->family != family)
        return false;
    int full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(n->addr, addr, (size_t)full))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

err http_set_trusted_proxies(const char *list)
{
    struct net parsed[PROXIES_MAX];
    size_t n = 0;
    const char *p = list ? list : "";
    for (;;) {
        p += strspn(p, " ,");
        if (!*p)
            break;
        size_t len = strcspn(p, " ,");
        if (n == PROXIES_MAX || !net_parse(p, len, &parsed[n]))
            return err_set(E_INPUT, "invalid_value", "FK_TRUSTED_PROXIES",
                           "FK_TRUSTED_PROXIES 须为至多 %d 个 IP 地址或网段（如 127.0.0.1 或 "
                           "10.0.0.0/8），以逗号或空格分隔",
                           PROXIES_MAX);
        n++;
        p += len;
    }
    memcpy(proxies, parsed, n * sizeof parsed[0]);
    n_proxies = n;
    return E_OK;
}

/* Whether the textual address ip is one of the trusted proxies; the parsed
 * address in *family_r and addr (false for what is no address). */
static bool trusted(const char *ip, size_t len, bool *is_addr_r)
{
    struct net a;
    *is_addr_r = net_parse(ip, len, &a) && a.bits == (a.family == AF_INET ? 32 : 128) &&
                 !memchr(ip, '/', len);
    if (!*is_addr_r)
        return false;
    for (size_t i = 0; i < n_proxies; i++)
        if (net_has(&proxies[i], a.family, a.addr))
            return true;
    return false;
}

bool http_proxy_trusted_v4(uint32_t addr_be)
{
    char ip[INET_ADDRSTRLEN];
    if (!n_proxies || !inet_ntop(AF_INET, &addr_be, ip, sizeof ip))
        return false;
    bool is_addr;
    return trusted(ip, strlen(ip), &is_addr);
}

void http_client_addr(const char *peer, const char *xff, char *out, size_t n)
{
    snprintf(out, n, "%s", peer ? peer : "");
    bool is_addr;
    if (!n_proxies || !xff || !peer || !trusted(peer, strlen(peer), &is_addr))
        return;
    /* from the right: the nearest proxy's entry first */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        bool is_trusted = trusted(xff + a, b - a, &is_addr);
        if (!is_addr)
            return; /* garbage (a port, a name, "unknown"): the peer, not a guess */
        if (!is_trusted) {
            snprintf(out, n, "%.*s", (int)(b - a), xff + a);
            return;
        }
        snprintf(out, n, "%.*s", (int)(b - a), xff + a); /* another trusted hop */
        end = start ? start - 1 : 0;
    }
}
