/*
 * HTTP handlers of attachments (attach.h):
 *
 *   POST /api/v1/attachments           the file as the raw body, its type in Content-Type:
 *                                      201 {id, mime, class, size}
 *   GET  /api/v1/attachments/{id}      the bytes, with their type, shown inline
 *   GET  /api/v1/attachments/{id}/meta {id, mime, class, size, sm3, created_at, claimed}
 *
 * Uploading is for whoever may report: residents (self), staff who file
 * reports (case.report) or record checks (check.write). The router holds
 * one permission per route, so the route asks for a session and the
 * handler for one of the three.
 */
#include <stdio.h>

#include "app.h"
#include "attach/attach.h"
#include "base/id.h"
#include "security/audit.h"
#include "security/crypto.h"

/* `self` counts for residents only: staff roles that hold it (enterprise
 * accounts) have no self-service (person/self_api.c, residents_only). */
static err may_upload(const struct principal *who)
{
    if ((who->resident && principal_can(who, PERM_SELF)) || principal_can(who, PERM_CASE_REPORT) ||
        principal_can(who, PERM_CHECK_WRITE))
        return E_OK;
    return err_set(E_FORBIDDEN, NULL, NULL, NULL);
}

static err post_attachment(struct req *r)
{
    size_t n = 0;
    const char *body = req_raw_body(r, &n);
    err e = may_upload(r->who);
    /* outside the upload's transaction: a refused upload still counts */
    if (e || (e = attach_rate_check(r->db, r->who, n, now_ms())))
        return audit_refusal(r->db, r->who, r->ip, "attachment.upload", "attachment", 0, e, NULL);
    const char *claimed = req_header(r, "Content-Type");
    int64_t id;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = attach_put(r->db, r->who, claimed ? claimed : "", body, n, &id))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    const char *mime;
    enum attach_class c;
    err_ignore(attach_sniff(body, n, claimed, &mime, &c)); /* passed in attach_put */
    char detail[64];
    snprintf(detail, sizeof detail, "class=%s size=%zu", attach_class_name(c), n);
    req_audit(r, "attachment.upload", "attachment", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    json_object_set_new(o, "mime", json_string(mime));
    json_object_set_new(o, "class", json_string(attach_class_name(c)));
    json_object_set_new(o, "size", json_integer((json_int_t)n));
    return reply_json(r, 201, o);
}

static err get_attachment(struct req *r)
{
    int64_t id;
    const char *mime;
    const void *bytes;
    size_t n;
    err e = req_param_id(r, 0, &id);
    if (e || (e = attach_get(r->db, r->a, r->who, id, &mime, &bytes, &n)))
        return audit_refusal(r->db, r->who, r->ip, "attachment.read", "attachment", id, e, NULL);
    req_audit(r, "attachment.read", "attachment", id, "ok", NULL);
    if ((e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    /* shown in the page, never cached (personal data), never sniffed into
     * another type by the browser (nosniff: every reply) */
    r->disposition = "inline";
    r->cache_control = "private, no-store";
    return E_OK;
}

static err get_attachment_meta(struct req *r)
{
    int64_t id;
    struct attach_meta m;
    err e = req_param_id(r, 0, &id);
    if (e || (e = attach_meta(r->db, r->who, id, &m)))
        return audit_refusal(r->db, r->who, r->ip, "attachment.read", "attachment", id, e,
                             "view=meta");
    req_audit(r, "attachment.read", "attachment", id, "ok", "view=meta");
    char hex[2 * sizeof m.sm3 + 1];
    hex_encode(m.sm3, sizeof m.sm3, hex);
    json_t *o = json_object();
    json_set_id(o, "id", m.id);
    json_object_set_new(o, "mime", json_string(m.mime));
    json_object_set_new(o, "class", json_string(attach_class_name(m.class)));
    json_object_set_new(o, "size", json_integer(m.size));
    json_object_set_new(o, "sm3", json_string(hex));
    json_object_set_new(o, "created_at", json_integer(m.created_at));
    json_object_set_new(o, "claimed", json_boolean(m.owner_kind[0] != '\0'));
    json_object_set_new(o, "mine", json_boolean(m.uploader_id == r->who->user_id));
    return reply_json(r, 200, o);
}

const struct route attach_routes[] = {
    {M_POST, "/api/v1/attachments", post_attachment, PERM_NONE, ROUTE_RAW_BODY, NULL,
     "上传附件（图片、音频、视频；请求体为文件本身，Content-Type 为其类型）", "attachment",
     ATTACH_VIDEO_MAX},
    {M_GET, "/api/v1/attachments/{id}", get_attachment, PERM_NONE, 0, NULL,
     "读取附件内容（上传者本人或管辖范围内的工作人员）", "attachment", 0},
    {M_GET, "/api/v1/attachments/{id}/meta", get_attachment_meta, PERM_NONE, 0, NULL,
     "附件信息（类型、大小、SM3 摘要）", "attachment", 0},
};
const size_t attach_routes_n = sizeof attach_routes / sizeof attach_routes[0];
