/*
 * The dataset operations of the exchange (contract in exchange.h; the
 * integrator's side in docs/exchange.md "Datasets and cursors"):
 *
 *   GET  /exchange/v1/<dataset>/changes   the change cursor of a dataset
 *   POST /exchange/v1/<dataset>           a batch of records, each written
 *                                         through its capability's contract
 *
 * exchange_handle() has already verified the caller, its dataset grant and
 * the "region" parameter, and owns idempotency; an operation here checks
 * its own input and keeps every record inside the caller's granted
 * regions. Batch records are written one transaction (a savepoint, when
 * the handler wraps the call in one) each: a bad record changes nothing of
 * itself and does not stop the others.
 */
#include "exchange/exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "case/case.h"
#include "exchange/internal.h"
#include "code/code.h"
#include "person/person.h"
#include "trace/trace.h"
#include "security/audit.h"
#include "stats/stats.h"

#define CHANGES_LIMIT_DEFAULT 100
#define CHANGES_LIMIT_MAX     1000

/* ---- shared pieces ------------------------------------------------------------ */

/* The caller's granted subtree holding `code` into *sc_r; false when none
 * (the record lies outside every grant). */
static bool granted_scope(const struct exchange_caller *c, int64_t code, struct scope *sc_r)
{
    for (int i = 0; i < c->nregions; i++) {
        struct scope s = scope_of(c->regions[i]);
        if (scope_has(&s, code)) {
            *sc_r = s;
            return true;
        }
    }
    return false;
}

/* The same over the subtrees the caller reads (its regions, then its
 * read-only ones): the reads' check. */
static bool read_scope(const struct exchange_caller *c, int64_t code, struct scope *sc_r)
{
    if (granted_scope(c, code, sc_r))
        return true;
    for (int i = 0; i < c->nread_regions; i++) {
        struct scope s = scope_of(c->read_regions[i]);
        if (scope_has(&s, code)) {
            *sc_r = s;
            return true;
        }
    }
    return false;
}

static err region_not_granted(void)
{
    return err_set(E_FORBIDDEN, "region_not_granted", "region_code",
                   "该记录所属区划不在本系统获准交换的范围内");
}

/* A query parameter as a non-negative decimal integer in [lo, hi], or dflt
 * when absent. E_INPUT "invalid_parameter" on the parameter otherwise. */
static err param_int(json_t *in, const char *name, int64_t lo, int64_t hi, int64_t dflt,
                     const char *label, int64_t *v_r)
{
    json_t *v = json_object_get(in, name);
    *v_r = dflt;
    if (!v)
        return E_OK;
    const char *s = json_string_value(v);
    char *end = NULL;
    errno = 0;
    long long n = s && *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : -1;
    if (!s || errno || !end || *end || n < lo || n > hi)
        return err_set(E_INPUT, "invalid_parameter", name, "%s应为%lld到%lld之间的整数", label,
                       (long long)lo, (long long)hi);
    *v_r = n;
    return E_OK;
}

/* An audit entry of the calling system (no personal data in detail). */
static void audit_call(const struct exchange_ctx *x, const char *action, const char *object_type,
                       int64_t object_id, const char *result, const char *detail)
{
    struct audit_entry en = {.user_id = x->caller->user_id,
                             .username = x->caller->name,
                             .role = "exchange_client",
                             .action = action,
                             .object_type = object_type,
                             .object_id = object_id,
                             .result = result,
                             .detail = detail};
    /* queued outside a transaction; a full queue is the one failure and
     * the handler answers 503 for the whole call through the caller */
    err_ignore(audit_log(x->d, &en));
}

/* ---- change cursors ------------------------------------------------------------- */

/*
 * One page of dataset ds's changes after `since` inside the region
 * parameter's subtree (when given) or the caller's granted subtrees, in
 * seq order. `next` is the last seq returned (since when none), so a
 * reader passing it back sees every change once: numbers of a dataset
 * become visible in increasing order (exchange_change), a page never
 * skips one below its last.
 */
static err changes_read(struct exchange_ctx *x, enum exchange_dataset ds, json_t *in,
                        json_t **out_r)
{
    int64_t since, limit;
    err e;
    err_collect_begin();
    e = param_int(in, "since", 0, INT64_MAX, 0, "since", &since);
    err x2 = param_int(in, "limit", 1, CHANGES_LIMIT_MAX, CHANGES_LIMIT_DEFAULT, "limit", &limit);
    err_collect_end();
    if ((e = e ? e : x2))
        return e;
    /* the subtrees read: the region parameter's, or every region the
     * caller reads (its regions and its read-only ones) */
    struct scope sc[2 * EXCHANGE_REGIONS_MAX];
    int n = 0;
    /* zones anchored above a subtree read cover all of it (a district-wide
     * zone covers each of its streets): their anchors are sent too */
    int64_t above[2 * EXCHANGE_REGIONS_MAX * 7]; /* each level, the region itself too */
    int na = 0;
    /* the risk areas are one national list (code/risk.c), most of them
     * outside the region tree (region 0): every grantee reads all */
    if (ds == DS_RISK_AREAS && !json_object_get(in, "region"))
        sc[n++] = (struct scope){0, INT64_MAX};
    else if (json_object_get(in, "region"))
        sc[n++] = scope_of(x->region_code); /* checked by exchange_handle */
    else {
        for (int i = 0; i < x->caller->nregions; i++)
            sc[n++] = scope_of(x->caller->regions[i]);
        for (int i = 0; i < x->caller->nread_regions; i++)
            sc[n++] = scope_of(x->caller->read_regions[i]);
    }
    /* notices: only those to a whole subtree read or to a region above it
     * (they cover all of it); one inside it is for that part's residents,
     * who are the child's, not this instance's audience */
    bool at_or_above = ds == DS_NOTICES;
    if (ds == DS_ZONES || at_or_above)
        for (int i = 0; i < n; i++)
            for (int64_t up = at_or_above ? sc[i].lo : regcode_parent(sc[i].lo); up > 0;
                 up = regcode_parent(up)) {
                int k = 0;
                while (k < na && above[k] != up)
                    k++;
                if (k == na && na < (int)(sizeof above / sizeof *above))
                    above[na++] = up;
            }
    /* the statement's text depends only on the counts (fixed fragments) */
    if (at_or_above)
        n = 0; /* the anchors alone */
    char *sql = arena_printf(x->a, "SELECT seq, object_id, region_code, op FROM exchange_changes "
                                   "WHERE dataset = ? AND seq > ? AND (");
    for (int i = 0; i < n; i++)
        sql =
            arena_printf(x->a, "%s%s(region_code >= ? AND region_code < ?)", sql, i ? " OR " : "");
    for (int i = 0; i < na; i++)
        sql = arena_printf(x->a, "%s%sregion_code = ?", sql, n || i ? " OR " : "");
    if (!n && !na)
        sql = arena_printf(x->a, "%s1 = 0", sql); /* nothing read */
    sql = arena_printf(x->a, "%s) ORDER BY seq LIMIT ?", sql);
    db_stmt *s;
    if ((e = db_prepare(x->d, sql, &s)))
        return e;
    int b = 1;
    db_bind_text(s, b++, exchange_dataset_name(ds));
    db_bind_int64(s, b++, since);
    for (int i = 0; i < n; i++) {
        db_bind_int64(s, b++, sc[i].lo);
        db_bind_int64(s, b++, sc[i].hi);
    }
    for (int i = 0; i < na; i++)
        db_bind_int64(s, b++, above[i]);
    db_bind_int64(s, b, limit + 1);
    struct row {
        int64_t seq, id, region;
        bool deleted;
    } *rows = arena_alloc(x->a, (size_t)(limit + 1) * sizeof *rows);
    size_t nr = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        rows[nr].seq = db_col_int64(s, 0);
        rows[nr].id = db_col_int64(s, 1);
        rows[nr].region = db_col_int64(s, 2);
        rows[nr].deleted = !strcmp(db_col_text(s, 3), "delete");
        nr++;
    }
    db_done(s);
    if (e)
        return e;
    bool more = nr > (size_t)limit;
    if (more)
        nr = (size_t)limit;
    json_t *items = json_array();
    int64_t next = since;
    for (size_t i = 0; i < nr && !e; i++) {
        json_t *rec = NULL;
        if (!rows[i].deleted &&
            (e = exchange_record_json(x->d, x->a, ds, rows[i].id, &rec)) == E_NOT_FOUND) {
            err_clear(); /* gone since: sent as deleted, as the contract says */
            e = E_OK;
        }
        if (e)
            break;
        if (!rec) {
            rec = json_object();
            json_set_id(rec, "id", rows[i].id);
            json_object_set_new(rec, "deleted", json_true());
        }
        char code[19];
        regcode_format(rows[i].region, code);
        json_t *it = json_object();
        json_object_set_new(it, "seq", json_integer(rows[i].seq));
        json_object_set_new(it, "op", json_string(rows[i].deleted ? "delete" : "upsert"));
        json_set_id(it, "id", rows[i].id);
        json_object_set_new(it, "region", json_string(code));
        json_object_set_new(it, "record", rec);
        json_array_append_new(items, it);
        next = rows[i].seq;
    }
    if (e) {
        json_decref(items);
        return e;
    }
    if (nr)
        audit_call(x, arena_printf(x->a, "exchange.%s.changes", exchange_dataset_name(ds)),
                   exchange_dataset_name(ds), 0, "ok",
                   arena_printf(x->a, "records=%zu seq=%lld..%lld", nr, (long long)rows[0].seq,
                                (long long)next));
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next", json_integer(next));
    json_object_set_new(o, "more", json_boolean(more));
    *out_r = o;
    return E_OK;
}

#define CHANGES_RUN(name, ds)                                                                      \
    static err name##_changes(struct exchange_ctx *x, json_t *in, json_t **out_r)                  \
    {                                                                                              \
        return changes_read(x, ds, in, out_r);                                                     \
    }
CHANGES_RUN(persons, DS_PERSONS)
CHANGES_RUN(returns, DS_RETURNS)
CHANGES_RUN(contacts, DS_CONTACTS)
CHANGES_RUN(isolations, DS_ISOLATIONS)
CHANGES_RUN(cases, DS_CASES)
CHANGES_RUN(results, DS_RESULTS)
CHANGES_RUN(zones, DS_ZONES)
CHANGES_RUN(risk_areas, DS_RISK_AREAS)
CHANGES_RUN(notices, DS_NOTICES)

/* ---- batch writes ------------------------------------------------------------------ */

/* The records of a batch body: {"records": [object, ...]}; their number
 * (1..EXCHANGE_BATCH_MAX) exchange_handle has checked when it is an array. */
static err batch_records(json_t *in, json_t **records_r)
{
    json_t *r = json_object_get(in, "records");
    if (!json_is_array(r))
        return err_set(E_INPUT, "invalid_batch", "records", "records 应为包含记录的数组");
    *records_r = r;
    return E_OK;
}

/* One record's outcome into the results array. */
static void batch_result(json_t *results, size_t index, err e, int64_t id)
{
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_object_set_new(o, "ok", json_boolean(!e));
    if (!e) {
        json_set_id(o, "id", id);
    } else {
        const struct err_detail *dt = err_last();
        bool own = dt->code == e && dt->slug[0];
        json_t *er = json_object();
        json_object_set_new(er, "code", json_string(own ? dt->slug : err_slug(e)));
        json_object_set_new(er, "message",
                            json_string(own && dt->message[0] ? dt->message : err_message(e)));
        if (own && dt->field[0])
            json_object_set_new(er, "field", json_string(dt->field));
        else
            json_object_set_new(er, "field", json_null());
        json_object_set_new(o, "error", er);
    }
    json_array_append_new(results, o);
}

/* A record writer: E_OK with *id_r, or the record's error (nothing of it
 * written). Errors of the database itself end the batch. */
typedef err (*record_write_fn)(struct exchange_ctx *x, json_t *rec, int64_t *id_r);

/* A deletion's remover: the local copy of the sender's record `remote`
 * (mapped for this caller under "in:<dataset>") deleted through its
 * capability, with its map entry, in one savepoint; *id_r the local id. E_NOT_FOUND "not_found"
 * when not mapped or outside the grants. NULL: the dataset takes no deletions. */
typedef err (*record_delete_fn)(struct exchange_ctx *x, int64_t remote, int64_t *id_r);

/* A deletion as another fangkong sends one: {"id", "deleted": true} and
 * nothing else. *remote_r 0 when the record is not a deletion. */
static err deletion_of(json_t *rec, int64_t *remote_r)
{
    *remote_r = 0;
    json_t *del = json_object_get(rec, "deleted");
    if (!del)
        return E_OK;
    if (!json_is_true(del) || json_object_size(rec) != 2)
        return err_set(E_INPUT, "invalid_record", "deleted",
                       "删除记录应只包含 id 和 \"deleted\": true");
    int64_t remote = id_parse(json_str(rec, "id"));
    if (!remote)
        return err_set(E_INPUT, "required", "id", "删除记录须填写原记录编号 id");
    *remote_r = remote;
    return E_OK;
}

static err not_mapped(void)
{
    return err_set(E_NOT_FOUND, "not_found", "id", "记录不存在或不在本系统获准交换的范围内");
}

static bool batch_fatal(err e)
{
    return e == E_DB || e == E_NOMEM || e == E_INTERNAL || e == E_UNAVAILABLE || e == E_CRYPTO;
}

static err batch_write(struct exchange_ctx *x, json_t *in, record_write_fn write,
                       record_delete_fn remove, json_t **out_r)
{
    json_t *records;
    err e = batch_records(in, &records);
    if (e)
        return e;
    json_t *results = json_array();
    int64_t ok = 0, bad = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        int64_t id = 0, remote = 0;
        err_clear();
        if (!json_is_object(rec))
            e = err_set(E_INPUT, "invalid_record", NULL, "记录应为 JSON 对象");
        else if ((e = deletion_of(rec, &remote)) || !remote)
            e = e ? e : write(x, rec, &id);
        else
            e = remove ? remove(x, remote, &id)
                       : err_set(E_INPUT, "not_allowed", "deleted", "该数据集不接受删除记录");
        if (batch_fatal(e)) {
            json_decref(results);
            return e;
        }
        batch_result(results, i, e, id);
        if (e)
            bad++;
        else
            ok++;
    }
    err_clear();
    json_t *o = json_object();
    json_object_set_new(o, "results", results);
    json_object_set_new(o, "accepted", json_integer(ok));
    json_object_set_new(o, "rejected", json_integer(bad));
    *out_r = o;
    return E_OK;
}

/* ---- persons ------------------------------------------------------------------------- */

/*
 * A person as another fangkong sends it (exchange_record_json: person_json,
 * recognised by the sender's "id") carries members this instance does not
 * take from the sender: its id, version and timestamps, derived labels,
 * and what only the resident may declare at their own instance (the
 * consent time; "self" as the source, which becomes "exchange" here).
 * Dropping them lets one fangkong's outbox feed another's batch write
 * (federation upward). A record without an id is a plain caller's: it is
 * checked as it came (a consent time or "self" refused as for staff).
 */
static const char *const person_sender_only[] = {
    "id",         "age",        "version",  "created_by", "updated_by",
    "created_at", "updated_at", "verified", "masked",     "consent_at",
};

static json_t *person_record_in(json_t *rec)
{
    json_t *r = json_copy(rec);
    if (!r || !json_object_get(r, "id"))
        return r;
    for (size_t i = 0; i < sizeof person_sender_only / sizeof *person_sender_only; i++)
        json_object_del(r, person_sender_only[i]);
    const char *src = json_str(r, "source");
    if (src && !strcmp(src, "self"))
        json_object_del(r, "source");
    return r;
}

static err person_write_one(struct exchange_ctx *x, json_t *rec, bool fed, int64_t *id_r);

/*
 * A person from another fangkong (a child's outbox) carries the sender's
 * id: remembered against the sending caller, so that the child's later
 * records naming the person by that id (results: "person_id") find ours.
 */
static err person_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t remote = id_parse(json_str(rec, "id"));
    json_t *r = person_record_in(rec);
    if (!r)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    err e = person_write_one(x, r, remote != 0, id_r);
    json_decref(r);
    int64_t mapped = 0;
    if (!e && remote &&
        !(e = exchange_idmap_find(x->d, x->caller->id, "in:persons", remote, &mapped)) && !mapped)
        e = exchange_idmap_put(x->d, x->caller->id, "in:persons", remote, *id_r);
    return e;
}

/*
 * One person record, keyed by its identity document: a new document is a
 * person_create, a document held by a person inside the caller's grants a
 * person_update with the fields the record carries (the status only
 * through the case workflow, as for staff). A document held outside the
 * grants is refused as a duplicate without its id.
 *
 * fed: the record is another fangkong's (it carries the sender's id). A
 * new person arrives in the sender's current status (its workflow's word
 * up to then); later, the status member is ignored rather than refused:
 * the sender's status changes arrive one by one as its "cases" records
 * and go through this instance's workflow (case_write), so the parent's
 * state machine, counters and codes follow them.
 */
static err person_write_one(struct exchange_ctx *x, json_t *rec, bool fed, int64_t *id_r)
{
    struct person p = {.id_type = ID_RESIDENT};
    person_fields set = 0;
    struct scope all = scope_all();
    /* checked against the whole tree first: the grant is the next check,
     * with its own code, so a region outside it is not "invalid_region" */
    err e = person_body_check(x->d, x->a, &all, rec, NULL, &p, &set);
    if (e)
        return e;
    struct principal who = x->who;
    if (!granted_scope(x->caller, p.region_code, &who.scope))
        return region_not_granted();
    int64_t holder = 0, holder_region = 0;
    if ((e = person_document_holder(x->d, x->a, p.id_type, p.id_number, &holder, &holder_region)))
        return e;
    if (!holder) {
        if (!(set & PF_BIT(PF_SOURCE)))
            p.source = "exchange";
        if ((e = person_create(x->d, x->a, &who, &p, set, NULL)))
            return e;
        audit_call(x, "person.create", "person", p.id, "ok", "via=exchange");
        *id_r = p.id;
        return E_OK;
    }
    struct scope held;
    if (!granted_scope(x->caller, holder_region, &held))
        return err_set(E_CONFLICT, "duplicate_person", "id_number",
                       "该证件号码的人员已在其他辖区登记，请联系上级部门核实");
    struct person cur;
    if ((e = person_find(x->d, x->a, &held, holder, &cur)))
        return e;
    if (!fed && (set & PF_BIT(PF_STATUS)) && p.status != cur.status)
        return err_set(E_CONFLICT, "status_by_workflow", "status",
                       "人员状态须通过“状态变更”办理，不能由交换数据直接修改");
    struct person_patch pt = {0};
    /* the record's region was checked against the grants above, so a
     * move never hands the person to a region the caller cannot see */
    who.scope = held;
    if ((e = person_body_check(x->d, x->a, &all, rec, &cur, &pt.v, &pt.set)))
        return e;
    pt.set &= ~PF_BIT(PF_STATUS);
    struct person nv;
    person_fields changed = 0;
    if ((e = person_update(x->d, x->a, &who, holder, &pt, &nv, &changed)))
        return e;
    if (changed)
        audit_call(x, "person.update", "person", holder, "ok", "via=exchange");
    *id_r = holder;
    return E_OK;
}

/* The caller's granted subtree holding local person pid; E_NOT_FOUND
 * "not_found" when gone or outside every grant. */
static err person_held(struct exchange_ctx *x, int64_t pid, struct scope *sc_r)
{
    struct scope all = scope_all();
    int64_t region = 0;
    err e = person_region(x->d, &all, pid, &region);
    if (e && e != E_NOT_FOUND)
        return e;
    if (e || !granted_scope(x->caller, region, sc_r))
        return not_mapped();
    return E_OK;
}

/* A person deleted at the sender: our copy deleted (person_delete) and
 * the map entry dropped, in one savepoint. */
static err person_remove(struct exchange_ctx *x, int64_t remote, int64_t *id_r)
{
    int64_t pid = 0;
    struct principal who = x->who;
    err e = exchange_idmap_find(x->d, x->caller->id, "in:persons", remote, &pid);
    if (e || !pid)
        return e ? e : not_mapped();
    if ((e = person_held(x, pid, &who.scope)) || (e = db_begin(x->d)))
        return e;
    if ((e = person_delete(x->d, x->a, &who, pid)) ||
        (e = exchange_idmap_drop(x->d, x->caller->id, "in:persons", remote)) ||
        (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, "person.delete", "person", pid, "ok", "via=exchange");
    *id_r = pid;
    return E_OK;
}

static err persons_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, person_write, person_remove, out_r);
}

/* ---- records about a person ----------------------------------------------------------- */

/*
 * The person a record names ("person_id", an id string) when they live
 * inside one of the caller's granted subtrees: *sc_r that subtree. A
 * person outside every grant reads as missing, as the capabilities answer
 * for another region's person (its existence is not the caller's to know).
 */
static err person_granted_id(struct exchange_ctx *x, const char *s, bool reading, int64_t *pid_r,
                             struct scope *sc_r);

static err person_granted(struct exchange_ctx *x, json_t *rec, bool reading, int64_t *pid_r,
                          struct scope *sc_r)
{
    return person_granted_id(x, json_str(rec, "person_id"), reading, pid_r, sc_r);
}

/* person_granted of the id string s (NULL: absent). */
static err person_granted_id(struct exchange_ctx *x, const char *s, bool reading, int64_t *pid_r,
                             struct scope *sc_r)
{
    int64_t pid = s ? id_parse(s) : 0, region = 0, ours = 0;
    if (!pid)
        return err_set(E_INPUT, "required", "person_id", "请填写人员编号 person_id");
    /* a child names the person by its own id, mapped when it sent them */
    err e = exchange_idmap_find(x->d, x->caller->id, "in:persons", pid, &ours);
    if (e)
        return e;
    if (ours)
        pid = ours;
    struct scope all = scope_all();
    e = person_region(x->d, &all, pid, &region);
    if (e && e != E_NOT_FOUND)
        return e;
    if (e ||
        !(reading ? read_scope(x->caller, region, sc_r) : granted_scope(x->caller, region, sc_r)))
        return err_set(E_NOT_FOUND, "not_found", "person_id",
                       "人员不存在或不在本系统获准交换的范围内");
    *pid_r = pid;
    return E_OK;
}

/*
 * A trip as another fangkong sends it (trip_json) made ours: the person is
 * the one person_granted found (the sender's person_id dropped), and a
 * waypoint at one of the sender's venues keeps the venue's name as its
 * place (the venue id is the sender's).
 */
static json_t *return_record_in(json_t *rec)
{
    json_t *b = json_deep_copy(rec);
    if (!b)
        return NULL;
    json_object_del(b, "person_id");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(b, "waypoints"), i, w)
    {
        json_t *venue = json_object_get(w, "venue_id");
        const char *name = json_str(w, "venue_name"), *place = json_str(w, "place");
        if (!venue || json_is_null(venue))
            continue;
        if ((!place || !*place) && name)
            json_object_set_new(w, "place", json_string(name));
        json_object_del(w, "venue_id");
    }
    return b;
}

/* 返程信息: one trip of a key person, checked and written by trace's
 * own contract (trip_apply_json, trip_create), source "import" (data that
 * came from another system, as a file import's). A trip from another
 * fangkong carries the sender's id: sent again or changed later, it
 * updates the trip written the first time (trip_update). */
static err return_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t pid;
    struct scope sc;
    err e = person_granted(x, rec, false, &pid, &sc);
    if (e)
        return e;
    int64_t remote = id_parse(json_str(rec, "id")), mapped = 0;
    if (remote && (e = exchange_idmap_find(x->d, x->caller->id, "in:returns", remote, &mapped)))
        return e;
    json_t *body = return_record_in(rec);
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    struct trip t = {.person_id = pid};
    if (!mapped && (e = trip_apply_json(x->a, body, &t))) {
        json_decref(body);
        return e;
    }
    if ((e = db_begin(x->d))) {
        json_decref(body);
        return e;
    }
    if (mapped) {
        *id_r = mapped;
        e = trip_update(x->d, x->a, &sc, mapped, 0, body);
    } else {
        e = trip_create(x->d, x->a, &sc, &t, TRIP_IMPORT, x->caller->user_id, id_r);
        if (!e && remote)
            e = exchange_idmap_put(x->d, x->caller->id, "in:returns", remote, *id_r);
    }
    json_decref(body);
    if (e || (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, mapped ? "trace.trip.update" : "trace.trip.create", "trip", *id_r, "ok",
               "via=exchange");
    return E_OK;
}

/*
 * A record deleted at the sender: our copy deleted by del (inside the grant
 * holding it: del answers not found in the others) and the map entry of
 * dataset ds dropped, in one savepoint; audited as `action` on type.
 */
static err mapped_remove(struct exchange_ctx *x, int64_t remote, const char *ds,
                         err (*del)(db *d, const struct scope *sc, int64_t id), const char *action,
                         const char *type, int64_t *id_r)
{
    int64_t id = 0;
    err e = exchange_idmap_find(x->d, x->caller->id, ds, remote, &id);
    if (e || !id)
        return e ? e : not_mapped();
    if ((e = db_begin(x->d)))
        return e;
    e = E_NOT_FOUND;
    for (int i = 0; i < x->caller->nregions && e == E_NOT_FOUND; i++) {
        struct scope sc = scope_of(x->caller->regions[i]);
        err_clear();
        e = del(x->d, &sc, id);
    }
    if (e == E_NOT_FOUND)
        e = not_mapped();
    if (e || (e = exchange_idmap_drop(x->d, x->caller->id, ds, remote)) || (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, action, type, id, "ok", "via=exchange");
    *id_r = id;
    return E_OK;
}

/* A trip deleted at the sender (trip_delete). */
static err return_remove(struct exchange_ctx *x, int64_t remote, int64_t *id_r)
{
    return mapped_remove(x, remote, "in:returns", trip_delete, "trace.trip.delete", "trip", id_r);
}

static err returns_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, return_write, return_remove, out_r);
}

/* A nucleic-acid test result of a person, as the code capability takes one
 * (code_test_body, code_input_add of code_tests): the code is recomputed
 * with it. */
static err result_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t pid;
    struct scope sc;
    err e = person_granted(x, rec, false, &pid, &sc);
    if (e)
        return e;
    /* a result from another fangkong carries the sender's id: one sent
     * again (a re-sent outbox batch) is the one already written */
    int64_t remote = id_parse(json_str(rec, "id")), mapped = 0;
    if (remote && (e = exchange_idmap_find(x->d, x->caller->id, "in:results", remote, &mapped)))
        return e;
    if (mapped) {
        *id_r = mapped;
        return E_OK;
    }
    json_t *body = json_copy(rec);
    /* the sender's own members (code_test_result_json) are not ours */
    static const char *const sender_only[] = {"id", "person_id", "region_code", "region_name",
                                              "created_at"};
    for (size_t i = 0; i < sizeof sender_only / sizeof *sender_only; i++)
        json_object_del(body, sender_only[i]);
    struct principal who = x->who;
    who.scope = sc;
    if ((e = json_check(body, code_test_body, false))) {
        json_decref(body);
        return e;
    }
    /* the result and its map entry in one savepoint: a result is never
     * kept without the entry that makes a resend find it */
    if ((e = db_begin(x->d))) {
        json_decref(body);
        return e;
    }
    e = code_input_add(x->d, x->a, &who, &code_tests, pid, body, id_r);
    json_decref(body);
    if (!e && remote)
        e = exchange_idmap_put(x->d, x->caller->id, "in:results", remote, *id_r);
    if (e || (e = db_commit(x->d))) {
        db_rollback(x->d);
        /* the same result sent concurrently (two batches at once) and
         * mapped first by the other: it is the one already written */
        if (e == E_CONFLICT && remote && !strcmp(err_last()->slug, "duplicate")) {
            err_clear();
            if (!(e = exchange_idmap_find(x->d, x->caller->id, "in:results", remote, &mapped)) &&
                mapped) {
                *id_r = mapped;
                return E_OK;
            }
            if (!e)
                e = err_set(E_CONFLICT, "duplicate", "id", "该记录正在写入，请稍后重试");
        }
        return e;
    }
    audit_call(x, "test_result.create", "person", pid, "ok", "via=exchange");
    return E_OK;
}

/* A result withdrawn at the sender (a laboratory's correction): our copy
 * deleted (code_test_result_delete, inside the grant holding it, the code
 * recomputed) and the map entry dropped, in one savepoint. */
static err result_remove(struct exchange_ctx *x, int64_t remote, int64_t *id_r)
{
    int64_t rid = 0;
    err e = exchange_idmap_find(x->d, x->caller->id, "in:results", remote, &rid);
    if (e || !rid)
        return e ? e : not_mapped();
    if ((e = db_begin(x->d)))
        return e;
    e = E_NOT_FOUND;
    for (int i = 0; i < x->caller->nregions && e == E_NOT_FOUND; i++) {
        struct scope sc = scope_of(x->caller->regions[i]);
        err_clear();
        e = code_test_result_delete(x->d, x->a, &sc, rid, x->caller->user_id);
    }
    if (e == E_NOT_FOUND)
        e = not_mapped();
    if (e || (e = exchange_idmap_drop(x->d, x->caller->id, "in:results", remote)) ||
        (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, "test_result.delete", "test_result", rid, "ok", "via=exchange");
    *id_r = rid;
    return E_OK;
}

static err results_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, result_write, result_remove, out_r);
}

/* ---- contacts (a contact-tracing run and the contacts it found) ------------------ */

/* An integer member of o in [lo, hi]: dflt when absent (or null), E_INPUT
 * on field `at`.name when not an integer in range or absent and required. */
static err member_int(struct exchange_ctx *x, json_t *o, const char *at, const char *name,
                      int64_t lo, int64_t hi, bool required, int64_t dflt, int64_t *v_r)
{
    json_t *v = json_object_get(o, name);
    const char *field = arena_printf(x->a, "%s%s", at, name);
    *v_r = dflt;
    if (!v || json_is_null(v))
        return required ? err_set(E_INPUT, "required", field, "请填写%s", field) : E_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_set(E_INPUT, "out_of_range", field, "%s应为%lld到%lld之间的整数", field,
                       (long long)lo, (long long)hi);
    *v_r = json_integer_value(v);
    return E_OK;
}

/* A string member of o of at most max bytes (characters when chars), NULL
 * when absent or null; E_INPUT on field `at`.name otherwise. */
static err member_str(struct exchange_ctx *x, json_t *o, const char *at, const char *name,
                      size_t max, bool chars, const char **s_r)
{
    json_t *v = json_object_get(o, name);
    *s_r = NULL;
    if (!v || json_is_null(v))
        return E_OK;
    const char *field = arena_printf(x->a, "%s%s", at, name);
    if (!json_is_string(v))
        return err_set(E_INPUT, "invalid_type", field, "%s应为文本", field);
    const char *s = json_string_value(v);
    if ((chars ? utf8_len(s) : strlen(s)) > max)
        return err_set(E_INPUT, "too_long", field, "%s不能超过%zu个字符", field, max);
    *s_r = s;
    return E_OK;
}

/*
 * A person a contacts record names by the id string s on field `field`,
 * made ours: a record from another fangkong (fed) names the sender's
 * person, found through "in:persons" — one the sender has not sent yet is
 * refused with "contact_not_received" (the sender's outbox sends persons
 * before contacts; the record, refused, stays in its list of refusals);
 * a plain caller names our own person. Either way the person must live
 * inside one of the caller's grants. *region_r their residence.
 */
static err contact_person(struct exchange_ctx *x, const char *s, const char *field, bool fed,
                          int64_t *pid_r, int64_t *region_r)
{
    int64_t pid = s ? id_parse(s) : 0, ours = 0;
    if (!pid)
        return err_set(E_INPUT, "required", field, "请填写人员编号 %s", field);
    if (fed) {
        err e = exchange_idmap_find(x->d, x->caller->id, "in:persons", pid, &ours);
        if (e)
            return e;
        if (!ours)
            return err_set(E_CONFLICT, "contact_not_received", field,
                           "接触人员尚未报送到本系统，请先报送该人员信息");
        pid = ours;
    }
    struct scope all = scope_all(), sc;
    err e = person_region(x->d, &all, pid, region_r);
    if (e && e != E_NOT_FOUND)
        return e;
    if (e || !granted_scope(x->caller, *region_r, &sc))
        return err_set(E_NOT_FOUND, "not_found", field, "人员不存在或不在本系统获准交换的范围内");
    *pid_r = pid;
    return E_OK;
}

/* The id string of a person member: `flat` (a plain caller's), else
 * `obj`.`inner` (as the sender writes a contact's person {"id"} and its
 * via {"person_id"}). */
static const char *person_ref(json_t *o, const char *flat, const char *obj, const char *inner)
{
    const char *s = json_str(o, flat);
    return s ? s : json_str(json_object_get(o, obj), inner);
}

/* One reason of a contact into *r (place in the arena). */
static err contact_reason(struct exchange_ctx *x, json_t *o, const char *at, struct trace_reason *r)
{
    if (!json_is_object(o))
        return err_set(E_INPUT, "invalid_type", at, "%s应为对象", at);
    at = arena_printf(x->a, "%s.", at);
    const char *kind, *number, *seat, *place;
    int64_t from, to, ov, crowd;
    err e;
    if ((e = member_str(x, o, at, "kind", 32, false, &kind)))
        return e;
    int k = vocab_parse(&trace_reason_vocab, kind);
    if (k <= 0)
        return err_set(E_INPUT, "invalid_value", arena_printf(x->a, "%skind", at),
                       "接触原因类型不正确");
    if ((e = member_int(x, o, at, "from", 0, INT64_MAX, true, 0, &from)) ||
        (e = member_int(x, o, at, "to", from, INT64_MAX, false, from, &to)) ||
        (e = member_int(x, o, at, "overlap_minutes", 0, 1000000, false, 0, &ov)) ||
        (e = member_int(x, o, at, "crowd", 0, INT32_MAX, false, 0, &crowd)) ||
        (e = member_str(x, o, at, "number", TRIP_NUMBER_MAX - 1, false, &number)) ||
        (e = member_str(x, o, at, "seat", TRIP_SEAT_MAX, false, &seat)))
        return e;
    /* the sender's venue ids are not ours: its name is kept ("venue_name"
     * as the sender lists it, "place" as a plain caller may write it) */
    if ((e = member_str(x, o, at, "venue_name", TRACE_PLACE_MAX, true, &place)) ||
        (!place && (e = member_str(x, o, at, "place", TRACE_PLACE_MAX, true, &place))))
        return e;
    *r = (struct trace_reason){.kind = (enum trace_reason_kind)k,
                               .from = from,
                               .to = to,
                               .overlap_minutes = (int)ov,
                               .crowd = (int)crowd,
                               .place = place && *place ? arena_strdup(x->a, place) : NULL};
    snprintf(r->number, sizeof r->number, "%s", number ? number : "");
    snprintf(r->seat, sizeof r->seat, "%s", seat ? seat : "");
    return E_OK;
}

/* The contacts of a record into res (items and reasons on the heap:
 * trace_result_free; places in the arena); case_pid the index case, never a contact. */
static err contacts_in(struct exchange_ctx *x, json_t *list, bool fed, int64_t case_pid,
                       struct trace_result *res)
{
    if (!json_is_array(list))
        return err_set(E_INPUT, "required", "contacts", "contacts 应为接触人员数组");
    size_t n = json_array_size(list);
    if (n > TRACE_CONTACTS_MAX)
        return err_set(E_INPUT, "out_of_range", "contacts", "接触人员不能超过%d人",
                       TRACE_CONTACTS_MAX);
    if (n && !(res->items = calloc(n, sizeof *res->items)))
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    res->cap = n;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *at = arena_printf(x->a, "contacts[%zu]", i);
        if (!json_is_object(c))
            return err_set(E_INPUT, "invalid_type", at, "%s应为对象", at);
        at = arena_printf(x->a, "contacts[%zu].", i);
        struct trace_contact *t = &res->items[res->n++];
        int64_t degree, first, ov;
        err e = contact_person(x, person_ref(c, "person_id", "person", "id"),
                               arena_printf(x->a, "%sperson_id", at), fed, &t->person_id,
                               &t->region_code);
        if (e)
            return e;
        if (t->person_id == case_pid)
            return err_set(E_INPUT, "invalid_value", arena_printf(x->a, "%sperson_id", at),
                           "接触人员不能是病例本人");
        for (size_t j = 0; j + 1 < res->n; j++)
            if (res->items[j].person_id == t->person_id)
                return err_set(E_INPUT, "duplicate_contact", arena_printf(x->a, "%sperson_id", at),
                               "同一接触人员只能出现一次");
        const char *cls;
        if ((e = member_int(x, c, at, "degree", 1, 2, true, 0, &degree)) ||
            (e = member_str(x, c, at, "class", 32, false, &cls)))
            return e;
        int k = vocab_parse(&trace_class_vocab, cls);
        if (k <= 0)
            return err_set(E_INPUT, "invalid_value", arena_printf(x->a, "%sclass", at),
                           "接触分类应为 close（密接）、secondary（次密接）或 general（一般接触）");
        const char *via = person_ref(c, "via_person_id", "via", "person_id");
        if (via) {
            int64_t region;
            if ((e = contact_person(x, via, arena_printf(x->a, "%svia_person_id", at), fed,
                                    &t->via_person_id, &region)))
                return e;
        }
        json_t *rs = json_object_get(c, "reasons");
        if (rs && !json_is_array(rs))
            return err_set(E_INPUT, "invalid_type", arena_printf(x->a, "%sreasons", at),
                           "接触原因应为数组");
        size_t nr = json_array_size(rs), j;
        json_t *r;
        int64_t sum = 0, earliest = 0;
        /* on the heap, as trace_result_free releases them */
        if (nr && !(t->reasons = calloc(nr, sizeof *t->reasons)))
            return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
        json_array_foreach(rs, j, r)
        {
            if ((e = contact_reason(x, r, arena_printf(x->a, "%sreasons[%zu]", at, j),
                                    &t->reasons[j])))
                return e;
            sum += t->reasons[j].overlap_minutes;
            if (!earliest || t->reasons[j].from < earliest)
                earliest = t->reasons[j].from;
        }
        t->n_reasons = nr;
        if ((e = member_int(x, c, at, "first_at", 0, INT64_MAX, !earliest, earliest, &first)) ||
            (e = member_int(x, c, at, "overlap_minutes", 0, INT32_MAX, false, sum, &ov)))
            return e;
        t->degree = (int)degree;
        t->cls = (enum trace_class)k;
        t->first_at = first;
        t->overlap_minutes = (int)ov;
        res->counts[t->cls]++;
    }
    return E_OK;
}

/*
 * 接触信息: a contact-tracing run of a case and the close (密接),
 * secondary (次密接) and general contacts it found, stored through
 * trace's own contract (trace_run_store, as a run computed here is) so
 * the staff pages list, map, export and commit it. The case and every
 * contact are people this instance holds inside the caller's grants
 * (contact_person); the rules in force are ours with the sender's
 * "rules" over them. A run from another fangkong carries the sender's id
 * ("in:contacts"): sent again or changed later it replaces the findings
 * of the run written the first time (a contact's committed report is
 * then no longer linked to it).
 */
static err contact_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t remote = id_parse(json_str(rec, "id")), mapped = 0;
    bool fed = remote != 0;
    struct trace_plan p = {0};
    struct scope sc;
    err e = person_granted_id(x, person_ref(rec, "person_id", "person", "id"), false, &p.person_id,
                              &sc);
    if (e)
        return e;
    struct scope all = scope_all();
    int64_t degree, window;
    if ((e = person_region(x->d, &all, p.person_id, &p.region_code)) ||
        (e = trace_rules_load(x->d, &p.rules)))
        return e;
    json_t *rules = json_object_get(rec, "rules");
    if (rules && !json_is_object(rules))
        return err_set(E_INPUT, "invalid_type", "rules", "rules 应为对象");
    if (rules && (e = trace_rules_apply_json(rules, &p.rules)))
        return e;
    if ((e = member_int(x, rec, "", "from", 0, INT64_MAX, true, 0, &p.from)) ||
        (e = member_int(x, rec, "", "to", 0, INT64_MAX, true, 0, &p.to)) ||
        (e = member_int(x, rec, "", "degree", 1, 2, false, 2, &degree)) ||
        (e = member_int(x, rec, "", "window_minutes", 1, 240, false, p.rules.window_minutes,
                        &window)))
        return e;
    if (p.from > p.to)
        return err_set(E_INPUT, "invalid_range", "to", "结束时间不能早于开始时间");
    if (p.to - p.from > (int64_t)TRACE_WINDOW_MAX_DAYS * 86400000)
        return err_set(E_INPUT, "invalid_window", "to", "追踪时间范围不能超过%d天",
                       TRACE_WINDOW_MAX_DAYS);
    p.degree = (int)degree;
    p.window_minutes = (int)window;
    const char *trigger = json_str(rec, "trigger");
    if (trigger && strcmp(trigger, "manual") && strcmp(trigger, "auto"))
        return err_set(E_INPUT, "invalid_value", "trigger", "trigger 应为 manual 或 auto");
    json_t *tr = json_object_get(rec, "truncated");
    if (tr && !json_is_boolean(tr))
        return err_set(E_INPUT, "invalid_type", "truncated", "truncated 应为 true 或 false");
    if (fed && (e = exchange_idmap_find(x->d, x->caller->id, "in:contacts", remote, &mapped)))
        return e;
    if (mapped) {
        struct trace_run run;
        if ((e = trace_run_find(x->d, x->a, &sc, mapped, &run)))
            return e == E_NOT_FOUND ? not_mapped() : e;
        if (run.person_id != p.person_id)
            return err_set(E_CONFLICT, "person_changed", "person_id", "同一追踪记录的病例不能更换");
    }
    struct trace_result res = {.truncated = json_is_true(tr)};
    if ((e = contacts_in(x, json_object_get(rec, "contacts"), fed, p.person_id, &res)) ||
        (e = db_begin(x->d))) {
        trace_result_free(&res);
        return e;
    }
    e = trace_run_store(x->d, &p, &res,
                        trigger && !strcmp(trigger, "auto") ? TRACE_AUTO : TRACE_MANUAL, mapped,
                        x->caller->user_id, json_int(rec, "elapsed_ms", 0), id_r);
    trace_result_free(&res);
    if (!e && fed && !mapped)
        e = exchange_idmap_put(x->d, x->caller->id, "in:contacts", remote, *id_r);
    if (e || (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, mapped ? "trace.run.update" : "trace.run.create", "trace_run", *id_r, "ok",
               arena_printf(x->a, "contacts=%zu via=exchange",
                            json_array_size(json_object_get(rec, "contacts"))));
    return E_OK;
}

/* A run deleted at the sender: our copy and its contacts (trace_run_delete). */
static err contact_remove(struct exchange_ctx *x, int64_t remote, int64_t *id_r)
{
    return mapped_remove(x, remote, "in:contacts", trace_run_delete, "trace.run.delete",
                         "trace_run", id_r);
}

static err contacts_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, contact_write, contact_remove, out_r);
}

/* ---- isolations (the observation list) ------------------------------------------ */

/* The members of an observation as another fangkong sends it
 * (case_observation_record) that are the sender's own or derived: ids,
 * names and labels, the planned end and counters, the site and room (its
 * own places), version and times. */
static const char *const isolation_sender_only[] = {
    "id",          "person_id",      "person_name", "person_status",        "person_status_label",
    "region_code", "region_name",    "incident_id", "kind_label",           "source_label",
    "state_label", "planned_end_at", "days_left",   "observed_days",        "ended_at",
    "site_id",     "site_name",      "room_no",     "release_status_label", "version",
    "created_at",  "updated_at",
};

/*
 * 隔离观察: an observation of a person, written through the case
 * workflow's own contract (case_observation_put: put on the list, its
 * fields changed, ended as the sender ended it; the person's status, the
 * isolations row the code reads, the counters and the timeline as for
 * staff). One from another fangkong carries the sender's id ("in:isolations"):
 * sent again or changed later it updates the observation written the
 * first time.
 */
static err isolation_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t pid;
    struct scope sc;
    err e = person_granted(x, rec, false, &pid, &sc);
    if (e)
        return e;
    int64_t remote = id_parse(json_str(rec, "id")), mapped = 0;
    if (remote && (e = exchange_idmap_find(x->d, x->caller->id, "in:isolations", remote, &mapped)))
        return e;
    json_t *body = json_copy(rec);
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    json_object_del(body, "person_id");
    if (remote) {
        for (size_t i = 0; i < sizeof isolation_sender_only / sizeof *isolation_sender_only; i++)
            json_object_del(body, isolation_sender_only[i]);
        /* the sender writes an absent hospital or end reason as null */
        static const char *const nulls[] = {"hospital", "end_reason", "start_at"};
        for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
            if (json_is_null(json_object_get(body, nulls[i])))
                json_object_del(body, nulls[i]);
    }
    struct principal who = x->who;
    who.scope = sc;
    if ((e = db_begin(x->d))) {
        json_decref(body);
        return e;
    }
    e = case_observation_put(x->d, x->a, &who, pid, mapped, body, id_r);
    json_decref(body);
    if (!e && remote && !mapped)
        e = exchange_idmap_put(x->d, x->caller->id, "in:isolations", remote, *id_r);
    if (e || (e = db_commit(x->d))) {
        db_rollback(x->d);
        return e;
    }
    audit_call(x, mapped ? "observation.update" : "observation.create", "observation", *id_r, "ok",
               "via=exchange");
    return E_OK;
}

static err isolations_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, isolation_write, NULL, out_r);
}

/* ---- cases (status changes) ------------------------------------------------------- */

/* The members of a status change as another fangkong sends it
 * (case_status_change_json) that are the sender's own: its id, the
 * status it came from, labels, time and author. */
static const char *const case_sender_only[] = {
    "id", "from",    "from_label", "to_label", "severity_label", "infection_route_label",
    "at", "user_id", "user_name",
};

/*
 * 病例状态变更: a status change of a person, written through the case
 * workflow (case_status_set: the state machine, the status_changes row,
 * the counters, the observation closed where the change closes one, the
 * code recomputed), as a status change of the staff API with the body
 * {to, severity, infection_route, reason}. A change from another fangkong
 * (the sender's "id") is remembered ("in:cases"): sent again it is the
 * one written. Its person may already show it, when the person arrived
 * after the change in its current status: a change whose target the
 * person already has (and the state machine refuses again) is accepted
 * as applied, nothing written, the result's id then the person's.
 */
static err case_write(struct exchange_ctx *x, json_t *rec, int64_t *id_r)
{
    int64_t pid;
    struct scope sc;
    err e = person_granted(x, rec, false, &pid, &sc);
    if (e)
        return e;
    int64_t remote = id_parse(json_str(rec, "id")), mapped = 0;
    if (remote && (e = exchange_idmap_find(x->d, x->caller->id, "in:cases", remote, &mapped)))
        return e;
    if (mapped) {
        *id_r = mapped;
        return E_OK;
    }
    json_t *body = json_copy(rec);
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    json_object_del(body, "person_id");
    if (remote) {
        for (size_t i = 0; i < sizeof case_sender_only / sizeof *case_sender_only; i++)
            json_object_del(body, case_sender_only[i]);
        /* the sender writes an absent severity or route as null */
        if (json_is_null(json_object_get(body, "severity")))
            json_object_del(body, "severity");
        if (json_is_null(json_object_get(body, "infection_route")))
            json_object_del(body, "infection_route");
    }
    if ((e = json_check(body, case_status_body, false))) {
        json_decref(body);
        return e;
    }
    const char *sev = json_str(body, "severity"), *route = json_str(body, "infection_route");
    struct case_status_in in = {
        .person_id = pid,
        .to = person_status_parse(json_str(body, "to")),
        .severity = sev ? (enum case_severity)vocab_parse(&case_severity_vocab, sev) : 0,
        .route = route ? (enum infection_route)vocab_parse(&infection_route_vocab, route) : 0,
        .reason = arena_strdup(x->a, json_str(body, "reason")),
    };
    json_decref(body);
    struct principal who = x->who;
    who.scope = sc;
    int64_t change = 0;
    if ((e = db_begin(x->d)))
        return e;
    if (!(e = case_status_set(x->d, x->a, &who, &in, &change)) && remote)
        e = exchange_idmap_put(x->d, x->caller->id, "in:cases", remote, change);
    if (e || (e = db_commit(x->d))) {
        db_rollback(x->d);
        if (e != E_CONFLICT || !remote || strcmp(err_last()->slug, "invalid_transition"))
            return e;
        /* already applied: the person shows the change's target */
        struct person cur;
        err e2 = person_find(x->d, x->a, &sc, pid, &cur);
        if (e2 || (int)cur.status != in.to)
            return e2 ? e2 : e;
        err_clear();
        *id_r = pid;
        return E_OK;
    }
    audit_call(x, "person.status", "person", pid, "ok",
               arena_printf(x->a, "to=%s via=exchange", person_status_name(in.to)));
    *id_r = change;
    return E_OK;
}

static err cases_post(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return batch_write(x, in, case_write, NULL, out_r);
}

/* ---- reads ------------------------------------------------------------------------------ */

#define READ_PAGE_MAX 100

/* page (1..) and page_size (1..READ_PAGE_MAX, default 20) of a read. */
static err page_params(json_t *in, int64_t *page_r, int64_t *size_r)
{
    err_collect_begin();
    err e = param_int(in, "page", 1, INT32_MAX, 1, "page", page_r);
    err x2 = param_int(in, "page_size", 1, READ_PAGE_MAX, 20, "page_size", size_r);
    err_collect_end();
    return e ? e : x2;
}

static json_t *page_reply(json_t *items, int64_t total, int64_t page, int64_t size)
{
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(page));
    json_object_set_new(o, "page_size", json_integer(size));
    return o;
}

/* The zones inside the call's region (the "region" parameter, else the
 * caller's first grant), as the code capability lists them; state
 * active | ended | pending filters. */
static err zones_get(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    int64_t page, size, total = 0;
    err e = page_params(in, &page, &size);
    if (e)
        return e;
    const char *state = json_str(in, "state");
    if (state && strcmp(state, "active") && strcmp(state, "ended") && strcmp(state, "pending"))
        return err_set(E_INPUT, "invalid_parameter", "state",
                       "state 应为 active、ended 或 pending");
    json_t *items = NULL;
    if ((e = code_zones(x->d, x->a, &x->who.scope, state, page, size, &items, &total)))
        return e;
    audit_call(x, "exchange.zones.read", "zones", 0, "ok",
               arena_printf(x->a, "records=%zu", json_array_size(items)));
    *out_r = page_reply(items, total, page, size);
    return E_OK;
}

/* The national list of risk areas (code/risk.c): level medium | high,
 * state active | ended, region (a subtree) filter. */
static err risk_areas_get(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    struct code_risk_filter f = {0};
    err e = page_params(in, &f.page, &f.page_size);
    if (e)
        return e;
    const char *level = json_str(in, "level"), *state = json_str(in, "state");
    if (level && strcmp(level, "medium") && strcmp(level, "high"))
        return err_set(E_INPUT, "invalid_parameter", "level", "level 应为 medium 或 high");
    if (state && strcmp(state, "active") && strcmp(state, "ended"))
        return err_set(E_INPUT, "invalid_parameter", "state", "state 应为 active 或 ended");
    f.level = !level ? 0 : !strcmp(level, "medium") ? 1 : 2;
    f.state = !state                     ? CODE_RISK_ALL
              : !strcmp(state, "active") ? CODE_RISK_ACTIVE
                                         : CODE_RISK_ENDED;
    if (json_object_get(in, "region"))
        f.region_code = x->region_code;
    json_t *items = NULL;
    int64_t total = 0;
    if ((e = code_risk_areas(x->d, x->a, &f, &items, &total)))
        return e;
    *out_r = page_reply(items, total, f.page, f.page_size);
    return E_OK;
}

/* A person's case: the status changes of person_id (inside the caller's
 * grants), newest first, reasons in full. */
static err cases_get(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    int64_t page, size, pid;
    struct scope sc;
    err e = page_params(in, &page, &size);
    if (e || (e = person_granted(x, in, true, &pid, &sc)))
        return e;
    json_t *items = NULL;
    int64_t total = 0;
    if ((e = case_status_changes(x->d, x->a, &sc, pid, true, page, size, &items, &total)))
        return e;
    audit_call(x, "exchange.cases.read", "person", pid, "ok",
               arena_printf(x->a, "records=%zu", json_array_size(items)));
    *out_r = page_reply(items, total, page, size);
    return E_OK;
}

/* The current figures of the call's region: every registered measure of
 * the statistics (stats/), a level's value or a flow's total and today's
 * count, over the region's subtree. */
static err stats_get(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    (void)in;
    const struct stats_measure *ms[256];
    size_t n = stats_measures(ms, sizeof ms / sizeof *ms);
    int64_t today = china_day(now_ms());
    json_t *figures = json_array();
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        int64_t v = 0, t = 0;
        if ((e = stats_sum(x->d, ms[i]->name, x->who.scope.lo, x->who.scope.hi, STATS_NOW,
                           STATS_NOW, &v)) ||
            (!ms[i]->level && (e = stats_sum(x->d, ms[i]->name, x->who.scope.lo, x->who.scope.hi,
                                             today, today, &t))))
            break;
        json_t *f = json_object();
        json_object_set_new(f, "measure", json_string(ms[i]->name));
        json_object_set_new(f, "label", json_string(ms[i]->label));
        json_object_set_new(f, "kind", json_string(ms[i]->level ? "level" : "flow"));
        json_object_set_new(f, "value", json_integer(v));
        if (!ms[i]->level)
            json_object_set_new(f, "today", json_integer(t));
        json_array_append_new(figures, f);
    }
    if (e) {
        json_decref(figures);
        return e;
    }
    char code[19];
    regcode_format(x->region_code, code);
    json_t *o = json_object();
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "at", json_integer(now_ms()));
    json_object_set_new(o, "figures", figures);
    *out_r = o;
    return E_OK;
}

/* The health-code rules in force here, with their version (code_rules_version:
 * the time they were last saved, 0 for the defaults): what a child following
 * its parent's rules pulls (docs/exchange.md "Federation"). Not regional: the
 * rules are one list per instance. */
static err code_rules_get(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    (void)in;
    struct code_rule rules[CODE_RULES_MAX];
    size_t n;
    int64_t version;
    err e = code_rules_load(x->d, rules, &n);
    if (e || (e = code_rules_version(x->d, &version)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, code_rule_json(&rules[i]));
    audit_call(x, "exchange.code_rules.read", "code_rules", 0, "ok",
               arena_printf(x->a, "rules=%zu version=%lld", n, (long long)version));
    *out_r = json_pack("{s:I,s:o}", "version", (json_int_t)version, "rules", arr);
    return E_OK;
}

/* ---- the table --------------------------------------------------------------------- */

static const struct exchange_op ops[] = {
    {"persons.changes", "GET", "/exchange/v1/persons/changes", DS_PERSONS, false, persons_changes,
     "按变更序号读取人员信息的变更"},
    {"returns.changes", "GET", "/exchange/v1/returns/changes", DS_RETURNS, false, returns_changes,
     "按变更序号读取返程信息的变更"},
    {"contacts.changes", "GET", "/exchange/v1/contacts/changes", DS_CONTACTS, false,
     contacts_changes, "按变更序号读取接触信息（流调密接排查结果）的变更"},
    {"isolations.changes", "GET", "/exchange/v1/isolations/changes", DS_ISOLATIONS, false,
     isolations_changes, "按变更序号读取隔离观察信息的变更"},
    {"cases.changes", "GET", "/exchange/v1/cases/changes", DS_CASES, false, cases_changes,
     "按变更序号读取病例状态变更"},
    {"results.changes", "GET", "/exchange/v1/results/changes", DS_RESULTS, false, results_changes,
     "按变更序号读取核酸检测结果的变更"},
    {"zones.changes", "GET", "/exchange/v1/zones/changes", DS_ZONES, false, zones_changes,
     "按变更序号读取封控区、管控区的变更"},
    {"risk_areas.changes", "GET", "/exchange/v1/risk_areas/changes", DS_RISK_AREAS, false,
     risk_areas_changes, "按变更序号读取中高风险地区的变更"},
    {"notices.changes", "GET", "/exchange/v1/notices/changes", DS_NOTICES, false, notices_changes,
     "按变更序号读取发往本级辖区全体居民的社区通知（发布与撤回，下级平台同步）"},
    {"persons.post", "POST", "/exchange/v1/persons", DS_PERSONS, true, persons_post,
     "批量报送人员信息（按证件号码新增或更新）"},
    {"returns.post", "POST", "/exchange/v1/returns", DS_RETURNS, true, returns_post,
     "批量报送重点人员返程信息"},
    {"results.post", "POST", "/exchange/v1/results", DS_RESULTS, true, results_post,
     "批量报送核酸检测结果"},
    {"contacts.post", "POST", "/exchange/v1/contacts", DS_CONTACTS, true, contacts_post,
     "批量报送流调接触信息（病例的密接、次密接与一般接触人员）"},
    {"isolations.post", "POST", "/exchange/v1/isolations", DS_ISOLATIONS, true, isolations_post,
     "批量报送隔离观察信息（居家隔离、居家医学观察、定点医院）"},
    {"cases.post", "POST", "/exchange/v1/cases", DS_CASES, true, cases_post,
     "批量报送人员状态变更（经状态机办理）"},
    {"cases.get", "GET", "/exchange/v1/cases", DS_CASES, false, cases_get,
     "查询人员的病例状态变更（person_id）"},
    {"zones.get", "GET", "/exchange/v1/zones", DS_ZONES, false, zones_get,
     "查询区划内的封控区、管控区"},
    {"risk_areas.get", "GET", "/exchange/v1/risk_areas", DS_RISK_AREAS, false, risk_areas_get,
     "查询中高风险地区"},
    {"stats.get", "GET", "/exchange/v1/stats", DS_STATS, false, stats_get, "查询区划当前统计数据"},
    {"code_rules.get", "GET", "/exchange/v1/code_rules", DS_CODE_RULES, false, code_rules_get,
     "查询本平台现行的健康码赋码规则及其版本（下级平台同步上级规则）"},
};

const struct exchange_op *exchange_data_ops(size_t *n_r)
{
    *n_r = sizeof ops / sizeof *ops;
    return ops;
}
