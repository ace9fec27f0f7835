/*
 * Articles: knowledge, propaganda, news, the self-check guide (notice.h
 * "Articles"): the SQL. The region's subtree end (region_hi) is stored
 * beside its code so a resident's query is one range test of their own
 * region against it, in the same statement as the person lookup.
 */
#include <string.h>

#include "base/html.h"
#include "base/id.h"
#include "base/json.h"
#include "db/query.h"
#include "notice/notice.h"

static const struct vocab_word kind_words[] = {
    {NULL, NULL},
    {"knowledge", "防疫知识"},
    {"science", "医疗科普"},
    {"home", "居家隔离防护"},
    {"prevention", "个人预防"},
    {"policy", "政策措施"},
    {"news", "要闻播报"},
    {"guide", "自查指引"},
};
const struct vocab article_kind_vocab = VOCAB("article_kinds", "文章类别", kind_words);
_Static_assert(sizeof kind_words / sizeof kind_words[0] == ARTICLE_KIND__COUNT,
               "a word for every kind");

err article_body_clean(arena *a, const char *raw, const char **out_r)
{
    const char *out;
    size_t n;
    err e = html_sanitize(a, raw, strlen(raw), ARTICLE_BODY_MAX, "body", &out, &n);
    if (e)
        return e;
    const char *t = html_text(a, out, 8);
    bool empty = !strstr(out, "<img");
    for (const char *p = t; *p && empty; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            empty = false;
    if (empty)
        return err_set(E_INPUT, "required", "body", "文章内容不能为空");
    *out_r = out;
    return E_OK;
}

#define ARTICLE_COLS                                                                               \
    "x.id, x.region_code, rg.name, x.kind, x.title, x.body, x.cover_id, x.state, x.author_name, "  \
    "x.created_at, x.updated_at, x.published_at"
#define ARTICLE_FROM " FROM articles x LEFT JOIN regions rg ON rg.code = x.region_code"

static err article_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct article *x = item;
    x->id = db_col_int64(s, 0);
    x->region_code = db_col_int64(s, 1);
    x->region_name = arena_strdup(a, db_col_text(s, 2));
    int k = vocab_parse(&article_kind_vocab, db_col_text(s, 3));
    x->kind = k > 0 ? (enum article_kind)k : ARTICLE_KNOWLEDGE;
    x->title = arena_strdup(a, db_col_text(s, 4));
    x->body = arena_strdup(a, db_col_text(s, 5));
    x->cover_id = db_col_int64(s, 6);
    x->published = !strcmp(db_col_text(s, 7), "published");
    x->author_name = arena_strdup(a, db_col_text(s, 8));
    x->created_at = db_col_int64(s, 9);
    x->updated_at = db_col_int64(s, 10);
    x->published_at = db_col_int64(s, 11);
    return E_OK;
}

/* the region exists and lies in sc */
static err region_in(db *d, const struct scope *sc, int64_t code)
{
    if (!scope_has(sc, code))
        return err_set(E_NOT_FOUND, "not_found", "region_code", "区划不存在");
    db_stmt *s;
    bool has;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    e = db_row(s, &has);
    db_done(s);
    if (!e && !has)
        e = err_set(E_NOT_FOUND, "not_found", "region_code", "区划不存在");
    return e;
}

err article_create(db *d, const struct principal *who, const struct article_input *in,
                   int64_t *id_r)
{
    err e = region_in(d, &who->scope, in->region_code);
    if (e)
        return e;
    int64_t id = id_new(), now = id_time_ms(id);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO articles (id, region_code, region_hi, kind, title, body, "
                        "cover_id, state, author_id, author_name, created_at, updated_at, "
                        "published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->region_code);
    db_bind_int64(s, 3, scope_of(in->region_code).hi);
    db_bind_text(s, 4, vocab_name(&article_kind_vocab, in->kind));
    db_bind_text(s, 5, in->title);
    db_bind_text(s, 6, in->body);
    db_bind_int64(s, 7, in->cover_id);
    db_bind_text(s, 8, in->published ? "published" : "draft");
    db_bind_int64(s, 9, who->user_id);
    db_bind_text(s, 10, who->display_name[0] ? who->display_name : who->username);
    db_bind_int64(s, 11, now);
    db_bind_int64(s, 12, now);
    db_bind_int64(s, 13, in->published ? now : 0);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err article_update(db *d, const struct scope *sc, int64_t id, const struct article_input *in,
                   int64_t now)
{
    err e = region_in(d, sc, in->region_code);
    if (e)
        return e;
    db_stmt *s;
    /* published_at keeps the first publication: a correction does not
     * bring an old article back to the top of the carousel */
    if ((e = db_prepare(d,
                        "UPDATE articles SET region_code = ?, region_hi = ?, kind = ?, title = ?, "
                        "body = ?, cover_id = ?, state = ?, updated_at = ?, published_at = "
                        "CASE WHEN ? = 'published' AND published_at = 0 THEN ? ELSE published_at "
                        "END WHERE id = ? AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    const char *state = in->published ? "published" : "draft";
    db_bind_int64(s, 1, in->region_code);
    db_bind_int64(s, 2, scope_of(in->region_code).hi);
    db_bind_text(s, 3, vocab_name(&article_kind_vocab, in->kind));
    db_bind_text(s, 4, in->title);
    db_bind_text(s, 5, in->body);
    db_bind_int64(s, 6, in->cover_id);
    db_bind_text(s, 7, state);
    db_bind_int64(s, 8, now);
    db_bind_text(s, 9, state);
    db_bind_int64(s, 10, now);
    db_bind_int64(s, 11, id);
    db_bind_int64(s, 12, sc->lo);
    db_bind_int64(s, 13, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, "not_found", "id", "文章不存在");
}

err article_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(
        d, "DELETE FROM articles WHERE id = ? AND region_code >= ? AND region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, "not_found", "id", "文章不存在");
}

err article_find(db *d, arena *a, const struct scope *sc, int64_t id, struct article *a_r)
{
    return query_one(d, a,
                     &(struct query_one){
                         .select = "SELECT " ARTICLE_COLS ARTICLE_FROM
                                   " WHERE x.id = ? AND x.region_code >= ? AND x.region_code < ?",
                         .id = id,
                         .lo = sc->lo,
                         .hi = sc->hi,
                         .size = sizeof *a_r,
                         .read = article_read,
                         .missing = "文章不存在"},
                     a_r);
}

err article_list(db *d, arena *a, const struct scope *sc, const struct article_filter *f,
                 struct article **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " WHERE x.region_code >= ? AND x.region_code < ?");
    query_int(&w, sc->lo);
    query_int(&w, sc->hi);
    if (f->kind) {
        query_sql(&w, " AND x.kind = ?");
        query_text(&w, vocab_name(&article_kind_vocab, f->kind));
    }
    if (f->state)
        query_sql(&w, f->state == 1 ? " AND x.state = 'published'" : " AND x.state = 'draft'");
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM articles x",
                                            .select = "SELECT " ARTICLE_COLS ARTICLE_FROM,
                                            .order = " ORDER BY x.updated_at DESC, x.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = 1000,
                                            .size = sizeof(struct article),
                                            .read = article_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* the resident's region inside the article's subtree, in the statement */
#define MINE_WHERE                                                                                 \
    " WHERE x.state = 'published' AND EXISTS (SELECT 1 FROM persons p WHERE p.id = ? AND "         \
    "p.deleted_at = 0 AND p.region_code >= x.region_code AND p.region_code < x.region_hi)"

err article_mine(db *d, arena *a, int64_t person_id, enum article_kind kind, int64_t page,
                 int64_t page_size, struct article **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, MINE_WHERE);
    query_int(&w, person_id);
    if (kind) {
        query_sql(&w, " AND x.kind = ?");
        query_text(&w, vocab_name(&article_kind_vocab, kind));
    }
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM articles x",
                                            .select = "SELECT " ARTICLE_COLS ARTICLE_FROM,
                                            .order = " ORDER BY x.published_at DESC, x.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = 200,
                                            .size = sizeof(struct article),
                                            .read = article_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

err article_mine_one(db *d, arena *a, int64_t person_id, int64_t id, struct article *a_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " ARTICLE_COLS ARTICLE_FROM MINE_WHERE " AND x.id = ?");
    query_int(&q, person_id);
    query_int(&q, id);
    return query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *a_r, .read = article_read, .missing = "文章不存在"},
        a_r);
}

json_t *article_json(arena *a, const struct article *x, bool with_body)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_set_region(o, x->region_code, x->region_name);
    json_object_set_new(o, "kind", json_string(vocab_name(&article_kind_vocab, x->kind)));
    json_object_set_new(o, "kind_label", json_string(vocab_label(&article_kind_vocab, x->kind)));
    json_object_set_new(o, "title", json_string(x->title));
    if (with_body)
        json_object_set_new(o, "body", json_string(x->body));
    json_object_set_new(o, "summary", json_string(html_text(a, x->body, 60)));
    json_set_id_or_null(o, "cover_id", x->cover_id);
    json_object_set_new(o, "state", json_string(x->published ? "published" : "draft"));
    json_object_set_new(o, "state_label", json_string(x->published ? "已发布" : "草稿"));
    json_object_set_new(o, "author_name", json_string(x->author_name));
    json_object_set_new(o, "created_at", json_integer(x->created_at));
    json_object_set_new(o, "updated_at", json_integer(x->updated_at));
    json_object_set_new(o, "published_at",
                        x->published_at ? json_integer(x->published_at) : json_null());
    return o;
}
