/*
 * Community life of the demo district (docs/community-life.md): a daily-goods
 * shop of the first community with its account (`shop`, the demo password)
 * and goods in stock; parcels the demo delivery account (`kuaidi`) recorded
 * at the community's first building, one for the demo resident's phone and
 * one waiting for four days (so the overdue flag and the workbench entry have
 * something to show); and two volunteer service projects of the community.
 * Everything goes through the capabilities (shop/shop.h, parcel/parcel.h,
 * volunteer/volunteer.h), as the API would.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "parcel/parcel.h"
#include "shop/shop.h"
#include "volunteer/volunteer.h"

#define H_MS_ 3600000LL

static err tx(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static const struct {
    const char *name, *unit;
    int64_t price, stock; /* fen, units */
} goods[] = {
    {"东北大米 5kg", "袋", 5990, 120}, {"鸡蛋 30枚", "盒", 2680, 80},
    {"时令蔬菜套餐", "份", 3900, 60},  {"食用油 5L", "桶", 8990, 40},
    {"抽纸 12包", "提", 2590, 100},
};

err demo_life(db *d, const struct demo_world *w, uint64_t seed)
{
    (void)seed;
    if (w->ncomm < 1 || !w->password)
        return E_OK;
    struct scope all = scope_all();
    struct principal by = {.user_id = w->community_user, .scope = all};
    int64_t comm = w->communities[0], building = 0;
    for (long i = 0; i < w->nbuildings && !building; i++)
        if (regcode_within(w->buildings[i], comm))
            building = w->buildings[i];
    /* a private arena: demo steps get none from their caller (demo_video's way) */
    arena *a = arena_new(4096);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct shop_new sn = {.name = "便民生活超市",
                          .address = "社区服务站东侧",
                          .phone = "0755-26001234",
                          .region_code = comm,
                          .username = "shop",
                          .password = w->password,
                          .display_name = "便民生活超市"};
    struct shop s;
    err e = db_begin(d);
    if (!e)
        e = tx(d, shop_create(d, a, &by, &sn, &s));
    for (size_t i = 0; !e && i < sizeof goods / sizeof goods[0]; i++) {
        struct shop_goods g = {.shop_id = s.id,
                               .name = goods[i].name,
                               .unit = goods[i].unit,
                               .price = goods[i].price,
                               .stock = goods[i].stock,
                               .on_sale = true};
        e = shop_goods_add(d, &g);
    }
    /* parcels at the first building: today's for the demo resident, and a
     * take-away for another phone left four days ago */
    struct parcel p1 = {.region_code = building,
                        .kind = PARCEL_PARCEL,
                        .carrier = "顺丰速运",
                        .locker = "丰巢柜 A-12",
                        .code = "361502",
                        .phone = DEMO_RESIDENT_PHONE};
    struct parcel p2 = {.region_code = building,
                        .kind = PARCEL_PARCEL,
                        .carrier = "中通快递",
                        .locker = "门卫室",
                        .code = "",
                        .phone = "13900139000"};
    if (!e && building)
        e = parcel_record(d, a, &all, w->delivery_user, &p1);
    if (!e && building) {
        clock_shift(-4 * 24 * H_MS_);
        e = parcel_record(d, a, &all, w->delivery_user, &p2);
        clock_shift(0);
    }
    /* volunteer projects: one tomorrow, one next week */
    int64_t day = china_day_start(now_ms());
    struct volunteer_project vp[2] = {
        {.region_code = comm,
         .title = "核酸检测现场秩序维护",
         .place = "社区广场核酸采样点",
         .content = "引导居民保持一米间距、扫码登记，协助老人和行动不便者。",
         .starts_at = day + 24 * H_MS_ + 8 * H_MS_,
         .ends_at = day + 24 * H_MS_ + 12 * H_MS_,
         .places = 6},
        {.region_code = comm,
         .title = "封控楼栋生活物资配送",
         .place = "社区服务站",
         .content = "将团购物资送到封控楼栋门口，无接触交付。",
         .starts_at = day + 7 * 24 * H_MS_ + 14 * H_MS_,
         .ends_at = day + 7 * 24 * H_MS_ + 18 * H_MS_,
         .places = 10},
    };
    for (int i = 0; !e && i < 2; i++)
        e = volunteer_project_create(d, a, &all, w->community_user, &vp[i]);
    arena_free(&a);
    return e;
}
