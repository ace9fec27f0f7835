/*
 * exchange_record_json (contract in exchange.h): the current state of one
 * record of a dataset as the exchange sends it, for the change cursors and
 * the outbox alike. Each dataset's record is read through its
 * capability's own contract and written the way that capability's API
 * writes it, personal fields unmasked (the receiving system's grant
 * entitles it; the caller of exchange_record_json audits the read).
 */
#include "exchange/exchange.h"

#include "person/person.h"

/* A capability's record reader: E_NOT_FOUND when the record is gone. */
typedef err (*record_fn)(db *d, arena *a, int64_t id, json_t **out_r);

static err person_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    struct scope all = scope_all();
    struct person p;
    err e = person_find(d, a, &all, id, &p);
    if (e)
        return e;
    *out_r = person_json(a, &p, true);
    return *out_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

static const record_fn readers[DS__COUNT] = {
    [DS_PERSONS] = person_record,
};

err exchange_record_json(db *d, arena *a, enum exchange_dataset ds, int64_t id, json_t **out_r)
{
    if ((unsigned)ds >= DS__COUNT || !readers[ds])
        return err_set(E_INTERNAL, "exchange_record_dataset", NULL, "内部错误");
    return readers[ds](d, a, id, out_r);
}
