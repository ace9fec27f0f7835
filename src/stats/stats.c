/*
 * Maintained counters (stats.h): the registry of measures, the upsert that
 * keeps a counter inside the writer's transaction, the range sums every
 * figure is read with, and the recount that checks them.
 */
#include "stats/stats.h"

#include "base/grow.h"
#include "base/regcode.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry is written at start-up and read by every loop; a capability
 * whose writes also run in tools that never call app_routes (the demo, unit
 * tests) registers lazily from its write path, so the table takes a lock. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct stats_measure *reg[STATS_MEASURES_MAX];
static size_t reg_n;

static bool name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return false;
    return true;
}

static const struct stats_measure *find_locked(const char *name)
{
    for (size_t i = 0; i < reg_n; i++)
        if (!strcmp(reg[i]->name, name))
            return reg[i];
    return NULL;
}

/* The family whose member `name` is ("<family>.<digits>"), its key in
 * *key_r; NULL when none. */
static const struct stats_measure *family_of(const char *name, int64_t *key_r)
{
    const char *dot = strrchr(name, '.');
    if (!dot || !dot[1] || strlen(dot + 1) > 18 || dot - name >= 64)
        return NULL;
    int64_t key = 0;
    for (const char *p = dot + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return NULL;
        key = key * 10 + (*p - '0');
    }
    char fam[64];
    memcpy(fam, name, (size_t)(dot - name));
    fam[dot - name] = 0;
    pthread_mutex_lock(&reg_lock);
    const struct stats_measure *m = find_locked(fam);
    pthread_mutex_unlock(&reg_lock);
    if (!m || !m->family)
        return NULL;
    *key_r = key;
    return m;
}

err stats_measure_register(const struct stats_measure *m)
{
    if (!m || !name_ok(m->name) || !m->label || !m->recount_sql)
        return err_set(E_INTERNAL, NULL, NULL, "统计指标的定义不完整：%s",
                       m && m->name ? m->name : "(null)");
    err e = E_OK;
    pthread_mutex_lock(&reg_lock);
    const struct stats_measure *old = find_locked(m->name);
    if (old == m)
        ; /* the same definition again: a capability registering lazily */
    else if (old)
        e = err_set(E_INTERNAL, NULL, NULL, "统计指标重复注册：%s", m->name);
    else if (reg_n == STATS_MEASURES_MAX)
        e = err_set(E_INTERNAL, NULL, NULL, "统计指标过多（最多 %d 个）", STATS_MEASURES_MAX);
    else
        reg[reg_n++] = m;
    pthread_mutex_unlock(&reg_lock);
    return e;
}

const struct stats_measure *stats_measure_find(const char *name)
{
    if (!name)
        return NULL;
    pthread_mutex_lock(&reg_lock);
    const struct stats_measure *m = find_locked(name);
    pthread_mutex_unlock(&reg_lock);
    return m && !m->family ? m : NULL;
}

/* Every registered measure, families too (verify), or only the others. */
static size_t measures_all(const struct stats_measure **out, size_t max, bool families)
{
    pthread_mutex_lock(&reg_lock);
    size_t n = 0;
    for (size_t i = 0; i < reg_n && n < max; i++)
        if (families || !reg[i]->family)
            out[n++] = reg[i];
    pthread_mutex_unlock(&reg_lock);
    return n;
}

size_t stats_measures(const struct stats_measure **out, size_t max)
{
    return measures_all(out, max, false);
}

/* A counter's street (the rollup's region, stats.h): its ancestor at the
 * street level, or the code itself when it lies at the street or above. */
static int64_t street_of(int64_t region_code)
{
    return regcode_at_most(region_code, LEVEL_STREET);
}

/* Add delta to a leaf counter, or (street) to the rollup row of its street. */
static err upsert(db *d, bool street, const char *measure, int64_t region_code, int64_t day,
                  int64_t delta)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        street ? "INSERT INTO street_counters (measure, region_code, day, n) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (measure, region_code, day) DO UPDATE SET n = street_counters.n + "
                 "excluded.n"
               : "INSERT INTO counters (measure, region_code, day, n) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (measure, region_code, day) DO UPDATE SET n = counters.n + "
                 "excluded.n",
        &s);
    if (e)
        return e;
    db_bind_text(s, 1, measure);
    db_bind_int64(s, 2, street ? street_of(region_code) : region_code);
    db_bind_int64(s, 3, day);
    db_bind_int64(s, 4, delta);
    return db_run(s, NULL);
}

/* ---- deferred counters (a bulk writer's batch) ----------------------------------- */

#define DEFER_SLOTS 4096 /* a power of two; a batch's distinct counters stay well below */

struct pending {
    const struct stats_measure *m; /* NULL: a free slot */
    int64_t key;                   /* a family's member; 0 otherwise */
    int64_t region_code, day, delta;
    bool street; /* the street rollup (region_code the street's) */
};

static _Thread_local struct {
    db *d;
    struct pending *slots; /* DEFER_SLOTS */
    size_t n;
} deferred;

err stats_defer_begin(db *d)
{
    if (!deferred.slots && !(deferred.slots = calloc(DEFER_SLOTS, sizeof *deferred.slots)))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    deferred.d = d;
    return E_OK;
}

void stats_defer_end(db *d)
{
    if (deferred.d != d)
        return;
    free(deferred.slots);
    deferred.slots = NULL;
    deferred.d = NULL;
    deferred.n = 0;
}

err stats_defer_flush(db *d)
{
    if (deferred.d != d || !deferred.n)
        return E_OK;
    err e = E_OK;
    for (size_t i = 0; i < DEFER_SLOTS; i++) {
        struct pending *p = &deferred.slots[i];
        if (!p->m)
            continue;
        /* a net zero still upserts: the counter row exists as it would
         * after the +1 and the -1 one by one */
        char name[96];
        if (p->m->family)
            snprintf(name, sizeof name, "%s.%lld", p->m->name, (long long)p->key);
        if (!e)
            e = upsert(d, p->street, p->m->family ? name : p->m->name, p->region_code, p->day,
                       p->delta);
        *p = (struct pending){0};
    }
    deferred.n = 0;
    return e;
}

/* Add delta to the batch's counter (room was checked: at most half full). */
static void defer_add(const struct stats_measure *m, int64_t key, bool street, int64_t region_code,
                      int64_t day, int64_t delta)
{
    if (street)
        region_code = street_of(region_code);
    uint64_t h = ((uint64_t)(uintptr_t)m * 0x9E3779B97F4A7C15u) ^ (uint64_t)street ^
                 ((uint64_t)region_code * 0xC2B2AE3D27D4EB4Fu) ^
                 ((uint64_t)day * 0x165667B19E3779F9u) ^ ((uint64_t)key * 0x27D4EB2F165667C5u);
    for (size_t i = (size_t)(h ^ (h >> 29)) & (DEFER_SLOTS - 1);; i = (i + 1) & (DEFER_SLOTS - 1)) {
        struct pending *p = &deferred.slots[i];
        if (!p->m) {
            *p = (struct pending){m, key, region_code, day, delta, street};
            deferred.n++;
            return;
        }
        if (p->m == m && p->key == key && p->street == street && p->region_code == region_code &&
            p->day == day) {
            p->delta += delta;
            return;
        }
    }
}

/* stats_on_add's subscriber: set once at start-up, before any writer */
static void (*on_add)(db *d, int64_t region_code);

err stats_on_add(void (*fn)(db *d, int64_t region_code))
{
    if (on_add && on_add != fn)
        return err_set(E_INTERNAL, NULL, NULL, "统计计数的订阅者已存在");
    on_add = fn;
    return E_OK;
}

err stats_leaves(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day,
                 void (*fn)(int64_t region_code, int64_t n, void *ctx), void *ctx)
{
    db_stmt *s;
    /* counters_by_day (measure, day, region_code, n): the index alone */
    err e = db_prepare(d,
                       "SELECT region_code, n FROM counters WHERE measure = ? AND day = ? AND "
                       "region_code >= ? AND region_code < ? AND n <> 0 ORDER BY region_code",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, measure);
    db_bind_int64(s, 2, day);
    db_bind_int64(s, 3, lo);
    db_bind_int64(s, 4, hi);
    bool row;
    while (!(e = db_row(s, &row)) && row)
        fn(db_col_int64(s, 0), db_col_int64(s, 1), ctx);
    db_done(s);
    return e;
}

err stats_add(db *d, const char *measure, int64_t region_code, int64_t day, int64_t delta)
{
    int64_t key = 0;
    const struct stats_measure *m = stats_measure_find(measure);
    if (!m && measure)
        m = family_of(measure, &key);
    if (!m)
        return err_set(E_INTERNAL, NULL, NULL, "未注册的统计指标：%s",
                       measure ? measure : "(null)");
    if (m->level ? day != STATS_NOW : day <= STATS_NOW)
        return err_set(E_INTERNAL, NULL, NULL, "统计指标 %s 的日期不正确：%lld", measure,
                       (long long)day);
    /* a counter moved outside the change it counts could commit without it */
    if (!db_in_tx(d))
        return err_set(E_INTERNAL, NULL, NULL, "统计计数必须在写入的事务中更新：%s", measure);
    if (!delta)
        return E_OK;
    if (on_add)
        on_add(d, region_code);
    /* a batch's table half full: written at once (sums commute) */
    if (deferred.d == d && d && deferred.n + 4 <= DEFER_SLOTS / 2) {
        for (int street = 0; street < 2; street++) {
            defer_add(m, key, street, region_code, day, delta);
            if (!m->level)
                defer_add(m, key, street, region_code, STATS_NOW, delta);
        }
        return E_OK;
    }
    err e = E_OK;
    /* the leaf counter and its street's rollup; for a flow also the totals
     * over every day, so a cumulative figure is one range over the leaf
     * regions (or the streets) rather than over all their days */
    for (int street = 0; street < 2 && !e; street++) {
        e = upsert(d, street, measure, region_code, day, delta);
        if (!e && !m->level)
            e = upsert(d, street, measure, region_code, STATS_NOW, delta);
    }
    return e;
}

/* Does [lo, hi) read from the street rollup? The range of one region at the
 * street level or above: the streets' rows in it hold every leaf counter of
 * it (a leaf below a street is rolled into that street, one at the street
 * or above into itself), so it reads a row per street, not per leaf. */
static bool by_street(int64_t lo, int64_t hi)
{
    enum region_level lv = regcode_level(lo);
    return lv && lv <= LEVEL_STREET && hi == regcode_end(lo);
}

err stats_sum(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day_from, int64_t day_to,
              int64_t *sum_r)
{
    db_stmt *s;
    bool street = by_street(lo, hi);
    /* one range of counters_by_day (sql/018), which holds n: measure and
     * day fixed, region_code in [lo, hi), or a window of days whose
     * regions are filtered from the same entries */
    static const char *const sql[2][2] = {
        {"SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM counters WHERE measure = ? AND day = ? "
         "AND region_code >= ? AND region_code < ?",
         "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM counters WHERE measure = ? AND day >= ? "
         "AND day <= ? AND region_code >= ? AND region_code < ?"},
        {"SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM street_counters WHERE measure = ? AND "
         "day = ? AND region_code >= ? AND region_code < ?",
         "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM street_counters WHERE measure = ? AND "
         "day >= ? AND day <= ? AND region_code >= ? AND region_code < ?"},
    };
    err e = db_prepare(d, sql[street][day_from != day_to], &s);
    if (e)
        return e;
    int i = 1;
    db_bind_text(s, i++, measure);
    db_bind_int64(s, i++, day_from);
    if (day_from != day_to)
        db_bind_int64(s, i++, day_to);
    db_bind_int64(s, i++, lo);
    db_bind_int64(s, i, hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *sum_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err stats_series(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day_from,
                 int64_t day_to, int64_t *out)
{
    if (day_to < day_from)
        return err_set(E_INTERNAL, NULL, NULL, "统计区间的结束早于开始");
    db_stmt *s;
    err e = db_prepare(
        d,
        by_street(lo, hi)
            ? "SELECT day, CAST(SUM(n) AS BIGINT) FROM street_counters WHERE measure = ? AND "
              "region_code >= ? AND region_code < ? AND day >= ? AND day <= ? GROUP BY day"
            : "SELECT day, CAST(SUM(n) AS BIGINT) FROM counters WHERE measure = ? AND "
              "region_code >= ? AND region_code < ? AND day >= ? AND day <= ? GROUP BY day",
        &s);
    if (e)
        return e;
    db_bind_text(s, 1, measure);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    db_bind_int64(s, 4, day_from);
    db_bind_int64(s, 5, day_to);
    int64_t n = day_to - day_from + 1;
    int64_t *tmp = calloc((size_t)n, sizeof *tmp);
    if (!tmp) {
        db_done(s);
        return E_NOMEM;
    }
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t day = db_col_int64(s, 0);
        if (day >= day_from && day <= day_to)
            tmp[day - day_from] = db_col_int64(s, 1);
    }
    db_done(s);
    if (!e) /* outputs untouched on failure */
        memcpy(out, tmp, (size_t)n * sizeof *out);
    free(tmp);
    return e;
}

/* ---- verify ------------------------------------------------------------------ */

struct cell {
    int64_t key; /* a family's member; 0 otherwise */
    int64_t region, day, n;
};

struct cells {
    struct cell *v;
    size_t n, cap;
};

/* Rows in one verify: far more than the leaf regions times the days of a
 * few years of one measure; past it verify fails rather than grow. */
#define STATS_VERIFY_CELLS_MAX 50000000u

static err cells_push(struct cells *c, int64_t key, int64_t region, int64_t day, int64_t n)
{
    if (c->n == c->cap && 2 * c->cap > STATS_VERIFY_CELLS_MAX) /* the next capacity */
        return err_set(E_INTERNAL, NULL, NULL, "统计核对的行数超过上限");
    if (!GROW(&c->v, &c->cap, c->n, 1, 256))
        return E_NOMEM;
    c->v[c->n++] = (struct cell){key, region, day, n};
    return E_OK;
}

static int cell_cmp(const void *a, const void *b)
{
    const struct cell *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->region != y->region)
        return x->region < y->region ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return 0;
}

/* The key of a family member's counter name "<family>.<key>" (0 when the
 * text after the last dot is not a number: no member, never compared
 * equal to a recount's positive key). */
static int64_t key_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    int64_t k = 0;
    for (const char *p = dot ? dot + 1 : ""; *p; p++) {
        if (*p < '0' || *p > '9' || k > INT64_MAX / 10 - 10)
            return 0;
        k = k * 10 + (*p - '0');
    }
    return k;
}

/* Sort cells and merge those of one (key, region, day). */
static void cells_merge(struct cells *c)
{
    if (c->n)
        qsort(c->v, c->n, sizeof *c->v, cell_cmp);
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (w && !cell_cmp(&c->v[w - 1], &c->v[i]))
            c->v[w - 1].n += c->v[i].n;
        else
            c->v[w++] = c->v[i];
    }
    c->n = w;
}

/* Rows (region, day, n) of a prepared statement, summed per (region, day)
 * (a recount may give one cell in several rows), sorted. `keyed`: rows
 * (key, region, day, n), a family's recount (key an integer) or its
 * counters (key the counter's name). With `totals` (a flow's recount)
 * each region's total over its days is added at day STATS_NOW, as
 * stats_add keeps it. */
static err cells_load(db_stmt *s, bool totals, int keyed, struct cells *c)
{
    bool row;
    err e;
    int o = keyed ? 1 : 0;
    while (!(e = db_row(s, &row)) && row) {
        int64_t key = keyed == 1 ? db_col_int64(s, 0) : keyed == 2 ? key_of(db_col_text(s, 0)) : 0;
        if ((e = cells_push(c, key, db_col_int64(s, o), db_col_int64(s, o + 1),
                            db_col_int64(s, o + 2))))
            break;
    }
    db_done(s);
    if (e)
        return e;
    for (size_t i = 0, n = c->n; totals && i < n; i++)
        if ((e = cells_push(c, c->v[i].key, c->v[i].region, STATS_NOW, c->v[i].n)))
            return e;
    cells_merge(c);
    return E_OK;
}

static err counter_set(db *d, bool street, const char *measure, int64_t region, int64_t day,
                       int64_t n)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        street ? "INSERT INTO street_counters (measure, region_code, day, n) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (measure, region_code, day) DO UPDATE SET n = excluded.n"
               : "INSERT INTO counters (measure, region_code, day, n) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (measure, region_code, day) DO UPDATE SET n = excluded.n",
        &s);
    if (e)
        return e;
    db_bind_text(s, 1, measure);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, day);
    db_bind_int64(s, 4, n);
    return db_run(s, NULL);
}

/* The counters of m as stored, leaf (street false) or the street rollup. */
static err have_load(db *d, const struct stats_measure *m, bool street, struct cells *have)
{
    static const char *const sql[2][2] = {
        {"SELECT region_code, day, n FROM counters WHERE measure = ?",
         "SELECT measure, region_code, day, n FROM counters WHERE substr(measure, 1, ?) = ?"},
        {"SELECT region_code, day, n FROM street_counters WHERE measure = ?",
         "SELECT measure, region_code, day, n FROM street_counters WHERE substr(measure, 1, ?) = "
         "?"},
    };
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s.", m->name);
    db_stmt *s;
    err e = db_prepare(d, sql[street][m->family], &s);
    if (e)
        return e;
    if (m->family) {
        db_bind_int64(s, 1, (int64_t)strlen(prefix));
        db_bind_text(s, 2, prefix);
    } else {
        db_bind_text(s, 1, m->name);
    }
    return cells_load(s, false, m->family ? 2 : 0, have);
}

/* Compare the counters `have` with the recount `want` (both sorted), each
 * difference reported and, with fix, rewritten. */
static err compare(db *d, const struct stats_measure *m, bool street, const struct cells *have,
                   const struct cells *want, bool fix,
                   void (*report)(const char *, int64_t, int64_t, int64_t, int64_t, void *),
                   void *ctx, int64_t *diff)
{
    err e = E_OK;
    size_t i = 0, j = 0;
    while (!e && (i < have->n || j < want->n)) {
        int c = i == have->n ? 1 : j == want->n ? -1 : cell_cmp(&have->v[i], &want->v[j]);
        struct cell k = c <= 0 ? have->v[i] : want->v[j];
        int64_t h = c <= 0 ? have->v[i++].n : 0;
        int64_t w = c >= 0 ? want->v[j++].n : 0;
        if (h == w)
            continue;
        (*diff)++;
        char name[96], shown[104];
        if (m->family)
            snprintf(name, sizeof name, "%s.%lld", m->name, (long long)k.key);
        else
            snprintf(name, sizeof name, "%s", m->name);
        /* a rollup's difference names its table */
        snprintf(shown, sizeof shown, "%s%s", name, street ? "@street" : "");
        if (report)
            report(shown, k.region, k.day, h, w, ctx);
        if (fix)
            e = counter_set(d, street, name, k.region, k.day, w);
    }
    return e;
}

static err verify_one(db *d, const struct stats_measure *m, bool fix,
                      void (*report)(const char *, int64_t, int64_t, int64_t, int64_t, void *),
                      void *ctx, int64_t *diff)
{
    struct cells want = {0}, have = {0}, street = {0};
    db_stmt *s;
    err e = db_prepare(d, m->recount_sql, &s);
    if (!e)
        e = cells_load(s, !m->level, m->family ? 1 : 0, &want);
    if (!e)
        e = have_load(d, m, false, &have);
    if (!e)
        e = compare(d, m, false, &have, &want, fix, report, ctx, diff);
    /* the street rollup: the same recount summed per street */
    for (size_t i = 0; !e && i < want.n; i++)
        e = cells_push(&street, want.v[i].key, street_of(want.v[i].region), want.v[i].day,
                       want.v[i].n);
    if (!e) {
        cells_merge(&street);
        have.n = 0;
        e = have_load(d, m, true, &have);
    }
    if (!e)
        e = compare(d, m, true, &have, &street, fix, report, ctx, diff);
    free(want.v);
    free(have.v);
    free(street.v);
    return e;
}

err stats_verify(db *d, bool fix,
                 void (*report)(const char *measure, int64_t region, int64_t day, int64_t have,
                                int64_t want, void *ctx),
                 void *ctx, int64_t *diff_r)
{
    const struct stats_measure *ms[STATS_MEASURES_MAX];
    size_t n = measures_all(ms, STATS_MEASURES_MAX, true);
    bool outer = !db_in_tx(d);
    /* One transaction: the recount and the counters are read at the same
     * moment (SQLite: the write lock; PostgreSQL: one snapshot, so a
     * concurrent stats_add on a repaired row fails the repair rather than
     * being overwritten). */
    err e = db_begin(d);
    if (e)
        return e;
    if (outer && db_kind(d) == DB_POSTGRES &&
        (e = db_exec(d, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")))
        goto fail;
    int64_t diff = 0;
    for (size_t i = 0; i < n && !e; i++)
        e = verify_one(d, ms[i], fix, report, ctx, &diff);
    if (e)
        goto fail;
    if (fix) {
        if ((e = db_commit(d)))
            goto fail;
    } else {
        db_rollback(d);
    }
    *diff_r = diff;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}
