/*
 * Staff health clock-in (员工健康打卡, seed 003; enterprise.h): one per
 * employee and China day, tied to the health code (the colour is read and
 * recorded in the same transaction), abnormal ones alerted.
 */
#include "enterprise/enterprise.h"

#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/time.h"
#include "security/mask.h"

static const struct vocab_word symptoms[] = {
    {"cough", "干咳"},        {"fatigue", "乏力"},  {"sore_throat", "咽痛"},
    {"short_breath", "气促"}, {"diarrhea", "腹泻"}, {"taste_loss", "嗅味觉减退"},
};
const struct vocab clockin_symptom_vocab = VOCAB("clockin_symptoms", "症状", symptoms);
_Static_assert(sizeof symptoms / sizeof symptoms[0] == CLOCKIN_SYMPTOMS, "CLOCKIN_SYMPTOMS");

err clockin_create(db *d, arena *a, const struct enterprise *ent, const struct employee *emp,
                   double temperature, const char *syms, struct clockin *x)
{
    if (!(temperature >= CLOCKIN_TEMP_MIN && temperature <= CLOCKIN_TEMP_MAX))
        return err_set(E_INPUT, "out_of_range", "temperature", "体温应在%.1f到%.1f℃之间",
                       CLOCKIN_TEMP_MIN, CLOCKIN_TEMP_MAX);
    int64_t now = now_ms(), day = china_day(now);
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT 1 FROM enterprise_clockins WHERE employee_id = ? AND day = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, emp->id);
    db_bind_int64(s, 2, day);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    db_done(s);
    if (row)
        return err_set(E_CONFLICT, "already_clocked_in", NULL, "今天已经打过卡了");
    /* the colour now, not the one read with the employee row before the
     * transaction began */
    if ((e = db_prepare(d,
                        "SELECT COALESCE((SELECT colour FROM health_codes WHERE person_id = ?), "
                        "'green')",
                        &s)))
        return e;
    db_bind_int64(s, 1, emp->person_id);
    if ((e = db_row(s, &row)))
        return e;
    const char *colour = arena_strdup(a, row ? db_col_text(s, 0) : "green");
    db_done(s);
    bool fever = temperature >= CLOCKIN_FEVER, coloured = strcmp(colour, "green") != 0;
    memset(x, 0, sizeof *x);
    x->id = id_new();
    x->employee_id = emp->id;
    x->temperature = temperature;
    x->symptoms = syms ? syms : "";
    x->code_colour = colour;
    x->abnormal = fever || coloured;
    x->created_at = now;
    int64_t alert_id = 0;
    if (x->abnormal) {
        /* no personal data beyond a masked name in an alert's message */
        const char *who = emp->name ? mask_name(a, emp->name) : "";
        const char *why = fever && coloured
                              ? arena_printf(a, "体温%.1f℃，健康码非绿码", temperature)
                          : fever ? arena_printf(a, "体温%.1f℃", temperature)
                                  : "健康码非绿码";
        struct alert_new al = {
            .kind = ALERT_CLOCKIN_ABNORMAL,
            .level = ALERT_CRITICAL,
            .region_code = ent->region_code,
            .person_id = emp->person_id,
            .message = arena_printf(a, "%s员工%s健康打卡异常：%s", ent->name, who, why),
            .detail = arena_printf(
                a, "{\"temperature\":%.1f,\"code_colour\":\"%s\",\"enterprise_id\":\"%lld\"}",
                temperature, colour, (long long)ent->id),
            .at = now,
        };
        if ((e = alert_raise(d, &al, &alert_id)))
            return e;
    }
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_clockins (id, enterprise_id, region_code, "
                        "employee_id, person_id, day, temperature, symptoms, code_colour, "
                        "abnormal, alert_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, x->id);
    db_bind_int64(s, 2, ent->id);
    db_bind_int64(s, 3, ent->region_code);
    db_bind_int64(s, 4, emp->id);
    db_bind_int64(s, 5, emp->person_id);
    db_bind_int64(s, 6, day);
    db_bind_double(s, 7, temperature);
    db_bind_text(s, 8, x->symptoms);
    db_bind_text(s, 9, colour);
    db_bind_int64(s, 10, x->abnormal);
    db_bind_int64(s, 11, alert_id);
    db_bind_int64(s, 12, now);
    /* the unique index settles two clock-ins racing: the second is refused */
    e = db_run(s, NULL);
    return e == E_CONFLICT ? err_set(E_CONFLICT, "already_clocked_in", NULL, "今天已经打过卡了")
                           : e;
}

err clockin_of(db *d, arena *a, int64_t employee_id, int64_t day, struct clockin *x)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, temperature, symptoms, code_colour, abnormal, created_at FROM "
                       "enterprise_clockins WHERE employee_id = ? AND day = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, employee_id);
    db_bind_int64(s, 2, day);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    if (!row) {
        db_done(s);
        return err_set(E_NOT_FOUND, "not_found", NULL, "今天还没有打卡");
    }
    *x = (struct clockin){
        .id = db_col_int64(s, 0),
        .employee_id = employee_id,
        .temperature = db_col_double(s, 1),
        .symptoms = arena_strdup(a, db_col_text(s, 2)),
        .code_colour = arena_strdup(a, db_col_text(s, 3)),
        .abnormal = db_col_int64(s, 4) != 0,
        .created_at = db_col_int64(s, 5),
    };
    db_done(s);
    return E_OK;
}

err clockin_day(db *d, arena *a, int64_t enterprise_id, int64_t day, struct clockin_row **rows_r,
                size_t *n_r)
{
    struct employee *emps;
    size_t n;
    int64_t total;
    struct employee_filter f = {0};
    err e = employee_list(d, a, enterprise_id, &f, &emps, &n, &total);
    if (e)
        return e;
    struct clockin_row *rows = arena_zalloc(a, (n ? n : 1) * sizeof *rows);
    if (!rows)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    /* a past day lists the employees already hired by its end */
    int64_t day_end = (day + 1) * DAY_MS - CHINA_OFFSET_MS;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (emps[i].created_at < day_end)
            rows[k++].emp = emps[i];
    n = k;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id, employee_id, temperature, symptoms, code_colour, abnormal, "
                        "created_at FROM enterprise_clockins WHERE enterprise_id = ? AND day = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, enterprise_id);
    db_bind_int64(s, 2, day);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t emp_id = db_col_int64(s, 1);
        for (size_t i = 0; i < n; i++)
            if (rows[i].emp.id == emp_id) {
                struct clockin *c = &rows[i].ci;
                c->id = db_col_int64(s, 0);
                c->employee_id = emp_id;
                c->temperature = db_col_double(s, 2);
                c->symptoms = arena_strdup(a, db_col_text(s, 3));
                c->code_colour = arena_strdup(a, db_col_text(s, 4));
                c->abnormal = db_col_int64(s, 5) != 0;
                c->created_at = db_col_int64(s, 6);
            }
    }
    db_done(s);
    if (e)
        return e;
    *rows_r = rows;
    *n_r = n;
    return E_OK;
}
