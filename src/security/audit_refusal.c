/*
 * audit_refusal (security/audit.h): one policy, for every capability, for
 * which refused requests enter the audit log and with what result. Kept
 * apart from audit.c, which owns the chain and the writer.
 */
#include <string.h>

#include "security/audit.h"
#include "security/auth.h"

/* A wrong password or one-time code is answered 400 on its field (a form
 * error), yet it is an attempt at a credential: a refusal like a 401. */
static bool is_refusal(err e, const struct err_detail *d)
{
    switch (e) {
    case E_INPUT:
        return d->code == e && (!strcmp(d->slug, "bad_password") || !strcmp(d->slug, "bad_totp"));
    case E_AUTH:
    case E_FORBIDDEN:
    case E_NOT_FOUND:
    case E_CONFLICT:
    case E_LOCKED:
    case E_RATE:
        return true;
    default:
        return false;
    }
}

bool audit_is_refusal(err e)
{
    return is_refusal(e, err_last());
}

err audit_refusal(db *d, const struct principal *who, const char *ip, const char *action,
                  const char *object_type, int64_t object_id, err e, const char *detail)
{
    /* audit_log may fail and set its own detail: the caller's reply must
     * still carry the refusal's */
    struct err_detail saved = *err_last();
    if (!is_refusal(e, &saved))
        return e;
    bool own = saved.code == e && saved.slug[0];
    struct audit_entry a = {
        .user_id = who ? who->user_id : 0,
        .username = who ? who->username : "",
        .role = who ? who->roles : "",
        .ip = ip ? ip : "",
        .action = action,
        .object_type = object_type,
        .object_id = object_id,
        .result = own ? saved.slug : err_slug(e),
        .detail = detail,
    };
    /* a refusal that cannot be audited answers with that failure (503) */
    err ae = audit_log(d, &a);
    if (ae)
        return ae;
    if (saved.code != e || !memcmp(err_last(), &saved, sizeof saved))
        return e;
    if (saved.ref)
        return err_set_ref(e, saved.slug, saved.ref, "%s", saved.message);
    return err_set(e, saved.slug[0] ? saved.slug : NULL, saved.field[0] ? saved.field : NULL, "%s",
                   saved.message);
}
