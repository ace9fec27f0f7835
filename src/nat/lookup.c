/*
 * Result look-up (个人及批量查询, issue 10, seed 004 二4; docs/nat.md
 * "Result look-up"): a person's results by id number, a resident's own,
 * and batches of up to NAT_LOOKUP_MAX_ROWS id numbers uploaded as xlsx or
 * CSV and looked up by a background worker with its own connection.
 *
 * A batch run is built for a million rows in seconds:
 *   - the upload is streamed (xlsx reader or CSV reader), each id number
 *     normalised, checked (GB 11643) and blind-indexed on the spot with the
 *     thread's keyed HMAC context (blind_index reuses it);
 *   - the entries are sorted by blind index, so the persons_identity index
 *     is walked in order (its pages stay in cache), one prepared statement
 *     per id, the scope bound in the same statement;
 *   - each person found costs one range read of test_results_person,
 *     newest first, which gives the latest result and the count of the
 *     last NAT_RECENT_DAYS China days, stopping at the first older row;
 *   - the workbooks are written row by row with the shared writer in
 *     constant memory, in the upload's order.
 * Memory is one fixed-size entry per row and the texts kept for the
 * output (the id as uploaded, the shown name, the institution) in one
 * bounded pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "db/query.h"
#include "job/export_store.h"
#include "job/worker.h"
#include "nat/nat.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/crypto.h"
#include "security/mask.h"

#define L_ID           "persons.id_number" /* the blind-index and seal labels of person.c */
#define L_NAME         "persons.name"
#define POOL_MAX       ((size_t)1 << 30) /* bytes of kept text: far above 1M rows' need */
#define ID_SHOWN_MAX   64                /* bytes of a malformed cell kept for the report */
#define PROGRESS_EVERY 65536

/* ---- id numbers ---------------------------------------------------------------------------- */

enum nat_id_check nat_lookup_id_check(const char *raw, char out[NAT_ID_NORMAL])
{
    size_t n = 0;
    for (const char *p = raw; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (n >= 18)
            return NAT_ID_MALFORMED;
        out[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    out[n] = '\0';
    if (!n)
        return NAT_ID_EMPTY;
    if (n != 18)
        return NAT_ID_MALFORMED;
    if (check_resident_id(out, NULL, NULL, NULL) != E_OK) {
        err_clear();
        return NAT_ID_MALFORMED;
    }
    return NAT_ID_OK;
}

int64_t nat_recent_since(int64_t now)
{
    return china_day_start(now) - (int64_t)(NAT_RECENT_DAYS - 1) * 86400000;
}

/* ---- personal look-up ---------------------------------------------------------------------- */

static err results_of(db *d, arena *a, int64_t person_id, struct nat_lookup_result **items_r,
                      size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT result, sampled_at, reported_at, institution FROM test_results "
                       "WHERE person_id = ? ORDER BY sampled_at DESC, id DESC LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, NAT_PERSON_RESULTS_MAX);
    struct nat_lookup_result *items = arena_alloc(a, NAT_PERSON_RESULTS_MAX * sizeof *items);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        items[n].result = arena_strdup(a, db_col_text(s, 0));
        items[n].sampled_at = db_col_int64(s, 1);
        items[n].reported_at = db_col_int64(s, 2);
        items[n].institution = arena_strdup(a, db_col_text(s, 3));
        n++;
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err nat_lookup_person(db *d, arena *a, const struct scope *sc, const char *id_number, bool reveal,
                      struct nat_person_results *r_r)
{
    char idn[NAT_ID_NORMAL];
    if (nat_lookup_id_check(id_number, idn) != NAT_ID_OK)
        return err_set(E_INPUT, "invalid_id_number", "id_number", "身份证号码格式或校验位不正确");
    /* one digest; two, looked up in turn, only during a key rotation */
    uint8_t bidx[BLIND_MAX][BLIND_LEN];
    int nb = blind_search(L_ID, idn, bidx);
    err e = E_OK;
    struct nat_person_results r = {0};
    const char *name = NULL;
    for (int k = 0; !e && k < nb && !r.person_id; k++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id, name_enc FROM persons WHERE id_number_bidx = ? AND "
                            "id_type = ? AND deleted_at = 0 AND region_code >= ? AND "
                            "region_code < ?",
                            &s)))
            return e;
        db_bind_blob(s, 1, bidx[k], BLIND_LEN);
        db_bind_int64(s, 2, ID_RESIDENT);
        db_bind_int64(s, 3, sc->lo);
        db_bind_int64(s, 4, sc->hi);
        bool row;
        if (!(e = db_row(s, &row)) && row) {
            r.person_id = db_col_int64(s, 0);
            e = unseal_col(a, s, 1, L_NAME, &name);
        }
        db_done(s);
    }
    if (e)
        return e;
    if (!r.person_id)
        return err_set(E_NOT_FOUND, "not_found", NULL, "没有查到此身份证号码的人员");
    r.name = reveal ? name : mask_name(a, name);
    r.id_number = reveal ? arena_strdup(a, idn) : mask_id_number(a, idn);
    if ((e = results_of(d, a, r.person_id, &r.items, &r.n)))
        return e;
    *r_r = r;
    return E_OK;
}

err nat_lookup_own(db *d, arena *a, int64_t person_id, struct nat_lookup_result **items_r,
                   size_t *n_r)
{
    return results_of(d, a, person_id, items_r, n_r);
}

err nat_lookup_person_xlsx(const struct nat_person_results *r, int *fd_r, int64_t *size_r)
{
    xlsx_writer *w;
    err e = xlsx_writer_open_temp(NULL, &w);
    if (e)
        return e;
    static const char *const head[] = {"姓名",     "身份证号", "检测结果",
                                       "采样时间", "报告时间", "检测机构"};
    e = xlsx_sheet_add(w, "核酸检测结果");
    xlsx_row_header(w, head, 6);
    xlsx_col_width(w, 1, 22);
    xlsx_col_width(w, 3, 20);
    xlsx_col_width(w, 4, 20);
    xlsx_col_width(w, 5, 24);
    for (size_t i = 0; i < r->n; i++) {
        xlsx_cell_text(w, r->name);
        xlsx_cell_text(w, r->id_number);
        xlsx_cell_text(w, nat_result_label(r->items[i].result));
        xlsx_cell_datetime(w, r->items[i].sampled_at);
        xlsx_cell_datetime(w, r->items[i].reported_at);
        xlsx_cell_text(w, r->items[i].institution);
        xlsx_row_end(w);
    }
    err e2 = xlsx_close_fd(&w, fd_r, size_r);
    return e ? e : e2;
}

const char *nat_result_label(const char *result)
{
    if (!strcmp(result, "negative"))
        return "阴性";
    if (!strcmp(result, "positive"))
        return "阳性";
    if (!strcmp(result, "pool_positive")) /* until the single-tube retest answers */
        return "混管阳性待复核";
    return result;
}

/* ---- a batch's entries --------------------------------------------------------------------- */

/* A bounded text pool: offsets stay valid when it grows. Offset 0 is "". */
struct pool {
    char *p;
    size_t n, cap;
};

static uint32_t pool_add(struct pool *pl, const char *s, size_t len)
{
    if (!len)
        return 0;
    /* the capacity is 1 MiB doubled, so it passes POOL_MAX (a power of two)
     * exactly when what it must hold does */
    if (pl->n + len + 1 > POOL_MAX || !GROW(&pl->p, &pl->cap, pl->n, len + 1, 1 << 20))
        return UINT32_MAX;
    uint32_t off = (uint32_t)pl->n;
    memcpy(pl->p + pl->n, s, len);
    pl->p[pl->n + len] = '\0';
    pl->n += len + 1;
    return off;
}

enum ent_state { ENT_MALFORMED, ENT_EMPTY, ENT_NOT_FOUND, ENT_FOUND };
enum ent_result { RES_NONE, RES_NEGATIVE, RES_POSITIVE, RES_OTHER };

struct ent {
    uint8_t bidx[BLIND_LEN];
    int64_t sampled_at, reported_at;
    uint32_t row;    /* the sheet's 1-based row */
    uint32_t shown;  /* pool: the id as uploaded */
    uint32_t name;   /* pool: the name as shown (masked or not) */
    uint32_t inst;   /* pool: the latest result's institution */
    uint16_t recent; /* tests in the last NAT_RECENT_DAYS days */
    uint8_t state;   /* enum ent_state */
    uint8_t result;  /* enum ent_result */
};

/*
 * The HMAC-SM3 of the ids, on a thread of its own while the reader parses
 * (each took a third of the read): the reader keeps a checked id in its
 * entry's bidx (id_pack: 18 characters in 9 bytes) and publishes the entries before
 * [ready] every HASH_CHUNK; the hasher replaces each text by its index. The
 * entries never move (allocated once at their cap), and an entry is final
 * once published.
 */
#define HASH_CHUNK 4096

struct hasher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ent *e;
    size_t ready; /* entries published */
    bool end;     /* the last of them */
    bool running;
    pthread_t t;
};

struct run {
    struct ent *e;
    size_t n, cap;
    struct hasher *h; /* NULL: each id hashed as it is read */
    struct pool pool;
    int col;         /* the id column, -1 until the first row decided it */
    bool header;     /* the first row was a header */
    long data_rows;  /* rows read (header excluded) */
    const char *why; /* an error message for a failed read */
};

/* A checked id (17 digits and a check character) into 9 bytes of b, and back. */
static void id_pack(const char idn[NAT_ID_NORMAL], uint8_t b[BLIND_LEN])
{
    uint64_t v = 0;
    for (int i = 0; i < 17; i++)
        v = v * 10 + (uint64_t)(idn[i] - '0');
    memcpy(b, &v, sizeof v);
    b[8] = (uint8_t)idn[17];
}

static void id_unpack(const uint8_t b[BLIND_LEN], char idn[NAT_ID_NORMAL])
{
    uint64_t v;
    memcpy(&v, b, sizeof v);
    for (int i = 16; i >= 0; i--, v /= 10)
        idn[i] = (char)('0' + v % 10);
    idn[17] = (char)b[8];
    idn[18] = '\0';
}

static void hash_publish(struct hasher *h, size_t ready, bool end)
{
    pthread_mutex_lock(&h->mu);
    h->ready = ready;
    h->end = end;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void *hash_main(void *arg)
{
    struct hasher *h = arg;
    size_t done = 0;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (done == h->ready && !h->end)
            pthread_cond_wait(&h->cv, &h->mu);
        size_t ready = h->ready;
        bool end = h->end;
        pthread_mutex_unlock(&h->mu);
        for (; done < ready; done++) {
            struct ent *x = &h->e[done];
            if (x->state != ENT_NOT_FOUND)
                continue;
            char idn[NAT_ID_NORMAL];
            id_unpack(x->bidx, idn);
            blind_index(L_ID, idn, x->bidx);
        }
        if (end && done == ready)
            return NULL;
    }
}

static err ent_add(struct run *st, long row, const char *text, size_t len)
{
    if (st->n == st->cap)
        return err_set(E_INPUT, "too_many_rows", NULL, "最多 %d 行身份证号码", NAT_LOOKUP_MAX_ROWS);
    if (st->h && st->n && !(st->n % HASH_CHUNK)) /* the entries before this one are final */
        hash_publish(st->h, st->n, false);
    struct ent *x = &st->e[st->n];
    memset(x, 0, sizeof *x);
    x->row = (uint32_t)row;
    char idn[NAT_ID_NORMAL];
    enum nat_id_check c = nat_lookup_id_check(text, idn);
    if (c == NAT_ID_OK) {
        _Static_assert(BLIND_LEN >= 9, "a packed id fits in bidx");
        if (st->h)
            id_pack(idn, x->bidx);
        else
            blind_index(L_ID, idn, x->bidx);
        x->state = ENT_NOT_FOUND;
    } else {
        x->state = c == NAT_ID_EMPTY ? ENT_EMPTY : ENT_MALFORMED;
    }
    if (len > ID_SHOWN_MAX)
        len = ID_SHOWN_MAX;
    if ((x->shown = pool_add(&st->pool, text, len)) == UINT32_MAX)
        return E_NOMEM;
    st->n++;
    st->data_rows++;
    return E_OK;
}

static bool is_header_cell(const char *s)
{
    while (*s == ' ')
        s++;
    return !strncmp(s, "身份证号", strlen("身份证号")) ||
           !strncmp(s, "证件号码", strlen("证件号码"));
}

/* The first row: a header naming the id column, else data in column A. */
static bool first_row(struct run *st, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_header_cell(cells[i])) {
            st->col = (int)i;
            st->header = true;
            return true;
        }
    st->col = 0;
    return false;
}

static err on_xlsx_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    if (st->col < 0) {
        const char *texts[16];
        size_t k = n < 16 ? n : 16;
        for (size_t i = 0; i < k; i++)
            texts[i] = cells[i].text;
        if (first_row(st, texts, k))
            return E_OK;
    }
    const char *t = (size_t)st->col < n ? cells[st->col].text : "";
    size_t len = (size_t)st->col < n ? cells[st->col].len : 0;
    return ent_add(st, row, t, len);
}

static err read_csv(struct run *st, const char *data, size_t n)
{
    /* the worker's job: no request; the reader's buffers die with the read */
    arena *a = arena_new(0);
    if (!a)
        return E_NOMEM;
    struct csv_limits lim = {.max_field = 4096, .max_record = 65536, .max_fields = 256};
    csv_reader *r = csv_open_mem(a, data, n, &lim);
    err e = r ? E_OK : E_NOMEM;
    char **f;
    size_t nf;
    int res;
    while (!e && (res = csv_next(r, &f, &nf)) != CSV_END) {
        long line = csv_line(r);
        if (res == CSV_E_IO) {
            e = E_IO;
            break;
        }
        if (res < 0) { /* a broken record: reported as a malformed row */
            if (st->col < 0)
                st->col = 0;
            e = ent_add(st, line, "", 0);
            if (!e)
                st->e[st->n - 1].state = ENT_MALFORMED;
            continue;
        }
        if (st->col < 0 && first_row(st, (const char *const *)f, nf))
            continue;
        const char *t = (size_t)st->col < nf ? f[st->col] : "";
        e = ent_add(st, line, t, strlen(t));
    }
    arena_free(&a);
    return e;
}

static err read_source(struct run *st, const void *data, size_t n, bool xlsx)
{
    st->col = -1;
    if (!xlsx)
        return read_csv(st, data, n);
    struct xlsx_limits lim = {.max_rows = NAT_LOOKUP_MAX_ROWS + 1, .max_bytes = 512u << 20};
    return xlsx_read_buffer(data, n, NULL, &lim, on_xlsx_row, st);
}

err nat_lookup_probe(const void *data, size_t n, bool xlsx)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传身份证号码列表（Excel 或 CSV）");
    if (!xlsx) {
        /* a cheap count of lines: the rows cap is known before anything is queued */
        size_t lines = 0;
        const char *p = data, *end = p + n;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
            lines++;
            p++;
        }
        if (n && ((const char *)data)[n - 1] != '\n')
            lines++;
        if (lines > NAT_LOOKUP_MAX_ROWS + 1)
            return err_set(E_INPUT, "too_many_rows", NULL, "最多 %d 行身份证号码，文件有 %zu 行",
                           NAT_LOOKUP_MAX_ROWS, lines);
        return E_OK;
    }
    if (n < 4 || memcmp(data, "PK\3\4", 4))
        return err_set(E_INPUT, "invalid_xlsx", NULL, "不是 Excel（.xlsx）文件");
    return E_OK;
}

/* ---- the look-up --------------------------------------------------------------------------- */

static int by_bidx(const void *x, const void *y)
{
    const struct ent *a = *(struct ent *const *)x, *b = *(struct ent *const *)y;
    return memcmp(a->bidx, b->bidx, BLIND_LEN);
}

typedef void (*progress_fn)(void *ctx, size_t done, size_t total);

/*
 * Look up ord[0..m) (sorted by blind index) on connection d, keeping the
 * texts in pool; progress (may be NULL) gets the count times `parts` (the
 * ranges running side by side).
 */
struct range {
    db *d;
    struct pool *pool;
    struct ent **ord;
    size_t m;
    const struct scope *sc;
    bool reveal;
    int64_t since;
    progress_fn progress;
    void *pctx;
    size_t parts, total; /* total: the batch's rows, for progress */
    err e;
};

/* A person found, for the results' pass: in person-id order, the index of
 * test_results is walked forward instead of probed at random. */
struct hit {
    int64_t pid;
    struct ent *x;
};

static int by_pid(const void *x, const void *y)
{
    int64_t a = ((const struct hit *)x)->pid, b = ((const struct hit *)y)->pid;
    return (a > b) - (a < b);
}

/* The latest result and the recent count of h's person into h->x. */
static err latest_of(db *d, struct pool *pool, const struct hit *h, int64_t since,
                     uint32_t *last_inst)
{
    struct ent *x = h->x;
    db_stmt *s;
    /* the latest: one step back from the end of the person's range of
     * test_results_person, one table row read */
    err e = db_prepare(d,
                       "SELECT result, sampled_at, reported_at, institution FROM "
                       "test_results WHERE person_id = ? ORDER BY sampled_at DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, h->pid);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        const char *res = db_col_text(s, 0);
        x->result = !strcmp(res, "negative")   ? RES_NEGATIVE
                    : !strcmp(res, "positive") ? RES_POSITIVE
                                               : RES_OTHER;
        x->sampled_at = db_col_int64(s, 1);
        x->reported_at = db_col_int64(s, 2);
        const char *in = db_col_text(s, 3);
        size_t len = strlen(in);
        /* most results name one of a few laboratories: the last one kept is reused */
        if (*last_inst && !strcmp(pool->p + *last_inst, in))
            x->inst = *last_inst;
        else if ((x->inst = *last_inst = pool_add(pool, in, len)) == UINT32_MAX)
            e = E_NOMEM;
    }
    db_done(s);
    if (e || !row || x->sampled_at < since)
        return e;
    /* the 3-day count from the index alone (no table rows read) */
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM test_results WHERE person_id = ? AND "
                        "sampled_at >= ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, h->pid);
    db_bind_int64(s, 2, since);
    if (!(e = db_row(s, &row)) && row) {
        int64_t n = db_col_int64(s, 0);
        x->recent = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
    }
    db_done(s);
    return e;
}

/* The person of h in scope: its name (masked unless reveal) into h->x,
 * found; outside sc it stays not found (as the first pass could not tell:
 * the identity index holds no region). */
static err person_of(db *d, arena *a, struct pool *pool, const struct hit *h,
                     const struct scope *sc, bool reveal, bool *found_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT name_enc, region_code FROM persons WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, h->pid);
    bool row;
    *found_r = false;
    if (!(e = db_row(s, &row)) && row && scope_has(sc, db_col_int64(s, 1))) {
        size_t cn;
        const void *ct = db_col_blob(s, 0, &cn);
        char name[256];
        size_t len = 0;
        if (cn >= SEAL_OVERHEAD && cn - SEAL_OVERHEAD < sizeof name)
            e = unseal_buf(L_NAME, ct, cn, name, &len);
        else
            e = err_set(E_CRYPTO, NULL, NULL, "name of person %lld", (long long)h->pid);
        if (!e) {
            const char *shown = reveal ? name : mask_name(a, name);
            if ((h->x->name = pool_add(pool, shown, strlen(shown))) == UINT32_MAX)
                e = E_NOMEM;
        }
        h->x->state = ENT_FOUND;
        *found_r = true;
    }
    db_done(s);
    return e;
}

/* Progress between reads: written outside the read-only transaction, which
 * resumes after it. */
static err report(struct range *r, size_t done)
{
    if (db_in_tx(r->d))
        db_rollback(r->d);
    r->progress(r->pctx, done, r->total);
    return db_begin_read(r->d);
}

/*
 * Two passes over ord[0..m): the people's ids by blind index (ord's order,
 * the identity index alone, walked forward), then in person-id order their
 * rows and their results (the table and the results' index walked forward):
 * the same reads in blind-index order fell on their pages at random (the
 * look-up phase took 1.7 times as long).
 */
static err look_up_range(struct range *r)
{
    db *d = r->d;
    struct pool *pool = r->pool;
    struct ent **ord = r->ord;
    size_t m = r->m, parts = r->parts, nh = 0;
    uint32_t last_inst = 0;
    /* the worker's job: masked names, reset every 1,024 people */
    arena *a = arena_new(0);
    struct hit *hits = malloc((m ? m : 1) * sizeof *hits);
    err e = a && hits ? db_begin_read(d) : E_NOMEM; /* SQLite: no lock per statement */
    for (size_t k = 0; !e && k < m; k++) {
        struct ent *x = ord[k];
        if (k && !memcmp(x->bidx, ord[k - 1]->bidx, BLIND_LEN))
            continue; /* the same id twice: copied from the first at the end */
        if (r->progress && k && !(k % PROGRESS_EVERY) && (e = report(r, k * parts / 2)))
            break;
        /* during a key rotation a person not re-indexed yet holds the
         * previous version's index: a second look-up for the ones missed */
        uint8_t prev[BLIND_MAX][BLIND_LEN];
        char idn[NAT_ID_NORMAL];
        bool row = false;
        for (int v = 0; !e && !row && v < 2; v++) {
            const uint8_t *key = x->bidx;
            if (v == 1 && !(blind_rotating() && x->shown &&
                            nat_lookup_id_check(pool->p + x->shown, idn) == NAT_ID_OK &&
                            blind_search(L_ID, idn, prev) > 1))
                break;
            if (v == 1)
                key = prev[1];
            db_stmt *s;
            if ((e = db_prepare(d,
                                "SELECT id FROM persons WHERE id_number_bidx = ? AND id_type = ? "
                                "AND deleted_at = 0",
                                &s)))
                break;
            db_bind_blob(s, 1, key, BLIND_LEN);
            db_bind_int64(s, 2, ID_RESIDENT);
            if (!(e = db_row(s, &row)) && row)
                hits[nh++] = (struct hit){db_col_int64(s, 0), x};
            db_done(s);
        }
    }
    qsort(hits, nh, sizeof *hits, by_pid);
    for (size_t i = 0; !e && i < nh; i++) {
        if (r->progress && i && !(i % PROGRESS_EVERY) &&
            (e = report(r, (m + i * m / nh) * parts / 2)))
            break;
        if ((i & 1023) == 0)
            arena_reset(a);
        bool found;
        if (!(e = person_of(d, a, pool, &hits[i], r->sc, r->reveal, &found)) && found)
            e = latest_of(d, pool, &hits[i], r->since, &last_inst);
    }
    for (size_t k = 1; !e && k < m; k++) /* the repeated ids */
        if (!memcmp(ord[k]->bidx, ord[k - 1]->bidx, BLIND_LEN)) {
            struct ent *x = ord[k], *p = ord[k - 1];
            x->state = p->state;
            x->name = p->name;
            x->result = p->result;
            x->sampled_at = p->sampled_at;
            x->reported_at = p->reported_at;
            x->inst = p->inst;
            x->recent = p->recent;
        }
    if (db_in_tx(d))
        db_rollback(d); /* read only */
    free(hits);
    arena_free(&a);
    return e;
}

static void *range_main(void *arg)
{
    struct range *r = arg;
    r->e = look_up_range(r);
    return NULL;
}

static char lookup_db_url[1024]; /* the worker's: a second connection for a second range */

/* At least this many ids before a second range is worth its connection. */
#define SPLIT_MIN 50000

static err look_up(db *d, struct run *st, const struct scope *sc, bool reveal, int64_t now,
                   progress_fn progress, void *pctx)
{
    size_t m = 0;
    for (size_t i = 0; i < st->n; i++)
        m += st->e[i].state == ENT_NOT_FOUND;
    struct ent **ord = malloc((m ? m : 1) * sizeof *ord);
    if (!ord)
        return E_NOMEM;
    m = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->e[i].state == ENT_NOT_FOUND)
            ord[m++] = &st->e[i];
    qsort(ord, m, sizeof *ord, by_bidx);
    struct range r1 = {d,        &st->pool, ord, m,     sc,  reveal, nat_recent_since(now),
                       progress, pctx,      1,   st->n, E_OK};
    /* two ranges on two connections, side by side, when the worker can open
     * one and the batch is large: the ids are independent; a repeated id
     * never straddles the split (its copy reads the entry before it) */
    size_t half = m / 2;
    while (half && half < m && !memcmp(ord[half]->bidx, ord[half - 1]->bidx, BLIND_LEN))
        half++;
    db *d2 = NULL;
    struct pool pool2 = {0};
    if (m >= SPLIT_MIN && half < m && lookup_db_url[0] && !db_open(lookup_db_url, &d2)) {
        if ((pool2.p = malloc(pool2.cap = 1 << 20))) {
            pool2.p[0] = '\0';
            pool2.n = 1;
        }
    }
    err_clear();
    pthread_t t;
    bool split = d2 && pool2.p;
    struct range r2 = r1;
    if (split) {
        r1.m = half;
        r1.parts = 2;
        r2 = (struct range){d2,       &pool2, ord + half, m - half, sc,    reveal,
                            r1.since, NULL,   NULL,       2,        st->n, E_OK};
        split = !pthread_create(&t, NULL, range_main, &r2);
        if (!split)
            r1.m = m;
    }
    err e = look_up_range(&r1);
    if (split) {
        pthread_join(t, NULL);
        if (!e)
            e = r2.e;
        /* the second range's texts join the pool: its offsets move by the base */
        size_t base = st->pool.n - 1;
        if (!e && pool_add(&st->pool, pool2.p + 1, pool2.n > 1 ? pool2.n - 2 : 0) == UINT32_MAX &&
            pool2.n > 1)
            e = E_NOMEM;
        for (size_t k = half; !e && k < m; k++) {
            if (ord[k]->name)
                ord[k]->name += (uint32_t)base;
            if (ord[k]->inst)
                ord[k]->inst += (uint32_t)base;
        }
    }
    free(pool2.p);
    if (d2)
        db_close(&d2);
    free(ord);
    return e;
}

/* ---- the workbooks ------------------------------------------------------------------------- */

static const char *pool_str(const struct run *st, uint32_t off)
{
    return off ? st->pool.p + off : "";
}

static err write_books(const struct run *st, const char *dir, int64_t id,
                       struct nat_batch_counts *c)
{
    char path[3][600], tmp[3][610];
    for (int i = 0; i < 3; i++) {
        nat_batch_path(dir, id, (enum nat_batch_file)i, path[i]);
        snprintf(tmp[i], sizeof tmp[i], "%.599s.tmp", path[i]);
    }
    struct xlsx_write_opts o = {.constant_memory = true, .tmpdir = dir, .fast_rows = true};
    xlsx_writer *w[3] = {NULL, NULL, NULL};
    err e = E_OK;
    for (int i = 0; i < 3 && !e; i++)
        e = xlsx_writer_open(tmp[i], &o, &w[i]);
    /* the upload's order, so no row number: 7 cells a row, the fewer the faster */
    static const char *const head[] = {"身份证号", "姓名",     "检测结果",       "采样时间",
                                       "报告时间", "检测机构", "近3天的核查次数"};
    static const char *const head_nf[] = {"行号", "身份证号"};
    static const char *const head_bad[] = {"行号", "身份证号", "错误"};
    if (!e && !(e = xlsx_sheet_add(w[NAT_FILE_RESULT], "查询结果"))) {
        xlsx_row_header(w[0], head, 7);
        xlsx_col_width(w[0], 0, 22);
        xlsx_col_width(w[0], 3, 20);
        xlsx_col_width(w[0], 4, 20);
        xlsx_col_width(w[0], 5, 24);
        xlsx_col_width(w[0], 6, 14);
    }
    if (!e && !(e = xlsx_sheet_add(w[NAT_FILE_NOT_FOUND], "未查询到"))) {
        xlsx_row_header(w[1], head_nf, 2);
        xlsx_col_width(w[1], 1, 22);
    }
    if (!e && !(e = xlsx_sheet_add(w[NAT_FILE_MALFORMED], "格式错误"))) {
        xlsx_row_header(w[2], head_bad, 3);
        xlsx_col_width(w[2], 1, 22);
        xlsx_col_width(w[2], 2, 30);
    }
    memset(c, 0, sizeof *c);
    for (size_t i = 0; !e && i < st->n; i++) {
        const struct ent *x = &st->e[i];
        const char *shown = pool_str(st, x->shown);
        xlsx_cell_text(w[0], shown);
        switch (x->state) {
        case ENT_FOUND:
            c->found++;
            xlsx_cell_text(w[0], pool_str(st, x->name));
            if (x->result == RES_NONE) {
                xlsx_cell_text(w[0], "无检测记录");
                xlsx_cell_empty(w[0]);
                xlsx_cell_empty(w[0]);
                xlsx_cell_empty(w[0]);
            } else {
                xlsx_cell_text(w[0], x->result == RES_NEGATIVE   ? "阴性"
                                     : x->result == RES_POSITIVE ? "阳性"
                                                                 : "其他");
                xlsx_cell_datetime(w[0], x->sampled_at);
                xlsx_cell_datetime(w[0], x->reported_at);
                xlsx_cell_text(w[0], pool_str(st, x->inst));
            }
            xlsx_cell_int(w[0], x->recent);
            break;
        case ENT_NOT_FOUND:
            c->not_found++;
            xlsx_cell_empty(w[0]);
            xlsx_cell_text(w[0], "未查到");
            xlsx_cell_int(w[1], x->row);
            xlsx_cell_text(w[1], shown);
            xlsx_row_end(w[1]);
            break;
        default:
            c->malformed++;
            xlsx_cell_empty(w[0]);
            xlsx_cell_text(w[0], "格式错误");
            xlsx_cell_int(w[2], x->row);
            xlsx_cell_text(w[2], shown);
            xlsx_cell_text(w[2], x->state == ENT_EMPTY ? "身份证号码为空"
                                                       : "身份证号码格式或校验位不正确");
            xlsx_row_end(w[2]);
            break;
        }
        xlsx_row_end(w[0]);
    }
    for (int i = 0; i < 3; i++) {
        if (!w[i])
            continue;
        err e2 = xlsx_close(&w[i]);
        if (!e)
            e = e2;
    }
    for (int i = 0; i < 3; i++) {
        if (!e && rename(tmp[i], path[i]))
            e = err_set(E_IO, NULL, NULL, "rename %s: %s", tmp[i], strerror(errno));
        if (e)
            unlink(tmp[i]);
    }
    return e;
}

/* ---- a run --------------------------------------------------------------------------------- */

void nat_batch_path(const char *dir, int64_t id, enum nat_batch_file f, char out[600])
{
    static const char *const suffix[] = {"result.xlsx", "not-found.xlsx", "malformed.xlsx",
                                         "upload"};
    snprintf(out, 600, "%s/%lld-%s", dir, (long long)id, suffix[f]);
}

err nat_batch_run_file(db *d, const char *dir, int64_t id, const struct scope *sc, bool xlsx,
                       bool reveal, int64_t now,
                       void (*progress)(void *ctx, size_t done, size_t total), void *pctx,
                       struct nat_batch_counts *c_r, struct nat_batch_timing *t_r)
{
    struct run st = {.col = -1};
    struct nat_batch_timing t = {0};
    char src[600];
    nat_batch_path(dir, id, NAT_FILE_UPLOAD, src);
    int64_t t0 = now_ms();
    err e = E_OK;
    void *data = NULL;
    size_t n = 0;
    FILE *f = fopen(src, "rb");
    if (!f)
        e = err_set(E_IO, NULL, NULL, "open %s: %s", src, strerror(errno));
    struct stat sb;
    if (!e && fstat(fileno(f), &sb))
        e = err_set(E_IO, NULL, NULL, "stat %s", src);
    if (!e) {
        n = (size_t)sb.st_size;
        if (!(data = malloc(n ? n : 1)))
            e = E_NOMEM;
        else if (n && fread(data, 1, n, f) != n)
            e = err_set(E_IO, NULL, NULL, "read %s", src);
    }
    if (f)
        fclose(f);
    if (!e && !(st.pool.p = malloc(st.pool.cap = 1 << 20)))
        e = E_NOMEM;
    /* at the cap from the start (untouched pages cost nothing), so the
     * hasher's entries never move */
    st.cap = NAT_LOOKUP_MAX_ROWS + 1;
    if (!e && !(st.e = malloc(st.cap * sizeof *st.e)))
        e = E_NOMEM;
    struct hasher h = {.e = st.e};
    if (!e && !pthread_mutex_init(&h.mu, NULL)) {
        if (pthread_cond_init(&h.cv, NULL))
            pthread_mutex_destroy(&h.mu);
        else if (!(h.running = !pthread_create(&h.t, NULL, hash_main, &h))) {
            pthread_cond_destroy(&h.cv);
            pthread_mutex_destroy(&h.mu);
        }
    }
    st.h = h.running ? &h : NULL; /* no thread: each id hashed as it is read */
    if (!e) {
        st.pool.p[0] = '\0';
        st.pool.n = 1;
        e = read_source(&st, data, n, xlsx);
    }
    if (h.running) {
        hash_publish(&h, st.n, true);
        pthread_join(h.t, NULL);
        pthread_cond_destroy(&h.cv);
        pthread_mutex_destroy(&h.mu);
    }
    free(data);
    int64_t t1 = now_ms();
    if (!e && !st.n)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有身份证号码");
    if (!e && progress)
        progress(pctx, 0, st.n); /* the rows are known: the bar can start */
    if (!e)
        e = look_up(d, &st, sc, reveal, now, progress, pctx);
    int64_t t2 = now_ms();
    struct nat_batch_counts c = {0};
    if (!e)
        e = write_books(&st, dir, id, &c);
    int64_t t3 = now_ms();
    t.read_ms = t1 - t0;
    t.lookup_ms = t2 - t1;
    t.write_ms = t3 - t2;
    c.rows = (int64_t)st.n;
    free(st.e);
    free(st.pool.p);
    if (e)
        return e;
    *c_r = c;
    if (t_r)
        *t_r = t;
    return E_OK;
}

/* ---- batch records ------------------------------------------------------------------------- */

static char batch_dir[512];

void nat_lookup_configure(const char *data_dir)
{
    snprintf(batch_dir, sizeof batch_dir, "%s/exports/nat-lookup", data_dir);
}

const char *nat_lookup_dir(void)
{
    return batch_dir;
}

static err dir_ready(void)
{
    if (!batch_dir[0])
        return err_set(E_INTERNAL, NULL, NULL, "nat_lookup_configure was not called");
    char parent[512];
    snprintf(parent, sizeof parent, "%s", batch_dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    if ((mkdir(parent, 0700) && errno != EEXIST) || (mkdir(batch_dir, 0700) && errno != EEXIST))
        return err_set(E_IO, NULL, NULL, "mkdir %s: %s", batch_dir, strerror(errno));
    return E_OK;
}

err nat_batch_create(db *d, const struct principal *who, const char *file_name, bool xlsx,
                     bool reveal, const void *data, size_t n, int64_t *id_r)
{
    err e = dir_ready();
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    char path[600];
    nat_batch_path(batch_dir, id, NAT_FILE_UPLOAD, path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return err_set(E_IO, NULL, NULL, "open %s: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, n, f) == n;
    if (fclose(f) || !ok) {
        unlink(path);
        return err_set(E_IO, NULL, NULL, "write %s", path);
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO nat_batches (id, region_code, user_id, file_name, format, "
                        "reveal, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
                        "'queued', ?, ?)",
                        &s))) {
        unlink(path);
        return e;
    }
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->region_code);
    db_bind_int64(s, 3, who->user_id);
    db_bind_text(s, 4, file_name);
    db_bind_text(s, 5, xlsx ? "xlsx" : "csv");
    db_bind_int64(s, 6, reveal);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, now);
    if ((e = db_run(s, NULL))) {
        unlink(path);
        return e;
    }
    *id_r = id;
    return E_OK;
}

#define BATCH_COLS                                                                                 \
    "b.id, b.region_code, b.user_id, COALESCE(u.display_name, ''), b.file_name, b.format, "        \
    "b.reveal, b.state, b.rows_total, b.done, b.found, b.not_found, b.malformed, b.runs, "         \
    "b.elapsed_ms, b.error, b.created_at, b.updated_at, COALESCE(u.username, ''), "                \
    "COALESCE(g.name, '') FROM nat_batches b LEFT JOIN users u ON u.id = b.user_id "               \
    "LEFT JOIN regions g ON g.code = b.region_code "

static void batch_read(db_stmt *s, arena *a, struct nat_batch *b)
{
    b->id = db_col_int64(s, 0);
    b->region_code = db_col_int64(s, 1);
    b->user_id = db_col_int64(s, 2);
    const char *dn = db_col_text(s, 3);
    b->user_name = arena_strdup(a, *dn ? dn : db_col_text(s, 18));
    b->file_name = arena_strdup(a, db_col_text(s, 4));
    b->format = arena_strdup(a, db_col_text(s, 5));
    b->reveal = db_col_int64(s, 6) != 0;
    b->state = arena_strdup(a, db_col_text(s, 7));
    b->rows = db_col_int64(s, 8);
    b->done = db_col_int64(s, 9);
    b->found = db_col_int64(s, 10);
    b->not_found = db_col_int64(s, 11);
    b->malformed = db_col_int64(s, 12);
    b->runs = db_col_int64(s, 13);
    b->elapsed_ms = db_col_int64(s, 14);
    b->error = arena_strdup(a, db_col_text(s, 15));
    b->created_at = db_col_int64(s, 16);
    b->updated_at = db_col_int64(s, 17);
    b->region_name = arena_strdup(a, db_col_text(s, 19));
}

/* batch_read as query_page reads a list's row. */
static err batch_read_item(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    batch_read(s, a, item);
    return E_OK;
}

err nat_batch_find(db *d, arena *a, const struct scope *sc, int64_t id, struct nat_batch *b_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " BATCH_COLS "WHERE b.id = ? AND b.region_code >= ? AND b.region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        batch_read(s, a, b_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "批量查询不存在");
    return e;
}

err nat_batch_list(db *d, arena *a, const struct scope *sc, int64_t page, int64_t page_size,
                   struct nat_batch **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE b.region_code >= ? AND b.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_batches b",
                                            .select = "SELECT " BATCH_COLS,
                                            .order = " ORDER BY b.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = 0, /* pages only, never an export */
                                            .size = sizeof(struct nat_batch),
                                            .read = batch_read_item},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* The batch in sc, refused while queued or running. */
static err batch_idle(db *d, arena *a, const struct scope *sc, int64_t id)
{
    struct nat_batch b;
    err e = nat_batch_find(d, a, sc, id, &b);
    if (!e && (!strcmp(b.state, "queued") || !strcmp(b.state, "running")))
        e = err_set(E_CONFLICT, "job_not_done", NULL, "批量查询正在进行，请等待完成");
    return e;
}

err nat_batch_requeue(db *d, arena *a, const struct scope *sc, int64_t id)
{
    err e = batch_idle(d, a, sc, id);
    db_stmt *s;
    if (!e)
        e = db_prepare(d,
                       "UPDATE nat_batches SET state = 'queued', done = 0, error = '', "
                       "updated_at = ? WHERE id = ? AND state IN ('done', 'failed')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    int64_t changed = 0;
    if (!(e = db_run(s, &changed)) && !changed)
        e = err_set(E_CONFLICT, "job_not_done", NULL, "批量查询正在进行，请等待完成");
    return e;
}

err nat_batch_delete(db *d, arena *a, const struct scope *sc, int64_t id)
{
    err e = batch_idle(d, a, sc, id);
    db_stmt *s;
    if (!e)
        e = db_prepare(d, "DELETE FROM nat_batches WHERE id = ? AND state IN ('done', 'failed')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    int64_t changed = 0;
    if (!(e = db_run(s, &changed)) && !changed)
        return err_set(E_CONFLICT, "job_not_done", NULL, "批量查询正在进行，请等待完成");
    if (e || (e = export_store_delete(d, id)))
        return e;
    for (int f = NAT_FILE_RESULT; f <= NAT_FILE_UPLOAD; f++) {
        char path[600];
        nat_batch_path(batch_dir, id, (enum nat_batch_file)f, path);
        unlink(path);
    }
    return E_OK;
}

/* ---- the worker ---------------------------------------------------------------------------- */

struct batch_job {
    int64_t id;
    struct principal who;
    char ip[64];
};

struct progress_ctx {
    db *d;
    int64_t id;
};

static void on_progress(void *ctx, size_t done, size_t total)
{
    struct progress_ctx *p = ctx;
    db_stmt *s;
    if (db_prepare(p->d,
                   "UPDATE nat_batches SET done = ?, rows_total = ?, updated_at = ? WHERE id = ?",
                   &s)) {
        err_clear();
        return;
    }
    db_bind_int64(s, 1, (int64_t)done);
    db_bind_int64(s, 2, (int64_t)total);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, p->id);
    if (db_run(s, NULL))
        err_clear(); /* progress is a hint: the run goes on */
}

static err set_state(db *d, int64_t id, const char *state, const struct nat_batch_counts *c,
                     int64_t elapsed, const char *error)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE nat_batches SET state = ?, rows_total = ?, done = ?, found = ?, "
                       "not_found = ?, malformed = ?, elapsed_ms = ?, error = ?, updated_at = ?, "
                       "runs = runs + ? WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, state);
    db_bind_int64(s, 2, c->rows);
    db_bind_int64(s, 3, c->rows);
    db_bind_int64(s, 4, c->found);
    db_bind_int64(s, 5, c->not_found);
    db_bind_int64(s, 6, c->malformed);
    db_bind_int64(s, 7, elapsed);
    db_bind_text(s, 8, error);
    db_bind_int64(s, 9, now_ms());
    db_bind_int64(s, 10, strcmp(state, "running") ? 1 : 0);
    db_bind_int64(s, 11, id);
    return db_run(s, NULL);
}

static void run_job(db *d, const struct batch_job *j)
{
    /* the worker's job: no request */
    arena *a = arena_new(0);
    struct nat_batch b;
    struct nat_batch_counts c = {0};
    err e = a ? nat_batch_find(d, a, &j->who.scope, j->id, &b) : E_NOMEM;
    if (e) { /* deleted while queued */
        err_clear();
        arena_free(&a);
        return;
    }
    int64_t t0 = now_ms();
    struct nat_batch_timing t = {0};
    c.rows = b.rows;
    e = set_state(d, j->id, "running", &c, 0, "");
    struct progress_ctx pc = {d, j->id};
    struct scope sc = scope_of(b.region_code);
    /* a re-run asked of a server that did not take the upload: its bytes
     * from the database (stored by the first run, below) */
    char upload[600];
    nat_batch_path(batch_dir, j->id, NAT_FILE_UPLOAD, upload);
    if (!e && access(upload, F_OK) && errno == ENOENT)
        e = export_store_get(d, j->id, NAT_FILE_UPLOAD, upload);
    if (!e)
        e = nat_batch_run_file(d, batch_dir, j->id, &sc, !strcmp(b.format, "xlsx"), b.reveal, t0,
                               on_progress, &pc, &c, &t);
    /* the workbooks (and the upload, for a re-run elsewhere) into the
     * database, so any server serves their download (job/export_store.h);
     * they stay as long as the batch */
    for (int f = NAT_FILE_RESULT; !e && f <= NAT_FILE_UPLOAD; f++) {
        char path[600];
        nat_batch_path(batch_dir, j->id, (enum nat_batch_file)f, path);
        e = export_store_put(d, j->id, f, path, INT64_MAX);
    }
    int64_t elapsed = now_ms() - t0;
    const char *msg = "";
    if (e) {
        const struct err_detail *ed = err_last();
        msg = e == E_INPUT && ed->message[0] ? arena_strdup(a, ed->message) : "查询失败，请重试";
        char sid[24];
        snprintf(sid, sizeof sid, "%lld", (long long)j->id);
        log_event(LOG_WARN, "nat_lookup_failed", "batch", sid, "code", err_slug(e), NULL);
    } else {
        char sid[24], rows[24], tr[24], tl[24], tw[24];
        snprintf(sid, sizeof sid, "%lld", (long long)j->id);
        snprintf(rows, sizeof rows, "%lld", (long long)c.rows);
        snprintf(tr, sizeof tr, "%lld", (long long)t.read_ms);
        snprintf(tl, sizeof tl, "%lld", (long long)t.lookup_ms);
        snprintf(tw, sizeof tw, "%lld", (long long)t.write_ms);
        log_event(LOG_INFO, "nat_lookup_timing", "batch", sid, "rows", rows, "read_ms", tr,
                  "lookup_ms", tl, "write_ms", tw, NULL);
    }
    err es = set_state(d, j->id, e ? "failed" : "done", &c, elapsed, msg);
    char detail[200];
    snprintf(detail, sizeof detail, "rows=%lld found=%lld not_found=%lld malformed=%lld ms=%lld%s",
             (long long)c.rows, (long long)c.found, (long long)c.not_found, (long long)c.malformed,
             (long long)elapsed, b.reveal ? " reveal" : "");
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = j->ip,
                             .action =
                                 b.reveal ? "nat.lookup.batch_run_reveal" : "nat.lookup.batch_run",
                             .object_type = "nat_batch",
                             .object_id = j->id,
                             .result = e ? err_slug(e) : "ok",
                             .detail = detail};
    err ea = audit_log(d, &ae);
    if (ea || es) { /* the files of an unaudited run are withheld */
        log_event(LOG_WARN, "nat_lookup_unaudited", NULL);
        for (int f = NAT_FILE_RESULT; f < NAT_FILE_UPLOAD; f++) {
            char path[600];
            nat_batch_path(batch_dir, j->id, (enum nat_batch_file)f, path);
            unlink(path);
        }
        err_ignore(export_store_delete(d, j->id));
        err_ignore(set_state(d, j->id, "failed", &c, elapsed, "审计记录写入失败"));
    }
    err_clear();
    arena_free(&a);
}

static struct job_worker *worker;

static void task_run(db *d, void *arg)
{
    run_job(d, arg);
}

/* The worker's connection: runs a stopped server left behind can neither
 * finish nor be re-run while they read queued or running: they failed, and
 * say why. (A batch reads millions of index and table pages at random: every
 * SQLite connection maps the file's first 2 GiB, db/sqlite.c.) */
static err worker_setup(db *d)
{
    db_stmt *s;
    err e;
    if ((e = db_prepare(d,
                        "UPDATE nat_batches SET state = 'failed', error = ?, updated_at = ? "
                        "WHERE state IN ('queued', 'running')",
                        &s)))
        return e;
    db_bind_text(s, 1, "服务重启，查询中断，请重新查询");
    db_bind_int64(s, 2, now_ms());
    return db_run(s, NULL);
}

err nat_lookup_start(const char *db_url)
{
    err e = dir_ready();
    if (e)
        return e;
    snprintf(lookup_db_url, sizeof lookup_db_url, "%s", db_url);
    /* a batch still queued at stop is dropped: the next start marks it failed */
    static const struct job_worker_opts o = {
        .name = "fk-natlookup", .queue_max = 16, .setup = worker_setup};
    return job_worker_start(&o, db_url, &worker);
}

void nat_lookup_stop(void)
{
    job_worker_stop(&worker);
}

err nat_batch_submit(db *d, int64_t id, const struct principal *who, const char *ip)
{
    struct batch_job *j = calloc(1, sizeof *j);
    if (!j)
        return E_NOMEM;
    j->id = id;
    j->who = *who;
    snprintf(j->ip, sizeof j->ip, "%s", ip ? ip : "");
    if (job_worker_submit(worker, d, task_run, free, j) == E_UNAVAILABLE) {
        run_job(d, j); /* a full queue: here, as with no worker */
        free(j);
    }
    return E_OK;
}
