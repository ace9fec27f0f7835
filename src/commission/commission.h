/*
 * The health commission's data (卫健数据; issue 10 "Other data the seed
 * names", seed 004 二2(2), docs/commission.md): doctors (医生信息) and
 * epidemiological investigations (流调信息) received from the commission's
 * systems through batch ingest.
 *
 * Ingest: a batch of at most COMMISSION_BATCH_MAX records of one caller,
 * each identified by the caller's record_id. A record is stored with the
 * SM3 digest of what was sent: the same record again changes nothing
 * ("repeated"), a record whose content changed under the same id replaces
 * the stored one ("updated"), a new id is "created". Each record is
 * checked and written alone (a savepoint): a refused one writes nothing
 * and is reported with its index; only a database failure fails the batch.
 *
 * Personal data: names, identity numbers and phones are SM4-sealed, the
 * identity number and the phone with blind indexes as persons' are; an
 * investigation's exposure history, places and notes are sealed too.
 *
 * Linking: an investigation names its person by identity number; the
 * registry's person of that number (blind index, nothing decrypted) living
 * within the record's region is its person_id. None: kept with person_id
 * NULL, listed as unlinked, linked when the person is registered (or
 * moves into the record's region: commission_person_changed), by
 * commission_relink, or when the record is sent again changed.
 *
 * Scope: a record is in a caller's scope by its region_code (where the
 * record says the person lives or the doctor works).
 */
#ifndef FK_COMMISSION_COMMISSION_H
#define FK_COMMISSION_COMMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define COMMISSION_BATCH_MAX 10000
#define COMMISSION_TEXT_MAX  2000 /* exposure history, places, notes */

enum commission_class {
    COMMISSION_CONFIRMED = 1, /* 确诊病例 */
    COMMISSION_ASYMPTOMATIC,  /* 无症状感染者 */
    COMMISSION_SUSPECTED,     /* 疑似病例 */
    COMMISSION_CLOSE,         /* 密切接触者 */
    COMMISSION_SECONDARY,     /* 次密切接触者 */
    COMMISSION_OTHER,         /* 其他 */
    COMMISSION_CLASS__COUNT
};
extern const struct vocab commission_class_vocab;

enum commission_kind { COMMISSION_DOCTOR, COMMISSION_INVESTIGATION };

/* What a batch did; errors: [{index, record_id, code, field, message}]. */
struct commission_batch_result {
    int64_t created, updated, repeated, linked;
    json_t *errors;
};

/*
 * Apply records (JSON objects as sent) of kind k for caller `who` (its
 * scope bounds the records' regions; its user id is the client) inside
 * the caller's transaction. Every refused record is appended to
 * r->errors. E_NOMEM or a database error fails the whole.
 */
err commission_batch(db *d, arena *a, const struct principal *who, enum commission_kind k,
                     json_t *records, struct commission_batch_result *r) MUST_USE;

/* Link every unlinked investigation in sc whose person is now registered;
 * *linked_r how many were. */
err commission_relink(db *d, const struct scope *sc, int64_t *linked_r) MUST_USE;

/*
 * Link the unlinked investigations of person `person_id` (just registered,
 * or moved) inside the caller's transaction: the records of the person's
 * document whose region contains the person's residence. For the person
 * capability's change hook (app.c chains it after the health code's); one
 * indexed look-up when no investigation is unlinked, the common case.
 */
err commission_person_changed(db *d, arena *a, int64_t person_id, int64_t user_id) MUST_USE;

struct commission_doctor {
    int64_t id, region_code;
    const char *region_name, *record_id;
    const char *name, *id_number, *phone; /* unsealed */
    const char *institution, *department, *title, *licence_no;
    int64_t updated_at;
};

struct commission_investigation {
    int64_t id, region_code, person_id; /* person_id 0: unlinked */
    const char *region_name, *record_id;
    int id_type;
    const char *name, *id_number; /* unsealed */
    int64_t investigated_at;
    const char *investigator, *institution;
    int64_t onset_day;                     /* China day number, 0 none */
    const char *exposure, *places, *notes; /* unsealed, NULL none */
    int64_t close_contacts;
    enum commission_class classification;
    int64_t updated_at;
};

struct commission_filter {
    int64_t region_code;                  /* subtree within the scope; 0 the scope */
    int64_t person_id;                    /* investigations of one person; 0 any */
    int linked;                           /* investigations: -1 any, 0 unlinked, 1 linked */
    enum commission_class classification; /* 0 any */
    int64_t page, page_size;
};

/* Doctors in sc, by region then id. */
err commission_doctor_list(db *d, arena *a, const struct scope *sc,
                           const struct commission_filter *f, struct commission_doctor **items_r,
                           size_t *n_r, int64_t *total_r) MUST_USE;

/* Investigations in sc, newest first. */
err commission_investigation_list(db *d, arena *a, const struct scope *sc,
                                  const struct commission_filter *f,
                                  struct commission_investigation **items_r, size_t *n_r,
                                  int64_t *total_r) MUST_USE;

#endif
