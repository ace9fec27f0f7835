/*
 * Excel import of the observation list (docs/cases.md "Import and
 * export"): the template, the upload's check, the background job that
 * validates every row like the API and writes the valid ones in one
 * transaction, and the row error report.
 *
 * The job runs on its own thread with its own connection (as the code
 * recompute), so a 100,000-row file never holds an event loop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "case/import.h"
#include "case/internal.h"
#include "code/code.h"
#include "job/import.h"
#include "job/job.h"
#include "person/person.h"
#include "security/audit.h"
#include "stats/stats.h"

/* ---- the template's columns ------------------------------------------------------ */

enum col {
    C_NAME,
    C_ID_TYPE,
    C_ID_NUMBER,
    C_GENDER,
    C_PHONE,
    C_ADDRESS,
    C_REGION,
    C_KIND,
    C_START,
    C_SITE,
    C_ROOM,
    C_SOURCE,
    C_ARRIVED,
    C_TRANSPORT,
    C_TRANSPORT_NO,
    C_RISK_AREA,
    C_NOTICE,
    C_GUIDE,
    C_HOUSING,
    C_CO_RESIDENTS,
    C_NOTE,
    C_HANDOVER,
    C__COUNT
};

static const char *const heads[C__COUNT] = {
    "姓名*",          "证件类型*",        "证件号码*", "性别",
    "联系电话*",      "现住址",           "所属区划*", "管控措施*",
    "隔离开始日期*",  "隔离点/定点医院",  "房间号",    "信息来源",
    "何时来市",       "来市交通方式",     "航班/车次", "是否有中高风险地区旅居史",
    "是否签署告知书", "是否发放居家指引", "房屋类型",  "同住人数",
    "备注",           "移交确认交接人",
};

static const char *const hints[C__COUNT] = {
    "必填，如 张三",
    "必填，从列表中选择",
    "必填，身份证号须18位且校验位正确",
    "可不填（身份证号可推算）",
    "必填，11位手机号码",
    "选填",
    "必填：12位区划代码（社区/网格，见“区划管理”），须在您的管辖范围内",
    "必填，从列表中选择",
    "必填：日期单元格，或文字 yyyy-mm-dd",
    "集中隔离填隔离点名称；定点医院填医院名称",
    "集中隔离必填：隔离点的空闲房间号",
    "选填，从列表中选择；不填为“批量导入”",
    "选填：日期或 yyyy-mm-dd",
    "选填，如 飞机、火车",
    "选填",
    "选填：是/否",
    "选填：是/否",
    "选填：是/否",
    "选填，如 商品房",
    "选填：0 到 50 的整数",
    "选填，500字以内",
    "定点医院必填",
};

static const double widths[C__COUNT] = {12, 22, 22, 8,  14, 30, 20, 14, 14, 22, 10,
                                        18, 12, 14, 12, 16, 12, 12, 12, 10, 30, 14};

/* The field names errors carry (the API's), and the column each marks. */
static const struct {
    const char *field;
    enum col col;
} field_cols[] = {
    {"name", C_NAME},
    {"id_type", C_ID_TYPE},
    {"id_number", C_ID_NUMBER},
    {"birth_date", C_ID_NUMBER},
    {"gender", C_GENDER},
    {"phone", C_PHONE},
    {"address", C_ADDRESS},
    {"region_code", C_REGION},
    {"kind", C_KIND},
    {"start_at", C_START},
    {"site_id", C_SITE},
    {"hospital", C_SITE},
    {"room_no", C_ROOM},
    {"source", C_SOURCE},
    {"arrived_at", C_ARRIVED},
    {"arrival_transport", C_TRANSPORT},
    {"transport_no", C_TRANSPORT_NO},
    {"risk_area_stay", C_RISK_AREA},
    {"notice_signed", C_NOTICE},
    {"home_guide_issued", C_GUIDE},
    {"housing_type", C_HOUSING},
    {"co_residents", C_CO_RESIDENTS},
    {"note", C_NOTE},
    {"handover", C_HANDOVER},
    {"person_id", C_ID_NUMBER},
};

static int col_of_field(const char *field)
{
    for (size_t i = 0; i < sizeof field_cols / sizeof field_cols[0]; i++)
        if (!strcmp(field_cols[i].field, field))
            return (int)field_cols[i].col;
    return -1;
}

static const char *const yes_no[] = {"是", "否"};

/* The labels of a vocabulary, for a drop-down list. */
static size_t vocab_labels(const struct vocab *v, const char **out, size_t max, int skip)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n && n < max; i++)
        if (v->words[i].name && (int)i != skip)
            out[n++] = v->words[i].label;
    return n;
}

/* The slot whose Chinese label (or API name) is s; 0 when none. */
static int vocab_by_label(const struct vocab *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->words[i].name && (!strcmp(v->words[i].label, s) || !strcmp(v->words[i].name, s)))
            return (int)i;
    return 0;
}

#define DATA_ROWS 100000 /* the reader's row cap; validation lists cover them */

err case_import_template(int *fd_r, int64_t *size_r)
{
    xlsx_writer *w;
    err e = xlsx_writer_open_temp(NULL, &w);
    if (e)
        return e;
    const char *ids[16], *kinds[8], *sources[16], *genders[4];
    size_t nids = vocab_labels(&id_type_vocab, ids, 16, -1);
    size_t nkinds = vocab_labels(&observe_kind_vocab, kinds, 8, -1);
    size_t nsources = vocab_labels(&case_source_vocab, sources, 16, -1);
    size_t ngenders = vocab_labels(&person_gender_vocab, genders, 4, GENDER_UNKNOWN);
    e = xlsx_sheet_add(w, CASE_IMPORT_SHEET);
    xlsx_row_header(w, heads, C__COUNT);
    xlsx_row_hints(w, hints, C__COUNT);
    for (int c = 0; c < C__COUNT; c++)
        xlsx_col_width(w, c, widths[c]);
    int last = DATA_ROWS + 1;
    if (!e)
        e = xlsx_validation_list(w, C_ID_TYPE, 2, last, ids, nids);
    if (!e)
        e = xlsx_validation_list(w, C_GENDER, 2, last, genders, ngenders);
    if (!e)
        e = xlsx_validation_list(w, C_KIND, 2, last, kinds, nkinds);
    if (!e)
        e = xlsx_validation_list(w, C_SOURCE, 2, last, sources, nsources);
    for (int c = C_RISK_AREA; c <= C_GUIDE && !e; c++)
        e = xlsx_validation_list(w, c, 2, last, yes_no, 2);
    err e2 = xlsx_close_fd(&w, fd_r, size_r);
    if (e && !e2)
        close(*fd_r);
    return e ? e : e2;
}

/* ---- rows ---------------------------------------------------------------------------- */

/* One row while its callback runs: the cells are the reader's. */
struct irow {
    long row;
    size_t n;
    const struct xlsx_cell *cells;
    int nmarks;
    struct import_mark marks[IMPORT_MARKS_MAX]; /* col -1: the row as a whole */
    /* parsed */
    struct person p;
    person_fields given;
    int64_t region;
    enum observe_kind kind;
    enum case_source source;
    int64_t start_at;
    const char *site_name, *room_no;
    struct observation f;
    unsigned set;
};

/* Wall and this thread's CPU time in ms, for the job's timing line. */
struct stamp {
    double wall, cpu;
};

static struct stamp stamp_now(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
    return (struct stamp){w.tv_sec * 1e3 + w.tv_nsec / 1e6, c.tv_sec * 1e3 + c.tv_nsec / 1e6};
}

/* "wall/cpu" ms since *t, and *t moved to now. */
static void stamp_lap(struct stamp *t, char out[32])
{
    struct stamp n = stamp_now();
    snprintf(out, 32, "%.0f/%.0f", n.wall - t->wall, n.cpu - t->cpu);
    *t = n;
}

/*
 * The job reads the upload once, inside its transaction, so that only
 * failed rows are ever kept (a 100,000-row file held whole cost about
 * 100 MB): each row is parsed as it is read, kept for the report when its
 * form is wrong, else copied into the batch that writes it. The request
 * looked at its first rows before (PASS_CHECK: the structure, and the
 * count for the progress bar).
 *
 * Two threads share the work: the job's reads the upload, checks each row
 * and seals the people of a batch ahead (person_seal_ahead), while a
 * writer thread writes the batch before on the job's connection (one
 * thread at a time uses it: the batch is handed over under a mutex). Two
 * batches take turns: one filled, one written.
 */
enum pass { PASS_CHECK, PASS_WRITE };

/* A row of a batch: its cells copied, and parsed (the parse's strings in
 * the batch's arena). */
struct brow {
    long row;
    size_t n;
    struct xlsx_cell *cells;
    struct irow r;
    const struct person_sealed *sealed; /* NULL: sealed when written */
    bool bad;                           /* failed in a run: written alone, in its own savepoint */
};

/* The rows written under one savepoint at most (docs/cases.md "The
 * import"): a savepoint costs SQLite a copy of every page it changes, so
 * a thousand rows share one instead of a savepoint each. The name tokens
 * and blind indexes land on random pages of their B-trees: a longer run
 * finds more of its pages already copied (256 rows a run cost 0.9 s of CPU
 * more at 100,000 rows; 2,048 saved nothing more and held 8 MB more). */
#define BATCH_ROWS 1024

struct batch {
    arena *a; /* the rows' copies, parses and seals; reset when refilled */
    struct brow *rows;
    size_t n;
};

struct run {
    enum pass pass;
    pthread_mutex_t fail_mu;     /* both threads keep failed rows */
    struct import_failures fail; /* the failed rows, copied into fail.a until the report */
    struct import_header h;
    long data_rows, last_row;
    /* the reader's side */
    struct batch b[2];
    struct batch *cur; /* being filled */
    /* the writer's side: its connection, its per-row arena */
    db *d;
    arena *ra;
    const struct principal *who;
    bool update;
    size_t written, updated;
    size_t step;         /* rows per savepoint now: halved by a failing row, doubled back */
    err wfatal;          /* the writer's database error */
    double wcpu;         /* the writer thread's CPU ms */
    double rwait, wwait; /* ms each thread waited for the other */
    /* the hand-over, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch *full; /* handed over, not taken yet */
    struct batch *busy; /* being written */
    bool end, cancel;
    err fatal; /* the writer's error, seen by the reader */
};

static void mark(arena *a, struct irow *r, int col, const char *msg)
{
    if (r->nmarks < IMPORT_MARKS_MAX) {
        r->marks[r->nmarks].col = col;
        r->marks[r->nmarks].msg = arena_strdup(a, msg);
        r->nmarks++;
    }
}

/* Mark the row with the last error's detail (every field it names). */
static void mark_err(arena *a, struct irow *r, err e)
{
    const struct err_detail *d = err_last();
    if (d->code != e || !d->message[0]) {
        mark(a, r, -1, err_message(e));
        return;
    }
    mark(a, r, d->field[0] ? col_of_field(d->field) : -1, d->message);
    for (int i = 0; i < d->nmore && i < ERR_MORE_MAX; i++)
        mark(a, r, col_of_field(d->more[i].field), d->more[i].message);
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

/* A date cell, or text yyyy-mm-dd: the China midnight it starts, in ms. */
static bool cell_date(const struct irow *r, int c, int64_t *ms_r)
{
    const struct xlsx_cell *x = &r->cells[c];
    if (x->type == XLSX_DATE) {
        *ms_r = x->ms;
        return true;
    }
    /* a day only (no time of day): its China midnight */
    return x->type == XLSX_STRING && x->len <= 10 && china_time_parse(x->text, ms_r);
}

static bool cell_bool(arena *a, struct irow *r, int c, bool *v_r, bool *given_r)
{
    const char *s = cell_text(r, c);
    *given_r = s != NULL;
    if (!s)
        return true;
    if (!strcmp(s, "是")) {
        *v_r = true;
        return true;
    }
    if (!strcmp(s, "否")) {
        *v_r = false;
        return true;
    }
    mark(a, r, c, "应填写“是”或“否”");
    return false;
}

/* An optional one-line text of at most max characters into *dst. */
static void cell_opt_text(arena *a, struct irow *r, int c, size_t max, const char **dst,
                          unsigned bit)
{
    const char *s = cell_text(r, c);
    if (!s)
        return;
    if (check_text(s, heads[c], heads[c], max, 0)) {
        mark(a, r, c, arena_printf(a, "不能超过%zu个字符", max));
        return;
    }
    *dst = s;
    r->set |= bit;
}

/* The checks that need no database: every column's form, the identity
 * number's checksum, the phone, the dates, the lists. */
static void parse_row(arena *a, struct irow *r)
{
    for (size_t c = 0; c < r->n && c < C__COUNT; c++)
        if (r->cells[c].formula)
            mark(a, r, (int)c, "单元格含有公式，请复制后“粘贴为数值”再导入");
    if (r->nmarks)
        return;
    static const int required[] = {C_NAME,   C_ID_TYPE, C_ID_NUMBER, C_PHONE,
                                   C_REGION, C_KIND,    C_START};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!cell_text(r, required[i]))
            mark(a, r, required[i],
                 arena_printf(a, "请填写%.*s", (int)(strlen(heads[required[i]]) - 1),
                              heads[required[i]]));
    if (r->nmarks)
        return;
    struct person *p = &r->p;
    p->name = cell_text(r, C_NAME);
    p->id_type = (enum id_type)vocab_by_label(&id_type_vocab, cell_text(r, C_ID_TYPE));
    if (!p->id_type)
        mark(a, r, C_ID_TYPE, "证件类型应从列表中选择");
    p->id_number = arena_strdup(a, cell_text(r, C_ID_NUMBER));
    p->phone = cell_text(r, C_PHONE);
    p->address = cell_text(r, C_ADDRESS);
    p->source = "import";
    r->given = PF_BIT(PF_NAME) | PF_BIT(PF_ID_TYPE) | PF_BIT(PF_ID_NUMBER) | PF_BIT(PF_PHONE) |
               PF_BIT(PF_REGION_CODE) | PF_BIT(PF_SOURCE) | (p->address ? PF_BIT(PF_ADDRESS) : 0);
    const char *g = cell_text(r, C_GENDER);
    if (g) {
        int gi = vocab_by_label(&person_gender_vocab, g);
        if (gi <= 0)
            mark(a, r, C_GENDER, "性别应为“男”或“女”");
        p->gender = (enum person_gender)gi;
        r->given |= PF_BIT(PF_GENDER);
    }
    err e = check_phone(p->phone, "phone");
    if (e)
        mark_err(a, r, e);
    enum region_level lv;
    r->region = regcode_parse(cell_text(r, C_REGION), &lv);
    if (r->region <= 0)
        mark(a, r, C_REGION, "所属区划应为12位区划代码");
    p->region_code = r->region;
    if (p->id_type && !r->nmarks) {
        err_collect_begin();
        e = person_check(a, p, r->given);
        err_collect_end();
        if (e)
            mark_err(a, r, e);
    }
    r->kind = (enum observe_kind)vocab_by_label(&observe_kind_vocab, cell_text(r, C_KIND));
    if (!r->kind)
        mark(a, r, C_KIND, "管控措施应为居家隔离、居家医学观察、集中隔离或定点医院");
    if (!cell_date(r, C_START, &r->start_at))
        mark(a, r, C_START, "隔离开始日期应为日期，或 yyyy-mm-dd 格式的文字");
    r->site_name = cell_text(r, C_SITE);
    r->room_no = cell_text(r, C_ROOM);
    r->source = SOURCE_IMPORT;
    const char *src = cell_text(r, C_SOURCE);
    if (src && !(r->source = (enum case_source)vocab_by_label(&case_source_vocab, src)))
        mark(a, r, C_SOURCE, "信息来源应从列表中选择");
    struct observation *f = &r->f;
    if (cell_text(r, C_ARRIVED)) {
        if (cell_date(r, C_ARRIVED, &f->arrived_at))
            r->set |= OBS_BIT(arrived_at);
        else
            mark(a, r, C_ARRIVED, "何时来市应为日期，或 yyyy-mm-dd 格式的文字");
    }
    cell_opt_text(a, r, C_TRANSPORT, 20, &f->arrival_transport, OBS_BIT(arrival_transport));
    cell_opt_text(a, r, C_TRANSPORT_NO, 30, &f->transport_no, OBS_BIT(transport_no));
    cell_opt_text(a, r, C_HOUSING, 20, &f->housing_type, OBS_BIT(housing_type));
    cell_opt_text(a, r, C_NOTE, 500, &f->note, OBS_BIT(note));
    cell_opt_text(a, r, C_HANDOVER, 50, &f->handover, OBS_BIT(handover));
    bool given;
    if (cell_bool(a, r, C_RISK_AREA, &f->risk_area_stay, &given) && given)
        r->set |= OBS_BIT(risk_area_stay);
    if (cell_bool(a, r, C_NOTICE, &f->notice_signed, &given) && given)
        r->set |= OBS_BIT(notice_signed);
    if (cell_bool(a, r, C_GUIDE, &f->home_guide_issued, &given) && given)
        r->set |= OBS_BIT(home_guide_issued);
    const char *co = cell_text(r, C_CO_RESIDENTS);
    if (co) {
        const struct xlsx_cell *x = &r->cells[C_CO_RESIDENTS];
        char *end;
        long v = strtol(co, &end, 10);
        if ((x->type == XLSX_NUMBER && x->num == (double)(long)x->num && x->num >= 0 &&
             x->num <= 50) ||
            (x->type == XLSX_STRING && !*end && v >= 0 && v <= 50)) {
            f->co_residents = x->type == XLSX_NUMBER ? (int64_t)x->num : v;
            r->set |= OBS_BIT(co_residents);
        } else {
            mark(a, r, C_CO_RESIDENTS, "同住人数应为0到50的整数");
        }
    }
}

static err write_row(db *d, arena *a, const struct principal *who, struct irow *r, bool update,
                     bool in_batch, const struct person_sealed *sealed, bool *updated_r);

/* Keep row r for the report: its cells and marks copied. */
static err keep(struct run *st, const struct irow *r)
{
    pthread_mutex_lock(&st->fail_mu);
    err e = import_failures_keep(&st->fail, r->row, r->cells, r->n, r->marks, r->nmarks);
    pthread_mutex_unlock(&st->fail_mu);
    return e;
}

/* The second pass's work for a row the first passed: write it in a
 * savepoint of the job's transaction (a failing row leaves the others). */
static err write_one(struct run *st, struct irow *r)
{
    bool upd;
    err e = db_begin(st->d);
    if (e)
        return st->wfatal = e;
    err_clear();
    err re = write_row(st->d, st->ra, st->who, r, st->update, false, NULL, &upd);
    if (re == E_INPUT || re == E_CONFLICT || re == E_NOT_FOUND) {
        mark_err(st->ra, r, re);
        db_rollback(st->d);
        return keep(st, r);
    }
    if (re) {
        db_rollback(st->d);
        return st->wfatal = re;
    }
    if ((e = db_commit(st->d)))
        return st->wfatal = e;
    if (upd)
        st->updated++;
    else
        st->written++;
    return E_OK;
}

/* Row `row` read into r, its strings in a: its checks' marks. */
static void row_parse_keep(arena *a, struct irow *r, long row, const struct xlsx_cell *cells,
                           size_t n)
{
    memset(r, 0, sizeof *r);
    r->row = row;
    r->n = n;
    r->cells = cells;
    if (n > C__COUNT)
        mark(a, r, C__COUNT, "模板之外的列：请删除后再导入");
    parse_row(a, r);
}

/* A row of the batch on its own: parsed again (its marks go to the
 * per-row arena), written in its own savepoint with the failure, if any,
 * marked and kept. */
static err write_alone(struct run *st, const struct brow *b)
{
    struct irow r;
    arena_reset(st->ra);
    row_parse_keep(st->ra, &r, b->row, b->cells, b->n);
    return r.nmarks ? keep(st, &r) : write_one(st, &r);
}

/*
 * Rows batch[from, to) under one savepoint, with the code refreshes and
 * the counters of the rows deferred to its end (code_defer_*, stats_defer_*:
 * once per person and per counter instead of once per row). Returns the
 * index of the first row that failed (everything rolled back, nothing
 * counted), or `to` when all were written; st->wfatal on a database error.
 */
static size_t write_batch(struct run *st, struct batch *bt, size_t from, size_t to)
{
    db *d = st->d;
    err e = db_begin(d);
    if (e) {
        st->wfatal = e;
        return from;
    }
    if ((e = code_defer_begin(d)) || (e = stats_defer_begin(d))) {
        code_defer_end(d);
        db_rollback(d);
        st->wfatal = e;
        return from;
    }
    size_t i, written = 0, updated = 0;
    for (i = from; i < to; i++) {
        bool upd;
        arena_reset(st->ra);
        err_clear();
        err re = write_row(d, st->ra, st->who, &bt->rows[i].r, st->update, true, bt->rows[i].sealed,
                           &upd);
        if (re == E_INPUT || re == E_CONFLICT || re == E_NOT_FOUND)
            break;
        if (re) {
            e = re;
            break;
        }
        if (upd)
            updated++;
        else
            written++;
    }
    if (!e && i == to) {
        arena_reset(st->ra);
        if (!(e = code_defer_flush(d, st->ra)) && !(e = stats_defer_flush(d)))
            e = db_commit(d);
    }
    code_defer_end(d);
    stats_defer_end(d);
    if (e || i < to)
        db_rollback(d);
    if (e) {
        st->wfatal = e;
        return from;
    }
    if (i == to) {
        st->written += written;
        st->updated += updated;
    }
    return i;
}

/*
 * Write batch bt in row order (on the writer thread). Runs of rows share a
 * savepoint (write_batch); a row that fails in a run rolls the run back
 * and is then written alone (write_alone: its savepoint, its failure
 * reported as before), the rows before it again as a run. The run length
 * halves at each failure and doubles back after a run that passes, so a
 * file of failing rows costs little more than one written row by row.
 */
static err batch_write(struct run *st, struct batch *bt)
{
    size_t i = 0, n = bt->n;
    while (i < n && !st->wfatal) {
        if (bt->rows[i].bad || st->step <= 1) {
            err e = write_alone(st, &bt->rows[i]);
            if (e)
                return e;
            i++;
            st->step = st->step < 2 ? 2 : st->step;
            continue;
        }
        size_t end = i + st->step < n ? i + st->step : n;
        for (size_t j = i + 1; j < end; j++)
            if (bt->rows[j].bad)
                end = j;
        size_t k = write_batch(st, bt, i, end);
        if (st->wfatal)
            break;
        if (k == end) {
            i = end;
            st->step = st->step * 2 > BATCH_ROWS ? BATCH_ROWS : st->step * 2;
        } else {
            bt->rows[k].bad = true;
            st->step /= 2;
        }
    }
    return st->wfatal;
}

/* The writer thread: each batch handed over, written, given back. */
static void *writer_main(void *arg)
{
    struct run *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        struct stamp w0 = stamp_now();
        while (!st->full && !st->end)
            pthread_cond_wait(&st->cv, &st->mu);
        st->wwait += stamp_now().wall - w0.wall;
        if (!st->full)
            break;
        struct batch *bt = st->busy = st->full;
        st->full = NULL;
        bool skip = st->cancel || st->fatal;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        err e = skip ? E_OK : batch_write(st, bt);
        pthread_mutex_lock(&st->mu);
        st->busy = NULL;
        if (e && !st->fatal)
            st->fatal = e;
        pthread_cond_broadcast(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    struct timespec c;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
    st->wcpu = c.tv_sec * 1e3 + c.tv_nsec / 1e6;
    return NULL;
}

/* Hand the batch being filled to the writer and take the other one back
 * once it is written: the writer's error, if it had one. */
static err hand_over(struct run *st)
{
    struct batch *next = st->cur == &st->b[0] ? &st->b[1] : &st->b[0];
    struct stamp w0 = stamp_now();
    pthread_mutex_lock(&st->mu);
    while (st->full && !st->fatal)
        pthread_cond_wait(&st->cv, &st->mu);
    if (!st->fatal) {
        st->full = st->cur;
        pthread_cond_broadcast(&st->cv);
        while ((st->busy == next || st->full == next) && !st->fatal)
            pthread_cond_wait(&st->cv, &st->mu);
    }
    err e = st->fatal;
    pthread_mutex_unlock(&st->mu);
    st->rwait += stamp_now().wall - w0.wall;
    if (!e) {
        arena_reset(next->a);
        next->n = 0;
        st->cur = next;
    }
    return e;
}

/* Row `row` into the batch being filled: its cells copied and parsed there
 * (for as long as the batch lives), its person sealed ahead, or kept for
 * the report when its form is wrong; the batch handed over when full. */
static err batch_add(struct run *st, long row, const struct xlsx_cell *cells, size_t n)
{
    struct batch *bt = st->cur;
    struct brow *b = &bt->rows[bt->n];
    b->row = row;
    b->n = n;
    b->bad = false;
    b->sealed = NULL;
    b->cells = arena_alloc(bt->a, (n ? n : 1) * sizeof *b->cells);
    if (!b->cells)
        return E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        b->cells[i] = cells[i];
        b->cells[i].text = arena_strndup(bt->a, cells[i].text, cells[i].len);
    }
    row_parse_keep(bt->a, &b->r, row, b->cells, n);
    if (b->r.nmarks)
        return keep(st, &b->r); /* its copies stay in the batch's arena until it is refilled */
    /* a refusal here is the insert's too: the row is then written unsealed
     * and fails there, with its mark */
    if (person_seal_ahead(bt->a, &b->r.p, &b->sealed) == E_NOMEM)
        return E_NOMEM;
    bt->n++;
    return bt->n == BATCH_ROWS ? hand_over(st) : E_OK;
}

/* The template's rows (job/import.h); the reader and writer threads are
 * the observation list's own. */
static const struct import_kind kind = {.sheet = CASE_IMPORT_SHEET,
                                        .title = "观察对象",
                                        .heads = heads,
                                        .hints = hints,
                                        .ncols = C__COUNT,
                                        .min_cols = 3,
                                        .key1 = C_NAME,
                                        .key2 = C_ID_NUMBER};

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    bool data;
    err he = import_header(&kind, &st->h, false, row, cells, n, &data);
    if (he || !data)
        return he;
    st->data_rows++;
    st->last_row = row;
    if (st->pass == PASS_CHECK)
        return E_OK; /* the upload's check: structure only */
    return batch_add(st, row, cells, n);
}

static const struct xlsx_limits limits = {.max_rows = CASE_IMPORT_MAX_ROWS + 2};

/* The structure of an upload, before its job: the reader's caps, the
 * sheet, the header; E_INPUT "empty" without a data row. It reads the
 * first rows only when the sheet declares its size (every common writer
 * does): the count is then the declared one, the progress bar's total,
 * and the job enforces the row cap on what it reads (a file that declares
 * fewer rows than it holds fails its job, nothing written). Without a
 * declaration, or past the cap, the whole file is counted here, so a file
 * too long is refused before a job. A full reading here cost 6% of a
 * 100,000-row import. */
err case_import_check(const void *data, size_t n, long *rows_r)
{
    struct run st = {0};
    struct xlsx_peek pk = {.rows = 3}; /* the header, the hints, a data row */
    err e = xlsx_peek_buffer(data, n, CASE_IMPORT_SHEET, &limits, &pk, on_row, &st);
    if (e)
        return e;
    if (!st.data_rows)
        return err_set(E_INPUT, "empty", NULL, "Excel 文件中没有数据：请按模板填写后再导入");
    long first = st.h.row + 1 + (st.h.hints ? 1 : 0); /* the first data row's number */
    long declared = pk.declared - first + 1;
    if (pk.declared >= st.last_row && declared <= CASE_IMPORT_MAX_ROWS) {
        *rows_r = declared;
        return E_OK;
    }
    st = (struct run){0};
    if ((e = xlsx_read_buffer(data, n, CASE_IMPORT_SHEET, &limits, on_row, &st)))
        return e;
    *rows_r = st.data_rows;
    return E_OK;
}

/* ---- the job ---------------------------------------------------------------------------- */

/* A live quarantine site or hospital place named `name` inside sc. */
static err site_by_name(db *d, const struct scope *sc, const char *name, int64_t *id_r)
{
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT id FROM places WHERE kind = 'quarantine_site' AND name = ? AND "
                   "deleted_at = 0 AND region_code >= ? AND region_code < ? ORDER BY id LIMIT 1",
                   &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    if (!e && !row)
        return err_set(E_INPUT, "invalid_site", "site_id",
                       "隔离点“%.60s”不存在或不在您的管辖范围内", name);
    return e;
}

/* The person's active observation: its id, 0 when none. */
static err active_observation(db *d, int64_t person_id, int64_t *id_r)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT id FROM observations WHERE person_id = ? AND state = 'active'", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    *id_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* One valid row, in a savepoint of the job's transaction: its own, or a
 * batch's (in_batch: the person is registered without a savepoint of its
 * own, the batch's rollback undoes a failure; `sealed`: the new person's
 * cryptography done ahead, or NULL). *updated_r says whether it
 * updated an open observation (duplicates=update). */
static err write_row(db *d, arena *a, const struct principal *who, struct irow *r, bool update,
                     bool in_batch, const struct person_sealed *sealed, bool *updated_r)
{
    *updated_r = false;
    err e = person_region_check(d, &who->scope, r->region, "region_code");
    if (e)
        return e;
    bool created = false;
    struct case_observe_in in = {
        .kind = r->kind,
        .source = r->source,
        .start_at = r->start_at,
        .room_no = r->kind == OBSERVE_CENTRAL ? r->room_no : NULL,
        .hospital = r->kind == OBSERVE_HOSPITAL ? r->site_name : NULL,
    };
    if (r->kind == OBSERVE_CENTRAL && r->site_name &&
        (e = site_by_name(d, &who->scope, r->site_name, &in.site_id)))
        return e;
    if (r->kind != OBSERVE_CENTRAL && r->kind != OBSERVE_HOSPITAL && r->site_name)
        return err_set(E_INPUT, "invalid_value", "site_id", "只有集中隔离或定点医院填写此列");
    if (r->kind != OBSERVE_CENTRAL && r->room_no)
        return err_set(E_INPUT, "invalid_value", "room_no", "只有集中隔离可以填写房间号");
    /* a day's date starts at China midnight; today's may be in the future
     * of a start_at check only by hours, which case_observe allows */
    /* the document looked up once: in scope, the person; nobody's, a new
     * person without the registration's own look-ups (parse_row ran
     * person_check, the region was checked above); outside the scope, the
     * registration's rules (a self-registration taken over, else a 409) */
    int64_t holder, holder_region;
    if ((e = sealed ? person_sealed_holder(d, sealed, &holder, &holder_region)
                    : person_document_holder(d, a, r->p.id_type, r->p.id_number, &holder,
                                             &holder_region)))
        return e;
    if (holder && scope_has(&who->scope, holder_region)) {
        in.person_id = holder;
    } else {
        /* registering people is person.write's, whatever case.import allows */
        if (!principal_can(who, PERM_PERSON_WRITE))
            return err_set(E_NOT_FOUND, "person_not_registered", "id_number",
                           "该人员尚未登记，您没有登记人员的权限：请先由有权限的人员登记");
        struct person p = r->p;
        bool taken = false; /* a self-registration taken over has a past */
        if (in_batch && !holder)
            e = person_create_in_tx_new(d, a, who, &p, r->given, sealed);
        else if (in_batch)
            e = person_create_in_tx(d, a, who, &p, r->given, &taken);
        else
            e = person_create(d, a, who, &p, r->given, &taken);
        if (e)
            return e;
        in.person_id = p.id;
        created = !taken;
    }
    /* a person registered just now has no observation yet */
    int64_t open = 0;
    if (!created && (e = active_observation(d, in.person_id, &open)))
        return e;
    if (open) {
        if (!update)
            return err_set(E_CONFLICT, "already_observed", "id_number",
                           "该人员已在隔离观察名单中（可选择“更新已有记录”重新导入）");
        if (!r->set)
            return E_OK; /* nothing to change: counted as updated */
        *updated_r = true;
        return case_observation_update(d, a, who, open, 0, &r->f, r->set);
    }
    int64_t id;
    return case_observe_full(d, a, who, &in, &r->f, r->set, &id);
}

#define OPT_UPDATE 1u /* import_upload.opt: rows of people on the list update them */

static void job_fail(db *d, int64_t job_id, err e)
{
    import_job_fail(d, job_id, "case.import", e);
}

/* Read the upload into batches handed to a writer thread (the pipeline
 * above): E_OK, the reader's error or the writer's. */
static err read_and_write(struct run *st, const struct import_upload *j)
{
    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, st))
        return E_NOMEM;
    err e = xlsx_read_buffer(j->data, j->n, CASE_IMPORT_SHEET, &limits, on_row, st);
    if (!e && st->cur->n)
        e = hand_over(st); /* the last rows */
    pthread_mutex_lock(&st->mu);
    st->end = true;
    st->cancel = e != E_OK; /* a batch still waiting is not written */
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(writer, NULL);
    if (e && e == st->fatal) {
        /* the writer's error, seen at a hand-over: its detail was the
         * writer thread's (a database error's is logged there) */
        return err_set(e, NULL, NULL, "%s", err_message(e));
    }
    return e ? e : st->fatal;
}

static void run_job(db *d, const struct import_upload *j)
{
    /* where a job's time goes, for docs/benchmarks.md: wall/cpu ms per phase
     * (the write's CPU is both threads') */
    char t_read[32] = "", t_write[32] = "", t_commit[32] = "", t_report[32] = "";
    struct stamp t = stamp_now();
    /* the job runs on its own thread: no caller's arena to take */
    arena *kept = arena_new(1 << 16);    /* the failed rows, until the report is written */
    arena *per_row = arena_new(1 << 16); /* the writer's: one row's write, reset between rows */
    arena *b0 = arena_new(1 << 16);      /* the two batches' rows, reset when refilled */
    arena *b1 = arena_new(1 << 16);      /* (the other batch) */
    struct run st = {.pass = PASS_WRITE,
                     .fail = {.a = kept},
                     .ra = per_row,
                     .b = {{.a = b0}, {.a = b1}},
                     .step = BATCH_ROWS,
                     .d = d,
                     .who = &j->who,
                     .update = (j->opt & OPT_UPDATE) != 0};
    st.cur = &st.b[0];
    pthread_mutex_init(&st.fail_mu, NULL);
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);
    /* the total is the request's count: the write, inside its one
     * transaction, cannot show progress to another connection, so the bar
     * shows the job running until it is done (display only) */
    err_ignore(job_update(d, j->job_id, "running", 0, j->rows, NULL));
    st.b[0].rows = calloc(BATCH_ROWS, sizeof *st.b[0].rows);
    st.b[1].rows = calloc(BATCH_ROWS, sizeof *st.b[1].rows);
    if (!st.fail.a || !st.ra || !st.b[0].a || !st.b[1].a || !st.b[0].rows || !st.b[1].rows) {
        job_fail(d, j->job_id, E_NOMEM);
        goto out;
    }
    /* one transaction for every valid row: all of them or none (a crash
     * halfway leaves nothing to clean up); a dry run is the same work
     * rolled back, so it finds what the write would find */
    err e = db_begin(d);
    if (e) {
        job_fail(d, j->job_id, e);
        goto out;
    }
    stamp_lap(&t, t_read);
    /* one reading: each row parsed, then written in its batch */
    double cpu0 = stamp_now().cpu;
    e = read_and_write(&st, j);
    size_t total = (size_t)st.data_rows;
    {
        struct stamp n = stamp_now();
        snprintf(t_write, sizeof t_write, "%.0f/%.0f", n.wall - t.wall, n.cpu - cpu0 + st.wcpu);
        t = n;
    }
    size_t written = st.written, updated = st.updated, failed = st.fail.n, valid = total - failed;
    char detail[160];
    snprintf(detail, sizeof detail, "total=%zu valid=%zu written=%zu updated=%zu failed=%zu%s",
             total, valid, written, updated, failed, j->dry_run ? " dry_run" : "");
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action =
                                 j->dry_run ? "observation.import_dry_run" : "observation.import",
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = "ok",
                             .detail = detail};
    if (e || j->dry_run) {
        db_rollback(d);
        written = updated = 0;
        /* a dry run read the people it checked: its entry outlives the rollback */
        if (!e)
            e = audit_log(d, &ae);
    } else if (!(e = audit_log(d, &ae))) { /* the entry commits with the rows */
        e = db_commit(d);
    } else {
        db_rollback(d);
    }
    if (e) {
        job_fail(d, j->job_id, e);
        goto out;
    }
    stamp_lap(&t, t_commit);
    /* the rows failing their form as read, then those failing their write
     * after their batch: sorted, the report is in row order */
    bool report = import_report_done(j->job_id, CASE_IMPORT_SHEET, heads, C__COUNT, &st.fail);
    stamp_lap(&t, t_report);
    char nrows[24];
    snprintf(nrows, sizeof nrows, "%zu", total);
    char waits[48]; /* which side held the other up */
    snprintf(waits, sizeof waits, "%.0f/%.0f", st.rwait, st.wwait);
    log_event(LOG_INFO, "import_timing", "rows", nrows, "read_ms", t_read, "write_ms", t_write,
              "commit_ms", t_commit, "report_ms", t_report, "reader_writer_wait_ms", waits, NULL);
    json_t *res =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "total", (json_int_t)total, "valid",
                  (json_int_t)valid, "written", (json_int_t)written, "updated", (json_int_t)updated,
                  "failed", (json_int_t)failed, "dry_run", j->dry_run, "report", report);
    import_job_done(d, j->job_id, (int64_t)total, res);
out:
    import_failures_free(&st.fail);
    for (int i = 0; i < 2; i++) {
        free(st.b[i].rows);
        arena_free(&st.b[i].a);
    }
    arena_free(&st.ra);
    arena_free(&st.fail.a);
    pthread_cond_destroy(&st.cv);
    pthread_mutex_destroy(&st.mu);
    pthread_mutex_destroy(&st.fail_mu);
}

/* ---- the worker ---------------------------------------------------------------------------- */

err case_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                       size_t n, long rows, bool dry_run, bool update)
{
    struct import_upload u = {.job_id = job_id,
                              .who = *who,
                              .data = data,
                              .n = n,
                              .rows = rows,
                              .dry_run = dry_run,
                              .opt = update ? OPT_UPDATE : 0};
    return import_upload_submit(d, &u, run_job);
}
