/*
 * HTTP handlers of residents' self-service on their own record (self.c):
 *
 *   GET    /api/v1/me/consent   the purpose statement and the consent state
 *   POST   /api/v1/me/consent   consent to a version {"version"}
 *   DELETE /api/v1/me/consent   withdraw consent
 *   GET    /api/v1/me/person    one's own record, masked (?reveal=1: in full)
 *   POST   /api/v1/me/person    real-name binding / self-registration (201); with a
 *                                police peer the identity is checked first
 *                                (person_on_identity_check)
 *   PATCH  /api/v1/me/person    change the self-editable fields
 *
 * Only resident accounts (users.kind 'resident') use them: the record they
 * act on is their account's, never one named by the request. Every consent
 * change, read and write is audited, refusals after validation too.
 */
#include <stdint.h>
#include <string.h>

#include "app.h"
#include "person/internal.h"
#include "job/offload.h"
#include "security/audit.h"

static err residents_only(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return E_OK;
}

/* ---- consent ------------------------------------------------------------------ */

static json_t *ms_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

static json_t *consent_json(const struct person_consent *c)
{
    const struct person_purpose *pp = person_purpose();
    json_t *o = json_object();
    json_object_set_new(
        o, "purpose",
        json_pack("{s:s,s:s,s:s}", "version", pp->version, "title", pp->title, "text", pp->text));
    json_object_set_new(o, "state", json_string(person_consent_state_name(c->state)));
    json_object_set_new(o, "given", json_boolean(c->state == CONSENT_GIVEN));
    json_object_set_new(o, "version", c->version ? json_string(c->version) : json_null());
    json_object_set_new(o, "given_at", ms_or_null(c->given_at));
    json_object_set_new(o, "withdrawn_at", ms_or_null(c->withdrawn_at));
    return o;
}

static err get_consent(struct req *r)
{
    struct person_consent c;
    err e = residents_only(r);
    if (e || (e = person_consent_find(r->db, r->a, r->who->user_id, &c)))
        return e;
    return reply_json(r, 200, consent_json(&c));
}

static const struct jfield consent_body[] = {
    {"version", J_STRING, JF_REQUIRED, 1, 32, "告知书版本", NULL},
    {NULL},
};

static err post_consent(struct req *r)
{
    struct person_consent c;
    bool changed;
    err e = residents_only(r);
    if (e)
        return e;
    const char *version = json_str(r->body, "version");
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = person_consent_give(r->db, r->a, r->who, version, &c, &changed))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "consent.give", "user", r->who->user_id, e,
                             NULL);
    }
    req_audit(r, "consent.give", "user", r->who->user_id, "ok",
              arena_printf(r->a, "version=%s%s", c.version, changed ? "" : " unchanged"));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, consent_json(&c));
}

static err delete_consent(struct req *r)
{
    struct person_consent c;
    err e = residents_only(r);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = person_consent_withdraw(r->db, r->a, r->who, &c))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "consent.withdraw", "user", r->who->user_id, e,
                             NULL);
    }
    req_audit(r, "consent.withdraw", "user", r->who->user_id, "ok",
              arena_printf(r->a, "version=%s", c.version));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, consent_json(&c));
}

/* ---- one's own record ------------------------------------------------------- */

#define SELF_CONTACT_FIELDS(ADDR_FLAGS)                                                            \
    {"address", J_STRING, ADDR_FLAGS, 1, PERSON_ADDRESS_MAX, "现住址", NULL},                      \
        {"emergency_contact_name", J_STRING, JF_NULLABLE, 0, PERSON_NAME_MAX, "紧急联系人", NULL}, \
        {"emergency_contact_phone", J_STRING, JF_NULLABLE, 0, 0, "紧急联系人电话", NULL},          \
        {"employed", J_BOOL, 0, 0, 0, "是否在职", NULL},                                           \
        {"employer", J_STRING, JF_NULLABLE, 0, 100, "工作单位", NULL},                             \
        {"work_address", J_STRING, JF_NULLABLE, 0, PERSON_ADDRESS_MAX, "工作地址", NULL},          \
    {                                                                                              \
        "current_location", J_STRING, JF_NULLABLE, 0, 200, "目前所在地", NULL                      \
    }

/* Registration: the identity and contact groups of seed 001 §5.1 a person
 * can state about themselves. No phone (the account's), status, source or
 * consent time: those are the program's. */
static const struct jfield register_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, PERSON_NAME_MAX, "姓名", NULL},
    {"id_type", J_STRING, 0, 0, 0, "证件类型", NULL, &id_type_vocab},
    {"id_number", J_STRING, JF_REQUIRED, 1, 40, "证件号码", NULL},
    {"region_code", J_STRING, JF_REQUIRED, 0, 18, "所在社区", NULL},
    SELF_CONTACT_FIELDS(JF_REQUIRED),
    {"native_place", J_STRING, JF_NULLABLE, 0, 50, "籍贯", NULL},
    {"gender", J_STRING, 0, 0, 0, "性别", NULL, &person_gender_vocab},
    {"birth_date", J_STRING, JF_NULLABLE, 0, 10, "出生日期", NULL},
    {"category", J_STRING, 0, 0, 0, "人员类型", NULL, &person_category_vocab},
    {"inbound", J_BOOL, 0, 0, 0, "是否入境人员", NULL},
    {"household", J_STRING, JF_NULLABLE, 0, 64, "户号", NULL},
    {"household_relation", J_STRING, JF_NULLABLE, 0, 20, "与户主关系", NULL},
    {"vulnerable", J_ARRAY, JF_NULLABLE, 0, 0, "重点人群", NULL},
    {NULL},
};

/* Changes: PERSON_SELF_EDITABLE, and the version read (optional). */
static const struct jfield patch_fields[] = {
    SELF_CONTACT_FIELDS(0),
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL},
    {NULL},
};

/* ?reveal=1: a resident may see their own record in full (the right of
 * access to one's own data); audited as a reveal like staff's. */
static err reveal_param(struct req *r, bool *reveal_r)
{
    const char *v = req_query(r, "reveal");
    *reveal_r = false;
    if (!v || !*v || !strcmp(v, "0") || !strcmp(v, "false"))
        return E_OK;
    if (strcmp(v, "1") && strcmp(v, "true"))
        return err_set(E_INPUT, "invalid_parameter", "reveal", "参数 reveal 应为 1 或 0");
    *reveal_r = true;
    return E_OK;
}

static err get_self(struct req *r)
{
    bool reveal;
    struct person p;
    err e = residents_only(r);
    if (e || (e = reveal_param(r, &reveal)))
        return e;
    if ((e = person_self_find(r->db, r->a, r->who, &p)))
        return e;
    req_audit(r, reveal ? "person.reveal" : "person.read", "person", p.id, "ok", "view=self");
    return reply_json(r, 200, person_json(r->a, &p, reveal));
}

static json_t *register_reply(arena *a, enum person_self_result how, const struct person *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "result", json_string(how == PERSON_SELF_BOUND ? "bound" : "created"));
    json_object_set_new(o, "person", person_json(a, p, false));
    return o;
}

/*
 * The binding with an outside identity check (person_on_identity_check), on
 * the offload worker: the check first, outside any transaction (it waits
 * for the outside service), then the binding, the check's record, the
 * verification and the audit entries in one transaction.
 */
static err run_self_checked(struct offload *q, int *status_r, json_t **reply_r)
{
    const struct person_identity_check *ic = person_identity_check();
    struct person in = {.id_type = ID_RESIDENT}, p;
    person_fields set;
    enum person_self_result how;
    err e = person_from_json(q->body, &in, &set);
    if (e)
        return e;
    char *idn = arena_strdup(q->a, in.id_number ? in.id_number : "");
    bool match = false;
    const char *unavailable = NULL;
    if ((e = ic->check(q->d, q->a, in.name ? in.name : "", person_id_normalise(idn), &match))) {
        if (e != E_UNAVAILABLE)
            return e;
        /* the service is down or not usable: the binding goes on as
         * without it, and the resident is told why it stays unverified */
        unavailable = arena_strdup(q->a, err_last()->message);
        err_clear();
    } else if (!match) {
        e = err_set(
            E_INPUT, "police_identity_mismatch", "id_number",
            "姓名与证件号码经公安核验不一致，请核对后重新填写；如确认无误，请携带证件到社区核验");
        return audit_refusal(q->d, q->who, q->ip, "person.self_register", "person", 0, e,
                             "identity_check=no_match");
    }
    if ((e = db_begin(q->d)))
        return e;
    e = person_self_register(q->d, q->a, q->who, &in, set, &p, &how);
    bool verified = false;
    if (!e && !unavailable) {
        e = ic->record(q->d, p.id, true, q->who->user_id);
        if (!e && p.unverified) {
            /* the police service's match stands for the community's look at
             * the document: the same verification, in the person's region */
            struct principal as = *q->who;
            as.scope = scope_of(p.region_code);
            if (!(e = person_verify(q->d, q->a, &as, p.id, &p))) {
                struct audit_entry ae = {.user_id = q->who->user_id,
                                         .username = q->who->username,
                                         .role = q->who->roles,
                                         .ip = q->ip,
                                         .action = "person.verify",
                                         .object_type = "person",
                                         .object_id = p.id,
                                         .result = "ok",
                                         .detail = "police_check=match"};
                e = audit_log(q->d, &ae);
                verified = true;
            }
        }
    }
    if (e) {
        db_rollback(q->d);
        return audit_refusal(q->d, q->who, q->ip, "person.self_register", "person", 0, e, NULL);
    }
    const char *detail = arena_printf(
        q->a, "%s identity_check=%s",
        how == PERSON_SELF_BOUND ? "bound" : person_fields_detail(q->a, "created ", set),
        unavailable ? "unavailable" : "match");
    if ((e = offload_commit(q, E_OK, "person.self_register", "person", p.id, detail)))
        return e;
    json_t *o = register_reply(q->a, how, &p);
    json_t *ck = json_object();
    json_object_set_new(ck, "result", json_string(unavailable ? "unavailable" : "match"));
    json_object_set_new(ck, "verified", json_boolean(verified));
    json_object_set_new(ck, "message",
                        json_string(unavailable
                                        ? arena_printf(q->a, "%s；身份将由社区核验", unavailable)
                                        : "姓名与证件号码经公安核验一致"));
    json_object_set_new(o, "identity_check", ck);
    *reply_r = o;
    *status_r = 201;
    return E_OK;
}

static err post_self(struct req *r)
{
    err e = residents_only(r);
    if (e)
        return e;
    struct person in = {.id_type = ID_RESIDENT}, p;
    person_fields set;
    enum person_self_result how;
    if ((e = person_from_json(r->body, &in, &set)))
        return e;
    const struct person_identity_check *ic = person_identity_check();
    if (ic && ic->configured(r->db))
        return job_offload(r, run_self_checked, NULL);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = person_self_register(r->db, r->a, r->who, &in, set, &p, &how))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.self_register", "person", 0, e, NULL);
    }
    bool bound = how == PERSON_SELF_BOUND;
    req_audit(r, "person.self_register", "person", p.id, "ok",
              bound ? "bound" : person_fields_detail(r->a, "created ", set));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 201, register_reply(r->a, how, &p));
}

static err patch_self(struct req *r)
{
    err e = residents_only(r);
    if (e)
        return e;
    struct person_patch pt = {.version = json_int(r->body, "version", 0)};
    if ((e = person_from_json(r->body, &pt.v, &pt.set)))
        return e;
    struct person p;
    person_fields changed = 0;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = person_self_update(r->db, r->a, r->who, &pt, &p, &changed))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.self_update", "person",
                             r->who->person_id, e, NULL);
    }
    req_audit(r, "person.self_update", "person", p.id, "ok",
              person_fields_detail(r->a, "", changed));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, person_json(r->a, &p, false));
}

const struct route person_self_routes[] = {
    {M_GET, "/api/v1/me/consent", get_consent, PERM_SELF, 0, NULL,
     "个人信息收集使用告知书及本人同意状态（居民）", "self", 0},
    {M_POST, "/api/v1/me/consent", post_consent, PERM_SELF, 0, consent_body,
     "同意个人信息收集使用告知书（居民）", "self", 4096},
    {M_DELETE, "/api/v1/me/consent", delete_consent, PERM_SELF, 0, NULL,
     "撤回同意（不删除已登记的防控信息）", "self", 0},
    {M_GET, "/api/v1/me/person", get_self, PERM_SELF, 0, NULL,
     "本人登记信息（脱敏；reveal=1 查看完整信息）", "self", 0},
    {M_POST, "/api/v1/me/person", post_self, PERM_SELF, 0, register_fields,
     "实名绑定与自主登记个人信息（居民）", "self", 16384},
    {M_PATCH, "/api/v1/me/person", patch_self, PERM_SELF, 0, patch_fields,
     "修改本人住址、紧急联系人、工作单位等", "self", 16384},
};
const size_t person_self_routes_n = sizeof person_self_routes / sizeof person_self_routes[0];
