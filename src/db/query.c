/*
 * The bounded query builder (query.h).
 */
#include "db/query.h"

#include <string.h>

#include "base/log.h"
#include "base/paging.h"

void query_sql(struct query *q, const char *frag)
{
    size_t n = strlen(frag);
    if (q->full || q->len + n >= sizeof q->sql) {
        q->full = true;
        return;
    }
    memcpy(q->sql + q->len, frag, n + 1);
    q->len += n;
}

/* The next binding slot, or NULL (and the query full). */
static struct query_bind *slot(struct query *q, char kind)
{
    if (q->full || q->nb >= QUERY_BINDS_MAX) {
        q->full = true;
        return NULL;
    }
    struct query_bind *b = &q->b[q->nb++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

void query_int(struct query *q, int64_t v)
{
    struct query_bind *b = slot(q, 'i');
    if (b)
        b->i = v;
}

void query_double(struct query *q, double v)
{
    struct query_bind *b = slot(q, 'd');
    if (b)
        b->f = v;
}

void query_text(struct query *q, const char *s)
{
    struct query_bind *b = slot(q, s ? 't' : 'n');
    if (b)
        b->p = s;
}

void query_blob(struct query *q, const void *p, size_t n)
{
    struct query_bind *b = slot(q, 'b');
    if (b)
        b->p = p, b->n = n;
}

void query_append(struct query *dst, const struct query *src)
{
    if (src->full) {
        dst->full = true;
        return;
    }
    query_sql(dst, src->sql);
    for (int i = 0; i < src->nb; i++) {
        struct query_bind *b = slot(dst, src->b[i].kind);
        if (b)
            *b = src->b[i];
    }
}

/* The `?` placeholders of sql outside quoted literals and identifiers
 * (the drivers' rule for what is a placeholder). */
static int placeholders(const char *sql)
{
    int n = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote)
            quote = *p == quote ? 0 : quote; /* a doubled quote reopens at once */
        else if (*p == '\'' || *p == '"')
            quote = *p;
        else
            n += *p == '?';
    }
    return n;
}

err query_prepare(db *d, const struct query *q, db_stmt **s_r)
{
    if (q->full) {
        log_event(LOG_ERROR, "query_full", "sql", q->sql, NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    /* A check, not an assertion, so it holds in every build: a binding
     * short or over would shift every later value to another `?` (a
     * scope bound where a filter was meant), so a mismatch is refused,
     * not run. Fragments are the caller's literals: this is a bug, found
     * by the caller's tests as a 500. */
    if (placeholders(q->sql) != q->nb) {
        log_event(LOG_ERROR, "query_bindings_mismatch", "sql", q->sql, NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    db_stmt *s;
    err e = db_prepare(d, q->sql, &s);
    if (e)
        return e;
    for (int i = 0; i < q->nb; i++) {
        const struct query_bind *b = &q->b[i];
        switch (b->kind) {
        case 'i':
            db_bind_int64(s, i + 1, b->i);
            break;
        case 'd':
            db_bind_double(s, i + 1, b->f);
            break;
        case 't':
            db_bind_text(s, i + 1, b->p);
            break;
        case 'b':
            db_bind_blob(s, i + 1, b->p, b->n);
            break;
        default:
            db_bind_null(s, i + 1);
        }
    }
    *s_r = s;
    return E_OK;
}

err query_count(db *d, const struct query *q, int64_t *n_r)
{
    *n_r = 0;
    db_stmt *s;
    err e = query_prepare(d, q, &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)))
        *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

static int64_t count_cap = QUERY_COUNT_CAP_DEFAULT;

void query_count_cap_set(int64_t cap)
{
    count_cap = cap > 0 ? cap : QUERY_COUNT_CAP_DEFAULT;
}

int64_t query_count_cap(void)
{
    return count_cap;
}

#define COUNT_HEAD "SELECT COUNT(*) "

/* The count's FROM (" FROM t x ..."), or NULL when the count is not
 * written "SELECT COUNT(*) FROM ...". */
static const char *count_from(const char *count)
{
    size_t n = strlen(COUNT_HEAD);
    return count && !strncmp(count, COUNT_HEAD, n) && !strncmp(count + n, "FROM ", 5)
               ? count + n - 1
               : NULL;
}

static void append_order(struct query *q, const struct query_page *p)
{
    if (p->order_q)
        query_append(q, p->order_q);
    else
        query_sql(q, p->order);
}

err query_page(db *d, arena *a, const struct query *from_where, const struct query_page *p,
               void **items_r, size_t *n_r, int64_t *total_r)
{
    bool capping = p->count_cap > 0 && p->page_size > 0;
    const char *from = count_from(p->count);
    if ((capping || p->key || p->walk) && !from) {
        log_event(LOG_ERROR, "query_page_count", "sql", p->count, NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    struct query *q = arena_alloc(a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    if (capping) {
        query_sql(q, "SELECT COUNT(*) FROM (SELECT 1 AS one");
        query_sql(q, from);
        query_append(q, from_where);
        query_sql(q, " LIMIT ?) capped");
        query_int(q, p->count_cap + 1);
    } else {
        query_sql(q, p->count);
        query_append(q, from_where);
    }
    int64_t total, limit, offset, want;
    err e = query_count(d, q, &total);
    bool capped = capping && total > p->count_cap;
    /* past the cap the window does not know where the list ends: the page
     * is read and holds what it holds */
    if (!e)
        e = paging_window(capped ? INT64_MAX : total, p->page, p->page_size, p->max, &limit,
                          &offset, &want);
    if (e)
        return e;
    const struct query *w = capped && p->walk ? p->walk : from_where;
    char *items = arena_zalloc(a, (size_t)(want > 0 ? want : 1) * p->size);
    size_t n = 0;
    if (want > 0) {
        *q = (struct query)QUERY_INIT;
        if (p->select_q)
            query_append(q, p->select_q);
        else
            query_sql(q, p->select);
        if (p->key) {
            query_sql(q, " WHERE ");
            query_sql(q, p->key);
            query_sql(q, " IN (SELECT ");
            query_sql(q, p->key);
            query_sql(q, from);
        }
        query_append(q, w);
        append_order(q, p);
        query_sql(q, " LIMIT ? OFFSET ?");
        query_int(q, limit);
        query_int(q, offset);
        if (p->key) {
            query_sql(q, ")");
            append_order(q, p);
        }
        db_stmt *s;
        if ((e = query_prepare(d, q, &s)))
            return e;
        bool row;
        while ((int64_t)n < want && !(e = db_row(s, &row)) && row &&
               !(e = p->read(s, a, items + n * p->size, p->ctx)))
            n++;
        db_done(s);
        if (e)
            return e;
    }
    *items_r = items;
    *n_r = n;
    *total_r = capped ? p->count_cap : total;
    if (p->capped_r)
        *p->capped_r = capped;
    return E_OK;
}

/* query_page_json's reader: the row's object onto the array. */
struct json_rows {
    query_json_fn json;
    json_t *items;
};

static err json_row(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)item;
    struct json_rows *j = ctx;
    json_t *o;
    err e = j->json(a, s, &o);
    if (!e)
        json_array_append_new(j->items, o);
    return e;
}

err query_page_json(db *d, arena *a, const struct query *from_where, const struct query_page *p,
                    query_json_fn json, json_t **items_r, int64_t *total_r)
{
    struct json_rows j = {json, json_array()};
    struct query_page jp = *p;
    jp.size = 1; /* the rows go to j.items, not to query_page's items */
    jp.read = json_row;
    jp.ctx = &j;
    void *unused;
    size_t n;
    int64_t total;
    err e = query_page(d, a, from_where, &jp, &unused, &n, &total);
    if (e) {
        json_decref(j.items);
        return e;
    }
    *items_r = j.items;
    *total_r = total;
    return E_OK;
}

err query_one(db *d, arena *a, const struct query_one *p, void *item_r)
{
    const struct query *q = p->q;
    if (!q) {
        struct query *by_id = arena_alloc(a, sizeof *by_id);
        *by_id = (struct query)QUERY_INIT;
        query_sql(by_id, p->select);
        query_int(by_id, p->id);
        query_int(by_id, p->lo);
        query_int(by_id, p->hi);
        q = by_id;
    }
    db_stmt *s;
    err e = query_prepare(d, q, &s);
    if (e)
        return e;
    void *item = arena_zalloc(a, p->size ? p->size : 1);
    bool has;
    if (!(e = db_row(s, &has)) && has)
        e = p->read(s, a, item, p->ctx);
    db_done(s);
    if (e)
        return e;
    if (!has)
        return p->not_found ? p->not_found()
                            : err_set(E_NOT_FOUND, "not_found", "id", "%s", p->missing);
    memcpy(item_r, item, p->size);
    return E_OK;
}

const char *query_like_contains(arena *a, const char *text, bool fold)
{
    if (!text)
        text = "";
    char *out = arena_alloc(a, 2 * strlen(text) + 3), *o = out;
    *o++ = '%';
    for (const char *p = text; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = fold && *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

void query_blobs(struct query *q, const void *v, size_t size, int n)
{
    if (n < 1) {
        q->full = true; /* a bug of the caller's, refused by query_prepare */
        return;
    }
    query_sql(q, n == 1 ? " = ?" : " IN (?");
    for (int i = 1; i < n; i++)
        query_sql(q, ", ?");
    if (n > 1)
        query_sql(q, ")");
    for (int i = 0; i < n; i++)
        query_blob(q, (const uint8_t *)v + (size_t)i * size, size);
}
