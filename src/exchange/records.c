/*
 * exchange_record_json (contract in exchange.h): the current state of one
 * record of a dataset as the exchange sends it, for the change cursors and
 * the outbox alike. Each dataset's record is read through its
 * capability's own contract and written the way that capability's API
 * writes it, personal fields unmasked (the receiving system's grant
 * entitles it; the caller of exchange_record_json audits the read).
 */
#include "exchange/exchange.h"

#include "case/case.h"
#include "code/code.h"
#include "notice/notice.h"
#include "person/person.h"
#include "trace/trace.h"

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

/* 返程信息: a key person's trip (trace), with its return and waypoints. */
static err return_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    struct scope all = scope_all();
    struct trip t;
    err e = trip_find(d, a, &all, id, &t);
    if (e)
        return e;
    *out_r = trip_json(a, &t, true);
    return E_OK;
}

/* 接触信息: a stored contact-tracing run of a case with every contact it
 * found (the run is the unit that is written at once). */
static err contacts_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    struct scope all = scope_all();
    struct trace_run run;
    err e = trace_run_find(d, a, &all, id, &run);
    if (e)
        return e;
    struct trace_contact_filter f = {0}; /* page_size 0: all */
    json_t *items = NULL, *outside = NULL;
    int64_t total = 0;
    if ((e = trace_contacts_read(d, a, &all, id, &f, true, &items, &total, &outside)))
        return e;
    json_decref(outside); /* nothing lies outside the whole tree */
    json_t *o = trace_run_json(&run);
    json_object_set_new(o, "contacts", items);
    *out_r = o;
    return E_OK;
}

static err isolation_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    return case_observation_record(d, a, id, out_r);
}

static err case_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    return case_status_change_json(d, a, id, out_r);
}

static err result_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    (void)a;
    return code_test_result_json(d, id, out_r);
}

static err zone_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    struct scope all = scope_all();
    return code_zone_get(d, a, &all, id, out_r);
}

static err risk_area_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    (void)a;
    return code_risk_area_get(d, id, out_r);
}

static err notice_record(db *d, arena *a, int64_t id, json_t **out_r)
{
    return notice_exchange_json(d, a, id, out_r);
}

static const record_fn readers[DS__COUNT] = {
    [DS_PERSONS] = person_record,    [DS_RETURNS] = return_record,
    [DS_CONTACTS] = contacts_record, [DS_ISOLATIONS] = isolation_record,
    [DS_CASES] = case_record,        [DS_RESULTS] = result_record,
    [DS_ZONES] = zone_record,        [DS_RISK_AREAS] = risk_area_record,
    [DS_NOTICES] = notice_record,
};

err exchange_record_json(db *d, arena *a, enum exchange_dataset ds, int64_t id, json_t **out_r)
{
    if ((unsigned)ds >= DS__COUNT || !readers[ds])
        return err_set(E_INTERNAL, "exchange_record_dataset", NULL, "内部错误");
    return readers[ds](d, a, id, out_r);
}
