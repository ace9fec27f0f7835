/*
 * The machinery of field tables (db/fields.h): walking a table by offsetof,
 * a field as JSON both ways, column lists, binds and row reads. The
 * capabilities keep only their rows and what is theirs alone.
 */
#include "db/fields.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/regcode.h"
#include "base/validate.h"

#define MEMBER(rec, d, type)  (*(type *)(void *)((char *)(rec) + (d)->off))
#define CMEMBER(rec, d, type) (*(const type *)(const void *)((const char *)(rec) + (d)->off))

void field_seal_label(const char *table, const struct field *d, char out[64])
{
    size_t n = strlen(d->column), t = strlen(table);
    if (n > 4 && !strcmp(d->column + n - 4, "_enc"))
        n -= 4;
    /* the names are fixed: one that does not fit is a bug. Not snprintf:
     * every sealed field of every row written or read asks (the import) */
    assert(t + 1 + n < 64);
    memcpy(out, table, t);
    out[t] = '.';
    memcpy(out + t + 1, d->column, n);
    out[t + 1 + n] = '\0';
}

struct jfield field_jfield(const struct field *d)
{
    return (struct jfield){
        .name = d->name,
        .type = d->jtype,
        .flags = (d->flags & FL_REQUIRED ? JF_REQUIRED : 0) | (d->flags & JF_NULLABLE),
        .min = d->min,
        .max = d->max,
        .label = d->label,
        .vocab = d->vocab,
    };
}

/* ---- JSON ------------------------------------------------------------------ */

void field_date_format(int32_t date, char out[11])
{
    if (date <= 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 11, "%04d-%02d-%02d", (int)(date / 10000 % 10000), (int)(date / 100 % 100),
             (int)(date % 100));
}

int32_t field_date_parse(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    int32_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return date_valid(v) ? v : 0;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *field_json(const struct field *d, const void *rec)
{
    switch (d->kind) {
    case FD_TEXT: {
        const char *s = CMEMBER(rec, d, char *);
        return d->flags & FL_EMPTY ? json_string(s ? s : "") : str_or_null(s);
    }
    case FD_ENUM:
        return str_or_null(vocab_name(d->vocab, (size_t)CMEMBER(rec, d, int)));
    case FD_BOOL:
        return json_boolean(CMEMBER(rec, d, bool));
    case FD_TIME: {
        int64_t t = CMEMBER(rec, d, int64_t);
        return t ? json_integer(t) : json_null();
    }
    case FD_REGION: {
        int64_t code = CMEMBER(rec, d, int64_t);
        if (!code)
            return json_null();
        char text[19];
        regcode_format(code, text);
        return json_string(text);
    }
    case FD_DATE: {
        char b[11];
        field_date_format(CMEMBER(rec, d, int32_t), b);
        return str_or_null(b);
    }
    case FD_BITS: {
        json_t *a = json_array();
        unsigned bits = CMEMBER(rec, d, unsigned);
        for (size_t i = 0; i < d->vocab->n; i++)
            if (bits & 1u << i)
                json_array_append_new(a, json_string(vocab_name(d->vocab, i)));
        return a;
    }
    case FD_INT:
        return json_integer(CMEMBER(rec, d, int64_t));
    case FD_REAL: {
        double v = CMEMBER(rec, d, double);
        return isnan(v) ? json_null() : json_real(v);
    }
    case FD_ID: {
        int64_t id = CMEMBER(rec, d, int64_t);
        if (!id)
            return json_null();
        char b[24];
        snprintf(b, sizeof b, "%lld", (long long)id); /* as json_set_id */
        return json_string(b);
    }
    }
    return json_null();
}

void fields_json(const struct field *t, size_t n, const void *rec, json_t *o)
{
    for (size_t f = 0; f < n; f++)
        json_object_set_new(o, t[f].name, field_json(&t[f], rec));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *field_trim(arena *a, const char *s)
{
    if (!s)
        return NULL;
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_space(s[n - 1]))
        n--;
    return arena_strndup(a, s, n);
}

/* The names of a vocabulary, "a、b、c", into names. */
static void vocab_names(const struct vocab *v, char *names, size_t size)
{
    size_t n = 0;
    names[0] = '\0';
    for (size_t k = 0; k < v->n; k++) {
        const char *w = vocab_name(v, k);
        if (!*w)
            continue;
        int x = snprintf(names + n, size - n, "%s%s", n ? "、" : "", w);
        if (x < 0 || (size_t)x >= size - n)
            break;
        n += (size_t)x;
    }
}

/* The value of body member `v` for field d into rec; the JSON type was
 * checked (or is reported) by the jfield table: a mismatch is skipped. */
static err field_from_json(const struct field *d, json_t *v, arena *a, void *rec, err e)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    switch (d->kind) {
    case FD_TEXT:
        MEMBER(rec, d, const char *) = d->flags & FL_TRIM ? field_trim(a, s) : s;
        break;
    case FD_ENUM: {
        int i = s ? vocab_parse(d->vocab, s) : -1;
        /* absent is 0, which the record's check defaults or refuses */
        MEMBER(rec, d, int) = i < 0 ? 0 : i;
        if (s && i < 0)
            e = err_add(e, E_INPUT, d->bad ? d->bad : "invalid_value", d->name, "%s的取值不正确",
                        d->label);
        break;
    }
    case FD_BOOL:
        MEMBER(rec, d, bool) = json_is_true(v);
        break;
    case FD_TIME:
    case FD_INT:
        MEMBER(rec, d, int64_t) = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        break;
    case FD_REAL:
        MEMBER(rec, d, double) = json_is_number(v)        ? json_number_value(v)
                                 : d->flags & JF_NULLABLE ? NAN
                                                          : 0;
        break;
    case FD_REGION: {
        enum region_level lv;
        int64_t code = s ? regcode_parse(s, &lv) : 0;
        MEMBER(rec, d, int64_t) = code > 0 ? code : 0;
        if (s && code <= 0)
            e = err_add(e, E_INPUT, d->bad ? d->bad : "invalid_region", d->name,
                        "%s不存在或不在您的管辖范围内", d->label);
        break;
    }
    case FD_ID: {
        int64_t id = s && *s ? id_parse(s) : 0;
        MEMBER(rec, d, int64_t) = id > 0 ? id : 0;
        if (s && *s && id <= 0)
            e = err_add(e, E_INPUT, d->bad ? d->bad : "invalid_value", d->name,
                        "%s不存在或不在您的管辖范围内", d->label);
        break;
    }
    case FD_DATE: {
        int32_t date = s && *s ? field_date_parse(s) : 0;
        MEMBER(rec, d, int32_t) = date;
        if (s && *s && !date)
            e = err_add(e, E_INPUT, d->bad ? d->bad : "invalid_value", d->name,
                        "%s应为 YYYY-MM-DD 格式的有效日期", d->label);
        break;
    }
    case FD_BITS: {
        unsigned bits = 0;
        size_t i;
        json_t *x;
        bool bad = false;
        json_array_foreach(v, i, x)
        {
            int k = json_is_string(x) ? vocab_parse(d->vocab, json_string_value(x)) : -1;
            if (k < 0)
                bad = true;
            else
                bits |= 1u << k;
        }
        MEMBER(rec, d, unsigned) = bits;
        if (bad) {
            char names[256]; /* the allowed names, from the vocabulary itself */
            vocab_names(d->vocab, names, sizeof names);
            e = err_add(e, E_INPUT, d->bad ? d->bad : "invalid_value", d->name,
                        "%s的取值不正确，可选：%s", d->label, names);
        }
        break;
    }
    }
    return e;
}

err fields_from_json(const struct field *t, size_t n, json_t *b, arena *a, void *rec,
                     unsigned *set_r)
{
    unsigned set = 0;
    err e = E_OK;
    for (size_t f = 0; f < n; f++) {
        json_t *v = json_object_get(b, t[f].name);
        if (!v)
            continue;
        set |= 1u << f;
        e = field_from_json(&t[f], v, a, rec, e);
    }
    *set_r = set;
    return e;
}

void fields_copy(const struct field *td, void *dst, const struct field *ts, const void *src,
                 size_t n, unsigned set)
{
    for (size_t f = 0; f < n; f++) {
        if (!(set & 1u << f))
            continue;
        assert(td[f].size == ts[f].size);
        memcpy((char *)dst + td[f].off, (const char *)src + ts[f].off, td[f].size);
    }
}

/* ---- SQL ------------------------------------------------------------------- */

void fields_sql_put(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf), k = strlen(s);
    /* the fragments are fixed: a statement that does not fit is a bug */
    assert(n + k < size);
    memcpy(buf + n, s, k + 1);
}

void fields_sql_versioned(const char *table, const struct field *t, size_t n,
                          const char *extra_cols, const char *extra_vals, char *insert,
                          size_t insert_size, char *update, size_t update_size)
{
    fields_sql_put(insert, insert_size, "INSERT INTO ");
    fields_sql_put(insert, insert_size, table);
    fields_sql_put(insert, insert_size, " (id, ");
    fields_sql_cols(t, n, "", insert, insert_size);
    fields_sql_put(insert, insert_size, extra_cols);
    fields_sql_put(insert, insert_size,
                   ", version, created_at, updated_at, deleted_at) VALUES (?, ");
    fields_sql_params(n, insert, insert_size);
    fields_sql_put(insert, insert_size, extra_vals);
    fields_sql_put(insert, insert_size, ", 1, ?, ?, 0)");
    fields_sql_put(update, update_size, "UPDATE ");
    fields_sql_put(update, update_size, table);
    fields_sql_put(update, update_size, " SET ");
    fields_sql_assign(t, n, update, update_size);
    fields_sql_put(update, update_size,
                   ", version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND "
                   "deleted_at = 0 AND region_code >= ? AND region_code < ?");
}

err fields_update_versioned(db *d, arena *a, const char *update, const char *table,
                            const struct field *t, size_t n, const void *rec, field_seal_fn seal,
                            int64_t now, int64_t id, int64_t version, int64_t lo, int64_t hi)
{
    db_stmt *s;
    err e = db_prepare(d, update, &s);
    if (e)
        return e;
    int i;
    if ((e = fields_bind(s, 1, a, table, t, n, rec, seal, &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i++, id);
    db_bind_int64(s, i++, version);
    db_bind_int64(s, i++, lo);
    db_bind_int64(s, i, hi);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK
                   : err_set(E_CONFLICT, "version_conflict", NULL,
                             "该记录已被他人修改或删除，请刷新后重试");
}

void fields_sql_cols(const struct field *t, size_t n, const char *prefix, char *buf, size_t size)
{
    for (size_t f = 0; f < n; f++) {
        if (f)
            fields_sql_put(buf, size, ", ");
        fields_sql_put(buf, size, prefix);
        fields_sql_put(buf, size, t[f].column);
    }
}

void fields_sql_assign(const struct field *t, size_t n, char *buf, size_t size)
{
    for (size_t f = 0; f < n; f++) {
        if (f)
            fields_sql_put(buf, size, ", ");
        fields_sql_put(buf, size, t[f].column);
        fields_sql_put(buf, size, " = ?");
    }
}

void fields_sql_params(size_t n, char *buf, size_t size)
{
    for (size_t f = 0; f < n; f++)
        fields_sql_put(buf, size, f ? ", ?" : "?");
}

void field_bind(db_stmt *s, int i, const struct field *d, const void *rec)
{
    switch (d->kind) {
    case FD_TEXT: {
        const char *v = CMEMBER(rec, d, char *);
        /* a vocabulary's first word is its default ("staff") */
        db_bind_text(s, i, v ? v : d->vocab ? vocab_name(d->vocab, 0) : "");
        return;
    }
    case FD_ENUM:
        if (d->flags & FL_BY_NAME)
            db_bind_text(s, i, vocab_name(d->vocab, (size_t)CMEMBER(rec, d, int)));
        else
            db_bind_int64(s, i, CMEMBER(rec, d, int));
        return;
    case FD_BOOL:
        db_bind_int64(s, i, CMEMBER(rec, d, bool));
        return;
    case FD_DATE:
        db_bind_int64(s, i, CMEMBER(rec, d, int32_t));
        return;
    case FD_BITS:
        db_bind_int64(s, i, CMEMBER(rec, d, unsigned));
        return;
    case FD_REAL: {
        double v = CMEMBER(rec, d, double);
        if (isnan(v))
            db_bind_null(s, i);
        else
            db_bind_double(s, i, v);
        return;
    }
    case FD_ID: {
        int64_t id = CMEMBER(rec, d, int64_t);
        if (id)
            db_bind_int64(s, i, id);
        else
            db_bind_null(s, i);
        return;
    }
    case FD_TIME:
    case FD_REGION:
    case FD_INT:
        db_bind_int64(s, i, CMEMBER(rec, d, int64_t));
        return;
    }
}

void field_read(db_stmt *s, int c, arena *a, const struct field *d, void *rec)
{
    switch (d->kind) {
    case FD_TEXT: {
        const char *t = db_col_text(s, c);
        MEMBER(rec, d, const char *) = *t || d->flags & FL_EMPTY ? arena_strdup(a, t) : NULL;
        return;
    }
    case FD_ENUM: {
        int k = d->flags & FL_BY_NAME ? vocab_parse(d->vocab, db_col_text(s, c))
                                      : (int)db_col_int64(s, c);
        MEMBER(rec, d, int) = k < 0 ? 0 : k;
        return;
    }
    case FD_BOOL:
        MEMBER(rec, d, bool) = db_col_int64(s, c) != 0;
        return;
    case FD_DATE:
        MEMBER(rec, d, int32_t) = (int32_t)db_col_int64(s, c);
        return;
    case FD_BITS:
        MEMBER(rec, d, unsigned) = (unsigned)db_col_int64(s, c);
        return;
    case FD_REAL:
        MEMBER(rec, d, double) = db_col_null(s, c) ? NAN : db_col_double(s, c);
        return;
    case FD_ID:
        MEMBER(rec, d, int64_t) = db_col_null(s, c) ? 0 : db_col_int64(s, c);
        return;
    case FD_TIME:
    case FD_REGION:
    case FD_INT:
        MEMBER(rec, d, int64_t) = db_col_int64(s, c);
        return;
    }
}

err fields_bind(db_stmt *s, int i, arena *a, const char *table, const struct field *t, size_t n,
                const void *rec, field_seal_fn seal, int *next_r)
{
    for (size_t f = 0; f < n; f++, i++) {
        const struct field *d = &t[f];
        if (FIELD_SEALED(d)) {
            char label[64];
            field_seal_label(table, d, label);
            assert(seal); /* NULL only for tables without a sealed field */
            err e = seal(a, s, i, label, CMEMBER(rec, d, char *));
            if (e)
                return e;
        } else {
            field_bind(s, i, d, rec);
        }
    }
    *next_r = i;
    return E_OK;
}

err fields_read(db_stmt *s, int c, arena *a, const char *table, const struct field *t, size_t n,
                void *rec, field_unseal_fn unseal)
{
    for (size_t f = 0; f < n; f++, c++) {
        const struct field *d = &t[f];
        if (FIELD_SEALED(d)) {
            char label[64];
            field_seal_label(table, d, label);
            assert(unseal);
            err e = unseal(a, s, c, label, &MEMBER(rec, d, const char *));
            if (e)
                return e;
        } else {
            field_read(s, c, a, d, rec);
        }
    }
    return E_OK;
}
