/*
 * Laboratory results (检测结果; nat.h "laboratory results", docs/nat.md
 * "Laboratory"): a tube's result and everything it means in the same
 * transaction: the samples' results and outcomes, the persons' test
 * results and health codes, retests (复核) and resamples (重采) with their
 * tasks, the closing of earlier retests, the case report of a positive
 * single tube, the plan's figures and the counters. Also the batch and
 * upload paths over the one-record function, and the retest list.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "case/case.h"
#include "code/code.h"
#include "db/query.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "stats/stats.h"
#include "task/task.h"
#include "visitor/visitor.h"

#define MINUTE_MS     60000LL
#define HOUR_MS       3600000LL
#define RETEST_DUE_MS (24 * HOUR_MS) /* the retest task's deadline from now */
#define TUBE_SIZE_MAX 20             /* samples in a tube (pool20) */

static const struct vocab_word results[] = {
    [NAT_RESULT_NEGATIVE] = {"negative", "阴性"},
    [NAT_RESULT_POSITIVE] = {"positive", "阳性"},
    [NAT_RESULT_INVALID] = {"invalid", "无效（需重采）"},
};
const struct vocab nat_result_vocab = VOCAB("nat_results", "核酸检测结果", results);

static const struct vocab_word outcomes[] = {
    [NAT_OUTCOME_NEGATIVE] = {"negative", "阴性"},
    [NAT_OUTCOME_POSITIVE] = {"positive", "阳性"},
    [NAT_OUTCOME_RETEST] = {"retest", "混管阳性待复核"},
    [NAT_OUTCOME_INVALID] = {"invalid", "无效待重采"},
};
const struct vocab nat_outcome_vocab = VOCAB("nat_outcomes", "个人检测结论", outcomes);

static const struct vocab_word retest_kinds[] = {
    [NAT_RETEST] = {"retest", "单管复核"},
    [NAT_RESAMPLE] = {"resample", "重新采样"},
};
const struct vocab nat_retest_kind_vocab = VOCAB("nat_retest_kinds", "复核类型", retest_kinds);

static const struct vocab_word retest_states[] = {
    [NAT_RETEST_OPEN] = {"open", "待复核"},
    [NAT_RETEST_NEGATIVE] = {"negative", "复核阴性"},
    [NAT_RETEST_POSITIVE] = {"positive", "复核阳性"},
    [NAT_RETEST_WITHDRAWN] = {"withdrawn", "结果已撤回"},
};
const struct vocab nat_retest_state_vocab = VOCAB("nat_retest_states", "复核状态", retest_states);

/* ---- the pure rules ------------------------------------------------------------------------ */

enum nat_outcome nat_outcome_of(enum nat_result result, int64_t size)
{
    switch (result) {
    case NAT_RESULT_NEGATIVE:
        return NAT_OUTCOME_NEGATIVE;
    case NAT_RESULT_POSITIVE:
        return size > 1 ? NAT_OUTCOME_RETEST : NAT_OUTCOME_POSITIVE;
    case NAT_RESULT_INVALID:
        return NAT_OUTCOME_INVALID;
    default:
        return 0;
    }
}

err nat_result_admit(enum nat_tube_state state, int current, enum nat_result result, bool *repeat_r)
{
    *repeat_r = false;
    if (state == NAT_TUBE_OPEN)
        return err_set(E_CONFLICT, "tube_open", "barcode", "该试管仍在采样中，封管后才能录入结果");
    if (state == NAT_TUBE_RESULTED || current) {
        if (current == (int)result) {
            *repeat_r = true;
            return E_OK;
        }
        return err_set(E_CONFLICT, "result_conflict", "result", "该试管已有不同的检测结果（%s）",
                       vocab_label(&nat_result_vocab, (size_t)current));
    }
    return E_OK;
}

/* ---- counters ------------------------------------------------------------------------------ */

#define OUTCOME_RECOUNT(o)                                                                         \
    "SELECT street_code, day, COUNT(*) FROM nat_samples WHERE duplicate = 0 AND outcome = '" o     \
    "' GROUP BY street_code, day"

static const struct stats_measure measures[NAT_OUTCOME__COUNT] = {
    [NAT_OUTCOME_NEGATIVE] = {"nat.outcome.negative", "核酸阴性", false,
                              OUTCOME_RECOUNT("negative")},
    [NAT_OUTCOME_POSITIVE] = {"nat.outcome.positive", "核酸阳性", false,
                              OUTCOME_RECOUNT("positive")},
    [NAT_OUTCOME_RETEST] = {"nat.outcome.retest", "混管阳性待复核", false,
                            OUTCOME_RECOUNT("retest")},
    [NAT_OUTCOME_INVALID] = {"nat.outcome.invalid", "无效待重采", false,
                             OUTCOME_RECOUNT("invalid")},
};

err nat_stats_register(void)
{
    err e = nat_site_measures_register();
    for (int o = 1; o < NAT_OUTCOME__COUNT && !e; o++)
        e = stats_measure_register(&measures[o]);
    return e;
}

/* The plan figures' column per outcome: one statement each, no SQL built. */
#define FIGURE_SQL(col)                                                                            \
    "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, " col ") VALUES (?, ?, ?, "  \
    "?) ON CONFLICT (plan_id, region_code, industry_id) DO UPDATE SET " col                        \
    " = nat_plan_figures." col " + excluded." col

static const char *const figure_sql[NAT_OUTCOME__COUNT] = {
    [NAT_OUTCOME_NEGATIVE] = FIGURE_SQL("negative"),
    [NAT_OUTCOME_POSITIVE] = FIGURE_SQL("positive"),
    [NAT_OUTCOME_RETEST] = FIGURE_SQL("retest"),
    [NAT_OUTCOME_INVALID] = FIGURE_SQL("invalid"),
};

/* A sample as the result path reads it. */
struct srow {
    int64_t id, person_id, visitor_id, at, plan_id, street, industry, day;
    bool duplicate;
    int outcome;
    bool open_retest; /* the person has an open retest or resample (retest_holders) */
};

#define SROW_COLS                                                                                  \
    "SELECT id, person_id, visitor_id, at, plan_id, street_code, industry_id, day, duplicate, "    \
    "outcome FROM nat_samples"

static void srow_read(db_stmt *s, struct srow *x)
{
    *x = (struct srow){
        .id = db_col_int64(s, 0),
        .person_id = db_col_int64(s, 1),
        .visitor_id = db_col_int64(s, 2),
        .at = db_col_int64(s, 3),
        .plan_id = db_col_int64(s, 4),
        .street = db_col_int64(s, 5),
        .industry = db_col_int64(s, 6),
        .day = db_col_int64(s, 7),
        .duplicate = db_col_int64(s, 8) != 0,
        .outcome = vocab_parse(&nat_outcome_vocab, db_col_text(s, 9)),
    };
    if (x->outcome < 0)
        x->outcome = 0;
}

static err figure_add(db *d, int64_t plan, int64_t street, int64_t industry, int o, int64_t delta)
{
    db_stmt *s;
    err e = db_prepare(d, figure_sql[o], &s);
    if (e)
        return e;
    db_bind_int64(s, 1, plan);
    db_bind_int64(s, 2, street);
    db_bind_int64(s, 3, industry);
    db_bind_int64(s, 4, delta);
    return db_run(s, NULL);
}

/* Count outcome o of sample x by delta: what nat_plan_count counted (a
 * sample not marked duplicate) is what the outcomes count. */
static err outcome_count(db *d, const struct srow *x, int o, int64_t delta)
{
    if (!o || x->duplicate)
        return E_OK;
    err e = stats_add(d, measures[o].name, x->street, x->day, delta);
    if (e || !x->plan_id)
        return e;
    if ((e = figure_add(d, x->plan_id, x->street, 0, o, delta)))
        return e;
    return x->industry ? figure_add(d, x->plan_id, x->street, x->industry, o, delta) : E_OK;
}

err nat_sample_outcome_count(db *d, int64_t id, int64_t delta)
{
    db_stmt *s;
    err e = db_prepare(d, SROW_COLS " WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    struct srow x;
    if (!(e = db_row(s, &row)) && row)
        srow_read(s, &x);
    db_done(s);
    if (e || !row)
        return e;
    x.duplicate = false;
    return outcome_count(d, &x, x.outcome, delta);
}

/* Move sample x's outcome to `to` (its row and its counts). */
static err outcome_set(db *d, struct srow *x, int to)
{
    if (x->outcome == to)
        return E_OK;
    db_stmt *s;
    err e;
    if ((e = outcome_count(d, x, x->outcome, -1)) || (e = outcome_count(d, x, to, 1)) ||
        (e = db_prepare(d, "UPDATE nat_samples SET outcome = ? WHERE id = ?", &s)))
        return e;
    db_bind_text(s, 1, vocab_name(&nat_outcome_vocab, (size_t)to));
    db_bind_int64(s, 2, x->id);
    if ((e = db_run(s, NULL)))
        return e;
    x->outcome = to;
    return E_OK;
}

/* ---- tasks --------------------------------------------------------------------------------- */

/* The loop closes itself: the person's next result completes the task
 * (task_done_for). A worker cannot complete it by hand; a dispatcher may
 * cancel it. */
static err retest_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                           json_t *result)
{
    (void)d;
    (void)a;
    (void)who;
    (void)t;
    (void)result;
    return err_set(E_CONFLICT, "retest_pending", NULL,
                   "复核任务在检测机构回传该人员的检测结果后自动办结");
}

static const struct task_kind retest_kind = {
    "nat_retest", "混管阳性单管复核", retest_complete, NULL, false,
};
static const struct task_kind resample_kind = {
    "nat_resample", "检测无效重新采样", retest_complete, NULL, false,
};

err nat_task_kinds_register(void)
{
    err e = task_kind_register(&retest_kind);
    return e ? e : task_kind_register(&resample_kind);
}

/* ---- recording ----------------------------------------------------------------------------- */

err nat_lab_institution(db *d, arena *a, int64_t user_id, const char **name_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COALESCE(dp.name, ''), u.display_name FROM users u LEFT JOIN "
                       "departments dp ON dp.id = u.department_id WHERE u.id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    const char *name = "";
    if (!(e = db_row(s, &row)) && row)
        name = arena_strdup(a, *db_col_text(s, 0) ? db_col_text(s, 0) : db_col_text(s, 1));
    db_done(s);
    if (!e)
        *name_r = name;
    return e;
}

struct tube_row {
    int64_t id, size, opened_at, plan_id, region_code, resulted_at, resulted_by, incident_id;
    const char *institution;
    enum nat_tube_state state;
    int result;
};

static err unknown_tube(void)
{
    return err_set(E_NOT_FOUND, "unknown_tube", "barcode", "试管条码不存在或不在您的管辖范围内");
}

static err tube_get(db *d, arena *a, const struct scope *sc, const char *barcode,
                    struct tube_row *t)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, size, opened_at, plan_id, state, result, region_code, "
                       "resulted_at, incident_id, institution, resulted_by FROM nat_tubes WHERE "
                       "barcode = ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, barcode);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        int r = vocab_parse(&nat_result_vocab, db_col_text(s, 5));
        *t = (struct tube_row){
            .id = db_col_int64(s, 0),
            .size = db_col_int64(s, 1),
            .opened_at = db_col_int64(s, 2),
            .plan_id = db_col_int64(s, 3),
            .state = (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, db_col_text(s, 4)),
            .result = r > 0 ? r : 0,
            .region_code = db_col_int64(s, 6),
            .resulted_at = db_col_int64(s, 7),
            .incident_id = db_col_int64(s, 8),
            .institution = arena_strdup(a, db_col_text(s, 9)),
            .resulted_by = db_col_int64(s, 10),
        };
    }
    db_done(s);
    if (!e && !row)
        e = unknown_tube();
    return e;
}

static err test_result_add(db *d, const struct principal *who, const struct srow *x, int64_t region,
                           const char *result, int64_t reported_at, const char *institution)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO test_results (id, person_id, region_code, user_id, created_at, "
                       "result, sampled_at, reported_at, institution) VALUES (?, ?, ?, ?, ?, ?, "
                       "?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, x->person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, who->user_id);
    db_bind_int64(s, 5, now_ms());
    db_bind_text(s, 6, result);
    db_bind_int64(s, 7, x->at);
    db_bind_int64(s, 8, reported_at);
    db_bind_text(s, 9, institution);
    /* test_results is the code engine's table: its followers hear of the row */
    if ((e = db_run(s, NULL)))
        return e;
    return code_written(d, CODE_REC_TEST_RESULT, id, region, false);
}

/* File the case report of a positive single tube (an incident of source
 * cdc, routed by its rule) for person x; *id_r the incident. */
static err report_positive(db *d, arena *a, const struct principal *who, const struct srow *x,
                           const char *barcode, const char *institution, int64_t *id_r)
{
    struct incident_new in = {
        .source = SOURCE_CDC,
        .category = INCIDENT_OTHER,
        .person_id = x->person_id,
        .temperature = -1,
        .description = arena_printf(a, "核酸检测单管阳性：试管%s，检测机构%s", barcode,
                                    *institution ? institution : "未注明"),
    };
    /* filed by the laboratory user, about a person who may live outside
     * the laboratory's scope (tested in its district, living in another):
     * the tube in scope and the sample name the person, so the report's
     * scope check is the whole tree; the report goes to the person's region */
    struct principal filer = *who;
    filer.scope = scope_all();
    return incident_report(d, a, &filer, &in, id_r, NULL);
}

/* Close person x's open retests this result answers: a single tube's
 * answers a retest and a resample, a pool's only a resample; either only
 * when sampled after the sample that opened it. */
static err retests_close(db *d, arena *a, const struct principal *who, const struct srow *x,
                         int64_t tube_id, int64_t size, enum nat_result result, int64_t incident_id,
                         struct nat_result_outcome *o)
{
    struct {
        int64_t id, sample_id;
        int kind;
    } open[8];
    size_t n = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT r.id, r.sample_id, r.kind FROM nat_retests r JOIN nat_samples x ON "
                       "x.id = r.sample_id WHERE (r.person_id = ? AND r.person_id <> 0 OR "
                       "r.visitor_id = ? AND r.visitor_id <> 0) AND r.state = 'open' AND x.at <= "
                       "? AND (r.kind = 'resample' OR ? = 1) ORDER BY r.id LIMIT 8",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, x->person_id);
    db_bind_int64(s, 2, x->person_id ? 0 : x->visitor_id);
    db_bind_int64(s, 3, x->at);
    db_bind_int64(s, 4, size == 1);
    bool row;
    while (n < 8 && !(e = db_row(s, &row)) && row) {
        int k = vocab_parse(&nat_retest_kind_vocab, db_col_text(s, 2));
        open[n].id = db_col_int64(s, 0);
        open[n].sample_id = db_col_int64(s, 1);
        open[n++].kind = k > 0 ? k : NAT_RETEST;
    }
    db_done(s);
    int64_t now = now_ms();
    int to = result == NAT_RESULT_POSITIVE ? NAT_OUTCOME_POSITIVE : NAT_OUTCOME_NEGATIVE;
    for (size_t i = 0; i < n && !e; i++) {
        struct srow orig;
        if ((e = db_prepare(d, SROW_COLS " WHERE id = ?", &s)))
            break;
        db_bind_int64(s, 1, open[i].sample_id);
        if (!(e = db_row(s, &row)) && row)
            srow_read(s, &orig);
        db_done(s);
        if (!e && row)
            e = outcome_set(d, &orig, to);
        if (!e && !(e = db_prepare(d,
                                   "UPDATE nat_retests SET state = ?, result_tube_id = ?, "
                                   "closed_at = ?, incident_id = ? WHERE id = ?",
                                   &s))) {
            db_bind_text(s, 1, vocab_name(&nat_result_vocab, (size_t)result));
            db_bind_int64(s, 2, tube_id);
            db_bind_int64(s, 3, now);
            db_bind_int64(s, 4, incident_id);
            db_bind_int64(s, 5, open[i].id);
            e = db_run(s, NULL);
        }
        if (!e)
            e = task_done_for(d, a, who,
                              open[i].kind == NAT_RESAMPLE ? resample_kind.name : retest_kind.name,
                              open[i].id,
                              result == NAT_RESULT_POSITIVE ? "检测结果：阳性，已转入疫情上报"
                                                            : "检测结果：阴性");
        if (!e)
            o->closed++;
    }
    return e;
}

/* Open a retest (or resample) of person x, living in `region`, unless one
 * of that kind is open already, with its task to the person's community.
 * A visitor's (x has no person): `region` is the site's community, whose
 * community staff follow up by phone (the visitor lives elsewhere). */
static err retest_open(db *d, arena *a, const struct srow *x, int64_t region, int64_t tube_id,
                       const char *barcode, enum nat_retest_kind kind, struct nat_result_outcome *o)
{
    bool visitor = !x->person_id;
    db_stmt *s;
    err e = db_prepare(d,
                       visitor ? "SELECT 1 FROM nat_retests WHERE visitor_id = ? AND kind = ? AND "
                                 "state = 'open'"
                               : "SELECT 1 FROM nat_retests WHERE person_id = ? AND kind = ? AND "
                                 "state = 'open'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, visitor ? x->visitor_id : x->person_id);
    db_bind_text(s, 2, vocab_name(&nat_retest_kind_vocab, (size_t)kind));
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e || row)
        return e;
    int64_t id = id_new(), now = now_ms(), task = 0;
    struct task_new t = {
        .kind = kind == NAT_RETEST ? retest_kind.name : resample_kind.name,
        .region_code = region,
        .assignee_role = visitor ? "community_staff" : "grid_worker",
        .priority = kind == NAT_RETEST ? TASK_URGENT : TASK_HIGH,
        .deadline = now + RETEST_DUE_MS,
        .title = arena_printf(
            a, kind == NAT_RETEST ? "混管阳性单管复核（试管%s）" : "检测无效重新采样（试管%s）",
            barcode),
        .person_id = x->person_id,
        .subject_id = id,
        .note = visitor ? (kind == NAT_RETEST
                               ? "访客所在混管检测阳性，请电话联系其到点位进行单管复核采样"
                               : "访客所在试管检测无效，请电话联系其重新采样")
                : kind == NAT_RETEST ? "该人员所在混管检测阳性，请组织其到点位进行单管复核采样"
                                     : "该人员所在试管检测无效，请组织其重新采样",
    };
    if ((e = task_create(d, &t, &task)) ||
        (e = db_prepare(d,
                        "INSERT INTO nat_retests (id, kind, person_id, region_code, sample_id, "
                        "tube_id, plan_id, task_id, created_at, visitor_id) VALUES (?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, vocab_name(&nat_retest_kind_vocab, (size_t)kind));
    db_bind_int64(s, 3, x->person_id);
    db_bind_int64(s, 4, region);
    db_bind_int64(s, 5, x->id);
    db_bind_int64(s, 6, tube_id);
    db_bind_int64(s, 7, x->plan_id);
    db_bind_int64(s, 8, task);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, visitor ? x->visitor_id : 0);
    if (!(e = db_run(s, NULL)))
        o->retests++;
    return e;
}

/* What the result means for the person of sample x (a live person). */
static err person_apply(db *d, arena *a, const struct principal *who, const char *institution,
                        const struct srow *x, const struct tube_row *t, const char *barcode,
                        enum nat_result result, int64_t at, struct nat_result_outcome *o)
{
    struct scope all = scope_all(); /* the sample is in scope by its tube */
    int64_t region;
    db_stmt *s;
    err e = person_lock(d, &all, x->person_id, &region);
    if (e == E_NOT_FOUND) /* deleted since sampling: the sample keeps its result */
        return E_OK;
    if (e)
        return e;
    if (result != NAT_RESULT_INVALID) {
        const char *r = result == NAT_RESULT_NEGATIVE ? "negative"
                        : t->size > 1                 ? "pool_positive"
                                                      : "positive";
        int64_t incident = 0;
        if ((e = test_result_add(d, who, x, region, r, at, institution)))
            return e;
        if (t->size == 1 && result == NAT_RESULT_POSITIVE) {
            if ((e = report_positive(d, a, who, x, barcode, institution, &incident)))
                return e;
            o->reports++;
            if ((e = db_prepare(d, "UPDATE nat_tubes SET incident_id = ? WHERE id = ?", &s)))
                return e;
            db_bind_int64(s, 1, incident);
            db_bind_int64(s, 2, t->id);
            if ((e = db_run(s, NULL)))
                return e;
        }
        if (x->open_retest &&
            (e = retests_close(d, a, who, x, t->id, t->size, result, incident, o)))
            return e;
        if (t->size > 1 && result == NAT_RESULT_POSITIVE &&
            (e = retest_open(d, a, x, region, t->id, barcode, NAT_RETEST, o)))
            return e;
    } else if ((e = retest_open(d, a, x, region, t->id, barcode, NAT_RESAMPLE, o))) {
        return e;
    }
    return code_refresh(d, a, x->person_id, "test_result", who->user_id);
}

/* What the result means for the visitor of sample x (no person): no test
 * result nor code (a visitor has none); a positive pool opens a retest and
 * an invalid tube a resample, at the site's community; the visitor's next
 * result closes them as a person's. */
static err visitor_apply(db *d, arena *a, const struct principal *who, const struct srow *x,
                         const struct tube_row *t, const char *barcode, enum nat_result result,
                         struct nat_result_outcome *o)
{
    int64_t community = regcode_at_most(t->region_code, LEVEL_COMMUNITY);
    err e = E_OK;
    if (x->open_retest && result != NAT_RESULT_INVALID)
        e = retests_close(d, a, who, x, t->id, t->size, result, 0, o);
    if (!e && t->size > 1 && result == NAT_RESULT_POSITIVE)
        e = retest_open(d, a, x, community, t->id, barcode, NAT_RETEST, o);
    else if (!e && result == NAT_RESULT_INVALID)
        e = retest_open(d, a, x, community, t->id, barcode, NAT_RESAMPLE, o);
    return e;
}

/* The first result of a tube: every sample gets the result and its
 * outcome in one statement, and the counts move once per (plan, street,
 * industry, day) rather than once per sample (a tube's samples mostly
 * share them). A sample of a tube not yet resulted has no outcome: a
 * retest sets the outcome of a resulted tube's sample only. */
static err outcomes_first(db *d, const struct tube_row *t, struct srow *xs, size_t n,
                          enum nat_result result, int to)
{
    db_stmt *s;
    err e = db_prepare(d, "UPDATE nat_samples SET result = ?, outcome = ? WHERE tube_id = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&nat_result_vocab, (size_t)result));
    db_bind_text(s, 2, vocab_name(&nat_outcome_vocab, (size_t)to));
    db_bind_int64(s, 3, t->id);
    if ((e = db_run(s, NULL)))
        return e;
    struct srow g[TUBE_SIZE_MAX];
    int64_t count[TUBE_SIZE_MAX];
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        assert(!xs[i].outcome);
        xs[i].outcome = to;
        if (xs[i].duplicate)
            continue;
        size_t j = 0;
        while (j < ng && !(g[j].plan_id == xs[i].plan_id && g[j].street == xs[i].street &&
                           g[j].industry == xs[i].industry && g[j].day == xs[i].day))
            j++;
        if (j == ng) {
            g[ng] = xs[i];
            count[ng++] = 0;
        }
        count[j]++;
    }
    for (size_t j = 0; j < ng && !e; j++)
        e = outcome_count(d, &g[j], to, count[j]);
    return e;
}

/* Mark the samples whose person has an open retest or resample (one
 * query per tube; most people have none). */
static err retest_holders(db *d, int64_t tube_id, struct srow *xs, size_t n)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT DISTINCT r.person_id FROM nat_retests r JOIN nat_samples x ON "
                       "x.person_id = r.person_id WHERE x.tube_id = ? AND x.person_id <> 0 AND "
                       "r.state = 'open'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, tube_id);
    bool row;
    while (!(e = db_row(s, &row)) && row)
        for (size_t i = 0; i < n; i++)
            if (xs[i].person_id == db_col_int64(s, 0))
                xs[i].open_retest = true;
    db_done(s);
    if (e ||
        (e = db_prepare(d,
                        "SELECT DISTINCT r.visitor_id FROM nat_retests r JOIN nat_samples x ON "
                        "x.visitor_id = r.visitor_id WHERE x.tube_id = ? AND x.person_id = 0 "
                        "AND x.visitor_id <> 0 AND r.state = 'open'",
                        &s)))
        return e;
    db_bind_int64(s, 1, tube_id);
    while (!(e = db_row(s, &row)) && row)
        for (size_t i = 0; i < n; i++)
            if (!xs[i].person_id && xs[i].visitor_id == db_col_int64(s, 0))
                xs[i].open_retest = true;
    db_done(s);
    return e;
}

err nat_result_record(db *d, arena *a, const struct principal *who, const char *institution,
                      const struct nat_result_input *in, struct nat_result_outcome *o_r)
{
    struct nat_result_outcome o = {0};
    int64_t now = now_ms(), at = in->at ? in->at : now;
    if (!nat_barcode_valid(in->barcode))
        return unknown_tube();
    if (in->result <= 0 || in->result >= NAT_RESULT__COUNT)
        return err_set(E_INPUT, "invalid_value", "result", "检测结果只能是阴性、阳性或无效");
    if (at > now + 5 * MINUTE_MS)
        return err_set(E_INPUT, "invalid_time", "at", "报告时间不能晚于当前时间");
    err e = db_begin(d);
    if (e)
        return e;
    struct tube_row t = {0};
    bool repeat = false;
    if ((e = tube_get(d, a, &who->scope, in->barcode, &t)) ||
        (e = nat_result_admit(t.state, t.result, in->result, &repeat)))
        goto fail;
    o.tube_id = t.id;
    if (repeat) {
        o.repeated = true;
        goto done;
    }
    if (at < t.opened_at) {
        e = err_set(E_INPUT, "invalid_time", "at", "报告时间不能早于采样时间");
        goto fail;
    }
    db_stmt *s;
    int64_t changed;
    if ((e = db_prepare(d,
                        "UPDATE nat_tubes SET state = 'resulted', result = ?, resulted_at = ?, "
                        "resulted_by = ?, institution = ? WHERE id = ? AND state <> 'open' AND "
                        "state <> 'resulted'",
                        &s)))
        goto fail;
    db_bind_text(s, 1, vocab_name(&nat_result_vocab, (size_t)in->result));
    db_bind_int64(s, 2, at);
    db_bind_int64(s, 3, who->user_id);
    db_bind_text(s, 4, institution);
    db_bind_int64(s, 5, t.id);
    if ((e = db_run(s, &changed)))
        goto fail;
    if (!changed) { /* resulted by another request in between */
        e = err_set(E_CONFLICT, "result_conflict", "result", "该试管已有检测结果");
        goto fail;
    }
    struct srow xs[TUBE_SIZE_MAX];
    size_t n = 0;
    if ((e = db_prepare(d, SROW_COLS " WHERE tube_id = ? ORDER BY at, id", &s)))
        goto fail;
    db_bind_int64(s, 1, t.id);
    bool row;
    while (n < TUBE_SIZE_MAX && !(e = db_row(s, &row)) && row)
        srow_read(s, &xs[n++]);
    db_done(s);
    int to = nat_outcome_of(in->result, t.size);
    if (e || (e = outcomes_first(d, &t, xs, n, in->result, to)) ||
        (e = retest_holders(d, t.id, xs, n)))
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (xs[i].person_id ? (e = person_apply(d, a, who, institution, &xs[i], &t, in->barcode,
                                                in->result, at, &o))
                            : xs[i].visitor_id && (e = visitor_apply(d, a, who, &xs[i], &t,
                                                                     in->barcode, in->result, &o)))
            goto fail;
    o.samples = (int64_t)n;
done:
    if ((e = db_commit(d)))
        return e;
    if (o_r)
        *o_r = o;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- withdrawing a result ------------------------------------------------------------------ */

static err withdraw_refuse(const char *why)
{
    return err_set(E_CONFLICT, "result_final", NULL, "%s", why);
}

/* The bound: a result that closed retests, or whose retests were answered
 * by later results, is part of other results' meaning: final. */
static err withdraw_bound(db *d, int64_t tube_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT (SELECT COUNT(*) FROM nat_retests WHERE result_tube_id = ?), "
                       "(SELECT COUNT(*) FROM nat_retests WHERE tube_id = ? AND state <> 'open' "
                       "AND state <> 'withdrawn')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, tube_id);
    db_bind_int64(s, 2, tube_id);
    bool row;
    int64_t closed = 0, answered = 0;
    if (!(e = db_row(s, &row)) && row) {
        closed = db_col_int64(s, 0);
        answered = db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    if (closed)
        return withdraw_refuse("该结果已办结此前的复核或重采，不能撤回");
    if (answered)
        return withdraw_refuse("该结果引发的复核已有结果，不能撤回");
    return E_OK;
}

/* Move person x's test result of tube t (its sampling and reporting time,
 * its institution) to test_results_withdrawn. */
static err test_result_take(db *d, int64_t withdrawal, const struct srow *x,
                            const struct tube_row *t, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO test_results_withdrawn (id, withdrawal_id, person_id, "
                       "region_code, result, sampled_at, reported_at, user_id, created_at, "
                       "institution) SELECT id, ?, person_id, region_code, result, sampled_at, "
                       "reported_at, user_id, created_at, institution FROM test_results WHERE "
                       "person_id = ? AND sampled_at = ? AND reported_at = ? AND institution = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, withdrawal);
    db_bind_int64(s, 2, x->person_id);
    db_bind_int64(s, 3, x->at);
    db_bind_int64(s, 4, t->resulted_at);
    db_bind_text(s, 5, t->institution);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "DELETE FROM test_results WHERE person_id = ? AND sampled_at = ? AND "
                        "reported_at = ? AND institution = ? RETURNING id, region_code",
                        &s)))
        return e;
    db_bind_int64(s, 1, x->person_id);
    db_bind_int64(s, 2, x->at);
    db_bind_int64(s, 3, t->resulted_at);
    db_bind_text(s, 4, t->institution);
    /* the rows gone, each told to the code engine's followers (the
     * exchange's change log) after the statement has finished; a sample
     * gave its person one row (test_result_add), so more than a few is a
     * broken invariant, not a load to carry */
    enum { GONE_MAX = 16 };
    int64_t gone[GONE_MAX][2], n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n < GONE_MAX) {
            gone[n][0] = db_col_int64(s, 0);
            gone[n][1] = db_col_int64(s, 1);
        }
        n++;
    }
    db_done(s);
    if (!e && n > GONE_MAX)
        e = err_set(E_INTERNAL, "results_withdrawn", NULL, "内部错误");
    for (int64_t i = 0; i < n && !e; i++)
        e = code_written(d, CODE_REC_TEST_RESULT, gone[i][0], gone[i][1], true);
    if (!e && n_r)
        *n_r = n;
    return e;
}

/* The open retests and resamples tube t opened: withdrawn, their tasks
 * cancelled. */
static err retests_withdraw(db *d, arena *a, const struct principal *who, int64_t tube_id,
                            int64_t *n_r)
{
    struct {
        int64_t id;
        int kind;
    } *open = arena_alloc(a, TUBE_SIZE_MAX * sizeof *open);
    size_t n = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, kind FROM nat_retests WHERE tube_id = ? AND state = 'open' "
                       "ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, tube_id);
    bool row;
    while (n < TUBE_SIZE_MAX && !(e = db_row(s, &row)) && row) {
        open[n].id = db_col_int64(s, 0);
        open[n++].kind = vocab_parse(&nat_retest_kind_vocab, db_col_text(s, 1));
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++) {
        if (!(e = db_prepare(
                  d, "UPDATE nat_retests SET state = 'withdrawn', closed_at = ? WHERE id = ?",
                  &s))) {
            db_bind_int64(s, 1, now_ms());
            db_bind_int64(s, 2, open[i].id);
            e = db_run(s, NULL);
        }
        if (!e)
            e = task_cancel_for(
                d, a, who, open[i].kind == NAT_RESAMPLE ? resample_kind.name : retest_kind.name,
                open[i].id, "检测结果已撤回，无需复核");
    }
    if (!e)
        *n_r = (int64_t)n;
    return e;
}

/* Note the withdrawal on the case report tube t filed (the report stays:
 * a case workflow record is never deleted). */
static err report_note(db *d, const struct principal *who, const struct tube_row *t,
                       int64_t person_id, int64_t withdrawal)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT region_code FROM incidents WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, t->incident_id);
    bool row;
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row)
        region = db_col_int64(s, 0);
    db_done(s);
    if (e || !row)
        return e;
    char detail[120];
    snprintf(detail, sizeof detail, "{\"nat_withdrawal\":\"%lld\",\"tube_id\":\"%lld\"}",
             (long long)withdrawal, (long long)t->id);
    return case_event_add(d, t->incident_id, person_id, region, "note", detail, who->user_id);
}

err nat_result_withdraw(db *d, arena *a, const struct principal *who, const char *barcode,
                        const char *reason, struct nat_withdraw_outcome *o_r)
{
    struct nat_withdraw_outcome o = {0};
    if (!nat_barcode_valid(barcode))
        return unknown_tube();
    err e = db_begin(d);
    if (e)
        return e;
    struct tube_row t = {0};
    if ((e = tube_get(d, a, &who->scope, barcode, &t)))
        goto fail;
    o.tube_id = t.id;
    if (!t.result) {
        e = err_set(E_CONFLICT, "no_result", NULL, "该试管还没有检测结果，无需撤回");
        goto fail;
    }
    if ((e = withdraw_bound(d, t.id)))
        goto fail;
    o.result = vocab_name(&nat_result_vocab, (size_t)t.result);
    o.withdrawal_id = id_new();
    /* the tube first, on its result as read: of two withdrawals (or a
     * withdrawal and a new result) at once, the second finds it changed
     * (PostgreSQL: waits for the row, then matches nothing) */
    db_stmt *s;
    int64_t changed;
    if ((e = db_prepare(d,
                        "UPDATE nat_tubes SET state = 'received', result = '', resulted_at = 0, "
                        "resulted_by = 0, institution = '', incident_id = 0 WHERE id = ? AND state "
                        "= 'resulted' AND result = ? AND resulted_at = ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, t.id);
    db_bind_text(s, 2, o.result);
    db_bind_int64(s, 3, t.resulted_at);
    if ((e = db_run(s, &changed)))
        goto fail;
    if (!changed) {
        e = err_set(E_CONFLICT, "no_result", NULL, "该试管的检测结果已被撤回或更改，请刷新后重试");
        goto fail;
    }
    if ((e = db_prepare(d,
                        "INSERT INTO nat_withdrawals (id, tube_id, region_code, result, "
                        "resulted_at, resulted_by, institution, reason, incident_id, user_id, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, o.withdrawal_id);
    db_bind_int64(s, 2, t.id);
    db_bind_int64(s, 3, t.region_code);
    db_bind_text(s, 4, o.result);
    db_bind_int64(s, 5, t.resulted_at);
    db_bind_int64(s, 6, t.resulted_by);
    db_bind_text(s, 7, t.institution);
    db_bind_text(s, 8, reason);
    db_bind_int64(s, 9, t.incident_id);
    db_bind_int64(s, 10, who->user_id);
    db_bind_int64(s, 11, now_ms());
    if ((e = db_run(s, NULL)))
        goto fail;
    /* the samples: outcomes counted back, results cleared */
    struct srow xs[TUBE_SIZE_MAX];
    size_t n = 0;
    if ((e = db_prepare(d, SROW_COLS " WHERE tube_id = ? ORDER BY at, id", &s)))
        goto fail;
    db_bind_int64(s, 1, t.id);
    bool row;
    while (n < TUBE_SIZE_MAX && !(e = db_row(s, &row)) && row)
        srow_read(s, &xs[n++]);
    db_done(s);
    if (e)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if ((e = outcome_set(d, &xs[i], 0)))
            goto fail;
    if ((e = db_prepare(d, "UPDATE nat_samples SET result = '' WHERE tube_id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, t.id);
    if ((e = db_run(s, NULL)) || (e = retests_withdraw(d, a, who, t.id, &o.retests)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!xs[i].person_id)
            continue;
        int64_t taken = 0;
        if ((e = test_result_take(d, o.withdrawal_id, &xs[i], &t, &taken)))
            goto fail;
        o.tests += taken;
        if (t.incident_id) {
            if ((e = report_note(d, who, &t, xs[i].person_id, o.withdrawal_id)))
                goto fail;
            o.reports++;
        }
        /* a deleted person keeps no code to recompute */
        struct scope all = scope_all();
        int64_t region;
        e = person_lock(d, &all, xs[i].person_id, &region);
        if (e == E_NOT_FOUND) {
            err_clear();
            continue;
        }
        if (e || (e = code_refresh(d, a, xs[i].person_id, "test_result", who->user_id)))
            goto fail;
    }
    if ((e = db_commit(d)))
        goto fail;
    o.samples = (int64_t)n;
    if (o_r)
        *o_r = o;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- batches ------------------------------------------------------------------------------- */

static void error_add(json_t *errors, long row, const char *barcode, const struct err_detail *x)
{
    if (json_array_size(errors) >= NAT_RESULT_ERRORS_MAX)
        return;
    json_array_append_new(errors, json_pack("{s:I,s:s,s:s,s:s,s:s}", "row", (json_int_t)row,
                                            "barcode", barcode ? barcode : "", "code", x->slug,
                                            "field", x->field, "message", x->message));
}

static int by_row(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "row"));
    json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "row"));
    return (a > b) - (a < b);
}

/* Told of each record that failed (its index and why): an upload keeps
 * the row for its error report. */
typedef void (*fail_fn)(void *ctx, size_t i, const struct err_detail *x);

static err batch_run(db *d, arena *a, const struct principal *who, const char *institution,
                     const struct nat_result_input *in, const long *rows, size_t n, bool dry_run,
                     json_t *prior, int64_t prior_failed, fail_fn on_fail, void *ctx,
                     json_t **report_r)
{
    json_t *errors = prior ? prior : json_array();
    int64_t applied = 0, repeated = 0, failed = prior_failed, retests = 0, reports = 0;
    if (!errors)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    if (n > NAT_RESULTS_MAX) {
        json_decref(errors);
        return err_set(E_INPUT, "too_many_rows", NULL, "一次最多提交%d条检测结果", NAT_RESULTS_MAX);
    }
    err e = db_begin(d);
    if (e) {
        json_decref(errors);
        return e;
    }
    /* the codes of the batch's people are computed once, before the commit;
     * a record rolled back leaves a note that recomputes an unchanged code,
     * so unlike the counters (kept one by one) the notes need no care */
    if ((e = code_defer_begin(d))) {
        db_rollback(d);
        json_decref(errors);
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        struct nat_result_outcome o;
        /* each record alone: a failing one leaves nothing and the others go on */
        e = nat_result_record(d, a, who, institution, &in[i], &o);
        if (e == E_INPUT || e == E_NOT_FOUND || e == E_CONFLICT) {
            const struct err_detail *x = err_last();
            error_add(errors, rows ? rows[i] : (long)i + 1, in[i].barcode, x);
            if (on_fail)
                on_fail(ctx, i, x);
            failed++;
            err_clear();
            e = E_OK;
            continue;
        }
        if (e)
            break;
        *(o.repeated ? &repeated : &applied) += 1;
        retests += o.retests;
        reports += o.reports;
    }
    if (!e && !dry_run)
        e = code_defer_flush(d, a);
    code_defer_end(d);
    if (!e && dry_run)
        db_rollback(d);
    else if (!e)
        e = db_commit(d);
    else
        db_rollback(d);
    if (e) {
        json_decref(errors);
        return e;
    }
    /* the rows in order: an upload's unreadable rows came first */
    size_t ne = json_array_size(errors);
    json_t **v = malloc((ne ? ne : 1) * sizeof *v), *sorted = json_array();
    if (!v || !sorted) {
        free(v);
        json_decref(sorted);
        json_decref(errors);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    for (size_t i = 0; i < ne; i++)
        v[i] = json_array_get(errors, i);
    qsort(v, ne, sizeof *v, by_row);
    for (size_t i = 0; i < ne; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(errors);
    *report_r = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o}", "total",
                          (json_int_t)((int64_t)n + prior_failed), "applied", (json_int_t)applied,
                          "repeated", (json_int_t)repeated, "failed", (json_int_t)failed, "retests",
                          (json_int_t)retests, "reports", (json_int_t)reports, "dry_run", dry_run,
                          "errors", sorted);
    return *report_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

err nat_result_batch(db *d, arena *a, const struct principal *who, const char *institution,
                     const struct nat_result_input *in, const long *rows, size_t n, bool dry_run,
                     json_t *prior, int64_t prior_failed, json_t **report_r)
{
    return batch_run(d, a, who, institution, in, rows, n, dry_run, prior, prior_failed, NULL, NULL,
                     report_r);
}

/* ---- upload -------------------------------------------------------------------------------- */

enum { C_BARCODE, C_RESULT, C_AT, C__COUNT };
static const char *const heads[C__COUNT] = {"试管条码", "检测结果", "报告时间"};
static const char *const col_fields[C__COUNT] = {"barcode", "result", "at"};

enum pass { PASS_CHECK, PASS_PARSE };

struct upload {
    enum pass pass;
    arena *a;
    struct nat_result_input *in;
    long *rows;
    struct xlsx_cell (*cells)[C__COUNT]; /* each record's cells, for the error report */
    size_t n, cap;
    json_t *errors;
    int64_t failed;
    long data_rows;
    bool header_seen;
    struct import_failures fail;
    err fatal; /* keeping a failed row ran out of memory */
    db *d;     /* the parse pass: progress of job_id */
    int64_t job_id, total;
};

static void keep(struct upload *u, long row, const struct xlsx_cell *cells, int col,
                 const char *msg)
{
    struct import_mark m = {col, msg};
    err e = import_failures_keep(&u->fail, row, cells, C__COUNT, &m, 1);
    if (e && !u->fatal)
        u->fatal = e;
}

static void row_error(struct upload *u, long row, const struct xlsx_cell *cells, int col,
                      const char *slug, const char *msg)
{
    struct err_detail x = {.code = E_INPUT};
    char name[XLSX_COL_NAME];
    xlsx_col_name(col, name);
    snprintf(x.slug, sizeof x.slug, "%s", slug);
    snprintf(x.field, sizeof x.field, "%s", col_fields[col]);
    snprintf(x.message, sizeof x.message, "第%ld行%s列（%s）：%s", row, name, heads[col], msg);
    error_add(u->errors, row, NULL, &x);
    keep(u, row, cells, col, msg);
    u->failed++;
}

/* A record the batch refused: its row in the report, marked at its field. */
static void record_failed(void *ctx, size_t i, const struct err_detail *x)
{
    struct upload *u = ctx;
    int col = -1;
    for (int c = 0; c < C__COUNT; c++)
        if (!strcmp(x->field, col_fields[c]))
            col = c;
    keep(u, u->rows[i], u->cells[i], col, x->message);
}

static bool result_parse(const char *s, enum nat_result *r_r)
{
    static const struct {
        const char *text;
        enum nat_result r;
    } words[] = {
        {"阴性", NAT_RESULT_NEGATIVE},          {"negative", NAT_RESULT_NEGATIVE},
        {"阳性", NAT_RESULT_POSITIVE},          {"positive", NAT_RESULT_POSITIVE},
        {"无效", NAT_RESULT_INVALID},           {"invalid", NAT_RESULT_INVALID},
        {"无效（需重采）", NAT_RESULT_INVALID},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(s, words[i].text)) {
            *r_r = words[i].r;
            return true;
        }
    return false;
}

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct upload *u = ctx;
    struct xlsx_cell c[C__COUNT];
    (void)import_cells(cells, n, c, C__COUNT); /* a blank row is told by its barcode */
    if (!u->header_seen) {
        u->header_seen = true;
        if (strcmp(c[C_BARCODE].text, heads[C_BARCODE]) ||
            strcmp(c[C_RESULT].text, heads[C_RESULT]))
            return err_set(E_INPUT, "invalid_xlsx", NULL,
                           "第%ld行应为表头：试管条码、检测结果、报告时间（请使用导入模板）", row);
        return E_OK;
    }
    if (u->data_rows++ == NAT_RESULTS_MAX)
        return err_set(E_INPUT, "too_many_rows", NULL, "一次最多导入%d条检测结果", NAT_RESULTS_MAX);
    if (u->pass == PASS_CHECK)
        return E_OK;
    if (u->data_rows % 1000 == 0)
        err_ignore(job_update(u->d, u->job_id, "running", u->data_rows, u->total, NULL));
    struct nat_result_input r = {.barcode = arena_strdup(u->a, c[C_BARCODE].text)};
    if (!*r.barcode) {
        row_error(u, row, c, C_BARCODE, "required", "请填写试管条码");
        return E_OK;
    }
    if (!nat_barcode_valid(r.barcode)) {
        row_error(u, row, c, C_BARCODE, "invalid_barcode", "试管条码应为6到32位字母、数字或连字符");
        return E_OK;
    }
    if (!result_parse(c[C_RESULT].text, &r.result)) {
        row_error(u, row, c, C_RESULT, *c[C_RESULT].text ? "invalid_value" : "required",
                  "检测结果只能是阴性、阳性或无效");
        return E_OK;
    }
    if (c[C_AT].type == XLSX_DATE)
        r.at = c[C_AT].ms;
    else if (*c[C_AT].text && !china_time_parse(c[C_AT].text, &r.at)) {
        row_error(u, row, c, C_AT, "invalid_time", "报告时间应为日期时间，如 2024-05-01 08:30");
        return E_OK;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 256;
        struct nat_result_input *in = arena_alloc(u->a, cap * sizeof *in);
        long *rows = arena_alloc(u->a, cap * sizeof *rows);
        struct xlsx_cell(*kept)[C__COUNT] = arena_alloc(u->a, cap * sizeof *kept);
        if (u->n) {
            memcpy(in, u->in, u->n * sizeof *in);
            memcpy(rows, u->rows, u->n * sizeof *rows);
            memcpy(kept, u->cells, u->n * sizeof *kept);
        }
        u->in = in;
        u->rows = rows;
        u->cells = kept;
        u->cap = cap;
    }
    for (int i = 0; i < C__COUNT; i++) {
        u->cells[u->n][i] = c[i];
        u->cells[u->n][i].text = arena_strdup(u->a, c[i].text);
    }
    u->rows[u->n] = row;
    u->in[u->n++] = r;
    return E_OK;
}

/* The header and NAT_RESULTS_MAX rows; one more is too many. */
static const struct xlsx_limits limits = {.max_rows = NAT_RESULTS_MAX + 2, .max_cols = 16};

static err upload_read(const void *data, size_t n, struct upload *u)
{
    err e = xlsx_read_buffer(data, n, NAT_RESULT_SHEET, &limits, on_row, u);
    if (e == E_INPUT && !strcmp(err_last()->slug, "xlsx_sheet_not_found"))
        e = xlsx_read_buffer(data, n, NULL, &limits, on_row, u);
    return e;
}

err nat_result_upload_check(const void *data, size_t n, long *rows_r)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 文件");
    struct upload u = {.pass = PASS_CHECK};
    err e = upload_read(data, n, &u);
    if (!e && !u.data_rows)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有数据：请按模板填写后再导入");
    if (!e)
        *rows_r = u.data_rows;
    return e;
}

/* ---- the upload job ------------------------------------------------------------------------- */

/* The results and the audit entry in one transaction (the batch's is a
 * savepoint of it; a dry run's is rolled back, its entry kept). */
static err upload_apply(db *d, const struct import_upload *j, struct upload *u, json_t **report_r)
{
    const char *inst;
    err e = nat_lab_institution(d, u->a, j->who.user_id, &inst);
    if (e || (e = db_begin(d))) {
        json_decref(u->errors);
        return e;
    }
    e = batch_run(d, u->a, &j->who, inst, u->in, u->rows, u->n, j->dry_run, u->errors, u->failed,
                  record_failed, u, report_r);
    if (!e && u->fatal)
        e = u->fatal;
    if (!e) {
        json_t *rp = *report_r;
        char detail[200];
        snprintf(detail, sizeof detail,
                 "total=%lld applied=%lld repeated=%lld failed=%lld retests=%lld reports=%lld "
                 "dry_run=%d",
                 (long long)json_int(rp, "total", 0), (long long)json_int(rp, "applied", 0),
                 (long long)json_int(rp, "repeated", 0), (long long)json_int(rp, "failed", 0),
                 (long long)json_int(rp, "retests", 0), (long long)json_int(rp, "reports", 0),
                 j->dry_run);
        if (!(e = import_job_audit(d, j, "nat.result.upload", detail)))
            e = db_commit(d);
    }
    if (e) {
        db_rollback(d);
        json_decref(*report_r);
        *report_r = NULL;
    }
    return e;
}

static void run_upload(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *a = arena_new(1 << 16);    /* the records and their cells */
    arena *kept = arena_new(1 << 16); /* the failed rows, until the report is written */
    struct upload u = {.pass = PASS_PARSE,
                       .a = a,
                       .errors = json_array(),
                       .fail = {.a = kept},
                       .d = d,
                       .job_id = j->job_id,
                       .total = 2 * (int64_t)j->rows};
    json_t *report = NULL;
    err_ignore(job_update(d, j->job_id, "running", 0, u.total, NULL)); /* display only */
    err e = a && kept && u.errors ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
    if (!e)
        e = upload_read(j->data, j->n, &u);
    if (!e && u.fatal)
        e = u.fatal;
    if (!e) {
        err_ignore(job_update(d, j->job_id, "running", j->rows, u.total, NULL));
        e = upload_apply(d, j, &u, &report);
    } else
        json_decref(u.errors);
    if (e) {
        import_job_fail(d, j->job_id, "nat.result_upload", e);
        goto out;
    }
    import_failures_sort(&u.fail);
    bool written = false;
    if (u.fail.n &&
        !(e = import_report_write(j->job_id, NAT_RESULT_SHEET, heads, C__COUNT, &u.fail)))
        written = true;
    else if (u.fail.n)
        log_event(LOG_WARN, "import_report_failed", "slug", err_slug(e), NULL);
    json_object_set_new(report, "report", json_boolean(written));
    char *s = json_dumps(report, JSON_COMPACT);
    json_decref(report);
    err_ignore(job_update(d, j->job_id, "done", j->rows, j->rows, s)); /* display */
    free(s);
out:
    import_failures_free(&u.fail);
    arena_free(&kept);
    arena_free(&a);
}

err nat_result_upload_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                             size_t n, long rows, bool dry_run)
{
    struct import_upload u = {
        .job_id = job_id, .who = *who, .data = data, .n = n, .rows = rows, .dry_run = dry_run};
    return import_upload_submit(d, &u, run_upload);
}

err nat_result_template(int *fd_r, int64_t *size_r)
{
    static const char *const hints[C__COUNT] = {"必填，6-32位字母数字", "阴性、阳性或无效",
                                                "选填，如 2024-05-01 08:30，空为当前时间"};
    return import_template(NAT_RESULT_SHEET, heads, hints, NULL, C__COUNT, fd_r, size_r);
}

/* ---- retests ------------------------------------------------------------------------------- */

#define RETEST_COLS                                                                                \
    "SELECT r.id, r.kind, r.state, r.person_id, r.region_code, g.name, r.tube_id, t.barcode, "     \
    "COALESCE(rt.barcode, ''), r.plan_id, COALESCE(p.name, ''), r.task_id, COALESCE(k.state, "     \
    "''), "                                                                                        \
    "r.incident_id, r.created_at, r.closed_at, r.visitor_id FROM nat_retests r JOIN nat_tubes t "  \
    "ON t.id = "                                                                                   \
    "r.tube_id LEFT JOIN nat_tubes rt ON rt.id = r.result_tube_id LEFT JOIN regions g ON g.code "  \
    "= r.region_code LEFT JOIN nat_plans p ON p.id = r.plan_id LEFT JOIN tasks k ON k.id = "       \
    "r.task_id"

static void retest_read(db_stmt *s, arena *a, struct nat_retest *r)
{
    int k = vocab_parse(&nat_retest_kind_vocab, db_col_text(s, 1));
    int st = vocab_parse(&nat_retest_state_vocab, db_col_text(s, 2));
    int ts = vocab_parse(&task_state_vocab, db_col_text(s, 12));
    *r = (struct nat_retest){
        .id = db_col_int64(s, 0),
        .kind = k > 0 ? (enum nat_retest_kind)k : NAT_RETEST,
        .state = st > 0 ? (enum nat_retest_state)st : NAT_RETEST_OPEN,
        .person_id = db_col_int64(s, 3),
        .visitor_id = db_col_int64(s, 16),
        .name = "",
        .phone = "",
        .region_code = db_col_int64(s, 4),
        .region_name = arena_strdup(a, db_col_text(s, 5)),
        .tube_id = db_col_int64(s, 6),
        .barcode = arena_strdup(a, db_col_text(s, 7)),
        .result_barcode = arena_strdup(a, db_col_text(s, 8)),
        .plan_id = db_col_int64(s, 9),
        .plan_name = arena_strdup(a, db_col_text(s, 10)),
        .task_id = db_col_int64(s, 11),
        .task_state = ts > 0 ? ts : 0,
        .incident_id = db_col_int64(s, 13),
        .created_at = db_col_int64(s, 14),
        .closed_at = db_col_int64(s, 15),
    };
}

static err retest_read_any(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    retest_read(s, a, item);
    return E_OK;
}

err nat_retest_list(db *d, arena *a, const struct scope *scope, const struct nat_retest_filter *f,
                    struct nat_retest **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE r.region_code >= ? AND r.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND r.region_code >= ? AND r.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->plan_id) {
        query_sql(w, " AND r.plan_id = ?");
        query_int(w, f->plan_id);
    }
    if (f->kind) {
        query_sql(w, " AND r.kind = ?");
        query_text(w, vocab_name(&nat_retest_kind_vocab, (size_t)f->kind));
    }
    if (f->state) {
        query_sql(w, " AND r.state = ?");
        query_text(w, vocab_name(&nat_retest_state_vocab, (size_t)f->state));
    }
    void *page;
    size_t n;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_retests r",
                                            .select = RETEST_COLS,
                                            .order = " ORDER BY r.created_at DESC, r.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_retest),
                                            .read = retest_read_any},
                       &page, &n, total_r);
    if (e)
        return e;
    struct nat_retest *items = page;
    struct scope all = scope_all(); /* in scope by its own region_code */
    for (size_t i = 0; i < n; i++) {
        if (items[i].visitor_id) { /* the site's community calls them */
            struct visitor v;
            if (!(e = visitor_find(d, a, &all, 0, items[i].visitor_id, &v))) {
                items[i].name = v.name;
                items[i].phone = v.phone;
            } else if (e != E_NOT_FOUND)
                return e;
            err_clear();
            continue;
        }
        struct person p;
        if (!(e = person_find_brief(d, a, &all, items[i].person_id, &p)))
            items[i].name = p.name;
        else if (e != E_NOT_FOUND)
            return e;
    }
    *items_r = items;
    *n_r = n;
    return E_OK;
}

json_t *nat_retest_json(arena *a, const struct nat_retest *r, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", r->id);
    json_object_set_new(o, "kind", json_string(vocab_name(&nat_retest_kind_vocab, r->kind)));
    json_object_set_new(o, "kind_label", json_string(vocab_label(&nat_retest_kind_vocab, r->kind)));
    json_object_set_new(o, "state", json_string(vocab_name(&nat_retest_state_vocab, r->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_retest_state_vocab, r->state)));
    if (r->person_id)
        json_set_id(o, "person_id", r->person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    json_object_set_new(o, "visitor", json_boolean(r->visitor_id != 0));
    if (r->visitor_id)
        json_set_id(o, "visitor_id", r->visitor_id);
    else
        json_object_set_new(o, "visitor_id", json_null());
    json_object_set_new(o, "name", json_string(reveal ? r->name : mask_name(a, r->name)));
    /* a visitor is called by the site's community (a person's phone is on their record) */
    json_object_set_new(o, "phone",
                        r->visitor_id ? json_string(reveal ? r->phone : mask_phone(a, r->phone))
                                      : json_null());
    json_set_region(o, r->region_code, r->region_name);
    json_object_set_new(o, "barcode", json_string(r->barcode));
    json_object_set_new(o, "result_barcode",
                        *r->result_barcode ? json_string(r->result_barcode) : json_null());
    if (r->plan_id)
        json_set_id(o, "plan_id", r->plan_id);
    else
        json_object_set_new(o, "plan_id", json_null());
    json_object_set_new(o, "plan_name", r->plan_id ? json_string(r->plan_name) : json_null());
    if (r->task_id)
        json_set_id(o, "task_id", r->task_id);
    else
        json_object_set_new(o, "task_id", json_null());
    json_object_set_new(o, "task_state",
                        r->task_state
                            ? json_string(vocab_name(&task_state_vocab, (size_t)r->task_state))
                            : json_null());
    json_object_set_new(o, "task_state_label",
                        r->task_state
                            ? json_string(vocab_label(&task_state_vocab, (size_t)r->task_state))
                            : json_null());
    if (r->incident_id)
        json_set_id(o, "incident_id", r->incident_id);
    else
        json_object_set_new(o, "incident_id", json_null());
    json_object_set_new(o, "created_at", json_integer(r->created_at));
    json_object_set_new(o, "closed_at", r->closed_at ? json_integer(r->closed_at) : json_null());
    return o;
}
