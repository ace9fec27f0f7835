/*
 * News and public-opinion feeds (最新动态, 舆情; publish.h): items imported
 * as JSON or read from an RSS 2.0 or Atom document, pending until approved,
 * then on the public page.
 *
 * The XML is read with expat, already linked for the xlsx reader, rather
 * than a second XML library: a feed needs elements and their text, nothing
 * else. A document that declares a DOCTYPE is refused before its first
 * element is used (the raw bytes are looked at first, and expat's doctype
 * and entity handlers stop the parser should one get past that), so no
 * entity of a feed, internal or external, is ever expanded or fetched.
 */
#include <ctype.h>
#include <expat.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/time.h"
#include "base/validate.h"
#include "publish/internal.h"
#include "publish/publish.h"

static const struct vocab_word kind_words[] = {
    {NULL, NULL},
    [FEED_NEWS] = {"news", "最新动态"},
    [FEED_OPINION] = {"opinion", "舆情"},
};
const struct vocab feed_kind_vocab = VOCAB("feed_kinds", "信息类别", kind_words);

static const struct vocab_word feed_state_words[] = {
    {NULL, NULL},
    [FEED_PENDING] = {"pending", "待审核"},
    [FEED_APPROVED] = {"approved", "已通过"},
    [FEED_REJECTED] = {"rejected", "已驳回"},
};
const struct vocab feed_state_vocab = VOCAB("feed_states", "审核状态", feed_state_words);

/* ---- checking ------------------------------------------------------------------------------ */

static const char *field_of(arena *a, const char *prefix, const char *member)
{
    return prefix ? arena_printf(a, "%s.%s", prefix, member) : member;
}

err feed_input_check(const struct feed_input *in, const char *prefix, arena *a)
{
    err e;
    if (!vocab_name(&feed_kind_vocab, in->kind)[0])
        return err_set(E_INPUT, "invalid_value", field_of(a, prefix, "kind"), "信息类别不正确");
    if ((e = check_text(in->title, field_of(a, prefix, "title"), "标题", FEED_TITLE_MAX,
                        TEXT_REQUIRED | TEXT_ONE_LINE)) ||
        (e = check_text(in->link, field_of(a, prefix, "link"), "链接", FEED_LINK_MAX,
                        TEXT_ONE_LINE)) ||
        (e = check_text(in->guid, field_of(a, prefix, "guid"), "唯一标识", FEED_LINK_MAX,
                        TEXT_ONE_LINE)) ||
        (e = check_text(in->summary, field_of(a, prefix, "summary"), "摘要", FEED_SUMMARY_MAX,
                        0)) ||
        (e = check_text(in->source, field_of(a, prefix, "source"), "来源", FEED_SOURCE_MAX,
                        TEXT_ONE_LINE)))
        return e;
    if (in->link && *in->link && strncmp(in->link, "https://", 8) &&
        strncmp(in->link, "http://", 7))
        return err_set(E_INPUT, "invalid_value", field_of(a, prefix, "link"),
                       "链接应以 http:// 或 https:// 开头");
    if ((!in->link || !*in->link) && (!in->guid || !*in->guid))
        return err_set(E_INPUT, "required", field_of(a, prefix, "link"),
                       "请填写链接或唯一标识（用于去重）");
    return E_OK;
}

/* ---- RSS and Atom ----------------------------------------------------------------------- */

#define FEED_FIELD_MAX (64u << 10) /* bytes of one element's text kept */

enum ffield { F_NONE, F_TITLE, F_LINK, F_GUID, F_SUMMARY, F_SOURCE, F_DATE, F__N };

struct parse {
    XML_Parser p;
    arena *a;
    enum feed_kind kind;
    bool doctype, atom, rss, in_item;
    int depth, item_depth, source_depth;
    enum ffield cur;
    struct sbuf text[F__N];
    struct feed_input *items;
    size_t n, cap;
    bool too_many;
};

static const char *local_name(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static void refuse_doctype(void *ud, const XML_Char *name, const XML_Char *sys, const XML_Char *pub,
                           int internal)
{
    (void)name, (void)sys, (void)pub, (void)internal;
    struct parse *x = ud;
    x->doctype = true;
    XML_StopParser(x->p, XML_FALSE);
}

static void refuse_entity(void *ud, const XML_Char *name, int param, const XML_Char *value, int len,
                          const XML_Char *base, const XML_Char *sys, const XML_Char *pub,
                          const XML_Char *notation)
{
    (void)name, (void)param, (void)value, (void)len, (void)base, (void)sys, (void)pub,
        (void)notation;
    struct parse *x = ud;
    x->doctype = true;
    XML_StopParser(x->p, XML_FALSE);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct parse *x = ud;
    const char *el = local_name(name);
    x->depth++;
    if (x->depth == 1) {
        x->rss = !strcmp(el, "rss") || !strcmp(el, "RDF");
        x->atom = !strcmp(el, "feed");
        return;
    }
    if (!x->in_item) {
        if ((x->rss && !strcmp(el, "item")) || (x->atom && !strcmp(el, "entry"))) {
            x->in_item = true;
            x->item_depth = x->depth;
            x->source_depth = 0;
            for (int f = 0; f < F__N; f++)
                sbuf_init(&x->text[f], x->a, FEED_FIELD_MAX);
        }
        return;
    }
    if (x->depth != x->item_depth + 1) {
        /* Atom: <source><title> names the origin */
        if (x->atom && x->source_depth && x->depth == x->source_depth + 1 && !strcmp(el, "title"))
            x->cur = F_SOURCE;
        return;
    }
    x->cur = F_NONE;
    if (!strcmp(el, "title"))
        x->cur = F_TITLE;
    else if (!strcmp(el, "guid") || (x->atom && !strcmp(el, "id")))
        x->cur = F_GUID;
    else if (!strcmp(el, "description") || !strcmp(el, "summary") ||
             (!strcmp(el, "content") && !x->text[F_SUMMARY].n))
        x->cur = F_SUMMARY;
    else if (!strcmp(el, "pubDate") || !strcmp(el, "published") || !strcmp(el, "updated") ||
             !strcmp(el, "date"))
        x->cur = x->text[F_DATE].n ? F_NONE : F_DATE;
    else if (!strcmp(el, "source")) {
        x->cur = x->rss ? F_SOURCE : F_NONE;
        x->source_depth = x->depth;
    } else if (!strcmp(el, "link")) {
        if (x->rss) {
            x->cur = F_LINK;
        } else {
            /* Atom: <link href rel="alternate"> (rel absent means alternate) */
            const char *href = NULL, *rel = NULL;
            for (int i = 0; attrs[i]; i += 2) {
                if (!strcmp(attrs[i], "href"))
                    href = attrs[i + 1];
                else if (!strcmp(attrs[i], "rel"))
                    rel = attrs[i + 1];
            }
            if (href && (!rel || !strcmp(rel, "alternate")) && !x->text[F_LINK].n)
                sbuf_puts(&x->text[F_LINK], href);
        }
    }
}

/* The text of an element, trimmed, in the arena. */
static const char *trimmed(struct sbuf *b, arena *a)
{
    if (!b->n)
        return "";
    size_t i = 0, n = b->n;
    while (i < n && isspace((unsigned char)b->p[i]))
        i++;
    while (n > i && isspace((unsigned char)b->p[n - 1]))
        n--;
    return arena_strndup(a, b->p + i, n - i);
}

/* Markup of an RSS description dropped, entities of HTML decoded, spaces
 * collapsed, cut at max characters: plain text to show as text. */
static const char *plain(const char *s, size_t max, arena *a)
{
    static const struct {
        const char *ent, *ch;
    } ents[] = {{"&amp;", "&"},   {"&lt;", "<"},  {"&gt;", ">"},
                {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
    size_t len = strlen(s);
    char *out = arena_alloc(a, len + 1);
    size_t n = 0, chars = 0;
    bool space = false;
    while (*s && chars < max) {
        if (*s == '<') {
            const char *end = strchr(s, '>');
            s = end ? end + 1 : s + strlen(s);
            space = n > 0;
            continue;
        }
        if (isspace((unsigned char)*s)) {
            space = n > 0;
            s++;
            continue;
        }
        const char *rep = NULL;
        size_t skip = 1;
        if (*s == '&')
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++)
                if (!strncmp(s, ents[k].ent, strlen(ents[k].ent))) {
                    rep = ents[k].ch;
                    skip = strlen(ents[k].ent);
                }
        if (rep && *rep == ' ') {
            space = n > 0;
            s += skip;
            continue;
        }
        if (space) {
            out[n++] = ' ';
            chars++;
            space = false;
        }
        if (rep) {
            out[n++] = *rep;
            chars++;
            s += skip;
            continue;
        }
        /* one UTF-8 character, whole */
        size_t clen = 1;
        while (s[clen] && ((unsigned char)s[clen] & 0xC0) == 0x80)
            clen++;
        memcpy(out + n, s, clen);
        n += clen;
        chars++;
        s += clen;
    }
    out[n] = 0;
    return out;
}

/* RFC 822 (RSS) or RFC 3339 (Atom) time as epoch ms; 0 when neither. */
static int64_t feed_time(const char *s)
{
    struct tm tm = {0};
    const char *rest;
    int64_t offset_min = 0;
    if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))) {
        while (*rest == '.' || isdigit((unsigned char)*rest))
            rest++;
        if (*rest == '+' || *rest == '-') {
            int h = 0, m = 0;
            if (sscanf(rest + 1, "%2d:%2d", &h, &m) == 2)
                offset_min = (*rest == '-' ? -1 : 1) * (h * 60 + m);
        }
    } else {
        memset(&tm, 0, sizeof tm);
        const char *p = s;
        const char *comma = strchr(s, ',');
        if (comma)
            p = comma + 1;
        if (!(rest = strptime(p, " %d %b %Y %H:%M", &tm)))
            return 0;
        if (*rest == ':')
            rest = strptime(rest, ":%S", &tm);
        if (!rest)
            return 0;
        while (*rest == ' ')
            rest++;
        if ((*rest == '+' || *rest == '-') && isdigit((unsigned char)rest[1])) {
            int v = 0;
            if (sscanf(rest + 1, "%4d", &v) == 1)
                offset_min = (*rest == '-' ? -1 : 1) * (v / 100 * 60 + v % 100);
        }
    }
    time_t t = timegm(&tm);
    if (t <= 0)
        return 0;
    return ((int64_t)t - offset_min * 60) * 1000;
}

static void on_end(void *ud, const XML_Char *name)
{
    struct parse *x = ud;
    (void)name;
    if (x->in_item && x->depth == x->item_depth) {
        x->in_item = false;
        if (x->n == FEED_BATCH_MAX) {
            x->too_many = true;
        } else {
            if (x->n == x->cap) {
                size_t cap = x->cap ? x->cap * 2 : 32;
                struct feed_input *grown = arena_alloc(x->a, cap * sizeof *grown);
                if (x->n)
                    memcpy(grown, x->items, x->n * sizeof *grown);
                x->items = grown;
                x->cap = cap;
            }
            x->items[x->n++] = (struct feed_input){
                .kind = x->kind,
                .title = plain(trimmed(&x->text[F_TITLE], x->a), FEED_TITLE_MAX, x->a),
                .link = trimmed(&x->text[F_LINK], x->a),
                .guid = trimmed(&x->text[F_GUID], x->a),
                .summary = plain(trimmed(&x->text[F_SUMMARY], x->a), FEED_SUMMARY_MAX, x->a),
                .source = plain(trimmed(&x->text[F_SOURCE], x->a), FEED_SOURCE_MAX, x->a),
                .published_at = feed_time(trimmed(&x->text[F_DATE], x->a)),
            };
        }
    }
    if (x->source_depth == x->depth)
        x->source_depth = 0;
    x->cur = F_NONE;
    x->depth--;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    struct parse *x = ud;
    if (x->in_item && x->cur != F_NONE && len > 0)
        sbuf_add(&x->text[x->cur], s, (size_t)len);
}

/* Does the document declare a DOCTYPE or an entity? (ASCII, any case.) */
static bool has_declaration(const char *xml, size_t n)
{
    for (size_t i = 0; i + 9 <= n; i++)
        if (xml[i] == '<' && xml[i + 1] == '!' &&
            (!strncasecmp(xml + i + 2, "DOCTYPE", 7) || !strncasecmp(xml + i + 2, "ENTITY", 6)))
            return true;
    return false;
}

err feed_parse(const char *xml, size_t n, enum feed_kind kind, arena *a,
               struct feed_input **items_r, size_t *n_r)
{
    if (has_declaration(xml, n))
        return err_set(E_INPUT, "feed_doctype", "file",
                       "订阅文件不能包含 DOCTYPE 或实体声明（出于安全原因拒绝）");
    struct parse x = {.a = a, .kind = kind};
    x.p = XML_ParserCreate("UTF-8");
    if (!x.p)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    XML_SetUserData(x.p, &x);
    XML_SetStartDoctypeDeclHandler(x.p, refuse_doctype);
    XML_SetEntityDeclHandler(x.p, refuse_entity);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    enum XML_Status st =
        n > (size_t)INT32_MAX ? XML_STATUS_ERROR : XML_Parse(x.p, xml, (int)n, XML_TRUE);
    long line = (long)XML_GetCurrentLineNumber(x.p);
    XML_ParserFree(x.p);
    if (x.doctype)
        return err_set(E_INPUT, "feed_doctype", "file",
                       "订阅文件不能包含 DOCTYPE 或实体声明（出于安全原因拒绝）");
    if (st != XML_STATUS_OK)
        return err_set(E_INPUT, "invalid_feed", "file", "订阅文件不是格式正确的 XML（第 %ld 行）",
                       line);
    if (!x.rss && !x.atom)
        return err_set(E_INPUT, "invalid_feed", "file", "订阅文件应为 RSS 2.0 或 Atom 格式");
    if (x.too_many)
        return err_set(E_INPUT, "invalid_feed", "file", "一次最多导入 %d 条", FEED_BATCH_MAX);
    *items_r = x.items;
    *n_r = x.n;
    return E_OK;
}

/* ---- storage -------------------------------------------------------------------------------- */

err feed_import(db *d, const struct principal *who, const struct feed_input *items, size_t n,
                int64_t *created_r, int64_t *dup_r)
{
    err e = db_begin(d);
    int64_t created = 0, dup = 0, now = now_ms();
    for (size_t i = 0; i < n && !e; i++) {
        const struct feed_input *it = &items[i];
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO feed_items (id, region_code, kind, dedupe_key, title, "
                            "link, summary, source, published_at, state, created_by, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (dedupe_key) DO NOTHING",
                            &s)))
            break;
        int64_t changed = 0;
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, who->scope.lo);
        db_bind_text(s, 3, vocab_name(&feed_kind_vocab, it->kind));
        db_bind_text(s, 4, it->guid && *it->guid ? it->guid : it->link);
        db_bind_text(s, 5, it->title);
        db_bind_text(s, 6, it->link ? it->link : "");
        db_bind_text(s, 7, it->summary ? it->summary : "");
        db_bind_text(s, 8, it->source ? it->source : "");
        db_bind_int64(s, 9, it->published_at);
        db_bind_text(s, 10, vocab_name(&feed_state_vocab, FEED_PENDING));
        db_bind_int64(s, 11, who->user_id);
        db_bind_int64(s, 12, now);
        if (!(e = db_run(s, &changed)))
            *(changed ? &created : &dup) += 1;
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *created_r = created;
    *dup_r = dup;
    return E_OK;
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char t[CHINA_TIME_LEN];
    china_time(ms, t);
    json_object_set_new(o, key, ms > 0 ? json_string(t) : json_null());
}

/* Columns 0..6 of a feed row as the public sees them. */
static json_t *public_item(db_stmt *s)
{
    const char *kind = db_col_text(s, 0);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", kind, "kind_label",
                  vocab_label_of(&feed_kind_vocab, kind), "title", db_col_text(s, 1), "link",
                  db_col_text(s, 2), "summary", db_col_text(s, 3), "source", db_col_text(s, 4));
    set_time(o, "published_at", db_col_int64(s, 5) ? db_col_int64(s, 5) : db_col_int64(s, 6));
    return o;
}

#define FEED_COLUMNS "kind, title, link, summary, source, published_at, created_at"

err feed_public_list(db *d, arena *a, int64_t max, json_t **items_r)
{
    (void)a;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " FEED_COLUMNS " FROM feed_items WHERE state = ? "
                       "ORDER BY published_at DESC, id DESC LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&feed_state_vocab, FEED_APPROVED));
    db_bind_int64(s, 2, max);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row)
        json_array_append_new(items, public_item(s));
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err feed_list(db *d, arena *a, const struct scope *sc, enum feed_state state, int64_t page,
              int64_t page_size, json_t **items_r, int64_t *total_r)
{
    (void)a;
    const char *st = state ? vocab_name(&feed_state_vocab, state) : NULL;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM feed_items WHERE region_code >= ? AND region_code < ? "
                       "AND (CAST(? AS TEXT) IS NULL OR state = ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    bool row;
    int64_t total = 0;
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT " FEED_COLUMNS ", id, state, decided_at, "
                             "(SELECT u.display_name FROM users u WHERE u.id = created_by) "
                             "FROM feed_items WHERE region_code >= ? AND region_code < ? AND "
                             "(CAST(? AS TEXT) IS NULL OR state = ?) ORDER BY id DESC "
                             "LIMIT ? OFFSET ?",
                             &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    db_bind_int64(s, 5, page_size);
    db_bind_int64(s, 6, paging_offset(page, page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = public_item(s);
        json_set_id(o, "id", db_col_int64(s, 7));
        json_object_set_new(o, "state", json_string(db_col_text(s, 8)));
        json_object_set_new(o, "state_label",
                            json_string(vocab_label_of(&feed_state_vocab, db_col_text(s, 8))));
        set_time(o, "decided_at", db_col_int64(s, 9));
        set_time(o, "created_at", db_col_int64(s, 6));
        json_object_set_new(o, "created_by_name", json_string(db_col_text(s, 10)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    return E_OK;
}

err feed_decide(db *d, const struct principal *who, int64_t id, bool approve)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE feed_items SET state = ?, decided_by = ?, decided_at = ? "
                       "WHERE id = ? AND region_code >= ? AND region_code < ? AND state = ?",
                       &s);
    if (e)
        return e;
    int64_t changed = 0;
    db_bind_text(s, 1, vocab_name(&feed_state_vocab, approve ? FEED_APPROVED : FEED_REJECTED));
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, who->scope.lo);
    db_bind_int64(s, 6, who->scope.hi);
    db_bind_text(s, 7, vocab_name(&feed_state_vocab, FEED_PENDING));
    if ((e = db_run(s, &changed)) || changed)
        return e;
    if ((e = db_prepare(d,
                        "SELECT state FROM feed_items WHERE id = ? AND region_code >= ? AND "
                        "region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->scope.lo);
    db_bind_int64(s, 3, who->scope.hi);
    bool row;
    char state[32] = "";
    if (!(e = db_row(s, &row)) && row)
        snprintf(state, sizeof state, "%s", db_col_text(s, 0));
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", NULL, "信息不存在");
    return err_set(E_CONFLICT, "invalid_transition", "state", "该信息已%s",
                   vocab_label_of(&feed_state_vocab, state));
}
