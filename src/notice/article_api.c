/*
 * HTTP handlers of articles (notice.h "Articles"; docs/community.md
 * "Knowledge and news"):
 *
 *   GET    /api/v1/articles               in scope (notice.read): kind=, state=published|draft
 *   POST   /api/v1/articles               write one, draft or published (notice.write)
 *   GET    /api/v1/articles/{id}          with its body (notice.read)
 *   PUT    /api/v1/articles/{id}          replace (notice.write)
 *   DELETE /api/v1/articles/{id}          delete (notice.write)
 *   GET    /api/v1/articles/{id}/cover    the cover image (notice.read)
 *   GET    /api/v1/me/articles            a resident's: kind= (news is the home's carousel)
 *   GET    /api/v1/me/articles/{id}       one, with its body
 *   GET    /api/v1/me/articles/{id}/cover its cover image
 *   GET    /api/v1/articles/{id}/images/{aid}     an image of its body (notice.read)
 *   GET    /api/v1/me/articles/{id}/images/{aid}  the same for a resident
 *
 * Articles name nobody, so reads are not audited; writes are. The cover
 * is served by the article's routes (attach_read_owned) because
 * attach_get admits only the uploader and case staff; so are the images of
 * the body (notice.h "Images in a body"), which every reply rebases onto
 * them.
 */
#include <string.h>

#include "app.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/regcode.h"
#include "http/write.h"
#include "notice/notice.h"
#include "security/audit.h"

static const struct jfield article_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "发布范围", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "类别", NULL, &article_kind_vocab},
    {"title", J_STRING, JF_REQUIRED, 1, ARTICLE_TITLE_MAX, "标题", NULL, NULL},
    {"body", J_STRING, JF_REQUIRED, 1, 524288, "内容", NULL, NULL},
    {"cover_id", J_STRING, JF_NULLABLE, 1, 20, "封面图片", NULL, NULL},
    {"published", J_BOOL, 0, 0, 0, "发布", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* the staff route of article id's body images (and of a body sent back) */
#define STAFF_ROUTE "/api/v1/articles"
#define MINE_ROUTE  "/api/v1/me/articles"

/* id: the article edited (its body may come back with rebased images), 0
 * for a new one */
static err input_of(struct req *r, int64_t id, struct article_input *in)
{
    memset(in, 0, sizeof *in);
    enum region_level lv;
    in->region_code = regcode_parse(json_str(r->body, "region_code"), &lv);
    if (in->region_code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    in->kind = (enum article_kind)vocab_parse(&article_kind_vocab, json_str(r->body, "kind"));
    const char *t = json_str(r->body, "title");
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n)
        return err_set(E_INPUT, "required", "title", "请填写文章标题");
    in->title = arena_strndup(r->a, t, n);
    const char *raw = json_str(r->body, "body");
    if (id)
        raw = body_image_unbase(r->a, raw, STAFF_ROUTE, id);
    err e = article_body_clean(r->a, raw, &in->body);
    if (e)
        return e;
    const char *c = json_str(r->body, "cover_id");
    if (c && !(in->cover_id = id_parse(c)))
        return err_set(E_INPUT, "invalid_attachment", "cover_id", "封面图片不存在");
    in->published = json_bool(r->body, "published", false);
    return E_OK;
}

/* the cover, a fresh upload of the author's that must be an image, or the
 * article's current one */
static err claim_cover(struct req *r, int64_t article, int64_t region, int64_t cover,
                       int64_t current)
{
    if (!cover || cover == current)
        return E_OK;
    struct attach_meta m;
    err e = attach_meta(r->db, r->who, cover, &m);
    if (e || m.class != ATTACH_IMAGE || m.owner_kind[0])
        return err_set(E_INPUT, "invalid_attachment", "cover_id", "封面须为本人刚上传的图片");
    return attach_claim(r->db, r->who, cover, "article", article, region, "cover_id");
}

/* the kind= filter: 0 when absent */
static err kind_of(struct req *r, enum article_kind *kind_r)
{
    const char *k = req_query(r, "kind");
    int v = k && *k ? vocab_parse(&article_kind_vocab, k) : 0;
    if (v < 0 || (k && *k && v == 0))
        return err_set(E_INPUT, "invalid_parameter", "kind", "文章类别不正确");
    *kind_r = (enum article_kind)v;
    return E_OK;
}

static err list_articles(struct req *r)
{
    struct article_filter f = {0};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    if ((e = kind_of(r, &f.kind)))
        return e;
    const char *st = req_query(r, "state");
    if (st && *st) {
        if (!strcmp(st, "published"))
            f.state = 1;
        else if (!strcmp(st, "draft"))
            f.state = 2;
        else
            return err_set(E_INPUT, "invalid_parameter", "state",
                           "state 只能为 published 或 draft");
    }
    struct article *items;
    size_t n;
    int64_t total;
    if ((e = article_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, article_json(r->a, &items[i], false));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static err find_or_refuse(struct req *r, const char *action, struct article *x)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = article_find(r->db, r->a, &r->who->scope, id, x)))
        return audit_refusal(r->db, r->who, r->ip, action, "article", id, e, NULL);
    return E_OK;
}

/* the article with its body as staff see it */
static err staff_reply(struct req *r, int status, struct article *x)
{
    x->body = body_image_rebase(r->a, x->body, STAFF_ROUTE, x->id);
    return reply_json(r, status, article_json(r->a, x, true));
}

static err post_article(struct req *r)
{
    struct article_input in;
    int64_t id = 0;
    err e = input_of(r, 0, &in);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = article_create(r->db, r->who, &in, &id);
        if (!e)
            e = claim_cover(r, id, in.region_code, in.cover_id, 0);
        if (!e)
            e = body_image_sync(r->db, r->who, in.body, "article_image", id, in.region_code);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "article.create", "article", id,
                            in.published ? "published" : "draft")))
        return e;
    struct article x;
    if ((e = article_find(r->db, r->a, &r->who->scope, id, &x)))
        return e;
    return staff_reply(r, 201, &x);
}

static err get_article(struct req *r)
{
    struct article x;
    err e = find_or_refuse(r, "article.read", &x);
    return e ? e : staff_reply(r, 200, &x);
}

static err put_article(struct req *r)
{
    struct article_input in;
    struct article x;
    err e = find_or_refuse(r, "article.edit", &x);
    if (e || (e = input_of(r, x.id, &in)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = article_update(r->db, &r->who->scope, x.id, &in, now_ms());
        /* a changed or removed cover: the old one goes (the article owns
         * nothing else), then the new one is claimed */
        if (!e && in.cover_id != x.cover_id && x.cover_id)
            e = attach_delete_owned(r->db, "article", x.id, NULL);
        if (!e)
            e = claim_cover(r, x.id, in.region_code, in.cover_id, x.cover_id);
        if (!e)
            e = body_image_sync(r->db, r->who, in.body, "article_image", x.id, in.region_code);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "article.edit", "article", x.id, req_body_fields(r))))
        return e;
    if ((e = article_find(r->db, r->a, &r->who->scope, x.id, &x)))
        return e;
    return staff_reply(r, 200, &x);
}

static err delete_article(struct req *r)
{
    struct article x;
    err e = find_or_refuse(r, "article.delete", &x);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = article_delete(r->db, &r->who->scope, x.id);
        int64_t n = 0;
        if (!e)
            e = attach_delete_owned(r->db, "article", x.id, &n);
        if (!e)
            e = attach_delete_owned(r->db, "article_image", x.id, &n);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "article.delete", "article", x.id, NULL)))
        return e;
    return reply_empty(r);
}

static err cover_reply(struct req *r, const struct article *x)
{
    if (!x->cover_id)
        return err_set(E_NOT_FOUND, "not_found", "cover_id", "文章没有封面");
    const char *mime;
    const void *bytes;
    size_t n;
    err e = attach_read_owned(r->db, r->a, x->cover_id, "article", x->id, &mime, &bytes, &n);
    if (e || (e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    r->disposition = "inline";
    r->cache_control = "private, max-age=300";
    return E_OK;
}

/* image {aid} of x's body: only one the body shows (a stale image the
 * record still held, or any other attachment, is 404) */
static err image_reply(struct req *r, const struct article *x)
{
    int64_t aid;
    err e = req_param_id(r, 1, &aid);
    if (e)
        return e;
    if (!body_image_has(x->body, aid))
        return err_set(E_NOT_FOUND, "not_found", "aid", "图片不存在");
    const char *mime;
    const void *bytes;
    size_t n;
    if ((e = attach_read_owned(r->db, r->a, aid, "article_image", x->id, &mime, &bytes, &n)) ||
        (e = reply_bytes(r, 200, mime, bytes, n)))
        return e;
    r->disposition = "inline";
    r->cache_control = "private, max-age=300";
    return E_OK;
}

static err get_image(struct req *r)
{
    struct article x;
    err e = find_or_refuse(r, "article.read", &x);
    return e ? e : image_reply(r, &x);
}

static err get_cover(struct req *r)
{
    struct article x;
    err e = find_or_refuse(r, "article.read", &x);
    return e ? e : cover_reply(r, &x);
}

/* ---- residents ---- */

static err resident_person(struct req *r, int64_t *person_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    *person_r = r->who->person_id; /* 0 before real-name binding: sees nothing */
    return E_OK;
}

static err get_mine(struct req *r)
{
    int64_t person = 0, page, size;
    err e = resident_person(r, &person);
    if (e || (e = req_paging(r, &page, &size)))
        return e;
    enum article_kind kind = 0;
    if ((e = kind_of(r, &kind)))
        return e;
    struct article *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    if ((e = article_mine(r->db, r->a, person, kind, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, article_json(r->a, &items[i], false));
    return reply_page(r, arr, total, page, size);
}

static err mine_one(struct req *r, struct article *x)
{
    int64_t person = 0, id;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    return article_mine_one(r->db, r->a, person, id, x);
}

static err get_mine_one(struct req *r)
{
    struct article x;
    err e = mine_one(r, &x);
    if (e)
        return e;
    x.body = body_image_rebase(r->a, x.body, MINE_ROUTE, x.id);
    return reply_json(r, 200, article_json(r->a, &x, true));
}

static err get_mine_cover(struct req *r)
{
    struct article x;
    err e = mine_one(r, &x);
    return e ? e : cover_reply(r, &x);
}

static err get_mine_image(struct req *r)
{
    struct article x;
    err e = mine_one(r, &x);
    return e ? e : image_reply(r, &x);
}

const struct route article_routes[] = {
    {M_GET, "/api/v1/articles", list_articles, PERM_NOTICE_READ, 0, NULL,
     "辖区内的知识、宣传、新闻和自查指引（kind、state 筛选）", "notice", 0},
    {M_POST, "/api/v1/articles", post_article, PERM_NOTICE_WRITE, 0, article_body,
     "撰写文章（草稿或发布）", "notice", 600000},
    {M_GET, "/api/v1/articles/{id}", get_article, PERM_NOTICE_READ, 0, NULL, "文章详情", "notice",
     0},
    {M_PUT, "/api/v1/articles/{id}", put_article, PERM_NOTICE_WRITE, 0, article_body, "修改文章",
     "notice", 600000},
    {M_DELETE, "/api/v1/articles/{id}", delete_article, PERM_NOTICE_WRITE, 0, NULL, "删除文章",
     "notice", 0},
    {M_GET, "/api/v1/articles/{id}/cover", get_cover, PERM_NOTICE_READ, 0, NULL, "文章封面",
     "notice", 0},
    {M_GET, "/api/v1/me/articles", get_mine, PERM_SELF, 0, NULL,
     "居民可见的文章（kind=news 为首页要闻）", "notice", 0},
    {M_GET, "/api/v1/me/articles/{id}", get_mine_one, PERM_SELF, 0, NULL, "阅读文章", "notice", 0},
    {M_GET, "/api/v1/me/articles/{id}/cover", get_mine_cover, PERM_SELF, 0, NULL, "文章封面",
     "notice", 0},
    {M_GET, "/api/v1/articles/{id}/images/{aid}", get_image, PERM_NOTICE_READ, 0, NULL,
     "文章正文中的图片", "notice", 0},
    {M_GET, "/api/v1/me/articles/{id}/images/{aid}", get_mine_image, PERM_SELF, 0, NULL,
     "文章正文中的图片", "notice", 0},
};
const size_t article_routes_n = sizeof article_routes / sizeof article_routes[0];
