/*
 * Statistics of nucleic-acid testing (点位核酸街道统计、区级统计, seed 004
 * 二1; the emergency bureau's live figures, 二2(2)): per street, per
 * district, per industry, and the scans summed by street or site.
 *
 * Every figure is read from what the writes keep, never from the samples:
 * the sites' rows (state, unattended flag, staff on duty), the site-hour
 * scan counters (nat_site_hours), the clock-ins of the day, and the plans'
 * figures (nat_plan_figures: planned, counted, corrected). A street's
 * reads are a few grouped statements over a few thousand rows at most,
 * whatever the number of samples (bench/natstats.sh).
 *
 * Scope: the streets are those whose subtree meets the caller's scope, and
 * every count is bound to the scope itself, so a street sees only its own
 * row and a district all of its streets.
 */
#include <stdlib.h>
#include <string.h>

#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "nat/nat.h"

/* The streets meeting scope, by code, their district beside them. */
static err streets_of(db *d, arena *a, const struct scope *scope, struct nat_street_stats **items_r,
                      size_t *n_r)
{
    int64_t lo = regcode_at_most(scope->lo, LEVEL_STREET);
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COUNT(*) FROM regions WHERE level = ? AND code >= ? AND code < ?");
    query_int(&q, LEVEL_STREET);
    query_int(&q, lo);
    query_int(&q, scope->hi);
    int64_t total;
    err e = query_count(d, &q, &total);
    if (e)
        return e;
    if (total > NAT_STATS_STREETS_MAX)
        total = NAT_STATS_STREETS_MAX;
    struct nat_street_stats *items = arena_zalloc(a, (size_t)(total + 1) * sizeof *items);
    if (!items)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT s.code, s.name, s.parent_code, p.name FROM regions s LEFT JOIN "
                        "regions p ON p.code = s.parent_code WHERE s.level = ? AND s.code >= ? "
                        "AND s.code < ? ORDER BY s.code",
                        &s)))
        return e;
    db_bind_int64(s, 1, LEVEL_STREET);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, scope->hi);
    size_t n = 0;
    bool row;
    while ((int64_t)n < total && !(e = db_row(s, &row)) && row) {
        struct nat_street_stats *t = &items[n++];
        t->street_code = db_col_int64(s, 0);
        t->street_name = arena_strdup(a, db_col_text(s, 1));
        t->district_code = db_col_int64(s, 2);
        t->district_name = arena_strdup(a, db_col_text(s, 3));
        t->figure = (struct nat_figure){.region_code = t->street_code,
                                        .region_name = t->street_name,
                                        .industry_name = "",
                                        .planned_source = "entered",
                                        .reason = "",
                                        .corrected_by_name = ""};
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* The street row holding region `code` (a site's region, a figure's
 * street), NULL when its street is not among them. */
static struct nat_street_stats *street_for(struct nat_street_stats *items, size_t n, int64_t code)
{
    int64_t street = regcode_at_most(code, LEVEL_STREET);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid].street_code == street)
            return &items[mid];
        if (items[mid].street_code < street)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Run `sql` (its parameters: scope lo, scope hi, then `a1`, `a2` when
 * n_args is 4) whose rows are (region_code, value...) and hand each row to
 * add() with the street it falls in. */
typedef void (*row_add_fn)(struct nat_street_stats *t, db_stmt *s);
static err fold_rows(db *d, const struct scope *scope, const char *sql, int n_args, int64_t a1,
                     int64_t a2, struct nat_street_stats *items, size_t n, row_add_fn add)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, scope->lo);
    db_bind_int64(s, 2, scope->hi);
    if (n_args == 4) {
        db_bind_int64(s, 3, a1);
        db_bind_int64(s, 4, a2);
    }
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        struct nat_street_stats *t = street_for(items, n, db_col_int64(s, 0));
        if (t)
            add(t, s);
    }
    db_done(s);
    return e;
}

static void add_sites(struct nat_street_stats *t, db_stmt *s)
{
    const char *state = db_col_text(s, 1);
    int64_t count = db_col_int64(s, 2);
    t->sites += count;
    if (!strcmp(state, "open"))
        t->sites_open += count;
    else if (!strcmp(state, "paused"))
        t->sites_paused += count;
    else
        t->sites_closed += count;
    t->unattended += db_col_int64(s, 3);
    t->on_duty += db_col_int64(s, 4);
}

static void add_scans(struct nat_street_stats *t, db_stmt *s)
{
    t->scans += db_col_int64(s, 1);
}

static void add_clockins(struct nat_street_stats *t, db_stmt *s)
{
    t->clockins += db_col_int64(s, 1);
}

/* The scans of hours [from, to) per region, driven from the sites of scope:
 * each site's hours are one range of the (site_id, hour) key, so the cost
 * follows the sites and the hours asked for, never the history kept. */
#define SCANS_BY_REGION                                                                            \
    "SELECT s.region_code, SUM(h.n) FROM nat_sites s JOIN nat_site_hours h ON h.site_id = s.id "   \
    "WHERE s.region_code >= ? AND s.region_code < ? AND h.hour >= ? AND h.hour < ? GROUP BY "      \
    "s.region_code"

err nat_stats_streets(db *d, arena *a, const struct scope *scope, int64_t plan_id, int64_t day,
                      struct nat_street_stats **items_r, size_t *n_r)
{
    struct nat_street_stats *items;
    size_t n;
    err e = streets_of(d, a, scope, &items, &n);
    if (e)
        return e;
    int64_t from = day * DAY_MS - CHINA_OFFSET_MS, to = from + DAY_MS;
    if ((e = fold_rows(d, scope,
                       "SELECT region_code, state, COUNT(*), SUM(CASE WHEN unattended_since > 0 "
                       "THEN 1 ELSE 0 END), SUM(on_duty) FROM nat_sites WHERE deleted_at = 0 AND "
                       "region_code >= ? AND region_code < ? GROUP BY region_code, state",
                       2, 0, 0, items, n, add_sites)) ||
        (e = fold_rows(d, scope, SCANS_BY_REGION, 4, from, to, items, n, add_scans)) ||
        (e = fold_rows(d, scope,
                       "SELECT s.region_code, COUNT(*) FROM nat_sites s JOIN nat_clockins c ON "
                       "c.site_id = s.id WHERE s.region_code >= ? AND s.region_code < ? AND "
                       "c.in_at >= ? AND c.in_at < ? GROUP BY s.region_code",
                       4, from, to, items, n, add_clockins)))
        return e;
    if (plan_id) {
        struct nat_figure *f;
        size_t m;
        if ((e = nat_plan_figures(d, a, scope, plan_id, &f, &m)))
            return e;
        for (size_t i = 0; i < m; i++) {
            struct nat_street_stats *t = street_for(items, n, f[i].region_code);
            if (!f[i].industry_id && t && t->street_code == f[i].region_code) {
                t->figure = f[i];
                t->figured = true;
            }
        }
    }
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* Add figure b into a: sums, and corrected as the sum of what each row
 * stands by (nat_figures_by_industry's rule). */
static void figure_add(struct nat_figure *a, const struct nat_figure *b, bool first)
{
    int64_t a_eff = a->corrected_set ? a->corrected : a->actual;
    int64_t b_eff = b->corrected_set ? b->corrected : b->actual;
    a->planned += b->planned;
    a->corrected = (first ? 0 : a_eff) + b_eff;
    a->actual += b->actual;
    a->corrected_set = (!first && a->corrected_set) || b->corrected_set;
    if (!a->corrected_set)
        a->corrected = 0;
    a->negative += b->negative;
    a->positive += b->positive;
    a->retest += b->retest;
    a->invalid += b->invalid;
}

size_t nat_stats_districts(arena *a, const struct nat_street_stats *in, size_t n,
                           struct nat_street_stats **out_r)
{
    struct nat_street_stats *out = arena_zalloc(a, (n + 1) * sizeof *out);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m && out[j].street_code != in[i].district_code)
            j++;
        bool first = j == m;
        if (first) {
            out[m++] = (struct nat_street_stats){
                .street_code = in[i].district_code,
                .street_name = in[i].district_name,
                .district_code = in[i].district_code,
                .district_name = in[i].district_name,
                .figure = {.region_code = in[i].district_code,
                           .region_name = in[i].district_name,
                           .industry_name = "",
                           .planned_source = in[i].figure.planned_source,
                           .reason = "",
                           .corrected_by_name = ""},
            };
        }
        struct nat_street_stats *t = &out[j];
        t->streets++;
        t->sites += in[i].sites;
        t->sites_open += in[i].sites_open;
        t->sites_paused += in[i].sites_paused;
        t->sites_closed += in[i].sites_closed;
        t->unattended += in[i].unattended;
        t->on_duty += in[i].on_duty;
        t->scans += in[i].scans;
        t->clockins += in[i].clockins;
        if (in[i].figured) {
            figure_add(&t->figure, &in[i].figure, !t->figured);
            t->figured = true;
        }
    }
    *out_r = out;
    return m;
}

err nat_stats_industries(db *d, arena *a, const struct scope *scope, int64_t plan_id,
                         struct nat_figure **items_r, size_t *n_r)
{
    struct nat_industry *ind;
    size_t ni;
    struct nat_figure *f, *sums;
    size_t nf;
    err e = nat_industry_list(d, a, &ind, &ni);
    if (!e)
        e = nat_plan_figures(d, a, scope, plan_id, &f, &nf);
    if (e)
        return e;
    size_t ns = nat_figures_by_industry(a, f, nf, &sums);
    /* every live industry in the list's order, then any deleted one the
     * plan still has figures for */
    struct nat_figure *out = arena_zalloc(a, (ni + ns + 1) * sizeof *out);
    if (!out)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    bool *used = arena_zalloc(a, ns + 1);
    size_t m = 0;
    for (size_t i = 0; i < ni; i++) {
        struct nat_figure *o = &out[m++];
        *o = (struct nat_figure){.industry_id = ind[i].id,
                                 .industry_name = ind[i].name,
                                 .region_name = "",
                                 .planned_source = "entered",
                                 .reason = "",
                                 .corrected_by_name = ""};
        for (size_t j = 0; j < ns; j++)
            if (sums[j].industry_id == ind[i].id) {
                *o = sums[j];
                o->industry_name = ind[i].name;
                used[j] = true;
            }
    }
    for (size_t j = 0; j < ns; j++)
        if (!used[j])
            out[m++] = sums[j];
    *items_r = out;
    *n_r = m;
    return E_OK;
}

static int scan_cmp(const void *x, const void *y)
{
    const struct nat_scan_stats *a = x, *b = y;
    if (a->n != b->n)
        return a->n < b->n ? 1 : -1;
    return a->id < b->id ? -1 : a->id > b->id;
}

err nat_stats_scans(db *d, arena *a, const struct scope *scope, bool by_site, int64_t from,
                    int64_t to, struct nat_scan_stats **items_r, size_t *n_r)
{
    err e;
    db_stmt *s;
    size_t n = 0;
    bool row;
    struct nat_scan_stats *items;
    if (by_site) {
        struct query q = QUERY_INIT;
        query_sql(&q, "SELECT COUNT(*) FROM nat_sites WHERE region_code >= ? AND region_code < ?");
        query_int(&q, scope->lo);
        query_int(&q, scope->hi);
        int64_t total; /* the sites, deleted ones too (their hours stay): at most a row each */
        if ((e = query_count(d, &q, &total)))
            return e;
        int64_t limit, offset;
        if ((e = paging_window(total, 1, 0, NAT_EXPORT_MAX, &limit, &offset, &total)))
            return e;
        items = arena_zalloc(a, (size_t)(total + 1) * sizeof *items);
        if (!items)
            return err_set(E_NOMEM, NULL, NULL, NULL);
        if ((e = db_prepare(d,
                            "SELECT s.id, s.name, s.region_code, r.name, t.n FROM (SELECT "
                            "x.id, SUM(h.n) AS n FROM nat_sites x JOIN nat_site_hours h ON "
                            "h.site_id = x.id WHERE x.region_code >= ? AND x.region_code < ? AND "
                            "h.hour >= ? AND h.hour < ? GROUP BY x.id) t JOIN nat_sites s ON s.id "
                            "= t.id LEFT JOIN regions r ON r.code = s.region_code",
                            &s)))
            return e;
        db_bind_int64(s, 1, scope->lo);
        db_bind_int64(s, 2, scope->hi);
        db_bind_int64(s, 3, from);
        db_bind_int64(s, 4, to);
        while ((int64_t)n < total && !(e = db_row(s, &row)) && row) {
            items[n++] = (struct nat_scan_stats){
                .id = db_col_int64(s, 0),
                .name = arena_strdup(a, db_col_text(s, 1)),
                .region_code = db_col_int64(s, 2),
                .region_name = arena_strdup(a, db_col_text(s, 3)),
                .n = db_col_int64(s, 4),
            };
        }
        db_done(s);
        if (e)
            return e;
    } else {
        struct nat_street_stats *streets;
        size_t ns;
        if ((e = streets_of(d, a, scope, &streets, &ns)) ||
            (e = fold_rows(d, scope, SCANS_BY_REGION, 4, from, to, streets, ns, add_scans)))
            return e;
        items = arena_zalloc(a, (ns + 1) * sizeof *items);
        if (!items)
            return err_set(E_NOMEM, NULL, NULL, NULL);
        for (size_t i = 0; i < ns; i++)
            items[n++] = (struct nat_scan_stats){
                .id = streets[i].street_code,
                .name = streets[i].street_name,
                .region_code = streets[i].district_code,
                .region_name = streets[i].district_name,
                .n = streets[i].scans,
            };
    }
    qsort(items, n, sizeof *items, scan_cmp);
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* The newest change of the plan's rows inside scope (0 when none). */
static err figures_updated_at(db *d, const struct scope *scope, int64_t plan_id, int64_t *at_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COALESCE(MAX(updated_at), 0) FROM nat_plan_figures WHERE plan_id = ? "
                  "AND region_code >= ? AND region_code < ?");
    query_int(&q, plan_id);
    query_int(&q, scope->lo);
    query_int(&q, scope->hi);
    return query_count(d, &q, at_r);
}

err nat_bureau_plans(db *d, arena *a, const struct scope *scope, int64_t plan_id, int64_t now,
                     struct nat_bureau_plan **items_r, size_t *n_r)
{
    int64_t ids[NAT_BUREAU_PLANS_MAX];
    size_t n = 0;
    err e;
    if (plan_id) {
        ids[n++] = plan_id;
    } else {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id FROM nat_plans WHERE deleted_at = 0 AND region_code < ? AND "
                            "region_end > ? AND starts_at <= ? AND ends_at > ? ORDER BY starts_at "
                            "DESC, id DESC",
                            &s)))
            return e;
        db_bind_int64(s, 1, scope->hi);
        db_bind_int64(s, 2, scope->lo);
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, now);
        bool row;
        while (n < NAT_BUREAU_PLANS_MAX && !(e = db_row(s, &row)) && row)
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
    }
    struct nat_bureau_plan *items = arena_zalloc(a, (n + 1) * sizeof *items);
    if (!items)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        struct nat_bureau_plan *b = &items[i];
        if ((e = nat_plan_find(d, a, scope, ids[i], &b->plan)) ||
            (e = nat_plan_figures(d, a, scope, ids[i], &b->figures, &b->n)) ||
            (e = figures_updated_at(d, scope, ids[i], &b->updated_at)))
            return e;
        if (b->plan.updated_at > b->updated_at)
            b->updated_at = b->plan.updated_at;
    }
    *items_r = items;
    *n_r = n;
    return E_OK;
}
