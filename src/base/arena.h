/*
 * Request arena: memory whose lifetime is one request (or one job).
 *
 * Everything allocated from an arena is released together by arena_free();
 * nothing is freed piecemeal. Resources that are not memory (database
 * results, crypto contexts, jansson values) register a cleanup that runs, in
 * reverse order of registration, when the arena is freed. Allocation never
 * returns NULL: running out of memory aborts, as a half-built reply is worse
 * than a restarted worker (the supervisor restarts the process).
 */
#ifndef FK_BASE_ARENA_H
#define FK_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

/* A new arena whose first block holds `hint` bytes (0 for a default). */
arena *arena_new(size_t hint);

/* Run the cleanups, release every block, and set *ap to NULL. */
void arena_free(arena **ap);

/* Release everything but keep the first block, for reuse by the next request. */
void arena_reset(arena *a);

/* `n` bytes aligned for any type; zeroed by arena_zalloc. */
void *arena_alloc(arena *a, size_t n);
void *arena_zalloc(arena *a, size_t n);

char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
void *arena_memdup(arena *a, const void *p, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);
/* Concatenate strings up to a NULL; for SQL assembled from fixed fragments
 * (never values), where printf would hide what is spliced in. */
char *arena_concat(arena *a, const char *first, ...) __attribute__((sentinel));

/* Call fn(p) when the arena is freed or reset. */
void arena_on_free(arena *a, void (*fn)(void *), void *p);

/* Bytes handed out since creation or the last reset (for metrics and tests). */
size_t arena_used(const arena *a);

#endif
