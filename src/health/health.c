/*
 * Declarations and temperature readings: storage, scope and the code
 * refresh that follows every write (health.h).
 */
#include "health/health.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/regcode.h"
#include "code/code.h"
#include "person/person.h"
#include "security/crypto.h"
#include "venue/venue.h"

/* ---- vocabularies ------------------------------------------------------------ */

/* Slot i is bit 1u << i (enum symptom). */
static const struct vocab_word symptom_words[] = {
    {"fever", "发热"},    {"cough", "咳嗽"},
    {"fatigue", "乏力"},  {"shortness_of_breath", "气促"},
    {"vomiting", "呕吐"}, {"diarrhoea", "腹泻"},
    {"rash", "皮疹"},     {"headache", "头痛"},
    {"other", "其他"},
};
const struct vocab symptom_vocab = VOCAB("symptoms", "症状", symptom_words);

unsigned symptom_parse(const char *s)
{
    int i = vocab_parse(&symptom_vocab, s);
    return i < 0 ? 0 : 1u << i;
}

static int bit_index(unsigned bit)
{
    for (size_t i = 0; i < symptom_vocab.n; i++)
        if (bit == 1u << i)
            return (int)i;
    return -1;
}

const char *symptom_name(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "" : vocab_name(&symptom_vocab, (size_t)i);
}

const char *symptom_label(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "" : vocab_label(&symptom_vocab, (size_t)i);
}

const char *const reading_sources[] = {"checkpoint", "device", "manual", NULL};

bool health_declared_valid(double t)
{
    return isfinite(t) && t >= DECLARED_MIN && t <= DECLARED_MAX &&
           fabs(t * 10 - round(t * 10)) < 1e-6;
}

bool health_reading_valid(double t)
{
    return isfinite(t) && t >= READING_MIN && t <= READING_MAX;
}

err health_reading_check(double t, const char *field)
{
    if (health_reading_valid(t))
        return E_OK;
    return err_set(E_INPUT, "out_of_range", field, "体温应在%.1f到%.1f℃之间", READING_MIN,
                   READING_MAX);
}

/* ---- helpers ------------------------------------------------------------------ */

static err insert_reading(db *d, const struct reading *r, int64_t region)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO temperatures (id, person_id, region_code, at, celsius, source, "
                       "venue_id, device_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->id);
    db_bind_int64(s, 2, r->person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, r->at);
    db_bind_double(s, 5, r->celsius);
    db_bind_text(s, 6, r->source);
    db_bind_int64(s, 7, r->venue_id);
    db_bind_int64(s, 8, r->device_id);
    db_bind_int64(s, 9, r->user_id);
    return db_run(s, NULL);
}

/* ---- declarations ------------------------------------------------------------- */

static const char *regions_text(arena *a, const struct declaration *dc)
{
    const char *s = "";
    for (int i = 0; i < dc->n_travel_regions; i++) {
        char code[19];
        regcode_format(dc->travel_regions[i], code);
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", code);
    }
    return s;
}

err health_declare(db *d, arena *a, const struct scope *sc, struct declaration *dc, int64_t user_id)
{
    int64_t region = 0;
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = person_lock(d, sc, dc->person_id, &region)))
        goto fail;
    dc->id = id_new();
    dc->at = now_ms();
    dc->user_id = user_id;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO declarations (id, person_id, region_code, at, temperature, "
                        "symptoms, symptom_other_enc, travel_enc, travel_regions, contact, "
                        "contact_text_enc, source, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, dc->id);
    db_bind_int64(s, 2, dc->person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, dc->at);
    db_bind_double(s, 5, dc->temperature);
    db_bind_int64(s, 6, dc->symptoms);
    db_bind_text(s, 9, regions_text(a, dc));
    db_bind_int64(s, 10, dc->contact);
    db_bind_text(s, 12, dc->source);
    db_bind_int64(s, 13, user_id);
    if ((e = seal_bind(a, s, 7, "declarations.symptom_other", dc->symptom_other)) ||
        (e = seal_bind(a, s, 8, "declarations.travel", dc->travel)) ||
        (e = seal_bind(a, s, 11, "declarations.contact_text", dc->contact_text))) {
        db_done(s);
        goto fail;
    }
    if ((e = db_run(s, NULL)))
        goto fail;
    struct reading r = {.id = id_new(),
                        .person_id = dc->person_id,
                        .at = dc->at,
                        .celsius = dc->temperature,
                        .source = "declaration",
                        .user_id = user_id};
    if ((e = insert_reading(d, &r, region)) ||
        (e = code_refresh(d, a, dc->person_id, "declaration", user_id)))
        goto fail;
    return db_commit(d);
fail:
    db_rollback(d);
    return e;
}

static err count_rows(db *d, const char *sql, const struct scope *sc, int64_t person_id,
                      int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    *n_r = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

static void parse_regions(const char *text, struct declaration *dc)
{
    dc->n_travel_regions = 0;
    while (text && *text && dc->n_travel_regions < HEALTH_TRAVEL_CODES) {
        char buf[24];
        size_t n = strcspn(text, ",");
        if (n < sizeof buf) {
            memcpy(buf, text, n);
            buf[n] = '\0';
            enum region_level lv;
            int64_t c = regcode_parse(buf, &lv);
            if (c > 0)
                dc->travel_regions[dc->n_travel_regions++] = c;
        }
        text += n + (text[n] == ',');
    }
}

err health_declarations(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                        int64_t page_size, struct declaration **items_r, size_t *n_r,
                        int64_t *total_r)
{
    int64_t region = 0, total;
    err e = person_region(d, sc, person_id, &region);
    if (e || (e = count_rows(d,
                             "SELECT COUNT(*) FROM declarations WHERE person_id = ? AND "
                             "region_code >= ? AND region_code < ?",
                             sc, person_id, &total)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id, at, temperature, symptoms, symptom_other_enc, travel_enc, "
                        "travel_regions, contact, contact_text_enc, source, user_id FROM "
                        "declarations WHERE person_id = ? AND region_code >= ? AND region_code < ? "
                        "ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    struct declaration *items = arena_zalloc(a, (size_t)page_size * sizeof *items);
    size_t n = 0;
    bool row;
    while (n < (size_t)page_size && !(e = db_row(s, &row)) && row) {
        struct declaration *x = &items[n++];
        x->id = db_col_int64(s, 0);
        x->person_id = person_id;
        x->at = db_col_int64(s, 1);
        x->temperature = db_col_double(s, 2);
        x->symptoms = (unsigned)db_col_int64(s, 3);
        parse_regions(db_col_text(s, 6), x);
        x->contact = db_col_int64(s, 7) != 0;
        x->source = arena_strdup(a, db_col_text(s, 9));
        x->user_id = db_col_int64(s, 10);
        if (!(e = unseal_col(a, s, 4, "declarations.symptom_other", &x->symptom_other)) &&
            !(e = unseal_col(a, s, 5, "declarations.travel", &x->travel)))
            e = unseal_col(a, s, 8, "declarations.contact_text", &x->contact_text);
        if (e)
            break;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

/* ---- readings ------------------------------------------------------------------ */

err health_reading_record_tx(db *d, arena *a, const struct scope *sc, struct reading *r)
{
    err e = health_reading_check(r->celsius, "value");
    if (e)
        return e;
    int64_t now = now_ms();
    if (!r->at)
        r->at = now;
    if (r->at < 0 || r->at > now + 5 * 60 * 1000)
        return err_set(E_INPUT, "invalid_time", "at", "测温时间不能晚于当前时间");
    int64_t region = 0;
    e = person_lock(d, sc, r->person_id, &region);
    if (e)
        return e;
    r->id = id_new();
    if ((e = insert_reading(d, r, region)))
        return e;
    return code_refresh(d, a, r->person_id, "temperature", r->user_id);
}

static health_device_check_fn device_check;

err health_on_device_check(health_device_check_fn fn)
{
    if (fn && device_check && device_check != fn)
        return err_set(E_INTERNAL, NULL, NULL,
                       "health_on_device_check 已有订阅者：每个钩子只能注册一个");
    device_check = fn;
    return E_OK;
}

err health_reading_refs_check(db *d, arena *a, const struct scope *sc, const struct reading *r)
{
    err e = E_OK;
    if (r->venue_id) {
        struct venue v;
        e = venue_find(d, a, sc, r->venue_id, &v);
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_venue", "venue_id",
                           "场所不存在或不在您的管辖范围内");
        if (e)
            return e;
    }
    if (r->device_id) {
        e = device_check ? device_check(d, a, sc, r->device_id) : E_NOT_FOUND;
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_device", "device_id",
                           "测温设备不存在或不在您的管辖范围内");
    }
    return e;
}

err health_reading_record(db *d, arena *a, const struct scope *sc, struct reading *r)
{
    err e = health_reading_check(r->celsius, "value");
    if (e || (e = db_begin(d)))
        return e;
    if ((e = health_reading_record_tx(d, a, sc, r))) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err health_readings(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                    int64_t page_size, struct reading **items_r, size_t *n_r, int64_t *total_r)
{
    int64_t region = 0, total;
    err e = person_region(d, sc, person_id, &region);
    if (e || (e = count_rows(d,
                             "SELECT COUNT(*) FROM temperatures WHERE person_id = ? AND "
                             "region_code >= ? AND region_code < ?",
                             sc, person_id, &total)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id, at, celsius, source, venue_id, device_id, user_id FROM "
                        "temperatures WHERE person_id = ? AND region_code >= ? AND region_code < ? "
                        "ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    struct reading *items = arena_zalloc(a, (size_t)page_size * sizeof *items);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        items[n++] = (struct reading){db_col_int64(s, 0),
                                      person_id,
                                      db_col_int64(s, 1),
                                      db_col_double(s, 2),
                                      arena_strdup(a, db_col_text(s, 3)),
                                      db_col_int64(s, 4),
                                      db_col_int64(s, 5),
                                      db_col_int64(s, 6)};
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}
