/*
 * The contact-tracing engine (trace.h "contact tracing"; docs/tracing.md):
 * the rules, the window of a run (trace_plan), the search (trace_compute)
 * and the writing of its findings (trace_run_store).
 *
 * The search is a handful of index range reads on one snapshot:
 *   - the case's passages: access_records (person_id, at, venue_id, direction);
 *   - each of the case's visits: the passages at its venue around it,
 *     access_records (venue_id, at, person_id, direction);
 *   - household (persons_household), building (persons_region), trips by
 *     number and day (trips_out_number / trips_back_number), plate reads
 *     (vehicle_passages_plate_bidx);
 *   - degree 2: each close contact's passages, merged per venue into
 *     disjoint intervals, each interval read once.
 * Nothing here is per contact × visit: the people found go into one hash
 * map (person id → contact), and the statements come from the
 * connection's cache (prepared once, re-bound for each range).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/catchup.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/fields.h"
#include "person/person.h"
#include "trace/trace.h"

/* ---- vocabularies -------------------------------------------------------------------- */

static const struct vocab_word classes[] = {
    [TRACE_CLOSE] = {"close", "密接"},
    [TRACE_SECONDARY] = {"secondary", "次密接"},
    [TRACE_GENERAL] = {"general", "一般接触"},
};
const struct vocab trace_class_vocab = VOCAB("trace_classes", "接触者分类", classes);
_Static_assert(sizeof classes / sizeof classes[0] == TRACE_CLASS__COUNT, "a word for every class");

static const struct vocab_word reason_kinds[] = {
    [TRACE_R_VENUE] = {"venue", "同场所停留"},   [TRACE_R_HOUSEHOLD] = {"household", "同户"},
    [TRACE_R_BUILDING] = {"building", "同楼栋"}, [TRACE_R_TRAVEL] = {"travel", "同航班/车次"},
    [TRACE_R_VEHICLE] = {"vehicle", "同车"},     [TRACE_R_NAMED] = {"named", "病例自述"},
};
const struct vocab trace_reason_vocab = VOCAB("trace_reason_kinds", "接触原因", reason_kinds);
_Static_assert(sizeof reason_kinds / sizeof reason_kinds[0] == TRACE_R__COUNT,
               "a word for every reason kind");

/* ---- rules ----------------------------------------------------------------------------- */

static const struct rule_def {
    const char *key;
    size_t offset; /* of an int, or of a bool when is_bool */
    bool is_bool;
    int min, max;
    const char *label;
} rule_defs[] = {
    {"lookback_days", offsetof(struct trace_rules, lookback_days), false, 1, 21, "追溯天数"},
    {"window_minutes", offsetof(struct trace_rules, window_minutes), false, 1, 240,
     "同时停留判定窗口（分钟）"},
    {"close_overlap_minutes", offsetof(struct trace_rules, close_overlap_minutes), false, 1, 240,
     "密接判定停留时长（分钟）"},
    {"close_crowd_max", offsetof(struct trace_rules, close_crowd_max), false, 0, 100000,
     "密接判定同场出入人次上限"},
    {"seat_rows", offsetof(struct trace_rules, seat_rows), false, 0, 30, "同航班/车次密接座位排数"},
    {"passenger_minutes", offsetof(struct trace_rules, passenger_minutes), false, 1, 60,
     "同车判定时间（分钟）"},
    {"building", offsetof(struct trace_rules, building), true, 0, 1, "同楼栋居民列为一般接触"},
    {"auto", offsetof(struct trace_rules, automatic), true, 0, 1, "确诊后自动追踪"},
};
#define N_RULES (sizeof rule_defs / sizeof rule_defs[0])

static void rule_put(struct trace_rules *r, const struct rule_def *d, int64_t v)
{
    char *p = (char *)r + d->offset;
    if (d->is_bool)
        *(bool *)p = v != 0;
    else
        *(int *)p = (int)v;
}

static int64_t rule_get(const struct trace_rules *r, const struct rule_def *d)
{
    const char *p = (const char *)r + d->offset;
    return d->is_bool ? *(const bool *)p : *(const int *)p;
}

err trace_rules_load(db *d, struct trace_rules *r_r)
{
    struct trace_rules r = {.lookback_days = 4,
                            .window_minutes = 30,
                            .close_overlap_minutes = 15,
                            .close_crowd_max = 200,
                            .seat_rows = 3,
                            .passenger_minutes = 5,
                            .automatic = true};
    db_stmt *s;
    err e = db_prepare(d, "SELECT key, value FROM trace_rules", &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *k = db_col_text(s, 0);
        for (size_t i = 0; i < N_RULES; i++)
            if (!strcmp(k, rule_defs[i].key))
                rule_put(&r, &rule_defs[i], db_col_int64(s, 1));
    }
    db_done(s);
    if (!e)
        *r_r = r;
    return e;
}

err trace_rules_apply_json(json_t *body, struct trace_rules *r)
{
    struct trace_rules n = *r;
    for (size_t i = 0; i < N_RULES; i++) {
        const struct rule_def *d = &rule_defs[i];
        json_t *v = json_object_get(body, d->key);
        if (!v)
            continue;
        int64_t x;
        if (d->is_bool && json_is_boolean(v))
            x = json_is_true(v);
        else if (json_is_integer(v))
            x = json_integer_value(v);
        else
            return err_set(E_INPUT, "invalid_type", d->key, "%s应为%s", d->label,
                           d->is_bool ? "true 或 false" : "整数");
        if (x < d->min || x > d->max)
            return err_set(E_INPUT, "out_of_range", d->key, "%s应在%d到%d之间", d->label, d->min,
                           d->max);
        rule_put(&n, d, x);
    }
    *r = n;
    return E_OK;
}

err trace_rules_save(db *d, const struct trace_rules *r, int64_t user_id)
{
    err e = E_OK;
    int64_t now = now_ms();
    for (size_t i = 0; i < N_RULES && !e; i++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "UPDATE trace_rules SET value = ?, updated_by = ?, updated_at = ? "
                            "WHERE key = ?",
                            &s)))
            break;
        db_bind_int64(s, 1, rule_get(r, &rule_defs[i]));
        db_bind_int64(s, 2, user_id);
        db_bind_int64(s, 3, now);
        db_bind_text(s, 4, rule_defs[i].key);
        e = db_run(s, NULL);
    }
    return e;
}

json_t *trace_rules_json(const struct trace_rules *r)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_RULES; i++) {
        const struct rule_def *d = &rule_defs[i];
        json_object_set_new(
            o, d->key, d->is_bool ? json_boolean(rule_get(r, d)) : json_integer(rule_get(r, d)));
    }
    return o;
}

/* ---- pure parts ----------------------------------------------------------------------- */

static int interval_cmp(const void *a, const void *b)
{
    const struct trace_interval *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : (x->hi > y->hi) - (x->hi < y->hi);
}

size_t trace_intervals_merge(struct trace_interval *iv, size_t n)
{
    if (n < 2)
        return n;
    qsort(iv, n, sizeof *iv, interval_cmp);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (iv[i].lo <= iv[k].hi) {
            if (iv[i].hi > iv[k].hi)
                iv[k].hi = iv[i].hi;
        } else
            iv[++k] = iv[i];
    }
    return k + 1;
}

int trace_seat_row(const char *seat)
{
    int row = 0, digits = 0;
    for (; seat && *seat >= '0' && *seat <= '9' && digits < 4; seat++, digits++)
        row = row * 10 + (*seat - '0');
    return digits ? row : 0;
}

int64_t trace_overlap_ms(int64_t lo1, int64_t hi1, int64_t lo2, int64_t hi2)
{
    int64_t lo = lo1 > lo2 ? lo1 : lo2, hi = hi1 < hi2 ? hi1 : hi2;
    return hi > lo ? hi - lo : 0;
}

/* ---- the window -------------------------------------------------------------------------- */

#define MINUTE_MS 60000LL

/* One int64 from a single-row query binding person_id (and `at` when at >= 0):
 * 0 when NULL or no row. */
static err min_time(db *d, const char *sql, int64_t person_id, int64_t at, int64_t *v_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    if (at >= 0)
        db_bind_int64(s, 2, at);
    bool row;
    if (!(e = db_row(s, &row)))
        *v_r = row && !db_col_null(s, 0) ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

static bool is_case_status(const char *st)
{
    return !strcmp(st, person_status_name(PERSON_SUSPECTED)) ||
           !strcmp(st, person_status_name(PERSON_CONFIRMED)) ||
           !strcmp(st, person_status_name(PERSON_ASYMPTOMATIC));
}

static err window_check(int64_t from, int64_t to)
{
    if (from > to)
        return err_set(E_INPUT, "invalid_range", "to", "结束时间不能早于开始时间");
    if (to - from > TRACE_WINDOW_MAX_DAYS * DAY_MS)
        return err_set(E_INPUT, "invalid_window", "to", "追踪时间范围不能超过%d天",
                       TRACE_WINDOW_MAX_DAYS);
    return E_OK;
}

err trace_plan(db *d, const struct scope *sc, const struct trace_request *in, int64_t now,
               struct trace_plan *p_r)
{
    struct trace_plan p = {.person_id = in->person_id, .degree = in->degree};
    if (in->degree != 1 && in->degree != 2)
        return err_set(E_INPUT, "invalid_degree", "degree", "追踪度数只能是 1 或 2");
    if (in->window_minutes && (in->window_minutes < 1 || in->window_minutes > 240))
        return err_set(E_INPUT, "out_of_range", "window_minutes",
                       "同时停留判定窗口应在1到240分钟之间");
    if (in->from < 0 || in->to < 0)
        return err_set(E_INPUT, "invalid_time", in->from < 0 ? "from" : "to", "时间不正确");
    err e;
    if (in->from && in->to && (e = window_check(in->from, in->to)))
        return e;
    if ((e = trace_rules_load(d, &p.rules)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT region_code, status FROM persons WHERE id = ? AND deleted_at = 0 "
                        "AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, in->person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row, is_case = false;
    if (!(e = db_row(s, &row)) && row) {
        p.region_code = db_col_int64(s, 0);
        is_case = is_case_status(db_col_text(s, 1));
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", "person_id", "人员不存在或不在您的管辖范围内");
    if (!is_case)
        return err_set(E_CONFLICT, "not_a_case", "person_id",
                       "该人员不是疑似、确诊或无症状感染者，不能发起密接追踪");
    p.window_minutes = in->window_minutes ? in->window_minutes : p.rules.window_minutes;
    p.from = in->from;
    if (!p.from) {
        int64_t onset = 0;
        /* the onset the investigation records, preferred over
         * the first positive test */
        int32_t day = 0;
        if ((e = investigation_onset(d, in->person_id, &day)))
            return e;
        char text[11];
        if (day)
            field_date_format(day, text);
        if (day && !china_time_parse(text, &onset))
            onset = 0;
        if (!onset && (e = min_time(d,
                                    "SELECT MIN(sampled_at) FROM test_results WHERE person_id = ? "
                                    "AND result = 'positive'",
                                    in->person_id, -1, &onset)))
            return e;
        if (!onset) {
            db_stmt *q;
            if ((e = db_prepare(d,
                                "SELECT MIN(at) FROM status_changes WHERE person_id = ? AND "
                                "to_status IN (?, ?, ?)",
                                &q)))
                return e;
            db_bind_int64(q, 1, in->person_id);
            db_bind_text(q, 2, person_status_name(PERSON_SUSPECTED));
            db_bind_text(q, 3, person_status_name(PERSON_CONFIRMED));
            db_bind_text(q, 4, person_status_name(PERSON_ASYMPTOMATIC));
            if (!(e = db_row(q, &row)))
                onset = row && !db_col_null(q, 0) ? db_col_int64(q, 0) : 0;
            db_done(q);
            if (e)
                return e;
        }
        p.from = (onset ? onset : now) - p.rules.lookback_days * DAY_MS;
    }
    p.to = in->to;
    if (!p.to) {
        int64_t iso = 0, obs = 0;
        if ((e = min_time(d,
                          "SELECT MIN(start_at) FROM isolations WHERE person_id = ? AND "
                          "start_at >= ?",
                          in->person_id, p.from, &iso)) ||
            (e = min_time(d,
                          "SELECT MIN(start_at) FROM observations WHERE person_id = ? AND "
                          "start_at >= ?",
                          in->person_id, p.from, &obs)))
            return e;
        p.to = iso && (!obs || iso < obs) ? iso : obs;
        if (!p.to || p.to > now)
            p.to = now;
    }
    if ((e = window_check(p.from, p.to)))
        return e;
    *p_r = p;
    return E_OK;
}

/* ---- the people found ------------------------------------------------------------------- */

/* person id → index into r->items + 1 (0: empty slot); open addressing */
struct people {
    int64_t *keys;
    uint32_t *vals;
    size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static err people_grow(struct people *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    int64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return E_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->vals[i])
            continue;
        size_t j = mix((uint64_t)m->keys[i]) & (cap - 1);
        while (vals[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return E_OK;
}

/* the slot of key: its value 0 when absent */
static uint32_t *people_slot(struct people *m, int64_t key)
{
    size_t j = mix((uint64_t)key) & (m->cap - 1);
    while (m->vals[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = key;
    return &m->vals[j];
}

static void people_free(struct people *m)
{
    free(m->keys);
    free(m->vals);
    *m = (struct people){0};
}

/* the search's state */
struct search {
    db *d;
    const struct trace_plan *p;
    struct trace_result *r;
    struct people seen; /* every contact, and the case (value UINT32_MAX) */
    int64_t w_ms;
    struct vec *sort_tmp; /* passages_sort's scratch */
};

static int class_rank(enum trace_class c)
{
    return c == TRACE_CLOSE ? 1 : c == TRACE_SECONDARY ? 2 : 3;
}

/*
 * Record that `person` is a contact of degree `degree` (via: the degree-1
 * contact behind a degree-2 one) of class cls for reason rs. A person
 * already found keeps one entry: the reason is appended, the stronger class
 * kept; the case and people of a lower degree are left as they are.
 * E_NOMEM.
 */
static err found(struct search *s, int64_t person, int degree, int64_t via, enum trace_class cls,
                 const struct trace_reason *rs)
{
    if (person <= 0)
        return E_OK;
    if ((s->seen.n + 1) * 2 > s->seen.cap) {
        err e = people_grow(&s->seen);
        if (e)
            return e;
    }
    uint32_t *slot = people_slot(&s->seen, person);
    struct trace_result *r = s->r;
    struct trace_contact *c;
    if (*slot == UINT32_MAX)
        return E_OK; /* the case */
    if (*slot) {
        c = &r->items[*slot - 1];
        if (c->degree < degree)
            return E_OK;
    } else {
        if (r->n >= TRACE_CONTACTS_MAX) {
            r->truncated = true;
            return E_OK;
        }
        if (!GROW(&r->items, &r->cap, r->n, 1, 256))
            return E_NOMEM;
        c = &r->items[r->n++];
        *c = (struct trace_contact){.person_id = person,
                                    .degree = degree,
                                    .via_person_id = via,
                                    .cls = cls,
                                    .first_at = rs->from};
        *slot = (uint32_t)r->n;
        s->seen.n++;
    }
    if (class_rank(cls) < class_rank(c->cls)) {
        c->cls = cls;
        if (degree == 2)
            c->via_person_id = via;
    }
    if (rs->from && (!c->first_at || rs->from < c->first_at))
        c->first_at = rs->from;
    if (rs->kind == TRACE_R_VENUE)
        c->overlap_minutes += rs->overlap_minutes;
    if (!GROW(&c->reasons, &c->cap_reasons, c->n_reasons, 1, 2))
        return E_NOMEM;
    c->reasons[c->n_reasons++] = *rs;
    return E_OK;
}

/* ---- passages and visits ------------------------------------------------------------------ */

struct passage {
    int64_t key; /* the venue (a person's passages) or the person (a venue's) */
    int64_t at;
    bool in;
};

struct visit {
    int64_t key, lo, hi;
    size_t owner;  /* degree 2: the contact (index into r->items) */
    int64_t crowd; /* degree 2: others' passages there during it (the crowd rule) */
};

struct vec {
    void *p;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (!grow_room(&v->p, &v->cap, v->n, 1, v->size, 64))
        return NULL;
    return (char *)v->p + v->size * v->n++;
}

/*
 * Items of `size` bytes whose first member is an int64_t key, sorted by key
 * keeping their order among equal keys: a stable LSD radix sort over the
 * bytes where the keys differ, insertion sort when short. Passages read in
 * time order so come out by key, then time: the venue ranges of a run are
 * sorted thousands of times, and qsort's calls through a comparator were a
 * third of a run. tmp: scratch, grown as needed. E_NOMEM.
 */
static err sort_by_key(void *items, size_t n, size_t size, struct vec *tmp)
{
    char *p = items;
    assert(size <= 64);
#define KEY(x) (*(const int64_t *)(const void *)(x))
    if (n < 48) {
        char x[64];
        for (size_t i = 1; i < n; i++) {
            memcpy(x, p + i * size, size);
            size_t j = i;
            for (; j > 0 && KEY(p + (j - 1) * size) > KEY(x); j--)
                memcpy(p + j * size, p + (j - 1) * size, size);
            memcpy(p + j * size, x, size);
        }
        return E_OK;
    }
    if (tmp->cap * tmp->size < n * size) {
        void *q = realloc(tmp->p, n * size);
        if (!q)
            return E_NOMEM;
        tmp->p = q;
        tmp->cap = n * size / tmp->size;
    }
    uint64_t all_or = 0, all_and = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        all_or |= (uint64_t)KEY(p + i * size);
        all_and &= (uint64_t)KEY(p + i * size);
    }
    uint64_t differ = all_or ^ all_and;
    char *from = p, *to = tmp->p;
    for (int shift = 0; shift < 64; shift += 8) {
        if (!((differ >> shift) & 0xFF))
            continue;
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)KEY(from + i * size) >> shift) & 0xFF) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            memcpy(to + count[((uint64_t)KEY(from + i * size) >> shift) & 0xFF]++ * size,
                   from + i * size, size);
        char *t = from;
        from = to;
        to = t;
    }
#undef KEY
    if (from != p)
        memcpy(p, from, n * size);
    return E_OK;
}

static err passages_sort(struct passage *p, size_t n, struct vec *tmp)
{
    return sort_by_key(p, n, sizeof *p, tmp);
}

#define VISIT_MAX_MS (12 * 3600 * 1000LL) /* an out later than this closes no visit */

/*
 * Visits from passages sorted by (key, at): an `in` with the next `out` of
 * the same key within VISIT_MAX_MS, else [in, in + w]; a lone `out` is
 * [out - w, out]. Appended to out (struct visit, owner 0). E_NOMEM.
 */
static err visits_of(const struct passage *ps, size_t n, int64_t w_ms, struct vec *out)
{
    for (size_t i = 0; i < n; i++) {
        struct visit *v = vec_push(out);
        if (!v)
            return E_NOMEM;
        *v = (struct visit){.key = ps[i].key};
        if (!ps[i].in) {
            v->lo = ps[i].at - w_ms;
            v->hi = ps[i].at;
        } else if (i + 1 < n && ps[i + 1].key == ps[i].key && !ps[i + 1].in &&
                   ps[i + 1].at - ps[i].at <= VISIT_MAX_MS) {
            v->lo = ps[i].at;
            v->hi = ps[i + 1].at;
            i++;
        } else {
            v->lo = ps[i].at;
            v->hi = ps[i].at + w_ms;
        }
    }
    return E_OK;
}

/* Passages of one person in [from, to] (key: the venue), appended to out. */
static err person_passages(struct search *s, int64_t person, int64_t from, int64_t to,
                           struct vec *out)
{
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT venue_id, at, direction FROM access_records WHERE person_id = ? "
                       "AND at >= ? AND at <= ? ORDER BY at",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, person);
    db_bind_int64(q, 2, from);
    db_bind_int64(q, 3, to);
    bool row;
    while (!(e = db_row(q, &row)) && row) {
        struct passage *ps = vec_push(out);
        if (!ps) {
            e = E_NOMEM;
            break;
        }
        *ps = (struct passage){db_col_int64(q, 0), db_col_int64(q, 1),
                               !strcmp(db_col_text(q, 2), "in")};
        s->r->rows_read++;
    }
    db_done(q);
    return e;
}

/* Passages at one venue in [from, to] (key: the person), into out (reset). */
static err venue_passages(struct search *s, int64_t venue, int64_t from, int64_t to,
                          struct vec *out)
{
    out->n = 0;
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT person_id, at, direction FROM access_records WHERE venue_id = ? "
                       "AND at >= ? AND at <= ? ORDER BY at",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, venue);
    db_bind_int64(q, 2, from);
    db_bind_int64(q, 3, to);
    bool row;
    while (!(e = db_row(q, &row)) && row) {
        int64_t person = db_col_int64(q, 0);
        s->r->rows_read++;
        if (!person)
            continue; /* a passage without a person record */
        struct passage *ps = vec_push(out);
        if (!ps) {
            e = E_NOMEM;
            break;
        }
        *ps = (struct passage){person, db_col_int64(q, 1), !strcmp(db_col_text(q, 2), "in")};
    }
    db_done(q);
    if (!e)
        e = passages_sort(out->p, out->n, s->sort_tmp);
    return e;
}

/* The reason "at venue v from lo to hi, overlapping `ov` ms" */
static struct trace_reason venue_reason(int64_t venue, int64_t lo, int64_t hi, int64_t ov)
{
    return (struct trace_reason){.kind = TRACE_R_VENUE,
                                 .venue_id = venue,
                                 .from = lo,
                                 .to = hi,
                                 .overlap_minutes = (int)(ov / MINUTE_MS)};
}

/* ---- degree 1 --------------------------------------------------------------------------- */

/* One co-visitor of a case's visit while its range is classified. */
struct near {
    int64_t person, ov, lo, hi;
};

/*
 * The co-visitors of the case's visit cv: everyone with a passage at its
 * venue within [lo - w, hi + w], with their overlap. Close when the overlap
 * reaches close_overlap_minutes and the visit's crowd — the passages of
 * others at the venue during it — is no more than close_crowd_max (a
 * station at rush hour is not proximity), else general. ps, vs, near:
 * scratch.
 */
static err co_visitors(struct search *s, const struct visit *cv, struct vec *ps, struct vec *vs,
                       struct vec *near)
{
    err e = venue_passages(s, cv->key, cv->lo - s->w_ms, cv->hi + s->w_ms, ps);
    const struct passage *p = ps->p;
    int64_t close_ms = s->p->rules.close_overlap_minutes * MINUTE_MS, crowd = 0;
    near->n = 0;
    for (size_t i = 0; !e && i < ps->n;) {
        size_t j = i;
        while (j < ps->n && p[j].key == p[i].key)
            j++;
        if (p[i].key == s->p->person_id) {
            i = j;
            continue;
        }
        for (size_t k = i; k < j; k++)
            crowd += p[k].at >= cv->lo && p[k].at <= cv->hi;
        vs->n = 0;
        if ((e = visits_of(p + i, j - i, s->w_ms, vs)))
            break;
        const struct visit *v = vs->p;
        struct near *x = vec_push(near);
        if (!x)
            return E_NOMEM;
        *x = (struct near){.person = p[i].key, .lo = INT64_MAX};
        for (size_t k = 0; k < vs->n; k++) {
            int64_t o = trace_overlap_ms(v[k].lo, v[k].hi, cv->lo, cv->hi);
            x->ov += o;
            int64_t a = o ? (v[k].lo > cv->lo ? v[k].lo : cv->lo) : v[k].lo,
                    b = o ? (v[k].hi < cv->hi ? v[k].hi : cv->hi) : v[k].hi;
            if (a < x->lo)
                x->lo = a;
            if (b > x->hi)
                x->hi = b;
        }
        i = j;
    }
    bool crowded = s->p->rules.close_crowd_max && crowd > s->p->rules.close_crowd_max;
    const struct near *n = near->p;
    for (size_t i = 0; !e && i < near->n; i++) {
        struct trace_reason rs = venue_reason(cv->key, n[i].lo, n[i].hi, n[i].ov);
        rs.crowd = (int)crowd;
        e = found(s, n[i].person, 1, 0,
                  n[i].ov >= close_ms && !crowded ? TRACE_CLOSE : TRACE_GENERAL, &rs);
    }
    return e;
}

/* The members of a household (not the person given): the same household
 * text inside the same community, since a household number such as
 * "1单元1203" repeats in every community while its members may be
 * registered at the community, a grid or a building below it. */
static err household_of(struct search *s, int64_t person, int degree, int64_t via,
                        enum trace_class cls)
{
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT household, region_code FROM persons WHERE id = ? AND "
                       "household <> ''",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, person);
    bool row;
    char household[257] = ""; /* 64 characters (person.c) of up to 4 bytes */
    int64_t region = 0;
    if (!(e = db_row(q, &row)) && row) {
        snprintf(household, sizeof household, "%s", db_col_text(q, 0));
        region = db_col_int64(q, 1);
    }
    db_done(q);
    if (e || !household[0])
        return e;
    int64_t lo = regcode_at_most(region, LEVEL_COMMUNITY);
    /* `household <> ''` lets the partial index persons_household serve */
    if ((e = db_prepare(s->d,
                        "SELECT id FROM persons WHERE household = ? AND household <> '' AND "
                        "region_code >= ? AND region_code < ? AND deleted_at = 0",
                        &q)))
        return e;
    db_bind_text(q, 1, household);
    db_bind_int64(q, 2, lo);
    db_bind_int64(q, 3, regcode_end(lo));
    struct trace_reason rs = {.kind = TRACE_R_HOUSEHOLD};
    while (!(e = db_row(q, &row)) && row) {
        int64_t id = db_col_int64(q, 0);
        if (id != person && (e = found(s, id, degree, via, cls, &rs)))
            break;
    }
    db_done(q);
    return e;
}

static err building_of(struct search *s)
{
    if (!s->p->rules.building || regcode_level(s->p->region_code) != LEVEL_BUILDING)
        return E_OK;
    db_stmt *q;
    err e = db_prepare(s->d, "SELECT id FROM persons WHERE region_code = ? AND deleted_at = 0", &q);
    if (e)
        return e;
    db_bind_int64(q, 1, s->p->region_code);
    struct trace_reason rs = {.kind = TRACE_R_BUILDING};
    bool row;
    while (!(e = db_row(q, &row)) && row)
        if ((e = found(s, db_col_int64(q, 0), 1, 0, TRACE_GENERAL, &rs)))
            break;
    db_done(q);
    return e;
}

/* epoch ms of the China midnight that begins yyyymmdd */
static int64_t day_ms(int32_t yyyymmdd)
{
    char t[11];
    int64_t day = 0;
    field_date_format(yyyymmdd, t);
    if (!china_date_day(t, &day))
        return 0;
    return day * DAY_MS - CHINA_OFFSET_MS;
}

struct leg {
    char number[TRIP_NUMBER_MAX];
    char seat[TRIP_SEAT_MAX + 1];
    int32_t day;
};

/* Fellow travellers of one leg: both directions of other trips. */
static err fellows(struct search *s, const struct leg *l)
{
    static const char *const sql[2] = {
        "SELECT person_id, out_seat FROM trips WHERE out_number = ? AND departed_on = ? AND "
        "deleted_at = 0 AND out_mode IN ('flight', 'train')",
        "SELECT person_id, back_seat FROM trips WHERE back_number = ? AND returned_on = ? AND "
        "deleted_at = 0 AND back_mode IN ('flight', 'train')",
    };
    int my_row = trace_seat_row(l->seat);
    err e = E_OK;
    for (int k = 0; k < 2 && !e; k++) {
        db_stmt *q;
        if ((e = db_prepare(s->d, sql[k], &q)))
            break;
        db_bind_text(q, 1, l->number);
        db_bind_int64(q, 2, l->day);
        bool row;
        while (!(e = db_row(q, &row)) && row) {
            int64_t id = db_col_int64(q, 0);
            if (id == s->p->person_id)
                continue;
            struct trace_reason rs = {.kind = TRACE_R_TRAVEL, .from = day_ms(l->day)};
            snprintf(rs.number, sizeof rs.number, "%s", l->number);
            snprintf(rs.seat, sizeof rs.seat, "%s", db_col_text(q, 1));
            int row2 = trace_seat_row(rs.seat), dr = row2 - my_row;
            bool close = my_row && row2 && (dr < 0 ? -dr : dr) <= s->p->rules.seat_rows;
            if ((e = found(s, id, 1, 0, close ? TRACE_CLOSE : TRACE_GENERAL, &rs)))
                break;
        }
        db_done(q);
    }
    return e;
}

static err travellers(struct search *s)
{
    int32_t d1 = china_date(s->p->from), d2 = china_date(s->p->to);
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT out_mode, out_number, out_seat, departed_on, back_mode, "
                       "back_number, back_seat, returned_on FROM trips WHERE person_id = ? AND "
                       "deleted_at = 0 AND departed_on <= ?",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, s->p->person_id);
    db_bind_int64(q, 2, d2);
    struct leg legs[64];
    size_t n = 0;
    bool row;
    while (!(e = db_row(q, &row)) && row) {
        for (int k = 0; k < 2 && n < sizeof legs / sizeof *legs; k++) {
            const char *mode = db_col_text(q, k * 4), *number = db_col_text(q, k * 4 + 1);
            int32_t day = (int32_t)db_col_int64(q, k * 4 + 3);
            if ((strcmp(mode, "flight") && strcmp(mode, "train")) || !*number || day < d1 ||
                day > d2)
                continue;
            snprintf(legs[n].number, sizeof legs[n].number, "%s", number);
            snprintf(legs[n].seat, sizeof legs[n].seat, "%s", db_col_text(q, k * 4 + 2));
            legs[n++].day = day;
        }
    }
    db_done(q);
    for (size_t i = 0; i < n && !e; i++)
        e = fellows(s, &legs[i]);
    return e;
}

/* People passing the venue of a plate read of the case's vehicles within
 * ± passenger_minutes. */
static err passengers(struct search *s, struct vec *ps)
{
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT r.venue_id, r.at FROM vehicles v JOIN vehicle_passages r ON "
                       "r.plate_bidx = v.plate_bidx WHERE v.owner_person_id = ? AND "
                       "v.deleted_at = 0 AND v.plate_bidx IS NOT NULL AND r.at >= ? AND r.at <= ?",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, s->p->person_id);
    db_bind_int64(q, 2, s->p->from);
    db_bind_int64(q, 3, s->p->to);
    struct vec reads = {.size = sizeof(struct visit)};
    bool row;
    while (!(e = db_row(q, &row)) && row) {
        struct visit *v = vec_push(&reads);
        if (!v) {
            e = E_NOMEM;
            break;
        }
        *v = (struct visit){.key = db_col_int64(q, 0), .lo = db_col_int64(q, 1)};
    }
    db_done(q);
    int64_t p_ms = s->p->rules.passenger_minutes * MINUTE_MS;
    const struct visit *v = reads.p;
    for (size_t i = 0; i < reads.n && !e; i++) {
        if ((e = venue_passages(s, v[i].key, v[i].lo - p_ms, v[i].lo + p_ms, ps)))
            break;
        const struct passage *p = ps->p;
        struct trace_reason rs = {
            .kind = TRACE_R_VEHICLE, .venue_id = v[i].key, .from = v[i].lo, .to = v[i].lo};
        for (size_t k = 0; k < ps->n && !e; k++)
            if (p[k].key != s->p->person_id)
                e = found(s, p[k].key, 1, 0, TRACE_CLOSE, &rs);
    }
    free(reads.p);
    return e;
}

/* ---- degree 2 --------------------------------------------------------------------------- */

static int visit_cmp(const void *a, const void *b)
{
    const struct visit *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* A person's overlap with one close contact's visit, while a range is read. */
struct acc {
    int64_t ov, lo, hi;
};

/* The first of sv (n, sorted by start) starting at or after `from`: a visit
 * of a person is compared only with the contacts' visits from the one
 * starting `longest` (the longest of them) before it to the last starting
 * before it ends, so a busy venue's day costs its rows, not rows × contacts. */
static size_t first_from(const struct visit *sv, size_t n, int64_t from)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (sv[mid].lo < from)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

/*
 * One range [lo, hi] of a venue read once: the people there (not the case,
 * not degree 1) whose overlap with one of the n close contacts' visits sv
 * (sorted by start; none crowded) reaches the close threshold are
 * secondary, via the contact with the longest overlap. acc: n accumulators,
 * zero, left zero.
 */
static err group_read(struct search *s, const struct visit *sv, size_t n, int64_t lo, int64_t hi,
                      struct vec *ps, struct vec *vs, struct acc *acc, size_t *touched)
{
    struct trace_result *r = s->r;
    int64_t close_ms = s->p->rules.close_overlap_minutes * MINUTE_MS, longest = 0;
    for (size_t k = 0; k < n; k++)
        if (sv[k].hi - sv[k].lo > longest)
            longest = sv[k].hi - sv[k].lo;
    err e = venue_passages(s, sv[0].key, lo, hi, ps);
    const struct passage *p = ps->p;
    for (size_t i = 0; i < ps->n && !e;) {
        size_t j = i;
        while (j < ps->n && p[j].key == p[i].key)
            j++;
        uint32_t *slot = people_slot(&s->seen, p[i].key);
        bool known = *slot && (*slot == UINT32_MAX || r->items[*slot - 1].degree == 1);
        if (!known) {
            vs->n = 0;
            if ((e = visits_of(p + i, j - i, s->w_ms, vs)))
                break;
            const struct visit *v = vs->p;
            size_t nt = 0;
            for (size_t m = 0; m < vs->n; m++)
                for (size_t k = first_from(sv, n, v[m].lo - longest); k < n && sv[k].lo < v[m].hi;
                     k++) {
                    int64_t o = trace_overlap_ms(v[m].lo, v[m].hi, sv[k].lo, sv[k].hi);
                    if (!o)
                        continue;
                    int64_t l2 = v[m].lo > sv[k].lo ? v[m].lo : sv[k].lo,
                            h2 = v[m].hi < sv[k].hi ? v[m].hi : sv[k].hi;
                    if (!acc[k].ov) {
                        touched[nt++] = k;
                        acc[k].lo = l2;
                        acc[k].hi = h2;
                    }
                    acc[k].ov += o;
                    if (l2 < acc[k].lo)
                        acc[k].lo = l2;
                    if (h2 > acc[k].hi)
                        acc[k].hi = h2;
                }
            size_t best = SIZE_MAX;
            for (size_t t = 0; t < nt; t++) {
                if (best == SIZE_MAX || acc[touched[t]].ov > acc[best].ov)
                    best = touched[t];
            }
            if (best != SIZE_MAX && acc[best].ov >= close_ms) {
                struct trace_reason rs =
                    venue_reason(sv[0].key, acc[best].lo, acc[best].hi, acc[best].ov);
                rs.crowd = (int)sv[best].crowd;
                e = found(s, p[i].key, 2, r->items[sv[best].owner].person_id, TRACE_SECONDARY, &rs);
            }
            for (size_t t = 0; t < nt; t++)
                acc[touched[t]] = (struct acc){0};
        }
        i = j;
    }
    return e;
}

/*
 * The crowd rule for degree 2, asked before anything is read: the passages
 * of others than `person` at `venue` in [lo, hi], counted by the database up
 * to max + 1 (the index range is walked no further), so a visit to a busy
 * venue costs max + 1 index entries instead of its hour's thousands of rows.
 */
static err crowd_of(struct search *s, int64_t venue, int64_t lo, int64_t hi, int64_t person,
                    int64_t max, int64_t *n_r)
{
    db_stmt *q;
    err e = db_prepare(s->d,
                       "SELECT COUNT(*) FROM (SELECT 1 FROM access_records WHERE venue_id = ? "
                       "AND at >= ? AND at <= ? AND person_id <> ? LIMIT ?) x",
                       &q);
    if (e)
        return e;
    db_bind_int64(q, 1, venue);
    db_bind_int64(q, 2, lo);
    db_bind_int64(q, 3, hi);
    db_bind_int64(q, 4, person);
    db_bind_int64(q, 5, max + 1);
    bool row;
    *n_r = 0;
    if (!(e = db_row(q, &row)) && row)
        *n_r = db_col_int64(q, 0);
    db_done(q);
    s->r->rows_read += *n_r;
    return e;
}

/*
 * The close degree-1 contacts' visits from their first exposure, the crowded
 * ones left out (crowd_of), per venue in disjoint groups (each visit widened by w, overlapping ones
 * merged); each group's passages read once; a person whose overlap with one of the group's visits
 * reaches the close threshold is secondary, via the contact with the longest overlap.
 */
static err degree_two(struct search *s, struct vec *ps, struct vec *vs)
{
    struct trace_result *r = s->r;
    size_t n1 = r->n;
    struct vec src = {.size = sizeof(struct visit)};
    struct vec mine = {.size = sizeof(struct passage)};
    err e = E_OK;
    for (size_t i = 0; i < n1 && !e && !r->truncated; i++) {
        if (r->items[i].cls != TRACE_CLOSE)
            continue;
        int64_t from = r->items[i].first_at ? r->items[i].first_at : s->p->from;
        mine.n = 0;
        if ((e = person_passages(s, r->items[i].person_id, from, s->p->to, &mine)))
            break;
        if ((e = passages_sort(mine.p, mine.n, s->sort_tmp)))
            break;
        size_t before = src.n;
        if ((e = visits_of(mine.p, mine.n, s->w_ms, &src)))
            break;
        for (size_t k = before; k < src.n; k++)
            ((struct visit *)src.p)[k].owner = i;
        /* the household of a close contact */
        if ((e = household_of(s, r->items[i].person_id, 2, r->items[i].person_id, TRACE_SECONDARY)))
            break;
    }
    free(mine.p);
    struct visit *sv = src.p;
    if (!e && src.n)
        qsort(sv, src.n, sizeof *sv, visit_cmp);
    /* the crowd rule: a crowded visit makes nobody secondary, so it is not read */
    int64_t crowd_max = s->p->rules.close_crowd_max;
    size_t kept = 0;
    for (size_t k = 0; crowd_max && k < src.n && !e; k++) {
        e = crowd_of(s, sv[k].key, sv[k].lo, sv[k].hi, r->items[sv[k].owner].person_id, crowd_max,
                     &sv[k].crowd);
        if (!e && sv[k].crowd <= crowd_max)
            sv[kept++] = sv[k];
    }
    if (crowd_max && !e)
        src.n = kept;
    /* per venue, the visits widened by w merged into disjoint ranges
     * (sv is sorted by venue, then start: each range takes the next visits) */
    struct trace_interval *iv = src.n ? malloc(src.n * sizeof *iv) : NULL;
    struct acc *acc = src.n ? calloc(src.n, sizeof *acc) : NULL;
    size_t *touched = src.n ? malloc(src.n * sizeof *touched) : NULL;
    if (!e && src.n && (!iv || !acc || !touched))
        e = E_NOMEM;
    /* at the cap nobody more is kept: reading on would only cost time */
    for (size_t v0 = 0; v0 < src.n && !e && !r->truncated;) {
        size_t v1 = v0;
        while (v1 < src.n && sv[v1].key == sv[v0].key)
            v1++;
        for (size_t k = v0; k < v1; k++)
            iv[k - v0] = (struct trace_interval){sv[k].lo - s->w_ms, sv[k].hi + s->w_ms};
        size_t nr = trace_intervals_merge(iv, v1 - v0), g = v0;
        for (size_t m = 0; m < nr && !e && !r->truncated; m++) {
            size_t h = g;
            while (h < v1 && sv[h].lo - s->w_ms <= iv[m].hi)
                h++;
            e = group_read(s, sv + g, h - g, iv[m].lo, iv[m].hi, ps, vs, acc, touched);
            g = h;
        }
        v0 = v1;
    }
    free(iv);
    free(acc);
    free(touched);
    free(src.p);
    return e;
}

/* ---- the run ------------------------------------------------------------------------------ */

/* IDS_BATCH ids bound in one statement */
#define IDS8      "?, ?, ?, ?, ?, ?, ?, ?"
#define IDS64     IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8
#define IDS256    IDS64 ", " IDS64 ", " IDS64 ", " IDS64
#define IDS_BATCH 256

/* Each contact's residence, IDS_BATCH people a statement (one round trip
 * each on PostgreSQL) in id order (neighbours share the table's pages);
 * people no longer live are dropped. */
static err residences(struct search *s)
{
    struct trace_result *r = s->r;
    struct pid {
        int64_t id; /* the sort key: first */
        size_t i;
    } *ids = r->n ? malloc(r->n * sizeof *ids) : NULL;
    if (r->n && !ids)
        return E_NOMEM;
    for (size_t i = 0; i < r->n; i++) {
        ids[i] = (struct pid){r->items[i].person_id, i};
        r->items[i].region_code = 0;
    }
    err e = sort_by_key(ids, r->n, sizeof *ids, s->sort_tmp);
    for (size_t i = 0; i < r->n && !e; i += IDS_BATCH) {
        db_stmt *q;
        if ((e = db_prepare(s->d,
                            "SELECT id, region_code FROM persons WHERE deleted_at = 0 AND id IN "
                            "(" IDS256 ") ORDER BY id",
                            &q)))
            break;
        for (size_t k = 0; k < IDS_BATCH; k++)
            db_bind_int64(q, (int)k + 1, i + k < r->n ? ids[i + k].id : 0);
        bool row;
        size_t k = i;
        while (!(e = db_row(q, &row)) && row) {
            int64_t id = db_col_int64(q, 0);
            while (k < r->n && ids[k].id < id)
                k++;
            if (k < r->n && ids[k].id == id)
                r->items[ids[k].i].region_code = db_col_int64(q, 1);
        }
        db_done(q);
    }
    free(ids);
    if (e)
        return e;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->items[i].region_code)
            r->items[k++] = r->items[i];
        else
            free(r->items[i].reasons);
    }
    r->n = k;
    return E_OK;
}

static int contact_cmp(const void *a, const void *b)
{
    const struct trace_contact *x = a, *y = b;
    if (x->degree != y->degree)
        return x->degree - y->degree;
    if (x->cls != y->cls)
        return class_rank(x->cls) - class_rank(y->cls);
    if (x->first_at != y->first_at)
        return x->first_at < y->first_at ? -1 : 1;
    return (x->person_id > y->person_id) - (x->person_id < y->person_id);
}

void trace_result_free(struct trace_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i].reasons);
    free(r->items);
    *r = (struct trace_result){0};
}

/* The case's investigation inputs (trace.h investigation_inputs) into
 * *in_r, from a: the named places with a venue meeting the window appended
 * to cvis as visits ([from, to], or [from, from + w] without a to). */
static err named_inputs(struct search *s, arena *a, struct investigation_inputs *in_r,
                        struct vec *cvis)
{
    err e = investigation_inputs(s->d, a, s->p->person_id, in_r);
    for (size_t i = 0; !e && i < in_r->n_visits; i++) {
        const struct investigation_visit *x = &in_r->visits[i];
        int64_t lo = x->from_at, hi = x->to_at ? x->to_at : x->from_at + s->w_ms;
        if (hi < s->p->from || lo > s->p->to)
            continue;
        struct visit *v = vec_push(cvis);
        if (!v)
            return E_NOMEM;
        *v = (struct visit){.key = x->venue_id, .lo = lo, .hi = hi};
    }
    return e;
}

err trace_compute(db *d, const struct trace_plan *p, struct trace_result *r_r)
{
    struct trace_result r = {0};
    struct search s = {.d = d, .p = p, .r = &r, .w_ms = p->window_minutes * MINUTE_MS};
    struct vec mine = {.size = sizeof(struct passage)}, cvis = {.size = sizeof(struct visit)},
               ps = {.size = sizeof(struct passage)}, vs = {.size = sizeof(struct visit)},
               near = {.size = sizeof(struct near)}, sort_tmp = {.size = sizeof(struct passage)};
    s.sort_tmp = &sort_tmp;
    /* for the investigation inputs: trace_compute also runs in the warning's
     * worker, with no request arena */
    arena *ia = arena_new(0);
    if (!ia)
        return E_NOMEM;
    err e = people_grow(&s.seen);
    if (e) {
        arena_free(&ia);
        return e;
    }
    *people_slot(&s.seen, p->person_id) = UINT32_MAX;
    s.seen.n = 1;
    db_catch_up(); /* every acknowledged scan, before the snapshot is taken */
    if ((e = db_begin_read(d)))
        goto out;
    /* the case's visits, per venue */
    if (!(e = person_passages(&s, p->person_id, p->from, p->to, &mine))) {
        if (!(e = passages_sort(mine.p, mine.n, s.sort_tmp)))
            e = visits_of(mine.p, mine.n, s.w_ms, &cvis);
    }
    /* the case's investigations: the places named with a
     * venue are visits too, the registered contacts named are close */
    struct investigation_inputs named = {0};
    if (!e)
        e = named_inputs(&s, ia, &named, &cvis);
    const struct visit *cv = cvis.p;
    for (size_t i = 0; !e && i < cvis.n; i++)
        e = co_visitors(&s, &cv[i], &ps, &vs, &near);
    for (size_t i = 0; !e && i < named.n_contacts; i++) {
        struct trace_reason rs = {.kind = TRACE_R_NAMED};
        e = found(&s, named.contacts[i], 1, 0, TRACE_CLOSE, &rs);
    }
    if (!e)
        e = household_of(&s, p->person_id, 1, 0, TRACE_CLOSE);
    if (!e)
        e = building_of(&s);
    if (!e)
        e = travellers(&s);
    if (!e)
        e = passengers(&s, &ps);
    if (!e && p->degree == 2 && !r.truncated)
        e = degree_two(&s, &ps, &vs);
    if (!e)
        e = residences(&s);
    db_rollback(d);
out:
    arena_free(&ia);
    free(mine.p);
    free(cvis.p);
    free(ps.p);
    free(vs.p);
    free(near.p);
    free(sort_tmp.p);
    people_free(&s.seen);
    if (e) {
        trace_result_free(&r);
        return e;
    }
    if (r.n)
        qsort(r.items, r.n, sizeof *r.items, contact_cmp);
    for (size_t i = 0; i < r.n; i++)
        r.counts[r.items[i].cls]++;
    *r_r = r;
    return E_OK;
}

/* ---- storing ------------------------------------------------------------------------------ */

/* s as a JSON string body (what jansson writes: `"` `\` and control
 * characters escaped, UTF-8 as is) at out, which has room for 6 bytes per
 * byte of s and a NUL; returns the end. */
static char *json_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            *out++ = '\\';
            *out++ = (char)ch;
        } else if (ch < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[ch >> 4];
            out[5] = hex[ch & 15];
            out += 6;
        } else {
            *out++ = (char)ch;
        }
    }
    *out = '\0';
    return out;
}

/* Room for one reason's JSON object: the fixed members and numbers, the
 * number and the seat escaped. */
#define REASON_TEXT_MAX (200 + 6 * (TRIP_NUMBER_MAX + TRIP_SEAT_MAX))

/*
 * The reasons as stored: a JSON array of positional arrays, [kind,
 * venue_id ("" without a venue), from, to, overlap_minutes, crowd] and, when
 * there is a flight or train, number and seat, then a venue's name when it
 * is known by name only (place) — about 60 bytes where the
 * API's objects take 140. A degree-2 run stores up to 200,000 contacts, so
 * the reasons were half of what a large run wrote and committed; written by
 * hand, since building a jansson tree for each cost more than the inserts.
 * trace_reasons_parse reads it back. Returns a malloc'd text, NULL on
 * E_NOMEM.
 */
static char *put_text(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return o + n;
}

/* v in decimal at o (snprintf's format parsing was a tenth of a large run's
 * storing); returns the end. */
static char *put_int(char *o, int64_t v)
{
    char d[20];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        d[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *o++ = '-';
    while (n)
        *o++ = d[--n];
    return o;
}

static char *reasons_text(const struct trace_contact *c, int64_t *kinds_r)
{
    size_t places = 0;
    for (size_t i = 0; i < c->n_reasons; i++)
        places += c->reasons[i].place ? 6 * strlen(c->reasons[i].place) + 4 : 0;
    char *t = malloc(3 + c->n_reasons * REASON_TEXT_MAX + places), *o = t;
    if (!t)
        return NULL;
    *kinds_r = 0;
    *o++ = '[';
    for (size_t i = 0; i < c->n_reasons; i++) {
        const struct trace_reason *rs = &c->reasons[i];
        o = put_text(o, i ? ",[\"" : "[\"");
        o = put_text(o, vocab_name(&trace_reason_vocab, rs->kind));
        o = put_text(o, "\",\"");
        if (rs->venue_id)
            o = put_int(o, rs->venue_id);
        o = put_text(o, "\",");
        o = put_int(o, rs->from);
        *o++ = ',';
        o = put_int(o, rs->to);
        *o++ = ',';
        o = put_int(o, rs->overlap_minutes);
        *o++ = ',';
        o = put_int(o, rs->crowd);
        if (rs->number[0] || rs->seat[0] || rs->place) {
            o = json_escape(put_text(o, ",\""), rs->number);
            o = json_escape(put_text(o, "\",\""), rs->seat);
            *o++ = '"';
        }
        if (rs->place) {
            o = json_escape(put_text(o, ",\""), rs->place);
            *o++ = '"';
        }
        *o++ = ']';
        *kinds_r |= 1LL << rs->kind;
    }
    *o++ = ']';
    *o = '\0';
    return t;
}

json_t *trace_reasons_parse(const char *text)
{
    json_t *arr = json_loads(text ? text : "[]", 0, NULL), *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (json_is_object(x)) { /* a run stored before the positional form */
            json_array_append(out, x);
            continue;
        }
        const char *venue = json_string_value(json_array_get(x, 1)),
                   *number = json_string_value(json_array_get(x, 6)),
                   *seat = json_string_value(json_array_get(x, 7)),
                   *kind = json_string_value(json_array_get(x, 0));
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "kind", kind ? kind : "", "from",
                              json_integer_value(json_array_get(x, 2)), "to",
                              json_integer_value(json_array_get(x, 3)), "overlap_minutes",
                              json_integer_value(json_array_get(x, 4)), "number",
                              number ? number : "", "seat", seat ? seat : "");
        if (venue && *venue)
            json_object_set_new(o, "venue_id", json_string(venue));
        const char *place = json_string_value(json_array_get(x, 8));
        if (place)
            json_object_set_new(o, "place", json_string(place));
        if (kind && !strcmp(kind, "venue"))
            json_object_set_new(o, "crowd", json_integer(json_integer_value(json_array_get(x, 5))));
        json_array_append_new(out, o);
    }
    json_decref(arr);
    return out;
}

#define INSERT_CONTACTS                                                                            \
    "INSERT INTO trace_contacts (id, run_id, person_id, region_code, degree, via_person_id, "      \
    "class, class_rank, first_at, overlap_minutes, reasons, kinds) VALUES "
#define STORE_COLS  12
#define STORE_ROW   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define STORE_ROW4  STORE_ROW ", " STORE_ROW ", " STORE_ROW ", " STORE_ROW
#define STORE_ROW16 STORE_ROW4 ", " STORE_ROW4 ", " STORE_ROW4 ", " STORE_ROW4
#define STORE_ROWS  STORE_ROW16 ", " STORE_ROW16 ", " STORE_ROW16 ", " STORE_ROW16
#define STORE_BATCH 64

/* Bind contact c as the row whose first parameter follows `at`. */
static err bind_contact(db_stmt *s, int at, int64_t run, const struct trace_contact *c)
{
    int64_t kinds;
    char *text = reasons_text(c, &kinds);
    if (!text)
        return E_NOMEM;
    db_bind_int64(s, at + 1, id_new());
    db_bind_int64(s, at + 2, run);
    db_bind_int64(s, at + 3, c->person_id);
    db_bind_int64(s, at + 4, c->region_code);
    db_bind_int64(s, at + 5, c->degree);
    db_bind_int64(s, at + 6, c->via_person_id);
    db_bind_text(s, at + 7, vocab_name(&trace_class_vocab, c->cls));
    db_bind_int64(s, at + 8, class_rank(c->cls));
    db_bind_int64(s, at + 9, c->first_at);
    db_bind_int64(s, at + 10, c->overlap_minutes);
    db_bind_text(s, at + 11, text); /* copied */
    db_bind_int64(s, at + 12, kinds);
    free(text);
    return E_OK;
}

err trace_run_store(db *d, const struct trace_plan *p, const struct trace_result *res,
                    enum trace_trigger trigger, int64_t run_id, int64_t user_id, int64_t elapsed_ms,
                    int64_t *id_r)
{
    int64_t now = now_ms(), id = run_id ? run_id : id_new();
    json_t *rj = trace_rules_json(&p->rules);
    char *rules = json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rj);
    db_stmt *s;
    err e = rules ? E_OK : E_NOMEM;
    if (!e && !run_id &&
        !(e = db_prepare(d,
                         "INSERT INTO trace_runs (id, person_id, region_code, "
                         "from_at, to_at, degree, window_minutes, status, "
                         "trigger_kind, created_by, created_at) VALUES (?, ?, "
                         "?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, p->person_id);
        db_bind_int64(s, 3, p->region_code);
        db_bind_int64(s, 4, p->from);
        db_bind_int64(s, 5, p->to);
        db_bind_int64(s, 6, p->degree);
        db_bind_int64(s, 7, p->window_minutes);
        db_bind_text(s, 8, trigger == TRACE_AUTO ? "auto" : "manual");
        db_bind_int64(s, 9, user_id);
        db_bind_int64(s, 10, now);
        e = db_run(s, NULL);
    }
    if (!e && !(e = db_prepare(d,
                               "UPDATE trace_runs SET status = 'done', from_at = ?, to_at = ?, "
                               "degree = ?, window_minutes = ?, region_code = ?, close_count = ?, "
                               "secondary_count = ?, general_count = ?, truncated = ?, "
                               "elapsed_ms = ?, rules = ?, finished_at = ? WHERE id = ?",
                               &s))) {
        db_bind_int64(s, 1, p->from);
        db_bind_int64(s, 2, p->to);
        db_bind_int64(s, 3, p->degree);
        db_bind_int64(s, 4, p->window_minutes);
        db_bind_int64(s, 5, p->region_code);
        db_bind_int64(s, 6, res->counts[TRACE_CLOSE]);
        db_bind_int64(s, 7, res->counts[TRACE_SECONDARY]);
        db_bind_int64(s, 8, res->counts[TRACE_GENERAL]);
        db_bind_int64(s, 9, res->truncated);
        db_bind_int64(s, 10, elapsed_ms);
        db_bind_text(s, 11, rules);
        db_bind_int64(s, 12, now);
        db_bind_int64(s, 13, id);
        e = db_run(s, NULL);
    }
    free(rules);
    /* a run received again replaces its findings (a queued run has none) */
    if (!e && run_id && !(e = db_prepare(d, "DELETE FROM trace_contacts WHERE run_id = ?", &s))) {
        db_bind_int64(s, 1, id);
        e = db_run(s, NULL);
    }
    /* STORE_BATCH rows a statement (one round trip, one parse), the rest one by one */
    size_t i = 0;
    while (i < res->n && !e) {
        size_t k = res->n - i >= STORE_BATCH ? STORE_BATCH : 1;
        if ((e = db_prepare(
                 d, k == STORE_BATCH ? INSERT_CONTACTS STORE_ROWS : INSERT_CONTACTS STORE_ROW, &s)))
            break;
        for (size_t j = 0; j < k && !e; j++, i++)
            e = bind_contact(s, (int)j * STORE_COLS, id, &res->items[i]);
        if (e)
            db_done(s);
        else
            e = db_run(s, NULL);
    }
    if (!e)
        e = trace_written(d, TRACE_REC_RUN, id, p->region_code, false);
    if (!e)
        *id_r = id;
    return e;
}
