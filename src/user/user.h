/*
 * The USER capability: staff and resident accounts, their roles and
 * departments (the contract; the .c files of src/user implement it).
 *
 * This header has two sections. "users" (user.c) owns accounts: creating
 * staff users, reading and listing them within the caller's scope, changing
 * them, and the administrator's actions on someone else's account (password
 * reset, lock, unlock, sign-out everywhere, second-factor reset). Passwords,
 * sessions and TOTP themselves belong to security/auth.h; this capability
 * decides who may do what to which account and then calls it. "roles and
 * departments" (role.c, department.c) owns the editable role and department
 * registers.
 *
 * Scope: a user is visible to a caller only when the user's region lies in
 * the caller's scope; outside it the user does not exist (E_NOT_FOUND, the
 * same as an unknown id). A NULL caller is the command line: every region,
 * every role.
 *
 * Separation of duties (三员分立) when granting roles:
 *   - granting or taking away roles needs user.write (the route checks it);
 *   - nobody changes their own roles or region, nor disables, locks, resets
 *     the password or second factor of their own account through the
 *     administrator's actions (E_FORBIDDEN "self_modification");
 *   - a protected role (system_admin, security_admin, audit_admin, and any
 *     role carrying an administrative permission: user.write, role.write,
 *     audit.read, key.admin, config.write) can be granted or taken away only
 *     by a caller holding role.write (the security administrator's right),
 *     or from the command line (E_FORBIDDEN "role_grant_forbidden");
 *   - the account of someone holding a protected role can have its password
 *     or second factor reset, be locked, disabled, deleted, moved to another
 *     region, have its roles changed, be renamed (by anyone but its
 *     holder), be unlocked or have its sessions ended only by such a
 *     caller too (E_FORBIDDEN "protected_account"), so the system
 *     administrator can neither take over nor interfere with the auditor's
 *     and the security administrator's accounts;
 *   - the citizen role belongs to residents' SMS accounts: a staff account
 *     cannot have it (E_INPUT "citizen_role_for_staff", field roles).
 */
#ifndef FK_USER_USER_H
#define FK_USER_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

/* users */

#define USERNAME_MIN        3
#define USERNAME_MAX        32
#define DISPLAY_NAME_MAX    20 /* characters */
#define USER_ROLES_MAX      16
#define USER_EXPORT_MAX     10000 /* rows of one CSV export */
#define USER_LOCKED_FOREVER AUTH_LOCKED_FOREVER

struct user_role_ref {
    const char *key;  /* "grid_worker" */
    const char *name; /* 网格员 */
};

/* An account as replies show it: no password hash, no TOTP secret, the
 * phone masked. Strings live in the arena the function was given. */
struct user {
    int64_t id;
    const char *username; /* NULL for residents (they sign in by phone) */
    const char *display_name;
    bool resident;       /* kind "resident", else "staff" */
    int64_t region_code; /* padded */
    const char *region_name;
    int region_level;            /* enum region_level, 0 if the region is gone */
    int64_t department_id;       /* 0: none */
    const char *department_name; /* NULL when none */
    const char *phone_masked;    /* NULL when none */
    int64_t person_id;           /* 0: none */
    bool must_change_password;
    bool totp_enabled;
    bool totp_required; /* one of the roles demands a second factor */
    bool disabled;
    int64_t locked_until; /* epoch ms; locked while in the future */
    int64_t last_login_at, password_changed_at, created_at, updated_at;
    struct user_role_ref *roles; /* sorted by key */
    size_t n_roles;
};

/* A new staff account, its fields already type-checked by the caller. */
struct user_new {
    const char *username;
    const char *display_name;
    const char *password;
    int64_t region_code;      /* padded */
    int64_t department_id;    /* 0: none */
    const char *const *roles; /* role keys, at least one */
    size_t n_roles;
    bool must_change_password;
};

/* A change: only the members whose set_* flag is true are applied. */
struct user_patch {
    const char *display_name; /* NULL: unchanged */
    bool set_region;
    int64_t region_code;
    bool set_department;
    int64_t department_id; /* 0 clears */
    bool set_roles;
    const char *const *roles;
    size_t n_roles;
    bool set_disabled;
    bool disabled;
};

enum user_sort {
    USER_SORT_CREATED_AT = 0,
    USER_SORT_USERNAME,
    USER_SORT_DISPLAY_NAME,
    USER_SORT_LAST_LOGIN_AT,
    USER_SORT_REGION_CODE,
};

/* List filters; zero values mean "any". */
struct user_filter {
    const char *q;       /* username or display name contains (case-insensitive ASCII) */
    const char *role;    /* holds this role key */
    int64_t region_code; /* padded: the subtree of this region */
    int64_t department_id;
    int locked;       /* -1 any, 0 not locked, 1 locked now */
    int disabled;     /* -1 any, 0 active, 1 disabled */
    const char *kind; /* "staff" | "resident" | NULL */
    enum user_sort sort;
    bool desc;
    int64_t page;      /* 1.. */
    int64_t page_size; /* 1..USER_EXPORT_MAX */
};

/*
 * Username shape: 3-32 characters of [A-Za-z0-9_.-]. E_INPUT
 * "invalid_username" naming `field`.
 */
err user_check_username(const char *s, const char *field) MUST_USE;

/*
 * Create a staff account. Checks, in order: username shape, display name
 * (1..DISPLAY_NAME_MAX characters of text), password policy (field
 * "password"), region exists and lies in the caller's scope (E_INPUT
 * "invalid_region"), department exists in the caller's scope (E_INPUT
 * "invalid_department"), every role exists (E_INPUT "invalid_role", field
 * "roles"), the grant rules above (E_FORBIDDEN "role_grant_forbidden"), and
 * that no account has the same username ignoring ASCII case (E_CONFLICT
 * "duplicate_username" with the existing id). Everything or nothing is
 * written. *id_r gets the new id.
 */
err user_create(db *d, arena *a, const struct principal *by, const struct user_new *in,
                int64_t *id_r) MUST_USE;

/*
 * Read one account within `scope` (NULL: any region). E_NOT_FOUND
 * "user_not_found" when unknown or outside the scope. Strings from `a`.
 */
err user_find(db *d, arena *a, const struct scope *scope, int64_t id, struct user *u_r) MUST_USE;

/*
 * One page of accounts within the caller's scope (NULL caller: any), and the
 * number of accounts that match. *items_r is an array of *n_r users from `a`.
 */
err user_list(db *d, arena *a, const struct principal *by, const struct user_filter *f,
              struct user **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * Apply a change (rules above; E_NOT_FOUND out of scope). A disabled
 * account's sessions end at once. Everything or nothing is written.
 */
err user_update(db *d, arena *a, const struct principal *by, int64_t id,
                const struct user_patch *p) MUST_USE;

/* Delete an account: it is disabled (the audit log keeps naming it) and
 * every session of it ends. */
err user_delete(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;

/* The administrator's actions on another account (rules above). */
err user_reset_password(db *d, arena *a, const struct principal *by, int64_t id,
                        const char *password, bool must_change) MUST_USE;
err user_lock(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;
err user_unlock(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;
err user_logout_all(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;
err user_totp_reset(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;

/*
 * Re-authentication of a signed-in user before a sensitive change of their
 * own account. E_INPUT "bad_password" naming `field` when it does not match
 * (400: a form error, not a lost session).
 */
err user_check_password(db *d, int64_t id, const char *password, const char *field) MUST_USE;

/*
 * Enrol and enable TOTP for an account at once (the command line, for an
 * operator who hands the secret over): begin, prove the current code, and
 * leave that code usable for the first sign-in, since nobody has used it.
 */
err user_totp_enrol(db *d, int64_t id, const char *account, char secret_r[64],
                    char uri_r[256]) MUST_USE;

/* The id of the account a staff username names into *id_r, 0 if none
 * (audit of failed sign-ins). A failed look-up is E_DB, never "none". */
err user_id_by_username(db *d, const char *username, int64_t *id_r) MUST_USE;

/* roles and departments */

/*
 * A role (岗位/角色) is a named, configurable permission set, deployment-
 * wide. Permissions are read from the database (auth_principal_load; the
 * per-thread cache is dropped on every change), so editing a role changes
 * the rights of its users at their next request: the "regenerate the rights of the position's
 * people" of seed 001 §4.2.2, without a regeneration step to forget.
 */
struct role {
    int64_t id;
    const char *key;  /* [a-z][a-z0-9_]{2,31}, unique, fixed at creation */
    const char *name; /* Chinese display name */
    const char *description;
    bool builtin; /* one of rbac.h's builtin_roles: read-only */
    bool require_totp;
    perm_set perms;
    int64_t user_count; /* users holding the role */
    int64_t created_at, updated_at;
};

/* What a create or an update sets. For an update, NULL strings and false
 * has_* flags leave the stored value alone. */
struct role_input {
    const char *key; /* create only */
    const char *name;
    const char *description;
    bool has_perms;
    perm_set perms;
    bool has_require_totp;
    bool require_totp;
};

/*
 * May `by` give a staff account the role `key` holding `perms` (the rules
 * user_create and user_update enforce, one role at a time)? Never the
 * citizen role; a protected role (one of the three administrators', or one
 * carrying ROLE_ADMIN_PERMS) only with role.write; and nothing without
 * user.write. NULL `by` (the command line) may grant every role but the
 * citizen's. The separation of duties between roles is checked on the
 * combination when the account is saved, not here.
 */
bool user_may_grant(const struct principal *by, const char *key, perm_set perms);

/* Is `key` a well-formed role key ([a-z][a-z0-9_]{2,31})? */
bool role_key_valid(const char *key);

/* Permissions whose holder administers the platform itself: a role that
 * carries one is granted only under the three-administrator rule. */
#define ROLE_ADMIN_PERMS                                                                           \
    PERMS(PERM_USER_WRITE, PERM_ROLE_WRITE, PERM_AUDIT_READ, PERM_KEY_ADMIN, PERM_CONFIG)

/*
 * The separation of duties a set of permissions must respect (三员分立):
 * audit.read combines with nothing else, and role.write / key.admin never
 * combine with user.write, so no one both defines rights and hands them
 * out. Checked for each custom role and for the union of a user's roles.
 * E_INPUT "separation_of_duties" on `field` when violated.
 */
err role_check_perms(perm_set perms, const char *field) MUST_USE;

/*
 * Roles, built-in first then by key, with their permissions and user
 * counts; page (1..) of page_size (1..200). The array and its strings come
 * from `a`. *total_r gets the number of roles.
 */
err role_list(db *d, arena *a, int64_t page, int64_t page_size, struct role **items_r, size_t *n_r,
              int64_t *total_r) MUST_USE;

/* One role; E_NOT_FOUND "role_not_found" when there is none. Strings from `a`. */
err role_find(db *d, arena *a, int64_t id, struct role *r) MUST_USE;

/*
 * Create a custom role: E_INPUT "invalid_key" (field key),
 * "separation_of_duties"; E_CONFLICT "duplicate_role" with the existing id
 * when the key is taken. *id_r gets the new id. All or nothing.
 */
err role_create(db *d, const struct role_input *in, int64_t *id_r) MUST_USE;

/*
 * Update a custom role. E_NOT_FOUND; E_CONFLICT "builtin_role" for a
 * built-in role; E_INPUT "separation_of_duties". The new permissions apply
 * to the role's users at their next request. All or nothing.
 */
err role_update(db *d, int64_t id, const struct role_input *in) MUST_USE;

/* Delete a custom role. E_NOT_FOUND; E_CONFLICT "builtin_role"; E_CONFLICT
 * "role_in_use" while users hold it. */
err role_delete(db *d, int64_t id) MUST_USE;

/*
 * A department (部门) belongs to a region and optionally to a parent
 * department whose region contains its own, so the department tree follows
 * the region tree and the caller's scope applies to it unchanged.
 */
struct department {
    int64_t id;
    int64_t parent_id;   /* 0: a root */
    int64_t region_code; /* padded */
    const char *name;
    const char *region_name;
    int64_t child_count; /* direct children */
    int64_t user_count;  /* accounts whose department it is */
    int64_t created_at, updated_at;
};

/* For an update, NULL name, region_code 0 and has_parent false leave the
 * stored value alone; has_parent with parent_id 0 makes it a root. */
struct department_input {
    const char *name;
    int64_t region_code; /* padded */
    bool has_parent;
    int64_t parent_id;
};

struct department_filter {
    int64_t region_code; /* 0: any; else that region's subtree */
    bool has_parent;     /* filter by parent_id (0: roots) */
    int64_t parent_id;
    const char *q;           /* name contains, or NULL */
    const char *sort;        /* name, region_code, created_at; "-" prefix: descending; NULL */
    int64_t page, page_size; /* page_size 0: every match (the tree) */
};

/*
 * Departments inside `scope` matching `f`, ordered by f->sort (default:
 * region code, then name). Allocated from `a`. *total_r gets the number of
 * matches. E_INPUT "invalid_parameter" (field sort) for an unknown sort.
 */
err department_list(db *d, arena *a, const struct scope *scope, const struct department_filter *f,
                    struct department **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* One department inside `scope`; E_NOT_FOUND otherwise (the same error for
 * an unknown id and another region's department). */
err department_find(db *d, arena *a, const struct scope *scope, int64_t id,
                    struct department *r) MUST_USE;

/*
 * Create a department. E_INPUT "invalid_name" (field name) for a blank name;
 * "invalid_region" (field region_code) when the region does not exist or is
 * outside scope; "invalid_parent" (field parent_id) when the parent is
 * unknown, outside scope, or its region does not contain the new
 * department's; E_CONFLICT "duplicate_department" (existing id) for a
 * sibling of the same name. *id_r gets the new id.
 */
err department_create(db *d, const struct scope *scope, const struct department_input *in,
                      int64_t *id_r) MUST_USE;

/*
 * Update a department inside `scope` (E_NOT_FOUND otherwise), with the
 * checks of create, plus E_INPUT "parent_cycle" (field parent_id) when the
 * new parent is the department or one of its descendants, and E_INPUT
 * "invalid_region" when a child's region would fall outside the new region.
 * All or nothing.
 */
err department_update(db *d, arena *a, const struct scope *scope, int64_t id,
                      const struct department_input *in) MUST_USE;

/* Delete a department inside `scope`. E_CONFLICT "department_in_use" while
 * it has child departments or accounts. Both take the caller's arena (the
 * request's) for what they read on the way. */
err department_delete(db *d, arena *a, const struct scope *scope, int64_t id) MUST_USE;

#endif
