/*
 * The canonical texts of exchange calls and answers (contract in
 * exchange.h): what a caller signs and what the server signs back. Kept
 * pure (no database, no keys) so the unit tests and the fuzzer pin them.
 */
#include "exchange/exchange.h"

#include <stdlib.h>
#include <string.h>

static err nomem(void)
{
    return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The query's pairs sorted bytewise and joined by '&', in a. Empty pairs
 * ("a=1&&b=2") are dropped: they carry nothing and would otherwise make
 * two spellings of one request. */
static err sorted_query(arena *a, const char *query, char **out_r)
{
    size_t qlen = query ? strlen(query) : 0;
    char *copy = arena_alloc(a, qlen + 1);
    char *out = arena_alloc(a, qlen + 1);
    size_t npairs = 1;
    for (size_t i = 0; i < qlen; i++)
        npairs += query[i] == '&';
    const char **pairs = arena_alloc(a, npairs * sizeof *pairs);
    if (!copy || !out || !pairs)
        return nomem();
    memcpy(copy, query ? query : "", qlen + 1);
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
        pairs[n++] = p;
    qsort(pairs, n, sizeof *pairs, cmp_str);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(pairs[i]);
        if (i)
            out[off++] = '&';
        memcpy(out + off, pairs[i], l);
        off += l;
    }
    out[off] = '\0';
    *out_r = out;
    return E_OK;
}

static void body_hash(const void *body, size_t n, char hex[2 * SM3_LEN + 1])
{
    uint8_t h[SM3_LEN];
    sm3(body ? body : "", body ? n : 0, h);
    hex_encode(h, sizeof h, hex);
}

/* Join the lines with '\n' into one text in a. */
static err join(arena *a, const char *const *lines, size_t n, char **text_r, size_t *len_r)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(lines[i]) + (i ? 1 : 0);
    char *t = arena_alloc(a, len + 1);
    if (!t)
        return nomem();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            t[off++] = '\n';
        size_t l = strlen(lines[i]);
        memcpy(t + off, lines[i], l);
        off += l;
    }
    t[off] = '\0';
    *text_r = t;
    *len_r = len;
    return E_OK;
}

err exchange_canonical(arena *a, const char *method, const char *path, const char *query,
                       const void *body, size_t body_len, const char *caller, const char *timestamp,
                       const char *nonce, char **text_r, size_t *len_r)
{
    char *q = NULL;
    err e = sorted_query(a, query, &q);
    if (e)
        return e;
    char hash[2 * SM3_LEN + 1];
    body_hash(body, body_len, hash);
    const char *lines[] = {
        "FK-SM2-SM3", method ? method : "", path ? path : "",           q,
        hash,         caller ? caller : "", timestamp ? timestamp : "", nonce ? nonce : ""};
    return join(a, lines, sizeof lines / sizeof *lines, text_r, len_r);
}

err exchange_canonical_reply(arena *a, int status, const void *body, size_t body_len,
                             const char *nonce, const char *timestamp, char **text_r, size_t *len_r)
{
    char st[16], hash[2 * SM3_LEN + 1];
    snprintf(st, sizeof st, "%d", status);
    body_hash(body, body_len, hash);
    const char *lines[] = {"FK-SM2-SM3-REPLY", st, hash, nonce ? nonce : "",
                           timestamp ? timestamp : ""};
    return join(a, lines, sizeof lines / sizeof *lines, text_r, len_r);
}
