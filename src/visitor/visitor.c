/*
 * The rules and the SQL of visitors: checking, sealing, the decision
 * workflow, visitor codes and scans at a checkpoint (visitor.h).
 */
#include "visitor/visitor.h"

#include <math.h>
#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "alert/alert.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "health/health.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"

#define L_NAME  "visitors.name"
#define L_ID    "visitors.id_number"
#define L_PHONE "visitors.phone"
#define L_PLATE "visitors.plate"

static const struct vocab_word statuses[] = {
    [VISITOR_PENDING] = {"pending", "待审核"},
    [VISITOR_CONFIRMED] = {"confirmed", "已通过"},
    [VISITOR_REFUSED] = {"refused", "已拒绝"},
    [VISITOR_CANCELLED] = {"cancelled", "已取消"},
};
const struct vocab visitor_status_vocab = VOCAB("visitor_statuses", "访客状态", statuses);

enum visitor_status visitor_status_parse(const char *s)
{
    int k = vocab_parse(&visitor_status_vocab, s);
    return k > 0 ? (enum visitor_status)k : 0;
}

const char *visitor_status_name(enum visitor_status s)
{
    return vocab_name(&visitor_status_vocab, (size_t)s);
}

const char *visitor_status_label(enum visitor_status s)
{
    return vocab_label(&visitor_status_vocab, (size_t)s);
}

int64_t visitor_area(int64_t code)
{
    return regcode_at_most(code, LEVEL_COMMUNITY);
}

err visitor_window_check(int64_t from, int64_t to, int64_t now)
{
    if (from <= 0 || to <= from)
        return err_set(E_INPUT, "invalid_time", "valid_to", "来访结束时间应晚于开始时间");
    if (to - from > VISITOR_WINDOW_MAX_MS)
        return err_set(E_INPUT, "window_too_long", "valid_to", "来访时间段不能超过7天");
    if (to <= now)
        return err_set(E_INPUT, "window_ended", "valid_to", "来访结束时间已过");
    if (from - now > VISITOR_AHEAD_MAX_MS)
        return err_set(E_INPUT, "window_too_far", "valid_from", "只能预约30天内的来访");
    return E_OK;
}

err visitor_window_admit(int64_t from, int64_t to, int64_t now)
{
    if (now < from)
        return err_set(E_CONFLICT, "visitor_window_not_started", "token",
                       "访客码尚未生效：未到预约的来访时间");
    if (now > to)
        return err_set(E_CONFLICT, "visitor_window_ended", "token", "访客码已失效：来访时间已过");
    return E_OK;
}

err visitor_check(arena *a, struct visitor *v, int64_t now)
{
    err e;
    if ((e = check_text(v->name, "name", "访客姓名", PERSON_NAME_MAX,
                        TEXT_REQUIRED | TEXT_ONE_LINE)))
        return e;
    if (!id_type_name(v->id_type))
        return err_set(E_INPUT, "invalid_id_type", "id_type", "证件类型无效");
    if ((e = check_text(v->id_number, "id_number", "证件号码", 32, TEXT_REQUIRED | TEXT_ONE_LINE)))
        return e;
    char *idn = person_id_normalise(arena_strdup(a, v->id_number));
    if (v->id_type == ID_RESIDENT)
        e = check_resident_id(idn, "id_number", NULL, NULL);
    else
        e = check_id_number(v->id_type, idn, "id_number");
    if (e)
        return e;
    v->id_number = idn;
    if (!v->phone || !*v->phone)
        return err_set(E_INPUT, "required", "phone", "请填写访客手机号码");
    if ((e = check_phone(v->phone, "phone")))
        return e;
    if ((e = check_text(v->purpose, "purpose", "来访事由", VISITOR_PURPOSE_MAX,
                        TEXT_REQUIRED | TEXT_ONE_LINE)))
        return e;
    if (v->plate && *v->plate) {
        char plate[PLATE_MAX];
        if ((e = plate_normalise(v->plate, "plate", plate, NULL)))
            return e;
        v->plate = arena_strdup(a, plate);
    } else {
        v->plate = "";
    }
    return visitor_window_check(v->valid_from, v->valid_to, now);
}

/* ---- rows --------------------------------------------------------------------------- */

#define COLS                                                                                       \
    "id, region_code, host_user_id, host_person_id, name_enc, id_type, id_number_enc, "            \
    "phone_enc, purpose, plate_enc, valid_from, valid_to, status, reason, decided_by, "            \
    "decided_at, "                                                                                 \
    "code_version, created_at, updated_at, enterprise_id"

static err open_col(arena *a, db_stmt *s, int i, const char *label, const char **out)
{
    size_t n;
    const void *ct = db_col_blob(s, i, &n);
    if (!ct || !n) { /* only a plate may be absent (NULL: no vehicle) */
        *out = "";
        return E_OK;
    }
    char *plain;
    err e = unseal(a, label, ct, n, &plain, NULL);
    if (!e)
        *out = plain;
    return e;
}

static err row(arena *a, db_stmt *s, struct visitor *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, 0);
    v->region_code = db_col_int64(s, 1);
    v->host_user_id = db_col_int64(s, 2);
    v->host_person_id = db_col_int64(s, 3);
    err e = open_col(a, s, 4, L_NAME, &v->name);
    if (!e)
        e = open_col(a, s, 6, L_ID, &v->id_number);
    if (!e)
        e = open_col(a, s, 7, L_PHONE, &v->phone);
    if (!e)
        e = open_col(a, s, 9, L_PLATE, &v->plate);
    if (e)
        return e;
    v->id_type = id_type_parse(db_col_text(s, 5));
    v->purpose = arena_strdup(a, db_col_text(s, 8));
    v->valid_from = db_col_int64(s, 10);
    v->valid_to = db_col_int64(s, 11);
    v->status = visitor_status_parse(db_col_text(s, 12));
    v->reason = arena_strdup(a, db_col_text(s, 13));
    v->decided_by = db_col_int64(s, 14);
    v->decided_at = db_col_int64(s, 15);
    v->code_version = db_col_int64(s, 16);
    v->created_at = db_col_int64(s, 17);
    v->updated_at = db_col_int64(s, 18);
    v->enterprise_id = db_col_int64(s, 19);
    v->enterprise_name = "";
    return E_OK;
}

err visitor_submit(db *d, arena *a, const struct principal *host, int64_t host_person_id,
                   int64_t host_region, struct visitor *v)
{
    uint8_t *name_ct, *id_ct, *phone_ct, *plate_ct = NULL, bidx[BLIND_LEN], plate_bidx[BLIND_LEN];
    size_t name_n, id_n, phone_n, plate_n = 0;
    bool plate = v->plate && *v->plate;
    err e = seal(a, L_NAME, v->name, strlen(v->name), &name_ct, &name_n);
    if (!e)
        e = seal(a, L_ID, v->id_number, strlen(v->id_number), &id_ct, &id_n);
    if (!e)
        e = seal(a, L_PHONE, v->phone, strlen(v->phone), &phone_ct, &phone_n);
    if (!e && plate) {
        e = seal(a, L_PLATE, v->plate, strlen(v->plate), &plate_ct, &plate_n);
        plate_blind(v->plate, plate_bidx);
    }
    db_stmt *s = NULL;
    if (!e)
        e = db_prepare(d,
                       "INSERT INTO visitors (id, region_code, host_user_id, host_person_id, "
                       "name_enc, id_type, id_number_enc, id_number_bidx, phone_enc, purpose, "
                       "plate, plate_enc, plate_bidx, valid_from, valid_to, status, created_at, "
                       "updated_at, enterprise_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, "
                       "?, ?, ?, 'pending', ?, ?, ?)",
                       &s);
    if (!e) {
        int64_t now = now_ms();
        blind_index(L_ID, v->id_number, bidx);
        v->id = id_new();
        v->region_code = host_region;
        v->host_user_id = host->user_id;
        v->host_person_id = host_person_id;
        v->status = VISITOR_PENDING;
        v->created_at = v->updated_at = now;
        v->code_version = 1;
        v->reason = "";
        db_bind_int64(s, 1, v->id);
        db_bind_int64(s, 2, host_region);
        db_bind_int64(s, 3, host->user_id);
        db_bind_int64(s, 4, host_person_id);
        db_bind_blob(s, 5, name_ct, name_n);
        db_bind_text(s, 6, id_type_name(v->id_type));
        db_bind_blob(s, 7, id_ct, id_n);
        db_bind_blob(s, 8, bidx, BLIND_LEN);
        db_bind_blob(s, 9, phone_ct, phone_n);
        db_bind_text(s, 10, v->purpose);
        if (plate) {
            db_bind_blob(s, 11, plate_ct, plate_n);
            db_bind_blob(s, 12, plate_bidx, BLIND_LEN);
        } else {
            db_bind_null(s, 11);
            db_bind_null(s, 12);
        }
        db_bind_int64(s, 13, v->valid_from);
        db_bind_int64(s, 14, v->valid_to);
        db_bind_int64(s, 15, now);
        db_bind_int64(s, 16, now);
        db_bind_int64(s, 17, v->enterprise_id);
        e = db_run(s, NULL);
    }
    return e;
}

err visitor_find(db *d, arena *a, const struct scope *sc, int64_t host_user_id, int64_t id,
                 struct visitor *v_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " COLS " FROM visitors WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND (CAST(? AS BIGINT) = 0 OR host_user_id = ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, host_user_id);
    db_bind_int64(s, 5, host_user_id);
    bool found;
    if (!(e = db_row(s, &found)))
        e = found ? row(a, s, v_r) : err_set(E_NOT_FOUND, "not_found", NULL, "访客登记不存在");
    db_done(s);
    return e;
}

err visitor_list(db *d, arena *a, const struct scope *sc, int64_t host_user_id,
                 int64_t host_person_id, bool community_only, enum visitor_status status,
                 int64_t page, int64_t page_size, struct visitor **items_r, size_t *n_r,
                 int64_t *total_r)
{
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM visitors WHERE region_code >= ? AND region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (host_user_id) {
        query_sql(w, " AND host_user_id = ?");
        query_int(w, host_user_id);
    }
    if (host_person_id) {
        query_sql(w, " AND host_person_id = ?");
        query_int(w, host_person_id);
    }
    if (community_only)
        query_sql(w, " AND enterprise_id = 0");
    if (status) {
        query_sql(w, " AND status = ?");
        query_text(w, visitor_status_name(status));
    }
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    err e = query_count(d, q, total_r);
    if (e)
        return e;
    /* the page, then its hosts joined to it: one statement, no query per
     * row (x.* keeps COLS' order) */
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT x.*, p.name_enc, p.address_enc, e.name FROM (SELECT " COLS);
    query_append(q, w);
    query_sql(q, " ORDER BY id DESC LIMIT ? OFFSET ?) x LEFT JOIN persons p ON "
                 "p.id = x.host_person_id LEFT JOIN enterprises e ON e.id = x.enterprise_id "
                 "ORDER BY x.id DESC");
    query_int(q, page_size);
    query_int(q, paging_offset(page, page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    struct visitor *items = arena_alloc(a, sizeof *items * (size_t)(page_size > 0 ? page_size : 1));
    size_t n = 0;
    bool more;
    while (n < (size_t)page_size && !(e = db_row(s, &more)) && more) {
        struct visitor *v = &items[n++];
        if ((e = row(a, s, v)) || (e = person_name_masked_col(a, s, 20, &v->host_name)) ||
            (e = person_address_masked_col(a, s, 21, &v->host_address)))
            break;
        v->enterprise_name = arena_strdup(a, db_col_text(s, 22));
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* A decision on a pending visitor inside sc whose host enterprise is
 * enterprise_id (0: a community visitor). */
static err decide(db *d, arena *a, const struct scope *sc, int64_t enterprise_id, int64_t id,
                  int64_t by, bool confirm, const char *reason)
{
    if (!confirm && (!reason || !*reason))
        return err_set(E_INPUT, "required", "reason", "请填写拒绝原因");
    err e;
    if (reason && (e = check_text(reason, "reason", "原因", VISITOR_REASON_MAX, TEXT_ONE_LINE)))
        return e;
    int64_t now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE visitors SET status = ?, reason = ?, decided_by = ?, "
                        "decided_at = ?, updated_at = ? WHERE id = ? AND region_code >= ? AND "
                        "region_code < ? AND enterprise_id = ? AND status = 'pending' AND "
                        "(CAST(? AS BIGINT) = 0 OR valid_to > ?)",
                        &s)))
        return e;
    db_bind_text(s, 1, confirm ? "confirmed" : "refused");
    db_bind_text(s, 2, reason ? reason : "");
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, id);
    db_bind_int64(s, 7, sc->lo);
    db_bind_int64(s, 8, sc->hi);
    db_bind_int64(s, 9, enterprise_id);
    db_bind_int64(s, 10, confirm);
    db_bind_int64(s, 11, now);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)) || changed)
        return e;
    /* why nothing changed: say it precisely */
    struct visitor v;
    e = visitor_find(d, a, sc, 0, id, &v);
    if (!e && v.enterprise_id != enterprise_id)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "访客登记不存在");
    else if (!e && v.status != VISITOR_PENDING)
        e = err_set(E_CONFLICT, "visitor_not_pending", NULL, "该访客登记已处理（%s）",
                    visitor_status_label(v.status));
    else if (!e)
        e = err_set(E_CONFLICT, "visitor_window_ended", NULL, "来访时间已过，不能再通过审核");
    return e;
}

err visitor_decide(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by, bool confirm,
                   const char *reason)
{
    return decide(d, a, sc, 0, id, by, confirm, reason);
}

err visitor_enterprise_decide(db *d, arena *a, int64_t enterprise_id, int64_t id, int64_t by,
                              bool confirm, const char *reason)
{
    /* the binding to the enterprise is the licence (enterprise.h ent_reach) */
    struct scope all = scope_all();
    if (enterprise_id <= 0)
        return err_set(E_NOT_FOUND, "not_found", NULL, "访客登记不存在");
    return decide(d, a, &all, enterprise_id, id, by, confirm, reason);
}

static const struct vocab_word presences[] = {
    [VISITOR_UNDECIDED] = {"undecided", "未通过审核"},
    [VISITOR_EXPECTED] = {"expected", "待到访"},
    [VISITOR_ARRIVED] = {"arrived", "已到访"},
    [VISITOR_LEFT] = {"left", "已离开"},
};
const struct vocab visitor_presence_vocab = VOCAB("visitor_presences", "访客到访状态", presences);

err visitor_day(db *d, arena *a, int64_t enterprise_id, int64_t from, int64_t to,
                struct visitor_day_row **rows_r, size_t *n_r)
{
    /* the window meets the day; the day's gate passages in the same
     * statement (first allowed in, last in, last out) */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT x.*, e.name, "
                       "(SELECT MIN(p.at) FROM visitor_passages p WHERE p.visitor_id = x.id AND "
                       "p.direction = 'in' AND p.verdict = 'allow' AND p.at >= ? AND p.at < ?), "
                       "(SELECT MAX(p.at) FROM visitor_passages p WHERE p.visitor_id = x.id AND "
                       "p.direction = 'in' AND p.verdict = 'allow' AND p.at >= ? AND p.at < ?), "
                       "(SELECT MAX(p.at) FROM visitor_passages p WHERE p.visitor_id = x.id AND "
                       "p.direction = 'out' AND p.at >= ? AND p.at < ?) "
                       "FROM (SELECT " COLS
                       " FROM visitors WHERE enterprise_id = ? AND valid_from < ? AND "
                       "valid_to >= ? AND status <> 'cancelled') x LEFT JOIN enterprises e ON "
                       "e.id = x.enterprise_id ORDER BY x.valid_from, x.id LIMIT ?",
                       &s);
    if (e)
        return e;
    for (int i = 0; i < 3; i++) {
        db_bind_int64(s, 1 + 2 * i, from);
        db_bind_int64(s, 2 + 2 * i, to);
    }
    db_bind_int64(s, 7, enterprise_id);
    db_bind_int64(s, 8, to);
    db_bind_int64(s, 9, from);
    db_bind_int64(s, 10, VISITOR_DAY_MAX + 1);
    struct visitor_day_row *rows = NULL;
    size_t n = 0, cap = 0;
    bool more;
    while (!(e = db_row(s, &more)) && more) {
        if (n == VISITOR_DAY_MAX) {
            e = err_set(E_INPUT, "too_many", "date", "当天访客超过%d人，无法一次列出",
                        VISITOR_DAY_MAX);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            struct visitor_day_row *g = arena_alloc(a, sizeof *g * nc);
            if (n)
                memcpy(g, rows, sizeof *g * n);
            rows = g;
            cap = nc;
        }
        struct visitor_day_row *x = &rows[n++];
        memset(x, 0, sizeof *x);
        if ((e = row(a, s, &x->v)))
            break;
        x->v.enterprise_name = arena_strdup(a, db_col_text(s, 20));
        x->arrived_at = db_col_int64(s, 21);
        int64_t last_in = db_col_int64(s, 22), last_out = db_col_int64(s, 23);
        if (x->v.status != VISITOR_CONFIRMED)
            x->presence = VISITOR_UNDECIDED;
        else if (!last_in)
            x->presence = VISITOR_EXPECTED;
        else if (last_out > last_in) {
            x->presence = VISITOR_LEFT;
            x->left_at = last_out;
        } else
            x->presence = VISITOR_ARRIVED;
    }
    db_done(s);
    if (e)
        return e;
    *rows_r = rows;
    *n_r = n;
    return E_OK;
}

err visitor_cancel(db *d, arena *a, int64_t host_user_id, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE visitors SET status = 'cancelled', code_version = code_version + "
                       "1, updated_at = ? WHERE id = ? AND host_user_id = ? AND status IN "
                       "('pending', 'confirmed')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, host_user_id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)) || changed)
        return e;
    struct scope all = scope_all();
    struct visitor v;
    e = visitor_find(d, a, &all, host_user_id, id, &v);
    if (!e)
        e = err_set(E_CONFLICT, "visitor_not_active", NULL, "该访客登记已%s，不能取消",
                    visitor_status_label(v.status));
    return e;
}

err visitor_code(const struct visitor *v, int64_t now, char out[TOKEN_MAX])
{
    if (v->status != VISITOR_CONFIRMED)
        return err_set(E_CONFLICT, "visitor_not_confirmed", NULL, "访客登记%s，没有访客码",
                       visitor_status_label(v->status));
    if (now > v->valid_to)
        return err_set(E_CONFLICT, "visitor_window_ended", NULL, "来访时间已过，访客码已失效");
    /* issued at the decision: the same text every time it is shown */
    struct token t = {.kind = TOKEN_VISITOR,
                      .key_id = (uint32_t)v->code_version,
                      .subject = v->id,
                      .issued_at = v->decided_at,
                      .expires_at = v->valid_to};
    return token_issue(&t, out);
}

err visitor_of_token(db *d, arena *a, const char *token, struct visitor *v_r)
{
    struct token t;
    err e = token_verify(token, TOKEN_VISITOR, now_ms(), &t);
    if (e)
        return e;
    struct scope all = scope_all();
    if ((e = visitor_find(d, a, &all, 0, t.subject, v_r)) == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_visitor", "token", "访客登记不存在");
    return e;
}

/* The checks every gate makes of a code, venue or enterprise alike: the
 * token, its visitor, its version, the decision and the window. */
static err admit(db *d, arena *a, struct visitor_scan *s, int64_t now)
{
    err e = s->has_temperature ? health_reading_check(s->temperature, "temperature") : E_OK;
    struct token t;
    if (e || (e = token_verify(s->token, TOKEN_VISITOR, now, &t)))
        return e;
    struct scope all = scope_all();
    if ((e = visitor_find(d, a, &all, 0, t.subject, &s->v)) == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_visitor", "token", "访客登记不存在");
    if (e)
        return e;
    if ((int64_t)t.key_id != s->v.code_version)
        return err_set(E_INPUT, "visitor_code_revoked", "token", "访客码已作废");
    if (s->v.status != VISITOR_CONFIRMED)
        return err_set(E_CONFLICT, "visitor_not_confirmed", "token", "访客登记%s，访客码无效",
                       visitor_status_label(s->v.status));
    return visitor_window_admit(s->v.valid_from, s->v.valid_to, now);
}

/* Log the admitted scan s at `region` (venue_id 0 at an enterprise's
 * gate) with its verdict against `threshold`, and a fever's alert, in one
 * transaction. */
static err pass(db *d, arena *a, struct visitor_scan *s, int64_t region, double threshold,
                const char *method, const char *where, int64_t now)
{
    s->fever_threshold = threshold;
    s->venue_region = region;
    bool fever = s->has_temperature && s->temperature >= threshold - 1e-9;
    s->allowed = !fever;
    s->reason = fever ? "fever" : "ok";
    s->at = now;
    s->passage_id = id_new();
    db_stmt *st;
    err e;
    if ((e = db_prepare(d,
                        "INSERT INTO visitor_passages (id, region_code, venue_id, visitor_id, "
                        "direction, at, temperature, verdict, reason, method, operator_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st)))
        return e;
    db_bind_int64(st, 1, s->passage_id);
    db_bind_int64(st, 2, region);
    db_bind_int64(st, 3, s->venue_id);
    db_bind_int64(st, 4, s->v.id);
    db_bind_text(st, 5, s->direction);
    db_bind_int64(st, 6, now);
    if (s->has_temperature)
        db_bind_double(st, 7, round(s->temperature * 10) / 10);
    else
        db_bind_null(st, 7);
    db_bind_text(st, 8, s->allowed ? "allow" : "deny");
    db_bind_text(st, 9, s->reason);
    db_bind_text(st, 10, method);
    db_bind_int64(st, 11, s->operator_id);
    if ((e = db_begin(d))) {
        db_done(st);
        return e;
    }
    if ((e = db_run(st, NULL)))
        goto fail;
    if (fever) {
        struct alert_new al = {
            .kind = ALERT_FEVER,
            .level = ALERT_CRITICAL,
            .region_code = region,
            .venue_id = s->venue_id,
            .message = arena_printf(a, "访客%s在%s测得体温%.1f℃，已禁止通行",
                                    mask_name(a, s->v.name), where, s->temperature),
            .detail = arena_printf(a, "{\"temperature\":%.1f,\"visitor_id\":\"%lld\"}",
                                   s->temperature, (long long)s->v.id),
            .at = now,
        };
        if ((e = alert_raise(d, &al, NULL)))
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return e;
}

err visitor_scan(db *d, arena *a, const struct scope *sc, struct visitor_scan *s)
{
    struct venue venue;
    int64_t now = now_ms();
    err e = venue_find(d, a, sc, s->venue_id, &venue);
    if (e)
        return err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在或不在您的管辖范围内");
    if (!venue.enabled)
        return err_set(E_CONFLICT, "venue_disabled", "venue_id", "该点位已停用");
    if ((e = admit(d, a, s, now)))
        return e;
    int64_t area = visitor_area(venue.region_code);
    if (s->v.enterprise_id ||
        (!regcode_within(s->v.region_code, area) && !regcode_within(area, s->v.region_code)))
        return err_set(E_CONFLICT, "visitor_wrong_area", "venue_id",
                       s->v.enterprise_id ? "该访客预约的是企业来访，请在企业门岗核验"
                                          : "该访客预约的不是本点位所在社区");
    s->venue_name = venue.name;
    return pass(d, a, s, venue.region_code, venue.fever_threshold, "staff_scan", venue.name, now);
}

err visitor_gate(db *d, arena *a, int64_t enterprise_id, int64_t region, struct visitor_scan *s)
{
    int64_t now = now_ms();
    err e = admit(d, a, s, now);
    if (e)
        return e;
    if (!enterprise_id || s->v.enterprise_id != enterprise_id)
        return err_set(E_CONFLICT, "visitor_wrong_area", "token", "该访客预约的不是本企业");
    s->venue_id = 0;
    s->venue_name = "企业门岗";
    return pass(d, a, s, region, VISITOR_GATE_FEVER, "enterprise_gate", "企业门岗", now);
}

err visitor_plate_admitted(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t region, int64_t at,
                           int64_t *visitor_id_r)
{
    return visitor_plate_find(d, plate_bidx, visitor_area(region), at, visitor_id_r);
}

err visitor_plate_find(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t area, int64_t at,
                       int64_t *visitor_id_r)
{
    *visitor_id_r = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM visitors WHERE plate_bidx = ? AND status = 'confirmed' AND "
                       "enterprise_id = 0 AND "
                       "valid_from <= ? AND valid_to >= ? AND region_code >= ? AND "
                       "region_code < ? ORDER BY id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_blob(s, 1, plate_bidx, BLIND_LEN);
    db_bind_int64(s, 2, at);
    db_bind_int64(s, 3, at);
    db_bind_int64(s, 4, area);
    db_bind_int64(s, 5, regcode_end(area));
    bool found;
    if (!(e = db_row(s, &found)) && found)
        *visitor_id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err visitor_plaintext_seal(db *d, int64_t *n_r)
{
    *n_r = 0;
    for (;;) {
        /* its own, one per batch: a start-up step with no request, whose
         * memory must not grow with the table */
        arena *a = arena_new(0);
        if (!a)
            return err_set(E_NOMEM, NULL, NULL, NULL);
        int64_t ids[200];
        const char *plates[200];
        size_t n = 0;
        db_stmt *s;
        err e = db_begin(d);
        if (e) {
            arena_free(&a);
            return e;
        }
        if (!(e = db_prepare(d, "SELECT id, plate FROM visitors WHERE plate <> '' LIMIT 200",
                             &s))) {
            bool more;
            while (n < 200 && !(e = db_row(s, &more)) && more) {
                ids[n] = db_col_int64(s, 0);
                plates[n++] = arena_strdup(a, db_col_text(s, 1));
            }
            db_done(s);
        }
        for (size_t i = 0; !e && i < n; i++) {
            uint8_t *ct, bidx[BLIND_LEN];
            size_t ctn;
            if ((e = seal(a, L_PLATE, plates[i], strlen(plates[i]), &ct, &ctn)) ||
                (e = db_prepare(d,
                                "UPDATE visitors SET plate_enc = ?, plate_bidx = ?, plate = '' "
                                "WHERE id = ?",
                                &s)))
                break;
            plate_blind(plates[i], bidx);
            db_bind_blob(s, 1, ct, ctn);
            db_bind_blob(s, 2, bidx, BLIND_LEN);
            db_bind_int64(s, 3, ids[i]);
            e = db_run(s, NULL);
        }
        if (!e)
            e = db_commit(d);
        else
            db_rollback(d);
        arena_free(&a);
        if (e)
            return e;
        *n_r += (int64_t)n;
        if (n < 200)
            return E_OK;
    }
}
