/*
 * The rules and the SQL of vehicles: plate validation, registration to
 * households, and plate reads at gates with their passages (vehicle.h).
 */
#include "vehicle/vehicle.h"

#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/regcode.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"
#include "venue/venue.h"

static const struct vocab_word kinds[] = {
    {NULL, NULL}, /* 0: no kind */
    {"car", "小型汽车"}, {"new_energy", "新能源汽车"}, {"truck", "货车"}, {"motorcycle", "摩托车"},
    {"other", "其他"},
};
const struct vocab vehicle_kind_vocab = VOCAB("vehicle_kinds", "车辆类型", kinds);

_Static_assert(sizeof kinds / sizeof kinds[0] == VEHICLE_KIND__COUNT,
               "a word for every vehicle kind");

enum vehicle_kind vehicle_kind_parse(const char *s)
{
    int k = vocab_parse(&vehicle_kind_vocab, s);
    return k > 0 ? (enum vehicle_kind)k : 0;
}

const char *vehicle_kind_name(enum vehicle_kind k)
{
    return vocab_name(&vehicle_kind_vocab, (size_t)k);
}

const char *vehicle_kind_label(enum vehicle_kind k)
{
    return vocab_label(&vehicle_kind_vocab, (size_t)k);
}

/* ---- plates ---------------------------------------------------------------------------- */

/* Province abbreviations of mainland plates (GA 36), 3 UTF-8 bytes each. */
static const char provinces[] = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
/* Characters a 7-character plate may end with instead of a letter or digit. */
static const char specials[] = "挂学警港澳领";

static bool in_set(const char *set, const char *p)
{
    for (const char *s = set; *s; s += 3)
        if (!memcmp(s, p, 3))
            return true;
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Serial letters skip I and O (they read as 1 and 0). */
static bool is_serial(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

err plate_normalise(const char *in, const char *field, char out[PLATE_MAX], bool *nev_r)
{
    char buf[PLATE_MAX];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
        if (*p == ' ' || *p == '-' || *p == '.')
            continue;
        if (p[0] == 0xC2 && p[1] == 0xB7) { /* U+00B7 middle dot */
            p++;
            continue;
        }
        if (n + 1 >= sizeof buf)
            goto bad;
        buf[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    }
    buf[n] = '\0';
    /* province (3 bytes) + authority letter + the rest */
    if (n < 3 + 1 + 5 || !in_set(provinces, buf) || !(buf[3] >= 'A' && buf[3] <= 'Z'))
        goto bad;
    const char *r = buf + 4;
    size_t rn = n - 4;
    bool nev = false;
    if (rn == 5) {
        for (size_t i = 0; i < 5; i++)
            if (!is_serial(r[i]))
                goto bad;
    } else if (rn == 7 && in_set(specials, r + 4)) {
        for (size_t i = 0; i < 4; i++)
            if (!is_serial(r[i]))
                goto bad;
    } else if (rn == 6) {
        nev = true;
        if (r[0] == 'D' || r[0] == 'F') { /* small new-energy: D/F, serial, 4 digits */
            if (!is_serial(r[1]))
                goto bad;
            for (size_t i = 2; i < 6; i++)
                if (!is_digit(r[i]))
                    goto bad;
        } else { /* large new-energy: 5 digits, then D/F */
            for (size_t i = 0; i < 5; i++)
                if (!is_digit(r[i]))
                    goto bad;
            if (r[5] != 'D' && r[5] != 'F')
                goto bad;
        }
    } else {
        goto bad;
    }
    memcpy(out, buf, n + 1);
    if (nev_r)
        *nev_r = nev;
    return E_OK;
bad:
    return err_set(E_INPUT, "invalid_plate", field,
                   "车牌号码格式不正确（例：京A12345，新能源京AD12345）");
}

/* ---- sealed columns ------------------------------------------------------------------- */

/* Seal labels: the column is bound into each ciphertext's tag. */
#define L_PLATE         "vehicles.plate"
#define L_NOTE          "vehicles.note"
#define L_PASSAGE_PLATE "vehicle_passages.plate"

void plate_blind(const char *plate, uint8_t out[BLIND_LEN])
{
    blind_index(PLATE_BLIND_LABEL, plate, out);
}

/* During a key rotation the unique index of live plates sees one key
 * version: a live vehicle (other than self) still indexed under the
 * previous one holds the plate all the same (docs/keys.md). */
static err plate_taken_before(db *d, const char *plate, int64_t self)
{
    uint8_t both[BLIND_MAX][BLIND_LEN];
    if (!blind_rotating() || blind_search(PLATE_BLIND_LABEL, plate, both) < 2)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT id FROM vehicles WHERE plate_bidx = ? AND deleted_at = 0 AND id <> ?", &s);
    if (e)
        return e;
    db_bind_blob(s, 1, both[1], BLIND_LEN);
    db_bind_int64(s, 2, self);
    bool found = false;
    e = db_row(s, &found);
    db_done(s);
    if (!e && found)
        e = err_set(E_CONFLICT, "duplicate_plate", "plate", "该车牌已登记");
    return e;
}

/* The text sealed in column i (label), "" for NULL; E_CRYPTO when it was
 * altered or moved from another column. */
static err open_sealed(arena *a, db_stmt *s, int i, const char *label, const char **out)
{
    size_t n;
    const void *ct = db_col_blob(s, i, &n);
    if (!ct || !n) {
        *out = "";
        return E_OK;
    }
    char *plain;
    err e = unseal(a, label, ct, n, &plain, NULL);
    if (!e)
        *out = plain;
    return e;
}

/* ---- registration --------------------------------------------------------------------- */

/* The plate normalised into `plate` and consistent with the kind. */
static err check_plate_kind(const char *in, enum vehicle_kind kind, char plate[PLATE_MAX])
{
    bool nev;
    err e = plate_normalise(in, "plate", plate, &nev);
    if (e)
        return e;
    if (!kind)
        return err_set(E_INPUT, "invalid_kind", "kind", "车辆类型不正确");
    if (nev != (kind == VEHICLE_NEW_ENERGY))
        return err_set(E_INPUT, "invalid_kind", "kind",
                       nev ? "8位车牌是新能源车牌，车辆类型应为新能源汽车"
                           : "新能源汽车的车牌应为8位");
    return E_OK;
}

/* The residence of a live owner inside sc into *region_r. */
static err owner_region(db *d, const struct scope *sc, int64_t owner, int64_t *region_r)
{
    err e = person_region(d, sc, owner, region_r);
    if (e == E_NOT_FOUND)
        e = err_set(E_NOT_FOUND, "unknown_owner", "owner_person_id",
                    "车主不存在或不在您的管辖范围内");
    return e;
}

err vehicle_register(db *d, arena *a, const struct scope *sc, int64_t user_id, struct vehicle *v)
{
    char plate[PLATE_MAX];
    int64_t region;
    err e = check_plate_kind(v->plate, v->kind, plate);
    if (e || (e = owner_region(d, sc, v->owner_person_id, &region)))
        return e;
    if ((e = plate_taken_before(d, plate, 0)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO vehicles (id, region_code, plate, plate_enc, plate_bidx, "
                        "kind, owner_person_id, household_no, note, note_enc, created_by, "
                        "created_at, updated_at) VALUES (?, ?, '', ?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t now = now_ms(), id = id_new();
    uint8_t bidx[BLIND_LEN];
    plate_blind(plate, bidx);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, region);
    e = seal_bind(a, s, 3, L_PLATE, plate);
    db_bind_blob(s, 4, bidx, BLIND_LEN);
    db_bind_text(s, 5, vehicle_kind_name(v->kind));
    db_bind_int64(s, 6, v->owner_person_id);
    db_bind_text(s, 7, v->household_no ? v->household_no : "");
    if (!e)
        e = seal_bind(a, s, 8, L_NOTE, v->note);
    db_bind_int64(s, 9, user_id);
    db_bind_int64(s, 10, now);
    db_bind_int64(s, 11, now);
    if (e)
        db_done(s);
    else
        e = db_run(s, NULL);
    if (e == E_CONFLICT)
        return err_set(E_CONFLICT, "duplicate_plate", "plate", "该车牌已登记");
    if (e)
        return e;
    v->id = id;
    v->region_code = region;
    v->created_by = user_id;
    v->created_at = v->updated_at = now;
    return E_OK;
}

#define VCOLS                                                                                      \
    "id, region_code, plate_enc, kind, owner_person_id, household_no, note_enc, created_by, "      \
    "created_at, updated_at"

static err vrow(arena *a, db_stmt *s, struct vehicle *v)
{
    v->id = db_col_int64(s, 0);
    v->region_code = db_col_int64(s, 1);
    v->kind = vehicle_kind_parse(db_col_text(s, 3));
    v->owner_person_id = db_col_int64(s, 4);
    v->household_no = arena_strdup(a, db_col_text(s, 5));
    v->created_by = db_col_int64(s, 7);
    v->created_at = db_col_int64(s, 8);
    v->updated_at = db_col_int64(s, 9);
    v->owner_name = v->region_name = NULL;
    err e = open_sealed(a, s, 2, L_PLATE, &v->plate);
    return e ? e : open_sealed(a, s, 6, L_NOTE, &v->note);
}

err vehicle_find(db *d, arena *a, const struct scope *sc, int64_t id, struct vehicle *v_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " VCOLS " FROM vehicles WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? vrow(a, s, v_r) : err_set(E_NOT_FOUND, "not_found", NULL, "车辆不存在");
    db_done(s);
    return e;
}

err vehicle_list(db *d, arena *a, const struct scope *sc, int64_t owner, const char *plate,
                 int64_t page, int64_t page_size, struct vehicle **items_r, size_t *n_r,
                 int64_t *total_r)
{
    /* the plate is matched by its blind index (the unique index on live
     * plates), never by its text; the queries are large: arena, not stack */
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM vehicles WHERE region_code >= ? AND region_code < ? AND deleted_at = 0");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (owner) {
        query_sql(w, " AND owner_person_id = ?");
        query_int(w, owner);
    }
    if (plate) {
        /* both key versions' digests during a key rotation (docs/keys.md) */
        int nb = blind_search(PLATE_BLIND_LABEL, plate, bidx);
        query_sql(w, " AND plate_bidx");
        query_blobs(w, bidx, BLIND_LEN, nb);
    }
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    err e = query_count(d, q, total_r);
    if (e)
        return e;
    /* the page, then its owners' and regions' names joined to it: one
     * statement, no query per row (x.* keeps VCOLS' order) */
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT x.*, p.name_enc, r.name FROM (SELECT " VCOLS);
    query_append(q, w);
    query_sql(q, " ORDER BY id DESC LIMIT ? OFFSET ?) x LEFT JOIN persons p ON "
                 "p.id = x.owner_person_id LEFT JOIN regions r ON r.code = x.region_code "
                 "ORDER BY x.id DESC");
    query_int(q, page_size);
    query_int(q, paging_offset(page, page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    struct vehicle *items = arena_alloc(a, sizeof *items * (size_t)(page_size > 0 ? page_size : 1));
    size_t n = 0;
    bool row;
    while (n < (size_t)page_size && !(e = db_row(s, &row)) && row) {
        struct vehicle *v = &items[n++];
        if ((e = vrow(a, s, v)) || (e = person_name_masked_col(a, s, 10, &v->owner_name)))
            break;
        v->region_name = arena_strdup(a, db_col_text(s, 11));
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err vehicle_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t owner,
                   const struct vehicle_change *c, struct vehicle *v_r)
{
    if (!c->set)
        return err_set(E_INPUT, "empty_update", NULL, "没有要修改的内容");
    struct vehicle v;
    err e = vehicle_find(d, a, sc, id, &v);
    if (e)
        return e;
    if (owner && v.owner_person_id != owner)
        return err_set(E_NOT_FOUND, "not_found", NULL, "车辆不存在");
    int64_t seen = v.updated_at, region = v.region_code;
    if (c->set & VEH_PLATE)
        v.plate = c->plate;
    if (c->set & VEH_KIND)
        v.kind = c->kind;
    if (c->set & VEH_HOUSEHOLD)
        v.household_no = c->household_no ? c->household_no : "";
    if (c->set & VEH_NOTE)
        v.note = c->note ? c->note : "";
    char plate[PLATE_MAX];
    if ((e = check_plate_kind(v.plate, v.kind, plate)))
        return e;
    v.plate = arena_strdup(a, plate);
    if (c->set & VEH_OWNER && c->owner_person_id != v.owner_person_id) {
        if (c->owner_person_id <= 0)
            return err_set(E_NOT_FOUND, "unknown_owner", "owner_person_id",
                           "车主不存在或不在您的管辖范围内");
        if ((e = owner_region(d, sc, c->owner_person_id, &region)))
            return e;
        v.owner_person_id = c->owner_person_id; /* the vehicle moves with its owner */
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE vehicles SET plate = '', plate_enc = ?, plate_bidx = ?, kind = ?, "
                        "owner_person_id = ?, region_code = ?, household_no = ?, note = '', "
                        "note_enc = ?, updated_at = ? WHERE id = ? AND deleted_at = 0 AND "
                        "updated_at = ? AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    /* a second edit in the same millisecond must still look changed */
    int64_t now = now_ms() > seen ? now_ms() : seen + 1, changed = 0;
    uint8_t bidx[BLIND_LEN];
    plate_blind(v.plate, bidx);
    if ((e = plate_taken_before(d, v.plate, id))) {
        db_done(s);
        return e;
    }
    e = seal_bind(a, s, 1, L_PLATE, v.plate);
    db_bind_blob(s, 2, bidx, BLIND_LEN);
    db_bind_text(s, 3, vehicle_kind_name(v.kind));
    db_bind_int64(s, 4, v.owner_person_id);
    db_bind_int64(s, 5, region);
    db_bind_text(s, 6, v.household_no);
    if (!e)
        e = seal_bind(a, s, 7, L_NOTE, v.note);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, id);
    db_bind_int64(s, 10, seen);
    db_bind_int64(s, 11, sc->lo);
    db_bind_int64(s, 12, sc->hi);
    if (e) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, &changed)) == E_CONFLICT)
        return err_set(E_CONFLICT, "duplicate_plate", "plate", "该车牌已登记");
    if (e)
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    v.region_code = region;
    v.updated_at = now;
    *v_r = v;
    return E_OK;
}

err vehicle_delete(db *d, const struct scope *sc, int64_t id, int64_t owner)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE vehicles SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                       "region_code >= ? AND region_code < ? AND deleted_at = 0 AND "
                       "(CAST(? AS BIGINT) = 0 OR owner_person_id = ?)",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms(), changed = 0;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, sc->lo);
    db_bind_int64(s, 5, sc->hi);
    db_bind_int64(s, 6, owner);
    db_bind_int64(s, 7, owner);
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "车辆不存在");
}

/* ---- gates ------------------------------------------------------------------------------ */

const char *vehicle_reason_label(const char *reason)
{
    static const struct {
        const char *k, *v;
    } labels[] = {{"registered", "本社区登记车辆"},
                  {"visitor", "已审核的访客车辆"},
                  {"exit", "驶出"},
                  {"unregistered", "未登记车辆，禁止驶入"}};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (!strcmp(labels[i].k, reason))
            return labels[i].v;
    return "";
}

/* A registered live vehicle with this plate (blind index, nb digests: two
 * during a key rotation) inside area, or 0: one look-up a digest in the
 * unique index of live plates. */
static err registered_in(db *d, const uint8_t (*bidx)[BLIND_LEN], int nb, int64_t area,
                         int64_t *id_r)
{
    *id_r = 0;
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT id FROM vehicles WHERE plate_bidx");
    query_blobs(&q, bidx, BLIND_LEN, nb);
    query_sql(&q, " AND deleted_at = 0 AND region_code >= ? AND region_code < ? LIMIT 1");
    query_int(&q, area);
    query_int(&q, regcode_end(area));
    return query_count(d, &q, id_r);
}

static vehicle_visitor_fn visitor_plate;

err vehicle_on_visitor_plate(vehicle_visitor_fn fn)
{
    if (fn && visitor_plate && visitor_plate != fn)
        return err_set(E_INTERNAL, NULL, NULL,
                       "vehicle_on_visitor_plate 已有订阅者：每个钩子只能注册一个");
    visitor_plate = fn;
    return E_OK;
}

static vehicle_passage_fn passage_hook;

err vehicle_on_passage(vehicle_passage_fn fn)
{
    if (fn && passage_hook && passage_hook != fn)
        return err_set(E_INTERNAL, NULL, NULL,
                       "vehicle_on_passage 已有订阅者：每个钩子只能注册一个");
    passage_hook = fn;
    return E_OK;
}

err vehicle_read(db *d, arena *a, const struct scope *sc, struct vehicle_passage *p)
{
    int64_t now = now_ms();
    if (!p->at)
        p->at = now;
    if (p->at > now + 300000 || p->at < now - 7 * 86400000LL)
        return err_set(E_INPUT, "invalid_time", "at", "识别时间不正确（不能晚于当前时间）");
    struct venue venue;
    err e = venue_find(d, a, sc, p->venue_id, &venue);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在或不在您的管辖范围内");
    if (e)
        return e;
    if (!venue.enabled)
        return err_set(E_CONFLICT, "venue_disabled", "venue_id", "该点位已停用");
    int64_t region = venue.region_code;
    int64_t area = regcode_at_most(region, LEVEL_COMMUNITY); /* vehicles belong to a community */
    p->region_code = region;
    p->vehicle_id = p->visitor_id = 0;
    /* computed once: vehicles, visitors and the passage share it; during a
     * key rotation the previous version's digest too (docs/keys.md) */
    uint8_t both[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(PLATE_BLIND_LABEL, p->plate, both);
    const uint8_t *bidx = both[0];
    if (!strcmp(p->direction, "out")) {
        p->verdict = VEHICLE_ALLOW;
        p->reason = "exit";
        e = registered_in(d, both, nb, area, &p->vehicle_id);
    } else if ((e = registered_in(d, both, nb, area, &p->vehicle_id)) || p->vehicle_id) {
        p->verdict = VEHICLE_ALLOW;
        p->reason = "registered";
    } else if ((visitor_plate && (e = visitor_plate(d, bidx, region, p->at, &p->visitor_id))) ||
               (visitor_plate && !p->visitor_id && nb > 1 &&
                (e = visitor_plate(d, both[1], region, p->at, &p->visitor_id))) ||
               p->visitor_id) {
        p->verdict = VEHICLE_ALLOW;
        p->reason = "visitor";
    } else {
        p->verdict = VEHICLE_DENY;
        p->reason = "unregistered";
    }
    if (e)
        return e;
    uint8_t ct[PLATE_MAX + SEAL_OVERHEAD];
    size_t plen = strlen(p->plate);
    if (plen >= PLATE_MAX)
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    if ((e = seal_buf(L_PASSAGE_PLATE, p->plate, plen, ct)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO vehicle_passages (id, region_code, venue_id, plate, "
                        "plate_enc, plate_bidx, direction, at, verdict, reason, vehicle_id, "
                        "visitor_id, reader_user_id, device_id) VALUES (?, ?, ?, '', ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    p->id = id_new();
    db_bind_int64(s, 1, p->id);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, p->venue_id);
    db_bind_blob(s, 4, ct, plen + SEAL_OVERHEAD);
    db_bind_blob(s, 5, bidx, BLIND_LEN);
    db_bind_text(s, 6, p->direction);
    db_bind_int64(s, 7, p->at);
    db_bind_text(s, 8, p->verdict == VEHICLE_ALLOW ? "allow" : "deny");
    db_bind_text(s, 9, p->reason);
    db_bind_int64(s, 10, p->vehicle_id);
    db_bind_int64(s, 11, p->visitor_id);
    db_bind_int64(s, 12, p->reader_user_id);
    db_bind_int64(s, 13, p->device_id);
    if ((e = db_run(s, NULL)))
        return e;
    return passage_hook ? passage_hook(d, a, p, bidx) : E_OK;
}

err vehicle_passages(db *d, arena *a, const struct scope *sc, int64_t venue_id, int64_t page,
                     int64_t page_size, struct vehicle_passage **items_r, size_t *n_r,
                     int64_t *total_r)
{
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM vehicle_passages WHERE region_code >= ? AND region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (venue_id) {
        query_sql(w, " AND venue_id = ?");
        query_int(w, venue_id);
    }
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    err e = query_count(d, q, total_r);
    if (e)
        return e;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT id, venue_id, region_code, at, plate_enc, direction, verdict, reason, "
                 "vehicle_id, visitor_id, reader_user_id, device_id");
    query_append(q, w);
    query_sql(q, " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?");
    query_int(q, page_size);
    query_int(q, paging_offset(page, page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    struct vehicle_passage *items =
        arena_zalloc(a, sizeof *items * (size_t)(page_size > 0 ? page_size : 1));
    size_t n = 0;
    bool row;
    while (n < (size_t)page_size && !(e = db_row(s, &row)) && row) {
        struct vehicle_passage *p = &items[n++];
        p->id = db_col_int64(s, 0);
        p->venue_id = db_col_int64(s, 1);
        p->region_code = db_col_int64(s, 2);
        p->at = db_col_int64(s, 3);
        e = open_sealed(a, s, 4, L_PASSAGE_PLATE, &p->plate);
        p->direction = arena_strdup(a, db_col_text(s, 5));
        p->verdict = strcmp(db_col_text(s, 6), "allow") ? VEHICLE_DENY : VEHICLE_ALLOW;
        p->reason = arena_strdup(a, db_col_text(s, 7));
        p->vehicle_id = db_col_int64(s, 8);
        p->visitor_id = db_col_int64(s, 9);
        p->reader_user_id = db_col_int64(s, 10);
        p->device_id = db_col_int64(s, 11);
        if (e)
            break;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* ---- sealing rows written before plates were sealed (sql/013) -------------------------- */

#define SEAL_BATCH 500 /* rows per transaction: bounded memory and lock time */

struct clear_row {
    int64_t id;
    const char *plate, *note;
};

/*
 * Seal up to SEAL_BATCH rows of one table that still hold plaintext:
 * `select` yields id, plate[, note] of such rows; `update` binds plate_enc,
 * plate_bidx[, note_enc], id and empties the clear columns. *n_r gets the
 * rows done; 0 means the table is clean.
 */
static err seal_batch(db *d, const char *select, const char *update, const char *plate_label,
                      bool with_note, int64_t *n_r)
{
    *n_r = 0;
    /* its own, one per batch: a start-up step with no request */
    arena *a = arena_new(0);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct clear_row *rows = arena_alloc(a, SEAL_BATCH * sizeof *rows);
    size_t n = 0;
    db_stmt *s;
    err e = db_begin(d);
    if (e) {
        arena_free(&a);
        return e;
    }
    if (!(e = db_prepare(d, select, &s))) {
        db_bind_int64(s, 1, SEAL_BATCH);
        bool row;
        while (n < SEAL_BATCH && !(e = db_row(s, &row)) && row) {
            rows[n].id = db_col_int64(s, 0);
            rows[n].plate = arena_strdup(a, db_col_text(s, 1));
            rows[n].note = with_note ? arena_strdup(a, db_col_text(s, 2)) : "";
            n++;
        }
        db_done(s);
    }
    for (size_t i = 0; !e && i < n; i++) {
        if ((e = db_prepare(d, update, &s)))
            break;
        uint8_t bidx[BLIND_LEN];
        int k = 1;
        e = seal_bind(a, s, k++, plate_label, rows[i].plate);
        if (*rows[i].plate) {
            plate_blind(rows[i].plate, bidx);
            db_bind_blob(s, k++, bidx, BLIND_LEN);
        } else {
            db_bind_null(s, k++);
        }
        if (!e && with_note)
            e = seal_bind(a, s, k++, L_NOTE, rows[i].note);
        db_bind_int64(s, k, rows[i].id);
        if (e)
            db_done(s);
        else
            e = db_run(s, NULL);
    }
    if (!e)
        e = db_commit(d);
    else
        db_rollback(d);
    arena_free(&a);
    if (!e)
        *n_r = (int64_t)n;
    return e;
}

static err seal_table(db *d, const char *select, const char *update, const char *plate_label,
                      bool with_note, int64_t *total_r)
{
    int64_t n;
    err e;
    do {
        if ((e = seal_batch(d, select, update, plate_label, with_note, &n)))
            return e;
        *total_r += n;
    } while (n == SEAL_BATCH);
    return E_OK;
}

err vehicle_plaintext_seal(db *d, int64_t *n_r)
{
    *n_r = 0;
    err e = seal_table(d,
                       "SELECT id, plate, note FROM vehicles WHERE plate <> '' OR note <> '' "
                       "LIMIT ?",
                       "UPDATE vehicles SET plate_enc = ?, plate_bidx = ?, note_enc = ?, "
                       "plate = '', note = '' WHERE id = ?",
                       L_PLATE, true, n_r);
    if (!e)
        e = seal_table(d, "SELECT id, plate FROM vehicle_passages WHERE plate <> '' LIMIT ?",
                       "UPDATE vehicle_passages SET plate_enc = ?, plate_bidx = ?, plate = '' "
                       "WHERE id = ?",
                       L_PASSAGE_PLATE, false, n_r);
    return e;
}
