/*
 * Stored tracing runs (trace.h "contact tracing"): the runs of cases in
 * scope, their contacts as the API lists them, the graph, the counts per
 * grid, the export and the commit into the case workflow.
 *
 * Scope: a run is visible when its case's region lies inside the caller's
 * scope; a contact is listed only when the contact's own region does, the
 * others are told as counts per district. Names leave masked unless the
 * caller revealed (the handler checks person.reveal and audits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "case/case.h"
#include "code/code.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "trace/trace.h"

/* ---- small look-ups ------------------------------------------------------------------ */

/* The name of a region ("" when unknown), from a.  */
static err region_name(db *d, arena *a, int64_t code, const char **name_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    bool row;
    if (!(e = db_row(s, &row)))
        *name_r = row ? arena_strdup(a, db_col_text(s, 0)) : "";
    db_done(s);
    return e;
}

/* The venues named by the reasons of one reply, looked up once each. */
struct venue_names {
    int64_t id[64];
    const char *name[64];
    size_t n;
};

static err venue_name(db *d, arena *a, struct venue_names *c, int64_t id, const char **name_r)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->id[i] == id) {
            *name_r = c->name[i];
            return E_OK;
        }
    db_stmt *s;
    err e = db_prepare(d, "SELECT name FROM venues WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    const char *name = "";
    if (!(e = db_row(s, &row)) && row)
        name = arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    if (e)
        return e;
    if (c->n < 64) {
        c->id[c->n] = id;
        c->name[c->n++] = name;
    }
    *name_r = name;
    return E_OK;
}

/* ---- runs ------------------------------------------------------------------------------ */

#define RUN_COLS                                                                                   \
    "SELECT t.id, t.person_id, t.region_code, t.from_at, t.to_at, t.degree, t.window_minutes, "    \
    "t.status, t.trigger_kind, t.close_count, t.secondary_count, t.general_count, t.truncated, "   \
    "t.elapsed_ms, t.rules, t.created_by, t.created_at, t.finished_at, p.name_enc, r.name, "       \
    "u.display_name FROM trace_runs t LEFT JOIN persons p ON p.id = t.person_id LEFT JOIN "        \
    "regions r ON r.code = t.region_code LEFT JOIN users u ON u.id = t.created_by "

static err run_from(arena *a, db_stmt *s, struct trace_run *t)
{
    *t = (struct trace_run){
        .id = db_col_int64(s, 0),
        .person_id = db_col_int64(s, 1),
        .region_code = db_col_int64(s, 2),
        .from = db_col_int64(s, 3),
        .to = db_col_int64(s, 4),
        .degree = (int)db_col_int64(s, 5),
        .window_minutes = (int)db_col_int64(s, 6),
        .status = arena_strdup(a, db_col_text(s, 7)),
        .trigger = arena_strdup(a, db_col_text(s, 8)),
        .truncated = db_col_int64(s, 12) != 0,
        .elapsed_ms = db_col_int64(s, 13),
        .rules = arena_strdup(a, db_col_text(s, 14)),
        .created_by = db_col_int64(s, 15),
        .created_at = db_col_int64(s, 16),
        .finished_at = db_col_int64(s, 17),
        .region_name = arena_strdup(a, db_col_text(s, 19)),
        .creator_name = arena_strdup(a, db_col_text(s, 20)),
    };
    t->counts[TRACE_CLOSE] = db_col_int64(s, 9);
    t->counts[TRACE_SECONDARY] = db_col_int64(s, 10);
    t->counts[TRACE_GENERAL] = db_col_int64(s, 11);
    return person_name_masked_col(a, s, 18, &t->person_name);
}

err trace_run_find(db *d, arena *a, const struct scope *sc, int64_t id, struct trace_run *r_r)
{
    db_stmt *s;
    err e =
        db_prepare(d, RUN_COLS "WHERE t.id = ? AND t.region_code >= ? AND t.region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        e = run_from(a, s, r_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "追踪记录不存在或不在您的管辖范围内");
    return e;
}

err trace_run_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code FROM trace_runs WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row)
        region = db_col_int64(s, 0);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "追踪记录不存在或不在您的管辖范围内");
    if (!e && !(e = db_prepare(d, "DELETE FROM trace_contacts WHERE run_id = ?", &s))) {
        db_bind_int64(s, 1, id);
        e = db_run(s, NULL);
    }
    if (!e && !(e = db_prepare(d, "DELETE FROM trace_runs WHERE id = ?", &s))) {
        db_bind_int64(s, 1, id);
        e = db_run(s, NULL);
    }
    return e ? e : trace_written(d, TRACE_REC_RUN, id, region, true);
}

err trace_run_list(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                   int64_t page_size, struct trace_run **items_r, size_t *n_r, int64_t *total_r)
{
#define RUN_WHERE                                                                                  \
    "WHERE t.region_code >= ? AND t.region_code < ? AND (CAST(? AS BIGINT) = 0 OR "                \
    "t.person_id = ?)"
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM trace_runs t " RUN_WHERE, &s);
    if (e)
        return e;
    int64_t b[] = {sc->lo, sc->hi, person_id, person_id};
    for (int i = 0; i < 4; i++)
        db_bind_int64(s, i + 1, b[i]);
    bool row;
    if (!(e = db_row(s, &row)))
        *total_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d, RUN_COLS RUN_WHERE " ORDER BY t.id DESC LIMIT ? OFFSET ?", &s)))
        return e;
    for (int i = 0; i < 4; i++)
        db_bind_int64(s, i + 1, b[i]);
    db_bind_int64(s, 5, page_size);
    db_bind_int64(s, 6, paging_offset(page, page_size));
    struct trace_run *items =
        arena_alloc(a, sizeof *items * (size_t)(page_size > 0 ? page_size : 1));
    size_t n = 0;
    while (!(e = db_row(s, &row)) && row && n < (size_t)page_size)
        if ((e = run_from(a, s, &items[n++])))
            break;
    db_done(s);
    if (!e) {
        *items_r = items;
        *n_r = n;
    }
    return e;
}

json_t *trace_run_json(const struct trace_run *t)
{
    json_t *o = json_object();
    json_set_id(o, "id", t->id);
    json_object_set_new(o, "person",
                        json_pack("{s:s?, s:s}", "name", t->person_name, "region_name",
                                  t->region_name ? t->region_name : ""));
    json_set_id(json_object_get(o, "person"), "id", t->person_id);
    char code[19];
    regcode_format(t->region_code, code);
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "region_name", json_string(t->region_name ? t->region_name : ""));
    json_object_set_new(o, "from", json_integer(t->from));
    json_object_set_new(o, "to", json_integer(t->to));
    json_object_set_new(o, "degree", json_integer(t->degree));
    json_object_set_new(o, "window_minutes", json_integer(t->window_minutes));
    json_object_set_new(o, "status", json_string(t->status));
    json_object_set_new(o, "trigger", json_string(t->trigger));
    json_object_set_new(o, "counts",
                        json_pack("{s:I, s:I, s:I}", "close", (json_int_t)t->counts[TRACE_CLOSE],
                                  "secondary", (json_int_t)t->counts[TRACE_SECONDARY], "general",
                                  (json_int_t)t->counts[TRACE_GENERAL]));
    json_object_set_new(o, "truncated", json_boolean(t->truncated));
    json_object_set_new(o, "elapsed_ms", json_integer(t->elapsed_ms));
    json_t *rules = json_loads(t->rules ? t->rules : "{}", 0, NULL);
    json_object_set_new(o, "rules", rules ? rules : json_object());
    json_set_id_or_null(o, "created_by", t->created_by);
    json_object_set_new(
        o, "created_by_name",
        json_string(t->creator_name && *t->creator_name ? t->creator_name : "系统自动"));
    json_object_set_new(o, "created_at", json_integer(t->created_at));
    json_object_set_new(o, "finished_at", json_integer(t->finished_at));
    return o;
}

/* ---- contacts ---------------------------------------------------------------------------- */

#define CFILTER                                                                                    \
    " AND (CAST(? AS BIGINT) = 0 OR c.degree = ?) AND (CAST(? AS BIGINT) = 0 OR c.class_rank = ?)" \
    " AND (CAST(? AS BIGINT) = 0 OR (CAST(c.kinds AS BIGINT) & CAST(? AS BIGINT)) <> 0)"

static int filter_rank(enum trace_class c)
{
    return c == TRACE_CLOSE ? 1 : c == TRACE_SECONDARY ? 2 : c == TRACE_GENERAL ? 3 : 0;
}

static void bind_filter(db_stmt *s, int i, const struct trace_contact_filter *f)
{
    int64_t kinds = f->kind ? 1LL << f->kind : 0;
    int64_t v[] = {f->degree, f->degree, filter_rank(f->cls), filter_rank(f->cls), kinds, kinds};
    for (int k = 0; k < 6; k++)
        db_bind_int64(s, i + k, v[k]);
}

/* The reasons stored as the API gives them: labels and venue names added. */
static err reasons_out(db *d, arena *a, struct venue_names *vn, const char *text, json_t **out_r)
{
    json_t *arr = trace_reasons_parse(text);
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *k = json_str(o, "kind");
        json_object_set_new(o, "kind_label",
                            json_string(k ? vocab_label_of(&trace_reason_vocab, k) : ""));
        const char *v = json_str(o, "venue_id");
        /* a venue of another instance's run is known by its name */
        const char *name = json_str(o, "place") ? json_str(o, "place") : "";
        if (v) {
            err e = venue_name(d, a, vn, id_parse(v), &name);
            if (e) {
                json_decref(arr);
                return e;
            }
        }
        json_object_set_new(o, "venue_name", json_string(name));
    }
    *out_r = arr;
    return E_OK;
}

static err outside_counts(db *d, arena *a, const struct scope *sc, int64_t run_id,
                          const struct trace_contact_filter *f, json_t **outside_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.region_code, COUNT(*) FROM trace_contacts c WHERE c.run_id = ? "
                       "AND (c.region_code < ? OR c.region_code >= ?)" CFILTER
                       " GROUP BY c.region_code ORDER BY c.region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bind_filter(s, 4, f);
    int64_t codes[256], counts[256];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t dist = regcode_at_most(db_col_int64(s, 0), LEVEL_DISTRICT);
        size_t k = 0;
        while (k < n && codes[k] != dist)
            k++;
        if (k == n && n < 256) {
            codes[n] = dist;
            counts[n++] = 0;
        }
        if (k < n)
            counts[k] += db_col_int64(s, 1);
    }
    db_done(s);
    json_t *arr = json_array();
    for (size_t k = 0; k < n && !e; k++) {
        const char *name;
        if (!(e = region_name(d, a, codes[k], &name))) {
            json_t *o = json_pack("{s:s, s:I}", "name", *name ? name : "其他地区", "count",
                                  (json_int_t)counts[k]);
            json_array_append_new(arr, o);
        }
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    *outside_r = arr;
    return E_OK;
}

/* Called with each contact as the API gives it (o borrowed; row: an arena
 * reset after the call). */
typedef err (*contact_fn)(void *ctx, arena *row, json_t *o);

/*
 * The run's contacts inside sc matching f, in the list's order, one by one
 * to fn: each row's texts live in a scratch arena reset per row and its JSON
 * is freed after fn, so an export of a large run stays flat in memory. The
 * names of venues are looked up once each (cached in a). The page is chosen
 * before the joins: PostgreSQL's generic plan (the filters' "? = 0 OR"
 * make it guess one row) otherwise joined every contact of a 40,000-contact
 * run to persons and regions before its top-20 sort, 0.4 to 2 s.
 */
static err contacts_each(db *d, arena *a, const struct scope *sc, int64_t run_id,
                         const struct trace_contact_filter *f, bool reveal, contact_fn fn,
                         void *ctx)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.id, c.person_id, c.region_code, c.degree, c.via_person_id, "
                       "c.class, c.reasons, c.incident_id, c.first_at, c.overlap_minutes, "
                       "p.name_enc, p.id_number_enc, r.name, v.name_enc, v.region_code FROM "
                       "(SELECT * FROM trace_contacts c WHERE c.run_id = ? AND c.region_code >= ? "
                       "AND c.region_code < ?" CFILTER
                       " ORDER BY c.degree, c.class_rank, c.first_at, c.id LIMIT ? OFFSET ?) c "
                       "LEFT JOIN persons p ON p.id = c.person_id LEFT JOIN regions r ON r.code = "
                       "c.region_code LEFT JOIN persons v ON v.id = c.via_person_id "
                       "ORDER BY c.degree, c.class_rank, c.first_at, c.id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bind_filter(s, 4, f);
    db_bind_int64(s, 10, f->page_size > 0 ? f->page_size : TRACE_CONTACTS_MAX);
    db_bind_int64(s, 11, f->page_size > 0 ? paging_offset(f->page, f->page_size) : 0);
    struct venue_names *vn = arena_zalloc(a, sizeof *vn);
    /* per row, reset after each: an export's rows do not pile up in the request's */
    arena *ra = arena_new(0);
    if (!ra) {
        db_done(s);
        return E_NOMEM;
    }
    bool row;
    while (!e && !(e = db_row(s, &row)) && row) {
        arena_reset(ra);
        int64_t region = db_col_int64(s, 2);
        const char *name = "", *idno = "";
        if (reveal) {
            if (!db_col_null(s, 10) && !(e = unseal_col(ra, s, 10, "persons.name", &name)) &&
                !db_col_null(s, 11))
                e = unseal_col(ra, s, 11, "persons.id_number", &idno);
        } else if (!(e = person_name_masked_col(ra, s, 10, &name)) && !db_col_null(s, 11) &&
                   !(e = unseal_col(ra, s, 11, "persons.id_number", &idno)))
            idno = mask_id_number(ra, idno);
        int64_t grid = regcode_at_most(region, LEVEL_GRID);
        const char *grid_name = "", *vname = "区外人员";
        if (!e && regcode_level(grid) == LEVEL_GRID)
            e = region_name(d, ra, grid, &grid_name);
        int64_t via = db_col_int64(s, 4);
        bool via_shown = via && scope_has(sc, db_col_int64(s, 14));
        if (!e && via_shown)
            e = person_name_masked_col(ra, s, 13, &vname);
        json_t *rs = NULL;
        if (!e)
            e = reasons_out(d, a, vn, db_col_text(s, 6), &rs);
        if (e)
            break;
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_t *p = json_pack("{s:s, s:s, s:s}", "name", name, "id_number", idno, "region_name",
                              db_col_text(s, 12));
        json_set_id(p, "id", db_col_int64(s, 1));
        char code[19];
        regcode_format(region, code);
        json_object_set_new(p, "region_code", json_string(code));
        json_object_set_new(p, "grid_name", json_string(grid_name));
        json_object_set_new(o, "person", p);
        json_object_set_new(o, "degree", json_integer(db_col_int64(s, 3)));
        if (via) {
            json_t *v = json_object();
            if (via_shown)
                json_set_id(v, "person_id", via);
            else
                json_object_set_new(v, "person_id", json_null());
            json_object_set_new(v, "name", json_string(vname));
            json_object_set_new(o, "via", v);
        } else
            json_object_set_new(o, "via", json_null());
        const char *cls = db_col_text(s, 5);
        json_object_set_new(o, "class", json_string(cls));
        json_object_set_new(o, "class_label", json_string(vocab_label_of(&trace_class_vocab, cls)));
        json_object_set_new(o, "first_at", json_integer(db_col_int64(s, 8)));
        json_object_set_new(o, "overlap_minutes", json_integer(db_col_int64(s, 9)));
        json_object_set_new(o, "reasons", rs);
        json_set_id_or_null(o, "incident_id", db_col_int64(s, 7));
        e = fn(ctx, ra, o);
        json_decref(o);
    }
    db_done(s);
    arena_free(&ra);
    return e;
}

static err collect(void *ctx, arena *row, json_t *o)
{
    (void)row;
    return json_array_append(ctx, o) ? E_NOMEM : E_OK;
}

err trace_contacts_read(db *d, arena *a, const struct scope *sc, int64_t run_id,
                        const struct trace_contact_filter *f, bool reveal, json_t **items_r,
                        int64_t *total_r, json_t **outside_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM trace_contacts c WHERE c.run_id = ? AND "
                       "c.region_code >= ? AND c.region_code < ?" CFILTER,
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bind_filter(s, 4, f);
    bool row;
    int64_t total = 0;
    if (!(e = db_row(s, &row)))
        total = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    json_t *items = json_array(), *outside = NULL;
    if (!e)
        e = contacts_each(d, a, sc, run_id, f, reveal, collect, items);
    if (!e && outside_r)
        e = outside_counts(d, a, sc, run_id, f, &outside);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    if (outside_r)
        *outside_r = outside;
    return E_OK;
}

/* ---- the graph ---------------------------------------------------------------------------- */

static const char *kind_of_bits(int64_t kinds)
{
    for (int k = 1; k < TRACE_R__COUNT; k++)
        if (kinds & (1LL << k))
            return vocab_name(&trace_reason_vocab, (size_t)k);
    return "";
}

struct node_ref {
    int64_t person;
    const char *id; /* the node standing for the person */
};

err trace_graph(db *d, arena *a, const struct scope *sc, const struct trace_run *run,
                json_t **graph_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.person_id, c.region_code, c.degree, c.via_person_id, c.class, "
                       "c.kinds, p.name_enc FROM trace_contacts c LEFT JOIN persons p ON p.id = "
                       "c.person_id WHERE c.run_id = ? ORDER BY c.degree, c.class_rank, "
                       "c.first_at, c.id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run->id);
    json_t *nodes = json_array(), *links = json_array();
    json_t *districts = json_object(); /* node id → node */
    /* degree-1 people → their node (degree-2 links start there) */
    size_t cap = 1024, nref = 0;
    struct node_ref *refs = malloc(cap * sizeof *refs);
    bool truncated = false, row;
    int64_t shown = 0;
    const char *case_id = arena_printf(a, "%lld", (long long)run->person_id);
    json_t *cn = json_pack("{s:s, s:s?, s:I, s:s}", "id", case_id, "name", run->person_name,
                           "degree", (json_int_t)0, "class", "case");
    json_array_append_new(nodes, cn);
    if (!refs)
        e = E_NOMEM;
    while (!e && !(e = db_row(s, &row)) && row) {
        int64_t person = db_col_int64(s, 0), region = db_col_int64(s, 1), via = db_col_int64(s, 3);
        int degree = (int)db_col_int64(s, 2);
        const char *node = NULL;
        if (scope_has(sc, region)) {
            if (shown < TRACE_GRAPH_NODES) {
                const char *name;
                if ((e = person_name_masked_col(a, s, 6, &name)))
                    break;
                node = arena_printf(a, "%lld", (long long)person);
                json_array_append_new(nodes, json_pack("{s:s, s:s, s:I, s:s}", "id", node, "name",
                                                       name, "degree", (json_int_t)degree, "class",
                                                       db_col_text(s, 4)));
                shown++;
            } else
                truncated = true;
        } else {
            int64_t dist = regcode_at_most(region, LEVEL_DISTRICT);
            node = arena_printf(a, "d%lld", (long long)dist);
            json_t *dn = json_object_get(districts, node);
            if (!dn) {
                dn = json_pack("{s:s, s:I, s:s, s:I}", "id", node, "degree", (json_int_t)degree,
                               "class", "outside", "count", (json_int_t)0);
                json_object_set_new(districts, node, dn);
            }
            json_object_set_new(dn, "count",
                                json_integer(json_integer_value(json_object_get(dn, "count")) + 1));
        }
        if (node && degree == 1) {
            if (!GROW(&refs, &cap, nref, 1, 1024)) {
                e = E_NOMEM;
                break;
            }
            refs[nref++] = (struct node_ref){person, node};
        }
        if (!node)
            continue;
        const char *source = case_id;
        if (degree == 2) {
            source = NULL;
            for (size_t k = 0; k < nref && !source; k++)
                if (refs[k].person == via)
                    source = refs[k].id;
            if (!source)
                continue; /* its degree-1 contact is not drawn */
        }
        json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "source", source, "target", node,
                                               "kind", kind_of_bits(db_col_int64(s, 5))));
    }
    db_done(s);
    free(refs);
    /* the districts' nodes, named; links to one district merged */
    const char *key;
    json_t *dn;
    json_object_foreach(districts, key, dn)
    {
        if (e)
            break;
        const char *name;
        int64_t dist = strtoll(key + 1, NULL, 10);
        if (!(e = region_name(d, a, dist, &name)))
            json_array_append_new(
                nodes,
                json_pack("{s:s, s:s, s:I, s:s}", "id", key, "name",
                          arena_printf(a, "%s（区外 %lld 人）", *name ? name : "其他地区",
                                       (long long)json_integer_value(json_object_get(dn, "count"))),
                          "degree", json_integer_value(json_object_get(dn, "degree")), "class",
                          "outside"));
    }
    json_decref(districts);
    if (!e) {
        /* one link per (source, target) pair */
        json_t *seen = json_object(), *unique = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(links, i, l)
        {
            const char *k = arena_printf(a, "%s>%s", json_str(l, "source"), json_str(l, "target"));
            if (json_object_get(seen, k))
                continue;
            json_object_set_new(seen, k, json_true());
            json_array_append(unique, l);
        }
        json_decref(seen);
        json_decref(links);
        links = unique;
    }
    if (e) {
        json_decref(nodes);
        json_decref(links);
        return e;
    }
    *graph_r = json_pack("{s:o, s:o, s:b}", "nodes", nodes, "links", links, "truncated", truncated);
    return E_OK;
}

/* ---- counts per grid ------------------------------------------------------------------------ */

err trace_grid_counts(db *d, arena *a, const struct scope *sc, int64_t run_id, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, class_rank, COUNT(*) FROM trace_contacts WHERE "
                       "run_id = ? AND region_code >= ? AND region_code < ? GROUP BY "
                       "region_code, class_rank",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    json_t *by = json_object(); /* grid code → {close, secondary, general} */
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t grid = regcode_at_most(db_col_int64(s, 0), LEVEL_GRID);
        char code[19];
        regcode_format(grid, code);
        json_t *o = json_object_get(by, code);
        if (!o) {
            o = json_pack("{s:I, s:I, s:I}", "close", (json_int_t)0, "secondary", (json_int_t)0,
                          "general", (json_int_t)0);
            json_object_set_new(by, code, o);
        }
        int rank = (int)db_col_int64(s, 1);
        const char *k = rank == 1 ? "close" : rank == 2 ? "secondary" : "general";
        json_object_set_new(
            o, k, json_integer(json_integer_value(json_object_get(o, k)) + db_col_int64(s, 2)));
    }
    db_done(s);
    json_t *items = json_array();
    const char *code;
    json_t *o;
    json_object_foreach(by, code, o)
    {
        if (e)
            break;
        enum region_level lv;
        int64_t c = regcode_parse(code, &lv);
        if ((e = db_prepare(
                 d, "SELECT name, level, center_lng, center_lat FROM regions WHERE code = ?", &s)))
            break;
        db_bind_int64(s, 1, c);
        json_t *g = json_object();
        json_object_set_new(g, "region_code", json_string(code));
        if (!(e = db_row(s, &row)) && row) {
            json_object_set_new(g, "name", json_string(db_col_text(s, 0)));
            json_object_set_new(
                g, "level", json_string(region_level_name((enum region_level)db_col_int64(s, 1))));
            if (!db_col_null(s, 2) && !db_col_null(s, 3))
                json_object_set_new(g, "center",
                                    json_pack("[f, f]", db_col_double(s, 2), db_col_double(s, 3)));
            else
                json_object_set_new(g, "center", json_null());
        } else {
            json_object_set_new(g, "name", json_string(""));
            json_object_set_new(g, "level", json_string(region_level_name(lv)));
            json_object_set_new(g, "center", json_null());
        }
        db_done(s);
        json_object_update(g, o);
        json_array_append_new(items, g);
    }
    json_decref(by);
    (void)a;
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- the export ------------------------------------------------------------------------------ */

static const char *reason_text(arena *a, json_t *r)
{
    const char *kind = json_str(r, "kind"), *label = json_str(r, "kind_label");
    if (kind && !strcmp(kind, "venue")) {
        char t[CHINA_TIME_LEN];
        china_time(json_int(r, "from", 0), t);
        int64_t crowd = json_int(r, "crowd", 0); /* runs before the crowd rule have none */
        return arena_printf(a, "%s：%s %s，共同停留%lld分钟%s", label, json_str(r, "venue_name"), t,
                            (long long)json_int(r, "overlap_minutes", 0),
                            crowd ? arena_printf(a, "，同场出入%lld人次", (long long)crowd) : "");
    }
    if (kind && !strcmp(kind, "travel"))
        return arena_printf(a, "%s：%s%s%s", label, json_str(r, "number"),
                            *json_str(r, "seat") ? " 座位" : "", json_str(r, "seat"));
    if (kind && !strcmp(kind, "vehicle")) {
        char t[CHINA_TIME_LEN];
        china_time(json_int(r, "from", 0), t);
        return arena_printf(a, "%s：%s %s", label, json_str(r, "venue_name"), t);
    }
    return label ? label : "";
}

static const char *const contact_head[] = {
    "姓名",     "证件号码",     "所属区划",         "网格",     "度数",    "分类",
    "传播来源", "首次接触时间", "共同停留（分钟）", "接触原因", "已转核查"};
static const char *const edge_head[] = {"传播来源", "接触者", "原因", "场所", "时间"};

struct export_ctx {
    xlsx_writer *w;
    const char *case_name;
};

/* a row of 密接人员 */
static err contact_row(void *ctx, arena *row, json_t *o)
{
    struct export_ctx *x = ctx;
    json_t *p = json_object_get(o, "person"), *via = json_object_get(o, "via");
    xlsx_cell_text(x->w, json_str(p, "name"));
    xlsx_cell_text(x->w, json_str(p, "id_number"));
    xlsx_cell_text(x->w, json_str(p, "region_name"));
    xlsx_cell_text(x->w, json_str(p, "grid_name"));
    xlsx_cell_int(x->w, json_int(o, "degree", 0));
    xlsx_cell_text(x->w, json_str(o, "class_label"));
    xlsx_cell_text(x->w, json_is_object(via) ? json_str(via, "name") : x->case_name);
    xlsx_cell_datetime(x->w, json_int(o, "first_at", 0));
    xlsx_cell_int(x->w, json_int(o, "overlap_minutes", 0));
    const char *why = "";
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(o, "reasons"), k, r) why =
        arena_printf(row, "%s%s%s", why, k ? "；" : "", reason_text(row, r));
    xlsx_cell_text(x->w, why);
    xlsx_cell_text(x->w, json_is_string(json_object_get(o, "incident_id")) ? "是" : "否");
    xlsx_row_end(x->w);
    return E_OK;
}

/* the rows of 传播关系: one per reason */
static err edge_rows(void *ctx, arena *row, json_t *o)
{
    (void)row;
    struct export_ctx *x = ctx;
    json_t *via = json_object_get(o, "via");
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(o, "reasons"), k, r)
    {
        xlsx_cell_text(x->w, json_is_object(via) ? json_str(via, "name") : x->case_name);
        xlsx_cell_text(x->w, json_str(json_object_get(o, "person"), "name"));
        xlsx_cell_text(x->w, json_str(r, "kind_label"));
        xlsx_cell_text(x->w, json_str(r, "venue_name"));
        xlsx_cell_datetime(x->w, json_int(r, "from", 0));
        xlsx_row_end(x->w);
    }
    return E_OK;
}

err trace_export(db *d, arena *a, const struct scope *sc, const struct trace_run *run, bool reveal,
                 int *fd_r, int64_t *size_r)
{
    struct trace_contact_filter f = {0};
    struct xlsx_write_opts opt = {.constant_memory = true};
    struct export_ctx x = {.case_name = run->person_name ? run->person_name : ""};
    err e = xlsx_writer_open_temp(&opt, &x.w);
    if (e)
        return e;
    if (!(e = xlsx_sheet_add(x.w, "密接人员"))) {
        xlsx_row_header(x.w, contact_head, sizeof contact_head / sizeof *contact_head);
        e = contacts_each(d, a, sc, run->id, &f, reveal, contact_row, &x);
    }
    if (!e && !(e = xlsx_sheet_add(x.w, "传播关系"))) {
        xlsx_row_header(x.w, edge_head, sizeof edge_head / sizeof *edge_head);
        e = contacts_each(d, a, sc, run->id, &f, reveal, edge_rows, &x);
    }
    if (e) {
        err_ignore(xlsx_close(&x.w));
        return e;
    }
    return xlsx_close_fd(&x.w, fd_r, size_r);
}

/* ---- commit -----------------------------------------------------------------------------------
 */

struct committing {
    int64_t id, person_id, via, first_at, incident_id;
    int degree;
    char cls[16];
    char *reasons;
};

/* "与确诊病例张**于2026-11-20 14:05在XX超市同时停留25分钟" */
static const char *why_text(db *d, arena *a, struct venue_names *vn, const struct trace_run *run,
                            const char *case_label, const struct committing *c)
{
    json_t *rs;
    if (reasons_out(d, a, vn, c->reasons, &rs))
        return arena_printf(a, "%s%s的密切接触者", case_label, run->person_name);
    json_t *r = json_array_get(rs, 0);
    const char *kind = json_str(r, "kind");
    char t[CHINA_TIME_LEN];
    china_time(json_int(r, "from", 0), t);
    t[16] = 0; /* to the minute */
    const char *who = arena_printf(a, "%s%s", case_label, run->person_name);
    const char *s;
    if (kind && !strcmp(kind, "venue"))
        s = arena_printf(a, "与%s于%s在%s同时停留%lld分钟", who, t, json_str(r, "venue_name"),
                         (long long)json_int(r, "overlap_minutes", 0));
    else if (kind && !strcmp(kind, "travel"))
        s = arena_printf(a, "与%s于%.10s同乘%s%s%s", who, t, json_str(r, "number"),
                         *json_str(r, "seat") ? "，座位" : "", json_str(r, "seat"));
    else if (kind && !strcmp(kind, "vehicle"))
        s = arena_printf(a, "于%s在%s与%s的车辆同时出入", t, json_str(r, "venue_name"), who);
    else if (kind && !strcmp(kind, "household"))
        s = arena_printf(a, "与%s同户居住", who);
    else if (kind && !strcmp(kind, "building"))
        s = arena_printf(a, "与%s同楼栋居住", who);
    else
        s = arena_printf(a, "%s的接触者", who);
    if (c->degree == 2)
        s = arena_printf(a, "%s的密接的接触者：%s", who, s);
    json_decref(rs);
    return s;
}

err trace_commit(db *d, arena *a, const struct principal *who, const struct trace_run *run,
                 const int64_t *ids, size_t n, json_t **reply_r)
{
    struct committing *cs = arena_zalloc(a, sizeof *cs * n);
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT person_id, via_person_id, first_at, incident_id, degree, "
                            "class, reasons FROM trace_contacts WHERE id = ? AND run_id = ? AND "
                            "region_code >= ? AND region_code < ?",
                            &s)))
            break;
        db_bind_int64(s, 1, ids[i]);
        db_bind_int64(s, 2, run->id);
        db_bind_int64(s, 3, who->scope.lo);
        db_bind_int64(s, 4, who->scope.hi);
        bool row;
        if (!(e = db_row(s, &row)) && row) {
            cs[i] = (struct committing){.id = ids[i],
                                        .person_id = db_col_int64(s, 0),
                                        .via = db_col_int64(s, 1),
                                        .first_at = db_col_int64(s, 2),
                                        .incident_id = db_col_int64(s, 3),
                                        .degree = (int)db_col_int64(s, 4),
                                        .reasons = arena_strdup(a, db_col_text(s, 6))};
            snprintf(cs[i].cls, sizeof cs[i].cls, "%s", db_col_text(s, 5));
        }
        db_done(s);
        if (!e && !row)
            e = err_set(E_NOT_FOUND, "unknown_contact", "contact_ids",
                        "所选接触者不存在或不在您的管辖范围内");
    }
    if (e)
        return e;
    /* the case's status, for the text */
    struct person cp;
    const char *case_label = "病例";
    struct scope all = scope_all();
    if (!person_find_brief(d, a, &all, run->person_id, &cp))
        case_label = cp.status == PERSON_CONFIRMED      ? "确诊病例"
                     : cp.status == PERSON_SUSPECTED    ? "疑似病例"
                     : cp.status == PERSON_ASYMPTOMATIC ? "无症状感染者"
                                                        : "病例";
    if ((e = code_defer_begin(d)))
        return e;
    json_t *incidents = json_array(), *skipped = json_array();
    struct venue_names *vn = arena_zalloc(a, sizeof *vn);
    int64_t committed = 0;
    for (size_t i = 0; i < n && !e; i++) {
        const struct committing *c = &cs[i];
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = cs[k].id == c->id;
        if (dup)
            continue;
        /* claimed first (-1 until its report exists): a commit running at
         * the same time on PostgreSQL waits on the row and then finds it
         * taken, so a contact is reported once */
        int64_t claimed = 0;
        if (!c->incident_id) {
            db_stmt *q;
            if ((e = db_prepare(d,
                                "UPDATE trace_contacts SET incident_id = -1 WHERE id = ? AND "
                                "incident_id = 0",
                                &q)))
                break;
            db_bind_int64(q, 1, c->id);
            if ((e = db_run(q, &claimed)))
                break;
        }
        if (!claimed) {
            json_t *o = json_pack("{s:s}", "reason", "already_committed");
            json_set_id(o, "id", c->id);
            json_array_append_new(skipped, o);
            continue;
        }
        struct incident_new in = {
            .source = SOURCE_CONTACT,
            .category = INCIDENT_CONTACT,
            .person_id = c->person_id,
            .temperature = -1,
            .description = why_text(d, a, vn, run, case_label, c),
        };
        int64_t incident = 0, input = 0;
        if ((e = incident_report(d, a, who, &in, &incident, NULL)))
            break;
        char case_id[24];
        snprintf(case_id, sizeof case_id, "%lld", (long long)run->person_id);
        json_t *body = json_pack(
            "{s:I, s:s, s:I}", "degree", (json_int_t)(!strcmp(c->cls, "close") ? 1 : 2),
            "case_person_id", case_id, "at", (json_int_t)(c->first_at ? c->first_at : run->from));
        e = code_input_add(d, a, who, &code_contacts, c->person_id, body, &input);
        json_decref(body);
        if (e)
            break;
        db_stmt *s;
        if ((e = db_prepare(d, "UPDATE trace_contacts SET incident_id = ? WHERE id = ?", &s)))
            break;
        db_bind_int64(s, 1, incident);
        db_bind_int64(s, 2, c->id);
        if ((e = db_run(s, NULL)))
            break;
        json_t *id = json_object();
        json_set_id(id, "id", incident);
        json_array_append_new(incidents, json_incref(json_object_get(id, "id")));
        json_decref(id);
        committed++;
    }
    if (!e)
        e = code_defer_flush(d, a);
    code_defer_end(d);
    if (e) {
        json_decref(incidents);
        json_decref(skipped);
        return e;
    }
    *reply_r = json_pack("{s:I, s:o, s:o}", "committed", (json_int_t)committed, "incidents",
                         incidents, "skipped", skipped);
    return E_OK;
}
