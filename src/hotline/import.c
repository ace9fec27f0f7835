/*
 * The hotline's jobs (hotline.h, docs/hotline.md): the import of tickets
 * from xlsx or CSV and the re-application of the rules to every stored
 * ticket, both on the import worker (job/import.h) with its own
 * connection, and what both write for a ticket: its links, its matches and
 * the counters they move.
 *
 * The import reads the upload twice, as the observation import does: the
 * first pass checks every row (form, region in scope, a ticket number
 * another scope owns) outside any transaction and shows progress; the
 * second writes the rows the first passed in one transaction with the
 * counters deferred (stats_defer_*) and the audit entry, so an import is
 * all its valid rows or nothing. Rules and testing-site names are compiled
 * into matchers once per job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "hotline/hotline.h"
#include "hotline/internal.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/nat.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/crypto.h"
#include "stats/stats.h"

/* ---- the template ----------------------------------------------------------------------- */

enum col {
    C_NO,
    C_RECEIVED,
    C_NAME,
    C_PHONE,
    C_ADDRESS,
    C_REGION,
    C_CATEGORY,
    C_CONTENT,
    C_STATE,
    C__COUNT
};

static const char *const heads[C__COUNT] = {
    "工单编号*", "受理时间*", "来电人",    "来电号码", "诉求地址",
    "所属区划*", "问题分类*", "诉求内容*", "办理状态",
};

static const char *const hints[C__COUNT] = {
    "必填：热线工单编号；同一编号再次导入将更新原工单",
    "必填：日期时间单元格，或文字 yyyy-mm-dd hh:mm",
    "选填",
    "选填：手机号码或固定电话（如 010-12345678）",
    "选填，200字以内",
    "必填：12位区划代码（街道或社区，见“区划管理”），须在您的管辖范围内",
    "必填：热线的问题分类，如 疫情防控",
    "必填，2000字以内",
    "选填：热线的办理状态，如 已办结",
};

static const double widths[C__COUNT] = {20, 18, 10, 16, 30, 20, 16, 60, 12};

/* The field each column's errors name (the API's). */
static const char *const fields[C__COUNT] = {
    "ticket_no",   "received_at", "caller_name", "caller_phone", "address",
    "region_code", "category",    "content",     "state",
};

err hotline_import_template(int *fd_r, int64_t *size_r)
{
    return import_template(HOTLINE_IMPORT_SHEET, heads, hints, widths, C__COUNT, fd_r, size_r);
}

/* ---- rows ------------------------------------------------------------------------------------ */

struct irow {
    long row;
    size_t n;
    const struct xlsx_cell *cells;
    int nmarks;
    struct import_mark marks[IMPORT_MARKS_MAX];
    /* parsed */
    const char *ticket_no, *name, *phone, *address, *category, *content, *state;
    int64_t received_at, region, street;
};

enum pass { PASS_CHECK, PASS_PARSE, PASS_WRITE };

/* What a job compiles once: the rules and the testing sites as matchers. */
struct links {
    struct hotline_rule *rules;
    size_t nrules;
    hotline_matcher *m;
    struct nat_site *sites;
    struct hotline_rule *site_words; /* one pseudo-rule per site: its name */
    size_t nsites;
    hotline_matcher *sm;
};

struct run {
    enum pass pass;
    bool csv;
    struct import_header h;
    long data_rows;
    struct import_failures fail;
    arena *ra; /* one row's, reset between rows */
    db *d;
    int64_t job_id, total;
    const struct principal *who;
    size_t parse_failed, next;
    struct links *lk;
    size_t written, updated, matched, persons, sites;
    err fatal;
    /* regions already checked in scope (a file names few, row after row):
     * one look-up each instead of one per row and pass */
    int64_t regions_ok[64];
    size_t nregions_ok;
};

static void mark(struct run *st, struct irow *r, int col, const char *msg)
{
    if (r->nmarks < IMPORT_MARKS_MAX)
        r->marks[r->nmarks++] = (struct import_mark){col, arena_strdup(st->ra, msg)};
}

static const char *cell_text(const struct irow *r, int c)
{
    if ((size_t)c >= r->n || r->cells[c].type == XLSX_EMPTY)
        return NULL;
    const char *s = r->cells[c].text;
    while (*s == ' ')
        s++;
    return *s ? s : NULL;
}

/* A mainland mobile, or a landline with its area code (0xx-xxxxxxxx, the
 * dash optional): what the hotline records of a caller. */
static bool phone_ok(const char *s)
{
    size_t n = strlen(s), digits = 0;
    if (s[0] == '1')
        return !check_phone(s, "caller_phone") || (err_clear(), false);
    if (s[0] != '0')
        return false;
    int dash = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-' && i >= 3 && i <= 4 && !dash++)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return false;
        digits++;
    }
    return digits >= 10 && digits <= 12;
}

static void opt_text(struct run *st, struct irow *r, int c, size_t max, bool one_line,
                     const char **dst)
{
    const char *s = cell_text(r, c);
    *dst = s;
    if (s && check_text(s, fields[c], heads[c], max, one_line ? TEXT_ONE_LINE : 0)) {
        err_clear();
        mark(st, r, c,
             arena_printf(st->ra, "应为%zu个字符以内的%s文字", max, one_line ? "一行" : ""));
    }
}

/* The checks that need no database. */
static void parse_row(struct run *st, struct irow *r)
{
    for (size_t c = 0; c < r->n && c < C__COUNT; c++)
        if (r->cells[c].formula)
            mark(st, r, (int)c, "单元格含有公式，请复制后“粘贴为数值”再导入");
    if (r->n > C__COUNT)
        mark(st, r, C__COUNT, "模板之外的列：请删除后再导入");
    if (r->nmarks)
        return;
    static const int required[] = {C_NO, C_RECEIVED, C_REGION, C_CATEGORY, C_CONTENT};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!cell_text(r, required[i]))
            mark(st, r, required[i],
                 arena_printf(st->ra, "请填写%.*s", (int)(strlen(heads[required[i]]) - 1),
                              heads[required[i]]));
    if (r->nmarks)
        return;
    opt_text(st, r, C_NO, HOTLINE_TICKET_NO_MAX, true, &r->ticket_no);
    opt_text(st, r, C_NAME, 50, true, &r->name);
    opt_text(st, r, C_ADDRESS, 200, true, &r->address);
    opt_text(st, r, C_CATEGORY, HOTLINE_CATEGORY_MAX, true, &r->category);
    opt_text(st, r, C_CONTENT, HOTLINE_CONTENT_MAX, false, &r->content);
    opt_text(st, r, C_STATE, 20, true, &r->state);
    r->phone = cell_text(r, C_PHONE);
    if (r->phone && !phone_ok(r->phone))
        mark(st, r, C_PHONE, "来电号码应为11位手机号码，或带区号的固定电话（如 010-12345678）");
    const struct xlsx_cell *t = &r->cells[C_RECEIVED];
    if (t->type == XLSX_DATE)
        r->received_at = t->ms;
    else if (t->type != XLSX_STRING || !china_time_parse(cell_text(r, C_RECEIVED), &r->received_at))
        mark(st, r, C_RECEIVED, "受理时间应为日期时间，或 yyyy-mm-dd hh:mm 格式的文字");
    if (r->received_at > now_ms() + DAY_MS)
        mark(st, r, C_RECEIVED, "受理时间不能晚于今天");
    enum region_level lv;
    r->region = regcode_parse(cell_text(r, C_REGION), &lv);
    if (r->region <= 0)
        mark(st, r, C_REGION, "所属区划应为12位区划代码");
    else if (lv < LEVEL_STREET)
        mark(st, r, C_REGION, "所属区划应为街道、社区或更细的区划");
    else
        r->street = regcode_at_most(r->region, LEVEL_STREET);
}

/* The ticket numbered `no`: its id, region, received time and matched
 * count; id 0 when none. */
struct stored {
    int64_t id, region, received_at, matched;
};

static err stored_find(db *d, const char *no, struct stored *s_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, received_at, matched FROM hotline_tickets WHERE "
                       "ticket_no = ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, no);
    bool row;
    *s_r = (struct stored){0};
    if (!(e = db_row(s, &row)) && row)
        *s_r = (struct stored){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2),
                               db_col_int64(s, 3)};
    db_done(s);
    return e;
}

/* The checks that read the database: the region exists inside the
 * importer's scope; a stored ticket of that number lies inside it too. */
static err check_row_db(struct run *st, struct irow *r, struct stored *old_r)
{
    bool known = false;
    for (size_t i = 0; i < st->nregions_ok && !known; i++)
        known = st->regions_ok[i] == r->region;
    err e = known ? E_OK : person_region_check(st->d, &st->who->scope, r->region, "region_code");
    if (e == E_INPUT) {
        mark(st, r, C_REGION, "所属区划不存在或不在您的管辖范围内");
        return E_OK;
    }
    if (!e && !known && st->nregions_ok < sizeof st->regions_ok / sizeof st->regions_ok[0])
        st->regions_ok[st->nregions_ok++] = r->region;
    if (e || (e = stored_find(st->d, r->ticket_no, old_r)))
        return e;
    if (old_r->id && !scope_has(&st->who->scope, old_r->region))
        mark(st, r, C_NO, "该工单编号已属于您管辖范围之外的工单");
    return E_OK;
}

/* ---- what a ticket's write moves --------------------------------------------------------------
 */

static err rule_add(db *d, int64_t rule, int64_t region, int64_t day, int64_t delta)
{
    char m[64];
    snprintf(m, sizeof m, HOTLINE_M_RULE ".%lld", (long long)rule);
    return stats_add(d, m, region, day, delta);
}

/* The ticket's counters at (region, day) moved by delta: one ticket, one
 * matched ticket when it matches. */
static err ticket_count(db *d, int64_t region, int64_t day, bool matched, int64_t delta)
{
    err e = stats_add(d, HOTLINE_M_TICKETS, region, day, delta);
    if (!e && matched)
        e = stats_add(d, HOTLINE_M_MATCHED, region, day, delta);
    return e;
}

/*
 * Replace the matches of ticket `id` with rules[hits[0..n)], taking back
 * the old matches' counters at their own region and day and adding the
 * new ones at (region, day). `fresh`: a ticket inserted just now, which
 * has no matches to take back.
 */
static err matches_replace(db *d, const struct links *lk, int64_t id, bool fresh, int64_t region,
                           int64_t day, const size_t *hits, size_t n)
{
    db_stmt *s;
    err e = E_OK;
    if (fresh)
        goto add;
    e = db_prepare(d, "SELECT rule_id, region_code, day FROM hotline_matches WHERE ticket_id = ?",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    struct old_match {
        int64_t rule, region, day;
    } old[HOTLINE_RULES_MAX];
    size_t nold = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && nold < HOTLINE_RULES_MAX)
        old[nold++] =
            (struct old_match){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2)};
    db_done(s);
    for (size_t i = 0; i < nold && !e; i++)
        e = rule_add(d, old[i].rule, old[i].region, old[i].day, -1);
    if (e || (e = db_prepare(d, "DELETE FROM hotline_matches WHERE ticket_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)))
        return e;
add:
    for (size_t i = 0; i < n && !e; i++) {
        if ((e = db_prepare(d,
                            "INSERT INTO hotline_matches (ticket_id, rule_id, region_code, day) "
                            "VALUES (?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, lk->rules[hits[i]].id);
        db_bind_int64(s, 3, region);
        db_bind_int64(s, 4, day);
        if (!(e = db_run(s, NULL)))
            e = rule_add(d, lk->rules[hits[i]].id, region, day, 1);
    }
    return e;
}

/* The testing site of street `street` whose name the texts name (the
 * longest when several), 0 when none. */
static int64_t site_named(struct links *lk, int64_t street, const char *const *texts, size_t nt)
{
    if (!lk->sm)
        return 0;
    size_t hits[64];
    size_t n = hotline_match(lk->sm, NULL, texts, nt, hits, 64);
    int64_t best = 0;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        const struct nat_site *s = &lk->sites[hits[i]];
        size_t len = strlen(s->name);
        if (regcode_within(s->region_code, street) && len > best_len) {
            best = s->id;
            best_len = len;
        }
    }
    return best;
}

static void bind_bidx(db_stmt *s, int i, const char *field, const char *value)
{
    if (!value) {
        db_bind_null(s, i);
        return;
    }
    uint8_t b[BLIND_LEN];
    blind_index(field, value, b);
    db_bind_blob(s, i, b, sizeof b);
}

/* Write one checked row (in the job's transaction): the ticket inserted or
 * updated, its links, matches and counters. */
static err write_row(struct run *st, struct irow *r, const struct stored *old)
{
    db *d = st->d;
    struct links *lk = st->lk;
    const char *texts[2] = {r->content, r->address};
    size_t hits[HOTLINE_RULES_MAX];
    size_t nhits = hotline_match(lk->m, r->category, texts, 2, hits, HOTLINE_RULES_MAX);
    int64_t site = site_named(lk, r->street, texts, 2), person = 0, count;
    if (r->phone) {
        err e = person_find_id_by_phone(d, &st->who->scope, r->phone, &person, &count);
        if (e == E_NOT_FOUND || (!e && count != 1))
            person = 0;
        else if (e)
            return e;
    }
    int64_t id = old->id ? old->id : id_new(), now = now_ms();
    db_stmt *s;
    err e = old->id ? db_prepare(d,
                                 "UPDATE hotline_tickets SET region_code = ?, street_code = ?, "
                                 "received_at = ?, caller_name_enc = ?, caller_phone_enc = ?, "
                                 "caller_phone_bidx = ?, address = ?, category = ?, content = ?, "
                                 "state = ?, site_id = ?, person_id = ?, matched = ?, job_id = ?, "
                                 "imported_at = ?, imported_by = ? WHERE id = ?",
                                 &s)
                    : db_prepare(d,
                                 "INSERT INTO hotline_tickets (region_code, street_code, "
                                 "received_at, caller_name_enc, caller_phone_enc, "
                                 "caller_phone_bidx, address, category, content, state, site_id, "
                                 "person_id, matched, job_id, imported_at, imported_by, id, "
                                 "ticket_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                 "?, ?, ?)",
                                 &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->region);
    db_bind_int64(s, 2, r->street);
    db_bind_int64(s, 3, r->received_at);
    arena *a = st->ra;
    if ((e = seal_bind(a, s, 4, HOTLINE_SEAL_NAME, r->name)) ||
        (e = seal_bind(a, s, 5, HOTLINE_SEAL_PHONE, r->phone))) {
        db_done(s);
        return e;
    }
    bind_bidx(s, 6, HOTLINE_SEAL_PHONE, r->phone);
    db_bind_text(s, 7, r->address ? r->address : "");
    db_bind_text(s, 8, r->category);
    db_bind_text(s, 9, r->content);
    db_bind_text(s, 10, r->state ? r->state : "");
    db_bind_int64(s, 11, site);
    db_bind_int64(s, 12, person);
    db_bind_int64(s, 13, (int64_t)nhits);
    db_bind_int64(s, 14, st->job_id);
    db_bind_int64(s, 15, now);
    db_bind_int64(s, 16, st->who->user_id);
    db_bind_int64(s, 17, id);
    if (!old->id)
        db_bind_text(s, 18, r->ticket_no);
    if ((e = db_run(s, NULL)))
        return e;
    int64_t day = china_day(r->received_at);
    if (old->id &&
        (e = ticket_count(d, old->region, china_day(old->received_at), old->matched > 0, -1)))
        return e;
    if ((e = ticket_count(d, r->region, day, nhits > 0, 1)) ||
        (e = matches_replace(d, lk, id, !old->id, r->region, day, hits, nhits)))
        return e;
    if (old->id)
        st->updated++;
    else
        st->written++;
    st->matched += nhits > 0;
    st->persons += person != 0;
    st->sites += site != 0;
    return E_OK;
}

/* ---- the links a job compiles once ---------------------------------------------------------- */

static void links_free(struct links *lk)
{
    hotline_matcher_free(&lk->m);
    hotline_matcher_free(&lk->sm);
}

static err links_load(db *d, arena *a, struct links *lk, bool with_sites)
{
    memset(lk, 0, sizeof *lk);
    err e = hotline_rule_list(d, a, &lk->rules, &lk->nrules);
    if (!e)
        e = hotline_matcher_new(lk->rules, lk->nrules, &lk->m);
    if (e || !with_sites)
        return e;
    struct nat_site_filter f = {.unattended = -1}; /* page_size 0: every site */
    struct scope all = scope_all();
    int64_t total;
    if ((e = nat_site_list(d, a, &all, &f, &lk->sites, &lk->nsites, &total)))
        return e;
    lk->site_words = arena_alloc(a, (lk->nsites ? lk->nsites : 1) * sizeof *lk->site_words);
    for (size_t i = 0; i < lk->nsites; i++) {
        const char **w = arena_alloc(a, sizeof *w);
        w[0] = lk->sites[i].name;
        lk->site_words[i] = (struct hotline_rule){.keywords = w, .nkeywords = 1, .enabled = true};
    }
    return lk->nsites ? hotline_matcher_new(lk->site_words, lk->nsites, &lk->sm) : E_OK;
}

/* ---- the upload ---------------------------------------------------------------------------- */

static void row_parse(struct run *st, struct irow *r, long row, const struct xlsx_cell *cells,
                      size_t n)
{
    arena_reset(st->ra);
    memset(r, 0, sizeof *r);
    r->row = row;
    r->n = n;
    r->cells = cells;
    parse_row(st, r);
}

static err keep(struct run *st, const struct irow *r)
{
    return import_failures_keep(&st->fail, r->row, r->cells, r->n, r->marks, r->nmarks);
}

/* The template's rows (job/import.h); the passes are the hotline's own. */
static const struct import_kind kind = {.sheet = HOTLINE_IMPORT_SHEET,
                                        .title = "接诉即办工单",
                                        .heads = heads,
                                        .hints = hints,
                                        .ncols = C__COUNT,
                                        .min_cols = C__COUNT - 1,
                                        .key1 = C_NO,
                                        .key2 = C_CONTENT};

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    bool data;
    err he = import_header(&kind, &st->h, st->csv, row, cells, n, &data);
    if (he || !data)
        return he;
    st->data_rows++;
    if (st->pass == PASS_CHECK)
        return E_OK;
    if (st->pass == PASS_WRITE && st->next < st->parse_failed && st->fail.v[st->next].row == row) {
        st->next++; /* failed in the first pass: already kept */
        return E_OK;
    }
    struct irow r;
    struct stored old = {0};
    row_parse(st, &r, row, cells, n);
    err e = r.nmarks ? E_OK : check_row_db(st, &r, &old);
    if (e)
        return st->fatal = e;
    if (r.nmarks)
        return keep(st, &r);
    if (st->pass == PASS_PARSE) {
        if (st->data_rows % 1000 == 0)
            err_ignore(job_update(st->d, st->job_id, "running", st->data_rows, st->total, NULL));
        return E_OK;
    }
    err_clear();
    if ((e = write_row(st, &r, &old)))
        return st->fatal = e;
    return E_OK;
}

static const struct xlsx_limits limits = {.max_rows = HOTLINE_IMPORT_MAX_ROWS + 2};

err hotline_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    struct run st = {.pass = PASS_CHECK, .csv = csv};
    err e = import_read(data, n, csv, csv ? NULL : HOTLINE_IMPORT_SHEET, &limits, on_row, &st);
    if (e)
        return e;
    if (!st.data_rows)
        return err_set(E_INPUT, "empty", NULL, "文件中没有工单数据：请按模板填写后再导入");
    *rows_r = st.data_rows;
    return E_OK;
}

/* ---- the import job ------------------------------------------------------------------------- */

/* The job's transaction ended with its audit entry: committed, or rolled
 * back for a dry run (whose entry is written after, as it read people). */
static err finish_tx(db *d, struct audit_entry *ae, bool dry_run)
{
    err e;
    if (dry_run) {
        db_rollback(d);
        return audit_log(d, ae);
    }
    if (!(e = stats_defer_flush(d)) && !(e = audit_log(d, ae)))
        return db_commit(d);
    db_rollback(d);
    return e;
}

static void run_import(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *links_a = arena_new(1 << 16); /* the rules and sites, for the whole job */
    arena *kept = arena_new(1 << 16);    /* the failed rows, until the report is written */
    arena *per_row = arena_new(1 << 16); /* one row's parse and write, reset between rows */
    struct links lk = {0};
    struct run st = {.pass = PASS_PARSE,
                     .csv = j->csv,
                     .fail = {.a = kept},
                     .ra = per_row,
                     .d = d,
                     .job_id = j->job_id,
                     .total = 2 * (int64_t)j->rows,
                     .who = &j->who,
                     .lk = &lk};
    const char *sheet = j->csv ? NULL : HOTLINE_IMPORT_SHEET;
    err_ignore(job_update(d, j->job_id, "running", 0, st.total, NULL)); /* display only */
    err e = links_a && st.fail.a && st.ra ? E_OK : E_NOMEM;
    if (!e)
        e = import_read(j->data, j->n, j->csv, sheet, &limits, on_row, &st);
    if (!e && st.fatal)
        e = st.fatal;
    if (!e)
        e = links_load(d, links_a, &lk, true);
    if (e) {
        import_job_fail(d, j->job_id, "hotline.import", e);
        goto out;
    }
    size_t total = (size_t)st.data_rows;
    err_ignore(job_update(d, j->job_id, "running", (int64_t)total, 2 * (int64_t)total, NULL));
    if ((e = db_begin(d)) || (e = stats_defer_begin(d))) {
        db_rollback(d);
        import_job_fail(d, j->job_id, "hotline.import", e);
        goto out;
    }
    st.pass = PASS_WRITE;
    st.parse_failed = st.fail.n;
    st.h = (struct import_header){0};
    st.data_rows = 0;
    e = import_read(j->data, j->n, j->csv, sheet, &limits, on_row, &st);
    if (!e && st.fatal)
        e = st.fatal;
    size_t failed = st.fail.n;
    char detail[200];
    snprintf(detail, sizeof detail,
             "total=%zu written=%zu updated=%zu failed=%zu matched=%zu persons=%zu sites=%zu%s",
             total, st.written, st.updated, failed, st.matched, st.persons, st.sites,
             j->dry_run ? " dry_run" : "");
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action = j->dry_run ? "hotline.import_dry_run" : "hotline.import",
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = "ok",
                             .detail = detail};
    if (e)
        db_rollback(d);
    else
        e = finish_tx(d, &ae, j->dry_run);
    stats_defer_end(d);
    if (e) {
        import_job_fail(d, j->job_id, "hotline.import", e);
        goto out;
    }
    bool report = import_report_done(j->job_id, HOTLINE_IMPORT_SHEET, heads, C__COUNT, &st.fail);
    json_t *res = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "total", (json_int_t)total,
                            "written", (json_int_t)(j->dry_run ? 0 : st.written), "updated",
                            (json_int_t)(j->dry_run ? 0 : st.updated), "failed", (json_int_t)failed,
                            "matched", (json_int_t)st.matched, "persons", (json_int_t)st.persons,
                            "sites", (json_int_t)st.sites, "dry_run", j->dry_run, "report", report);
    /* what the write would do, for a dry run's summary */
    json_object_set_new(res, "valid", json_integer((json_int_t)(st.written + st.updated)));
    import_job_done(d, j->job_id, (int64_t)total, res);
out:
    links_free(&lk);
    import_failures_free(&st.fail);
    arena_free(&st.fail.a);
    arena_free(&st.ra);
    arena_free(&links_a);
}

err hotline_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                          size_t n, bool csv, long rows, bool dry_run)
{
    struct import_upload u = {.job_id = job_id,
                              .who = *who,
                              .data = data,
                              .n = n,
                              .csv = csv,
                              .dry_run = dry_run,
                              .rows = rows};
    return import_upload_submit(d, &u, run_import);
}

/* ---- re-applying the rules ----------------------------------------------------------------------
 */

#define REMATCH_PAGE 500

struct page_row {
    int64_t id, region, received_at, matched;
    const char *category, *content, *address;
};

/* Tickets after `after` by id, up to REMATCH_PAGE, into rows (arena a). */
static err rematch_page(db *d, arena *a, int64_t after, struct page_row *rows, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, received_at, matched, category, content, address "
                       "FROM hotline_tickets WHERE id > ? ORDER BY id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, after);
    db_bind_int64(s, 2, REMATCH_PAGE);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < REMATCH_PAGE)
        rows[n++] = (struct page_row){db_col_int64(s, 0),
                                      db_col_int64(s, 1),
                                      db_col_int64(s, 2),
                                      db_col_int64(s, 3),
                                      arena_strdup(a, db_col_text(s, 4)),
                                      arena_strdup(a, db_col_text(s, 5)),
                                      arena_strdup(a, db_col_text(s, 6))};
    db_done(s);
    *n_r = n;
    return e;
}

/* Rematch one ticket: its matches, its matched count and the counters. */
static err rematch_one(db *d, struct links *lk, const struct page_row *t, size_t *matched_r)
{
    const char *texts[2] = {t->content, t->address};
    size_t hits[HOTLINE_RULES_MAX];
    size_t n = hotline_match(lk->m, t->category, texts, 2, hits, HOTLINE_RULES_MAX);
    int64_t day = china_day(t->received_at);
    err e = matches_replace(d, lk, t->id, false, t->region, day, hits, n);
    if (!e && (t->matched > 0) != (n > 0))
        e = stats_add(d, HOTLINE_M_MATCHED, t->region, day, n > 0 ? 1 : -1);
    if (!e && t->matched != (int64_t)n) {
        db_stmt *s;
        if (!(e = db_prepare(d, "UPDATE hotline_tickets SET matched = ? WHERE id = ?", &s))) {
            db_bind_int64(s, 1, (int64_t)n);
            db_bind_int64(s, 2, t->id);
            e = db_run(s, NULL);
        }
    }
    *matched_r += n > 0;
    return e;
}

static void run_rematch(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *a = arena_new(1 << 16);  /* the rules, for the whole job */
    arena *pa = arena_new(1 << 16); /* one page of tickets, reset between pages */
    struct links lk = {0};
    struct page_row *rows = calloc(REMATCH_PAGE, sizeof *rows);
    size_t tickets = 0, matched = 0;
    err_ignore(job_update(d, j->job_id, "running", 0, 0, NULL)); /* display only */
    err e = a && pa && rows ? links_load(d, a, &lk, false) : E_NOMEM;
    if (!e && !(e = db_begin(d)) && (e = stats_defer_begin(d)))
        db_rollback(d);
    if (e) {
        import_job_fail(d, j->job_id, "hotline.rematch", e);
        goto out;
    }
    int64_t after = 0;
    size_t n;
    do {
        arena_reset(pa);
        if ((e = rematch_page(d, pa, after, rows, &n)))
            break;
        for (size_t i = 0; i < n && !e; i++)
            e = rematch_one(d, &lk, &rows[i], &matched);
        tickets += n;
        if (n)
            after = rows[n - 1].id;
    } while (!e && n == REMATCH_PAGE);
    char detail[120];
    snprintf(detail, sizeof detail, "tickets=%zu matched=%zu rules=%zu", tickets, matched,
             lk.nrules);
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action = "hotline.rematch",
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = "ok",
                             .detail = detail};
    if (e)
        db_rollback(d);
    else
        e = finish_tx(d, &ae, false);
    stats_defer_end(d);
    if (e) {
        import_job_fail(d, j->job_id, "hotline.rematch", e);
        goto out;
    }
    json_t *res =
        json_pack("{s:I,s:I}", "tickets", (json_int_t)tickets, "matched", (json_int_t)matched);
    char *s = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    err_ignore(job_update(d, j->job_id, "done", (int64_t)tickets, (int64_t)tickets, s));
    free(s);
out:
    links_free(&lk);
    free(rows);
    arena_free(&pa);
    arena_free(&a);
}

err hotline_rematch_submit(db *d, int64_t job_id, const struct principal *who)
{
    struct import_upload u = {.job_id = job_id, .who = *who}; /* no file */
    return import_upload_submit(d, &u, run_rematch);
}
