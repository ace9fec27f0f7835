/*
 * The person record's vocabularies (statuses, categories, genders,
 * vulnerable flags, sources) and its field table: each field's JSON name,
 * Chinese label and masking rule, and the one function that writes a field
 * as JSON, used by replies, CSV export and history alike.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/regcode.h"
#include "person/internal.h"
#include "security/mask.h"

/* ---- vocabularies ---------------------------------------------------------- */

static const struct vocab_word statuses[] = {
    [PERSON_NORMAL] = {"normal", "正常"},
    [PERSON_OBSERVATION] = {"observation", "隔离观察"},
    [PERSON_HOME_ISOLATION] = {"home_isolation", "居家隔离"},
    [PERSON_CENTRAL_QUARANTINE] = {"central_quarantine", "集中隔离"},
    [PERSON_SUSPECTED] = {"suspected", "疑似"},
    [PERSON_CONFIRMED] = {"confirmed", "确诊"},
    [PERSON_ASYMPTOMATIC] = {"asymptomatic", "无症状"},
    [PERSON_CURED] = {"cured", "治愈"},
    [PERSON_DEAD] = {"dead", "死亡"},
};
const struct vocab person_status_vocab = VOCAB("person_statuses", "人员状态", statuses);

static const struct vocab_word categories[] = {
    [PERSON_RESIDENT] = {"resident", "常住人员"},
    [PERSON_VISITOR] = {"visitor", "外来人员"},
    [PERSON_RETURNEE] = {"returnee", "返回人员"},
    [PERSON_TRANSIT] = {"transit", "过境人员"},
};
const struct vocab person_category_vocab = VOCAB("person_categories", "人员类型", categories);

static const struct vocab_word genders[] = {
    [GENDER_UNKNOWN] = {"unknown", "未知"},
    [GENDER_MALE] = {"male", "男"},
    [GENDER_FEMALE] = {"female", "女"},
};
const struct vocab person_gender_vocab = VOCAB("genders", "性别", genders);

/* Index = bit position. */
static const struct vocab_word vulnerables[] = {
    {"pregnant", "孕产妇"},
    {"elderly_alone", "独居老人"},
    {"chronic_disease", "慢性病患者"},
    {"disabled", "残疾人"},
    {"child", "儿童"},
};
const struct vocab vulnerable_vocab = VOCAB("vulnerable_groups", "重点人群", vulnerables);

static const struct vocab_word sources[] = {
    {"staff", "工作人员登记"},      {"self", "本人申报"},     {"cdc", "疾控中心"},
    {"community_team", "三人小组"}, {"grid", "网格排查"},     {"checkpoint", "卡口排查"},
    {"import", "批量导入"},         {"exchange", "数据交换"},
};
const struct vocab person_source_vocab = VOCAB("person_sources", "信息来源", sources);

const char *person_status_name(enum person_status s)
{
    return vocab_name(&person_status_vocab, s);
}

const char *person_status_label(enum person_status s)
{
    return vocab_label(&person_status_vocab, s);
}

enum person_status person_status_parse(const char *s)
{
    int i = vocab_parse(&person_status_vocab, s);
    return i > 0 ? (enum person_status)i : 0;
}

const char *person_category_name(enum person_category c)
{
    return vocab_name(&person_category_vocab, c);
}

const char *person_category_label(enum person_category c)
{
    return vocab_label(&person_category_vocab, c);
}

enum person_category person_category_parse(const char *s)
{
    int i = vocab_parse(&person_category_vocab, s);
    return i > 0 ? (enum person_category)i : 0;
}

const char *person_gender_name(enum person_gender g)
{
    return vocab_name(&person_gender_vocab, g);
}

const char *person_gender_label(enum person_gender g)
{
    return vocab_label(&person_gender_vocab, g);
}

int person_gender_parse(const char *s)
{
    return vocab_parse(&person_gender_vocab, s);
}

static int bit_index(unsigned bit)
{
    for (int i = 0; i < (int)vulnerable_vocab.n; i++)
        if (bit == 1u << i)
            return i;
    return -1;
}

const char *vulnerable_name(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "" : vulnerables[i].name;
}

const char *vulnerable_label(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "" : vulnerables[i].label;
}

unsigned vulnerable_parse(const char *s)
{
    int i = vocab_parse(&vulnerable_vocab, s);
    return i < 0 ? 0 : 1u << i;
}

bool person_source_valid(const char *source)
{
    return vocab_parse(&person_source_vocab, source) >= 0;
}

const char *person_source_label(const char *source)
{
    return vocab_label_of(&person_source_vocab, source);
}

/* ---- the field table ------------------------------------------------------- */

static const struct person_field_desc fields[PF__COUNT] = {
#define PF_DESC(f, m, k, jt, min_, max_, fl, voc, mk, lab, col)                                    \
    [f] = {#m,   lab, k,  mk, voc, offsetof(struct person, m), sizeof(((struct person *)0)->m),    \
           max_, fl,  col},
    PERSON_FIELDS(PF_DESC)
#undef PF_DESC
};

#define PF_ONE(...) +1
_Static_assert(0 PERSON_FIELDS(PF_ONE) == PF__COUNT, "a row of PERSON_FIELDS for every field");
#undef PF_ONE
_Static_assert(sizeof(enum id_type) == sizeof(int) && sizeof(enum person_gender) == sizeof(int) &&
                   sizeof(enum person_category) == sizeof(int) &&
                   sizeof(enum person_status) == sizeof(int),
               "PK_ENUM members are read as int");

const struct person_field_desc *person_field_desc(enum person_field f)
{
    return &fields[(unsigned)f < PF__COUNT ? f : 0];
}

const char *person_field_name(enum person_field f)
{
    return (unsigned)f < PF__COUNT ? fields[f].name : "";
}

const char *person_field_label(enum person_field f)
{
    return (unsigned)f < PF__COUNT ? fields[f].label : "";
}

bool person_field_masked(enum person_field f)
{
    return (unsigned)f < PF__COUNT && fields[f].mask != MK_NONE;
}

size_t person_field_max(enum person_field f)
{
    return (unsigned)f < PF__COUNT && fields[f].kind == PK_TEXT ? (size_t)fields[f].max : 0;
}

enum person_field person_field_parse(const char *s)
{
    for (int f = 0; s && f < PF__COUNT; f++)
        if (!strcmp(fields[f].name, s))
            return (enum person_field)f;
    return PF__COUNT;
}

void person_fields_copy(struct person *dst, const struct person *src, person_fields set)
{
    for (int f = 0; f < PF__COUNT; f++)
        if (set & PF_BIT(f))
            memcpy((char *)dst + fields[f].off, (const char *)src + fields[f].off, fields[f].size);
}

/* ---- JSON ----------------------------------------------------------------- */

void person_birth_format(int32_t birth, char out[11])
{
    if (birth <= 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 11, "%04d-%02d-%02d", (int)(birth / 10000 % 10000), (int)(birth / 100 % 100),
             (int)(birth % 100));
}

int32_t person_birth_parse(const char *s)
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

#define MEMBER(p, f, type)  (*(type *)((char *)(p) + fields[f].off))
#define CMEMBER(p, f, type) (*(const type *)((const char *)(p) + fields[f].off))

json_t *person_field_json(const struct person *p, enum person_field f)
{
    if ((unsigned)f >= PF__COUNT)
        return json_null();
    const struct person_field_desc *d = &fields[f];
    switch (d->kind) {
    case PK_TEXT:
        return str_or_null(CMEMBER(p, f, const char *));
    case PK_ENUM:
        return str_or_null(vocab_name(d->vocab, (size_t)CMEMBER(p, f, int)));
    case PK_BOOL:
        return json_boolean(CMEMBER(p, f, bool));
    case PK_TIME: {
        int64_t t = CMEMBER(p, f, int64_t);
        return t ? json_integer(t) : json_null();
    }
    case PK_REGION: {
        int64_t code = CMEMBER(p, f, int64_t);
        if (!code)
            return json_null();
        char text[19];
        regcode_format(code, text);
        return json_string(text);
    }
    case PK_DATE: {
        char b[11];
        person_birth_format(CMEMBER(p, f, int32_t), b);
        return str_or_null(b);
    }
    case PK_BITS: {
        json_t *a = json_array();
        unsigned bits = CMEMBER(p, f, unsigned);
        for (size_t i = 0; i < d->vocab->n; i++)
            if (bits & 1u << i)
                json_array_append_new(a, json_string(vocab_name(d->vocab, i)));
        return a;
    }
    }
    return json_null();
}

/* The value of member `v` of a body for field f into *p; the JSON type was
 * checked (or is reported) by the jfield table: a mismatch is skipped. */
static err field_from_json(json_t *v, struct person *p, enum person_field f, err e)
{
    const struct person_field_desc *d = &fields[f];
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    switch (d->kind) {
    case PK_TEXT:
        MEMBER(p, f, const char *) = s;
        break;
    case PK_ENUM: {
        int i = s ? vocab_parse(d->vocab, s) : -1;
        /* absent is 0, which person_check defaults */
        MEMBER(p, f, int) = i < 0 ? 0 : i;
        if (s && i < 0)
            e = err_add(e, E_INPUT, "invalid_value", d->name, "%s的取值不正确", d->label);
        break;
    }
    case PK_BOOL:
        MEMBER(p, f, bool) = json_is_true(v);
        break;
    case PK_TIME:
        MEMBER(p, f, int64_t) = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        break;
    case PK_REGION: {
        enum region_level lv;
        int64_t code = s ? regcode_parse(s, &lv) : 0;
        MEMBER(p, f, int64_t) = code > 0 ? code : 0;
        if (s && code <= 0)
            e = err_add(e, E_INPUT, "invalid_region", d->name, "%s不存在或不在您的管辖范围内",
                        d->label);
        break;
    }
    case PK_DATE: {
        int32_t date = s && *s ? person_birth_parse(s) : 0;
        MEMBER(p, f, int32_t) = date;
        if (s && *s && !date)
            e = err_add(e, E_INPUT, "invalid_birth_date", d->name,
                        "出生日期应为 YYYY-MM-DD 格式的有效日期");
        break;
    }
    case PK_BITS: {
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
        MEMBER(p, f, unsigned) = bits;
        if (bad) {
            /* the allowed names, from the vocabulary itself */
            char names[256];
            size_t n = 0;
            names[0] = '\0';
            for (size_t k = 0; k < d->vocab->n; k++) {
                int w = snprintf(names + n, sizeof names - n, "%s%s", n ? "、" : "",
                                 vocab_name(d->vocab, k));
                if (w < 0 || (size_t)w >= sizeof names - n)
                    break;
                n += (size_t)w;
            }
            e = err_add(e, E_INPUT, "invalid_value", d->name, "%s的取值不正确，可选：%s", d->label,
                        names);
        }
        break;
    }
    }
    return e;
}

err person_from_json(json_t *b, struct person *p, person_fields *set_r)
{
    person_fields set = 0;
    err e = E_OK;
    for (int f = 0; f < PF__COUNT; f++) {
        json_t *v = json_object_get(b, fields[f].name);
        if (!v)
            continue;
        set |= PF_BIT(f);
        e = field_from_json(v, p, (enum person_field)f, e);
    }
    *set_r = set;
    return e;
}

json_t *person_value_mask(arena *a, enum person_field f, json_t *v)
{
    if (!json_is_string(v) || (unsigned)f >= PF__COUNT)
        return json_incref(v);
    const char *s = json_string_value(v);
    switch (fields[f].mask) {
    case MK_NONE:
        return json_incref(v);
    case MK_NAME:
        return json_string(mask_name(a, s));
    case MK_ID:
        return json_string(mask_id_number(a, s));
    case MK_PHONE:
        return json_string(mask_phone(a, s));
    case MK_ADDRESS:
        return json_string(mask_address(a, s));
    case MK_BIRTH:
        /* not even the year: the reply shows the age, and age and year
         * together can pin the date to a single day (docs/security.md) */
        return json_string("****-**-**");
    }
    return json_incref(v);
}

json_t *person_json(arena *a, const struct person *p, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    for (int f = 0; f < PF__COUNT; f++) {
        json_t *v = person_field_json(p, (enum person_field)f);
        if (!reveal) {
            json_t *m = person_value_mask(a, (enum person_field)f, v);
            json_decref(v);
            v = m;
        }
        json_object_set_new(o, fields[f].name, v);
    }
    int age = person_age(p->birth_date, person_today());
    json_object_set_new(o, "age", age >= 0 ? json_integer(age) : json_null());
    json_object_set_new(o, "version", json_integer(p->version));
    json_set_id(o, "created_by", p->created_by);
    json_set_id(o, "updated_by", p->updated_by);
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "updated_at", json_integer(p->updated_at));
    json_object_set_new(o, "verified", json_boolean(!p->unverified));
    json_object_set_new(o, "masked", json_boolean(!reveal));
    return o;
}
