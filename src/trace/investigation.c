/*
 * Epidemiological investigation records (trace.h "investigations";
 * docs/tracing.md "Investigations"): the body parser, the checks, the
 * venue matching, the contacts' matching to registered persons, the SQL of
 * investigations with their places and contacts, and the inputs the
 * contact-tracing engine takes from them.
 *
 * Every statement binds the caller's scope on the record's region_code; a
 * write first finds the person (or the record) inside the scope, so another
 * region's record is E_NOT_FOUND before anything is checked against it.
 * Writes run inside the caller's transaction: a record, its places and its
 * contacts are written together or not at all. Texts about the person (the
 * summary, the places, the contacts) are sealed (security/crypto.h).
 */
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/fields.h"
#include "db/query.h"
#include "health/health.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "trace/trace.h"

#define L_SUMMARY  "investigations.summary"
#define L_PLACE    "investigation_places.place"
#define L_PNOTE    "investigation_places.note"
#define L_CNAME    "investigation_contacts.name"
#define L_CPHONE   "investigation_contacts.phone"
#define L_CID      "investigation_contacts.id_number"
#define TIME_LIMIT 4102444800000LL /* 2100-01-01: later is a typing error */

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* ---- the body --------------------------------------------------------------------- */

/* A text member of o: "" when absent or null, else trimmed and checked. */
static err text_member(arena *a, json_t *o, const char *key, const char *field, const char *label,
                       size_t max, unsigned flags, const char **v_r)
{
    json_t *v = json_object_get(o, key);
    const char *s = "";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return err_set(E_INPUT, "invalid_type", field, "%s应为字符串", label);
        s = field_trim(a, json_string_value(v));
    }
    err e = check_text(s, field, label, max, flags);
    if (!e)
        *v_r = s;
    return e;
}

/* An epoch-ms member: 0 when absent or null (unless required). */
static err time_member(json_t *o, const char *key, const char *field, const char *label,
                       bool required, int64_t *v_r)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return err_set(E_INPUT, "required", field, "请填写%s", label);
        *v_r = 0;
        return E_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > TIME_LIMIT)
        return err_set(E_INPUT, "invalid_value", field, "%s不正确", label);
    *v_r = json_integer_value(v);
    return E_OK;
}

static err place_from(arena *a, json_t *o, size_t i, struct inv_place *p)
{
    const char *at = arena_printf(a, "places[%zu]", i);
    if (!json_is_object(o))
        return err_set(E_INPUT, "invalid_type", at, "第%zu个地点应为对象", i + 1);
    struct inv_place x = {0};
    err e = text_member(a, o, "place", arena_printf(a, "%s.place", at), "地点", INV_TEXT_MAX,
                        TEXT_ONE_LINE | TEXT_REQUIRED, &x.place);
    if (!e)
        e = time_member(o, "from_at", arena_printf(a, "%s.from_at", at), "到达时间", true,
                        &x.from_at);
    if (!e)
        e = time_member(o, "to_at", arena_printf(a, "%s.to_at", at), "离开时间", false, &x.to_at);
    if (!e)
        e = text_member(a, o, "note", arena_printf(a, "%s.note", at), "备注", INV_NOTE_MAX,
                        TEXT_ONE_LINE, &x.note);
    json_t *v = json_object_get(o, "venue_id");
    if (!e && v && !json_is_null(v) &&
        (!json_is_string(v) || (x.venue_id = id_parse(json_string_value(v))) <= 0))
        e = err_set(E_INPUT, "invalid_value", arena_printf(a, "%s.venue_id", at), "场所编号不正确");
    if (!e)
        *p = x;
    return e;
}

static err contact_from(arena *a, json_t *o, size_t i, struct inv_contact *c)
{
    const char *at = arena_printf(a, "contacts[%zu]", i);
    if (!json_is_object(o))
        return err_set(E_INPUT, "invalid_type", at, "第%zu个接触者应为对象", i + 1);
    struct inv_contact x = {0};
    err e = text_member(a, o, "name", arena_printf(a, "%s.name", at), "接触者姓名", PERSON_NAME_MAX,
                        TEXT_ONE_LINE | TEXT_REQUIRED, &x.name);
    if (!e)
        e = text_member(a, o, "phone", arena_printf(a, "%s.phone", at), "联系电话", 20,
                        TEXT_ONE_LINE, &x.phone);
    if (!e)
        e = text_member(a, o, "id_number", arena_printf(a, "%s.id_number", at), "身份证号", 32,
                        TEXT_ONE_LINE, &x.id_number);
    if (!e && *x.id_number)
        x.id_number = person_id_normalise(arena_strdup(a, x.id_number));
    if (!e)
        e = text_member(a, o, "relation", arena_printf(a, "%s.relation", at), "关系", INV_TEXT_MAX,
                        TEXT_ONE_LINE, &x.relation);
    if (!e)
        e = time_member(o, "last_contact_at", arena_printf(a, "%s.last_contact_at", at),
                        "最后接触时间", false, &x.last_contact_at);
    if (!e)
        *c = x;
    return e;
}

static err symptoms_from(json_t *v, unsigned *bits_r)
{
    if (json_is_null(v)) {
        *bits_r = 0;
        return E_OK;
    }
    if (!json_is_array(v))
        return err_set(E_INPUT, "invalid_type", "symptoms", "症状应为数组");
    unsigned bits = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        unsigned b = json_is_string(x) ? symptom_parse(json_string_value(x)) : 0;
        if (!b)
            return err_set(E_INPUT, "invalid_value", "symptoms", "症状的取值不正确");
        bits |= b;
    }
    *bits_r = bits;
    return E_OK;
}

err investigation_apply_json(arena *a, json_t *body, struct investigation *v)
{
    if (!json_is_object(body))
        return err_set(E_INPUT, "invalid_json", NULL, "请求体应为 JSON 对象");
    struct investigation x = *v;
    err e = E_OK;
    json_t *m;
    if ((m = json_object_get(body, "person_id"))) {
        int64_t id = json_is_string(m) ? id_parse(json_string_value(m)) : 0;
        if (id <= 0)
            return err_set(E_INPUT, "invalid_value", "person_id", "人员编号不正确");
        x.person_id = id;
    }
    if ((m = json_object_get(body, "onset_on"))) {
        if (json_is_null(m))
            x.onset_on = 0;
        else if (!json_is_string(m) || !(x.onset_on = field_date_parse(json_string_value(m))))
            return err_set(E_INPUT, "invalid_date", "onset_on",
                           "发病日期应为“2026-01-31”形式的日期");
    }
    if ((m = json_object_get(body, "symptoms")) && (e = symptoms_from(m, &x.symptoms)))
        return e;
    if (json_has(body, "investigated_at") &&
        (e = time_member(body, "investigated_at", "investigated_at", "调查时间", true,
                         &x.investigated_at)))
        return e;
    if (json_has(body, "institution") &&
        (e = text_member(a, body, "institution", "institution", "调查单位", INV_TEXT_MAX,
                         TEXT_ONE_LINE, &x.institution)))
        return e;
    if (json_has(body, "summary") && (e = text_member(a, body, "summary", "summary", "调查摘要",
                                                      INV_SUMMARY_MAX, 0, &x.summary)))
        return e;
    if ((m = json_object_get(body, "places"))) {
        if (!json_is_array(m))
            return err_set(E_INPUT, "invalid_type", "places", "地点应为数组");
        size_t n = json_array_size(m);
        if (n > INV_PLACES_MAX)
            return err_set(E_INPUT, "too_many_places", "places", "地点最多%d个", INV_PLACES_MAX);
        x.places = n ? arena_alloc(a, n * sizeof *x.places) : NULL;
        x.n_places = n;
        for (size_t i = 0; i < n; i++)
            if ((e = place_from(a, json_array_get(m, i), i, &x.places[i])))
                return e;
    }
    if ((m = json_object_get(body, "contacts"))) {
        if (!json_is_array(m))
            return err_set(E_INPUT, "invalid_type", "contacts", "接触者应为数组");
        size_t n = json_array_size(m);
        if (n > INV_CONTACTS_MAX)
            return err_set(E_INPUT, "too_many_contacts", "contacts", "接触者最多%d个",
                           INV_CONTACTS_MAX);
        x.contacts = n ? arena_alloc(a, n * sizeof *x.contacts) : NULL;
        x.n_contacts = n;
        for (size_t i = 0; i < n; i++)
            if ((e = contact_from(a, json_array_get(m, i), i, &x.contacts[i])))
                return e;
    }
    *v = x;
    return E_OK;
}

err investigation_check(const struct investigation *v)
{
    char field[64];
    if (v->person_id <= 0)
        return err_set(E_INPUT, "required", "person_id", "请选择被调查的病例");
    if (v->investigated_at <= 0)
        return err_set(E_INPUT, "required", "investigated_at", "请填写调查时间");
    if (v->onset_on && !date_valid(v->onset_on))
        return err_set(E_INPUT, "invalid_date", "onset_on", "发病日期不正确");
    if (v->onset_on && v->onset_on > china_date(v->investigated_at))
        return err_set(E_INPUT, "invalid_range", "onset_on", "发病日期不能晚于调查时间");
    if (v->symptoms & ~SYM_ALL)
        return err_set(E_INPUT, "invalid_value", "symptoms", "症状的取值不正确");
    if (v->n_places > INV_PLACES_MAX)
        return err_set(E_INPUT, "too_many_places", "places", "地点最多%d个", INV_PLACES_MAX);
    if (v->n_contacts > INV_CONTACTS_MAX)
        return err_set(E_INPUT, "too_many_contacts", "contacts", "接触者最多%d个",
                       INV_CONTACTS_MAX);
    for (size_t i = 0; i < v->n_places; i++) {
        const struct inv_place *p = &v->places[i];
        if (!p->place || !*p->place) {
            snprintf(field, sizeof field, "places[%zu].place", i);
            return err_set(E_INPUT, "required", field, "请填写第%zu个地点", i + 1);
        }
        if (p->from_at <= 0) {
            snprintf(field, sizeof field, "places[%zu].from_at", i);
            return err_set(E_INPUT, "required", field, "请填写第%zu个地点的到达时间", i + 1);
        }
        if (p->to_at && p->to_at < p->from_at) {
            snprintf(field, sizeof field, "places[%zu].to_at", i);
            return err_set(E_INPUT, "invalid_range", field, "第%zu个地点的离开时间不能早于到达时间",
                           i + 1);
        }
    }
    for (size_t i = 0; i < v->n_contacts; i++) {
        const struct inv_contact *c = &v->contacts[i];
        if (!c->name || !*c->name) {
            snprintf(field, sizeof field, "contacts[%zu].name", i);
            return err_set(E_INPUT, "required", field, "请填写第%zu个接触者的姓名", i + 1);
        }
        err e;
        if (c->phone && *c->phone) {
            snprintf(field, sizeof field, "contacts[%zu].phone", i);
            if ((e = check_phone(c->phone, field)))
                return e;
        }
        if (c->id_number && *c->id_number) {
            snprintf(field, sizeof field, "contacts[%zu].id_number", i);
            if ((e = check_resident_id(c->id_number, field, NULL, NULL)))
                return e;
        }
    }
    return E_OK;
}

/* ---- names ------------------------------------------------------------------------- */

/* The code point at s (valid UTF-8 assumed; a bad byte is taken alone). */
static unsigned utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned c = p[0];
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : 0;
    if (n)
        c &= 0x3F >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s += 1;
            return p[0];
        }
        c = (c << 6) | (p[i] & 0x3F);
    }
    *s += n + 1;
    return c;
}

static bool dropped(unsigned c)
{
    if (c < 0x80)
        return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
    return c == 0x3000 /* ideographic space */ ||
           (c >= 0x3001 && c <= 0x3011) /* 、。〈〉《》「」 */
           || (c >= 0x2010 && c <= 0x2027) /* dashes, quotes, … */ || c == 0x00B7 /* · */ ||
           c == 0x30FB /* ・ */;
}

size_t investigation_name_normalise(const char *in, char *out, size_t size)
{
    size_t n = 0;
    if (!size)
        return 0;
    while (in && *in) {
        unsigned c = utf8_next(&in);
        if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
            c -= 0xFEE0;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (dropped(c))
            continue;
        char buf[4];
        size_t k;
        if (c < 0x80)
            buf[0] = (char)c, k = 1;
        else if (c < 0x800)
            buf[0] = (char)(0xC0 | (c >> 6)), buf[1] = (char)(0x80 | (c & 0x3F)), k = 2;
        else if (c < 0x10000)
            buf[0] = (char)(0xE0 | (c >> 12)), buf[1] = (char)(0x80 | ((c >> 6) & 0x3F)),
            buf[2] = (char)(0x80 | (c & 0x3F)), k = 3;
        else
            buf[0] = (char)(0xF0 | (c >> 18)), buf[1] = (char)(0x80 | ((c >> 12) & 0x3F)),
            buf[2] = (char)(0x80 | ((c >> 6) & 0x3F)), buf[3] = (char)(0x80 | (c & 0x3F)), k = 4;
        if (n + k >= size)
            break;
        memcpy(out + n, buf, k);
        n += k;
    }
    out[n] = 0;
    return n;
}

#define NORM_MAX         (INV_TEXT_MAX * 4 + 1)
#define MATCH_CANDIDATES 200 /* venues read for one normalised comparison */

static bool already(const struct venue_match *m, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].id == id)
            return true;
    return false;
}

err investigation_venue_matches(db *d, arena *a, const struct scope *sc, const char *text,
                                struct venue_match **items_r, size_t *n_r)
{
    struct venue_match *m = arena_alloc(a, INV_MATCHES_MAX * sizeof *m);
    size_t n = 0;
    char want[NORM_MAX];
    size_t wn = investigation_name_normalise(text, want, sizeof want);
    *items_r = m;
    *n_r = 0;
    if (!wn)
        return E_OK;
    /* 1. the same text; 2. candidates holding the normalised name's first
     * characters, compared normalised in C (names are short, candidates few) */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT v.id, v.name, r.name FROM venues v LEFT JOIN regions r ON "
                       "r.code = v.region_code WHERE v.name = ? AND v.deleted_at = 0 AND "
                       "v.region_code >= ? AND v.region_code < ? ORDER BY v.id LIMIT 5",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, text);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    while (n < INV_MATCHES_MAX && !(e = db_row(s, &row)) && row)
        m[n++] = (struct venue_match){db_col_int64(s, 0), arena_strdup(a, db_col_text(s, 1)),
                                      arena_strdup(a, db_col_text(s, 2)), true};
    db_done(s);
    if (e || n >= INV_MATCHES_MAX)
        goto out;
    /* the first two characters of the normalised name as the candidates' key */
    const char *p = want;
    utf8_next(&p);
    if (*p)
        utf8_next(&p);
    char *key = arena_alloc(a, (size_t)(p - want) + 1);
    memcpy(key, want, (size_t)(p - want));
    key[p - want] = 0;
    if ((e = db_prepare(d,
                        "SELECT v.id, v.name, r.name FROM venues v LEFT JOIN regions r ON "
                        "r.code = v.region_code WHERE lower(v.name) LIKE ? ESCAPE '\\' AND "
                        "v.deleted_at = 0 AND v.region_code >= ? AND v.region_code < ? "
                        "ORDER BY v.id LIMIT ?",
                        &s)))
        goto out;
    db_bind_text(s, 1, query_like_contains(a, key, true));
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, MATCH_CANDIDATES);
    struct venue_match near[INV_MATCHES_MAX];
    size_t nn = 0;
    while (!(e = db_row(s, &row)) && row) {
        int64_t id = db_col_int64(s, 0);
        const char *name = db_col_text(s, 1);
        char got[NORM_MAX];
        size_t gn = investigation_name_normalise(name, got, sizeof got);
        if (!gn || already(m, n, id))
            continue;
        struct venue_match x = {id, arena_strdup(a, name), arena_strdup(a, db_col_text(s, 2)),
                                false};
        if (!strcmp(got, want)) {
            if (n < INV_MATCHES_MAX)
                m[n++] = x;
        } else if ((strstr(got, want) || strstr(want, got)) && nn < INV_MATCHES_MAX)
            near[nn++] = x;
    }
    db_done(s);
    for (size_t i = 0; !e && i < nn && n < INV_MATCHES_MAX; i++)
        m[n++] = near[i];
out:
    if (!e)
        *n_r = n;
    return e;
}

/* ---- writing ------------------------------------------------------------------------ */

/* A case: suspected, confirmed, asymptomatic, or a past one (cured, dead). */
static bool is_case(enum person_status st)
{
    return st == PERSON_SUSPECTED || st == PERSON_CONFIRMED || st == PERSON_ASYMPTOMATIC ||
           st == PERSON_CURED || st == PERSON_DEAD;
}

err trace_case_region(db *d, const struct scope *sc, int64_t id, const char *field,
                      int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, status FROM persons WHERE id = ? AND deleted_at = 0 "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    int64_t region = 0;
    enum person_status st = 0;
    if (!(e = db_row(s, &row)) && row) {
        region = db_col_int64(s, 0);
        st = person_status_parse(db_col_text(s, 1));
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", field, "人员不存在或不在您的管辖范围内");
    if (!is_case(st))
        return err_set(E_INPUT, "not_a_case", field,
                       "只能选择疑似、确诊或无症状感染者（含已治愈、死亡）");
    if (region_r)
        *region_r = region;
    return E_OK;
}

static err check_venues(db *d, arena *a, const struct investigation *v)
{
    for (size_t i = 0; i < v->n_places; i++) {
        if (!v->places[i].venue_id)
            continue;
        db_stmt *s;
        err e = db_prepare(d, "SELECT 1 FROM venues WHERE id = ? AND deleted_at = 0", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, v->places[i].venue_id);
        bool row;
        e = db_row(s, &row);
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "unknown_venue", arena_printf(a, "places[%zu].venue_id", i),
                           "第%zu个地点的场所不存在", i + 1);
    }
    return E_OK;
}

/* The registered person inside sc a contact names: by id number, else by
 * a phone exactly one person in sc has; 0 none. */
static err contact_match(db *d, arena *a, const struct scope *sc, const struct inv_contact *c,
                         int64_t *id_r)
{
    int64_t id = 0, region = 0, n = 0;
    err e = E_OK;
    *id_r = 0;
    if (*nz(c->id_number)) {
        e = person_document_holder(d, a, ID_RESIDENT, c->id_number, &id, &region);
        if (e == E_NOT_FOUND)
            e = E_OK, id = 0;
        if (!e && id && scope_has(sc, region)) {
            *id_r = id;
            return E_OK;
        }
    }
    if (!e && *nz(c->phone)) {
        e = person_find_id_by_phone(d, sc, c->phone, &id, &n);
        if (e == E_NOT_FOUND)
            return E_OK;
        if (!e && n == 1)
            *id_r = id;
    }
    return e;
}

static err write_places(db *d, arena *a, const struct investigation *v, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM investigation_places WHERE investigation_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < v->n_places; i++) {
        const struct inv_place *p = &v->places[i];
        if ((e = db_prepare(d,
                            "INSERT INTO investigation_places (investigation_id, seq, place_enc, "
                            "venue_id, from_at, to_at, note_enc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, (int64_t)i + 1);
        if ((e = seal_bind(a, s, 3, L_PLACE, p->place)) ||
            (e = seal_bind(a, s, 7, L_PNOTE, *nz(p->note) ? p->note : NULL))) {
            db_done(s);
            return e;
        }
        db_bind_int64(s, 4, p->venue_id);
        db_bind_int64(s, 5, p->from_at);
        db_bind_int64(s, 6, p->to_at);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

static err write_contacts(db *d, arena *a, const struct scope *sc, struct investigation *v,
                          int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM investigation_contacts WHERE investigation_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < v->n_contacts; i++) {
        struct inv_contact *c = &v->contacts[i];
        if ((e = contact_match(d, a, sc, c, &c->person_id)))
            return e;
        if ((e = db_prepare(d,
                            "INSERT INTO investigation_contacts (investigation_id, seq, name_enc, "
                            "phone_enc, phone_bidx, id_number_enc, id_number_bidx, relation, "
                            "last_contact_at, person_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, (int64_t)i + 1);
        const char *phone = *nz(c->phone) ? c->phone : NULL,
                   *idn = *nz(c->id_number) ? c->id_number : NULL;
        if ((e = seal_bind(a, s, 3, L_CNAME, c->name)) ||
            (e = seal_bind(a, s, 4, L_CPHONE, phone)) || (e = seal_bind(a, s, 6, L_CID, idn))) {
            db_done(s);
            return e;
        }
        uint8_t pb[BLIND_LEN], ib[BLIND_LEN];
        if (phone) {
            blind_index(L_CPHONE, phone, pb);
            db_bind_blob(s, 5, pb, BLIND_LEN);
        } else
            db_bind_null(s, 5);
        if (idn) {
            blind_index(L_CID, idn, ib);
            db_bind_blob(s, 7, ib, BLIND_LEN);
        } else
            db_bind_null(s, 7);
        db_bind_text(s, 8, nz(c->relation));
        db_bind_int64(s, 9, c->last_contact_at);
        db_bind_int64(s, 10, c->person_id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* Bind onset_on .. contact_count from parameter i. */
static err bind_cols(db_stmt *s, arena *a, int i, const struct investigation *v)
{
    db_bind_int64(s, i++, v->onset_on);
    db_bind_int64(s, i++, (int64_t)v->symptoms);
    db_bind_int64(s, i++, v->investigated_at);
    db_bind_text(s, i++, nz(v->institution));
    err e = seal_bind(a, s, i++, L_SUMMARY, *nz(v->summary) ? v->summary : NULL);
    db_bind_int64(s, i++, (int64_t)v->n_places);
    db_bind_int64(s, i, (int64_t)v->n_contacts);
    return e;
}

err investigation_create(db *d, arena *a, const struct scope *sc, struct investigation *v,
                         int64_t user_id, int64_t *id_r)
{
    int64_t region = 0;
    err e = investigation_check(v);
    if (!e)
        e = trace_case_region(d, sc, v->person_id, "person_id", &region);
    if (!e)
        e = check_venues(d, a, v);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO investigations (id, person_id, region_code, investigator_id, "
                        "created_at, updated_at, onset_on, symptoms, investigated_at, "
                        "institution, summary_enc, place_count, contact_count) VALUES (?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, v->person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    if ((e = bind_cols(s, a, 7, v))) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, NULL)) || (e = write_places(d, a, v, id)) ||
        (e = write_contacts(d, a, sc, v, id)))
        return e;
    *id_r = id;
    return E_OK;
}

err investigation_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version,
                         json_t *body)
{
    struct investigation v;
    err e = investigation_find(d, a, sc, id, &v);
    if (e)
        return e;
    if (version > 0 && version != v.version)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    int64_t person = v.person_id;
    if ((e = investigation_apply_json(a, body, &v)))
        return e;
    if (v.person_id != person)
        return err_set(E_INPUT, "invalid_value", "person_id", "流调记录的病例不能修改");
    if ((e = investigation_check(&v)) || (e = check_venues(d, a, &v)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE investigations SET onset_on = ?, symptoms = ?, investigated_at = "
                        "?, institution = ?, summary_enc = ?, place_count = ?, contact_count = ?, "
                        "version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND "
                        "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    if ((e = bind_cols(s, a, 1, &v))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 8, now_ms());
    db_bind_int64(s, 9, id);
    db_bind_int64(s, 10, v.version);
    db_bind_int64(s, 11, sc->lo);
    db_bind_int64(s, 12, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    /* places as given (or as stored: rewritten the same); contacts re-matched */
    if ((e = write_places(d, a, &v, id)))
        return e;
    return write_contacts(d, a, sc, &v, id);
}

err investigation_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE investigations SET deleted_at = ?, version = version + 1 WHERE "
                       "id = ? AND deleted_at = 0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}

/* ---- reading ------------------------------------------------------------------------ */

#define INV_SELECT                                                                                 \
    "SELECT i.id, i.person_id, i.region_code, r.name, p.name_enc, p.id_number_enc, p.status, "     \
    "i.onset_on, i.symptoms, i.investigated_at, i.investigator_id, u.display_name, "               \
    "i.institution, i.summary_enc, i.place_count, i.contact_count, i.version, i.created_at, "      \
    "i.updated_at "
#define INV_FROM                                                                                   \
    " FROM investigations i LEFT JOIN persons p ON p.id = i.person_id "                            \
    "LEFT JOIN regions r ON r.code = i.region_code LEFT JOIN users u ON u.id = i.investigator_id "

static const char *text_col(arena *a, db_stmt *s, int c)
{
    return arena_strdup(a, db_col_text(s, c));
}

static err read_row(db_stmt *s, arena *a, struct investigation *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, 0);
    v->person_id = db_col_int64(s, 1);
    v->region_code = db_col_int64(s, 2);
    v->region_name = text_col(a, s, 3);
    err e = unseal_col(a, s, 4, "persons.name", &v->person_name);
    if (!e)
        e = unseal_col(a, s, 5, "persons.id_number", &v->id_number);
    v->person_status = (int)person_status_parse(db_col_text(s, 6));
    v->onset_on = (int32_t)db_col_int64(s, 7);
    v->symptoms = (unsigned)db_col_int64(s, 8);
    v->investigated_at = db_col_int64(s, 9);
    v->investigator_id = db_col_int64(s, 10);
    v->investigator_name = text_col(a, s, 11);
    v->institution = text_col(a, s, 12);
    if (!e)
        e = unseal_col(a, s, 13, L_SUMMARY, &v->summary);
    v->n_places = (size_t)db_col_int64(s, 14);
    v->n_contacts = (size_t)db_col_int64(s, 15);
    v->version = db_col_int64(s, 16);
    v->created_at = db_col_int64(s, 17);
    v->updated_at = db_col_int64(s, 18);
    return e;
}

/* read_row as query_page reads a list's row. */
static err investigation_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

static err read_places(db *d, arena *a, struct investigation *v)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT x.place_enc, x.venue_id, vn.name, x.from_at, x.to_at, x.note_enc "
                       "FROM investigation_places x LEFT JOIN venues vn ON vn.id = x.venue_id "
                       "WHERE x.investigation_id = ? ORDER BY x.seq",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, v->id);
    size_t cap = v->n_places ? v->n_places : 1, n = 0;
    struct inv_place *p = arena_zalloc(a, cap * sizeof *p);
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row) {
        if ((e = unseal_col(a, s, 0, L_PLACE, &p[n].place)) ||
            (e = unseal_col(a, s, 5, L_PNOTE, &p[n].note)))
            break;
        p[n].venue_id = db_col_int64(s, 1);
        p[n].venue_name = text_col(a, s, 2);
        p[n].from_at = db_col_int64(s, 3);
        p[n].to_at = db_col_int64(s, 4);
        n++;
    }
    db_done(s);
    v->places = p;
    v->n_places = n;
    return e;
}

static err read_contacts(db *d, arena *a, struct investigation *v)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT name_enc, phone_enc, id_number_enc, relation, last_contact_at, "
                       "person_id FROM investigation_contacts WHERE investigation_id = ? "
                       "ORDER BY seq",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, v->id);
    size_t cap = v->n_contacts ? v->n_contacts : 1, n = 0;
    struct inv_contact *c = arena_zalloc(a, cap * sizeof *c);
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row) {
        if ((e = unseal_col(a, s, 0, L_CNAME, &c[n].name)) ||
            (e = unseal_col(a, s, 1, L_CPHONE, &c[n].phone)) ||
            (e = unseal_col(a, s, 2, L_CID, &c[n].id_number)))
            break;
        c[n].relation = text_col(a, s, 3);
        c[n].last_contact_at = db_col_int64(s, 4);
        c[n].person_id = db_col_int64(s, 5);
        n++;
    }
    db_done(s);
    v->contacts = c;
    v->n_contacts = n;
    return e;
}

err investigation_find(db *d, arena *a, const struct scope *sc, int64_t id,
                       struct investigation *v_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       INV_SELECT INV_FROM "WHERE i.id = ? AND i.deleted_at = 0 AND "
                                           "i.region_code >= ? AND i.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    struct investigation v;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, &v) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        e = read_places(d, a, &v);
    if (!e)
        e = read_contacts(d, a, &v);
    if (!e)
        *v_r = v;
    return e;
}

err investigation_list(db *d, arena *a, const struct scope *sc,
                       const struct investigation_filter *f, struct investigation **items_r,
                       size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE i.deleted_at = 0 AND i.region_code >= ? AND i.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->region_code) {
        if (!scope_has(sc, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND i.region_code >= ? AND i.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->person_id) {
        query_sql(w, " AND i.person_id = ?");
        query_int(w, f->person_id);
    }
    if (f->from_day) {
        query_sql(w, " AND i.investigated_at >= ?");
        query_int(w, china_day_start(f->from_day * DAY_MS));
    }
    if (f->to_day) {
        query_sql(w, " AND i.investigated_at < ?");
        query_int(w, china_day_start((f->to_day + 1) * DAY_MS));
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM investigations i",
                                            .select = INV_SELECT INV_FROM,
                                            .order = " ORDER BY i.investigated_at DESC, i.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = INV_EXPORT_MAX,
                                            .size = sizeof(struct investigation),
                                            .read = investigation_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- the tracing engine's inputs ----------------------------------------------------- */

err investigation_onset(db *d, int64_t case_person_id, int32_t *onset_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT onset_on FROM investigations WHERE person_id = ? AND deleted_at = "
                       "0 AND onset_on > 0 ORDER BY investigated_at DESC, id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, case_person_id);
    bool row;
    if (!(e = db_row(s, &row)))
        *onset_r = row ? (int32_t)db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

err investigation_inputs(db *d, arena *a, int64_t case_person_id, struct investigation_inputs *r)
{
    struct investigation_inputs x = {0};
    db_stmt *s;
    bool row;
    err e = investigation_onset(d, case_person_id, &x.onset_on);
    if (e)
        return e;
    /* the places with a venue; a person has a handful of records of at most
     * INV_PLACES_MAX places each: counted first, then read */
    int64_t n = 0;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM investigation_places x JOIN investigations i ON "
                        "i.id = x.investigation_id WHERE i.person_id = ? AND i.deleted_at = 0 "
                        "AND x.venue_id > 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, case_person_id);
    if (!(e = db_row(s, &row)) && row)
        n = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    x.visits = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *x.visits);
    if ((e = db_prepare(d,
                        "SELECT x.venue_id, x.from_at, x.to_at FROM investigation_places x JOIN "
                        "investigations i ON i.id = x.investigation_id WHERE i.person_id = ? AND "
                        "i.deleted_at = 0 AND x.venue_id > 0 ORDER BY x.from_at, x.venue_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, case_person_id);
    while ((int64_t)x.n_visits < n && !(e = db_row(s, &row)) && row)
        x.visits[x.n_visits++] = (struct investigation_visit){
            db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2)};
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        "SELECT COUNT(DISTINCT c.person_id) FROM investigation_contacts c JOIN "
                        "investigations i ON i.id = c.investigation_id WHERE i.person_id = ? AND "
                        "i.deleted_at = 0 AND c.person_id > 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, case_person_id);
    n = 0;
    if (!(e = db_row(s, &row)) && row)
        n = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    x.contacts = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *x.contacts);
    if ((e = db_prepare(d,
                        "SELECT DISTINCT c.person_id FROM investigation_contacts c JOIN "
                        "investigations i ON i.id = c.investigation_id WHERE i.person_id = ? AND "
                        "i.deleted_at = 0 AND c.person_id > 0 ORDER BY c.person_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, case_person_id);
    while ((int64_t)x.n_contacts < n && !(e = db_row(s, &row)) && row)
        x.contacts[x.n_contacts++] = db_col_int64(s, 0);
    db_done(s);
    if (!e)
        *r = x;
    return e;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *day_json(int32_t day)
{
    if (!day)
        return json_null();
    char buf[11];
    field_date_format(day, buf);
    return json_string(buf);
}

static json_t *ms_json(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

json_t *investigation_json(arena *a, const struct investigation *v, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_set_id(o, "person_id", v->person_id);
    const char *name = nz(v->person_name), *idno = nz(v->id_number);
    json_object_set_new(o, "person_name", json_string(reveal ? name : mask_name(a, name)));
    json_object_set_new(o, "id_number", json_string(reveal ? idno : mask_id_number(a, idno)));
    enum person_status st = (enum person_status)v->person_status;
    json_object_set_new(o, "person_status", json_string(st ? person_status_name(st) : ""));
    json_object_set_new(o, "person_status_label", json_string(st ? person_status_label(st) : ""));
    json_set_region(o, v->region_code, v->region_name);
    json_object_set_new(o, "onset_on", day_json(v->onset_on));
    json_t *sy = json_array(), *sl = json_array();
    for (unsigned b = 1; b & SYM_ALL; b <<= 1)
        if (v->symptoms & b) {
            json_array_append_new(sy, json_string(symptom_name(b)));
            json_array_append_new(sl, json_string(symptom_label(b)));
        }
    json_object_set_new(o, "symptoms", sy);
    json_object_set_new(o, "symptom_labels", sl);
    json_object_set_new(o, "investigated_at", json_integer(v->investigated_at));
    json_set_id(o, "investigator_id", v->investigator_id);
    json_object_set_new(o, "investigator_name", json_string(nz(v->investigator_name)));
    json_object_set_new(o, "institution", json_string(nz(v->institution)));
    json_object_set_new(o, "place_count", json_integer((json_int_t)v->n_places));
    json_object_set_new(o, "contact_count", json_integer((json_int_t)v->n_contacts));
    if (v->places) {
        json_object_set_new(o, "summary", json_string(nz(v->summary)));
        json_t *arr = json_array();
        for (size_t i = 0; i < v->n_places; i++) {
            const struct inv_place *p = &v->places[i];
            json_t *x = json_pack("{s:s,s:s}", "place", nz(p->place), "note", nz(p->note));
            json_set_id_or_null(x, "venue_id", p->venue_id);
            json_object_set_new(x, "venue_name",
                                p->venue_id ? json_string(nz(p->venue_name)) : json_null());
            json_object_set_new(x, "from_at", ms_json(p->from_at));
            json_object_set_new(x, "to_at", ms_json(p->to_at));
            json_array_append_new(arr, x);
        }
        json_object_set_new(o, "places", arr);
    }
    if (v->contacts) {
        json_t *arr = json_array();
        for (size_t i = 0; i < v->n_contacts; i++) {
            const struct inv_contact *c = &v->contacts[i];
            const char *cn = nz(c->name), *cp = nz(c->phone), *ci = nz(c->id_number);
            json_t *x =
                json_pack("{s:s,s:s,s:s,s:s}", "name", reveal ? cn : mask_name(a, cn), "phone",
                          reveal || !*cp ? cp : mask_phone(a, cp), "id_number",
                          reveal || !*ci ? ci : mask_id_number(a, ci), "relation", nz(c->relation));
            json_object_set_new(x, "last_contact_at", ms_json(c->last_contact_at));
            json_set_id_or_null(x, "person_id", c->person_id);
            json_array_append_new(arr, x);
        }
        json_object_set_new(o, "contacts", arr);
    }
    json_object_set_new(o, "version", json_integer(v->version));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "updated_at", json_integer(v->updated_at));
    return o;
}
