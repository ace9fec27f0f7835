/*
 * Private to device/: the MQTT URL shared by the subscriber and the broker
 * files.
 */
#ifndef FK_DEVICE_INTERNAL_H
#define FK_DEVICE_INTERNAL_H

#include "base/error.h"

struct mqtt_url {
    char user[64], pass[128], host[128];
    int port;
};

/* mqtt://user:pass@host:port (port 1883 by default); E_INPUT when malformed. */
err mqtt_url_parse(const char *url, struct mqtt_url *u) MUST_USE;

/* Write dir/mosquitto.conf: a loopback listener on u's host and port,
 * no anonymous clients, the generated passwd and acl, a pid file. */
err device_broker_conf(const char *dir, const struct mqtt_url *u) MUST_USE;

#endif
