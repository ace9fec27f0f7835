/*
 * A bump allocator over a chain of blocks, with cleanup callbacks.
 */
#include "base/arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN         16
#define DEFAULT_BLOCK 8192

struct block {
    struct block *next;
    size_t size, used;
    _Alignas(ALIGN) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *p;
};

struct arena {
    struct block *head;  /* current block; older blocks follow */
    struct block *first; /* kept across resets */
    struct cleanup *cleanups;
    size_t used;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("{\"level\":\"fatal\",\"msg\":\"out of memory\"}\n", stderr);
        abort();
    }
    return p;
}

static struct block *block_new(size_t size)
{
    /* kept in release builds: a size near SIZE_MAX (a length from a
     * request) must not wrap into a small block that is then overrun */
    if (size > SIZE_MAX - sizeof(struct block)) {
        fputs("{\"level\":\"fatal\",\"msg\":\"arena block size overflows\"}\n", stderr);
        abort();
    }
    struct block *b = xmalloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

arena *arena_new(size_t hint)
{
    arena *a = xmalloc(sizeof *a);
    a->first = a->head = block_new(hint ? hint : DEFAULT_BLOCK);
    a->cleanups = NULL;
    a->used = 0;
    return a;
}

static void run_cleanups(arena *a)
{
    while (a->cleanups) {
        struct cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->p);
    }
}

void arena_reset(arena *a)
{
    run_cleanups(a);
    struct block *b = a->head;
    while (b != a->first) {
        assert(b); /* first is always the chain's last block */
        struct block *next = b->next;
        free(b);
        b = next;
    }
    a->head = a->first;
    a->first->used = 0;
    a->used = 0;
}

void arena_free(arena **ap)
{
    arena *a = *ap;
    if (!a)
        return;
    arena_reset(a);
    free(a->first);
    free(a);
    *ap = NULL;
}

void *arena_alloc(arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n)
        abort(); /* overflow */
    struct block *b = a->head;
    if (b->size - b->used < need) {
        size_t size = b->size * 2;
        if (size < need)
            size = need;
        b = block_new(size);
        b->next = a->head;
        a->head = b;
    }
    assert(b->size - b->used >= need);
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
}

void *arena_zalloc(arena *a, size_t n)
{
    return memset(arena_alloc(a, n), 0, n);
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void *arena_memdup(arena *a, const void *p, size_t n)
{
    return memcpy(arena_alloc(a, n ? n : 1), p, n);
}

char *arena_vprintf(arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

char *arena_concat(arena *a, const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        n += strlen(s);
    va_end(ap);
    char *out = arena_alloc(a, n + 1), *o = out;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        size_t k = strlen(s);
        memcpy(o, s, k);
        o += k;
    }
    va_end(ap);
    *o = '\0';
    return out;
}

void arena_on_free(arena *a, void (*fn)(void *), void *p)
{
    struct cleanup *c = arena_alloc(a, sizeof *c);
    c->fn = fn;
    c->p = p;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t arena_used(const arena *a)
{
    return a->used;
}
