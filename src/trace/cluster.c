/*
 * Transmission chains and clusters (trace.h; docs/tracing.md "Transmission
 * chains"): case → source case links with the cycle check, clusters with
 * their member cases, and the graphs the console draws.
 *
 * A link's region is its case's residence and a cluster's its own region;
 * every statement binds the caller's scope on them, and both ends of a link
 * and every member are cases inside the caller's scope when written. The
 * cycle check walks every link whatever its region: a chain crossing two
 * communities is still one chain.
 */
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/fields.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "trace/trace.h"

#define L_LINK_NOTE "case_links.note"

static const struct vocab_word link_kinds[] = {
    [CASE_LINK_CERTAIN] = {"certain", "明确"},
    [CASE_LINK_POSSIBLE] = {"possible", "可能"},
};
const struct vocab case_link_kind_vocab = VOCAB("case_link_kinds", "传播关系", link_kinds);
_Static_assert(sizeof link_kinds / sizeof link_kinds[0] == CASE_LINK__COUNT, "a word a kind");

static const struct vocab_word statuses[] = {
    [CLUSTER_OPEN] = {"open", "处置中"},
    [CLUSTER_CLOSED] = {"closed", "已结束"},
};
const struct vocab cluster_status_vocab = VOCAB("cluster_statuses", "聚集性疫情状态", statuses);
_Static_assert(sizeof statuses / sizeof statuses[0] == CLUSTER_STATUS__COUNT, "a word a status");

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* ---- the cycle check ------------------------------------------------------------------ */

err case_link_reaches(arena *a, case_sources_fn sources, void *ctx, int64_t from, int64_t to,
                      bool *r)
{
    /* breadth first over the sources; seen is the queue too */
    int64_t *seen = arena_alloc(a, CASE_CHAIN_MAX * sizeof *seen);
    size_t n = 0, head = 0;
    seen[n++] = from;
    *r = from == to;
    while (!*r && head < n) {
        int64_t *ids;
        size_t k;
        err e = sources(ctx, seen[head++], &ids, &k);
        if (e)
            return e;
        for (size_t i = 0; i < k && !*r; i++) {
            bool dup = false;
            for (size_t j = 0; j < n && !dup; j++)
                dup = seen[j] == ids[i];
            if (dup)
                continue;
            if (ids[i] == to)
                *r = true;
            else if (n == CASE_CHAIN_MAX)
                return err_set(E_CONFLICT, "chain_too_long", "source_id",
                               "传播链超过%d个病例，无法校验", CASE_CHAIN_MAX);
            else
                seen[n++] = ids[i];
        }
    }
    return E_OK;
}

struct db_sources {
    db *d;
    arena *a;
};

/* The sources of case `id` from case_links (every region). */
static err sources_of(void *ctx, int64_t id, int64_t **ids_r, size_t *n_r)
{
    struct db_sources *x = ctx;
    db_stmt *s;
    err e = db_prepare(x->d, "SELECT source_id FROM case_links WHERE person_id = ? LIMIT 1000", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    int64_t *ids = arena_alloc(x->a, 1000 * sizeof *ids);
    size_t n = 0;
    bool row;
    while (n < 1000 && !(e = db_row(s, &row)) && row)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    *ids_r = ids;
    *n_r = n;
    return e;
}

/* ---- links ---------------------------------------------------------------------------- */

err case_link_create(db *d, arena *a, const struct scope *sc, const struct case_link *l,
                     int64_t user_id, int64_t *id_r)
{
    if (l->person_id <= 0)
        return err_set(E_INPUT, "required", "person_id", "请选择病例");
    if (l->source_id <= 0)
        return err_set(E_INPUT, "required", "source_id", "请选择传染源病例");
    if (l->kind <= CASE_LINK_NONE || l->kind >= CASE_LINK__COUNT)
        return err_set(E_INPUT, "required", "kind", "请选择传播关系（明确或可能）");
    if (l->person_id == l->source_id)
        return err_set(E_INPUT, "link_cycle", "source_id", "病例不能是自己的传染源");
    int64_t region = 0;
    err e = trace_case_region(d, sc, l->person_id, "person_id", &region);
    if (!e)
        e = trace_case_region(d, sc, l->source_id, "source_id", NULL);
    if (e)
        return e;
    /* the new link closes a cycle when the case is already a source of its
     * source, however far up */
    struct db_sources ctx = {d, a};
    bool cycle;
    if ((e = case_link_reaches(a, sources_of, &ctx, l->source_id, l->person_id, &cycle)))
        return e;
    if (cycle)
        return err_set(E_INPUT, "link_cycle", "source_id",
                       "该病例已在传染源的上游传播链中，不能形成循环");
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM case_links WHERE person_id = ? AND source_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, l->person_id);
    db_bind_int64(s, 2, l->source_id);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "duplicate_link", "source_id", "这两个病例之间已有传播关系");
    if ((e = db_prepare(d,
                        "INSERT INTO case_links (id, person_id, source_id, region_code, kind, "
                        "note_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, l->person_id);
    db_bind_int64(s, 3, l->source_id);
    db_bind_int64(s, 4, region);
    db_bind_text(s, 5, vocab_name(&case_link_kind_vocab, l->kind));
    if ((e = seal_bind(a, s, 6, L_LINK_NOTE, *nz(l->note) ? l->note : NULL))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 7, user_id);
    db_bind_int64(s, 8, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err case_link_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "DELETE FROM case_links WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}

#define LINK_SELECT                                                                                \
    "SELECT l.id, l.person_id, l.source_id, l.region_code, l.kind, l.note_enc, p.name_enc, "       \
    "q.name_enc, l.created_by, l.created_at FROM case_links l "                                    \
    "LEFT JOIN persons p ON p.id = l.person_id LEFT JOIN persons q ON q.id = l.source_id "

static err link_row(db_stmt *s, arena *a, struct case_link *l)
{
    memset(l, 0, sizeof *l);
    l->id = db_col_int64(s, 0);
    l->person_id = db_col_int64(s, 1);
    l->source_id = db_col_int64(s, 2);
    l->region_code = db_col_int64(s, 3);
    int k = vocab_parse(&case_link_kind_vocab, db_col_text(s, 4));
    l->kind = k > 0 ? (enum case_link_kind)k : CASE_LINK_POSSIBLE;
    l->created_by = db_col_int64(s, 8);
    l->created_at = db_col_int64(s, 9);
    err e = unseal_col(a, s, 5, L_LINK_NOTE, &l->note);
    if (!e)
        e = unseal_col(a, s, 6, "persons.name", &l->person_name);
    if (!e)
        e = unseal_col(a, s, 7, "persons.name", &l->source_name);
    return e;
}

/* The rows of a prepared LINK_SELECT, at most CASE_CHAIN_MAX. */
static err link_rows(db_stmt *s, arena *a, struct case_link **items_r, size_t *n_r)
{
    size_t cap = 16, n = 0;
    struct case_link *v = arena_alloc(a, cap * sizeof *v);
    bool row;
    err e;
    while (!(e = db_row(s, &row)) && row && n < CASE_CHAIN_MAX) {
        if (n == cap) {
            struct case_link *w = arena_alloc(a, 2 * cap * sizeof *w);
            memcpy(w, v, n * sizeof *v);
            v = w;
            cap *= 2;
        }
        if ((e = link_row(s, a, &v[n])))
            break;
        n++;
    }
    db_done(s);
    if (!e) {
        *items_r = v;
        *n_r = n;
    }
    return e;
}

err case_link_list(db *d, arena *a, const struct scope *sc, int64_t person_id,
                   struct case_link **items_r, size_t *n_r)
{
    struct query *q = arena_alloc(a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    query_sql(q, LINK_SELECT "WHERE l.region_code >= ? AND l.region_code < ?");
    query_int(q, sc->lo);
    query_int(q, sc->hi);
    if (person_id) {
        query_sql(q, " AND (l.person_id = ? OR l.source_id = ?)");
        query_int(q, person_id);
        query_int(q, person_id);
    }
    query_sql(q, " ORDER BY l.created_at, l.id LIMIT ?");
    query_int(q, CASE_CHAIN_MAX);
    db_stmt *s;
    err e = query_prepare(d, q, &s);
    return e ? e : link_rows(s, a, items_r, n_r);
}

/* ---- clusters ------------------------------------------------------------------------- */

err cluster_apply_json(arena *a, json_t *body, struct cluster *c)
{
    if (!json_is_object(body))
        return err_set(E_INPUT, "invalid_json", NULL, "请求体应为 JSON 对象");
    struct cluster x = *c;
    json_t *v;
    err e;
    if ((v = json_object_get(body, "name"))) {
        x.name = json_is_string(v) ? field_trim(a, json_string_value(v)) : "";
        if ((e = check_text(x.name, "name", "名称", CLUSTER_NAME_MAX,
                            TEXT_ONE_LINE | TEXT_REQUIRED)))
            return e;
    }
    if ((v = json_object_get(body, "region_code"))) {
        enum region_level lv;
        if (!json_is_string(v) || (x.region_code = regcode_parse(json_string_value(v), &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
    }
    if ((v = json_object_get(body, "first_case_on"))) {
        if (json_is_null(v))
            x.first_case_on = 0;
        else if (!json_is_string(v) || !(x.first_case_on = field_date_parse(json_string_value(v))))
            return err_set(E_INPUT, "invalid_date", "first_case_on",
                           "首例日期应为“2026-01-31”形式的日期");
    }
    if ((v = json_object_get(body, "status"))) {
        int st = json_is_string(v) ? vocab_parse(&cluster_status_vocab, json_string_value(v)) : -1;
        if (st <= 0)
            return err_set(E_INPUT, "invalid_value", "status", "状态应为处置中或已结束");
        x.status = (enum cluster_status)st;
    }
    if ((v = json_object_get(body, "note"))) {
        x.note = json_is_string(v) ? field_trim(a, json_string_value(v)) : "";
        if ((e = check_text(x.note, "note", "备注", CLUSTER_NOTE_MAX, 0)))
            return e;
    }
    *c = x;
    return E_OK;
}

static err cluster_check(db *d, const struct scope *sc, const struct cluster *c)
{
    if (!c->name || !*c->name)
        return err_set(E_INPUT, "required", "name", "请填写名称");
    if (c->first_case_on && c->first_case_on > china_today())
        return err_set(E_INPUT, "invalid_range", "first_case_on", "首例日期不能晚于今天");
    if (!c->region_code)
        return err_set(E_INPUT, "required", "region_code", "请选择所属区划");
    return person_region_check(d, sc, c->region_code, "region_code");
}

err cluster_create(db *d, arena *a, const struct scope *sc, struct cluster *c, int64_t user_id,
                   int64_t *id_r)
{
    (void)a;
    if (!c->status)
        c->status = CLUSTER_OPEN;
    err e = cluster_check(d, sc, c);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO clusters (id, name, region_code, first_case_on, status, "
                        "note, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, c->name);
    db_bind_int64(s, 3, c->region_code);
    db_bind_int64(s, 4, c->first_case_on);
    db_bind_text(s, 5, vocab_name(&cluster_status_vocab, c->status));
    db_bind_text(s, 6, nz(c->note));
    db_bind_int64(s, 7, user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err cluster_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version,
                   json_t *body)
{
    struct cluster c;
    err e = cluster_find(d, a, sc, id, &c);
    if (e)
        return e;
    if (version > 0 && version != c.version)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    if ((e = cluster_apply_json(a, body, &c)) || (e = cluster_check(d, sc, &c)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE clusters SET name = ?, region_code = ?, first_case_on = ?, "
                        "status = ?, note = ?, version = version + 1, updated_at = ? WHERE id = ? "
                        "AND version = ? AND deleted_at = 0 AND region_code >= ? AND "
                        "region_code < ?",
                        &s)))
        return e;
    db_bind_text(s, 1, c.name);
    db_bind_int64(s, 2, c.region_code);
    db_bind_int64(s, 3, c.first_case_on);
    db_bind_text(s, 4, vocab_name(&cluster_status_vocab, c.status));
    db_bind_text(s, 5, nz(c.note));
    db_bind_int64(s, 6, now_ms());
    db_bind_int64(s, 7, id);
    db_bind_int64(s, 8, c.version);
    db_bind_int64(s, 9, sc->lo);
    db_bind_int64(s, 10, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK
             : err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
}

err cluster_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE clusters SET deleted_at = ?, version = version + 1 WHERE id = ? "
                       "AND deleted_at = 0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if ((e = db_prepare(d, "DELETE FROM cluster_members WHERE cluster_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    return db_run(s, NULL);
}

#define CLUSTER_SELECT                                                                             \
    "SELECT c.id, c.name, c.region_code, r.name, c.first_case_on, c.status, c.note, "              \
    "c.member_count, c.created_by, c.version, c.created_at, c.updated_at FROM clusters c "         \
    "LEFT JOIN regions r ON r.code = c.region_code "

static void cluster_row(db_stmt *s, arena *a, struct cluster *c)
{
    memset(c, 0, sizeof *c);
    c->id = db_col_int64(s, 0);
    c->name = arena_strdup(a, db_col_text(s, 1));
    c->region_code = db_col_int64(s, 2);
    c->region_name = arena_strdup(a, db_col_text(s, 3));
    c->first_case_on = (int32_t)db_col_int64(s, 4);
    int st = vocab_parse(&cluster_status_vocab, db_col_text(s, 5));
    c->status = st > 0 ? (enum cluster_status)st : CLUSTER_OPEN;
    c->note = arena_strdup(a, db_col_text(s, 6));
    c->member_count = db_col_int64(s, 7);
    c->created_by = db_col_int64(s, 8);
    c->version = db_col_int64(s, 9);
    c->created_at = db_col_int64(s, 10);
    c->updated_at = db_col_int64(s, 11);
}

/* cluster_row as query_page reads a list's row. */
static err cluster_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    cluster_row(s, a, item);
    return E_OK;
}

err cluster_find(db *d, arena *a, const struct scope *sc, int64_t id, struct cluster *c_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       CLUSTER_SELECT "WHERE c.id = ? AND c.deleted_at = 0 AND c.region_code >= ? "
                                      "AND c.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            cluster_row(s, a, c_r);
        else
            e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    db_done(s);
    return e;
}

err cluster_list(db *d, arena *a, const struct scope *sc, const struct cluster_filter *f,
                 struct cluster **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE c.deleted_at = 0 AND c.region_code >= ? AND c.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->region_code) {
        if (!scope_has(sc, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND c.region_code >= ? AND c.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->status) {
        query_sql(w, " AND c.status = ?");
        query_text(w, vocab_name(&cluster_status_vocab, f->status));
    }
    if (f->person_id) {
        query_sql(w, " AND c.id IN (SELECT cluster_id FROM cluster_members WHERE person_id = ?)");
        query_int(w, f->person_id);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM clusters c",
                                            .select = CLUSTER_SELECT,
                                            .order = " ORDER BY c.created_at DESC, c.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = INV_EXPORT_MAX,
                                            .size = sizeof(struct cluster),
                                            .read = cluster_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

static err member_count(db *d, int64_t cluster_id, int delta)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE clusters SET member_count = member_count + ?, version = version + "
                       "1, updated_at = ? WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, cluster_id);
    return db_run(s, NULL);
}

err cluster_member_add(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                       int64_t person_id, int64_t user_id)
{
    struct cluster c;
    err e = cluster_find(d, a, sc, cluster_id, &c);
    if (e)
        return e;
    if (c.member_count >= CLUSTER_MEMBERS_MAX)
        return err_set(E_INPUT, "too_many_members", "person_id", "一个聚集性疫情最多%d个病例",
                       CLUSTER_MEMBERS_MAX);
    if ((e = trace_case_region(d, sc, person_id, "person_id", NULL)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM cluster_members WHERE cluster_id = ? AND person_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, cluster_id);
    db_bind_int64(s, 2, person_id);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "already_member", "person_id", "该病例已在此聚集性疫情中");
    if ((e = db_prepare(d,
                        "INSERT INTO cluster_members (cluster_id, person_id, added_by, added_at) "
                        "VALUES (?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, cluster_id);
    db_bind_int64(s, 2, person_id);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    return member_count(d, cluster_id, 1);
}

err cluster_member_remove(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                          int64_t person_id)
{
    struct cluster c;
    err e = cluster_find(d, a, sc, cluster_id, &c);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "DELETE FROM cluster_members WHERE cluster_id = ? AND person_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, cluster_id);
    db_bind_int64(s, 2, person_id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_NOT_FOUND, "not_found", "person_id", "该病例不在此聚集性疫情中");
    return member_count(d, cluster_id, -1);
}

static json_t *day_json(int32_t day)
{
    if (!day)
        return json_null();
    char buf[11];
    field_date_format(day, buf);
    return json_string(buf);
}

json_t *cluster_json(const struct cluster *c)
{
    json_t *o = json_object();
    json_set_id(o, "id", c->id);
    json_object_set_new(o, "name", json_string(nz(c->name)));
    json_set_region(o, c->region_code, c->region_name);
    json_object_set_new(o, "first_case_on", day_json(c->first_case_on));
    json_object_set_new(o, "status", json_string(vocab_name(&cluster_status_vocab, c->status)));
    json_object_set_new(o, "status_label",
                        json_string(vocab_label(&cluster_status_vocab, c->status)));
    json_object_set_new(o, "note", json_string(nz(c->note)));
    json_object_set_new(o, "member_count", json_integer(c->member_count));
    json_object_set_new(o, "version", json_integer(c->version));
    json_object_set_new(o, "created_at", json_integer(c->created_at));
    json_object_set_new(o, "updated_at", json_integer(c->updated_at));
    return o;
}

/* ---- graphs --------------------------------------------------------------------------- */

/* The newest investigation's onset of each case (outside any scope: the
 * caller chose the nodes). */
#define NODE_SELECT                                                                                \
    "SELECT p.id, p.region_code, r.name, p.name_enc, p.status, (SELECT i.onset_on FROM "           \
    "investigations i WHERE i.person_id = p.id AND i.deleted_at = 0 AND i.onset_on > 0 ORDER BY "  \
    "i.investigated_at DESC, i.id DESC LIMIT 1) "

static err node_rows(db_stmt *s, arena *a, struct case_node **items_r, size_t *n_r, bool added)
{
    size_t cap = 16, n = 0;
    struct case_node *v = arena_alloc(a, cap * sizeof *v);
    bool row;
    err e;
    while (!(e = db_row(s, &row)) && row && n < CASE_CHAIN_MAX) {
        if (n == cap) {
            struct case_node *w = arena_alloc(a, 2 * cap * sizeof *w);
            memcpy(w, v, n * sizeof *v);
            v = w;
            cap *= 2;
        }
        struct case_node *x = &v[n];
        memset(x, 0, sizeof *x);
        x->person_id = db_col_int64(s, 0);
        x->region_code = db_col_int64(s, 1);
        x->region_name = arena_strdup(a, db_col_text(s, 2));
        if ((e = unseal_col(a, s, 3, "persons.name", &x->name)))
            break;
        x->status = (int)person_status_parse(db_col_text(s, 4));
        x->onset_on = db_col_null(s, 5) ? 0 : (int32_t)db_col_int64(s, 5);
        x->added_at = added ? db_col_int64(s, 6) : 0;
        n++;
    }
    db_done(s);
    if (!e) {
        *items_r = v;
        *n_r = n;
    }
    return e;
}

static bool has_node(const struct case_graph *g, int64_t id)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].person_id == id)
            return true;
    return false;
}

/* Keep the links of g whose ends are both nodes. */
static void links_between(struct case_graph *g, struct case_link *links, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (has_node(g, links[i].person_id) && has_node(g, links[i].source_id))
            links[k++] = links[i];
    g->links = links;
    g->n_links = k;
}

err cluster_graph(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                  struct case_graph *g_r)
{
    struct cluster c;
    err e = cluster_find(d, a, sc, cluster_id, &c);
    if (e)
        return e;
    struct case_graph g = {0};
    db_stmt *s;
    if ((e = db_prepare(d,
                        NODE_SELECT ", m.added_at FROM cluster_members m JOIN persons p ON p.id = "
                                    "m.person_id LEFT JOIN regions r ON r.code = p.region_code "
                                    "WHERE m.cluster_id = ? AND p.region_code >= ? AND "
                                    "p.region_code < ? ORDER BY m.added_at, p.id",
                        &s)))
        return e;
    db_bind_int64(s, 1, cluster_id);
    db_bind_int64(s, 2, sc->lo); /* a member who moved out of the scope is not shown */
    db_bind_int64(s, 3, sc->hi);
    if ((e = node_rows(s, a, &g.nodes, &g.n_nodes, true)))
        return e;
    if ((e = db_prepare(d,
                        LINK_SELECT "WHERE l.person_id IN (SELECT person_id FROM cluster_members "
                                    "WHERE cluster_id = ?) ORDER BY l.created_at, l.id",
                        &s)))
        return e;
    db_bind_int64(s, 1, cluster_id);
    struct case_link *links;
    size_t n;
    if ((e = link_rows(s, a, &links, &n)))
        return e;
    links_between(&g, links, n);
    *g_r = g;
    return E_OK;
}

err case_link_graph(db *d, arena *a, const struct scope *sc, int64_t region_code,
                    struct case_graph *g_r)
{
    struct scope within = *sc;
    if (region_code) {
        if (!scope_has(sc, region_code))
            return err_set(E_INPUT, "invalid_region", "region",
                           "所属区划不存在或不在您的管辖范围内");
        within.lo = region_code;
        within.hi = regcode_end(region_code);
    }
    struct case_link *links;
    size_t n;
    err e = case_link_list(d, a, &within, 0, &links, &n);
    if (e)
        return e;
    /* the nodes: every case the links name that lies inside the caller's
     * scope (a source in another region stays out, its link with it) */
    struct case_graph g = {0};
    db_stmt *s;
    if ((e = db_prepare(d,
                        NODE_SELECT "FROM persons p LEFT JOIN regions r ON r.code = p.region_code "
                                    "WHERE p.deleted_at = 0 AND p.region_code >= ? AND "
                                    "p.region_code < ? AND p.id IN (SELECT person_id FROM "
                                    "case_links WHERE region_code >= ? AND region_code < ? UNION "
                                    "SELECT source_id FROM case_links WHERE region_code >= ? AND "
                                    "region_code < ?) ORDER BY p.id",
                        &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    for (int i = 0; i < 2; i++) {
        db_bind_int64(s, 3 + 2 * i, within.lo);
        db_bind_int64(s, 4 + 2 * i, within.hi);
    }
    if ((e = node_rows(s, a, &g.nodes, &g.n_nodes, false)))
        return e;
    links_between(&g, links, n);
    *g_r = g;
    return E_OK;
}

json_t *case_graph_json(arena *a, const struct case_graph *g)
{
    json_t *nodes = json_array(), *links = json_array();
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct case_node *x = &g->nodes[i];
        enum person_status st = (enum person_status)x->status;
        json_t *o = json_pack("{s:s,s:s,s:s}", "name", mask_name(a, nz(x->name)), "status",
                              st ? person_status_name(st) : "", "status_label",
                              st ? person_status_label(st) : "");
        json_set_id(o, "id", x->person_id);
        json_set_region(o, x->region_code, x->region_name);
        json_object_set_new(o, "onset_on", day_json(x->onset_on));
        if (x->added_at)
            json_object_set_new(o, "added_at", json_integer(x->added_at));
        json_array_append_new(nodes, o);
    }
    for (size_t i = 0; i < g->n_links; i++) {
        const struct case_link *l = &g->links[i];
        json_t *o = json_pack("{s:s,s:s}", "kind", vocab_name(&case_link_kind_vocab, l->kind),
                              "kind_label", vocab_label(&case_link_kind_vocab, l->kind));
        json_set_id(o, "id", l->id);
        json_set_id(o, "source", l->source_id);
        json_set_id(o, "target", l->person_id);
        json_array_append_new(links, o);
    }
    return json_pack("{s:o,s:o}", "nodes", nodes, "links", links);
}
