/*
 * HTTP handler of the exchange monitoring (watch.c; docs/exchange.md
 * "Monitoring"):
 *
 *   GET /api/v1/exchange/monitor?minutes=60   the summary of the last minutes
 *                                             (1..1440) in scope (exchange.read)
 *
 * The console page polls it (every 5 s): the figures live in the database,
 * summed over every server, so each poll shows the deployment's calls
 * whichever server answers it. No personal data (callers by name, counts),
 * so reads are not audited, as the statistics are not.
 */
#include <stdlib.h>

#include "app.h"
#include "base/id.h"
#include "exchange/exchange.h"
#include "http/write.h"

static err get_monitor(struct req *r)
{
    int minutes = 60;
    const char *v = req_query(r, "minutes");
    if (v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end)
            return err_set(E_INPUT, "invalid_parameter", "minutes", "时间窗口应为整数（分钟）");
        if (n < 1 || n > 1440)
            return err_set(E_INPUT, "out_of_range", "minutes", "时间窗口应为 1 至 1440 分钟");
        minutes = (int)n;
    }
    json_t *o;
    err e = exchange_monitor_summary(r->db, r->a, &r->who->scope, now_ms(), minutes, &o);
    return e ? e : reply_json(r, 200, o);
}

const struct route exchange_watch_routes[] = {
    {M_GET, "/api/v1/exchange/monitor", get_monitor, PERM_EXCHANGE_READ, 0, NULL,
     "数据交换监控：时间窗口内的调用量、失败、签名拒绝、各调用方与对接系统（minutes 1..1440）",
     "exchange", 0},
};
const size_t exchange_watch_routes_n =
    sizeof exchange_watch_routes / sizeof exchange_watch_routes[0];
