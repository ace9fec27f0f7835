/*
 * The MQTT subscriber (device.h): libmosquitto in its own network thread
 * (mosquitto_loop_start) with its own database connection, used only from
 * that thread's callbacks. Topics:
 *
 *   fk/devices/<device id>/readings   {person_token? | person_id?, temperature, at?}
 *   fk/devices/<device id>/heartbeat  {} or {"at": ms} or empty
 *
 * The broker has authenticated the publisher and its ACL lets a device
 * publish only under its own id, so the id in the topic is the device.
 * Anything refused is counted and logged; nothing here stops the thread.
 */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "device/device.h"
#include "device/internal.h"

static struct {
    struct mosquitto *m;
    db *d;
    bool running;
} q;

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)ud;
    if (rc) {
        log_event(LOG_WARN, "mqtt_connect_refused", "reason", mosquitto_connack_string(rc), NULL);
        return;
    }
    mosquitto_subscribe(m, NULL, DEVICE_TOPIC_PREFIX "+/readings", 1);
    mosquitto_subscribe(m, NULL, DEVICE_TOPIC_PREFIX "+/heartbeat", 1);
    log_event(LOG_INFO, "mqtt_connected", NULL);
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
    if (id <= 0 || (!reading && !heartbeat)) {
        refuse(DEVREF_BAD_TOPIC, "bad_topic");
        return;
    }
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
    arena_free(&a);
}

err device_mqtt_start(const char *url, const char *db_url)
{
    struct mqtt_url u;
    if (!url || !*url)
        return E_OK;
    err e = mqtt_url_parse(url, &u);
    if (e || (e = db_open(db_url, &q.d)))
        return e;
    mosquitto_lib_init();
    char client_id[64];
    snprintf(client_id, sizeof client_id, "fangkong-%d-%ld", id_node(), (long)getpid());
    q.m = mosquitto_new(client_id, true, NULL);
    if (!q.m)
        goto fail;
    mosquitto_connect_callback_set(q.m, on_connect);
    mosquitto_message_callback_set(q.m, on_message);
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
    mosquitto_destroy(q.m);
    q.m = NULL;
    mosquitto_lib_cleanup();
    db_close(&q.d);
    q.running = false;
}
