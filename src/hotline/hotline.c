/*
 * Hotline storage (hotline.h): the extraction rules, the ticket list and
 * detail, the counts by street and rule read from the counters, and the
 * measures those counters belong to.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "hotline/hotline.h"
#include "hotline/internal.h"
#include "person/person.h"
#include "region/region.h"
#include "security/crypto.h"
#include "stats/stats.h"

/* ---- measures ------------------------------------------------------------------------- */

static const struct stats_measure measures[] = {
    {HOTLINE_M_TICKETS, "接诉即办工单", false,
     "SELECT region_code, " CHINA_DAY_SQL("received_at") ", COUNT(*) FROM hotline_tickets "
                                                         "GROUP BY region_code, " CHINA_DAY_SQL(
                                                             "received_at")},
    {HOTLINE_M_MATCHED, "接诉即办涉疫工单", false,
     "SELECT region_code, " CHINA_DAY_SQL(
         "received_at") ", COUNT(*) FROM hotline_tickets WHERE "
                        "matched > 0 GROUP BY region_code, " CHINA_DAY_SQL("received_at")},
    {HOTLINE_M_RULE, "接诉即办规则命中", false,
     "SELECT rule_id, region_code, day, COUNT(*) FROM hotline_matches GROUP BY rule_id, "
     "region_code, day",
     true},
};

err hotline_register(void)
{
    err e = E_OK;
    for (size_t i = 0; i < sizeof measures / sizeof measures[0] && !e; i++)
        e = stats_measure_register(&measures[i]);
    return e;
}

/* ---- rules ----------------------------------------------------------------------------- */

/* A JSON array of strings (a column) into an arena array. */
static err words_from(arena *a, const char *text, const char *const **w_r, size_t *n_r)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!json_is_array(v)) {
        json_decref(v);
        return err_set(E_INTERNAL, NULL, NULL, "hotline_rules holds a malformed list");
    }
    size_t n = json_array_size(v);
    const char **w = arena_alloc(a, (n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = arena_strdup(a, json_string_value(json_array_get(v, i))
                                   ? json_string_value(json_array_get(v, i))
                                   : "");
    json_decref(v);
    *w_r = w;
    *n_r = n;
    return E_OK;
}

static char *words_json(const char *const *w, size_t n)
{
    json_t *v = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(v, json_string(w[i]));
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

#define RULE_COLS                                                                                  \
    "SELECT id, name, categories, keywords, excludes, enabled, version, updated_at, updated_by "   \
    "FROM hotline_rules WHERE deleted_at = 0"

static err rule_read(db_stmt *s, arena *a, struct hotline_rule *r)
{
    memset(r, 0, sizeof *r);
    r->id = db_col_int64(s, 0);
    r->name = arena_strdup(a, db_col_text(s, 1));
    err e = words_from(a, db_col_text(s, 2), &r->categories, &r->ncategories);
    if (!e)
        e = words_from(a, db_col_text(s, 3), &r->keywords, &r->nkeywords);
    if (!e)
        e = words_from(a, db_col_text(s, 4), &r->excludes, &r->nexcludes);
    r->enabled = db_col_int64(s, 5) != 0;
    r->version = db_col_int64(s, 6);
    r->updated_at = db_col_int64(s, 7);
    r->updated_by = db_col_int64(s, 8);
    return e;
}

err hotline_rule_list(db *d, arena *a, struct hotline_rule **items_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, RULE_COLS " ORDER BY name, id", &s);
    if (e)
        return e;
    size_t n = 0, cap = 16;
    struct hotline_rule *v = arena_alloc(a, cap * sizeof *v);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) { /* at most HOTLINE_RULES_MAX live rules: a few doublings */
            struct hotline_rule *w = arena_alloc(a, 2 * cap * sizeof *w);
            memcpy(w, v, n * sizeof *v);
            v = w;
            cap *= 2;
        }
        if ((e = rule_read(s, a, &v[n])))
            break;
        n++;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    return E_OK;
}

err hotline_rule_find(db *d, arena *a, int64_t id, struct hotline_rule *r_r)
{
    db_stmt *s;
    err e = db_prepare(d, RULE_COLS " AND id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    struct hotline_rule r;
    if (!(e = db_row(s, &row)))
        e = row ? rule_read(s, a, &r) : err_set(E_NOT_FOUND, "not_found", NULL, "抽取规则不存在");
    db_done(s);
    if (!e)
        *r_r = r;
    return e;
}

/* Another live rule named `name` (not `id`)? */
static err name_taken(db *d, const char *name, int64_t id, bool *taken_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT 1 FROM hotline_rules WHERE deleted_at = 0 AND name = ? AND id <> ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, id);
    e = db_row(s, taken_r);
    db_done(s);
    return e;
}

err hotline_rule_save(db *d, const struct principal *who, const struct hotline_rule *r,
                      int64_t *id_r)
{
    err e = hotline_rule_check(r);
    if (e)
        return e;
    char *cats = words_json(r->categories, r->ncategories);
    char *keys = words_json(r->keywords, r->nkeywords);
    char *excl = words_json(r->excludes, r->nexcludes);
    if (!cats || !keys || !excl) {
        e = E_NOMEM;
        goto out;
    }
    if ((e = db_begin(d)))
        goto out;
    bool taken;
    int64_t live = 0, now = now_ms(), id = r->id ? r->id : id_new();
    if ((e = name_taken(d, r->name, id, &taken)))
        goto fail;
    if (taken) {
        e = err_set(E_CONFLICT, "duplicate_rule", "name", "已有名为“%s”的抽取规则", r->name);
        goto fail;
    }
    db_stmt *s;
    if (!r->id) {
        if ((e = db_query_int64(d, "SELECT COUNT(*) FROM hotline_rules WHERE deleted_at = 0",
                                &live)))
            goto fail;
        if (live >= HOTLINE_RULES_MAX) {
            e = err_set(E_CONFLICT, "too_many_rules", NULL,
                        "抽取规则最多 %d 条，请先删除不用的规则", HOTLINE_RULES_MAX);
            goto fail;
        }
        if ((e = db_prepare(d,
                            "INSERT INTO hotline_rules (id, name, categories, keywords, excludes, "
                            "enabled, version, created_at, updated_at, updated_by) VALUES (?, ?, "
                            "?, ?, ?, ?, 1, ?, ?, ?)",
                            &s)))
            goto fail;
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, r->name);
        db_bind_text(s, 3, cats);
        db_bind_text(s, 4, keys);
        db_bind_text(s, 5, excl);
        db_bind_int64(s, 6, r->enabled);
        db_bind_int64(s, 7, now);
        db_bind_int64(s, 8, now);
        db_bind_int64(s, 9, who->user_id);
        if ((e = db_run(s, NULL)))
            goto fail;
    } else {
        if ((e = db_prepare(d,
                            "UPDATE hotline_rules SET name = ?, categories = ?, keywords = ?, "
                            "excludes = ?, enabled = ?, version = version + 1, updated_at = ?, "
                            "updated_by = ? WHERE id = ? AND deleted_at = 0 AND (? = 0 OR "
                            "version = ?)",
                            &s)))
            goto fail;
        db_bind_text(s, 1, r->name);
        db_bind_text(s, 2, cats);
        db_bind_text(s, 3, keys);
        db_bind_text(s, 4, excl);
        db_bind_int64(s, 5, r->enabled);
        db_bind_int64(s, 6, now);
        db_bind_int64(s, 7, who->user_id);
        db_bind_int64(s, 8, r->id);
        db_bind_int64(s, 9, r->version);
        db_bind_int64(s, 10, r->version);
        int64_t changed;
        if ((e = db_run(s, &changed)))
            goto fail;
        if (!changed) {
            int64_t live_rule = 0;
            if (!(e = db_prepare(
                      d, "SELECT COUNT(*) FROM hotline_rules WHERE id = ? AND deleted_at = 0",
                      &s))) {
                db_bind_int64(s, 1, r->id);
                bool row;
                if (!(e = db_row(s, &row)) && row)
                    live_rule = db_col_int64(s, 0);
                db_done(s);
            }
            if (!e && !live_rule)
                e = err_set(E_NOT_FOUND, "not_found", NULL, "抽取规则不存在");
            else if (!e)
                e = err_set(E_CONFLICT, "version_conflict", "version",
                            "规则已被他人修改，请刷新后重试");
            goto fail;
        }
    }
    if ((e = db_commit(d)))
        goto out;
    *id_r = id;
    goto out;
fail:
    db_rollback(d);
out:
    free(cats);
    free(keys);
    free(excl);
    return e;
}

err hotline_rule_delete(db *d, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE hotline_rules SET deleted_at = ?, version = version + 1 WHERE id = "
                       "? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "抽取规则不存在");
}

/* ---- tickets ------------------------------------------------------------------------------ */

#define TICKET_COLS                                                                                \
    "SELECT t.id, t.ticket_no, t.received_at, t.caller_name_enc, t.caller_phone_enc, t.address, "  \
    "t.region_code, r.name, t.street_code, sr.name, t.category, t.content, t.state, t.site_id, "   \
    "ns.name, t.person_id, p.name_enc, t.imported_at, t.imported_by, u.display_name"
#define TICKET_FROM                                                                                \
    " FROM hotline_tickets t LEFT JOIN regions r ON r.code = t.region_code "                       \
    "LEFT JOIN regions sr ON sr.code = t.street_code LEFT JOIN nat_sites ns ON ns.id = t.site_id " \
    "LEFT JOIN persons p ON p.id = t.person_id AND p.deleted_at = 0 "                              \
    "LEFT JOIN users u ON u.id = t.imported_by"

static err ticket_read(db_stmt *s, arena *a, struct hotline_ticket *t)
{
    memset(t, 0, sizeof *t);
    t->id = db_col_int64(s, 0);
    t->ticket_no = arena_strdup(a, db_col_text(s, 1));
    t->received_at = db_col_int64(s, 2);
    err e = unseal_col(a, s, 3, HOTLINE_SEAL_NAME, &t->caller_name);
    if (!e)
        e = unseal_col(a, s, 4, HOTLINE_SEAL_PHONE, &t->caller_phone);
    t->address = arena_strdup(a, db_col_text(s, 5));
    t->region_code = db_col_int64(s, 6);
    t->region_name = arena_strdup(a, db_col_text(s, 7));
    t->street_code = db_col_int64(s, 8);
    t->street_name = arena_strdup(a, db_col_text(s, 9));
    t->category = arena_strdup(a, db_col_text(s, 10));
    t->content = arena_strdup(a, db_col_text(s, 11));
    t->state = arena_strdup(a, db_col_text(s, 12));
    t->site_id = db_col_int64(s, 13);
    t->site_name = arena_strdup(a, db_col_text(s, 14));
    t->person_id = db_col_int64(s, 15);
    t->person_name = "";
    if (!e)
        e = person_name_masked_col(a, s, 16, &t->person_name);
    t->imported_at = db_col_int64(s, 17);
    t->imported_by = db_col_int64(s, 18);
    t->imported_by_name = arena_strdup(a, db_col_text(s, 19));
    return e;
}

/* ticket_read as query_page reads a list's row. */
static err ticket_read_item(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return ticket_read(s, a, item);
}

/* The names of the rules ticket t matches, joined by "、". */
static err ticket_rules(db *d, arena *a, struct hotline_ticket *t)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT r.name FROM hotline_matches m JOIN hotline_rules r ON r.id = "
                       "m.rule_id WHERE m.ticket_id = ? ORDER BY r.name",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, t->id);
    const char *out = "";
    bool row;
    while (!(e = db_row(s, &row)) && row)
        out = *out ? arena_printf(a, "%s、%s", out, db_col_text(s, 0))
                   : arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    t->rules = out;
    return e;
}

/*
 * Newest first over a wide range (docs/benchmarks.md "At 10,000,000
 * people"): SQLite prices any two-sided region range as selective, so it
 * read every ticket of a district through hotline_tickets_region and sorted
 * them. With no filter but the region, when walking hotline_tickets_received
 * (received_at, id, region_code; sql/103) newest first reads fewer entries
 * than the range holds ((offset + page) x tickets of the province / those of
 * the range, from the counters), *by_time_r: the caller writes the range so
 * that no index serves it, and the engine walks that index, stopping after
 * the page; its count reads that index alone. As person.c's opening_page.
 */
static err walk_by_time(db *d, const struct hotline_filter *f, int64_t lo, int64_t hi,
                        bool *by_time_r)
{
    *by_time_r = false;
    if (f->rule_id || f->matched >= 0 || f->category || f->from || f->to || (f->q && *f->q) ||
        f->page_size <= 0)
        return E_OK;
    int64_t province = regcode_at_most(lo, LEVEL_PROVINCE), n = 0, all = 0;
    err e = stats_sum(d, HOTLINE_M_TICKETS, lo, hi, STATS_NOW, STATS_NOW, &n);
    if (e || (e = stats_sum(d, HOTLINE_M_TICKETS, province, regcode_end(province), STATS_NOW,
                            STATS_NOW, &all)))
        return e;
    double walk = (double)(paging_offset(f->page, f->page_size) + f->page_size) *
                  ((double)all / (double)(n > 0 ? n : 1));
    *by_time_r = n > 0 && walk < (double)n;
    return E_OK;
}

err hotline_ticket_list(db *d, arena *a, const struct scope *sc, const struct hotline_filter *f,
                        struct hotline_ticket **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    int64_t lo = sc->lo, hi = sc->hi;
    if (f->street_code) { /* inside the scope (checked by the caller): the narrower range */
        lo = f->street_code > lo ? f->street_code : lo;
        int64_t end = regcode_end(f->street_code);
        hi = end < hi ? end : hi;
    }
    bool by_time = false;
    err e = walk_by_time(d, f, lo, hi, &by_time);
    if (e)
        return e;
    query_sql(&w, by_time ? " WHERE t.region_code + 0 >= ? AND t.region_code + 0 < ?"
                          : " WHERE t.region_code >= ? AND t.region_code < ?");
    query_int(&w, lo);
    query_int(&w, hi);
    if (f->rule_id > 0) {
        query_sql(&w, " AND EXISTS (SELECT 1 FROM hotline_matches m WHERE m.ticket_id = t.id AND "
                      "m.rule_id = ?)");
        query_int(&w, f->rule_id);
    }
    if (f->matched == 1)
        query_sql(&w, " AND t.matched > 0");
    else if (f->matched == 0)
        query_sql(&w, " AND t.matched = 0");
    if (f->category) {
        query_sql(&w, " AND t.category = ?");
        query_text(&w, f->category);
    }
    if (f->from) {
        query_sql(&w, " AND t.received_at >= ?");
        query_int(&w, f->from);
    }
    if (f->to) {
        query_sql(&w, " AND t.received_at <= ?");
        query_int(&w, f->to);
    }
    if (f->q && *f->q) {
        const char *like = query_like_contains(a, f->q, false);
        query_sql(&w, " AND (t.ticket_no LIKE ? ESCAPE '\\' OR t.content LIKE ? ESCAPE '\\' OR "
                      "t.address LIKE ? ESCAPE '\\')");
        query_text(&w, like);
        query_text(&w, like);
        query_text(&w, like);
    }
    void *page;
    e = query_page(d, a, &w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM hotline_tickets t",
                                        .select = TICKET_COLS TICKET_FROM,
                                        .order = " ORDER BY t.received_at DESC, t.id DESC",
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = HOTLINE_EXPORT_MAX,
                                        .size = sizeof(struct hotline_ticket),
                                        .read = ticket_read_item},
                   &page, n_r, total_r);
    struct hotline_ticket *v = page;
    for (size_t i = 0; !e && i < *n_r; i++)
        e = ticket_rules(d, a, &v[i]);
    if (!e)
        *items_r = v;
    return e;
}

err hotline_ticket_find(db *d, arena *a, const struct scope *sc, int64_t id,
                        struct hotline_ticket *t_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, TICKET_COLS TICKET_FROM " WHERE t.id = ? AND t.region_code >= ? AND t.region_code < ?",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    struct hotline_ticket t;
    if (!(e = db_row(s, &row)))
        e = row ? ticket_read(s, a, &t) : err_set(E_NOT_FOUND, "not_found", NULL, "工单不存在");
    db_done(s);
    if (!e)
        e = ticket_rules(d, a, &t);
    if (!e)
        *t_r = t;
    return e;
}

/* ---- counts ------------------------------------------------------------------------------ */

#define STREETS_MAX 1000

err hotline_counts(db *d, arena *a, const struct scope *sc, int64_t day_from, int64_t day_to,
                   const struct hotline_rule *rules, size_t nrules, struct hotline_count **items_r,
                   size_t *n_r)
{
    struct region_filter rf = {.level = LEVEL_STREET, .page = 1, .page_size = STREETS_MAX};
    struct region *streets;
    size_t n;
    int64_t total;
    err e = region_list(d, sc, &rf, a, &streets, &n, &total);
    if (e)
        return e;
    if (!n) { /* a scope below a street: its own street, counted over the scope alone */
        struct region self;
        if ((e = region_find(d, sc, sc->lo, false, a, &self)))
            return e;
        streets = arena_alloc(a, sizeof *streets);
        streets[0] = self;
        n = 1;
    }
    struct hotline_count *v = arena_alloc(a, n * sizeof *v);
    for (size_t i = 0; i < n && !e; i++) {
        int64_t lo = streets[i].code > sc->lo ? streets[i].code : sc->lo;
        int64_t end = regcode_end(streets[i].code), hi = end < sc->hi ? end : sc->hi;
        v[i] = (struct hotline_count){.code = streets[i].code, .name = streets[i].name};
        v[i].by_rule = arena_alloc(a, (nrules ? nrules : 1) * sizeof *v[i].by_rule);
        e = stats_sum(d, HOTLINE_M_TICKETS, lo, hi, day_from, day_to, &v[i].tickets);
        if (!e)
            e = stats_sum(d, HOTLINE_M_MATCHED, lo, hi, day_from, day_to, &v[i].matched);
        for (size_t k = 0; k < nrules && !e; k++) {
            char m[64];
            snprintf(m, sizeof m, HOTLINE_M_RULE ".%lld", (long long)rules[k].id);
            v[i].by_rule[k] = 0;
            e = stats_sum(d, m, lo, hi, day_from, day_to, &v[i].by_rule[k]);
        }
    }
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    return E_OK;
}
