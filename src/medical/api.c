/*
 * HTTP handlers of medical resources (medical/medical.h; docs/supplies.md
 * "Medical resources"):
 *
 *   GET  /api/v1/medical/institutions               institutions in scope with their figures;
 *                                                   kind= (medical.read)
 *   POST /api/v1/medical/institutions               register a place as one (place.write)
 *   POST /api/v1/medical/institutions/{id}/reports  report its figures (medical.report)
 *   GET  /api/v1/medical/institutions/{id}/reports  their history (medical.read)
 *   GET  /api/v1/medical/proposals?region=          hospitals with a free bed for a transfer,
 *                                                   nearest and most free first (medical.read)
 *
 * Institutions hold no personal data: reads are not audited, writes are
 * (with their transaction), refusals of a region outside the scope too.
 */
#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "http/write.h"
#include "medical/medical.h"
#include "security/audit.h"

static err get_institutions(struct req *r)
{
    const char *kind = req_query(r, "kind");
    if (kind && *kind && vocab_parse(&medical_kind_vocab, kind) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "医疗机构类型不正确");
    json_t *items;
    err e = medical_institutions(r->db, &r->who->scope, kind && *kind ? kind : NULL, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static const struct jfield institution_body[] = {
    {"place_id", J_STRING, JF_REQUIRED, 1, 20, "场所", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "医疗机构类型", NULL, &medical_kind_vocab},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_institution(struct req *r)
{
    const char *v = json_str(r->body, "place_id");
    int64_t id = id_parse(v);
    err e = id ? E_OK : err_set(E_INPUT, "invalid_id", "place_id", "编号格式不正确");
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, medical_institution_add(r->db, &r->who->scope, id,
                                                  json_str(r->body, "kind"), r->who->user_id));
    if ((e = req_write_done(r, e, "medical.institution.create", "place", id, req_body_fields(r))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

static const struct jfield report_body[] = {
    {"beds_total", J_INT, JF_REQUIRED, 0, MEDICAL_BEDS_MAX, "总床位", NULL, NULL},
    {"beds_occupied", J_INT, JF_REQUIRED, 0, MEDICAL_BEDS_MAX, "在用床位", NULL, NULL},
    {"icu_total", J_INT, JF_REQUIRED, 0, MEDICAL_BEDS_MAX, "ICU总床位", NULL, NULL},
    {"icu_free", J_INT, JF_REQUIRED, 0, MEDICAL_BEDS_MAX, "空闲ICU床位", NULL, NULL},
    {"testing_per_day", J_INT, JF_REQUIRED, 0, MEDICAL_TESTING_MAX, "日检测能力", NULL, NULL},
    {"note", J_STRING, 0, 0, MEDICAL_NOTE_MAX, "备注", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_report(struct req *r)
{
    json_t *b = r->body;
    struct medical_figures f = {json_int(b, "beds_total", 0),      json_int(b, "beds_occupied", 0),
                                json_int(b, "icu_total", 0),       json_int(b, "icu_free", 0),
                                json_int(b, "testing_per_day", 0), json_str(b, "note")};
    int64_t place = 0, id = 0;
    err e = req_param_id(r, 0, &place);
    if (!e)
        e = check_text(f.note, "note", "备注", MEDICAL_NOTE_MAX, 0);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, medical_report(r->db, &r->who->scope, place, &f, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "medical.report", "place", place, req_body_fields(r))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

static err get_reports(struct req *r)
{
    int64_t place = 0;
    json_t *items;
    err e = req_param_id(r, 0, &place);
    if (e || (e = medical_history(r->db, &r->who->scope, place, &items)))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static err get_proposals(struct req *r)
{
    const char *v = req_query(r, "region");
    enum region_level lv;
    int64_t code = v && *v ? regcode_parse(v, &lv) : r->who->region_code;
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
    json_t *items;
    err e = medical_proposals(r->db, &r->who->scope, code, &items);
    if (e == E_NOT_FOUND)
        return audit_refusal(r->db, r->who, r->ip, "medical.proposals", "region", 0, e, v);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

const struct route medical_routes[] = {
    {M_GET, "/api/v1/medical/institutions", get_institutions, PERM_MEDICAL_READ, 0, NULL,
     "辖区内医疗机构及床位、ICU、检测能力（kind 筛选）", "medical", 0},
    {M_POST, "/api/v1/medical/institutions", post_institution, PERM_PLACE_WRITE, 0,
     institution_body, "将场所登记为医疗机构（定点医院、发热门诊、方舱医院）", "medical", 0},
    {M_POST, "/api/v1/medical/institutions/{id}/reports", post_report, PERM_MEDICAL_REPORT, 0,
     report_body, "填报床位、ICU和检测能力", "medical", 0},
    {M_GET, "/api/v1/medical/institutions/{id}/reports", get_reports, PERM_MEDICAL_READ, 0, NULL,
     "医疗机构填报历史", "medical", 0},
    {M_GET, "/api/v1/medical/proposals", get_proposals, PERM_MEDICAL_READ, 0, NULL,
     "转送建议：所在区县有空床的医疗机构，近者、空床比例高者优先（region）", "medical", 0},
};
const size_t medical_routes_n = sizeof medical_routes / sizeof medical_routes[0];
