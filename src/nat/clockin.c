/*
 * Clock-ins of site staff (打卡, nat.h): one row per shift, the site's
 * on-duty count kept with it in the same transaction (the unattended flag
 * and the site list read that count, never a scan of clock-ins).
 *
 * A position far from the site is a warning recorded on the row, never a
 * refusal: phones in a tent read their position badly, and a refused
 * clock-in would leave the site looking unattended.
 */
#include <math.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "db/query.h"
#include "nat/internal.h"

static int radius_m = NAT_RADIUS_DEFAULT;

void nat_set_clockin_radius(int metres)
{
    radius_m = metres;
}

int nat_clockin_radius(void)
{
    return radius_m;
}

double nat_distance_m(double lng1, double lat1, double lng2, double lat2)
{
    const double r = 6371008.8, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlng = (lng2 - lng1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlng / 2) * sin(dlng / 2);
    return 2 * r * asin(fmin(1.0, sqrt(h)));
}

/* The distance of a phone's position from the site's, -1 when either is
 * unknown. */
static int64_t distance_of(double site_lng, double site_lat, double lng, double lat)
{
    if (isnan(site_lng) || isnan(site_lat) || isnan(lng) || isnan(lat))
        return -1;
    return (int64_t)llround(nat_distance_m(site_lng, site_lat, lng, lat));
}

static void bind_real(db_stmt *s, int i, double v)
{
    if (isnan(v))
        db_bind_null(s, i);
    else
        db_bind_double(s, i, v);
}

static err check_position(double lng, double lat)
{
    if (isnan(lng) != isnan(lat))
        return err_set(E_INPUT, "required", isnan(lng) ? "lng" : "lat", "经度和纬度应同时提供");
    if (!isnan(lng) && !(isfinite(lng) && lng >= -180 && lng <= 180))
        return err_set(E_INPUT, "out_of_range", "lng", "经度应在-180到180之间");
    if (!isnan(lat) && !(isfinite(lat) && lat >= -90 && lat <= 90))
        return err_set(E_INPUT, "out_of_range", "lat", "纬度应在-90到90之间");
    return E_OK;
}

err nat_clock_in(db *d, const struct scope *scope, int64_t site_id, int64_t user_id, double lng,
                 double lat, int64_t *id_r)
{
    return nat_clock_in_from(d, scope, site_id, user_id, lng, lat, 0, false, id_r);
}

err nat_clock_out(db *d, int64_t user_id, double lng, double lat, int64_t *id_r)
{
    return nat_clock_out_from(d, user_id, lng, lat, 0, id_r);
}

err nat_clock_in_from(db *d, const struct scope *scope, int64_t site_id, int64_t user_id,
                      double lng, double lat, int64_t at, bool ingest, int64_t *id_r)
{
    err e = check_position(lng, lat);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT state, lng, lat, region_code FROM nat_sites WHERE id = ? AND "
                        "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, site_id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e ? e : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    bool closed = !strcmp(db_col_text(s, 0), "closed");
    double slng = db_col_null(s, 1) ? NAN : db_col_double(s, 1);
    double slat = db_col_null(s, 2) ? NAN : db_col_double(s, 2);
    int64_t region = db_col_int64(s, 3);
    db_done(s);
    if (closed)
        return err_set(E_CONFLICT, "site_closed", NULL, "该点位已关闭，不能打卡");
    if ((e = db_prepare(d, "SELECT 1 FROM nat_clockins WHERE user_id = ? AND out_at = 0", &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "already_clocked_in", NULL, "您已在岗打卡，请先签退");
    int64_t dist = distance_of(slng, slat, lng, lat), id = id_new(), now = at ? at : now_ms();
    if ((e = db_prepare(d,
                        "INSERT INTO nat_clockins (id, site_id, region_code, user_id, in_at, "
                        "in_lng, in_lat, in_distance, far, source) VALUES (?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, site_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now);
    bind_real(s, 6, lng);
    bind_real(s, 7, lat);
    db_bind_int64(s, 8, dist);
    db_bind_int64(s, 9, dist > radius_m ? 1 : 0);
    db_bind_text(s, 10, ingest ? "ingest" : "phone");
    if ((e = db_run(s, NULL)) == E_CONFLICT) /* nat_clockins_open: a racing clock-in won */
        return err_set(E_CONFLICT, "already_clocked_in", NULL, "您已在岗打卡，请先签退");
    if (e)
        return e;
    if ((e = db_prepare(d, "UPDATE nat_sites SET on_duty = on_duty + 1 WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, site_id);
    if ((e = db_run(s, NULL)) || (e = nat_site_attend(d, site_id, now_ms(), NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err nat_clock_out_from(db *d, int64_t user_id, double lng, double lat, int64_t at, int64_t *id_r)
{
    err e = check_position(lng, lat);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT c.id, c.site_id, s.lng, s.lat, c.in_at FROM nat_clockins c JOIN "
                        "nat_sites s ON s.id = c.site_id WHERE c.user_id = ? AND c.out_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e ? e : err_set(E_CONFLICT, "not_clocked_in", NULL, "您当前没有在岗打卡记录");
    }
    int64_t id = db_col_int64(s, 0), site = db_col_int64(s, 1);
    double slng = db_col_null(s, 2) ? NAN : db_col_double(s, 2);
    double slat = db_col_null(s, 3) ? NAN : db_col_double(s, 3);
    int64_t in_at = db_col_int64(s, 4);
    db_done(s);
    int64_t dist = distance_of(slng, slat, lng, lat), now = at ? at : now_ms(), changed;
    if (now < in_at)
        return err_set(E_INPUT, "invalid_time", "at", "签退时间不能早于上岗打卡时间");
    if ((e = db_prepare(d,
                        "UPDATE nat_clockins SET out_at = ?, out_lng = ?, out_lat = ?, "
                        "out_distance = ?, far = far + ? WHERE id = ? AND out_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    bind_real(s, 2, lng);
    bind_real(s, 3, lat);
    db_bind_int64(s, 4, dist);
    db_bind_int64(s, 5, dist > radius_m ? 2 : 0);
    db_bind_int64(s, 6, id);
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed) /* clocked out by another request in between */
        return err_set(E_CONFLICT, "not_clocked_in", NULL, "您当前没有在岗打卡记录");
    if ((e = db_prepare(
             d, "UPDATE nat_sites SET on_duty = on_duty - 1 WHERE id = ? AND on_duty > 0", &s)))
        return e;
    db_bind_int64(s, 1, site);
    if ((e = db_run(s, NULL)) || (e = nat_site_attend(d, site, now_ms(), NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

#define CLOCKIN_COLS                                                                               \
    "SELECT c.id, c.site_id, s.name, c.region_code, r.name, c.user_id, u.display_name, c.in_at, "  \
    "c.in_lng, c.in_lat, c.in_distance, c.out_at, c.out_lng, c.out_lat, c.out_distance, c.far, "   \
    "c.source FROM nat_clockins c JOIN nat_sites s ON s.id = c.site_id LEFT JOIN regions r ON "    \
    "r.code = "                                                                                    \
    "c.region_code LEFT JOIN users u ON u.id = c.user_id"

static double real_col(db_stmt *s, int i)
{
    return db_col_null(s, i) ? NAN : db_col_double(s, i);
}

static void read_row(db_stmt *s, arena *a, struct nat_clockin *c)
{
    int64_t far = db_col_int64(s, 15);
    *c = (struct nat_clockin){
        .id = db_col_int64(s, 0),
        .site_id = db_col_int64(s, 1),
        .site_name = arena_strdup(a, db_col_text(s, 2)),
        .region_code = db_col_int64(s, 3),
        .region_name = arena_strdup(a, db_col_text(s, 4)),
        .user_id = db_col_int64(s, 5),
        .user_name = arena_strdup(a, db_col_text(s, 6)),
        .in_at = db_col_int64(s, 7),
        .in_lng = real_col(s, 8),
        .in_lat = real_col(s, 9),
        .in_distance = db_col_int64(s, 10),
        .out_at = db_col_int64(s, 11),
        .out_lng = real_col(s, 12),
        .out_lat = real_col(s, 13),
        .out_distance = db_col_int64(s, 14),
        .in_far = far & 1,
        .out_far = (far & 2) != 0,
        .ingest = !strcmp(db_col_text(s, 16), "ingest"),
    };
}

/* read_row as query_page reads a list's row. */
static err clockin_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    read_row(s, a, item);
    return E_OK;
}

static err find_where(db *d, arena *a, const char *where, int64_t v, const struct scope *scope,
                      struct nat_clockin *c_r, bool *found_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, CLOCKIN_COLS);
    query_sql(&q, where);
    query_int(&q, v);
    if (scope) {
        query_sql(&q, " AND c.region_code >= ? AND c.region_code < ?");
        query_int(&q, scope->lo);
        query_int(&q, scope->hi);
    }
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)) && row)
        read_row(s, a, c_r);
    db_done(s);
    if (!e)
        *found_r = row;
    return e;
}

err nat_clockin_current(db *d, arena *a, int64_t user_id, struct nat_clockin *c_r, bool *found_r)
{
    return find_where(d, a, " WHERE c.user_id = ? AND c.out_at = 0", user_id, NULL, c_r, found_r);
}

err nat_clockin_find(db *d, arena *a, const struct scope *scope, int64_t id,
                     struct nat_clockin *c_r)
{
    bool found;
    err e = find_where(d, a, " WHERE c.id = ?", id, scope, c_r, &found);
    if (!e && !found)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return e;
}

err nat_clockin_list(db *d, arena *a, const struct scope *scope, const struct nat_clockin_filter *f,
                     struct nat_clockin **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE c.region_code >= ? AND c.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND c.region_code >= ? AND c.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->site_id) {
        query_sql(w, " AND c.site_id = ?");
        query_int(w, f->site_id);
    }
    if (f->user_id) {
        query_sql(w, " AND c.user_id = ?");
        query_int(w, f->user_id);
    }
    if (f->open >= 0)
        query_sql(w, f->open ? " AND c.out_at = 0" : " AND c.out_at > 0");
    if (f->far >= 0)
        query_sql(w, f->far ? " AND c.far > 0" : " AND c.far = 0");
    if (f->from) {
        query_sql(w, " AND c.in_at >= ?");
        query_int(w, f->from);
    }
    if (f->to) {
        query_sql(w, " AND c.in_at < ?");
        query_int(w, f->to);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_clockins c",
                                            .select = CLOCKIN_COLS,
                                            .order = " ORDER BY c.in_at DESC, c.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_clockin),
                                            .read = clockin_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

static json_t *real_json(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

json_t *nat_clockin_json(const struct nat_clockin *c)
{
    json_t *o = json_object();
    json_set_id(o, "id", c->id);
    json_set_id(o, "site_id", c->site_id);
    json_object_set_new(o, "site_name", json_string(c->site_name));
    json_set_region(o, c->region_code, c->region_name);
    json_set_id(o, "user_id", c->user_id);
    json_object_set_new(o, "user_name", json_string(c->user_name));
    json_object_set_new(o, "in_at", json_integer(c->in_at));
    json_object_set_new(o, "in_lng", real_json(c->in_lng));
    json_object_set_new(o, "in_lat", real_json(c->in_lat));
    json_object_set_new(o, "in_distance",
                        c->in_distance < 0 ? json_null() : json_integer(c->in_distance));
    json_object_set_new(o, "in_far", json_boolean(c->in_far));
    json_object_set_new(o, "out_at", c->out_at ? json_integer(c->out_at) : json_null());
    json_object_set_new(o, "out_lng", real_json(c->out_lng));
    json_object_set_new(o, "out_lat", real_json(c->out_lat));
    json_object_set_new(o, "out_distance",
                        c->out_distance < 0 ? json_null() : json_integer(c->out_distance));
    json_object_set_new(o, "out_far", json_boolean(c->out_far));
    json_object_set_new(o, "on_duty", json_boolean(c->out_at == 0));
    json_object_set_new(o, "source", json_string(c->ingest ? "ingest" : "phone"));
    json_object_set_new(o, "far", json_boolean(c->in_far || c->out_far));
    json_object_set_new(o, "radius", json_integer(radius_m));
    return o;
}
