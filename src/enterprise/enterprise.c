/*
 * Accounts acting for an enterprise, and its employees (enterprise.h).
 *
 * An employee row holds ids only: the person's name, number and phone are
 * the registry's, sealed in persons and read here by joining it, so one
 * statement gives a page (no query per row) and a change of a person's
 * phone in the registry shows in every enterprise's list at once.
 */
#include "enterprise/enterprise.h"

#include <string.h>

#include "base/id.h"
#include "base/validate.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"

/* ---- accounts ---------------------------------------------------------------------------- */

err ent_account_bind(db *d, arena *a, const struct scope *scope, int64_t by, int64_t user_id,
                     int64_t enterprise_id)
{
    db_stmt *s;
    /* the role's key, not its permissions: a binding is what makes an
     * enterprise account, and staff accounts must never act as one */
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM user_roles ur JOIN roles ro ON ro.id = ur.role_id "
                       "JOIN users u ON u.id = ur.user_id WHERE ur.user_id = ? "
                       "AND ro.key = 'enterprise'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    int64_t n = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (!n)
        return err_set(E_INPUT, "invalid_user", "user_id", "账号不存在或不是企事业单位账号");
    struct enterprise ent;
    if ((e = enterprise_find(d, a, scope, enterprise_id, &ent)))
        return e;
    if ((e = db_prepare(d, "DELETE FROM enterprise_accounts WHERE user_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_accounts (user_id, enterprise_id, created_by, "
                        "created_at) VALUES (?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, enterprise_id);
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now_ms());
    return db_run(s, NULL);
}

err ent_account_of(db *d, int64_t user_id, int64_t *enterprise_id_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT enterprise_id FROM enterprise_accounts WHERE user_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    *enterprise_id_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return E_OK;
}

err ent_reach(db *d, arena *a, const struct principal *who, int64_t enterprise_id,
              struct enterprise *e_r)
{
    int64_t own = 0;
    err e = ent_account_of(d, who->user_id, &own);
    if (e)
        return e;
    if (own) {
        if (enterprise_id && enterprise_id != own)
            return err_set(E_NOT_FOUND, "not_found", "enterprise_id", "企业不存在");
        /* the binding is the licence: the enterprise's region need not be
         * inside the account's scope */
        struct scope all = scope_all();
        return enterprise_find(d, a, &all, own, e_r);
    }
    if (!enterprise_id)
        return err_set(E_INPUT, "required", "enterprise_id", "请选择企业");
    return enterprise_find(d, a, &who->scope, enterprise_id, e_r);
}

/* ---- employees --------------------------------------------------------------------------- */

static err check_opt(const char *s, const char *field, const char *label)
{
    return check_text(s, field, label, EMPLOYEE_TEXT_MAX, TEXT_ONE_LINE);
}

err employee_input_check(const struct employee_input *in, bool add)
{
    err e;
    if (add) {
        if ((e = check_text(in->name, "name", "姓名", PERSON_NAME_MAX,
                            TEXT_REQUIRED | TEXT_ONE_LINE)))
            return e;
        if (!in->id_number || !*in->id_number)
            return err_set(E_INPUT, "required", "id_number", "请填写身份证号码");
        char id[64];
        size_t len = strlen(in->id_number);
        if (len >= sizeof id)
            return err_set(E_INPUT, "invalid_id_number", "id_number", "身份证号码格式不正确");
        memcpy(id, in->id_number, len + 1);
        if ((e = check_resident_id(person_id_normalise(id), "id_number", NULL, NULL)))
            return e;
        if (in->phone && *in->phone && (e = check_phone(in->phone, "phone")))
            return e;
    }
    if ((e = check_opt(in->department, "department", "部门")) ||
        (e = check_opt(in->post, "post", "岗位")) || (e = check_opt(in->shift, "shift", "班次")))
        return e;
    return E_OK;
}

err employee_add(db *d, arena *a, const struct principal *who, const struct enterprise *ent,
                 const struct employee_input *in, int64_t *id_r)
{
    char *idn = person_id_normalise(arena_strdup(a, in->id_number));
    int64_t person_id = 0, region = 0;
    /* id 0: nobody holds the document */
    err e = person_document_holder(d, a, ID_RESIDENT, idn, &person_id, &region);
    if (e)
        return e;
    if (person_id) {
        struct person p;
        struct scope all = scope_all();
        if ((e = person_find_brief(d, a, &all, person_id, &p)))
            return e;
        if (!p.name || strcmp(p.name, in->name))
            return err_set(E_INPUT, "name_mismatch", "name", "姓名与身份证号码登记的不一致");
    } else {
        /* the enterprise registers its employee where it is: acting in the
         * enterprise's region, whatever the account's own scope */
        struct principal as = *who;
        as.scope = scope_of(ent->region_code);
        struct person p = {.region_code = ent->region_code,
                           .id_type = ID_RESIDENT,
                           .id_number = idn,
                           .name = in->name,
                           .phone = in->phone && *in->phone ? in->phone : NULL,
                           .employed = true,
                           .employer = ent->name,
                           .source = "staff",
                           .created_by = who->user_id,
                           .updated_by = who->user_id};
        person_fields given = PF_BIT(PF_NAME) | PF_BIT(PF_ID_TYPE) | PF_BIT(PF_ID_NUMBER) |
                              PF_BIT(PF_REGION_CODE) | PF_BIT(PF_SOURCE) | PF_BIT(PF_EMPLOYED) |
                              PF_BIT(PF_EMPLOYER);
        if (p.phone)
            given |= PF_BIT(PF_PHONE);
        if ((e = person_create(d, a, &as, &p, given, NULL)))
            return e;
        person_id = p.id;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id FROM enterprise_employees WHERE enterprise_id = ? AND "
                        "person_id = ? AND deleted_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, ent->id);
    db_bind_int64(s, 2, person_id);
    bool row;
    int64_t old = 0;
    if (!(e = db_row(s, &row)) && row)
        old = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (old)
        return err_set_ref(E_CONFLICT, "duplicate_employee", old, "该人员已是本企业员工");
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_employees (id, enterprise_id, region_code, "
                        "person_id, department, post, shift, created_by, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, ent->id);
    db_bind_int64(s, 3, ent->region_code);
    db_bind_int64(s, 4, person_id);
    db_bind_text(s, 5, in->department ? in->department : "");
    db_bind_text(s, 6, in->post ? in->post : "");
    db_bind_text(s, 7, in->shift ? in->shift : "");
    db_bind_int64(s, 8, who->user_id);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

#define EMP_SELECT                                                                                 \
    "SELECT ee.id, ee.enterprise_id, ee.person_id, p.name_enc, p.phone_enc, p.id_number_enc, "     \
    "ee.department, ee.post, ee.shift, COALESCE((SELECT h.colour FROM health_codes h WHERE "       \
    "h.person_id = ee.person_id), 'green'), ee.created_at, ee.updated_at "                         \
    "FROM enterprise_employees ee JOIN persons p ON p.id = ee.person_id "

static err emp_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct employee *x = item;
    x->id = db_col_int64(s, 0);
    x->enterprise_id = db_col_int64(s, 1);
    x->person_id = db_col_int64(s, 2);
    err e;
    if ((e = unseal_col(a, s, 3, "persons.name", &x->name)) ||
        (e = unseal_col(a, s, 4, "persons.phone", &x->phone)) ||
        (e = unseal_col(a, s, 5, "persons.id_number", &x->id_number)))
        return e;
    x->department = arena_strdup(a, db_col_text(s, 6));
    x->post = arena_strdup(a, db_col_text(s, 7));
    x->shift = arena_strdup(a, db_col_text(s, 8));
    x->code_colour = arena_strdup(a, db_col_text(s, 9));
    x->created_at = db_col_int64(s, 10);
    x->updated_at = db_col_int64(s, 11);
    return E_OK;
}

static err emp_not_found(void)
{
    return err_set(E_NOT_FOUND, "not_found", NULL, "员工不存在");
}

/* One employee by `where` (binding v1, and v2 when not 0). */
static err emp_one(db *d, arena *a, const char *where, int64_t v1, int64_t v2, struct employee *x)
{
    struct query q = QUERY_INIT;
    query_sql(&q, EMP_SELECT);
    query_sql(&q, where);
    query_int(&q, v1);
    if (v2)
        query_int(&q, v2);
    return query_one(d, a,
                     &(struct query_one){
                         .q = &q, .size = sizeof *x, .read = emp_read, .not_found = emp_not_found},
                     x);
}

err employee_find(db *d, arena *a, int64_t enterprise_id, int64_t id, struct employee *x)
{
    return emp_one(d, a, "WHERE ee.id = ? AND ee.enterprise_id = ? AND ee.deleted_at = 0", id,
                   enterprise_id, x);
}

err employee_enterprise(db *d, int64_t id, int64_t *enterprise_id_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT enterprise_id FROM enterprise_employees WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", NULL, "员工不存在");
    *enterprise_id_r = db_col_int64(s, 0);
    db_done(s);
    return E_OK;
}

err employee_of_person(db *d, arena *a, int64_t person_id, int64_t enterprise_id,
                       struct employee *x)
{
    if (enterprise_id)
        return emp_one(d, a,
                       "WHERE ee.person_id = ? AND ee.enterprise_id = ? AND ee.deleted_at = 0",
                       person_id, enterprise_id, x);
    return emp_one(d, a, "WHERE ee.person_id = ? AND ee.deleted_at = 0 ORDER BY ee.id LIMIT 1",
                   person_id, 0, x);
}

err employee_update(db *d, int64_t enterprise_id, int64_t id, const struct employee_input *in)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE enterprise_employees SET department = COALESCE(?, department), "
                       "post = COALESCE(?, post), shift = COALESCE(?, shift), updated_at = ? "
                       "WHERE id = ? AND enterprise_id = ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, in->department);
    db_bind_text(s, 2, in->post);
    db_bind_text(s, 3, in->shift);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    db_bind_int64(s, 6, enterprise_id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "员工不存在");
}

err employee_remove(db *d, int64_t enterprise_id, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE enterprise_employees SET deleted_at = ?, updated_at = ? "
                       "WHERE id = ? AND enterprise_id = ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, enterprise_id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "员工不存在");
}

err employee_list(db *d, arena *a, int64_t enterprise_id, const struct employee_filter *f,
                  struct employee **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    if (!w)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE ee.enterprise_id = ? AND ee.deleted_at = 0");
    query_int(w, enterprise_id);
    if (f->department && *f->department) {
        query_sql(w, " AND ee.department = ?");
        query_text(w, f->department);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM enterprise_employees ee",
                                            .select = EMP_SELECT,
                                            .order = " ORDER BY ee.department, ee.id",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = EMPLOYEE_LIST_MAX,
                                            .size = sizeof(struct employee),
                                            .read = emp_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}
