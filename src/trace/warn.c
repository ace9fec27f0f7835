/*
 * The automatic warning (seed 000 §6.7.1; trace.h "the automatic warning"):
 * when a person becomes confirmed, whichever path changed the status, the
 * trace runs in the background (degree 2, the default window) and an alert
 * "trace_contacts" tells the case's region how many contacts were found per
 * community, with the run's id for the console's link.
 *
 * The case workflow does not know about tracing (trace depends on case, not
 * the reverse): this sweep reads status_changes (index status_changes_to)
 * for confirmations of the last TRACE_WARN_LOOKBACK_DAYS without a run.
 * A run is claimed first, in its own transaction, by inserting it queued
 * with the confirmation's id (unique): of several servers, one runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"
#include "person/person.h"
#include "security/mask.h"
#include "trace/trace.h"

#define SWEEP_BATCH 16

struct confirmation {
    int64_t change_id, person_id, region_code;
};

/* Claim the run of confirmation c: *run_r 0 when another server has it. */
static err claim(db *d, const struct confirmation *c, int window_minutes, int64_t *run_r)
{
    *run_r = 0;
    int64_t id = id_new();
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if (!(e = db_prepare(d,
                         "INSERT INTO trace_runs (id, person_id, region_code, from_at, to_at, "
                         "degree, window_minutes, status, trigger_kind, status_change_id, "
                         "created_at) VALUES (?, ?, ?, 0, 0, 2, ?, 'queued', 'auto', ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, c->person_id);
        db_bind_int64(s, 3, c->region_code);
        db_bind_int64(s, 4, window_minutes);
        db_bind_int64(s, 5, c->change_id);
        db_bind_int64(s, 6, now_ms());
        e = db_run(s, NULL);
    }
    if (e == E_CONFLICT) {
        db_rollback(d);
        return E_OK; /* claimed elsewhere */
    }
    if (!e && !(e = db_commit(d)))
        *run_r = id;
    if (e)
        db_rollback(d);
    return e;
}

static err mark_failed(db *d, int64_t run)
{
    db_stmt *s;
    err e =
        db_prepare(d, "UPDATE trace_runs SET status = 'failed', finished_at = ? WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, run);
    return db_run(s, NULL);
}

/* Append s to buf (size n) when it fits whole; false when it did not. */
static bool append(char *buf, size_t n, const char *s)
{
    size_t used = strlen(buf), len = strlen(s);
    if (used + len + 1 > n)
        return false;
    memcpy(buf + used, s, len + 1);
    return true;
}

/* Characters (not bytes) of UTF-8 text. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The alert's message and detail: the counts, then per community. */
static err warn_alert(db *d, arena *a, const struct confirmation *c, int64_t run,
                      const struct trace_result *res)
{
    /* per community, from the stored contacts */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, COUNT(*) FROM trace_contacts WHERE run_id = ? GROUP "
                       "BY region_code ORDER BY region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, run);
    int64_t codes[64], counts[64];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t community = regcode_at_most(db_col_int64(s, 0), LEVEL_COMMUNITY);
        size_t k = 0;
        while (k < n && codes[k] != community)
            k++;
        if (k == n && n < 64) {
            codes[n] = community;
            counts[n++] = 0;
        }
        if (k < n)
            counts[k] += db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    struct person p;
    struct scope all = scope_all();
    const char *name = "";
    if (!person_find_brief(d, a, &all, c->person_id, &p))
        name = p.name ? p.name : "";
    char msg[600];
    snprintf(msg, sizeof msg, "确诊 %s 追踪到密接 %lld 人、次密接 %lld 人、一般接触 %lld 人",
             mask_name(a, name), (long long)res->counts[TRACE_CLOSE],
             (long long)res->counts[TRACE_SECONDARY], (long long)res->counts[TRACE_GENERAL]);
    json_t *detail = json_object(), *list = json_array();
    json_set_id(detail, "run_id", run);
    json_set_id(detail, "person_id", c->person_id);
    for (size_t k = 0; k < n && !e; k++) {
        db_stmt *q;
        if ((e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &q)))
            break;
        db_bind_int64(q, 1, codes[k]);
        char rn[256] = "";
        if (!(e = db_row(q, &row)) && row)
            snprintf(rn, sizeof rn, "%s", db_col_text(q, 0));
        db_done(q);
        char code[19], part[300];
        regcode_format(codes[k], code);
        json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "region_code", code, "name", rn,
                                              "count", (json_int_t)counts[k]));
        snprintf(part, sizeof part, "%s%s %lld 人", k ? "，" : "：", *rn ? rn : "其他地区",
                 (long long)counts[k]);
        /* the message stays within ALERT_MESSAGE_MAX characters, "…" included */
        if (chars(msg) + chars(part) > ALERT_MESSAGE_MAX - 1 || !append(msg, sizeof msg, part)) {
            append(msg, sizeof msg, "…");
            break;
        }
    }
    json_object_set_new(detail, "communities", list);
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (!e && !text)
        e = E_NOMEM;
    if (!e) {
        struct alert_new al = {.kind = ALERT_TRACE_CONTACTS,
                               .level = ALERT_WARNING,
                               .region_code = c->region_code,
                               .person_id = c->person_id,
                               .message = msg,
                               .detail = text};
        e = alert_raise(d, &al, NULL);
    }
    free(text);
    return e;
}

/* Run the claimed run `run` of confirmation c to its end (done or failed). */
static err run_one(db *d, arena *a, const struct confirmation *c, int64_t run)
{
    struct trace_request in = {.person_id = c->person_id, .degree = 2};
    struct trace_plan p;
    struct trace_result res = {0};
    struct scope all = scope_all();
    uint64_t t0 = mono_us();
    err e = trace_plan(d, &all, &in, now_ms(), &p);
    if (!e)
        e = trace_compute(d, &p, &res);
    if (e) {
        /* no longer a case, gone: the run says so, the sweep goes on */
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)run);
        log_event(LOG_WARN, "trace_auto_failed", "run", id, "slug", err_slug(e), NULL);
        trace_result_free(&res);
        return mark_failed(d, run);
    }
    int64_t id;
    if (!(e = db_begin(d))) {
        if (!(e = trace_run_store(d, &p, &res, TRACE_AUTO, run, 0,
                                  (int64_t)((mono_us() - t0) / 1000), &id)))
            e = warn_alert(d, a, c, run, &res);
        if (!e)
            e = db_commit(d);
        if (e)
            db_rollback(d);
    }
    trace_result_free(&res);
    return e;
}

err trace_warn_sweep(db *d, int64_t now, int64_t *n_r)
{
    struct trace_rules rules;
    err e = trace_rules_load(d, &rules);
    *n_r = 0;
    if (e || !rules.automatic)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT c.id, c.person_id, c.region_code FROM status_changes c WHERE "
                        "c.to_status = ? AND c.at >= ? AND NOT EXISTS (SELECT 1 FROM trace_runs "
                        "t WHERE t.status_change_id = c.id) ORDER BY c.at LIMIT ?",
                        &s)))
        return e;
    db_bind_text(s, 1, person_status_name(PERSON_CONFIRMED));
    db_bind_int64(s, 2, now - TRACE_WARN_LOOKBACK_DAYS * DAY_MS);
    db_bind_int64(s, 3, SWEEP_BATCH);
    struct confirmation cs[SWEEP_BATCH];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < SWEEP_BATCH)
        cs[n++] = (struct confirmation){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2)};
    db_done(s);
    /* the sweep runs on its own thread, with no request arena: one per
     * pass, reset between runs */
    arena *a = arena_new(0);
    if (!a)
        return E_NOMEM;
    for (size_t i = 0; i < n && !e; i++) {
        int64_t run;
        if ((e = claim(d, &cs[i], rules.window_minutes, &run)) || !run)
            continue;
        if (!(e = run_one(d, a, &cs[i], run)))
            ++*n_r;
        else
            err_ignore(mark_failed(d, run)); /* claimed: never left queued */
        arena_reset(a);
    }
    arena_free(&a);
    return e;
}

static err warn_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return trace_warn_sweep(d, now, n_r);
}

static struct periodic warner = PERIODIC_INIT("trace_warn", warn_run, NULL);

err trace_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&warner, db_url, every_s);
}

void trace_worker_stop(void)
{
    periodic_stop(&warner);
}
