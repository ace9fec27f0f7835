/*
 * Returning-staff declarations (返岗申报, seed 001 §4.1.5; enterprise.h):
 * the form's checks, the flags, and the SQL. The person's name, gender and
 * id number are the registry's (read through the employee row); what the
 * form adds that is personal (the checked phone, where the person has been)
 * is sealed here.
 */
#include "enterprise/enterprise.h"

#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/validate.h"
#include "code/code.h"
#include "db/fields.h"
#include "db/query.h"
#include "security/crypto.h"

#define L_PHONE  "enterprise_declarations.phone"
#define L_TRAVEL "enterprise_declarations.travel"

static const struct vocab_word transports[] = {
    {"car", "自驾"}, {"train", "火车"}, {"plane", "飞机"},
    {"bus", "客车"}, {"ship", "轮船"},  {"other", "其他"},
};
const struct vocab decl_transport_vocab = VOCAB("transport_kinds", "交通方式", transports);

/* "YYYY-MM-DD" exactly, as yyyymmdd; 0 otherwise. */
static int32_t ymd_of(const char *s)
{
    int64_t day, ms;
    if (!s || !china_date_day(s, &day) || !china_time_parse(s, &ms))
        return 0;
    return china_date(ms);
}

static err check_travel(arena *a, json_t *arr, const char **json_r)
{
    if (!arr || json_is_null(arr)) {
        *json_r = "[]";
        return E_OK;
    }
    if (json_array_size(arr) > DECL_TRAVEL_MAX)
        return err_set(E_INPUT, "too_many", "travel", "旅居史最多填写%d条", DECL_TRAVEL_MAX);
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *f = arena_printf(a, "travel[%zu]", i);
        if (!json_is_object(v)) {
            json_decref(out);
            return err_set(E_INPUT, "invalid_type", f, "旅居史每条应包含地点和起止日期");
        }
        const char *place = field_trim(a, json_str(v, "place"));
        const char *from = json_str(v, "from"), *to = json_str(v, "to");
        err e = check_text(place, arena_printf(a, "%s.place", f), "旅居地点", DECL_PLACE_MAX,
                           TEXT_REQUIRED | TEXT_ONE_LINE);
        int32_t df = ymd_of(from), dt = ymd_of(to);
        if (!e && !df)
            e = err_set(E_INPUT, "invalid_date", arena_printf(a, "%s.from", f),
                        "请填写到达日期（年-月-日）");
        if (!e && !dt)
            e = err_set(E_INPUT, "invalid_date", arena_printf(a, "%s.to", f),
                        "请填写离开日期（年-月-日）");
        if (!e && dt < df)
            e = err_set(E_INPUT, "invalid_date", arena_printf(a, "%s.to", f),
                        "离开日期不能早于到达日期");
        if (e) {
            json_decref(out);
            return e;
        }
        json_array_append_new(out,
                              json_pack("{s:s,s:s,s:s}", "place", place, "from", from, "to", to));
    }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!text)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    *json_r = arena_strdup(a, text);
    free(text);
    return E_OK;
}

err decl_parse(arena *a, json_t *body, struct declaration *x)
{
    memset(x, 0, sizeof *x);
    err e;
    if ((e = check_travel(a, json_object_get(body, "travel"), &x->travel)))
        return e;
    x->native_place = field_trim(a, json_str(body, "native_place"));
    if ((e = check_text(x->native_place, "native_place", "籍贯", DECL_TEXT_MAX, TEXT_ONE_LINE)))
        return e;
    if (!(x->return_date = ymd_of(json_str(body, "return_date"))))
        return err_set(E_INPUT, "invalid_date", "return_date", "请填写计划返岗日期（年-月-日）");
    x->transport_kind = json_str(body, "transport_kind");
    if (vocab_parse(&decl_transport_vocab, x->transport_kind) < 0)
        return err_set(E_INPUT, "invalid_value", "transport_kind", "请选择交通方式");
    x->transport_no = field_trim(a, json_str(body, "transport_no"));
    if ((e = check_text(x->transport_no, "transport_no", "车次/航班/车牌号", DECL_TRANSPORT_NO,
                        TEXT_ONE_LINE)))
        return e;
    x->school = field_trim(a, json_str(body, "school"));
    x->grade = field_trim(a, json_str(body, "grade"));
    x->class_name = field_trim(a, json_str(body, "class"));
    if ((e = check_text(x->school, "school", "学校", DECL_TEXT_MAX, TEXT_ONE_LINE)) ||
        (e = check_text(x->grade, "grade", "年级", DECL_TEXT_MAX, TEXT_ONE_LINE)) ||
        (e = check_text(x->class_name, "class", "班级", DECL_TEXT_MAX, TEXT_ONE_LINE)))
        return e;
    if ((!x->school || !*x->school) &&
        ((x->grade && *x->grade) || (x->class_name && *x->class_name)))
        return err_set(E_INPUT, "required", "school", "填写年级、班级时请填写学校");
    return E_OK;
}

/* Does a travel place name a risk area in force now? Area names and places
 * are free text: either containing the other is a match ("北京市朝阳区"
 * names the area "朝阳区"; "朝阳区某街道" the area "朝阳区某街道某小区"
 * does not, so both directions). */
static err travel_in_risk_area(db *d, arena *a, const char *travel_json, bool *hit_r)
{
    *hit_r = false;
    json_t *areas;
    int64_t total;
    err e =
        code_risk_areas(d, a, &(struct code_risk_filter){.active_at = now_ms()}, &areas, &total);
    if (e)
        return e;
    json_t *travel = json_loads(travel_json, 0, NULL);
    size_t i, j;
    json_t *t, *ar;
    json_array_foreach(travel, i, t)
    {
        const char *place = json_str(t, "place");
        json_array_foreach(areas, j, ar)
        {
            const char *name = json_str(ar, "name");
            if (place && name && *name && (strstr(place, name) || strstr(name, place)))
                *hit_r = true;
        }
    }
    json_decref(travel);
    json_decref(areas);
    return E_OK;
}

err decl_create(db *d, arena *a, int64_t by, const struct enterprise *ent,
                const struct employee *emp, struct declaration *x, int64_t *id_r)
{
    bool risk;
    err e = travel_in_risk_area(d, a, x->travel, &risk);
    if (e)
        return e;
    bool colour = strcmp(emp->code_colour, "green") != 0;
    x->code_colour = emp->code_colour;
    x->flag_reasons = risk && colour ? "risk_area,code_colour"
                      : risk         ? "risk_area"
                      : colour       ? "code_colour"
                                     : "";
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_declarations (id, enterprise_id, region_code, "
                        "employee_id, person_id, phone_enc, travel_enc, native_place, "
                        "return_date, transport_kind, transport_no, school, grade, class_name, "
                        "code_colour, flag_reasons, created_by, created_at) VALUES (?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, ent->id);
    db_bind_int64(s, 3, ent->region_code);
    db_bind_int64(s, 4, emp->id);
    db_bind_int64(s, 5, emp->person_id);
    if ((e = seal_bind(a, s, 6, L_PHONE, x->phone)) ||
        (e = seal_bind(a, s, 7, L_TRAVEL, x->travel))) {
        db_done(s);
        return e;
    }
    db_bind_text(s, 8, x->native_place ? x->native_place : "");
    db_bind_int64(s, 9, x->return_date);
    db_bind_text(s, 10, x->transport_kind);
    db_bind_text(s, 11, x->transport_no ? x->transport_no : "");
    db_bind_text(s, 12, x->school ? x->school : "");
    db_bind_text(s, 13, x->grade ? x->grade : "");
    db_bind_text(s, 14, x->class_name ? x->class_name : "");
    db_bind_text(s, 15, x->code_colour);
    db_bind_text(s, 16, x->flag_reasons);
    db_bind_int64(s, 17, by);
    db_bind_int64(s, 18, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    x->id = *id_r = id;
    return E_OK;
}

#define DECL_SELECT                                                                                \
    "SELECT dc.id, dc.enterprise_id, dc.employee_id, dc.person_id, p.name_enc, p.id_number_enc, "  \
    "dc.phone_enc, dc.travel_enc, dc.native_place, dc.return_date, dc.transport_kind, "            \
    "dc.transport_no, dc.school, dc.grade, dc.class_name, dc.code_colour, dc.flag_reasons, "       \
    "dc.created_at, en.name FROM enterprise_declarations dc JOIN persons p ON p.id = "             \
    "dc.person_id "                                                                                \
    "JOIN enterprises en ON en.id = dc.enterprise_id "

static err decl_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct declaration *x = item;
    x->id = db_col_int64(s, 0);
    x->enterprise_id = db_col_int64(s, 1);
    x->employee_id = db_col_int64(s, 2);
    x->person_id = db_col_int64(s, 3);
    err e;
    if ((e = unseal_col(a, s, 4, "persons.name", &x->name)) ||
        (e = unseal_col(a, s, 5, "persons.id_number", &x->id_number)) ||
        (e = unseal_col(a, s, 6, L_PHONE, &x->phone)) ||
        (e = unseal_col(a, s, 7, L_TRAVEL, &x->travel)))
        return e;
    x->native_place = arena_strdup(a, db_col_text(s, 8));
    x->return_date = (int32_t)db_col_int64(s, 9);
    x->transport_kind = arena_strdup(a, db_col_text(s, 10));
    x->transport_no = arena_strdup(a, db_col_text(s, 11));
    x->school = arena_strdup(a, db_col_text(s, 12));
    x->grade = arena_strdup(a, db_col_text(s, 13));
    x->class_name = arena_strdup(a, db_col_text(s, 14));
    x->code_colour = arena_strdup(a, db_col_text(s, 15));
    x->flag_reasons = arena_strdup(a, db_col_text(s, 16));
    x->created_at = db_col_int64(s, 17);
    x->enterprise_name = arena_strdup(a, db_col_text(s, 18));
    return E_OK;
}

err decl_list(db *d, arena *a, const struct scope *sc, const struct decl_filter *f,
              struct declaration **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    if (!w)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE dc.region_code >= ? AND dc.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->enterprise_id) {
        query_sql(w, " AND dc.enterprise_id = ?");
        query_int(w, f->enterprise_id);
    }
    if (f->id) {
        query_sql(w, " AND dc.id = ?");
        query_int(w, f->id);
    }
    if (f->flagged == DECL_FLAGGED)
        query_sql(w, " AND dc.flag_reasons <> ''");
    else if (f->flagged == DECL_UNFLAGGED)
        query_sql(w, " AND dc.flag_reasons = ''");
    void *items;
    err e =
        query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM enterprise_declarations dc",
                                        .select = DECL_SELECT,
                                        .order = " ORDER BY dc.id DESC",
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = EMPLOYEE_LIST_MAX,
                                        .size = sizeof(struct declaration),
                                        .read = decl_read},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}
