/*
 * The health-code engine: rule kinds, their parameters and default texts,
 * the default rule list, and code_eval, a pure function of the rules and
 * one person's inputs (no I/O, no allocation), so every rule and window
 * edge is unit-tested without a database.
 */
#include "code/code.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "person/person.h"

#define HOUR_MS ((int64_t)3600 * 1000)
#define DAY_MS  (24 * HOUR_MS)

/* ---- names ----------------------------------------------------------------- */

static const struct vocab_word colours[] = {
    [CODE_GREEN] = {"green", "绿码"},
    [CODE_YELLOW] = {"yellow", "黄码"},
    [CODE_RED] = {"red", "红码"},
};
const struct vocab code_colour_vocab = VOCAB("code_colors", "健康码颜色", colours);

const char *code_colour_name(enum code_colour c)
{
    return (unsigned)c <= CODE_RED ? colours[c].name : "green";
}

const char *code_colour_label(enum code_colour c)
{
    return (unsigned)c <= CODE_RED ? colours[c].label : colours[CODE_GREEN].label;
}

int code_colour_parse(const char *s)
{
    return vocab_parse(&code_colour_vocab, s);
}

static const char *const kinds[CK__COUNT] = {
    [CK_CASE_STATUS] = "case_status",
    [CK_IN_ISOLATION] = "in_isolation",
    [CK_CONTACT_DEGREE] = "contact_degree",
    [CK_FEVER] = "fever_within_hours",
    [CK_RISK_AREA_STAY] = "risk_area_stay",
    [CK_NO_NEGATIVE_TEST] = "no_negative_test_within_hours",
    [CK_LIVES_IN_ZONE] = "lives_in_zone",
    [CK_POSITIVE_TEST] = "positive_test_within_days",
    [CK_POOL_POSITIVE] = "pool_positive_pending",
};

enum code_test_result code_test_result_parse(const char *s)
{
    return !s                            ? 0
           : !strcmp(s, "negative")      ? CODE_TEST_NEGATIVE
           : !strcmp(s, "positive")      ? CODE_TEST_POSITIVE
           : !strcmp(s, "pool_positive") ? CODE_TEST_POOL_POSITIVE
                                         : 0;
}

const char *code_kind_name(enum code_kind k)
{
    return k > 0 && k < CK__COUNT ? kinds[k] : "";
}

enum code_kind code_kind_parse(const char *s)
{
    for (int k = 1; s && k < CK__COUNT; k++)
        if (!strcmp(s, kinds[k]))
            return (enum code_kind)k;
    return 0;
}

static const struct vocab_word zones[] = {
    [ZONE_SEALED] = {"sealed", "封控区"},
    [ZONE_CONTROLLED] = {"controlled", "管控区"},
    [ZONE_PREVENTION] = {"prevention", "防范区"},
};
const struct vocab zone_kind_vocab = VOCAB("zone_kinds", "区域类型", zones);

const char *zone_kind_name(enum zone_kind k)
{
    return vocab_name(&zone_kind_vocab, (size_t)k);
}

const char *zone_kind_label(enum zone_kind k)
{
    return vocab_label(&zone_kind_vocab, (size_t)k);
}

enum zone_kind zone_kind_parse(const char *s)
{
    int k = vocab_parse(&zone_kind_vocab, s);
    return k > 0 ? (enum zone_kind)k : 0;
}

static const char *const level_names[] = {"", "medium", "high"};

/* ---- defaults ---------------------------------------------------------------- */

#define ST(s) (1u << PERSON_##s)

static const struct code_rule defaults[] = {
    {.key = "case",
     .kind = CK_CASE_STATUS,
     .colour = CODE_RED,
     .enabled = true,
     .statuses = ST(CONFIRMED) | ST(SUSPECTED) | ST(ASYMPTOMATIC)},
    {.key = "isolation_status",
     .kind = CK_CASE_STATUS,
     .colour = CODE_RED,
     .enabled = true,
     .statuses = ST(OBSERVATION) | ST(HOME_ISOLATION) | ST(CENTRAL_QUARANTINE)},
    {.key = "isolation", .kind = CK_IN_ISOLATION, .colour = CODE_RED, .enabled = true},
    {.key = "contact_1",
     .kind = CK_CONTACT_DEGREE,
     .colour = CODE_RED,
     .enabled = true,
     .degree = 1,
     .days = 14},
    {.key = "contact_2",
     .kind = CK_CONTACT_DEGREE,
     .colour = CODE_YELLOW,
     .enabled = true,
     .degree = 2,
     .days = 14},
    {.key = "fever",
     .kind = CK_FEVER,
     .colour = CODE_YELLOW,
     .enabled = true,
     .hours = 24,
     .threshold = 37.3},
    {.key = "risk_area_high",
     .kind = CK_RISK_AREA_STAY,
     .colour = CODE_RED,
     .enabled = true,
     .level = 2,
     .days = 14},
    {.key = "risk_area_medium",
     .kind = CK_RISK_AREA_STAY,
     .colour = CODE_YELLOW,
     .enabled = true,
     .level = 1,
     .days = 14},
    /* off by default: with it on, everyone not tested in 72 h is yellow;
     * the command centre turns it on for a testing campaign */
    {.key = "no_negative_test",
     .kind = CK_NO_NEGATIVE_TEST,
     .colour = CODE_YELLOW,
     .enabled = false,
     .hours = 72},
    {.key = "sealed_zone",
     .kind = CK_LIVES_IN_ZONE,
     .colour = CODE_RED,
     .enabled = true,
     .zone = ZONE_SEALED},
    {.key = "controlled_zone",
     .kind = CK_LIVES_IN_ZONE,
     .colour = CODE_YELLOW,
     .enabled = true,
     .zone = ZONE_CONTROLLED},
    /* a positive single tube (or any positive result) is red for 14 days;
     * the case workflow's report then keeps it red through the status */
    {.key = "positive_test",
     .kind = CK_POSITIVE_TEST,
     .colour = CODE_RED,
     .enabled = true,
     .days = 14},
    /* a positive pool marks its people yellow until their single-tube
     * retest answers (nat.h "laboratory results") */
    {.key = "pool_positive",
     .kind = CK_POOL_POSITIVE,
     .colour = CODE_YELLOW,
     .enabled = true,
     .days = 14},
};

const struct code_rule *code_rules_default(size_t *n_r)
{
    *n_r = sizeof defaults / sizeof defaults[0];
    return defaults;
}

double code_fever_threshold(const struct code_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rules[i].enabled && rules[i].kind == CK_FEVER)
            return rules[i].threshold;
    return 37.3;
}

int64_t code_inputs_window_ms(const struct code_rule *rules, size_t n)
{
    int64_t w = 14 * DAY_MS;
    for (size_t i = 0; i < n; i++) {
        int64_t x = (int64_t)rules[i].hours * HOUR_MS;
        if ((int64_t)rules[i].days * DAY_MS > x)
            x = (int64_t)rules[i].days * DAY_MS;
        if (x > w)
            w = x;
    }
    return w;
}

/* ---- predicates ----------------------------------------------------------------- */

static bool open_at(int64_t from, int64_t to, int64_t now)
{
    return from <= now && (to == 0 || to > now);
}

static bool in_isolation(const struct code_input *in)
{
    for (size_t i = 0; i < in->n_isolations; i++)
        if (open_at(in->isolations[i].from, in->isolations[i].to, in->now))
            return true;
    return false;
}

static bool contact(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->days * DAY_MS;
    for (size_t i = 0; i < in->n_contacts; i++) {
        const struct code_contact *c = &in->contacts[i];
        if (c->degree == r->degree && c->at >= since && c->at <= in->now &&
            (c->end_at == 0 || c->end_at > in->now))
            return true;
    }
    return false;
}

/* A fever reading within the window that no later normal reading cleared. */
static bool fever(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->hours * HOUR_MS;
    int64_t last_fever = -1, last_normal = -1;
    for (size_t i = 0; i < in->n_readings; i++) {
        const struct code_reading *x = &in->readings[i];
        if (x->at > in->now)
            continue;
        if (x->celsius >= r->threshold - 1e-9) {
            if (x->at >= since && x->at > last_fever)
                last_fever = x->at;
        } else if (x->at > last_normal) {
            last_normal = x->at;
        }
    }
    return last_fever >= 0 && last_normal <= last_fever;
}

static bool risk_stay(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->days * DAY_MS;
    for (size_t i = 0; i < in->n_stays; i++) {
        const struct code_stay *s = &in->stays[i];
        int64_t end = s->left_at ? s->left_at : in->now;
        if (s->level < r->level || s->arrived_at > in->now || end < since)
            continue;
        /* the area was at that level during the stay */
        if (s->valid_from <= end && (s->valid_to == 0 || s->valid_to >= s->arrived_at))
            return true;
    }
    return false;
}

static bool no_negative(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->hours * HOUR_MS;
    for (size_t i = 0; i < in->n_tests; i++)
        if (in->tests[i].result == CODE_TEST_NEGATIVE && in->tests[i].sampled_at >= since &&
            in->tests[i].sampled_at <= in->now)
            return false;
    return true;
}

static bool positive(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->days * DAY_MS;
    for (size_t i = 0; i < in->n_tests; i++)
        if (in->tests[i].result == CODE_TEST_POSITIVE && in->tests[i].sampled_at >= since &&
            in->tests[i].sampled_at <= in->now)
            return true;
    return false;
}

/* The newest test sampled in the window decides: a retest sampled after
 * the pool (negative or positive) ends the mark. Among tests sampled at
 * the same instant the pool's mark loses (a retest cannot precede it). */
static bool pool_positive(const struct code_rule *r, const struct code_input *in)
{
    int64_t since = in->now - (int64_t)r->days * DAY_MS;
    const struct code_test *newest = NULL;
    for (size_t i = 0; i < in->n_tests; i++) {
        const struct code_test *t = &in->tests[i];
        if (t->sampled_at < since || t->sampled_at > in->now)
            continue;
        if (!newest || t->sampled_at > newest->sampled_at ||
            (t->sampled_at == newest->sampled_at && t->result != CODE_TEST_POOL_POSITIVE))
            newest = t;
    }
    return newest && newest->result == CODE_TEST_POOL_POSITIVE;
}

static bool in_zone(const struct code_rule *r, const struct code_input *in)
{
    for (size_t i = 0; i < in->n_zones; i++)
        if (in->zones[i].kind == r->zone &&
            open_at(in->zones[i].valid_from, in->zones[i].valid_to, in->now))
            return true;
    return false;
}

static bool matches(const struct code_rule *r, const struct code_input *in)
{
    switch (r->kind) {
    case CK_CASE_STATUS:
        return in->status > 0 && in->status < 32 && (r->statuses & (1u << in->status));
    case CK_IN_ISOLATION:
        return in_isolation(in);
    case CK_CONTACT_DEGREE:
        return contact(r, in);
    case CK_FEVER:
        return fever(r, in);
    case CK_RISK_AREA_STAY:
        return risk_stay(r, in);
    case CK_NO_NEGATIVE_TEST:
        return no_negative(r, in);
    case CK_LIVES_IN_ZONE:
        return in_zone(r, in);
    case CK_POSITIVE_TEST:
        return positive(r, in);
    case CK_POOL_POSITIVE:
        return pool_positive(r, in);
    case CK__COUNT:
        break;
    }
    return false;
}

enum code_colour code_eval(const struct code_rule *rules, size_t n, const struct code_input *in,
                           uint8_t *match_r, size_t *n_match_r)
{
    enum code_colour worst = CODE_GREEN;
    size_t m = 0;
    for (size_t i = 0; i < n && i < CODE_RULES_MAX; i++) {
        if (!rules[i].enabled || !matches(&rules[i], in))
            continue;
        match_r[m++] = (uint8_t)i;
        if (rules[i].colour > worst)
            worst = rules[i].colour;
    }
    *n_match_r = m;
    return worst;
}

/* ---- texts ------------------------------------------------------------------ */

void code_rule_text(const struct code_rule *r, char *out, size_t size)
{
    if (r->label[0]) {
        snprintf(out, size, "%s", r->label);
        return;
    }
    switch (r->kind) {
    case CK_CASE_STATUS: {
        size_t n = (size_t)snprintf(out, size, "人员状态为");
        int k = 0;
        for (int s = PERSON_NORMAL; s <= PERSON_DEAD && n < size; s++) {
            if (!(r->statuses & (1u << s)))
                continue;
            int w = snprintf(out + n, size - n, "%s%s", k++ ? "、" : "",
                             person_status_label((enum person_status)s));
            if (w < 0)
                break;
            n += (size_t)w;
        }
        return;
    }
    case CK_IN_ISOLATION:
        snprintf(out, size, "正在隔离");
        return;
    case CK_CONTACT_DEGREE:
        snprintf(out, size, "%d天内为%s", r->days, r->degree == 1 ? "密切接触者" : "次密切接触者");
        return;
    case CK_FEVER:
        snprintf(out, size, "%d小时内体温达到%.1f℃及以上，之后无正常体温记录", r->hours,
                 r->threshold);
        return;
    case CK_RISK_AREA_STAY:
        snprintf(out, size, "%d天内到过%s", r->days,
                 r->level >= 2 ? "高风险地区" : "中风险及以上地区");
        return;
    case CK_NO_NEGATIVE_TEST:
        snprintf(out, size, "%d小时内无核酸检测阴性结果", r->hours);
        return;
    case CK_LIVES_IN_ZONE:
        snprintf(out, size, "居住在%s", zone_kind_label(r->zone));
        return;
    case CK_POSITIVE_TEST:
        snprintf(out, size, "%d天内核酸检测结果为阳性", r->days);
        return;
    case CK_POOL_POSITIVE:
        snprintf(out, size, "混管检测阳性，待单管复核");
        return;
    case CK__COUNT:
        break;
    }
    snprintf(out, size, "%s", r->key);
}

const char *code_reasons_text(arena *a, const struct code_rule *rules, const uint8_t *match,
                              size_t n_match)
{
    if (!n_match)
        return "[]";
    json_t *arr = json_array();
    for (size_t i = 0; i < n_match; i++) {
        const struct code_rule *r = &rules[match[i]];
        char text[256];
        code_rule_text(r, text, sizeof text);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "rule", r->key, "colour",
                                             code_colour_name(r->colour), "text", text));
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    const char *out = s ? arena_strdup(a, s) : "[]";
    free(s);
    return out;
}

/* ---- JSON form ------------------------------------------------------------------ */

json_t *code_rule_json(const struct code_rule *r)
{
    json_t *p = json_object();
    switch (r->kind) {
    case CK_CASE_STATUS: {
        json_t *st = json_array();
        for (int s = PERSON_NORMAL; s <= PERSON_DEAD; s++)
            if (r->statuses & (1u << s))
                json_array_append_new(st, json_string(person_status_name((enum person_status)s)));
        json_object_set_new(p, "statuses", st);
        break;
    }
    case CK_CONTACT_DEGREE:
        json_object_set_new(p, "degree", json_integer(r->degree));
        json_object_set_new(p, "days", json_integer(r->days));
        break;
    case CK_FEVER:
        json_object_set_new(p, "hours", json_integer(r->hours));
        json_object_set_new(p, "threshold", json_real(r->threshold));
        break;
    case CK_RISK_AREA_STAY:
        json_object_set_new(p, "level", json_string(level_names[r->level == 2 ? 2 : 1]));
        json_object_set_new(p, "days", json_integer(r->days));
        break;
    case CK_NO_NEGATIVE_TEST:
        json_object_set_new(p, "hours", json_integer(r->hours));
        break;
    case CK_LIVES_IN_ZONE:
        json_object_set_new(p, "zone", json_string(zone_kind_name(r->zone)));
        break;
    case CK_POSITIVE_TEST:
    case CK_POOL_POSITIVE:
        json_object_set_new(p, "days", json_integer(r->days));
        break;
    default:
        break;
    }
    char text[256];
    code_rule_text(r, text, sizeof text);
    return json_pack("{s:s,s:s,s:o,s:s,s:b,s:s,s:s}", "key", r->key, "kind",
                     code_kind_name(r->kind), "params", p, "colour", code_colour_name(r->colour),
                     "enabled", r->enabled, "label", r->label, "text", text);
}

static err bad(size_t i, const char *field, const char *slug, const char *msg)
{
    char f[160];
    snprintf(f, sizeof f, "rules[%zu].%s", i, field);
    return err_set(E_INPUT, slug, f, "第%zu条规则：%s", i + 1, msg);
}

/* An integer parameter in [lo, hi]. */
static err int_param(json_t *params, size_t i, const char *name, int lo, int hi, int *v_r)
{
    char field[40];
    snprintf(field, sizeof field, "params.%s", name);
    json_t *v = json_object_get(params, name);
    if (!v)
        return bad(i, field, "required", "缺少参数");
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char msg[64];
        snprintf(msg, sizeof msg, "参数 %s 应为 %d 到 %d 的整数", name, lo, hi);
        return bad(i, field, "out_of_range", msg);
    }
    *v_r = (int)json_integer_value(v);
    return E_OK;
}

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > CODE_RULE_KEY_MAX || !(k[0] >= 'a' && k[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return false;
    return true;
}

/* The parameters each kind takes, NULL-terminated. */
static const char *const *kind_params(enum code_kind k)
{
    static const char *const st[] = {"statuses", NULL}, *const none[] = {NULL},
                             *const ct[] = {"degree", "days", NULL},
                             *const fv[] = {"hours", "threshold", NULL},
                             *const rs[] = {"level", "days", NULL}, *const nt[] = {"hours", NULL},
                             *const zn[] = {"zone", NULL}, *const dy[] = {"days", NULL};
    switch (k) {
    case CK_CASE_STATUS:
        return st;
    case CK_CONTACT_DEGREE:
        return ct;
    case CK_FEVER:
        return fv;
    case CK_RISK_AREA_STAY:
        return rs;
    case CK_NO_NEGATIVE_TEST:
        return nt;
    case CK_LIVES_IN_ZONE:
        return zn;
    case CK_POSITIVE_TEST:
    case CK_POOL_POSITIVE:
        return dy;
    default:
        return none;
    }
}

static err params_from_json(json_t *p, size_t i, struct code_rule *r)
{
    const char *const *allowed = kind_params(r->kind);
    const char *name;
    json_t *v;
    json_object_foreach(p, name, v)
    {
        bool ok = false;
        for (size_t k = 0; allowed[k]; k++)
            ok = ok || !strcmp(allowed[k], name);
        if (!ok) {
            char field[80];
            snprintf(field, sizeof field, "params.%.60s", name);
            return bad(i, field, "unknown_field", "此类规则没有这个参数");
        }
    }
    err e = E_OK;
    switch (r->kind) {
    case CK_CASE_STATUS: {
        json_t *arr = json_object_get(p, "statuses");
        size_t k;
        if (!json_is_array(arr) || !json_array_size(arr))
            return bad(i, "params.statuses", "required", "请至少选择一种人员状态");
        json_array_foreach(arr, k, v)
        {
            enum person_status s = json_is_string(v) ? person_status_parse(json_string_value(v))
                                                     : (enum person_status)0;
            if (!s)
                return bad(i, "params.statuses", "invalid_value", "人员状态的取值不正确");
            r->statuses |= 1u << s;
        }
        break;
    }
    case CK_CONTACT_DEGREE:
        if (!(e = int_param(p, i, "degree", 1, 2, &r->degree)))
            e = int_param(p, i, "days", 1, 60, &r->days);
        break;
    case CK_FEVER: {
        if ((e = int_param(p, i, "hours", 1, 720, &r->hours)))
            return e;
        json_t *t = json_object_get(p, "threshold");
        if (!t)
            return bad(i, "params.threshold", "required", "缺少参数");
        if (!json_is_number(t) || json_number_value(t) < 37.0 || json_number_value(t) > 42.0)
            return bad(i, "params.threshold", "out_of_range", "发热阈值应为 37.0 到 42.0 ℃");
        r->threshold = round(json_number_value(t) * 10) / 10;
        break;
    }
    case CK_RISK_AREA_STAY: {
        json_t *l = json_object_get(p, "level");
        const char *s = json_is_string(l) ? json_string_value(l) : "";
        r->level = !strcmp(s, "medium") ? 1 : !strcmp(s, "high") ? 2 : 0;
        if (!r->level)
            return bad(i, "params.level", "invalid_value", "风险等级只能是 medium 或 high");
        e = int_param(p, i, "days", 1, 60, &r->days);
        break;
    }
    case CK_NO_NEGATIVE_TEST:
        e = int_param(p, i, "hours", 1, 720, &r->hours);
        break;
    case CK_POSITIVE_TEST:
    case CK_POOL_POSITIVE:
        e = int_param(p, i, "days", 1, 60, &r->days);
        break;
    case CK_LIVES_IN_ZONE: {
        json_t *z = json_object_get(p, "zone");
        r->zone = json_is_string(z) ? zone_kind_parse(json_string_value(z)) : 0;
        if (!r->zone)
            return bad(i, "params.zone", "invalid_value",
                       "区域类型只能是 sealed、controlled 或 prevention");
        break;
    }
    default:
        break;
    }
    return e;
}

err code_rule_from_json(json_t *o, size_t i, struct code_rule *r_out)
{
    static const char *const fields[] = {"key",     "kind",  "params", "colour",
                                         "enabled", "label", "text",   NULL};
    struct code_rule r = {.enabled = true};
    if (!json_is_object(o))
        return bad(i, "key", "invalid_type", "规则应为对象");
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v)
    {
        bool ok = false;
        for (size_t k = 0; fields[k]; k++)
            ok = ok || !strcmp(fields[k], name);
        if (!ok) {
            char f[64];
            snprintf(f, sizeof f, "%.60s", name);
            return bad(i, f, "unknown_field", "未知字段");
        }
    }
    v = json_object_get(o, "key");
    if (!json_is_string(v) || !key_ok(json_string_value(v)))
        return bad(i, "key", "invalid_value",
                   "规则标识应为小写字母开头、由小写字母、数字和下划线组成的1-32个字符");
    snprintf(r.key, sizeof r.key, "%s", json_string_value(v));
    v = json_object_get(o, "kind");
    if (!json_is_string(v) || !(r.kind = code_kind_parse(json_string_value(v))))
        return bad(i, "kind", "invalid_value",
                   "规则类型只能是 case_status、in_isolation、contact_degree、fever_within_hours、"
                   "risk_area_stay、no_negative_test_within_hours、lives_in_zone、"
                   "positive_test_within_days 或 pool_positive_pending");
    v = json_object_get(o, "colour");
    int c = json_is_string(v) ? code_colour_parse(json_string_value(v)) : -1;
    if (c != CODE_YELLOW && c != CODE_RED)
        return bad(i, "colour", "invalid_value", "规则的结果只能是 yellow 或 red");
    r.colour = (enum code_colour)c;
    if ((v = json_object_get(o, "enabled"))) {
        if (!json_is_boolean(v))
            return bad(i, "enabled", "invalid_type", "enabled 应为 true 或 false");
        r.enabled = json_is_true(v);
    }
    if ((v = json_object_get(o, "label")) && !json_is_null(v)) {
        if (!json_is_string(v) || !utf8_valid_text(json_string_value(v)) ||
            utf8_len(json_string_value(v)) > CODE_RULE_LABEL_MAX)
            return bad(i, "label", "invalid_value", "说明应为不超过60个字符的文字");
        snprintf(r.label, sizeof r.label, "%s", json_string_value(v));
    }
    json_t *p = json_object_get(o, "params");
    if (p && !json_is_object(p))
        return bad(i, "params", "invalid_type", "参数应为对象");
    json_t *empty = json_object();
    err e = params_from_json(p ? p : empty, i, &r);
    json_decref(empty);
    if (e)
        return e;
    *r_out = r;
    return E_OK;
}
