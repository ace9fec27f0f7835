/*
 * Who is asking: passwords, sessions, second factor, SMS sign-in, and the
 * principal every request carries.
 *
 * Staff sign in with username + password (+ TOTP when their role requires it
 * or they enrolled). Residents sign in with phone + SMS code. Either way the
 * result is a random session token (32 bytes, hex) given to the client in an
 * HttpOnly SameSite=Strict Secure cookie; the database holds only its SM3
 * hash. Sessions expire after auth_config.session_idle_s without a request
 * and, in any case, auth_config.session_max_s after sign-in.
 *
 * Failed password sign-ins are counted per (account name, source address):
 * from the second failure in a row the pair must wait backoff_ms, doubling
 * with each failure, and max_failures lock the pair (not the account) for
 * lock_s, so a stranger cannot lock an administrator out from elsewhere.
 * Unknown names are counted and answered exactly like real ones. Each
 * source address also gets ip_attempts sign-in attempts a minute and
 * ip_failures failed ones an hour, whatever the names. SMS codes: 6
 * digits, valid sms_ttl_s; sms_max_tries wrong codes per phone per window
 * of sms_ttl_s, a resend keeping the count; one code per phone per
 * sms_resend_s,
 * sms_per_ip per hour per address, sms_phone_day per phone and sms_ip_day
 * per address a day.
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
    return perm == PERM_NONE || perm_set_has(p->perms, perm);
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

/* Zero fields take the default; a negative backoff_ms turns the slow-down
 * off (tests of other things). */
struct auth_config {
    int session_idle_s;     /* 1800 */
    int session_max_s;      /* 43200: absolute lifetime of a session */
    int max_failures;       /* 5 failures per (account, address) lock the pair */
    int lock_s;             /* 1800: how long; also how long failures are remembered */
    int backoff_ms;         /* 1000: wait after the 2nd failure, doubling, at most 60 s */
    int ip_attempts;        /* 30 sign-in attempts per minute per address */
    int ip_failures;        /* 100 failed sign-ins per hour per address */
    int sms_ttl_s;          /* 300 */
    int sms_max_tries;      /* 5 */
    int sms_per_ip;         /* 20 codes per hour per address */
    int sms_resend_s;       /* 60: one code per phone this often */
    int sms_phone_day;      /* 10 codes per day per phone */
    int sms_ip_day;         /* 50 codes per day per address */
    bool cookie_insecure;   /* omit Secure (plain HTTP other than localhost) */
    const char *sms_driver; /* "file" (default) or "http" */
    const char *sms_file;   /* file driver: where codes are appended */
    const char *sms_url;    /* http driver: the gateway URL */
};

/* Set the configuration (defaults apply to zero fields). Not thread-safe:
 * call once before serving. */
void auth_configure(const struct auth_config *c);
const struct auth_config *auth_get_config(void);

/* How the http SMS driver POSTs its JSON to sms_url: the outbound client
 * (http/client.h's http_client_post_json), a layer above this one, wired
 * by src/app.c. Unwired, the http driver fails (logged). */
typedef err (*auth_http_post_fn)(const char *url, const char *json, int timeout_s, int *status_r);
err auth_on_sms_http(auth_http_post_fn fn) MUST_USE;

#define TOKEN_HEX_LEN 64

/* argon2id hash in the PHC string format into out (>= 128 bytes), at the
 * cost of password_cost_set (default m=19456 KiB, t=2, p=1). */
err password_hash(const char *password, char *out, size_t outlen) MUST_USE;
bool password_verify(const char *encoded, const char *password);
/* The cost of new hashes (FK_PASSWORD_MEMORY_KIB, FK_PASSWORD_PASSES, read
 * by config_load for every command). false when below argon2's minimum.
 * A cost below the default is for test suites only: serve logs it at
 * start (password_cost_weak), and a sign-in re-hashes a password whose
 * stored cost differs from the configured one (password_needs_rehash), so
 * restoring the default upgrades every account at its next sign-in. */
bool password_cost_set(unsigned memory_kib, unsigned passes);
bool password_cost_weak(void);
bool password_needs_rehash(const char *encoded);
/* 8+ characters from at least 3 of: lower, upper, digit, other
 * (E_INPUT "weak_password"), and not in the list of common passwords
 * (E_INPUT "password_too_common"), both on `field`. */
err password_policy(const char *password, const char *field) MUST_USE;
/* Whether a password is on the shipped list of common passwords
 * (security/common_passwords.c), ignoring ASCII case. */
bool password_is_common(const char *password);

/*
 * Staff sign-in. On success writes the new session token (hex, NUL-
 * terminated) to token_r and fills *p_r. Errors: E_AUTH "bad_credentials"
 * (same for unknown user and wrong password), E_AUTH "totp_required" (field
 * "totp") when a code is needed and missing, E_AUTH "bad_totp", E_LOCKED
 * "account_locked" with the unlock time (the pair of name and address is
 * locked: the same for unknown names; or an administrator locked the
 * account, said only once the password is right), E_RATE "login_throttled"
 * while the pair must wait, E_RATE "rate_limited" for the address limits,
 * E_FORBIDDEN "console_login_forbidden" for a data-exchange account.
 */
err auth_login(db *d, const char *username, const char *password, const char *totp, const char *ip,
               char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r) MUST_USE;

/*
 * auth_login whose outcome is held for the caller's audit entry: the writes
 * that follow the password check (the failure count and a lock, or the
 * session) join a transaction held open (db/db.h: db_hold) that the caller
 * ends with db_release after appending the entry (commit for E_OK and for a
 * refusal, whose count must stay; roll back on a failure). The address's
 * rate count and the password hashing stay before it, so the database's
 * write lock is never held across argon2. Always call db_release after it.
 */
err auth_login_held(db *d, const char *username, const char *password, const char *totp,
                    const char *ip, char token_r[TOKEN_HEX_LEN + 1],
                    struct principal *p_r) MUST_USE;

/* The principal of a live session, refreshing its idle timer. E_AUTH
 * "session_expired" when unknown, idle too long or past session_max_s
 * (also E_AUTH "account_disabled"); any other error (E_DB…) means the
 * question could not be answered and must not be read as "no session". */
err auth_session_find(db *d, const char *token, struct principal *p_r) MUST_USE;

/* Load the principal of a user id (roles, permissions, scope). */
err auth_principal_load(db *d, int64_t user_id, struct principal *p_r) MUST_USE;

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
 * auth_changed once the transaction open on d ends (at once outside one):
 * what a change of users, roles, sessions or scopes calls, so that caches
 * reload, and open streams are re-checked, only when the change is visible
 * to other connections (a handler may hold the transaction past the
 * capability's commit for its audit entry: db_hold).
 */
void auth_changed_at_commit(db *d);

/*
 * Servers sharing one PostgreSQL database: auth_changed_at_commit also
 * NOTIFYs "fk_auth" at the commit, and auth_live_start makes this process
 * listen for it (and for gaps in listening), calling auth_changed when it
 * hears: a sign-out, a disabled account or an edited role on one server
 * drops the cached sessions and principals of every server, and ends or
 * re-checks their open streams, within the notification's delivery time
 * rather than AUTH_PRINCIPAL_TTL_MS and FK_STREAM_RECHECK. No-op on SQLite.
 */
err auth_live_start(const char *db_url) MUST_USE;

/*
 * Register fn to run (on the calling thread) after every auth_changed, that
 * is after any sign-out or account change in this process: http/ re-checks
 * its open streams. One hook; call before serving.
 * One subscriber: registering another function while one is set fails
 * (E_INTERNAL; the server refuses to start) rather than silently replacing
 * it; the same function again is a no-op, and NULL clears the slot.
 */
err auth_on_change(void (*fn)(void)) MUST_USE;

/*
 * Is the session of `token` still live, and with which principal? As
 * auth_session_find, but read-only and uncached: it neither refreshes the
 * idle timer (an open stream is not activity) nor trusts this thread's
 * caches. E_AUTH "session_expired" or "account_disabled" when it ended;
 * E_DB when the database failed (which ends nothing).
 */
err auth_session_check(db *d, const char *token, struct principal *p_r) MUST_USE;

err auth_logout(db *d, const char *token) MUST_USE;
/* Delete every session of a user (log out everywhere). */
err auth_logout_all(db *d, int64_t user_id) MUST_USE;

/* Change a password after checking the old one and the policy; ends the
 * user's other sessions (keeps `keep_token` if not NULL). */
err auth_change_password(db *d, int64_t user_id, const char *old_pw, const char *new_pw,
                         const char *keep_token) MUST_USE;

/* Administrator actions. */
err auth_set_password(db *d, int64_t user_id, const char *new_pw, bool must_change) MUST_USE;
/* Clears an administrator's lock and every (name, address) lock of the
 * account. */
err auth_unlock(db *d, int64_t user_id) MUST_USE;

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
                    char uri_r[256]) MUST_USE;
err auth_totp_confirm(db *d, int64_t user_id, const char *code) MUST_USE;
err auth_totp_reset(db *d, int64_t user_id) MUST_USE;
/* The current code of a base32 secret (tests and the demo tool). */
err totp_now(const char *secret_b32, char code_r[7]) MUST_USE;

/* Resident sign-in by phone: send a code, then exchange it for a session.
 * The phone's resident user is created at first successful sign-in. */
err auth_sms_send(db *d, const char *phone, const char *ip) MUST_USE;
err auth_sms_login(db *d, const char *phone, const char *code, const char *ip,
                   char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r) MUST_USE;

/* Prove a phone with the code auth_sms_send sent it, outside sign-in (a
 * form asking for a checked phone: the returning-staff declaration,
 * docs/enterprise.md). Spends one try as sign-in does, and a match is
 * consumed. E_INPUT "bad_sms_code" on `field` when wrong, used up or
 * expired (not E_AUTH: the caller's session is not in question). */
err auth_sms_verify(db *d, const char *phone, const char *code, const char *field) MUST_USE;

/* Delete sessions idle too long or past their lifetime, stale rate-limit
 * rows and spent sign-in failures (housekeeping). */
err auth_sweep(db *d) MUST_USE;

#endif
