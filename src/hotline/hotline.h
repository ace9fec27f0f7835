/*
 * Hotline tickets (接诉即办, issue 10 "Other data"; seed 004 二2(2):
 * 接诉即办数据逻辑处理; docs/hotline.md): the 12345 hotline's work orders
 * imported from its xlsx or CSV exports, and the extraction rules (抽取规则)
 * that pick out the epidemic ones by the hotline's category and keywords.
 *
 * A ticket (工单) is keyed by the hotline's ticket number, unique in the
 * deployment: importing the same number again updates the stored ticket,
 * never adds one. It belongs to a region (street, community or below,
 * required, inside the importer's scope) and so to the street above it.
 * The caller's name and phone are personal: sealed with SM4 under
 * "hotline.caller_name" / "hotline.caller_phone" (the phone also blind
 * indexed), masked in replies unless revealed (person.reveal, audited).
 *
 * Links, made when a ticket is written: the testing site (nat/) whose name
 * the ticket's content or address names, among the sites of its street
 * (the longest name when several); the registered person (person/) whose
 * phone is the caller's, inside the importer's scope, when exactly one
 * has it.
 *
 * Matching: each enabled rule applies to the tickets of its categories
 * (none: any) whose content or address contains one of its keywords and
 * none of its excluded words (ASCII letters without case). A ticket may
 * match several rules. The rules are compiled once per job into one
 * automaton (hotline_matcher), so a ticket is read once whatever the
 * number of rules and keywords. Editing a rule re-applies every enabled
 * rule to every stored ticket (job "hotline.rematch").
 *
 * Counted (stats/, in the transaction that writes the ticket): measure
 * "hotline.tickets" (tickets per received day), "hotline.matched" (tickets
 * matching at least one rule) and the family "hotline.rule.<rule id>"
 * (tickets matching that rule), each at the ticket's region and China day
 * of receipt, so a street's or the district's figure is a counter range.
 *
 * Scope: every read and write takes the caller's scope and binds it in the
 * same statement; a ticket outside it is E_NOT_FOUND. Rules are the
 * deployment's (the command centre's): readable by every holder of
 * hotline.read. Nothing here knows HTTP; strings returned live in the
 * arena passed in.
 */
#ifndef FK_HOTLINE_HOTLINE_H
#define FK_HOTLINE_HOTLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

/* ---- the matcher (match.c: pure, no database) --------------------------------------- */

#define HOTLINE_RULES_MAX       200 /* rules in the deployment, deleted ones not counted */
#define HOTLINE_WORDS_MAX       50  /* keywords, excluded words or categories of one rule */
#define HOTLINE_WORD_MAX        30  /* characters of one keyword or excluded word */
#define HOTLINE_CATEGORY_MAX    50  /* characters of a category */
#define HOTLINE_RULE_NAME_MAX   50
#define HOTLINE_CONTENT_MAX     2000
#define HOTLINE_TICKET_NO_MAX   40
#define HOTLINE_IMPORT_MAX_ROWS 100000 /* as the observation import */

struct hotline_rule {
    int64_t id;
    const char *name;
    const char *const *categories; /* exact, after trimming; none: any category */
    size_t ncategories;
    const char *const *keywords; /* at least one */
    size_t nkeywords;
    const char *const *excludes; /* must-not words */
    size_t nexcludes;
    bool enabled;
    int64_t version, updated_at, updated_by;
};

typedef struct hotline_matcher hotline_matcher;

/*
 * Compile the enabled rules of rules[0..n) (the array and its strings must
 * outlive the matcher: it keeps pointers). E_NOMEM; E_INPUT "invalid_rule"
 * for an empty keyword. *m_r owns its memory until hotline_matcher_free.
 */
err hotline_matcher_new(const struct hotline_rule *rules, size_t n, hotline_matcher **m_r) MUST_USE;

/*
 * The rules a ticket of `category` whose texts are texts[0..ntexts)
 * (content, address; NULL entries skipped) matches: their indexes into the
 * array given to hotline_matcher_new, ascending, into out (room for max);
 * returns how many. A matcher keeps scratch space: one thread at a time.
 */
size_t hotline_match(hotline_matcher *m, const char *category, const char *const *texts,
                     size_t ntexts, size_t *out, size_t max);

void hotline_matcher_free(hotline_matcher **m);

/*
 * Check a rule's fields without the database: name 1..HOTLINE_RULE_NAME_MAX
 * characters, 1..HOTLINE_WORDS_MAX keywords and at most as many excluded
 * words of 1..HOTLINE_WORD_MAX characters each, one line, no duplicates, no
 * word both wanted and excluded; categories of 1..HOTLINE_CATEGORY_MAX.
 * E_INPUT naming the field ("name", "keywords", "excludes", "categories").
 */
err hotline_rule_check(const struct hotline_rule *r) MUST_USE;

/* ---- rules (hotline.c) ------------------------------------------------------------------ */

/* Every live rule, by name; *n_r of them in arena a. */
err hotline_rule_list(db *d, arena *a, struct hotline_rule **items_r, size_t *n_r) MUST_USE;

/* One live rule; E_NOT_FOUND. */
err hotline_rule_find(db *d, arena *a, int64_t id, struct hotline_rule *r_r) MUST_USE;

/*
 * Create (r->id 0) or replace (r->id, with r->version > 0 checked against
 * the stored one: E_CONFLICT "version_conflict") a rule, checked with
 * hotline_rule_check. E_CONFLICT "duplicate_rule" when another live rule
 * has the name, "too_many_rules" past HOTLINE_RULES_MAX; E_NOT_FOUND.
 * *id_r the rule's id. The caller re-applies the rules (hotline_rematch).
 */
err hotline_rule_save(db *d, const struct principal *who, const struct hotline_rule *r,
                      int64_t *id_r) MUST_USE;

/* Delete a rule (its matches go with the next hotline_rematch). E_NOT_FOUND. */
err hotline_rule_delete(db *d, int64_t id) MUST_USE;

/* ---- tickets (hotline.c) ----------------------------------------------------------------- */

struct hotline_ticket {
    int64_t id;
    const char *ticket_no;
    int64_t received_at;
    const char *caller_name, *caller_phone; /* unsealed: the caller masks them */
    const char *address;
    int64_t region_code; /* padded */
    const char *region_name, *street_name;
    int64_t street_code;
    const char *category, *content, *state;
    int64_t site_id;
    const char *site_name; /* "" none */
    int64_t person_id;
    const char *person_name; /* masked already (a list never decrypts more); "" none */
    const char *rules;       /* the matched rules' names joined by "、", "" none */
    int64_t imported_at, imported_by;
    const char *imported_by_name;
};

struct hotline_filter {
    int64_t street_code;     /* padded; 0: the whole scope (the caller checked it lies inside) */
    int64_t rule_id;         /* 0 any; -1: matched by no rule */
    int matched;             /* -1 any, 1 matching some rule, 0 none */
    const char *category;    /* exact */
    int64_t from, to;        /* received_at in [from, to], epoch ms; 0: open */
    const char *q;           /* ticket number, content or address contains, literally */
    int64_t page, page_size; /* page_size 0: every match, up to HOTLINE_EXPORT_MAX */
};

#define HOTLINE_EXPORT_MAX 10000

/* The tickets inside sc matching f, newest received first; *total_r counts
 * every match. An export (page_size 0) of more than HOTLINE_EXPORT_MAX is
 * E_INPUT "export_too_large". */
err hotline_ticket_list(db *d, arena *a, const struct scope *sc, const struct hotline_filter *f,
                        struct hotline_ticket **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* One ticket inside sc; E_NOT_FOUND. */
err hotline_ticket_find(db *d, arena *a, const struct scope *sc, int64_t id,
                        struct hotline_ticket *t_r) MUST_USE;

/* ---- counts (hotline.c, from the counters) --------------------------------------------- */

struct hotline_count {
    int64_t code; /* a street (padded) */
    const char *name;
    int64_t tickets, matched;
    int64_t *by_rule; /* [nrules], in the order of the rules given */
};

/*
 * The streets inside sc (the caller's own street when its scope is one or
 * below), each with its tickets, matched tickets and matches per rule
 * received on China days [day_from, day_to], read from the counters.
 * rules[0..nrules) are the columns. *items_r in arena a.
 */
err hotline_counts(db *d, arena *a, const struct scope *sc, int64_t day_from, int64_t day_to,
                   const struct hotline_rule *rules, size_t nrules, struct hotline_count **items_r,
                   size_t *n_r) MUST_USE;

/* ---- import and re-application (import.c) --------------------------------------------------- */

#define HOTLINE_IMPORT_SHEET "工单"

/* The template, written to an unlinked temporary file: *fd_r at offset 0. */
err hotline_import_template(int *fd_r, int64_t *size_r) MUST_USE;

/* The upload's structure before a job is queued: the reader's caps, the
 * header, at least one data row (E_INPUT "empty"); *rows_r the data rows. */
err hotline_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;

/*
 * Queue the import (job "hotline.import"; the bytes are copied) on the
 * import worker (job/import.h). Every row is checked (failures go to the
 * job's error report by row, column and message), then the valid ones are
 * written in one transaction with their links, matches and counters, and
 * the audit entry; a dry run does the same and rolls back.
 */
err hotline_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                          size_t n, bool csv, long rows, bool dry_run) MUST_USE;

/* Queue the re-application of the enabled rules to every stored ticket
 * (job "hotline.rematch"), in one transaction with the counters. */
err hotline_rematch_submit(db *d, int64_t job_id, const struct principal *who) MUST_USE;

/* Register the measures (app.c, once). */
err hotline_register(void) MUST_USE;

#endif
