/*
 * HTTP handlers of alerts:
 *
 *   GET  /api/v1/alerts              scoped list; kind, acked, venue_id, from, to; paging
 *   POST /api/v1/alerts/{id}/ack     acknowledge {note} (who, when, what was done); 200 with the
 * alert GET  /api/v1/alerts/stream       Server-Sent Events: `event: alert`, `id:` the alert id,
 *                                    `data:` the alert as in the list; Last-Event-ID (or
 *                                    ?last_event_id=) replays the stored alerts after it
 *
 * Listing and opening the stream are audited (alerts name people and
 * places), and so is a refused acknowledgement.
 */
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "app.h"
#include "security/audit.h"

#define REPLAY_MAX 500 /* alerts a resuming stream is sent before going live */

static err parse_filter(struct req *r, struct alert_filter *f)
{
    *f = (struct alert_filter){.acked = -1};
    const char *k = req_query(r, "kind");
    if (k && *k && !(f->kind = alert_kind_parse(k)))
        return err_set(E_INPUT, "invalid_value", "kind", "告警类型无效");
    const char *a = req_query(r, "acked");
    if (a && *a) {
        if (strcmp(a, "0") && strcmp(a, "1"))
            return err_set(E_INPUT, "invalid_value", "acked", "acked 只能为 0 或 1");
        f->acked = a[0] - '0';
    }
    const char *v = req_query(r, "venue_id");
    if (v && *v && !(f->venue_id = id_parse(v)))
        return err_set(E_INPUT, "invalid_value", "venue_id", "点位编号无效");
    err e;
    if ((e = req_query_int64(r, "from", 0, INT64_MAX / 2, &f->from)) ||
        (e = req_query_int64(r, "to", 0, INT64_MAX / 2, &f->to)))
        return e;
    return req_paging(r, &f->page, &f->page_size);
}

static err get_alerts(struct req *r)
{
    struct alert_filter f;
    json_t *items;
    int64_t total = 0;
    err e = parse_filter(r, &f);
    if (e || (e = alert_list(r->db, &r->who->scope, &f, &items, &total)))
        return e;
    /* alerts name people (masked) and where they were: a read of personal data */
    req_audit(r, "alert.list", "alert", 0, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static const struct jfield ack_fields[] = {
    {"note", J_STRING, JF_REQUIRED, 1, ALERT_NOTE_MAX, "处理说明", NULL},
    {NULL},
};

static err post_ack(struct req *r)
{
    int64_t id;
    json_t *item = NULL;
    err e = req_param_id(r, 0, &id);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "alert.ack", "alert", id, e, NULL);
    const char *note = json_str(r->body, "note"); /* ack_fields checked its type and length */
    db_hold(r->db); /* the entry commits with the acknowledgement (security/audit.h) */
    if ((e = alert_ack(r->db, &r->who->scope, id, r->who->user_id, note, &item))) {
        err_ignore(db_release(r->db, false)); /* a rollback: the refusal is the answer */
        return audit_refusal(r->db, r->who, r->ip, "alert.ack", "alert", id, e, NULL);
    }
    req_audit(r, "alert.ack", "alert", id, "ok", NULL);
    if ((e = db_release(r->db, true))) {
        json_decref(item);
        return e;
    }
    return reply_json(r, 200, item);
}

err alert_stream_open(struct req *r, const char *channel, const struct scope *stream_sc,
                      const struct scope *list_sc, int64_t enterprise_id, const char *action,
                      const char *type, int64_t object_id)
{
    const char *last = req_header(r, "Last-Event-ID");
    if (!last || !*last)
        last = req_query(r, "last_event_id");
    int64_t after = 0;
    if (last && *last && !(after = id_parse(last)))
        return err_set(E_INPUT, "invalid_value", "Last-Event-ID", "Last-Event-ID 无效");
    json_t *items = NULL;
    if (after) {
        struct alert_filter f = {.acked = -1,
                                 .after_id = after,
                                 .enterprise_id = enterprise_id,
                                 .page = 1,
                                 .page_size = REPLAY_MAX};
        err e = alert_list(r->db, list_sc, &f, &items, NULL);
        if (e)
            return e;
    }
    /* live events up to what was replayed are skipped: no duplicate after a resume */
    int64_t skip = after;
    size_t n = items ? json_array_size(items) : 0;
    if (n)
        skip = id_parse(json_string_value(json_object_get(json_array_get(items, n - 1), "id")));
    /* audited before anything is sent: a stream that cannot be audited
     * does not open (req_stream_open refuses) */
    req_audit(r, action, type, object_id, "ok", arena_printf(r->a, "replayed=%zu", n));
    err e = req_stream_open(r, channel, stream_sc, skip);
    if (e) {
        json_decref(items);
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(items, i);
        char *text = json_dumps(o, JSON_COMPACT);
        if (text)
            req_stream_send(r, id_parse(json_string_value(json_object_get(o, "id"))), "alert",
                            text);
        free(text);
    }
    json_decref(items);
    return E_OK;
}

static err get_stream(struct req *r)
{
    return alert_stream_open(r, "alerts", &r->who->scope, &r->who->scope, 0, "alert.stream",
                             "alert", 0);
}

const struct route alert_routes[] = {
    {M_GET, "/api/v1/alerts", get_alerts, PERM_ALERT_READ, 0, NULL, "告警列表", "alert", 0},
    {M_GET, "/api/v1/alerts/stream", get_stream, PERM_ALERT_READ, ROUTE_STREAM, NULL,
     "告警实时推送（Server-Sent Events）", "alert", 0},
    {M_POST, "/api/v1/alerts/{id}/ack", post_ack, PERM_ALERT_ACK, 0, ack_fields, "处置告警",
     "alert", 0},
};
const size_t alert_routes_n = sizeof alert_routes / sizeof alert_routes[0];
