/*
 * Monitoring rules: their table (monitor_rules, sql/048), the check of an
 * edited list, the evaluation of each kind over what the platform keeps
 * (counters, rooms, open observations and their checks, alerts), the
 * breaches of the day with the one alert each, and the background worker.
 */
#include "monitor/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"

static const struct vocab_word kind_words[] = {
    {NULL, NULL},
    {"reports", "社区新增上报"},
    {"occupancy", "隔离点入住率"},
    {"unchecked", "居家隔离人员未核查"},
    {"fever", "场所发热告警"},
};
const struct vocab monitor_kind_vocab = VOCAB("monitor_kinds", "监测预警类型", kind_words);
_Static_assert(sizeof kind_words / sizeof kind_words[0] == MONITOR_KIND__COUNT,
               "a word for every monitoring kind");

/* What each kind compares, in which unit, and what it raises. */
static const struct kind_def {
    const char *unit;      /* 件 / % / 人 / 次 */
    bool more_than;        /* breach when figure > threshold (else >=) */
    int64_t min, max;      /* the threshold's bounds */
    enum alert_kind alert; /* the alert kind raised */
    const char *object;    /* object_type in replies: region | site | venue */
} kinds[MONITOR_KIND__COUNT] = {
    [MONITOR_REPORTS] = {"件", true, 0, 1000000, ALERT_MONITOR_REPORTS, "region"},
    [MONITOR_OCCUPANCY] = {"%", false, 1, 100, ALERT_MONITOR_OCCUPANCY, "site"},
    [MONITOR_UNCHECKED] = {"人", false, 1, 1000000, ALERT_MONITOR_UNCHECKED, "region"},
    [MONITOR_FEVER] = {"次", false, 1, 1000000, ALERT_MONITOR_FEVER, "venue"},
};

static enum monitor_kind kind_parse(const char *s)
{
    int k = vocab_parse(&monitor_kind_vocab, s);
    return k > 0 ? (enum monitor_kind)k : 0;
}

/* ---- rules -------------------------------------------------------------------------------- */

#define RULE_COLS "id, kind, label, threshold, level, enabled, from_hour"

err monitor_rules_load(db *d, arena *a, struct monitor_rule **items_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT " RULE_COLS " FROM monitor_rules ORDER BY id", &s);
    if (e)
        return e;
    struct monitor_rule *items = arena_zalloc(a, MONITOR_RULES_MAX * sizeof *items);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < MONITOR_RULES_MAX) {
        struct monitor_rule *r = &items[n];
        r->id = db_col_int64(s, 0);
        r->kind = kind_parse(db_col_text(s, 1));
        r->label = arena_strdup(a, db_col_text(s, 2));
        r->threshold = db_col_int64(s, 3);
        r->level = alert_level_parse(db_col_text(s, 4));
        r->enabled = db_col_int64(s, 5) != 0;
        r->from_hour = (int)db_col_int64(s, 6);
        if (r->kind && r->level) /* a row another version wrote: not ours to run */
            n++;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

static err field_err(const char *slug, size_t i, const char *name, const char *fmt, int64_t x,
                     int64_t y)
{
    char field[48], msg[160];
    snprintf(field, sizeof field, "rules[%zu].%s", i, name);
    snprintf(msg, sizeof msg, fmt, (long long)x, (long long)y);
    return err_set(E_INPUT, slug, field, "第%zu条规则：%s", i + 1, msg);
}

static const struct jfield rule_fields[] = {
    {"id", J_STRING, 0, 1, 20, "规则", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "预警类型", NULL, &monitor_kind_vocab},
    {"label", J_STRING, JF_REQUIRED, 1, MONITOR_LABEL_MAX, "规则名称", NULL, NULL},
    {"threshold", J_INT, JF_REQUIRED, 0, 0, "阈值", NULL, NULL},
    {"level", J_STRING, JF_REQUIRED, 0, 0, "预警级别", NULL, &alert_level_vocab},
    {"enabled", J_BOOL, JF_REQUIRED, 0, 0, "启用", NULL, NULL},
    {"from_hour", J_INT, 0, 0, 23, "每日起始时刻", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

err monitor_rules_parse(json_t *rules, arena *a, struct monitor_rule **items_r, size_t *n_r)
{
    if (!json_is_array(rules))
        return err_set(E_INPUT, rules ? "invalid_type" : "required", "rules", "请提交规则列表");
    size_t n = json_array_size(rules);
    if (n == 0 || n > MONITOR_RULES_MAX)
        return err_set(E_INPUT, "out_of_range", "rules", "规则应有1到%d条", MONITOR_RULES_MAX);
    struct monitor_rule *items = arena_zalloc(a, n * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(rules, i);
        if (!json_is_object(o)) {
            char field[24];
            snprintf(field, sizeof field, "rules[%zu]", i);
            return err_set(E_INPUT, "invalid_type", field, "第%zu条规则格式不正确", i + 1);
        }
        err e = json_check(o, rule_fields, false);
        if (e) {
            /* the same error, its field placed in the list */
            struct err_detail dt = *err_last(); /* err_set below overwrites it */
            char field[48];
            snprintf(field, sizeof field, "rules[%zu].%.20s", i, dt.field);
            return err_set(e, dt.slug, field, "第%zu条规则：%s", i + 1, dt.message);
        }
        struct monitor_rule *r = &items[i];
        const char *id = json_str(o, "id");
        if (id && !(r->id = id_parse(id)))
            return field_err("invalid_value", i, "id", "规则编号无效", 0, 0);
        for (size_t j = 0; j < i; j++)
            if (r->id && items[j].id == r->id)
                return field_err("duplicate_rule", i, "id", "规则重复", 0, 0);
        r->kind = kind_parse(json_str(o, "kind"));
        r->label = arena_strdup(a, json_str(o, "label"));
        if (!r->label[strspn(r->label, " \t\r\n")])
            return field_err("required", i, "label", "请填写规则名称", 0, 0);
        r->threshold = json_int(o, "threshold", 0);
        const struct kind_def *k = &kinds[r->kind];
        if (r->threshold < k->min || r->threshold > k->max)
            return field_err("out_of_range", i, "threshold",
                             r->kind == MONITOR_OCCUPANCY ? "入住率阈值应在%lld%%到%lld%%之间"
                                                          : "阈值应在%lld到%lld之间",
                             k->min, k->max);
        r->level = alert_level_parse(json_str(o, "level"));
        r->enabled = json_bool(o, "enabled", true);
        r->from_hour = (int)json_int(o, "from_hour", 0);
    }
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err monitor_rules_save(db *d, arena *a, struct monitor_rule *items, size_t n, int64_t user_id)
{
    struct monitor_rule *old;
    size_t old_n;
    err e = monitor_rules_load(d, a, &old, &old_n);
    for (size_t i = 0; !e && i < n; i++) {
        if (!items[i].id)
            continue;
        const struct monitor_rule *was = NULL;
        for (size_t j = 0; j < old_n && !was; j++)
            if (old[j].id == items[i].id)
                was = &old[j];
        char field[48];
        if (!was) {
            snprintf(field, sizeof field, "rules[%zu].id", i);
            e = err_set(E_INPUT, "unknown_rule", field, "第%zu条规则不存在（可能已被删除）", i + 1);
        } else if (was->kind != items[i].kind) {
            /* a breach's object is the kind's (a region, a site, a venue): a
             * rule keeps its kind, or today's breaches would change meaning */
            snprintf(field, sizeof field, "rules[%zu].kind", i);
            e = err_set(E_INPUT, "invalid_value", field,
                        "第%zu条规则：监测内容不能修改，请新增一条规则", i + 1);
        }
    }
    db_stmt *s;
    /* the rules not given go */
    for (size_t j = 0; !e && j < old_n; j++) {
        bool kept = false;
        for (size_t i = 0; i < n && !kept; i++)
            kept = items[i].id == old[j].id;
        if (kept || (e = db_prepare(d, "DELETE FROM monitor_rules WHERE id = ?", &s)))
            continue;
        db_bind_int64(s, 1, old[j].id);
        e = db_run(s, NULL);
    }
    int64_t now = now_ms();
    for (size_t i = 0; !e && i < n; i++) {
        struct monitor_rule *r = &items[i];
        bool fresh = !r->id;
        if (fresh)
            r->id = id_new();
        if ((e = db_prepare(d,
                            fresh ? "INSERT INTO monitor_rules (kind, label, threshold, level, "
                                    "enabled, from_hour, updated_by, updated_at, id) VALUES "
                                    "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
                                  : "UPDATE monitor_rules SET kind = ?, label = ?, threshold = "
                                    "?, level = ?, enabled = ?, from_hour = ?, updated_by = ?, "
                                    "updated_at = ? WHERE id = ?",
                            &s)))
            break;
        db_bind_text(s, 1, vocab_name(&monitor_kind_vocab, (size_t)r->kind));
        db_bind_text(s, 2, r->label);
        db_bind_int64(s, 3, r->threshold);
        db_bind_text(s, 4, alert_level_name(r->level));
        db_bind_int64(s, 5, r->enabled);
        db_bind_int64(s, 6, r->from_hour);
        db_bind_int64(s, 7, user_id);
        db_bind_int64(s, 8, now);
        db_bind_int64(s, 9, r->id);
        e = db_run(s, NULL);
    }
    return e;
}

json_t *monitor_rule_json(const struct monitor_rule *r)
{
    const struct kind_def *k = &kinds[r->kind];
    json_t *o = json_object();
    json_set_id(o, "id", r->id);
    json_object_set_new(o, "kind", json_string(vocab_name(&monitor_kind_vocab, (size_t)r->kind)));
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&monitor_kind_vocab, (size_t)r->kind)));
    json_object_set_new(o, "label", json_string(r->label));
    json_object_set_new(o, "threshold", json_integer(r->threshold));
    json_object_set_new(o, "unit", json_string(k->unit));
    json_object_set_new(o, "comparison", json_string(k->more_than ? "gt" : "ge"));
    json_object_set_new(o, "level", json_string(alert_level_name(r->level)));
    json_object_set_new(o, "level_label",
                        json_string(vocab_label(&alert_level_vocab, (size_t)r->level)));
    json_object_set_new(o, "enabled", json_boolean(r->enabled));
    json_object_set_new(o, "from_hour", json_integer(r->from_hour));
    return o;
}

json_t *monitor_kinds_json(void)
{
    json_t *arr = json_array();
    for (int i = 1; i < MONITOR_KIND__COUNT; i++) {
        const struct kind_def *k = &kinds[i];
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(vocab_name(&monitor_kind_vocab, (size_t)i)));
        json_object_set_new(o, "label", json_string(vocab_label(&monitor_kind_vocab, (size_t)i)));
        json_object_set_new(o, "unit", json_string(k->unit));
        json_object_set_new(o, "comparison", json_string(k->more_than ? "gt" : "ge"));
        json_object_set_new(o, "min", json_integer(k->min));
        json_object_set_new(o, "max", json_integer(k->max));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

/* One object's figure as a kind reads it. */
struct hit {
    int64_t object_id, region_code, figure, base;
    const char *name;
};

struct hits {
    struct hit *v;
    size_t n, cap;
};

static err hit_add(struct hits *h, int64_t object, int64_t region, int64_t figure, int64_t base)
{
    if (!GROW(&h->v, &h->cap, h->n, 1, 64))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    h->v[h->n++] = (struct hit){object, region, figure, base, NULL};
    return E_OK;
}

static bool over(const struct monitor_rule *r, const struct hit *h)
{
    if (r->kind == MONITOR_OCCUPANCY) /* exact: occupied / rooms >= threshold % */
        return h->base > 0 && h->figure * 100 >= r->threshold * h->base;
    return kinds[r->kind].more_than ? h->figure > r->threshold : h->figure >= r->threshold;
}

/*
 * Sum rows (region_code, n), read in code order from s, per ancestor at
 * `level` (a region above that level stands for itself): the subtree of an
 * ancestor is one run of consecutive codes, so one pass adds them up.
 */
static err sum_by_level(db_stmt *s, enum region_level level, struct hits *h)
{
    err e;
    bool row;
    int64_t cur = 0, sum = 0;
    while (!(e = db_row(s, &row)) && row) {
        int64_t code = regcode_at_most(db_col_int64(s, 0), level);
        if (code != cur && sum && (e = hit_add(h, cur, cur, sum, 0)))
            break;
        if (code != cur)
            sum = 0;
        cur = code;
        sum += db_col_int64(s, 1);
    }
    db_done(s);
    if (!e && sum)
        e = hit_add(h, cur, cur, sum, 0);
    return e;
}

/* reports: the day's counters of case.incident.new (counters_by_day: one
 * range of measure and day, the index alone), per community */
static err read_reports(db *d, int64_t day, struct hits *h)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, n FROM counters WHERE measure = 'case.incident.new' "
                       "AND day = ? AND n > 0 ORDER BY region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, day);
    return sum_by_level(s, LEVEL_COMMUNITY, h);
}

/* occupancy: rooms per site by state (quarantine_rooms_state, the index alone) */
static err read_occupancy(db *d, struct hits *h)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT site_id, SUM(CASE WHEN state = 'occupied' THEN 1 ELSE 0 END), "
                       "SUM(CASE WHEN state <> 'closed' THEN 1 ELSE 0 END) FROM quarantine_rooms "
                       "GROUP BY site_id ORDER BY site_id",
                       &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        if ((e = hit_add(h, db_col_int64(s, 0), 0, db_col_int64(s, 1), db_col_int64(s, 2))))
            break;
    db_done(s);
    return e;
}

/* unchecked: the open home observations (observations_state_kind) with no
 * check since the day began (checks_observation, one probe each), per grid */
static err read_unchecked(db *d, int64_t day_start, struct hits *h)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT o.region_code, COUNT(*) FROM observations o WHERE o.state = "
                       "'active' AND o.kind IN ('home_isolation', 'home_observation') AND NOT "
                       "EXISTS (SELECT 1 FROM checks c WHERE c.observation_id = o.id AND c.at >= "
                       "?) GROUP BY o.region_code ORDER BY o.region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, day_start);
    return sum_by_level(s, LEVEL_GRID, h);
}

/* fever: the day's fever alerts per venue (alerts_kind_at, the index alone) */
static err read_fever(db *d, int64_t day_start, struct hits *h)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT venue_id, COUNT(*) FROM alerts WHERE kind IN (?, ?) AND at >= ? "
                       "AND at < ? AND venue_id <> 0 GROUP BY venue_id ORDER BY venue_id",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, alert_kind_name(ALERT_DEVICE_FEVER));
    db_bind_text(s, 2, alert_kind_name(ALERT_FEVER));
    db_bind_int64(s, 3, day_start);
    db_bind_int64(s, 4, day_start + DAY_MS);
    bool row;
    while (!(e = db_row(s, &row)) && row)
        if ((e = hit_add(h, db_col_int64(s, 0), 0, db_col_int64(s, 1), 0)))
            break;
    db_done(s);
    return e;
}

/* The name (and for a site or venue the region) of a breaching object;
 * *found_r false when it is gone (a deleted site or venue). */
static err name_object(db *d, arena *a, enum monitor_kind k, struct hit *h, bool *found_r)
{
    static const char *const sql[MONITOR_KIND__COUNT] = {
        [MONITOR_REPORTS] = "SELECT name, code FROM regions WHERE code = ?",
        [MONITOR_UNCHECKED] = "SELECT name, code FROM regions WHERE code = ?",
        [MONITOR_OCCUPANCY] = "SELECT name, region_code FROM places WHERE id = ? AND kind = "
                              "'quarantine_site' AND deleted_at = 0",
        [MONITOR_FEVER] = "SELECT name, region_code FROM venues WHERE id = ? AND deleted_at = 0",
    };
    db_stmt *s;
    err e = db_prepare(d, sql[k], &s);
    if (e)
        return e;
    db_bind_int64(s, 1, h->object_id);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        h->name = arena_strdup(a, db_col_text(s, 0));
        h->region_code = db_col_int64(s, 1);
    }
    db_done(s);
    /* a region missing from the tree (a code never imported) is still a
     * region staff can be told about, by its code */
    if (!e && !row && (k == MONITOR_REPORTS || k == MONITOR_UNCHECKED)) {
        char code[19];
        regcode_format(h->object_id, code);
        h->name = arena_printf(a, "区划%s", code);
        row = true;
    }
    /* grids are numbered within their community (第2网格 in every one of
     * them): a grid is named with its community, 学府社区第2网格 */
    if (!e && row && regcode_level(h->object_id) == LEVEL_GRID &&
        (k == MONITOR_REPORTS || k == MONITOR_UNCHECKED) &&
        !(e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s))) {
        db_bind_int64(s, 1, regcode_parent(h->object_id));
        bool parent;
        if (!(e = db_row(s, &parent)) && parent)
            h->name = arena_printf(a, "%s%s", db_col_text(s, 0), h->name);
        db_done(s);
    }
    *found_r = row;
    return e;
}

/* At most `max` characters of s (UTF-8), for names inside a message. */
static const char *clip(arena *a, const char *s, size_t max)
{
    size_t chars = 0, i = 0;
    while (s[i] && chars < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return s[i] ? arena_printf(a, "%.*s…", (int)i, s) : s;
}

static const char *message(arena *a, const struct monitor_rule *r, const struct hit *h)
{
    const char *label = clip(a, r->label, MONITOR_LABEL_MAX);
    const char *name = clip(a, h->name, 60);
    switch (r->kind) {
    case MONITOR_REPORTS:
        return arena_printf(a, "【%s】%s今日新增疫情上报%lld件，超过阈值%lld件", label, name,
                            (long long)h->figure, (long long)r->threshold);
    case MONITOR_OCCUPANCY:
        return arena_printf(a, "【%s】隔离点“%s”入住率%lld%%（%lld/%lld间），达到阈值%lld%%", label,
                            name, (long long)(h->figure * 100 / h->base), (long long)h->figure,
                            (long long)h->base, (long long)r->threshold);
    case MONITOR_UNCHECKED:
        return arena_printf(a,
                            "【%s】%s有%lld名居家隔离/居家医学观察人员今日未核查，达到阈值%lld人",
                            label, name, (long long)h->figure, (long long)r->threshold);
    case MONITOR_FEVER:
        return arena_printf(a, "【%s】点位“%s”今日发热告警%lld次，达到阈值%lld次", label, name,
                            (long long)h->figure, (long long)r->threshold);
    default:
        return "";
    }
}

/*
 * Record hit h of rule r for `day` inside the open transaction: the first
 * time (the unique key claims it) with its alert, afterwards its figure and
 * seen_at. *raised_r true when this call raised the alert.
 */
static err record(db *d, arena *a, const struct monitor_rule *r, const struct hit *h, int64_t day,
                  int64_t now, bool *raised_r)
{
    *raised_r = false;
    int64_t id = id_new(), claimed = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO monitor_breaches (id, rule_id, object_id, day, region_code, "
                       "object_name, figure, base, threshold, raised_at, seen_at) VALUES (?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id, object_id, day) DO "
                       "NOTHING",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, r->id);
    db_bind_int64(s, 3, h->object_id);
    db_bind_int64(s, 4, day);
    db_bind_int64(s, 5, h->region_code);
    db_bind_text(s, 6, h->name);
    db_bind_int64(s, 7, h->figure);
    db_bind_int64(s, 8, h->base);
    db_bind_int64(s, 9, r->threshold);
    db_bind_int64(s, 10, now);
    db_bind_int64(s, 11, now);
    if ((e = db_run(s, &claimed)))
        return e;
    if (!claimed) { /* raised already today: the figure moves, no second alert */
        if ((e = db_prepare(d,
                            "UPDATE monitor_breaches SET figure = ?, base = ?, threshold = ?, "
                            "object_name = ?, seen_at = ?, cleared_at = 0 WHERE rule_id = ? AND "
                            "object_id = ? AND day = ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, h->figure);
        db_bind_int64(s, 2, h->base);
        db_bind_int64(s, 3, r->threshold);
        db_bind_text(s, 4, h->name);
        db_bind_int64(s, 5, now);
        db_bind_int64(s, 6, r->id);
        db_bind_int64(s, 7, h->object_id);
        db_bind_int64(s, 8, day);
        return db_run(s, NULL);
    }
    const char *kind = r->kind == MONITOR_OCCUPANCY ? "site"
                       : r->kind == MONITOR_FEVER   ? "venue"
                                                    : "region";
    struct alert_new al = {
        .kind = kinds[r->kind].alert,
        .level = r->level,
        .region_code = h->region_code,
        .venue_id = r->kind == MONITOR_FEVER ? h->object_id : 0,
        .message = message(a, r, h),
        .detail = arena_printf(a,
                               "{\"rule_id\":\"%lld\",\"breach_id\":\"%lld\",\"object_type\":"
                               "\"%s\",\"object_id\":\"%lld\",\"figure\":%lld,\"base\":%lld,"
                               "\"threshold\":%lld}",
                               (long long)r->id, (long long)id, kind, (long long)h->object_id,
                               (long long)h->figure, (long long)h->base, (long long)r->threshold),
        .at = now,
    };
    int64_t alert_id;
    if ((e = alert_raise(d, &al, &alert_id)))
        return e;
    if ((e = db_prepare(d, "UPDATE monitor_breaches SET alert_id = ? WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, alert_id);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)))
        return e;
    *raised_r = true;
    return E_OK;
}

/* Evaluate rule r at now in its own transaction. */
static err evaluate_rule(db *d, arena *a, const struct monitor_rule *r, int64_t now,
                         struct monitor_result *res)
{
    int64_t day = china_day(now), day_start = china_day_start(now);
    struct hits h = {0};
    err e;
    switch (r->kind) {
    case MONITOR_REPORTS:
        e = read_reports(d, day, &h);
        break;
    case MONITOR_OCCUPANCY:
        e = read_occupancy(d, &h);
        break;
    case MONITOR_UNCHECKED:
        e = read_unchecked(d, day_start, &h);
        break;
    case MONITOR_FEVER:
        e = read_fever(d, day_start, &h);
        break;
    default:
        e = err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    if (!e)
        e = db_begin(d);
    if (e) {
        free(h.v);
        return e;
    }
    for (size_t i = 0; !e && i < h.n; i++) {
        bool found = false, raised = false;
        if (!over(r, &h.v[i]) || (e = name_object(d, a, r->kind, &h.v[i], &found)) || !found)
            continue;
        if (!(e = record(d, a, r, &h.v[i], day, now, &raised))) {
            res->breaches++;
            res->raised += raised;
        }
    }
    free(h.v);
    db_stmt *s;
    /* what this evaluation no longer found has cleared */
    if (!e && !(e = db_prepare(d,
                               "UPDATE monitor_breaches SET cleared_at = ? WHERE rule_id = ? AND "
                               "day = ? AND cleared_at = 0 AND seen_at < ?",
                               &s))) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, r->id);
        db_bind_int64(s, 3, day);
        db_bind_int64(s, 4, now);
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err monitor_evaluate(db *d, int64_t now, struct monitor_result *res_r)
{
    struct monitor_result res = {0};
    arena *a = arena_new(16384); /* the worker has no request arena; reset per rule */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct monitor_rule *rules;
    size_t n;
    err e = monitor_rules_load(d, a, &rules, &n);
    int hour = (int)((now - china_day_start(now)) / 3600000);
    for (size_t i = 0; !e && i < n; i++) {
        if (!rules[i].enabled || hour < rules[i].from_hour)
            continue;
        res.rules++;
        /* the names and messages of one rule: a reset of `a` would take
         * the rules with them, so a small arena per rule instead */
        arena *ra = arena_new(8192);
        if (!ra) {
            e = err_set(E_NOMEM, NULL, NULL, NULL);
            break;
        }
        e = evaluate_rule(d, ra, &rules[i], now, &res);
        arena_free(&ra);
    }
    arena_free(&a);
    if (res_r)
        *res_r = res;
    return e;
}

/* ---- breaches ------------------------------------------------------------------------------- */

err monitor_breaches(db *d, const struct scope *sc, const struct monitor_filter *f,
                     json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT b.id, b.rule_id, r.label, r.kind, r.level, b.object_id, b.object_name, "
        "b.region_code, COALESCE(g.name, ''), b.figure, b.base, b.threshold, b.alert_id, "
        "b.raised_at, b.seen_at, b.cleared_at, COALESCE(og.center_lng, sp.lng, vp.lng), "
        "COALESCE(og.center_lat, sp.lat, vp.lat) FROM monitor_breaches b JOIN monitor_rules r ON "
        "r.id = b.rule_id AND r.enabled = 1 LEFT JOIN regions g ON g.code = b.region_code "
        /* where the object is, for a map: a region's centre, a site's or a venue's place */
        "LEFT JOIN regions og ON r.kind IN ('reports', 'unchecked') AND og.code = b.object_id "
        "LEFT JOIN places sp ON r.kind = 'occupancy' AND sp.id = b.object_id "
        "LEFT JOIN venues v ON r.kind = 'fever' AND v.id = b.object_id "
        "LEFT JOIN places vp ON vp.id = v.place_id WHERE "
        "b.day = ? AND b.region_code >= ? AND b.region_code < ? AND (? = 1 OR b.cleared_at = 0) "
        "ORDER BY CASE r.level WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "b.raised_at DESC, b.id DESC LIMIT 1000",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, f->day);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, f->with_cleared);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        enum monitor_kind k = kind_parse(db_col_text(s, 3));
        if (!k)
            continue;
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_set_id(o, "rule_id", db_col_int64(s, 1));
        json_object_set_new(o, "rule_label", json_string(db_col_text(s, 2)));
        json_object_set_new(o, "kind", json_string(db_col_text(s, 3)));
        json_object_set_new(o, "kind_label",
                            json_string(vocab_label(&monitor_kind_vocab, (size_t)k)));
        json_object_set_new(o, "level", json_string(db_col_text(s, 4)));
        json_object_set_new(o, "level_label",
                            json_string(vocab_label_of(&alert_level_vocab, db_col_text(s, 4))));
        json_object_set_new(o, "object_type", json_string(kinds[k].object));
        /* what the object is, in words: 社区 / 网格 (its level), 隔离点, 场所码点位 */
        if (!strcmp(kinds[k].object, "region")) {
            char code[19];
            regcode_format(db_col_int64(s, 5), code);
            json_object_set_new(o, "object_id", json_string(code));
            json_object_set_new(o, "object_label",
                                json_string(region_level_label(regcode_level(db_col_int64(s, 5)))));
        } else {
            json_set_id(o, "object_id", db_col_int64(s, 5));
            json_object_set_new(o, "object_label",
                                json_string(k == MONITOR_OCCUPANCY ? "隔离点" : "场所码点位"));
        }
        json_object_set_new(o, "object_name", json_string(db_col_text(s, 6)));
        json_set_region(o, db_col_int64(s, 7), db_col_text(s, 8));
        int64_t figure = db_col_int64(s, 9), base = db_col_int64(s, 10);
        json_object_set_new(o, "figure", json_integer(figure));
        json_object_set_new(o, "base", json_integer(base));
        if (k == MONITOR_OCCUPANCY)
            json_object_set_new(o, "percent", json_integer(base ? figure * 100 / base : 0));
        json_object_set_new(o, "threshold", json_integer(db_col_int64(s, 11)));
        json_object_set_new(o, "unit", json_string(kinds[k].unit));
        json_set_id_or_null(o, "alert_id", db_col_int64(s, 12));
        json_object_set_new(o, "raised_at", json_integer(db_col_int64(s, 13)));
        json_object_set_new(o, "seen_at", json_integer(db_col_int64(s, 14)));
        json_object_set_new(o, "active", json_boolean(db_col_int64(s, 15) == 0));
        json_object_set_new(o, "lng",
                            db_col_null(s, 16) ? json_null() : json_real(db_col_double(s, 16)));
        json_object_set_new(o, "lat",
                            db_col_null(s, 17) ? json_null() : json_real(db_col_double(s, 17)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- the worker ----------------------------------------------------------------------------- */

static err evaluate_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    struct monitor_result res;
    err e = monitor_evaluate(d, now, &res);
    *n_r = res.raised;
    return e;
}

static struct periodic evaluator = PERIODIC_INIT("monitor", evaluate_run, NULL);

err monitor_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&evaluator, db_url, every_s);
}

void monitor_worker_stop(void)
{
    periodic_stop(&evaluator);
}
