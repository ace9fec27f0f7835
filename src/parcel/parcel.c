/*
 * Parcels and take-away notices (parcel.h has the contract). The phone's
 * blind index is the users' one, so a resident's parcels are one probe of
 * parcels_phone with their account's users.phone_bidx.
 */
#include <string.h>

#include "base/id.h"
#include "db/query.h"
#include "parcel/parcel.h"
#include "region/region.h"
#include "security/crypto.h"

static const struct vocab_word kind_words[] = {{"", ""}, {"parcel", "快递"}, {"takeaway", "外卖"}};
const struct vocab parcel_kind_vocab = VOCAB("parcel_kind", "快递外卖类型", kind_words);

static const struct vocab_word status_words[] = {{"", ""}, {"waiting", "待取"}, {"picked", "已取"}};
const struct vocab parcel_status_vocab = VOCAB("parcel_status", "取件状态", status_words);

err parcel_record(db *d, arena *a, const struct scope *sc, int64_t by, struct parcel *p)
{
    struct region reg;
    if (!scope_has(sc, p->region_code) || region_find(d, sc, p->region_code, false, a, &reg))
        return err_set(E_INPUT, "invalid_region", "region_code", "楼栋不存在或不在服务范围内");
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", p->phone, bidx);
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO parcels (id, region_code, kind, carrier, locker, code_enc, "
                       "phone_enc, phone_bidx, status, recorded_by, created_at) VALUES (?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    p->id = id_new();
    p->created_at = now_ms();
    p->status = PARCEL_WAITING;
    p->recorded_by = by;
    db_bind_int64(s, 1, p->id);
    db_bind_int64(s, 2, p->region_code);
    db_bind_text(s, 3, vocab_name(&parcel_kind_vocab, p->kind));
    db_bind_text(s, 4, p->carrier ? p->carrier : "");
    db_bind_text(s, 5, p->locker ? p->locker : "");
    if ((e = seal_bind(a, s, 6, "parcels.code", p->code)) ||
        (e = seal_bind(a, s, 7, "parcels.phone", p->phone))) {
        db_done(s);
        return e;
    }
    db_bind_blob(s, 8, bidx, BLIND_LEN);
    db_bind_text(s, 9, vocab_name(&parcel_status_vocab, PARCEL_WAITING));
    db_bind_int64(s, 10, by);
    db_bind_int64(s, 11, p->created_at);
    return db_run(s, NULL);
}

#define PARCEL_COLS                                                                                \
    "p.id, p.region_code, COALESCE(r.name, ''), p.kind, p.carrier, p.locker, p.code_enc, "         \
    "p.phone_enc, p.status, p.recorded_by, p.created_at, p.picked_at"

static err parcel_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct parcel *p = item;
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(s, 0);
    p->region_code = db_col_int64(s, 1);
    p->region_name = arena_strdup(a, db_col_text(s, 2));
    int k = vocab_parse(&parcel_kind_vocab, db_col_text(s, 3));
    p->kind = k > 0 ? (enum parcel_kind)k : PARCEL_PARCEL;
    p->carrier = arena_strdup(a, db_col_text(s, 4));
    p->locker = arena_strdup(a, db_col_text(s, 5));
    err e = unseal_col(a, s, 6, "parcels.code", &p->code);
    if (e || (e = unseal_col(a, s, 7, "parcels.phone", &p->phone)))
        return e;
    int st = vocab_parse(&parcel_status_vocab, db_col_text(s, 8));
    p->status = st > 0 ? (enum parcel_status)st : PARCEL_WAITING;
    p->recorded_by = db_col_int64(s, 9);
    p->created_at = db_col_int64(s, 10);
    p->picked_at = db_col_int64(s, 11);
    return E_OK;
}

/* FROM and the viewer's condition; the resident's by their account's index. */
static void viewer_from(struct query *q, const struct parcel_viewer *v)
{
    if (v->resident_user_id) {
        query_sql(q, " FROM parcels p JOIN users u ON u.phone_bidx = p.phone_bidx LEFT JOIN "
                     "regions r ON r.code = p.region_code WHERE u.id = ?");
        query_int(q, v->resident_user_id);
    } else if (v->recorder_id) {
        query_sql(q, " FROM parcels p LEFT JOIN regions r ON r.code = p.region_code WHERE "
                     "p.recorded_by = ?");
        query_int(q, v->recorder_id);
    } else {
        query_sql(q, " FROM parcels p LEFT JOIN regions r ON r.code = p.region_code WHERE "
                     "p.region_code >= ? AND p.region_code < ?");
        query_int(q, v->scope->lo);
        query_int(q, v->scope->hi);
    }
}

err parcel_list(db *d, arena *a, const struct parcel_viewer *v, const struct parcel_filter *f,
                struct parcel **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    viewer_from(w, v);
    if (f->status) {
        query_sql(w, " AND p.status = ?");
        query_text(w, vocab_name(&parcel_status_vocab, f->status));
    }
    if (f->older_than > 0) {
        query_sql(w, " AND p.status = 'waiting' AND p.created_at < ?");
        query_int(w, f->older_than);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " PARCEL_COLS,
                                            .order = " ORDER BY p.created_at DESC, p.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = PARCEL_EXPORT_MAX,
                                            .size = sizeof(struct parcel),
                                            .read = parcel_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

static err parcel_not_found(void)
{
    return err_set(E_NOT_FOUND, "parcel_not_found", NULL, "快递不存在");
}

err parcel_pickup(db *d, arena *a, int64_t user_id, int64_t id, int64_t now, struct parcel *p_r)
{
    struct query q = QUERY_INIT;
    struct parcel_viewer v = {.resident_user_id = user_id};
    query_sql(&q, "SELECT " PARCEL_COLS);
    viewer_from(&q, &v);
    query_sql(&q, " AND p.id = ?");
    query_int(&q, id);
    err e = query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *p_r, .read = parcel_read, .not_found = parcel_not_found},
        p_r);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE parcels SET status = 'picked', picked_at = ? WHERE id = ? AND "
                        "status = 'waiting'",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "parcel_picked", NULL, "该快递已取件");
    p_r->status = PARCEL_PICKED;
    p_r->picked_at = now;
    return E_OK;
}

err parcel_counts(db *d, arena *a, const struct scope *sc, int64_t overdue_before,
                  struct parcel_count **items_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.region_code, COALESCE(MAX(r.name), ''), COUNT(*), SUM(CASE WHEN "
                       "p.created_at < ? THEN 1 ELSE 0 END) FROM parcels p LEFT JOIN regions r ON "
                       "r.code = p.region_code WHERE p.region_code >= ? AND p.region_code < ? AND "
                       "p.status = 'waiting' GROUP BY p.region_code ORDER BY COUNT(*) DESC, "
                       "p.region_code LIMIT 500",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, overdue_before);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    struct parcel_count *out = arena_zalloc(a, 500 * sizeof *out);
    size_t n = 0;
    bool row;
    if (!out) {
        db_done(s);
        return E_NOMEM;
    }
    while (!(e = db_row(s, &row)) && row && n < 500) {
        out[n].region_code = db_col_int64(s, 0);
        out[n].region_name = arena_strdup(a, db_col_text(s, 1));
        out[n].waiting = db_col_int64(s, 2);
        out[n].overdue = db_col_int64(s, 3);
        n++;
    }
    db_done(s);
    if (!e) {
        *items_r = out;
        *n_r = n;
    }
    return e;
}
