/*
 * Transport (转运, nat.h "transport"): boxes of closed tubes packed at a
 * site, sealed, handed to a courier and signed for by the laboratory; the
 * chain of hand-overs; the overdue sweep; an outside system's batch.
 *
 * Every write runs in a transaction of its own (a savepoint inside the
 * caller's), and every change of a box's state is claimed by a conditional
 * UPDATE of the box's row before anything else is written, so a refusal
 * or the loser of a race (a double hand-over from two phones, two
 * servers sweeping) writes nothing. The tubes follow their box in the same
 * transaction, only those still in the box's previous state (the
 * laboratory may have resulted some already).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "nat/internal.h"

static const struct vocab_word box_states[] = {
    [NAT_BOX_PACKED] = {"packed", "已装箱"},
    [NAT_BOX_IN_TRANSIT] = {"in_transit", "转运中"},
    [NAT_BOX_RECEIVED] = {"received", "已签收"},
};
const struct vocab nat_box_state_vocab = VOCAB("nat_box_states", "转运箱状态", box_states);
_Static_assert(sizeof box_states / sizeof box_states[0] == NAT_BOX_STATE__COUNT, "every state");

#define MINUTE_MS 60000LL
#define SKEW_MS   (5 * MINUTE_MS) /* a hand-over's time may run ahead of ours by this */

static int transit_limit = NAT_TRANSIT_LIMIT_DEFAULT;

void nat_set_transit_limit(int minutes)
{
    transit_limit = minutes > 0 ? minutes : NAT_TRANSIT_LIMIT_DEFAULT;
}

int nat_transit_limit(void)
{
    return transit_limit;
}

bool nat_box_overdue(enum nat_box_state state, int64_t transit_at, int64_t now, int limit_min)
{
    return state == NAT_BOX_IN_TRANSIT && now - transit_at > (int64_t)limit_min * MINUTE_MS;
}

static const char *state_name(enum nat_box_state s)
{
    return vocab_name(&nat_box_state_vocab, (size_t)s);
}

/* A user's display name into the arena ("" for none). */
static err user_name(db *d, arena *a, int64_t id, const char **name_r)
{
    *name_r = "";
    if (!id)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d, "SELECT display_name FROM users WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *name_r = arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    return e;
}

/* ---- reading ------------------------------------------------------------------------------ */

#define BOX_COLS                                                                                   \
    "SELECT b.id, b.barcode, b.site_id, s.name, b.region_code, r.name, b.state, b.tubes, "         \
    "pu.display_name, b.packed_at, su.display_name, b.sealed_at, b.holder_id, b.holder_name, "     \
    "b.transit_at, b.received_at, b.overdue_at FROM nat_boxes b JOIN nat_sites s ON s.id = "       \
    "b.site_id LEFT JOIN regions r ON r.code = b.region_code LEFT JOIN users pu ON pu.id = "       \
    "b.packed_by LEFT JOIN users su ON su.id = b.sealed_by"

static void box_read(db_stmt *s, arena *a, struct nat_box *b)
{
    *b = (struct nat_box){
        .id = db_col_int64(s, 0),
        .barcode = arena_strdup(a, db_col_text(s, 1)),
        .site_id = db_col_int64(s, 2),
        .site_name = arena_strdup(a, db_col_text(s, 3)),
        .region_code = db_col_int64(s, 4),
        .region_name = arena_strdup(a, db_col_text(s, 5)),
        .state = (enum nat_box_state)vocab_parse(&nat_box_state_vocab, db_col_text(s, 6)),
        .tubes = db_col_int64(s, 7),
        .packed_by_name = arena_strdup(a, db_col_text(s, 8)),
        .packed_at = db_col_int64(s, 9),
        .sealed_by_name = arena_strdup(a, db_col_text(s, 10)),
        .sealed_at = db_col_int64(s, 11),
        .holder_id = db_col_int64(s, 12),
        .holder_name = arena_strdup(a, db_col_text(s, 13)),
        .transit_at = db_col_int64(s, 14),
        .received_at = db_col_int64(s, 15),
        .overdue_at = db_col_int64(s, 16),
    };
    b->overdue = nat_box_overdue(b->state, b->transit_at, now_ms(), transit_limit);
}

/* The box of `barcode` (scope may be NULL: any). */
static err box_get(db *d, arena *a, const struct scope *scope, const char *barcode,
                   struct nat_box *b_r)
{
    if (!nat_barcode_valid(barcode))
        return err_set(E_NOT_FOUND, "unknown_box", "barcode", "转运箱不存在");
    struct scope all = scope_all();
    if (!scope)
        scope = &all;
    db_stmt *s;
    err e = db_prepare(
        d, BOX_COLS " WHERE b.barcode = ? AND b.region_code >= ? AND b.region_code < ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, barcode);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        box_read(s, a, b_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "unknown_box", "barcode", "转运箱不存在");
    return e;
}

static err box_read_any(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    box_read(s, a, item);
    return E_OK;
}

err nat_box_find(db *d, arena *a, const struct scope *scope, const char *barcode,
                 struct nat_box *b_r)
{
    return box_get(d, a, scope, barcode, b_r);
}

err nat_box_chain(db *d, arena *a, int64_t box_id, struct nat_handover **items_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, state, from_id, from_name, to_id, to_name, at, lng, lat, "
                       "source FROM nat_handovers WHERE box_id = ? ORDER BY at, id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, box_id);
    /* a box has at most one hand-over per state (nat_handovers_once) */
    struct nat_handover *items = arena_alloc(a, NAT_BOX_STATE__COUNT * sizeof *items);
    size_t n = 0;
    bool row;
    while (n < NAT_BOX_STATE__COUNT && !(e = db_row(s, &row)) && row)
        items[n++] = (struct nat_handover){
            .id = db_col_int64(s, 0),
            .state = (enum nat_box_state)vocab_parse(&nat_box_state_vocab, db_col_text(s, 1)),
            .from_id = db_col_int64(s, 2),
            .from_name = arena_strdup(a, db_col_text(s, 3)),
            .to_id = db_col_int64(s, 4),
            .to_name = arena_strdup(a, db_col_text(s, 5)),
            .at = db_col_int64(s, 6),
            .lng = db_col_null(s, 7) ? NAN : db_col_double(s, 7),
            .lat = db_col_null(s, 8) ? NAN : db_col_double(s, 8),
            .batch = !strcmp(db_col_text(s, 9), "batch"),
        };
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err nat_box_list(db *d, arena *a, const struct scope *scope, const struct nat_box_filter *f,
                 struct nat_box **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE b.region_code >= ? AND b.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND b.region_code >= ? AND b.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->site_id) {
        query_sql(w, " AND b.site_id = ?");
        query_int(w, f->site_id);
    }
    if (f->state) {
        query_sql(w, " AND b.state = ?");
        query_text(w, state_name(f->state));
    }
    if (f->overdue) { /* the rule of nat_box_overdue, as SQL */
        query_sql(w, " AND b.state = 'in_transit' AND b.transit_at < ?");
        query_int(w, now_ms() - (int64_t)transit_limit * MINUTE_MS);
    }
    if (f->from) {
        query_sql(w, " AND b.packed_at >= ?");
        query_int(w, f->from);
    }
    if (f->to) {
        query_sql(w, " AND b.packed_at < ?");
        query_int(w, f->to);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_boxes b",
                                            .select = BOX_COLS,
                                            .order = " ORDER BY b.packed_at DESC, b.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_box),
                                            .read = box_read_any},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

static json_t *time_or_null(int64_t t)
{
    return t ? json_integer(t) : json_null();
}

json_t *nat_box_json(const struct nat_box *b)
{
    json_t *o = json_object();
    json_set_id(o, "id", b->id);
    json_object_set_new(o, "barcode", json_string(b->barcode));
    json_set_id(o, "site_id", b->site_id);
    json_object_set_new(o, "site_name", json_string(b->site_name));
    json_set_region(o, b->region_code, b->region_name);
    json_object_set_new(o, "state", json_string(state_name(b->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_box_state_vocab, (size_t)b->state)));
    json_object_set_new(o, "tubes", json_integer(b->tubes));
    json_object_set_new(o, "packed_by_name", json_string(b->packed_by_name));
    json_object_set_new(o, "packed_at", json_integer(b->packed_at));
    json_object_set_new(o, "sealed", json_boolean(b->sealed_at != 0));
    json_object_set_new(o, "sealed_by_name",
                        b->sealed_at ? json_string(b->sealed_by_name) : json_null());
    json_object_set_new(o, "sealed_at", time_or_null(b->sealed_at));
    json_object_set_new(o, "holder_name",
                        *b->holder_name ? json_string(b->holder_name) : json_null());
    json_object_set_new(o, "transit_at", time_or_null(b->transit_at));
    json_object_set_new(o, "received_at", time_or_null(b->received_at));
    json_object_set_new(o, "overdue", json_boolean(b->overdue));
    json_object_set_new(o, "overdue_alerted", json_boolean(b->overdue_at != 0));
    return o;
}

json_t *nat_handover_json(const struct nat_handover *h)
{
    json_t *o = json_object();
    json_set_id(o, "id", h->id);
    json_object_set_new(o, "state", json_string(state_name(h->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_box_state_vocab, (size_t)h->state)));
    json_object_set_new(o, "from_name", json_string(h->from_name));
    json_object_set_new(o, "to_name", json_string(h->to_name));
    json_object_set_new(o, "at", json_integer(h->at));
    json_object_set_new(o, "lng", isnan(h->lng) ? json_null() : json_real(h->lng));
    json_object_set_new(o, "lat", isnan(h->lat) ? json_null() : json_real(h->lat));
    json_object_set_new(o, "source", json_string(h->batch ? "batch" : "scan"));
    return o;
}

/* ---- the live push ------------------------------------------------------------------------ */

err nat_box_push(db *d, arena *a, int64_t id, const char *change)
{
    db_stmt *s;
    err e = db_prepare(d, BOX_COLS " WHERE b.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    struct nat_box b;
    if (!(e = db_row(s, &row)) && row)
        box_read(s, a, &b);
    db_done(s);
    if (e || !row)
        return e;
    json_t *o = nat_box_json(&b);
    json_object_set_new(o, "change", json_string(change));
    return nat_publish(d, b.region_code, "nat.box", o);
}

/* ---- packing ------------------------------------------------------------------------------ */

/* The site of the user's open clock-in. */
static err clocked_site(db *d, int64_t user, int64_t *site_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT site_id FROM nat_clockins WHERE user_id = ? AND out_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *site_r = db_col_int64(s, 0);
    db_done(s);
    if (!e && !row)
        e = err_set(E_CONFLICT, "not_clocked_in", "site_id",
                    "您当前没有在点位打卡上岗，请选择装箱点位");
    return e;
}

err nat_box_create(db *d, arena *a, const struct scope *scope, const char *barcode, int64_t site_id,
                   int64_t user_id, int64_t *id_r)
{
    if (!nat_barcode_valid(barcode))
        return err_set(E_INPUT, "invalid_barcode", "barcode",
                       "转运箱条码应为6到32位数字、字母或连字符");
    err e = site_id ? E_OK : clocked_site(d, user_id, &site_id);
    if (e)
        return e;
    struct nat_site site;
    if ((e = nat_site_find(d, a, scope, site_id, &site)) == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_site", "site_id", "核酸点位不存在");
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT COUNT(*) FROM nat_tubes WHERE barcode = ?", &s)))
        return e;
    db_bind_text(s, 1, barcode);
    bool row;
    int64_t tubes = 0;
    if (!(e = db_row(s, &row)) && row)
        tubes = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (tubes)
        return err_set(E_CONFLICT, "tube_used", "barcode", "该条码是试管条码，不能用作转运箱");
    if ((e = db_begin(d)))
        return e;
    int64_t id = id_new();
    if (!(e = db_prepare(d,
                         "INSERT INTO nat_boxes (id, barcode, site_id, region_code, packed_by, "
                         "packed_at) VALUES (?, ?, ?, ?, ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, barcode);
        db_bind_int64(s, 3, site.id);
        db_bind_int64(s, 4, site.region_code);
        db_bind_int64(s, 5, user_id);
        db_bind_int64(s, 6, now_ms());
        if ((e = db_run(s, NULL)) == E_CONFLICT) /* unique for ever */
            e = err_set(E_CONFLICT, "box_used", "barcode", "该转运箱条码已被使用");
    }
    if (!e)
        e = nat_box_push(d, a, id, "create");
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    if (id_r)
        *id_r = id;
    return E_OK;
}

/* The tube as packing needs it. */
struct tube_brief {
    int64_t id, site_id, box_id;
    enum nat_tube_state state;
};

static err tube_brief(db *d, const char *barcode, struct tube_brief *t)
{
    if (!nat_barcode_valid(barcode))
        return err_set(E_NOT_FOUND, "unknown_tube", "tube", "试管不存在");
    db_stmt *s;
    err e = db_prepare(d, "SELECT id, site_id, box_id, state FROM nat_tubes WHERE barcode = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, barcode);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *t = (struct tube_brief){
            .id = db_col_int64(s, 0),
            .site_id = db_col_int64(s, 1),
            .box_id = db_col_int64(s, 2),
            .state = (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, db_col_text(s, 3)),
        };
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "unknown_tube", "tube", "试管不存在");
    return e;
}

err nat_box_pack(db *d, arena *a, const struct scope *scope, const char *box, const char *tube)
{
    struct nat_box b;
    struct tube_brief t = {0};
    err e = box_get(d, a, scope, box, &b);
    if (!e)
        e = tube_brief(d, tube, &t);
    if (e)
        return e;
    if (b.sealed_at || b.state != NAT_BOX_PACKED)
        return err_set(E_CONFLICT, "box_sealed", "tube", "转运箱已封箱，不能再装入试管");
    if (t.box_id)
        return err_set(E_CONFLICT, "tube_packed", "tube",
                       t.box_id == b.id ? "该试管已在本转运箱中" : "该试管已装入其他转运箱");
    if (t.site_id != b.site_id)
        return err_set(E_CONFLICT, "tube_other_site", "tube", "该试管不是本点位（%.60s）的试管",
                       b.site_name);
    if (t.state == NAT_TUBE_OPEN)
        return err_set(E_CONFLICT, "tube_open", "tube", "该试管尚未封管，请先封管再装箱");
    if (t.state != NAT_TUBE_CLOSED)
        return err_set(E_CONFLICT, "tube_packed", "tube", "该试管已送检，不能装箱");
    if ((e = db_begin(d)))
        return e;
    int64_t changed = 0;
    /* the box first: sealed by another phone in between loses here */
    e = nat_run_ints(
        d,
        "UPDATE nat_boxes SET tubes = tubes + 1, version = version + 1 WHERE id = ? AND "
        "sealed_at = 0 AND state = 'packed'",
        &b.id, 1, &changed);
    if (!e && !changed)
        e = err_set(E_CONFLICT, "box_sealed", "tube", "转运箱已封箱，不能再装入试管");
    if (!e)
        e = nat_run_ints(
            d,
            "UPDATE nat_tubes SET state = 'packed', box_id = ? WHERE id = ? AND state = "
            "'closed' AND box_id = 0",
            (int64_t[]){b.id, t.id}, 2, &changed);
    if (!e && !changed)
        e = err_set(E_CONFLICT, "tube_packed", "tube", "该试管已装入其他转运箱");
    if (!e)
        e = nat_box_push(d, a, b.id, "pack");
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err nat_box_seal(db *d, arena *a, const struct scope *scope, const char *box, int64_t user_id)
{
    struct nat_box b;
    const char *name;
    err e = box_get(d, a, scope, box, &b);
    if (!e)
        e = user_name(d, a, user_id, &name);
    if (e)
        return e;
    if (b.sealed_at)
        return err_set(E_CONFLICT, "box_sealed", "barcode", "转运箱已封箱");
    if (!b.tubes)
        return err_set(E_CONFLICT, "box_empty", "barcode", "转运箱中还没有试管，不能封箱");
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    int64_t changed = 0;
    if (!(e = db_prepare(d,
                         "UPDATE nat_boxes SET sealed_at = ?, sealed_by = ?, holder_id = ?, "
                         "holder_name = ?, version = version + 1 WHERE id = ? AND sealed_at = 0",
                         &s))) {
        db_bind_int64(s, 1, now_ms());
        db_bind_int64(s, 2, user_id);
        db_bind_int64(s, 3, user_id);
        db_bind_text(s, 4, name);
        db_bind_int64(s, 5, b.id);
        e = db_run(s, &changed);
    }
    if (!e && !changed)
        e = err_set(E_CONFLICT, "box_sealed", "barcode", "转运箱已封箱");
    if (!e)
        e = nat_box_push(d, a, b.id, "seal");
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* ---- hand-overs --------------------------------------------------------------------------- */

err nat_box_admit(const struct nat_box *b, enum nat_box_state to)
{
    if (b->state == NAT_BOX_RECEIVED)
        return err_set(E_CONFLICT, "box_received", "barcode", "转运箱已由检测机构签收");
    if (to == NAT_BOX_IN_TRANSIT) {
        if (b->state == NAT_BOX_IN_TRANSIT)
            return err_set(E_CONFLICT, "box_in_transit", "barcode",
                           "转运箱已交接给转运人员（%.30s），不能重复交接", b->holder_name);
        if (!b->sealed_at)
            return err_set(E_CONFLICT, "box_not_sealed", "barcode", "转运箱尚未封箱，不能交接");
        return E_OK;
    }
    if (b->state != NAT_BOX_IN_TRANSIT)
        return err_set(E_CONFLICT, "box_not_in_transit", "barcode",
                       "转运箱尚未交给转运人员，不能签收");
    return E_OK;
}

err nat_box_handover(db *d, arena *a, const struct scope *scope, const char *box,
                     const struct nat_handover_input *in, int64_t *id_r)
{
    struct nat_box b;
    err e = box_get(d, a, scope, box, &b);
    if (!e)
        e = nat_box_admit(&b, in->to_state);
    if (e)
        return e;
    int64_t now = now_ms(), at = in->at ? in->at : now;
    int64_t since = in->to_state == NAT_BOX_IN_TRANSIT ? b.sealed_at : b.transit_at;
    if (at < since || at > now + SKEW_MS)
        return err_set(E_INPUT, "invalid_time", "at", "交接时间应在上一环节之后且不晚于当前时间");
    const char *to_name = in->to_name, *from_name = in->from_name;
    if (in->to_id && (e = user_name(d, a, in->to_id, &to_name)))
        return e;
    int64_t from_id = in->from_name ? in->from_id : b.holder_id;
    if (!from_name)
        from_name = b.holder_name;
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    int64_t changed = 0, hid = id_new();
    bool transit = in->to_state == NAT_BOX_IN_TRANSIT;
    /* the claim: of two hand-overs of one box, one changes the row */
    if (!(e = db_prepare(d,
                         transit ? "UPDATE nat_boxes SET state = 'in_transit', holder_id = ?, "
                                   "holder_name = ?, transit_at = ?, version = version + 1 WHERE "
                                   "id = ? AND state = 'packed' AND sealed_at > 0"
                                 : "UPDATE nat_boxes SET state = 'received', holder_id = ?, "
                                   "holder_name = ?, received_at = ?, version = version + 1 WHERE "
                                   "id = ? AND state = 'in_transit'",
                         &s))) {
        db_bind_int64(s, 1, in->to_id);
        db_bind_text(s, 2, to_name);
        db_bind_int64(s, 3, at);
        db_bind_int64(s, 4, b.id);
        e = db_run(s, &changed);
    }
    if (!e && !changed)
        e = err_set(E_CONFLICT, transit ? "box_in_transit" : "box_received", "barcode",
                    "转运箱已被其他人员交接，请刷新");
    if (!e && !(e = db_prepare(d,
                               "INSERT INTO nat_handovers (id, box_id, region_code, state, "
                               "from_id, from_name, to_id, to_name, at, lng, lat, source, "
                               "recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               &s))) {
        db_bind_int64(s, 1, hid);
        db_bind_int64(s, 2, b.id);
        db_bind_int64(s, 3, b.region_code);
        db_bind_text(s, 4, state_name(in->to_state));
        db_bind_int64(s, 5, from_id);
        db_bind_text(s, 6, from_name);
        db_bind_int64(s, 7, in->to_id);
        db_bind_text(s, 8, to_name);
        db_bind_int64(s, 9, at);
        if (isnan(in->lng) || isnan(in->lat)) {
            db_bind_null(s, 10);
            db_bind_null(s, 11);
        } else {
            db_bind_double(s, 10, in->lng);
            db_bind_double(s, 11, in->lat);
        }
        db_bind_text(s, 12, in->batch ? "batch" : "scan");
        db_bind_int64(s, 13, in->recorded_by);
        e = db_run(s, NULL);
    }
    /* the tubes still where the box was (the laboratory may have resulted some) */
    if (!e &&
        !(e = db_prepare(d, "UPDATE nat_tubes SET state = ? WHERE box_id = ? AND state = ?", &s))) {
        db_bind_text(
            s, 1,
            vocab_name(&nat_tube_state_vocab, transit ? NAT_TUBE_IN_TRANSIT : NAT_TUBE_RECEIVED));
        db_bind_int64(s, 2, b.id);
        db_bind_text(
            s, 3,
            vocab_name(&nat_tube_state_vocab, transit ? NAT_TUBE_PACKED : NAT_TUBE_IN_TRANSIT));
        e = db_run(s, NULL);
    }
    if (!e)
        e = nat_box_push(d, a, b.id, state_name(in->to_state));
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    if (id_r)
        *id_r = hid;
    return E_OK;
}

/* ---- an outside system's batch ------------------------------------------------------------ */

static void batch_error(struct nat_batch_result *r, err e, const struct nat_transport_record *x)
{
    const struct err_detail *ed = err_last();
    /* the box is the record's "box"; other fields keep their names */
    json_batch_error(r->errors, e, x->index, x->record_id,
                     !*ed->field || !strcmp(ed->field, "barcode") ? "box" : NULL);
}

err nat_transport_batch(db *d, arena *a, const struct scope *scope, int64_t client_id,
                        const struct nat_transport_record *recs, size_t n,
                        struct nat_batch_result *r)
{
    db_stmt *s;
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        const struct nat_transport_record *x = &recs[i];
        bool seen;
        if ((e = db_prepare(d,
                            "SELECT 1 FROM nat_transport_records WHERE client_id = ? AND "
                            "record_id = ?",
                            &s)))
            break;
        db_bind_int64(s, 1, client_id);
        db_bind_text(s, 2, x->record_id);
        e = db_row(s, &seen);
        db_done(s);
        if (e)
            break;
        if (seen) { /* applied before: changes nothing */
            r->repeated++;
            continue;
        }
        struct nat_handover_input in = {
            .to_state = x->to_state,
            .from_name = x->from_name,
            .to_name = x->to_name,
            .at = x->at,
            .lng = x->lng,
            .lat = x->lat,
            .recorded_by = client_id,
            .batch = true,
        };
        int64_t hid = 0;
        if ((e = db_begin(d))) /* a savepoint: a refused record leaves nothing */
            break;
        e = nat_box_handover(d, a, scope, x->box, &in, &hid);
        if (!e && !(e = db_prepare(d,
                                   "INSERT INTO nat_transport_records (client_id, record_id, "
                                   "handover_id, at) VALUES (?, ?, ?, ?)",
                                   &s))) {
            db_bind_int64(s, 1, client_id);
            db_bind_text(s, 2, x->record_id);
            db_bind_int64(s, 3, hid);
            db_bind_int64(s, 4, now_ms());
            e = db_run(s, NULL);
        }
        if (e == E_CONFLICT || e == E_NOT_FOUND || e == E_INPUT) {
            batch_error(r, e, x);
            db_rollback(d);
            e = E_OK;
            continue;
        }
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        r->applied++;
    }
    return e;
}

/* ---- the overdue sweep -------------------------------------------------------------------- */

err nat_sweep_transit(db *d, int64_t now, int64_t *n_r)
{
    int64_t limit_ms = (int64_t)transit_limit * MINUTE_MS;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM nat_boxes WHERE state = 'in_transit' AND overdue_at = 0 "
                       "AND transit_at < ? ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now - limit_ms);
    size_t n = 0, cap = 0;
    int64_t *ids = NULL;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(&ids, &cap, n, 1, 64)) {
            e = err_set(E_NOMEM, NULL, NULL, NULL);
            break;
        }
        ids[n++] = db_col_int64(s, 0);
    }
    db_done(s);
    int64_t raised = 0;
    arena *a = NULL;
    if (!e && !(a = arena_new(8192))) /* the sweep's thread has no request arena */
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    for (size_t i = 0; !e && i < n; i++) {
        if ((e = db_begin(d)))
            break;
        int64_t changed = 0;
        /* the claim: of several servers sweeping, one raises */
        e = nat_run_ints(d,
                         "UPDATE nat_boxes SET overdue_at = ? WHERE id = ? AND overdue_at = 0 AND "
                         "state = 'in_transit' AND transit_at < ?",
                         (int64_t[]){now, ids[i], now - limit_ms}, 3, &changed);
        struct nat_box b;
        bool found = false;
        if (!e && changed && !(e = db_prepare(d, BOX_COLS " WHERE b.id = ?", &s))) {
            db_bind_int64(s, 1, ids[i]);
            if (!(e = db_row(s, &found)) && found)
                box_read(s, a, &b);
            db_done(s);
        }
        if (!e && found) {
            char msg[400], detail[64];
            snprintf(msg, sizeof msg, "转运箱%s（%.60s）转运超过%d分钟未签收", b.barcode,
                     b.site_name, transit_limit);
            snprintf(detail, sizeof detail, "{\"nat_box_id\":\"%lld\"}", (long long)b.id);
            struct alert_new al = {
                .kind = ALERT_NAT_TRANSIT_OVERDUE,
                .level = ALERT_WARNING,
                .region_code = b.region_code,
                .message = msg,
                .detail = detail,
                .at = now,
            };
            if (!(e = alert_raise(d, &al, NULL)))
                e = nat_box_push(d, a, b.id, "overdue");
        }
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        raised += found;
    }
    arena_free(&a);
    free(ids);
    if (n_r)
        *n_r = raised;
    return e;
}
