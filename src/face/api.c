/*
 * HTTP handlers of face access with consent (face.h; docs/face.md):
 *
 *   GET    /api/v1/me/face                  the consent text, version and my enrolment
 *   POST   /api/v1/me/face/consent          {version}: I consent (201)
 *   POST   /api/v1/me/face/photo            {attachment}: enrol my photo (201)
 *   GET    /api/v1/me/face/photo            my photo (audited)
 *   DELETE /api/v1/me/face                  withdraw: the photo deleted, terminals told
 *   GET    /api/v1/face/enrolments          enrolments in scope (face.manage)
 *   GET    /api/v1/face/enrolments/{id}     one, with each terminal's state
 *   GET    /api/v1/face/enrolments/{id}/photo  the photo (audited)
 *   POST   /api/v1/face/enrol               {person_id, attachment}: staff enrol for a
 *                                           resident whose consent is on record
 *   POST   /api/v1/face/enrolments/{id}/retry  send the failed commands again
 *
 * Every enrolment, photo read and withdrawal is audited; commands go to the
 * terminals after the transaction that queued them committed.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "face/face.h"
#include "http/write.h"
#include "person/person.h"
#include "security/audit.h"

static err me_person(struct req *r, struct person *p)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    err e = person_consent_require(r->db, r->a, r->who->user_id, NULL);
    return e ? e : person_self_find(r->db, r->a, r->who, p);
}

static err me_reply(struct req *r, int status, const struct face_enrolment *f)
{
    json_t *o = json_object(), *fj = NULL;
    if (f) {
        err e = face_json(r->db, r->a, f, false, &fj);
        if (e) {
            json_decref(o);
            return e;
        }
    }
    json_object_set_new(o, "consent_version", json_string(FACE_CONSENT_VERSION));
    json_object_set_new(o, "consent_text", json_string(face_consent_text));
    json_object_set_new(o, "enrolment", fj ? fj : json_null());
    return reply_json(r, status, o);
}

static err get_me_face(struct req *r)
{
    struct person p;
    struct face_enrolment f;
    err e = me_person(r, &p);
    if (e)
        return e;
    e = face_mine(r->db, r->a, p.id, &f);
    if (e == E_NOT_FOUND) {
        err_clear();
        return me_reply(r, 200, NULL);
    }
    return e ? e : me_reply(r, 200, &f);
}

static const struct jfield consent_body[] = {
    {"version", J_STRING, JF_REQUIRED, 1, 40, "授权书版本", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_me_consent(struct req *r)
{
    struct person p;
    struct face_enrolment f;
    err e = me_person(r, &p);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, face_consent(r->db, p.id, p.region_code, r->who->user_id,
                                       json_str(r->body, "version"), &f));
    if ((e = req_write_done(r, e, "face.consent", "face_enrolment", e ? 0 : f.id,
                            "version=" FACE_CONSENT_VERSION)))
        return e;
    return me_reply(r, 201, &f);
}

static const struct jfield photo_body[] = {
    {"attachment", J_STRING, JF_REQUIRED, 1, 20, "人脸照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* enrol, then (committed) send the commands */
static err enrol(struct req *r, const struct scope *sc, int64_t person_id, int64_t attachment,
                 struct face_enrolment *f)
{
    int64_t terminals = 0, sent = 0;
    err e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r,
                       face_enrol(r->db, r->a, r->who, sc, person_id, attachment, f, &terminals));
    if ((e = req_write_done(r, e, "face.enrol", "face_enrolment", e ? 0 : f->id,
                            arena_printf(r->a, "terminals=%lld", (long long)terminals))))
        return e;
    /* a broker away leaves them pending: sent again when each terminal is heard from */
    if ((e = face_send_pending(r->db, r->a, f->id, 0, 0, &sent)))
        return e;
    return E_OK;
}

static err post_me_photo(struct req *r)
{
    struct person p;
    struct face_enrolment f;
    err e = me_person(r, &p);
    if (e)
        return e;
    int64_t att = id_parse(json_str(r->body, "attachment"));
    if (att <= 0)
        return err_set(E_INPUT, "invalid_attachment", "attachment", "附件编号不正确");
    struct scope own = scope_of(p.region_code);
    if ((e = enrol(r, &own, p.id, att, &f)))
        return e;
    return me_reply(r, 201, &f);
}

static err photo_reply(struct req *r, const struct face_enrolment *f, const char *view)
{
    const char *mime;
    const void *bytes;
    size_t n;
    err e = face_photo(r->db, r->a, f, &mime, &bytes, &n);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "face.photo_read", "face_enrolment", f->id, e,
                             view);
    req_audit(r, "face.photo_read", "face_enrolment", f->id, "ok", view);
    if ((e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    r->disposition = "inline";
    r->cache_control = "private, no-store";
    return E_OK;
}

static err get_me_photo(struct req *r)
{
    struct person p;
    struct face_enrolment f;
    err e = me_person(r, &p);
    if (e || (e = face_mine(r->db, r->a, p.id, &f)))
        return e;
    return photo_reply(r, &f, "view=self");
}

static err withdraw(struct req *r, struct face_enrolment *f)
{
    int64_t pending = 0, sent = 0;
    err e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, face_withdraw(r->db, f, &pending));
    if ((e = req_write_done(r, e, "face.withdraw", "face_enrolment", f->id,
                            arena_printf(r->a, "terminals=%lld", (long long)pending))))
        return e;
    return face_send_pending(r->db, r->a, f->id, 0, 0, &sent);
}

static err delete_me_face(struct req *r)
{
    struct person p;
    struct face_enrolment f;
    err e = me_person(r, &p);
    if (e || (e = face_mine(r->db, r->a, p.id, &f)) || (e = withdraw(r, &f)))
        return e;
    return me_reply(r, 200, &f);
}

/* ---- staff ------------------------------------------------------------------------------ */

static err get_enrolments(struct req *r)
{
    int64_t page, size, total;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    const char *v = req_query(r, "state");
    enum face_state st = 0;
    if (v && *v) {
        for (int i = FACE_CONSENTED; i <= FACE_DELETED; i++)
            if (!strcmp(v, face_state_name((enum face_state)i)))
                st = (enum face_state)i;
        if (!st)
            return err_set(E_INPUT, "invalid_parameter", "state", "状态不正确");
    }
    json_t *items;
    if ((e = face_list(r->db, r->a, &r->who->scope, st, page, size, &items, &total)))
        return e;
    req_audit(r, "face.list", "face_enrolment", 0, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, page, size);
}

static err find(struct req *r, const char *action, struct face_enrolment *f)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (e || (e = face_find(r->db, r->a, &r->who->scope, id, f)))
        return audit_refusal(r->db, r->who, r->ip, action, "face_enrolment", id, e, NULL);
    return E_OK;
}

static err get_enrolment(struct req *r)
{
    struct face_enrolment f;
    json_t *o;
    err e = find(r, "face.read", &f);
    if (e || (e = face_json(r->db, r->a, &f, true, &o)))
        return e;
    req_audit(r, "face.read", "face_enrolment", f.id, "ok", NULL);
    return reply_json(r, 200, o);
}

static err get_enrolment_photo(struct req *r)
{
    struct face_enrolment f;
    err e = find(r, "face.photo_read", &f);
    return e ? e : photo_reply(r, &f, "view=staff");
}

static const struct jfield staff_enrol_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "人员", NULL, NULL},
    {"attachment", J_STRING, JF_REQUIRED, 1, 20, "人脸照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_staff_enrol(struct req *r)
{
    int64_t person = id_parse(json_str(r->body, "person_id"));
    int64_t att = id_parse(json_str(r->body, "attachment"));
    if (person <= 0)
        return err_set(E_INPUT, "invalid_id", "person_id", "人员编号不正确");
    if (att <= 0)
        return err_set(E_INPUT, "invalid_attachment", "attachment", "附件编号不正确");
    struct person p;
    struct face_enrolment f;
    err e = person_find_brief(r->db, r->a, &r->who->scope, person, &p);
    if (e == E_NOT_FOUND)
        return audit_refusal(r->db, r->who, r->ip, "face.enrol", "person", person,
                             err_set(E_NOT_FOUND, "unknown_person", "person_id", "人员不存在"),
                             NULL);
    if (e || (e = enrol(r, &r->who->scope, p.id, att, &f)))
        return e;
    json_t *o;
    if ((e = face_json(r->db, r->a, &f, true, &o)))
        return e;
    return reply_json(r, 201, o);
}

static err post_staff_withdraw(struct req *r)
{
    struct face_enrolment f;
    json_t *o;
    err e = find(r, "face.withdraw", &f);
    if (e || (e = withdraw(r, &f)) || (e = face_json(r->db, r->a, &f, true, &o)))
        return e;
    return reply_json(r, 200, o);
}

/* the failed commands back to pending, then (committed) sent at once */
static err post_staff_retry(struct req *r)
{
    struct face_enrolment f;
    json_t *o;
    int64_t n = 0, sent = 0;
    err e = find(r, "face.retry", &f);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, face_retry(r->db, &f, &n));
    if ((e = req_write_done(r, e, "face.retry", "face_enrolment", f.id,
                            arena_printf(r->a, "terminals=%lld", (long long)n))))
        return e;
    /* a broker away leaves them pending: the sweep and the terminal's next
     * heartbeat send them, as after an enrolment */
    if ((e = face_send_pending(r->db, r->a, f.id, 0, 0, &sent)) ||
        (e = face_json(r->db, r->a, &f, true, &o)))
        return e;
    return reply_json(r, 200, o);
}

const struct route face_routes[] = {
    {M_GET, "/api/v1/me/face", get_me_face, PERM_SELF, 0, NULL,
     "人脸识别通行：授权书与本人录入状态", "face", 0},
    {M_POST, "/api/v1/me/face/consent", post_me_consent, PERM_SELF, 0, consent_body,
     "同意人脸识别通行授权书", "face", 0},
    {M_POST, "/api/v1/me/face/photo", post_me_photo, PERM_SELF, 0, photo_body,
     "录入本人人脸照片（先上传附件）", "face", 0},
    {M_GET, "/api/v1/me/face/photo", get_me_photo, PERM_SELF, 0, NULL, "查看本人人脸照片", "face",
     0},
    {M_DELETE, "/api/v1/me/face", delete_me_face, PERM_SELF, 0, NULL,
     "撤回人脸识别授权（立即删除照片并通知终端删除）", "face", 0},
    {M_GET, "/api/v1/face/enrolments", get_enrolments, PERM_FACE_MANAGE, 0, NULL,
     "辖区人脸录入列表", "face", 0},
    {M_GET, "/api/v1/face/enrolments/{id}", get_enrolment, PERM_FACE_MANAGE, 0, NULL,
     "人脸录入详情（各终端状态）", "face", 0},
    {M_GET, "/api/v1/face/enrolments/{id}/photo", get_enrolment_photo, PERM_FACE_MANAGE, 0, NULL,
     "查看人脸照片", "face", 0},
    {M_POST, "/api/v1/face/enrolments/{id}/withdraw", post_staff_withdraw, PERM_FACE_MANAGE, 0,
     NULL, "代居民撤回人脸识别授权", "face", 0},
    {M_POST, "/api/v1/face/enrol", post_staff_enrol, PERM_FACE_MANAGE, 0, staff_enrol_body,
     "代已授权居民录入人脸照片", "face", 0},
    {M_POST, "/api/v1/face/enrolments/{id}/retry", post_staff_retry, PERM_FACE_MANAGE, 0, NULL,
     "重新下发失败的人脸终端指令", "face", 0},
};
const size_t face_routes_n = sizeof face_routes / sizeof face_routes[0];
