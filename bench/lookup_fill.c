/*
 * The registry and the upload of the batch look-up bench (bench/lookup.sh):
 * PERSONS people written straight into the server's SQLite database as
 * person.c stores them where the look-up reads (id number and name sealed,
 * the id's keyed blind index), in one transaction; then the files:
 *
 *   ids.xlsx   ROWS id numbers under a 身份证号 header, in random order: 90%
 *              of the registry, 10% valid ids nobody has, one malformed row
 *              in 100,000 (the shared xlsx writer, constant memory)
 *   ids.csv    the same ids, one a line (the reference's input)
 *   ref.csv    every registry id number and its person id (the reference's
 *              plaintext index: what a system without sealing would join)
 *
 * Person ids are BASE + i; the results are written by SQL in bulk after.
 *
 *   build/bench_lookup_fill KEYFILE DB REGION PERSONS ROWS OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "db/db.h"
#include "security/crypto.h"

#define BASE 1000000000000LL

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "欧阳"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳"};

/* The i-th id number: every i below 20,160,000 its own (as person_insert.c);
 * `other` moves it to another address code nobody in the registry has. */
static void id_of(long i, bool other, char out[19])
{
    int d = 1 + (int)(i % 28), m = 1 + (int)(i / 28 % 12), y = 1950 + (int)(i / 336 % 60);
    snprintf(out, 19, "%s%04d%02d%02d%03d", other ? "659004" : "659001", y, m, d,
             (int)((i / 20160) % 1000));
    out[17] = resident_id_check_char(out);
    out[18] = '\0';
}

static int fail(const char *what)
{
    fprintf(stderr, "lookup_fill: %s: %s\n", what, err_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s KEYFILE DB REGION PERSONS ROWS OUTDIR\n", argv[0]);
        return 2;
    }
    long persons = strtol(argv[4], NULL, 10), rows = strtol(argv[5], NULL, 10);
    long long region = strtoll(argv[3], NULL, 10);
    const char *out = argv[6];
    if (persons <= 0 || persons > 20160000 || rows <= 0 || rows > 1048575)
        return 2;
    if (keys_load(argv[1]))
        return fail("keys");
    db *d;
    if (db_open(argv[2], &d))
        return fail("database");
    char path[600];
    snprintf(path, sizeof path, "%s/ref.csv", out);
    FILE *ref = fopen(path, "w");
    if (!ref)
        return 1;
    err e = db_begin(d);
    for (long i = 0; !e && i < persons; i++) {
        char idn[19], name[32];
        id_of(i, false, idn);
        snprintf(name, sizeof name, "%s%s%s", surnames[i % 9], given[i % 10],
                 i % 3 ? given[(i / 10) % 10] : "");
        uint8_t ib[BLIND_LEN], nb[BLIND_LEN], ic[64], nc[64];
        blind_index("persons.id_number", idn, ib);
        blind_index("persons.name", name, nb);
        if ((e = seal_buf("persons.id_number", idn, 18, ic)) ||
            (e = seal_buf("persons.name", name, strlen(name), nc)))
            break;
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO persons (id, region_code, id_type, id_number_enc, "
                            "id_number_bidx, name_enc, name_bidx, source, created_at, updated_at) "
                            "VALUES (?, ?, 1, ?, ?, ?, ?, 'import', 1, 1)",
                            &s)))
            break;
        db_bind_int64(s, 1, BASE + i);
        db_bind_int64(s, 2, region);
        db_bind_blob(s, 3, ic, 18 + SEAL_OVERHEAD);
        db_bind_blob(s, 4, ib, BLIND_LEN);
        db_bind_blob(s, 5, nc, strlen(name) + SEAL_OVERHEAD);
        db_bind_blob(s, 6, nb, BLIND_LEN);
        e = db_run(s, NULL);
        fprintf(ref, "%s,%lld\n", idn, BASE + i);
    }
    if (e) {
        db_rollback(d);
        return fail("insert");
    }
    if (db_commit(d))
        return fail("commit");
    db_close(&d);
    fclose(ref);

    /* the upload: a random order (an LCG over the rows) */
    snprintf(path, sizeof path, "%s/ids.xlsx", out);
    struct xlsx_write_opts o = {.constant_memory = true, .tmpdir = out};
    xlsx_writer *w;
    if (xlsx_writer_open(path, &o, &w))
        return fail("xlsx");
    snprintf(path, sizeof path, "%s/ids.csv", out);
    FILE *csv = fopen(path, "w");
    if (!csv)
        return 1;
    e = xlsx_sheet_add(w, "名单");
    static const char *const head[] = {"身份证号"};
    xlsx_row_header(w, head, 1);
    uint64_t x = 12345;
    for (long r = 0; r < rows; r++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        long i = (long)((x >> 33) % (uint64_t)persons);
        char idn[19];
        id_of(i, r % 10 == 9, idn);
        if (r % 100000 == 99999)
            idn[17] = idn[17] == '0' ? '1' : '0'; /* a wrong check character */
        xlsx_cell_text(w, idn);
        xlsx_row_end(w);
        fprintf(csv, "%s\n", idn);
    }
    fclose(csv);
    err e2 = xlsx_close(&w);
    if (e || e2)
        return fail("xlsx close");
    return 0;
}
