/*
 * The health commission's data (commission.h): the records' checks, the
 * batch ingest with its digests and savepoints, the link of an
 * investigation to the registry's person, and the lists.
 */
#include "commission/commission.h"

#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"

/* the sealing and blind-index labels of the columns */
#define L_NAME     "commission.name"
#define L_ID       "commission.id_number"
#define L_PHONE    "commission.phone"
#define L_EXPOSURE "commission.exposure"
#define L_PLACES   "commission.places"
#define L_NOTES    "commission.notes"

static const struct vocab_word classes[] = {
    [COMMISSION_CONFIRMED] = {"confirmed", "确诊病例"},
    [COMMISSION_ASYMPTOMATIC] = {"asymptomatic", "无症状感染者"},
    [COMMISSION_SUSPECTED] = {"suspected", "疑似病例"},
    [COMMISSION_CLOSE] = {"close_contact", "密切接触者"},
    [COMMISSION_SECONDARY] = {"secondary_contact", "次密切接触者"},
    [COMMISSION_OTHER] = {"other", "其他"},
};
const struct vocab commission_class_vocab = VOCAB("commission_classes", "流调人员分类", classes);

/* ---- shaping a record ---------------------------------------------------------------------- */

/* A record as written: the texts checked, the identity number normalised. */
struct rec {
    const char *record_id, *name, *id_number, *phone;
    int64_t region_code;
    /* doctors */
    const char *institution, *department, *title, *licence_no;
    /* investigations */
    enum id_type id_type;
    int64_t investigated_at, onset_day, close_contacts;
    const char *investigator, *exposure, *places, *notes;
    enum commission_class classification;
    char digest[2 * SM3_LEN + 1];
};

static const char *opt(json_t *j, const char *key)
{
    const char *s = json_str(j, key);
    return s ? s : "";
}

static err text_field(json_t *j, const char *key, const char *label, size_t max, unsigned flags,
                      const char **v_r)
{
    json_t *v = json_object_get(j, key);
    if (v && !json_is_string(v) && !json_is_null(v))
        return err_set(E_INPUT, "invalid_type", key, "%s应为文本", label);
    *v_r = opt(j, key);
    return check_text(*v_r, key, label, max, flags);
}

/* Shape record j of kind k into *x (E_INPUT naming the first bad field). */
static err shape(db *d, arena *a, const struct scope *sc, enum commission_kind k, json_t *j,
                 struct rec *x)
{
    *x = (struct rec){.record_id = ""};
    if (!json_is_object(j))
        return err_set(E_INPUT, "invalid_record", "records", "记录应为对象");
    err e;
    if ((e = text_field(j, "record_id", "记录编号", 64, TEXT_REQUIRED | TEXT_ONE_LINE,
                        &x->record_id)) ||
        (e = text_field(j, "name", "姓名", PERSON_NAME_MAX, TEXT_REQUIRED | TEXT_ONE_LINE,
                        &x->name)))
        return e;
    const char *type = opt(j, "id_type");
    x->id_type = ID_RESIDENT;
    if (*type && strcmp(type, "resident") && strcmp(type, "passport"))
        return err_set(E_INPUT, "invalid_value", "id_type", "证件类型只能是 resident 或 passport");
    if (!strcmp(type, "passport"))
        x->id_type = ID_PASSPORT;
    x->id_number = person_id_normalise(arena_strdup(a, opt(j, "id_number")));
    if (!*x->id_number)
        return err_set(E_INPUT, "required", "id_number", "请填写证件号码");
    if ((e = check_id_number(x->id_type, x->id_number, "id_number")))
        return e;
    enum region_level lv;
    x->region_code = regcode_parse(opt(j, "region_code"), &lv);
    if ((e = person_region_check(d, sc, x->region_code, "region_code")))
        return e;
    if (k == COMMISSION_DOCTOR) {
        x->phone = opt(j, "phone");
        if (*x->phone && (e = check_phone(x->phone, "phone")))
            return e;
        if ((e = text_field(j, "institution", "医疗机构", 100, TEXT_REQUIRED | TEXT_ONE_LINE,
                            &x->institution)) ||
            (e = text_field(j, "department", "科室", 50, TEXT_ONE_LINE, &x->department)) ||
            (e = text_field(j, "title", "职称", 50, TEXT_ONE_LINE, &x->title)) ||
            (e = text_field(j, "licence_no", "执业证书编号", 50, TEXT_ONE_LINE, &x->licence_no)))
            return e;
    } else {
        json_t *at = json_object_get(j, "investigated_at");
        if (!json_is_integer(at) || json_integer_value(at) <= 0)
            return err_set(E_INPUT, "invalid_time", "investigated_at", "流调时间应为毫秒时间戳");
        x->investigated_at = json_integer_value(at);
        const char *onset = opt(j, "onset_day");
        if (*onset && !china_date_day(onset, &x->onset_day))
            return err_set(E_INPUT, "invalid_date", "onset_day", "发病日期应为 YYYY-MM-DD");
        json_t *cc = json_object_get(j, "close_contacts");
        if (cc && (!json_is_integer(cc) || json_integer_value(cc) < 0 ||
                   json_integer_value(cc) > 1000000))
            return err_set(E_INPUT, "out_of_range", "close_contacts", "密接人数应为不小于0的整数");
        x->close_contacts = cc ? json_integer_value(cc) : 0;
        int c = vocab_parse(&commission_class_vocab, opt(j, "classification"));
        if (c <= 0)
            return err_set(E_INPUT, "invalid_value", "classification",
                           "人员分类应为 confirmed、asymptomatic、suspected、close_contact、"
                           "secondary_contact 或 other");
        x->classification = (enum commission_class)c;
        if ((e = text_field(j, "investigator", "流调人员", 50, TEXT_ONE_LINE, &x->investigator)) ||
            (e = text_field(j, "institution", "流调机构", 100, TEXT_ONE_LINE, &x->institution)) ||
            (e = text_field(j, "exposure", "暴露史", COMMISSION_TEXT_MAX, 0, &x->exposure)) ||
            (e = text_field(j, "places", "活动地点和时间", COMMISSION_TEXT_MAX, 0, &x->places)) ||
            (e = text_field(j, "notes", "备注", COMMISSION_TEXT_MAX, 0, &x->notes)))
            return e;
    }
    /* the digest of the record as sent, keys sorted: a repeat is equal */
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    uint8_t h[SM3_LEN];
    sm3(text, strlen(text), h);
    free(text);
    hex_encode(h, SM3_LEN, x->digest);
    return E_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* The person of an investigation: the registry's holder of the document,
 * living within the record's region; 0 when there is none. */
static err person_of(db *d, arena *a, enum id_type type, const char *id_number, int64_t region,
                     int64_t *person_r)
{
    int64_t id = 0, home = 0;
    err e = person_document_holder(d, a, type, id_number, &id, &home);
    if (e)
        return e;
    struct scope sc = scope_of(region);
    *person_r = id && scope_has(&sc, home) ? id : 0;
    return E_OK;
}

static const char *const existing_sql[] = {
    [COMMISSION_DOCTOR] = "SELECT id, digest FROM commission_doctors WHERE client_id = ? AND "
                          "record_id = ?",
    [COMMISSION_INVESTIGATION] = "SELECT id, digest FROM commission_investigations WHERE "
                                 "client_id = ? AND record_id = ?",
};

static err doctor_write(db *d, arena *a, int64_t client, int64_t id, bool update,
                        const struct rec *x)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        update ? "UPDATE commission_doctors SET digest = ?, region_code = ?, name_enc = ?, "
                 "id_number_enc = ?, id_number_bidx = ?, phone_enc = ?, phone_bidx = ?, "
                 "institution = ?, department = ?, title = ?, licence_no = ?, updated_at = ? "
                 "WHERE id = ? AND client_id = ? AND record_id = ?"
               : "INSERT INTO commission_doctors (digest, region_code, name_enc, id_number_enc, "
                 "id_number_bidx, phone_enc, phone_bidx, institution, department, title, "
                 "licence_no, updated_at, id, client_id, record_id, created_at) VALUES (?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &s);
    if (e)
        return e;
    uint8_t bid[BLIND_LEN], bph[BLIND_LEN];
    blind_index(L_ID, x->id_number, bid);
    int64_t now = now_ms();
    db_bind_text(s, 1, x->digest);
    db_bind_int64(s, 2, x->region_code);
    if ((e = seal_bind(a, s, 3, L_NAME, x->name)) || (e = seal_bind(a, s, 4, L_ID, x->id_number)) ||
        (e = seal_bind(a, s, 6, L_PHONE, x->phone))) {
        db_done(s);
        return e;
    }
    db_bind_blob(s, 5, bid, BLIND_LEN);
    if (*x->phone) {
        blind_index(L_PHONE, x->phone, bph);
        db_bind_blob(s, 7, bph, BLIND_LEN);
    } else
        db_bind_null(s, 7);
    db_bind_text(s, 8, x->institution);
    db_bind_text(s, 9, x->department);
    db_bind_text(s, 10, x->title);
    db_bind_text(s, 11, x->licence_no);
    db_bind_int64(s, 12, now);
    db_bind_int64(s, 13, id);
    db_bind_int64(s, 14, client);
    db_bind_text(s, 15, x->record_id);
    if (!update)
        db_bind_int64(s, 16, now);
    return db_run(s, NULL);
}

static err investigation_write(db *d, arena *a, int64_t client, int64_t id, bool update,
                               const struct rec *x, int64_t person)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        update ? "UPDATE commission_investigations SET digest = ?, region_code = ?, person_id = "
                 "?, id_type = ?, id_number_enc = ?, id_number_bidx = ?, name_enc = ?, "
                 "investigated_at = ?, investigator = ?, institution = ?, onset_day = ?, "
                 "exposure_enc = ?, places_enc = ?, close_contacts = ?, classification = ?, "
                 "notes_enc = ?, updated_at = ? WHERE id = ? AND client_id = ? AND record_id = ?"
               : "INSERT INTO commission_investigations (digest, region_code, person_id, "
                 "id_type, id_number_enc, id_number_bidx, name_enc, investigated_at, "
                 "investigator, institution, onset_day, exposure_enc, places_enc, "
                 "close_contacts, classification, notes_enc, updated_at, id, client_id, "
                 "record_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?)",
        &s);
    if (e)
        return e;
    uint8_t bid[BLIND_LEN];
    blind_index(L_ID, x->id_number, bid);
    int64_t now = now_ms();
    db_bind_text(s, 1, x->digest);
    db_bind_int64(s, 2, x->region_code);
    if (person)
        db_bind_int64(s, 3, person);
    else
        db_bind_null(s, 3);
    db_bind_int64(s, 4, x->id_type);
    if ((e = seal_bind(a, s, 5, L_ID, x->id_number)) || (e = seal_bind(a, s, 7, L_NAME, x->name)) ||
        (e = seal_bind(a, s, 12, L_EXPOSURE, x->exposure)) ||
        (e = seal_bind(a, s, 13, L_PLACES, x->places)) ||
        (e = seal_bind(a, s, 16, L_NOTES, x->notes))) {
        db_done(s);
        return e;
    }
    db_bind_blob(s, 6, bid, BLIND_LEN);
    db_bind_int64(s, 8, x->investigated_at);
    db_bind_text(s, 9, x->investigator);
    db_bind_text(s, 10, x->institution);
    db_bind_int64(s, 11, x->onset_day);
    db_bind_int64(s, 14, x->close_contacts);
    db_bind_text(s, 15, vocab_name(&commission_class_vocab, (size_t)x->classification));
    db_bind_int64(s, 17, now);
    db_bind_int64(s, 18, id);
    db_bind_int64(s, 19, client);
    db_bind_text(s, 20, x->record_id);
    if (!update)
        db_bind_int64(s, 21, now);
    return db_run(s, NULL);
}

static void batch_error(struct commission_batch_result *r, err e, size_t i, const char *record_id)
{
    json_batch_error(r->errors, e, i, record_id, NULL);
    err_clear();
}

/* One record: E_INPUT refusals are the record's, anything else the batch's. */
static err apply_one(db *d, arena *a, const struct principal *who, enum commission_kind k,
                     json_t *j, size_t i, struct commission_batch_result *r)
{
    struct rec x;
    err e = shape(d, a, &who->scope, k, j, &x);
    if (e == E_INPUT) {
        batch_error(r, e, i, x.record_id);
        return E_OK;
    }
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, existing_sql[k], &s)))
        return e;
    db_bind_int64(s, 1, who->user_id);
    db_bind_text(s, 2, x.record_id);
    bool row;
    int64_t id = 0;
    bool same = false;
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        same = !strcmp(db_col_text(s, 1), x.digest);
    }
    db_done(s);
    if (e)
        return e;
    if (same) { /* sent before as it is: changes nothing */
        r->repeated++;
        return E_OK;
    }
    int64_t person = 0;
    if (k == COMMISSION_INVESTIGATION &&
        (e = person_of(d, a, x.id_type, x.id_number, x.region_code, &person)))
        return e;
    if ((e = db_begin(d))) /* a savepoint: a refused record leaves nothing */
        return e;
    e = k == COMMISSION_DOCTOR
            ? doctor_write(d, a, who->user_id, id ? id : id_new(), id != 0, &x)
            : investigation_write(d, a, who->user_id, id ? id : id_new(), id != 0, &x, person);
    if (e) {
        db_rollback(d);
        if (e == E_INPUT || e == E_CONFLICT) {
            batch_error(r, e, i, x.record_id);
            return E_OK;
        }
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *(id ? &r->updated : &r->created) += 1;
    r->linked += person != 0;
    return E_OK;
}

err commission_batch(db *d, arena *a, const struct principal *who, enum commission_kind k,
                     json_t *records, struct commission_batch_result *r)
{
    err e = E_OK;
    size_t n = json_array_size(records);
    for (size_t i = 0; i < n && !e; i++)
        e = apply_one(d, a, who, k, json_array_get(records, i), i, r);
    return e;
}

err commission_relink(db *d, const struct scope *sc, int64_t *linked_r)
{
    arena *a = arena_new(1 << 14); /* every record's unsealed number, freed here */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, id_type, id_number_enc, region_code FROM "
                       "commission_investigations WHERE person_id IS NULL AND region_code >= ? "
                       "AND region_code < ? ORDER BY id LIMIT 10000",
                       &s);
    struct item {
        int64_t id, region;
        int type;
        const char *number;
    } *v = NULL;
    size_t n = 0, cap = 0;
    if (!e) {
        db_bind_int64(s, 1, sc->lo);
        db_bind_int64(s, 2, sc->hi);
        bool row;
        while (!e && !(e = db_row(s, &row)) && row) {
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 64;
                struct item *nv = arena_alloc(a, nc * sizeof *nv);
                if (n)
                    memcpy(nv, v, n * sizeof *v);
                v = nv;
                cap = nc;
            }
            v[n].id = db_col_int64(s, 0);
            v[n].type = (int)db_col_int64(s, 1);
            v[n].region = db_col_int64(s, 3);
            e = unseal_col(a, s, 2, L_ID, &v[n].number);
            n++;
        }
        db_done(s);
    }
    int64_t linked = 0;
    for (size_t i = 0; i < n && !e; i++) {
        int64_t person = 0;
        if ((e = person_of(d, a, (enum id_type)v[i].type, v[i].number, v[i].region, &person)) ||
            !person)
            continue;
        int64_t changed = 0;
        if (!(e = db_prepare(d,
                             "UPDATE commission_investigations SET person_id = ? WHERE id = ? "
                             "AND person_id IS NULL",
                             &s))) {
            db_bind_int64(s, 1, person);
            db_bind_int64(s, 2, v[i].id);
            e = db_run(s, &changed);
        }
        linked += changed;
    }
    arena_free(&a);
    if (!e)
        *linked_r = linked;
    return e;
}

err commission_person_changed(db *d, arena *a, int64_t person_id, int64_t user_id)
{
    (void)user_id;
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM commission_investigations WHERE person_id IS NULL LIMIT 1",
                       &s);
    if (e)
        return e;
    bool any;
    e = db_row(s, &any);
    db_done(s);
    if (e || !any)
        return e;
    struct person p;
    struct scope all = scope_all();
    if ((e = person_find(d, a, &all, person_id, &p)))
        return e == E_NOT_FOUND ? E_OK : e; /* deleted meanwhile: nothing to link */
    /* under both key versions during a rotation (docs/keys.md) */
    uint8_t bid[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, p.id_number, bid);
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT id, region_code FROM commission_investigations WHERE id_number_bidx");
    query_blobs(&q, bid, BLIND_LEN, nb);
    query_sql(&q, " AND id_type = ? AND person_id IS NULL ORDER BY id LIMIT 1000");
    query_int(&q, p.id_type);
    if ((e = query_prepare(d, &q, &s)))
        return e;
    int64_t ids[1000];
    size_t n = 0;
    bool row;
    while (n < 1000 && !(e = db_row(s, &row)) && row) {
        struct scope within = scope_of(db_col_int64(s, 1));
        if (scope_has(&within, p.region_code))
            ids[n++] = db_col_int64(s, 0);
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++) {
        if ((e = db_prepare(d,
                            "UPDATE commission_investigations SET person_id = ? WHERE id = ? AND "
                            "person_id IS NULL",
                            &s)))
            break;
        db_bind_int64(s, 1, person_id);
        db_bind_int64(s, 2, ids[i]);
        e = db_run(s, NULL);
    }
    return e;
}

/* ---- lists --------------------------------------------------------------------------------- */

/* The scope and the filter's region (a subtree inside it). */
static void where_region(struct query *w, const struct scope *sc, const struct commission_filter *f)
{
    query_sql(w, " WHERE x.region_code >= ? AND x.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->region_code) {
        query_sql(w, " AND x.region_code >= ? AND x.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
}

static err count_of(db *d, const char *from, const struct query *w, int64_t *total_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COUNT(*)");
    query_sql(&q, from);
    query_append(&q, w);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)))
        *total_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

err commission_doctor_list(db *d, arena *a, const struct scope *sc,
                           const struct commission_filter *f, struct commission_doctor **items_r,
                           size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    where_region(&w, sc, f);
    int64_t total;
    err e = count_of(d, " FROM commission_doctors x", &w, &total);
    if (e)
        return e;
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT x.id, x.region_code, COALESCE(g.name, ''), x.record_id, x.name_enc, "
                  "x.id_number_enc, x.phone_enc, x.institution, x.department, x.title, "
                  "x.licence_no, x.updated_at FROM commission_doctors x LEFT JOIN regions g ON "
                  "g.code = x.region_code");
    query_append(&q, &w);
    query_sql(&q, " ORDER BY x.region_code, x.id LIMIT ? OFFSET ?");
    query_int(&q, f->page_size);
    query_int(&q, paging_offset(f->page, f->page_size));
    db_stmt *s;
    if ((e = query_prepare(d, &q, &s)))
        return e;
    struct commission_doctor *v =
        arena_alloc(a, (size_t)(f->page_size ? f->page_size : 1) * sizeof *v);
    size_t n = 0;
    bool row;
    while (!e && (int64_t)n < f->page_size && !(e = db_row(s, &row)) && row) {
        struct commission_doctor *x = &v[n++];
        *x = (struct commission_doctor){
            .id = db_col_int64(s, 0),
            .region_code = db_col_int64(s, 1),
            .region_name = arena_strdup(a, db_col_text(s, 2)),
            .record_id = arena_strdup(a, db_col_text(s, 3)),
            .institution = arena_strdup(a, db_col_text(s, 7)),
            .department = arena_strdup(a, db_col_text(s, 8)),
            .title = arena_strdup(a, db_col_text(s, 9)),
            .licence_no = arena_strdup(a, db_col_text(s, 10)),
            .updated_at = db_col_int64(s, 11),
        };
        if (!(e = unseal_col(a, s, 4, L_NAME, &x->name)) &&
            !(e = unseal_col(a, s, 5, L_ID, &x->id_number)))
            e = unseal_col(a, s, 6, L_PHONE, &x->phone);
    }
    db_done(s);
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

err commission_investigation_list(db *d, arena *a, const struct scope *sc,
                                  const struct commission_filter *f,
                                  struct commission_investigation **items_r, size_t *n_r,
                                  int64_t *total_r)
{
    struct query w = QUERY_INIT;
    where_region(&w, sc, f);
    if (f->person_id) {
        query_sql(&w, " AND x.person_id = ?");
        query_int(&w, f->person_id);
    }
    if (f->linked == 0)
        query_sql(&w, " AND x.person_id IS NULL");
    else if (f->linked == 1)
        query_sql(&w, " AND x.person_id IS NOT NULL");
    if (f->classification) {
        query_sql(&w, " AND x.classification = ?");
        query_text(&w, vocab_name(&commission_class_vocab, (size_t)f->classification));
    }
    int64_t total;
    err e = count_of(d, " FROM commission_investigations x", &w, &total);
    if (e)
        return e;
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT x.id, x.region_code, COALESCE(g.name, ''), x.record_id, "
                  "COALESCE(x.person_id, 0), x.id_type, x.name_enc, x.id_number_enc, "
                  "x.investigated_at, x.investigator, x.institution, x.onset_day, x.exposure_enc, "
                  "x.places_enc, x.notes_enc, x.close_contacts, x.classification, x.updated_at "
                  "FROM commission_investigations x LEFT JOIN regions g ON g.code = "
                  "x.region_code");
    query_append(&q, &w);
    query_sql(&q, " ORDER BY x.investigated_at DESC, x.id DESC LIMIT ? OFFSET ?");
    query_int(&q, f->page_size);
    query_int(&q, paging_offset(f->page, f->page_size));
    db_stmt *s;
    if ((e = query_prepare(d, &q, &s)))
        return e;
    struct commission_investigation *v =
        arena_alloc(a, (size_t)(f->page_size ? f->page_size : 1) * sizeof *v);
    size_t n = 0;
    bool row;
    while (!e && (int64_t)n < f->page_size && !(e = db_row(s, &row)) && row) {
        struct commission_investigation *x = &v[n++];
        int c = vocab_parse(&commission_class_vocab, db_col_text(s, 16));
        *x = (struct commission_investigation){
            .id = db_col_int64(s, 0),
            .region_code = db_col_int64(s, 1),
            .region_name = arena_strdup(a, db_col_text(s, 2)),
            .record_id = arena_strdup(a, db_col_text(s, 3)),
            .person_id = db_col_int64(s, 4),
            .id_type = (int)db_col_int64(s, 5),
            .investigated_at = db_col_int64(s, 8),
            .investigator = arena_strdup(a, db_col_text(s, 9)),
            .institution = arena_strdup(a, db_col_text(s, 10)),
            .onset_day = db_col_int64(s, 11),
            .close_contacts = db_col_int64(s, 15),
            .classification = c > 0 ? (enum commission_class)c : COMMISSION_OTHER,
            .updated_at = db_col_int64(s, 17),
        };
        if (!(e = unseal_col(a, s, 6, L_NAME, &x->name)) &&
            !(e = unseal_col(a, s, 7, L_ID, &x->id_number)) &&
            !(e = unseal_col(a, s, 12, L_EXPOSURE, &x->exposure)) &&
            !(e = unseal_col(a, s, 13, L_PLACES, &x->places)))
            e = unseal_col(a, s, 14, L_NOTES, &x->notes);
    }
    db_done(s);
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    *total_r = total;
    return E_OK;
}
