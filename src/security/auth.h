/*
 * Who is asking: passwords, sessions, second factor, SMS sign-in, and the
 * principal every request carries.
 *
 * Staff sign in with username + password (+ TOTP when their role requires it
 * or they enrolled). Residents sign in with phone + SMS code. Either way the
 * result is a random session token (32 bytes, hex) given to the client in an
 * HttpOnly SameSite=Strict cookie; the database holds only its SM3 hash.
 * Sessions expire after auth_config.session_idle_s without a request.
 *
 * Failed password sign-ins: auth_config.max_failures in a row lock the
 * account for auth_config.lock_s; independently each source address gets
 * auth_config.ip_attempts per minute. SMS codes: 6 digits, valid
 * sms_ttl_s, sms_max_tries attempts, one code per phone per minute and
 * sms_per_ip per hour per address.
 */
#ifndef FK_SECURITY_AUTH_H
#define FK_SECURITY_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "security/rbac.h"

struct scope {
    int64_t lo, hi; /* padded region codes: lo <= code < hi */
};

/* The subtree of a padded region code. */
struct scope scope_of(int64_t region_code);
/* Every region: for callers acting for the deployment itself (command-line
 * tools, the demo), never for a request. */
struct scope scope_all(void);
bool scope_has(const struct scope *s, int64_t region_code);

struct principal {
    int64_t user_id;
    int64_t person_id;   /* residents: their person record, 0 if none yet */
    int64_t region_code; /* padded */
    struct scope scope;
    perm_set perms;
    bool resident;
    bool must_change_password;
    bool totp_enabled;
    bool totp_required; /* a role demands it */
    char username[64];  /* staff login name, or masked phone for residents */
    char display_name[64];
    char roles[192]; /* comma-separated role keys, for audit and /me */
};

static inline bool principal_can(const struct principal *p, enum perm perm)
{
    return perm == PERM_NONE || (p->perms & PERM_BIT(perm)) != 0;
}

/*
 * A step the principal must complete before doing anything else: the
 * password change an administrator asked for, then enrolment of the second
 * factor one of its roles demands. Until then the router admits it only to
 * the routes flagged ROUTE_PENDING_OK (its own account and signing out).
 */
enum auth_pending { AUTH_PENDING_NONE = 0, AUTH_PENDING_PASSWORD, AUTH_PENDING_TOTP };

static inline enum auth_pending auth_pending(const struct principal *p)
{
    if (p->must_change_password)
        return AUTH_PENDING_PASSWORD;
    if (p->totp_required && !p->totp_enabled)
        return AUTH_PENDING_TOTP;
    return AUTH_PENDING_NONE;
}

struct auth_config {
    int session_idle_s;     /* 1800 */
    int max_failures;       /* 5 */
    int lock_s;             /* 1800 */
    int ip_attempts;        /* 30 sign-in attempts per minute per address */
    int sms_ttl_s;          /* 300 */
    int sms_max_tries;      /* 5 */
    int sms_per_ip;         /* 20 codes per hour per address */
    const char *sms_driver; /* "file" (default) or "http" */
    const char *sms_file;   /* file driver: where codes are appended */
    const char *sms_url;    /* http driver: the gateway URL */
};

/* Set the configuration (defaults apply to zero fields). Not thread-safe:
 * call once before serving. */
void auth_configure(const struct auth_config *c);
const struct auth_config *auth_get_config(void);

#define TOKEN_HEX_LEN 64

/* argon2id hash in the PHC string format into out (>= 128 bytes). */
err password_hash(const char *password, char *out, size_t outlen);
bool password_verify(const char *encoded, const char *password);
/* 8+ characters from at least 3 of: lower, upper, digit, other. */
err password_policy(const char *password, const char *field);

/*
 * Staff sign-in. On success writes the new session token (hex, NUL-
 * terminated) to token_r and fills *p_r. Errors: E_AUTH "bad_credentials"
 * (same for unknown user and wrong password), E_AUTH "totp_required" (field
 * "totp") when a code is needed and missing, E_AUTH "bad_totp", E_LOCKED
 * with the unlock time in the message, E_RATE for the address limit.
 */
err auth_login(db *d, const char *username, const char *password, const char *totp, const char *ip,
               char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r);

/* The principal of a live session, refreshing its idle timer. E_AUTH
 * "session_expired" when unknown or idle too long. */
err auth_session_find(db *d, const char *token, struct principal *p_r);

/* Load the principal of a user id (roles, permissions, scope). */
err auth_principal_load(db *d, int64_t user_id, struct principal *p_r);

/*
 * auth_session_find keeps sessions and principals in small per-thread
 * caches, so a request usually costs no query at all (at most one a second
 * per session and thread, and one when the session's last use is written
 * back). Call auth_changed after committing any change to users, roles,
 * user_roles or role_permissions: this process then reloads at the next
 * request (deleted sessions do it themselves). Changes made by another
 * process (a second instance, a command-line tool) are seen within
 * AUTH_PRINCIPAL_TTL_MS.
 */
#define AUTH_PRINCIPAL_TTL_MS 1000
void auth_changed(void);

/*
 * Register fn to run (on the calling thread) after every auth_changed, that
 * is after any sign-out or account change in this process: http/ re-checks
 * its open streams. One hook; call before serving.
 */
void auth_on_change(void (*fn)(void));

/*
 * Is the session of `token` still live, and with which principal? As
 * auth_session_find, but read-only and uncached: it neither refreshes the
 * idle timer (an open stream is not activity) nor trusts this thread's
 * caches. E_AUTH "session_expired" or "account_disabled" when it ended;
 * E_DB when the database failed (which ends nothing).
 */
err auth_session_check(db *d, const char *token, struct principal *p_r);

err auth_logout(db *d, const char *token);
/* Delete every session of a user (log out everywhere). */
err auth_logout_all(db *d, int64_t user_id);

/* Change a password after checking the old one and the policy; ends the
 * user's other sessions (keeps `keep_token` if not NULL). */
err auth_change_password(db *d, int64_t user_id, const char *old_pw, const char *new_pw,
                         const char *keep_token);

/* Administrator actions. */
err auth_set_password(db *d, int64_t user_id, const char *new_pw, bool must_change);
err auth_unlock(db *d, int64_t user_id);

/* users.locked_until of an account an administrator locked: until unlocked
 * (9999-12-31T23:59:59.999Z). */
#define AUTH_LOCKED_FOREVER INT64_C(253402300799999)

/*
 * TOTP (RFC 6238, 30 s, 6 digits, SHA-1 as authenticator apps expect).
 * Enrolment: auth_totp_begin stores a new secret (sealed) not yet enabled
 * and returns its base32 form and otpauth:// URI; auth_totp_confirm enables
 * it when the user proves a code. auth_totp_reset disables it.
 */
err auth_totp_begin(db *d, int64_t user_id, const char *account, char secret_b32_r[64],
                    char uri_r[256]);
err auth_totp_confirm(db *d, int64_t user_id, const char *code);
err auth_totp_reset(db *d, int64_t user_id);
/* The current code of a base32 secret (tests and the demo tool). */
err totp_now(const char *secret_b32, char code_r[7]);

/* Resident sign-in by phone: send a code, then exchange it for a session.
 * The phone's resident user is created at first successful sign-in. */
err auth_sms_send(db *d, const char *phone, const char *ip);
err auth_sms_login(db *d, const char *phone, const char *code, const char *ip,
                   char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r);

/* Delete sessions idle too long and stale rate-limit rows (housekeeping). */
err auth_sweep(db *d);

#endif
