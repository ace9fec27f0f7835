/*
 * The demo district's case workflow (issue 9): a week of reports,
 * verifications, observations, checks, status changes and releases, lived
 * through tick by tick (every 4 hours, China time) from a week ago to now.
 *
 * The clock is the process's own (base/id.h clock_shift): each step sets
 * it to the step's time and calls the capabilities' functions — the ones
 * the API handlers call — so every row, counter, timeline line, alert and
 * task carries the time it happened, and the sweeps the server runs
 * (missed checks, overdue tasks, release tasks) run at each tick and make
 * what they would have made. Nothing is written into a case table here.
 *
 * Who does what: the demo accounts of the first community (community
 * staff, doctor, the grid worker of its first grid) work the tasks of
 * their community; a district doctor (cdcdoctor) the check tasks of the
 * other communities; the command centre enters observations elsewhere and
 * releases them by decision (their communities have no staff account).
 *
 * The cost is per observed person (0.5 % of the people, at most
 * CASE_MAX): about 14 checks each over the week.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "case/case.h"
#include "case/internal.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "health/health.h"
#include "person/person.h"
#include "region/region.h"
#include "task/internal.h"

#define HOUR_MS    3600000LL
#define MIN_MS     60000LL
#define TICK_MS    (4 * HOUR_MS)
#define CASE_MIN   12  /* observed people, whatever the district's size */
#define CASE_MAX   400 /* … and at most: the week costs per person */
#define SITES      3   /* quarantine sites with rooms */
#define ROOMS      24  /* per site */
#define SKIP_FIRST 10  /* a community's first people are demo_activity's */
#define ESCALATE   30  /* minutes: FK_MESSAGE_ESCALATE's default */
#define MAX_EXTRA  64  /* reports that do not end on the list */

/* What becomes of an observed person. */
enum plan {
    PLAN_WELL,     /* observed, checked, still observed now */
    PLAN_OLD,      /* observed before the week: released with a certificate */
    PLAN_SUSPECT,  /* an abnormal check: suspected */
    PLAN_CONFIRM,  /* … then confirmed, every other one cured later */
    PLAN_TRANSFER, /* a high fever: the transfer task sends them to hospital */
};

/* How they come onto the list. */
enum entry {
    ENTRY_DIRECT,  /* entered by staff (POST /api/v1/observations) */
    ENTRY_OBSERVE, /* a checkpoint or patrol report, routed onto the list */
    ENTRY_VERIFY,  /* a report, a home visit by the grid worker, confirmed */
};

struct subj {
    int64_t person, region, obs, incident, task;
    enum plan plan;
    enum entry entry;
    enum observe_kind kind;
    int start;     /* tick of the entry */
    int sick;      /* tick of the first abnormal check, -1 none */
    int suspected; /* tick the status changed, -1 not yet */
    int confirmed; /* tick, -1 not yet */
    bool local;    /* in the first community: its accounts work it */
    bool sloppy;   /* forgets self-checks */
    bool active;   /* the observation is open */
    bool hospital; /* moved to hospital (no checks) */
    bool cured;
};

/* A report that does not put anyone on the list (or not yet). */
enum extra_fate {
    EX_FALSE,     /* verified: false report, closed */
    EX_PENDING,   /* filed in the last hours, not yet taken */
    EX_ACCEPTED,  /* taken, the visit not yet done */
    EX_OVERDUE,   /* filed days ago, never taken: overdue */
    EX_ABNORMAL,  /* verified: symptoms, sent to hospital */
    EX_DUPLICATE, /* closed by the command centre as a duplicate */
    EX_ELSEWHERE, /* another community's grid (no grid worker account): waits */
};

struct extra {
    int64_t person, region, incident, task;
    enum extra_fate fate;
    int tick;
    bool unknown; /* the subject is not registered: name and id number only */
};

struct sim {
    db *d;
    arena *a;
    struct rng r;
    const struct demo_world *w;
    struct principal cmd, community, doctor, district_doctor, grid, checkpoint;
    int64_t t0, t; /* the first tick's time; the current step's */
    int ticks;     /* ticks before now */
    int64_t sites[SITES];
    int next_room[SITES];
    struct subj *s;
    long n;
    struct extra x[MAX_EXTRA];
    int nx;
    int64_t comm0, grid1; /* the accounts' community and grid */
};

/* ---- the clock ------------------------------------------------------------------------ */

/* Set the process's clock to `at` (never past the real now). */
static void clock_at(struct sim *m, int64_t at)
{
    clock_shift(0);
    int64_t real = now_ms();
    if (at > real)
        at = real;
    clock_shift(at - real);
    m->t = at;
}

/* The next action of a tick: 20 seconds later. */
static void step(struct sim *m)
{
    clock_at(m, m->t + 20000);
}

static int china_hour(int64_t t)
{
    return (int)((t - china_day_start(t)) / HOUR_MS);
}

static err tx_end(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* ---- people -------------------------------------------------------------------------- */

/* Up to `want` people of [lo, hi) (skipping each community's first, whom
 * demo_activity uses), every `stride`-th by id, into out; returns how many. */
static long people_in(struct sim *m, int64_t lo, int64_t hi, int64_t lo2, int64_t hi2, long want,
                      long stride, int64_t *ids, int64_t *regions, err *e_r)
{
    db_stmt *s;
    err e = db_prepare(m->d,
                       "SELECT id, region_code FROM persons WHERE region_code >= ? AND "
                       "region_code < ? AND NOT (region_code >= ? AND region_code < ?) AND "
                       "deleted_at = 0 AND status = 'normal' ORDER BY id",
                       &s);
    if (e) {
        *e_r = e;
        return 0;
    }
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, lo2);
    db_bind_int64(s, 4, hi2);
    long n = 0, k = 0;
    int64_t comm = -1;
    long in_comm = 0;
    bool row;
    while (n < want && !(e = db_row(s, &row)) && row) {
        int64_t region = db_col_int64(s, 1), c = regcode_at_most(region, LEVEL_COMMUNITY);
        if (c != comm) {
            comm = c;
            in_comm = 0;
        }
        if (in_comm++ < SKIP_FIRST || k++ % stride)
            continue;
        ids[n] = db_col_int64(s, 0);
        regions[n++] = region;
    }
    db_done(s);
    *e_r = e;
    return n;
}

/* A position inside the building `region` (its centre, a few metres off). */
static void position(struct sim *m, int64_t region, double *lat, double *lng)
{
    struct scope all = scope_all();
    struct region rg;
    *lat = 22.54;
    *lng = 113.93;
    if (!region_find(m->d, &all, region, false, m->a, &rg) && rg.has_center) {
        *lat = rg.center_lat + ((double)rng_below(&m->r, 41) - 20) * 1e-6;
        *lng = rg.center_lng + ((double)rng_below(&m->r, 41) - 20) * 1e-6;
    } else {
        err_clear();
    }
}

static const struct principal *doctor_for(struct sim *m, int64_t region)
{
    return regcode_at_most(region, LEVEL_COMMUNITY) == m->comm0 ? &m->doctor : &m->district_doctor;
}

static const struct principal *staff_for(struct sim *m, int64_t region)
{
    return regcode_at_most(region, LEVEL_COMMUNITY) == m->comm0 ? &m->community : &m->cmd;
}

/* ---- quarantine sites ------------------------------------------------------------------ */

static err sites(struct sim *m)
{
    db_stmt *s;
    err e = db_prepare(m->d,
                       "SELECT id FROM places WHERE kind = 'quarantine_site' AND deleted_at = 0 "
                       "ORDER BY region_code, id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, SITES);
    int n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        m->sites[n++] = db_col_int64(s, 0);
    db_done(s);
    if (e || n < SITES)
        return e ? e : err_set(E_INTERNAL, "demo_sites", NULL, "演示隔离点不足");
    struct scope all = scope_all();
    for (int i = 0; i < SITES && !e; i++) {
        const char *rooms[ROOMS];
        for (int k = 0; k < ROOMS; k++)
            rooms[k] = arena_printf(m->a, "%d%02d", 1 + k / 8, 1 + k % 8);
        int64_t added;
        if (!(e = db_begin(m->d)))
            e = tx_end(m->d, case_rooms_add(m->d, m->a, &all, m->sites[i], rooms, ROOMS, &added));
    }
    return e;
}

/* ---- observations ---------------------------------------------------------------------- */

static const char *const hospitals[] = {"深圳市第三人民医院", "南方科技大学医院",
                                        "深圳市南山区人民医院"};

static err observe_direct(struct sim *m, struct subj *p, long j, int64_t start_at)
{
    static const enum case_source sources[] = {SOURCE_CDC, SOURCE_CONTACT, SOURCE_CANVASS,
                                               SOURCE_DOCTOR, SOURCE_IMPORT};
    struct case_observe_in in = {
        .person_id = p->person,
        .kind = p->kind,
        .source = sources[j % 5],
        .start_at = start_at,
        .evidence = p->kind == OBSERVE_CENTRAL ? "转运交接单" : "流调报告",
        .note = "社区登记",
    };
    int site = 0;
    if (p->kind == OBSERVE_CENTRAL) {
        site = p->local ? 0 : 1 + (int)(j % (SITES - 1));
        if (m->next_room[site] >= ROOMS) { /* the site is full: home isolation */
            p->kind = in.kind = OBSERVE_HOME_ISOLATION;
        } else {
            in.site_id = m->sites[site];
            in.room_no = arena_printf(m->a, "%d%02d", 1 + m->next_room[site] / 8,
                                      1 + m->next_room[site] % 8);
            in.handover = "转运组王师傅";
        }
    }
    err e = db_begin(m->d);
    if (!e)
        /* central quarantine is the district's to arrange (its sites are
         * street places, outside a community's scope) */
        e = tx_end(m->d, case_observe(m->d, m->a, in.site_id ? &m->cmd : staff_for(m, p->region),
                                      &in, &p->obs));
    if (!e && in.site_id)
        m->next_room[site]++;
    return e;
}

/* A report filed by `who` from `source` about `person` (0: an unknown
 * subject with name and id number, living at `region`), placed in region. */
static err report(struct sim *m, const struct principal *who, enum case_source source,
                  enum incident_category category, int64_t person, int64_t region, const char *text,
                  double temp, unsigned symptoms, const char *name, const char *idno,
                  int64_t *incident_r, enum incident_state *state_r)
{
    struct incident_new in = {
        .source = source,
        .category = category,
        .person_id = person,
        .region_code = person ? 0 : region,
        .symptoms = symptoms,
        .temperature = temp,
        .description = text,
        .has_position = true,
    };
    if (!person) {
        char phone[12];
        snprintf(phone, sizeof phone, "139%08u", (unsigned)rng_below(&m->r, 100000000u));
        in.subject = (struct incident_subject){
            .name = name,
            .phone = arena_strdup(m->a, phone),
            .id_type = idno ? ID_RESIDENT : 0,
            .id_number = idno,
            .gender = GENDER_MALE,
            .address = "广东省深圳市南山区出租屋",
        };
    }
    position(m, region, &in.lat, &in.lng);
    return incident_report(m->d, m->a, who, &in, incident_r, state_r);
}

static int64_t open_task(struct sim *m, const char *kind, int64_t subject_id, err *e_r)
{
    db_stmt *s;
    int64_t id = 0;
    err e = db_prepare(m->d,
                       "SELECT id FROM tasks WHERE kind = ? AND subject_id = ? AND state IN "
                       "('pending', 'accepted', 'overdue') ORDER BY id LIMIT 1",
                       &s);
    if (!e) {
        db_bind_text(s, 1, kind);
        db_bind_int64(s, 2, subject_id);
        bool row;
        if (!(e = db_row(s, &row)) && row)
            id = db_col_int64(s, 0);
        db_done(s);
    }
    *e_r = e;
    return id;
}

/* Accept and complete task id as who with `result` (owned here). */
static err work(struct sim *m, const struct principal *who, int64_t id, json_t *result)
{
    err e = task_accept(m->d, m->a, who, id);
    if (!e) {
        step(m);
        e = task_complete(m->d, m->a, who, id, result);
    }
    json_decref(result);
    return e;
}

static err enter(struct sim *m, struct subj *p, long j)
{
    if (p->entry == ENTRY_DIRECT)
        return observe_direct(m, p, j, 0);
    if (p->entry == ENTRY_OBSERVE) {
        bool gate = j % 2;
        bool in_grid = regcode_at_most(p->region, LEVEL_GRID) == m->grid1;
        const struct principal *who =
            gate ? (p->local ? &m->checkpoint : &m->cmd) : (in_grid ? &m->grid : &m->cmd);
        enum incident_state st;
        err e = report(m, who, gate ? SOURCE_CHECKPOINT : SOURCE_GRID_PATROL,
                       gate ? INCIDENT_FEVER : INCIDENT_RISK_AREA, p->person, p->region,
                       gate ? "卡口测温异常，已劝返并上报" : "网格排查发现中高风险地区返深人员",
                       gate ? 37.4 : -1, gate ? SYM_FEVER : 0, NULL, NULL, &p->incident, &st);
        if (!e && p->incident) {
            struct incident v;
            struct scope all = scope_all();
            if (!(e = incident_find(m->d, m->a, &all, 0, p->incident, &v)))
                p->obs = v.observation_id;
        }
        return e;
    }
    /* a resident or a contact trace: the grid worker's visit confirms it */
    enum incident_state st;
    err e = report(m, j % 2 ? &m->cmd : &m->community, j % 2 ? SOURCE_CONTACT : SOURCE_CANVASS,
                   j % 2 ? INCIDENT_CONTACT : INCIDENT_SYMPTOMS, p->person, p->region,
                   j % 2 ? "流调排查：与确诊病例同一时空" : "社区摸排：自述咳嗽、乏力", -1,
                   j % 2 ? 0 : SYM_COUGH | SYM_FATIGUE, NULL, NULL, &p->incident, &st);
    if (e)
        return e;
    struct incident v;
    struct scope all = scope_all();
    if ((e = incident_find(m->d, m->a, &all, 0, p->incident, &v)))
        return e;
    p->task = v.task_id;
    return E_OK;
}

/* The grid worker visits p (the tick after the report). */
static err verify(struct sim *m, struct subj *p)
{
    json_t *res =
        json_pack("{s:s, s:s}", "outcome", "confirmed", "kind",
                  p->kind == OBSERVE_HOME_ISOLATION ? "home_isolation" : "home_observation");
    err e = work(m, &m->grid, p->task, res);
    if (e)
        return e;
    struct incident v;
    struct scope all = scope_all();
    if ((e = incident_find(m->d, m->a, &all, 0, p->incident, &v)))
        return e;
    p->obs = v.observation_id;
    return E_OK;
}

/* ---- checks ---------------------------------------------------------------------------- */

static json_t *check_body(double temp, unsigned symptoms, const char *text)
{
    json_t *sy = json_array();
    static const char *const names[] = {"fever", "cough", "fatigue", "shortness_of_breath"};
    for (unsigned i = 0; i < 4; i++)
        if (symptoms & (1u << i))
            json_array_append_new(sy, json_string(names[i]));
    return json_pack("{s:o, s:f, s:s}", "symptoms", sy, "temperature", temp, "description", text);
}

static double normal_temp(struct sim *m)
{
    return 36.1 + (double)rng_below(&m->r, 8) / 10.0;
}

static err self_check(struct sim *m, struct subj *p, double temp, unsigned symptoms)
{
    struct principal me = {.person_id = p->person, .resident = true};
    struct check_in in = {.symptoms = symptoms,
                          .temperature = temp,
                          .description = symptoms ? "自觉不适" : "无不适",
                          .door_no = "3单元1204",
                          .has_position = true};
    position(m, p->region, &in.lat, &in.lng);
    err e = db_begin(m->d);
    if (!e)
        e = tx_end(m->d, check_record(m->d, m->a, &me, p->obs, CHECK_BY_SELF, &in, 0, NULL));
    return e;
}

static err doctor_visit(struct sim *m, struct subj *p)
{
    struct check_in in = {.temperature = normal_temp(m), .description = "上门核查，体征平稳"};
    err e = db_begin(m->d);
    if (!e)
        e = tx_end(m->d, check_record(m->d, m->a, doctor_for(m, p->region), p->obs, CHECK_BY_DOCTOR,
                                      &in, 0, NULL));
    return e;
}

/* The doctor works the open check task of p, if any (most of the time). */
static err doctor_task(struct sim *m, struct subj *p, bool sick)
{
    err e;
    int64_t id = open_task(m, "check", p->obs, &e);
    /* the last day's routine tasks stay open for the doctors' workbench */
    if (e || !id || (!sick && rng_pct(&m->r, 30)) ||
        (!sick && m->t > m->t0 + (int64_t)(m->ticks - 6) * TICK_MS))
        return e;
    json_t *res = sick ? check_body(37.9, SYM_FEVER | SYM_COUGH, "复查：仍发热，建议核酸检测")
                       : check_body(normal_temp(m), 0, "按时核查，无异常");
    return work(m, doctor_for(m, p->region), id, res);
}

/* ---- status ---------------------------------------------------------------------------- */

static err status(struct sim *m, struct subj *p, int to, enum case_severity sev,
                  enum infection_route route, const char *reason)
{
    struct case_status_in in = {
        .person_id = p->person, .to = to, .severity = sev, .route = route, .reason = reason};
    const struct principal *who = staff_for(m, p->region);
    err e = db_begin(m->d);
    if (e)
        return e;
    e = case_status_set(m->d, m->a, who, &in, NULL);
    return tx_end(m->d, e);
}

/* ---- the open tasks of the rules -------------------------------------------------------- */

static struct subj *subj_of_obs(struct sim *m, int64_t obs)
{
    for (long i = 0; i < m->n; i++)
        if (m->s[i].obs == obs)
            return &m->s[i];
    return NULL;
}

/* Release and transfer tasks the sweeps and checks made: the first
 * community's staff work them; elsewhere the command centre releases by
 * decision (POST /observations/{id}/release), which cancels the task. */
static err rule_tasks(struct sim *m)
{
    db_stmt *s;
    err e = db_prepare(m->d,
                       "SELECT id, kind, subject_id, region_code FROM tasks WHERE kind IN "
                       "('release', 'transfer') AND state IN ('pending', 'overdue') ORDER BY id",
                       &s);
    if (e)
        return e;
    int64_t ids[64], subj[64], regions[64];
    bool release[64];
    int n = 0;
    bool row;
    while (n < 64 && !(e = db_row(s, &row)) && row) {
        ids[n] = db_col_int64(s, 0);
        release[n] = !strcmp(db_col_text(s, 1), "release");
        subj[n] = db_col_int64(s, 2);
        regions[n++] = db_col_int64(s, 3);
    }
    db_done(s);
    for (int i = 0; i < n && !e; i++) {
        struct subj *p = subj_of_obs(m, subj[i]);
        if (!p || !p->active)
            continue;
        bool local = regcode_at_most(regions[i], LEVEL_COMMUNITY) == m->comm0;
        step(m);
        if (release[i] && local) {
            /* one stays for the community's workbench */
            if (m->t > m->t0 + (int64_t)(m->ticks - 3) * TICK_MS)
                continue;
            e = work(
                m, &m->community, ids[i],
                json_pack("{s:s, s:s}", "release_status", "free", "note", "隔离期满，体征正常"));
        } else if (release[i]) {
            if (!(e = db_begin(m->d)))
                e = tx_end(m->d, case_release(m->d, m->a, &m->cmd, p->obs, RELEASE_FREE,
                                              "隔离期满，无异常，准予解除", false, NULL));
        } else if (local) {
            e = work(m, &m->community, ids[i],
                     json_pack("{s:s, s:s, s:s, s:s}", "decision", "transfer", "hospital",
                               hospitals[p->person % 3], "handover", "社区医生李医生", "reason",
                               "高热不退，转送定点医院"));
            if (!e) {
                /* the hospital observation replaces the home one */
                p->hospital = true;
                p->obs = 0;
                struct case_observe_filter f = {.state = OBS_ACTIVE, .page = 1, .page_size = 1};
                struct observation *o;
                size_t on;
                int64_t total;
                json_t *counts = NULL;
                struct scope sc = scope_of(p->region);
                if (!(e = case_observation_list(m->d, m->a, &sc, &f, &o, &on, &total, &counts)) &&
                    on && o[0].person_id == p->person)
                    p->obs = o[0].id;
                json_decref(counts);
            }
        } else {
            continue;
        }
        if (!e && release[i])
            p->active = false;
    }
    return e;
}

static err sweeps(struct sim *m)
{
    struct check_sweep_result r;
    int64_t n;
    err e = check_sweep(m->d, m->t, ESCALATE, &r);
    if (!e)
        e = task_sweep_overdue(m->d, m->t, &n);
    if (!e)
        e = case_release_sweep(m->d, m->t, &n);
    return e;
}

/* ---- reports that end elsewhere ------------------------------------------------------- */

static err extra_file(struct sim *m, struct extra *x, long k)
{
    static const enum case_source sources[] = {SOURCE_RESIDENT, SOURCE_ENTERPRISE, SOURCE_CDC,
                                               SOURCE_DOCTOR, SOURCE_CANVASS};
    static const enum incident_category cats[] = {INCIDENT_SYMPTOMS, INCIDENT_RISK_AREA,
                                                  INCIDENT_CONTACT, INCIDENT_FEVER, INCIDENT_OTHER};
    static const char *const texts[] = {"邻居反映其连续咳嗽多日", "企业申报：员工自中风险地区返深",
                                        "疾控推送：密接人员协查", "社区医生发现发热患者",
                                        "楼栋长反映有外地返深人员未报备"};
    const struct principal *who = x->fate == EX_ELSEWHERE ? &m->cmd
                                  : k % 5 == 3            ? &m->doctor
                                  : k % 5 == 4            ? &m->community
                                                          : &m->cmd;
    char name[16], idno[32]; /* room for what the formats could write: 18 are kept */
    if (x->unknown) {
        snprintf(name, sizeof name, "%s%s", demo_surnames[rng_below(&m->r, DEMO_N(demo_surnames))],
                 demo_given[rng_below(&m->r, DEMO_N(demo_given))]);
        snprintf(idno, sizeof idno, "440106%04u%02u%02u%03ld", 1970 + rng_below(&m->r, 30),
                 1 + rng_below(&m->r, 12), 1 + rng_below(&m->r, 28), (500 + k) % 1000);
        idno[17] = resident_id_check_char(idno);
        idno[18] = '\0';
    }
    enum incident_state st;
    return report(m, who, sources[k % 5], cats[k % 5], x->unknown ? 0 : x->person, x->region,
                  texts[k % 5], k % 5 == 3 ? 37.8 : -1, k % 5 == 3 ? SYM_FEVER : 0,
                  x->unknown ? name : NULL, x->unknown ? idno : NULL, &x->incident, &st);
}

static err extra_task(struct sim *m, struct extra *x)
{
    struct incident v;
    struct scope all = scope_all();
    err e = incident_find(m->d, m->a, &all, 0, x->incident, &v);
    if (!e)
        x->task = v.task_id;
    return e;
}

/* What the grid worker (or the command centre) does with it, the tick after. */
static err extra_work(struct sim *m, struct extra *x)
{
    switch (x->fate) {
    case EX_FALSE:
        return work(m, &m->grid, x->task,
                    json_pack("{s:s, s:s}", "outcome", "false_report", "reason",
                              "入户核实：体温正常，无相关旅居史，系误报"));
    case EX_ABNORMAL:
        return work(m, &m->grid, x->task,
                    json_pack("{s:s, s:s, s:s}", "outcome", "abnormal", "hospital", hospitals[0],
                              "handover", "120急救中心陈医生"));
    case EX_ACCEPTED:
        return task_accept(m->d, m->a, &m->grid, x->task);
    case EX_DUPLICATE:
        return incident_close(m->d, m->a, &m->cmd, x->incident, "重复上报，已合并处理");
    default:
        return E_OK;
    }
}

/* ---- the week -------------------------------------------------------------------------- */

static err plan_people(struct sim *m, long persons)
{
    long n = persons / 200;
    n = n < CASE_MIN ? CASE_MIN : n > CASE_MAX ? CASE_MAX : n;
    long nverify = n / 5, nlocal = n * 3 / 10, nremote = n - nverify - nlocal;
    m->s = arena_alloc(m->a, sizeof *m->s * (size_t)n);
    int64_t *ids = arena_alloc(m->a, sizeof(int64_t) * (size_t)(n + MAX_EXTRA));
    int64_t *regs = arena_alloc(m->a, sizeof(int64_t) * (size_t)(n + MAX_EXTRA));
    int64_t g1 = m->grid1, g1end = regcode_end(g1), c0 = m->comm0, c0end = regcode_end(c0);
    err e;
    /* the grid worker's grid: verified reports, and the extra reports */
    long got = people_in(m, g1, g1end, 0, 0, nverify + 12, 1, ids, regs, &e);
    long nv = got > 12 ? got - 12 : 0;
    long k = 0;
    for (long i = 0; i < nv && !e; i++)
        m->s[k++] = (struct subj){.person = ids[i], .region = regs[i], .entry = ENTRY_VERIFY};
    m->nx = 0;
    for (long i = nv; i < got && m->nx < MAX_EXTRA; i++)
        m->x[m->nx++] = (struct extra){.person = ids[i], .region = regs[i]};
    /* the rest of the first community */
    if (!e)
        got = people_in(m, c0, c0end, g1, g1end, nlocal, 3, ids, regs, &e);
    for (long i = 0; i < got && !e; i++)
        m->s[k++] = (struct subj){.person = ids[i], .region = regs[i]};
    /* the district beyond it, spread */
    long stride = persons / (nremote + 1) / 2;
    if (!e)
        got = people_in(m, c0end, INT64_MAX, 0, 0, nremote, stride < 1 ? 1 : stride, ids, regs, &e);
    for (long i = 0; i < got && !e; i++)
        m->s[k++] = (struct subj){.person = ids[i], .region = regs[i]};
    m->n = k;
    /* fates: drawn, then at least one of each (a small district too) */
    int last = m->ticks - 2 > 1 ? m->ticks - 2 : 1;
    int have[PLAN_TRANSFER + 1] = {0};
    for (long i = 0; i < m->n; i++) {
        struct subj *p = &m->s[i];
        p->local = regcode_at_most(p->region, LEVEL_COMMUNITY) == c0;
        unsigned roll = rng_below(&m->r, 100);
        p->plan = roll < 20                                             ? PLAN_OLD
                  : roll < 28                                           ? PLAN_SUSPECT
                  : roll < 36                                           ? PLAN_CONFIRM
                  : (roll < 40 && p->local && p->entry != ENTRY_VERIFY) ? PLAN_TRANSFER
                                                                        : PLAN_WELL;
        if (p->entry == ENTRY_VERIFY && p->plan == PLAN_OLD)
            p->plan = PLAN_WELL; /* a report of this week */
        have[p->plan]++;
    }
    for (long i = m->n - 1; i >= 0; i--) { /* from the end: the verified stay well */
        struct subj *p = &m->s[i];
        if (p->plan != PLAN_WELL || p->entry == ENTRY_VERIFY)
            continue;
        enum plan want = !have[PLAN_OLD]                    ? PLAN_OLD
                         : !have[PLAN_CONFIRM]              ? PLAN_CONFIRM
                         : !have[PLAN_SUSPECT]              ? PLAN_SUSPECT
                         : !have[PLAN_TRANSFER] && p->local ? PLAN_TRANSFER
                                                            : PLAN_WELL;
        p->plan = want;
        have[want]++;
    }
    /* entries, kinds, start ticks */
    for (long i = 0; i < m->n; i++) {
        struct subj *p = &m->s[i];
        if (p->entry != ENTRY_VERIFY)
            p->entry = p->plan == PLAN_OLD || i % 3 ? ENTRY_DIRECT : ENTRY_OBSERVE;
        unsigned kr = rng_below(&m->r, 10);
        p->kind = p->entry == ENTRY_OBSERVE  ? OBSERVE_HOME_OBSERVATION
                  : kr < 4                   ? OBSERVE_HOME_ISOLATION
                  : kr < 7                   ? OBSERVE_HOME_OBSERVATION
                  : p->entry == ENTRY_VERIFY ? OBSERVE_HOME_ISOLATION
                                             : OBSERVE_CENTRAL;
        bool ill = p->plan == PLAN_SUSPECT || p->plan == PLAN_CONFIRM || p->plan == PLAN_TRANSFER;
        /* the ill early enough for what follows (a suspected case is
         * confirmed two days after the first abnormal check) */
        int span = ill ? last - 30 : last * 2 / 3;
        p->start = p->plan == PLAN_OLD ? 0 : (int)rng_below(&m->r, (uint32_t)(span > 0 ? span : 1));
        p->sloppy = rng_pct(&m->r, 25);
        p->sick = -1;
        p->suspected = p->confirmed = -1;
        if (ill) {
            /* a self-check slot (08:00 or 20:00) a day or more after the start */
            int t = p->start + 6 + (int)rng_below(&m->r, 6);
            while (t < last && china_hour(m->t0 + (int64_t)t * TICK_MS) % 12 != 8)
                t++;
            p->sick = t < last ? t : -1;
        }
    }
    /* the extra reports: their fates and times */
    static const enum extra_fate fates[] = {EX_FALSE,    EX_PENDING,  EX_OVERDUE, EX_ACCEPTED,
                                            EX_FALSE,    EX_ABNORMAL, EX_PENDING, EX_DUPLICATE,
                                            EX_ACCEPTED, EX_OVERDUE,  EX_FALSE};
    for (int i = 0; i < m->nx; i++) {
        struct extra *x = &m->x[i];
        x->fate = fates[i % DEMO_N(fates)];
        x->unknown = i == 0 || i == 4;
        x->tick = x->fate == EX_PENDING || x->fate == EX_ACCEPTED
                      ? m->ticks - 1
                      : (int)rng_below(&m->r, (uint32_t)(m->ticks - 6 > 1 ? m->ticks - 6 : 1));
    }
    /* two reports in a grid without a grid worker account: they wait */
    got = e ? 0 : people_in(m, c0end, INT64_MAX, 0, 0, 2, 7, ids, regs, &e);
    for (long i = 0; i < got && m->nx < MAX_EXTRA; i++)
        m->x[m->nx++] = (struct extra){.person = ids[i],
                                       .region = regs[i],
                                       .fate = EX_ELSEWHERE,
                                       .tick = m->ticks - 1 - (int)i * 8};
    return e;
}

static err tick(struct sim *m, int t)
{
    clock_at(m, m->t0 + (int64_t)t * TICK_MS + 5 * MIN_MS);
    int h = china_hour(m->t);
    err e = E_OK;
    /* new people on the list (or reported, for a visit) */
    for (long i = 0; i < m->n && !e; i++) {
        struct subj *p = &m->s[i];
        if (p->start != t || p->obs || p->incident)
            continue;
        step(m);
        if (p->plan == PLAN_OLD) {
            /* on the list since before the week: the period ends in it */
            int64_t start = m->t - (int64_t)(9 + i % 4) * DAY_MS - (int64_t)(i % 7) * HOUR_MS;
            e = observe_direct(m, p, i, start);
            if (!e) /* the doctor's first visit */
                e = doctor_visit(m, p);
        } else {
            e = enter(m, p, i);
        }
        p->active = p->obs != 0;
    }
    for (long i = 0; i < m->n && !e; i++) { /* the visits of yesterday's reports */
        struct subj *p = &m->s[i];
        if (p->entry == ENTRY_VERIFY && p->task && !p->obs && t >= p->start + 2) {
            step(m);
            e = verify(m, p);
            p->active = p->obs != 0;
        }
    }
    for (int i = 0; i < m->nx && !e; i++) {
        struct extra *x = &m->x[i];
        step(m);
        if (x->tick == t) {
            e = extra_file(m, x, i);
            if (!e && x->fate != EX_DUPLICATE)
                e = extra_task(m, x);
            if (!e && x->fate == EX_ACCEPTED) { /* taken at once, the visit still to do */
                step(m);
                e = extra_work(m, x);
            }
        } else if (x->incident && t == x->tick + 1 && x->fate != EX_ACCEPTED) {
            e = extra_work(m, x);
        }
    }
    /* checks: the residents' own at 08:00 and 20:00, the doctors' rounds
     * at noon, the doctors' check tasks */
    for (long i = 0; i < m->n && !e; i++) {
        struct subj *p = &m->s[i];
        if (!p->active || p->hospital || !p->obs)
            continue;
        step(m);
        bool sick_now = p->sick == t;
        if (sick_now) {
            double temp = p->plan == PLAN_TRANSFER ? 38.7 : 37.6 + (double)(i % 4) / 10.0;
            e = self_check(m, p, temp, SYM_FEVER | SYM_COUGH);
        } else if (h % 12 == 8 && !(p->sloppy && rng_pct(&m->r, 60))) {
            e = self_check(m, p, normal_temp(m), 0);
        } else if (h == 12 && rng_pct(&m->r, 35)) {
            e = doctor_visit(m, p);
        }
        if (!e && p->sick >= 0 && t == p->sick + 1 && p->plan != PLAN_TRANSFER)
            e = doctor_task(m, p, true);
        else if (!e && !sick_now)
            e = doctor_task(m, p, false);
        /* the status: suspected after the recheck, confirmed a day later */
        if (!e && p->sick >= 0 && p->plan != PLAN_TRANSFER && t == p->sick + 2) {
            e = status(m, p, PERSON_SUSPECTED, 0, 0, "体温异常伴咳嗽，已采样送检");
            p->suspected = t;
        }
        if (!e && p->plan == PLAN_CONFIRM && p->suspected >= 0 && t == p->suspected + 6) {
            static const enum infection_route routes[] = {ROUTE_LOCAL, ROUTE_CLUSTER,
                                                          ROUTE_DOMESTIC_IMPORT, ROUTE_IMPORTED};
            e = status(m, p, PERSON_CONFIRMED, i % 3 ? SEVERITY_MILD : SEVERITY_SEVERE,
                       routes[i % 4], "核酸检测阳性，定点医院确诊");
            p->confirmed = t;
            p->active = false;
        }
    }
    /* the cured: every other confirmed case, two days after */
    for (long i = 0; i < m->n && !e; i++) {
        struct subj *p = &m->s[i];
        if (p->confirmed >= 0 && !p->cured && i % 2 == 0 && t == p->confirmed + 12) {
            step(m);
            e = status(m, p, PERSON_CURED, 0, 0, "连续两次核酸阴性，症状消失，出院");
            p->cured = true;
        }
    }
    if (!e)
        e = rule_tasks(m);
    if (!e) {
        step(m);
        e = sweeps(m);
    }
    arena_reset(m->a);
    return e;
}

static err principal(db *d, int64_t user_id, struct principal *p)
{
    if (!user_id)
        return err_set(E_INTERNAL, "demo_account", NULL, "演示账号缺失");
    return auth_principal_load(d, user_id, p);
}

err demo_case(db *d, const struct demo_world *w, uint64_t seed, long persons)
{
    /* the command's own: `fangkong demo` has no request */
    arena *plan_a = arena_new(1 << 20);
    /* the command's own: one tick's strings, reset after each */
    arena *tick_a = arena_new(1 << 20);
    if (!plan_a || !tick_a) {
        arena_free(&plan_a);
        arena_free(&tick_a);
        return E_NOMEM;
    }
    struct sim m = {.d = d, .a = plan_a, .w = w, .comm0 = w->communities[0]};
    m.grid1 = m.comm0 + 1000; /* the grid worker's grid (demo.c) */
    rng_seed(&m.r, seed ^ 0x636173657765656bull);
    clock_shift(0);
    int64_t real = now_ms();
    m.t0 = china_day_start(real) - DEMO_DAYS * DAY_MS;
    /* ticks up to two hours before now: the last hours stay as they are */
    m.ticks = (int)((real - 2 * HOUR_MS - m.t0) / TICK_MS) + 1;
    clock_at(&m, m.t0);
    err e = principal(d, w->command_user, &m.cmd);
    if (!e)
        e = principal(d, w->community_user, &m.community);
    if (!e)
        e = principal(d, w->doctor_user, &m.doctor);
    if (!e)
        e = principal(d, w->district_doctor_user, &m.district_doctor);
    if (!e)
        e = principal(d, w->grid_user, &m.grid);
    if (!e)
        e = principal(d, w->checkpoint_user, &m.checkpoint);
    if (!e)
        e = sites(&m);
    if (!e)
        e = plan_people(&m, persons);
    m.a = tick_a;
    for (int t = 0; t < m.ticks && !e; t++)
        e = tick(&m, t);
    /* and the sweeps once more now, as the server will on starting */
    clock_shift(0);
    m.t = now_ms();
    if (!e)
        e = sweeps(&m);
    if (e)
        log_event(LOG_ERROR, "demo_case_failed", "code", err_last()->slug, "message",
                  err_last()->message, "field", err_last()->field, NULL);
    arena_free(&tick_a);
    arena_free(&plan_a);
    return e;
}
