/*
 * HTTP handlers of the scan path and access records:
 *
 *   POST /api/v1/scans            checkpoint staff scan a resident's code (access.scan)
 *   POST /api/v1/me/scans         a resident scans a venue code
 *   POST /api/v1/scans/person     staff scan a resident's code to open their record (核验/补录)
 *   POST /api/v1/scans/manual     出入登记 by hand: name and id number of someone without a phone
 *   GET  /api/v1/scans/today      one gate's passages since midnight, counts in/out (access.scan)
 *   GET  /api/v1/access-records   scoped list; venue_id, person_id, from, to, colour,
 *                                 verdict, method, direction; paging; format=csv
 *
 * Both scans are answered only after their record has committed (the group
 * commit writer, access/writer.c): the handler checks everything that can
 * be refused, queues the scan and defers the reply. Every refusal is counted
 * in /metrics as fangkong_scan_refused_total{reason}.
 *
 * A health code another instance issued (共享互认, exchange.h) fails
 * token_verify here as "token_forged"; when this instance has a parent or
 * child peers, the staff scan asks the issuer through them on the offload
 * worker (the call blocks) and applies the scan there with the issuer's
 * colour, in the worker's transaction with its audit entry.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "access/journal.h"
#include "region/region.h"
#include "app.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/query.h"
#include "exchange/exchange.h"
#include "health/health.h"
#include "job/offload.h"
#include "person/person.h"
#include "http/write.h"
#include "security/audit.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "venue/venue.h"

#define REFUSED "fangkong_scan_refused_total"

/* Count a refusal under its slug, then hand the error on. */
static err refused(err e)
{
    const char *slug = err_last()->slug;
    http_metric_inc(REFUSED, *slug ? slug : err_slug(e));
    return e;
}

static const char *const dirs[] = {"in", "out", NULL};

static const struct jfield scan_body[] = {
    {"venue_id", J_STRING, JF_REQUIRED, 1, 20, "点位编号", NULL},
    {"token", J_STRING, JF_REQUIRED, 1, 200, "健康码", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", dirs},
    {"temperature", J_NUMBER, JF_NULLABLE, 0, 0, "体温", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct jfield me_scan_body[] = {
    {"venue_token", J_STRING, JF_REQUIRED, 1, 200, "场所码", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", dirs},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The body checked here rather than by the router, so a malformed one is
 * counted as a refusal too (the route is ROUTE_RAW_BODY). */
static err scan_body_parse(struct req *r, const struct jfield *fields, json_t **body_r)
{
    const char *ct = req_header(r, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16))
        return err_set(E_UNSUPPORTED, NULL, NULL, NULL);
    size_t n;
    const char *raw = req_raw_body(r, &n);
    json_t *v;
    err e = json_parse_body(raw, n, &v);
    if (e)
        return e;
    if ((e = json_check(v, fields, false))) {
        json_decref(v);
        return e;
    }
    *body_r = v;
    return E_OK;
}

/* A typed token: spaces and dashes dropped, upper-cased (the text under the QR). */
static char *token_normalise(arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, n + 1), *p = out;
    for (; *s; s++) {
        if (*s == ' ' || *s == '-' || *s == '\t')
            continue;
        *p++ = (char)toupper((unsigned char)*s);
    }
    *p = '\0';
    return out;
}

struct pending {
    struct http_deferred *df;
    json_t *extra; /* members merged into the reply */
    bool self;
    struct access_scan s; /* the applied scan; its strings are not used */
    char *reasons;
};

/* On the request's loop: the reply of an applied scan. */
static void scan_render(struct http_deferred *df, void *ctx)
{
    struct pending *p = ctx;
    p->s.reasons = p->reasons;
    /* the colour is the one this scan committed (a fever turns it yellow) */
    json_t *pass = json_object_get(p->extra, "pass");
    const char *why = code_pass_refusal(p->s.colour);
    if (json_is_object(pass) && json_is_true(json_object_get(pass, "valid")) && why) {
        json_object_set_new(pass, "valid", json_false());
        json_object_set_new(pass, "reason", json_string(why));
    }
    /* written straight into the reply (a hot path: docs/benchmarks.md);
     * the resident's screen shows less than the checkpoint's */
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    access_scan_jsonw(&w, &p->s, p->self);
    const char *k;
    json_t *v;
    json_object_foreach(p->extra, k, v)
    {
        jsonw_key(&w, k);
        jsonw_json(&w, v);
    }
    jsonw_object_end(&w);
    size_t len = 0;
    char *text = jsonw_finish(&w, &len);
    json_decref(p->extra);
    free(p->reasons);
    free(p);
    http_deferred_reply(df, text ? 201 : 500, "application/json; charset=utf-8", text, len);
}

/* On the writer's thread, once the scan's batch has committed (or failed):
 * keep the writer to the commit and leave the rendering to the loop. */
static void scan_done(const struct access_scan *s, err e, void *ctx)
{
    struct pending *p = ctx;
    if (!e) {
        p->s = *s;
        p->s.venue_name = p->s.masked_name = p->s.reasons = NULL;
        if ((p->reasons = strdup(s->reasons ? s->reasons : "[]"))) {
            http_deferred_call(p->df, scan_render, p);
            return;
        }
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    }
    int status;
    size_t len;
    char *text = http_error_text(e, &status, &len); /* the detail is this thread's */
    json_decref(p->extra);
    http_deferred_reply(p->df, text ? status : 500, "application/json; charset=utf-8", text, len);
    free(p);
}

/* The scan's audit entry. With the journal (access/journal.h) it travels
 * with the record and is written with it, in the journal's fdatasync or
 * the writer's transaction: durable exactly when the record is. Without,
 * it is queued (req_audit) and joins the writer's commit (audit_join). */
static const struct audit_entry *scan_audit(struct req *r, struct audit_entry *e,
                                            const char *action, int64_t record_id,
                                            const char *detail)
{
    if (!access_journal_on()) {
        req_audit(r, action, "access_record", record_id, "ok", detail);
        return NULL;
    }
    const struct principal *p = r->who;
    *e = (struct audit_entry){
        .user_id = p ? p->user_id : 0,
        .username = p ? p->username : "",
        .role = p ? p->roles : "",
        .ip = r->ip,
        .action = action,
        .object_type = "access_record",
        .object_id = record_id,
        .result = "ok",
        .detail = detail,
    };
    return e;
}

static err submit_or_fail(struct req *r, struct access_scan *s, json_t *extra, bool self)
{
    /* a scan whose audit entry was refused is not made (req_audit) */
    err e = req_audit_failed(r);
    if (e) {
        json_decref(extra);
        return refused(e);
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(extra);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    p->df = req_defer(r);
    if (!p->df) {
        free(p);
        json_decref(extra);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    p->extra = extra;
    p->self = self;
    if ((e = access_submit(r->db, s, scan_done, p))) { /* queue full: nothing written */
        req_undefer(r, p->df);
        json_decref(p->extra);
        free(p);
        return refused(e);
    }
    return E_OK;
}

/* Refuse a scan the writer has no room for before it is audited as made
 * (access_submit checks again: this is the common case, not the race). */
static err writer_room(void)
{
    if (!access_writer_full())
        return E_OK;
    return refused(
        err_set(E_UNAVAILABLE, "queue_full", NULL, "系统繁忙（出入记录写入排队已满），请稍后重试"));
}

static json_t *pass_json(db *d, arena *a, const struct person *pp, int64_t venue_region, err *e_r)
{
    bool valid;
    int64_t community = access_community(pp->region_code);
    const char *why;
    /* a gate of another community shows no pass: no need to look for isolations */
    *e_r = E_OK;
    if (venue_region && (!community || !regcode_within(venue_region, community)))
        return json_null();
    *e_r = access_pass(d, pp->id, pp->region_code, pp->status, &valid, &community, &why);
    if (*e_r)
        return NULL;
    if (venue_region && (!community || !regcode_within(venue_region, community)))
        return json_null(); /* not a gate of their community: no pass to show */
    char code[19] = "";
    const char *name = "";
    if (community)
        regcode_format(community, code);
    if (community && (*e_r = region_path(d, community, LEVEL_STREET, a, &name)))
        return NULL;
    return json_pack("{s:b,s:s,s:s,s:s}", "valid", valid, "community", code, "community_name", name,
                     "reason", why);
}

/* ---- a code of another instance (共享互认) ------------------------------------------ */

static void free_json(void *p)
{
    json_decref(p);
}

/* On the offload worker: ask the issuer, then apply the scan with its
 * answer. Nothing is recorded when the issuer cannot be asked. */
static err shared_scan_run(struct offload *q, int *status_r, json_t **reply_r)
{
    json_t *b = q->body, *ans = NULL;
    const char *token = json_str(b, "token");
    err e = exchange_share_lookup(q->d, q->a, token, &ans);
    struct venue v;
    if (!e && (e = venue_find_gate(q->d, q->a, &q->who->scope, json_int(b, "venue_id", 0), &v)))
        e = e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在") : e;
    if (e) {
        json_decref(ans);
        return audit_refusal(q->d, q->who, q->ip, "access.scan", "access_record", 0, refused(e),
                             NULL);
    }
    json_t *reasons = json_object_get(ans, "reasons");
    char *rtext = json_dumps(json_is_array(reasons) ? reasons : json_array(), JSON_COMPACT);
    const char *region = json_str(ans, "region_name");
    region = region && *region ? region : "外区";
    struct access_scan s = {
        .venue_id = v.id,
        .venue_region = v.region_code,
        .venue_name = v.name,
        .policy = {v.allowed_colors, v.limit_count, v.limit_hours, v.fever_threshold},
        .person_id = id_parse(json_str(ans, "person_id")),
        .masked_name = arena_printf(q->a, "%s（外区：%s）", json_str(ans, "name"), region),
        .direction = json_int(b, "direction", ACCESS_IN) == ACCESS_IN ? ACCESS_IN : ACCESS_OUT,
        .temperature = json_number_value(json_object_get(b, "temperature")),
        .method = ACCESS_STAFF_SCAN,
        .operator_user_id = q->who->user_id,
        .record_id = id_new(),
        .remote = true,
        .remote_colour = (enum code_colour)code_colour_parse(json_str(ans, "colour")),
        .remote_reasons = rtext ? arena_strdup(q->a, rtext) : "[]",
    };
    free(rtext);
    if (!(e = db_begin(q->d)) && !(e = access_apply(q->d, q->a, &s)))
        e = exchange_share_seen(q->d, ans);
    if ((e = offload_commit(q, e, "access.scan", "access_record", s.record_id,
                            "view=masked,shared=1"))) {
        json_decref(ans);
        return e;
    }
    json_t *o = access_scan_json(&s);
    json_object_set(o, "name", json_object_get(ans, "name"));
    json_object_set(o, "person_id", json_object_get(ans, "person_id"));
    json_set_id(o, "venue_id", v.id);
    json_object_set_new(o, "venue_name", json_string(v.name));
    json_object_set_new(o, "pass", json_null()); /* another community's pass is not ours */
    json_object_set_new(o, "shared", json_true());
    json_object_set_new(o, "issuer_region_name", json_string(region));
    json_object_set(o, "issuer", json_object_get(ans, "issuer"));
    json_decref(ans);
    *status_r = 201;
    *reply_r = o;
    return E_OK;
}

/* Hand the scan of another instance's code to the offload worker. */
static err shared_scan(struct req *r, const struct venue *v, const char *token, enum access_dir dir,
                       double temp)
{
    json_t *task = json_pack("{s:I,s:s,s:i,s:f}", "venue_id", (json_int_t)v->id, "token", token,
                             "direction", (int)dir, "temperature", temp);
    if (!task)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    arena_on_free(r->a, free_json, task);
    r->body = task; /* the worker's copy of what it needs (job_offload) */
    err e = job_offload(r, shared_scan_run, NULL);
    return e ? refused(e) : E_OK;
}

/* The gate venue_id inside the caller's scope, enabled, open in direction
 * dir: a staff scan's and a manual entry's venue (refusals counted). */
static err gate_of(struct req *r, int64_t venue_id, enum access_dir dir, struct venue *v)
{
    err e = venue_find_gate(r->db, r->a, &r->who->scope, venue_id, v);
    if (e)
        return refused(
            e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在") : e);
    if (!v->enabled)
        return refused(err_set(E_CONFLICT, "venue_disabled", "venue_id", "该点位已停用"));
    if ((v->direction == VENUE_IN && dir == ACCESS_OUT) ||
        (v->direction == VENUE_OUT && dir == ACCESS_IN))
        return refused(err_set(E_INPUT, "direction_not_allowed", "direction", "该点位仅用于%s",
                               venue_direction_label(v->direction)));
    return E_OK;
}

static err scan(struct req *r)
{
    json_t *body;
    err e = scan_body_parse(r, scan_body, &body);
    if (e)
        return refused(e);
    int64_t venue_id = id_parse(json_str(body, "venue_id"));
    const char *token = token_normalise(r->a, json_str(body, "token"));
    enum access_dir dir = !strcmp(json_str(body, "direction"), "in") ? ACCESS_IN : ACCESS_OUT;
    json_t *tv = json_object_get(body, "temperature");
    bool measured = tv && !json_is_null(tv);
    double temp = measured ? json_number_value(tv) : -1;
    json_decref(body); /* tv dies with it */

    if (!venue_id)
        return refused(err_set(E_INPUT, "invalid_value", "venue_id", "点位编号格式不正确"));
    if (measured && (e = health_reading_check(temp, "temperature")))
        return refused(e);
    struct venue v;
    if ((e = gate_of(r, venue_id, dir, &v)))
        return e;
    struct token t;
    if ((e = token_verify(token, TOKEN_HEALTH, now_ms(), &t))) {
        /* perhaps another instance's code: its issuer can tell (共享互认) */
        if (e == E_INPUT &&
            (!strcmp(err_last()->slug, "token_forged") ||
             !strcmp(err_last()->slug, "token_key_retired")) &&
            exchange_share_enabled(r->db))
            return shared_scan(r, &v, token, dir, temp);
        return refused(e);
    }
    struct person p;
    struct scope all = scope_all(); /* a checkpoint checks anyone's code */
    if ((e = person_find_brief(r->db, r->a, &all, t.subject, &p)))
        return refused(e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "unknown_person", "token",
                                                  "该健康码对应的人员不存在")
                                        : e);
    const char *masked = mask_name(r->a, p.name);
    json_t *pass = pass_json(r->db, r->a, &p, v.region_code, &e);
    if (e)
        return e;
    /* The entry names the access record (which names the person, venue and
     * operator) rather than the person: record ids follow time, so the
     * audit log's object index grows at its end instead of taking a page
     * write at a random place per scan. A search by the person finds it
     * through the record (docs/audit.md). */
    int64_t record_id = id_new();
    if ((e = writer_room())) {
        json_decref(pass); /* a gate of their community: the pass object */
        return e;
    }
    struct audit_entry ae;
    const struct audit_entry *audit = scan_audit(r, &ae, "access.scan", record_id, "view=masked");

    struct access_scan s = {
        .venue_id = v.id,
        .venue_region = v.region_code,
        .venue_name = v.name,
        .policy = {v.allowed_colors, v.limit_count, v.limit_hours, v.fever_threshold},
        .person_id = p.id,
        .masked_name = masked,
        .direction = dir,
        .temperature = temp,
        .method = ACCESS_STAFF_SCAN,
        .operator_user_id = r->who->user_id,
        .record_id = record_id,
        .audit = audit,
    };
    json_t *extra = json_object();
    json_object_set_new(extra, "name", json_string(masked));
    json_set_id(extra, "person_id", p.id);
    json_set_id(extra, "venue_id", v.id);
    json_object_set_new(extra, "venue_name", json_string(v.name));
    json_object_set_new(extra, "pass", pass);
    return submit_or_fail(r, &s, extra, false);
}

static err me_scan(struct req *r)
{
    if (!r->who->resident)
        return refused(err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能"));
    json_t *body;
    err e = scan_body_parse(r, me_scan_body, &body);
    if (e)
        return refused(e);
    const char *token = token_normalise(r->a, json_str(body, "venue_token"));
    enum access_dir dir = !strcmp(json_str(body, "direction"), "in") ? ACCESS_IN : ACCESS_OUT;
    json_decref(body);
    struct person p;
    if ((e = person_consent_require(r->db, r->a, r->who->user_id, NULL)) ||
        (e = person_self_find(r->db, r->a, r->who, &p)))
        return refused(e);
    struct venue v;
    if ((e = venue_code_verify(r->db, r->a, token, &v, NULL)))
        return refused(e);
    if ((v.direction == VENUE_IN && dir == ACCESS_OUT) ||
        (v.direction == VENUE_OUT && dir == ACCESS_IN))
        return refused(err_set(E_INPUT, "direction_not_allowed", "direction", "该点位仅用于%s",
                               venue_direction_label(v.direction)));
    const char *masked = mask_name(r->a, p.name);
    /* the resident reads their own record and leaves a trace: audited as
     * the staff scan is, by the record it makes */
    int64_t record_id = id_new();
    if ((e = writer_room()))
        return e;
    struct audit_entry ae;
    const struct audit_entry *audit =
        scan_audit(r, &ae, "access.self_scan", record_id, "view=self");
    struct access_scan s = {
        .venue_id = v.id,
        .venue_region = v.region_code,
        .venue_name = v.name,
        .policy = {v.allowed_colors, v.limit_count, v.limit_hours, v.fever_threshold},
        .person_id = p.id,
        .masked_name = masked,
        .direction = dir,
        .temperature = -1,
        .method = ACCESS_SELF_SCAN,
        .operator_user_id = r->who->user_id,
        .record_id = record_id,
        .audit = audit,
    };
    json_t *extra = json_object();
    json_object_set_new(extra, "name", json_string(masked));
    json_set_id(extra, "venue_id", v.id);
    json_object_set_new(extra, "venue_name", json_string(v.name));
    json_object_set_new(extra, "place", json_string(v.place_name ? v.place_name : ""));
    json_object_set_new(extra, "region_name", json_string(v.region_name ? v.region_name : ""));
    json_object_set_new(extra, "kind_label", json_string(venue_kind_label(v.kind)));
    return submit_or_fail(r, &s, extra, true);
}

static const struct jfield person_scan_body[] = {
    {"token", J_STRING, JF_REQUIRED, 1, 200, "健康码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/*
 * Staff who keep the registry scan a resident's code to verify or complete
 * the record (seed 002 二(一)1): the code names the person, who must be in
 * the caller's scope (404 otherwise, as for GET /persons/{id}). No gate, so
 * no access record, entry count or verdict: a home visit is not a passage.
 * The reply is what the page needs to open the record (its id) and show
 * whose it is, masked.
 */
static err person_scan(struct req *r)
{
    const char *token = token_normalise(r->a, json_str(r->body, "token"));
    struct token t;
    err e = token_verify(token, TOKEN_HEALTH, now_ms(), &t);
    struct person p;
    if (e || (e = person_find_brief(r->db, r->a, &r->who->scope, t.subject, &p)))
        return e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "unknown_person", "token",
                                          "人员不存在或不在您的管辖范围内")
                                : e;
    const char *region = "";
    if ((e = region_path(r->db, p.region_code, LEVEL_STREET, r->a, &region)))
        return e;
    req_audit(r, "person.scan", "person", p.id, "ok", "view=masked");
    json_t *o = json_object();
    json_set_id(o, "person_id", p.id);
    json_object_set_new(o, "name", json_string(mask_name(r->a, p.name)));
    json_object_set_new(o, "region_name", json_string(region));
    return reply_json(r, 200, o);
}

static err post_person_scan(struct req *r)
{
    err e = person_scan(r);
    /* a code of someone outside the scope is on record like any refusal */
    return e ? audit_refusal(r->db, r->who, r->ip, "person.scan", "person", 0, e, NULL) : e;
}

/* A refused scan (someone else's gate, no consent, a staff account on the
 * resident's route) is audited; the accepted one was audited by its record. */
static err post_scan(struct req *r)
{
    err e = scan(r);
    return e ? audit_refusal(r->db, r->who, r->ip, "access.scan", "access_record", 0, e, NULL) : e;
}

static err post_me_scan(struct req *r)
{
    err e = me_scan(r);
    return e ? audit_refusal(r->db, r->who, r->ip, "access.self_scan", "access_record", 0, e, NULL)
             : e;
}

/* ---- 出入登记 by hand ------------------------------------------------------------------ */

static const struct jfield manual_body[] = {
    {"venue_id", J_STRING, JF_REQUIRED, 1, 20, "点位编号", NULL},
    {"name", J_STRING, JF_REQUIRED, 1, 50, "姓名", NULL},
    {"id_number", J_STRING, JF_REQUIRED, 1, 30, "身份证号", NULL},
    {"phone", J_STRING, JF_NULLABLE, 0, 20, "联系电话", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", dirs},
    {"temperature", J_NUMBER, JF_NULLABLE, 0, 0, "体温", NULL},
    {"note", J_STRING, JF_NULLABLE, 0, 100, "事由/目的地", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The register's own columns of a manual record, sealed, inside the
 * caller's transaction (the record was just written by access_apply). */
static err manual_extra(db *d, arena *a, const struct access_scan *s, const char *phone,
                        const char *note)
{
    db_stmt *st;
    err e = db_prepare(
        d, "UPDATE access_records SET phone_enc = ?, note_enc = ? WHERE id = ? AND at = ?", &st);
    if (e)
        return e;
    if (!(e = seal_bind(a, st, 1, "access_records.phone", phone)) &&
        !(e = seal_bind(a, st, 2, "access_records.note", note))) {
        db_bind_int64(st, 3, s->record_id);
        db_bind_int64(st, 4, s->at);
        e = db_run(st, NULL);
    }
    db_done(st);
    return e;
}

/*
 * A passage recorded by hand for someone without a phone (出入登记): the
 * person is found by resident id number anywhere (a checkpoint checks
 * anyone, as a scan does), the name must be the registered one, and the
 * passage goes through the scan's rules (access_apply: the code's colour,
 * fever, the entry limit), so a red code or a limit reached is recorded
 * and refused with its reason. Applied in the request's transaction, not
 * the group-commit writer: the register's phone and note are written with
 * the record, and hand entries are few.
 */
/* A manual entry refused before anything is written: counted and audited
 * (as a refused scan is). */
static err manual_refused(struct req *r, err e)
{
    if (e == E_OK)
        return e;
    return audit_refusal(r->db, r->who, r->ip, "access.manual", "access_record", 0, refused(e),
                         NULL);
}

static err manual(struct req *r)
{
    json_t *b = r->body;
    int64_t venue_id = id_parse(json_str(b, "venue_id"));
    const char *name = json_str(b, "name"), *idn = json_str(b, "id_number");
    const char *phone = json_str(b, "phone"), *note = json_str(b, "note");
    enum access_dir dir = !strcmp(json_str(b, "direction"), "in") ? ACCESS_IN : ACCESS_OUT;
    json_t *tv = json_object_get(b, "temperature");
    bool measured = tv && !json_is_null(tv);
    double temp = measured ? json_number_value(tv) : -1;
    err e;
    if (!venue_id)
        return manual_refused(r,
                              err_set(E_INPUT, "invalid_value", "venue_id", "点位编号格式不正确"));
    if (measured && (e = health_reading_check(temp, "temperature")))
        return manual_refused(r, e);
    if ((e = check_id_number(ID_RESIDENT, idn, "id_number")) ||
        (phone && *phone && (e = check_phone(phone, "phone"))))
        return manual_refused(r, e);
    /* the name as registered, without the spaces a hurried hand adds */
    while (*name == ' ')
        name++;
    char *nm = arena_strdup(r->a, name);
    for (size_t n = strlen(nm); n && nm[n - 1] == ' ';)
        nm[--n] = '\0';
    struct venue v;
    if ((e = gate_of(r, venue_id, dir, &v)))
        return manual_refused(r, e);
    /* a look-up by id number across the city, and with the name a test of
     * whether the two belong together: it counts as an exact search (the
     * account's hourly limit, FK_EXACT_SEARCH_LIMIT, and its alert) */
    if ((e = person_search_hit(r->db, r->who, NULL)))
        return manual_refused(r, e);
    struct person p;
    struct scope all = scope_all();
    if ((e = person_find_by_id_number(r->db, r->a, &all, ID_RESIDENT, idn, &p)))
        return manual_refused(r, e == E_NOT_FOUND
                                     ? err_set(E_NOT_FOUND, "unknown_person", "id_number",
                                               "该身份证号的人员尚未登记，请先办理人员登记")
                                     : e);
    if (!p.name || strcmp(p.name, nm))
        return manual_refused(
            r, err_set(E_INPUT, "name_mismatch", "name", "姓名与身份证号码登记的不一致"));
    const char *masked = mask_name(r->a, p.name);
    struct access_scan s = {
        .venue_id = v.id,
        .venue_region = v.region_code,
        .venue_name = v.name,
        .policy = {v.allowed_colors, v.limit_count, v.limit_hours, v.fever_threshold},
        .person_id = p.id,
        .masked_name = masked,
        .direction = dir,
        .temperature = temp,
        .method = ACCESS_MANUAL,
        .operator_user_id = r->who->user_id,
        .record_id = id_new(),
    };
    db_hold(r->db);
    if (!(e = db_begin(r->db)) && !(e = access_apply(r->db, r->a, &s)))
        e = manual_extra(r->db, r->a, &s, phone, note);
    e = req_tx_end(r, e);
    if ((e = req_write_done(r, e, "access.manual", "access_record", s.record_id, "view=masked")))
        return refused(e);
    json_t *o = access_scan_json(&s);
    json_object_set_new(o, "name", json_string(masked));
    json_set_id(o, "person_id", p.id);
    json_set_id(o, "venue_id", v.id);
    json_object_set_new(o, "venue_name", json_string(v.name));
    json_object_set_new(o, "method", json_string(access_method_name(ACCESS_MANUAL)));
    return reply_json(r, 201, o);
}

/* ---- the list ----------------------------------------------------------------------- */

static const char *const colours[] = {"green", "yellow", "red", NULL};
static const char *const verdicts[] = {"pass", "deny", NULL};

static err one_of(struct req *r, const char *name, const char *const *allowed, const char **v_r)
{
    const char *v = req_query(r, name);
    *v_r = "";
    if (!v || !*v)
        return E_OK;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(v, allowed[i])) {
            *v_r = allowed[i];
            return E_OK;
        }
    return err_set(E_INPUT, "invalid_value", name, "参数 %s 的值无效", name);
}

static err id_query(struct req *r, const char *name, int64_t *v_r)
{
    const char *v = req_query(r, name);
    *v_r = 0;
    if (v && *v && !(*v_r = id_parse(v)))
        return err_set(E_INPUT, "invalid_value", name, "参数 %s 的值无效", name);
    return E_OK;
}

static err records_csv(struct req *r, json_t *items)
{
    static const char *const cols[] = {"编号", "点位编号", "点位", "区划代码", "人员编号", "姓名",
                                       "方向", "时间",     "体温", "健康码",   "结果",     "原因",
                                       "方式", "操作人",   "设备", NULL};
    static const char *const keys[] = {
        "id",          "venue_id",  "venue_name", "region_code",      "person_id",
        "person_name", "direction", "at",         "temperature",      "colour",
        "verdict",     "reason",    "method",     "operator_user_id", "device_id"};
    struct csv_out c;
    reply_csv_begin(r, &c);
    for (size_t i = 0; cols[i]; i++)
        csv_text(&c, cols[i]);
    csv_row_end(&c);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_t *x = json_object_get(o, keys[k]);
            char buf[32];
            if (!strcmp(keys[k], "at")) {
                china_time(json_integer_value(x), buf);
                csv_text(&c, buf);
            } else if (json_is_real(x)) {
                snprintf(buf, sizeof buf, "%.1f", json_real_value(x));
                csv_num(&c, buf);
            } else {
                csv_text(&c, json_is_string(x) ? json_string_value(x) : "");
            }
        }
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "access-records.csv");
}

/* The checkpoint's record of today (出入登记, the phone's /staff/access-log):
 * the passages at one gate of the caller's scope since China midnight,
 * newest first, with the day's counts in and out. Under access.scan, so
 * checkpoint staff read their own gate's day without access.read (every
 * venue, every day, a person's history). */
static err get_today(struct req *r)
{
    struct access_filter f = {0};
    err e;
    if ((e = id_query(r, "venue_id", &f.venue_id)) ||
        (e = one_of(r, "direction", dirs, &f.direction)) ||
        (e = one_of(r, "verdict", verdicts, &f.verdict)) ||
        (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    if (!f.venue_id)
        return err_set(E_INPUT, "required", "venue_id", "请填写%s", "点位编号");
    struct venue v;
    if ((e = venue_find_gate(r->db, r->a, &r->who->scope, f.venue_id, &v)))
        return e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在")
                                : e;
    f.from = china_day_start(now_ms());
    struct access_filter day = {.venue_id = f.venue_id, .from = f.from};
    int64_t counts[2][2], total;
    json_t *items;
    if ((e = access_counts(r->db, &r->who->scope, &day, counts)) ||
        (e = access_list(r->db, r->a, &r->who->scope, &f, &items, &total, NULL)))
        return e;
    req_audit(r, "access.today", "venue", v.id, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(f.page));
    json_object_set_new(o, "page_size", json_integer(f.page_size));
    json_object_set_new(o, "venue_name", json_string(v.name));
    json_object_set_new(o, "counts",
                        json_pack("{s:I,s:I,s:I,s:I}", "in", (json_int_t)counts[0][0], "in_denied",
                                  (json_int_t)counts[0][1], "out", (json_int_t)counts[1][0],
                                  "out_denied", (json_int_t)counts[1][1]));
    return reply_json(r, 200, o);
}

static err get_records(struct req *r)
{
    struct access_filter f = {0};
    const char *fmt = req_query(r, "format");
    bool csv = fmt && !strcmp(fmt, "csv");
    err e;
    if ((e = id_query(r, "venue_id", &f.venue_id)) ||
        (e = id_query(r, "person_id", &f.person_id)) ||
        (e = req_query_int64(r, "from", 0, INT64_MAX / 2, &f.from)) ||
        (e = req_query_int64(r, "to", 0, INT64_MAX / 2, &f.to)) ||
        (e = one_of(r, "colour", colours, &f.colour)) ||
        (e = one_of(r, "verdict", verdicts, &f.verdict)) ||
        (e = one_of(r, "method", access_method_names, &f.method)) ||
        (e = one_of(r, "direction", dirs, &f.direction)) ||
        (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    if (csv) {
        f.page = 1;
        f.page_size = 10000;
    } else {
        f.count_cap = query_count_cap(); /* "10000+" on a screen; the file counts exactly */
    }
    json_t *items;
    int64_t total;
    bool capped;
    if ((e = access_list(r->db, r->a, &r->who->scope, &f, &items, &total, &capped)))
        return e;
    /* records name people, places and times: every read is audited, the
     * filter's person or venue as the object when there is one */
    req_audit(r, csv ? "access.export" : "access.list",
              f.person_id  ? "person"
              : f.venue_id ? "venue"
                           : "access_record",
              f.person_id ? f.person_id : f.venue_id, "ok",
              arena_printf(r->a, "count=%zu%s", json_array_size(items), csv ? ",format=csv" : ""));
    if (csv) {
        e = records_csv(r, items);
        json_decref(items);
        return e;
    }
    return reply_page_capped(r, items, total, capped, f.page, f.page_size);
}

const struct route access_routes[] = {
    {M_POST, "/api/v1/scans", post_scan, PERM_ACCESS_SCAN, ROUTE_RAW_BODY, scan_body,
     "卡口扫码核验（扫描居民健康码）", "access", 4096},
    {M_POST, "/api/v1/me/scans", post_me_scan, PERM_SELF, ROUTE_RAW_BODY, me_scan_body,
     "居民扫场所码登记", "access", 4096},
    {M_POST, "/api/v1/scans/person", post_person_scan, PERM_PERSON_READ, 0, person_scan_body,
     "扫描居民健康码打开其人员信息（核验或补录，不记出入）", "access", 4096},
    {M_POST, "/api/v1/scans/manual", manual, PERM_ACCESS_SCAN, 0, manual_body,
     "卡口出入登记（无手机人员，按姓名与身份证号）", "access", 4096},
    {M_GET, "/api/v1/scans/today", get_today, PERM_ACCESS_SCAN, 0, NULL,
     "卡口今日出入记录（一个点位，含进出人数）", "access", 0},
    {M_GET, "/api/v1/access-records", get_records, PERM_ACCESS_READ, ROUTE_CAPPED_TOTAL, NULL,
     "出入记录", "access", 0},
};
const size_t access_routes_n = sizeof access_routes / sizeof access_routes[0];
