/*
 * The scan policy, the electronic pass, applying a scan inside a
 * transaction and the scoped list of access records.
 */
#include "access/access.h"

#include "access/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "db/query.h"
#include "health/health.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "venue/venue.h"

const char *const access_method_names[] = {"staff_scan", "self_scan", "manual", "device", NULL};

const char *access_method_name(enum access_method m)
{
    return m >= ACCESS_STAFF_SCAN && m <= ACCESS_DEVICE ? access_method_names[m - 1] : "";
}

enum access_method access_method_parse(const char *s)
{
    for (int i = 0; s && access_method_names[i]; i++)
        if (!strcmp(s, access_method_names[i]))
            return (enum access_method)(i + 1);
    return 0;
}

struct access_decision access_evaluate(const struct access_policy *p, enum code_colour colour,
                                       double temperature, int64_t passed)
{
    struct access_decision d = {0};
    unsigned bit = colour == CODE_GREEN    ? VENUE_GREEN
                   : colour == CODE_YELLOW ? VENUE_YELLOW
                                           : VENUE_RED;
    if (!(p->allowed_colors & bit))
        d.deny |= ACCESS_DENY_COLOUR;
    if (colour != CODE_GREEN)
        d.alerts |= ACCESS_ALERT_COLOUR;
    if (temperature >= 0 && temperature >= p->fever_threshold) {
        d.deny |= ACCESS_DENY_FEVER;
        d.alerts |= ACCESS_ALERT_FEVER;
    }
    if (p->limit_count > 0 && passed >= p->limit_count) {
        d.deny |= ACCESS_DENY_LIMIT;
        d.alerts |= ACCESS_ALERT_LIMIT;
    }
    d.pass = d.deny == 0;
    return d;
}

const char *access_deny_slug(unsigned bit)
{
    switch (bit) {
    case ACCESS_DENY_COLOUR:
        return "colour_not_allowed";
    case ACCESS_DENY_FEVER:
        return "fever";
    case ACCESS_DENY_LIMIT:
        return "entry_limit";
    }
    return "";
}

static unsigned first_bit(unsigned v)
{
    return v & -v;
}

/* ---- the pass ------------------------------------------------------------------------ */

int64_t access_community(int64_t region_code)
{
    /* the community is the residence's 12-digit prefix (grids and buildings hang below) */
    int64_t community = regcode_at_most(region_code, LEVEL_COMMUNITY);
    return community > 0 && regcode_level(community) == LEVEL_COMMUNITY ? community : 0;
}

err access_pass(db *d, int64_t person_id, int64_t person_region, int person_status, bool *valid_r,
                int64_t *community_r, const char **reason_r)
{
    int64_t community = access_community(person_region);
    if (!community) {
        *valid_r = false;
        *community_r = 0;
        *reason_r = "未登记到社区，无通行证";
        return E_OK;
    }
    *community_r = community;
    err ve = person_require_verified(d, person_id); /* issue 8 item 5: self-asserted identity */
    if (ve == E_FORBIDDEN) {
        *valid_r = false;
        *reason_r = "身份待社区核验，请携带证件到社区核验";
        return E_OK;
    }
    if (ve && ve != E_NOT_FOUND)
        return ve;
    if (person_status == PERSON_OBSERVATION || person_status == PERSON_HOME_ISOLATION ||
        person_status == PERSON_CENTRAL_QUARANTINE) {
        *valid_r = false;
        *reason_r = "隔离期间通行证暂停";
        return E_OK;
    }
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM isolations WHERE person_id = ? AND start_at <= ? "
                       "AND (end_at = 0 OR end_at > ?)",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now);
    bool found;
    e = db_row(s, &found);
    int64_t open = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    *valid_r = open == 0;
    *reason_r = open ? "隔离期间通行证暂停" : "";
    return E_OK;
}

/* ---- applying a scan --------------------------------------------------------------------- */

static err count_passed(db *d, const struct access_scan *sc, int64_t *n_r)
{
    *n_r = 0;
    if (sc->policy.limit_count <= 0 || sc->person_id <= 0)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM access_records WHERE person_id = ? AND venue_id = ? "
                       "AND at >= ? AND direction = ? AND verdict = 'pass'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->person_id);
    db_bind_int64(s, 2, sc->venue_id);
    db_bind_int64(s, 3, sc->at - sc->policy.limit_hours * 3600000LL);
    int64_t since = sc->at - sc->policy.limit_hours * 3600000LL;
    db_bind_text(s, 4, sc->direction == ACCESS_IN ? "in" : "out");
    /* the database's and the journal's records, each counted once while the
     * indexer moves them from one to the other (journal.h) */
    access_journal_count_begin();
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *n_r = db_col_int64(s, 0);
    db_done(s);
    if (!e)
        *n_r += access_journal_passed(sc->person_id, sc->venue_id, (uint8_t)sc->direction, since);
    access_journal_count_end();
    return e;
}

static err insert_record(db *d, const struct access_scan *sc)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO access_records (id, venue_id, region_code, person_id, "
                       "direction, at, temperature, colour, verdict, reason, method, "
                       "operator_user_id, device_id, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->record_id);
    db_bind_int64(s, 2, sc->venue_id);
    db_bind_int64(s, 3, sc->venue_region);
    db_bind_int64(s, 4, sc->person_id);
    db_bind_text(s, 5, sc->direction == ACCESS_IN ? "in" : "out");
    db_bind_int64(s, 6, sc->at);
    if (sc->temperature >= 0)
        db_bind_double(s, 7, sc->temperature);
    else
        db_bind_null(s, 7);
    db_bind_text(s, 8, code_colour_name(sc->colour));
    db_bind_text(s, 9, sc->decision.pass ? "pass" : "deny");
    db_bind_text(s, 10, access_deny_slug(first_bit(sc->decision.deny)));
    db_bind_text(s, 11, access_method_name(sc->method));
    db_bind_int64(s, 12, sc->operator_user_id);
    db_bind_int64(s, 13, sc->device_id);
    db_bind_int64(s, 14, now_ms());
    return db_run(s, NULL);
}

static err raise(db *d, arena *a, struct access_scan *sc, enum alert_kind kind,
                 enum alert_level level, const char *message)
{
    json_t *detail = json_object();
    json_set_id(detail, "access_record_id", sc->record_id);
    json_object_set_new(detail, "colour", json_string(code_colour_name(sc->colour)));
    json_object_set_new(detail, "direction",
                        json_string(sc->direction == ACCESS_IN ? "in" : "out"));
    if (sc->temperature >= 0)
        json_object_set_new(detail, "temperature", json_real(sc->temperature));
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    struct alert_new an = {
        .kind = kind,
        .level = level,
        .region_code = sc->venue_region,
        .venue_id = sc->venue_id,
        .person_id = sc->person_id,
        .message = message,
        .detail = text ? arena_strdup(a, text) : NULL,
        .at = sc->at,
    };
    free(text);
    return alert_raise(d, &an, &sc->alert_ids[sc->n_alerts++]);
}

err access_decide(db *d, arena *a, struct access_scan *sc, const struct journal_rec *batch,
                  size_t n)
{
    sc->at = now_ms();
    if (!sc->record_id)
        sc->record_id = id_new();
    sc->n_alerts = 0;
    struct code_current c = {CODE_GREEN, "[]", 0};
    err e;
    if (sc->person_id > 0 && (e = code_of(d, a, sc->person_id, &c)))
        return e;
    sc->colour = c.colour;
    sc->reasons = c.reasons;
    int64_t passed;
    if ((e = count_passed(d, sc, &passed)))
        return e;
    int64_t since = sc->at - sc->policy.limit_hours * 3600000LL;
    for (size_t i = 0; i < n && sc->policy.limit_count > 0; i++)
        passed += batch[i].person_id == sc->person_id && batch[i].venue_id == sc->venue_id &&
                  batch[i].direction == sc->direction && batch[i].pass && batch[i].at >= since;
    sc->decision = access_evaluate(&sc->policy, sc->colour, sc->temperature, passed);
    return E_OK;
}

err access_apply(db *d, arena *a, struct access_scan *sc)
{
    struct scope all = scope_all(); /* the token named the person: any residence */
    sc->at = now_ms();
    if (!sc->record_id) /* a handler may have named it already (its audit entry) */
        sc->record_id = id_new();
    sc->n_alerts = 0;
    err e;
    if (sc->temperature >= 0 && sc->person_id > 0 && !sc->remote) {
        struct reading rd = {.person_id = sc->person_id,
                             .celsius = sc->temperature,
                             .at = sc->at,
                             .source = sc->method == ACCESS_DEVICE ? "device" : "checkpoint",
                             .venue_id = sc->venue_id,
                             .device_id = sc->device_id,
                             .user_id = sc->operator_user_id};
        if ((e = health_reading_record_tx(d, a, &all, &rd)))
            return e;
    }
    struct code_current c = {CODE_GREEN, "[]", 0};
    if (sc->remote) /* the issuer's answer (共享互认) */
        c = (struct code_current){sc->remote_colour, sc->remote_reasons, 0};
    else if (sc->person_id > 0 && (e = code_of(d, a, sc->person_id, &c))) /* found by the handler */
        return e;
    sc->colour = c.colour;
    sc->reasons = c.reasons;
    int64_t passed;
    if ((e = count_passed(d, sc, &passed)))
        return e;
    sc->decision = access_evaluate(&sc->policy, sc->colour, sc->temperature, passed);
    if ((e = insert_record(d, sc)))
        return e;
    const char *who = sc->masked_name ? sc->masked_name : "";
    unsigned al = sc->decision.alerts;
    if (al & ACCESS_ALERT_FEVER &&
        (e = raise(d, a, sc, ALERT_FEVER, ALERT_CRITICAL,
                   arena_printf(a, "%s在%s测得体温%.1f℃，达到发热阈值%.1f℃", who, sc->venue_name,
                                sc->temperature, sc->policy.fever_threshold))))
        return e;
    if (al & ACCESS_ALERT_COLOUR &&
        (e = raise(
             d, a, sc, ALERT_CODE_COLOUR, sc->colour == CODE_RED ? ALERT_CRITICAL : ALERT_WARNING,
             arena_printf(a, "%s在%s出示%s", who, sc->venue_name, code_colour_label(sc->colour)))))
        return e;
    if (al & ACCESS_ALERT_LIMIT &&
        (e = raise(d, a, sc, ALERT_ENTRY_LIMIT, ALERT_WARNING,
                   arena_printf(a, "%s在%s%lld小时内已%s%lld次，超过上限%lld次", who,
                                sc->venue_name, (long long)sc->policy.limit_hours,
                                sc->direction == ACCESS_IN ? "进入" : "外出", (long long)passed,
                                (long long)sc->policy.limit_count))))
        return e;
    return E_OK;
}

static const char *const deny_text[] = {"健康码颜色不允许通行", "体温异常",
                                        "超出周期内出入次数上限"};

/* The Chinese text of a record's reason slug ("" for none or unknown). */
static const char *reason_text(const char *slug)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(slug, access_deny_slug(1u << i)))
            return deny_text[i];
    return "";
}

void access_scan_jsonw(struct jsonw *w, const struct access_scan *sc, bool self)
{
    jsonw_key(w, "verdict");
    jsonw_string(w, sc->decision.pass ? "pass" : "deny");
    jsonw_key(w, "colour");
    jsonw_string(w, code_colour_name(sc->colour));
    jsonw_key(w, "label");
    jsonw_string(w, code_colour_label(sc->colour));
    if (!self) {
        jsonw_key(w, "reasons");
        const char *rs = sc->reasons ? sc->reasons : "[]";
        json_t *reasons = strcmp(rs, "[]") ? json_loads(rs, 0, NULL) : NULL;
        if (reasons) {
            jsonw_json(w, reasons);
            json_decref(reasons);
        } else {
            jsonw_array(w); /* none, or unreadable: none shown */
            jsonw_array_end(w);
        }
    }
    jsonw_key(w, "deny_reasons");
    jsonw_array(w);
    for (int i = 0; i < 3; i++) {
        if (sc->decision.deny & 1u << i) {
            jsonw_object(w);
            jsonw_key(w, "code");
            jsonw_string(w, access_deny_slug(1u << i));
            jsonw_key(w, "text");
            jsonw_string(w, deny_text[i]);
            jsonw_object_end(w);
        }
    }
    jsonw_array_end(w);
    if (!self) {
        jsonw_key(w, "temperature");
        if (sc->temperature >= 0)
            jsonw_real(w, sc->temperature);
        else
            jsonw_null(w);
        jsonw_key(w, "alerts");
        jsonw_array(w);
        static const char *const kinds[] = {"fever", "code_colour", "entry_limit"};
        int k = 0;
        for (int i = 0; i < 3; i++) {
            unsigned bit = i == 0   ? ACCESS_ALERT_FEVER
                           : i == 1 ? ACCESS_ALERT_COLOUR
                                    : ACCESS_ALERT_LIMIT;
            if (sc->decision.alerts & bit && k < sc->n_alerts) {
                jsonw_object(w);
                jsonw_key(w, "id");
                jsonw_id(w, sc->alert_ids[k++]);
                jsonw_key(w, "kind");
                jsonw_string(w, kinds[i]);
                jsonw_object_end(w);
            }
        }
        jsonw_array_end(w);
    }
    jsonw_key(w, "record_id");
    jsonw_id(w, sc->record_id);
    jsonw_key(w, "at");
    jsonw_int(w, sc->at);
    jsonw_key(w, "direction");
    jsonw_string(w, sc->direction == ACCESS_IN ? "in" : "out");
}

json_t *access_scan_json(const struct access_scan *sc)
{
    /* one shape for both: the scan writes it straight into its reply */
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    access_scan_jsonw(&w, sc, false);
    jsonw_object_end(&w);
    json_t *o = jsonw_parse(&w);
    return o ? o : json_object();
}

/* ---- the list --------------------------------------------------------------------------- */

#define ACOLS                                                                                      \
    "a.id, a.venue_id, a.region_code, a.person_id, a.direction, a.at, a.temperature, a.colour, "   \
    "a.verdict, a.reason, a.method, a.operator_user_id, a.device_id, v.name, p.name_enc, "         \
    "sp.masked_name, sp.region_name, a.phone_enc, a.note_enc"
/* The names a reader needs come with the page: the venue's name and the
 * person's (sealed) name, joined in the same scoped statement rather than
 * looked up per row, for the page's rows only (query_page's key). A record
 * keeps its venue and person ids, so LEFT JOIN only guards against a row
 * that a purge removed. */
#define AFROM                                                                                      \
    " FROM access_records a LEFT JOIN venues v ON v.id = a.venue_id "                              \
    "LEFT JOIN persons p ON p.id = a.person_id "                                                   \
    "LEFT JOIN exchange_share_people sp ON sp.person_id = a.person_id"

/* " WHERE …" on access_records a for the filter: only the conditions it
 * sets, so an index on the venue, the person or the time serves them.
 * walk: the range as +region_code, for walking access_records_at newest
 * first (sql/101, query_page's walk). */
static void where_of(struct query *q, const struct scope *sc, const struct access_filter *f,
                     bool walk)
{
    query_sql(q, walk ? " WHERE +a.region_code >= ? AND +a.region_code < ?"
                      : " WHERE a.region_code >= ? AND a.region_code < ?");
    query_int(q, sc->lo);
    query_int(q, sc->hi);
    if (f->venue_id) {
        query_sql(q, " AND a.venue_id = ?");
        query_int(q, f->venue_id);
    }
    if (f->person_id) {
        query_sql(q, " AND a.person_id = ?");
        query_int(q, f->person_id);
    }
    if (f->from) {
        query_sql(q, " AND a.at >= ?");
        query_int(q, f->from);
    }
    if (f->to) {
        query_sql(q, " AND a.at < ?");
        query_int(q, f->to);
    }
    static const char *const cols[] = {" AND a.colour = ?", " AND a.verdict = ?",
                                       " AND a.method = ?", " AND a.direction = ?"};
    const char *vals[] = {f->colour, f->verdict, f->method, f->direction};
    for (int i = 0; i < 4; i++)
        if (vals[i] && *vals[i]) {
            query_sql(q, cols[i]);
            query_text(q, vals[i]);
        }
}

static err record_json(arena *a, db_stmt *s, json_t **o_r)
{
    json_t *o = json_object();
    char code[19];
    json_set_id(o, "id", db_col_int64(s, 0));
    json_set_id(o, "venue_id", db_col_int64(s, 1));
    regcode_format(db_col_int64(s, 2), code);
    json_object_set_new(o, "region_code", json_string(code));
    json_set_id(o, "person_id", db_col_int64(s, 3));
    json_object_set_new(o, "direction", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "at", json_integer(db_col_int64(s, 5)));
    json_object_set_new(o, "temperature",
                        db_col_null(s, 6) ? json_null() : json_real(db_col_double(s, 6)));
    json_object_set_new(o, "colour", json_string(db_col_text(s, 7)));
    json_object_set_new(o, "verdict", json_string(db_col_text(s, 8)));
    json_object_set_new(o, "reason", json_string(db_col_text(s, 9)));
    json_object_set_new(o, "reason_label", json_string(reason_text(db_col_text(s, 9))));
    json_object_set_new(o, "method", json_string(db_col_text(s, 10)));
    json_set_id(o, "operator_user_id", db_col_int64(s, 11));
    json_set_id(o, "device_id", db_col_int64(s, 12));
    json_object_set_new(o, "venue_name", json_string(db_col_text(s, 13)));
    const char *name, *phone, *note;
    err e = person_name_masked_col(a, s, 14, &name);
    if (e) {
        json_decref(o);
        return e;
    }
    if (!*name && !db_col_null(s, 15)) /* someone of another instance (共享互认) */
        name = arena_printf(a, "%s（外区：%s）", db_col_text(s, 15), db_col_text(s, 16));
    json_object_set_new(o, "person_name", json_string(name));
    /* a manual entry's register (出入登记), masked as names are */
    if ((e = unseal_col(a, s, 17, "access_records.phone", &phone)) ||
        (e = unseal_col(a, s, 18, "access_records.note", &note))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "phone", phone ? json_string(mask_phone(a, phone)) : json_null());
    json_object_set_new(o, "note", note ? json_string(mask_address(a, note)) : json_null());
    *o_r = o;
    return E_OK;
}

err access_list(db *d, arena *a, const struct scope *sc, const struct access_filter *f,
                json_t **items_r, int64_t *total_r, bool *capped_r)
{
    access_journal_sync(); /* every acknowledged scan is in the table (journal.h) */
    struct query *w = arena_alloc(a, sizeof *w), *walk = arena_alloc(a, sizeof *walk);
    *w = (struct query)QUERY_INIT;
    *walk = (struct query)QUERY_INIT;
    where_of(w, sc, f, false);
    where_of(walk, sc, f, true);
    return query_page_json(d, a, w,
                           &(struct query_page){.count = "SELECT COUNT(*) FROM access_records a",
                                                .select = "SELECT " ACOLS AFROM,
                                                .order = " ORDER BY a.at DESC, a.id DESC",
                                                .page = f->page,
                                                .page_size = f->page_size,
                                                .count_cap = f->count_cap,
                                                .capped_r = capped_r,
                                                .walk = walk,
                                                .key = "a.id"},
                           record_json, items_r, total_r);
}

err access_counts(db *d, const struct scope *sc, const struct access_filter *f,
                  int64_t counts[2][2])
{
    memset(counts, 0, 4 * sizeof counts[0][0]);
    access_journal_sync();
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT a.direction, a.verdict, COUNT(*) FROM access_records a");
    where_of(&q, sc, f, false);
    query_sql(&q, " GROUP BY a.direction, a.verdict");
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        counts[strcmp(db_col_text(s, 0), "in") != 0][strcmp(db_col_text(s, 1), "pass") != 0] +=
            db_col_int64(s, 2);
    db_done(s);
    return e;
}
