/*
 * Roles (岗位/角色): the configurable permission sets of seed 001 §4.2.2,
 * their rules and their SQL.
 *
 * A user's rights are read from role_permissions (auth_principal_load,
 * cached per thread and dropped by auth_changed), so this file keeps the
 * tables right and calls auth_changed after each commit: an edited role
 * takes effect for its users at their next request. The
 * built-in roles are owned by rbac.c (rbac_seed resets them at start-up) and
 * are refused here, which keeps the three administrators separate.
 */
#include "user/user.h"

#include <string.h>

#include "base/paging.h"
#include "base/id.h"

bool role_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 3 || n > 32 || key[0] < 'a' || key[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

err role_check_perms(perm_set perms, const char *field)
{
    perm_set audit = PERMS(PERM_AUDIT_READ);
    if (perm_set_has(perms, PERM_AUDIT_READ) && !perm_set_empty(perm_set_minus(perms, audit)))
        return err_set(E_INPUT, "separation_of_duties", field,
                       "三员分立：查阅审计日志的权限不能与其他权限组合在同一角色中");
    perm_set grant = PERMS(PERM_ROLE_WRITE, PERM_KEY_ADMIN);
    if (!perm_set_empty(perm_set_inter(perms, grant)) && perm_set_has(perms, PERM_USER_WRITE))
        return err_set(E_INPUT, "separation_of_duties", field,
                       "三员分立：管理角色或密钥的权限不能与管理用户的权限组合在同一角色中");
    return E_OK;
}

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "role_not_found", NULL, "角色不存在");
}

static err builtin_refused(void)
{
    return err_set(E_CONFLICT, "builtin_role", NULL,
                   "内置角色不能修改或删除（三员分立的权限由系统固定）");
}

static err load_perms(db *d, int64_t role_id, perm_set *perms_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT permission FROM role_permissions WHERE role_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, role_id);
    perm_set p = {{0}};
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        enum perm one = perm_parse(db_col_text(s, 0));
        if (one != PERM_NONE)
            perm_set_add(&p, one);
    }
    db_done(s);
    if (!e)
        *perms_r = p;
    return e;
}

#define ROLE_COLUMNS                                                                               \
    "r.id, r.key, r.name, r.description, r.builtin, r.require_totp, r.created_at, r.updated_at, "  \
    "(SELECT COUNT(*) FROM user_roles ur WHERE ur.role_id = r.id) "

static void read_role(db_stmt *s, arena *a, struct role *r)
{
    *r = (struct role){
        .id = db_col_int64(s, 0),
        .key = arena_strdup(a, db_col_text(s, 1)),
        .name = arena_strdup(a, db_col_text(s, 2)),
        .description = arena_strdup(a, db_col_text(s, 3)),
        .builtin = db_col_int64(s, 4) != 0,
        .require_totp = db_col_int64(s, 5) != 0,
        .created_at = db_col_int64(s, 6),
        .updated_at = db_col_int64(s, 7),
        .user_count = db_col_int64(s, 8),
    };
}

err role_list(db *d, arena *a, int64_t page, int64_t page_size, struct role **items_r, size_t *n_r,
              int64_t *total_r)
{
    int64_t total = 0;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM roles", &total);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT " ROLE_COLUMNS
                        "FROM roles r ORDER BY r.builtin DESC, r.key LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, page_size);
    db_bind_int64(s, 2, paging_offset(page, page_size));
    size_t cap = (size_t)page_size, n = 0;
    struct role *items = arena_alloc(a, cap * sizeof *items);
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row)
        read_role(s, a, &items[n++]);
    db_done(s);
    for (size_t i = 0; i < n && !e; i++)
        e = load_perms(d, items[i].id, &items[i].perms);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

err role_find(db *d, arena *a, int64_t id, struct role *r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT " ROLE_COLUMNS "FROM roles r WHERE r.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    struct role found;
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            read_role(s, a, &found);
        else
            e = not_found();
    }
    db_done(s);
    if (!e)
        e = load_perms(d, id, &found.perms);
    if (!e)
        *r = found;
    return e;
}

/* Replace the role's permission rows with `perms`. */
static err store_perms(db *d, int64_t role_id, perm_set perms)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM role_permissions WHERE role_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, role_id);
    if ((e = db_run(s, NULL)))
        return e;
    for (int p = 1; p < PERM__COUNT; p++) {
        if (!perm_set_has(perms, (enum perm)p))
            continue;
        if ((e = db_prepare(d, "INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, role_id);
        db_bind_text(s, 2, perm_name((enum perm)p));
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* The role's builtin flag inside the current transaction. */
static err role_builtin(db *d, int64_t id, bool *builtin_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT builtin FROM roles WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            *builtin_r = db_col_int64(s, 0) != 0;
        else
            e = not_found();
    }
    db_done(s);
    return e;
}

static err key_taken(db *d, const char *key, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM roles WHERE key = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    *id_r = 0;
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err role_create(db *d, const struct role_input *in, int64_t *id_r)
{
    if (!role_key_valid(in->key))
        return err_set(E_INPUT, "invalid_key", "key",
                       "角色标识应为3到32位小写字母、数字或下划线，并以字母开头");
    err e = role_check_perms(in->has_perms ? in->perms : (perm_set){{0}}, "permissions");
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    int64_t existing = 0;
    if ((e = key_taken(d, in->key, &existing)))
        goto fail;
    if (existing) {
        e = err_set_ref(E_CONFLICT, "duplicate_role", existing, "角色标识已被使用");
        goto fail;
    }
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO roles (id, key, name, description, builtin, require_totp, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->key);
    db_bind_text(s, 3, in->name);
    db_bind_text(s, 4, in->description ? in->description : "");
    db_bind_int64(s, 5, in->has_require_totp && in->require_totp);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, now);
    if ((e = db_run(s, NULL)) ||
        (e = store_perms(d, id, in->has_perms ? in->perms : (perm_set){{0}})) || (e = db_commit(d)))
        goto fail;
    *id_r = id;
    return E_OK;
fail:
    db_rollback(d);
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "duplicate"))
        /* a concurrent create of the same key won the race */
        e = err_set(E_CONFLICT, "duplicate_role", "key", "角色标识已被使用");
    return e;
}

static err check_no_admin_widening(db *d, int64_t id, perm_set want)
{
    perm_set cur = {{0}};
    err e = load_perms(d, id, &cur);
    if (e || perm_set_empty(perm_set_inter(perm_set_minus(want, cur), ROLE_ADMIN_PERMS)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT COUNT(*) FROM user_roles WHERE role_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool found;
    e = db_row(s, &found);
    int64_t holders = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e || holders == 0)
        return e;
    return err_set(E_CONFLICT, "role_in_use", "permissions",
                   "该角色已分配给%lld名用户，不能再加入管理类权限；请新建角色，由系统管理员分配",
                   (long long)holders);
}

err role_update(db *d, int64_t id, const struct role_input *in)
{
    err e = db_begin(d);
    if (e)
        return e;
    bool builtin = false;
    if ((e = role_builtin(d, id, &builtin)))
        goto fail;
    /* a built-in role is refused whatever the change, before judging it */
    if (builtin) {
        e = builtin_refused();
        goto fail;
    }
    if (in->has_perms && (e = role_check_perms(in->perms, "permissions")))
        goto fail;
    /* Granting is the system administrator's duty: administrative rights
     * reach people only through an assignment they make, never by the
     * security administrator widening a role people already hold. */
    if (in->has_perms && (e = check_no_admin_widening(d, id, in->perms)))
        goto fail;
    /* COALESCE keeps what the request leaves out, in one statement */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE roles SET name = COALESCE(?, name), "
                        "description = COALESCE(?, description), "
                        "require_totp = COALESCE(?, require_totp), updated_at = ? WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_text(s, 1, in->name);
    db_bind_text(s, 2, in->description);
    if (in->has_require_totp)
        db_bind_int64(s, 3, in->require_totp);
    else
        db_bind_null(s, 3);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (in->has_perms && (e = store_perms(d, id, in->perms)))
        goto fail;
    if ((e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d);
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err role_delete(db *d, int64_t id)
{
    err e = db_begin(d);
    if (e)
        return e;
    bool builtin = false;
    if ((e = role_builtin(d, id, &builtin)))
        goto fail;
    if (builtin) {
        e = builtin_refused();
        goto fail;
    }
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT COUNT(*) FROM user_roles WHERE role_id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    int64_t users = 0;
    bool row;
    if (!(e = db_row(s, &row)) && row)
        users = db_col_int64(s, 0);
    db_done(s);
    if (e)
        goto fail;
    if (users > 0) {
        e = err_set(E_CONFLICT, "role_in_use", NULL,
                    "仍有%lld个用户使用该角色，请先为他们更换角色后再删除", (long long)users);
        goto fail;
    }
    if ((e = db_prepare(d, "DELETE FROM role_permissions WHERE role_id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)))
        goto fail;
    if ((e = db_prepare(d, "DELETE FROM roles WHERE id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d);
    return E_OK;
fail:
    db_rollback(d);
    return e;
}
