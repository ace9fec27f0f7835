/*
 * HTTP handlers of devices (device.h):
 *
 *   POST   /api/v1/devices               register a device; the reply holds its secret, once (201)
 *   GET    /api/v1/devices               devices in scope with their status
 *   GET    /api/v1/devices/{id}          one device
 *   PATCH  /api/v1/devices/{id}          {name?, heartbeat_s?, enabled?}
 *   DELETE /api/v1/devices/{id}
 *   POST   /api/v1/devices/{id}/secret   a new secret (the old one stops working)
 *   POST   /api/v1/devices/readings      a device posts a reading   (Authorization: Device
 * id:secret) POST   /api/v1/devices/heartbeat     a device posts a heartbeat (Authorization: Device
 * id:secret)
 *
 * Every change to the registry rewrites the broker's files when the server
 * manages them (FK_MQTT_BROKER_DIR).
 */
#include <math.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "device/device.h"

static json_t *device_json(const struct device *v, int64_t now)
{
    bool silent = v->enabled && v->last_seen_at + v->heartbeat_s * 1000 < now;
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_object_set_new(o, "name", json_string(v->name));
    json_object_set_new(o, "kind", json_string(device_kind_name(v->kind)));
    json_set_id(o, "venue_id", v->venue_id);
    json_set_region(o, v->region_code, NULL);
    json_object_set_new(o, "heartbeat_s", json_integer(v->heartbeat_s));
    json_object_set_new(o, "enabled", json_boolean(v->enabled));
    json_object_set_new(o, "status",
                        json_string(!v->enabled ? "disabled"
                                    : silent    ? "silent"
                                                : "online"));
    json_object_set_new(o, "last_seen_at", json_integer(v->last_seen_at));
    json_object_set_new(o, "readings", json_integer(v->readings));
    json_object_set_new(o, "topic", json_sprintf(DEVICE_TOPIC_PREFIX "%lld/", (long long)v->id));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    return o;
}

static err reply_with_secret(struct req *r, int status, const struct device *v, const char *secret)
{
    json_t *o = device_json(v, now_ms());
    json_object_set_new(o, "secret", json_string(secret));
    json_object_set_new(o, "credential", json_sprintf("%lld:%s", (long long)v->id, secret));
    const char *user = arena_printf(r->a, "%lld", (long long)v->id);
    const char *readings =
        arena_printf(r->a, DEVICE_TOPIC_PREFIX "%lld/readings", (long long)v->id);
    const char *hb = arena_printf(r->a, DEVICE_TOPIC_PREFIX "%lld/heartbeat", (long long)v->id);
    json_object_set_new(o, "mqtt",
                        json_pack("{s:s, s:s, s:s, s:s}", "username", user, "password", secret,
                                  "readings_topic", readings, "heartbeat_topic", hb));
    return reply_json(r, status, o);
}

static const struct jfield device_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 100, "设备名称", NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "设备类型", NULL, &device_kind_vocab},
    {"venue_id", J_STRING, JF_REQUIRED, 1, 20, "安装点位", NULL},
    {"heartbeat_s", J_INT, 0, DEVICE_HEARTBEAT_MIN, DEVICE_HEARTBEAT_MAX, "心跳间隔（秒）", NULL},
    {"enabled", J_BOOL, 0, 0, 0, "启用", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err name_ok(const char *s)
{
    if (s && (!utf8_valid_text(s) || strpbrk(s, "\t\r\n")))
        return err_set(E_INPUT, "invalid_value", "name", "设备名称含有不允许的字符");
    return E_OK;
}

static err post_device(struct req *r)
{
    json_t *b = r->body;
    struct device v = {.name = json_str(b, "name"),
                       .kind = device_kind_parse(json_str(b, "kind")),
                       .venue_id = id_parse(json_str(b, "venue_id")),
                       .heartbeat_s = json_int(b, "heartbeat_s", 60),
                       .enabled = json_bool(b, "enabled", true)};
    char secret[DEVICE_SECRET_HEX + 1];
    err e = name_ok(v.name);
    if (e)
        return e;
    if (v.venue_id <= 0)
        return err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在或不在您的管辖范围内");
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = device_create(r->db, r->a, &r->who->scope, &v, secret)) ||
        (e = device_changed(r->db, v.id, DEVICE_ADDED))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "device.create", "device", v.id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    device_broker_sync(r->db);
    return reply_with_secret(r, 201, &v, secret);
}

static err get_devices(struct req *r)
{
    int64_t page, size, total;
    struct device *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e || (e = device_list(r->db, r->a, &r->who->scope, page, size, &items, &n, &total)))
        return e;
    int64_t now = now_ms();
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, device_json(&items[i], now));
    return reply_page(r, arr, total, page, size);
}

static err reply_device(struct req *r, int64_t id)
{
    struct device v;
    err e = device_find(r->db, r->a, &r->who->scope, id, &v);
    return e ? e : reply_json(r, 200, device_json(&v, now_ms()));
}

static err get_device(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_device(r, id);
}

static const struct jfield patch_fields[] = {
    {"name", J_STRING, 0, 1, 100, "设备名称", NULL},
    {"heartbeat_s", J_INT, 0, DEVICE_HEARTBEAT_MIN, DEVICE_HEARTBEAT_MAX, "心跳间隔（秒）", NULL},
    {"enabled", J_BOOL, 0, 0, 0, "启用", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err patch_device(struct req *r)
{
    int64_t id;
    json_t *b = r->body;
    err e = req_param_id(r, 0, &id);
    if (e || (e = name_ok(json_str(b, "name"))))
        return e;
    if (!json_object_size(b))
        return err_set(E_INPUT, "empty_update", NULL, "没有要修改的内容");
    int enabled = json_has(b, "enabled") ? json_bool(b, "enabled", true) : -1;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = device_update(r->db, &r->who->scope, id, json_str(b, "name"),
                           json_int(b, "heartbeat_s", 0), enabled)) ||
        (enabled >= 0 &&
         (e = device_changed(r->db, id, enabled ? DEVICE_ENABLED : DEVICE_DISABLED)))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "device.update", "device", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    device_broker_sync(r->db);
    return reply_device(r, id);
}

static err delete_device(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (e || (e = device_delete(r->db, &r->who->scope, id)) ||
        (e = device_changed(r->db, id, DEVICE_REMOVED))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "device.delete", "device", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    device_broker_sync(r->db);
    return reply_empty(r);
}

static err post_secret(struct req *r)
{
    int64_t id;
    char secret[DEVICE_SECRET_HEX + 1];
    struct device v;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (e || (e = device_secret_reset(r->db, &r->who->scope, id, secret)) ||
        (e = device_find(r->db, r->a, &r->who->scope, id, &v))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "device.secret_reset", "device", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    device_broker_sync(r->db);
    return reply_with_secret(r, 200, &v, secret);
}

/* ---- the devices' own routes ------------------------------------------------------------- */

static err device_of(struct req *r, struct device *dev)
{
    const char *auth = req_header(r, "Authorization");
    if (!auth || strncmp(auth, "Device ", 7)) {
        device_refused(DEVREF_UNKNOWN_DEVICE);
        return err_set(E_AUTH, "device_auth_failed", NULL,
                       "缺少设备凭据（Authorization: Device 设备编号:密钥）");
    }
    return device_authenticate(r->db, r->a, auth + 7, dev);
}

static err post_reading(struct req *r)
{
    struct device dev;
    struct device_reading rd;
    size_t n;
    err e = device_of(r, &dev);
    if (e)
        return e;
    const char *body = req_raw_body(r, &n);
    if ((e = device_reading_parse(r->a, body ? body : "", body ? n : 0, &rd))) {
        device_refused(DEVREF_MALFORMED);
        return e;
    }
    if ((e = device_reading_record(r->db, r->a, &dev, &rd, "http")))
        return e;
    json_t *o = json_object();
    json_set_id(o, "reading_id", rd.id);
    json_object_set_new(o, "fever", json_boolean(rd.fever));
    json_object_set_new(o, "threshold", json_real(round(rd.threshold * 10) / 10));
    json_object_set_new(o, "person_recorded", json_boolean(rd.person_known != 0));
    json_object_set_new(o, "at", json_integer(rd.at));
    return reply_json(r, 201, o);
}

static err post_heartbeat(struct req *r)
{
    struct device dev;
    size_t n;
    err e = device_of(r, &dev);
    if (e)
        return e;
    const char *body = req_raw_body(r, &n);
    if ((e = device_heartbeat_parse(body ? body : "", body ? n : 0))) {
        device_refused(DEVREF_MALFORMED);
        return e;
    }
    if ((e = device_heartbeat(r->db, &dev)))
        return e;
    return reply_json(r, 200, json_pack("{s:b, s:I}", "ok", 1, "at", (json_int_t)now_ms()));
}

const struct route device_routes[] = {
    {M_POST, "/api/v1/devices", post_device, PERM_DEVICE_WRITE, 0, device_fields,
     "登记测温/门禁/摄像设备（返回一次性密钥）", "device", 0},
    {M_GET, "/api/v1/devices", get_devices, PERM_DEVICE_READ, 0, NULL, "设备列表和在线状态",
     "device", 0},
    {M_GET, "/api/v1/devices/{id}", get_device, PERM_DEVICE_READ, 0, NULL, "设备详情", "device", 0},
    {M_PATCH, "/api/v1/devices/{id}", patch_device, PERM_DEVICE_WRITE, 0, patch_fields, "修改设备",
     "device", 0},
    {M_DELETE, "/api/v1/devices/{id}", delete_device, PERM_DEVICE_WRITE, 0, NULL, "删除设备",
     "device", 0},
    {M_POST, "/api/v1/devices/{id}/secret", post_secret, PERM_DEVICE_WRITE, 0, NULL,
     "重置设备密钥（旧密钥作废）", "device", 0},
    {M_POST, "/api/v1/devices/readings", post_reading, PERM_NONE, ROUTE_PUBLIC | ROUTE_RAW_BODY,
     NULL, "设备上报测温数据（Authorization: Device 编号:密钥）", "device", 8192},
    {M_POST, "/api/v1/devices/heartbeat", post_heartbeat, PERM_NONE, ROUTE_PUBLIC | ROUTE_RAW_BODY,
     NULL, "设备心跳", "device", 8192},
};
const size_t device_routes_n = sizeof device_routes / sizeof device_routes[0];
