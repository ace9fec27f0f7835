/*
 * The rules and the SQL of the person registry: validation, sealing and
 * blind indexes, the name tokens, create / update / soft delete with their
 * history, finding and listing inside the caller's scope.
 *
 * Every statement that reads or writes persons binds the caller's region
 * range; the only statement that does not is the deployment-wide count in
 * check_duplicate(), which reads no column but a count (see person.h).
 */
#include "person/person.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "person/internal.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "security/ratelimit.h"
#include "stats/stats.h"

/* Labels of seal() and blind_index(): "<table>.<column>" (the sealed
 * fields' are derived from the field table, storage_build). */
#define L_NAME    "persons.name"
#define L_ID      "persons.id_number"
#define L_PHONE   "persons.phone"
#define L_PHONE4  "persons.phone_last4"
#define L_ADDRESS "persons.address"
#define L_TOKEN   "persons.name_token"
#define L_CHANGES "person_history.changes"

/* ---- validation ------------------------------------------------------------ */

char *person_id_normalise(char *s)
{
    if (!s)
        return s;
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\t')
            continue;
        *w++ = *r >= 'a' && *r <= 'z' ? (char)(*r - 'a' + 'A') : *r;
    }
    *w = '\0';
    return s;
}

int32_t person_today(void)
{
    return china_today();
}

int person_age(int32_t birth, int32_t today)
{
    if (birth <= 0 || today < birth)
        return -1;
    int age = today / 10000 - birth / 10000;
    if (today % 10000 < birth % 10000)
        age--;
    return age;
}

/* "" becomes NULL, so "not recorded" has one form after checking. */
static const char *blank_null(const char *s)
{
    return s && *s ? s : NULL;
}

/* A text field against its limit in the field table. */
static err text_check(const char *s, enum person_field f)
{
    size_t max = person_field_max(f);
    if (!s)
        return E_OK;
    const char *name = person_field_name(f), *label = person_field_label(f);
    if (!utf8_valid_text(s))
        return err_set(E_INPUT, "invalid_value", name, "%s含有不允许的字符", label);
    if (utf8_len(s) > max)
        return err_set(E_INPUT, "too_long", name, "%s不能超过%zu个字符", label, max);
    return E_OK;
}

/* A person's name: printable (no tab or line break), not only spaces. */
static err name_check(const char *s, enum person_field f)
{
    const char *name = person_field_name(f), *label = person_field_label(f);
    err e = text_check(s, f);
    if (e)
        return e;
    bool visible = false;
    for (const char *p = s; *p; p++) {
        if (*p == '\t' || *p == '\n' || *p == '\r')
            return err_set(E_INPUT, "invalid_value", name, "%s不能包含换行或制表符", label);
        if (*p != ' ')
            visible = true;
    }
    if (!visible)
        return err_set(E_INPUT, "required", name, "请填写%s", label);
    return E_OK;
}

/*
 * Every rule of every field, all checked: a record with several faults is
 * answered with all of them at once (base/error.h, collect mode; begun
 * here unless the caller, which may have JSON errors to report with
 * these, already collects). A check that needs an earlier field valid
 * (the birth date against the id number) is skipped when that failed.
 */
err person_check(arena *a, struct person *p, person_fields given)
{
    bool own = !err_collecting();
    if (own)
        err_collect_begin();
    err e = E_OK, x;
#define KEEP(call)                                                                                 \
    do {                                                                                           \
        x = (call);                                                                                \
        if (x && !e)                                                                               \
            e = x;                                                                                 \
    } while (0)
    p->name = blank_null(p->name);
    if (!p->name)
        KEEP(err_set(E_INPUT, "required", "name", "请填写姓名"));
    else
        KEEP(name_check(p->name, PF_NAME));

    bool id_ok = false;
    int32_t birth = 0;
    bool male = false;
    char *idn = p->id_number ? person_id_normalise(arena_strdup(a, p->id_number)) : NULL;
    if (!id_type_name(p->id_type)) {
        KEEP(err_set(E_INPUT, "invalid_id_type", "id_type", "证件类型无效"));
    } else if (!idn || !*idn) {
        KEEP(err_set(E_INPUT, "required", "id_number", "请填写证件号码"));
    } else {
        p->id_number = idn;
        if (p->id_type == ID_RESIDENT)
            x = check_resident_id(idn, "id_number", &birth, &male);
        else
            x = check_id_number(p->id_type, idn, "id_number");
        KEEP(x);
        id_ok = !x;
    }

    bool gender_ok = p->gender >= GENDER_UNKNOWN && p->gender <= GENDER_FEMALE;
    if (!gender_ok)
        KEEP(err_set(E_INPUT, "invalid_value", "gender", "性别的取值不正确"));
    bool birth_ok = !p->birth_date || (p->birth_date >= 19000101 && date_valid(p->birth_date) &&
                                       p->birth_date <= person_today());
    if (!birth_ok)
        KEEP(err_set(E_INPUT, "invalid_birth_date", "birth_date", "出生日期无效"));
    if (p->id_type == ID_RESIDENT && id_ok) {
        /* The id number is the authority; a stated value must agree. */
        enum person_gender g = male ? GENDER_MALE : GENDER_FEMALE;
        if (birth_ok && (given & PF_BIT(PF_BIRTH_DATE)) && p->birth_date && p->birth_date != birth)
            KEEP(err_set(E_INPUT, "birth_date_mismatch", "birth_date",
                         "出生日期与身份证号码不一致"));
        if (gender_ok && (given & PF_BIT(PF_GENDER)) && p->gender != GENDER_UNKNOWN &&
            p->gender != g)
            KEEP(err_set(E_INPUT, "gender_mismatch", "gender", "性别与身份证号码不一致"));
        p->birth_date = birth;
        p->gender = g;
    }

    if (!p->category)
        p->category = PERSON_RESIDENT;
    if (!person_category_name(p->category)[0])
        KEEP(err_set(E_INPUT, "invalid_value", "category", "人员类型的取值不正确"));
    if (!p->status)
        p->status = PERSON_NORMAL;
    if (!person_status_name(p->status)[0])
        KEEP(err_set(E_INPUT, "invalid_value", "status", "状态的取值不正确"));
    p->source = blank_null(p->source);
    if (!p->source)
        p->source = "staff";
    if (!person_source_valid(p->source))
        KEEP(err_set(E_INPUT, "invalid_value", "source", "信息来源的取值不正确"));
    if (p->vulnerable & ~VULN_ALL)
        KEEP(err_set(E_INPUT, "invalid_value", "vulnerable", "重点人群的取值不正确"));
    if (p->consent_at < 0)
        KEEP(err_set(E_INPUT, "out_of_range", "consent_at", "同意采集时间无效"));
    if (!regcode_level(p->region_code))
        KEEP(err_set(E_INPUT, "invalid_region", "region_code",
                     "所属区划不存在或不在您的管辖范围内"));

    p->native_place = blank_null(p->native_place);
    p->address = blank_null(p->address);
    p->household = blank_null(p->household);
    p->household_relation = blank_null(p->household_relation);
    p->phone = blank_null(p->phone);
    p->emergency_contact_name = blank_null(p->emergency_contact_name);
    p->emergency_contact_phone = blank_null(p->emergency_contact_phone);
    p->employer = blank_null(p->employer);
    p->work_address = blank_null(p->work_address);
    p->current_location = blank_null(p->current_location);
    KEEP(text_check(p->native_place, PF_NATIVE_PLACE));
    KEEP(text_check(p->address, PF_ADDRESS));
    KEEP(text_check(p->household, PF_HOUSEHOLD));
    KEEP(text_check(p->household_relation, PF_HOUSEHOLD_RELATION));
    KEEP(text_check(p->employer, PF_EMPLOYER));
    KEEP(text_check(p->work_address, PF_WORK_ADDRESS));
    KEEP(text_check(p->current_location, PF_CURRENT_LOCATION));
    if (p->emergency_contact_name)
        KEEP(name_check(p->emergency_contact_name, PF_EMERGENCY_CONTACT_NAME));
    if (p->phone)
        KEEP(check_phone(p->phone, "phone"));
    if (p->emergency_contact_phone)
        KEEP(check_phone(p->emergency_contact_phone, "emergency_contact_phone"));
#undef KEEP
    if (own)
        err_collect_end();
    return e;
}

err person_region_check(db *d, const struct scope *sc, int64_t code, const char *field)
{
    int64_t n = 0;
    if (code > 0 && scope_has(sc, code)) {
        db_stmt *s;
        err e = db_prepare(
            d, "SELECT COUNT(*) FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, code);
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
        bool row;
        if (!(e = db_row(s, &row)) && row)
            n = db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
    }
    if (n == 0)
        return err_set(E_INPUT, "invalid_region", field, "所属区划不存在或不在您的管辖范围内");
    return E_OK;
}

/* ---- storage, generated from the field table ------------------------------------- */

/*
 * The persons row is the field table's columns in the table's order
 * (person/internal.h), each sealed field followed by its keyed blind
 * indexes (the exact searches of person.h), then the program's own
 * columns. The SQL text is assembled once from those fixed column names
 * (never from a value), and the binds and the reads walk the same table,
 * so a field is stored, read and bound in one place.
 */

/* The blind indexes stored beside a sealed column, in column order. */
enum bidx { BI_NAME, BI_ID, BI_PHONE, BI_PHONE4, BI__COUNT };
static const struct {
    enum person_field field;
    const char *column;
} bidx_cols[BI__COUNT] = {
    [BI_NAME] = {PF_NAME, "name_bidx"},
    [BI_ID] = {PF_ID_NUMBER, "id_number_bidx"},
    [BI_PHONE] = {PF_PHONE, "phone_bidx"},
    [BI_PHONE4] = {PF_PHONE, "phone_last4_bidx"},
};

static struct {
    pthread_once_t once;
    char insert[1536], update[1536], cols[1024];
    char seal[PF__COUNT][64]; /* "persons.<column without _enc>" of sealed fields */
    int col[PF__COUNT];       /* the field's column in a SELECT of cols */
} st = {.once = PTHREAD_ONCE_INIT};

/* The columns of a SELECT of st.cols besides the fields' own (1 + field). */
enum {
    C_ID = 0,
    C_VERSION = PF__COUNT + 1,
    C_CREATED_BY,
    C_UPDATED_BY,
    C_CREATED_AT,
    C_UPDATED_AT,
    C_UNVERIFIED,
    C_COLOUR
};

static void storage_build(void)
{
    fields_sql_put(st.insert, sizeof st.insert, "INSERT INTO persons (id");
    fields_sql_put(st.update, sizeof st.update, "UPDATE persons SET ");
    fields_sql_put(st.cols, sizeof st.cols, "id");
    const char *sep = "";
    int nvalues = 0;
    for (int f = 0; f < PF__COUNT; f++) {
        const struct field *d = person_field_desc((enum person_field)f);
        st.col[f] = 1 + f;
        fields_sql_put(st.cols, sizeof st.cols, ", ");
        fields_sql_put(st.cols, sizeof st.cols, d->column);
        const char *c[1 + BI__COUNT] = {d->column};
        int nc = 1;
        for (int i = 0; i < BI__COUNT; i++)
            if (bidx_cols[i].field == (enum person_field)f)
                c[nc++] = bidx_cols[i].column;
        for (int i = 0; i < nc; i++) {
            fields_sql_put(st.insert, sizeof st.insert, ", ");
            fields_sql_put(st.insert, sizeof st.insert, c[i]);
            fields_sql_put(st.update, sizeof st.update, sep);
            fields_sql_put(st.update, sizeof st.update, c[i]);
            fields_sql_put(st.update, sizeof st.update, " = ?");
            sep = ", ";
            nvalues++;
        }
        if (FIELD_SEALED(d))
            field_seal_label("persons", d, st.seal[f]);
    }
    fields_sql_put(
        st.insert, sizeof st.insert,
        ", unverified, version, created_by, updated_by, created_at, updated_at) VALUES (?");
    for (int i = 0; i < nvalues + 1; i++) /* the fields' columns and unverified */
        fields_sql_put(st.insert, sizeof st.insert, ", ?");
    fields_sql_put(st.insert, sizeof st.insert, ", 1, ?, ?, ?, ?)");
    fields_sql_put(
        st.update, sizeof st.update,
        ", unverified = ?, version = version + 1, updated_by = ?, updated_at = ? WHERE id = ? "
        "AND version = ? AND region_code >= ? AND region_code < ? AND deleted_at = 0");
    fields_sql_put(st.cols, sizeof st.cols,
                   ", version, created_by, updated_by, created_at, updated_at, unverified, "
                   "COALESCE((SELECT h.colour FROM health_codes h WHERE h.person_id = persons.id), "
                   "'green')");
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

/* Room for every sealed field at its limit (4 bytes a character; a field
 * without a character limit, a phone, at most 32 bytes). */
#define SEALED_BUF 4096

struct sealed {
    const uint8_t *ct[PF__COUNT]; /* NULL when not sealed or not recorded */
    size_t n[PF__COUNT];
    uint8_t key[BI__COUNT][BLIND_LEN];
    bool has[BI__COUNT];
    /* the id number's index under both versions during a key rotation,
     * for the duplicate look-up (person_sealed_holder) */
    uint8_t id_both[BLIND_MAX][BLIND_LEN];
    int n_id;
    size_t used;
    uint8_t buf[SEALED_BUF];
};

static err seal_record(const struct person *p, struct sealed *z)
{
    storage_init();
    z->used = 0;
    for (int f = 0; f < PF__COUNT; f++) {
        const struct field *d = person_field_desc((enum person_field)f);
        z->ct[f] = NULL;
        z->n[f] = 0;
        if (!FIELD_SEALED(d))
            continue;
        const char *v = *(const char *const *)(const void *)((const char *)p + d->off);
        if (!v || !*v)
            continue;
        size_t n = strlen(v), max = d->max ? (size_t)d->max * 4 : 32;
        if (n > max || z->used + n + SEAL_OVERHEAD > sizeof z->buf)
            return err_set(E_INPUT, "too_long", d->name, "%s过长", d->label);
        uint8_t *out = z->buf + z->used;
        err e = seal_buf(st.seal[f], v, n, out);
        if (e)
            return e;
        z->ct[f] = out;
        z->n[f] = n + SEAL_OVERHEAD;
        z->used += n + SEAL_OVERHEAD;
    }
    if (!z->ct[PF_NAME] || !z->ct[PF_ID_NUMBER])
        return err_set(E_INPUT, "required", z->ct[PF_NAME] ? "id_number" : "name", "缺少必填项");
    z->n_id = blind_search(L_ID, p->id_number, z->id_both);
    memcpy(z->key[BI_ID], z->id_both[0], BLIND_LEN);
    blind_index(L_NAME, p->name, z->key[BI_NAME]);
    z->has[BI_ID] = z->has[BI_NAME] = true;
    z->has[BI_PHONE] = z->ct[PF_PHONE] != NULL;
    if (z->has[BI_PHONE])
        blind_index(L_PHONE, p->phone, z->key[BI_PHONE]);
    z->has[BI_PHONE4] = person_phone_last4_index(p->phone, z->key[BI_PHONE4]);
    return E_OK;
}

bool person_phone_last4_index(const char *phone, uint8_t out[BLIND_LEN])
{
    size_t n = phone ? strlen(phone) : 0;
    if (n < 4)
        return false;
    for (size_t i = n - 4; i < n; i++)
        if (phone[i] < '0' || phone[i] > '9')
            return false;
    blind_index(L_PHONE4, phone + n - 4, out);
    return true;
}

/*
 * Bind the fields' columns, their blind indexes and unverified, in the
 * order of st.insert and st.update, starting at parameter i; returns the
 * next parameter's number.
 */
static int bind_record(db_stmt *s, int i, const struct person *p, const struct sealed *z)
{
    for (int f = 0; f < PF__COUNT; f++) {
        const struct field *d = person_field_desc((enum person_field)f);
        if (FIELD_SEALED(d))
            db_bind_blob(s, i++, z->ct[f], z->n[f]);
        else
            field_bind(s, i++, d, p);
        for (int k = 0; k < BI__COUNT; k++)
            if (bidx_cols[k].field == (enum person_field)f)
                db_bind_blob(s, i++, z->has[k] ? z->key[k] : NULL, BLIND_LEN);
    }
    db_bind_int64(s, i++, p->unverified);
    return i;
}

/* The blind-indexed search tokens of a name: E_INPUT when it has none
 * (too long). */
struct name_tokens {
    size_t n;
    uint8_t mac[PERSON_TOKENS_MAX][BLIND_LEN];
};

static err name_tokens(const char *name, struct name_tokens *t)
{
    char buf[PERSON_TOKEN_BUF];
    const char *tok[PERSON_TOKENS_MAX];
    t->n = person_name_tokens(name, buf, sizeof buf, tok, PERSON_TOKENS_MAX);
    if (t->n == 0)
        return err_set(E_INPUT, "too_long", "name", "姓名过长");
    for (size_t i = 0; i < t->n; i++)
        blind_index(L_TOKEN, tok[i], t->mac[i]);
    return E_OK;
}

/* Insert (or delete) the tokens t of person `id`. A delete during a key
 * rotation removes the rows of either version (the person may not be
 * re-indexed yet): the tokens are the person's whatever their version. */
static err tokens_put(db *d, const struct name_tokens *t, int64_t id, bool insert)
{
    const char *sql = insert ? "INSERT INTO person_name_tokens (token, person_id) VALUES (?, ?)"
                             : "DELETE FROM person_name_tokens WHERE token = ? AND person_id = ?";
    if (!insert && blind_rotating()) {
        db_stmt *s;
        err e = db_prepare(d, "DELETE FROM person_name_tokens WHERE person_id = ?", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, id);
        return db_run(s, NULL);
    }
    for (size_t i = 0; i < t->n; i++) {
        db_stmt *s;
        err e = db_prepare(d, sql, &s);
        if (e)
            return e;
        db_bind_blob(s, 1, t->mac[i], BLIND_LEN);
        db_bind_int64(s, 2, id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* Insert (or delete) the blind-indexed tokens of `name` for person `id`. */
static err tokens_write(db *d, const char *name, int64_t id, bool insert)
{
    struct name_tokens t;
    err e = name_tokens(name, &t);
    return e ? e : tokens_put(d, &t, id, insert);
}

/* What person_seal_ahead computed: the sealed record (its buffer cut to
 * what it holds) and the name's tokens. */
struct person_sealed {
    struct name_tokens tokens;
    enum id_type id_type;
    const uint8_t *changes; /* the "create" history entry's changes, sealed */
    size_t nchanges;
    struct sealed z; /* last: its buffer is allocated to `used` bytes */
};

err person_seal_ahead(arena *a, const struct person *p, const struct person_sealed **z_r)
{
    *z_r = NULL;
    struct sealed z;
    err e = seal_record(p, &z);
    if (e)
        return e;
    if (utf8_len(p->name) > PERSON_NAME_MAX)
        return err_set(E_INPUT, "too_long", "name", "姓名不能超过%d个字符", PERSON_NAME_MAX);
    struct person_sealed *k = arena_alloc(a, offsetof(struct person_sealed, z.buf) + z.used);
    if (!k)
        return E_NOMEM;
    if ((e = name_tokens(p->name, &k->tokens)))
        return e;
    size_t n;
    uint8_t *ct;
    const char *changes = person_created_changes(a, p, &n);
    if (!changes)
        return E_NOMEM;
    if ((e = seal(a, L_CHANGES, changes, n, &ct, &k->nchanges)))
        return e;
    k->changes = ct;
    k->id_type = p->id_type;
    memcpy(&k->z, &z, offsetof(struct sealed, buf) + z.used);
    for (int f = 0; f < PF__COUNT; f++) /* into the copy's buffer */
        if (z.ct[f])
            k->z.ct[f] = k->z.buf + (z.ct[f] - z.buf);
    *z_r = k;
    return E_OK;
}

/* person_insert_prepared, sealed ahead when k is not NULL. */
static err insert_sealed(db *d, const struct person *p, int64_t id, int64_t now,
                         const struct person_sealed *k)
{
    struct sealed mine;
    const struct sealed *z = k ? &k->z : &mine;
    err e;
    if (!k) {
        if ((e = seal_record(p, &mine)))
            return e;
        if (utf8_len(p->name) > PERSON_NAME_MAX)
            return err_set(E_INPUT, "too_long", "name", "姓名不能超过%d个字符", PERSON_NAME_MAX);
    }
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    db_bind_int64(s, 1, id);
    int i = bind_record(s, 2, p, z);
    db_bind_int64(s, i++, p->created_by);
    db_bind_int64(s, i++, p->created_by);
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
    struct person counted = *p;
    counted.created_at = now;
    if ((e = db_run(s, NULL)) || (e = person_count(d, &counted, PERSON_COUNT_ALL, 1)))
        return e;
    return k ? tokens_put(d, &k->tokens, id, true) : tokens_write(d, p->name, id, true);
}

err person_insert_prepared(db *d, const struct person *p, int64_t id, int64_t now)
{
    return insert_sealed(d, p, id, now, NULL);
}

/* ---- reading ------------------------------------------------------------------- */

static err open_col(arena *a, db_stmt *s, int col, const char *label, const char **out)
{
    *out = NULL;
    if (db_col_null(s, col))
        return E_OK;
    size_t n;
    const void *ct = db_col_blob(s, col, &n);
    char *plain;
    err e = unseal(a, label, ct, n, &plain, NULL);
    if (e)
        return e;
    *out = *plain ? plain : NULL;
    return E_OK;
}

/* A row selected with st.cols, decrypted. */
static err read_row(arena *a, db_stmt *s, struct person *p)
{
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(s, C_ID);
    for (int f = 0; f < PF__COUNT; f++) {
        const struct field *d = person_field_desc((enum person_field)f);
        int c = st.col[f];
        if (FIELD_SEALED(d)) {
            err e = open_col(a, s, c, st.seal[f], (const char **)((char *)p + d->off));
            if (e)
                return e;
        } else {
            field_read(s, c, a, d, p);
        }
    }
    p->version = db_col_int64(s, C_VERSION);
    p->created_by = db_col_int64(s, C_CREATED_BY);
    p->updated_by = db_col_int64(s, C_UPDATED_BY);
    p->created_at = db_col_int64(s, C_CREATED_AT);
    p->updated_at = db_col_int64(s, C_UPDATED_AT);
    p->unverified = db_col_int64(s, C_UNVERIFIED) != 0;
    p->code_colour = arena_strdup(a, db_col_text(s, C_COLOUR));
    return E_OK;
}

/* Run a prepared single-row SELECT of st.cols; E_NOT_FOUND without detail. */
static err fetch_one(arena *a, db_stmt *s, struct person *p_r)
{
    bool row;
    err e = db_row(s, &row);
    if (!e)
        e = row ? read_row(a, s, p_r) : E_NOT_FOUND;
    db_done(s);
    return e;
}

err person_find(db *d, arena *a, const struct scope *sc, int64_t id, struct person *p_r)
{
    storage_init();
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT ");
    query_sql(&q, st.cols);
    query_sql(&q, " FROM persons WHERE id = ? AND region_code >= ? AND region_code < ? AND "
                  "deleted_at = 0");
    query_int(&q, id);
    query_int(&q, sc->lo);
    query_int(&q, sc->hi);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    return fetch_one(a, s, p_r);
}

err person_find_brief(db *d, arena *a, const struct scope *sc, int64_t id, struct person *p_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, name_enc, status FROM persons WHERE id = ? AND "
                       "region_code >= ? AND region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = E_NOT_FOUND;
    if (!e) {
        memset(p_r, 0, sizeof *p_r);
        p_r->id = id;
        p_r->region_code = db_col_int64(s, 0);
        p_r->status = person_status_parse(db_col_text(s, 2));
        e = open_col(a, s, 1, L_NAME, &p_r->name);
    }
    db_done(s);
    return e;
}

/* A failure (a column that does not decrypt) leaves *name_r as it was: it
 * is an error for the caller to answer, never an empty name to show. */
err person_name_masked_col(arena *a, db_stmt *s, int col, const char **name_r)
{
    const char *plain;
    err e = open_col(a, s, col, L_NAME, &plain);
    if (e)
        return e;
    *name_r = plain ? mask_name(a, plain) : "";
    return E_OK;
}

err person_address_masked_col(arena *a, db_stmt *s, int col, const char **address_r)
{
    const char *plain;
    err e = open_col(a, s, col, L_ADDRESS, &plain);
    if (e)
        return e;
    *address_r = plain ? mask_address(a, plain) : "";
    return E_OK;
}

err person_region(db *d, const struct scope *sc, int64_t id, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code FROM persons WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? E_OK : E_NOT_FOUND;
    if (!e)
        *region_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err person_lock(db *d, const struct scope *sc, int64_t id, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE persons SET version = version WHERE id = ? AND region_code >= ? "
                       "AND region_code < ? AND deleted_at = 0 RETURNING region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? E_OK : E_NOT_FOUND;
    if (!e)
        *region_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err person_find_id_by_phone(db *d, const struct scope *sc, const char *phone, int64_t *id_r,
                            int64_t *n_r)
{
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_PHONE, phone ? phone : "", bidx);
    int64_t id = 0, n = 0;
    err e = E_OK;
    /* one look-up per digest (two only during a key rotation): a person's
     * row holds one of them */
    for (int k = 0; !e && k < nb && n < 2; k++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id FROM persons WHERE phone_bidx = ? AND deleted_at = 0 AND "
                            "region_code >= ? AND region_code < ? ORDER BY id LIMIT 2",
                            &s)))
            return e;
        db_bind_blob(s, 1, bidx[k], BLIND_LEN);
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
        bool row;
        while (!(e = db_row(s, &row)) && row)
            if (!n++)
                id = db_col_int64(s, 0);
        db_done(s);
    }
    if (e)
        return e;
    n = n > 2 ? 2 : n;
    *id_r = id;
    *n_r = n;
    return n ? E_OK : E_NOT_FOUND;
}

err person_find_by_id_number(db *d, arena *a, const struct scope *sc, enum id_type type,
                             const char *id_number, struct person *p_r)
{
    char *idn = person_id_normalise(arena_strdup(a, id_number ? id_number : ""));
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, idn, bidx);
    storage_init();
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT ");
    query_sql(&q, st.cols);
    query_sql(&q, " FROM persons WHERE id_number_bidx");
    query_blobs(&q, bidx, BLIND_LEN, nb);
    query_sql(&q, " AND id_type = ? AND deleted_at = 0 AND region_code >= ? AND region_code < ?");
    query_int(&q, type);
    query_int(&q, sc->lo);
    query_int(&q, sc->hi);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    return fetch_one(a, s, p_r);
}

/* The live holder of the document whose blind index is one of the nb of
 * bidx (two during a key rotation). */
static err holder_by_index(db *d, const uint8_t (*bidx)[BLIND_LEN], int nb, enum id_type type,
                           int64_t *id_r, int64_t *region_r)
{
    *id_r = *region_r = 0;
    /* Deliberately unscoped (see person.h): reads an id and a region only. */
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT id, region_code FROM persons WHERE id_number_bidx");
    query_blobs(&q, bidx, BLIND_LEN, nb);
    query_sql(&q, " AND id_type = ? AND deleted_at = 0 LIMIT 1");
    query_int(&q, type);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool found;
    e = db_row(s, &found);
    if (!e && found) {
        *id_r = db_col_int64(s, 0);
        *region_r = db_col_int64(s, 1);
    }
    db_done(s);
    return e;
}

err person_document_holder(db *d, arena *a, enum id_type type, const char *id_number, int64_t *id_r,
                           int64_t *region_r)
{
    char *idn = person_id_normalise(arena_strdup(a, id_number ? id_number : ""));
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, idn, bidx);
    return holder_by_index(d, bidx, nb, type, id_r, region_r);
}

/* ---- duplicates and history -------------------------------------------------- */

/* Step a COUNT(*) once and give the statement back; 0 when no row. */
static err count_query(db_stmt *s, int64_t *n_r)
{
    bool row;
    err e = db_row(s, &row);
    if (!e)
        *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/*
 * The deployment-wide rule "one person per document": a person inside the
 * scope with this document is a 409 that names it; one outside the scope
 * is a 409 that does not (only a count is read for it, never an id). A
 * person `self` never conflicts with itself.
 */
static err check_duplicate(db *d, const struct scope *sc, enum id_type type, const char *idn,
                           int64_t self)
{
    /* during a key rotation the holder's row may still carry the previous
     * version's index (the unique index sees only one version): both */
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, idn, bidx);
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT id FROM persons WHERE id_number_bidx");
    query_blobs(&q, bidx, BLIND_LEN, nb);
    query_sql(&q, " AND id_type = ? AND deleted_at = 0 AND id <> ? AND region_code >= ? AND "
                  "region_code < ?");
    query_int(&q, type);
    query_int(&q, self);
    query_int(&q, sc->lo);
    query_int(&q, sc->hi);
    int64_t existing;
    err e = query_count(d, &q, &existing);
    if (e)
        return e;
    if (existing)
        return err_set_ref(E_CONFLICT, "duplicate_person", existing, "该证件号码的人员已登记");
    /* Deliberately unscoped: uniqueness is deployment-wide. Reads a count. */
    struct query cq = QUERY_INIT;
    query_sql(&cq, "SELECT COUNT(*) FROM persons WHERE id_number_bidx");
    query_blobs(&cq, bidx, BLIND_LEN, nb);
    query_sql(&cq, " AND id_type = ? AND deleted_at = 0 AND id <> ?");
    query_int(&cq, type);
    query_int(&cq, self);
    int64_t n = 0;
    if ((e = query_count(d, &cq, &n)))
        return e;
    if (n > 0)
        return err_set(E_CONFLICT, "duplicate_person", "id_number",
                       "该证件号码的人员已在其他辖区登记，请联系上级部门核实");
    return E_OK;
}

/* Append a history entry: `text` (n bytes) is the JSON object of
 * {field:[old,new]}, sealed here. */
/* A history entry whose changes are sealed already (ct, n bytes). */
static err history_insert(db *d, int64_t person_id, int64_t at, int64_t user_id, const char *action,
                          const uint8_t *ct, size_t n)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO person_history (id, person_id, at, user_id, action, "
                       "changes_enc) VALUES (?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, person_id);
    db_bind_int64(s, 3, at);
    db_bind_int64(s, 4, user_id);
    db_bind_text(s, 5, action);
    db_bind_blob(s, 6, ct, n);
    return db_run(s, NULL);
}

static err history_write_text(db *d, arena *a, int64_t person_id, int64_t at, int64_t user_id,
                              const char *action, const char *text, size_t n)
{
    uint8_t *ct;
    err e = seal(a, L_CHANGES, text, n, &ct, &n);
    return e ? e : history_insert(d, person_id, at, user_id, action, ct, n);
}

/* The same with `changes` as a JSON object. */
static err history_write(db *d, arena *a, int64_t person_id, int64_t at, int64_t user_id,
                         const char *action, json_t *changes)
{
    char *text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = history_write_text(d, a, person_id, at, user_id, action, text, strlen(text));
    free(text);
    return e;
}

/* The fields in name order (as JSON_SORT_KEYS writes them), and each
 * field's value in an empty record: a new person's entry names the fields
 * whose value differs from it. Built once; read-only afterwards. */
static struct {
    pthread_once_t once;
    enum person_field order[PF__COUNT];
    json_t *empty[PF__COUNT];
} created = {.once = PTHREAD_ONCE_INIT};

static int by_field_name(const void *x, const void *y)
{
    return strcmp(person_field_name(*(const enum person_field *)x),
                  person_field_name(*(const enum person_field *)y));
}

static void created_build(void)
{
    const struct person none = {0};
    for (int f = 0; f < PF__COUNT; f++) {
        created.order[f] = (enum person_field)f;
        created.empty[f] = person_field_json(&none, (enum person_field)f);
    }
    qsort(created.order, PF__COUNT, sizeof created.order[0], by_field_name);
}

/* Room for len more bytes at *buf's end (*used of *cap), in the arena. */
static bool text_room(arena *a, char **buf, size_t *cap, size_t used, size_t len)
{
    if (used + len <= *cap)
        return true;
    size_t cap2 = (*cap + len) * 2;
    char *b = arena_alloc(a, cap2);
    if (!b)
        return false;
    memcpy(b, *buf, used);
    *buf = b;
    *cap = cap2;
    return true;
}

/*
 * Is s (n bytes) a JSON string's contents as jansson writes them, byte for
 * byte: valid UTF-8 (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF, as jansson checks) and nothing escaped (no control character,
 * quote or backslash)? Anything else goes through jansson.
 */
static bool json_plain(const char *s, size_t *n_r)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            if (c < 0x20 || c == '"' || c == '\\')
                return false;
            p++;
            continue;
        }
        unsigned lo = 0x80, hi = 0xBF;
        int extra;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        p++;
        if (*p < lo || *p > hi)
            return false;
        p++;
        for (int i = 1; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    *n_r = (size_t)(p - (const unsigned char *)s);
    return true;
}

char *person_created_changes(arena *a, const struct person *p, size_t *n_r)
{
    pthread_once(&created.once, created_build);
    size_t cap = 1024, used = 0;
    char *buf = arena_alloc(a, cap);
    if (!buf)
        return NULL;
    buf[used++] = '{';
    for (int i = 0; i < PF__COUNT; i++) {
        enum person_field f = created.order[i];
        const struct field *d = person_field_desc(f);
        const char *text = NULL;
        size_t vn = 0;
        json_t *v = NULL;
        if (d->kind == FD_TEXT) {
            /* a text differs from the empty record's (null, or "") when it
             * has a character; most are written as they are */
            text = *(const char *const *)(const void *)((const char *)p + d->off);
            if (!text || !*text)
                continue;
            if (!json_plain(text, &vn))
                text = NULL;
        }
        if (!text) {
            if (!(v = person_field_json(p, f)))
                return NULL;
            if (json_equal(v, created.empty[f])) {
                json_decref(v);
                continue;
            }
        }
        const char *name = person_field_name(f);
        size_t nn = strlen(name);
        /* ,"name":[null,VALUE] */
        if (!text_room(a, &buf, &cap, used, nn + 11 + (text ? vn + 2 : 0))) {
            json_decref(v);
            return NULL;
        }
        if (used > 1)
            buf[used++] = ',';
        buf[used++] = '"';
        memcpy(buf + used, name, nn);
        used += nn;
        memcpy(buf + used, "\":[null,", 8);
        used += 8;
        if (text) {
            buf[used++] = '"';
            memcpy(buf + used, text, vn);
            used += vn;
            buf[used++] = '"';
        } else {
            vn = json_dumpb(v, buf + used, cap - used, JSON_COMPACT | JSON_ENCODE_ANY);
            if (vn > cap - used) {
                if (!text_room(a, &buf, &cap, used, vn))
                    vn = 0;
                else
                    vn = json_dumpb(v, buf + used, cap - used, JSON_COMPACT | JSON_ENCODE_ANY);
            }
            json_decref(v);
            if (!vn)
                return NULL;
            used += vn;
        }
        if (!text_room(a, &buf, &cap, used, 3))
            return NULL;
        buf[used++] = ']';
    }
    buf[used++] = '}';
    buf[used] = '\0';
    *n_r = used;
    return buf;
}

/* {field: [old, new]} for the fields in `which` (old NULL: all null). */
static json_t *changes_of(const struct person *old, const struct person *nw, person_fields which)
{
    json_t *c = json_object();
    for (int f = 0; f < PF__COUNT; f++) {
        if (!(which & PF_BIT(f)))
            continue;
        json_t *o = old ? person_field_json(old, (enum person_field)f) : json_null();
        json_object_set_new(c, person_field_name((enum person_field)f),
                            json_pack("[oo]", o, person_field_json(nw, (enum person_field)f)));
    }
    return c;
}

/* The fields whose API value differs between a and b. */
static person_fields diff(const struct person *a, const struct person *b)
{
    person_fields out = 0;
    for (int f = 0; f < PF__COUNT; f++) {
        json_t *x = person_field_json(a, (enum person_field)f);
        json_t *y = person_field_json(b, (enum person_field)f);
        if (!json_equal(x, y))
            out |= PF_BIT(f);
        json_decref(x);
        json_decref(y);
    }
    return out;
}

/* ---- create / update / delete -------------------------------------------------- */

/* The unique index caught a duplicate the pre-check missed (a concurrent
 * create): answer exactly as the pre-check would have. */
static err duplicate_after_race(db *d, const struct scope *sc, const struct person *p, int64_t self)
{
    err e = check_duplicate(d, sc, p->id_type, p->id_number, self);
    if (e == E_CONFLICT || e == E_DB)
        return e;
    return err_set(E_CONFLICT, "duplicate_person", "id_number", "该证件号码的人员已登记");
}

static person_change_fn on_change;

err person_on_change(person_change_fn fn)
{
    if (fn && on_change && on_change != fn)
        return err_set(E_INTERNAL, NULL, NULL, "person_on_change 已有订阅者：每个钩子只能注册一个");
    on_change = fn;
    return E_OK;
}

static person_write_fn on_write;

err person_on_write(person_write_fn fn)
{
    if (fn && on_write && on_write != fn)
        return err_set(E_INTERNAL, NULL, NULL, "person_on_write 已有订阅者：每个钩子只能注册一个");
    on_write = fn;
    return E_OK;
}

/* Tell the subscriber of person_on_write, inside the writing transaction. */
static err written(db *d, int64_t id, int64_t region_code, bool deleted)
{
    return on_write ? on_write(d, id, region_code, deleted) : E_OK;
}

static person_move_fn on_move;

static const struct person_identity_check *identity_check;

err person_on_identity_check(const struct person_identity_check *c)
{
    if (c && identity_check && identity_check != c)
        return err_set(E_INTERNAL, NULL, NULL,
                       "person_on_identity_check 已有订阅者：每个钩子只能注册一个");
    identity_check = c;
    return E_OK;
}

const struct person_identity_check *person_identity_check(void)
{
    return identity_check;
}

err person_on_move(person_move_fn fn)
{
    if (fn && on_move && on_move != fn)
        return err_set(E_INTERNAL, NULL, NULL, "person_on_move 已有订阅者：每个钩子只能注册一个");
    on_move = fn;
    return E_OK;
}

/*
 * The id of the live person holding document (type, idn) when that person
 * is an unverified self-registration, else 0. Deliberately unscoped, like
 * the duplicate rule it makes an exception to.
 */
static err self_claim_find(db *d, enum id_type type, const char *idn, int64_t *id_r)
{
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, idn, bidx);
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT id FROM persons WHERE id_number_bidx");
    query_blobs(&q, bidx, BLIND_LEN, nb);
    query_sql(&q, " AND id_type = ? AND deleted_at = 0 AND unverified = 1 AND source = 'self'");
    query_int(&q, type);
    return query_count(d, &q, id_r);
}

static err update_in_tx(db *d, arena *a, const struct principal *who, int64_t id,
                        const struct person_patch *patch, struct person *p_r,
                        person_fields *changed_r, bool *race_r);

/* person_create's exception: staff's record replaces the unverified
 * self-registration `id` (person.h). */
static err take_over(db *d, arena *a, const struct principal *who, int64_t id, struct person *p,
                     person_fields given)
{
    /* the claim may lie outside the caller's scope (the resident chose the
     * region); the new region was already checked against it */
    struct principal all = *who;
    all.scope = scope_all();
    struct person_patch pt = {.v = *p, .verified = 1};
    pt.set = ((person_fields)1 << PF__COUNT) - 1;
    if (!(given & PF_BIT(PF_CONSENT_AT)))
        pt.set &= ~PF_BIT(PF_CONSENT_AT);
    if (!(given & PF_BIT(PF_SOURCE)))
        pt.v.source = "staff";
    struct person old, nv;
    bool race = false;
    int64_t unbound = 0;
    err e = person_find(d, a, &all.scope, id, &old);
    if (e || (e = db_begin(d)))
        return e;
    if ((e = update_in_tx(d, a, &all, id, &pt, &nv, NULL, &race)))
        goto fail;
    /* the account that registered the claim keeps it only when the
     * community recorded the same phone it signed in with */
    if (!old.phone || !nv.phone || strcmp(old.phone, nv.phone)) {
        db_stmt *s;
        if ((e = db_prepare(
                 d, "UPDATE users SET person_id = NULL, updated_at = ? WHERE person_id = ?", &s)))
            goto fail;
        db_bind_int64(s, 1, now_ms());
        db_bind_int64(s, 2, id);
        if ((e = db_run(s, &unbound)))
            goto fail;
    }
    if ((e = db_commit(d)))
        goto fail;
    if (unbound)
        auth_changed_at_commit(d); /* principals carry person_id */
    *p = nv;
    return E_OK;
fail:
    db_rollback(d);
    return race ? duplicate_after_race(d, &who->scope, &nv, id) : e;
}

/* person_create's work; own_tx: in a savepoint of its own (person_create),
 * else in the caller's transaction, rolled back by the caller on error
 * (person_create_in_tx). known_new: checked, and no holder of the document
 * (person_create_in_tx_new). */
static err create(db *d, arena *a, const struct principal *who, struct person *p,
                  person_fields given, bool *taken_over_r, bool own_tx, bool known_new,
                  const struct person_sealed *sealed)
{
    if (taken_over_r)
        *taken_over_r = false;
    /* only a resident's own registration starts unverified (self.c) */
    if (!who->resident)
        p->unverified = false;
    err e = E_OK;
    if (!known_new && !(e = person_check(a, p, given)))
        e = person_region_check(d, &who->scope, p->region_code, "region_code");
    if (e)
        return e;
    if (!who->resident && !known_new) {
        int64_t claim;
        if ((e = self_claim_find(d, p->id_type, p->id_number, &claim)))
            return e;
        if (claim) {
            if ((e = take_over(d, a, who, claim, p, given)))
                return e;
            if (taken_over_r)
                *taken_over_r = true;
            return E_OK;
        }
    }
    int64_t now = now_ms(), id = id_new();
    p->created_by = p->updated_by = who->user_id;
    /* The pre-check runs before the transaction so that the transaction's
     * first statement is a write (see lock_row); the unique index catches
     * what a concurrent create slips in between. */
    if (!known_new && (e = check_duplicate(d, &who->scope, p->id_type, p->id_number, 0)))
        return e;
    if (own_tx && (e = db_begin(d)))
        return e;
    if ((e = insert_sealed(d, p, id, now, sealed))) {
        if (e == E_CONFLICT) {
            if (own_tx)
                db_rollback(d);
            return duplicate_after_race(d, &who->scope, p, 0);
        }
        goto fail;
    }
    p->id = id;
    p->version = 1;
    p->created_at = p->updated_at = now;
    if (sealed) {
        e = history_insert(d, id, now, who->user_id, "create", sealed->changes, sealed->nchanges);
    } else {
        size_t n;
        const char *changes = person_created_changes(a, p, &n);
        e = changes ? history_write_text(d, a, id, now, who->user_id, "create", changes, n)
                    : err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (e || (on_change && (e = on_change(d, a, id, who->user_id))) ||
        (e = written(d, id, p->region_code, false)))
        goto fail;
    return own_tx ? db_commit(d) : E_OK;
fail:
    if (own_tx)
        db_rollback(d);
    return e;
}

err person_create(db *d, arena *a, const struct principal *who, struct person *p,
                  person_fields given, bool *taken_over_r)
{
    return create(d, a, who, p, given, taken_over_r, true, false, NULL);
}

err person_create_in_tx(db *d, arena *a, const struct principal *who, struct person *p,
                        person_fields given, bool *taken_over_r)
{
    if (!db_in_tx(d))
        return err_set(E_INTERNAL, NULL, NULL, "person_create_in_tx 须在调用者的事务中");
    return create(d, a, who, p, given, taken_over_r, false, false, NULL);
}

err person_sealed_holder(db *d, const struct person_sealed *sealed, int64_t *id_r,
                         int64_t *region_r)
{
    return holder_by_index(d, (const uint8_t(*)[BLIND_LEN])sealed->z.id_both, sealed->z.n_id,
                           sealed->id_type, id_r, region_r);
}

err person_create_in_tx_new(db *d, arena *a, const struct principal *who, struct person *p,
                            person_fields given, const struct person_sealed *sealed)
{
    if (!db_in_tx(d))
        return err_set(E_INTERNAL, NULL, NULL, "person_create_in_tx_new 须在调用者的事务中");
    return create(d, a, who, p, given, NULL, false, true, sealed);
}

static err version_conflict(void)
{
    return err_set(E_CONFLICT, "version_conflict", "version",
                   "该人员信息已被他人修改，请刷新后重试");
}

/*
 * Take the write lock on person `id` inside the scope as the transaction's
 * first statement: a no-op UPDATE. On PostgreSQL it locks the row until
 * commit (a portable SELECT … FOR UPDATE), so concurrent edits serialise;
 * SQLite's BEGIN IMMEDIATE already holds the database write lock.
 * E_NOT_FOUND when no such row.
 */
static err lock_row(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE persons SET version = version WHERE id = ? AND region_code >= ? "
                       "AND region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n == 1 ? E_OK : E_NOT_FOUND;
}

/*
 * person_update's work inside a transaction the caller owns (it rolls back
 * on error). When the unique index refuses a new document, *race_r is set
 * and *p_r holds the merged record for duplicate_after_race, to be asked
 * after the rollback.
 */
static err update_in_tx(db *d, arena *a, const struct principal *who, int64_t id,
                        const struct person_patch *patch, struct person *p_r,
                        person_fields *changed_r, bool *race_r)
{
    struct person cur, nv;
    *race_r = false;
    err e;
    if ((e = lock_row(d, &who->scope, id)) || (e = person_find(d, a, &who->scope, id, &cur)))
        return e;
    if (patch->version && patch->version != cur.version)
        return version_conflict();
    nv = cur;
    person_fields_copy(&nv, &patch->v, patch->set);
    if (patch->verified)
        nv.unverified = patch->verified < 0;
    bool flag_changed = nv.unverified != cur.unverified;
    if ((e = person_check(a, &nv, patch->set)))
        return e;
    if (nv.region_code != cur.region_code &&
        (e = person_region_check(d, &who->scope, nv.region_code, "region_code")))
        return e;
    bool id_changed = nv.id_type != cur.id_type || strcmp(nv.id_number, cur.id_number);
    if (id_changed && (e = check_duplicate(d, &who->scope, nv.id_type, nv.id_number, id)))
        return e;
    person_fields changed = diff(&cur, &nv);
    if (changed_r)
        *changed_r = changed;
    if (!changed && !flag_changed) {
        *p_r = cur;
        return E_OK;
    }

    int64_t now = now_ms();
    struct sealed z;
    if ((e = seal_record(&nv, &z)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, st.update, &s)))
        return e;
    int i = bind_record(s, 1, &nv, &z);
    db_bind_int64(s, i++, who->user_id);
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i++, id);
    db_bind_int64(s, i++, cur.version);
    db_bind_int64(s, i++, who->scope.lo);
    db_bind_int64(s, i, who->scope.hi);
    int64_t n = 0;
    if ((e = db_run(s, &n))) {
        if (e == E_CONFLICT) {
            *race_r = true;
            *p_r = nv;
        }
        return e;
    }
    if (n != 1)
        return version_conflict();
    if ((changed & PF_BIT(PF_NAME)) &&
        ((e = tokens_write(d, cur.name, id, false)) || (e = tokens_write(d, nv.name, id, true))))
        return e;
    bool moved = changed & PF_BIT(PF_REGION_CODE);
    unsigned what = moved ? PERSON_COUNT_ALL : 0;
    if (changed & PF_BIT(PF_STATUS))
        what |= PERSON_COUNT_STATUS;
    if (changed & (PF_BIT(PF_CATEGORY) | PF_BIT(PF_VULNERABLE)))
        what |= PERSON_COUNT_GROUPS;
    if (what && ((e = person_count(d, &cur, what, -1)) || (e = person_count(d, &nv, what, 1))))
        return e;
    json_t *changes = changes_of(&cur, &nv, changed);
    if (flag_changed)
        json_object_set_new(changes, "verified",
                            json_pack("[bb]", !cur.unverified, !nv.unverified));
    e = history_write(d, a, id, now, who->user_id, "update", changes);
    json_decref(changes);
    if (!e && on_move && moved)
        e = on_move(d, a, who, id, cur.region_code, nv.region_code);
    if (!e && on_change && (changed & (PF_BIT(PF_STATUS) | PF_BIT(PF_REGION_CODE))))
        e = on_change(d, a, id, who->user_id);
    if (!e)
        e = written(d, id, nv.region_code, false);
    if (e)
        return e;
    nv.version = cur.version + 1;
    nv.updated_by = who->user_id;
    nv.updated_at = now;
    *p_r = nv;
    return E_OK;
}

err person_update(db *d, arena *a, const struct principal *who, int64_t id,
                  const struct person_patch *patch, struct person *p_r, person_fields *changed_r)
{
    struct person nv;
    bool race;
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = update_in_tx(d, a, who, id, patch, &nv, changed_r, &race)) || (e = db_commit(d))) {
        db_rollback(d);
        return race ? duplicate_after_race(d, &who->scope, &nv, id) : e;
    }
    *p_r = nv;
    return E_OK;
}

err person_consent_set(db *d, arena *a, const struct principal *who, int64_t id, int64_t consent_at)
{
    struct person cur;
    err e = person_find(d, a, &who->scope, id, &cur);
    if (e || cur.consent_at == consent_at)
        return e;
    int64_t now = now_ms(), n = 0;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE persons SET consent_at = ?, version = version + 1, updated_by = ?, "
                        "updated_at = ? WHERE id = ? AND region_code >= ? AND region_code < ? AND "
                        "deleted_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, consent_at);
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, who->scope.lo);
    db_bind_int64(s, 6, who->scope.hi);
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return E_NOT_FOUND;
    struct person nv = cur;
    nv.consent_at = consent_at;
    json_t *changes = changes_of(&cur, &nv, PF_BIT(PF_CONSENT_AT));
    e = history_write(d, a, id, now, who->user_id, "update", changes);
    json_decref(changes);
    return e ? e : written(d, id, cur.region_code, false);
}

err person_delete(db *d, arena *a, const struct principal *who, int64_t id)
{
    struct person cur;
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = lock_row(d, &who->scope, id)) || (e = person_find(d, a, &who->scope, id, &cur)))
        goto fail;
    int64_t now = now_ms(), n = 0;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE persons SET deleted_at = ?, version = version + 1, updated_at = ?, "
                        "updated_by = ? WHERE id = ? AND region_code >= ? AND region_code < ? AND "
                        "deleted_at = 0",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, who->scope.lo);
    db_bind_int64(s, 6, who->scope.hi);
    if ((e = db_run(s, &n)))
        goto fail;
    if (n != 1) {
        e = E_NOT_FOUND;
        goto fail;
    }
    if ((e = tokens_write(d, cur.name, id, false)) ||
        (e = person_count(d, &cur, PERSON_COUNT_ALL, -1)))
        goto fail;
    json_t *changes = json_object();
    e = history_write(d, a, id, now, who->user_id, "delete", changes);
    json_decref(changes);
    if (e || (e = written(d, id, cur.region_code, true)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

size_t person_name_query_keys(const char *query, struct person_name_keys *k, bool *confirm_r)
{
    char buf[PERSON_TOKEN_BUF];
    const char *tok[PERSON_QUERY_TOKENS_MAX];
    k->n = person_name_query_tokens(query, buf, sizeof buf, tok, PERSON_QUERY_TOKENS_MAX);
    k->nd = k->n;
    for (size_t i = 0; i < k->n; i++) {
        uint8_t both[BLIND_MAX][BLIND_LEN];
        int nb = blind_search(L_TOKEN, tok[i], both);
        memcpy(k->k[i], both[0], BLIND_LEN);
        if (nb > 1) {
            memcpy(k->k[k->n + i], both[1], BLIND_LEN);
            k->nd = 2 * k->n;
        }
    }
    *confirm_r = k->n > 0 && utf8_len(query) >= 3;
    return k->n;
}

void person_name_query_where(struct query *q, const char *column, const struct person_name_keys *k)
{
    /* all n tokens must be present; during a key rotation each is looked
     * for under both versions, and since a person's tokens are re-indexed
     * together, n matching rows still mean all n tokens of one version */
    query_sql(q, " AND ");
    query_sql(q, column);
    query_sql(q, " IN (SELECT person_id FROM person_name_tokens WHERE token");
    query_blobs(q, k->k, BLIND_LEN, (int)k->nd);
    if (k->n > 1) {
        query_sql(q, " GROUP BY person_id HAVING COUNT(*) = ?");
        query_int(q, (int64_t)k->n);
    }
    query_sql(q, ")");
}

/* ---- lists -------------------------------------------------------------------- */

static const char *const orders[3][2] = {
    [PERSON_SORT_CREATED] = {" ORDER BY created_at ASC, id ASC",
                             " ORDER BY created_at DESC, id DESC"},
    [PERSON_SORT_UPDATED] = {" ORDER BY updated_at ASC, id ASC",
                             " ORDER BY updated_at DESC, id DESC"},
    [PERSON_SORT_BIRTH] = {" ORDER BY birth_date ASC, id ASC",
                           " ORDER BY birth_date DESC, id DESC"},
};

err person_sort_parse(const char *s, struct person_filter *f)
{
    f->sort = PERSON_SORT_CREATED;
    f->desc = true;
    if (!s)
        return E_OK;
    bool desc = *s == '-';
    const char *k = desc ? s + 1 : s;
    if (!strcmp(k, "created_at"))
        f->sort = PERSON_SORT_CREATED;
    else if (!strcmp(k, "updated_at"))
        f->sort = PERSON_SORT_UPDATED;
    else if (!strcmp(k, "birth_date"))
        f->sort = PERSON_SORT_BIRTH;
    else
        return err_set(E_INPUT, "invalid_parameter", "sort",
                       "排序字段只能是 created_at、updated_at 或 birth_date，前加 - 表示倒序");
    f->desc = desc;
    return E_OK;
}

/* Blind indexes the WHERE clause binds (both versions' during a key
 * rotation); they live as long as the query. */
struct filter_keys {
    uint8_t id[BLIND_MAX][BLIND_LEN], phone[BLIND_MAX][BLIND_LEN], last4[BLIND_MAX][BLIND_LEN];
    struct person_name_keys names;
};

/* The region range a list reads: the scope, narrowed by the filter's region. */
static void range_of(const struct scope *sc, const struct person_filter *f, int64_t *lo_r,
                     int64_t *hi_r)
{
    int64_t lo = sc->lo, hi = sc->hi;
    if (f->region_code) {
        int64_t rl = f->region_code, rh = regcode_end(f->region_code);
        lo = rl > lo ? rl : lo;
        hi = rh < hi ? rh : hi;
    }
    *lo_r = lo;
    *hi_r = hi;
}

/* " FROM persons WHERE …" for the filter; *confirm_r tells whether the
 * names of the rows must still be confirmed against the query. by_time:
 * the region range written as +region_code, which no index serves, so the
 * engine walks persons_created (sql/100) in the page's order and stops after
 * the page instead of sorting every person of the range (person_list
 * decides when that is cheaper). */
static err where_of(arena *a, struct query *q, const struct scope *sc,
                    const struct person_filter *f, bool by_time, struct filter_keys *k,
                    bool *confirm_r)
{
    int64_t lo, hi;
    range_of(sc, f, &lo, &hi);
    query_sql(q, by_time ? " FROM persons WHERE deleted_at = 0 AND +region_code >= ? AND "
                           "+region_code < ?"
                         : " FROM persons WHERE deleted_at = 0 AND region_code >= ? AND "
                           "region_code < ?");
    query_int(q, lo);
    query_int(q, hi);
    if (f->id_number) {
        char *idn = person_id_normalise(arena_strdup(a, f->id_number));
        int nb = blind_search(L_ID, idn, k->id);
        query_sql(q, " AND id_number_bidx");
        query_blobs(q, k->id, BLIND_LEN, nb);
        query_sql(q, " AND id_type = ?");
        query_int(q, f->id_type ? f->id_type : ID_RESIDENT);
    }
    if (f->phone) {
        int nb = blind_search(L_PHONE, f->phone, k->phone);
        query_sql(q, " AND phone_bidx");
        query_blobs(q, k->phone, BLIND_LEN, nb);
    }
    if (f->phone_last4) {
        /* checked by the caller as four digits (person_phone_last4_index's
         * rule), so the index exists */
        int nb = blind_search(L_PHONE4, f->phone_last4, k->last4);
        query_sql(q, " AND phone_last4_bidx");
        query_blobs(q, k->last4, BLIND_LEN, nb);
    }
    if (f->category) {
        query_sql(q, " AND category = ?");
        query_text(q, person_category_name(f->category));
    }
    if (f->status) {
        query_sql(q, " AND status = ?");
        query_text(q, person_status_name(f->status));
    }
    if (f->vulnerable) {
        query_sql(q, " AND (vulnerable & ?) <> 0");
        query_int(q, f->vulnerable);
    }
    if (f->inbound >= 0) {
        query_sql(q, " AND inbound = ?");
        query_int(q, f->inbound ? 1 : 0);
    }
    if (f->code_colour) {
        /* no stored code is green (sql/004) */
        query_sql(q, " AND COALESCE((SELECT h.colour FROM health_codes h WHERE h.person_id = "
                     "persons.id), 'green') = ?");
        query_text(q, f->code_colour);
    }
    *confirm_r = false;
    if (f->name) {
        bool confirm;
        if (person_name_query_keys(f->name, &k->names, &confirm) == 0)
            return err_set(E_INPUT, "invalid_parameter", "name", "姓名查询条件无效");
        person_name_query_where(q, "id", &k->names);
        /* One token is exact (a surname, or the query's only bigram);
         * several bigrams can all occur without the query occurring. */
        *confirm_r = confirm;
    }
    return E_OK;
}

/* Read at most `max` rows of a SELECT of st.cols into an array grown
 * in the arena as rows arrive. */
static err read_rows(arena *a, db_stmt *s, size_t max, struct person **items_r, size_t *n_r)
{
    size_t n = 0, cap = max < 32 ? max : 32;
    struct person *items = arena_alloc(a, cap * sizeof *items);
    bool row = true;
    err e = E_OK;
    while (n < max && !(e = db_row(s, &row)) && row) {
        if (n == cap) {
            size_t more = 2 * cap < max ? 2 * cap : max;
            struct person *grown = arena_alloc(a, more * sizeof *grown);
            memcpy(grown, items, n * sizeof *items);
            items = grown;
            cap = more;
        }
        if ((e = read_row(a, s, &items[n])))
            break;
        n++;
    }
    db_done(s);
    *items_r = items;
    *n_r = n;
    return e;
}

/*
 * The list as it opens (the scope alone, no search, a page of the default
 * sort): at 10,000,000 people its COUNT(*) read every person of a
 * district's range and its ORDER BY sorted them all, seconds for a first
 * page (docs/benchmarks.md "At 10,000,000 people"). Its total is the head
 * count the counters keep (person.registered, moved in the transaction of
 * every write, stats/stats.h): exact, a few rows of street_counters. And
 * walking persons_created newest first reads about (offset + page) x
 * (people of the province / people of the range) entries, sorting reads the
 * range: *by_time_r says which is fewer. false (and *total_r untouched)
 * for any other list.
 */
static err opening_page(db *d, const struct scope *sc, const struct person_filter *f,
                        int64_t *total_r, bool *by_time_r)
{
    *by_time_r = false;
    if (f->name || f->id_number || f->phone || f->phone_last4 || f->category || f->status ||
        f->vulnerable || f->inbound >= 0 || f->code_colour || f->page_size <= 0 ||
        f->sort != PERSON_SORT_CREATED)
        return E_OK;
    int64_t lo, hi, n = 0, all = 0;
    range_of(sc, f, &lo, &hi);
    int64_t province = regcode_at_most(lo, LEVEL_PROVINCE);
    err e = stats_sum(d, "person.registered", lo, hi, STATS_NOW, STATS_NOW, &n);
    if (e || (e = stats_sum(d, "person.registered", province, regcode_end(province), STATS_NOW,
                            STATS_NOW, &all)))
        return e;
    *total_r = n;
    double walk = (double)(paging_offset(f->page, f->page_size) + f->page_size) *
                  ((double)all / (double)(n > 0 ? n : 1));
    *by_time_r = n > 0 && walk < (double)n;
    return E_OK;
}

err person_list(db *d, arena *a, const struct scope *sc, const struct person_filter *f,
                struct person **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    struct filter_keys k;
    bool confirm, by_time;
    int64_t counted = -1;
    err e = opening_page(d, sc, f, &counted, &by_time);
    if (e || (e = where_of(a, &w, sc, f, by_time, &k, &confirm)))
        return e;
    const char *order = orders[f->sort][f->desc ? 1 : 0];
    bool all = f->page_size <= 0;
    int64_t limit = all ? PERSON_EXPORT_MAX + 1 : f->page_size;
    int64_t offset = all ? 0 : paging_offset(f->page, f->page_size);
    db_stmt *s;
    *items_r = NULL;
    *n_r = 0;
    *total_r = 0;

    if (!confirm) {
        /* The page first: when it is not full, it tells the total too, so
         * an exact look-up (one id number) costs one statement, not two. */
        struct query r = QUERY_INIT;
        storage_init();
        query_sql(&r, "SELECT ");
        query_sql(&r, st.cols);
        query_append(&r, &w);
        query_sql(&r, order);
        query_sql(&r, " LIMIT ? OFFSET ?");
        query_int(&r, limit);
        query_int(&r, offset);
        if ((e = query_prepare(d, &r, &s)) || (e = read_rows(a, s, (size_t)limit, items_r, n_r)))
            return e;
        if (all && *n_r > PERSON_EXPORT_MAX) {
            *items_r = NULL;
            *n_r = 0;
            return err_set(E_INPUT, "export_too_large", NULL,
                           "导出结果超过%d条，请缩小查询范围后再导出", PERSON_EXPORT_MAX);
        }
        if (all || (*n_r > 0 && (int64_t)*n_r < limit) || (offset == 0 && *n_r == 0)) {
            *total_r = offset + (int64_t)*n_r;
            return E_OK;
        }
        if (counted >= 0) {
            *total_r = counted;
            return E_OK;
        }
        struct query c = QUERY_INIT;
        query_sql(&c, "SELECT COUNT(*)");
        query_append(&c, &w);
        return query_count(d, &c, total_r);
    }

    /* Several bigrams: decrypt the candidates' names (only the names) and
     * keep those that contain the query, then load the page's rows. */
    struct query r = QUERY_INIT;
    query_sql(&r, "SELECT id, name_enc");
    query_append(&r, &w);
    query_sql(&r, order);
    query_sql(&r, " LIMIT ?");
    query_int(&r, PERSON_EXPORT_MAX + 1);
    if ((e = query_prepare(d, &r, &s)))
        return e;
    size_t cap = 64, n = 0;
    int64_t *ids = arena_alloc(a, cap * sizeof *ids);
    int64_t seen = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (++seen > PERSON_EXPORT_MAX) {
            db_done(s);
            return err_set(E_INPUT, "name_too_broad", "name",
                           "符合姓名条件的人员过多，请补充其他查询条件");
        }
        size_t len;
        const void *ct = db_col_blob(s, 1, &len);
        char name[PERSON_NAME_MAX * 4 + 1];
        if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD >= sizeof name)
            e = err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
        else
            e = unseal_buf(L_NAME, ct, len, name, NULL);
        if (e) {
            db_done(s);
            return e;
        }
        if (!person_name_matches(name, f->name))
            continue;
        if (n == cap) {
            int64_t *more = arena_alloc(a, 2 * cap * sizeof *more);
            memcpy(more, ids, n * sizeof *ids);
            ids = more;
            cap *= 2;
        }
        ids[n++] = db_col_int64(s, 0);
    }
    db_done(s);
    if (e)
        return e;
    *total_r = (int64_t)n;
    if ((int64_t)n <= offset)
        return E_OK;
    size_t take = (size_t)((int64_t)n - offset < limit ? (int64_t)n - offset : limit);
    struct person *items = arena_alloc(a, take * sizeof *items);
    size_t got = 0;
    for (size_t i = 0; i < take; i++) {
        e = person_find(d, a, sc, ids[offset + (int64_t)i], &items[got]);
        if (e == E_NOT_FOUND) /* deleted meanwhile */
            continue;
        if (e)
            return e;
        got++;
    }
    *items_r = items;
    *n_r = got;
    return E_OK;
}

/* ---- history ----------------------------------------------------------------- */

/* Mask the [old, new] pairs of a decrypted changes object in place. */
static void mask_changes(arena *a, json_t *changes)
{
    const char *key;
    json_t *pair;
    json_object_foreach(changes, key, pair)
    {
        enum person_field f = person_field_parse(key);
        size_t i;
        json_t *v;
        json_array_foreach(pair, i, v)
        {
            json_array_set_new(pair, i, person_value_mask(a, f, v));
        }
    }
}

err person_history(db *d, arena *a, const struct scope *sc, int64_t person_id, bool reveal,
                   int64_t page, int64_t page_size, struct person_change **items_r, size_t *n_r,
                   int64_t *total_r)
{
    *items_r = NULL;
    *n_r = 0;
    *total_r = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM person_history h JOIN persons p ON p.id = "
                       "h.person_id WHERE h.person_id = ? AND p.region_code >= ? AND "
                       "p.region_code < ? AND p.deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    if ((e = count_query(s, total_r)))
        return e;
    if (*total_r == 0) {
        /* No entries: a missing person, or one loaded in bulk (no history
         * until its first change). Only the first is 404. */
        struct person p;
        return person_find(d, a, sc, person_id, &p);
    }
    int64_t offset = paging_offset(page, page_size);
    if (*total_r <= offset)
        return E_OK;
    size_t cap = (size_t)(*total_r - offset < page_size ? *total_r - offset : page_size);
    struct person_change *items = arena_zalloc(a, cap * sizeof *items);
    if ((e = db_prepare(d,
                        "SELECT h.id, h.at, h.user_id, h.action, h.changes_enc, "
                        "u.display_name, u.username FROM person_history h "
                        "JOIN persons p ON p.id = h.person_id "
                        "LEFT JOIN users u ON u.id = h.user_id WHERE "
                        "h.person_id = ? AND p.region_code >= ? AND p.region_code < ? AND "
                        "p.deleted_at = 0 ORDER BY h.at DESC, h.id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, offset);
    size_t n = 0;
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row) {
        struct person_change *c = &items[n];
        c->id = db_col_int64(s, 0);
        c->at = db_col_int64(s, 1);
        c->user_id = db_col_int64(s, 2);
        c->action = arena_strdup(a, db_col_text(s, 3));
        /* staff by name and login; residents have no login, their display
         * name is already their masked phone */
        const char *dn = db_col_null(s, 5) ? "" : db_col_text(s, 5);
        const char *un = db_col_null(s, 6) ? "" : db_col_text(s, 6);
        c->user_name = *un ? arena_printf(a, "%s（%s）", dn, un) : arena_strdup(a, dn);
        size_t len;
        const void *ct = db_col_blob(s, 4, &len);
        char *text;
        if ((e = unseal(a, L_CHANGES, ct, len, &text, NULL)))
            break;
        if (!reveal) {
            json_t *j = json_loads(text, 0, NULL);
            if (!j) {
                e = err_set(E_INTERNAL, NULL, NULL, NULL);
                break;
            }
            mask_changes(a, j);
            char *m = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(j);
            if (!m) {
                e = err_set(E_NOMEM, NULL, NULL, NULL);
                break;
            }
            text = arena_strdup(a, m);
            free(m);
        }
        c->changes = text;
        n++;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* ---- identity verification ------------------------------------------------- */

err person_verify(db *d, arena *a, const struct principal *who, int64_t id, struct person *p_r)
{
    struct person cur;
    err e = person_find(d, a, &who->scope, id, &cur);
    if (e)
        return e;
    if (!cur.unverified)
        return err_set(E_CONFLICT, "already_verified", NULL, "该人员的身份已核验，无需重复核验");
    struct person_patch pt = {.version = cur.version, .verified = 1};
    return person_update(d, a, who, id, &pt, p_r, NULL);
}

static err confirm_in_tx(db *d, arena *a, const struct principal *who, int64_t id, int64_t version,
                         struct person *p_r, int64_t at)
{
    /* the lock first, so a change committing meanwhile is seen or waits */
    err e;
    if ((e = lock_row(d, &who->scope, id)) || (e = person_find(d, a, &who->scope, id, p_r)))
        return e;
    if (version != p_r->version)
        return version_conflict();
    json_t *none = json_object();
    e = history_write(d, a, id, at, who->user_id, "confirm", none);
    json_decref(none);
    return e;
}

err person_confirm(db *d, arena *a, const struct principal *who, int64_t id, int64_t version,
                   struct person *p_r, int64_t *at_r)
{
    *at_r = now_ms();
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = confirm_in_tx(d, a, who, id, version, p_r, *at_r)) || (e = db_commit(d)))
        db_rollback(d);
    return e;
}

err person_require_verified(db *d, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT unverified FROM persons WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool found = false;
    e = db_row(s, &found);
    bool unverified = !e && found && db_col_int64(s, 0) != 0;
    db_done(s);
    if (e)
        return e;
    if (!found)
        return E_NOT_FOUND;
    if (unverified)
        return err_set(E_FORBIDDEN, "identity_unverified", NULL,
                       "您的身份尚未核验：请携带身份证件到所在社区，由工作人员核验后即可使用");
    return E_OK;
}

/* ---- start-up backfill ----------------------------------------------------- */

#define BACKFILL_BATCH 500

err person_backfill(db *d, int64_t *n_r)
{
    int64_t total = 0, after = 0;
    err e = E_OK;
    if (n_r)
        *n_r = 0;
    for (;;) {
        /* one batch per transaction, so a large table never holds the
         * writer for long; rows whose phone has no four trailing digits
         * keep NULL and are skipped by the id cursor */
        int64_t ids[BACKFILL_BATCH];
        uint8_t keys[BACKFILL_BATCH][BLIND_LEN];
        bool has[BACKFILL_BATCH];
        size_t n = 0;
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id, phone_enc FROM persons WHERE id > ? AND phone_enc IS NOT "
                            "NULL AND phone_last4_bidx IS NULL ORDER BY id LIMIT ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, after);
        db_bind_int64(s, 2, BACKFILL_BATCH);
        /* its own, one per batch: a start-up step with no request, whose
         * memory must not grow with the table */
        arena *a = arena_new(16384);
        bool row;
        while (n < BACKFILL_BATCH && !(e = db_row(s, &row)) && row) {
            const char *phone;
            ids[n] = db_col_int64(s, 0);
            if ((e = open_col(a, s, 1, L_PHONE, &phone)))
                break;
            has[n] = person_phone_last4_index(phone, keys[n]);
            n++;
        }
        db_done(s);
        arena_free(&a);
        if (e || n == 0)
            break;
        after = ids[n - 1];
        if ((e = db_begin(d)))
            break;
        for (size_t i = 0; i < n && !e; i++) {
            if (!has[i])
                continue;
            if ((e = db_prepare(d, "UPDATE persons SET phone_last4_bidx = ? WHERE id = ?", &s)))
                break;
            db_bind_blob(s, 1, keys[i], BLIND_LEN);
            db_bind_int64(s, 2, ids[i]);
            e = db_run(s, NULL);
            total++;
        }
        if (e || (e = db_commit(d))) {
            db_rollback(d);
            break;
        }
        if (n < BACKFILL_BATCH)
            break;
    }
    if (n_r)
        *n_r = total;
    return e;
}

/* ---- health-code colours ----------------------------------------------------- */

static const struct vocab *code_colours;

void person_code_colours_set(const struct vocab *v)
{
    code_colours = v;
}

const struct vocab *person_code_colours(void)
{
    return code_colours;
}

/* ---- exact searches ------------------------------------------------------------ */

static int search_limit = 60;

void person_search_limit_set(int per_hour)
{
    search_limit = per_hour;
}

int person_search_limit(void)
{
    return search_limit;
}

bool person_filter_exact(const struct person_filter *f)
{
    return f->id_number || f->phone || f->phone_last4 || f->name;
}

const char *person_filter_exact_fields(arena *a, const struct person_filter *f)
{
    const char *out = "";
    const struct {
        bool on;
        const char *name;
    } fs[] = {{f->id_number != NULL, "id_number"},
              {f->phone != NULL, "phone"},
              {f->phone_last4 != NULL, "phone_last4"},
              {f->name != NULL, "name"}};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        if (fs[i].on)
            out = arena_printf(a, "%s%s%s", out, *out ? "," : "", fs[i].name);
    return out;
}

err person_search_hit(db *d, const struct principal *who, bool *first_over_r)
{
    char key[48];
    snprintf(key, sizeof key, "exact_search:%lld", (long long)who->user_id);
    int64_t count = 0;
    bool first_over = false;
    err e = rate_limit_hit_often(d, key, 3600 * 1000LL, search_limit, &count, &first_over);
    if (first_over_r)
        *first_over_r = first_over;
    if (e)
        return e;
    if (count <= search_limit)
        return E_OK;
    if (first_over) {
        char msg[160], detail[96];
        snprintf(msg, sizeof msg, "账号 %s 一小时内精确查询人员超过 %d 次，已被暂停查询",
                 who->username, search_limit);
        snprintf(detail, sizeof detail, "{\"user_id\":\"%lld\",\"limit\":%d}",
                 (long long)who->user_id, search_limit);
        struct alert_new al = {.kind = ALERT_SECURITY,
                               .level = ALERT_WARNING,
                               .region_code = who->region_code,
                               .message = msg,
                               .detail = detail};
        /* an alert that cannot be stored must not let the search through,
         * nor hide the refusal: the 429 stands either way */
        if ((e = alert_raise(d, &al, NULL)))
            log_event(LOG_ERROR, "search_alert_failed", "user", who->username, NULL);
    }
    return err_set(E_RATE, "search_rate_limited", NULL,
                   "查询过于频繁：每小时最多精确查询%d次，请稍后再试", search_limit);
}
