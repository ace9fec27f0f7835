/*
 * The one error type of fangkong.
 *
 * A function that can fail returns an `err`; E_OK (zero) means success, so
 * callers propagate with `if ((e = f()) != E_OK) return e;`. The code says
 * which class of failure happened (and therefore which HTTP status answers
 * it, mapped once in http/status.c); the detail (a stable machine slug, a
 * Chinese message users can read, and for input errors the offending field)
 * is kept per thread, like errno, and is set with err_set() at the point where
 * the failure is understood. Each event loop is one thread serving one request
 * at a time, so the detail cannot be overwritten by another request.
 */
#ifndef FK_BASE_ERROR_H
#define FK_BASE_ERROR_H

#include <stdbool.h>
#include <stdint.h>

typedef enum err {
    E_OK = 0,
    E_INPUT,             /* 400: the request is malformed or a field is invalid */
    E_AUTH,              /* 401: not signed in, session expired, bad credentials */
    E_FORBIDDEN,         /* 403: signed in, but the role lacks the permission */
    E_NOT_FOUND,         /* 404: no such record, or outside the caller's scope */
    E_METHOD,            /* 405: the path exists but not with this method */
    E_TIMEOUT,           /* 408: the client was too slow sending the request */
    E_CONFLICT,          /* 409: duplicate, or a state that forbids the change */
    E_TOO_LARGE,         /* 413: the body exceeds the route's limit */
    E_URI_TOO_LONG,      /* 414: the URL exceeds the limit */
    E_HEADERS_TOO_LARGE, /* 431: the request headers exceed the limit */
    E_UNSUPPORTED,       /* 415: content type other than JSON */
    E_LOCKED,            /* 423: the account is locked after failed sign-ins */
    E_RATE,              /* 429: too many attempts from this address or phone */
    E_NOMEM,             /* 500: out of memory */
    E_DB,                /* 500: the database failed (detail is logged, never sent) */
    E_CRYPTO,            /* 500: a cryptographic primitive failed */
    E_IO,                /* 500: a file or socket operation failed */
    E_INTERNAL,          /* 500: a bug: an invariant did not hold */
    E_UNAVAILABLE,       /* 503: shutting down or a dependency is down */
    E__COUNT
} err;

/* Further input errors reported with the first (err_add), at most this many. */
#define ERR_MORE_MAX 15

struct err_more {
    char slug[48];
    char message[160];
    char field[64];
};

/* The detail of the last error set on this thread. */
struct err_detail {
    err code;
    char slug[48];     /* stable machine code, e.g. "invalid_id_number" */
    char message[256]; /* Chinese, for the user; never a path, SQL or version */
    char field[64];    /* the input field at fault, or "" */
    int64_t ref;       /* an id that accompanies the error (409: existing record) */
    /* other fields at fault in the same input, so a form can mark them all
     * at once; only for E_INPUT with a field, each field once */
    int nmore;
    struct err_more more[ERR_MORE_MAX];
};

/*
 * Every function returning err that a header declares carries MUST_USE: an
 * error silently dropped is a write that did not happen or a row that was
 * not read, with nobody told. A call that ignores one on purpose says so
 * with a (void) cast and a comment.
 */
#define MUST_USE __attribute__((warn_unused_result))

/* Drop an err on purpose, with a comment at the call saying why. GCC does
 * not let a (void) cast silence warn_unused_result, hence a function. */
static inline void err_ignore(err e)
{
    (void)e;
}

/*
 * Record the detail of an error and return its code, so a failing function
 * can `return err_set(E_INPUT, "invalid_phone", "phone", "手机号码格式不正确");`.
 * `field` may be NULL. The message is a printf format.
 */
err err_set(err code, const char *slug, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5))) MUST_USE;

/*
 * Collect the input errors of several fields: with prev == E_OK this is
 * err_set; otherwise, when prev is E_INPUT with a field and `field` is
 * another field not yet reported, the error is added to the detail's list
 * of further errors and prev is returned unchanged. A check function that
 * looks at every field goes `e = err_add(e, E_INPUT, "too_long", "name",
 * …)` and returns e at the end.
 */
err err_add(err prev, err code, const char *slug, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6))) MUST_USE;

/*
 * Between err_collect_begin() and err_collect_end(), an err_set of an
 * E_INPUT error with a field, while the detail already holds an E_INPUT
 * error of another field, is added to the list (as err_add) instead of
 * replacing the first: a check that goes on after a failing field, calling
 * checkers that use err_set, reports every field at once. Begin forgets
 * the previous detail. Not nested.
 */
void err_collect_begin(void);
void err_collect_end(void);
/* Is this thread collecting (between begin and end)? A check that collects
 * on its own begins only when its caller does not. */
bool err_collecting(void);

/* As err_set, and attach a record id (for 409 duplicates). */
err err_set_ref(err code, const char *slug, int64_t ref, const char *fmt, ...)
    __attribute__((format(printf, 4, 5))) MUST_USE;

/* The detail of the last error on this thread (never NULL). */
const struct err_detail *err_last(void);

/* Forget the detail (the start of each request). */
void err_clear(void);

/* Put back a detail saved with `struct err_detail kept = *err_last();`: a
 * clean-up that may fail on its own (a ROLLBACK after a failed COMMIT)
 * must not replace the error the caller reports. */
void err_restore(const struct err_detail *kept);

/*
 * A full disk (issue 15): a write failed because the storage is out of
 * space (SQLite's SQLITE_FULL, PostgreSQL's SQLSTATE 53100, ENOSPC or
 * EDQUOT on a journal, backup or export file). Returns E_UNAVAILABLE
 * "disk_full" (503) with the message operators' users read; the caller
 * has rolled back or removes what it half wrote. Logs one line "disk_full"
 * (where: what failed) at most once a minute with the number of writes
 * refused since the last line, not one per request. Thread-safe.
 */
err err_disk_full(const char *where) MUST_USE;

/* Is errno value e a full filesystem (ENOSPC, EDQUOT)? */
bool err_errno_disk_full(int e);

/* Writes refused for a full disk since the start, and the CLOCK_MONOTONIC
 * second of the last one (0: never): the /metrics gauge fangkong_disk_full
 * and its alert read them. */
uint64_t err_disk_full_count(void);
int64_t err_disk_full_last(void);

/* The default slug and Chinese message for a code, when none was set. */
const char *err_slug(err code);
const char *err_message(err code);

#endif
