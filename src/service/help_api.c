/*
 * HTTP handlers of help requests (service.h "help requests";
 * docs/community-services.md "Help requests"):
 *
 *   POST /api/v1/me/help                    a resident asks {kind, text, attachments?}: 201
 *   GET  /api/v1/me/help                    the resident's own requests, newest first, paging
 *   GET  /api/v1/me/help/{id}               one of them with its photos (404 for another's)
 *   POST /api/v1/me/help/{id}/cancel        the resident withdraws it before work starts
 *   GET  /api/v1/service/help               requests in scope: state (or open=1), kind,
 *                                           region, assignee_id, mine=1, paging,
 *                                           format=csv|xlsx, reveal=1 (person.reveal)
 *   GET  /api/v1/service/help/assignees     who may take a community's requests (?region=)
 *   GET  /api/v1/service/help/{id}          one request with its photos
 *   POST /api/v1/service/help/{id}/assign   {assignee_id, note?} (service.manage)
 *   POST /api/v1/service/help/{id}/start    {note?} the handler starts (assist.work)
 *   POST /api/v1/service/help/{id}/done     {note} the outcome the resident reads
 *   POST /api/v1/service/help/{id}/cancel   {note} staff close it with a reason
 *   GET  /api/v1/me/volunteer/help          a volunteer's assigned requests, open first
 *   POST /api/v1/me/volunteer/help/{id}/start|done  {note} the volunteer works one
 *
 * The list names people (masked): reads are audited, full values as
 * person.reveal. Every write is audited with its refusals.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/export.h"
#include "http/write.h"
#include "security/audit.h"
#include "service/service.h"

static err residents_only(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return E_OK;
}

/* ---- the resident's side ------------------------------------------------------ */

static const struct jfield submit_body[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "求助类型", NULL, &help_kind_vocab},
    {"text", J_STRING, JF_REQUIRED, 1, HELP_TEXT_MAX, "求助内容", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_my_help(struct req *r)
{
    err e = residents_only(r);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "help.submit", "help_request", 0, e, NULL);
    int64_t id = 0;
    db_hold(r->db); /* the entry commits with the request (security/audit.h) */
    e = service_help_submit(
        r->db, r->a, r->who, vocab_parse(&help_kind_vocab, json_str(r->body, "kind")),
        json_str(r->body, "text"), json_object_get(r->body, "attachments"), now_ms(), &id);
    if ((e = req_write_done(r, e, "help.submit", "help_request", id, NULL)))
        return e;
    json_t *item;
    if ((e = service_help_mine_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 201, item);
}

static err get_my_helps(struct req *r)
{
    int64_t page, size, total = 0;
    json_t *items;
    err e = residents_only(r);
    if (e || (e = req_paging(r, &page, &size)) ||
        (e = service_help_mine(r->db, r->a, r->who, page, size, &items, &total)))
        return e;
    return reply_page(r, items, total, page, size);
}

static err get_my_help(struct req *r)
{
    int64_t id;
    json_t *item;
    err e = residents_only(r);
    if (e || (e = req_param_id(r, 0, &id)) ||
        (e = service_help_mine_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 200, item);
}

static err post_my_cancel(struct req *r)
{
    int64_t id = 0;
    err e = residents_only(r);
    if (!e)
        e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = service_help_cancel_mine(r->db, r->who, id, now_ms());
    if ((e = req_write_done(r, e, "help.cancel", "help_request", id, "self")))
        return e;
    json_t *item;
    if ((e = service_help_mine_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 200, item);
}

/* ---- staff ------------------------------------------------------------------------ */

static err list_filter(struct req *r, struct help_filter *f)
{
    *f = (struct help_filter){0};
    err e = req_paging(r, &f->page, &f->page_size);
    if (e)
        return e;
    const char *v;
    if ((v = req_query(r, "state")) && *v && (f->state = vocab_parse(&help_state_vocab, v)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "求助状态的取值不正确");
    if ((v = req_query(r, "open")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return err_set(E_INPUT, "invalid_parameter", "open", "open 只能为 0 或 1");
        if (*v == '1' && f->state <= 0)
            f->state = -1;
    }
    if ((v = req_query(r, "kind")) && *v && (f->kind = vocab_parse(&help_kind_vocab, v)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "求助类型的取值不正确");
    if ((v = req_query(r, "region")) && *v) {
        enum region_level lv;
        if ((f->region = regcode_parse(v, &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "region", "请选择辖区内的区域");
    }
    if ((v = req_query(r, "assignee_id")) && *v && (f->assignee = id_parse(v)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "assignee_id", "参数 assignee_id 不正确");
    if ((v = req_query(r, "vulnerable")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return err_set(E_INPUT, "invalid_parameter", "vulnerable", "vulnerable 只能为 0 或 1");
        f->vulnerable = *v == '1';
    }
    if ((v = req_query(r, "observed")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return err_set(E_INPUT, "invalid_parameter", "observed", "observed 只能为 0 或 1");
        f->observed = *v == '1';
    }
    if ((v = req_query(r, "mine")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return err_set(E_INPUT, "invalid_parameter", "mine", "mine 只能为 0 或 1");
        if (*v == '1')
            f->assignee = r->who->user_id;
    }
    return E_OK;
}

static err to_array(void *ctx, const struct help_row *h)
{
    json_array_append_new(ctx, service_help_json(h));
    return E_OK;
}

static const char *const export_head[] = {"编号",     "提交时间", "求助人",   "联系电话",
                                          "所在区域", "类型",     "求助内容", "状态",
                                          "处理人",   "处理说明", "办结时间", "重点关注"};

static err to_export(void *ctx, const struct help_row *h)
{
    struct export_out *x = ctx;
    err e = export_room(x);
    if (e)
        return e;
    export_int(x, h->id);
    export_time(x, h->created_at);
    export_text(x, h->person_name);
    export_text(x, h->phone);
    export_text(x, h->region_name);
    export_text(x, vocab_label_of(&help_kind_vocab, h->kind));
    export_text(x, h->text);
    export_text(x, vocab_label_of(&help_state_vocab, h->state));
    export_text(x, h->assignee_name);
    export_text(x, h->note);
    export_time(x, h->closed_at);
    export_text(x, h->vulnerable && h->observed ? "重点人群、隔离观察"
                   : h->vulnerable              ? "重点人群"
                   : h->observed                ? "隔离观察"
                                                : "");
    export_row_end(x);
    return E_OK;
}

static err get_helps(struct req *r)
{
    struct help_filter f;
    enum export_format fmt;
    bool reveal;
    err e = list_filter(r, &f);
    if (e || (e = req_export_format(r, &fmt)) || (e = req_reveal(r, &reveal)))
        return e;
    int64_t total = 0;
    const char *action = reveal ? "person.reveal" : "help.list";
    if (fmt) { /* at most export_sync_max() rows: the export refuses more */
        f.page = 1;
        f.page_size = export_sync_max() + 1;
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "求助", export_head,
                              sizeof export_head / sizeof export_head[0])))
            return e;
        e = service_help_each(r->db, r->a, &r->who->scope, &f, reveal, to_export, &x, &total);
        if (!e)
            e = export_check_total(total);
        if (!e)
            req_audit(r, action, "help_request", 0, "ok",
                      arena_printf(r->a, "view=help %s count=%lld", export_format_name(fmt),
                                   (long long)x.rows));
        return export_send(&x, e, "help-requests");
    }
    json_t *items = json_array();
    if ((e = service_help_each(r->db, r->a, &r->who->scope, &f, reveal, to_array, items, &total))) {
        json_decref(items);
        return e;
    }
    req_audit(r, action, "help_request", 0, "ok",
              arena_printf(r->a, "view=help count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static err get_help(struct req *r)
{
    int64_t id;
    bool reveal;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_reveal(r, &reveal)))
        return e;
    json_t *item;
    if ((e = service_help_get(r->db, r->a, &r->who->scope, id, reveal, &item)))
        return audit_refusal(r->db, r->who, r->ip, "help.read", "help_request", id, e, NULL);
    req_audit(r, reveal ? "person.reveal" : "help.read", "help_request", id, "ok", "view=help");
    return reply_json(r, 200, item);
}

static err get_assignees(struct req *r)
{
    enum region_level lv;
    const char *v = req_query(r, "region");
    json_t *items;
    err e =
        service_help_assignees(r->db, r->a, &r->who->scope, v ? regcode_parse(v, &lv) : -1, &items);
    if (e)
        return e;
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static const struct jfield assign_body[] = {
    {"assignee_id", J_STRING, JF_REQUIRED, 1, 20, "处理人", NULL, NULL},
    {"note", J_STRING, JF_NULLABLE, 0, HELP_NOTE_MAX, "说明", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const struct jfield note_body[] = {
    {"note", J_STRING, JF_NULLABLE, 0, HELP_NOTE_MAX, "说明", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err act(struct req *r, const char *action)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    /* a volunteer (a resident account holding assist.work, scope the root)
     * works theirs on /api/v1/me/volunteer/help, narrowed to their community
     * and answered with the volunteer's view, never the staff row */
    if (!e && r->who->resident)
        e = err_set(E_FORBIDDEN, "forbidden", NULL, "志愿者请在“志愿者”页面处理求助");
    int64_t assignee = 0;
    if (!e && !strcmp(action, "assign") &&
        (assignee = id_parse(json_str(r->body, "assignee_id"))) <= 0)
        e = err_set(E_INPUT, "invalid_user", "assignee_id",
                    "处理人须为管辖该社区、可处理求助的工作人员或本社区志愿者");
    db_hold(r->db);
    if (!e)
        e = service_help_act(r->db, &r->who->scope, id, action, assignee, json_str(r->body, "note"),
                             r->who->user_id, perm_set_has(r->who->perms, PERM_SERVICE_MANAGE),
                             now_ms());
    if ((e = req_write_done(r, e, arena_printf(r->a, "help.%s", action), "help_request", id, NULL)))
        return e;
    json_t *item;
    if ((e = service_help_get(r->db, r->a, &r->who->scope, id, false, &item)))
        return e;
    return reply_json(r, 200, item);
}

static err post_assign(struct req *r)
{
    return act(r, "assign");
}
static err post_start(struct req *r)
{
    return act(r, "start");
}
static err post_done(struct req *r)
{
    return act(r, "done");
}
static err post_cancel(struct req *r)
{
    return act(r, "cancel");
}

/* ---- the volunteer's side ------------------------------------------------------------ */

static err get_volunteer_helps(struct req *r)
{
    int64_t page, size, total = 0;
    json_t *items;
    err e = req_paging(r, &page, &size);
    if (e || (e = service_help_volunteer_list(r->db, r->a, r->who, page, size, &items, &total)))
        return audit_refusal(r->db, r->who, r->ip, "help.list", "help_request", 0, e, NULL);
    req_audit(r, "help.list", "help_request", 0, "ok",
              arena_printf(r->a, "view=volunteer count=%zu", json_array_size(items)));
    return reply_page(r, items, total, page, size);
}

static err volunteer_act(struct req *r, const char *action)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = service_help_volunteer_act(r->db, r->a, r->who, id, action, json_str(r->body, "note"),
                                       now_ms());
    if ((e = req_write_done(r, e, arena_printf(r->a, "help.%s", action), "help_request", id,
                            "volunteer")))
        return e;
    json_t *item;
    if ((e = service_help_volunteer_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 200, item);
}

static err post_volunteer_start(struct req *r)
{
    return volunteer_act(r, "start");
}
static err post_volunteer_done(struct req *r)
{
    return volunteer_act(r, "done");
}

const struct route service_help_routes[] = {
    {M_POST, "/api/v1/me/help", post_my_help, PERM_SELF, 0, submit_body, "提交求助（居民）", "self",
     0},
    {M_GET, "/api/v1/me/help", get_my_helps, PERM_SELF, 0, NULL, "我的求助及处理情况（居民）",
     "self", 0},
    {M_GET, "/api/v1/me/help/{id}", get_my_help, PERM_SELF, 0, NULL, "我的求助详情（居民）", "self",
     0},
    {M_POST, "/api/v1/me/help/{id}/cancel", post_my_cancel, PERM_SELF, 0, NULL,
     "取消求助（居民，处理开始前）", "self", 0},
    {M_GET, "/api/v1/service/help", get_helps, PERM_SERVICE_READ, 0, NULL,
     "辖区内求助（state, open, kind, region, assignee_id, mine；可导出）", "service", 0},
    {M_GET, "/api/v1/service/help/assignees", get_assignees, PERM_SERVICE_MANAGE, 0, NULL,
     "可指派处理求助的工作人员（region 社区）", "service", 0},
    {M_GET, "/api/v1/service/help/{id}", get_help, PERM_SERVICE_READ, 0, NULL, "求助详情",
     "service", 0},
    {M_POST, "/api/v1/service/help/{id}/assign", post_assign, PERM_SERVICE_MANAGE, 0, assign_body,
     "指派求助处理人", "service", 0},
    {M_POST, "/api/v1/service/help/{id}/start", post_start, PERM_ASSIST_WORK, 0, note_body,
     "开始处理求助", "service", 0},
    {M_POST, "/api/v1/service/help/{id}/done", post_done, PERM_ASSIST_WORK, 0, note_body,
     "办结求助（记录处理结果）", "service", 0},
    {M_POST, "/api/v1/service/help/{id}/cancel", post_cancel, PERM_ASSIST_WORK, 0, note_body,
     "关闭求助（注明原因）", "service", 0},
    {M_GET, "/api/v1/me/volunteer/help", get_volunteer_helps, PERM_SELF, 0, NULL,
     "指派给我的求助（志愿者，未办结的在前）", "self", 0},
    {M_POST, "/api/v1/me/volunteer/help/{id}/start", post_volunteer_start, PERM_SELF, 0, note_body,
     "开始处理求助（志愿者）", "self", 0},
    {M_POST, "/api/v1/me/volunteer/help/{id}/done", post_volunteer_done, PERM_SELF, 0, note_body,
     "办结求助（志愿者，记录处理结果）", "self", 0},
};
const size_t service_help_routes_n = sizeof service_help_routes / sizeof service_help_routes[0];
