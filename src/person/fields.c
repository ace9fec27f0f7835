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

static const struct field fields[PF__COUNT] = {
#define PF_DESC(f, m, k, jt, min_, max_, fl, voc, mk, lab, col)                                    \
    [f] = {#m,                                                                                     \
           lab,                                                                                    \
           k,                                                                                      \
           jt,                                                                                     \
           min_,                                                                                   \
           max_,                                                                                   \
           fl,                                                                                     \
           voc,                                                                                    \
           mk,                                                                                     \
           col,                                                                                    \
           (k) == FD_DATE ? "invalid_birth_date" : NULL,                                           \
           offsetof(struct person, m),                                                             \
           sizeof(((struct person *)0)->m)},
    PERSON_FIELDS(PF_DESC)
#undef PF_DESC
};

#define PF_ONE(...) +1
_Static_assert(0 PERSON_FIELDS(PF_ONE) == PF__COUNT, "a row of PERSON_FIELDS for every field");
#undef PF_ONE
_Static_assert(PF__COUNT <= 32, "a field set is a 32-bit mask of rows");
_Static_assert(sizeof(enum id_type) == sizeof(int) && sizeof(enum person_gender) == sizeof(int) &&
                   sizeof(enum person_category) == sizeof(int) &&
                   sizeof(enum person_status) == sizeof(int),
               "FD_ENUM members are read as int");

const struct field *person_field_desc(enum person_field f)
{
    return &fields[(unsigned)f < PF__COUNT ? f : 0];
}

const char *person_field_name(enum person_field f)
{
    return (unsigned)f < PF__COUNT ? fields[f].name : "";
}

const char *person_fields_detail(arena *a, const char *prefix, person_fields set)
{
    const char *s = arena_printf(a, "%sfields=", prefix);
    bool first = true;
    for (int f = 0; f < PF__COUNT; f++) {
        if (!(set & PF_BIT(f)))
            continue;
        s = arena_printf(a, "%s%s%s", s, first ? "" : ",", person_field_name((enum person_field)f));
        first = false;
    }
    return s;
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
    return (unsigned)f < PF__COUNT && fields[f].kind == FD_TEXT ? (size_t)fields[f].max : 0;
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
    fields_copy(fields, dst, fields, src, PF__COUNT, set);
}

/* ---- JSON ----------------------------------------------------------------- */

void person_birth_format(int32_t birth, char out[11])
{
    field_date_format(birth, out);
}

int32_t person_birth_parse(const char *s)
{
    return field_date_parse(s);
}

json_t *person_field_json(const struct person *p, enum person_field f)
{
    if ((unsigned)f >= PF__COUNT)
        return json_null();
    return field_json(&fields[f], p);
}

err person_from_json(json_t *b, struct person *p, person_fields *set_r)
{
    unsigned set;
    /* no person field is trimmed here (person_check does), so no arena */
    err e = fields_from_json(fields, PF__COUNT, b, NULL, p, &set);
    *set_r = set;
    return e;
}

json_t *person_value_mask(arena *a, enum person_field f, json_t *v)
{
    if ((unsigned)f >= PF__COUNT)
        return json_incref(v);
    return mask_field_json(a, fields[f].mask, v);
}

void person_jsonw(struct jsonw *w, arena *a, const struct person *p, bool reveal)
{
    jsonw_key(w, "id");
    jsonw_id(w, p->id);
    mask_fields_jsonw(w, a, fields, PF__COUNT, p, reveal);
    int age = person_age(p->birth_date, person_today());
    jsonw_key(w, "age");
    if (age >= 0)
        jsonw_int(w, age);
    else
        jsonw_null(w);
    jsonw_key(w, "version");
    jsonw_int(w, p->version);
    jsonw_key(w, "created_by");
    jsonw_id(w, p->created_by);
    jsonw_key(w, "updated_by");
    jsonw_id(w, p->updated_by);
    jsonw_key(w, "created_at");
    jsonw_int(w, p->created_at);
    jsonw_key(w, "updated_at");
    jsonw_int(w, p->updated_at);
    jsonw_key(w, "verified");
    jsonw_bool(w, !p->unverified);
    jsonw_key(w, "masked");
    jsonw_bool(w, !reveal);
}

json_t *person_json(arena *a, const struct person *p, bool reveal)
{
    /* one shape for both: the look-up writes it straight into its reply */
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    person_jsonw(&w, a, p, reveal);
    jsonw_object_end(&w);
    json_t *o = jsonw_parse(&w);
    return o ? o : json_object();
}

/* ---- request bodies (person_body_check, person.h) ----------------------------- */

/* The body of a create and of a change: the field table's rows
 * (person/internal.h), and the version read for a change. */
const struct jfield person_create_fields[] = {
    PERSON_FIELDS(PERSON_JFIELD){NULL},
};

const struct jfield person_patch_fields[] = {
    PERSON_FIELDS(PERSON_JFIELD){"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL},
    {NULL},
};

/*
 * What only the resident may say (issue 8, security item 7): the consent
 * time is recorded when the resident gives consent on their own account,
 * and "self" means the resident declared the record. A staff body carrying
 * either is refused with its field; a null consent_at is dropped, so that
 * an edit form sending its empty field cannot erase a resident's consent.
 */
static err staff_may_set(json_t *b)
{
    json_t *c = json_object_get(b, "consent_at");
    if (c && json_is_null(c))
        json_object_del(b, "consent_at");
    else if (c)
        return err_set(E_INPUT, "not_allowed", "consent_at",
                       "同意采集时间由居民本人授权时记录，工作人员不能填写");
    const char *src = json_str(b, "source");
    if (src && !strcmp(src, "self"))
        return err_set(E_INPUT, "not_allowed", "source",
                       "信息来源“本人申报”只能由居民本人提交，请选择其他来源");
    return E_OK;
}

/*
 * A staff body checked in one pass (issue 8): the JSON checks generated
 * from the field table, what only the resident may set, the conversion,
 * and the record's own rules (id number checksum, dates, phones, the
 * region inside the caller's scope), every field at fault answered at
 * once. A change of `cur` is checked as cur with the change applied.
 */
err person_body_check(db *d, arena *a, const struct scope *sc, json_t *body,
                      const struct person *cur, struct person *p, person_fields *set_r)
{
    const struct jfield *jf = cur ? person_patch_fields : person_create_fields;
    *set_r = 0;
    err_collect_begin();
    err e = json_check(body, jf, cur != NULL), x;
    if (json_is_object(body)) {
        x = staff_may_set(body);
        e = e ? e : x;
        x = person_from_json(body, p, set_r);
        e = e ? e : x;
        struct person m = *p;
        if (cur) {
            m = *cur;
            person_fields_copy(&m, p, *set_r);
        }
        x = person_check(a, &m, *set_r);
        e = e ? e : x;
        if (m.region_code && (!cur || m.region_code != cur->region_code)) {
            x = person_region_check(d, sc, m.region_code, "region_code");
            e = e ? e : x;
        }
    }
    err_collect_end();
    return e;
}
