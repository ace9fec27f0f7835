/*
 * The person record's vocabularies (statuses, categories, genders,
 * vulnerable flags, sources) and its field table: each field's JSON name,
 * Chinese label and masking rule, and the one function that writes a field
 * as JSON, used by replies, CSV export and history alike.
 */
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

enum mask_kind { MK_NONE, MK_NAME, MK_ID, MK_PHONE, MK_ADDRESS, MK_BIRTH };

static const struct {
    const char *name, *label;
    enum mask_kind mask;
} fields[PF__COUNT] = {
    [PF_NAME] = {"name", "姓名", MK_NAME},
    [PF_ID_TYPE] = {"id_type", "证件类型", MK_NONE},
    [PF_ID_NUMBER] = {"id_number", "证件号码", MK_ID},
    [PF_NATIVE_PLACE] = {"native_place", "籍贯", MK_NONE},
    [PF_GENDER] = {"gender", "性别", MK_NONE},
    [PF_BIRTH_DATE] = {"birth_date", "出生日期", MK_BIRTH},
    [PF_CATEGORY] = {"category", "人员类型", MK_NONE},
    [PF_INBOUND] = {"inbound", "是否入境人员", MK_NONE},
    [PF_REGION_CODE] = {"region_code", "所属区划", MK_NONE},
    [PF_ADDRESS] = {"address", "现住址", MK_ADDRESS},
    [PF_HOUSEHOLD] = {"household", "户号", MK_NONE},
    [PF_HOUSEHOLD_RELATION] = {"household_relation", "与户主关系", MK_NONE},
    [PF_PHONE] = {"phone", "手机号码", MK_PHONE},
    [PF_EMERGENCY_CONTACT_NAME] = {"emergency_contact_name", "紧急联系人", MK_NAME},
    [PF_EMERGENCY_CONTACT_PHONE] = {"emergency_contact_phone", "紧急联系人电话", MK_PHONE},
    [PF_EMPLOYED] = {"employed", "是否在职", MK_NONE},
    [PF_EMPLOYER] = {"employer", "工作单位", MK_NONE},
    [PF_WORK_ADDRESS] = {"work_address", "工作地址", MK_ADDRESS},
    [PF_CURRENT_LOCATION] = {"current_location", "目前所在地", MK_NONE},
    [PF_VULNERABLE] = {"vulnerable", "重点人群", MK_NONE},
    [PF_STATUS] = {"status", "状态", MK_NONE},
    [PF_SOURCE] = {"source", "信息来源", MK_NONE},
    [PF_CONSENT_AT] = {"consent_at", "同意采集时间", MK_NONE},
};

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

enum person_field person_field_parse(const char *s)
{
    for (int f = 0; s && f < PF__COUNT; f++)
        if (!strcmp(fields[f].name, s))
            return (enum person_field)f;
    return PF__COUNT;
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

json_t *person_field_json(const struct person *p, enum person_field f)
{
    switch (f) {
    case PF_NAME:
        return str_or_null(p->name);
    case PF_ID_TYPE:
        return str_or_null(id_type_name(p->id_type));
    case PF_ID_NUMBER:
        return str_or_null(p->id_number);
    case PF_NATIVE_PLACE:
        return str_or_null(p->native_place);
    case PF_GENDER:
        return json_string(person_gender_name(p->gender));
    case PF_BIRTH_DATE: {
        char b[11];
        person_birth_format(p->birth_date, b);
        return str_or_null(b);
    }
    case PF_CATEGORY:
        return str_or_null(person_category_name(p->category));
    case PF_INBOUND:
        return json_boolean(p->inbound);
    case PF_REGION_CODE: {
        if (!p->region_code)
            return json_null();
        char code[19];
        regcode_format(p->region_code, code);
        return json_string(code);
    }
    case PF_ADDRESS:
        return str_or_null(p->address);
    case PF_HOUSEHOLD:
        return str_or_null(p->household);
    case PF_HOUSEHOLD_RELATION:
        return str_or_null(p->household_relation);
    case PF_PHONE:
        return str_or_null(p->phone);
    case PF_EMERGENCY_CONTACT_NAME:
        return str_or_null(p->emergency_contact_name);
    case PF_EMERGENCY_CONTACT_PHONE:
        return str_or_null(p->emergency_contact_phone);
    case PF_EMPLOYED:
        return json_boolean(p->employed);
    case PF_EMPLOYER:
        return str_or_null(p->employer);
    case PF_WORK_ADDRESS:
        return str_or_null(p->work_address);
    case PF_CURRENT_LOCATION:
        return str_or_null(p->current_location);
    case PF_VULNERABLE: {
        json_t *a = json_array();
        for (unsigned bit = 1; bit <= VULN_ALL; bit <<= 1)
            if (p->vulnerable & bit)
                json_array_append_new(a, json_string(vulnerable_name(bit)));
        return a;
    }
    case PF_STATUS:
        return str_or_null(person_status_name(p->status));
    case PF_SOURCE:
        return str_or_null(p->source);
    case PF_CONSENT_AT:
        return p->consent_at ? json_integer(p->consent_at) : json_null();
    case PF__COUNT:
        break;
    }
    return json_null();
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
