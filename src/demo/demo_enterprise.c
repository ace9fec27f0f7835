/*
 * Enterprises resuming work in the demo district (docs/enterprise.md), so
 * 复工复产监测 and the enterprise account have figures after `make run`:
 * the demo `enterprise` account bound to the first enterprise of its
 * community; employees who are demo persons of the registry at it and at
 * one enterprise of the next street; three shifts covering the whole day
 * and today's roster; today's clock-ins (one with a fever, so abnormal,
 * one employee not yet clocked in); returning-staff declarations (one
 * naming a risk area, so flagged); resume-work applications in three
 * streets: approved, submitted (pending) and returned. Everything goes
 * through the capability (enterprise/enterprise.h), as the API would.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "enterprise/enterprise.h"
#include "person/person.h"
#include "place/place.h"

#define DEMO_EMPLOYEES  8 /* at the enterprise account's enterprise */
#define OTHER_EMPLOYEES 3 /* at the next street's */

static err tx(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* The first enterprise (by credit code) whose region is inside `region`; 0 none. */
static err enterprise_in(db *d, int64_t region, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM enterprises WHERE region_code >= ? AND region_code < ? "
                       "AND deleted_at = 0 ORDER BY credit_code LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, region);
    db_bind_int64(s, 2, regcode_end(region));
    bool row = false;
    *id_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* Up to n live persons of `region` with a resident id, oldest records first. */
static err persons_in(db *d, int64_t region, int64_t *ids, int n, int *got_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM persons WHERE region_code >= ? AND region_code < ? AND "
                       "deleted_at = 0 AND id_type = ? ORDER BY id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, region);
    db_bind_int64(s, 2, regcode_end(region));
    db_bind_int64(s, 3, ID_RESIDENT);
    db_bind_int64(s, 4, n);
    int k = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        ids[k++] = db_col_int64(s, 0);
    db_done(s);
    *got_r = k;
    return e;
}

/* Demo persons of `region` become employees of ent (departments in turn);
 * ids_r[i] the employee ids, *n_r how many. */
static err hire(db *d, arena *a, const struct principal *who, const struct enterprise *ent,
                int64_t region, int n, int64_t *ids_r, int *n_r)
{
    static const char *const depts[] = {"生产部", "行政部", "销售部"};
    static const char *const posts[] = {"操作员", "专员", "经理"};
    int64_t pids[DEMO_EMPLOYEES];
    int got = 0;
    struct scope all = scope_all();
    err e = persons_in(d, region, pids, n, &got);
    *n_r = 0;
    for (int i = 0; !e && i < got; i++) {
        struct person p;
        if ((e = person_find(d, a, &all, pids[i], &p)))
            break;
        struct employee_input in = {.id_number = p.id_number,
                                    .name = p.name,
                                    .department = depts[i % 3],
                                    .post = posts[i % 3]};
        if (!(e = db_begin(d)))
            e = tx(d, employee_add(d, a, who, ent, &in, &ids_r[*n_r]));
        if (!e)
            (*n_r)++;
    }
    return e;
}

/* Employee id of ent clocks in today; fever: 38.2 ℃ and a dry cough. */
static err clock_in(db *d, arena *a, const struct enterprise *ent, int64_t id, bool fever)
{
    struct employee emp;
    struct clockin c;
    err e = employee_find(d, a, ent->id, id, &emp);
    if (!e && !(e = db_begin(d)))
        e = tx(d, clockin_create(d, a, ent, &emp, fever ? 38.2 : 36.5, fever ? "cough" : "", &c));
    return e;
}

/* A returning-staff declaration of employee id, through decl_parse as the
 * API's body would be; `place` is where they travelled from. */
static err declare(db *d, arena *a, const struct enterprise *ent, int64_t id, int64_t by,
                   const char *place, long k)
{
    struct employee emp;
    err e = employee_find(d, a, ent->id, id, &emp);
    if (e)
        return e;
    int64_t now = now_ms();
    /* China dates "YYYY-MM-DD": the first ten characters of a China time */
    char from[CHINA_TIME_LEN], to[CHINA_TIME_LEN], back[CHINA_TIME_LEN], phone[24];
    china_time(now - 10 * DAY_MS, from);
    china_time(now - 3 * DAY_MS, to);
    china_time(now - (k % 2) * DAY_MS, back);
    from[10] = to[10] = back[10] = '\0';
    snprintf(phone, sizeof phone, "1380013%04ld", 8100 + k); /* k < 100 */
    json_t *body = json_pack("{s:[{s:s,s:s,s:s}],s:s,s:s,s:s,s:s}", "travel", "place", place,
                             "from", from, "to", to, "native_place", "湖南省长沙市", "return_date",
                             back, "transport_kind", "train", "transport_no", "G6011");
    if (!body)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct declaration x = {0};
    int64_t did;
    e = decl_parse(a, body, &x);
    if (!e) {
        x.phone = phone;
        if (!(e = db_begin(d)))
            e = tx(d, decl_create(d, a, by, ent, &emp, &x, &did));
    }
    json_decref(body);
    return e;
}

/* ent applies to resume work; then approved, returned or left pending. */
static err apply(db *d, const struct enterprise *ent, int64_t by, int64_t reviewer, int64_t staff,
                 const char *outcome)
{
    struct scope all = scope_all();
    int64_t id, eid;
    err e = db_begin(d);
    if (!e)
        e = tx(d, app_submit(d, by, ent,
                             "一、员工返岗前14天健康监测与返岗申报；二、每日健康打卡与体温检测；"
                             "三、办公场所每日两次消毒、通风；四、设置临时隔离观察室；"
                             "五、口罩、消毒液等防疫物资储备两周用量。",
                             staff, china_today(), &id));
    if (e || !strcmp(outcome, "submitted"))
        return e;
    bool approve = !strcmp(outcome, "approved");
    if (!(e = db_begin(d)))
        e = tx(d, app_review(d, &all, reviewer, id, approve,
                             approve ? NULL : "防疫物资储备清单未附，请补充后重新提交", &eid));
    return e;
}

err demo_enterprise(db *d, const struct demo_world *w, uint64_t seed)
{
    (void)seed;
    struct scope all = scope_all();
    /* a private arena: demo steps get none from their caller (demo_video's way) */
    arena *a = arena_new(1 << 16);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    /* staff act for the enterprise as the API's street account would */
    struct principal street = {.user_id = w->street_user, .scope = all};
    struct enterprise ent0 = {0}, ent1 = {0}, ent2 = {0};
    int64_t id0 = 0, id1 = 0, id2 = 0;
    err e = enterprise_in(d, w->communities[0], &id0);
    /* the next two streets' first enterprises (none in a tiny district) */
    if (!e && w->nstreets > 1)
        e = enterprise_in(d, w->streets[1], &id1);
    if (!e && w->nstreets > 2)
        e = enterprise_in(d, w->streets[2], &id2);
    if (!e && !id0)
        e = err_set(E_NOT_FOUND, NULL, NULL, "演示社区没有企业");
    if (!e)
        e = enterprise_find(d, a, &all, id0, &ent0);
    if (!e && id1)
        e = enterprise_find(d, a, &all, id1, &ent1);
    if (!e && id2)
        e = enterprise_find(d, a, &all, id2, &ent2);
    /* the demo `enterprise` account acts for the first */
    if (!e && !(e = db_begin(d)))
        e = tx(d, ent_account_bind(d, a, &all, w->command_user, w->enterprise_user, id0));
    int64_t emp[DEMO_EMPLOYEES], emp1[OTHER_EMPLOYEES];
    int n = 0, n1 = 0;
    if (!e)
        e = hire(d, a, &street, &ent0, w->communities[0], DEMO_EMPLOYEES, emp, &n);
    if (!e && id1)
        e = hire(d, a, &street, &ent1, ent1.region_code, OTHER_EMPLOYEES, emp1, &n1);
    /* shifts covering the whole day, so someone is on shift whenever the
     * demo runs: 早班 07:00-15:00, 中班 15:00-23:00, 夜班 23:00-07:00 */
    static const struct {
        const char *name;
        int32_t start, end;
    } shifts[] = {{"早班", 7 * 60, 15 * 60}, {"中班", 15 * 60, 23 * 60}, {"夜班", 23 * 60, 7 * 60}};
    int64_t sh[3] = {0};
    for (int i = 0; !e && i < 3; i++)
        if (!(e = db_begin(d)))
            e = tx(d, shift_create(d, w->enterprise_user, id0, shifts[i].name, shifts[i].start,
                                   shifts[i].end, &sh[i]));
    /* today's roster: the last employee has the day off */
    int64_t today = china_day(now_ms());
    for (int i = 0; !e && i + 1 < n; i++) {
        int64_t one[1] = {emp[i]};
        if (!(e = db_begin(d)))
            e = tx(d, roster_assign(d, a, w->enterprise_user, id0, today, sh[i % 3], one, 1));
    }
    /* today's clock-ins: the second has a fever; the last has not yet */
    for (int i = 0; !e && i + 1 < n; i++)
        e = clock_in(d, a, &ent0, emp[i], i == 1);
    for (int i = 0; !e && i + 1 < n1; i++)
        e = clock_in(d, a, &ent1, emp1[i], false);
    /* declarations: the third travelled from a medium-risk area (flagged) */
    for (int i = 0; !e && i < n && i < 4; i++)
        e = declare(d, a, &ent0, emp[i], w->enterprise_user,
                    i == 2 ? "广东省广州市番禺区大石街道" : "湖南省长沙市岳麓区", i);
    for (int i = 0; !e && i < n1; i++)
        e = declare(d, a, &ent1, emp1[i], w->street_user, "江西省赣州市章贡区", 10 + i);
    /* resume-work applications in three streets */
    if (!e)
        e = apply(d, &ent0, w->enterprise_user, w->street_user, n, "approved");
    if (!e && id1)
        e = apply(d, &ent1, w->street_user, w->street_user, n1, "submitted");
    if (!e && id2)
        e = apply(d, &ent2, w->street_user, w->street_user, 20, "returned");
    arena_free(&a);
    return e;
}
