/*
 * Shifts (排班), rosters per day and the enterprise pass's conditions
 * (通行证, seed 003; enterprise.h): a pass is valid while its holder is on a
 * rostered shift (from PASS_EARLY_MS before its start to its end), clocked
 * in green that day, and green now. The token itself is security/token.h's
 * (TOKEN_STAFF_PASS); this file decides when one may be issued or honoured.
 */
#include "enterprise/enterprise.h"

#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"

int32_t shift_minutes(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

err shift_create(db *d, int64_t by, int64_t enterprise_id, const char *name, int32_t start_min,
                 int32_t end_min, int64_t *id_r)
{
    if (!name || !*name)
        return err_set(E_INPUT, "required", "name", "请填写班次名称");
    if (utf8_len(name) > SHIFT_NAME_MAX)
        return err_set(E_INPUT, "too_long", "name", "班次名称不能超过%d个字", SHIFT_NAME_MAX);
    if (start_min < 0 || start_min >= MINUTES_PER_DAY)
        return err_set(E_INPUT, "invalid_value", "start", "开始时间格式应为 HH:MM");
    if (end_min < 0 || end_min >= MINUTES_PER_DAY || end_min == start_min)
        return err_set(E_INPUT, "invalid_value", "end",
                       "结束时间格式应为 HH:MM，且不能等于开始时间");
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*), SUM(CASE WHEN name = ? THEN 1 ELSE 0 END) FROM "
                       "enterprise_shifts WHERE enterprise_id = ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, enterprise_id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    int64_t count = row ? db_col_int64(s, 0) : 0, same = row ? db_col_int64(s, 1) : 0;
    db_done(s);
    if (same)
        return err_set(E_CONFLICT, "duplicate_shift", "name", "已有同名班次");
    if (count >= SHIFTS_MAX)
        return err_set(E_INPUT, "too_many", "name", "班次不能超过%d个", SHIFTS_MAX);
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_shifts (id, enterprise_id, name, start_min, "
                        "end_min, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    *id_r = id_new();
    db_bind_int64(s, 1, *id_r);
    db_bind_int64(s, 2, enterprise_id);
    db_bind_text(s, 3, name);
    db_bind_int64(s, 4, start_min);
    db_bind_int64(s, 5, end_min);
    db_bind_int64(s, 6, by);
    db_bind_int64(s, 7, now_ms());
    e = db_run(s, NULL);
    /* the unique index settles two adds racing */
    return e == E_CONFLICT ? err_set(E_CONFLICT, "duplicate_shift", "name", "已有同名班次") : e;
}

err shift_remove(db *d, int64_t enterprise_id, int64_t id, int64_t today)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE enterprise_shifts SET deleted_at = ? WHERE id = ? AND "
                       "enterprise_id = ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, enterprise_id);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, "not_found", NULL, "班次不存在");
    /* the days already worked stay as they were */
    if ((e = db_prepare(d, "DELETE FROM enterprise_rosters WHERE shift_id = ? AND day >= ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, today);
    return db_run(s, NULL);
}

static void shift_row(db_stmt *s, int c, arena *a, struct shift *x)
{
    x->id = db_col_int64(s, c);
    x->enterprise_id = db_col_int64(s, c + 1);
    x->name = arena_strdup(a, db_col_text(s, c + 2));
    x->start_min = (int32_t)db_col_int64(s, c + 3);
    x->end_min = (int32_t)db_col_int64(s, c + 4);
    x->created_at = db_col_int64(s, c + 5);
}

#define SHIFT_COLS "h.id, h.enterprise_id, h.name, h.start_min, h.end_min, h.created_at"

err shift_list(db *d, arena *a, int64_t enterprise_id, struct shift **items_r, size_t *n_r)
{
    struct shift *v = arena_zalloc(a, SHIFTS_MAX * sizeof *v);
    if (!v)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " SHIFT_COLS " FROM enterprise_shifts h WHERE h.enterprise_id = ? "
                       "AND h.deleted_at = 0 ORDER BY h.start_min, h.name",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, enterprise_id);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < SHIFTS_MAX)
        shift_row(s, 0, a, &v[n++]);
    db_done(s);
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    return E_OK;
}

err roster_assign(db *d, arena *a, int64_t by, int64_t enterprise_id, int64_t day, int64_t shift_id,
                  const int64_t *ids, size_t n)
{
    db_stmt *s;
    err e;
    bool row;
    if (shift_id) {
        if ((e = db_prepare(d,
                            "SELECT 1 FROM enterprise_shifts WHERE id = ? AND enterprise_id = ? "
                            "AND deleted_at = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, shift_id);
        db_bind_int64(s, 2, enterprise_id);
        if ((e = db_row(s, &row)))
            return e;
        db_done(s);
        if (!row)
            return err_set(E_NOT_FOUND, "shift_not_found", "shift_id", "班次不存在");
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        if ((e = db_prepare(d,
                            "SELECT 1 FROM enterprise_employees WHERE id = ? AND enterprise_id = ? "
                            "AND deleted_at = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, ids[i]);
        db_bind_int64(s, 2, enterprise_id);
        if ((e = db_row(s, &row)))
            return e;
        db_done(s);
        if (!row)
            return err_set(E_INPUT, "not_employee", arena_printf(a, "employee_ids[%zu]", i),
                           "员工不存在或已离职");
        if ((e = db_prepare(d, "DELETE FROM enterprise_rosters WHERE employee_id = ? AND day = ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, ids[i]);
        db_bind_int64(s, 2, day);
        if ((e = db_run(s, NULL)))
            return e;
        if (!shift_id)
            continue;
        if ((e = db_prepare(d,
                            "INSERT INTO enterprise_rosters (id, enterprise_id, employee_id, "
                            "shift_id, day, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, enterprise_id);
        db_bind_int64(s, 3, ids[i]);
        db_bind_int64(s, 4, shift_id);
        db_bind_int64(s, 5, day);
        db_bind_int64(s, 6, by);
        db_bind_int64(s, 7, now);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

err roster_day(db *d, arena *a, int64_t enterprise_id, int64_t day, struct roster_row **rows_r,
               size_t *n_r)
{
    struct employee *emps;
    size_t n;
    int64_t total;
    struct employee_filter f = {0};
    err e = employee_list(d, a, enterprise_id, &f, &emps, &n, &total);
    if (e)
        return e;
    struct roster_row *rows = arena_zalloc(a, (n ? n : 1) * sizeof *rows);
    if (!rows)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    for (size_t i = 0; i < n; i++)
        rows[i].emp = emps[i];
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT r.employee_id, " SHIFT_COLS " FROM enterprise_rosters r JOIN "
                        "enterprise_shifts h ON h.id = r.shift_id WHERE r.enterprise_id = ? AND "
                        "r.day = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, enterprise_id);
    db_bind_int64(s, 2, day);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t emp_id = db_col_int64(s, 0);
        for (size_t i = 0; i < n; i++)
            if (rows[i].emp.id == emp_id)
                shift_row(s, 1, a, &rows[i].shift);
    }
    db_done(s);
    if (e)
        return e;
    *rows_r = rows;
    *n_r = n;
    return E_OK;
}

/* The shift of employee_id rostered on `day`; false when none. */
static err rostered(db *d, arena *a, int64_t employee_id, int64_t day, struct shift *x,
                    bool *found_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " SHIFT_COLS " FROM enterprise_rosters r JOIN enterprise_shifts h "
                       "ON h.id = r.shift_id WHERE r.employee_id = ? AND r.day = ? AND "
                       "h.deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, employee_id);
    db_bind_int64(s, 2, day);
    if ((e = db_row(s, found_r)))
        return e;
    if (*found_r)
        shift_row(s, 0, a, x);
    db_done(s);
    return E_OK;
}

err pass_check(db *d, arena *a, const struct employee *emp, int64_t now, struct pass_check *c)
{
    int64_t today = china_day(now), midnight = china_day_start(now);
    bool any = false;
    memset(c, 0, sizeof *c);
    /* today's shift, or yesterday's when it runs past midnight into now */
    for (int back = 0; back < 2 && !c->day; back++) {
        struct shift sh;
        bool found;
        err e = rostered(d, a, emp->id, today - back, &sh, &found);
        if (e)
            return e;
        if (!found)
            continue;
        any = any || back == 0;
        int64_t start = midnight - back * DAY_MS + sh.start_min * 60000LL;
        int64_t end = midnight - back * DAY_MS + sh.end_min * 60000LL;
        if (sh.end_min <= sh.start_min)
            end += DAY_MS;
        if (now >= start - PASS_EARLY_MS && now < end) {
            c->shift = sh;
            c->day = today - back;
            c->opens_at = start - PASS_EARLY_MS;
            c->closes_at = end;
        }
    }
    if (!c->day)
        return any ? err_set(E_CONFLICT, "off_shift_hours", NULL, "不在当班时间内")
                   : err_set(E_CONFLICT, "not_on_shift", NULL, "今天没有排班");
    struct clockin ci;
    err e = clockin_of(d, a, emp->id, c->day, &ci);
    if (e == E_NOT_FOUND)
        return err_set(E_CONFLICT, "pass_not_clocked_in", NULL, "当天尚未健康打卡");
    if (e)
        return e;
    if (ci.abnormal)
        return err_set(E_CONFLICT, "clockin_abnormal", NULL, "当天健康打卡异常");
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COALESCE((SELECT colour FROM health_codes WHERE person_id = ?), "
                        "'green')",
                        &s)))
        return e;
    db_bind_int64(s, 1, emp->person_id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    c->code_colour = arena_strdup(a, row ? db_col_text(s, 0) : "green");
    db_done(s);
    if (strcmp(c->code_colour, "green"))
        return err_set(E_CONFLICT, "code_not_green", NULL, "健康码非绿码");
    return E_OK;
}
