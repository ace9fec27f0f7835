/*
 * The outbox (contract in exchange/peer.h; DESIGN §8 "outbox";
 * docs/exchange.md "Peers and the outbox"): the change log
 * (exchange_changes) delivered to every enabled peer subscribed to the
 * dataset, signed, in order per dataset, idempotently, with back-off.
 *
 * Per (peer, dataset) a cursor row holds sent_seq: every change up to it
 * was delivered (or rejected for good by the peer). A round claims the row
 * with a lease (UPDATE … WHERE lease_until < now), so two servers on one
 * PostgreSQL database never send the same batch at once; it reads up to
 * OUTBOX_BATCH changes after the cursor inside the peer's region, sends
 * them as {"records": [...]} (exchange_record_json; a deleted record as
 * {"id", "deleted": true}) to POST <base>/exchange/v1/<dataset> with an
 * Idempotency-Key derived from (our caller id at the peer, the peer, the
 * dataset, the first and last seq), and moves the cursor only on a signed
 * 2xx whose per-record results each say accepted or refused. A server that
 * dies between the peer's answer and the cursor's update sends the same
 * batch again with the same key: the peer replays its first answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "db/periodic.h"
#include "exchange/peer.h"
#include "security/audit.h"

#define OUTBOX_BATCH    500
#define BACKOFF_BASE_MS 2000

static int backoff_max_s = 300;
/* who holds a lease: per thread (the sweep and the offload worker's "send now"
 * of one server are two holders), random so servers never share one */
static _Thread_local char owner[40];

/* A per-record error that may pass: the record is sent again (in the next
 * batch, which starts at it) rather than recorded as refused. */
static bool transient_code(const char *code)
{
    static const char *const codes[] = {"internal_error", "unavailable", "rate_limited",
                                        "queue_full",     "db_error",    NULL};
    for (int i = 0; codes[i]; i++)
        if (!strcmp(code, codes[i]))
            return true;
    return false;
}

/* The region filter of a peer's changes: its subtree, and for the risk
 * areas (one national list, mostly region 0) everything. */
static struct scope peer_scope(const struct exchange_peer *p, int ds)
{
    if (ds == DS_RISK_AREAS || p->region_code <= 0)
        return (struct scope){0, INT64_MAX};
    return scope_of(p->region_code);
}

/* Make sure the cursor row of (peer, dataset) exists. */
static err cursor_row(db *d, int64_t peer_id, const char *ds)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO exchange_outbox (peer_id, dataset) VALUES (?, ?) "
                       "ON CONFLICT (peer_id, dataset) DO NOTHING",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    return db_run(s, NULL);
}

/* Claim (peer, dataset) until now + lease_ms when it is free and due; its
 * cursor and attempts in *seq_r, *attempts_r. force: due or not. */
static err claim(db *d, int64_t peer_id, const char *ds, int64_t now, int64_t lease_ms, bool force,
                 bool *got_r, int64_t *seq_r, int64_t *attempts_r)
{
    *got_r = false;
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE exchange_outbox SET lease_until = ?, lease_owner = ? "
                       "WHERE peer_id = ? AND dataset = ? AND lease_until < ? AND next_at <= ? "
                       "RETURNING sent_seq, attempts",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now + lease_ms);
    db_bind_text(s, 2, owner);
    db_bind_int64(s, 3, peer_id);
    db_bind_text(s, 4, ds);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, force ? INT64_MAX : now); /* "send now" skips the back-off */
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        *got_r = true;
        *seq_r = db_col_int64(s, 0);
        *attempts_r = db_col_int64(s, 1);
    }
    db_done(s);
    return e;
}

/* Move the cursor to seq and extend the lease, while we hold it: false in
 * *held_r when another server took the row meanwhile (our lease ran out). */
static err advance(db *d, int64_t peer_id, const char *ds, int64_t now, int64_t lease_ms,
                   int64_t seq, bool *held_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE exchange_outbox SET sent_seq = ?, attempts = 0, next_at = 0, "
                       "last_error = '', sent_at = ?, lease_until = ? "
                       "WHERE peer_id = ? AND dataset = ? AND lease_owner = ? AND sent_seq <= ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, seq);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now + lease_ms);
    db_bind_int64(s, 4, peer_id);
    db_bind_text(s, 5, ds);
    db_bind_text(s, 6, owner);
    db_bind_int64(s, 7, seq);
    int64_t n = 0;
    e = db_run(s, &n);
    *held_r = n == 1;
    return e;
}

/* Give the lease back; after a failure with the back-off of the attempt. */
static err release(db *d, int64_t peer_id, const char *ds, int64_t now, bool failed,
                   int64_t attempts, const char *why)
{
    int64_t next_at = 0;
    if (failed) {
        int64_t cap = (int64_t)backoff_max_s * 1000, delay = BACKOFF_BASE_MS;
        for (int64_t i = 1; i < attempts && delay < cap; i++)
            delay *= 2;
        next_at = now + (delay < cap ? delay : cap);
    }
    db_stmt *s;
    err e = db_prepare(d,
                       failed ? "UPDATE exchange_outbox SET attempts = ?, next_at = ?, "
                                "last_error = ?, lease_until = 0 "
                                "WHERE peer_id = ? AND dataset = ? AND lease_owner = ?"
                              : "UPDATE exchange_outbox SET lease_until = 0 "
                                "WHERE peer_id = ? AND dataset = ? AND lease_owner = ?",
                       &s);
    if (e)
        return e;
    int b = 1;
    if (failed) {
        db_bind_int64(s, b++, attempts);
        db_bind_int64(s, b++, next_at);
        db_bind_text(s, b++, why ? why : "");
    }
    db_bind_int64(s, b++, peer_id);
    db_bind_text(s, b++, ds);
    db_bind_text(s, b, owner);
    return db_run(s, NULL);
}

struct change {
    int64_t seq, id;
    bool deleted;
};

/* The next changes of ds after `after` inside the peer's region. */
static err next_changes(db *d, arena *a, const struct exchange_peer *p, int ds, int64_t after,
                        struct change **c_r, size_t *n_r)
{
    struct scope sc = peer_scope(p, ds);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT seq, object_id, op FROM exchange_changes WHERE dataset = ? AND "
                       "seq > ? AND region_code >= ? AND region_code < ? ORDER BY seq LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, exchange_dataset_name(ds));
    db_bind_int64(s, 2, after);
    db_bind_int64(s, 3, sc.lo);
    db_bind_int64(s, 4, sc.hi);
    db_bind_int64(s, 5, OUTBOX_BATCH);
    struct change *c = arena_alloc(a, OUTBOX_BATCH * sizeof *c);
    size_t n = 0;
    bool row;
    while (c && !(e = db_row(s, &row)) && row) {
        c[n].seq = db_col_int64(s, 0);
        c[n].id = db_col_int64(s, 1);
        c[n].deleted = !strcmp(db_col_text(s, 2), "delete");
        n++;
    }
    db_done(s);
    if (!c)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    *c_r = c;
    *n_r = n;
    return e;
}

static err reject_row(db *d, const struct exchange_peer *p, const char *ds, const struct change *c,
                      json_t *error, int64_t now)
{
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    char cut[400];
    snprintf(cut, sizeof cut, "%s", msg ? msg : "");
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO exchange_outbox_rejects (id, peer_id, dataset, seq, object_id, "
                       "code, message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, p->id);
    db_bind_text(s, 3, ds);
    db_bind_int64(s, 4, c->seq);
    db_bind_int64(s, 5, c->id);
    db_bind_text(s, 6, code ? code : "rejected");
    db_bind_text(s, 7, cut);
    db_bind_int64(s, 8, now);
    return db_run(s, NULL);
}

/*
 * Read the per-record results of a 2xx answer to n records: *done_r gets
 * how many leading records are settled (accepted, or refused for good and
 * recorded); a transient refusal stops there. E_INPUT when the answer is
 * not the batch answer the contract promises (then nothing is settled).
 */
static err read_results(db *d, const struct exchange_peer *p, const char *ds,
                        const struct change *c, size_t n, const char *body, int64_t now,
                        size_t *done_r, int64_t *rejected_r)
{
    *done_r = 0;
    *rejected_r = 0;
    json_t *j = json_loads(body, 0, NULL);
    json_t *results = json_object_get(j, "results");
    if (!json_is_array(results) || json_array_size(results) != n) {
        json_decref(j);
        return err_set(E_INPUT, "peer_answer_invalid", NULL,
                       "对方应答缺少逐条结果（results 应与推送记录一一对应）");
    }
    /* results may come in any order: index them */
    json_t **by = calloc(n, sizeof *by);
    if (!by) {
        json_decref(j);
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    }
    size_t i;
    json_t *r;
    err e = E_OK;
    json_array_foreach(results, i, r)
    {
        json_int_t k = json_integer_value(json_object_get(r, "index"));
        if (!json_is_integer(json_object_get(r, "index")) || k < 0 || (size_t)k >= n || by[k]) {
            e = err_set(E_INPUT, "peer_answer_invalid", NULL, "对方应答的逐条结果序号不正确");
            break;
        }
        by[k] = r;
    }
    size_t done = 0;
    for (; !e && done < n; done++) {
        json_t *x = by[done];
        if (json_is_true(json_object_get(x, "ok")))
            continue;
        json_t *er = json_object_get(x, "error");
        const char *code = json_string_value(json_object_get(er, "code"));
        if (!code || transient_code(code))
            break;
        if ((e = reject_row(d, p, ds, &c[done], er, now)))
            break;
        ++*rejected_r;
    }
    free(by);
    json_decref(j);
    if (!e)
        *done_r = done;
    return e;
}

/* The key of a batch: the same batch is always sent under the same key. */
static void batch_key(const struct exchange_peer *p, const char *ds, int64_t first, int64_t last,
                      char out[64])
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fprintf(f, "%s|%lld|%s", p->caller, (long long)p->id, ds);
        fclose(f);
    }
    uint8_t h[SM3_LEN];
    sm3(text ? text : "", text ? len : 0, h);
    free(text);
    char hex[17];
    hex_encode(h, 8, hex);
    snprintf(out, 64, "ob:%lld-%lld:%.16s", (long long)first, (long long)last, hex);
}

#define BATCHES_PER_ROUND 20 /* then the other rows get their turn */

/*
 * Send batches of (p, ds) after cursor seq while there are changes and the
 * peer takes them, holding the lease the caller claimed; give it back at
 * the end (with the back-off after a failure). *sent_r: records accepted.
 */
static err deliver(db *d, arena *a, struct exchange_peer *p, int ds, int64_t lease_ms, int64_t seq,
                   int64_t attempts, int64_t *sent_r)
{
    const char *dsn = exchange_dataset_name(ds);
    const char *why = NULL;
    err e = E_OK;
    for (int round = 0; round < BATCHES_PER_ROUND && !why; round++) {
        struct change *c = NULL;
        size_t n = 0;
        if ((e = next_changes(d, a, p, ds, seq, &c, &n)) || !n)
            break;
        json_t *records = json_array();
        for (size_t i = 0; i < n && !e; i++) {
            json_t *rec = NULL;
            if (!c[i].deleted && (e = exchange_record_json(d, a, (enum exchange_dataset)ds, c[i].id,
                                                           &rec)) == E_NOT_FOUND) {
                err_clear(); /* gone since: sent as deleted */
                e = E_OK;
            }
            if (!e && !rec) {
                rec = json_object();
                json_set_id(rec, "id", c[i].id);
                json_object_set_new(rec, "deleted", json_true());
            }
            if (!e)
                json_array_append_new(records, rec);
        }
        json_t *o = json_object();
        json_object_set_new(o, "records", records);
        char *body = e ? NULL : json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (e)
            break;
        if (!body) {
            e = err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
            break;
        }
        char key[64];
        batch_key(p, dsn, c[0].seq, c[n - 1].seq, key);
        /* the records leave with their personal data: audited first, and
         * not sent when the entry cannot be written */
        struct audit_entry ae = {.username = "outbox",
                                 .role = "system",
                                 .ip = "",
                                 .action = "exchange.outbox.send",
                                 .object_type = "exchange_peer",
                                 .object_id = p->id,
                                 .result = "ok",
                                 .detail =
                                     arena_printf(a, "dataset=%s records=%zu seq=%lld..%lld", dsn,
                                                  n, (long long)c[0].seq, (long long)c[n - 1].seq)};
        if ((e = audit_log(d, &ae))) {
            free(body);
            break;
        }
        p->front = "outbox";
        p->call_records = (int64_t)n;
        struct exchange_peer_reply rep;
        err ce = exchange_peer_call(d, a, p, "POST", arena_printf(a, "/exchange/v1/%s", dsn), body,
                                    key, &rep);
        free(body);
        int64_t t = now_ms();
        if (ce) {
            why = arena_strdup(a, err_last()->message);
            break;
        }
        if (rep.status < 200 || rep.status > 299) {
            json_t *j = json_loads(rep.body, 0, NULL);
            const char *m =
                json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            why = arena_printf(a, "对方返回 HTTP %d%s%s", rep.status, m ? "：" : "", m ? m : "");
            json_decref(j);
            /* any refusal of a whole batch is a failure of the peer for us */
            e = exchange_peer_mark(d, p->id, false, why);
            break;
        }
        /* the refusals recorded and the cursor moved in one transaction */
        size_t done = 0;
        int64_t rejected = 0;
        bool held = true;
        err re = E_OK;
        if ((e = db_begin(d)))
            break;
        e = read_results(d, p, dsn, c, n, rep.body, t, &done, &rejected);
        if (!e && done)
            e = advance(d, p->id, dsn, t, lease_ms, c[done - 1].seq, &held);
        if (!e && held)
            re = db_commit(d);
        else
            db_rollback(d);
        if (e == E_INPUT) { /* an answer the contract does not allow */
            why = arena_strdup(a, err_last()->message);
            e = E_OK;
            if ((re = exchange_peer_mark(d, p->id, false, why)))
                e = re;
            break;
        }
        if (e || (e = re))
            break;
        if (!held) /* another server has the row now: it goes on from the cursor */
            return E_OK;
        if (done)
            seq = c[done - 1].seq;
        *sent_r += (int64_t)done - rejected;
        attempts = 0;
        if (rejected)
            log_event(LOG_WARN, "exchange_outbox_rejected", "peer", p->name, "dataset", dsn, NULL);
        if (done < n)
            why = "对方暂时无法处理部分记录，稍后重发";
        else if (n < OUTBOX_BATCH)
            break;
    }
    err re = release(d, p->id, dsn, now_ms(), why != NULL || e != E_OK, attempts + 1,
                     why ? why
                     : e ? err_last()->message
                         : NULL);
    return e ? e : re;
}

/* Cut s to at most max characters (UTF-8) in a. */
static const char *cut_chars(arena *a, const char *s, size_t max)
{
    size_t i = 0, n = 0;
    while (s[i] && n < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        n++;
    }
    return s[i] ? arena_printf(a, "%.*s…", (int)i, s) : s;
}

/* Set flag (fail_alerted or stale_alerted) of peer id to v when it is not:
 * *won_r says this call changed it (so the alert is raised once whichever
 * server gets there first). */
static err flip(db *d, int64_t id, bool stale, int v, bool *won_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       stale ? "UPDATE exchange_peers SET stale_alerted = ? WHERE id = ? AND "
                               "stale_alerted <> ?"
                             : "UPDATE exchange_peers SET fail_alerted = ? WHERE id = ? AND "
                               "fail_alerted <> ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, v);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, v);
    int64_t n = 0;
    e = db_run(s, &n);
    *won_r = n == 1;
    return e;
}

static err raise_once(db *d, arena *a, const struct exchange_peer *p, bool stale,
                      const char *message)
{
    err e = db_begin(d);
    bool won = false;
    if (e)
        return e;
    e = flip(d, p->id, stale, 1, &won);
    if (!e && won) {
        struct alert_new al = {.kind = stale ? ALERT_EXCHANGE_OUTBOX_STALE
                                             : ALERT_EXCHANGE_PEER_FAILING,
                               .level = ALERT_WARNING,
                               .region_code = p->region_code,
                               .message = message,
                               .detail = arena_printf(a, "{\"peer_id\":\"%lld\",\"kind\":\"%s\"}",
                                                      (long long)p->id, p->kind)};
        e = alert_raise(d, &al, NULL);
        if (!e)
            log_event(LOG_WARN, stale ? "exchange_outbox_stale" : "exchange_peer_failing", "peer",
                      p->name, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* The oldest undelivered change (its time, 0 when none) and the backlog of
 * (p, ds). */
static err pending(db *d, const struct exchange_peer *p, int ds, int64_t sent_seq,
                   int64_t *oldest_r, int64_t *count_r)
{
    struct scope sc = peer_scope(p, ds);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*), MIN(at) FROM exchange_changes WHERE dataset = ? AND "
                       "seq > ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, exchange_dataset_name(ds));
    db_bind_int64(s, 2, sent_seq);
    db_bind_int64(s, 3, sc.lo);
    db_bind_int64(s, 4, sc.hi);
    bool row;
    *oldest_r = *count_r = 0;
    if (!(e = db_row(s, &row)) && row) {
        *count_r = db_col_int64(s, 0);
        *oldest_r = db_col_null(s, 1) ? 0 : db_col_int64(s, 1);
    }
    db_done(s);
    return e;
}

/* The cursor row of (p, ds): sent_seq, attempts, next_at, last_error. */
static err cursor_of(db *d, arena *a, int64_t peer_id, const char *ds, int64_t *seq_r,
                     int64_t *attempts_r, int64_t *next_r, const char **why_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT sent_seq, attempts, next_at, last_error FROM exchange_outbox "
                       "WHERE peer_id = ? AND dataset = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, peer_id);
    db_bind_text(s, 2, ds);
    bool row;
    *seq_r = *attempts_r = *next_r = 0;
    *why_r = "";
    if (!(e = db_row(s, &row)) && row) {
        *seq_r = db_col_int64(s, 0);
        *attempts_r = db_col_int64(s, 1);
        *next_r = db_col_int64(s, 2);
        *why_r = arena_strdup(a, db_col_text(s, 3));
    }
    db_done(s);
    return e;
}

err exchange_outbox_state(db *d, const struct exchange_peer *p, json_t **items_r)
{
    /* a private arena: the few strings of this read only */
    arena *a = arena_new(1024);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    json_t *items = json_array();
    err e = E_OK;
    for (int ds = 0; ds < DS__COUNT && !e; ds++) {
        if (!(p->datasets & (1u << ds)))
            continue;
        int64_t seq, attempts, next_at, oldest, backlog;
        const char *why;
        if ((e = cursor_of(d, a, p->id, exchange_dataset_name(ds), &seq, &attempts, &next_at,
                           &why)) ||
            (e = pending(d, p, ds, seq, &oldest, &backlog)))
            break;
        json_t *o = json_object();
        json_object_set_new(o, "dataset", json_string(exchange_dataset_name(ds)));
        json_object_set_new(o, "sent_seq", json_integer(seq));
        json_object_set_new(o, "backlog", json_integer(backlog));
        char t[CHINA_TIME_LEN];
        if (oldest) {
            china_time(oldest, t);
            json_object_set_new(o, "oldest_at", json_string(t));
        } else {
            json_object_set_new(o, "oldest_at", json_null());
        }
        json_object_set_new(o, "attempts", json_integer(attempts));
        if (next_at) {
            china_time(next_at, t);
            json_object_set_new(o, "next_at", json_string(t));
        } else {
            json_object_set_new(o, "next_at", json_null());
        }
        json_object_set_new(o, "last_error", json_string(why));
        json_array_append_new(items, o);
    }
    arena_free(&a);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* The alerts of peer p: failing for longer than its threshold, or its
 * oldest undelivered change older than its threshold; each raised once per
 * episode, the episode ending when the condition does. */
static err check_alerts(db *d, arena *a, const struct exchange_peer *p, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT failing_since, fail_alerted, stale_alerted, last_error "
                       "FROM exchange_peers WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, p->id);
    bool row;
    int64_t since = 0, fail_alerted = 0, stale_alerted = 0;
    const char *why = "";
    if (!(e = db_row(s, &row)) && row) {
        since = db_col_int64(s, 0);
        fail_alerted = db_col_int64(s, 1);
        stale_alerted = db_col_int64(s, 2);
        why = arena_strdup(a, db_col_text(s, 3));
    }
    db_done(s);
    if (e || !row)
        return e;
    if (since > 0 && !fail_alerted && since + (int64_t)p->fail_after_s * 1000 <= now) {
        const char *m =
            arena_printf(a, "对接系统“%s”已连续失败 %lld 分钟：%s", cut_chars(a, p->name, 30),
                         (long long)((now - since) / 60000), cut_chars(a, why, 100));
        if ((e = raise_once(d, a, p, false, m)))
            return e;
    }
    int64_t oldest = 0;
    for (int ds = 0; ds < DS__COUNT && !e; ds++) {
        if (!(p->datasets & (1u << ds)))
            continue;
        int64_t seq, attempts, next_at, o, n;
        const char *w;
        if ((e = cursor_of(d, a, p->id, exchange_dataset_name(ds), &seq, &attempts, &next_at,
                           &w)) ||
            (e = pending(d, p, ds, seq, &o, &n)))
            return e;
        if (o && (!oldest || o < oldest))
            oldest = o;
    }
    bool stale = oldest && oldest + (int64_t)p->stale_after_s * 1000 <= now;
    if (stale && !stale_alerted) {
        const char *m =
            arena_printf(a, "对接系统“%s”有待推送数据积压超过 %lld 分钟未送达",
                         cut_chars(a, p->name, 30), (long long)((now - oldest) / 60000));
        return raise_once(d, a, p, true, m);
    }
    bool won;
    if (!stale && stale_alerted)
        return flip(d, p->id, true, 0, &won);
    return E_OK;
}

err exchange_outbox_run(db *d, int64_t now, int64_t only_peer, int64_t *sent_r)
{
    *sent_r = 0;
    if (!*owner) {
        uint8_t r[6];
        char hex[13];
        if (random_bytes(r, sizeof r))
            memset(r, 0, sizeof r);
        hex_encode(r, sizeof r, hex);
        snprintf(owner, sizeof owner, "%d-%s", (int)getpid(), hex);
    }
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM exchange_peers WHERE enabled = 1 AND id >= ? AND id <= ? "
                       "ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, only_peer ? only_peer : INT64_MIN);
    db_bind_int64(s, 2, only_peer ? only_peer : INT64_MAX);
    int64_t ids[256];
    size_t n = 0;
    bool row;
    while (n < sizeof ids / sizeof ids[0] && !(e = db_row(s, &row)) && row)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    for (size_t i = 0; i < n && !e; i++) {
        /* a private arena per peer: the outbox runs outside any request */
        arena *a = arena_new(64 * 1024);
        if (!a)
            return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
        struct exchange_peer *p = NULL;
        e = exchange_peer_load(d, a, ids[i], &p);
        int64_t lease_ms = p ? (int64_t)(2 * p->timeout_s + 30) * 1000 : 0;
        for (int ds = 0; ds < DS__COUNT && !e; ds++) {
            if (!(p->datasets & (1u << ds)))
                continue;
            const char *dsn = exchange_dataset_name(ds);
            bool got;
            int64_t seq, attempts;
            if ((e = cursor_row(d, p->id, dsn)) ||
                (e = claim(d, p->id, dsn, now_ms(), lease_ms, only_peer != 0, &got, &seq,
                           &attempts)) ||
                !got)
                continue;
            e = deliver(d, a, p, ds, lease_ms, seq, attempts, sent_r);
        }
        if (!e)
            e = check_alerts(d, a, p, now);
        arena_free(&a);
    }
    return e;
}

static err sweep(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)ctx;
    return exchange_outbox_run(d, now, 0, count_r);
}

static struct periodic sender = PERIODIC_INIT("exchange_outbox", sweep, NULL);

err exchange_outbox_start(const char *db_url, int every_s, int backoff_max)
{
    if (backoff_max > 0)
        backoff_max_s = backoff_max;
    return periodic_start(&sender, db_url, every_s);
}

void exchange_outbox_stop(void)
{
    periodic_stop(&sender);
}
