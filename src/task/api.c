/*
 * HTTP handlers of tasks (task.h, docs/tasks.md):
 *
 *   POST /api/v1/tasks                 dispatch a task of a dispatchable kind (201)
 *   GET  /api/v1/tasks                 the board of the scope (filters, paging, sort;
 *                                      format=csv|xlsx, reveal=1 with person.reveal)
 *   GET  /api/v1/me/tasks              my tasks, by urgency (?state=done: my history)
 *   GET  /api/v1/tasks/{id}            one task and its timeline (task.read, or task.work on mine)
 *   POST /api/v1/tasks/{id}/accept     take it (the first holder of its role to accept)
 *   POST /api/v1/tasks/{id}/complete   {result}: done
 *   POST /api/v1/tasks/{id}/return     {reason}: back to the dispatcher
 *   POST /api/v1/tasks/{id}/reassign   {assignee_user_id | assignee_role, deadline?}
 *   POST /api/v1/tasks/{id}/cancel     {reason}
 *   POST /api/v1/tasks/{id}/reveal     the full address and phone (audited as task.reveal)
 *
 * Replies show the address and phone masked; every read is audited
 * (task.read, task.list, task.export), and every change with its result.
 */
#include <math.h>
#include <string.h>

#include "app.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/query.h"
#include "http/export.h"
#include "security/audit.h"
#include "security/mask.h"
#include "task/internal.h"

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* A task as every reply shows it: names beside ids, labels beside
 * vocabulary words, the address and phone masked. */
static json_t *task_json(arena *a, const struct task_row *r, int64_t now)
{
    const struct task *t = &r->t;
    bool open = t->state == TASK_PENDING || t->state == TASK_ACCEPTED;
    json_t *o = json_object();
    json_set_id(o, "id", t->id);
    json_object_set_new(o, "kind", json_string(t->kind));
    json_object_set_new(o, "kind_label", json_string(task_kind_label(t->kind)));
    json_object_set_new(o, "title", json_string(t->title));
    json_object_set_new(o, "state", json_string(vocab_name(&task_state_vocab, t->state)));
    json_object_set_new(o, "state_label", json_string(vocab_label(&task_state_vocab, t->state)));
    json_object_set_new(o, "priority", json_string(vocab_name(&task_priority_vocab, t->priority)));
    json_object_set_new(o, "priority_label",
                        json_string(vocab_label(&task_priority_vocab, t->priority)));
    json_object_set_new(o, "deadline", json_integer(t->deadline));
    json_object_set_new(o, "overdue",
                        json_boolean(t->state == TASK_OVERDUE || (open && t->deadline < now)));
    json_set_region(o, t->region_code, r->region_name);
    if (t->assignee_user_id)
        json_set_id(o, "assignee_user_id", t->assignee_user_id);
    else
        json_object_set_new(o, "assignee_user_id", json_null());
    json_object_set_new(o, "assignee_name", str_or_null(r->assignee_name));
    json_object_set_new(o, "assignee_role", str_or_null(t->assignee_role));
    json_object_set_new(o, "assignee_role_name", str_or_null(r->role_name));
    /* who is it with, in words: the user, else every holder of the role */
    json_object_set_new(o, "assignee_label",
                        json_string(t->assignee_user_id
                                        ? r->assignee_name
                                        : arena_printf(a, "%s（待接收）", r->role_name)));
    if (t->person_id)
        json_set_id(o, "person_id", t->person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    json_object_set_new(o, "person_name",
                        r->person_name ? json_string(mask_name(a, r->person_name)) : json_null());
    if (t->subject_id)
        json_set_id(o, "subject_id", t->subject_id);
    else
        json_object_set_new(o, "subject_id", json_null());
    json_object_set_new(o, "address",
                        r->address ? json_string(mask_address(a, r->address)) : json_null());
    json_object_set_new(o, "phone", r->phone ? json_string(mask_phone(a, r->phone)) : json_null());
    bool at = r->lat != 0 || r->lng != 0;
    json_object_set_new(o, "lat", at ? json_real(r->lat) : json_null());
    json_object_set_new(o, "lng", at ? json_real(r->lng) : json_null());
    json_object_set_new(o, "note", json_string(t->note));
    json_t *detail = json_loads(t->detail && *t->detail ? t->detail : "{}", 0, NULL);
    json_object_set_new(o, "detail", detail ? detail : json_object());
    json_t *result = *r->result ? json_loads(r->result, 0, NULL) : NULL;
    json_object_set_new(o, "result", result ? result : json_null());
    json_object_set_new(o, "created_by_name",
                        json_string(t->created_by ? r->created_by_name : "系统"));
    json_object_set_new(o, "created_at", json_integer(t->created_at));
    json_object_set_new(o, "accepted_at", json_integer(t->accepted_at));
    json_object_set_new(o, "done_at", json_integer(t->done_at));
    json_object_set_new(o, "version", json_integer(r->version));
    return o;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct jfield dispatch_fields[] = {
    {"kind", J_STRING, JF_REQUIRED, 1, 32, "任务类型", NULL},
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "所属区划", NULL},
    {"assignee_user_id", J_STRING, JF_NULLABLE, 1, 20, "执行人", NULL},
    {"assignee_role", J_STRING, JF_NULLABLE, 1, 64, "执行角色", NULL},
    {"priority", J_STRING, 0, 0, 0, "紧急程度", NULL, &task_priority_vocab},
    {"deadline", J_INT, JF_REQUIRED, 0, 0, "完成期限", NULL},
    {"title", J_STRING, JF_REQUIRED, 1, TASK_TITLE_MAX, "任务标题", NULL},
    {"person_id", J_STRING, JF_NULLABLE, 1, 20, "相关人员", NULL},
    {"address", J_STRING, JF_NULLABLE, 1, 200, "地址", NULL},
    {"phone", J_STRING, JF_NULLABLE, 1, 20, "联系电话", NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL},
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL},
    {"note", J_STRING, JF_NULLABLE, 0, TASK_NOTE_MAX, "说明", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* An optional id member: 0 when absent, E_INPUT when malformed. */
static err body_id(json_t *b, const char *key, const char *label, int64_t *id_r)
{
    const char *s = json_str(b, key);
    *id_r = 0;
    if (s && (*id_r = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_value", key, "%s编号不正确", label);
    return E_OK;
}

/* A live person inside who's scope (what a dispatcher may name). */
static err person_in_scope(struct req *r, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(r->db,
                       "SELECT 1 FROM persons WHERE id = ? AND region_code >= ? AND region_code "
                       "< ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, r->who->scope.lo);
    db_bind_int64(s, 3, r->who->scope.hi);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_INPUT, "unknown_person", "person_id", "人员不存在或不在您的管辖范围内");
    return e;
}

static err dispatch_input(struct req *r, struct task_new *t)
{
    json_t *b = r->body;
    memset(t, 0, sizeof *t);
    t->kind = json_str(b, "kind");
    const struct task_kind *k = task_kind_find(t->kind);
    if (!k)
        return err_set(E_INPUT, "unknown_kind", "kind", "任务类型不存在");
    if (!k->dispatchable)
        return err_set(E_INPUT, "kind_not_dispatchable", "kind",
                       "“%s”由业务流程自动生成，不能手工派发", k->label);
    enum region_level lv;
    t->region_code = regcode_parse(json_str(b, "region_code"), &lv);
    if (t->region_code <= 0 || !scope_has(&r->who->scope, t->region_code))
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    err e = body_id(b, "assignee_user_id", "执行人", &t->assignee_user_id);
    if (!e)
        e = body_id(b, "person_id", "人员", &t->person_id);
    if (e)
        return e;
    t->assignee_role = json_str(b, "assignee_role");
    int p = json_has(b, "priority") ? vocab_parse(&task_priority_vocab, json_str(b, "priority"))
                                    : TASK_NORMAL;
    t->priority = p > 0 ? (enum task_priority)p : 0;
    t->deadline = json_int(b, "deadline", 0);
    t->title = json_str(b, "title");
    t->address = json_str(b, "address");
    t->phone = json_str(b, "phone");
    t->note = json_str(b, "note");
    t->created_by = r->who->user_id;
    if (t->address && (e = check_text(t->address, "address", "地址", 200, TEXT_ONE_LINE)))
        return e;
    if (t->phone && (e = check_phone(t->phone, "phone")))
        return e;
    bool has_lat = json_has(b, "lat") && !json_is_null(json_object_get(b, "lat"));
    bool has_lng = json_has(b, "lng") && !json_is_null(json_object_get(b, "lng"));
    if (has_lat != has_lng)
        return err_set(E_INPUT, "required", has_lat ? "lng" : "lat", "纬度和经度应同时给出");
    t->lat = json_num(b, "lat", 0);
    t->lng = json_num(b, "lng", 0);
    if (has_lat && (!isfinite(t->lat) || t->lat < -90 || t->lat > 90))
        return err_set(E_INPUT, "out_of_range", "lat", "纬度应在-90到90之间");
    if (has_lng && (!isfinite(t->lng) || t->lng < -180 || t->lng > 180))
        return err_set(E_INPUT, "out_of_range", "lng", "经度应在-180到180之间");
    if (t->person_id && (e = person_in_scope(r, t->person_id)))
        return e;
    return E_OK;
}

static err reply_task(struct req *r, int status, enum task_view v, int64_t id)
{
    struct task_row row;
    err e = task_load(r->db, r->a, r->who, v, id, &row);
    if (e)
        return e;
    json_t *o = task_json(r->a, &row, now_ms());
    json_t *events;
    if ((e = task_timeline(r->db, id, &events))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "events", events);
    return reply_json(r, status, o);
}

static err post_task(struct req *r)
{
    struct task_new t;
    int64_t id = 0;
    err e = dispatch_input(r, &t);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = task_create(r->db, &t, &id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "task.create", "task", 0, e, NULL);
    }
    req_audit(r, "task.create", "task", id, "ok", arena_printf(r->a, "kind=%s", t.kind));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_task(r, 201, TASK_VIEW_SCOPE, id);
}

/* ---- lists ------------------------------------------------------------------------------ */

static const char *const export_cols[] = {
    "编号",     "任务类型", "任务标题", "区划代码", "所属区划", "状态",
    "紧急程度", "完成期限", "是否超时", "执行人",   "相关人员", "地址",
    "联系电话", "派发人",   "派发时间", "接收时间", "完成时间",
};
#define EXPORT_NCOLS (sizeof export_cols / sizeof export_cols[0])

/* One task of the board as an export row: the address, phone and
 * person's name masked unless revealed. The one row writer of the reply
 * and the job. */
static void task_row_out(struct export_out *x, arena *a, const struct task_row *row, int64_t now,
                         bool reveal)
{
    const struct task *t = &row->t;
    char code[19];
    regcode_format(t->region_code, code);
    bool late = t->state == TASK_OVERDUE ||
                ((t->state == TASK_PENDING || t->state == TASK_ACCEPTED) && t->deadline < now);
    export_int(x, t->id);
    export_text(x, task_kind_label(t->kind));
    export_text(x, t->title);
    export_text(x, code);
    export_text(x, row->region_name);
    export_text(x, vocab_label(&task_state_vocab, t->state));
    export_text(x, vocab_label(&task_priority_vocab, t->priority));
    export_time(x, t->deadline);
    export_text(x, late ? "是" : "否");
    export_text(x, t->assignee_user_id ? row->assignee_name
                                       : arena_printf(a, "%s（待接收）", row->role_name));
    export_text(x, !row->person_name ? ""
                   : reveal          ? row->person_name
                                     : mask_name(a, row->person_name));
    export_text(x, !row->address ? "" : reveal ? row->address : mask_address(a, row->address));
    export_text(x, !row->phone ? "" : reveal ? row->phone : mask_phone(a, row->phone));
    export_text(x, t->created_by ? row->created_by_name : "系统");
    export_time(x, t->created_at);
    export_time(x, t->accepted_at);
    export_time(x, t->done_at);
    export_row_end(x);
}

/* The board as CSV or a workbook (http/export.h). */
static err tasks_export(struct req *r, enum export_format fmt, const struct task_row *items,
                        size_t n, int64_t now, bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "任务", export_cols, EXPORT_NCOLS);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++)
        task_row_out(&x, r->a, &items[i], now, reveal);
    return export_send(&x, E_OK, "tasks");
}

/* The board's filters from the query (the board, its exports, the export job). */
static err list_filter(struct req *r, struct task_filter *f)
{
    *f = (struct task_filter){.overdue = -1};
    err e = req_paging(r, &f->page, &f->page_size);
    if (e)
        return e;
    const char *s;
    if ((s = req_query(r, "state"))) {
        int st = vocab_parse(&task_state_vocab, s);
        if (st <= 0)
            return err_set(E_INPUT, "invalid_parameter", "state", "任务状态的取值不正确");
        f->state = (enum task_state)st;
    }
    if ((s = req_query(r, "kind")) && !(f->kind = task_kind_find(s) ? s : NULL))
        return err_set(E_INPUT, "invalid_parameter", "kind", "任务类型不存在");
    if ((s = req_query(r, "assignee_user_id")) && (f->assignee_user_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "assignee_user_id",
                       "参数 assignee_user_id 不正确");
    if ((s = req_query(r, "overdue"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "overdue", "参数 overdue 应为 1 或 0");
        f->overdue = s[0] == '1';
    }
    f->q = req_query(r, "q");
    if (f->q && (!utf8_valid_text(f->q) || utf8_len(f->q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    f->sort = req_query(r, "sort");
    return E_OK;
}

/* ---- the export job's source (http/export.h) ------------------------------------------------ */

#define SOURCE_PAGE 1000

static err source_parse(struct req *r, void **filter_r)
{
    struct task_filter *f = arena_alloc(r->a, sizeof *f);
    *filter_r = f;
    err e = list_filter(r, f);
    if (e)
        return e;
    /* the sort key is checked by the board's query: one row of it now */
    struct task_filter one = *f;
    one.page = 1;
    one.page_size = 1;
    struct task_row *items;
    size_t n;
    int64_t total;
    return task_board(r->db, r->a, &r->who->scope, &one, now_ms(), &items, &n, &total, NULL);
}

/* the board's pages in its order; "late" as of the export's start */
static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    struct task_filter f = *(const struct task_filter *)filter;
    f.page_size = SOURCE_PAGE;
    int64_t now = now_ms();
    err e = E_OK;
    for (f.page = 1; !e; f.page++) {
        struct task_row *items;
        size_t n;
        arena_reset(a);
        if ((e = task_board(d, a, &who->scope, &f, now, &items, &n, &x->total, NULL)))
            break;
        for (size_t i = 0; i < n && !(e = export_room(x)); i++)
            task_row_out(x, a, &items[i], now, reveal);
        if (n < SOURCE_PAGE)
            break;
    }
    return e;
}

const struct export_source task_export = {
    .list = "tasks",
    .kind = "export.tasks",
    .audit = "task",
    .perm = PERM_TASK_READ,
    .sheet = "任务",
    .head = export_cols,
    .ncols = EXPORT_NCOLS,
    .parse = source_parse,
    .each = source_each,
};

static err get_tasks(struct req *r)
{
    struct task_filter f;
    err e = list_filter(r, &f);
    if (e)
        return e;
    enum export_format fmt;
    bool reveal = false;
    if ((e = req_export_format(r, &fmt)))
        return e;
    /* full names, addresses and phones: in an export only, with person.reveal */
    if (fmt && (e = req_reveal(r, &reveal)))
        return e == E_FORBIDDEN
                   ? audit_refusal(r->db, r->who, r->ip, "task.export", "task", 0, e, "reveal")
                   : e;
    int64_t page_size = f.page_size, now = now_ms(), total;
    if (fmt) { /* at most export_sync_max() rows: more is the export job's */
        f.page = 1;
        f.page_size = export_sync_max() + 1;
    } else {
        f.count_cap = query_count_cap(); /* "10000+" on a screen; a file counts exactly */
    }
    struct task_row *items;
    size_t n;
    bool capped;
    if ((e = task_board(r->db, r->a, &r->who->scope, &f, now, &items, &n, &total, &capped)))
        return e;
    if (fmt && (e = export_check_total(total)))
        return e;
    if (fmt)
        req_audit(r, reveal ? "task.export_reveal" : "task.export", "task", 0, "ok",
                  arena_printf(r->a, "%s count=%zu%s", export_format_name(fmt), n,
                               reveal ? " reveal" : ""));
    else
        req_audit(r, "task.list", "task", 0, "ok", arena_printf(r->a, "count=%zu", n));
    if (fmt)
        return tasks_export(r, fmt, items, n, now, reveal);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, task_json(r->a, &items[i], now));
    return reply_page_capped(r, arr, total, capped, f.page, page_size);
}

static err get_my_tasks(struct req *r)
{
    int64_t page, size, total, now = now_ms();
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    const char *s = req_query(r, "state");
    if (s && strcmp(s, "open") && strcmp(s, "done"))
        return err_set(E_INPUT, "invalid_parameter", "state", "参数 state 应为 open 或 done");
    bool done = s && !strcmp(s, "done");
    struct task_row *items;
    size_t n;
    if ((e = task_mine(r->db, r->a, r->who, done, now, page, size, &items, &n, &total)))
        return e;
    req_audit(r, "task.list", "task", 0, "ok",
              arena_printf(r->a, "mine=%s;count=%zu", done ? "done" : "open", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = task_json(r->a, &items[i], now);
        /* a role's task nobody took yet: the page offers to accept it */
        json_object_set_new(o, "claimable", json_boolean(!items[i].t.assignee_user_id));
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, page, size);
}

/* The view in which who sees task id: the scope's (task.read) or, failing
 * that, their own (task.work). E_FORBIDDEN without either permission. */
static err view_of(struct req *r, int64_t id, enum task_view *v_r)
{
    bool read = principal_can(r->who, PERM_TASK_READ), work = principal_can(r->who, PERM_TASK_WORK);
    if (!read && !work)
        return err_set(E_FORBIDDEN, "forbidden", NULL, "您没有查看任务的权限");
    struct task_row row;
    err e = E_NOT_FOUND;
    if (read && !(e = task_load(r->db, r->a, r->who, TASK_VIEW_SCOPE, id, &row)))
        *v_r = TASK_VIEW_SCOPE;
    if (e == E_NOT_FOUND && work && !(e = task_load(r->db, r->a, r->who, TASK_VIEW_MINE, id, &row)))
        *v_r = TASK_VIEW_MINE;
    return e;
}

static err get_task(struct req *r)
{
    int64_t id;
    enum task_view v = TASK_VIEW_SCOPE;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = view_of(r, id, &v);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "task.read", "task", id, e, NULL);
    req_audit(r, "task.read", "task", id, "ok", "");
    return reply_task(r, 200, v, id);
}

/* ---- state changes ---------------------------------------------------------------------- */

/* Run op on the task of path parameter 0 with its audit entry in the same
 * transaction, then reply the task in view v. */
#define CHANGE(r, action, v, call)                                                                 \
    do {                                                                                           \
        int64_t id;                                                                                \
        err e = req_param_id(r, 0, &id);                                                           \
        if (e)                                                                                     \
            return e;                                                                              \
        db_hold((r)->db); /* the entry commits with the write (security/audit.h) */                \
        if ((e = (call))) {                                                                        \
            err_ignore(db_release((r)->db, false));                                                \
            return audit_refusal((r)->db, (r)->who, (r)->ip, action, "task", id, e, NULL);         \
        }                                                                                          \
        req_audit(r, action, "task", id, "ok", "");                                                \
        if ((e = db_release((r)->db, true)))                                                       \
            return e;                                                                              \
        return reply_task(r, 200, v, id);                                                          \
    } while (0)

static err post_accept(struct req *r)
{
    CHANGE(r, "task.accept", TASK_VIEW_MINE, task_accept(r->db, r->a, r->who, id));
}

static const struct jfield complete_fields[] = {
    {"result", J_OBJECT, 0, 0, 0, "办理结果", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_complete(struct req *r)
{
    json_t *result = r->body ? json_object_get(r->body, "result") : NULL;
    CHANGE(r, "task.complete", TASK_VIEW_MINE, task_complete(r->db, r->a, r->who, id, result));
}

static const struct jfield reason_fields[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, TASK_NOTE_MAX, "原因", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_return(struct req *r)
{
    const char *reason = json_str(r->body, "reason");
    CHANGE(r, "task.return", TASK_VIEW_MINE, task_return(r->db, r->a, r->who, id, reason));
}

static err post_cancel(struct req *r)
{
    const char *reason = json_str(r->body, "reason");
    CHANGE(r, "task.cancel", TASK_VIEW_SCOPE, task_cancel(r->db, r->a, r->who, id, reason));
}

static const struct jfield reassign_fields[] = {
    {"assignee_user_id", J_STRING, JF_NULLABLE, 1, 20, "执行人", NULL},
    {"assignee_role", J_STRING, JF_NULLABLE, 1, 64, "执行角色", NULL},
    {"deadline", J_INT, JF_NULLABLE, 0, 0, "完成期限", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_reassign(struct req *r)
{
    int64_t user_id;
    err bad = body_id(r->body, "assignee_user_id", "执行人", &user_id);
    if (bad)
        return bad;
    const char *role = json_str(r->body, "assignee_role");
    int64_t deadline = json_int(r->body, "deadline", 0);
    CHANGE(r, "task.reassign", TASK_VIEW_SCOPE,
           task_reassign(r->db, r->a, r->who, id, user_id, role, deadline));
}

/* The full address and phone: for the assignee (task.work on a task of
 * theirs) or a holder of person.reveal in scope; audited as task.reveal. */
static err post_reveal(struct req *r)
{
    int64_t id;
    struct task_row row;
    err e = req_param_id(r, 0, &id);
    if (!e) {
        e = E_NOT_FOUND;
        if (principal_can(r->who, PERM_TASK_WORK))
            e = task_load(r->db, r->a, r->who, TASK_VIEW_MINE, id, &row);
        if (e == E_NOT_FOUND && principal_can(r->who, PERM_PERSON_REVEAL))
            e = task_load(r->db, r->a, r->who, TASK_VIEW_SCOPE, id, &row);
        else if (e == E_NOT_FOUND && principal_can(r->who, PERM_TASK_READ) &&
                 !task_load(r->db, r->a, r->who, TASK_VIEW_SCOPE, id, &row))
            e = err_set(E_FORBIDDEN, "reveal_forbidden", NULL, "您无权查看完整的个人信息");
        else if (e == E_NOT_FOUND)
            e = err_set(E_NOT_FOUND, "not_found", NULL, "任务不存在");
    }
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "task.reveal", "task", id, e, NULL);
    req_audit(r, "task.reveal", "task", id, "ok", "fields=address,phone");
    json_t *o = json_object();
    json_set_id(o, "id", id);
    json_object_set_new(o, "address", str_or_null(row.address));
    json_object_set_new(o, "phone", str_or_null(row.phone));
    bool at = row.lat != 0 || row.lng != 0;
    json_object_set_new(o, "lat", at ? json_real(row.lat) : json_null());
    json_object_set_new(o, "lng", at ? json_real(row.lng) : json_null());
    return reply_json(r, 200, o);
}

const struct route task_routes[] = {
    {M_POST, "/api/v1/tasks", post_task, PERM_TASK_DISPATCH, 0, dispatch_fields, "派发任务", "task",
     0},
    {M_GET, "/api/v1/tasks", get_tasks, PERM_TASK_READ, ROUTE_CAPPED_TOTAL, NULL,
     "任务看板（筛选、分页，format=csv|xlsx 导出，reveal=1 导出完整信息）", "task", 0},
    {M_GET, "/api/v1/me/tasks", get_my_tasks, PERM_TASK_WORK, 0, NULL, "我的任务（按紧急程度）",
     "task", 0},
    {M_GET, "/api/v1/tasks/{id}", get_task, PERM_NONE, 0, NULL, "任务详情和处理记录", "task", 0},
    {M_POST, "/api/v1/tasks/{id}/accept", post_accept, PERM_TASK_WORK, 0, NULL, "接收任务", "task",
     0},
    {M_POST, "/api/v1/tasks/{id}/complete", post_complete, PERM_TASK_WORK, 0, complete_fields,
     "办结任务", "task", 0},
    {M_POST, "/api/v1/tasks/{id}/return", post_return, PERM_TASK_WORK, 0, reason_fields, "退回任务",
     "task", 0},
    {M_POST, "/api/v1/tasks/{id}/reassign", post_reassign, PERM_TASK_DISPATCH, 0, reassign_fields,
     "改派任务", "task", 0},
    {M_POST, "/api/v1/tasks/{id}/cancel", post_cancel, PERM_TASK_DISPATCH, 0, reason_fields,
     "撤销任务", "task", 0},
    {M_POST, "/api/v1/tasks/{id}/reveal", post_reveal, PERM_NONE, 0, NULL,
     "查看任务的完整地址和电话（审计）", "task", 0},
};
const size_t task_routes_n = sizeof task_routes / sizeof task_routes[0];
