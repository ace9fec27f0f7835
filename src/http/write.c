/* The steps every write handler repeats (http/write.h). */
#include "http/write.h"

#include "security/audit.h"

err req_tx_end(struct req *r, err e)
{
    if (e) {
        db_rollback(r->db);
        return e;
    }
    return db_commit(r->db);
}

err req_write_done(struct req *r, err e, const char *action, const char *type, int64_t id,
                   const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, type, id, e, detail);
    }
    req_audit(r, action, type, id, "ok", detail);
    return db_release(r->db, true);
}

const char *req_body_fields(struct req *r)
{
    const char *out = "fields=";
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach(r->body, key, v)
    {
        out = arena_printf(r->a, "%s%s%s", out, first ? "" : ",", key);
        first = false;
    }
    return out;
}
