/*
 * HTTP handlers of declarations and temperatures:
 *
 *   POST /api/v1/me/declarations              a resident declares for themselves (201)
 *   GET  /api/v1/me/declarations              the resident's own declarations
 *   POST /api/v1/persons/{id}/declarations    staff declare on someone's behalf (201)
 *   GET  /api/v1/persons/{id}/declarations    a person's declarations
 *   POST /api/v1/persons/{id}/temperatures    a measured temperature (201)
 *   GET  /api/v1/persons/{id}/temperatures    a person's readings
 *
 * Every read and write is audited with the person as the object.
 */
#include <math.h>
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "code/code.h"
#include "health/health.h"
#include "person/person.h"
#include "security/audit.h"

/* ---- bodies ------------------------------------------------------------------ */

static const struct jfield declaration_body[] = {
    {"temperature", J_NUMBER, JF_REQUIRED, 0, 0, "体温", NULL},
    {"symptoms", J_ARRAY, 0, 0, 0, "症状", NULL},
    {"symptom_other", J_STRING, JF_NULLABLE, 0, HEALTH_TEXT_MAX, "其他症状", NULL},
    {"travel", J_STRING, JF_NULLABLE, 0, HEALTH_TEXT_MAX, "旅居史", NULL},
    {"travel_regions", J_ARRAY, 0, 0, 0, "途经地区", NULL},
    {"contact", J_BOOL, JF_REQUIRED, 0, 0, "是否接触过病例", NULL},
    {"contact_text", J_STRING, JF_NULLABLE, 0, HEALTH_TEXT_MAX, "接触情况", NULL},
    {NULL},
};

static const struct jfield reading_body[] = {
    {"value", J_NUMBER, JF_REQUIRED, 0, 0, "体温", NULL},
    {"source", J_STRING, JF_REQUIRED, 0, 0, "测温来源", reading_sources},
    {"at", J_INT, 0, 1, INT64_MAX, "测温时间", NULL},
    {"venue_id", J_STRING, 0, 1, 20, "场所", NULL},
    {"device_id", J_STRING, 0, 1, 20, "设备", NULL},
    {NULL},
};

static const char *text_or_null(json_t *b, const char *key)
{
    const char *s = json_str(b, key);
    return s && *s ? s : NULL;
}

/* The checked body into *dc; E_INPUT for what the jfield table cannot say. */
static err declaration_from_json(json_t *b, struct declaration *dc)
{
    double t = json_number_value(json_object_get(b, "temperature"));
    if (!health_declared_valid(t))
        return err_set(E_INPUT, "out_of_range", "temperature",
                       "体温应在35.0到42.0℃之间，最多一位小数");
    dc->temperature = round(t * 10) / 10;
    json_t *arr = json_object_get(b, "symptoms"), *v;
    size_t i;
    json_array_foreach(arr, i, v)
    {
        unsigned bit = json_is_string(v) ? symptom_parse(json_string_value(v)) : 0;
        if (!bit)
            return err_set(E_INPUT, "invalid_value", "symptoms",
                           "症状只能是 fever、cough、fatigue、shortness_of_breath、vomiting、"
                           "diarrhoea、rash、headache 或 other");
        dc->symptoms |= bit;
    }
    dc->symptom_other = text_or_null(b, "symptom_other");
    if (dc->symptom_other && !(dc->symptoms & SYM_OTHER))
        return err_set(E_INPUT, "invalid_value", "symptom_other", "填写其他症状时请同时选择“其他”");
    if ((dc->symptoms & SYM_OTHER) && !dc->symptom_other)
        return err_set(E_INPUT, "required", "symptom_other", "选择“其他”症状时请填写症状描述");
    dc->travel = text_or_null(b, "travel");
    arr = json_object_get(b, "travel_regions");
    if (json_array_size(arr) > HEALTH_TRAVEL_CODES)
        return err_set(E_INPUT, "too_long", "travel_regions", "途经地区最多%d个",
                       HEALTH_TRAVEL_CODES);
    json_array_foreach(arr, i, v)
    {
        enum region_level lv;
        int64_t c = json_is_string(v) ? regcode_parse(json_string_value(v), &lv) : 0;
        if (c <= 0)
            return err_set(E_INPUT, "invalid_region", "travel_regions",
                           "途经地区应为12、15或18位的区划代码");
        dc->travel_regions[dc->n_travel_regions++] = c;
    }
    dc->contact = json_is_true(json_object_get(b, "contact"));
    dc->contact_text = text_or_null(b, "contact_text");
    if (dc->contact_text && !dc->contact)
        return err_set(E_INPUT, "invalid_value", "contact_text",
                       "未接触过病例时不需要填写接触情况");
    return E_OK;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The fever threshold of the code rules; a failed read is an error, not
 * the default threshold. */
static err fever_threshold(db *d, double *th_r)
{
    struct code_rule rules[CODE_RULES_MAX];
    size_t n;
    err e = code_rules_load(d, rules, &n);
    if (!e)
        *th_r = code_fever_threshold(rules, n);
    return e;
}

static json_t *declaration_json(const struct declaration *dc, double threshold)
{
    json_t *o = json_object(), *sym = json_array(), *regs = json_array();
    for (unsigned bit = 1; bit <= SYM_ALL; bit <<= 1)
        if (dc->symptoms & bit)
            json_array_append_new(sym, json_string(symptom_name(bit)));
    for (int i = 0; i < dc->n_travel_regions; i++) {
        char code[19];
        regcode_format(dc->travel_regions[i], code);
        json_array_append_new(regs, json_string(code));
    }
    json_set_id(o, "id", dc->id);
    json_set_id(o, "person_id", dc->person_id);
    json_object_set_new(o, "at", json_integer(dc->at));
    json_object_set_new(o, "temperature", json_real(dc->temperature));
    json_object_set_new(o, "fever", json_boolean(dc->temperature >= threshold - 1e-9));
    json_object_set_new(o, "symptoms", sym);
    json_object_set_new(o, "symptom_other", str_or_null(dc->symptom_other));
    json_object_set_new(o, "travel", str_or_null(dc->travel));
    json_object_set_new(o, "travel_regions", regs);
    json_object_set_new(o, "contact", json_boolean(dc->contact));
    json_object_set_new(o, "contact_text", str_or_null(dc->contact_text));
    json_object_set_new(o, "source", json_string(dc->source));
    json_set_id(o, "user_id", dc->user_id);
    return o;
}

/* ---- residents ------------------------------------------------------------------ */

/* The resident's own person id, with current consent. */
static err self_person(struct req *r, int64_t *id_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct person p;
    err e = person_consent_require(r->db, r->a, r->who->user_id, NULL);
    if (e || (e = person_self_find(r->db, r->a, r->who, &p)))
        return e;
    *id_r = p.id;
    return E_OK;
}

static err declare(struct req *r, int64_t person_id, const struct scope *sc, const char *source)
{
    struct declaration dc = {.person_id = person_id, .source = source};
    double th;
    err e = declaration_from_json(r->body, &dc);
    if (!e && (e = fever_threshold(r->db, &th))) /* before the write: it must not fail after */
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (e || (e = health_declare(r->db, r->a, sc, &dc, r->who->user_id))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "declaration.create", "person", person_id, "ok",
              arena_printf(r->a, "source=%s", source));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 201, declaration_json(&dc, th));
}

static err list_declarations(struct req *r, int64_t person_id, const struct scope *sc)
{
    int64_t page, size, total;
    struct declaration *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    double th;
    if (e ||
        (e = health_declarations(r->db, r->a, sc, person_id, page, size, &items, &n, &total)) ||
        (e = fever_threshold(r->db, &th)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, declaration_json(&items[i], th));
    req_audit(r, "declaration.list", "person", person_id, "ok", arena_printf(r->a, "count=%zu", n));
    return reply_page(r, arr, total, page, size);
}

static err post_my_declaration(struct req *r)
{
    int64_t id;
    err e = self_person(r, &id);
    if (e)
        return e;
    struct scope all = scope_all(); /* the record is the account's own */
    return declare(r, id, &all, "self");
}

static err get_my_declarations(struct req *r)
{
    int64_t id;
    err e = self_person(r, &id);
    if (e)
        return e;
    struct scope all = scope_all();
    return list_declarations(r, id, &all);
}

/* ---- staff ---------------------------------------------------------------------- */

static err post_declaration(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : declare(r, id, &r->who->scope, "staff");
}

static err get_declarations(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : list_declarations(r, id, &r->who->scope);
}

static json_t *reading_json(const struct reading *x, double threshold)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_set_id(o, "person_id", x->person_id);
    json_object_set_new(o, "at", json_integer(x->at));
    json_object_set_new(o, "value", json_real(x->celsius));
    json_object_set_new(o, "fever", json_boolean(x->celsius >= threshold - 1e-9));
    json_object_set_new(o, "source", json_string(x->source));
    if (x->venue_id)
        json_set_id(o, "venue_id", x->venue_id);
    else
        json_object_set_new(o, "venue_id", json_null());
    if (x->device_id)
        json_set_id(o, "device_id", x->device_id);
    else
        json_object_set_new(o, "device_id", json_null());
    json_set_id(o, "user_id", x->user_id);
    return o;
}

static err optional_id(struct req *r, const char *key, int64_t *id_r)
{
    const char *s = json_str(r->body, key);
    *id_r = 0;
    if (s && !(*id_r = id_parse(s)))
        return err_set(E_INPUT, "invalid_value", key, "编号格式不正确");
    return E_OK;
}

static err post_temperature(struct req *r)
{
    int64_t id;
    double th; /* before the write: it must not fail after */
    err e = req_param_id(r, 0, &id);
    if (e || (e = fever_threshold(r->db, &th)))
        return e;
    struct reading x = {.person_id = id,
                        .celsius = json_number_value(json_object_get(r->body, "value")),
                        .source = json_str(r->body, "source"),
                        .at = json_int(r->body, "at", 0),
                        .user_id = r->who->user_id};
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = optional_id(r, "venue_id", &x.venue_id)) ||
        (e = optional_id(r, "device_id", &x.device_id)) ||
        (e = health_reading_refs_check(r->db, r->a, &r->who->scope, &x)) ||
        (e = health_reading_record(r->db, r->a, &r->who->scope, &x))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "temperature.create", "person", id, e, NULL);
    }
    req_audit(r, "temperature.create", "person", id, "ok",
              arena_printf(r->a, "source=%s", x.source));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 201, reading_json(&x, th));
}

static err get_temperatures(struct req *r)
{
    int64_t id, page, size, total;
    double th;
    struct reading *items;
    size_t n;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_paging(r, &page, &size)) ||
        (e = health_readings(r->db, r->a, &r->who->scope, id, page, size, &items, &n, &total)) ||
        (e = fever_threshold(r->db, &th)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, reading_json(&items[i], th));
    req_audit(r, "temperature.list", "person", id, "ok", arena_printf(r->a, "count=%zu", n));
    return reply_page(r, arr, total, page, size);
}

const struct route health_routes[] = {
    {M_POST, "/api/v1/me/declarations", post_my_declaration, PERM_SELF, 0, declaration_body,
     "本人健康申报", "health", 0},
    {M_GET, "/api/v1/me/declarations", get_my_declarations, PERM_SELF, 0, NULL, "本人申报记录",
     "health", 0},
    {M_POST, "/api/v1/persons/{id}/declarations", post_declaration, PERM_HEALTH_WRITE, 0,
     declaration_body, "代为健康申报", "health", 0},
    {M_GET, "/api/v1/persons/{id}/declarations", get_declarations, PERM_HEALTH_READ, 0, NULL,
     "人员健康申报记录", "health", 0},
    {M_POST, "/api/v1/persons/{id}/temperatures", post_temperature, PERM_HEALTH_WRITE, 0,
     reading_body, "登记体温", "health", 0},
    {M_GET, "/api/v1/persons/{id}/temperatures", get_temperatures, PERM_HEALTH_READ, 0, NULL,
     "人员体温记录", "health", 0},
};
const size_t health_routes_n = sizeof health_routes / sizeof health_routes[0];
