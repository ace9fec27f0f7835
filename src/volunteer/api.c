/*
 * HTTP handlers of volunteers and their service projects (volunteer.h;
 * docs/community-life.md "Volunteers"):
 *
 *   GET    /api/v1/me/volunteer                          the resident's application, history
 *                                                        and total service minutes
 *   POST   /api/v1/me/volunteer                          apply (real name: the person record)
 *   GET    /api/v1/me/volunteer/projects                 an approved volunteer: the projects
 *                                                        of their community (paging)
 *   POST   /api/v1/me/volunteer/projects/{id}/signup     sign up (409 project_full)
 *   DELETE /api/v1/me/volunteer/projects/{id}/signup     withdraw before the start
 *   GET    /api/v1/volunteers                            staff: applications in scope
 *                                                        (?status=, paging, format=csv|xlsx)
 *   GET    /api/v1/volunteers/{id}                       staff: one, with the history
 *   POST   /api/v1/volunteers/{id}/approve               staff: approve (role volunteer)
 *   POST   /api/v1/volunteers/{id}/reject                staff: reject with a reason
 *   POST   /api/v1/volunteers/{id}/revoke                staff: revoke an approved one
 *                                                        (the role removed, future
 *                                                        sign-ups dropped)
 *   POST   /api/v1/volunteer-projects                    staff: publish a project (201)
 *   GET    /api/v1/volunteer-projects                    staff: projects in scope (paging)
 *   PATCH  /api/v1/volunteer-projects/{id}                staff: edit (not cancelled/ended)
 *   POST   /api/v1/volunteer-projects/{id}/cancel         staff: cancel with a reason
 *   GET    /api/v1/volunteer-projects/{id}/signups       staff: its sign-ups
 *   POST   /api/v1/volunteer-signups/{id}/hours          staff: record the service time
 *
 * Names and phones come from person records: staff see them masked; every
 * read of a list holding them and every write is audited, refusals too.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "http/export.h"
#include "base/time.h"
#include "http/write.h"
#include "notice/notice.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "volunteer/volunteer.h"

static json_t *volunteer_json(arena *a, const struct volunteer *v, bool full)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_set_region(o, v->region_code, v->region_name);
    json_object_set_new(o, "name", json_string(full ? v->name : mask_name(a, v->name)));
    json_object_set_new(o, "phone", json_string(full ? v->phone : mask_phone(a, v->phone)));
    json_object_set_new(o, "skills", json_string(v->skills));
    json_object_set_new(o, "availability", json_string(v->availability));
    json_object_set_new(o, "status", json_string(vocab_name(&volunteer_status_vocab, v->status)));
    json_object_set_new(o, "status_label",
                        json_string(vocab_label(&volunteer_status_vocab, v->status)));
    json_object_set_new(o, "note", json_string(v->note));
    json_object_set_new(o, "reviewed_at", json_integer(v->reviewed_at));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "signups", json_integer(v->signups));
    json_object_set_new(o, "minutes", json_integer(v->minutes));
    return o;
}

static json_t *project_json(const struct volunteer_project *p, bool mine)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "title", json_string(p->title));
    json_object_set_new(o, "place", json_string(p->place));
    json_object_set_new(o, "content", json_string(p->content));
    json_object_set_new(o, "starts_at", json_integer(p->starts_at));
    json_object_set_new(o, "ends_at", json_integer(p->ends_at));
    json_object_set_new(o, "places", json_integer(p->places));
    json_object_set_new(o, "taken", json_integer(p->taken));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "cancelled", json_boolean(p->cancelled_at != 0));
    json_object_set_new(o, "cancelled_at", json_integer(p->cancelled_at));
    json_object_set_new(o, "cancel_note", json_string(p->cancel_note ? p->cancel_note : ""));
    if (mine) {
        json_object_set_new(o, "signed_up", json_boolean(p->signup_id != 0));
        json_object_set_new(o, "minutes", json_integer(p->minutes));
    }
    return o;
}

static json_t *signup_json(arena *a, const struct volunteer_signup *g)
{
    json_t *o = json_object();
    json_set_id(o, "id", g->id);
    json_set_id(o, "project_id", g->project_id);
    json_set_id(o, "volunteer_id", g->volunteer_id);
    json_object_set_new(o, "name", json_string(mask_name(a, g->name)));
    json_object_set_new(o, "phone", json_string(mask_phone(a, g->phone)));
    json_object_set_new(o, "minutes", json_integer(g->minutes));
    json_object_set_new(o, "recorded_at", json_integer(g->recorded_at));
    json_object_set_new(o, "created_at", json_integer(g->created_at));
    json_object_set_new(o, "cancelled", json_boolean(g->cancelled_at != 0));
    return o;
}

/* ---- the resident's side ---------------------------------------------------- */

/* The resident's own person; a staff account or an unbound one is refused
 * (audited under `action`). */
static err residents_person(struct req *r, const char *action, struct person *p)
{
    err e = r->who->resident
                ? person_self_find(r->db, r->a, r->who, p)
                : err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return e ? audit_refusal(r->db, r->who, r->ip, action, "volunteer", 0, e, NULL) : E_OK;
}

/* The caller as an approved volunteer, and the scope of the community they
 * live in now (the projects they may see). */
static err approved_volunteer(struct req *r, const char *action, struct volunteer *v,
                              struct scope *sc_r)
{
    struct person p;
    err e = residents_person(r, action, &p);
    if (e)
        return e;
    e = volunteer_of_user(r->db, r->a, r->who->user_id, v);
    if (!e && v->status != VOL_APPROVED)
        e = err_set(E_FORBIDDEN, "volunteer_not_approved", NULL,
                    "您还不是志愿者，请先申请并等待审核");
    else if (e == E_NOT_FOUND)
        e = err_set(E_FORBIDDEN, "volunteer_not_approved", NULL,
                    "您还不是志愿者，请先申请并等待审核");
    if (e)
        return audit_refusal(r->db, r->who, r->ip, action, "volunteer", 0, e, NULL);
    *sc_r = scope_of(regcode_at_most(p.region_code, LEVEL_COMMUNITY));
    return E_OK;
}

static err get_mine(struct req *r)
{
    struct person p;
    err e = residents_person(r, "volunteer.read", &p);
    if (e)
        return e;
    struct volunteer v;
    json_t *o = json_object();
    e = volunteer_of_user(r->db, r->a, r->who->user_id, &v);
    if (e == E_NOT_FOUND) {
        json_object_set_new(o, "application", json_null());
        json_object_set_new(o, "items", json_array());
        json_object_set_new(o, "minutes", json_integer(0));
        return reply_json(r, 200, o);
    }
    struct volunteer_project *items;
    size_t n;
    int64_t minutes;
    if (e || (e = volunteer_history(r->db, r->a, v.id, &items, &n, &minutes))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "application", volunteer_json(r->a, &v, true));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, project_json(&items[i], true));
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "minutes", json_integer(minutes));
    return reply_json(r, 200, o);
}

static const struct jfield apply_body[] = {
    {"skills", J_STRING, JF_REQUIRED, 1, VOLUNTEER_SKILLS_MAX, "特长技能", NULL, NULL},
    {"availability", J_STRING, JF_REQUIRED, 1, VOLUNTEER_AVAIL_MAX, "可服务时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_apply(struct req *r)
{
    struct volunteer v = {.user_id = r->who->user_id,
                          .skills = json_str(r->body, "skills"),
                          .availability = json_str(r->body, "availability")};
    err e = check_text(v.skills, "skills", "特长技能", VOLUNTEER_SKILLS_MAX, TEXT_REQUIRED);
    e = e ? e
          : check_text(v.availability, "availability", "可服务时间", VOLUNTEER_AVAIL_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    if (e)
        return e;
    struct person p;
    if ((e = residents_person(r, "volunteer.apply", &p)))
        return e;
    /* real-name binding: the application is the person record's */
    v.person_id = p.id;
    v.region_code = p.region_code;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_apply(r->db, &v));
    if ((e = req_write_done(r, e, "volunteer.apply", "volunteer", e ? 0 : v.id, "")))
        return e;
    struct volunteer out;
    if ((e = volunteer_of_user(r->db, r->a, r->who->user_id, &out)))
        return e;
    return reply_json(r, 201, volunteer_json(r->a, &out, true));
}

static err get_my_projects(struct req *r)
{
    struct volunteer v;
    struct scope sc;
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e || (e = approved_volunteer(r, "volunteer.project.list", &v, &sc)))
        return e;
    struct volunteer_project_viewer pv = {.scope = &sc, .volunteer_id = v.id, .now = now_ms()};
    struct volunteer_project *items;
    size_t n;
    int64_t total;
    if ((e = volunteer_project_list(r->db, r->a, &pv, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, project_json(&items[i], true));
    return reply_page(r, arr, total, page, size);
}

static err post_signup(struct req *r)
{
    int64_t id;
    struct volunteer v;
    struct scope sc;
    struct volunteer_project p;
    err e = req_param_id(r, 0, &id);
    if (e || (e = approved_volunteer(r, "volunteer.signup", &v, &sc)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_signup(r->db, r->a, &sc, v.id, id, now_ms(), &p));
    if ((e = req_write_done(r, e, "volunteer.signup", "volunteer_project", id, "")))
        return e;
    return reply_json(r, 201, project_json(&p, true));
}

static err delete_signup(struct req *r)
{
    int64_t id;
    struct volunteer v;
    struct scope sc;
    err e = req_param_id(r, 0, &id);
    if (e || (e = approved_volunteer(r, "volunteer.signup.cancel", &v, &sc)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_signup_cancel(r->db, v.id, id, now_ms()));
    if ((e = req_write_done(r, e, "volunteer.signup.cancel", "volunteer_project", id, "")))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "cancelled", json_true());
    return reply_json(r, 200, o);
}

/* ---- staff ------------------------------------------------------------------ */

static err get_volunteers(struct req *r)
{
    struct volunteer_filter f = {0};
    enum export_format fmt = EXPORT_NONE;
    err e = req_paging(r, &f.page, &f.page_size);
    const char *st = req_query(r, "status");
    if (!e && st && *st) {
        int i = vocab_parse(&volunteer_status_vocab, st);
        if (i <= 0)
            e = err_set(E_INPUT, "invalid_parameter", "status", "审核状态的取值不正确");
        f.status = i > 0 ? (enum volunteer_status)i : 0;
    }
    if (e || (e = req_export_format(r, &fmt)))
        return e;
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct volunteer *items;
    size_t n;
    int64_t total;
    if ((e = volunteer_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    req_audit(r, "volunteer.list", "volunteer", 0, "ok", arena_printf(r->a, "rows=%zu", n));
    if (fmt) {
        static const char *const head[] = {"申请时间", "姓名",       "手机号",
                                           "社区",     "特长技能",   "可服务时间",
                                           "状态",     "参加项目数", "服务时长（分钟）"};
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "志愿者", head, sizeof head / sizeof *head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct volunteer *v = &items[i];
            export_time(&x, v->created_at);
            export_text(&x, mask_name(r->a, v->name));
            export_text(&x, mask_phone(r->a, v->phone));
            export_text(&x, v->region_name);
            export_text(&x, v->skills);
            export_text(&x, v->availability);
            export_text(&x, vocab_label(&volunteer_status_vocab, v->status));
            export_int(&x, v->signups);
            export_int(&x, v->minutes);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "volunteers");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, volunteer_json(r->a, &items[i], false));
    return reply_page(r, arr, total, f.page, page_size);
}

static err get_volunteer(struct req *r)
{
    int64_t id;
    struct volunteer v;
    struct volunteer_project *items;
    size_t n;
    int64_t minutes;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = volunteer_find(r->db, r->a, &r->who->scope, id, &v)))
        return audit_refusal(r->db, r->who, r->ip, "volunteer.read", "volunteer", id, e, NULL);
    if ((e = volunteer_history(r->db, r->a, v.id, &items, &n, &minutes)))
        return e;
    req_audit(r, "volunteer.read", "volunteer", id, "ok", "");
    json_t *o = volunteer_json(r->a, &v, false);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, project_json(&items[i], true));
    json_object_set_new(o, "history", arr);
    json_object_set_new(o, "minutes", json_integer(minutes));
    return reply_json(r, 200, o);
}

static const struct jfield reject_body[] = {
    {"note", J_STRING, JF_REQUIRED, 1, VOLUNTEER_NOTE_MAX, "原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err review(struct req *r, bool approve)
{
    int64_t id;
    const char *note = approve ? "" : json_str(r->body, "note");
    err e = req_param_id(r, 0, &id);
    if (!e && !approve)
        e = check_text(note, "note", "原因", VOLUNTEER_NOTE_MAX, TEXT_REQUIRED);
    if (e)
        return e;
    struct volunteer v;
    const char *action = approve ? "volunteer.approve" : "volunteer.reject";
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_review(r->db, r->a, &r->who->scope, id, r->who->user_id,
                                           approve, note, &v));
    if ((e = req_write_done(r, e, action, "volunteer", id, "")))
        return e;
    return reply_json(r, 200, volunteer_json(r->a, &v, false));
}

static err post_approve(struct req *r)
{
    return review(r, true);
}

static err post_reject(struct req *r)
{
    return review(r, false);
}

static err post_revoke(struct req *r)
{
    int64_t id;
    const char *note = json_str(r->body, "note");
    err e = req_param_id(r, 0, &id);
    if (e || (e = check_text(note, "note", "原因", VOLUNTEER_NOTE_MAX, TEXT_REQUIRED)))
        return e;
    struct volunteer v;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_revoke(r->db, r->a, &r->who->scope, id, r->who->user_id, note,
                                           now_ms(), &v));
    if ((e = req_write_done(r, e, "volunteer.revoke", "volunteer", id, "")))
        return e;
    return reply_json(r, 200, volunteer_json(r->a, &v, false));
}

static const struct jfield project_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 20, "社区", NULL, NULL},
    {"title", J_STRING, JF_REQUIRED, 1, VOLUNTEER_TITLE_MAX, "项目名称", NULL, NULL},
    {"place", J_STRING, JF_REQUIRED, 1, VOLUNTEER_PLACE_MAX, "服务地点", NULL, NULL},
    {"content", J_STRING, JF_NULLABLE, 0, VOLUNTEER_CONTENT_MAX, "服务内容", NULL, NULL},
    {"starts_at", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "开始时间", NULL, NULL},
    {"ends_at", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "结束时间", NULL, NULL},
    {"places", J_INT, JF_REQUIRED, 1, VOLUNTEER_PLACES_MAX, "招募人数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Tell the approved volunteers of the project's community, in the
 * writing transaction, by a notice the platform publishes (notice.h
 * notice_system_publish; docs/community-life.md "Telling the volunteers"):
 * the project published, or cancelled with the reason. */
static err tell_volunteers(struct req *r, const struct volunteer_project *p, const char *why)
{
    char from[CHINA_TIME_LEN], to[CHINA_TIME_LEN];
    china_time(p->starts_at, from);
    china_time(p->ends_at, to);
    /* minutes are enough: "YYYY-MM-DD HH:MM" */
    from[16] = to[16] = 0;
    const char *title =
        arena_printf(r->a, "%s：%s", why ? "志愿服务项目取消" : "志愿服务项目招募", p->title);
    const char *text =
        why ? arena_printf(r->a, "原定 %s 至 %s 在%s的志愿服务项目“%s”已取消。\n取消原因：%s", from,
                           to, p->place, p->title, why)
            : arena_printf(r->a,
                           "社区发布了志愿服务项目“%s”。\n时间：%s 至 %s\n地点：%s\n招募 %lld "
                           "人，请在“志愿服务”中报名。%s%s",
                           p->title, from, to, p->place, (long long)p->places,
                           p->content && *p->content ? "\n服务内容：" : "",
                           p->content ? p->content : "");
    int64_t id;
    return notice_system_publish(r->db, r->a, regcode_at_most(p->region_code, LEVEL_COMMUNITY),
                                 NOTICE_VOLUNTEERS, title, text, &id);
}

static err post_project(struct req *r)
{
    enum region_level lv;
    struct volunteer_project p = {.region_code =
                                      regcode_parse(json_str(r->body, "region_code"), &lv),
                                  .title = json_str(r->body, "title"),
                                  .place = json_str(r->body, "place"),
                                  .content = json_str(r->body, "content"),
                                  .starts_at = json_int(r->body, "starts_at", 0),
                                  .ends_at = json_int(r->body, "ends_at", 0),
                                  .places = json_int(r->body, "places", 0)};
    err e = check_text(p.title, "title", "项目名称", VOLUNTEER_TITLE_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    e = e ? e
          : check_text(p.place, "place", "服务地点", VOLUNTEER_PLACE_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    e = e ? e : check_text(p.content, "content", "服务内容", VOLUNTEER_CONTENT_MAX, 0);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = volunteer_project_create(r->db, r->a, &r->who->scope, r->who->user_id, &p);
        if (!e)
            e = tell_volunteers(r, &p, NULL);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "volunteer.project.create", "volunteer_project", e ? 0 : p.id,
                            "")))
        return e;
    return reply_json(r, 201, project_json(&p, false));
}

static const struct jfield project_edit_body[] = {
    {"title", J_STRING, 0, 1, VOLUNTEER_TITLE_MAX, "项目名称", NULL, NULL},
    {"place", J_STRING, 0, 1, VOLUNTEER_PLACE_MAX, "服务地点", NULL, NULL},
    {"content", J_STRING, JF_NULLABLE, 0, VOLUNTEER_CONTENT_MAX, "服务内容", NULL, NULL},
    {"starts_at", J_INT, 0, 1, INT64_MAX / 2, "开始时间", NULL, NULL},
    {"ends_at", J_INT, 0, 1, INT64_MAX / 2, "结束时间", NULL, NULL},
    {"places", J_INT, 0, 1, VOLUNTEER_PLACES_MAX, "招募人数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Edit: the fields given replace the stored ones, then the whole is checked
 * as a new project is. */
static err patch_project(struct req *r)
{
    int64_t id;
    struct volunteer_project p;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if ((e = volunteer_project_find(r->db, r->a, &r->who->scope, id, &p)))
        return req_write_done(r, e, "volunteer.project.update", "volunteer_project", id, NULL);
    json_t *b = r->body;
    if (json_object_get(b, "title"))
        p.title = json_str(b, "title");
    if (json_object_get(b, "place"))
        p.place = json_str(b, "place");
    if (json_object_get(b, "content"))
        p.content = json_str(b, "content");
    p.starts_at = json_int(b, "starts_at", p.starts_at);
    p.ends_at = json_int(b, "ends_at", p.ends_at);
    p.places = json_int(b, "places", p.places);
    e = check_text(p.title, "title", "项目名称", VOLUNTEER_TITLE_MAX,
                   TEXT_REQUIRED | TEXT_ONE_LINE);
    e = e ? e
          : check_text(p.place, "place", "服务地点", VOLUNTEER_PLACE_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    e = e ? e : check_text(p.content, "content", "服务内容", VOLUNTEER_CONTENT_MAX, 0);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_project_update(r->db, r->a, &r->who->scope, now_ms(), &p));
    if ((e = req_write_done(r, e, "volunteer.project.update", "volunteer_project", id,
                            req_body_fields(r))))
        return e;
    return reply_json(r, 200, project_json(&p, false));
}

static err post_project_cancel(struct req *r)
{
    int64_t id;
    const char *note = json_str(r->body, "note");
    err e = req_param_id(r, 0, &id);
    if (e || (e = check_text(note, "note", "原因", VOLUNTEER_NOTE_MAX, TEXT_REQUIRED)))
        return e;
    struct volunteer_project p;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = volunteer_project_cancel(r->db, r->a, &r->who->scope, id, r->who->user_id, note,
                                     now_ms(), &p);
        if (!e)
            e = tell_volunteers(r, &p, note);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "volunteer.project.cancel", "volunteer_project", id, "")))
        return e;
    return reply_json(r, 200, project_json(&p, false));
}

static err get_projects(struct req *r)
{
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    struct volunteer_project_viewer pv = {.scope = &r->who->scope};
    struct volunteer_project *items;
    size_t n;
    int64_t total;
    if ((e = volunteer_project_list(r->db, r->a, &pv, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, project_json(&items[i], false));
    return reply_page(r, arr, total, page, size);
}

static err get_signups(struct req *r)
{
    int64_t id;
    struct volunteer_signup *items;
    size_t n;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = volunteer_signup_list(r->db, r->a, &r->who->scope, id, &items, &n)))
        return audit_refusal(r->db, r->who, r->ip, "volunteer.signup.list", "volunteer_project", id,
                             e, NULL);
    req_audit(r, "volunteer.signup.list", "volunteer_project", id, "ok",
              arena_printf(r->a, "rows=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, signup_json(r->a, &items[i]));
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static const struct jfield hours_body[] = {
    {"minutes", J_INT, JF_REQUIRED, 1, VOLUNTEER_MINUTES_MAX, "服务时长（分钟）", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_hours(struct req *r)
{
    int64_t id;
    struct volunteer_signup g;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    int64_t minutes = json_int(r->body, "minutes", 0);
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, volunteer_hours_record(r->db, r->a, &r->who->scope, id, minutes,
                                                 r->who->user_id, now_ms(), &g));
    if ((e = req_write_done(r, e, "volunteer.hours", "volunteer_signup", id,
                            arena_printf(r->a, "minutes=%lld", (long long)minutes))))
        return e;
    return reply_json(r, 200, signup_json(r->a, &g));
}

const struct route volunteer_routes[] = {
    {M_GET, "/api/v1/me/volunteer", get_mine, PERM_SELF, 0, NULL,
     "我的志愿者申请、服务记录和累计时长", "volunteer", 0},
    {M_POST, "/api/v1/me/volunteer", post_apply, PERM_SELF, 0, apply_body,
     "申请成为志愿者（实名：本人登记信息）", "volunteer", 0},
    {M_GET, "/api/v1/me/volunteer/projects", get_my_projects, PERM_SELF, 0, NULL,
     "本社区的志愿服务项目（志愿者）", "volunteer", 0},
    {M_POST, "/api/v1/me/volunteer/projects/{id}/signup", post_signup, PERM_SELF, 0, NULL,
     "报名志愿服务项目", "volunteer", 0},
    {M_DELETE, "/api/v1/me/volunteer/projects/{id}/signup", delete_signup, PERM_SELF, 0, NULL,
     "取消报名（项目开始前）", "volunteer", 0},
    {M_GET, "/api/v1/volunteers", get_volunteers, PERM_VOLUNTEER_MANAGE, 0, NULL,
     "辖区内的志愿者申请（status 筛选，分页，导出）", "volunteer", 0},
    {M_GET, "/api/v1/volunteers/{id}", get_volunteer, PERM_VOLUNTEER_MANAGE, 0, NULL,
     "志愿者详情和服务记录", "volunteer", 0},
    {M_POST, "/api/v1/volunteers/{id}/approve", post_approve, PERM_VOLUNTEER_MANAGE, 0, NULL,
     "通过志愿者申请（授予志愿者角色）", "volunteer", 0},
    {M_POST, "/api/v1/volunteers/{id}/reject", post_reject, PERM_VOLUNTEER_MANAGE, 0, reject_body,
     "驳回志愿者申请", "volunteer", 0},
    {M_POST, "/api/v1/volunteer-projects", post_project, PERM_VOLUNTEER_MANAGE, 0, project_body,
     "发布志愿服务项目", "volunteer", 0},
    {M_GET, "/api/v1/volunteer-projects", get_projects, PERM_VOLUNTEER_MANAGE, 0, NULL,
     "辖区内的志愿服务项目（分页）", "volunteer", 0},
    {M_GET, "/api/v1/volunteer-projects/{id}/signups", get_signups, PERM_VOLUNTEER_MANAGE, 0, NULL,
     "项目报名名单", "volunteer", 0},
    {M_POST, "/api/v1/volunteer-signups/{id}/hours", post_hours, PERM_VOLUNTEER_MANAGE, 0,
     hours_body, "登记志愿服务时长", "volunteer", 0},
    {M_POST, "/api/v1/volunteers/{id}/revoke", post_revoke, PERM_VOLUNTEER_MANAGE, 0, reject_body,
     "撤销志愿者资格（移除志愿者角色，取消未开始项目的报名）", "volunteer", 0},
    {M_PATCH, "/api/v1/volunteer-projects/{id}", patch_project, PERM_VOLUNTEER_MANAGE, 0,
     project_edit_body, "修改志愿服务项目", "volunteer", 0},
    {M_POST, "/api/v1/volunteer-projects/{id}/cancel", post_project_cancel, PERM_VOLUNTEER_MANAGE,
     0, reject_body, "取消志愿服务项目（报名标记为已取消）", "volunteer", 0},
};
const size_t volunteer_routes_n = sizeof volunteer_routes / sizeof volunteer_routes[0];
