/*
 * The telecom operators' visited-place service (运营商到访地查询, seed 002
 * 二(一)1; peer kind "telecom"; connect.h): a resident, having read and
 * accepted the consent text, asks for the places their own phone (the one
 * they signed in with, never one they type) stayed in over the last
 * TELECOM_DAYS days. The answer becomes itinerary evidence (trace's
 * itinerary_telecom_store), so it shows on the resident's itinerary card
 * and in the staff's itinerary like any other source. One query per
 * resident per interval: the operator's service is paid per query and a
 * resident has no reason to ask more often.
 */
#include "exchange/connect.h"

#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "person/person.h"
#include "trace/trace.h"

#define LABEL "运营商到访地查询服务"

static const char consent_text[] =
    "本人同意由本平台向本人手机号码所属的通信运营商查询该号码近14天内到访的城市（省份），"
    "查询结果仅用于本人的行程记录和疫情防控工作，并按规定保存和销毁。查询只针对本人登录所用的手机号"
    "码。";

const char *telecom_consent_text(void)
{
    return consent_text;
}

static err latest_at(db *d, int64_t user_id, int64_t *at_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT MAX(at) FROM telecom_queries WHERE user_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    *at_r = 0;
    if (!(e = db_row(s, &row)) && row && !db_col_null(s, 0))
        *at_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

bool telecom_places_parse(arena *a, json_t *places, int64_t win_from, int64_t now,
                          struct itinerary_span **spans_r, size_t *n_r)
{
    if (!json_is_array(places) || json_array_size(places) > TELECOM_PLACES_MAX)
        return false;
    size_t n = json_array_size(places);
    struct itinerary_span *sp = arena_alloc(a, (n ? n : 1) * sizeof *sp);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(places, i);
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *f = json_string_value(json_object_get(p, "from"));
        const char *t = json_string_value(json_object_get(p, "to"));
        int64_t df, dt;
        if (!name || !*name || strlen(name) > 100 || !f || !t || !china_date_day(f, &df) ||
            !china_date_day(t, &dt) || dt < df)
            return false;
        int64_t from, to;
        if (!china_time_parse(f, &from) || !china_time_parse(t, &to))
            return false;
        to += 24 * 3600 * 1000LL - 1; /* the end of the last day */
        if (to < win_from - 24 * 3600 * 1000LL || from > now)
            return false; /* a day the query did not ask about */
        sp[i] = (struct itinerary_span){.place = arena_strdup(a, name), .from = from, .to = to};
    }
    *spans_r = sp;
    *n_r = n;
    return true;
}

static json_t *places_json(const struct itinerary_span *sp, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char f[CHINA_TIME_LEN], t[CHINA_TIME_LEN];
        china_time(sp[i].from, f);
        china_time(sp[i].to, t);
        f[10] = t[10] = '\0';
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s}", "name", sp[i].place, "from", f, "to", t));
    }
    return arr;
}

err telecom_fetch(db *d, arena *a, const struct principal *who, int64_t interval_s, int64_t now,
                  struct telecom_answer *ans_r)
{
    if (!who->person_id)
        return err_set(E_NOT_FOUND, "person_not_registered", NULL,
                       "请先完成实名登记，再查询到访地");
    int64_t last;
    err e = latest_at(d, who->user_id, &last);
    if (e)
        return e;
    if (last && now - last < interval_s * 1000)
        return err_set(E_RATE, "telecom_rate_limited", NULL,
                       "到访地查询过于频繁，请在%lld分钟后再试",
                       (long long)((interval_s * 1000 - (now - last)) / 60000 + 1));
    const char *phone;
    if ((e = person_account_phone(d, a, who->user_id, &phone)))
        return e;
    json_t *body = json_pack("{s:s,s:i}", "phone", phone, "days", TELECOM_DAYS), *ans = NULL;
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    e = connect_call(d, a, CONNECT_TELECOM, LABEL, "POST", "/telecom/v1/visited", body, &ans);
    json_decref(body);
    if (e)
        return e;
    bool ok = telecom_places_parse(a, json_object_get(ans, "places"),
                                   now - TELECOM_DAYS * 24 * 3600 * 1000LL, now, &ans_r->spans,
                                   &ans_r->n);
    json_decref(ans);
    if (!ok)
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
    ans_r->at = now;
    return E_OK;
}

err telecom_store(db *d, const struct principal *who, const struct telecom_answer *ans,
                  int64_t *id_r, json_t **out_r)
{
    int64_t id = id_new();
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO telecom_queries (id, person_id, user_id, days, consent, "
                       "places, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->person_id);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, TELECOM_DAYS);
    db_bind_text(s, 5, TELECOM_CONSENT_VERSION);
    db_bind_int64(s, 6, (int64_t)ans->n);
    db_bind_int64(s, 7, ans->at);
    if ((e = db_run(s, NULL)) ||
        (e = itinerary_telecom_store(d, id, who->person_id, ans->spans, ans->n)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "query_id", id);
    json_object_set_new(o, "at", json_integer(ans->at));
    json_object_set_new(o, "places", places_json(ans->spans, ans->n));
    *id_r = id;
    *out_r = o;
    return E_OK;
}

err telecom_latest_json(db *d, int64_t user_id, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT q.at, t.place, t.from_at, t.to_at FROM telecom_queries q "
                       "LEFT JOIN itinerary_telecom t ON t.query_id = q.id "
                       "WHERE q.id = (SELECT id FROM telecom_queries WHERE user_id = ? "
                       "ORDER BY at DESC, id DESC LIMIT 1) ORDER BY t.seq",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    json_t *o = json_null(), *places = NULL;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!places) {
            places = json_array();
            o = json_object();
            json_object_set_new(o, "at", json_integer(db_col_int64(s, 0)));
            json_object_set_new(o, "places", places);
        }
        if (db_col_null(s, 1))
            continue;
        struct itinerary_span sp = {
            .place = db_col_text(s, 1), .from = db_col_int64(s, 2), .to = db_col_int64(s, 3)};
        json_t *one = places_json(&sp, 1);
        json_array_extend(places, one);
        json_decref(one);
    }
    db_done(s);
    if (e) {
        json_decref(o);
        return e;
    }
    *out_r = o;
    return E_OK;
}
