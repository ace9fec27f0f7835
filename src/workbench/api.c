/*
 * HTTP handler of the workbench:
 *
 *   GET /api/v1/workbench   the signed-in staff user's entries with their counts
 *                           {entries: [{key, title, unit, todo, count, console, mobile}],
 *                            at, day_start}; residents get no entries
 *
 * Any signed-in user may ask (PERM_NONE): what each one sees is filtered by
 * their own permissions inside workbench_counts.
 */
#include "app.h"
#include "base/id.h"
#include "base/time.h"
#include "workbench/workbench.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static err get_workbench(struct req *r)
{
    struct workbench_entry es[WB__COUNT];
    size_t n = 0;
    int64_t now = now_ms();
    err e = workbench_counts(r->db, r->who, now, es, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:I,s:o,s:o}", "key", es[i].key,
                                             "title", es[i].title, "unit", es[i].unit, "todo",
                                             es[i].todo, "count", (json_int_t)es[i].count,
                                             "console", str_or_null(es[i].console), "mobile",
                                             str_or_null(es[i].mobile)));
    return reply_json(r, 200,
                      json_pack("{s:o,s:I,s:I}", "entries", arr, "at", (json_int_t)now, "day_start",
                                (json_int_t)china_day_start(now)));
}

const struct route workbench_routes[] = {
    {M_GET, "/api/v1/workbench", get_workbench, PERM_NONE, 0, NULL, "工作台：待办事项和计数",
     "workbench", 0},
};
const size_t workbench_routes_n = sizeof workbench_routes / sizeof workbench_routes[0];
