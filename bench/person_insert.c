/*
 * How fast the demo generator and imports can load people: rows per second
 * of person_insert_prepared (seal 7 fields, 3 blind indexes, ~5 name-token
 * rows each) inside one transaction on SQLite, against a reference measured
 * in the same run: the same rows INSERTed into the same tables as plain
 * bytes, with no encryption and one token row per name. The ratio is the
 * price of keeping personal data sealed and names searchable.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/person_insert.c build/libfk.a \
 *      $(pkg-config --libs libevent_pthreads libevent jansson sqlite3 libpq libcrypto \
 *      liboath libqrencode) -largon2 -lpthread -lm -o build/bench_person_insert
 *   build/bench_person_insert [ROWS]          (default 200000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "db/db.h"
#include "person/person.h"
#include "security/crypto.h"

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "欧阳"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳"};

struct row {
    char name[32], id[24], phone[16], addr[128];
    struct person p;
};

static void make_row(long i, struct row *r)
{
    snprintf(r->name, sizeof r->name, "%s%s%s", surnames[i % 9], given[i % 10],
             i % 3 ? given[(i / 10) % 10] : "");
    /* mixed radix: every i below 20,160,000 gets its own number */
    int d = 1 + (int)(i % 28), m = 1 + (int)(i / 28 % 12), y = 1950 + (int)(i / 336 % 60);
    snprintf(r->id, sizeof r->id, "110101%04d%02d%02d%03d", y, m, d, (int)((i / 20160) % 1000));
    r->id[17] = resident_id_check_char(r->id);
    r->id[18] = '\0';
    snprintf(r->phone, sizeof r->phone, "138%08ld", i % 100000000);
    snprintf(r->addr, sizeof r->addr, "北京市东城区多福巷%ld号楼%ld单元%ld室", i % 50, i % 6,
             i % 1000);
    r->p = (struct person){
        .region_code = 110101001001000000LL,
        .id_type = ID_RESIDENT,
        .id_number = r->id,
        .name = r->name,
        .gender = GENDER_MALE,
        .birth_date = y * 10000 + m * 100 + d,
        .category = PERSON_RESIDENT,
        .address = r->addr,
        .phone = r->phone,
        .emergency_contact_name = r->name,
        .emergency_contact_phone = r->phone,
        .status = PERSON_NORMAL,
        .source = "import",
    };
}

static err run_sealed(db *d, long rows, int64_t base)
{
    struct row r;
    err e = db_begin(d);
    for (long i = 0; !e && i < rows; i++) {
        make_row(i, &r);
        e = person_insert_prepared(d, &r.p, base + i, 1);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static err step(db_stmt *s)
{
    int rc = db_step(s);
    err e = rc == DB_DONE ? E_OK : db_step_err(s);
    db_done(s);
    return e;
}

/* The reference: the same rows, values as plain bytes, one token row. */
static err run_plain(db *d, long rows, int64_t base)
{
    struct row r;
    err e = db_begin(d);
    for (long i = 0; !e && i < rows; i++) {
        make_row(i, &r);
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO persons (id, region_code, id_type, id_number_enc, "
                            "id_number_bidx, name_enc, name_bidx, phone_enc, phone_bidx, gender, "
                            "birth_date, category, address_enc, emergency_name_enc, "
                            "emergency_phone_enc, status, source, created_at, updated_at) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)",
                            &s)))
            break;
        int k = 1;
        db_bind_int64(s, k++, base + i);
        db_bind_int64(s, k++, r.p.region_code);
        db_bind_int64(s, k++, r.p.id_type);
        db_bind_blob(s, k++, r.id, strlen(r.id));
        db_bind_blob(s, k++, r.id, strlen(r.id));
        db_bind_blob(s, k++, r.name, strlen(r.name));
        db_bind_blob(s, k++, r.name, strlen(r.name));
        db_bind_blob(s, k++, r.phone, strlen(r.phone));
        db_bind_blob(s, k++, r.phone, 11);
        db_bind_int64(s, k++, r.p.gender);
        db_bind_int64(s, k++, r.p.birth_date);
        db_bind_text(s, k++, "resident");
        db_bind_blob(s, k++, r.addr, strlen(r.addr));
        db_bind_blob(s, k++, r.name, strlen(r.name));
        db_bind_blob(s, k++, r.phone, strlen(r.phone));
        db_bind_text(s, k++, "normal");
        db_bind_text(s, k++, "import");
        if ((e = step(s)))
            break;
        if ((e = db_prepare(d, "INSERT INTO person_name_tokens (token, person_id) VALUES (?, ?)",
                            &s)))
            break;
        db_bind_blob(s, 1, r.name, strlen(r.name));
        db_bind_int64(s, 2, base + i);
        e = step(s);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static double timed(err (*fn)(db *, long, int64_t), const char *dir, const char *tag, long rows)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.db", dir, tag);
    db *d;
    if (db_open(path, &d) || db_migrate(d)) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        exit(1);
    }
    uint64_t t0 = mono_us();
    err e = fn(d, rows, 1000);
    uint64_t us = mono_us() - t0;
    db_close(&d);
    if (e) {
        fprintf(stderr, "bench: %s failed: %s\n", tag, err_last()->message);
        exit(1);
    }
    return (double)rows / ((double)us / 1e6);
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    if (rows <= 0 || rows > 20160000) {
        fprintf(stderr, "usage: %s [ROWS (1..20160000)]\n", argv[0]);
        return 2;
    }
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 7 + 1);
    keys_set_master(master);
    char dir[] = "/tmp/fk-bench.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    double plain = timed(run_plain, dir, "plain", rows);
    double sealed = timed(run_sealed, dir, "sealed", rows);
    printf("person_insert_prepared: %ld rows in one transaction (SQLite)\n", rows);
    printf("  sealed + blind indexes + name tokens: %8.0f rows/s\n", sealed);
    printf("  reference, plain bytes, one token:    %8.0f rows/s\n", plain);
    printf("  ratio sealed/plain: %.2f\n", sealed / plain);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
