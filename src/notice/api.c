/*
 * HTTP handlers of notices (notice.h; docs/community.md "Notices"):
 *
 *   GET   /api/v1/notices                  notices in scope (notice.read); all=1 with withdrawn
 *   POST  /api/v1/notices                  publish (notice.write), audited
 *   GET   /api/v1/notices/stream           live receipts in scope (notice.read, SSE): counts only
 *   GET   /api/v1/notices/{id}             one, with its body and attachments (notice.read)
 *   PATCH /api/v1/notices/{id}             edit title/body/pinned while unread (notice.write)
 *   POST  /api/v1/notices/{id}/withdraw    withdraw (notice.write)
 *   POST  /api/v1/notices/{id}/remind      remind the unread (notice.write)
 *   GET   /api/v1/notices/{id}/receipts    who read, who did not (notice.read): state=read|
 *                                          unread, building=<code>, paged; format=csv|xlsx
 *   GET   /api/v1/me/notices               a resident's notices, unread count
 *   GET   /api/v1/me/notices/{id}          open one (marks it read)
 *   GET   /api/v1/notices/{id}/attachments/{aid}     one attachment (notice.read)
 *   GET   /api/v1/me/notices/{id}/attachments/{aid}  one, for a recipient
 *   GET   /api/v1/notices/{id}/images/{aid}          an image of its body (notice.read)
 *   GET   /api/v1/me/notices/{id}/images/{aid}       the same, for a recipient
 *
 * The attachments are served by the notice's routes (attach_read_owned,
 * owner "notice") to whoever may read the notice: the attach module's own
 * reading rule admits only the uploader and case staff, not residents.
 * So are the images of the body (notice.h "Images in a body", owner
 * "notice_image"), onto which every reply rebases the body.
 *
 * Receipts name people: masked, and each read audited like any list of
 * people. A notice outside the caller's scope, or not addressed to the
 * resident, is 404 with the refusal audited.
 */
#include <string.h>

#include "app.h"
#include "attach/attach.h"
#include "base/regcode.h"
#include "base/id.h"
#include "http/export.h"
#include "http/write.h"
#include "notice/notice.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"

/* ---- input ---- */

static err title_of(struct req *r, const char **title_r)
{
    const char *t = json_str(r->body, "title");
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n)
        return err_set(E_INPUT, "required", "title", "请填写通知标题");
    *title_r = arena_strndup(r->a, t, n);
    return E_OK;
}

static const struct jfield publish_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "发布范围", NULL, NULL},
    {"audience", J_STRING, JF_REQUIRED, 0, 0, "通知对象", NULL, &notice_audience_vocab},
    {"vulnerable", J_STRING, JF_NULLABLE, 0, 0, "重点人群", NULL, NULL},
    {"title", J_STRING, JF_REQUIRED, 1, NOTICE_TITLE_MAX, "标题", NULL, NULL},
    {"body", J_STRING, JF_REQUIRED, 1, 262144, "内容", NULL, NULL},
    {"pinned", J_BOOL, 0, 0, 0, "置顶", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "附件", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield edit_body[] = {
    {"title", J_STRING, JF_REQUIRED, 1, NOTICE_TITLE_MAX, "标题", NULL, NULL},
    {"body", J_STRING, JF_REQUIRED, 1, 262144, "内容", NULL, NULL},
    {"pinned", J_BOOL, 0, 0, 0, "置顶", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

#define STAFF_ROUTE "/api/v1/notices"
#define MINE_ROUTE  "/api/v1/me/notices"

/* full: a publication; else an edit of notice id, whose body may come back
 * with its images rebased */
static err input_of(struct req *r, bool full, int64_t id, struct notice_input *in)
{
    err e;
    memset(in, 0, sizeof *in);
    if (full) {
        enum region_level lv;
        in->region_code = regcode_parse(json_str(r->body, "region_code"), &lv);
        if (in->region_code <= 0)
            return err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
        in->audience = (enum notice_audience)vocab_parse(&notice_audience_vocab,
                                                         json_str(r->body, "audience"));
        const char *v = json_str(r->body, "vulnerable");
        if (in->audience == NOTICE_VULNERABLE) {
            in->vulnerable = v ? vulnerable_parse(v) : 0;
            if (!in->vulnerable)
                return err_set(E_INPUT, v ? "invalid_value" : "required", "vulnerable",
                               "请选择重点人群类别");
        } else if (v) {
            return err_set(E_INPUT, "invalid_value", "vulnerable", "仅重点人群通知可选择人群类别");
        }
    }
    if ((e = title_of(r, &in->title)))
        return e;
    const char *raw = json_str(r->body, "body");
    if (!full)
        raw = body_image_unbase(r->a, raw, STAFF_ROUTE, id);
    if ((e = notice_body_clean(r->a, raw, &in->body)))
        return e;
    in->pinned = json_bool(r->body, "pinned", false);
    return E_OK;
}

/* ---- staff ---- */

static err list_notices(struct req *r)
{
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    const char *all = req_query(r, "all");
    if (all && *all && strcmp(all, "0") && strcmp(all, "1"))
        return err_set(E_INPUT, "invalid_parameter", "all", "all 只能为 0 或 1");
    struct notice_filter f = {
        .with_withdrawn = all && *all == '1', .page = page, .page_size = size};
    struct notice *items;
    size_t n;
    int64_t total;
    if ((e = notice_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, notice_json(&items[i], false));
    return reply_page(r, arr, total, page, size);
}

static err detail_reply(struct req *r, int status, const struct notice *n)
{
    json_t *atts;
    err e = attach_list(r->db, "notice", n->id, &atts);
    if (e)
        return e;
    struct notice shown = *n;
    shown.body = body_image_rebase(r->a, n->body, STAFF_ROUTE, n->id);
    json_t *o = notice_json(&shown, true);
    json_object_set_new(o, "attachments", atts);
    return reply_json(r, status, o);
}

static err post_notice(struct req *r)
{
    struct notice_input in;
    struct notice n = {0};
    err e = input_of(r, true, 0, &in);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = notice_publish(r->db, r->a, r->who, &in, &n);
        if (!e)
            e = attach_claim_all(r->db, r->who, json_object_get(r->body, "attachments"), "notice",
                                 n.id, n.region_code);
        if (!e)
            e = body_image_sync(r->db, r->who, in.body, "notice_image", n.id, n.region_code);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "notice.publish", "notice", n.id,
                            arena_printf(r->a, "recipients=%lld", (long long)n.recipients))))
        return e;
    return detail_reply(r, 201, &n);
}

/* the notice {id} in scope, a refusal audited as `action` */
static err find_or_refuse(struct req *r, const char *action, struct notice *n_r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = notice_find(r->db, r->a, &r->who->scope, id, n_r)))
        return audit_refusal(r->db, r->who, r->ip, action, "notice", id, e, NULL);
    return E_OK;
}

static err get_notice(struct req *r)
{
    struct notice n;
    err e = find_or_refuse(r, "notice.read", &n);
    return e ? e : detail_reply(r, 200, &n);
}

static err patch_notice(struct req *r)
{
    struct notice_input in;
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e || (e = input_of(r, false, id, &in)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        struct notice n;
        e = notice_edit(r->db, &r->who->scope, id, &in, now_ms());
        if (!e)
            e = notice_find(r->db, r->a, &r->who->scope, id, &n);
        if (!e)
            e = body_image_sync(r->db, r->who, in.body, "notice_image", id, n.region_code);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "notice.edit", "notice", id, req_body_fields(r))))
        return e;
    struct notice n;
    if ((e = notice_find(r->db, r->a, &r->who->scope, id, &n)))
        return e;
    return detail_reply(r, 200, &n);
}

static err post_withdraw(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, notice_withdraw(r->db, &r->who->scope, id, now_ms()));
    if ((e = req_write_done(r, e, "notice.withdraw", "notice", id, NULL)))
        return e;
    struct notice n;
    if ((e = notice_find(r->db, r->a, &r->who->scope, id, &n)))
        return e;
    return reply_json(r, 200, notice_json(&n, false));
}

static err post_remind(struct req *r)
{
    int64_t id, reminded = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, notice_remind(r->db, &r->who->scope, id, now_ms(), &reminded));
    if ((e = req_write_done(r, e, "notice.remind", "notice", id,
                            arena_printf(r->a, "reminded=%lld", (long long)reminded))))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "reminded", json_integer(reminded));
    return reply_json(r, 200, o);
}

static err receipt_filter(struct req *r, const struct notice *n, struct notice_receipt_filter *f)
{
    const char *st = req_query(r, "state");
    if (!st || !*st || !strcmp(st, "all"))
        f->state = RECEIPT_ANY;
    else if (!strcmp(st, "read"))
        f->state = RECEIPT_READ;
    else if (!strcmp(st, "unread"))
        f->state = RECEIPT_UNREAD;
    else
        return err_set(E_INPUT, "invalid_parameter", "state", "state 只能为 read、unread 或 all");
    const char *b = req_query(r, "building");
    if (b && *b) {
        enum region_level lv;
        f->building = regcode_parse(b, &lv);
        if (f->building <= 0)
            return err_set(E_INPUT, "invalid_region", "building", "区划代码格式不正确");
        /* a building of the notice's region, or a region around it */
        struct scope ns = scope_of(n->region_code), bs = scope_of(f->building);
        if (!scope_has(&ns, f->building) && !scope_has(&bs, n->region_code))
            return err_set(E_INPUT, "invalid_region", "building", "楼栋不在通知范围内");
    }
    return E_OK;
}

static err get_receipts(struct req *r)
{
    struct notice n;
    enum export_format fmt;
    struct notice_receipt_filter f = {0};
    err e = req_export_format(r, &fmt);
    if (e || (e = find_or_refuse(r, "notice.receipts", &n)) || (e = receipt_filter(r, &n, &f)))
        return e;
    if (fmt == EXPORT_NONE && (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    if (fmt != EXPORT_NONE)
        f.page_size = 0;
    struct notice_receipt *items;
    size_t cnt;
    int64_t total;
    if ((e = notice_receipts(r->db, r->a, n.id, &f, &items, &cnt, &total)))
        return e;
    req_audit(r, fmt == EXPORT_NONE ? "notice.receipts" : "notice.receipts.export", "notice", n.id,
              "ok", arena_printf(r->a, "rows=%zu", cnt));
    if (fmt != EXPORT_NONE) {
        struct export_out x;
        static const char *const head[] = {"姓名", "楼栋", "状态", "阅读时间", "提醒时间"};
        if ((e = export_begin(r, &x, fmt, "阅读回执", head, 5)))
            return e;
        for (size_t i = 0; i < cnt; i++) {
            export_text(&x, mask_name(r->a, items[i].name ? items[i].name : ""));
            export_text(&x, items[i].building);
            export_text(&x, items[i].read_at ? "已读" : "未读");
            if (items[i].read_at)
                export_time(&x, items[i].read_at);
            else
                export_text(&x, "");
            if (items[i].reminded_at)
                export_time(&x, items[i].reminded_at);
            else
                export_text(&x, "");
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "notice-receipts");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < cnt; i++) {
        json_t *o = json_object();
        json_set_id(o, "person_id", items[i].person_id);
        json_object_set_new(o, "name",
                            json_string(mask_name(r->a, items[i].name ? items[i].name : "")));
        json_set_region(o, items[i].region_code, items[i].building);
        json_object_set_new(o, "read", json_boolean(items[i].read_at > 0));
        json_object_set_new(o, "read_at",
                            items[i].read_at ? json_integer(items[i].read_at) : json_null());
        json_object_set_new(o, "reminded_at",
                            items[i].reminded_at ? json_integer(items[i].reminded_at)
                                                 : json_null());
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, f.page, f.page_size);
}

/* ---- residents ---- */

static err resident_person(struct req *r, int64_t *person_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    *person_r = r->who->person_id; /* 0 before real-name binding: no notice has them */
    return E_OK;
}

static err get_mine(struct req *r)
{
    int64_t person = 0;
    err e = resident_person(r, &person);
    if (e)
        return e;
    struct notice *items = NULL;
    size_t n = 0;
    int64_t unread = 0;
    if (person && (e = notice_mine(r->db, r->a, person, &items, &n, &unread)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, notice_mine_json(r->a, &items[i], false));
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "total", json_integer((json_int_t)n));
    json_object_set_new(o, "unread", json_integer(unread));
    return reply_json(r, 200, o);
}

static err get_mine_one(struct req *r)
{
    int64_t person = 0, id;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    struct notice n;
    bool first = false;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, notice_open(r->db, r->a, person, id, now_ms(), &n, &first));
    if ((e = req_write_done(r, e, "notice.open", "notice", id, first ? "first" : "again")))
        return e;
    json_t *atts;
    if ((e = attach_list(r->db, "notice", n.id, &atts)))
        return e;
    n.body = body_image_rebase(r->a, n.body, MINE_ROUTE, n.id);
    json_t *o = notice_mine_json(r->a, &n, true);
    json_object_set_new(o, "attachments", atts);
    return reply_json(r, 200, o);
}

/* The receipt events of the notices in the caller's scope (live.c): ids
 * and counts, nothing to replay (a drawer re-reads its list on opening). */
static err get_stream(struct req *r)
{
    /* audited before anything is sent: a stream that cannot be audited
     * does not open (req_stream_open refuses) */
    req_audit(r, "notice.stream", "notice", 0, "ok", NULL);
    return req_stream_open(r, NOTICE_STREAM, &r->who->scope, 0);
}

/* attachment {aid} of notice id, audited as read by who the caller is */
static err attachment_reply(struct req *r, int64_t id, const char *action)
{
    int64_t aid;
    err e = req_param_id(r, 1, &aid);
    if (e)
        return e;
    const char *mime;
    const void *bytes;
    size_t n;
    if ((e = attach_read_owned(r->db, r->a, aid, "notice", id, &mime, &bytes, &n)))
        return e;
    req_audit(r, action, "notice", id, "ok", arena_printf(r->a, "attachment=%lld", (long long)aid));
    if ((e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    r->disposition = "inline";
    r->cache_control = "private, no-store";
    return E_OK;
}

static err get_attachment(struct req *r)
{
    struct notice n;
    err e = find_or_refuse(r, "notice.attachment", &n);
    return e ? e : attachment_reply(r, n.id, "notice.attachment");
}

static err get_mine_attachment(struct req *r)
{
    int64_t person = 0, id;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)) || (e = notice_addressed(r->db, person, id)))
        return e;
    return attachment_reply(r, id, "notice.attachment");
}

/* image {aid} of notice id's body: only one the body shows */
static err image_reply(struct req *r, int64_t id, const char *body)
{
    int64_t aid;
    err e = req_param_id(r, 1, &aid);
    if (e)
        return e;
    if (!body_image_has(body, aid))
        return err_set(E_NOT_FOUND, "not_found", "aid", "图片不存在");
    const char *mime;
    const void *bytes;
    size_t n;
    if ((e = attach_read_owned(r->db, r->a, aid, "notice_image", id, &mime, &bytes, &n)) ||
        (e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    r->disposition = "inline";
    r->cache_control = "private, max-age=300";
    return E_OK;
}

static err get_image(struct req *r)
{
    struct notice n;
    err e = find_or_refuse(r, "notice.read", &n);
    return e ? e : image_reply(r, n.id, n.body);
}

static err get_mine_image(struct req *r)
{
    int64_t person = 0, id;
    const char *body;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)) || (e = notice_addressed(r->db, person, id)) ||
        (e = notice_body_of(r->db, r->a, id, &body)))
        return e;
    return image_reply(r, id, body);
}

const struct route notice_routes[] = {
    {M_GET, "/api/v1/notices", list_notices, PERM_NOTICE_READ, 0, NULL,
     "辖区内通知（all=1 含已撤回）", "notice", 0},
    {M_POST, "/api/v1/notices", post_notice, PERM_NOTICE_WRITE, 0, publish_body,
     "发布通知（对象在发布时确定，生成阅读回执）", "notice", 300000},
    /* before {id}: the first pattern that matches wins */
    {M_GET, "/api/v1/notices/stream", get_stream, PERM_NOTICE_READ, ROUTE_STREAM, NULL,
     "通知阅读回执实时推送（Server-Sent Events，仅含计数）", "notice", 0},
    {M_GET, "/api/v1/notices/{id}", get_notice, PERM_NOTICE_READ, 0, NULL, "通知详情", "notice", 0},
    {M_PATCH, "/api/v1/notices/{id}", patch_notice, PERM_NOTICE_WRITE, 0, edit_body,
     "修改通知（尚无人阅读时）", "notice", 300000},
    {M_POST, "/api/v1/notices/{id}/withdraw", post_withdraw, PERM_NOTICE_WRITE, 0, NULL, "撤回通知",
     "notice", 0},
    {M_POST, "/api/v1/notices/{id}/remind", post_remind, PERM_NOTICE_WRITE, 0, NULL, "提醒未读居民",
     "notice", 0},
    {M_GET, "/api/v1/notices/{id}/receipts", get_receipts, PERM_NOTICE_READ, 0, NULL,
     "阅读回执（state=read|unread，building 筛选，format=csv|xlsx 导出）", "notice", 0},
    {M_GET, "/api/v1/me/notices", get_mine, PERM_SELF, 0, NULL, "我的通知（置顶在前，标记未读）",
     "notice", 0},
    {M_GET, "/api/v1/me/notices/{id}", get_mine_one, PERM_SELF, 0, NULL, "阅读通知（标记已读）",
     "notice", 0},
    {M_GET, "/api/v1/notices/{id}/attachments/{aid}", get_attachment, PERM_NOTICE_READ, 0, NULL,
     "通知附件", "notice", 0},
    {M_GET, "/api/v1/me/notices/{id}/attachments/{aid}", get_mine_attachment, PERM_SELF, 0, NULL,
     "通知附件（收到通知的居民）", "notice", 0},
    {M_GET, "/api/v1/notices/{id}/images/{aid}", get_image, PERM_NOTICE_READ, 0, NULL,
     "通知正文中的图片", "notice", 0},
    {M_GET, "/api/v1/me/notices/{id}/images/{aid}", get_mine_image, PERM_SELF, 0, NULL,
     "通知正文中的图片（收到通知的居民）", "notice", 0},
};
const size_t notice_routes_n = sizeof notice_routes / sizeof notice_routes[0];
