/*
 * Supplies of the demo district (docs/supplies.md): the district's reserve
 * and one warehouse per street with counted stock and thresholds (one
 * street short of masks, so the shortage alert and the workbench have
 * something to show), and requests of the first communities: one received,
 * one on its way, one waiting for dispatch. Everything goes through the
 * capability (supply/supply.h), as the API would.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "supply/supply.h"

/* products stocked everywhere: id, district quantity, street quantity, threshold */
static const struct {
    int64_t product, district, street, threshold;
} stocked[] = {
    {1, 200000, 8000, 2000}, {2, 50000, 1500, 500},    {4, 20000, 600, 200},
    {6, 8000, 300, 100},     {8, 100000, 4000, 1000},  {20, 6000, 300, 100},
    {21, 6000, 300, 100},    {31, 80000, 3000, 1000},  {40, 2000, 60, 20},
    {42, 1500, 40, 10},      {60, 200000, 6000, 2000}, {61, 30000, 900, 300},
};

static err tx(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err demo_supply(db *d, const struct demo_world *w, uint64_t seed)
{
    (void)seed;
    struct scope all = scope_all();
    enum region_level lv;
    int64_t district = regcode_parse(DEMO_DISTRICT, &lv), user = w->command_user, id;
    /* a private arena: demo steps get none from their caller (demo_video's way) */
    arena *a = arena_new(4096);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    int64_t wh[1 + 16] = {0};
    long nst = w->nstreets < 16 ? w->nstreets : 16;
    err e = E_OK;
    for (long s = -1; !e && s < nst; s++) {
        char name[64];
        if (s < 0)
            snprintf(name, sizeof name, "南山区应急物资储备库");
        else
            snprintf(name, sizeof name, "%s物资仓", demo_streets[s % 8]);
        struct supply_warehouse_in in = {.region_code = s < 0 ? district : w->streets[s],
                                         .name = name,
                                         .address = s < 0 ? "南山区科技园南区物流中心" : ""};
        if (!(e = db_begin(d)))
            e = tx(d, supply_warehouse_add(d, &all, &in, user, &wh[s + 1]));
        for (size_t i = 0; !e && i < sizeof stocked / sizeof stocked[0]; i++) {
            struct supply_report_in r = {.kind = "stock",
                                         .warehouse_id = wh[s + 1],
                                         .product_id = stocked[i].product,
                                         .quantity =
                                             s < 0 ? stocked[i].district : stocked[i].street,
                                         .threshold = stocked[i].threshold};
            /* the first street runs short of masks */
            if (s == 0 && stocked[i].product == 1)
                r.quantity = 1500;
            if (!(e = db_begin(d)))
                e = tx(d, supply_report(d, &all, &r, user, &id));
        }
    }
    /* three communities' requests: received, on its way, waiting */
    for (long k = 0; !e && k < 3 && k < w->ncomm; k++) {
        struct supply_line_in lines[2] = {{1, 2000 + 500 * k}, {31, 300}};
        struct supply_request_in in = {.region_code = w->communities[k],
                                       .requester = "community",
                                       .urgency = k == 2 ? "critical" : "urgent",
                                       .needed_by = now_ms() + 86400000LL,
                                       .note = "封控楼栋居民防护与自测",
                                       .lines = lines,
                                       .n_lines = 2};
        int64_t req = 0, made = 0;
        json_t *o = NULL;
        if (!(e = db_begin(d)))
            e = tx(d, supply_request_file(d, &all, &in, w->community_user, &req));
        if (e || k == 2)
            break;
        if (!(e = supply_request_get(d, a, &all, req, &o))) {
            json_t *ls = json_object_get(o, "lines");
            struct supply_alloc_in al[2];
            for (size_t i = 0; i < 2; i++)
                al[i] = (struct supply_alloc_in){
                    .line_id =
                        id_parse(json_string_value(json_object_get(json_array_get(ls, i), "id"))),
                    .warehouse_id = wh[0],
                    .quantity =
                        json_integer_value(json_object_get(json_array_get(ls, i), "quantity"))};
            json_decref(o);
            struct supply_dispatch_in di = {.allocs = al,
                                            .n_allocs = 2,
                                            .carrier = "区应急物流车队",
                                            .vehicle = "粤B·D3056",
                                            .driver_phone = "13800138000"};
            if (!(e = db_begin(d)))
                e = tx(d, supply_dispatch(d, a, &all, req, &di, user, &made));
        }
        /* its one delivery: shipped; the first also signed for */
        int64_t dv = 0;
        db_stmt *s;
        if (!e &&
            !(e = db_prepare(d, "SELECT id FROM supply_deliveries WHERE request_id = ?", &s))) {
            db_bind_int64(s, 1, req);
            bool has = false;
            if (!(e = db_row(s, &has)) && has)
                dv = db_col_int64(s, 0);
            db_done(s);
        }
        if (!e && dv && !(e = db_begin(d)))
            e = tx(d,
                   supply_delivery_move(d, a, &all, dv, "shipping", NULL, NULL, NULL, user, &id));
        if (!e && dv && k == 0 && !(e = db_begin(d)))
            e = tx(d, supply_receipt(d, &all, dv, NULL, 0, w->community_user, &id));
    }
    arena_free(&a);
    return e;
}
