/*
 * Temperature devices, gates and cameras (issue 4; seed 002 二(一)3,
 * seed 000 §7.6.2): the registry, per-device credentials, readings and
 * heartbeats over HTTP and MQTT, the silence check, and the broker's
 * password and ACL files.
 *
 * Credentials. A device is its id (decimal) and a random 192-bit secret
 * (48 hex characters) shown once at creation or reset. The database holds
 * SM3(secret) for the HTTP path (a random secret needs no slow hash) and
 * the same secret in mosquitto's PBKDF2-SHA512 format ($7$) for the
 * broker's password file, so the file is rebuilt from the registry without
 * any secret stored. At the broker each device may publish only under
 * fk/devices/<its id>/ (one ACL pattern); the server's account reads all.
 *
 * Readings. A reading at or above the fever threshold of the device's venue
 * raises a device_fever alert (alert.h) in the transaction that stores the
 * reading; a reading naming a known person (a health-code token, or a
 * person id inside the device's region) is also recorded as that person's
 * temperature (health.h, source "device"), which refreshes their code.
 * Refusals (malformed payloads, unknown devices, wrong secrets, disabled
 * devices) change nothing and are counted by reason for /metrics.
 *
 * Silence. A device whose last heartbeat or reading is older than its
 * interval raises one device_silent alert per silence; the next heartbeat
 * clears it (a worker thread checks every FK_DEVICE_CHECK seconds).
 */
#ifndef FK_DEVICE_DEVICE_H
#define FK_DEVICE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define DEVICE_SECRET_HEX    48
#define DEVICE_HEARTBEAT_MIN 5
#define DEVICE_HEARTBEAT_MAX 86400
#define DEVICE_TOPIC_PREFIX  "fk/devices/"
#define DEVICE_PAYLOAD_MAX   4096

enum device_kind { DEVICE_THERMOMETER = 1, DEVICE_GATE, DEVICE_CAMERA, DEVICE_FACE };
extern const struct vocab device_kind_vocab; /* thermometer, gate, camera, face */
enum device_kind device_kind_parse(const char *s);
const char *device_kind_name(enum device_kind k);
const char *device_kind_label(enum device_kind k); /* Chinese; "" when invalid */

struct device {
    int64_t id;
    int64_t region_code; /* padded: the venue's */
    int64_t venue_id;
    const char *name;
    enum device_kind kind;
    int64_t heartbeat_s;
    bool enabled;
    int64_t last_seen_at;
    int64_t silent_alert_id; /* the open device_silent alert, 0 none */
    int64_t readings;
    int64_t created_at, updated_at;
};

/*
 * Register d->name, kind, venue_id (a live venue inside sc: E_INPUT
 * "invalid_venue" otherwise), heartbeat_s, enabled. Writes the new secret
 * (hex, NUL-terminated) into secret_r; d gets id, region and times.
 */
err device_create(db *d, arena *a, const struct scope *sc, struct device *dev,
                  char secret_r[DEVICE_SECRET_HEX + 1]) MUST_USE;
err device_find(db *d, arena *a, const struct scope *sc, int64_t id, struct device *dev_r) MUST_USE;
err device_list(db *d, arena *a, const struct scope *sc, int64_t page, int64_t page_size,
                struct device **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
/* Change name (non-NULL), heartbeat_s (> 0) and enabled (0/1; -1 keep). */
err device_update(db *d, const struct scope *sc, int64_t id, const char *name, int64_t heartbeat_s,
                  int enabled) MUST_USE;
err device_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;
err device_secret_reset(db *d, const struct scope *sc, int64_t id,
                        char secret_r[DEVICE_SECRET_HEX + 1]) MUST_USE;

/* Why a device message was refused (counted, never fatal). */
enum device_refusal {
    DEVREF_MALFORMED = 0, /* payload is not the JSON object of the protocol */
    DEVREF_UNKNOWN_DEVICE,
    DEVREF_BAD_SECRET,
    DEVREF_DISABLED,
    DEVREF_BAD_TOPIC,
    DEVREF_UNKNOWN_PERSON,
    DEVREF__COUNT
};
/* Count a refusal in /metrics: fangkong_device_refused_total{reason=…}. */
void device_refused(enum device_refusal why);

/*
 * Authenticate "id:secret" (the text after "Device " in an Authorization
 * header): E_AUTH "device_auth_failed" for a malformed credential, an
 * unknown device or a wrong secret (counted), E_FORBIDDEN "device_disabled".
 */
err device_authenticate(db *d, arena *a, const char *cred, struct device *dev_r) MUST_USE;
/* A live device by id whatever its region (the broker authenticated it). */
err device_get(db *d, arena *a, int64_t id, struct device *dev_r) MUST_USE;

struct device_reading {
    /* in (device_reading_parse) */
    const char *person_token; /* a health-code token, or NULL */
    int64_t person_id;        /* or 0 */
    double temperature;
    int64_t at; /* 0: now */
    /* out */
    int64_t id, person_known;
    bool fever;
    double threshold;
};

/* Parse a reading payload {person_token? | person_id?, temperature, at?}:
 * E_INPUT naming the field; unknown members are refused. */
err device_reading_parse(arena *a, const char *json, size_t n, struct device_reading *r) MUST_USE;
/* Parse a heartbeat payload: empty or a JSON object ({} / {"at":…}). */
err device_heartbeat_parse(const char *json, size_t n) MUST_USE;

/* Store a reading of `dev` (via "http" | "mqtt"); see the file comment. */
err device_reading_record(db *d, arena *a, const struct device *dev, struct device_reading *r,
                          const char *via) MUST_USE;
/* A heartbeat: last seen now, the open silence (if any) closed. */
err device_heartbeat(db *d, const struct device *dev) MUST_USE;
/* Raise device_silent for every enabled device silent past its interval
 * and not yet alerted; *raised_r (may be NULL) counts them. */
err device_check_silent(db *d, int64_t now, int *raised_r) MUST_USE;

/* The silence checker thread (own connection); check_s 0: never. */
err device_worker_start(const char *db_url, int check_s) MUST_USE;
void device_worker_stop(void);

/*
 * The broker's files in `dir`: `passwd` (the server account `server_user`
 * with password `server_pass`, then every enabled device) and `acl`;
 * written to temporary files and renamed. When dir/mosquitto.pid names a
 * running broker it is sent SIGHUP to reload them.
 */
err device_broker_write(db *d, const char *dir, const char *server_user,
                        const char *server_pass) MUST_USE;
/* `password` in mosquitto's password-file format: "$7$101$<salt>$<hash>",
 * PBKDF2-HMAC-SHA512, 101 iterations, base64 (as mosquitto_passwd). */
bool device_broker_hash(const char *password, const uint8_t salt[12], char out[160]);
/* Rewrite the broker files if FK_MQTT_BROKER_DIR is set (after a change
 * to the registry); failures are logged, never returned. */
void device_broker_sync(db *d);

/*
 * Subscribe to fk/devices/+/readings and fk/devices/+/heartbeat on the
 * broker of `url` (mqtt://user:pass@host:port) with libmosquitto in its own
 * thread, with its own database connection. NULL or "": off.
 */
err device_mqtt_start(const char *url, const char *db_url) MUST_USE;
void device_mqtt_stop(void);

/* The subscriber's link to the broker: -1 MQTT off, 0 not connected (the
 * library reconnects), 1 connected (/metrics). */
int device_mqtt_state(void);

/*
 * Connect to the broker of `url` as the server account, wait for its
 * answer and disconnect (`fangkong doctor`): E_OK when it accepted within
 * timeout_ms; E_INPUT for a malformed URL; E_IO "mqtt_probe_failed" (never
 * sent to a client) with the reason (refused, not authorised, no answer) in the message.
 */
err device_mqtt_probe(const char *url, int timeout_ms) MUST_USE;

/* ---- messages to devices, and topics other modules handle --------------------------- */

/*
 * Publish `json` to device `device_id` on fk/devices/<id>/commands (QoS 1;
 * the broker's ACL lets a device read only its own). E_UNAVAILABLE
 * "mqtt_unavailable" when MQTT is off or not connected: the caller keeps
 * the command pending and sends it again later. Any thread.
 */
err device_command_publish(int64_t device_id, const char *json) MUST_USE;

/* A handler of fk/devices/<id>/<what> from an enabled, live device, on the
 * MQTT thread with its own connection `d` (it refuses and counts what it
 * cannot use: device_refused). */
typedef void (*device_topic_fn)(db *d, arena *a, const struct device *dev, const char *payload,
                                size_t n);
/* Subscribe to fk/devices/+/<what> too and hand its messages to fn. Call
 * before device_mqtt_start; at most 4 topics. E_INTERNAL otherwise. */
err device_on_topic(const char *what, device_topic_fn fn) MUST_USE;

/* Called on the MQTT thread after every message of an enabled device (a
 * reading, a heartbeat, a registered topic): a device back after a
 * reconnect gets what is still unacknowledged for it. At most 4. */
typedef void (*device_seen_fn)(db *d, arena *a, const struct device *dev);
err device_on_seen(device_seen_fn fn) MUST_USE;

/* ---- modules that follow the registry ------------------------------------------------- */

/* What happened to a device: registered, enabled again, disabled, deleted. */
enum device_change { DEVICE_ADDED = 1, DEVICE_ENABLED, DEVICE_DISABLED, DEVICE_REMOVED };
/* Called in the transaction of the registry's change (the HTTP handlers
 * hold it), after the row changed: a module with per-device work (face
 * terminals' enrolments) queues or drops it there. An error rolls the
 * change back. */
typedef err (*device_change_fn)(db *d, int64_t device_id, enum device_change what);
/* Register fn; before serving, at most 4. E_INTERNAL otherwise. */
err device_on_change(device_change_fn fn) MUST_USE;
/* Tell every registered module (the registry's handlers call it). */
err device_changed(db *d, int64_t device_id, enum device_change what) MUST_USE;

#endif
