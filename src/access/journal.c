/*
 * The access journal (journal.h): segments of framed records in
 * DATA/access-journal/, an in-memory tail of the records not yet indexed,
 * and the indexer thread that moves them into access_records.
 *
 * A frame is [u32 payload length][u32 CRC-32 of the payload][payload], in
 * the host's byte order (the journal never leaves the machine that wrote
 * it). The payload is version 1: the record's integers and flags, then the
 * audit entry's strings, each as u16 length and bytes (0xFFFF: NULL). A
 * frame whose length runs past the file's end or whose checksum does not
 * match is a torn write: it and everything after it are dropped at start-up
 * (the writer acknowledged none of it: a batch is answered only after its
 * fdatasync returned).
 *
 * The writer appends to the newest segment and starts a new one past
 * SEGMENT_MAX bytes; the indexer deletes a segment once it is older than
 * the newest and none of its records is waiting. Re-indexing a record that
 * is already in access_records (a crash between the indexer's commit and
 * the segment's deletion) inserts nothing and writes no second audit entry:
 * the insert is ON CONFLICT (id) DO NOTHING and the entry is written only
 * when the row was.
 */
#include "access/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/access.h"
#include "base/grow.h"
#include "base/log.h"
#include "db/catchup.h"
#include "security/auth.h"

#define SEGMENT_MAX (64u << 20) /* bytes of a segment before the next one starts */
#define TAIL_MAX    100000      /* records journalled and not yet indexed */
#define INDEX_MAX   20000       /* records per indexer transaction */
#define BUCKETS     8192        /* the tail's index by person */
#define STR_NULL    0xFFFFu
#define SYNC_WAIT_S 10 /* the longest a reader waits for the indexer */
/* The indexer lets records gather for up to INDEX_LINGER_MS, until
 * INDEX_MIN are waiting, unless a reader waits for them (access_journal_sync)
 * or the server stops: one commit for many batches. Each of its commits
 * costs a WAL fsync, rewrites the index pages it touched and drops every
 * other connection's page cache (their next statement reads those pages
 * again): indexing each batch as it came was a third of the server's CPU
 * under load (docs/benchmarks.md "The scan at half of nginx"). */
#define INDEX_LINGER_MS 200
#define INDEX_MIN       4096

struct tent {
    struct journal_rec r;
    uint64_t seq, seg;
    struct tent *next;           /* FIFO */
    struct tent *hnext, **hprev; /* the bucket of its person */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the indexer: records to index, a reader waiting, or stop */
    unsigned readers;    /* in access_journal_sync, waiting for the indexer */
    pthread_cond_t done; /* waiters: indexed up to seq_indexed, or room in the tail */
    pthread_rwlock_t count;
    struct tent *head, **tail;
    struct tent *bucket[BUCKETS];
    size_t n_tail;
    uint64_t seq_durable, seq_indexed;
    uint64_t cur_seg, oldest_seg;
    bool on, running, stopping;
    /* the writer's own */
    int fd;
    uint64_t cur_size;
    pthread_t thread;
    db *idb;
    char dir[4096];
    char stall[4096]; /* FK_TEST_JOURNAL_STALL: test suites only (journal.h) */
} J = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .count = PTHREAD_RWLOCK_INITIALIZER,
    .tail = &J.head,
    .fd = -1,
};

/* ---- CRC-32 (IEEE, reflected) ----------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- frames ------------------------------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
};

static void put(struct buf *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (!GROW(&b->p, &b->cap, b->n, n, 256)) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_str(struct buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= STR_NULL)
        n = STR_NULL - 1; /* audit strings are short; never a length that reads as NULL */
    uint16_t l = s ? (uint16_t)n : (uint16_t)STR_NULL;
    put(b, &l, sizeof l);
    if (s)
        put(b, s, n);
}

/* Append r's frame to b. */
static void frame_put(struct buf *b, const struct journal_rec *r)
{
    size_t start = b->n;
    uint32_t hdr[2] = {0, 0};
    put(b, hdr, sizeof hdr);
    uint8_t version = 1;
    put(b, &version, 1);
    int64_t ints[] = {r->id, r->venue_id,         r->region_code, r->person_id,
                      r->at, r->operator_user_id, r->device_id,   r->created_at};
    put(b, ints, sizeof ints);
    put(b, &r->temperature, sizeof r->temperature);
    uint8_t flags[] = {r->direction, r->colour, r->pass, r->reason, r->method, r->audited};
    put(b, flags, sizeof flags);
    if (r->audited) {
        int64_t a[] = {r->audit.user_id, r->audit.object_id};
        put(b, a, sizeof a);
        const struct audit_entry *e = &r->audit;
        const char *s[] = {e->username,    e->role,   e->ip,    e->action,
                           e->object_type, e->result, e->detail};
        for (size_t i = 0; i < sizeof s / sizeof *s; i++)
            put_str(b, s[i]);
    }
    if (b->oom)
        return;
    hdr[0] = (uint32_t)(b->n - start - sizeof hdr);
    hdr[1] = crc32_of(b->p + start + sizeof hdr, hdr[0]);
    memcpy(b->p + start, hdr, sizeof hdr);
}

err journal_frame_encode(const struct journal_rec *r, uint8_t **out_r, size_t *len_r)
{
    struct buf b = {0};
    frame_put(&b, r);
    if (b.oom) {
        free(b.p);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    *out_r = b.p;
    *len_r = b.n;
    return E_OK;
}

struct cur {
    const uint8_t *p;
    size_t n;
    bool bad;
};

static void get(struct cur *c, void *v, size_t n)
{
    if (c->bad || c->n < n) {
        c->bad = true;
        memset(v, 0, n);
        return;
    }
    memcpy(v, c->p, n);
    c->p += n;
    c->n -= n;
}

static char *get_str(struct cur *c)
{
    uint16_t l;
    get(c, &l, sizeof l);
    if (c->bad || l == STR_NULL)
        return NULL;
    if (c->n < l) {
        c->bad = true;
        return NULL;
    }
    if (memchr(c->p, '\0', l)) { /* a string the encoder could not have written */
        c->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)l + 1);
    if (!s) {
        c->bad = true;
        return NULL;
    }
    memcpy(s, c->p, l);
    s[l] = '\0';
    c->p += l;
    c->n -= l;
    return s;
}

void journal_rec_free(struct journal_rec *r)
{
    if (!r->audited)
        return;
    free((char *)r->audit.username);
    free((char *)r->audit.role);
    free((char *)r->audit.ip);
    free((char *)r->audit.action);
    free((char *)r->audit.object_type);
    free((char *)r->audit.result);
    free((char *)r->audit.detail);
    r->audited = false;
}

bool journal_frame_decode(const uint8_t *buf, size_t len, struct journal_rec *r, size_t *used_r)
{
    memset(r, 0, sizeof *r);
    uint32_t hdr[2];
    if (len < sizeof hdr)
        return false;
    memcpy(hdr, buf, sizeof hdr);
    if (hdr[0] > len - sizeof hdr || hdr[0] > (1u << 20))
        return false;
    const uint8_t *pl = buf + sizeof hdr;
    if (crc32_of(pl, hdr[0]) != hdr[1])
        return false;
    struct cur c = {pl, hdr[0], false};
    uint8_t version;
    get(&c, &version, 1);
    if (version != 1)
        return false;
    int64_t ints[8];
    get(&c, ints, sizeof ints);
    r->id = ints[0], r->venue_id = ints[1], r->region_code = ints[2], r->person_id = ints[3];
    r->at = ints[4], r->operator_user_id = ints[5], r->device_id = ints[6];
    r->created_at = ints[7];
    get(&c, &r->temperature, sizeof r->temperature);
    uint8_t flags[6];
    get(&c, flags, sizeof flags);
    r->direction = flags[0], r->colour = flags[1], r->pass = flags[2], r->reason = flags[3];
    r->method = flags[4];
    if (flags[5]) {
        r->audited = true;
        int64_t a[2];
        get(&c, a, sizeof a);
        r->audit.user_id = a[0];
        r->audit.object_id = a[1];
        r->audit.username = get_str(&c);
        r->audit.role = get_str(&c);
        r->audit.ip = get_str(&c);
        r->audit.action = get_str(&c);
        r->audit.object_type = get_str(&c);
        r->audit.result = get_str(&c);
        r->audit.detail = get_str(&c);
    }
    /* the checksum matched: a short or long payload is a writer of another
     * version, not a torn write, and is refused all the same */
    if (c.bad || c.n || (r->direction != ACCESS_IN && r->direction != ACCESS_OUT) ||
        r->method < ACCESS_STAFF_SCAN || r->method > ACCESS_DEVICE || r->colour > CODE_RED ||
        r->pass > 1 || flags[5] > 1 || (r->reason & (r->reason - 1)) ||
        r->reason > ACCESS_DENY_LIMIT ||
        (r->audited && (!r->audit.action || !r->audit.object_type))) {
        journal_rec_free(r);
        return false;
    }
    *used_r = sizeof hdr + hdr[0];
    return true;
}

/* ---- indexing ----------------------------------------------------------------------- */

static err index_one(db *d, const struct journal_rec *r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO access_records (id, venue_id, region_code, person_id, "
                       "direction, at, temperature, colour, verdict, reason, method, "
                       "operator_user_id, device_id, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (id) DO NOTHING",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->id);
    db_bind_int64(s, 2, r->venue_id);
    db_bind_int64(s, 3, r->region_code);
    db_bind_int64(s, 4, r->person_id);
    db_bind_text(s, 5, r->direction == ACCESS_IN ? "in" : "out");
    db_bind_int64(s, 6, r->at);
    if (r->temperature >= 0)
        db_bind_double(s, 7, r->temperature);
    else
        db_bind_null(s, 7);
    db_bind_text(s, 8, code_colour_name((enum code_colour)r->colour));
    db_bind_text(s, 9, r->pass ? "pass" : "deny");
    db_bind_text(s, 10, access_deny_slug(r->reason));
    db_bind_text(s, 11, access_method_name((enum access_method)r->method));
    db_bind_int64(s, 12, r->operator_user_id);
    db_bind_int64(s, 13, r->device_id);
    db_bind_int64(s, 14, r->created_at);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    /* the entry goes with the row: once, however often the record is replayed */
    return changed > 0 && r->audited ? audit_log(d, &r->audit) : E_OK;
}

/* Index recs[0..n) in one transaction on d. */
static err index_recs(db *d, struct journal_rec *const *recs, size_t n, bool hold_counts)
{
    err e = db_begin(d);
    for (size_t i = 0; i < n && !e; i++)
        e = index_one(d, recs[i]);
    if (e) {
        db_rollback(d);
        return e;
    }
    if (hold_counts) /* released by the caller once the tail no longer holds them */
        pthread_rwlock_wrlock(&J.count);
    if ((e = db_commit(d))) {
        if (hold_counts)
            pthread_rwlock_unlock(&J.count);
        db_rollback(d);
    }
    return e;
}

/* ---- segments ----------------------------------------------------------------------- */

static void seg_path(char *out, size_t n, uint64_t seg)
{
    snprintf(out, n, "%s/%016" PRIx64 ".log", J.dir, seg);
}

static err sync_dir(void)
{
    int fd = open(J.dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd)) {
        if (fd >= 0)
            close(fd);
        return err_set(E_INTERNAL, NULL, NULL, "出入记录日志目录无法同步：%s", strerror(errno));
    }
    close(fd);
    return E_OK;
}

static err seg_open(uint64_t seg)
{
    char p[4200];
    seg_path(p, sizeof p, seg);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(E_INTERNAL, NULL, NULL, "无法打开出入记录日志 %s：%s", p, strerror(errno));
    err e = sync_dir(); /* the new file's name survives a power cut */
    if (e) {
        close(fd);
        return e;
    }
    struct stat st;
    J.cur_size = fstat(fd, &st) ? 0 : (uint64_t)st.st_size;
    if (J.fd >= 0)
        close(J.fd);
    J.fd = fd;
    pthread_mutex_lock(&J.mu);
    J.cur_seg = seg;
    pthread_mutex_unlock(&J.mu);
    return E_OK;
}

/* Delete the segments older than the newest that hold no waiting record.
 * Under J.mu. */
static void seg_collect(void)
{
    uint64_t keep = J.head ? J.head->seg : J.cur_seg;
    while (J.oldest_seg < keep) {
        char p[4200];
        seg_path(p, sizeof p, J.oldest_seg);
        if (unlink(p) && errno != ENOENT)
            log_event(LOG_WARN, "access_journal_unlink", "file", p, "error", strerror(errno), NULL);
        J.oldest_seg++;
    }
}

/* ---- the tail ----------------------------------------------------------------------- */

static size_t bucket_of(int64_t person_id)
{
    return (size_t)((uint64_t)person_id * 0x9E3779B97F4A7C15ull >> 51) % BUCKETS;
}

int64_t access_journal_passed(int64_t person_id, int64_t venue_id, uint8_t direction, int64_t since)
{
    if (!J.on)
        return 0;
    int64_t n = 0;
    pthread_mutex_lock(&J.mu);
    for (struct tent *t = J.bucket[bucket_of(person_id)]; t; t = t->hnext)
        n += t->r.person_id == person_id && t->r.venue_id == venue_id &&
             t->r.direction == direction && t->r.pass && t->r.at >= since;
    pthread_mutex_unlock(&J.mu);
    return n;
}

void access_journal_count_begin(void)
{
    if (J.on)
        pthread_rwlock_rdlock(&J.count);
}

void access_journal_count_end(void)
{
    if (J.on)
        pthread_rwlock_unlock(&J.count);
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* Test suites only: while the stall file exists the writer waits here,
 * holding its batch, so the scan queue fills at a known count. */
static void test_stall(void)
{
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    while (J.stall[0] && access(J.stall, F_OK) == 0)
        nanosleep(&ms10, NULL);
}

err access_journal_append(struct journal_rec *recs, size_t n)
{
    if (!J.on || !n)
        return E_OK;
    test_stall();
    pthread_mutex_lock(&J.mu);
    while (J.n_tail + n > TAIL_MAX && J.running) /* the indexer is behind: wait for it */
        pthread_cond_wait(&J.done, &J.mu);
    pthread_mutex_unlock(&J.mu);
    err e;
    if (J.cur_size >= SEGMENT_MAX && (e = seg_open(J.cur_seg + 1)))
        return e;
    struct buf b = {0};
    for (size_t i = 0; i < n; i++)
        frame_put(&b, &recs[i]);
    /* the tail's copies, made before the write so that nothing can fail after it */
    struct tent *list = NULL, **lt = &list;
    bool oom = b.oom;
    for (size_t i = 0; i < n && !oom; i++) {
        struct tent *t = calloc(1, sizeof *t);
        if (!t) {
            oom = true;
            break;
        }
        t->r = recs[i];
        if (t->r.audited) {
            struct audit_entry *a = &t->r.audit;
            a->username = dup_or_null(a->username, &oom);
            a->role = dup_or_null(a->role, &oom);
            a->ip = dup_or_null(a->ip, &oom);
            a->action = dup_or_null(a->action, &oom);
            a->object_type = dup_or_null(a->object_type, &oom);
            a->result = dup_or_null(a->result, &oom);
            a->detail = dup_or_null(a->detail, &oom);
        }
        *lt = t;
        lt = &t->next;
    }
    if (oom) {
        e = err_set(E_NOMEM, NULL, NULL, NULL);
        goto fail;
    }
    size_t off = 0;
    while (off < b.n) {
        ssize_t w = write(J.fd, b.p + off, b.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = err_errno_disk_full(errno)
                    ? err_disk_full("access journal")
                    : err_set(E_INTERNAL, NULL, NULL, "出入记录日志写入失败：%s", strerror(errno));
            goto cut;
        }
        off += (size_t)w;
    }
    if (fdatasync(J.fd)) {
        e = err_errno_disk_full(errno)
                ? err_disk_full("access journal")
                : err_set(E_INTERNAL, NULL, NULL, "出入记录日志落盘失败：%s", strerror(errno));
        goto cut;
    }
    J.cur_size += b.n;
    free(b.p);
    pthread_mutex_lock(&J.mu);
    for (struct tent *t = list, *next; t; t = next) {
        next = t->next;
        t->next = NULL;
        t->seq = ++J.seq_durable;
        t->seg = J.cur_seg;
        *J.tail = t;
        J.tail = &t->next;
        struct tent **bk = &J.bucket[bucket_of(t->r.person_id)];
        t->hnext = *bk;
        if (*bk)
            (*bk)->hprev = &t->hnext;
        t->hprev = bk;
        *bk = t;
        J.n_tail++;
    }
    pthread_cond_signal(&J.wake);
    pthread_mutex_unlock(&J.mu);
    return E_OK;
cut:
    /* nothing of this batch was acknowledged: cut the file back, so a later
     * batch does not follow a torn frame */
    if (ftruncate(J.fd, (off_t)J.cur_size))
        log_event(LOG_ERROR, "access_journal_truncate", "error", strerror(errno), NULL);
fail:
    free(b.p);
    while (list) {
        struct tent *next = list->next;
        journal_rec_free(&list->r);
        free(list);
        list = next;
    }
    log_event(LOG_ERROR, "access_journal_append", "detail", err_last()->message, NULL);
    return e;
}

/* ---- the indexer -------------------------------------------------------------------- */

static void *indexer_main(void *arg)
{
    (void)arg;
    struct journal_rec **recs = malloc(INDEX_MAX * sizeof *recs);
    if (!recs)
        abort();
    unsigned backoff_ms = 0;
    pthread_mutex_lock(&J.mu);
    for (;;) {
        while (!J.head && !J.stopping)
            pthread_cond_wait(&J.wake, &J.mu);
        if (!J.head)
            break; /* stopping, and everything indexed */
        /* let records gather (INDEX_LINGER_MS); not when retrying a failure */
        if (!backoff_ms) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += INDEX_LINGER_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            while (J.n_tail < INDEX_MIN && !J.readers && !J.stopping &&
                   pthread_cond_timedwait(&J.wake, &J.mu, &until) != ETIMEDOUT)
                ;
        }
        size_t n = 0;
        struct tent *last = NULL;
        for (struct tent *t = J.head; t && n < INDEX_MAX; t = t->next) {
            recs[n++] = &t->r;
            last = t;
        }
        /* the entries stay in the tail (and counted) until the commit: only
         * this thread removes them, so they cannot go away meanwhile */
        pthread_mutex_unlock(&J.mu);
        err_clear();
        err e = index_recs(J.idb, recs, n, true);
        pthread_mutex_lock(&J.mu);
        if (e) {
            /* kept: the next round retries (a database busy for long, a full disk) */
            log_event(LOG_ERROR, "access_journal_index", "detail", err_last()->message, NULL);
            if (J.stopping)
                break; /* left in the journal: indexed at the next start */
            backoff_ms = backoff_ms ? backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2 : 10;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)backoff_ms * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&J.wake, &J.mu, &ts);
            continue;
        }
        backoff_ms = 0;
        uint64_t seq = last->seq;
        while (J.head) {
            struct tent *t = J.head;
            J.head = t->next;
            *t->hprev = t->hnext;
            if (t->hnext)
                t->hnext->hprev = t->hprev;
            J.n_tail--;
            bool end = t == last;
            journal_rec_free(&t->r);
            free(t);
            if (end)
                break;
        }
        if (!J.head)
            J.tail = &J.head;
        J.seq_indexed = seq;
        pthread_rwlock_unlock(&J.count); /* taken by index_recs before its commit */
        seg_collect();
        pthread_cond_broadcast(&J.done);
    }
    pthread_mutex_unlock(&J.mu);
    free(recs);
    return NULL;
}

void access_journal_sync(void)
{
    if (!J.on)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SYNC_WAIT_S;
    pthread_mutex_lock(&J.mu);
    uint64_t target = J.seq_durable;
    bool late = false;
    if (J.seq_indexed < target) { /* the indexer stops lingering for us */
        J.readers++;
        pthread_cond_signal(&J.wake);
        while (J.seq_indexed < target && J.running && !late)
            late = pthread_cond_timedwait(&J.done, &J.mu, &until) == ETIMEDOUT;
        J.readers--;
    }
    pthread_mutex_unlock(&J.mu);
    if (late) /* an indexer failing for long (logged there): answer with what is indexed */
        log_event(LOG_WARN, "access_journal_sync_late", NULL);
}

/* ---- start-up and stop -------------------------------------------------------------- */

err access_journal_configure(const char *data_dir)
{
    const char *off = getenv("FK_ACCESS_JOURNAL");
    J.dir[0] = '\0';
    if (data_dir && *data_dir && !(off && !strcmp(off, "0")))
        snprintf(J.dir, sizeof J.dir, "%s/access-journal", data_dir);
    const char *stall = getenv("FK_TEST_JOURNAL_STALL");
    J.stall[0] = '\0';
    if (!stall || !*stall)
        return E_OK;
    /* a server that can be told to stop acknowledging scans is for tests:
     * only with the test suites' password cost (password_cost_weak) */
    if (!password_cost_weak())
        return err_set(E_INPUT, "invalid_config", "FK_TEST_JOURNAL_STALL",
                       "FK_TEST_JOURNAL_STALL 仅用于测试（需同时设置测试用的口令哈希强度）");
    snprintf(J.stall, sizeof J.stall, "%s", stall);
    return E_OK;
}

bool access_journal_on(void)
{
    return J.on;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment numbers found in the folder, sorted, into *segs_r (malloc'd). */
static err seg_list(uint64_t **segs_r, size_t *n_r)
{
    *segs_r = NULL;
    *n_r = 0;
    DIR *dh = opendir(J.dir);
    if (!dh)
        return err_set(E_INTERNAL, NULL, NULL, "无法读取出入记录日志目录：%s", strerror(errno));
    uint64_t *segs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        unsigned long long v;
        char tail[8];
        if (strlen(de->d_name) != 20 || sscanf(de->d_name, "%16llx%7s", &v, tail) != 2 ||
            strcmp(tail, ".log"))
            continue;
        if (!GROW(&segs, &cap, n, 1, 16)) {
            free(segs);
            closedir(dh);
            return err_set(E_NOMEM, NULL, NULL, NULL);
        }
        segs[n++] = v;
    }
    closedir(dh);
    if (n)
        qsort(segs, n, sizeof *segs, cmp_u64);
    *segs_r = segs;
    *n_r = n;
    return E_OK;
}

/* Index one segment left by the last run into d; a torn frame and what
 * follows it are dropped (and cut from the file). *recs_r counts. */
static err recover_segment(db *d, uint64_t seg, int64_t *recs_r)
{
    char p[4200];
    seg_path(p, sizeof p, seg);
    FILE *f = fopen(p, "rb");
    if (!f)
        return err_set(E_INTERNAL, NULL, NULL, "无法读取出入记录日志 %s：%s", p, strerror(errno));
    struct buf b = {0};
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&b, chunk, got);
    bool rerr = ferror(f);
    fclose(f);
    if (rerr || b.oom) {
        free(b.p);
        return err_set(rerr ? E_INTERNAL : E_NOMEM, NULL, NULL, "无法读取出入记录日志 %s", p);
    }
    struct journal_rec *recs = malloc(INDEX_MAX * sizeof *recs);
    struct journal_rec **ptrs = malloc(INDEX_MAX * sizeof *ptrs);
    if (!recs || !ptrs) {
        free(recs);
        free(ptrs);
        free(b.p);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    size_t off = 0, n = 0;
    err e = E_OK;
    for (;;) {
        size_t used = 0;
        bool ok = off < b.n && journal_frame_decode(b.p + off, b.n - off, &recs[n], &used);
        if (ok) {
            ptrs[n] = &recs[n];
            n++;
            off += used;
        }
        if (n == INDEX_MAX || (!ok && n)) {
            e = index_recs(d, ptrs, n, false);
            for (size_t i = 0; i < n; i++)
                journal_rec_free(&recs[i]);
            *recs_r += (int64_t)n;
            n = 0;
            if (e)
                break;
        }
        if (!ok)
            break;
    }
    if (!e && off < b.n) {
        char at[24], dropped[24];
        snprintf(at, sizeof at, "%zu", off);
        snprintf(dropped, sizeof dropped, "%zu", b.n - off);
        log_event(LOG_WARN, "access_journal_torn", "file", p, "offset", at, "bytes", dropped, NULL);
    }
    free(recs);
    free(ptrs);
    free(b.p);
    return e;
}

err access_journal_open(const char *db_url, db *d)
{
    J.on = false;
    if (!J.dir[0] || strcmp(db_url_driver(db_url), "sqlite"))
        return E_OK; /* PostgreSQL: group commit in the database */
    if (mkdir(J.dir, 0700) && errno != EEXIST)
        return err_set(E_INTERNAL, NULL, NULL, "无法创建出入记录日志目录 %s：%s", J.dir,
                       strerror(errno));
    uint64_t *segs;
    size_t n;
    err e = seg_list(&segs, &n);
    if (e)
        return e;
    int64_t recovered = 0;
    for (size_t i = 0; i < n && !e; i++)
        e = recover_segment(d, segs[i], &recovered);
    if (e) {
        free(segs);
        return e;
    }
    /* everything is in the database now: the old segments can go */
    for (size_t i = 0; i < n; i++) {
        char p[4200];
        seg_path(p, sizeof p, segs[i]);
        if (unlink(p) && errno != ENOENT) {
            e = err_set(E_INTERNAL, NULL, NULL, "无法删除出入记录日志 %s：%s", p, strerror(errno));
            free(segs);
            return e;
        }
    }
    uint64_t next = n ? segs[n - 1] + 1 : 1;
    free(segs);
    if (recovered) {
        char c[24];
        snprintf(c, sizeof c, "%" PRId64, recovered);
        log_event(LOG_INFO, "access_journal_recovered", "records", c, NULL);
    }
    if ((e = seg_open(next)))
        return e;
    J.oldest_seg = next;
    if ((e = db_open(db_url, &J.idb))) {
        close(J.fd);
        J.fd = -1;
        return e;
    }
    J.stopping = false;
    J.running = true;
    if (pthread_create(&J.thread, NULL, indexer_main, NULL) != 0) {
        J.running = false;
        db_close(&J.idb);
        close(J.fd);
        J.fd = -1;
        return err_set(E_INTERNAL, NULL, NULL, "无法启动出入记录索引线程");
    }
    pthread_setname_np(J.thread, "fk-access-idx");
    J.on = true;
    db_catch_up_set(access_journal_sync); /* readers in other capabilities (db/catchup.h) */
    return E_OK;
}

void access_journal_close(void)
{
    if (!J.on)
        return;
    db_catch_up_set(NULL);
    pthread_mutex_lock(&J.mu);
    J.stopping = true;
    pthread_cond_signal(&J.wake);
    pthread_mutex_unlock(&J.mu);
    pthread_join(J.thread, NULL);
    pthread_mutex_lock(&J.mu);
    J.running = false;
    pthread_cond_broadcast(&J.done);
    pthread_mutex_unlock(&J.mu);
    db_close(&J.idb);
    if (J.fd >= 0)
        close(J.fd);
    J.fd = -1;
    J.on = false;
}
