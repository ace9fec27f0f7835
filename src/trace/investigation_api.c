/*
 * HTTP handlers of investigations, case links and clusters (trace.h;
 * docs/tracing.md "Investigations", "Transmission chains"):
 *
 *   GET    /api/v1/investigations/venue-matches?place=   venues in scope matching a place's text
 *   POST   /api/v1/investigations                        record one (trace.write)
 *   GET    /api/v1/investigations                        list: person_id, region_code, from, to;
 *                                                        paging; format=csv|xlsx; reveal=1
 *   GET    /api/v1/investigations/{id}                   one, with places (and venue suggestions
 *                                                        for those without a venue) and contacts
 *   PATCH  /api/v1/investigations/{id}                   change (places, contacts replaced)
 *   DELETE /api/v1/investigations/{id}
 *   GET    /api/v1/persons/{id}/investigations           a person's records
 *   POST   /api/v1/case-links                            link a case to its source case
 *   GET    /api/v1/case-links?person_id=                 links in scope (of one case)
 *   DELETE /api/v1/case-links/{id}
 *   GET    /api/v1/case-links/graph?region=              the links of a region as a graph
 *   POST   /api/v1/clusters, GET /api/v1/clusters, GET|PATCH|DELETE /api/v1/clusters/{id}
 *   POST   /api/v1/clusters/{id}/members                 {person_id}
 *   DELETE /api/v1/clusters/{id}/members/{person_id}
 *   GET    /api/v1/clusters/{id}/graph                   members and their links
 *
 * trace.write writes, trace.read reads. Every read and write is audited
 * (trace.investigation.*, trace.link.*, trace.cluster.*), a reveal also as
 * person.reveal; names and identity numbers leave masked unless revealed
 * (graphs: always masked). Writes commit with their audit entry.
 */
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/fields.h"
#include "http/export.h"
#include "http/write.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "trace/trace.h"

/* ---- bodies --------------------------------------------------------------------------- */

#define INV_BODY_COMMON                                                                            \
    {"onset_on", J_STRING, JF_NULLABLE, 10, 10, "发病日期", NULL, NULL},                           \
        {"symptoms", J_ARRAY, JF_NULLABLE, 0, 0, "症状", NULL, NULL},                              \
        {"institution", J_STRING, JF_NULLABLE, 0, INV_TEXT_MAX, "调查单位", NULL, NULL},           \
        {"summary", J_STRING, JF_NULLABLE, 0, INV_SUMMARY_MAX, "调查摘要", NULL, NULL},            \
        {"places", J_ARRAY, 0, 0, 0, "地点", NULL, NULL},                                          \
        {"contacts", J_ARRAY, 0, 0, 0, "接触者", NULL, NULL},

static const struct jfield inv_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "病例", NULL, NULL},
    {"investigated_at", J_INT, JF_REQUIRED, 1, 4102444800000LL, "调查时间", NULL, NULL},
    INV_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield inv_patch_body[] = {
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {"investigated_at", J_INT, 0, 1, 4102444800000LL, "调查时间", NULL, NULL},
    INV_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield link_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "病例", NULL, NULL},
    {"source_id", J_STRING, JF_REQUIRED, 1, 20, "传染源病例", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "传播关系", NULL, &case_link_kind_vocab},
    {"note", J_STRING, JF_NULLABLE, 0, CASE_LINK_NOTE_MAX, "备注", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

#define CLUSTER_BODY_COMMON                                                                        \
    {"first_case_on", J_STRING, JF_NULLABLE, 10, 10, "首例日期", NULL, NULL},                      \
        {"status", J_STRING, 0, 0, 0, "状态", NULL, &cluster_status_vocab},                        \
        {"note", J_STRING, JF_NULLABLE, 0, CLUSTER_NOTE_MAX, "备注", NULL, NULL},

static const struct jfield cluster_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, CLUSTER_NAME_MAX, "名称", NULL, NULL},
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "所属区划", NULL, NULL},
    CLUSTER_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield cluster_patch_body[] = {
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {"name", J_STRING, 0, 1, CLUSTER_NAME_MAX, "名称", NULL, NULL},
    {"region_code", J_STRING, 0, 1, 18, "所属区划", NULL, NULL},
    CLUSTER_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield member_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "病例", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- investigations ------------------------------------------------------------------- */

/* The record as the detail shows it: each place without a venue gets the
 * venues of the caller's scope its text matches, as suggestions. */
static err reply_investigation(struct req *r, int status, int64_t id, bool reveal)
{
    struct investigation v;
    err e = investigation_find(r->db, r->a, &r->who->scope, id, &v);
    if (e)
        return e;
    json_t *o = investigation_json(r->a, &v, reveal);
    json_t *places = json_object_get(o, "places");
    for (size_t i = 0; i < v.n_places; i++) {
        json_t *arr = json_array();
        if (!v.places[i].venue_id) {
            struct venue_match *m;
            size_t n;
            if ((e = investigation_venue_matches(r->db, r->a, &r->who->scope, v.places[i].place, &m,
                                                 &n))) {
                json_decref(arr);
                json_decref(o);
                return e;
            }
            for (size_t k = 0; k < n; k++) {
                json_t *x = json_pack("{s:s,s:s,s:b}", "name", m[k].name, "region_name",
                                      m[k].region_name, "exact", m[k].exact);
                json_set_id(x, "id", m[k].id);
                json_array_append_new(arr, x);
            }
        }
        json_object_set_new(json_array_get(places, i), "suggestions", arr);
    }
    return reply_json(r, status, o);
}

static err post_investigation(struct req *r)
{
    struct investigation v = {0};
    int64_t id = 0;
    err e = investigation_apply_json(r->a, r->body, &v);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r,
                       investigation_create(r->db, r->a, &r->who->scope, &v, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "trace.investigation.create", "investigation", id,
                            req_body_fields(r))))
        return e;
    return reply_investigation(r, 201, id, false);
}

static err get_investigation(struct req *r)
{
    int64_t id;
    bool reveal = false;
    err e = req_param_id(r, 0, &id);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "trace.investigation.read", "investigation", id,
                             e, "reveal");
    struct investigation v;
    if (!e)
        e = investigation_find(r->db, r->a, &r->who->scope, id, &v);
    if (e)
        return e;
    req_audit(r, "trace.investigation.read", "investigation", id, "ok", "");
    if (reveal) {
        req_audit(r, "person.reveal", "person", v.person_id, "ok", "fields=investigation");
        /* the named contacts who are registered persons are revealed too */
        for (size_t i = 0; i < v.n_contacts; i++)
            if (v.contacts[i].person_id)
                req_audit(r, "person.reveal", "person", v.contacts[i].person_id, "ok",
                          "fields=investigation_contact");
    }
    return reply_investigation(r, 200, id, reveal);
}

static err patch_investigation(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    json_t *body = NULL;
    if (!e) {
        body = json_copy(r->body); /* the request's body stays as sent (audit detail) */
        json_object_del(body, "version");
    }
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, investigation_update(r->db, r->a, &r->who->scope, id,
                                               json_int(r->body, "version", 0), body));
    json_decref(body);
    if ((e = req_write_done(r, e, "trace.investigation.update", "investigation", id,
                            req_body_fields(r))))
        return e;
    return reply_investigation(r, 200, id, false);
}

static err delete_investigation(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, investigation_delete(r->db, &r->who->scope, id));
    if ((e = req_write_done(r, e, "trace.investigation.delete", "investigation", id, "")))
        return e;
    return reply_empty(r);
}

static err venue_matches(struct req *r)
{
    const char *place = req_query(r, "place");
    err e = check_text(place, "place", "地点", INV_TEXT_MAX, TEXT_ONE_LINE | TEXT_REQUIRED);
    struct venue_match *m;
    size_t n = 0;
    if (!e)
        e = investigation_venue_matches(r->db, r->a, &r->who->scope, place, &m, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_pack("{s:s,s:s,s:b}", "name", m[i].name, "region_name", m[i].region_name,
                              "exact", m[i].exact);
        json_set_id(x, "id", m[i].id);
        json_array_append_new(arr, x);
    }
    return reply_json(r, 200, json_pack("{s:o}", "items", arr));
}

static err day_query(struct req *r, const char *name, int64_t *day_r)
{
    const char *s = req_query(r, name);
    *day_r = 0;
    if (s && !china_date_day(s, day_r))
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为“2026-01-31”形式的日期",
                       name);
    return E_OK;
}

/* The list's filters from the query (the person of /persons/{id}/... given).
 * *found_r false: an id number that names nobody in scope. */
static err inv_filter_from(struct req *r, struct investigation_filter *f, bool *found_r)
{
    err e = req_paging(r, &f->page, &f->page_size);
    const char *s;
    *found_r = true;
    if (!e && (s = req_query(r, "region_code"))) {
        enum region_level lv;
        if ((f->region_code = regcode_parse(s, &lv)) <= 0)
            e = err_set(E_INPUT, "invalid_region", "region_code",
                        "所属区划不存在或不在您的管辖范围内");
    }
    if (!e && !f->person_id && (s = req_query(r, "person_id")) && (f->person_id = id_parse(s)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 不正确");
    if (!e)
        e = day_query(r, "from", &f->from_day);
    if (!e)
        e = day_query(r, "to", &f->to_day);
    if (!e && f->from_day && f->to_day && f->to_day < f->from_day)
        e = err_set(E_INPUT, "invalid_range", "to", "结束日期不能早于开始日期");
    if (!e && (s = req_query(r, "id_number")) && *s) {
        /* an exact search singles a person out: it counts against the
         * caller's hourly limit as the person list's does (person.h) */
        if ((e = person_search_hit(r->db, r->who, NULL)))
            return audit_refusal(r->db, r->who, r->ip, "trace.investigation.list", "investigation",
                                 0, e, "field=id_number");
        struct person p;
        err x = person_find_by_id_number(r->db, r->a, &r->who->scope, ID_RESIDENT, s, &p);
        if (x == E_NOT_FOUND || (!x && f->person_id && f->person_id != p.id))
            *found_r = false;
        else if (x)
            e = x;
        else
            f->person_id = p.id;
    }
    return e;
}

static const char *const inv_head[] = {
    "姓名",     "证件号码", "人员状态", "所属区划", "发病日期", "症状",
    "调查时间", "调查人",   "调查单位", "地点数",   "接触者数",
};

static err inv_export(struct req *r, enum export_format fmt, const struct investigation *items,
                      size_t n, bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "流调记录", inv_head, sizeof inv_head / sizeof *inv_head);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        const struct investigation *v = &items[i];
        json_t *o = investigation_json(r->a, v, reveal);
        char onset[11] = "", at[CHINA_TIME_LEN];
        if (v->onset_on)
            field_date_format(v->onset_on, onset);
        china_time(v->investigated_at, at);
        const char *sym = "";
        json_t *sl = json_object_get(o, "symptom_labels");
        for (size_t k = 0; k < json_array_size(sl); k++)
            sym = arena_printf(r->a, "%s%s%s", sym, k ? "、" : "",
                               json_string_value(json_array_get(sl, k)));
        export_text(&x, json_string_value(json_object_get(o, "person_name")));
        export_text(&x, json_string_value(json_object_get(o, "id_number")));
        export_text(&x, json_string_value(json_object_get(o, "person_status_label")));
        export_text(&x, v->region_name);
        export_text(&x, onset);
        export_text(&x, sym);
        export_text(&x, at);
        export_text(&x, v->investigator_name);
        export_text(&x, v->institution);
        export_int(&x, (int64_t)v->n_places);
        export_int(&x, (int64_t)v->n_contacts);
        export_row_end(&x);
        json_decref(o);
    }
    return export_send(&x, E_OK, "investigations");
}

static err inv_list(struct req *r, struct investigation_filter *f, int64_t object)
{
    enum export_format fmt = EXPORT_NONE;
    bool reveal = false;
    const char *type = object ? "person" : "investigation";
    err e = req_export_format(r, &fmt);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "trace.investigation.list", type, object, e,
                             "reveal");
    bool found = true;
    if (!e)
        e = inv_filter_from(r, f, &found);
    if (e)
        return e;
    int64_t page_size = f->page_size;
    if (fmt)
        f->page_size = 0;
    struct investigation *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    if (found && (e = investigation_list(r->db, r->a, &r->who->scope, f, &items, &n, &total)))
        return e;
    req_audit(r, "trace.investigation.list", type, object, "ok",
              arena_printf(r->a, "count=%zu total=%lld%s%s%s", n, (long long)total, fmt ? " " : "",
                           fmt ? export_format_name(fmt) : "", reveal ? " reveal" : ""));
    if (reveal)
        req_audit(r, "person.reveal", "person", object, "ok", "fields=investigation");
    if (fmt)
        return inv_export(r, fmt, items, n, reveal);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, investigation_json(r->a, &items[i], reveal));
    return reply_page(r, arr, total, f->page, page_size);
}

static err get_investigations(struct req *r)
{
    struct investigation_filter f = {0};
    return inv_list(r, &f, 0);
}

static err get_person_investigations(struct req *r)
{
    struct investigation_filter f = {0};
    int64_t region;
    err e = req_param_id(r, 0, &f.person_id);
    if (!e)
        e = person_region(r->db, &r->who->scope, f.person_id, &region);
    return e ? e : inv_list(r, &f, f.person_id);
}

/* ---- case links ----------------------------------------------------------------------- */

static json_t *link_json(arena *a, const struct case_link *l)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:I}", "kind", vocab_name(&case_link_kind_vocab, l->kind),
        "kind_label", vocab_label(&case_link_kind_vocab, l->kind), "note", l->note ? l->note : "",
        "person_name", mask_name(a, l->person_name ? l->person_name : ""), "source_name",
        mask_name(a, l->source_name ? l->source_name : ""), "created_at",
        (json_int_t)l->created_at);
    json_set_id(o, "id", l->id);
    json_set_id(o, "person_id", l->person_id);
    json_set_id(o, "source_id", l->source_id);
    return o;
}

static err post_link(struct req *r)
{
    struct case_link l = {
        .person_id = id_parse(json_str(r->body, "person_id")),
        .source_id = id_parse(json_str(r->body, "source_id")),
        .note = json_str(r->body, "note"),
    };
    int k = vocab_parse(&case_link_kind_vocab, json_str(r->body, "kind"));
    l.kind = k > 0 ? (enum case_link_kind)k : CASE_LINK_NONE;
    int64_t id = 0;
    err e = E_OK;
    if (l.person_id <= 0)
        e = err_set(E_INPUT, "invalid_value", "person_id", "病例编号不正确");
    else if (l.source_id <= 0)
        e = err_set(E_INPUT, "invalid_value", "source_id", "传染源病例编号不正确");
    else if (l.note)
        e = check_text(l.note, "note", "备注", CASE_LINK_NOTE_MAX, 0);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_link_create(r->db, r->a, &r->who->scope, &l, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "trace.link.create", "case_link", id, req_body_fields(r))))
        return e;
    struct case_link *items;
    size_t n;
    if ((e = case_link_list(r->db, r->a, &r->who->scope, l.person_id, &items, &n)))
        return e;
    for (size_t i = 0; i < n; i++)
        if (items[i].id == id)
            return reply_json(r, 201, link_json(r->a, &items[i]));
    return err_set(E_NOT_FOUND, NULL, NULL, NULL);
}

static err get_links(struct req *r)
{
    int64_t person = 0;
    const char *s = req_query(r, "person_id");
    if (s && (person = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 不正确");
    struct case_link *items;
    size_t n;
    err e = case_link_list(r->db, r->a, &r->who->scope, person, &items, &n);
    if (e)
        return e;
    req_audit(r, "trace.link.list", person ? "person" : "case_link", person, "ok",
              arena_printf(r->a, "count=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, link_json(r->a, &items[i]));
    return reply_json(r, 200, json_pack("{s:o,s:I}", "items", arr, "total", (json_int_t)n));
}

static err delete_link(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_link_delete(r->db, &r->who->scope, id));
    if ((e = req_write_done(r, e, "trace.link.delete", "case_link", id, "")))
        return e;
    return reply_empty(r);
}

static err get_link_graph(struct req *r)
{
    int64_t region = 0;
    const char *s = req_query(r, "region");
    if (s && *s) {
        enum region_level lv;
        if ((region = regcode_parse(s, &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "region",
                           "所属区划不存在或不在您的管辖范围内");
    }
    struct case_graph g;
    err e = case_link_graph(r->db, r->a, &r->who->scope, region, &g);
    if (e)
        return e;
    req_audit(r, "trace.link.graph", "case_link", 0, "ok",
              arena_printf(r->a, "nodes=%zu links=%zu", g.n_nodes, g.n_links));
    return reply_json(r, 200, case_graph_json(r->a, &g));
}

/* ---- clusters ------------------------------------------------------------------------- */

static err reply_cluster(struct req *r, int status, int64_t id)
{
    struct cluster c;
    err e = cluster_find(r->db, r->a, &r->who->scope, id, &c);
    return e ? e : reply_json(r, status, cluster_json(&c));
}

static err post_cluster(struct req *r)
{
    struct cluster c = {0};
    int64_t id = 0;
    err e = cluster_apply_json(r->a, r->body, &c);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, cluster_create(r->db, r->a, &r->who->scope, &c, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "trace.cluster.create", "cluster", id, req_body_fields(r))))
        return e;
    return reply_cluster(r, 201, id);
}

static const char *const cluster_head[] = {"名称", "所属区划", "首例日期",
                                           "状态", "病例数",   "备注"};

static err clusters_export(struct req *r, enum export_format fmt, const struct cluster *items,
                           size_t n)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "聚集性疫情", cluster_head,
                         sizeof cluster_head / sizeof *cluster_head);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        char day[11] = "";
        if (items[i].first_case_on)
            field_date_format(items[i].first_case_on, day);
        export_text(&x, items[i].name);
        export_text(&x, items[i].region_name);
        export_text(&x, day);
        export_text(&x, vocab_label(&cluster_status_vocab, items[i].status));
        export_int(&x, items[i].member_count);
        export_text(&x, items[i].note);
        export_row_end(&x);
    }
    return export_send(&x, E_OK, "clusters");
}

static err get_clusters(struct req *r)
{
    struct cluster_filter f = {0};
    enum export_format fmt = EXPORT_NONE;
    err e = req_export_format(r, &fmt);
    if (!e)
        e = req_paging(r, &f.page, &f.page_size);
    const char *s;
    if (!e && (s = req_query(r, "region_code"))) {
        enum region_level lv;
        if ((f.region_code = regcode_parse(s, &lv)) <= 0)
            e = err_set(E_INPUT, "invalid_region", "region_code",
                        "所属区划不存在或不在您的管辖范围内");
    }
    if (!e && (s = req_query(r, "status"))) {
        int st = vocab_parse(&cluster_status_vocab, s);
        if (st <= 0)
            e = err_set(E_INPUT, "invalid_parameter", "status", "状态的取值不正确");
        else
            f.status = (enum cluster_status)st;
    }
    if (!e && (s = req_query(r, "person_id")) && (f.person_id = id_parse(s)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 不正确");
    struct cluster *items;
    size_t n = 0;
    int64_t total = 0, page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    if (!e)
        e = cluster_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total);
    if (e)
        return e;
    req_audit(r, "trace.cluster.list", "cluster", 0, "ok",
              arena_printf(r->a, "count=%zu total=%lld%s%s", n, (long long)total, fmt ? " " : "",
                           fmt ? export_format_name(fmt) : ""));
    if (fmt)
        return clusters_export(r, fmt, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, cluster_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

static err get_cluster(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    struct cluster c;
    if (!e)
        e = cluster_find(r->db, r->a, &r->who->scope, id, &c);
    if (e)
        return e;
    req_audit(r, "trace.cluster.read", "cluster", id, "ok", "");
    return reply_json(r, 200, cluster_json(&c));
}

static err patch_cluster(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    json_t *body = NULL;
    if (!e) {
        body = json_copy(r->body);
        json_object_del(body, "version");
    }
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, cluster_update(r->db, r->a, &r->who->scope, id,
                                         json_int(r->body, "version", 0), body));
    json_decref(body);
    if ((e = req_write_done(r, e, "trace.cluster.update", "cluster", id, req_body_fields(r))))
        return e;
    return reply_cluster(r, 200, id);
}

static err delete_cluster(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, cluster_delete(r->db, &r->who->scope, id));
    if ((e = req_write_done(r, e, "trace.cluster.delete", "cluster", id, "")))
        return e;
    return reply_empty(r);
}

static err post_member(struct req *r)
{
    int64_t id = 0, person = id_parse(json_str(r->body, "person_id"));
    err e = req_param_id(r, 0, &id);
    if (!e && person <= 0)
        e = err_set(E_INPUT, "invalid_value", "person_id", "病例编号不正确");
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, cluster_member_add(r->db, r->a, &r->who->scope, id, person, r->who->user_id));
    if ((e = req_write_done(r, e, "trace.cluster.member_add", "cluster", id, req_body_fields(r))))
        return e;
    return reply_cluster(r, 201, id);
}

static err delete_member(struct req *r)
{
    int64_t id = 0, person = 0;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_param_id(r, 1, &person);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, cluster_member_remove(r->db, r->a, &r->who->scope, id, person));
    if ((e = req_write_done(r, e, "trace.cluster.member_remove", "cluster", id, "")))
        return e;
    return reply_empty(r);
}

static err get_cluster_graph(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    struct case_graph g;
    if (!e)
        e = cluster_graph(r->db, r->a, &r->who->scope, id, &g);
    if (e)
        return e;
    req_audit(r, "trace.cluster.graph", "cluster", id, "ok",
              arena_printf(r->a, "nodes=%zu links=%zu", g.n_nodes, g.n_links));
    return reply_json(r, 200, case_graph_json(r->a, &g));
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route investigation_routes[] = {
    /* before /investigations/{id}, which would take it */
    {M_GET, "/api/v1/investigations/venue-matches", venue_matches, PERM_TRACE_READ, 0, NULL,
     "按地点名称匹配管辖范围内的登记场所（place，供流调地点选择）", "trace", 0},
    {M_POST, "/api/v1/investigations", post_investigation, PERM_TRACE_WRITE, 0, inv_body,
     "登记流调记录", "trace", 0},
    {M_GET, "/api/v1/investigations", get_investigations, PERM_TRACE_READ, 0, NULL,
     "流调记录（person_id、id_number、region_code、from、to 筛选，format=csv/xlsx 导出，"
     "reveal=1 "
     "查看完整信息）",
     "trace", 0},
    {M_GET, "/api/v1/investigations/{id}", get_investigation, PERM_TRACE_READ, 0, NULL,
     "流调记录详情（含地点、场所建议和接触者；reveal=1 查看完整信息）", "trace", 0},
    {M_PATCH, "/api/v1/investigations/{id}", patch_investigation, PERM_TRACE_WRITE, 0,
     inv_patch_body, "修改流调记录（给出 places、contacts 时整体替换）", "trace", 0},
    {M_DELETE, "/api/v1/investigations/{id}", delete_investigation, PERM_TRACE_WRITE, 0, NULL,
     "删除流调记录", "trace", 0},
    {M_GET, "/api/v1/persons/{id}/investigations", get_person_investigations, PERM_TRACE_READ, 0,
     NULL, "某病例的流调记录", "trace", 0},
    /* before /case-links/{id} */
    {M_GET, "/api/v1/case-links/graph", get_link_graph, PERM_TRACE_READ, 0, NULL,
     "传播链关系图（region 筛选；姓名脱敏）", "trace", 0},
    {M_POST, "/api/v1/case-links", post_link, PERM_TRACE_WRITE, 0, link_body,
     "登记病例的传染源（传播链）", "trace", 0},
    {M_GET, "/api/v1/case-links", get_links, PERM_TRACE_READ, 0, NULL, "传播关系（person_id 筛选）",
     "trace", 0},
    {M_DELETE, "/api/v1/case-links/{id}", delete_link, PERM_TRACE_WRITE, 0, NULL, "删除传播关系",
     "trace", 0},
    {M_POST, "/api/v1/clusters", post_cluster, PERM_TRACE_WRITE, 0, cluster_body, "登记聚集性疫情",
     "trace", 0},
    {M_GET, "/api/v1/clusters", get_clusters, PERM_TRACE_READ, 0, NULL,
     "聚集性疫情（region_code、status、person_id 筛选，format=csv/xlsx 导出）", "trace", 0},
    {M_GET, "/api/v1/clusters/{id}", get_cluster, PERM_TRACE_READ, 0, NULL, "聚集性疫情详情",
     "trace", 0},
    {M_PATCH, "/api/v1/clusters/{id}", patch_cluster, PERM_TRACE_WRITE, 0, cluster_patch_body,
     "修改聚集性疫情", "trace", 0},
    {M_DELETE, "/api/v1/clusters/{id}", delete_cluster, PERM_TRACE_WRITE, 0, NULL, "删除聚集性疫情",
     "trace", 0},
    {M_GET, "/api/v1/clusters/{id}/graph", get_cluster_graph, PERM_TRACE_READ, 0, NULL,
     "聚集性疫情的病例与传播关系图（姓名脱敏）", "trace", 0},
    {M_POST, "/api/v1/clusters/{id}/members", post_member, PERM_TRACE_WRITE, 0, member_body,
     "向聚集性疫情添加病例", "trace", 0},
    {M_DELETE, "/api/v1/clusters/{id}/members/{person_id}", delete_member, PERM_TRACE_WRITE, 0,
     NULL, "从聚集性疫情移除病例", "trace", 0},
};
const size_t investigation_routes_n = sizeof investigation_routes / sizeof investigation_routes[0];
