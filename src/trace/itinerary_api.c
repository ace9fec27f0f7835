/*
 * HTTP handlers of the 14-day itinerary (行程卡; trace.h; docs/tracing.md
 * "The 14-day itinerary"):
 *
 *   GET  /api/v1/persons/{id}/itinerary?days=   staff (trace.read): stays, passages, cities
 *   GET  /api/v1/me/itinerary                   the resident's card with its signed token
 *   GET  /api/v1/me/itinerary/qr.svg            the card's QR (green, or orange when marked)
 *   POST /api/v1/itinerary/verify   {token}     staff scan a card (itinerary.verify)
 *   POST /api/v1/exchange/itinerary {id_type?, id_number}
 *                                               another system asks for a card by
 *                                               identity document (itinerary.verify)
 *   GET  /api/v1/itinerary/settings             the stay rule (trace.read)
 *   PUT  /api/v1/itinerary/settings {stay_hours} change it (trace.rules)
 *
 * Every reply about a person is an access to personal data: audited
 * (trace.itinerary.*), names and id numbers masked. A verification is
 * audited whatever its outcome, a forged token above all.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/qr.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/write.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "trace/trace.h"

#define CARD_NOTE "* 表示停留期间所到之处存在中风险或高风险地区；结果仅供参考"

/* The card's content as staff, the resident and other systems see it. */
static json_t *card_json(struct req *r, const struct person *p, const struct itinerary *it,
                         bool with_id_number)
{
    bool risky;
    json_t *o = json_object();
    json_object_set_new(o, "person_name", json_string(mask_name(r->a, p->name)));
    if (with_id_number)
        json_object_set_new(o, "id_number", json_string(mask_id_number(r->a, p->id_number)));
    json_object_set_new(o, "days", json_integer(it->days));
    json_object_set_new(o, "cities", itinerary_cities_json(it, &risky));
    json_object_set_new(o, "risk", json_boolean(risky));
    json_object_set_new(o, "colour", json_string(risky ? "orange" : "green"));
    json_object_set_new(o, "note", json_string(CARD_NOTE));
    return o;
}

/* ---- staff ---------------------------------------------------------------------------- */

static err get_person_itinerary(struct req *r)
{
    int64_t id = 0, days = ITINERARY_DAYS_DEFAULT;
    struct person p;
    struct itinerary it;
    err e = req_param_id(r, 0, &id);
    if (!e && (e = req_query_int64(r, "days", 1, ITINERARY_DAYS_MAX, &days)))
        return e;
    if (!e)
        e = person_find_brief(r->db, r->a, &r->who->scope, id, &p);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "trace.itinerary.read", "person", id, e, "");
    if ((e = itinerary_build(r->db, r->a, id, (int)days, now_ms(), &it)))
        return e;
    req_audit(r, "trace.itinerary.read", "person", id, "ok", "");
    json_t *o = itinerary_json(&it);
    json_t *who = json_object();
    json_set_id(who, "id", id);
    json_object_set_new(who, "name", json_string(mask_name(r->a, p.name)));
    json_object_set_new(o, "person", who);
    return reply_json(r, 200, o);
}

/* ---- the resident's card -------------------------------------------------------------- */

static err my_person(struct req *r, struct person *p)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    err e = person_consent_require(r->db, r->a, r->who->user_id, NULL);
    return e ? e : person_self_find(r->db, r->a, r->who, p);
}

static err get_my_itinerary(struct req *r)
{
    struct person p;
    struct itinerary it;
    char tok[TOKEN_MAX];
    int64_t now = now_ms(), until = 0;
    err e = my_person(r, &p);
    if (e || (e = itinerary_build(r->db, r->a, p.id, ITINERARY_DAYS_DEFAULT, now, &it)) ||
        (e = itinerary_token(p.id, now, tok, &until)))
        return e;
    req_audit(r, "trace.itinerary.self", "person", p.id, "ok", "");
    json_t *o = card_json(r, &p, &it, false);
    json_object_set_new(o, "issued_at", json_integer(now / 1000 * 1000));
    json_object_set_new(o, "valid_until", json_integer(until));
    json_object_set_new(o, "token", json_string(tok));
    return reply_json(r, 200, o);
}

static err get_my_qr(struct req *r)
{
    struct person p;
    struct itinerary it;
    char tok[TOKEN_MAX], *svg;
    size_t n;
    int64_t now = now_ms(), until = 0;
    bool risky = false;
    err e = my_person(r, &p);
    if (e || (e = itinerary_build(r->db, r->a, p.id, ITINERARY_DAYS_DEFAULT, now, &it)) ||
        (e = itinerary_token(p.id, now, tok, &until)))
        return e;
    json_decref(itinerary_cities_json(&it, &risky));
    if ((e = qr_svg_color(r->a, tok, risky ? QR_YELLOW : QR_GREEN, &svg, &n)))
        return e;
    return reply_bytes(r, 200, "image/svg+xml", svg, n);
}

/* ---- verification and exchange -------------------------------------------------------- */

static const struct jfield verify_body[] = {
    {"token", J_STRING, JF_REQUIRED, 1, 200, "行程卡二维码", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_verify(struct req *r)
{
    struct token t = {0};
    struct person p;
    struct itinerary it;
    struct scope all = scope_all();
    int64_t now = now_ms();
    err e = token_verify(json_str(r->body, "token"), TOKEN_ITINERARY, now, &t);
    if (e) {
        /* a failed verification is an access attempt: audited with its
         * slug, though E_INPUT is not a refusal by audit_refusal's policy */
        struct err_detail saved = *err_last();
        req_audit(r, "trace.itinerary.verify", "person", 0,
                  saved.code == e && saved.slug[0] ? saved.slug : err_slug(e), "");
        return err_set(e, saved.slug[0] ? saved.slug : NULL, saved.field[0] ? saved.field : NULL,
                       "%s", saved.message);
    }
    /* the holder shows the card: whoever verifies it reads it, in any region */
    e = person_find_brief(r->db, r->a, &all, t.subject, &p);
    if (e == E_NOT_FOUND)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "行程卡对应的人员不存在");
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "trace.itinerary.verify", "person", t.subject, e,
                             "");
    if ((e = itinerary_build(r->db, r->a, p.id, ITINERARY_DAYS_DEFAULT, now, &it)))
        return e;
    req_audit(r, "trace.itinerary.verify", "person", p.id, "ok", "");
    json_t *o = card_json(r, &p, &it, false);
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "issued_at", json_integer(t.issued_at));
    json_object_set_new(o, "valid_until", json_integer(t.expires_at));
    json_object_set_new(o, "checked_at", json_integer(now));
    return reply_json(r, 200, o);
}

static const struct jfield exchange_body[] = {
    {"id_type", J_STRING, 0, 1, 40, "证件类型", NULL, &id_type_vocab},
    {"id_number", J_STRING, JF_REQUIRED, 1, 40, "证件号码", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_exchange(struct req *r)
{
    const char *type_name = json_str(r->body, "id_type");
    enum id_type type = type_name ? id_type_parse(type_name) : ID_RESIDENT;
    struct person p;
    struct itinerary it;
    if (!type)
        return err_set(E_INPUT, "invalid_id_type", "id_type", "证件类型不正确");
    char *number = person_id_normalise(arena_strdup(r->a, json_str(r->body, "id_number")));
    err e = check_id_number(type, number, "id_number");
    if (e)
        return e;
    /* one identity document singles a person out: the hourly limit of
     * exact searches (person.h) counts it */
    e = person_search_hit(r->db, r->who, NULL);
    if (!e)
        e = person_find_by_id_number(r->db, r->a, &r->who->scope, type, number, &p);
    if (e == E_NOT_FOUND)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "未找到该证件号码对应的人员");
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "trace.itinerary.exchange", "person", 0, e,
                             "field=id_number");
    int64_t now = now_ms();
    if ((e = itinerary_build(r->db, r->a, p.id, ITINERARY_DAYS_DEFAULT, now, &it)))
        return e;
    req_audit(r, "trace.itinerary.exchange", "person", p.id, "ok", "field=id_number");
    json_t *o = card_json(r, &p, &it, true);
    json_object_set_new(o, "issued_at", json_integer(now));
    return reply_json(r, 200, o);
}

/* ---- the stay rule -------------------------------------------------------------------- */

static err reply_settings(struct req *r)
{
    int h;
    err e = itinerary_stay_hours(r->db, &h);
    return e ? e
             : reply_json(r, 200,
                          json_pack("{s:i,s:i,s:i,s:i}", "stay_hours", h, "default",
                                    ITINERARY_STAY_HOURS, "min", ITINERARY_STAY_HOURS_MIN, "max",
                                    ITINERARY_STAY_HOURS_MAX));
}

static const struct jfield settings_body[] = {
    {"stay_hours", J_INT, JF_REQUIRED, ITINERARY_STAY_HOURS_MIN, ITINERARY_STAY_HOURS_MAX,
     "停留时长（小时）", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err put_settings(struct req *r)
{
    int64_t h = json_int(r->body, "stay_hours", 0);
    db_hold(r->db);
    err e = db_begin(r->db);
    if (!e)
        e = req_tx_end(r, itinerary_stay_hours_set(r->db, (int)h));
    if ((e = req_write_done(r, e, "trace.itinerary.settings", "settings", 0,
                            arena_printf(r->a, "stay_hours=%lld", (long long)h))))
        return e;
    return reply_settings(r);
}

/* ---- the route table ------------------------------------------------------------------ */

const struct route trace_itinerary_routes[] = {
    {M_GET, "/api/v1/persons/{id}/itinerary", get_person_itinerary, PERM_TRACE_READ, 0, NULL,
     "人员的14天行程（停留地、途经地、风险标记）", "trace", 0},
    {M_GET, "/api/v1/me/itinerary", get_my_itinerary, PERM_SELF, 0, NULL, "本人的行程卡", "trace",
     0},
    {M_GET, "/api/v1/me/itinerary/qr.svg", get_my_qr, PERM_SELF, 0, NULL,
     "本人的行程卡二维码（SVG）", "trace", 0},
    {M_POST, "/api/v1/itinerary/verify", post_verify, PERM_ITINERARY_VERIFY, 0, verify_body,
     "核验行程卡二维码", "trace", 0},
    {M_POST, "/api/v1/exchange/itinerary", post_exchange, PERM_ITINERARY_VERIFY, 0, exchange_body,
     "按证件号码查询行程卡（数据交换）", "trace", 0},
    {M_GET, "/api/v1/itinerary/settings", reply_settings, PERM_TRACE_READ, 0, NULL,
     "行程卡停留规则", "trace", 0},
    {M_PUT, "/api/v1/itinerary/settings", put_settings, PERM_TRACE_RULES, 0, settings_body,
     "修改行程卡停留规则", "trace", 0},
};
const size_t trace_itinerary_routes_n =
    sizeof trace_itinerary_routes / sizeof trace_itinerary_routes[0];
