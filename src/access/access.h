/*
 * Access records (出入记录) and the scan path (issue 4; seed 000 §6.2.5,
 * §6.8; seed 001 §4.1.3; seed 002 二(一), 二(二)1): every passage through a
 * venue, by a checkpoint scanning a resident's code or a resident scanning
 * the venue's code, with the colour at that moment, the temperature, the
 * verdict and who recorded it. docs/access.md tells the whole path.
 *
 * Three layers:
 *   - the policy (access_evaluate): a pure function from the venue's policy,
 *     the code, the temperature and the passages already counted to a
 *     verdict and the alerts it implies; unit-tested;
 *   - the apply step (access_apply): inside the caller's transaction,
 *     records the temperature (refreshing the code), reads the colour,
 *     counts the person's passages over the venue's period, evaluates,
 *     appends the record and raises the alerts;
 *   - the writer (access_writer_*): a thread with its own connection that
 *     applies queued scans in batches, one transaction and one fsync for
 *     many (group commit), and only then lets each scan be answered.
 */
#ifndef FK_ACCESS_ACCESS_H
#define FK_ACCESS_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/jsonw.h"
#include "code/code.h"
#include "db/db.h"
#include "security/audit.h"
#include "security/auth.h"

enum access_method { ACCESS_STAFF_SCAN = 1, ACCESS_SELF_SCAN, ACCESS_MANUAL, ACCESS_DEVICE };
extern const char *const access_method_names[]; /* staff_scan, self_scan, manual, device, NULL */
const char *access_method_name(enum access_method m);
enum access_method access_method_parse(const char *s); /* 0 when unknown */

enum access_dir { ACCESS_IN = 1, ACCESS_OUT = 2 };

/* The venue's policy as the scan path needs it (copied from struct venue). */
struct access_policy {
    unsigned allowed_colors; /* VENUE_GREEN | VENUE_YELLOW | VENUE_RED */
    int64_t limit_count;     /* passages per person per direction in the period; 0 none */
    int64_t limit_hours;
    double fever_threshold;
};

/* Why a scan is refused, as bits; the first set bit is the record's reason. */
enum {
    ACCESS_DENY_COLOUR = 1 << 0, /* the colour is not allowed here */
    ACCESS_DENY_FEVER = 1 << 1,  /* temperature at or above the threshold */
    ACCESS_DENY_LIMIT = 1 << 2,  /* more passages than the limit in the period */
};

/* Alerts a scan implies, as bits. */
enum {
    ACCESS_ALERT_FEVER = 1 << 0,
    ACCESS_ALERT_COLOUR = 1 << 1, /* a red or yellow code at a gate */
    ACCESS_ALERT_LIMIT = 1 << 2,
};

struct access_decision {
    bool pass;
    unsigned deny;   /* ACCESS_DENY_* */
    unsigned alerts; /* ACCESS_ALERT_* */
};

/*
 * The policy on one scan. `temperature` < 0: not measured. `passed` is how
 * many passages (verdict pass, same direction) the person already has at the
 * venue within the period. A limit reached denies and alerts (the seed asks
 * the limit be enforced; the alert lets staff see who tried). Pure.
 */
struct access_decision access_evaluate(const struct access_policy *p, enum code_colour colour,
                                       double temperature, int64_t passed);

/* The slug and Chinese text of a deny bit. */
const char *access_deny_slug(unsigned bit);

/* ---- the electronic pass (seed 001 §4.1.3) ------------------------------------ */

/* The community (12-digit level) a residence belongs to; 0 when the region
 * is above community level. */
int64_t access_community(int64_t region_code);

/*
 * A resident of a community holds a pass for its gates unless in isolation
 * (an open isolation record or an isolation status). `person_region` is the
 * residence (padded). *valid_r, the community's padded code into
 * *community_r, and a Chinese reason into reason_r (reasons of refusal, or
 * "" when valid).
 */
err access_pass(db *d, int64_t person_id, int64_t person_region, int person_status, bool *valid_r,
                int64_t *community_r, const char **reason_r) MUST_USE;

/* ---- applying a scan ------------------------------------------------------------- */

struct access_scan {
    /* in */
    int64_t venue_id, venue_region;
    const char *venue_name; /* for alert messages */
    struct access_policy policy;
    int64_t person_id;
    const char *masked_name; /* for alert messages */
    enum access_dir direction;
    double temperature; /* < 0: not measured */
    enum access_method method;
    int64_t operator_user_id, device_id;
    int64_t record_id; /* in: 0, or the id the record is to have; out: its id */
    /* in: a code another instance verified (共享互认, exchange.h): its colour
     * and reasons stand for the local code, and no temperature reading is
     * kept (the person is not ours; the record keeps the temperature) */
    bool remote;
    enum code_colour remote_colour;
    const char *remote_reasons; /* JSON text */
    /* in: the scan's audit entry when the journal is on (access_journal_on):
     * written with the record, in the journal or in its transaction, rather
     * than queued by the handler; NULL: the handler audited the scan */
    const struct audit_entry *audit;
    /* out */
    int64_t at;
    enum code_colour colour;
    const char *reasons; /* the code's reasons, JSON text */
    struct access_decision decision;
    int64_t alert_ids[3]; /* fever, code colour, limit; 0 when not raised */
    int n_alerts;
};

/*
 * Apply scan `s` inside the caller's transaction on `d` (see the header
 * comment). E_DB, or health's errors for the temperature.
 */
err access_apply(db *d, arena *a, struct access_scan *s) MUST_USE;

struct journal_rec;
/*
 * The reading half of access_apply, for a scan without a temperature and
 * not remote, outside any transaction (the journal's writer): the record's
 * id and time, the colour, the passages counted (the database's, the
 * journal's not yet indexed, and those of batch[0..n): records of the
 * caller's batch not journalled yet) and the decision. Writes nothing: a
 * decision with alerts must then go through access_apply. E_DB.
 */
err access_decide(db *d, arena *a, struct access_scan *s, const struct journal_rec *batch,
                  size_t n) MUST_USE;

/* The reply of a scan as JSON (for the staff or the resident). */
json_t *access_scan_json(const struct access_scan *s);

/* The members of access_scan_json written into w's open object (the
 * scan's reply, written without a tree); `self` leaves out what the
 * resident's own screen does not show (reasons, alerts, temperature).
 * access_scan_json is this, parsed. */
void access_scan_jsonw(struct jsonw *w, const struct access_scan *s, bool self);

/* ---- the writer (group commit) --------------------------------------------------- */

/*
 * Start the writer thread on its own connection to db_url. Without it
 * (tools, tests) access_submit applies the scan at once on the caller's
 * connection in its own transaction.
 */
err access_writer_start(const char *db_url) MUST_USE;
/* Apply what is queued, answer it, and stop (the server's stop hook). */
void access_writer_stop(void);

/* The cap on scans queued or being written (FK_SCAN_QUEUE; 0: the
 * default, 10,000). Any time. */
void access_writer_set_queue_max(size_t n);

/* Does the writer's queue hold its cap now? (A hint for a handler that
 * would rather not start a scan that access_submit will refuse.) */
bool access_writer_full(void);

/* Scans queued or being written now (/metrics: the writer's queue depth). */
size_t access_writer_pending(void);

/*
 * Queue scan `s` (copied, with its strings) for the writer; when its batch
 * has committed, done(s, e, ctx) runs on the writer thread with the applied
 * scan (e E_OK) or the error (the batch is retried scan by scan first, so
 * one bad scan fails alone). Without a writer, runs at once on `d`.
 * Errors (done is then never called, nothing was written): E_NOMEM, and
 * E_UNAVAILABLE "queue_full" when the writer holds its cap of scans.
 */
err access_submit(db *d, const struct access_scan *s,
                  void (*done)(const struct access_scan *s, err e, void *ctx), void *ctx) MUST_USE;

/* ---- the list ---------------------------------------------------------------------- */

struct access_filter {
    int64_t venue_id, person_id; /* 0: any */
    int64_t from, to;            /* at in [from, to); 0 open */
    const char *colour;          /* "" any */
    const char *verdict;         /* "" any */
    const char *method;          /* "" any */
    const char *direction;       /* "" any; in | out */
    int64_t page, page_size;
    int64_t count_cap; /* > 0: the total stops there (query_page's count_cap) */
};

/* Records inside scope, newest first, as JSON objects; *total_r counts all,
 * or stops at f->count_cap (*capped_r true, when not NULL). Each carries
 * venue_name and person_name (masked; "" for none; a person of
 * another instance seen through 共享互认 as "张*（外区：某某街道）"), and a
 * manual entry's phone and note (masked; null on other records). */
err access_list(db *d, arena *a, const struct scope *sc, const struct access_filter *f,
                json_t **items_r, int64_t *total_r, bool *capped_r) MUST_USE;

/* Passages of the filter (paging ignored) by direction and verdict:
 * counts[d][v], d 0 in / 1 out, v 0 pass / 1 deny (the checkpoint's day). */
err access_counts(db *d, const struct scope *sc, const struct access_filter *f,
                  int64_t counts[2][2]) MUST_USE;

#endif
