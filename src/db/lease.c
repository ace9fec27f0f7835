/*
 * Leases (lease.h): the instance's identity, the one-statement acquire, the
 * fence, and the instance's heartbeat on a per-server periodic thread.
 */
#include "db/lease.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/id.h"
#include "db/periodic.h"

static char instance[33], host[64];
static int64_t pid;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void identity(void)
{
    unsigned char r[16] = {0};
    /* getrandom on a booted Linux does not fail for 16 bytes; should it,
     * the time and pid still make the id unique enough among servers */
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        int64_t t = now_ms() ^ ((int64_t)getpid() << 40);
        memcpy(r, &t, sizeof t);
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(instance + 2 * i, 3, "%02x", r[i]);
    if (gethostname(host, sizeof host))
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    pid = getpid();
}

const char *lease_instance(void)
{
    pthread_once(&once, identity);
    return instance;
}

const char *lease_host(void)
{
    pthread_once(&once, identity);
    return host;
}

err lease_acquire(db *d, const char *name, int64_t now, int64_t ttl_ms, int64_t *generation_r)
{
    *generation_r = 0;
    const char *me = lease_instance();
    db_stmt *s;
    /* one statement: a new lease is inserted; an existing one is updated
     * only when it is ours or expired (a takeover bumps the generation) */
    err e = db_prepare(d,
                       "INSERT INTO leases (name, holder, host, pid, generation, acquired_at, "
                       "renewed_at, expires_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT "
                       "(name) DO UPDATE SET generation = CASE WHEN leases.holder = "
                       "excluded.holder THEN leases.generation ELSE leases.generation + 1 END, "
                       "acquired_at = CASE WHEN leases.holder = excluded.holder THEN "
                       "leases.acquired_at ELSE excluded.acquired_at END, holder = "
                       "excluded.holder, host = excluded.host, pid = excluded.pid, renewed_at = "
                       "excluded.renewed_at, expires_at = excluded.expires_at WHERE leases.holder "
                       "= excluded.holder OR leases.expires_at < excluded.renewed_at",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, me);
    db_bind_text(s, 3, host);
    db_bind_int64(s, 4, pid);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, now + ttl_ms);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)) || !changed)
        return e;
    if ((e = db_prepare(d, "SELECT generation FROM leases WHERE name = ? AND holder = ?", &s)))
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, me);
    bool row = false;
    if (!(e = db_row(s, &row)) && row)
        *generation_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err lease_fence(db *d, const char *name, int64_t generation)
{
    db_stmt *s;
    /* FOR SHARE: a takeover's update of the row waits for this transaction */
    err e = db_prepare(d,
                       db_kind(d) == DB_POSTGRES
                           ? "SELECT 1 FROM leases WHERE name = ? AND holder = ? AND "
                             "generation = ? FOR SHARE"
                           : "SELECT 1 FROM leases WHERE name = ? AND holder = ? AND "
                             "generation = ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, lease_instance());
    db_bind_int64(s, 3, generation);
    bool row = false;
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_CONFLICT, "lease_lost", NULL, "后台任务 %s 已由其他服务器接管", name);
    return e;
}

err lease_release(db *d, const char *name)
{
    db_stmt *s;
    err e = db_prepare(d, "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, lease_instance());
    return db_run(s, NULL);
}

/* ---- the heartbeat ------------------------------------------------------------------ */

static char beat_name[48];
static int64_t beat_ttl_ms;
static _Atomic bool beating;

static err beat(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    (void)n_r; /* a renewal is no news: nothing logged */
    int64_t gen;
    err e = lease_acquire(d, beat_name, now, beat_ttl_ms, &gen);
    /* nobody else renews this name: 0 would mean another process shares our id */
    return e ? e : gen ? E_OK : err_set(E_CONFLICT, "lease_lost", NULL, NULL);
}

static struct periodic beater = PERIODIC_LOCAL("instance_beat", beat, NULL);

err lease_beat_start(const char *db_url, int every_s)
{
    if (every_s <= 0)
        return E_OK;
    snprintf(beat_name, sizeof beat_name, "server.%s", lease_instance());
    beat_ttl_ms = 3000LL * every_s;
    db *d;
    err e = db_open(db_url, &d);
    if (e)
        return e;
    /* held before any job of this instance is queued (job_sweep_orphans) */
    e = beat(d, now_ms(), NULL, NULL);
    db_close(&d);
    if (!e && !(e = periodic_start(&beater, db_url, every_s)))
        atomic_store(&beating, true);
    return e;
}

const char *lease_beating(void)
{
    return atomic_load(&beating) ? lease_instance() : "";
}

void lease_beat_stop(void)
{
    /* the lease is not given up: it expires 3 periods on, and till then the
     * jobs this instance may still be finishing are not taken for orphans */
    atomic_store(&beating, false);
    periodic_stop(&beater);
}
