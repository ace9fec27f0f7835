/*
 * Automatic monitoring and warning (自动监测预警, seed 000 §6.7.1, issue 12;
 * docs/monitor.md): editable rules over figures the platform already keeps,
 * evaluated every minute in the background and on demand; a rule that holds
 * for an object raises ONE alert (alert/alert.h) per rule, object and China
 * day, at the object's region, so the alert stream pushes it to the staff
 * responsible for it, and records the breach for the big screen's panel.
 *
 * The kinds (monitor_kind_vocab), each read without visiting people:
 *   reports    a community's new incident reports today (the counter
 *              case.incident.new of the day, one index range, summed per
 *              community), breach when MORE than the threshold;
 *   occupancy  a quarantine site's occupied rooms in percent of its rooms
 *              not closed (quarantine_rooms by site and state, an index
 *              alone), breach AT the percentage;
 *   unchecked  a grid's people on home isolation or home medical
 *              observation with no check since the China day began (the
 *              open observations of those kinds, then one index probe of
 *              their checks each), breach AT the threshold (people);
 *   fever      a venue's fever alerts today (device_fever and fever, by the
 *              alerts index (kind, at, venue_id)), breach AT the threshold.
 *
 * A rule is evaluated only from its from_hour (China time) on, so "not
 * checked today" does not fire at midnight. A breach that no longer holds at
 * a later evaluation is marked cleared (it leaves the current list), and
 * held again the same day it shows again, without a second alert.
 *
 * Rules are the deployment's (one table, no region): editing them takes
 * monitor.write (the command centre); reading them and the breaches in
 * scope, monitor.read.
 */
#ifndef FK_MONITOR_MONITOR_H
#define FK_MONITOR_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "alert/alert.h"
#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

enum monitor_kind {
    MONITOR_REPORTS = 1, /* 社区新增上报 */
    MONITOR_OCCUPANCY,   /* 隔离点入住率 */
    MONITOR_UNCHECKED,   /* 居家隔离人员未核查 */
    MONITOR_FEVER,       /* 场所发热告警 */
    MONITOR_KIND__COUNT
};

/* "reports", "occupancy", "unchecked", "fever" (slot 0 a hole). */
extern const struct vocab monitor_kind_vocab;

#define MONITOR_RULES_MAX 32
#define MONITOR_LABEL_MAX 40 /* characters */

struct monitor_rule {
    int64_t id; /* 0: a new rule (monitor_rules_save gives it one) */
    enum monitor_kind kind;
    const char *label; /* 1..MONITOR_LABEL_MAX characters */
    int64_t threshold; /* reports, unchecked, fever: 0..1000000; occupancy: 1..100 (%) */
    enum alert_level level;
    bool enabled;
    int from_hour; /* 0..23: evaluated from this hour of the China day */
};

/*
 * The rules, ordered by id, into *items_r (allocated from a): E_DB.
 * *n_r their number (at most MONITOR_RULES_MAX).
 */
err monitor_rules_load(db *d, arena *a, struct monitor_rule **items_r, size_t *n_r) MUST_USE;

/*
 * Check a PUT body's `rules` (an array of {id?, kind, label, threshold,
 * level, enabled, from_hour?}) into n rules allocated from a. E_INPUT with
 * the field as "rules[i].<name>": "required", "invalid_type",
 * "unknown_field", "invalid_value" (an unknown kind or level), "out_of_range"
 * (a negative threshold, a percentage over 100, an hour outside 0..23, no
 * rule or more than MONITOR_RULES_MAX), "too_long"; "duplicate_rule" for an
 * id given twice. Nothing is read or written.
 */
err monitor_rules_parse(json_t *rules, arena *a, struct monitor_rule **items_r,
                        size_t *n_r) MUST_USE;

/*
 * Replace the rules with items[0..n) inside the caller's transaction: a rule
 * with an id updates that rule (E_INPUT "unknown_rule" on rules[i].id when
 * there is none, "invalid_value" on rules[i].kind when its kind would
 * change), one without is created (its id written back), the rules
 * not given are deleted (their breaches leave the current list with them).
 * a: the stored rules are read into it.
 */
err monitor_rules_save(db *d, arena *a, struct monitor_rule *items, size_t n,
                       int64_t user_id) MUST_USE;

/* A rule as the API shows it: its fields with kind_label, level_label,
 * unit (个 / % / 人 / 次) and comparison ("gt" more than, "ge" at least). */
json_t *monitor_rule_json(const struct monitor_rule *r);

/* The kinds with label, unit, comparison and threshold bounds, for the
 * console's editor. */
json_t *monitor_kinds_json(void);

struct monitor_result {
    int64_t rules;    /* enabled rules evaluated (their hour come) */
    int64_t breaches; /* objects over a threshold now */
    int64_t raised;   /* alerts raised by this evaluation (first breaches of the day) */
};

/*
 * Evaluate every enabled rule at time `now` (epoch ms): each rule in its
 * own transaction, claiming each breach of the China day (unique key) so
 * that of several servers one raises its alert. Runs on the caller's
 * connection outside any transaction. E_DB; a rule that fails stops the run
 * (the next one tries again).
 */
err monitor_evaluate(db *d, int64_t now, struct monitor_result *res_r) MUST_USE;

struct monitor_filter {
    int64_t day;       /* China day number (china_day) */
    bool with_cleared; /* also the breaches of the day that no longer hold */
};

/*
 * The breaches of f->day inside sc, of rules that exist and are enabled,
 * as JSON objects (rule_id, rule_label, kind, kind_label, level, object_type,
 * object_id, object_label (社区, 网格, 隔离点, 场所码点位), object_name,
 * region_code, region_name, figure, base, threshold, unit, alert_id,
 * raised_at, seen_at, active, lng and lat: where the object is, a region's
 * centre or the site's or venue's place, null when unknown), the most severe
 * first then the newest, at most 1,000: E_DB.
 */
err monitor_breaches(db *d, const struct scope *sc, const struct monitor_filter *f,
                     json_t **items_r) MUST_USE;

/* Evaluate every `every_s` seconds on a thread and connection of its own
 * (0: off; FK_MONITOR_EVERY, default 60). */
err monitor_worker_start(const char *db_url, int every_s) MUST_USE;
void monitor_worker_stop(void);

#endif
