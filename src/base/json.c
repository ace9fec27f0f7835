/*
 * Body checking against jfield descriptors, and small jansson helpers.
 */
#include "base/json.h"
#include "base/regcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool utf8_valid_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int extra;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
            extra = 1;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
        } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
            extra = 3;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static const char *type_label(enum jtype t)
{
    switch (t) {
    case J_STRING:
        return "字符串";
    case J_INT:
        return "整数";
    case J_NUMBER:
        return "数字";
    case J_BOOL:
        return "布尔值";
    case J_OBJECT:
        return "对象";
    case J_ARRAY:
        return "数组";
    }
    return "";
}

static bool type_ok(json_t *v, enum jtype t)
{
    switch (t) {
    case J_STRING:
        return json_is_string(v);
    case J_INT:
        return json_is_integer(v);
    case J_NUMBER:
        return json_is_number(v);
    case J_BOOL:
        return json_is_boolean(v);
    case J_OBJECT:
        return json_is_object(v);
    case J_ARRAY:
        return json_is_array(v);
    }
    return false;
}

/* Check one field, adding its error to those of the fields before (err_add). */
static err check_one(err e, json_t *v, const struct jfield *f)
{
    const char *label = f->label ? f->label : f->name;
    if (json_is_null(v)) {
        if (f->flags & JF_NULLABLE)
            return e;
        return err_add(e, E_INPUT, "invalid_type", f->name, "%s不能为空", label);
    }
    if (!type_ok(v, f->type))
        return err_add(e, E_INPUT, "invalid_type", f->name, "%s应为%s", label, type_label(f->type));
    if (f->type == J_STRING) {
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || !utf8_valid_text(s))
            return err_add(e, E_INPUT, "invalid_value", f->name, "%s含有不允许的字符", label);
        size_t n = utf8_len(s);
        if ((f->flags & JF_REQUIRED) && n == 0 && !f->oneof && !f->vocab)
            return err_add(e, E_INPUT, "required", f->name, "请填写%s", label);
        if (f->max && n > (size_t)f->max)
            return err_add(e, E_INPUT, "too_long", f->name, "%s不能超过%lld个字符", label,
                           (long long)f->max);
        if (f->min && n < (size_t)f->min)
            return err_add(e, E_INPUT, "too_short", f->name, "%s不能少于%lld个字符", label,
                           (long long)f->min);
        if (f->oneof) {
            for (const char *const *o = f->oneof; *o; o++)
                if (!strcmp(*o, s))
                    return e;
            return err_add(e, E_INPUT, "invalid_value", f->name, "%s的取值不正确", label);
        }
        if (f->vocab && vocab_parse(f->vocab, s) < 0)
            return err_add(e, E_INPUT, "invalid_value", f->name, "%s的取值不正确", label);
    } else if (f->type == J_INT && (f->min || f->max)) {
        json_int_t i = json_integer_value(v);
        if (i < f->min || i > f->max)
            return err_add(e, E_INPUT, "out_of_range", f->name, "%s应在%lld到%lld之间", label,
                           (long long)f->min, (long long)f->max);
    } else if (f->type == J_NUMBER && (f->min || f->max)) {
        double d = json_number_value(v);
        if (d < (double)f->min || d > (double)f->max)
            return err_add(e, E_INPUT, "out_of_range", f->name, "%s应在%lld到%lld之间", label,
                           (long long)f->min, (long long)f->max);
    }
    return e;
}

err json_check(json_t *obj, const struct jfield *fields, bool partial)
{
    if (!json_is_object(obj))
        return err_set(E_INPUT, "invalid_json", NULL, "请求内容应为 JSON 对象");
    /* every field at fault, so a form can mark them all at once (err_add) */
    const char *key;
    json_t *v;
    err e = E_OK;
    json_object_foreach(obj, key, v)
    {
        const struct jfield *f = fields;
        while (f->name && strcmp(f->name, key))
            f++;
        if (!f->name) {
            e = err_add(e, E_INPUT, "unknown_field", key, "不支持的字段：%.40s", key);
            continue;
        }
        e = check_one(e, v, f);
    }
    if (!partial) {
        for (const struct jfield *f = fields; f->name; f++) {
            if ((f->flags & JF_REQUIRED) && !json_object_get(obj, f->name))
                e = err_add(e, E_INPUT, "required", f->name, "请填写%s",
                            f->label ? f->label : f->name);
        }
    }
    return e;
}

err json_parse_body(const char *data, size_t n, json_t **r)
{
    json_error_t je;
    json_t *v = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return err_set(E_INPUT, "invalid_json", NULL, "JSON 格式错误（第%d行第%d列）", je.line,
                       je.column);
    *r = v;
    return E_OK;
}

const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t json_int(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

double json_num(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

bool json_bool(json_t *obj, const char *key, bool dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

bool json_has(json_t *obj, const char *key)
{
    return json_object_get(obj, key) != NULL;
}

void json_set_id(json_t *obj, const char *key, int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    json_object_set_new(obj, key, json_string(buf));
}

void json_set_id_or_null(json_t *obj, const char *key, int64_t id)
{
    if (id)
        json_set_id(obj, key, id);
    else
        json_object_set_new(obj, key, json_null());
}

void json_set_region(json_t *obj, int64_t code, const char *name)
{
    char buf[19];
    regcode_format(code, buf);
    json_object_set_new(obj, "region_code", json_string(buf));
    if (name)
        json_object_set_new(obj, "region_name", json_string(name));
}

int64_t id_parse(const char *s)
{
    if (!s || !*s || strlen(s) > 19)
        return 0;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

void json_batch_error(json_t *errors, err e, size_t index, const char *record_id, const char *field)
{
    const struct err_detail *ed = err_last();
    bool own = ed->code == e;
    json_array_append_new(errors,
                          json_pack("{s:I,s:s,s:s,s:s,s:s}", "index", (json_int_t)index,
                                    "record_id", record_id ? record_id : "", "code",
                                    own && *ed->slug ? ed->slug : err_slug(e), "field",
                                    field ? field
                                    : own ? ed->field
                                          : "",
                                    "message", own && *ed->message ? ed->message : err_message(e)));
}

static int by_index(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "index"));
    json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "index"));
    return (a > b) - (a < b);
}

json_t *json_batch_errors_sorted(json_t *errors)
{
    size_t n = json_array_size(errors);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v)
        return errors; /* unsorted rather than lost */
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(errors, i);
    if (n)
        qsort(v, n, sizeof *v, by_index);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(errors);
    return out;
}
