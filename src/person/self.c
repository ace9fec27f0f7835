/*
 * Residents' own record: the purpose statement, consent and its withdrawal
 * (table consents), self-registration and binding to a record staff
 * entered, and changes within PERSON_SELF_EDITABLE (person.h explains).
 *
 * The record a resident acts on is always the one users.person_id names,
 * read from the database at each call (never from the request, and not
 * from the cached principal, which another process may not have refreshed
 * yet). Since the record is chosen that way, the scope has nothing left to
 * guard and the resident acts with the whole deployment as scope: a
 * resident may live in any community, and residents' accounts all sit at
 * the first root region, which need not contain it.
 */
#include "person/person.h"

#include <string.h>

#include "base/id.h"
#include "base/regcode.h"
#include "security/crypto.h"

/* ---- the purpose statement -------------------------------------------------- */

static const struct person_purpose purpose = {
    .version = "v1",
    .title = "个人信息收集使用告知书（疫情防控）",
    .text =
        "一、使用目的：您在本平台填报的个人信息仅用于疫情防控工作，包括人员登记、健康监测、"
        "流行病学调查和社区防控服务保障，不用于其他任何目的，不向无关单位和个人提供。\n"
        "二、收集内容：姓名、证件类型和号码、手机号码（即您登录所用的号码）、所在社区及现住址；"
        "以及您自愿填写的性别、籍贯、人员类型、紧急联系人及电话、工作单位及地址、目前所在地、"
        "重点人群情况。\n"
        "三、保护措施：姓名、证件号码、手机号码、住址等信息加密存储；只有您所在辖区负责疫情防控的"
        "工作人员可以查看，默认脱敏显示；每一次查看和修改都记入审计日志。\n"
        "四、保存期限：在疫情防控工作需要的期限内保存；疫情防控工作结束后，按照国家有关规定删除或"
        "匿名化处理。\n"
        "五、撤回同意：您可以随时在“我的”页面撤回同意。撤回后不能再自助登记或修改个人信息，直至"
        "重新同意；撤回不影响撤回前基于您的同意已进行的处理。已登记的疫情防控信息依据"
        "《中华人民共和国个人信息保护法》第十三条和《中华人民共和国传染病防治法》等规定另有法定"
        "依据，不因撤回同意而删除。\n"
        "六、查询更正：您可以在“我的信息”中查看本人信息，并自行修改住址、紧急联系人、工作单位和"
        "目前所在地；姓名、证件号码、所在社区等需更正的，请联系所在社区工作人员。",
};

const struct person_purpose *person_purpose(void)
{
    return &purpose;
}

const char *person_consent_state_name(enum person_consent_state s)
{
    switch (s) {
    case CONSENT_NONE:
        return "none";
    case CONSENT_GIVEN:
        return "given";
    case CONSENT_OUTDATED:
        return "outdated";
    case CONSENT_WITHDRAWN:
        return "withdrawn";
    }
    return "none";
}

/* ---- the account -------------------------------------------------------------- */

/* Who the resident acts as on their own record (see the file comment). */
static struct principal actor(const struct principal *who)
{
    struct principal p = *who;
    p.scope = scope_all();
    return p;
}

/* users.person_id of a resident account, 0 when unbound. */
static err bound_person(db *d, int64_t user_id, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT person_id FROM users WHERE id = ? AND kind = 'resident'", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    e = db_row(s, &row);
    *id_r = !e && row && !db_col_null(s, 0) ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/* The phone a resident signed in with (users.phone_enc, sealed). */
err person_account_phone(db *d, arena *a, int64_t user_id, const char **phone_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT phone_enc FROM users WHERE id = ? AND kind = 'resident'", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    char *phone = NULL;
    if (!(e = db_row(s, &row)) && row && !db_col_null(s, 0)) {
        size_t n;
        const void *ct = db_col_blob(s, 0, &n);
        e = unseal(a, "users.phone", ct, n, &phone, NULL);
    }
    db_done(s);
    if (e)
        return e;
    if (!phone || !*phone)
        return err_set(E_INTERNAL, NULL, NULL, NULL); /* every resident has one */
    *phone_r = phone;
    return E_OK;
}

/* Bind the account to person `id`; the unique index users_person refuses a
 * record another account holds (E_CONFLICT). */
static err bind_account(db *d, int64_t user_id, int64_t person_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE users SET person_id = ?, updated_at = ? WHERE id = ? AND "
                       "kind = 'resident'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, user_id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    auth_changed_at_commit(d); /* the principal carries person_id */
    return E_OK;
}

/* ---- consent ------------------------------------------------------------------ */

err person_consent_find(db *d, arena *a, int64_t user_id, struct person_consent *c_r)
{
    db_stmt *s;
    /* Rows alternate given … withdrawn (a withdrawal follows a consent),
     * so the newest two say everything the state needs. */
    err e = db_prepare(d,
                       "SELECT action, version, at FROM consents WHERE user_id = ? "
                       "ORDER BY id DESC LIMIT 2",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    struct person_consent c = {CONSENT_NONE, NULL, 0, 0};
    int row = 0;
    bool has;
    while (!(e = db_row(s, &has)) && has) {
        bool given = !strcmp(db_col_text(s, 0), "given");
        int64_t at = db_col_int64(s, 2);
        if (row++ == 0) {
            c.version = arena_strdup(a, db_col_text(s, 1));
            if (given) {
                c.state = strcmp(c.version, purpose.version) ? CONSENT_OUTDATED : CONSENT_GIVEN;
                c.given_at = at;
                break;
            }
            c.state = CONSENT_WITHDRAWN;
            c.withdrawn_at = at;
        } else if (given) {
            c.given_at = at;
        }
    }
    db_done(s);
    if (!e)
        *c_r = c;
    return e;
}

err person_consent_require(db *d, arena *a, int64_t user_id, struct person_consent *c_r)
{
    struct person_consent c;
    err e = person_consent_find(d, a, user_id, &c);
    if (e)
        return e;
    if (c_r)
        *c_r = c;
    if (c.state == CONSENT_GIVEN)
        return E_OK;
    return err_set(E_FORBIDDEN, "consent_required", NULL,
                   c.state == CONSENT_OUTDATED
                       ? "个人信息收集使用告知书已更新，请阅读并同意后再登记或修改个人信息"
                       : "请先阅读并同意个人信息收集使用告知书，再登记或修改个人信息");
}

/*
 * Append a consent row and copy its time onto the bound person's
 * consent_at (0 for a withdrawal), in one transaction.
 */
static err consent_record(db *d, arena *a, const struct principal *who, const char *action,
                          const char *version, int64_t at)
{
    int64_t pid;
    err e = bound_person(d, who->user_id, &pid);
    if (e || (e = db_begin(d)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO consents (id, user_id, person_id, action, version, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, pid);
    db_bind_text(s, 4, action);
    db_bind_text(s, 5, version);
    db_bind_int64(s, 6, at);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (pid) {
        struct principal me = actor(who);
        e = person_consent_set(d, a, &me, pid, strcmp(action, "given") ? 0 : at);
        if (e == E_NOT_FOUND) /* the record was deleted by staff: nothing to mark */
            e = E_OK;
        if (e)
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return e;
}

err person_consent_give(db *d, arena *a, const struct principal *who, const char *version,
                        struct person_consent *c_r, bool *changed_r)
{
    *changed_r = false;
    if (!version || strcmp(version, purpose.version))
        return err_set(E_CONFLICT, "consent_version_mismatch", "version",
                       "告知书已更新，请阅读最新版本后再同意");
    struct person_consent c;
    err e = person_consent_find(d, a, who->user_id, &c);
    if (e)
        return e;
    if (c.state != CONSENT_GIVEN) {
        int64_t now = now_ms();
        if ((e = consent_record(d, a, who, "given", purpose.version, now)))
            return e;
        c = (struct person_consent){CONSENT_GIVEN, purpose.version, now, 0};
        *changed_r = true;
    }
    *c_r = c;
    return E_OK;
}

err person_consent_withdraw(db *d, arena *a, const struct principal *who,
                            struct person_consent *c_r)
{
    struct person_consent c;
    err e = person_consent_find(d, a, who->user_id, &c);
    if (e)
        return e;
    if (c.state != CONSENT_GIVEN && c.state != CONSENT_OUTDATED)
        return err_set(E_CONFLICT, "consent_not_given", NULL, "您当前没有可撤回的同意");
    int64_t now = now_ms();
    if ((e = consent_record(d, a, who, "withdrawn", c.version, now)))
        return e;
    c.state = CONSENT_WITHDRAWN;
    c.withdrawn_at = now;
    *c_r = c;
    return E_OK;
}

/* ---- one's own record ------------------------------------------------------- */

static err not_registered(void)
{
    return err_set(E_NOT_FOUND, "person_not_registered", NULL, "您还没有登记个人信息");
}

/* E_INPUT naming the first field of `set` outside `allowed`. */
static err only_fields(person_fields set, person_fields allowed)
{
    for (int f = 0; f < PF__COUNT; f++)
        if ((set & PF_BIT(f)) && !(allowed & PF_BIT(f)))
            return err_set(E_INPUT, "field_not_editable", person_field_name((enum person_field)f),
                           "%s不能自行填写或修改，请联系所在社区工作人员",
                           person_field_label((enum person_field)f));
    return E_OK;
}

err person_self_find(db *d, arena *a, const struct principal *who, struct person *p_r)
{
    int64_t pid;
    err e = bound_person(d, who->user_id, &pid);
    if (e)
        return e;
    struct principal me = actor(who);
    if (!pid || (e = person_find(d, a, &me.scope, pid, p_r)) == E_NOT_FOUND)
        return not_registered();
    return e;
}

err person_self_update(db *d, arena *a, const struct principal *who,
                       const struct person_patch *patch, struct person *p_r,
                       person_fields *changed_r)
{
    int64_t pid;
    err e = only_fields(patch->set, PERSON_SELF_EDITABLE);
    if (e || (e = person_consent_require(d, a, who->user_id, NULL)) ||
        (e = bound_person(d, who->user_id, &pid)))
        return e;
    if (!pid)
        return not_registered();
    struct principal me = actor(who);
    e = person_update(d, a, &me, pid, patch, p_r, changed_r);
    return e == E_NOT_FOUND ? not_registered() : e;
}

/* Names compared as people type them: surrounding spaces do not count. */
static bool same_name(const char *x, const char *y)
{
    if (!x || !y)
        return false;
    while (*x == ' ')
        x++;
    while (*y == ' ')
        y++;
    size_t nx = strlen(x), ny = strlen(y);
    while (nx && x[nx - 1] == ' ')
        nx--;
    while (ny && y[ny - 1] == ' ')
        ny--;
    return nx == ny && !memcmp(x, y, nx);
}

static err identity_mismatch(void)
{
    return err_set(E_CONFLICT, "identity_mismatch", NULL,
                   "您填写的信息与已登记的信息不一致，请核对姓名和证件号码，或联系所在社区工作人员"
                   "核实");
}

/*
 * Bind the account to `old`, the record holding the document, if the
 * resident can claim it (person.h). The claim is checked against the
 * version read, so a record changed meanwhile is not bound on stale facts.
 */
static err bind_existing(db *d, arena *a, const struct principal *who, const struct person *p,
                         const struct person *old, struct person *p_r)
{
    if (!same_name(old->name, p->name) || (old->phone && strcmp(old->phone, p->phone)))
        return identity_mismatch();
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM users WHERE person_id = ? AND id <> ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, old->id);
    db_bind_int64(s, 2, who->user_id);
    bool row;
    int64_t others = 0;
    if (!(e = db_row(s, &row)) && row)
        others = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (others)
        return identity_mismatch();

    struct person_patch pt = {.version = old->version};
    pt.v.consent_at = p->consent_at;
    pt.set = PF_BIT(PF_CONSENT_AT);
    if (!old->phone) {
        /* nothing the community recorded confirms that this account is
         * the person: a name and a document number are easy to come by */
        pt.v.phone = p->phone;
        pt.set |= PF_BIT(PF_PHONE);
        pt.verified = -1;
    }
    struct principal me = actor(who);
    if ((e = person_update(d, a, &me, old->id, &pt, p_r, NULL)))
        return e;
    e = bind_account(d, who->user_id, old->id);
    return e == E_CONFLICT ? identity_mismatch() : e;
}

err person_self_register(db *d, arena *a, const struct principal *who, struct person *p,
                         person_fields given, struct person *p_r, enum person_self_result *how_r)
{
    struct person_consent c;
    int64_t pid;
    const char *phone = NULL;
    err e = only_fields(given, PERSON_SELF_REGISTRABLE);
    if (e || (e = person_consent_require(d, a, who->user_id, &c)) ||
        (e = bound_person(d, who->user_id, &pid)))
        return e;
    struct principal me = actor(who);
    if (pid) {
        struct person cur;
        e = person_find(d, a, &me.scope, pid, &cur);
        if (e == E_OK)
            return err_set(E_CONFLICT, "already_registered", NULL,
                           "您已登记个人信息，如需修改请到“我的信息”中修改");
        if (e != E_NOT_FOUND)
            return e;
        /* the bound record was deleted by staff: register afresh */
    }
    if ((e = person_account_phone(d, a, who->user_id, &phone)))
        return e;

    p->phone = phone;
    p->source = "self";
    p->unverified = true; /* until staff see the document (person_verify) */
    p->status = 0;
    p->consent_at = c.given_at;
    given |= PF_BIT(PF_PHONE) | PF_BIT(PF_SOURCE) | PF_BIT(PF_CONSENT_AT);
    if ((e = person_check(a, p, given)))
        return e;
    if (regcode_level(p->region_code) < LEVEL_COMMUNITY)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "请选择您所在的社区（村）、网格或楼栋");
    if ((e = person_region_check(d, &me.scope, p->region_code, "region_code")))
        return e;

    /* Twice at most: a concurrent registration of the same document (the
     * unique index refuses the second create) is then found and bound. */
    for (int attempt = 0; attempt < 2; attempt++) {
        struct person old;
        e = person_find_by_id_number(d, a, &me.scope, p->id_type, p->id_number, &old);
        if (e == E_OK) {
            if ((e = bind_existing(d, a, who, p, &old, p_r)))
                return e;
            *how_r = PERSON_SELF_BOUND;
            return E_OK;
        }
        if (e != E_NOT_FOUND)
            return e;
        struct person np = *p;
        e = person_create(d, a, &me, &np, given, NULL);
        if (e == E_CONFLICT)
            continue; /* its detail names the other record: never pass it on */
        if (e)
            return e;
        /* Should binding fail now, the record stays; the resident's retry
         * finds it by the document and binds it (same name, same phone). */
        if ((e = bind_account(d, who->user_id, np.id)))
            return e == E_CONFLICT ? identity_mismatch() : e;
        *p_r = np;
        *how_r = PERSON_SELF_CREATED;
        return E_OK;
    }
    return identity_mismatch();
}
