/*
 * The registry, credentials, readings, heartbeats and silence check of
 * devices (device.h). The MQTT subscriber is in mqtt.c, the broker files in
 * broker.c, the HTTP handlers in api.c.
 */
#include "device/device.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "health/health.h"
#include "http/http.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "security/token.h"
#include "venue/venue.h"
#include "db/periodic.h"

static const struct vocab_word kinds[] = {
    [DEVICE_THERMOMETER] = {"thermometer", "测温设备"},
    [DEVICE_GATE] = {"gate", "门禁闸机"},
    [DEVICE_CAMERA] = {"camera", "车牌识别摄像机"},
    [DEVICE_FACE] = {"face", "人脸识别终端"},
};
const struct vocab device_kind_vocab = VOCAB("device_kinds", "设备类型", kinds);

enum device_kind device_kind_parse(const char *s)
{
    int k = vocab_parse(&device_kind_vocab, s);
    return k > 0 ? (enum device_kind)k : 0;
}

const char *device_kind_name(enum device_kind k)
{
    return vocab_name(&device_kind_vocab, (size_t)k);
}

const char *device_kind_label(enum device_kind k)
{
    return vocab_label(&device_kind_vocab, (size_t)k);
}

/* ---- counters ----------------------------------------------------------------------- */

static const char *const refusal_names[DEVREF__COUNT] = {
    "malformed", "unknown_device", "bad_secret", "disabled", "bad_topic", "unknown_person",
};
static const char refused_family[] = "fangkong_device_refused_total";

void device_refused(enum device_refusal why)
{
    if ((unsigned)why < DEVREF__COUNT)
        http_metric_inc(refused_family, refusal_names[why]);
}

/* ---- credentials -------------------------------------------------------------------- */

static err new_secret(char hex[DEVICE_SECRET_HEX + 1], uint8_t sm3_r[SM3_LEN], char broker_r[160])
{
    uint8_t raw[DEVICE_SECRET_HEX / 2], salt[12];
    err e = random_bytes(raw, sizeof raw);
    if (!e)
        e = random_bytes(salt, sizeof salt);
    if (e)
        return e;
    hex_encode(raw, sizeof raw, hex);
    sm3(hex, DEVICE_SECRET_HEX, sm3_r);
    return device_broker_hash(hex, salt, broker_r) ? E_OK : E_CRYPTO;
}

bool device_broker_hash(const char *password, const uint8_t salt[12], char out[160])
{
    uint8_t key[64];
    unsigned char s64[32], k64[96];
    if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, 12, 101, EVP_sha512(),
                           (int)sizeof key, key))
        return false;
    EVP_EncodeBlock(s64, salt, 12);
    EVP_EncodeBlock(k64, key, sizeof key);
    snprintf(out, 160, "$7$101$%s$%s", (const char *)s64, (const char *)k64);
    return true;
}

/* ---- registry --------------------------------------------------------------------------- */

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "not_found", NULL, "设备不存在");
}

err device_create(db *d, arena *a, const struct scope *sc, struct device *dev,
                  char secret_r[DEVICE_SECRET_HEX + 1])
{
    struct venue v;
    err e = venue_find(d, a, sc, dev->venue_id, &v);
    int64_t region = e ? 0 : v.region_code;
    if (e == E_NOT_FOUND) /* a reference outside the caller's scope: 404, as everywhere */
        return err_set(E_NOT_FOUND, "unknown_venue", "venue_id", "点位不存在或不在您的管辖范围内");
    if (e)
        return e;
    uint8_t h[SM3_LEN];
    char broker[160];
    if ((e = new_secret(secret_r, h, broker)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO devices (id, region_code, venue_id, name, kind, heartbeat_s, "
                        "enabled, secret_sm3, broker_hash, last_seen_at, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t now = now_ms();
    dev->id = id_new();
    dev->region_code = region;
    dev->last_seen_at = dev->created_at = dev->updated_at = now;
    db_bind_int64(s, 1, dev->id);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, dev->venue_id);
    db_bind_text(s, 4, dev->name);
    db_bind_text(s, 5, device_kind_name(dev->kind));
    db_bind_int64(s, 6, dev->heartbeat_s);
    db_bind_int64(s, 7, dev->enabled);
    db_bind_blob(s, 8, h, sizeof h);
    db_bind_text(s, 9, broker);
    db_bind_int64(s, 10, now);
    db_bind_int64(s, 11, now);
    db_bind_int64(s, 12, now);
    return db_run(s, NULL);
}

#define DCOLS                                                                                      \
    "id, region_code, venue_id, name, kind, heartbeat_s, enabled, last_seen_at, "                  \
    "silent_alert_id, readings, created_at, updated_at"

static void drow(arena *a, db_stmt *s, struct device *v)
{
    v->id = db_col_int64(s, 0);
    v->region_code = db_col_int64(s, 1);
    v->venue_id = db_col_int64(s, 2);
    v->name = arena_strdup(a, db_col_text(s, 3));
    v->kind = device_kind_parse(db_col_text(s, 4));
    v->heartbeat_s = db_col_int64(s, 5);
    v->enabled = db_col_int64(s, 6) != 0;
    v->last_seen_at = db_col_int64(s, 7);
    v->silent_alert_id = db_col_int64(s, 8);
    v->readings = db_col_int64(s, 9);
    v->created_at = db_col_int64(s, 10);
    v->updated_at = db_col_int64(s, 11);
}

err device_find(db *d, arena *a, const struct scope *sc, int64_t id, struct device *dev_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " DCOLS " FROM devices WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            drow(a, s, dev_r);
        else
            e = not_found();
    }
    db_done(s);
    return e;
}

err device_get(db *d, arena *a, int64_t id, struct device *dev_r)
{
    struct scope all = scope_all();
    return device_find(d, a, &all, id, dev_r);
}

err device_list(db *d, arena *a, const struct scope *sc, int64_t page, int64_t page_size,
                struct device **items_r, size_t *n_r, int64_t *total_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM devices WHERE region_code >= ? AND region_code < ? "
                       "AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        *total_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        "SELECT " DCOLS " FROM devices WHERE region_code >= ? AND region_code < ? "
                        "AND deleted_at = 0 ORDER BY id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, page_size);
    db_bind_int64(s, 4, paging_offset(page, page_size));
    struct device *items = arena_zalloc(a, sizeof *items * (size_t)(page_size > 0 ? page_size : 1));
    size_t n = 0;
    while (n < (size_t)page_size && !(e = db_row(s, &row)) && row)
        drow(a, s, &items[n++]);
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err device_update(db *d, const struct scope *sc, int64_t id, const char *name, int64_t heartbeat_s,
                  int enabled)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE devices SET name = COALESCE(?, name), heartbeat_s = CASE WHEN ? > "
                       "0 THEN ? ELSE heartbeat_s END, enabled = CASE WHEN ? >= 0 THEN ? ELSE "
                       "enabled END, updated_at = ? WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    int64_t changed = 0;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, heartbeat_s);
    db_bind_int64(s, 3, heartbeat_s);
    db_bind_int64(s, 4, enabled);
    db_bind_int64(s, 5, enabled);
    db_bind_int64(s, 6, now_ms());
    db_bind_int64(s, 7, id);
    db_bind_int64(s, 8, sc->lo);
    db_bind_int64(s, 9, sc->hi);
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : not_found();
}

err device_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE devices SET deleted_at = ?, enabled = 0 WHERE id = ? AND "
                       "region_code >= ? AND region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    int64_t changed = 0;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : not_found();
}

/* modules following the registry (device_on_change); read-only once serving */
static device_change_fn change_hooks[4];
static size_t n_change;

err device_on_change(device_change_fn fn)
{
    if (!fn || n_change == sizeof change_hooks / sizeof change_hooks[0])
        return err_set(E_INTERNAL, "internal", NULL, "设备变更钩子注册失败");
    change_hooks[n_change++] = fn;
    return E_OK;
}

err device_changed(db *d, int64_t device_id, enum device_change what)
{
    err e = E_OK;
    for (size_t i = 0; !e && i < n_change; i++)
        e = change_hooks[i](d, device_id, what);
    return e;
}

err device_secret_reset(db *d, const struct scope *sc, int64_t id,
                        char secret_r[DEVICE_SECRET_HEX + 1])
{
    uint8_t h[SM3_LEN];
    char broker[160];
    err e = new_secret(secret_r, h, broker);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE devices SET secret_sm3 = ?, broker_hash = ?, updated_at = ? WHERE "
                        "id = ? AND region_code >= ? AND region_code < ? AND deleted_at = 0",
                        &s)))
        return e;
    int64_t changed = 0;
    db_bind_blob(s, 1, h, sizeof h);
    db_bind_text(s, 2, broker);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, sc->lo);
    db_bind_int64(s, 6, sc->hi);
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : not_found();
}

err device_authenticate(db *d, arena *a, const char *cred, struct device *dev_r)
{
    const char *colon = cred ? strchr(cred, ':') : NULL;
    int64_t id = 0;
    if (colon) {
        char idtext[24];
        size_t n = (size_t)(colon - cred);
        if (n > 0 && n < sizeof idtext) {
            memcpy(idtext, cred, n);
            idtext[n] = '\0';
            id = id_parse(idtext);
        }
    }
    const char *secret = colon ? colon + 1 : "";
    if (id <= 0 || strlen(secret) != DEVICE_SECRET_HEX) {
        device_refused(DEVREF_MALFORMED);
        return err_set(E_AUTH, "device_auth_failed", NULL, "设备凭据不正确");
    }
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " DCOLS ", secret_sm3 FROM devices WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    e = db_row(s, &row);
    bool ok = false;
    if (row) {
        uint8_t h[SM3_LEN];
        size_t n;
        const void *stored = db_col_blob(s, 12, &n);
        sm3(secret, DEVICE_SECRET_HEX, h);
        ok = n == SM3_LEN && ct_equal(h, stored, SM3_LEN);
        if (ok)
            drow(a, s, dev_r);
    }
    db_done(s);
    if (e)
        return e;
    if (!ok) {
        device_refused(row ? DEVREF_BAD_SECRET : DEVREF_UNKNOWN_DEVICE);
        log_event(LOG_WARN, "device_refused", "reason", row ? "bad_secret" : "unknown_device",
                  NULL);
        return err_set(E_AUTH, "device_auth_failed", NULL, "设备凭据不正确");
    }
    if (!dev_r->enabled) {
        device_refused(DEVREF_DISABLED);
        return err_set(E_FORBIDDEN, "device_disabled", NULL, "设备已停用");
    }
    return E_OK;
}

/* ---- readings and heartbeats ------------------------------------------------------------- */

static const struct jfield reading_fields[] = {
    {"person_token", J_STRING, JF_NULLABLE, 1, 200, "健康码", NULL},
    {"person_id", J_STRING, JF_NULLABLE, 1, 20, "人员", NULL},
    {"temperature", J_NUMBER, JF_REQUIRED, 0, 0, "体温", NULL},
    {"at", J_INT, JF_NULLABLE, 0, 0, "测量时间", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

err device_reading_parse(arena *a, const char *text, size_t n, struct device_reading *r)
{
    json_t *o;
    memset(r, 0, sizeof *r);
    if (n > DEVICE_PAYLOAD_MAX)
        return err_set(E_INPUT, "invalid_json", NULL, "数据过长");
    err e = json_parse_body(text, n, &o);
    if (e)
        return e;
    if (!(e = json_check(o, reading_fields, false))) {
        const char *t = json_str(o, "person_token"), *pid = json_str(o, "person_id");
        r->person_token = t ? arena_strdup(a, t) : NULL;
        if (pid && (r->person_id = id_parse(pid)) <= 0)
            e = err_set(E_INPUT, "invalid_value", "person_id", "人员编号不正确");
        r->temperature = json_num(o, "temperature", 0);
        r->at = json_int(o, "at", 0);
        if (!e)
            e = health_reading_check(r->temperature, "temperature");
        if (!e && r->person_token && r->person_id)
            e = err_set(E_INPUT, "invalid_value", "person_id",
                        "person_token 和 person_id 只能给出一个");
    }
    json_decref(o);
    return e;
}

err device_heartbeat_parse(const char *text, size_t n)
{
    static const struct jfield hb_fields[] = {
        {"at", J_INT, JF_NULLABLE, 0, 0, "时间", NULL},
        {NULL, 0, 0, 0, 0, NULL, NULL},
    };
    if (n == 0)
        return E_OK;
    json_t *o;
    err e = json_parse_body(text, n, &o);
    if (e)
        return e;
    e = json_check(o, hb_fields, false);
    json_decref(o);
    return e;
}

err device_reading_record(db *d, arena *a, const struct device *dev, struct device_reading *r,
                          const char *via)
{
    int64_t now = now_ms();
    if (!r->at)
        r->at = now;
    if (r->at > now + 300000 || r->at < now - 86400000LL)
        return err_set(E_INPUT, "invalid_time", "at", "测量时间不正确");
    if (r->person_token) {
        struct token t;
        err e = token_verify(r->person_token, TOKEN_HEALTH, now, &t);
        if (e) {
            device_refused(DEVREF_UNKNOWN_PERSON);
            return e;
        }
        r->person_id = t.subject;
    }
    struct scope sc = r->person_token ? scope_all() : scope_of(dev->region_code);
    double threshold = VENUE_FEVER_DEFAULT;
    const char *venue_name = "";
    db_stmt *s;
    err e = db_prepare(d, "SELECT fever_threshold, name FROM venues WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, dev->venue_id);
    bool row; /* a failed look-up is no default threshold: e says so */
    if (!(e = db_row(s, &row)) && row) {
        threshold = db_col_double(s, 0);
        venue_name = arena_strdup(a, db_col_text(s, 1));
    }
    db_done(s);
    if (e)
        return e;
    r->threshold = threshold;
    r->fever = r->temperature >= threshold - 1e-9;
    if ((e = db_begin(d)))
        return e;
    if (r->person_id) {
        struct reading hr = {.person_id = r->person_id,
                             .at = r->at,
                             .celsius = r->temperature,
                             .source = "device",
                             .venue_id = dev->venue_id,
                             .device_id = dev->id};
        if ((e = health_reading_record_tx(d, a, &sc, &hr))) {
            if (e == E_NOT_FOUND) {
                device_refused(DEVREF_UNKNOWN_PERSON);
                e = err_set(E_NOT_FOUND, "unknown_person", "person_id", "人员不存在");
            }
            goto fail;
        }
        r->person_known = 1;
    }
    if ((e = db_prepare(d,
                        "INSERT INTO device_readings (id, region_code, device_id, venue_id, "
                        "person_id, temperature, fever, at, received_at, via) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    r->id = id_new();
    db_bind_int64(s, 1, r->id);
    db_bind_int64(s, 2, dev->region_code);
    db_bind_int64(s, 3, dev->id);
    db_bind_int64(s, 4, dev->venue_id);
    db_bind_int64(s, 5, r->person_id);
    db_bind_double(s, 6, round(r->temperature * 10) / 10);
    db_bind_int64(s, 7, r->fever);
    db_bind_int64(s, 8, r->at);
    db_bind_int64(s, 9, now);
    db_bind_text(s, 10, via);
    if ((e = db_run(s, NULL)))
        goto fail;
    if ((e = db_prepare(d,
                        "UPDATE devices SET last_seen_at = ?, silent_alert_id = 0, readings = "
                        "readings + 1 WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, dev->id);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (r->fever) {
        struct alert_new al = {
            .kind = ALERT_DEVICE_FEVER,
            .level = ALERT_CRITICAL,
            .region_code = dev->region_code,
            .venue_id = dev->venue_id,
            .person_id = r->person_id,
            .device_id = dev->id,
            .message = arena_printf(a, "设备“%s”（%s）测得体温%.1f℃，达到发热阈值%.1f℃", dev->name,
                                    venue_name, r->temperature, threshold),
            .detail = arena_printf(a, "{\"temperature\":%.1f,\"threshold\":%.1f,\"via\":\"%s\"}",
                                   r->temperature, threshold, via),
            .at = r->at,
        };
        if ((e = alert_raise(d, &al, NULL)))
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return e;
}

err device_heartbeat(db *d, const struct device *dev)
{
    db_stmt *s;
    err e =
        db_prepare(d, "UPDATE devices SET last_seen_at = ?, silent_alert_id = 0 WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, dev->id);
    return db_run(s, NULL);
}

#define SILENT_BATCH 256

err device_check_silent(db *d, int64_t now, int *raised_r)
{
    struct silent {
        int64_t id, region, venue, last, hb;
        char name[128];
    } *rows = calloc(SILENT_BATCH, sizeof *rows);
    if (!rows)
        return E_NOMEM;
    int n = 0, raised = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, venue_id, last_seen_at, heartbeat_s, name FROM "
                       "devices WHERE deleted_at = 0 AND enabled = 1 AND silent_alert_id = 0 AND "
                       "last_seen_at + heartbeat_s * 1000 < ? LIMIT 256",
                       &s);
    if (!e) {
        db_bind_int64(s, 1, now);
        bool row;
        while (n < SILENT_BATCH && !(e = db_row(s, &row)) && row) {
            rows[n] = (struct silent){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2),
                                      db_col_int64(s, 3), db_col_int64(s, 4), ""};
            snprintf(rows[n].name, sizeof rows[n].name, "%s", db_col_text(s, 5));
            n++;
        }
        db_done(s);
    }
    for (int i = 0; i < n && !e; i++) {
        char msg[320], detail[128];
        snprintf(msg, sizeof msg, "设备“%s”已超过%lld秒未发送心跳，可能离线", rows[i].name,
                 (long long)rows[i].hb);
        snprintf(detail, sizeof detail, "{\"last_seen_at\":%lld,\"heartbeat_s\":%lld}",
                 (long long)rows[i].last, (long long)rows[i].hb);
        struct alert_new al = {.kind = ALERT_DEVICE_SILENT,
                               .level = ALERT_WARNING,
                               .region_code = rows[i].region,
                               .venue_id = rows[i].venue,
                               .device_id = rows[i].id,
                               .message = msg,
                               .detail = detail,
                               .at = now};
        int64_t alert_id = 0, changed = 0;
        if ((e = db_begin(d)))
            break;
        /* claim the silence first: of several servers only one raises it */
        if (!(e = db_prepare(d,
                             "UPDATE devices SET silent_alert_id = -1 WHERE id = ? AND "
                             "silent_alert_id = 0 AND last_seen_at = ?",
                             &s))) {
            db_bind_int64(s, 1, rows[i].id);
            db_bind_int64(s, 2, rows[i].last);
            e = db_run(s, &changed);
        }
        if (!e && changed && !(e = alert_raise(d, &al, &alert_id)) &&
            !(e = db_prepare(d, "UPDATE devices SET silent_alert_id = ? WHERE id = ?", &s))) {
            db_bind_int64(s, 1, alert_id);
            db_bind_int64(s, 2, rows[i].id);
            e = db_run(s, NULL);
        }
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        raised += changed ? 1 : 0;
    }
    free(rows);
    if (raised_r)
        *raised_r = raised;
    return e;
}

/* ---- the silence worker ----------------------------------------------------------------- */

static err silence_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    int raised = 0;
    err e = device_check_silent(d, now, &raised);
    *n_r = raised;
    return e;
}

static struct periodic silence = PERIODIC_INIT("device_silent", silence_run, NULL);

err device_worker_start(const char *db_url, int check_s)
{
    return periodic_start(&silence, db_url, check_s);
}

void device_worker_stop(void)
{
    periodic_stop(&silence);
}
