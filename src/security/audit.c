/*
 * The audit log's writer thread, its keyed hash chain, the anchors outside
 * the database (checkpoints and retention markers), pruning and
 * verification.
 */
#include "security/audit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "security/audit_syslog.h"
#include "security/crypto.h"

#define BATCH_MAX     1024
#define QUEUE_DEFAULT 100000
#define FLUSH_MS      20
#define REKEY_BATCH   2000
#define ANCHOR_LINE   384

struct queued {
    struct queued *next;
    int64_t id, at, user_id, object_id;
    char *username, *role, *ip, *action, *object_type, *result, *detail;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, drained;
    struct queued *head, *tail;
    uint64_t queued_n, written_n; /* queued_n - written_n: queued, not yet written */
    uint64_t queue_max;           /* the cap on that difference */
    bool full;                    /* refusing entries (logged once per episode) */
    bool running, stop;
    bool idle;    /* the writer waits for work and must be woken */
    bool linking; /* queued entries are being appended and not yet committed */
    pthread_t thread;
    db *db;
    /* the newest head of this node's chain that this process committed, for
     * checkpoints: what this process saw durable, never read back from the
     * database a tamperer can write */
    int64_t seq;
    uint8_t hash[SM3_LEN];
    int kv;                 /* the audit key version of that head's segment */
    bool have_head;         /* seq/hash hold a committed head */
    int64_t committed;      /* entries this process committed */
    int64_t checkpointed;   /* seq of the last checkpoint written */
    bool atexit_registered; /* a tool's exit writes a checkpoint */
    char anchor_file[4096];
    int checkpoint_s;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .wake = PTHREAD_COND_INITIALIZER,
       .drained = PTHREAD_COND_INITIALIZER,
       .checkpointed = -1,
       .checkpoint_s = 60,
       .queue_max = QUEUE_DEFAULT};

void audit_set_queue_max(size_t n)
{
    pthread_mutex_lock(&w.mu);
    w.queue_max = n ? n : QUEUE_DEFAULT;
    pthread_mutex_unlock(&w.mu);
}

size_t audit_queue_depth(void)
{
    pthread_mutex_lock(&w.mu);
    size_t n = (size_t)(w.queued_n - w.written_n);
    pthread_mutex_unlock(&w.mu);
    return n;
}

void audit_configure(const char *anchor_file, int checkpoint_s)
{
    snprintf(w.anchor_file, sizeof w.anchor_file, "%s", anchor_file ? anchor_file : "");
    w.checkpoint_s = checkpoint_s > 0 ? checkpoint_s : 60;
}

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

/* hash = HMAC-SM3(key, prev || text), key the chain key of the entry's
 * audit key version; key NULL gives the plain SM3 of the chains written
 * before migration 009 (audit_upgrade only). */
static void chain_hash(const uint8_t *key, const uint8_t prev[SM3_LEN], const char *text, size_t n,
                       uint8_t out[SM3_LEN])
{
    size_t total = SM3_LEN + n;
    uint8_t stackbuf[4096];
    uint8_t *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!buf)
        abort();
    memcpy(buf, prev, SM3_LEN);
    memcpy(buf + SM3_LEN, text, n);
    if (key)
        hmac_sm3(key, SM3_LEN, buf, total, out);
    else
        sm3(buf, total, out);
    if (buf != stackbuf)
        free(buf);
}

/* The tag a key switch entry records of the head it follows: HMAC-SM3
 * under the old version's chain key of the head's hash and the new
 * version, so the switch point is vouched for by the old key as well as
 * chained under the new one (docs/audit.md, "Rotating the audit key"). */
static void switch_tag(const uint8_t old_key[SM3_LEN], const uint8_t head[SM3_LEN], int to_version,
                       uint8_t out[SM3_LEN])
{
    uint8_t buf[SM3_LEN + 48];
    memcpy(buf, head, SM3_LEN);
    int n = snprintf((char *)buf + SM3_LEN, sizeof buf - SM3_LEN, "audit.key_switch to_version=%d",
                     to_version);
    hmac_sm3(old_key, SM3_LEN, buf, SM3_LEN + (size_t)n, out);
}

/* The columns of an audit_log row that entry_check reads, in its order. */
#define ENTRY_COLS                                                                                 \
    "id, node, seq, at, user_id, username, role, ip, action, object_type, object_id, result, "     \
    "detail, prev_hash, hash"

/* One stored entry, checked against the chain before it. */
struct entry {
    int64_t id, seq, at;
    int node;
    const uint8_t *prev;     /* its stored previous-hash, NULL unless SM3_LEN long */
    const uint8_t *stored;   /* its stored hash, likewise (both live until the next step) */
    uint8_t expect[SM3_LEN]; /* the hash it must have after `prev` */
    bool linked;             /* stored previous-hash == the prev given */
    bool intact;             /* stored hash == expect */
};

/*
 * The one check of an entry that verification and re-keying share: read
 * the current row of `s` (ENTRY_COLS), compute the hash it must have after
 * `prev` (keyed, or the legacy plain SM3) and compare both stored hashes.
 */
static void entry_check(db_stmt *s, const uint8_t *key, const uint8_t prev[SM3_LEN],
                        struct entry *x)
{
    size_t plen, hlen;
    x->id = db_col_int64(s, 0);
    x->node = (int)db_col_int64(s, 1);
    x->seq = db_col_int64(s, 2);
    x->at = db_col_int64(s, 3);
    x->prev = db_col_blob(s, 13, &plen);
    x->stored = db_col_blob(s, 14, &hlen);
    if (plen != SM3_LEN)
        x->prev = NULL;
    if (hlen != SM3_LEN)
        x->stored = NULL;
    char buf[2048];
    size_t n;
    char *text =
        canonical(buf, sizeof buf, &n, x->id, x->node, x->seq, x->at, db_col_int64(s, 4),
                  db_col_text(s, 5), db_col_text(s, 6), db_col_text(s, 7), db_col_text(s, 8),
                  db_col_text(s, 9), db_col_int64(s, 10), db_col_text(s, 11), db_col_text(s, 12));
    chain_hash(key, prev, text, n, x->expect);
    if (text != buf)
        free(text);
    x->linked = x->prev && ct_equal(x->prev, prev, SM3_LEN);
    x->intact = x->stored && ct_equal(x->stored, x->expect, SM3_LEN);
}

/* ---- anchors: checkpoints and retention markers outside the database ---- */

/* The audit key version `version`'s key for p, re-reading the key file
 * once when it is not held (another server added it). */
static bool audit_key(int version, enum key_purpose p, uint8_t out[SM3_LEN])
{
    if (keys_audit_key(version, p, out))
        return true;
    if (keys_reload_if_changed())
        return false;
    return keys_audit_key(version, p, out);
}

/* The signed text of an anchor: "<kind> node=N seq=S hash=H count=C at=T",
 * and " key=V" when it is signed with an audit key version after the first
 * (lines of version 1 are as they were before versions existed). */
static int anchor_text(char *buf, size_t cap, const char *kind, int node, int64_t seq,
                       const uint8_t hash[SM3_LEN], int64_t count, int64_t at, int kv)
{
    char hex[2 * SM3_LEN + 1];
    hex_encode(hash, SM3_LEN, hex);
    int n = snprintf(buf, cap, "%s node=%d seq=%lld hash=%s count=%lld at=%lld", kind, node,
                     (long long)seq, hex, (long long)count, (long long)at);
    if (kv > 1)
        n += snprintf(buf + n, cap - (size_t)n, " key=%d", kv);
    return n;
}

/* The anchor MAC under audit key version kv; false when it is not held. */
static bool anchor_mac(int kv, const char *text, size_t n, uint8_t mac[SM3_LEN])
{
    uint8_t key[SM3_LEN];
    if (!audit_key(kv, KEY_AUDIT_ANCHOR, key))
        return false;
    hmac_sm3(key, SM3_LEN, text, n, mac);
    explicit_bzero(key, sizeof key);
    return true;
}

static err audit_key_missing(int kv)
{
    log_event(LOG_ERROR, "audit_key_missing", NULL);
    return err_set(E_CRYPTO, "audit_key_missing", NULL,
                   "本服务器的密钥文件中没有审计密钥版本 %d：多台服务器须共用同一密钥文件", kv);
}

/* Append one signed anchor line (signed with audit key version kv) to the
 * anchor file (0600, created if missing, synced) and send it to syslog. */
static err anchor_write(const char *kind, int node, int64_t seq, const uint8_t hash[SM3_LEN],
                        int64_t count, int64_t at, int kv)
{
    char line[ANCHOR_LINE];
    int n = anchor_text(line, sizeof line, kind, node, seq, hash, count, at, kv);
    uint8_t mac[SM3_LEN];
    if (!anchor_mac(kv, line, (size_t)n, mac))
        return audit_key_missing(kv);
    char hex[2 * SM3_LEN + 1];
    hex_encode(mac, SM3_LEN, hex);
    n += snprintf(line + n, sizeof line - (size_t)n, " mac=%s", hex);
    audit_syslog(line);
    if (!w.anchor_file[0])
        return E_OK;
    line[n++] = '\n';
    int fd = open(w.anchor_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_event(LOG_ERROR, "audit_anchor_failed", "file", w.anchor_file, "error", strerror(errno),
                  NULL);
        return err_set(E_IO, NULL, NULL, "无法写入审计锚点文件");
    }
    /* one write of a line under PIPE_BUF: appends of several processes
     * never interleave inside a line */
    bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        log_event(LOG_ERROR, "audit_anchor_failed", "file", w.anchor_file, NULL);
        return err_set(E_IO, NULL, NULL, "无法写入审计锚点文件");
    }
    return E_OK;
}

/* A checkpoint of the head this process committed last; with `force` also
 * when nothing was appended since the last one (start, shutdown). */
static void checkpoint(bool force)
{
    pthread_mutex_lock(&w.mu);
    bool due = w.have_head && (force || w.seq != w.checkpointed);
    int64_t seq = w.seq, count = w.committed;
    int kv = w.kv;
    uint8_t hash[SM3_LEN];
    memcpy(hash, w.hash, SM3_LEN);
    if (due)
        w.checkpointed = seq;
    pthread_mutex_unlock(&w.mu);
    if (due && anchor_write("checkpoint", id_node(), seq, hash, count, now_ms(), kv))
        log_event(LOG_ERROR, "audit_checkpoint_failed", NULL);
}

void audit_checkpoint(void)
{
    checkpoint(false);
}

static void checkpoint_at_exit(void)
{
    checkpoint(false);
}

/* Adopt a committed head (after the commit of an append). Heads of
 * concurrent transactions may be reported out of order: keep the newest. */
static void committed_head(int64_t seq, const uint8_t hash[SM3_LEN], int64_t n, int kv)
{
    pthread_mutex_lock(&w.mu);
    if (!w.have_head || seq > w.seq) {
        w.seq = seq;
        memcpy(w.hash, hash, SM3_LEN);
        w.kv = kv;
        w.have_head = true;
    }
    w.committed += n;
    bool reg = !w.running && !w.atexit_registered;
    if (reg)
        w.atexit_registered = true;
    pthread_mutex_unlock(&w.mu);
    if (reg) /* a command-line tool: anchor what it wrote when it exits */
        atexit(checkpoint_at_exit);
}

/* ---- the chain head in the database --------------------------------------- */

/* PostgreSQL: lock this node's head row for the rest of the transaction, so
 * appenders on other connections (threads, servers, tools of the same
 * node) wait for this one to end and then read the head it left. SQLite
 * needs nothing: a write transaction holds the only write lock. */
static err lock_head(db *d, const char *key)
{
    if (db_kind(d) != DB_POSTGRES)
        return E_OK;
    for (int i = 0; i < 2; i++) {
        db_stmt *s;
        err e = db_prepare(d, "SELECT value FROM settings WHERE key = ? FOR UPDATE", &s);
        if (e)
            return e;
        db_bind_text(s, 1, key);
        bool locked;
        e = db_row(s, &locked);
        db_done(s);
        if (e || locked)
            return e;
        /* the node's first entry: create the row, then lock it */
        if ((e = db_prepare(d,
                            "INSERT INTO settings (key, value) VALUES (?, '0:') "
                            "ON CONFLICT (key) DO NOTHING",
                            &s)))
            return e;
        db_bind_text(s, 1, key);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* The newest retention marker of a node (seq 0 and a zero hash if none). */
static err read_marker(db *d, int node, int64_t *seq_r, uint8_t hash[SM3_LEN])
{
    *seq_r = 0;
    memset(hash, 0, SM3_LEN);
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT seq, hash FROM audit_marker WHERE node = ? ORDER BY seq DESC LIMIT 1", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, node);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        size_t n;
        const void *h = db_col_blob(s, 1, &n);
        *seq_r = db_col_int64(s, 0);
        if (n == SM3_LEN)
            memcpy(hash, h, SM3_LEN);
    }
    db_done(s);
    return e;
}

/* Read node's chain head inside the open transaction on d, after locking
 * it: the last entry, or the retention marker when pruning left no entry,
 * or the genesis (seq 0, zero hash). */
static err read_head(db *d, int node, const char *key, int64_t *seq_r, uint8_t hash[SM3_LEN])
{
    err e = lock_head(d, key);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(
             d, "SELECT seq, hash FROM audit_log WHERE node = ? ORDER BY seq DESC LIMIT 1", &s)))
        return e;
    db_bind_int64(s, 1, node);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        size_t n;
        const void *h = db_col_blob(s, 1, &n);
        *seq_r = db_col_int64(s, 0);
        memset(hash, 0, SM3_LEN);
        if (n == SM3_LEN)
            memcpy(hash, h, SM3_LEN);
    }
    db_done(s);
    if (e || row)
        return e;
    return read_marker(d, node, seq_r, hash);
}

/*
 * The audit key version node's next entry is chained under, inside the
 * transaction that holds its head (read_head): that of its newest segment
 * (audit_segments), or 1 when it has none. A node's very first entry
 * (head_seq 0) after an audit key rotation opens a segment of the newest
 * version at once (first_id: that entry's id), so a server that joins later
 * never writes under a key that may be destroyed.
 */
static err segment_version(db *d, int node, int64_t head_seq, int64_t first_id, int *kv_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT (SELECT MAX(key_version) FROM audit_segments WHERE node = ?), "
                       "(SELECT MAX(version) FROM audit_key_versions)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, node);
    bool row;
    int64_t mine = 0, newest = 1;
    if (!(e = db_row(s, &row)) && row) {
        mine = db_col_null(s, 0) ? 0 : db_col_int64(s, 0);
        newest = db_col_null(s, 1) ? 1 : db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    *kv_r = mine ? (int)mine : 1;
    if (mine || head_seq != 0 || newest <= 1)
        return E_OK;
    if ((e = db_prepare(d,
                        "INSERT INTO audit_segments (node, key_version, first_seq, first_id, "
                        "created_at) VALUES (?, ?, 1, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, newest);
    db_bind_int64(s, 3, first_id);
    db_bind_int64(s, 4, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    *kv_r = (int)newest;
    return E_OK;
}

/* The chain head is recorded beside the chain too, so removing the newest
 * entries (which leaves every remaining link intact) is seen even before
 * the next checkpoint, unless the head was edited as well. */
static err save_head(db *d, const char *key, int64_t seq, const uint8_t hash[SM3_LEN])
{
    char value[24 + 2 * SM3_LEN];
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
    return db_run(s, NULL);
}

/* Insert a list of entries after node's chain head inside the open
 * transaction on d, chained under its segment's audit key version
 * (segment_version), and record the new head; the new head and its key
 * version are left in *seq_r, hash and *kv_r for the caller to adopt once
 * the transaction has committed. `switch_to` > 0: chained under that
 * version instead (the switch entry of audit_key_rotate, which opens its
 * segment). */
static err append_node(db *d, int node, struct queued *list, int switch_to, int64_t *seq_r,
                       uint8_t hash[SM3_LEN], int *kv_r)
{
    char key[32];
    snprintf(key, sizeof key, "audit_head:%d", node);
    int64_t seq;
    int kv;
    err e = read_head(d, node, key, &seq, hash);
    if (!e)
        e = segment_version(d, node, seq, list->id, &kv);
    if (e)
        return e;
    uint8_t chain_key[SM3_LEN];
    if (switch_to)
        kv = switch_to;
    if (!audit_key(kv, KEY_AUDIT, chain_key))
        return audit_key_missing(kv);
    for (struct queued *q = list; q; q = q->next) {
        char buf[2048];
        size_t n;
        seq++;
        char *text = canonical(buf, sizeof buf, &n, q->id, node, seq, q->at, q->user_id,
                               q->username, q->role, q->ip, q->action, q->object_type, q->object_id,
                               q->result, q->detail);
        uint8_t next[SM3_LEN];
        chain_hash(chain_key, hash, text, n, next);
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
        db_bind_int64(s, 2, node);
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
        if ((e = db_run(s, NULL)))
            return e;
        memcpy(hash, next, SM3_LEN);
    }
    explicit_bzero(chain_key, sizeof chain_key);
    *seq_r = seq;
    *kv_r = kv;
    return save_head(d, key, seq, hash);
}

/* A key version by `sql`, a one-row, one-column query of one parameter,
 * the node (1 when it answers no row). */
static err node_key_version(db *d, const char *sql, int node, int *kv_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, node);
    bool row;
    *kv_r = 1;
    if (!(e = db_row(s, &row)) && row)
        *kv_r = (int)db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* The audit key version of node's newest segment, or for a node without
 * one, the newest version (what its first entry will open: a node that had
 * entries before a rotation has a segment of it). */
static err node_version(db *d, int node, int *kv_r)
{
    return node_key_version(d,
                            "SELECT COALESCE((SELECT MAX(key_version) FROM audit_segments WHERE "
                            "node = ?), (SELECT MAX(version) FROM audit_key_versions), 1)",
                            node, kv_r);
}

/* append_node for this process's node. */
static err append_in(db *d, struct queued *list, int64_t *seq_r, uint8_t hash[SM3_LEN], int *kv_r)
{
    return append_node(d, id_node(), list, 0, seq_r, hash, kv_r);
}

static int64_t list_len(const struct queued *q)
{
    int64_t n = 0;
    for (; q; q = q->next)
        n++;
    return n;
}

/* Append a list of entries in one transaction of its own. */
static err append(db *d, struct queued *list)
{
    int64_t seq;
    uint8_t hash[SM3_LEN];
    int kv;
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = append_in(d, list, &seq, hash, &kv)) || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    committed_head(seq, hash, list_len(list), kv);
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

/* The highest id this node's ids of `id`'s millisecond reached in the log. */
static int64_t taken_in_ms(db *d, int64_t id)
{
    int64_t lo = (id & ~(int64_t)0x3FFFFF) | ((int64_t)id_node() << 12), top = id;
    db_stmt *s;
    if (db_prepare(d, "SELECT MAX(id) FROM audit_log WHERE id >= ? AND id < ?", &s))
        return top;
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, lo + 0x1000);
    bool row;
    if (!db_row(s, &row) && row && !db_col_null(s, 0) && db_col_int64(s, 0) > top)
        top = db_col_int64(s, 0);
    db_done(s);
    return top;
}

/* append_in for one entry inside the caller's transaction, retried when its
 * id is taken: a CLI command of the same node (a backup beside the server)
 * makes the same first ids of a millisecond. The retry takes an id above
 * what that millisecond holds, so one retry is enough unless the other
 * process keeps writing. On PostgreSQL the failed insert would abort the
 * caller's whole transaction, so each try runs in a savepoint; SQLite backs
 * out only the statement. */
static err append_in_retry(db *d, struct queued *q, int64_t *seq_r, uint8_t hash[SM3_LEN],
                           int *kv_r)
{
    bool pg = db_kind(d) == DB_POSTGRES;
    err e;
    for (int tries = 0;; tries++) {
        if (pg && (e = db_begin(d)))
            return e;
        e = append_in(d, q, seq_r, hash, kv_r);
        if (pg)
            e = e ? (db_rollback(d), e) : db_commit(d);
        if (e != E_CONFLICT || tries == 9)
            return e;
        q->id = id_after(taken_in_ms(d, q->id));
        q->at = id_time_ms(q->id);
    }
}

static void free_list(struct queued *q)
{
    while (q) {
        struct queued *next = q->next;
        free(q);
        q = next;
    }
}

struct inline_head {
    int64_t seq;
    uint8_t hash[SM3_LEN];
    int kv;
};

static void inline_end(void *ctx, bool committed)
{
    struct inline_head *h = ctx;
    if (committed)
        committed_head(h->seq, h->hash, 1, h->kv);
    free(h);
}

err audit_log(db *d, const struct audit_entry *e)
{
    struct queued *q = make(e);
    if (d && db_in_tx(d)) {
        /* a write's entry: durable with the write, in its transaction */
        struct inline_head *h = malloc(sizeof *h);
        if (!h)
            abort();
        err r = append_in_retry(d, q, &h->seq, h->hash, &h->kv);
        if (!r)
            r = db_after_commit(d, inline_end, h);
        else
            free(h);
        if (r) {
            log_event(LOG_ERROR, "audit_write_failed", "action", q->action, NULL);
            db_tx_poison(d);     /* the write must not commit without its entry */
            if (r == E_CONFLICT) /* the log's own failure, never the client's conflict */
                r = err_set(E_DB, NULL, NULL, NULL);
        }
        free(q);
        return r;
    }
    pthread_mutex_lock(&w.mu);
    if (!w.running) {
        pthread_mutex_unlock(&w.mu);
        err r = append_retry(d, q);
        if (r)
            log_event(LOG_ERROR, "audit_write_failed", "action", q->action, NULL);
        free_list(q);
        return r;
    }
    /* Bounded: a writer that cannot keep up (a stalled disk, a database
     * lock held for long) must not turn into unbounded memory. Refusing the
     * entry refuses the access it describes (the caller answers 503), so
     * nothing is served unaudited. */
    assert(w.written_n <= w.queued_n);
    if (w.queued_n - w.written_n >= w.queue_max) {
        bool first = !w.full;
        w.full = true;
        pthread_mutex_unlock(&w.mu);
        if (first)
            log_event(LOG_WARN, "audit_queue_full", "action", q->action, NULL);
        free(q);
        return err_set(E_UNAVAILABLE, "queue_full", NULL,
                       "系统繁忙（审计日志写入排队已满），请稍后重试");
    }
    if (w.tail)
        w.tail->next = q;
    else
        w.head = q;
    w.tail = q;
    w.queued_n++;
    w.full = false;
    if (w.idle) /* a busy writer finds the entry on its next batch: no wake-up */
        pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.mu);
    return E_OK;
}

/* The head this node's chain has in the database now (start of the
 * writer): its first checkpoint anchors it. */
static void adopt_db_head(db *d)
{
    char key[32];
    snprintf(key, sizeof key, "audit_head:%d", id_node());
    int64_t seq;
    uint8_t hash[SM3_LEN];
    int kv = 1;
    err e = db_begin(d);
    if (!e) {
        e = read_head(d, id_node(), key, &seq, hash);
        if (!e)
            e = node_version(d, id_node(), &kv);
        db_rollback(d);
    }
    if (e) {
        log_event(LOG_ERROR, "audit_head_unreadable", NULL);
        return;
    }
    pthread_mutex_lock(&w.mu);
    w.have_head = false; /* whatever an earlier writer of this process knew */
    pthread_mutex_unlock(&w.mu);
    committed_head(seq, hash, 0, kv);
}

static void deadline_in(struct timespec *ts, int s)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += s;
}

static bool past(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *writer(void *arg)
{
    (void)arg;
    adopt_db_head(w.db);
    checkpoint(true);
    struct timespec next_cp;
    deadline_in(&next_cp, w.checkpoint_s);
    pthread_mutex_lock(&w.mu);
    for (;;) {
        while (!w.head && !w.stop && !past(&next_cp)) {
            w.idle = true;
            pthread_cond_timedwait(&w.wake, &w.mu, &next_cp);
            w.idle = false;
        }
        if (past(&next_cp)) { /* the timer: anchor what was committed since */
            pthread_mutex_unlock(&w.mu);
            checkpoint(false);
            deadline_in(&next_cp, w.checkpoint_s);
            pthread_mutex_lock(&w.mu);
        }
        if (!w.head && w.stop)
            break;
        if (!w.head)
            continue;
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
        assert(!w.linking && w.tail); /* one appender at a time; a queue has a tail */
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
        if (e && !w.stop && !strcmp(err_last()->slug, "disk_full")) {
            /* a full disk (err_disk_full, logged there once a minute):
             * the entries go back to the head of the queue, in order, and
             * are written once space is freed, not dropped; append_retry's
             * second of retries paces the attempts, and the queue's cap
             * refuses audited requests if it lasts */
            pthread_mutex_lock(&w.mu);
            last->next = w.head;
            w.head = batch;
            if (!w.tail)
                w.tail = last;
            w.linking = false;
            pthread_cond_broadcast(&w.drained);
            continue;
        }
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
    int kv;
};

/* The end of the transaction audit_join appended to. */
static void joined_end(void *ctx, bool committed)
{
    struct joined *j = ctx;
    if (committed)
        committed_head(j->seq, j->hash, (int64_t)j->n, j->kv);
    pthread_mutex_lock(&w.mu);
    assert(w.linking); /* audit_join set it for this transaction */
    if (committed) {
        w.written_n += j->n;
    } else { /* back to the front of the queue, in order, for the writer */
        j->last->next = w.head;
        w.head = j->list;
        if (!w.tail)
            w.tail = j->last;
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
    return append_in(d, j->list, &j->seq, j->hash, &j->kv);
}

err audit_start(const char *db_url)
{
    err e = db_open(db_url, &w.db);
    if (e)
        return e;
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
    checkpoint(true);
    db_close(&w.db);
}

/* ---- verification ------------------------------------------------------------ */

struct anchor {
    int node;
    int64_t seq, count, at;
    uint8_t hash[SM3_LEN];
    int kv; /* the audit key version that signed it */
};

/* A chain segment: node's entries from first_seq on (up to the next
 * segment's) are chained under audit key version kv. */
struct seg {
    int node, kv;
    int64_t first_seq, first_id;
};

struct anchors {
    struct anchor *cp; /* checkpoints, by node then seq */
    size_t ncp, capcp;
    struct anchor *mk; /* retention markers (file and database) */
    size_t nmk, capmk;
    struct seg *seg; /* every segment of the database, by node then first_seq */
    size_t nseg;
    bool destroyed[KEY_VERSION_MAX + 1]; /* audit key versions destroyed */
    int64_t skipped;                     /* anchors signed under a destroyed version */
};

static void push(struct anchor **v, size_t *n, size_t *cap, const struct anchor *a)
{
    if (!GROW(v, cap, *n, 1, 64))
        abort();
    (*v)[(*n)++] = *a;
}

static int by_node_seq(const void *x, const void *y)
{
    const struct anchor *a = x, *b = y;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool broken(struct audit_verify_result *r, const char *code, int node, int64_t id,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool broken(struct audit_verify_result *r, const char *code, int node, int64_t id,
                   const char *fmt, ...)
{
    snprintf(r->code, sizeof r->code, "%s", code);
    r->node = node;
    r->broken_id = id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return true;
}

enum anchor_check { ANCHOR_BAD, ANCHOR_OK, ANCHOR_KEY_GONE };

/* Does `mac` sign this anchor? ANCHOR_KEY_GONE: it names an audit key
 * version that was destroyed (with the segment it anchored), so it can be
 * neither checked nor used; a version neither held nor destroyed is BAD. */
static enum anchor_check anchor_valid(const struct anchors *an, const char *kind,
                                      const struct anchor *a, const uint8_t mac[SM3_LEN])
{
    char text[ANCHOR_LINE];
    int n = anchor_text(text, sizeof text, kind, a->node, a->seq, a->hash, a->count, a->at, a->kv);
    uint8_t want[SM3_LEN];
    if (a->kv < 1 || a->kv > KEY_VERSION_MAX)
        return ANCHOR_BAD;
    if (!anchor_mac(a->kv, text, (size_t)n, want))
        return an->destroyed[a->kv] ? ANCHOR_KEY_GONE : ANCHOR_BAD;
    return ct_equal(want, mac, SM3_LEN) ? ANCHOR_OK : ANCHOR_BAD;
}

/* Read the anchor file: every line must carry a valid signature. */
static err load_anchor_file(struct anchors *an, struct audit_verify_result *r)
{
    if (!w.anchor_file[0])
        return E_OK;
    FILE *f = fopen(w.anchor_file, "re");
    if (!f) {
        if (errno == ENOENT)
            return E_OK;
        return err_set(E_IO, NULL, NULL, "无法读取审计锚点文件");
    }
    char line[ANCHOR_LINE + 8];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char kind[16], hash[2 * SM3_LEN + 2], mac[2 * SM3_LEN + 2];
        int node, used = 0, kv = 1;
        long long seq, count, at;
        struct anchor a = {0};
        uint8_t m[SM3_LEN];
        bool ok = sscanf(line, "%15s node=%d seq=%lld hash=%65s count=%lld at=%lld%n", kind, &node,
                         &seq, hash, &count, &at, &used) == 6 &&
                  used > 0;
        /* " key=V" before the MAC: signed with audit key version V (> 1) */
        if (ok && !strncmp(line + used, " key=", 5))
            ok = sscanf(line + used, " key=%d mac=%65s", &kv, mac) == 2 && kv > 1;
        else if (ok)
            ok = sscanf(line + used, " mac=%65s", mac) == 1;
        ok = ok &&
             (!strcmp(kind, "checkpoint") || !strcmp(kind, "marker") || !strcmp(kind, "restore")) &&
             strlen(hash) == 2 * SM3_LEN && hex_decode(hash, a.hash, SM3_LEN) &&
             strlen(mac) == 2 * SM3_LEN && hex_decode(mac, m, SM3_LEN);
        enum anchor_check c = ANCHOR_BAD;
        if (ok) {
            a.node = node;
            a.seq = seq;
            a.count = count;
            a.at = at;
            a.kv = kv;
            c = anchor_valid(an, kind, &a, m);
            ok = c != ANCHOR_BAD;
        }
        if (c == ANCHOR_KEY_GONE) { /* its segment was purged with its key */
            an->skipped++;
            continue;
        }
        if (!ok) {
            broken(r, "anchor_file", 0, -1,
                   "line %ld of the anchor file is not a validly signed anchor (anchor file "
                   "edited or the key changed)",
                   lineno);
            break;
        }
        if (kind[0] == 'r') {
            /* a restore rewound this chain to seq: the checkpoints of the
             * entries written after the backup no longer apply */
            size_t keep = 0;
            for (size_t i = 0; i < an->ncp; i++)
                if (an->cp[i].node != a.node || an->cp[i].seq <= a.seq)
                    an->cp[keep++] = an->cp[i];
            an->ncp = keep;
        }
        if (kind[0] == 'm')
            push(&an->mk, &an->nmk, &an->capmk, &a);
        else
            push(&an->cp, &an->ncp, &an->capcp, &a);
    }
    fclose(f);
    return E_OK;
}

/* The retention markers in the database: each must be signed. */
static err load_db_markers(db *d, struct anchors *an, struct audit_verify_result *r)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT node, seq, hash, count, at, mac, key_version FROM audit_marker", &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        struct anchor a = {.node = (int)db_col_int64(s, 0),
                           .seq = db_col_int64(s, 1),
                           .count = db_col_int64(s, 3),
                           .at = db_col_int64(s, 4),
                           .kv = (int)db_col_int64(s, 6)};
        size_t hn, mn;
        const void *h = db_col_blob(s, 2, &hn);
        const void *m = db_col_blob(s, 5, &mn);
        if (hn == SM3_LEN)
            memcpy(a.hash, h, SM3_LEN);
        enum anchor_check c =
            hn == SM3_LEN && mn == SM3_LEN ? anchor_valid(an, "marker", &a, m) : ANCHOR_BAD;
        if (c == ANCHOR_KEY_GONE) {
            an->skipped++;
            continue;
        }
        if (c == ANCHOR_BAD) {
            broken(r, "marker", a.node, -1,
                   "retention marker at seq %lld is not validly signed (forged marker)",
                   (long long)a.seq);
            break;
        }
        push(&an->mk, &an->nmk, &an->capmk, &a);
    }
    db_done(s);
    return e;
}

/* The newest retention marker of a node, or NULL. */
static const struct anchor *marker_of(const struct anchors *an, int node)
{
    const struct anchor *m = NULL;
    for (size_t i = 0; i < an->nmk; i++)
        if (an->mk[i].node == node && (!m || an->mk[i].seq > m->seq))
            m = &an->mk[i];
    return m;
}

/* A node's checkpoints: [*first, *first + *n) of an->cp (sorted). */
static void checkpoints_of(const struct anchors *an, int node, size_t *first, size_t *n)
{
    size_t i = 0;
    while (i < an->ncp && an->cp[i].node < node)
        i++;
    *first = i;
    while (i < an->ncp && an->cp[i].node == node)
        i++;
    *n = i - *first;
}

/* The state of one chain's walk. */
struct walk {
    int node;
    int64_t seq, last_id, entries;
    uint8_t hash[SM3_LEN];
    const struct anchor *marker;
    size_t cp, cp_end;   /* the next checkpoint to meet */
    size_t seg, seg_end; /* the node's segments in an->seg; seg: the next to enter */
    int kv, prev_kv;     /* the key version of the current segment, and the one before */
    uint8_t key[SM3_LEN];
};

/* The end of a chain (or a node known only from its anchors): the newest
 * checkpoint beyond the marker must have been reached, and the recorded
 * head must be where the chain ends. */
static bool end_chain(const struct anchors *an, struct walk *k, struct audit_verify_result *r)
{
    int64_t floor = k->marker ? k->marker->seq : 0;
    for (; k->cp < k->cp_end; k->cp++) {
        const struct anchor *c = &an->cp[k->cp];
        if (c->seq <= floor)
            continue;
        if (k->entries == 0)
            return broken(r, "wiped", k->node, -1,
                          "the chain has no entries but a signed checkpoint records seq %lld "
                          "(log wiped)",
                          (long long)c->seq);
        return broken(r, "tail_cut", k->node, k->last_id,
                      "chain ends at seq %lld but a signed checkpoint records seq %lld (newest "
                      "entries removed)",
                      (long long)k->seq, (long long)c->seq);
    }
    return false;
}

/* Every recorded head must be the last entry of its chain. */
static err check_heads(db *d, const struct anchors *an, const struct walk *ends, size_t nends,
                       struct audit_verify_result *r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT key, value FROM settings WHERE key LIKE 'audit_head:%'", &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int node = (int)strtol(db_col_text(s, 0) + strlen("audit_head:"), NULL, 10);
        const char *v = db_col_text(s, 1);
        long long seq = strtoll(v, NULL, 10);
        const char *colon = strchr(v, ':');
        uint8_t hash[SM3_LEN];
        bool ok = colon && hex_decode(colon + 1, hash, SM3_LEN);
        const struct walk *end = NULL;
        for (size_t i = 0; i < nends; i++)
            if (ends[i].node == node)
                end = &ends[i];
        if (seq == 0 && !strcmp(colon ? colon + 1 : "", "") && !end)
            continue; /* a head row locked before the node's first entry */
        /* a chain pruned to nothing ends at its retention marker */
        const struct anchor *m = end ? NULL : marker_of(an, node);
        int64_t end_seq = end ? end->seq : m ? m->seq : 0;
        const uint8_t *end_hash = end ? end->hash : m ? m->hash : NULL;
        if (!ok || end_seq != seq || !end_hash || !ct_equal(end_hash, hash, SM3_LEN)) {
            broken(r, "head", node, end && end->last_id ? end->last_id : -1,
                   "chain ends at seq %lld but its recorded head is seq %lld (newest entries "
                   "removed)",
                   (long long)end_seq, seq);
            break;
        }
    }
    db_done(s);
    return e;
}

static void start_chain(const struct anchors *an, struct walk *k, int node)
{
    *k = (struct walk){.node = node};
    k->marker = marker_of(an, node);
    checkpoints_of(an, node, &k->cp, &k->cp_end);
    k->cp_end += k->cp;
    while (k->seg < an->nseg && an->seg[k->seg].node < node)
        k->seg++;
    k->seg_end = k->seg;
    while (k->seg_end < an->nseg && an->seg[k->seg_end].node == node)
        k->seg_end++;
    if (k->marker) {
        k->seq = k->marker->seq;
        memcpy(k->hash, k->marker->hash, SM3_LEN);
    }
}

/* Nodes known only from their anchors (no entry left in the table). */
static bool check_anchor_only(const struct anchors *an, const struct walk *ends, size_t nends,
                              struct audit_verify_result *r)
{
    for (size_t i = 0; i < an->ncp; i++) {
        int node = an->cp[i].node;
        bool seen = false;
        for (size_t j = 0; j < nends && !seen; j++)
            seen = ends[j].node == node;
        if (seen)
            continue;
        struct walk k;
        start_chain(an, &k, node);
        if (end_chain(an, &k, r))
            return true;
    }
    return false;
}

/* The chains in the table (by node) and the newest seq of each: what
 * verification, re-keying and pruning walk. */
struct chain_len {
    int node;
    int64_t max_seq;
};

static err chain_lengths(db *d, struct chain_len **v_r, size_t *n_r)
{
    *v_r = NULL;
    *n_r = 0;
    db_stmt *s;
    err e = db_prepare(d, "SELECT node, MAX(seq) FROM audit_log GROUP BY node ORDER BY node", &s);
    if (e)
        return e;
    size_t cap = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(v_r, &cap, *n_r, 1, 8))
            abort();
        (*v_r)[(*n_r)++] = (struct chain_len){(int)db_col_int64(s, 0), db_col_int64(s, 1)};
    }
    db_done(s);
    if (e) {
        free(*v_r);
        *v_r = NULL;
        *n_r = 0;
    }
    return e;
}

/*
 * A break inside a chain that is also shorter than its newest signed
 * checkpoint: entries were deleted in the middle and the rest renumbered
 * (with or without their hashes recomputed), rather than one rewritten in
 * place, which keeps the length.
 */
static bool renumbered(const struct anchors *an, const struct walk *k, const struct chain_len *lens,
                       size_t nlens, struct audit_verify_result *r, int64_t id, int64_t seq)
{
    int64_t max_seq = 0, anchored = 0;
    for (size_t i = 0; i < nlens; i++)
        if (lens[i].node == k->node)
            max_seq = lens[i].max_seq;
    if (k->cp_end > 0 && an->cp[k->cp_end - 1].node == k->node)
        anchored = an->cp[k->cp_end - 1].seq;
    if (anchored <= max_seq || anchored <= seq)
        return false;
    return broken(r, "renumbered", k->node, id,
                  "chain breaks at seq %lld and is %lld entries shorter than its signed "
                  "checkpoint at seq %lld (entries deleted in the middle and the rest renumbered)",
                  (long long)seq, (long long)(anchored - max_seq), (long long)anchored);
}

/* The chain key of audit version kv for the walk, or a finding: the key
 * was destroyed although entries under it remain (a restored old backup,
 * or rows written back into a purged segment), or this server lacks it. */
static bool walk_key(const struct anchors *an, struct walk *k, int kv, int64_t id,
                     struct audit_verify_result *r)
{
    k->kv = kv;
    if (audit_key(kv, KEY_AUDIT, k->key))
        return false;
    if (kv >= 1 && kv <= KEY_VERSION_MAX && an->destroyed[kv])
        return broken(r, "key_destroyed", k->node, id,
                      "entries under audit key version %d remain, but that key was destroyed "
                      "with its purged segment (entries restored or written back)",
                      kv);
    return broken(r, "key_missing", k->node, id,
                  "audit key version %d is not in this server's key file (use the key file "
                  "the servers share)",
                  kv);
}

/*
 * Before checking the entry at `seq` (the current row of s): take the key
 * of the segment it is in and, at the first entry of a segment, check that
 * it is the segment's recorded first entry and, for a segment opened by an
 * audit key rotation (first_seq > 1), a switch entry whose old_tag is the
 * old head's tag under the old key (unless that key went with its purged
 * segment). True when a finding was recorded.
 */
static bool enter_segment(const struct anchors *an, struct walk *k, db_stmt *s, int64_t seq,
                          struct audit_verify_result *r)
{
    int64_t id = db_col_int64(s, 0);
    const struct seg *g = NULL;
    while (k->seg < k->seg_end && an->seg[k->seg].first_seq <= seq)
        g = &an->seg[k->seg++];
    if (!g) /* the chain's first entry before any segment: version 1; else no change */
        return k->kv ? false : walk_key(an, k, 1, id, r);
    /* the version before g: its node's previous segment's, or 1 */
    k->prev_kv = g > an->seg && g[-1].node == k->node ? g[-1].kv : 1;
    if (walk_key(an, k, g->kv, id, r))
        return true;
    if (g->first_seq != seq)
        return false; /* the chain starts inside it (its start was pruned) */
    if (id != g->first_id)
        return broken(r, "switch", k->node, id,
                      "entry at seq %lld is not the recorded first entry of the segment of audit "
                      "key version %d",
                      (long long)seq, g->kv);
    if (g->first_seq == 1)
        return false; /* a node's first segment: nothing before it */
    const char *action = db_col_text(s, 8), *detail = db_col_text(s, 12);
    const char *tag = detail ? strstr(detail, "old_tag=") : NULL;
    uint8_t want[SM3_LEN], old_key[SM3_LEN], got[SM3_LEN];
    if (!action || strcmp(action, "audit.key_switch") || !tag || strlen(tag + 8) < 2 * SM3_LEN ||
        !hex_decode(tag + 8, got, SM3_LEN))
        return broken(r, "switch", k->node, id,
                      "the first entry of the segment of audit key version %d is not a key switch "
                      "entry",
                      g->kv);
    if (!audit_key(k->prev_kv, KEY_AUDIT, old_key))
        return false; /* the old key went with its purged segment */
    switch_tag(old_key, k->hash, g->kv, want);
    explicit_bzero(old_key, sizeof old_key);
    if (!ct_equal(want, got, SM3_LEN))
        return broken(r, "switch", k->node, id,
                      "the key switch entry's tag of the old head does not match under audit key "
                      "version %d (switch forged or moved)",
                      k->prev_kv);
    return false;
}

static err verify_chains(db *d, const struct anchors *an, struct audit_verify_result *r,
                         struct walk **ends_r, size_t *nends_r)
{
    struct chain_len *lens;
    size_t nlens;
    err e = chain_lengths(d, &lens, &nlens);
    if (e)
        return e;
    db_stmt *s;
    e = db_prepare(d, "SELECT " ENTRY_COLS " FROM audit_log ORDER BY node, seq", &s);
    if (e) {
        free(lens);
        return e;
    }
    struct walk *ends = NULL, k = {.node = -1};
    size_t nends = 0, cap = 0;
    bool stop = false, row;
    while (!stop && !(e = db_row(s, &row)) && row) {
        int64_t id = db_col_int64(s, 0);
        int node = (int)db_col_int64(s, 1);
        int64_t seq = db_col_int64(s, 2);
        if (node != k.node) {
            if (k.node >= 0) {
                if (end_chain(an, &k, r))
                    break;
                if (!GROW(&ends, &cap, nends, 1, 8))
                    abort();
                ends[nends++] = k;
            }
            start_chain(an, &k, node);
            if (seq > k.seq + 1) {
                stop = k.marker ? broken(r, "oldest_removed", node, id,
                                         "chain starts at seq %lld but its retention marker "
                                         "ends at seq %lld (entries removed after the marker)",
                                         (long long)seq, (long long)k.marker->seq)
                                : broken(r, "oldest_removed", node, id,
                                         "chain starts at seq %lld without a retention marker "
                                         "(oldest entries removed)",
                                         (long long)seq);
                break;
            }
            if (seq <= k.seq) { /* entries a marker says were pruned: from genesis */
                k.seq = 0;
                memset(k.hash, 0, SM3_LEN);
                if (seq != 1) {
                    stop = broken(r, "oldest_removed", node, id,
                                  "chain starts at seq %lld, inside its retention marker "
                                  "(oldest entries removed)",
                                  (long long)seq);
                    break;
                }
            }
        }
        if (enter_segment(an, &k, s, seq, r)) {
            stop = true;
            break;
        }
        struct entry x;
        entry_check(s, k.key, k.hash, &x);
        const uint8_t *expect = x.expect;
        const char *code = NULL, *why = NULL;
        if (seq != k.seq + 1) {
            code = "gap";
            why = "missing entries before this one (sequence gap: an entry was deleted)";
        } else if (!x.linked) {
            code = "link";
            why = "previous-hash link does not match the entry before (an entry before it "
                  "deleted or replaced)";
        }
        if (!why && !x.intact) {
            code = "edited";
            why = "entry content does not match its keyed hash (edited, or rewritten and "
                  "rehashed without the key)";
        }
        if (why) {
            stop = (strcmp(code, "gap") && renumbered(an, &k, lens, nlens, r, id, seq)) ||
                   broken(r, code, node, id, "%s", why);
            break;
        }
        if (k.marker && seq == k.marker->seq && !ct_equal(expect, k.marker->hash, SM3_LEN)) {
            stop = broken(r, "marker", node, id,
                          "entry at seq %lld does not match its retention marker", (long long)seq);
            break;
        }
        /* the signed checkpoints this entry passes */
        for (; k.cp < k.cp_end && an->cp[k.cp].seq <= seq; k.cp++) {
            const struct anchor *c = &an->cp[k.cp];
            if (c->seq < seq)
                continue; /* before the chain's first remaining entry: pruned */
            if (!ct_equal(c->hash, expect, SM3_LEN) && x.at > c->at) {
                /* written after a checkpoint had already anchored this seq
                 * to another entry: the newer ones were removed and the
                 * numbers written again (a server restarted after the cut) */
                stop = broken(r, "tail_cut", node, id,
                              "entry at seq %lld is newer than the signed checkpoint of that "
                              "seq (newest entries removed, numbers reused)",
                              (long long)seq);
                break;
            }
            if (!ct_equal(c->hash, expect, SM3_LEN)) {
                stop = renumbered(an, &k, lens, nlens, r, id, seq) ||
                       broken(r, "checkpoint", node, id,
                              "entry at seq %lld differs from the signed checkpoint (chain "
                              "rewritten)",
                              (long long)seq);
                break;
            }
            r->anchored++;
        }
        if (stop)
            break;
        r->checked++;
        k.entries++;
        k.last_id = id;
        k.seq = seq;
        memcpy(k.hash, expect, SM3_LEN);
    }
    db_done(s);
    if (!e && !r->code[0] && k.node >= 0) {
        if (!end_chain(an, &k, r)) {
            if (!GROW(&ends, &cap, nends, 1, 8))
                abort();
            ends[nends++] = k;
        }
    }
    free(lens);
    *ends_r = ends;
    *nends_r = nends;
    return e;
}

/* The audit key versions destroyed and every node's segments. */
static err load_segments(db *d, struct anchors *an)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT version FROM audit_key_versions WHERE destroyed_at IS NOT NULL", &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t v = db_col_int64(s, 0);
        if (v >= 1 && v <= KEY_VERSION_MAX)
            an->destroyed[v] = true;
    }
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT node, key_version, first_seq, first_id FROM audit_segments "
                             "ORDER BY node, first_seq",
                             &s)))
        return e;
    size_t cap = 0;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(&an->seg, &cap, an->nseg, 1, 16))
            abort();
        an->seg[an->nseg++] = (struct seg){(int)db_col_int64(s, 0), (int)db_col_int64(s, 1),
                                           db_col_int64(s, 2), db_col_int64(s, 3)};
    }
    db_done(s);
    return e;
}

/* Entries of node in [lo, hi] (hi < 0: to the end) left in the table. */
static err count_range(db *d, int node, int64_t lo, int64_t hi, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM audit_log WHERE node = ? AND seq >= ? AND seq <= ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi < 0 ? INT64_MAX : hi);
    bool row;
    *n_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *n_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

static void add_segment(struct audit_verify_result *r, int node, int kv, int64_t first,
                        int64_t last)
{
    if (r->nsegments == AUDIT_SEGMENTS_MAX) {
        r->segments_more = true;
        return;
    }
    r->segments[r->nsegments++] = (struct audit_segment_result){
        .node = node, .key_version = kv, .first_seq = first, .last_seq = last};
}

/*
 * What verification says per segment (after the walk): every node's
 * segments with their ranges, the entries of each left in the table, those
 * removed under its retention marker, and the state: verified (walked
 * intact), purged (every entry removed under a signed retention marker:
 * not a break, even once its key is destroyed), broken (the finding is in
 * it), unchecked (after the finding: the walk stopped).
 */
static err summarize_segments(db *d, const struct anchors *an, struct audit_verify_result *r)
{
    int64_t broken_seq = -1;
    if (r->broken_id > 0) {
        db_stmt *s;
        err e = db_prepare(d, "SELECT seq FROM audit_log WHERE id = ?", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, r->broken_id);
        bool row;
        if (!(e = db_row(s, &row)) && row)
            broken_seq = db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
    }
    struct chain_len *lens;
    size_t nlens;
    err e = chain_lengths(d, &lens, &nlens);
    if (e)
        return e;
    /* the nodes: those with entries, segments or markers, ascending */
    int nodes[64];
    size_t nn = 0;
    for (size_t i = 0; i < nlens + an->nseg + an->nmk; i++) {
        int node = i < nlens              ? lens[i].node
                   : i < nlens + an->nseg ? an->seg[i - nlens].node
                                          : an->mk[i - nlens - an->nseg].node;
        size_t j = 0;
        while (j < nn && nodes[j] != node)
            j++;
        if (j == nn && nn < sizeof nodes / sizeof nodes[0])
            nodes[nn++] = node;
    }
    free(lens);
    for (size_t i = 1; i < nn; i++)
        for (size_t j = i; j > 0 && nodes[j - 1] > nodes[j]; j--) {
            int t = nodes[j];
            nodes[j] = nodes[j - 1];
            nodes[j - 1] = t;
        }
    for (size_t i = 0; i < nn; i++) {
        int node = nodes[i];
        size_t from = r->nsegments;
        size_t g = 0;
        while (g < an->nseg && an->seg[g].node < node)
            g++;
        if (g == an->nseg || an->seg[g].node != node || an->seg[g].first_seq > 1)
            add_segment(r, node, 1, 1,
                        g < an->nseg && an->seg[g].node == node ? an->seg[g].first_seq - 1 : -1);
        for (; g < an->nseg && an->seg[g].node == node; g++)
            add_segment(r, node, an->seg[g].kv, an->seg[g].first_seq,
                        g + 1 < an->nseg && an->seg[g + 1].node == node
                            ? an->seg[g + 1].first_seq - 1
                            : -1);
        const struct anchor *m = marker_of(an, node);
        int64_t mseq = m ? m->seq : 0;
        for (size_t j = from; !e && j < r->nsegments; j++) {
            struct audit_segment_result *x = &r->segments[j];
            if ((e = count_range(d, node, x->first_seq, x->last_seq, &x->entries)))
                break;
            int64_t top = x->last_seq < 0 || x->last_seq > mseq ? mseq : x->last_seq;
            x->purged = top >= x->first_seq ? top - x->first_seq + 1 : 0;
            bool after_break =
                r->code[0] && (node > r->node ||
                               (node == r->node && broken_seq >= 0 && x->first_seq > broken_seq));
            bool has_break = r->code[0] && node == r->node && broken_seq >= x->first_seq &&
                             (x->last_seq < 0 || broken_seq <= x->last_seq);
            const char *state = has_break                                         ? "broken"
                                : after_break                                     ? "unchecked"
                                : r->code[0] && node == r->node && broken_seq < 0 ? "unchecked"
                                : x->entries == 0 && x->purged > 0                ? "purged"
                                                                                  : "verified";
            snprintf(x->state, sizeof x->state, "%s", state);
        }
    }
    return e;
}

err audit_verify(db *d, struct audit_verify_result *r)
{
    memset(r, 0, sizeof *r);
    struct anchors an = {0};
    struct walk *ends = NULL;
    size_t nends = 0;
    err e = load_segments(d, &an);
    if (!e)
        e = load_anchor_file(&an, r);
    if (!e && !r->code[0])
        e = load_db_markers(d, &an, r);
    if (!e && !r->code[0]) {
        if (an.ncp) /* qsort of NULL is undefined even for 0 elements */
            qsort(an.cp, an.ncp, sizeof *an.cp, by_node_seq);
        for (size_t i = 0; i < an.nmk; i++) {
            const struct anchor *m = &an.mk[i];
            if (m == marker_of(&an, m->node))
                r->pruned += m->seq; /* seq starts at 1: everything up to it */
        }
        e = verify_chains(d, &an, r, &ends, &nends);
    }
    if (!e && !r->code[0] && !check_anchor_only(&an, ends, nends, r))
        e = check_heads(d, &an, ends, nends, r);
    if (!e)
        e = summarize_segments(d, &an, r);
    r->skipped = an.skipped;
    free(ends);
    free(an.cp);
    free(an.mk);
    free(an.seg);
    if (!e && r->code[0] && r->broken_id == 0)
        r->broken_id = -1;
    return e;
}

/* ---- re-keying, pruning, restoring ----------------------------------------- */

static bool anchor_file_empty(void)
{
    struct stat st;
    return !w.anchor_file[0] || stat(w.anchor_file, &st) || st.st_size == 0;
}

struct rekeyed {
    int64_t id;
    uint8_t prev[SM3_LEN], hash[SM3_LEN];
};

/* Re-hash one node's chain with the key, in batches; notes the first break
 * of the old (SM3) chain in *legacy_bad_id. */
static err rekey_node(db *d, int node, int64_t *entries, int64_t *legacy_bad_id)
{
    /* before any audit key rotation: the chain is keyed with version 1 */
    uint8_t key1[SM3_LEN];
    if (!keys_audit_key(1, KEY_AUDIT, key1))
        return audit_key_missing(1);
    struct rekeyed *rows = malloc(REKEY_BATCH * sizeof *rows);
    if (!rows)
        abort();
    uint8_t old_prev[SM3_LEN], new_prev[SM3_LEN];
    memset(new_prev, 0, SM3_LEN);
    int64_t after = 0, last = 0;
    bool first = true;
    err e = E_OK;
    for (;;) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT " ENTRY_COLS
                            " FROM audit_log WHERE node = ? AND seq > ? ORDER BY seq LIMIT 2000",
                            &s)))
            break;
        db_bind_int64(s, 1, node);
        db_bind_int64(s, 2, after);
        size_t n = 0;
        bool row;
        while (!(e = db_row(s, &row)) && row) {
            /* the chain starts where the legacy one started (pruned or not) */
            size_t plen;
            const void *prev = db_col_blob(s, 13, &plen);
            if (first && plen == SM3_LEN)
                memcpy(old_prev, prev, SM3_LEN);
            struct entry old, keyed;
            entry_check(s, NULL, old_prev, &old);
            entry_check(s, key1, new_prev, &keyed);
            bool ok = (first || old.seq == last + 1) && old.linked && old.intact;
            if (!ok && !*legacy_bad_id)
                *legacy_bad_id = old.id;
            if (old.stored)
                memcpy(old_prev, old.stored, SM3_LEN);
            rows[n].id = old.id;
            memcpy(rows[n].prev, new_prev, SM3_LEN);
            memcpy(rows[n].hash, keyed.expect, SM3_LEN);
            memcpy(new_prev, keyed.expect, SM3_LEN);
            first = false;
            last = after = old.seq;
            n++;
        }
        db_done(s);
        for (size_t i = 0; !e && i < n; i++) {
            if ((e = db_prepare(d, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                                &s)))
                break;
            db_bind_blob(s, 1, rows[i].prev, SM3_LEN);
            db_bind_blob(s, 2, rows[i].hash, SM3_LEN);
            db_bind_int64(s, 3, rows[i].id);
            e = db_run(s, NULL);
        }
        *entries += (int64_t)n;
        if (e || n < REKEY_BATCH)
            break;
    }
    free(rows);
    if (e || first)
        return e;
    char key[32];
    snprintf(key, sizeof key, "audit_head:%d", node);
    return save_head(d, key, last, new_prev);
}

err audit_upgrade(db *d)
{
    int64_t done = 0;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM settings WHERE key = 'audit_chain'", &done);
    if (e || done)
        return e;
    if (!anchor_file_empty()) {
        /* anchored before: re-keying now would launder whatever was edited */
        log_event(LOG_ERROR, "audit_rekey_refused", "why", "anchors exist, chain flag missing",
                  NULL);
        return E_OK;
    }
    if ((e = db_begin(d)))
        return e;
    db_stmt *s;
    /* first: a second server upgrading at once waits here, then finds it done */
    if ((e = db_prepare(d,
                        "INSERT INTO settings (key, value) VALUES ('audit_chain', 'hmac-sm3') "
                        "ON CONFLICT (key) DO NOTHING",
                        &s))) {
        db_rollback(d);
        return e;
    }
    int64_t changed = 0;
    e = db_run(s, &changed);
    if (e || !changed) {
        db_rollback(d);
        return e;
    }
    struct chain_len *chains;
    size_t nn;
    int64_t entries = 0, bad = 0;
    e = chain_lengths(d, &chains, &nn);
    for (size_t i = 0; !e && i < nn; i++)
        e = rekey_node(d, chains[i].node, &entries, &bad);
    free(chains);
    if (!e && entries) {
        char detail[96];
        if (bad)
            snprintf(detail, sizeof detail, "entries=%lld legacy=broken first_bad=%lld",
                     (long long)entries, (long long)bad);
        else
            snprintf(detail, sizeof detail, "entries=%lld legacy=intact", (long long)entries);
        struct audit_entry a = {.username = "system",
                                .role = "system",
                                .ip = "local",
                                .action = "audit.rekey",
                                .object_type = "audit",
                                .result = "ok",
                                .detail = detail};
        e = audit_log(d, &a); /* in the transaction: with the rekey or not at all */
    }
    if (e || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    if (entries)
        log_event(LOG_INFO, "audit_rekeyed", "legacy", bad ? "broken" : "intact", NULL);
    return E_OK;
}

/* The prefix of a node's chain older than before_ms: [first, last]. */
static err prune_range(db *d, int node, int64_t before_ms, int64_t *first_r, int64_t *last_r)
{
    *first_r = 0;
    *last_r = -1;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT MIN(seq), MAX(seq), (SELECT MIN(seq) FROM audit_log WHERE node = ? "
                       "AND at >= ?) FROM audit_log WHERE node = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, before_ms);
    db_bind_int64(s, 3, node);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        *first_r = db_col_int64(s, 0);
        *last_r = db_col_null(s, 2) ? db_col_int64(s, 1) : db_col_int64(s, 2) - 1;
    }
    db_done(s);
    return e;
}

/* Write node's signed retention marker for the prefix of its chain older
 * than before_ms (database and anchor file) and, when `remove`, delete that
 * prefix; *removed grows by the prefix's length. Without `remove` the caller
 * removes the prefix itself (audit_prune_partitions: by dropping the
 * partitions that hold it) in the same transaction. */
static err prune_node(db *d, int node, int64_t before_ms, int64_t *removed, bool remove)
{
    int64_t first, last;
    err e = prune_range(d, node, before_ms, &first, &last);
    if (e || last < first)
        return e;
    struct anchor m = {.node = node, .seq = last, .count = last - first + 1, .at = now_ms()};
    /* signed with the node's current version: the marker outlives the keys
     * of the segments it removes */
    if ((e = node_version(d, node, &m.kv)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT hash FROM audit_log WHERE node = ? AND seq = ?", &s)))
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, last);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        size_t n;
        const void *h = db_col_blob(s, 0, &n);
        if (n == SM3_LEN)
            memcpy(m.hash, h, SM3_LEN);
    }
    db_done(s);
    if (!e && !row) /* found by prune_range in this transaction */
        e = err_set(E_INTERNAL, NULL, NULL, NULL);
    if (e)
        return e;
    char text[ANCHOR_LINE];
    int tn = anchor_text(text, sizeof text, "marker", node, m.seq, m.hash, m.count, m.at, m.kv);
    uint8_t mac[SM3_LEN];
    if (!anchor_mac(m.kv, text, (size_t)tn, mac))
        return audit_key_missing(m.kv);
    if ((e = db_prepare(d,
                        "INSERT INTO audit_marker (node, seq, hash, count, at, mac, key_version) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, m.seq);
    db_bind_blob(s, 3, m.hash, SM3_LEN);
    db_bind_int64(s, 4, m.count);
    db_bind_int64(s, 5, m.at);
    db_bind_blob(s, 6, mac, SM3_LEN);
    db_bind_int64(s, 7, m.kv);
    if ((e = db_run(s, NULL)))
        return e;
    /* into the file before the commit: a marker whose removal then failed
     * still matches the chain, a removal without its marker would not */
    if ((e = anchor_write("marker", node, m.seq, m.hash, m.count, m.at, m.kv)))
        return e;
    if (!remove) {
        *removed += m.count;
        return E_OK;
    }
    if ((e = db_prepare(d, "DELETE FROM audit_log WHERE node = ? AND seq <= ?", &s)))
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, last);
    if ((e = db_run(s, NULL)))
        return e;
    *removed += m.count;
    return E_OK;
}

/* The end of a prune's transaction: its 'audit.prune' entry by `who` when
 * it removed something (in the transaction: with the prune or not at all),
 * then the commit; on any failure rolled back and *removed_r zeroed. */
static err prune_finish(db *d, err e, const char *who, const char *detail, int64_t *removed_r)
{
    if (!e && *removed_r) {
        struct audit_entry a = {.username = who,
                                .role = who,
                                .ip = "local",
                                .action = "audit.prune",
                                .object_type = "audit",
                                .result = "ok",
                                .detail = detail};
        e = audit_log(d, &a);
    }
    if (e || (e = db_commit(d))) {
        db_rollback(d);
        *removed_r = 0;
        return e;
    }
    return E_OK;
}

err audit_prune(db *d, int64_t before_ms, int64_t *removed_r)
{
    *removed_r = 0;
    struct audit_verify_result v;
    err e = audit_verify(d, &v);
    if (e)
        return e;
    if (v.code[0])
        return err_set(E_CONFLICT, "audit_broken", NULL,
                       "审计日志校验未通过（%s），不能清理：请先调查", v.code);
    if ((e = db_begin(d)))
        return e;
    struct chain_len *chains;
    size_t nn;
    e = chain_lengths(d, &chains, &nn);
    for (size_t i = 0; !e && i < nn; i++)
        e = prune_node(d, chains[i].node, before_ms, removed_r, true);
    free(chains);
    char detail[96];
    snprintf(detail, sizeof detail, "before=%lld removed=%lld", (long long)before_ms,
             (long long)*removed_r);
    return prune_finish(d, e, "cli", detail, removed_r);
}

err audit_restored(db *d)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT a.node, a.seq, a.hash FROM audit_log a WHERE a.seq = (SELECT "
                       "MAX(seq) FROM audit_log b WHERE b.node = a.node)",
                       &s);
    if (e)
        return e;
    bool row;
    int64_t at = now_ms();
    while (!(e = db_row(s, &row)) && row) {
        size_t n;
        const void *h = db_col_blob(s, 2, &n);
        uint8_t hash[SM3_LEN] = {0};
        if (n == SM3_LEN)
            memcpy(hash, h, SM3_LEN);
        int node = (int)db_col_int64(s, 0), kv = keys_audit_current();
        if ((e = anchor_write("restore", node, db_col_int64(s, 1), hash, 0, at, kv)))
            break;
    }
    db_done(s);
    return e;
}

/* ---- retention by partitions (src/retention/, docs/retention.md) ---------- */

/* Whether node's entries older than before_ms are more than the prefix of
 * its chain older than it: an entry older than the boundary after a newer
 * one (the clock went back). Dropping the partitions would then remove an
 * entry from the middle of the chain. */
static err prune_skewed(db *d, int node, int64_t before_ms, bool *skewed_r)
{
    int64_t first, last;
    err e = prune_range(d, node, before_ms, &first, &last);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT COUNT(*) FROM audit_log WHERE node = ? AND at < ? AND seq > ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, node);
    db_bind_int64(s, 2, before_ms);
    db_bind_int64(s, 3, last < first ? 0 : last);
    bool row;
    if (!(e = db_row(s, &row)) && row && db_col_int64(s, 0) > 0) {
        *skewed_r = true;
        char n[16], c[24];
        snprintf(n, sizeof n, "%d", node);
        snprintf(c, sizeof c, "%lld", (long long)db_col_int64(s, 0));
        log_event(LOG_WARN, "audit_prune_clock_skew", "node", n, "out_of_order", c, NULL);
    }
    db_done(s);
    return e;
}

err audit_prune_partitions(db *d, int64_t boundary_ms, err (*drop)(db *d, void *ctx), void *ctx,
                           int64_t *removed_r)
{
    *removed_r = 0;
    struct audit_verify_result v;
    err e = audit_verify(d, &v);
    if (e)
        return e;
    if (v.code[0])
        return err_set(E_CONFLICT, "audit_broken", NULL,
                       "审计日志校验未通过（%s），不能清理：请先调查", v.code);
    if ((e = db_begin(d)))
        return e;
    struct chain_len *chains;
    size_t nn;
    bool skewed = false;
    e = chain_lengths(d, &chains, &nn);
    for (size_t i = 0; !e && i < nn; i++)
        e = prune_skewed(d, chains[i].node, boundary_ms, &skewed);
    /* the same markers either way; a skewed chain keeps its partitions and
     * loses its prefix row by row, as audit_prune does */
    for (size_t i = 0; !e && i < nn; i++)
        e = prune_node(d, chains[i].node, boundary_ms, removed_r, skewed);
    free(chains);
    if (!e && !skewed && (e = drop(d, ctx)) == E_OK) {
        /* what the dropped partitions did not hold (the default partition's
         * old rows; every row on SQLite): exactly the marked prefixes */
        db_stmt *s;
        if (!(e = db_prepare(d, "DELETE FROM audit_log WHERE at < ?", &s))) {
            db_bind_int64(s, 1, boundary_ms);
            e = db_run(s, NULL);
        }
    }
    char detail[128];
    snprintf(detail, sizeof detail, "before=%lld removed=%lld by=%s", (long long)boundary_ms,
             (long long)*removed_r, skewed ? "delete:clock_skew" : "partitions");
    return prune_finish(d, e, "system", detail, removed_r);
}

/* ---- audit key rotation (docs/audit.md, "Rotating the audit key") --------- */

/* The audit key version of node's newest segment, 1 without one. */
static err segment_max(db *d, int node, int *kv_r)
{
    return node_key_version(
        d, "SELECT COALESCE(MAX(key_version), 1) FROM audit_segments WHERE node = ?", node, kv_r);
}

/* The nodes with a chain: entries or a retention marker, ascending. */
static err chain_nodes(db *d, int **nodes_r, size_t *n_r)
{
    *nodes_r = NULL;
    *n_r = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT node FROM audit_log GROUP BY node UNION SELECT node FROM "
                       "audit_marker GROUP BY node ORDER BY 1",
                       &s);
    if (e)
        return e;
    size_t cap = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(nodes_r, &cap, *n_r, 1, 8))
            abort();
        (*nodes_r)[(*n_r)++] = (int)db_col_int64(s, 0);
    }
    db_done(s);
    return e;
}

static err newest_version(db *d, int *v_r)
{
    int64_t v = 1;
    err e = db_query_int64(d, "SELECT COALESCE(MAX(version), 1) FROM audit_key_versions", &v);
    *v_r = (int)v;
    return e;
}

/* A rotation that did not commit takes its key back out of the key file. */
static void rotate_end(void *ctx, bool committed)
{
    int v = (int)(intptr_t)ctx;
    if (!committed && keys_audit_withdraw(v))
        log_event(LOG_ERROR, "audit_key_withdraw_failed", NULL);
}

/* Switch node's chain to version `to` in d's transaction: the switch entry
 * (by `who`), chained under `to`, records the old head's tag under the old
 * key; then the segment row. */
static err switch_node(db *d, int node, int to, const struct audit_entry *who)
{
    char key[32];
    snprintf(key, sizeof key, "audit_head:%d", node);
    int64_t head_seq;
    uint8_t head[SM3_LEN], old_key[SM3_LEN], tag[SM3_LEN];
    int from;
    err e = read_head(d, node, key, &head_seq, head);
    if (!e)
        e = segment_max(d, node, &from);
    if (e)
        return e;
    if (!audit_key(from, KEY_AUDIT, old_key))
        return audit_key_missing(from);
    switch_tag(old_key, head, to, tag);
    explicit_bzero(old_key, sizeof old_key);
    char hex[2 * SM3_LEN + 1], detail[160];
    hex_encode(tag, SM3_LEN, hex);
    snprintf(detail, sizeof detail, "from_version=%d to_version=%d head_seq=%lld old_tag=%s", from,
             to, (long long)head_seq, hex);
    struct audit_entry a = *who;
    a.action = "audit.key_switch";
    a.object_type = "audit";
    a.object_id = to;
    a.result = "ok";
    a.detail = detail;
    struct queued *q = make(&a);
    struct inline_head *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    e = append_node(d, node, q, to, &h->seq, h->hash, &h->kv);
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "INSERT INTO audit_segments (node, key_version, first_seq, "
                               "first_id, created_at) VALUES (?, ?, ?, ?, ?)",
                               &s))) {
        db_bind_int64(s, 1, node);
        db_bind_int64(s, 2, to);
        db_bind_int64(s, 3, head_seq + 1);
        db_bind_int64(s, 4, q->id);
        db_bind_int64(s, 5, now_ms());
        e = db_run(s, NULL);
    }
    free(q);
    if (!e && node == id_node()) /* this process's head, for its checkpoints */
        return db_after_commit(d, inline_end, h);
    free(h);
    return e;
}

err audit_key_rotate(db *d, const struct audit_entry *who, int *from_r, int *to_r, int *nodes_r)
{
    int newest, to, *nodes = NULL;
    size_t nn = 0;
    err e = keys_reload_if_changed();
    if (!e)
        e = newest_version(d, &newest);
    if (e)
        return e;
    if (keys_audit_current() < newest)
        return err_set(E_CONFLICT, "audit_key_file_stale", NULL,
                       "本服务器的密钥文件没有最新的审计密钥版本 %d：多台服务器须共用同一密钥文件",
                       newest);
    if ((e = keys_audit_add_version(&to)))
        return e;
    /* from here, a rollback takes the new key out of the file again */
    if ((e = db_after_commit(d, rotate_end, (void *)(intptr_t)to))) {
        rotate_end((void *)(intptr_t)to, false);
        return e;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO audit_key_versions (version, created_by, created_at) "
                        "VALUES (?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, to);
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, now_ms());
    if ((e = db_run(s, NULL)) || (e = chain_nodes(d, &nodes, &nn)))
        return e;
    for (size_t i = 0; !e && i < nn; i++)
        e = switch_node(d, nodes[i], to, who);
    free(nodes);
    if (e)
        return e;
    *from_r = newest;
    *to_r = to;
    *nodes_r = (int)nn;
    log_event(LOG_INFO, "audit_key_rotated", NULL);
    return E_OK;
}

/* Destroy the key file's copy once the row says destroyed. */
static void destroy_end(void *ctx, bool committed)
{
    int v = (int)(intptr_t)ctx;
    if (committed && keys_audit_destroy_version(v))
        log_event(LOG_ERROR, "audit_key_destroy_failed", NULL);
}

/*
 * Whether every entry under version v is gone: for each node, the range
 * its segment of v covers (entries before its first segment are version
 * 1's) must hold no entry any more, and the node must have moved on to a
 * later segment. Else E_CONFLICT "audit_key_not_purged" naming the node.
 */
static err check_purged(db *d, int v)
{
    int *nodes;
    size_t nn;
    err e = chain_nodes(d, &nodes, &nn);
    for (size_t i = 0; !e && i < nn; i++) {
        int node = nodes[i];
        db_stmt *s;
        /* [lo, next) of v: lo the segment's first_seq (1 for the implicit
         * version 1), next the following segment's first_seq, if any */
        if ((e = db_prepare(d,
                            "SELECT (SELECT first_seq FROM audit_segments WHERE node = ? AND "
                            "key_version = ?), (SELECT MIN(first_seq) FROM audit_segments WHERE "
                            "node = ? AND key_version > ?), (SELECT MIN(first_seq) FROM "
                            "audit_segments WHERE node = ?)",
                            &s)))
            break;
        db_bind_int64(s, 1, node);
        db_bind_int64(s, 2, v);
        db_bind_int64(s, 3, node);
        db_bind_int64(s, 4, v);
        db_bind_int64(s, 5, node);
        bool row, has = false, open = true;
        int64_t lo = 1, next = 0;
        if (!(e = db_row(s, &row)) && row) {
            if (!db_col_null(s, 0)) {
                has = true;
                lo = db_col_int64(s, 0);
            } else if (v == 1) { /* entries before the first segment, or all */
                has = db_col_null(s, 2) || db_col_int64(s, 2) > 1;
            }
            if (!db_col_null(s, 1)) {
                open = false;
                next = db_col_int64(s, 1);
            }
        }
        db_done(s);
        if (e || !has)
            continue;
        int64_t left = 0;
        if ((e = count_range(d, node, lo, open ? -1 : next - 1, &left)))
            break;
        if (left > 0 || open)
            e = err_set(E_CONFLICT, "audit_key_not_purged", NULL,
                        "审计密钥版本 %d 的日志段尚未全部超过保留期并清理：节点 %d 还有 %lld "
                        "条记录由它校验。保留期满、清理之后才能销毁该密钥",
                        v, node, (long long)(left ? left : 1));
    }
    free(nodes);
    return e;
}

err audit_key_destroy(db *d, int version, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT destroyed_at FROM audit_key_versions WHERE version = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, version);
    bool row, gone = false;
    if (!(e = db_row(s, &row)) && row)
        gone = !db_col_null(s, 0);
    db_done(s);
    if (e)
        return e;
    uint8_t probe[SM3_LEN];
    bool held = keys_audit_key(version, KEY_AUDIT, probe);
    explicit_bzero(probe, sizeof probe);
    if (!row)
        return err_set(E_NOT_FOUND, "audit_key_unknown", NULL, "没有这个审计密钥版本");
    if (gone && !held)
        return err_set(E_CONFLICT, "audit_key_destroyed", NULL, "该审计密钥版本已经销毁");
    int newest;
    if ((e = newest_version(d, &newest)))
        return e;
    if (version == newest)
        return err_set(E_CONFLICT, "audit_key_current", NULL, "不能销毁当前使用的审计密钥版本");
    if (version == 1 && keys_audit_in_master())
        return err_set(E_CONFLICT, "audit_key_in_master", NULL,
                       "审计密钥版本 1 由当前仍保存的主密钥派生：须先完成一次主密钥轮换并销毁旧主"
                       "密钥，它才能随之销毁");
    if (!gone) {
        if ((e = check_purged(d, version)))
            return e;
        if ((e = db_prepare(d,
                            "UPDATE audit_key_versions SET destroyed_by = ?, destroyed_at = ? "
                            "WHERE version = ? AND destroyed_at IS NULL",
                            &s)))
            return e;
        db_bind_int64(s, 1, user_id);
        db_bind_int64(s, 2, now_ms());
        db_bind_int64(s, 3, version);
        if ((e = db_run(s, NULL)))
            return e;
    }
    /* the row first, the key file after the commit: a crash between them
     * leaves the key in the file, and the same request removes it again */
    return db_after_commit(d, destroy_end, (void *)(intptr_t)version);
}

err audit_key_status(db *d, struct audit_key_version *out, size_t cap, size_t *n_r)
{
    *n_r = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT version, created_by, created_at, destroyed_by, destroyed_at, "
                       "(SELECT COUNT(*) FROM audit_segments g WHERE g.key_version = v.version) "
                       "FROM audit_key_versions v ORDER BY version DESC",
                       &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row && *n_r < cap) {
        struct audit_key_version *x = &out[(*n_r)++];
        uint8_t probe[SM3_LEN];
        x->version = (int)db_col_int64(s, 0);
        x->created_by = db_col_int64(s, 1);
        x->created_at = db_col_int64(s, 2);
        x->destroyed_by = db_col_null(s, 3) ? 0 : db_col_int64(s, 3);
        x->destroyed_at = db_col_null(s, 4) ? 0 : db_col_int64(s, 4);
        x->segments = db_col_int64(s, 5);
        x->held = keys_audit_key(x->version, KEY_AUDIT, probe);
        explicit_bzero(probe, sizeof probe);
    }
    db_done(s);
    return e;
}
