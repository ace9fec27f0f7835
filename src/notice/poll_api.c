/*
 * HTTP handlers of polls and surveys (notice.h "Polls"; docs/community.md
 * "Polls"):
 *
 *   GET  /api/v1/polls                 polls in scope (notice.read)
 *   POST /api/v1/polls                 publish one to an audience (notice.write)
 *   GET  /api/v1/polls/{id}            with its questions (notice.read)
 *   POST /api/v1/polls/{id}/close      close it now (notice.write)
 *   GET  /api/v1/polls/{id}/results    per option and per building (notice.read);
 *                                      format=csv|xlsx exports them
 *   GET  /api/v1/me/polls              a resident's polls
 *   GET  /api/v1/me/polls/{id}         one, with the results once answered or closed
 *                                      when the poll shows them
 *   POST /api/v1/me/polls/{id}/answer  answer once (409 already_voted, poll_closed)
 *
 * The answers name nobody (their building only), so the results are not a
 * list of people; reads of them are audited all the same as the staff
 * view of a consultation.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "http/export.h"
#include "http/write.h"
#include "notice/notice.h"
#include "person/person.h"
#include "security/audit.h"

static const struct jfield publish_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "发布范围", NULL, NULL},
    {"audience", J_STRING, JF_REQUIRED, 0, 0, "参与对象", NULL, &notice_audience_vocab},
    {"vulnerable", J_STRING, JF_NULLABLE, 0, 0, "重点人群", NULL, NULL},
    {"title", J_STRING, JF_REQUIRED, 1, POLL_TITLE_MAX, "标题", NULL, NULL},
    {"description", J_STRING, JF_NULLABLE, 0, POLL_DESC_MAX, "说明", NULL, NULL},
    {"questions", J_ARRAY, JF_REQUIRED, 0, 0, "问题", NULL, NULL},
    {"closes_at", J_INT, JF_REQUIRED, 0, 0, "截止时间", NULL, NULL},
    {"show_results", J_BOOL, 0, 0, 0, "向居民公开结果", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield answer_body[] = {
    {"answers", J_ARRAY, JF_REQUIRED, 0, 0, "回答", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

#define POLL_OPEN_MAX_MS (366LL * 24 * 3600 * 1000)

static err input_of(struct req *r, struct poll_input *in, int64_t now)
{
    memset(in, 0, sizeof *in);
    enum region_level lv;
    in->region_code = regcode_parse(json_str(r->body, "region_code"), &lv);
    if (in->region_code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    in->audience =
        (enum notice_audience)vocab_parse(&notice_audience_vocab, json_str(r->body, "audience"));
    const char *v = json_str(r->body, "vulnerable");
    if (in->audience == NOTICE_VULNERABLE) {
        in->vulnerable = v ? vulnerable_parse(v) : 0;
        if (!in->vulnerable)
            return err_set(E_INPUT, v ? "invalid_value" : "required", "vulnerable",
                           "请选择重点人群类别");
    } else if (v) {
        return err_set(E_INPUT, "invalid_value", "vulnerable", "仅重点人群可选择人群类别");
    }
    const char *t = json_str(r->body, "title");
    while (*t == ' ' || *t == '\t')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n)
        return err_set(E_INPUT, "required", "title", "请填写问卷标题");
    in->title = arena_strndup(r->a, t, n);
    const char *d = json_str(r->body, "description");
    in->description = d ? d : "";
    in->closes_at = json_int(r->body, "closes_at", 0);
    if (in->closes_at <= now || in->closes_at > now + POLL_OPEN_MAX_MS)
        return err_set(E_INPUT, "out_of_range", "closes_at", "截止时间须在现在之后一年之内");
    in->show_results = json_bool(r->body, "show_results", true);
    return E_OK;
}

static err list_polls(struct req *r)
{
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    struct poll *items;
    size_t n;
    int64_t total;
    if ((e = poll_list(r->db, r->a, &r->who->scope, now_ms(), page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, poll_json(&items[i], false));
    return reply_page(r, arr, total, page, size);
}

static err post_poll(struct req *r)
{
    struct poll_input in;
    int64_t now = now_ms(), id = 0, recipients = 0;
    json_t *questions = NULL;
    err e = input_of(r, &in, now);
    if (e || (e = poll_questions_check(json_object_get(r->body, "questions"), &questions)))
        return e;
    in.questions = questions;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, poll_publish(r->db, r->who, &in, now, &id, &recipients));
    json_decref(questions);
    if ((e = req_write_done(r, e, "poll.publish", "poll", id,
                            arena_printf(r->a, "recipients=%lld", (long long)recipients))))
        return e;
    struct poll p;
    if ((e = poll_find(r->db, r->a, &r->who->scope, id, now_ms(), &p)))
        return e;
    json_t *o = poll_json(&p, true);
    poll_free(&p);
    return reply_json(r, 201, o);
}

static err find_or_refuse(struct req *r, const char *action, struct poll *p)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = poll_find(r->db, r->a, &r->who->scope, id, now_ms(), p)))
        return audit_refusal(r->db, r->who, r->ip, action, "poll", id, e, NULL);
    return E_OK;
}

static err get_poll(struct req *r)
{
    struct poll p;
    err e = find_or_refuse(r, "poll.read", &p);
    if (e)
        return e;
    json_t *o = poll_json(&p, true);
    poll_free(&p);
    return reply_json(r, 200, o);
}

static err post_close(struct req *r)
{
    struct poll p;
    err e = find_or_refuse(r, "poll.close", &p);
    if (e)
        return e;
    poll_free(&p);
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, poll_close(r->db, &r->who->scope, p.id, now_ms()));
    if ((e = req_write_done(r, e, "poll.close", "poll", p.id, NULL)))
        return e;
    if ((e = poll_find(r->db, r->a, &r->who->scope, p.id, now_ms(), &p)))
        return e;
    json_t *o = poll_json(&p, false);
    poll_free(&p);
    return reply_json(r, 200, o);
}

/* the results as rows: 楼栋, 问题, 选项, 票数 (the total first, then each
 * building), and the text answers */
static err export_results(struct req *r, enum export_format fmt, const struct poll *p, json_t *res)
{
    struct export_out x;
    static const char *const head[] = {"楼栋", "问题", "选项", "票数"};
    err e = export_begin(r, &x, fmt, "问卷结果", head, 4);
    if (e)
        return e;
    size_t nb = json_array_size(json_object_get(res, "buildings"));
    for (size_t b = 0; b <= nb; b++) {
        json_t *bl = b ? json_array_get(json_object_get(res, "buildings"), b - 1) : NULL;
        json_t *counts = json_object_get(bl ? bl : res, "counts");
        const char *name = bl ? json_string_value(json_object_get(bl, "region_name")) : "全部";
        size_t qi;
        json_t *q;
        json_array_foreach(p->questions, qi, q)
        {
            json_t *opts = json_object_get(q, "options"), *c = json_array_get(counts, qi);
            size_t oi;
            json_t *o;
            json_array_foreach(opts, oi, o)
            {
                export_text(&x, name ? name : "");
                export_text(&x, json_string_value(json_object_get(q, "text")));
                export_text(&x, json_string_value(o));
                export_int(&x, json_integer_value(json_array_get(c, oi)));
                export_row_end(&x);
            }
        }
    }
    size_t ti;
    json_t *t;
    json_array_foreach(json_object_get(res, "texts"), ti, t)
    {
        json_t *q = json_array_get(p->questions,
                                   (size_t)json_integer_value(json_object_get(t, "question")));
        export_text(&x, "全部");
        export_text(&x, json_string_value(json_object_get(q, "text")));
        export_text(&x, json_string_value(json_object_get(t, "text")));
        export_empty(&x);
        export_row_end(&x);
    }
    return export_send(&x, E_OK, "poll-results");
}

static err get_results(struct req *r)
{
    struct poll p;
    enum export_format fmt;
    err e = req_export_format(r, &fmt);
    if (e || (e = find_or_refuse(r, "poll.results", &p)))
        return e;
    json_t *res = NULL;
    if (!(e = poll_results(r->db, r->a, &p, true, &res))) {
        req_audit(r, fmt == EXPORT_NONE ? "poll.results" : "poll.results.export", "poll", p.id,
                  "ok", NULL);
        if (fmt != EXPORT_NONE) {
            e = export_results(r, fmt, &p, res);
            json_decref(res);
        } else {
            json_t *o = poll_json(&p, true);
            json_object_set_new(o, "results", res);
            e = reply_json(r, 200, o);
        }
    }
    poll_free(&p);
    return e;
}

/* ---- residents ---- */

static err resident_person(struct req *r, int64_t *person_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    *person_r = r->who->person_id;
    return E_OK;
}

static json_t *mine_json(const struct poll *p, bool with_questions)
{
    json_t *o = poll_json(p, with_questions);
    /* a resident sees no counts of people, only whether they answered */
    json_object_del(o, "recipients");
    json_object_del(o, "answered");
    json_object_set_new(o, "my_answered", json_boolean(p->my_answered_at > 0));
    json_object_set_new(o, "my_answered_at",
                        p->my_answered_at ? json_integer(p->my_answered_at) : json_null());
    return o;
}

static err get_mine(struct req *r)
{
    int64_t person = 0;
    err e = resident_person(r, &person);
    if (e)
        return e;
    struct poll *items = NULL;
    size_t n = 0;
    if (person && (e = poll_mine(r->db, r->a, person, now_ms(), &items, &n)))
        return e;
    json_t *arr = json_array();
    int64_t open = 0;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, mine_json(&items[i], false));
        if (!items[i].closed && !items[i].my_answered_at)
            open++;
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "total", json_integer((json_int_t)n));
    json_object_set_new(o, "to_answer", json_integer(open));
    return reply_json(r, 200, o);
}

/* one poll with the results when the resident may see them */
static err mine_reply(struct req *r, int status, struct poll *p)
{
    json_t *o = mine_json(p, true), *res = NULL;
    err e = E_OK;
    if (p->show_results && (p->my_answered_at || p->closed)) {
        if (!(e = poll_results(r->db, r->a, p, false, &res))) {
            /* the totals only: the buildings stay with staff */
            json_object_set(o, "results", json_object_get(res, "counts"));
            json_decref(res);
        }
    } else {
        json_object_set_new(o, "results", json_null());
    }
    poll_free(p);
    if (e) {
        json_decref(o);
        return e;
    }
    return reply_json(r, status, o);
}

static err get_mine_one(struct req *r)
{
    int64_t person = 0, id;
    struct poll p;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)) ||
        (e = poll_mine_one(r->db, r->a, person, id, now_ms(), &p)))
        return e;
    return mine_reply(r, 200, &p);
}

static err post_answer(struct req *r)
{
    int64_t person = 0, id, now = now_ms();
    struct poll p;
    err e = resident_person(r, &person);
    if (e || (e = req_param_id(r, 0, &id)) || (e = poll_mine_one(r->db, r->a, person, id, now, &p)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, poll_answer(r->db, person, &p, json_object_get(r->body, "answers"), now));
    poll_free(&p);
    if ((e = req_write_done(r, e, "poll.answer", "poll", id, NULL)))
        return e;
    if ((e = poll_mine_one(r->db, r->a, person, id, now_ms(), &p)))
        return e;
    return mine_reply(r, 201, &p);
}

const struct route poll_routes[] = {
    {M_GET, "/api/v1/polls", list_polls, PERM_NOTICE_READ, 0, NULL, "辖区内的问卷和协商", "notice",
     0},
    {M_POST, "/api/v1/polls", post_poll, PERM_NOTICE_WRITE, 0, publish_body,
     "发布问卷（对象在发布时确定）", "notice", 200000},
    {M_GET, "/api/v1/polls/{id}", get_poll, PERM_NOTICE_READ, 0, NULL, "问卷详情", "notice", 0},
    {M_POST, "/api/v1/polls/{id}/close", post_close, PERM_NOTICE_WRITE, 0, NULL, "提前截止问卷",
     "notice", 0},
    {M_GET, "/api/v1/polls/{id}/results", get_results, PERM_NOTICE_READ, 0, NULL,
     "问卷结果（按选项、按楼栋；format=csv|xlsx 导出）", "notice", 0},
    {M_GET, "/api/v1/me/polls", get_mine, PERM_SELF, 0, NULL, "我的问卷", "notice", 0},
    {M_GET, "/api/v1/me/polls/{id}", get_mine_one, PERM_SELF, 0, NULL, "问卷详情（含可公开的结果）",
     "notice", 0},
    {M_POST, "/api/v1/me/polls/{id}/answer", post_answer, PERM_SELF, 0, answer_body,
     "提交问卷（每人一次）", "notice", 50000},
};
const size_t poll_routes_n = sizeof poll_routes / sizeof poll_routes[0];
