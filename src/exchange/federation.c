/*
 * Federation between fangkong instances (contract: exchange.h
 * "federation"; docs/exchange.md "Federation"). Upward flow needs nothing
 * here: the parent is a peer subscribed to the upward datasets and the
 * outbox delivers them. This file is the downward flow: the puller that
 * reads the parent's zones and risk areas by change cursor and applies
 * them here through code's own contracts (code_zone_add / code_zone_end,
 * code_risk_area_add / _update / _delete), so the engine refreshes the
 * codes of the people they cover exactly as when staff draw a zone here;
 * and, when taken (FK_FED_NOTICES=1), the parent's notices to all
 * residents of a region covering this instance's root, published here
 * through notice's contract (notice_fed_publish / notice_fed_withdraw).
 *
 * A page of changes is applied in one transaction that also moves the
 * cursor by compare-and-set (the cursor row is locked first): two servers
 * of one deployment pulling at once apply a page once, and a crash before
 * the commit leaves the cursor where the page starts again. The parent's
 * ids are not ours (a copy gets an id of this instance's node), so
 * exchange_fed_map remembers which copy stands for which parent record.
 */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "code/code.h"
#include "db/periodic.h"
#include "exchange/internal.h"
#include "exchange/peer.h"
#include "job/job.h"
#include "notice/notice.h"
#include "security/audit.h"

/* Changes asked for per page, and pages per dataset per pull (the rest
 * waits for the next pull, so one pull stays bounded). */
#define FED_PAGE  200
#define FED_PAGES 50

static char parent_name[4 * PEER_NAME_MAX + 1];

void exchange_fed_configure(const char *name)
{
    snprintf(parent_name, sizeof parent_name, "%s", name ? name : "");
}

const char *exchange_fed_parent(void)
{
    return parent_name;
}

/* The datasets pulled from the parent, in this order (zones before risk
 * areas: neither names the other, the order only makes runs repeatable);
 * the notices last, when taken. */
static const enum exchange_dataset pulled[] = {DS_ZONES, DS_RISK_AREAS, DS_NOTICES};

static bool notices_taken;

void exchange_fed_take_notices(bool on)
{
    notices_taken = on;
}

/* ---- the cursor ------------------------------------------------------------------- */

/* The stored cursor of ds, made at `first` when there is none yet. */
static err cursor_read(db *d, int64_t peer_id, const char *ds, int64_t first, int64_t *seq_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO exchange_fed_cursors (peer_id, dataset, seq) VALUES (?, ?, ?) "
                       "ON CONFLICT (peer_id, dataset) DO NOTHING",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    db_bind_int64(s, 3, first);
    if ((e = db_run(s, NULL)) ||
        (e = db_prepare(d, "SELECT seq FROM exchange_fed_cursors WHERE peer_id = ? AND dataset = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    bool row;
    if (!(e = db_row(s, &row)))
        *seq_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/* Why the last pull of ds failed ("" after a good one), outside any
 * transaction: the failure is the operator's to see even though nothing
 * was applied. */
static void cursor_fail(db *d, int64_t peer_id, const char *ds, const char *why)
{
    db_stmt *s;
    if (db_prepare(d,
                   "UPDATE exchange_fed_cursors SET last_error = ?, pulled_at = ? WHERE peer_id = "
                   "? AND dataset = ?",
                   &s)) {
        err_clear();
        return;
    }
    db_bind_text(s, 1, why);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, peer_id);
    db_bind_text(s, 4, ds);
    if (db_run(s, NULL))
        err_clear();
}

/* Take the page from `from` to `to`: E_CONFLICT "fed_cursor_moved" when
 * another server applied it meanwhile (the caller rolls back; its next
 * pull starts from the new cursor). On PostgreSQL the row stays locked
 * until the page commits. */
static err cursor_claim(db *d, int64_t peer_id, const char *ds, int64_t from, int64_t to)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE exchange_fed_cursors SET seq = ? WHERE peer_id = ? AND dataset = ? "
                       "AND seq = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, to);
    db_bind_int64(s, 2, peer_id);
    db_bind_text(s, 3, ds);
    db_bind_int64(s, 4, from);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n == 1 ? E_OK
                  : err_set(E_CONFLICT, "fed_cursor_moved", NULL, "同步进度已被其他服务更新");
}

static err cursor_done(db *d, int64_t peer_id, const char *ds, int64_t applied, int64_t rejected)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE exchange_fed_cursors SET applied = applied + ?, rejected = rejected "
                       "+ ?, pulled_at = ?, last_error = '' WHERE peer_id = ? AND dataset = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, applied);
    db_bind_int64(s, 2, rejected);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, peer_id);
    db_bind_text(s, 5, ds);
    return db_run(s, NULL);
}

/* ---- the map of another instance's ids to ours (exchange/internal.h) ------------------ */

err exchange_idmap_find(db *d, int64_t peer_id, const char *ds, int64_t remote, int64_t *local_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT local_id FROM exchange_fed_map WHERE peer_id = ? AND dataset = ? "
                       "AND remote_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    db_bind_int64(s, 3, remote);
    bool row;
    if (!(e = db_row(s, &row)))
        *local_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

err exchange_idmap_put(db *d, int64_t peer_id, const char *ds, int64_t remote, int64_t local)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO exchange_fed_map (peer_id, dataset, remote_id, local_id) "
                       "VALUES (?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    db_bind_int64(s, 3, remote);
    db_bind_int64(s, 4, local);
    return db_run(s, NULL);
}

err exchange_idmap_drop(db *d, int64_t peer_id, const char *ds, int64_t remote)
{
    db_stmt *s;
    err e = db_prepare(
        d, "DELETE FROM exchange_fed_map WHERE peer_id = ? AND dataset = ? AND remote_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    db_bind_int64(s, 3, remote);
    return db_run(s, NULL);
}

/* ---- applying one change ----------------------------------------------------------------- */

/* The fields of the parent's records we copy, checked like the bodies of
 * code's own API before they reach its contracts (which expect checked
 * bodies). */
static const char *const zone_kinds[] = {"sealed", "controlled", "prevention", NULL};
static const char *const levels[] = {"medium", "high", NULL};

static const struct jfield zone_fields[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "区域类型", zone_kinds, NULL},
    {"name", J_STRING, 0, 0, 100, "名称", NULL, NULL},
    {"region_code", J_STRING, JF_NULLABLE, 1, 18, "区划", NULL, NULL},
    {"boundary", J_OBJECT, JF_NULLABLE, 0, 0, "边界（GeoJSON 多边形）", NULL, NULL},
    {"valid_from", J_INT, JF_REQUIRED, 1, CODE_TIME_MAX, "生效时间", NULL, NULL},
    {"valid_to", J_INT, 0, 0, CODE_TIME_MAX, "解除时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield area_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 100, "地区名称", NULL, NULL},
    {"level", J_STRING, JF_REQUIRED, 0, 0, "风险等级", levels, NULL},
    {"region_code", J_STRING, JF_NULLABLE, 1, 18, "区划代码", NULL, NULL},
    {"valid_from", J_INT, JF_REQUIRED, 1, CODE_TIME_MAX, "生效时间", NULL, NULL},
    {"valid_to", J_INT, 0, 0, CODE_TIME_MAX, "解除时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* A new object of rec's members named in fields (present and not null). */
static json_t *pick(json_t *rec, const struct jfield *fields)
{
    json_t *o = json_object();
    for (const struct jfield *f = fields; f->name; f++) {
        json_t *v = json_object_get(rec, f->name);
        if (v && !json_is_null(v))
            json_object_set(o, f->name, v);
    }
    return o;
}

struct puller {
    db *d;
    arena *a;
    const struct exchange_peer *p;
    struct principal who; /* the puller inside code's contracts: the whole tree */
};

/*
 * A zone the parent anchored above this instance's root (the parent peer's
 * region: a district-wide zone seen by a street) covers all of the root,
 * and the root is all of it that lies here: the copy is anchored at the
 * root, with the parent's name, kind, window and boundary (a drawn zone
 * then covers what of its polygon lies inside the root; none of it:
 * "zone_empty", refused like any bad record). A zone anchored inside the
 * root, or elsewhere, keeps its anchor.
 */
static void anchor_below(struct puller *u, json_t *b)
{
    int64_t root = u->p->region_code;
    const char *rc = json_str(b, "region_code");
    int64_t anchor = rc ? regcode_parse(rc, NULL) : 0;
    if (root <= 0 || anchor <= 0 || anchor == root || !regcode_within(root, anchor))
        return;
    char code[19];
    regcode_format(root, code);
    json_object_set_new(b, "region_code", json_string(code));
}

static err zone_apply(struct puller *u, int64_t remote, bool deleted, json_t *rec, int64_t *local_r)
{
    const char *ds = exchange_dataset_name(DS_ZONES);
    int64_t local = 0;
    err e = exchange_idmap_find(u->d, u->p->id, ds, remote, &local);
    if (e)
        return e;
    *local_r = local;
    if (deleted) /* gone at the parent: ended here (a zone is never deleted) */
        return local ? code_zone_end(u->d, u->a, &u->who, local, 0, NULL) : E_OK;
    json_t *b = pick(rec, zone_fields);
    if (json_int(b, "valid_to", 0) == 0)
        json_object_del(b, "valid_to"); /* open: code's body leaves it out */
    if ((e = json_check(b, zone_fields, false))) {
        json_decref(b);
        return e;
    }
    if (!local)
        anchor_below(u, b);
    if (!local) {
        if (!(e = code_zone_add(u->d, u->a, &u->who, b, &local)))
            e = exchange_idmap_put(u->d, u->p->id, ds, remote, local);
        json_decref(b);
        *local_r = local;
        return e;
    }
    /* a copy exists: only the end of a zone changes after it is drawn */
    int64_t to = json_int(b, "valid_to", 0);
    json_decref(b);
    json_t *mine;
    struct scope all = scope_all();
    if ((e = code_zone_get(u->d, u->a, &all, local, &mine)))
        return e;
    int64_t my_to = json_int(mine, "valid_to", 0);
    json_decref(mine);
    if (to == my_to)
        return E_OK;
    if (!to)
        return err_set(E_CONFLICT, "fed_zone_reopened", "valid_to", "已解除的区域不能重新生效");
    return code_zone_end(u->d, u->a, &u->who, local, to, NULL);
}

static err area_apply(struct puller *u, int64_t remote, bool deleted, json_t *rec, int64_t *local_r)
{
    const char *ds = exchange_dataset_name(DS_RISK_AREAS);
    int64_t local = 0;
    err e = exchange_idmap_find(u->d, u->p->id, ds, remote, &local);
    if (e)
        return e;
    *local_r = local;
    if (deleted) {
        if (!local)
            return E_OK;
        const char *detail;
        e = code_risk_area_delete(u->d, u->a, local, &detail);
        if (e == E_CONFLICT && !strcmp(err_last()->slug, "risk_area_in_use")) {
            /* a stay here names it: ended now instead, as staff would lift it */
            err_clear();
            json_t *b = json_pack("{sI}", "valid_to", (json_int_t)now_ms());
            const char *changed;
            e = code_risk_area_update(u->d, u->a, &u->who, local, b, &changed);
            json_decref(b);
            return e;
        }
        return e ? e : exchange_idmap_drop(u->d, u->p->id, ds, remote);
    }
    json_t *b = pick(rec, area_fields);
    if (!(e = json_check(b, area_fields, false))) {
        if (!local) {
            if (json_int(b, "valid_to", 0) == 0)
                json_object_del(b, "valid_to");
            if (!(e = code_risk_area_add(u->d, &u->who, b, &local)))
                e = exchange_idmap_put(u->d, u->p->id, ds, remote, local);
            *local_r = local;
        } else {
            if (!json_object_get(b, "region_code"))
                json_object_set_new(b, "region_code", json_null()); /* moved out of the tree */
            if (!json_object_get(b, "valid_to"))
                json_object_set_new(b, "valid_to", json_integer(0)); /* reopened */
            const char *changed;
            e = code_risk_area_update(u->d, u->a, &u->who, local, b, &changed);
        }
    }
    json_decref(b);
    return e;
}

static const char *const notice_audiences[] = {"all", NULL};
static const char *const notice_states[] = {"published", "withdrawn", NULL};

/* the API's sizes (notice/api.c); the body is sanitised again here */
static const struct jfield notice_fields[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "发布范围", NULL, NULL},
    {"audience", J_STRING, JF_REQUIRED, 0, 0, "通知对象", notice_audiences, NULL},
    {"title", J_STRING, JF_REQUIRED, 1, NOTICE_TITLE_MAX, "标题", NULL, NULL},
    {"body", J_STRING, JF_REQUIRED, 1, 262144, "内容", NULL, NULL},
    {"pinned", J_BOOL, 0, 0, 0, "置顶", NULL, NULL},
    {"state", J_STRING, JF_REQUIRED, 0, 0, "状态", notice_states, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/*
 * A notice the parent published to all residents of a region covering
 * this instance's root (the parent's changes feed sends no other) is
 * published here once, to all residents of the root, with the parent's
 * title, body (sanitised again) and pin; its receipts are this instance's.
 * The parent's withdrawal (state "withdrawn", or the record gone)
 * withdraws the copy. A later change of the text is not carried (a notice
 * already read here keeps what was read). Attachments are not carried:
 * the parent's files are not this instance's to serve.
 */
static err notice_apply(struct puller *u, int64_t remote, bool deleted, json_t *rec,
                        int64_t *local_r)
{
    const char *ds = exchange_dataset_name(DS_NOTICES);
    int64_t local = 0;
    err e = exchange_idmap_find(u->d, u->p->id, ds, remote, &local);
    if (e)
        return e;
    *local_r = local;
    const char *state = json_str(rec, "state");
    if (deleted || (state && !strcmp(state, "withdrawn")))
        return local ? notice_fed_withdraw(u->d, local, now_ms()) : E_OK;
    if (local) /* copied already: a change sent again, or an edit (not carried) */
        return E_OK;
    json_t *b = pick(rec, notice_fields);
    if (!(e = json_check(b, notice_fields, false))) {
        int64_t root = u->p->region_code;
        int64_t anchor = regcode_parse(json_str(b, "region_code"), NULL);
        if (root <= 0 || anchor <= 0 || !(anchor == root || regcode_within(root, anchor)))
            e = err_set(E_INPUT, "invalid_value", "region_code",
                        "上级通知的发布范围不包含本平台辖区");
        else if (!(e = notice_fed_publish(u->d, u->a, &u->who, root, json_str(b, "title"),
                                          json_str(b, "body"),
                                          json_is_true(json_object_get(b, "pinned")), &local)))
            e = exchange_idmap_put(u->d, u->p->id, ds, remote, local);
        *local_r = local;
    }
    json_decref(b);
    return e;
}

/* Refusals of one record (its fields, a region unknown here, a state code
 * will not take): the change is passed and counted, never retried, so one
 * bad record cannot stop the flow. Anything else fails the page. */
static bool record_refused(err e)
{
    return e == E_INPUT || e == E_CONFLICT || e == E_NOT_FOUND;
}

/* ---- one page ---------------------------------------------------------------------------- */

static err bad_answer(const char *why)
{
    return err_set(E_UNAVAILABLE, "fed_bad_answer", NULL, "%s", why);
}

/* Check the page's shape before anything is applied: items in increasing
 * seq after `since`, each with an id, an op and a record. */
static err page_check(json_t *page, int64_t since, int64_t *next_r, bool *more_r)
{
    json_t *items = json_object_get(page, "items");
    json_t *next = json_object_get(page, "next");
    if (!json_is_array(items) || !json_is_integer(next))
        return bad_answer("上级平台的应答不是变更页");
    int64_t last = since;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        json_t *seq = json_object_get(it, "seq");
        const char *op = json_str(it, "op");
        if (!json_is_integer(seq) || json_integer_value(seq) <= last || !op ||
            (strcmp(op, "upsert") && strcmp(op, "delete")) || id_parse(json_str(it, "id")) <= 0 ||
            !json_is_object(json_object_get(it, "record")))
            return bad_answer("上级平台的变更记录格式不正确");
        last = json_integer_value(seq);
    }
    if (json_integer_value(next) < last)
        return bad_answer("上级平台的变更页游标不正确");
    *next_r = json_integer_value(next);
    *more_r = json_is_true(json_object_get(page, "more")) && json_array_size(items) > 0;
    return E_OK;
}

static err audit_change(struct puller *u, const char *ds, int64_t local, int64_t remote,
                        int64_t seq, const char *op, const char *result)
{
    char detail[400];
    snprintf(detail, sizeof detail, "parent=%s remote=%lld seq=%lld op=%s", u->p->name,
             (long long)remote, (long long)seq, op);
    char action[48];
    snprintf(action, sizeof action, "exchange.fed.%s", ds);
    struct audit_entry ae = {.user_id = 0,
                             .username = "federation",
                             .role = "",
                             .ip = "",
                             .action = action,
                             .object_type = !strcmp(ds, "zones")        ? "zone"
                                            : !strcmp(ds, "code_rules") ? "job"
                                            : !strcmp(ds, "notices")    ? "notice"
                                                                        : "risk_area",
                             .object_id = local,
                             .result = result,
                             .detail = detail};
    return audit_log(u->d, &ae);
}

/* Apply one checked page in one transaction with its cursor. */
static err page_apply(struct puller *u, enum exchange_dataset ds, json_t *page, int64_t since,
                      int64_t next, int64_t *applied_r)
{
    const char *name = exchange_dataset_name(ds);
    err e = db_begin(u->d);
    if (e)
        return e;
    if ((e = cursor_claim(u->d, u->p->id, name, since, next)))
        goto fail;
    int64_t applied = 0, rejected = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(page, "items"), i, it)
    {
        int64_t remote = id_parse(json_str(it, "id")), local = 0;
        int64_t seq = json_integer_value(json_object_get(it, "seq"));
        json_t *rec = json_object_get(it, "record");
        const char *op = json_str(it, "op");
        bool deleted = !strcmp(op, "delete") || json_is_true(json_object_get(rec, "deleted"));
        e = ds == DS_ZONES     ? zone_apply(u, remote, deleted, rec, &local)
            : ds == DS_NOTICES ? notice_apply(u, remote, deleted, rec, &local)
                               : area_apply(u, remote, deleted, rec, &local);
        if (e && record_refused(e)) {
            const struct err_detail *x = err_last();
            log_event(LOG_WARN, "exchange_fed_refused", "dataset", name, "slug", x->slug, "message",
                      x->message, NULL);
            if ((e = audit_change(u, name, local, remote, seq, op, x->slug)))
                goto fail;
            err_clear();
            rejected++;
            continue;
        }
        if (e || (e = audit_change(u, name, local, remote, seq, op, "ok")))
            goto fail;
        applied++;
    }
    if ((e = cursor_done(u->d, u->p->id, name, applied, rejected)) || (e = db_commit(u->d)))
        goto fail;
    *applied_r += applied;
    return E_OK;
fail:
    db_rollback(u->d);
    return e;
}

/* GET path_query of the parent as JSON into *out_r (a new reference). The
 * parent's refusal, an answer that is not JSON and an answer whose
 * signature fails are the pull's errors; nothing of them is applied. */
static err parent_get(struct puller *u, const char *path_query, json_t **out_r)
{
    struct exchange_peer_reply rep;
    *out_r = NULL;
    err e = exchange_peer_call(u->d, u->a, u->p, "GET", path_query, NULL, NULL, &rep);
    if (e == E_CRYPTO) /* the parent's word cannot be trusted: nothing from it applies */
        return err_set(E_UNAVAILABLE, "fed_parent_unverified", NULL,
                       "上级平台的应答签名无效，未采用其数据");
    if (e)
        return e;
    if (rep.status != 200) {
        json_t *j = json_loads(rep.body ? rep.body : "", 0, NULL);
        const char *msg = json_str(json_object_get(j, "error"), "message");
        char why[200];
        snprintf(why, sizeof why, "上级平台拒绝（%d）：%s", rep.status, msg ? msg : "无说明");
        json_decref(j);
        return err_set(E_UNAVAILABLE, "fed_parent_refused", NULL, "%s", why);
    }
    if (!(*out_r = json_loads(rep.body, 0, NULL)))
        return bad_answer("上级平台的应答不是 JSON");
    return E_OK;
}

/* A failed pull of ds: the reason stored on its cursor for the operator,
 * the error (with its detail) the pull's. */
static err pull_failed(struct puller *u, const char *ds, err e)
{
    struct err_detail keep = *err_last();
    cursor_fail(u->d, u->p->id, ds, *keep.message ? keep.message : "上级平台暂不可用（无应答）");
    return err_set(e, keep.slug, keep.field[0] ? keep.field : NULL, "%s", keep.message);
}

/* Pull dataset ds: pages until the parent has no more (or FED_PAGES). */
static err pull_dataset(struct puller *u, enum exchange_dataset ds, int64_t *applied_r)
{
    const char *name = exchange_dataset_name(ds);
    for (int pg = 0; pg < FED_PAGES; pg++) {
        int64_t since;
        err e = cursor_read(u->d, u->p->id, name, 0, &since);
        if (e)
            return e;
        char path[96];
        snprintf(path, sizeof path, "/exchange/v1/%s/changes?since=%lld&limit=%d", name,
                 (long long)since, FED_PAGE);
        json_t *page = NULL;
        int64_t next = 0;
        bool more = false;
        if (!(e = parent_get(u, path, &page)))
            e = page_check(page, since, &next, &more);
        if (!e && next > since)
            e = page_apply(u, ds, page, since, next, applied_r);
        else if (!e) /* nothing new: the pull is good, its time and a clean state stored */
            e = cursor_done(u->d, u->p->id, name, 0, 0);
        json_decref(page);
        if (e) {
            if (e == E_CONFLICT && !strcmp(err_last()->slug, "fed_cursor_moved")) {
                err_clear(); /* another server took this page: go on from its cursor */
                continue;
            }
            return pull_failed(u, name, e);
        }
        if (!more)
            return E_OK;
    }
    return E_OK;
}

/* ---- the code rules ---------------------------------------------------------------------- */

/* The parent's rules out of its answer {version, rules: [...]}, checked as
 * the rules API checks a PUT body. E_INPUT (the rule and field at fault)
 * for rules this instance will not take; E_UNAVAILABLE "fed_bad_answer" for
 * an answer of another shape. */
static err rules_parse(json_t *o, struct code_rule rules[CODE_RULES_MAX], size_t *n_r,
                       int64_t *version_r)
{
    json_t *v = json_object_get(o, "version"), *arr = json_object_get(o, "rules");
    if (!json_is_integer(v) || json_integer_value(v) < 0 || !json_is_array(arr))
        return bad_answer("上级平台的赋码规则应答格式不正确");
    *version_r = json_integer_value(v);
    size_t n = json_array_size(arr);
    if (n < 1 || n > CODE_RULES_MAX)
        return err_set(E_INPUT, "out_of_range", "rules", "规则应有1到%d条", CODE_RULES_MAX);
    for (size_t i = 0; i < n; i++) {
        err e = code_rule_from_json(json_array_get(arr, i), i, &rules[i]);
        if (e)
            return e;
    }
    *n_r = n;
    return E_OK;
}

/*
 * Follow the parent's rules (code_rules_followed): read them with their
 * version and, when it differs from the version last taken (the cursor's
 * seq; -1 before the first pull, so following starts by taking the
 * parent's rules even when they are its defaults), save them through
 * code_rules_save and queue the recompute of everyone (a job, as the rules
 * editor's save does), the cursor, the job and the audit entry in one
 * transaction. Rules this instance refuses are audited with the reason and
 * counted in `rejected`; the version is then passed (the parent's next
 * save is tried again).
 */
static err pull_rules(struct puller *u, int64_t *applied_r)
{
    const char *name = exchange_dataset_name(DS_CODE_RULES);
    int64_t seen;
    err e = cursor_read(u->d, u->p->id, name, -1, &seen);
    if (e)
        return e;
    json_t *o = NULL;
    struct code_rule rules[CODE_RULES_MAX];
    size_t n = 0;
    int64_t version = 0;
    if ((e = parent_get(u, "/exchange/v1/code_rules", &o)))
        return pull_failed(u, name, e);
    err refused = rules_parse(o, rules, &n, &version);
    json_decref(o);
    if (refused == E_UNAVAILABLE)
        return pull_failed(u, name, refused);
    if (version == seen) /* unchanged: a good pull, nothing to save */
        return cursor_done(u->d, u->p->id, name, 0, 0);
    int64_t job = 0;
    if ((e = db_begin(u->d)))
        return e;
    if ((e = cursor_claim(u->d, u->p->id, name, seen, version)))
        goto fail;
    if (!refused) {
        /* a savepoint: rules it refuses (duplicate keys) undo only themselves */
        refused = code_rules_save(u->d, rules, n, 0);
        if (refused && refused != E_INPUT) {
            e = refused;
            goto fail;
        }
        if (!refused && (e = job_create(u->d, &u->who, "code.recompute", &job)))
            goto fail;
    }
    char detail[400], result[64];
    snprintf(detail, sizeof detail, "parent=%s version=%lld rules=%zu", u->p->name,
             (long long)version, n);
    snprintf(result, sizeof result, "%s", refused ? err_last()->slug : "ok");
    if (refused)
        log_event(LOG_WARN, "exchange_fed_refused", "dataset", name, "slug", result, "message",
                  err_last()->message, NULL);
    struct audit_entry ae = {.username = "federation",
                             .role = "",
                             .ip = "",
                             .action = "exchange.fed.code_rules",
                             .object_type = "job",
                             .object_id = job,
                             .result = result,
                             .detail = detail};
    if ((e = audit_log(u->d, &ae)))
        goto fail;
    if (refused)
        err_clear();
    if ((e = cursor_done(u->d, u->p->id, name, refused ? 0 : 1, refused ? 1 : 0)) ||
        (e = db_commit(u->d)))
        goto fail;
    if (job)
        code_worker_submit(u->d, job, 0); /* once the job is committed */
    if (!refused)
        (*applied_r)++;
    return E_OK;
fail:
    db_rollback(u->d);
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "fed_cursor_moved")) {
        err_clear(); /* another server took this version meanwhile */
        return E_OK;
    }
    return pull_failed(u, name, e);
}

err exchange_fed_pull(db *d, arena *a, int64_t *applied_r)
{
    *applied_r = 0;
    if (!*parent_name)
        return err_set(E_NOT_FOUND, "fed_no_parent", NULL, "未配置上级平台");
    struct exchange_peer *p;
    err e = exchange_peer_named(d, a, parent_name, &p);
    if (e)
        return e;
    if (strcmp(p->kind, "fangkong") || !p->enabled)
        return err_set(E_INPUT, "fed_parent_kind", NULL, "上级平台应为已启用的防控平台类对接系统");
    p->front = "federation";
    struct puller u = {.d = d, .a = a, .p = p};
    u.who.scope = scope_all();
    u.who.region_code = 0;
    perm_set_add(&u.who.perms, PERM_ZONE_WRITE);
    perm_set_add(&u.who.perms, PERM_CODE_READ);
    snprintf(u.who.username, sizeof u.who.username, "federation");
    /* a copied notice's author, as residents and staff read it */
    if (strlen(p->name) + sizeof "上级平台（）" <= sizeof u.who.display_name)
        snprintf(u.who.display_name, sizeof u.who.display_name, "上级平台（%s）", p->name);
    else /* never cut a name inside a character */
        snprintf(u.who.display_name, sizeof u.who.display_name, "上级平台");
    for (size_t i = 0; i < sizeof pulled / sizeof pulled[0]; i++)
        if ((pulled[i] != DS_NOTICES || notices_taken) &&
            (e = pull_dataset(&u, pulled[i], applied_r)))
            return e;
    /* after the zones: a new rule about zones then sees the parent's zones */
    return code_rules_followed() ? pull_rules(&u, applied_r) : E_OK;
}

/* ---- the thread ------------------------------------------------------------------------ */

static err pull_tick(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)now;
    (void)ctx;
    if (!*parent_name)
        return E_OK;
    /* a thread of its own has no request arena: one per pull, freed after */
    arena *a = arena_new(64 * 1024);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    err e = exchange_fed_pull(d, a, count_r);
    arena_free(&a);
    return e;
}

static struct periodic puller = PERIODIC_INIT("exchange_fed", pull_tick, NULL);

err exchange_fed_start(const char *db_url, int every_s)
{
    return *parent_name ? periodic_start(&puller, db_url, every_s) : E_OK;
}

void exchange_fed_stop(void)
{
    periodic_stop(&puller);
}

/* ---- state ------------------------------------------------------------------------------ */

err exchange_fed_state(db *d, arena *a, json_t **out_r)
{
    json_t *o = json_object(), *cursors = json_array();
    json_object_set_new(o, "cursors", cursors);
    json_object_set_new(o, "rules_followed", json_boolean(code_rules_followed()));
    json_object_set_new(o, "notices_taken", json_boolean(notices_taken && *parent_name));
    struct exchange_peer *p = NULL;
    err e = E_OK;
    if (*parent_name && (e = exchange_peer_named(d, a, parent_name, &p)) == E_NOT_FOUND) {
        err_clear(); /* configured but not registered (yet): shown as none */
        e = E_OK;
        p = NULL;
    }
    if (e) {
        json_decref(o);
        return e;
    }
    if (!p) {
        json_object_set_new(o, "parent", json_null());
        *out_r = o;
        return E_OK;
    }
    json_t *po = json_object();
    json_set_id(po, "id", p->id);
    json_object_set_new(po, "name", json_string(p->name));
    json_object_set_new(po, "base_url", json_string(p->base_url));
    json_object_set_new(o, "parent", po);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT dataset, seq, pulled_at, applied, rejected, last_error FROM "
                        "exchange_fed_cursors WHERE peer_id = ? ORDER BY dataset",
                        &s))) {
        json_decref(o);
        return e;
    }
    db_bind_int64(s, 1, p->id);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *c = json_object();
        json_object_set_new(c, "dataset", json_string(db_col_text(s, 0)));
        json_object_set_new(c, "seq", json_integer(db_col_int64(s, 1)));
        json_object_set_new(c, "pulled_at", json_integer(db_col_int64(s, 2)));
        json_object_set_new(c, "applied", json_integer(db_col_int64(s, 3)));
        json_object_set_new(c, "rejected", json_integer(db_col_int64(s, 4)));
        json_object_set_new(c, "last_error", json_string(db_col_text(s, 5)));
        json_array_append_new(cursors, c);
    }
    db_done(s);
    if (e) {
        json_decref(o);
        return e;
    }
    *out_r = o;
    return E_OK;
}
