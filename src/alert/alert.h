/*
 * Alerts (告警, issue 4): what a gate, a device or a rule wants a person on
 * duty to see now — a fever at a checkpoint, a per-person entry limit
 * exceeded, a red or yellow code at a gate, a device gone silent, a device
 * reading a fever. Stored in `alerts` (sql/006_access.sql) with the region
 * of the venue or device, so they are scoped like every regional record;
 * pushed live over Server-Sent Events to the signed-in staff whose scope
 * holds that region; acknowledged by staff (who and when).
 *
 * Raising is part of the caller's transaction: the alert exists exactly when
 * the event that caused it does. The live push waits for that transaction
 * to commit (db_after_commit) and is dropped if it rolls back, so nobody is
 * ever shown an alert the database does not hold; other servers on the same
 * PostgreSQL database hear it at the same commit (alert_live_start).
 */
#ifndef FK_ALERT_ALERT_H
#define FK_ALERT_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* Kinds; stored and sent by name. New kinds are appended (names are stable). */
enum alert_kind {
    ALERT_FEVER = 1,   /* fever measured at a checkpoint (体温异常) */
    ALERT_ENTRY_LIMIT, /* a person passed a venue more often than its limit (超出出入次数) */
    ALERT_CODE_COLOUR, /* a red or yellow code presented at a gate (红黄码) */
    ALERT_DEVICE_SILENT,  /* a device missed its heartbeat interval (设备离线) */
    ALERT_DEVICE_FEVER,   /* a temperature device read a fever (设备测温异常) */
    ALERT_SECURITY,       /* a security event for the security administrator, e.g. a user over
                             the exact-search limit (安全事件) */
    ALERT_TASK_OVERDUE,   /* a task passed its deadline unfinished (任务超时) */
    ALERT_CHECK_ABNORMAL, /* an observed person's check was abnormal (体征异常) */
    ALERT_CHECK_MISSED,   /* an observed person was not checked in time (未按时核查) */
    ALERT_MESSAGE_UNANSWERED, /* a message to the doctor went unanswered (隔离人员留言未回复) */
    ALERT_NAT_UNATTENDED, /* an open testing site in its hours with nobody clocked in (无人值守) */
    ALERT_NAT_TRANSIT_OVERDUE, /* a box of tubes in transit longer than the limit (转运超时) */
    ALERT_TRACE_CONTACTS, /* contacts traced after a confirmation (密接追踪; trace/warn.c) */
    /* ---- automatic monitoring rules (monitor/monitor.h) ---- */
    ALERT_MONITOR_REPORTS,   /* a community's new reports today over a rule's threshold */
    ALERT_MONITOR_OCCUPANCY, /* a quarantine site's occupancy at a rule's percentage */
    ALERT_MONITOR_UNCHECKED, /* a grid's people on home isolation not checked today */
    ALERT_MONITOR_FEVER,     /* a venue's fever alerts today at a rule's threshold */
    /* ---- end of the monitoring block ---- */
    /* ---- data exchange (exchange/exchange.h) ---- */
    ALERT_EXCHANGE_BAD_SIGNATURES, /* a caller's repeated bad signatures: suspended (疑似攻击) */
    ALERT_EXCHANGE_ANOMALY,        /* a caller's error rate or volume far from its usual */
    ALERT_EXCHANGE_PEER_FAILING,   /* a peer (connector) failing longer than its threshold */
    ALERT_EXCHANGE_OUTBOX_STALE,   /* the outbox holds a change older than its threshold */
    /* ---- community services (service/service.h) ---- */
    ALERT_EMERGENCY_CALL, /* a resident pressed the emergency call (紧急呼叫) */
    /* ---- face access (face/face.h) ---- */
    ALERT_FACE_WITHDRAWN, /* a face terminal recognised a person whose consent was withdrawn */
    /* ---- supplies (supply/supply.h) ---- */
    ALERT_SUPPLY_SHORTAGE, /* a warehouse's stock of a product fell under its threshold */
    /* enterprises resuming work (docs/enterprise.md) */
    ALERT_CLOCKIN_ABNORMAL, /* a staff clock-in with a fever or a non-green code (员工打卡异常) */
    /* face access, wave 3 (face/face.h) */
    ALERT_FACE_FAILED, /* a face terminal left a command unacknowledged after every resend */
    /* supplies, wave 5 (supply/supply.h) */
    ALERT_SUPPLY_ORDER, /* an electronic order placed with a supplier (新电子订货), told to the
                           supplier's accounts (enterprise_id) */
    ALERT_KIND__COUNT
};

/* "fever", "entry_limit", "code_colour", "device_silent", "device_fever",
 * "security", "task_overdue", "check_abnormal", "check_missed", "message_unanswered",
 * "nat_unattended", "nat_transit_overdue", "trace_contacts", "monitor_reports",
 * "monitor_occupancy", "monitor_unchecked", "monitor_fever",
 * "exchange_bad_signatures", "exchange_anomaly", "exchange_peer_failing",
 * "exchange_outbox_stale", "emergency_call", NULL-terminated, in enum order from index 0 =
 * "exchange_outbox_stale", "face_withdrawn", NULL-terminated, in enum order from index 0 =
 * "exchange_outbox_stale", "supply_shortage", NULL-terminated, in enum order from index 0 =
 * "exchange_outbox_stale", "clockin_abnormal", NULL-terminated, in enum order from index 0 =
 * "exchange_outbox_stale", "face_failed", NULL-terminated, in enum order from index 0 =
 * "exchange_outbox_stale", "supply_order", NULL-terminated, in enum order from index 0 =
 * ALERT_FEVER. */
extern const struct vocab alert_kind_vocab;
const char *alert_kind_name(enum alert_kind k);  /* "" when invalid */
const char *alert_kind_label(enum alert_kind k); /* Chinese */
enum alert_kind alert_kind_parse(const char *s); /* 0 when unknown */

enum alert_level {
    ALERT_INFO = 1,    /* 提示 */
    ALERT_WARNING = 2, /* 警告: yellow code, entry limit, device silent */
    ALERT_CRITICAL = 3 /* 严重: fever, red code */
};
extern const struct vocab alert_level_vocab; /* info, warning, critical */
const char *alert_level_name(enum alert_level l);
enum alert_level alert_level_parse(const char *s); /* 0 when unknown */

#define ALERT_MESSAGE_MAX 200 /* characters */

/* A new alert. Ids 0 mean "none". */
struct alert_new {
    enum alert_kind kind;
    enum alert_level level;
    int64_t region_code; /* padded; required: who sees it (the venue's or device's region) */
    int64_t venue_id;
    int64_t person_id;
    int64_t device_id;
    const char *message; /* Chinese, required, 1..ALERT_MESSAGE_MAX characters, no personal data
                            beyond a masked name */
    const char *detail;  /* a JSON object as text ({"temperature":38.2,…}) or NULL */
    int64_t at;          /* epoch ms; 0: now */
    /* an enterprise whose bound accounts are told too (0 none): besides the
     * streams of the region, the alert goes to ALERT_ENTERPRISE_STREAM
     * streams opened for that enterprise (alert_enterprise_scope) */
    int64_t enterprise_id;
};

/* The SSE channel of alerts addressed to an enterprise: its streams are
 * opened with alert_enterprise_scope(enterprise id), so each bound account
 * hears its own enterprise's alerts only (the region of this channel is the
 * enterprise id). */
#define ALERT_ENTERPRISE_STREAM "alerts_enterprise"

/*
 * Serve a request as a stream of alerts (http/stream.c) on `channel`
 * filtered by stream_sc: first the stored alerts after the request's
 * Last-Event-ID (the header, or ?last_event_id=) within list_sc (and of
 * enterprise_id when > 0), oldest first, up to 500; then the live ones,
 * without those already replayed. A client that reconnects, to this server
 * or to another behind the same balancer, so misses none of the alerts its
 * stream filter passes. Audited as `action` on (type, object_id) with the
 * number replayed, before anything is sent. E_INPUT for a Last-Event-ID
 * that is no id. The alerts' own stream and the suppliers' orders stream
 * (supply/) use it.
 */
struct req;
err alert_stream_open(struct req *r, const char *channel, const struct scope *stream_sc,
                      const struct scope *list_sc, int64_t enterprise_id, const char *action,
                      const char *type, int64_t object_id) MUST_USE;
struct scope alert_enterprise_scope(int64_t enterprise_id);

/*
 * Store alert `a` inside the caller's transaction (or alone when none is
 * open) and schedule its live push for when that transaction commits.
 * E_INPUT "invalid_alert" for an unknown kind or level, a region_code <= 0,
 * an empty or too long message, or a detail that is not a JSON object;
 * E_DB. *id_r (may be NULL) gets the new id. Safe from any thread that owns
 * `d` (event loops, the scan writer, device workers).
 */
err alert_raise(db *d, const struct alert_new *a, int64_t *id_r) MUST_USE;

/*
 * Several servers on one PostgreSQL database: each alert raised is also
 * notified (NOTIFY, sent at its commit), and alert_live_start makes this
 * server listen and push the alerts raised by the others (or by a tool) to
 * its own streams, so a console connected to any server sees every alert
 * live. No-op on SQLite. The server calls these around serving.
 */
err alert_live_start(const char *db_url) MUST_USE;
void alert_live_stop(void);

/* ---- reading and acknowledging (the API's half) ---------------------------- */

struct alert_filter {
    enum alert_kind kind;  /* 0: any */
    int acked;             /* -1 any, 0 open, 1 acknowledged */
    int64_t venue_id;      /* 0: any */
    int64_t from, to;      /* at in [from, to); 0: open */
    int64_t after_id;      /* id > after_id (SSE resume); 0: any */
    int64_t enterprise_id; /* addressed to this enterprise; 0: any */
    int64_t page, page_size;
};

/* Alerts inside scope matching f, newest first (after_id: oldest first), as
 * JSON objects (alert_json). *total_r (may be NULL) counts all matches. */
err alert_list(db *d, const struct scope *sc, const struct alert_filter *f, json_t **items_r,
               int64_t *total_r) MUST_USE;

#define ALERT_NOTE_MAX 200 /* characters */

/* Acknowledge alert id inside scope by user_id with `note` (处理说明, what was
 * done: required, 1..ALERT_NOTE_MAX characters, else E_INPUT "invalid_note"
 * on field "note"); E_NOT_FOUND outside scope, E_CONFLICT "already_acked"
 * when it was. Items (here and in alert_list) carry handled_by_name (the
 * user's display name), handled_at and note, null while open. *item_r (may
 * be NULL) gets it. */
err alert_ack(db *d, const struct scope *sc, int64_t id, int64_t user_id, const char *note,
              json_t **item_r) MUST_USE;

#endif
