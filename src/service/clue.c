/*
 * Environment clues (service.h "environment clues"; docs/community-services.md
 * "Environment clues"): a resident's report becomes a task "env_clue" for the
 * community staff (src/task); the task's completion writes the result back
 * onto the clue, which is what the resident reads. The task board, its
 * deadlines, overdue alerts and the staff's 我的任务 are the task module's.
 */
#include <math.h>
#include <string.h>

#include "attach/attach.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "db/query.h"
#include "base/time.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "service/service.h"
#include "task/task.h"

static const struct vocab_word categories[] = {
    {NULL, NULL},           {"road", "公共道路"},  {"space", "公共空间"}, {"facility", "公共设施"},
    {"market", "集贸市场"}, {"stall", "便民摊点"}, {"other", "其他"},
};
const struct vocab clue_category_vocab = VOCAB("clue_categories", "线索类别", categories);

static const char *state_label(const char *s)
{
    return !strcmp(s, "done") ? "已处理" : !strcmp(s, "cancelled") ? "已撤销" : "处理中";
}

#define L_TEXT "env_clues.text"
#define OWNER  "env_clue"

err service_clue_submit(db *d, arena *a, const struct principal *who, const struct clue_new *n,
                        int64_t now, int64_t *id_r)
{
    if (n->category <= 0 || (size_t)n->category >= sizeof categories / sizeof categories[0])
        return err_set(E_INPUT, "invalid_value", "category", "请选择线索类别");
    if (!n->text || !*n->text)
        return err_set(E_INPUT, "required", "text", "请描述发现的问题");
    if (n->has_pos && (!(fabs(n->lat) <= 90) || !(fabs(n->lng) <= 180)))
        return err_set(E_INPUT, "invalid_position", "lat", "经纬度超出范围");
    struct person p;
    err e = person_self_find(d, a, who, &p);
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    int64_t id = id_new(), task_id = 0;
    const char *cat = vocab_name(&clue_category_vocab, (size_t)n->category);
    /* the task names the category only: no personal data in a title */
    struct task_new t = {
        .kind = SERVICE_TASK_ENV_CLUE,
        .region_code = p.region_code,
        .assignee_role = "community_staff",
        .priority = TASK_NORMAL,
        .deadline = now + SERVICE_CLUE_DUE_MS,
        .title = arena_printf(a, "环境线索：%s", vocab_label_of(&clue_category_vocab, cat)),
        .person_id = p.id,
        .subject_id = id,
        .lat = n->has_pos ? n->lat : 0,
        .lng = n->has_pos ? n->lng : 0,
        /* no note: the resident's words are sealed on the clue, and the
         * staff read them on 居民服务 → 环境线索, not in a plaintext task */
    };
    db_stmt *s;
    if ((e = task_create(d, &t, &task_id)))
        goto out;
    if ((e = db_prepare(
             d,
             "INSERT INTO env_clues (id, person_id, user_id, region_code, category, "
             "text_enc, lat, lng, task_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
             "?)",
             &s)))
        goto out;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, p.id);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, p.region_code);
    db_bind_text(s, 5, cat);
    if ((e = seal_bind(a, s, 6, L_TEXT, n->text))) {
        db_done(s);
        goto out;
    }
    if (n->has_pos) {
        db_bind_double(s, 7, n->lat);
        db_bind_double(s, 8, n->lng);
    } else {
        db_bind_null(s, 7);
        db_bind_null(s, 8);
    }
    db_bind_int64(s, 9, task_id);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        goto out;
    e = attach_claim_all(d, who, n->attachments, OWNER, id, p.region_code);
out:
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *id_r = id;
    return E_OK;
}

#define MINE_COLS                                                                                  \
    "c.id, c.category, c.text_enc, c.state, c.result, c.result_at, c.created_at, c.lat, c.lng"

static err mine_json(arena *a, db_stmt *s, json_t **o_r)
{
    const char *text = NULL;
    err e = unseal_col(a, s, 2, L_TEXT, &text);
    if (e)
        return e;
    const char *cat = db_col_text(s, 1), *st = db_col_text(s, 3);
    const char *cl = vocab_label_of(&clue_category_vocab, cat);
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "category", json_string(cat));
    json_object_set_new(o, "category_label", json_string(cl ? cl : ""));
    json_object_set_new(o, "text", json_string(text ? text : ""));
    json_object_set_new(o, "state", json_string(st));
    json_object_set_new(o, "state_label", json_string(state_label(st)));
    json_object_set_new(o, "result", json_string(db_col_text(s, 4)));
    int64_t at = db_col_int64(s, 5);
    json_object_set_new(o, "result_at", at ? json_integer(at) : json_null());
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 6)));
    json_object_set_new(o, "lat", db_col_null(s, 7) ? json_null() : json_real(db_col_double(s, 7)));
    json_object_set_new(o, "lng", db_col_null(s, 8) ? json_null() : json_real(db_col_double(s, 8)));
    *o_r = o;
    return E_OK;
}

err service_clue_mine(db *d, arena *a, const struct principal *who, int64_t page, int64_t page_size,
                      json_t **items_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM env_clues c WHERE c.person_id = ?");
    query_int(w, who->person_id);
    return query_page_json(d, a, w,
                           &(struct query_page){.count = "SELECT COUNT(*)",
                                                .select = "SELECT " MINE_COLS,
                                                .order = " ORDER BY c.id DESC",
                                                .page = page,
                                                .page_size = page_size},
                           mine_json, items_r, total_r);
}

err service_clue_mine_get(db *d, arena *a, const struct principal *who, int64_t id, json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " MINE_COLS " FROM env_clues c WHERE c.id = ? AND c.person_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->person_id);
    bool row;
    json_t *o = NULL, *att = NULL;
    if (!(e = db_row(s, &row)))
        e = row ? mine_json(a, s, &o) : err_set(E_NOT_FOUND, "not_found", NULL, "线索不存在");
    db_done(s);
    if (!e && !(e = attach_list(d, OWNER, id, &att)))
        json_object_set_new(o, "attachments", att);
    if (e) {
        json_decref(o);
        return e;
    }
    *item_r = o;
    return E_OK;
}

#define LIST_FROM                                                                                  \
    " FROM env_clues c JOIN persons p ON p.id = c.person_id LEFT JOIN tasks t ON t.id = "          \
    "c.task_id WHERE c.region_code >= ? AND c.region_code < ? AND (CAST(? AS TEXT) = '' OR "       \
    "c.state = ?) AND (CAST(? AS TEXT) = '' OR c.category = ?)"

static void bind_list(db_stmt *s, const struct scope *sc, const char *state, const char *cat)
{
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, state);
    db_bind_text(s, 4, state);
    db_bind_text(s, 5, cat);
    db_bind_text(s, 6, cat);
}

err service_clue_list(db *d, arena *a, const struct scope *sc, const char *state, int category,
                      int64_t page, int64_t page_size, json_t **items_r, int64_t *total_r)
{
    const char *cat = category > 0 ? vocab_name(&clue_category_vocab, (size_t)category) : "";
    if (!state)
        state = "";
    db_stmt *s;
    bool row;
    int64_t total = 0;
    err e = db_prepare(d, "SELECT COUNT(*)" LIST_FROM, &s);
    if (e)
        return e;
    bind_list(s, sc, state, cat);
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT " MINE_COLS ", c.region_code, COALESCE((SELECT name FROM "
                             "regions g WHERE g.code = c.region_code), ''), p.name_enc, c.task_id, "
                             "COALESCE(t.state, ''), COALESCE((SELECT display_name FROM users u "
                             "WHERE u.id = c.result_by), '')" LIST_FROM
                             " ORDER BY c.id DESC LIMIT ? OFFSET ?",
                             &s)))
        return e;
    bind_list(s, sc, state, cat);
    db_bind_int64(s, 7, page_size);
    db_bind_int64(s, 8, paging_offset(page, page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        json_t *o;
        const char *name = "";
        if ((e = mine_json(a, s, &o)))
            break;
        if ((e = person_name_masked_col(a, s, 11, &name))) {
            json_decref(o);
            break;
        }
        char code[19];
        regcode_format(db_col_int64(s, 9), code);
        json_object_set_new(o, "region_code", json_string(code));
        json_object_set_new(o, "region_name", json_string(db_col_text(s, 10)));
        json_object_set_new(o, "person_name", json_string(name));
        json_set_id(o, "task_id", db_col_int64(s, 12));
        const char *ts = db_col_text(s, 13);
        const char *tl = *ts ? vocab_label_of(&task_state_vocab, ts) : NULL;
        json_object_set_new(o, "task_state", json_string(ts));
        json_object_set_new(o, "task_state_label", json_string(tl ? tl : ""));
        json_object_set_new(o, "result_by_name", json_string(db_col_text(s, 14)));
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

/* ---- the task kind: its completion is the clue's result ------------------------------ */

static err close_clue(db *d, const struct principal *who, const struct task *t, const char *state,
                      const char *result)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE env_clues SET state = ?, result = ?, result_by = ?, result_at = ? "
                       "WHERE id = ? AND state = 'open'",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, state);
    db_bind_text(s, 2, result);
    db_bind_int64(s, 3, who ? who->user_id : 0);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, t->subject_id);
    return db_run(s, NULL);
}

static err clue_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                         json_t *result)
{
    (void)a;
    const char *text = json_is_object(result) ? json_str(result, "text") : NULL;
    if (!text || !*text)
        return err_set(E_INPUT, "required", "result.text", "请填写处理结果");
    if (!utf8_valid_text(text) || utf8_len(text) > CLUE_TEXT_MAX)
        return err_set(E_INPUT, "too_long", "result.text", "处理结果不能超过500个字");
    return close_clue(d, who, t, "done", text);
}

static err clue_cancelled(db *d, arena *a, const struct principal *who, const struct task *t)
{
    (void)a;
    return close_clue(d, who, t, "cancelled", "社区已撤销此线索的处理任务");
}

static const struct task_kind env_clue_kind = {
    .name = SERVICE_TASK_ENV_CLUE,
    .label = "环境线索",
    .complete = clue_complete,
    .cancelled = clue_cancelled,
    .dispatchable = false,
};

err service_clue_task_kind_register(void)
{
    return task_kind_register(&env_clue_kind);
}
