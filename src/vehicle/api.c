/*
 * HTTP handlers of vehicles (vehicle.h):
 *
 *   POST   /api/v1/me/vehicles         a resident registers their own vehicle (201)
 *   GET    /api/v1/me/vehicles         the resident's vehicles
 *   PATCH  /api/v1/me/vehicles/{id}    the resident corrects one (plate, kind, note)
 *   DELETE /api/v1/me/vehicles/{id}    the resident removes one
 *   POST   /api/v1/vehicles            staff register a vehicle for a household's person (201)
 *   GET    /api/v1/vehicles            staff: vehicles in scope (?owner_person_id=, ?plate=)
 *   GET    /api/v1/vehicles/{id}       staff: one vehicle
 *   PATCH  /api/v1/vehicles/{id}       staff edit one (any field; a new owner moves it)
 *   DELETE /api/v1/vehicles/{id}       staff remove one
 *   POST   /api/v1/vehicle-reads       a gate camera system posts a plate read
 *   GET    /api/v1/vehicle-passages    staff: passages in scope (?venue_id=)
 *
 * A plate read comes from a staff account holding vehicle.gate (the
 * built-in role exchange_client) for a venue in its scope, or from a
 * registered camera/gate device (device.h: Authorization: Device id:secret)
 * for the venue it is installed at.
 *
 * Every read of vehicles and passages is audited, and so is every refusal
 * (security/audit.h: audit_refusal); a plate read's passage commits with its
 * entry (the device, or the account, as the actor).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "device/device.h"
#include "person/person.h"
#include "security/audit.h"
#include "vehicle/vehicle.h"

static json_t *vehicle_json(const struct vehicle *v)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_object_set_new(o, "plate", json_string(v->plate));
    json_object_set_new(o, "kind", json_string(vehicle_kind_name(v->kind)));
    json_set_id(o, "owner_person_id", v->owner_person_id);
    if (v->owner_name) /* lists only: a person reads a name, not an id */
        json_object_set_new(o, "owner_name", json_string(v->owner_name));
    json_set_region(o, v->region_code, v->region_name); /* the name: lists only */
    json_object_set_new(o, "household_no", json_string(v->household_no));
    json_object_set_new(o, "note", json_string(v->note));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    return o;
}

static const struct jfield vehicle_fields[] = {
    {"plate", J_STRING, JF_REQUIRED, 1, 16, "车牌号码", NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "车辆类型", NULL, &vehicle_kind_vocab},
    {"owner_person_id", J_STRING, JF_REQUIRED, 1, 20, "车主", NULL},
    {"household_no", J_STRING, JF_NULLABLE, 0, 50, "户号", NULL},
    {"note", J_STRING, JF_NULLABLE, 0, 200, "备注", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The resident's form has no owner: it is the resident's own person. */
static const struct jfield me_vehicle_fields[] = {
    {"plate", J_STRING, JF_REQUIRED, 1, 16, "车牌号码", NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "车辆类型", NULL, &vehicle_kind_vocab},
    {"note", J_STRING, JF_NULLABLE, 0, 200, "备注", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The same fields, each optional, for an edit. */
static const struct jfield vehicle_patch_fields[] = {
    {"plate", J_STRING, 0, 1, 16, "车牌号码", NULL},
    {"kind", J_STRING, 0, 0, 0, "车辆类型", NULL, &vehicle_kind_vocab},
    {"owner_person_id", J_STRING, 0, 1, 20, "车主", NULL},
    {"household_no", J_STRING, JF_NULLABLE, 0, 50, "户号", NULL},
    {"note", J_STRING, JF_NULLABLE, 0, 200, "备注", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct jfield me_vehicle_patch_fields[] = {
    {"plate", J_STRING, 0, 1, 16, "车牌号码", NULL},
    {"kind", J_STRING, 0, 0, 0, "车辆类型", NULL, &vehicle_kind_vocab},
    {"note", J_STRING, JF_NULLABLE, 0, 200, "备注", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err register_and_reply(struct req *r, const struct scope *sc, struct vehicle *v)
{
    char plate[PLATE_MAX];
    err e = check_text(v->note, "note", "备注", 200, TEXT_ONE_LINE);
    if (!e && !(e = plate_normalise(v->plate, "plate", plate, NULL)))
        v->plate = plate;
    if (e || (e = check_text(v->household_no, "household_no", "户号", 50, TEXT_ONE_LINE)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = vehicle_register(r->db, r->a, sc, r->who->user_id, v))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "vehicle.create", "vehicle", 0, e, NULL);
    }
    req_audit(r, "vehicle.create", "vehicle", v->id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 201, vehicle_json(v));
}

/* The change a PATCH body asks for (fields already checked by the table). */
static err change_from(struct req *r, struct vehicle_change *c)
{
    json_t *b = r->body;
    memset(c, 0, sizeof *c);
    if (json_has(b, "plate")) {
        c->set |= VEH_PLATE;
        c->plate = json_str(b, "plate");
    }
    if (json_has(b, "kind")) {
        c->set |= VEH_KIND;
        c->kind = vehicle_kind_parse(json_str(b, "kind"));
    }
    if (json_has(b, "owner_person_id")) {
        c->set |= VEH_OWNER;
        c->owner_person_id = id_parse(json_str(b, "owner_person_id"));
    }
    if (json_has(b, "household_no")) {
        c->set |= VEH_HOUSEHOLD;
        c->household_no = json_str(b, "household_no");
    }
    if (json_has(b, "note")) {
        c->set |= VEH_NOTE;
        c->note = json_str(b, "note");
    }
    err e = check_text(c->household_no, "household_no", "户号", 50, TEXT_ONE_LINE);
    return e ? e : check_text(c->note, "note", "备注", 200, TEXT_ONE_LINE);
}

static err update_and_reply(struct req *r, const struct scope *sc, int64_t owner)
{
    int64_t id;
    struct vehicle_change c;
    struct vehicle v;
    err e = req_param_id(r, 0, &id);
    if (e || (e = change_from(r, &c)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = vehicle_update(r->db, r->a, sc, id, owner, &c, &v))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "vehicle.update", "vehicle", id, e, NULL);
    }
    req_audit(r, "vehicle.update", "vehicle", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, vehicle_json(&v));
}

/* Delete vehicle `id` (of `owner` when not 0) in scope `sc`, audited in the
 * write's transaction. */
static err delete_and_reply(struct req *r, const struct scope *sc, int64_t id, int64_t owner)
{
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    err e = vehicle_delete(r->db, sc, id, owner);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "vehicle.delete", "vehicle", id, e, NULL);
    }
    req_audit(r, "vehicle.delete", "vehicle", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* The resident's own person; a refusal (a staff account, no record) is
 * audited under `action`. */
static err residents_person(struct req *r, const char *action, struct person *p)
{
    err e = r->who->resident
                ? person_self_find(r->db, r->a, r->who, p)
                : err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return audit_refusal(r->db, r->who, r->ip, action, "vehicle", 0, e, NULL);
}

static err post_me_vehicle(struct req *r)
{
    struct person p;
    err e = residents_person(r, "vehicle.create", &p);
    if (e || (e = person_require_verified(r->db, p.id))) /* self-asserted identity: no vehicle */
        return e;
    struct scope own = scope_of(p.region_code);
    struct vehicle v = {.plate = json_str(r->body, "plate"),
                        .kind = vehicle_kind_parse(json_str(r->body, "kind")),
                        .owner_person_id = p.id,
                        .household_no = p.household,
                        .note = json_str(r->body, "note")};
    return register_and_reply(r, &own, &v);
}

static err reply_vehicles(struct req *r, const struct scope *sc, int64_t owner, const char *plate,
                          bool self)
{
    int64_t page, size, total;
    struct vehicle *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e || (e = vehicle_list(r->db, r->a, sc, owner, plate, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, vehicle_json(&items[i]));
    /* plates and owners are personal data: every list is audited */
    req_audit(r, "vehicle.list", owner ? "person" : "vehicle", owner, "ok",
              arena_printf(r->a, "count=%zu%s%s", n, plate ? ",search=plate" : "",
                           self ? ",view=self" : ""));
    return reply_page(r, arr, total, page, size);
}

static err get_me_vehicles(struct req *r)
{
    struct person p;
    err e = residents_person(r, "vehicle.list", &p);
    if (e)
        return e;
    struct scope own = scope_of(p.region_code);
    return reply_vehicles(r, &own, p.id, NULL, true);
}

static err patch_me_vehicle(struct req *r)
{
    struct person p;
    err e = residents_person(r, "vehicle.update", &p);
    if (e)
        return e;
    struct scope all = scope_all(); /* the owner check narrows it to their own */
    return update_and_reply(r, &all, p.id);
}

static err delete_me_vehicle(struct req *r)
{
    struct person p;
    int64_t id;
    err e = residents_person(r, "vehicle.delete", &p);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    struct scope all = scope_all();
    return delete_and_reply(r, &all, id, p.id);
}

static err post_vehicle(struct req *r)
{
    struct vehicle v = {.plate = json_str(r->body, "plate"),
                        .kind = vehicle_kind_parse(json_str(r->body, "kind")),
                        .owner_person_id = id_parse(json_str(r->body, "owner_person_id")),
                        .household_no = json_str(r->body, "household_no"),
                        .note = json_str(r->body, "note")};
    if (v.owner_person_id <= 0)
        return err_set(E_NOT_FOUND, "unknown_owner", "owner_person_id",
                       "车主不存在或不在您的管辖范围内");
    return register_and_reply(r, &r->who->scope, &v);
}

static err get_vehicles(struct req *r)
{
    const char *s = req_query(r, "owner_person_id"), *q = req_query(r, "plate");
    int64_t owner = 0;
    if (s && (owner = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "owner_person_id",
                       "参数 owner_person_id 不正确");
    /* an exact plate, normalised as registration normalises it: the match
     * is by blind index, so a partial plate cannot be searched */
    char plate[PLATE_MAX];
    err e = q && *q ? plate_normalise(q, "plate", plate, NULL) : E_OK;
    if (e)
        return e;
    return reply_vehicles(r, &r->who->scope, owner, q && *q ? plate : NULL, false);
}

static err get_vehicle(struct req *r)
{
    int64_t id;
    struct vehicle v;
    err e = req_param_id(r, 0, &id);
    if (e || (e = vehicle_find(r->db, r->a, &r->who->scope, id, &v)))
        return audit_refusal(r->db, r->who, r->ip, "vehicle.read", "vehicle", id, e, NULL);
    req_audit(r, "vehicle.read", "vehicle", id, "ok", NULL);
    return reply_json(r, 200, vehicle_json(&v));
}

static err patch_vehicle(struct req *r)
{
    return update_and_reply(r, &r->who->scope, 0);
}

static err delete_vehicle(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "vehicle.delete", "vehicle", id, e, NULL);
    return delete_and_reply(r, &r->who->scope, id, 0);
}

/* ---- gates ------------------------------------------------------------------------------ */

static const char *const directions[] = {"in", "out", NULL};

static const struct jfield read_fields[] = {
    {"venue_id", J_STRING, JF_REQUIRED, 1, 20, "点位", NULL},
    {"plate", J_STRING, JF_REQUIRED, 1, 16, "车牌号码", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", directions},
    {"at", J_INT, JF_NULLABLE, 0, 0, "识别时间", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/*
 * The entry of a plate read, appended in the passage's transaction: the
 * passage names a personal vehicle (or a visitor's), so it is a write of
 * personal data. A device has no account, so the entry names it as the
 * actor ("device:<id>", role "device"); a staff reader is the request's
 * principal. A failed append poisons the transaction: no passage without
 * its entry.
 */
static err audit_plate_read(struct req *r, const struct vehicle_passage *p)
{
    char detail[96];
    snprintf(detail, sizeof detail, "direction=%s verdict=%s reason=%s", p->direction,
             p->verdict == VEHICLE_ALLOW ? "allow" : "deny", p->reason);
    if (!p->device_id) {
        req_audit(r, "vehicle_passage.create", "vehicle_passage", p->id, "ok", detail);
        return req_audit_failed(r);
    }
    char actor[32];
    snprintf(actor, sizeof actor, "device:%lld", (long long)p->device_id);
    struct audit_entry ae = {
        .user_id = 0,
        .username = actor,
        .role = "device",
        .ip = r->ip,
        .action = "vehicle_passage.create",
        .object_type = "vehicle_passage",
        .object_id = p->id,
        .result = "ok",
        .detail = detail,
    };
    return audit_log(r->db, &ae);
}

static err post_read(struct req *r)
{
    char plate[PLATE_MAX];
    struct vehicle_passage p = {.direction = json_str(r->body, "direction"),
                                .at = json_int(r->body, "at", 0),
                                .venue_id = id_parse(json_str(r->body, "venue_id"))};
    struct scope sc;
    const char *auth = req_header(r, "Authorization");
    err e;
    if (auth && !strncmp(auth, "Device ", 7)) {
        struct device dev;
        if ((e = device_authenticate(r->db, r->a, auth + 7, &dev)))
            return e;
        /* a thermometer's credential reports temperatures, never plates */
        if (dev.kind != DEVICE_CAMERA && dev.kind != DEVICE_GATE)
            return err_set(E_FORBIDDEN, "wrong_device_kind", NULL,
                           "只有车牌识别摄像机或道闸设备可以上报车牌识别结果");
        if (dev.venue_id != p.venue_id)
            return err_set(E_FORBIDDEN, "wrong_venue", "venue_id",
                           "设备只能上报其所在点位的识别结果");
        sc = scope_of(dev.region_code);
        p.device_id = dev.id;
    } else if (r->who && principal_can(r->who, PERM_VEHICLE_GATE) && !auth_pending(r->who)) {
        sc = r->who->scope;
        p.reader_user_id = r->who->user_id;
    } else if (r->who) {
        return err_set(E_FORBIDDEN, "forbidden", NULL, "您没有上报车牌识别结果的权限");
    } else {
        return err_set(E_AUTH, "unauthenticated", NULL, "请先登录或使用设备凭据");
    }
    if ((e = plate_normalise(json_str(r->body, "plate"), "plate", plate, NULL)))
        return e;
    p.plate = plate;
    if (p.venue_id <= 0)
        return err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在或不在您的管辖范围内");
    db_hold(r->db); /* the entry commits with the passage (security/audit.h) */
    if ((e = vehicle_read(r->db, r->a, &sc, &p))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    if ((e = audit_plate_read(r, &p))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(p.verdict == VEHICLE_ALLOW ? "allow" : "deny"));
    json_object_set_new(o, "reason", json_string(p.reason));
    json_object_set_new(o, "message", json_string(vehicle_reason_label(p.reason)));
    json_object_set_new(o, "plate", json_string(p.plate));
    json_set_id(o, "passage_id", p.id);
    json_object_set_new(o, "at", json_integer(p.at));
    json_object_set_new(o, "vehicle_id",
                        p.vehicle_id ? json_sprintf("%lld", (long long)p.vehicle_id) : json_null());
    json_object_set_new(o, "visitor_id",
                        p.visitor_id ? json_sprintf("%lld", (long long)p.visitor_id) : json_null());
    return reply_json(r, 200, o);
}

static err get_passages(struct req *r)
{
    int64_t page, size, total, venue = 0;
    const char *s = req_query(r, "venue_id");
    if (s && (venue = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "venue_id", "参数 venue_id 不正确");
    struct vehicle_passage *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e ||
        (e = vehicle_passages(r->db, r->a, &r->who->scope, venue, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct vehicle_passage *p = &items[i];
        json_t *o = json_object();
        json_set_id(o, "id", p->id);
        json_set_id(o, "venue_id", p->venue_id);
        json_object_set_new(o, "plate", json_string(p->plate));
        json_object_set_new(o, "direction", json_string(p->direction));
        json_object_set_new(o, "at", json_integer(p->at));
        json_object_set_new(o, "verdict",
                            json_string(p->verdict == VEHICLE_ALLOW ? "allow" : "deny"));
        json_object_set_new(o, "reason", json_string(p->reason));
        json_object_set_new(o, "device_id",
                            p->device_id ? json_sprintf("%lld", (long long)p->device_id)
                                         : json_null());
        json_array_append_new(arr, o);
    }
    req_audit(r, "vehicle_passage.list", venue ? "venue" : "vehicle_passage", venue, "ok",
              arena_printf(r->a, "count=%zu", n));
    return reply_page(r, arr, total, page, size);
}

const struct route vehicle_routes[] = {
    {M_POST, "/api/v1/me/vehicles", post_me_vehicle, PERM_SELF, 0, me_vehicle_fields,
     "居民登记本人车辆", "vehicle", 0},
    {M_GET, "/api/v1/me/vehicles", get_me_vehicles, PERM_SELF, 0, NULL, "我的车辆", "vehicle", 0},
    {M_PATCH, "/api/v1/me/vehicles/{id}", patch_me_vehicle, PERM_SELF, 0, me_vehicle_patch_fields,
     "修改本人车辆", "vehicle", 0},
    {M_DELETE, "/api/v1/me/vehicles/{id}", delete_me_vehicle, PERM_SELF, 0, NULL, "删除本人车辆",
     "vehicle", 0},
    {M_POST, "/api/v1/vehicles", post_vehicle, PERM_VEHICLE_WRITE, 0, vehicle_fields,
     "为住户登记车辆", "vehicle", 0},
    {M_GET, "/api/v1/vehicles", get_vehicles, PERM_VEHICLE_READ, 0, NULL, "车辆列表", "vehicle", 0},
    {M_GET, "/api/v1/vehicles/{id}", get_vehicle, PERM_VEHICLE_READ, 0, NULL, "车辆详情", "vehicle",
     0},
    {M_PATCH, "/api/v1/vehicles/{id}", patch_vehicle, PERM_VEHICLE_WRITE, 0, vehicle_patch_fields,
     "修改车辆", "vehicle", 0},
    {M_DELETE, "/api/v1/vehicles/{id}", delete_vehicle, PERM_VEHICLE_WRITE, 0, NULL, "删除车辆",
     "vehicle", 0},
    {M_POST, "/api/v1/vehicle-reads", post_read, PERM_NONE, ROUTE_PUBLIC, read_fields,
     "卡口车牌识别结果上报（判定是否放行）", "vehicle", 0},
    {M_GET, "/api/v1/vehicle-passages", get_passages, PERM_VEHICLE_READ, 0, NULL, "车辆通行记录",
     "vehicle", 0},
};
const size_t vehicle_routes_n = sizeof vehicle_routes / sizeof vehicle_routes[0];
