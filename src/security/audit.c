/*
 * The audit log's writer thread, its hash chain, and verification.
 */
#include "security/audit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/id.h"
#include "base/log.h"
#include "security/crypto.h"

#define BATCH_MAX 1024
#define FLUSH_MS  20

struct queued {
    struct queued *next;
    int64_t id, at, user_id, object_id;
    char *username, *role, *ip, *action, *object_type, *result, *detail;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, drained;
    struct queued *head, *tail;
    uint64_t queued_n, written_n;
    bool running, stop;
    bool idle;    /* the writer waits for work and must be woken */
    bool linking; /* entries are being appended and not yet committed */
    pthread_t thread;
    db *db;
    /* the chain head of this node */
    int64_t seq;
    uint8_t hash[SM3_LEN];
    bool loaded;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .wake = PTHREAD_COND_INITIALIZER,
       .drained = PTHREAD_COND_INITIALIZER};

/* printf into buf, or into a fresh heap buffer when buf is too small (the
 * caller frees a result other than buf): the whole entry is always hashed. */
static char *format_all(char *buf, size_t cap, size_t *n_r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static char *format_all(char *buf, size_t cap, size_t *n_r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    *n_r = (size_t)n;
    if ((size_t)n < cap)
        return buf;
    char *p = malloc((size_t)n + 1);
    if (!p)
        abort();
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* The canonical text an entry's hash covers. Fields are separated by a
 * unit separator, which the stored values cannot contain unnoticed: a value
 * with one in it changes the text and so the hash. */
static char *canonical(char *buf, size_t cap, size_t *n_r, int64_t id, int node, int64_t seq,
                       int64_t at, int64_t user_id, const char *username, const char *role,
                       const char *ip, const char *action, const char *object_type,
                       int64_t object_id, const char *result, const char *detail)
{
    return format_all(
        buf, cap, n_r,
        "%lld\x1f%d\x1f%lld\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%lld\x1f%s\x1f%s",
        (long long)id, node, (long long)seq, (long long)at, (long long)user_id, username, role, ip,
        action, object_type, (long long)object_id, result, detail);
}

static void chain_hash(const uint8_t prev[SM3_LEN], const char *text, size_t n,
                       uint8_t out[SM3_LEN])
{
    /* SM3(prev || text), without building a second buffer */
    size_t total = SM3_LEN + n;
    uint8_t stackbuf[4096];
    uint8_t *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!buf)
        abort();
    memcpy(buf, prev, SM3_LEN);
    memcpy(buf + SM3_LEN, text, n);
    sm3(buf, total, out);
    if (buf != stackbuf)
        free(buf);
}

static err load_head(db *d)
{
    if (w.loaded)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT seq, hash FROM audit_log WHERE node = ? ORDER BY seq DESC LIMIT 1", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_node());
    int rc = db_step(s);
    w.seq = 0;
    memset(w.hash, 0, SM3_LEN);
    if (rc == DB_ROW) {
        size_t n;
        const void *h = db_col_blob(s, 1, &n);
        w.seq = db_col_int64(s, 0);
        if (n == SM3_LEN)
            memcpy(w.hash, h, SM3_LEN);
    } else if (rc != DB_DONE) {
        e = db_step_err(s);
    }
    db_done(s);
    if (!e)
        w.loaded = true;
    return e;
}

/* The chain head is recorded beside the chain, so removing the newest
 * entries (which leaves every remaining link intact) is still detected. */
static err save_head(db *d, int64_t seq, const uint8_t hash[SM3_LEN])
{
    char key[32], value[24 + 2 * SM3_LEN];
    snprintf(key, sizeof key, "audit_head:%d", id_node());
    int n = snprintf(value, sizeof value, "%lld:", (long long)seq);
    hex_encode(hash, SM3_LEN, value + n);
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    db_bind_text(s, 2, value);
    if (db_step(s) != DB_DONE)
        e = db_step_err(s);
    db_done(s);
    return e;
}

/* Insert a list of entries after the chain head inside the open transaction
 * on d, and record the new head; the new head is left in *seq_r and hash
 * for the caller to adopt once the transaction has committed. */
static err append_in(db *d, struct queued *list, int64_t *seq_r, uint8_t hash[SM3_LEN])
{
    err e = load_head(d);
    if (e)
        return e;
    int64_t seq = w.seq;
    memcpy(hash, w.hash, SM3_LEN);
    for (struct queued *q = list; q; q = q->next) {
        char buf[2048];
        size_t n;
        seq++;
        char *text = canonical(buf, sizeof buf, &n, q->id, id_node(), seq, q->at, q->user_id,
                               q->username, q->role, q->ip, q->action, q->object_type, q->object_id,
                               q->result, q->detail);
        uint8_t next[SM3_LEN];
        chain_hash(hash, text, n, next);
        if (text != buf)
            free(text);
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO audit_log (id, node, seq, at, user_id, username, role, "
                            "ip, action, object_type, object_id, result, detail, prev_hash, hash) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, q->id);
        db_bind_int64(s, 2, id_node());
        db_bind_int64(s, 3, seq);
        db_bind_int64(s, 4, q->at);
        db_bind_int64(s, 5, q->user_id);
        db_bind_text(s, 6, q->username);
        db_bind_text(s, 7, q->role);
        db_bind_text(s, 8, q->ip);
        db_bind_text(s, 9, q->action);
        db_bind_text(s, 10, q->object_type);
        db_bind_int64(s, 11, q->object_id);
        db_bind_text(s, 12, q->result);
        db_bind_text(s, 13, q->detail);
        db_bind_blob(s, 14, hash, SM3_LEN);
        db_bind_blob(s, 15, next, SM3_LEN);
        if (db_step(s) != DB_DONE)
            e = db_step_err(s);
        db_done(s);
        if (e)
            return e;
        memcpy(hash, next, SM3_LEN);
    }
    *seq_r = seq;
    return save_head(d, seq, hash);
}

/* Append a list of entries in one transaction of its own; on failure the
 * chain head is reloaded from the database so the next batch links to what
 * is durable. */
static err append(db *d, struct queued *list)
{
    int64_t seq;
    uint8_t hash[SM3_LEN];
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = append_in(d, list, &seq, hash)) || (e = db_commit(d))) {
        db_rollback(d);
        w.loaded = false;
        return e;
    }
    w.seq = seq;
    memcpy(w.hash, hash, SM3_LEN);
    return E_OK;
}

/* One allocation per entry, its strings packed after the struct: the
 * request thread allocates and the writer thread frees, so fewer and larger
 * blocks keep both cheap. */
static struct queued *make(const struct audit_entry *e)
{
    const char *src[7] = {e->username, e->role,        e->ip,
                          e->action,   e->object_type, e->result ? e->result : "ok",
                          e->detail};
    size_t len[7], total = sizeof(struct queued);
    for (int i = 0; i < 7; i++) {
        len[i] = src[i] ? strlen(src[i]) : 0;
        total += len[i] + 1;
    }
    struct queued *q = malloc(total);
    if (!q)
        abort();
    char *out[7], *p = (char *)(q + 1);
    for (int i = 0; i < 7; i++) {
        out[i] = p;
        if (len[i])
            memcpy(p, src[i], len[i]);
        p[len[i]] = '\0';
        p += len[i] + 1;
    }
    *q = (struct queued){
        .id = id_new(),
        .user_id = e->user_id,
        .object_id = e->object_id,
        .username = out[0],
        .role = out[1],
        .ip = out[2],
        .action = out[3],
        .object_type = out[4],
        .result = out[5],
        .detail = out[6],
    };
    q->at = id_time_ms(q->id);
    return q;
}

/* Append with retries. Another process on the same node (a CLI command
 * beside the server) may have taken the next sequence number or, in the same
 * millisecond, the same id: reload the head and give the batch fresh ids. */
static err append_retry(db *d, struct queued *list)
{
    err e;
    int tries = 0;
    while ((e = append(d, list)) && ++tries < 50) {
        for (struct queued *q = list; q; q = q->next) {
            q->id = id_new();
            q->at = id_time_ms(q->id);
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return e;
}

static void free_list(struct queued *q)
{
    while (q) {
        struct queued *next = q->next;
        free(q);
        q = next;
    }
}

void audit_log(db *d, const struct audit_entry *e)
{
    struct queued *q = make(e);
    pthread_mutex_lock(&w.mu);
    if (!w.running) {
        pthread_mutex_unlock(&w.mu);
        if (append_retry(d, q))
            log_event(LOG_ERROR, "audit_write_failed", "action", q->action, NULL);
        free_list(q);
        return;
    }
    if (w.tail)
        w.tail->next = q;
    else
        w.head = q;
    w.tail = q;
    w.queued_n++;
    if (w.idle) /* a busy writer finds the entry on its next batch: no wake-up */
        pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.mu);
}

static void *writer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w.mu);
    for (;;) {
        while (!w.head && !w.stop) {
            w.idle = true;
            pthread_cond_wait(&w.wake, &w.mu);
            w.idle = false;
        }
        if (!w.head && w.stop)
            break;
        /* let a batch gather, unless stopping */
        if (!w.stop) {
            pthread_mutex_unlock(&w.mu);
            struct timespec ts = {0, FLUSH_MS * 1000000L};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&w.mu);
        }
        while (w.linking) /* audit_join's transaction has not ended yet */
            pthread_cond_wait(&w.drained, &w.mu);
        if (!w.head)
            continue;
        struct queued *batch = w.head, *last = batch;
        uint64_t n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        w.head = last->next;
        if (!w.head)
            w.tail = NULL;
        last->next = NULL;
        w.linking = true;
        pthread_mutex_unlock(&w.mu);

        err e = append_retry(w.db, batch);
        if (e)
            log_event(LOG_ERROR, "audit_write_failed", "action", batch->action, NULL);
        free_list(batch);

        pthread_mutex_lock(&w.mu);
        w.linking = false;
        w.written_n += n;
        pthread_cond_broadcast(&w.drained);
    }
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

struct joined {
    struct queued *list, *last;
    uint64_t n;
    int64_t seq;
    uint8_t hash[SM3_LEN];
};

/* The end of the transaction audit_join appended to. */
static void joined_end(void *ctx, bool committed)
{
    struct joined *j = ctx;
    pthread_mutex_lock(&w.mu);
    if (committed) {
        w.seq = j->seq;
        memcpy(w.hash, j->hash, SM3_LEN);
        w.written_n += j->n;
    } else { /* back to the front of the queue, in order, for the writer */
        j->last->next = w.head;
        w.head = j->list;
        if (!w.tail)
            w.tail = j->last;
        w.loaded = false;
        j->list = NULL;
        if (w.idle)
            pthread_cond_signal(&w.wake);
    }
    w.linking = false;
    pthread_cond_broadcast(&w.drained);
    pthread_mutex_unlock(&w.mu);
    free_list(j->list);
    free(j);
}

err audit_join(db *d)
{
    if (!db_in_tx(d))
        return E_OK;
    struct joined *j = calloc(1, sizeof *j);
    if (!j)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    pthread_mutex_lock(&w.mu);
    if (!w.running || !w.head || w.linking) { /* nothing, or the writer is at it */
        pthread_mutex_unlock(&w.mu);
        free(j);
        return E_OK;
    }
    j->list = j->last = w.head;
    j->n = 1;
    while (j->last->next && j->n < BATCH_MAX) {
        j->last = j->last->next;
        j->n++;
    }
    w.head = j->last->next;
    if (!w.head)
        w.tail = NULL;
    j->last->next = NULL;
    w.linking = true;
    pthread_mutex_unlock(&w.mu);
    /* from here joined_end runs exactly once, when the transaction ends */
    err e = db_after_commit(d, joined_end, j);
    if (e) {
        joined_end(j, false);
        return e;
    }
    return append_in(d, j->list, &j->seq, j->hash);
}

err audit_start(const char *db_url)
{
    err e = db_open(db_url, &w.db);
    if (e)
        return e;
    w.loaded = false;
    w.stop = false;
    w.running = true;
    if (pthread_create(&w.thread, NULL, writer, NULL)) {
        w.running = false;
        db_close(&w.db);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    pthread_setname_np(w.thread, "fk-audit");
    return E_OK;
}

void audit_flush(void)
{
    pthread_mutex_lock(&w.mu);
    uint64_t target = w.queued_n;
    while (w.running && w.written_n < target)
        pthread_cond_wait(&w.drained, &w.mu);
    pthread_mutex_unlock(&w.mu);
}

void audit_stop(void)
{
    pthread_mutex_lock(&w.mu);
    if (!w.running) {
        pthread_mutex_unlock(&w.mu);
        return;
    }
    w.stop = true;
    pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    pthread_mutex_lock(&w.mu);
    w.running = false;
    pthread_mutex_unlock(&w.mu);
    db_close(&w.db);
}

struct chain_end {
    int node;
    int64_t seq, id;
    uint8_t hash[SM3_LEN];
};

/* Every recorded head must be the last entry of its chain. */
static err check_heads(db *d, const struct chain_end *ends, int nends,
                       struct audit_verify_result *r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT key, value FROM settings WHERE key LIKE 'audit_head:%'", &s);
    if (e)
        return e;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int node = (int)strtol(db_col_text(s, 0) + strlen("audit_head:"), NULL, 10);
        const char *v = db_col_text(s, 1);
        long long seq = strtoll(v, NULL, 10);
        const char *colon = strchr(v, ':');
        uint8_t hash[SM3_LEN];
        bool ok = colon && hex_decode(colon + 1, hash, SM3_LEN);
        const struct chain_end *end = NULL;
        for (int i = 0; i < nends; i++)
            if (ends[i].node == node)
                end = &ends[i];
        if (!ok || !end || end->seq != seq || !ct_equal(end->hash, hash, SM3_LEN)) {
            r->node = node;
            r->broken_id = end ? end->id : -1;
            snprintf(r->reason, sizeof r->reason,
                     "chain ends at seq %lld but its recorded head is seq %lld "
                     "(newest entries removed)",
                     end ? (long long)end->seq : 0LL, seq);
            break;
        }
    }
    if (rc != DB_ROW && rc != DB_DONE)
        e = db_step_err(s);
    db_done(s);
    return e;
}

err audit_verify(db *d, struct audit_verify_result *r)
{
    memset(r, 0, sizeof *r);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, node, seq, at, user_id, username, role, ip, action, "
                       "object_type, object_id, result, detail, prev_hash, hash FROM audit_log "
                       "ORDER BY node, seq",
                       &s);
    if (e)
        return e;
    int node = -1;
    int64_t seq = 0, last_id = 0;
    uint8_t hash[SM3_LEN];
    struct chain_end ends[64];
    int nends = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t id = db_col_int64(s, 0);
        int n_node = (int)db_col_int64(s, 1);
        int64_t n_seq = db_col_int64(s, 2);
        size_t plen, hlen;
        const void *prev = db_col_blob(s, 13, &plen);
        const void *stored = db_col_blob(s, 14, &hlen);
        bool first = n_node != node;
        if (first && node >= 0 && nends < 64) {
            ends[nends] = (struct chain_end){node, seq, last_id, {0}};
            memcpy(ends[nends++].hash, hash, SM3_LEN);
        }
        if (first) {
            /* a chain may start after retention removed its oldest entries:
             * the first remaining entry's prev_hash is taken as the anchor */
            node = n_node;
            if (plen == SM3_LEN)
                memcpy(hash, prev, SM3_LEN);
            seq = n_seq - 1;
        }
        const char *why = NULL;
        if (n_seq != seq + 1)
            why = "missing entries before this one (sequence gap)";
        else if (plen != SM3_LEN || !ct_equal(prev, hash, SM3_LEN))
            why = "previous-hash link does not match the entry before";
        char buf[2048];
        size_t n;
        char *text = canonical(buf, sizeof buf, &n, id, n_node, n_seq, db_col_int64(s, 3),
                               db_col_int64(s, 4), db_col_text(s, 5), db_col_text(s, 6),
                               db_col_text(s, 7), db_col_text(s, 8), db_col_text(s, 9),
                               db_col_int64(s, 10), db_col_text(s, 11), db_col_text(s, 12));
        uint8_t expect[SM3_LEN];
        chain_hash(hash, text, n, expect);
        if (text != buf)
            free(text);
        if (!why && (hlen != SM3_LEN || !ct_equal(stored, expect, SM3_LEN)))
            why = "entry content does not match its hash (edited)";
        if (why) {
            r->broken_id = id;
            r->node = n_node;
            snprintf(r->reason, sizeof r->reason, "%s", why);
            break;
        }
        r->checked++;
        last_id = id;
        seq = n_seq;
        memcpy(hash, expect, SM3_LEN);
    }
    if (rc != DB_ROW && rc != DB_DONE)
        e = db_step_err(s);
    db_done(s);
    if (e || r->broken_id)
        return e;
    if (node >= 0 && nends < 64) {
        ends[nends] = (struct chain_end){node, seq, last_id, {0}};
        memcpy(ends[nends++].hash, hash, SM3_LEN);
    }
    return check_heads(d, ends, nends, r);
}
