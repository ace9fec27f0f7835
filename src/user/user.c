/*
 * Accounts: the rules and the SQL of the users section of user/user.h.
 *
 * Every read binds the caller's scope in the statement that finds the
 * account, so an account outside it is indistinguishable from one that does
 * not exist. Every change is one transaction: a refused request leaves the
 * account, its roles and its sessions as they were. Passwords, sessions and
 * the second factor are security/auth.c's; this file decides whether the
 * caller may touch the account, then calls it.
 */
#include "user/user.h"

#include <stdio.h>
#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "db/query.h"
#include "security/crypto.h"
#include "security/mask.h"

static const char *const protected_keys[] = {"system_admin", "security_admin", "audit_admin", NULL};

/* The scope of the command line: every region (scope_all). */
static const struct scope everywhere = {0, REGCODE_SPACE};

static const struct scope *scope_by(const struct principal *by)
{
    return by ? &by->scope : &everywhere;
}

/* May `by` grant, take away, or act on holders of, protected roles? */
static bool can_grant_protected(const struct principal *by)
{
    return !by || principal_can(by, PERM_ROLE_WRITE);
}

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
}

static err self_refused(const char *field)
{
    return err_set(E_FORBIDDEN, "self_modification", field,
                   "不能修改本人的角色、区划或账号状态，请由其他管理员办理");
}

static err protected_refused(void)
{
    return err_set(E_FORBIDDEN, "protected_account", NULL,
                   "该用户担任管理角色（三员分立），只能由安全管理员或命令行办理此操作");
}

/* ---- checks of input ------------------------------------------------------- */

err user_check_username(const char *s, const char *field)
{
    size_t n = s ? strlen(s) : 0;
    bool ok = n >= USERNAME_MIN && n <= USERNAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        return err_set(E_INPUT, "invalid_username", field,
                       "用户名应为%d到%d位字母、数字、下划线、点或连字符", USERNAME_MIN,
                       USERNAME_MAX);
    return E_OK;
}

static err check_display_name(const char *s)
{
    size_t n = s ? utf8_len(s) : 0;
    bool blank = true;
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\t' || *p == '\n' || *p == '\r')
            return err_set(E_INPUT, "invalid_value", "display_name", "姓名含有不允许的字符");
        if (*p != ' ')
            blank = false;
    }
    if (n == 0 || blank)
        return err_set(E_INPUT, "required", "display_name", "请填写姓名");
    if (n > DISPLAY_NAME_MAX)
        return err_set(E_INPUT, "too_long", "display_name", "姓名不能超过%d个字符",
                       DISPLAY_NAME_MAX);
    if (!utf8_valid_text(s))
        return err_set(E_INPUT, "invalid_value", "display_name", "姓名含有不允许的字符");
    return E_OK;
}

/* The region exists and lies in the scope. */
static err check_region(db *d, const struct scope *sc, int64_t code)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    db_done(s);
    if (e)
        return e;
    if (!found)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    return E_OK;
}

/* The department exists and its region lies in the scope. */
static err check_department(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT 1 FROM departments WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    db_done(s);
    if (e)
        return e;
    if (!found)
        return err_set(E_INPUT, "invalid_department", "department_id",
                       "所属部门不存在或不在您的管辖范围内");
    return E_OK;
}

/* ---- roles of an account ----------------------------------------------------- */

struct role_pick {
    int64_t id;
    const char *key;
    perm_set perms;
    bool protected_role;
};

static bool key_protected(const char *key)
{
    for (const char *const *k = protected_keys; *k; k++)
        if (!strcmp(*k, key))
            return true;
    return false;
}

bool user_may_grant(const struct principal *by, const char *key, perm_set perms)
{
    if (!strcmp(key, "citizen"))
        return false;
    if (by && !principal_can(by, PERM_USER_WRITE))
        return false;
    bool prot = key_protected(key) || !perm_set_empty(perm_set_inter(perms, ROLE_ADMIN_PERMS));
    return !prot || can_grant_protected(by);
}

/* The role's permissions, and is it protected (by key or by an
 * administrative permission)? */
static err role_is_protected(db *d, int64_t role_id, const char *key, bool *r, perm_set *perms_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT permission FROM role_permissions WHERE role_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, role_id);
    perm_set perms = {{0}};
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        enum perm p = perm_parse(db_col_text(s, 0));
        if (p != PERM_NONE)
            perm_set_add(&perms, p);
    }
    db_done(s);
    if (!e) {
        *r = key_protected(key) || !perm_set_empty(perm_set_inter(perms, ROLE_ADMIN_PERMS));
        *perms_r = perms;
    }
    return e;
}

/*
 * Resolve role keys into ids, dropping repeats. E_INPUT "invalid_role" for
 * an unknown key, "required" for none, "too_long" for too many.
 */
static err resolve_roles(db *d, arena *a, const char *const *keys, size_t n,
                         struct role_pick **picks_r, size_t *n_r)
{
    if (n == 0)
        return err_set(E_INPUT, "required", "roles", "请至少选择一个角色");
    if (n > USER_ROLES_MAX)
        return err_set(E_INPUT, "too_long", "roles", "角色不能超过%d个", USER_ROLES_MAX);
    struct role_pick *picks = arena_zalloc(a, n * sizeof *picks);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++)
            seen = !strcmp(picks[j].key, keys[i]);
        if (seen)
            continue;
        db_stmt *s;
        err e = db_prepare(d, "SELECT id, key FROM roles WHERE key = ?", &s);
        if (e)
            return e;
        db_bind_text(s, 1, keys[i]);
        bool row;
        if (!(e = db_row(s, &row)) && row) {
            picks[m].id = db_col_int64(s, 0);
            picks[m].key = arena_strdup(a, db_col_text(s, 1));
        }
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "invalid_role", "roles", "角色不存在：%.40s", keys[i]);
        if ((e = role_is_protected(d, picks[m].id, picks[m].key, &picks[m].protected_role,
                                   &picks[m].perms)))
            return e;
        m++;
    }
    *picks_r = picks;
    *n_r = m;
    return E_OK;
}

/* The roles an account holds now. */
static err current_roles(db *d, arena *a, int64_t user_id, struct role_pick **picks_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT r.id, r.key FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
                       "WHERE ur.user_id = ? ORDER BY r.key",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    size_t cap = 8, n = 0;
    struct role_pick *picks = arena_alloc(a, cap * sizeof *picks);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            struct role_pick *more = arena_alloc(a, 2 * cap * sizeof *more);
            memcpy(more, picks, n * sizeof *picks);
            picks = more;
            cap *= 2;
        }
        picks[n].id = db_col_int64(s, 0);
        picks[n].key = arena_strdup(a, db_col_text(s, 1));
        n++;
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++)
        e = role_is_protected(d, picks[i].id, picks[i].key, &picks[i].protected_role,
                              &picks[i].perms);
    if (e)
        return e;
    *picks_r = picks;
    *n_r = n;
    return E_OK;
}

static bool has_role(const struct role_pick *p, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].id == id)
            return true;
    return false;
}

static err store_roles(db *d, int64_t user_id, const struct role_pick *p, size_t n)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM user_roles WHERE user_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < n; i++) {
        if ((e = db_prepare(d, "INSERT INTO user_roles (user_id, role_id) VALUES (?, ?)", &s)))
            return e;
        db_bind_int64(s, 1, user_id);
        db_bind_int64(s, 2, p[i].id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* Several roles together must keep the duties apart as one role must. */
static err check_duties(const struct role_pick *p, size_t n)
{
    perm_set all = {{0}};
    for (size_t i = 0; i < n; i++)
        all = perm_set_union(all, p[i].perms);
    return role_check_perms(all, "roles");
}

/* The citizen role is what a resident's SMS sign-in creates; on a staff
 * account it would mix a password account with residents' self-service. */
static err check_not_citizen(const struct role_pick *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(p[i].key, "citizen"))
            return err_set(E_INPUT, "citizen_role_for_staff", "roles",
                           "“市民”角色仅用于居民（短信验证码登录）账号，不能授予工作人员账号");
    return E_OK;
}

static err grant_refused(const char *key)
{
    return err_set(E_FORBIDDEN, "role_grant_forbidden", "roles",
                   "无权授予或撤销角色“%.40s”：管理类角色（三员分立）只能在部署时通过命令行授予",
                   key);
}

/* ---- the target of an administrator's action --------------------------------- */

/*
 * Find the account in the caller's scope and apply the rules every
 * administrator's action shares: not one's own account (when `self_ok` is
 * false) and not a protected account without the right to (when
 * `guarded`). *protected_r (if not NULL) says whether it holds a protected
 * role.
 */
static err target(db *d, arena *a, const struct principal *by, int64_t id, bool self_ok,
                  bool guarded, bool *protected_r)
{
    const struct scope *sc = scope_by(by);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM users WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    db_done(s);
    if (e)
        return e;
    if (!found)
        return not_found();
    if (!self_ok && by && by->user_id == id)
        return self_refused(NULL);
    if (!guarded && !protected_r)
        return E_OK;
    struct role_pick *cur;
    size_t n;
    e = current_roles(d, a, id, &cur, &n);
    bool prot = false;
    for (size_t i = 0; !e && i < n; i++)
        prot = prot || cur[i].protected_role;
    if (e)
        return e;
    if (protected_r)
        *protected_r = prot;
    if (guarded && prot && !can_grant_protected(by))
        return protected_refused();
    return E_OK;
}

/* ---- create ---------------------------------------------------------------------- */

static err existing_username(db *d, const char *username, int64_t *id_r)
{
    db_stmt *s;
    /* LOWER on both sides: "Admin" next to "admin" would invite mistakes
     * and impersonation, so names are unique ignoring ASCII case */
    err e = db_prepare(d, "SELECT id FROM users WHERE LOWER(username) = LOWER(?)", &s);
    if (e)
        return e;
    db_bind_text(s, 1, username);
    *id_r = 0;
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

static err duplicate(int64_t id)
{
    return err_set_ref(E_CONFLICT, "duplicate_username", id, "用户名已被使用");
}

err user_create(db *d, arena *a, const struct principal *by, const struct user_new *in,
                int64_t *id_r)
{
    err e;
    if ((e = user_check_username(in->username, "username")) ||
        (e = check_display_name(in->display_name)) ||
        (e = password_policy(in->password, "password")))
        return e;
    const struct scope *sc = scope_by(by);
    struct role_pick *picks = NULL;
    size_t n = 0;
    if ((e = check_region(d, sc, in->region_code)) ||
        (in->department_id && (e = check_department(d, sc, in->department_id))) ||
        (e = resolve_roles(d, a, in->roles, in->n_roles, &picks, &n)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (picks[i].protected_role && !can_grant_protected(by)) {
            e = grant_refused(picks[i].key);
            goto out;
        }
    }
    if ((e = check_not_citizen(picks, n)) || (e = check_duties(picks, n)))
        goto out;
    int64_t existing = 0;
    if ((e = existing_username(d, in->username, &existing)))
        goto out;
    if (existing) {
        e = duplicate(existing);
        goto out;
    }

    /* argon2id takes a while: hash before the transaction, not inside it */
    char hash[160];
    if ((e = password_hash(in->password, hash, sizeof hash)))
        goto out;
    int64_t id = id_new(), now = now_ms();
    if ((e = db_begin(d)))
        goto out;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO users (id, username, display_name, kind, password_hash, "
                        "region_code, department_id, must_change_password, password_changed_at, "
                        "created_at, updated_at) VALUES (?, ?, ?, 'staff', ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->username);
    db_bind_text(s, 3, in->display_name);
    db_bind_text(s, 4, hash);
    db_bind_int64(s, 5, in->region_code);
    if (in->department_id)
        db_bind_int64(s, 6, in->department_id);
    else
        db_bind_null(s, 6);
    db_bind_int64(s, 7, in->must_change_password ? 1 : 0);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)) || (e = store_roles(d, id, picks, n)) || (e = db_commit(d)))
        goto fail;
    explicit_bzero(hash, sizeof hash);
    *id_r = id;
    goto out;
fail:
    explicit_bzero(hash, sizeof hash);
    db_rollback(d);
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "duplicate")) {
        /* a concurrent create of the same name won the race */
        if (existing_username(d, in->username, &existing) == E_OK && existing)
            e = duplicate(existing);
    }
out:
    return e;
}

/* ---- read -------------------------------------------------------------------- */

/* When the account is locked: an administrator's lock, or the latest lock
 * of its name from some address (security/auth.h), whichever ends later. */
#define LOCKED_UNTIL                                                                               \
    "(CASE WHEN COALESCE((SELECT MAX(lf.locked_until) FROM login_failures lf "                     \
    "WHERE lf.user_id = u.id), 0) > u.locked_until THEN (SELECT MAX(lf.locked_until) "             \
    "FROM login_failures lf WHERE lf.user_id = u.id) ELSE u.locked_until END)"

#define USER_COLUMNS                                                                               \
    "u.id, u.username, u.display_name, u.kind, u.region_code, g.name, g.level, "                   \
    "u.department_id, dp.name, u.phone_enc, u.person_id, u.must_change_password, "                 \
    "u.totp_enabled, u.disabled, " LOCKED_UNTIL ", u.last_login_at, u.password_changed_at, "       \
    "u.created_at, u.updated_at "
#define USER_FROM                                                                                  \
    "FROM users u LEFT JOIN regions g ON g.code = u.region_code "                                  \
    "LEFT JOIN departments dp ON dp.id = u.department_id "

static err read_user(db_stmt *s, arena *a, struct user *u)
{
    *u = (struct user){
        .id = db_col_int64(s, 0),
        .username = db_col_null(s, 1) ? NULL : arena_strdup(a, db_col_text(s, 1)),
        .display_name = arena_strdup(a, db_col_text(s, 2)),
        .resident = !strcmp(db_col_text(s, 3), "resident"),
        .region_code = db_col_int64(s, 4),
        .region_name = arena_strdup(a, db_col_text(s, 5)),
        .region_level = db_col_null(s, 6) ? 0 : (int)db_col_int64(s, 6),
        .department_id = db_col_null(s, 7) ? 0 : db_col_int64(s, 7),
        .department_name = db_col_null(s, 8) ? NULL : arena_strdup(a, db_col_text(s, 8)),
        .person_id = db_col_null(s, 10) ? 0 : db_col_int64(s, 10),
        .must_change_password = db_col_int64(s, 11) != 0,
        .totp_enabled = db_col_int64(s, 12) != 0,
        .disabled = db_col_int64(s, 13) != 0,
        .locked_until = db_col_int64(s, 14),
        .last_login_at = db_col_int64(s, 15),
        .password_changed_at = db_col_int64(s, 16),
        .created_at = db_col_int64(s, 17),
        .updated_at = db_col_int64(s, 18),
    };
    if (!db_col_null(s, 9)) {
        size_t n;
        const void *ct = db_col_blob(s, 9, &n);
        char *phone;
        size_t len;
        err e = unseal(a, "users.phone", ct, n, &phone, &len);
        if (e)
            return e;
        u->phone_masked = mask_phone(a, phone);
        explicit_bzero(phone, len);
    }
    return E_OK;
}

/* Append a role to a user's array (arena-grown). */
static void add_role(arena *a, struct user *u, const char *key, const char *name, bool totp)
{
    struct user_role_ref *more = arena_alloc(a, (u->n_roles + 1) * sizeof *more);
    if (u->n_roles)
        memcpy(more, u->roles, u->n_roles * sizeof *more);
    more[u->n_roles].key = arena_strdup(a, key);
    more[u->n_roles].name = arena_strdup(a, name);
    u->roles = more;
    u->n_roles++;
    if (totp)
        u->totp_required = true;
}

err user_find(db *d, arena *a, const struct scope *scope, int64_t id, struct user *u_r)
{
    const struct scope *sc = scope ? scope : &everywhere;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " USER_COLUMNS USER_FROM
                       "WHERE u.id = ? AND u.region_code >= ? AND u.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    struct user u;
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? read_user(s, a, &u) : not_found();
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        "SELECT r.key, r.name, r.require_totp FROM user_roles ur "
                        "JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ? ORDER BY r.key",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    while (!(e = db_row(s, &row)) && row)
        add_role(a, &u, db_col_text(s, 0), db_col_text(s, 1), db_col_int64(s, 2) != 0);
    db_done(s);
    if (!e)
        *u_r = u;
    return e;
}

/* ---- list -------------------------------------------------------------------- */

/* "%q%" with LIKE's own characters escaped and ASCII lower-cased, matched
 * against LOWER(column): case-insensitive on both databases without ILIKE. */
static char *like_pattern(arena *a, const char *q)
{
    size_t n = strlen(q);
    char *out = arena_alloc(a, 2 * n + 3), *o = out;
    *o++ = '%';
    for (const char *p = q; *p; p++) {
        char c = *p;
        if (c == '%' || c == '_' || c == '\\')
            *o++ = '\\';
        *o++ = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

static const char *order_by(const struct user_filter *f)
{
    static const char *const cols[] = {
        [USER_SORT_CREATED_AT] = "u.created_at",
        [USER_SORT_USERNAME] = "COALESCE(u.username, '')",
        [USER_SORT_DISPLAY_NAME] = "u.display_name",
        [USER_SORT_LAST_LOGIN_AT] = "u.last_login_at",
        [USER_SORT_REGION_CODE] = "u.region_code",
    };
    static const char *const asc[] = {
        [USER_SORT_CREATED_AT] = "u.created_at, u.id",
        [USER_SORT_USERNAME] = "COALESCE(u.username, ''), u.id",
        [USER_SORT_DISPLAY_NAME] = "u.display_name, u.id",
        [USER_SORT_LAST_LOGIN_AT] = "u.last_login_at, u.id",
        [USER_SORT_REGION_CODE] = "u.region_code, u.id",
    };
    static const char *const desc[] = {
        [USER_SORT_CREATED_AT] = "u.created_at DESC, u.id DESC",
        [USER_SORT_USERNAME] = "COALESCE(u.username, '') DESC, u.id DESC",
        [USER_SORT_DISPLAY_NAME] = "u.display_name DESC, u.id DESC",
        [USER_SORT_LAST_LOGIN_AT] = "u.last_login_at DESC, u.id DESC",
        [USER_SORT_REGION_CODE] = "u.region_code DESC, u.id DESC",
    };
    unsigned k = (unsigned)f->sort < sizeof cols / sizeof cols[0] ? (unsigned)f->sort : 0;
    return f->desc ? desc[k] : asc[k];
}

err user_list(db *d, arena *a, const struct principal *by, const struct user_filter *f,
              struct user **items_r, size_t *n_r, int64_t *total_r)
{
    const struct scope *sc = scope_by(by);
    /* the filter, the order and the page, shared by the count, the page and
     * the page's roles (the queries are large: arena, not stack) */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, "u.region_code >= ? AND u.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->q && *f->q) {
        query_sql(w, " AND (LOWER(COALESCE(u.username, '')) LIKE ? ESCAPE '\\' OR "
                     "LOWER(u.display_name) LIKE ? ESCAPE '\\')");
        char *pat = like_pattern(a, f->q);
        query_text(w, pat);
        query_text(w, pat);
    }
    if (f->role && *f->role) {
        query_sql(w, " AND EXISTS (SELECT 1 FROM user_roles fr JOIN roles fro ON "
                     "fro.id = fr.role_id WHERE fr.user_id = u.id AND fro.key = ?)");
        query_text(w, f->role);
    }
    if (f->region_code) {
        query_sql(w, " AND u.region_code >= ? AND u.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, scope_of(f->region_code).hi);
    }
    if (f->department_id) {
        query_sql(w, " AND u.department_id = ?");
        query_int(w, f->department_id);
    }
    if (f->locked == 0 || f->locked == 1) {
        query_sql(w, f->locked ? " AND " LOCKED_UNTIL " > ?" : " AND " LOCKED_UNTIL " <= ?");
        query_int(w, now_ms());
    }
    if (f->disabled == 0 || f->disabled == 1) {
        query_sql(w, " AND u.disabled = ?");
        query_int(w, f->disabled);
    }
    if (f->kind && *f->kind) {
        query_sql(w, " AND u.kind = ?");
        query_text(w, f->kind);
    }
    int64_t size = f->page_size > 0 ? f->page_size : 20;
    int64_t offset = paging_offset(f->page, size);
    struct query *page = arena_alloc(a, sizeof *page);
    *page = (struct query)QUERY_INIT;
    query_append(page, w);
    query_sql(page, " ORDER BY ");
    query_sql(page, order_by(f));
    query_sql(page, " LIMIT ? OFFSET ?");
    query_int(page, size);
    query_int(page, offset);

    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*) FROM users u WHERE ");
    query_append(q, w);
    int64_t total;
    err e = query_count(d, q, &total);
    if (e)
        return e;

    db_stmt *s;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT " USER_COLUMNS USER_FROM "WHERE ");
    query_append(q, page);
    if ((e = query_prepare(d, q, &s)))
        return e;
    /* rows added between the count and this read are left for the next page */
    int64_t left = total > offset ? total - offset : 0;
    size_t cap = (size_t)(left < size ? left : size);
    struct user *items = arena_zalloc(a, (cap ? cap : 1) * sizeof *items);
    size_t n = 0;
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row && !(e = read_user(s, a, &items[n])))
        n++;
    db_done(s);
    if (e)
        return e;

    /* the page's roles in one statement: the same filter as a subquery */
    if (n) {
        *q = (struct query)QUERY_INIT;
        query_sql(q, "SELECT ur.user_id, r.key, r.name, r.require_totp FROM user_roles ur "
                     "JOIN roles r ON r.id = ur.role_id WHERE ur.user_id IN (SELECT u.id "
                     "FROM users u WHERE ");
        query_append(q, page);
        query_sql(q, ") ORDER BY ur.user_id, r.key");
        if ((e = query_prepare(d, q, &s)))
            return e;
        while (!(e = db_row(s, &row)) && row) {
            int64_t uid = db_col_int64(s, 0);
            for (size_t i = 0; i < n; i++) {
                if (items[i].id == uid) {
                    add_role(a, &items[i], db_col_text(s, 1), db_col_text(s, 2),
                             db_col_int64(s, 3) != 0);
                    break;
                }
            }
        }
        db_done(s);
        if (e)
            return e;
    }
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

/* ---- change --------------------------------------------------------------------- */

err user_update(db *d, arena *a, const struct principal *by, int64_t id, const struct user_patch *p)
{
    const struct scope *sc = scope_by(by);
    err e;
    if (p->display_name && (e = check_display_name(p->display_name)))
        return e;
    bool prot = false;
    if ((e = target(d, a, by, id, true, false, &prot)))
        goto out;

    db_stmt *s;
    if ((e = db_prepare(
             d, "SELECT region_code, disabled, kind, display_name FROM users WHERE id = ?", &s)))
        goto out;
    db_bind_int64(s, 1, id);
    bool row;
    int64_t region = 0;
    bool disabled = false, staff = false, renamed = false;
    if (!(e = db_row(s, &row)) && row) {
        region = db_col_int64(s, 0);
        disabled = db_col_int64(s, 1) != 0;
        staff = !strcmp(db_col_text(s, 2), "staff");
        renamed = p->display_name && strcmp(p->display_name, db_col_text(s, 3)) != 0;
    }
    db_done(s);
    if (e)
        goto out;
    if (!row) {
        e = not_found();
        goto out;
    }

    bool self = by && by->user_id == id;
    bool region_changes = p->set_region && p->region_code != region;
    bool disabled_changes = p->set_disabled && p->disabled != disabled;
    if (self && region_changes) {
        e = self_refused("region_code");
        goto out;
    }
    if (self && disabled_changes) {
        e = self_refused("disabled");
        goto out;
    }

    struct role_pick *cur = NULL, *want = NULL;
    size_t ncur = 0, nwant = 0;
    bool roles_change = false;
    if (p->set_roles) {
        if ((e = resolve_roles(d, a, p->roles, p->n_roles, &want, &nwant)) ||
            (e = current_roles(d, a, id, &cur, &ncur)))
            goto out;
        for (size_t i = 0; i < nwant && !roles_change; i++)
            roles_change = !has_role(cur, ncur, want[i].id);
        for (size_t i = 0; i < ncur && !roles_change; i++)
            roles_change = !has_role(want, nwant, cur[i].id);
        if (self && roles_change) {
            e = self_refused("roles");
            goto out;
        }
    }
    /* renaming an administrator could pass someone else off as them in
     * the audit log: the same rule as their status (not their own name) */
    if (prot && !can_grant_protected(by) &&
        (region_changes || disabled_changes || roles_change || (renamed && !self))) {
        e = protected_refused();
        goto out;
    }
    if (roles_change && !can_grant_protected(by)) {
        for (size_t i = 0; i < nwant; i++) {
            if (want[i].protected_role && !has_role(cur, ncur, want[i].id)) {
                e = grant_refused(want[i].key);
                goto out;
            }
        }
        for (size_t i = 0; i < ncur; i++) {
            if (cur[i].protected_role && !has_role(want, nwant, cur[i].id)) {
                e = grant_refused(cur[i].key);
                goto out;
            }
        }
    }
    if (roles_change &&
        ((staff && (e = check_not_citizen(want, nwant))) || (e = check_duties(want, nwant))))
        goto out;
    if ((region_changes && (e = check_region(d, sc, p->region_code))) ||
        (p->set_department && p->department_id && (e = check_department(d, sc, p->department_id))))
        goto out;

    if ((e = db_begin(d)))
        goto out;
    /* CASE keeps what the request leaves out, in one statement */
    if ((e = db_prepare(d,
                        "UPDATE users SET display_name = COALESCE(?, display_name), "
                        "region_code = CASE WHEN ? = 1 THEN ? ELSE region_code END, "
                        "department_id = CASE WHEN ? = 1 THEN ? ELSE department_id END, "
                        "disabled = CASE WHEN ? = 1 THEN ? ELSE disabled END, "
                        "updated_at = ? WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_text(s, 1, p->display_name);
    db_bind_int64(s, 2, region_changes ? 1 : 0);
    db_bind_int64(s, 3, p->region_code);
    db_bind_int64(s, 4, p->set_department ? 1 : 0);
    if (p->set_department && p->department_id)
        db_bind_int64(s, 5, p->department_id);
    else
        db_bind_null(s, 5);
    db_bind_int64(s, 6, p->set_disabled ? 1 : 0);
    db_bind_int64(s, 7, p->disabled ? 1 : 0);
    db_bind_int64(s, 8, now_ms());
    db_bind_int64(s, 9, id);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (roles_change && (e = store_roles(d, id, want, nwant)))
        goto fail;
    /* a disabled account must not stay signed in anywhere */
    if (p->set_disabled && p->disabled && (e = auth_logout_all(d, id)))
        goto fail;
    if ((e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d);
    goto out;
fail:
    db_rollback(d);
out:
    return e;
}

err user_delete(db *d, arena *a, const struct principal *by, int64_t id)
{
    err e = target(d, a, by, id, false, true, NULL);
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)) || (e = auth_logout_all(d, id)) || (e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d);
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- the administrator's actions ---------------------------------------------- */

err user_reset_password(db *d, arena *a, const struct principal *by, int64_t id,
                        const char *password, bool must_change)
{
    err e = target(d, a, by, id, false, true, NULL);
    if (e)
        return e;
    /* checks the policy, stores, and ends every session of the account */
    return auth_set_password(d, id, password, must_change);
}

err user_lock(db *d, arena *a, const struct principal *by, int64_t id)
{
    err e = target(d, a, by, id, false, true, NULL);
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE users SET locked_until = ?, failed_logins = 0, updated_at = ? "
                        "WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, USER_LOCKED_FOREVER);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, id);
    if ((e = db_run(s, NULL)) || (e = auth_logout_all(d, id)) || (e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d);
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* Unlocking an administrator or signing them out is acting on them: the
 * same rule as locking them (guarded). */
err user_unlock(db *d, arena *a, const struct principal *by, int64_t id)
{
    err e = target(d, a, by, id, true, true, NULL);
    return e ? e : auth_unlock(d, id);
}

err user_logout_all(db *d, arena *a, const struct principal *by, int64_t id)
{
    err e = target(d, a, by, id, true, true, NULL);
    return e ? e : auth_logout_all(d, id);
}

err user_totp_reset(db *d, arena *a, const struct principal *by, int64_t id)
{
    err e = target(d, a, by, id, false, true, NULL);
    return e ? e : auth_totp_reset(d, id);
}

/* ---- the account's own -------------------------------------------------------- */

err user_check_password(db *d, int64_t id, const char *password, const char *field)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT password_hash FROM users WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    char hash[160] = "";
    if (!(e = db_row(s, &row)) && row)
        snprintf(hash, sizeof hash, "%s", db_col_text(s, 0));
    db_done(s);
    if (e)
        return e;
    if (!password_verify(hash, password))
        return err_set(E_INPUT, "bad_password", field, "密码错误");
    return E_OK;
}

err user_totp_enrol(db *d, int64_t id, const char *account, char secret_r[64], char uri_r[256])
{
    char code[7];
    err e = auth_totp_begin(d, id, account, secret_r, uri_r);
    if (e || (e = totp_now(secret_r, code)) || (e = auth_totp_confirm(d, id, code)))
        return e;
    explicit_bzero(code, sizeof code);
    /* The code proven here was generated, not typed by anyone: forget its
     * step so the operator's first sign-in within the same 30 s works. */
    db_stmt *s;
    if ((e = db_prepare(d, "UPDATE users SET totp_last_step = 0 WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    return db_run(s, NULL);
}

err user_id_by_username(db *d, const char *username, int64_t *id_r)
{
    *id_r = 0;
    if (!username)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM users WHERE username = ? AND kind = 'staff'", &s);
    if (e)
        return e;
    db_bind_text(s, 1, username);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}
