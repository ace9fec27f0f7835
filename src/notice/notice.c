/*
 * Notices and their read receipts (notice.h): the SQL. A publication is
 * one INSERT of the notice and one INSERT ... SELECT of its recipients from
 * persons, bounded by the target region's subtree (itself checked inside
 * the author's scope), so the audience is fixed when it is published.
 */
#include "notice/notice.h"

#include <string.h>

#include "base/html.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"

static const struct vocab_word audience_words[] = {
    {NULL, NULL},
    {"all", "全体居民"},
    {"building", "指定楼栋"},
    {"vulnerable", "重点人群"},
    {"observation", "隔离观察人员"},
    {"volunteers", "社区志愿者"},
};
const struct vocab notice_audience_vocab = VOCAB("notice_audiences", "通知对象", audience_words);
_Static_assert(sizeof audience_words / sizeof audience_words[0] == NOTICE_AUDIENCE__COUNT,
               "a word for every audience");

err notice_body_clean(arena *a, const char *raw, const char **out_r)
{
    const char *out;
    size_t n;
    err e = html_sanitize(a, raw, strlen(raw), NOTICE_BODY_MAX, "body", &out, &n);
    if (e)
        return e;
    /* only markup, or blanks, left: nothing to tell (an image counts) */
    const char *t = html_text(a, out, 8);
    bool empty = !strstr(out, "<img");
    for (const char *p = t; *p && empty; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            empty = false;
    if (empty)
        return err_set(E_INPUT, "required", "body", "通知内容不能为空");
    *out_r = out;
    return E_OK;
}

/* ---- reading a notice ---- */

/* the read count by a correlated sub-query: one index range of the
 * recipients' primary key */
#define NOTICE_COLS                                                                                \
    "n.id, n.region_code, rg.name, n.audience, n.vulnerable, n.title, n.body, n.pinned, "          \
    "n.state, n.recipients, (SELECT COUNT(*) FROM notice_recipients x WHERE x.notice_id = n.id "   \
    "AND x.read_at > 0), n.author_name, n.published_at, n.updated_at, n.withdrawn_at, "            \
    "n.reminded_at"
#define NOTICE_FROM  " FROM notices n LEFT JOIN regions rg ON rg.code = n.region_code"
#define NOTICE_NCOLS 16

static err notice_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct notice *n = item;
    n->id = db_col_int64(s, 0);
    n->region_code = db_col_int64(s, 1);
    n->region_name = arena_strdup(a, db_col_text(s, 2));
    int au = vocab_parse(&notice_audience_vocab, db_col_text(s, 3));
    n->audience = au > 0 ? (enum notice_audience)au : NOTICE_ALL;
    n->vulnerable = (unsigned)db_col_int64(s, 4);
    n->title = arena_strdup(a, db_col_text(s, 5));
    n->body = arena_strdup(a, db_col_text(s, 6));
    n->pinned = db_col_int64(s, 7) != 0;
    n->withdrawn = !strcmp(db_col_text(s, 8), "withdrawn");
    n->recipients = db_col_int64(s, 9);
    n->read = db_col_int64(s, 10);
    n->author_name = arena_strdup(a, db_col_text(s, 11));
    n->published_at = db_col_int64(s, 12);
    n->updated_at = db_col_int64(s, 13);
    n->withdrawn_at = db_col_int64(s, 14);
    n->reminded_at = db_col_int64(s, 15);
    return E_OK;
}

err notice_find(db *d, arena *a, const struct scope *sc, int64_t id, struct notice *n_r)
{
    return query_one(d, a,
                     &(struct query_one){
                         .select = "SELECT " NOTICE_COLS NOTICE_FROM
                                   " WHERE n.id = ? AND n.region_code >= ? AND n.region_code < ?",
                         .id = id,
                         .lo = sc->lo,
                         .hi = sc->hi,
                         .size = sizeof *n_r,
                         .read = notice_read,
                         .missing = "通知不存在"},
                     n_r);
}

err notice_list(db *d, arena *a, const struct scope *sc, const struct notice_filter *f,
                struct notice **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " WHERE n.region_code >= ? AND n.region_code < ?");
    query_int(&w, sc->lo);
    query_int(&w, sc->hi);
    if (!f->with_withdrawn)
        query_sql(&w, " AND n.state = 'published'");
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM notices n",
                                            .select = "SELECT " NOTICE_COLS NOTICE_FROM,
                                            .order = " ORDER BY n.pinned DESC, n.published_at "
                                                     "DESC, n.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = 1000,
                                            .size = sizeof(struct notice),
                                            .read = notice_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- publishing and changing ---- */

err notice_target_check(db *d, const struct principal *who, int64_t region_code,
                        enum notice_audience au)
{
    if (!scope_has(&who->scope, region_code))
        return err_set(E_NOT_FOUND, "not_found", "region_code", "区划不存在");
    db_stmt *s;
    bool has;
    err e = db_prepare(d, "SELECT level FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, region_code);
    int64_t level = 0;
    if (!(e = db_row(s, &has)) && has)
        level = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!has)
        return err_set(E_NOT_FOUND, "not_found", "region_code", "区划不存在");
    if (au == NOTICE_BUILDING && level != LEVEL_BUILDING)
        return err_set(E_INPUT, "invalid_value", "audience", "指定楼栋时所选区划须为楼栋");
    return E_OK;
}

err notice_audience_fill(db *d, enum notice_rcpt_table table, int64_t id, int64_t region_code,
                         enum notice_audience au, unsigned vulnerable, int64_t *n_r)
{
    struct scope target = scope_of(region_code);
    struct query q = QUERY_INIT;
    query_sql(&q, table == RCPT_POLL
                      ? "INSERT INTO poll_recipients (poll_id, person_id, region_code) "
                      : "INSERT INTO notice_recipients (notice_id, person_id, region_code) ");
    query_sql(&q, "SELECT ?, p.id, p.region_code FROM persons p "
                  "WHERE p.region_code >= ? AND p.region_code < ? AND p.deleted_at = 0");
    query_int(&q, id);
    query_int(&q, target.lo);
    query_int(&q, target.hi);
    if (au == NOTICE_VULNERABLE) {
        query_sql(&q, " AND (p.vulnerable & ?) <> 0");
        query_int(&q, (int64_t)vulnerable);
    } else if (au == NOTICE_OBSERVATION) {
        query_sql(&q, " AND EXISTS (SELECT 1 FROM observations o WHERE o.person_id = p.id "
                      "AND o.state = 'active')");
    } else if (au == NOTICE_VOLUNTEERS) {
        query_sql(&q, " AND EXISTS (SELECT 1 FROM volunteers v WHERE v.person_id = p.id "
                      "AND v.status = 'approved')");
    }
    db_stmt *s;
    *n_r = 0;
    err e = query_prepare(d, &q, &s);
    return e ? e : db_run(s, n_r);
}

static notice_write_fn on_write;

err notice_on_write(notice_write_fn fn)
{
    if (fn && on_write && on_write != fn)
        return err_set(E_INTERNAL, NULL, NULL, "notice_on_write 已有订阅者：每个钩子只能注册一个");
    on_write = fn;
    return E_OK;
}

err notice_publish(db *d, arena *a, const struct principal *who, const struct notice_input *in,
                   struct notice *n_r)
{
    err e = notice_target_check(d, who, in->region_code, in->audience);
    if (e)
        return e;
    int64_t id = id_new(), now = id_time_ms(id);
    if ((e = db_begin(d)))
        return e;
    /* the recipients first: an empty audience writes nothing */
    int64_t n = 0;
    db_stmt *s;
    e = notice_audience_fill(d, RCPT_NOTICE, id, in->region_code, in->audience, in->vulnerable, &n);
    if (!e && n == 0)
        e = err_set(E_CONFLICT, "no_recipients", "audience", "所选范围内没有符合条件的居民");
    if (!e && !(e = db_prepare(d,
                               "INSERT INTO notices (id, region_code, audience, vulnerable, "
                               "title, body, pinned, state, recipients, author_id, author_name, "
                               "published_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                               "'published', ?, ?, ?, ?, ?)",
                               &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, in->region_code);
        db_bind_text(s, 3, vocab_name(&notice_audience_vocab, in->audience));
        db_bind_int64(s, 4, in->audience == NOTICE_VULNERABLE ? (int64_t)in->vulnerable : 0);
        db_bind_text(s, 5, in->title);
        db_bind_text(s, 6, in->body);
        db_bind_int64(s, 7, in->pinned);
        db_bind_int64(s, 8, n);
        db_bind_int64(s, 9, who->user_id);
        db_bind_text(s, 10, who->display_name[0] ? who->display_name : who->username);
        db_bind_int64(s, 11, now);
        db_bind_int64(s, 12, now);
        e = db_run(s, NULL);
    }
    if (!e && in->audience == NOTICE_ALL && on_write) /* the exchange's log, same transaction */
        e = on_write(d, id, in->region_code);
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    return notice_find(d, a, &who->scope, id, n_r);
}

/* the state of notice id in sc, for a change: E_NOT_FOUND, or
 * "notice_withdrawn" */
static err live_in_scope(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    bool has;
    err e = db_prepare(d,
                       "SELECT state FROM notices WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool withdrawn = false;
    if (!(e = db_row(s, &has)) && has)
        withdrawn = !strcmp(db_col_text(s, 0), "withdrawn");
    db_done(s);
    if (e)
        return e;
    if (!has)
        return err_set(E_NOT_FOUND, "not_found", "id", "通知不存在");
    if (withdrawn)
        return err_set(E_CONFLICT, "notice_withdrawn", NULL, "通知已撤回");
    return E_OK;
}

err notice_edit(db *d, const struct scope *sc, int64_t id, const struct notice_input *in,
                int64_t now)
{
    err e = live_in_scope(d, sc, id);
    if (e)
        return e;
    db_stmt *s;
    /* nobody read it: checked in the UPDATE itself, so a reading between
     * the check and the write cannot slip through */
    if ((e = db_prepare(d,
                        "UPDATE notices SET title = ?, body = ?, pinned = ?, updated_at = ? "
                        "WHERE id = ? AND state = 'published' AND NOT EXISTS (SELECT 1 FROM "
                        "notice_recipients x WHERE x.notice_id = notices.id AND x.read_at > 0)",
                        &s)))
        return e;
    db_bind_text(s, 1, in->title);
    db_bind_text(s, 2, in->body);
    db_bind_int64(s, 3, in->pinned);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "notice_already_read", NULL, "已有居民阅读，通知不能再修改");
    return E_OK;
}

/* withdraw a published notice (already found) and tell the exchange's log
 * when it was to all residents; *n_r 0 when it was withdrawn already */
static err withdraw(db *d, int64_t id, int64_t now, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE notices SET state = 'withdrawn', withdrawn_at = ?, updated_at = ? "
                       "WHERE id = ? AND state = 'published'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    if ((e = db_run(s, n_r)) || !*n_r || !on_write)
        return e;
    if ((e = db_prepare(d, "SELECT region_code, audience FROM notices WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool has;
    int64_t region = 0;
    bool all = false;
    if (!(e = db_row(s, &has)) && has) {
        region = db_col_int64(s, 0);
        all = !strcmp(db_col_text(s, 1), vocab_name(&notice_audience_vocab, NOTICE_ALL));
    }
    db_done(s);
    return e || !all ? e : on_write(d, id, region);
}

err notice_withdraw(db *d, const struct scope *sc, int64_t id, int64_t now)
{
    err e = live_in_scope(d, sc, id);
    int64_t n = 0;
    return e ? e : withdraw(d, id, now, &n);
}

err notice_fed_withdraw(db *d, int64_t id, int64_t now)
{
    int64_t n = 0;
    return withdraw(d, id, now, &n);
}

err notice_fed_publish(db *d, arena *a, const struct principal *who, int64_t region_code,
                       const char *title, const char *raw_body, bool pinned, int64_t *id_r)
{
    /* title and body checked by the caller's field table (json_check), as
     * the API's; the body is sanitised again here: the parent's sanitiser
     * may be another version, ours decides what residents are shown */
    size_t len = title ? strlen(title) : 0;
    while (len && (title[len - 1] == ' ' || title[len - 1] == '\t'))
        len--;
    while (len && (*title == ' ' || *title == '\t'))
        title++, len--;
    if (!len)
        return err_set(E_INPUT, "required", "title", "请填写通知标题");
    struct notice_input in = {.region_code = region_code,
                              .audience = NOTICE_ALL,
                              .title = arena_strndup(a, title, len),
                              .pinned = pinned};
    if (!raw_body)
        return err_set(E_INPUT, "required", "body", "通知内容不能为空");
    err e = notice_body_clean(a, raw_body, &in.body);
    struct notice n;
    if (!e && !(e = notice_publish(d, a, who, &in, &n)))
        *id_r = n.id;
    return e;
}

err notice_remind(db *d, const struct scope *sc, int64_t id, int64_t now, int64_t *n_r)
{
    err e = live_in_scope(d, sc, id);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE notice_recipients SET reminded_at = ? WHERE notice_id = ? AND "
                        "read_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if ((e = db_prepare(d, "UPDATE notices SET reminded_at = ? WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)))
        return e;
    *n_r = n;
    return E_OK;
}

/* ---- receipts ---- */

static err receipt_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct notice_receipt *r = item;
    r->person_id = db_col_int64(s, 0);
    r->region_code = db_col_int64(s, 1);
    r->building = arena_strdup(a, db_col_text(s, 2));
    r->read_at = db_col_int64(s, 3);
    r->reminded_at = db_col_int64(s, 4);
    return unseal_col(a, s, 5, "persons.name", &r->name);
}

err notice_receipts(db *d, arena *a, int64_t id, const struct notice_receipt_filter *f,
                    struct notice_receipt **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " WHERE x.notice_id = ?");
    query_int(&w, id);
    if (f->state == RECEIPT_READ)
        query_sql(&w, " AND x.read_at > 0");
    else if (f->state == RECEIPT_UNREAD)
        query_sql(&w, " AND x.read_at = 0");
    if (f->building) {
        struct scope b = scope_of(f->building);
        query_sql(&w, " AND x.region_code >= ? AND x.region_code < ?");
        query_int(&w, b.lo);
        query_int(&w, b.hi);
    }
    void *items;
    err e = query_page(
        d, a, &w,
        &(struct query_page){
            .count = "SELECT COUNT(*) FROM notice_recipients x",
            .select = "SELECT x.person_id, x.region_code, rg.name, x.read_at, x.reminded_at, "
                      "p.name_enc FROM notice_recipients x JOIN persons p ON p.id = x.person_id "
                      "LEFT JOIN regions rg ON rg.code = x.region_code",
            .order = " ORDER BY x.region_code, x.person_id",
            .page = f->page,
            .page_size = f->page_size,
            .max = NOTICE_RECEIPTS_EXPORT_MAX,
            .size = sizeof(struct notice_receipt),
            .read = receipt_read},
        &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- the resident's side ---- */

#define MINE_COLS NOTICE_COLS ", r.read_at, r.reminded_at"
#define MINE_FROM NOTICE_FROM " JOIN notice_recipients r ON r.notice_id = n.id"

static err mine_read(db_stmt *s, arena *a, struct notice *n)
{
    err e = notice_read(s, a, n, NULL);
    n->read_at = db_col_int64(s, NOTICE_NCOLS);
    n->my_reminded_at = db_col_int64(s, NOTICE_NCOLS + 1);
    return e;
}

#define NOTICE_MINE_MAX 200

err notice_mine(db *d, arena *a, int64_t person_id, struct notice **items_r, size_t *n_r,
                int64_t *unread_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " MINE_COLS MINE_FROM
                       " WHERE r.person_id = ? AND n.state = 'published' ORDER BY n.pinned DESC, "
                       "n.published_at DESC, n.id DESC LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, NOTICE_MINE_MAX);
    struct notice *items = arena_zalloc(a, NOTICE_MINE_MAX * sizeof *items);
    size_t n = 0;
    int64_t unread = 0;
    bool has;
    while (!(e = db_row(s, &has)) && has && n < NOTICE_MINE_MAX) {
        if ((e = mine_read(s, a, &items[n])))
            break;
        if (!items[n].read_at)
            unread++;
        n++;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *unread_r = unread;
    return E_OK;
}

err notice_open(db *d, arena *a, int64_t person_id, int64_t id, int64_t now, struct notice *n_r,
                bool *first_r)
{
    db_stmt *s;
    int64_t changed = 0;
    /* first time only: the condition in the statement keeps it idempotent */
    err e = db_prepare(d,
                       "UPDATE notice_recipients SET read_at = ? WHERE notice_id = ? AND "
                       "person_id = ? AND read_at = 0 AND EXISTS (SELECT 1 FROM notices n WHERE "
                       "n.id = notice_recipients.notice_id AND n.state = 'published')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, person_id);
    if ((e = db_run(s, &changed)))
        return e;
    if (changed && (e = notice_live_read(d, id))) /* the drawers open on it, after the commit */
        return e;
    if ((e = db_prepare(d,
                        "SELECT " MINE_COLS MINE_FROM
                        " WHERE n.id = ? AND r.person_id = ? AND n.state = 'published'",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, person_id);
    struct notice n = {0};
    bool has;
    if (!(e = db_row(s, &has)) && has)
        e = mine_read(s, a, &n);
    db_done(s);
    if (e)
        return e;
    if (!has)
        return err_set(E_NOT_FOUND, "not_found", "id", "通知不存在");
    *n_r = n;
    *first_r = changed > 0;
    return E_OK;
}

err notice_addressed(db *d, int64_t person_id, int64_t id)
{
    db_stmt *s;
    bool has;
    err e = db_prepare(d,
                       "SELECT 1 FROM notice_recipients r JOIN notices n ON n.id = r.notice_id "
                       "WHERE r.notice_id = ? AND r.person_id = ? AND n.state = 'published'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, person_id);
    e = db_row(s, &has);
    db_done(s);
    if (!e && !has)
        e = err_set(E_NOT_FOUND, "not_found", "id", "通知不存在");
    return e;
}

err notice_system_publish(db *d, arena *a, int64_t region_code, enum notice_audience au,
                          const char *title, const char *text, int64_t *id_r)
{
    *id_r = 0;
    /* the text escaped, each line a paragraph (the sanitiser then keeps it
     * as it is) */
    size_t n = strlen(text), cap = n * 7 + 16; /* "\n" is the longest: 7 bytes */
    char *html = arena_alloc(a, cap), *o = html;
    if (!html)
        return err_set(E_NOMEM, NULL, NULL, NULL);
#define PUT(lit) (memcpy(o, lit, sizeof lit - 1), o += sizeof lit - 1)
    PUT("<p>");
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<':
            PUT("&lt;");
            break;
        case '>':
            PUT("&gt;");
            break;
        case '&':
            PUT("&amp;");
            break;
        case '"':
            PUT("&quot;");
            break;
        case '\n':
            PUT("</p><p>");
            break;
        default:
            *o++ = *p;
        }
    }
    PUT("</p>");
    *o = 0;
#undef PUT
    struct notice_input in = {.region_code = region_code, .audience = au, .title = title};
    err e = notice_body_clean(a, html, &in.body);
    /* a title past the limit is cut at a character boundary */
    size_t chars = 0, i = 0;
    while (title[i] && chars < NOTICE_TITLE_MAX) {
        i++;
        while ((title[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    in.title = arena_strndup(a, title, i);
    struct principal sys = {.user_id = 0, .scope = scope_all()};
    snprintf(sys.display_name, sizeof sys.display_name, "系统通知");
    struct notice nt;
    if (!e)
        e = notice_publish(d, a, &sys, &in, &nt);
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "no_recipients")) {
        err_clear();
        return E_OK;
    }
    if (!e)
        *id_r = nt.id;
    return e;
}

err notice_body_of(db *d, arena *a, int64_t id, const char **body_r)
{
    db_stmt *s;
    bool has;
    err e = db_prepare(d, "SELECT body FROM notices WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if (!(e = db_row(s, &has)) && has)
        *body_r = arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    if (!e && !has)
        e = err_set(E_NOT_FOUND, "not_found", "id", "通知不存在");
    return e;
}

err notice_exchange_json(db *d, arena *a, int64_t id, json_t **out_r)
{
    struct notice n;
    struct scope all = scope_all();
    err e = notice_find(d, a, &all, id, &n);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", n.id);
    char code[19];
    regcode_format(n.region_code, code);
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "audience", json_string(vocab_name(&notice_audience_vocab, n.audience)));
    json_object_set_new(o, "title", json_string(n.title));
    json_object_set_new(o, "body", json_string(n.body));
    json_object_set_new(o, "pinned", json_boolean(n.pinned));
    json_object_set_new(o, "state", json_string(n.withdrawn ? "withdrawn" : "published"));
    json_object_set_new(o, "published_at", json_integer(n.published_at));
    json_object_set_new(o, "withdrawn_at", json_integer(n.withdrawn_at));
    *out_r = o;
    return E_OK;
}

/* ---- replies ---- */

static json_t *ms_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

json_t *notice_json(const struct notice *n, bool with_body)
{
    json_t *o = json_object();
    json_set_id(o, "id", n->id);
    json_set_region(o, n->region_code, n->region_name);
    json_object_set_new(o, "audience",
                        json_string(vocab_name(&notice_audience_vocab, n->audience)));
    json_object_set_new(o, "audience_label",
                        json_string(vocab_label(&notice_audience_vocab, n->audience)));
    if (n->audience == NOTICE_VULNERABLE && n->vulnerable) {
        json_object_set_new(o, "vulnerable", json_string(vulnerable_name(n->vulnerable)));
        json_object_set_new(o, "vulnerable_label", json_string(vulnerable_label(n->vulnerable)));
    } else {
        json_object_set_new(o, "vulnerable", json_null());
    }
    json_object_set_new(o, "title", json_string(n->title));
    if (with_body)
        json_object_set_new(o, "body", json_string(n->body));
    json_object_set_new(o, "pinned", json_boolean(n->pinned));
    json_object_set_new(o, "state", json_string(n->withdrawn ? "withdrawn" : "published"));
    json_object_set_new(o, "state_label", json_string(n->withdrawn ? "已撤回" : "已发布"));
    json_object_set_new(o, "recipients", json_integer(n->recipients));
    json_object_set_new(o, "read", json_integer(n->read));
    json_object_set_new(o, "unread", json_integer(n->recipients - n->read));
    json_object_set_new(o, "editable", json_boolean(!n->withdrawn && n->read == 0));
    json_object_set_new(o, "author_name", json_string(n->author_name));
    json_object_set_new(o, "published_at", json_integer(n->published_at));
    json_object_set_new(o, "updated_at", json_integer(n->updated_at));
    json_object_set_new(o, "withdrawn_at", ms_or_null(n->withdrawn_at));
    json_object_set_new(o, "reminded_at", ms_or_null(n->reminded_at));
    return o;
}

json_t *notice_mine_json(arena *a, const struct notice *n, bool with_body)
{
    json_t *o = json_object();
    json_set_id(o, "id", n->id);
    json_object_set_new(o, "title", json_string(n->title));
    if (with_body)
        json_object_set_new(o, "body", json_string(n->body));
    else
        json_object_set_new(o, "summary", json_string(html_text(a, n->body, 60)));
    json_object_set_new(o, "pinned", json_boolean(n->pinned));
    json_object_set_new(o, "author_name", json_string(n->author_name));
    json_object_set_new(o, "region_name", json_string(n->region_name));
    json_object_set_new(o, "published_at", json_integer(n->published_at));
    json_object_set_new(o, "read", json_boolean(n->read_at > 0));
    json_object_set_new(o, "read_at", ms_or_null(n->read_at));
    /* reminded and still unread when reminded: 再次提醒 */
    json_object_set_new(o, "reminded", json_boolean(n->my_reminded_at > 0));
    return o;
}
