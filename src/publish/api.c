/*
 * HTTP handlers of publishing in the console (publish.h, docs/publish.md):
 *
 *   GET   /api/v1/publish/templates              the templates and their starting blocks
 *   GET   /api/v1/publications?state=             publications in scope (edit or approve)
 *   POST  /api/v1/publications                    a new draft {template, title, region_code?,
 *                                                 blocks?}
 *   GET   /api/v1/publications/{id}               one, with its blocks
 *   PATCH /api/v1/publications/{id}               {title?, blocks?}: a draft again
 *   DELETE /api/v1/publications/{id}              one the public does not see (409 while live)
 *   GET   /api/v1/publications/{id}/preview       {snapshot, html}: as the public would see it
 *   POST  /api/v1/publications/{id}/submit        draft → pending
 *   POST  /api/v1/publications/{id}/approve       pending → published, version n+1 (not by
 *                                                 the submitter: 403 self_approval)
 *   POST  /api/v1/publications/{id}/reject        pending → draft {note?}
 *   POST  /api/v1/publications/{id}/withdraw      the live version off the public page
 *   GET   /api/v1/publications/{id}/versions      every approved version
 *   POST  /api/v1/feed-items/batch                {items: [{kind, title, link, guid?,
 *                                                 summary?, source?, published_at?}]}
 *   POST  /api/v1/feed-items/import?kind=news     an RSS 2.0 or Atom document (raw body)
 *   GET   /api/v1/feed-items?state=               feed items in scope
 *   POST  /api/v1/feed-items/{id}/approve|reject
 *
 * Writing needs publish.edit, deciding publish.approve; reading either.
 * Every change of state is audited with its outcome, refusals included.
 * Nothing here is personal data: titles, texts and counts.
 */
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "publish/internal.h"
#include "publish/publish.h"
#include "security/audit.h"

#define FEED_IMPORT_MAX_BODY (4u << 20)

/* Readers of the console's lists hold one of the two permissions. */
static err may_read(struct req *r, const char *action)
{
    if (principal_can(r->who, PERM_PUBLISH_EDIT) || principal_can(r->who, PERM_PUBLISH_APPROVE))
        return E_OK;
    err e = err_set(E_FORBIDDEN, "forbidden", NULL, "没有查看信息发布的权限");
    return audit_refusal(r->db, r->who, r->ip, action, "publication", 0, e, NULL);
}

/*
 * End a held change (db_hold before it) of `object` id: on success its
 * audit entry joins the change's transaction, which then commits; on
 * failure the change is undone and a refusal audited. Returns the outcome.
 */
static err finish(struct req *r, err e, const char *action, const char *object, int64_t id,
                  const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, object, id, e, detail);
    }
    req_audit(r, action, object, id, "ok", detail);
    return db_release(r->db, true);
}

static err reply_publication(struct req *r, int status, int64_t id)
{
    struct publication p;
    err e = publish_find(r->db, r->a, &r->who->scope, id, &p);
    if (e)
        return e;
    json_t *o = publish_json(&p);
    json_decref(p.blocks);
    return reply_json(r, status, o);
}

static err get_templates(struct req *r)
{
    json_t *items = json_array();
    for (size_t t = 1; t < publish_template_vocab.n; t++) {
        const char *label = vocab_label(&publish_template_vocab, t);
        json_array_append_new(
            items,
            json_pack("{s:s,s:s,s:o}", "name", vocab_name(&publish_template_vocab, t), "label",
                      label, "blocks", publish_template_blocks((enum publish_template)t, label)));
    }
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static err get_list(struct req *r)
{
    err e = may_read(r, "publish.list");
    int64_t page, size;
    if (e || (e = req_paging(r, &page, &size)))
        return e;
    const char *s = req_query(r, "state");
    int state = 0;
    if (s && (state = vocab_parse(&publish_state_vocab, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "状态的取值不正确");
    json_t *items;
    int64_t total;
    if ((e = publish_list(r->db, r->a, &r->who->scope, (enum publish_state)state, page, size,
                          &items, &total)))
        return e;
    return reply_page(r, items, total, page, size);
}

static const struct jfield create_fields[] = {
    {"template", J_STRING, JF_REQUIRED, 0, 0, "模板", NULL, &publish_template_vocab},
    {"title", J_STRING, JF_REQUIRED, 1, PUBLISH_TITLE_MAX, "标题", NULL, NULL},
    {"region_code", J_STRING, 0, 0, 20, "区划", NULL, NULL},
    {"blocks", J_ARRAY, 0, 0, 0, "内容块", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err check_title(const char *title)
{
    return title ? check_text(title, "title", "标题", PUBLISH_TITLE_MAX,
                              TEXT_REQUIRED | TEXT_ONE_LINE)
                 : E_OK;
}

static err post_create(struct req *r)
{
    const char *title = json_str(r->body, "title"), *code = json_str(r->body, "region_code");
    json_t *blocks = json_object_get(r->body, "blocks");
    int64_t region = r->who->scope.lo;
    enum region_level lv;
    err e = check_title(title);
    if (!e && code && (region = regcode_parse(code, &lv)) <= 0)
        e = err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    if (!e && blocks)
        e = publish_blocks_check(blocks);
    if (e)
        return e;
    enum publish_template t =
        (enum publish_template)vocab_parse(&publish_template_vocab, json_str(r->body, "template"));
    int64_t id = 0;
    db_hold(r->db);
    e = publish_create(r->db, r->a, r->who, region, t, title, blocks, &id);
    if ((e = finish(r, e, "publish.create", "publication", id,
                    arena_printf(r->a, "template=%s", vocab_name(&publish_template_vocab, t)))))
        return e;
    return reply_publication(r, 201, id);
}

static err get_one(struct req *r)
{
    int64_t id;
    err e = may_read(r, "publish.read");
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    return reply_publication(r, 200, id);
}

static const struct jfield patch_fields[] = {
    {"title", J_STRING, 0, 1, PUBLISH_TITLE_MAX, "标题", NULL, NULL},
    {"blocks", J_ARRAY, 0, 0, 0, "内容块", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err patch_one(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    const char *title = json_str(r->body, "title");
    json_t *blocks = json_object_get(r->body, "blocks");
    if (e || (e = check_title(title)) || (blocks && (e = publish_blocks_check(blocks))))
        return e;
    db_hold(r->db);
    e = publish_update(r->db, r->who, id, title, blocks);
    if ((e = finish(r, e, "publish.update", "publication", id,
                    blocks ? arena_printf(r->a, "blocks=%zu", json_array_size(blocks)) : "")))
        return e;
    return reply_publication(r, 200, id);
}

static err delete_one(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = publish_delete(r->db, r->a, r->who, id);
    if ((e = finish(r, e, "publish.delete", "publication", id, "")))
        return e;
    return reply_empty(r);
}

static err get_preview(struct req *r)
{
    int64_t id;
    err e = may_read(r, "publish.preview");
    json_t *snap;
    if (e || (e = req_param_id(r, 0, &id)) ||
        (e = publish_preview(r->db, r->a, &r->who->scope, id, &snap)))
        return e;
    struct sbuf b;
    sbuf_init(&b, r->a, PUBLISH_HTML_MAX);
    publish_html_article(&b, snap);
    if (b.full) {
        json_decref(snap);
        return err_set(E_INTERNAL, NULL, NULL, "preview larger than PUBLISH_HTML_MAX");
    }
    return reply_json(
        r, 200, json_pack("{s:o,s:s,s:s}", "snapshot", snap, "html", b.p, "css", publish_css));
}

static err post_submit(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = publish_submit(r->db, r->a, r->who, id);
    if ((e = finish(r, e, "publish.submit", "publication", id, "")))
        return e;
    return reply_publication(r, 200, id);
}

static err post_approve(struct req *r)
{
    int64_t id, version = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = publish_approve(r->db, r->a, r->who, id, &version);
    if ((e = finish(r, e, "publish.approve", "publication", id,
                    arena_printf(r->a, "version=%lld", (long long)version))))
        return e;
    return reply_publication(r, 200, id);
}

static const struct jfield reject_fields[] = {
    {"note", J_STRING, 0, 0, PUBLISH_NOTE_MAX, "退回理由", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_reject(struct req *r)
{
    int64_t id;
    const char *note = r->body ? json_str(r->body, "note") : NULL;
    err e = req_param_id(r, 0, &id);
    if (e || (note && (e = check_text(note, "note", "退回理由", PUBLISH_NOTE_MAX, 0))))
        return e;
    db_hold(r->db);
    e = publish_reject(r->db, r->a, r->who, id, note);
    if ((e = finish(r, e, "publish.reject", "publication", id, "")))
        return e;
    return reply_publication(r, 200, id);
}

static err post_withdraw(struct req *r)
{
    int64_t id, version = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = publish_withdraw(r->db, r->a, r->who, id, &version);
    if ((e = finish(r, e, "publish.withdraw", "publication", id,
                    arena_printf(r->a, "version=%lld", (long long)version))))
        return e;
    return reply_publication(r, 200, id);
}

static err get_versions(struct req *r)
{
    int64_t id;
    err e = may_read(r, "publish.versions");
    json_t *items;
    if (e || (e = req_param_id(r, 0, &id)) ||
        (e = publish_versions(r->db, r->a, &r->who->scope, id, &items)))
        return e;
    /* each as the public page showed it (the console's history) */
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v)
    {
        struct sbuf b;
        sbuf_init(&b, r->a, PUBLISH_HTML_MAX);
        publish_html_article(&b, json_object_get(v, "snapshot"));
        json_object_set_new(v, "html", json_string(b.full ? "" : b.p));
    }
    return reply_json(r, 200, json_pack("{s:o,s:s}", "items", items, "css", publish_css));
}

/* ---- feeds ---------------------------------------------------------------------------------- */

/* Store n checked items of `received` (the rest skipped) and answer the counts. */
static err store_feed(struct req *r, const struct feed_input *items, size_t n, size_t received,
                      const char *action)
{
    int64_t created = 0, dup = 0;
    db_hold(r->db);
    err e = feed_import(r->db, r->who, items, n, &created, &dup);
    if ((e = finish(r, e, action, "feed_item", 0,
                    arena_printf(r->a, "items=%zu created=%lld duplicates=%lld", n,
                                 (long long)created, (long long)dup))))
        return e;
    return reply_json(r, 200,
                      json_pack("{s:I,s:I,s:I,s:I}", "received", (json_int_t)received, "created",
                                (json_int_t)created, "duplicates", (json_int_t)dup, "skipped",
                                (json_int_t)(received - n)));
}

static const struct jfield batch_fields[] = {
    {"items", J_ARRAY, JF_REQUIRED, 0, 0, "信息", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield item_fields[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "信息类别", NULL, &feed_kind_vocab},
    {"title", J_STRING, JF_REQUIRED, 1, FEED_TITLE_MAX, "标题", NULL, NULL},
    {"link", J_STRING, 0, 0, FEED_LINK_MAX, "链接", NULL, NULL},
    {"guid", J_STRING, 0, 0, FEED_LINK_MAX, "唯一标识", NULL, NULL},
    {"summary", J_STRING, 0, 0, FEED_SUMMARY_MAX, "摘要", NULL, NULL},
    {"source", J_STRING, 0, 0, FEED_SOURCE_MAX, "来源", NULL, NULL},
    {"published_at", J_STRING, 0, 0, 19, "发布时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_batch(struct req *r)
{
    json_t *arr = json_object_get(r->body, "items");
    size_t n = json_array_size(arr);
    if (n == 0 || n > FEED_BATCH_MAX)
        return err_set(E_INPUT, "invalid_batch", "items", "每批信息应为 1 到 %d 条",
                       FEED_BATCH_MAX);
    struct feed_input *items = arena_zalloc(r->a, n * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(arr, i);
        const char *prefix = arena_printf(r->a, "items[%zu]", i);
        if (!json_is_object(it))
            return err_set(E_INPUT, "invalid_type", prefix, "第 %zu 条信息应为对象", i + 1);
        err e = json_check(it, item_fields, false);
        if (e) {
            /* the field as the item's member (copied: err_set writes over the detail) */
            const struct err_detail *dt = err_last();
            const char *slug = arena_strdup(r->a, dt->slug), *msg = arena_strdup(r->a, dt->message);
            return err_set(E_INPUT, slug, arena_printf(r->a, "%s.%s", prefix, dt->field), "%s",
                           msg);
        }
        const char *at = json_str(it, "published_at");
        items[i] = (struct feed_input){
            .kind = (enum feed_kind)vocab_parse(&feed_kind_vocab, json_str(it, "kind")),
            .title = json_str(it, "title"),
            .link = json_str(it, "link") ? json_str(it, "link") : "",
            .guid = json_str(it, "guid") ? json_str(it, "guid") : "",
            .summary = json_str(it, "summary") ? json_str(it, "summary") : "",
            .source = json_str(it, "source") ? json_str(it, "source") : "",
        };
        if (at && !china_time_parse(at, &items[i].published_at))
            return err_set(E_INPUT, "invalid_value", arena_printf(r->a, "%s.published_at", prefix),
                           "发布时间应为 yyyy-mm-dd hh:mm 格式");
        if ((e = feed_input_check(&items[i], prefix, r->a)))
            return e;
    }
    return store_feed(r, items, n, n, "feed.batch");
}

static err post_import(struct req *r)
{
    const char *k = req_query(r, "kind");
    int kind = k ? vocab_parse(&feed_kind_vocab, k) : FEED_NEWS;
    if (kind <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "信息类别应为 news 或 opinion");
    size_t n;
    const char *body = req_raw_body(r, &n);
    struct feed_input *items;
    size_t count;
    err e = n ? feed_parse(body, n, (enum feed_kind)kind, r->a, &items, &count)
              : err_set(E_INPUT, "empty", "file", "文件为空：请上传 RSS 或 Atom 订阅文件");
    if (!e && !count)
        e = err_set(E_INPUT, "invalid_feed", "file", "订阅文件中没有条目");
    /* an item the checks refuse (a link of another scheme, no title) is
     * left out; the reply counts it */
    size_t kept = 0;
    for (size_t i = 0; !e && i < count; i++)
        if (feed_input_check(&items[i], NULL, r->a) == E_OK)
            items[kept++] = items[i];
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "feed.import", "feed_item", 0, e,
                             arena_printf(r->a, "bytes=%zu", n));
    return store_feed(r, items, kept, count, "feed.import");
}

static err get_feed(struct req *r)
{
    err e = may_read(r, "feed.list");
    int64_t page, size;
    if (e || (e = req_paging(r, &page, &size)))
        return e;
    const char *s = req_query(r, "state");
    int state = 0;
    if (s && (state = vocab_parse(&feed_state_vocab, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "状态的取值不正确");
    json_t *items;
    int64_t total;
    if ((e = feed_list(r->db, r->a, &r->who->scope, (enum feed_state)state, page, size, &items,
                       &total)))
        return e;
    return reply_page(r, items, total, page, size);
}

static err decide(struct req *r, bool approve)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = feed_decide(r->db, r->who, id, approve);
    if ((e = finish(r, e, approve ? "feed.approve" : "feed.reject", "feed_item", id, "")))
        return e;
    return reply_json(r, 200, json_pack("{s:s}", "state", approve ? "approved" : "rejected"));
}

static err post_feed_approve(struct req *r)
{
    return decide(r, true);
}

static err post_feed_reject(struct req *r)
{
    return decide(r, false);
}

const struct route publish_routes[] = {
    {M_GET, "/api/v1/publish/templates", get_templates, PERM_PUBLISH_EDIT, 0, NULL, "发布模板",
     "publish", 0},
    {M_GET, "/api/v1/publications", get_list, PERM_NONE, 0, NULL, "发布内容列表", "publish", 0},
    {M_POST, "/api/v1/publications", post_create, PERM_PUBLISH_EDIT, 0, create_fields,
     "新建发布内容（草稿）", "publish", 0},
    {M_GET, "/api/v1/publications/{id}", get_one, PERM_NONE, 0, NULL, "发布内容详情", "publish", 0},
    {M_PATCH, "/api/v1/publications/{id}", patch_one, PERM_PUBLISH_EDIT, 0, patch_fields,
     "编辑发布内容", "publish", 0},
    {M_DELETE, "/api/v1/publications/{id}", delete_one, PERM_PUBLISH_EDIT, 0, NULL,
     "删除发布内容（未在公众页面展示的）", "publish", 0},
    {M_GET, "/api/v1/publications/{id}/preview", get_preview, PERM_NONE, 0, NULL,
     "预览（与公众看到的一致）", "publish", 0},
    {M_POST, "/api/v1/publications/{id}/submit", post_submit, PERM_PUBLISH_EDIT, 0, NULL,
     "提交审核", "publish", 0},
    {M_POST, "/api/v1/publications/{id}/approve", post_approve, PERM_PUBLISH_APPROVE, 0, NULL,
     "审核通过并发布", "publish", 0},
    {M_POST, "/api/v1/publications/{id}/reject", post_reject, PERM_PUBLISH_APPROVE, 0,
     reject_fields, "退回修改", "publish", 0},
    {M_POST, "/api/v1/publications/{id}/withdraw", post_withdraw, PERM_PUBLISH_APPROVE, 0, NULL,
     "撤回当前发布版本", "publish", 0},
    {M_GET, "/api/v1/publications/{id}/versions", get_versions, PERM_NONE, 0, NULL, "发布版本历史",
     "publish", 0},
    {M_POST, "/api/v1/feed-items/batch", post_batch, PERM_PUBLISH_EDIT, 0, batch_fields,
     "批量导入最新动态和舆情", "publish", 0},
    {M_POST, "/api/v1/feed-items/import", post_import, PERM_PUBLISH_EDIT, ROUTE_RAW_BODY, NULL,
     "导入 RSS 或 Atom 订阅文件", "publish", FEED_IMPORT_MAX_BODY},
    {M_GET, "/api/v1/feed-items", get_feed, PERM_NONE, 0, NULL, "最新动态和舆情列表", "publish", 0},
    {M_POST, "/api/v1/feed-items/{id}/approve", post_feed_approve, PERM_PUBLISH_APPROVE, 0, NULL,
     "审核通过（在公众页面展示）", "publish", 0},
    {M_POST, "/api/v1/feed-items/{id}/reject", post_feed_reject, PERM_PUBLISH_APPROVE, 0, NULL,
     "驳回", "publish", 0},
};
const size_t publish_routes_n = sizeof publish_routes / sizeof publish_routes[0];
