/*
 * Content of the demo district (docs/community.md, docs/community-life.md,
 * docs/supplies.md), so the pages that show it are not empty: disinfection
 * and inspection objects on a schedule in two communities (one overdue,
 * its task raised by the sweep the server runs; records, one with a
 * photo), two notices to the demo resident's community (one pinned to all,
 * one to the resident's building) with a few read receipts, three
 * published articles (news for the carousel, knowledge, the self-check
 * guide), one open poll with a few answers, and one electronic order
 * placed with the demo supplier (the enterprise the `enterprise` account
 * is bound to), so 电子订货接单 has something to take. Everything goes
 * through the capabilities, as the API would; runs after demo_enterprise.
 */
#include <stdio.h>
#include <string.h>

#include "attach/attach.h"
#include "base/arena.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "enterprise/enterprise.h"
#include "notice/notice.h"
#include "service/service.h"
#include "supply/supply.h"

#define H_MS_ 3600000LL

static err tx(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* a 1×1 PNG: the record's photo (the demo has no camera) */
static const unsigned char photo[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47,
    0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* up to max values of a statement's one-column result, its one parameter id */
static err ids_of(db *d, const char *sql, int64_t id, int64_t *out, size_t max, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    size_t n = 0;
    while (n < max && !(e = db_row(s, &row)) && row)
        out[n++] = db_col_int64(s, 0);
    db_done(s);
    *n_r = n;
    return e;
}

/* objects: name, kind, record kind, unit, every, last done hours ago,
 * community index (0 or 1), records to add (0: none; 2: one with a photo) */
static const struct {
    const char *name;
    const char *kind, *record_kind, *unit;
    int every, last_h, comm, records;
} objects[] = {
    {"社区文化广场", "space", "disinfect", "day", 1, 50, 0, 0}, /* overdue: the sweep's task */
    {"农贸市场生鲜区", "market", "disinfect", "hour", 12, 3, 0, 2},
    {"社区便民摊点", "stall", "patrol", "day", 1, 5, 0, 1},
    {"小区垃圾集中点", "space", "disinfect", "day", 1, 6, 1, 1},
    {"社区健身广场", "space", "patrol", "day", 2, 20, 1, 0},
};

static err inspect(db *d, arena *a, const struct demo_world *w, const struct principal *by)
{
    err e = E_OK;
    int64_t now = now_ms();
    for (size_t i = 0; !e && i < sizeof objects / sizeof objects[0]; i++) {
        if (objects[i].comm >= w->ncomm)
            continue;
        struct inspect_object_new n = {
            .region = w->communities[objects[i].comm],
            .name = objects[i].name,
            .kind = vocab_parse(&inspect_object_kind_vocab, objects[i].kind),
            .record_kind = vocab_parse(&inspect_record_kind_vocab, objects[i].record_kind),
            .unit = vocab_parse(&inspect_unit_vocab, objects[i].unit),
            .every_n = objects[i].every,
            .last_at = now - objects[i].last_h * H_MS_};
        int64_t id = 0, rec;
        if (!(e = db_begin(d)))
            e = tx(d, service_inspect_object_add(d, &by->scope, &n, by->user_id, now, &id));
        for (int k = 0; !e && k < objects[i].records; k++) {
            json_t *atts = NULL;
            if (k == 1) { /* the second with a photo */
                int64_t pid = 0;
                if (!(e = db_begin(d)))
                    e = tx(d, attach_put(d, by, "image/png", photo, sizeof photo, &pid));
                atts = json_array();
                char buf[24];
                snprintf(buf, sizeof buf, "%lld", (long long)pid);
                json_array_append_new(atts, json_string(buf));
            }
            struct inspect_record_new r = {
                .result = vocab_parse(&inspect_result_vocab, k == 1 ? "issue" : "ok"),
                .notes = k == 1 ? "排水沟有积水，已通知保洁清理" : "已按规范完成",
                .attachments = atts};
            if (!e)
                e = service_inspect_record(d, a, by, id, &r, now - (objects[i].records - k) * H_MS_,
                                           &rec);
            json_decref(atts);
        }
    }
    /* what the server's sweep does on its next run, at once */
    int64_t raised = 0;
    if (!e)
        e = service_inspect_sweep(d, now, &raised);
    return e;
}

/* the notices, each opened by a few of its recipients */
static err notices(db *d, arena *a, const struct principal *by, int64_t community, int64_t building)
{
    struct notice_input in[2] = {
        {.region_code = community,
         .audience = NOTICE_ALL,
         .title = "关于开展全员核酸检测的通知",
         .body = "<p>本社区定于<strong>明日 8:00-12:00</strong>在社区文化广场开展全员核酸检测，"
                 "请居民携带身份证、戴好口罩，保持一米间距。</p><p>行动不便的居民请联系社区，"
                 "我们将安排上门采样。</p>",
         .pinned = true},
        {.region_code = building,
         .audience = NOTICE_BUILDING,
         .title = "本楼栋今晚进行公共区域消杀",
         .body = "<p>今晚 19:00 起对本楼栋电梯、楼道等公共区域进行消杀，期间请尽量减少外出。</p>"},
    };
    err e = E_OK;
    for (int i = 0; !e && i < 2; i++) {
        if (!in[i].region_code)
            continue;
        struct notice n;
        if (!(e = db_begin(d)))
            e = tx(d, notice_publish(d, a, by, &in[i], &n));
        /* a few recipients have opened it */
        int64_t who[4];
        size_t nr = 0;
        if (!e)
            e = ids_of(d,
                       "SELECT person_id FROM notice_recipients WHERE notice_id = ? ORDER BY "
                       "person_id",
                       n.id, who, i == 0 ? 4 : 2, &nr);
        for (size_t k = 0; !e && k < nr; k++) {
            struct notice seen;
            bool first;
            if (!(e = db_begin(d)))
                e = tx(d, notice_open(d, a, who[k], n.id, now_ms(), &seen, &first));
        }
    }
    return e;
}

static const struct {
    enum article_kind kind;
    const char *title, *body;
} articles[] = {
    {ARTICLE_NEWS, "南山区新增两处常态化核酸采样点",
     "<p>为方便居民就近检测，区里在科技园和蛇口新增两处常态化核酸采样点，"
     "每日 8:00-20:00 开放，扫场所码即可登记。</p>"},
    {ARTICLE_KNOWLEDGE, "如何正确佩戴口罩",
     "<h3>佩戴步骤</h3><ol><li>洗手后取出口罩，深色面朝外</li><li>金属条在上，压紧鼻梁</li>"
     "<li>下拉褶皱，完全覆盖口鼻和下巴</li></ol><p>口罩潮湿或污染后应及时更换。</p>"},
    {ARTICLE_GUIDE, "居家健康自查指引",
     "<p>每天早晚各测一次体温，出现<strong>发热、干咳、乏力、咽痛、嗅（味）觉减退</strong>"
     "等症状时，请在“自查上报”中如实填报，并联系社区。</p>"},
};

static err articles_and_poll(db *d, arena *a, const struct principal *by, int64_t community)
{
    enum region_level lv;
    int64_t district = regcode_parse(DEMO_DISTRICT, &lv), id;
    err e = E_OK;
    for (size_t i = 0; !e && i < sizeof articles / sizeof articles[0]; i++) {
        struct article_input in = {.region_code = district,
                                   .kind = articles[i].kind,
                                   .title = articles[i].title,
                                   .body = articles[i].body,
                                   .published = true};
        if (!(e = db_begin(d)))
            e = tx(d, article_create(d, by, &in, &id));
    }
    if (e)
        return e;
    json_t *q = json_pack("[{s:s, s:s, s:[s,s,s]}, {s:s, s:s}]", "text", "您希望核酸采样点几点开放",
                          "type", "single", "options", "7:00", "8:00", "9:00", "text",
                          "对社区防疫工作的其他建议", "type", "text");
    json_t *clean = NULL;
    if (!q)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    e = poll_questions_check(q, &clean);
    json_decref(q);
    if (e)
        return e;
    struct poll_input pin = {.region_code = community,
                             .audience = NOTICE_ALL,
                             .title = "核酸采样点开放时间征求意见",
                             .description = "请选择您方便的开放时间，结果将作为安排依据。",
                             .questions = clean,
                             .closes_at = now_ms() + 3 * 24 * H_MS_,
                             .show_results = true};
    int64_t pid = 0, recipients = 0;
    if (!(e = db_begin(d)))
        e = tx(d, poll_publish(d, by, &pin, now_ms(), &pid, &recipients));
    json_decref(clean);
    /* a few answers, from recipients other than the demo resident's first */
    int64_t who[5];
    size_t nr = 0;
    if (!e)
        e = ids_of(d,
                   "SELECT person_id FROM poll_recipients WHERE poll_id = ? ORDER BY person_id "
                   "DESC",
                   pid, who, 5, &nr);
    for (size_t k = 0; !e && k < nr; k++) {
        struct poll p;
        if ((e = poll_mine_one(d, a, who[k], pid, now_ms(), &p)))
            break;
        json_t *ans =
            json_pack("[i, s]", (int)(k % 3 == 2 ? 2 : k % 2), k ? "" : "希望周末延长开放");
        if (!(e = db_begin(d)))
            e = tx(d, poll_answer(d, who[k], &p, ans, now_ms()));
        json_decref(ans);
        poll_free(&p);
    }
    return e;
}

/* one request of the second community, ordered from the demo supplier */
static err order(db *d, arena *a, const struct demo_world *w)
{
    struct scope all = scope_all();
    int64_t supplier = 0, req = 0, made = 0;
    err e = ent_account_of(d, w->enterprise_user, &supplier);
    if (e || !supplier || w->ncomm < 2)
        return e == E_NOT_FOUND ? E_OK : e;
    struct supply_line_in lines[2] = {{1, 3000}, {60, 5000}};
    struct supply_request_in in = {.region_code = w->communities[1],
                                   .requester = "community",
                                   .urgency = "urgent",
                                   .needed_by = now_ms() + 48 * H_MS_,
                                   .note = "社区核酸采样点防护用品补充",
                                   .lines = lines,
                                   .n_lines = 2};
    if (!(e = db_begin(d)))
        e = tx(d, supply_request_file(d, &all, &in, w->community_user, &req));
    json_t *o = NULL;
    if (e || (e = supply_request_get(d, a, &all, req, &o)))
        return e;
    json_t *ls = json_object_get(o, "lines");
    struct supply_alloc_in orders[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *l = json_array_get(ls, i);
        orders[i] = (struct supply_alloc_in){
            .line_id = id_parse(json_string_value(json_object_get(l, "id"))),
            .enterprise_id = supplier,
            .quantity = json_integer_value(json_object_get(l, "quantity"))};
    }
    json_decref(o);
    struct supply_dispatch_in di = {.orders = orders, .n_orders = 2};
    if (!(e = db_begin(d)))
        e = tx(d, supply_dispatch(d, a, &all, req, &di, w->command_user, &made));
    return e;
}

err demo_content(db *d, const struct demo_world *w, uint64_t seed)
{
    (void)seed;
    if (w->ncomm < 1)
        return E_OK;
    struct principal by = {.user_id = w->community_user, .scope = scope_all()};
    snprintf(by.username, sizeof by.username, "community");
    snprintf(by.display_name, sizeof by.display_name, "社区工作人员");
    /* the demo resident's community and building (the first person) */
    int64_t res_region = 0, community = w->communities[0], building = 0;
    size_t n = 0;
    err e = ids_of(d, "SELECT region_code FROM persons WHERE id >= ? ORDER BY id", 0, &res_region,
                   1, &n);
    for (long i = 0; !e && i < w->ncomm; i++)
        if (res_region && regcode_within(res_region, w->communities[i]))
            community = w->communities[i];
    for (long i = 0; i < w->nbuildings; i++)
        if (w->buildings[i] == res_region ||
            (!building && regcode_within(w->buildings[i], community)))
            building = w->buildings[i];
    /* a private arena: demo steps get none from their caller (demo_video's way) */
    arena *a = arena_new(1 << 16);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    if (!e)
        e = inspect(d, a, w, &by);
    if (!e)
        e = notices(d, a, &by, community, building);
    if (!e)
        e = articles_and_poll(d, a, &by, community);
    if (!e)
        e = order(d, a, w);
    arena_free(&a);
    return e;
}
