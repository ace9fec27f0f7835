/*
 * Tasks (task.h): the kinds' registry, creating and finding tasks, the
 * state changes, the board and "my tasks", the overdue sweep and its
 * worker thread. The HTTP handlers are in api.c.
 *
 * Every state change reads the task, checks its state here, and writes it
 * back only at the version it read (UPDATE … WHERE version = ?), so of two
 * concurrent changes (two holders of a role accepting at once, a cancel
 * racing a completion) exactly one applies and the other is answered 409.
 */
#include "task/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/query.h"
#include "http/http.h"
#include "security/crypto.h"
#include "task/internal.h"
#include "db/periodic.h"

static const struct vocab_word states[] = {
    {NULL, NULL},
    [TASK_PENDING] = {"pending", "待接收"},
    [TASK_ACCEPTED] = {"accepted", "处理中"},
    [TASK_DONE] = {"done", "已完成"},
    [TASK_RETURNED] = {"returned", "已退回"},
    [TASK_OVERDUE] = {"overdue", "已超时"},
    [TASK_CANCELLED] = {"cancelled", "已撤销"},
};
const struct vocab task_state_vocab = VOCAB("task_states", "任务状态", states);

static const struct vocab_word priorities[] = {
    {NULL, NULL},
    [TASK_URGENT] = {"urgent", "紧急"},
    [TASK_HIGH] = {"high", "较急"},
    [TASK_NORMAL] = {"normal", "一般"},
};
const struct vocab task_priority_vocab = VOCAB("task_priorities", "任务紧急程度", priorities);

static const char *state_name(enum task_state s)
{
    return vocab_name(&task_state_vocab, (size_t)s);
}

static const char *state_label(enum task_state s)
{
    return vocab_label(&task_state_vocab, (size_t)s);
}

/* ---- kinds ---------------------------------------------------------------------------- */

/* "general" (一般任务): dispatched by hand; its completion is a text saying
 * what was done. */
static err general_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                            json_t *result)
{
    (void)d, (void)a, (void)who, (void)t;
    json_t *text = result ? json_object_get(result, "text") : NULL;
    if (!result || !text)
        return err_set(E_INPUT, "required", "result.text", "请填写办理结果");
    if (!json_is_string(text))
        return err_set(E_INPUT, "invalid_type", "result.text", "办理结果应为文字");
    const char *s = json_string_value(text);
    if (json_object_size(result) != 1)
        return err_set(E_INPUT, "unknown_field", "result", "办理结果只能包含 text");
    if (!utf8_valid_text(s) || s[strspn(s, " \t\r\n")] == '\0')
        return err_set(E_INPUT, "required", "result.text", "请填写办理结果");
    if (utf8_len(s) > TASK_RESULT_TEXT_MAX)
        return err_set(E_INPUT, "too_long", "result.text", "办理结果不能超过%d个字符",
                       TASK_RESULT_TEXT_MAX);
    return E_OK;
}

#define GENERAL_NAME  "general"
#define GENERAL_LABEL "一般任务"

static const struct task_kind general_kind = {
    .name = GENERAL_NAME,
    .label = GENERAL_LABEL,
    .complete = general_complete,
    .dispatchable = true,
};

#define KINDS_MAX 32

/* Registered at start-up before serving, read-only after: no lock. The
 * built-in kind is always there (tools and tests that never call
 * app_routes still know it). */
static const struct task_kind *kinds[KINDS_MAX] = {&general_kind};
static size_t kinds_n = 1;
/* The same kinds as a vocabulary (task_kind_vocab), kept with the table. */
static struct vocab_word kind_words[KINDS_MAX] = {{GENERAL_NAME, GENERAL_LABEL}};
static struct vocab kind_vocab = {"task_kinds", "任务类型", kind_words, 1};

err task_kind_register(const struct task_kind *k)
{
    if (!k || !k->name || !k->label)
        return err_set(E_INTERNAL, "task_kind", NULL, "任务类型登记不完整");
    if (task_kind_find(k->name) == k)
        return E_OK; /* the same registration again (app_routes run twice in tests) */
    if (task_kind_find(k->name))
        return err_set(E_INTERNAL, "task_kind", NULL, "任务类型重复登记：%s", k->name);
    if (kinds_n == KINDS_MAX)
        return err_set(E_INTERNAL, "task_kind", NULL, "任务类型过多");
    kind_words[kinds_n] = (struct vocab_word){k->name, k->label};
    kinds[kinds_n++] = k;
    kind_vocab.n = kinds_n;
    return E_OK;
}

const struct vocab *task_kind_vocab(void)
{
    return &kind_vocab;
}

const struct task_kind *task_kind_find(const char *name)
{
    for (size_t i = 0; name && i < kinds_n; i++)
        if (!strcmp(kinds[i]->name, name))
            return kinds[i];
    return NULL;
}

const char *task_kind_label(const char *name)
{
    const struct task_kind *k = task_kind_find(name);
    return k ? k->label : name;
}

/* ---- reading ------------------------------------------------------------------------- */

#define ROW_COLS                                                                                   \
    "SELECT t.id, t.kind, t.region_code, t.assignee_user_id, t.assignee_role, t.state, "           \
    "t.priority, t.deadline, t.title, t.person_id, t.subject_id, t.address_enc, t.phone_enc, "     \
    "t.lat, t.lng, t.detail, t.note, t.result, t.created_by, t.created_at, t.accepted_by, "        \
    "t.accepted_at, t.done_by, t.done_at, t.version, g.name, u.display_name, ro.name, "            \
    "c.display_name, p.name_enc"
#define ROW_FROM                                                                                   \
    " FROM tasks t LEFT JOIN regions g ON g.code = t.region_code LEFT JOIN users u ON u.id = "     \
    "t.assignee_user_id LEFT JOIN roles ro ON ro.key = t.assignee_role LEFT JOIN users c ON "      \
    "c.id = t.created_by LEFT JOIN persons p ON p.id = t.person_id"
/* who (bound) holds the task's role */
#define HOLDS_ROLE                                                                                 \
    " EXISTS (SELECT 1 FROM user_roles ur JOIN roles hr ON hr.id = ur.role_id WHERE "              \
    "ur.user_id = ? AND hr.key = t.assignee_role)"
#define OPEN_STATES "('pending', 'accepted', 'overdue')"

static err read_row(db_stmt *s, arena *a, struct task_row *r)
{
    memset(r, 0, sizeof *r);
    struct task *t = &r->t;
    t->id = db_col_int64(s, 0);
    t->kind = arena_strdup(a, db_col_text(s, 1));
    t->region_code = db_col_int64(s, 2);
    t->assignee_user_id = db_col_int64(s, 3);
    t->assignee_role = arena_strdup(a, db_col_text(s, 4));
    int st = vocab_parse(&task_state_vocab, db_col_text(s, 5));
    t->state = st > 0 ? (enum task_state)st : TASK_PENDING;
    t->priority = (enum task_priority)db_col_int64(s, 6);
    t->deadline = db_col_int64(s, 7);
    t->title = arena_strdup(a, db_col_text(s, 8));
    t->person_id = db_col_int64(s, 9);
    t->subject_id = db_col_int64(s, 10);
    err e = unseal_col(a, s, 11, "tasks.address", &r->address);
    if (!e)
        e = unseal_col(a, s, 12, "tasks.phone", &r->phone);
    r->lat = db_col_double(s, 13);
    r->lng = db_col_double(s, 14);
    t->detail = arena_strdup(a, db_col_text(s, 15));
    t->note = arena_strdup(a, db_col_text(s, 16));
    r->result = arena_strdup(a, db_col_text(s, 17));
    t->created_by = db_col_int64(s, 18);
    t->created_at = db_col_int64(s, 19);
    t->accepted_by = db_col_int64(s, 20);
    t->accepted_at = db_col_int64(s, 21);
    t->done_by = db_col_int64(s, 22);
    t->done_at = db_col_int64(s, 23);
    r->version = db_col_int64(s, 24);
    r->region_name = arena_strdup(a, db_col_text(s, 25));
    r->assignee_name = arena_strdup(a, db_col_text(s, 26));
    r->role_name = arena_strdup(a, db_col_text(s, 27));
    r->created_by_name = arena_strdup(a, db_col_text(s, 28));
    if (!e && t->person_id)
        e = unseal_col(a, s, 29, "persons.name", &r->person_name);
    return e;
}

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "not_found", NULL, "任务不存在");
}

/* The view's condition on alias t, with its bindings. */
static void view_where(struct query *q, const struct principal *who, const struct scope *sc,
                       enum task_view v)
{
    if (v == TASK_VIEW_SCOPE) {
        query_sql(q, " AND t.region_code >= ? AND t.region_code < ?");
        query_int(q, sc->lo);
        query_int(q, sc->hi);
        return;
    }
    query_sql(q, v == TASK_VIEW_MINE ? " AND (t.assignee_user_id = ? OR (t.assignee_user_id = 0 "
                                       "AND t.assignee_role <> '' AND t.region_code >= ? AND "
                                       "t.region_code < ? AND" HOLDS_ROLE "))"
                                     : " AND (t.assignee_user_id = ? OR (t.assignee_role <> '' "
                                       "AND t.region_code >= ? AND t.region_code < ? AND" HOLDS_ROLE
                                       "))");
    query_int(q, who->user_id);
    query_int(q, sc->lo);
    query_int(q, sc->hi);
    query_int(q, who->user_id);
}

static err load_in(db *d, arena *a, const struct principal *who, const struct scope *sc,
                   enum task_view v, int64_t id, struct task_row *row_r)
{
    struct query *q = arena_alloc(a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    query_sql(q, ROW_COLS ROW_FROM " WHERE t.id = ?");
    query_int(q, id);
    view_where(q, who, sc, v);
    db_stmt *s;
    err e = query_prepare(d, q, &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, row_r) : not_found();
    db_done(s);
    return e;
}

err task_load(db *d, arena *a, const struct principal *who, enum task_view v, int64_t id,
              struct task_row *row_r)
{
    return load_in(d, a, who, &who->scope, v, id, row_r);
}

err task_find(db *d, arena *a, const struct scope *sc, int64_t id, struct task *t_r)
{
    struct task_row r;
    struct principal nobody = {0};
    err e = load_in(d, a, &nobody, sc, TASK_VIEW_SCOPE, id, &r);
    if (!e)
        *t_r = r.t;
    return e;
}

/* read_row as query_page reads a list's row. */
static err task_row_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

/* A page of the tasks of w (a WHERE on tasks t) in `order`, or in order_q
 * when the order binds values; the JOINs for the page's rows only. `cap`,
 * capped_r and walk: query_page's count_cap, capped_r and walk. */
static err task_page(db *d, arena *a, const struct query *w, const char *order,
                     const struct query *order_q, int64_t page, int64_t page_size, int64_t cap,
                     bool *capped_r, const struct query *walk, struct task_row **items_r,
                     size_t *n_r, int64_t *total_r)
{
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM tasks t",
                                            .select = ROW_COLS ROW_FROM,
                                            .order = order,
                                            .order_q = order_q,
                                            .page = page,
                                            .page_size = page_size,
                                            .max = TASK_EXPORT_MAX,
                                            .size = sizeof(struct task_row),
                                            .read = task_row_read,
                                            .count_cap = cap,
                                            .capped_r = capped_r,
                                            .walk = walk,
                                            .key = "t.id"},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

#define TASK_SORT(key, col)                                                                        \
    {                                                                                              \
        key, " ORDER BY " col " ASC, t.id ASC", " ORDER BY " col " DESC, t.id DESC"                \
    }

static const struct {
    const char *key, *asc, *desc;
} sorts[] = {
    TASK_SORT("deadline", "t.deadline"),
    TASK_SORT("priority", "t.priority"),
    TASK_SORT("created_at", "t.created_at"),
    TASK_SORT("state", "t.state"),
};

/* The board's WHERE for f. walk: the scope as +region_code, for walking
 * tasks_created in the created_at order (sql/101, query_page's walk). */
static void board_where(struct query *w, arena *a, const struct scope *sc,
                        const struct task_filter *f, int64_t now, bool walk)
{
    query_sql(w, walk ? " WHERE +t.region_code >= ? AND +t.region_code < ?"
                      : " WHERE t.region_code >= ? AND t.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->state) {
        query_sql(w, " AND t.state = ?");
        query_text(w, state_name(f->state));
    }
    if (f->kind) {
        query_sql(w, " AND t.kind = ?");
        query_text(w, f->kind);
    }
    if (f->assignee_user_id) {
        query_sql(w, " AND t.assignee_user_id = ?");
        query_int(w, f->assignee_user_id);
    }
    if (f->overdue >= 0) {
        query_sql(w, f->overdue ? " AND (t.state = 'overdue' OR (t.state IN ('pending', "
                                  "'accepted') AND t.deadline < ?))"
                                : " AND NOT (t.state = 'overdue' OR (t.state IN ('pending', "
                                  "'accepted') AND t.deadline < ?))");
        query_int(w, now);
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(t.title) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, true));
    }
}

err task_board(db *d, arena *a, const struct scope *sc, const struct task_filter *f, int64_t now,
               struct task_row **items_r, size_t *n_r, int64_t *total_r, bool *capped_r)
{
    const char *key = f->sort && *f->sort ? f->sort : "-created_at", *order = NULL;
    bool desc = *key == '-', by_created = !strcmp(key + desc, "created_at");
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (!strcmp(sorts[i].key, key + desc))
            order = desc ? sorts[i].desc : sorts[i].asc;
    if (!order)
        return err_set(E_INPUT, "invalid_parameter", "sort", "不支持的排序字段");
    struct query *w = arena_alloc(a, sizeof *w), *walk = NULL;
    *w = (struct query)QUERY_INIT;
    board_where(w, a, sc, f, now, false);
    if (by_created) { /* the order tasks_created holds */
        walk = arena_alloc(a, sizeof *walk);
        *walk = (struct query)QUERY_INIT;
        board_where(walk, a, sc, f, now, true);
    }
    return task_page(d, a, w, order, NULL, f->page, f->page_size, f->count_cap, capped_r, walk,
                     items_r, n_r, total_r);
}

err task_mine(db *d, arena *a, const struct principal *who, bool done, int64_t now, int64_t page,
              int64_t page_size, struct task_row **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, done ? " WHERE t.state = 'done'" : " WHERE t.state IN " OPEN_STATES);
    view_where(w, who, &who->scope, TASK_VIEW_MINE);
    *q = (struct query)QUERY_INIT;
    if (done) {
        query_sql(q, " ORDER BY t.done_at DESC, t.id DESC");
    } else {
        /* urgency: overdue (marked, or past its deadline before the sweep
         * ran) first, then priority, then the nearest deadline */
        query_sql(q, " ORDER BY CASE WHEN t.state = 'overdue' OR t.deadline < ? THEN 0 ELSE 1 "
                     "END, t.priority ASC, t.deadline ASC, t.id ASC");
        query_int(q, now);
    }
    return task_page(d, a, w, NULL, q, page, page_size, 0, NULL, NULL, items_r, n_r, total_r);
}

static const struct vocab_word actions[] = {
    {"created", "派发"},    {"accepted", "接收"},  {"completed", "完成"}, {"returned", "退回"},
    {"reassigned", "改派"}, {"cancelled", "撤销"}, {"overdue", "超时"},
};
static const struct vocab action_vocab = VOCAB("task_actions", "任务操作", actions);

err task_timeline(db *d, int64_t id, json_t **arr_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT e.at, e.action, e.note, e.user_id, u.display_name FROM task_events "
                       "e LEFT JOIN users u ON u.id = e.user_id WHERE e.task_id = ? ORDER BY "
                       "e.at ASC, e.id ASC",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *action = db_col_text(s, 1);
        int64_t uid = db_col_int64(s, 3);
        json_t *o = json_object();
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 0)));
        json_object_set_new(o, "action", json_string(action));
        json_object_set_new(o, "action_label", json_string(vocab_label_of(&action_vocab, action)));
        json_object_set_new(o, "user_name",
                            uid ? json_string(db_col_text(s, 4)) : json_string("系统"));
        json_object_set_new(o, "note", json_string(db_col_text(s, 2)));
        json_array_append_new(arr, o);
    }
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *arr_r = arr;
    return E_OK;
}

/* ---- writing ------------------------------------------------------------------------- */

static err event_add(db *d, int64_t task_id, int64_t user_id, const char *action, const char *note)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO task_events (id, task_id, at, user_id, action, note) VALUES "
                       "(?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, task_id);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, user_id);
    db_bind_text(s, 5, action);
    db_bind_text(s, 6, note ? note : "");
    return db_run(s, NULL);
}

struct push {
    int64_t id, region;
    char *text;
};

static void publish_after_commit(void *ctx, bool committed)
{
    struct push *p = ctx;
    if (committed)
        http_stream_publish("alerts", p->region, p->id, "task", p->text);
    free(p->text);
    free(p);
}

/*
 * Tell the open alert streams whose scope holds the task's region that it
 * changed, once the transaction commits: the event names the task, its
 * state and its assignee (user id or role key), so a mobile page refreshes
 * 我的任务 when the task is its user's. Nothing personal: the title is
 * free of personal data by contract. Read back inside the transaction.
 */
static err push_at_commit(db *d, arena *a, int64_t id, const char *action)
{
    struct task_row r;
    struct principal nobody = {0};
    struct scope all = scope_all();
    err e = load_in(d, a, &nobody, &all, TASK_VIEW_SCOPE, id, &r);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", r.t.id);
    json_object_set_new(o, "action", json_string(action));
    json_object_set_new(o, "kind", json_string(r.t.kind));
    json_object_set_new(o, "kind_label", json_string(task_kind_label(r.t.kind)));
    json_object_set_new(o, "title", json_string(r.t.title));
    json_object_set_new(o, "state", json_string(state_name(r.t.state)));
    json_object_set_new(o, "priority",
                        json_string(vocab_name(&task_priority_vocab, (size_t)r.t.priority)));
    json_object_set_new(o, "deadline", json_integer(r.t.deadline));
    if (r.t.assignee_user_id)
        json_set_id(o, "assignee_user_id", r.t.assignee_user_id);
    else /* a role's task nobody took yet */
        json_object_set_new(o, "assignee_user_id", json_null());
    json_object_set_new(o, "assignee_role", json_string(r.t.assignee_role));
    json_set_region(o, r.t.region_code, r.region_name);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct push *p = calloc(1, sizeof *p);
    if (!p || !text) {
        free(p);
        free(text);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    /* the event's id is a new one, not the task's: the alert stream resumes
     * from the last event id (Last-Event-ID) and skips ids at or below
     * what it replayed, so ids must grow like the alerts' own */
    *p = (struct push){id_new(), r.t.region_code, text};
    return db_after_commit(d, publish_after_commit, p);
}

/* The assignee of a task in `region`: one active staff user whose scope
 * holds it, or a role; either must be able to receive tasks. */
static err check_assignee(db *d, int64_t region, int64_t user_id, const char *role)
{
    bool has_role = role && *role;
    if ((user_id > 0) == has_role)
        return err_set(E_INPUT, user_id > 0 ? "invalid_value" : "required", "assignee_user_id",
                       "请指定一名执行人或一个执行角色（二者选一）");
    db_stmt *s;
    bool row;
    err e;
    if (user_id > 0) {
        if ((e = db_prepare(d,
                            "SELECT region_code FROM users WHERE id = ? AND kind = 'staff' AND "
                            "disabled = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, user_id);
        int64_t ureg = 0;
        if (!(e = db_row(s, &row)) && row)
            ureg = db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "unknown_user", "assignee_user_id", "执行人不存在或已停用");
        struct scope us = scope_of(ureg);
        if (!scope_has(&us, region))
            return err_set(E_INPUT, "assignee_out_of_region", "assignee_user_id",
                           "执行人的管辖范围不包含任务所在区划");
        e = db_prepare(d,
                       "SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = "
                       "ur.role_id WHERE ur.user_id = ? AND rp.permission = 'task.work'",
                       &s);
        if (e)
            return e;
        db_bind_int64(s, 1, user_id);
    } else {
        if ((e = db_prepare(d, "SELECT 1 FROM roles WHERE key = ?", &s)))
            return e;
        db_bind_text(s, 1, role);
        e = db_row(s, &row);
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "unknown_role", "assignee_role", "执行角色不存在");
        e = db_prepare(d,
                       "SELECT 1 FROM roles r JOIN role_permissions rp ON rp.role_id = r.id "
                       "WHERE r.key = ? AND rp.permission = 'task.work'",
                       &s);
        if (e)
            return e;
        db_bind_text(s, 1, role);
    }
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_INPUT, "assignee_cannot_work",
                    user_id > 0 ? "assignee_user_id" : "assignee_role",
                    "执行人（角色）没有接收任务的权限");
    return e;
}

static err check_deadline(int64_t deadline, int64_t now)
{
    if (deadline <= now)
        return err_set(E_INPUT, "deadline_past", "deadline", "完成期限应晚于当前时间");
    if (deadline > now + TASK_DEADLINE_MAX_MS)
        return err_set(E_INPUT, "out_of_range", "deadline", "完成期限不能超过一年");
    return E_OK;
}

err task_create(db *d, const struct task_new *t, int64_t *id_r)
{
    int64_t now = now_ms();
    const struct task_kind *k = task_kind_find(t->kind);
    if (!k)
        return err_set(E_INPUT, "unknown_kind", "kind", "任务类型不存在");
    if (!*vocab_name(&task_priority_vocab, (size_t)t->priority))
        return err_set(E_INPUT, "invalid_value", "priority", "紧急程度应为紧急、较急或一般");
    err e = check_deadline(t->deadline, now);
    if (e)
        return e;
    if ((e = check_text(t->title, "title", "任务标题", TASK_TITLE_MAX,
                        TEXT_REQUIRED | TEXT_ONE_LINE)) ||
        (e = check_text(t->note, "note", "说明", TASK_NOTE_MAX, 0)))
        return e;
    if (t->detail) {
        json_t *dj = json_loads(t->detail, 0, NULL);
        bool ok = dj && json_is_object(dj);
        json_decref(dj);
        if (!ok)
            return err_set(E_INPUT, "invalid_value", "detail", "附加信息应为 JSON 对象");
    }
    db_stmt *s;
    bool row;
    if ((e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ?", &s)))
        return e;
    db_bind_int64(s, 1, t->region_code);
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (!row || t->region_code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code", "所属区划不存在");
    if ((e = check_assignee(d, t->region_code, t->assignee_user_id, t->assignee_role)))
        return e;
    if (t->person_id) {
        if ((e = db_prepare(d, "SELECT 1 FROM persons WHERE id = ? AND deleted_at = 0", &s)))
            return e;
        db_bind_int64(s, 1, t->person_id);
        e = db_row(s, &row);
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "unknown_person", "person_id", "人员不存在");
    }
    /* sealing needs an arena for the ciphertexts: a small private one, as
     * task_create has no caller's arena in its contract */
    arena *a = arena_new(1024);
    if (!a)
        return E_NOMEM;
    int64_t id = id_new();
    if ((e = db_begin(d)))
        goto out;
    if ((e = db_prepare(d,
                        "INSERT INTO tasks (id, kind, region_code, assignee_user_id, "
                        "assignee_role, state, priority, deadline, title, person_id, subject_id, "
                        "address_enc, phone_enc, lat, lng, detail, note, created_by, created_at) "
                        "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, k->name);
    db_bind_int64(s, 3, t->region_code);
    db_bind_int64(s, 4, t->assignee_user_id > 0 ? t->assignee_user_id : 0);
    db_bind_text(s, 5, t->assignee_user_id > 0 ? "" : t->assignee_role);
    db_bind_int64(s, 6, t->priority);
    db_bind_int64(s, 7, t->deadline);
    db_bind_text(s, 8, t->title);
    db_bind_int64(s, 9, t->person_id);
    db_bind_int64(s, 10, t->subject_id);
    if ((e = seal_bind(a, s, 11, "tasks.address", t->address)) ||
        (e = seal_bind(a, s, 12, "tasks.phone", t->phone))) {
        db_done(s);
        goto fail;
    }
    db_bind_double(s, 13, t->lat);
    db_bind_double(s, 14, t->lng);
    db_bind_text(s, 15, t->detail ? t->detail : "{}");
    db_bind_text(s, 16, t->note ? t->note : "");
    db_bind_int64(s, 17, t->created_by);
    db_bind_int64(s, 18, now);
    if ((e = db_run(s, NULL)) || (e = event_add(d, id, t->created_by, "created", t->note)) ||
        (e = push_at_commit(d, a, id, "created")))
        goto fail;
    if ((e = db_commit(d)))
        goto out;
    if (id_r)
        *id_r = id;
    goto out;
fail:
    db_rollback(d);
out:
    arena_free(&a);
    return e;
}

#define CANCEL_BATCH 64 /* the LIMIT of task_cancel_for's query */

static err invalid_transition(const struct task_row *r, const char *what)
{
    return err_set(E_CONFLICT, "invalid_transition", NULL, "任务当前状态为“%s”，不能%s",
                   state_label(r->t.state), what);
}

static err changed_meanwhile(void)
{
    return err_set(E_CONFLICT, "conflict", NULL, "任务已被他人修改，请刷新后重试");
}

static bool is_open(enum task_state s)
{
    return s == TASK_PENDING || s == TASK_ACCEPTED || s == TASK_OVERDUE || s == TASK_RETURNED;
}

/* Accepted and being worked on (possibly past its deadline). */
static bool in_hand(const struct task_row *r)
{
    return r->t.state == TASK_ACCEPTED || (r->t.state == TASK_OVERDUE && r->t.accepted_by);
}

/* Run the prepared UPDATE s (its last two parameters id and version, at
 * positions n-1 and n), then the event and the push; inside a transaction
 * the caller opened. A task changed meanwhile is "conflict". */
static err apply(db *d, arena *a, db_stmt *s, int n, const struct task_row *r, int64_t user_id,
                 const char *action, const char *note)
{
    int64_t changed = 0;
    db_bind_int64(s, n - 1, r->t.id);
    db_bind_int64(s, n, r->version);
    err e = db_run(s, &changed);
    if (!e && !changed)
        e = changed_meanwhile();
    if (!e)
        e = event_add(d, r->t.id, user_id, action, note);
    if (!e)
        e = push_at_commit(d, a, r->t.id, action);
    return e;
}

static err finish(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err task_accept(db *d, arena *a, const struct principal *who, int64_t id)
{
    struct task_row r;
    err e = task_load(d, a, who, TASK_VIEW_CLAIM, id, &r);
    if (e)
        return e;
    if (r.t.assignee_user_id && r.t.assignee_user_id != who->user_id)
        return err_set(E_CONFLICT, "already_taken", NULL, "任务已被其他人接收");
    if (!(r.t.state == TASK_PENDING || (r.t.state == TASK_OVERDUE && !r.t.accepted_by)))
        return invalid_transition(&r, "接收");
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    /* assignee_user_id 0 or me: of two holders of a role accepting at
     * once, the version lets one through */
    if (!(e = db_prepare(d,
                         "UPDATE tasks SET assignee_user_id = ?, accepted_by = ?, accepted_at = ?, "
                         "state = CASE WHEN state = 'pending' THEN 'accepted' ELSE state END, "
                         "version = version + 1 WHERE id = ? AND version = ?",
                         &s))) {
        db_bind_int64(s, 1, who->user_id);
        db_bind_int64(s, 2, who->user_id);
        db_bind_int64(s, 3, now_ms());
        e = apply(d, a, s, 5, &r, who->user_id, "accepted", "");
    }
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "conflict")) {
        /* the other holder got there first: say so */
        struct task_row now_r;
        db_rollback(d);
        if (!task_load(d, a, who, TASK_VIEW_CLAIM, id, &now_r) && now_r.t.assignee_user_id &&
            now_r.t.assignee_user_id != who->user_id)
            return err_set(E_CONFLICT, "already_taken", NULL, "任务已被其他人接收");
        return changed_meanwhile();
    }
    return finish(d, e);
}

err task_complete(db *d, arena *a, const struct principal *who, int64_t id, json_t *result)
{
    struct task_row r;
    err e = task_load(d, a, who, TASK_VIEW_MINE, id, &r);
    if (e)
        return e;
    if (r.t.state == TASK_PENDING || (r.t.state == TASK_OVERDUE && !r.t.accepted_by))
        return err_set(E_CONFLICT, "invalid_transition", NULL, "请先接收任务再办结");
    if (!in_hand(&r))
        return invalid_transition(&r, "办结");
    const struct task_kind *k = task_kind_find(r.t.kind);
    if (!k)
        return err_set(E_CONFLICT, "invalid_transition", NULL, "该类任务暂不能在此办理");
    if (result && !json_is_object(result))
        return err_set(E_INPUT, "invalid_type", "result", "办理结果应为对象");
    char *text = result ? json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (result && !text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    const char *stored = text ? arena_strdup(a, text) : "";
    free(text);
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    if (k->complete)
        e = k->complete(d, a, who, &r.t, result);
    if (!e && !(e = db_prepare(d,
                               "UPDATE tasks SET state = 'done', done_by = ?, done_at = ?, result "
                               "= ?, version = version + 1 WHERE id = ? AND version = ?",
                               &s))) {
        db_bind_int64(s, 1, who->user_id);
        db_bind_int64(s, 2, now_ms());
        db_bind_text(s, 3, stored);
        e = apply(d, a, s, 5, &r, who->user_id, "completed", "");
    }
    return finish(d, e);
}

static err check_reason(const char *reason)
{
    return check_text(reason, "reason", "原因", TASK_NOTE_MAX, TEXT_REQUIRED);
}

err task_return(db *d, arena *a, const struct principal *who, int64_t id, const char *reason)
{
    err e = check_reason(reason);
    struct task_row r;
    if (e || (e = task_load(d, a, who, TASK_VIEW_MINE, id, &r)))
        return e;
    if (!in_hand(&r))
        return invalid_transition(&r, "退回");
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    if (!(e = db_prepare(d,
                         "UPDATE tasks SET state = 'returned', version = version + 1 WHERE id = ? "
                         "AND version = ?",
                         &s)))
        e = apply(d, a, s, 2, &r, who->user_id, "returned", reason);
    return finish(d, e);
}

err task_reassign(db *d, arena *a, const struct principal *who, int64_t id, int64_t user_id,
                  const char *role, int64_t deadline)
{
    struct task_row r;
    err e = task_load(d, a, who, TASK_VIEW_SCOPE, id, &r);
    if (e)
        return e;
    if (!is_open(r.t.state))
        return invalid_transition(&r, "改派");
    int64_t now = now_ms();
    if (deadline) {
        if ((e = check_deadline(deadline, now)))
            return e;
    } else if (r.t.deadline <= now) {
        return err_set(E_INPUT, "deadline_past", "deadline",
                       "任务已超过完成期限，请重新设置完成期限");
    }
    if ((e = check_assignee(d, r.t.region_code, user_id, role)))
        return e;
    const char *to = "";
    db_stmt *s;
    bool row;
    if (user_id > 0) {
        if ((e = db_prepare(d, "SELECT display_name FROM users WHERE id = ?", &s)))
            return e;
        db_bind_int64(s, 1, user_id);
    } else {
        if ((e = db_prepare(d, "SELECT name FROM roles WHERE key = ?", &s)))
            return e;
        db_bind_text(s, 1, role);
    }
    if (!(e = db_row(s, &row)) && row)
        to = arena_printf(a, "改派给%s", db_col_text(s, 0));
    db_done(s);
    if (e || (e = db_begin(d)))
        return e;
    /* a new deadline is a new chance to be late: its alert may be raised */
    if (!(e = db_prepare(d,
                         "UPDATE tasks SET assignee_user_id = ?, assignee_role = ?, state = "
                         "'pending', accepted_by = 0, accepted_at = 0, deadline = ?, "
                         "overdue_alerted = 0, version = version + 1 WHERE id = ? AND version = ?",
                         &s))) {
        db_bind_int64(s, 1, user_id > 0 ? user_id : 0);
        db_bind_text(s, 2, user_id > 0 ? "" : role);
        db_bind_int64(s, 3, deadline ? deadline : r.t.deadline);
        e = apply(d, a, s, 5, &r, who->user_id, "reassigned", to);
    }
    return finish(d, e);
}

err task_cancel(db *d, arena *a, const struct principal *who, int64_t id, const char *reason)
{
    err e = check_reason(reason);
    struct task_row r;
    if (e || (e = task_load(d, a, who, TASK_VIEW_SCOPE, id, &r)))
        return e;
    if (!is_open(r.t.state))
        return invalid_transition(&r, "撤销");
    const struct task_kind *k = task_kind_find(r.t.kind);
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    if (k && k->cancelled)
        e = k->cancelled(d, a, who, &r.t);
    if (!e && !(e = db_prepare(d,
                               "UPDATE tasks SET state = 'cancelled', version = version + 1 "
                               "WHERE id = ? AND version = ?",
                               &s)))
        e = apply(d, a, s, 2, &r, who->user_id, "cancelled", reason);
    return finish(d, e);
}

/* Close the open tasks of `kind` about subject_id as `state` ("cancelled"
 * or "done"), each with the event `action`, in batches: a closed task no
 * longer matches, so each round reads the next ones until none is left. */
static err close_for(db *d, arena *a, const struct principal *who, const char *kind,
                     int64_t subject_id, bool done, const char *note)
{
    int64_t uid = who ? who->user_id : 0, now = now_ms();
    const char *action = done ? "completed" : "cancelled";
    err e = db_begin(d);
    if (e)
        return e;
    for (size_t n = CANCEL_BATCH; !e && n == CANCEL_BATCH;) {
        int64_t ids[CANCEL_BATCH];
        db_stmt *s;
        n = 0;
        if ((e = db_prepare(d,
                            "SELECT id FROM tasks WHERE kind = ? AND subject_id = ? AND state IN "
                            "('pending', 'accepted', 'overdue', 'returned') LIMIT 64",
                            &s)))
            break;
        db_bind_text(s, 1, kind);
        db_bind_int64(s, 2, subject_id);
        bool row;
        while (n < CANCEL_BATCH && !(e = db_row(s, &row)) && row)
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
        for (size_t i = 0; i < n && !e; i++) {
            if (!(e = db_prepare(d,
                                 done
                                     ? "UPDATE tasks SET state = 'done', done_by = ?, done_at = ?, "
                                       "version = version + 1 WHERE id = ?"
                                     : "UPDATE tasks SET state = 'cancelled', version = version "
                                       "+ 1 WHERE id = ?",
                                 &s))) {
                int k = 1;
                if (done) {
                    db_bind_int64(s, k++, uid);
                    db_bind_int64(s, k++, now);
                }
                db_bind_int64(s, k, ids[i]);
                e = db_run(s, NULL);
            }
            if (!e)
                e = event_add(d, ids[i], uid, action, note);
            if (!e)
                e = push_at_commit(d, a, ids[i], action);
        }
    }
    return finish(d, e);
}

err task_cancel_for(db *d, arena *a, const struct principal *who, const char *kind,
                    int64_t subject_id, const char *note)
{
    return close_for(d, a, who, kind, subject_id, false, note);
}

err task_done_for(db *d, arena *a, const struct principal *who, const char *kind,
                  int64_t subject_id, const char *note)
{
    return close_for(d, a, who, kind, subject_id, true, note);
}

err task_open_exists(db *d, const char *kind, int64_t subject_id, bool *yes_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT 1 FROM tasks WHERE kind = ? AND subject_id = ? AND state IN "
                       "('pending', 'accepted', 'overdue', 'returned') LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, kind);
    db_bind_int64(s, 2, subject_id);
    bool row;
    if (!(e = db_row(s, &row)))
        *yes_r = row;
    db_done(s);
    return e;
}

/* ---- overdue -------------------------------------------------------------------------- */

#define SWEEP_BATCH 256

err task_sweep_overdue(db *d, int64_t now, int64_t *n_r)
{
    struct late {
        int64_t id, region, deadline, person;
        int priority;
        char title[256], kind[64];
    } *rows = calloc(SWEEP_BATCH, sizeof *rows);
    if (!rows)
        return E_NOMEM;
    /* the push reads the task back: a private arena for this one sweep,
     * as the worker thread has no request */
    arena *a = arena_new(4096);
    if (!a) {
        free(rows);
        return E_NOMEM;
    }
    int64_t marked = 0;
    err e;
    for (;;) {
        int n = 0;
        db_stmt *s;
        if ((e = db_begin(d)))
            break;
        if (!(e = db_prepare(d,
                             "SELECT id, region_code, deadline, person_id, priority, title, kind "
                             "FROM tasks WHERE state IN ('pending', 'accepted') AND deadline < ? "
                             "AND overdue_alerted = 0 ORDER BY deadline LIMIT 256",
                             &s))) {
            db_bind_int64(s, 1, now);
            bool row;
            while (n < SWEEP_BATCH && !(e = db_row(s, &row)) && row) {
                rows[n] = (struct late){db_col_int64(s, 0),
                                        db_col_int64(s, 1),
                                        db_col_int64(s, 2),
                                        db_col_int64(s, 3),
                                        (int)db_col_int64(s, 4),
                                        "",
                                        ""};
                snprintf(rows[n].title, sizeof rows[n].title, "%s", db_col_text(s, 5));
                snprintf(rows[n].kind, sizeof rows[n].kind, "%s", db_col_text(s, 6));
                n++;
            }
            db_done(s);
        }
        for (int i = 0; i < n && !e; i++) {
            int64_t changed = 0;
            /* claim it first: of several servers sweeping, one alerts */
            if ((e = db_prepare(d,
                                "UPDATE tasks SET state = 'overdue', overdue_alerted = 1, "
                                "version = version + 1 WHERE id = ? AND state IN ('pending', "
                                "'accepted') AND overdue_alerted = 0",
                                &s)))
                break;
            db_bind_int64(s, 1, rows[i].id);
            if ((e = db_run(s, &changed)) || !changed)
                continue;
            char when[CHINA_TIME_LEN], msg[400], detail[128];
            china_time(rows[i].deadline, when);
            snprintf(msg, sizeof msg, "%s“%s”已超过完成期限（%s）仍未办结",
                     task_kind_label(rows[i].kind), rows[i].title, when);
            snprintf(detail, sizeof detail, "{\"task_id\":\"%lld\",\"deadline\":%lld}",
                     (long long)rows[i].id, (long long)rows[i].deadline);
            struct alert_new al = {.kind = ALERT_TASK_OVERDUE,
                                   .level = rows[i].priority == TASK_URGENT ? ALERT_CRITICAL
                                                                            : ALERT_WARNING,
                                   .region_code = rows[i].region,
                                   .person_id = rows[i].person,
                                   .message = msg,
                                   .detail = detail,
                                   .at = now};
            if (!(e = alert_raise(d, &al, NULL)) &&
                !(e = event_add(d, rows[i].id, 0, "overdue", "")) &&
                !(e = push_at_commit(d, a, rows[i].id, "overdue")))
                marked++;
        }
        if ((e = finish(d, e)) || n < SWEEP_BATCH)
            break;
        arena_reset(a);
    }
    arena_free(&a);
    free(rows);
    if (n_r)
        *n_r = e ? 0 : marked;
    return e;
}

static err overdue_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return task_sweep_overdue(d, now, n_r);
}

static struct periodic overdue = PERIODIC_INIT("task_overdue", overdue_run, NULL);

err task_worker_start(const char *db_url, int check_s)
{
    return periodic_start(&overdue, db_url, check_s);
}

void task_worker_stop(void)
{
    periodic_stop(&overdue);
}
