/*
 * Polls and surveys (notice.h "Polls"): the SQL. The questions are one
 * checked JSON array kept as text (fixed once published, read whole); the
 * answers one row per option chosen or text written, carrying the
 * resident's building and never the resident, so the results are counts.
 * "One answer per resident" is the UPDATE of the recipient's row guarded
 * by answered_at = 0, inside the transaction that inserts the answers.
 */
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "db/query.h"
#include "notice/notice.h"

static const struct vocab_word qtype_words[] = {
    {NULL, NULL},
    {"single", "单选"},
    {"multiple", "多选"},
    {"text", "填空"},
};
const struct vocab poll_qtype_vocab = VOCAB("poll_question_types", "问题类型", qtype_words);
_Static_assert(sizeof qtype_words / sizeof qtype_words[0] == POLL_QTYPE__COUNT,
               "a word for every question type");

void poll_free(struct poll *p)
{
    if (p && p->questions) {
        json_decref(p->questions);
        p->questions = NULL;
    }
}

/* ---- questions ---- */

static err q_err(const char *slug, size_t i, const char *member, const char *msg)
{
    char field[64];
    snprintf(field, sizeof field, "questions[%zu]%s%s", i, member ? "." : "", member ? member : "");
    return err_set(E_INPUT, slug, field, "%s", msg);
}

/* a trimmed non-empty string of at most max characters, or NULL */
static json_t *clean_text(json_t *v, size_t max)
{
    if (!json_is_string(v))
        return NULL;
    const char *t = json_string_value(v);
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n)
        return NULL;
    json_t *s = json_stringn(t, n);
    if (s && (utf8_len(json_string_value(s)) > max || !utf8_valid_text(json_string_value(s)))) {
        json_decref(s);
        return NULL;
    }
    return s;
}

err poll_questions_check(json_t *q, json_t **clean_r)
{
    if (!json_is_array(q) || json_array_size(q) == 0)
        return err_set(E_INPUT, "required", "questions", "请至少设置一个问题");
    if (json_array_size(q) > POLL_QUESTIONS_MAX)
        return err_set(E_INPUT, "too_long", "questions", "问题不能超过 20 个");
    json_t *out = json_array();
    size_t i;
    json_t *item;
    err e = E_OK;
    json_array_foreach(q, i, item)
    {
        if (!json_is_object(item)) {
            e = q_err("invalid_type", i, NULL, "问题格式不正确");
            break;
        }
        const char *k;
        json_t *v;
        json_object_foreach(item, k, v)
        {
            if (strcmp(k, "text") && strcmp(k, "type") && strcmp(k, "options")) {
                e = q_err("unknown_field", i, k, "问题含有未知字段");
                break;
            }
        }
        if (e)
            break;
        json_t *text = clean_text(json_object_get(item, "text"), POLL_TEXT_MAX);
        if (!text) {
            e = q_err("required", i, "text", "请填写问题（不超过 500 字）");
            break;
        }
        const char *ts = json_string_value(json_object_get(item, "type"));
        int type = ts ? vocab_parse(&poll_qtype_vocab, ts) : 0;
        if (type <= 0) {
            json_decref(text);
            e = q_err("invalid_value", i, "type", "问题类型只能为单选、多选或填空");
            break;
        }
        json_t *opts = json_object_get(item, "options"), *copts = json_array();
        if (type == POLL_TEXT) {
            if (opts && !json_is_null(opts) && (!json_is_array(opts) || json_array_size(opts))) {
                e = q_err("invalid_value", i, "options", "填空题没有选项");
            }
        } else if (!json_is_array(opts) || json_array_size(opts) < 2 ||
                   json_array_size(opts) > POLL_OPTIONS_MAX) {
            e = q_err("invalid_value", i, "options", "选择题须有 2 到 20 个选项");
        } else {
            size_t j;
            json_t *o;
            json_array_foreach(opts, j, o)
            {
                json_t *c = clean_text(o, 100);
                if (!c) {
                    char m[32];
                    snprintf(m, sizeof m, "options[%zu]", j);
                    e = q_err("invalid_value", i, m, "选项不能为空且不超过 100 字");
                    break;
                }
                json_array_append_new(copts, c);
            }
        }
        if (e) {
            json_decref(text);
            json_decref(copts);
            break;
        }
        json_t *cq = json_object();
        json_object_set_new(cq, "text", text);
        json_object_set_new(cq, "type", json_string(vocab_name(&poll_qtype_vocab, type)));
        json_object_set_new(cq, "options", copts);
        json_array_append_new(out, cq);
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *clean_r = out;
    return E_OK;
}

/* ---- reading ---- */

#define POLL_COLS                                                                                  \
    "p.id, p.region_code, rg.name, p.audience, p.vulnerable, p.title, p.description, "             \
    "p.show_results, p.state, p.recipients, (SELECT COUNT(*) FROM poll_recipients x WHERE "        \
    "x.poll_id = p.id AND x.answered_at > 0), p.author_name, p.created_at, p.closes_at, "          \
    "p.closed_at, p.questions"
#define POLL_FROM  " FROM polls p LEFT JOIN regions rg ON rg.code = p.region_code"
#define POLL_NCOLS 16

struct read_ctx {
    int64_t now;
    bool questions;
};

static err poll_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    const struct read_ctx *c = ctx;
    struct poll *p = item;
    p->id = db_col_int64(s, 0);
    p->region_code = db_col_int64(s, 1);
    p->region_name = arena_strdup(a, db_col_text(s, 2));
    int au = vocab_parse(&notice_audience_vocab, db_col_text(s, 3));
    p->audience = au > 0 ? (enum notice_audience)au : NOTICE_ALL;
    p->vulnerable = (unsigned)db_col_int64(s, 4);
    p->title = arena_strdup(a, db_col_text(s, 5));
    p->description = arena_strdup(a, db_col_text(s, 6));
    p->show_results = db_col_int64(s, 7) != 0;
    p->closed_early = !strcmp(db_col_text(s, 8), "closed");
    p->recipients = db_col_int64(s, 9);
    p->answered = db_col_int64(s, 10);
    p->author_name = arena_strdup(a, db_col_text(s, 11));
    p->created_at = db_col_int64(s, 12);
    p->closes_at = db_col_int64(s, 13);
    p->closed_at = db_col_int64(s, 14);
    p->closed = p->closed_early || p->closes_at <= c->now;
    if (c->questions) {
        json_error_t je;
        p->questions = json_loads(db_col_text(s, 15), 0, &je);
        if (!json_is_array(p->questions)) {
            poll_free(p);
            return err_set(E_INTERNAL, "internal", NULL, "问卷数据损坏");
        }
    }
    return E_OK;
}

err poll_publish(db *d, const struct principal *who, const struct poll_input *in, int64_t now,
                 int64_t *id_r, int64_t *recipients_r)
{
    err e = notice_target_check(d, who, in->region_code, in->audience);
    if (e)
        return e;
    if (in->closes_at <= now)
        return err_set(E_INPUT, "out_of_range", "closes_at", "截止时间须晚于现在");
    int64_t id = id_new(), n = 0;
    if ((e = notice_audience_fill(d, RCPT_POLL, id, in->region_code, in->audience, in->vulnerable,
                                  &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "no_recipients", "audience", "所选范围内没有符合条件的居民");
    char *qs = json_dumps(in->questions, JSON_COMPACT);
    if (!qs)
        return err_set(E_INTERNAL, "internal", NULL, "内存不足");
    db_stmt *s;
    if (!(e = db_prepare(d,
                         "INSERT INTO polls (id, region_code, audience, vulnerable, title, "
                         "description, questions, show_results, state, recipients, author_id, "
                         "author_name, created_at, closes_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                         "'open', ?, ?, ?, ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, in->region_code);
        db_bind_text(s, 3, vocab_name(&notice_audience_vocab, in->audience));
        db_bind_int64(s, 4, in->audience == NOTICE_VULNERABLE ? (int64_t)in->vulnerable : 0);
        db_bind_text(s, 5, in->title);
        db_bind_text(s, 6, in->description);
        db_bind_text(s, 7, qs);
        db_bind_int64(s, 8, in->show_results);
        db_bind_int64(s, 9, n);
        db_bind_int64(s, 10, who->user_id);
        db_bind_text(s, 11, who->display_name[0] ? who->display_name : who->username);
        db_bind_int64(s, 12, now);
        db_bind_int64(s, 13, in->closes_at);
        e = db_run(s, NULL);
    }
    free(qs);
    if (e)
        return e;
    *id_r = id;
    *recipients_r = n;
    return E_OK;
}

err poll_find(db *d, arena *a, const struct scope *sc, int64_t id, int64_t now, struct poll *p_r)
{
    struct read_ctx c = {now, true};
    return query_one(d, a,
                     &(struct query_one){
                         .select = "SELECT " POLL_COLS POLL_FROM
                                   " WHERE p.id = ? AND p.region_code >= ? AND p.region_code < ?",
                         .id = id,
                         .lo = sc->lo,
                         .hi = sc->hi,
                         .size = sizeof *p_r,
                         .read = poll_read,
                         .ctx = &c,
                         .missing = "问卷不存在"},
                     p_r);
}

err poll_list(db *d, arena *a, const struct scope *sc, int64_t now, int64_t page, int64_t page_size,
              struct poll **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " WHERE p.region_code >= ? AND p.region_code < ?");
    query_int(&w, sc->lo);
    query_int(&w, sc->hi);
    struct read_ctx c = {now, false};
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM polls p",
                                            .select = "SELECT " POLL_COLS POLL_FROM,
                                            .order = " ORDER BY p.created_at DESC, p.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = 1000,
                                            .size = sizeof(struct poll),
                                            .read = poll_read,
                                            .ctx = &c},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

err poll_close(db *d, const struct scope *sc, int64_t id, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE polls SET state = 'closed', closed_at = ? WHERE id = ? AND "
                       "region_code >= ? AND region_code < ? AND state = 'open' AND closes_at > ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    db_bind_int64(s, 5, now);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_CONFLICT, "poll_closed", NULL, "问卷已截止");
}

/* ---- the resident's side ---- */

#define MINE_COLS     POLL_COLS ", r.answered_at"
#define MINE_FROM     POLL_FROM " JOIN poll_recipients r ON r.poll_id = p.id"
#define POLL_MINE_MAX 100

/* A row of MINE_COLS: the poll and when this resident answered it. */
static err mine_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    struct poll *p = item;
    err e = poll_read(s, a, p, ctx);
    if (!e)
        p->my_answered_at = db_col_int64(s, POLL_NCOLS);
    return e;
}

err poll_mine(db *d, arena *a, int64_t person_id, int64_t now, struct poll **items_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " MINE_COLS MINE_FROM
                       " WHERE r.person_id = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, POLL_MINE_MAX);
    struct poll *items = arena_zalloc(a, POLL_MINE_MAX * sizeof *items);
    struct read_ctx c = {now, false};
    size_t n = 0;
    bool has;
    while (!(e = db_row(s, &has)) && has && n < POLL_MINE_MAX &&
           !(e = mine_read(s, a, &items[n], &c)))
        n++;
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err poll_mine_one(db *d, arena *a, int64_t person_id, int64_t id, int64_t now, struct poll *p_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " MINE_COLS MINE_FROM " WHERE p.id = ? AND r.person_id = ?");
    query_int(&q, id);
    query_int(&q, person_id);
    struct read_ctx c = {now, true};
    return query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *p_r, .read = mine_read, .ctx = &c, .missing = "问卷不存在"},
        p_r);
}

static err a_err(size_t i, const char *msg)
{
    char field[32];
    snprintf(field, sizeof field, "answers[%zu]", i);
    return err_set(E_INPUT, "invalid_value", field, "%s", msg);
}

/* answer i checked against question q */
static err answer_check(size_t i, json_t *q, json_t *v)
{
    const char *type = json_string_value(json_object_get(q, "type"));
    int64_t nopt = (int64_t)json_array_size(json_object_get(q, "options"));
    if (!strcmp(type, "single")) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= nopt)
            return a_err(i, "请选择一个选项");
    } else if (!strcmp(type, "multiple")) {
        if (!json_is_array(v) || json_array_size(v) == 0 || (int64_t)json_array_size(v) > nopt)
            return a_err(i, "请至少选择一个选项");
        size_t j, k;
        json_t *o, *o2;
        json_array_foreach(v, j, o)
        {
            if (!json_is_integer(o) || json_integer_value(o) < 0 || json_integer_value(o) >= nopt)
                return a_err(i, "选项不存在");
            /* at most POLL_OPTIONS_MAX items: the quadratic check is cheap */
            for (k = 0; k < j; k++) {
                o2 = json_array_get(v, k);
                if (json_integer_value(o2) == json_integer_value(o))
                    return a_err(i, "选项重复");
            }
        }
    } else {
        if (!json_is_string(v) || utf8_len(json_string_value(v)) > POLL_TEXT_MAX ||
            !utf8_valid_text(json_string_value(v)))
            return a_err(i, "填空内容不超过 500 字");
    }
    return E_OK;
}

static err answer_row(db *d, int64_t poll, int64_t person, size_t q, int64_t choice,
                      const char *text)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO poll_answers (poll_id, region_code, question, choice, text) "
                       "SELECT ?, region_code, ?, ?, ? FROM poll_recipients WHERE poll_id = ? "
                       "AND person_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, poll);
    db_bind_int64(s, 2, (int64_t)q);
    db_bind_int64(s, 3, choice);
    db_bind_text(s, 4, text);
    db_bind_int64(s, 5, poll);
    db_bind_int64(s, 6, person);
    return db_run(s, NULL);
}

err poll_answer(db *d, int64_t person_id, const struct poll *p, json_t *answers, int64_t now)
{
    if (p->closed)
        return err_set(E_CONFLICT, "poll_closed", NULL, "问卷已截止");
    if (p->my_answered_at)
        return err_set(E_CONFLICT, "already_voted", NULL, "您已提交过，每人只能提交一次");
    size_t nq = json_array_size(p->questions);
    if (!json_is_array(answers) || json_array_size(answers) != nq)
        return err_set(E_INPUT, "invalid_value", "answers", "请回答全部问题");
    size_t i;
    json_t *v;
    err e;
    json_array_foreach(answers, i, v)
    {
        if ((e = answer_check(i, json_array_get(p->questions, i), v)))
            return e;
    }
    /* the guard: a concurrent second answer finds answered_at set */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE poll_recipients SET answered_at = ? WHERE poll_id = ? AND "
                        "person_id = ? AND answered_at = 0 AND EXISTS (SELECT 1 FROM polls p "
                        "WHERE p.id = poll_recipients.poll_id AND p.state = 'open' AND "
                        "p.closes_at > ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, p->id);
    db_bind_int64(s, 3, person_id);
    db_bind_int64(s, 4, now);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "already_voted", NULL, "您已提交过，每人只能提交一次");
    json_array_foreach(answers, i, v)
    {
        if (json_is_integer(v)) {
            e = answer_row(d, p->id, person_id, i, json_integer_value(v), "");
        } else if (json_is_array(v)) {
            size_t j;
            json_t *o;
            json_array_foreach(v, j, o)
            {
                if ((e = answer_row(d, p->id, person_id, i, json_integer_value(o), "")))
                    break;
            }
        } else if (*json_string_value(v)) {
            e = answer_row(d, p->id, person_id, i, -1, json_string_value(v));
        }
        if (e)
            return e;
    }
    return E_OK;
}

/* ---- results ---- */

/* a zeroed [[count per option] per question] (null for a text question) */
static json_t *zero_counts(const struct poll *p)
{
    json_t *arr = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(p->questions, i, q)
    {
        size_t n = json_array_size(json_object_get(q, "options"));
        if (!n) {
            json_array_append_new(arr, json_null());
            continue;
        }
        json_t *c = json_array();
        for (size_t j = 0; j < n; j++)
            json_array_append_new(c, json_integer(0));
        json_array_append_new(arr, c);
    }
    return arr;
}

static void count_add(json_t *counts, int64_t q, int64_t choice, int64_t n)
{
    json_t *c = json_array_get(counts, (size_t)q);
    json_t *cell = c ? json_array_get(c, (size_t)choice) : NULL;
    if (cell)
        json_integer_set(cell, json_integer_value(cell) + n);
}

#define POLL_TEXTS_MAX 1000

err poll_results(db *d, arena *a, const struct poll *p, bool with_texts, json_t **out_r)
{
    db_stmt *s;
    bool has;
    err e;
    json_t *total = zero_counts(p), *buildings = json_array(), *texts = json_array();
    int64_t *codes = NULL;
    size_t nb = 0, cap = 0;
    /* the buildings of the recipients, with how many answered */
    if ((e = db_prepare(d,
                        "SELECT r.region_code, rg.name, COUNT(*), SUM(CASE WHEN r.answered_at > 0 "
                        "THEN 1 ELSE 0 END) FROM poll_recipients r LEFT JOIN regions rg ON "
                        "rg.code = r.region_code WHERE r.poll_id = ? GROUP BY r.region_code, "
                        "rg.name ORDER BY r.region_code",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, p->id);
    while (!(e = db_row(s, &has)) && has) {
        json_t *b = json_object();
        json_set_region(b, db_col_int64(s, 0), db_col_text(s, 1));
        json_object_set_new(b, "recipients", json_integer(db_col_int64(s, 2)));
        json_object_set_new(b, "answered", json_integer(db_col_int64(s, 3)));
        json_object_set_new(b, "counts", zero_counts(p));
        json_array_append_new(buildings, b);
        if (nb == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *nc = arena_alloc(a, cap * sizeof *nc);
            if (nb)
                memcpy(nc, codes, nb * sizeof *nc);
            codes = nc;
        }
        codes[nb++] = db_col_int64(s, 0);
    }
    db_done(s);
    if (e)
        goto fail;
    if ((e = db_prepare(d,
                        "SELECT region_code, question, choice, COUNT(*) FROM poll_answers WHERE "
                        "poll_id = ? AND choice >= 0 GROUP BY region_code, question, choice "
                        "ORDER BY region_code",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, p->id);
    size_t bi = 0;
    while (!(e = db_row(s, &has)) && has) {
        int64_t rc = db_col_int64(s, 0), q = db_col_int64(s, 1), ch = db_col_int64(s, 2),
                n = db_col_int64(s, 3);
        count_add(total, q, ch, n);
        /* both ordered by region code: walk the buildings alongside */
        while (bi < nb && codes[bi] < rc)
            bi++;
        if (bi < nb && codes[bi] == rc)
            count_add(json_object_get(json_array_get(buildings, bi), "counts"), q, ch, n);
    }
    db_done(s);
    if (e)
        goto fail;
    if (with_texts) {
        if ((e = db_prepare(d,
                            "SELECT question, text FROM poll_answers WHERE poll_id = ? AND choice "
                            "= -1 ORDER BY question LIMIT ?",
                            &s)))
            goto fail;
        db_bind_int64(s, 1, p->id);
        db_bind_int64(s, 2, POLL_TEXTS_MAX);
        while (!(e = db_row(s, &has)) && has) {
            json_t *t = json_object();
            json_object_set_new(t, "question", json_integer(db_col_int64(s, 0)));
            json_object_set_new(t, "text", json_string(db_col_text(s, 1)));
            json_array_append_new(texts, t);
        }
        db_done(s);
        if (e)
            goto fail;
    }
    json_t *o = json_object();
    json_object_set_new(o, "recipients", json_integer(p->recipients));
    json_object_set_new(o, "answered", json_integer(p->answered));
    json_object_set_new(o, "counts", total);
    json_object_set_new(o, "buildings", buildings);
    json_object_set_new(o, "texts", texts);
    *out_r = o;
    return E_OK;
fail:
    json_decref(total);
    json_decref(buildings);
    json_decref(texts);
    return e;
}

json_t *poll_json(const struct poll *p, bool with_questions)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "audience",
                        json_string(vocab_name(&notice_audience_vocab, p->audience)));
    json_object_set_new(o, "audience_label",
                        json_string(vocab_label(&notice_audience_vocab, p->audience)));
    json_object_set_new(o, "title", json_string(p->title));
    json_object_set_new(o, "description", json_string(p->description));
    if (with_questions && p->questions)
        json_object_set(o, "questions", p->questions);
    json_object_set_new(o, "show_results", json_boolean(p->show_results));
    json_object_set_new(o, "state", json_string(p->closed ? "closed" : "open"));
    json_object_set_new(o, "state_label", json_string(p->closed ? "已截止" : "进行中"));
    json_object_set_new(o, "recipients", json_integer(p->recipients));
    json_object_set_new(o, "answered", json_integer(p->answered));
    json_object_set_new(o, "author_name", json_string(p->author_name));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "closes_at", json_integer(p->closes_at));
    json_object_set_new(o, "closed_at", p->closed_at ? json_integer(p->closed_at) : json_null());
    return o;
}
