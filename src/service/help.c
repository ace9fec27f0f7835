/*
 * Help requests (service.h "help requests"; docs/community-services.md
 * "Help requests"): residents ask, staff assign, the handler starts and
 * finishes with a note the resident reads. The request keeps its own state
 * (not a task: the resident follows it, and the console lists it with the
 * person), changed by one guarded UPDATE per step.
 */
#include <string.h>

#include "attach/attach.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "db/query.h"
#include "person/person.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "service/service.h"
#include "volunteer/volunteer.h"

static const struct vocab_word kinds[] = {
    {NULL, NULL},       {"medicine", "药品"},        {"goods", "生活物资"},
    {"doctor", "就医"}, {"counselling", "心理疏导"}, {"childcare", "儿童看护"},
    {"other", "其他"},
};
const struct vocab help_kind_vocab = VOCAB("help_kinds", "求助类型", kinds);

static const struct vocab_word states[] = {
    {NULL, NULL},       {"submitted", "待受理"}, {"assigned", "已指派"}, {"in_progress", "处理中"},
    {"done", "已完成"}, {"cancelled", "已取消"},
};
const struct vocab help_state_vocab = VOCAB("help_states", "求助状态", states);

#define L_TEXT   "help_requests.text"
#define OWNER    "help_request"
#define OPEN_SQL "h.closed_at = 0"

static const char *label_of(const struct vocab *v, const char *name)
{
    const char *l = vocab_label_of(v, name);
    return l ? l : "";
}

/* The joins naming the assignee h.assignee_id: a staff account by its
 * display name, a volunteer (a resident account, whose display name is a
 * masked phone) by the masked real name of their person record. */
#define ASSIGNEE_JOIN                                                                              \
    " LEFT JOIN users u ON u.id = h.assignee_id LEFT JOIN volunteers av ON av.user_id = "          \
    "h.assignee_id AND u.kind = 'resident' LEFT JOIN persons ap ON ap.id = av.person_id"
#define ASSIGNEE_COLS "COALESCE(u.display_name, ''), COALESCE(u.kind, ''), ap.name_enc"

/* The assignee's name from the columns of ASSIGNEE_COLS (display name,
 * account kind, sealed person name): 「志愿者 张*」 for a volunteer, never
 * their phone or full name. */
static err assignee_name_col(arena *a, db_stmt *s, int name, int kind, int enc, const char **name_r)
{
    *name_r = arena_strdup(a, db_col_text(s, name));
    if (strcmp(db_col_text(s, kind), "resident"))
        return E_OK;
    const char *masked = NULL;
    err e = person_name_masked_col(a, s, enc, &masked);
    if (!e)
        *name_r = arena_printf(a, "志愿者 %s", masked ? masked : "");
    return e;
}

err service_help_submit(db *d, arena *a, const struct principal *who, int kind, const char *text,
                        json_t *attachments, int64_t now, int64_t *id_r)
{
    if (kind < HELP_MEDICINE || kind > HELP_OTHER)
        return err_set(E_INPUT, "invalid_value", "kind", "请选择求助类型");
    if (!text || !*text)
        return err_set(E_INPUT, "required", "text", "请填写求助内容");
    struct person p;
    err e = person_self_find(d, a, who, &p);
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    int64_t id = id_new();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO help_requests (id, person_id, user_id, region_code, kind, "
                        "text_enc, state, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, "
                        "?, ?, 'submitted', ?, ?, ?)",
                        &s)))
        goto out;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, p.id);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, p.region_code);
    db_bind_text(s, 5, vocab_name(&help_kind_vocab, (size_t)kind));
    if ((e = seal_bind(a, s, 6, L_TEXT, text))) {
        db_done(s);
        goto out;
    }
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, who->user_id);
    if ((e = db_run(s, NULL)))
        goto out;
    /* the photos in the same transaction: a photo not theirs refuses it all */
    e = attach_claim_all(d, who, attachments, OWNER, id, p.region_code);
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

/* ---- the resident's side ------------------------------------------------------- */

#define MINE_COLS                                                                                  \
    "h.id, h.kind, h.state, h.text_enc, h.note, h.created_at, h.updated_at, " ASSIGNEE_COLS
#define MINE_FROM " FROM help_requests h" ASSIGNEE_JOIN

static err mine_json(arena *a, db_stmt *s, json_t **o_r)
{
    const char *text = NULL;
    err e = unseal_col(a, s, 3, L_TEXT, &text);
    if (e)
        return e;
    const char *kind = db_col_text(s, 1), *state = db_col_text(s, 2), *assignee = NULL;
    if ((e = assignee_name_col(a, s, 7, 8, 9, &assignee)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "kind_label", json_string(label_of(&help_kind_vocab, kind)));
    json_object_set_new(o, "text", json_string(text ? text : ""));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "state_label", json_string(label_of(&help_state_vocab, state)));
    json_object_set_new(o, "assignee_name", json_string(assignee));
    json_object_set_new(o, "note", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 5)));
    json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 6)));
    *o_r = o;
    return E_OK;
}

err service_help_mine(db *d, arena *a, const struct principal *who, int64_t page, int64_t page_size,
                      json_t **items_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE h.person_id = ?");
    query_int(w, who->person_id);
    /* the count needs no assignee */
    return query_page_json(d, a, w,
                           &(struct query_page){.count = "SELECT COUNT(*) FROM help_requests h",
                                                .select = "SELECT " MINE_COLS MINE_FROM,
                                                .order = " ORDER BY h.id DESC",
                                                .page = page,
                                                .page_size = page_size},
                           mine_json, items_r, total_r);
}

err service_help_mine_get(db *d, arena *a, const struct principal *who, int64_t id, json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT " MINE_COLS MINE_FROM " WHERE h.id = ? AND h.person_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->person_id);
    bool row;
    json_t *o = NULL;
    if (!(e = db_row(s, &row)))
        e = row ? mine_json(a, s, &o) : err_set(E_NOT_FOUND, "not_found", NULL, "求助不存在");
    db_done(s);
    json_t *att = NULL;
    if (!e && !(e = attach_list(d, OWNER, id, &att)))
        json_object_set_new(o, "attachments", att);
    if (e) {
        json_decref(o);
        return e;
    }
    *item_r = o;
    return E_OK;
}

err service_help_cancel_mine(db *d, const struct principal *who, int64_t id, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT state FROM help_requests WHERE id = ? AND person_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->person_id);
    bool row;
    bool open = false;
    if (!(e = db_row(s, &row))) {
        if (!row)
            e = err_set(E_NOT_FOUND, "not_found", NULL, "求助不存在");
        else
            open =
                !strcmp(db_col_text(s, 0), "submitted") || !strcmp(db_col_text(s, 0), "assigned");
    }
    db_done(s);
    if (e)
        return e;
    if (open) {
        /* guarded by the state: staff starting it at the same moment win */
        if ((e = db_prepare(d,
                            "UPDATE help_requests SET state = 'cancelled', note = '居民已取消', "
                            "updated_at = ?, updated_by = ?, closed_at = ? WHERE id = ? AND "
                            "state IN ('submitted', 'assigned')",
                            &s)))
            return e;
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, who->user_id);
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, id);
        int64_t n = 0;
        if ((e = db_run(s, &n)))
            return e;
        open = n == 1;
    }
    return open ? E_OK
                : err_set(E_CONFLICT, "invalid_transition", NULL,
                          "工作人员已开始处理或已办结，无法取消");
}

/* ---- staff ------------------------------------------------------------------------ */

/* the requester is on the observation list now (any active observation,
 * centralised or at home), read with the request in the same statement */
#define OBSERVED_SQL                                                                               \
    "(CASE WHEN EXISTS (SELECT 1 FROM observations ob WHERE ob.person_id = p.id AND ob.state = "   \
    "'active') THEN 1 ELSE 0 END)"
#define STAFF_COLS                                                                                 \
    "h.id, h.person_id, h.region_code, COALESCE((SELECT name FROM regions g WHERE g.code = "       \
    "h.region_code), ''), p.name_enc, p.phone_enc, h.kind, h.state, h.text_enc, h.assignee_id, "   \
    "COALESCE(u.display_name, ''), h.note, h.created_at, h.updated_at, h.closed_at, "              \
    "p.vulnerable, " OBSERVED_SQL ", COALESCE(u.kind, ''), ap.name_enc"
#define STAFF_FROM                                                                                 \
    " FROM help_requests h JOIN persons p ON p.id = h.person_id" ASSIGNEE_JOIN                     \
    " WHERE h.region_code >= ? AND h.region_code < ?"
#define STAFF_FILTER                                                                               \
    " AND (CAST(? AS TEXT) = '' OR h.state = ?) AND (CAST(? AS BIGINT) = 0 OR " OPEN_SQL ")"       \
    " AND (CAST(? AS TEXT) = '' OR h.kind = ?) AND (CAST(? AS BIGINT) = 0 OR h.assignee_id = ?)"   \
    " AND (CAST(? AS BIGINT) = 0 OR p.vulnerable <> 0) AND (CAST(? AS BIGINT) = 0 "                \
    "OR " OBSERVED_SQL " = 1)"

static err row_of(arena *a, db_stmt *s, bool reveal, struct help_row *h)
{
    *h = (struct help_row){
        .id = db_col_int64(s, 0),
        .person_id = db_col_int64(s, 1),
        .region_code = db_col_int64(s, 2),
        .region_name = arena_strdup(a, db_col_text(s, 3)),
        .kind = arena_strdup(a, db_col_text(s, 6)),
        .state = arena_strdup(a, db_col_text(s, 7)),
        .assignee_id = db_col_int64(s, 9),
        .note = arena_strdup(a, db_col_text(s, 11)),
        .created_at = db_col_int64(s, 12),
        .updated_at = db_col_int64(s, 13),
        .closed_at = db_col_int64(s, 14),
        .vulnerable = db_col_int64(s, 15) != 0,
        .observed = db_col_int64(s, 16) != 0,
    };
    const char *phone = NULL, *text = NULL;
    err e = assignee_name_col(a, s, 10, 17, 18, &h->assignee_name);
    if (e)
        return e;
    if (reveal)
        e = unseal_col(a, s, 4, "persons.name", &h->person_name);
    else
        e = person_name_masked_col(a, s, 4, &h->person_name);
    if (e || (e = unseal_col(a, s, 5, "persons.phone", &phone)) ||
        (e = unseal_col(a, s, 8, L_TEXT, &text)))
        return e;
    if (!h->person_name)
        h->person_name = "";
    h->phone = !phone ? "" : reveal ? phone : mask_phone(a, phone);
    h->text = text ? text : "";
    return E_OK;
}

json_t *service_help_json(const struct help_row *h)
{
    json_t *o = json_object();
    char code[19];
    regcode_format(h->region_code, code);
    json_set_id(o, "id", h->id);
    json_set_id(o, "person_id", h->person_id);
    json_object_set_new(o, "person_name", json_string(h->person_name));
    json_object_set_new(o, "phone", json_string(h->phone));
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "region_name", json_string(h->region_name));
    json_object_set_new(o, "kind", json_string(h->kind));
    json_object_set_new(o, "kind_label", json_string(label_of(&help_kind_vocab, h->kind)));
    json_object_set_new(o, "text", json_string(h->text));
    json_object_set_new(o, "state", json_string(h->state));
    json_object_set_new(o, "state_label", json_string(label_of(&help_state_vocab, h->state)));
    if (h->assignee_id)
        json_set_id(o, "assignee_id", h->assignee_id);
    else
        json_object_set_new(o, "assignee_id", json_null());
    json_object_set_new(o, "assignee_name", json_string(h->assignee_name));
    json_object_set_new(o, "note", json_string(h->note));
    json_object_set_new(o, "vulnerable", json_boolean(h->vulnerable));
    json_object_set_new(o, "observed", json_boolean(h->observed));
    json_object_set_new(o, "created_at", json_integer(h->created_at));
    json_object_set_new(o, "updated_at", json_integer(h->updated_at));
    json_object_set_new(o, "closed_at", h->closed_at ? json_integer(h->closed_at) : json_null());
    return o;
}

static void bind_filter(db_stmt *s, const struct scope *in, const struct help_filter *f)
{
    const char *st = f->state > 0 ? vocab_name(&help_state_vocab, (size_t)f->state) : "";
    const char *k = f->kind > 0 ? vocab_name(&help_kind_vocab, (size_t)f->kind) : "";
    db_bind_int64(s, 1, in->lo);
    db_bind_int64(s, 2, in->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    db_bind_int64(s, 5, f->state < 0 ? 1 : 0);
    db_bind_text(s, 6, k);
    db_bind_text(s, 7, k);
    db_bind_int64(s, 8, f->assignee);
    db_bind_int64(s, 9, f->assignee);
    db_bind_int64(s, 10, f->vulnerable ? 1 : 0);
    db_bind_int64(s, 11, f->observed ? 1 : 0);
}

err service_help_each(db *d, arena *a, const struct scope *sc, const struct help_filter *f,
                      bool reveal, err (*fn)(void *ctx, const struct help_row *h), void *ctx,
                      int64_t *total_r)
{
    /* the region filter narrows the scope, never widens it */
    struct scope in = *sc;
    if (f->region > 0) {
        if (!scope_has(sc, f->region))
            return err_set(E_INPUT, "invalid_region", "region", "请选择辖区内的区域");
        struct scope r = scope_of(f->region);
        in.lo = r.lo > in.lo ? r.lo : in.lo;
        in.hi = r.hi < in.hi ? r.hi : in.hi;
    }
    db_stmt *s;
    bool row;
    err e = db_prepare(d, "SELECT COUNT(*)" STAFF_FROM STAFF_FILTER, &s);
    if (e)
        return e;
    bind_filter(s, &in, f);
    if (!(e = db_row(s, &row)) && row && total_r)
        *total_r = db_col_int64(s, 0);
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT " STAFF_COLS STAFF_FROM STAFF_FILTER
                             " ORDER BY h.id DESC LIMIT ? OFFSET ?",
                             &s)))
        return e;
    bind_filter(s, &in, f);
    db_bind_int64(s, 12, f->page_size);
    db_bind_int64(s, 13, paging_offset(f->page, f->page_size));
    while (!(e = db_row(s, &row)) && row) {
        struct help_row h;
        if ((e = row_of(a, s, reveal, &h)) || (e = fn(ctx, &h)))
            break;
    }
    db_done(s);
    return e;
}

err service_help_get(db *d, arena *a, const struct scope *sc, int64_t id, bool reveal,
                     json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT " STAFF_COLS STAFF_FROM " AND h.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, id);
    bool row;
    struct help_row h;
    if (!(e = db_row(s, &row)))
        e = row ? row_of(a, s, reveal, &h) : err_set(E_NOT_FOUND, "not_found", NULL, "求助不存在");
    db_done(s);
    if (e)
        return e;
    json_t *o = service_help_json(&h), *att = NULL;
    if ((e = attach_list(d, OWNER, id, &att))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "attachments", att);
    *item_r = o;
    return E_OK;
}

/* The community and its four ancestors: the regions whose staff may take
 * the community's requests (as the duty roster's candidates). */
static void ancestors(int64_t community, int64_t up[5])
{
    up[0] = community;
    for (int i = 1; i < 5; i++)
        up[i] = regcode_parent(up[i - 1]);
}

/* Who may take a community's requests: a staff account of the community
 * or above holding assist.work (as the duty roster's candidates), or an
 * approved volunteer of the community (volunteer_region(): the application's
 * region lies in the community's subtree) — the role `volunteer` grants
 * assist.work, checked the same way. The candidates come from two indexed
 * reads (users_region, volunteers_region), never a scan of the residents.
 * Binds: 1 the community (whose name a volunteer shows), 2..6 the community
 * and its ancestors, 7..8 its subtree. */
#define ASSIGNEE_SQL                                                                               \
    " FROM users u LEFT JOIN regions g ON g.code = (CASE WHEN u.kind = 'staff' THEN u.region_code" \
    " ELSE CAST(? AS BIGINT) END) LEFT JOIN volunteers v ON v.user_id = u.id AND u.kind = "        \
    "'resident' AND v.status = 'approved' LEFT JOIN persons vp ON vp.id = v.person_id WHERE "      \
    "u.disabled = 0 AND u.id IN (SELECT s.id FROM users s WHERE s.kind = 'staff' AND "             \
    "s.region_code IN (?, ?, ?, ?, ?) UNION SELECT a.user_id FROM volunteers a WHERE "             \
    "a.region_code >= ? AND a.region_code < ? AND a.status = 'approved') AND (u.kind = 'staff' "   \
    "OR v.id IS NOT NULL) AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON "    \
    "rp.role_id = ur.role_id WHERE ur.user_id = u.id AND rp.permission = 'assist.work')"

static void bind_assignee(db_stmt *s, int64_t community)
{
    int64_t up[5];
    ancestors(community, up);
    struct scope sub = scope_of(community);
    db_bind_int64(s, 1, community);
    for (int i = 0; i < 5; i++)
        db_bind_int64(s, i + 2, up[i]);
    db_bind_int64(s, 7, sub.lo);
    db_bind_int64(s, 8, sub.hi);
}

err service_help_assignees(db *d, arena *a, const struct scope *sc, int64_t community,
                           json_t **items_r)
{
    if (community <= 0 || regcode_level(community) != LEVEL_COMMUNITY || !scope_has(sc, community))
        return err_set(E_INPUT, "invalid_region", "region", "请选择辖区内的社区");
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT u.id, u.display_name, COALESCE(g.name, ''), u.kind, vp.name_enc" ASSIGNEE_SQL
        " ORDER BY u.kind DESC, u.region_code DESC, u.display_name, "
        "u.id LIMIT 500",
        &s);
    if (e)
        return e;
    bind_assignee(s, community);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *name = NULL;
        if ((e = assignee_name_col(a, s, 1, 3, 4, &name)))
            break;
        bool staff = !strcmp(db_col_text(s, 3), "staff");
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "kind", json_string(staff ? "staff" : "volunteer"));
        json_object_set_new(o, "region_name", json_string(db_col_text(s, 2)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

static err assignable(db *d, int64_t region, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT u.id" ASSIGNEE_SQL " AND u.id = ?", &s);
    if (e)
        return e;
    bind_assignee(s, regcode_at_most(region, LEVEL_COMMUNITY));
    db_bind_int64(s, 9, user_id);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_INPUT, "invalid_user", "assignee_id",
                    "处理人须为管辖该社区、可处理求助的工作人员或本社区志愿者");
    db_done(s);
    return e;
}

err service_help_act(db *d, const struct scope *sc, int64_t id, const char *action,
                     int64_t assignee, const char *note, int64_t by, bool manage, int64_t now)
{
    if (!note)
        note = "";
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT state, region_code, assignee_id, note FROM help_requests WHERE id "
                       "= ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    char state[16] = "", old_note[4 * HELP_NOTE_MAX + 1] = "";
    int64_t region = 0, cur = 0;
    if (!(e = db_row(s, &row))) {
        if (!row)
            e = err_set(E_NOT_FOUND, "not_found", NULL, "求助不存在");
        else {
            snprintf(state, sizeof state, "%s", db_col_text(s, 0));
            region = db_col_int64(s, 1);
            cur = db_col_int64(s, 2);
            snprintf(old_note, sizeof old_note, "%s", db_col_text(s, 3));
        }
    }
    db_done(s);
    if (e)
        return e;
    bool open =
        !strcmp(state, "submitted") || !strcmp(state, "assigned") || !strcmp(state, "in_progress");
    const char *to = NULL;
    int64_t who = cur;
    if (!strcmp(action, "assign")) {
        if (!manage)
            return err_set(E_FORBIDDEN, "forbidden", NULL, "仅社区管理人员可以指派处理人");
        if (open)
            to = !strcmp(state, "submitted") ? "assigned" : state;
        if (to && (e = assignable(d, region, assignee)))
            return e;
        who = assignee;
    } else {
        if (!manage && by != cur)
            return err_set(E_FORBIDDEN, "forbidden", NULL, "仅处理人或社区管理人员可以操作");
        if (!strcmp(action, "start"))
            to = !strcmp(state, "assigned") ? "in_progress" : NULL;
        else if (!strcmp(action, "done"))
            to = !strcmp(state, "assigned") || !strcmp(state, "in_progress") ? "done" : NULL;
        else if (!strcmp(action, "cancel"))
            to = open ? "cancelled" : NULL;
        else
            return err_set(E_INPUT, "invalid_value", "action", "操作无效");
        if (to && !*note && (!strcmp(to, "done") || !strcmp(to, "cancelled")))
            return err_set(E_INPUT, "required", "note",
                           !strcmp(to, "done") ? "请填写处理结果" : "请填写取消原因");
    }
    if (!to)
        return err_set(E_CONFLICT, "invalid_transition", NULL, "求助当前状态不允许此操作");
    bool closes = !strcmp(to, "done") || !strcmp(to, "cancelled");
    /* guarded by the state read: of two staff acting at once, one changes it */
    if ((e = db_prepare(d,
                        "UPDATE help_requests SET state = ?, assignee_id = ?, note = ?, updated_at "
                        "= ?, updated_by = ?, closed_at = ? WHERE id = ? AND state = ? AND "
                        "assignee_id = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, to);
    db_bind_int64(s, 2, who);
    db_bind_text(s, 3, *note ? note : old_note);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, by);
    db_bind_int64(s, 6, closes ? now : 0);
    db_bind_int64(s, 7, id);
    db_bind_text(s, 8, state);
    db_bind_int64(s, 9, cur);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n == 1
               ? E_OK
               : err_set(E_CONFLICT, "invalid_transition", NULL, "求助已被他人处理，请刷新后重试");
}

/* ---- the volunteer's side --------------------------------------------------------- */

/* The scope a volunteer works in: their community (volunteer_region()),
 * fail closed for an account that is not an approved volunteer. */
static err volunteer_scope(db *d, const struct principal *who, struct scope *sc)
{
    if (!who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    int64_t region = 0;
    err e = volunteer_region(d, who, &region);
    if (!e)
        *sc = scope_of(region);
    return e;
}

#define VOL_COLS                                                                                   \
    "h.id, h.kind, h.state, h.text_enc, p.name_enc, COALESCE((SELECT name FROM regions g WHERE "   \
    "g.code = h.region_code), ''), h.note, h.created_at, h.updated_at, h.closed_at"
#define VOL_FROM                                                                                   \
    " FROM help_requests h JOIN persons p ON p.id = h.person_id WHERE h.assignee_id = ? AND "      \
    "h.region_code >= ? AND h.region_code < ?"

static err volunteer_json(arena *a, db_stmt *s, json_t **o_r)
{
    const char *text = NULL, *name = NULL;
    err e = unseal_col(a, s, 3, L_TEXT, &text);
    if (e || (e = person_name_masked_col(a, s, 4, &name)))
        return e;
    const char *kind = db_col_text(s, 1), *state = db_col_text(s, 2);
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "person_name", json_string(name ? name : ""));
    json_object_set_new(o, "building_name", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "kind_label", json_string(label_of(&help_kind_vocab, kind)));
    json_object_set_new(o, "text", json_string(text ? text : ""));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "state_label", json_string(label_of(&help_state_vocab, state)));
    json_object_set_new(o, "note", json_string(db_col_text(s, 6)));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 7)));
    json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 8)));
    int64_t closed = db_col_int64(s, 9);
    json_object_set_new(o, "closed_at", closed ? json_integer(closed) : json_null());
    *o_r = o;
    return E_OK;
}

static void bind_volunteer(db_stmt *s, const struct principal *who, const struct scope *sc)
{
    db_bind_int64(s, 1, who->user_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
}

err service_help_volunteer_list(db *d, arena *a, const struct principal *who, int64_t page,
                                int64_t page_size, json_t **items_r, int64_t *total_r)
{
    struct scope sc;
    err e = volunteer_scope(d, who, &sc);
    if (e)
        return e;
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, VOL_FROM);
    query_int(w, who->user_id);
    query_int(w, sc.lo);
    query_int(w, sc.hi);
    /* open first (the work to do), then newest */
    return query_page_json(d, a, w,
                           &(struct query_page){.count = "SELECT COUNT(*)",
                                                .select = "SELECT " VOL_COLS,
                                                .order = " ORDER BY (CASE WHEN " OPEN_SQL
                                                         " THEN 0 ELSE 1 END), h.id DESC",
                                                .page = page,
                                                .page_size = page_size},
                           volunteer_json, items_r, total_r);
}

err service_help_volunteer_get(db *d, arena *a, const struct principal *who, int64_t id,
                               json_t **item_r)
{
    struct scope sc;
    err e = volunteer_scope(d, who, &sc);
    db_stmt *s;
    if (e || (e = db_prepare(d, "SELECT " VOL_COLS VOL_FROM " AND h.id = ?", &s)))
        return e;
    bind_volunteer(s, who, &sc);
    db_bind_int64(s, 4, id);
    bool row;
    json_t *o = NULL;
    if (!(e = db_row(s, &row)))
        e = row ? volunteer_json(a, s, &o) : err_set(E_NOT_FOUND, "not_found", NULL, "求助不存在");
    db_done(s);
    if (e)
        return e;
    *item_r = o;
    return E_OK;
}

err service_help_volunteer_act(db *d, arena *a, const struct principal *who, int64_t id,
                               const char *action, const char *note, int64_t now)
{
    if (strcmp(action, "start") && strcmp(action, "done"))
        return err_set(E_INPUT, "invalid_value", "action", "操作无效");
    struct scope sc;
    json_t *item = NULL;
    /* not assigned to them (or outside their community): 404, as if absent */
    err e = volunteer_scope(d, who, &sc);
    if (e || (e = service_help_volunteer_get(d, a, who, id, &item)))
        return e;
    json_decref(item);
    return service_help_act(d, &sc, id, action, 0, note, who->user_id, false, now);
}
