/*
 * The 12345 hotline's work orders of the last week (docs/hotline.md),
 * imported as the command centre would: one CSV of the import template
 * through hotline_import_check and hotline_import_submit (a job of the
 * command's own; with no worker the import runs here), so the tickets get
 * their links, rule matches and counters the real way. Complaints about
 * queues and results name the demo's testing sites (linked when the site
 * is in the ticket's street), others match the isolation rule or its
 * exclusion, and some match no rule at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "hotline/hotline.h"
#include "job/job.h"
#include "nat/nat.h"

#define TICKETS 36

/* What callers say; %s is a testing site's name where the text has one. */
static const struct {
    const char *category, *content;
    bool site;
} says[] = {
    {"核酸检测", "%s排队人太多，等了很久还没排到，建议增加采样人员", true},
    {"核酸检测", "%s队伍排到马路上，老人小孩站不住，请安排分流", true},
    {"核酸检测", "前天在%s做的核酸，到现在查不到结果，请帮忙查询", true},
    {"核酸检测", "家人的检测结果一直显示结果未出，影响上班，请核实", false},
    {"疫情防控", "小区被封控，家中老人需要买药，请社区协调送药", false},
    {"疫情防控", "健康码突然变黄，本人近期未离开深圳，请核实原因", false},
    {"疫情防控", "居家隔离期间生活垃圾无人收运，请尽快处理", false},
    {"疫情防控", "解除隔离证明已收到，感谢社区工作人员的帮助", false},
    {"城市管理", "小区门口占道经营，早晚高峰堵塞通行", false},
    {"环境保护", "夜间施工噪音扰民，影响休息", false},
};

static const char *const states[] = {"已办结", "办理中", "已受理"};

err demo_hotline(db *d, const struct demo_world *w, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed ^ 0x686f746c696e6573ull);
    /* the command's own: `fangkong demo` has no request */
    arena *a = arena_new(1 << 16);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct principal who = {.user_id = w->command_user, .scope = scope_all()};
    snprintf(who.username, sizeof who.username, "command");
    snprintf(who.roles, sizeof who.roles, "command_center");
    struct nat_site *sites = NULL;
    size_t nsites = 0;
    int64_t total = 0;
    struct nat_site_filter sf = {.unattended = -1, .sort = "created_at"};
    err e = nat_site_list(d, a, &who.scope, &sf, &sites, &nsites, &total);
    size_t cap = 1 << 14, len = 0;
    char *csv = malloc(cap);
    if (!e && !csv)
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    if (!e)
        len = (size_t)snprintf(csv, cap,
                               "工单编号*,受理时间*,来电人,来电号码,诉求地址,所属区划*,"
                               "问题分类*,诉求内容*,办理状态\n");
    int64_t now = now_ms();
    for (int i = 0; i < TICKETS && !e; i++) {
        size_t k = (size_t)i % (sizeof says / sizeof says[0]);
        /* a site's ticket comes from its community; the others from anywhere */
        const struct nat_site *s = nsites ? &sites[(size_t)i % nsites] : NULL;
        int64_t region =
            says[k].site && s ? s->region_code : w->communities[rng_below(&r, (uint32_t)w->ncomm)];
        char code[19], at[CHINA_TIME_LEN], content[512];
        regcode_format(region, code);
        code[12] = '\0'; /* a community's twelve digits */
        china_time(now - (int64_t)(i * 7 * 24 / TICKETS) * 3600000LL -
                       (int64_t)rng_below(&r, 3600) * 1000,
                   at);
        at[16] = '\0'; /* yyyy-mm-dd hh:mm */
        snprintf(content, sizeof content, says[k].content, says[k].site && s ? s->name : "");
        char line[1024];
        int n = snprintf(line, sizeof line, "RX%s%03d,%s,%s%s,1%c%09u,%s,%s,%s,%s,%s\n", code + 6,
                         i + 1, at, demo_surnames[rng_below(&r, DEMO_N(demo_surnames))],
                         demo_given[rng_below(&r, DEMO_N(demo_given))], "3578"[rng_below(&r, 4)],
                         (unsigned)rng_below(&r, 1000000000u), says[k].site && s ? s->address : "",
                         code, says[k].category, content, states[rng_below(&r, 3)]);
        if (!GROW(&csv, &cap, len, (size_t)n + 1, 1 << 14))
            e = err_set(E_NOMEM, NULL, NULL, NULL);
        if (!e) {
            memcpy(csv + len, line, (size_t)n + 1);
            len += (size_t)n;
        }
    }
    long rows = 0;
    int64_t job = 0;
    if (!e)
        e = hotline_import_check(csv, len, true, &rows);
    if (!e)
        e = job_create(d, &who, "hotline.import", &job);
    if (!e)
        e = hotline_import_submit(d, job, &who, csv, len, true, rows, false);
    free(csv);
    arena_free(&a);
    return e;
}
