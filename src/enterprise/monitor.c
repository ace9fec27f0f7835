/*
 * Resume-work monitoring (复工复产监测, seed 003; enterprise.h): per street,
 * per industry and, drilled down, per enterprise, how many enterprises
 * resumed, their staff, the staff returned, today's clock-in and abnormal
 * counts. One statement reads every enterprise of the scope with its own
 * figures (correlated counts on the indexed enterprise_id columns); the
 * grouping is done here, since a street is a prefix of a region code,
 * which the portable SQL subset cannot group by.
 */
#include "enterprise/enterprise.h"

#include <stdlib.h>
#include <string.h>

#include "base/regcode.h"
#include "db/query.h"
#include "region/region.h"

static void add(struct resume_figures *t, const struct resume_figures *f)
{
    t->enterprises += f->enterprises;
    t->resumed += f->resumed;
    t->staff += f->staff;
    t->returned += f->returned;
    t->clocked_in += f->clocked_in;
    t->abnormal += f->abnormal;
}

/* The FROM and WHERE of both statements: live, in scope, in the street
 * asked for (the whole scope when none), of the industry asked for (any
 * when NULL). */
static void monitor_where(struct query *w, const struct scope *sc,
                          const struct resume_monitor_query *q)
{
    query_sql(w, " FROM enterprises e WHERE e.deleted_at = 0 AND e.region_code >= ? AND "
                 "e.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (q->street_code) {
        query_sql(w, " AND e.region_code >= ? AND e.region_code < ?");
        query_int(w, q->street_code);
        query_int(w, regcode_end(q->street_code));
    }
    if (q->industry) {
        query_sql(w, " AND e.industry = ?");
        query_text(w, q->industry);
    }
}

static int by_label(const void *x, const void *y)
{
    const struct resume_monitor_row *p = x, *q = y;
    return strcmp(p->label, q->label);
}

err resume_monitor(db *d, arena *a, const struct scope *sc, const struct resume_monitor_query *q,
                   struct resume_monitor_row **rows_r, size_t *n_r, struct resume_figures *total_r)
{
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *qs = arena_alloc(a, sizeof *qs);
    *w = (struct query)QUERY_INIT;
    monitor_where(w, sc, q);
    *qs = (struct query)QUERY_INIT;
    query_sql(qs, "SELECT COUNT(*)");
    query_append(qs, w);
    int64_t count;
    err e = query_count(d, qs, &count);
    if (e)
        return e;
    if (count > MONITOR_ENTERPRISES_MAX)
        return err_set(E_INPUT, "too_many", "street", "企业超过%d家，请按街道查看",
                       MONITOR_ENTERPRISES_MAX);
    /* each enterprise with its figures; the counts of employees exclude
     * those who left, as the daily view does */
    *qs = (struct query)QUERY_INIT;
    query_sql(qs,
              "SELECT e.id, e.name, e.region_code, e.industry, "
              "(SELECT status FROM enterprise_applications p WHERE p.enterprise_id = e.id ORDER "
              "BY p.id DESC LIMIT 1), "
              "(SELECT COUNT(*) FROM enterprise_employees m WHERE m.enterprise_id = e.id AND "
              "m.deleted_at = 0), "
              "(SELECT COUNT(*) FROM enterprise_employees m WHERE m.enterprise_id = e.id AND "
              "m.deleted_at = 0 AND EXISTS (SELECT 1 FROM enterprise_declarations x WHERE "
              "x.employee_id = m.id AND x.return_date <= ?)), "
              "(SELECT COUNT(*) FROM enterprise_clockins c WHERE c.enterprise_id = e.id AND "
              "c.day = ?), "
              "(SELECT COUNT(*) FROM enterprise_clockins c WHERE c.enterprise_id = e.id AND "
              "c.day = ? AND c.abnormal = 1)");
    query_int(qs, q->today);
    query_int(qs, q->day);
    query_int(qs, q->day);
    query_append(qs, w);
    query_sql(qs, " ORDER BY e.region_code, e.name, e.id");
    db_stmt *s;
    if ((e = query_prepare(d, qs, &s)))
        return e;
    bool row;
    struct resume_monitor_row *ents = arena_zalloc(a, (size_t)(count ? count : 1) * sizeof *ents);
    if (!ents) {
        db_done(s);
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    }
    size_t n = 0;
    while (!(e = db_row(s, &row)) && row && n < (size_t)count) {
        struct resume_monitor_row *x = &ents[n++];
        x->code = db_col_int64(s, 0);
        x->label = arena_strdup(a, db_col_text(s, 1));
        x->industry = arena_strdup(a, db_col_text(s, 3));
        const char *st = db_col_text(s, 4);
        int k = st ? vocab_parse(&resume_status_vocab, st) : -1;
        x->status = k > 0 ? (enum resume_status)k : RESUME_NONE;
        x->f = (struct resume_figures){
            .enterprises = 1,
            .resumed = x->status == RESUME_APPROVED,
            .staff = db_col_int64(s, 5),
            .returned = db_col_int64(s, 6),
            .clocked_in = db_col_int64(s, 7),
            .abnormal = db_col_int64(s, 8),
        };
        x->street_code = regcode_at_most(db_col_int64(s, 2), LEVEL_STREET);
    }
    db_done(s);
    if (e)
        return e;
    memset(total_r, 0, sizeof *total_r);
    for (size_t i = 0; i < n; i++)
        add(total_r, &ents[i].f);
    /* the streets' names: rows come in region order, so each street once */
    for (size_t i = 0; i < n; i++) {
        if (i && ents[i].street_code == ents[i - 1].street_code)
            ents[i].street_name = ents[i - 1].street_name;
        else if ((e = region_path(d, ents[i].street_code, LEVEL_STREET, a, &ents[i].street_name)))
            return e;
    }
    if (q->by == MONITOR_BY_ENTERPRISE) {
        *rows_r = ents;
        *n_r = n;
        return E_OK;
    }
    /* group: rows are in region order, so a street's enterprises are
     * adjacent; industries are sorted first */
    if (q->by == MONITOR_BY_INDUSTRY) {
        for (size_t i = 0; i < n; i++)
            ents[i].label = ents[i].industry;
        if (n > 1)
            qsort(ents, n, sizeof *ents, by_label);
    }
    struct resume_monitor_row *rows = arena_zalloc(a, (n ? n : 1) * sizeof *rows);
    if (!rows)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool same =
            m > 0 && (q->by == MONITOR_BY_STREET ? rows[m - 1].code == ents[i].street_code
                                                 : !strcmp(rows[m - 1].label, ents[i].label));
        if (!same) {
            rows[m] = (struct resume_monitor_row){
                .code = q->by == MONITOR_BY_STREET ? ents[i].street_code : 0,
                .label = q->by == MONITOR_BY_STREET ? ents[i].street_name : ents[i].label,
            };
            m++;
        }
        add(&rows[m - 1].f, &ents[i].f);
    }
    *rows_r = rows;
    *n_r = m;
    return E_OK;
}
