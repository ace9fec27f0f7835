/*
 * Live read receipts (notice.h "Live receipts"; docs/community.md
 * "Notices"): when a resident opens a notice for the first time, the
 * staff streams of its region hear `event: receipt` with the notice's id
 * and counts only ({"notice_id","read","recipients"}: no person, no name),
 * and the console's receipts drawer re-reads its list.
 *
 * The counts are read inside the reader's transaction (after its UPDATE)
 * and published after the commit (db_after_commit), so a drawer that
 * re-reads sees the reading; a rolled-back reading tells nobody. The
 * stream's filter is the notice's region against the staff member's scope
 * (http/stream.c), the same bound notice_find uses: only staff who may
 * read the notice get its events.
 *
 * Other servers on the same PostgreSQL database hear it as alerts do: a
 * NOTIFY "origin region id read recipients" on fk_notices, sent at commit
 * (NOTIFY is transactional), published by each listener to its own streams
 * unless it came from this process (already published by the hook).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"
#include "http/http.h"
#include "notice/notice.h"
#include "security/crypto.h"

#define CHANNEL "fk_notices"

/* This process's mark on what it notifies ("-": not listening, a tool). */
static char origin[17] = "-";

struct pending {
    int64_t region_code;
    char data[128];
};

static void event_data(char *buf, size_t n, int64_t id, int64_t read, int64_t recipients)
{
    snprintf(buf, n, "{\"notice_id\":\"%lld\",\"read\":%lld,\"recipients\":%lld}", (long long)id,
             (long long)read, (long long)recipients);
}

static void publish_after_commit(void *ctx, bool committed)
{
    struct pending *p = ctx;
    if (committed)
        http_stream_publish(NOTICE_STREAM, p->region_code, id_new(), "receipt", p->data);
    free(p);
}

err notice_live_read(db *d, int64_t id)
{
    db_stmt *s;
    bool has;
    err e = db_prepare(d,
                       "SELECT n.region_code, n.recipients, (SELECT COUNT(*) FROM "
                       "notice_recipients x WHERE x.notice_id = n.id AND x.read_at > 0) "
                       "FROM notices n WHERE n.id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    int64_t region = 0, recipients = 0, read = 0;
    if (!(e = db_row(s, &has)) && has) {
        region = db_col_int64(s, 0);
        recipients = db_col_int64(s, 1);
        read = db_col_int64(s, 2);
    }
    db_done(s);
    if (e || !has)
        return e;
    struct pending *p = malloc(sizeof *p);
    if (!p)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    p->region_code = region;
    event_data(p->data, sizeof p->data, id, read, recipients);
    char payload[160]; /* the other servers (a no-op on SQLite) */
    snprintf(payload, sizeof payload, "%s %lld %lld %lld %lld", origin, (long long)region,
             (long long)id, (long long)read, (long long)recipients);
    if ((e = db_notify(d, CHANNEL, payload))) {
        free(p);
        return e;
    }
    if ((e = db_after_commit(d, publish_after_commit, p)))
        free(p);
    return e;
}

static void heard(const char *payload, void *ctx)
{
    (void)ctx;
    char from[17];
    long long region, id, read, recipients;
    if (sscanf(payload, "%16s %lld %lld %lld %lld", from, &region, &id, &read, &recipients) != 5) {
        log_event(LOG_WARN, "notice_notify_malformed", NULL);
        return;
    }
    if (!strcmp(from, origin))
        return; /* read here: already published after its commit */
    char data[128];
    event_data(data, sizeof data, id, read, recipients);
    http_stream_publish(NOTICE_STREAM, region, id_new(), "receipt", data);
}

err notice_live_start(const char *db_url)
{
    uint8_t r[8];
    err e = random_bytes(r, sizeof r);
    if (e)
        return e;
    for (int i = 0; i < 8; i++)
        snprintf(origin + 2 * i, 3, "%02x", r[i]);
    /* heard until db_listen_stop (stop_workers, with the alerts' listener) */
    return db_listen_start(db_url, CHANNEL, heard, NULL);
}
