/*
 * The MQTT subscriber (device.h): libmosquitto in its own network thread
 * (mosquitto_loop_start) with its own database connection, used only from
 * that thread's callbacks. Topics:
 *
 *   fk/devices/<device id>/readings   {person_token? | person_id?, temperature, at?}
 *   fk/devices/<device id>/heartbeat  {} or {"at": ms} or empty
 *
 * and the topics other modules register (device_on_topic: a face terminal's
 * acks and passages). Commands go the other way on
 * fk/devices/<device id>/commands (device_command_publish).
 *
 * Several servers share the broker (docs/cluster.md), so each subscribes
 * through the shared subscription $share/<FK_MQTT_GROUP>/… (default group
 * "fangkong"): the broker hands each device message to ONE member of the
 * group, not to every server. Mosquitto (>= 1.6; Debian 12 ships 2.0.11)
 * honours $share for MQTT v3.1.1 clients too, which libmosquitto is by
 * default, so the protocol version stays. A lone server is the whole group
 * and gets every message, as before. FK_MQTT_GROUP= (empty) subscribes
 * each server to everything, for a broker without shared subscriptions.
 *
 * The broker has authenticated the publisher and its ACL lets a device
 * publish only under its own id, so the id in the topic is the device.
 * Anything refused is counted and logged; nothing here stops the thread.
 */
#include <errno.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "device/device.h"
#include "device/internal.h"
#include "http/http.h"

static struct {
    struct mosquitto *m;
    db *d;
    bool running;
    atomic_bool connected;
    char prefix[96]; /* "$share/<group>/" or "" */
} q;

/* messages handled by this server, by topic (readings, heartbeat, the
 * registered ones): with shared subscriptions the servers' counts add up to
 * what the devices sent */
static const char received_family[] = "fangkong_mqtt_received_total";

/* topics and hooks other modules register before serving (device_on_topic,
 * device_on_seen); read-only while the MQTT thread runs */
#define TOPICS_MAX 4
static struct {
    char what[24];
    device_topic_fn fn;
} topics[TOPICS_MAX];
static size_t n_topics;
static device_seen_fn seen_hooks[TOPICS_MAX];
static size_t n_seen;

err device_on_topic(const char *what, device_topic_fn fn)
{
    if (!what || strlen(what) >= sizeof topics[0].what || n_topics == TOPICS_MAX || !fn)
        return err_set(E_INTERNAL, "internal", NULL, "设备消息主题注册失败");
    snprintf(topics[n_topics].what, sizeof topics[0].what, "%s", what);
    topics[n_topics++].fn = fn;
    return E_OK;
}

err device_on_seen(device_seen_fn fn)
{
    if (!fn || n_seen == TOPICS_MAX)
        return err_set(E_INTERNAL, "internal", NULL, "设备消息钩子注册失败");
    seen_hooks[n_seen++] = fn;
    return E_OK;
}

static device_topic_fn topic_handler(const char *what)
{
    for (size_t i = 0; i < n_topics; i++)
        if (!strcmp(topics[i].what, what))
            return topics[i].fn;
    return NULL;
}

err device_command_publish(int64_t device_id, const char *json)
{
    if (!q.running || !atomic_load(&q.connected))
        return err_set(E_UNAVAILABLE, "mqtt_unavailable", NULL, "设备通道未连接");
    char topic[64];
    snprintf(topic, sizeof topic, DEVICE_TOPIC_PREFIX "%lld/commands", (long long)device_id);
    int rc = mosquitto_publish(q.m, NULL, topic, (int)strlen(json), json, 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
        return err_set(E_UNAVAILABLE, "mqtt_unavailable", NULL, "设备通道未连接");
    return E_OK;
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)ud;
    if (rc) {
        log_event(LOG_WARN, "mqtt_connect_refused", "reason", mosquitto_connack_string(rc), NULL);
        return;
    }
    char sub[160];
    snprintf(sub, sizeof sub, "%s" DEVICE_TOPIC_PREFIX "+/readings", q.prefix);
    mosquitto_subscribe(m, NULL, sub, 1);
    snprintf(sub, sizeof sub, "%s" DEVICE_TOPIC_PREFIX "+/heartbeat", q.prefix);
    mosquitto_subscribe(m, NULL, sub, 1);
    for (size_t i = 0; i < n_topics; i++) {
        snprintf(sub, sizeof sub, "%s" DEVICE_TOPIC_PREFIX "+/%s", q.prefix, topics[i].what);
        mosquitto_subscribe(m, NULL, sub, 1);
    }
    atomic_store(&q.connected, true);
    log_event(LOG_INFO, "mqtt_connected", NULL);
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    (void)ud;
    (void)rc;
    atomic_store(&q.connected, false);
}

static void refuse(enum device_refusal why, const char *slug)
{
    device_refused(why);
    log_event(LOG_WARN, "device_message_refused", "via", "mqtt", "reason", slug, NULL);
}

/* "fk/devices/<id>/<what>": the id, and *what_r the last segment. */
static int64_t topic_device(const char *topic, const char **what_r)
{
    size_t pre = strlen(DEVICE_TOPIC_PREFIX);
    if (strncmp(topic, DEVICE_TOPIC_PREFIX, pre))
        return 0;
    const char *id = topic + pre, *slash = strchr(id, '/');
    if (!slash || slash == id || slash - id > 20)
        return 0;
    char buf[24];
    memcpy(buf, id, (size_t)(slash - id));
    buf[slash - id] = '\0';
    *what_r = slash + 1;
    return id_parse(buf);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    (void)ud;
    const char *what = "";
    int64_t id = topic_device(msg->topic, &what);
    bool reading = !strcmp(what, "readings"), heartbeat = !strcmp(what, "heartbeat");
    device_topic_fn other = reading || heartbeat ? NULL : topic_handler(what);
    if (id <= 0 || (!reading && !heartbeat && !other)) {
        refuse(DEVREF_BAD_TOPIC, "bad_topic");
        return;
    }
    http_metric_inc(received_family, reading ? "readings" : heartbeat ? "heartbeat" : what);
    /* its own: a message on the MQTT client's thread, not a request */
    arena *a = arena_new(0);
    if (!a)
        return;
    err_clear();
    struct device dev;
    err e = device_get(q.d, a, id, &dev);
    const char *payload = msg->payloadlen > 0 ? msg->payload : "";
    size_t n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    if (e == E_NOT_FOUND) {
        refuse(DEVREF_UNKNOWN_DEVICE, "unknown_device");
    } else if (e) {
        log_event(LOG_ERROR, "device_lookup_failed", "slug", err_slug(e), NULL);
    } else if (!dev.enabled) {
        refuse(DEVREF_DISABLED, "disabled");
    } else if (other) {
        /* the handler refuses (and counts) what it cannot use */
        other(q.d, a, &dev, payload, n);
    } else if (heartbeat) {
        if (device_heartbeat_parse(payload, n))
            refuse(DEVREF_MALFORMED, "malformed");
        else if ((e = device_heartbeat(q.d, &dev)))
            log_event(LOG_ERROR, "device_heartbeat_failed", "slug", err_slug(e), NULL);
    } else {
        struct device_reading r;
        if (device_reading_parse(a, payload, n, &r)) {
            refuse(DEVREF_MALFORMED, "malformed");
        } else if ((e = device_reading_record(q.d, a, &dev, &r, "mqtt"))) {
            /* unknown persons were counted where they were found */
            if (e == E_INPUT)
                refuse(DEVREF_MALFORMED, err_last()->slug);
            else if (e != E_NOT_FOUND)
                log_event(LOG_ERROR, "device_reading_failed", "slug", err_slug(e), NULL);
        }
    }
    /* a device heard from (back after a reconnect, perhaps): modules with
     * commands still unacknowledged for it send them again */
    if (!e && dev.enabled)
        for (size_t i = 0; i < n_seen; i++)
            seen_hooks[i](q.d, a, &dev);
    arena_free(&a);
}

/* The subscription prefix of FK_MQTT_GROUP: unset, the group "fangkong";
 * empty, none (every server gets every message). A group name is one topic
 * level without wildcards (MQTT v5 4.8.2). */
static err mqtt_group(const char *group, char *prefix, size_t n)
{
    if (!group)
        group = "fangkong";
    if (!*group) {
        *prefix = '\0';
        return E_OK;
    }
    if (strlen(group) > 64 || strpbrk(group, "/+#"))
        return err_set(E_INPUT, "invalid_mqtt_group", NULL,
                       "FK_MQTT_GROUP 应为不含 / + # 的名称（最多 64 个字符）");
    snprintf(prefix, n, "$share/%s/", group);
    return E_OK;
}

err device_mqtt_start(const char *url, const char *db_url)
{
    struct mqtt_url u;
    if (!url || !*url)
        return E_OK;
    err e = mqtt_url_parse(url, &u);
    if (e || (e = mqtt_group(getenv("FK_MQTT_GROUP"), q.prefix, sizeof q.prefix)) ||
        (e = db_open(db_url, &q.d)))
        return e;
    mosquitto_lib_init();
    char client_id[64];
    snprintf(client_id, sizeof client_id, "fangkong-%d-%ld", id_node(), (long)getpid());
    q.m = mosquitto_new(client_id, true, NULL);
    if (!q.m)
        goto fail;
    mosquitto_connect_callback_set(q.m, on_connect);
    mosquitto_message_callback_set(q.m, on_message);
    mosquitto_disconnect_callback_set(q.m, on_disconnect);
    mosquitto_reconnect_delay_set(q.m, 1, 30, true);
    if (u.user[0] && mosquitto_username_pw_set(q.m, u.user, u.pass[0] ? u.pass : NULL))
        goto fail;
    /* connect in the loop's thread, so a broker that is down at start-up
     * is retried instead of failing the server */
    if (mosquitto_connect_async(q.m, u.host, u.port, 30) != MOSQ_ERR_SUCCESS)
        log_event(LOG_WARN, "mqtt_connect_failed", "host", u.host, NULL);
    if (mosquitto_loop_start(q.m) != MOSQ_ERR_SUCCESS)
        goto fail;
    q.running = true;
    return E_OK;
fail:
    if (q.m)
        mosquitto_destroy(q.m);
    q.m = NULL;
    mosquitto_lib_cleanup();
    db_close(&q.d);
    return err_set(E_UNAVAILABLE, "mqtt_unavailable", NULL, "无法启动 MQTT 订阅");
}

void device_mqtt_stop(void)
{
    if (!q.running)
        return;
    mosquitto_disconnect(q.m);
    mosquitto_loop_stop(q.m, true);
    atomic_store(&q.connected, false);
    mosquitto_destroy(q.m);
    q.m = NULL;
    mosquitto_lib_cleanup();
    db_close(&q.d);
    q.running = false;
}

int device_mqtt_state(void)
{
    return !q.running ? -1 : atomic_load(&q.connected) ? 1 : 0;
}

/* the CONNACK of a probe: -1 until it arrives */
static void on_probe_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    *(int *)ud = rc;
}

err device_mqtt_probe(const char *url, int timeout_ms)
{
    struct mqtt_url u;
    err e = mqtt_url_parse(url, &u);
    if (e)
        return e;
    mosquitto_lib_init();
    int connack = -1;
    char client_id[64];
    snprintf(client_id, sizeof client_id, "fangkong-doctor-%ld", (long)getpid());
    struct mosquitto *m = mosquitto_new(client_id, true, &connack);
    const char *why = NULL;
    int rc = MOSQ_ERR_NOMEM;
    if (m) {
        mosquitto_connect_callback_set(m, on_probe_connect);
        if (!u.user[0] || !mosquitto_username_pw_set(m, u.user, u.pass[0] ? u.pass : NULL))
            rc = mosquitto_connect(m, u.host, u.port, 10);
    }
    if (rc != MOSQ_ERR_SUCCESS)
        why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
    /* the CONNACK comes back through the loop; 100 ms rounds until the deadline */
    for (int waited = 0; !why && connack < 0 && waited < timeout_ms; waited += 100)
        if ((rc = mosquitto_loop(m, 100, 1)) != MOSQ_ERR_SUCCESS)
            why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
    if (connack > 0) /* the broker's own reason, though the loop reported its close first */
        why = mosquitto_connack_string(connack);
    else if (!why && connack < 0)
        why = "no answer";
    if (m) {
        if (connack == 0) {
            mosquitto_disconnect(m);
            mosquitto_loop(m, 100, 1);
        }
        mosquitto_destroy(m);
    }
    mosquitto_lib_cleanup();
    if (why)
        return err_set(E_IO, "mqtt_probe_failed", NULL, "MQTT 代理不可用: %s", why);
    return E_OK;
}
