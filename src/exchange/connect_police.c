/*
 * The police identity verification connector (公安, seed 000 §6.3.2; peer
 * kind "police"; connect.h): name + id number → match or no match, and a
 * face photo compared by the police service (match, score). Used by the
 * staff's 公安核验 button (connect_api.c) and by the resident's real-name
 * binding (person_on_identity_check, wired in app.c). A match verifies the
 * person through person_verify, the function of the 核验身份 button; the
 * police service's word is what the community check stands for.
 */
#include "exchange/connect.h"

#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "security/crypto.h"

#define LABEL "公安核验服务"

err police_check(db *d, arena *a, enum police_kind kind, const char *name, const char *id_number,
                 const char *photo_b64, struct police_answer *ans_r)
{
    json_t *body = json_pack("{s:s,s:s}", "name", name, "id_number", id_number);
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    if (kind == POLICE_FACE)
        json_object_set_new(body, "photo", json_string(photo_b64 ? photo_b64 : ""));
    json_t *out = NULL;
    err e =
        connect_call(d, a, CONNECT_POLICE, LABEL, "POST",
                     kind == POLICE_FACE ? "/police/v1/face" : "/police/v1/identity", body, &out);
    json_decref(body);
    if (e)
        return e;
    json_t *m = json_object_get(out, "match"), *sc = json_object_get(out, "score");
    bool ok = json_is_boolean(m) &&
              (kind == POLICE_IDENTITY ||
               (json_is_number(sc) && json_number_value(sc) >= 0 && json_number_value(sc) <= 100));
    if (ok) {
        ans_r->match = json_is_true(m);
        ans_r->score = kind == POLICE_FACE ? json_number_value(sc) : -1;
    }
    json_decref(out);
    if (!ok)
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
    return E_OK;
}

err police_check_store(db *d, int64_t person_id, enum police_kind kind,
                       const struct police_answer *ans, const char *via, int64_t by_user)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO police_checks (id, person_id, kind, result, score, via, "
                       "by_user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, person_id);
    db_bind_text(s, 3, kind == POLICE_FACE ? "face" : "identity");
    db_bind_text(s, 4, ans->match ? "match" : "no_match");
    if (ans->score >= 0)
        db_bind_double(s, 5, ans->score);
    else
        db_bind_null(s, 5);
    db_bind_text(s, 6, via);
    db_bind_int64(s, 7, by_user);
    db_bind_int64(s, 8, now_ms());
    return db_run(s, NULL);
}

err police_checks_json(db *d, int64_t person_id, int limit, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT kind, result, score, via, at FROM police_checks "
                       "WHERE person_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, limit);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *result = db_col_text(s, 1);
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(db_col_text(s, 0)));
        json_object_set_new(o, "result", json_string(result));
        json_object_set_new(o, "result_label",
                            json_string(!strcmp(result, "match") ? "一致" : "不一致"));
        json_object_set_new(o, "score",
                            db_col_null(s, 2) ? json_null() : json_real(db_col_double(s, 2)));
        json_object_set_new(o, "via", json_string(db_col_text(s, 3)));
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 4)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *out_r = items;
    return E_OK;
}

err police_binding_check(db *d, arena *a, const char *name, const char *id_number, bool *match_r)
{
    struct police_answer ans;
    err e = police_check(d, a, POLICE_IDENTITY, name, id_number, NULL, &ans);
    if (!e)
        *match_r = ans.match;
    return e;
}

bool police_configured(db *d)
{
    return connect_configured(d, CONNECT_POLICE);
}
