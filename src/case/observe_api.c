/*
 * HTTP handlers of the observation list, quarantine rooms, observation
 * periods, status changes and the person's timeline (docs/cases.md):
 *
 *   POST  /api/v1/observations                       put a person on the list
 *   GET   /api/v1/observations                       the list (filters, counts; format=csv|xlsx)
 *   GET   /api/v1/observations/export.xlsx           the same as format=xlsx
 *   GET   /api/v1/observations/{id}                  one (reveal=1 with person.reveal)
 *   PATCH /api/v1/observations/{id}                  the §5.1 fields (version)
 *   POST  /api/v1/observations/{id}/end              release or transfer
 *   POST  /api/v1/observations/{id}/move             another room / site
 *   POST  /api/v1/persons/{id}/status                the state machine
 *   GET   /api/v1/persons/{id}/status-changes        its history
 *   GET   /api/v1/persons/{id}/status-targets        the statuses it may change to now
 *   GET   /api/v1/persons/{id}/timeline              the person's case timeline
 *   GET   /api/v1/quarantine-sites                   occupancy of the sites in scope
 *   GET   /api/v1/quarantine-sites/{id}/rooms        rooms of a site
 *   POST  /api/v1/quarantine-sites/{id}/rooms        add rooms (list or range)
 *   PATCH /api/v1/quarantine-sites/{id}/rooms/{no}   close / reopen a room
 *   GET   /api/v1/observation-periods                days per kind
 *   PUT   /api/v1/observation-periods                change them (case.rules)
 *
 * Every write holds its transaction open for its audit entry (db_hold);
 * every read of personal data is audited; names and texts about people
 * leave masked unless revealed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "http/write.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "case/internal.h"
#include "http/export.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"

#define TIME_MAX 4102444800000LL /* 2100-01-01 */

/* ---- helpers ------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* Days left until the planned end (China days, rounded up; 0 when due),
 * null without a planned end or once closed. */
static json_t *days_left(const struct observation *o, int64_t now)
{
    if (o->state != OBS_ACTIVE || !o->planned_end_at)
        return json_null();
    int64_t left = o->planned_end_at - now;
    return json_integer(left <= 0 ? 0 : (left + DAY_MS - 1) / DAY_MS);
}

static json_t *observation_json(arena *a, const struct observation *o, bool reveal)
{
    int64_t now = now_ms();
    json_t *j = json_object();
    json_set_id(j, "id", o->id);
    json_set_id(j, "person_id", o->person_id);
    json_object_set_new(j, "person_name",
                        str_or_null(reveal ? o->person_name : mask_name(a, o->person_name)));
    json_object_set_new(j, "person_status", json_string(o->person_status));
    json_object_set_new(j, "person_status_label",
                        json_string(person_status_label(person_status_parse(o->person_status))));
    json_set_region(j, o->region_code, o->region_name);
    json_set_id(j, "incident_id", o->incident_id);
    json_object_set_new(j, "kind", json_string(vocab_name(&observe_kind_vocab, o->kind)));
    json_object_set_new(j, "kind_label", json_string(vocab_label(&observe_kind_vocab, o->kind)));
    json_object_set_new(j, "source", json_string(vocab_name(&case_source_vocab, o->source)));
    json_object_set_new(j, "source_label", json_string(vocab_label(&case_source_vocab, o->source)));
    json_object_set_new(j, "state", json_string(vocab_name(&observe_state_vocab, o->state)));
    json_object_set_new(j, "state_label", json_string(vocab_label(&observe_state_vocab, o->state)));
    json_object_set_new(j, "start_at", json_integer(o->start_at));
    json_object_set_new(j, "planned_end_at",
                        o->planned_end_at ? json_integer(o->planned_end_at) : json_null());
    json_object_set_new(j, "days_left", days_left(o, now));
    /* 居家观察持续时长 (row 19): whole days observed so far, or until the end */
    int64_t until = o->ended_at ? o->ended_at : now;
    json_object_set_new(j, "observed_days",
                        json_integer(until > o->start_at ? (until - o->start_at) / DAY_MS : 0));
    json_object_set_new(j, "ended_at", o->ended_at ? json_integer(o->ended_at) : json_null());
    json_object_set_new(j, "end_reason",
                        str_or_null(reveal ? o->end_reason : mask_address(a, o->end_reason)));
    json_set_id(j, "site_id", o->site_id);
    json_object_set_new(j, "site_name", str_or_null(o->site_id ? o->site_name : NULL));
    json_object_set_new(j, "room_no", str_or_null(o->room_no));
    json_object_set_new(j, "hospital", str_or_null(o->hospital));
    mask_fields_json(a, obs_rows, OBS_FIELD_COUNT, o, reveal, j);
    json_object_set_new(j, "release_status_label",
                        o->release_status
                            ? json_string(vocab_label(&release_status_vocab, o->release_status))
                            : json_null());
    json_object_set_new(j, "version", json_integer(o->version));
    json_object_set_new(j, "created_at", json_integer(o->created_at));
    json_object_set_new(j, "updated_at", json_integer(o->updated_at));
    return j;
}

err case_observation_record(db *d, arena *a, int64_t id, json_t **o_r)
{
    struct scope all = scope_all();
    struct observation o;
    err e = case_observation_find(d, a, &all, id, &o);
    if (e)
        return e;
    *o_r = observation_json(a, &o, true);
    return E_OK;
}

static err observation_reply(struct req *r, int status, int64_t id)
{
    struct observation o;
    err e = case_observation_find(r->db, r->a, &r->who->scope, id, &o);
    if (e)
        return e;
    return reply_json(r, status, observation_json(r->a, &o, false));
}

/* A vocabulary word of the body (already checked by the router). */
static int body_word(struct req *r, const char *key, const struct vocab *v)
{
    int k = vocab_parse(v, json_str(r->body, key));
    return k > 0 ? k : 0;
}

static err body_id(struct req *r, const char *key, int64_t *id_r)
{
    const char *s = json_str(r->body, key);
    *id_r = 0;
    if (!s)
        return E_OK;
    if ((*id_r = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_value", key, "编号格式不正确");
    return E_OK;
}

/* ---- observations -------------------------------------------------------------- */

/* what an observation is, fixed when it starts (the API's and a whole
 * record's from another system, case_observation_put) */
#define OBSERVE_KIND_FIELDS                                                                        \
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "隔离观察方式", NULL, &observe_kind_vocab},              \
        {"source", J_STRING, JF_REQUIRED, 0, 0, "隔离信息报送来源", NULL, &case_source_vocab},     \
        {"start_at", J_INT, 0, 1, TIME_MAX, "隔离起始时间", NULL, NULL},                           \
        {"hospital", J_STRING, 0, 1, 100, "定点医院", NULL, NULL},

#define OBSERVE_HEAD_FIELDS                                                                        \
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "人员", NULL, NULL},                               \
        OBSERVE_KIND_FIELDS{"incident_id", J_STRING, 0, 1, 20, "事件", NULL, NULL},                \
        {"site_id", J_STRING, 0, 1, 20, "隔离点", NULL, NULL},                                     \
        {"room_no", J_STRING, 0, 1, 20, "房间号", NULL, NULL},

static const struct jfield observe_body[] = {
    OBSERVE_HEAD_FIELDS OBS_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield observation_patch_body[] = {
    {"version", J_INT, 0, 1, INT32_MAX, "版本", NULL, NULL},
    OBS_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The table's members of the body into *o, *set_r the rows present. */
static err obs_fields_from(struct req *r, struct observation *o, unsigned *set_r)
{
    memset(o, 0, sizeof *o);
    return fields_from_json(obs_rows, OBS_FIELD_COUNT, r->body, r->a, o, set_r);
}

static err post_observation(struct req *r)
{
    struct case_observe_in in = {
        .kind = body_word(r, "kind", &observe_kind_vocab),
        .source = body_word(r, "source", &case_source_vocab),
        .start_at = json_int(r->body, "start_at", 0),
        .room_no = json_str(r->body, "room_no"),
        .hospital = json_str(r->body, "hospital"),
    };
    struct observation f;
    unsigned set = 0;
    int64_t id = 0;
    err e = body_id(r, "person_id", &in.person_id);
    if (!e)
        e = body_id(r, "incident_id", &in.incident_id);
    if (!e)
        e = body_id(r, "site_id", &in.site_id);
    if (!e)
        e = obs_fields_from(r, &f, &set);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_observe_full(r->db, r->a, r->who, &in, &f, set, &id));
    if ((e = req_write_done(r, e, "observation.create", "observation", id, req_body_fields(r))))
        return e;
    return observation_reply(r, 201, id);
}

static err get_observation(struct req *r)
{
    int64_t id;
    bool reveal;
    struct observation o;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = case_observation_find(r->db, r->a, &r->who->scope, id, &o);
    if (e)
        return e;
    req_audit(r, "observation.read", "observation", id, "ok", "");
    if (reveal)
        req_audit(r, "person.reveal", "person", o.person_id, "ok", "fields=observation");
    return reply_json(r, 200, observation_json(r->a, &o, reveal));
}

static err patch_observation(struct req *r)
{
    int64_t id;
    struct observation f;
    unsigned set = 0;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = obs_fields_from(r, &f, &set);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_observation_update(r->db, r->a, r->who, id,
                                                  json_int(r->body, "version", 0), &f, set));
    if ((e = req_write_done(r, e, "observation.update", "observation", id, req_body_fields(r))))
        return e;
    return observation_reply(r, 200, id);
}

static const char *const end_hows[] = {"released", "transferred", NULL};

static const struct jfield end_body[] = {
    {"how", J_STRING, 0, 0, 0, "结束方式", end_hows, NULL},
    {"reason", J_STRING, JF_REQUIRED, 1, 200, "原因", NULL, NULL},
    {"release_status", J_STRING, 0, 0, 0, "解除隔离后状态", NULL, &release_status_vocab},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_observation_end(struct req *r)
{
    int64_t id;
    const char *how = json_str(r->body, "how");
    enum observe_end h =
        how && !strcmp(how, "transferred") ? OBSERVE_TRANSFERRED : OBSERVE_RELEASED;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_observe_end(r->db, r->a, r->who, id, h,
                                           body_word(r, "release_status", &release_status_vocab),
                                           json_str(r->body, "reason")));
    if ((e = req_write_done(r, e, "observation.end", "observation", id,
                            h == OBSERVE_RELEASED ? "how=released" : "how=transferred")))
        return e;
    return observation_reply(r, 200, id);
}

/* ---- a whole observation from another system --------------------------------------- */

/* A whole record: what it is (kind, source, start, hospital), where it
 * stands (state; end_reason once ended) and the §5.1 fields. No site or
 * room: a quarantine site's rooms are the sending system's own. */
static const struct jfield put_body[] = {
    OBSERVE_KIND_FIELDS{"state", J_STRING, 0, 0, 0, "隔离观察状态", NULL, &observe_state_vocab},
    {"end_reason", J_STRING, 0, 1, 200, "结束原因", NULL, NULL},
    OBS_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

err case_observation_put(db *d, arena *a, const struct principal *who, int64_t person_id,
                         int64_t observation_id, json_t *body, int64_t *id_r)
{
    err e = json_check(body, put_body, observation_id != 0);
    if (e)
        return e;
    int state = json_str(body, "state") ? vocab_parse(&observe_state_vocab, json_str(body, "state"))
                                        : OBS_ACTIVE;
    const char *reason = json_str(body, "end_reason");
    if (state != OBS_ACTIVE && !reason)
        return err_set(E_INPUT, "required", "end_reason", "已结束的隔离观察须填写结束原因");
    struct observation f;
    unsigned set = 0;
    memset(&f, 0, sizeof f);
    if ((e = fields_from_json(obs_rows, OBS_FIELD_COUNT, body, a, &f, &set)))
        return e;
    if (!observation_id) {
        struct case_observe_in in = {
            .person_id = person_id,
            .kind = vocab_parse(&observe_kind_vocab, json_str(body, "kind")),
            .source = vocab_parse(&case_source_vocab, json_str(body, "source")),
            .start_at = json_int(body, "start_at", 0),
            .hospital = json_str(body, "hospital"),
        };
        if (in.kind == OBSERVE_CENTRAL)
            return err_set(E_INPUT, "not_allowed", "kind",
                           "集中隔离的隔离点和房间属于报送方，不能交换，请报送人员状态");
        if ((e = case_observe_full(d, a, who, &in, &f, set, &observation_id)))
            return e;
    } else if (set && (e = case_observation_update(d, a, who, observation_id, 0, &f, set))) {
        return e;
    }
    *id_r = observation_id;
    if (state == OBS_ACTIVE)
        return E_OK;
    /* ended at the sender: ended here too, unless it already is (a status
     * change that arrived first ends it with the person's status) */
    struct observation o;
    if ((e = case_observation_find(d, a, &who->scope, observation_id, &o)) || o.state != OBS_ACTIVE)
        return e;
    if (state == OBS_ENDED)
        return case_observe_close_open(d, a, who, o.person_id, OBS_ENDED);
    return case_observe_end(d, a, who, observation_id,
                            state == OBS_RELEASED ? OBSERVE_RELEASED : OBSERVE_TRANSFERRED,
                            o.release_status, reason);
}

static const struct jfield move_body[] = {
    {"site_id", J_STRING, JF_REQUIRED, 1, 20, "隔离点", NULL, NULL},
    {"room_no", J_STRING, JF_REQUIRED, 1, 20, "房间号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_observation_move(struct req *r)
{
    int64_t id, site_id = 0;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = body_id(r, "site_id", &site_id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, case_observe_move(r->db, r->a, r->who, id, site_id, json_str(r->body, "room_no")));
    if ((e = req_write_done(r, e, "observation.move", "observation", id, "")))
        return e;
    return observation_reply(r, 200, id);
}

/* A vocabulary word of a query parameter; 0 when absent. */
static err query_word(struct req *r, const char *key, const struct vocab *v, int *k_r)
{
    const char *s = req_query(r, key);
    *k_r = 0;
    if (!s || !*s)
        return E_OK;
    if ((*k_r = vocab_parse(v, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", key, "参数 %s 的取值不正确", key);
    return E_OK;
}

/* ---- the list and its exports ------------------------------------------------------ */

static const char *const export_cols[] = {
    "编号",         "姓名",         "人员状态",  "所属区划",
    "隔离观察方式", "报送来源",     "观察状态",  "开始时间",
    "计划结束时间", "隔离点",       "房间号",    "定点医院",
    "何时来市",     "来市交通方式", "航班/车次", "中高风险地区旅居史",
    "同住人数",     "备注",
};
#define EXPORT_NCOLS (sizeof export_cols / sizeof export_cols[0])

struct export_ctx {
    struct export_out *x;
    arena *a;
    bool reveal;
};

static err export_row(void *ctx, const struct observation *o)
{
    struct export_ctx *c = ctx;
    struct export_out *x = c->x;
    err e = export_room(x); /* the synchronous cap, or a job's stop */
    if (e)
        return e;
    export_int(x, o->id); /* text: a spreadsheet would round an 18-digit id */
    export_text(x, c->reveal ? o->person_name : mask_name(c->a, o->person_name));
    export_text(x, person_status_label(person_status_parse(o->person_status)));
    export_text(x, o->region_name);
    export_text(x, vocab_label(&observe_kind_vocab, o->kind));
    export_text(x, vocab_label(&case_source_vocab, o->source));
    export_text(x, vocab_label(&observe_state_vocab, o->state));
    export_time(x, o->start_at);
    export_time(x, o->planned_end_at);
    export_text(x, o->site_id ? o->site_name : "");
    export_text(x, o->room_no);
    export_text(x, o->hospital);
    export_date(x, o->arrived_at);
    export_text(x, o->arrival_transport);
    export_text(x, o->transport_no);
    export_text(x, o->risk_area_stay ? "是" : "否");
    export_int(x, o->co_residents);
    /* a free text about people: masked as the API masks it */
    export_text(x, !o->note ? "" : c->reveal ? o->note : mask_address(c->a, o->note));
    export_row_end(x);
    return E_OK;
}

/*
 * The list's rows streamed by keyset pages (case_observation_each) into
 * the export: the workbook goes to a temporary file row by row. A reply
 * stops at export_sync_max() rows (413 export_too_large); the export job
 * (case_observation_export below) has no cap (docs/cases.md "Exports").
 */
static err observations_export(struct req *r, const struct case_observe_filter *f,
                               enum export_format fmt, bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "隔离观察名单", export_cols, EXPORT_NCOLS);
    if (e)
        return e;
    arena *pa = arena_new(1 << 16); /* one page's rows, reset between pages */
    struct export_ctx c = {.x = &x, .a = pa, .reveal = reveal};
    int64_t n = 0;
    e = case_observation_each(r->db, pa, &r->who->scope, f, export_row, &c, &n);
    arena_free(&pa);
    if (e) {
        err_ignore(export_send(&x, e, "observations"));
        return audit_refusal(r->db, r->who, r->ip, "observation.export", "observation", 0, e,
                             export_format_name(fmt));
    }
    req_audit(r, reveal ? "observation.export_reveal" : "observation.export", "observation", 0,
              "ok",
              arena_printf(r->a, "%s count=%lld%s", export_format_name(fmt), (long long)n,
                           reveal ? " reveal" : ""));
    return export_send(&x, E_OK, "observations");
}

/* The list's filters from the query (the list, its exports, the export job). */
static err list_filter(struct req *r, struct case_observe_filter *f)
{
    int k;
    memset(f, 0, sizeof *f);
    err e = req_paging(r, &f->page, &f->page_size);
    if (!e && !(e = query_word(r, "state", &observe_state_vocab, &k)))
        f->state = k;
    if (!e && !(e = query_word(r, "kind", &observe_kind_vocab, &k)))
        f->kind = k;
    if (!e && !(e = query_word(r, "source", &case_source_vocab, &k)))
        f->source = k;
    if (!e && !(e = query_word(r, "person_status", &person_status_vocab, &k)))
        f->person_status = k;
    if (!e)
        e = req_query_int64(r, "planned_end_before", 1, TIME_MAX, &f->planned_end_before);
    const char *site = req_query(r, "site_id");
    if (!e && site && (f->site_id = id_parse(site)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "site_id", "参数 site_id 的取值不正确");
    const char *person = req_query(r, "person_id");
    if (!e && person && (f->person_id = id_parse(person)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 的取值不正确");
    f->q = req_query(r, "q");
    if (!e && f->q && (!utf8_valid_text(f->q) || utf8_len(f->q) > 50))
        e = err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    return e;
}

/* ---- the export job's source (http/export.h): the list's filters, its
 * keyset walk in the job's scope, the row writer above ---- */

static err source_parse(struct req *r, void **filter_r)
{
    struct case_observe_filter *f = arena_alloc(r->a, sizeof *f);
    *filter_r = f;
    return list_filter(r, f);
}

static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    const struct case_observe_filter *f = filter;
    struct case_observe_filter one = *f;
    one.page = 1;
    one.page_size = 1;
    struct observation *items;
    size_t n;
    json_t *counts = NULL;
    /* the total, for the progress bar only: a name search too wide to
     * count leaves it unknown (0) */
    if (case_observation_list(d, a, &who->scope, &one, &items, &n, &x->total, &counts))
        x->total = 0;
    json_decref(counts);
    arena_reset(a);
    struct export_ctx c = {.x = x, .a = a, .reveal = reveal};
    int64_t rows;
    return case_observation_each(d, a, &who->scope, f, export_row, &c, &rows);
}

const struct export_source case_observation_export = {
    .list = "observations",
    .kind = "export.observations",
    .audit = "observation",
    .perm = PERM_CASE_READ,
    .sheet = "隔离观察名单",
    .head = export_cols,
    .ncols = EXPORT_NCOLS,
    .parse = source_parse,
    .each = source_each,
};

/* GET /observations, and its exports; `forced` is the format of the
 * /observations/export.xlsx alias (EXPORT_NONE: the query's). */
static err list_observations(struct req *r, enum export_format forced)
{
    struct case_observe_filter f;
    enum export_format fmt = forced;
    bool reveal = false;
    err e = list_filter(r, &f);
    if (!e && !forced)
        e = req_export_format(r, &fmt);
    if (!e && (e = req_reveal(r, &reveal)) && e == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, fmt ? "observation.export" : "observation.list",
                             "observation", 0, e, "reveal");
    if (e)
        return e;
    if (fmt)
        return observations_export(r, &f, fmt, reveal);
    struct observation *items;
    size_t n;
    int64_t total;
    json_t *counts;
    if ((e = case_observation_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total, &counts)))
        return e;
    req_audit(
        r, reveal ? "observation.list_reveal" : "observation.list", "observation", 0, "ok",
        arena_printf(r->a, "count=%zu total=%lld%s", n, (long long)total, reveal ? " reveal" : ""));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, observation_json(r->a, &items[i], reveal));
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(f.page));
    json_object_set_new(o, "page_size", json_integer(f.page_size));
    json_object_set_new(o, "counts", counts);
    return reply_json(r, 200, o);
}

static err get_observations(struct req *r)
{
    return list_observations(r, EXPORT_NONE);
}

/* The workbook under its former address (bench/cases.sh, bookmarks). */
static err get_observations_xlsx(struct req *r)
{
    return list_observations(r, EXPORT_XLSX);
}

/* ---- status ---------------------------------------------------------------------- */

static err post_status(struct req *r)
{
    struct case_status_in in = {
        .to = body_word(r, "to", &person_status_vocab),
        .severity = body_word(r, "severity", &case_severity_vocab),
        .route = body_word(r, "infection_route", &infection_route_vocab),
        .reason = json_str(r->body, "reason"),
    };
    int64_t change = 0;
    err e = req_param_id(r, 0, &in.person_id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_status_set(r->db, r->a, r->who, &in, &change));
    if ((e = req_write_done(r, e, "person.status", "person", in.person_id,
                            arena_printf(r->a, "to=%s", person_status_name(in.to)))))
        return e;
    json_t *o;
    if ((e = case_status_change_json(r->db, r->a, change, &o)))
        return e;
    return reply_json(r, 200, o);
}

static err get_status_changes(struct req *r)
{
    int64_t id, page, size, total;
    bool reveal;
    json_t *items;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_paging(r, &page, &size);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = case_status_changes(r->db, r->a, &r->who->scope, id, reveal, page, size, &items,
                                &total);
    if (e)
        return e;
    req_audit(r, "person.status_changes", "person", id, "ok", "");
    if (reveal)
        req_audit(r, "person.reveal", "person", id, "ok", "fields=status_change_reason");
    return reply_page(r, items, total, page, size);
}

static err get_status_targets(struct req *r)
{
    int64_t id;
    json_t *o;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = case_status_targets_json(r->db, &r->who->scope, id, &o);
    if (e)
        return e;
    req_audit(r, "person.status_targets", "person", id, "ok", "");
    return reply_json(r, 200, o);
}

static err get_timeline(struct req *r)
{
    int64_t id, page, size, total;
    json_t *items;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_paging(r, &page, &size);
    if (!e)
        e = case_person_timeline(r->db, &r->who->scope, id, page, size, &items, &total);
    if (e)
        return e;
    req_audit(r, "person.timeline", "person", id, "ok", "");
    return reply_page(r, items, total, page, size);
}

/* ---- rooms, sites, periods -------------------------------------------------------- */

static err get_sites(struct req *r)
{
    json_t *items;
    err e = case_sites(r->db, r->a, &r->who->scope, &items);
    if (e)
        return e;
    return reply_page(r, items, (int64_t)json_array_size(items), 1,
                      (int64_t)json_array_size(items));
}

static err get_rooms(struct req *r)
{
    int64_t site;
    json_t *items;
    err e = req_param_id(r, 0, &site);
    if (!e)
        e = case_rooms_list(r->db, r->a, &r->who->scope, site, &items);
    if (e)
        return e;
    req_audit(r, "quarantine_room.list", "place", site, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, (int64_t)json_array_size(items), 1,
                      (int64_t)json_array_size(items));
}

static const struct jfield rooms_body[] = {
    {"rooms", J_ARRAY, 0, 0, 0, "房间号", NULL, NULL},
    {"from", J_INT, 0, 0, 99999, "起始房间号", NULL, NULL},
    {"to", J_INT, 0, 0, 99999, "结束房间号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

#define ROOMS_BODY_MAX 500

/* The rooms of the body: a list of numbers as text, or the range from..to. */
static err rooms_of(struct req *r, const char ***rooms_r, size_t *n_r)
{
    json_t *list = json_object_get(r->body, "rooms");
    bool range = json_has(r->body, "from") || json_has(r->body, "to");
    if (list && range)
        return err_set(E_INPUT, "invalid_value", "rooms", "房间号列表与范围只能填写一种");
    if (range) {
        int64_t from = json_int(r->body, "from", -1), to = json_int(r->body, "to", -1);
        if (from < 0)
            return err_set(E_INPUT, "required", "from", "请填写起始房间号");
        if (to < from || to - from >= ROOMS_BODY_MAX)
            return err_set(E_INPUT, "out_of_range", "to",
                           "结束房间号应不小于起始房间号，且一次最多%d个", ROOMS_BODY_MAX);
        size_t n = (size_t)(to - from + 1);
        const char **rooms = arena_alloc(r->a, n * sizeof *rooms);
        for (size_t i = 0; i < n; i++)
            rooms[i] = arena_printf(r->a, "%lld", (long long)(from + (int64_t)i));
        *rooms_r = rooms;
        *n_r = n;
        return E_OK;
    }
    if (!list || json_array_size(list) == 0)
        return err_set(E_INPUT, "required", "rooms", "请填写房间号");
    size_t n = json_array_size(list);
    if (n > ROOMS_BODY_MAX)
        return err_set(E_INPUT, "out_of_range", "rooms", "一次最多添加%d个房间", ROOMS_BODY_MAX);
    const char **rooms = arena_alloc(r->a, n * sizeof *rooms);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_string(v))
            return err_set(E_INPUT, "invalid_type", arena_printf(r->a, "rooms[%zu]", i),
                           "房间号应为文本");
        rooms[i] = field_trim(r->a, json_string_value(v));
    }
    *rooms_r = rooms;
    *n_r = n;
    return E_OK;
}

static err post_rooms(struct req *r)
{
    int64_t site, added = 0;
    const char **rooms = NULL;
    size_t n = 0;
    err e = req_param_id(r, 0, &site);
    if (!e)
        e = rooms_of(r, &rooms, &n);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_rooms_add(r->db, r->a, &r->who->scope, site, rooms, n, &added));
    if ((e = req_write_done(r, e, "quarantine_room.create", "place", site,
                            arena_printf(r->a, "count=%zu", n))))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "added", json_integer(added));
    return reply_json(r, 201, o);
}

static const struct jfield room_patch_body[] = {
    {"closed", J_BOOL, JF_REQUIRED, 0, 0, "停用", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err patch_room(struct req *r)
{
    int64_t site;
    err e = req_param_id(r, 0, &site);
    const char *room = r->params[1];
    db_hold(r->db);
    if (!e)
        e = case_room_set_closed(r->db, &r->who->scope, site, room,
                                 json_bool(r->body, "closed", false));
    if ((e = req_write_done(r, e, "quarantine_room.update", "place", site,
                            json_bool(r->body, "closed", false) ? "closed=1" : "closed=0")))
        return e;
    return reply_empty(r);
}

static err get_periods(struct req *r)
{
    json_t *arr;
    err e = case_periods_json(r->db, &arr);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "periods", arr);
    return reply_json(r, 200, o);
}

static const struct jfield periods_body[] = {
    {"periods", J_ARRAY, JF_REQUIRED, 0, 0, "隔离天数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err put_periods(struct req *r)
{
    db_hold(r->db);
    err e = db_begin(r->db);
    if (!e)
        e = req_tx_end(
            r, case_periods_save(r->db, json_object_get(r->body, "periods"), r->who->user_id));
    if ((e = req_write_done(r, e, "observation_period.update", "observation_period", 0, "")))
        return e;
    return get_periods(r);
}

/* ---- the route table ------------------------------------------------------------------ */

const struct route case_observe_routes[] = {
    {M_POST, "/api/v1/observations", post_observation, PERM_CASE_MANAGE, 0, observe_body,
     "纳入隔离观察名单", "case", 0},
    {M_GET, "/api/v1/observations", get_observations, PERM_CASE_READ, 0, NULL,
     "隔离观察名单（state、kind、source、site_id、person_id、person_status、planned_end_before、q "
     "筛选，format=csv|xlsx 导出，reveal=1 查看完整信息）",
     "case", 0},
    {M_GET, "/api/v1/observations/export.xlsx", get_observations_xlsx, PERM_CASE_READ, 0, NULL,
     "导出隔离观察名单（Excel；同 format=xlsx，筛选同名单）", "case", 0},
    {M_GET, "/api/v1/observations/{id}", get_observation, PERM_CASE_READ, 0, NULL,
     "隔离观察详情（reveal=1 查看完整信息）", "case", 0},
    {M_PATCH, "/api/v1/observations/{id}", patch_observation, PERM_CASE_MANAGE, 0,
     observation_patch_body, "修改隔离观察信息", "case", 0},
    {M_POST, "/api/v1/observations/{id}/end", post_observation_end, PERM_CASE_MANAGE, 0, end_body,
     "解除隔离或转送", "case", 0},
    {M_POST, "/api/v1/observations/{id}/move", post_observation_move, PERM_CASE_MANAGE, 0,
     move_body, "调换隔离房间", "case", 0},
    {M_POST, "/api/v1/persons/{id}/status", post_status, PERM_CASE_STATUS, 0, case_status_body,
     "变更人员疫情状态", "case", 0},
    {M_GET, "/api/v1/persons/{id}/status-changes", get_status_changes, PERM_CASE_READ, 0, NULL,
     "人员状态变更记录（reveal=1 查看完整原因）", "case", 0},
    {M_GET, "/api/v1/persons/{id}/status-targets", get_status_targets, PERM_CASE_READ, 0, NULL,
     "人员当前状态可变更的目标状态（状态机）", "case", 0},
    {M_GET, "/api/v1/persons/{id}/timeline", get_timeline, PERM_CASE_READ, 0, NULL,
     "人员处置时间线", "case", 0},
    {M_GET, "/api/v1/quarantine-sites", get_sites, PERM_CASE_READ, 0, NULL, "隔离点入住情况",
     "case", 0},
    {M_GET, "/api/v1/quarantine-sites/{id}/rooms", get_rooms, PERM_CASE_READ, 0, NULL, "隔离点房间",
     "case", 0},
    {M_POST, "/api/v1/quarantine-sites/{id}/rooms", post_rooms, PERM_CASE_MANAGE, 0, rooms_body,
     "添加隔离点房间", "case", 0},
    {M_PATCH, "/api/v1/quarantine-sites/{id}/rooms/{room_no}", patch_room, PERM_CASE_MANAGE, 0,
     room_patch_body, "停用或启用房间", "case", 0},
    {M_GET, "/api/v1/observation-periods", get_periods, PERM_CASE_READ, 0, NULL,
     "各隔离观察方式的天数", "case", 0},
    {M_PUT, "/api/v1/observation-periods", put_periods, PERM_CASE_RULES, 0, periods_body,
     "修改隔离天数", "case", 0},
};
const size_t case_observe_routes_n = sizeof case_observe_routes / sizeof case_observe_routes[0];
