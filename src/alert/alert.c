/*
 * Alerts: the table, the raise contract other capabilities call inside
 * their transactions, the scoped list and the acknowledgement. The live
 * push goes through the HTTP server's event streams (channel "alerts")
 * once the raising transaction has committed.
 */
#include "alert/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "http/http.h"
#include "security/crypto.h"

static const struct vocab_word kinds[] = {
    {NULL, NULL}, /* 0: no kind */
    {"fever", "体温异常"},
    {"entry_limit", "超出出入次数"},
    {"code_colour", "红黄码"},
    {"device_silent", "设备离线"},
    {"device_fever", "设备测温异常"},
    {"security", "安全事件"},
    {"task_overdue", "任务超时"},
    {"check_abnormal", "体征异常"},
    {"check_missed", "未按时核查"},
    {"message_unanswered", "隔离人员留言未回复"},
    {"nat_unattended", "核酸点位无人值守"},
    {"nat_transit_overdue", "核酸转运超时"},
    {"trace_contacts", "密接追踪"},
    {"monitor_reports", "社区新增上报预警"},
    {"monitor_occupancy", "隔离点入住率预警"},
    {"monitor_unchecked", "隔离人员未核查预警"},
    {"monitor_fever", "场所发热告警预警"},
    {"exchange_bad_signatures", "交换签名异常"},
    {"exchange_anomaly", "交换调用异常"},
    {"exchange_peer_failing", "对接系统故障"},
    {"exchange_outbox_stale", "交换发件箱积压"},
    {"emergency_call", "紧急呼叫"},
    {"face_withdrawn", "人脸终端未删除已撤回人员"},
    {"supply_shortage", "物资库存不足"},
    {"clockin_abnormal", "员工打卡异常"},
    {"face_failed", "人脸终端指令下发失败"},
    {"supply_order", "新电子订货"},
};
const struct vocab alert_kind_vocab = VOCAB("alert_kinds", "预警类型", kinds);

_Static_assert(sizeof kinds / sizeof kinds[0] == ALERT_KIND__COUNT, "a word for every alert kind");

static const struct vocab_word levels[] = {
    [ALERT_INFO] = {"info", "提示"},
    [ALERT_WARNING] = {"warning", "警告"},
    [ALERT_CRITICAL] = {"critical", "严重"},
};
const struct vocab alert_level_vocab = VOCAB("alert_levels", "预警级别", levels);

const char *alert_kind_name(enum alert_kind k)
{
    return vocab_name(&alert_kind_vocab, (size_t)k);
}

const char *alert_kind_label(enum alert_kind k)
{
    return vocab_label(&alert_kind_vocab, (size_t)k);
}

enum alert_kind alert_kind_parse(const char *s)
{
    int k = vocab_parse(&alert_kind_vocab, s);
    return k > 0 ? (enum alert_kind)k : 0;
}

const char *alert_level_name(enum alert_level l)
{
    return vocab_name(&alert_level_vocab, (size_t)l);
}

enum alert_level alert_level_parse(const char *s)
{
    int l = vocab_parse(&alert_level_vocab, s);
    return l > 0 ? (enum alert_level)l : 0;
}

#define COLS                                                                                       \
    "id, kind, level, region_code, venue_id, person_id, device_id, message, detail, at, "          \
    "acked_at, acked_by, ack_note, "                                                               \
    "COALESCE((SELECT display_name FROM users u WHERE u.id = alerts.acked_by), ''), enterprise_id"

static json_t *row_json(db_stmt *s)
{
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    enum alert_kind k = alert_kind_parse(db_col_text(s, 1));
    json_object_set_new(o, "kind", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "kind_label", json_string(alert_kind_label(k)));
    json_object_set_new(o, "level", json_string(db_col_text(s, 2)));
    char code[24];
    snprintf(code, sizeof code, "%018lld", (long long)db_col_int64(s, 3));
    json_object_set_new(o, "region_code", json_string(code));
    json_set_id(o, "venue_id", db_col_int64(s, 4));
    json_set_id(o, "person_id", db_col_int64(s, 5));
    json_set_id(o, "device_id", db_col_int64(s, 6));
    json_object_set_new(o, "message", json_string(db_col_text(s, 7)));
    json_t *detail = json_loads(db_col_text(s, 8), 0, NULL);
    json_object_set_new(o, "detail", detail ? detail : json_object());
    json_object_set_new(o, "at", json_integer(db_col_int64(s, 9)));
    int64_t acked_at = db_col_int64(s, 10);
    json_object_set_new(o, "acked", json_boolean(acked_at != 0));
    json_object_set_new(o, "acked_at", acked_at ? json_integer(acked_at) : json_null());
    if (acked_at)
        json_set_id(o, "acked_by", db_col_int64(s, 11));
    else
        json_object_set_new(o, "acked_by", json_null());
    /* who handled it, by name (a person on duty reads names, not ids), when and what they did */
    json_object_set_new(o, "handled_at", acked_at ? json_integer(acked_at) : json_null());
    json_object_set_new(o, "handled_by_name",
                        acked_at ? json_string(db_col_text(s, 13)) : json_null());
    json_object_set_new(o, "note", acked_at ? json_string(db_col_text(s, 12)) : json_null());
    json_set_id_or_null(o, "enterprise_id", db_col_int64(s, 14));
    return o;
}

/* What the commit hook publishes: built before commit, sent after. */
struct pending {
    int64_t id, region_code;
    char *json;
    int64_t enterprise_id;
};

struct scope alert_enterprise_scope(int64_t enterprise_id)
{
    return (struct scope){enterprise_id, enterprise_id + 1};
}

/* the streams of the region, and those of the enterprise it names */
static void publish(int64_t region, int64_t id, int64_t enterprise_id, const char *json)
{
    http_stream_publish("alerts", region, id, "alert", json);
    if (enterprise_id > 0)
        http_stream_publish(ALERT_ENTERPRISE_STREAM, enterprise_id, id, "alert", json);
}

static void publish_after_commit(void *ctx, bool committed)
{
    struct pending *p = ctx;
    if (committed)
        publish(p->region_code, p->id, p->enterprise_id, p->json);
    free(p->json);
    free(p);
}

/* ---- other servers on the same PostgreSQL database ------------------------------ */

#define CHANNEL "fk_alerts"

/* This process's mark on what it notifies ("-": not listening, a tool): its
 * own alerts it has already published, the others it publishes when heard. */
static char origin[17] = "-";

/* "origin region id json": every server's listener hears every alert. */
static err notify_others(db *d, const struct pending *p)
{
    if (db_kind(d) != DB_POSTGRES)
        return E_OK;
    size_t n = strlen(p->json) + 64;
    if (n > 7900) { /* NOTIFY's limit: such an alert is seen in the list, not live elsewhere */
        log_event(LOG_WARN, "alert_not_notified", "reason", "too long", NULL);
        return E_OK;
    }
    char *payload = malloc(n);
    if (!payload)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    snprintf(payload, n, "%s %lld %lld %s", origin, (long long)p->region_code, (long long)p->id,
             p->json);
    err e = db_notify(d, CHANNEL, payload);
    free(payload);
    return e;
}

static void heard(const char *payload, void *ctx)
{
    (void)ctx;
    char from[17];
    long long region, id;
    int used = 0;
    if (sscanf(payload, "%16s %lld %lld %n", from, &region, &id, &used) != 3 || !used) {
        log_event(LOG_WARN, "alert_notify_malformed", NULL);
        return;
    }
    if (!strcmp(from, origin))
        return; /* raised here: already published after its commit */
    /* the enterprise it names, if any, is in the JSON */
    json_t *o = json_loads(payload + used, 0, NULL);
    int64_t ent = o ? id_parse(json_string_value(json_object_get(o, "enterprise_id"))) : 0;
    json_decref(o);
    publish(region, id, ent, payload + used);
}

err alert_live_start(const char *db_url)
{
    uint8_t r[8];
    err e = random_bytes(r, sizeof r);
    if (e)
        return e;
    for (int i = 0; i < 8; i++)
        snprintf(origin + 2 * i, 3, "%02x", r[i]);
    return db_listen_start(db_url, CHANNEL, heard, NULL);
}

void alert_live_stop(void)
{
    db_listen_stop();
}

static err invalid(const char *why)
{
    return err_set(E_INPUT, "invalid_alert", NULL, "告警内容无效：%s", why);
}

err alert_raise(db *d, const struct alert_new *a, int64_t *id_r)
{
    if (!*alert_kind_name(a->kind))
        return invalid("类型未知");
    if (!*alert_level_name(a->level))
        return invalid("级别未知");
    if (a->region_code <= 0)
        return invalid("缺少区划");
    if (!a->message || !*a->message || !utf8_valid_text(a->message) ||
        utf8_len(a->message) > ALERT_MESSAGE_MAX)
        return invalid("说明为空或过长");
    const char *detail = a->detail ? a->detail : "{}";
    json_t *dj = json_loads(detail, 0, NULL);
    bool ok = dj && json_is_object(dj);
    json_decref(dj);
    if (!ok)
        return invalid("附加信息不是 JSON 对象");

    int64_t id = id_new(), at = a->at ? a->at : now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO alerts (id, kind, level, region_code, venue_id, person_id, "
                       "device_id, message, detail, at, enterprise_id) VALUES (?, ?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, alert_kind_name(a->kind));
    db_bind_text(s, 3, alert_level_name(a->level));
    db_bind_int64(s, 4, a->region_code);
    db_bind_int64(s, 5, a->venue_id);
    db_bind_int64(s, 6, a->person_id);
    db_bind_int64(s, 7, a->device_id);
    db_bind_text(s, 8, a->message);
    db_bind_text(s, 9, detail);
    db_bind_int64(s, 10, at);
    db_bind_int64(s, 11, a->enterprise_id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d, "SELECT " COLS " FROM alerts WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e ? e : err_set(E_DB, NULL, NULL, NULL); /* the row just written */
    }
    json_t *o = row_json(s);
    db_done(s);
    struct pending *p = calloc(1, sizeof *p);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!p || !text) {
        free(p);
        free(text);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    *p = (struct pending){id, a->region_code, text, a->enterprise_id};
    if ((e = notify_others(d, p)) || (e = db_after_commit(d, publish_after_commit, p))) {
        free(text);
        free(p);
        return e;
    }
    if (id_r)
        *id_r = id;
    return E_OK;
}

err alert_list(db *d, const struct scope *sc, const struct alert_filter *f, json_t **items_r,
               int64_t *total_r)
{
#define WHERE                                                                                      \
    " FROM alerts WHERE region_code >= ? AND region_code < ? AND (? = '' OR kind = ?) "            \
    "AND (? < 0 OR (? = 0 AND acked_at = 0) OR (? = 1 AND acked_at <> 0)) "                        \
    "AND (CAST(? AS BIGINT) = 0 OR venue_id = ?) AND (CAST(? AS BIGINT) = 0 OR at >= ?) AND "      \
    "(CAST(? AS BIGINT) = 0 OR at < ?) AND id > ? AND (CAST(? AS BIGINT) = 0 OR enterprise_id = "  \
    "?)"
    static const char *const sqls[3] = {
        "SELECT " COLS WHERE " ORDER BY id DESC LIMIT ? OFFSET ?",
        "SELECT " COLS WHERE " ORDER BY id ASC LIMIT ? OFFSET ?",
        "SELECT COUNT(*)" WHERE,
    };
#undef WHERE
    const char *kind = f->kind ? alert_kind_name(f->kind) : "";
    int64_t page_size = f->page_size > 0 ? f->page_size : 1000;
    int64_t offset = paging_offset(f->page, page_size);
    db_stmt *s;
    err e;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !total_r)
            break;
        if ((e = db_prepare(d, sqls[pass == 1 ? 2 : f->after_id ? 1 : 0], &s)))
            return e;
        int i = 1;
        db_bind_int64(s, i++, sc->lo);
        db_bind_int64(s, i++, sc->hi);
        db_bind_text(s, i++, kind);
        db_bind_text(s, i++, kind);
        for (int k = 0; k < 3; k++)
            db_bind_int64(s, i++, f->acked);
        db_bind_int64(s, i++, f->venue_id);
        db_bind_int64(s, i++, f->venue_id);
        db_bind_int64(s, i++, f->from);
        db_bind_int64(s, i++, f->from);
        db_bind_int64(s, i++, f->to);
        db_bind_int64(s, i++, f->to);
        db_bind_int64(s, i++, f->after_id);
        db_bind_int64(s, i++, f->enterprise_id);
        db_bind_int64(s, i++, f->enterprise_id);
        if (pass == 0) {
            db_bind_int64(s, i++, page_size);
            db_bind_int64(s, i++, offset);
            json_t *arr = json_array();
            bool row;
            while (!(e = db_row(s, &row)) && row)
                json_array_append_new(arr, row_json(s));
            db_done(s);
            if (e) {
                json_decref(arr);
                return e;
            }
            *items_r = arr;
        } else {
            bool row;
            if (!(e = db_row(s, &row)) && row)
                *total_r = db_col_int64(s, 0);
            db_done(s);
            if (e) {
                json_decref(*items_r);
                *items_r = NULL;
                return e;
            }
        }
    }
    return E_OK;
}

err alert_ack(db *d, const struct scope *sc, int64_t id, int64_t user_id, const char *note,
              json_t **item_r)
{
    size_t n = note ? utf8_len(note) : 0;
    if (n == 0 || n > ALERT_NOTE_MAX || note[strspn(note, " \t\r\n")] == '\0')
        return err_set(E_INPUT, "invalid_note", "note", "处理说明为必填项，长度 1 至 200 个字符");
    db_stmt *s;
    err e =
        db_prepare(d,
                   "UPDATE alerts SET acked_at = ?, acked_by = ?, ack_note = ? WHERE id = ? AND "
                   "region_code >= ? AND region_code < ? AND acked_at = 0 RETURNING " COLS,
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, user_id);
    db_bind_text(s, 3, note);
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, sc->lo);
    db_bind_int64(s, 6, sc->hi);
    bool row;
    json_t *item = NULL;
    if (!(e = db_row(s, &row)) && row) {
        item = row_json(s);
        /* run the statement to its end: the update is done when it is */
        bool more;
        while (!(e = db_row(s, &more)) && more)
            ;
    }
    db_done(s);
    if (e) {
        json_decref(item);
        return e;
    }
    if (row) {
        if (item_r)
            *item_r = item;
        else
            json_decref(item);
        return E_OK;
    }
    /* nothing updated: unknown, outside scope, or acknowledged already */
    if ((e = db_prepare(d,
                        "SELECT acked_at FROM alerts WHERE id = ? AND region_code >= ? AND "
                        "region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    e = db_row(s, &row); /* a failed look-up is no "unknown alert" */
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "already_acked", NULL, "该告警已处置");
    return err_set(E_NOT_FOUND, "unknown_alert", NULL, "告警不存在");
}
